//! The [`ChannelStore`] contract, checked on every database: the same tests on an SQLite file
//! and on a PostgreSQL database of a throwaway cluster (Debian's `postgresql`, see
//! `uraiden_e2e::postgres`).

use std::sync::{Arc, Mutex, Weak};

use uraiden_e2e::postgres::TestPostgres;
use uraiden_protocol::{
    channel_manager_domain, Address, ChannelId, ChannelKey, LocalSigningKey, ProofSignature, B256, U192,
};

use super::model::KEPT_DEPOSIT_PROOFS;
use super::{
    open_store, BlockRef, ChangeCursor, ChannelRecord, ChannelState, ChannelStore, CloseRequest, DatabaseUrl,
    Durability, Identity, PaymentToRecord, PaymentWrite, StoreError, StoreLocation, KEPT_BLOCKS,
};

/// One database for one test: a new SQLite file, or a new database in the shared cluster.
pub(super) struct TestStore {
    location: StoreLocation,
    // Held to keep the file's directory or the cluster alive for the test.
    _dir: Option<tempfile::TempDir>,
    _cluster: Option<Arc<TestPostgres>>,
}

impl TestStore {
    pub(super) fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        Self { location: StoreLocation::File(dir.path().join("state.db")), _dir: Some(dir), _cluster: None }
    }

    pub(super) fn postgres() -> Self {
        let cluster = shared_cluster();
        let name = format!("store_{}", NEXT_DATABASE.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let url = cluster.create_database(&name).expect("creates a database");
        Self { location: StoreLocation::Database(DatabaseUrl::new(url)), _dir: None, _cluster: Some(cluster) }
    }

    /// Opens (again) this test's store for [`identity`].
    pub(super) fn open(&self) -> Box<dyn ChannelStore> {
        self.open_as(identity()).expect("opens")
    }

    fn open_as(&self, identity: Identity) -> Result<Box<dyn ChannelStore>, StoreError> {
        open_store(&self.location, identity, Durability::default())
    }
}

static NEXT_DATABASE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The cluster the running tests share; stopped once the last of them drops it (a static would
/// outlive the test process and leave the cluster running).
fn shared_cluster() -> Arc<TestPostgres> {
    static CLUSTER: Mutex<Weak<TestPostgres>> = Mutex::new(Weak::new());
    let mut shared = CLUSTER.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(cluster) = shared.upgrade() {
        return cluster;
    }
    let cluster = Arc::new(TestPostgres::start().expect("starts a PostgreSQL cluster"));
    *shared = Arc::downgrade(&cluster);
    cluster
}

/// Each test, once per database.
macro_rules! on_every_database {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(super::TestStore::sqlite()) })*
        }
        mod postgres {
            $(#[test] fn $name() { super::$name(super::TestStore::postgres()) })*
        }
    };
}

on_every_database!(
    payment_is_compare_and_set_on_the_previous_balance,
    chain_fields_never_overwrite_the_last_proof_and_survive_reopening,
    a_rollback_restores_the_chain_fields_and_keeps_the_proofs,
    a_rollback_keeps_the_receivers_own_decisions,
    history_and_undo_information_are_kept_for_the_last_blocks_only,
    forgetting_the_chain_keeps_every_proof_aside,
    close_signed_only_at_the_last_balance,
    payments_of_a_batch_are_compare_and_set_one_by_one,
    the_best_proof_within_each_deposit_is_kept_for_a_rollback_of_a_top_up,
    only_the_proofs_of_the_last_deposits_are_kept,
    a_payment_above_the_stored_deposit_is_not_recorded,
    another_identity_is_refused,
    amounts_beyond_u64_are_kept_exactly,
    changes_since_show_payments_and_rollbacks,
);

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

fn insert(store: &mut dyn ChannelStore, record: &ChannelRecord, head: u64) {
    let mut batch = store.chain_batch().expect("batch");
    batch.save_chain_fields(record).expect("saved");
    batch.commit(BlockRef { number: head, hash: B256::repeat_byte(head as u8) }).expect("committed");
}

fn block(number: u64) -> BlockRef {
    BlockRef { number, hash: B256::repeat_byte(number as u8) }
}

/// Applies `after` as the chain's change of `record` in `number`, as the sync does.
fn apply(store: &mut dyn ChannelStore, number: u64, after: &ChannelRecord) {
    let mut batch = store.chain_batch().expect("batch");
    let before = batch.channel(after.key()).expect("reads");
    batch.record_undo(number, after.key(), before.as_ref()).expect("undo recorded");
    batch.save_chain_fields(after).expect("saved");
    batch.commit(block(number)).expect("committed");
}

