//! `Session` against a real receiver that offers x402 (every 402 of this receiver does): it
//! pays through `PAYMENT-SIGNATURE` and books by `PAYMENT-RESPONSE`, resyncs from the
//! `lastProof` of a refusal it asked for, and pays a changed offer anew without paying twice.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc, Mutex,
};

use axum::{routing::get, Router};
use support::{test_options, Env, Served, RECEIVER, WAIT};
use uraiden_client::{Error, PaymentFormat, Session, SessionHooks};
use uraiden_protocol::{
    x402::{names::PAYMENT_RESPONSE, Settlement},
    ChannelId, U192,
};
use uraiden_server::{Price, Resources};

/// What a session reports: each payment taken (format, price, balance) and each resync.
#[derive(Default)]
struct Recorded {
    accepted: Mutex<Vec<(PaymentFormat, U192, U192)>>,
    invalid_proofs: AtomicU64,
    invalid_amounts: AtomicU64,
}

impl SessionHooks for Recorded {
    fn on_payment_accepted(&self, _: ChannelId, price: U192, balance: U192, format: PaymentFormat) {
        self.accepted.lock().unwrap().push((format, price, balance));
    }
    fn on_invalid_balance_proof(&self, _: ChannelId) {
        self.invalid_proofs.fetch_add(1, Ordering::SeqCst);
    }
    fn on_invalid_amount(&self, _: ChannelId) {
        self.invalid_amounts.fetch_add(1, Ordering::SeqCst);
    }
}

impl Recorded {
    fn taken(&self) -> Vec<(PaymentFormat, U192, U192)> {
        self.accepted.lock().unwrap().clone()
    }
}

fn x402(price: u64, balance: u64) -> (PaymentFormat, U192, U192) {
    (PaymentFormat::X402, U192::from(price), U192::from(balance))
}

/// `GET url`, expecting a 200 whose `PAYMENT-RESPONSE` says the receiver took the payment and
/// now holds `balance`: the receiver writes it only in answer to a `PAYMENT-SIGNATURE`, and
/// answers 400 to one that comes with `RDN-*` payment headers.
async fn paid_through_x402(session: &Session, url: &str, balance: u64) -> String {
    let response = session.get(url).await.unwrap();
    assert_eq!(response.status(), 200);
    let settled = response.headers().get(PAYMENT_RESPONSE).expect("an answer to a PAYMENT-SIGNATURE");
    let settled = Settlement::parse_header(settled.to_str().unwrap()).unwrap();
    assert!(settled.success, "{settled:?}");
    assert_eq!(settled.paid_balance(), Some(U192::from(balance)), "{settled:?}");
    response.text().await.unwrap()
}

/// How many payments the receiver at `base` refused for `reason` (its metrics).
async fn refused(base: &str, reason: &str) -> u64 {
    let metrics = reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap();
    let series = format!("uraiden_payments_refused_total{{reason=\"{reason}\"}} ");
    metrics.lines().find_map(|line| line.strip_prefix(&series)).map_or(0, |count| count.parse().unwrap())
}

#[tokio::test]
async fn a_session_pays_through_x402_request_after_request() {
    let env = Env::start(1).await;
    let client = env.client(&env.state_file("sender.json")).await;
    let hooks = Arc::new(Recorded::default());
    let session = Session::with_hooks(client.clone(), test_options(), hooks.clone());
    for (n, word) in (1..).zip(["one", "two", "three"]) {
        assert_eq!(paid_through_x402(&session, &env.echo(word), 5 * n).await, word);
    }
    assert_eq!(hooks.taken(), [x402(5, 5), x402(5, 10), x402(5, 15)]);
    let channel = client.get_open_channels(Some(env.chain.address(RECEIVER)))[0].clone();
    assert_eq!((channel.balance(), channel.deposit()), (U192::from(15), U192::from(50)));
    assert_eq!(env.receiver_balance(channel.id().open_block_number), Some(U192::from(15)));
    env.shutdown().await;
}

/// A refused x402 payment is sent once more with a status request (x402 has no request that
/// only asks, and a payment carries none until then, sparing the receiver its check); that
/// refusal carries the receiver's last accepted proof, which the sender adopts once verified
/// and pays on top of, whether its record was ahead of the receiver's or lost.
#[tokio::test]
async fn a_refused_x402_payment_resyncs_from_its_last_proof() {
    let env = Env::start(1).await;
    let state_file = env.state_file("sender.json");
    let client = env.client(&state_file).await;
    let hooks = Arc::new(Recorded::default());
    let session = Session::with_hooks(client.clone(), test_options(), hooks.clone());
    paid_through_x402(&session, &env.echo("a"), 5).await;
    let channel = client.get_open_channels(None)[0].clone();
    let open_block = channel.id().open_block_number;

    // Ahead: a proof the receiver never saw (8). 13 is not 5 + the price: invalid amount.
    channel.create_transfer(U192::from(3)).unwrap();
    assert_eq!(paid_through_x402(&session, &env.echo("b"), 10).await, "b");
    assert_eq!(hooks.invalid_amounts.load(Ordering::SeqCst), 1, "one refusal for the hooks");
    assert_eq!(refused(&env.url, "invalid-amount").await, 2, "without, then with a status request");
    assert_eq!((channel.balance(), env.receiver_balance(open_block)), (U192::from(10), Some(U192::from(10))));
    drop((session, channel, client));

    // Lost: the channel comes back from the chain at 0, and 5 is not above 10.
    std::fs::remove_file(&state_file).unwrap();
    let recovered = env.client(&state_file).await;
    recovered.sync_channels().await.unwrap();
    assert_eq!(recovered.get_open_channels(None)[0].balance(), U192::ZERO);
    let session = Session::with_hooks(recovered.clone(), test_options(), hooks.clone());
    assert_eq!(paid_through_x402(&session, &env.echo("c"), 15).await, "c");
    assert_eq!(hooks.invalid_proofs.load(Ordering::SeqCst), 1);
    assert_eq!(refused(&env.url, "invalid-balance-proof").await, 2);
    let channels = recovered.channels();
    assert_eq!(channels.len(), 1, "no second channel was opened");
    assert_eq!(
        (channels[0].balance(), env.receiver_balance(open_block)),
        (U192::from(15), Some(U192::from(15)))
    );
    assert_eq!(hooks.taken(), [x402(5, 5), x402(5, 10), x402(5, 15)]);
    env.shutdown().await;
}

