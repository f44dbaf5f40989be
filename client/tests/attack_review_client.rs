//! A hostile receiver against the client: attacks found by review that still succeed.

#![allow(clippy::unwrap_used)]

mod support;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{http::StatusCode, routing::get};
use support::{Env, SENDER};
use tokio::net::TcpListener;
use uraiden_client::{Session, SessionOptions};
use uraiden_protocol::U192;
use uraiden_server::{
    app::{self, AppState},
    config::{ApiToken, Gateway, HttpOptions},
    paywall::Price,
    serve,
};

const PRICE: u64 = 5;

/// A receiver (the real channel manager, the real paywall) whose resource `/milk` takes the
/// payment and then answers 402 again, with no refusal: "pay me". Every paid request is stored
/// at the receiver, so every proof the client signs is money the receiver can claim.
async fn milking_receiver(env: &Env) -> String {
    let deployment = env.chain.deployment;
    let gateway = Gateway::new(
        env.manager.receiver(),
        deployment.channel_manager,
        deployment.token,
        deployment.chain_id,
    );
    let options = HttpOptions { api_token: ApiToken::new("op"), ..HttpOptions::default() };
    let state = AppState::new(Arc::new(env.manager.clone()), gateway, options);
    let router = app::app(state.clone()).route(
        "/milk",
        get(|| async { StatusCode::PAYMENT_REQUIRED }).route_layer(state.paywall(Price::fixed(PRICE))),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(serve::serve(listener, None, router, std::future::pending()));
    format!("http://{address}")
}

/// `uraiden get --max-price 5 URL` against a receiver that answers each paid request with a
/// bare 402: the client pays the price again on every attempt (40 by default), so one call
/// with a max price of 5 pays many times 5. The max price bounds each payment, not the call.
#[tokio::test]
async fn a_receiver_that_answers_paid_requests_with_402_is_paid_again_and_again() {
    let env = Env::start(1).await;
    let url = milking_receiver(&env).await;
    let options = SessionOptions {
        max_price: Some(U192::from(PRICE)),
        retry_interval: Duration::from_millis(50),
        max_confirmation_waits: 400,
        ..SessionOptions::default()
    };
    let session = Session::new(env.client(&env.state_file("s.json")).await, options);

    let outcome = session.get(&format!("{url}/milk")).await;
    let sender = env.chain.address(SENDER);
    let paid = env
        .manager
        .channels()
        .into_iter()
        .filter(|channel| channel.id.sender == sender)
        .fold(U192::ZERO, |total, channel| total + channel.balance);
    assert!(
        paid <= U192::from(PRICE),
        "one `get` with max price {PRICE} paid the receiver {paid} (outcome: {:?})",
        outcome.map(|response| response.status())
    );
}
