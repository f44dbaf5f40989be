//! The `uraiden` binary against a real receiver on a real anvil: `get` pays and prints the
//! body; `topup`, `close` and `settle` move exactly the tokens they say on chain; a refusal
//! is one line on stderr, a non-zero exit, no key material and no transaction; `get` pays
//! nothing without `--max-price`; a state file another process holds is refused at once.

#![allow(clippy::unwrap_used)]

mod support;

use std::{os::unix::fs::PermissionsExt, path::PathBuf};

use alloy::{primitives::U256, providers::Provider};
use support::{Env, FUNDS, RECEIVER, SENDER, WAIT};
use uraiden_client::{Client, Error};
use uraiden_protocol::{ChannelId, U192};

/// The `uraiden` binary as the sender, with its key file and one state file.
#[derive(Clone)]
struct Uraiden {
    key_hex: String,
    key_file: PathBuf,
    state_file: PathBuf,
    rpc_url: String,
    /// `--channel-manager-address`, unless the contract is to be learned from a 402.
    channel_manager: Option<String>,
}

impl Uraiden {
    /// The sender's key in a 0600 file, the deployed channel manager pinned.
    fn new(env: &Env, state_file: &str) -> Self {
        let key_hex = alloy::hex::encode(env.chain.key(SENDER).to_bytes());
        let key_file = env.state_file("sender.key");
        std::fs::write(&key_file, &key_hex).unwrap();
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        Self {
            key_hex,
            key_file,
            state_file: env.state_file(state_file),
            rpc_url: env.chain.anvil.endpoint_url().to_string(),
            channel_manager: Some(env.chain.deployment.channel_manager.to_string()),
        }
    }

    /// The same, trusting the contract a receiver's 402 names.
    fn unpinned(&self) -> Self {
        Self { channel_manager: None, ..self.clone() }
    }

    /// Runs `uraiden ARGS` with nothing from this process's environment.
    async fn output(&self, args: &[&str]) -> std::process::Output {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_uraiden"));
        command
            .env_clear()
            .env("URAIDEN_PRIVATE_KEY", &self.key_file)
            .args(["--rpc-provider", &self.rpc_url])
            .args(["--state-file", self.state_file.to_str().unwrap()]);
        if let Some(address) = &self.channel_manager {
            command.args(["--channel-manager-address", address]);
        }
        command.args(args).kill_on_drop(true).output().await.unwrap()
    }

    /// Runs `uraiden ARGS`, expects success, and returns its stdout.
    async fn succeeds(&self, args: &[&str]) -> String {
        self.succeeds_saying(args).await.0
    }

    /// Runs `uraiden ARGS`, expects success, and returns its stdout and stderr.
    async fn succeeds_saying(&self, args: &[&str]) -> (String, String) {
        let output = self.output(args).await;
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(output.status.success(), "uraiden {args:?} failed: {stderr}");
        (String::from_utf8(output.stdout).unwrap(), stderr)
    }

    /// Runs `uraiden ARGS`, expects exit code 1 and a one-line error as the last line of
    /// stderr (after notices, if any), no key material, and returns stderr.
    async fn refused(&self, args: &[&str]) -> String {
        let output = self.output(args).await;
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(1), "uraiden {args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "uraiden {args:?} printed {:?}", output.stdout);
        let errors: Vec<usize> = stderr
            .lines()
            .enumerate()
            .filter(|(_, line)| line.starts_with("uraiden: error: "))
            .map(|(index, _)| index)
            .collect();
        assert_eq!(errors, [stderr.lines().count() - 1], "{stderr}");
        assert!(!stderr.contains(&self.key_hex[..16]), "the key leaks: {stderr}");
        stderr
    }

    /// The open block of the state file's only channel.
    fn open_block(&self) -> u32 {
        u32::try_from(self.stored_channel()["open_block"].as_u64().unwrap()).unwrap()
    }

    /// The state file's only channel.
    fn stored_channel(&self) -> serde_json::Value {
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&self.state_file).unwrap()).unwrap();
        let channels = json["channels"].as_array().unwrap();
        assert_eq!(channels.len(), 1, "{json}");
        channels[0].clone()
    }
}

