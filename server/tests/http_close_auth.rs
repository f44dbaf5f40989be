//! Who may close a channel, or learn its last proof, over real HTTP against a real anvil
//! (issue: "a stranger holding any old proof can close someone's channel").
//!
//! Proofs leak (plain HTTP, cookies a page script reads, shared caches), so holding one, old
//! or even the last, must get a stranger neither the channel's last proof in a 402 nor the
//! receiver's closing signature. Only a fresh EIP-712 request of the channel's sender or
//! signer does: a `StatusRequest` for the last proof, a `CloseRequest` for the close.

// The harness below panics as the failure report, like the tests themselves.
#![allow(clippy::unwrap_used)]

use std::{net::SocketAddr, time::Duration};

use alloy::primitives::U256;
use tokio::sync::oneshot;
use uraiden_e2e::TestChain;
use uraiden_protocol::{
    header as rdn, recover_closing_proof_signer, request_deadline, Address, ChannelId, LocalSigningKey,
    PaymentHeaders, ProofSignature, Refusal, SignedCloseRequest, SignedStatusRequest, U192,
};
use uraiden_server::{ChannelManager, ChannelManagerConfig, ReceiverConfig, ReceiverError};

const RECEIVER: usize = 1;
const SENDER: usize = 2;
const SESSION_KEY: usize = 3;
const STRANGER: usize = 5;
const DEPOSIT: u64 = 30;
const WAIT: Duration = Duration::from_secs(20);

struct Receiver {
    chain: TestChain,
    _dir: tempfile::TempDir,
    manager: ChannelManager,
    /// Serving, then stopping the chain follower and the duties.
    serving: tokio::task::JoinHandle<Result<(), ReceiverError>>,
    url: String,
    stop: oneshot::Sender<()>,
    http: reqwest::Client,
}

impl Receiver {
    async fn start() -> Self {
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
        let receiver =
            uraiden_server::Receiver::start(ReceiverConfig::new(config)).await.expect("the receiver starts");
        let manager = receiver.manager().expect("a receiver on a chain").clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(receiver.run(listener, async move {
            let _ = stopped.await;
        }));
        let receiver = Self {
            chain,
            _dir: dir,
            manager,
            serving,
            url: format!("http://{address}"),
            stop,
            http: reqwest::Client::new(),
        };
        receiver.synced().await;
        receiver
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.serving.await.expect("serving ends").expect("serving ends cleanly");
    }

    async fn synced(&self) {
        let head = self.chain.head().await;
        assert!(self.manager.wait_for_block(head, WAIT).await, "the manager did not reach block {head}");
    }

    fn key(&self, index: usize) -> LocalSigningKey {
        self.chain.signing_key(index)
    }

    /// Opens a funded channel of [`DEPOSIT`] from [`SENDER`] (with a delegated `signer`) and
    /// waits until the receiver takes payments from it.
    async fn open_channel(&self, signer: Option<Address>) -> ChannelId {
        self.chain.transfer_tokens(self.chain.address(SENDER), DEPOSIT).await;
        let channel = self.chain.open_channel(SENDER, self.chain.address(RECEIVER), DEPOSIT, signer).await;
        self.synced().await;
        channel
    }

    fn payment(&self, signer: usize, channel: ChannelId, balance: u64) -> PaymentHeaders {
        self.chain.payment(&self.key(signer), channel, balance)
    }

    fn status_request(&self, signer: usize, channel: ChannelId, deadline: u64) -> SignedStatusRequest {
        SignedStatusRequest::sign(&self.key(signer), &self.chain.domain(), channel, deadline).unwrap()
    }

    fn close_request(
        &self,
        signer: usize,
        channel: ChannelId,
        balance: u64,
        deadline: u64,
    ) -> SignedCloseRequest {
        SignedCloseRequest::sign(
            &self.key(signer),
            &self.chain.domain(),
            channel,
            U192::from(balance),
            deadline,
        )
        .unwrap()
    }

