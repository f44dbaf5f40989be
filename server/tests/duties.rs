//! The receiver's own transactions against a real anvil: withdrawals (on demand and by
//! threshold), close-all, closes that wait as `close_pending` for ETH and then land,
//! `--gas-price`, closing a `close_signed` channel the sender left, and one lost dispute
//! transaction not holding up the next dispute.

use std::{
    future::Future,
    path::PathBuf,
    time::{Duration, Instant},
};

use alloy::{consensus::Transaction as _, primitives::U256, providers::Provider};
use tempfile::TempDir;
use uraiden_e2e::{postgres::TestPostgres, ChannelManagerInstance, TestChain};
use uraiden_protocol::{
    request_deadline, Address, ChannelId, LocalSigningKey, PaymentHeaders, Refusal, SignedCloseRequest, U192,
};
use uraiden_server::{
    BackgroundTasks, ChannelManager, ChannelManagerConfig, ChannelState, CloseOutcome, DatabaseUrl,
    PaymentRejected, StoreLocation, WithdrawOutcome,
};

const RECEIVER: usize = 1;
const SENDER: usize = 2;
const OTHER_SENDER: usize = 3;
const PRICE: u64 = 10;
const WAIT: Duration = Duration::from_secs(30);

// Each test but the CLI's (which works on the state file) runs on both databases: an SQLite
// file, and PostgreSQL (a throwaway cluster), where the duties are the lease holder's.
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
    withdrawing_takes_the_earned_balance_and_the_sync_agrees,
    the_withdraw_threshold_collects_in_the_background,
    a_dispute_without_eth_waits_as_close_pending_and_lands_once_funded,
    a_lost_dispute_transaction_does_not_hold_up_the_next_dispute,
    a_dispute_unmined_past_the_receipt_timeout_keeps_its_nonce_and_the_next_dispute_lands,
    a_dispute_pending_across_a_restart_is_replaced_at_its_nonce,
    close_all_closes_paid_channels_and_leaves_unpaid_ones,
    a_close_signed_channel_the_sender_leaves_is_closed_by_the_receiver,
    the_operator_api_withdraws_and_closes_all
);

