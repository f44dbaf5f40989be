//! `--cors-origin`: a page on another origin can pay with `fetch` (preflight allowed, the
//! RDN-* headers of a 402 and a 200 readable), and an origin not listed gets no grant.

mod http_support;

use axum::{
    http::{Method, StatusCode},
    Router,
};
use http_support::*;
use uraiden_server::{app, cors_layer};

const APP_ORIGIN: &str = "http://localhost:5173";

fn demo_with_cors(origins: &[&str]) -> Router {
    let origins: Vec<String> = origins.iter().map(|origin| origin.to_string()).collect();
    let router = app(state_with(FakeBackend::healthy(), default_options()));
    router.layer(cors_layer(&origins).expect("valid origins").expect("a layer for at least one origin"))
}

fn preflight(origin: &str) -> axum::http::request::Builder {
    get("/echofix/hello")
        .method(Method::OPTIONS)
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "rdn-balance,rdn-balance-signature,rdn-sender-address")
}

#[tokio::test]
async fn preflight_of_a_paying_request_is_allowed_for_a_listed_origin() {
    let app = demo_with_cors(&[APP_ORIGIN]);
    let (response, _) = send(&app, preflight(APP_ORIGIN)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "access-control-allow-origin"), Some(APP_ORIGIN));
    let allowed = header(&response, "access-control-allow-headers").unwrap().to_ascii_lowercase();
    for name in [
        "rdn-balance",
        "rdn-balance-signature",
        "rdn-sender-address",
        "rdn-open-block",
        "rdn-status-deadline",
        "rdn-status-signature",
    ] {
        assert!(allowed.contains(name), "{name} not allowed in {allowed}");
    }
}

#[tokio::test]
async fn a_402_exposes_its_terms_to_the_listed_origin() {
    let app = demo_with_cors(&[APP_ORIGIN]);
    let (response, _) = send(&app, get("/echofix/hello").header("origin", APP_ORIGIN)).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    assert_eq!(header(&response, "access-control-allow-origin"), Some(APP_ORIGIN));
    let exposed = header(&response, "access-control-expose-headers").unwrap().to_ascii_lowercase();
    for name in ["rdn-price", "rdn-receiver-address", "rdn-contract-address", "rdn-insufficient-funds"] {
        assert!(exposed.contains(name), "{name} not exposed in {exposed}");
    }
}

#[tokio::test]
async fn a_paid_request_from_the_origin_is_served_with_cors_headers() {
    let app = demo_with_cors(&["*"]);
    let request = with_payment(get("/echofix/hello").header("origin", APP_ORIGIN), &payment(5));
    let (response, body) = send(&app, request).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(body, b"hello");
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn an_origin_not_listed_gets_no_grant() {
    let app = demo_with_cors(&[APP_ORIGIN]);
    let (response, _) = send(&app, preflight("http://evil.example")).await;
    assert_eq!(header(&response, "access-control-allow-origin"), None);
    let (response, _) = send(&app, get("/echofix/hello").header("origin", "http://evil.example")).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    assert_eq!(header(&response, "access-control-allow-origin"), None);
}
