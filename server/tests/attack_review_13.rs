//! Attack review 13: the receiver's own paywall headers formatted once per `AppState`
//! (`ReceiverHeaders`, commit 09f4220), the per-response ones from
//! `PaywallInfo::response_header_pairs`, and "payment accepted" logged at debug. Each test is
//! one attack, as a sender paying less, a stranger, a browser, an x402 client, or an operator
//! with two receivers in one process or reading the logs. The HTTP tests' `FakeBackend`
//! stands in for the channel manager (one channel, deposit 20, the real payment rule).
//!
//! The attacks failed: the tests are kept as regression guards. Every expected header value
//! below is written out from the gateway's fields here, not by the code under review.

// The harness panics as the failure report, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod http_support;

use std::collections::BTreeMap;

use axum::{
    http::{Response, StatusCode},
    response::Html,
    routing, Router,
};
use http_support::*;
use uraiden_protocol::{
    header as rdn,
    x402::{
        names::{PAYMENT_REQUIRED, PAYMENT_SIGNATURE},
        payload_json, OfferedPayment,
    },
    Address, PaymentHeaders, ProofSignature, Refusal, SignedStatusRequest,
};
use uraiden_server::{app, AppState, Gateway, Price, ProxyConfig};

const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// What one paywalled response must say, beside the gateway's own values.
#[derive(Clone, Copy, Default)]
struct Expected {
    price: u64,
    sender: Option<Address>,
    balance: Option<u64>,
    signature: Option<ProofSignature>,
    refusal: Option<Refusal>,
}

/// Every `RDN-*` header `gateway` and `expected` call for, by lower-case name, written out
/// from the fields (not through the code under review).
fn expected_headers(gateway: &Gateway, expected: Expected) -> BTreeMap<String, String> {
    let mut headers = BTreeMap::new();
    let mut put = |name: &str, value: String| {
        headers.insert(name.to_ascii_lowercase(), value);
    };
    put(rdn::GATEWAY_PATH, gateway.gateway_path.clone());
    put(rdn::RECEIVER_ADDRESS, gateway.receiver.to_checksum(None));
    put(rdn::CONTRACT_ADDRESS, gateway.contract.to_checksum(None));
    put(rdn::TOKEN_ADDRESS, gateway.token.to_checksum(None));
    put(rdn::CHAIN_ID, gateway.chain_id.to_string());
    put(rdn::PRICE, expected.price.to_string());
    if let Some(sender) = expected.sender {
        put(rdn::SENDER_ADDRESS, sender.to_checksum(None));
    }
    if let Some(balance) = expected.balance {
        put(rdn::SENDER_BALANCE, balance.to_string());
    }
    if let Some(signature) = expected.signature {
        put(rdn::BALANCE_SIGNATURE, signature.to_hex());
    }
    if let Some(refusal) = expected.refusal {
        put(refusal.header_name(), refusal.code().to_owned());
    }
    headers
}

/// Asserts that `response` carries exactly the `RDN-*` headers `expected_headers` lists, each
/// once, and no other.
fn assert_rdn(what: &str, response: &Response<()>, gateway: &Gateway, expected: Expected) {
    let mut actual = BTreeMap::new();
    for name in response.headers().keys().filter(|name| name.as_str().starts_with("rdn-")) {
        let values: Vec<_> = response.headers().get_all(name).iter().collect();
        assert_eq!(values.len(), 1, "{what}: {name} sent {} times", values.len());
        actual.insert(name.as_str().to_owned(), values[0].to_str().unwrap().to_owned());
    }
    assert_eq!(actual, expected_headers(gateway, expected), "{what}");
}

fn sender() -> Address {
    sender_key().address()
}

/// The demo routes, and `/page/{param}`: an HTML page at price 2 (so cookie payments get the
/// paid note).
fn router(state: &AppState) -> Router {
    app(state.clone()).merge(
        Router::new().route(
            "/page/{param}",
            routing::get(|| async { Html("<!doctype html><html><body><p>paid page</p></body></html>") })
                .route_layer(state.paywall(Price::fixed(2))),
        ),
    )
}

