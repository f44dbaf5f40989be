//! The receiver's on-chain duties: every transaction the receiver sends.
//!
//! Disputes and settlements (background): when a sender requests an uncooperative close, the
//! receiver answers during the challenge period with `cooperativeClose` and its best accepted
//! proof that the contract takes (plus its own closing signature): the last accepted one,
//! unless a reorg took away a top-up it was paid with and it is above the deposit now; then
//! the highest proof kept within the deposit on chain ([`crate::store::ChannelStore::best_proof_within`]):
//! - if the sender claimed less than that proof, this is the dispute that gets the receiver
//!   its full due;
//! - if the sender claimed exactly that, it settles the channel now instead of after the
//!   challenge period (the seed never settled honest closes).
//!
//! A sender who claims *more* than the receiver can prove is left to settle: a
//! `cooperativeClose` with the receiver's lower proof would only cost the receiver tokens.
//! This includes a claim above the best proof the contract takes after a reorg took a
//! top-up away: a normal outcome, logged, with no error and no retries (until a reorg's
//! rollback changes the channel again).
//!
//! Collecting without waiting for the senders:
//! - [`OnChainDuties::withdraw`] takes a channel's earned balance (last accepted proof minus
//!   what was withdrawn) and keeps the channel open; with `--withdraw-threshold N` the duty
//!   loop does so whenever a channel's unwithdrawn balance reaches N. After a reorg took away
//!   a top-up the last proof was paid with, the contract refuses it (above the deposit) and
//!   the withdrawal fails until the sender tops up again; a close still collects the best
//!   proof within the deposit.
//! - [`OnChainDuties::close_all`] closes every channel with a payment, for shutting a business
//!   down; channels nobody paid in are left to their senders.
//! - A channel in `close_signed` (the sender got the receiver's closing signature) that the
//!   sender has not closed within `--close-signed-timeout` blocks is closed by the receiver.
//!
//! The operator reaches withdrawals and close-all through the running server's API
//! (`POST /api/1/withdraw`, `POST /api/1/channels/<sender>/<block>/withdraw`,
//! `POST /api/1/close-all`), or with the server stopped through the CLI (`uraiden-server
//! withdraw`, `close-all`), which cannot open a state file a server holds.
//!
//! Duties run concurrently, most urgent first, at most `MAX_CONCURRENT_DUTIES` (16) at a time,
//! the last 4 of which only disputes take:
//! a dispute before anything else, earliest deadline (the close request's settle block)
//! first; then settlements of honest closes, the receiver's own closes, and withdrawals. A
//! transaction whose receipt is slow (or never comes: the node dropped it) holds up only its
//! own channel. Each channel has a claim, held from the decision to send until the receipt
//! (or the failure) is recorded: the loop never starts a second transaction for a channel
//! while one is on its way, and the operator's withdraw and close-all wait for it. Sends share
//! the receiver's account, so they go one at a time, each with the lowest nonce not mined
//! that none of the receiver's own transactions waits at (one left in the pool by a restart
//! is replaced, a gap is filled); receipts are awaited in parallel. A transaction not mined
//! within a number of polls (its fee too low for the pool, or the node dropped it) is sent
//! again at its nonce with a fee at least an eighth higher, and again until it is mined or
//! another transaction takes the nonce: later nonces cannot be mined before it, so giving it
//! up would hold up every later transaction, and a retry at a later nonce would close the
//! channel twice. When a send finds a held nonce gone from the pool, its owner sends it again
//! at once. Fees stop at 4 times the node's estimate (or
//! `--gas-price`); a transaction unmined past the receipt timeout is reported in the health.
//!
//! A close that was mined but whose settlement the sync does not confirm (a reorg dropped
//! it, while the sender's close request, still in its challenge period, stayed) is sent
//! again as soon as the sync has confirmed the block it was mined in without it, or when a
//! rollback changes its channel, and in any case once half of what was left of the
//! challenge period when it was sent has passed: never only after the usual resend delay
//! (64 first retries, about 21 minutes at the default poll), which can be longer than a
//! 500-block challenge period on a chain with fast blocks.
//!
//! A close that fails (typically no ETH for gas) leaves the channel `close_pending`: it takes
//! no payments and is retried with exponential backoff, and at once when the balance watcher
//! sees the receiver's ETH back above the minimum. The confirmed `ChannelSettled` event ends
//! the duty. A failed threshold withdrawal is retried the same way but changes no state: the
//! channel stays open.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, MutexGuard,
    },
    time::{Duration, Instant},
};

