//! The PostgreSQL database (`--database-url`): [`PostgresStore`], its schema and versioned
//! migrations. Several receiver instances may share one database: each money decision that
//! another instance could race is a conditional update that the database arbitrates (a
//! payment's compare-and-set on the previous balance, the close mark on the last balance), so
//! it holds across instances exactly as it does in one process.
//!
//! Amounts are `NUMERIC(78, 0)`, written and read as canonical decimal text (`$n::text::numeric`,
//! `column::text`), so that rows parse exactly as SQLite's do (see `rows`). A commit returns
//! once PostgreSQL has flushed it (`synchronous_commit` is left at its default, `on`).

use std::time::Duration;

use postgres::{error::SqlState, Client, NoTls, Row, Transaction};
use uraiden_protocol::{Address, ChannelKey, ProofSignature, U192};

use super::{
    channel_store::{ChainBatch, ChannelStore},
    error::{Result, StoreError, StoreName},
    model::{
        unix_now, BlockRef, ChangeCursor, ChannelRecord, ChannelState, DatabaseUrl, Identity,
        PaymentToRecord, PaymentWrite, KEPT_BLOCKS, KEPT_DEPOSIT_PROOFS,
    },
    rows::{address_text, key_text, to_i64, to_u64, RawChannel, RowSource, StoredState, UndoFields},
};

/// The schema this build writes. Migration `n` (1-based) brings a database from `n - 1` to `n`.
pub const POSTGRES_SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

const MIGRATIONS: &[&str] = &[
    // 1: the SQLite schema at its version 3, with PostgreSQL's types.
    "CREATE TABLE identity (
         id              INTEGER PRIMARY KEY CHECK (id = 1),
         chain_id        BIGINT  NOT NULL,
         channel_manager TEXT    NOT NULL,
         receiver        TEXT    NOT NULL,
         created_at      BIGINT  NOT NULL
     );
     CREATE TABLE sync_head (
         id           INTEGER PRIMARY KEY CHECK (id = 1),
         block_number BIGINT  NOT NULL,
         block_hash   TEXT    NOT NULL
     );
     CREATE TABLE channels (
         channel_key       TEXT           PRIMARY KEY,
         sender            TEXT           NOT NULL,
         open_block        BIGINT         NOT NULL,
         deposit           NUMERIC(78, 0) NOT NULL,
         signer            TEXT           NOT NULL,
         withdrawn         NUMERIC(78, 0) NOT NULL,
         state             TEXT           NOT NULL
             CHECK (state IN ('open', 'close_signed', 'closing', 'close_pending', 'settled')),
         settle_block      BIGINT,
         closing_balance   NUMERIC(78, 0),
         settled_balance   NUMERIC(78, 0),
         balance           NUMERIC(78, 0) NOT NULL,
         balance_signature BYTEA,
         created_at        BIGINT         NOT NULL,
         updated_at        BIGINT         NOT NULL,
         on_chain          BOOLEAN        NOT NULL DEFAULT TRUE,
         -- The transaction that last wrote the row: what other instances read changes by.
         changed_xid       XID8           NOT NULL DEFAULT pg_current_xact_id()
     );
     CREATE UNIQUE INDEX channels_by_sender ON channels (sender, open_block);
     CREATE INDEX channels_by_change ON channels (changed_xid);
     CREATE TABLE block_hashes (
         block_number BIGINT PRIMARY KEY,
         block_hash   TEXT   NOT NULL
     );
     CREATE TABLE channel_undo (
         block_number    BIGINT NOT NULL,
         channel_key     TEXT   NOT NULL,
         deposit         NUMERIC(78, 0),
         signer          TEXT,
         withdrawn       NUMERIC(78, 0),
         state           TEXT,
         settle_block    BIGINT,
         closing_balance NUMERIC(78, 0),
         settled_balance NUMERIC(78, 0),
         PRIMARY KEY (block_number, channel_key)
     );
     CREATE TABLE deposit_proofs (
         channel_key TEXT           NOT NULL,
         deposit     NUMERIC(78, 0) NOT NULL,
         balance     NUMERIC(78, 0) NOT NULL,
         signature   BYTEA          NOT NULL,
         PRIMARY KEY (channel_key, deposit)
     );",
];

/// The advisory lock key under which instances starting together migrate one at a time.
const MIGRATION_LOCK: i64 = 0x7572_6169_6465_6e01; // "uraiden" + 1

const CHANNEL_COLUMNS: &str =
    "sender, open_block, deposit::text, signer, withdrawn::text, state, settle_block, \
     closing_balance::text, settled_balance::text, balance::text, balance_signature, created_at, updated_at";

