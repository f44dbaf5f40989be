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
use uraiden_server::{
    BlockRef, ChannelRecord, ChannelState, ChannelStore, CloseRequest, Identity, PaymentWrite, SqliteStore,
    SCHEMA_VERSION,
};

fn identity() -> Identity {
    Identity {
        chain_id: 31337,
        channel_manager: Address::repeat_byte(0xcc),
        receiver: Address::repeat_byte(0xee),
    }
}

fn channel() -> ChannelRecord {
    channel_of(1)
}

fn channel_of(sender: u8) -> ChannelRecord {
    let id = ChannelId::new(Address::repeat_byte(sender), identity().receiver, 10);
    ChannelRecord::opened(id, U192::from(100u64), id.sender)
}

fn signature(balance: u64) -> ProofSignature {
    signature_of(&channel(), balance)
}

fn signature_of(record: &ChannelRecord, balance: u64) -> ProofSignature {
    let key = LocalSigningKey::from_bytes(&B256::repeat_byte(7)).unwrap();
    let domain = channel_manager_domain(31337, identity().channel_manager);
    key.sign_balance_proof(&domain, &record.id.balance_proof(U192::from(balance))).unwrap()
}

fn with_second_connection(path: &Path, sql: &str) {
    let connection = Connection::open(path).unwrap();
    connection.execute_batch(sql).unwrap();
}

#[test]
fn a_failed_kept_proof_write_records_nothing_of_the_payment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let mut store = SqliteStore::open(&path, identity()).unwrap();
    let record = channel();
    let mut batch = store.chain_batch().unwrap();
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
    let mut store = SqliteStore::open(&path, identity()).unwrap();
    assert_eq!(store.channel(key).unwrap().unwrap().balance, U192::from(20u64));
    assert_eq!(
        store.best_proof_within(key, U192::from(100u64)).unwrap().map(|(balance, _)| balance),
        Some(U192::from(20u64))
    );
}

/// A second-version file (no `deposit_proofs`) with a paid channel in every state, one whose
/// creation a reorg undid (`on_chain = 0`) and one whose deposit a reorg lowered below its last
/// proof, is migrated: every channel loads as it was, each keeps its last proof as the best
/// within its deposit, and none is offered a proof above its deposit.
#[test]
fn a_second_version_file_with_channels_in_every_state_migrates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let states = [
        ChannelState::Open,
        ChannelState::CloseSigned,
        ChannelState::Closing,
        ChannelState::ClosePending,
        ChannelState::Settled,
    ];
    // Senders 1..=5 in those states, 6 off chain, 7 above its deposit, 8 never paid.
    let records: Vec<ChannelRecord> = (1..=8).map(channel_of).collect();
    let paid = |sender: u8| u64::from(sender) * 10;
    {
        let mut store = SqliteStore::open(&path, identity()).unwrap();
        let mut batch = store.chain_batch().unwrap();
        for record in &records {
            batch.save_chain_fields(record).unwrap();
        }
        batch.commit(BlockRef { number: 10, hash: B256::repeat_byte(10) }).unwrap();
        for record in &records[..7] {
            let sender = record.id.sender.0[0];
            let balance = paid(sender);
            let write = store
                .record_payment(record.key(), U192::ZERO, U192::from(balance), &signature_of(record, balance))
                .unwrap();
            assert_eq!(write, PaymentWrite::Recorded);
        }
        assert!(store.mark_close_signed(records[1].key(), U192::from(paid(2))).unwrap());
        let closing: Vec<ChannelRecord> = records[2..5]
            .iter()
            .zip(&states[2..])
            .map(|(record, state)| {
                let mut changed = store.channel(record.key()).unwrap().unwrap();
                changed.state = *state;
                changed.close_request = Some(CloseRequest { settle_block: 30, balance: U192::from(5u64) });
                if *state == ChannelState::Settled {
                    changed.settled_balance = Some(U192::from(5u64));
                }
                changed
            })
            .collect();
        let mut batch = store.chain_batch().unwrap();
        for changed in &closing {
            batch.save_chain_fields(changed).unwrap();
        }
        batch.commit(BlockRef { number: 11, hash: B256::repeat_byte(11) }).unwrap();
    }
    // Back to the second version: its schema is the third's without `deposit_proofs`; a
    // reorg under it marked one creation undone and lowered another's deposit.
    with_second_connection(
        &path,
        &format!(
            "DROP TABLE deposit_proofs;
             DELETE FROM schema_version; INSERT INTO schema_version VALUES (2);
             UPDATE channels SET on_chain = 0 WHERE sender = '{}';
             UPDATE channels SET deposit = '50' WHERE sender = '{}';",
            records[5].id.sender.to_checksum(None),
            records[6].id.sender.to_checksum(None),
        ),
    );
    let changed = Connection::open(&path)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM channels WHERE on_chain = 0 OR deposit = '50'", [], |row| {
            row.get::<_, i64>(0)
        })
        .unwrap();
    assert_eq!(changed, 2, "the test's own downgrade: addresses are stored as written here");

    let mut store = SqliteStore::open(&path, identity()).unwrap();
    let version: i64 = Connection::open(&path)
        .unwrap()
        .query_row("SELECT MAX(version) FROM schema_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, i64::from(SCHEMA_VERSION));
    let loaded = store.load_channels().unwrap();
    for (record, state) in records[..5].iter().zip(states) {
        let sender = record.id.sender.0[0];
        let now = loaded.iter().find(|channel| channel.key() == record.key()).unwrap();
        assert_eq!((now.state, now.balance), (state, U192::from(paid(sender))), "sender {sender}");
        assert_eq!(
            store.best_proof_within(record.key(), U192::from(100u64)).unwrap().map(|(balance, _)| balance),
            Some(U192::from(paid(sender))),
            "sender {sender} ({state})"
        );
    }
    // Off chain: not loaded as a live channel, its proof kept for a re-mined creation.
    assert!(loaded.iter().all(|channel| channel.key() != records[5].key()));
    assert_eq!(
        store.best_proof_within(records[5].key(), U192::from(100u64)).unwrap().map(|(balance, _)| balance),
        Some(U192::from(paid(6)))
    );
    // Above its deposit: no proof within it is known, and none above it is offered.
    assert_eq!(store.best_proof_within(records[6].key(), U192::from(50u64)).unwrap(), None);
    assert_eq!(store.best_proof_within(records[7].key(), U192::from(100u64)).unwrap(), None);
}