use alloy::{
    contract::{CallBuilder, CallDecoder},
    primitives::Bytes,
    providers::{DynProvider, Provider},
    rpc::types::{BlockId, TransactionReceipt, TransactionRequest},
};
use tokio::{
    sync::{OwnedMutexGuard, Semaphore},
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;
use uraiden_chain::contracts::RaidenMicroTransferChannels;
use uraiden_protocol::{Address, ChannelId, ChannelKey, ProofSignature, B256, U192};

use crate::{
    channels::{ChannelManager, ChannelManagerConfig},
    error::TransactionError,
    store::{ChannelRecord, ChannelState},
};

/// Polls between the first failed attempt and its retry; each further failure doubles it.
const RETRY_AFTER_POLLS: u32 = 10;
/// Failures after which the backoff stops growing (2^5 = 32 × the first delay).
const MAX_BACKOFF_DOUBLINGS: u32 = 5;
/// After a sent transaction, how many first delays to wait at most before trying again if the
/// settlement still has not been seen (see [`Attempt::landed`] for the earlier triggers).
const RESEND_AFTER_RETRIES: u32 = 64;
/// A replacement's fee is at most this many times the node's current estimate (or
/// `--gas-price`): under lasting congestion the eighth more each time compounds without
/// bound otherwise.
const MAX_FEE_OVER_ESTIMATE: u128 = 4;
/// Duties on their way at once (each mostly waiting for its receipt). When all are taken,
/// the most urgent of the waiting duties gets the next free one.
const MAX_CONCURRENT_DUTIES: usize = 16;
/// Of those, the slots only a dispute may take: a sender settling many small channels
/// honestly (or slow withdrawals) cannot keep a dispute, whose deadline costs money, waiting.
const DISPUTE_ONLY_SLOTS: usize = 4;
const _: () = assert!(DISPUTE_ONLY_SLOTS < MAX_CONCURRENT_DUTIES, "other duties need slots too");

/// Held while one of the receiver's transactions for a channel is on its way.
type ChannelClaim = OwnedMutexGuard<()>;

/// The receiver's on-chain duties for one channel manager: the operator's withdrawals and
/// close-all, and the duty loop (`run`). A cheap `Clone` handle; every clone shares the
/// bookkeeping of the receiver's transactions (one send at a time, one claim per channel).
#[derive(Clone, Debug)]
pub struct OnChainDuties {
    manager: ChannelManager,
    transactions: Arc<ReceiverTransactions>,
}

impl OnChainDuties {
    pub(crate) fn new(manager: ChannelManager, config: &ChannelManagerConfig) -> Self {
        Self { manager, transactions: Arc::new(ReceiverTransactions::new(config)) }
    }

    /// The channel manager the duties are for.
    pub fn manager(&self) -> &ChannelManager {
        &self.manager
    }
}

/// What the receiver sends on chain, and the bookkeeping of its attempts.
#[derive(Debug)]
struct ReceiverTransactions {
    provider: DynProvider,
    contract: Address,
    receiver: Address,
    /// `--gas-price`: sent as a legacy (type 0) transaction with this gas price, which every
    /// EVM chain accepts and which is what the seed's option meant (a transaction sent again
    /// because it was not mined pays an eighth more each time); without it, EIP-1559 fees
    /// from the node's estimate.
    gas_price: Option<u128>,
    /// How often receipts are looked for.
    poll_interval: Duration,
    first_retry: Duration,
    /// A sent transaction not mined this long after it was sent (again) is sent again.
    resend_unmined_after: Duration,
    receipt_timeout: Duration,
    /// One send at a time, each with the nonce read from the node's pending count inside the
    /// lane: the provider's cached nonce filler counts a nonce as used even when the send
    /// fails (no ETH), and every later transaction would then wait forever behind the gap.
    /// A tokio Mutex because it is held across the `.await`s of the send; receipts are
    /// awaited outside it.
    send_lane: tokio::sync::Mutex<()>,
    /// The nonces this process's transactions wait at (sent, not seen mined): each send
    /// takes the lowest nonce not mined that is not among them.
    held_nonces: Mutex<BTreeSet<u64>>,
    /// Raised when a send finds one of the held nonces gone from the node's pool (the node
    /// dropped it): its owner sends it again at once, since every later transaction waits
    /// behind it.
    lost_nonces: AtomicU64,
    /// std Mutex: a few map operations at a time, never across an `.await`.
    attempts: Mutex<HashMap<(ChannelKey, Action), Attempt>>,
    /// Each channel's claim: at most one transaction per channel on its way. A tokio Mutex
    /// per channel, held across the send and the receipt; the map's std Mutex only while an
    /// entry is looked up.
    claims: Mutex<HashMap<ChannelKey, Arc<tokio::sync::Mutex<()>>>>,
    /// Withdrawals mined but perhaps not confirmed by the chain sync yet: the cumulative
    /// balance withdrawn to. The synced `withdrawn` (from `ChannelWithdraw` events) stays the
    /// record; this only keeps the same balance from being withdrawn twice meanwhile.
    withdrawn_to: Mutex<HashMap<ChannelKey, U192>>,
}

/// The fee of a send: `now` (the estimate or `--gas-price`) for a first one; for a
/// replacement of one that paid `before`, at least an eighth more (what nodes ask) but at
/// most [`MAX_FEE_OVER_ESTIMATE`] × `cap_base`. `None`: the cap leaves no room for a
/// replacement.
fn replacement_fee(now: u128, before: Option<u128>, cap_base: u128) -> Option<u128> {
    let Some(before) = before else { return Some(now) };
    let fee = now.max(before.saturating_add(before / 8 + 1));
    (fee <= cap_base.saturating_mul(MAX_FEE_OVER_ESTIMATE)).then_some(fee)
}

/// A nonce a transaction of this process waits at, free again when dropped.
struct HeldNonce<'a> {
    nonces: &'a Mutex<BTreeSet<u64>>,
    nonce: u64,
}

impl Drop for HeldNonce<'_> {
    fn drop(&mut self) {
        self.nonces.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&self.nonce);
    }
}

/// What a transaction pays for gas.
#[derive(Clone, Copy, Debug)]
enum Fees {
    /// `--gas-price`: a type 0 transaction.
    Legacy(u128),
    Eip1559 {
        max_fee: u128,
        tip: u128,
    },
}

