//! The client's [`Error`]: every give-up says what went wrong and what to do next.

use std::path::PathBuf;

use uraiden_protocol::{Address, ChannelId, U192};

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong while paying, managing channels or keeping state.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The account key could not be loaded (the message never contains key material).
    #[error("cannot load the account key: {0}")]
    Key(String),
    /// The Ethereum node could not be reached or answered an error.
    #[error("{action} failed: {reason}")]
    Chain { action: &'static str, reason: String },
    /// A transaction was sent but reverted (or its receipt never came).
    #[error("{action}: the transaction reverted ({reason})")]
    Reverted { action: &'static str, reason: String },
    /// The state file could not be read or written.
    #[error("state file {path}: {reason}")]
    StateFile { path: PathBuf, reason: String },
    /// Another store holds the state file's lock: another `uraiden` process, or another
    /// [`Client`](crate::Client) in this one. Two stores on one file would sign from the same
    /// balance and each overwrite the other's proofs.
    #[error(
        "state file {path} is in use by another uraiden process or Client (lock {lock} is held); \
         wait for it to finish, or use another --state-file"
    )]
    StateFileInUse { path: PathBuf, lock: PathBuf },
    /// A transfer would make the balance exceed the deposit.
    #[error(
        "channel {channel}: a transfer of {value} on top of balance {balance} exceeds the deposit \
         {deposit}; top the channel up first"
    )]
    InsufficientDeposit { channel: ChannelId, balance: U192, value: U192, deposit: U192 },
    /// The account holds fewer tokens than a deposit needs.
    #[error("the account {account} holds {have} tokens but {need} are needed; get tokens first")]
    NotEnoughTokens { account: Address, have: String, need: U192 },
    /// An amount that must be positive was zero.
    #[error("{what} must be greater than 0")]
    ZeroAmount { what: &'static str },
    /// The channel is not in a state that allows the operation.
    #[error("channel {channel} is {state}, so it cannot {operation}")]
    WrongState { channel: ChannelId, state: &'static str, operation: &'static str },
    /// `settle` before the challenge period is over.
    #[error(
        "channel {channel}: the challenge period ends at block {settle_block}; {remaining_blocks} more \
         block(s) must be mined before it can be settled"
    )]
    ChallengePeriodNotOver { channel: ChannelId, settle_block: u64, remaining_blocks: u64 },
    /// A signature from the receiver or in its headers is not what it claims to be.
    #[error("{0}")]
    BadSignature(String),
    /// The receiver's 402 names another contract or chain than this client's.
    #[error(
        "the receiver wants payment through contract {offered} on chain {offered_chain}, but this client \
         uses contract {ours} on chain {our_chain}; refusing to pay"
    )]
    ContractMismatch { ours: Address, our_chain: u64, offered: Address, offered_chain: u64 },
    /// The price is above the configured limit (`--max-price`).
    #[error("the receiver asks {price} per request, above the limit of {limit}; not paying")]
    PriceAboveLimit { price: U192, limit: U192 },
    /// The business-logic hook declined to pay.
    #[error("payment of {price} declined by the session's on_payment_requested hook")]
    PaymentDeclined { price: U192 },
    /// The receiver is rate limiting these requests (429) for longer than a session waits:
    /// nothing was charged, and the channel keeps its last accepted balance.
    #[error(
        "the receiver at {url} is rate limiting these requests (429 Too Many Requests); nothing was \
         charged: retry {}",
        retry_hint(*.retry_after_secs)
    )]
    RateLimited { url: String, retry_after_secs: Option<u64> },
    /// The session stopped retrying.
    #[error("gave up on {url}: {reason}")]
    GaveUp { url: String, reason: String },
    /// The receiver's HTTP answer could not be used.
    #[error("the receiver at {url} answered badly: {reason}")]
    Receiver { url: String, reason: String },
    /// HTTP transport failure.
    #[error("HTTP request to {url} failed: {source}")]
    Http { url: String, source: reqwest::Error },
    /// A header, amount or signature was malformed.
    #[error(transparent)]
    Protocol(#[from] uraiden_protocol::Error),
}

/// When to retry after a 429, for people.
fn retry_hint(retry_after_secs: Option<u64>) -> String {
    retry_after_secs.map_or_else(|| "later".to_owned(), |secs| format!("in {secs} s"))
}

impl Error {
    pub(crate) fn chain(action: &'static str, error: impl std::fmt::Display) -> Self {
        Self::Chain { action, reason: error.to_string() }
    }
}
