//! The channel manager against a real anvil with the real contracts: channels opened,
//! topped up, closed and reorganised on chain; payments accepted, refused and persisted.

use std::{
    os::unix::fs::PermissionsExt,
    time::{Duration, Instant},
};

use alloy::{primitives::U256, providers::Provider};
use uraiden_protocol::{
    request_deadline, Address, ChannelId, LocalSigningKey, Refusal, SignedStatusRequest, B256, U192,
};
use uraiden_server::{
    ChannelManager, ChannelState, CloseRefused, PaymentRejected, StartError, StatusRefused, StoreError,
};

mod manager_support;

use manager_support::*;

#[tokio::test]
async fn payments_are_accepted_in_sequence_once_the_channel_is_confirmed() {
    let harness = Harness::new().await;
    let (manager, tasks) = harness.start(2, false).await;
    let sender = harness.key(SENDER);
    let channel = harness.open_channel(1_000, None).await;
    harness.synced(&manager).await;

    // Mined but with 1 of 2 confirmations.
    assert_eq!(
        refusal(pay(&manager, &harness.payment(&sender, channel, 10)).await),
        Refusal::InsufficientConfirmations
    );
    let snapshot =
        manager.channel(channel.sender, channel.open_block_number).expect("listed while unconfirmed");
    assert!(!snapshot.confirmed);

    harness.mine(1).await;
    harness.synced(&manager).await;
    for balance in [10, 20, 30] {
        assert_eq!(pay(&manager, &harness.payment(&sender, channel, balance)).await, Ok(U192::from(balance)));
    }
    let snapshot = manager.channel(channel.sender, channel.open_block_number).expect("known");
    assert!(snapshot.confirmed);
    assert_eq!(snapshot.state, ChannelState::Open);
    assert_eq!(snapshot.deposit, U192::from(1_000u64));
    assert_eq!(snapshot.balance, U192::from(30u64));
    assert_eq!(snapshot.balance_signature, Some(harness.sign(&sender, channel, 30)));
    assert_eq!(snapshot.signer, channel.sender);

    let stats = manager.stats();
    assert_eq!((stats.open_channels, stats.unique_senders), (1, 1));
    assert_eq!(stats.deposit_sum, U256::from(1_000u64));
    assert_eq!(stats.balance_sum, U256::from(30u64));
    let health = manager.health();
    assert!(health.node_reachable && health.caught_up && !health.reorg_beyond_confirmations, "{health:?}");
    eventually("the balance watcher ran", || async { manager.health().receiver_eth_balance.is_some() }).await;
    assert!(!manager.health().receiver_eth_low);
    tasks.shutdown().await;
}