    /// `GET /echofix/hello` with these headers.
    async fn get(&self, headers: Vec<(&'static str, String)>) -> reqwest::Response {
        let mut request = self.http.get(format!("{}/echofix/hello", self.url));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send().await.unwrap()
    }

    async fn pays(&self, payment: &PaymentHeaders) {
        let response = self.get(payment.to_header_pairs()).await;
        assert_eq!(response.status(), 200, "paying {}: {:?}", payment.balance, refusal_of(&response));
        assert_eq!(response.text().await.unwrap(), "hello");
    }

    /// `DELETE /api/1/channels/<sender>/<open_block>` with `body`: the status and JSON answer.
    async fn delete(&self, channel: ChannelId, body: serde_json::Value) -> (u16, serde_json::Value) {
        let response = self
            .http
            .delete(format!("{}/api/1/channels/{}/{}", self.url, channel.sender, channel.open_block_number))
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn balances(&self) -> [U256; 3] {
        let deployment = self.chain.deployment;
        [
            self.chain.token_balance(self.chain.address(SENDER)).await,
            self.chain.token_balance(self.chain.address(RECEIVER)).await,
            self.chain.token_balance(deployment.channel_manager).await,
        ]
    }
}

fn close_body(request: &SignedCloseRequest) -> serde_json::Value {
    serde_json::json!({
        "balance": request.balance.to_string(),
        "deadline": request.deadline,
        "signature": request.signature.to_hex(),
    })
}

/// The seed's close body: a balance proof.
fn proof_body(payment: &PaymentHeaders) -> serde_json::Value {
    serde_json::json!({
        "balance": payment.balance.to_string(),
        "balance_signature": payment.balance_signature.to_hex(),
    })
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response.headers().get(name).map(|value| value.to_str().unwrap().to_owned())
}

fn refusal_of(response: &reqwest::Response) -> Vec<Refusal> {
    Refusal::ALL.into_iter().filter(|r| response.headers().contains_key(r.header_name())).collect()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// The last proof a 402 names, if any: (`RDN-Sender-Balance`, `RDN-Balance-Signature`) and
/// the JSON body's `balance` / `balanceSignature`, which must agree.
async fn echoed_proof(response: reqwest::Response) -> Option<(String, Option<String>)> {
    let headers = (header(&response, rdn::SENDER_BALANCE), header(&response, rdn::BALANCE_SIGNATURE));
    let body: serde_json::Value = response.json().await.unwrap();
    let in_body =
        (body["balance"].as_str().map(str::to_owned), body["balanceSignature"].as_str().map(str::to_owned));
    assert_eq!(headers, in_body, "headers and JSON body agree: {body}");
    headers.0.map(|balance| (balance, headers.1))
}

#[tokio::test]
async fn a_stranger_with_an_old_proof_can_neither_learn_the_last_proof_nor_close_the_channel() {
    let receiver = Receiver::start().await;
    let before = receiver.balances().await;
    let channel = receiver.open_channel(None).await;

    // The sender pays three times; a stranger captured the first proof on the way.
    let captured = receiver.payment(SENDER, channel, 5);
    receiver.pays(&captured).await;
    receiver.pays(&receiver.payment(SENDER, channel, 10)).await;
    let last = receiver.payment(SENDER, channel, 15);
    receiver.pays(&last).await;

    // Replayed as a payment, the old proof is refused, and the 402 does not hand out the last one.
    let response = receiver.get(captured.to_header_pairs()).await;
    assert_eq!(response.status(), 402);
    assert_eq!(refusal_of(&response), vec![Refusal::InvalidBalanceProof]);
    assert_eq!(echoed_proof(response).await, None, "the replay of an old proof got the last proof");

    // Presented to the close API, neither the old proof nor even the last one closes the channel.
    for proof in [&captured, &last] {
        let (status, body) = receiver.delete(channel, proof_body(proof)).await;
        assert_eq!(status, 403, "a balance proof of {} closed the channel: {body}", proof.balance);
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("CloseRequest") && message.contains("deadline"), "{message}");
    }

    // The channel keeps taking the sender's payments.
    let twenty = receiver.payment(SENDER, channel, 20);
    receiver.pays(&twenty).await;

    // Close requests the receiver refuses: expired, too far ahead, by a stranger.
    let now = unix_now();
    for (request, why) in [
        (receiver.close_request(SENDER, channel, 20, now - 1), "expired"),
        (receiver.close_request(SENDER, channel, 20, now + 3_600), "more than 600 seconds"),
        (
            receiver.close_request(STRANGER, channel, 20, request_deadline(now)),
            "neither the channel's sender",
        ),
    ] {
        let (status, body) = receiver.delete(channel, close_body(&request)).await;
        assert_eq!(status, 403, "{why}: {body}");
        assert!(body["message"].as_str().unwrap().contains(why), "{why}: {body}");
    }
    // The sender's own request for a balance that is not the last: 409 with the last proof.
    let (status, body) = receiver
        .delete(channel, close_body(&receiver.close_request(SENDER, channel, 15, request_deadline(now))))
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["balance"], "20");
    assert_eq!(body["balance_signature"], twenty.balance_signature.to_hex());
    receiver.pays(&receiver.payment(SENDER, channel, 25)).await;
    let last = receiver.payment(SENDER, channel, 25);

    // The last proof is echoed only with a fresh status request of the sender: as a probe, or
    // with a refused payment.
    let stranger_status = receiver.status_request(STRANGER, channel, request_deadline(now));
    let response = receiver.get(stranger_status.to_header_pairs()).await;
    assert_eq!(response.status(), 409, "a stranger's status request");
    let status = receiver.status_request(SENDER, channel, request_deadline(now));
    let response = receiver.get(status.to_header_pairs()).await;
    assert_eq!(response.status(), 402);
    assert!(refusal_of(&response).is_empty(), "a probe is no refused payment");
    assert_eq!(echoed_proof(response).await, Some(("25".into(), Some(last.balance_signature.to_hex()))));
    let mut replay_with_status = captured.to_header_pairs();
    replay_with_status.extend(status.to_header_pairs());
    let response = receiver.get(replay_with_status).await;
    assert_eq!(refusal_of(&response), vec![Refusal::InvalidBalanceProof]);
    assert_eq!(echoed_proof(response).await, Some(("25".into(), Some(last.balance_signature.to_hex()))));
    let expired = receiver.status_request(SENDER, channel, now - 1);
    let response = receiver.get(expired.to_header_pairs()).await;
    assert_eq!(response.status(), 409);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("expired"), "{body}");

