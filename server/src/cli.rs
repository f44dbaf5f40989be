//! Command line of `uraiden-server`, after the seed's §4.3.1 and `deploy_testnet` options.
//! Every option can also be given as an environment variable (`URAIDEN_*`).
//!
//! ```text
//! uraiden-server --private-key key.hex --channel-manager-address 0x… --state-file s.db start --port 5000
//! ```

use std::{
    io::IsTerminal,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use alloy::{
    network::EthereumWallet,
    primitives::{Address, U256},
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use uraiden_chain::{keys, DeployOptions};
use uraiden_protocol::{LocalSigningKey, U192};

use crate::{
    chain::{CloseOutcome, WithdrawOutcome},
    channels::{ChannelManager, ChannelManagerConfig, StartError},
    http::{
        config::{ApiToken, HttpLimits, PublicChain},
        proxy::ProxyConfig,
        rate_limit::{Rate, RateLimits},
        serve,
    },
    receiver::{BackgroundTasks, HttpConfig, Receiver, ReceiverConfig, Resources, TlsFiles},
    store::{migrate_to_postgres, DatabaseUrl, Durability, StoreError, StoreLocation},
};

/// How long startup waits for the node before giving up with a clear message.
const NODE_TIMEOUT: Duration = Duration::from_secs(10);

/// µRaiden receiver: paywall HTTP resources, get paid over ERC20 payment channels.
#[derive(Debug, Parser)]
#[command(name = "uraiden-server", version)]
pub struct Cli {
    #[command(flatten)]
    pub account: AccountArgs,
    #[command(flatten)]
    pub receiver: ReceiverArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The node to talk to and the account that signs.
#[derive(Debug, Args)]
pub struct AccountArgs {
    /// JSON-RPC endpoint of the Ethereum node.
    #[arg(long, env = "URAIDEN_RPC_PROVIDER", default_value = "http://localhost:8545", global = true)]
    pub rpc_provider: String,
    /// Key file of the receiver: a Geth/Parity JSON keystore or 64 hex digits; mode 0600.
    #[arg(long, env = "URAIDEN_PRIVATE_KEY", global = true)]
    pub private_key: Option<PathBuf>,
    /// File holding the keystore's password; without it, the password is asked on the terminal.
    #[arg(long, env = "URAIDEN_PRIVATE_KEY_PASSWORD_FILE", global = true)]
    pub private_key_password_file: Option<PathBuf>,
}

/// The receiver's options (used by `start`).
#[derive(Debug, Args)]
pub struct ReceiverArgs {
    /// Address of the RaidenMicroTransferChannels contract (as printed by `deploy`).
    #[arg(long, env = "URAIDEN_CHANNEL_MANAGER_ADDRESS", global = true)]
    pub channel_manager_address: Option<Address>,
    /// SQLite file holding the channels and their last proofs (created with mode 0600).
    #[arg(long, env = "URAIDEN_STATE_FILE", global = true)]
    pub state_file: Option<PathBuf>,
    /// PostgreSQL database holding the channels and their last proofs, instead of
    /// --state-file: `postgres://user:password@host:port/database` (prefer the environment
    /// variable: command lines are visible to every local user). Several instances with the
    /// same key and contract may share it. The schema is created and migrated by the server.
    #[arg(
        long,
        env = "URAIDEN_DATABASE_URL",
        global = true,
        conflicts_with = "state_file",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// TLS certificate chain (PEM); with --ssl-key, the server speaks HTTPS only.
    #[arg(long, env = "URAIDEN_SSL_CERT", global = true, requires = "ssl_key")]
    pub ssl_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "URAIDEN_SSL_KEY", global = true, requires = "ssl_cert")]
    pub ssl_key: Option<PathBuf>,
    /// Gas price of the receiver's transactions, in wei (default: the node's estimate).
    #[arg(long, env = "URAIDEN_GAS_PRICE", global = true)]
    pub gas_price: Option<u128>,
    /// Directory with the paywall page (index.html) and its scripts (js/, served at /js/);
    /// default: the page built into the binary.
    #[arg(long, env = "URAIDEN_PAYWALL_INFO", global = true)]
    pub paywall_info: Option<PathBuf>,
    /// The chain's name as wallets show it (e.g. Sepolia), published with --chain-rpc-url so
    /// the paywall page can add the chain to a wallet that does not know it.
    #[arg(long, env = "URAIDEN_CHAIN_NAME", requires = "chain_rpc_url", global = true)]
    pub chain_name: Option<String>,
    /// A public JSON-RPC URL of the chain for wallets (not --rpc-provider, which may be private).
    #[arg(long, env = "URAIDEN_CHAIN_RPC_URL", requires = "chain_name", global = true)]
    pub chain_rpc_url: Option<String>,
    /// The chain's currency symbol, for wallets that add the chain.
    #[arg(long, env = "URAIDEN_CHAIN_CURRENCY_SYMBOL", default_value = "ETH", global = true)]
    pub chain_currency_symbol: String,
    /// Leave paid HTML pages as they are: without it, a page the paywall page paid for gets a
    /// small "Paid … · … left · manage" note.
    #[arg(long, env = "URAIDEN_NO_PAID_NOTE", global = true)]
    pub no_paid_note: bool,
    /// Speak only the seed's RDN-* format: 402s offer no x402 `uraiden` scheme
    /// (no PAYMENT-REQUIRED), and a PAYMENT-SIGNATURE is not read.
    #[arg(long, env = "URAIDEN_NO_X402", global = true)]
    pub no_x402: bool,
    /// Blocks an event needs, its own included, before it counts. The default, 3, means a
    /// reorg of the last one or two blocks never undoes an event the receiver acted on; 1
    /// (mined is enough) suits only a chain that never reorgs (a local dev chain). A deeper
    /// reorg is still noticed and rolled back, but payments accepted on a channel it removed
    /// are lost (see the README's "Confirmations").
    #[arg(long, env = "URAIDEN_CONFIRMATIONS", default_value_t = crate::channels::DEFAULT_CONFIRMATIONS,
          global = true, value_parser = clap::value_parser!(u64).range(1..))]
    pub confirmations: u64,
    /// First block to read the contract's events from on a new state file: the contract's
    /// deployment block (`deploy` prints it).
    #[arg(long, env = "URAIDEN_START_BLOCK", default_value_t = 0, global = true)]
    pub start_block: u64,
    /// How often to poll the node for new blocks, in milliseconds.
    #[arg(long, env = "URAIDEN_POLL_INTERVAL_MS", default_value_t = 2000, global = true,
          value_parser = clap::value_parser!(u64).range(50..))]
    pub poll_interval_ms: u64,
    /// File holding the bearer token of the operator's channel listings (/api/1/channels);
    /// without a token those routes are off.
    #[arg(long, env = "URAIDEN_API_TOKEN_FILE", global = true)]
    pub api_token_file: Option<PathBuf>,
    /// The operator's bearer token itself (prefer --api-token-file: command lines are visible).
    #[arg(long, env = "URAIDEN_API_TOKEN", global = true, hide_env_values = true)]
    pub api_token: Option<String>,
    /// What an accepted payment survives; content is sent only once its payment is stored so.
    ///
    /// process-crash (default): the payment is in SQLite's write-ahead log in the OS page
    /// cache before the content is sent. That survives kill -9 and any crash of this process
    /// (the kernel keeps the file's pages and writes them back), which is what the protocol
    /// requires: a receiver that loses an accepted proof cannot claim it. A power loss or
    /// kernel crash may lose the last payments.
    ///
    /// power-loss: also fsync before the content is sent (SQLite synchronous=FULL), so
    /// payments survive a power loss or kernel crash; costs a disk flush per commit
    /// (payments that arrive together share one).
    #[arg(long, env = "URAIDEN_DURABILITY", value_enum, default_value_t = Durability::ProcessCrash,
          global = true)]
    pub durability: Durability,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the paywalled resources and the receiver's API.
    ///
    /// By default the demo of the seed: GET /echofix/<param> costs 5 token units and
    /// GET /echodyn/<param> costs one unit per byte of <param>; both answer <param>.
    /// With --proxy-config, paywalled paths of an upstream server instead.
    /// Always: /api/1 (REST API), /js/* (paywall scripts), /metrics (Prometheus).
    Start(StartArgs),
    /// Deploy the token (unless --token-address) and the channel manager; print their addresses.
    Deploy(DeployArgs),
    /// Withdraw earned balances (last accepted proofs) without closing the channels.
    ///
    /// Works on the state file, so the server must be stopped; while it runs, use its operator
    /// API instead: POST /api/1/withdraw or /api/1/channels/<sender>/<open_block>/withdraw.
    Withdraw(WithdrawArgs),
    /// Close every channel that has a payment with the receiver's own closing signature
    /// (shutting the business down); channels without a payment are listed and left open.
    ///
    /// Works on the state file, so the server must be stopped; while it runs, use
    /// POST /api/1/close-all instead (it also retries failed closes in the background).
    CloseAll,
    /// Move the state of an SQLite file into an empty PostgreSQL database (to run several
    /// instances on it): every channel and accepted proof, the kept proofs and block history.
    ///
    /// Locks the file, so the server must be stopped. Refuses a database that already holds
    /// channels. Needs no key and no node: the file's identity goes with it.
    Migrate(MigrateArgs),
}

