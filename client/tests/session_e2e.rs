//! The sender end to end against a real receiver on a real anvil: paying, reusing the
//! channel, restarting, recovering lost state, every 402 branch, and closing both ways.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{
    atomic::{AtomicU32, Ordering},
    Arc,
};

use alloy::primitives::U256;
use support::{test_options, Env, FUNDS, RECEIVER, SENDER};
use uraiden_client::{ChannelState, Error, Session, SessionHooks, SessionOptions};
use uraiden_protocol::{ChannelId, U192};

/// Counts the events a session reports, and can react to waiting for confirmations.
#[derive(Default)]
struct Counting {
    insufficient_confirmations: AtomicU32,
    nonexisting: AtomicU32,
    invalid_proof: AtomicU32,
    invalid_amount: AtomicU32,
    insufficient_funds: AtomicU32,
    successes: AtomicU32,
    on_wait: Option<Arc<tokio::sync::Notify>>,
}

impl SessionHooks for Counting {
    fn on_success(&self, _: &reqwest::Url, _: U192) {
        self.successes.fetch_add(1, Ordering::SeqCst);
    }
    fn on_insufficient_confirmations(&self, _: ChannelId, _: u32) {
        self.insufficient_confirmations.fetch_add(1, Ordering::SeqCst);
        if let Some(notify) = &self.on_wait {
            notify.notify_one();
        }
    }
    fn on_nonexisting_channel(&self, _: ChannelId) {
        self.nonexisting.fetch_add(1, Ordering::SeqCst);
    }
    fn on_invalid_balance_proof(&self, _: ChannelId) {
        self.invalid_proof.fetch_add(1, Ordering::SeqCst);
    }
    fn on_invalid_amount(&self, _: ChannelId) {
        self.invalid_amount.fetch_add(1, Ordering::SeqCst);
    }
    fn on_insufficient_funds(&self, _: ChannelId) {
        self.insufficient_funds.fetch_add(1, Ordering::SeqCst);
    }
}

fn count(counter: &AtomicU32) -> u32 {
    counter.load(Ordering::SeqCst)
}

