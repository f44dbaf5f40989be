//! The paywall's HTTP behaviour (SPEC §4) against an in-memory backend, through `oneshot`:
//! 402 as JSON and as the page with cookies, 409 per malformed header, 200 with the RDN
//! headers, each refusal's header, 502 from the health state, and the assets.

mod http_support;

use axum::{http::StatusCode, Router};
use http_support::*;
use uraiden_protocol::{header as rdn, Refusal};
use uraiden_server::{app, backend::HealthView, HttpOptions};

const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

fn demo() -> (Router, std::sync::Arc<FakeBackend>) {
    let backend = FakeBackend::healthy();
    (app(state_with(backend.clone(), default_options())), backend)
}

fn assert_paywall_headers(response: &axum::http::Response<()>, price: &str) {
    assert_eq!(header(response, rdn::GATEWAY_PATH), Some("/api/1"));
    assert_eq!(header(response, rdn::RECEIVER_ADDRESS), Some(receiver().to_checksum(None).as_str()));
    assert_eq!(header(response, rdn::CONTRACT_ADDRESS), Some(contract().to_checksum(None).as_str()));
    assert_eq!(header(response, rdn::TOKEN_ADDRESS), Some(token().to_checksum(None).as_str()));
    assert_eq!(header(response, rdn::PRICE), Some(price));
    assert_eq!(header(response, rdn::CHAIN_ID), Some("31337"));
}

fn reason_headers(response: &axum::http::Response<()>) -> Vec<&'static str> {
    Refusal::ALL
        .iter()
        .map(|r| r.header_name())
        .filter(|name| response.headers().contains_key(*name))
        .collect()
}

#[tokio::test]
async fn plain_client_gets_a_json_402_without_cookies() {
    let (app, _) = demo();
    let (response, body) = send(&app, get("/echofix/hello")).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    assert_paywall_headers(&response, "5");
    assert!(reason_headers(&response).is_empty());
    assert!(header(&response, "content-type").unwrap().starts_with("application/json"));
    assert!(set_cookies(&response).is_empty());
    let body = json(&body);
    assert_eq!(body["error"], "payment required");
    assert_eq!(body["reason"], serde_json::Value::Null);
    assert_eq!(body["price"], "5");
    assert_eq!(body["chainId"], 31337);
    assert_eq!(body["gatewayPath"], "/api/1");
    assert_eq!(body["receiver"], receiver().to_checksum(None));
    assert_eq!(body["contract"], contract().to_checksum(None));
    assert_eq!(body["token"], token().to_checksum(None));
    assert!(body["message"].as_str().unwrap().contains("costs 5"));
}

#[tokio::test]
async fn dynamic_price_is_the_parameter_length() {
    let (app, _) = demo();
    let (response, body) = send(&app, get("/echodyn/abcdefg")).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    assert_paywall_headers(&response, "7");
    assert_eq!(json(&body)["price"], "7");
}

#[tokio::test]
async fn browser_gets_the_page_with_info_cookies_only() {
    let (app, _) = demo();
    let (response, body) = send(&app, get("/echofix/hello").header("accept", BROWSER_ACCEPT)).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    assert_paywall_headers(&response, "5");
    assert!(header(&response, "content-type").unwrap().starts_with("text/html"));
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("/js/paywall.bundle.js"), "the embedded paywall page");
    assert!(page.contains("<script id=\"rdn-paywall-info\" type=\"application/json\">"));
    assert!(page.contains("\"price\":\"5\""));
    let cookies = set_cookies(&response);
    assert_eq!(cookies.len(), 6, "{cookies:?}");
    for name in [
        rdn::GATEWAY_PATH,
        rdn::RECEIVER_ADDRESS,
        rdn::CONTRACT_ADDRESS,
        rdn::TOKEN_ADDRESS,
        rdn::PRICE,
        rdn::CHAIN_ID,
    ] {
        let cookie =
            cookies.iter().find(|c| c.starts_with(&format!("{name}="))).unwrap_or_else(|| panic!("{name}"));
        assert!(cookie.ends_with("; Path=/; SameSite=Lax"), "{cookie}");
    }
    assert!(cookies.contains(&"RDN-Price=5; Path=/; SameSite=Lax".to_owned()));
}