/// `migrate`'s options.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The SQLite state file to move (it is left as it was).
    #[arg(long)]
    pub from: PathBuf,
    /// The PostgreSQL database to move it into: postgres://user:password@host:port/database
    /// (prefer the environment variable: command lines are visible to every local user).
    #[arg(long, env = "URAIDEN_DATABASE_URL", hide_env_values = true)]
    pub to: String,
}

/// Which channels to withdraw from.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["sender", "all"])))]
pub struct WithdrawArgs {
    /// The sender of the one channel to withdraw from (with --open-block).
    #[arg(long, requires = "open_block")]
    pub sender: Option<Address>,
    /// The open block of that channel.
    #[arg(long, requires = "sender")]
    pub open_block: Option<u32>,
    /// Every channel with something earned and not withdrawn.
    #[arg(long)]
    pub all: bool,
    /// Skip channels with less than this many token base units waiting.
    #[arg(long, default_value = "0")]
    pub min_amount: U192,
}

/// Where to listen and what to serve.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// Address to listen on.
    #[arg(long, env = "URAIDEN_HOST", default_value = "0.0.0.0")]
    pub host: String,
    /// Port to listen on (0: any free port, printed at startup).
    #[arg(long, env = "URAIDEN_PORT", default_value_t = 5000)]
    pub port: u16,
    /// TOML file: an upstream URL and per-path prices to paywall instead of the echo demo.
    #[arg(long, env = "URAIDEN_PROXY_CONFIG")]
    pub proxy_config: Option<PathBuf>,
    /// Withdraw a channel's earned balance on chain whenever this many token base units are
    /// unwithdrawn (default: only when the operator asks).
    #[arg(long, env = "URAIDEN_WITHDRAW_THRESHOLD", value_parser = positive_amount)]
    pub withdraw_threshold: Option<U192>,
    /// Blocks after handing a sender a closing signature at which the receiver closes the
    /// channel itself if the sender has not (default: never).
    #[arg(long, env = "URAIDEN_CLOSE_SIGNED_TIMEOUT", value_parser = clap::value_parser!(u64).range(1..))]
    pub close_signed_timeout: Option<u64>,
    /// Let pages from this origin (scheme://host[:port], repeatable, or * for any) pay with
    /// fetch and read the RDN-* headers: for single-page apps served from another origin.
    #[arg(long = "cors-origin", env = "URAIDEN_CORS_ORIGIN", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub rate_limits: RateLimitArgs,
}

