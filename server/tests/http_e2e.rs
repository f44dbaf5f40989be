//! The receiver end to end: a real anvil with the real contracts, the real channel manager,
//! and the HTTP server on 127.0.0.1:0, driven with reqwest as a client would; then the
//! `uraiden-server` binary itself, started and stopped with SIGTERM.

// The harness below panics as the failure report, like the tests themselves.
#![allow(clippy::unwrap_used)]

use std::{
    net::SocketAddr,
    os::unix::fs::PermissionsExt,
    time::{Duration, Instant},
};

use tokio::sync::oneshot;
use uraiden_e2e::TestChain;
use uraiden_protocol::{
    channel_manager_domain, header as rdn, recover_closing_proof_signer, request_deadline,
    x402::{
        names::{PAYMENT_REQUIRED, PAYMENT_RESPONSE, PAYMENT_SIGNATURE},
        payload_json, OfferedPayment, Settlement,
    },
    ChannelId, Eip712Domain, LocalSigningKey, PaymentHeaders, ProofSignature, Refusal, SignedCloseRequest,
    SignedStatusRequest, U192,
};
use uraiden_server::{ApiToken, ChannelManager, ChannelManagerConfig, ReceiverConfig, ReceiverError};

const RECEIVER: usize = 1;
const SENDER: usize = 2;
const STRANGER: usize = 3;
const DEPOSIT: u64 = 12;
const WAIT: Duration = Duration::from_secs(20);

struct Receiver {
    chain: TestChain,
    _dir: tempfile::TempDir,
    manager: ChannelManager,
    /// Serving, then stopping the chain follower and the duties.
    serving: tokio::task::JoinHandle<Result<(), ReceiverError>>,
    url: String,
    stop: oneshot::Sender<()>,
    domain: Eip712Domain,
}

fn key(chain: &TestChain, index: usize) -> LocalSigningKey {
    chain.signing_key(index)
}

impl Receiver {
    async fn start() -> Self {
        let chain = TestChain::start().await.expect("anvil starts and the contracts deploy");
        let dir = tempfile::tempdir().unwrap();
        let mut config = ChannelManagerConfig::new(
            chain.provider(chain.key(RECEIVER)),
            key(&chain, RECEIVER),
            chain.deployment.channel_manager,
            dir.path().join("receiver.db"),
            chain.deployment.deploy_block,
        );
        // anvil mines only on transactions and never reorgs: mined is enough.
        config.confirmations = 1;
        config.poll_interval = Duration::from_millis(20);
        config.balance_check_interval = Duration::from_millis(100);
        let mut config = ReceiverConfig::new(config);
        config.http.api_token = ApiToken::new("op");
        let receiver = uraiden_server::Receiver::start(config).await.expect("the receiver starts");
        let manager = receiver.manager().expect("a receiver on a chain").clone();
        let deployment = chain.deployment;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(receiver.run(listener, async move {
            let _ = stopped.await;
        }));
        let domain = channel_manager_domain(deployment.chain_id, deployment.channel_manager);
        Self { chain, _dir: dir, manager, serving, url: format!("http://{address}"), stop, domain }
    }

    async fn synced(&self) {
        let provider = self.chain.provider(self.chain.key(0));
        let head = alloy::providers::Provider::get_block_number(&provider).await.unwrap();
        assert!(self.manager.wait_for_block(head, WAIT).await, "the manager did not reach block {head}");
    }

    /// Funds the sender and opens a channel of `DEPOSIT` to the receiver.
    async fn open_channel(&self) -> ChannelId {
        self.chain.transfer_tokens(self.chain.address(SENDER), DEPOSIT).await;
        self.chain.open_channel(SENDER, self.chain.address(RECEIVER), DEPOSIT, None).await
    }

    fn payment(&self, signer: usize, channel: ChannelId, balance: u64) -> PaymentHeaders {
        self.chain.payment(&key(&self.chain, signer), channel, balance)
    }

    async fn get(&self, path: &str, payment: Option<&PaymentHeaders>) -> reqwest::Response {
        let mut request = reqwest::Client::new().get(format!("{}{path}", self.url));
        for (name, value) in payment.map(PaymentHeaders::to_header_pairs).unwrap_or_default() {
            request = request.header(name, value);
        }
        request.send().await.unwrap()
    }
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response.headers().get(name).map(|value| value.to_str().unwrap().to_owned())
}

