//! Calldata for `RaidenMicroTransferChannels` and `CustomToken`, the decoding of what their
//! views return and of their custom errors, and the JSON-RPC hex codec.
//!
//! Written out for the few calls the browser makes: the `sol!` bindings of both contracts
//! cost the wasm about 20 KiB. Each function, event and error is defined once, by its Solidity
//! signature in [`Function`], [`CHANNEL_CREATED`] and [`ERRORS`]: selectors and topics are the
//! keccak of that text, and the tests check every signature (with what it returns) against the
//! forge artifacts in `contracts/artifacts/` and every encoding against `sol!` bindings of
//! them, so a changed contract ABI fails this crate's tests rather than a user's transaction.

use alloy_primitives::{hex, keccak256, Address, Bytes, B256, U256};
use uraiden_protocol::{ChannelId, ProofSignature, U192};

use crate::error::{ErrorKind, Result, UraidenError};

/// The contract functions the browser calls: their Solidity signatures and what they return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    Approve,
    Allowance,
    BalanceOf,
    Decimals,
    Symbol,
    Name,
    Mint,
    Nonces,
    Eip712Domain,
    CreateChannelWithSigner,
    CreateChannelWithPermit,
    TopUp,
    CooperativeClose,
    UncooperativeClose,
    Settle,
    Token,
    GetChannelInfo,
    GetChannelSigner,
}

/// Which contract declares a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contract {
    /// `CustomToken` (any ERC20 with EIP-2612 and ERC-5267 for the calls it serves).
    Token,
    /// `RaidenMicroTransferChannels`.
    ChannelManager,
}

impl Function {
    /// Every function, for the tests.
    #[cfg(test)]
    pub const ALL: [Self; 18] = [
        Self::Approve,
        Self::Allowance,
        Self::BalanceOf,
        Self::Decimals,
        Self::Symbol,
        Self::Name,
        Self::Mint,
        Self::Nonces,
        Self::Eip712Domain,
        Self::CreateChannelWithSigner,
        Self::CreateChannelWithPermit,
        Self::TopUp,
        Self::CooperativeClose,
        Self::UncooperativeClose,
        Self::Settle,
        Self::Token,
        Self::GetChannelInfo,
        Self::GetChannelSigner,
    ];

    /// (the contract, the canonical signature, the return types), as in the contract's ABI.
    pub const fn definition(self) -> (Contract, &'static str, &'static str) {
        use Contract::{ChannelManager, Token};
        match self {
            Self::Approve => (Token, "approve(address,uint256)", "(bool)"),
            Self::Allowance => (Token, "allowance(address,address)", "(uint256)"),
            Self::BalanceOf => (Token, "balanceOf(address)", "(uint256)"),
            Self::Decimals => (Token, "decimals()", "(uint8)"),
            Self::Symbol => (Token, "symbol()", "(string)"),
            Self::Name => (Token, "name()", "(string)"),
            Self::Mint => (Token, "mint()", "()"),
            Self::Nonces => (Token, "nonces(address)", "(uint256)"),
            Self::Eip712Domain => {
                (Token, "eip712Domain()", "(bytes1,string,string,uint256,address,bytes32,uint256[])")
            }
            Self::CreateChannelWithSigner => {
                (ChannelManager, "createChannelWithSigner(address,uint192,address)", "()")
            }
            Self::CreateChannelWithPermit => (
                ChannelManager,
                "createChannelWithPermit(address,uint192,address,uint256,uint8,bytes32,bytes32)",
                "()",
            ),
            Self::TopUp => (ChannelManager, "topUp(address,uint32,uint192)", "()"),
            Self::CooperativeClose => {
                (ChannelManager, "cooperativeClose(address,address,uint32,uint192,bytes,bytes)", "()")
            }
            Self::UncooperativeClose => (ChannelManager, "uncooperativeClose(address,uint32,uint192)", "()"),
            Self::Settle => (ChannelManager, "settle(address,uint32)", "()"),
            Self::Token => (ChannelManager, "token()", "(address)"),
            Self::GetChannelInfo => (
                ChannelManager,
                "getChannelInfo(address,address,uint32)",
                "(bytes32,uint192,uint32,uint192,uint192)",
            ),
            Self::GetChannelSigner => {
                (ChannelManager, "getChannelSigner(address,address,uint32)", "(address)")
            }
        }
    }

