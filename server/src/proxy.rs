//! Paywalled reverse proxy (the seed's `PaywalledProxyUrl`): paths of an upstream HTTP
//! server, each with its price, configured in TOML:
//!
//! ```toml
//! upstream = "http://127.0.0.1:8000"
//!
//! [[route]]
//! path = "/cdn/{*rest}"   # an axum route pattern
//! price = 5
//!
//! [[route]]
//! path = "/article/{id}"
//! price = "1000000000000000000"   # amounts beyond u64 as decimal strings
//! ```
//!
//! A paid request is forwarded with its method, path, query and body; `RDN-*` headers,
//! cookies, `Authorization` and hop-by-hop headers stay here. The upstream's status, headers
//! and body go back with the paywall's `RDN-*` headers added.
//!
//! **Upstream failures are not charged**: the payment is checked first (a refused one
//! never reaches the upstream), the upstream is asked, and the payment is stored only
//! once its complete answer (any status: an upstream 404 or 500 is an answer) is here,
//! before anything is sent. When the upstream cannot be reached, times out (60 s) or
//! breaks off, the client gets a 502 saying nothing was charged, and the same proof pays
//! for the retry. If another request spent the same proof meanwhile, the answer is
//! dropped and the request refused (402) like any stale proof. See the paywall's
//! "When the payment is stored".

use std::{path::Path, time::Duration};

use anyhow::Context;
use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{header, HeaderMap, HeaderName, StatusCode},
    response::{IntoResponse, Response},
    routing::any,
    Router,
};
use serde::Deserialize;
use uraiden_protocol::{parse_amount, U192};

use crate::{
    app::AppState,
    paywall::{paywall_layer_after_answer, NotServed, Price},
};

/// Requests bodies larger than this are refused rather than buffered.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The `--proxy-config` file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    /// Base URL requests are forwarded to.
    pub upstream: String,
    #[serde(rename = "route")]
    pub routes: Vec<ProxyRoute>,
}

/// One paywalled path of the upstream.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyRoute {
    pub path: String,
    pub price: PriceValue,
}

/// A price as a TOML integer or a decimal string.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum PriceValue {
    Integer(u64),
    Text(String),
}

impl PriceValue {
    fn amount(&self) -> anyhow::Result<U192> {
        match self {
            Self::Integer(value) => Ok(U192::from(*value)),
            Self::Text(text) => parse_amount(text.trim()).map_err(|error| anyhow::anyhow!("{error}")),
        }
    }
}

#[derive(Clone, Debug)]
struct Upstream {
    base: reqwest::Url,
    client: reqwest::Client,
}

impl ProxyConfig {
    /// Reads and checks a proxy config file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --proxy-config {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in --proxy-config {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let config: Self = toml::from_str(text)?;
        if config.routes.is_empty() {
            anyhow::bail!("no [[route]]: add at least one path with its price");
        }
        Ok(config)
    }

    /// The paywalled routes, forwarding to the upstream.
    pub fn router(&self, state: &AppState) -> anyhow::Result<Router> {
        let base: reqwest::Url =
            self.upstream.parse().with_context(|| format!("upstream {:?} is not a URL", self.upstream))?;
        if !matches!(base.scheme(), "http" | "https") {
            anyhow::bail!("upstream {:?} must be an http or https URL", self.upstream);
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("building the HTTP client")?;
        let upstream = Upstream { base, client };
        let mut router = Router::new();
        for route in &self.routes {
            if !route.path.starts_with('/') {
                anyhow::bail!("route path {:?} must start with /", route.path);
            }
            let price = route.price.amount().with_context(|| format!("price of {}", route.path))?;
            // `any` is a method router's fallback, which `route_layer` on it would skip:
            // layer the route in a router of its own instead.
            // axum panics on an invalid or overlapping pattern: report it as a config error.
            let layer = paywall_layer_after_answer(state.clone(), Price::fixed_amount(price));
            let added = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let paid = Router::new()
                    .route(&route.path, any(forward))
                    .route_layer(layer)
                    .with_state(upstream.clone());
                router.clone().merge(paid)
            }));
            router = added.map_err(|_| {
                anyhow::anyhow!("route path {:?} is not a valid axum pattern or overlaps another", route.path)
            })?;
        }
        Ok(router)
    }
}

