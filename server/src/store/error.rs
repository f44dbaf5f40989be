//! What can go wrong with the receiver's durable state, whichever database holds it. Messages
//! name the file or database and what to do.

use std::{fmt, io, path::PathBuf};

use super::model::Identity;

/// Which stored state an error is about, as its messages name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreName {
    /// The SQLite state file (`--state-file`).
    File(PathBuf),
    /// A PostgreSQL database (`--database-url`), its URL without the password.
    Database(String),
}

impl StoreName {
    /// The option that chooses another one.
    pub fn option(&self) -> &'static str {
        match self {
            Self::File(_) => "--state-file",
            Self::Database(_) => "--database-url",
        }
    }
}

impl fmt::Display for StoreName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "state file {}", path.display()),
            Self::Database(url) => write!(f, "database {url}"),
        }
    }
}

/// What went wrong with the stored state.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "state file {path} has mode {mode:o}: it holds senders' signatures and must be readable by \
         its owner only; run `chmod 600 {path}`"
    )]
    InsecureMode { path: PathBuf, mode: u32 },
    #[error("state file {path} is in use by another uraiden-server process (lock {lock} is held); stop it or use another --state-file")]
    Locked { path: PathBuf, lock: PathBuf },
    #[error("{store} has schema version {found}, newer than this uraiden-server understands ({supported}); upgrade uraiden-server")]
    NewerSchema { store: StoreName, found: u32, supported: u32 },
    #[error("{store} belongs to {stored}, not to this server's {expected}; use another {}", store.option())]
    IdentityMismatch { store: StoreName, stored: Box<Identity>, expected: Box<Identity> },
    #[error("state file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("state file {path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("{database}: {source}; check that PostgreSQL is running and --database-url is right")]
    Postgres { database: String, source: postgres::Error },
    #[error("{store} already holds a receiver's channels or chain position; migrate into an empty database")]
    NotEmpty { store: StoreName },
    #[error("{store} holds an unreadable value in {what}: {value:?}")]
    Corrupt { store: StoreName, what: &'static str, value: String },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
