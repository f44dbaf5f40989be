//! What the receiver stores, whatever the database: channel records and their states, close
//! requests, payments to record and their outcomes, and how much history is kept.

use std::{
    fmt,
    time::{SystemTime, UNIX_EPOCH},
};

use uraiden_protocol::{Address, ChannelId, ChannelKey, ProofSignature, B256, U192};

/// How many of a channel's deposits keep their best proof: those of the last
/// `KEPT_DEPOSIT_PROOFS` distinct deposits payments were accepted within (the highest
/// balances, since balances only grow). A reorg would have to take away more top-ups than
/// that, each paid into, for the receiver to lose more than those top-ups paid.
pub const KEPT_DEPOSIT_PROOFS: usize = 8;

/// How many blocks below the sync head keep their hash and undo information: a reorg whose
/// fork point is within them is rolled back to exactly that point; a deeper one cannot be
/// located, and the sync then re-reads the contract's history from its start block.
pub const KEPT_BLOCKS: u64 = 256;

/// Which receiver a state file belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    pub chain_id: u64,
    pub channel_manager: Address,
    pub receiver: Address,
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "chain id {}, channel manager {}, receiver {}",
            self.chain_id, self.channel_manager, self.receiver
        )
    }
}

/// A block the sync has fully applied: the next poll resumes after it, and checks that the
/// chain still has this hash at this height.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockRef {
    pub number: u64,
    pub hash: B256,
}

/// Where a channel is in its life, from the receiver's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChannelState {
    /// Accepting payments.
    Open,
    /// The receiver handed out a closing signature for the last balance: no more payments,
    /// since the sender may close with it at any time.
    CloseSigned,
    /// The sender requested an uncooperative close ([`ChannelRecord::close_request`]).
    Closing,
    /// The receiver wants to settle on chain but could not (no ETH for gas); retried later.
    ClosePending,
    /// Settled on chain ([`ChannelRecord::settled_balance`]); kept for the record.
    Settled,
}

impl ChannelState {
    /// The name used in the store and in the operator API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::CloseSigned => "close_signed",
            Self::Closing => "closing",
            Self::ClosePending => "close_pending",
            Self::Settled => "settled",
        }
    }

    /// The state named `text` ([`as_str`](Self::as_str)), if any.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Open, Self::CloseSigned, Self::Closing, Self::ClosePending, Self::Settled]
            .into_iter()
            .find(|state| state.as_str() == text)
    }
}

impl ChannelState {
    /// The state of a channel whose chain fields a rollback restores to a state of
    /// `restored`, when it is `current` now: the chain's word, except that the receiver's
    /// own decisions (a closing signature handed out, a close it is sending) stay, since no
    /// reorg takes them back. A settlement the rollback keeps is final.
    pub fn after_rollback(restored: Self, current: Self) -> Self {
        match (restored, current) {
            (Self::Settled, _) => Self::Settled,
            (_, Self::CloseSigned | Self::ClosePending) => current,
            _ => restored,
        }
    }
}

impl fmt::Display for ChannelState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A sender's uncooperative close request, as the contract recorded it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseRequest {
    /// First block in which the sender may `settle`.
    pub settle_block: u64,
    /// The balance the sender claims to owe.
    pub balance: U192,
}

/// One channel to this receiver, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelRecord {
    pub id: ChannelId,
    pub deposit: U192,
    /// Whose balance proofs count besides the sender's (the sender when none was delegated).
    pub signer: Address,
    /// What the receiver already took out with `withdraw`.
    pub withdrawn: U192,
    pub state: ChannelState,
    pub close_request: Option<CloseRequest>,
    /// The final balance once settled.
    pub settled_balance: Option<U192>,
    /// The last accepted cumulative balance (0 before the first payment).
    pub balance: U192,
    /// The sender's (or signer's) signature of [`balance`](Self::balance); `None` before the
    /// first payment.
    pub balance_signature: Option<ProofSignature>,
    /// Unix seconds.
    pub created_at: u64,
    pub updated_at: u64,
}

impl ChannelRecord {
    /// A channel just seen created on chain, with nothing paid yet.
    pub fn opened(id: ChannelId, deposit: U192, signer: Address) -> Self {
        let now = unix_now();
        Self {
            id,
            deposit,
            signer,
            withdrawn: U192::ZERO,
            state: ChannelState::Open,
            close_request: None,
            settled_balance: None,
            balance: U192::ZERO,
            balance_signature: None,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn key(&self) -> ChannelKey {
        self.id.key()
    }

    /// This channel, just created on chain again, with what the receiver kept of its earlier
    /// creation that a reorg undid (`remains`, same key): the last accepted proof, which is
    /// just as valid for the new creation, and the receiver's own decisions about it.
    pub fn with_remains_of(mut self, remains: &Self) -> Self {
        self.balance = remains.balance;
        self.balance_signature = remains.balance_signature;
        self.state = ChannelState::after_rollback(self.state, remains.state);
        self.created_at = remains.created_at;
        self
    }
}

/// One payment to record: `balance` with `signature` becomes the channel's last proof if
/// the stored balance is still `previous` (see [`Store::record_payments`](super::Store::record_payments)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentToRecord {
    pub key: ChannelKey,
    pub previous: U192,
    pub balance: U192,
    pub signature: ProofSignature,
}

/// The outcome of one payment of [`Store::record_payments`](super::Store::record_payments).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentWrite {
    /// Committed durably.
    Recorded,
    /// The channel's balance was no longer the expected previous one, or it stopped being
    /// open: nothing written. Carries the channel as it is now (None if it is gone).
    Conflict(Option<Box<ChannelRecord>>),
}

/// Unix seconds now.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_secs()).unwrap_or(0)
}

/// Where a reading of a store's changes resumes ([`ChannelStore::channels_changed_since`](super::ChannelStore::channels_changed_since));
/// what it counts is the store's own business.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChangeCursor(pub(super) u64);

impl ChangeCursor {
    /// Before every change.
    pub const START: Self = Self(0);
}

/// Where the receiver's state lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreLocation {
    /// An SQLite file (`--state-file`), this process's alone.
    File(std::path::PathBuf),
    /// A PostgreSQL database (`--database-url`), which several instances may share.
    Database(DatabaseUrl),
}

impl From<std::path::PathBuf> for StoreLocation {
    fn from(path: std::path::PathBuf) -> Self {
        Self::File(path)
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "state file {}", path.display()),
            Self::Database(url) => write!(f, "database {url}"),
        }
    }
}

/// A PostgreSQL connection URL. It may hold a password: shown (`Debug`, `Display`) without it.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL itself, password included: only for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redacted(&self.0))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// `url` without its password: what messages and logs may show.
fn redacted(url: &str) -> String {
    let Ok(config) = url.parse::<postgres::Config>() else {
        return "the PostgreSQL database (its URL does not parse)".to_owned();
    };
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
        .map(|(host, port)| match host {
            postgres::config::Host::Tcp(host) => format!("{host}:{port}"),
            postgres::config::Host::Unix(path) => format!("{}:{port}", path.display()),
        })
        .collect();
    format!(
        "postgres://{}@{}/{}",
        config.get_user().unwrap_or(""),
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}