/// Headers that describe this hop or this receiver, not the upstream request.
fn stays_here(name: &HeaderName) -> bool {
    let name = name.as_str();
    name.starts_with("rdn-")
        || matches!(
            name,
            "host"
                | "cookie"
                | "authorization"
                | "connection"
                | "keep-alive"
                | "proxy-authenticate"
                | "proxy-authorization"
                | "te"
                | "trailer"
                | "transfer-encoding"
                | "upgrade"
                | "content-length"
        )
}

async fn forward(State(upstream): State<Upstream>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let mut url = upstream.base.clone();
    let base_path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{base_path}{}", parts.uri.path()));
    url.set_query(parts.uri.query());
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(_) => {
            let reason = format!("The request body is larger than {MAX_BODY} bytes, too large to forward.");
            return NotServed { status: StatusCode::PAYLOAD_TOO_LARGE, reason }.into_response();
        }
    };
    let mut headers = HeaderMap::new();
    for (name, value) in &parts.headers {
        if !stays_here(name) {
            headers.append(name, value.clone());
        }
    }
    let sent = upstream.client.request(parts.method, url).headers(headers).body(body).send().await;
    let reply = match sent {
        Ok(reply) => reply,
        Err(error) => {
            tracing::warn!(%error, "the upstream did not answer");
            let reason = if error.is_timeout() { "did not answer in time" } else { "could not be reached" };
            let reason = format!("The upstream server {reason}.");
            return NotServed { status: StatusCode::BAD_GATEWAY, reason }.into_response();
        }
    };
    let status = reply.status();
    let mut response_headers = HeaderMap::new();
    for (name, value) in reply.headers() {
        if !stays_here(name) && name != header::SET_COOKIE {
            response_headers.append(name, value.clone());
        }
    }
    let bytes: Bytes = match reply.bytes().await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::warn!(%error, "the upstream's answer broke off");
            let reason = "The upstream server's answer broke off.".to_owned();
            return NotServed { status: StatusCode::BAD_GATEWAY, reason }.into_response();
        }
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    *response.headers_mut() = response_headers;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_parses_integer_and_string_prices() {
        let config = ProxyConfig::parse(
            r#"
            upstream = "http://127.0.0.1:8000/base"
            [[route]]
            path = "/cdn/{*rest}"
            price = 5
            [[route]]
            path = "/big"
            price = "6277101735386680763835789423207666416102355444464034512895"
            "#,
        )
        .unwrap();
        assert_eq!(config.routes.len(), 2);
        assert_eq!(config.routes[0].price.amount().unwrap(), U192::from(5));
        assert_eq!(config.routes[1].price.amount().unwrap(), U192::MAX);
    }

    #[test]
    fn config_errors_are_reported() {
        assert!(ProxyConfig::parse("upstream = \"http://x\"\nroute = []").is_err());
        assert!(ProxyConfig::parse("upstream = \"http://x\"\n[[route]]\npath = \"/a\"\nprice = \"-1\"")
            .unwrap()
            .routes[0]
            .price
            .amount()
            .is_err());
        assert!(ProxyConfig::parse(
            "upstream = \"http://x\"\nextra = 1\n[[route]]\npath = \"/a\"\nprice = 1"
        )
        .is_err());
    }

    #[test]
    fn receiver_headers_are_not_forwarded() {
        for name in ["rdn-balance-signature", "cookie", "authorization", "host", "connection"] {
            assert!(stays_here(&HeaderName::from_static(name)), "{name}");
        }
        assert!(!stays_here(&header::ACCEPT));
    }
}
