//! The receiver's whole money path over real HTTP, against a real anvil with the real
//! contracts and a channel manager that waits for 2 confirmations: refused without payment,
//! refused until the channel is confirmed, paid, refused beyond the deposit, topped up
//! (refused until the top-up is confirmed), paid again, closed cooperatively on chain with
//! the receiver's signature from the HTTP API, and refused once the sync sees it settled.

// The harness below panics as the failure report, like the tests themselves.
#![allow(clippy::unwrap_used)]

use std::{
    future::Future,
    net::SocketAddr,
    time::{Duration, Instant},
};

use alloy::primitives::{Bytes, U256};
use tokio::sync::oneshot;
use uraiden_e2e::{ChannelManagerInstance, TestChain};
use uraiden_protocol::{
    channel_manager_domain, header as rdn, recover_closing_proof_signer, request_deadline, Address,
    ChannelId, Eip712Domain, LocalSigningKey, PaymentHeaders, ProofSignature, Refusal, SignedCloseRequest,
    U192,
};
use uraiden_server::{
    ApiToken, ChannelManager, ChannelManagerConfig, ChannelState, ReceiverConfig, ReceiverError,
};

const RECEIVER: usize = 1;
const SENDER: usize = 2;
const DEPOSIT: u64 = 12;
const TOP_UP: u64 = 8;
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
    LocalSigningKey::from_bytes(&chain.key(index).to_bytes()).unwrap()
}