async fn get_text(session: &Session, url: &str) -> String {
    let response = session.get(url).await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

#[tokio::test]
async fn pays_reuses_restarts_recovers_and_closes_cooperatively() {
    let env = Env::start(1).await;
    let state_file = env.state_file("sender.json");
    let client = env.client(&state_file).await;
    let session = Session::new(client.clone(), test_options());

    // One channel, N payments: balance N × 5.
    for _ in 0..3 {
        assert_eq!(get_text(&session, &env.echo("hello")).await, "hello");
    }
    let channels = client.get_open_channels(Some(env.chain.address(RECEIVER)));
    assert_eq!(channels.len(), 1);
    let channel = channels[0].clone();
    let open_block = channel.id().open_block_number;
    assert_eq!(channel.balance(), U192::from(15));
    assert_eq!(channel.deposit(), U192::from(50), "10 × the price by default");
    assert_eq!(env.receiver_balance(open_block), Some(U192::from(15)));

    // A new process on the same state file continues the same channel (once the first one
    // let go of the file: it is locked while any handle to its client lives).
    drop((session, channels, channel, client));
    let restarted = env.client(&state_file).await;
    let session = Session::new(restarted.clone(), test_options());
    assert_eq!(get_text(&session, &env.echo("again")).await, "again");
    let channels = restarted.get_open_channels(None);
    assert_eq!(channels.len(), 1);
    assert_eq!(channels[0].id().open_block_number, open_block);
    assert_eq!(channels[0].balance(), U192::from(20));
    drop((session, channels, restarted));

    // The state file is lost: the channel comes back from the chain at balance 0, and the
    // receiver's verified last proof restores the balance.
    std::fs::remove_file(&state_file).unwrap();
    let recovered = env.client(&state_file).await;
    recovered.sync_channels().await.unwrap();
    let channel = recovered.get_open_channels(None)[0].clone();
    assert_eq!((channel.id().open_block_number, channel.balance()), (open_block, U192::ZERO));
    assert_eq!(channel.deposit(), U192::from(50));
    let hooks = Arc::new(Counting::default());
    let session = Session::with_hooks(recovered.clone(), test_options(), hooks.clone());
    assert_eq!(get_text(&session, &env.echo("recovered")).await, "recovered");
    assert_eq!(count(&hooks.invalid_proof), 1, "the receiver refused the stale proof once");
    assert_eq!(channel.balance(), U192::from(25));
    assert_eq!(env.receiver_balance(open_block), Some(U192::from(25)));
    assert_eq!(recovered.channels().len(), 1, "no second channel was opened");

    // Cooperative close through the receiver's API: settled at once at 25.
    let sender_before = env.token_balance(env.chain.address(SENDER)).await;
    let receiver_before = env.token_balance(env.chain.address(RECEIVER)).await;
    uraiden_client::close_via_receiver(&reqwest::Client::new(), &channel).await.unwrap();
    assert_eq!(channel.state(), ChannelState::Closed);
    assert_eq!(env.token_balance(env.chain.address(RECEIVER)).await, receiver_before + U256::from(25));
    assert_eq!(env.token_balance(env.chain.address(SENDER)).await, sender_before + U256::from(25));
    assert_eq!(env.token_balance(env.chain.address(SENDER)).await, U256::from(FUNDS - 25));
    env.shutdown().await;
}

#[tokio::test]
async fn invalid_amount_resyncs_from_the_receivers_verified_proof() {
    let env = Env::start(1).await;
    let client = env.client(&env.state_file("s.json")).await;
    let hooks = Arc::new(Counting::default());
    let session = Session::with_hooks(client.clone(), test_options(), hooks.clone());
    assert_eq!(get_text(&session, &env.echo("a")).await, "a");
    let channel = client.get_open_channels(None)[0].clone();
    // A transfer the receiver never saw: local 8, receiver 5.
    channel.create_transfer(U192::from(3)).unwrap();
    assert_eq!(get_text(&session, &env.echo("b")).await, "b");
    assert_eq!(count(&hooks.invalid_amount), 1);
    assert_eq!(channel.balance(), U192::from(10));
    assert_eq!(env.receiver_balance(channel.id().open_block_number), Some(U192::from(10)));

    // Closing with a transfer the receiver never saw (local 13): its 409 names its last proof,
    // ours, and the close request signed again for that balance closes the channel at 10.
    channel.create_transfer(U192::from(3)).unwrap();
    let receiver_before = env.token_balance(env.chain.address(RECEIVER)).await;
    uraiden_client::close_via_receiver(&reqwest::Client::new(), &channel).await.unwrap();
    assert_eq!((channel.state(), channel.balance()), (ChannelState::Closed, U192::from(10)));
    assert_eq!(env.token_balance(env.chain.address(RECEIVER)).await, receiver_before + U256::from(10));
    env.shutdown().await;
}

#[tokio::test]
async fn insufficient_funds_tops_up_and_an_exhausted_channel_is_topped_up_before_paying() {
    let env = Env::start(1).await;
    let state_file = env.state_file("s.json");
    let client = env.client(&state_file).await;
    let exact = |price: U192| price;
    let options =
        SessionOptions { initial_deposit: Arc::new(exact), topup_deposit: Arc::new(exact), ..test_options() };
    let session = Session::new(client.clone(), options.clone());
    assert_eq!(get_text(&session, &env.echo("a")).await, "a");
    let channel = client.get_open_channels(None)[0].clone();
    assert_eq!(channel.deposit(), U192::from(5));
    // Full channel: the next payment tops up first (no 402 needed).
    assert_eq!(get_text(&session, &env.echo("b")).await, "b");
    assert_eq!((channel.balance(), channel.deposit()), (U192::from(10), U192::from(10)));
    drop((session, channel, client));

    // The state file overstates the deposit: the receiver answers insufficient funds, and
    // the session tops up the real deposit.
    let mut json: serde_json::Value = serde_json::from_slice(&std::fs::read(&state_file).unwrap()).unwrap();
    json["channels"][0]["deposit"] = "1000".into();
    std::fs::write(&state_file, serde_json::to_vec(&json).unwrap()).unwrap();
    let misled = env.client(&state_file).await;
    let hooks = Arc::new(Counting::default());
    let session = Session::with_hooks(misled.clone(), options, hooks.clone());
    assert_eq!(get_text(&session, &env.echo("c")).await, "c");
    assert_eq!(count(&hooks.insufficient_funds), 1);
    let channel = misled.get_open_channels(None)[0].clone();
    assert_eq!((channel.balance(), channel.deposit()), (U192::from(15), U192::from(15)));
    assert_eq!(env.receiver_balance(channel.id().open_block_number), Some(U192::from(15)));
    env.shutdown().await;
}

#[tokio::test]
async fn insufficient_confirmations_waits_until_a_block_is_mined() {
    let env = Env::start(2).await;
    let client = env.client(&env.state_file("s.json")).await;
    let notify = Arc::new(tokio::sync::Notify::new());
    let hooks = Arc::new(Counting { on_wait: Some(notify.clone()), ..Counting::default() });
    // anvil mines only on transactions: the second confirmation comes when the test mines.
    let miner = {
        let provider = env.owner();
        tokio::spawn(async move {
            notify.notified().await;
            let _: serde_json::Value = alloy::providers::Provider::raw_request(
                &provider,
                "anvil_mine".into(),
                (alloy::primitives::U64::from(1),),
            )
            .await
            .unwrap();
        })
    };
    let session = Session::with_hooks(client.clone(), test_options(), hooks.clone());
    assert_eq!(get_text(&session, &env.echo("slow")).await, "slow");
    assert!(count(&hooks.insufficient_confirmations) >= 1);
    miner.await.unwrap();
    env.shutdown().await;
}

#[tokio::test]
async fn a_price_above_the_limit_is_refused_without_paying() {
    let env = Env::start(1).await;
    let client = env.client(&env.state_file("s.json")).await;
    let session =
        Session::new(client.clone(), SessionOptions { max_price: Some(U192::from(4)), ..test_options() });
    let error = session.get(&env.echo("pricey")).await.unwrap_err();
    assert!(matches!(error, Error::PriceAboveLimit { .. }), "{error}");
    assert!(error.to_string().contains("asks 5 per request, above the limit of 4"), "{error}");
    assert!(client.channels().is_empty());
    assert_eq!(env.token_balance(env.chain.address(SENDER)).await, U256::from(FUNDS));
    env.shutdown().await;
}

#[tokio::test]
async fn a_receiver_on_another_contract_is_refused() {
    let env = Env::start(1).await;
    let options = uraiden_chain::DeployOptions {
        token_address: Some(env.chain.deployment.token),
        ..Default::default()
    };
    let other = uraiden_chain::deploy(&env.owner(), &options).await.unwrap();
    let client = env.client_for(other.channel_manager, &env.state_file("s.json")).await;
    let session = Session::new(client.clone(), test_options());
    let error = session.get(&env.echo("x")).await.unwrap_err();
    assert!(matches!(error, Error::ContractMismatch { .. }), "{error}");
    assert!(client.channels().is_empty());
    assert_eq!(env.token_balance(env.chain.address(SENDER)).await, U256::from(FUNDS));
    env.shutdown().await;
}

#[tokio::test]
async fn a_closed_channel_is_replaced_and_an_uncooperative_close_settles_after_the_period() {
    // An honest close would be settled by the receiver at once; here the sender must wait.
    let env = Env::start_with(1, false).await;
    let state_file = env.state_file("s.json");
    let client = env.client(&state_file).await;
    let session = Session::new(client.clone(), test_options());
    assert_eq!(get_text(&session, &env.echo("one")).await, "one");
    let stale_copy = env.state_file("stale.json");
    std::fs::copy(&state_file, &stale_copy).unwrap();
    let first = client.get_open_channels(None)[0].clone();

    // Uncooperative close at 5; settling refuses until the challenge period (500) is over.
    first.close().await.unwrap();
    assert_eq!(first.state(), ChannelState::Settling);
    let error = first.settle().await.unwrap_err();
    match &error {
        Error::ChallengePeriodNotOver { remaining_blocks, .. } => {
            assert_eq!(*remaining_blocks, 500, "{error}")
        }
        other => panic!("expected ChallengePeriodNotOver, got {other}"),
    }
    assert!(error.to_string().contains("500 more block(s)"), "{error}");
    env.synced().await;

    // A process with a stale state file still thinks the channel is open: the receiver
    // answers "nonexisting", the chain confirms it is closing, and a new channel is opened.
    let stale = env.client(&stale_copy).await;
    let hooks = Arc::new(Counting::default());
    let session = Session::with_hooks(stale.clone(), test_options(), hooks.clone());
    assert_eq!(get_text(&session, &env.echo("two")).await, "two");
    // Once for the closed channel, and maybe again while the receiver catches up with the new one.
    assert!(count(&hooks.nonexisting) >= 1);
    let open = stale.get_open_channels(None);
    assert_eq!(open.len(), 1);
    assert_ne!(open[0].id(), first.id());
    assert_eq!(stale.channel(first.id()).unwrap().state(), ChannelState::Settling);

    // After 500 blocks the sender settles: the receiver gets 5, the sender the rest.
    let receiver_before = env.token_balance(env.chain.address(RECEIVER)).await;
    let sender_before = env.token_balance(env.chain.address(SENDER)).await;
    env.mine(500).await;
    first.settle().await.unwrap();
    assert_eq!(first.state(), ChannelState::Closed);
    assert_eq!(env.token_balance(env.chain.address(RECEIVER)).await, receiver_before + U256::from(5));
    assert_eq!(env.token_balance(env.chain.address(SENDER)).await, sender_before + U256::from(45));
    env.shutdown().await;
}
