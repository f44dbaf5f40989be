//! Requests that a channel's sender (or its delegated signer) signs *now*, and the one rule
//! that makes them fresh.
//!
//! A balance proof is a bearer token for the amount it names: it travels in headers and
//! cookies (plain HTTP, cookies a page script can read, caches) and anyone who saw one holds
//! it forever. So holding a proof, even the last one, proves nothing about who is asking.
//! Two requests prove that the party asking holds the channel's key at this moment:
//!
//! - a [`SignedCloseRequest`] ([`CloseRequest`]): `DELETE /api/1/channels/<sender>/<open_block>`
//!   returns the receiver's closing signature for the channel's last accepted balance only
//!   for one of these, over exactly that balance;
//! - a [`SignedStatusRequest`] ([`StatusRequest`]): a 402 carries the channel's last accepted
//!   proof (`RDN-Sender-Balance`, `RDN-Balance-Signature`) only to a request with one of these
//!   (headers `RDN-Status-Deadline` and `RDN-Status-Signature`, see `headers`).
//!
//! Two types rather than one with an "action" field: the close request binds the balance the
//! sender agrees to close at, the status request cannot (the client asking has lost track of
//! the balance), and distinct primary types give distinct digests, so a status request, which
//! rides along with paying requests, can never be replayed as a close.
//!
//! # Freshness: the deadline rule
//!
//! Each request carries a `deadline` in unix seconds. The receiver accepts it when it is not in
//! the past and at most [`MAX_REQUEST_LIFETIME_SECS`] (10 minutes) ahead, by the receiver's
//! own clock ([`check_request_deadline`]). Short, because a request can leak the way a proof
//! does and a leaked one must stop working soon; not shorter, because a person may take a
//! minute to answer the wallet's prompt and the clocks of sender and receiver differ.
//! Clients sign [`request_deadline`]`(now)` = now + 5 minutes, the middle of the window, so a
//! clock off by up to 5 minutes either way still works. A request is not single-use: replayed
//! before its deadline it does only what its signer asked for (the same close, or the same
//! channel's status).

use alloy_primitives::{aliases::U192, Address};
use alloy_sol_types::{Eip712Domain, SolStruct};

use crate::{
    channel::ChannelId,
    eip712::{eip712_signing_hash, CloseRequest, StatusRequest},
    error::{Error, Result},
    signature::ProofSignature,
    signer::LocalSigningKey,
};

/// The furthest ahead of the receiver's clock a request's deadline may be, in seconds.
pub const MAX_REQUEST_LIFETIME_SECS: u64 = 600;

/// How far ahead of its own clock a client sets a deadline: the middle of the window.
pub const REQUEST_LIFETIME_SECS: u64 = MAX_REQUEST_LIFETIME_SECS / 2;

/// The deadline a client signs at unix time `now` (seconds).
pub const fn request_deadline(now: u64) -> u64 {
    now.saturating_add(REQUEST_LIFETIME_SECS)
}

/// The receiver's rule: `deadline` is not before `now` and at most
/// [`MAX_REQUEST_LIFETIME_SECS`] after it (both unix seconds, `now` by the receiver's clock).
pub fn check_request_deadline(deadline: u64, now: u64) -> Result<()> {
    if deadline < now {
        Err(Error::RequestExpired { deadline, now })
    } else if deadline - now > MAX_REQUEST_LIFETIME_SECS {
        Err(Error::RequestDeadlineTooFar { deadline, now, max_seconds: MAX_REQUEST_LIFETIME_SECS })
    } else {
        Ok(())
    }
}

/// A [`CloseRequest`] with its signature, as it reaches the receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedCloseRequest {
    /// The channel to close.
    pub channel: ChannelId,
    /// The balance to close at: the receiver's last accepted balance.
    pub balance: U192,
    /// Unix seconds after which the receiver refuses the request.
    pub deadline: u64,
    /// The sender's or its delegated signer's signature of [`message`](Self::message).
    pub signature: ProofSignature,
}

impl SignedCloseRequest {
    /// Signs a close request of `channel` at `balance`, valid until `deadline`, with `key`.
    pub fn sign(
        key: &LocalSigningKey,
        domain: &Eip712Domain,
        channel: ChannelId,
        balance: U192,
        deadline: u64,
    ) -> Result<Self> {
        let signature = key.sign_typed_data(domain, &channel.close_request(balance, deadline))?;
        Ok(Self { channel, balance, deadline, signature })
    }

    /// The signed message.
    pub const fn message(&self) -> CloseRequest {
        self.channel.close_request(self.balance, self.deadline)
    }

    /// Checks the deadline against `now` (the receiver's clock), then that the channel's sender
    /// or its `channel_signer` signed the request under `domain`; returns the signer.
    pub fn verify(&self, domain: &Eip712Domain, channel_signer: Address, now: u64) -> Result<Address> {
        verify_channel_request(domain, &self.message(), &self.signature, self.deadline, channel_signer, now)
    }
}

/// A [`StatusRequest`] with its signature, as it reaches the receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedStatusRequest {
    /// The channel asked about.
    pub channel: ChannelId,
    /// Unix seconds after which the receiver refuses the request.
    pub deadline: u64,
    /// The sender's or its delegated signer's signature of [`message`](Self::message).
    pub signature: ProofSignature,
}

