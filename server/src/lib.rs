//! The µRaiden receiver: paywalls HTTP resources and collects micropayments over ERC20
//! payment channels (SPEC §4 and §5).
//!
//! The modules are private; what binaries, examples, benchmarks and tests use is re-exported
//! here. Dependencies run one way: `cli → receiver → http → channels → store`, with
//! `chain → channels` (and `http → chain`: the backend trait reports the operator's
//! withdrawals and closes); no module imports one above it.
//!
//! - `cli`: the command line (the seed's options) → [`ReceiverConfig`]: `start` serves,
//!   `deploy` deploys, `withdraw` and `close-all` collect earned balances with the server
//!   stopped.
//! - `receiver`: the composition root: [`Receiver::start`] puts a receiver together (channel
//!   manager, its chain tasks, the router under one middleware stack, serving limits);
//!   everything that runs a receiver goes through it. It also builds the receiver's own
//!   routes ([`receiver_routes`]) and the seed's echo demo ([`app`], [`echo_routes`]).
//! - `http`: the HTTP side over the [`ChannelBackend`](backend::ChannelBackend) trait:
//!   `state` ([`AppState`]), `paywall` ([`Price`], the layer), `api` (REST at `/api/1`),
//!   `assets` (the paywall page and `/js/*`, with `encoding`), `metrics`, `cors`, `proxy`,
//!   `rate_limit`, `serve`, `config`, `backend`, `paid_note`, `upstream_calls`.
//! - `channels`: the money core: `manager` ([`ChannelManager`]), `rules` (the payment rule,
//!   one pure function: [`decide_payment`]), `events` (the contract's events and what each
//!   does to a channel), `writer` (group commit of payments).
//! - `store`: durable channel state: `model` (what is stored, whatever the database) and
//!   `channel_store` (the [`ChannelStore`] trait the manager uses), `sqlite` ([`SqliteStore`])
//!   and `postgres` ([`PostgresStore`]).
//! - `chain`: `sync` (follows the contract's events with confirmations, reconciles reorgs)
//!   and `duties` ([`OnChainDuties`]: disputes, settlements, withdrawals, close-all).
//! - `error`: the typed errors of the library.

mod chain;
mod channels;
mod cli;
mod error;
mod http;
mod receiver;
mod store;

// What binaries, examples, benchmarks and tests use; everything else stays inside.
pub use self::{
    chain::{ChannelClose, CloseOutcome, OnChainDuties, WithdrawError, WithdrawOutcome, Withdrawal},
    channels::{
        decide_payment, AcceptedPayment, ChannelManager, ChannelManagerConfig, ChannelSnapshot, ChannelStats,
        CloseRefused, LastProof, NodeHealth, OpenChannel, PayableChannel, PaymentRejected, StartError,
        StatusRefused, DEFAULT_CONFIRMATIONS,
    },
    cli::Cli,
    error::{CorsError, ProxyError, PublicChainError, ReceiverError, TlsError, TlsProblem, TransactionError},
    http::{
        config::{ApiToken, Gateway, HttpLimits, HttpOptions, NativeCurrency, PublicChain, TokenUnits},
        cors::cors_layer,
        paywall::{CommitOrder, NotServed, PaywallGate, PaywallLayer, Price, PriceRequest},
        proxy::{PriceValue, ProxyConfig, ProxyRoute},
        rate_limit::{InvalidRate, Rate, RateLimiter, RateLimits, OVERFLOW_SHARE},
        serve::{load_tls, raise_open_file_limit, serve_within, shutdown_signal},
        state::AppState,
    },
    receiver::{
        app, echo_dynamic_price, echo_routes, receiver_routes, BackgroundTasks, HttpConfig, Receiver,
        ReceiverConfig, Resources, TlsFiles,
    },
    store::{
        migrate_to_postgres, open_store, BlockRef, ChainBatch, ChannelRecord, ChannelState, ChannelStore,
        CloseRequest, DatabaseUrl, Durability, Identity, Migrated, PaymentWrite, PostgresStore, SqliteStore,
        StoreError, StoreLocation, StoreName, KEPT_BLOCKS, POSTGRES_SCHEMA_VERSION, SCHEMA_VERSION,
    },
};

/// What the HTTP side needs from the money core: the trait another backend (a test's fake)
/// implements, and the views and outcomes it answers with.
pub mod backend {
    pub use crate::http::backend::{
        AcceptedPayment, BoxFuture, ChannelBackend, ChannelView, CloseRefused, HealthView, LastProof,
        OperatorUnsupported, PaymentRejected, StatsView, StatusRefused, WithdrawReport,
    };
}

/// Logs to stderr, filtered by `RUST_LOG` (default: `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second call (tests, embedding) keeps the first subscriber.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
