//! The channel manager: the receiver's money core. It knows every channel to this receiver
//! (an in-memory index loaded from the [store](crate::store) and kept current by the
//! chain sync (`chain/sync.rs`)), decides on each paying request without touching the chain,
//! and makes an accepted payment durable before it says yes.
//!
//! What the HTTP side calls:
//! - [`ChannelManager::accept_payment`]: the hot path of every paid request, decided by the
//!   payment rule ([`decide_payment`]: `rules.rs`), which the paywall's early filter and the
//!   HTTP tests' fake backend use too.
//! - [`ChannelManager::sign_cooperative_close`]: `DELETE /api/1/channels/<sender>/<block>`.
//! - [`ChannelManager::last_proof`]: the last accepted proof, for a 402 to its own sender.
//! - [`ChannelManager::channel`], [`ChannelManager::channels`], [`ChannelManager::stats`]:
//!   the REST API; [`ChannelManager::health`]: 502 decisions, from background checks only.
//!
//! Who may see the last proof, or close: proofs travel in headers and cookies and leak, so
//! holding one, even the last, proves nothing. The channel's last accepted proof
//! ([`LastProof`], echoed as `RDN-Sender-Balance` / `RDN-Balance-Signature`) is given only for
//! a fresh [`SignedStatusRequest`], and a closing signature only for a fresh
//! [`SignedCloseRequest`] over the last balance, each signed by the channel's sender or signer
//! with a deadline the protocol's rule accepts by this receiver's clock
//! ([`uraiden_protocol::check_request_deadline`]).
//!
//! Reorgs: while the chain sync (`chain/sync.rs`) reconciles one (from noticing it until the
//! replacement blocks are read), payments are refused with [`PaymentRejected::Unavailable`]
//! (a 502) and [`NodeHealth::reconciling`] says so; the rollback itself changes the channels
//! in the store and in memory in one step. A rollback that lowers a channel's deposit below
//! its last accepted balance (a top-up taken away) keeps that balance: the channel takes
//! payments again only above it, once the sender tops up again, so that no proof pays twice;
//! closes and disputes use the best proof kept within the deposit on chain (see
//! `chain/duties.rs`).
//!
//! A channel whose sender requested an uncooperative close, or for which the receiver signed
//! a cooperative close, or which is settled, refuses payments with `NonexistingChannel`: the
//! seed's header means "unknown or closed", and the sender must open a new channel either way.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, MutexGuard, TryLockError,
    },
    time::{Duration, Instant},
};

use alloy::providers::{DynProvider, Provider};
use tokio::sync::watch;
use uraiden_chain::contracts::RaidenMicroTransferChannels;
use uraiden_protocol::{
    channel_manager_domain, recover_balance_proof_signer, Address, ChannelId, ChannelKey, Eip712Domain,
    LocalSigningKey, PaymentHeaders, ProofSignature, Refusal, SignedCloseRequest, SignedStatusRequest, U192,
    U256,
};

use super::{
    events::{apply_event, ChainEvent, ChainEventKind},
    rules::{decide_payment, OpenChannel, PayableChannel},
    writer::{PaymentWriter, WriterStopped},
};
use crate::store::{
    leadership_for, open_store, BlockRef, ChangeCursor, ChannelRecord, ChannelState, ChannelStore,
    CloseRequest, Durability, Identity, Leadership, PaymentToRecord, PaymentWrite, StoreError, StoreLocation,
};

/// The outcome of one payment in the payment writer: `Ok` once durable.
type PaymentOutcome = Result<(), PaymentRejected>;

/// The default of `--confirmations`: an event counts once its block has 2 more on top. A
/// reorg that replaces the last 1 or 2 blocks (the common ones: two miners or validators
/// racing for the head) then never undoes an event the receiver acted on; a deeper one is
/// still noticed and rolled back (see `chain/sync.rs`), but payments accepted meanwhile on a
/// channel that vanished are lost.
pub const DEFAULT_CONFIRMATIONS: u64 = 3;

/// What [`ChannelManager::start`] needs.
#[derive(Clone, Debug)]
pub struct ChannelManagerConfig {
    /// The node, with a wallet that pays for the receiver's transactions (disputes and
    /// settlements; `cooperativeClose` may be sent by any account).
    pub provider: DynProvider,
    /// The receiver's key: signs closing proofs. Its address is the receiver.
    pub receiver_key: LocalSigningKey,
    /// The `RaidenMicroTransferChannels` contract.
    pub channel_manager: Address,
    /// Where the state lives: the SQLite file (`--state-file`) or a PostgreSQL database
    /// (`--database-url`) that other instances share.
    pub store: StoreLocation,
    /// What an accepted payment in the SQLite file survives (`--durability`); default: kill -9,
    /// as SPEC §5 asks.
    pub durability: Durability,
    /// Blocks an event needs, its own included, before it counts (1: mined is enough; a reorg
    /// of depth `confirmations` or more replaces blocks the receiver had confirmed, and is
    /// rolled back). Default [`DEFAULT_CONFIRMATIONS`].
    pub confirmations: u64,
    /// How often the chain is polled for new blocks.
    pub poll_interval: Duration,
    /// First block to read events from when the state has never followed the chain:
    /// the channel manager's deployment block.
    pub start_block: u64,
    /// Largest block range of one `eth_getLogs`.
    pub log_chunk_blocks: u64,
    /// Below this ETH balance the receiver cannot be trusted to close channels: `health()`
    /// reports `receiver_eth_low`.
    pub min_eth_balance: U256,
    /// How often the receiver's ETH and token balances are read.
    pub balance_check_interval: Duration,
    /// Whether the receiver disputes low uncooperative closes and settles honest ones on its
    /// own (`chain/duties.rs`).
    pub on_chain_duties: bool,
    /// `--gas-price`: the gas price (wei) of every transaction the receiver sends, as a legacy
    /// transaction (raised by an eighth each time one is sent again for not being mined);
    /// `None`: the node's EIP-1559 fee estimate.
    pub gas_price: Option<u128>,
    /// `--withdraw-threshold`: the duties withdraw a channel's earned balance once this much is
    /// unwithdrawn; `None`: only when the operator asks.
    pub withdraw_threshold: Option<U192>,
    /// `--close-signed-timeout`: blocks after which the receiver itself closes a channel whose
    /// sender got a closing signature but did not close; `None`: never.
    pub close_signed_timeout: Option<u64>,
    /// Polls after which one of the receiver's transactions that is not mined is sent again
    /// at its nonce with a higher fee. Default 30 (a minute at the default poll).
    pub resend_unmined_after_polls: u32,
    /// How long one of the receiver's transactions may wait unmined before the health reports
    /// it (it keeps being sent again at its nonce). Default 300 s.
    pub receipt_timeout: Duration,
}

