//! Attacks found by review that still succeed: each test here fails on the code it was
//! written against, showing the hole.

mod http_support;

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{extract::State, http::StatusCode, routing, Router};
use http_support::*;
use uraiden_protocol::U192;
use uraiden_server::ProxyConfig;

/// An upstream API with a side effect per call (sending a message, running a costly job):
/// it counts the calls it executed and takes a moment to answer, as real work does.
async fn counting_upstream(executed: Arc<AtomicUsize>) -> String {
    let app = Router::new()
        .fallback(routing::any(|State(executed): State<Arc<AtomicUsize>>| async move {
            executed.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(300)).await;
            "job done"
        }))
        .with_state(executed);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/base/")
}

/// A sender who pays once for a proxied route sends the same proof in many requests at once.
/// Every one passes the in-memory check (`looks_acceptable`) before any is stored, so the
/// upstream executes every one of them; only one is charged. Against an upstream whose calls
/// cost the operator (an LLM API, SMS gateway, a render job), one payment of 1 buys N calls,
/// and the receiver also buffers N full upstream answers in memory.
#[tokio::test]
async fn one_proof_sent_in_parallel_makes_the_proxy_run_the_upstream_once_per_request() {
    let executed = Arc::new(AtomicUsize::new(0));
    let upstream = counting_upstream(executed.clone()).await;
    let config = ProxyConfig::parse(&format!(
        "upstream = \"{upstream}\"\n[[route]]\npath = \"/job/{{*rest}}\"\nprice = 1\n"
    ))
    .expect("valid config");
    let backend = FakeBackend::healthy();
    let app = config.router(&state_with(backend.clone(), default_options())).expect("router");

    let proof = payment(1);
    const PARALLEL: usize = 8;
    let requests = (0..PARALLEL).map(|_| {
        let app = app.clone();
        let proof = proof.clone();
        async move { send(&app, with_payment(get("/job/run").method("POST"), &proof)).await }
    });
    let answers = futures_join_all(requests).await;
    let served = answers.iter().filter(|(response, _)| response.status() == StatusCode::OK).count();
    let charged = backend.channel.lock().expect("lock").balance;

    assert_eq!(served, 1, "one paid request is served");
    assert_eq!(charged, U192::from(1), "one payment is charged");
    assert_eq!(
        executed.load(Ordering::SeqCst),
        served,
        "the upstream executed {} paid jobs for {charged} token(s) charged",
        executed.load(Ordering::SeqCst)
    );
}

/// `join_all` without a futures dependency: spawn each on the runtime, await in order.
async fn futures_join_all<F, T>(futures: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.expect("task"));
    }
    out
}

/// An upstream job that takes longer than the receiver's request timeout but less than the
/// proxy's own upstream timeout (defaults: 30 s and 60 s). The request deadline drops the
/// proxied request after the upstream has started the work and answers 503 "nothing was
/// charged", so the same proof can be sent again, and again: the upstream runs the job every
/// time, the sender is never charged, and an honest client never gets the answer either.
#[tokio::test]
async fn a_job_slower_than_the_request_timeout_runs_upstream_for_free_again_and_again() {
    use uraiden_server::{HttpConfig, HttpLimits, Receiver, Resources};
    let executed = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .fallback(routing::any(|State(executed): State<Arc<AtomicUsize>>| async move {
            executed.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(800)).await;
            "job done"
        }))
        .with_state(executed.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = ProxyConfig::parse(&format!(
        "upstream = \"http://{address}/base/\"\n[[route]]\npath = \"/job/{{*rest}}\"\nprice = 1\n"
    ))
    .expect("valid config");
    // The same proportion as the defaults (request 30 s < upstream 60 s), scaled down.
    let limits = HttpLimits { request_timeout: Duration::from_millis(300), ..HttpLimits::default() };
    let http = HttpConfig { resources: Resources::Proxy(config), limits, ..HttpConfig::default() };
    let backend = FakeBackend::healthy();
    let receiver = Receiver::over_backend(backend.clone(), gateway(), http).await.expect("receiver");
    let router = receiver.router();

    let proof = payment(1);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let (response, _) = send(&router, with_payment(get("/job/run").method("POST"), &proof)).await;
        statuses.push(response.status());
    }
    // Let the upstream finish the jobs it was given.
    tokio::time::sleep(Duration::from_millis(900)).await;
    let charged = backend.channel.lock().expect("lock").balance;
    let runs = executed.load(Ordering::SeqCst);
    assert!(
        U192::from(runs) <= charged,
        "the upstream ran the job {runs} times for {charged} token(s) charged; answers: {statuses:?}"
    );
}

