//! [`ChannelStore`]: what the channel manager needs of a database, whichever it is. The
//! manager calls it from blocking threads behind one mutex; every method that writes returns
//! only once the write is durable (as the backend's durability setting defines it).

use uraiden_protocol::{ChannelKey, ProofSignature, U192};

use super::{
    error::Result,
    model::{BlockRef, ChangeCursor, ChannelRecord, ChannelState, Identity, PaymentToRecord, PaymentWrite},
};

/// The receiver's durable state: its channels, the last accepted proof of each (and the best
/// one within each of its recent deposits), and how far the chain has been followed.
pub trait ChannelStore: Send + std::fmt::Debug {
    /// Which receiver this state belongs to (checked when the store is opened).
    fn identity(&self) -> Identity;

    /// The last block whose events are all applied, if the chain was ever followed.
    fn sync_head(&mut self) -> Result<Option<BlockRef>>;

    /// Every channel on chain, for the in-memory index at start.
    fn load_channels(&mut self) -> Result<Vec<ChannelRecord>>;

    /// One channel on chain, by key.
    fn channel(&mut self, key: ChannelKey) -> Result<Option<ChannelRecord>>;

    /// The channels written since `cursor` was handed out (from [`ChangeCursor::START`]: all),
    /// each with whether it is on chain (a rollback may have taken it off), and the cursor to
    /// read on from: how an instance keeps its view of a shared database current. A write
    /// committed after this read is in the next one, however long its transaction took.
    fn channels_changed_since(
        &mut self,
        cursor: ChangeCursor,
    ) -> Result<(Vec<(ChannelRecord, bool)>, ChangeCursor)>;

    /// The blocks whose hashes the store keeps (at most
    /// [`KEPT_BLOCKS`](super::model::KEPT_BLOCKS) below the sync head, the sync head
    /// included), newest first: where to look for the fork point of a reorg.
    fn block_history(&mut self) -> Result<Vec<BlockRef>>;

    /// Records several payments together, so they share one commit: the group commit of the
    /// payment writer. Each payment is a compare-and-set, applied in order: its balance and
    /// signature become the channel's last proof only if the stored balance is still its
    /// `previous`, the channel is open and on chain, and the deposit covers the balance; so of
    /// two payments for the same previous balance exactly one is recorded. A payment whose
    /// compare-and-set fails gets [`PaymentWrite::Conflict`] with the channel as it is then,
    /// and the others are recorded. The payment's proof is also kept as the best within the
    /// channel's deposit, in the same commit. Returns one outcome per payment, in order, all
    /// durable when it returns `Ok`; on `Err` nothing is recorded.
    fn record_payments(&mut self, payments: &[PaymentToRecord]) -> Result<Vec<PaymentWrite>>;

    /// Whether a commit returns without waiting for a disk or a server (SQLite with
    /// `--durability process-crash` appends to the WAL in the page cache), so that
    /// [`record_payments_without_waiting`](Self::record_payments_without_waiting) is worth
    /// asking. By default no.
    fn commits_in_memory(&self) -> bool {
        false
    }

    /// [`record_payments`](Self::record_payments) unless that would wait for a disk or for
    /// another connection to the database: `Ok(None)` then, and nothing is recorded. For a
    /// caller that must not block (an async worker) and has another way to record them. By
    /// default always `Ok(None)`.
    fn record_payments_without_waiting(
        &mut self,
        _payments: &[PaymentToRecord],
    ) -> Result<Option<Vec<PaymentWrite>>> {
        Ok(None)
    }

    /// One payment of [`record_payments`](Self::record_payments).
    fn record_payment(
        &mut self,
        key: ChannelKey,
        previous: U192,
        balance: U192,
        signature: &ProofSignature,
    ) -> Result<PaymentWrite> {
        let payment = PaymentToRecord { key, previous, balance, signature: *signature };
        let mut writes = self.record_payments(&[payment])?;
        Ok(writes.pop().expect("one outcome per payment"))
    }

    /// The highest accepted proof of the channel whose balance is at most `deposit`: what the
    /// receiver closes or disputes with when the channel's deposit on chain is `deposit`. The
    /// last accepted proof may be above it after a reorg took a top-up away, and the contract
    /// refuses a proof above the deposit; the best proof within each earlier deposit is kept
    /// for that (the last [`KEPT_DEPOSIT_PROOFS`](super::model::KEPT_DEPOSIT_PROOFS)
    /// deposits). `None`: no accepted proof fits.
    fn best_proof_within(&mut self, key: ChannelKey, deposit: U192)
        -> Result<Option<(U192, ProofSignature)>>;

    /// Marks the channel [`ChannelState::CloseSigned`] if it is open with last balance
    /// `balance` (or already marked at that balance). Returns whether it is now so marked.
    fn mark_close_signed(&mut self, key: ChannelKey, balance: U192) -> Result<bool>;

    /// Sets a channel's state (the receiver's own decisions, e.g. [`ChannelState::ClosePending`]).
    /// A settled channel stays settled: the chain's word is final.
    fn set_state(&mut self, key: ChannelKey, state: ChannelState) -> Result<()>;

    /// Starts applying confirmed chain events: changes are written together with the new
    /// sync head by [`ChainBatch::commit`], or not at all.
    fn chain_batch(&mut self) -> Result<Box<dyn ChainBatch + '_>>;
}

/// Confirmed chain changes being written in one transaction (see
/// [`ChannelStore::chain_batch`]). Dropping it without [`commit`](Self::commit) writes nothing.
pub trait ChainBatch {
    /// The channel on chain, as this batch sees it.
    fn channel(&mut self, key: ChannelKey) -> Result<Option<ChannelRecord>>;

    /// What is kept of a channel whose creation a rollback undid: its last accepted proof and
    /// the receiver's decisions (see [`ChannelRecord::with_remains_of`]).
    fn remains(&mut self, key: ChannelKey) -> Result<Option<ChannelRecord>>;

    /// Records the channel's chain fields as they were before `block` changed them (`None`:
    /// not on chain), unless an earlier event of the same block recorded them already: what
    /// [`roll_back_after`](Self::roll_back_after) restores.
    fn record_undo(&mut self, block: u64, key: ChannelKey, before: Option<&ChannelRecord>) -> Result<()>;

    /// Undoes every chain event applied after block `fork`: each channel they changed gets
    /// back its chain fields of then (a channel created after `fork` is no longer on chain;
    /// its row stays for its last proof), and the hashes and undo information of the later
    /// blocks are dropped. Accepted proofs are never touched. Returns the channels changed.
    /// Commit with the fork point as the new sync head.
    fn roll_back_after(&mut self, fork: u64) -> Result<Vec<ChannelKey>>;

    /// Takes every channel off chain and forgets the block history, keeping the accepted
    /// proofs: for a reorg deeper than the history, after which the whole contract history is
    /// read again. Returns the channels that were on chain. Commit with the block before the
    /// start block as the new sync head.
    fn forget_chain(&mut self) -> Result<Vec<ChannelKey>>;

    /// Inserts a channel, or rewrites the chain's fields of an existing one (deposit, signer,
    /// withdrawn, state, close request, settled balance), and counts it as on chain. The last
    /// accepted proof is never touched here: only payments write it.
    fn save_chain_fields(&mut self, record: &ChannelRecord) -> Result<()>;

    /// Writes the new sync head, adds it to the block history, forgets the hashes and undo
    /// information older than [`KEPT_BLOCKS`](super::model::KEPT_BLOCKS), and commits
    /// everything durably.
    fn commit(self: Box<Self>, head: BlockRef) -> Result<()>;
}