struct Harness {
    chain: TestChain,
    dir: TempDir,
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
            return Self { chain, dir, store, _postgres: None };
        }
        let cluster = TestPostgres::start().expect("a PostgreSQL cluster starts");
        let url = cluster.create_database("receiver").expect("creates the database");
        Self { chain, dir, store: StoreLocation::Database(DatabaseUrl::new(url)), _postgres: Some(cluster) }
    }

    /// The SQLite state file (the CLI's tests).
    fn state_file(&self) -> PathBuf {
        self.dir.path().join("receiver.db")
    }

    fn key(&self, index: usize) -> LocalSigningKey {
        self.chain.signing_key(index)
    }

    fn config(&self) -> ChannelManagerConfig {
        let mut config = ChannelManagerConfig::new(
            self.chain.provider(self.chain.key(RECEIVER)),
            self.key(RECEIVER),
            self.chain.deployment.channel_manager,
            self.store.clone(),
            self.chain.deployment.deploy_block,
        );
        // anvil mines only on transactions and never reorgs: mined is enough.
        config.confirmations = 1;
        config.poll_interval = Duration::from_millis(20);
        config.balance_check_interval = Duration::from_millis(50);
        config
    }

    async fn start(&self, config: ChannelManagerConfig) -> (ChannelManager, BackgroundTasks) {
        let (manager, tasks) = ChannelManager::start(config).await.expect("the channel manager starts");
        self.synced(&manager).await;
        (manager, tasks)
    }

    async fn synced(&self, manager: &ChannelManager) {
        let head = self.head().await;
        assert!(manager.wait_for_block(head, WAIT).await, "the manager did not reach block {head}");
    }

    async fn head(&self) -> u64 {
        self.chain.head().await
    }

    async fn mine(&self, blocks: u64) {
        self.chain.mine(blocks).await
    }

    /// Turns anvil's mining of each transaction as it arrives on or off.
    async fn set_automine(&self, on: bool) {
        let provider = self.chain.provider(self.chain.key(0));
        let _: serde_json::Value =
            provider.raw_request("evm_setAutomine".into(), [on]).await.expect("evm_setAutomine");
    }

    /// Waits until the receiver has a transaction in anvil's pool, then drops every pending
    /// transaction: the node forgets it, as one that never propagated or was evicted.
    async fn lose_the_receivers_pending_transaction(&self) {
        let provider = self.chain.provider(self.chain.key(0));
        let receiver = self.chain.address(RECEIVER);
        eventually("the receiver's transaction waits in the pool", || async {
            let pending = provider.get_transaction_count(receiver).pending().await.expect("nonce");
            let mined = provider.get_transaction_count(receiver).latest().await.expect("nonce");
            pending > mined
        })
        .await;
        let _: serde_json::Value = provider
            .raw_request("anvil_dropAllTransactions".into(), ())
            .await
            .expect("anvil_dropAllTransactions");
        let pending = provider.get_transaction_count(receiver).pending().await.expect("nonce");
        let mined = provider.get_transaction_count(receiver).latest().await.expect("nonce");
        assert_eq!(pending, mined, "the receiver's transaction is gone from the pool");
    }

    /// The fee (max fee, or gas price) of `who`'s transaction at `nonce` in anvil's pool.
    async fn pooled_fee(&self, who: Address, nonce: u64) -> Option<u128> {
        let provider = self.chain.provider(self.chain.key(0));
        let pool: serde_json::Value =
            provider.raw_request("txpool_content".into(), ()).await.expect("txpool_content");
        let (_, transactions) = pool["pending"]
            .as_object()?
            .iter()
            .find(|(address, _)| address.parse::<Address>().ok() == Some(who))?;
        let transaction = transactions.get(nonce.to_string())?;
        let fee = transaction.get("maxFeePerGas").or_else(|| transaction.get("gasPrice"))?.as_str()?;
        u128::from_str_radix(fee.trim_start_matches("0x"), 16).ok()
    }

    async fn set_eth(&self, who: Address, wei: U256) {
        let provider = self.chain.provider(self.chain.key(0));
        let _: serde_json::Value =
            provider.raw_request("anvil_setBalance".into(), (who, wei)).await.expect("anvil_setBalance");
    }

    fn contract(&self, index: usize) -> ChannelManagerInstance {
        self.chain.channel_manager(index)
    }

    async fn balance_of(&self, who: Address) -> U256 {
        self.chain.token_balance(who).await
    }

    /// Gives `sender` tokens and opens a channel from it to the receiver.
    async fn open_channel(&self, sender: usize, deposit: u64) -> ChannelId {
        self.chain.transfer_tokens(self.chain.address(sender), deposit).await;
        self.chain.open_channel(sender, self.chain.address(RECEIVER), deposit, None).await
    }

    /// [`SENDER`]'s close request of `channel` at `balance`, valid for the next minutes.
    fn close_request(&self, channel: ChannelId, balance: u64) -> SignedCloseRequest {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970");
        let deadline = request_deadline(now.as_secs());
        SignedCloseRequest::sign(
            &self.key(SENDER),
            &self.chain.domain(),
            channel,
            U192::from(balance),
            deadline,
        )
        .expect("signs")
    }

    fn payment(&self, sender: usize, channel: ChannelId, balance: u64) -> PaymentHeaders {
        PaymentHeaders {
            payment: Some(U192::from(PRICE)),
            ..self.chain.payment(&self.key(sender), channel, balance)
        }
    }

    /// Pays `PRICE` at a time up to `balance`, starting after `from`.
    async fn pay_up_to(
        &self,
        manager: &ChannelManager,
        sender: usize,
        channel: ChannelId,
        from: u64,
        balance: u64,
    ) {
        for next in (from + PRICE..=balance).step_by(PRICE as usize) {
            manager
                .accept_payment(&self.payment(sender, channel, next), U192::from(PRICE))
                .await
                .expect("payment accepted");
        }
    }

    async fn withdrawn_on_chain(&self, channel: ChannelId) -> U192 {
        self.contract(0)
            .getChannelInfo(channel.sender, channel.receiver, channel.open_block_number)
            .call()
            .await
            .expect("getChannelInfo")
            .withdrawnBalance
    }
}

fn state(manager: &ChannelManager, channel: ChannelId) -> Option<ChannelState> {
    manager.channel(channel.sender, channel.open_block_number).map(|c| c.state)
}

fn withdrawn(manager: &ChannelManager, channel: ChannelId) -> U192 {
    manager.channel(channel.sender, channel.open_block_number).expect("known").withdrawn
}

