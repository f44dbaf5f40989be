//! Redirects around a paid request, against a real receiver on a real anvil: a proof goes
//! only to the URL whose 402 asked for it (never along a redirect to another host), a
//! second paywall behind a paid redirect is not paid, a 402 at another origin than the one
//! asked for is not paid, and a redirect within the origin before paying still works.

#![allow(clippy::unwrap_used)]

mod support;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use alloy::primitives::U256;
use axum::{response::Redirect, routing::get};
use support::{test_options, Env, FUNDS, SENDER};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};
use uraiden_client::{Error, Session};
use uraiden_protocol::U192;
use uraiden_server::{app, serve_within, ApiToken, AppState, Gateway, HttpLimits, HttpOptions, ProxyConfig};

/// A plain HTTP/1.1 site on 127.0.0.1:0 that answers each request with `answer(path)` and
/// records every request's head (request line and headers) as it arrived.
struct Site {
    url: String,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Site {
    async fn start(answer: impl Fn(&str) -> String + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let heads = Arc::new(Mutex::new(Vec::new()));
        let (recorded, answer) = (Arc::clone(&heads), Arc::new(answer));
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (recorded, answer) = (Arc::clone(&recorded), Arc::clone(&answer));
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
                        match stream.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(read) => head.extend_from_slice(&buffer[..read]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    recorded.lock().unwrap().push(head);
                    let _ = stream.write_all(answer(&path).as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Self { url, heads }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

fn found(location: &str) -> String {
    format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
}

fn ok(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn not_found() -> String {
    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned()
}

/// Asserts that no request in `heads` carried a payment header or any cookie.
fn no_payment_in(heads: &[String]) {
    for head in heads {
        let lower = head.to_ascii_lowercase();
        assert!(!lower.contains("\r\nrdn-"), "a payment header reached another host:\n{head}");
        assert!(!lower.contains("\r\ncookie:"), "a cookie reached another host:\n{head}");
    }
}

/// A second receiver server (same channel manager as `env`'s, another port, so another
/// origin than `env.url`): the echo resources, `GET /moved` redirecting to
/// `/echofix/moved`, and `/site/*` paywalled at 5 and proxied to `upstream`.
async fn paywalled_proxy(env: &Env, upstream: &str) -> String {
    let deployment = env.chain.deployment;
    let receiver = env.manager.receiver();
    let gateway = Gateway::new(receiver, deployment.channel_manager, deployment.token, deployment.chain_id);
    let options = HttpOptions { api_token: ApiToken::new("op"), ..HttpOptions::default() };
    let state = AppState::new(Arc::new(env.duties.clone()), gateway, options);
    let proxy = ProxyConfig::parse(&format!(
        "upstream = \"{upstream}\"\n[[route]]\npath = \"/site/{{*rest}}\"\nprice = 5\n"
    ))
    .unwrap();
    let router = app(state.clone())
        .merge(proxy.router(&state).unwrap())
        .route("/moved", get(|| async { Redirect::to("/echofix/moved") }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    // A second front end over `env`'s manager: its own router, the receiver's serving limits.
    let metrics = state.metrics().clone();
    tokio::spawn(serve_within(
        listener,
        None,
        router,
        HttpLimits::default(),
        metrics,
        std::future::pending(),
    ));
    format!("http://{address}")
}

/// What the receiver holds as the sender's balance in its only channel (0 if none).
fn received(env: &Env) -> U192 {
    let sender = env.chain.address(SENDER);
    env.manager
        .channels()
        .into_iter()
        .filter(|channel| channel.id.sender == sender)
        .fold(U192::ZERO, |total, channel| total + channel.balance)
}

#[tokio::test]
async fn a_paid_redirect_to_another_host_carries_no_payment_there() {
    let env = Env::start(1).await;
    let stranger = Site::start(|_| ok("landing")).await;
    let landing = format!("{}/landing", stranger.url);
    let upstream =
        Site::start(move |path| if path == "/site/away" { found(&landing) } else { not_found() }).await;
    let paywalled = paywalled_proxy(&env, &upstream.url).await;
    let session = Session::new(env.client(&env.state_file("s.json")).await, test_options());

    let response = session.get(&format!("{paywalled}/site/away")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "landing", "the redirect is followed");
    assert_eq!(received(&env), U192::from(5), "paid once, at the paywall");
    let heads = stranger.heads();
    assert_eq!(heads.len(), 1, "{heads:?}");
    no_payment_in(&heads);
    no_payment_in(&upstream.heads());
    env.shutdown().await;
}

#[tokio::test]
async fn a_second_paywall_behind_a_paid_redirect_is_not_paid() {
    let env = Env::start(1).await;
    let other_origin = env.echo("elsewhere");
    let upstream = Site::start(move |path| match path {
        "/site/again" => found("/echofix/again"),
        "/site/elsewhere" => found(&other_origin),
        _ => not_found(),
    })
    .await;
    let paywalled = paywalled_proxy(&env, &upstream.url).await;
    let client = env.client(&env.state_file("s.json")).await;
    let session = Session::new(client.clone(), test_options());

    // Same origin, same receiver: paid once for the request, the second 402 is refused.
    let error = session.get(&format!("{paywalled}/site/again")).await.unwrap_err();
    assert!(matches!(error, Error::GaveUp { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.contains(&format!("redirected to {paywalled}/echofix/again, which asks for another payment")),
        "{message}"
    );
    assert_eq!(received(&env), U192::from(5), "{message}");

    // Another origin behind the redirect: not paid either.
    let error = session.get(&format!("{paywalled}/site/elsewhere")).await.unwrap_err();
    assert!(error.to_string().contains("which asks for another payment"), "{error}");
    assert_eq!(received(&env), U192::from(10), "the second request paid its own price only");
    let channels = client.channels();
    assert_eq!(channels.len(), 1);
    assert_eq!(channels[0].balance(), U192::from(10), "nothing more was signed");
    env.shutdown().await;
}

#[tokio::test]
async fn a_402_at_another_origin_than_the_one_asked_for_is_not_paid() {
    let env = Env::start(1).await;
    let paywall = env.echo("hopped");
    let hop = Site::start(move |_| found(&paywall)).await;
    let client = env.client(&env.state_file("s.json")).await;
    let session = Session::new(client.clone(), test_options());

    let error = session.get(&format!("{}/hop", hop.url)).await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "redirected to {}, another origin, which asks for payment",
            env.echo("hopped")
        )),
        "{message}"
    );
    assert!(client.channels().is_empty(), "nothing signed, no channel opened");
    assert_eq!(env.token_balance(env.chain.address(SENDER)).await, U256::from(FUNDS));
    assert_eq!(received(&env), U192::ZERO);

    // A redirect within the origin asked for, before paying, is followed and paid.
    let paywalled = paywalled_proxy(&env, &hop.url).await;
    let response = session.get(&format!("{paywalled}/moved")).await.unwrap();
    assert_eq!(response.text().await.unwrap(), "moved");
    assert_eq!(received(&env), U192::from(5));
    env.shutdown().await;
}