#[tokio::test]
async fn every_refusal_names_its_reason() {
    let harness = Harness::new().await;
    let (manager, tasks) = harness.start(1, false).await;
    let sender = harness.key(SENDER);
    let stranger = harness.key(STRANGER);
    let channel = harness.open_channel(100, None).await;
    harness.synced(&manager).await;

    // Unknown channel: another open block.
    let unknown = ChannelId::new(channel.sender, channel.receiver, channel.open_block_number + 1);
    let result = pay(&manager, &harness.payment(&sender, unknown, 10)).await;
    assert_eq!(result, Err(PaymentRejected::Refused { refusal: Refusal::NonexistingChannel }));

    // Wrong signer.
    let result = pay(&manager, &harness.payment(&stranger, channel, 10)).await;
    assert_eq!(result, Err(PaymentRejected::Refused { refusal: Refusal::InvalidBalanceProof }));

    assert_eq!(pay(&manager, &harness.payment(&sender, channel, 10)).await, Ok(U192::from(10u64)));

    // Not increasing: refused; the last proof only for a fresh status request (the sender's).
    assert_eq!(
        refusal(pay(&manager, &harness.payment(&sender, channel, 10)).await),
        Refusal::InvalidBalanceProof
    );
    let status = SignedStatusRequest::sign(&sender, &harness.domain, channel, request_deadline(unix_now()))
        .expect("signs");
    let last = manager.last_proof(&status).await.expect("the sender may see its last proof");
    assert_eq!(last.balance, U192::from(10u64));
    assert_eq!(last.signature, Some(harness.sign(&sender, channel, 10)));
    assert_eq!((last.sender, last.open_block), (channel.sender, channel.open_block_number));
    let by_stranger =
        SignedStatusRequest::sign(&stranger, &harness.domain, channel, request_deadline(unix_now()))
            .expect("signs");
    assert!(matches!(manager.last_proof(&by_stranger).await, Err(StatusRefused::NotAuthorized(_))));
    assert_eq!(
        refusal(pay(&manager, &harness.payment(&sender, channel, 5)).await),
        Refusal::InvalidBalanceProof
    );
    // Over the deposit (100), even with the right increment from a higher price's view.
    assert_eq!(
        refusal(
            manager
                .accept_payment(&harness.payment(&sender, channel, 110), U192::from(100u64))
                .await
                .map(|a| a.balance)
        ),
        Refusal::InsufficientFunds
    );
    // Wrong increment.
    assert_eq!(refusal(pay(&manager, &harness.payment(&sender, channel, 25)).await), Refusal::InvalidAmount);

    // Another receiver or contract: not a refusal but a wrong gateway.
    let mut elsewhere = harness.payment(&sender, channel, 20);
    elsewhere.contract = Address::repeat_byte(0x11);
    assert!(matches!(pay(&manager, &elsewhere).await, Err(PaymentRejected::WrongGateway(_))));

    // The sender requests an uncooperative close: the channel takes no more payments.
    let close_block = harness.chain.uncooperative_close(SENDER, channel, 10).await;
    harness.synced(&manager).await;
    assert_eq!(
        refusal(pay(&manager, &harness.payment(&sender, channel, 20)).await),
        Refusal::NonexistingChannel
    );
    let snapshot = manager.channel(channel.sender, channel.open_block_number).expect("known");
    assert_eq!(snapshot.state, ChannelState::Closing);
    let request = snapshot.close_request.expect("close request recorded");
    assert_eq!(request.balance, U192::from(10u64));
    assert_eq!(request.settle_block, close_block + 500);
    assert_eq!(manager.stats().pending_channels, 1);
    tasks.shutdown().await;
}

#[tokio::test]
async fn a_delegated_signer_pays_and_so_may_the_sender() {
    let harness = Harness::new().await;
    let (manager, tasks) = harness.start(1, false).await;
    let session = LocalSigningKey::from_bytes(&B256::repeat_byte(0x42)).expect("key");
    let channel = harness.open_channel(100, Some(session.address())).await;
    harness.synced(&manager).await;

    assert_eq!(pay(&manager, &harness.payment(&session, channel, 10)).await, Ok(U192::from(10u64)));
    assert_eq!(
        pay(&manager, &harness.payment(&harness.key(SENDER), channel, 20)).await,
        Ok(U192::from(20u64))
    );
    assert_eq!(
        manager.channel(channel.sender, channel.open_block_number).map(|c| c.signer),
        Some(session.address())
    );
    tasks.shutdown().await;
}

