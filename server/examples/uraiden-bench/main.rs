//! Throughput and latency of the receiver's hot path, in one run on this machine:
//!
//! ```text
//! cargo run --profile bench-server -p uraiden-server --example uraiden-bench [-- --in-process] [-- --postgres]
//! ```
//!
//! Starts anvil and deploys the contracts, opens 65 channels, signs every proof the run sends,
//! then starts the real receiver (channel manager, SQLite state file, axum paywall with `/free`
//! and `/paid` at price 1) **in a process of its own**, and drives it from this process over
//! loopback HTTP/1.1 keep-alive connections with a raw-socket load generator on one thread
//! (`load.rs`), so the server's figures are not shared with the generator's CPU, and each
//! phase prints both processes' CPU use. `--in-process` runs the server in this process
//! instead (the quick mode of earlier versions: one build, one process to profile).
//!
//! - (a) `/free`, a route without paywall; (b) `/paid` without payment (402); 1 and 64 in flight;
//! - (c) `/paid` paid on one channel, sequentially (each proof builds on the last balance);
//! - (d) `/paid` paid across 64 channels, 64 requests in flight (one connection per channel);
//! - (e) open loop at 1,000 and at 5,000 paid requests/s across the 64 channels, latency from
//!   each request's scheduled time; with `--durability power-loss`, 1,000/s runs five times;
//! - (f) balance-proof recoveries per second for the protocol crate alone, 1 and 2 threads,
//!   and paid (d) ÷ (f) on 2 threads.
//!
//! (c)–(e) run once per store, each fresh (the channels start at balance 0 again, so the same
//! pre-signed proofs serve every store): SQLite in both `--durability` modes, and with
//! `--postgres` PostgreSQL (a throwaway cluster of Debian's `postgresql`, as the tests make it)
//! with one instance and with two on one database, each channel on one of them.
//!
//! `--perf DIR` records the server process with Linux `perf` during each (c) and (d) into
//! `DIR/perf-<store>-<phase>.data` (call graphs by DWARF unwinding; see `server/BENCHMARKS.md` for the
//! flame graph); the figures of a profiled run are lower than without it.

// A benchmark reports failures by panicking or failing, like a test.
#![allow(clippy::unwrap_used)]

mod load;
mod report;
mod server;

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use alloy::primitives::{hex, U256};
use load::{RequestBytes, Script};
use report::{CpuClock, Row};
use server::{Instance, ServerSpec, Store};
use uraiden_chain::contracts::{CustomToken, RaidenMicroTransferChannels};
use uraiden_e2e::{postgres::TestPostgres, TestChain};
use uraiden_protocol::{
    recover_balance_proof_signer, BalanceProof, ChannelId, Eip712Domain, LocalSigningKey, PaymentHeaders,
    ProofSignature, U192,
};
use uraiden_server::Durability;

const RECEIVER: usize = 1;
const SENDER: usize = 2;
/// Channels of (d) and (e); one more is (c)'s.
const CHANNELS: usize = 64;
const DEPOSIT: u64 = 1_000_000;
/// (c): sequential payments on one channel.
const SEQUENTIAL: usize = 6_000;
/// (d): payments per channel, 64 channels at once.
const PER_CHANNEL: usize = 400;
/// (e): the open loops' rates, and how long each runs.
const OPEN_LOOP_RATES: [u64; 2] = [1_000, 5_000];
const OPEN_LOOP_LENGTH: Duration = Duration::from_secs(4);
/// (e) at the lowest rate with `--durability power-loss`: consecutive runs, none may fail.
const POWER_LOSS_OPEN_LOOP_RUNS: usize = 5;
/// Unpaid phases (a), (b): requests per phase.
const UNPAID: usize = 40_000;
/// No phase runs longer than this, whatever its count.
const PHASE_LIMIT: Duration = Duration::from_secs(10);

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        return server::serve_child(&ServerSpec::from_args(&args[1..])?);
    }
    let in_process = args.iter().any(|arg| arg == "--in-process");
    let perf = args
        .iter()
        .position(|arg| arg == "--perf")
        .map(|at| args.get(at + 1).cloned().unwrap_or_else(|| ".".into()));
    let postgres = args.iter().any(|arg| arg == "--postgres");
    let runtime = if in_process {
        // Server and load generator share the two workers, as many as this machine has cores.
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?
    } else {
        // The load generator alone: one thread.
        tokio::runtime::Builder::new_current_thread().enable_all().build()?
    };
    runtime.block_on(run(in_process, postgres, perf.map(Into::into)))
}

