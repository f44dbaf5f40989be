//! The router: shared state, the receiver's own routes (REST API, paywall assets, metrics)
//! and the seed's echo resources.

use std::sync::Arc;

use axum::{
    extract::{Path, State},
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use uraiden_protocol::U192;

use crate::{
    api,
    assets::{self, PaywallAssets},
    backend::ChannelBackend,
    config::{Gateway, HttpOptions, RateLimits},
    metrics::Metrics,
    paywall::{paywall_layer, ChannelsAtUpstream, PaywallGate, PaywallLayer, Price},
    rate_limit::{Limits, Rate},
};

/// Everything a request handler needs; a cheap clone of one `Arc`.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

struct Shared {
    backend: Arc<dyn ChannelBackend>,
    gateway: Gateway,
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

    /// A layer that puts `price` on a route: `get(handler).route_layer(state.paywall(price))`.
    pub fn paywall(&self, price: Price) -> PaywallLayer {
        paywall_layer(self.clone(), price)
    }

    /// [`paywall`](Self::paywall) with a rate limit of the route's own, by client address
    /// and by sender, on top of the receiver-wide ones.
    pub fn paywall_with_rate_limit(&self, price: Price, rate: Rate) -> PaywallLayer {
        PaywallGate::new(self.clone(), price).with_rate_limit(rate).layer()
    }

    pub fn backend(&self) -> &dyn ChannelBackend {
        &*self.inner.backend
    }

    pub fn gateway(&self) -> &Gateway {
        &self.inner.gateway
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

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"))],
        state.metrics().render(state.backend()),
    )
        .into_response()
}
