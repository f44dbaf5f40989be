//! The HTTP side's shared state: what every handler and middleware reads. Handlers import
//! it; it imports none of them (the router is built by the composition root,
//! `receiver.rs`).

use std::sync::Arc;

use axum::extract::FromRef;
use uraiden_protocol::U192;

use super::{
    assets::PaywallAssets,
    backend::ChannelBackend,
    config::{Gateway, HttpOptions},
    metrics::Metrics,
    rate_limit::{Limits, RateLimits},
    upstream_calls::ChannelsAtUpstream,
    wire::rdn::ReceiverHeaders,
};

/// Everything a request handler needs; a cheap clone of one `Arc`.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

struct Shared {
    backend: Arc<dyn ChannelBackend>,
    gateway: Gateway,
    receiver_headers: ReceiverHeaders,
    options: HttpOptions,
    assets: PaywallAssets,
    metrics: Metrics,
    upstream_calls: ChannelsAtUpstream,
    rate_limits: Limits,
    max_tracked_keys: usize,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("gateway", &self.inner.gateway).finish_non_exhaustive()
    }
}

impl AppState {
    /// A state without rate limits.
    pub fn new(backend: Arc<dyn ChannelBackend>, gateway: Gateway, options: HttpOptions) -> Self {
        Self::with_rate_limits(backend, gateway, options, &RateLimits::default())
    }

    /// A state with the receiver-wide `rate_limits`.
    pub fn with_rate_limits(
        backend: Arc<dyn ChannelBackend>,
        gateway: Gateway,
        options: HttpOptions,
        rate_limits: &RateLimits,
    ) -> Self {
        let assets = PaywallAssets::new(options.paywall_dir.clone());
        Self {
            inner: Arc::new(Shared {
                backend,
                receiver_headers: ReceiverHeaders::new(&gateway.paywall_info(U192::ZERO)),
                gateway,
                options,
                assets,
                metrics: Metrics::new(),
                upstream_calls: ChannelsAtUpstream::default(),
                rate_limits: Limits::receiver_wide(rate_limits),
                max_tracked_keys: rate_limits.max_tracked_keys,
            }),
        }
    }

    pub fn backend(&self) -> &dyn ChannelBackend {
        &*self.inner.backend
    }

    pub fn gateway(&self) -> &Gateway {
        &self.inner.gateway
    }

    /// The gateway's own paywall headers, formatted once.
    pub(crate) fn receiver_headers(&self) -> &ReceiverHeaders {
        &self.inner.receiver_headers
    }

    pub fn options(&self) -> &HttpOptions {
        &self.inner.options
    }

    pub fn assets(&self) -> &PaywallAssets {
        &self.inner.assets
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub(crate) fn upstream_calls(&self) -> &ChannelsAtUpstream {
        &self.inner.upstream_calls
    }

    /// The receiver-wide rate limits.
    pub fn rate_limits(&self) -> &Limits {
        &self.inner.rate_limits
    }

    /// How many keys each rate limiter tracks at most, a route's too.
    pub fn max_tracked_keys(&self) -> usize {
        self.inner.max_tracked_keys
    }
}

/// The paywall's files, for the handler of `/js/*`.
impl FromRef<AppState> for PaywallAssets {
    fn from_ref(state: &AppState) -> Self {
        state.assets().clone()
    }
}