/// Polls `condition` until it holds or [`WAIT`] passes.
async fn eventually<F: Future<Output = bool>>(what: &str, mut condition: impl FnMut() -> F) {
    let deadline = Instant::now() + WAIT;
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn withdrawing_takes_the_earned_balance_and_the_sync_agrees(harness: Harness) {
    let mut config = harness.config();
    config.on_chain_duties = false;
    let (manager, tasks) = harness.start(config).await;
    let channel = harness.open_channel(SENDER, 100).await;
    harness.synced(&manager).await;
    let (sender, open_block) = (channel.sender, channel.open_block_number);

    let nothing = tasks.duties().withdraw(sender, open_block, U192::ZERO).await.expect("no error");
    assert_eq!(nothing.outcome, WithdrawOutcome::NothingToWithdraw, "nothing paid yet");

    harness.pay_up_to(&manager, SENDER, channel, 0, 30).await;
    let before = harness.balance_of(channel.receiver).await;
    let withdrawal = tasks.duties().withdraw(sender, open_block, U192::ZERO).await.expect("withdrawn");
    let WithdrawOutcome::Withdrawn { amount, .. } = withdrawal.outcome else {
        panic!("expected a withdrawal, got {withdrawal:?}")
    };
    assert_eq!((amount, withdrawal.balance), (U192::from(30u64), U192::from(30u64)));
    assert_eq!(harness.balance_of(channel.receiver).await - before, U256::from(30u64));
    // Before the sync has seen it, the same balance is not withdrawn twice.
    assert_eq!(
        tasks.duties().withdraw(sender, open_block, U192::ZERO).await.expect("no error").outcome,
        WithdrawOutcome::NothingToWithdraw
    );
    harness.synced(&manager).await;
    assert_eq!(withdrawn(&manager, channel), U192::from(30u64), "synced from ChannelWithdraw");
    assert_eq!(harness.withdrawn_on_chain(channel).await, U192::from(30u64));
    assert_eq!(manager.stats().balance_sum, U256::ZERO, "nothing earned is left uncollected");

    // The channel stays open; a second withdrawal takes only the difference.
    harness.pay_up_to(&manager, SENDER, channel, 30, 50).await;
    assert_eq!(
        tasks.duties().withdraw(sender, open_block, U192::from(25u64)).await.expect("no error").outcome,
        WithdrawOutcome::BelowMinimum { unwithdrawn: U192::from(20u64) }
    );
    let report = tasks.duties().withdraw_all(U192::ZERO).await;
    assert_eq!(report.len(), 1, "{report:?}");
    assert!(
        matches!(report[0].1, Ok(ref w) if matches!(w.outcome, WithdrawOutcome::Withdrawn { amount, .. } if amount == U192::from(20u64))),
        "{report:?}"
    );
    harness.synced(&manager).await;
    assert_eq!(withdrawn(&manager, channel), U192::from(50u64));
    assert_eq!(harness.withdrawn_on_chain(channel).await, U192::from(50u64));
    assert_eq!(harness.balance_of(channel.receiver).await - before, U256::from(50u64));
    assert!(tasks.duties().withdraw_all(U192::ZERO).await.is_empty(), "nothing left to withdraw");

    // A close after withdrawals pays the receiver only what is still owed.
    harness.pay_up_to(&manager, SENDER, channel, 50, 60).await;
    let last = harness.payment(SENDER, channel, 60);
    let closing =
        manager.sign_cooperative_close(&harness.close_request(channel, 60)).await.expect("closing signature");
    harness.chain.cooperative_close(SENDER, channel, 60, &last.balance_signature, &closing).await;
    harness.synced(&manager).await;
    assert_eq!(state(&manager, channel), Some(ChannelState::Settled));
    assert_eq!(harness.balance_of(channel.receiver).await - before, U256::from(60u64));
    assert_eq!(harness.balance_of(sender).await, U256::from(40u64));
    tasks.shutdown().await;
}

async fn the_withdraw_threshold_collects_in_the_background(harness: Harness) {
    let mut config = harness.config();
    config.withdraw_threshold = Some(U192::from(30u64));
    let (manager, tasks) = harness.start(config).await;
    let channel = harness.open_channel(SENDER, 100).await;
    harness.synced(&manager).await;

    harness.pay_up_to(&manager, SENDER, channel, 0, 20).await;
    // Below the threshold: a few duty rounds (blocks mined meanwhile) withdraw nothing.
    harness.mine(3).await;
    harness.synced(&manager).await;
    harness.synced(&manager).await;
    assert_eq!(harness.withdrawn_on_chain(channel).await, U192::ZERO);

    harness.pay_up_to(&manager, SENDER, channel, 20, 30).await;
    eventually("the receiver withdrew 30", || async {
        harness.synced(&manager).await;
        withdrawn(&manager, channel) == U192::from(30u64)
    })
    .await;
    assert_eq!(harness.withdrawn_on_chain(channel).await, U192::from(30u64));
    assert_eq!(state(&manager, channel), Some(ChannelState::Open), "still taking payments");
    // The next time the threshold is reached, it withdraws again.
    harness.pay_up_to(&manager, SENDER, channel, 30, 60).await;
    eventually("the receiver withdrew 60 in all", || async {
        harness.synced(&manager).await;
        withdrawn(&manager, channel) == U192::from(60u64)
    })
    .await;
    assert_eq!(harness.withdrawn_on_chain(channel).await, U192::from(60u64));
    tasks.shutdown().await;
}

/// The receiver has no ETH when the sender cheats: the dispute waits as close_pending (and
/// the health says why), then lands once the operator funds the receiver, within the
/// challenge period and for the full proven balance.
async fn a_dispute_without_eth_waits_as_close_pending_and_lands_once_funded(harness: Harness) {
    let (manager, tasks) = harness.start(harness.config()).await;
    let channel = harness.open_channel(SENDER, 100).await;
    harness.synced(&manager).await;
    harness.pay_up_to(&manager, SENDER, channel, 0, 30).await;

    harness.set_eth(channel.receiver, U256::ZERO).await;
    eventually("the watcher flags the receiver's ETH as low", || async { manager.health().receiver_eth_low })
        .await;
    let before = harness.balance_of(channel.receiver).await;
    let close_block = harness.chain.uncooperative_close(SENDER, channel, 10).await;
    eventually("the dispute waits as close_pending", || async {
        state(&manager, channel) == Some(ChannelState::ClosePending)
    })
    .await;
    assert!(manager.health().receiver_eth_low);
    assert!(manager.health().last_error.is_some_and(|error| error.contains(&channel.to_string())));

    harness.set_eth(channel.receiver, U256::from(10u64).pow(U256::from(19u64))).await;
    eventually("the dispute lands", || async {
        harness.synced(&manager).await;
        state(&manager, channel) == Some(ChannelState::Settled)
    })
    .await;
    assert_eq!(harness.balance_of(channel.receiver).await - before, U256::from(30u64), "paid in full");
    assert_eq!(harness.balance_of(channel.sender).await, U256::from(70u64));
    assert!(harness.head().await < close_block + 500, "within the challenge period");
    eventually("the ETH flag clears", || async { !manager.health().receiver_eth_low }).await;
    tasks.shutdown().await;
}

/// Two senders cheat one after the other. The receiver's dispute of the first is lost before
/// it is mined (the node forgets it, so no receipt will ever come); the dispute of the second
/// must not wait behind that receipt, nor behind the gap the lost one leaves at its nonce:
/// the first is sent again at once, and both land, for the full proven balances.
async fn a_lost_dispute_transaction_does_not_hold_up_the_next_dispute(harness: Harness) {
    let (manager, tasks) = harness.start(harness.config()).await;
    let first = harness.open_channel(SENDER, 100).await;
    let second = harness.open_channel(OTHER_SENDER, 100).await;
    harness.synced(&manager).await;
    harness.pay_up_to(&manager, SENDER, first, 0, 30).await;
    harness.pay_up_to(&manager, OTHER_SENDER, second, 0, 30).await;
    let before = harness.balance_of(first.receiver).await;

    // Blocks are mined by hand: the first sender's close is mined, the receiver's answer to
    // it waits in the pool, and is lost there.
    harness.set_automine(false).await;
    let close = harness
        .contract(SENDER)
        .uncooperativeClose(first.receiver, first.open_block_number, U192::from(10u64))
        .send()
        .await
        .expect("sent");
    harness.mine(1).await;
    assert!(close.get_receipt().await.expect("mined").status(), "uncooperativeClose reverted");
    harness.lose_the_receivers_pending_transaction().await;
    harness.set_automine(true).await;

    let close_block = harness.chain.uncooperative_close(OTHER_SENDER, second, 10).await;
    eventually("both disputes land", || async {
        harness.synced(&manager).await;
        state(&manager, second) == Some(ChannelState::Settled)
            && state(&manager, first) == Some(ChannelState::Settled)
    })
    .await;
    assert_eq!(harness.balance_of(second.receiver).await - before, U256::from(60u64), "both paid in full");
    assert_eq!(harness.balance_of(first.sender).await, U256::from(70u64));
    assert_eq!(harness.balance_of(second.sender).await, U256::from(70u64));
    assert!(harness.head().await < close_block + 500, "within the challenge period");
    tasks.shutdown().await;
}

/// Under lasting congestion the receiver's dispute waits in the pool, unmined, past the
/// receipt timeout. It must keep its nonce and keep being sent again there with a higher fee:
/// a receiver that gave the nonce up would send its retry at the next nonce, behind it (a
/// second close of the channel, which reverts and costs gas once the first is mined), and
/// every later transaction, the next dispute included, would queue behind a nonce nothing
/// raises any more. Once blocks come again, both disputes land with one transaction each:
/// no nonce skipped, none reverted.
async fn a_dispute_unmined_past_the_receipt_timeout_keeps_its_nonce_and_the_next_dispute_lands(
    harness: Harness,
) {
    let mut config = harness.config();
    // Sent again every 200 ms: the health reports it after the first time, and the fee
    // cap (4 times the estimate, which stays put without blocks) leaves room for ten more.
    config.receipt_timeout = Duration::from_millis(300);
    config.resend_unmined_after_polls = 10;
    let (manager, tasks) = harness.start(config).await;
    let first = harness.open_channel(SENDER, 100).await;
    let second = harness.open_channel(OTHER_SENDER, 100).await;
    harness.synced(&manager).await;
    harness.pay_up_to(&manager, SENDER, first, 0, 30).await;
    harness.pay_up_to(&manager, OTHER_SENDER, second, 0, 30).await;
    let receiver = first.receiver;
    let before = harness.balance_of(receiver).await;
    let provider = harness.chain.provider(harness.chain.key(0));
    let nonce = provider.get_transaction_count(receiver).latest().await.expect("nonce");
    let first_block = harness.head().await + 1;

    // No blocks for a while: the first sender's close is mined by hand, the receiver's
    // dispute of it waits in the pool.
    harness.set_automine(false).await;
    let close = harness
        .contract(SENDER)
        .uncooperativeClose(first.receiver, first.open_block_number, U192::from(10u64))
        .send()
        .await
        .expect("sent");
    harness.mine(1).await;
    assert!(close.get_receipt().await.expect("mined").status(), "uncooperativeClose reverted");
    eventually("the dispute waits in the pool", || async {
        harness.pooled_fee(receiver, nonce).await.is_some()
    })
    .await;
    eventually("the health reports the dispute not mined", || async {
        manager.health().last_error.is_some_and(|error| error.contains("not mined"))
    })
    .await;

    // Past the receipt timeout, the dispute is still raised at its nonce.
    let fee_at_timeout = harness.pooled_fee(receiver, nonce).await.expect("still in the pool");
    eventually("the dispute is sent again at its nonce after the receipt timeout", || async {
        harness.pooled_fee(receiver, nonce).await.is_some_and(|fee| fee > fee_at_timeout)
    })
    .await;

    // The second sender cheats; blocks come again.
    let close = harness
        .contract(OTHER_SENDER)
        .uncooperativeClose(second.receiver, second.open_block_number, U192::from(10u64))
        .send()
        .await
        .expect("sent");
    harness.mine(1).await;
    let close_block = close.get_receipt().await.expect("mined").block_number.expect("a block");
    harness.set_automine(true).await;
    eventually("both disputes land", || async {
        harness.synced(&manager).await;
        state(&manager, first) == Some(ChannelState::Settled)
            && state(&manager, second) == Some(ChannelState::Settled)
    })
    .await;
    assert!(harness.head().await < close_block + 500, "within the challenge period");
    assert_eq!(harness.balance_of(receiver).await - before, U256::from(60u64), "both paid in full");

    // One transaction per dispute, both succeeded; nothing left in the pool.
    let mined = provider.get_transaction_count(receiver).latest().await.expect("nonce");
    let pending = provider.get_transaction_count(receiver).pending().await.expect("nonce");
    assert_eq!((mined, pending), (nonce + 2, nonce + 2), "the receiver sent exactly the two disputes");
    let mut statuses = Vec::new();
    for block in first_block..=harness.head().await {
        let receipts = provider.get_block_receipts(block.into()).await.expect("query").expect("block");
        statuses.extend(
            receipts.iter().filter(|receipt| receipt.from == receiver).map(|receipt| receipt.status()),
        );
    }
    assert_eq!(statuses, [true, true], "the receiver's transactions and whether each succeeded");
    tasks.shutdown().await;
}

/// The receiver restarts while its dispute waits in the pool. The restarted receiver must
/// send the dispute again at that nonce (nothing else raises the one left there) rather than
/// at the next one, behind it: a second close of the channel, which would revert once the
/// first is mined.
async fn a_dispute_pending_across_a_restart_is_replaced_at_its_nonce(harness: Harness) {
    let mut config = harness.config();
    config.resend_unmined_after_polls = 10;
    let (manager, tasks) = harness.start(config).await;
    let channel = harness.open_channel(SENDER, 100).await;
    harness.synced(&manager).await;
    harness.pay_up_to(&manager, SENDER, channel, 0, 30).await;
    let receiver = channel.receiver;
    let before = harness.balance_of(receiver).await;
    let provider = harness.chain.provider(harness.chain.key(0));
    let nonce = provider.get_transaction_count(receiver).latest().await.expect("nonce");
    let first_block = harness.head().await + 1;

    harness.set_automine(false).await;
    let close = harness
        .contract(SENDER)
        .uncooperativeClose(channel.receiver, channel.open_block_number, U192::from(10u64))
        .send()
        .await
        .expect("sent");
    harness.mine(1).await;
    assert!(close.get_receipt().await.expect("mined").status(), "uncooperativeClose reverted");
    eventually("the dispute waits in the pool", || async {
        harness.pooled_fee(receiver, nonce).await.is_some()
    })
    .await;
    tasks.shutdown().await;
    drop(manager);
    let fee_before_restart = harness.pooled_fee(receiver, nonce).await.expect("still in the pool");

    let mut config = harness.config();
    config.resend_unmined_after_polls = 10;
    let (manager, tasks) = harness.start(config).await;
    eventually("the restarted receiver replaces the dispute at its nonce", || async {
        harness.pooled_fee(receiver, nonce).await.is_some_and(|fee| fee > fee_before_restart)
    })
    .await;
    harness.mine(1).await;
    harness.set_automine(true).await;
    eventually("the dispute lands", || async {
        harness.synced(&manager).await;
        state(&manager, channel) == Some(ChannelState::Settled)
    })
    .await;
    assert_eq!(harness.balance_of(receiver).await - before, U256::from(30u64), "paid in full");
    let mined = provider.get_transaction_count(receiver).latest().await.expect("nonce");
    let pending = provider.get_transaction_count(receiver).pending().await.expect("nonce");
    assert_eq!((mined, pending), (nonce + 1, nonce + 1), "one transaction, nothing left in the pool");
    let mut statuses = Vec::new();
    for block in first_block..=harness.head().await {
        let receipts = provider.get_block_receipts(block.into()).await.expect("query").expect("block");
        statuses.extend(
            receipts.iter().filter(|receipt| receipt.from == receiver).map(|receipt| receipt.status()),
        );
    }
    assert_eq!(statuses, [true], "the receiver's transactions and whether each succeeded");
    tasks.shutdown().await;
}

async fn close_all_closes_paid_channels_and_leaves_unpaid_ones(harness: Harness) {
    let mut config = harness.config();
    config.on_chain_duties = false;
    let (manager, tasks) = harness.start(config).await;
    let paid = harness.open_channel(SENDER, 100).await;
    let unpaid = harness.open_channel(OTHER_SENDER, 100).await;
    harness.synced(&manager).await;
    harness.pay_up_to(&manager, SENDER, paid, 0, 40).await;
    let before = harness.balance_of(paid.receiver).await;

    let report = tasks.duties().close_all().await;
    assert_eq!(report.len(), 2, "{report:?}");
    let line = |id: ChannelId| report.iter().find(|line| line.channel == id).expect("reported");
    assert!(matches!(line(paid).outcome, CloseOutcome::Closed { .. }), "{report:?}");
    assert_eq!(line(paid).balance, U192::from(40u64));
    assert_eq!(line(unpaid).outcome, CloseOutcome::NothingToCollect);

    let refused = manager.accept_payment(&harness.payment(SENDER, paid, 50), U192::from(PRICE)).await;
    assert!(
        matches!(refused, Err(PaymentRejected::Refused { refusal: Refusal::NonexistingChannel, .. })),
        "{refused:?}"
    );
    harness.synced(&manager).await;
    assert_eq!(state(&manager, paid), Some(ChannelState::Settled));
    assert_eq!(state(&manager, unpaid), Some(ChannelState::Open), "left to its sender");
    assert_eq!(harness.balance_of(paid.receiver).await - before, U256::from(40u64));
    assert_eq!(harness.balance_of(paid.sender).await, U256::from(60u64));
    harness.pay_up_to(&manager, OTHER_SENDER, unpaid, 0, 10).await;
    tasks.shutdown().await;
}

#[tokio::test]
async fn the_gas_price_option_applies_to_the_receivers_transactions() {
    const GAS_PRICE: u128 = 3_000_000_000;
    let harness = Harness::new(false).await;
    let mut config = harness.config();
    config.on_chain_duties = false;
    config.gas_price = Some(GAS_PRICE);
    let (manager, tasks) = harness.start(config).await;
    let channel = harness.open_channel(SENDER, 100).await;
    harness.synced(&manager).await;
    harness.pay_up_to(&manager, SENDER, channel, 0, 20).await;

    let withdrawal = tasks
        .duties()
        .withdraw(channel.sender, channel.open_block_number, U192::ZERO)
        .await
        .expect("withdrawn");
    let WithdrawOutcome::Withdrawn { transaction, .. } = withdrawal.outcome else { panic!("{withdrawal:?}") };
    let provider = harness.chain.provider(harness.chain.key(0));
    let sent = provider.get_transaction_by_hash(transaction).await.expect("query").expect("known");
    assert_eq!(sent.inner.signer(), channel.receiver);
    assert_eq!(sent.inner.gas_price(), Some(GAS_PRICE), "a legacy transaction at --gas-price");
    let receipt = provider.get_transaction_receipt(transaction).await.expect("query").expect("mined");
    assert_eq!(receipt.effective_gas_price, GAS_PRICE);

    let report = tasks.duties().close_all().await;
    let CloseOutcome::Closed { transaction } = report[0].outcome else { panic!("{report:?}") };
    let receipt = provider.get_transaction_receipt(transaction).await.expect("query").expect("mined");
    assert_eq!(receipt.effective_gas_price, GAS_PRICE, "closes too");
    tasks.shutdown().await;
}

async fn a_close_signed_channel_the_sender_leaves_is_closed_by_the_receiver(harness: Harness) {
    let mut config = harness.config();
    config.close_signed_timeout = Some(5);
    let (manager, tasks) = harness.start(config).await;
    let channel = harness.open_channel(SENDER, 100).await;
    harness.synced(&manager).await;
    harness.pay_up_to(&manager, SENDER, channel, 0, 30).await;
    manager.sign_cooperative_close(&harness.close_request(channel, 30)).await.expect("closing signature");
    let before = harness.balance_of(channel.receiver).await;

    // Within the timeout the sender may still close: the receiver waits.
    harness.mine(3).await;
    harness.synced(&manager).await;
    harness.synced(&manager).await;
    assert_eq!(state(&manager, channel), Some(ChannelState::CloseSigned));

    harness.mine(3).await;
    eventually("the receiver closed the channel itself", || async {
        harness.synced(&manager).await;
        state(&manager, channel) == Some(ChannelState::Settled)
    })
    .await;
    assert_eq!(harness.balance_of(channel.receiver).await - before, U256::from(30u64));
    assert_eq!(harness.balance_of(channel.sender).await, U256::from(70u64));
    tasks.shutdown().await;
}

/// The operator's routes on the running server: bearer token required, per-channel answers.
async fn the_operator_api_withdraws_and_closes_all(harness: Harness) {
    use axum::{body::Body, http::Request};
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    use uraiden_server::{app, ApiToken, AppState, Gateway, HttpOptions};

    let mut config = harness.config();
    config.on_chain_duties = false;
    let (manager, tasks) = harness.start(config).await;
    let channel = harness.open_channel(SENDER, 100).await;
    let unpaid = harness.open_channel(OTHER_SENDER, 100).await;
    harness.synced(&manager).await;
    harness.pay_up_to(&manager, SENDER, channel, 0, 30).await;

    let gateway = Gateway::new(
        manager.receiver(),
        manager.contract(),
        manager.token(),
        harness.chain.deployment.chain_id,
    );
    let options = HttpOptions { api_token: ApiToken::new("operator-token"), ..HttpOptions::default() };
    let router = app(AppState::new(std::sync::Arc::new(tasks.duties().clone()), gateway, options));
    let post = |path: String, token: Option<&str>, body: &'static str| {
        let mut request = Request::builder().method("POST").uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request.body(Body::from(body)).expect("request");
        let router = router.clone();
        async move {
            let response = router.oneshot(request).await.expect("response");
            let status = response.status();
            let bytes = response.into_body().collect().await.expect("body").to_bytes();
            (status.as_u16(), serde_json::from_slice::<serde_json::Value>(&bytes).expect("JSON"))
        }
    };

    let one = format!("/api/1/channels/{}/{}/withdraw", channel.sender, channel.open_block_number);
    let (status, _) = post(one.clone(), None, "").await;
    assert_eq!(status, 401, "operator only");
    let (status, body) = post(one.clone(), Some("operator-token"), "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["status"].as_str(), body["amount"].as_str()), (Some("withdrawn"), Some("30")), "{body}");
    harness.pay_up_to(&manager, SENDER, channel, 30, 50).await;
    let (status, body) =
        post("/api/1/withdraw".into(), Some("operator-token"), r#"{"min_amount": "30"}"#).await;
    assert_eq!((status, body["withdrawals"].as_array().map(Vec::len)), (200, Some(0)), "{body}");
    let (status, body) = post("/api/1/withdraw".into(), Some("operator-token"), "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["withdrawals"][0]["amount"], "20", "{body}");
    let unknown = format!("/api/1/channels/{}/1/withdraw", channel.sender);
    assert_eq!(post(unknown, Some("operator-token"), "").await.0, 404);

    harness.pay_up_to(&manager, SENDER, channel, 50, 60).await;
    let (status, body) = post("/api/1/close-all".into(), Some("operator-token"), "").await;
    assert_eq!(status, 200, "{body}");
    let lines = body["channels"].as_array().expect("channels");
    let line = |sender: Address| {
        lines.iter().find(|line| line["sender_address"] == sender.to_checksum(None)).expect("reported")
    };
    assert_eq!(
        (line(channel.sender)["status"].as_str(), line(channel.sender)["balance"].as_str()),
        (Some("closed"), Some("60"))
    );
    assert_eq!(line(unpaid.sender)["status"], "nothing_to_collect");
    harness.synced(&manager).await;
    assert_eq!(state(&manager, channel), Some(ChannelState::Settled));
    assert_eq!(harness.balance_of(channel.sender).await, U256::from(40u64));
    let (status, body) = post(one, Some("operator-token"), "").await;
    assert_eq!(status, 409, "settled: {body}");
    tasks.shutdown().await;
}

/// `uraiden-server withdraw` / `close-all` work on the state file: refused (pointing at the
/// API) while a server holds it, done once it is stopped.
#[tokio::test]
async fn the_cli_commands_wait_for_the_state_file_and_then_collect() {
    use clap::Parser;
    use std::os::unix::fs::PermissionsExt;
    use uraiden_server::Cli;

    let harness = Harness::new(false).await;
    let mut config = harness.config();
    config.on_chain_duties = false;
    let (manager, tasks) = harness.start(config).await;
    let channel = harness.open_channel(SENDER, 100).await;
    harness.synced(&manager).await;
    harness.pay_up_to(&manager, SENDER, channel, 0, 30).await;

    let key_file = harness.dir.path().join("receiver.key");
    std::fs::write(&key_file, harness.chain.key(RECEIVER).to_bytes().to_string()).expect("key file");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let command = |subcommand: &[&str]| {
        let mut args = vec![
            "uraiden-server".to_owned(),
            "--rpc-provider".into(),
            harness.chain.anvil.endpoint(),
            "--private-key".into(),
            key_file.display().to_string(),
            "--channel-manager-address".into(),
            harness.chain.deployment.channel_manager.to_string(),
            "--state-file".into(),
            harness.state_file().display().to_string(),
            "--poll-interval-ms".into(),
            "50".into(),
        ];
        args.extend(subcommand.iter().map(|arg| (*arg).to_owned()));
        Cli::try_parse_from(args).expect("valid command line")
    };

    let error = command(&["withdraw", "--all"]).run().await.expect_err("the server holds the file");
    let message = format!("{error:#}");
    assert!(message.contains("in use") && message.contains("POST /api/1/withdraw"), "{message}");

    tasks.shutdown().await;
    drop(manager);
    command(&["withdraw", "--all"]).run().await.expect("withdraws");
    assert_eq!(harness.withdrawn_on_chain(channel).await, U192::from(30u64));
    command(&["close-all"]).run().await.expect("closes");
    assert_eq!(harness.balance_of(channel.sender).await, U256::from(70u64));
}
