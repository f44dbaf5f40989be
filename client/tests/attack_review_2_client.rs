//! Issue 9, second outside review: the M2M sender against a receiver's rate limit.

#![allow(clippy::unwrap_used)]

mod support;

use support::{test_options, Env, Served};
use uraiden_client::{Error, Session};
use uraiden_server::RateLimits;

/// A receiver account other than the one `Env` serves with.
const LIMITED_RECEIVER: usize = 3;

/// A receiver of [`LIMITED_RECEIVER`] limiting each sender to `per_sender`.
async fn limited(env: &Env, per_sender: &str) -> Served {
    Served::start(env, LIMITED_RECEIVER, |config| {
        config.http.rate_limits =
            RateLimits { per_sender: Some(per_sender.parse().unwrap()), ..RateLimits::default() };
    })
    .await
}

/// The sender is over the receiver's sender limit: its second payment is answered 429,
/// "nothing was charged, the same payment is still good". The session must not count it
/// (SPEC §7: never count a payment before the receiver accepted it): with a short
/// `Retry-After` it waits and sends the same proof again, which pays.
#[tokio::test]
async fn a_payment_refused_with_429_is_not_counted_by_the_sender() {
    let env = Env::start(1).await;
    let limited = limited(&env, "1/2s,burst=1").await;
    let url = format!("{}/echofix/hello", limited.base);
    let client = env.client(&env.state_file("sender.json")).await;
    let session = Session::new(client.clone(), test_options());
    assert_eq!(session.get(&url).await.unwrap().status(), 200);
    // Over the limit: a 429 (or, if the session waits as told and resends, a 200).
    let status = session.get(&url).await.unwrap().status();
    assert!([200, 429].contains(&status.as_u16()), "the second request: {status}");

    let channel = client.get_open_channels(Some(env.chain.address(LIMITED_RECEIVER)))[0].clone();
    let accepted = limited.balance(&env, channel.id().open_block_number);
    limited.stop().await;
    assert_eq!(
        channel.balance(),
        accepted,
        "after a {status}, the sender's balance is not the receiver's (a 429 charged nothing)"
    );
}

/// The same with a wait longer than a session waits out (an hour): the session gives up with
/// an error that says the receiver is rate limiting and when to retry, and its channel keeps
/// the last accepted balance, so the next payment is the right one.
#[tokio::test]
async fn a_long_rate_limit_is_an_error_that_says_when_and_charges_the_sender_nothing() {
    let env = Env::start(1).await;
    let limited = limited(&env, "1/1h,burst=1").await;
    let url = format!("{}/echofix/hello", limited.base);
    let client = env.client(&env.state_file("sender.json")).await;
    let session = Session::new(client.clone(), test_options());
    assert_eq!(session.get(&url).await.unwrap().status(), 200);
    let error = session.get(&url).await.unwrap_err();
    assert!(matches!(error, Error::RateLimited { retry_after_secs: Some(3600), .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("rate limiting") && message.contains("retry in 3600 s"), "{message}");

    let channel = client.get_open_channels(Some(env.chain.address(LIMITED_RECEIVER)))[0].clone();
    let accepted = limited.balance(&env, channel.id().open_block_number);
    assert_eq!(accepted, channel.snapshot().balance, "the refused payment is not counted");
    assert!(channel.balance_signature().is_some(), "the channel keeps the signature of its accepted balance");
    limited.stop().await;
}