fn offered(response: &Response<()>) -> OfferedPayment {
    let value = header(response, PAYMENT_REQUIRED).expect("every 402 carries PAYMENT-REQUIRED");
    OfferedPayment::parse_header(value).expect("well-formed").expect("a uraiden entry")
}

fn x402_paying(
    uri: &str,
    offer: &OfferedPayment,
    payment: &PaymentHeaders,
    status: Option<&SignedStatusRequest>,
) -> axum::http::request::Builder {
    get(uri).header(PAYMENT_SIGNATURE, offer.payment_header(payload_json(payment, status)))
}

/// Attack: make a response carry a stale or wrong header now that the receiver's five are
/// formatted once: a route with a price of its own (fixed, dynamic), a paid answer, a sender
/// paying less (its refusal header), a status request's last proof, a refusal with a status
/// request, the browser's HTML 402 and its cookies, a payment by cookies with the paid note,
/// x402's 402 and paid answer, a refusal over x402, and x402 with another route's offer.
/// Expected: every response carries the gateway's five, its own price and exactly the channel
/// headers and refusal that it had before the change, each once.
#[tokio::test]
async fn every_paywalled_response_carries_its_own_price_channel_and_refusal() {
    let backend = FakeBackend::healthy();
    let state = state_with(backend.clone(), default_options());
    let gateway = gateway();
    let app = router(&state);

    let (response, _) = send(&app, get("/echofix/a")).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    assert_rdn("fixed-price 402", &response, &gateway, Expected { price: 5, ..Expected::default() });

    let (response, _) = send(&app, get("/echodyn/abc")).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    assert_rdn("dynamic-price 402", &response, &gateway, Expected { price: 3, ..Expected::default() });

    // Paid: the answer names the price of this route and the proof just accepted.
    let (response, body) = send(&app, with_payment(get("/echodyn/abc"), &payment(3))).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let paid = Expected {
        price: 3,
        sender: Some(sender()),
        balance: Some(3),
        signature: Some(payment(3).balance_signature),
        refusal: None,
    };
    assert_rdn("paid 200", &response, &gateway, paid);

    // A sender paying less (4 - 3 = 1 for a price of 5): refused, and the 402 says why.
    let (response, _) = send(&app, with_payment(get("/echofix/a"), &payment(4))).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    let underpaid = Expected {
        price: 5,
        sender: Some(sender()),
        refusal: Some(Refusal::InvalidAmount),
        ..Expected::default()
    };
    assert_rdn("underpaid 402", &response, &gateway, underpaid);

    // The status request alone: the 402 carries the last proof.
    let (response, _) = send(&app, with_status(get("/echofix/a"), &status_request())).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    let last = Expected { price: 5, refusal: None, ..paid };
    assert_rdn("status 402", &response, &gateway, last);

    // A refusal with a status request: the reason and the last proof.
    let (response, _) =
        send(&app, with_status(with_payment(get("/echofix/a"), &payment(100)), &status_request())).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    let refused = Expected { refusal: Some(Refusal::InsufficientFunds), ..last };
    assert_rdn("refused 402 with status", &response, &gateway, refused);

    // A browser: the HTML 402, whose cookies repeat the paywall's own values (never the channel's).
    let (response, body) = send(&app, get("/page/a").header("accept", BROWSER_ACCEPT)).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    assert!(String::from_utf8_lossy(&body).contains("<html"), "the paywall page");
    assert_rdn("browser 402", &response, &gateway, Expected { price: 2, ..Expected::default() });
    let cookies: BTreeMap<String, String> = set_cookies(&response)
        .iter()
        .filter_map(|cookie| {
            let (pair, _) = cookie.split_once(';')?;
            let (name, value) = pair.split_once('=')?;
            Some((name.to_ascii_lowercase(), value.to_owned()))
        })
        .filter(|(name, _)| name.starts_with("rdn-"))
        .collect();
    assert_eq!(cookies, expected_headers(&gateway, Expected { price: 2, ..Expected::default() }));

    // Paid by cookies: the paid note, and the headers of this payment.
    let (response, body) =
        send(&app, get("/page/a").header("accept", BROWSER_ACCEPT).header("cookie", as_cookies(&payment(5))))
            .await;
    assert_eq!(response.status(), StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("paid page"));
    let by_cookies = Expected {
        price: 2,
        sender: Some(sender()),
        balance: Some(5),
        signature: Some(payment(5).balance_signature),
        refusal: None,
    };
    assert_rdn("paid by cookies", &response, &gateway, by_cookies);

    // x402: the 402, a paid answer, and a refusal (an x402 client paying less).
    let (response, _) = send(&app, get("/echofix/x402")).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    assert_rdn("x402 402", &response, &gateway, Expected { price: 5, ..Expected::default() });
    let offer = offered(&response);
    let (response, body) = send(&app, x402_paying("/echofix/x402", &offer, &payment(10), None)).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let x402_paid = Expected {
        price: 5,
        sender: Some(sender()),
        balance: Some(10),
        signature: Some(payment(10).balance_signature),
        refusal: None,
    };
    assert_rdn("x402 paid", &response, &gateway, x402_paid);
    let status = status_request();
    let (response, _) = send(&app, x402_paying("/echofix/x402", &offer, &payment(11), Some(&status))).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    let x402_refused = Expected { refusal: Some(Refusal::InvalidAmount), ..x402_paid };
    assert_rdn("x402 refused with status", &response, &gateway, x402_refused);
    // x402 with another route's offer (price 5 at a route costing 3): the offer refused, the
    // 402 of this route.
    let (response, _) = send(&app, x402_paying("/echodyn/abc", &offer, &payment(13), None)).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    assert_rdn("x402 offer refused", &response, &gateway, Expected { price: 3, ..Expected::default() });
    assert_eq!(balance_of(&backend), 10, "nothing charged by the refusals");
}

