//! Attack review 12: the receiver speaking x402 v2 (`uraiden` scheme, commits 4ff8bff and
//! b73a49f). Each test is one attack, as a sender paying less, a stranger, a hostile or slow
//! client, a hostile upstream behind the proxy, a browser, or a cache. Where the channel
//! manager does not matter the HTTP tests' `FakeBackend` stands in (one channel, deposit 20,
//! the real payment rule); where it does (races on one balance, floods), a real anvil with the
//! real contracts and the real channel manager.
//!
//! Tests marked `#[ignore = "finding: …"]` assert the safe behaviour that the reviewed code does
//! not have yet; the others are attacks that failed, kept as regression tests.

// The harness panics as the failure report, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod http_support;

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{
    http::{HeaderValue, Method, StatusCode},
    routing, Router,
};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use http_support::*;
use uraiden_protocol::{
    header as rdn, request_deadline,
    x402::{
        names::{PAYMENT_REQUIRED, PAYMENT_RESPONSE, PAYMENT_SIGNATURE, X_PAYMENT},
        payload_json, OfferedPayment, Settlement, MAX_HEADER_BYTES,
    },
    Address, PaymentHeaders, SignedStatusRequest, U192,
};
use uraiden_server::{app, cors_layer, Price, ProxyConfig, Rate};

// ---------------------------------------------------------------------------------------------
// Helpers (as in http_x402.rs)
// ---------------------------------------------------------------------------------------------

fn demo() -> (Router, Arc<FakeBackend>) {
    let backend = FakeBackend::healthy();
    (app(state_with(backend.clone(), default_options())), backend)
}

fn balance(backend: &FakeBackend) -> U192 {
    backend.channel.lock().unwrap().balance
}

fn offered(response: &axum::http::Response<()>) -> OfferedPayment {
    let value = header(response, PAYMENT_REQUIRED).expect("every 402 carries PAYMENT-REQUIRED");
    OfferedPayment::parse_header(value).expect("well-formed").expect("a uraiden entry")
}

fn settlement(response: &axum::http::Response<()>) -> Settlement {
    Settlement::parse_header(header(response, PAYMENT_RESPONSE).expect("PAYMENT-RESPONSE")).expect("readable")
}

async fn offer_of(app: &Router, uri: &str) -> OfferedPayment {
    let (response, _) = send(app, get(uri)).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    offered(&response)
}

fn x402_value(
    offer: &OfferedPayment,
    payment: &PaymentHeaders,
    status: Option<&SignedStatusRequest>,
) -> String {
    offer.payment_header(payload_json(payment, status))
}

fn paying(uri: &str, offer: &OfferedPayment, payment: &PaymentHeaders) -> axum::http::request::Builder {
    get(uri).header(PAYMENT_SIGNATURE, x402_value(offer, payment, None))
}

/// The JSON text inside a `PAYMENT-SIGNATURE` value.
fn json_text(value: &str) -> String {
    String::from_utf8(STANDARD.decode(value).unwrap()).unwrap()
}

/// A small deterministic PRNG (xorshift64*), so a failing mutation can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

// ---------------------------------------------------------------------------------------------
// Caches
// ---------------------------------------------------------------------------------------------

/// Attack (a shared cache): keep an answer to an x402 request and serve it to the next
/// visitor: a paid answer (content for free, plus the sender's `PAYMENT-RESPONSE` and proof),
/// a refusal carrying the last proof, an offer refusal, a 400, a 429 or a 502.
/// Expected: every one of them says `no-store`; the 402s and the paid answer say
/// `private, no-store` exactly, as the scheme document promises.
#[tokio::test]
async fn every_answer_to_an_x402_request_forbids_storing() {
    let backend = FakeBackend::healthy();
    let state = state_with(backend.clone(), default_options());
    let limited = state.paywall_with_rate_limit(Price::fixed(5), "1/1h,burst=1".parse::<Rate>().unwrap());
    let router = app(state.clone())
        .merge(Router::new().route("/limited/{param}", routing::get(|| async { "x" }).route_layer(limited)));
    let offer = offer_of(&router, "/echofix/a").await;
    let limited_offer = offer_of(&router, "/limited/a").await;
    let cheap = offer_of(&router, "/echodyn/a").await;

    let mut answers = Vec::new();
    let ask = |label: &'static str, request: axum::http::request::Builder| {
        let router = router.clone();
        async move {
            let (response, _) = send(&router, request).await;
            (label, response)
        }
    };
    answers.push(ask("paid", paying("/echofix/a", &offer, &payment(5))).await);
    answers.push(
        ask(
            "refused with the last proof",
            get("/echofix/a")
                .header(PAYMENT_SIGNATURE, x402_value(&offer, &payment(7), Some(&status_request()))),
        )
        .await,
    );
    answers.push(ask("offer refused", paying("/echofix/a", &cheap, &payment(6))).await);
    answers.push(ask("malformed", get("/echofix/a").header(PAYMENT_SIGNATURE, "e30=")).await);
    answers.push(ask("x402 v1", get("/echofix/a").header(X_PAYMENT, "e30=")).await);
    answers.push(
        ask(
            "stale status request",
            get("/echofix/a").header(
                PAYMENT_SIGNATURE,
                x402_value(&offer, &payment(10), Some(&status_request_by(&sender_key(), unix_now() - 5))),
            ),
        )
        .await,
    );
    answers.push(ask("paid (limited route)", paying("/limited/a", &limited_offer, &payment(10))).await);
    answers.push(ask("sender over its limit", paying("/limited/a", &limited_offer, &payment(15))).await);
    backend.health.lock().unwrap().node_reachable = false;
    answers.push(ask("node down", paying("/echofix/a", &offer, &payment(15))).await);

    let expected = [
        ("paid", 200),
        ("refused with the last proof", 402),
        ("offer refused", 402),
        ("malformed", 400),
        ("x402 v1", 400),
        ("stale status request", 400),
        ("paid (limited route)", 200),
        ("sender over its limit", 429),
        ("node down", 502),
    ];
    for ((label, response), (expected_label, status)) in answers.iter().zip(expected) {
        assert_eq!(*label, expected_label);
        assert_eq!(response.status().as_u16(), status, "{label}");
        let cache_control = header(response, "cache-control").unwrap_or_default();
        assert!(cache_control.contains("no-store"), "{label}: Cache-Control {cache_control:?}");
        if matches!(status, 200 | 402) {
            assert_eq!(cache_control, "private, no-store", "{label}");
        }
    }
    assert_eq!(balance(&backend), U192::from(10), "two payments were taken");
}

