//! Command line of `uraiden-server`, after the seed's §4.3.1 and `deploy_testnet` options.
//! Every option can also be given as an environment variable (`URAIDEN_*`).

use std::path::PathBuf;

use alloy::{
    primitives::{Address, U256},
    providers::ProviderBuilder,
};
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use uraiden_chain::{keys, DeployOptions};

/// µRaiden receiver: paywall HTTP resources, get paid over ERC20 payment channels.
#[derive(Debug, Parser)]
#[command(name = "uraiden-server", version)]
pub struct Cli {
    #[command(flatten)]
    pub account: AccountArgs,
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
    /// File holding the keystore's password.
    #[arg(long, env = "URAIDEN_PRIVATE_KEY_PASSWORD_FILE", global = true)]
    pub private_key_password_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Deploy the token (unless --token-address) and the channel manager; print their addresses.
    Deploy(DeployArgs),
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
        match self.command {
            Command::Deploy(args) => deploy(&self.account, args).await,
        }
    }
}

async fn deploy(account: &AccountArgs, args: DeployArgs) -> anyhow::Result<()> {
    let key_path = account
        .private_key
        .as_deref()
        .context("deploy needs the owner's key: pass --private-key FILE (mode 0600)")?;
    let password = account.private_key_password_file.as_deref().map(keys::read_password_file).transpose()?;
    let signer = keys::load_private_key(key_path, password.as_ref().map(|p| p.as_str()))?;
    let url = account
        .rpc_provider
        .parse()
        .with_context(|| format!("--rpc-provider {:?} is not a URL", account.rpc_provider))?;
    let provider = ProviderBuilder::new().wallet(signer).connect_http(url);
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
