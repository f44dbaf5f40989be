//! Issue 9, second outside review: the M2M sender against a receiver's rate limit.

#![allow(clippy::unwrap_used)]

mod support;

use std::{net::SocketAddr, time::Duration};

use support::{test_options, Env, SENDER, WAIT};
use tokio::sync::oneshot;
use uraiden_client::Session;
use uraiden_server::{
    channels::ChannelManagerConfig,
    config::RateLimits,
    receiver::{Receiver, ReceiverConfig},
};

/// A receiver account other than the one `Env` serves with.
const LIMITED_RECEIVER: usize = 3;

/// The sender is over the receiver's sender limit: its second payment is answered 429,
/// "nothing was charged, the same payment is still good". The session hands the 429 back,
/// but its channel already counts the refused payment: the sender's records say it paid 10
/// where the receiver accepted 5 (SPEC §7: never count a payment before the receiver accepted
/// it), and the next request's proof is off by one price (a wrong-amount refusal and a resync
/// before it pays).
#[tokio::test]
#[ignore = "open (issue 9 review 2): Session signs and records the next balance before sending and \
            keeps it when the answer is a 429, so the client's channel balance runs ahead of what \
            the receiver accepted; fix: on a 429 with Retry-After keep the signed proof pending and \
            resend it after the wait (or roll the channel back to the last accepted balance) \
            instead of counting it"]
async fn a_payment_refused_with_429_is_not_counted_by_the_sender() {
    let env = Env::start(1).await;
    let mut config = ChannelManagerConfig::new(
        env.chain.provider(env.chain.key(LIMITED_RECEIVER)),
        env.chain.signing_key(LIMITED_RECEIVER),
        env.chain.deployment.channel_manager,
        env.dir.path().join("limited-receiver.db"),
        env.chain.deployment.deploy_block,
    );
    config.confirmations = 1;
    config.poll_interval = Duration::from_millis(20);
    config.balance_check_interval = Duration::from_millis(100);
    let mut config = ReceiverConfig::new(config);
    config.http.rate_limits =
        RateLimits { per_sender: Some("1/2s,burst=1".parse().unwrap()), ..RateLimits::default() };
    let receiver = Receiver::start(config).await.unwrap();
    let manager = receiver.manager().unwrap().clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(receiver.run(listener, async move {
        let _ = stopped.await;
    }));
    let url = format!("http://{address}/echofix/hello");
    let head = env.chain.head().await;
    assert!(manager.wait_for_block(head, WAIT).await, "the limited receiver reaches block {head}");

    let client = env.client(&env.state_file("sender.json")).await;
    let session = Session::new(client.clone(), test_options());
    assert_eq!(session.get(&url).await.unwrap().status(), 200);
    // Over the limit: a 429 (or, if the session waits as told and resends, a 200).
    let status = session.get(&url).await.unwrap().status();
    assert!([200, 429].contains(&status.as_u16()), "the second request: {status}");

    let channel = client.get_open_channels(Some(env.chain.address(LIMITED_RECEIVER)))[0].clone();
    let accepted =
        manager.channel(env.chain.address(SENDER), channel.id().open_block_number).unwrap().balance;
    let _ = stop.send(());
    serving.await.unwrap().unwrap();
    assert_eq!(
        channel.balance(),
        accepted,
        "after a {status}, the sender's balance is not the receiver's (a 429 charged nothing)"
    );
}