/// How often a batch of payments is tried again when PostgreSQL aborted it for a deadlock or a
/// serialization failure with another instance's transaction (it then wrote nothing).
const RACE_RETRIES: usize = 3;

/// A PostgreSQL database, connected, migrated and checked to belong to this receiver. Not
/// `Sync`: callers share it behind a mutex and use it from blocking threads.
pub struct PostgresStore {
    client: OffRuntimeClient,
    source: DatabaseContext,
    identity: Identity,
    /// For connecting again after the database restarted or the connection broke.
    url: DatabaseUrl,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("database", &self.source.name)
            .field("identity", &self.identity)
            .finish()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/database`), migrates the
    /// schema to [`POSTGRES_SCHEMA_VERSION`] and checks (or, for a new database, records) its
    /// identity.
    pub fn open(url: &DatabaseUrl, identity: Identity) -> Result<Self> {
        let source = DatabaseContext { name: url.to_string(), receiver: identity.receiver };
        let client = OffRuntimeClient(Some(connect(url).map_err(|e| source.postgres(e))?));
        let mut store = Self { client, source, identity, url: url.clone() };
        store.migrate()?;
        store.check_identity()?;
        Ok(store)
    }

    /// The database's URL without its password, as messages name it.
    pub fn name(&self) -> &str {
        &self.source.name
    }

    /// Whether the database holds no channel and no chain position yet (a migration target).
    pub fn is_empty(&mut self) -> Result<bool> {
        let row = self
            .client
            .query_one(
                "SELECT NOT EXISTS (SELECT 1 FROM channels) AND NOT EXISTS (SELECT 1 FROM sync_head)",
                &[],
            )
            .map_err(|e| self.source.postgres(e))?;
        Ok(row.get(0))
    }

    /// Writes `state` into this database in one transaction, refusing if it already holds
    /// channels or a chain position (nothing is overwritten).
    pub(super) fn import(&mut self, state: &StoredState) -> Result<()> {
        let source = self.source.clone();
        let pg = |e| source.postgres(e);
        let mut transaction = self.client.transaction().map_err(pg)?;
        let occupied: bool = transaction
            .query_one("SELECT EXISTS (SELECT 1 FROM channels) OR EXISTS (SELECT 1 FROM sync_head)", &[])
            .map_err(pg)?
            .get(0);
        if occupied {
            return Err(StoreError::NotEmpty { store: StoreName::Database(source.name.clone()) });
        }
        for (record, on_chain) in &state.channels {
            transaction
                .execute(
                    "INSERT INTO channels (channel_key, sender, open_block, deposit, signer, withdrawn, state,
                         settle_block, closing_balance, settled_balance, balance, balance_signature,
                         created_at, updated_at, on_chain)
                     VALUES ($1, $2, $3, $4::text::numeric, $5, $6::text::numeric, $7, $8, $9::text::numeric,
                         $10::text::numeric, $11::text::numeric, $12, $13, $14, $15)",
                    &[&ChannelRow::of(record, record.updated_at).params()[..], &[on_chain]].concat(),
                )
                .map_err(pg)?;
        }
        for (block, key, fields) in &state.undo {
            let field = |pick: fn(&UndoFields) -> Option<String>| fields.as_ref().and_then(pick);
            transaction
                .execute(
                    "INSERT INTO channel_undo (block_number, channel_key, deposit, signer, withdrawn, state,
                         settle_block, closing_balance, settled_balance)
                     VALUES ($1, $2, $3::text::numeric, $4, $5::text::numeric, $6, $7, $8::text::numeric,
                         $9::text::numeric)",
                    &[
                        &to_i64(*block),
                        key,
                        &field(|f| Some(f.deposit.clone())),
                        &field(|f| Some(f.signer.clone())),
                        &field(|f| Some(f.withdrawn.clone())),
                        &field(|f| Some(f.state.clone())),
                        &fields.as_ref().and_then(|f| f.settle_block),
                        &field(|f| f.closing_balance.clone()),
                        &field(|f| f.settled_balance.clone()),
                    ],
                )
                .map_err(pg)?;
        }
        for (key, deposit, balance, signature) in &state.deposit_proofs {
            transaction
                .execute(
                    "INSERT INTO deposit_proofs (channel_key, deposit, balance, signature)
                     VALUES ($1, $2::text::numeric, $3::text::numeric, $4)",
                    &[key, deposit, balance, signature],
                )
                .map_err(pg)?;
        }
        for block in &state.block_hashes {
            transaction
                .execute(
                    "INSERT INTO block_hashes (block_number, block_hash) VALUES ($1, $2)",
                    &[&to_i64(block.number), &block.hash.to_string()],
                )
                .map_err(pg)?;
        }
        if let Some(head) = state.sync_head {
            transaction
                .execute(
                    "INSERT INTO sync_head (id, block_number, block_hash) VALUES (1, $1, $2)",
                    &[&to_i64(head.number), &head.hash.to_string()],
                )
                .map_err(pg)?;
        }
        transaction.commit().map_err(pg)
    }

    /// Connects again if the connection is gone (the database restarted, a network fault, an
    /// operator ended the session): the operation that found it broken failed, the next ones
    /// run on a new connection.
    fn reconnect_if_closed(&mut self) -> Result<()> {
        if self.client.is_closed() {
            tracing::warn!(database = %self.source.name, "the database connection was lost; connecting again");
            let client = connect(&self.url).map_err(|e| self.source.postgres(e))?;
            self.client = OffRuntimeClient(Some(client));
        }
        Ok(())
    }

    fn migrate(&mut self) -> Result<()> {
        let source = self.source.clone();
        let pg = |e| source.postgres(e);
        // DDL is transactional here: all migrations or none, one instance at a time.
        let mut transaction = self.client.transaction().map_err(pg)?;
        transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).map_err(pg)?;
        transaction
            .batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            .map_err(pg)?;
        let found: Option<i32> =
            transaction.query_one("SELECT MAX(version) FROM schema_version", &[]).map_err(pg)?.get(0);
        let found = u32::try_from(found.unwrap_or(0)).unwrap_or(u32::MAX);
        if found > POSTGRES_SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                store: StoreName::Database(source.name.clone()),
                found,
                supported: POSTGRES_SCHEMA_VERSION,
            });
        }
        for migration in MIGRATIONS.iter().skip(found as usize) {
            transaction.batch_execute(migration).map_err(pg)?;
        }
        transaction.execute("DELETE FROM schema_version", &[]).map_err(pg)?;
        transaction
            .execute("INSERT INTO schema_version (version) VALUES ($1)", &[&(POSTGRES_SCHEMA_VERSION as i32)])
            .map_err(pg)?;
        transaction.commit().map_err(pg)
    }

    fn check_identity(&mut self) -> Result<()> {
        let source = self.source.clone();
        let pg = |e| source.postgres(e);
        // Two instances starting on a new database record the same identity once.
        self.client
            .execute(
                "INSERT INTO identity (id, chain_id, channel_manager, receiver, created_at)
                 VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
                &[
                    &to_i64(self.identity.chain_id),
                    &address_text(self.identity.channel_manager),
                    &address_text(self.identity.receiver),
                    &to_i64(unix_now()),
                ],
            )
            .map_err(pg)?;
        let row = self
            .client
            .query_one("SELECT chain_id, channel_manager, receiver FROM identity WHERE id = 1", &[])
            .map_err(pg)?;
        let stored = Identity {
            chain_id: to_u64(row.get(0)),
            channel_manager: source.parse_address("identity.channel_manager", row.get(1))?,
            receiver: source.parse_address("identity.receiver", row.get(2))?,
        };
        if stored != self.identity {
            return Err(StoreError::IdentityMismatch {
                store: StoreName::Database(source.name.clone()),
                stored: Box::new(stored),
                expected: Box::new(self.identity),
            });
        }
        Ok(())
    }

    /// One try of [`ChannelStore::record_payments`]: `Err` when PostgreSQL aborted it.
    fn try_record_payments(
        &mut self,
        payments: &[PaymentToRecord],
    ) -> std::result::Result<Vec<PaymentWrite>, postgres::Error> {
        let source = &self.source;
        let now = to_i64(unix_now());
        let mut transaction = self.client.transaction()?;
        let update = transaction.prepare(
            "UPDATE channels SET balance = $1::text::numeric, balance_signature = $2, updated_at = $3,
                 changed_xid = pg_current_xact_id()
             WHERE channel_key = $4 AND balance = $5::text::numeric AND state = 'open' AND on_chain
               AND deposit >= $1::text::numeric",
        )?;
        let keep_best = transaction.prepare(
            "INSERT INTO deposit_proofs (channel_key, deposit, balance, signature)
             SELECT channel_key, deposit, balance, balance_signature FROM channels WHERE channel_key = $1
             ON CONFLICT (channel_key, deposit) DO UPDATE SET
                 balance = excluded.balance, signature = excluded.signature",
        )?;
        // Rows are locked in key order (a channel's payments keep theirs), so that two
        // instances' batches never wait for each other in a circle.
        let mut order: Vec<usize> = (0..payments.len()).collect();
        order.sort_by_key(|&index| payments[index].key.0);
        let mut writes: Vec<Option<PaymentWrite>> = vec![None; payments.len()];
        for index in order {
            let payment = &payments[index];
            let key = key_text(payment.key);
            let changed = transaction.execute(
                &update,
                &[
                    &payment.balance.to_string(),
                    &payment.signature.as_bytes().as_slice(),
                    &now,
                    &key,
                    &payment.previous.to_string(),
                ],
            )?;
            writes[index] = Some(if changed == 1 {
                transaction.execute(&keep_best, &[&key])?;
                PaymentWrite::Recorded
            } else {
                // As this transaction sees it: earlier payments of the batch and every
                // transaction committed by now, other instances' included.
                let now = match read_channel(&mut transaction, payment.key, source, OnChain::Yes, Lock::None)
                {
                    Ok(now) => now,
                    Err(StoreError::Postgres { source, .. }) => return Err(source),
                    // A row that does not parse: the channel is treated as gone, and the
                    // payment refused; the error is logged where the row is next loaded.
                    Err(_) => None,
                };
                PaymentWrite::Conflict(now.map(Box::new))
            });
        }
        transaction.commit()?;
        Ok(writes.into_iter().map(|write| write.expect("one outcome per payment")).collect())
    }
}

/// A client whose drop runs off the async runtime: dropping a `postgres::Client` closes the
/// connection by blocking on the client's own runtime, which panics on a thread that drives
/// async tasks, where the channel manager's last handle may well be dropped.
struct OffRuntimeClient(Option<Client>);

impl std::ops::Deref for OffRuntimeClient {
    type Target = Client;

    fn deref(&self) -> &Client {
        self.0.as_ref().expect("the client is taken only when dropped")
    }
}

impl std::ops::DerefMut for OffRuntimeClient {
    fn deref_mut(&mut self) -> &mut Client {
        self.0.as_mut().expect("the client is taken only when dropped")
    }
}

impl Drop for OffRuntimeClient {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            // Joined: the connection is closed when the store is gone.
            let _ = std::thread::Builder::new()
                .name("uraiden-pg-close".into())
                .spawn(move || drop(client))
                .map(|closing| closing.join());
        }
    }
}

impl ChannelStore for PostgresStore {
    fn identity(&self) -> Identity {
        self.identity
    }

    fn sync_head(&mut self) -> Result<Option<BlockRef>> {
        self.reconnect_if_closed()?;
        let rows = self
            .client
            .query("SELECT block_number, block_hash FROM sync_head WHERE id = 1", &[])
            .map_err(|e| self.source.postgres(e))?;
        rows.first().map(|row| self.source.block(row, "sync_head.block_hash")).transpose()
    }

    fn load_channels(&mut self) -> Result<Vec<ChannelRecord>> {
        self.reconnect_if_closed()?;
        let rows = self
            .client
            .query(&format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE on_chain"), &[])
            .map_err(|e| self.source.postgres(e))?;
        rows.iter().map(|row| raw_channel(row, &self.source)?.into_record(&self.source)).collect()
    }

    fn channel(&mut self, key: ChannelKey) -> Result<Option<ChannelRecord>> {
        self.reconnect_if_closed()?;
        read_channel(&mut *self.client, key, &self.source, OnChain::Yes, Lock::None)
    }

    fn channels_changed_since(
        &mut self,
        cursor: ChangeCursor,
    ) -> Result<(Vec<(ChannelRecord, bool)>, ChangeCursor)> {
        self.reconnect_if_closed()?;
        let source = self.source.clone();
        let pg = |e| source.postgres(e);
        // Every write stamps its transaction's id (changed_xid). The oldest transaction still
        // running, taken before the read, is where the next read starts: a transaction that
        // commits after this read, however long it ran, has an id at least that.
        let next: String = self
            .client
            .query_one("SELECT pg_snapshot_xmin(pg_current_snapshot())::text", &[])
            .map_err(pg)?
            .get(0);
        let next = next.parse().map(ChangeCursor).map_err(|_| source.corrupt("pg_current_snapshot", next))?;
        let rows = self
            .client
            .query(
                &format!(
                    "SELECT {CHANNEL_COLUMNS}, on_chain FROM channels WHERE changed_xid >= $1::text::xid8"
                ),
                &[&cursor.0.to_string()],
            )
            .map_err(pg)?;
        let changed = rows
            .iter()
            .map(|row| Ok((raw_channel(row, &source)?.into_record(&source)?, row.get::<_, bool>(13))))
            .collect::<Result<_>>()?;
        Ok((changed, next))
    }

    fn block_history(&mut self) -> Result<Vec<BlockRef>> {
        self.reconnect_if_closed()?;
        let rows = self
            .client
            .query("SELECT block_number, block_hash FROM block_hashes ORDER BY block_number DESC", &[])
            .map_err(|e| self.source.postgres(e))?;
        rows.iter().map(|row| self.source.block(row, "block_hashes.block_hash")).collect()
    }

    fn record_payments(&mut self, payments: &[PaymentToRecord]) -> Result<Vec<PaymentWrite>> {
        self.reconnect_if_closed()?;
        let mut tries = 0;
        loop {
            match self.try_record_payments(payments) {
                Ok(writes) => return Ok(writes),
                Err(error) if tries < RACE_RETRIES && lost_a_race(&error) => tries += 1,
                Err(error) => return Err(self.source.postgres(error)),
            }
        }
    }

    fn best_proof_within(
        &mut self,
        key: ChannelKey,
        deposit: U192,
    ) -> Result<Option<(U192, ProofSignature)>> {
        self.reconnect_if_closed()?;
        let rows = self
            .client
            .query(
                // Named apart: ORDER BY a bare output name would sort the text ("50" > "100").
                "SELECT balance::text AS balance_text, signature FROM deposit_proofs
                 WHERE channel_key = $1 AND balance <= $2::text::numeric ORDER BY balance DESC LIMIT 1",
                &[&key_text(key), &deposit.to_string()],
            )
            .map_err(|e| self.source.postgres(e))?;
        let Some(row) = rows.first() else { return Ok(None) };
        let balance = self.source.amount("deposit_proofs.balance", row.get(0))?;
        let signature: Vec<u8> = row.get(1);
        let signature = ProofSignature::from_bytes(&signature).map_err(|_| {
            self.source.corrupt("deposit_proofs.signature", format!("{} bytes", signature.len()))
        })?;
        Ok(Some((balance, signature)))
    }

    fn mark_close_signed(&mut self, key: ChannelKey, balance: U192) -> Result<bool> {
        self.reconnect_if_closed()?;
        let changed = self
            .client
            .execute(
                "UPDATE channels SET state = 'close_signed', updated_at = $1, changed_xid = pg_current_xact_id()
                 WHERE channel_key = $2 AND balance = $3::text::numeric
                   AND state IN ('open', 'close_signed') AND on_chain",
                &[&to_i64(unix_now()), &key_text(key), &balance.to_string()],
            )
            .map_err(|e| self.source.postgres(e))?;
        Ok(changed == 1)
    }

    fn set_state(&mut self, key: ChannelKey, state: ChannelState) -> Result<()> {
        self.reconnect_if_closed()?;
        self.client
            .execute(
                "UPDATE channels SET state = $1, updated_at = $2, changed_xid = pg_current_xact_id()
                 WHERE channel_key = $3 AND state != 'settled' AND on_chain",
                &[&state.as_str(), &to_i64(unix_now()), &key_text(key)],
            )
            .map_err(|e| self.source.postgres(e))?;
        Ok(())
    }

    fn chain_batch(&mut self) -> Result<Box<dyn ChainBatch + '_>> {
        self.reconnect_if_closed()?;
        let source = self.source.clone();
        let transaction = self.client.transaction().map_err(|e| source.postgres(e))?;
        Ok(Box::new(PostgresChainBatch { transaction, source }))
    }
}

/// Confirmed chain changes in one PostgreSQL transaction (see [`ChannelStore::chain_batch`]).
struct PostgresChainBatch<'a> {
    transaction: Transaction<'a>,
    source: DatabaseContext,
}

impl ChainBatch for PostgresChainBatch<'_> {
    fn channel(&mut self, key: ChannelKey) -> Result<Option<ChannelRecord>> {
        read_channel(&mut self.transaction, key, &self.source, OnChain::Yes, Lock::ForUpdate)
    }

    fn remains(&mut self, key: ChannelKey) -> Result<Option<ChannelRecord>> {
        read_channel(&mut self.transaction, key, &self.source, OnChain::No, Lock::ForUpdate)
    }

    fn record_undo(&mut self, block: u64, key: ChannelKey, before: Option<&ChannelRecord>) -> Result<()> {
        self.transaction
            .execute(
                "INSERT INTO channel_undo (block_number, channel_key, deposit, signer, withdrawn, state,
                     settle_block, closing_balance, settled_balance)
                 VALUES ($1, $2, $3::text::numeric, $4, $5::text::numeric, $6, $7, $8::text::numeric,
                     $9::text::numeric)
                 ON CONFLICT (block_number, channel_key) DO NOTHING",
                &[
                    &to_i64(block),
                    &key_text(key),
                    &before.map(|record| record.deposit.to_string()),
                    &before.map(|record| address_text(record.signer)),
                    &before.map(|record| record.withdrawn.to_string()),
                    &before.map(|record| record.state.as_str()),
                    &before
                        .and_then(|record| record.close_request)
                        .map(|request| to_i64(request.settle_block)),
                    &before
                        .and_then(|record| record.close_request)
                        .map(|request| request.balance.to_string()),
                    &before.and_then(|record| record.settled_balance).map(|balance| balance.to_string()),
                ],
            )
            .map_err(|e| self.source.postgres(e))?;
        Ok(())
    }

    fn roll_back_after(&mut self, fork: u64) -> Result<Vec<ChannelKey>> {
        let source = self.source.clone();
        let pg = |e| source.postgres(e);
        let rows = self
            .transaction
            .query(
                "SELECT channel_key, deposit::text, signer, withdrawn::text, state, settle_block,
                     closing_balance::text, settled_balance::text
                 FROM channel_undo WHERE block_number > $1 ORDER BY block_number",
                &[&to_i64(fork)],
            )
            .map_err(pg)?;
        // The first image after the fork is the channel as it was at the fork.
        let mut earliest: Vec<(String, Option<UndoFields>)> = Vec::new();
        for row in &rows {
            let key: String = row.get(0);
            if earliest.iter().any(|(seen, _)| *seen == key) {
                continue;
            }
            let fields = row.get::<_, Option<String>>(1).map(|deposit| UndoFields {
                deposit,
                signer: row.get::<_, Option<String>>(2).unwrap_or_default(),
                withdrawn: row.get::<_, Option<String>>(3).unwrap_or_default(),
                state: row.get::<_, Option<String>>(4).unwrap_or_default(),
                settle_block: row.get(5),
                closing_balance: row.get(6),
                settled_balance: row.get(7),
            });
            earliest.push((key, fields));
        }
        let mut changed = Vec::with_capacity(earliest.len());
        for (key_text, before) in earliest {
            let key = ChannelKey(
                key_text.parse().map_err(|_| source.corrupt("channel_undo.channel_key", key_text.clone()))?,
            );
            match before {
                None => {
                    self.transaction
                        .execute(
                            "UPDATE channels SET on_chain = FALSE, updated_at = $1, changed_xid = pg_current_xact_id()
                             WHERE channel_key = $2",
                            &[&to_i64(unix_now()), &key_text],
                        )
                        .map_err(pg)?;
                }
                Some(before) => {
                    let Some(current) =
                        read_channel(&mut self.transaction, key, &source, OnChain::Any, Lock::ForUpdate)?
                    else {
                        return Err(source.corrupt("channel_undo.channel_key", key_text));
                    };
                    self.save_chain_fields(&before.restore(current, &source)?)?;
                }
            }
            changed.push(key);
        }
        self.transaction
            .execute("DELETE FROM channel_undo WHERE block_number > $1", &[&to_i64(fork)])
            .map_err(pg)?;
        self.transaction
            .execute("DELETE FROM block_hashes WHERE block_number > $1", &[&to_i64(fork)])
            .map_err(pg)?;
        Ok(changed)
    }

    fn forget_chain(&mut self) -> Result<Vec<ChannelKey>> {
        let source = self.source.clone();
        let pg = |e| source.postgres(e);
        let rows =
            self.transaction.query("SELECT channel_key FROM channels WHERE on_chain", &[]).map_err(pg)?;
        let keys = rows
            .iter()
            .map(|row| {
                let text: String = row.get(0);
                text.parse().map(ChannelKey).map_err(|_| source.corrupt("channels.channel_key", text))
            })
            .collect::<Result<Vec<_>>>()?;
        self.transaction
            .execute(
                "UPDATE channels SET on_chain = FALSE, updated_at = $1, changed_xid = pg_current_xact_id()
                 WHERE on_chain",
                &[&to_i64(unix_now())],
            )
            .map_err(pg)?;
        self.transaction.batch_execute("DELETE FROM channel_undo; DELETE FROM block_hashes;").map_err(pg)?;
        Ok(keys)
    }

    fn save_chain_fields(&mut self, record: &ChannelRecord) -> Result<()> {
        let source = self.source.clone();
        let pg = |e| source.postgres(e);
        self.transaction
            .execute(
                "INSERT INTO channels (channel_key, sender, open_block, deposit, signer, withdrawn, state,
                     settle_block, closing_balance, settled_balance, balance, balance_signature,
                     created_at, updated_at)
                 VALUES ($1, $2, $3, $4::text::numeric, $5, $6::text::numeric, $7, $8, $9::text::numeric,
                     $10::text::numeric, $11::text::numeric, $12, $13, $14)
                 ON CONFLICT (channel_key) DO UPDATE SET
                     deposit = excluded.deposit, signer = excluded.signer, withdrawn = excluded.withdrawn,
                     state = excluded.state, settle_block = excluded.settle_block,
                     closing_balance = excluded.closing_balance, settled_balance = excluded.settled_balance,
                     updated_at = excluded.updated_at, on_chain = TRUE, changed_xid = pg_current_xact_id()",
                &ChannelRow::of(record, unix_now()).params(),
            )
            .map_err(pg)?;
        // A new deposit may start a new best proof: keep the last few (see
        // `KEPT_DEPOSIT_PROOFS`), the ones with the highest balances.
        self.transaction
            .execute(
                "DELETE FROM deposit_proofs WHERE channel_key = $1 AND deposit NOT IN (
                     SELECT deposit FROM deposit_proofs WHERE channel_key = $1 ORDER BY balance DESC LIMIT $2)",
                &[&key_text(record.key()), &(KEPT_DEPOSIT_PROOFS as i64)],
            )
            .map_err(pg)?;
        Ok(())
    }

    fn commit(mut self: Box<Self>, head: BlockRef) -> Result<()> {
        let source = self.source.clone();
        let pg = |e| source.postgres(e);
        let (number, hash) = (to_i64(head.number), head.hash.to_string());
        self.transaction
            .execute(
                "INSERT INTO sync_head (id, block_number, block_hash) VALUES (1, $1, $2)
                 ON CONFLICT (id) DO UPDATE SET block_number = excluded.block_number, block_hash = excluded.block_hash",
                &[&number, &hash],
            )
            .map_err(pg)?;
        self.transaction
            .execute(
                "INSERT INTO block_hashes (block_number, block_hash) VALUES ($1, $2)
                 ON CONFLICT (block_number) DO UPDATE SET block_hash = excluded.block_hash",
                &[&number, &hash],
            )
            .map_err(pg)?;
        self.transaction
            .execute(
                "DELETE FROM block_hashes WHERE block_number < $1",
                &[&to_i64(head.number.saturating_sub(KEPT_BLOCKS))],
            )
            .map_err(pg)?;
        // Undo information at or below the oldest kept hash is never needed.
        self.transaction
            .execute(
                "DELETE FROM channel_undo WHERE block_number <= (SELECT MIN(block_number) FROM block_hashes)",
                &[],
            )
            .map_err(pg)?;
        self.transaction.commit().map_err(pg)
    }
}

/// How long one statement, or one wait for a row lock, may take before PostgreSQL gives up:
/// a stuck database answers a paying request with "retry later" (nothing was recorded, the
/// transaction is rolled back) instead of holding it for good.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects to `url` with bounds on a dead or stuck server: a connect timeout, TCP keepalives
/// and a limit on unacknowledged data (a vanished server is noticed in seconds), and the
/// statement and lock timeouts.
pub(super) fn connect(url: &DatabaseUrl) -> std::result::Result<Client, postgres::Error> {
    let mut config: postgres::Config = url.expose().parse()?;
    config
        .connect_timeout(Duration::from_secs(5))
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(5))
        .keepalives_interval(Duration::from_secs(1))
        .keepalives_retries(3)
        .tcp_user_timeout(Duration::from_secs(5));
    let mut client = config.connect(NoTls)?;
    let limit = STATEMENT_TIMEOUT.as_millis();
    client.batch_execute(&format!("SET statement_timeout = {limit}; SET lock_timeout = {limit}"))?;
    Ok(client)
}

/// A channel's columns as PostgreSQL takes them (amounts as decimal text, cast in the SQL), in
/// the order of the `INSERT INTO channels` statements: one definition for writing a channel.
struct ChannelRow {
    key: String,
    sender: String,
    open_block: i64,
    deposit: String,
    signer: String,
    withdrawn: String,
    state: &'static str,
    settle_block: Option<i64>,
    closing_balance: Option<String>,
    settled_balance: Option<String>,
    balance: String,
    balance_signature: Option<Vec<u8>>,
    created_at: i64,
    updated_at: i64,
}

impl ChannelRow {
    fn of(record: &ChannelRecord, updated_at: u64) -> Self {
        Self {
            key: key_text(record.key()),
            sender: address_text(record.id.sender),
            open_block: i64::from(record.id.open_block_number),
            deposit: record.deposit.to_string(),
            signer: address_text(record.signer),
            withdrawn: record.withdrawn.to_string(),
            state: record.state.as_str(),
            settle_block: record.close_request.map(|request| to_i64(request.settle_block)),
            closing_balance: record.close_request.map(|request| request.balance.to_string()),
            settled_balance: record.settled_balance.map(|balance| balance.to_string()),
            balance: record.balance.to_string(),
            balance_signature: record.balance_signature.map(|signature| signature.as_bytes().to_vec()),
            created_at: to_i64(record.created_at),
            updated_at: to_i64(updated_at),
        }
    }

    fn params(&self) -> [&(dyn postgres::types::ToSql + Sync); 14] {
        [
            &self.key,
            &self.sender,
            &self.open_block,
            &self.deposit,
            &self.signer,
            &self.withdrawn,
            &self.state,
            &self.settle_block,
            &self.closing_balance,
            &self.settled_balance,
            &self.balance,
            &self.balance_signature,
            &self.created_at,
            &self.updated_at,
        ]
    }
}

/// What reading rows needs besides the row: the database to name in errors, and the receiver
/// every channel of the database is to.
#[derive(Clone, Debug)]
struct DatabaseContext {
    name: String,
    receiver: Address,
}

impl DatabaseContext {
    fn postgres(&self, source: postgres::Error) -> StoreError {
        StoreError::Postgres { database: self.name.clone(), source }
    }

    fn parse_address(&self, what: &'static str, text: String) -> Result<Address> {
        text.parse().map_err(|_| self.corrupt(what, text))
    }

    fn amount(&self, what: &'static str, text: String) -> Result<U192> {
        text.parse().map_err(|_| self.corrupt(what, text))
    }

    fn block(&self, row: &Row, what: &'static str) -> Result<BlockRef> {
        let hash: String = row.get(1);
        Ok(BlockRef { number: to_u64(row.get(0)), hash: hash.parse().map_err(|_| self.corrupt(what, hash))? })
    }
}

impl RowSource for DatabaseContext {
    fn receiver(&self) -> Address {
        self.receiver
    }

    fn corrupt(&self, what: &'static str, value: String) -> StoreError {
        StoreError::Corrupt { store: StoreName::Database(self.name.clone()), what, value }
    }
}

/// Whether [`read_channel`] locks the row for the rest of the transaction.
#[derive(Clone, Copy, Debug)]
enum Lock {
    ForUpdate,
    None,
}

/// Which rows [`read_channel`] reads.
#[derive(Clone, Copy, Debug)]
enum OnChain {
    Yes,
    No,
    Any,
}

/// One channel row. `Lock::ForUpdate` (a chain batch, which writes the row back) holds it until
/// the batch commits, so that another instance's write in between (a close signature, a
/// payment's kept proof) is not overwritten with what the batch read before it.
fn read_channel(
    client: &mut impl postgres::GenericClient,
    key: ChannelKey,
    source: &DatabaseContext,
    on_chain: OnChain,
    lock: Lock,
) -> Result<Option<ChannelRecord>> {
    let filter = match on_chain {
        OnChain::Yes => "AND on_chain",
        OnChain::No => "AND NOT on_chain",
        OnChain::Any => "",
    };
    let lock = match lock {
        Lock::ForUpdate => "FOR UPDATE",
        Lock::None => "",
    };
    let rows = client
        .query(
            &format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE channel_key = $1 {filter} {lock}"),
            &[&key_text(key)],
        )
        .map_err(|e| source.postgres(e))?;
    rows.first().map(|row| raw_channel(row, source)?.into_record(source)).transpose()
}

/// A `channels` row of [`CHANNEL_COLUMNS`].
fn raw_channel(row: &Row, source: &DatabaseContext) -> Result<RawChannel> {
    let open_block: i64 = row.get(1);
    Ok(RawChannel {
        sender: row.get(0),
        open_block: u32::try_from(open_block)
            .map_err(|_| source.corrupt("channels.open_block", open_block.to_string()))?,
        deposit: row.get(2),
        signer: row.get(3),
        withdrawn: row.get(4),
        state: row.get(5),
        settle_block: row.get(6),
        closing_balance: row.get(7),
        settled_balance: row.get(8),
        balance: row.get(9),
        balance_signature: row.get(10),
        created_at: row.get(11),
        updated_at: row.get(12),
    })
}

/// Whether PostgreSQL aborted a transaction because it raced another one (deadlock,
/// serialization failure): it wrote nothing, and trying again is safe.
fn lost_a_race(error: &postgres::Error) -> bool {
    matches!(error.code(), Some(code) if *code == SqlState::T_R_DEADLOCK_DETECTED || *code == SqlState::T_R_SERIALIZATION_FAILURE)
}
