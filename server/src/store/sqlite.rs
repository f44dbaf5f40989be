//! The SQLite state file (`--state-file`): [`SqliteStore`], its schema and forward-only migrations,
//! durability modes, the file's lock and permissions, and the WAL checkpointer.

use std::{
    collections::HashMap,
    fmt,
    fs::{File, OpenOptions},
    io,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc, Arc,
    },
    thread::JoinHandle,
    time::Duration,
};

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};
use uraiden_protocol::{Address, ChannelKey, ProofSignature, U192};

use super::{
    channel_store::{ChainBatch, ChannelStore},
    error::{Result, StoreError, StoreName},
    model::{
        unix_now, BlockRef, ChangeCursor, ChannelRecord, ChannelState, Identity, PaymentToRecord,
        PaymentWrite, KEPT_BLOCKS, KEPT_DEPOSIT_PROOFS,
    },
    rows::{address_text, key_text, to_i64, to_u64, RawChannel, RowSource, StoredState, UndoFields},
};

/// The schema this build writes. Migration `n` (1-based) brings a file from `n - 1` to `n`.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "CREATE TABLE identity (
         id              INTEGER PRIMARY KEY CHECK (id = 1),
         chain_id        INTEGER NOT NULL,
         channel_manager TEXT    NOT NULL,
         receiver        TEXT    NOT NULL,
         created_at      INTEGER NOT NULL
     );
     CREATE TABLE sync_head (
         id           INTEGER PRIMARY KEY CHECK (id = 1),
         block_number INTEGER NOT NULL,
         block_hash   TEXT    NOT NULL
     );
     CREATE TABLE channels (
         channel_key       TEXT    PRIMARY KEY,
         sender            TEXT    NOT NULL,
         open_block        INTEGER NOT NULL,
         deposit           TEXT    NOT NULL,
         signer            TEXT    NOT NULL,
         withdrawn         TEXT    NOT NULL,
         state             TEXT    NOT NULL
             CHECK (state IN ('open', 'close_signed', 'closing', 'close_pending', 'settled')),
         settle_block      INTEGER,
         closing_balance   TEXT,
         settled_balance   TEXT,
         balance           TEXT    NOT NULL,
         balance_signature BLOB,
         created_at        INTEGER NOT NULL,
         updated_at        INTEGER NOT NULL
     );
     CREATE UNIQUE INDEX channels_by_sender ON channels (sender, open_block);",
    // 2: what a rollback after a reorg needs. `on_chain = 0` marks a channel whose creation a
    // reorg undid: its row stays for its last proof, which counts again if the same creation
    // is mined again (same sender and block: the same key). `block_hashes` holds the recent
    // blocks the sync applied, to find the fork point; `channel_undo` the chain fields of a
    // channel before the first event of a block changed them (`deposit IS NULL`: the channel
    // was not on chain before that block). An existing file starts its history at its sync head.
    "ALTER TABLE channels ADD COLUMN on_chain INTEGER NOT NULL DEFAULT 1 CHECK (on_chain IN (0, 1));
     CREATE TABLE block_hashes (
         block_number INTEGER PRIMARY KEY,
         block_hash   TEXT    NOT NULL
     );
     INSERT INTO block_hashes (block_number, block_hash) SELECT block_number, block_hash FROM sync_head;
     CREATE TABLE channel_undo (
         block_number    INTEGER NOT NULL,
         channel_key     TEXT    NOT NULL,
         deposit         TEXT,
         signer          TEXT,
         withdrawn       TEXT,
         state           TEXT,
         settle_block    INTEGER,
         closing_balance TEXT,
         settled_balance TEXT,
         PRIMARY KEY (block_number, channel_key)
     );",
    // 3: the best proof within each deposit a channel had when payments were accepted, so that
    // a reorg that takes a top-up away leaves a proof the contract still takes (see
    // `ChannelStore::best_proof_within`). An existing file starts with each channel's last proof.
    "CREATE TABLE deposit_proofs (
         channel_key TEXT NOT NULL,
         deposit     TEXT NOT NULL,
         balance     TEXT NOT NULL,
         signature   BLOB NOT NULL,
         PRIMARY KEY (channel_key, deposit)
     );
     INSERT INTO deposit_proofs (channel_key, deposit, balance, signature)
         SELECT channel_key, deposit, balance, balance_signature FROM channels
         WHERE balance_signature IS NOT NULL;",
];

/// What an acknowledged payment survives (`--durability`). Both modes run SQLite in WAL mode;
/// they differ in whether a commit waits for the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Durability {
    /// kill -9, panics, OOM kills (SPEC §5: "kill -9 loses no accepted payment"):
    /// `synchronous = NORMAL`. A commit returns once the transaction is written to the WAL
    /// file, i.e. in the OS page cache, which belongs to the kernel and outlives the process;
    /// only a power loss or kernel crash before the OS writes it back can lose it.
    #[default]
    ProcessCrash,
    /// Also power loss and kernel crashes: `synchronous = FULL`, an fsync of the WAL per
    /// commit (0.35–3.5 ms on the reference disk; payments that arrive together share one).
    PowerLoss,
}

impl Durability {
    /// The SQLite `synchronous` setting that gives this guarantee under WAL.
    const fn synchronous(self) -> &'static str {
        match self {
            Self::ProcessCrash => "NORMAL",
            Self::PowerLoss => "FULL",
        }
    }
}

/// The SQLite state file, open and locked. Not `Sync`: callers share it behind a mutex and
/// use it from blocking threads (every write waits for fsync).
pub struct SqliteStore {
    // First, so that its thread and connection are gone before the writer's connection
    // closes (the last connection to close checkpoints and removes the WAL).
    _checkpointer: Checkpointer,
    connection: Connection,
    /// Set by the checkpointer once it has copied the whole WAL, cleared by the next commit
    /// of payments: the next write then starts the WAL over, and SQLite fsyncs its header
    /// even with `synchronous = NORMAL`, so that write is no "commit in memory".
    wal_copied: Arc<AtomicBool>,
    durability: Durability,
    file: FileContext,
    identity: Identity,
    // Held for its lock: released when the store is dropped.
    _lock: File,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.file.path)
            .field("identity", &self.identity)
            .finish()
    }
}