impl Fees {
    fn highest(self) -> u128 {
        match self {
            Self::Legacy(gas_price) => gas_price,
            Self::Eip1559 { max_fee, .. } => max_fee,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Action {
    Close,
    Withdraw,
}

#[derive(Clone, Copy, Debug)]
struct Attempt {
    at: Instant,
    /// Consecutive failures; 0 once a transaction went through.
    failures: u32,
    /// The receiver's ETH was low when it failed: retry as soon as it is not.
    eth_low: bool,
    /// Where the transaction that went through was mined, if it did.
    landed: Option<Landed>,
    /// The sender's close claims more than any proof the contract takes from the receiver:
    /// its own settlement pays the receiver more, and nothing is sent (until a reorg's
    /// rollback forgets this).
    left_to_sender: bool,
}

/// A close that was mined, and when to send it again if its settlement is not seen: a reorg
/// may drop it while the sender's close request stays, and the challenge period runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Landed {
    /// The block it was mined in. Once the sync has confirmed this far and the channel still
    /// needs the close, the block that had it is no longer on the chain (the settlement
    /// would have been confirmed with it).
    block: u64,
    /// The chain head by which to send again regardless (the sync may lag): halfway through
    /// what was left of the challenge period when it was sent, so that a dropped dispute is
    /// sent again in time however short the period is.
    resend_by: Option<u64>,
}

impl Landed {
    fn new(block: u64, head: u64, settle_block: Option<u64>) -> Self {
        let resend_by =
            settle_block.map(|settle_block| head + (settle_block.saturating_sub(head) / 2).max(1));
        Self { block, resend_by }
    }

    /// Whether the close should be sent again now that the sync has confirmed up to
    /// `confirmed` and the head is `head`, its settlement still not seen.
    fn is_lost(self, head: u64, confirmed: u64) -> bool {
        confirmed >= self.block || self.resend_by.is_some_and(|block| head >= block)
    }
}

impl ReceiverTransactions {
    fn new(config: &ChannelManagerConfig) -> Self {
        Self {
            provider: config.provider.clone(),
            contract: config.channel_manager,
            receiver: config.receiver_key.address(),
            gas_price: config.gas_price,
            poll_interval: config.poll_interval,
            first_retry: config.poll_interval * RETRY_AFTER_POLLS,
            resend_unmined_after: config.poll_interval * config.resend_unmined_after_polls,
            receipt_timeout: config.receipt_timeout,
            send_lane: tokio::sync::Mutex::new(()),
            held_nonces: Mutex::new(BTreeSet::new()),
            lost_nonces: AtomicU64::new(0),
            attempts: Mutex::new(HashMap::new()),
            claims: Mutex::new(HashMap::new()),
            withdrawn_to: Mutex::new(HashMap::new()),
        }
    }

    fn claim_lock(&self, key: ChannelKey) -> Arc<tokio::sync::Mutex<()>> {
        let mut claims = self.claims.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(claims.entry(key).or_default())
    }

    /// The channel's claim, if no transaction for it is on its way (the duty loop).
    fn try_claim(&self, key: ChannelKey) -> Option<ChannelClaim> {
        self.claim_lock(key).try_lock_owned().ok()
    }

    /// The channel's claim, once a transaction on its way has been recorded (the operator).
    async fn claim(&self, key: ChannelKey) -> ChannelClaim {
        self.claim_lock(key).lock_owned().await
    }

    fn contract(&self) -> RaidenMicroTransferChannels::RaidenMicroTransferChannelsInstance<&DynProvider> {
        RaidenMicroTransferChannels::new(self.contract, &self.provider)
    }

    /// Sends `call` (with `--gas-price` if set) and waits for its receipt: `Ok` if it
    /// succeeded. The nonce is never given up while the transaction may still be mined:
    /// one not mined `resend_unmined_after_polls` polls after it was sent (its fee too low for
    /// the pool, or the node dropped it) is sent again at its nonce, with the node's current
    /// fee estimate but at least an eighth more than before (what nodes ask of a
    /// replacement), up to [`MAX_FEE_OVER_ESTIMATE`] times the estimate; any of the sent
    /// versions may be the one mined. Past the receipt timeout `report` is told (the health's
    /// last error), and the sending goes on: a nonce left behind in the pool would hold up
    /// every later transaction of the receiver, and a retry at the next nonce would close the
    /// channel twice. Ends with an error only when the first send is refused (the nonce stays
    /// free) or another transaction took the nonce.
    async fn submit<P: Provider, D: CallDecoder>(
        &self,
        call: CallBuilder<P, D>,
        report: &(dyn Fn(String) + Sync),
    ) -> Result<TransactionReceipt, TransactionError> {
        let request = call.from(self.receiver).into_transaction_request();
        // Estimated once, at the latest block, and kept for every version sent: an estimate at
        // the pending state would see the first version's effect and fail (a second close
        // of the channel reverts).
        let gas = self
            .provider
            .estimate_gas(request.clone())
            .block(BlockId::latest())
            .await
            .map_err(TransactionError::EstimateGas)?;
        let request = request.gas_limit(gas);
        let (held, mut fees, mut sent) = {
            let _lane = self.send_lane.lock().await;
            let count = |pending: bool| {
                let count = self.provider.get_transaction_count(self.receiver);
                async move {
                    let count = if pending { count.pending() } else { count.latest() };
                    count.await.map_err(TransactionError::Nonce)
                }
            };
            let (mined, pending) = (count(false).await?, count(true).await?);
            // The lowest nonce not mined that none of this process's transactions waits at:
            // a transaction sent before a restart that waits there is replaced (nobody would
            // raise its fee any more), and a nonce whose first send was refused is filled.
            let held = self.hold_nonce(mined, pending);
            let fees = self.fees(None).await?;
            let sent = match self.send_at(&request, held.nonce, fees).await {
                Ok(hash) => vec![hash],
                Err(error) if held.nonce < pending => {
                    // Typically a replacement priced too low: raised until it is taken.
                    tracing::warn!(nonce = held.nonce, %error, "a transaction from before waits at the receiver's nonce; replacing it with a higher fee");
                    Vec::new()
                }
                Err(error) => return Err(error),
            };
            (held, fees, sent)
        };
        let nonce = held.nonce;
        let started = Instant::now();
        let mut reported = false;
        let mut cap_reported = false;
        let mut lost_seen = self.lost_nonces.load(Ordering::Relaxed);
        let mut last_sent = Instant::now();
        loop {
            tokio::time::sleep(self.poll_interval).await;
            if let Some(receipt) = self.mined(&sent).await {
                return receipt;
            }
            if !reported && started.elapsed() > self.receipt_timeout {
                reported = true;
                let message = format!(
                    "the receiver's transaction at nonce {nonce} is not mined after {:?} (sent {} times, last fee \
                     {} wei/gas); it is sent again with a higher fee until it is",
                    self.receipt_timeout,
                    sent.len(),
                    fees.highest()
                );
                tracing::error!("{message}");
                report(message);
            }
            let lost = self.lost_nonces.load(Ordering::Relaxed);
            if lost == lost_seen && last_sent.elapsed() < self.resend_unmined_after {
                continue;
            }
            lost_seen = lost;
            last_sent = Instant::now();
            let mined_nonce = match self.provider.get_transaction_count(self.receiver).latest().await {
                Ok(mined_nonce) => mined_nonce,
                Err(error) => {
                    // What was sent may still be mined: keep watching it.
                    tracing::warn!(%error, "reading the receiver's nonce failed; retrying");
                    continue;
                }
            };
            if mined_nonce > nonce {
                // Our nonce was used: by one of ours mined since the look above, or by
                // another transaction (then the duty is retried).
                if let Some(receipt) = self.mined(&sent).await {
                    return receipt;
                }
                return Err(TransactionError::NonceTaken { nonce, sent });
            }
            let raised = match self.fees(Some(fees)).await {
                Ok(raised) => raised,
                Err(error) => {
                    tracing::warn!(nonce, %error, "no fee for sending again; retrying");
                    continue;
                }
            };
            let capped = raised.highest() == fees.highest() && !sent.is_empty();
            if capped && !cap_reported {
                cap_reported = true;
                tracing::error!(
                    nonce,
                    fee = fees.highest(),
                    "the receiver's transaction is not mined and its fee is at the cap ({MAX_FEE_OVER_ESTIMATE} times \
                     the node's estimate or --gas-price): sent again unchanged while it waits for the fees to fall; \
                     raise --gas-price if it was set too low"
                );
            }
            fees = raised;
            match self.send_at(&request, nonce, fees).await {
                Ok(hash) => {
                    tracing::warn!(%hash, nonce, fee = fees.highest(), "transaction not mined; sent again with a higher fee");
                    if !sent.contains(&hash) {
                        sent.push(hash);
                    }
                }
                // At the cap: typically the node still has it ("already known").
                Err(error) if capped => tracing::debug!(nonce, %error, "sending again unchanged failed"),
                // Typically the previous version was mined meanwhile: the next poll sees it.
                Err(error) => tracing::warn!(nonce, %error, "sending again failed"),
            }
        }
    }

    /// Marks the lowest nonce from `mined` on that no transaction of this process waits at
    /// as taken, until the returned guard is dropped; signals the owners of held nonces at
    /// or above `pending` (gone from the pool) to send theirs again. Called in the send lane.
    fn hold_nonce(&self, mined: u64, pending: u64) -> HeldNonce<'_> {
        let mut held = self.held_nonces.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if held.iter().any(|&nonce| nonce >= pending) {
            // Not in the pool any more: the new transaction would wait behind the gap.
            self.lost_nonces.fetch_add(1, Ordering::Relaxed);
        }
        let nonce = (mined..).find(|nonce| !held.contains(nonce)).unwrap_or(mined);
        held.insert(nonce);
        HeldNonce { nonces: &self.held_nonces, nonce }
    }

    /// The receipt of whichever of `sent` was mined, if any: `Ok` if it succeeded.
    async fn mined(&self, sent: &[B256]) -> Option<Result<TransactionReceipt, TransactionError>> {
        for hash in sent {
            match self.provider.get_transaction_receipt(*hash).await {
                Ok(Some(receipt)) if receipt.status() => return Some(Ok(receipt)),
                Ok(Some(receipt)) => return Some(Err(TransactionError::Reverted(receipt.transaction_hash))),
                Ok(None) => {}
                Err(error) => tracing::warn!(%hash, %error, "reading a receipt failed; retrying"),
            }
        }
        None
    }

    /// The fees for a send: `--gas-price` (legacy) or the node's EIP-1559 estimate, and for
    /// a replacement at least an eighth above `previous`, but at most
    /// [`MAX_FEE_OVER_ESTIMATE`] times the estimate (or `--gas-price`): `previous` unchanged
    /// when the cap leaves no room for the eighth.
    async fn fees(&self, previous: Option<Fees>) -> Result<Fees, TransactionError> {
        match self.gas_price {
            Some(gas_price) => {
                let before = previous.map(Fees::highest);
                Ok(replacement_fee(gas_price, before, gas_price)
                    .map_or_else(|| previous.unwrap_or(Fees::Legacy(gas_price)), Fees::Legacy))
            }
            None => {
                let estimate = self.provider.estimate_eip1559_fees().await.map_err(TransactionError::Fees)?;
                let Some(Fees::Eip1559 { max_fee, tip }) = previous else {
                    let tip = estimate.max_priority_fee_per_gas;
                    return Ok(Fees::Eip1559 { max_fee: estimate.max_fee_per_gas.max(tip), tip });
                };
                let cap_base = estimate.max_fee_per_gas;
                let raised = replacement_fee(estimate.max_fee_per_gas, Some(max_fee), cap_base)
                    .zip(replacement_fee(estimate.max_priority_fee_per_gas, Some(tip), cap_base));
                Ok(raised.map_or(Fees::Eip1559 { max_fee, tip }, |(max_fee, tip)| Fees::Eip1559 {
                    max_fee: max_fee.max(tip),
                    tip,
                }))
            }
        }
    }

    /// Sends `request` at `nonce` with `fees`; the transaction's hash.
    async fn send_at(
        &self,
        request: &TransactionRequest,
        nonce: u64,
        fees: Fees,
    ) -> Result<B256, TransactionError> {
        let request = request.clone().nonce(nonce);
        let request = match fees {
            Fees::Legacy(gas_price) => request.gas_price(gas_price),
            Fees::Eip1559 { max_fee, tip } => request.max_fee_per_gas(max_fee).max_priority_fee_per_gas(tip),
        };
        let pending = self.provider.send_transaction(request).await.map_err(TransactionError::Send)?;
        Ok(*pending.tx_hash())
    }

    fn attempts(&self) -> MutexGuard<'_, HashMap<(ChannelKey, Action), Attempt>> {
        self.attempts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn withdrawn_to(&self) -> MutexGuard<'_, HashMap<ChannelKey, U192>> {
        self.withdrawn_to.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the background loop may try `action` on the channel now, with the chain head
    /// at `head` and the sync's confirmed block at `confirmed`.
    fn may_attempt(
        &self,
        key: ChannelKey,
        action: Action,
        eth_low_now: bool,
        head: u64,
        confirmed: u64,
    ) -> bool {
        let Some(attempt) = self.attempts().get(&(key, action)).copied() else { return true };
        if attempt.left_to_sender {
            return false;
        }
        let wait = if attempt.failures == 0 {
            if action == Action::Withdraw {
                // Done; the next one is due when the threshold is reached again.
                return true;
            }
            if attempt.landed.is_some_and(|landed| landed.is_lost(head, confirmed)) {
                return true;
            }
            self.first_retry * RESEND_AFTER_RETRIES
        } else if attempt.eth_low && !eth_low_now {
            return true;
        } else {
            self.first_retry * 2u32.pow((attempt.failures - 1).min(MAX_BACKOFF_DOUBLINGS))
        };
        attempt.at.elapsed() >= wait
    }

    /// Records an attempt: `succeeded` with where it landed (closes), or failed.
    fn record_attempt(
        &self,
        key: ChannelKey,
        action: Action,
        succeeded: bool,
        eth_low: bool,
        landed: Option<Landed>,
    ) {
        let mut attempts = self.attempts();
        let failures = match (succeeded, attempts.get(&(key, action))) {
            (true, _) => 0,
            (false, Some(previous)) => previous.failures.saturating_add(1),
            (false, None) => 1,
        };
        let attempt = Attempt { at: Instant::now(), failures, eth_low, landed, left_to_sender: false };
        attempts.insert((key, action), attempt);
    }

    /// Records that the channel's close is left to the sender's settlement.
    fn record_left_to_sender(&self, key: ChannelKey) {
        let attempt =
            Attempt { at: Instant::now(), failures: 0, eth_low: false, landed: None, left_to_sender: true };
        self.attempts().insert((key, Action::Close), attempt);
    }

    /// Forgets the attempts for `keys`, whose chain state a reorg's rollback changed: what was
    /// sent for them may be gone with the replaced blocks, and their duties are due again at
    /// the next round.
    fn forget_attempts(&self, keys: &[ChannelKey]) {
        self.attempts().retain(|(key, _), _| !keys.contains(key));
    }

    /// Forgets the attempts of channels that no longer need any.
    fn retain_attempts(&self, live: impl Fn(ChannelKey) -> bool) {
        self.attempts().retain(|(key, _), _| live(*key));
        self.withdrawn_to().retain(|key, _| live(*key));
        // A claim somebody holds or waits for has more than the map's reference.
        let mut claims = self.claims.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        claims.retain(|key, lock| live(*key) || Arc::strong_count(lock) > 1);
    }

    /// What was withdrawn from the channel, as far as the receiver knows (synced or just mined).
    fn withdrawn(&self, key: ChannelKey, synced: U192) -> U192 {
        let mut withdrawn_to = self.withdrawn_to();
        match withdrawn_to.get(&key) {
            Some(&mined) if mined > synced => mined,
            Some(_) => {
                withdrawn_to.remove(&key);
                synced
            }
            None => synced,
        }
    }
}

/// A channel's withdrawal, as reported to the operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Withdrawal {
    pub channel: ChannelId,
    /// The last accepted balance: what the channel is withdrawn up to when this succeeded.
    pub balance: U192,
    pub outcome: WithdrawOutcome,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WithdrawOutcome {
    /// `amount` (this withdrawal's, as the `ChannelWithdraw` event carries it) was paid.
    Withdrawn { amount: U192, transaction: B256 },
    /// Everything earned was withdrawn already (or nothing was paid yet).
    NothingToWithdraw,
    /// Less than the requested minimum is waiting.
    BelowMinimum { unwithdrawn: U192 },
}

/// Why a withdrawal did not happen.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WithdrawError {
    #[error("the receiver knows no confirmed channel from {sender} opened in block {open_block}")]
    UnknownChannel { sender: Address, open_block: u32 },
    #[error(
        "the channel is {0}: the contract takes no withdrawals once the sender asked to close; the \
         receiver's close collects the balance instead"
    )]
    Closing(ChannelState),
    #[error("the channel is settled; its balance was paid out at settlement")]
    Settled,
    #[error("reading the channel on chain failed: {0}; is the node reachable?")]
    Node(String),
    #[error("the withdraw transaction failed: {0}; check the receiver's ETH balance and the node")]
    Transaction(String),
}

