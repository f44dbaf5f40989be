//! Slow and silent clients cannot take the receiver down (slowloris, descriptor exhaustion):
//! a client trickling its request head is cut off after the header timeout, silent and idle
//! connections are closed, more of them than the connection cap still leave room for a real
//! client, over HTTP and over TLS; and while such a flood holds connections the receiver
//! still disputes a sender's cheating close on a real chain.

// The harness below panics as the failure report, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod http_support;

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::primitives::U256;
use axum::routing::{get, post};
use http_support::*;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpStream,
    sync::oneshot,
    task::JoinHandle,
};
use uraiden_e2e::TestChain;
use uraiden_server::{
    ChannelManagerConfig, ChannelState, HttpConfig, HttpLimits, Price, Receiver, ReceiverConfig, Resources,
    TlsFiles,
};

/// The header timeout the tests configure: short, so that the tests are.
const HEADER_TIMEOUT: Duration = Duration::from_millis(800);
/// The connection cap the tests configure.
const MAX_CONNECTIONS: usize = 64;
/// Silent sockets a flood opens: more than the cap.
const FLOOD: usize = 100;
/// How long after the header timeout a connection may still be open before the test fails.
const GRACE: Duration = Duration::from_secs(2);
const WAIT: Duration = Duration::from_secs(30);

/// The limits under test: the header and handshake timeouts short, the cap low. No cap per
/// client address: the floods here come from the real client's own address, to test the
/// global cap (`attack_review_2_connections.rs` tests the one per address).
fn limits() -> HttpLimits {
    HttpLimits {
        max_connections: MAX_CONNECTIONS,
        max_connections_per_client: Some(usize::MAX),
        header_timeout: HEADER_TIMEOUT,
        tls_handshake_timeout: HEADER_TIMEOUT,
        ..HttpLimits::default()
    }
}

/// A receiver over the fake backend, on 127.0.0.1:0, over HTTP or TLS.
struct Served {
    address: SocketAddr,
    stop: oneshot::Sender<()>,
    serving: JoinHandle<()>,
    /// The self-signed certificate of a TLS server.
    certificate: Option<rcgen::CertifiedKey<rcgen::KeyPair>>,
    _dir: tempfile::TempDir,
}

impl Served {
    async fn start(tls: bool) -> Self {
        Self::start_with(tls, HttpConfig { limits: limits(), ..HttpConfig::default() }).await
    }