impl SqliteStore {
    /// [`SqliteStore::open_with_durability`] with the default [`Durability::ProcessCrash`].
    pub fn open(path: &Path, identity: Identity) -> Result<Self> {
        Self::open_with_durability(path, identity, Durability::default())
    }

    /// Opens (creating if needed, mode 0600) and locks the state file, migrates it to
    /// [`SCHEMA_VERSION`], and checks (or, for a new file, records) its identity. Every commit
    /// of this store gives `durability`.
    pub fn open_with_durability(path: &Path, identity: Identity, durability: Durability) -> Result<Self> {
        let io_error = |source| StoreError::Io { path: path.to_owned(), source };
        match std::fs::metadata(path) {
            Ok(metadata) => check_private(path, metadata.permissions().mode())?,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                // Created here, not by SQLite, so that it is private from its first byte.
                OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io_error)?;
            }
            Err(error) => return Err(io_error(error)),
        }

        // A separate lock file: SQLite's own POSIX locks on the database would be dropped by
        // the kernel whenever any other descriptor of that file in this process is closed.
        let lock_path = lock_path_of(path);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|source| StoreError::Io { path: lock_path.clone(), source })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked { path: path.to_owned(), lock: lock_path });
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(StoreError::Io { path: lock_path, source })
            }
        }

        let sqlite = |source| StoreError::Sqlite { path: path.to_owned(), source };
        let mut connection = Connection::open(path).map_err(sqlite)?;
        // WAL: readers never block the writer, and a commit is one sequential append that is
        // in the OS page cache when it returns: that alone survives kill -9. FULL adds an
        // fsync per commit for power loss (see `Durability`; `commit_time_per_payment`
        // measures both).
        connection.pragma_update(None, "journal_mode", "WAL").map_err(sqlite)?;
        connection.pragma_update(None, "synchronous", durability.synchronous()).map_err(sqlite)?;
        connection.pragma_update(None, "foreign_keys", "ON").map_err(sqlite)?;
        // No checkpoint inside a commit: the commit that crossed 1,000 WAL pages used to copy
        // the WAL into the database and fsync it (even with NORMAL), a stall of milliseconds
        // for that payment. The checkpointer thread does it on its own connection instead.
        connection.pragma_update(None, "wal_autocheckpoint", 0).map_err(sqlite)?;
        connection.busy_timeout(WRITER_BUSY_TIMEOUT).map_err(sqlite)?;

        migrate(&mut connection, path)?;
        let wal_copied = Arc::new(AtomicBool::new(false));
        let checkpointer = Checkpointer::start(path, durability, Arc::clone(&wal_copied))?;
        let mut store = Self {
            _checkpointer: checkpointer,
            connection,
            wal_copied,
            durability,
            file: FileContext { path: path.to_owned(), receiver: identity.receiver },
            identity,
            _lock: lock,
        };
        store.check_identity()?;
        Ok(store)
    }

    /// The file this store writes.
    pub fn path(&self) -> &Path {
        &self.file.path
    }

    /// The identity recorded in the state file at `path`, read without opening it for writing
    /// (what `uraiden-server migrate` moves the file's state under).
    pub fn stored_identity(path: &Path) -> Result<Identity> {
        let file = FileContext { path: path.to_owned(), receiver: Address::ZERO };
        let sqlite = |source| file.sqlite(source);
        let connection =
            Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sqlite)?;
        let (chain_id, channel_manager, receiver) = connection
            .query_row("SELECT chain_id, channel_manager, receiver FROM identity WHERE id = 1", [], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?))
            })
            .map_err(sqlite)?;
        let address = |what, text: String| text.parse::<Address>().map_err(|_| file.corrupt(what, text));
        Ok(Identity {
            chain_id: to_u64(chain_id),
            channel_manager: address("identity.channel_manager", channel_manager)?,
            receiver: address("identity.receiver", receiver)?,
        })
    }

    /// Everything this file holds, for moving it to another database.
    pub(super) fn export(&mut self) -> Result<StoredState> {
        let sync_head = self.sync_head()?;
        let block_hashes = self.block_history()?;
        let (channels, _) = self.channels_changed_since(ChangeCursor::START)?;
        let file = self.file.clone();
        let sqlite = |source| file.sqlite(source);
        let mut undo = Vec::new();
        {
            let mut statement = self
                .connection
                .prepare(
                    "SELECT channel_key, deposit, signer, withdrawn, state, settle_block, closing_balance,
                         settled_balance, block_number
                     FROM channel_undo ORDER BY block_number",
                )
                .map_err(sqlite)?;
            let rows = statement
                .query_map([], |row| Ok((to_u64(row.get(8)?), undo_fields(row)?)))
                .map_err(sqlite)?;
            for row in rows {
                let (block, (key, fields)) = row.map_err(sqlite)?;
                undo.push((block, key, fields));
            }
        }
        let mut statement = self
            .connection
            .prepare("SELECT channel_key, deposit, balance, signature FROM deposit_proofs")
            .map_err(sqlite)?;
        let deposit_proofs = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
            .map_err(sqlite)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sqlite)?;
        Ok(StoredState { sync_head, block_hashes, channels, undo, deposit_proofs })
    }

    fn check_identity(&mut self) -> Result<()> {
        let stored = self
            .connection
            .query_row("SELECT chain_id, channel_manager, receiver FROM identity WHERE id = 1", [], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?))
            })
            .optional()
            .map_err(|e| self.sqlite(e))?;
        let Some((chain_id, channel_manager, receiver)) = stored else {
            self.connection
                .execute(
                    "INSERT INTO identity (id, chain_id, channel_manager, receiver, created_at) VALUES (1, ?1, ?2, ?3, ?4)",
                    params![
                        to_i64(self.identity.chain_id),
                        address_text(self.identity.channel_manager),
                        address_text(self.identity.receiver),
                        to_i64(unix_now())
                    ],
                )
                .map_err(|e| self.sqlite(e))?;
            return Ok(());
        };
        let stored = Identity {
            chain_id: to_u64(chain_id),
            channel_manager: self.parse_address("identity.channel_manager", channel_manager)?,
            receiver: self.parse_address("identity.receiver", receiver)?,
        };
        if stored != self.identity {
            return Err(StoreError::IdentityMismatch {
                store: StoreName::File(self.file.path.clone()),
                stored: Box::new(stored),
                expected: Box::new(self.identity),
            });
        }
        Ok(())
    }

    fn parse_address(&self, what: &'static str, text: String) -> Result<Address> {
        text.parse().map_err(|_| self.corrupt(what, text))
    }

    fn sqlite(&self, source: rusqlite::Error) -> StoreError {
        self.file.sqlite(source)
    }

    fn corrupt(&self, what: &'static str, value: String) -> StoreError {
        self.file.corrupt(what, value)
    }
}

