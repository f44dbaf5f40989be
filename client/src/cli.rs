//! The `uraiden` command line: `get URL` pays as needed (through x402 when the receiver
//! offers it, else the `RDN-*` headers), prints the body on stdout and each payment taken on
//! stderr; `channels`, `topup`, `close` and `settle` manage channels. Every option has a
//! `URAIDEN_*` environment variable. Errors are one clear line and a non-zero exit code; key material
//! is never printed.
//!
//! `get` pays nothing unless `--max-price` is given: the price is the receiver's to set, and
//! only the user knows what a resource is worth. A 402 without it, or above it, is refused
//! before anything is signed or sent, with the price and the flag to pass.

use std::{io::Write, path::PathBuf, sync::Arc, time::Duration};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use reqwest::{redirect, StatusCode};
use uraiden_protocol::{parse_amount, Address, ChannelId, U192};

use crate::{
    payment_format::Offer, receiver_api, Channel, ChannelState, Client, ClientConfig, Error, KeySource,
    PaymentFormat, Session, SessionHooks, SessionOptions,
};

/// µRaiden sender: pays HTTP resources over ERC20 payment channels.
#[derive(Debug, Parser)]
#[command(name = "uraiden", version)]
pub struct Cli {
    /// The sender's key file: a JSON keystore or 64 hex digits; must be mode 0600.
    #[arg(long, env = "URAIDEN_PRIVATE_KEY")]
    pub private_key: PathBuf,
    /// A file holding the keystore's password (else it is prompted for).
    #[arg(long, env = "URAIDEN_PRIVATE_KEY_PASSWORD_FILE")]
    pub private_key_password_file: Option<PathBuf>,
    /// The Ethereum node's JSON-RPC URL.
    #[arg(long, env = "URAIDEN_RPC_PROVIDER", default_value = "http://localhost:8545")]
    pub rpc_provider: String,
    /// The channel manager contract. `get` may omit it and use the one the receiver names
    /// in its 402 (trust on first use); the other commands need it.
    #[arg(long, env = "URAIDEN_CHANNEL_MANAGER_ADDRESS")]
    pub channel_manager_address: Option<Address>,
    /// The state file (channels and balance proofs), used by one uraiden at a time; default
    /// `$HOME/.uraiden/<sender address>.json`.
    #[arg(long, env = "URAIDEN_STATE_FILE")]
    pub state_file: Option<PathBuf>,
    /// First block to search for this sender's channels when syncing from the chain.
    #[arg(long, env = "URAIDEN_START_BLOCK", default_value_t = 0)]
    pub start_block: u64,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch URL, paying the receiver's price up to --max-price; prints the body to stdout.
    Get {
        url: String,
        /// Pay at most this per request (token base units). Without it nothing is paid: a
        /// 402 is refused with its price.
        #[arg(long, env = "URAIDEN_MAX_PRICE", value_parser = amount)]
        max_price: Option<U192>,
        /// Deposit of a new channel (token base units); default 10 × the price.
        #[arg(long, env = "URAIDEN_DEPOSIT", value_parser = amount)]
        deposit: Option<U192>,
        /// Milliseconds between retries while the receiver confirms a channel.
        #[arg(long, env = "URAIDEN_RETRY_INTERVAL_MS", default_value_t = 1000)]
        retry_interval_ms: u64,
        /// Close the channel afterwards (cooperatively, else uncooperatively).
        #[arg(long)]
        close: bool,
    },
    /// List this sender's channels (synced from the chain first).
    Channels,
    /// Add AMOUNT to an open channel's deposit.
    Topup {
        #[arg(value_parser = amount)]
        amount: U192,
        #[command(flatten)]
        channel: ChannelChoice,
    },
    /// Close a channel: cooperatively through the receiver's API with the last proof,
    /// else (or with --uncooperative) by starting the challenge period.
    Close {
        #[command(flatten)]
        channel: ChannelChoice,
        #[arg(long)]
        uncooperative: bool,
    },
    /// Settle a channel whose challenge period is over.
    Settle {
        #[command(flatten)]
        channel: ChannelChoice,
    },
}

/// Picks one channel; may be omitted when only one matches.
#[derive(Debug, clap::Args)]
pub struct ChannelChoice {
    /// The channel's receiver.
    #[arg(long)]
    pub receiver: Option<Address>,
    /// The channel's open block.
    #[arg(long)]
    pub open_block: Option<u32>,
}