/// One channel's line in the report of [`OnChainDuties::close_all`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelClose {
    pub channel: ChannelId,
    /// The balance closed with (the last accepted proof, or the best one within the deposit
    /// after a reorg took a top-up away; 0 when nothing was paid).
    pub balance: U192,
    pub outcome: CloseOutcome,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseOutcome {
    /// `cooperativeClose` was mined; the settlement shows once the sync confirms it.
    Closed { transaction: B256 },
    /// The close failed; the channel is `close_pending` and the duty loop retries it.
    Pending { error: String },
    /// Nothing was ever paid in the channel: nothing to collect, left to the sender.
    NothingToCollect,
    /// The sender already asked to close: the dispute or settlement duty handles it.
    AlreadyClosing,
}

impl OnChainDuties {
    /// Withdraws the channel's earned balance (its last accepted proof, minus what was
    /// already withdrawn) without closing it, if at least `min_amount` is waiting. The
    /// amount withdrawn reaches the channel's `withdrawn` once the sync confirms the
    /// `ChannelWithdraw` event. Waits first for a transaction of the duty loop's for the
    /// channel that is on its way.
    pub async fn withdraw(
        &self,
        sender: Address,
        open_block: u32,
        min_amount: U192,
    ) -> Result<Withdrawal, WithdrawError> {
        let key = ChannelId::new(sender, self.manager.receiver(), open_block).key();
        let _claim = self.transactions().claim(key).await;
        self.withdraw_claimed(sender, open_block, min_amount).await
    }