impl ChannelStore for SqliteStore {
    fn identity(&self) -> Identity {
        self.identity
    }

    fn sync_head(&mut self) -> Result<Option<BlockRef>> {
        self.connection
            .query_row("SELECT block_number, block_hash FROM sync_head WHERE id = 1", [], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })
            .optional()
            .map_err(|source| self.sqlite(source))?
            .map(|(number, hash)| {
                Ok(BlockRef {
                    number: to_u64(number),
                    hash: hash.parse().map_err(|_| self.corrupt("sync_head.block_hash", hash))?,
                })
            })
            .transpose()
    }

    fn load_channels(&mut self) -> Result<Vec<ChannelRecord>> {
        let mut statement = self
            .connection
            .prepare(&format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE on_chain = 1"))
            .map_err(|e| self.sqlite(e))?;
        let rows = statement.query_map([], raw_channel).map_err(|e| self.sqlite(e))?;
        rows.map(|row| row.map_err(|e| self.sqlite(e)).and_then(|raw| raw.into_record(&self.file))).collect()
    }

    fn channel(&mut self, key: ChannelKey) -> Result<Option<ChannelRecord>> {
        read_channel(&self.connection, key, &self.file, OnChain::Yes)
    }

    fn channels_changed_since(
        &mut self,
        cursor: ChangeCursor,
    ) -> Result<(Vec<(ChannelRecord, bool)>, ChangeCursor)> {
        // One process writes the file, and a write is committed before this read can start:
        // the time of the writes is enough (a second of overlap for writes in the same second).
        let next = ChangeCursor(unix_now().saturating_sub(1));
        let mut statement = self
            .connection
            .prepare(&format!("SELECT {CHANNEL_COLUMNS}, on_chain FROM channels WHERE updated_at >= ?1"))
            .map_err(|e| self.sqlite(e))?;
        let rows = statement
            .query_map([to_i64(cursor.0)], |row| Ok((raw_channel(row)?, row.get::<_, i64>(13)? == 1)))
            .map_err(|e| self.sqlite(e))?;
        let changed = rows
            .map(|row| {
                let (raw, on_chain) = row.map_err(|e| self.sqlite(e))?;
                Ok((raw.into_record(&self.file)?, on_chain))
            })
            .collect::<Result<_>>()?;
        Ok((changed, next))
    }

    fn block_history(&mut self) -> Result<Vec<BlockRef>> {
        let mut statement = self
            .connection
            .prepare("SELECT block_number, block_hash FROM block_hashes ORDER BY block_number DESC")
            .map_err(|e| self.sqlite(e))?;
        let rows = statement
            .query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)))
            .map_err(|e| self.sqlite(e))?;
        rows.map(|row| {
            let (number, hash) = row.map_err(|e| self.sqlite(e))?;
            Ok(BlockRef {
                number: to_u64(number),
                hash: hash.parse().map_err(|_| self.corrupt("block_hashes.block_hash", hash))?,
            })
        })
        .collect()
    }

    fn record_payments(&mut self, payments: &[PaymentToRecord]) -> Result<Vec<PaymentWrite>> {
        let file = &self.file;
        let sqlite = |source| file.sqlite(source);
        let now = to_i64(unix_now());
        // Dropped without commit (any error below), the transaction rolls back: all or nothing.
        let transaction = self.connection.transaction().map_err(sqlite)?;
        let mut writes = Vec::with_capacity(payments.len());
        {
            let mut update = transaction
                .prepare_cached(
                    // Amounts are canonical decimals: a longer one is larger, and of equal
                    // length they compare as text. A proof above the deposit (lowered since it
                    // was checked, by a reorg's rollback) could not be claimed on chain.
                    "UPDATE channels SET balance = ?1, balance_signature = ?2, updated_at = ?3
                     WHERE channel_key = ?4 AND balance = ?5 AND state = 'open' AND on_chain = 1
                       AND (length(deposit) > length(?1) OR (length(deposit) = length(?1) AND deposit >= ?1))",
                )
                .map_err(sqlite)?;
            // The channel's best proof within its current deposit: the payment just recorded
            // (balances only grow), in the same transaction as the last proof.
            let mut keep_best = transaction
                .prepare_cached(
                    "INSERT INTO deposit_proofs (channel_key, deposit, balance, signature)
                     SELECT channel_key, deposit, balance, balance_signature FROM channels
                     WHERE channel_key = ?1
                     ON CONFLICT (channel_key, deposit) DO UPDATE SET
                         balance = excluded.balance, signature = excluded.signature",
                )
                .map_err(sqlite)?;
            for payment in payments {
                let changed = update
                    .execute(params![
                        payment.balance.to_string(),
                        payment.signature.as_bytes().as_slice(),
                        now,
                        key_text(payment.key),
                        payment.previous.to_string(),
                    ])
                    .map_err(sqlite)?;
                writes.push(if changed == 1 {
                    keep_best.execute([key_text(payment.key)]).map_err(sqlite)?;
                    PaymentWrite::Recorded
                } else {
                    // As this transaction sees it, earlier payments of the batch included.
                    let now = read_channel(&transaction, payment.key, file, OnChain::Yes)?;
                    PaymentWrite::Conflict(now.map(Box::new))
                });
            }
        }
        transaction.commit().map_err(sqlite)?;
        // Whatever the checkpointer copied, the WAL goes on from this commit's frames.
        self.wal_copied.store(false, Ordering::Release);
        Ok(writes)
    }

    fn commits_in_memory(&self) -> bool {
        self.durability == Durability::ProcessCrash
    }

    fn record_payments_without_waiting(
        &mut self,
        payments: &[PaymentToRecord],
    ) -> Result<Option<Vec<PaymentWrite>>> {
        // A commit that fsyncs is never "without waiting".
        if !self.commits_in_memory() {
            return Ok(None);
        }
        // The WAL copied whole: this write would start it over and fsync its header; the
        // writer's thread pays that (and clears the flag). Best effort: a checkpoint that
        // ends between this check and the write costs one fsync here.
        if self.wal_copied.load(Ordering::Acquire) {
            return Ok(None);
        }
        // Another connection holding the write lock (the checkpointer's RESTART, which waits
        // up to its own busy timeout for readers of the WAL while it holds it, or anyone's
        // `sqlite3` on the file) makes a write fail at once with SQLITE_BUSY instead of
        // sleeping through the busy timeout; the transaction is then rolled back.
        if self.connection.busy_timeout(Duration::ZERO).is_err() {
            return Ok(None);
        }
        let written = self.record_payments(payments);
        // Restored whatever the commit did: a committed payment must be reported as such.
        if let Err(error) = self.connection.busy_timeout(WRITER_BUSY_TIMEOUT) {
            tracing::warn!(%error, "restoring the state file's busy timeout failed");
        }
        match written {
            Err(StoreError::Sqlite { source: rusqlite::Error::SqliteFailure(error, _), .. })
                if error.code == rusqlite::ErrorCode::DatabaseBusy =>
            {
                Ok(None)
            }
            written => written.map(Some),
        }
    }

    fn best_proof_within(
        &mut self,
        key: ChannelKey,
        deposit: U192,
    ) -> Result<Option<(U192, ProofSignature)>> {
        let mut statement = self
            .connection
            .prepare_cached("SELECT balance, signature FROM deposit_proofs WHERE channel_key = ?1")
            .map_err(|e| self.sqlite(e))?;
        let rows = statement
            .query_map([key_text(key)], |row| Ok((row.get::<_, String>(0)?, row.get::<_, Vec<u8>>(1)?)))
            .map_err(|e| self.sqlite(e))?;
        let mut best: Option<(U192, ProofSignature)> = None;
        for row in rows {
            let (balance, signature) = row.map_err(|e| self.sqlite(e))?;
            let balance: U192 =
                balance.parse().map_err(|_| self.corrupt("deposit_proofs.balance", balance.clone()))?;
            let signature = ProofSignature::from_bytes(&signature).map_err(|_| {
                self.corrupt("deposit_proofs.signature", format!("{} bytes", signature.len()))
            })?;
            if balance <= deposit && best.is_none_or(|(best, _)| balance > best) {
                best = Some((balance, signature));
            }
        }
        Ok(best)
    }

    fn mark_close_signed(&mut self, key: ChannelKey, balance: U192) -> Result<bool> {
        let changed = self
            .connection
            .execute(
                "UPDATE channels SET state = 'close_signed', updated_at = ?1
                 WHERE channel_key = ?2 AND balance = ?3 AND state IN ('open', 'close_signed')
                     AND on_chain = 1",
                params![to_i64(unix_now()), key_text(key), balance.to_string()],
            )
            .map_err(|e| self.sqlite(e))?;
        Ok(changed == 1)
    }

    fn set_state(&mut self, key: ChannelKey, state: ChannelState) -> Result<()> {
        self.connection
            .execute(
                "UPDATE channels SET state = ?1, updated_at = ?2
                 WHERE channel_key = ?3 AND state != 'settled' AND on_chain = 1",
                params![state.as_str(), to_i64(unix_now()), key_text(key)],
            )
            .map_err(|e| self.sqlite(e))?;
        Ok(())
    }

    fn chain_batch(&mut self) -> Result<Box<dyn ChainBatch + '_>> {
        let file = self.file.clone();
        let transaction = self.connection.transaction().map_err(|source| file.sqlite(source))?;
        Ok(Box::new(SqliteChainBatch { transaction, file }))
    }
}