impl ChannelManagerConfig {
    /// A configuration with the defaults: [`DEFAULT_CONFIRMATIONS`], a poll every 2 s, chunks
    /// of 2,000 blocks, 0.01 ETH minimum, balances read every 30 s, duties on.
    pub fn new(
        provider: DynProvider,
        receiver_key: LocalSigningKey,
        channel_manager: Address,
        store: impl Into<StoreLocation>,
        start_block: u64,
    ) -> Self {
        Self {
            provider,
            receiver_key,
            channel_manager,
            store: store.into(),
            durability: Durability::default(),
            confirmations: DEFAULT_CONFIRMATIONS,
            poll_interval: Duration::from_secs(2),
            start_block,
            log_chunk_blocks: 2_000,
            min_eth_balance: U256::from(10_000_000_000_000_000u64),
            balance_check_interval: Duration::from_secs(30),
            on_chain_duties: true,
            gas_price: None,
            withdraw_threshold: None,
            close_signed_timeout: None,
            resend_unmined_after_polls: 30,
            receipt_timeout: Duration::from_secs(300),
        }
    }
}

/// Why the channel manager could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot reach the Ethereum node while {action}: {reason}")]
    Node { action: &'static str, reason: String },
    #[error("no RaidenMicroTransferChannels contract answers at {address}: {reason}; check --channel-manager-address and --rpc-provider")]
    NoContract { address: Address, reason: String },
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// A payment the receiver accepted and stored durably: serve the content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcceptedPayment {
    pub channel: ChannelId,
    /// The new last accepted balance.
    pub balance: U192,
    pub signature: ProofSignature,
}

/// The last accepted proof of a channel, for `RDN-Sender-Balance` and
/// `RDN-Balance-Signature`: only for a fresh request by its sender or signer (see the module's
/// note).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastProof {
    pub sender: Address,
    pub open_block: u32,
    pub balance: U192,
    /// `None` before the first payment.
    pub signature: Option<ProofSignature>,
}

/// Why a payment was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PaymentRejected {
    /// A 402 with the refusal's header (the last proof only for a status request, see
    /// [`ChannelManager::last_proof`]).
    #[error("{refusal}")]
    Refused { refusal: Refusal },
    /// The request pays another contract or receiver (a 409 with this message).
    #[error("{0}")]
    WrongGateway(String),
    /// The receiver cannot decide safely now, e.g. still catching up with the chain (a 502).
    #[error("{0}")]
    Unavailable(String),
    /// The state file failed: the payment was not recorded (a 500; details are logged).
    #[error("{0}")]
    Store(String),
}

/// Why a cooperative close signature was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CloseRefused {
    #[error("the receiver knows no open channel from {sender} opened in block {open_block}")]
    UnknownChannel { sender: Address, open_block: u32 },
    #[error("the channel is already settled")]
    Settled,
    /// The close request is stale or not by the channel's sender or signer.
    #[error("{0}")]
    NotAuthorized(uraiden_protocol::Error),
    /// The request is authentic but for another balance than the last accepted one, which
    /// its signer may see.
    #[error("the close request is for another balance than the channel's last accepted {}", last.balance)]
    NotLastBalance { last: LastProof },
    #[error("{0}")]
    Store(String),
}

/// Why a status request got no last proof.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StatusRefused {
    /// The channel is unknown, closed or unconfirmed: what a payment would be refused with.
    #[error("{0}")]
    Channel(Refusal),
    /// The status request is stale or not by the channel's sender or signer.
    #[error("{0}")]
    NotAuthorized(uraiden_protocol::Error),
}

/// A channel as the operator API shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelSnapshot {
    pub id: ChannelId,
    /// Confirmed deposit.
    pub deposit: U192,
    /// Top-ups seen but not confirmed yet.
    pub unconfirmed_top_up: U192,
    pub signer: Address,
    /// Last accepted balance.
    pub balance: U192,
    pub balance_signature: Option<ProofSignature>,
    pub withdrawn: U192,
    pub state: ChannelState,
    pub close_request: Option<CloseRequest>,
    pub settled_balance: Option<U192>,
    /// Whether the creation is confirmed (unconfirmed channels take no payment yet).
    pub confirmed: bool,
    /// Unix seconds.
    pub created_at: u64,
    pub updated_at: u64,
}

/// Totals for `GET /api/1/stats` (the seed's fields, amounts in token base units).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChannelStats {
    /// Open channels (confirmed, taking payments).
    pub open_channels: u64,
    /// Channels closing but not settled (uncooperative close, signed close, close pending).
    pub pending_channels: u64,
    pub settled_channels: u64,
    pub unconfirmed_channels: u64,
    /// Sum of the deposits of open and pending channels.
    pub deposit_sum: U256,
    /// Sum of accepted balances not settled yet, minus what was withdrawn.
    pub balance_sum: U256,
    /// Senders with an open or pending channel.
    pub unique_senders: u64,
    /// The receiver's token balance (outside channels), as last read in the background.
    pub liquid_balance: Option<U256>,
}

