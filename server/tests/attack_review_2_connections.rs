//! Issue 9, second outside review: the connection cap attacked by one persistent client, and
//! the limit by client address over TLS.
//!
//! The slowloris fixes close silent connections after the header timeout and cap the
//! connections served at once; the tests in `slowloris.rs` send one flood and wait for it to
//! be closed. A client that keeps its flood up (reopening each connection the receiver
//! closes) from one address holds every slot, and keeps the kernel's accept queue full of
//! its own connections ahead of everyone else's: no one else is answered for as long as it
//! likes. The rate limit by client address cannot see it (silent connections make no
//! requests). The cap of connections per client address (`--max-connections-per-client`)
//! stops it: a connection over it is closed as soon as it is accepted.

// The harness below panics as the failure report, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod http_support;

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};

use http_support::*;
use tokio::{io::AsyncReadExt, net::TcpSocket, sync::oneshot, task::JoinSet};
use uraiden_server::{HttpConfig, HttpLimits, RateLimits, Receiver, TlsFiles};

const HEADER_TIMEOUT: Duration = Duration::from_millis(800);
const MAX_CONNECTIONS: usize = 8;
/// Connections the attacker keeps open or queued at all times.
const ATTACKER_CONNECTIONS: usize = 128;

fn from(host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, host))
}

/// Connects to `to` from `host`, waits until the server closes the connection (EOF, reset,
/// or a refused connect), and does it again, until aborted.
async fn keep_one_silent_connection(host: u8, to: SocketAddr) {
    loop {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(from(host), 0)).unwrap();
        if let Ok(mut stream) = socket.connect(to).await {
            let mut buffer = [0u8; 64];
            while matches!(stream.read(&mut buffer).await, Ok(read) if read > 0) {}
        } else {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A self-signed certificate for `localhost`, written where a receiver can load it.
struct Certificate {
    certified: rcgen::CertifiedKey<rcgen::KeyPair>,
    files: TlsFiles,
    _dir: tempfile::TempDir,
}

impl Certificate {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert, certified.cert.pem()).unwrap();
        std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
        Self { certified, files: TlsFiles { cert, key }, _dir: dir }
    }

    /// A client from `127.0.0.<host>` that trusts only this certificate, for `localhost`
    /// resolved to `address`.
    fn client(&self, host: u8, address: SocketAddr) -> reqwest::Client {
        reqwest::Client::builder()
            .local_address(from(host))
            .resolve("localhost", address)
            .tls_certs_only([reqwest::Certificate::from_pem(self.certified.cert.pem().as_bytes()).unwrap()])
            .build()
            .unwrap()
    }
}

/// One address (127.0.0.9) keeps [`ATTACKER_CONNECTIONS`] silent connections up (16 times
/// the cap; over TLS they hold handshakes) under the per-address rate limit of the README's
/// public example, while another address (127.0.0.10) asks for a page: it must be answered
/// within a few header timeouts, as it is after a one-shot flood.
async fn another_address_is_answered_while_one_reopens_silent_connections(tls: bool) {
    let certificate = tls.then(Certificate::new);
    let http = HttpConfig {
        limits: HttpLimits {
            max_connections: MAX_CONNECTIONS,
            header_timeout: HEADER_TIMEOUT,
            tls_handshake_timeout: HEADER_TIMEOUT,
            ..HttpLimits::default()
        },
        rate_limits: RateLimits {
            per_client_address: Some("50/1s,burst=100".parse().unwrap()),
            ..RateLimits::default()
        },
        tls: certificate.as_ref().map(|certificate| certificate.files.clone()),
        ..HttpConfig::default()
    };
    let receiver = Receiver::over_backend(FakeBackend::healthy(), gateway(), http).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(receiver.run(listener, async move {
        let _ = stopped.await;
    }));

    let mut attacker = JoinSet::new();
    for _ in 0..ATTACKER_CONNECTIONS {
        attacker.spawn(keep_one_silent_connection(9, address));
    }
    // Let the attacker's connections fill the slots and the queue.
    tokio::time::sleep(HEADER_TIMEOUT / 2).await;

    let request = match &certificate {
        Some(certificate) => {
            certificate.client(10, address).get(format!("https://localhost:{}/echofix/x", address.port()))
        }
        None => reqwest::Client::builder()
            .local_address(from(10))
            .build()
            .unwrap()
            .get(format!("http://{address}/echofix/x")),
    };
    let answered = tokio::time::timeout(HEADER_TIMEOUT * 4, request.send()).await;
    attacker.abort_all();
    while attacker.join_next().await.is_some() {}
    let _ = stop.send(());
    serving.await.unwrap().unwrap();

    let response = answered.unwrap_or_else(|_| {
        panic!(
            "another client was not answered within {:?} while one address kept {ATTACKER_CONNECTIONS} \
             silent connections up against a cap of {MAX_CONNECTIONS} (TLS: {tls})",
            HEADER_TIMEOUT * 4
        )
    });
    assert_eq!(response.unwrap().status(), 402);
}

