//! Shared by the client's end-to-end tests: a real anvil with the real contracts, the real
//! receiver (channel manager + HTTP) on 127.0.0.1:0, and helpers to fund and build clients.

// Each test file uses part of this; helpers panic as the failure report.
#![allow(dead_code, clippy::unwrap_used)]

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use alloy::{primitives::U256, providers::DynProvider};
use tokio::sync::oneshot;
use uraiden_client::{Client, ClientConfig, SessionOptions};
use uraiden_e2e::TestChain;
use uraiden_protocol::{Address, LocalSigningKey, U192};
use uraiden_server::{
    ApiToken, ChannelManager, ChannelManagerConfig, OnChainDuties, ReceiverConfig, ReceiverError,
};

pub const RECEIVER: usize = 1;
pub const SENDER: usize = 2;
pub const WAIT: Duration = Duration::from_secs(20);
/// Tokens the sender starts with.
pub const FUNDS: u64 = 1_000;

pub struct Env {
    pub chain: TestChain,
    pub dir: tempfile::TempDir,
    pub manager: ChannelManager,
    /// The receiver's on-chain duties: the real backend of a router built by a test.
    pub duties: OnChainDuties,
    pub url: String,
    running: Running,
}

pub fn signing_key(chain: &TestChain, index: usize) -> LocalSigningKey {
    chain.signing_key(index)
}

impl Env {
    /// anvil + contracts + a receiver that counts events after `confirmations` blocks; the
    /// sender holds [`FUNDS`] tokens.
    pub async fn start(confirmations: u64) -> Self {
        Self::start_with(confirmations, true).await
    }

    /// As [`start`](Self::start); without `duties` the receiver never settles a closing
    /// channel itself, so the sender's challenge period can be observed.
    pub async fn start_with(confirmations: u64, duties: bool) -> Self {
        let chain = TestChain::start().await.expect("anvil starts and the contracts deploy");
        let dir = tempfile::tempdir().unwrap();
        let mut config = manager_config(&chain, dir.path(), RECEIVER, "receiver.db");
        config.confirmations = confirmations;
        config.on_chain_duties = duties;
        let mut config = ReceiverConfig::new(config);
        config.http.api_token = ApiToken::new("op");
        let (manager, duties, url, running) = run(config).await;
        let env = Self { chain, dir, manager, duties, url, running };
        env.transfer_tokens(env.chain.address(SENDER), FUNDS).await;
        env.synced().await;
        env
    }

    pub fn owner(&self) -> DynProvider {
        self.chain.provider(self.chain.key(0))
    }

    pub async fn transfer_tokens(&self, to: Address, amount: u64) {
        self.chain.transfer_tokens(to, amount).await
    }

    pub async fn token_balance(&self, of: Address) -> U256 {
        self.chain.token_balance(of).await
    }

    /// Waits until the receiver has followed the chain to its head.
    pub async fn synced(&self) {
        let head = self.chain.head().await;
        assert!(self.manager.wait_for_block(head, WAIT).await, "the receiver did not reach block {head}");
    }

    /// Mines `blocks` empty blocks.
    pub async fn mine(&self, blocks: u64) {
        self.chain.mine(blocks).await
    }

    pub fn state_file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A client for the sender on `state_file`.
    pub async fn client(&self, state_file: &Path) -> Client {
        self.client_for(self.chain.deployment.channel_manager, state_file).await
    }

    pub async fn client_for(&self, channel_manager: Address, state_file: &Path) -> Client {
        Client::connect(self.client_config(channel_manager, state_file)).await.unwrap()
    }

    /// How [`client_for`](Self::client_for) connects, for tests that expect it to fail.
    pub fn client_config(&self, channel_manager: Address, state_file: &Path) -> ClientConfig {
        ClientConfig {
            key: signing_key(&self.chain, SENDER),
            rpc_url: self.chain.anvil.endpoint_url().to_string(),
            channel_manager,
            state_file: state_file.to_owned(),
            start_block: self.chain.deployment.deploy_block,
        }
    }

    /// The receiver's balance for the sender's channel at `open_block`.
    pub fn receiver_balance(&self, open_block: u32) -> Option<U192> {
        self.manager.channel(self.chain.address(SENDER), open_block).map(|channel| channel.balance)
    }

    pub fn echo(&self, param: &str) -> String {
        format!("{}/echofix/{param}", self.url)
    }

    pub async fn shutdown(self) {
        self.running.stop().await;
    }
}

/// The channel manager's settings for a receiver of account `account` storing in `dir/db`:
/// fast polls, so that tests wait little.
fn manager_config(chain: &TestChain, dir: &Path, account: usize, db: &str) -> ChannelManagerConfig {
    let mut config = ChannelManagerConfig::new(
        chain.provider(chain.key(account)),
        signing_key(chain, account),
        chain.deployment.channel_manager,
        dir.join(db),
        chain.deployment.deploy_block,
    );
    config.poll_interval = Duration::from_millis(20);
    config.balance_check_interval = Duration::from_millis(100);
    config
}

/// A receiver being served: [`stop`](Self::stop) ends serving, then its chain follower and
/// duties.
struct Running {
    stop: oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<Result<(), ReceiverError>>,
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.serving.await.unwrap().unwrap();
    }
}

/// Starts a receiver from `config` and serves it on 127.0.0.1:0 through `Receiver::start` and
/// `run`: its channel manager, duties and `http://127.0.0.1:<port>`.
async fn run(config: ReceiverConfig) -> (ChannelManager, OnChainDuties, String, Running) {
    let receiver = uraiden_server::Receiver::start(config).await.expect("the receiver starts");
    let manager = receiver.manager().expect("a receiver on a chain").clone();
    let duties = receiver.duties().expect("a receiver on a chain").clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(receiver.run(listener, async move {
        let _ = stopped.await;
    }));
    (manager, duties, format!("http://{address}"), Running { stop, serving })
}

/// A second receiver, of account `account` and configured by `configure`, served beside
/// [`Env`]'s and synced with the chain.
pub struct Served {
    pub manager: ChannelManager,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    running: Running,
}

impl Served {
    pub async fn start(env: &Env, account: usize, configure: impl FnOnce(&mut ReceiverConfig)) -> Self {
        let mut config =
            manager_config(&env.chain, env.dir.path(), account, &format!("receiver-{account}.db"));
        config.confirmations = 1;
        let mut config = ReceiverConfig::new(config);
        configure(&mut config);
        let (manager, _, base, running) = run(config).await;
        let head = env.chain.head().await;
        assert!(manager.wait_for_block(head, WAIT).await, "the receiver of {account} reaches block {head}");
        Self { manager, base, running }
    }

    /// What the receiver holds for the sender's channel at `open_block`.
    pub fn balance(&self, env: &Env, open_block: u32) -> U192 {
        self.manager.channel(env.chain.address(SENDER), open_block).unwrap().balance
    }

    pub async fn stop(self) {
        self.running.stop().await;
    }
}

/// Fast retries, generous bounds: tests wait for the receiver's 20 ms polls.
pub fn test_options() -> SessionOptions {
    SessionOptions {
        retry_interval: Duration::from_millis(50),
        max_confirmation_waits: 400,
        max_attempts: 500,
        ..SessionOptions::default()
    }
}
