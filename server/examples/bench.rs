//! Throughput and latency of the receiver's hot path, in one run on this machine:
//!
//! ```text
//! cargo run --profile bench-server -p uraiden-server --example bench
//! ```
//!
//! Starts anvil and deploys the contracts, opens 65 channels, starts the real server
//! in-process on 127.0.0.1:0 (the channel manager, SQLite state file, axum paywall), and
//! drives it over loopback HTTP/1.1 keep-alive with reqwest from the same process:
//!
//! - (a) `/free`, a route without paywall; (b) `/paid` without payment (402);
//! - (c) `/paid` paid on one channel, sequentially (each proof builds on the last balance);
//! - (d) `/paid` paid across 64 channels, 64 requests in flight (one per channel);
//! - (e) open loop: 1,000 paid requests/s across the 64 channels, latency from the scheduled
//!   send time (so a stall counts against the server, not hidden by the load generator);
//! - (f) balance-proof verifications per second for the protocol crate alone.
//!
//! (c)–(e) run once per store, each fresh (the channels start at balance 0 again, so the same
//! pre-signed proofs serve every store): SQLite in both `--durability` modes, then
//! PostgreSQL (a throwaway cluster of Debian's `postgresql`, as the tests make it) with one
//! instance and with two instances on one database, each channel's requests going to one
//! instance (a keep-alive connection stays on the instance a load balancer chose), alternately.
//! `--sqlite` skips PostgreSQL. Proofs are signed before the clock starts: client signing is
//! reported apart. Every phase is bounded by a request count and a time limit; the whole run
//! takes about two minutes.

// A benchmark reports failures by panicking, like a test.
#![allow(clippy::unwrap_used)]

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::primitives::U256;
use axum::{routing::get, Router};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::sync::oneshot;
use uraiden_chain::contracts::{CustomToken, RaidenMicroTransferChannels};
use uraiden_e2e::{postgres::TestPostgres, TestChain};
use uraiden_protocol::{
    channel_manager_domain, recover_balance_proof_signer, BalanceProof, ChannelId, Eip712Domain,
    LocalSigningKey, PaymentHeaders, ProofSignature, U192,
};
use uraiden_server::{
    ChannelManagerConfig, DatabaseUrl, Durability, Price, Receiver, ReceiverConfig, ReceiverError, Resources,
    StoreLocation,
};

const RECEIVER: usize = 1;
const SENDER: usize = 2;
/// Channels of (d) and (e); one more is (c)'s.
const CHANNELS: usize = 64;
const DEPOSIT: u64 = 1_000_000;
/// (c): sequential payments on one channel.
const SEQUENTIAL: u64 = 2_000;
/// (d): payments per channel, 64 channels at once.
const PER_CHANNEL: u64 = 150;
/// (e): the open loop's rate and length.
const OPEN_LOOP_RATE: u64 = 1_000;
const OPEN_LOOP_SECONDS: u64 = 4;
/// Unpaid phases (a), (b): requests per phase.
const UNPAID: u64 = 20_000;
/// No phase runs longer than this, whatever its count.
const PHASE_LIMIT: Duration = Duration::from_secs(10);