async fn run(in_process: bool, with_postgres: bool, perf: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    let started = Instant::now();
    let chain = TestChain::start().await?;
    let domain = chain.domain();
    let sender_key = chain.signing_key(SENDER);
    let channels = open_channels(&chain, CHANNELS + 1).await?;
    let head = chain.head().await;
    let setup = started.elapsed();

    // Every proof any store's run sends, signed and formatted before the clock starts.
    // Per channel: (d), then every open loop (each sends rate × length round-robin, so a
    // connection sends at most one more than its share).
    let per_channel = PER_CHANNEL
        + OPEN_LOOP_RATES
            .iter()
            .map(|&rate| {
                let share = (rate * OPEN_LOOP_LENGTH.as_secs()) as usize / CHANNELS + 1;
                share * if rate == OPEN_LOOP_RATES[0] { POWER_LOSS_OPEN_LOOP_RUNS } else { 1 }
            })
            .sum::<usize>();
    let signing_started = Instant::now();
    let sign = |channel: ChannelId, count: usize| -> Vec<RequestBytes> {
        (1..=count as u64)
            .map(|balance| paid_request(&chain, &domain, &sender_key, channel, balance))
            .collect()
    };
    let (sequential, paying) = std::thread::scope(|scope| {
        let (half, sign, channels) = (CHANNELS / 2, &sign, &channels);
        let first =
            scope.spawn(move || channels[1..=half].iter().map(|&c| sign(c, per_channel)).collect::<Vec<_>>());
        let mut second: Vec<_> = channels[half + 1..].iter().map(|&c| sign(c, per_channel)).collect();
        let sequential = sign(channels[0], SEQUENTIAL);
        let mut paying = first.join().unwrap();
        paying.append(&mut second);
        (sequential, paying)
    });
    let signed = SEQUENTIAL + CHANNELS * per_channel;
    let signing = signing_started.elapsed();

    let mut stores = vec![Durability::ProcessCrash, Durability::PowerLoss]
        .into_iter()
        .map(StoreRun::Sqlite)
        .collect::<Vec<_>>();
    let postgres = if with_postgres {
        stores.extend([StoreRun::Postgres { instances: 1 }, StoreRun::Postgres { instances: 2 }]);
        Some(tokio::task::spawn_blocking(TestPostgres::start).await??)
    } else {
        None
    };

    let free = load::request("/free", &[]);
    let unpaid = load::request("/paid", &[]);
    let mut rows = Vec::new();
    let mut paid_concurrent = Vec::new();
    for (run, store) in stores.into_iter().enumerate() {
        let dir = tempfile::tempdir()?;
        let mut instances = Vec::new();
        let mut addresses: Vec<SocketAddr> = Vec::new();
        let store_spec = match store {
            StoreRun::Sqlite(durability) => {
                Store::Sqlite { path: dir.path().join("bench.db").display().to_string(), durability }
            }
            StoreRun::Postgres { .. } => {
                let postgres = postgres.as_ref().expect("a cluster for the PostgreSQL runs");
                Store::Postgres { url: postgres.create_database(&format!("bench_{run}"))? }
            }
        };
        for instance in 0..store.instances() {
            let spec = ServerSpec {
                rpc_url: chain.anvil.endpoint(),
                receiver_key: hex::encode(chain.key(RECEIVER).to_bytes()),
                channel_manager: chain.deployment.channel_manager,
                start_block: chain.deployment.deploy_block,
                sync_to: head,
                store: store_spec.clone(),
            };
            let (started, address) =
                Instance::start(&spec, in_process, &dir.path().join(format!("server-{instance}.log")))
                    .await?;
            load::wait_ready(address, &unpaid, 402).await?;
            instances.push(started);
            addresses.push(address);
        }
        let cpu = CpuClock::new(instances.iter().filter_map(Instance::pid).collect());
        let label = store.label();
        if run == 0 {
            for (phase, request, expected) in
                [("(a) plain route", &free, 200), ("(b) unpaid 402", &unpaid, 402)]
            {
                for workers in [1, CHANNELS] {
                    let scripts = (0..workers)
                        .map(|_| Script {
                            address: addresses[0],
                            requests: vec![request.clone(); UNPAID / workers],
                            expected,
                        })
                        .collect();
                    let before = cpu.now();
                    let outcome = load::closed_loop(scripts, PHASE_LIMIT).await;
                    rows.push(Row::new(phase, "-", &workers.to_string(), outcome, cpu.since(before)));
                }
            }
        }
        let profiler = profile(&perf, &instances, &label, "c")?;
        let before = cpu.now();
        let script = Script { address: addresses[0], requests: sequential.clone(), expected: 200 };
        let outcome = load::closed_loop(vec![script], PHASE_LIMIT).await;
        let cpu_used = cpu.since(before);
        profiler.map(report::Profiler::stop).transpose()?;
        rows.push(Row::new("(c) paid, 1 channel", &label, "1", outcome, cpu_used));

        // Each channel on one instance, the channels spread over the instances.
        let mut next = vec![0usize; CHANNELS];
        let scripts_from = |next: &[usize], count: usize| -> Vec<Script> {
            (0..CHANNELS)
                .map(|channel| Script {
                    address: addresses[channel % addresses.len()],
                    requests: paying[channel][next[channel]..(next[channel] + count).min(per_channel)]
                        .to_vec(),
                    expected: 200,
                })
                .collect()
        };
        let profiler = profile(&perf, &instances, &label, "d")?;
        let before = cpu.now();
        let outcome = load::closed_loop(scripts_from(&next, PER_CHANNEL), PHASE_LIMIT).await;
        let cpu_used = cpu.since(before);
        profiler.map(report::Profiler::stop).transpose()?;
        advance(&mut next, &outcome);
        let row = Row::new("(d) paid, 64 channels", &label, "64", outcome, cpu_used);
        paid_concurrent.push((label.clone(), row.rate));
        rows.push(row);

        for rate in OPEN_LOOP_RATES {
            let runs = match store {
                StoreRun::Sqlite(Durability::PowerLoss) if rate == OPEN_LOOP_RATES[0] => {
                    POWER_LOSS_OPEN_LOOP_RUNS
                }
                _ => 1,
            };
            for _ in 0..runs {
                let per_connection = (rate * OPEN_LOOP_LENGTH.as_secs()) as usize / CHANNELS + 1;
                let before = cpu.now();
                let outcome =
                    load::open_loop(scripts_from(&next, per_connection), rate, OPEN_LOOP_LENGTH).await;
                advance(&mut next, &outcome);
                rows.push(Row::new(
                    report::open_loop_phase(rate),
                    &label,
                    "open",
                    outcome,
                    cpu.since(before),
                ));
            }
        }
        for instance in instances {
            instance.stop().await?;
        }
    }

    let (single, double) = recovery_rates(&domain, channels[0], &sender_key);
    report::print_table(&rows, in_process);
    println!();
    println!("(f) recovery alone (recover_balance_proof_signer): {single:.0}/s on 1 thread, {double:.0}/s on 2 threads");
    for (label, rate) in &paid_concurrent {
        println!("{label}: paid (d) ÷ recovery alone on 2 threads = {:.2}", rate / double);
    }
    println!(
        "client signing (excluded above): {signed} proofs in {:.2} s on 2 threads = {:.0}/s",
        signing.as_secs_f64(),
        signed as f64 / signing.as_secs_f64()
    );
    println!(
        "setup (anvil, deploy, {} channels): {:.1} s; whole run: {:.1} s; server {}; {} cores",
        CHANNELS + 1,
        setup.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        if in_process { "in this process" } else { "in its own process" },
        std::thread::available_parallelism().map_or(0, usize::from),
    );
    Ok(())
}