fn balance_of(backend: &FakeBackend) -> u64 {
    backend.channel.lock().unwrap().balance.to::<u64>()
}

/// Attack (a misconfigured operator, or two receivers in one process): two `AppState`s with
/// different gateways (receiver, contract, token, chain, gateway path), their routes merged into
/// one router and asked in turn, so that cached headers of one would show in the other's
/// answers. A proxy with two routes of different prices on one of them.
/// Expected: each answer names its own receiver, and each proxy route its own price.
#[tokio::test]
async fn two_receivers_in_one_process_each_announce_their_own_gateway() {
    let first = gateway();
    let second = Gateway {
        gateway_path: "/pay/2".into(),
        ..Gateway::new(Address::repeat_byte(0x44), Address::repeat_byte(0x55), Address::repeat_byte(0x66), 5)
    };
    let first_state = state_with(FakeBackend::healthy(), default_options());
    let second_state = AppState::new(FakeBackend::healthy(), second.clone(), default_options());

    let upstream = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = Router::new().fallback(|| async { "from upstream" });
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{address}/")
    };
    let proxy = ProxyConfig::parse(&format!(
        "upstream = \"{upstream}\"\n[[route]]\npath = \"/dear/{{*rest}}\"\nprice = 7\n\
         [[route]]\npath = \"/cheap/{{*rest}}\"\nprice = 2\n"
    ))
    .unwrap()
    .router(&second_state)
    .unwrap();
    let app = Router::new()
        .route(
            "/first/{param}",
            routing::get(|| async { "1" }).route_layer(first_state.paywall(Price::fixed(3))),
        )
        .route(
            "/second/{param}",
            routing::get(|| async { "2" }).route_layer(second_state.paywall(Price::fixed(4))),
        )
        .merge(proxy);

    for round in 0..3 {
        for (uri, gateway, price) in [
            ("/first/a", &first, 3),
            ("/second/a", &second, 4),
            ("/dear/file", &second, 7),
            ("/cheap/file", &second, 2),
            ("/first/b", &first, 3),
        ] {
            let (response, _) = send(&app, get(uri)).await;
            assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED, "{uri}");
            assert_rdn(
                &format!("{uri}, round {round}"),
                &response,
                gateway,
                Expected { price, ..Expected::default() },
            );
        }
    }
    // Paid through the first receiver: its own headers, not the second's.
    let (response, body) = send(&app, with_payment(get("/first/a"), &payment(3))).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let paid = Expected {
        price: 3,
        sender: Some(sender()),
        balance: Some(3),
        signature: Some(payment(3).balance_signature),
        refusal: None,
    };
    assert_rdn("paid at the first", &response, &first, paid);
    // The first receiver's payment at the second: another receiver and contract, so 409.
    let (response, _) = send(&app, with_payment(get("/second/a"), &payment(4))).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
}

