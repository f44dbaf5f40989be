//! Calldata for `RaidenMicroTransferChannels` and `CustomToken`, from the forge artifacts.
//!
//! `sol!` reads the same JSON artifacts as the server's bindings (without `#[sol(rpc)]`:
//! the browser sends through the wallet), so a changed contract ABI fails this crate's build
//! or its tests rather than a user's transaction. Also the JSON-RPC hex codec.

// Generated calls mirror the Solidity signatures, argument count included.
#![allow(clippy::too_many_arguments, missing_docs)]

use alloy_primitives::{hex, Address, Bytes, B256, U256};
use alloy_sol_types::{sol, SolCall, SolEvent, SolInterface};
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

use CustomToken::{
    allowanceCall, approveCall, balanceOfCall, decimalsCall, eip712DomainCall, mintCall, nameCall,
    noncesCall, symbolCall,
};
use RaidenMicroTransferChannels::{
    cooperativeCloseCall, createChannelWithPermitCall, createChannelWithSignerCall, getChannelInfoCall,
    getChannelSignerCall, settleCall, tokenCall, topUpCall, uncooperativeCloseCall, ChannelCreated,
    RaidenMicroTransferChannelsErrors,
};

/// `token.approve(spender, amount)`.
pub fn approve(spender: Address, amount: U192) -> Bytes {
    approveCall { spender, value: U256::from(amount) }.abi_encode().into()
}

/// `token.allowance(owner, spender)`.
pub fn allowance(owner: Address, spender: Address) -> Bytes {
    allowanceCall { owner, spender }.abi_encode().into()
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

/// `createChannelWithPermit(receiver, deposit, signer, deadline, v, r, s)`: the EIP-2612
/// `permit` signature `permit` by the sender, for `deposit` tokens to the channel manager.
pub fn create_channel_with_permit(
    receiver: Address,
    deposit: U192,
    signer: Address,
    deadline: U256,
    permit: &ProofSignature,
) -> Bytes {
    createChannelWithPermitCall {
        receiver,
        deposit,
        signer,
        deadline,
        v: permit.v(),
        r: permit.r().into(),
        s: permit.s().into(),
    }
    .abi_encode()
    .into()
}

/// The token's EIP-2612 `nonces(owner)`.
pub fn nonces(owner: Address) -> Bytes {
    noncesCall { owner }.abi_encode().into()
}

/// Decodes `nonces`' return data.
pub fn decode_nonce(data: &[u8]) -> Result<U256> {
    noncesCall::abi_decode_returns(data).map_err(|e| invalid_result("nonces", e))
}

/// The token's ERC-5267 `eip712Domain()`.
pub fn eip712_domain() -> Bytes {
    eip712DomainCall {}.abi_encode().into()
}

/// What ERC-5267 `eip712Domain()` returns (the fields a permit's domain needs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenDomain {
    /// Bit i set: field i (name, version, chainId, verifyingContract, salt) is used.
    pub fields: u8,
    pub name: String,
    pub version: String,
    pub chain_id: U256,
    pub verifying_contract: Address,
}

/// Decodes `eip712Domain()`'s return data.
pub fn decode_eip712_domain(data: &[u8]) -> Result<TokenDomain> {
    let domain = eip712DomainCall::abi_decode_returns(data).map_err(|e| invalid_result("eip712Domain", e))?;
    Ok(TokenDomain {
        fields: domain.fields.0[0],
        name: domain.name,
        version: domain.version,
        chain_id: domain.chainId,
        verifying_contract: domain.verifyingContract,
    })
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

/// `getChannelSigner(sender, receiver, openBlockNumber)`: the delegated signer, or the sender.
pub fn get_channel_signer(channel: &ChannelId) -> Bytes {
    getChannelSignerCall {
        sender: channel.sender,
        receiver: channel.receiver,
        openBlockNumber: channel.open_block_number,
    }
    .abi_encode()
    .into()
}

/// Decodes `getChannelSigner`'s return data.
pub fn decode_channel_signer(data: &[u8]) -> Result<Address> {
    getChannelSignerCall::abi_decode_returns(data).map_err(|e| invalid_result("getChannelSigner", e))
}

/// The `eth_getLogs` topics of `ChannelCreated(sender indexed, receiver indexed, …)` events of
/// the channels from `sender` to `receiver`.
pub fn channel_created_topics(sender: Address, receiver: Address) -> [B256; 3] {
    [ChannelCreated::SIGNATURE_HASH, sender.into_word(), receiver.into_word()]
}

/// The deposit and signer a `ChannelCreated` event's data names.
pub fn decode_channel_created(data: &[u8]) -> Result<(U192, Address)> {
    let (deposit, signer) =
        ChannelCreated::abi_decode_data(data).map_err(|e| invalid_result("ChannelCreated", e))?;
    Ok((deposit, signer))
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
            (get_channel_signer(&channel), "getChannelSigner(address,address,uint32)"),
            (nonces(SENDER), "nonces(address)"),
            (eip712_domain(), "eip712Domain()"),
            (
                create_channel_with_permit(RECEIVER, U192::from(1), SIGNER, U256::from(9), &sig),
                "createChannelWithPermit(address,uint192,address,uint256,uint8,bytes32,bytes32)",
            ),
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
    fn permit_signature_is_split_into_v_r_s() {
        let sig = ProofSignature::from_bytes(&[[1u8; 32].as_slice(), &[2u8; 32], &[28]].concat()).unwrap();
        let call = createChannelWithPermitCall::abi_decode(&create_channel_with_permit(
            RECEIVER,
            U192::from(5),
            SIGNER,
            U256::from(77),
            &sig,
        ))
        .unwrap();
        assert_eq!(
            (call.receiver, call.deposit, call.signer, call.deadline),
            (RECEIVER, U192::from(5), SIGNER, U256::from(77))
        );
        assert_eq!((call.v, call.r, call.s), (28, B256::repeat_byte(1), B256::repeat_byte(2)));
    }

    #[test]
    fn eip712_domain_decodes() {
        let encoded = eip712DomainCall::abi_encode_returns(&CustomToken::eip712DomainReturn {
            fields: alloy_primitives::FixedBytes([0x0f]),
            name: "Token".into(),
            version: "1".into(),
            chainId: U256::from(31337),
            verifyingContract: SIGNER,
            salt: B256::ZERO,
            extensions: vec![],
        });
        let domain = decode_eip712_domain(&encoded).unwrap();
        assert_eq!((domain.fields, domain.name.as_str(), domain.version.as_str()), (0x0f, "Token", "1"));
        assert_eq!((domain.chain_id, domain.verifying_contract), (U256::from(31337), SIGNER));
        assert_eq!(decode_nonce(&word(&[3])).unwrap(), U256::from(3));
    }

    #[test]
    fn channel_created_topics_filter_by_sender_and_receiver() {
        let [event, sender, receiver] = channel_created_topics(SENDER, RECEIVER);
        assert_eq!(event, keccak256("ChannelCreated(address,address,uint192,address)"));
        assert_eq!(sender, B256::from(word(SENDER.as_slice())));
        assert_eq!(receiver, B256::from(word(RECEIVER.as_slice())));
        assert_eq!(decode_channel_signer(&word(SIGNER.as_slice())).unwrap(), SIGNER);
        let data = [word(&[100]), word(SIGNER.as_slice())].concat();
        assert_eq!(decode_channel_created(&data).unwrap(), (U192::from(100), SIGNER));
        assert_eq!(decode_channel_created(&data[..32]).unwrap_err().kind(), ErrorKind::InvalidResponse);
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
