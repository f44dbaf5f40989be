//! A channel's off-chain state on the sender's side: which channel, its deposit, the last
//! balance signed (and its signature, which a cooperative close must present again), and the
//! session key when the channel has a delegated signer.

use alloy_primitives::Address;
use uraiden_protocol::{
    recover_balance_proof_signer, ChannelId, Eip712Domain, LocalSigningKey, ProofSignature, U192,
};

use crate::{
    abi::OnChainChannel,
    error::{ErrorKind, Result, UraidenError},
};

/// The sender's view of one open channel.
#[derive(Clone, Debug)]
pub struct ChannelState {
    pub id: ChannelId,
    pub deposit: U192,
    /// The cumulative balance of the last proof signed.
    pub balance: U192,
    /// The signature over `balance`, when known (a cooperative close presents it again).
    pub last_signature: Option<ProofSignature>,
    /// The channel's delegated signer, when it was opened with a browser session key.
    pub session_key: Option<LocalSigningKey>,
    /// A delegated signer whose key this browser does not have (a channel recovered from the
    /// chain after storage was lost): proofs then need the sender's wallet.
    pub lost_signer: Option<Address>,
}

impl ChannelState {
    /// A channel with nothing paid yet.
    pub fn new(id: ChannelId, deposit: U192, session_key: Option<LocalSigningKey>) -> Self {
        Self { id, deposit, balance: U192::ZERO, last_signature: None, session_key, lost_signer: None }
    }

    /// The address whose signatures the contract accepts besides the sender's.
    pub fn signer(&self) -> Address {
        match (&self.session_key, self.lost_signer) {
            (Some(key), _) => key.address(),
            (None, Some(lost)) => lost,
            (None, None) => self.id.sender,
        }
    }

    /// The same channel after a proof of `balance` was signed (`signature`, when known).
    pub fn with_balance(self, balance: U192, signature: Option<ProofSignature>) -> Self {
        Self { balance, last_signature: signature, ..self }
    }

    /// What the receiver says it last accepted (`RDN-Sender-Balance`, `RDN-Balance-Signature`),
    /// as this channel's new state when it is credible: signed by our sender or signer and within
    /// the deposit. A lower balance than ours means our later proofs never arrived; a higher one
    /// means this browser lost state. Zero needs no signature (nothing was accepted yet).
    pub fn resynced(
        &self,
        domain: &Eip712Domain,
        accepted: U192,
        signature: Option<&ProofSignature>,
    ) -> Option<Self> {
        let proven = match signature {
            Some(signature) => self.verify_proof(domain, accepted, signature),
            None => accepted.is_zero(),
        };
        (proven && accepted <= self.deposit).then(|| self.clone().with_balance(accepted, signature.copied()))
    }

    /// The balance after paying `amount` more, refused beyond the deposit.
    pub fn balance_after(&self, amount: U192) -> Result<U192> {
        self.check_within_deposit(self.balance.checked_add(amount).unwrap_or(U192::MAX))
    }

    /// `balance` itself when the deposit covers it.
    pub fn check_within_deposit(&self, balance: U192) -> Result<U192> {
        if balance > self.deposit {
            return Err(UraidenError::new(
                ErrorKind::InsufficientDeposit,
                format!(
                    "a balance of {balance} exceeds the channel's deposit of {}; top up the channel or open a new one",
                    self.deposit
                ),
            ));
        }
        Ok(balance)
    }

    /// Whether `signature` over `balance` is by the sender or the channel's signer.
    pub fn verify_proof(&self, domain: &Eip712Domain, balance: U192, signature: &ProofSignature) -> bool {
        recover_balance_proof_signer(domain, &self.id.balance_proof(balance), signature)
            .is_ok_and(|signer| signer == self.id.sender || signer == self.signer())
    }
}

/// The open blocks of `ChannelCreated` logs, newest first, each once.
pub fn newest_first(mut blocks: Vec<u64>) -> Result<Vec<u32>> {
    blocks.sort_unstable_by(|a, b| b.cmp(a));
    blocks.dedup();
    blocks
        .into_iter()
        .map(|block| {
            u32::try_from(block).map_err(|_| {
                UraidenError::new(
                    ErrorKind::InvalidResponse,
                    format!("a channel opened in block {block}, above uint32"),
                )
            })
        })
        .collect()
}

