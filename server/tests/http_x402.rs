//! x402 v2 on the paywall (the `uraiden` scheme, `docs/x402-scheme-uraiden.md`): every 402
//! offers it in `PAYMENT-REQUIRED`; a `PAYMENT-SIGNATURE` is decided by the same rules as an
//! `RDN-*` payment, on the same balance, and answered in x402's form; malformed payments are
//! a 400 and an `accepted` entry that is not the offer a 402, neither charging anything.

mod http_support;

use axum::{
    http::{Method, StatusCode},
    routing, Router,
};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use http_support::*;
use uraiden_protocol::{
    header as rdn,
    x402::{
        names::{PAYMENT_REQUIRED, PAYMENT_RESPONSE, PAYMENT_SIGNATURE, X_PAYMENT},
        payload_json, OfferedPayment, Settlement, UraidenOffer, INVALID_PAYMENT_REQUIREMENTS,
    },
    Address, PaymentHeaders, Refusal, SignedStatusRequest, U192,
};
use uraiden_server::{app, cors_layer, ProxyConfig};

fn demo() -> (Router, std::sync::Arc<FakeBackend>) {
    let backend = FakeBackend::healthy();
    (app(state_with(backend.clone(), default_options())), backend)
}

fn balance(backend: &FakeBackend) -> U192 {
    backend.channel.lock().expect("the fake channel").balance
}

/// The offer of a 402, read as an x402 client reads it.
fn offered(response: &axum::http::Response<()>) -> OfferedPayment {
    let value = header(response, PAYMENT_REQUIRED).expect("every 402 carries PAYMENT-REQUIRED");
    OfferedPayment::parse_header(value).expect("well-formed").expect("a uraiden entry")
}

/// The decoded JSON of an x402 header.
fn decoded(response: &axum::http::Response<()>, name: &str) -> serde_json::Value {
    let value = header(response, name).unwrap_or_else(|| panic!("{name} missing"));
    serde_json::from_slice(&STANDARD.decode(value).expect("base64")).expect("JSON")
}

fn settlement(response: &axum::http::Response<()>) -> Settlement {
    Settlement::parse_header(header(response, PAYMENT_RESPONSE).expect("PAYMENT-RESPONSE")).expect("readable")
}

/// Asks `uri` once without paying, and returns its offer.
async fn offer_of(app: &Router, uri: &str) -> OfferedPayment {
    let (response, _) = send(app, get(uri)).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    offered(&response)
}

fn paying(uri: &str, offer: &OfferedPayment, payment: &PaymentHeaders) -> axum::http::request::Builder {
    get(uri).header(PAYMENT_SIGNATURE, offer.payment_header(payload_json(payment, None)))
}

fn paying_with_status(
    uri: &str,
    offer: &OfferedPayment,
    payment: &PaymentHeaders,
    status: &SignedStatusRequest,
) -> axum::http::request::Builder {
    get(uri).header(PAYMENT_SIGNATURE, offer.payment_header(payload_json(payment, Some(status))))
}

#[tokio::test]
async fn every_402_offers_the_uraiden_scheme_beside_the_rdn_headers() {
    let (app, _) = demo();
    for accept in ["application/json", "text/html"] {
        let (response, _) =
            send(&app, get("/echodyn/abcdefg?x=1").header("accept", accept).header("host", "shop.test"))
                .await;
        assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED, "{accept}");
        assert_eq!(header(&response, rdn::PRICE), Some("7"), "the RDN-* headers stay");
        let required = decoded(&response, PAYMENT_REQUIRED);
        assert_eq!(required["x402Version"], 2);
        assert_eq!(required["resource"]["url"], "http://shop.test/echodyn/abcdefg?x=1");
        assert!(required.get("error").is_none(), "no payment, no error");
        let entry = &required["accepts"][0];
        assert_eq!(entry["scheme"], "uraiden");
        assert_eq!(entry["network"], "eip155:31337");
        assert_eq!(entry["amount"], "7");
        assert_eq!(entry["asset"], token().to_checksum(None));
        assert_eq!(entry["payTo"], receiver().to_checksum(None));
        assert_eq!(entry["extra"]["channelManager"], contract().to_checksum(None));
        assert_eq!(entry["extra"]["apiPath"], "/api/1");
        assert_eq!(entry["extra"]["suggestedDeposit"], "700");
        assert!(header(&response, PAYMENT_RESPONSE).is_none(), "nothing was paid");
    }
}

