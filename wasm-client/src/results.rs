//! The objects the library hands to JS: one Rust definition each, from which tsify writes the
//! `.d.ts` declaration, and its writer ([`ToJs`]) under the same names (a signed proof is read
//! back with [`FromJs`]). Addresses are
//! checksummed `` `0x${string}` ``, amounts `bigint`, block numbers and times `number`.

use alloy_primitives::{B256, U256};
use tsify::Tsify;
use uraiden_protocol::{ChannelId, ProofSignature, U192};
use wasm_bindgen::JsValue;

use crate::{
    amount::Amount,
    channel::ChannelState,
    error::Result,
    from_js::{FieldError, FromJs, Object},
    hex::{HexAddress, HexSignature},
    provider::Receipt,
    to_js::{Fields, ToJs},
};

/// A channel as this client knows it.
#[derive(Debug, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    #[tsify(type = "`0x${string}`")]
    pub sender: HexAddress,
    #[tsify(type = "`0x${string}`")]
    pub receiver: HexAddress,
    pub open_block_number: u32,
    #[tsify(type = "bigint")]
    pub deposit: Amount,
    /// The cumulative balance of the last proof signed.
    #[tsify(type = "bigint")]
    pub balance: Amount,
    /// The channel's signer on chain: the session key's address, or the sender. When it is a
    /// session key this browser no longer holds (`sessionKey` false: storage was cleared), the
    /// wallet signs instead, as the contract accepts the sender's signatures too.
    #[tsify(type = "`0x${string}`")]
    pub signer: HexAddress,
    /// Whether proofs are signed in the browser without a wallet prompt.
    pub session_key: bool,
}

impl From<&ChannelState> for Channel {
    fn from(channel: &ChannelState) -> Self {
        Self {
            sender: HexAddress(channel.id.sender),
            receiver: HexAddress(channel.id.receiver),
            open_block_number: channel.id.open_block_number,
            deposit: Amount(channel.deposit),
            balance: Amount(channel.balance),
            signer: HexAddress(channel.signer()),
            session_key: channel.session_key.is_some(),
        }
    }
}

/// A signed balance proof (`signNewProof`, `incrementBalanceAndSign`), as `setPaymentCookies`
/// takes it back.
#[derive(Debug, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct SignedBalanceProof {
    #[tsify(type = "`0x${string}`")]
    pub sender: HexAddress,
    #[tsify(type = "`0x${string}`")]
    pub receiver: HexAddress,
    pub open_block_number: u32,
    #[tsify(type = "bigint")]
    pub balance: Amount,
    #[tsify(type = "string")]
    pub signature: HexSignature,
}

impl FromJs for SignedBalanceProof {
    fn from_js(value: JsValue) -> Result<Self, FieldError> {
        let object = Object::new(value)?;
        Ok(Self {
            sender: object.field("sender")?,
            receiver: object.field("receiver")?,
            open_block_number: object.field("openBlockNumber")?,
            balance: object.field("balance")?,
            signature: object.field("signature")?,
        })
    }
}

impl SignedBalanceProof {
    pub fn new(id: &ChannelId, balance: U192, signature: ProofSignature) -> Self {
        Self {
            sender: HexAddress(id.sender),
            receiver: HexAddress(id.receiver),
            open_block_number: id.open_block_number,
            balance: Amount(balance),
            signature: HexSignature(signature),
        }
    }
}

/// Where a channel is in its life on chain.
#[derive(Debug, Clone, Copy, Tsify)]
#[serde(rename_all = "lowercase")]
pub enum ChannelPhase {
    Open,
    /// A close was requested: settled after the challenge period.
    Closing,
    /// Settled (the contract deleted it).
    Settled,
}

/// The current channel as the contract sees it.
#[derive(Debug, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct OnChainChannelInfo {
    pub state: ChannelPhase,
    #[tsify(type = "bigint")]
    pub deposit: Amount,
    pub settle_block_number: u32,
    #[tsify(type = "bigint")]
    pub closing_balance: Amount,
    #[tsify(type = "bigint")]
    pub withdrawn_balance: Amount,
}

/// The token and the connected account's balance of it.
#[derive(Debug, Tsify)]
pub struct TokenInfo {
    #[tsify(type = "`0x${string}`")]
    pub address: HexAddress,
    pub name: String,
    pub symbol: String,
    pub decimals: u8,
    /// The connected account's balance.
    #[tsify(type = "bigint")]
    pub balance: U256,
}

/// A mined transaction.
#[derive(Debug, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct TransactionResult {
    #[tsify(type = "string")]
    pub transaction_hash: B256,
    pub block_number: u64,
}

impl From<&Receipt> for TransactionResult {
    fn from(receipt: &Receipt) -> Self {
        Self { transaction_hash: receipt.transaction_hash, block_number: receipt.block_number }
    }
}

/// A mined close (a `TransactionResult` with what the close was).
#[derive(Debug, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct CloseResult {
    #[tsify(type = "string")]
    pub transaction_hash: B256,
    pub block_number: u64,
    /// True when closed with the receiver's closing signature (settled at once).
    pub cooperative: bool,
    /// The balance the channel was closed with.
    #[tsify(type = "bigint")]
    pub balance: Amount,
    /// Set when `receiverUrl` was given but the receiver refused or was unreachable and the close
    /// fell back to an uncooperative one (`fallbackUncooperative: true`): the receiver's reason.
    #[tsify(optional)]
    pub fallback_reason: Option<String>,
}