fn refusal_of(response: &reqwest::Response) -> Vec<Refusal> {
    Refusal::ALL
        .into_iter()
        .filter(|refusal| response.headers().contains_key(refusal.header_name()))
        .collect()
}

#[tokio::test]
async fn pays_refuses_closes_and_reports_a_dead_node() {
    let mut receiver = Receiver::start().await;
    receiver.synced().await;
    let deployment = receiver.chain.deployment;

    // No payment: 402 with the values from the chain.
    let response = receiver.get("/echofix/hello", None).await;
    assert_eq!(response.status(), 402);
    assert_eq!(header(&response, rdn::TOKEN_ADDRESS), Some(deployment.token.to_checksum(None)));
    assert_eq!(header(&response, rdn::CONTRACT_ADDRESS), Some(deployment.channel_manager.to_checksum(None)));
    assert_eq!(header(&response, rdn::CHAIN_ID), Some(deployment.chain_id.to_string()));
    assert_eq!(header(&response, rdn::PRICE).as_deref(), Some("5"));

    let channel = receiver.open_channel().await;
    receiver.synced().await;

    // A valid payment: content, RDN headers, durable in the channel manager.
    let paid = receiver.payment(SENDER, channel, 5);
    let response = receiver.get("/echofix/hello", Some(&paid)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, rdn::SENDER_BALANCE).as_deref(), Some("5"));
    assert_eq!(header(&response, rdn::BALANCE_SIGNATURE), Some(paid.balance_signature.to_hex()));
    assert_eq!(header(&response, rdn::SENDER_ADDRESS), Some(channel.sender.to_checksum(None)));
    assert_eq!(response.text().await.unwrap(), "hello");
    assert_eq!(
        receiver.manager.channel(channel.sender, channel.open_block_number).unwrap().balance,
        U192::from(5)
    );

    // Refusals, each with its one header. None shows the last proof: a proof, even the
    // sender's, may be a replayed one; only a status request signed now sees it
    // (`http_close_auth.rs`).
    let mut unknown = receiver.payment(SENDER, channel, 10);
    unknown.open_block_number += 1000;
    unknown.balance_signature = receiver
        .payment(SENDER, ChannelId { open_block_number: unknown.open_block_number, ..channel }, 10)
        .balance_signature;
    for (payment, refusal, sees_last) in [
        (receiver.payment(SENDER, channel, 7), Refusal::InvalidAmount, false),
        (receiver.payment(SENDER, channel, 5), Refusal::InvalidBalanceProof, false),
        (receiver.payment(SENDER, channel, 15), Refusal::InsufficientFunds, false),
        (receiver.payment(STRANGER, channel, 10), Refusal::InvalidBalanceProof, false),
        (unknown, Refusal::NonexistingChannel, false),
    ] {
        let response = receiver.get("/echofix/hello", Some(&payment)).await;
        assert_eq!(response.status(), 402, "{refusal:?}");
        assert_eq!(refusal_of(&response), vec![refusal]);
        let balance = header(&response, rdn::SENDER_BALANCE);
        assert_eq!(balance.is_some(), sees_last, "{refusal:?}: {balance:?}");
        if sees_last {
            assert_eq!(header(&response, rdn::BALANCE_SIGNATURE), Some(paid.balance_signature.to_hex()));
        }
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["reason"], refusal.code());
    }

    // echodyn: the price is the parameter's length.
    let response = receiver.get("/echodyn/abc", Some(&receiver.payment(SENDER, channel, 8))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "abc");

    // Stats are public; listings need the token and show no signature.
    let stats: serde_json::Value =
        reqwest::get(format!("{}/api/1/stats", receiver.url)).await.unwrap().json().await.unwrap();
    assert_eq!(stats["open_channels"], 1);
    assert_eq!(stats["balance_sum"], "8");
    assert_eq!(stats["deposit_sum"], DEPOSIT.to_string());
    assert_eq!(stats["receiver_address"], receiver.chain.address(RECEIVER).to_checksum(None));
    let client = reqwest::Client::new();
    let listing = format!("{}/api/1/channels", receiver.url);
    assert_eq!(client.get(&listing).send().await.unwrap().status(), 401);
    let text = client.get(&listing).bearer_auth("op").send().await.unwrap().text().await.unwrap();
    assert!(text.contains("\"balance\":\"8\"") && !text.contains("signature"), "{text}");

    // Cooperative close: a balance proof, even the last, closes nothing; a close request the
    // sender signed now, over the last balance, gets the receiver's closing signature.
    let close_url =
        format!("{}/api/1/channels/{}/{}", receiver.url, channel.sender, channel.open_block_number);
    let last = receiver.payment(SENDER, channel, 8).balance_signature;
    let old_body = serde_json::json!({ "balance": "8", "balance_signature": last.to_hex() });
    assert_eq!(client.delete(&close_url).json(&old_body).send().await.unwrap().status(), 403);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let request = SignedCloseRequest::sign(
        &key(&receiver.chain, SENDER),
        &receiver.domain,
        channel,
        U192::from(8),
        request_deadline(now),
    )
    .unwrap();
    let body = serde_json::json!({
        "balance": "8",
        "deadline": request.deadline,
        "signature": request.signature.to_hex(),
    });
    let response = client.delete(&close_url).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let signature: ProofSignature = body["close_signature"].as_str().unwrap().parse().unwrap();
    let signer =
        recover_closing_proof_signer(&receiver.domain, &channel.closing_proof(U192::from(8)), &signature);
    assert_eq!(signer, Ok(receiver.chain.address(RECEIVER)));
    // The channel takes no more payments once the sender can close it.
    let response = receiver.get("/echofix/x", Some(&receiver.payment(SENDER, channel, 13))).await;
    assert_eq!(response.status(), 402);

    // The node goes away: once the background check notices, paywalled routes answer 502.
    receiver.chain.anvil.child_mut().kill().unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let response = receiver.get("/echofix/x", None).await;
        if response.status() == 502 {
            let body: serde_json::Value = response.json().await.unwrap();
            assert!(body["message"].as_str().unwrap().contains("not reachable"), "{body}");
            break;
        }
        assert!(Instant::now() < deadline, "no 502 after the node died");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let _ = receiver.stop.send(());
    receiver.serving.await.unwrap().unwrap();
}