fn main() -> anyhow::Result<()> {
    // Two workers, as many as this machine has cores: server and load generator share them.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let started = Instant::now();
    let chain = TestChain::start().await?;
    let contract = chain.deployment.channel_manager;
    let domain = channel_manager_domain(chain.deployment.chain_id, contract);
    let sender_key = LocalSigningKey::from_bytes(&chain.key(SENDER).to_bytes())?;
    let channels = open_channels(&chain, CHANNELS + 1).await?;
    let setup = started.elapsed();

    // Every proof either durability run sends, signed up front.
    let signing_started = Instant::now();
    let sign = |channel: ChannelId, balance: u64| {
        let balance = U192::from(balance);
        let signature = sender_key.sign_balance_proof(&domain, &channel.balance_proof(balance)).unwrap();
        headers(&PaymentHeaders {
            contract,
            receiver: channel.receiver,
            sender: channel.sender,
            open_block_number: channel.open_block_number,
            balance,
            balance_signature: signature,
            payment: None,
        })
    };
    let sequential: Arc<Vec<HeaderMap>> =
        Arc::new((1..=SEQUENTIAL).map(|balance| sign(channels[0], balance)).collect());
    let open_loop_per_channel = OPEN_LOOP_RATE * OPEN_LOOP_SECONDS / CHANNELS as u64 + 1;
    let per_channel: Arc<Vec<Vec<HeaderMap>>> = Arc::new(
        channels[1..]
            .iter()
            .map(|&channel| (1..=PER_CHANNEL + open_loop_per_channel).map(|b| sign(channel, b)).collect())
            .collect(),
    );
    let signed = SEQUENTIAL + CHANNELS as u64 * (PER_CHANNEL + open_loop_per_channel);
    let signing = signing_started.elapsed();

    let mut stores =
        vec![StoreUnderTest::Sqlite(Durability::ProcessCrash), StoreUnderTest::Sqlite(Durability::PowerLoss)];
    let postgres = if std::env::args().any(|arg| arg == "--sqlite") {
        None
    } else {
        stores.extend([StoreUnderTest::Postgres { instances: 1 }, StoreUnderTest::Postgres { instances: 2 }]);
        Some(tokio::task::spawn_blocking(TestPostgres::start).await??)
    };

    let mut rows = Vec::new();
    let mut paid_concurrent = Vec::new();
    let (mut free_concurrent, mut unpaid_concurrent) = (0.0, 0.0);
    for (run, store) in stores.into_iter().enumerate() {
        let server = Server::start(&chain, store, postgres.as_ref(), run).await?;
        let client = reqwest::Client::builder().pool_max_idle_per_host(CHANNELS * 2).build()?;
        let mode = store.label();
        if run == 0 {
            let free = format!("{}/free", server.urls[0]);
            let unpaid = format!("{}/paid", server.urls[0]);
            for workers in [1, CHANNELS] {
                let url = free.clone();
                let (row, _) = closed_loop(
                    "(a) plain route",
                    "-",
                    &client,
                    workers,
                    UNPAID,
                    Arc::new(move |_, _| (url.clone(), None, 200)),
                )
                .await;
                free_concurrent = row.rate;
                rows.push(row);
            }
            for workers in [1, CHANNELS] {
                let url = unpaid.clone();
                let (row, _) = closed_loop(
                    "(b) unpaid 402",
                    "-",
                    &client,
                    workers,
                    UNPAID,
                    Arc::new(move |_, _| (url.clone(), None, 402)),
                )
                .await;
                unpaid_concurrent = row.rate;
                rows.push(row);
            }
        }
        let paid: Arc<Vec<String>> = Arc::new(server.urls.iter().map(|url| format!("{url}/paid")).collect());
        let (url, proofs) = (paid[0].clone(), Arc::clone(&sequential));
        let request: RequestOf = Arc::new(move |_, n| (url.clone(), Some(proofs[n as usize].clone()), 200));
        rows.push(closed_loop("(c) paid, 1 channel", &mode, &client, 1, SEQUENTIAL, request).await.0);
        // Each channel (worker) on one instance, the channels spread over the instances.
        let (urls, proofs) = (Arc::clone(&paid), Arc::clone(&per_channel));
        let request: RequestOf = Arc::new(move |worker, n| {
            (urls[worker % urls.len()].clone(), Some(proofs[worker][n as usize].clone()), 200)
        });
        let (row, next) = closed_loop(
            "(d) paid, 64 channels",
            &mode,
            &client,
            CHANNELS,
            CHANNELS as u64 * PER_CHANNEL,
            request,
        )
        .await;
        paid_concurrent.push((mode.clone(), row.rate));
        rows.push(row);
        rows.push(open_loop(&mode, &client, &paid, &per_channel, &next).await);
        server.stop().await;
    }

    let (single, double) = verification_rates(&domain, channels[0], &sender_key);
    print_report(&rows);
    println!();
    println!("(f) balance-proof verification (recover_balance_proof_signer): {single:.0}/s on 1 thread, {double:.0}/s on 2 threads");
    println!(
        "client signing (excluded above): {signed} proofs in {:.2} s = {:.0}/s on 1 thread",
        signing.as_secs_f64(),
        signed as f64 / signing.as_secs_f64()
    );
    for (mode, rate) in &paid_concurrent {
        println!(
            "{mode}: paid (d) = {:.2} x verification-only on 2 threads, {:.2} x unpaid 402, {:.2} x plain route (all at 64 in flight)",
            rate / double,
            rate / unpaid_concurrent,
            rate / free_concurrent
        );
    }
    println!(
        "setup (anvil, deploy, {} channels): {:.1} s; whole run: {:.1} s",
        CHANNELS + 1,
        setup.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One measured phase.
struct Row {
    phase: &'static str,
    mode: String,
    in_flight: String,
    requests: usize,
    rate: f64,
    p50: Duration,
    p99: Duration,
    failures: usize,
}

/// A closed loop's `n`th request of a worker: URL, payment headers, expected status.
type RequestOf = Arc<dyn Fn(usize, u64) -> (String, Option<HeaderMap>, u16) + Send + Sync>;

/// `workers` tasks send requests back to back until `count` are sent or [`PHASE_LIMIT`]
/// passes. Also returns how many requests of each worker succeeded (a paying worker's next
/// proof).
async fn closed_loop(
    phase: &'static str,
    mode: &str,
    client: &reqwest::Client,
    workers: usize,
    count: u64,
    request: RequestOf,
) -> (Row, Vec<u64>) {
    let per_worker = count / workers as u64;
    let deadline = Instant::now() + PHASE_LIMIT;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..workers {
        let (client, request) = (client.clone(), Arc::clone(&request));
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(per_worker as usize);
            let (mut failures, mut succeeded) = (0, 0);
            for n in 0..per_worker {
                if Instant::now() > deadline {
                    break;
                }
                let (url, headers, expected) = request(worker, n);
                let sent = Instant::now();
                let ok = send(&client, &url, headers).await == Some(expected);
                latencies.push(sent.elapsed());
                succeeded += u64::from(ok);
                if !ok {
                    failures += 1;
                    // A paid sequence cannot go on after a refusal: the balances diverge.
                    if expected == 200 {
                        break;
                    }
                }
            }
            (worker, latencies, failures, succeeded)
        });
    }
    let mut results = tasks.join_all().await;
    let elapsed = started.elapsed();
    results.sort_by_key(|(worker, ..)| *worker);
    let failures = results.iter().map(|(_, _, failures, _)| failures).sum();
    let succeeded = results.iter().map(|(.., succeeded)| *succeeded).collect();
    let mut latencies: Vec<Duration> = results.into_iter().flat_map(|(_, latencies, ..)| latencies).collect();
    (row(phase, mode, workers.to_string(), &mut latencies, elapsed, failures), succeeded)
}

