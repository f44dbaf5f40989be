//! The harness of the tests with several `uraiden-server` processes on one PostgreSQL database
//! (a throwaway cluster of Debian's `postgresql`) and a real anvil: the instances, their
//! cluster, paying through them, and SQL from the side.

// Each test file uses part of it.
#![allow(dead_code)]

use std::{
    os::unix::fs::PermissionsExt,
    path::Path,
    sync::{mpsc, Arc, Mutex},
    time::{Duration, Instant},
};

use alloy::primitives::Address;
use tokio::io::AsyncBufReadExt;
use uraiden_e2e::{postgres::TestPostgres, TestChain};
use uraiden_protocol::{
    request_deadline, ChannelId, Eip712Domain, LocalSigningKey, PaymentHeaders, ProofSignature,
    SignedCloseRequest, SignedStatusRequest, U192,
};

pub const RECEIVER: usize = 1;
/// `/echofix/*` costs 5.
pub const PRICE: u64 = 5;
pub const DEPOSIT: u64 = 1_000;
pub const WAIT: Duration = Duration::from_secs(30);
/// The operator API's bearer token (channel listings).
pub const API_TOKEN: &str = "several-instances-token";

pub struct Cluster {
    pub chain: TestChain,
    pub instances: Vec<Instance>,
    pub database: String,
    pub postgres: TestPostgres,
    pub dir: tempfile::TempDir,
}

impl Cluster {
    pub async fn start(count: usize, poll_ms: u64) -> Self {
        Self::start_args(count, poll_ms, &[]).await
    }

    pub async fn start_args(count: usize, poll_ms: u64, extra: &[&str]) -> Self {
        let chain = TestChain::start().await.expect("anvil starts and the contracts deploy");
        let postgres = TestPostgres::start().expect("a PostgreSQL cluster starts");
        let database = postgres.create_database("receiver").expect("creates the database");
        let dir = tempfile::tempdir().unwrap();
        let mut instances = Vec::new();
        for _ in 0..count {
            instances.push(
                Instance::start_keyed(
                    &chain,
                    dir.path(),
                    RECEIVER,
                    &["--database-url", &database],
                    &[],
                    poll_ms,
                    extra,
                )
                .await,
            );
        }
        Self { chain, instances, database, postgres, dir }
    }