/// [`ChainBatch`] in one SQLite transaction.
#[derive(Debug)]
struct SqliteChainBatch<'a> {
    transaction: Transaction<'a>,
    file: FileContext,
}

impl ChainBatch for SqliteChainBatch<'_> {
    fn channel(&mut self, key: ChannelKey) -> Result<Option<ChannelRecord>> {
        read_channel(&self.transaction, key, &self.file, OnChain::Yes)
    }

    fn remains(&mut self, key: ChannelKey) -> Result<Option<ChannelRecord>> {
        read_channel(&self.transaction, key, &self.file, OnChain::No)
    }

    fn record_undo(&mut self, block: u64, key: ChannelKey, before: Option<&ChannelRecord>) -> Result<()> {
        self.transaction
            .execute(
                "INSERT OR IGNORE INTO channel_undo (block_number, channel_key, deposit, signer, withdrawn,
                     state, settle_block, closing_balance, settled_balance)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    to_i64(block),
                    key_text(key),
                    before.map(|record| record.deposit.to_string()),
                    before.map(|record| address_text(record.signer)),
                    before.map(|record| record.withdrawn.to_string()),
                    before.map(|record| record.state.as_str()),
                    before
                        .and_then(|record| record.close_request)
                        .map(|request| to_i64(request.settle_block)),
                    before.and_then(|record| record.close_request).map(|request| request.balance.to_string()),
                    before.and_then(|record| record.settled_balance).map(|balance| balance.to_string()),
                ],
            )
            .map_err(|source| self.file.sqlite(source))?;
        Ok(())
    }

    fn roll_back_after(&mut self, fork: u64) -> Result<Vec<ChannelKey>> {
        let file = self.file.clone();
        let sqlite = |source| file.sqlite(source);
        let mut earliest: HashMap<String, Option<UndoFields>> = HashMap::new();
        {
            let mut statement = self
                .transaction
                .prepare(
                    "SELECT channel_key, deposit, signer, withdrawn, state, settle_block, closing_balance,
                         settled_balance
                     FROM channel_undo WHERE block_number > ?1 ORDER BY block_number",
                )
                .map_err(sqlite)?;
            let rows = statement.query_map([to_i64(fork)], undo_fields).map_err(sqlite)?;
            for row in rows {
                let (key, fields) = row.map_err(sqlite)?;
                // The first image after the fork is the channel as it was at the fork.
                earliest.entry(key).or_insert(fields);
            }
        }
        let mut changed = Vec::with_capacity(earliest.len());
        for (key_text, before) in earliest {
            let key = ChannelKey(
                key_text
                    .parse()
                    .map_err(|_| self.file.corrupt("channel_undo.channel_key", key_text.clone()))?,
            );
            match before {
                None => {
                    self.transaction
                        .execute(
                            "UPDATE channels SET on_chain = 0, updated_at = ?1 WHERE channel_key = ?2",
                            params![to_i64(unix_now()), key_text],
                        )
                        .map_err(sqlite)?;
                }
                Some(before) => {
                    let Some(current) = read_channel(&self.transaction, key, &self.file, OnChain::Any)?
                    else {
                        return Err(self.file.corrupt("channel_undo.channel_key", key_text));
                    };
                    self.save_chain_fields(&before.restore(current, &file)?)?;
                }
            }
            changed.push(key);
        }
        self.transaction
            .execute("DELETE FROM channel_undo WHERE block_number > ?1", [to_i64(fork)])
            .map_err(sqlite)?;
        self.transaction
            .execute("DELETE FROM block_hashes WHERE block_number > ?1", [to_i64(fork)])
            .map_err(sqlite)?;
        Ok(changed)
    }

    fn forget_chain(&mut self) -> Result<Vec<ChannelKey>> {
        let sqlite = |source| self.file.sqlite(source);
        let keys = {
            let mut statement = self
                .transaction
                .prepare("SELECT channel_key FROM channels WHERE on_chain = 1")
                .map_err(sqlite)?;
            let rows = statement.query_map([], |row| row.get::<_, String>(0)).map_err(sqlite)?;
            rows.map(|row| {
                let text = row.map_err(sqlite)?;
                text.parse().map(ChannelKey).map_err(|_| self.file.corrupt("channels.channel_key", text))
            })
            .collect::<Result<Vec<_>>>()?
        };
        self.transaction
            .execute(
                "UPDATE channels SET on_chain = 0, updated_at = ?1 WHERE on_chain = 1",
                [to_i64(unix_now())],
            )
            .map_err(sqlite)?;
        self.transaction.execute("DELETE FROM channel_undo", []).map_err(sqlite)?;
        self.transaction.execute("DELETE FROM block_hashes", []).map_err(sqlite)?;
        Ok(keys)
    }

    fn save_chain_fields(&mut self, record: &ChannelRecord) -> Result<()> {
        self.transaction
            .execute(
                "INSERT INTO channels (channel_key, sender, open_block, deposit, signer, withdrawn, state,
                     settle_block, closing_balance, settled_balance, balance, balance_signature,
                     created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                 ON CONFLICT (channel_key) DO UPDATE SET
                     deposit = excluded.deposit, signer = excluded.signer, withdrawn = excluded.withdrawn,
                     state = excluded.state, settle_block = excluded.settle_block,
                     closing_balance = excluded.closing_balance, settled_balance = excluded.settled_balance,
                     updated_at = excluded.updated_at, on_chain = 1",
                params![
                    key_text(record.key()),
                    address_text(record.id.sender),
                    record.id.open_block_number,
                    record.deposit.to_string(),
                    address_text(record.signer),
                    record.withdrawn.to_string(),
                    record.state.as_str(),
                    record.close_request.map(|request| to_i64(request.settle_block)),
                    record.close_request.map(|request| request.balance.to_string()),
                    record.settled_balance.map(|balance| balance.to_string()),
                    record.balance.to_string(),
                    record.balance_signature.map(|signature| signature.as_bytes().to_vec()),
                    to_i64(record.created_at),
                    to_i64(unix_now()),
                ],
            )
            .map_err(|source| self.file.sqlite(source))?;
        // A new deposit may start a new best proof: keep the last few (see
        // `KEPT_DEPOSIT_PROOFS`), the ones with the highest balances.
        self.transaction
            .execute(
                "DELETE FROM deposit_proofs WHERE channel_key = ?1 AND deposit NOT IN (
                     SELECT deposit FROM deposit_proofs WHERE channel_key = ?1
                     ORDER BY length(balance) DESC, balance DESC LIMIT ?2)",
                params![key_text(record.key()), KEPT_DEPOSIT_PROOFS as i64],
            )
            .map_err(|source| self.file.sqlite(source))?;
        Ok(())
    }

    fn commit(self: Box<Self>, head: BlockRef) -> Result<()> {
        let sqlite = |source| self.file.sqlite(source);
        let (number, hash) = (to_i64(head.number), head.hash.to_string());
        self.transaction
            .execute(
                "INSERT INTO sync_head (id, block_number, block_hash) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET block_number = excluded.block_number, block_hash = excluded.block_hash",
                params![number, hash],
            )
            .map_err(sqlite)?;
        self.transaction
            .execute(
                "INSERT OR REPLACE INTO block_hashes (block_number, block_hash) VALUES (?1, ?2)",
                params![number, hash],
            )
            .map_err(sqlite)?;
        self.transaction
            .execute(
                "DELETE FROM block_hashes WHERE block_number < ?1",
                [to_i64(head.number.saturating_sub(KEPT_BLOCKS))],
            )
            .map_err(sqlite)?;
        // Undo information at or below the oldest kept hash is never needed: no rollback goes
        // below a block whose hash is known.
        self.transaction
            .execute(
                "DELETE FROM channel_undo WHERE block_number <= (SELECT MIN(block_number) FROM block_hashes)",
                [],
            )
            .map_err(sqlite)?;
        self.transaction.commit().map_err(sqlite)
    }
}

