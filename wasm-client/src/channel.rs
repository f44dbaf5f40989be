//! A channel's off-chain state on the sender's side: which channel, its deposit, the last
//! balance signed (and its signature, which a cooperative close must present again), its
//! signer on chain, and the session key when this browser holds the signer's key.
//!
//! The sender's rules (pay within the deposit, whose signature counts, which receiver proof to
//! adopt) are the protocol crate's [`SenderChannel`], as for the native client: the methods
//! here only apply them to this state.
//!
//! A channel whose signer is a session key this browser no longer holds (storage cleared) is
//! still the sender's: the contract accepts the sender's own signatures too, so it is adopted
//! as wallet-signed (see [`recovered_channel`]) and nothing in it is lost.

use alloy_primitives::Address;
use uraiden_protocol::{ChannelId, Eip712Domain, LocalSigningKey, ProofSignature, SenderChannel, U192};

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
    /// The key of the channel's delegated signer, when this browser holds it (then `signer` is
    /// its address): proofs are signed with it, without a wallet prompt.
    pub session_key: Option<LocalSigningKey>,
    /// The channel's signer on chain: the session key's address, the sender, or a session key
    /// this browser lost (then the wallet signs: the contract accepts the sender too).
    pub signer: Address,
}

impl ChannelState {
    /// A channel with nothing paid yet, whose signer is `session_key` (else the sender).
    pub fn new(id: ChannelId, deposit: U192, session_key: Option<LocalSigningKey>) -> Self {
        let signer = session_key.as_ref().map_or(id.sender, LocalSigningKey::address);
        Self { id, deposit, balance: U192::ZERO, last_signature: None, session_key, signer }
    }

    /// A channel whose on-chain signer is `signer`, a key this browser does not hold (a lost
    /// session key): the wallet signs its proofs, and proofs by `signer` stay credible.
    pub fn signed_by_lost_key(id: ChannelId, deposit: U192, signer: Address) -> Self {
        Self { id, deposit, balance: U192::ZERO, last_signature: None, session_key: None, signer }
    }

    /// The address whose signatures the contract accepts besides the sender's.
    pub const fn signer(&self) -> Address {
        self.signer
    }

    /// Whether the on-chain signer is a key this browser does not hold (nor the sender).
    pub fn signer_key_lost(&self) -> bool {
        self.session_key.is_none() && self.signer != self.id.sender
    }

    /// The same channel after a proof of `balance` was signed (`signature`, when known).
    pub fn with_balance(self, balance: U192, signature: Option<ProofSignature>) -> Self {
        Self { balance, last_signature: signature, ..self }
    }

    /// The sender's rules for this channel: its id, deposit and signer.
    pub const fn rules(&self) -> SenderChannel {
        SenderChannel { id: self.id, deposit: self.deposit, signer: self.signer }
    }

    /// What the receiver says it last accepted (`RDN-Sender-Balance`, `RDN-Balance-Signature`),
    /// as this channel's new state when it is credible ([`SenderChannel::receiver_proof`]):
    /// signed by our sender or signer and within the deposit. A lower balance than ours means
    /// our later proofs never arrived; a higher one means this browser lost state. Zero needs no
    /// signature (nothing was accepted yet).
    pub fn resynced(
        &self,
        domain: &Eip712Domain,
        accepted: U192,
        signature: Option<&ProofSignature>,
    ) -> Option<Self> {
        let accepted = self.rules().receiver_proof(domain, accepted, signature).ok()?;
        Some(self.clone().with_balance(accepted, signature.copied()))
    }

    /// This channel continued from `stored`, its record as another tab holding the same key
    /// left it, when that tab paid further: a higher balance whose stored signature is by our
    /// sender or signer (and within the deposit). `None` when there is nothing to continue from.
    pub fn continued_from_store(&self, domain: &Eip712Domain, stored: &Self) -> Option<Self> {
        let signature = stored.last_signature?;
        (stored.id == self.id && stored.balance > self.balance)
            .then(|| self.rules().receiver_proof(domain, stored.balance, Some(&signature)).ok())
            .flatten()
            .map(|balance| self.clone().with_balance(balance, Some(signature)))
    }

    /// The balance after paying `amount` more, refused beyond the deposit.
    pub fn balance_after(&self, amount: U192) -> Result<U192> {
        Ok(self.rules().balance_after(self.balance, amount)?)
    }

    /// `balance` itself when the deposit covers it.
    pub fn check_within_deposit(&self, balance: U192) -> Result<U192> {
        Ok(self.rules().check_within_deposit(balance)?)
    }

    /// Whether `signature` over `balance` is by the sender or the channel's signer.
    pub fn verify_proof(&self, domain: &Eip712Domain, balance: U192, signature: &ProofSignature) -> bool {
        self.rules().signed_by_channel(domain, balance, signature)
    }
}