/// The channel's deposit and settle block (0 while no close was requested) as the contract
/// reports them; `None` once the contract has no such channel.
async fn on_chain(env: &Env, id: ChannelId) -> Option<(U192, u32)> {
    let manager = env.chain.channel_manager(0);
    match manager.getChannelInfo(id.sender, id.receiver, id.open_block_number).call().await {
        Ok(info) => Some((info.deposit, info.settleBlockNumber)),
        Err(alloy::contract::Error::TransportError(e)) if e.as_error_resp().is_some() => None,
        Err(e) => panic!("getChannelInfo: {e}"),
    }
}

/// How many transactions the sender has sent.
async fn sent_transactions(env: &Env) -> u64 {
    env.owner().get_transaction_count(env.chain.address(SENDER)).await.unwrap()
}

#[tokio::test]
async fn uraiden_get_prints_the_paid_body() {
    let env = Env::start(1).await;
    let uraiden = Uraiden::new(&env, "cli.json");

    // The contract is learned from the 402; the channel is opened and paid.
    let stdout = uraiden
        .unpinned()
        .succeeds(&["get", &env.echo("hello"), "--max-price", "5", "--retry-interval-ms", "50"])
        .await;
    assert_eq!(stdout, "hello");

    // Pinned contract, second payment in the same channel; `channels` shows balance 10.
    assert_eq!(uraiden.succeeds(&["get", &env.echo("again"), "--max-price", "5"]).await, "again");
    let stdout = uraiden.succeeds(&["channels"]).await;
    assert!(stdout.contains("deposit 50 balance 10 state open"), "{stdout}");

    // Too expensive: refused, exit code 1, no key in the output.
    let stderr = uraiden.unpinned().refused(&["get", &env.echo("x"), "--max-price", "1"]).await;
    assert!(stderr.contains("costs 5 per request, above --max-price 1; nothing was paid"), "{stderr}");

    // Cooperative close through the receiver's API.
    let output = uraiden.output(&["close"]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("closed cooperatively at balance 10"),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    env.shutdown().await;
}

/// A receiver that offers x402 is paid through `PAYMENT-SIGNATURE`: the CLI says so for each
/// payment, with the balance the receiver's `PAYMENT-RESPONSE` named (it books by nothing else
/// for x402), and the receiver holds that balance. A stale or lost state file resyncs from the
/// `lastProof` of a refusal, and no signature is printed.
#[tokio::test]
async fn uraiden_get_pays_through_x402_and_resyncs_from_its_last_proof() {
    let env = Env::start(1).await;
    let uraiden = Uraiden::new(&env, "x402.json");
    // Prints the body, and returns what it says on stderr.
    let get = |uraiden: Uraiden, word: &'static str| {
        let url = env.echo(word);
        async move {
            let args = ["get", &url, "--max-price", "5", "--retry-interval-ms", "50"];
            let (stdout, stderr) = uraiden.succeeds_saying(&args).await;
            assert_eq!(stdout, word);
            stderr
        }
    };
    let reported = |balance: u64| {
        let id = ChannelId::new(env.chain.address(SENDER), env.chain.address(RECEIVER), uraiden.open_block());
        format!(
            "uraiden: paid 5 through x402 (PAYMENT-SIGNATURE) in channel {id}; its balance is {balance}\n"
        )
    };
    let receiver_balance = || env.receiver_balance(uraiden.open_block()).unwrap();

    // The contract is learned from the 402 (x402 names it too), then three payments in a row.
    let stderr = get(uraiden.unpinned(), "one").await;
    assert!(stderr.ends_with(&reported(5)), "{stderr}");
    let stale = env.state_file("stale.json");
    std::fs::copy(&uraiden.state_file, &stale).unwrap();
    assert_eq!(get(uraiden.clone(), "two").await, reported(10));
    assert_eq!(get(uraiden.clone(), "three").await, reported(15));
    assert_eq!(receiver_balance(), U192::from(15));
    assert!(uraiden.succeeds(&["channels"]).await.contains("deposit 50 balance 15 state open"));

    // Stale (balance 5): 10 is refused, the receiver's 15 adopted, 20 paid.
    std::fs::copy(&stale, &uraiden.state_file).unwrap();
    assert_eq!(get(uraiden.clone(), "four").await, reported(20));
    assert_eq!(receiver_balance(), U192::from(20));

    // Lost: `channels` finds the channel on chain at 0; 5 is refused, 20 adopted, 25 paid.
    std::fs::remove_file(&uraiden.state_file).unwrap();
    assert!(uraiden.succeeds(&["channels"]).await.contains("deposit 50 balance 0 state open"));
    let stderr = get(uraiden.clone(), "five").await;
    assert_eq!(stderr, reported(25));
    assert_eq!(receiver_balance(), U192::from(25));
    assert!(uraiden.succeeds(&["channels"]).await.contains("deposit 50 balance 25 state open"));
    let signature = uraiden.stored_channel()["balance_signature"].as_str().unwrap().to_owned();
    assert!(!stderr.contains(&signature[2..]), "a signature is printed: {stderr}");
    env.shutdown().await;
}

