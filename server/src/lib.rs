//! The µRaiden receiver: paywalls HTTP resources and collects micropayments over ERC20
//! payment channels (SPEC §4 and §5).
//!
//! - [`receiver`]: the composition root: [`Receiver::start`](receiver::Receiver::start) puts a
//!   receiver together (channel manager, router under one middleware stack, serving limits);
//!   everything that runs a receiver goes through it.
//!
//! HTTP side:
//! - [`cli`]: the command line (the seed's options): `start` serves, `deploy` deploys,
//!   `withdraw` and `close-all` collect earned balances with the server stopped.
//! - [`app`]: [`AppState`](app::AppState), the receiver's routes and the seed's echo demo.
//! - [`paywall`]: puts a fixed or dynamic [`Price`](paywall::Price) on any axum route;
//!   402 / 409 / 502 / 200 per SPEC §4, headers or cookies.
//! - [`api`]: the REST API at `/api/1` (stats, the operator's channel listings, closing).
//! - [`assets`]: the paywall page and `/js/*`, embedded or from `--paywall-info DIR`;
//!   compressed (brotli or gzip) and revalidated by ETag.
//! - [`metrics`]: Prometheus counters and gauges at `/metrics`.
//! - [`config`]: the resolved settings ([`Gateway`](config::Gateway), API token, TLS).
//! - [`backend`]: the [`ChannelBackend`](backend::ChannelBackend) trait the HTTP side uses.
//! - [`proxy`]: paywalls an upstream HTTP server (the seed's `PaywalledProxyUrl`).
//! - [`rate_limit`]: requests per client address (before any signature work) and per sender
//!   (before a payment is stored), receiver-wide and per route; 429 with `Retry-After`.
//! - [`cors`]: cross-origin access for apps that pay from another origin (`--cors-origin`).
//! - [`serve`]: HTTP or TLS serving within the connection cap and timeouts, with graceful
//!   shutdown on ctrl-c and SIGTERM.
//!
//! Money core:
//! - [`channels`]: the [`ChannelManager`](channels::ChannelManager), which decides on payments
//!   with the payment rule, one pure function ([`decide_payment`](channels::decide_payment)).
//! - [`store`]: durable channel state (SQLite).
//! - `paid_note`: the "Paid … · … left · manage" note on HTML pages the paywall page paid for.
//! - `payment_writer`: group commit of payments (one writer thread, one transaction per batch).
//! - [`sync`]: follows the contract's events with confirmations.
//! - [`duties`]: the receiver's transactions: disputes, settlements, withdrawals, close-all,
//!   retries of closes that failed (`close_pending`).

mod api;
mod app;
mod assets;
pub mod backend;
mod chain;
mod channels;
mod cli;
mod config;
mod cors;
mod metrics;
mod paid_note;
mod paywall;
mod proxy;
mod rate_limit;
mod receiver;
mod serve;
mod store;

// What binaries, examples, benchmarks and tests use; everything else stays inside.
pub use self::{
    app::{app, echo_dynamic_price, echo_routes, receiver_routes, AppState},
    chain::{ChannelClose, CloseOutcome, OnChainDuties, WithdrawError, WithdrawOutcome, Withdrawal},
    channels::{
        decide_payment, AcceptedPayment, ChannelManager, ChannelManagerConfig, ChannelSnapshot, ChannelStats,
        CloseRefused, LastProof, NodeHealth, OpenChannel, PayableChannel, PaymentRejected, StartError,
        StatusRefused, DEFAULT_CONFIRMATIONS,
    },
    cli::Cli,
    config::{
        ApiToken, Gateway, HttpLimits, HttpOptions, NativeCurrency, PublicChain, RateLimits, TokenUnits,
    },
    cors::cors_layer,
    paywall::{CommitOrder, NotServed, PaywallGate, PaywallLayer, Price, PriceRequest},
    proxy::{PriceValue, ProxyConfig, ProxyRoute},
    rate_limit::{InvalidRate, Rate, RateLimiter, OVERFLOW_SHARE},
    receiver::{BackgroundTasks, HttpConfig, Receiver, ReceiverConfig, Resources, TlsFiles},
    serve::{load_tls, raise_open_file_limit, serve_within, shutdown_signal},
    store::{
        BlockRef, ChannelRecord, ChannelState, CloseRequest, Durability, Identity, PaymentWrite, Store,
        StoreError, KEPT_BLOCKS, SCHEMA_VERSION,
    },
};

/// Logs to stderr, filtered by `RUST_LOG` (default: `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second call (tests, embedding) keeps the first subscriber.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