/// The sender's state of channel `id` rebuilt from the chain (`info`, its `signer`) and what
/// this browser stored about it, if anything. The balance is the highest one known: stored,
/// withdrawn by the receiver, or requested at close; the receiver's 402 resyncs the rest.
pub fn recovered_channel(
    id: ChannelId,
    info: &OnChainChannel,
    signer: Address,
    stored: Option<ChannelState>,
) -> ChannelState {
    let on_chain_balance =
        if info.settle_block_number == 0 { info.withdrawn_balance } else { info.closing_balance };
    let mut channel = stored.unwrap_or_else(|| ChannelState::new(id, info.deposit, None));
    channel.deposit = info.deposit;
    if channel.balance < on_chain_balance {
        channel = channel.with_balance(on_chain_balance, None);
    }
    // A stored key only helps when it is the signer the contract knows.
    if channel.session_key.as_ref().is_some_and(|key| key.address() != signer) {
        channel.session_key = None;
    }
    channel.lost_signer = (channel.session_key.is_none() && signer != id.sender).then_some(signer);
    channel
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{address, B256};
    use uraiden_protocol::channel_manager_domain;

    fn channel(session_key: Option<LocalSigningKey>) -> ChannelState {
        let id = ChannelId::new(
            address!("3c44cdddb6a900fa2b585dd299e03d12fa4293bc"),
            address!("70997970c51812dc3a010c7d01b50e0d17dc79c8"),
            7,
        );
        ChannelState::new(id, U192::from(100), session_key).with_balance(U192::from(90), None)
    }

    #[test]
    fn balances_stay_within_the_deposit() {
        let channel = channel(None);
        assert_eq!(channel.balance_after(U192::from(10)).unwrap(), U192::from(100));
        let err = channel.balance_after(U192::from(11)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InsufficientDeposit);
        assert!(err.message().contains("101 exceeds the channel's deposit of 100; top up"));
        assert_eq!(channel.balance_after(U192::MAX).unwrap_err().kind(), ErrorKind::InsufficientDeposit);
    }

    #[test]
    fn proofs_by_the_session_key_or_sender_verify() {
        let key = LocalSigningKey::from_bytes(&B256::repeat_byte(5)).unwrap();
        let channel = channel(Some(key.clone()));
        assert_eq!(channel.signer(), key.address());
        let domain = channel_manager_domain(31337, Address::repeat_byte(0xcc));
        let signature = key.sign_balance_proof(&domain, &channel.id.balance_proof(U192::from(95))).unwrap();
        assert!(channel.verify_proof(&domain, U192::from(95), &signature));
        assert!(!channel.verify_proof(&domain, U192::from(96), &signature));
        let stranger = LocalSigningKey::from_bytes(&B256::repeat_byte(6)).unwrap();
        let signature =
            stranger.sign_balance_proof(&domain, &channel.id.balance_proof(U192::from(95))).unwrap();
        assert!(!channel.verify_proof(&domain, U192::from(95), &signature));
    }

    #[test]
    fn a_lost_session_key_still_names_the_signer() {
        let lost = Address::repeat_byte(0x42);
        let channel = ChannelState { lost_signer: Some(lost), ..channel(None) };
        assert_eq!(channel.signer(), lost);
        assert_eq!(self::channel(None).signer(), channel.id.sender);
    }

    #[test]
    fn resyncs_only_to_what_our_keys_signed() {
        let key = LocalSigningKey::from_bytes(&B256::repeat_byte(5)).unwrap();
        let channel = channel(Some(key.clone()));
        let domain = channel_manager_domain(31337, Address::repeat_byte(0xcc));
        let sign = |balance: u64| {
            key.sign_balance_proof(&domain, &channel.id.balance_proof(U192::from(balance))).unwrap()
        };
        // Higher (we lost state) and lower (our last proofs never arrived): both adopted when signed.
        for balance in [95, 40] {
            let signature = sign(balance);
            let resynced = channel.resynced(&domain, U192::from(balance), Some(&signature)).unwrap();
            assert_eq!((resynced.balance, resynced.last_signature), (U192::from(balance), Some(signature)));
        }
        // A signature over another balance, a balance beyond the deposit, an unsigned non-zero one.
        assert!(channel.resynced(&domain, U192::from(96), Some(&sign(95))).is_none());
        let beyond = channel.id.balance_proof(U192::from(101));
        let beyond_sig = key.sign_balance_proof(&domain, &beyond).unwrap();
        assert!(channel.resynced(&domain, U192::from(101), Some(&beyond_sig)).is_none());
        assert!(channel.resynced(&domain, U192::from(10), None).is_none());
        assert_eq!(channel.resynced(&domain, U192::ZERO, None).unwrap().balance, U192::ZERO);
    }

    #[test]
    fn log_blocks_are_deduplicated_newest_first() {
        assert_eq!(newest_first(vec![5, 9, 5, 7]).unwrap(), vec![9, 7, 5]);
        assert_eq!(newest_first(vec![1 << 32]).unwrap_err().kind(), ErrorKind::InvalidResponse);
    }

    #[test]
    fn channels_recovered_from_the_chain_keep_what_is_known() {
        let key = LocalSigningKey::from_bytes(&B256::repeat_byte(5)).unwrap();
        let id = channel(None).id;
        let info = |settle_block_number, closing, withdrawn| OnChainChannel {
            key: B256::ZERO,
            deposit: U192::from(150),
            settle_block_number,
            closing_balance: U192::from(closing),
            withdrawn_balance: U192::from(withdrawn),
        };
        // Nothing stored, the sender signs: open → withdrawn balance, closing → closing balance.
        let open = recovered_channel(id, &info(0, 0, 30), id.sender, None);
        assert_eq!((open.deposit, open.balance, open.signer()), (U192::from(150), U192::from(30), id.sender));
        assert!(open.lost_signer.is_none() && open.session_key.is_none());
        let closing = recovered_channel(id, &info(900, 70, 30), id.sender, None);
        assert_eq!(closing.balance, U192::from(70));
        // Nothing stored, a session key signs: lost.
        let lost = recovered_channel(id, &info(0, 0, 0), key.address(), None);
        assert_eq!((lost.lost_signer, lost.signer()), (Some(key.address()), key.address()));
        // Stored with the right key and a higher balance: kept, with the chain's deposit.
        let stored = channel(Some(key.clone()));
        let kept = recovered_channel(id, &info(0, 0, 30), key.address(), Some(stored.clone()));
        assert_eq!((kept.deposit, kept.balance), (U192::from(150), U192::from(90)));
        assert!(kept.session_key.is_some() && kept.lost_signer.is_none());
        // Stored with a key the contract does not know: dropped, signer marked lost.
        let other = Address::repeat_byte(0x77);
        let replaced = recovered_channel(id, &info(0, 0, 0), other, Some(stored));
        assert!(replaced.session_key.is_none());
        assert_eq!(replaced.lost_signer, Some(other));
    }
}