    pub async fn leader(&self, client: &reqwest::Client) -> usize {
        let started = Instant::now();
        loop {
            let leaders = self.leaders_now(client).await;
            if leaders.len() == 1 {
                return leaders[0];
            }
            assert!(started.elapsed() < WAIT, "no single leader: {leaders:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The instances whose `/metrics` say they lead.
    pub async fn leaders_now(&self, client: &reqwest::Client) -> Vec<usize> {
        let mut leaders = Vec::new();
        for (index, instance) in self.instances.iter().enumerate() {
            let Ok(response) = client.get(format!("{}/metrics", instance.url)).send().await else { continue };
            let text = response.text().await.unwrap_or_default();
            if text.lines().any(|line| line.trim() == "uraiden_leader 1") {
                leaders.push(index);
            }
        }
        leaders
    }
}

pub struct Instance {
    pub child: tokio::process::Child,
    pub url: String,
    log: Arc<Mutex<Vec<String>>>,
}

pub fn server_command(chain: &TestChain, dir: &Path) -> tokio::process::Command {
    server_command_keyed(chain, dir, RECEIVER)
}

pub fn server_command_keyed(chain: &TestChain, dir: &Path, account: usize) -> tokio::process::Command {
    let key_file = dir.join(format!("receiver-{account}.key"));
    std::fs::write(&key_file, alloy::hex::encode(chain.key(account).to_bytes())).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_uraiden-server"));
    command
        .args(["--private-key", key_file.to_str().unwrap()])
        .args(["--channel-manager-address", &chain.deployment.channel_manager.to_string()])
        .args(["--rpc-provider", chain.anvil.endpoint().as_str()])
        .args(["--start-block", &chain.deployment.deploy_block.to_string()])
        .args(["--confirmations", "1"])
        .args(["--api-token", API_TOKEN])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .env_remove("URAIDEN_DATABASE_URL")
        .kill_on_drop(true);
    command
}

impl Instance {
    pub async fn start_with(
        chain: &TestChain,
        dir: &Path,
        store: &[&str],
        envs: &[(&str, &str)],
        poll_ms: u64,
    ) -> Self {
        Self::start_keyed(chain, dir, RECEIVER, store, envs, poll_ms, &[]).await
    }

    pub async fn start_keyed(
        chain: &TestChain,
        dir: &Path,
        account: usize,
        store: &[&str],
        envs: &[(&str, &str)],
        poll_ms: u64,
        after_start: &[&str],
    ) -> Self {
        let mut command = server_command_keyed(chain, dir, account);
        command.args(store).args(["--poll-interval-ms", &poll_ms.to_string()]);
        for (name, value) in envs {
            command.env(name, value);
        }
        let mut child = command
            .args(["start", "--host", "127.0.0.1", "--port", "0"])
            .args(after_start)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let log = Arc::new(Mutex::new(Vec::new()));
        let address = tokio::time::timeout(WAIT, async {
            while let Some(line) = lines.next_line().await.unwrap() {
                log.lock().unwrap().push(line.clone());
                if let Some((_, rest)) = line.split_once("listening on http://") {
                    return rest.split_whitespace().next().unwrap().to_owned();
                }
            }
            panic!("the server exited before listening:\n{}", log.lock().unwrap().join("\n"));
        })
        .await
        .expect("the server listens");
        let kept = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                kept.lock().unwrap().push(line);
            }
        });
        Self { child, url: format!("http://{address}"), log }
    }

    pub fn log_all(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log.lock().unwrap();
        log[log.len().saturating_sub(lines)..].join("\n")
    }

    pub async fn channel_json(
        &self,
        client: &reqwest::Client,
        channel: ChannelId,
    ) -> Option<serde_json::Value> {
        let url = format!("{}/api/1/channels/{}/{}", self.url, channel.sender, channel.open_block_number);
        let response = client.get(&url).bearer_auth(API_TOKEN).send().await.ok()?;
        (response.status() == 200).then_some(())?;
        response.json().await.ok()
    }

    pub async fn wait_for_channel(&self, client: &reqwest::Client, channel: ChannelId) {
        let started = Instant::now();
        loop {
            if let Some(body) = self.channel_json(client, channel).await {
                if body["state"] == "open" {
                    return;
                }
            }
            assert!(
                started.elapsed() < WAIT,
                "{} never saw channel {channel:?}\n{}",
                self.url,
                self.log_tail(20)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn channel_balance(&self, client: &reqwest::Client, channel: ChannelId) -> u64 {
        let body = self.channel_json(client, channel).await.expect("the channel is listed");
        let balance = &body["balance"];
        balance.as_str().map_or_else(|| balance.as_u64().unwrap(), |text| text.parse().unwrap())
    }

    pub async fn kill_9(&mut self) {
        self.child.start_kill().unwrap();
        let _ = tokio::time::timeout(WAIT, self.child.wait()).await;
    }
}

/// A transaction of its own connection, holding what `statement` locked until released.
pub struct Held {
    release: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Held {
    pub fn start(url: &str, statement: &str) -> Self {
        let (url, statement) = (url.to_owned(), statement.to_owned());
        let (locked, is_locked) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            let mut transaction = client.transaction().unwrap();
            transaction.batch_execute(&statement).unwrap();
            locked.send(()).unwrap();
            let _ = released.recv_timeout(Duration::from_secs(40));
            transaction.commit().unwrap();
        });
        is_locked.recv_timeout(Duration::from_secs(10)).expect("the lock is taken");
        Self { release, thread }
    }

    pub fn release(self) {
        self.release.send(()).unwrap();
        self.thread.join().unwrap();
    }
}

pub async fn sql(url: &str, statement: &str) {
    let (url, statement) = (url.to_owned(), statement.to_owned());
    tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        client.batch_execute(&statement).unwrap();
    })
    .await
    .unwrap();
}

