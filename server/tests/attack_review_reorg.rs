//! Reorg attacks found by review (real anvil, real channel manager): a reorg that takes away a
//! top-up the receiver was paid with.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use alloy::{primitives::U256, providers::Provider};
use tempfile::TempDir;
use uraiden_e2e::TestChain;
use uraiden_protocol::{ChannelId, PaymentHeaders, Refusal, U192};
use uraiden_server::channels::{ChannelManager, ChannelManagerConfig, PaymentRejected};

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

    // The sender closes claiming 0 and settles after the challenge period.
    chain.uncooperative_close(SENDER, channel, 0).await;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
