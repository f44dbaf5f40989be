//! The objects the library hands to JS: one Rust definition each, from which tsify writes the
//! `.d.ts` declaration and serde builds the object ([`crate::js::to_js`]). Addresses are
//! checksummed `` `0x${string}` ``, amounts `bigint`, block numbers and times `number`.

use alloy_primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};
use tsify::Tsify;
use uraiden_protocol::{ChannelId, ProofSignature, U192};

use crate::{channel::ChannelState, provider::Receipt};

/// A channel as this client knows it.
#[derive(Debug, Tsify, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    #[serde(with = "crate::hex::address")]
    #[tsify(type = "`0x${string}`")]
    pub sender: Address,
    #[serde(with = "crate::hex::address")]
    #[tsify(type = "`0x${string}`")]
    pub receiver: Address,
    pub open_block_number: u32,
    #[serde(with = "crate::amount::bigint")]
    #[tsify(type = "bigint")]
    pub deposit: U192,
    /// The cumulative balance of the last proof signed.
    #[serde(with = "crate::amount::bigint")]
    #[tsify(type = "bigint")]
    pub balance: U192,
    /// The channel's signer on chain: the session key's address, or the sender. When it is a
    /// session key this browser no longer holds (`sessionKey` false: storage was cleared), the
    /// wallet signs instead, as the contract accepts the sender's signatures too.
    #[serde(with = "crate::hex::address")]
    #[tsify(type = "`0x${string}`")]
    pub signer: Address,
    /// Whether proofs are signed in the browser without a wallet prompt.
    pub session_key: bool,
}

impl From<&ChannelState> for Channel {
    fn from(channel: &ChannelState) -> Self {
        Self {
            sender: channel.id.sender,
            receiver: channel.id.receiver,
            open_block_number: channel.id.open_block_number,
            deposit: channel.deposit,
            balance: channel.balance,
            signer: channel.signer(),
            session_key: channel.session_key.is_some(),
        }
    }
}

/// A signed balance proof (`signNewProof`, `incrementBalanceAndSign`), as `setPaymentCookies`
/// takes it back.
#[derive(Debug, Tsify, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedBalanceProof {
    #[serde(with = "crate::hex::address")]
    #[tsify(type = "`0x${string}`")]
    pub sender: Address,
    #[serde(with = "crate::hex::address")]
    #[tsify(type = "`0x${string}`")]
    pub receiver: Address,
    pub open_block_number: u32,
    #[serde(with = "crate::amount::bigint")]
    #[tsify(type = "bigint")]
    pub balance: U192,
    #[serde(with = "crate::hex::signature")]
    #[tsify(type = "string")]
    pub signature: ProofSignature,
}

impl SignedBalanceProof {
    pub fn new(id: &ChannelId, balance: U192, signature: ProofSignature) -> Self {
        Self {
            sender: id.sender,
            receiver: id.receiver,
            open_block_number: id.open_block_number,
            balance,
            signature,
        }
    }
}

/// Where a channel is in its life on chain.
#[derive(Debug, Clone, Copy, Tsify, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelPhase {
    Open,
    /// A close was requested: settled after the challenge period.
    Closing,
    /// Settled (the contract deleted it).
    Settled,
}

/// The current channel as the contract sees it.
#[derive(Debug, Tsify, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OnChainChannelInfo {
    pub state: ChannelPhase,
    #[serde(with = "crate::amount::bigint")]
    #[tsify(type = "bigint")]
    pub deposit: U192,
    pub settle_block_number: u32,
    #[serde(with = "crate::amount::bigint")]
    #[tsify(type = "bigint")]
    pub closing_balance: U192,
    #[serde(with = "crate::amount::bigint")]
    #[tsify(type = "bigint")]
    pub withdrawn_balance: U192,
}

/// The token and the connected account's balance of it.
#[derive(Debug, Tsify, Serialize)]
pub struct TokenInfo {
    #[serde(with = "crate::hex::address")]
    #[tsify(type = "`0x${string}`")]
    pub address: Address,
    pub name: String,
    pub symbol: String,
    pub decimals: u8,
    /// The connected account's balance.
    #[serde(with = "crate::amount::bigint")]
    #[tsify(type = "bigint")]
    pub balance: U256,
}

/// A mined transaction.
#[derive(Debug, Tsify, Serialize)]
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
#[derive(Debug, Tsify, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseResult {
    #[tsify(type = "string")]
    pub transaction_hash: B256,
    pub block_number: u64,
    /// True when closed with the receiver's closing signature (settled at once).
    pub cooperative: bool,
    /// The balance the channel was closed with.
    #[serde(with = "crate::amount::bigint")]
    #[tsify(type = "bigint")]
    pub balance: U192,
    /// Set when `receiverUrl` was given but the receiver refused or was unreachable and the close
    /// fell back to an uncooperative one (`fallbackUncooperative: true`): the receiver's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
}

/// What `syncWithReceiver` learnt from the receiver.
#[derive(Debug, Tsify, Serialize)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub struct ReceiverStatus {
    /// Why the receiver has no last proof to give (`"nonexisting-channel"`,
    /// `"insufficient-confirmations"`), `null` when it answered with it.
    pub reason: Option<&'static str>,
    /// The receiver's last accepted balance, `null` when it did not say.
    #[serde(with = "crate::amount::optional_bigint")]
    #[tsify(type = "bigint | null")]
    pub balance: Option<U192>,
    /// Its proof, `null` before the first payment (or when the receiver did not say).
    #[serde(with = "crate::hex::optional_signature")]
    #[tsify(type = "string | null")]
    pub balance_signature: Option<ProofSignature>,
    /// Whether the channel now continues from that proof (it is ours and differed).
    pub resynced: bool,
}

/// The receiver's co-signature of a cooperative close.
#[derive(Debug, Tsify, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClosingSignature {
    /// The balance both signatures are over: the receiver's last accepted balance.
    #[serde(with = "crate::amount::bigint")]
    #[tsify(type = "bigint")]
    pub balance: U192,
    /// The sender's (or session key's) BalanceProof signature the receiver accepted.
    #[serde(with = "crate::hex::signature")]
    #[tsify(type = "string")]
    pub balance_signature: ProofSignature,
    /// The receiver's ClosingProof signature, verified.
    #[serde(with = "crate::hex::signature")]
    #[tsify(type = "string")]
    pub closing_signature: ProofSignature,
}

/// A channel being opened: its session key was stored before the transaction was sent.
#[derive(Debug, Tsify, Serialize)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub struct PendingChannel {
    #[serde(with = "crate::hex::address")]
    #[tsify(type = "`0x${string}`")]
    pub receiver: Address,
    /// The session key's address: the signer the opening registers.
    #[serde(with = "crate::hex::address")]
    #[tsify(type = "`0x${string}`")]
    pub signer: Address,
    #[serde(with = "crate::amount::bigint")]
    #[tsify(type = "bigint")]
    pub deposit: U192,
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