/// How often the checkpointer copies the WAL into the database (PASSIVE: it never waits for
/// the writer and never makes it wait).
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);

/// WAL frames (pages) beyond which the checkpointer also RESTARTs the WAL. Under constant
/// load a PASSIVE checkpoint may never find a moment when the whole WAL is copied, and the
/// WAL would then grow without bound; a RESTART waits for that moment (briefly holding off
/// the writer, which waits through its busy timeout) so that the next commit writes from the
/// start of the file again. 4,000 pages of 4 KiB: about 16 MB of WAL.
const WAL_RESTART_FRAMES: i64 = 4_000;

/// How long a commit on the writer's connection waits for another connection's write lock
/// (rusqlite's default, set explicitly because
/// [`record_payments_without_waiting`](SqliteStore::record_payments_without_waiting) restores
/// it).
const WRITER_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the checkpointer's RESTART waits for the writer before giving up until the next
/// round.
const CHECKPOINT_BUSY_TIMEOUT: Duration = Duration::from_millis(200);

/// The background checkpointer: a thread with its own connection to the state file that
/// checkpoints the WAL every [`CHECKPOINT_INTERVAL`], so that no payment commit runs one
/// (the writer's connection has `wal_autocheckpoint = 0`). Durability is unaffected: a
/// commit is durable once in the WAL (fsynced with `--durability power-loss`), and a
/// checkpoint fsyncs the WAL before copying it and the database after. Dropping it stops
/// and joins the thread.
struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path, durability: Durability, wal_copied: Arc<AtomicBool>) -> Result<Self> {
        let sqlite = |source| StoreError::Sqlite { path: path.to_owned(), source };
        let connection = Connection::open(path).map_err(sqlite)?;
        connection.pragma_update(None, "synchronous", durability.synchronous()).map_err(sqlite)?;
        connection.busy_timeout(CHECKPOINT_BUSY_TIMEOUT).map_err(sqlite)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("uraiden-checkpoint".into())
            .spawn(move || {
                // Runs until the store drops its sender.
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_INTERVAL) {
                    checkpoint(&connection, &wal_copied);
                }
            })
            .map_err(|source| StoreError::Io { path: path.to_owned(), source })?;
        Ok(Self { stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // A checkpoint in progress finishes first (bounded by the busy timeout and the
            // copy itself).
            let _ = thread.join();
        }
    }
}

