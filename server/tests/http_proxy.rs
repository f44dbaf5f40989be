//! The paywalled proxy (`--proxy-config`): a real upstream on 127.0.0.1:0, the proxy's
//! router with the in-memory backend, through `oneshot` (so request targets reach it
//! exactly as written) or served on 127.0.0.1:0 (for the peer's address).

mod http_support;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{extract::State, http::StatusCode, response::IntoResponse, routing, Router};
use http_support::*;
use uraiden_protocol::{header as rdn, U192};
use uraiden_server::{HttpOptions, ProxyConfig};

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

/// What the recording upstream was asked: the request target exactly as it arrived, and the
/// headers.
#[derive(Clone, Debug)]
struct Asked {
    target: String,
    headers: axum::http::HeaderMap,
}

/// A real upstream on 127.0.0.1 that records every request and answers each with
/// `served <target>`, marked cacheable by anyone (as a CDN origin would). A request for a
/// path ending in `/together` waits until a second one arrives (or five seconds pass).
#[derive(Clone)]
struct RecordingUpstream {
    asked: Arc<Mutex<Vec<Asked>>>,
    together: Arc<tokio::sync::Barrier>,
}

impl RecordingUpstream {
    fn new() -> Self {
        Self { asked: Arc::default(), together: Arc::new(tokio::sync::Barrier::new(2)) }
    }

    fn app(&self) -> Router {
        Router::new().fallback(record).with_state(self.clone())
    }

    /// Serves on a free port; returns the base URL `http://127.0.0.1:N/base/`.
    async fn start(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let app = self.app();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{address}/base/")
    }

    /// The requests since the last call.
    fn take(&self) -> Vec<Asked> {
        std::mem::take(&mut *self.asked.lock().expect("lock"))
    }

    fn targets(&self) -> Vec<String> {
        self.take().into_iter().map(|asked| asked.target).collect()
    }
}

async fn record(
    State(upstream): State<RecordingUpstream>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> impl IntoResponse {
    let target = uri.to_string();
    upstream.asked.lock().expect("lock").push(Asked { target: target.clone(), headers });
    if uri.path().ends_with("/together") {
        let _ = tokio::time::timeout(Duration::from_secs(5), upstream.together.wait()).await;
    }
    (
        [
            ("cache-control", "public, max-age=3600"),
            ("cdn-cache-control", "max-age=3600"),
            ("surrogate-control", "max-age=3600"),
            ("connection", "x-upstream-hop"),
            ("x-upstream-hop", "for the proxy only"),
        ],
        format!("served {target}"),
    )
}

const CHEAP: u64 = 1;
const PREMIUM: u64 = 10;

/// A proxy with a cheap and a premium part of one upstream.
fn cheap_and_premium(upstream: &str, options: HttpOptions) -> (Router, Arc<FakeBackend>) {
    let config = ProxyConfig::parse(&format!(
        "upstream = \"{upstream}\"\n\
         [[route]]\npath = \"/cheap/{{*rest}}\"\nprice = {CHEAP}\n\
         [[route]]\npath = \"/premium/{{*rest}}\"\nprice = {PREMIUM}\n"
    ))
    .expect("valid config");
    let backend = FakeBackend::healthy();
    let app = config.router(&state_with(backend.clone(), options)).expect("router");
    (app, backend)
}

fn balance(backend: &FakeBackend) -> U192 {
    backend.channel.lock().expect("lock").balance
}

/// Serves `app` on 127.0.0.1 as `uraiden-server start` does (with the peer's address).
async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
    });
    format!("http://{address}")
}