/// With `--perf DIR`: `perf record` of the (first) server process for one phase.
fn profile(
    perf: &Option<std::path::PathBuf>,
    instances: &[Instance],
    store: &str,
    phase: &str,
) -> anyhow::Result<Option<report::Profiler>> {
    match (perf, instances.first().and_then(Instance::pid)) {
        (Some(dir), Some(pid)) => {
            let file = dir.join(format!("perf-{}-{phase}.data", store.replace(' ', "-")));
            Ok(Some(report::Profiler::start(pid, &file)?))
        }
        _ => Ok(None),
    }
}

/// After a paying phase: each channel's next proof is the one after its last success (a
/// failed worker stopped, so its channel's later phases fail and show it).
fn advance(next: &mut [usize], outcome: &load::Outcome) {
    for (next, succeeded) in next.iter_mut().zip(&outcome.succeeded) {
        *next += succeeded;
    }
}

/// A paid `GET /paid` on `channel` for the cumulative `balance`, formatted.
fn paid_request(
    chain: &TestChain,
    domain: &Eip712Domain,
    key: &LocalSigningKey,
    channel: ChannelId,
    balance: u64,
) -> RequestBytes {
    let balance = U192::from(balance);
    let signature = key.sign_balance_proof(domain, &channel.balance_proof(balance)).unwrap();
    let headers = PaymentHeaders {
        contract: chain.deployment.channel_manager,
        receiver: channel.receiver,
        sender: channel.sender,
        open_block_number: channel.open_block_number,
        balance,
        balance_signature: signature,
        payment: None,
    };
    load::request("/paid", &headers.to_header_pairs())
}

/// (f): recoveries per second on one thread and on two.
fn recovery_rates(domain: &Eip712Domain, channel: ChannelId, key: &LocalSigningKey) -> (f64, f64) {
    let proofs: Vec<(BalanceProof, ProofSignature)> = (1..=64u64)
        .map(|balance| {
            let proof = channel.balance_proof(U192::from(balance));
            let signature = key.sign_balance_proof(domain, &proof).unwrap();
            (proof, signature)
        })
        .collect();
    let recover_for = |duration: Duration| {
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
    let single = recover_for(Duration::from_secs(2));
    let double = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..2).map(|_| scope.spawn(|| recover_for(Duration::from_secs(2)))).collect();
        threads.into_iter().map(|thread| thread.join().unwrap()).sum()
    });
    (single, double)
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
enum StoreRun {
    Sqlite(Durability),
    /// `instances` servers on one PostgreSQL database.
    Postgres {
        instances: usize,
    },
}

impl StoreRun {
    fn instances(self) -> usize {
        match self {
            Self::Sqlite(_) => 1,
            Self::Postgres { instances } => instances,
        }
    }

    fn label(self) -> String {
        match self {
            Self::Sqlite(Durability::ProcessCrash) => "sqlite".into(),
            Self::Sqlite(Durability::PowerLoss) => "sqlite fsync".into(),
            Self::Postgres { instances } => format!("postgres x{instances}"),
        }
    }
}