/// A proxy upstream that answers every request with `headers` and the body `content`, and
/// counts its calls.
async fn upstream_with(
    headers: Vec<(&'static str, &'static str)>,
    status: StatusCode,
) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let app = Router::new().route(
        "/base/{*rest}",
        routing::any(move || {
            let headers = headers.clone();
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                let mut response = axum::response::IntoResponse::into_response((status, "content"));
                for (name, value) in headers {
                    response.headers_mut().append(name, HeaderValue::from_static(value));
                }
                response
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}/base"), calls)
}

fn proxy_over(upstream: &str, backend: Arc<FakeBackend>) -> Router {
    let config = ProxyConfig::parse(&format!(
        "upstream = \"{upstream}\"\n[[route]]\npath = \"/cdn/{{*rest}}\"\nprice = 5\n\
         [[route]]\npath = \"/cheap/{{*rest}}\"\nprice = 1\n"
    ))
    .unwrap();
    config.router(&state_with(backend, default_options())).unwrap()
}

/// Attack (a hostile or careless upstream, and an nginx `proxy_cache` in front of the
/// receiver): the upstream marks its answers cacheable for the caches it expects in front
/// of it: `X-Accel-Expires` (nginx, which then ignores `Cache-Control` entirely),
/// `Edge-Control` and `Akamai-Cache-Control` (Akamai), beside `Cache-Control: public`,
/// `CDN-Cache-Control` and `Surrogate-Control`. The paid x402 answer, with the sender's
/// `PAYMENT-RESPONSE` and `RDN-Balance-Signature`, would be stored by that cache and served to
/// the next visitor without payment.
/// Expected: the paid answer leaves the receiver with `Cache-Control: private, no-store` and
/// none of the caching headers that override it. (A finding on b73a49f, where
/// `X-Accel-Expires`, `Edge-Control` and `Akamai-Cache-Control` went through.)
#[tokio::test]
async fn an_upstreams_cache_overrides_do_not_survive_on_a_paid_x402_answer() {
    let (upstream, _) = upstream_with(
        vec![
            ("cache-control", "public, max-age=3600"),
            ("cdn-cache-control", "max-age=3600"),
            ("cloudflare-cdn-cache-control", "max-age=3600"),
            ("surrogate-control", "max-age=3600"),
            ("x-accel-expires", "3600"),
            ("edge-control", "!no-store, cache-maxage=3600s"),
            ("akamai-cache-control", "max-age=3600"),
        ],
        StatusCode::OK,
    )
    .await;
    let backend = FakeBackend::healthy();
    let proxy = proxy_over(&upstream, backend.clone());
    let offer = offer_of(&proxy, "/cdn/a.txt").await;
    let (response, body) = send(&proxy, paying("/cdn/a.txt", &offer, &payment(5))).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(settlement(&response).paid_balance(), Some(U192::from(5)));
    assert_eq!(header(&response, "cache-control"), Some("private, no-store"));
    for overriding in [
        "cdn-cache-control",
        "cloudflare-cdn-cache-control",
        "surrogate-control",
        "x-accel-expires",
        "edge-control",
        "akamai-cache-control",
    ] {
        assert_eq!(
            header(&response, overriding),
            None,
            "{overriding} would let a cache keep the paid answer"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// A hostile upstream behind the proxy
// ---------------------------------------------------------------------------------------------

/// Attack (hostile upstream): forge the payment's outcome on a paid x402 answer: its own
/// `PAYMENT-RESPONSE` (a far higher balance, another payer), a `PAYMENT-REQUIRED` offering a
/// cheaper price to another receiver, v1's `X-PAYMENT-RESPONSE`, and `RDN-*` headers naming
/// another balance and signature; and answer with status 402 so a client takes the paid answer
/// for a refusal.
/// Expected: the client reads the receiver's settlement only (success, balance 5, the real
/// payer), no `PAYMENT-REQUIRED` at all (nothing to pay again), the receiver's `RDN-*` values;
/// the sender is charged once, by the price.
#[tokio::test]
async fn an_upstream_cannot_forge_the_settlement_or_offer_a_second_payment() {
    let forged_settlement =
        Settlement::paid(31337, Address::repeat_byte(7), U192::from(1), U192::from(999_999))
            .to_header_value();
    let forged_offer = {
        let offer = uraiden_protocol::x402::UraidenOffer {
            price: U192::from(1),
            receiver: Address::repeat_byte(0x66),
            ..uraiden_protocol::x402::UraidenOffer::new(&uraiden_protocol::PaywallInfo {
                gateway_path: "/api/1".into(),
                receiver: receiver(),
                contract: contract(),
                token: token(),
                price: U192::from(5),
                chain_id: CHAIN_ID,
                sender: None,
                sender_balance: None,
                balance_signature: None,
            })
        };
        uraiden_protocol::x402::payment_required_header(&offer, "http://evil/", None)
    };
    // Static strings for the upstream's header list.
    let forged_settlement: &'static str = Box::leak(forged_settlement.into_boxed_str());
    let forged_offer: &'static str = Box::leak(forged_offer.into_boxed_str());
    let fake_signature: &'static str =
        Box::leak(payment_signed_by(&stranger_key(), 999).balance_signature.to_hex().into_boxed_str());
    let (upstream, calls) = upstream_with(
        vec![
            ("payment-response", forged_settlement),
            ("payment-required", forged_offer),
            ("x-payment-response", forged_settlement),
            ("rdn-sender-balance", "999"),
            ("rdn-balance-signature", fake_signature),
            ("rdn-price", "1"),
            ("rdn-receiver-address", "0x6666666666666666666666666666666666666666"),
        ],
        StatusCode::PAYMENT_REQUIRED,
    )
    .await;
    let backend = FakeBackend::healthy();
    let proxy = proxy_over(&upstream, backend.clone());
    let offer = offer_of(&proxy, "/cdn/a.txt").await;
    let (response, body) = send(&proxy, paying("/cdn/a.txt", &offer, &payment(5))).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(body, b"content", "the upstream's answer, whatever its status, is what was paid for");
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED, "the upstream's status goes back");
    assert_eq!(
        settlement(&response),
        Settlement::paid(31337, sender_key().address(), U192::from(5), U192::from(5)),
        "the receiver's settlement alone"
    );
    assert_eq!(response.headers().get_all(PAYMENT_RESPONSE).iter().count(), 1);
    assert_eq!(header(&response, PAYMENT_REQUIRED), None, "no second offer rides on a paid answer");
    assert_eq!(header(&response, "x-payment-response"), None);
    assert_eq!(header(&response, rdn::SENDER_BALANCE), Some("5"));
    assert_eq!(
        header(&response, rdn::BALANCE_SIGNATURE),
        Some(payment(5).balance_signature.to_hex().as_str())
    );
    assert_eq!(header(&response, rdn::PRICE), Some("5"));
    assert_eq!(header(&response, rdn::RECEIVER_ADDRESS), Some(receiver().to_checksum(None).as_str()));
    assert_eq!(balance(&backend), U192::from(5));
}

/// Attack (a sender paying less, on the proxy): a dear proxied route paid with the cheap
/// route's terms (its offer, its price as the balance step); a malformed payment; a stale
/// status request; a stranger's proof; a replay. Each of them, if it reached the upstream,
/// would make it do work that is never charged (and a slow upstream holds the channel's one
/// upstream slot).
/// Expected: none reaches the upstream, none is charged, and the honest payment still pays.
#[tokio::test]
async fn refused_x402_payments_never_reach_the_upstream() {
    let (upstream, calls) = upstream_with(Vec::new(), StatusCode::OK).await;
    let backend = FakeBackend::healthy();
    let proxy = proxy_over(&upstream, backend.clone());
    let dear = offer_of(&proxy, "/cdn/report").await;
    let cheap = offer_of(&proxy, "/cheap/report").await;
    assert_eq!((dear.offer.price, cheap.offer.price), (U192::from(5), U192::from(1)));

    let stale = status_request_by(&sender_key(), unix_now() - 1);
    let attempts = [
        ("cheap terms", paying("/cdn/report", &cheap, &payment(1)), 402),
        ("cheap step under dear terms", paying("/cdn/report", &dear, &payment(1)), 402),
        ("malformed", get("/cdn/report").header(PAYMENT_SIGNATURE, "eyJ4NDAyVmVyc2lvbiI6Mn0="), 400),
        (
            "stale status",
            get("/cdn/report").header(PAYMENT_SIGNATURE, x402_value(&dear, &payment(5), Some(&stale))),
            400,
        ),
        ("stranger", paying("/cdn/report", &dear, &payment_signed_by(&stranger_key(), 5)), 402),
        ("both formats", with_payment(paying("/cdn/report", &dear, &payment(5)), &payment(5)), 400),
    ];
    for (label, request, status) in attempts {
        let (response, _) = send(&proxy, request).await;
        assert_eq!(response.status().as_u16(), status, "{label}");
        assert_eq!(calls.load(Ordering::SeqCst), 0, "{label} reached the upstream");
    }
    assert_eq!(balance(&backend), U192::ZERO);
    let (response, _) = send(&proxy, paying("/cdn/report", &dear, &payment(5))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // The same proof again: a replay, refused before the upstream.
    let (response, _) = send(&proxy, paying("/cdn/report", &dear, &payment(5))).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    assert_eq!(calls.load(Ordering::SeqCst), 1, "a replay reached the upstream");
    assert_eq!(balance(&backend), U192::from(5));
}

/// Attack (a hostile client, on the proxy's after-answer commit): pay through x402 while the
/// upstream cannot answer, hoping the receiver stores the proof (the sender charged for
/// nothing) or says it was taken; then spend the same proof where the upstream answers.
/// Expected: a 502 "not served" without `PAYMENT-RESPONSE`, nothing stored, never cacheable;
/// the same proof then pays once.
#[tokio::test]
async fn an_unanswered_x402_payment_on_the_proxy_is_not_charged_and_pays_later() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let backend = FakeBackend::healthy();
    let down = proxy_over(&format!("http://{closed}/base"), backend.clone());
    let offer = offer_of(&down, "/cdn/a").await;
    let (response, body) = send(&down, paying("/cdn/a", &offer, &payment(5))).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(json(&body)["error"], "not served");
    assert_eq!(header(&response, PAYMENT_RESPONSE), None, "no settlement for a payment not taken");
    assert_eq!(header(&response, rdn::SENDER_BALANCE), None);
    assert_eq!(header(&response, "cache-control"), Some("private, no-store"));
    assert_eq!(balance(&backend), U192::ZERO);

    let (upstream, calls) = upstream_with(Vec::new(), StatusCode::OK).await;
    let up = proxy_over(&upstream, backend.clone());
    let (response, _) = send(&up, paying("/cdn/a", &offer, &payment(5))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(settlement(&response).paid_balance(), Some(U192::from(5)));
    let (response, _) = send(&up, paying("/cdn/a", &offer, &payment(5))).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED, "once");
    assert_eq!((calls.load(Ordering::SeqCst), balance(&backend)), (1, U192::from(5)));
}

/// An upstream that takes `delay` per answer and records the most requests it had at once.
async fn slow_upstream(delay: Duration) -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let (inside, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (inside_, most_) = (inside.clone(), most.clone());
    let app = Router::new().route(
        "/base/{*rest}",
        routing::get(move || {
            let (inside, most) = (inside_.clone(), most_.clone());
            async move {
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                inside.fetch_sub(1, Ordering::SeqCst);
                "content"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let calls = Arc::new(AtomicUsize::new(0));
    (format!("http://{address}/base"), most, calls)
}

/// Attack (a hostile client, on the proxy): many paid requests of one channel at once, half in
/// x402 and half in `RDN-*` headers, with balances from the next few steps (copies of the
/// same proof included), hoping that two reach the upstream and both are served for one
/// charge, or one is served that was never charged.
/// Expected: at most one request of the channel at the upstream at a time; every 2xx is a
/// distinct charged balance, named as such in its own format; the channel's balance is the
/// price times the 2xx count.
#[tokio::test]
async fn a_parallel_flood_in_both_formats_on_the_proxy_serves_only_what_is_charged() {
    let (upstream, most_at_once, _) = slow_upstream(Duration::from_millis(40)).await;
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for round in 0..3 {
        let backend = FakeBackend::healthy();
        let proxy = proxy_over(&upstream, backend.clone());
        let offer = offer_of(&proxy, "/cdn/x").await;
        let mut requests = Vec::new();
        for index in 0..24 {
            let step = 1 + rng.below(4) as u64; // balances 5..=20, the deposit
            let paid = payment(5 * step);
            let x402 = index % 2 == 0;
            let request =
                if x402 { paying("/cdn/x", &offer, &paid) } else { with_payment(get("/cdn/x"), &paid) };
            let proxy = proxy.clone();
            requests.push(tokio::spawn(async move {
                let (response, body) = send(&proxy, request).await;
                (x402, paid.balance, response, body)
            }));
        }
        let mut served = Vec::new();
        for request in requests {
            let (x402, sent, response, body) = request.await.unwrap();
            match response.status().as_u16() {
                200 => {
                    assert_eq!(body, b"content");
                    assert_eq!(header(&response, rdn::SENDER_BALANCE), Some(sent.to_string().as_str()));
                    if x402 {
                        assert_eq!(settlement(&response).paid_balance(), Some(sent), "round {round}");
                    } else {
                        assert_eq!(header(&response, PAYMENT_RESPONSE), None, "answered in its own format");
                    }
                    served.push(sent);
                }
                402 | 429 => assert_eq!(header(&response, rdn::SENDER_BALANCE), None, "not charged"),
                other => panic!("round {round}: unexpected {other}: {}", String::from_utf8_lossy(&body)),
            }
        }
        served.sort();
        let before = served.len();
        served.dedup();
        assert_eq!(served.len(), before, "round {round}: one balance served twice: {served:?}");
        assert_eq!(balance(&backend), U192::from(5 * served.len() as u64), "round {round}: {served:?}");
    }
    assert_eq!(
        most_at_once.load(Ordering::SeqCst),
        1,
        "two paid requests of one channel at the upstream at once"
    );
}

// ---------------------------------------------------------------------------------------------
// Mixing formats, browsers, odd headers
// ---------------------------------------------------------------------------------------------

/// Attack (a browser, or a client mixing formats): a page on the receiver's origin pays with
/// x402 while payment cookies of the paywall page are left over (the same balance, or a
/// higher one); a request carries `PAYMENT-SIGNATURE` and one stray `RDN-*` payment header;
/// `X-PAYMENT` beside a v2 payment; an `RDN-*` payment beside an `X-PAYMENT`.
/// Expected: each request is charged at most once, by one format: the cookies are not charged
/// beside the x402 payment (and still pay once, later, if their proof is the next one); a stray
/// `RDN-*` payment header is a 400, whatever it holds; `X-PAYMENT` is ignored beside
/// `PAYMENT-SIGNATURE` and refused (400, nothing charged) beside an `RDN-*` payment.
#[tokio::test]
async fn mixed_formats_and_leftover_cookies_are_charged_once() {
    let (app, backend) = demo();
    let offer = offer_of(&app, "/echofix/a").await;

    // x402 for 5 beside cookies of the same balance: charged 5 once.
    let request = paying("/echofix/a", &offer, &payment(5)).header("cookie", as_cookies(&payment(5)));
    let (response, _) = send(&app, request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(balance(&backend), U192::from(5));
    // x402 for 10 beside cookies of 15: charged 10; the cookies' 15 is not taken with it.
    let request = paying("/echofix/a", &offer, &payment(10)).header("cookie", as_cookies(&payment(15)));
    let (response, _) = send(&app, request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(settlement(&response).paid_balance(), Some(U192::from(10)));
    assert_eq!(balance(&backend), U192::from(10));
    // The leftover cookies pay once when the browser navigates with them.
    let navigation =
        get("/echofix/a").header("accept", "text/html").header("cookie", as_cookies(&payment(15)));
    let (response, _) = send(&app, navigation).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(balance(&backend), U192::from(15));
    let navigation =
        get("/echofix/a").header("accept", "text/html").header("cookie", as_cookies(&payment(15)));
    let (response, _) = send(&app, navigation).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED, "spent cookies are refused");
    assert!(set_cookies(&response).iter().any(|cookie| cookie.contains("Max-Age=0")), "and expired");

    // One stray RDN-* payment header beside PAYMENT-SIGNATURE, each of them.
    for (name, value) in payment(20).to_header_pairs() {
        if matches!(name, rdn::CONTRACT_ADDRESS | rdn::RECEIVER_ADDRESS) {
            continue; // not payment starters: a client may always send them
        }
        let request = paying("/echofix/a", &offer, &payment(20)).header(name, value);
        let (response, _) = send(&app, request).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
    }
    let request = paying("/echofix/a", &offer, &payment(20)).header(rdn::PAYMENT, "5");
    assert_eq!(send(&app, request).await.0.status(), StatusCode::BAD_REQUEST, "RDN-Payment");
    assert_eq!(balance(&backend), U192::from(15));

    // An RDN payment beside v1's X-PAYMENT: refused whole, not charged.
    let request = with_payment(get("/echofix/a"), &payment(20)).header(X_PAYMENT, "e30=");
    assert_eq!(send(&app, request).await.0.status(), StatusCode::BAD_REQUEST);
    assert_eq!(balance(&backend), U192::from(15));
    // X-PAYMENT beside a v2 payment: the v2 payment alone counts.
    let request = paying("/echofix/a", &offer, &payment(20)).header(X_PAYMENT, "e30=");
    let (response, _) = send(&app, request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(balance(&backend), U192::from(20));
}

/// Attack (a hostile client): odd `PAYMENT-SIGNATURE` values: bytes that are not UTF-8 or
/// not visible ASCII, empty, whitespace, base64url, missing padding, two payments joined with
/// a comma, the header twice (one good, one bad, in both orders), one byte over 8 KiB, 64 KiB.
/// Expected: a 400 each, nothing charged, no panic; then the good value alone pays.
#[tokio::test]
async fn odd_payment_signature_values_are_400s_and_charge_nothing() {
    let (app, backend) = demo();
    let offer = offer_of(&app, "/echofix/a").await;
    let good = x402_value(&offer, &payment(5), None);
    // The same payment in base64url: an ignored member of six `?` makes sure the standard
    // alphabet has a `/` (`???` is `Pz8/`) for base64url to write as `_`.
    let padded = STANDARD.encode(json_text(&good).replacen('{', "{\"pad\":\"??????\",", 1));
    let url_safe = padded.replace('+', "-").replace('/', "_");
    assert_ne!(url_safe, padded);
    let unpadded = good.trim_end_matches('=').to_owned();
    let over = format!("{good}{}", "A".repeat(MAX_HEADER_BYTES + 1 - good.len()));
    let cases: Vec<(&str, HeaderValue)> = vec![
        ("not UTF-8", HeaderValue::from_bytes(b"\xff\xfe\x80abc").unwrap()),
        ("obs-text", HeaderValue::from_bytes("é".as_bytes()).unwrap()),
        ("empty", HeaderValue::from_static("")),
        ("tab only", HeaderValue::from_static("\t")),
        ("base64url", HeaderValue::try_from(url_safe).unwrap()),
        ("two joined", HeaderValue::try_from(format!("{good}, {good}")).unwrap()),
        ("one byte over 8 KiB", HeaderValue::try_from(over).unwrap()),
        ("64 KiB", HeaderValue::try_from("A".repeat(64 * 1024)).unwrap()),
    ];
    // Unpadded base64 may or may not be read; it must not panic or charge twice.
    let (response, _) = send(&app, get("/echofix/a").header(PAYMENT_SIGNATURE, unpadded)).await;
    assert!(matches!(response.status().as_u16(), 200 | 400), "{}", response.status());
    let paid_unpadded = response.status() == StatusCode::OK;
    for (label, value) in cases {
        let (response, body) = send(&app, get("/echofix/a").header(PAYMENT_SIGNATURE, value)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{label}: {}", String::from_utf8_lossy(&body));
        assert_eq!(json(&body)["error"], "malformed payment", "{label}");
    }
    for bad_first in [true, false] {
        let mut request = get("/echofix/a");
        for value in if bad_first { ["e30=", good.as_str()] } else { [good.as_str(), "e30="] } {
            request = request.header(PAYMENT_SIGNATURE, value);
        }
        assert_eq!(send(&app, request).await.0.status(), StatusCode::BAD_REQUEST, "twice");
    }
    let expected = if paid_unpadded { 5 } else { 0 };
    assert_eq!(balance(&backend), U192::from(expected));
    if !paid_unpadded {
        let (response, _) = send(&app, get("/echofix/a").header(PAYMENT_SIGNATURE, good)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(balance(&backend), U192::from(5));
    }
}

/// Attack (a hostile client, over real TCP): a request head with a 200 KiB `PAYMENT-SIGNATURE`,
/// a hundred `PAYMENT-SIGNATURE` headers, and a flood of 400 malformed x402 requests on a few
/// connections in parallel.
/// Expected: each is refused (400 or 431), none is charged, and the server keeps serving: the
/// honest x402 payment afterwards pays.
#[tokio::test]
async fn a_server_flooded_with_huge_and_malformed_x402_heads_keeps_serving() {
    let backend = FakeBackend::healthy();
    let receiver = uraiden_server::Receiver::over_backend(
        backend.clone(),
        gateway(),
        uraiden_server::HttpConfig::default(),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(receiver.run(listener, async move {
        let _ = stopped.await;
    }));
    let url = format!("http://{address}/echofix/a");
    let client = reqwest::Client::new();
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 402);
    let offer = OfferedPayment::parse_header(response.headers()[PAYMENT_REQUIRED].to_str().unwrap())
        .unwrap()
        .unwrap();

    let huge = client.get(&url).header(PAYMENT_SIGNATURE, "A".repeat(200 * 1024)).send().await;
    if let Ok(response) = huge {
        assert!(matches!(response.status().as_u16(), 400 | 431), "{}", response.status());
    }
    let mut many = client.get(&url);
    for _ in 0..100 {
        many = many.header(PAYMENT_SIGNATURE, "e30=");
    }
    if let Ok(response) = many.send().await {
        assert!(matches!(response.status().as_u16(), 400 | 431), "{}", response.status());
    }
    let mut floods = Vec::new();
    for worker in 0..8u8 {
        let (client, url) = (client.clone(), url.clone());
        floods.push(tokio::spawn(async move {
            for index in 0..50u8 {
                let value = STANDARD.encode([worker, index, b'{', b'"']);
                let response = client.get(&url).header(PAYMENT_SIGNATURE, value).send().await.unwrap();
                assert_eq!(response.status(), 400);
            }
        }));
    }
    for flood in floods {
        flood.await.unwrap();
    }
    assert_eq!(balance(&backend), U192::ZERO);
    let response = client
        .get(&url)
        .header(PAYMENT_SIGNATURE, x402_value(&offer, &payment(5), None))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the server still serves");
    assert_eq!(balance(&backend), U192::from(5));
    let _ = stop.send(());
    serving.await.unwrap().unwrap();
}

/// Attack (a hostile client): thousands of mutations of a valid `PAYMENT-SIGNATURE`'s JSON
/// (bytes replaced, cut, repeated; members doubled; deep nesting; odd numbers, escapes and
/// lone surrogates; invalid UTF-8), looking for a panic, a 5xx, or a payment taken twice or
/// at another balance.
/// Expected: every answer is 200, 400 or 402; only the one signed balance (5) is ever taken,
/// at most once.
#[tokio::test]
async fn mutated_x402_payloads_never_panic_nor_charge_wrongly() {
    let (app, backend) = demo();
    let offer = offer_of(&app, "/echofix/a").await;
    let good = json_text(&x402_value(&offer, &payment(5), Some(&status_request())));
    let tokens: [&[u8]; 16] = [
        b"{",
        b"[",
        b"\"",
        b",",
        b":",
        b"\\u0000",
        b"\\ud800",
        b"1e999",
        b"-0",
        b"null",
        b"2.0",
        b"\xff",
        b"\"payload\":{},",
        b"\"balance\":\"10\",",
        b"\"openBlock\":\"07\",",
        b"\"x402Version\":2,",
    ];
    let mut fixed: Vec<Vec<u8>> = vec![
        format!("{}{}", "[".repeat(200), "]".repeat(200)).into_bytes(),
        format!("{{\"x402Version\":2,\"accepted\":{}}}", "{\"a\":".repeat(150) + "1" + &"}".repeat(150))
            .into_bytes(),
        good.replacen('{', "{\"payload\":{},", 1).into_bytes(),
        good.replace("\"openBlock\":7", "\"openBlock\":7.0").into_bytes(),
        good.replace("\"openBlock\":7", "\"openBlock\":-7").into_bytes(),
        good.replace("\"openBlock\":7", "\"openBlock\":\"0x7\"").into_bytes(),
        good.replace("\"balance\":\"5\"", "\"balance\":\"+5\"").into_bytes(),
        good.replace("\"balance\":\"5\"", "\"balance\":\"5e0\"").into_bytes(),
        good.replace("\"balance\":\"5\"", "\"balance\":5").into_bytes(),
        good.replace("\"amount\":\"5\"", "\"amount\":\"05\"").into_bytes(),
        good.replace("\"statusDeadline\":", "\"statusDeadline\":1e3,\"x\":").into_bytes(),
        good.replace("\"x402Version\":2", "\"x402Version\":18446744073709551618").into_bytes(),
    ];
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    for _ in 0..2500 {
        let mut text = good.clone().into_bytes();
        for _ in 0..=rng.below(3) {
            let at = rng.below(text.len());
            match rng.below(5) {
                0 => text[at] = (rng.next() & 0xff) as u8,
                1 => {
                    let end = (at + 1 + rng.below(12)).min(text.len());
                    text.drain(at..end);
                }
                2 => {
                    let end = (at + 1 + rng.below(40)).min(text.len());
                    let piece = text[at..end].to_vec();
                    text.splice(at..at, piece);
                }
                _ => {
                    let token = tokens[rng.below(tokens.len())];
                    text.splice(at..at, token.iter().copied());
                }
            }
            if text.is_empty() {
                text.push(b'{');
            }
        }
        fixed.push(text);
    }
    let mut charged = 0u64;
    for text in fixed {
        let value = STANDARD.encode(&text);
        let (response, body) = send(&app, get("/echofix/a").header(PAYMENT_SIGNATURE, value)).await;
        let status = response.status().as_u16();
        assert!(
            matches!(status, 200 | 400 | 402),
            "{status} for {}: {}",
            String::from_utf8_lossy(&text),
            String::from_utf8_lossy(&body)
        );
        if status == 200 {
            charged += 1;
            assert_eq!(settlement(&response).paid_balance(), Some(U192::from(5)));
        }
        assert!(charged <= 1, "charged twice");
        assert_eq!(balance(&backend), U192::from(5 * charged));
    }
}

/// Attack (an honest app with long URLs, e.g. a search API with a long query): pay a resource
/// whose URL is about 6,000 bytes long through x402. The receiver writes the whole URL into
/// `PAYMENT-REQUIRED.resource.url`; an x402 client copies `resource` into its
/// `PAYMENT-SIGNATURE` (the protocol crate's `OfferedPayment::payment_header` does, as the
/// official client does); base64 makes both 4/3 as long; both are capped at 8 KiB.
/// Expected: the 402's offer can be read by the protocol's own reader, and the payment is
/// taken, as an `RDN-*` payment of the same URL is ("both formats work on every paywalled
/// route"); the receiver ignores `resource`, so the URL's length should not decide.
#[tokio::test]
async fn an_x402_payment_for_a_long_url_is_taken_like_an_rdn_one() {
    let (app, backend) = demo();
    let uri = format!("/echofix/a?q={}", "x".repeat(6_000));
    let (response, body) = send(&app, with_payment(get(&uri), &payment(5))).await;
    assert_eq!(response.status(), StatusCode::OK, "RDN pays it: {}", String::from_utf8_lossy(&body));
    let (response, _) = send(&app, get(&uri).header("host", "shop.test")).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    let required = header(&response, PAYMENT_REQUIRED).unwrap();
    let offer = OfferedPayment::parse_header(required);
    assert!(offer.is_ok(), "the receiver's own 402 is unreadable: {offer:?}");
    let offer = offer.unwrap().unwrap();
    let (response, body) = send(&app, paying(&uri, &offer, &payment(10))).await;
    assert_eq!(response.status(), StatusCode::OK, "x402 pays it too: {}", String::from_utf8_lossy(&body));
    assert_eq!(balance(&backend), U192::from(10));
}

/// The same at a URL of 5,500 bytes: the 402's offer is readable, but the payment that copies
/// it back, with the status request the scheme document asks senders to send, is 8,480 bytes
/// and refused (from about 5,300 bytes of URL on).
#[tokio::test]
async fn an_x402_payment_copying_a_readable_offer_of_a_long_url_is_taken() {
    let (app, backend) = demo();
    let uri = format!("/echofix/a?q={}", "x".repeat(5_500));
    let (response, _) = send(&app, get(&uri).header("host", "shop.test")).await;
    let offer = offered(&response);
    let request =
        get(&uri).header(PAYMENT_SIGNATURE, x402_value(&offer, &payment(5), Some(&status_request())));
    let (response, body) = send(&app, request).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(balance(&backend), U192::from(5));
}

// ---------------------------------------------------------------------------------------------
// Strangers and the last proof
// ---------------------------------------------------------------------------------------------

/// Attack (a stranger who captured one of the sender's x402 payments, whose payload carries a
/// status request): (1) graft the captured `statusSignature` onto a payload naming another
/// open block of the same sender, or another deadline, to read another channel or to extend
/// the window; (2) send the sender's genuine `RDN-Status-*` headers beside an x402 payment
/// without a status request; (3) replay the captured status request after its deadline.
/// (Within its deadline a replayed status request reads the last proof, as designed: see
/// attack_review_2's `status_requests_genuine_replayed_or_forged_do_not_spend_the_senders_budget`.)
/// Expected: no last proof in any answer (neither `PAYMENT-RESPONSE.extra.lastProof` nor
/// `RDN-Balance-Signature` nor the JSON body), nothing charged.
#[tokio::test]
async fn a_captured_status_request_does_not_open_other_channels_or_outlive_its_deadline() {
    let (app, backend) = demo();
    let offer = offer_of(&app, "/echofix/a").await;
    assert_eq!(send(&app, paying("/echofix/a", &offer, &payment(5))).await.0.status(), StatusCode::OK);
    let secret = payment(5).balance_signature.to_hex();

    let deadline = unix_now() + 2;
    let captured = status_request_by(&sender_key(), deadline);
    let captured_text = json_text(&x402_value(&offer, &payment(10), Some(&captured)));
    let leaks = |response: &axum::http::Response<()>, body: &[u8]| {
        let settled =
            header(response, PAYMENT_RESPONSE).map(|value| Settlement::parse_header(value).unwrap());
        settled.is_some_and(|settled| settled.last_proof.is_some())
            || header(response, rdn::BALANCE_SIGNATURE).is_some()
            || String::from_utf8_lossy(body).contains(&secret[2..])
    };

    // (1) another open block, another deadline: the grafted signature does not verify.
    let mut other_block = payment(10);
    other_block.open_block_number = OPEN_BLOCK + 1;
    let grafted = json_text(&x402_value(&offer, &other_block, Some(&captured)));
    let later = captured_text.replace(
        &format!("\"statusDeadline\":{deadline}"),
        &format!("\"statusDeadline\":{}", deadline + 100),
    );
    assert_ne!(later, captured_text);
    for (label, text) in [("another open block", grafted), ("a later deadline", later)] {
        let (response, body) =
            send(&app, get("/echofix/a").header(PAYMENT_SIGNATURE, STANDARD.encode(text))).await;
        assert!(matches!(response.status().as_u16(), 400 | 402), "{label}: {}", response.status());
        assert!(!leaks(&response, &body), "{label}: the last proof leaked");
    }
    // (2) the sender's genuine status headers beside an x402 payment without one.
    let request = with_status(paying("/echofix/a", &offer, &payment(7)), &status_request());
    let (response, body) = send(&app, request).await;
    assert!(matches!(response.status().as_u16(), 400 | 402), "{}", response.status());
    assert!(!leaks(&response, &body), "RDN-Status-* headers opened the x402 corrective answer");
    // (3) after the deadline.
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    let (response, body) =
        send(&app, get("/echofix/a").header(PAYMENT_SIGNATURE, STANDARD.encode(&captured_text))).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(!leaks(&response, &body), "an expired status request read the last proof");
    assert_eq!(balance(&backend), U192::from(5));
}

/// Attack (a stranger): make a sender's next valid x402 payment fail, by paying first with
/// the sender's channel and garbage (a forged proof above the balance, the sender's spent proof,
/// a forged status request, an offer for another receiver), or by holding the proxy's
/// per-channel upstream slot with refused payments.
/// Expected: the stranger's requests change nothing; the sender's payment is taken.
#[tokio::test]
async fn a_stranger_cannot_make_the_senders_next_x402_payment_fail() {
    let (upstream, _, _) = slow_upstream(Duration::from_millis(300)).await;
    let backend = FakeBackend::healthy();
    let proxy = proxy_over(&upstream, backend.clone());
    let offer = offer_of(&proxy, "/cdn/x").await;
    assert_eq!(send(&proxy, paying("/cdn/x", &offer, &payment(5))).await.0.status(), StatusCode::OK);

    // The stranger's garbage, many times, in parallel with the sender's next payment.
    let forged_status = status_request_by(&stranger_key(), request_deadline(unix_now()));
    let mut strangers = Vec::new();
    for index in 0..30 {
        let request = match index % 3 {
            0 => paying("/cdn/x", &offer, &payment_signed_by(&stranger_key(), 10)),
            1 => paying("/cdn/x", &offer, &payment(5)),
            _ => get("/cdn/x").header(
                PAYMENT_SIGNATURE,
                x402_value(&offer, &payment_signed_by(&stranger_key(), 10), Some(&forged_status)),
            ),
        };
        let proxy = proxy.clone();
        strangers.push(tokio::spawn(async move { send(&proxy, request).await.0.status() }));
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (response, body) = send(&proxy, paying("/cdn/x", &offer, &payment(10))).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    for stranger in strangers {
        let status = stranger.await.unwrap();
        assert!(matches!(status.as_u16(), 400 | 402), "the stranger got {status}");
    }
    assert_eq!(balance(&backend), U192::from(10));
}

/// Attack (a cross-origin page): a page of an origin the operator did not allow asks to send
/// `PAYMENT-SIGNATURE` (preflight), and reads `PAYMENT-RESPONSE` of answers.
/// Expected: the preflight of a foreign origin allows nothing; answers to it expose nothing.
/// The allowed origin may send and read the x402 headers (positive control).
#[tokio::test]
async fn only_allowed_origins_may_send_and_read_the_x402_headers() {
    let allowed = "https://app.example";
    let router = app(state_with(FakeBackend::healthy(), default_options()))
        .layer(cors_layer(&[allowed.to_owned()]).unwrap().unwrap());
    for (origin, may) in [(allowed, true), ("https://evil.example", false), ("null", false)] {
        let preflight = get("/echofix/a")
            .method(Method::OPTIONS)
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "payment-signature,access-control-expose-headers");
        let (response, _) = send(&router, preflight).await;
        assert_eq!(header(&response, "access-control-allow-origin") == Some(origin), may, "{origin}");
        let (response, _) = send(&router, get("/echofix/a").header("origin", origin)).await;
        assert_eq!(header(&response, "access-control-allow-origin") == Some(origin), may, "{origin}");
        assert_eq!(
            header(&response, "access-control-allow-credentials"),
            None,
            "{origin}: never credentials"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The real channel manager: races and floods on one channel in both formats
// ---------------------------------------------------------------------------------------------

mod live {
    use std::time::Duration;

    use tokio::sync::oneshot;
    use uraiden_e2e::TestChain;
    use uraiden_protocol::{
        x402::{names::*, payload_json, OfferedPayment, Settlement},
        ChannelId, LocalSigningKey, PaymentHeaders, SignedStatusRequest, U192,
    };
    use uraiden_server::{
        ApiToken, ChannelManager, ChannelManagerConfig, HttpConfig, ReceiverConfig, ReceiverError, Resources,
    };

    pub const RECEIVER: usize = 1;
    pub const SENDER: usize = 2;
    const WAIT: Duration = Duration::from_secs(20);

    pub struct Live {
        pub chain: TestChain,
        _dir: tempfile::TempDir,
        pub manager: ChannelManager,
        serving: tokio::task::JoinHandle<Result<(), ReceiverError>>,
        pub url: String,
        stop: oneshot::Sender<()>,
        pub client: reqwest::Client,
    }

    impl Live {
        pub async fn start(resources: Resources) -> Self {
            let chain = TestChain::start().await.expect("anvil starts and the contracts deploy");
            let dir = tempfile::tempdir().unwrap();
            let mut config = ChannelManagerConfig::new(
                chain.provider(chain.key(RECEIVER)),
                chain.signing_key(RECEIVER),
                chain.deployment.channel_manager,
                dir.path().join("receiver.db"),
                chain.deployment.deploy_block,
            );
            config.confirmations = 1;
            config.poll_interval = Duration::from_millis(20);
            config.balance_check_interval = Duration::from_millis(100);
            let mut config = ReceiverConfig::new(config);
            config.http = HttpConfig { resources, api_token: ApiToken::new("op"), ..HttpConfig::default() };
            let receiver = uraiden_server::Receiver::start(config).await.expect("the receiver starts");
            let manager = receiver.manager().unwrap().clone();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let (stop, stopped) = oneshot::channel::<()>();
            let serving = tokio::spawn(receiver.run(listener, async move {
                let _ = stopped.await;
            }));
            Self { chain, _dir: dir, manager, serving, url, stop, client: reqwest::Client::new() }
        }

        pub async fn synced(&self) {
            let head = self.chain.head().await;
            assert!(self.manager.wait_for_block(head, WAIT).await, "the manager did not reach block {head}");
        }

        pub async fn open_channel(&self, deposit: u64) -> ChannelId {
            self.chain.transfer_tokens(self.chain.address(SENDER), deposit).await;
            let channel = self.chain.open_channel(SENDER, self.chain.address(RECEIVER), deposit, None).await;
            self.synced().await;
            channel
        }

        pub fn key(&self) -> LocalSigningKey {
            self.chain.signing_key(SENDER)
        }

        pub fn payment(&self, channel: ChannelId, balance: u64) -> PaymentHeaders {
            self.chain.payment(&self.key(), channel, balance)
        }

        pub fn status(&self, channel: ChannelId) -> SignedStatusRequest {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
            SignedStatusRequest::sign(&self.key(), &self.chain.domain(), channel, now + 120).unwrap()
        }

        pub async fn offer(&self, path: &str) -> OfferedPayment {
            let response = self.client.get(format!("{}{path}", self.url)).send().await.unwrap();
            assert_eq!(response.status(), 402);
            OfferedPayment::parse_header(response.headers()[PAYMENT_REQUIRED].to_str().unwrap())
                .unwrap()
                .unwrap()
        }

        pub fn balance(&self, channel: ChannelId) -> U192 {
            self.manager.channel(channel.sender, channel.open_block_number).unwrap().balance
        }

        pub async fn stop(self) {
            let _ = self.stop.send(());
            let _ = self.serving.await;
        }
    }

    /// How a paid request was sent.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Format {
        X402,
        X402WithStatus,
        Rdn,
        Cookies,
    }

    /// One paid request; returns (status, the balance the answer says was charged, the
    /// settlement if any).
    pub async fn pay(
        client: &reqwest::Client,
        url: &str,
        offer: &OfferedPayment,
        format: Format,
        payment: &PaymentHeaders,
        status: &SignedStatusRequest,
    ) -> (u16, Option<String>, Option<Settlement>) {
        let mut request = client.get(url);
        match format {
            Format::X402 => {
                request = request.header(PAYMENT_SIGNATURE, offer.payment_header(payload_json(payment, None)))
            }
            Format::X402WithStatus => {
                request = request
                    .header(PAYMENT_SIGNATURE, offer.payment_header(payload_json(payment, Some(status))));
            }
            Format::Rdn => {
                for (name, value) in payment.to_header_pairs() {
                    request = request.header(name, value);
                }
            }
            Format::Cookies => {
                let cookies = payment
                    .to_header_pairs()
                    .into_iter()
                    .map(|(name, value)| format!("{name}={value}"))
                    .collect::<Vec<_>>()
                    .join("; ");
                request = request.header("accept", "text/html").header("cookie", cookies);
            }
        }
        let response = request.send().await.unwrap();
        let status_code = response.status().as_u16();
        let echoed = response
            .headers()
            .get(uraiden_protocol::header::SENDER_BALANCE)
            .map(|value| value.to_str().unwrap().to_owned());
        let settled = response
            .headers()
            .get(PAYMENT_RESPONSE)
            .map(|value| Settlement::parse_header(value.to_str().unwrap()).unwrap());
        (status_code, echoed, settled)
    }
}

use live::{pay, Format, Live};

/// Attack (a sender, racing itself): the same cumulative balance sent at once in every format
/// (x402, x402 with a status request, `RDN-*` headers, cookies), several copies each, to get
/// several answers for one price; ten rounds on one channel of the real channel manager.
/// Expected: exactly one answer per balance is served and charged; the losers are 402s that
/// name no charged balance, and an x402 loser with a status request gets the winner's proof
/// as `lastProof`; the stored balance is the price times the rounds.
#[tokio::test]
async fn the_same_balance_raced_in_every_format_is_taken_once() {
    let live = Live::start(uraiden_server::Resources::Echo).await;
    let channel = live.open_channel(1_000).await;
    let offer = live.offer("/echofix/race").await;
    let url = format!("{}/echofix/race", live.url);
    let status = live.status(channel);
    let formats = [Format::X402, Format::X402WithStatus, Format::Rdn, Format::Cookies];
    for round in 1..=10u64 {
        let paid = live.payment(channel, 5 * round);
        let mut racers = Vec::new();
        for copy in 0..12 {
            let format = formats[copy % formats.len()];
            let (client, url, offer, paid) = (live.client.clone(), url.clone(), offer.clone(), paid.clone());
            racers.push(tokio::spawn(async move {
                (format, pay(&client, &url, &offer, format, &paid, &status).await)
            }));
        }
        let mut winners = 0;
        for racer in racers {
            let (format, (code, echoed, settled)) = racer.await.unwrap();
            match code {
                200 => {
                    winners += 1;
                    assert_eq!(echoed.as_deref(), Some((5 * round).to_string().as_str()), "{format:?}");
                    if matches!(format, Format::X402 | Format::X402WithStatus) {
                        assert_eq!(settled.unwrap().paid_balance(), Some(U192::from(5 * round)));
                    }
                }
                402 => {
                    let settled = settled.filter(|_| matches!(format, Format::X402 | Format::X402WithStatus));
                    assert!(
                        settled.as_ref().is_none_or(|settled| !settled.success),
                        "round {round} {format:?}"
                    );
                    if format == Format::X402WithStatus {
                        let last = settled
                            .unwrap()
                            .last_proof
                            .expect("the signer's status request gets the last proof");
                        // The winner's proof, or (if this loser was decided before the winner
                        // was stored) the previous one; the RDN-* headers say the same.
                        assert!(
                            last.balance == U192::from(5 * round)
                                || last.balance == U192::from(5 * (round - 1)),
                            "round {round}: lastProof {}",
                            last.balance
                        );
                        assert_eq!(echoed, Some(last.balance.to_string()));
                    } else {
                        assert_eq!(echoed, None, "round {round} {format:?}: a refusal names no balance");
                    }
                }
                other => panic!("round {round} {format:?}: {other}"),
            }
        }
        assert_eq!(winners, 1, "round {round}: one balance served {winners} times");
        assert_eq!(live.balance(channel), U192::from(5 * round));
    }
    live.stop().await;
}

/// Attack (a hostile client): a flood of 48 paid requests at once on one channel, in all
/// formats, with balances from the next eight steps, many times over: hoping for an answer
/// that is served but not charged, or a charge skipped in the middle of the channel.
/// Expected: every 200 names a distinct balance; the stored balance is the highest one served
/// and equals the price times the number of 200s (no step skipped or taken twice).
#[tokio::test]
async fn a_flood_of_mixed_payments_on_one_channel_serves_only_what_is_charged() {
    let live = Live::start(uraiden_server::Resources::Echo).await;
    let channel = live.open_channel(100_000).await;
    let offer = live.offer("/echofix/flood").await;
    let url = format!("{}/echofix/flood", live.url);
    let status = live.status(channel);
    let formats = [Format::X402, Format::X402WithStatus, Format::Rdn, Format::Cookies];
    let mut rng = Rng(0x0bad_cafe_1234_5678);
    let mut served: Vec<u64> = Vec::new();
    for round in 0..6 {
        let base = 5 * served.len() as u64;
        let mut requests = Vec::new();
        for _ in 0..48 {
            let balance = base + 5 * (1 + rng.below(8) as u64);
            let format = formats[rng.below(formats.len())];
            let paid = live.payment(channel, balance);
            let (client, url, offer) = (live.client.clone(), url.clone(), offer.clone());
            requests.push(tokio::spawn(async move {
                (balance, format, pay(&client, &url, &offer, format, &paid, &status).await)
            }));
        }
        for request in requests {
            let (balance, format, (code, echoed, settled)) = request.await.unwrap();
            match code {
                200 => {
                    assert_eq!(echoed, Some(balance.to_string()), "round {round} {format:?}");
                    served.push(balance);
                }
                402 if format == Format::X402WithStatus => {
                    // The corrective answer: the last proof, in both formats, never a success.
                    let settled = settled.unwrap();
                    assert!(!settled.success);
                    assert_eq!(echoed, settled.last_proof.map(|last| last.balance.to_string()));
                }
                402 => assert_eq!(echoed, None, "round {round} {format:?}"),
                other => panic!("round {round} {format:?}: {other}"),
            }
        }
        let mut sorted = served.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), served.len(), "a balance served twice: {served:?}");
        assert_eq!(live.balance(channel), U192::from(5 * served.len() as u64), "round {round}: {sorted:?}");
        assert_eq!(
            sorted.last().copied().unwrap_or(0),
            5 * served.len() as u64,
            "a step skipped: {sorted:?}"
        );
    }
    assert!(served.len() >= 6, "the flood made progress: {served:?}");
    live.stop().await;
}

/// Attack (a sender, racing across route kinds): one balance paid at once through x402 on a
/// proxied route (stored only after the upstream answered) and through `RDN-*` headers on an
/// ordinary route (stored before its handler runs), on the real channel manager, hoping both
/// are served: the proxy's in-memory check passes before the other's commit, and the proxy's
/// per-channel upstream slot does not cover ordinary routes.
/// Expected: exactly one of the two is served and charged per round; when the ordinary route
/// wins, the upstream's answer is dropped and the x402 request gets a 402.
#[tokio::test]
async fn a_balance_raced_between_the_proxy_in_x402_and_an_ordinary_route_in_rdn_is_taken_once() {
    let (upstream, _, _) = slow_upstream(Duration::from_millis(150)).await;
    let config = ProxyConfig::parse(&format!(
        "upstream = \"{upstream}\"\n[[route]]\npath = \"/cdn/{{*rest}}\"\nprice = 5\n"
    ))
    .unwrap();
    let resources = uraiden_server::Resources::routes(move |state| {
        uraiden_server::echo_routes(state).merge(config.router(state).unwrap())
    });
    let live = Live::start(resources).await;
    let channel = live.open_channel(1_000).await;
    let proxy_offer = live.offer("/cdn/file").await;
    let echo_offer = live.offer("/echofix/file").await;
    let status = live.status(channel);
    let (mut proxy_wins, mut echo_wins) = (0, 0);
    for round in 1..=8u64 {
        let paid = live.payment(channel, 5 * round);
        let proxied = {
            let (client, url, offer, paid) =
                (live.client.clone(), format!("{}/cdn/file", live.url), proxy_offer.clone(), paid.clone());
            tokio::spawn(
                async move { pay(&client, &url, &offer, Format::X402WithStatus, &paid, &status).await },
            )
        };
        // Let the proxied request pass its check and reach the upstream first.
        tokio::time::sleep(Duration::from_millis(40)).await;
        let ordinary = pay(
            &live.client,
            &format!("{}/echofix/file", live.url),
            &echo_offer,
            Format::Rdn,
            &paid,
            &status,
        )
        .await;
        let proxied = proxied.await.unwrap();
        let served = [proxied.0, ordinary.0].iter().filter(|code| **code == 200).count();
        assert_eq!(served, 1, "round {round}: proxy {} ordinary {}", proxied.0, ordinary.0);
        if proxied.0 == 200 {
            proxy_wins += 1;
            assert_eq!(proxied.2.unwrap().paid_balance(), Some(U192::from(5 * round)));
        } else {
            echo_wins += 1;
            assert_eq!(proxied.0, 402, "round {round}");
            let settled = proxied.2.unwrap();
            assert!(!settled.success);
            assert_eq!(settled.last_proof.unwrap().balance, U192::from(5 * round), "the winner's proof");
        }
        assert_eq!(live.balance(channel), U192::from(5 * round));
    }
    assert!(echo_wins > 0, "the race was run (proxy {proxy_wins}, ordinary {echo_wins})");
    live.stop().await;
}
