//! Issue 9, third outside review: the best proof per deposit (store schema 3) is written in
//! the payment's own transaction. If that write fails (disk full, I/O error) after the
//! channel's row was updated, the payment must not be recorded at all: a payment
//! acknowledged without its kept proof would leave a reorg nothing to dispute with, and one
//! recorded but reported failed would be refused to the sender yet counted against it.

// The tests panic as their failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use rusqlite::Connection;
use uraiden_protocol::{
    channel_manager_domain, Address, ChannelId, LocalSigningKey, ProofSignature, B256, U192,
};
use uraiden_server::store::{BlockRef, ChannelRecord, Identity, PaymentWrite, Store};

fn identity() -> Identity {
    Identity {
        chain_id: 31337,
        channel_manager: Address::repeat_byte(0xcc),
        receiver: Address::repeat_byte(0xee),
    }
}

fn channel() -> ChannelRecord {
    let id = ChannelId::new(Address::repeat_byte(1), identity().receiver, 10);
    ChannelRecord::opened(id, U192::from(100u64), id.sender)
}

fn signature(balance: u64) -> ProofSignature {
    let key = LocalSigningKey::from_bytes(&B256::repeat_byte(7)).unwrap();
    let domain = channel_manager_domain(31337, identity().channel_manager);
    key.sign_balance_proof(&domain, &channel().id.balance_proof(U192::from(balance))).unwrap()
}

fn with_second_connection(path: &Path, sql: &str) {
    let connection = Connection::open(path).unwrap();
    connection.execute_batch(sql).unwrap();
}

#[test]
fn a_failed_kept_proof_write_records_nothing_of_the_payment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let mut store = Store::open(&path, identity()).unwrap();
    let record = channel();
    let batch = store.chain_batch().unwrap();
    batch.save_chain_fields(&record).unwrap();
    batch.commit(BlockRef { number: 10, hash: B256::repeat_byte(10) }).unwrap();
    let key = record.key();
    assert_eq!(
        store.record_payment(key, U192::ZERO, U192::from(10u64), &signature(10)).unwrap(),
        PaymentWrite::Recorded
    );

    // The kept proof's write fails from now on, as a full disk would fail it, after the
    // channel's row was updated in the same transaction.
    with_second_connection(
        &path,
        "CREATE TRIGGER kept_proof_fails BEFORE INSERT ON deposit_proofs
         BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
    );
    let failed = store.record_payment(key, U192::from(10u64), U192::from(20u64), &signature(20));
    assert!(failed.is_err(), "the payment was acknowledged without its kept proof: {failed:?}");
    let now = store.channel(key).unwrap().unwrap();
    assert_eq!(now.balance, U192::from(10u64), "the refused payment was recorded anyway");
    assert_eq!(
        store.best_proof_within(key, U192::from(100u64)).unwrap().map(|(balance, _)| balance),
        Some(U192::from(10u64))
    );

    // Space returns: the same payment is recorded, with its kept proof.
    with_second_connection(&path, "DROP TRIGGER kept_proof_fails;");
    assert_eq!(
        store.record_payment(key, U192::from(10u64), U192::from(20u64), &signature(20)).unwrap(),
        PaymentWrite::Recorded
    );
    drop(store);
    let store = Store::open(&path, identity()).unwrap();
    assert_eq!(store.channel(key).unwrap().unwrap().balance, U192::from(20u64));
    assert_eq!(
        store.best_proof_within(key, U192::from(100u64)).unwrap().map(|(balance, _)| balance),
        Some(U192::from(20u64))
    );
}
