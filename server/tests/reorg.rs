//! Chain reorganisations against a real anvil: `evm_snapshot` marks a block, the test builds
//! one fork on it (fork A) and lets the receiver follow it, `evm_revert` goes back to the
//! mark and a different fork (fork B) is built, longer than A so that "the receiver reached
//! the head" means it has read fork B. Each fork's first block differs from the other's (a
//! transaction in one of them), or anvil could mine the same block twice.
//!
//! The receivers here count events after 1 or 2 confirmations, fewer than the depth of the
//! reorgs, so every reorg replaces blocks the receiver had confirmed: exactly the case the
//! confirmations cannot protect against, and that the rollback must.

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::{
    network::EthereumWallet,
    primitives::U256,
    providers::{DynProvider, Provider, ProviderBuilder},
};
use axum::{body::Bytes, extract::State, response::IntoResponse, routing::post, Router};
use tempfile::TempDir;
use tokio::sync::watch;
use uraiden_e2e::{postgres::TestPostgres, TestChain};
use uraiden_protocol::{ChannelId, LocalSigningKey, PaymentHeaders, Refusal, B256, U192};
use uraiden_server::{
    BackgroundTasks, ChannelManager, ChannelManagerConfig, ChannelState, DatabaseUrl, PaymentRejected,
    StoreLocation,
};

const RECEIVER: usize = 1;
const SENDER: usize = 2;
const STRANGER: usize = 3;
const PRICE: u64 = 10;
const WAIT: Duration = Duration::from_secs(30);

// Each test runs on both databases: an SQLite file, and PostgreSQL (a throwaway cluster), where
// the rollback of a reorg is the same store contract on other SQL.
macro_rules! on_every_database {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(super::Harness::new(false).await).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name(super::Harness::new(true).await).await })*
        }
    };
}

on_every_database!(
    a_channel_whose_creation_is_reorged_away_takes_no_more_payments,
    a_creation_re_mined_at_the_same_height_keeps_the_accepted_payments,
    a_channel_created_in_a_replacement_block_is_seen_and_usable,
    an_uncooperative_close_in_a_replacement_block_is_disputed,
    a_dispute_that_a_reorg_drops_is_sent_again_at_once,
    a_reorg_deeper_than_the_confirmations_is_rolled_back_and_re_read,
    a_reorg_deeper_than_the_kept_history_re_reads_from_the_start,
    payments_are_refused_while_a_reorg_is_reconciled,
    a_new_channel_is_checked_on_chain_before_it_takes_payments
);

struct Harness {
    chain: TestChain,
    _dir: TempDir,
    store: StoreLocation,
    _postgres: Option<TestPostgres>,
}

impl Harness {
    /// A chain, and an empty store: an SQLite file, or a PostgreSQL database (`postgres`).
    async fn new(postgres: bool) -> Self {
        let chain = TestChain::start().await.expect("anvil starts and the contracts deploy");
        let dir = tempfile::tempdir().expect("tempdir");
        if !postgres {
            let store = StoreLocation::File(dir.path().join("receiver.db"));
            return Self { chain, _dir: dir, store, _postgres: None };
        }
        let cluster = TestPostgres::start().expect("a PostgreSQL cluster starts");
        let url = cluster.create_database("receiver").expect("creates the database");
        Self {
            chain,
            _dir: dir,
            store: StoreLocation::Database(DatabaseUrl::new(url)),
            _postgres: Some(cluster),
        }
    }

    fn key(&self, index: usize) -> LocalSigningKey {
        self.chain.signing_key(index)
    }

    fn config(&self, provider: DynProvider, confirmations: u64, duties: bool) -> ChannelManagerConfig {
        let mut config = ChannelManagerConfig::new(
            provider,
            self.key(RECEIVER),
            self.chain.deployment.channel_manager,
            self.store.clone(),
            self.chain.deployment.deploy_block,
        );
        config.confirmations = confirmations;
        config.poll_interval = Duration::from_millis(20);
        config.balance_check_interval = Duration::from_millis(100);
        config.on_chain_duties = duties;
        config
    }

