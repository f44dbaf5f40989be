//! Calldata for `RaidenMicroTransferChannels` and `CustomToken`, from the forge artifacts.
//!
//! `sol!` reads the same JSON artifacts as the server's bindings (without `#[sol(rpc)]`:
//! the browser sends through the wallet), so a changed contract ABI fails this crate's build
//! or its tests rather than a user's transaction. Also the JSON-RPC hex codec.

// Generated calls mirror the Solidity signatures, argument count included.
#![allow(clippy::too_many_arguments, missing_docs)]

use alloy_primitives::{hex, Address, Bytes, B256, U256};
use alloy_sol_types::{sol, SolCall, SolInterface};
use uraiden_protocol::{ChannelId, ProofSignature, U192};

use crate::error::{ErrorKind, Result, UraidenError};

sol!(
    #[derive(Debug)]
    RaidenMicroTransferChannels,
    "../contracts/artifacts/RaidenMicroTransferChannels.json"
);

sol!(
    #[derive(Debug)]
    CustomToken,
    "../contracts/artifacts/CustomToken.json"
);

use CustomToken::{approveCall, balanceOfCall, decimalsCall, mintCall, nameCall, symbolCall};
use RaidenMicroTransferChannels::{
    cooperativeCloseCall, createChannelWithSignerCall, getChannelInfoCall, settleCall, tokenCall, topUpCall,
    uncooperativeCloseCall, RaidenMicroTransferChannelsErrors,
};

/// `token.approve(spender, amount)`.
pub fn approve(spender: Address, amount: U192) -> Bytes {
    approveCall { spender, value: U256::from(amount) }.abi_encode().into()
}

/// `token.balanceOf(owner)`.
pub fn balance_of(owner: Address) -> Bytes {
    balanceOfCall { account: owner }.abi_encode().into()
}

/// `token.decimals()`, `token.symbol()`, `token.name()`.
pub fn decimals() -> Bytes {
    decimalsCall {}.abi_encode().into()
}

/// `token.symbol()`.
pub fn symbol() -> Bytes {
    symbolCall {}.abi_encode().into()
}

/// `token.name()`.
pub fn name() -> Bytes {
    nameCall {}.abi_encode().into()
}

/// `token.mint()` (payable: 50 tokens per 0.1 ETH sent).
pub fn mint() -> Bytes {
    mintCall {}.abi_encode().into()
}

/// `createChannelWithSigner(receiver, deposit, signer)`.
pub fn create_channel_with_signer(receiver: Address, deposit: U192, signer: Address) -> Bytes {
    createChannelWithSignerCall { receiver, deposit, signer }.abi_encode().into()
}

/// `topUp(receiver, openBlockNumber, addedDeposit)`.
pub fn top_up(channel: &ChannelId, added_deposit: U192) -> Bytes {
    topUpCall {
        receiver: channel.receiver,
        openBlockNumber: channel.open_block_number,
        addedDeposit: added_deposit,
    }
    .abi_encode()
    .into()
}

/// `cooperativeClose(sender, receiver, openBlockNumber, balance, balanceMsgSig, closingSig)`.
pub fn cooperative_close(
    channel: &ChannelId,
    balance: U192,
    balance_signature: &ProofSignature,
    closing_signature: &ProofSignature,
) -> Bytes {
    cooperativeCloseCall {
        sender: channel.sender,
        receiver: channel.receiver,
        openBlockNumber: channel.open_block_number,
        balance,
        balanceMsgSig: balance_signature.as_bytes().to_vec().into(),
        closingSig: closing_signature.as_bytes().to_vec().into(),
    }
    .abi_encode()
    .into()
}

/// `uncooperativeClose(receiver, openBlockNumber, balance)` (sender only; starts the challenge).
pub fn uncooperative_close(channel: &ChannelId, balance: U192) -> Bytes {
    uncooperativeCloseCall { receiver: channel.receiver, openBlockNumber: channel.open_block_number, balance }
        .abi_encode()
        .into()
}