fn amount(text: &str) -> Result<U192, String> {
    parse_amount(text).map_err(|e| e.to_string())
}

impl Cli {
    /// Runs the command.
    pub async fn run(self) -> anyhow::Result<()> {
        let key = KeySource::File {
            path: self.private_key.clone(),
            password_file: self.private_key_password_file.clone(),
        }
        .load()?;
        let sender = key.address();
        let state_file = match &self.state_file {
            Some(path) => path.clone(),
            None => {
                let home = std::env::var_os("HOME").context("HOME is not set: pass --state-file")?;
                PathBuf::from(home).join(".uraiden").join(format!("{sender}.json"))
            }
        };
        let http = same_origin_http()?;
        let channel_manager = match (&self.command, self.channel_manager_address) {
            (_, Some(address)) => address,
            (Command::Get { url, .. }, None) => match discover_channel_manager(&http, url).await? {
                Some(address) => address,
                None => return fetch_free(&http, url).await,
            },
            (_, None) => bail!("--channel-manager-address (or URAIDEN_CHANNEL_MANAGER_ADDRESS) is required"),
        };
        let client = Client::connect(ClientConfig {
            key,
            rpc_url: self.rpc_provider.clone(),
            channel_manager,
            state_file,
            start_block: self.start_block,
        })
        .await?;
        match self.command {
            Command::Get { url, max_price, deposit, retry_interval_ms, close } => {
                let mut options = SessionOptions {
                    // No limit given: nothing is paid (a 402 of price 0 is refused anyway).
                    max_price: Some(max_price.unwrap_or(U192::ZERO)),
                    retry_interval: Duration::from_millis(retry_interval_ms),
                    close_channels_on_exit: close,
                    ..SessionOptions::default()
                };
                if let Some(deposit) = deposit {
                    options.initial_deposit = Arc::new(move |price: U192| deposit.max(price));
                }
                let session = Session::with_hooks(client, options, Arc::new(Report));
                let response = session.get(&url).await.map_err(|error| match error {
                    Error::PriceAboveLimit { price, limit } => {
                        price_refused(&url, price, max_price.map(|_| limit))
                    }
                    error => error.into(),
                })?;
                let status = response.status();
                let location = location(&response);
                let body = response.bytes().await.with_context(|| format!("reading the body of {url}"))?;
                ensure_success(&url, status, location.as_deref(), &body)?;
                std::io::stdout().write_all(&body)?;
                session.close().await?;
            }
            Command::Channels => {
                client.sync_channels().await?;
                println!("sender {sender}, contract {channel_manager}");
                for channel in client.channels() {
                    let r = channel.snapshot();
                    println!(
                        "receiver {} open_block {} deposit {} balance {} state {}{}",
                        r.id.receiver,
                        r.id.open_block_number,
                        r.deposit,
                        r.balance,
                        r.state.as_str(),
                        r.settle_block.map(|b| format!(" settle_block {b}")).unwrap_or_default()
                    );
                }
            }
            Command::Topup { amount, channel } => {
                let channel = choose(&client, &channel, ChannelState::Open).await?;
                channel.topup(amount).await?;
                println!("channel {} deposit {}", channel.id(), channel.deposit());
            }
            Command::Close { channel, uncooperative } => {
                let channel = choose(&client, &channel, ChannelState::Open).await?;
                if !uncooperative {
                    match receiver_api::close_via_receiver(&http, &channel).await {
                        Ok(()) => {
                            println!(
                                "channel {} closed cooperatively at balance {}",
                                channel.id(),
                                channel.balance()
                            );
                            return Ok(());
                        }
                        Err(error) => {
                            eprintln!("uraiden: cooperative close failed ({error}); closing uncooperatively")
                        }
                    }
                }
                channel.close().await?;
                let settle = channel.snapshot().settle_block.map(|b| b.to_string()).unwrap_or_default();
                println!("channel {} close requested; settle after block {settle}", channel.id());
            }
            Command::Settle { channel } => {
                let channel = choose(&client, &channel, ChannelState::Settling).await?;
                channel.settle().await?;
                println!("channel {} settled", channel.id());
            }
        }
        Ok(())
    }
}