    /// A receiver that talks to anvil directly.
    async fn start(&self, confirmations: u64, duties: bool) -> (ChannelManager, BackgroundTasks) {
        let provider = self.chain.provider(self.chain.key(RECEIVER));
        self.start_with(self.config(provider, confirmations, duties)).await
    }

    async fn start_with(&self, config: ChannelManagerConfig) -> (ChannelManager, BackgroundTasks) {
        let (manager, tasks) = ChannelManager::start(config).await.expect("the channel manager starts");
        self.synced(&manager).await;
        (manager, tasks)
    }

    /// Waits until the manager has read the chain up to its current head.
    async fn synced(&self, manager: &ChannelManager) {
        let head = self.chain.head().await;
        assert!(manager.wait_for_block(head, WAIT).await, "the manager did not reach block {head}");
    }

    fn anvil(&self) -> DynProvider {
        self.chain.provider(self.chain.key(0))
    }

    /// Marks the current head; [`revert`](Self::revert) goes back to it.
    async fn snapshot(&self) -> U256 {
        self.anvil().raw_request("evm_snapshot".into(), ()).await.expect("evm_snapshot")
    }

    /// Drops every block after the snapshot: the start of another fork.
    async fn revert(&self, snapshot: U256) {
        let reverted: bool =
            self.anvil().raw_request("evm_revert".into(), [snapshot]).await.expect("evm_revert");
        assert!(reverted, "evm_revert");
    }

    async fn block_hash(&self, number: u64) -> B256 {
        self.anvil()
            .get_header_by_number(number.into())
            .await
            .expect("reads the block")
            .expect("the block exists")
            .hash
    }

    /// Gives the sender tokens and lets the channel manager take them: what opening or topping
    /// up needs before its own transaction.
    async fn fund_and_approve(&self, amount: u64) {
        self.chain.transfer_tokens(self.chain.address(SENDER), amount).await;
        self.chain.approve(SENDER, amount).await;
    }

    /// The sender opens a channel of `deposit` (funded and approved already).
    async fn create_channel(&self, deposit: u64) -> ChannelId {
        let receipt = self
            .chain
            .channel_manager(SENDER)
            .createChannel(self.chain.address(RECEIVER), U192::from(deposit))
            .send()
            .await
            .expect("sent")
            .get_receipt()
            .await
            .expect("mined");
        assert!(receipt.status(), "createChannel reverted");
        let block = u32::try_from(receipt.block_number.expect("mined")).expect("small block number");
        ChannelId::new(self.chain.address(SENDER), self.chain.address(RECEIVER), block)
    }

    /// A block with a transaction of no interest to the receiver: makes a fork's first block
    /// differ from the other fork's.
    async fn unrelated_block(&self) {
        self.chain.transfer_tokens(self.chain.address(STRANGER), 1).await;
    }

    fn payment(&self, channel: ChannelId, balance: u64) -> PaymentHeaders {
        PaymentHeaders {
            payment: Some(U192::from(PRICE)),
            ..self.chain.payment(&self.key(SENDER), channel, balance)
        }
    }
}

async fn pay(
    manager: &ChannelManager,
    harness: &Harness,
    channel: ChannelId,
    balance: u64,
) -> Result<U192, PaymentRejected> {
    manager
        .accept_payment(&harness.payment(channel, balance), U192::from(PRICE))
        .await
        .map(|accepted| accepted.balance)
}