    /// The Solidity signature, e.g. `topUp(address,uint32,uint192)`.
    pub const fn signature(self) -> &'static str {
        self.definition().1
    }

    /// The function's name, for messages.
    fn name(self) -> &'static str {
        let signature = self.signature();
        match signature.split_once('(') {
            Some((name, _)) => name,
            None => signature,
        }
    }

    /// Calldata: the selector, then `args` ABI-encoded.
    fn call(self, args: &[Arg<'_>]) -> Bytes {
        let mut data = keccak256(self.signature())[..4].to_vec();
        let mut tail = Vec::new();
        let head_len = 32 * args.len();
        for arg in args {
            match arg {
                Arg::Word(word) => data.extend_from_slice(word.as_slice()),
                Arg::Bytes(bytes) => {
                    data.extend_from_slice(&usize_word(head_len + tail.len()));
                    tail.extend_from_slice(&usize_word(bytes.len()));
                    tail.extend_from_slice(bytes);
                    tail.resize(tail.len().next_multiple_of(32), 0);
                }
            }
        }
        data.extend_from_slice(&tail);
        data.into()
    }

    /// The return data of this function, to decode.
    fn returned(self, data: &[u8]) -> Returned<'_> {
        Returned { what: self.name(), data }
    }
}

/// `ChannelCreated`'s signature: its topic is the keccak of it; `sender` and `receiver` are indexed.
pub const CHANNEL_CREATED: &str = "ChannelCreated(address,address,uint192,address)";

/// The channel manager's custom errors, with their parameters' names (for messages such as
/// `ChannelNotFound { key: 0x… }`).
pub const ERRORS: &[&str] = &[
    "BalanceBelowWithdrawn(uint192 balance,uint192 withdrawn)",
    "BalanceExceedsDeposit(uint192 balance,uint192 deposit)",
    "BlockNumberTooLarge(uint256 blockNumber)",
    "ChallengePeriodNotOver(uint32 settleBlockNumber,uint256 currentBlock)",
    "ChallengePeriodTooShort(uint32 challengePeriod,uint32 minimum)",
    "ChannelAlreadyExists(bytes32 key)",
    "ChannelClosing(bytes32 key,uint32 settleBlockNumber)",
    "ChannelNotFound(bytes32 key)",
    "CloseAlreadyRequested(bytes32 key,uint32 settleBlockNumber)",
    "CloseNotRequested(bytes32 key)",
    "DepositTooLarge(uint256 deposit)",
    "InvalidBalanceProofSigner(address recovered)",
    "InvalidClosingSigner(address recovered)",
    "InvalidShortString()",
    "InvalidSignature()",
    "InvalidSignatureLength(uint256 length)",
    "InvalidSignatureS(bytes32 s)",
    "InvalidSignatureV(uint8 v)",
    "InvalidTokenFallbackData(uint256 length)",
    "NotOwner(address caller)",
    "NotToken(address caller)",
    "NotTrustedContract(address caller)",
    "NothingToWithdraw(uint192 balance,uint192 withdrawn)",
    "SafeERC20FailedOperation(address token)",
    "SettleBlockTooLarge(uint256 settleBlockNumber)",
    "StringTooLong(string str)",
    "TokenAddressZero()",
    "TokenHasNoCode(address token)",
    "TokenSenderMismatch(address from,address channelSender)",
    "ZeroTopUp()",
];

/// An argument: a static value's word, or dynamic `bytes`.
enum Arg<'a> {
    Word(B256),
    Bytes(&'a [u8]),
}

fn address(address: Address) -> Arg<'static> {
    Arg::Word(address.into_word())
}

fn uint(value: U256) -> Arg<'static> {
    Arg::Word(B256::from(value.to_be_bytes::<32>()))
}

fn uint192(value: U192) -> Arg<'static> {
    let mut word = B256::ZERO;
    word[8..].copy_from_slice(&value.to_be_bytes::<24>());
    Arg::Word(word)
}

fn usize_word(value: usize) -> [u8; 32] {
    U256::from(value).to_be_bytes()
}

/// A function's return data (or an error's arguments), read word by word, checked.
struct Returned<'a> {
    what: &'a str,
    data: &'a [u8],
}