/// (e): a request every 1/[`OPEN_LOOP_RATE`] s, round-robin over the channels, each from
/// the channel's next pre-signed proof (`next[channel]` is the first). A std thread paces
/// the sends: tokio's timer has a 1 ms resolution, which would add up to 1 ms of the load
/// generator's own lateness to every latency.
async fn open_loop(
    mode: &str,
    client: &reqwest::Client,
    urls: &Arc<Vec<String>>,
    per_channel: &Arc<Vec<Vec<HeaderMap>>>,
    next: &[u64],
) -> Row {
    let total = OPEN_LOOP_RATE * OPEN_LOOP_SECONDS;
    let interval = Duration::from_secs(1) / OPEN_LOOP_RATE as u32;
    let runtime = tokio::runtime::Handle::current();
    let (client, urls, per_channel, next) =
        (client.clone(), Arc::clone(urls), Arc::clone(per_channel), next.to_vec());
    let started = Instant::now();
    let pacer = std::thread::spawn(move || {
        let mut tasks = Vec::with_capacity(total as usize);
        for n in 0..total {
            let scheduled = started + interval * n as u32;
            if let Some(wait) = scheduled.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let channel = (n % per_channel.len() as u64) as usize;
            let headers =
                per_channel[channel][(next[channel] + n / per_channel.len() as u64) as usize].clone();
            let (client, url) = (client.clone(), urls[channel % urls.len()].clone());
            tasks.push(runtime.spawn(async move {
                let ok = send(&client, &url, Some(headers)).await == Some(200);
                // From the scheduled time: a stall of the server delays what follows.
                (scheduled.elapsed(), ok)
            }));
        }
        tasks
    });
    let tasks = tokio::task::spawn_blocking(move || pacer.join().unwrap()).await.unwrap();
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut failures = 0;
    for task in tasks {
        let (latency, ok) = task.await.unwrap();
        latencies.push(latency);
        failures += usize::from(!ok);
    }
    let elapsed = started.elapsed();
    row("(e) paid, open loop 1,000/s", mode, "open".into(), &mut latencies, elapsed, failures)
}