/// `settle(receiver, openBlockNumber)` (sender only, after the challenge period).
pub fn settle(channel: &ChannelId) -> Bytes {
    settleCall { receiver: channel.receiver, openBlockNumber: channel.open_block_number }.abi_encode().into()
}

/// The channel manager's `token()`.
pub fn token() -> Bytes {
    tokenCall {}.abi_encode().into()
}

/// Decodes `token()`'s return data.
pub fn decode_address(data: &[u8]) -> Result<Address> {
    tokenCall::abi_decode_returns(data).map_err(|e| invalid_result("token", e))
}

/// `getChannelInfo(sender, receiver, openBlockNumber)`.
pub fn get_channel_info(channel: &ChannelId) -> Bytes {
    getChannelInfoCall {
        sender: channel.sender,
        receiver: channel.receiver,
        openBlockNumber: channel.open_block_number,
    }
    .abi_encode()
    .into()
}

/// What `getChannelInfo` returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnChainChannel {
    pub key: B256,
    pub deposit: U192,
    /// Zero while open; the block after which `settle` is allowed once a close was requested.
    pub settle_block_number: u32,
    pub closing_balance: U192,
    pub withdrawn_balance: U192,
}

fn invalid_result(what: &str, error: impl core::fmt::Display) -> UraidenError {
    UraidenError::new(ErrorKind::InvalidResponse, format!("{what} returned undecodable data: {error}"))
}

/// Decodes `getChannelInfo`'s return data.
pub fn decode_channel_info(data: &[u8]) -> Result<OnChainChannel> {
    let info =
        getChannelInfoCall::abi_decode_returns(data).map_err(|e| invalid_result("getChannelInfo", e))?;
    Ok(OnChainChannel {
        key: info.key,
        deposit: info.deposit,
        settle_block_number: info.settleBlockNumber,
        closing_balance: info.closingBalance,
        withdrawn_balance: info.withdrawnBalance,
    })
}

/// Decodes `balanceOf`'s return data.
pub fn decode_balance(data: &[u8]) -> Result<U256> {
    balanceOfCall::abi_decode_returns(data).map_err(|e| invalid_result("balanceOf", e))
}

/// Decodes `decimals`'s return data.
pub fn decode_decimals(data: &[u8]) -> Result<u8> {
    decimalsCall::abi_decode_returns(data).map_err(|e| invalid_result("decimals", e))
}

/// Decodes `symbol`'s or `name`'s return data.
pub fn decode_string(data: &[u8]) -> Result<String> {
    symbolCall::abi_decode_returns(data).map_err(|e| invalid_result("symbol/name", e))
}

/// The channel manager's custom error in revert data, e.g. `ChannelNotFound(0x…)`.
pub fn describe_revert(data: &[u8]) -> Option<String> {
    let error = RaidenMicroTransferChannelsErrors::abi_decode(data).ok()?;
    let debug = format!("{error:?}");
    // `ChannelNotFound(ChannelNotFound { key: … })` → `ChannelNotFound { key: … }`.
    Some(debug.split_once('(').map_or(debug.clone(), |(_, inner)| inner.trim_end_matches(')').to_owned()))
}

/// `0x`-prefixed hex of `bytes`, as JSON-RPC wants data.
pub fn to_hex(bytes: &[u8]) -> String {
    hex::encode_prefixed(bytes)
}

/// A JSON-RPC quantity (`0x` + minimal hex) of any unsigned integer.
pub fn quantity(value: U256) -> String {
    format!("{value:#x}")
}

/// Parses a JSON-RPC quantity (`"0x1a"`) into a `u64`.
pub fn parse_quantity(what: &str, input: &str) -> Result<u64> {
    let digits = input.strip_prefix("0x").filter(|d| !d.is_empty() && d.len() <= 16);
    digits.and_then(|d| u64::from_str_radix(d, 16).ok()).ok_or_else(|| {
        UraidenError::new(
            ErrorKind::InvalidResponse,
            format!("{what}: expected a hex quantity, got {input:?}"),
        )
    })
}