/// What `syncWithReceiver` learnt from the receiver.
#[derive(Debug, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub struct ReceiverStatus {
    /// Why the receiver has no last proof to give (`"nonexisting-channel"`,
    /// `"insufficient-confirmations"`), `null` when it answered with it.
    pub reason: Option<&'static str>,
    /// The receiver's last accepted balance, `null` when it did not say.
    #[tsify(type = "bigint | null")]
    pub balance: Option<Amount>,
    /// Its proof, `null` before the first payment (or when the receiver did not say).
    #[tsify(type = "string | null")]
    pub balance_signature: Option<HexSignature>,
    /// Whether the channel now continues from that proof (it is ours and differed).
    pub resynced: bool,
}

/// The receiver's co-signature of a cooperative close.
#[derive(Debug, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct ClosingSignature {
    /// The balance both signatures are over: the receiver's last accepted balance.
    #[tsify(type = "bigint")]
    pub balance: Amount,
    /// The sender's (or session key's) BalanceProof signature the receiver accepted.
    #[tsify(type = "string")]
    pub balance_signature: HexSignature,
    /// The receiver's ClosingProof signature, verified.
    #[tsify(type = "string")]
    pub closing_signature: HexSignature,
}

/// A channel being opened: its session key was stored before the transaction was sent.
#[derive(Debug, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub struct PendingChannel {
    #[tsify(type = "`0x${string}`")]
    pub receiver: HexAddress,
    /// The session key's address: the signer the opening registers.
    #[tsify(type = "`0x${string}`")]
    pub signer: HexAddress,
    #[tsify(type = "bigint")]
    pub deposit: Amount,
    /// When the opening was stored (Unix milliseconds).
    pub since: u64,
    /// The opening transaction, once the wallet named it.
    #[tsify(type = "string | null")]
    pub transaction_hash: Option<B256>,
    /// No `ChannelCreated` event names this signer although `receiptTimeoutMs` passed: the
    /// transaction was perhaps dropped, or is still waiting. The key is kept (it could still be
    /// mined); the transaction's hash tells where to look.
    pub stale: bool,
}

impl ToJs for Channel {
    fn to_js(&self) -> JsValue {
        Fields::new()
            .field("sender", self.sender.to_js())
            .field("receiver", self.receiver.to_js())
            .field("openBlockNumber", self.open_block_number.to_js())
            .field("deposit", self.deposit.to_js())
            .field("balance", self.balance.to_js())
            .field("signer", self.signer.to_js())
            .field("sessionKey", self.session_key.to_js())
            .build()
    }
}

impl ToJs for SignedBalanceProof {
    fn to_js(&self) -> JsValue {
        Fields::new()
            .field("sender", self.sender.to_js())
            .field("receiver", self.receiver.to_js())
            .field("openBlockNumber", self.open_block_number.to_js())
            .field("balance", self.balance.to_js())
            .field("signature", self.signature.to_js())
            .build()
    }
}

impl ToJs for ChannelPhase {
    fn to_js(&self) -> JsValue {
        JsValue::from_str(match self {
            Self::Open => "open",
            Self::Closing => "closing",
            Self::Settled => "settled",
        })
    }
}

impl ToJs for OnChainChannelInfo {
    fn to_js(&self) -> JsValue {
        Fields::new()
            .field("state", self.state.to_js())
            .field("deposit", self.deposit.to_js())
            .field("settleBlockNumber", self.settle_block_number.to_js())
            .field("closingBalance", self.closing_balance.to_js())
            .field("withdrawnBalance", self.withdrawn_balance.to_js())
            .build()
    }
}

impl ToJs for TokenInfo {
    fn to_js(&self) -> JsValue {
        Fields::new()
            .field("address", self.address.to_js())
            .field("name", self.name.to_js())
            .field("symbol", self.symbol.to_js())
            .field("decimals", self.decimals.to_js())
            .field("balance", self.balance.to_js())
            .build()
    }
}

impl ToJs for TransactionResult {
    fn to_js(&self) -> JsValue {
        Fields::new()
            .field("transactionHash", self.transaction_hash.to_js())
            .field("blockNumber", self.block_number.to_js())
            .build()
    }
}

impl ToJs for CloseResult {
    fn to_js(&self) -> JsValue {
        Fields::new()
            .field("transactionHash", self.transaction_hash.to_js())
            .field("blockNumber", self.block_number.to_js())
            .field("cooperative", self.cooperative.to_js())
            .field("balance", self.balance.to_js())
            .optional("fallbackReason", &self.fallback_reason)
            .build()
    }
}

impl ToJs for ReceiverStatus {
    fn to_js(&self) -> JsValue {
        Fields::new()
            .field("reason", self.reason.to_js())
            .field("balance", self.balance.to_js())
            .field("balanceSignature", self.balance_signature.to_js())
            .field("resynced", self.resynced.to_js())
            .build()
    }
}

impl ToJs for ClosingSignature {
    fn to_js(&self) -> JsValue {
        Fields::new()
            .field("balance", self.balance.to_js())
            .field("balanceSignature", self.balance_signature.to_js())
            .field("closingSignature", self.closing_signature.to_js())
            .build()
    }
}

impl ToJs for PendingChannel {
    fn to_js(&self) -> JsValue {
        Fields::new()
            .field("receiver", self.receiver.to_js())
            .field("signer", self.signer.to_js())
            .field("deposit", self.deposit.to_js())
            .field("since", self.since.to_js())
            .field("transactionHash", self.transaction_hash.to_js())
            .field("stale", self.stale.to_js())
            .build()
    }
}
