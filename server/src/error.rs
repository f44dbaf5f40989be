//! The library's typed errors: what can fail while a receiver is put together and served,
//! each message saying what was wrong and what to do. The command line (`cli.rs`) shows
//! them with their causes. The money core's outcomes (a refused payment, a refused close)
//! live with their rules in `channels`, and the state file's errors with the state file in
//! `store`.

use std::{io, path::PathBuf, time::Duration};

use alloy::{
    primitives::{Address, B256},
    transports::TransportError,
};
use uraiden_protocol::U192;

use crate::{channels::StartError, store::StoreError};

/// Why [`Receiver::start`](crate::Receiver::start) or [`Receiver::run`](crate::Receiver::run)
/// failed.
#[derive(Debug, thiserror::Error)]
pub enum ReceiverError {
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Cors(#[from] CorsError),
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    #[error(
        "cannot {what}: the Ethereum node gave no answer within {timeout:?} (is it running? see \
         --rpc-provider)"
    )]
    NodeSilent { what: &'static str, timeout: Duration },
    #[error("cannot read the chain id from the Ethereum node (is it running? see --rpc-provider)")]
    ChainId(#[source] alloy::transports::TransportError),
    #[error(
        "cannot read token() of channel manager {contract} on chain {chain_id}; check \
         --channel-manager-address and --rpc-provider"
    )]
    Token {
        contract: Address,
        chain_id: u64,
        #[source]
        source: Box<alloy::contract::Error>,
    },
    #[error("starting the channel manager")]
    Start(#[source] StartError),
    #[error("serving HTTP")]
    Serve(#[source] io::Error),
}

/// `--ssl-cert` and `--ssl-key` cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot load the TLS certificate {cert} and key {key} (PEM files expected): {problem}")]
pub struct TlsError {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub problem: TlsProblem,
}

/// What was wrong with the TLS files.
#[derive(Debug, thiserror::Error)]
pub enum TlsProblem {
    #[error(transparent)]
    Pem(#[from] rustls::pki_types::pem::Error),
    #[error(transparent)]
    Rustls(#[from] rustls::Error),
}

/// A `--cors-origin` value is not an origin.
#[derive(Debug, thiserror::Error)]
pub enum CorsError {
    #[error(
        "--cors-origin {origin:?} is not an origin: give scheme://host[:port] without a path, e.g. \
         https://app.example or http://localhost:5173, or * for any origin"
    )]
    NotAnOrigin { origin: String },
    #[error(transparent)]
    HeaderValue(#[from] axum::http::header::InvalidHeaderValue),
}

/// The `--proxy-config` file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("cannot read --proxy-config {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("in --proxy-config {path}")]
    Invalid {
        path: PathBuf,
        #[source]
        source: Box<ProxyError>,
    },
    #[error(transparent)]
    Toml(#[from] toml::de::Error),
    #[error("no [[route]]: add at least one path with its price")]
    NoRoutes,
    #[error("upstream {upstream:?} is not a URL")]
    UpstreamNotUrl {
        upstream: String,
        #[source]
        source: <reqwest::Url as std::str::FromStr>::Err,
    },
    #[error("upstream {upstream:?} must be an http or https URL")]
    UpstreamScheme { upstream: String },
    #[error("building the HTTP client")]
    HttpClient(#[source] reqwest::Error),
    #[error("route path {path:?} must start with /")]
    RelativePath { path: String },
    #[error("price of {path}")]
    Price {
        path: String,
        #[source]
        source: uraiden_protocol::Error,
    },
    #[error("route path {path:?} is not a valid axum pattern or overlaps another")]
    BadPattern { path: String },
}

/// `--chain-name`, `--chain-rpc-url` and `--chain-currency-symbol` do not describe a chain a
/// wallet can add (EIP-3085).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PublicChainError {
    #[error("the chain name is empty; give the name wallets should show, such as Sepolia")]
    EmptyName,
    #[error("the public RPC URL {0:?} is not an http(s) URL")]
    NotHttpUrl(String),
    #[error("the currency symbol {0:?} must have 1 to 6 characters (EIP-3085)")]
    Symbol(String),
}

/// Why a status request (`RDN-Status-*`) gets a 409; the message is the answer's.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StatusRequestError {
    #[error(
        "Malformed status request: {0}. Send RDN-Sender-Address, RDN-Open-Block, RDN-Status-Deadline \
         and RDN-Status-Signature as headers."
    )]
    Malformed(uraiden_protocol::Error),
    #[error("Status request refused: {0}. Nothing was charged; sign a new StatusRequest and retry.")]
    NotAuthorized(uraiden_protocol::Error),
}

/// Why one of the receiver's transactions (a dispute, a settlement, a close, a withdrawal)
/// did not go through. The duty loop retries it; the operator sees the message.
#[derive(Debug, thiserror::Error)]
pub enum TransactionError {
    #[error("estimating the gas: {0}")]
    EstimateGas(TransportError),
    #[error("reading the receiver's nonce: {0}")]
    Nonce(TransportError),
    #[error("estimating the fees: {0}")]
    Fees(TransportError),
    /// The node refused the transaction.
    #[error("{0}")]
    Send(TransportError),
    #[error("transaction {0} reverted")]
    Reverted(B256),
    #[error(
        "nonce {nonce} was taken by another transaction than the versions sent ({sent:?}); the duty is \
         retried"
    )]
    NonceTaken { nonce: u64, sent: Vec<B256> },
    #[error("a receipt without a block")]
    NoBlock,
    #[error("the channel has no accepted proof")]
    NoProof,
    #[error("reading the channel's deposit on chain: {0}")]
    ReadDeposit(alloy::contract::Error),
    #[error("reading the kept proofs: {0}")]
    KeptProofs(StoreError),
    #[error(
        "no accepted proof within the channel's deposit (the last one, {balance}, is above it since a reorg \
         took a top-up away)"
    )]
    NoProofWithinDeposit { balance: U192 },
    #[error("signing the closing proof: {0}")]
    Sign(uraiden_protocol::Error),
}