/// One round of the checkpointer: PASSIVE, then RESTART if the WAL has grown too long. Sets
/// `wal_copied` when no frame is left to copy (the next write starts the WAL over).
fn checkpoint(connection: &Connection, wal_copied: &AtomicBool) {
    let run = |mode: &str| {
        connection.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
        })
    };
    match run("PASSIVE") {
        Ok((_, frames, _)) if frames > WAL_RESTART_FRAMES => match run("RESTART") {
            Ok((0, _, _)) => wal_copied.store(true, Ordering::Release),
            Ok(_) => tracing::debug!(frames, "WAL restart postponed: the writer was busy"),
            Err(error) => tracing::warn!(%error, "checkpointing the state file failed"),
        },
        Ok((_, frames, copied)) if frames == copied => wal_copied.store(true, Ordering::Release),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "checkpointing the state file failed"),
    }
}

/// `<state file>.lock`, beside it.
pub fn lock_path_of(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

fn check_private(path: &Path, mode: u32) -> Result<()> {
    if mode & 0o077 != 0 {
        return Err(StoreError::InsecureMode { path: path.to_owned(), mode: mode & 0o7777 });
    }
    Ok(())
}

/// Brings the file to [`SCHEMA_VERSION`], one transaction per migration.
fn migrate(connection: &mut Connection, path: &Path) -> Result<()> {
    let sqlite = |source| StoreError::Sqlite { path: path.to_owned(), source };
    connection
        .execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", [])
        .map_err(sqlite)?;
    let found: Option<i64> = connection
        .query_row("SELECT MAX(version) FROM schema_version", [], |row| row.get(0))
        .map_err(sqlite)?;
    let found = u32::try_from(found.unwrap_or(0)).unwrap_or(u32::MAX);
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            store: StoreName::File(path.to_owned()),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let transaction = connection.transaction().map_err(sqlite)?;
        transaction.execute_batch(migration).map_err(sqlite)?;
        transaction.execute("DELETE FROM schema_version", []).map_err(sqlite)?;
        transaction
            .execute("INSERT INTO schema_version (version) VALUES (?1)", [index as i64 + 1])
            .map_err(sqlite)?;
        transaction.commit().map_err(sqlite)?;
    }
    Ok(())
}

const CHANNEL_COLUMNS: &str = "sender, open_block, deposit, signer, withdrawn, state, settle_block, \
     closing_balance, settled_balance, balance, balance_signature, created_at, updated_at";

/// What reading rows needs besides the row: the file to name in errors, and the receiver
/// every channel of the file is to (it is part of the identity, not of each row).
#[derive(Clone, Debug)]
struct FileContext {
    path: PathBuf,
    receiver: Address,
}

impl FileContext {
    fn sqlite(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite { path: self.path.clone(), source }
    }
}

impl RowSource for FileContext {
    fn receiver(&self) -> Address {
        self.receiver
    }

    fn corrupt(&self, what: &'static str, value: String) -> StoreError {
        StoreError::Corrupt { store: StoreName::File(self.path.clone()), what, value }
    }
}

/// Which rows [`read_channel`] reads.
#[derive(Clone, Copy, Debug)]
enum OnChain {
    /// Channels on chain: what everything but a rollback sees.
    Yes,
    /// The remains of channels whose creation a rollback undid.
    No,
    Any,
}

