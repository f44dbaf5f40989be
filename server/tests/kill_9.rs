//! SPEC §5, "kill -9 loses no accepted payment", in both `--durability` modes: the real
//! `uraiden-server` binary, against a real anvil with the real contracts, is paid over HTTP
//! on several channels at once (so payments share group commits), killed with SIGKILL right
//! after one channel's last 200 while the others still have payments in flight, and
//! restarted on the same state file. Every acknowledged proof must be there: the sequential
//! channel's last proof exactly (the next payment is last + price, and the close API signs
//! for exactly that proof), and on the others at least the last acknowledged balance.

// The harness panics as the failure report, like the tests themselves.
#![allow(clippy::unwrap_used)]

use std::{
    os::unix::fs::PermissionsExt,
    path::Path,
    time::{Duration, Instant},
};

use tokio::io::AsyncBufReadExt;
use uraiden_e2e::TestChain;
use uraiden_protocol::{
    channel_manager_domain, header as rdn, recover_closing_proof_signer, request_deadline, Address,
    ChannelId, Eip712Domain, LocalSigningKey, PaymentHeaders, ProofSignature, Refusal, SignedCloseRequest,
    SignedStatusRequest, U192,
};

const RECEIVER: usize = 1;
/// anvil accounts paying: the first is checked exactly, the others pay concurrently.
const SENDERS: [usize; 4] = [2, 3, 4, 5];
/// `/echofix/*` costs 5.
const PRICE: u64 = 5;
const PAYMENTS: u64 = 30;
const DEPOSIT: u64 = 10_000;
const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn kill_9_loses_no_accepted_payment_with_process_crash_durability() {
    kill_9_loses_no_accepted_payment("process-crash").await;
}

#[tokio::test]
async fn kill_9_loses_no_accepted_payment_with_power_loss_durability() {
    kill_9_loses_no_accepted_payment("power-loss").await;
}

async fn kill_9_loses_no_accepted_payment(durability: &str) {
    let chain = TestChain::start().await.expect("anvil starts and the contracts deploy");
    let contract = chain.deployment.channel_manager;
    let domain = channel_manager_domain(chain.deployment.chain_id, contract);
    let mut channels = Vec::new();
    for sender in SENDERS {
        channels.push((sender, open_channel(&chain, sender).await));
    }
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();

    let mut server = Server::start(&chain, dir.path(), durability).await;
    // Every channel pays concurrently; the first one's task reports its last 200 and the
    // process is killed at once, while the others are between request and response.
    let (last_ok, mut first_done) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut payers = Vec::new();
    for (index, &(sender, channel)) in channels.iter().enumerate() {
        let (client, url, last_ok) = (client.clone(), server.url.clone(), last_ok.clone());
        let key = key(&chain, sender);
        let domain = domain.clone();
        payers.push(tokio::spawn(async move {
            let mut acknowledged = 0;
            let count = if index == 0 { PAYMENTS } else { u64::MAX };
            for step in 1..=count {
                let payment = payment(contract, &key, &domain, channel, step * PRICE);
                match get_echo(&client, &url, &payment).await.map(|response| response.status().as_u16()) {
                    Some(200) => acknowledged = step * PRICE,
                    // The server is gone: stop, having seen no 200 for this one.
                    None => break,
                    Some(status) => panic!("payment {step} on channel {index}: {status}"),
                }
            }
            if index == 0 {
                last_ok.send(()).unwrap();
            }
            acknowledged
        }));
    }
    drop(last_ok);
    first_done.recv().await.expect("the sequential channel finished");
    server.kill_9().await;
    let mut acknowledged = Vec::new();
    for payer in payers {
        acknowledged.push(payer.await.unwrap());
    }
    assert_eq!(acknowledged[0], PAYMENTS * PRICE);

    let server = Server::start(&chain, dir.path(), durability).await;
    for (&(sender, channel), &acked) in channels.iter().zip(&acknowledged) {
        // Replaying the last acknowledged proof is refused, and the refusal shows the sender
        // (asking with a status request signed now) the stored last proof: the acknowledged
        // one, or (another channel) one payment more whose 200 the kill cut off.
        let replay = payment(contract, &key(&chain, sender), &domain, channel, acked);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let status =
            SignedStatusRequest::sign(&key(&chain, sender), &domain, channel, request_deadline(now)).unwrap();
        let response = get_echo_asking(&client, &server.url, &replay, &status).await.unwrap();
        assert_eq!(response.status(), 402);
        assert!(response.headers().contains_key(Refusal::InvalidBalanceProof.header_name()));
        let stored: u64 = header(&response, rdn::SENDER_BALANCE).unwrap().parse().unwrap();
        if sender == SENDERS[0] {
            assert_eq!(stored, acked, "{durability}: the last acknowledged payment was lost");
            assert_eq!(header(&response, rdn::BALANCE_SIGNATURE), Some(replay.balance_signature.to_hex()));
        } else {
            assert!(
                stored == acked || stored == acked + PRICE,
                "{durability}: channel of account {sender} stored {stored}, acknowledged {acked}"
            );
        }
    }

    // The sequential channel goes on from exactly its last proof, and closes at the new one.
    let (sender, channel) = channels[0];
    let key = key(&chain, sender);
    let last = acknowledged[0];
    let next = payment(contract, &key, &domain, channel, last + PRICE);
    assert_eq!(get_echo(&client, &server.url, &next).await.unwrap().status(), 200);
    let close_url = format!("{}/api/1/channels/{}/{}", server.url, channel.sender, channel.open_block_number);
    // A close request signed now: for a stale balance refused (409), for the last one signed.
    let close = |balance: u64| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let request =
            SignedCloseRequest::sign(&key, &domain, channel, U192::from(balance), request_deadline(now))
                .unwrap();
        client
            .delete(&close_url)
            .json(&serde_json::json!({
                "balance": balance.to_string(),
                "deadline": request.deadline,
                "signature": request.signature.to_hex(),
            }))
            .send()
    };
    assert_eq!(close(last).await.unwrap().status(), 409);
    let response = close(last + PRICE).await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let signature: ProofSignature = body["close_signature"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        recover_closing_proof_signer(&domain, &channel.closing_proof(U192::from(last + PRICE)), &signature),
        Ok(chain.address(RECEIVER))
    );
}