#[tokio::test]
async fn one_address_reopening_silent_connections_locks_everyone_else_out() {
    another_address_is_answered_while_one_reopens_silent_connections(false).await;
}

#[tokio::test]
async fn one_address_reopening_silent_tls_handshakes_locks_everyone_else_out() {
    another_address_is_answered_while_one_reopens_silent_connections(true).await;
}

/// Whether the server closes `stream` (EOF or reset) within `within`, reading nothing.
async fn closed_within(stream: &mut tokio::net::TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 64];
    matches!(tokio::time::timeout(within, stream.read(&mut buffer)).await, Ok(Ok(0) | Err(_)))
}

/// The cap per client address, exactly: an address holding its cap of silent connections
/// gets its next one closed at once (the header timeout is far away), counted in
/// `uraiden_connections_refused_total`; another address is served meanwhile; once one of
/// the first address's connections ends, it may open another.
#[tokio::test]
async fn a_connection_over_its_address_cap_is_closed_at_once_and_counted() {
    const PER_CLIENT: usize = 3;
    let http = HttpConfig {
        limits: HttpLimits {
            max_connections: MAX_CONNECTIONS,
            max_connections_per_client: Some(PER_CLIENT),
            header_timeout: Duration::from_secs(600),
            ..HttpLimits::default()
        },
        ..HttpConfig::default()
    };
    let receiver = Receiver::over_backend(FakeBackend::healthy(), gateway(), http).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(receiver.run(listener, async move {
        let _ = stopped.await;
    }));
    let connect = |host: u8| async move {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(from(host), 0)).unwrap();
        socket.connect(address).await.unwrap()
    };
    // Accepted in the order they connect: the kernel's queue is first in, first out.
    let mut held = Vec::new();
    for _ in 0..PER_CLIENT {
        held.push(connect(20).await);
    }
    let mut over = connect(20).await;
    assert!(
        closed_within(&mut over, Duration::from_secs(10)).await,
        "a connection over the cap of {PER_CLIENT} per address was not closed at once"
    );
    for stream in &mut held {
        assert!(
            !closed_within(stream, Duration::from_millis(50)).await,
            "a connection within the cap was closed"
        );
    }

    let other = reqwest::Client::builder().local_address(from(21)).build().unwrap();
    let status = other.get(format!("http://{address}/echofix/x")).send().await.unwrap().status();
    assert_eq!(status, 402, "another address is served while one holds its cap");
    let metrics = other.get(format!("http://{address}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("uraiden_connections_refused_total 1\n"), "{metrics}");

    // The server sees the close and counts the connection no more: a request from the
    // address is served again (a try that races the close is refused; retry a few times).
    drop(held.pop());
    let again = reqwest::Client::builder().local_address(from(20)).build().unwrap();
    let mut served = None;
    for _ in 0..50 {
        if let Ok(response) = again.get(format!("http://{address}/echofix/x")).send().await {
            served = Some(response.status());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(held);
    let _ = stop.send(());
    serving.await.unwrap().unwrap();
    assert_eq!(served.map(|status| status.as_u16()), Some(402), "the address got its slot back");
}

/// Over TLS the limit by client address holds as over plain HTTP (the peer address is known
/// to every request of a TLS connection too), also for requests on one kept-alive connection.
#[tokio::test]
async fn the_client_address_limit_holds_over_tls() {
    let certificate = Certificate::new();
    let http = HttpConfig {
        tls: Some(certificate.files.clone()),
        rate_limits: RateLimits {
            per_client_address: Some("1/1h,burst=2".parse().unwrap()),
            ..RateLimits::default()
        },
        ..HttpConfig::default()
    };
    let receiver = Receiver::over_backend(FakeBackend::healthy(), gateway(), http).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(receiver.run(listener, async move {
        let _ = stopped.await;
    }));

    let client = |host: u8| certificate.client(host, address);
    let url = format!("https://localhost:{}/echofix/x", address.port());
    let same = client(11);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(same.get(&url).send().await.unwrap().status().as_u16());
    }
    // A new connection from the same address is the same client.
    statuses.push(client(11).get(&url).send().await.unwrap().status().as_u16());
    let other = client(12).get(&url).send().await.unwrap().status().as_u16();
    let _ = stop.send(());
    serving.await.unwrap().unwrap();
    assert_eq!(statuses, [402, 402, 429, 429]);
    assert_eq!(other, 402, "another address has its own budget");
}