/// How many requests one client address, and one sender, may make (see README, "Rate
/// limits"). RATE is REQUESTS/PERIOD[,burst=N]: `100/1s`, `600/1m,burst=50`; PERIOD in ms,
/// s, m or h; the burst defaults to REQUESTS.
#[derive(Debug, Args)]
pub struct RateLimitArgs {
    /// Requests per client address (IPv6 by /64), before any signature work; 429 beyond.
    /// Not for a receiver behind a reverse proxy, where all clients share one address.
    /// Default: off.
    #[arg(long, env = "URAIDEN_RATE_LIMIT_PER_CLIENT_ADDRESS", value_name = "RATE")]
    pub rate_limit_per_client_address: Option<Rate>,
    /// Paid requests per sender, spent only by stored payments; 429 beyond, nothing charged.
    /// Default: off.
    #[arg(long, env = "URAIDEN_RATE_LIMIT_PER_SENDER", value_name = "RATE")]
    pub rate_limit_per_sender: Option<Rate>,
    /// Keys (addresses, senders) each limit tracks at most; beyond, only refilled buckets are
    /// forgotten, and new keys share one overflow bucket until one has refilled.
    #[arg(long, env = "URAIDEN_RATE_LIMIT_MAX_KEYS", default_value_t = RateLimits::default().max_tracked_keys,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub rate_limit_max_keys: usize,
}

impl RateLimitArgs {
    fn rate_limits(&self) -> RateLimits {
        RateLimits {
            per_client_address: self.rate_limit_per_client_address,
            per_sender: self.rate_limit_per_sender,
            max_tracked_keys: self.rate_limit_max_keys,
        }
    }
}

