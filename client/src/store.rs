//! The client's durable memory: one JSON file per client holding every channel it knows and
//! the last balance proof it signed in each, so a restarted process continues the same
//! channel at the same balance.
//!
//! Writes are atomic (temporary file, fsync, rename, fsync of the directory): a crash leaves
//! the old or the new file, never half of one. The file is mode 0600 because a leaked
//! balance proof lets the receiver claim that balance.
//!
//! One store per file: [`ChannelStore::load`] takes an exclusive lock on `<file>.lock` and
//! holds it until the store is dropped, so a second `uraiden` process (or a second `Client`
//! in this one) is refused at once instead of signing from the same balance and overwriting
//! the first one's proofs.

use std::{
    collections::BTreeMap,
    fs::{self, TryLockError},
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};
use uraiden_protocol::{parse_amount, Address, ChannelId, ProofSignature, U192};

use crate::error::{Error, Result};

/// Where a channel is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelState {
    /// Payments can be made.
    Open,
    /// An uncooperative close was requested; `settle` after the challenge period.
    Settling,
    /// Settled on chain (or gone): nothing more to do.
    Closed,
}

impl ChannelState {
    /// The state's name, as stored and shown.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Settling => "settling",
            Self::Closed => "closed",
        }
    }
}

/// What the client remembers about one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelRecord {
    pub id: ChannelId,
    pub deposit: U192,
    /// The cumulative balance of the last proof signed (or adopted from the receiver).
    pub balance: U192,
    /// The signature of that proof; `None` while nothing was paid, or after a recovery
    /// from the chain that the receiver has not completed yet.
    pub balance_signature: Option<ProofSignature>,
    pub state: ChannelState,
    /// The block after which `settle` is allowed, once a close was requested.
    pub settle_block: Option<u64>,
    /// The receiver's REST API (`origin` + `RDN-Gateway-Path`), learned from its 402s; used
    /// to ask it for a cooperative close.
    pub gateway_url: Option<String>,
}

impl ChannelRecord {
    /// A freshly opened channel.
    pub const fn new(id: ChannelId, deposit: U192) -> Self {
        Self {
            id,
            deposit,
            balance: U192::ZERO,
            balance_signature: None,
            state: ChannelState::Open,
            settle_block: None,
            gateway_url: None,
        }
    }
}

/// The file's layout; amounts are decimal strings so people can read them.
#[derive(Debug, Default, Serialize, Deserialize)]
struct StateFileContents {
    version: u32,
    channels: Vec<StoredChannel>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredChannel {
    contract: Address,
    chain_id: u64,
    sender: Address,
    receiver: Address,
    open_block: u32,
    deposit: String,
    balance: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    balance_signature: Option<ProofSignature>,
    state: ChannelState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    settle_block: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gateway_url: Option<String>,
}

/// The channels of one (contract, chain) pair, backed by the state file, which it holds
/// locked. Channels of other contracts in the same file are kept untouched.
#[derive(Debug)]
pub struct ChannelStore {
    path: PathBuf,
    contract: Address,
    chain_id: u64,
    channels: BTreeMap<ChannelId, ChannelRecord>,
    /// Records for other contracts or chains, written back as they were.
    others: Vec<StoredChannel>,
    // Held for its lock: released when the store is dropped.
    _lock: fs::File,
}

impl ChannelStore {
    /// Locks `path` and loads it (a missing file is an empty store). Fails at once with
    /// [`Error::StateFileInUse`] while another store holds it, in any process.
    pub fn load(path: &Path, contract: Address, chain_id: u64) -> Result<Self> {
        // Before reading: what a previous holder wrote last is what this store starts from.
        let lock = lock_state_file(path)?;
        let failed = |reason: String| Error::StateFile { path: path.to_owned(), reason };
        let contents: StateFileContents = match fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| failed(format!("not valid: {e}")))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => StateFileContents::default(),
            Err(e) => return Err(failed(format!("cannot read it: {e}"))),
        };
        let mut store = Self {
            path: path.to_owned(),
            contract,
            chain_id,
            channels: BTreeMap::new(),
            others: Vec::new(),
            _lock: lock,
        };
        for stored in contents.channels {
            if stored.contract != contract || stored.chain_id != chain_id {
                store.others.push(stored);
                continue;
            }
            let amount = |text: &str| parse_amount(text).map_err(|e| failed(e.to_string()));
            let id = ChannelId::new(stored.sender, stored.receiver, stored.open_block);
            let record = ChannelRecord {
                id,
                deposit: amount(&stored.deposit)?,
                balance: amount(&stored.balance)?,
                balance_signature: stored.balance_signature,
                state: stored.state,
                settle_block: stored.settle_block,
                gateway_url: stored.gateway_url,
            };
            store.channels.insert(id, record);
        }
        Ok(store)
    }

    /// Every channel of this contract, in id order.
    pub fn channels(&self) -> impl Iterator<Item = &ChannelRecord> {
        self.channels.values()
    }

    /// One channel.
    pub fn get(&self, id: &ChannelId) -> Option<&ChannelRecord> {
        self.channels.get(id)
    }

    /// Changes (or adds) a channel and saves the file before returning, so nothing signed
    /// is ever only in memory.
    pub fn update(&mut self, record: ChannelRecord) -> Result<()> {
        let previous = self.channels.insert(record.id, record.clone());
        if let Err(error) = self.save() {
            // Memory follows the file: undo so the two never disagree.
            match previous {
                Some(previous) => self.channels.insert(record.id, previous),
                None => self.channels.remove(&record.id),
            };
            return Err(error);
        }
        Ok(())
    }

    fn save(&self) -> Result<()> {
        let failed = |reason: String| Error::StateFile { path: self.path.clone(), reason };
        let mut channels: Vec<StoredChannel> = self
            .channels
            .values()
            .map(|record| StoredChannel {
                contract: self.contract,
                chain_id: self.chain_id,
                sender: record.id.sender,
                receiver: record.id.receiver,
                open_block: record.id.open_block_number,
                deposit: record.deposit.to_string(),
                balance: record.balance.to_string(),
                balance_signature: record.balance_signature,
                state: record.state,
                settle_block: record.settle_block,
                gateway_url: record.gateway_url.clone(),
            })
            .collect();
        channels.extend(self.others.iter().map(|other| StoredChannel {
            deposit: other.deposit.clone(),
            balance: other.balance.clone(),
            gateway_url: other.gateway_url.clone(),
            ..*other
        }));
        let json = serde_json::to_vec_pretty(&StateFileContents { version: 1, channels })
            .map_err(|e| failed(format!("cannot encode: {e}")))?;
        write_atomically(&self.path, &json).map_err(|e| failed(format!("cannot write it: {e}")))
    }
}

