//! Issue 9, second outside review: the connection cap attacked by one persistent client, and
//! the limit by client address over TLS.
//!
//! The slowloris fixes close silent connections after the header timeout and cap the
//! connections served at once; the tests in `slowloris.rs` send one flood and wait for it to
//! be closed. A client that keeps its flood up (reopening each connection the receiver
//! closes) from one address holds every slot, and keeps the kernel's accept queue full of
//! its own connections ahead of everyone else's: no one else is answered for as long as it
//! likes. The rate limit by client address cannot see it (silent connections make no
//! requests), and there is no limit of connections per address.

// The harness below panics as the failure report, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod http_support;

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};

use http_support::*;
use tokio::{io::AsyncReadExt, net::TcpSocket, sync::oneshot, task::JoinSet};
use uraiden_server::{
    config::{HttpLimits, RateLimits},
    receiver::{HttpConfig, Receiver, TlsFiles},
};

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

/// One address keeps [`ATTACKER_CONNECTIONS`] silent connections up (16 times the cap) under
/// the per-address rate limit of the README's public example; another address asks for a
/// page. It must be answered within a few header timeouts, as it is after a one-shot flood.
#[tokio::test]
#[ignore = "open (issue 9 review 2): one client address that keeps reopening silent connections \
            holds every connection slot and fills the accept queue ahead of everyone else, so \
            other clients wait about (its queued connections / max_connections) header timeouts \
            for ever; the per-address rate limit never sees it. Fix: a cap of connections per \
            client address (e.g. --max-connections-per-address, default a fraction of \
            --max-connections), enforced by accepting and closing at once a connection over it, \
            so the accept loop keeps draining the queue"]
async fn one_address_reopening_silent_connections_locks_everyone_else_out() {
    let http = HttpConfig {
        limits: HttpLimits {
            max_connections: MAX_CONNECTIONS,
            header_timeout: HEADER_TIMEOUT,
            ..HttpLimits::default()
        },
        rate_limits: RateLimits {
            per_client_address: Some("50/1s,burst=100".parse().unwrap()),
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

    let mut attacker = JoinSet::new();
    for _ in 0..ATTACKER_CONNECTIONS {
        attacker.spawn(keep_one_silent_connection(9, address));
    }
    // Let the attacker's connections fill the slots and the queue.
    tokio::time::sleep(HEADER_TIMEOUT / 2).await;

    let client = reqwest::Client::builder().local_address(from(10)).build().unwrap();
    let answered =
        tokio::time::timeout(HEADER_TIMEOUT * 4, client.get(format!("http://{address}/echofix/x")).send())
            .await;
    attacker.abort_all();
    while attacker.join_next().await.is_some() {}
    let _ = stop.send(());
    serving.await.unwrap().unwrap();

    let response = answered.unwrap_or_else(|_| {
        panic!(
            "another client was not answered within {:?} while one address kept {ATTACKER_CONNECTIONS} \
             silent connections up against a cap of {MAX_CONNECTIONS}",
            HEADER_TIMEOUT * 4
        )
    });
    assert_eq!(response.unwrap().status(), 402);
}

/// Over TLS the limit by client address holds as over plain HTTP (the peer address is known
/// to every request of a TLS connection too), also for requests on one kept-alive connection.
#[tokio::test]
async fn the_client_address_limit_holds_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let http = HttpConfig {
        tls: Some(TlsFiles { cert, key }),
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

    let client = |host: u8| {
        reqwest::Client::builder()
            .local_address(from(host))
            .resolve("localhost", address)
            .tls_certs_only([reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap()])
            .build()
            .unwrap()
    };
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
