//! Issue 9, third outside review: the cap of connections per client address must never leak
//! a slot (an address locked out for good by its own broken connections), and the API's
//! request bodies are bounded.

// The harness below panics as the failure report, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod http_support;

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};

use http_support::*;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
    sync::oneshot,
};
use uraiden_server::{HttpConfig, HttpLimits, Receiver, ReceiverError, TlsFiles};

const PER_CLIENT: usize = 2;
const TIMEOUT: Duration = Duration::from_millis(400);
const ATTACKER: u8 = 30;

fn from(host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, host))
}

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

    fn client(&self, host: u8, address: SocketAddr) -> reqwest::Client {
        reqwest::Client::builder()
            .local_address(from(host))
            .resolve("localhost", address)
            .tls_certs_only([reqwest::Certificate::from_pem(self.certified.cert.pem().as_bytes()).unwrap()])
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
    }
}

struct Running {
    address: SocketAddr,
    stop: oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<Result<(), ReceiverError>>,
}

async fn start(tls: Option<TlsFiles>) -> Running {
    let http = HttpConfig {
        limits: HttpLimits {
            max_connections: 64,
            max_connections_per_client: Some(PER_CLIENT),
            header_timeout: TIMEOUT,
            body_timeout: TIMEOUT,
            tls_handshake_timeout: TIMEOUT,
            ..HttpLimits::default()
        },
        tls,
        ..HttpConfig::default()
    };
    let receiver = Receiver::over_backend(FakeBackend::healthy(), gateway(), http).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(receiver.run(listener, async move {
        let _ = stopped.await;
    }));
    Running { address, stop, serving }
}

async fn connect(host: u8, to: SocketAddr, reset_on_close: bool) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from(host), 0)).unwrap();
    if reset_on_close {
        // Closing then sends a RST instead of a FIN. (Deprecated for lingers that block the
        // thread on drop; a zero linger does not.)
        #[allow(deprecated)]
        socket.set_linger(Some(Duration::ZERO)).unwrap();
    }
    socket.connect(to).await.unwrap()
}

/// Reads until the server closes (or resets) the connection, at most a few timeouts.
async fn until_closed(stream: &mut TcpStream) {
    let mut buffer = [0u8; 1024];
    let _ = tokio::time::timeout(TIMEOUT * 4, async {
        while matches!(stream.read(&mut buffer).await, Ok(read) if read > 0) {}
    })
    .await;
}

/// Every way a client can break a connection, a few times each, from one address.
async fn break_connections(address: SocketAddr, tls: bool) {
    for round in 0..8 {
        // Connect and leave at once, with a FIN and with a RST.
        drop(connect(ATTACKER, address, false).await);
        drop(connect(ATTACKER, address, true).await);
        // Half a request head (over TLS: garbage for the handshake), then a RST.
        let mut half = connect(ATTACKER, address, true).await;
        let _ = half.write_all(b"GET /echofix/x HTTP/1.1\r\nHost: x\r\n").await;
        drop(half);
        // A TLS record header that promises a ClientHello that never comes, then a FIN.
        let mut hello = connect(ATTACKER, address, false).await;
        let _ = hello.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]).await;
        drop(hello);
        // A request with a body cut short, then a RST.
        let mut body = connect(ATTACKER, address, true).await;
        let _ = body
            .write_all(
                b"DELETE /api/1/channels/0x00/7 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"bal",
            )
            .await;
        drop(body);
        // Silent until the server gives up on it (header or handshake timeout).
        if round % 4 == 0 {
            let mut silent = connect(ATTACKER, address, false).await;
            until_closed(&mut silent).await;
        }
        // Plain HTTP to a TLS port, or a TLS hello to a plain port: the server answers or
        // closes; read it to the end.
        let mut wrong = connect(ATTACKER, address, false).await;
        let garbage: &[u8] = if tls {
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        } else {
            &[0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]
        };
        let _ = wrong.write_all(garbage).await;
        until_closed(&mut wrong).await;
    }
}

/// An address that broke every kind of connection (resets, half requests, bodies cut short,
/// failed and timed-out handshakes) gets its slots back: a normal request from it is served
/// once the server has seen the last of them end (a few timeouts at most).
async fn broken_connections_give_their_slots_back(tls: bool) {
    let certificate = tls.then(Certificate::new);
    let running = start(certificate.as_ref().map(|certificate| certificate.files.clone())).await;
    let address = running.address;
    break_connections(address, tls).await;

    let client = match &certificate {
        Some(certificate) => certificate.client(ATTACKER, address),
        None => reqwest::Client::builder()
            .local_address(from(ATTACKER))
            .pool_max_idle_per_host(0)
            .build()
            .unwrap(),
    };
    let url = match tls {
        true => format!("https://localhost:{}/echofix/x", address.port()),
        false => format!("http://{address}/echofix/x"),
    };
    // The server may still be timing out the last silent one: retry for a few timeouts.
    let mut served = None;
    for _ in 0..40 {
        if let Ok(response) = client.get(&url).send().await {
            served = Some(response.status().as_u16());
            break;
        }
        tokio::time::sleep(TIMEOUT / 8).await;
    }
    // And it keeps being served, request after request on new connections.
    let mut again = Vec::new();
    for _ in 0..(PER_CLIENT * 3) {
        again.push(client.get(&url).send().await.map(|response| response.status().as_u16()).ok());
    }
    let _ = running.stop.send(());
    running.serving.await.unwrap().unwrap();
    assert_eq!(served, Some(402), "the address was locked out after its broken connections (TLS: {tls})");
    assert!(again.iter().all(|status| *status == Some(402)), "{again:?} (TLS: {tls})");
}

#[tokio::test]
async fn broken_http_connections_give_their_address_slots_back() {
    broken_connections_give_their_slots_back(false).await;
}

#[tokio::test]
async fn broken_tls_connections_give_their_address_slots_back() {
    broken_connections_give_their_slots_back(true).await;
}

/// A close request body of 8 MiB (JSON padded with spaces) is refused as too large without
/// being read whole, and the receiver answers the next request.
#[tokio::test]
async fn an_oversized_api_body_is_refused() {
    let running = start(None).await;
    let address = running.address;
    let channel = channel_id();
    let url = format!("http://{address}/api/1/channels/{}/{}", channel.sender, channel.open_block_number);
    let mut body = String::from("{\"balance\": \"1\", \"deadline\": 1, \"signature\": \"0x00\"");
    body.push_str(&" ".repeat(8 << 20));
    body.push('}');
    let client = reqwest::Client::builder().local_address(from(31)).build().unwrap();
    let status = client.delete(&url).body(body).send().await.map(|response| response.status().as_u16());
    let next = client.get(format!("http://{address}/echofix/x")).send().await.unwrap().status().as_u16();
    let _ = running.stop.send(());
    running.serving.await.unwrap().unwrap();
    // The server may also cut the connection while the body is still being sent.
    assert!(matches!(status, Ok(413) | Err(_)), "an 8 MiB close request body got {status:?}");
    assert_eq!(next, 402);
}