/// A store that followed the chain from block 1, as the sync's first commit does.
fn anchored(backend: &TestStore) -> Box<dyn ChannelStore> {
    let mut store = backend.open();
    store.chain_batch().expect("batch").commit(block(1)).expect("committed");
    store
}

fn roll_back_after(store: &mut dyn ChannelStore, fork: u64) -> Vec<ChannelKey> {
    let mut batch = store.chain_batch().expect("batch");
    let changed = batch.roll_back_after(fork).expect("rolled back");
    batch.commit(block(fork)).expect("committed");
    changed
}

/// Pays `from..=to` in steps of 10 (the channel's balance is `from - 10` before).
fn pay_up_to(store: &mut dyn ChannelStore, key: ChannelKey, from: u64, to: u64) {
    for balance in (from..=to).step_by(10) {
        let write =
            store.record_payment(key, U192::from(balance - 10), U192::from(balance), &signature(balance));
        assert_eq!(write.expect("writes"), PaymentWrite::Recorded, "paying {balance}");
    }
}

fn best(store: &mut dyn ChannelStore, key: ChannelKey, deposit: u64) -> Option<u64> {
    store.best_proof_within(key, U192::from(deposit)).expect("reads").map(|(balance, proof)| {
        assert_eq!(proof, signature(balance.to::<u64>()), "the signature of balance {balance}");
        balance.to::<u64>()
    })
}

fn another_identity_is_refused(backend: TestStore) {
    drop(backend.open());
    let other = Identity { receiver: Address::repeat_byte(0xdd), ..identity() };
    let error = backend.open_as(other).expect_err("refused");
    assert!(matches!(error, StoreError::IdentityMismatch { .. }), "{error}");
    drop(backend.open());
}

/// Balances and deposits are 192-bit: stored and compared exactly, far beyond 64 bits.
fn amounts_beyond_u64_are_kept_exactly(backend: TestStore) {
    let mut store = backend.open();
    let huge = U192::MAX - U192::from(10u64);
    let record = ChannelRecord { deposit: U192::MAX, ..channel(1, 10) };
    insert(store.as_mut(), &record, 10);
    assert_eq!(
        store.record_payment(record.key(), U192::ZERO, huge, &signature(1)).expect("writes"),
        PaymentWrite::Recorded
    );
    assert!(matches!(
        store.record_payment(record.key(), huge - U192::from(1u64), U192::MAX, &signature(2)).expect("writes"),
        PaymentWrite::Conflict(Some(now)) if now.balance == huge
    ));
    assert_eq!(
        store.record_payment(record.key(), huge, U192::MAX, &signature(2)).expect("writes"),
        PaymentWrite::Recorded
    );
    drop(store);
    let stored = backend.open().channel(record.key()).expect("reads").expect("on chain");
    assert_eq!((stored.balance, stored.deposit), (U192::MAX, U192::MAX));
}