    /// [`withdraw`](Self::withdraw), with the channel's claim held by the caller.
    async fn withdraw_claimed(
        &self,
        sender: Address,
        open_block: u32,
        min_amount: U192,
    ) -> Result<Withdrawal, WithdrawError> {
        let result = self.withdraw_once(sender, open_block, min_amount).await;
        let key = ChannelId::new(sender, self.manager.receiver(), open_block).key();
        match &result {
            Ok(Withdrawal { outcome: WithdrawOutcome::Withdrawn { .. }, .. }) => {
                self.transactions().record_attempt(key, Action::Withdraw, true, false, None);
            }
            Err(WithdrawError::Transaction(_) | WithdrawError::Node(_)) => {
                let eth_low = self.manager.health().receiver_eth_low;
                self.transactions().record_attempt(key, Action::Withdraw, false, eth_low, None);
            }
            _ => {}
        }
        result
    }

    async fn withdraw_once(
        &self,
        sender: Address,
        open_block: u32,
        min_amount: U192,
    ) -> Result<Withdrawal, WithdrawError> {
        let channel = self
            .manager
            .channel(sender, open_block)
            .filter(|channel| channel.confirmed)
            .ok_or(WithdrawError::UnknownChannel { sender, open_block })?;
        match channel.state {
            ChannelState::Open | ChannelState::CloseSigned => {}
            ChannelState::Settled => return Err(WithdrawError::Settled),
            state => return Err(WithdrawError::Closing(state)),
        }
        let transactions = self.transactions();
        let key = channel.id.key();
        let done = |outcome| Ok(Withdrawal { channel: channel.id, balance: channel.balance, outcome });
        let Some(signature) = channel.balance_signature else {
            return done(WithdrawOutcome::NothingToWithdraw);
        };
        // The chain decides what is withdrawn and whether a close was requested: the sync may
        // lag by the confirmations. An operator action, not a request path.
        let info = transactions
            .contract()
            .getChannelInfo(sender, self.manager.receiver(), open_block)
            .call()
            .await
            .map_err(|error| WithdrawError::Node(error.to_string()))?;
        if info.settleBlockNumber != 0 {
            return Err(WithdrawError::Closing(ChannelState::Closing));
        }
        let withdrawn = transactions.withdrawn(key, channel.withdrawn.max(info.withdrawnBalance));
        let unwithdrawn = channel.balance.saturating_sub(withdrawn);
        if unwithdrawn.is_zero() {
            return done(WithdrawOutcome::NothingToWithdraw);
        }
        if unwithdrawn < min_amount {
            return done(WithdrawOutcome::BelowMinimum { unwithdrawn });
        }
        let contract = transactions.contract();
        let call = contract.withdraw(
            sender,
            open_block,
            channel.balance,
            Bytes::copy_from_slice(&signature.as_bytes()),
        );
        let receipt =
            self.submit(call).await.map_err(|error| WithdrawError::Transaction(error.to_string()))?;
        transactions.withdrawn_to().insert(key, channel.balance);
        let amount = receipt
            .decoded_log::<RaidenMicroTransferChannels::ChannelWithdraw>()
            .map_or(unwithdrawn, |log| log.data.withdrawnBalance);
        tracing::info!(
            channel = %channel.id,
            %amount,
            balance = %channel.balance,
            transaction = %receipt.transaction_hash,
            "withdrew a channel's earned balance"
        );
        done(WithdrawOutcome::Withdrawn { amount, transaction: receipt.transaction_hash })
    }