/// An HTTP client that follows redirects only within the origin asked for: the receiver's
/// contract is learned, and its API is called, only at the origin the user named.
fn same_origin_http() -> anyhow::Result<reqwest::Client> {
    let policy = redirect::Policy::custom(|attempt| {
        let same_origin =
            attempt.previous().first().map(reqwest::Url::origin) == Some(attempt.url().origin());
        if attempt.previous().len() > 10 {
            attempt.error("more than 10 redirects")
        } else if same_origin {
            attempt.follow()
        } else {
            attempt.stop()
        }
    });
    reqwest::Client::builder().redirect(policy).build().context("building the HTTP client")
}

/// Why `get` did not pay `price` at `url`: no `--max-price` given, or `limit` below the price.
fn price_refused(url: &str, price: U192, limit: Option<U192>) -> anyhow::Error {
    match limit {
        None => anyhow::anyhow!(
            "{url} costs {price} per request and no --max-price was given; nothing was paid: pass \
             --max-price {price} (or set URAIDEN_MAX_PRICE) to pay it"
        ),
        Some(limit) => anyhow::anyhow!(
            "{url} costs {price} per request, above --max-price {limit}; nothing was paid: raise \
             --max-price to at least {price} to pay it"
        ),
    }
}

/// Refuses a response that is not a success, saying where a redirect it did not follow
/// points.
fn ensure_success(url: &str, status: StatusCode, location: Option<&str>, body: &[u8]) -> anyhow::Result<()> {
    if status.is_success() {
        return Ok(());
    }
    if let (true, Some(location)) = (status.is_redirection(), location) {
        bail!(
            "{url} redirects to {location}, which uraiden does not follow here (another origin, or \
             not http): request that URL itself"
        );
    }
    bail!("{url} answered {status}: {}", String::from_utf8_lossy(body))
}

/// The channel manager a 402 at `url` names, or `None` when `url` is free.
async fn discover_channel_manager(http: &reqwest::Client, url: &str) -> anyhow::Result<Option<Address>> {
    let response = http.get(url).send().await.with_context(|| format!("requesting {url}"))?;
    if response.status() != reqwest::StatusCode::PAYMENT_REQUIRED {
        return Ok(None);
    }
    let contract = Offer::read(response.headers())
        .map_err(|problem| anyhow::anyhow!("{url} answered 402 without usable payment headers: {problem}"))?
        .info
        .contract;
    eprintln!(
        "uraiden: using the channel manager {contract} named by the receiver; pass --channel-manager-address to pin it"
    );
    Ok(Some(contract))
}

/// Says on stderr what each payment the receiver took cost, so the body alone is on stdout.
struct Report;

impl SessionHooks for Report {
    fn on_payment_accepted(&self, channel: ChannelId, price: U192, balance: U192, format: PaymentFormat) {
        eprintln!("uraiden: paid {price} through {format} in channel {channel}; its balance is {balance}");
    }
}

/// Prints a resource that needs no payment.
async fn fetch_free(http: &reqwest::Client, url: &str) -> anyhow::Result<()> {
    let response = http.get(url).send().await.with_context(|| format!("requesting {url}"))?;
    let status = response.status();
    let location = location(&response);
    let body = response.bytes().await?;
    ensure_success(url, status, location.as_deref(), &body)?;
    std::io::stdout().write_all(&body)?;
    Ok(())
}

fn location(response: &reqwest::Response) -> Option<String> {
    let location = response.headers().get(reqwest::header::LOCATION)?;
    location.to_str().ok().map(str::to_owned)
}

/// The one channel in `state` matching the choice, after syncing with the chain.
async fn choose(client: &Client, choice: &ChannelChoice, state: ChannelState) -> anyhow::Result<Channel> {
    client.sync_channels().await?;
    let matching: Vec<Channel> = client
        .channels()
        .into_iter()
        .filter(|c| c.id().sender == client.address() && c.state() == state)
        .filter(|c| choice.receiver.is_none_or(|r| c.id().receiver == r))
        .filter(|c| choice.open_block.is_none_or(|b| c.id().open_block_number == b))
        .collect();
    match matching.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!("no {} channel matches; see `uraiden channels`", state.as_str()),
        _ => bail!("{} {} channels match; pass --receiver and --open-block", matching.len(), state.as_str()),
    }
}
