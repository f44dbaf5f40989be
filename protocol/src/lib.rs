#![doc = include_str!("../README.md")]
//!
//! # Modules
//!
//! - `eip712`: the one definition of [`BalanceProof`], [`ClosingProof`], [`CloseRequest`] and
//!   [`StatusRequest`] (`sol!`) and the
//!   channel manager's domain ([`channel_manager_domain`]).
//! - `signature`: [`ProofSignature`], a 65-byte signature the contract accepts, and signer
//!   recovery ([`recover_signer`], [`recover_balance_proof_signer`]).
//! - `recovery`: ECDSA public-key recovery, through libsecp256k1 natively and k256 on wasm32,
//!   tested against each other and alloy.
//! - `signer`: [`LocalSigningKey`], RFC 6979 signing of digests and proofs.
//! - `requests`: [`SignedCloseRequest`] and [`SignedStatusRequest`], what a sender signs *now*
//!   to close cooperatively or to learn its last accepted proof, and the deadline rule
//!   ([`check_request_deadline`]).
//! - `typed_data`: the `eth_signTypedData_v4` JSON a wallet signs.
//! - `json`: [`Json`], a small JSON reader and writer for what senders parse and write (the
//!   browser library links it instead of serde_json).
//! - `channel`: [`ChannelId`], [`ChannelKey`] and token amounts ([`U192`], [`parse_amount`]).
//! - `erc223`: the data of an ERC223 transfer that opens or tops up a channel.
//! - `headers`: the `RDN-*` headers ([`header`] names, [`PaymentHeaders`], [`PaywallInfo`],
//!   [`Refusal`]) and the `Cookie` lines browsers send them in ([`cookie_pairs`]).
//! - `api`: the JSON bodies of the receiver's REST API that sender and receiver parse from
//!   each other ([`CloseRequestBody`], [`ClosingSignatureBody`], [`LastProofBody`],
//!   [`WithdrawBody`]).
//! - `keystore` (cargo feature `keystore`): V3 keystore files, parsed and checked (including
//!   the cost of their key derivation) before anything is derived.
//! - `answer`: how a sender books a receiver's answer to a paid request ([`PaidAnswer`]).
//! - `sender`: the sender's rules for a channel ([`SenderChannel`]), for the native client and
//!   the browser library alike: pay within the deposit, on top of the receiver's count when it
//!   is lower, adopt the receiver's last proof only when it is provably the channel's own.
//! - `x402`: the `uraiden` scheme of x402 v2 (`PAYMENT-REQUIRED`, `PAYMENT-SIGNATURE`,
//!   `PAYMENT-RESPONSE`): the same proof as the `RDN-*` headers carry, in x402's JSON.
//! - `error`: the crate's [`Error`].
//!
//! The crate is pure (no I/O, no async runtime) and builds for `wasm32-unknown-unknown`.
//! The cargo feature `rand` adds `LocalSigningKey::generate()` (getrandom; in the browser
//! `crypto.getRandomValues`); without it the crate needs no randomness. The feature
//! `keystore` adds the `keystore` module (scrypt, PBKDF2, AES-128-CTR), which native tools
//! need to load an account key and the browser build does without.

mod answer;
mod api;
mod channel;
mod eip712;
mod erc223;
mod error;
mod headers;
mod json;
#[cfg(feature = "keystore")]
pub mod keystore;
mod recovery;
mod requests;
mod sender;
mod signature;
mod signer;
mod typed_data;
pub mod x402;

pub use alloy_primitives::{aliases::U192, Address, B256, U256};
pub use alloy_sol_types::{Eip712Domain, SolStruct};
pub use answer::{PaidAnswer, MAX_RATE_LIMIT_RETRIES, MAX_RATE_LIMIT_WAIT_SECS};
pub use api::{BodyError, CloseRequestBody, ClosingSignatureBody, LastProofBody, WithdrawBody};
pub use channel::{parse_amount, ChannelId, ChannelKey};
pub use eip712::{
    channel_manager_domain, eip712_signing_hash, BalanceProof, CloseRequest, ClosingProof, StatusRequest,
    DOMAIN_NAME, DOMAIN_VERSION,
};
pub use erc223::TokenFallbackData;
pub use error::{Error, Result};
pub use headers::{
    cookie_pairs, names as header, parse_address, PaymentHeaders, PaywallInfo, Refusal, DEFAULT_GATEWAY_PATH,
};
pub use json::{Json, JsonError};
pub use requests::{
    check_request_deadline, request_deadline, SignedCloseRequest, SignedStatusRequest,
    MAX_REQUEST_LIFETIME_SECS, REQUEST_LIFETIME_SECS,
};
pub use sender::SenderChannel;
pub use signature::{
    recover_balance_proof_signer, recover_close_request_signer, recover_closing_proof_signer, recover_signer,
    recover_status_request_signer, ProofSignature,
};
pub use signer::LocalSigningKey;
pub use typed_data::{
    balance_proof_typed_data, close_request_typed_data, closing_proof_typed_data, status_request_typed_data,
    typed_data_json,
};