fn read_channel(
    connection: &Connection,
    key: ChannelKey,
    file: &FileContext,
    on_chain: OnChain,
) -> Result<Option<ChannelRecord>> {
    let sqlite = |source| file.sqlite(source);
    let filter = match on_chain {
        OnChain::Yes => "AND on_chain = 1",
        OnChain::No => "AND on_chain = 0",
        OnChain::Any => "",
    };
    connection
        .prepare_cached(&format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE channel_key = ?1 {filter}"))
        .map_err(sqlite)?
        .query_row([key_text(key)], raw_channel)
        .optional()
        .map_err(sqlite)?
        .map(|raw| raw.into_record(file))
        .transpose()
}

/// A `channel_undo` row: the channel key and its chain fields before a block (`None`: the
/// channel was not on chain).
fn undo_fields(row: &Row<'_>) -> rusqlite::Result<(String, Option<UndoFields>)> {
    let key = row.get(0)?;
    let Some(deposit) = row.get::<_, Option<String>>(1)? else { return Ok((key, None)) };
    Ok((
        key,
        Some(UndoFields {
            deposit,
            signer: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
            withdrawn: row.get::<_, Option<String>>(3)?.unwrap_or_default(),
            state: row.get::<_, Option<String>>(4)?.unwrap_or_default(),
            settle_block: row.get(5)?,
            closing_balance: row.get(6)?,
            settled_balance: row.get(7)?,
        }),
    ))
}

/// A `channels` row of [`CHANNEL_COLUMNS`].
fn raw_channel(row: &Row<'_>) -> rusqlite::Result<RawChannel> {
    Ok(RawChannel {
        sender: row.get(0)?,
        open_block: row.get(1)?,
        deposit: row.get(2)?,
        signer: row.get(3)?,
        withdrawn: row.get(4)?,
        state: row.get(5)?,
        settle_block: row.get(6)?,
        closing_balance: row.get(7)?,
        settled_balance: row.get(8)?,
        balance: row.get(9)?,
        balance_signature: row.get(10)?,
        created_at: row.get(11)?,
        updated_at: row.get(12)?,
    })
}
#[cfg(test)]
mod tests {
    use super::*;
    use uraiden_protocol::{channel_manager_domain, ChannelId, LocalSigningKey, B256};

    fn identity() -> Identity {
        Identity {
            chain_id: 31337,
            channel_manager: Address::repeat_byte(0xcc),
            receiver: Address::repeat_byte(0xee),
        }
    }

    fn channel(sender: u8, open_block: u32) -> ChannelRecord {
        let id = ChannelId::new(Address::repeat_byte(sender), identity().receiver, open_block);
        ChannelRecord::opened(id, U192::from(100u64), id.sender)
    }

    fn signature(balance: u64) -> ProofSignature {
        let key = LocalSigningKey::from_bytes(&B256::repeat_byte(7)).expect("a valid key");
        let domain = channel_manager_domain(31337, identity().channel_manager);
        key.sign_balance_proof(&domain, &channel(1, 10).id.balance_proof(U192::from(balance))).expect("signs")
    }

    fn insert(store: &mut SqliteStore, record: &ChannelRecord, head: u64) {
        let mut batch = store.chain_batch().expect("batch");
        batch.save_chain_fields(record).expect("saved");
        batch.commit(BlockRef { number: head, hash: B256::repeat_byte(head as u8) }).expect("committed");
    }

    #[test]
    fn new_file_is_private_and_versioned() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.db");
        let mut store = SqliteStore::open(&path, identity()).expect("opens");
        let mode = std::fs::metadata(&path).expect("exists").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let version: u32 = store
            .connection
            .query_row("SELECT version FROM schema_version", [], |row| row.get(0))
            .expect("has a version");
        assert_eq!(version, SCHEMA_VERSION);
        assert_eq!(store.sync_head().expect("reads"), None);
    }

    #[test]
    fn a_first_version_file_is_migrated_with_its_sync_head_as_history() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.db");
        let record = channel(1, 10);
        {
            // A file as the first schema wrote it.
            let file =
                OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).expect("creates");
            drop(file);
            let connection = Connection::open(&path).expect("opens");
            connection
                .execute_batch(&format!(
                    "CREATE TABLE schema_version (version INTEGER NOT NULL);
                     INSERT INTO schema_version VALUES (1);
                     {}
                     INSERT INTO sync_head VALUES (1, 42, '{}');
                     INSERT INTO channels (channel_key, sender, open_block, deposit, signer, withdrawn, state,
                         balance, balance_signature, created_at, updated_at)
                     VALUES ('{}', '{}', 10, '100', '{}', '0', 'open', '5', NULL, 1, 1);",
                    MIGRATIONS[0],
                    B256::repeat_byte(42),
                    key_text(record.key()),
                    address_text(record.id.sender),
                    address_text(record.signer),
                ))
                .expect("writes the first schema");
        }
        let mut store = SqliteStore::open(&path, identity()).expect("migrates");
        let channels = store.load_channels().expect("loads");
        assert_eq!(channels.len(), 1);
        assert_eq!((channels[0].id, channels[0].balance), (record.id, U192::from(5u64)));
        assert_eq!(
            store.block_history().expect("reads"),
            [BlockRef { number: 42, hash: B256::repeat_byte(42) }]
        );
    }

    /// Commit time per payment in both durability modes, one payment per transaction and 64
    /// per transaction (a group commit):
    /// `cargo test -p uraiden-server --lib commit_time -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn commit_time_per_payment() {
        for durability in [Durability::PowerLoss, Durability::ProcessCrash] {
            for batch in [1u64, 64] {
                let dir = tempfile::tempdir().expect("tempdir");
                let path = dir.path().join("state.db");
                let mut store =
                    SqliteStore::open_with_durability(&path, identity(), durability).expect("opens");
                // A deposit every balance of the rounds fits in.
                let records: Vec<_> = (0..batch)
                    .map(|sender| ChannelRecord {
                        deposit: U192::from(1_000u64),
                        ..channel(sender as u8 + 1, 10)
                    })
                    .collect();
                for record in &records {
                    insert(&mut store, record, 10);
                }
                let signature = signature(1);
                let rounds = 300 / batch.min(30);
                let started = std::time::Instant::now();
                for step in 0..rounds {
                    let payments: Vec<_> = records
                        .iter()
                        .map(|record| PaymentToRecord {
                            key: record.key(),
                            previous: U192::from(step),
                            balance: U192::from(step + 1),
                            signature,
                        })
                        .collect();
                    let writes = store.record_payments(&payments).expect("writes");
                    assert!(writes.iter().all(|write| *write == PaymentWrite::Recorded));
                }
                let per_payment = started.elapsed() / (rounds * batch) as u32;
                eprintln!(
                    "{durability:?}, {batch} per commit: {per_payment:?} per payment over {rounds} commits"
                );
            }
        }
    }

    /// Attack (review of issue 13): once the checkpointer has copied the whole WAL, the next
    /// write starts it over and fsyncs its header even with `synchronous = NORMAL`. A payment
    /// committed in place on an async worker must not be that write: the store declines it
    /// (the writer thread takes it and pays the fsync), and takes in-place commits again once
    /// the writer's commit has started the WAL over.
    #[test]
    fn a_payment_that_would_start_the_wal_over_is_not_committed_without_waiting() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = SqliteStore::open(&dir.path().join("state.db"), identity()).expect("opens");
        let record = channel(1, 10);
        insert(&mut store, &record, 10);
        let payment = |balance: u64| PaymentToRecord {
            key: record.key(),
            previous: U192::from(balance - 10),
            balance: U192::from(balance),
            signature: signature(balance),
        };
        assert_eq!(store.record_payments(&[payment(10)]).expect("writes"), vec![PaymentWrite::Recorded]);
        // The checkpointer copies everything within a round or two (every 250 ms).
        let started = std::time::Instant::now();
        while !store.wal_copied.load(Ordering::Acquire) {
            assert!(started.elapsed() < Duration::from_secs(10), "the checkpointer never copied the WAL");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(store.record_payments_without_waiting(&[payment(20)]).expect("no error"), None);
        assert_eq!(store.channel(record.key()).expect("reads").expect("known").balance, U192::from(10u64));
        assert_eq!(store.record_payments(&[payment(20)]).expect("writes"), vec![PaymentWrite::Recorded]);
        assert!(!store.wal_copied.load(Ordering::Acquire), "the writer's commit started the WAL over");
    }

    /// Pays `from..=to` in steps of 10 (the channel's balance is `from - 10` before).
    fn pay_up_to(store: &mut SqliteStore, key: ChannelKey, from: u64, to: u64) {
        for balance in (from..=to).step_by(10) {
            let write =
                store.record_payment(key, U192::from(balance - 10), U192::from(balance), &signature(balance));
            assert_eq!(write.expect("writes"), PaymentWrite::Recorded, "paying {balance}");
        }
    }

    fn best(store: &mut SqliteStore, key: ChannelKey, deposit: u64) -> Option<u64> {
        store.best_proof_within(key, U192::from(deposit)).expect("reads").map(|(balance, proof)| {
            assert_eq!(proof, signature(balance.to::<u64>()), "the signature of balance {balance}");
            balance.to::<u64>()
        })
    }

    /// A file of the second schema (the last before the kept proofs): each channel's last proof
    /// becomes the best proof within its deposit.
    #[test]
    fn a_second_version_file_keeps_each_last_proof_as_the_best_within_its_deposit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.db");
        let (paid, unpaid) = (channel(1, 10), channel(2, 10));
        {
            let file =
                OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).expect("creates");
            drop(file);
            let connection = Connection::open(&path).expect("opens");
            connection
                .execute_batch(&format!(
                    "CREATE TABLE schema_version (version INTEGER NOT NULL);
                     INSERT INTO schema_version VALUES (2);
                     {}
                     {}",
                    MIGRATIONS[0], MIGRATIONS[1],
                ))
                .expect("writes the second schema");
            for (record, balance, proof) in [(&paid, "70", Some(signature(70))), (&unpaid, "0", None)] {
                connection
                    .execute(
                        "INSERT INTO channels (channel_key, sender, open_block, deposit, signer, withdrawn, state,
                             balance, balance_signature, created_at, updated_at)
                         VALUES (?1, ?2, 10, '100', ?3, '0', 'open', ?4, ?5, 1, 1)",
                        params![
                            key_text(record.key()),
                            address_text(record.id.sender),
                            address_text(record.signer),
                            balance,
                            proof.map(|proof| proof.as_bytes().to_vec()),
                        ],
                    )
                    .expect("inserts");
            }
        }
        let mut store = SqliteStore::open(&path, identity()).expect("migrates");
        assert_eq!(best(&mut store, paid.key(), 100), Some(70));
        assert_eq!(best(&mut store, paid.key(), 69), None);
        assert_eq!(best(&mut store, unpaid.key(), 100), None);
        // Payments after the migration keep their best proofs as well.
        pay_up_to(&mut store, unpaid.key(), 10, 20);
        assert_eq!(best(&mut store, unpaid.key(), 100), Some(20));
    }

    #[test]
    fn second_open_of_the_same_file_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.db");
        let first = SqliteStore::open(&path, identity()).expect("opens");
        let error = SqliteStore::open(&path, identity()).expect_err("locked");
        assert!(matches!(error, StoreError::Locked { .. }), "{error}");
        assert!(error.to_string().contains("state.db"), "{error}");
        drop(first);
        SqliteStore::open(&path, identity()).expect("free again once the first is dropped");
    }

    #[test]
    fn commits_never_checkpoint_and_the_background_thread_does() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.db");
        let store = SqliteStore::open(&path, identity()).expect("opens");
        let autocheckpoint: i64 =
            store.connection.pragma_query_value(None, "wal_autocheckpoint", |row| row.get(0)).expect("reads");
        assert_eq!(autocheckpoint, 0);
        store.connection.execute("CREATE TABLE filler (x BLOB)", []).expect("creates");
        for _ in 0..50 {
            store.connection.execute("INSERT INTO filler VALUES (zeroblob(4000))", []).expect("inserts");
        }
        let before = std::fs::metadata(&path).expect("db").len();
        // The checkpointer copies the WAL into the database file within a few intervals.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::fs::metadata(&path).expect("db").len() <= before + 50 * 4000 / 2 {
            assert!(std::time::Instant::now() < deadline, "no checkpoint within 5 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    #[test]
    fn readable_by_others_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.db");
        drop(SqliteStore::open(&path, identity()).expect("opens"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let error = SqliteStore::open(&path, identity()).expect_err("refused");
        assert!(matches!(error, StoreError::InsecureMode { mode: 0o644, .. }), "{error}");
        assert!(error.to_string().contains("chmod 600"), "{error}");
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.db");
        {
            let store = SqliteStore::open(&path, identity()).expect("opens");
            store.connection.execute("UPDATE schema_version SET version = 99", []).expect("bumps");
        }
        let error = SqliteStore::open(&path, identity()).expect_err("refused");
        assert!(matches!(error, StoreError::NewerSchema { found: 99, .. }), "{error}");
        assert!(error.to_string().contains("upgrade"), "{error}");
    }

    #[test]
    fn another_identity_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.db");
        drop(SqliteStore::open(&path, identity()).expect("opens"));
        let other = Identity { receiver: Address::repeat_byte(0xab), ..identity() };
        let error = SqliteStore::open(&path, other).expect_err("refused");
        assert!(matches!(error, StoreError::IdentityMismatch { .. }), "{error}");
        assert!(error.to_string().contains("--state-file"), "{error}");
    }
}