impl Returned<'_> {
    fn invalid(&self, reason: impl core::fmt::Display) -> UraidenError {
        UraidenError::new(
            ErrorKind::InvalidResponse,
            format!("{} returned undecodable data: {reason}", self.what),
        )
    }

    /// The 32 bytes at byte `at`.
    fn word_at(&self, at: usize) -> Result<[u8; 32]> {
        at.checked_add(32)
            .and_then(|end| self.data.get(at..end))
            .and_then(|word| word.try_into().ok())
            .ok_or_else(|| {
                self.invalid(format!("{} bytes end before byte {}", self.data.len(), at.saturating_add(32)))
            })
    }

    /// Head word `index`.
    fn word(&self, index: usize) -> Result<[u8; 32]> {
        self.word_at(32 * index)
    }

    /// Head word `index` as a `bytes32`.
    fn bytes32(&self, index: usize) -> Result<B256> {
        self.word(index).map(B256::from)
    }

    /// Head word `index` as a `uint<bits>` (its high bytes must be zero).
    fn uint(&self, index: usize, bits: usize) -> Result<U256> {
        let word = self.word(index)?;
        if word[..32 - bits / 8].iter().any(|byte| *byte != 0) {
            return Err(self.invalid(format!("value {} does not fit a uint{bits}", index + 1)));
        }
        Ok(U256::from_be_bytes(word))
    }

    fn uint192(&self, index: usize) -> Result<U192> {
        let value = self.uint(index, 192)?;
        Ok(U192::from_be_slice(&value.to_be_bytes::<32>()[8..]))
    }

    fn small_uint(&self, index: usize, bits: usize) -> Result<u64> {
        // At most 64 bits wide here, so the low limb is all of it.
        Ok(self.uint(index, bits)?.as_limbs()[0])
    }

    fn address(&self, index: usize) -> Result<Address> {
        let word = self.word(index)?;
        if word[..12].iter().any(|byte| *byte != 0) {
            return Err(self.invalid(format!("value {} is not an address", index + 1)));
        }
        Ok(Address::from_word(B256::from(word)))
    }

    /// A `string` whose head word `index` points at it.
    fn string(&self, index: usize) -> Result<String> {
        let too_far = || self.invalid(format!("value {} points past the data", index + 1));
        let offset = usize::try_from(self.uint(index, 64)?).map_err(|_| too_far())?;
        let len = U256::from_be_bytes(self.word_at(offset)?);
        let len = usize::try_from(len).map_err(|_| too_far())?;
        // Within the data: the length word at `offset` was read.
        let start = offset + 32;
        let bytes = start.checked_add(len).and_then(|end| self.data.get(start..end)).ok_or_else(too_far)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| self.invalid(format!("value {} is not UTF-8", index + 1)))
    }
}

/// `token.approve(spender, amount)`.
pub fn approve(spender: Address, amount: U192) -> Bytes {
    Function::Approve.call(&[address(spender), uint192(amount)])
}

/// `token.allowance(owner, spender)`.
pub fn allowance(owner: Address, spender: Address) -> Bytes {
    Function::Allowance.call(&[address(owner), address(spender)])
}

/// `token.balanceOf(owner)`.
pub fn balance_of(owner: Address) -> Bytes {
    Function::BalanceOf.call(&[address(owner)])
}

/// `token.decimals()`.
pub fn decimals() -> Bytes {
    Function::Decimals.call(&[])
}

/// `token.symbol()`.
pub fn symbol() -> Bytes {
    Function::Symbol.call(&[])
}

/// `token.name()`.
pub fn name() -> Bytes {
    Function::Name.call(&[])
}

/// `token.mint()` (payable: 50 tokens per 0.1 ETH sent).
pub fn mint() -> Bytes {
    Function::Mint.call(&[])
}

/// `createChannelWithSigner(receiver, deposit, signer)`.
pub fn create_channel_with_signer(receiver: Address, deposit: U192, signer: Address) -> Bytes {
    Function::CreateChannelWithSigner.call(&[address(receiver), uint192(deposit), address(signer)])
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
    Function::CreateChannelWithPermit.call(&[
        address(receiver),
        uint192(deposit),
        address(signer),
        uint(deadline),
        uint(U256::from(permit.v())),
        uint(permit.r()),
        uint(permit.s()),
    ])
}

/// The token's EIP-2612 `nonces(owner)`.
pub fn nonces(owner: Address) -> Bytes {
    Function::Nonces.call(&[address(owner)])
}

/// Decodes `nonces`' return data.
pub fn decode_nonce(data: &[u8]) -> Result<U256> {
    Function::Nonces.returned(data).uint(0, 256)
}

/// The token's ERC-5267 `eip712Domain()`.
pub fn eip712_domain() -> Bytes {
    Function::Eip712Domain.call(&[])
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
    let domain = Function::Eip712Domain.returned(data);
    Ok(TokenDomain {
        // `bytes1`: left-aligned in its word.
        fields: domain.word(0)?[0],
        name: domain.string(1)?,
        version: domain.string(2)?,
        chain_id: domain.uint(3, 256)?,
        verifying_contract: domain.address(4)?,
    })
}

/// `topUp(receiver, openBlockNumber, addedDeposit)`.
pub fn top_up(channel: &ChannelId, added_deposit: U192) -> Bytes {
    Function::TopUp.call(&[
        address(channel.receiver),
        uint(U256::from(channel.open_block_number)),
        uint192(added_deposit),
    ])
}

