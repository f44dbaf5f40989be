//! The `data` of an ERC223 `transfer(address,uint256,bytes)` to the channel manager, which
//! opens or tops up a channel in one transaction (the token calls `tokenFallback`).
//!
//! | bytes | layout | effect |
//! |---|---|---|
//! | 40 | sender ‖ receiver | create a channel |
//! | 60 | sender ‖ receiver ‖ signer | create a channel with a delegated signer |
//! | 44 | sender ‖ receiver ‖ uint32 open block (big-endian) | top up |
//!
//! The contract reverts for any other length; [`TokenFallbackData::decode`] refuses it too.
//! The sender must be the account whose tokens the transfer moves: the contract refuses data
//! naming anyone else (`TokenSenderMismatch`) unless the transfer comes from a trusted contract.

use alloy_primitives::{aliases::U192, Address, Bytes, U256};
use alloy_sol_types::{sol, SolCall};

use crate::{
    channel::ChannelId,
    error::{Error, Result},
};

sol! {
    /// The ERC223 transfer of `CustomToken`.
    function transfer(address to, uint256 value, bytes data) returns (bool);
}

/// What an ERC223 transfer to the channel manager asks it to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenFallbackData {
    /// Open a channel whose proofs the sender signs.
    CreateChannel {
        /// The depositor.
        sender: Address,
        /// The paid party.
        receiver: Address,
    },
    /// Open a channel whose proofs `signer` (e.g. a browser session key) may sign.
    CreateChannelWithSigner {
        /// The depositor.
        sender: Address,
        /// The paid party.
        receiver: Address,
        /// The delegated signer of balance proofs.
        signer: Address,
    },
    /// Add the transferred value to an open channel's deposit.
    TopUp {
        /// The channel to top up.
        channel: ChannelId,
    },
}

impl TokenFallbackData {
    /// The bytes the contract's `tokenFallback` expects.
    pub fn encode(&self) -> Bytes {
        let mut data = Vec::with_capacity(60);
        match self {
            Self::CreateChannel { sender, receiver } => {
                data.extend_from_slice(sender.as_slice());
                data.extend_from_slice(receiver.as_slice());
            }
            Self::CreateChannelWithSigner { sender, receiver, signer } => {
                data.extend_from_slice(sender.as_slice());
                data.extend_from_slice(receiver.as_slice());
                data.extend_from_slice(signer.as_slice());
            }
            Self::TopUp { channel } => {
                data.extend_from_slice(channel.sender.as_slice());
                data.extend_from_slice(channel.receiver.as_slice());
                data.extend_from_slice(&channel.open_block_number.to_be_bytes());
            }
        }
        data.into()
    }

    /// Reads `tokenFallback` data; any length but 40, 44 and 60 is an error.
    pub fn decode(data: &[u8]) -> Result<Self> {
        let address_at = |at: usize| Address::from_slice(&data[at..at + 20]);
        match data.len() {
            40 => Ok(Self::CreateChannel { sender: address_at(0), receiver: address_at(20) }),
            60 => Ok(Self::CreateChannelWithSigner {
                sender: address_at(0),
                receiver: address_at(20),
                signer: address_at(40),
            }),
            44 => {
                let block = u32::from_be_bytes([data[40], data[41], data[42], data[43]]);
                Ok(Self::TopUp { channel: ChannelId::new(address_at(0), address_at(20), block) })
            }
            got => Err(Error::Erc223DataLength { got }),
        }
    }

    /// The calldata of the token's `transfer(channel_manager, value, data)` that performs this.
    pub fn transfer_calldata(&self, channel_manager: Address, value: U192) -> Bytes {
        transferCall { to: channel_manager, value: U256::from(value), data: self.encode() }
            .abi_encode()
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{address, hex};

    const SENDER: Address = address!("3c44cdddb6a900fa2b585dd299e03d12fa4293bc");
    const RECEIVER: Address = address!("70997970c51812dc3a010c7d01b50e0d17dc79c8");
    const SIGNER: Address = address!("90f79bf6eb2c4f870365e785982e1f101e93b906");

    #[test]
    fn layouts_are_the_packed_bytes() {
        let create = TokenFallbackData::CreateChannel { sender: SENDER, receiver: RECEIVER };
        assert_eq!(
            create.encode()[..],
            hex!("3c44cdddb6a900fa2b585dd299e03d12fa4293bc70997970c51812dc3a010c7d01b50e0d17dc79c8")
        );
        let with_signer =
            TokenFallbackData::CreateChannelWithSigner { sender: SENDER, receiver: RECEIVER, signer: SIGNER };
        assert_eq!(with_signer.encode().len(), 60);
        assert_eq!(&with_signer.encode()[40..], SIGNER.as_slice());
        let top_up = TokenFallbackData::TopUp { channel: ChannelId::new(SENDER, RECEIVER, 0x0a0b_0c0d) };
        assert_eq!(top_up.encode().len(), 44);
        assert_eq!(&top_up.encode()[40..], &[0x0a, 0x0b, 0x0c, 0x0d], "big-endian block number");
        for data in [create, with_signer, top_up] {
            assert_eq!(TokenFallbackData::decode(&data.encode()).unwrap(), data);
        }
    }

    #[test]
    fn other_lengths_are_refused() {
        for len in [0, 20, 39, 41, 43, 45, 59, 61, 64, 80] {
            let err = TokenFallbackData::decode(&vec![7u8; len]).unwrap_err();
            assert_eq!(err, Error::Erc223DataLength { got: len });
            assert!(err.to_string().contains(&format!("got {len} bytes")));
        }
    }

    #[test]
    fn transfer_calldata_is_the_abi_call() {
        let manager = address!("e7f1725e7734ce288f8367e1bb143e90bb3f0512");
        let data = TokenFallbackData::CreateChannel { sender: SENDER, receiver: RECEIVER };
        let calldata = data.transfer_calldata(manager, U192::from(1000));
        // transfer(address,uint256,bytes) = 0xbe45fd62
        assert_eq!(&calldata[..4], &hex!("be45fd62"));
        let call = transferCall::abi_decode(&calldata).unwrap();
        assert_eq!((call.to, call.value, call.data), (manager, U256::from(1000), data.encode()));
        // head: selector + to + value + offset (0x60), then length 40 and 2 padded words.
        assert_eq!(calldata.len(), 4 + 32 * 3 + 32 + 64);
    }
}