    /// Withdraws from every open channel with at least `min_amount` (and at least 1) earned and
    /// not withdrawn yet; channels with less are left out of the report.
    pub async fn withdraw_all(
        &self,
        min_amount: U192,
    ) -> Vec<(ChannelId, Result<Withdrawal, WithdrawError>)> {
        let minimum = min_amount.max(U192::from(1u8));
        let mut channels: Vec<_> = self
            .manager
            .channels_in(&[ChannelState::Open, ChannelState::CloseSigned])
            .into_iter()
            .filter(|channel| {
                let withdrawn = self.transactions().withdrawn(channel.key(), channel.withdrawn);
                channel.balance.saturating_sub(withdrawn) >= minimum
            })
            .map(|channel| channel.id)
            .collect();
        channels.sort_by_key(|id| (id.sender, id.open_block_number));
        let mut report = Vec::with_capacity(channels.len());
        for id in channels {
            let result = self.withdraw(id.sender, id.open_block_number, minimum).await;
            report.push((id, result));
        }
        report
    }

    /// Closes every channel that has a payment with `cooperativeClose` and the receiver's own
    /// closing signature, for shutting the business down. Each channel is marked
    /// `close_pending` (durably: it takes no more payments) before its transaction is sent;
    /// one that fails stays so and the duty loop retries it. Channels without a payment are
    /// reported and left to their senders; channels the sender is closing are left to the
    /// dispute duty. A channel whose transaction from the duty loop is on its way is closed
    /// once that is recorded.
    pub async fn close_all(&self) -> Vec<ChannelClose> {
        let mut channels = self.manager.channels_in(&[
            ChannelState::Open,
            ChannelState::CloseSigned,
            ChannelState::Closing,
            ChannelState::ClosePending,
        ]);
        channels.sort_by_key(|channel| (channel.id.sender, channel.id.open_block_number));
        let mut report = Vec::with_capacity(channels.len());
        for channel in channels {
            let line = |balance, outcome| ChannelClose { channel: channel.id, balance, outcome };
            if channel.close_request.is_some() {
                report.push(line(channel.balance, CloseOutcome::AlreadyClosing));
                continue;
            }
            if channel.balance_signature.is_none() {
                report.push(line(U192::ZERO, CloseOutcome::NothingToCollect));
                continue;
            }
            let key = channel.key();
            let _claim = self.transactions().claim(key).await;
            if let Err(error) = self.manager.set_state(key, ChannelState::ClosePending).await {
                tracing::error!(%error, channel = %channel.id, "recording close_pending failed");
                report.push(line(channel.balance, CloseOutcome::Pending { error: error.to_string() }));
                continue;
            }
            // Payments stopped with the state change: the balance read now is final.
            let Some(channel) = self
                .manager
                .channel_record(key)
                .filter(|channel| channel.state == ChannelState::ClosePending)
            else {
                report.push(line(channel.balance, CloseOutcome::AlreadyClosing));
                continue;
            };
            let (balance, outcome) = match self.close_with_best_proof(&channel).await {
                Ok(Some((transaction, balance))) => (balance, CloseOutcome::Closed { transaction }),
                // The sender asked to close meanwhile, claiming more than the receiver proves.
                Ok(None) => (channel.balance, CloseOutcome::AlreadyClosing),
                Err(error) => (channel.balance, CloseOutcome::Pending { error: error.to_string() }),
            };
            report.push(line(balance, outcome));
        }
        report
    }

