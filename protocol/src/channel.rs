//! Channels, their on-chain key, and token amounts.
//!
//! A channel is named by `(sender, receiver, open block number)` ([`ChannelId`]); the
//! contract stores it under [`ChannelKey`] =
//! `keccak256(abi.encodePacked(sender, receiver, uint32 openBlockNumber))`.
//! Every token amount (deposit, balance, price) is a [`U192`], the contract's `uint192`:
//! out-of-range values cannot be represented, so there is no overflow to check later.

use core::fmt;

use alloy_primitives::{aliases::U192, keccak256, Address, B256};

use crate::{
    eip712::{BalanceProof, CloseRequest, ClosingProof, StatusRequest},
    error::{quote, Error, Result},
};

/// Names one payment channel: the sender, the receiver and the block that mined its creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId {
    /// The paying party (the depositor).
    pub sender: Address,
    /// The paid party.
    pub receiver: Address,
    /// The block in which the channel was created.
    pub open_block_number: u32,
}

impl ChannelId {
    /// A channel id from its three parts.
    pub const fn new(sender: Address, receiver: Address, open_block_number: u32) -> Self {
        Self { sender, receiver, open_block_number }
    }

    /// The contract's storage key for this channel.
    pub fn key(&self) -> ChannelKey {
        let mut packed = [0u8; 44];
        packed[..20].copy_from_slice(self.sender.as_slice());
        packed[20..40].copy_from_slice(self.receiver.as_slice());
        packed[40..].copy_from_slice(&self.open_block_number.to_be_bytes());
        ChannelKey(keccak256(packed))
    }

    /// The sender's proof that `balance` (cumulative) is owed in this channel.
    pub const fn balance_proof(&self, balance: U192) -> BalanceProof {
        BalanceProof {
            sender: self.sender,
            receiver: self.receiver,
            openBlockNumber: self.open_block_number,
            balance,
        }
    }

    /// The receiver's agreement to close this channel at `balance`.
    pub const fn closing_proof(&self, balance: U192) -> ClosingProof {
        ClosingProof {
            sender: self.sender,
            receiver: self.receiver,
            openBlockNumber: self.open_block_number,
            balance,
        }
    }

    /// The sender's request, valid until `deadline` (unix seconds), that the receiver co-sign
    /// closing this channel at `balance`.
    pub const fn close_request(&self, balance: U192, deadline: u64) -> CloseRequest {
        CloseRequest {
            sender: self.sender,
            receiver: self.receiver,
            openBlockNumber: self.open_block_number,
            balance,
            deadline,
        }
    }

    /// The sender's request, valid until `deadline` (unix seconds), for the receiver's last
    /// accepted proof of this channel.
    pub const fn status_request(&self, deadline: u64) -> StatusRequest {
        StatusRequest {
            sender: self.sender,
            receiver: self.receiver,
            openBlockNumber: self.open_block_number,
            deadline,
        }
    }
}

impl From<&BalanceProof> for ChannelId {
    fn from(proof: &BalanceProof) -> Self {
        Self::new(proof.sender, proof.receiver, proof.openBlockNumber)
    }
}

impl From<&ClosingProof> for ChannelId {
    fn from(proof: &ClosingProof) -> Self {
        Self::new(proof.sender, proof.receiver, proof.openBlockNumber)
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}->{}@{}", self.sender, self.receiver, self.open_block_number)
    }
}

/// `keccak256(abi.encodePacked(sender, receiver, uint32 openBlockNumber))`: the channel
/// manager's mapping key (`getKey`), and the first value of `getChannelInfo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelKey(pub B256);

impl ChannelKey {
    /// The 32 bytes.
    pub const fn as_b256(&self) -> &B256 {
        &self.0
    }
}

impl From<ChannelKey> for B256 {
    fn from(key: ChannelKey) -> Self {
        key.0
    }
}

impl fmt::Display for ChannelKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// Parses a token amount written as a canonical decimal integer: digits only, no sign, no
/// leading zeros (except `0` itself), below 2^192. This is the form of every amount in the
/// `RDN-*` headers and in the wallet's typed data.
pub fn parse_amount(input: &str) -> Result<U192> {
    let invalid = |problem| Error::InvalidAmount { input: quote(input), problem };
    check_canonical_decimal(input).map_err(invalid)?;
    // 2^192 - 1 has 58 digits; longer inputs are out of range without parsing them.
    if input.len() > 58 {
        return Err(invalid("2^192 or more"));
    }
    U192::from_str_radix(input, 10).map_err(|_| invalid("2^192 or more"))
}

