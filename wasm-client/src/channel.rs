//! A channel's off-chain state on the sender's side: which channel, its deposit, the last
//! balance signed, and the session key when the channel has a delegated signer.

use alloy_primitives::Address;
use uraiden_protocol::{
    recover_balance_proof_signer, ChannelId, Eip712Domain, LocalSigningKey, ProofSignature, U192,
};

use crate::error::{ErrorKind, Result, UraidenError};

/// The sender's view of one open channel.
#[derive(Clone, Debug)]
pub struct ChannelState {
    pub id: ChannelId,
    pub deposit: U192,
    /// The cumulative balance of the last proof signed.
    pub balance: U192,
    /// The channel's delegated signer, when it was opened with a browser session key.
    pub session_key: Option<LocalSigningKey>,
}

impl ChannelState {
    /// The address whose signatures the contract accepts besides the sender's.
    pub fn signer(&self) -> Address {
        self.session_key.as_ref().map_or(self.id.sender, LocalSigningKey::address)
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{address, B256};
    use uraiden_protocol::channel_manager_domain;

    fn channel(session_key: Option<LocalSigningKey>) -> ChannelState {
        ChannelState {
            id: ChannelId::new(
                address!("3c44cdddb6a900fa2b585dd299e03d12fa4293bc"),
                address!("70997970c51812dc3a010c7d01b50e0d17dc79c8"),
                7,
            ),
            deposit: U192::from(100),
            balance: U192::from(90),
            session_key,
        }
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
}
