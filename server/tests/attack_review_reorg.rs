//! Reorg attacks found by review (real anvil, real channel manager): a reorg that takes away a
//! top-up the receiver was paid with, and one that drops the receiver's dispute.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use alloy::{primitives::U256, providers::Provider};
use tempfile::TempDir;
use uraiden_e2e::TestChain;
use uraiden_protocol::{ChannelId, PaymentHeaders, Refusal, U192};
use uraiden_server::{ChannelManager, ChannelManagerConfig, PaymentRejected};

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

/// A top-up that a reorg removes (deeper than the confirmations: the case the issue says only
/// more confirmations prevent, for the payments made *with* the top-up). The receiver's last
/// accepted proof is now above the channel's deposit, which the contract refuses
/// (`BalanceExceedsDeposit`). When the sender closes at 0, the receiver must still dispute
/// with the best proof it accepted within the deposit still on chain (50), losing only what
/// the vanished top-up paid. Meanwhile the channel takes no payment until the sender tops up
/// again: no proof at or below the last accepted balance counts twice.
#[tokio::test]
async fn a_reorged_top_up_costs_the_receiver_the_whole_channel_not_just_the_top_up() {
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

    chain.transfer_tokens(chain.address(SENDER), 100).await;
    chain.approve(SENDER, 100).await;
    let receipt = chain
        .channel_manager(SENDER)
        .createChannel(chain.address(RECEIVER), U192::from(50u64))
        .send()
        .await
        .expect("sent")
        .get_receipt()
        .await
        .expect("mined");
    let open_block = u32::try_from(receipt.block_number.expect("mined")).expect("small");
    let channel = ChannelId::new(chain.address(SENDER), chain.address(RECEIVER), open_block);
    synced(&chain, &manager).await;
    // 50 paid from the deposit that no reorg touches.
    for balance in (10..=50).step_by(10) {
        manager.accept_payment(&payment(&chain, channel, balance), U192::from(PRICE)).await.expect("paid");
    }
    let mark: U256 = anvil.raw_request("evm_snapshot".into(), ()).await.expect("evm_snapshot");

    // Fork A: a top-up of 50, confirmed, and 50 more paid with it.
    chain.top_up(SENDER, channel, 50).await;
    chain.mine(1).await;
    synced(&chain, &manager).await;
    for balance in (60..=100).step_by(10) {
        manager.accept_payment(&payment(&chain, channel, balance), U192::from(PRICE)).await.expect("paid");
    }
    chain.mine(1).await;
    synced(&chain, &manager).await;
    let fork_a_head = chain.head().await;

    // Fork B, longer, without the top-up.
    let reverted: bool = anvil.raw_request("evm_revert".into(), [mark]).await.expect("evm_revert");
    assert!(reverted);
    chain.transfer_tokens(chain.address(STRANGER), 1).await;
    chain.mine(fork_a_head - chain.head().await + 2).await;
    synced(&chain, &manager).await;
    let seen = manager.channel(channel.sender, channel.open_block_number).expect("the channel survives");
    assert_eq!((seen.deposit, seen.balance), (U192::from(50u64), U192::from(100u64)), "deposit, last proof");
    for (balance, refusal) in [(60, Refusal::InvalidBalanceProof), (110, Refusal::InsufficientFunds)] {
        match manager.accept_payment(&payment(&chain, channel, balance), U192::from(PRICE)).await {
            Err(PaymentRejected::Refused { refusal: got }) => assert_eq!(got, refusal, "paying {balance}"),
            other => panic!("paying {balance} after the reorg: expected {refusal:?}, got {other:?}"),
        }
    }
    let receiver_before = chain.token_balance(chain.address(RECEIVER)).await;
    let sender_before = chain.token_balance(chain.address(SENDER)).await;

    // The sender closes claiming 0 and settles after the challenge period, unless the
    // receiver's dispute (awaited here, up to WAIT) settled the channel first.
    chain.uncooperative_close(SENDER, channel, 0).await;
    let receiver = chain.address(RECEIVER);
    holds_within(WAIT, || async { chain.token_balance(receiver).await > receiver_before }).await;
    let challenge_period: u32 =
        chain.channel_manager(0).challengePeriod().call().await.expect("challengePeriod");
    chain.mine(u64::from(challenge_period) + 2).await;
    // Reverts if the receiver already settled by disputing: then nothing is left to settle.
    if let Ok(pending) =
        chain.channel_manager(SENDER).settle(chain.address(RECEIVER), open_block).send().await
    {
        let _ = pending.get_receipt().await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = chain.token_balance(chain.address(RECEIVER)).await - receiver_before;
    let refunded = chain.token_balance(chain.address(SENDER)).await - sender_before;
    assert_eq!(received + refunded, U256::from(50u64), "the channel was settled on chain");
    tasks.shutdown().await;
    assert!(
        received >= U256::from(50u64),
        "the receiver accepted 50 from the deposit still on chain and got {received}: its last proof (100) \
         exceeds the deposit (50) after the top-up was reorged away"
    );
}

/// Polls `condition` every poll of the test's receivers until it holds or `within` passes;
/// returns whether it held.
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

/// The receiver's dispute of a low uncooperative close is mined, then a reorg drops it (a
/// fork that keeps the sender's close request but not the dispute). The close is still in its
/// challenge period: if the receiver waits for its usual resend delay (64 first retries, ~21
/// minutes at the default poll, more than a 500-block challenge period lasts on a chain with
/// 2 s blocks), the sender settles at its low claim. The receiver must see that the
/// block its dispute was mined in is confirmed without the settlement, and dispute again at
/// once. Confirmations 3 here, so that the dispute's settlement is never confirmed before the
/// reorg: `reorg.rs` has the case where it was (the rollback then changes the channel, and a
/// settled channel makes the duty loop forget the attempt anyway).
#[tokio::test]
async fn a_dispute_dropped_by_a_reorg_before_its_settlement_is_confirmed_is_sent_again_at_once() {
    // Polls of 50 ms: the old resend delay is 64 × 10 polls = 32 s; the new rule resends a few
    // polls after the fork passes the dispute's block.
    const POLL: Duration = Duration::from_millis(50);
    const WITHIN: Duration = Duration::from_secs(10);
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

    chain.transfer_tokens(chain.address(SENDER), 100).await;
    let channel = chain.open_channel(SENDER, chain.address(RECEIVER), 100, None).await;
    chain.mine(2).await;
    synced(&chain, &manager).await;
    for balance in (10..=50).step_by(10) {
        manager.accept_payment(&payment(&chain, channel, balance), U192::from(PRICE)).await.expect("paid");
    }
    let receiver_before = chain.token_balance(chain.address(RECEIVER)).await;
    let sender_before = chain.token_balance(chain.address(SENDER)).await;

    // The sender closes claiming 10; the receiver acts once the request is confirmed.
    chain.uncooperative_close(SENDER, channel, 10).await;
    let mark: U256 = anvil.raw_request("evm_snapshot".into(), ()).await.expect("evm_snapshot");
    chain.mine(2).await;
    let receiver = chain.address(RECEIVER);
    let disputed = || async { chain.token_balance(receiver).await > receiver_before };
    assert!(holds_within(WAIT, disputed).await, "the receiver did not dispute the first time");
    let fork_a_head = chain.head().await;

    // Fork B: the close request stays, the dispute is gone (and not sent again by the node).
    let reverted: bool = anvil.raw_request("evm_revert".into(), [mark]).await.expect("evm_revert");
    assert!(reverted);
    let _: serde_json::Value =
        anvil.raw_request("anvil_dropAllTransactions".into(), ()).await.expect("anvil_dropAllTransactions");
    assert_eq!(chain.token_balance(receiver).await, receiver_before, "fork B has no dispute");
    chain.transfer_tokens(chain.address(STRANGER), 1).await;
    chain.mine(fork_a_head + 3 - chain.head().await).await;
    synced(&chain, &manager).await;

    assert!(
        holds_within(WITHIN, disputed).await,
        "the receiver did not dispute again within {WITHIN:?} after a reorg dropped its dispute"
    );
    chain.mine(3).await;
    synced(&chain, &manager).await;
    tasks.shutdown().await;
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