/// What one client may hold of the server: slow or silent clients are cut off, and the
/// connections served at once are capped (see README, "Serving limits").
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Connections served at once; more wait in the kernel's queue. Keep it well below the
    /// open-file limit (ulimit -n): the state file and the node connections need descriptors.
    #[arg(long, env = "URAIDEN_MAX_CONNECTIONS", default_value_t = HttpLimits::default().max_connections,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_connections: usize,
    /// Connections one client address (IPv4 address, IPv6 /64) may hold at once, TLS
    /// handshakes included; one more is closed as soon as it is accepted. Default: a quarter
    /// of --max-connections (128 of 512), room for browsers (6-8 connections per host, a few
    /// tabs) and for NATs, while no address can hold every slot. Behind a reverse proxy every
    /// client has the proxy's address: set it to --max-connections there.
    #[arg(long, env = "URAIDEN_MAX_CONNECTIONS_PER_CLIENT",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_connections_per_client: Option<usize>,
    /// Milliseconds a client has to send a request head, from connecting or from its previous
    /// answer (so also the keep-alive idle timeout).
    #[arg(long, env = "URAIDEN_HEADER_TIMEOUT_MS", default_value_t = millis(HttpLimits::default().header_timeout),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout_ms: u64,
    /// Milliseconds a client has to send a request's whole body.
    #[arg(long, env = "URAIDEN_BODY_TIMEOUT_MS", default_value_t = millis(HttpLimits::default().body_timeout),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub body_timeout_ms: u64,
    /// Milliseconds a request for a paywalled resource may take until its answer (503 after);
    /// a request whose payment is being stored is always answered.
    #[arg(long, env = "URAIDEN_REQUEST_TIMEOUT_MS", default_value_t = millis(HttpLimits::default().request_timeout),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_ms: u64,
    /// Milliseconds a client has to complete the TLS handshake.
    #[arg(long, env = "URAIDEN_TLS_HANDSHAKE_TIMEOUT_MS",
          default_value_t = millis(HttpLimits::default().tls_handshake_timeout),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub tls_handshake_timeout_ms: u64,
    /// Milliseconds a write to a client may wait for it to read; then the connection is closed.
    #[arg(long, env = "URAIDEN_WRITE_TIMEOUT_MS", default_value_t = millis(HttpLimits::default().write_timeout),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub write_timeout_ms: u64,
}

impl LimitArgs {
    fn limits(&self) -> HttpLimits {
        HttpLimits {
            max_connections: self.max_connections,
            max_connections_per_client: self.max_connections_per_client,
            header_timeout: Duration::from_millis(self.header_timeout_ms),
            body_timeout: Duration::from_millis(self.body_timeout_ms),
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            tls_handshake_timeout: Duration::from_millis(self.tls_handshake_timeout_ms),
            write_timeout: Duration::from_millis(self.write_timeout_ms),
            ..HttpLimits::default()
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn positive_amount(text: &str) -> Result<U192, String> {
    match text.parse::<U192>() {
        Ok(amount) if !amount.is_zero() => Ok(amount),
        Ok(_) => Err("must be at least 1".into()),
        Err(error) => Err(format!("not a decimal amount: {error}")),
    }
}

/// The seed's `deploy_testnet` options; the owner is the account of --private-key.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Challenge period in blocks (at least 500).
    #[arg(long, env = "URAIDEN_CHALLENGE_PERIOD", default_value_t = 500)]
    pub challenge_period: u32,
    /// Whole tokens minted to the owner.
    #[arg(long, env = "URAIDEN_SUPPLY", default_value = "10000000")]
    pub supply: U256,
    #[arg(long, env = "URAIDEN_TOKEN_NAME", default_value = "CustomToken")]
    pub token_name: String,
    #[arg(long, env = "URAIDEN_TOKEN_SYMBOL", default_value = "TKN")]
    pub token_symbol: String,
    #[arg(long, env = "URAIDEN_TOKEN_DECIMALS", default_value_t = 18)]
    pub token_decimals: u8,
    /// An already deployed ERC20 to use instead of deploying CustomToken.
    #[arg(long, env = "URAIDEN_TOKEN_ADDRESS")]
    pub token_address: Option<Address>,
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        crate::init_tracing();
        match self.command {
            Command::Deploy(args) => deploy(&self.account, args).await,
            Command::Start(args) => start(&self.account, &self.receiver, args).await,
            Command::Withdraw(args) => withdraw(&self.account, &self.receiver, args).await,
            Command::CloseAll => close_all(&self.account, &self.receiver).await,
            // The PostgreSQL client blocks (it runs its own runtime): off the async threads.
            Command::Migrate(args) => tokio::task::spawn_blocking(move || migrate(&args))
                .await
                .context("the migration thread failed")?,
        }
    }
}

/// Loads the key of --private-key, asking for a keystore's password on the terminal when
/// no password file is given.
fn load_signer(account: &AccountArgs, purpose: &str) -> anyhow::Result<PrivateKeySigner> {
    let key_path = account.private_key.as_deref().with_context(|| {
        format!("{purpose} needs the receiver's key: pass --private-key FILE (mode 0600)")
    })?;
    if let Some(password_file) = account.private_key_password_file.as_deref() {
        let password = keys::read_password_file(password_file)?;
        return Ok(keys::load_private_key(key_path, Some(password.as_str()))?);
    }
    match keys::load_private_key(key_path, None) {
        Err(uraiden_chain::Error::PasswordMissing { .. }) => {
            let password = prompt_password(key_path)?;
            Ok(keys::load_private_key(key_path, Some(password.as_str()))?)
        }
        other => Ok(other?),
    }
}

fn prompt_password(key_path: &Path) -> anyhow::Result<zeroize::Zeroizing<String>> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "keystore {} needs a password and there is no terminal to ask on: pass \
             --private-key-password-file FILE",
            key_path.display()
        );
    }
    let password = rpassword::prompt_password(format!("Password for {}: ", key_path.display()))
        .context("reading the keystore password from the terminal")?;
    Ok(zeroize::Zeroizing::new(password))
}

