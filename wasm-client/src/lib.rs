//! `uraiden-wasm`: the µRaiden sender for the browser, as wasm-bindgen glue over
//! `uraiden-protocol` (all hashing, signing and header parsing live in the shared crate).
//!
//! # Modules
//!
//! - `error`: [`UraidenError`], thrown as a JS `UraidenError extends Error` (`name`, numeric `code`, `message`, `cause`), and the `ErrorCode` enum.
//! - `amount`: JS `bigint` ↔ `uint192`.
//! - `add_chain`: `wallet_addEthereumChain` when the wallet does not know the chain (`create({ chain })`).
//! - `abi`: contract calldata, return data and revert reasons, written out from the Solidity
//!   signatures (each defined once, checked against the forge artifacts), and the JSON-RPC hex codec.
//! - `provider`: the duck-typed EIP-1193 provider and the calls the client makes through it.
//! - `storage`: the `localStorage` records of an account's channels (one per open block, each
//!   with its session key) and of the channels being opened.
//! - `channel`: a channel's off-chain state: balance, deposit, signer; the next proof.
//! - `client`: [`MicroRaiden`], the exported class (`MicroRaiden.create(…)`), and
//!   [`X402Scheme`] (`x402Scheme()`), its `uraiden` scheme client for `@x402/core` apps.
//!   Its `keys` submodule keeps every channel's key: the second-open refusal, the pending
//!   opening matched to its `ChannelCreated` event, `storedChannels` and `pendingChannels`.
//! - `paying_fetch`: `payingFetch`, a `fetch` that pays a 402 once, in x402 or `RDN-*`
//!   headers; what a refusal means.
//! - `queue`: payments of one client one at a time.
//! - `close`: the receiver's cooperative-close API (`closeChannel({ receiverUrl })`).
//! - `discovery`: EIP-6963 `discoverWallets()`.
//! - `navigation`: the payment cookies of a paid page navigation (`setPaymentCookies`).
//! - `permit`: EIP-2612 permits for `openChannel({ method: "permit" })`.
//! - `proof`: stateless `balanceProofTypedData` and `recoverBalanceProofSigner`.
//! - `options`: the option objects JS passes in, and `results`: the objects it gets back; one
//!   Rust definition each, from which tsify writes the `.d.ts`; each reads or writes itself.
//! - `from_js`: reads option objects (`FromJs`), with errors that name the field; `to_js`: builds result
//!   objects; `hex`: addresses (`` `0x${string}` ``) and signatures at the boundary.
//! - `js`: small helpers for duck-typed JS objects.

mod abi;
mod add_chain;
mod amount;
mod channel;
mod client;
mod close;
mod discovery;
mod error;
mod from_js;
mod hex;
mod js;
mod navigation;
mod options;
mod paying_fetch;
mod permit;
mod proof;
mod provider;
mod queue;
mod results;
mod storage;
mod to_js;

pub use client::MicroRaiden;
#[cfg(feature = "x402")]
pub use client::X402Scheme;
pub use discovery::discover_wallets;
pub use error::{ErrorCode, ErrorKind, UraidenError};
pub use navigation::{clear_payment_cookies, has_unsent_payment_cookies, set_payment_cookies};
pub use proof::{balance_proof_typed_data_json, recover_balance_proof_signer_js};
