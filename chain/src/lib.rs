//! Native access to the deployed µRaiden contracts, shared by the receiver, the M2M client
//! and the end-to-end tests.
//!
//! - [`contracts`]: alloy bindings generated from the committed forge artifacts
//!   (`contracts/artifacts/*.json`), so the ABI has exactly one source.
//! - [`deploy`]: deploys `CustomToken` (unless one is given) and `RaidenMicroTransferChannels`.
//! - [`keys`]: loads an account key from a JSON keystore or a raw hex file, refusing files
//!   that other users could read.
//!
//! Browser code does not use this crate: it talks to the wallet through `uraiden-wasm`.

pub mod contracts;
mod deploy;
mod error;
pub mod keys;

pub use deploy::{deploy, DeployOptions, Deployment};
pub use error::{Error, Result};