#[tokio::test]
async fn an_x402_payment_is_served_and_settled_in_x402_form() {
    let (app, backend) = demo();
    let offer = offer_of(&app, "/echofix/hello").await;
    let (response, body) = send(&app, paying("/echofix/hello", &offer, &payment(5))).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(body, b"hello");
    let settled = settlement(&response);
    assert_eq!(settled, Settlement::paid(31337, sender_key().address(), U192::from(5), U192::from(5)));
    let raw = decoded(&response, PAYMENT_RESPONSE);
    assert_eq!(raw["transaction"], "", "nothing goes on chain per payment");
    assert_eq!(raw["network"], "eip155:31337");
    assert_eq!(balance(&backend), U192::from(5));
    assert!(set_cookies(&response).is_empty());
    assert_eq!(header(&response, "cache-control"), Some("private, no-store"));
}

#[tokio::test]
async fn a_channel_paid_alternately_in_both_formats_keeps_one_balance() {
    let (app, backend) = demo();
    let offer = offer_of(&app, "/echofix/a").await;
    // The fake channel's deposit is 20.
    let steps: [(&str, u64); 4] = [("x402", 5), ("rdn", 10), ("cookies", 15), ("x402", 20)];
    for (format, total) in steps {
        let paid = payment(total);
        let request = match format {
            "x402" => paying("/echofix/a", &offer, &paid),
            "rdn" => with_payment(get("/echofix/a"), &paid),
            _ => get("/echofix/a").header("accept", "text/html").header("cookie", as_cookies(&paid)),
        };
        let (response, body) = send(&app, request).await;
        assert_eq!(response.status(), StatusCode::OK, "{format} {total}: {}", String::from_utf8_lossy(&body));
        assert_eq!(header(&response, rdn::SENDER_BALANCE), Some(total.to_string().as_str()));
        assert_eq!(
            header(&response, PAYMENT_RESPONSE).is_some(),
            format == "x402",
            "{format}: answered in its own form"
        );
        assert_eq!(balance(&backend), U192::from(total));
    }
    // A proof already spent in one format is refused in the other.
    let (response, _) = send(&app, paying("/echofix/a", &offer, &payment(15))).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    assert_eq!(settlement(&response).refusal(), Some(Refusal::InvalidBalanceProof));
    let (response, _) = send(&app, with_payment(get("/echofix/a"), &payment(20))).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    assert_eq!(header(&response, Refusal::InvalidBalanceProof.header_name()), Some("invalid-balance-proof"));
    assert_eq!(balance(&backend), U192::from(20));
}

#[tokio::test]
async fn each_refusal_is_a_402_with_its_code_and_the_last_proof_only_for_the_signer() {
    let (app, backend) = demo();
    let offer = offer_of(&app, "/echofix/a").await;
    send(&app, paying("/echofix/a", &offer, &payment(5))).await;
    assert_eq!(balance(&backend), U192::from(5));
    let last_signature = payment(5).balance_signature;

    let stranger = payment_signed_by(&stranger_key(), 10);
    let mut unknown = payment(10);
    unknown.open_block_number = 999;
    let cases = [
        (payment(12), Refusal::InvalidAmount, true),
        (payment(5), Refusal::InvalidBalanceProof, true),
        (payment(25), Refusal::InsufficientFunds, true),
        (stranger, Refusal::InvalidBalanceProof, true),
        (unknown, Refusal::NonexistingChannel, false),
    ];
    for (paid, refusal, senders_channel) in cases {
        for fresh_status in [false, true] {
            let request = if fresh_status && senders_channel {
                paying_with_status("/echofix/a", &offer, &paid, &status_request())
            } else {
                paying("/echofix/a", &offer, &paid)
            };
            let (response, body) = send(&app, request).await;
            assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED, "{refusal:?}");
            assert_eq!(decoded(&response, PAYMENT_REQUIRED)["error"], refusal.x402_code(), "{refusal:?}");
            assert_eq!(offered(&response).offer, offer.offer, "the offer again, to pay it right");
            let settled = settlement(&response);
            assert!(!settled.success);
            assert_eq!(settled.error_reason.as_deref(), Some(refusal.x402_code()));
            assert_eq!(settled.error_message.as_deref(), Some(refusal.message()));
            assert_eq!(settled.payer, Some(paid.sender));
            assert_eq!(settled.refusal(), Some(refusal));
            assert_eq!(json(&body)["reason"], refusal.code(), "the JSON body as for RDN");
            if fresh_status && senders_channel {
                let last = settled.last_proof.expect("the signer's status request gets the last proof");
                assert_eq!(last.balance, U192::from(5), "{refusal:?}");
                assert_eq!(last.signature, Some(last_signature));
            } else {
                assert_eq!(settled.last_proof, None, "{refusal:?}: a payment's own signature proves nothing");
                assert!(header(&response, rdn::BALANCE_SIGNATURE).is_none());
            }
        }
    }
    *backend.force_refusal.lock().unwrap() = Some(Refusal::InsufficientConfirmations);
    let (response, _) = send(&app, paying("/echofix/a", &offer, &payment(10))).await;
    assert_eq!(settlement(&response).refusal(), Some(Refusal::InsufficientConfirmations));
    assert_eq!(balance(&backend), U192::from(5), "nothing refused was charged");
}

