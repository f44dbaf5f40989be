//! The payment rule (SPEC §5), as one pure function: which paying request the receiver accepts,
//! and what it tells the sender otherwise. The channel manager decides with it on the hot path
//! and again when a payment lost a race to the store; the paywall's early filter and the HTTP
//! tests' fake backend decide with it too, so none of them can drift from the others.

use uraiden_protocol::{Address, Refusal, U192};

/// A channel as the payment rule sees it when a payment arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayableChannel {
    /// Unknown to the receiver, or closing, closed or settled: the sender must open a new one.
    Closed,
    /// Created on chain but not confirmed yet: the sender retries shortly.
    Unconfirmed,
    /// Open and confirmed.
    Open(OpenChannel),
}

/// What the rule needs of an open channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenChannel {
    /// The channel's sender: its signature always counts.
    pub sender: Address,
    /// The key the channel was opened with (the sender itself when it delegated none).
    pub signer: Address,
    /// The last accepted cumulative balance.
    pub balance: U192,
    /// The confirmed deposit.
    pub deposit: U192,
    /// Deposit added by top-ups seen but not confirmed yet.
    pub unconfirmed_top_up: U192,
}

/// Decides on a proof for the cumulative `balance` paying for a resource of `price`, whose
/// signer `recover` finds (`None`: none could be recovered): accepted (with the open channel it
/// builds on) when it pays exactly `price` on top of the last accepted balance, within the
/// confirmed deposit, signed by the channel's sender or signer. The checks run in the order that tells the sender what to do first, and
/// the signature (the costly step) is recovered only for a channel that can take payments.
pub fn decide_payment(
    channel: &PayableChannel,
    recover: impl FnOnce() -> Option<Address>,
    balance: U192,
    price: U192,
) -> Result<&OpenChannel, Refusal> {
    let channel = match channel {
        PayableChannel::Closed => return Err(Refusal::NonexistingChannel),
        PayableChannel::Unconfirmed => return Err(Refusal::InsufficientConfirmations),
        PayableChannel::Open(channel) => channel,
    };
    if !recover().is_some_and(|signer| signer == channel.signer || signer == channel.sender) {
        return Err(Refusal::InvalidBalanceProof);
    }
    if balance <= channel.balance {
        return Err(Refusal::InvalidBalanceProof);
    }
    if balance > channel.deposit {
        // Within a top-up that is not confirmed yet: the sender only has to wait.
        return Err(if balance <= channel.deposit.saturating_add(channel.unconfirmed_top_up) {
            Refusal::InsufficientConfirmations
        } else {
            Refusal::InsufficientFunds
        });
    }
    if balance - channel.balance != price {
        return Err(Refusal::InvalidAmount);
    }
    Ok(channel)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENDER: Address = Address::repeat_byte(1);
    const SIGNER: Address = Address::repeat_byte(2);
    const STRANGER: Address = Address::repeat_byte(3);

    fn open(balance: u64, deposit: u64, unconfirmed_top_up: u64) -> PayableChannel {
        PayableChannel::Open(OpenChannel {
            sender: SENDER,
            signer: SIGNER,
            balance: U192::from(balance),
            deposit: U192::from(deposit),
            unconfirmed_top_up: U192::from(unconfirmed_top_up),
        })
    }

    fn decide(
        channel: &PayableChannel,
        recovered: Option<Address>,
        balance: u64,
        price: u64,
    ) -> Result<(), Refusal> {
        decide_payment(channel, || recovered, U192::from(balance), U192::from(price)).map(|_| ())
    }

    #[test]
    fn exactly_the_price_on_top_within_the_deposit_by_sender_or_signer_is_accepted() {
        let channel = open(40, 100, 0);
        assert_eq!(decide(&channel, Some(SIGNER), 45, 5), Ok(()));
        assert_eq!(decide(&channel, Some(SENDER), 45, 5), Ok(()));
        assert_eq!(decide(&channel, Some(SIGNER), 100, 60), Ok(()), "the whole deposit");
    }

    #[test]
    fn each_wrong_payment_gets_its_refusal() {
        let channel = open(40, 100, 0);
        assert_eq!(
            decide(&channel, Some(STRANGER), 45, 5),
            Err(Refusal::InvalidBalanceProof),
            "a stranger's key"
        );
        assert_eq!(decide(&channel, None, 45, 5), Err(Refusal::InvalidBalanceProof), "no signer");
        assert_eq!(decide(&channel, Some(SIGNER), 40, 5), Err(Refusal::InvalidBalanceProof), "a replay");
        assert_eq!(decide(&channel, Some(SIGNER), 35, 5), Err(Refusal::InvalidBalanceProof), "going back");
        assert_eq!(decide(&channel, Some(SIGNER), 101, 61), Err(Refusal::InsufficientFunds));
        assert_eq!(decide(&channel, Some(SIGNER), 44, 5), Err(Refusal::InvalidAmount), "less than the price");
        assert_eq!(decide(&channel, Some(SIGNER), 46, 5), Err(Refusal::InvalidAmount), "more than the price");
    }

    #[test]
    fn the_channels_standing_comes_first_and_spares_the_recovery() {
        let never =
            || -> Option<Address> { panic!("no signature is recovered for a channel that cannot pay") };
        assert_eq!(
            decide_payment(&PayableChannel::Closed, never, U192::from(45), U192::from(5)),
            Err(Refusal::NonexistingChannel)
        );
        assert_eq!(
            decide_payment(&PayableChannel::Unconfirmed, never, U192::from(45), U192::from(5)),
            Err(Refusal::InsufficientConfirmations)
        );
    }

    #[test]
    fn above_the_deposit_but_within_an_unconfirmed_top_up_is_a_wait() {
        let channel = open(95, 100, 50);
        assert_eq!(decide(&channel, Some(SIGNER), 150, 55), Err(Refusal::InsufficientConfirmations));
        assert_eq!(decide(&channel, Some(SIGNER), 151, 56), Err(Refusal::InsufficientFunds));
        // Signature and replay are judged before the deposit.
        assert_eq!(decide(&channel, Some(STRANGER), 150, 55), Err(Refusal::InvalidBalanceProof));
    }

    #[test]
    fn a_deposit_at_the_top_of_u192_does_not_overflow() {
        let channel = PayableChannel::Open(OpenChannel {
            sender: SENDER,
            signer: SIGNER,
            balance: U192::ZERO,
            deposit: U192::MAX,
            unconfirmed_top_up: U192::MAX,
        });
        assert!(decide_payment(&channel, || Some(SIGNER), U192::MAX, U192::MAX).is_ok());
    }
}