#[tokio::test]
async fn cookies_are_secure_under_tls() {
    let options = HttpOptions { tls: true, ..default_options() };
    let app = app(state_with(FakeBackend::healthy(), options));
    let (response, _) = send(&app, get("/echofix/x").header("accept", "text/html")).await;
    let cookies = set_cookies(&response);
    assert_eq!(cookies.len(), 6);
    assert!(cookies.iter().all(|c| c.ends_with("; Secure")), "{cookies:?}");
}

#[tokio::test]
async fn the_info_cookies_sent_back_are_not_a_payment() {
    let (app, _) = demo();
    let (first, _) = send(&app, get("/echofix/x").header("accept", "text/html")).await;
    let cookie_line = set_cookies(&first)
        .iter()
        .map(|c| c.split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ");
    let (again, _) =
        send(&app, get("/echofix/x").header("accept", "text/html").header("cookie", cookie_line)).await;
    assert_eq!(again.status(), StatusCode::PAYMENT_REQUIRED, "a plain navigation stays a 402, not a 409");
}

#[tokio::test]
async fn paid_request_gets_the_content_and_the_rdn_headers() {
    let (app, backend) = demo();
    let payment = payment(5);
    let (response, body) = send(&app, with_payment(get("/echofix/hello"), &payment)).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(body, b"hello");
    assert_paywall_headers(&response, "5");
    assert_eq!(
        header(&response, rdn::SENDER_ADDRESS),
        Some(sender_key().address().to_checksum(None).as_str())
    );
    assert_eq!(header(&response, rdn::SENDER_BALANCE), Some("5"));
    assert_eq!(header(&response, rdn::BALANCE_SIGNATURE), Some(payment.balance_signature.to_hex().as_str()));
    assert!(set_cookies(&response).is_empty(), "a header payment touches no cookies");
    assert_eq!(backend.channel.lock().unwrap().balance, uraiden_protocol::U192::from(5));

    // The next payment continues from there; dynamic prices too.
    let (response, body) = send(&app, with_payment(get("/echodyn/abc"), &http_support::payment(8))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body, b"abc");
    assert_eq!(header(&response, rdn::SENDER_BALANCE), Some("8"));
}

#[tokio::test]
async fn payment_by_cookies_is_accepted_and_consumed() {
    let (app, _) = demo();
    let (response, body) = send(
        &app,
        get("/echofix/hello").header("accept", BROWSER_ACCEPT).header("cookie", as_cookies(&payment(5))),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(body, b"hello");
    let cookies = set_cookies(&response);
    for name in
        [rdn::SENDER_ADDRESS, rdn::OPEN_BLOCK, rdn::BALANCE, rdn::BALANCE_SIGNATURE, rdn::SENDER_BALANCE]
    {
        assert!(
            cookies.contains(&format!("{name}=; Path=/; Max-Age=0; SameSite=Lax")),
            "{name}: {cookies:?}"
        );
    }
}

#[tokio::test]
async fn each_malformed_header_kind_is_a_409_naming_it() {
    let (app, _) = demo();
    let good = payment(5);
    let cases = [
        (rdn::SENDER_ADDRESS, Some("0x1234"), "expected a 0x-prefixed 20-byte hex address"),
        (rdn::CONTRACT_ADDRESS, Some("nope"), "missing the 0x prefix"),
        (rdn::RECEIVER_ADDRESS, None, "missing"),
        (rdn::OPEN_BLOCK, Some("4294967296"), "too large"),
        (rdn::OPEN_BLOCK, None, "missing"),
        (rdn::BALANCE, Some("12a"), "decimal integer below 2^192"),
        (rdn::BALANCE_SIGNATURE, Some("0x00"), "RDN-Balance-Signature"),
        (rdn::BALANCE_SIGNATURE, None, "missing"),
        (rdn::PAYMENT, Some("-1"), "only the digits"),
    ];
    for (name, value, problem) in cases {
        let mut builder = get("/echofix/hello");
        for (header_name, header_value) in good.to_header_pairs() {
            if header_name != name {
                builder = builder.header(header_name, header_value);
            }
        }
        if let Some(value) = value {
            builder = builder.header(name, value);
        }
        let (response, body) = send(&app, builder).await;
        assert_eq!(response.status(), StatusCode::CONFLICT, "{name}={value:?}");
        let body = json(&body);
        assert_eq!(body["error"], "malformed payment");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(name) && message.contains(problem), "{name}: {message}");
        assert!(message.contains("Fix the RDN-* payment headers"), "{message}");
    }
}

#[tokio::test]
async fn wrong_contract_or_receiver_is_a_409_saying_which() {
    let (app, _) = demo();
    for (name, wrong) in [(rdn::CONTRACT_ADDRESS, "channel manager"), (rdn::RECEIVER_ADDRESS, "receiver")] {
        let mut payment = payment(5);
        if name == rdn::CONTRACT_ADDRESS {
            payment.contract = uraiden_protocol::Address::repeat_byte(0x99);
        } else {
            payment.receiver = uraiden_protocol::Address::repeat_byte(0x99);
        }
        let (response, body) = send(&app, with_payment(get("/echofix/x"), &payment)).await;
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let body = json(&body);
        assert_eq!(body["error"], "wrong receiver");
        let message = body["message"].as_str().unwrap();
        assert!(message.starts_with(name) && message.contains(wrong), "{message}");
    }
}

#[tokio::test]
async fn malformed_payment_cookies_are_expired_so_the_browser_recovers() {
    let (app, _) = demo();
    let (response, _) =
        send(&app, get("/echofix/x").header("accept", "text/html").header("cookie", "RDN-Open-Block=42"))
            .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let cookies = set_cookies(&response);
    assert!(cookies.contains(&"RDN-Open-Block=; Path=/; Max-Age=0; SameSite=Lax".to_owned()), "{cookies:?}");
}

#[tokio::test]
async fn each_refusal_names_exactly_one_reason() {
    let (app, backend) = demo();
    send(&app, with_payment(get("/echofix/a"), &payment(5))).await;

    let stranger = payment_signed_by(&stranger_key(), 10);
    let mut unknown = payment(10);
    unknown.open_block_number = 999;
    // The last proof only with a fresh status request of the channel's sender: a payment's
    // own signature proves nothing (an old proof replayed by whoever captured it has one).
    let cases = [
        (payment(12), Refusal::InvalidAmount, true),
        (payment(5), Refusal::InvalidBalanceProof, true),
        (payment(25), Refusal::InsufficientFunds, true),
        (stranger, Refusal::InvalidBalanceProof, true),
        (unknown, Refusal::NonexistingChannel, false),
    ];
    for (payment, refusal, senders_channel) in cases {
        for fresh_status in [false, true] {
            let mut request = with_payment(get("/echofix/a"), &payment);
            if fresh_status && senders_channel {
                request = with_status(request, &status_request());
            }
            let (response, body) = send(&app, request).await;
            assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED, "{refusal:?}");
            assert_eq!(reason_headers(&response), vec![refusal.header_name()], "{refusal:?}");
            assert_eq!(header(&response, refusal.header_name()), Some(refusal.code()));
            assert_paywall_headers(&response, "5");
            assert_eq!(
                header(&response, rdn::SENDER_ADDRESS),
                Some(payment.sender.to_checksum(None).as_str())
            );
            let body = json(&body);
            assert_eq!(body["reason"], refusal.code());
            assert_eq!(body["message"], refusal.message());
            if fresh_status && senders_channel {
                assert_eq!(header(&response, rdn::SENDER_BALANCE), Some("5"), "{refusal:?}");
                assert!(header(&response, rdn::BALANCE_SIGNATURE).is_some());
                assert_eq!(body["balance"], "5");
            } else {
                assert!(
                    header(&response, rdn::SENDER_BALANCE).is_none(),
                    "{refusal:?}: no status request, no last proof"
                );
                assert!(header(&response, rdn::BALANCE_SIGNATURE).is_none());
                assert!(body.get("balanceSignature").is_none());
            }
        }
    }

    *backend.force_refusal.lock().unwrap() = Some(Refusal::InsufficientConfirmations);
    let (response, _) = send(&app, with_payment(get("/echofix/a"), &payment(10))).await;
    assert_eq!(reason_headers(&response), vec![Refusal::InsufficientConfirmations.header_name()]);
}