/// The exclusive lock on `<path>.lock`, taken without waiting. A file beside the state file
/// rather than the state file itself: [`write_atomically`] replaces the state file by a
/// rename, after which a lock on the old file would guard nothing. The lock file is never
/// removed (removing it would let two processes lock two different files of that name).
fn lock_state_file(path: &Path) -> Result<fs::File> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let failed = |reason: String| Error::StateFile { path: path.to_owned(), reason };
    fs::create_dir_all(directory_of(path))
        .map_err(|e| failed(format!("cannot create its directory: {e}")))?;
    let lock = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&lock_path)
        .map_err(|e| failed(format!("cannot open its lock file {}: {e}", lock_path.display())))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(TryLockError::WouldBlock) => {
            Err(Error::StateFileInUse { path: path.to_owned(), lock: lock_path })
        }
        Err(TryLockError::Error(e)) => Err(failed(format!("cannot lock {}: {e}", lock_path.display()))),
    }
}

/// The directory `path` is in (`.` for a bare file name).
fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Writes `bytes` to `path` so a crash leaves the old or the new contents.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = directory_of(path);
    fs::create_dir_all(dir)?;
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".tmp");
    let temporary = dir.join(name);
    let mut file =
        fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&temporary)?;
    // `mode` applies only when the file is created; a leftover temporary keeps its own.
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temporary, path)?;
    // The rename is durable only once the directory entry is.
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn records_survive_a_reload_and_other_contracts_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("state.json");
        let (a, b) = (Address::repeat_byte(1), Address::repeat_byte(2));
        let id = ChannelId::new(Address::repeat_byte(3), Address::repeat_byte(4), 7);
        let mut store = ChannelStore::load(&path, a, 1).unwrap();
        let mut record = ChannelRecord::new(id, U192::from(50));
        record.balance = U192::from(15);
        store.update(record.clone()).unwrap();
        drop(store);
        let mut other = ChannelStore::load(&path, b, 1).unwrap();
        assert_eq!(other.channels().count(), 0);
        other.update(ChannelRecord::new(id, U192::from(9))).unwrap();
        drop(other);

        let reloaded = ChannelStore::load(&path, a, 1).unwrap();
        assert_eq!(reloaded.get(&id), Some(&record));
        drop(reloaded);
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"balance\": \"15\""), "{text}");
        assert_eq!(ChannelStore::load(&path, b, 1).unwrap().get(&id).unwrap().deposit, U192::from(9));
    }

    #[test]
    fn a_second_store_on_the_same_file_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let id = ChannelId::new(Address::repeat_byte(3), Address::repeat_byte(4), 7);
        let mut first = ChannelStore::load(&path, Address::ZERO, 1).unwrap();
        // A write replaces the file by a rename: the lock must outlive that.
        first.update(ChannelRecord::new(id, U192::from(50))).unwrap();

        // Any contract: a store for another one would write back a stale copy of the first's.
        for contract in [Address::ZERO, Address::repeat_byte(1)] {
            let error = ChannelStore::load(&path, contract, 1).unwrap_err();
            assert!(matches!(&error, Error::StateFileInUse { path: p, .. } if *p == path), "{error}");
            let expected = format!(
                "state file {} is in use by another uraiden process or Client (lock {}.lock is held)",
                path.display(),
                path.display()
            );
            assert!(error.to_string().starts_with(&expected), "{error}");
        }
        assert_eq!(
            fs::metadata(dir.path().join("state.json.lock")).unwrap().permissions().mode() & 0o777,
            0o600
        );

        drop(first);
        let second = ChannelStore::load(&path, Address::ZERO, 1).unwrap();
        assert_eq!(second.get(&id).map(|record| record.deposit), Some(U192::from(50)));
    }

    #[test]
    fn a_damaged_file_is_an_error_not_an_empty_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        fs::write(&path, "{ not json").unwrap();
        let error = ChannelStore::load(&path, Address::ZERO, 1).unwrap_err();
        assert!(error.to_string().contains("not valid"), "{error}");
    }
}