fn rpc_url(account: &AccountArgs) -> anyhow::Result<alloy::transports::http::reqwest::Url> {
    account
        .rpc_provider
        .parse()
        .with_context(|| format!("--rpc-provider {:?} is not a URL", account.rpc_provider))
}

async fn deploy(account: &AccountArgs, args: DeployArgs) -> anyhow::Result<()> {
    let signer = load_signer(account, "deploy")?;
    let provider = ProviderBuilder::new().wallet(signer).connect_http(rpc_url(account)?);
    let options = DeployOptions {
        challenge_period: args.challenge_period,
        supply: args.supply,
        token_name: args.token_name,
        token_symbol: args.token_symbol,
        token_decimals: args.token_decimals,
        token_address: args.token_address,
        trusted_contracts: Vec::new(),
    };
    let deployment = uraiden_chain::deploy(&provider, &options)
        .await
        .with_context(|| format!("deploying through {}", account.rpc_provider))?;
    println!("chain id: {}", deployment.chain_id);
    println!("token address: {}", deployment.token);
    println!("channel manager address: {}", deployment.channel_manager);
    println!("deployed at block: {}", deployment.deploy_block);
    Ok(())
}

/// Reads the operator's API token from --api-token-file or --api-token / URAIDEN_API_TOKEN.
fn api_token(receiver: &ReceiverArgs) -> anyhow::Result<Option<ApiToken>> {
    let text = match (&receiver.api_token_file, &receiver.api_token) {
        (Some(file), _) => keys::read_secret_file(file)
            .with_context(|| format!("reading --api-token-file {}", file.display()))?,
        (None, Some(token)) => zeroize::Zeroizing::new(token.clone()),
        (None, None) => return Ok(None),
    };
    ApiToken::new(&text).map(Some).context("the API token is empty; put a long random string in it")
}

/// The channel manager's settings from the command line: node, key, contract, state file.
fn channel_config(
    account: &AccountArgs,
    receiver: &ReceiverArgs,
    command: &str,
) -> anyhow::Result<ChannelManagerConfig> {
    let contract = receiver.channel_manager_address.with_context(|| {
        format!("{command} needs --channel-manager-address 0x… (printed by `uraiden-server deploy`)")
    })?;
    let store = match (&receiver.database_url, &receiver.state_file) {
        (Some(url), _) => StoreLocation::Database(DatabaseUrl::new(url)),
        (None, Some(path)) => StoreLocation::File(path.clone()),
        (None, None) => anyhow::bail!(
            "{command} needs --state-file FILE (an SQLite file) or --database-url postgres://… (a \
             PostgreSQL database several instances can share): where channels and accepted \
             payments are stored"
        ),
    };
    let signer = load_signer(account, command)?;
    let receiver_key = LocalSigningKey::from_bytes(&signer.to_bytes())
        .map_err(|_| anyhow::anyhow!("the receiver's key is not a valid secp256k1 key"))?;
    let provider =
        ProviderBuilder::new().wallet(EthereumWallet::from(signer)).connect_http(rpc_url(account)?).erased();
    let mut config = ChannelManagerConfig::new(provider, receiver_key, contract, store, receiver.start_block);
    config.confirmations = receiver.confirmations;
    config.poll_interval = Duration::from_millis(receiver.poll_interval_ms);
    config.durability = receiver.durability;
    config.gas_price = receiver.gas_price;
    Ok(config)
}