/// Parses JSON-RPC data (`"0x…"`, even length).
pub fn parse_data(what: &str, input: &str) -> Result<Vec<u8>> {
    hex::decode(input.strip_prefix("0x").unwrap_or("!")).map_err(|_| {
        UraidenError::new(ErrorKind::InvalidResponse, format!("{what}: expected 0x-prefixed hex data"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{address, keccak256};
    use alloy_sol_types::SolError;
    use uraiden_protocol::{LocalSigningKey, TokenFallbackData};

    const SENDER: Address = address!("3c44cdddb6a900fa2b585dd299e03d12fa4293bc");
    const RECEIVER: Address = address!("70997970c51812dc3a010c7d01b50e0d17dc79c8");
    const SIGNER: Address = address!("90f79bf6eb2c4f870365e785982e1f101e93b906");

    fn selector(signature: &str) -> [u8; 4] {
        keccak256(signature.as_bytes())[..4].try_into().unwrap()
    }

    fn word(bytes: &[u8]) -> [u8; 32] {
        let mut word = [0u8; 32];
        word[32 - bytes.len()..].copy_from_slice(bytes);
        word
    }

    #[test]
    fn selectors_match_the_specified_signatures() {
        let channel = ChannelId::new(SENDER, RECEIVER, 7);
        let sig = ProofSignature::from_bytes(&[[1u8; 32].as_slice(), &[2u8; 32], &[27]].concat()).unwrap();
        for (calldata, signature) in [
            (approve(SIGNER, U192::from(1)), "approve(address,uint256)"),
            (balance_of(SENDER), "balanceOf(address)"),
            (decimals(), "decimals()"),
            (symbol(), "symbol()"),
            (name(), "name()"),
            (mint(), "mint()"),
            (
                create_channel_with_signer(RECEIVER, U192::from(1), SIGNER),
                "createChannelWithSigner(address,uint192,address)",
            ),
            (top_up(&channel, U192::from(1)), "topUp(address,uint32,uint192)"),
            (
                cooperative_close(&channel, U192::from(1), &sig, &sig),
                "cooperativeClose(address,address,uint32,uint192,bytes,bytes)",
            ),
            (uncooperative_close(&channel, U192::from(1)), "uncooperativeClose(address,uint32,uint192)"),
            (settle(&channel), "settle(address,uint32)"),
            (get_channel_info(&channel), "getChannelInfo(address,address,uint32)"),
            (token(), "token()"),
        ] {
            assert_eq!(calldata[..4], selector(signature), "{signature}");
        }
    }

    #[test]
    fn arguments_are_abi_words_in_order() {
        let channel = ChannelId::new(SENDER, RECEIVER, 0x0102_0304);
        let data = create_channel_with_signer(RECEIVER, U192::from(1000), SIGNER);
        assert_eq!(data.len(), 4 + 3 * 32);
        assert_eq!(data[4..36], word(RECEIVER.as_slice()));
        assert_eq!(data[36..68], word(&1000u16.to_be_bytes()));
        assert_eq!(data[68..100], word(SIGNER.as_slice()));
        let data = top_up(&channel, U192::from(5));
        assert_eq!(data[36..68], word(&[1, 2, 3, 4]));
        let data = uncooperative_close(&channel, U192::MAX);
        assert_eq!(data[68..100], word(&[0xff; 24]));
    }

    #[test]
    fn cooperative_close_carries_both_65_byte_signatures() {
        let channel = ChannelId::new(SENDER, RECEIVER, 9);
        let domain = uraiden_protocol::channel_manager_domain(31337, SIGNER);
        let key = LocalSigningKey::from_bytes(&B256::repeat_byte(3)).unwrap();
        let balance_sig = key.sign_balance_proof(&domain, &channel.balance_proof(U192::from(8))).unwrap();
        let closing_sig = key.sign_typed_data(&domain, &channel.closing_proof(U192::from(8))).unwrap();
        let call = cooperativeCloseCall::abi_decode(&cooperative_close(
            &channel,
            U192::from(8),
            &balance_sig,
            &closing_sig,
        ))
        .unwrap();
        assert_eq!((call.sender, call.receiver, call.openBlockNumber), (SENDER, RECEIVER, 9));
        assert_eq!(call.balanceMsgSig[..], balance_sig.as_bytes());
        assert_eq!(call.closingSig[..], closing_sig.as_bytes());
    }

    #[test]
    fn channel_info_and_token_results_decode() {
        let mut data = Vec::new();
        data.extend_from_slice(&[0xaa; 32]);
        data.extend_from_slice(&word(&[0x03, 0xe8]));
        data.extend_from_slice(&word(&[0x64]));
        data.extend_from_slice(&word(&[0x05]));
        data.extend_from_slice(&word(&[0x02]));
        let info = decode_channel_info(&data).unwrap();
        assert_eq!(info.key, B256::repeat_byte(0xaa));
        assert_eq!(info.deposit, U192::from(1000));
        assert_eq!(info.settle_block_number, 100);
        assert_eq!((info.closing_balance, info.withdrawn_balance), (U192::from(5), U192::from(2)));
        assert_eq!(decode_channel_info(&data[..64]).unwrap_err().kind(), ErrorKind::InvalidResponse);
        assert_eq!(decode_decimals(&word(&[18])).unwrap(), 18);
        assert_eq!(decode_address(&word(SIGNER.as_slice())).unwrap(), SIGNER);
        let mut text = word(&[0x20]).to_vec();
        text.extend_from_slice(&word(&[3]));
        let mut tkn = [0u8; 32];
        tkn[..3].copy_from_slice(b"TKN");
        text.extend_from_slice(&tkn);
        assert_eq!(decode_string(&text).unwrap(), "TKN");
    }

    #[test]
    fn erc223_top_up_goes_to_the_same_token_transfer() {
        // The protocol crate builds ERC223 calldata with its own `sol!`; the artifact agrees.
        let data = TokenFallbackData::TopUp { channel: ChannelId::new(SENDER, RECEIVER, 3) };
        let calldata = data.transfer_calldata(SIGNER, U192::from(10));
        assert_eq!(calldata[..4], selector("transfer(address,uint256,bytes)"));
        let call = CustomToken::transfer_1Call::abi_decode(&calldata).unwrap();
        assert_eq!(call.data, data.encode());
    }

    #[test]
    fn reverts_are_named() {
        let revert = RaidenMicroTransferChannels::ZeroTopUp {}.abi_encode();
        assert_eq!(describe_revert(&revert).unwrap(), "ZeroTopUp");
        let revert = RaidenMicroTransferChannels::ChannelNotFound { key: B256::repeat_byte(1) }.abi_encode();
        assert!(describe_revert(&revert).unwrap().starts_with("ChannelNotFound { key: 0x0101"));
        assert_eq!(describe_revert(&[1, 2, 3, 4]), None);
    }

    #[test]
    fn json_rpc_hex() {
        assert_eq!(quantity(U256::ZERO), "0x0");
        assert_eq!(quantity(U256::from(255)), "0xff");
        assert_eq!(parse_quantity("block", "0x1a").unwrap(), 26);
        for bad in ["1a", "0x", "0xzz", "0x10000000000000000"] {
            assert_eq!(parse_quantity("block", bad).unwrap_err().kind(), ErrorKind::InvalidResponse, "{bad}");
        }
        assert_eq!(parse_data("r", "0x0102").unwrap(), vec![1, 2]);
        assert!(parse_data("r", "0102").is_err());
        assert_eq!(to_hex(&[0xab]), "0xab");
    }
}