#[tokio::test]
async fn a_top_up_counts_once_confirmed() {
    let harness = Harness::new().await;
    let (manager, tasks) = harness.start(2, false).await;
    let sender = harness.key(SENDER);
    let channel = harness.open_channel(20, None).await;
    harness.mine(1).await;
    harness.synced(&manager).await;
    assert_eq!(pay(&manager, &harness.payment(&sender, channel, 10)).await, Ok(U192::from(10u64)));
    assert_eq!(pay(&manager, &harness.payment(&sender, channel, 20)).await, Ok(U192::from(20u64)));
    assert_eq!(
        refusal(pay(&manager, &harness.payment(&sender, channel, 30)).await),
        Refusal::InsufficientFunds
    );

    harness.top_up(channel, 50).await;
    harness.synced(&manager).await;
    let snapshot = manager.channel(channel.sender, channel.open_block_number).expect("known");
    assert_eq!((snapshot.deposit, snapshot.unconfirmed_top_up), (U192::from(20u64), U192::from(50u64)));
    assert_eq!(
        refusal(pay(&manager, &harness.payment(&sender, channel, 30)).await),
        Refusal::InsufficientConfirmations
    );

    harness.mine(1).await;
    harness.synced(&manager).await;
    let snapshot = manager.channel(channel.sender, channel.open_block_number).expect("known");
    assert_eq!((snapshot.deposit, snapshot.unconfirmed_top_up), (U192::from(70u64), U192::ZERO));
    assert_eq!(pay(&manager, &harness.payment(&sender, channel, 30)).await, Ok(U192::from(30u64)));
    tasks.shutdown().await;
}

#[tokio::test]
async fn concurrent_payments_for_the_same_balance_accept_exactly_one() {
    let harness = Harness::new().await;
    let (manager, tasks) = harness.start(1, false).await;
    let sender = harness.key(SENDER);
    let channel = harness.open_channel(1_000_000, None).await;
    harness.synced(&manager).await;

    let payment = harness.payment(&sender, channel, 10);
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (manager, payment) = (manager.clone(), payment.clone());
        racers.spawn(async move { pay(&manager, &payment).await });
    }
    let results = racers.join_all().await;
    let accepted = results.iter().filter(|result| result.is_ok()).count();
    assert_eq!(accepted, 1, "{results:?}");
    for result in results.into_iter().filter(Result::is_err) {
        assert!(
            matches!(refusal(result), Refusal::InvalidBalanceProof | Refusal::InvalidAmount),
            "a losing racer gets InvalidBalanceProof or InvalidAmount"
        );
    }

    // Per-payment cost of the hot path, fsync included: sequential payments.
    let payments: Vec<_> = (2..=201).map(|step| harness.payment(&sender, channel, step * PRICE)).collect();
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    for payment in &payments {
        let one = Instant::now();
        pay(&manager, payment).await.expect("accepted");
        slowest = slowest.max(one.elapsed());
    }
    let mean = started.elapsed() / payments.len() as u32;
    eprintln!(
        "accept_payment with durable commit: mean {mean:?}, slowest {slowest:?} over {} payments",
        payments.len()
    );
    tasks.shutdown().await;
}

/// Attack (issue 13): a lone payment is committed on the thread that accepted it when the
/// payment writer is idle, the others through the writer. Racing each balance from two worker
/// threads, round after round, mixes both paths (the first racer commits in place, racers
/// that find the store held queue) with the chain follower taking the store every 20 ms: each
/// balance is still taken exactly once, and what memory says is what the file says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_balance_raced_between_the_accepting_thread_and_the_writer_is_taken_once() {
    const ROUNDS: u64 = 100;
    let harness = Harness::new().await;
    let (manager, tasks) = harness.start(1, false).await;
    let sender = harness.key(SENDER);
    let channel = harness.open_channel(1_000_000, None).await;
    harness.synced(&manager).await;

    for round in 1..=ROUNDS {
        let payment = harness.payment(&sender, channel, round * PRICE);
        let mut racers = tokio::task::JoinSet::new();
        for _ in 0..6 {
            let (manager, payment) = (manager.clone(), payment.clone());
            racers.spawn(async move { pay(&manager, &payment).await });
        }
        let results = racers.join_all().await;
        assert_eq!(results.iter().filter(|result| result.is_ok()).count(), 1, "round {round}: {results:?}");
    }
    let balance = U192::from(ROUNDS * PRICE);
    let snapshot = manager.channel(channel.sender, channel.open_block_number).expect("known");
    assert_eq!(snapshot.balance, balance);
    tasks.shutdown().await;
    drop(manager);

    let (manager, tasks) = harness.start(1, false).await;
    let snapshot = manager.channel(channel.sender, channel.open_block_number).expect("still known");
    assert_eq!(snapshot.balance, balance, "every accepted balance was durable");
    assert_eq!(snapshot.balance_signature, Some(harness.sign(&sender, channel, ROUNDS * PRICE)));
    assert_eq!(
        pay(&manager, &harness.payment(&sender, channel, (ROUNDS + 1) * PRICE)).await,
        Ok(U192::from((ROUNDS + 1) * PRICE))
    );
    tasks.shutdown().await;
}

