//! The µRaiden machine-to-machine sender: pays HTTP 402s over ERC20 payment channels with
//! signed cumulative EIP-712 balance proofs (SPEC §1, seed §4.3.2).
//!
//! - `client`: [`Client`], the account, its node and its channels with one channel manager
//!   (open, find a suitable channel, sync from the chain).
//! - `channel`: [`Channel`], one channel: transfers, top-up, close, settle.
//! - `session`: [`Session`], an HTTP client that pays 402s, with [`SessionHooks`].
//! - `payment_format`: how a payment travels, x402 v2 or the `RDN-*` headers, as the receiver's
//!   402 chooses ([`PaymentFormat`]).
//! - `receiver_api`: the receiver's REST API (cooperative close).
//! - `store`: the JSON state file that keeps channels and proofs across restarts, locked to
//!   one client at a time.
//! - `keys`: loading the sender's key ([`KeySource`]).
//! - [`cli`]: the `uraiden` command line.
//! - `error`: the crate's [`Error`].
//!
//! ```no_run
//! # async fn demo() -> uraiden_client::Result<()> {
//! use uraiden_client::{Client, ClientConfig, KeySource, Session, SessionOptions};
//! let key = KeySource::File { path: "sender.key".into(), password_file: None }.load()?;
//! let client = Client::connect(ClientConfig {
//!     key,
//!     rpc_url: "http://localhost:8545".into(),
//!     channel_manager: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512".parse().unwrap(),
//!     state_file: "uraiden.json".into(),
//!     start_block: 0,
//! })
//! .await?;
//! let session = Session::new(client, SessionOptions::default());
//! let body = session.get("http://localhost:5000/echofix/hello").await?.text().await;
//! # Ok(()) }
//! ```

mod channel;
pub mod cli;
mod client;
mod error;
mod keys;
mod payment_format;
mod receiver_api;
mod session;
mod store;

pub use channel::Channel;
pub use client::{Client, ClientConfig};
pub use error::{Error, Result};
pub use keys::KeySource;
pub use payment_format::PaymentFormat;
pub use receiver_api::{close_via_receiver, request_closing_signature};
pub use session::{DefaultHooks, DepositPolicy, Session, SessionHooks, SessionOptions};
pub use store::{ChannelRecord, ChannelState};