/// Checks `input` is a canonical decimal integer; the error is the problem.
pub(crate) fn check_canonical_decimal(input: &str) -> Result<(), &'static str> {
    if input.is_empty() {
        Err("empty")
    } else if !input.bytes().all(|b| b.is_ascii_digit()) {
        Err("only the digits 0-9 are allowed")
    } else if input.len() > 1 && input.starts_with('0') {
        Err("leading zeros are not allowed")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{address, b256};

    #[test]
    fn key_is_keccak_of_the_packed_44_bytes() {
        let id = ChannelId::new(
            address!("3c44cdddb6a900fa2b585dd299e03d12fa4293bc"),
            address!("70997970c51812dc3a010c7d01b50e0d17dc79c8"),
            0x0102_0304,
        );
        let mut expected = Vec::new();
        expected.extend_from_slice(id.sender.as_slice());
        expected.extend_from_slice(id.receiver.as_slice());
        expected.extend_from_slice(&[1, 2, 3, 4]);
        assert_eq!(expected.len(), 44);
        assert_eq!(id.key().0, keccak256(&expected));
        // Known answer, computed independently with viem: keccak256(concat([sender, receiver, "0x01020304"])).
        assert_eq!(id.key().0, b256!("0x0d3a5bc22d4c8147391bd2e15194193b1f3a9d12ae4bab6d995b7f70a209e97e"));
    }

    #[test]
    fn key_changes_with_every_part() {
        let id = ChannelId::new(Address::repeat_byte(1), Address::repeat_byte(2), 10);
        assert_ne!(id.key(), ChannelId { open_block_number: 11, ..id }.key());
        assert_ne!(id.key(), ChannelId { sender: Address::repeat_byte(3), ..id }.key());
        assert_ne!(id.key(), ChannelId { receiver: Address::repeat_byte(3), ..id }.key());
        assert_eq!(id.key().to_string(), format!("{:#x}", id.key().0));
    }

    #[test]
    fn proofs_carry_the_channel() {
        let id = ChannelId::new(Address::repeat_byte(1), Address::repeat_byte(2), 10);
        let proof = id.balance_proof(U192::from(5));
        assert_eq!(
            (proof.sender, proof.receiver, proof.openBlockNumber, proof.balance),
            (id.sender, id.receiver, 10, U192::from(5))
        );
        assert_eq!(ChannelId::from(&proof), id);
        assert_eq!(ChannelId::from(&id.closing_proof(U192::ZERO)), id);
    }

    #[test]
    fn amounts_parse_only_in_canonical_decimal() {
        assert_eq!(parse_amount("0").unwrap(), U192::ZERO);
        assert_eq!(parse_amount("1000").unwrap(), U192::from(1000));
        let max = "6277101735386680763835789423207666416102355444464034512895";
        assert_eq!(parse_amount(max).unwrap(), U192::MAX);
        for (bad, problem) in [
            ("", "empty"),
            ("12a", "only the digits 0-9 are allowed"),
            ("-1", "only the digits 0-9 are allowed"),
            ("+1", "only the digits 0-9 are allowed"),
            (" 1", "only the digits 0-9 are allowed"),
            ("1e3", "only the digits 0-9 are allowed"),
            ("0x10", "only the digits 0-9 are allowed"),
            ("1.5", "only the digits 0-9 are allowed"),
            ("١", "only the digits 0-9 are allowed"),
            ("00", "leading zeros are not allowed"),
            ("007", "leading zeros are not allowed"),
            ("6277101735386680763835789423207666416102355444464034512896", "2^192 or more"),
            ("99999999999999999999999999999999999999999999999999999999999", "2^192 or more"),
        ] {
            assert_eq!(
                parse_amount(bad),
                Err(Error::InvalidAmount { input: quote(bad), problem }),
                "{bad:?}"
            );
        }
        let huge = "9".repeat(10_000);
        let message = parse_amount(&huge).unwrap_err().to_string();
        assert!(message.len() < 160, "long input is truncated: {message}");
    }
}
