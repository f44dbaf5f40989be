//! The composition root: the one place a receiver is put together. Everything that runs a
//! receiver (the command line, the examples, the benchmark, the tests) goes through it:
//!
//! ```ignore
//! let receiver = Receiver::start(ReceiverConfig::new(channels)).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
//! receiver.run(listener, serve::shutdown_signal()).await?;
//! ```
//!
//! [`Receiver::start`] reads the token and chain id from the node, starts the channel manager
//! (chain follower and on-chain duties, on their own node connections) and builds
//! [`Receiver::router`], the paywalled resources and the receiver's routes under one
//! middleware stack: CORS, a trace span per request, the body deadline, the rate limit per
//! client address (before any paywall: see `http/rate_limit.rs`), and the
//! request deadline on the paywalled resources. [`Receiver::run`] serves it within [`HttpLimits`]
//! over HTTP or TLS and, once stopped, stops the background tasks.

use std::{fmt, future::Future, path::PathBuf, sync::Arc, time::Duration};

use alloy::providers::Provider;
use axum::{
    extract::{Path, Request, State},
    http::{header, HeaderValue},
    middleware::{from_fn_with_state, Next},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower_http::{cors::CorsLayer, trace::TraceLayer};
use uraiden_chain::contracts::{CustomToken, RaidenMicroTransferChannels};
use uraiden_protocol::U192;

use crate::{
    chain::{duties, sync, OnChainDuties},
    channels::{ChannelManager, ChannelManagerConfig, StartError},
    error::{ProxyError, ReceiverError, TlsError},
    http::{
        api, assets,
        backend::ChannelBackend,
        config::{ApiToken, Gateway, HttpLimits, HttpOptions, PublicChain, TokenUnits},
        cors,
        paywall::Price,
        proxy::ProxyConfig,
        rate_limit::{route_label, too_many_requests, LimitedBy, RateLimits},
        serve,
        state::AppState,
    },
};

/// How long startup waits for the node before giving up with a clear message.
const NODE_TIMEOUT: Duration = Duration::from_secs(10);

/// The chain side of a started channel manager: the chain sync, the balance watcher and the
/// duty loop, and the [duties](OnChainDuties) handle for the operator's withdrawals and
/// close-all. Stop the tasks with [`shutdown`](Self::shutdown); payments in flight do not
/// depend on them and finish.
#[derive(Debug)]
pub struct BackgroundTasks {
    duties: OnChainDuties,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl BackgroundTasks {
    /// The receiver's on-chain duties: withdrawals and close-all, sharing the duty loop's
    /// bookkeeping of the receiver's transactions.
    pub fn duties(&self) -> &OnChainDuties {
        &self.duties
    }

    /// A token that stops the tasks when cancelled (e.g. tied to the server's shutdown).
    pub fn cancellation_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Stops the tasks and waits for them: a sync batch being written is finished first.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        for task in self.tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "a channel manager background task panicked");
            }
        }
    }
}

impl ChannelManager {
    /// Opens the state file, loads the channels, and starts the chain side: the chain sync,
    /// the balance watcher and (with `on_chain_duties`) the duty loop. Needs the node (chain
    /// id, contract) to start; payments are refused with
    /// [`PaymentRejected::Unavailable`](crate::channels::PaymentRejected::Unavailable) until
    /// the first catch-up with the chain is done.
    pub async fn start(config: ChannelManagerConfig) -> Result<(Self, BackgroundTasks), StartError> {
        let manager = Self::open(&config).await?;
        let duties = OnChainDuties::new(manager.clone(), &config);
        let cancel = CancellationToken::new();
        let mut tasks = vec![
            tokio::spawn(sync::follow_chain(duties.clone(), config.clone(), cancel.clone())),
            tokio::spawn(sync::watch_balances(manager.clone(), config.clone(), cancel.clone())),
        ];
        if config.on_chain_duties {
            tasks.push(tokio::spawn(duties::run(duties.clone(), config, cancel.clone())));
        }
        Ok((manager, BackgroundTasks { duties, cancel, tasks }))
    }
}