/// The node's and receiver's condition, maintained by background tasks (never computed per
/// request).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeHealth {
    /// The last poll of the node succeeded.
    pub node_reachable: bool,
    /// The receiver's ETH is below the configured minimum: closes may fail.
    pub receiver_eth_low: bool,
    /// Blocks between the chain head and what the receiver has read.
    pub sync_lag_blocks: u64,
    /// The chain head at the last poll.
    pub chain_head: u64,
    /// The last block whose events are applied as confirmed.
    pub confirmed_block: u64,
    /// The first catch-up with the chain since start is done (payments are refused before).
    pub caught_up: bool,
    /// A reorg (or a read that did not add up) is being reconciled: what was applied after
    /// the fork point is rolled back and the new blocks are being read. Payments are refused
    /// meanwhile; `last_error` says why.
    pub reconciling: bool,
    /// Since start, a reorg replaced blocks the receiver had confirmed. It was rolled back,
    /// but payments accepted meanwhile on channels that vanished are lost: raise
    /// `--confirmations`.
    pub reorg_beyond_confirmations: bool,
    /// Since start, a reorg went deeper than the block history the receiver keeps
    /// ([`crate::store::KEPT_BLOCKS`]): the contract's history was read again from the start.
    pub reorg_beyond_history: bool,
    pub receiver_eth_balance: Option<U256>,
    pub receiver_token_balance: Option<U256>,
    /// The last error of a background task, for the operator.
    pub last_error: Option<String>,
}

/// The receiver's channels: a cheap `Clone` handle.
#[derive(Clone, Debug)]
pub struct ChannelManager {
    shared: Arc<Shared>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    identity: Identity,
    domain: Eip712Domain,
    receiver_key: LocalSigningKey,
    pub(crate) token: Address,
    pub(crate) confirmations: u64,
    pub(crate) challenge_period: u64,
    /// std Mutex: only locked on blocking threads (`spawn_blocking`, the payment writer) for
    /// one statement or transaction, never across an `.await`; an async worker only tries it
    /// ([`commit_alone`](Self::commit_alone)). Writes are serialized here (SQLite has one
    /// writer anyway); the lock order is store, then view.
    store: Mutex<Box<dyn ChannelStore>>,
    /// The store's [`commits_in_memory`](ChannelStore::commits_in_memory), read once: a lone
    /// payment may then be committed on the async worker that accepted it.
    commits_in_memory: bool,
    /// Group commit of payments: the path by which payments reach `store` (but a lone one
    /// on a store that commits in memory, [`commit_alone`](Self::commit_alone)).
    payments: PaymentWriter<PaymentOutcome>,
    /// Whether this instance follows the chain and performs the duties (always, with a file;
    /// while it holds the lease, with a database other instances share).
    leadership: Leadership,
    /// Re-reads of channels that anyone may cause (unknown or unconfirmed channels, status and
    /// close requests before their signature is checked), bounded.
    second_looks: Mutex<SecondLooks>,
    /// std Mutex: held for a few map operations at a time, never across an `.await`.
    view: Mutex<View>,
    health: Mutex<NodeHealth>,
    /// Set once the first catch-up with the chain is done.
    caught_up: AtomicBool,
    /// Set from a fork's detection until the new blocks are read: payments wait meanwhile.
    reconciling: AtomicBool,
    /// The highest block the view covers (confirmed and unconfirmed), for waiters.
    covered: watch::Sender<u64>,
}

/// What the manager knows in memory.
#[derive(Debug, Default)]
struct View {
    /// Channels whose creation is confirmed (also settled ones), as in the store.
    channels: HashMap<ChannelKey, ChannelRecord>,
    /// Events in blocks not confirmed yet; replaced as a whole at every poll, so an event
    /// that a reorg dropped disappears with it.
    pending: PendingEvents,
    sync_head: Option<BlockRef>,
}

#[derive(Debug, Default)]
struct PendingEvents {
    created: HashMap<ChannelKey, ChannelRecord>,
    topped_up: HashMap<ChannelKey, U192>,
    /// Close requests and settlements: refuse payments as soon as they are seen.
    closing: HashSet<ChannelKey>,
}

impl ChannelManager {
    /// Opens the state file and loads the channels. Needs the node (chain id, contract) to
    /// open; payments are refused with [`PaymentRejected::Unavailable`] until the chain sync
    /// (started by the composition root, see `receiver.rs`) has caught up for the first time.
    pub(crate) async fn open(config: &ChannelManagerConfig) -> Result<Self, StartError> {
        if config.confirmations == 0 {
            return Err(StartError::Config("confirmations must be at least 1 (1: mined is enough)".into()));
        }
        if config.log_chunk_blocks == 0 {
            return Err(StartError::Config("the log chunk must be at least one block".into()));
        }
        let provider = config.provider.clone();
        let chain_id = provider
            .get_chain_id()
            .await
            .map_err(|e| StartError::Node { action: "reading the chain id", reason: e.to_string() })?;
        let contract = RaidenMicroTransferChannels::new(config.channel_manager, provider.clone());
        let no_contract = |e: alloy::contract::Error| StartError::NoContract {
            address: config.channel_manager,
            reason: e.to_string(),
        };
        let challenge_period = contract.challengePeriod().call().await.map_err(no_contract)?;
        let token = contract.token().call().await.map_err(no_contract)?;

        let identity = Identity {
            chain_id,
            channel_manager: config.channel_manager,
            receiver: config.receiver_key.address(),
        };
        let location = config.store.clone();
        let durability = config.durability;
        let (store, channels, sync_head) = tokio::task::spawn_blocking(move || {
            let mut store = open_store(&location, identity, durability)?;
            let channels = store.load_channels()?;
            let head = store.sync_head()?;
            Ok::<_, StoreError>((store, channels, head))
        })
        .await
        .map_err(|e| StartError::Config(format!("loading the state failed: {e}")))??;
        tracing::info!(
            store = %config.store,
            channels = channels.len(),
            sync_head = ?sync_head.map(|head| head.number),
            "channel manager state loaded"
        );

        let view = View {
            channels: channels.into_iter().map(|record| (record.key(), record)).collect(),
            pending: PendingEvents::default(),
            sync_head,
        };
        let leadership = leadership_for(&config.store)
            .map_err(|source| StartError::Config(format!("cannot start the lease thread: {source}")))?;
        // Nothing is covered before the first poll: the unconfirmed view is still empty.
        let (covered, _) = watch::channel(0);
        let (payments, payment_queue) = PaymentWriter::new();
        let manager = Self {
            shared: Arc::new(Shared {
                identity,
                domain: channel_manager_domain(chain_id, config.channel_manager),
                receiver_key: config.receiver_key.clone(),
                token,
                confirmations: config.confirmations,
                challenge_period: u64::from(challenge_period),
                commits_in_memory: store.commits_in_memory(),
                store: Mutex::new(store),
                payments,
                leadership,
                second_looks: Mutex::new(SecondLooks::default()),
                view: Mutex::new(view),
                health: Mutex::new(NodeHealth::default()),
                caught_up: AtomicBool::new(false),
                reconciling: AtomicBool::new(false),
                covered,
            }),
        };
        // A weak handle: the writer thread must not keep the store (and its file lock) alive
        // once every handle of the manager is dropped; its queue disconnects then and it ends.
        let writer = Arc::downgrade(&manager.shared);
        payment_queue
            .start(move |batch| match writer.upgrade() {
                Some(shared) => shared.record_payments(batch),
                None => {
                    batch.iter().map(|_| Err(PaymentRejected::Store("the receiver stopped".into()))).collect()
                }
            })
            .map_err(|source| {
                StartError::Config(format!("cannot start the payment writer thread: {source}"))
            })?;
        Ok(manager)
    }