fn row(
    phase: &'static str,
    mode: &str,
    in_flight: String,
    latencies: &mut [Duration],
    elapsed: Duration,
    failures: usize,
) -> Row {
    latencies.sort_unstable();
    let at = |quantile: f64| {
        latencies
            .get(((latencies.len() as f64 * quantile) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Row {
        phase,
        mode: mode.to_owned(),
        in_flight,
        requests: latencies.len(),
        rate: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
        failures,
    }
}

/// The status of one GET, its body read; `None` on a transport error.
async fn send(client: &reqwest::Client, url: &str, headers: Option<HeaderMap>) -> Option<u16> {
    let mut request = client.get(url);
    if let Some(headers) = headers {
        request = request.headers(headers);
    }
    let response = request.send().await.ok()?;
    let status = response.status().as_u16();
    response.bytes().await.ok()?;
    Some(status)
}

/// (f): verifications per second on one thread and on two.
fn verification_rates(domain: &Eip712Domain, channel: ChannelId, key: &LocalSigningKey) -> (f64, f64) {
    let proofs: Vec<(BalanceProof, ProofSignature)> = (1..=64u64)
        .map(|balance| {
            let proof = channel.balance_proof(U192::from(balance));
            let signature = key.sign_balance_proof(domain, &proof).unwrap();
            (proof, signature)
        })
        .collect();
    let verify_for = |duration: Duration| {
        let started = Instant::now();
        let mut count = 0u64;
        while started.elapsed() < duration {
            for (proof, signature) in &proofs {
                assert_eq!(recover_balance_proof_signer(domain, proof, signature).ok(), Some(channel.sender));
            }
            count += proofs.len() as u64;
        }
        count as f64 / started.elapsed().as_secs_f64()
    };
    let single = verify_for(Duration::from_secs(2));
    let double = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..2).map(|_| scope.spawn(|| verify_for(Duration::from_secs(2)))).collect();
        threads.into_iter().map(|thread| thread.join().unwrap()).sum()
    });
    (single, double)
}

fn print_report(rows: &[Row]) {
    println!();
    println!(
        "{:<30} {:<13} {:>9} {:>9} {:>10} {:>9} {:>9} {:>8}",
        "phase", "store", "in flight", "requests", "req/s", "p50 ms", "p99 ms", "failed"
    );
    for row in rows {
        println!(
            "{:<30} {:<13} {:>9} {:>9} {:>10.0} {:>9.3} {:>9.3} {:>8}",
            row.phase,
            row.mode,
            row.in_flight,
            row.requests,
            row.rate,
            row.p50.as_secs_f64() * 1e3,
            row.p99.as_secs_f64() * 1e3,
            row.failures
        );
    }
}

/// The payment headers as a ready header map (cloned per request: building it is client
/// work, not the server's).
fn headers(payment: &PaymentHeaders) -> HeaderMap {
    payment
        .to_header_pairs()
        .into_iter()
        .map(|(name, value)| {
            (HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(&value).unwrap())
        })
        .collect()
}

/// Opens `count` channels of [`DEPOSIT`] from [`SENDER`] to [`RECEIVER`], one per block.
async fn open_channels(chain: &TestChain, count: usize) -> anyhow::Result<Vec<ChannelId>> {
    let deployment = chain.deployment;
    let (sender, receiver) = (chain.address(SENDER), chain.address(RECEIVER));
    let total = U256::from(DEPOSIT) * U256::from(count);
    let token = CustomToken::new(deployment.token, chain.provider(chain.key(0)));
    token.transfer_0(sender, total).send().await?.get_receipt().await?;
    let token = CustomToken::new(deployment.token, chain.provider(chain.key(SENDER)));
    token.approve(deployment.channel_manager, total).send().await?.get_receipt().await?;
    let contract =
        RaidenMicroTransferChannels::new(deployment.channel_manager, chain.provider(chain.key(SENDER)));
    let mut channels = Vec::with_capacity(count);
    for _ in 0..count {
        let receipt =
            contract.createChannel(receiver, U192::from(DEPOSIT)).send().await?.get_receipt().await?;
        anyhow::ensure!(receipt.status(), "createChannel reverted");
        let block = u32::try_from(receipt.block_number.unwrap_or_default())?;
        channels.push(ChannelId::new(sender, receiver, block));
    }
    Ok(channels)
}