pub async fn query_one_text(url: &str, query: &str) -> String {
    let (url, query) = (url.to_owned(), query.to_owned());
    tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        client.query_one(&query, &[]).unwrap().get::<_, String>(0)
    })
    .await
    .unwrap()
}

/// Sequential and index scans of `table` so far (as flushed by the backends, about every second).
pub async fn table_reads(url: &str, table: &str) -> i64 {
    let (url, table) = (url.to_owned(), table.to_owned());
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        client
            .query_one(
                "SELECT (coalesce(seq_scan, 0) + coalesce(idx_scan, 0))::bigint FROM pg_stat_user_tables
                 WHERE relname = $1",
                &[&table],
            )
            .unwrap()
            .get::<_, i64>(0)
    })
    .await
    .unwrap()
}

/// Waits until `count` sessions of the database at `url` wait for a lock.
pub async fn wait_for_lock_waiters(url: &str, count: i64) {
    let started = Instant::now();
    loop {
        let (url_owned, name) = (url.to_owned(), url.rsplit('/').next().unwrap().to_owned());
        let waiting = tokio::task::spawn_blocking(move || {
            let mut client = postgres::Client::connect(&url_owned, postgres::NoTls).unwrap();
            client
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = $1",
                    &[&name],
                )
                .unwrap()
                .get::<_, i64>(0)
        })
        .await
        .unwrap();
        if waiting >= count {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{waiting} sessions wait for the lock, not {count}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn open_channel(chain: &TestChain, sender: usize, deposit: u64) -> ChannelId {
    chain.transfer_tokens(chain.address(sender), DEPOSIT * 2).await;
    chain.open_channel(sender, chain.address(RECEIVER), deposit, None).await
}

pub fn payment(
    contract: Address,
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

pub async fn request_close(
    client: &reqwest::Client,
    url: &str,
    key: &LocalSigningKey,
    domain: &Eip712Domain,
    channel: ChannelId,
    balance: u64,
) -> (u16, serde_json::Value) {
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
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

pub async fn get_echo(client: &reqwest::Client, url: &str, payment: &PaymentHeaders) -> reqwest::Response {
    try_get_echo(client, url, payment).await.expect("the instance answers")
}

pub async fn try_get_echo(
    client: &reqwest::Client,
    url: &str,
    payment: &PaymentHeaders,
) -> Option<reqwest::Response> {
    get_echo_with(client, url, payment.to_header_pairs()).await
}

/// GET `/echofix/x` with `headers`, waiting out the 502 of an instance still catching up;
/// `None` if the instance is gone.
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

pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

impl Cluster {
    /// Which instance this is.
    pub fn index_of(&self, instance: &Instance) -> usize {
        self.instances.iter().position(|candidate| candidate.url == instance.url).unwrap()
    }
}

/// The receiver's closing signature for `balance`, through the close API of `url`.
pub async fn close_signature(
    client: &reqwest::Client,
    url: &str,
    key: &LocalSigningKey,
    domain: &Eip712Domain,
    channel: ChannelId,
    balance: u64,
) -> ProofSignature {
    let (status, body) = request_close(client, url, key, domain, channel, balance).await;
    assert_eq!(status, 200, "the close through {url}: {body}");
    body["close_signature"].as_str().unwrap().parse().unwrap()
}

/// As [`get_echo`], with a status request: a refusal then carries the last proof.
pub async fn get_echo_asking(
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

pub fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response.headers().get(name).map(|value| value.to_str().unwrap().to_owned())
}
