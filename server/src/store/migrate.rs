//! `uraiden-server migrate`: moves the state of an SQLite file into an empty PostgreSQL
//! database, so that an operator can go from one instance to several without losing a proof.

use std::path::Path;

use super::{
    error::Result,
    model::{BlockRef, DatabaseUrl},
    postgres::PostgresStore,
    sqlite::SqliteStore,
};

/// What a migration moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Migrated {
    pub channels: usize,
    /// Channels with an accepted proof.
    pub paid_channels: usize,
    pub sync_head: Option<BlockRef>,
}

/// Copies everything in the state file `from` (locked meanwhile: the server must be stopped)
/// into the PostgreSQL database `to`, under the file's identity, in one transaction. Refuses a
/// database that already holds channels or a chain position, or another receiver's identity.
pub fn migrate_to_postgres(from: &Path, to: &DatabaseUrl) -> Result<Migrated> {
    let identity = SqliteStore::stored_identity(from)?;
    let state = SqliteStore::open(from, identity)?.export()?;
    PostgresStore::open(to, identity)?.import(&state)?;
    Ok(Migrated {
        channels: state.channels.len(),
        paid_channels: state.channels.iter().filter(|(record, _)| record.balance_signature.is_some()).count(),
        sync_head: state.sync_head,
    })
}
