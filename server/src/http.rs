//! The HTTP side: the paywall and the receiver's own routes, over the `ChannelBackend`
//! trait (the channel manager, or a test's fake). Handlers import the shared state
//! (`state.rs`); the state imports none of them, and the router is put together by the
//! composition root (`receiver.rs`).
//!
//! - `state`: `AppState`, what every handler reads: backend, gateway, options, assets,
//!   metrics, rate limits.
//! - `paywall`: puts a fixed or dynamic `Price` on any axum route; 402 / 409 / 502 / 200 per
//!   SPEC §4, in the request's wire format.
//! - `api`: the REST API at `/api/1` (stats, the operator's channel listings, closing).
//! - `assets`: the paywall page and `/js/*`, embedded or from `--paywall-info DIR`;
//!   compressed (brotli or gzip, `assets/encoding.rs`) and revalidated by ETag.
//! - `backend`: the `ChannelBackend` trait the HTTP side uses, and its views.
//! - `config`: the resolved settings (`Gateway`, API token, limits, TLS).
//! - `metrics`: Prometheus counters and gauges at `/metrics`.
//! - `cors`: cross-origin access for apps that pay from another origin (`--cors-origin`).
//! - `proxy`: paywalls an upstream HTTP server (the seed's `PaywalledProxyUrl`).
//! - `rate_limit`: requests per client address (before any signature work) and per sender
//!   (before a payment is stored), receiver-wide and per route; 429 with `Retry-After`.
//! - `serve`: HTTP or TLS serving within the connection cap and timeouts, with graceful
//!   shutdown on ctrl-c and SIGTERM.
//! - `paid_note`: the "Paid … · … left · manage" note on HTML pages the paywall page paid for.
//! - `upstream_calls`: one paid request per channel at an upstream at a time.
//! - `wire`: how a payment travels: `RDN-*` headers and cookies (`wire/rdn.rs`), x402 v2
//!   (`wire/x402.rs`). The paywall detects the format and answers in it.

pub(crate) mod api;
pub(crate) mod assets;
pub(crate) mod backend;
pub(crate) mod config;
pub(crate) mod cors;
pub(crate) mod metrics;
mod paid_note;
pub(crate) mod paywall;
pub(crate) mod proxy;
pub(crate) mod rate_limit;
pub(crate) mod serve;
pub(crate) mod state;
mod upstream_calls;
pub(crate) mod wire;
