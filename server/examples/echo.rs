//! The seed's echo server (§4.2.4), written against the library API: `/echofix/{param}`
//! costs 5 token units, `/echodyn/{param}` one unit per byte of `param`; both answer `param`.
//!
//! ```text
//! cargo run -p uraiden-server --example echo -- \
//!     --private-key receiver.key --channel-manager-address 0x… --state-file echo.db
//! ```

use std::path::PathBuf;

use alloy::{
    network::EthereumWallet,
    primitives::Address,
    providers::{Provider, ProviderBuilder},
};
use anyhow::Context;
use axum::{extract::Path, routing::get, Router};
use clap::Parser;
use uraiden_chain::keys;
use uraiden_protocol::{LocalSigningKey, U192};
use uraiden_server::{shutdown_signal, ChannelManagerConfig, Price, Receiver, ReceiverConfig, Resources};

/// The echo server of µRaiden's tutorial.
#[derive(Debug, Parser)]
struct Args {
    #[arg(long, env = "URAIDEN_RPC_PROVIDER", default_value = "http://localhost:8545")]
    rpc_provider: String,
    /// The receiver's key: 64 hex digits in a file of mode 0600.
    #[arg(long, env = "URAIDEN_PRIVATE_KEY")]
    private_key: PathBuf,
    #[arg(long, env = "URAIDEN_CHANNEL_MANAGER_ADDRESS")]
    channel_manager_address: Address,
    #[arg(long, env = "URAIDEN_STATE_FILE")]
    state_file: PathBuf,
    /// The channel manager's deployment block.
    #[arg(long, default_value_t = 0)]
    start_block: u64,
    #[arg(long, default_value = "127.0.0.1:5000")]
    listen: String,
}

async fn echo(Path(param): Path<String>) -> String {
    tracing::info!(%param, "resource requested");
    param
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    uraiden_server::init_tracing();
    let args = Args::parse();

    // The receiver's account and the node.
    let signer = keys::load_private_key(&args.private_key, None)?;
    let receiver_key = LocalSigningKey::from_bytes(&signer.to_bytes()).context("invalid receiver key")?;
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(args.rpc_provider.parse().context("--rpc-provider is not a URL")?)
        .erased();

    // The channel manager follows the chain and decides on payments; the resources are
    // paywalled: a fixed price and a price computed from the request.
    let channels = ChannelManagerConfig::new(
        provider,
        receiver_key,
        args.channel_manager_address,
        args.state_file,
        args.start_block,
    );
    let mut config = ReceiverConfig::new(channels);
    config.http.resources = Resources::routes(|state| {
        let by_length = Price::dynamic(|request| U192::from(request.param("param").map_or(0, str::len)));
        Router::new()
            .route("/echofix/{param}", get(echo).route_layer(state.paywall(Price::fixed(5))))
            .route("/echodyn/{param}", get(echo).route_layer(state.paywall(by_length)))
    });
    let receiver = Receiver::start(config).await?;

    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    tracing::info!("echo server on http://{}", listener.local_addr()?);
    Ok(receiver.run(listener, shutdown_signal()).await?)
}
