//! The receiver's durable state: channels, the last accepted balance proof of each (and the
//! best one within each of its recent deposits, for after a reorg takes a top-up away), and
//! how far the chain has been followed. SQLite today (`--state-file`), behind [`Store`]'s few
//! methods so that a PostgreSQL implementation can replace it later.
//!
//! Guarantees:
//! - **An acknowledged payment survives kill -9.** [`Store::record_payments`] returns only
//!   after the transaction is committed to the write-ahead log; with
//!   [`Durability::PowerLoss`] the log is also fsynced, so it survives a power loss too.
//!   The payment's proof is also kept as the best within the channel's deposit in the same
//!   transaction ([`Store::best_proof_within`]).
//! - **One process per file.** [`Store::open`] takes an exclusive lock on `<file>.lock` and
//!   holds it until the store is dropped.
//! - **Nobody else reads the senders' signatures.** The file is created with mode 0600 and an
//!   existing file that the group or others can read is refused.
//! - **A file belongs to one receiver.** Its identity (chain id, channel manager, receiver) is
//!   written at creation and checked at every open.
//! - **Versioned schema.** `schema_version` plus forward-only migrations; a file written by a
//!   newer server is refused rather than misread.
//!
//! Amounts are stored as canonical decimal text: SQLite has no 192-bit integer and
//! PostgreSQL's `NUMERIC` reads the same text. SQL compares them for equality (the
//! compare-and-set of a payment) or, where it must order them, as canonical decimals (a
//! longer one is larger, then as text); arithmetic happens in Rust.
//!
//! - `model`: what is stored, whatever the database: channel records and their states, close
//!   requests, payments to record and their outcomes, and how much history is kept.
//! - `sqlite`: the SQLite file ([`Store`]), its schema and migrations, durability and locking.

mod model;
mod sqlite;

pub(crate) use self::model::unix_now;
pub use self::{
    model::{
        BlockRef, ChannelRecord, ChannelState, CloseRequest, Identity, PaymentToRecord, PaymentWrite,
        KEPT_BLOCKS,
    },
    sqlite::{Durability, Store, StoreError, SCHEMA_VERSION},
};