/// Without `--max-price` nothing is paid, and a price above it is refused: the error names
/// the price and the flag, and nothing is signed or sent.
#[tokio::test]
async fn uraiden_get_pays_nothing_without_a_max_price_or_above_it() {
    let env = Env::start(1).await;
    let uraiden = Uraiden::new(&env, "cli.json");
    let url = env.echo("hello");

    let stderr = uraiden.refused(&["get", &url]).await;
    let expected = format!(
        "{url} costs 5 per request and no --max-price was given; nothing was paid: pass --max-price 5"
    );
    assert!(stderr.contains(&expected), "{stderr}");
    let stderr = uraiden.unpinned().refused(&["get", &url, "--max-price", "4"]).await;
    let expected = format!(
        "{url} costs 5 per request, above --max-price 4; nothing was paid: raise --max-price to at least 5"
    );
    assert!(stderr.contains(&expected), "{stderr}");

    assert_eq!(sent_transactions(&env).await, 0, "no channel opened");
    assert_eq!(env.token_balance(env.chain.address(SENDER)).await, U256::from(FUNDS));
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&uraiden.state_file).unwrap_or_else(|_| b"{}".to_vec()))
            .unwrap();
    assert!(state["channels"].as_array().is_none_or(Vec::is_empty), "nothing signed: {state}");
    assert!(env.manager.channels().is_empty(), "the receiver saw no channel");

    // At the price, it pays.
    assert_eq!(
        uraiden.succeeds(&["get", &url, "--max-price", "5", "--retry-interval-ms", "50"]).await,
        "hello"
    );
    env.shutdown().await;
}

