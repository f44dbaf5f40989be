//! The channel manager tests' harness: a real anvil with the real contracts, a state file in
//! a temporary directory, and the channel manager started on them (shared by
//! `channel_manager.rs` and `attack_review_13_commit.rs`).

#![allow(dead_code)]

use std::{
    future::Future,
    path::PathBuf,
    time::{Duration, Instant},
};

use alloy::primitives::U256;
use tempfile::TempDir;
use uraiden_e2e::{ChannelManagerInstance, TestChain, TokenInstance};
use uraiden_protocol::{
    channel_manager_domain, request_deadline, Address, ChannelId, Eip712Domain, LocalSigningKey,
    PaymentHeaders, ProofSignature, Refusal, SignedCloseRequest, U192,
};
use uraiden_server::{BackgroundTasks, ChannelManager, ChannelManagerConfig, PaymentRejected};

pub const RECEIVER: usize = 1;
pub const SENDER: usize = 2;
pub const STRANGER: usize = 3;
pub const PRICE: u64 = 10;
pub const WAIT: Duration = Duration::from_secs(20);

pub struct Harness {
    pub chain: TestChain,
    _dir: TempDir,
    pub state_file: PathBuf,
    pub domain: Eip712Domain,
}

impl Harness {
    pub async fn new() -> Self {
        let chain = TestChain::start().await.expect("anvil starts and the contracts deploy");
        let dir = tempfile::tempdir().expect("tempdir");
        let state_file = dir.path().join("receiver.db");
        let domain = channel_manager_domain(chain.deployment.chain_id, chain.deployment.channel_manager);
        Self { chain, _dir: dir, state_file, domain }
    }

    pub fn key(&self, index: usize) -> LocalSigningKey {
        self.chain.signing_key(index)
    }

    pub fn config(&self, confirmations: u64, duties: bool) -> ChannelManagerConfig {
        let mut config = ChannelManagerConfig::new(
            self.chain.provider(self.chain.key(RECEIVER)),
            self.key(RECEIVER),
            self.chain.deployment.channel_manager,
            self.state_file.clone(),
            self.chain.deployment.deploy_block,
        );
        config.confirmations = confirmations;
        config.poll_interval = Duration::from_millis(20);
        config.balance_check_interval = Duration::from_millis(100);
        config.on_chain_duties = duties;
        config
    }

    pub async fn start(&self, confirmations: u64, duties: bool) -> (ChannelManager, BackgroundTasks) {
        let (manager, tasks) = ChannelManager::start(self.config(confirmations, duties))
            .await
            .expect("the channel manager starts");
        self.synced(&manager).await;
        (manager, tasks)
    }

    /// Waits until the manager has read the chain up to its current head.
    pub async fn synced(&self, manager: &ChannelManager) {
        let head = self.head().await;
        assert!(manager.wait_for_block(head, WAIT).await, "the manager did not reach block {head}");
    }

    pub async fn head(&self) -> u64 {
        self.chain.head().await
    }

    pub async fn mine(&self, blocks: u64) {
        self.chain.mine(blocks).await
    }

    pub fn token(&self, index: usize) -> TokenInstance {
        self.chain.token(index)
    }

    pub fn contract(&self, index: usize) -> ChannelManagerInstance {
        self.chain.channel_manager(index)
    }

    pub async fn balance_of(&self, who: Address) -> U256 {
        self.chain.token_balance(who).await
    }

    /// Gives the sender tokens and opens a channel to the receiver; returns its id.
    pub async fn open_channel(&self, deposit: u64, signer: Option<Address>) -> ChannelId {
        self.chain.transfer_tokens(self.chain.address(SENDER), deposit).await;
        self.chain.open_channel(SENDER, self.chain.address(RECEIVER), deposit, signer).await
    }

    pub async fn top_up(&self, channel: ChannelId, added: u64) {
        self.chain.transfer_tokens(channel.sender, added).await;
        self.chain.top_up(SENDER, channel, added).await
    }

    /// A close request of `channel` at `balance` by `signer`, valid for the next minutes.
    pub fn close_request(
        &self,
        signer: &LocalSigningKey,
        channel: ChannelId,
        balance: u64,
    ) -> SignedCloseRequest {
        let deadline = request_deadline(unix_now());
        SignedCloseRequest::sign(signer, &self.domain, channel, U192::from(balance), deadline).expect("signs")
    }

    pub fn sign(&self, signer: &LocalSigningKey, channel: ChannelId, balance: u64) -> ProofSignature {
        signer.sign_balance_proof(&self.domain, &channel.balance_proof(U192::from(balance))).expect("signs")
    }

    /// The headers of a request paying `balance`, signed by `signer`.
    pub fn payment(&self, signer: &LocalSigningKey, channel: ChannelId, balance: u64) -> PaymentHeaders {
        PaymentHeaders { payment: Some(U192::from(PRICE)), ..self.chain.payment(signer, channel, balance) }
    }
}

pub async fn pay(manager: &ChannelManager, payment: &PaymentHeaders) -> Result<U192, PaymentRejected> {
    manager.accept_payment(payment, U192::from(PRICE)).await.map(|accepted| accepted.balance)
}

pub fn refusal(result: Result<U192, PaymentRejected>) -> Refusal {
    match result {
        Err(PaymentRejected::Refused { refusal, .. }) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Polls `condition` until it holds or [`WAIT`] passes.
pub async fn eventually<F: Future<Output = bool>>(what: &str, mut condition: impl FnMut() -> F) {
    let deadline = Instant::now() + WAIT;
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs()
}