/// What the receiver paywalls, besides its own routes (REST API, `/js/*`, `/metrics`).
#[derive(Clone, Default)]
pub enum Resources {
    /// The seed's echo demo of `uraiden-server start`: `/echofix/{param}`, `/echodyn/{param}`.
    #[default]
    Echo,
    /// Paywalled paths of an upstream server (`--proxy-config`).
    Proxy(ProxyConfig),
    /// Routes of the program embedding the receiver, built with its state (for
    /// `state.paywall(price)`).
    Routes(Arc<dyn Fn(&AppState) -> Router + Send + Sync>),
}

impl Resources {
    /// Routes built by `build` with the receiver's state.
    pub fn routes(build: impl Fn(&AppState) -> Router + Send + Sync + 'static) -> Self {
        Self::Routes(Arc::new(build))
    }

    fn router(&self, state: &AppState) -> Result<Router, ProxyError> {
        match self {
            Self::Echo => Ok(echo_routes(state)),
            Self::Proxy(proxy) => proxy.router(state),
            Self::Routes(build) => Ok(build(state)),
        }
    }
}

impl fmt::Debug for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Echo => f.write_str("Echo"),
            Self::Proxy(_) => f.write_str("Proxy(..)"),
            Self::Routes(_) => f.write_str("Routes(..)"),
        }
    }
}

/// The TLS certificate chain and key, PEM files (`--ssl-cert`, `--ssl-key`).
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The HTTP side of a receiver.
#[derive(Clone, Debug, Default)]
pub struct HttpConfig {
    pub resources: Resources,
    /// Serve over TLS with these files; cookies then get `Secure`.
    pub tls: Option<TlsFiles>,
    /// `--paywall-info DIR`: the paywall page and `/js/*` from here instead of the built-in copy.
    pub paywall_dir: Option<PathBuf>,
    /// Enables the operator's channel listings.
    pub api_token: Option<ApiToken>,
    /// `--cors-origin`: origins whose pages may pay with fetch.
    pub cors_origins: Vec<String>,
    pub limits: HttpLimits,
    /// The receiver-wide rate limits (off by default); routes may add their own.
    pub rate_limits: RateLimits,
    /// Published in the paywall info, so a wallet that does not know the chain can add it.
    pub public_chain: Option<PublicChain>,
    /// `--no-paid-note`: leave paid HTML pages untouched.
    pub no_paid_note: bool,
    /// `--no-x402`: offer and read only the `RDN-*` format.
    pub no_x402: bool,
}

/// Everything a receiver runs with.
#[derive(Debug)]
pub struct ReceiverConfig {
    /// The node, the receiver's key, the contract, the state file and the duties' settings.
    pub channels: ChannelManagerConfig,
    pub http: HttpConfig,
}

impl ReceiverConfig {
    /// The echo demo over HTTP with the default limits.
    pub fn new(channels: ChannelManagerConfig) -> Self {
        Self { channels, http: HttpConfig::default() }
    }
}

/// A started receiver: its state, its middleware-wrapped router, and the channel manager's
/// background tasks, stopped by [`run`](Self::run) once serving ends.
pub struct Receiver {
    state: AppState,
    router: Router,
    tls: Option<TlsAcceptor>,
    limits: HttpLimits,
    /// The channel manager and its tasks; `None` for a receiver over another backend.
    chain: Option<(ChannelManager, BackgroundTasks)>,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("gateway", self.state.gateway())
            .field("tls", &self.tls.is_some())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// Loads the TLS files and checks the CORS origins, reads the token and chain id from
    /// the node (so that a wrong address or a dead node stops here with a clear message, not
    /// at the first payment), starts the channel manager and builds the router.
    pub async fn start(config: ReceiverConfig) -> Result<Self, ReceiverError> {
        let ReceiverConfig { channels, http } = config;
        let tls = load_tls(http.tls.as_ref()).await?;
        let cors = cors::cors_layer(&http.cors_origins)?;
        let contract = channels.channel_manager;
        let (chain_id, token) = read_gateway(&channels.provider, contract).await?;
        let channels_provider = channels.provider.clone();
        let (manager, tasks) = ChannelManager::start(channels).await.map_err(ReceiverError::Start)?;
        let gateway = Gateway {
            public_chain: http.public_chain.clone(),
            token_units: read_token_units(&channels_provider, token).await,
            ..Gateway::new(manager.receiver(), contract, token, chain_id)
        };
        tracing::info!(
            receiver = %gateway.receiver,
            contract = %gateway.contract,
            token = %gateway.token,
            chain_id,
            "channel manager started"
        );
        match Self::assemble(Arc::new(tasks.duties().clone()), gateway, http, tls, cors) {
            Ok(mut receiver) => {
                receiver.chain = Some((manager, tasks));
                Ok(receiver)
            }
            Err(error) => {
                tasks.shutdown().await;
                Err(error)
            }
        }
    }

