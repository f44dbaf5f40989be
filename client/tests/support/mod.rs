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
    /// Serving, then stopping the chain follower and the duties.
    serving: Option<tokio::task::JoinHandle<Result<(), ReceiverError>>>,
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
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
        let mut config = ChannelManagerConfig::new(
            chain.provider(chain.key(RECEIVER)),
            signing_key(&chain, RECEIVER),
            chain.deployment.channel_manager,
            dir.path().join("receiver.db"),
            chain.deployment.deploy_block,
        );
        config.confirmations = confirmations;
        config.on_chain_duties = duties;
        config.poll_interval = Duration::from_millis(20);
        config.balance_check_interval = Duration::from_millis(100);
        let mut config = ReceiverConfig::new(config);
        config.http.api_token = ApiToken::new("op");
        let receiver = uraiden_server::Receiver::start(config).await.expect("the receiver starts");
        let manager = receiver.manager().expect("a receiver on a chain").clone();
        let duties = receiver.duties().expect("a receiver on a chain").clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(receiver.run(listener, async move {
            let _ = stopped.await;
        }));
        let env = Self {
            chain,
            dir,
            manager,
            duties,
            serving: Some(serving),
            url: format!("http://{address}"),
            stop: Some(stop),
        };
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

    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(serving) = self.serving.take() {
            serving.await.unwrap().unwrap();
        }
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
