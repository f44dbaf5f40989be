//! The receiver's durable state: channels, the last accepted balance proof of each (and the
//! best one within each of its recent deposits, for after a reorg takes a top-up away), and
//! how far the chain has been followed, behind the [`ChannelStore`] trait; SQLite
//! ([`SqliteStore`], `--state-file`) is the embedded implementation.
//!
//! Guarantees:
//! - **An acknowledged payment survives kill -9.** [`ChannelStore::record_payments`] returns only
//!   after the transaction is committed to the write-ahead log; with
//!   [`Durability::PowerLoss`] the log is also fsynced, so it survives a power loss too.
//!   The payment's proof is also kept as the best within the channel's deposit in the same
//!   transaction ([`ChannelStore::best_proof_within`]).
//! - **One process per file.** [`SqliteStore::open`] takes an exclusive lock on `<file>.lock` and
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
//! - `migrate`: moving an SQLite file's state into PostgreSQL ([`migrate_to_postgres`]).
//! - `model`: what is stored, whatever the database: channel records and their states, close
//!   requests, payments to record and their outcomes, and how much history is kept.
//! - `channel_store`: the [`ChannelStore`] and [`ChainBatch`] traits the channel manager uses.
//! - `error`: [`StoreError`], whichever database.
//! - `lease`: which instance leads ([`Leadership`]): the only one with SQLite, the holder of
//!   an advisory lock with PostgreSQL.
//! - `rows`: stored rows as text and bytes, parsed into the model the same way for every
//!   database.
//! - `postgres`: a PostgreSQL database ([`PostgresStore`], `--database-url`) that several
//!   instances share, its schema and migrations.
//! - `sqlite`: the SQLite file ([`SqliteStore`]), its schema and migrations, durability and
//!   locking.

mod channel_store;
#[cfg(test)]
mod contract_tests;
mod error;
mod lease;
mod migrate;
mod model;
mod postgres;
mod rows;
mod sqlite;

pub(crate) use self::model::unix_now;
pub use self::{
    channel_store::{ChainBatch, ChannelStore},
    error::{StoreError, StoreName},
    lease::Leadership,
    migrate::{migrate_to_postgres, Migrated},
    model::{
        BlockRef, ChangeCursor, ChannelRecord, ChannelState, CloseRequest, DatabaseUrl, Identity,
        PaymentToRecord, PaymentWrite, StoreLocation, KEPT_BLOCKS,
    },
    postgres::{PostgresStore, POSTGRES_SCHEMA_VERSION},
    sqlite::{Durability, SqliteStore, SCHEMA_VERSION},
};

/// Opens the state at `location` for the receiver `identity` (`durability`: the SQLite file's;
/// a PostgreSQL commit is flushed by the server): the one place that picks the database.
pub fn open_store(
    location: &StoreLocation,
    identity: Identity,
    durability: Durability,
) -> Result<Box<dyn ChannelStore>, StoreError> {
    Ok(match location {
        StoreLocation::File(path) => Box::new(SqliteStore::open_with_durability(path, identity, durability)?),
        StoreLocation::Database(url) => Box::new(PostgresStore::open(url, identity)?),
    })
}

/// This instance's [`Leadership`] for the state at `location`: alone with a file, contending
/// with the other instances for a database.
pub fn leadership_for(location: &StoreLocation) -> std::io::Result<Leadership> {
    match location {
        StoreLocation::File(_) => Ok(Leadership::alone()),
        StoreLocation::Database(url) => Leadership::contend(url.clone()),
    }
}