/// Slow read: a client that pipelines requests and never reads the answers. Once the answers
/// fill the socket buffers, the server blocks writing; no limit covers that (the header
/// timeout runs only while a head is awaited, the request timeout only until the answer is
/// produced), so the connection holds its slot for ever. As many such connections as
/// `--max-connections` (512 by default) take the receiver off the air for everyone: no
/// payment, no TLS, nothing but sockets needed.
#[tokio::test]
async fn clients_that_never_read_their_answers_hold_every_connection_slot_for_ever() {
    use tokio::io::AsyncWriteExt;
    use uraiden_server::{HttpConfig, HttpLimits, Receiver};
    let limits = HttpLimits {
        max_connections: 2,
        header_timeout: Duration::from_millis(300),
        body_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_millis(300),
        write_timeout: Duration::from_millis(300),
        ..HttpLimits::default()
    };
    let http = HttpConfig { limits, ..HttpConfig::default() };
    let receiver = Receiver::over_backend(FakeBackend::healthy(), gateway(), http).await.expect("receiver");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(receiver.run(listener, std::future::pending()));

    // Sockets with a tiny receive buffer, each pipelining paywall pages it never reads: a few
    // more than the cap, since the server ends some of them (not all).
    let request = "GET /echofix/x HTTP/1.1\r\nHost: localhost\r\nAccept: text/html\r\n\r\n".repeat(4000);
    let mut attackers = Vec::new();
    for _ in 0..8 {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("small receive buffer");
        let mut stream = socket.connect(address).await.expect("connect");
        let request = request.clone();
        attackers.push(tokio::spawn(async move {
            let _ = stream.write_all(request.as_bytes()).await;
            // Hold the connection, never read.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            drop(stream);
        }));
    }
    // Many times every timeout of the server.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let honest = reqwest::Client::new().get(format!("http://{address}/echofix/x")).send();
    let answer = tokio::time::timeout(Duration::from_secs(5), honest).await;
    for attacker in &attackers {
        attacker.abort();
    }
    let status = answer.map(|sent| sent.map(|response| response.status()));
    assert!(
        matches!(status, Ok(Ok(StatusCode::PAYMENT_REQUIRED))),
        "an honest client got no answer within 8 s (server timeouts: 300 ms) while slow readers held the connections: {status:?}"
    );
}

/// How common upstream servers read a request path before routing it: percent-decoded
/// (WSGI's `PATH_INFO`, Apache with `AllowEncodedSlashes On`, many frameworks) and with
/// `;parameters` dropped from each segment (Tomcat, Spring, Jetty).
fn as_upstreams_read_it(path: &str) -> String {
    let decoded = percent_decode(path);
    decoded
        .split('/')
        .map(|segment| segment.split(';').next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("/")
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' && index + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&text[index + 1..index + 3], 16) {
                out.push(byte);
                index += 3;
                continue;
            }
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A site that prices a part of a path more than the rest: `/docs/*` at 1, the more specific
/// `/docs/premium/*` at 10. The router matches the raw path, segment by segment, so a
/// premium path with its `/` percent-encoded (`/docs/premium%2Freport`) or with a `;`
/// parameter in a segment (`/docs/premium;x/report`) matches `/docs/{*rest}` and is paid at 1;
/// it is forwarded as written, and an upstream that decodes `%2F` or drops `;parameters`
/// serves `/docs/premium/report`. Only dot segments are refused before pricing.
#[tokio::test]
async fn a_premium_path_written_with_an_encoded_slash_or_a_segment_parameter_is_paid_at_the_cheap_price() {
    let asked = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let app = Router::new()
        .fallback(
            |State(asked): State<Arc<std::sync::Mutex<Vec<String>>>>, uri: axum::http::Uri| async move {
                asked.lock().expect("lock").push(uri.path().to_owned());
                "served"
            },
        )
        .with_state(asked.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = ProxyConfig::parse(&format!(
        "upstream = \"http://{address}/base/\"\n\
         [[route]]\npath = \"/docs/{{*rest}}\"\nprice = 1\n\
         [[route]]\npath = \"/docs/premium/{{*rest}}\"\nprice = 10\n"
    ))
    .expect("valid config");
    let backend = FakeBackend::healthy();
    let app = config.router(&state_with(backend.clone(), default_options())).expect("router");

    // The premium route does cost 10.
    let (response, _) = send(&app, get("/docs/premium/report")).await;
    assert_eq!(header(&response, uraiden_protocol::header::PRICE), Some("10"));

    let mut paid_cheaply = Vec::new();
    let mut balance = 0;
    for path in [
        "/docs/premium%2Freport",
        "/docs/premium%2freport",
        "/docs/premium;x/report",
        "/docs/premium;/report",
    ] {
        let (response, _) = send(&app, get(path)).await;
        let price = header(&response, uraiden_protocol::header::PRICE).map(str::to_owned);
        if response.status() == StatusCode::PAYMENT_REQUIRED && price.as_deref() == Some("1") {
            balance += 1;
            let (response, _) = send(&app, with_payment(get(path), &payment(balance))).await;
            let upstream_path = asked.lock().expect("lock").pop().unwrap_or_default();
            if response.status() == StatusCode::OK
                && as_upstreams_read_it(&upstream_path).starts_with("/base/docs/premium/")
            {
                paid_cheaply.push(format!("{path} -> upstream {upstream_path}"));
            }
        }
    }
    assert!(
        paid_cheaply.is_empty(),
        "premium content (price 10) paid at 1, the upstream reading the path as /docs/premium/…: {paid_cheaply:#?}"
    );
}