/// Refuses forgetting `channel` (and deleting its session key, of which the chain keeps no
/// copy) unless `force`: this library does not know it closed or settled, and the deposit left
/// in an open channel would then be reachable only wallet-signed, with no top-ups, for good.
pub fn check_forgettable(channel: &ChannelState, force: bool) -> Result<()> {
    if force || channel.session_key.is_none() {
        return Ok(());
    }
    Err(UraidenError::invalid_argument(
        "force",
        format!(
            "channel {} holds this browser's session key, and forgetting it deletes the key for good (the \
             deposit left could then only be paid from wallet-signed, never topped up); close or settle \
             it instead, or call forgetStoredChannel({{ force: true }}) if it is closed or the key is \
             not wanted",
            channel.id.open_block_number
        ),
    ))
}

/// Whether a result booked for channel `booked` (a payment's answer, a top-up) updates the
/// `current` channel: only when that is still the same channel, so that a late answer never
/// switches back from a channel opened or loaded meanwhile.
pub fn books_into_current(current: Option<&ChannelState>, booked: &ChannelId) -> bool {
    current.is_some_and(|current| current.id == *booked)
}

/// The open blocks of `ChannelCreated` logs, newest first, each once.
pub fn newest_first(mut blocks: Vec<u64>) -> Result<Vec<u32>> {
    sort_small_by_key(&mut blocks, |block| core::cmp::Reverse(*block));
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

/// Sorts `items` by `key`, keeping the order of equal keys: an insertion sort, quadratic but for
/// the few channels an account has with a receiver a matter of microseconds, where each of
/// core's sorts adds kilobytes of wasm per item type.
pub fn sort_small_by_key<T, K: Ord>(items: &mut [T], key: impl Fn(&T) -> K) {
    for at in 1..items.len() {
        let mut to = at;
        while to > 0 && key(&items[to - 1]) > key(&items[to]) {
            items.swap(to - 1, to);
            to -= 1;
        }
    }
}

/// The sender's state of channel `id` rebuilt from the chain (`info`, its `signer`) and what
/// this browser stored about it, if anything. A stored session key is kept only when it is the
/// signer the contract knows. When the signer is a key this browser does not hold (its storage
/// was cleared), the channel is adopted all the same, wallet-signed: the contract accepts the
/// sender's signatures too, and proofs by that signer stay credible when the receiver echoes
/// them. (No one else can have opened it in this account's name: the contract takes a channel's
/// tokens from its sender.)
/// The balance is the highest one known: stored, withdrawn by the receiver, or requested at
/// close; the receiver's last proof (`syncWithReceiver`, or a 402) resyncs the rest.
pub fn recovered_channel(
    id: ChannelId,
    info: &OnChainChannel,
    signer: Address,
    stored: Option<ChannelState>,
) -> ChannelState {
    let mut channel = match stored {
        Some(stored) if stored.session_key.as_ref().is_some_and(|key| key.address() == signer) => stored,
        Some(stored) => ChannelState { session_key: None, signer, ..stored },
        None if signer == id.sender => ChannelState::new(id, info.deposit, None),
        None => ChannelState::signed_by_lost_key(id, info.deposit, signer),
    };
    let on_chain_balance =
        if info.settle_block_number == 0 { info.withdrawn_balance } else { info.closing_balance };
    channel.deposit = info.deposit;
    if channel.balance < on_chain_balance {
        channel = channel.with_balance(on_chain_balance, None);
    }
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
    fn another_tabs_higher_record_is_continued_from_only_when_our_key_signed_it() {
        let key = LocalSigningKey::from_bytes(&B256::repeat_byte(5)).unwrap();
        let ours = channel(Some(key.clone())).with_balance(U192::from(40), None);
        let domain = channel_manager_domain(31337, Address::repeat_byte(0xcc));
        let signed = |key: &LocalSigningKey, balance: u64| {
            let signature =
                key.sign_balance_proof(&domain, &ours.id.balance_proof(U192::from(balance))).unwrap();
            ours.clone().with_balance(U192::from(balance), Some(signature))
        };
        let further = signed(&key, 45);
        let continued = ours.continued_from_store(&domain, &further).unwrap();
        assert_eq!((continued.balance, continued.last_signature), (further.balance, further.last_signature));
        // Not higher, unsigned, signed by a stranger, beyond the deposit, or another channel.
        assert!(ours.continued_from_store(&domain, &signed(&key, 40)).is_none());
        assert!(ours.continued_from_store(&domain, &signed(&key, 35)).is_none());
        assert!(ours
            .continued_from_store(&domain, &ours.clone().with_balance(U192::from(45), None))
            .is_none());
        let stranger = LocalSigningKey::from_bytes(&B256::repeat_byte(6)).unwrap();
        assert!(ours.continued_from_store(&domain, &signed(&stranger, 45)).is_none());
        assert!(ours.continued_from_store(&domain, &signed(&key, 101)).is_none());
        let elsewhere = ChannelState { id: ChannelId::new(ours.id.sender, ours.id.receiver, 8), ..further };
        assert!(ours.continued_from_store(&domain, &elsewhere).is_none());
    }

    #[test]
    fn a_session_key_is_forgotten_only_when_forced() {
        let key = LocalSigningKey::from_bytes(&B256::repeat_byte(5)).unwrap();
        let error = check_forgettable(&channel(Some(key.clone())), false).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument);
        assert!(error.message().contains("forgetStoredChannel({ force: true })"), "{}", error.message());
        assert!(check_forgettable(&channel(Some(key)), true).is_ok());
        assert!(check_forgettable(&channel(None), false).is_ok(), "no key to lose");
    }

    #[test]
    fn a_late_result_updates_only_the_channel_it_is_for() {
        let first = channel(None);
        let replaced =
            ChannelState { id: ChannelId::new(first.id.sender, first.id.receiver, 9), ..first.clone() };
        assert!(books_into_current(Some(&first), &first.id));
        assert!(!books_into_current(Some(&replaced), &first.id), "opened meanwhile: stays current");
        assert!(!books_into_current(None, &first.id), "forgotten meanwhile: stays forgotten");
    }

    #[test]
    fn log_blocks_are_deduplicated_newest_first() {
        assert_eq!(newest_first(vec![5, 9, 5, 7]).unwrap(), vec![9, 7, 5]);
        assert_eq!(newest_first(vec![]).unwrap(), Vec::<u32>::new());
        let mut pairs = [(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e')];
        sort_small_by_key(&mut pairs, |pair| pair.0);
        assert_eq!(pairs, [(1, 'b'), (1, 'e'), (2, 'd'), (3, 'a'), (3, 'c')], "stable");
        assert_eq!(newest_first(vec![1 << 32]).unwrap_err().kind(), ErrorKind::InvalidResponse);
    }

    fn on_chain(settle_block_number: u32, closing: u64, withdrawn: u64) -> OnChainChannel {
        OnChainChannel {
            key: B256::ZERO,
            deposit: U192::from(150),
            settle_block_number,
            closing_balance: U192::from(closing),
            withdrawn_balance: U192::from(withdrawn),
        }
    }

    #[test]
    fn a_channel_whose_session_key_was_lost_is_adopted_wallet_signed() {
        let id = channel(None).id;
        let lost = LocalSigningKey::from_bytes(&B256::repeat_byte(5)).unwrap();
        let domain = channel_manager_domain(31337, Address::repeat_byte(0xcc));
        // Storage cleared: nothing stored, the contract names the lost key as signer.
        let recovered = recovered_channel(id, &on_chain(0, 0, 0), lost.address(), None);
        assert!(recovered.session_key.is_none(), "the wallet signs");
        assert!(recovered.signer_key_lost());
        assert_eq!((recovered.signer(), recovered.deposit), (lost.address(), U192::from(150)));
        // The receiver's last proof, signed by the lost key, is credible; a stranger's is not,
        // nor one beyond the deposit.
        let sign = |key: &LocalSigningKey, balance: u64| {
            key.sign_balance_proof(&domain, &id.balance_proof(U192::from(balance))).unwrap()
        };
        let resynced = recovered.resynced(&domain, U192::from(40), Some(&sign(&lost, 40))).unwrap();
        assert_eq!(resynced.balance, U192::from(40));
        let stranger = LocalSigningKey::from_bytes(&B256::repeat_byte(6)).unwrap();
        assert!(recovered.resynced(&domain, U192::from(40), Some(&sign(&stranger, 40))).is_none());
        assert!(recovered.resynced(&domain, U192::from(151), Some(&sign(&lost, 151))).is_none());
        // Stored with another key than the contract's signer: the key is not used, the balance kept.
        let other = recovered_channel(id, &on_chain(0, 0, 0), lost.address(), Some(channel(Some(stranger))));
        assert!(other.session_key.is_none());
        assert_eq!((other.signer(), other.balance), (lost.address(), U192::from(90)));
    }

    #[test]
    fn channels_recovered_from_the_chain_keep_what_is_known() {
        let key = LocalSigningKey::from_bytes(&B256::repeat_byte(5)).unwrap();
        let id = channel(None).id;
        // Nothing stored, the sender signs: open → withdrawn balance, closing → closing balance.
        let open = recovered_channel(id, &on_chain(0, 0, 30), id.sender, None);
        assert_eq!((open.deposit, open.balance, open.signer()), (U192::from(150), U192::from(30), id.sender));
        assert!(open.session_key.is_none());
        let closing = recovered_channel(id, &on_chain(900, 70, 30), id.sender, None);
        assert_eq!(closing.balance, U192::from(70));
        // Stored with the right key and a higher balance: kept, with the chain's deposit.
        let stored = channel(Some(key.clone()));
        let kept = recovered_channel(id, &on_chain(0, 0, 30), key.address(), Some(stored.clone()));
        assert_eq!(
            (kept.deposit, kept.balance, kept.signer()),
            (U192::from(150), U192::from(90), key.address())
        );
        assert!(kept.session_key.is_some());
        // Stored with a key, but the contract says the sender signs: the key is dropped.
        let sender_signs = recovered_channel(id, &on_chain(0, 0, 0), id.sender, Some(stored));
        assert!(sender_signs.session_key.is_none());
        assert_eq!(sender_signs.signer(), id.sender);
    }
}