    /// The receiver's address.
    pub fn receiver(&self) -> Address {
        self.shared.identity.receiver
    }

    /// The channel manager contract.
    pub fn contract(&self) -> Address {
        self.shared.identity.channel_manager
    }

    /// The token of the channel manager contract.
    pub fn token(&self) -> Address {
        self.shared.token
    }

    pub fn chain_id(&self) -> u64 {
        self.shared.identity.chain_id
    }

    /// The EIP-712 domain of balance and closing proofs.
    pub fn domain(&self) -> &Eip712Domain {
        &self.shared.domain
    }

    /// Decides on a paying request: checks the proof against the channel in memory (no chain
    /// call, no scan), then records it durably with a compare-and-set on the previous
    /// balance, so that of concurrent requests paying for the same balance exactly one wins.
    /// `price` must be positive: free resources need no payment.
    pub async fn accept_payment(
        &self,
        payment: &PaymentHeaders,
        price: U192,
    ) -> Result<AcceptedPayment, PaymentRejected> {
        let identity = &self.shared.identity;
        if payment.contract != identity.channel_manager || payment.receiver != identity.receiver {
            return Err(PaymentRejected::WrongGateway(format!(
                "this receiver is {} on channel manager {}; the payment is for receiver {} on {}",
                identity.receiver, identity.channel_manager, payment.receiver, payment.contract
            )));
        }
        if !self.shared.caught_up.load(Ordering::Acquire) {
            return Err(PaymentRejected::Unavailable(
                "the receiver is still catching up with the chain; retry shortly".into(),
            ));
        }
        if self.shared.reconciling.load(Ordering::Acquire) {
            return Err(PaymentRejected::Unavailable(
                "the receiver is reconciling a chain reorg (re-reading the replaced blocks); retry shortly"
                    .into(),
            ));
        }
        let id = payment.channel_id();
        let key = id.key();
        let refused = |refusal| Err(PaymentRejected::Refused { refusal });

        let recover = || {
            recover_balance_proof_signer(
                &self.shared.domain,
                &payment.balance_proof(),
                &payment.balance_signature,
            )
            .ok()
        };
        let balance = payment.balance;
        // Recovered once, whichever decision needs it first.
        let mut recovered: Option<Option<Address>> = None;
        let mut decision =
            decide_payment(&self.standing(key), || *recovered.get_or_insert_with(recover), balance, price)
                .map(|open| open.balance);
        if let Err(refusal) = decision {
            let anyone_may_ask =
                matches!(refusal, Refusal::NonexistingChannel | Refusal::InsufficientConfirmations);
            if self.shared.leadership.is_shared()
                && another_instance_may_change(refusal)
                && (!anyone_may_ask || self.shared.second_looks().allow(key, Instant::now()))
            {
                // The view is a cache of a database other instances write and the leader
                // updates from the chain: the channel as it is now decides.
                self.refresh_channel(key).await.map_err(|error| {
                    tracing::error!(%error, "re-reading a channel before refusing a payment failed");
                    PaymentRejected::Store("the receiver could not read the channel; retry later".into())
                })?;
                decision =
                    decide_payment(&self.standing(key), || recovered.unwrap_or_else(recover), balance, price)
                        .map(|open| open.balance);
            }
        }
        let previous = match decision {
            Ok(previous) => previous,
            Err(refusal) => return refused(refusal),
        };

        let signature = payment.balance_signature;
        let payment = PaymentToRecord { key, previous, balance, signature };
        // Durable once this returns Ok: committed here when the writer is idle and the commit
        // does not wait for the disk, else together with the payments that arrived meanwhile
        // (`writer.rs`). If the request is dropped while waiting, the write still completes
        // and memory follows it, so store and memory never disagree.
        match self.shared.commit_alone(payment) {
            Some(outcome) => outcome,
            None => self.shared.payments.record(payment).await.map_err(|WriterStopped| {
                PaymentRejected::Store("the receiver's payment writer stopped; retry later".into())
            })?,
        }?;
        Ok(AcceptedPayment { channel: id, balance, signature })
    }

    /// The channel as the payment rule sees it now, from memory.
    fn standing(&self, key: ChannelKey) -> PayableChannel {
        let view = self.shared.view();
        match view.channels.get(&key) {
            Some(channel) if channel.state == ChannelState::Open && !view.pending.closing.contains(&key) => {
                PayableChannel::Open(OpenChannel {
                    sender: channel.id.sender,
                    signer: channel.signer,
                    balance: channel.balance,
                    deposit: channel.deposit,
                    unconfirmed_top_up: view.pending.topped_up.get(&key).copied().unwrap_or_default(),
                })
            }
            None if view.pending.created.contains_key(&key) => PayableChannel::Unconfirmed,
            _ => PayableChannel::Closed,
        }
    }

    /// Whether this instance follows the chain and performs the on-chain duties now.
    pub fn is_leader(&self) -> bool {
        self.shared.leadership.is_leader()
    }

    /// Whether other instances share this instance's database.
    pub(crate) fn is_shared(&self) -> bool {
        self.shared.leadership.is_shared()
    }