/// Attack (an embedding application's odd gateway path): a path that is not a valid header
/// value (a line break, DEL) or has bytes beyond ASCII. The old code skipped a header whose
/// value did not convert; formatting it once must not turn that into a panic at startup or
/// per response.
/// Expected: the 402 is served with the other receiver headers; the path header is left out
/// when it cannot be a header value, and written as given otherwise.
#[tokio::test]
async fn a_gateway_path_that_is_no_header_value_is_left_out_not_a_panic() {
    for (path, written) in [("/api/1\nx", false), ("/api/\u{7f}", false), ("/api/ü", true), ("/a b", true)] {
        let gateway = Gateway { gateway_path: path.into(), ..gateway() };
        let state = AppState::new(FakeBackend::healthy(), gateway.clone(), default_options());
        let app = Router::new()
            .route("/r/{param}", routing::get(|| async { "r" }).route_layer(state.paywall(Price::fixed(1))));
        let (response, _) = send(&app, get("/r/a")).await;
        assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED, "{path:?}");
        let mut expected = expected_headers(&gateway, Expected { price: 1, ..Expected::default() });
        if !written {
            expected.remove(&rdn::GATEWAY_PATH.to_ascii_lowercase());
        }
        let actual: BTreeMap<String, String> = response
            .headers()
            .iter()
            .filter(|(name, _)| name.as_str().starts_with("rdn-"))
            .map(|(name, value)| {
                (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned())
            })
            .collect();
        assert_eq!(actual, expected, "{path:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Logs
// ---------------------------------------------------------------------------------------------

/// One event as the capture saw it: level, message, and the other fields as `name=value`.
#[derive(Clone, Debug)]
struct Logged {
    level: tracing::Level,
    target: String,
    message: String,
    fields: BTreeMap<String, String>,
}

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

thread_local! {
    /// The events of this thread, while a test captures them.
    static CAPTURED: std::cell::RefCell<Option<Vec<Logged>>> = const { std::cell::RefCell::new(None) };
}

/// The global subscriber: every event, at every level, kept by the thread that logged it when
/// that thread captures. Global, not a scoped default: a callsite's interest is cached for
/// every thread, so a scoped subscriber misses events when other tests log at the same time.
struct ThreadCapture;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ThreadCapture {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        CAPTURED.with(|captured| {
            if let Some(events) = captured.borrow_mut().as_mut() {
                let mut fields = Fields::default();
                event.record(&mut fields);
                let message = fields.0.remove("message").unwrap_or_default();
                events.push(Logged {
                    level: *event.metadata().level(),
                    target: event.metadata().target().to_owned(),
                    message,
                    fields: fields.0,
                });
            }
        });
    }
}

/// Starts capturing this thread's events (a current-thread runtime runs the handlers here).
fn capture_this_thread() {
    use tracing_subscriber::layer::SubscriberExt as _;
    static GLOBAL: std::sync::Once = std::sync::Once::new();
    GLOBAL.call_once(|| {
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(ThreadCapture))
            .expect("no other global subscriber in this test binary");
    });
    CAPTURED.with(|captured| *captured.borrow_mut() = Some(Vec::new()));
}