/// What the receiver says it closes `channel` at: its closing signature over `balance`, for
/// a close request the sender signs now.
async fn closing_signature(receiver: &Receiver, channel: ChannelId, balance: u64) -> ProofSignature {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let key = key(&receiver.chain, SENDER);
    let request =
        SignedCloseRequest::sign(&key, &receiver.domain, channel, U192::from(balance), request_deadline(now))
            .unwrap();
    let body = serde_json::json!({
        "balance": balance.to_string(),
        "deadline": request.deadline,
        "signature": request.signature.to_hex(),
    });
    let url = format!("{}/api/1/channels/{}/{}", receiver.url, channel.sender, channel.open_block_number);
    let response = reqwest::Client::new().delete(&url).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    body["close_signature"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_channel_paid_through_x402_and_rdn_settles_on_chain_at_their_sum() {
    let receiver = Receiver::start().await;
    receiver.synced().await;
    let deployment = receiver.chain.deployment;
    let channel = receiver.open_channel().await;
    receiver.synced().await;

    let response = receiver.get("/echofix/a", None).await;
    assert_eq!(response.status(), 402);
    let offered =
        OfferedPayment::parse_header(&header(&response, PAYMENT_REQUIRED).unwrap()).unwrap().unwrap();
    assert_eq!(offered.offer.contract, deployment.channel_manager);
    assert_eq!(offered.offer.token, deployment.token);
    assert_eq!(offered.offer.chain_id, deployment.chain_id);
    assert_eq!(offered.offer.receiver, receiver.chain.address(RECEIVER));
    let pay_x402 = |payment: &PaymentHeaders, status: Option<&SignedStatusRequest>| {
        reqwest::Client::new()
            .get(format!("{}/echofix/a", receiver.url))
            .header(PAYMENT_SIGNATURE, offered.payment_header(payload_json(payment, status)))
            .send()
    };

    let first = receiver.payment(SENDER, channel, 5);
    let response = pay_x402(&first, None).await.unwrap();
    assert_eq!(response.status(), 200);
    let settled = Settlement::parse_header(&header(&response, PAYMENT_RESPONSE).unwrap()).unwrap();
    assert_eq!(settled.paid_balance(), Some(U192::from(5)));
    let second = receiver.payment(SENDER, channel, 10);
    assert_eq!(receiver.get("/echofix/a", Some(&second)).await.status(), 200, "RDN continues the channel");

    // Past the deposit of 12: refused, and the signer's status request gets the last proof.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let status =
        SignedStatusRequest::sign(&key(&receiver.chain, SENDER), &receiver.domain, channel, now + 60)
            .unwrap();
    let response = pay_x402(&receiver.payment(SENDER, channel, 15), Some(&status)).await.unwrap();
    assert_eq!(response.status(), 402);
    let refused = Settlement::parse_header(&header(&response, PAYMENT_RESPONSE).unwrap()).unwrap();
    assert_eq!(refused.refusal(), Some(Refusal::InsufficientFunds));
    let last = refused.last_proof.unwrap();
    assert_eq!((last.balance, last.signature), (U192::from(10), Some(second.balance_signature)));
    assert_eq!(
        receiver.manager.channel(channel.sender, channel.open_block_number).unwrap().balance,
        U192::from(10)
    );

    // On chain, the channel settles at 10: the receiver gets 10, the sender the rest.
    let receiver_before = receiver.chain.token_balance(receiver.chain.address(RECEIVER)).await;
    let sender_before = receiver.chain.token_balance(channel.sender).await;
    let closing = closing_signature(&receiver, channel, 10).await;
    receiver.chain.cooperative_close(SENDER, channel, 10, &second.balance_signature, &closing).await;
    let received = receiver.chain.token_balance(receiver.chain.address(RECEIVER)).await - receiver_before;
    let returned = receiver.chain.token_balance(channel.sender).await - sender_before;
    assert_eq!(
        (received, returned),
        (alloy::primitives::U256::from(10), alloy::primitives::U256::from(DEPOSIT - 10))
    );
    let _ = receiver.stop.send(());
}

#[tokio::test]
async fn the_binary_starts_from_the_command_line_and_stops_on_sigterm() {
    let chain = TestChain::start().await.expect("anvil starts and the contracts deploy");
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("receiver.key");
    std::fs::write(&key_file, alloy::hex::encode(chain.key(RECEIVER).to_bytes())).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_uraiden-server"))
        .args(["--private-key", key_file.to_str().unwrap()])
        .args(["--channel-manager-address", &chain.deployment.channel_manager.to_string()])
        .args(["--state-file", dir.path().join("s.db").to_str().unwrap()])
        .args(["--rpc-provider", chain.anvil.endpoint().as_str()])
        .args(["--start-block", &chain.deployment.deploy_block.to_string()])
        .args(["--poll-interval-ms", "100"])
        .args(["start", "--host", "127.0.0.1", "--port", "0"])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stderr));
    let address = tokio::time::timeout(WAIT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some((_, rest)) = line.split_once("listening on http://") {
                return rest.split_whitespace().next().unwrap().to_owned();
            }
        }
        panic!("the server exited before listening");
    })
    .await
    .expect("the server listens");

    // It serves the demo with the addresses it read from the node (502 until its first
    // health check has run).
    let deadline = Instant::now() + WAIT;
    let response = loop {
        let response = reqwest::get(format!("http://{address}/echofix/hi")).await.unwrap();
        if response.status() != 502 || Instant::now() > deadline {
            break response;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(response.status(), 402);
    assert_eq!(header(&response, rdn::TOKEN_ADDRESS), Some(chain.deployment.token.to_checksum(None)));

    let pid = child.id().unwrap().to_string();
    let killed = tokio::process::Command::new("kill").args(["-TERM", &pid]).status().await.unwrap();
    assert!(killed.success());
    let exit = tokio::time::timeout(WAIT, child.wait()).await.expect("stops after SIGTERM").unwrap();
    assert!(exit.success(), "{exit:?}");
}

#[tokio::test]
async fn the_binary_fails_clearly_when_the_node_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("receiver.key");
    std::fs::write(&key_file, "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80").unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_uraiden-server"))
        .args(["--private-key", key_file.to_str().unwrap()])
        .args(["--channel-manager-address", "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"])
        .args(["--state-file", dir.path().join("s.db").to_str().unwrap()])
        .args(["--rpc-provider", &format!("http://127.0.0.1:{port}")])
        .args(["start", "--port", "0"])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot read the chain id from the Ethereum node"), "{stderr}");
    assert!(!stderr.contains("ac0974bec39a17e3"), "the key leaks: {stderr}");
}
