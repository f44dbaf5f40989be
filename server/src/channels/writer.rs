//! Group commit of payments. One writer thread takes every payment that arrived while its
//! previous commit was in flight and records them in one store transaction
//! (the channel manager's commit, over
//! [`ChannelStore::record_payments`](crate::store::ChannelStore::record_payments)): N concurrent payments
//! cost one commit (one fsync with `--durability power-loss`) instead of N serialised ones.
//!
//! Batches form by themselves, without a timer: a payment that finds the writer idle is
//! committed alone at once (no added latency at low load; with a store that commits in memory
//! the channel manager even commits it on its own thread, see `Shared::commit_alone`); under
//! load the queue fills while the writer waits for the disk, and the next batch takes all of
//! it. Each payment keeps its own compare-and-set; a payment waits for the outcome of its
//! batch's commit, so nothing is acknowledged before it is durable, and a failed commit fails
//! every payment of the batch.
//!
//! A dedicated std thread rather than `spawn_blocking` per payment: the batch needs one place
//! that sees the whole queue, and the commit blocks on the disk, which must not stall the
//! async workers.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    mpsc, Arc,
};

use tokio::sync::oneshot;

use crate::store::PaymentToRecord;

/// The most payments of one transaction: bounds how long a batch holds the store.
const MAX_BATCH: usize = 1024;

/// The writer thread is gone: the payment was not recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WriterStopped;

/// The queue to the writer thread: a cheap handle. The thread stops when the last handle is
/// dropped (its queue then disconnects). `O` is the outcome of one payment, as the commit
/// function reports it (durable, or why it was not recorded).
#[derive(Debug)]
pub(crate) struct PaymentWriter<O> {
    queue: mpsc::Sender<QueuedPayment<O>>,
    /// Payments queued or being committed, so a caller can see that the writer is idle.
    pending: Arc<AtomicUsize>,
}

#[derive(Debug)]
struct QueuedPayment<O> {
    payment: PaymentToRecord,
    outcome: oneshot::Sender<O>,
}

/// The receiving end of the queue, until [`start`](Self::start) hands it to the thread.
#[derive(Debug)]
pub(crate) struct PaymentQueue<O> {
    queued: mpsc::Receiver<QueuedPayment<O>>,
    pending: Arc<AtomicUsize>,
}

impl<O: Send + 'static> PaymentQueue<O> {
    /// Starts the writer thread. `commit` records a batch durably and returns one outcome
    /// per payment, in order (an error for each if the commit failed).
    pub(crate) fn start(
        self,
        mut commit: impl FnMut(&[PaymentToRecord]) -> Vec<O> + Send + 'static,
    ) -> std::io::Result<()> {
        let (queued, pending) = (self.queued, self.pending);
        std::thread::Builder::new().name("uraiden-payment-writer".into()).spawn(move || {
            let mut batch = Vec::new();
            let mut payments = Vec::new();
            // Blocks for the first payment, then takes whatever queued up behind it.
            while let Ok(first) = queued.recv() {
                batch.push(first);
                batch.extend(queued.try_iter().take(MAX_BATCH - 1));
                payments.extend(batch.iter().map(|queued: &QueuedPayment<O>| queued.payment));
                let outcomes = commit(&payments);
                debug_assert_eq!(outcomes.len(), batch.len());
                // Committed: no longer pending, before anyone is told (who may pay again).
                pending.fetch_sub(payments.len(), Ordering::AcqRel);
                for (queued, outcome) in batch.drain(..).zip(outcomes) {
                    // The request may be gone (client hung up): the payment is recorded all
                    // the same, and memory follows the store.
                    let _ = queued.outcome.send(outcome);
                }
                // A payment left without an outcome (a short `outcomes`) is refused as its
                // sender is dropped here.
                batch.clear();
                payments.clear();
            }
        })?;
        Ok(())
    }
}

impl<O> PaymentWriter<O> {
    /// The writer's queue; payments wait in it until [`PaymentQueue::start`] runs. Two steps
    /// so that the commit function may refer to the structure that holds the writer.
    pub(crate) fn new() -> (Self, PaymentQueue<O>) {
        let (queue, queued) = mpsc::channel();
        let pending = Arc::new(AtomicUsize::new(0));
        (Self { queue, pending: Arc::clone(&pending) }, PaymentQueue { queued, pending })
    }

    /// Whether no payment is queued or being committed.
    pub(crate) fn is_idle(&self) -> bool {
        self.pending.load(Ordering::Acquire) == 0
    }

    /// Queues `payment` and waits until its batch is committed. If the caller stops waiting,
    /// the payment is still recorded (or refused) as if it had waited.
    pub(crate) async fn record(&self, payment: PaymentToRecord) -> Result<O, WriterStopped> {
        let (outcome, recorded) = oneshot::channel();
        self.pending.fetch_add(1, Ordering::AcqRel);
        if self.queue.send(QueuedPayment { payment, outcome }).is_err() {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            return Err(WriterStopped);
        }
        recorded.await.map_err(|_| WriterStopped)
    }
}