    /// Sends `cooperativeClose` with the channel's best proof the contract takes (see
    /// [`claimable_proof`](Self::claimable_proof)) and the receiver's closing signature; on
    /// failure marks the channel `close_pending` for the duty loop to retry. The caller holds
    /// the channel's claim. Returns the transaction and the balance it closed with; `None`
    /// when the sender's close claims more than that proof: then nothing is sent, and the
    /// sender's own settlement pays the receiver more (a normal outcome, not retried).
    async fn close_with_best_proof(
        &self,
        channel: &ChannelRecord,
    ) -> Result<Option<(B256, U192)>, TransactionError> {
        let key = channel.key();
        let result = self.send_close(channel).await;
        if let Ok(None) = result {
            self.transactions().record_left_to_sender(key);
            tracing::info!(
                channel = %channel.id,
                last_balance = %channel.balance,
                claimed = ?channel.close_request.map(|request| request.balance),
                "the sender's close claims more than the best proof the contract takes from the receiver: left to \
                 the sender's settlement, which pays the receiver more"
            );
            return Ok(None);
        }
        let health = self.manager.health();
        let landed = result.as_ref().ok().and_then(Option::as_ref).map(|&(_, _, block)| {
            Landed::new(block, health.chain_head, channel.close_request.map(|request| request.settle_block))
        });
        self.transactions().record_attempt(
            key,
            Action::Close,
            result.is_ok(),
            health.receiver_eth_low,
            landed,
        );
        match &result {
            Ok(Some((transaction, balance, _))) => tracing::info!(
                channel = %channel.id,
                %balance,
                last_balance = %channel.balance,
                claimed = ?channel.close_request.map(|request| request.balance),
                %transaction,
                "closed a channel with the receiver's best proof"
            ),
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(channel = %channel.id, %error, "closing failed; the channel is close_pending and will be retried");
                self.manager.update_health(|health| {
                    health.last_error = Some(format!("closing {}: {error}", channel.id))
                });
                if channel.state != ChannelState::ClosePending {
                    if let Err(error) = self.manager.set_state(key, ChannelState::ClosePending).await {
                        tracing::error!(%error, "recording close_pending failed");
                    }
                }
            }
        }
        result.map(|sent| sent.map(|(transaction, balance, _)| (transaction, balance)))
    }

    /// The highest accepted proof the contract takes now: the last one, unless it is above the
    /// channel's deposit (a reorg took away a top-up it was paid with); then the best proof
    /// kept within the deposit on chain now, if any.
    async fn claimable_proof(
        &self,
        channel: &ChannelRecord,
    ) -> Result<Option<(U192, ProofSignature)>, TransactionError> {
        let last = channel.balance_signature.ok_or(TransactionError::NoProof)?;
        if channel.balance <= channel.deposit {
            return Ok(Some((channel.balance, last)));
        }
        let info = self
            .transactions()
            .contract()
            .getChannelInfo(channel.id.sender, channel.id.receiver, channel.id.open_block_number)
            .call()
            .await
            .map_err(TransactionError::ReadDeposit)?;
        let deposit = info.deposit;
        if channel.balance <= deposit {
            return Ok(Some((channel.balance, last)));
        }
        self.manager.best_proof_within(channel.key(), deposit).await.map_err(TransactionError::KeptProofs)
    }

    /// Sends the close; its transaction, the balance it closed with, and the block it was
    /// mined in. `None`: the sender's close claims more than the best proof the contract
    /// takes, so closing would pay the receiver less than the sender's own settlement will.
    async fn send_close(
        &self,
        channel: &ChannelRecord,
    ) -> Result<Option<(B256, U192, u64)>, TransactionError> {
        let claimable = self.claimable_proof(channel).await?;
        let claimed = channel.close_request.map(|request| request.balance);
        let (balance, proof_signature) = match (claimable, claimed) {
            (Some((balance, _)), Some(claimed)) if balance < claimed => return Ok(None),
            (None, Some(_)) => return Ok(None),
            (Some(proof), _) => proof,
            (None, None) => return Err(TransactionError::NoProofWithinDeposit { balance: channel.balance }),
        };
        let closing_signature =
            self.manager.sign_closing_proof(channel.id, balance).map_err(TransactionError::Sign)?;
        let transactions = self.transactions();
        let contract = transactions.contract();
        let call = contract.cooperativeClose(
            channel.id.sender,
            channel.id.receiver,
            channel.id.open_block_number,
            balance,
            Bytes::copy_from_slice(&proof_signature.as_bytes()),
            Bytes::copy_from_slice(&closing_signature.as_bytes()),
        );
        let receipt = self.submit(call).await?;
        let block = receipt.block_number.ok_or(TransactionError::NoBlock)?;
        Ok(Some((receipt.transaction_hash, balance, block)))
    }

    /// Sends `call` from the receiver and waits for its receipt (see
    /// [`ReceiverTransactions::submit`]); one slow to be mined shows in the health.
    async fn submit<P: Provider, D: CallDecoder>(
        &self,
        call: CallBuilder<P, D>,
    ) -> Result<TransactionReceipt, TransactionError> {
        let report = |message: String| self.manager.update_health(|health| health.last_error = Some(message));
        self.transactions().submit(call, &report).await
    }

    fn transactions(&self) -> &ReceiverTransactions {
        &self.transactions
    }

    /// Forgets what was sent for `keys`, whose chain state a reorg's rollback changed (see
    /// [`ReceiverTransactions::forget_attempts`]).
    pub(crate) fn forget_attempts(&self, keys: &[ChannelKey]) {
        self.transactions.forget_attempts(keys);
    }
}

/// What the duty loop does for a channel this round, in order of urgency (the derived
/// order: variant first, then the deadline).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Duty {
    /// The sender claimed less than the receiver's last proof: after `settle_block` the
    /// sender can settle with its claim, and the difference is lost.
    Dispute { settle_block: u64 },
    /// The sender claimed exactly the last proof: settling early only saves waiting (the
    /// sender's own settlement pays the same).
    Settle { settle_block: u64 },
    /// The receiver's own close (close-all, a `close_signed` timeout) that has not landed.
    Close,
    /// `--withdraw-threshold` reached.
    Withdraw,
}

impl Duty {
    /// Whether the duty may start with `free` of the duty slots free: any duty but into the
    /// last [`DISPUTE_ONLY_SLOTS`], which only disputes take.
    const fn may_take_a_slot(self, free: usize) -> bool {
        let kept = if matches!(self, Self::Dispute { .. }) { 0 } else { DISPUTE_ONLY_SLOTS };
        free > kept
    }

    const fn action(self) -> Action {
        match self {
            Self::Dispute { .. } | Self::Settle { .. } | Self::Close => Action::Close,
            Self::Withdraw => Action::Withdraw,
        }
    }
}

impl OnChainDuties {
    /// Does `duty` for `channel`; the caller holds the channel's claim.
    async fn perform(&self, duty: Duty, channel: &ChannelRecord) {
        match duty {
            Duty::Dispute { .. } | Duty::Settle { .. } | Duty::Close => {
                // Failures are logged, recorded and retried by `close_with_best_proof`.
                let _ = self.close_with_best_proof(channel).await;
            }
            Duty::Withdraw => {
                let (sender, open_block) = (channel.id.sender, channel.id.open_block_number);
                if let Err(error) = self.withdraw_claimed(sender, open_block, U192::ZERO).await {
                    tracing::warn!(channel = %channel.id, %error, "automatic withdrawal failed; retrying later");
                }
            }
        }
    }
}

