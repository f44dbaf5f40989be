//! The µRaiden receiver.
//!
//! - [`cli`]: the command line (the seed's options) and its subcommands.
//!
//! The paywall, channel manager, store and REST API arrive with the receiver issue; today
//! the binary deploys the contracts (`uraiden-server deploy`).

pub mod cli;