#[tokio::test]
async fn dot_segments_are_refused_before_pricing_and_never_reach_the_upstream() {
    let upstream = RecordingUpstream::new();
    let base = upstream.start().await;
    let (app, backend) = cheap_and_premium(&base, default_options());

    let attacks = [
        "/cheap/../premium/report",
        "/cheap/%2e%2e/premium/report",
        "/cheap/%2E%2e/premium/report",
        "/cheap/.%2e/premium/report",
        "/cheap/%2E./premium/report",
        "/cheap/%252e%252e/premium/report",
        "/cheap/%25252E%25252E/premium/report",
        "/cheap/..%2fpremium/report",
        "/cheap/%2e%2e%2Fpremium/report",
        "/cheap/..\\premium/report",
        "/cheap/..%5Cpremium/report",
        "/cheap/..;/premium/report",
        "/cheap/./report",
        "/cheap/report/..",
        "/cheap/../../admin",
        "/cheap/%2e%2e/%2e%2e/admin",
        "/cheap/x/../../../admin?q=1",
    ];
    for attack in attacks {
        let (response, body) = send(&app, with_payment(get(attack), &payment(CHEAP))).await;
        let body = String::from_utf8_lossy(&body).into_owned();
        let asked = upstream.targets();
        assert!(
            asked.iter().all(|target| target.starts_with("/base/cheap/")),
            "{attack}: paid {CHEAP} for the cheap route, the upstream was asked for {asked:?} ({} {body})",
            response.status()
        );
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{attack}: {body}");
        assert!(asked.is_empty(), "{attack}: {asked:?}");
        assert!(body.contains("dot segment"), "{attack}: {body}");
        assert_eq!(balance(&backend), U192::ZERO, "{attack}: nothing is charged");
    }

    // Without a payment too: refused before any price is named.
    let (response, _) = send(&app, get("/premium/../cheap/x")).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(header(&response, rdn::PRICE), None);

    // Dots inside names are no dot segments.
    let mut paid = 0;
    for fine in ["/cheap/a..b/report", "/cheap/.well-known/x", "/cheap/.../x", "/cheap/v1.2/file.tar.gz?x=.."]
    {
        paid += CHEAP;
        let (response, body) = send(&app, with_payment(get(fine), &payment(paid))).await;
        assert_eq!(response.status(), StatusCode::OK, "{fine}: {}", String::from_utf8_lossy(&body));
        assert_eq!(upstream.targets(), vec![format!("/base{fine}")]);
    }
}

#[tokio::test]
async fn paid_answers_say_private_no_store_whatever_the_upstream_says() {
    let upstream = RecordingUpstream::new();
    let (app, _) = cheap_and_premium(&upstream.start().await, default_options());
    let (response, body) = send(&app, with_payment(get("/cheap/article"), &payment(CHEAP))).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(body, b"served /base/cheap/article");
    assert!(header(&response, rdn::BALANCE_SIGNATURE).is_some());
    assert_eq!(header(&response, "cache-control"), Some("private, no-store"));
    assert_eq!(header(&response, "cdn-cache-control"), None);
    assert_eq!(header(&response, "surrogate-control"), None);
}

#[tokio::test]
async fn hop_by_hop_and_client_forwarding_headers_stay_here() {
    let upstream = RecordingUpstream::new();
    let (app, _) = cheap_and_premium(&upstream.start().await, default_options());
    let proxy = serve(app).await;
    let mut request = reqwest::Client::new()
        .get(format!("{proxy}/cheap/page"))
        .header("connection", "keep-alive, x-hop-secret")
        .header("x-hop-secret", "for the next hop only")
        .header("x-forwarded-for", "203.0.113.7")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "bank.example")
        .header("forwarded", "for=203.0.113.7;proto=https")
        .header("x-real-ip", "203.0.113.7")
        .header("x-kept", "end to end");
    for (name, value) in payment(CHEAP).to_header_pairs() {
        request = request.header(name, value);
    }
    let response = request.send().await.expect("proxy answers");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let asked = upstream.take();
    assert_eq!(asked.len(), 1, "{asked:?}");
    let headers = &asked[0].headers;
    let value = |name: &str| headers.get(name).map(|value| value.to_str().expect("ASCII"));
    assert_eq!(value("x-kept"), Some("end to end"));
    assert_eq!(value("x-hop-secret"), None, "named in Connection: {headers:?}");
    assert_eq!(value("forwarded"), None);
    assert_eq!(value("x-real-ip"), None);
    assert_eq!(headers.get_all("x-forwarded-for").iter().count(), 1, "{headers:?}");
    assert_eq!(value("x-forwarded-for"), Some("127.0.0.1"), "the peer, not what the client claimed");
    assert_eq!(value("x-forwarded-proto"), Some("http"));
    assert_eq!(value("x-forwarded-host"), Some(proxy.trim_start_matches("http://")));
    // And back: what the upstream's `Connection` names is for the proxy alone.
    assert_eq!(response.headers().get("x-upstream-hop"), None, "{:?}", response.headers());
}