#[tokio::test]
async fn uraiden_topup_close_and_settle_move_exactly_the_deposit_on_chain() {
    // Without on-chain duties the receiver leaves a closing channel to the sender to settle.
    let env = Env::start_with(1, false).await;
    let uraiden = Uraiden::new(&env, "cli.json");
    let (sender, receiver) = (env.chain.address(SENDER), env.chain.address(RECEIVER));
    let manager = env.chain.deployment.channel_manager;

    // One paid request: a channel with deposit 50 (10 × the price) and balance 5.
    let get = ["get", &env.echo("hi"), "--max-price", "5", "--retry-interval-ms", "50"];
    assert_eq!(uraiden.succeeds(&get).await, "hi");
    let open_block = uraiden.open_block();
    let id = ChannelId::new(sender, receiver, open_block);
    assert_eq!(on_chain(&env, id).await, Some((U192::from(50), 0)));
    assert_eq!(env.token_balance(sender).await, U256::from(FUNDS - 50));

    // Refusals that need no transaction send none.
    let sent = sent_transactions(&env).await;
    let stderr = uraiden.refused(&["topup", "0"]).await;
    assert!(stderr.contains("a top-up must be greater than 0"), "{stderr}");
    let stderr = uraiden.refused(&["topup", "951"]).await;
    assert!(
        stderr.contains(&format!("the account {sender} holds 950 tokens but 951 are needed")),
        "{stderr}"
    );
    let stderr = uraiden.refused(&["settle"]).await;
    assert!(stderr.contains("no settling channel matches; see `uraiden channels`"), "{stderr}");
    assert_eq!(sent_transactions(&env).await, sent);
    assert_eq!(on_chain(&env, id).await, Some((U192::from(50), 0)));

    // topup: the contract holds exactly 30 more, and the state file says so.
    assert_eq!(uraiden.succeeds(&["topup", "30"]).await, format!("channel {id} deposit 80\n"));
    assert_eq!(on_chain(&env, id).await, Some((U192::from(80), 0)));
    assert_eq!(env.token_balance(sender).await, U256::from(FUNDS - 80));
    assert_eq!(env.token_balance(manager).await, U256::from(80));
    let stored = uraiden.stored_channel();
    let text = |field: &str| stored[field].as_str().unwrap().to_owned();
    assert_eq!((text("deposit"), text("balance"), text("state")), ("80".into(), "5".into(), "open".into()));

    // close --uncooperative: the challenge period (500 blocks) starts at the last balance.
    let stdout = uraiden.succeeds(&["close", "--uncooperative"]).await;
    let close_block = env.chain.head().await;
    let settle_block = u32::try_from(close_block + 500).unwrap();
    assert_eq!(on_chain(&env, id).await, Some((U192::from(80), settle_block)));
    assert_eq!(stdout, format!("channel {id} close requested; settle after block {settle_block}\n"));
    let stored = uraiden.stored_channel();
    assert_eq!(
        (stored["state"].as_str(), stored["settle_block"].as_u64()),
        (Some("settling"), Some(close_block + 500))
    );
    let stderr = uraiden.refused(&["topup", "10"]).await;
    assert!(stderr.contains("no open channel matches"), "{stderr}");

    // settle before the period is over: how many blocks remain, and nothing sent.
    let sent = sent_transactions(&env).await;
    let stderr = uraiden.refused(&["settle"]).await;
    let ends = format!("channel {id}: the challenge period ends at block {settle_block};");
    assert!(stderr.contains(&format!("{ends} 500 more block(s) must be mined")), "{stderr}");
    env.mine(499).await;
    let stderr = uraiden.refused(&["settle"]).await;
    assert!(stderr.contains(&format!("{ends} 1 more block(s) must be mined")), "{stderr}");
    assert_eq!(sent_transactions(&env).await, sent);
    assert_eq!(env.token_balance(sender).await, U256::from(FUNDS - 80));
    assert_eq!(env.token_balance(manager).await, U256::from(80));

    // Once it is over: the receiver gets the closing balance 5, the sender the other 75.
    let receiver_before = env.token_balance(receiver).await;
    env.mine(1).await;
    assert_eq!(uraiden.succeeds(&["settle"]).await, format!("channel {id} settled\n"));
    assert_eq!(env.token_balance(sender).await, U256::from(FUNDS - 5));
    assert_eq!(env.token_balance(receiver).await, receiver_before + U256::from(5));
    assert_eq!(env.token_balance(manager).await, U256::ZERO);
    assert_eq!(on_chain(&env, id).await, None);
    assert_eq!(uraiden.stored_channel()["state"], "closed");
    let stderr = uraiden.refused(&["settle"]).await;
    assert!(stderr.contains("no settling channel matches"), "{stderr}");
    env.shutdown().await;
}

#[tokio::test]
async fn a_state_file_in_use_is_refused_at_once_and_free_once_released() {
    let env = Env::start(1).await;
    let uraiden = Uraiden::new(&env, "busy.json");
    let manager = env.chain.deployment.channel_manager;
    let holder = env.client(&uraiden.state_file).await;

    // Another process gives up at once rather than wait for the lock.
    let stderr = tokio::time::timeout(WAIT, uraiden.refused(&["channels"])).await.expect("uraiden waited");
    let in_use = format!(
        "state file {} is in use by another uraiden process or Client (lock {}.lock is held)",
        uraiden.state_file.display(),
        uraiden.state_file.display()
    );
    assert!(stderr.contains(&in_use), "{stderr}");
    // So does another client in this process.
    let error = Client::connect(env.client_config(manager, &uraiden.state_file)).await.unwrap_err();
    assert!(matches!(error, Error::StateFileInUse { .. }), "{error}");

    drop(holder);
    let stdout = uraiden.succeeds(&["channels"]).await;
    assert_eq!(stdout, format!("sender {}, contract {manager}\n", env.chain.address(SENDER)));
    env.shutdown().await;
}