/// This thread's events since `capture_this_thread`.
fn captured() -> Vec<Logged> {
    CAPTURED.with(|captured| captured.borrow_mut().take().unwrap_or_default())
}

/// Attack (an operator auditing payments, or one who relied on the info log): pay, pay less,
/// pay past the deposit, pay over x402, then look at the log.
/// Expected: each refusal is still an INFO line "payment refused" naming the sender, open
/// block, balance and reason; each accepted payment is still one event "payment accepted"
/// with its sender, open block, balance, price and path, at DEBUG (so
/// `RUST_LOG=uraiden_server=debug` lists them, as the comment says: its target is under
/// `uraiden_server`); and `/metrics` still counts every accepted and refused payment.
#[tokio::test]
async fn refusals_are_logged_at_info_and_accepted_payments_at_debug_with_their_fields() {
    capture_this_thread();
    let backend = FakeBackend::healthy();
    let state = state_with(backend.clone(), default_options());
    let app = router(&state);

    let (response, _) = send(&app, with_payment(get("/echofix/a"), &payment(5))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let (response, _) = send(&app, with_payment(get("/echofix/a"), &payment(7))).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    let (response, _) = send(&app, with_payment(get("/echofix/a"), &payment(25))).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    let (response, _) = send(&app, get("/echofix/b")).await;
    let offer = offered(&response);
    let (response, _) = send(&app, x402_paying("/echofix/b", &offer, &payment(10), None)).await;
    assert_eq!(response.status(), StatusCode::OK);

    let logged = captured();
    let accepted: Vec<_> = logged.iter().filter(|event| event.message == "payment accepted").collect();
    let refused: Vec<_> = logged.iter().filter(|event| event.message == "payment refused").collect();
    assert_eq!(accepted.len(), 2, "one event per accepted payment: {logged:#?}");
    for (event, (balance, path)) in accepted.iter().zip([("5", "/echofix/a"), ("10", "/echofix/b")]) {
        assert_eq!(event.level, tracing::Level::DEBUG, "{event:?}");
        assert!(
            event.target.starts_with("uraiden_server"),
            "RUST_LOG=uraiden_server=debug shows it: {event:?}"
        );
        assert_eq!(event.fields.get("sender"), Some(&sender().to_string()), "{event:?}");
        assert_eq!(event.fields.get("open_block"), Some(&OPEN_BLOCK.to_string()), "{event:?}");
        assert_eq!(event.fields.get("balance").map(String::as_str), Some(balance), "{event:?}");
        assert_eq!(event.fields.get("price").map(String::as_str), Some("5"), "{event:?}");
        assert_eq!(event.fields.get("path").map(String::as_str), Some(path), "{event:?}");
    }
    assert_eq!(refused.len(), 2, "one event per refused payment: {logged:#?}");
    for (event, (balance, reason)) in
        refused.iter().zip([("7", "invalid-amount"), ("25", "insufficient-funds")])
    {
        assert_eq!(event.level, tracing::Level::INFO, "{event:?}");
        assert_eq!(event.fields.get("sender"), Some(&sender().to_string()), "{event:?}");
        assert_eq!(event.fields.get("open_block"), Some(&OPEN_BLOCK.to_string()), "{event:?}");
        assert_eq!(event.fields.get("balance").map(String::as_str), Some(balance), "{event:?}");
        assert_eq!(event.fields.get("reason").map(String::as_str), Some(reason), "{event:?}");
    }

    let (_, body) = send(&app, get("/metrics")).await;
    let metrics = String::from_utf8(body).unwrap();
    let sample = |prefix: &str| {
        metrics
            .lines()
            .find(|line| line.starts_with(prefix))
            .and_then(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
    };
    assert_eq!(sample("uraiden_payments_accepted_total"), Some(2.0), "{metrics}");
    let refusals: f64 = metrics
        .lines()
        .filter(|line| line.starts_with("uraiden_payments_refused_total"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(refusals, 2.0, "{metrics}");
}
