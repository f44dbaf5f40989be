//! Issue 9, third outside review: the best proof per deposit (store schema 3) under a reorg
//! that takes away two top-ups and puts a different, smaller one in their place, with a sender
//! who then asks for a cooperative close it cannot use and closes uncooperatively at 0.

use std::{
    path::PathBuf,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use alloy::{primitives::U256, providers::Provider};
use tempfile::TempDir;
use uraiden_e2e::TestChain;
use uraiden_protocol::{ChannelId, PaymentHeaders, SignedCloseRequest, U192};
use uraiden_server::{ChannelManager, ChannelManagerConfig, WithdrawOutcome};

const RECEIVER: usize = 1;
const SENDER: usize = 2;
const STRANGER: usize = 3;
const PRICE: u64 = 10;
const WAIT: Duration = Duration::from_secs(30);

async fn synced(chain: &TestChain, manager: &ChannelManager) {
    let head = chain.head().await;
    assert!(manager.wait_for_block(head, WAIT).await, "the manager did not reach block {head}");
}

fn payment(chain: &TestChain, channel: ChannelId, balance: u64) -> PaymentHeaders {
    PaymentHeaders {
        payment: Some(U192::from(PRICE)),
        ..chain.payment(&chain.signing_key(SENDER), channel, balance)
    }
}

async fn pay(chain: &TestChain, manager: &ChannelManager, channel: ChannelId, from: u64, to: u64) {
    for balance in (from..=to).step_by(usize::try_from(PRICE).expect("small")) {
        manager.accept_payment(&payment(chain, channel, balance), U192::from(PRICE)).await.expect("paid");
    }
}

async fn holds_within<F: std::future::Future<Output = bool>>(
    within: Duration,
    mut condition: impl FnMut() -> F,
) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if condition().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Deposit 50 paid to 50; fork A tops up 50 (paid to 80) and 50 more (paid to 140); fork B,
/// longer, has neither but a top-up of 30 instead: deposit 80 on chain, last proof 140. The
/// proof of 80 was accepted within fork A's deposit of 100, and is within fork B's 80 too:
/// the contract takes it. So:
/// - the operator's withdrawal is refused (the last proof is above the deposit), and sends
///   nothing that reverts on chain;
/// - a close request by the sender (at its last balance, 140) does not keep the receiver from
///   collecting: when the sender then closes uncooperatively at 0, the receiver disputes with
///   80, the best accepted proof within the deposit on chain, and is paid 80 (the whole
///   deposit), the sender nothing.
#[tokio::test]
async fn two_reorged_top_ups_replaced_by_another_still_pay_the_best_proof_within_the_new_deposit() {
    let chain = TestChain::start().await.expect("anvil starts and the contracts deploy");
    let dir: TempDir = tempfile::tempdir().expect("tempdir");
    let state_file: PathBuf = dir.path().join("receiver.db");
    let mut config = ChannelManagerConfig::new(
        chain.provider(chain.key(RECEIVER)),
        chain.signing_key(RECEIVER),
        chain.deployment.channel_manager,
        state_file,
        chain.deployment.deploy_block,
    );
    config.confirmations = 1;
    config.poll_interval = Duration::from_millis(20);
    config.balance_check_interval = Duration::from_millis(100);
    config.on_chain_duties = true;
    let (manager, tasks) = ChannelManager::start(config).await.expect("the channel manager starts");
    let anvil = chain.provider(chain.key(0));
    let receiver = chain.address(RECEIVER);

    chain.transfer_tokens(chain.address(SENDER), 300).await;
    let channel = chain.open_channel(SENDER, receiver, 50, None).await;
    chain.mine(1).await;
    synced(&chain, &manager).await;
    pay(&chain, &manager, channel, 10, 50).await;
    let mark: U256 = anvil.raw_request("evm_snapshot".into(), ()).await.expect("evm_snapshot");

    // Fork A: two top-ups, each confirmed and paid into.
    chain.top_up(SENDER, channel, 50).await;
    chain.mine(1).await;
    synced(&chain, &manager).await;
    pay(&chain, &manager, channel, 60, 80).await;
    chain.top_up(SENDER, channel, 50).await;
    chain.mine(1).await;
    synced(&chain, &manager).await;
    pay(&chain, &manager, channel, 90, 140).await;
    chain.mine(1).await;
    synced(&chain, &manager).await;
    let fork_a_head = chain.head().await;

    // Fork B, longer: another top-up, of 30.
    let reverted: bool = anvil.raw_request("evm_revert".into(), [mark]).await.expect("evm_revert");
    assert!(reverted);
    let _: serde_json::Value =
        anvil.raw_request("anvil_dropAllTransactions".into(), ()).await.expect("anvil_dropAllTransactions");
    chain.top_up(SENDER, channel, 30).await;
    chain.transfer_tokens(chain.address(STRANGER), 1).await;
    chain.mine((fork_a_head + 2).saturating_sub(chain.head().await)).await;
    synced(&chain, &manager).await;
    let seen = manager.channel(channel.sender, channel.open_block_number).expect("the channel survives");
    assert_eq!((seen.deposit, seen.balance), (U192::from(80u64), U192::from(140u64)), "deposit, last proof");

    // The operator's withdrawal: refused, not sent.
    let nonce_before = anvil.get_transaction_count(receiver).await.expect("nonce");
    let withdrawal = tasks.duties().withdraw(channel.sender, channel.open_block_number, U192::ZERO).await;
    assert!(
        !matches!(withdrawal, Ok(ref done) if matches!(done.outcome, WithdrawOutcome::Withdrawn { .. })),
        "a withdrawal of a proof above the deposit went through: {withdrawal:?}"
    );
    assert_eq!(
        anvil.get_transaction_count(receiver).await.expect("nonce"),
        nonce_before,
        "the refused withdrawal sent a transaction (gas spent on a revert): {withdrawal:?}"
    );

    // The sender asks for a cooperative close at its last balance (which it cannot use on
    // chain: 140 is above the deposit), then closes uncooperatively at 0.
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs() + 60;
    let request = SignedCloseRequest::sign(
        &chain.signing_key(SENDER),
        &chain.domain(),
        channel,
        U192::from(140u64),
        deadline,
    )
    .expect("signed");
    let _ = manager.sign_cooperative_close(&request).await;
    let receiver_before = chain.token_balance(receiver).await;
    let sender_before = chain.token_balance(chain.address(SENDER)).await;
    chain.uncooperative_close(SENDER, channel, 0).await;
    chain.mine(1).await;
    let disputed =
        holds_within(WAIT, || async { chain.token_balance(receiver).await > receiver_before }).await;
    let challenge_period: u32 =
        chain.channel_manager(0).challengePeriod().call().await.expect("challengePeriod");
    chain.mine(u64::from(challenge_period) + 2).await;
    if let Ok(pending) =
        chain.channel_manager(SENDER).settle(receiver, channel.open_block_number).send().await
    {
        let _ = pending.get_receipt().await;
    }
    let received = chain.token_balance(receiver).await - receiver_before;
    let refunded = chain.token_balance(chain.address(SENDER)).await - sender_before;
    tasks.shutdown().await;
    assert_eq!(received + refunded, U256::from(80u64), "the channel was settled on chain");
    assert!(disputed, "the receiver did not dispute the close at 0 within {WAIT:?}");
    assert_eq!(
        received,
        U256::from(80u64),
        "the receiver holds an accepted proof of 80, within the deposit of 80 on chain"
    );
}

/// The receiver's dispute of a low uncooperative close is dropped by a reorg, sent again, and
/// the one sent again is dropped by a second reorg (the close request stays in every fork).
/// The receiver must dispute a third time, and once the settlement is confirmed send nothing
/// more: no loop of closes that can only revert.
#[tokio::test]
async fn a_dispute_dropped_by_two_reorgs_in_a_row_is_sent_again_each_time_and_then_no_more() {
    const POLL: Duration = Duration::from_millis(50);
    let chain = TestChain::start().await.expect("anvil starts and the contracts deploy");
    let dir: TempDir = tempfile::tempdir().expect("tempdir");
    let mut config = ChannelManagerConfig::new(
        chain.provider(chain.key(RECEIVER)),
        chain.signing_key(RECEIVER),
        chain.deployment.channel_manager,
        dir.path().join("receiver.db"),
        chain.deployment.deploy_block,
    );
    config.confirmations = 3;
    config.poll_interval = POLL;
    config.balance_check_interval = Duration::from_millis(100);
    config.on_chain_duties = true;
    let (manager, tasks) = ChannelManager::start(config).await.expect("the channel manager starts");
    let anvil = chain.provider(chain.key(0));
    let receiver = chain.address(RECEIVER);

    chain.transfer_tokens(chain.address(SENDER), 100).await;
    let channel = chain.open_channel(SENDER, receiver, 100, None).await;
    chain.mine(2).await;
    synced(&chain, &manager).await;
    pay(&chain, &manager, channel, 10, 50).await;
    let receiver_before = chain.token_balance(receiver).await;
    let sender_before = chain.token_balance(chain.address(SENDER)).await;

    chain.uncooperative_close(SENDER, channel, 10).await;
    let mut mark: U256 = anvil.raw_request("evm_snapshot".into(), ()).await.expect("evm_snapshot");
    chain.mine(2).await;
    let disputed = || async { chain.token_balance(receiver).await > receiver_before };
    assert!(holds_within(WAIT, disputed).await, "the receiver did not dispute the first time");

    for reorg in 1..=2 {
        let fork_head = chain.head().await;
        let reverted: bool = anvil.raw_request("evm_revert".into(), [mark]).await.expect("evm_revert");
        assert!(reverted);
        mark = anvil.raw_request("evm_snapshot".into(), ()).await.expect("evm_snapshot");
        let _: serde_json::Value = anvil
            .raw_request("anvil_dropAllTransactions".into(), ())
            .await
            .expect("anvil_dropAllTransactions");
        assert_eq!(
            chain.token_balance(receiver).await,
            receiver_before,
            "reorg {reorg}: no dispute in the fork"
        );
        chain.transfer_tokens(chain.address(STRANGER), 1).await;
        chain.mine((fork_head + 3).saturating_sub(chain.head().await)).await;
        synced(&chain, &manager).await;
        assert!(
            holds_within(WAIT, disputed).await,
            "the receiver did not dispute again after reorg {reorg} dropped its dispute"
        );
    }
    chain.mine(4).await;
    synced(&chain, &manager).await;
    // Settled and confirmed: the receiver sends nothing more (40 polls).
    let sent = anvil.get_transaction_count(receiver).pending().await.expect("nonce");
    tokio::time::sleep(POLL * 40).await;
    let sent_after = anvil.get_transaction_count(receiver).pending().await.expect("nonce");
    tasks.shutdown().await;
    assert_eq!(sent_after, sent, "the receiver kept sending transactions after the settlement");
    assert_eq!(
        chain.token_balance(receiver).await - receiver_before,
        U256::from(50u64),
        "the receiver's due"
    );
    assert_eq!(
        chain.token_balance(chain.address(SENDER)).await - sender_before,
        U256::from(50u64),
        "the refund"
    );
}
