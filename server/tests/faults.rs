//! Faults around a running receiver, on a real anvil with the real contracts and a real
//! SQLite state file, paid over real HTTP:
//!
//! - the Ethereum node stops under load and comes back with the same chain: payments are
//!   served from the receiver's own state until its background health check notices, then
//!   refused with 502 (SPEC §4, "Ethereum node unreachable"), never lost, and taken again
//!   once the node is back, with the chain's changes made meanwhile (a top-up) honoured;
//! - the state file's disk fills up: payments the receiver cannot store are refused with
//!   503 and not charged, and are taken again once space returns;
//! - the fees jump after the receiver sent a transaction: it is sent again at its nonce
//!   with a fee that gets it mined.
//!
//! Either way, every payment acknowledged with a 200 is in the state file afterwards: a
//! receiver started again on the same file has exactly the last acknowledged proof.

// The harness below panics as the failure report, like the tests themselves.
#![allow(clippy::unwrap_used)]

use std::{
    io::Write,
    path::Path,
    sync::{
        atomic::{AtomicU8, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use alloy::node_bindings::{Anvil, AnvilInstance};
use tokio::sync::{mpsc, oneshot};
use uraiden_e2e::{anvil_binary, TestChain};
use uraiden_protocol::{
    channel_manager_domain, Address, ChannelId, Eip712Domain, LocalSigningKey, PaymentHeaders, Refusal, U192,
};
use uraiden_server::{
    ChannelManager, ChannelManagerConfig, OnChainDuties, Receiver, ReceiverConfig, ReceiverError,
};

const RECEIVER: usize = 1;
const SENDER: usize = 2;
/// `/echofix/*` costs 5.
const PRICE: u64 = 5;
/// Room for a few hundred payments, so the sender never runs dry before the test says so.
const DEPOSIT: u64 = 2_000;
const WAIT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------
// The node stops and restarts under load.
// ---------------------------------------------------------------------------------------

/// When an answer arrived, relative to the node's outage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Phase {
    Up = 0,
    /// SIGTERM sent (the node may still be dumping its state) or the node gone.
    Down = 1,
    /// The node restarted from its state file.
    Back = 2,
}

impl Phase {
    fn load(cell: &AtomicU8) -> Self {
        match cell.load(Ordering::SeqCst) {
            0 => Self::Up,
            1 => Self::Down,
            _ => Self::Back,
        }
    }
}

#[derive(Debug)]
struct Outcome {
    phase: Phase,
    status: u16,
    balance: u64,
    /// The body's message, for a 502.
    message: Option<String>,
}

#[tokio::test]
async fn the_node_stops_and_restarts_under_load_and_no_payment_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let anvil_state = dir.path().join("anvil-state.json");
    let port = free_port();
    let anvil = spawn_anvil(port, &anvil_state);
    let deployment =
        uraiden_chain::deploy(&deployer(&anvil), &uraiden_chain::DeployOptions::default()).await.unwrap();
    let mut chain = TestChain { anvil, deployment };
    let channel = open_channel(&chain).await;
    let state_file = dir.path().join("receiver.db");
    let receiver = Running::start(&chain, &state_file).await;
    let pay = Payer::new(&chain, channel);

    // One sender pays in a loop while the node goes away and comes back; each answer is
    // tagged with the phase it arrived in.
    let phase = Arc::new(AtomicU8::new(Phase::Up as u8));
    let (outcomes, mut seen) = mpsc::unbounded_channel();
    let payer = tokio::spawn(pay.clone().run(receiver.url.clone(), phase.clone(), outcomes));

    let mut acknowledged = 0;
    let mut up = 0;
    while up < 10 {
        let outcome: Outcome = next(&mut seen, "the node is up").await.expect("the payer runs");
        assert_eq!(outcome.status, 200, "with the node up: {outcome:?}");
        acknowledged = outcome.balance;
        up += 1;
    }

    // SIGTERM: anvil writes its chain to the state file on the way out.
    phase.store(Phase::Down as u8, Ordering::SeqCst);
    stop_gracefully(&mut chain.anvil).await;

    // Served from the receiver's own state until its health check notices, then 502 (the
    // node is needed to follow the chain: closes and top-ups go unseen), and nothing but
    // 502 from there while the node is gone: the same proof is retried, not charged.
    let mut served_while_down = 0;
    let mut refused = 0;
    while refused < 20 {
        let outcome = next(&mut seen, "the node is down").await.expect("the payer runs");
        match outcome.status {
            200 if refused == 0 => {
                served_while_down += 1;
                acknowledged = outcome.balance;
            }
            502 => {
                let message = outcome.message.unwrap_or_default();
                assert!(message.contains("Ethereum node is not reachable"), "{message}");
                refused += 1;
            }
            _ => panic!("after {refused} 502s with the node gone: {outcome:?}"),
        }
    }
    eprintln!("node down: {served_while_down} payments served before the health check noticed");

    // The node comes back on the same port with the same chain.
    chain.anvil = spawn_anvil(port, &anvil_state);
    phase.store(Phase::Back as u8, Ordering::SeqCst);
    let mut served_after = 0;
    while let Some(outcome) = next(&mut seen, "the node is back").await {
        match (outcome.phase, outcome.status) {
            (_, 200) => {
                acknowledged = outcome.balance;
                if outcome.phase == Phase::Back {
                    served_after += 1;
                }
            }
            // Refused until the health check sees the node again.
            (_, 502) => assert_eq!(served_after, 0, "a 502 after the node was seen again: {outcome:?}"),
            // The deposit is used up (the payer checked the reason): it stops.
            (_, 402) => {}
            (phase, status) => panic!("{phase:?}: unexpected {status}"),
        }
    }
    let last = tokio::time::timeout(WAIT, payer).await.expect("the payer stops").unwrap();
    assert_eq!(last, DEPOSIT, "the payer stops when the deposit is used up");
    assert_eq!(acknowledged, DEPOSIT);
    assert!(served_after > 0, "no payment was served after the node came back");

    // The receiver follows the restarted node: a top-up made now is honoured.
    chain.transfer_tokens(chain.address(SENDER), 50).await;
    chain.top_up(SENDER, channel, 50).await;
    let deadline = Instant::now() + WAIT;
    while receiver.manager.channel(channel.sender, channel.open_block_number).unwrap().deposit
        != U192::from(DEPOSIT + 50)
    {
        assert!(Instant::now() < deadline, "the top-up after the restart was not seen");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let client = reqwest::Client::new();
    let beyond = DEPOSIT + PRICE;
    let response = get_echo(&client, &receiver.url, &pay.headers(beyond)).await;
    assert_eq!(response.status(), 200, "{:?}", response.headers());
    let health = receiver.manager.health();
    assert!(
        !health.reorg_beyond_confirmations && !health.reorg_beyond_history,
        "the restarted node is the same chain, not a reorg: {health:?}"
    );

    // Every acknowledged payment is in the state file.
    receiver.stop().await;
    let again = Running::start(&chain, &state_file).await;
    let stored = again.manager.channel(channel.sender, channel.open_block_number).unwrap();
    assert_eq!(stored.balance, U192::from(beyond));
    assert_eq!(stored.balance_signature, Some(pay.headers(beyond).balance_signature));
    again.stop().await;
}

/// The payer's next answer; `None` once it has stopped.
async fn next(seen: &mut mpsc::UnboundedReceiver<Outcome>, what: &str) -> Option<Outcome> {
    tokio::time::timeout(WAIT, seen.recv())
        .await
        .unwrap_or_else(|_| panic!("no answer within {WAIT:?} while {what}"))
}

// ---------------------------------------------------------------------------------------
// The state file's disk fills up.
// ---------------------------------------------------------------------------------------

/// A tmpfs of `size` mounted on a fresh directory, unmounted when dropped.
struct TmpfsMount {
    dir: tempfile::TempDir,
}

impl TmpfsMount {
    /// `None` when this process may not mount (not root, or a container without the right).
    fn new(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TmpfsMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// Writes `path` until the filesystem has no byte left; returns how much it took.
fn fill(path: &Path) -> u64 {
    let mut filler = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 4096];
    let mut written = 0;
    loop {
        match filler.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(error) if error.raw_os_error() == Some(28) => break, // ENOSPC
            Err(error) => panic!("filling {}: {error}", path.display()),
        }
    }
    let _ = filler.flush();
    written
}

#[tokio::test]
async fn a_full_disk_refuses_payments_with_503_and_they_are_taken_again_when_space_returns() {
    let Some(disk) = TmpfsMount::new("2m") else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root and the right to mount)");
        return;
    };
    let chain = TestChain::start().await.expect("anvil starts and the contracts deploy");
    let channel = open_channel(&chain).await;
    let state_file = disk.path().join("receiver.db");
    let receiver = Running::start(&chain, &state_file).await;
    let pay = Payer::new(&chain, channel);
    let client = reqwest::Client::new();

    let mut acknowledged = 0;
    for _ in 0..3 {
        let response = get_echo(&client, &receiver.url, &pay.headers(acknowledged + PRICE)).await;
        assert_eq!(response.status(), 200);
        acknowledged += PRICE;
    }

    // A reader holding a snapshot (as a backup would) keeps SQLite from starting the WAL
    // over once it is checkpointed: each commit then needs new space. Without one, SQLite
    // reuses the WAL it has, and a full disk may take a while to show (harmlessly: what it
    // acknowledges is stored).
    let reader =
        rusqlite::Connection::open_with_flags(&state_file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let _: i64 = reader.query_row("SELECT count(*) FROM channels", [], |row| row.get(0)).unwrap();

    let filler = disk.path().join("filler");
    let filled = fill(&filler);
    assert!(filled > 0, "the filler wrote nothing: the disk was full before");

    // SQLite may still fit commits into pages its WAL already holds; those are stored and
    // acknowledged like any other (at most the tmpfs's size of them). Once a commit does
    // not fit, the payment is refused with 503, and so is the same proof sent again while
    // the disk stays full.
    let mut refused_proof = None;
    for _ in 0..2_000 {
        let balance = acknowledged + PRICE;
        let response = get_echo(&client, &receiver.url, &pay.headers(balance)).await;
        match response.status().as_u16() {
            200 => acknowledged = balance,
            503 => {
                let body: serde_json::Value = response.json().await.unwrap();
                let message = body["message"].as_str().unwrap_or_default();
                assert!(
                    message.contains("not charged") && message.contains("retry"),
                    "the 503 says nothing was charged and to retry: {body}"
                );
                refused_proof = Some(balance);
                break;
            }
            status => panic!("on a full disk: {status} {:?}", response.text().await),
        }
    }
    let refused_proof = refused_proof.expect("2,000 payments were acknowledged on a full disk, none refused");
    eprintln!("disk full: acknowledged up to {acknowledged}, refused {refused_proof}");
    for attempt in 0..10 {
        let response = get_echo(&client, &receiver.url, &pay.headers(refused_proof)).await;
        assert_eq!(response.status(), 503, "attempt {attempt} on the still full disk");
    }
    // The chain follower is not what failed: the node is fine.
    assert!(receiver.manager.health().node_reachable);

    // Space returns: the very proof that was refused is taken (it was not charged), and the
    // channel goes on from there.
    drop(reader);
    std::fs::remove_file(&filler).unwrap();
    for balance in (refused_proof..).step_by(PRICE as usize).take(5) {
        let response = get_echo(&client, &receiver.url, &pay.headers(balance)).await;
        assert_eq!(
            response.status(),
            200,
            "balance {balance} after space returned: {:?}",
            response.text().await
        );
        acknowledged = balance;
    }

    receiver.stop().await;
    let again = Running::start(&chain, &state_file).await;
    let stored = again.manager.channel(channel.sender, channel.open_block_number).unwrap();
    assert_eq!(stored.balance, U192::from(acknowledged), "an acknowledged payment was lost");
    again.stop().await;
}

// ---------------------------------------------------------------------------------------
// A receiver transaction priced out of the node's pool.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_withdrawal_priced_out_of_the_pool_is_sent_again_at_its_nonce_with_a_higher_fee() {
    use alloy::providers::Provider;
    let chain = TestChain::start().await.expect("anvil starts and the contracts deploy");
    let channel = open_channel(&chain).await;
    let dir = tempfile::tempdir().unwrap();
    let receiver = Running::start(&chain, &dir.path().join("receiver.db")).await;
    let pay = Payer::new(&chain, channel);
    let client = reqwest::Client::new();
    for balance in [PRICE, 2 * PRICE] {
        assert_eq!(get_echo(&client, &receiver.url, &pay.headers(balance)).await.status(), 200);
    }
    let node = chain.provider(chain.key(0));
    let receiver_address = chain.address(RECEIVER);
    let tokens_before = chain.token_balance(receiver_address).await;

    // The withdrawal goes into the pool with the fees of the moment...
    let _: serde_json::Value = node.raw_request("evm_setAutomine".into(), [false]).await.unwrap();
    let duties = receiver.duties.clone();
    let withdrawal =
        tokio::spawn(
            async move { duties.withdraw(channel.sender, channel.open_block_number, U192::ZERO).await },
        );
    let deadline = Instant::now() + WAIT;
    while node.get_transaction_count(receiver_address).pending().await.unwrap()
        == node.get_transaction_count(receiver_address).await.unwrap()
    {
        assert!(Instant::now() < deadline, "the withdrawal was not sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // ...and then the base fee jumps far above what it offered.
    let high_base_fee = alloy::primitives::U256::from(1_000_000_000_000u64);
    let _: serde_json::Value =
        node.raw_request("anvil_setNextBlockBaseFeePerGas".into(), [high_base_fee]).await.unwrap();
    chain.mine(1).await;
    let _: serde_json::Value = node.raw_request("evm_setAutomine".into(), [true]).await.unwrap();
    // anvil drops it from the pool rather than keeping it (a node may do either): it is not
    // mined, and as the receiver sees it, its receipt never comes.
    let mined_nonce = node.get_transaction_count(receiver_address).await.unwrap();
    let pending_nonce = node.get_transaction_count(receiver_address).pending().await.unwrap();
    eprintln!("after the base fee jump: mined nonce {mined_nonce}, pending nonce {pending_nonce}");
    assert!(!withdrawal.is_finished(), "the withdrawal went through at the old fee");

    // The receiver sends it again at the same nonce with a fee that gets it mined.
    let replaced = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if withdrawal.is_finished() {
                return withdrawal.await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("the withdrawal priced out of the pool was not sent again within 30 s");
    let replaced = replaced.expect("the withdrawal succeeds");
    assert!(matches!(replaced.outcome, uraiden_server::WithdrawOutcome::Withdrawn { .. }), "{replaced:?}");
    assert_eq!(
        chain.token_balance(receiver_address).await,
        tokens_before + alloy::primitives::U256::from(2 * PRICE)
    );
    receiver.stop().await;
}

// ---------------------------------------------------------------------------------------
// Harness.
// ---------------------------------------------------------------------------------------

/// A port nothing listens on now: bound, then freed.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// anvil on `port`, loading its chain from `state` if the file exists and writing it there
/// when it stops (SIGTERM), with the historical states the chain follower reads at.
fn spawn_anvil(port: u16, state: &Path) -> AnvilInstance {
    Anvil::at(anvil_binary())
        .port(port)
        .arg("--state")
        .arg(state)
        .arg("--preserve-historical-states")
        .try_spawn()
        .expect("anvil starts")
}

/// SIGTERM, and waits until anvil has written its state and exited.
async fn stop_gracefully(anvil: &mut AnvilInstance) {
    let pid = anvil.child().id().to_string();
    let sent = tokio::process::Command::new("kill").args(["-TERM", &pid]).status().await.unwrap();
    assert!(sent.success());
    let deadline = Instant::now() + WAIT;
    while anvil.child_mut().try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "anvil did not stop after SIGTERM");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The deployer's (account 0) connection to `anvil`, before there is a [`TestChain`].
fn deployer(anvil: &AnvilInstance) -> alloy::providers::DynProvider {
    use alloy::providers::{Provider, ProviderBuilder};
    let key: alloy::signers::local::PrivateKeySigner = anvil.keys()[0].clone().into();
    ProviderBuilder::new()
        .wallet(alloy::network::EthereumWallet::from(key))
        .connect_http(anvil.endpoint_url())
        .erased()
}

/// Funds the sender and opens a channel of [`DEPOSIT`] to the receiver.
async fn open_channel(chain: &TestChain) -> ChannelId {
    chain.transfer_tokens(chain.address(SENDER), DEPOSIT).await;
    chain.open_channel(SENDER, chain.address(RECEIVER), DEPOSIT, None).await
}

/// A receiver serving the echo demo on 127.0.0.1, through the composition root.
struct Running {
    manager: ChannelManager,
    duties: OnChainDuties,
    url: String,
    stop: oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<Result<(), ReceiverError>>,
}

impl Running {
    /// Starts on `state_file` and waits until it has caught up with the chain.
    async fn start(chain: &TestChain, state_file: &Path) -> Self {
        let mut config = ChannelManagerConfig::new(
            chain.provider(chain.key(RECEIVER)),
            chain.signing_key(RECEIVER),
            chain.deployment.channel_manager,
            state_file.to_owned(),
            chain.deployment.deploy_block,
        );
        // anvil mines only on transactions and never reorgs: mined is enough.
        config.confirmations = 1;
        config.poll_interval = Duration::from_millis(20);
        config.balance_check_interval = Duration::from_millis(100);
        let receiver = Receiver::start(ReceiverConfig::new(config)).await.expect("the receiver starts");
        let manager = receiver.manager().expect("a receiver on a chain").clone();
        let duties = receiver.duties().expect("a receiver on a chain").clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(receiver.run(listener, async move {
            let _ = stopped.await;
        }));
        let head = alloy::providers::Provider::get_block_number(&chain.provider(chain.key(0))).await.unwrap();
        assert!(manager.wait_for_block(head, WAIT).await, "the receiver did not reach block {head}");
        let deadline = Instant::now() + WAIT;
        while !manager.health().node_reachable {
            assert!(Instant::now() < deadline, "the receiver's health never saw the node");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Self { manager, duties, url, stop, serving }
    }

    /// Stops serving and the background tasks, and lets go of the state file.
    async fn stop(self) {
        let _ = self.stop.send(());
        self.serving.await.unwrap().unwrap();
        drop(self.manager);
        drop(self.duties);
    }
}

/// Signs the sender's payments in one channel.
#[derive(Clone)]
struct Payer {
    key: LocalSigningKey,
    domain: Eip712Domain,
    contract: Address,
    channel: ChannelId,
}

impl Payer {
    fn new(chain: &TestChain, channel: ChannelId) -> Self {
        let contract = chain.deployment.channel_manager;
        Self {
            key: chain.signing_key(SENDER),
            domain: channel_manager_domain(chain.deployment.chain_id, contract),
            contract,
            channel,
        }
    }

    /// The headers paying `balance` (cumulative).
    fn headers(&self, balance: u64) -> PaymentHeaders {
        let proof = self.channel.balance_proof(U192::from(balance));
        PaymentHeaders {
            contract: self.contract,
            receiver: self.channel.receiver,
            sender: self.channel.sender,
            open_block_number: self.channel.open_block_number,
            balance: U192::from(balance),
            balance_signature: self.key.sign_balance_proof(&self.domain, &proof).unwrap(),
            payment: None,
        }
    }

    /// Pays `PRICE` after `PRICE` until the deposit is used up (a 402 for insufficient
    /// funds), retrying the same proof after a 502; reports every answer; returns the last
    /// acknowledged balance. Bounded: at most a few thousand requests.
    async fn run(self, url: String, phase: Arc<AtomicU8>, outcomes: mpsc::UnboundedSender<Outcome>) -> u64 {
        let client = reqwest::Client::new();
        let mut acknowledged = 0;
        for _ in 0..5_000 {
            let balance = acknowledged + PRICE;
            let response = get_echo(&client, &url, &self.headers(balance)).await;
            let status = response.status().as_u16();
            let phase = Phase::load(&phase);
            if status == 402 {
                assert!(
                    response.headers().contains_key(Refusal::InsufficientFunds.header_name()),
                    "refused at {balance}: {:?}",
                    response.headers()
                );
            }
            let message = match status {
                502 => {
                    response.json::<serde_json::Value>().await.unwrap()["message"].as_str().map(str::to_owned)
                }
                _ => None,
            };
            let _ = outcomes.send(Outcome { phase, status, balance, message });
            match status {
                200 => acknowledged = balance,
                502 => tokio::time::sleep(Duration::from_millis(10)).await,
                402 => return acknowledged,
                _ => return acknowledged,
            }
        }
        panic!("the payer did not finish within its bound");
    }
}

/// GET `/echofix/x` with `payment`.
async fn get_echo(client: &reqwest::Client, url: &str, payment: &PaymentHeaders) -> reqwest::Response {
    let mut request = client.get(format!("{url}/echofix/x"));
    for (name, value) in payment.to_header_pairs() {
        request = request.header(name, value);
    }
    request.send().await.unwrap()
}