/// A port nothing listens on (bound, then released).
async fn closed_port() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("address")
}

#[tokio::test]
async fn an_upstream_that_never_answers_is_not_charged_and_the_same_proof_pays_later() {
    let address = closed_port().await;
    let (app, backend) = cheap_and_premium(&format!("http://{address}/base/"), default_options());
    let proof = payment(CHEAP);

    // Down: connection refused.
    let (response, body) = send(&app, with_payment(get("/cheap/report"), &proof)).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY, "{}", String::from_utf8_lossy(&body));
    assert_eq!(balance(&backend), U192::ZERO, "charged for an upstream that is down");
    let message = json(&body)["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("Nothing was charged"), "{message}");
    assert_eq!(header(&response, rdn::SENDER_BALANCE), None);

    // Up, but hanging up before its response head.
    let listener = tokio::net::TcpListener::bind(address).await.expect("rebind");
    let hang_up = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        let mut buffer = [0u8; 1024];
        let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut buffer).await;
        drop(socket);
        listener
    });
    let (response, _) = send(&app, with_payment(get("/cheap/report"), &proof)).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(balance(&backend), U192::ZERO, "charged for an upstream that hung up");

    // Back: the same proof pays.
    let listener = hang_up.await.expect("hang-up server");
    let upstream = RecordingUpstream::new();
    let app_upstream = upstream.app();
    tokio::spawn(async move { axum::serve(listener, app_upstream).await });
    let (response, body) = send(&app, with_payment(get("/cheap/report"), &proof)).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(body, b"served /base/cheap/report");
    assert_eq!(balance(&backend), U192::from(CHEAP));
    assert_eq!(header(&response, rdn::SENDER_BALANCE), Some("1"));
}

#[tokio::test]
async fn refused_payments_never_reach_the_upstream() {
    let upstream = RecordingUpstream::new();
    let (app, backend) = cheap_and_premium(&upstream.start().await, default_options());
    let mut unknown = payment(CHEAP);
    unknown.open_block_number += 1;
    for (what, proof) in [
        ("a stranger's signature", payment_signed_by(&stranger_key(), CHEAP)),
        ("the wrong amount", payment(CHEAP + 1)),
        ("beyond the deposit", payment(DEPOSIT + 1)),
        ("an unknown channel", unknown),
    ] {
        let (response, _) = send(&app, with_payment(get("/cheap/report"), &proof)).await;
        assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED, "{what}");
        assert_eq!(upstream.targets(), Vec::<String>::new(), "{what}");
    }
    assert_eq!(balance(&backend), U192::ZERO);
}

/// Two requests with one proof at once: only one reaches the upstream (one paid request per
/// channel is there at a time) and is stored and served; the other is turned away with 429
/// and nothing charged, without the content.
#[tokio::test]
async fn a_payment_that_loses_the_race_gets_no_content() {
    let upstream = RecordingUpstream::new();
    let (app, backend) = cheap_and_premium(&upstream.start().await, default_options());
    let proof = payment(CHEAP);
    let first = send(&app, with_payment(get("/cheap/together"), &proof));
    let second = send(&app, with_payment(get("/cheap/together"), &proof));
    let (first, second) = tokio::join!(first, second);
    let asked = upstream.take();
    assert!(asked.iter().all(|asked| !asked.headers.contains_key(rdn::BALANCE_SIGNATURE)), "{asked:?}");
    let mut statuses = [first.0.status(), second.0.status()];
    statuses.sort();
    let (loser, body) = if first.0.status() == StatusCode::OK { second } else { first };
    assert!(!String::from_utf8_lossy(&body).contains("served"), "the loser got the content");
    // The loser either met the winner at the upstream (429) or came after it was stored (402).
    match statuses {
        [StatusCode::OK, StatusCode::TOO_MANY_REQUESTS] => assert_eq!(asked.len(), 1, "{asked:?}"),
        [StatusCode::OK, StatusCode::PAYMENT_REQUIRED] => {
            assert_eq!(header(&loser, rdn::INVALID_BALANCE_PROOF), Some("invalid-balance-proof"));
        }
        other => panic!("expected one 200 and one refusal, got {other:?}"),
    }
    assert_eq!(balance(&backend), U192::from(CHEAP));
}