/// `cooperativeClose(sender, receiver, openBlockNumber, balance, balanceMsgSig, closingSig)`.
pub fn cooperative_close(
    channel: &ChannelId,
    balance: U192,
    balance_signature: &ProofSignature,
    closing_signature: &ProofSignature,
) -> Bytes {
    Function::CooperativeClose.call(&[
        address(channel.sender),
        address(channel.receiver),
        uint(U256::from(channel.open_block_number)),
        uint192(balance),
        Arg::Bytes(&balance_signature.as_bytes()),
        Arg::Bytes(&closing_signature.as_bytes()),
    ])
}

/// `uncooperativeClose(receiver, openBlockNumber, balance)` (sender only; starts the challenge).
pub fn uncooperative_close(channel: &ChannelId, balance: U192) -> Bytes {
    Function::UncooperativeClose.call(&[
        address(channel.receiver),
        uint(U256::from(channel.open_block_number)),
        uint192(balance),
    ])
}

/// `settle(receiver, openBlockNumber)` (sender only, after the challenge period).
pub fn settle(channel: &ChannelId) -> Bytes {
    Function::Settle.call(&[address(channel.receiver), uint(U256::from(channel.open_block_number))])
}

/// The channel manager's `token()`.
pub fn token() -> Bytes {
    Function::Token.call(&[])
}

/// Decodes `token()`'s return data.
pub fn decode_address(data: &[u8]) -> Result<Address> {
    Function::Token.returned(data).address(0)
}

/// The (sender, receiver, openBlockNumber) arguments of the channel views.
fn channel_args(channel: &ChannelId) -> [Arg<'static>; 3] {
    [address(channel.sender), address(channel.receiver), uint(U256::from(channel.open_block_number))]
}

/// `getChannelInfo(sender, receiver, openBlockNumber)`.
pub fn get_channel_info(channel: &ChannelId) -> Bytes {
    Function::GetChannelInfo.call(&channel_args(channel))
}

/// `getChannelSigner(sender, receiver, openBlockNumber)`: the delegated signer, or the sender.
pub fn get_channel_signer(channel: &ChannelId) -> Bytes {
    Function::GetChannelSigner.call(&channel_args(channel))
}

/// Decodes `getChannelSigner`'s return data.
pub fn decode_channel_signer(data: &[u8]) -> Result<Address> {
    Function::GetChannelSigner.returned(data).address(0)
}

/// The `eth_getLogs` topics of `ChannelCreated(sender indexed, receiver indexed, …)` events of
/// the channels from `sender` to `receiver`.
pub fn channel_created_topics(sender: Address, receiver: Address) -> [B256; 3] {
    [keccak256(CHANNEL_CREATED), sender.into_word(), receiver.into_word()]
}