#[tokio::test]
async fn a_status_probe_gets_the_last_proof_only_when_fresh_and_by_the_sender() {
    let (app, _) = demo();
    send(&app, with_payment(get("/echofix/a"), &payment(5))).await;
    let last = payment(5).balance_signature.to_hex();

    let (response, body) = send(&app, with_status(get("/echofix/a"), &status_request())).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    assert!(reason_headers(&response).is_empty(), "a probe is no refused payment");
    assert_eq!(header(&response, rdn::SENDER_BALANCE), Some("5"));
    assert_eq!(header(&response, rdn::BALANCE_SIGNATURE), Some(last.as_str()));
    assert_eq!(json(&body)["balanceSignature"], last);

    let now = unix_now();
    for (status, words) in [
        (status_request_by(&stranger_key(), now + 60), "neither the channel's sender"),
        (status_request_by(&sender_key(), now - 1), "expired"),
        (status_request_by(&sender_key(), now + 3_600), "more than 600 seconds"),
    ] {
        let (response, body) = send(&app, with_status(get("/echofix/a"), &status)).await;
        assert_eq!(response.status(), StatusCode::CONFLICT, "{words}");
        assert!(header(&response, rdn::BALANCE_SIGNATURE).is_none());
        let message = json(&body)["message"].as_str().unwrap().to_owned();
        assert!(message.contains(words) && message.contains("Nothing was charged"), "{message}");
    }
    // Half a status request is malformed.
    let (response, body) =
        send(&app, get("/echofix/a").header(rdn::STATUS_DEADLINE, (now + 60).to_string())).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(json(&body)["message"].as_str().unwrap().contains("RDN-Sender-Address: missing"));
}