/// Polls `condition` until it holds or [`WAIT`] passes.
async fn eventually<F: Future<Output = bool>>(what: &str, mut condition: impl FnMut() -> F) {
    let deadline = Instant::now() + WAIT;
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
        config.confirmations = 2;
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

    async fn head(&self) -> u64 {
        self.chain.head().await
    }

    /// Waits until the manager has read the chain up to its current head.
    async fn synced(&self) {
        let head = self.head().await;
        assert!(self.manager.wait_for_block(head, WAIT).await, "the manager did not reach block {head}");
    }

    async fn mine(&self, blocks: u64) {
        self.chain.mine(blocks).await
    }

    fn contract(&self, index: usize) -> ChannelManagerInstance {
        self.chain.channel_manager(index)
    }

    async fn balance_of(&self, who: Address) -> U256 {
        self.chain.token_balance(who).await
    }

    /// Account 0 (who holds the supply) gives the sender `amount` tokens.
    async fn fund_sender(&self, amount: u64) {
        self.chain.transfer_tokens(self.chain.address(SENDER), amount).await
    }

    /// Approves and opens a channel of `deposit` to the receiver; returns its id.
    async fn open_channel(&self, deposit: u64) -> ChannelId {
        self.chain.open_channel(SENDER, self.chain.address(RECEIVER), deposit, None).await
    }

    /// Approves and tops the channel up by `added`.
    async fn top_up(&self, channel: ChannelId, added: u64) {
        self.chain.top_up(SENDER, channel, added).await
    }

    fn payment(&self, channel: ChannelId, balance: u64) -> PaymentHeaders {
        self.chain.payment(&self.chain.signing_key(SENDER), channel, balance)
    }

    async fn get(&self, path: &str, payment: Option<&PaymentHeaders>) -> reqwest::Response {
        let mut request = reqwest::Client::new().get(format!("{}{path}", self.url));
        for (name, value) in payment.map(PaymentHeaders::to_header_pairs).unwrap_or_default() {
            request = request.header(name, value);
        }
        request.send().await.unwrap()
    }

    /// Pays `/echofix/hello` and expects 200 with the content and the new balance.
    async fn pays(&self, payment: &PaymentHeaders) {
        let response = self.get("/echofix/hello", Some(payment)).await;
        assert_eq!(response.status(), 200, "paying {}: {:?}", payment.balance, refusal_of(&response));
        assert_ok(response, payment).await;
    }

    /// Pays `/echofix/hello` and expects 402 with exactly `refusal`.
    async fn refused(&self, payment: &PaymentHeaders, refusal: Refusal) {
        let response = self.get("/echofix/hello", Some(payment)).await;
        assert_eq!(response.status(), 402, "paying {}: expected {refusal:?}", payment.balance);
        assert_eq!(refusal_of(&response), vec![refusal], "paying {}", payment.balance);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["reason"], refusal.code());
    }

    /// Repeats `payment` while it is refused for `InsufficientConfirmations` (and only for
    /// that) until it is accepted.
    async fn pays_once_confirmed(&self, payment: &PaymentHeaders) {
        let deadline = Instant::now() + WAIT;
        loop {
            let response = self.get("/echofix/hello", Some(payment)).await;
            if response.status() == 200 {
                return assert_ok(response, payment).await;
            }
            assert_eq!(response.status(), 402, "paying {}", payment.balance);
            assert_eq!(refusal_of(&response), vec![Refusal::InsufficientConfirmations]);
            assert!(Instant::now() < deadline, "paying {} was never confirmed", payment.balance);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn assert_ok(response: reqwest::Response, payment: &PaymentHeaders) {
    assert_eq!(header(&response, rdn::SENDER_BALANCE), Some(payment.balance.to_string()));
    assert_eq!(header(&response, rdn::BALANCE_SIGNATURE), Some(payment.balance_signature.to_hex()));
    assert_eq!(response.text().await.unwrap(), "hello");
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response.headers().get(name).map(|value| value.to_str().unwrap().to_owned())
}

fn address_header(response: &reqwest::Response, name: &str) -> Address {
    header(response, name).unwrap_or_else(|| panic!("no {name}")).parse().unwrap()
}

fn refusal_of(response: &reqwest::Response) -> Vec<Refusal> {
    Refusal::ALL
        .into_iter()
        .filter(|refusal| response.headers().contains_key(refusal.header_name()))
        .collect()
}

#[tokio::test]
async fn a_channel_is_paid_topped_up_closed_and_settled_over_http() {
    // 1. The chain, the contracts, the receiver.
    let receiver = Receiver::start().await;
    receiver.synced().await;
    let deployment = receiver.chain.deployment;
    let (sender_address, receiver_address) =
        (receiver.chain.address(SENDER), receiver.chain.address(RECEIVER));
    receiver.fund_sender(DEPOSIT + TOP_UP).await;
    let before = (
        receiver.balance_of(sender_address).await,
        receiver.balance_of(receiver_address).await,
        receiver.balance_of(deployment.channel_manager).await,
    );
    assert!(before.0 >= U256::from(DEPOSIT + TOP_UP));

    // 2. No payment: 402 with the receiver's terms.
    let response = receiver.get("/echofix/hello", None).await;
    assert_eq!(response.status(), 402);
    assert_eq!(address_header(&response, rdn::RECEIVER_ADDRESS), receiver_address);
    assert_eq!(address_header(&response, rdn::CONTRACT_ADDRESS), deployment.channel_manager);
    assert_eq!(address_header(&response, rdn::TOKEN_ADDRESS), deployment.token);
    assert_eq!(header(&response, rdn::PRICE).as_deref(), Some("5"));
    assert_eq!(header(&response, rdn::CHAIN_ID), Some(deployment.chain_id.to_string()));
    assert!(refusal_of(&response).is_empty());

    // 3. A channel of 12, mined with 1 of 2 confirmations: refused until the next block.
    let channel = receiver.open_channel(DEPOSIT).await;
    receiver.synced().await;
    let five = receiver.payment(channel, 5);
    receiver.refused(&five, Refusal::InsufficientConfirmations).await;
    receiver.mine(1).await;
    receiver.pays_once_confirmed(&five).await;

    // 4. Up to the deposit and not beyond.
    receiver.pays(&receiver.payment(channel, 10)).await;
    receiver.refused(&receiver.payment(channel, 15), Refusal::InsufficientFunds).await;

    // 5. A top-up of 8 covers 15 and 20, once confirmed.
    receiver.top_up(channel, TOP_UP).await;
    receiver.synced().await;
    let snapshot = receiver.manager.channel(channel.sender, channel.open_block_number).unwrap();
    assert_eq!((snapshot.deposit, snapshot.unconfirmed_top_up), (U192::from(DEPOSIT), U192::from(TOP_UP)));
    let fifteen = receiver.payment(channel, 15);
    receiver.refused(&fifteen, Refusal::InsufficientConfirmations).await;
    receiver.mine(1).await;
    receiver.pays_once_confirmed(&fifteen).await;
    let twenty = receiver.payment(channel, 20);
    receiver.pays(&twenty).await;

    // 6. Cooperative close at the last balance, for the sender's fresh close request: the
    // receiver signs, the sender submits.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let close = SignedCloseRequest::sign(
        &key(&receiver.chain, SENDER),
        &receiver.domain,
        channel,
        U192::from(20u64),
        request_deadline(now),
    )
    .unwrap();
    let client = reqwest::Client::new();
    let response = client
        .delete(format!("{}/api/1/channels/{}/{}", receiver.url, channel.sender, channel.open_block_number))
        .json(&serde_json::json!({
            "balance": "20", "deadline": close.deadline, "signature": close.signature.to_hex()
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let closing: ProofSignature = body["close_signature"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        recover_closing_proof_signer(&receiver.domain, &channel.closing_proof(U192::from(20u64)), &closing),
        Ok(receiver_address)
    );
    let receipt = receiver
        .contract(SENDER)
        .cooperativeClose(
            channel.sender,
            channel.receiver,
            channel.open_block_number,
            U192::from(20u64),
            Bytes::copy_from_slice(&twenty.balance_signature.as_bytes()),
            Bytes::copy_from_slice(&closing.as_bytes()),
        )
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status(), "cooperativeClose reverted");
    let after = (
        receiver.balance_of(sender_address).await,
        receiver.balance_of(receiver_address).await,
        receiver.balance_of(deployment.channel_manager).await,
    );
    assert_eq!(before.0 - after.0, U256::from(20u64), "the sender paid 20 of its 20 deposited");
    assert_eq!(after.1 - before.1, U256::from(20u64), "the receiver gained 20");
    assert_eq!(after.2, before.2, "the contract holds what it held before the channel");

    // 7. Once the sync sees the settlement (confirmed by the next block), the channel no
    // longer exists for payments.
    receiver.mine(1).await;
    eventually("the channel is settled", || async {
        receiver.manager.channel(channel.sender, channel.open_block_number).map(|c| c.state)
            == Some(ChannelState::Settled)
    })
    .await;
    receiver.refused(&receiver.payment(channel, 25), Refusal::NonexistingChannel).await;

    let _ = receiver.stop.send(());
    receiver.serving.await.unwrap().unwrap();
}