#[tokio::test]
async fn a_stale_or_foreign_status_request_in_the_payload_is_a_400() {
    let (app, backend) = demo();
    let offer = offer_of(&app, "/echofix/a").await;
    let now = unix_now();
    for (status, words) in [
        (status_request_by(&stranger_key(), now + 60), "neither the channel's sender"),
        (status_request_by(&sender_key(), now - 1), "expired"),
        (status_request_by(&sender_key(), now + 3_600), "more than 600 seconds"),
    ] {
        let (response, body) =
            send(&app, paying_with_status("/echofix/a", &offer, &payment(5), &status)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{words}");
        let message = json(&body)["message"].as_str().unwrap().to_owned();
        assert!(message.contains(words), "{message}");
        assert!(header(&response, PAYMENT_RESPONSE).is_none());
    }
    assert_eq!(balance(&backend), U192::ZERO);
}

#[tokio::test]
async fn malformed_payments_are_a_400_saying_what_is_wrong_and_charge_nothing() {
    let (app, backend) = demo();
    let offer = offer_of(&app, "/echofix/a").await;
    let good_text =
        String::from_utf8(STANDARD.decode(offer.payment_header(payload_json(&payment(5), None))).unwrap())
            .unwrap();
    let edited = |from: &str, to: &str| {
        assert!(good_text.contains(from), "{from}");
        STANDARD.encode(good_text.replace(from, to))
    };
    let signature = payment(5).balance_signature.to_hex();
    let cases = [
        ("not base64!".to_owned(), "not base64"),
        (STANDARD.encode("{\"x402Version\": 2,"), "not JSON"),
        (edited("\"x402Version\":2", "\"x402Version\":1"), "x402Version is 1"),
        (edited("\"x402Version\":2", "\"x402Version\":\"2\""), "x402Version is missing or not a number"),
        (edited("\"scheme\":\"uraiden\"", "\"scheme\":\"exact\""), "accepted.scheme"),
        (edited("\"openBlock\":", "\"openblock\":"), "payload.openBlock is missing"),
        (edited("\"balance\":\"5\"", "\"balance\":\"5.0\""), "payload.balance"),
        (edited(&signature, "0x1234"), "payload.balanceSignature"),
        (edited("\"sender\":\"", "\"sender\":\"0x0"), "payload.sender"),
    ];
    for (value, words) in cases {
        let (response, body) = send(&app, get("/echofix/a").header(PAYMENT_SIGNATURE, value)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{words}");
        let body = json(&body);
        assert_eq!(body["error"], "malformed payment");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(words), "{words} in {message}");
        assert!(message.contains("PAYMENT-REQUIRED"), "says where the terms are: {message}");
        assert!(!message.contains(&signature[10..]), "never echoes a signature: {message}");
    }
    // x402 v1's header, and two formats at once.
    let (response, body) = send(&app, get("/echofix/a").header(X_PAYMENT, "e30=")).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(json(&body)["message"].as_str().unwrap().contains("x402 version 2"));
    let both = with_payment(paying("/echofix/a", &offer, &payment(5)), &payment(5));
    let (response, body) = send(&app, both).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(json(&body)["message"].as_str().unwrap().contains("one payment, in one format"));
    assert_eq!(balance(&backend), U192::ZERO, "nothing was charged");
    // And the same proof, well-formed, still pays.
    let (response, _) = send(&app, paying("/echofix/a", &offer, &payment(5))).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_accepted_entry_that_is_not_the_offer_is_refused_and_the_offer_repeated() {
    let (app, backend) = demo();
    let offer = offer_of(&app, "/echofix/a").await;
    let cheaper_route = offer_of(&app, "/echodyn/a").await;
    assert_eq!(cheaper_route.offer.price, U192::from(1));
    let ours = offer.offer.clone();
    let elsewhere = Address::repeat_byte(0x99);
    let changed = [
        ("amount", UraidenOffer { price: U192::from(1), ..ours.clone() }),
        ("payTo", UraidenOffer { receiver: elsewhere, ..ours.clone() }),
        ("asset", UraidenOffer { token: elsewhere, ..ours.clone() }),
        ("network", UraidenOffer { chain_id: 1, ..ours.clone() }),
        ("extra.channelManager", UraidenOffer { contract: elsewhere, ..ours.clone() }),
    ];
    for (member, accepted) in changed {
        let forged = OfferedPayment { accepted: accepted.to_json(), ..offer.clone() };
        let (response, body) = send(&app, paying("/echofix/a", &forged, &payment(5))).await;
        assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED, "{member}");
        assert_eq!(decoded(&response, PAYMENT_REQUIRED)["error"], INVALID_PAYMENT_REQUIREMENTS);
        assert_eq!(offered(&response).offer, ours, "{member}: the real offer again");
        let settled = settlement(&response);
        assert_eq!(settled.error_reason.as_deref(), Some(INVALID_PAYMENT_REQUIREMENTS));
        let message = settled.error_message.unwrap();
        assert!(message.starts_with(&format!("accepted.{member} is")), "{message}");
        assert_eq!(json(&body)["error"], "payment required");
    }
    // The cheap route's offer does not buy the dear one, even with a proof of its price.
    let (response, _) = send(&app, paying("/echofix/a", &cheaper_route, &payment(1))).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    assert_eq!(balance(&backend), U192::ZERO, "nothing was charged");
}

#[tokio::test]
async fn cross_origin_apps_may_send_and_read_the_x402_headers() {
    let app_origin = "http://localhost:5173";
    let router = app(state_with(FakeBackend::healthy(), default_options()))
        .layer(cors_layer(&[app_origin.to_owned()]).unwrap().unwrap());
    let preflight = get("/echofix/a")
        .method(Method::OPTIONS)
        .header("origin", app_origin)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "access-control-expose-headers,payment-signature");
    let (response, _) = send(&router, preflight).await;
    assert_eq!(response.status(), StatusCode::OK);
    let allowed = header(&response, "access-control-allow-headers").unwrap().to_ascii_lowercase();
    assert!(
        allowed.contains("payment-signature") && allowed.contains("access-control-expose-headers"),
        "{allowed}"
    );
    let (response, _) = send(&router, get("/echofix/a").header("origin", app_origin)).await;
    let exposed = header(&response, "access-control-expose-headers").unwrap().to_ascii_lowercase();
    assert!(exposed.contains("payment-required") && exposed.contains("payment-response"), "{exposed}");
}

