//! Attack review 11: several `uraiden-server` instances on one PostgreSQL database (commit
//! 9a0af86). Each test is one attack, run for real: a throwaway PostgreSQL cluster
//! (`TestPostgres`), a real anvil with the real contracts, and real server processes. On
//! 9a0af86, 8 of them broke (2, 3, 4, 5, 6, 7, 8, 9 below) and 2 held; all pass since the fixes:
//! chain batches lock the rows they write back (FOR UPDATE), a state change reads the channel
//! back, other instances' writes are read by transaction id rather than by time, the store
//! reconnects and has statement, lock and TCP timeouts, re-reads anyone can cause are bounded
//! (20/s, once per channel per second), a new lease holder leads only after 2.5 s, and
//! `migrate --to` takes URAIDEN_DATABASE_URL.

// The harness panics as the failure report, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod instances;

use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use instances::*;
use uraiden_e2e::{postgres::TestPostgres, TestChain};
use uraiden_protocol::{ChannelId, ProofSignature};

const SECRET: &str = "Pw-s3cret-4711";

// ---------------------------------------------------------------------------------------------
// 1. A sender pays one balance through two instances to get two resources for one price,
//    relying on the second instance's stale view (a poll of 2 s: it has not read the first).
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_balance_paid_at_one_instance_is_not_taken_again_by_a_stale_one() {
    let cluster = Cluster::start(3, 2_000).await;
    let chain = &cluster.chain;
    let sender = 2;
    let key = chain.signing_key(sender);
    let channel = open_channel(chain, sender, DEPOSIT).await;
    let client = reqwest::Client::new();
    for instance in &cluster.instances {
        instance.wait_for_channel(&client, channel).await;
    }
    let first = chain.payment(&key, channel, PRICE);
    assert_eq!(get_echo(&client, &cluster.instances[0].url, &first).await.status(), 200);
    // The same proof (the same money) at the two others, before they polled.
    for instance in &cluster.instances[1..] {
        let replay = get_echo(&client, &instance.url, &first).await;
        assert_eq!(replay.status(), 402, "the same balance served twice by {}", instance.url);
    }
    // The next balance at one of them: taken once, the other refuses it.
    let second = chain.payment(&key, channel, 2 * PRICE);
    assert_eq!(get_echo(&client, &cluster.instances[1].url, &second).await.status(), 200);
    assert_eq!(get_echo(&client, &cluster.instances[2].url, &second).await.status(), 402);
    assert_eq!(get_echo(&client, &cluster.instances[0].url, &second).await.status(), 402);
}