#[tokio::test]
async fn a_restart_keeps_proofs_and_the_state_file_is_private_and_exclusive() {
    let harness = Harness::new().await;
    let sender = harness.key(SENDER);
    let (manager, tasks) = harness.start(1, false).await;
    let channel = harness.open_channel(100, None).await;
    harness.top_up(channel, 50).await;
    harness.synced(&manager).await;
    for balance in [10, 20] {
        pay(&manager, &harness.payment(&sender, channel, balance)).await.expect("accepted");
    }

    let mode = std::fs::metadata(&harness.state_file).expect("state file exists").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "state file mode {mode:o}");

    // A second manager on the same file is refused while the first runs.
    match ChannelManager::start(harness.config(1, false)).await {
        Err(StartError::Store(error @ StoreError::Locked { .. })) => {
            assert!(error.to_string().contains("receiver.db"), "{error}");
        }
        other => panic!("a second manager on the same state file: {:?}", other.map(|_| ())),
    }

    tasks.shutdown().await;
    drop(manager);

    let (manager, tasks) = harness.start(1, false).await;
    let snapshot = manager.channel(channel.sender, channel.open_block_number).expect("still known");
    assert_eq!(snapshot.balance, U192::from(20u64));
    assert_eq!(snapshot.balance_signature, Some(harness.sign(&sender, channel, 20)));
    assert_eq!(snapshot.deposit, U192::from(150u64), "events are applied exactly once across restarts");
    assert_eq!(
        refusal(pay(&manager, &harness.payment(&sender, channel, 20)).await),
        Refusal::InvalidBalanceProof
    );
    assert_eq!(pay(&manager, &harness.payment(&sender, channel, 30)).await, Ok(U192::from(30u64)));
    tasks.shutdown().await;
}

#[tokio::test]
async fn a_reorg_that_drops_an_unconfirmed_channel_undoes_it() {
    let harness = Harness::new().await;
    let (manager, tasks) = harness.start(3, false).await;
    let sender = harness.key(SENDER);
    let provider = harness.chain.provider(harness.chain.key(0));

    // Fund and approve first, so that the snapshot is taken right before the creation.
    let deposit = 100u64;
    harness
        .token(0)
        .transfer_0(channel_sender(&harness), U256::from(deposit))
        .send()
        .await
        .expect("sent")
        .get_receipt()
        .await
        .expect("mined");
    harness
        .token(SENDER)
        .approve(harness.chain.deployment.channel_manager, U256::from(deposit))
        .send()
        .await
        .expect("sent")
        .get_receipt()
        .await
        .expect("mined");
    let snapshot: U256 = provider.raw_request("evm_snapshot".into(), ()).await.expect("evm_snapshot");
    let receipt = harness
        .contract(SENDER)
        .createChannel(harness.chain.address(RECEIVER), U192::from(deposit))
        .send()
        .await
        .expect("sent")
        .get_receipt()
        .await
        .expect("mined");
    let channel = ChannelId::new(
        channel_sender(&harness),
        harness.chain.address(RECEIVER),
        u32::try_from(receipt.block_number.expect("mined")).expect("small"),
    );
    harness.synced(&manager).await;
    assert_eq!(
        refusal(pay(&manager, &harness.payment(&sender, channel, 10)).await),
        Refusal::InsufficientConfirmations
    );

    let reverted: bool = provider.raw_request("evm_revert".into(), [snapshot]).await.expect("evm_revert");
    assert!(reverted);
    harness.mine(5).await;
    harness.synced(&manager).await;
    assert_eq!(
        refusal(pay(&manager, &harness.payment(&sender, channel, 10)).await),
        Refusal::NonexistingChannel
    );
    assert!(manager.channel(channel.sender, channel.open_block_number).is_none());
    assert!(!manager.health().reorg_beyond_confirmations);
    tasks.shutdown().await;
}

