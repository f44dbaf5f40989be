//! The sender's rules for one channel, defined once for every sender: the native client, the
//! wasm library, and through the library the paywall page.
//!
//! A sender keeps the cumulative balance of the last proof it signed. These rules move it:
//!
//! - **Paying** moves it up by the price, never past the deposit
//!   ([`SenderChannel::balance_after`]): a proof beyond the deposit can never be redeemed,
//!   so signing one only confuses the sender's own records.
//! - **Resyncing** adopts what the receiver says it last accepted only when it is provably
//!   the sender's own: signed, for this channel, by the channel's sender or its delegated
//!   signer, and within the deposit ([`SenderChannel::receiver_proof`]). A receiver can only
//!   hand back what the sender signed, so a sender that lost its records (a cleared browser,
//!   a lost session key) learns the truth in one request and nothing unverified is trusted.
//!   A balance of zero needs no signature: nothing was accepted yet.
//! - **Paying on top of the receiver's count** ([`SenderChannel::payment_base`]): when the
//!   receiver names a lower last balance than the sender's, the sender's later proofs never
//!   arrived and the next payment builds on the receiver's count; a higher one only when the
//!   channel's own signature proves it.
//! - **Booking** counts a payment as paid only when the receiver's answer echoes it
//!   ([`PaidAnswer`](crate::PaidAnswer)).

use alloy_primitives::{aliases::U192, Address};
use alloy_sol_types::Eip712Domain;

use crate::{
    channel::ChannelId,
    error::{Error, Result},
    signature::{recover_balance_proof_signer, ProofSignature},
};

/// What the sender's rules need to know of a channel: who may sign for it and how much it
/// holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SenderChannel {
    /// Sender, receiver and open block.
    pub id: ChannelId,
    /// The deposit on chain (as far as the sender knows).
    pub deposit: U192,
    /// The channel's delegated signer (the sender itself when it has none).
    pub signer: Address,
}

impl SenderChannel {
    /// The balance after paying `amount` on top of `balance`; refused beyond the deposit.
    pub fn balance_after(&self, balance: U192, amount: U192) -> Result<U192> {
        self.check_within_deposit(balance.checked_add(amount).unwrap_or(U192::MAX))
    }

    /// `balance` itself when the deposit covers it.
    pub fn check_within_deposit(&self, balance: U192) -> Result<U192> {
        if balance > self.deposit {
            return Err(Error::ExceedsDeposit { balance, deposit: self.deposit });
        }
        Ok(balance)
    }

    /// The balance the next payment builds on when the sender holds `own` and the receiver
    /// names `accepted` as its last accepted balance of this channel (with `signature`, its
    /// proof, when it sent one). A lower one is taken as it is: the sender's later proofs never
    /// arrived, and paying on top of less costs the sender nothing. A higher one only with the
    /// channel's own signature over it (a sender that lost its records), else the sender's own.
    pub fn payment_base(
        &self,
        domain: &Eip712Domain,
        own: U192,
        accepted: U192,
        signature: Option<&ProofSignature>,
    ) -> U192 {
        let proven = signature.is_some_and(|signature| self.signed_by_channel(domain, accepted, signature));
        if accepted <= own || proven {
            accepted
        } else {
            own
        }
    }

    /// Whether `signature` over `balance` in this channel is by its sender or its signer.
    pub fn signed_by_channel(
        &self,
        domain: &Eip712Domain,
        balance: U192,
        signature: &ProofSignature,
    ) -> bool {
        recover_balance_proof_signer(domain, &self.id.balance_proof(balance), signature)
            .is_ok_and(|signer| signer == self.id.sender || signer == self.signer)
    }