impl SignedStatusRequest {
    /// Signs a status request of `channel`, valid until `deadline`, with `key`.
    pub fn sign(
        key: &LocalSigningKey,
        domain: &Eip712Domain,
        channel: ChannelId,
        deadline: u64,
    ) -> Result<Self> {
        let signature = key.sign_typed_data(domain, &channel.status_request(deadline))?;
        Ok(Self { channel, deadline, signature })
    }

    /// The signed message.
    pub const fn message(&self) -> StatusRequest {
        self.channel.status_request(self.deadline)
    }

    /// Checks the deadline against `now` (the receiver's clock), then that the channel's sender
    /// or its `channel_signer` signed the request under `domain`; returns the signer.
    pub fn verify(&self, domain: &Eip712Domain, channel_signer: Address, now: u64) -> Result<Address> {
        verify_channel_request(domain, &self.message(), &self.signature, self.deadline, channel_signer, now)
    }
}

/// The rule both requests share: fresh, and by the channel's sender or signer (as for balance
/// proofs, SPEC §2).
fn verify_channel_request<T: SolStruct + ChannelRequest>(
    domain: &Eip712Domain,
    message: &T,
    signature: &ProofSignature,
    deadline: u64,
    channel_signer: Address,
    now: u64,
) -> Result<Address> {
    check_request_deadline(deadline, now)?;
    let signer = signature.recover_signer(&eip712_signing_hash(domain, message))?;
    let sender = message.sender();
    if signer != sender && signer != channel_signer {
        return Err(Error::RequestSigner { signer, sender, channel_signer });
    }
    Ok(signer)
}

/// The channel's sender of a request type.
trait ChannelRequest {
    fn sender(&self) -> Address;
}

impl ChannelRequest for CloseRequest {
    fn sender(&self) -> Address {
        self.sender
    }
}

impl ChannelRequest for StatusRequest {
    fn sender(&self) -> Address {
        self.sender
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eip712::channel_manager_domain;

    #[test]
    fn the_deadline_window_is_now_to_ten_minutes_ahead() {
        let now = 1_700_000_000;
        assert_eq!(check_request_deadline(now, now), Ok(()));
        assert_eq!(check_request_deadline(now + 600, now), Ok(()));
        assert_eq!(check_request_deadline(request_deadline(now), now), Ok(()));
        assert_eq!(
            check_request_deadline(now - 1, now),
            Err(Error::RequestExpired { deadline: now - 1, now })
        );
        assert_eq!(
            check_request_deadline(now + 601, now),
            Err(Error::RequestDeadlineTooFar { deadline: now + 601, now, max_seconds: 600 })
        );
        assert!(check_request_deadline(u64::MAX, 0).is_err());
        // A client's deadline survives a clock five minutes off either way.
        assert_eq!(check_request_deadline(request_deadline(now - 300), now), Ok(()));
        assert_eq!(check_request_deadline(request_deadline(now + 300), now), Ok(()));
    }

    #[test]
    fn requests_verify_for_sender_or_signer_only() {
        let sender = LocalSigningKey::from_bytes(&alloy_primitives::B256::repeat_byte(1)).unwrap();
        let delegate = LocalSigningKey::from_bytes(&alloy_primitives::B256::repeat_byte(2)).unwrap();
        let stranger = LocalSigningKey::from_bytes(&alloy_primitives::B256::repeat_byte(3)).unwrap();
        let domain = channel_manager_domain(31337, Address::repeat_byte(0xcc));
        let channel = ChannelId::new(sender.address(), Address::repeat_byte(9), 42);
        let now = 1_000;
        for key in [&sender, &delegate] {
            let close = SignedCloseRequest::sign(key, &domain, channel, U192::from(7), now + 60).unwrap();
            assert_eq!(close.verify(&domain, delegate.address(), now), Ok(key.address()));
            let status = SignedStatusRequest::sign(key, &domain, channel, now + 60).unwrap();
            assert_eq!(status.verify(&domain, delegate.address(), now), Ok(key.address()));
        }
        let close = SignedCloseRequest::sign(&stranger, &domain, channel, U192::from(7), now + 60).unwrap();
        assert!(matches!(close.verify(&domain, delegate.address(), now), Err(Error::RequestSigner { .. })));
        // A changed balance or deadline is another message.
        let good = SignedCloseRequest::sign(&sender, &domain, channel, U192::from(7), now + 60).unwrap();
        let other_balance = SignedCloseRequest { balance: U192::from(8), ..good };
        assert!(matches!(
            other_balance.verify(&domain, sender.address(), now),
            Err(Error::RequestSigner { .. })
        ));
        let other_deadline = SignedCloseRequest { deadline: now + 61, ..good };
        assert!(matches!(
            other_deadline.verify(&domain, sender.address(), now),
            Err(Error::RequestSigner { .. })
        ));
        // Expiry is checked first: no signature work for a stale request.
        assert_eq!(
            good.verify(&domain, sender.address(), now + 61),
            Err(Error::RequestExpired { deadline: now + 60, now: now + 61 })
        );
        // A status request signature is no close request signature, and vice versa.
        let status = SignedStatusRequest::sign(&sender, &domain, channel, now + 60).unwrap();
        let forged = SignedCloseRequest { signature: status.signature, ..good };
        assert!(forged.verify(&domain, sender.address(), now).is_err());
    }
}