/// A receiver whose price is `prices` in turn, one per request it prices, then the last one.
async fn priced(env: &Env, prices: &'static [u64]) -> Served {
    let asked = Arc::new(AtomicU64::new(0));
    Served::start(env, 3, move |config| {
        config.http.resources = Resources::routes(move |state| {
            let asked = asked.clone();
            let price = Price::dynamic(move |_| {
                let turn = usize::try_from(asked.fetch_add(1, Ordering::SeqCst)).unwrap();
                U192::from(prices[turn.min(prices.len() - 1)])
            });
            Router::new().route("/priced", get(|| async { "priced" }).route_layer(state.paywall(price)))
        });
    })
    .await
}

/// The price changes between the 402 and its payment: the receiver refuses the payment's
/// `accepted` (invalid_payment_requirements), nothing is charged, and the sender pays the new
/// offer on top of what was accepted before, not on top of the refused proof.
#[tokio::test]
async fn a_changed_offer_is_paid_anew_and_the_refused_payment_is_not_counted() {
    let env = Env::start(1).await;
    let served = priced(&env, &[5, 6]).await;
    let client = env.client(&env.state_file("sender.json")).await;
    let hooks = Arc::new(Recorded::default());
    let session = Session::with_hooks(client.clone(), test_options(), hooks.clone());
    let url = format!("{}/priced", served.base);
    assert_eq!(paid_through_x402(&session, &url, 6).await, "priced");
    assert_eq!(paid_through_x402(&session, &url, 12).await, "priced");
    assert_eq!(hooks.taken(), [x402(6, 6), x402(6, 12)]);
    let channel = client.get_open_channels(None)[0].clone();
    assert_eq!(
        (channel.balance(), served.balance(&env, channel.id().open_block_number)),
        (U192::from(12), U192::from(12))
    );
    served.stop().await;
}

/// A receiver whose offer changes with every request is given up on, with nothing counted.
#[tokio::test]
async fn an_offer_that_keeps_changing_is_given_up_on_with_nothing_counted() {
    let env = Env::start(1).await;
    let served = priced(&env, &[5, 6, 7, 8, 9, 10]).await;
    let client = env.client(&env.state_file("sender.json")).await;
    let hooks = Arc::new(Recorded::default());
    let session = Session::with_hooks(client.clone(), test_options(), hooks.clone());
    let error = session.get(&format!("{}/priced", served.base)).await.unwrap_err();
    assert!(matches!(error, Error::GaveUp { .. }), "{error}");
    assert!(error.to_string().contains("keeps changing its offer"), "{error}");
    assert!(hooks.taken().is_empty());
    let head = env.chain.head().await;
    assert!(served.manager.wait_for_block(head, WAIT).await, "the receiver reaches block {head}");
    let channel = client.get_open_channels(None)[0].clone();
    assert_eq!(channel.balance(), U192::ZERO, "the refused proofs are taken back");
    assert_eq!(served.balance(&env, channel.id().open_block_number), U192::ZERO);
    served.stop().await;
}

fn rdn(price: u64, balance: u64) -> (PaymentFormat, U192, U192) {
    (PaymentFormat::Rdn, U192::from(price), U192::from(balance))
}

/// A receiver that does not offer x402 (`--no-x402`) is paid through the `RDN-*` headers by the
/// same session, and a record ahead of it resyncs through the RDN status probe.
#[tokio::test]
async fn a_receiver_without_x402_is_paid_through_rdn_headers() {
    let env = Env::start(1).await;
    let served = Served::start(&env, 3, |config| config.http.no_x402 = true).await;
    let client = env.client(&env.state_file("sender.json")).await;
    let hooks = Arc::new(Recorded::default());
    let session = Session::with_hooks(client.clone(), test_options(), hooks.clone());
    for (n, word) in (1..).zip(["one", "two"]) {
        let response = session.get(&format!("{}/echofix/{word}", served.base)).await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers().get(PAYMENT_RESPONSE).is_none(), "no x402 answer");
        let echoed = response.headers().get("RDN-Sender-Balance").unwrap().to_str().unwrap().to_owned();
        assert_eq!(echoed, (5 * n).to_string());
        assert_eq!(response.text().await.unwrap(), word);
    }
    let channel = client.get_open_channels(None)[0].clone();
    channel.create_transfer(U192::from(3)).unwrap();
    let response = session.get(&format!("{}/echofix/three", served.base)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(hooks.taken(), [rdn(5, 5), rdn(5, 10), rdn(5, 15)]);
    assert_eq!(hooks.invalid_amounts.load(Ordering::SeqCst), 1);
    assert_eq!(
        (channel.balance(), served.balance(&env, channel.id().open_block_number)),
        (U192::from(15), U192::from(15))
    );
    served.stop().await;
}