    /// The HTTP side alone, over any backend (a test's fake, say): the same router and
    /// serving as [`start`](Self::start), without a chain.
    pub async fn over_backend(
        backend: Arc<dyn ChannelBackend>,
        gateway: Gateway,
        http: HttpConfig,
    ) -> Result<Self, ReceiverError> {
        let tls = load_tls(http.tls.as_ref()).await?;
        let cors = cors::cors_layer(&http.cors_origins)?;
        Self::assemble(backend, gateway, http, tls, cors)
    }

    fn assemble(
        backend: Arc<dyn ChannelBackend>,
        gateway: Gateway,
        http: HttpConfig,
        tls: Option<TlsAcceptor>,
        cors: Option<CorsLayer>,
    ) -> Result<Self, ReceiverError> {
        let options = HttpOptions {
            tls: tls.is_some(),
            paywall_dir: http.paywall_dir,
            api_token: http.api_token,
            no_paid_note: http.no_paid_note,
            no_x402: http.no_x402,
        };
        let rate_limits = &http.rate_limits;
        if rate_limits.per_client_address.is_some() || rate_limits.per_sender.is_some() {
            tracing::info!(
                per_client_address = ?rate_limits.per_client_address.map(|rate| rate.to_string()),
                per_sender = ?rate_limits.per_sender.map(|rate| rate.to_string()),
                max_tracked_keys = rate_limits.max_tracked_keys,
                "rate limits"
            );
        }
        let state = AppState::with_rate_limits(backend, gateway, options, rate_limits);
        // The request timeout bounds the paywalled resources only: the receiver's own API
        // sends transactions (withdraw, close-all) that must not be abandoned half-way.
        let resources = http
            .resources
            .router(&state)?
            .layer(from_fn_with_state(http.limits.request_timeout, serve::request_deadline));
        // Every route, outside every paywall: a flood from one address is refused before any
        // signature work.
        let router = resources
            .merge(receiver_routes(state.clone()))
            .layer(from_fn_with_state(state.clone(), limit_client_address))
            .layer(from_fn_with_state(http.limits.body_timeout, serve::body_deadline))
            .layer(TraceLayer::new_for_http());
        // Outermost, so that preflights and every answer (a timeout's too) carry CORS headers.
        let router = match cors {
            Some(cors) => router.layer(cors),
            None => router,
        };
        Ok(Self { state, router, tls, limits: http.limits, chain: None })
    }

    /// The shared state: the backend, the gateway, the options.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The channel manager; `None` for a receiver [`over_backend`](Self::over_backend).
    pub fn manager(&self) -> Option<&ChannelManager> {
        self.chain.as_ref().map(|(manager, _)| manager)
    }

    /// The on-chain duties (withdrawals, close-all); `None` for a receiver
    /// [`over_backend`](Self::over_backend).
    pub fn duties(&self) -> Option<&OnChainDuties> {
        self.chain.as_ref().map(|(_, tasks)| tasks.duties())
    }

    /// The paywalled resources and the receiver's routes under the one middleware stack.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Whether it serves over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Serves on `listener` until `shutdown` completes; requests in flight finish (their
    /// payments are stored), then the chain follower and the duties stop.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ReceiverError> {
        let metrics = self.state.metrics().clone();
        let served =
            serve::serve_within(listener, self.tls, self.router, self.limits, metrics, shutdown).await;
        if let Some((_, tasks)) = self.chain {
            tasks.shutdown().await;
        }
        served.map_err(ReceiverError::Serve)
    }
}

