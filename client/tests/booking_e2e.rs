//! The sender books a paid request by what the receiver says it holds, not by the status:
//! a paywalled resource whose own answer is a 502 or a 429 (an upstream that failed after
//! the payment was stored, say) was paid for, and a sender that counts it as refused falls
//! out of step with the receiver.

#![allow(clippy::unwrap_used)]

mod support;

use axum::{http::StatusCode, routing::get, Router};
use support::{test_options, Env, Served};
use uraiden_client::{Client, Session};
use uraiden_protocol::U192;
use uraiden_server::{Price, Resources};

/// A receiver account other than the one `Env` serves with.
const RESOURCE_RECEIVER: usize = 3;
const PRICE: u64 = 5;

/// A receiver of [`RESOURCE_RECEIVER`] with resources that answer, once paid, with a 502 and
/// with a 429 of their own.
async fn serve(env: &Env) -> Served {
    Served::start(env, RESOURCE_RECEIVER, |config| {
        config.http.resources = Resources::routes(|state| {
            let paid = || state.paywall(Price::fixed(PRICE));
            Router::new()
                .route("/ok", get(|| async { "paid" }).route_layer(paid()))
                .route(
                    "/broken-upstream",
                    get(|| async { (StatusCode::BAD_GATEWAY, "the upstream broke off") }).route_layer(paid()),
                )
                .route(
                    "/upstream-limit",
                    get(|| async {
                        (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "3600")], "the upstream's own limit")
                    })
                    .route_layer(paid()),
                )
        });
    })
    .await
}

/// The channel's balance at the sender and at the receiver.
fn accepted(served: &Served, env: &Env, client: &Client) -> (U192, U192) {
    let channel = client.get_open_channels(Some(env.chain.address(RESOURCE_RECEIVER)))[0].clone();
    (channel.balance(), served.balance(env, channel.id().open_block_number))
}

#[tokio::test]
async fn a_paid_answer_with_an_error_status_is_booked_as_paid() {
    let env = Env::start(1).await;
    let served = serve(&env).await;
    let client = env.client(&env.state_file("sender.json")).await;
    let session = Session::new(client.clone(), test_options());
    assert_eq!(session.get(&format!("{}/ok", served.base)).await.unwrap().status(), 200);

    let answer = session.get(&format!("{}/broken-upstream", served.base)).await.unwrap();
    assert_eq!(answer.status(), 502);
    let (ours, theirs) = accepted(&served, &env, &client);
    assert_eq!(theirs, U192::from(2 * PRICE), "the receiver stored the payment before its resource failed");
    assert_eq!(ours, theirs, "the sender did not count a payment the receiver holds (answered 502)");

    let answer = session.get(&format!("{}/upstream-limit", served.base)).await;
    let status = answer.as_ref().map(reqwest::Response::status);
    assert_eq!(
        status.ok(),
        Some(StatusCode::TOO_MANY_REQUESTS),
        "the resource's own 429 is its answer: {answer:?}"
    );
    let (ours, theirs) = accepted(&served, &env, &client);
    assert_eq!(theirs, U192::from(3 * PRICE));
    assert_eq!(ours, theirs, "the sender did not count a payment the receiver holds (answered 429)");

    // In step: the next payment is exactly one price on top, accepted at once.
    assert_eq!(session.get(&format!("{}/ok", served.base)).await.unwrap().status(), 200);
    assert_eq!(accepted(&served, &env, &client), (U192::from(4 * PRICE), U192::from(4 * PRICE)));
    served.stop().await;
}
