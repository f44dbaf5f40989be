//! The server under test: the real receiver (channel manager, store, axum paywall) with a
//! free route and a paywalled one, either in a child process of its own (the default, so the
//! load generator's CPU is not the server's) or in this process (`--in-process`).

use std::{
    io::{BufRead, BufReader, Read},
    process::{Child, ChildStdin, Command, Stdio},
    time::Duration,
};

use alloy::{
    network::EthereumWallet,
    primitives::Address,
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use anyhow::Context;
use axum::{routing::get, Router};
use tokio::sync::oneshot;
use uraiden_protocol::LocalSigningKey;
use uraiden_server::{
    ChannelManagerConfig, DatabaseUrl, Durability, Price, Receiver, ReceiverConfig, ReceiverError, Resources,
    StoreLocation,
};

/// Everything a server instance needs to start, passed to the child on its command line.
#[derive(Clone, Debug)]
pub struct ServerSpec {
    pub rpc_url: String,
    /// The receiver's key, hex (an anvil development key: nothing secret).
    pub receiver_key: String,
    pub channel_manager: Address,
    pub start_block: u64,
    /// The server waits until it has followed the chain up to this block before serving.
    pub sync_to: u64,
    pub store: Store,
}

/// Where the channels live for one run.
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite { path: String, durability: Durability },
    Postgres { url: String },
}

impl ServerSpec {
    fn to_args(&self) -> Vec<String> {
        let store = match &self.store {
            Store::Sqlite { path, durability: Durability::ProcessCrash } => format!("sqlite:{path}"),
            Store::Sqlite { path, durability: Durability::PowerLoss } => format!("sqlite-fsync:{path}"),
            Store::Postgres { url } => url.clone(),
        };
        vec![
            "serve".into(),
            self.rpc_url.clone(),
            self.receiver_key.clone(),
            self.channel_manager.to_string(),
            self.start_block.to_string(),
            self.sync_to.to_string(),
            store,
        ]
    }

    /// The inverse of `to_args` (after `serve`).
    pub fn from_args(args: &[String]) -> anyhow::Result<Self> {
        let [rpc_url, receiver_key, channel_manager, start_block, sync_to, store] = args else {
            anyhow::bail!("serve takes: RPC_URL RECEIVER_KEY CHANNEL_MANAGER START_BLOCK SYNC_TO STORE");
        };
        let store = if let Some(path) = store.strip_prefix("sqlite:") {
            Store::Sqlite { path: path.into(), durability: Durability::ProcessCrash }
        } else if let Some(path) = store.strip_prefix("sqlite-fsync:") {
            Store::Sqlite { path: path.into(), durability: Durability::PowerLoss }
        } else {
            Store::Postgres { url: store.clone() }
        };
        Ok(Self {
            rpc_url: rpc_url.clone(),
            receiver_key: receiver_key.clone(),
            channel_manager: channel_manager.parse()?,
            start_block: start_block.parse()?,
            sync_to: sync_to.parse()?,
            store,
        })
    }
}

/// A started receiver, synced, listening on 127.0.0.1 (its port chosen by the system).
pub struct Started {
    address: std::net::SocketAddr,
    stop: oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<Result<(), ReceiverError>>,
}

/// The one place the benchmark builds its receiver: `/free` (no paywall), `/paid` (price 1).
async fn start_receiver(spec: &ServerSpec) -> anyhow::Result<Started> {
    let key: PrivateKeySigner = spec.receiver_key.parse()?;
    let receiver_key = LocalSigningKey::from_bytes(&key.to_bytes())?;
    let provider =
        ProviderBuilder::new().wallet(EthereumWallet::from(key)).connect_http(spec.rpc_url.parse()?).erased();
    let (location, durability) = match &spec.store {
        Store::Sqlite { path, durability } => (StoreLocation::File(path.into()), *durability),
        Store::Postgres { url } => {
            (StoreLocation::Database(DatabaseUrl::new(url.clone())), Durability::default())
        }
    };
    let mut config =
        ChannelManagerConfig::new(provider, receiver_key, spec.channel_manager, location, spec.start_block);
    config.durability = durability;
    // anvil mines only on transactions and never reorgs: mined is enough.
    config.confirmations = 1;
    config.poll_interval = Duration::from_millis(200);
    let mut config = ReceiverConfig::new(config);
    config.http.resources = Resources::routes(|state| {
        Router::new()
            .route("/free", get(|| async { "free" }))
            .route("/paid", get(|| async { "paid" }).route_layer(state.paywall(Price::fixed(1))))
    });
    let receiver = Receiver::start(config).await?;
    let manager = receiver.manager().context("a receiver on a chain")?;
    anyhow::ensure!(
        manager.wait_for_block(spec.sync_to, Duration::from_secs(60)).await,
        "the server did not follow the chain to block {} within 60 s",
        spec.sync_to
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(receiver.run(listener, async move {
        let _ = stopped.await;
    }));
    Ok(Started { address, stop, serving })
}

/// `uraiden-bench serve …`, the child: starts the receiver, prints `listening ADDRESS`, and
/// serves until its standard input closes (the parent ended the run, or died).
pub fn serve_child(spec: &ServerSpec) -> anyhow::Result<()> {
    // Logging as `uraiden-server` does it (info, to stderr: the parent sends it to a file).
    uraiden_server::init_tracing();
    // As many workers as cores, as `uraiden-server` has.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let started = start_receiver(spec).await?;
        println!("listening {}", started.address);
        tokio::task::spawn_blocking(|| {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
        })
        .await?;
        let _ = started.stop.send(());
        started.serving.await??;
        anyhow::Ok(())
    })
}

/// One running instance, in its own process or in this one.
pub enum Instance {
    Child { child: Child, stdin: Option<ChildStdin> },
    InProcess(Started),
}

impl Instance {
    /// Starts an instance as a child process (this executable, `serve`), or in this process.
    /// A child's log goes to `log`.
    pub async fn start(
        spec: &ServerSpec,
        in_process: bool,
        log: &std::path::Path,
    ) -> anyhow::Result<(Self, std::net::SocketAddr)> {
        if in_process {
            let started = start_receiver(spec).await?;
            let address = started.address;
            return Ok((Self::InProcess(started), address));
        }
        let mut child = Command::new(std::env::current_exe()?)
            .args(spec.to_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log)?)
            .spawn()
            .context("cannot start the server process")?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().context("the server's stdout")?;
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        })
        .await??;
        let address = line.trim().strip_prefix("listening ").with_context(|| {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            format!("the server process did not start (it printed {line:?}); its log:\n{log}")
        })?;
        let address = address.parse()?;
        Ok((Self::Child { child, stdin }, address))
    }

    /// The instance's process id, when it has a process of its own.
    pub fn pid(&self) -> Option<u32> {
        match self {
            Self::Child { child, .. } => Some(child.id()),
            Self::InProcess(_) => None,
        }
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        match self {
            Self::Child { mut child, stdin } => {
                drop(stdin);
                let status = tokio::task::spawn_blocking(move || child.wait()).await??;
                anyhow::ensure!(status.success(), "the server process ended with {status}");
            }
            Self::InProcess(started) => {
                let _ = started.stop.send(());
                started.serving.await??;
            }
        }
        Ok(())
    }
}