    // The sender's fresh close request gets the closing signature, and the channel closes on chain.
    let request = receiver.close_request(SENDER, channel, 25, request_deadline(unix_now()));
    let (status, body) = receiver.delete(channel, close_body(&request)).await;
    assert_eq!(status, 200, "{body}");
    let closing: ProofSignature = body["close_signature"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        recover_closing_proof_signer(
            &receiver.chain.domain(),
            &channel.closing_proof(U192::from(25u64)),
            &closing
        ),
        Ok(receiver.chain.address(RECEIVER))
    );
    // It takes no more payments above the closing balance.
    let response = receiver.get(receiver.payment(SENDER, channel, 30).to_header_pairs()).await;
    assert_eq!(refusal_of(&response), vec![Refusal::NonexistingChannel]);
    receiver.chain.cooperative_close(SENDER, channel, 25, &last.balance_signature, &closing).await;
    let after = receiver.balances().await;
    // The sender was given the deposit, paid 25 of it and got the rest back.
    assert_eq!(after[0] - before[0], U256::from(DEPOSIT - 25), "the sender paid exactly 25");
    assert_eq!(after[1] - before[1], U256::from(25u64), "the receiver got exactly 25");
    assert_eq!(after[2], before[2], "the contract holds nothing of the channel any more");
    receiver.stop().await;
}

#[tokio::test]
async fn the_channels_session_key_may_close_and_so_may_the_sender_of_an_unpaid_channel() {
    let receiver = Receiver::start().await;
    let session_key = receiver.chain.address(SESSION_KEY);
    let paid = receiver.open_channel(Some(session_key)).await;
    let unpaid = receiver.open_channel(None).await;

    let proof = receiver.payment(SESSION_KEY, paid, 5);
    receiver.pays(&proof).await;
    // The session key's status request gets the last proof.
    let status = receiver.status_request(SESSION_KEY, paid, request_deadline(unix_now()));
    let response = receiver.get(status.to_header_pairs()).await;
    assert_eq!(echoed_proof(response).await, Some(("5".into(), Some(proof.balance_signature.to_hex()))));

    // A close request by the session key is accepted.
    let request = receiver.close_request(SESSION_KEY, paid, 5, request_deadline(unix_now()));
    let (status, body) = receiver.delete(paid, close_body(&request)).await;
    assert_eq!(status, 200, "{body}");
    let closing: ProofSignature = body["close_signature"].as_str().unwrap().parse().unwrap();
    receiver.chain.cooperative_close(SENDER, paid, 5, &proof.balance_signature, &closing).await;

    // Nothing paid: the sender closes at zero with a close request, and a zero proof on chain.
    let request = receiver.close_request(SENDER, unpaid, 0, request_deadline(unix_now()));
    let (status, body) = receiver.delete(unpaid, close_body(&request)).await;
    assert_eq!(status, 200, "{body}");
    let closing: ProofSignature = body["close_signature"].as_str().unwrap().parse().unwrap();
    let zero = receiver.payment(SENDER, unpaid, 0);
    receiver.chain.cooperative_close(SENDER, unpaid, 0, &zero.balance_signature, &closing).await;
    receiver.stop().await;
}