/// The `uraiden-server` binary, serving the echo demo on 127.0.0.1.
struct Server {
    child: tokio::process::Child,
    url: String,
}

impl Server {
    async fn start(chain: &TestChain, dir: &Path, durability: &str) -> Self {
        let key_file = dir.join("receiver.key");
        std::fs::write(&key_file, alloy::hex::encode(chain.key(RECEIVER).to_bytes())).unwrap();
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_uraiden-server"))
            .args(["--private-key", key_file.to_str().unwrap()])
            .args(["--channel-manager-address", &chain.deployment.channel_manager.to_string()])
            .args(["--state-file", dir.join("state.db").to_str().unwrap()])
            .args(["--rpc-provider", chain.anvil.endpoint().as_str()])
            .args(["--start-block", &chain.deployment.deploy_block.to_string()])
            .args(["--poll-interval-ms", "100"])
            // anvil mines only on transactions and never reorgs: mined is enough.
            .args(["--confirmations", "1"])
            .args(["--durability", durability])
            .args(["start", "--host", "127.0.0.1", "--port", "0"])
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
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
        // Keep reading its log so that a full pipe never blocks it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { child, url: format!("http://{address}") }
    }

    /// SIGKILL: no shutdown code runs, whatever is not in the state file is gone.
    async fn kill_9(&mut self) {
        self.child.start_kill().unwrap();
        let status = tokio::time::timeout(WAIT, self.child.wait()).await.unwrap().unwrap();
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9));
    }
}

fn key(chain: &TestChain, index: usize) -> LocalSigningKey {
    chain.signing_key(index)
}

/// Funds `sender` and opens a channel of [`DEPOSIT`] to the receiver.
async fn open_channel(chain: &TestChain, sender: usize) -> ChannelId {
    chain.transfer_tokens(chain.address(sender), DEPOSIT).await;
    chain.open_channel(sender, chain.address(RECEIVER), DEPOSIT, None).await
}

fn payment(
    contract: Address,
    key: &LocalSigningKey,
    domain: &Eip712Domain,
    channel: ChannelId,
    balance: u64,
) -> PaymentHeaders {
    let proof = channel.balance_proof(U192::from(balance));
    PaymentHeaders {
        contract,
        receiver: channel.receiver,
        sender: channel.sender,
        open_block_number: channel.open_block_number,
        balance: U192::from(balance),
        balance_signature: key.sign_balance_proof(domain, &proof).unwrap(),
        payment: None,
    }
}

/// GET `/echofix/x` with `payment`; `None` if the server is gone. Waits out the 502 of a
/// server still catching up with the chain after a start.
async fn get_echo(
    client: &reqwest::Client,
    url: &str,
    payment: &PaymentHeaders,
) -> Option<reqwest::Response> {
    get_echo_with(client, url, payment.to_header_pairs()).await
}

/// As [`get_echo`], with a status request: a refusal then carries the last proof.
async fn get_echo_asking(
    client: &reqwest::Client,
    url: &str,
    payment: &PaymentHeaders,
    status: &SignedStatusRequest,
) -> Option<reqwest::Response> {
    let mut headers = payment.to_header_pairs();
    // The channel's sender and open block are the payment's already.
    let sent: Vec<&str> = headers.iter().map(|(name, _)| *name).collect();
    let extra: Vec<_> =
        status.to_header_pairs().into_iter().filter(|(name, _)| !sent.contains(name)).collect();
    headers.extend(extra);
    get_echo_with(client, url, headers).await
}

async fn get_echo_with(
    client: &reqwest::Client,
    url: &str,
    headers: Vec<(&'static str, String)>,
) -> Option<reqwest::Response> {
    let deadline = Instant::now() + WAIT;
    loop {
        let mut request = client.get(format!("{url}/echofix/x"));
        for (name, value) in &headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.ok()?;
        if response.status() != 502 || Instant::now() > deadline {
            return Some(response);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response.headers().get(name).map(|value| value.to_str().unwrap().to_owned())
}