fn channel_sender(harness: &Harness) -> Address {
    harness.chain.address(SENDER)
}

#[tokio::test]
async fn a_cooperative_close_is_signed_only_for_the_last_proof_and_settles_on_chain() {
    let harness = Harness::new().await;
    let (manager, tasks) = harness.start(1, false).await;
    let sender = harness.key(SENDER);
    let channel = harness.open_channel(100, None).await;
    harness.synced(&manager).await;
    for balance in [10, 20, 30] {
        pay(&manager, &harness.payment(&sender, channel, balance)).await.expect("accepted");
    }
    let (who, block) = (channel.sender, channel.open_block_number);

    let older = harness.close_request(&sender, channel, 20);
    assert!(matches!(
        manager.sign_cooperative_close(&older).await,
        Err(CloseRefused::NotLastBalance { last }) if last.balance == U192::from(30u64)
    ));
    let forged = harness.close_request(&harness.key(STRANGER), channel, 30);
    assert!(matches!(manager.sign_cooperative_close(&forged).await, Err(CloseRefused::NotAuthorized(_))));
    let elsewhere = ChannelId::new(who, channel.receiver, block + 1);
    assert!(matches!(
        manager.sign_cooperative_close(&harness.close_request(&sender, elsewhere, 30)).await,
        Err(CloseRefused::UnknownChannel { .. })
    ));

    let last = harness.sign(&sender, channel, 30);
    let request = harness.close_request(&sender, channel, 30);
    let closing = manager.sign_cooperative_close(&request).await.expect("signed");
    // Asking again gives the same signature; the channel takes no more payments.
    assert_eq!(manager.sign_cooperative_close(&request).await, Ok(closing));
    assert_eq!(manager.channel(who, block).map(|c| c.state), Some(ChannelState::CloseSigned));
    assert_eq!(
        refusal(pay(&manager, &harness.payment(&sender, channel, 40)).await),
        Refusal::NonexistingChannel
    );

    let before = (harness.balance_of(channel.sender).await, harness.balance_of(channel.receiver).await);
    harness.chain.cooperative_close(SENDER, channel, 30, &last, &closing).await;
    let after = (harness.balance_of(channel.sender).await, harness.balance_of(channel.receiver).await);
    assert_eq!(after.0 - before.0, U256::from(70u64));
    assert_eq!(after.1 - before.1, U256::from(30u64));

    harness.synced(&manager).await;
    let snapshot = manager.channel(who, block).expect("kept for the record");
    assert_eq!((snapshot.state, snapshot.settled_balance), (ChannelState::Settled, Some(U192::from(30u64))));
    assert_eq!(manager.sign_cooperative_close(&request).await, Err(CloseRefused::Settled));
    assert_eq!(manager.stats().settled_channels, 1);
    tasks.shutdown().await;
}