    /// The receiver's last accepted proof (`balance` and its `signature`, when it sent one),
    /// checked before the sender adopts it: the balance to adopt, or why it must not be.
    pub fn receiver_proof(
        &self,
        domain: &Eip712Domain,
        balance: U192,
        signature: Option<&ProofSignature>,
    ) -> Result<U192> {
        match signature {
            None if !balance.is_zero() => return Err(Error::UnsignedReceiverBalance { balance }),
            Some(signature) if !self.signed_by_channel(domain, balance, signature) => {
                return Err(Error::ForeignReceiverProof { balance });
            }
            _ => {}
        }
        if balance > self.deposit {
            return Err(Error::ReceiverProofAboveDeposit { balance, deposit: self.deposit });
        }
        Ok(balance)
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::{address, B256};

    use super::*;
    use crate::{channel_manager_domain, LocalSigningKey};

    fn key(byte: u8) -> LocalSigningKey {
        LocalSigningKey::from_bytes(&B256::repeat_byte(byte)).expect("a valid test key")
    }

    fn setup() -> (Eip712Domain, LocalSigningKey, LocalSigningKey, SenderChannel) {
        let domain = channel_manager_domain(31337, address!("00000000000000000000000000000000000000c0"));
        let (sender, session) = (key(1), key(2));
        let id = ChannelId {
            sender: sender.address(),
            receiver: address!("00000000000000000000000000000000000000aa"),
            open_block_number: 7,
        };
        (
            domain,
            sender,
            session.clone(),
            SenderChannel { id, deposit: U192::from(100), signer: session.address() },
        )
    }

    fn sign(
        domain: &Eip712Domain,
        key: &LocalSigningKey,
        channel: &SenderChannel,
        balance: u64,
    ) -> ProofSignature {
        key.sign_balance_proof(domain, &channel.id.balance_proof(U192::from(balance))).expect("signs")
    }

    #[test]
    fn paying_stops_at_the_deposit() {
        let (_, _, _, channel) = setup();
        assert_eq!(channel.balance_after(U192::from(95), U192::from(5)), Ok(U192::from(100)));
        assert_eq!(
            channel.balance_after(U192::from(96), U192::from(5)),
            Err(Error::ExceedsDeposit { balance: U192::from(101), deposit: U192::from(100) })
        );
        assert!(channel.balance_after(U192::MAX, U192::from(1)).is_err(), "no overflow past the deposit");
    }

    #[test]
    fn payments_build_on_a_lower_receiver_count_and_a_higher_one_only_when_proven() {
        let (domain, sender, session, channel) = setup();
        let (own, u) = (U192::from(40), |n: u64| U192::from(n));
        // Lower or equal: taken as is, signed or not (our later proofs never arrived).
        assert_eq!(channel.payment_base(&domain, own, u(25), None), u(25));
        assert_eq!(channel.payment_base(&domain, own, u(40), None), u(40));
        // Higher: only with the sender's or the signer's signature over exactly that balance.
        assert_eq!(channel.payment_base(&domain, own, u(60), None), own);
        for signer in [&sender, &session] {
            let signature = sign(&domain, signer, &channel, 60);
            assert_eq!(channel.payment_base(&domain, own, u(60), Some(&signature)), u(60));
            assert_eq!(channel.payment_base(&domain, own, u(61), Some(&signature)), own);
        }
        let stranger = sign(&domain, &key(3), &channel, 60);
        assert_eq!(channel.payment_base(&domain, own, u(60), Some(&stranger)), own);
    }

    #[test]
    fn a_receiver_proof_by_the_sender_or_the_signer_is_adopted() {
        let (domain, sender, session, channel) = setup();
        for signer in [&sender, &session] {
            let signature = sign(&domain, signer, &channel, 40);
            assert_eq!(channel.receiver_proof(&domain, U192::from(40), Some(&signature)), Ok(U192::from(40)));
        }
    }

    #[test]
    fn a_receiver_proof_by_anyone_else_or_for_another_balance_is_refused() {
        let (domain, _, session, channel) = setup();
        let stranger = sign(&domain, &key(3), &channel, 40);
        assert_eq!(
            channel.receiver_proof(&domain, U192::from(40), Some(&stranger)),
            Err(Error::ForeignReceiverProof { balance: U192::from(40) })
        );
        // The signer's signature over 40, presented as one over 90.
        let over_40 = sign(&domain, &session, &channel, 40);
        assert_eq!(
            channel.receiver_proof(&domain, U192::from(90), Some(&over_40)),
            Err(Error::ForeignReceiverProof { balance: U192::from(90) })
        );
        // The same balance in another channel of the same sender.
        let other = SenderChannel { id: ChannelId { open_block_number: 8, ..channel.id }, ..channel };
        let in_other = sign(&domain, &session, &other, 40);
        assert!(channel.receiver_proof(&domain, U192::from(40), Some(&in_other)).is_err());
    }

    #[test]
    fn a_receiver_proof_above_the_deposit_or_unsigned_is_refused_but_zero_needs_no_signature() {
        let (domain, _, session, channel) = setup();
        let above = sign(&domain, &session, &channel, 101);
        assert_eq!(
            channel.receiver_proof(&domain, U192::from(101), Some(&above)),
            Err(Error::ReceiverProofAboveDeposit { balance: U192::from(101), deposit: U192::from(100) })
        );
        assert_eq!(
            channel.receiver_proof(&domain, U192::from(5), None),
            Err(Error::UnsignedReceiverBalance { balance: U192::from(5) })
        );
        assert_eq!(channel.receiver_proof(&domain, U192::ZERO, None), Ok(U192::ZERO));
    }
}