#[tokio::test]
async fn refusal_to_a_browser_puts_the_reason_in_the_page() {
    let (app, _) = demo();
    let (response, body) =
        send(&app, get("/echofix/a").header("accept", "text/html").header("cookie", as_cookies(&payment(3))))
            .await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("\"reason\":\"invalid-amount\""), "{page}");
    let cookies = set_cookies(&response);
    assert!(
        cookies.iter().any(|c| c.starts_with("RDN-Balance-Signature=; Path=/; Max-Age=0")),
        "{cookies:?}"
    );
    assert!(
        !cookies.iter().any(|c| c.starts_with("RDN-Sender-Balance=") && !c.contains("Max-Age=0")),
        "the channel's values are never set as cookies: {cookies:?}"
    );
}

#[tokio::test]
async fn unhealthy_node_or_low_eth_is_a_502_saying_which() {
    let (app, backend) = demo();
    for (health, words) in [
        (HealthView { node_reachable: false, ..HealthView::default() }, "node is not reachable"),
        (
            HealthView { node_reachable: true, receiver_eth_low: true, ..HealthView::default() },
            "too little ETH",
        ),
    ] {
        *backend.health.lock().unwrap() = health;
        for request in [get("/echofix/a"), with_payment(get("/echofix/a"), &payment(5))] {
            let (response, body) = send(&app, request).await;
            assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
            assert!(header(&response, "retry-after").is_some());
            let body = json(&body);
            assert!(body["message"].as_str().unwrap().contains(words), "{body}");
        }
    }
    assert_eq!(backend.channel.lock().unwrap().balance, uraiden_protocol::U192::ZERO, "nothing was charged");
}

#[tokio::test]
async fn paywall_scripts_are_served_under_js() {
    let (app, _) = demo();
    let (response, body) = send(&app, get("/js/paywall.js")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(&response, "content-type").unwrap().contains("javascript"));
    assert!(String::from_utf8(body).unwrap().contains("rdn-paywall-info"));
    for missing in ["/js/nope.js", "/js/../index.html", "/js/%2e%2e/index.html"] {
        let (response, _) = send(&app, get(missing)).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{missing}");
    }
}