// ---------------------------------------------------------------------------------------------
// 2. A sender gets a cooperative-close signature from a follower while the leader confirms the
//    sender's own top-up: the leader's chain batch reads the channel (open), the follower marks
//    it close_signed, the leader writes its whole chain fields back, state = 'open' included.
//    The channel takes payments again, and the sender closes with the old signature.
//    The natural window (between the batch's SELECT and its upsert) is widened here by a row
//    lock held by a third connection for a few seconds: both writers queue behind it in order.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_confirmed_top_up_does_not_reopen_a_channel_whose_close_was_signed() {
    let cluster = Cluster::start(2, 200).await;
    let chain = &cluster.chain;
    let sender = 2;
    let key = chain.signing_key(sender);
    let channel = open_channel(chain, sender, 100).await;
    let client = reqwest::Client::new();
    for instance in &cluster.instances {
        instance.wait_for_channel(&client, channel).await;
    }
    assert_eq!(
        get_echo(&client, &cluster.instances[0].url, &chain.payment(&key, channel, PRICE)).await.status(),
        200
    );
    let leader = cluster.leader(&client).await;
    let follower = &cluster.instances[1 - leader];

    let held = Held::start(&cluster.database, "SELECT 1 FROM channels FOR UPDATE");
    // The follower signs the close (its mark waits for the row) ...
    let close = {
        let (client, url, key, domain) = (client.clone(), follower.url.clone(), key.clone(), chain.domain());
        tokio::spawn(async move { request_close(&client, &url, &key, &domain, channel, PRICE).await })
    };
    wait_for_lock_waiters(&cluster.database, 1).await;
    // ... while the leader confirms the sender's top-up (its upsert waits behind the mark).
    chain.top_up(sender, channel, 100).await;
    wait_for_lock_waiters(&cluster.database, 2).await;
    held.release();
    let (status, body) = close.await.unwrap();
    assert_eq!(status, 200, "the close signature: {body}");
    let closing: ProofSignature = body["close_signature"].as_str().unwrap().parse().unwrap();
    tokio::time::sleep(Duration::from_millis(1_000)).await;

    let state = query_one_text(&cluster.database, "SELECT state FROM channels").await;
    // Having its closing signature for PRICE, the sender pays on through both instances...
    let mut served_after_close = 0;
    let mut balance = PRICE;
    for instance in [follower, &cluster.instances[leader]] {
        let response = get_echo(&client, &instance.url, &chain.payment(&key, channel, balance + PRICE)).await;
        if response.status() == 200 {
            balance += PRICE;
            served_after_close += 1;
        }
    }
    // ... then closes with the old signature: the receiver gets PRICE for everything.
    let receiver_before = chain.token_balance(chain.address(RECEIVER)).await;
    let proof = chain.payment(&key, channel, PRICE).balance_signature;
    chain.cooperative_close(sender, channel, PRICE, &proof, &closing).await;
    let paid = chain.token_balance(chain.address(RECEIVER)).await - receiver_before;
    assert!(
        state == "close_signed" && served_after_close == 0,
        "after signing the close at {PRICE} the channel is '{state}' again: {served_after_close} more \
         resources served up to balance {balance}, and the sender's close paid the receiver {paid}"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. POST /api/1/close-all on the leader (an operator shutting down) just after a sender paid
//    through a follower: the close goes out with the leader's memory, not the database.
//    (Default poll of 2 s: the leader has not read the follower's payment yet.)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn close_all_collects_the_payments_other_instances_took() {
    let cluster = Cluster::start(2, 2_000).await;
    let chain = &cluster.chain;
    let sender = 2;
    let key = chain.signing_key(sender);
    let channel = open_channel(chain, sender, DEPOSIT).await;
    let client = reqwest::Client::new();
    for instance in &cluster.instances {
        instance.wait_for_channel(&client, channel).await;
    }
    let leader = cluster.leader(&client).await;
    let (leader, follower) = (&cluster.instances[leader], &cluster.instances[1 - leader]);
    assert_eq!(get_echo(&client, &leader.url, &chain.payment(&key, channel, PRICE)).await.status(), 200);
    for step in 2..=6 {
        let response = get_echo(&client, &follower.url, &chain.payment(&key, channel, step * PRICE)).await;
        assert_eq!(response.status(), 200);
    }
    let served = 6 * PRICE;
    let receiver_before = chain.token_balance(chain.address(RECEIVER)).await;
    let report =
        client.post(format!("{}/api/1/close-all", leader.url)).bearer_auth(API_TOKEN).send().await.unwrap();
    let report = report.text().await.unwrap();
    let started = Instant::now();
    let paid = loop {
        let paid = chain.token_balance(chain.address(RECEIVER)).await - receiver_before;
        if !paid.is_zero() || started.elapsed() > Duration::from_secs(10) {
            break paid;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(paid, U256::from(served), "served {served}, the close-all collected {paid}: {report}");
}

// ---------------------------------------------------------------------------------------------
// 4. A payment whose transaction took longer than the 1 s overlap to commit (a lock wait, a
//    slow database; or an instance whose clock is behind): its updated_at is older than the
//    others' next `since`, and they never read it.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_payment_committed_late_still_reaches_the_other_instances() {
    let cluster = Cluster::start(2, 200).await;
    let chain = &cluster.chain;
    let sender = 2;
    let key = chain.signing_key(sender);
    let channel = open_channel(chain, sender, DEPOSIT).await;
    let client = reqwest::Client::new();
    for instance in &cluster.instances {
        instance.wait_for_channel(&client, channel).await;
    }
    let leader = cluster.leader(&client).await;
    let (leader, follower) = (&cluster.instances[leader], &cluster.instances[1 - leader]);
    assert_eq!(get_echo(&client, &leader.url, &chain.payment(&key, channel, PRICE)).await.status(), 200);

    let held = Held::start(&cluster.database, "SELECT 1 FROM channels FOR UPDATE");
    let pay = {
        let (client, url, payment) =
            (client.clone(), follower.url.clone(), chain.payment(&key, channel, 2 * PRICE));
        tokio::spawn(async move { get_echo(&client, &url, &payment).await.status() })
    };
    wait_for_lock_waiters(&cluster.database, 1).await;
    tokio::time::sleep(Duration::from_millis(3_000)).await;
    held.release();
    assert_eq!(pay.await.unwrap(), 200);
    // Fifteen polls of the leader later.
    tokio::time::sleep(Duration::from_millis(3_000)).await;
    let seen = leader.channel_balance(&client, channel).await;
    assert_eq!(
        seen,
        2 * PRICE,
        "the leader (which disputes, settles and closes with what it holds) still holds balance {seen}"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. PostgreSQL restarts (here: every client session terminated, as a restart or a failover
//    does): the instances must take payments again once the database is back.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_instances_take_payments_again_after_the_database_restarts() {
    let cluster = Cluster::start(2, 200).await;
    let chain = &cluster.chain;
    let sender = 2;
    let key = chain.signing_key(sender);
    let channel = open_channel(chain, sender, DEPOSIT).await;
    let client = reqwest::Client::new();
    for instance in &cluster.instances {
        instance.wait_for_channel(&client, channel).await;
    }
    assert_eq!(
        get_echo(&client, &cluster.instances[0].url, &chain.payment(&key, channel, PRICE)).await.status(),
        200
    );
    sql(
        &cluster.postgres.url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'",
    )
    .await;
    let mut balance = PRICE;
    for (index, instance) in cluster.instances.iter().enumerate() {
        let started = Instant::now();
        let mut seen = Vec::new();
        loop {
            let response =
                get_echo(&client, &instance.url, &chain.payment(&key, channel, balance + PRICE)).await;
            let status = response.status().as_u16();
            if seen.last() != Some(&status) {
                seen.push(status);
            }
            if status == 200 {
                balance += PRICE;
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "instance {index} still refuses payments 15 s after the database came back: statuses {seen:?}\n{}",
                instance.log_tail(6)
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 6. A slow database (here: the channels table locked by a long transaction, a migration or a
//    vacuum full): a payment must be answered within bounded time, not hang.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_payment_is_answered_in_bounded_time_while_the_database_is_stuck() {
    // Requests not answered within 5 s get a 503 (the default is 30 s).
    let cluster = Cluster::start_args(1, 200, &["--request-timeout-ms", "5000"]).await;
    let chain = &cluster.chain;
    let sender = 2;
    let key = chain.signing_key(sender);
    let channel = open_channel(chain, sender, DEPOSIT).await;
    let client = reqwest::Client::new();
    let instance = &cluster.instances[0];
    instance.wait_for_channel(&client, channel).await;
    assert_eq!(get_echo(&client, &instance.url, &chain.payment(&key, channel, PRICE)).await.status(), 200);

    let held = Held::start(&cluster.database, "LOCK TABLE channels IN ACCESS EXCLUSIVE MODE");
    let started = Instant::now();
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        get_echo(&client, &instance.url, &chain.payment(&key, channel, 2 * PRICE)),
    )
    .await;
    let waited = started.elapsed();
    // A health probe in the meantime (a load balancer's): answered?
    let health =
        tokio::time::timeout(Duration::from_secs(2), client.get(format!("{}/metrics", instance.url)).send())
            .await;
    held.release();
    assert!(
        answer.is_ok(),
        "no answer to a payment after {waited:?} with the database stuck (health probe answered: {})",
        health.is_ok()
    );
}

// ---------------------------------------------------------------------------------------------
// 7. The database password: never in the logs, /metrics, /health, the API, or the errors of a
//    failed start; and `migrate` must be able to take the URL without a command line (ps).
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_database_password_does_not_leak() {
    let chain = TestChain::start().await.expect("anvil starts and the contracts deploy");
    let postgres = TestPostgres::start().expect("a PostgreSQL cluster starts");
    let _database = postgres.create_database("receiver").expect("creates the database");
    let dir = tempfile::tempdir().unwrap();
    // Trusted local connections ignore the password; the server still holds it.
    let url = format!("postgres://postgres:{SECRET}@127.0.0.1:{}/receiver", postgres.port);
    let instance =
        Instance::start_with(&chain, dir.path(), &[], &[("URAIDEN_DATABASE_URL", url.as_str())], 200).await;
    let client = reqwest::Client::new();
    let sender = 2;
    let channel = open_channel(&chain, sender, DEPOSIT).await;
    instance.wait_for_channel(&client, channel).await;
    let key = chain.signing_key(sender);
    assert_eq!(get_echo(&client, &instance.url, &chain.payment(&key, channel, PRICE)).await.status(), 200);
    let mut shown = String::new();
    for path in ["/metrics", "/api/1/stats", "/api/1/channels"] {
        let response =
            client.get(format!("{}{path}", instance.url)).bearer_auth(API_TOKEN).send().await.unwrap();
        shown.push_str(&response.text().await.unwrap());
    }
    // The database stops answering: errors are logged.
    sql(
        &postgres.url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'",
    )
    .await;
    let _ = get_echo(&client, &instance.url, &chain.payment(&key, channel, 2 * PRICE)).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let log = instance.log_all();
    assert!(log.contains("127.0.0.1"), "the log names the database:\n{log}");
    assert!(!log.contains(SECRET), "the password is in the log:\n{log}");
    assert!(!shown.contains(SECRET), "the password is shown over HTTP");

    // A start that fails (no such database; a key=value connection string too).
    for bad in [
        format!("postgres://postgres:{SECRET}@127.0.0.1:{}/missing", postgres.port),
        format!("host=127.0.0.1 port={} user=postgres password={SECRET} dbname=missing", postgres.port),
    ] {
        let output = server_command(&chain, dir.path())
            .env("URAIDEN_DATABASE_URL", &bad)
            .args(["start", "--host", "127.0.0.1", "--port", "0"])
            .output()
            .await
            .unwrap();
        assert!(!output.status.success());
        let said =
            format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(!said.contains(SECRET), "a failed start shows the password: {said}");
    }

    // `migrate` with the URL in the environment, as `start` takes it (not on a command line
    // every local user reads in `ps`).
    let target = postgres.create_database("moved").expect("creates the database");
    let target = target.replace("postgres@", &format!("postgres:{SECRET}@"));
    let state_file = dir.path().join("state.db");
    let mut alone =
        Instance::start_with(&chain, dir.path(), &["--state-file", state_file.to_str().unwrap()], &[], 200)
            .await;
    alone.wait_for_channel(&client, channel).await;
    alone.kill_9().await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_uraiden-server"))
        .args(["migrate", "--from", state_file.to_str().unwrap()])
        .env("URAIDEN_DATABASE_URL", &target)
        .output()
        .await
        .unwrap();
    let said =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!said.contains(SECRET), "migrate shows the password: {said}");
    assert!(
        output.status.success(),
        "migrate cannot take the database URL from URAIDEN_DATABASE_URL, so its password goes on the \
         command line (README: `migrate --to postgres://uraiden:PASSWORD@…`): {said}"
    );
}

// ---------------------------------------------------------------------------------------------
// 8. A flood of refused payments for channels that do not exist (no key, no deposit needed):
//    each one makes the instance read the database before refusing, under its one store
//    connection. Bounded?
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn refused_payments_for_unknown_channels_do_not_each_read_the_database() {
    let cluster = Cluster::start(1, 200).await;
    let chain = &cluster.chain;
    let client = reqwest::Client::new();
    let instance = &cluster.instances[0];
    // Caught up (a known channel is served).
    let channel = open_channel(chain, 2, DEPOSIT).await;
    instance.wait_for_channel(&client, channel).await;
    let attacker = chain.signing_key(7);
    let domain = chain.domain();
    let contract = chain.deployment.channel_manager;
    let receiver = chain.address(RECEIVER);

    let reads = || async { table_reads(&cluster.database, "channels").await };
    // The background rate: the poll's own reads over as long as the flood takes.
    let before = reads().await;
    let quiet = Instant::now();
    tokio::time::sleep(Duration::from_millis(3_000)).await;
    let background = reads().await - before;
    let quiet = quiet.elapsed();

    const FLOOD: u64 = 600;
    let before = reads().await;
    let flood_started = Instant::now();
    let mut refused = 0;
    let mut tasks = Vec::new();
    for worker in 0..8u64 {
        let (client, url, attacker, domain) =
            (client.clone(), instance.url.clone(), attacker.clone(), domain.clone());
        tasks.push(tokio::spawn(async move {
            let mut refused = 0;
            for index in 0..FLOOD / 8 {
                let mut bytes = [0x42u8; 20];
                bytes[..8].copy_from_slice(&(worker * 1_000_000 + index).to_be_bytes());
                let channel = ChannelId::new(Address::from(bytes), receiver, 7);
                let headers = payment(contract, &attacker, &domain, channel, PRICE);
                if let Some(response) = try_get_echo(&client, &url, &headers).await {
                    refused += u64::from(response.status() == 402);
                }
            }
            refused
        }));
    }
    for task in tasks {
        refused += task.await.unwrap();
    }
    let flood = flood_started.elapsed();
    let during = reads().await - before;
    let expected_background = background * flood.as_millis() as i64 / quiet.as_millis().max(1) as i64;
    let caused = during - expected_background;
    assert_eq!(refused, FLOOD, "every forged payment is refused");
    assert!(
        caused < (FLOOD / 10) as i64,
        "{FLOOD} refused payments for made-up channels caused about {caused} reads of the channels table \
         ({during} in {flood:?}; about {expected_background} from the polls)"
    );
}

// ---------------------------------------------------------------------------------------------
// 9. Two leaders at once: the leader's lease connection is dropped (a network blip, a
//    restart) while the instance lives. The old leader checks every second, the others try
//    every second: do two instances lead (and perform duties) at once?
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_dropped_lease_connection_never_leaves_two_leaders() {
    let cluster = Cluster::start(3, 200).await;
    let client = reqwest::Client::new();
    let mut overlaps = Vec::new();
    for round in 0..5 {
        let old = cluster.leader(&client).await;
        sql(
            &cluster.postgres.url,
            "SELECT pg_terminate_backend(pid) FROM pg_locks
             WHERE locktype = 'advisory' AND granted AND objsubid = 1",
        )
        .await;
        let dropped = Instant::now();
        let mut most = 0;
        let mut first_new = None;
        while dropped.elapsed() < Duration::from_millis(3_000) {
            let leaders = cluster.leaders_now(&client).await;
            if leaders.len() > most {
                most = leaders.len();
            }
            if first_new.is_none() && leaders.iter().any(|&index| index != old) {
                first_new = Some(dropped.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!("round {round}: at most {most} leaders at once; another led after {first_new:?}");
        if most > 1 {
            overlaps.push(round);
        }
    }
    assert!(overlaps.is_empty(), "two instances led at once in rounds {overlaps:?}");
}

// ---------------------------------------------------------------------------------------------
// 10. `migrate` misused: while a server still runs on the file, and into another receiver's
//     database. Neither may copy anything.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn migrate_refuses_a_running_file_and_another_receivers_database() {
    let chain = TestChain::start().await.expect("anvil starts and the contracts deploy");
    let postgres = TestPostgres::start().expect("a PostgreSQL cluster starts");
    let database = postgres.create_database("receiver").expect("creates the database");
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("state.db");
    let sender = 2;
    let key = chain.signing_key(sender);
    let channel = open_channel(&chain, sender, DEPOSIT).await;
    let client = reqwest::Client::new();
    let mut alone =
        Instance::start_with(&chain, dir.path(), &["--state-file", state_file.to_str().unwrap()], &[], 200)
            .await;
    alone.wait_for_channel(&client, channel).await;
    assert_eq!(get_echo(&client, &alone.url, &chain.payment(&key, channel, PRICE)).await.status(), 200);
    let migrate = |to: String| {
        let from = state_file.clone();
        async move {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_uraiden-server"))
                .args(["migrate", "--from", from.to_str().unwrap(), "--to", &to])
                .output()
                .await
                .unwrap()
        }
    };
    // While the server runs on it: refused, nothing copied.
    let running = migrate(database.clone()).await;
    assert!(!running.status.success(), "migrated a file a server runs on");
    // Another receiver's database (another key started on it).
    let other = postgres.create_database("other").expect("creates the database");
    let other_dir = tempfile::tempdir().unwrap();
    let mut stranger =
        Instance::start_keyed(&chain, other_dir.path(), 5, &["--database-url", &other], &[], 200, &[]).await;
    stranger.kill_9().await;
    alone.kill_9().await;
    let into_other = migrate(other.clone()).await;
    assert!(!into_other.status.success(), "migrated into another receiver's database");
    let copied = query_one_text(&other, "SELECT count(*)::text FROM channels").await;
    assert_eq!(copied, "0");
    // The proper migration still works afterwards (nothing half-copied by the refusals).
    let moved = migrate(database.clone()).await;
    assert!(moved.status.success(), "{}", String::from_utf8_lossy(&moved.stderr));
    let balance = query_one_text(&database, "SELECT balance::text FROM channels").await;
    assert_eq!(balance, PRICE.to_string());
}