/// An upstream that says which payment headers reached it, and answers with a forged
/// `PAYMENT-RESPONSE` of its own.
async fn forging_upstream() -> String {
    let app = Router::new().route(
        "/base/{*rest}",
        routing::get(|headers: axum::http::HeaderMap| async move {
            let leaked: Vec<String> = headers
                .keys()
                .map(|name| name.as_str().to_owned())
                .filter(|name| {
                    name.starts_with("payment") || name.starts_with("x-payment") || name.starts_with("rdn-")
                })
                .collect();
            let forged = Settlement::paid(31337, Address::repeat_byte(7), U192::from(1), U192::from(999_999));
            ([(PAYMENT_RESPONSE, forged.to_header_value())], format!("leaked={leaked:?}"))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/base")
}

#[tokio::test]
async fn the_proxy_takes_x402_payments_and_keeps_them_from_the_upstream() {
    let upstream = forging_upstream().await;
    let config = ProxyConfig::parse(&format!(
        "upstream = \"{upstream}\"\n[[route]]\npath = \"/cdn/{{*rest}}\"\nprice = 5\n"
    ))
    .expect("valid config");
    let backend = FakeBackend::healthy();
    let app = config.router(&state_with(backend.clone(), default_options())).expect("router");
    let offer = offer_of(&app, "/cdn/file.txt").await;
    assert_eq!(offer.offer.price, U192::from(5));
    let (response, body) = send(&app, paying("/cdn/file.txt", &offer, &payment(5))).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(String::from_utf8(body).unwrap(), "leaked=[]", "the sender's proof stays here");
    assert_eq!(
        settlement(&response),
        Settlement::paid(31337, sender_key().address(), U192::from(5), U192::from(5)),
        "the receiver's settlement, not the upstream's"
    );
    assert_eq!(balance(&backend), U192::from(5));
}
