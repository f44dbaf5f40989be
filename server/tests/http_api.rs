//! The REST API at `/api/1` against an in-memory backend, through `oneshot`: public stats,
//! the operator's listings behind the bearer token (and without signatures), and the
//! cooperative close given only for a fresh close request over the last balance.

mod http_support;

use axum::{body::Body, http::StatusCode, Router};
use http_body_util::BodyExt;
use http_support::*;
use tower::ServiceExt;
use uraiden_server::{app, HttpOptions};

fn api(options: HttpOptions) -> (Router, std::sync::Arc<FakeBackend>) {
    let backend = FakeBackend::healthy();
    (app(state_with(backend.clone(), options)), backend)
}

fn channel_path() -> String {
    format!("/api/1/channels/{}/{OPEN_BLOCK}", sender_key().address())
}

#[tokio::test]
async fn stats_are_public_with_the_seed_fields() {
    let (app, _) = api(default_options());
    send(&app, with_payment(get("/echofix/a"), &payment(5))).await;
    let (response, body) = send(&app, get("/api/1/stats")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let stats = json(&body);
    assert_eq!(stats["balance_sum"], "5");
    assert_eq!(stats["deposit_sum"], DEPOSIT.to_string());
    assert_eq!(stats["open_channels"], 1);
    assert_eq!(stats["pending_channels"], 0);
    assert_eq!(stats["unique_senders"], 1);
    assert_eq!(stats["liquid_balance"], "1000");
    assert_eq!(stats["sync_block"], 99);
    assert_eq!(stats["token_address"], token().to_checksum(None));
    assert_eq!(stats["contract_address"], contract().to_checksum(None));
    assert_eq!(stats["receiver_address"], receiver().to_checksum(None));
    assert!(stats["manager_abi"].as_array().unwrap().iter().any(|item| item["name"] == "createChannel"));
    assert!(stats["token_abi"].as_array().unwrap().iter().any(|item| item["name"] == "approve"));
}

#[tokio::test]
async fn listings_need_the_bearer_token_and_show_no_signature() {
    let (app, _) = api(default_options());
    send(&app, with_payment(get("/echofix/a"), &payment(5))).await;
    let signature = payment(5).balance_signature.to_hex();
    let sender = sender_key().address();
    for path in ["/api/1/channels".to_owned(), format!("/api/1/channels/{sender}"), channel_path()] {
        let (response, body) = send(&app, get(&path)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(header(&response, "www-authenticate"), Some("Bearer"));
        assert!(json(&body)["message"].as_str().unwrap().contains("Bearer"));
        let (response, _) = send(&app, get(&path).header("authorization", "Bearer wrong")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");

        let (response, body) =
            send(&app, get(&path).header("authorization", format!("Bearer {API_TOKEN}"))).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let text = String::from_utf8(body.clone()).unwrap();
        assert!(!text.contains(&signature[2..]), "{path} leaks the signature: {text}");
        assert!(!text.contains("signature"), "{text}");
        let value = json(&body);
        let channel = if value.is_array() { value[0].clone() } else { value };
        assert_eq!(channel["sender_address"], sender.to_checksum(None));
        assert_eq!(channel["open_block"], OPEN_BLOCK);
        assert_eq!(channel["balance"], "5");
        assert_eq!(channel["deposit"], DEPOSIT.to_string());
        assert_eq!(channel["state"], "open");
    }
    let auth = format!("Bearer {API_TOKEN}");
    let (response, body) = send(&app, get("/api/1/channels/0xnope").header("authorization", &auth)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(json(&body)["message"].as_str().unwrap().contains("sender address"));
    let unknown = format!("/api/1/channels/{sender}/12345");
    let (response, _) = send(&app, get(&unknown).header("authorization", &auth)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let other = format!("/api/1/channels/{}", receiver());
    let (response, body) = send(&app, get(&other).header("authorization", &auth)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json(&body), serde_json::json!([]));
}

#[tokio::test]
async fn listings_are_off_without_a_configured_token() {
    let (app, _) = api(HttpOptions { api_token: None, ..default_options() });
    let (response, body) =
        send(&app, get("/api/1/channels").header("authorization", "Bearer anything")).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(json(&body)["message"].as_str().unwrap().contains("--api-token-file"));
    let (response, _) = send(&app, get("/api/1/stats")).await;
    assert_eq!(response.status(), StatusCode::OK, "stats stay public");
}

/// `DELETE`s the sender's channel with `body` as JSON.
async fn send_json(app: &Router, body: serde_json::Value) -> (StatusCode, serde_json::Value) {
    let request = axum::http::Request::builder()
        .method("DELETE")
        .uri(channel_path())
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("a valid request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("a body").to_bytes();
    (status, json(&bytes))
}

#[tokio::test]
async fn cooperative_close_only_for_a_fresh_close_request_over_the_last_balance() {
    let (app, backend) = api(default_options());
    send(&app, with_payment(get("/echofix/a"), &payment(5))).await;
    let first = payment(5).balance_signature.to_hex();
    send(&app, with_payment(get("/echofix/a"), &payment(10))).await;
    let last = payment(10).balance_signature.to_hex();

    // A balance proof, old or even the last one, closes nothing: proofs leak.
    for proof in [
        serde_json::json!({"balance": "5", "balance_signature": first}),
        serde_json::json!({"balance": 10, "balance_signature": last}),
    ] {
        let (status, body) = send_json(&app, proof).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body["message"].as_str().unwrap().contains("does not authorise a close"), "{body}");
    }
    // Stale, too far ahead, by a stranger: refused and said why.
    let now = unix_now();
    for (request, words) in [
        (close_request_by(&sender_key(), 10, now - 1), "expired"),
        (close_request_by(&sender_key(), 10, now + 601), "more than 600 seconds"),
        (close_request_by(&stranger_key(), 10, now + 60), "neither the channel's sender"),
    ] {
        let (status, body) = send_json(&app, serde_json::from_str(&close_body(&request)).unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{words}: {body}");
        assert!(body["message"].as_str().unwrap().contains(words), "{body}");
    }
    // The sender's own request for another balance: the 409 carries the last proof.
    let (status, body) = send_json(
        &app,
        serde_json::from_str(&close_body(&close_request_by(&sender_key(), 9, now + 60))).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        (body["balance"].as_str(), body["balance_signature"].as_str()),
        (Some("10"), Some(last.as_str()))
    );
    for bad in [
        serde_json::json!({"balance": "10"}),
        serde_json::json!({"balance": "x", "deadline": now, "signature": last}),
        serde_json::json!({"balance": "10", "deadline": "soon", "signature": last}),
        serde_json::json!({"balance": "10", "deadline": now, "signature": "0x1234"}),
        serde_json::json!("nope"),
    ] {
        let (status, body) = send_json(&app, bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"], "bad request");
    }
    assert!(!backend.channel.lock().unwrap().close_signed);

    // The sender's fresh request for the last balance gets the closing signature.
    let request = close_request_by(&sender_key(), 10, now + 300);
    let (status, body) = send_json(&app, serde_json::from_str(&close_body(&request)).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let close_signature: uraiden_protocol::ProofSignature =
        body["close_signature"].as_str().unwrap().parse().unwrap();
    let domain = uraiden_protocol::channel_manager_domain(CHAIN_ID, contract());
    let proof = channel_id().closing_proof(uraiden_protocol::U192::from(10));
    assert_eq!(
        uraiden_protocol::recover_closing_proof_signer(&domain, &proof, &close_signature),
        Ok(stranger_key().address())
    );
    assert!(backend.channel.lock().unwrap().close_signed);
}

#[tokio::test]
async fn unknown_channel_and_bad_paths_for_close() {
    let (app, _) = api(default_options());
    let body = close_body(&close_request_by(&sender_key(), 1, unix_now() + 60));
    for (uri, status) in [
        (format!("/api/1/channels/{}/8", sender_key().address()), StatusCode::NOT_FOUND),
        (format!("/api/1/channels/{}/-1", sender_key().address()), StatusCode::BAD_REQUEST),
        ("/api/1/channels/0x12/8".to_owned(), StatusCode::BAD_REQUEST),
    ] {
        let request =
            axum::http::Request::builder().method("DELETE").uri(&uri).body(Body::from(body.clone())).unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), status, "{uri}");
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert!(json(&bytes)["message"].is_string());
    }
    let (response, body) = send(&app, get("/api/1/nothing")).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(&body)["error"], "not found");
}

/// Collects what a test's tracing subscriber writes.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn wrong_operator_tokens_are_logged_at_most_once_a_minute() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
    tracing::subscriber::with_default(subscriber, || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let (app, _) = api(default_options());
            for guess in 0..50 {
                let request = get("/api/1/channels").header("authorization", format!("Bearer guess-{guess}"));
                let (response, _) = send(&app, request).await;
                assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            }
        });
    });
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    // Other tests of this binary may have used this minute's line already.
    let lines = logs.matches("wrong bearer token").count();
    assert!(lines <= 1, "{lines} warnings for 50 wrong tokens:\n{logs}");
}