    /// With a shared database, reads the channel again before answering for it: another
    /// instance may have taken a payment on it since. A failed read leaves memory as it is.
    async fn second_look(&self, key: ChannelKey) {
        // Asked before any signature is checked: bounded like the refusals of unknown channels.
        if self.is_shared() && self.shared.second_looks().allow(key, Instant::now()) {
            if let Err(error) = self.refresh_channel(key).await {
                tracing::warn!(%error, "re-reading a channel failed; answering from memory");
            }
        }
    }

    /// Reads one channel from the store into memory (gone from the store: gone from memory).
    async fn refresh_channel(&self, key: ChannelKey) -> Result<(), StoreError> {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || {
            let mut store = shared.store();
            shared.read_into_view(store.as_mut(), key)
        })
        .await
        .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()))
    }

    /// Brings memory up to the store for the channels written since `cursor`
    /// ([`ChangeCursor::START`]: all) and the sync head: how an instance follows what the
    /// leader and the other instances write to a shared database. A follower (`follower`)
    /// takes payments once the leader has followed the chain; a leader, only once it has caught
    /// up itself. Returns the cursor of the next read.
    pub(crate) async fn refresh_from_store(
        &self,
        cursor: ChangeCursor,
        follower: bool,
    ) -> Result<ChangeCursor, StoreError> {
        let shared = Arc::clone(&self.shared);
        let (next, head) = tokio::task::spawn_blocking(move || {
            let mut store = shared.store();
            let (changed, next) = store.channels_changed_since(cursor)?;
            let head = store.sync_head()?;
            let mut view = shared.view();
            for (record, on_chain) in changed {
                let key = record.key();
                if on_chain {
                    view.pending.created.remove(&key);
                    view.channels.insert(key, record);
                } else {
                    view.channels.remove(&key);
                }
            }
            view.sync_head = head;
            Ok::<_, StoreError>((next, head))
        })
        .await
        .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()))?;
        if let (Some(head), true) = (head, follower) {
            self.shared.covered.send_if_modified(|covered| {
                let moved = *covered < head.number;
                *covered = (*covered).max(head.number);
                moved
            });
            self.shared.caught_up.store(true, Ordering::Release);
        }
        Ok(next)
    }

    /// The channel's last accepted proof, for a fresh status request by its sender or signer
    /// (deadline by this receiver's clock). Answers from memory, read again first from a
    /// database other instances share.
    pub async fn last_proof(&self, request: &SignedStatusRequest) -> Result<LastProof, StatusRefused> {
        let key = request.channel.key();
        self.second_look(key).await;
        let view = self.shared.view();
        let channel = match view.channels.get(&key) {
            Some(channel) if channel.state == ChannelState::Open && !view.pending.closing.contains(&key) => {
                channel
            }
            Some(_) => return Err(StatusRefused::Channel(Refusal::NonexistingChannel)),
            None if view.pending.created.contains_key(&key) => {
                return Err(StatusRefused::Channel(Refusal::InsufficientConfirmations))
            }
            None => return Err(StatusRefused::Channel(Refusal::NonexistingChannel)),
        };
        request
            .verify(&self.shared.domain, channel.signer, crate::store::unix_now())
            .map_err(StatusRefused::NotAuthorized)?;
        Ok(last_proof(channel))
    }

    /// Signs a `ClosingProof` for the channel's last accepted balance, so the sender can
    /// `cooperativeClose` at once: only for a fresh close request by the channel's sender or
    /// signer over exactly that balance (zero for a channel nothing was paid on). Holding a
    /// balance proof is not enough: proofs leak. The channel then takes no more payments.
    pub async fn sign_cooperative_close(
        &self,
        request: &SignedCloseRequest,
    ) -> Result<ProofSignature, CloseRefused> {
        let id = request.channel;
        let key = id.key();
        self.second_look(key).await;
        let (state, balance) = {
            let view = self.shared.view();
            let channel = match view.channels.get(&key) {
                Some(channel) if id.receiver == self.shared.identity.receiver => channel,
                _ => {
                    return Err(CloseRefused::UnknownChannel {
                        sender: id.sender,
                        open_block: id.open_block_number,
                    })
                }
            };
            if channel.state == ChannelState::Settled {
                return Err(CloseRefused::Settled);
            }
            request
                .verify(&self.shared.domain, channel.signer, crate::store::unix_now())
                .map_err(CloseRefused::NotAuthorized)?;
            if request.balance != channel.balance {
                return Err(CloseRefused::NotLastBalance { last: last_proof(channel) });
            }
            (channel.state, channel.balance)
        };
        if state == ChannelState::Open {
            // Durable before the signature leaves: after a restart the channel must still
            // refuse payments above the balance the sender can now close with.
            let shared = Arc::clone(&self.shared);
            let marked =
                tokio::task::spawn_blocking(move || shared.mark_close_signed(key, balance))
                    .await
                    .map_err(|error| CloseRefused::Store(format!("the state writer failed: {error}")))??;
            if !marked {
                // A payment moved the balance on meanwhile.
                let last = self.shared.view().channels.get(&key).map(last_proof);
                return Err(match last {
                    Some(last) => CloseRefused::NotLastBalance { last },
                    None => {
                        CloseRefused::UnknownChannel { sender: id.sender, open_block: id.open_block_number }
                    }
                });
            }
        }
        self.sign_closing_proof(id, balance).map_err(|e| CloseRefused::Store(e.to_string()))
    }

    /// One channel (confirmed or not), by sender and open block.
    pub fn channel(&self, sender: Address, open_block: u32) -> Option<ChannelSnapshot> {
        let key = ChannelId::new(sender, self.shared.identity.receiver, open_block).key();
        let view = self.shared.view();
        view.channels
            .get(&key)
            .map(|record| snapshot(record, &view.pending, true))
            .or_else(|| view.pending.created.get(&key).map(|record| snapshot(record, &view.pending, false)))
    }

    /// Every channel, confirmed or not, settled ones included, ordered by sender and block.
    pub fn channels(&self) -> Vec<ChannelSnapshot> {
        let view = self.shared.view();
        let mut all: Vec<_> = view
            .channels
            .values()
            .map(|record| snapshot(record, &view.pending, true))
            .chain(view.pending.created.values().map(|record| snapshot(record, &view.pending, false)))
            .collect();
        all.sort_by_key(|channel| (channel.id.sender, channel.id.open_block_number));
        all
    }

    /// Counts and totals over the channels in memory.
    pub fn stats(&self) -> ChannelStats {
        let liquid_balance = self.shared.health().receiver_token_balance;
        let view = self.shared.view();
        let mut stats = ChannelStats {
            unconfirmed_channels: view.pending.created.len() as u64,
            liquid_balance,
            ..ChannelStats::default()
        };
        let mut senders = HashSet::new();
        for channel in view.channels.values() {
            match channel.state {
                ChannelState::Open => stats.open_channels += 1,
                ChannelState::Settled => {
                    stats.settled_channels += 1;
                    continue;
                }
                _ => stats.pending_channels += 1,
            }
            senders.insert(channel.id.sender);
            stats.deposit_sum += U256::from(channel.deposit);
            stats.balance_sum += U256::from(channel.balance.saturating_sub(channel.withdrawn));
        }
        stats.unique_senders = senders.len() as u64;
        stats
    }

    /// The node's and receiver's condition as of the last background checks.
    pub fn health(&self) -> NodeHealth {
        self.shared.health().clone()
    }

    /// Waits until the manager has read the chain up to `block` (its confirmed and
    /// unconfirmed events), or `timeout` passes; returns whether it got there. For tests and
    /// tools that just sent a transaction.
    pub async fn wait_for_block(&self, block: u64, timeout: Duration) -> bool {
        let mut covered = self.shared.covered.subscribe();
        tokio::time::timeout(timeout, covered.wait_for(|&covered| covered >= block))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    pub(crate) fn sign_closing_proof(
        &self,
        id: ChannelId,
        balance: U192,
    ) -> uraiden_protocol::Result<ProofSignature> {
        self.shared.receiver_key.sign_closing_proof(&self.shared.domain, &id.closing_proof(balance))
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Applies confirmed events and moves the sync head, in one store transaction, then
    /// mirrors the changes in memory. Returns the channels that changed.
    pub(crate) async fn commit_confirmed(
        &self,
        events: Vec<ChainEvent>,
        head: BlockRef,
    ) -> Result<Vec<ChannelRecord>, StoreError> {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || shared.commit_confirmed(&events, head))
            .await
            .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()))
    }

    /// Undoes the confirmed events after `fork` (see
    /// `ChainBatch::roll_back_after`) and makes
    /// `fork` the sync head, in one store transaction, then mirrors it in memory: the
    /// unconfirmed view is emptied and the view covers `fork` only, until the sync has read
    /// the new blocks. Returns the channels that changed.
    pub(crate) async fn roll_back_to(&self, fork: BlockRef) -> Result<Vec<ChannelKey>, StoreError> {
        let shared = Arc::clone(&self.shared);
        let keys = tokio::task::spawn_blocking(move || shared.roll_back(Some(fork.number), fork))
            .await
            .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()))?;
        Ok(keys)
    }

    /// Takes every channel off chain (keeping the accepted proofs) and makes `anchor` the sync
    /// head, for a reorg deeper than the kept history: the sync re-reads everything after it.
    pub(crate) async fn forget_chain(&self, anchor: BlockRef) -> Result<Vec<ChannelKey>, StoreError> {
        let shared = Arc::clone(&self.shared);
        let keys = tokio::task::spawn_blocking(move || shared.roll_back(None, anchor))
            .await
            .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()))?;
        Ok(keys)
    }

    /// The channel's highest accepted proof within `deposit` (see
    /// [`ChannelStore::best_proof_within`]), for closing after a reorg took a top-up away.
    pub(crate) async fn best_proof_within(
        &self,
        key: ChannelKey,
        deposit: U192,
    ) -> Result<Option<(U192, ProofSignature)>, StoreError> {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || shared.store().best_proof_within(key, deposit))
            .await
            .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()))
    }

    /// The recent blocks the confirmed state is built on, newest first.
    pub(crate) async fn block_history(&self) -> Result<Vec<BlockRef>, StoreError> {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || shared.store().block_history())
            .await
            .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()))
    }

    /// From a fork's detection until the new blocks are read (`true`), payments are refused
    /// with [`PaymentRejected::Unavailable`].
    pub(crate) fn set_reconciling(&self, reconciling: bool) {
        if self.shared.reconciling.swap(reconciling, Ordering::AcqRel) != reconciling {
            if reconciling {
                tracing::warn!("reconciling the channels with the chain: payments are refused meanwhile");
            } else {
                tracing::info!("reconciled with the chain: accepting payments");
            }
        }
        self.update_health(|health| health.reconciling = reconciling);
    }

    /// Replaces the unconfirmed events with those of the latest poll, marks the view as
    /// covering the chain up to `covered`, and so the manager as caught up and reconciled.
    pub(crate) fn replace_unconfirmed(&self, events: &[ChainEvent], covered: u64) {
        let mut pending = PendingEvents::default();
        {
            let view = self.shared.view();
            for event in events {
                let key = event.channel_key(self.shared.identity.receiver);
                match event.kind {
                    ChainEventKind::Created { .. } => {
                        if let Some(record) = apply_event(
                            None,
                            event,
                            self.shared.identity.receiver,
                            self.shared.challenge_period,
                        ) {
                            if !view.channels.contains_key(&key) {
                                pending.created.insert(key, record);
                            }
                        }
                    }
                    ChainEventKind::ToppedUp { added } => {
                        let sum = pending.topped_up.entry(key).or_default();
                        *sum = sum.saturating_add(added);
                    }
                    ChainEventKind::CloseRequested { .. } | ChainEventKind::Settled { .. } => {
                        pending.closing.insert(key);
                    }
                    ChainEventKind::Withdrawn { .. } => {}
                }
            }
        }
        self.shared.view().pending = pending;
        // Caught up before waiters of `covered` wake, so they find payments accepted.
        self.set_reconciling(false);
        self.set_caught_up();
        self.shared.covered.send_if_modified(|previous| {
            let moved = covered > *previous;
            *previous = (*previous).max(covered);
            moved
        });
    }

    /// The block the confirmed state ends with, if the chain was ever followed.
    pub(crate) fn sync_head(&self) -> Option<BlockRef> {
        self.shared.view().sync_head
    }

    fn set_caught_up(&self) {
        if !self.shared.caught_up.swap(true, Ordering::AcqRel) {
            tracing::info!("channel manager caught up with the chain: accepting payments");
        }
    }

    pub(crate) fn update_health(&self, update: impl FnOnce(&mut NodeHealth)) {
        update(&mut self.shared.health());
    }

    /// Confirmed channels in the given states (background duties; not a per-request path).
    pub(crate) fn channels_in(&self, states: &[ChannelState]) -> Vec<ChannelRecord> {
        self.shared
            .view()
            .channels
            .values()
            .filter(|record| states.contains(&record.state))
            .cloned()
            .collect()
    }

    /// One confirmed channel by key (background duties; not a per-request path).
    pub(crate) fn channel_record(&self, key: ChannelKey) -> Option<ChannelRecord> {
        self.shared.view().channels.get(&key).cloned()
    }

    /// Records a state the receiver chose (e.g. `ClosePending`) in store and memory; a settled
    /// channel stays settled.
    pub(crate) async fn set_state(&self, key: ChannelKey, state: ChannelState) -> Result<(), StoreError> {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || {
            let mut store = shared.store();
            store.set_state(key, state)?;
            // Read back: with a shared database, other instances' payments up to the state
            // change are in it, and what follows (a close with the final balance) needs them.
            shared.read_into_view(store.as_mut(), key)
        })
        .await
        .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()))
    }
}