async fn load_tls(files: Option<&TlsFiles>) -> Result<Option<TlsAcceptor>, TlsError> {
    match files {
        Some(files) => Ok(Some(serve::load_tls(&files.cert, &files.key).await?)),
        None => Ok(None),
    }
}

/// The token's symbol and decimals for showing amounts to people; `None` (amounts then shown
/// in base units) when its contract does not answer both within the node timeout.
async fn read_token_units(
    provider: &alloy::providers::DynProvider,
    token: alloy::primitives::Address,
) -> Option<TokenUnits> {
    let contract = CustomToken::new(token, provider);
    let (symbol, decimals) = tokio::time::timeout(NODE_TIMEOUT, async {
        (contract.symbol().call().await, contract.decimals().call().await)
    })
    .await
    .ok()?;
    match (symbol, decimals) {
        (Ok(symbol), Ok(decimals)) => {
            // Shown in a page: a short, printable symbol or none.
            let symbol: String = symbol.chars().filter(|c| !c.is_control()).take(12).collect();
            Some(TokenUnits { symbol, decimals })
        }
        (symbol, decimals) => {
            tracing::warn!(
                %token,
                symbol_error = symbol.err().map(|e| e.to_string()),
                decimals_error = decimals.err().map(|e| e.to_string()),
                "the token did not answer symbol() and decimals(): amounts are shown in base units"
            );
            None
        }
    }
}

/// The chain id and the channel manager's token, from the node.
async fn read_gateway(
    provider: &alloy::providers::DynProvider,
    contract: alloy::primitives::Address,
) -> Result<(u64, alloy::primitives::Address), ReceiverError> {
    let no_answer = |what| ReceiverError::NodeSilent { what, timeout: NODE_TIMEOUT };
    let chain_id = tokio::time::timeout(NODE_TIMEOUT, provider.get_chain_id())
        .await
        .map_err(|_| no_answer("read the chain id"))?
        .map_err(ReceiverError::ChainId)?;
    let token = tokio::time::timeout(
        NODE_TIMEOUT,
        RaidenMicroTransferChannels::new(contract, provider).token().call(),
    )
    .await
    .map_err(|_| no_answer("read the token"))?
    .map_err(|source| ReceiverError::Token { contract, chain_id, source: Box::new(source) })?;
    Ok((chain_id, token))
}

/// The receiver's own routes: the REST API at the gateway path, `/js/*` and `/metrics`.
/// Merge paywalled routes into it (or it into them) to build a server.
pub fn receiver_routes(state: AppState) -> Router {
    let gateway_path = state.gateway().gateway_path.clone();
    Router::new()
        .nest(&gateway_path, api::routes())
        .route("/js/{*path}", get(assets::serve_js))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// The demo server of `uraiden-server start`: the echo resources and the receiver's routes.
pub fn app(state: AppState) -> Router {
    echo_routes(&state).merge(receiver_routes(state))
}

/// The seed's echo resources: `/echofix/{param}` costs 5, `/echodyn/{param}` costs the
/// length of `param` in bytes; both answer with `param`.
pub fn echo_routes(state: &AppState) -> Router {
    Router::new()
        .route("/echofix/{param}", get(echo).route_layer(state.paywall(Price::fixed(5))))
        .route("/echodyn/{param}", get(echo).route_layer(state.paywall(echo_dynamic_price())))
}

/// The price of `/echodyn/{param}`: one token unit per byte of `param`.
pub fn echo_dynamic_price() -> Price {
    Price::dynamic(|request| U192::from(request.param("param").map_or(0, str::len)))
}

async fn echo(Path(param): Path<String>) -> String {
    param
}

/// `GET /metrics`: the Prometheus text format.
async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"))],
        state.metrics().render(state.backend()),
    )
        .into_response()
}

/// The receiver-wide limit by client address, as middleware outside every route's paywall.
async fn limit_client_address(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Err(retry) = state.rate_limits().check_client_address(&request) {
        return too_many_requests(state.metrics(), LimitedBy::ClientAddress, &route_label(&request), retry);
    }
    next.run(request).await
}