/// What the channels are stored in for one run of (c)–(e).
#[derive(Clone, Copy, Debug)]
enum StoreUnderTest {
    Sqlite(Durability),
    /// `instances` servers on one PostgreSQL database.
    Postgres {
        instances: usize,
    },
}

impl StoreUnderTest {
    fn label(self) -> String {
        match self {
            Self::Sqlite(Durability::ProcessCrash) => "sqlite".into(),
            Self::Sqlite(Durability::PowerLoss) => "sqlite fsync".into(),
            Self::Postgres { instances } => format!("postgres x{instances}"),
        }
    }
}

/// One serving instance: its stop signal, and its serving task (then its tasks stopping).
type Running = (oneshot::Sender<()>, tokio::task::JoinHandle<Result<(), ReceiverError>>);

/// The real server in-process (one or more instances): channel manager, `/paid` (price 1),
/// `/free`, and the receiver's routes, each on 127.0.0.1:0.
struct Server {
    urls: Vec<String>,
    instances: Vec<Running>,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(
        chain: &TestChain,
        store: StoreUnderTest,
        postgres: Option<&TestPostgres>,
        run: usize,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let (location, durability, count) = match store {
            StoreUnderTest::Sqlite(durability) => {
                (StoreLocation::File(dir.path().join("bench.db")), durability, 1)
            }
            StoreUnderTest::Postgres { instances } => {
                let postgres = postgres.expect("a cluster for the PostgreSQL runs");
                let url = postgres.create_database(&format!("bench_{run}"))?;
                (StoreLocation::Database(DatabaseUrl::new(url)), Durability::default(), instances)
            }
        };
        let mut server = Self { urls: Vec::new(), instances: Vec::new(), _dir: dir };
        for _ in 0..count {
            let (url, instance) = Self::start_instance(chain, location.clone(), durability).await?;
            server.urls.push(url);
            server.instances.push(instance);
        }
        Ok(server)
    }

    async fn start_instance(
        chain: &TestChain,
        location: StoreLocation,
        durability: Durability,
    ) -> anyhow::Result<(String, (oneshot::Sender<()>, tokio::task::JoinHandle<Result<(), ReceiverError>>))>
    {
        let deployment = chain.deployment;
        let receiver_key = LocalSigningKey::from_bytes(&chain.key(RECEIVER).to_bytes())?;
        let mut config = ChannelManagerConfig::new(
            chain.provider(chain.key(RECEIVER)),
            receiver_key,
            deployment.channel_manager,
            location,
            deployment.deploy_block,
        );
        config.durability = durability;
        // anvil mines only on transactions and never reorgs: mined is enough.
        config.confirmations = 1;
        config.poll_interval = Duration::from_millis(200);
        let mut config = ReceiverConfig::new(config);
        config.http.resources = Resources::routes(|state| {
            Router::new()
                .route("/free", get(|| async { "free" }))
                .route("/paid", get(|| async { "paid" }).route_layer(state.paywall(Price::fixed(1))))
        });
        let receiver = Receiver::start(config).await?;
        // Every channel known before the clock starts (a follower: once the leader has them).
        let head = alloy::providers::Provider::get_block_number(&chain.provider(chain.key(0))).await?;
        let manager = receiver.manager().expect("a receiver on a chain");
        anyhow::ensure!(
            manager.wait_for_block(head, Duration::from_secs(60)).await,
            "the server did not sync"
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address: SocketAddr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(receiver.run(listener, async move {
            let _ = stopped.await;
        }));
        let url = format!("http://{address}");
        // The paywall answers 502 until the first node health check.
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while send(&client, &format!("{url}/paid"), None).await != Some(402) {
            anyhow::ensure!(Instant::now() < deadline, "the paywall never became ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok((url, (stop, serving)))
    }

    async fn stop(self) {
        for (stop, serving) in self.instances {
            let _ = stop.send(());
            let _ = serving.await;
        }
    }
}
