//! Serving over TLS (`--ssl-cert` / `--ssl-key`): a self-signed certificate made for the
//! test, the real server on 127.0.0.1:0, and a client that trusts only that certificate.
//! Under TLS the paywall's cookies carry `Secure`.

mod http_support;

use std::net::SocketAddr;

use http_support::*;
use uraiden_server::{load_tls, HttpConfig, Receiver, TlsFiles};

#[tokio::test]
async fn serves_https_with_secure_cookies_and_stops_gracefully() {
    let dir = tempfile::tempdir().expect("tempdir");
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("a certificate");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).expect("write cert");
    std::fs::write(&key, certified.signing_key.serialize_pem()).expect("write key");

    let http = HttpConfig {
        tls: Some(TlsFiles { cert, key }),
        api_token: default_options().api_token,
        ..HttpConfig::default()
    };
    let receiver =
        Receiver::over_backend(FakeBackend::healthy(), gateway(), http).await.expect("the PEM files load");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address: SocketAddr = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(receiver.run(listener, async move {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).expect("pem")])
        .resolve("localhost", address)
        .build()
        .expect("client");
    let response = client
        .get(format!("https://localhost:{}/echofix/hi", address.port()))
        .header("accept", "text/html")
        .send()
        .await
        .expect("an HTTPS answer");
    assert_eq!(response.status(), 402);
    let cookies: Vec<_> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect();
    assert_eq!(cookies.len(), 6, "{cookies:?}");
    assert!(cookies.iter().all(|cookie| cookie.ends_with("; Secure")), "{cookies:?}");

    // Plain HTTP to the TLS port gets no answer from the app.
    let plain = reqwest::get(format!("http://{address}/echofix/hi")).await;
    assert!(plain.map(|r| r.status() != 402).unwrap_or(true));

    stop.send(()).expect("server running");
    server.await.expect("no panic").expect("clean shutdown");
}

#[tokio::test]
async fn unreadable_certificates_are_reported_with_their_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = dir.path().join("missing-cert.pem");
    std::fs::write(dir.path().join("key.pem"), "not a key").expect("write");
    let Err(error) = load_tls(&cert, &dir.path().join("key.pem")).await else {
        panic!("unreadable PEM files were accepted");
    };
    let error = error.to_string();
    assert!(error.contains("missing-cert.pem") && error.contains("PEM"), "{error}");
}