fn refusal(result: Result<U192, PaymentRejected>) -> Refusal {
    match result {
        Err(PaymentRejected::Refused { refusal, .. }) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Polls `condition` until it holds or [`WAIT`] passes.
async fn eventually<F: Future<Output = bool>>(what: &str, mut condition: impl FnMut() -> F) {
    let deadline = Instant::now() + WAIT;
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The first case: a channel is created and paid in, then a reorg takes the creation
/// away. The receiver must stop accepting payments on a channel that does not exist.
async fn a_channel_whose_creation_is_reorged_away_takes_no_more_payments(harness: Harness) {
    let (manager, tasks) = harness.start(1, false).await;
    harness.fund_and_approve(100).await;
    let mark = harness.snapshot().await;

    // Fork A: the channel is created (and confirmed: 1 confirmation) and paid in.
    let channel = harness.create_channel(100).await;
    harness.synced(&manager).await;
    assert_eq!(pay(&manager, &harness, channel, 10).await, Ok(U192::from(10u64)));
    let fork_a_head = harness.chain.head().await;

    // Fork B: no channel.
    harness.revert(mark).await;
    harness.chain.mine(fork_a_head - harness.chain.head().await + 2).await;
    harness.synced(&manager).await;

    for balance in [20, 30, 40] {
        assert_eq!(refusal(pay(&manager, &harness, channel, balance).await), Refusal::NonexistingChannel);
    }
    assert!(manager.channel(channel.sender, channel.open_block_number).is_none(), "the channel is gone");
    assert_eq!(manager.stats().open_channels, 0);
    let health = manager.health();
    assert!(
        health.reorg_beyond_confirmations && !health.reconciling && !health.reorg_beyond_history,
        "{health:?}"
    );
    tasks.shutdown().await;
}

/// The creation is re-mined at the same height in the replacement fork: the channel has the
/// same key, so the payments accepted before the reorg still count (the proof is kept) and
/// the sender continues from its last balance.
async fn a_creation_re_mined_at_the_same_height_keeps_the_accepted_payments(harness: Harness) {
    let (manager, tasks) = harness.start(1, false).await;
    harness.fund_and_approve(100).await;
    let mark = harness.snapshot().await;

    // Fork A: created and paid up to 20; one more block on top.
    let channel = harness.create_channel(100).await;
    harness.synced(&manager).await;
    for balance in [10, 20] {
        assert_eq!(pay(&manager, &harness, channel, balance).await, Ok(U192::from(balance)));
    }
    harness.chain.mine(1).await;
    harness.synced(&manager).await;
    let fork_a_head = harness.chain.head().await;
    let fork_a_block = harness.block_hash(channel.open_block_number.into()).await;

    // Fork B: the same creation in the same block (a later timestamp, so that the block is
    // not fork A's again), then an unrelated transaction and more blocks.
    harness.revert(mark).await;
    let _: serde_json::Value = harness
        .anvil()
        .raw_request("evm_increaseTime".into(), [U256::from(3_600)])
        .await
        .expect("evm_increaseTime");
    let again = harness.create_channel(100).await;
    assert_eq!(again, channel, "re-mined at the same height: the same channel key");
    assert_ne!(harness.block_hash(channel.open_block_number.into()).await, fork_a_block, "another block");
    harness.unrelated_block().await;
    harness.chain.mine(fork_a_head - harness.chain.head().await + 2).await;
    harness.synced(&manager).await;

    let snapshot =
        manager.channel(channel.sender, channel.open_block_number).expect("the channel exists again");
    assert_eq!(snapshot.balance, U192::from(20u64), "the accepted proof survived the reorg");
    assert_eq!(refusal(pay(&manager, &harness, channel, 20).await), Refusal::InvalidBalanceProof);
    assert_eq!(pay(&manager, &harness, channel, 30).await, Ok(U192::from(30u64)));
    tasks.shutdown().await;
}

/// The second case: the channel is created in a block that replaced one the receiver
/// had confirmed. It must be seen, and usable.
async fn a_channel_created_in_a_replacement_block_is_seen_and_usable(harness: Harness) {
    let (manager, tasks) = harness.start(1, false).await;
    harness.fund_and_approve(100).await;
    harness.synced(&manager).await;
    let mark = harness.snapshot().await;

    // Fork A: one empty block, confirmed by the receiver.
    harness.chain.mine(1).await;
    harness.synced(&manager).await;
    let fork_a_head = harness.chain.head().await;

    // Fork B: the creation takes that block's place.
    harness.revert(mark).await;
    let channel = harness.create_channel(100).await;
    assert_eq!(u64::from(channel.open_block_number), fork_a_head, "the creation replaced fork A's block");
    harness.chain.mine(1).await;
    harness.synced(&manager).await;

    let snapshot = manager.channel(channel.sender, channel.open_block_number).expect("the channel is seen");
    assert!(snapshot.confirmed);
    assert_eq!(snapshot.deposit, U192::from(100u64));
    assert_eq!(pay(&manager, &harness, channel, 10).await, Ok(U192::from(10u64)));
    tasks.shutdown().await;
}

/// The third case: the sender's `uncooperativeClose(…, 0)` is mined in a replacement
/// block. The receiver must see it, stop serving and dispute it with its last proof: on chain,
/// it is paid its full last balance.
async fn an_uncooperative_close_in_a_replacement_block_is_disputed(harness: Harness) {
    let (manager, tasks) = harness.start(1, true).await;
    harness.fund_and_approve(100).await;
    let channel = harness.create_channel(100).await;
    harness.synced(&manager).await;
    for balance in [10, 20, 30] {
        assert_eq!(pay(&manager, &harness, channel, balance).await, Ok(U192::from(balance)));
    }
    let before = (
        harness.chain.token_balance(channel.sender).await,
        harness.chain.token_balance(channel.receiver).await,
    );
    let mark = harness.snapshot().await;

    // Fork A: an empty block, confirmed.
    harness.chain.mine(1).await;
    harness.synced(&manager).await;

    // Fork B: the sender's close at 0 takes its place.
    harness.revert(mark).await;
    harness.chain.uncooperative_close(SENDER, channel, 0).await;
    harness.chain.mine(1).await;
    harness.synced(&manager).await;

    assert_eq!(refusal(pay(&manager, &harness, channel, 40).await), Refusal::NonexistingChannel);
    eventually("the channel is settled", || async {
        manager.channel(channel.sender, channel.open_block_number).map(|c| c.state)
            == Some(ChannelState::Settled)
    })
    .await;
    let after = (
        harness.chain.token_balance(channel.sender).await,
        harness.chain.token_balance(channel.receiver).await,
    );
    assert_eq!(after.1 - before.1, U256::from(30u64), "the receiver is paid its full last balance");
    assert_eq!(after.0 - before.0, U256::from(70u64), "the sender gets the rest");
    tasks.shutdown().await;
}

/// The receiver's own dispute is mined, then a reorg drops it while the sender's close stays:
/// the dispute must go out again at once, not after the delay meant for a transaction that
/// was merely slow (64 retries, a minute here), or the challenge period can run out on it.
async fn a_dispute_that_a_reorg_drops_is_sent_again_at_once(harness: Harness) {
    let receiver_provider = harness.chain.provider(harness.chain.key(RECEIVER));
    let mut config = harness.config(receiver_provider, 1, true);
    // 100 ms polls: a resend after 64 retries of 10 polls would take 64 s.
    config.poll_interval = Duration::from_millis(100);
    let (manager, tasks) = harness.start_with(config).await;
    harness.fund_and_approve(100).await;
    let channel = harness.create_channel(100).await;
    harness.synced(&manager).await;
    for balance in [10, 20, 30] {
        assert_eq!(pay(&manager, &harness, channel, balance).await, Ok(U192::from(balance)));
    }
    let before = (
        harness.chain.token_balance(channel.sender).await,
        harness.chain.token_balance(channel.receiver).await,
    );

    // Blocks only when the test mines them, so the dispute lands in a block of its own.
    let anvil = harness.anvil();
    let set_automine = |on: bool| {
        let anvil = anvil.clone();
        async move {
            let () = anvil.raw_request("evm_setAutomine".into(), [on]).await.expect("evm_setAutomine");
        }
    };
    set_automine(false).await;
    let close = harness
        .chain
        .channel_manager(SENDER)
        .uncooperativeClose(channel.receiver, channel.open_block_number, U192::ZERO)
        .send()
        .await
        .expect("the sender's close is sent");
    harness.chain.mine(1).await;
    assert!(close.get_receipt().await.expect("mined").status(), "uncooperativeClose reverted");
    let mark = harness.snapshot().await;

    // Fork A: blocks until the receiver's dispute is in one and the receiver has seen it.
    let mut fork_a = 0;
    let settled = || manager.channel(channel.sender, channel.open_block_number).map(|c| c.state);
    while settled() != Some(ChannelState::Settled) {
        assert!(fork_a < 150, "the receiver never disputed the close");
        harness.chain.mine(1).await;
        fork_a += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Fork B: the dispute is gone (from the blocks and the pool), the close stays.
    harness.revert(mark).await;
    let _: serde_json::Value =
        anvil.raw_request("anvil_dropAllTransactions".into(), ()).await.expect("anvil_dropAllTransactions");
    set_automine(true).await;
    harness.chain.mine(fork_a + 2).await;

    let deadline = Instant::now() + Duration::from_secs(20);
    while settled() != Some(ChannelState::Settled)
        || harness.chain.token_balance(channel.receiver).await == before.1
    {
        assert!(Instant::now() < deadline, "the dropped dispute was not sent again within 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = (
        harness.chain.token_balance(channel.sender).await,
        harness.chain.token_balance(channel.receiver).await,
    );
    assert_eq!(after.1 - before.1, U256::from(30u64), "the receiver is paid its full last balance");
    assert_eq!(after.0 - before.0, U256::from(70u64), "the sender gets the rest");
    tasks.shutdown().await;
}

/// A reorg deeper than `--confirmations` (2 here, the reorg replaces 6 blocks): a confirmed
/// top-up is undone, so the deposit goes back and payments above it are refused; the
/// payments accepted meanwhile stay recorded.
async fn a_reorg_deeper_than_the_confirmations_is_rolled_back_and_re_read(harness: Harness) {
    let (manager, tasks) = harness.start(2, false).await;
    harness.fund_and_approve(100).await;
    let channel = harness.create_channel(100).await;
    harness.chain.mine(1).await;
    harness.synced(&manager).await;
    for balance in [10, 20] {
        assert_eq!(pay(&manager, &harness, channel, balance).await, Ok(U192::from(balance)));
    }
    let mark = harness.snapshot().await;

    // Fork A: a top-up of 50, confirmed; the sender pays beyond the first deposit.
    harness.fund_and_approve(50).await;
    harness.chain.top_up(SENDER, channel, 50).await;
    harness.chain.mine(3).await;
    harness.synced(&manager).await;
    assert_eq!(
        manager.channel(channel.sender, channel.open_block_number).map(|c| c.deposit),
        Some(U192::from(150u64))
    );
    let mut balance = 20;
    while balance < 120 {
        balance += PRICE;
        assert_eq!(pay(&manager, &harness, channel, balance).await, Ok(U192::from(balance)));
    }
    let fork_a_head = harness.chain.head().await;

    // Fork B: no top-up.
    harness.revert(mark).await;
    harness.chain.mine(fork_a_head - harness.chain.head().await + 2).await;
    harness.synced(&manager).await;

    let snapshot =
        manager.channel(channel.sender, channel.open_block_number).expect("the channel still exists");
    assert_eq!(snapshot.deposit, U192::from(100u64), "the top-up was rolled back");
    assert_eq!(snapshot.balance, U192::from(120u64), "accepted payments are never forgotten");
    assert_eq!(snapshot.state, ChannelState::Open);
    assert_eq!(refusal(pay(&manager, &harness, channel, 130).await), Refusal::InsufficientFunds);
    let health = manager.health();
    assert!(health.reorg_beyond_confirmations && !health.reconciling, "{health:?}");
    tasks.shutdown().await;
}

/// A reorg deeper than the block history the receiver keeps: it cannot find the fork point,
/// so it re-reads the contract's history from the start block.
async fn a_reorg_deeper_than_the_kept_history_re_reads_from_the_start(harness: Harness) {
    let (manager, tasks) = harness.start(1, false).await;
    harness.fund_and_approve(100).await;
    let mark = harness.snapshot().await;

    // Fork A: the channel, then 300 blocks, more than the history kept.
    let channel = harness.create_channel(100).await;
    harness.synced(&manager).await;
    harness.chain.mine(300).await;
    harness.synced(&manager).await;
    assert_eq!(pay(&manager, &harness, channel, 10).await, Ok(U192::from(10u64)));
    let fork_a_head = harness.chain.head().await;

    // Fork B: no channel.
    harness.revert(mark).await;
    harness.unrelated_block().await;
    harness.chain.mine(fork_a_head - harness.chain.head().await + 2).await;
    harness.synced(&manager).await;

    assert_eq!(refusal(pay(&manager, &harness, channel, 20).await), Refusal::NonexistingChannel);
    assert!(manager.channel(channel.sender, channel.open_block_number).is_none(), "the channel is gone");
    let health = manager.health();
    assert!(health.reorg_beyond_history && !health.reconciling, "{health:?}");
    tasks.shutdown().await;
}

/// What the relay in front of anvil lets through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gate {
    Open,
    /// Every request waits.
    Closed,
    /// Requests of this JSON-RPC method wait, everything else passes.
    Held(&'static str),
}

/// A JSON-RPC relay on 127.0.0.1 between the receiver and anvil that can hold requests, to
/// stop the receiver at a chosen point of its work.
#[derive(Clone)]
struct Relay {
    upstream: String,
    client: reqwest::Client,
    gate: Arc<watch::Sender<Gate>>,
    /// How many requests of the held method the gate has held since it was set.
    held: Arc<watch::Sender<usize>>,
}

impl Relay {
    async fn start(upstream: String) -> (Self, String) {
        let relay = Self {
            upstream,
            client: reqwest::Client::new(),
            gate: Arc::new(watch::channel(Gate::Open).0),
            held: Arc::new(watch::channel(0).0),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        let router = Router::new().route("/", post(forward)).with_state(relay.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        (relay, url)
    }

    fn set(&self, gate: Gate) {
        self.held.send_replace(0);
        self.gate.send_replace(gate);
    }

    /// Waits until the receiver sent a request of the held method (and it is held).
    async fn wait_for_held(&self) {
        let gate = *self.gate.borrow();
        let mut held = self.held.subscribe();
        tokio::time::timeout(WAIT, held.wait_for(|&held| held > 0))
            .await
            .unwrap_or_else(|_| panic!("the receiver sent no request held by {gate:?}"))
            .expect("the relay runs");
    }

    /// A provider for the receiver that goes through this relay.
    fn provider(&self, url: &str, harness: &Harness) -> DynProvider {
        ProviderBuilder::new()
            .wallet(EthereumWallet::from(harness.chain.key(RECEIVER)))
            .connect_http(url.parse().expect("a URL"))
            .erased()
    }
}

async fn forward(State(relay): State<Relay>, body: Bytes) -> impl IntoResponse {
    let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let method = request["method"].as_str().unwrap_or_default().to_owned();
    let mut gate = relay.gate.subscribe();
    let mut counted = false;
    loop {
        let hold = match *gate.borrow_and_update() {
            Gate::Open => false,
            Gate::Closed => true,
            Gate::Held(held) => method == held,
        };
        if !hold {
            break;
        }
        if !counted && matches!(*gate.borrow(), Gate::Held(_)) {
            counted = true;
            relay.held.send_modify(|held| *held += 1);
        }
        if gate.changed().await.is_err() {
            break;
        }
    }
    let response = relay
        .client
        .post(&relay.upstream)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("anvil answers");
    let bytes = response.bytes().await.expect("anvil's answer");
    ([("content-type", "application/json")], bytes)
}

/// Between noticing a reorg and having re-read the new blocks, the receiver's view of the
/// channels is not the chain's: payments are refused with `Unavailable` (a 502), and taken
/// again once the new blocks are read.
async fn payments_are_refused_while_a_reorg_is_reconciled(harness: Harness) {
    let (relay, url) = Relay::start(harness.chain.anvil.endpoint()).await;
    let (manager, tasks) = harness.start_with(harness.config(relay.provider(&url, &harness), 1, false)).await;
    harness.fund_and_approve(100).await;
    let channel = harness.create_channel(100).await;
    harness.synced(&manager).await;
    assert_eq!(pay(&manager, &harness, channel, 10).await, Ok(U192::from(10u64)));
    let mark = harness.snapshot().await;

    // Fork A: a block the receiver confirms.
    harness.unrelated_block().await;
    harness.synced(&manager).await;
    let fork_a_head = harness.chain.head().await;

    // Fork B is built while the receiver cannot read anything, then it may see the new
    // blocks but not their events.
    relay.set(Gate::Closed);
    harness.revert(mark).await;
    harness.chain.mine(fork_a_head - harness.chain.head().await + 2).await;
    relay.set(Gate::Held("eth_getLogs"));
    relay.wait_for_held().await;

    match pay(&manager, &harness, channel, 20).await {
        Err(PaymentRejected::Unavailable(reason)) => assert!(reason.contains("reorg"), "{reason}"),
        other => panic!("expected Unavailable while reconciling, got {other:?}"),
    }
    let health = manager.health();
    assert!(health.reconciling && health.last_error.is_some(), "the health says why: {health:?}");

    relay.set(Gate::Open);
    harness.synced(&manager).await;
    assert!(!manager.health().reconciling);
    assert_eq!(pay(&manager, &harness, channel, 20).await, Ok(U192::from(20u64)));
    tasks.shutdown().await;
}

/// A new channel is read once from the contract before it becomes usable. Here the sync read
/// the creation's log, then a reorg took the creation away before that read: the contract
/// has no such channel, so nothing of those blocks is applied and payments wait for the next
/// poll, which finds the reorg. Without the read, the channel would take payments until then.
async fn a_new_channel_is_checked_on_chain_before_it_takes_payments(harness: Harness) {
    let (relay, url) = Relay::start(harness.chain.anvil.endpoint()).await;
    let mut config = harness.config(relay.provider(&url, &harness), 1, false);
    // No balance reads after the first: the only calls to the contracts are the sync's.
    config.balance_check_interval = Duration::from_secs(3_600);
    let (manager, tasks) = harness.start_with(config).await;
    harness.fund_and_approve(100).await;
    harness.synced(&manager).await;
    let mark = harness.snapshot().await;

    // Fork A: the creation. The sync reads its log and stops at the contract read.
    relay.set(Gate::Held("eth_call"));
    let channel = harness.create_channel(100).await;
    relay.wait_for_held().await;
    let fork_a_head = harness.chain.head().await;

    // Fork B, without the channel, replaces it before the read is answered; the next poll is
    // held at its start.
    harness.revert(mark).await;
    harness.unrelated_block().await;
    harness.chain.mine(fork_a_head - harness.chain.head().await + 2).await;
    relay.set(Gate::Held("eth_blockNumber"));
    relay.wait_for_held().await;

    match pay(&manager, &harness, channel, 10).await {
        Err(PaymentRejected::Unavailable(_)) => {}
        other => panic!("expected Unavailable until the chain is read again, got {other:?}"),
    }
    assert!(manager.health().reconciling);

    relay.set(Gate::Open);
    harness.synced(&manager).await;
    assert_eq!(refusal(pay(&manager, &harness, channel, 10).await), Refusal::NonexistingChannel);
    assert!(manager.channel(channel.sender, channel.open_block_number).is_none());
    tasks.shutdown().await;
}