/// The duties task: runs until cancelled.
pub(crate) async fn run(duties: OnChainDuties, config: ChannelManagerConfig, cancel: CancellationToken) {
    let manager = &duties.manager;
    // When each channel was first seen `close_signed`, in blocks. In memory only: after a
    // restart the sender gets the full timeout again, never less.
    let mut close_signed_since: HashMap<ChannelKey, u64> = HashMap::new();
    let mut interval = tokio::time::interval(config.poll_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let slots = Arc::new(Semaphore::new(MAX_CONCURRENT_DUTIES));
    // Dropped (so aborted) on shutdown, which does not wait for receipts: a sent transaction
    // is mined anyway, and the sync sees its event after a restart.
    let mut in_flight = JoinSet::new();
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = interval.tick() => {}
        }
        while let Some(finished) = in_flight.try_join_next() {
            if let Err(error) = finished {
                tracing::error!(%error, "an on-chain duty panicked");
            }
        }
        if !manager.is_leader() {
            // Another instance of a shared database leads and performs the duties.
            continue;
        }
        let health = manager.health();
        let channels = manager.channels_in(&[
            ChannelState::Open,
            ChannelState::CloseSigned,
            ChannelState::Closing,
            ChannelState::ClosePending,
        ]);
        let live: HashMap<ChannelKey, ChannelState> =
            channels.iter().map(|channel| (channel.key(), channel.state)).collect();
        duties.transactions().retain_attempts(|key| live.contains_key(&key));
        close_signed_since.retain(|key, _| live.get(key) == Some(&ChannelState::CloseSigned));
        let mut due: Vec<(Duty, ChannelRecord)> = channels
            .into_iter()
            .filter_map(|channel| {
                let since = (channel.state == ChannelState::CloseSigned)
                    .then(|| *close_signed_since.entry(channel.key()).or_insert(health.chain_head));
                let duty = duty_of(&duties, &config, &channel, since, health.chain_head)?;
                Some((duty, channel))
            })
            .collect();
        due.sort_by_key(|(duty, _)| *duty);
        for (duty, channel) in due {
            let transactions = duties.transactions();
            let (head, confirmed) = (health.chain_head, health.confirmed_block);
            if !transactions.may_attempt(
                channel.key(),
                duty.action(),
                health.receiver_eth_low,
                head,
                confirmed,
            ) {
                continue;
            }
            // Taken: this channel's transaction is on its way (or the operator's is).
            let Some(claim) = transactions.try_claim(channel.key()) else { continue };
            // All slots busy (or all but those kept for disputes, and this is no dispute; the
            // rest are none either): they wait for the next round, sorted again.
            if !duty.may_take_a_slot(slots.available_permits()) {
                break;
            }
            let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else { break };
            let duties = duties.clone();
            in_flight.spawn(async move {
                let _held = (claim, slot);
                duties.perform(duty, &channel).await;
            });
        }
    }
}

/// The duty a channel needs now, if any.
fn duty_of(
    duties: &OnChainDuties,
    config: &ChannelManagerConfig,
    channel: &ChannelRecord,
    close_signed_since: Option<u64>,
    head: u64,
) -> Option<Duty> {
    channel.balance_signature?;
    match (channel.state, channel.close_request) {
        // The sender asked to close: answer if that gets the receiver at least what the
        // sender's close request would.
        (ChannelState::Closing | ChannelState::ClosePending, Some(request)) => {
            let settle_block = request.settle_block;
            match channel.balance.cmp(&request.balance) {
                std::cmp::Ordering::Greater => Some(Duty::Dispute { settle_block }),
                std::cmp::Ordering::Equal => Some(Duty::Settle { settle_block }),
                std::cmp::Ordering::Less => None,
            }
        }
        // The receiver decided to close (close-all, a close_signed timeout) and failed.
        (ChannelState::ClosePending, None) => Some(Duty::Close),
        (ChannelState::CloseSigned, None) => {
            let timeout = config.close_signed_timeout?;
            (head >= close_signed_since?.saturating_add(timeout)).then_some(Duty::Close)
        }
        (ChannelState::Open, None) => {
            let threshold = config.withdraw_threshold?;
            let withdrawn = duties.transactions().withdrawn(channel.key(), channel.withdrawn);
            let unwithdrawn = channel.balance.saturating_sub(withdrawn);
            (!unwithdrawn.is_zero() && unwithdrawn >= threshold).then_some(Duty::Withdraw)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{
        replacement_fee, Duty, Landed, DISPUTE_ONLY_SLOTS, MAX_CONCURRENT_DUTIES, MAX_FEE_OVER_ESTIMATE,
    };

    #[test]
    fn the_last_duty_slots_are_kept_for_disputes() {
        let dispute = Duty::Dispute { settle_block: 10 };
        for other in [Duty::Settle { settle_block: 5 }, Duty::Close, Duty::Withdraw] {
            assert!(other.may_take_a_slot(MAX_CONCURRENT_DUTIES));
            assert!(other.may_take_a_slot(DISPUTE_ONLY_SLOTS + 1));
            assert!(!other.may_take_a_slot(DISPUTE_ONLY_SLOTS), "{other:?} takes a slot kept for disputes");
        }
        assert!(dispute.may_take_a_slot(1), "a dispute takes the last free slot");
        assert!(!dispute.may_take_a_slot(0));
    }

    #[test]
    fn a_replacement_pays_an_eighth_more_up_to_the_cap() {
        assert_eq!(replacement_fee(100, None, 100), Some(100), "a first send pays the estimate");
        assert_eq!(replacement_fee(100, Some(100), 100), Some(113), "an eighth more, rounded up");
        assert_eq!(replacement_fee(300, Some(100), 100), Some(300), "or the estimate, if higher");
        let cap = 100 * MAX_FEE_OVER_ESTIMATE;
        assert_eq!(replacement_fee(100, Some(350), 100), Some(394));
        assert_eq!(replacement_fee(100, Some(360), 100), None, "405 is above the cap of {cap}");
        // Raised again and again without blocks, the fee stops at the cap.
        let mut fee = 100;
        while let Some(raised) = replacement_fee(100, Some(fee), 100) {
            fee = raised;
        }
        assert!(fee <= cap && fee + fee / 8 + 1 > cap, "{fee}");
    }

    #[test]
    fn a_landed_close_is_sent_again_once_its_block_is_confirmed_or_half_the_challenge_is_gone() {
        // Mined in block 100 with the head at 100 and the sender's settle block at 140.
        let dispute = Landed::new(100, 100, Some(140));
        assert!(!dispute.is_lost(105, 99), "not confirmed yet");
        assert!(dispute.is_lost(102, 100), "confirmed without its settlement");
        assert!(dispute.is_lost(120, 90), "half the challenge period gone, the sync lagging");
        assert!(!dispute.is_lost(119, 90));
        // Past the settle block: at the next block.
        assert!(Landed::new(100, 150, Some(140)).is_lost(151, 0));
        // The receiver's own close has no challenge period: only its confirmation counts.
        assert!(!Landed::new(100, 100, None).is_lost(10_000, 99));
    }

    #[test]
    fn duties_are_ordered_by_urgency() {
        let mut duties = vec![
            Duty::Withdraw,
            Duty::Settle { settle_block: 10 },
            Duty::Close,
            Duty::Dispute { settle_block: 900 },
            Duty::Settle { settle_block: 5 },
            Duty::Dispute { settle_block: 600 },
        ];
        duties.sort();
        assert_eq!(
            duties,
            [
                Duty::Dispute { settle_block: 600 },
                Duty::Dispute { settle_block: 900 },
                Duty::Settle { settle_block: 5 },
                Duty::Settle { settle_block: 10 },
                Duty::Close,
                Duty::Withdraw,
            ]
        );
    }
}