impl Shared {
    /// Locks the view. A panic while holding it cannot leave it half-updated in a way that
    /// matters more than stopping payments would, so a poisoned lock is taken over.
    fn view(&self) -> MutexGuard<'_, View> {
        self.view.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn store(&self) -> MutexGuard<'_, Box<dyn ChannelStore>> {
        self.store.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reads one channel from `store` (held by the caller: the lock order is store, then view)
    /// into memory; gone from the store, gone from memory.
    fn read_into_view(&self, store: &mut dyn ChannelStore, key: ChannelKey) -> Result<(), StoreError> {
        let now = store.channel(key)?;
        let mut view = self.view();
        match now {
            Some(record) => view.channels.insert(key, record),
            None => view.channels.remove(&key),
        };
        Ok(())
    }

    fn second_looks(&self) -> MutexGuard<'_, SecondLooks> {
        self.second_looks.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn health(&self) -> MutexGuard<'_, NodeHealth> {
        self.health.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The durable half of a batch of payments (blocking: one commit, with fsync under
    /// `--durability power-loss`), run by the payment writer thread. One outcome per payment,
    /// in order; if the commit fails, every payment of the batch fails (none is served).
    fn record_payments(&self, batch: &[PaymentToRecord]) -> Vec<PaymentOutcome> {
        let mut store = self.store();
        let written = store.record_payments(batch);
        // Still under the store lock, so memory follows the store in commit order.
        self.follow_payments(batch, written)
    }

    /// A payment that finds the writer idle, on a store that commits in memory, is committed
    /// on the caller's (async) thread: a commit of about 20 µs, where handing it to the writer
    /// thread and back costs two thread wake-ups (a quarter of a lone payment's time,
    /// `server/BENCHMARKS.md`). The store is only tried, and so is SQLite's write lock: if the
    /// writer, the chain follower or anything else holds the store, another connection (the
    /// checkpointer's RESTART) holds the file's write lock, or payments are queued, `None`,
    /// and the payment goes through the writer as usual, so an async worker never waits for a
    /// lock and the writer keeps batching under load. Synchronous: no request can be dropped
    /// half-way through.
    fn commit_alone(&self, payment: PaymentToRecord) -> Option<PaymentOutcome> {
        if !self.commits_in_memory || !self.payments.is_idle() {
            return None;
        }
        let mut store = match self.store.try_lock() {
            Ok(store) => store,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        let written = store.record_payments_without_waiting(&[payment]).transpose()?;
        // Still under the store lock, so memory follows the store in commit order.
        let outcome = self.follow_payments(&[payment], written).pop();
        drop(store);
        outcome
    }

    /// Memory after the commit of `batch` (`written`), called under the store lock: one
    /// outcome per payment, all failed if the commit failed.
    fn follow_payments(
        &self,
        batch: &[PaymentToRecord],
        written: Result<Vec<PaymentWrite>, StoreError>,
    ) -> Vec<PaymentOutcome> {
        let writes = match written {
            Ok(writes) => writes,
            Err(error) => {
                tracing::error!(%error, payments = batch.len(), "recording payments failed");
                let failed = || {
                    PaymentRejected::Store("the receiver could not record the payment; retry later".into())
                };
                return batch.iter().map(|_| Err(failed())).collect();
            }
        };
        let mut view = self.view();
        batch
            .iter()
            .zip(writes)
            .map(|(payment, write)| match write {
                PaymentWrite::Recorded => {
                    if let Some(channel) = view.channels.get_mut(&payment.key) {
                        channel.balance = payment.balance;
                        channel.balance_signature = Some(payment.signature);
                    }
                    Ok(())
                }
                PaymentWrite::Conflict(now) => {
                    if self.leadership.is_shared() {
                        // Another instance (or the leader's chain sync) moved the channel on.
                        match now.as_deref() {
                            Some(now) => view.channels.insert(payment.key, now.clone()),
                            None => view.channels.remove(&payment.key),
                        };
                    }
                    Err(conflict_refusal(payment, now.as_deref()))
                }
            })
            .collect()
    }

    fn mark_close_signed(&self, key: ChannelKey, balance: U192) -> Result<bool, CloseRefused> {
        let mut store = self.store();
        let marked = store.mark_close_signed(key, balance).map_err(|error| {
            tracing::error!(%error, "marking a channel as close-signed failed");
            CloseRefused::Store("the receiver could not record the close; retry later".into())
        })?;
        if marked {
            if let Some(channel) = self.view().channels.get_mut(&key) {
                channel.state = ChannelState::CloseSigned;
            }
        }
        Ok(marked)
    }

    fn commit_confirmed(
        &self,
        events: &[ChainEvent],
        head: BlockRef,
    ) -> Result<Vec<ChannelRecord>, StoreError> {
        let receiver = self.identity.receiver;
        let mut store = self.store();
        let mut batch = store.chain_batch()?;
        let mut changed: HashMap<ChannelKey, ChannelRecord> = HashMap::new();
        for event in events {
            let key = event.channel_key(receiver);
            let current = batch.channel(key)?;
            match apply_event(current.clone(), event, receiver, self.challenge_period) {
                Some(mut next) if Some(&next) != current.as_ref() => {
                    if current.is_none() {
                        // A creation a reorg undid, mined again at the same height: the same
                        // key, so the proofs accepted for it hold again.
                        if let Some(remains) = batch.remains(key)? {
                            next = next.with_remains_of(&remains);
                        }
                    }
                    next.updated_at = crate::store::unix_now();
                    batch.record_undo(event.block_number, key, current.as_ref())?;
                    batch.save_chain_fields(&next)?;
                    changed.insert(key, next);
                }
                Some(_) => {}
                None => tracing::warn!(
                    sender = %event.sender,
                    open_block = event.open_block,
                    block = event.block_number,
                    "event for a channel the receiver never saw opened (before --start-block?); ignored"
                ),
            }
        }
        batch.commit(head)?;
        let mut view = self.view();
        for (key, record) in &changed {
            view.channels.insert(*key, record.clone());
        }
        view.sync_head = Some(head);
        Ok(changed.into_values().collect())
    }

    /// See [`ChannelManager::roll_back_to`] (`Some(fork)`) and
    /// [`ChannelManager::forget_chain`] (`None`); `head` is the new sync head.
    fn roll_back(&self, fork: Option<u64>, head: BlockRef) -> Result<Vec<ChannelKey>, StoreError> {
        let mut store = self.store();
        let mut batch = store.chain_batch()?;
        let keys = match fork {
            Some(fork) => batch.roll_back_after(fork)?,
            None => batch.forget_chain()?,
        };
        let mut restored = Vec::with_capacity(keys.len());
        for &key in &keys {
            restored.push((key, batch.channel(key)?));
        }
        batch.commit(head)?;
        // A payment checked just before `reconciling` was set may still reach the store after
        // this: its compare-and-set needs the channel on chain and open, so it can only land
        // on a channel the rollback kept.
        let mut view = self.view();
        for (key, record) in restored {
            match record {
                Some(record) => view.channels.insert(key, record),
                None => view.channels.remove(&key),
            };
        }
        view.pending = PendingEvents::default();
        view.sync_head = Some(head);
        drop(view);
        self.covered.send_replace(head.number);
        Ok(keys)
    }
}

/// Why `payment`, whose compare-and-set failed, is refused: the payment rule applied again to
/// the channel as the store has it now (`None`: gone), since another request changed it after
/// the payment was checked. Its signature was verified then against the channel's signer,
/// which never changes, and it paid for a resource of `balance - previous`.
fn conflict_refusal(payment: &PaymentToRecord, now: Option<&ChannelRecord>) -> PaymentRejected {
    let standing = match now {
        Some(now) if now.state == ChannelState::Open => PayableChannel::Open(OpenChannel {
            sender: now.id.sender,
            signer: now.signer,
            balance: now.balance,
            deposit: now.deposit,
            unconfirmed_top_up: U192::ZERO,
        }),
        _ => PayableChannel::Closed,
    };
    let price = payment.balance.saturating_sub(payment.previous);
    let signer = now.map(|now| now.signer);
    // The store refused the write, so the payment is refused even if the rule would take it now.
    let refusal =
        decide_payment(&standing, || signer, payment.balance, price).err().unwrap_or(Refusal::InvalidAmount);
    PaymentRejected::Refused { refusal }
}

/// How often one channel may be read again on a request that anyone can send.
const SECOND_LOOK_PAUSE: Duration = Duration::from_secs(1);
/// How many such re-reads an instance makes per second in all (a flood of made-up channels
/// would otherwise turn each request into a database read on the store's one connection).
const SECOND_LOOKS_PER_SECOND: u32 = 20;

/// The budget of re-reads that anyone may cause.
#[derive(Debug, Default)]
struct SecondLooks {
    /// When each channel was last read again (forgotten after [`SECOND_LOOK_PAUSE`]).
    recent: HashMap<ChannelKey, Instant>,
    /// The current second, and the re-reads made in it.
    window: Option<Instant>,
    in_window: u32,
}

impl SecondLooks {
    /// Whether `key` may be read again now; counts it if so.
    fn allow(&mut self, key: ChannelKey, now: Instant) -> bool {
        if self.window.is_none_or(|start| now.duration_since(start) >= Duration::from_secs(1)) {
            self.window = Some(now);
            self.in_window = 0;
            self.recent.retain(|_, at| now.duration_since(*at) < SECOND_LOOK_PAUSE);
        }
        if self.in_window >= SECOND_LOOKS_PER_SECOND
            || self.recent.get(&key).is_some_and(|at| now.duration_since(*at) < SECOND_LOOK_PAUSE)
        {
            return false;
        }
        self.in_window += 1;
        self.recent.insert(key, now);
        true
    }
}

/// Whether a refusal is for a reason another instance or the chain may have changed since this
/// instance last read the channel: unknown or closed (opened, or re-opened after a reorg),
/// not confirmed, above the deposit (topped up), not the price on top of the last balance
/// (paid through another instance). A bad signature or a replay stays bad.
fn another_instance_may_change(refusal: Refusal) -> bool {
    !matches!(refusal, Refusal::InvalidBalanceProof)
}

fn last_proof(channel: &ChannelRecord) -> LastProof {
    LastProof {
        sender: channel.id.sender,
        open_block: channel.id.open_block_number,
        balance: channel.balance,
        signature: channel.balance_signature,
    }
}

fn snapshot(record: &ChannelRecord, pending: &PendingEvents, confirmed: bool) -> ChannelSnapshot {
    let key = record.key();
    ChannelSnapshot {
        id: record.id,
        deposit: record.deposit,
        unconfirmed_top_up: pending.topped_up.get(&key).copied().unwrap_or_default(),
        signer: record.signer,
        balance: record.balance,
        balance_signature: record.balance_signature,
        withdrawn: record.withdrawn,
        state: record.state,
        close_request: record.close_request,
        settled_balance: record.settled_balance,
        confirmed,
        created_at: record.created_at,
        updated_at: record.updated_at,
    }
}
