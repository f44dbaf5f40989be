//! Several `uraiden-server` instances (the real binary, same receiver key and contract) on one
//! PostgreSQL database of a throwaway cluster (Debian's `postgresql`), against a real anvil
//! with the real contracts: any instance takes any payment, a balance is accepted once across
//! all of them, an instance killed with SIGKILL loses no acknowledged payment, and when the
//! leader dies another one follows the chain and performs the duties.

// The harness panics as the failure report, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod instances;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use instances::*;
use tokio::sync::Barrier;
use uraiden_e2e::{postgres::TestPostgres, TestChain};
use uraiden_protocol::{header as rdn, request_deadline, Refusal, SignedStatusRequest};

/// How soon another instance must lead after the leader dies.
const TAKEOVER: Duration = Duration::from_secs(10);
/// How often the instances poll the chain and the database.
const POLL_MS: u64 = 200;

/// Open, confirm, pay, top up, pay again, close cooperatively through another instance than the
/// one that took the last payment, settle on chain: each request to the next instance in turn.
#[tokio::test]
async fn the_lifecycle_over_three_instances_in_turn() {
    let cluster = Cluster::start(3, POLL_MS).await;
    let chain = &cluster.chain;
    let sender = 2;
    let key = chain.signing_key(sender);
    let channel = open_channel(chain, sender, 100).await;
    let client = reqwest::Client::new();
    let mut turn = 0..;
    let mut next = || &cluster.instances[turn.next().unwrap() % cluster.instances.len()];

    // Every instance learns of the channel (the leader from the chain, the others from it).
    for instance in &cluster.instances {
        instance.wait_for_channel(&client, channel).await;
    }
    // Up to the whole deposit, each payment through the next instance.
    let mut balance = 0;
    let mut last_instance = 0;
    while balance < 100 {
        balance += PRICE;
        let instance = next();
        let response = get_echo(&client, &instance.url, &chain.payment(&key, channel, balance)).await;
        assert_eq!(response.status(), 200, "payment of {balance} through {}", instance.url);
        last_instance = cluster.index_of(instance);
    }
    let beyond = get_echo(&client, &next().url, &chain.payment(&key, channel, balance + PRICE)).await;
    assert_eq!(beyond.status(), 402, "beyond the deposit");
    assert!(beyond.headers().contains_key(Refusal::InsufficientFunds.header_name()));

    // Topped up: every instance takes payments within it once the leader has confirmed it.
    chain.top_up(sender, channel, 100).await;
    for _ in 0..6 {
        balance += PRICE;
        let instance = next();
        let started = Instant::now();
        loop {
            let response = get_echo(&client, &instance.url, &chain.payment(&key, channel, balance)).await;
            if response.status() == 200 {
                break;
            }
            assert!(
                started.elapsed() < WAIT,
                "the top-up never reached {}: {}",
                instance.url,
                response.status()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        last_instance = cluster.index_of(instance);
    }

    // The cooperative close through another instance than the last payment's.
    let closer = &cluster.instances[(last_instance + 1) % cluster.instances.len()];
    let signature = close_signature(&client, &closer.url, &key, &chain.domain(), channel, balance).await;
    let (sender_before, receiver_before) = (
        chain.token_balance(chain.address(sender)).await,
        chain.token_balance(chain.address(RECEIVER)).await,
    );
    let proof = chain.payment(&key, channel, balance).balance_signature;
    chain.cooperative_close(sender, channel, balance, &proof, &signature).await;
    let receiver_after = chain.token_balance(chain.address(RECEIVER)).await;
    let sender_after = chain.token_balance(chain.address(sender)).await;
    assert_eq!(receiver_after - receiver_before, alloy::primitives::U256::from(balance));
    assert_eq!(sender_after - sender_before, alloy::primitives::U256::from(200 - balance));
}

/// 64 requests carrying the same new balance, spread over three instances at once: the
/// database takes exactly one; the others are refused with a reason and the last proof.
#[tokio::test]
async fn one_balance_is_accepted_once_across_instances() {
    let cluster = Cluster::start(3, POLL_MS).await;
    let chain = &cluster.chain;
    let sender = 2;
    let key = chain.signing_key(sender);
    let channel = open_channel(chain, sender, DEPOSIT).await;
    let client = reqwest::Client::new();
    for instance in &cluster.instances {
        instance.wait_for_channel(&client, channel).await;
    }
    let domain = chain.domain();
    let payment = chain.payment(&key, channel, PRICE);
    let barrier = Arc::new(Barrier::new(64));
    let mut requests = Vec::new();
    for index in 0..64 {
        let url = cluster.instances[index % 3].url.clone();
        let (client, payment, barrier, key, domain) =
            (client.clone(), payment.clone(), barrier.clone(), key.clone(), domain.clone());
        requests.push(tokio::spawn(async move {
            let status = SignedStatusRequest::sign(&key, &domain, channel, request_deadline(now())).unwrap();
            barrier.wait().await;
            let response = get_echo_asking(&client, &url, &payment, &status).await;
            let code = response.status().as_u16();
            let reason = Refusal::ALL
                .into_iter()
                .find(|refusal| response.headers().contains_key(refusal.header_name()));
            let last = header(&response, rdn::SENDER_BALANCE);
            (code, reason, last)
        }));
    }
    let mut accepted = 0;
    for request in requests {
        let (code, reason, last) = request.await.unwrap();
        match code {
            200 => accepted += 1,
            402 => {
                assert!(reason.is_some(), "a refusal names its reason");
                assert_eq!(last.as_deref(), Some("5"), "a refusal shows the last proof ({reason:?})");
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(accepted, 1, "exactly one of the 64 is accepted");
    // The next balance is taken by any instance.
    let response =
        get_echo(&client, &cluster.instances[2].url, &chain.payment(&key, channel, 2 * PRICE)).await;
    assert_eq!(response.status(), 200);
}

/// One instance killed with SIGKILL while all three take payments: the others keep serving,
/// and every acknowledged payment is in the database (any instance shows it as the last proof).
#[tokio::test]
async fn kill_9_of_one_instance_loses_no_acknowledged_payment() {
    let mut cluster = Cluster::start(3, POLL_MS).await;
    let chain = &cluster.chain;
    let senders = [2usize, 3, 4];
    let mut channels = Vec::new();
    for sender in senders {
        channels.push(open_channel(chain, sender, DEPOSIT).await);
    }
    let client = reqwest::Client::new();
    for instance in &cluster.instances {
        for &channel in &channels {
            instance.wait_for_channel(&client, channel).await;
        }
    }
    // Each sender pays through its own instance, sequentially, until told to stop.
    let stop = Arc::new(tokio::sync::Notify::new());
    let mut payers = Vec::new();
    for (index, (&sender, &channel)) in senders.iter().zip(&channels).enumerate() {
        let url = cluster.instances[index].url.clone();
        let (client, key, domain, stop) =
            (client.clone(), chain.signing_key(sender), chain.domain(), stop.clone());
        let contract = chain.deployment.channel_manager;
        payers.push(tokio::spawn(async move {
            let mut acknowledged = 0;
            let stopped = stop.notified();
            tokio::pin!(stopped);
            // Two prices short of the deposit: a payment the kill cut off may be stored, and
            // one more must still fit (a fast machine pays the whole deposit in 2.5 s).
            for step in 1..=(DEPOSIT / PRICE - 2) {
                let payment = payment(contract, &key, &domain, channel, step * PRICE);
                tokio::select! {
                    () = &mut stopped => break,
                    response = try_get_echo(&client, &url, &payment) => match response.map(|r| r.status().as_u16()) {
                        Some(200) => acknowledged = step * PRICE,
                        None => break, // the instance is gone
                        Some(status) => panic!("payment {step} through instance {index}: {status}"),
                    },
                }
            }
            acknowledged
        }));
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    cluster.instances[0].kill_9().await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    stop.notify_waiters();
    let mut acknowledged = Vec::new();
    for payer in payers {
        acknowledged.push(payer.await.unwrap());
    }
    assert!(acknowledged.iter().all(|&acked| acked > 0), "every sender was paid for some: {acknowledged:?}");

    // Through a surviving instance: each channel's stored last proof is at least what was
    // acknowledged (one more when the kill cut off its 200), and payments go on from it.
    let survivor = &cluster.instances[1].url;
    for ((&sender, &channel), &acked) in senders.iter().zip(&channels).zip(&acknowledged) {
        let key = chain.signing_key(sender);
        let status =
            SignedStatusRequest::sign(&key, &chain.domain(), channel, request_deadline(now())).unwrap();
        let replay = chain.payment(&key, channel, acked);
        let response = get_echo_asking(&client, survivor, &replay, &status).await;
        assert_eq!(response.status(), 402);
        let stored: u64 = header(&response, rdn::SENDER_BALANCE).unwrap().parse().unwrap();
        assert!(
            stored == acked || stored == acked + PRICE,
            "account {sender}: stored {stored}, acknowledged {acked}"
        );
        let next = chain.payment(&key, channel, stored + PRICE);
        assert_eq!(get_echo(&client, survivor, &next).await.status(), 200, "account {sender} pays on");
    }
}

/// The leader killed with SIGKILL: another instance leads within 10 s, follows the chain and
/// disputes a sender's uncooperative close at 0, so the receiver is paid in full on chain.
#[tokio::test]
async fn kill_9_of_the_leader_hands_the_chain_to_another_instance() {
    let mut cluster = Cluster::start(3, POLL_MS).await;
    let chain = &cluster.chain;
    let sender = 2;
    let key = chain.signing_key(sender);
    let channel = open_channel(chain, sender, DEPOSIT).await;
    let client = reqwest::Client::new();
    for instance in &cluster.instances {
        instance.wait_for_channel(&client, channel).await;
    }
    let mut balance = 0;
    for step in 0..9 {
        balance += PRICE;
        let url = &cluster.instances[step % 3].url;
        assert_eq!(get_echo(&client, url, &chain.payment(&key, channel, balance)).await.status(), 200);
    }
    let leader = cluster.leader(&client).await;
    let receiver_before = chain.token_balance(chain.address(RECEIVER)).await;
    cluster.instances[leader].kill_9().await;
    let killed_at = Instant::now();

    // The sender cheats: it asks to close at 0, having been served for `balance`.
    chain.uncooperative_close(sender, channel, 0).await;
    let new_leader = loop {
        let leaders = cluster.leaders_now(&client).await;
        assert!(leaders.len() <= 1, "two instances lead at once: {leaders:?}");
        if let Some(&index) = leaders.first() {
            break index;
        }
        assert!(killed_at.elapsed() < TAKEOVER, "no instance took the lead within {TAKEOVER:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_ne!(new_leader, leader);
    let took_over = killed_at.elapsed();
    // The new leader disputes with the last proof: the channel settles, the receiver paid in full.
    let started = Instant::now();
    loop {
        let paid = chain.token_balance(chain.address(RECEIVER)).await - receiver_before;
        if paid == alloy::primitives::U256::from(balance) {
            break;
        }
        assert!(started.elapsed() < WAIT, "the receiver was not paid its {balance} (got {paid})");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("another instance led {took_over:?} after the kill");
}

/// An operator moves from one instance on SQLite to PostgreSQL: `migrate` copies every channel
/// and proof (the file's server stopped), instances on the database go on from the last proof,
/// and a second migration into the same database is refused.
#[tokio::test]
async fn an_sqlite_state_moves_into_postgres_and_payments_go_on() {
    let chain = TestChain::start().await.expect("anvil starts and the contracts deploy");
    let postgres = TestPostgres::start().expect("a PostgreSQL cluster starts");
    let database = postgres.create_database("moved").expect("creates the database");
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("state.db");
    let sender = 2;
    let key = chain.signing_key(sender);
    let channel = open_channel(&chain, sender, DEPOSIT).await;
    let client = reqwest::Client::new();

    let on_file = ["--state-file", state_file.to_str().unwrap()];
    let mut alone = Instance::start_with(&chain, dir.path(), &on_file, &[], POLL_MS).await;
    alone.wait_for_channel(&client, channel).await;
    for step in 1..=4 {
        assert_eq!(
            get_echo(&client, &alone.url, &chain.payment(&key, channel, step * PRICE)).await.status(),
            200
        );
    }
    alone.kill_9().await;

    let migrate = |to: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_uraiden-server"))
            .args(["migrate", "--from", state_file.to_str().unwrap(), "--to", to])
            .output()
            .unwrap()
    };
    let moved = migrate(&database);
    assert!(moved.status.success(), "{}", String::from_utf8_lossy(&moved.stderr));
    assert!(String::from_utf8_lossy(&moved.stdout).contains("moved 1 channels (1 with an accepted proof)"));
    let again = migrate(&database);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already holds"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    let on_database = ["--database-url", database.as_str()];
    let instances = [
        Instance::start_with(&chain, dir.path(), &on_database, &[], POLL_MS).await,
        Instance::start_with(&chain, dir.path(), &on_database, &[], POLL_MS).await,
    ];
    for (index, instance) in instances.iter().enumerate() {
        instance.wait_for_channel(&client, channel).await;
        // The last proof moved: a replay of it is refused, the next balance taken.
        let replay = chain.payment(&key, channel, (4 + index as u64) * PRICE);
        assert_eq!(get_echo(&client, &instance.url, &replay).await.status(), 402);
        let next = chain.payment(&key, channel, (5 + index as u64) * PRICE);
        assert_eq!(get_echo(&client, &instance.url, &next).await.status(), 200);
    }
}
