//! The paywalled proxy (`--proxy-config`): a real upstream on 127.0.0.1:0, the proxy's
//! router through `oneshot` with the in-memory backend.

mod http_support;

use axum::{http::StatusCode, routing, Router};
use http_support::*;
use uraiden_protocol::header as rdn;
use uraiden_server::proxy::ProxyConfig;

/// An upstream that echoes what it received: path, query, and whether RDN headers or cookies
/// reached it.
async fn upstream() -> String {
    let app = Router::new().route(
        "/base/cdn/{*rest}",
        routing::get(|uri: axum::http::Uri, headers: axum::http::HeaderMap| async move {
            let leaked = headers.keys().any(|name| name.as_str().starts_with("rdn-") || name == "cookie");
            ([("x-upstream", "yes")], format!("{} leaked={leaked}", uri))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/base")
}

#[tokio::test]
async fn paid_requests_are_forwarded_without_the_payment() {
    let upstream = upstream().await;
    let config = ProxyConfig::parse(&format!(
        "upstream = \"{upstream}\"\n[[route]]\npath = \"/cdn/{{*rest}}\"\nprice = 5\n"
    ))
    .expect("valid config");
    let state = state_with(FakeBackend::healthy(), default_options());
    let app = config.router(&state).expect("router");

    let (response, _) = send(&app, get("/cdn/file.txt")).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    assert_eq!(header(&response, rdn::PRICE), Some("5"));

    let (response, body) = send(&app, with_payment(get("/cdn/file.txt?x=1"), &payment(5))).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(String::from_utf8(body).expect("text"), "/base/cdn/file.txt?x=1 leaked=false");
    assert_eq!(header(&response, "x-upstream"), Some("yes"));
    assert_eq!(header(&response, rdn::SENDER_BALANCE), Some("5"));
}

#[test]
fn bad_upstreams_and_patterns_are_refused_at_startup() {
    let state = state_with(FakeBackend::healthy(), default_options());
    for upstream in ["not a url", "ftp://example.invalid/"] {
        let config =
            ProxyConfig::parse(&format!("upstream = \"{upstream}\"\n[[route]]\npath = \"/a\"\nprice = 1\n"))
                .expect("parses");
        assert!(config.router(&state).is_err(), "{upstream}");
    }
    for routes in
        ["path = \"/a/{\"\nprice = 1", "path = \"/dup\"\nprice = 1\n[[route]]\npath = \"/dup\"\nprice = 2"]
    {
        let config = ProxyConfig::parse(&format!("upstream = \"http://127.0.0.1:1\"\n[[route]]\n{routes}\n"))
            .expect("parses");
        assert!(config.router(&state).is_err(), "{routes}");
    }
}