#[tokio::test]
async fn the_embedded_page_loads_its_module_and_styles_from_js() {
    let (app, _) = demo();
    let (_, body) = send(&app, get("/echofix/x").header("accept", BROWSER_ACCEPT)).await;
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains(r#"<script type="module" src="/js/paywall.bundle.js">"#), "an ES module");
    assert!(page.contains(r#"<link rel="preload" href="/js/uraiden-wasm/uraiden_wasm_bg.wasm""#));
    assert!(page.contains(r#"href="/js/paywall.css""#));
    assert!(!page.contains(" onclick="), "no inline handlers (CSP)");
    // The element contract the browser tests rely on.
    let ids = "status error price account token-balance channel-state channel-deposit channel-remaining \
               connect deposit session-key open pay topup-amount topup close close-uncooperative settle buy forget";
    for id in ids.split_whitespace() {
        assert!(page.contains(&format!("id=\"{id}\"")), "#{id}");
    }
    let (response, body) = send(&app, get("/js/paywall.css")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-type"), Some("text/css; charset=utf-8"));
    assert!(!body.is_empty());
    let (response, body) = send(&app, get("/js/paywall.bundle.js")).await;
    assert_eq!(header(&response, "content-type"), Some("text/javascript; charset=utf-8"));
    assert_eq!(header(&response, "x-content-type-options"), Some("nosniff"));
    let bundle = String::from_utf8(body).unwrap();
    assert!(bundle.contains("./uraiden-wasm/uraiden_wasm_bg.wasm"), "the wasm beside the bundle");
    assert!(bundle.contains("sourceMappingURL=paywall.bundle.js.map"));
    // The modules it was made from stay served, for its source map.
    let (response, body) = send(&app, get("/js/paywall.js")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(String::from_utf8(body).unwrap().contains("./uraiden-wasm/uraiden_wasm.js"));
}

#[tokio::test]
async fn wasm_and_module_scripts_get_their_content_types() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("js/uraiden-wasm")).unwrap();
    std::fs::write(dir.path().join("index.html"), "<html></html>").unwrap();
    std::fs::write(dir.path().join("js/uraiden-wasm/uraiden_wasm_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(dir.path().join("js/uraiden-wasm/uraiden_wasm.js"), "export default 1;").unwrap();
    std::fs::write(dir.path().join("js/lib.mjs"), "export {};").unwrap();
    let options = HttpOptions { paywall_dir: Some(dir.path().to_owned()), ..default_options() };
    let app = app(state_with(FakeBackend::healthy(), options));
    for (path, expected) in [
        ("/js/uraiden-wasm/uraiden_wasm_bg.wasm", "application/wasm"),
        ("/js/uraiden-wasm/uraiden_wasm.js", "text/javascript; charset=utf-8"),
        ("/js/lib.mjs", "text/javascript; charset=utf-8"),
    ] {
        let (response, _) = send(&app, get(path)).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&response, "content-type"), Some(expected), "{path}");
    }
    let (_, body) = send(&app, get("/js/uraiden-wasm/uraiden_wasm_bg.wasm")).await;
    assert_eq!(body, b"\0asm\x01\0\0\0");
}

#[tokio::test]
async fn paywall_info_directory_replaces_the_built_in_page() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("js")).unwrap();
    std::fs::write(dir.path().join("index.html"), "<html><head></head><body>operator's page</body></html>")
        .unwrap();
    std::fs::write(dir.path().join("js/custom.js"), "// operator's script").unwrap();
    let options = HttpOptions { paywall_dir: Some(dir.path().to_owned()), ..default_options() };
    let app = app(state_with(FakeBackend::healthy(), options));

    let (response, body) = send(&app, get("/echofix/x").header("accept", "text/html")).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("operator's page") && page.contains("rdn-paywall-info"), "{page}");
    let (response, body) = send(&app, get("/js/custom.js")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body, b"// operator's script");
    let (response, _) = send(&app, get("/js/paywall.js")).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "the directory replaces the built-in files");

    // Edited live: the next 402 shows the new page.
    std::fs::write(dir.path().join("index.html"), "<html><body>edited</body></html>").unwrap();
    let (_, body) = send(&app, get("/echofix/x").header("accept", "text/html")).await;
    assert!(String::from_utf8(body).unwrap().contains("edited"));
}

#[tokio::test]
async fn metrics_count_payments_and_refusals() {
    let (app, _) = demo();
    send(&app, with_payment(get("/echofix/a"), &payment(5))).await;
    send(&app, with_payment(get("/echofix/a"), &payment(7))).await;
    let (response, body) = send(&app, get("/metrics")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = String::from_utf8(body).unwrap();
    for line in [
        "uraiden_payments_accepted_total 1",
        "uraiden_payments_refused_total{reason=\"invalid-amount\"} 1",
        "uraiden_channels{state=\"open\"} 1",
        "uraiden_payment_verification_seconds_count 2",
    ] {
        assert!(text.contains(line), "missing {line:?}:\n{text}");
    }
}

/// A shared cache must never keep a paid answer: it would serve it to the next visitor for
/// free, or hand out the sender's proof. The handler's own caching headers do not count.
#[tokio::test]
async fn paid_answers_are_never_stored_by_shared_caches_whatever_the_handler_says() {
    use axum::{http::HeaderMap, routing::get as get_route};
    let backend = FakeBackend::healthy();
    let state = state_with(backend.clone(), default_options());
    let cacheable = || async {
        let mut headers = HeaderMap::new();
        headers.insert("cache-control", "public, max-age=3600".parse().unwrap());
        headers.insert("cdn-cache-control", "max-age=3600".parse().unwrap());
        headers.insert("cloudflare-cdn-cache-control", "max-age=3600".parse().unwrap());
        headers.insert("surrogate-control", "max-age=3600".parse().unwrap());
        (headers, "the paid article")
    };
    let app = Router::new()
        .route("/article", get_route(cacheable).route_layer(state.paywall(uraiden_server::Price::fixed(5))));

    let (response, body) = send(&app, with_payment(get("/article"), &payment(5))).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(body, b"the paid article");
    assert!(header(&response, rdn::BALANCE_SIGNATURE).is_some());
    assert_eq!(header(&response, "cache-control"), Some("private, no-store"), "a paid answer");
    for cdn_header in ["cdn-cache-control", "cloudflare-cdn-cache-control", "surrogate-control"] {
        assert_eq!(header(&response, cdn_header), None, "{cdn_header} would let a CDN keep it");
    }

    // Every other answer of the paywall, with or without the channel's values, is not
    // stored either.
    let refused = send(&app, with_payment(get("/article"), &payment(5))).await.0;
    let unpaid = send(&app, get("/article")).await.0;
    let malformed = send(&app, get("/article").header(rdn::OPEN_BLOCK, "x")).await.0;
    for (what, response) in [("refused", refused), ("unpaid", unpaid), ("malformed", malformed)] {
        assert_eq!(header(&response, "cache-control"), Some("private, no-store"), "{what}");
    }
}

/// Other applications on the same domain may set cookies this receiver cannot decode (UTF-8
/// text, or raw Latin-1 bytes): the payment cookies beside them are still read.
#[tokio::test]
async fn a_non_ascii_cookie_elsewhere_on_the_domain_does_not_hide_the_payment() {
    use axum::http::HeaderValue;
    let (app, backend) = demo();
    let utf8 = format!("theme=caf\u{e9}; {}; lang=\u{65e5}\u{672c}", as_cookies(&payment(5)));
    let latin1 =
        [b"name=Jos\xe9; ".as_slice(), as_cookies(&payment(10)).as_bytes(), b"; x=\xff\xfe"].concat();
    for (neighbours, line, balance) in [("UTF-8", utf8.into_bytes(), 5u64), ("Latin-1", latin1, 10)] {
        let cookie = HeaderValue::from_bytes(&line).unwrap();
        let (response, body) =
            send(&app, get("/echofix/hello").header("accept", BROWSER_ACCEPT).header("cookie", cookie)).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{neighbours} neighbours: {}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(body, b"hello");
        assert_eq!(backend.channel.lock().unwrap().balance, uraiden_protocol::U192::from(balance));
    }
}