fn payment_is_compare_and_set_on_the_previous_balance(backend: TestStore) {
    let mut store = backend.open();
    let record = channel(1, 10);
    insert(store.as_mut(), &record, 10);

    let five = U192::from(5u64);
    assert_eq!(
        store.record_payment(record.key(), U192::ZERO, five, &signature(5)).expect("writes"),
        PaymentWrite::Recorded
    );
    // A second writer that also saw balance 0 loses and learns the current state.
    match store.record_payment(record.key(), U192::ZERO, five, &signature(5)).expect("writes") {
        PaymentWrite::Conflict(Some(now)) => {
            assert_eq!(now.balance, five);
            assert_eq!(now.balance_signature, Some(signature(5)));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Unknown channel: a conflict with nothing to show.
    let unknown = channel(2, 10).key();
    assert_eq!(
        store.record_payment(unknown, U192::ZERO, five, &signature(5)).expect("writes"),
        PaymentWrite::Conflict(None)
    );
    // A channel that is no longer open takes no payment.
    store.set_state(record.key(), ChannelState::Closing).expect("sets");
    assert!(matches!(
        store.record_payment(record.key(), five, U192::from(10u64), &signature(10)).expect("writes"),
        PaymentWrite::Conflict(Some(_))
    ));
}

fn chain_fields_never_overwrite_the_last_proof_and_survive_reopening(backend: TestStore) {
    let mut record = channel(1, 10);
    {
        let mut store = backend.open();
        insert(store.as_mut(), &record, 10);
        store.record_payment(record.key(), U192::ZERO, U192::from(7u64), &signature(7)).expect("writes");
        record.deposit = U192::from(150u64);
        record.close_request = Some(CloseRequest { settle_block: 600, balance: U192::from(3u64) });
        record.state = ChannelState::Closing;
        insert(store.as_mut(), &record, 11);
        // An uncommitted batch leaves no trace.
        let mut batch = store.chain_batch().expect("batch");
        batch.save_chain_fields(&channel(9, 12)).expect("saved");
        drop(batch);
    }
    let mut store = backend.open();
    let channels = store.load_channels().expect("loads");
    assert_eq!(channels.len(), 1);
    let stored = &channels[0];
    assert_eq!(stored.id, record.id);
    assert_eq!(stored.deposit, U192::from(150u64));
    assert_eq!(stored.state, ChannelState::Closing);
    assert_eq!(stored.close_request, record.close_request);
    assert_eq!(stored.balance, U192::from(7u64));
    assert_eq!(stored.balance_signature, Some(signature(7)));
    assert_eq!(store.sync_head().expect("reads").map(|head| head.number), Some(11));
    assert_eq!(store.channel(record.key()).expect("reads").as_ref(), Some(stored));
}

fn a_rollback_restores_the_chain_fields_and_keeps_the_proofs(backend: TestStore) {
    let mut store = anchored(&backend);
    let opened = channel(1, 10);
    let key = opened.key();
    apply(store.as_mut(), 10, &opened);
    store.record_payment(key, U192::ZERO, U192::from(5u64), &signature(5)).expect("writes");
    let topped_up = ChannelRecord { deposit: U192::from(150u64), ..opened.clone() };
    apply(store.as_mut(), 12, &topped_up);
    let closing = ChannelRecord {
        state: ChannelState::Closing,
        close_request: Some(CloseRequest { settle_block: 513, balance: U192::ZERO }),
        ..topped_up.clone()
    };
    apply(store.as_mut(), 13, &closing);
    assert_eq!(
        store.block_history().expect("reads").iter().map(|b| b.number).collect::<Vec<_>>(),
        [13, 12, 10, 1]
    );

    // Back to block 11: the top-up and the close request are undone, the proof is not.
    assert_eq!(roll_back_after(store.as_mut(), 11), [key]);
    let now = store.channel(key).expect("reads").expect("still on chain");
    assert_eq!((now.deposit, now.state, now.close_request), (U192::from(100u64), ChannelState::Open, None));
    assert_eq!((now.balance, now.balance_signature), (U192::from(5u64), Some(signature(5))));
    assert_eq!(store.sync_head().expect("reads"), Some(block(11)));
    assert_eq!(
        store.block_history().expect("reads").iter().map(|b| b.number).collect::<Vec<_>>(),
        [11, 10, 1]
    );

    // Back before the creation: off chain, no payment taken, the proof kept aside.
    assert_eq!(roll_back_after(store.as_mut(), 9), [key]);
    assert_eq!(store.channel(key).expect("reads"), None);
    assert!(store.load_channels().expect("loads").is_empty());
    assert_eq!(
        store.record_payment(key, U192::from(5u64), U192::from(10u64), &signature(10)).expect("writes"),
        PaymentWrite::Conflict(None)
    );
    let remains = store.chain_batch().expect("batch").remains(key).expect("reads").expect("kept");
    assert_eq!((remains.balance, remains.balance_signature), (U192::from(5u64), Some(signature(5))));

    // Created again at the same height: on chain again, with its proof.
    apply(store.as_mut(), 10, &opened);
    let again = store.channel(key).expect("reads").expect("on chain");
    assert_eq!(again.balance, U192::from(5u64));
    assert_eq!(roll_back_after(store.as_mut(), 100), Vec::<ChannelKey>::new(), "nothing after block 100");
}

fn a_rollback_keeps_the_receivers_own_decisions(backend: TestStore) {
    let mut store = anchored(&backend);
    let opened = channel(1, 10);
    apply(store.as_mut(), 10, &opened);
    store.record_payment(opened.key(), U192::ZERO, U192::from(5u64), &signature(5)).expect("writes");
    apply(store.as_mut(), 11, &ChannelRecord { deposit: U192::from(150u64), ..opened.clone() });
    assert!(store.mark_close_signed(opened.key(), U192::from(5u64)).expect("writes"));
    roll_back_after(store.as_mut(), 10);
    let now = store.channel(opened.key()).expect("reads").expect("on chain");
    assert_eq!((now.deposit, now.state), (U192::from(100u64), ChannelState::CloseSigned));
}

fn history_and_undo_information_are_kept_for_the_last_blocks_only(backend: TestStore) {
    let mut store = backend.open();
    let opened = channel(1, 10);
    apply(store.as_mut(), 10, &opened);
    let head = 10 + KEPT_BLOCKS + 5;
    let batch = store.chain_batch().expect("batch");
    batch.commit(BlockRef { number: head, hash: B256::repeat_byte(1) }).expect("committed");
    assert_eq!(store.block_history().expect("reads").iter().map(|b| b.number).collect::<Vec<_>>(), [head]);
    // Undo information below the kept history is gone: a rollback there changes nothing.
    let mut batch = store.chain_batch().expect("batch");
    assert_eq!(batch.roll_back_after(9).expect("rolls back"), Vec::<ChannelKey>::new());
}

fn forgetting_the_chain_keeps_every_proof_aside(backend: TestStore) {
    let mut store = anchored(&backend);
    let (first, second) = (channel(1, 10), channel(2, 11));
    apply(store.as_mut(), 10, &first);
    apply(store.as_mut(), 11, &second);
    store.record_payment(first.key(), U192::ZERO, U192::from(5u64), &signature(5)).expect("writes");
    let mut batch = store.chain_batch().expect("batch");
    let mut forgotten = batch.forget_chain().expect("forgets");
    forgotten.sort_by_key(|key| key.0);
    let mut expected = [first.key(), second.key()];
    expected.sort_by_key(|key| key.0);
    assert_eq!(forgotten, expected);
    batch.commit(block(2)).expect("committed");
    assert!(store.load_channels().expect("loads").is_empty());
    assert_eq!(store.block_history().expect("reads"), [block(2)]);
    let remains = store.chain_batch().expect("batch").remains(first.key()).expect("reads").expect("kept");
    assert_eq!(remains.balance_signature, Some(signature(5)));
}

fn close_signed_only_at_the_last_balance(backend: TestStore) {
    let mut store = backend.open();
    let record = channel(1, 10);
    insert(store.as_mut(), &record, 10);
    store.record_payment(record.key(), U192::ZERO, U192::from(5u64), &signature(5)).expect("writes");
    assert!(!store.mark_close_signed(record.key(), U192::from(4u64)).expect("writes"));
    assert!(store.mark_close_signed(record.key(), U192::from(5u64)).expect("writes"));
    assert!(store.mark_close_signed(record.key(), U192::from(5u64)).expect("idempotent"));
    assert_eq!(store.channel(record.key()).expect("reads").map(|c| c.state), Some(ChannelState::CloseSigned));
}

fn payments_of_a_batch_are_compare_and_set_one_by_one(backend: TestStore) {
    let mut store = backend.open();
    let (first, second) = (channel(1, 10), channel(2, 10));
    insert(store.as_mut(), &first, 10);
    insert(store.as_mut(), &second, 10);
    let pay = |record: &ChannelRecord, previous: u64, balance: u64| PaymentToRecord {
        key: record.key(),
        previous: U192::from(previous),
        balance: U192::from(balance),
        signature: signature(balance),
    };
    // Two payments for the same previous balance: the first is recorded, the second
    // conflicts and sees the first; the other channel's payment is unaffected.
    let writes = store
        .record_payments(&[pay(&first, 0, 5), pay(&first, 0, 5), pay(&second, 0, 3), pay(&first, 5, 10)])
        .expect("writes");
    assert_eq!(writes[0], PaymentWrite::Recorded);
    match &writes[1] {
        PaymentWrite::Conflict(Some(now)) => assert_eq!(now.balance, U192::from(5u64)),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(writes[2..], [PaymentWrite::Recorded, PaymentWrite::Recorded]);
    assert_eq!(store.channel(first.key()).expect("reads").map(|c| c.balance), Some(U192::from(10u64)));
    assert_eq!(store.channel(second.key()).expect("reads").map(|c| c.balance), Some(U192::from(3u64)));
}

/// A top-up, paid into, that a rollback takes away: the last proof (100) is above the
/// deposit again (50), and the best proof within it (50) is what a close can use.
fn the_best_proof_within_each_deposit_is_kept_for_a_rollback_of_a_top_up(backend: TestStore) {
    let mut store = anchored(&backend);
    let opened = ChannelRecord { deposit: U192::from(50u64), ..channel(1, 10) };
    let key = opened.key();
    apply(store.as_mut(), 10, &opened);
    assert_eq!(best(store.as_mut(), key, 50), None, "nothing paid yet");
    pay_up_to(store.as_mut(), key, 10, 50);
    apply(store.as_mut(), 12, &ChannelRecord { deposit: U192::from(100u64), ..opened.clone() });
    pay_up_to(store.as_mut(), key, 60, 100);
    assert_eq!(best(store.as_mut(), key, 100), Some(100));

    roll_back_after(store.as_mut(), 11);
    let now = store.channel(key).expect("reads").expect("on chain");
    assert_eq!((now.deposit, now.balance), (U192::from(50u64), U192::from(100u64)));
    assert_eq!(best(store.as_mut(), key, 50), Some(50));
    assert_eq!(best(store.as_mut(), key, 99), Some(50), "the best of what fits, not the deposit's own");
    assert_eq!(best(store.as_mut(), key, 49), None, "one proof per deposit: nothing below 50 is kept");
    // Payments go on only above the last accepted balance, so none fits the deposit now.
    assert!(matches!(
        store.record_payment(key, U192::from(100u64), U192::from(110u64), &signature(110)).expect("writes"),
        PaymentWrite::Conflict(Some(_))
    ));
    assert_eq!(best(store.as_mut(), key, 100), Some(100), "a reorg that brings the top-up back");
}

fn only_the_proofs_of_the_last_deposits_are_kept(backend: TestStore) {
    let mut store = anchored(&backend);
    let opened = ChannelRecord { deposit: U192::from(10u64), ..channel(1, 10) };
    let key = opened.key();
    apply(store.as_mut(), 10, &opened);
    let deposits = KEPT_DEPOSIT_PROOFS as u64 + 5;
    for step in 1..=deposits {
        pay_up_to(store.as_mut(), key, 10 * step, 10 * step);
        apply(
            store.as_mut(),
            10 + step,
            &ChannelRecord { deposit: U192::from(10 * (step + 1)), ..opened.clone() },
        );
    }
    assert_eq!(best(store.as_mut(), key, 10 * deposits), Some(10 * deposits));
    let oldest_kept = 10 * (deposits - KEPT_DEPOSIT_PROOFS as u64 + 1);
    assert_eq!(best(store.as_mut(), key, oldest_kept), Some(oldest_kept));
    assert_eq!(best(store.as_mut(), key, oldest_kept - 1), None, "older deposits are forgotten");
}

/// A payment checked against a deposit that a reorg's rollback lowered before it reached the
/// store: the compare-and-set refuses it, since a proof above the deposit cannot be claimed
/// on chain. Deposits of other lengths in decimal are compared as numbers (9 < 10 < 100).
fn a_payment_above_the_stored_deposit_is_not_recorded(backend: TestStore) {
    let mut store = backend.open();
    let mut record = channel(1, 10);
    record.deposit = U192::from(10u64);
    insert(store.as_mut(), &record, 10);
    let pay = |previous: u64, balance: u64| PaymentToRecord {
        key: record.key(),
        previous: U192::from(previous),
        balance: U192::from(balance),
        signature: signature(balance),
    };
    let writes = store.record_payments(&[pay(0, 9), pay(9, 11), pay(9, 100), pay(9, 10)]).expect("writes");
    assert_eq!(writes[0], PaymentWrite::Recorded);
    assert!(matches!(&writes[1], PaymentWrite::Conflict(Some(now)) if now.balance == U192::from(9u64)));
    assert!(matches!(&writes[2], PaymentWrite::Conflict(Some(_))));
    assert_eq!(writes[3], PaymentWrite::Recorded);
    assert_eq!(store.channel(record.key()).expect("reads").map(|c| c.balance), Some(U192::from(10u64)));
}

/// What an instance that does not follow the chain reads to keep its view current.
fn changes_since_show_payments_and_rollbacks(backend: TestStore) {
    let mut store = anchored(&backend);
    let opened = channel(1, 10);
    let (_, cursor) = store.channels_changed_since(ChangeCursor::START).expect("reads");
    apply(store.as_mut(), 10, &opened);
    store.record_payment(opened.key(), U192::ZERO, U192::from(5u64), &signature(5)).expect("writes");
    let (changed, _) = store.channels_changed_since(cursor).expect("reads");
    assert_eq!(changed.len(), 1);
    assert_eq!((changed[0].0.balance, changed[0].1), (U192::from(5u64), true));
    roll_back_after(store.as_mut(), 9);
    let (changed, next) = store.channels_changed_since(cursor).expect("reads");
    assert_eq!((changed.len(), changed[0].1), (1, false), "taken off chain by the rollback");
    let (everything, _) = store.channels_changed_since(ChangeCursor::START).expect("reads");
    assert_eq!(everything.len(), 1);
    let _ = next;
}