fn migrate(args: &MigrateArgs) -> anyhow::Result<()> {
    let to = DatabaseUrl::new(&args.to);
    let moved = migrate_to_postgres(&args.from, &to)
        .with_context(|| format!("moving {} into {to}", args.from.display()))?;
    println!(
        "moved {} channels ({} with an accepted proof) from {} into {to}; chain followed up to block {}",
        moved.channels,
        moved.paid_channels,
        args.from.display(),
        moved.sync_head.map_or_else(|| "none yet".to_owned(), |head| head.number.to_string()),
    );
    println!("start the instances with --database-url instead of --state-file");
    Ok(())
}

async fn start(account: &AccountArgs, receiver: &ReceiverArgs, args: StartArgs) -> anyhow::Result<()> {
    let mut channels = channel_config(account, receiver, "start")?;
    channels.withdraw_threshold = args.withdraw_threshold;
    channels.close_signed_timeout = args.close_signed_timeout;
    let resources = match &args.proxy_config {
        Some(path) => Resources::Proxy(ProxyConfig::load(path)?),
        None => Resources::Echo,
    };
    let tls = match (&receiver.ssl_cert, &receiver.ssl_key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert: cert.clone(), key: key.clone() }),
        _ => None,
    };
    let http = HttpConfig {
        resources,
        tls,
        paywall_dir: receiver.paywall_info.clone(),
        api_token: api_token(receiver)?,
        cors_origins: args.cors_origins,
        limits: args.limits.limits(),
        rate_limits: args.rate_limits.rate_limits(),
        public_chain: match (&receiver.chain_name, &receiver.chain_rpc_url) {
            (Some(name), Some(url)) => Some(
                PublicChain::new(name, url, &receiver.chain_currency_symbol)
                    .map_err(|problem| anyhow::anyhow!("--chain-name/--chain-rpc-url: {problem}"))?,
            ),
            _ => None,
        },
        no_paid_note: receiver.no_paid_note,
        no_x402: receiver.no_x402,
    };
    serve::raise_open_file_limit(http.limits.max_connections);
    let server = Receiver::start(ReceiverConfig { channels, http }).await?;

    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))?;
    let address: SocketAddr = listener.local_addr()?;
    let scheme = if server.is_tls() { "https" } else { "http" };
    tracing::info!(%address, "listening on {scheme}://{address}");
    // Requests in flight finish (their payments are stored), then the chain follower stops.
    server.run(listener, serve::shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Opens the state file without serving (`withdraw`, `close-all`): no duties run, and the
/// manager has caught up with the chain when this returns.
async fn open_offline(
    account: &AccountArgs,
    receiver: &ReceiverArgs,
    command: &str,
) -> anyhow::Result<(ChannelManager, BackgroundTasks)> {
    let mut config = channel_config(account, receiver, command)?;
    let head = tokio::time::timeout(NODE_TIMEOUT, config.provider.get_block_number())
        .await
        .map_err(|_| anyhow::anyhow!("the Ethereum node at {} does not answer", account.rpc_provider))?
        .with_context(|| format!("cannot reach the Ethereum node at {}", account.rpc_provider))?;
    config.on_chain_duties = false;
    let (manager, background) = ChannelManager::start(config).await.map_err(|error| match error {
        StartError::Store(error @ StoreError::Locked { .. }) => anyhow::anyhow!(
            "{error}. A running server holds its state file: use its operator API instead \
             (POST /api/1/withdraw, POST /api/1/close-all with the bearer token)"
        ),
        error => anyhow::Error::new(error).context("starting the channel manager"),
    })?;
    if !manager.wait_for_block(head, Duration::from_secs(600)).await {
        background.shutdown().await;
        anyhow::bail!("could not catch up with the chain up to block {head}; see the log");
    }
    Ok((manager, background))
}

async fn withdraw(account: &AccountArgs, receiver: &ReceiverArgs, args: WithdrawArgs) -> anyhow::Result<()> {
    let (manager, background) = open_offline(account, receiver, "withdraw").await?;
    let report = match (args.sender, args.open_block) {
        (Some(sender), Some(open_block)) => vec![(
            uraiden_protocol::ChannelId::new(sender, manager.receiver(), open_block),
            background.duties().withdraw(sender, open_block, args.min_amount).await,
        )],
        _ => background.duties().withdraw_all(args.min_amount).await,
    };
    background.shutdown().await;
    let mut failed = 0;
    for (channel, result) in &report {
        let what = match result {
            Ok(withdrawal) => match &withdrawal.outcome {
                WithdrawOutcome::Withdrawn { amount, transaction } => {
                    format!("withdrew {amount} (up to balance {}) in {transaction}", withdrawal.balance)
                }
                WithdrawOutcome::NothingToWithdraw => "nothing to withdraw".into(),
                WithdrawOutcome::BelowMinimum { unwithdrawn } => {
                    format!("{unwithdrawn} waiting, below --min-amount")
                }
            },
            Err(error) => {
                failed += 1;
                format!("failed: {error}")
            }
        };
        println!("{} block {}: {what}", channel.sender, channel.open_block_number);
    }
    if report.is_empty() {
        println!("no channel has anything to withdraw");
    }
    anyhow::ensure!(failed == 0, "{failed} withdrawal(s) failed");
    Ok(())
}

async fn close_all(account: &AccountArgs, receiver: &ReceiverArgs) -> anyhow::Result<()> {
    let (_, background) = open_offline(account, receiver, "close-all").await?;
    let report = background.duties().close_all().await;
    background.shutdown().await;
    let mut pending = 0;
    for close in &report {
        let what = match &close.outcome {
            CloseOutcome::Closed { transaction } => {
                format!("closed at balance {} in {transaction}", close.balance)
            }
            CloseOutcome::Pending { error } => {
                pending += 1;
                format!(
                    "close failed ({error}); close_pending: run close-all again or start the server to retry"
                )
            }
            CloseOutcome::NothingToCollect => "nothing paid: left open for its sender".into(),
            CloseOutcome::AlreadyClosing => "the sender is closing it: the server's duties settle it".into(),
        };
        println!("{} block {}: {what}", close.channel.sender, close.channel.open_block_number);
    }
    if report.is_empty() {
        println!("no open channels");
    }
    anyhow::ensure!(pending == 0, "{pending} close(s) failed and are pending");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("uraiden-server").chain(args.iter().copied()))
    }

    #[test]
    fn start_uses_the_seed_defaults() {
        let cli = parse(&[
            "--private-key",
            "k",
            "--channel-manager-address",
            "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
            "--state-file",
            "s.db",
            "start",
        ])
        .unwrap();
        let Command::Start(start) = cli.command else { panic!("not start") };
        assert_eq!((start.host.as_str(), start.port), ("0.0.0.0", 5000));
        assert_eq!(cli.account.rpc_provider, "http://localhost:8545");
        assert_eq!(cli.receiver.confirmations, 3, "protects against one- and two-block reorgs");
        assert_eq!(cli.receiver.state_file.as_deref(), Some(Path::new("s.db")));
    }

    #[test]
    fn global_options_may_follow_the_subcommand() {
        let cli = parse(&["start", "--port", "0", "--confirmations", "5", "--paywall-info", "web"]).unwrap();
        assert_eq!(cli.receiver.confirmations, 5);
        assert_eq!(cli.receiver.paywall_info.as_deref(), Some(Path::new("web")));
    }

    #[test]
    fn bad_values_are_refused() {
        for args in [
            &["--confirmations", "0", "start"][..],
            &["--channel-manager-address", "0x12", "start"],
            &["--ssl-cert", "c.pem", "start"],
            &["start", "--port", "70000"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn start_help_describes_the_demo() {
        let error = parse(&["start", "--help"]).unwrap_err();
        let help = error.to_string();
        assert!(help.contains("/echofix/<param> costs 5"), "{help}");
        assert!(help.contains("/echodyn/<param>"), "{help}");
    }

    #[test]
    fn withdraw_names_one_channel_or_all() {
        let sender = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
        let cli = parse(&["withdraw", "--sender", sender, "--open-block", "7", "--min-amount", "5"]).unwrap();
        let Command::Withdraw(args) = cli.command else { panic!("not withdraw") };
        assert_eq!((args.open_block, args.min_amount, args.all), (Some(7), U192::from(5u8), false));
        assert!(matches!(
            parse(&["withdraw", "--all"]).unwrap().command,
            Command::Withdraw(WithdrawArgs { all: true, .. })
        ));
        for args in [
            &["withdraw"][..],
            &["withdraw", "--sender", sender],
            &["withdraw", "--all", "--sender", sender, "--open-block", "7"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
        assert!(matches!(parse(&["close-all"]).unwrap().command, Command::CloseAll));
    }

    #[test]
    fn start_takes_the_duty_options() {
        let cli = parse(&[
            "--gas-price",
            "3000000000",
            "start",
            "--withdraw-threshold",
            "100",
            "--close-signed-timeout",
            "40",
        ])
        .unwrap();
        let Command::Start(start) = cli.command else { panic!("not start") };
        assert_eq!(cli.receiver.gas_price, Some(3_000_000_000));
        assert_eq!(
            (start.withdraw_threshold, start.close_signed_timeout),
            (Some(U192::from(100u8)), Some(40))
        );
        assert!(parse(&["start", "--withdraw-threshold", "0"]).is_err());
        assert!(parse(&["start", "--close-signed-timeout", "0"]).is_err());
    }

    #[test]
    fn start_takes_the_serving_limits() {
        let Command::Start(start) = parse(&["start"]).unwrap().command else { panic!("not start") };
        assert_eq!(start.limits.limits(), HttpLimits::default());
        let Command::Start(start) = parse(&[
            "start",
            "--max-connections",
            "64",
            "--max-connections-per-client",
            "12",
            "--header-timeout-ms",
            "500",
            "--body-timeout-ms",
            "600",
            "--request-timeout-ms",
            "700",
            "--tls-handshake-timeout-ms",
            "800",
        ])
        .unwrap()
        .command
        else {
            panic!("not start")
        };
        let limits = start.limits.limits();
        assert_eq!(limits.max_connections, 64);
        assert_eq!(limits.connections_per_client(), 12);
        assert_eq!(
            [
                limits.header_timeout,
                limits.body_timeout,
                limits.request_timeout,
                limits.tls_handshake_timeout
            ],
            [500, 600, 700, 800].map(Duration::from_millis)
        );
        assert!(parse(&["start", "--max-connections", "0"]).is_err());
        assert!(parse(&["start", "--max-connections-per-client", "0"]).is_err());
        assert!(parse(&["start", "--header-timeout-ms", "0"]).is_err());
    }

    #[test]
    fn start_takes_the_rate_limits() {
        let Command::Start(start) = parse(&["start"]).unwrap().command else { panic!("not start") };
        assert_eq!(start.rate_limits.rate_limits(), RateLimits::default());
        let Command::Start(start) = parse(&[
            "start",
            "--rate-limit-per-client-address",
            "100/1s,burst=200",
            "--rate-limit-per-sender",
            "10/1m",
            "--rate-limit-max-keys",
            "5000",
        ])
        .unwrap()
        .command
        else {
            panic!("not start")
        };
        let limits = start.rate_limits.rate_limits();
        assert_eq!(limits.per_client_address, Some(Rate::new(100, Duration::from_secs(1), 200).unwrap()));
        assert_eq!(limits.per_sender, Some(Rate::new(10, Duration::from_secs(60), 10).unwrap()));
        assert_eq!(limits.max_tracked_keys, 5000);
        let refused = parse(&["start", "--rate-limit-per-sender", "10 per second"]).unwrap_err().to_string();
        assert!(refused.contains("REQUESTS/PERIOD"), "{refused}");
        assert!(parse(&["start", "--rate-limit-max-keys", "0"]).is_err());
    }

    #[test]
    fn api_token_from_value_or_file() {
        let mut cli = parse(&["--api-token", " t0k3n ", "start"]).unwrap();
        assert!(api_token(&cli.receiver).unwrap().unwrap().matches("t0k3n"));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "from-file\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        cli.receiver.api_token_file = Some(file.clone());
        let refused = format!("{:#}", api_token(&cli.receiver).unwrap_err());
        assert!(refused.contains(&format!("chmod 600 {}", file.display())), "{refused}");
        assert!(!refused.contains("from-file"), "{refused}");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(api_token(&cli.receiver).unwrap().unwrap().matches("from-file"));
        cli.receiver.api_token_file = None;
        cli.receiver.api_token = Some("  ".into());
        assert!(api_token(&cli.receiver).is_err());
    }
}
