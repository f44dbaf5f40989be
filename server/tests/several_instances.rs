//! Several `uraiden-server` instances (the real binary, same receiver key and contract) on one
//! PostgreSQL database of a throwaway cluster (Debian's `postgresql`), against a real anvil
//! with the real contracts: any instance takes any payment, a balance is accepted once across
//! all of them, an instance killed with SIGKILL loses no acknowledged payment, and when the
//! leader dies another one follows the chain and performs the duties.

// The harness panics as the failure report, like the tests themselves.
#![allow(clippy::unwrap_used)]

use std::{
    os::unix::fs::PermissionsExt,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::{io::AsyncBufReadExt, sync::Barrier};
use uraiden_e2e::{postgres::TestPostgres, TestChain};
use uraiden_protocol::{
    header as rdn, request_deadline, ChannelId, Eip712Domain, LocalSigningKey, PaymentHeaders,
    ProofSignature, Refusal, SignedCloseRequest, SignedStatusRequest, U192,
};

const RECEIVER: usize = 1;
/// `/echofix/*` costs 5.
const PRICE: u64 = 5;
const DEPOSIT: u64 = 1_000;
const WAIT: Duration = Duration::from_secs(30);
/// How soon another instance must lead after the leader dies.
const TAKEOVER: Duration = Duration::from_secs(10);
/// The operator API's bearer token (channel listings).
const API_TOKEN: &str = "several-instances-test-token";

/// Open, confirm, pay, top up, pay again, close cooperatively through another instance than the
/// one that took the last payment, settle on chain: each request to the next instance in turn.
#[tokio::test]
async fn the_lifecycle_over_three_instances_in_turn() {
    let cluster = Cluster::start(3).await;
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
    let cluster = Cluster::start(3).await;
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
    let mut cluster = Cluster::start(3).await;
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
            for step in 1..=(DEPOSIT / PRICE) {
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
    let mut cluster = Cluster::start(3).await;
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
        if let Some(index) = cluster.leader_now(&client).await {
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

    let mut alone =
        Instance::start_on(&chain, dir.path(), &["--state-file", state_file.to_str().unwrap()]).await;
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

    let instances = [
        Instance::start(&chain, dir.path(), &database).await,
        Instance::start(&chain, dir.path(), &database).await,
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

/// Three instances of `uraiden-server` on one database, with their chain.
struct Cluster {
    chain: TestChain,
    instances: Vec<Instance>,
    _dir: tempfile::TempDir,
    _postgres: TestPostgres,
}

impl Cluster {
    async fn start(count: usize) -> Self {
        let chain = TestChain::start().await.expect("anvil starts and the contracts deploy");
        let postgres = TestPostgres::start().expect("a PostgreSQL cluster starts");
        let database = postgres.create_database("receiver").expect("creates the database");
        let dir = tempfile::tempdir().unwrap();
        let mut instances = Vec::new();
        for _ in 0..count {
            instances.push(Instance::start(&chain, dir.path(), &database).await);
        }
        Self { chain, instances, _dir: dir, _postgres: postgres }
    }

    fn index_of(&self, instance: &Instance) -> usize {
        self.instances.iter().position(|candidate| candidate.url == instance.url).unwrap()
    }

    /// The instance that leads, waiting for one to.
    async fn leader(&self, client: &reqwest::Client) -> usize {
        let started = Instant::now();
        loop {
            if let Some(index) = self.leader_now(client).await {
                return index;
            }
            assert!(started.elapsed() < WAIT, "no instance leads");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The instance whose `/metrics` says it leads (exactly one, if any).
    async fn leader_now(&self, client: &reqwest::Client) -> Option<usize> {
        let mut leaders = Vec::new();
        for (index, instance) in self.instances.iter().enumerate() {
            if instance.killed {
                continue;
            }
            let Ok(response) = client.get(format!("{}/metrics", instance.url)).send().await else { continue };
            let text = response.text().await.unwrap_or_default();
            if text.lines().any(|line| line.trim() == "uraiden_leader 1") {
                leaders.push(index);
            }
        }
        assert!(leaders.len() <= 1, "two instances lead at once: {leaders:?}");
        leaders.first().copied()
    }
}

/// One `uraiden-server` process serving the echo demo on 127.0.0.1.
struct Instance {
    child: tokio::process::Child,
    url: String,
    killed: bool,
    log: Arc<std::sync::Mutex<std::collections::VecDeque<String>>>,
}

impl Instance {
    async fn start(chain: &TestChain, dir: &Path, database: &str) -> Self {
        Self::start_on(chain, dir, &["--database-url", database]).await
    }

    /// An instance whose state is at `store` (`--database-url …` or `--state-file …`).
    async fn start_on(chain: &TestChain, dir: &Path, store: &[&str]) -> Self {
        let key_file = dir.join("receiver.key");
        std::fs::write(&key_file, alloy::hex::encode(chain.key(RECEIVER).to_bytes())).unwrap();
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_uraiden-server"))
            .args(["--private-key", key_file.to_str().unwrap()])
            .args(["--channel-manager-address", &chain.deployment.channel_manager.to_string()])
            .args(store)
            .args(["--rpc-provider", chain.anvil.endpoint().as_str()])
            .args(["--start-block", &chain.deployment.deploy_block.to_string()])
            .args(["--poll-interval-ms", "200"])
            // anvil mines only on transactions and never reorgs: mined is enough.
            .args(["--confirmations", "1"])
            .args(["--api-token", API_TOKEN])
            .args(["start", "--host", "127.0.0.1", "--port", "0"])
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let address = tokio::time::timeout(WAIT, async {
            let mut log = Vec::new();
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some((_, rest)) = line.split_once("listening on http://") {
                    return rest.split_whitespace().next().unwrap().to_owned();
                }
                log.push(line);
            }
            panic!("the server exited before listening:\n{}", log.join("\n"));
        })
        .await
        .expect("the server listens");
        // Keep reading its log so that a full pipe never blocks it; the last lines are kept
        // for a failure's report.
        let log = Arc::new(std::sync::Mutex::new(std::collections::VecDeque::new()));
        let kept = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let mut kept = kept.lock().unwrap();
                if kept.len() == 40 {
                    kept.pop_front();
                }
                kept.push_back(line);
            }
        });
        Self { child, url: format!("http://{address}"), killed: false, log }
    }

    /// Waits until this instance knows `channel` as open (its channel API answers for it).
    async fn wait_for_channel(&self, client: &reqwest::Client, channel: ChannelId) {
        let url = format!("{}/api/1/channels/{}/{}", self.url, channel.sender, channel.open_block_number);
        let started = Instant::now();
        loop {
            let mut last = String::new();
            if let Ok(response) = client.get(&url).bearer_auth(API_TOKEN).send().await {
                let status = response.status();
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                if status == 200 && body["state"] == "open" {
                    return;
                }
                last = format!("{status} {body}");
            }
            assert!(
                started.elapsed() < WAIT,
                "{} never saw channel {channel:?}: {last}\n{}",
                self.url,
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The last lines of this instance's log.
    fn log_tail(&self) -> String {
        self.log.lock().unwrap().iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// SIGKILL: no shutdown code runs.
    async fn kill_9(&mut self) {
        self.child.start_kill().unwrap();
        let status = tokio::time::timeout(WAIT, self.child.wait()).await.unwrap().unwrap();
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9));
        self.killed = true;
    }
}

/// Funds `sender` and opens a channel of `deposit` to the receiver.
async fn open_channel(chain: &TestChain, sender: usize, deposit: u64) -> ChannelId {
    chain.transfer_tokens(chain.address(sender), DEPOSIT * 2).await;
    chain.open_channel(sender, chain.address(RECEIVER), deposit, None).await
}

fn payment(
    contract: alloy::primitives::Address,
    key: &LocalSigningKey,
    domain: &Eip712Domain,
    channel: ChannelId,
    balance: u64,
) -> PaymentHeaders {
    let proof = channel.balance_proof(U192::from(balance));
    PaymentHeaders {
        contract,
        receiver: channel.receiver,
        sender: channel.sender,
        open_block_number: channel.open_block_number,
        balance: U192::from(balance),
        balance_signature: key.sign_balance_proof(domain, &proof).unwrap(),
        payment: None,
    }
}

/// The receiver's closing signature for `balance`, through the close API of `url`.
async fn close_signature(
    client: &reqwest::Client,
    url: &str,
    key: &LocalSigningKey,
    domain: &Eip712Domain,
    channel: ChannelId,
    balance: u64,
) -> ProofSignature {
    let request =
        SignedCloseRequest::sign(key, domain, channel, U192::from(balance), request_deadline(now())).unwrap();
    let response = client
        .delete(format!("{url}/api/1/channels/{}/{}", channel.sender, channel.open_block_number))
        .json(&serde_json::json!({
            "balance": balance.to_string(),
            "deadline": request.deadline,
            "signature": request.signature.to_hex(),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the close through {url}");
    let body: serde_json::Value = response.json().await.unwrap();
    body["close_signature"].as_str().unwrap().parse().unwrap()
}

/// GET `/echofix/x` with `payment`, waiting out the 502 of an instance still catching up.
async fn get_echo(client: &reqwest::Client, url: &str, payment: &PaymentHeaders) -> reqwest::Response {
    try_get_echo(client, url, payment).await.expect("the instance answers")
}

/// As [`get_echo`]; `None` if the instance is gone.
async fn try_get_echo(
    client: &reqwest::Client,
    url: &str,
    payment: &PaymentHeaders,
) -> Option<reqwest::Response> {
    get_echo_with(client, url, payment.to_header_pairs()).await
}

/// As [`get_echo`], with a status request: a refusal then carries the last proof.
async fn get_echo_asking(
    client: &reqwest::Client,
    url: &str,
    payment: &PaymentHeaders,
    status: &SignedStatusRequest,
) -> reqwest::Response {
    let mut headers = payment.to_header_pairs();
    let sent: Vec<&str> = headers.iter().map(|(name, _)| *name).collect();
    let extra: Vec<_> =
        status.to_header_pairs().into_iter().filter(|(name, _)| !sent.contains(name)).collect();
    headers.extend(extra);
    get_echo_with(client, url, headers).await.expect("the instance answers")
}

async fn get_echo_with(
    client: &reqwest::Client,
    url: &str,
    headers: Vec<(&'static str, String)>,
) -> Option<reqwest::Response> {
    let started = Instant::now();
    loop {
        let mut request = client.get(format!("{url}/echofix/x"));
        for (name, value) in &headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.ok()?;
        if response.status() != 502 || started.elapsed() > WAIT {
            return Some(response);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response.headers().get(name).map(|value| value.to_str().unwrap().to_owned())
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}
