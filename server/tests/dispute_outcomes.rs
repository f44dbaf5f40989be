//! How the receiver answers a sender's uncooperative close it cannot beat, on a real anvil
//! with the real contracts and a real SQLite state file, through the composition root.

// The harness below panics as the failure report, like the tests themselves.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use alloy::{primitives::U256, providers::Provider};
use uraiden_e2e::TestChain;
use uraiden_protocol::{ChannelId, U192};
use uraiden_server::{ChannelManager, ChannelManagerConfig, ChannelState, Receiver, ReceiverConfig};

const RECEIVER: usize = 1;
const SENDER: usize = 2;
const PRICE: u64 = 10;
const WAIT: Duration = Duration::from_secs(30);

/// A reorg took away a top-up the receiver's last proofs (up to 120) were paid with; the
/// best proof it keeps within the deposit left (100) is 80. The sender then closes claiming
/// 90: more than anything the receiver can prove, so its own settlement pays the receiver
/// more than a dispute could. That is a normal outcome: the receiver sends nothing, the
/// channel stays `closing` (not `close_pending`, which would stop it as a failure to retry),
/// and the health reports no error for it. The sender's settlement pays the receiver 90.
#[tokio::test]
async fn a_close_claiming_more_than_every_kept_proof_is_left_to_the_sender_without_an_error() {
    let chain = TestChain::start().await.expect("anvil starts and the contracts deploy");
    let anvil = chain.provider(chain.key(0));
    let dir = tempfile::tempdir().unwrap();
    let mut config = ChannelManagerConfig::new(
        chain.provider(chain.key(RECEIVER)),
        chain.signing_key(RECEIVER),
        chain.deployment.channel_manager,
        dir.path().join("receiver.db"),
        chain.deployment.deploy_block,
    );
    config.confirmations = 2;
    config.poll_interval = Duration::from_millis(20);
    config.balance_check_interval = Duration::from_millis(100);
    let receiver = Receiver::start(ReceiverConfig::new(config)).await.expect("the receiver starts");
    let manager = receiver.manager().expect("a receiver on a chain").clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(receiver.run(listener, async move {
        let _ = stopped.await;
    }));

    chain.transfer_tokens(chain.address(SENDER), 100).await;
    let channel = chain.open_channel(SENDER, chain.address(RECEIVER), 100, None).await;
    chain.mine(1).await;
    synced(&chain, &manager).await;
    pay_up_to(&chain, &manager, channel, 0, 80).await;
    let mark: U256 = anvil.raw_request("evm_snapshot".into(), ()).await.unwrap();

    // Fork A: a top-up of 50, confirmed, paid into up to 120.
    chain.transfer_tokens(chain.address(SENDER), 50).await;
    chain.top_up(SENDER, channel, 50).await;
    chain.mine(3).await;
    synced(&chain, &manager).await;
    pay_up_to(&chain, &manager, channel, 80, 120).await;
    let fork_a_head = chain.head().await;

    // Fork B, longer: no top-up. The sender closes claiming 90.
    let reverted: bool = anvil.raw_request("evm_revert".into(), [mark]).await.unwrap();
    assert!(reverted, "evm_revert");
    chain.mine(fork_a_head - chain.head().await + 2).await;
    synced(&chain, &manager).await;
    let before = chain.token_balance(channel.receiver).await;
    let close_block = chain.uncooperative_close(SENDER, channel, 90).await;
    chain.mine(2).await;
    synced(&chain, &manager).await;
    let record = manager.channel(channel.sender, channel.open_block_number).expect("known");
    assert_eq!((record.deposit, record.balance), (U192::from(100u64), U192::from(120u64)));
    let error_before = manager.health().last_error;

    // Many duty rounds (50 polls) pass: the receiver takes this as the normal outcome.
    let decided = Instant::now() + Duration::from_secs(1);
    while Instant::now() < decided {
        assert_eq!(state(&manager, channel), Some(ChannelState::Closing), "no failure to retry");
        assert_eq!(manager.health().last_error, error_before, "no error reported for it");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let receiver_nonce = anvil.get_transaction_count(channel.receiver).await.unwrap();
    assert_eq!(receiver_nonce, 0, "the receiver sent nothing");

    // The sender settles after the challenge period and pays the receiver its claim.
    let settle_block = chain
        .channel_manager(0)
        .getChannelInfo(channel.sender, channel.receiver, channel.open_block_number)
        .call()
        .await
        .unwrap()
        .settleBlockNumber;
    chain.mine(u64::from(settle_block) - close_block + 1).await;
    let settled = chain
        .channel_manager(SENDER)
        .settle(channel.receiver, channel.open_block_number)
        .send()
        .await
        .expect("sent")
        .get_receipt()
        .await
        .expect("mined");
    assert!(settled.status(), "settle reverted");
    chain.mine(2).await;
    synced(&chain, &manager).await;
    assert_eq!(state(&manager, channel), Some(ChannelState::Settled));
    assert_eq!(chain.token_balance(channel.receiver).await - before, U256::from(90u64));
    let _ = stop.send(());
    serving.await.unwrap().unwrap();
}

fn state(manager: &ChannelManager, channel: ChannelId) -> Option<ChannelState> {
    manager.channel(channel.sender, channel.open_block_number).map(|c| c.state)
}

async fn synced(chain: &TestChain, manager: &ChannelManager) {
    let head = chain.head().await;
    assert!(manager.wait_for_block(head, WAIT).await, "the receiver did not reach block {head}");
}

/// Pays `PRICE` at a time up to `balance`, starting after `from`.
async fn pay_up_to(chain: &TestChain, manager: &ChannelManager, channel: ChannelId, from: u64, balance: u64) {
    let key = chain.signing_key(SENDER);
    for next in (from + PRICE..=balance).step_by(PRICE as usize) {
        let payment = uraiden_protocol::PaymentHeaders {
            payment: Some(U192::from(PRICE)),
            ..chain.payment(&key, channel, next)
        };
        manager.accept_payment(&payment, U192::from(PRICE)).await.expect("payment accepted");
    }
}