/// A channel nothing was paid on: the receiver co-signs a close at zero for a close request by
/// the channel's signer (here a delegated session key), never for anyone else's, and the
/// sender gets the whole deposit back at once.
#[tokio::test]
async fn an_unpaid_channel_closes_cooperatively_with_a_zero_proof_by_its_signer() {
    let harness = Harness::new().await;
    let (manager, tasks) = harness.start(1, false).await;
    let session_key = harness.key(STRANGER + 1);
    let channel = harness.open_channel(100, Some(session_key.address())).await;
    harness.synced(&manager).await;
    let (who, block) = (channel.sender, channel.open_block_number);

    let by_stranger = harness.close_request(&harness.key(STRANGER), channel, 0);
    assert!(matches!(
        manager.sign_cooperative_close(&by_stranger).await,
        Err(CloseRefused::NotAuthorized(_))
    ));
    let above_zero = harness.close_request(&session_key, channel, 10);
    assert!(matches!(
        manager.sign_cooperative_close(&above_zero).await,
        Err(CloseRefused::NotLastBalance { .. })
    ));
    assert_eq!(manager.channel(who, block).map(|c| c.state), Some(ChannelState::Open));

    let zero = harness.sign(&session_key, channel, 0);
    let closing = manager
        .sign_cooperative_close(&harness.close_request(&session_key, channel, 0))
        .await
        .expect("signed");
    assert_eq!(manager.channel(who, block).map(|c| c.state), Some(ChannelState::CloseSigned));
    assert_eq!(
        refusal(pay(&manager, &harness.payment(&session_key, channel, 10)).await),
        Refusal::NonexistingChannel
    );

    let before = harness.balance_of(channel.sender).await;
    harness.chain.cooperative_close(SENDER, channel, 0, &zero, &closing).await;
    assert_eq!(harness.balance_of(channel.sender).await - before, U256::from(100u64));
    tasks.shutdown().await;
}

/// The sender tries to close paying less than it signed; the receiver disputes at once.
#[tokio::test]
async fn a_cheating_uncooperative_close_is_disputed() {
    let harness = Harness::new().await;
    let (manager, tasks) = harness.start(1, true).await;
    let sender = harness.key(SENDER);
    let channel = harness.open_channel(100, None).await;
    harness.synced(&manager).await;
    for balance in [10, 20, 30] {
        pay(&manager, &harness.payment(&sender, channel, balance)).await.expect("accepted");
    }
    let before = (harness.balance_of(channel.sender).await, harness.balance_of(channel.receiver).await);
    harness.chain.uncooperative_close(SENDER, channel, 10).await;
    eventually("the channel is settled", || async {
        manager.channel(channel.sender, channel.open_block_number).map(|c| c.state)
            == Some(ChannelState::Settled)
    })
    .await;
    let after = (harness.balance_of(channel.sender).await, harness.balance_of(channel.receiver).await);
    assert_eq!(after.1 - before.1, U256::from(30u64), "the receiver gets the full proven balance");
    assert_eq!(after.0 - before.0, U256::from(70u64));
    assert_eq!(
        manager.channel(channel.sender, channel.open_block_number).and_then(|c| c.settled_balance),
        Some(U192::from(30u64))
    );
    tasks.shutdown().await;
}

/// An honest uncooperative close is settled by the receiver without waiting out the
/// challenge period.
#[tokio::test]
async fn an_honest_uncooperative_close_is_settled_at_once() {
    let harness = Harness::new().await;
    let (manager, tasks) = harness.start(1, true).await;
    let sender = harness.key(SENDER);
    let channel = harness.open_channel(100, None).await;
    harness.synced(&manager).await;
    for balance in [10, 20] {
        pay(&manager, &harness.payment(&sender, channel, balance)).await.expect("accepted");
    }
    let before = harness.balance_of(channel.receiver).await;
    let close_block = harness.chain.uncooperative_close(SENDER, channel, 20).await;
    eventually("the channel is settled", || async {
        manager.channel(channel.sender, channel.open_block_number).map(|c| c.state)
            == Some(ChannelState::Settled)
    })
    .await;
    assert_eq!(harness.balance_of(channel.receiver).await - before, U256::from(20u64));
    assert!(harness.head().await < close_block + 500, "settled within the challenge period");
    tasks.shutdown().await;
}