/// The deposit and signer a `ChannelCreated` event's data names.
pub fn decode_channel_created(data: &[u8]) -> Result<(U192, Address)> {
    let event = Returned { what: "ChannelCreated", data };
    Ok((event.uint192(0)?, event.address(1)?))
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

/// Decodes `getChannelInfo`'s return data.
pub fn decode_channel_info(data: &[u8]) -> Result<OnChainChannel> {
    let info = Function::GetChannelInfo.returned(data);
    Ok(OnChainChannel {
        key: info.bytes32(0)?,
        deposit: info.uint192(1)?,
        // At most 32 bits wide, checked.
        settle_block_number: info.small_uint(2, 32)? as u32,
        closing_balance: info.uint192(3)?,
        withdrawn_balance: info.uint192(4)?,
    })
}

/// Decodes `balanceOf`'s (or `allowance`'s) return data.
pub fn decode_balance(data: &[u8]) -> Result<U256> {
    Function::BalanceOf.returned(data).uint(0, 256)
}

/// Decodes `decimals`'s return data.
pub fn decode_decimals(data: &[u8]) -> Result<u8> {
    // At most 8 bits wide, checked.
    Ok(Function::Decimals.returned(data).small_uint(0, 8)? as u8)
}

/// Decodes `symbol`'s or `name`'s return data.
pub fn decode_string(data: &[u8]) -> Result<String> {
    Returned { what: "symbol/name", data }.string(0)
}

/// The channel manager's custom error in revert data, e.g. `ChannelNotFound { key: 0x… }`.
pub fn describe_revert(data: &[u8]) -> Option<String> {
    let (selector, args) = data.split_first_chunk::<4>()?;
    let error = ERRORS.iter().find(|error| keccak256(canonical(error))[..4] == selector[..])?;
    let (name, params) = error.trim_end_matches(')').split_once('(')?;
    if params.is_empty() {
        return Some(name.to_owned());
    }
    let args = Returned { what: name, data: args };
    // Written out rather than `Vec::join`: each element type's `join` is its own copy in the wasm.
    let mut fields = String::new();
    for (index, param) in params.split(',').enumerate() {
        let (kind, field) = param.split_once(' ')?;
        let value = match kind {
            "bytes32" => args.bytes32(index).ok()?.to_string(),
            "address" => to_hex(args.address(index).ok()?.as_slice()),
            "string" => format!("{:?}", args.string(index).ok()?),
            _ => {
                let bits = kind.strip_prefix("uint")?.parse().ok()?;
                args.uint(index, bits).ok()?.to_string()
            }
        };
        if index > 0 {
            fields.push_str(", ");
        }
        fields.push_str(field);
        fields.push_str(": ");
        fields.push_str(&value);
    }
    Some(format!("{name} {{ {fields} }}"))
}

/// Whether `error` (a failed `getChannelInfo` call, say) is the channel manager's
/// `ChannelNotFound`: it has no channel by that key (never opened, or settled and deleted).
pub fn is_channel_not_found(error: &UraidenError) -> bool {
    const NAME: &[u8] = b"ChannelNotFound";
    // A byte search: `str::contains` with a `&str` pattern links core's two-way searcher.
    error.message().as_bytes().windows(NAME.len()).any(|window| window == NAME)
}

/// `Name(type name,…)` without the parameter names: `Name(type,…)`, what the selector hashes.
fn canonical(error: &str) -> String {
    let Some((name, params)) = error.trim_end_matches(')').split_once('(') else {
        return error.to_owned();
    };
    let mut canonical = format!("{name}(");
    for (index, kind) in params.split(',').filter_map(|param| param.split(' ').next()).enumerate() {
        if index > 0 {
            canonical.push(',');
        }
        canonical.push_str(kind);
    }
    canonical.push(')');
    canonical
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
    use alloy_primitives::address;
    use alloy_sol_types::{SolCall, SolError, SolEvent, SolInterface};
    use generated::{CustomToken, RaidenMicroTransferChannels};
    use serde_json::Value;
    use uraiden_protocol::{LocalSigningKey, TokenFallbackData};

    /// The contracts' bindings generated from the same artifacts: what the hand-written
    /// encodings and decodings are checked against.
    #[allow(clippy::too_many_arguments, missing_docs)]
    mod generated {
        alloy_sol_types::sol!(
            #[derive(Debug)]
            RaidenMicroTransferChannels,
            "../contracts/artifacts/RaidenMicroTransferChannels.json"
        );
        alloy_sol_types::sol!(
            #[derive(Debug)]
            CustomToken,
            "../contracts/artifacts/CustomToken.json"
        );
    }

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

    fn artifact(contract: Contract) -> Vec<Value> {
        let name = match contract {
            Contract::Token => "CustomToken",
            Contract::ChannelManager => "RaidenMicroTransferChannels",
        };
        let path = format!("{}/../contracts/artifacts/{name}.json", env!("CARGO_MANIFEST_DIR"));
        let json: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        json["abi"].as_array().unwrap().clone()
    }

    /// `(type,…)` of an ABI entry's `inputs` or `outputs`, with `name` after each type if asked.
    fn params(entry: &Value, key: &str, names: bool) -> String {
        let params: Vec<String> = entry[key]
            .as_array()
            .map(|params| {
                params
                    .iter()
                    .map(|param| {
                        let kind = param["type"].as_str().unwrap().to_owned();
                        if names {
                            format!("{kind} {}", param["name"].as_str().unwrap())
                        } else {
                            kind
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        format!("({})", params.join(","))
    }

    fn entries<'a>(abi: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> {
        abi.iter().filter(move |entry| entry["type"] == kind)
    }

    #[test]
    fn every_signature_is_the_artifacts_own() {
        for function in Function::ALL {
            let (contract, signature, returns) = function.definition();
            let abi = artifact(contract);
            let found = entries(&abi, "function").find(|entry| {
                format!("{}{}", entry["name"].as_str().unwrap(), params(entry, "inputs", false)) == signature
            });
            let found = found.unwrap_or_else(|| panic!("{signature} is not in the {contract:?} artifact"));
            assert_eq!(params(found, "outputs", false), returns, "{signature} returns");
        }
        let abi = artifact(Contract::ChannelManager);
        let event = entries(&abi, "event").find(|entry| entry["name"] == "ChannelCreated").unwrap();
        assert_eq!(format!("ChannelCreated{}", params(event, "inputs", false)), CHANNEL_CREATED);
        let indexed: Vec<bool> =
            event["inputs"].as_array().unwrap().iter().map(|i| i["indexed"].as_bool().unwrap()).collect();
        assert_eq!(indexed, [true, true, false, false], "sender and receiver are the indexed topics");
        // Every custom error of the channel manager, and nothing else, with its parameter names.
        let mut errors: Vec<String> = entries(&abi, "error")
            .map(|entry| format!("{}{}", entry["name"].as_str().unwrap(), params(entry, "inputs", true)))
            .collect();
        errors.sort();
        let mut ours: Vec<String> = ERRORS.iter().map(|error| error.to_string()).collect();
        ours.sort();
        assert_eq!(ours, errors);
    }

    #[test]
    fn calldata_equals_the_generated_bindings() {
        use CustomToken::*;
        use RaidenMicroTransferChannels::*;
        let channel = ChannelId::new(SENDER, RECEIVER, 0x0102_0304);
        let sig = ProofSignature::from_bytes(&[[1u8; 32].as_slice(), &[2u8; 32], &[28]].concat()).unwrap();
        let other = ProofSignature::from_bytes(&[[3u8; 32].as_slice(), &[4u8; 32], &[27]].concat()).unwrap();
        let big = U192::MAX - U192::from(5);
        let cases: Vec<(Bytes, Vec<u8>, Function)> = vec![
            (
                approve(SIGNER, big),
                approveCall { spender: SIGNER, value: U256::from(big) }.abi_encode(),
                Function::Approve,
            ),
            (
                allowance(SENDER, SIGNER),
                allowanceCall { owner: SENDER, spender: SIGNER }.abi_encode(),
                Function::Allowance,
            ),
            (balance_of(SENDER), balanceOfCall { account: SENDER }.abi_encode(), Function::BalanceOf),
            (decimals(), decimalsCall {}.abi_encode(), Function::Decimals),
            (symbol(), symbolCall {}.abi_encode(), Function::Symbol),
            (name(), nameCall {}.abi_encode(), Function::Name),
            (mint(), mintCall {}.abi_encode(), Function::Mint),
            (nonces(SENDER), noncesCall { owner: SENDER }.abi_encode(), Function::Nonces),
            (eip712_domain(), CustomToken::eip712DomainCall {}.abi_encode(), Function::Eip712Domain),
            (
                create_channel_with_signer(RECEIVER, big, SIGNER),
                createChannelWithSignerCall { receiver: RECEIVER, deposit: big, signer: SIGNER }.abi_encode(),
                Function::CreateChannelWithSigner,
            ),
            (
                create_channel_with_permit(RECEIVER, big, SIGNER, U256::from(77), &sig),
                createChannelWithPermitCall {
                    receiver: RECEIVER,
                    deposit: big,
                    signer: SIGNER,
                    deadline: U256::from(77),
                    v: 28,
                    r: B256::repeat_byte(1),
                    s: B256::repeat_byte(2),
                }
                .abi_encode(),
                Function::CreateChannelWithPermit,
            ),
            (
                top_up(&channel, big),
                topUpCall { receiver: RECEIVER, openBlockNumber: 0x0102_0304, addedDeposit: big }
                    .abi_encode(),
                Function::TopUp,
            ),
            (
                cooperative_close(&channel, big, &sig, &other),
                cooperativeCloseCall {
                    sender: SENDER,
                    receiver: RECEIVER,
                    openBlockNumber: 0x0102_0304,
                    balance: big,
                    balanceMsgSig: sig.as_bytes().to_vec().into(),
                    closingSig: other.as_bytes().to_vec().into(),
                }
                .abi_encode(),
                Function::CooperativeClose,
            ),
            (
                uncooperative_close(&channel, big),
                uncooperativeCloseCall { receiver: RECEIVER, openBlockNumber: 0x0102_0304, balance: big }
                    .abi_encode(),
                Function::UncooperativeClose,
            ),
            (
                settle(&channel),
                settleCall { receiver: RECEIVER, openBlockNumber: 0x0102_0304 }.abi_encode(),
                Function::Settle,
            ),
            (token(), tokenCall {}.abi_encode(), Function::Token),
            (
                get_channel_info(&channel),
                getChannelInfoCall { sender: SENDER, receiver: RECEIVER, openBlockNumber: 0x0102_0304 }
                    .abi_encode(),
                Function::GetChannelInfo,
            ),
            (
                get_channel_signer(&channel),
                getChannelSignerCall { sender: SENDER, receiver: RECEIVER, openBlockNumber: 0x0102_0304 }
                    .abi_encode(),
                Function::GetChannelSigner,
            ),
        ];
        assert_eq!(cases.len(), Function::ALL.len(), "every function is checked");
        for (ours, generated, function) in cases {
            assert_eq!(ours[..], generated[..], "{}", function.signature());
            assert_eq!(ours[..4], selector(function.signature()), "{}", function.signature());
        }
    }

    #[test]
    fn cooperative_close_carries_both_65_byte_signatures() {
        let channel = ChannelId::new(SENDER, RECEIVER, 9);
        let domain = uraiden_protocol::channel_manager_domain(31337, SIGNER);
        let key = LocalSigningKey::from_bytes(&B256::repeat_byte(3)).unwrap();
        let balance_sig = key.sign_balance_proof(&domain, &channel.balance_proof(U192::from(8))).unwrap();
        let closing_sig = key.sign_typed_data(&domain, &channel.closing_proof(U192::from(8))).unwrap();
        let call = RaidenMicroTransferChannels::cooperativeCloseCall::abi_decode(&cooperative_close(
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
    fn results_decode_as_the_generated_bindings_encode_them() {
        use CustomToken::*;
        use RaidenMicroTransferChannels::*;
        let big = U192::MAX - U192::from(1);
        let info = getChannelInfoCall::abi_encode_returns(&getChannelInfoReturn {
            key: B256::repeat_byte(0xaa),
            deposit: big,
            settleBlockNumber: u32::MAX,
            closingBalance: U192::from(5),
            withdrawnBalance: U192::from(2),
        });
        assert_eq!(
            decode_channel_info(&info).unwrap(),
            OnChainChannel {
                key: B256::repeat_byte(0xaa),
                deposit: big,
                settle_block_number: u32::MAX,
                closing_balance: U192::from(5),
                withdrawn_balance: U192::from(2),
            }
        );
        assert_eq!(decode_address(&tokenCall::abi_encode_returns(&SIGNER)).unwrap(), SIGNER);
        assert_eq!(
            decode_channel_signer(&getChannelSignerCall::abi_encode_returns(&SIGNER)).unwrap(),
            SIGNER
        );
        assert_eq!(decode_balance(&balanceOfCall::abi_encode_returns(&U256::MAX)).unwrap(), U256::MAX);
        assert_eq!(
            decode_balance(&allowanceCall::abi_encode_returns(&U256::from(7))).unwrap(),
            U256::from(7)
        );
        assert_eq!(decode_nonce(&noncesCall::abi_encode_returns(&U256::from(3))).unwrap(), U256::from(3));
        assert_eq!(decode_decimals(&decimalsCall::abi_encode_returns(&18)).unwrap(), 18);
        let long = "a token name longer than one 32-byte word, ünïcödé";
        assert_eq!(decode_string(&symbolCall::abi_encode_returns(&"TKN".to_owned())).unwrap(), "TKN");
        assert_eq!(decode_string(&nameCall::abi_encode_returns(&long.to_owned())).unwrap(), long);
        assert_eq!(decode_string(&nameCall::abi_encode_returns(&String::new())).unwrap(), "");
        let domain = CustomToken::eip712DomainCall::abi_encode_returns(&CustomToken::eip712DomainReturn {
            fields: alloy_primitives::FixedBytes([0x0f]),
            name: "Token".into(),
            version: "1".into(),
            chainId: U256::from(31337),
            verifyingContract: SIGNER,
            salt: B256::ZERO,
            extensions: vec![U256::from(1), U256::from(2)],
        });
        assert_eq!(
            decode_eip712_domain(&domain).unwrap(),
            TokenDomain {
                fields: 0x0f,
                name: "Token".into(),
                version: "1".into(),
                chain_id: U256::from(31337),
                verifying_contract: SIGNER,
            }
        );
        let event = ChannelCreated { sender: SENDER, receiver: RECEIVER, deposit: big, signer: SIGNER };
        assert_eq!(decode_channel_created(&event.encode_data()).unwrap(), (big, SIGNER));
    }

    #[test]
    fn malformed_results_are_invalid_responses_not_panics() {
        let info = [word(&[0xaa]), word(&[0x03, 0xe8]), word(&[0x64]), word(&[0x05]), word(&[0x02])].concat();
        assert!(decode_channel_info(&info).is_ok());
        for len in 0..info.len() {
            let error = decode_channel_info(&info[..len]).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidResponse);
        }
        let error = decode_channel_info(&[0u8; 64]).unwrap_err();
        assert!(
            error.message().starts_with("getChannelInfo returned undecodable data: 64 bytes"),
            "{}",
            error.message()
        );
        // A deposit above uint192, a block above uint32, an address with high bytes.
        let mut wide = info.clone();
        wide[32] = 1;
        assert!(decode_channel_info(&wide).unwrap_err().message().contains("does not fit a uint192"));
        let mut late = info.clone();
        late[64 + 27] = 1;
        assert!(decode_channel_info(&late).unwrap_err().message().contains("does not fit a uint32"));
        assert_eq!(decode_address(&[0xff; 32]).unwrap_err().kind(), ErrorKind::InvalidResponse);
        assert_eq!(decode_decimals(&word(&[1, 0])).unwrap_err().kind(), ErrorKind::InvalidResponse);
        // Strings whose offset or length points anywhere, or that are not UTF-8.
        let text = |offset: &[u8], len: &[u8], body: &[u8]| [&word(offset)[..], &word(len), body].concat();
        for bad in [
            text(&[0x40], &[3], b"abc"),
            text(&[0x20], &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], b"abc"),
            text(&[0xff; 32], &[3], b"abc"),
            text(&[0xff; 8], &[3], b"abc"),
            text(&[0x20], &[0xff; 8], b"abc"),
            text(&[0x20], &[4], b"abc"),
            text(&[0x20], &[2], &[0xff, 0xfe]),
        ] {
            assert_eq!(decode_string(&bad).unwrap_err().kind(), ErrorKind::InvalidResponse, "{bad:?}");
        }
        assert_eq!(decode_string(&text(&[0x20], &[3], b"abc")).unwrap(), "abc");
        // Any bytes at all: an answer, never a panic.
        let mut state = 0x1234_5678u32;
        for len in 0..300 {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    if state.is_multiple_of(3) {
                        0
                    } else {
                        state as u8
                    }
                })
                .collect();
            let _ = (decode_eip712_domain(&data), decode_string(&data), decode_channel_info(&data));
            let _ = describe_revert(&data);
        }
    }

    #[test]
    fn channel_created_topics_filter_by_sender_and_receiver() {
        let [event, sender, receiver] = channel_created_topics(SENDER, RECEIVER);
        assert_eq!(event, RaidenMicroTransferChannels::ChannelCreated::SIGNATURE_HASH);
        assert_eq!(sender, B256::from(word(SENDER.as_slice())));
        assert_eq!(receiver, B256::from(word(RECEIVER.as_slice())));
        let data = [word(&[100]), word(SIGNER.as_slice())].concat();
        assert_eq!(decode_channel_created(&data).unwrap(), (U192::from(100), SIGNER));
        assert_eq!(decode_channel_created(&data[..32]).unwrap_err().kind(), ErrorKind::InvalidResponse);
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

    /// What the generated bindings' `Debug` says of an error, as the library showed it before.
    fn generated_description(data: &[u8]) -> String {
        let error = RaidenMicroTransferChannels::RaidenMicroTransferChannelsErrors::abi_decode(data).unwrap();
        let debug = format!("{error:?}");
        debug.split_once('(').map_or(debug.clone(), |(_, inner)| inner.trim_end_matches(')').to_owned())
    }

    #[test]
    fn reverts_are_named_with_their_arguments() {
        use RaidenMicroTransferChannels::*;
        let reverts = [
            ZeroTopUp {}.abi_encode(),
            ChannelNotFound { key: B256::repeat_byte(1) }.abi_encode(),
            ChannelClosing { key: B256::repeat_byte(2), settleBlockNumber: 77 }.abi_encode(),
            BalanceExceedsDeposit { balance: U192::MAX, deposit: U192::from(10) }.abi_encode(),
            ChallengePeriodNotOver { settleBlockNumber: 9, currentBlock: U256::MAX }.abi_encode(),
            InvalidBalanceProofSigner { recovered: SIGNER }.abi_encode(),
            TokenSenderMismatch { from: SENDER, channelSender: RECEIVER }.abi_encode(),
            InvalidSignatureV { v: 29 }.abi_encode(),
        ];
        for revert in reverts {
            assert_eq!(describe_revert(&revert).unwrap(), generated_description(&revert));
        }
        assert_eq!(describe_revert(&ZeroTopUp {}.abi_encode()).unwrap(), "ZeroTopUp");
        let not_found = describe_revert(&ChannelNotFound { key: B256::repeat_byte(1) }.abi_encode()).unwrap();
        assert!(not_found.starts_with("ChannelNotFound { key: 0x0101"), "{not_found}");
        let error = |message: &str| UraidenError::new(ErrorKind::Rpc(3), message);
        assert!(is_channel_not_found(&error(&format!("eth_call: reverted (contract error {not_found})"))));
        assert!(!is_channel_not_found(&error("eth_call: reverted (contract error ChannelClosing { … })")));
        assert!(!is_channel_not_found(&error("ChannelNotFoun")));
        let too_long = StringTooLong { str: "x\"y".into() }.abi_encode();
        assert_eq!(describe_revert(&too_long).unwrap(), "StringTooLong { str: \"x\\\"y\" }");
        // Every error the artifact names is known (and its selector unique).
        let selectors: std::collections::HashSet<_> =
            ERRORS.iter().map(|error| keccak256(canonical(error))[..4].to_vec()).collect();
        assert_eq!(selectors.len(), ERRORS.len());
        assert_eq!(describe_revert(&[1, 2, 3, 4]), None);
        assert_eq!(describe_revert(&[1, 2]), None);
        // Truncated arguments: not described (the provider's own message stays).
        assert_eq!(describe_revert(&ChannelNotFound { key: B256::ZERO }.abi_encode()[..20]), None);
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