    async fn start_with(tls: bool, http: HttpConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let certificate =
            tls.then(|| rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap());
        let tls_files = certificate.as_ref().map(|certified| {
            let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
            std::fs::write(&cert, certified.cert.pem()).unwrap();
            std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
            TlsFiles { cert, key }
        });
        let http = HttpConfig { tls: tls_files, ..http };
        let receiver = Receiver::over_backend(FakeBackend::healthy(), gateway(), http).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(async move {
            receiver
                .run(listener, async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self { address, stop, serving, certificate, _dir: dir }
    }

    /// An HTTPS client that trusts only this server's certificate.
    fn client(&self) -> reqwest::Client {
        let mut builder = reqwest::Client::builder().resolve("localhost", self.address);
        if let Some(certified) = &self.certificate {
            builder = builder
                .tls_certs_only([reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap()]);
        }
        builder.build().unwrap()
    }

    fn url(&self, path: &str) -> String {
        let scheme = if self.certificate.is_some() { "https" } else { "http" };
        format!("{scheme}://localhost:{}{path}", self.address.port())
    }

    /// A TLS session over a new connection, trusting only this server's certificate.
    async fn tls_connect(&self) -> tokio_rustls::client::TlsStream<TcpStream> {
        let certified = self.certificate.as_ref().unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(certified.cert.der().clone()).unwrap();
        let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = TcpStream::connect(self.address).await.unwrap();
        connector.connect("localhost".try_into().unwrap(), tcp).await.unwrap()
    }

    async fn stop(self) {
        self.stop.send(()).unwrap();
        tokio::time::timeout(WAIT, self.serving).await.expect("the server stops").unwrap();
    }
}

/// Sends a request head one byte every 100 ms, never finishing it; returns how long the
/// server kept the connection open, or `None` if it still had after `give_up`.
async fn trickle_headers(
    stream: &mut (impl AsyncRead + AsyncWrite + Unpin),
    give_up: Duration,
) -> Option<Duration> {
    let started = Instant::now();
    let head = b"GET /echofix/slow HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";
    let mut bytes = head.iter().chain(std::iter::repeat(&b'a'));
    while started.elapsed() < give_up {
        let byte = *bytes.next().unwrap();
        if stream.write_all(&[byte]).await.is_err() || stream.flush().await.is_err() {
            return Some(started.elapsed());
        }
        let mut buffer = [0u8; 1024];
        // An answer (a 408, say) is fine; the connection must end.
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buffer)).await
        {
            return Some(started.elapsed());
        }
    }
    None
}

/// Waits until the server closes `stream` (EOF or reset), reading and discarding any answer.
async fn closed_by_server(stream: &mut (impl AsyncRead + Unpin)) {
    let mut buffer = [0u8; 1024];
    while let Ok(read) = stream.read(&mut buffer).await {
        if read == 0 {
            return;
        }
    }
}

/// Opens [`FLOOD`] connections that never send a byte.
async fn silent_flood(address: SocketAddr) -> Vec<TcpStream> {
    let mut sockets = Vec::with_capacity(FLOOD);
    for _ in 0..FLOOD {
        sockets.push(TcpStream::connect(address).await.unwrap());
    }
    sockets
}

/// Asserts that the server closes every one of `sockets` within `within`.
async fn all_closed_within<S: AsyncRead + Unpin>(sockets: &mut [S], within: Duration, what: &str) {
    let deadline = tokio::time::Instant::now() + within;
    for (index, socket) in sockets.iter_mut().enumerate() {
        assert!(
            tokio::time::timeout_at(deadline, closed_by_server(socket)).await.is_ok(),
            "{what} {index} of {} was still open {within:?} after the flood started",
            FLOOD
        );
    }
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off() {
    let server = Served::start(false).await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    let held = trickle_headers(&mut stream, HEADER_TIMEOUT + GRACE).await;
    assert!(
        held.is_some_and(|held| held < HEADER_TIMEOUT + GRACE),
        "a connection trickling its headers was still open after {:?}",
        HEADER_TIMEOUT + GRACE
    );
    server.stop().await;
}

#[tokio::test]
async fn a_client_trickling_its_headers_over_tls_is_cut_off() {
    let server = Served::start(true).await;
    let mut stream = server.tls_connect().await;
    let held = trickle_headers(&mut stream, HEADER_TIMEOUT + GRACE).await;
    assert!(
        held.is_some_and(|held| held < HEADER_TIMEOUT + GRACE),
        "a TLS connection trickling its headers was still open after {:?}",
        HEADER_TIMEOUT + GRACE
    );
    server.stop().await;
}

#[tokio::test]
async fn silent_and_idle_connections_are_closed_and_a_real_client_is_answered() {
    let server = Served::start(false).await;
    let started = Instant::now();
    let mut silent = silent_flood(server.address).await;
    // Keep-alive connections that got their answer and then say nothing.
    let mut idle = Vec::new();
    for _ in 0..8 {
        let mut stream = TcpStream::connect(server.address).await.unwrap();
        stream.write_all(b"GET /echofix/x HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
        let mut buffer = [0u8; 4096];
        let read = stream.read(&mut buffer).await.unwrap();
        assert!(buffer[..read].starts_with(b"HTTP/1.1 402"), "{}", String::from_utf8_lossy(&buffer[..read]));
        idle.push(stream);
    }

    let response = tokio::time::timeout(
        HEADER_TIMEOUT * 2 + GRACE,
        server.client().get(server.url("/echofix/x")).send(),
    )
    .await
    .expect("a real client is answered while more silent connections than the cap are open")
    .unwrap();
    assert_eq!(response.status(), 402);

    // Those beyond the cap wait to be accepted, so allow two header timeouts.
    all_closed_within(&mut silent, HEADER_TIMEOUT * 2 + GRACE, "silent connection").await;
    all_closed_within(&mut idle, HEADER_TIMEOUT + GRACE, "idle keep-alive connection").await;
    assert!(started.elapsed() < HEADER_TIMEOUT * 2 + GRACE * 2);
    server.stop().await;
}

#[tokio::test]
async fn silent_connections_to_tls_are_closed_and_a_real_client_is_answered() {
    let server = Served::start(true).await;
    let mut silent = silent_flood(server.address).await;
    let response = tokio::time::timeout(
        HEADER_TIMEOUT * 2 + GRACE,
        server.client().get(server.url("/echofix/x")).send(),
    )
    .await
    .expect("a real client is answered while more silent connections than the cap are open")
    .unwrap();
    assert_eq!(response.status(), 402);
    all_closed_within(&mut silent, HEADER_TIMEOUT * 2 + GRACE, "silent TLS connection").await;
    server.stop().await;
}

/// A handler slower than the request timeout: an unpaid request gets a 503, a paid one is
/// served all the same (its payment was committed), and an upload trickled slower than the
/// body timeout is cut off.
#[tokio::test]
async fn request_and_body_deadlines_spare_paid_requests() {
    async fn slow() -> &'static str {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        "done"
    }
    async fn upload(body: axum::body::Bytes) -> String {
        body.len().to_string()
    }
    let http = HttpConfig {
        resources: Resources::routes(|state| {
            axum::Router::new()
                .route("/slow-free", get(slow))
                .route("/slow-paid", get(slow).route_layer(state.paywall(Price::fixed(5))))
                .route("/upload", post(upload))
        }),
        limits: HttpLimits {
            request_timeout: Duration::from_millis(500),
            body_timeout: Duration::from_millis(500),
            ..limits()
        },
        ..HttpConfig::default()
    };
    let server = Served::start_with(false, http).await;
    let client = server.client();

    let free = client.get(server.url("/slow-free")).send().await.unwrap();
    assert_eq!(free.status(), 503, "an unpaid request slower than the request timeout is stopped");

    let mut paid = client.get(server.url("/slow-paid"));
    for (name, value) in payment(5).to_header_pairs() {
        paid = paid.header(name, value);
    }
    let paid = paid.send().await.unwrap();
    assert_eq!(paid.status(), 200, "a paid request is served however long it takes");
    assert_eq!(paid.text().await.unwrap(), "done");

    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream
        .write_all(b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    while started.elapsed() < GRACE * 2 {
        if stream.write_all(b"a").await.is_err() {
            break;
        }
        let mut buffer = [0u8; 1024];
        match tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(read)) => answer.extend_from_slice(&buffer[..read]),
            Err(_) => {}
        }
        if !answer.is_empty() {
            break;
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        started.elapsed() < Duration::from_millis(500) + GRACE && !answer.starts_with("HTTP/1.1 200"),
        "a trickled upload was not cut off: {answer:?} after {:?}",
        started.elapsed()
    );
    server.stop().await;
}

/// While a flood holds more connections than the cap (and keeps opening new ones), a sender
/// closes its channel at less than it paid: the receiver disputes on chain all the same,
/// because its node connections are its own, not the HTTP server's.
#[tokio::test]
async fn the_receiver_still_disputes_under_a_connection_flood() {
    const RECEIVER: usize = 1;
    const SENDER: usize = 2;
    let chain = TestChain::start().await.expect("anvil starts and the contracts deploy");
    let dir = tempfile::tempdir().unwrap();
    let mut config = ChannelManagerConfig::new(
        chain.provider(chain.key(RECEIVER)),
        chain.signing_key(RECEIVER),
        chain.deployment.channel_manager,
        dir.path().join("receiver.db"),
        chain.deployment.deploy_block,
    );
    // anvil mines only on transactions and never reorgs: mined is enough here.
    config.confirmations = 1;
    config.poll_interval = Duration::from_millis(20);
    config.balance_check_interval = Duration::from_millis(100);
    let mut config = ReceiverConfig::new(config);
    config.http.limits = limits();
    let receiver = Receiver::start(config).await.expect("the receiver starts");
    let manager = receiver.manager().expect("a receiver on a chain").clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(receiver.run(listener, async move {
        let _ = stopped.await;
    }));
    let url = format!("http://{address}");

    chain.transfer_tokens(chain.address(SENDER), 100).await;
    let channel = chain.open_channel(SENDER, chain.address(RECEIVER), 100, None).await;
    let head = chain.head().await;
    assert!(manager.wait_for_block(head, WAIT).await, "the receiver did not sync");
    let client = reqwest::Client::new();
    for balance in [5, 10] {
        let deadline = Instant::now() + WAIT;
        loop {
            let mut request = client.get(format!("{url}/echofix/x"));
            for (name, value) in chain.payment(&chain.signing_key(SENDER), channel, balance).to_header_pairs()
            {
                request = request.header(name, value);
            }
            let status = request.send().await.unwrap().status();
            if status == 200 {
                break;
            }
            // 502 until the first node health check.
            assert!(status == 502 && Instant::now() < deadline, "payment of {balance}: {status}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // The flood: more silent connections than the cap, renewed as the server sheds them.
    let (flood_stop, mut flood_stopped) = oneshot::channel::<()>();
    let flood = tokio::spawn(async move {
        let mut sockets = silent_flood(address).await;
        loop {
            tokio::select! {
                _ = &mut flood_stopped => return,
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
            // Replace a tenth of them, as an attacker keeping the server busy would.
            sockets.drain(..FLOOD / 10);
            for _ in 0..FLOOD / 10 {
                if let Ok(socket) = TcpStream::connect(address).await {
                    sockets.push(socket);
                }
            }
        }
    });

    let before = chain.token_balance(chain.address(RECEIVER)).await;
    chain.uncooperative_close(SENDER, channel, 5).await;
    let deadline = Instant::now() + WAIT;
    while manager.channel(channel.sender, channel.open_block_number).map(|c| c.state)
        != Some(ChannelState::Settled)
    {
        assert!(Instant::now() < deadline, "the cheating close was not disputed and settled under the flood");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(chain.token_balance(chain.address(RECEIVER)).await - before, U256::from(10u64));

    flood_stop.send(()).unwrap();
    flood.await.unwrap();
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}
