//! A hostile receiver against the client: attacks found by review that still succeed.

#![allow(clippy::unwrap_used)]

mod support;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{http::StatusCode, routing::get};
use support::{Env, SENDER};
use tokio::net::TcpListener;
use uraiden_client::{Session, SessionOptions};
use uraiden_protocol::U192;
use uraiden_server::{app, serve_within, ApiToken, AppState, Gateway, HttpOptions, Price};

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
    let state = AppState::new(Arc::new(env.duties.clone()), gateway, options);
    let router = app(state.clone()).route(
        "/milk",
        get(|| async { StatusCode::PAYMENT_REQUIRED }).route_layer(state.paywall(Price::fixed(PRICE))),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(serve_within(
        listener,
        None,
        router,
        uraiden_server::HttpLimits::default(),
        state.metrics().clone(),
        std::future::pending(),
    ));
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

/// Finding 3 on this checkout: a stranger who saw one old proof of a channel (it travelled in
/// headers or cookies) replays it; the 402 answers with the channel's *last* proof, which
/// `DELETE /api/1/channels/<sender>/<block>` takes for a closing signature; the stranger then
/// closes the sender's channel on chain. (The fix is on its way in `closeauth`: a close needs a
/// fresh close request of the sender's key.)
#[tokio::test]
async fn a_stranger_with_one_leaked_old_proof_closes_the_senders_channel() {
    use uraiden_protocol::{header as rdn, ProofSignature};
    const STRANGER: usize = 3;
    let env = Env::start(1).await;
    let chain = &env.chain;
    let channel = chain.open_channel(SENDER, env.manager.receiver(), 100, None).await;
    env.mine(1).await;
    env.synced().await;
    let http = reqwest::Client::new();
    let pay = |balance: u64| {
        let mut request = http.get(env.echo("x"));
        for (name, value) in
            chain.payment(&support::signing_key(chain, SENDER), channel, balance).to_header_pairs()
        {
            request = request.header(name, value);
        }
        request
    };
    // The sender pays twice; the first proof is the one that leaks.
    for balance in [5, 10] {
        assert_eq!(pay(balance).send().await.unwrap().status(), 200, "the sender pays {balance}");
    }

    // The stranger replays the old proof and reads the last one from the 402.
    let answer = pay(5).send().await.unwrap();
    assert_eq!(answer.status(), 402);
    let last_balance = answer.headers().get(rdn::SENDER_BALANCE).map(|v| v.to_str().unwrap().to_owned());
    let last_signature = answer.headers().get(rdn::BALANCE_SIGNATURE).map(|v| v.to_str().unwrap().to_owned());
    let (Some(balance), Some(signature)) = (last_balance, last_signature) else {
        return; // The last proof is not given to a replayed old proof: the hole is closed.
    };
    let closed = http
        .delete(format!("{}/api/1/channels/{}/{}", env.url, channel.sender, channel.open_block_number))
        .json(&serde_json::json!({ "balance": balance, "balance_signature": signature }))
        .send()
        .await
        .unwrap();
    let status = closed.status();
    let body: serde_json::Value = closed.json().await.unwrap_or_default();
    if let Some(closing) =
        body.get("close_signature").or_else(|| body.get("closing_signature")).and_then(|v| v.as_str())
    {
        let balance_signature: ProofSignature = signature.parse().unwrap();
        let closing_signature: ProofSignature = closing.parse().unwrap();
        chain
            .cooperative_close(
                STRANGER,
                channel,
                balance.parse().unwrap(),
                &balance_signature,
                &closing_signature,
            )
            .await;
    }
    assert_ne!(
        status,
        reqwest::StatusCode::OK,
        "a stranger holding one old proof got the last proof ({balance}) and a closing signature: {body}"
    );
}
