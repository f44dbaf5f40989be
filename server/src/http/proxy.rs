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
//! # optional: per client address, and apart per sender, on top of the receiver-wide limits
//! rate_limit = { requests = 10, period_ms = 1000, burst = 20 }
//! ```
//!
//! A paid request is forwarded with its method, path, query and body to the upstream's
//! path followed by the request's (`/cdn/a.css` → `http://127.0.0.1:8000/cdn/a.css`).
//!
//! - **Paths**: an ambiguous path (a `..` or `.` segment, or a segment holding an encoded `/`,
//!   a `\` or a `;`, raw or percent-encoded in any case or any number of times) is refused
//!   with 400 before any route is priced. The router prices the raw path, but URL libraries
//!   and servers resolve dot segments, decode `%2F` or strip `;parameters`, so
//!   `/cheap/../premium/report` or `/docs/premium%2Freport` would be paid at a cheaper route's
//!   price and served as the premium path, and `/cheap/../../admin` would leave the
//!   upstream's base path. The upstream is only ever asked for paths under its base. An
//!   upstream that matches paths case-insensitively must be priced with that in mind: the
//!   router is case-sensitive.
//! - **Headers**: `RDN-*` and x402's payment headers, cookies, `Authorization`, hop-by-hop headers and those
//!   the `Connection` header names stay here, in both directions, and so do the upstream's
//!   `Set-Cookie`. What a client claims about earlier hops or its own address
//!   (`X-Forwarded-*`, `Forwarded`, `X-Real-IP`, `Client-IP`, `True-Client-IP`,
//!   `X-Client-IP`, `X-Cluster-Client-IP`, `CF-Connecting-IP`, `Fastly-Client-IP` and a few
//!   more) is dropped: this proxy is the edge, and it sets `X-Forwarded-For` (the peer's
//!   address), `X-Forwarded-Proto` and `X-Forwarded-Host` itself. So is every request
//!   header with an `_` in its name, as nginx does by default: CGI-style upstreams (WSGI,
//!   Rack, PHP) read `X_Forwarded_For` as the same variable as `X-Forwarded-For`.
//! - **Answers**: the upstream's status, headers and body go back with the paywall's
//!   `RDN-*` headers, and `Cache-Control: private, no-store` whatever the upstream said.
//! - **Upstream failures are not charged**: the payment is checked first (a refused one
//!   never reaches the upstream), the upstream is asked, and the payment is stored only
//!   once its complete answer (any status: an upstream 404 or 500 is an answer) is here,
//!   before anything is sent. When the upstream cannot be reached, times out (60 s) or
//!   breaks off, the client gets a 502 saying nothing was charged, and the same proof pays
//!   for the retry. If another request spent the same proof meanwhile, the answer is
//!   dropped and the request refused (402) like any stale proof. See the paywall's
//!   "When the payment is stored".

use std::{net::SocketAddr, path::Path, time::Duration};

use axum::{
    body::{Body, Bytes},
    extract::{ConnectInfo, Request, State},
    http::{header, request::Parts, HeaderMap, HeaderName, HeaderValue, StatusCode, Uri},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::any,
    Json, Router,
};
use serde::Deserialize;
use uraiden_protocol::{parse_amount, U192};

use super::{
    paywall::{NotServed, PaywallGate, Price},
    rate_limit::Rate,
    state::AppState,
    wire::x402,
};
use crate::error::ProxyError;

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
    /// This route's own rate limit (`burst` defaults to `requests`).
    #[serde(default)]
    pub rate_limit: Option<Rate>,
}

/// A price as a TOML integer or a decimal string.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum PriceValue {
    Integer(u64),
    Text(String),
}

impl PriceValue {
    fn amount(&self) -> uraiden_protocol::Result<U192> {
        match self {
            Self::Integer(value) => Ok(U192::from(*value)),
            Self::Text(text) => parse_amount(text.trim()),
        }
    }
}

#[derive(Clone, Debug)]
struct Upstream {
    base: reqwest::Url,
    client: reqwest::Client,
    /// Clients reach this receiver over TLS (`X-Forwarded-Proto`).
    tls: bool,
}

impl ProxyConfig {
    /// Reads and checks a proxy config file.
    pub fn load(path: &Path) -> Result<Self, ProxyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ProxyError::Read { path: path.to_owned(), source })?;
        Self::parse(&text)
            .map_err(|source| ProxyError::Invalid { path: path.to_owned(), source: Box::new(source) })
    }

    pub fn parse(text: &str) -> Result<Self, ProxyError> {
        let config: Self = toml::from_str(text)?;
        if config.routes.is_empty() {
            return Err(ProxyError::NoRoutes);
        }
        Ok(config)
    }

    /// The paywalled routes, forwarding to the upstream.
    pub fn router(&self, state: &AppState) -> Result<Router, ProxyError> {
        let base: reqwest::Url = self
            .upstream
            .parse()
            .map_err(|source| ProxyError::UpstreamNotUrl { upstream: self.upstream.clone(), source })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ProxyError::UpstreamScheme { upstream: self.upstream.clone() });
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(ProxyError::HttpClient)?;
        let upstream = Upstream { base, client, tls: state.options().tls };
        let mut router = Router::new();
        for route in &self.routes {
            if !route.path.starts_with('/') {
                return Err(ProxyError::RelativePath { path: route.path.clone() });
            }
            let price = route
                .price
                .amount()
                .map_err(|source| ProxyError::Price { path: route.path.clone(), source })?;
            // `any` is a method router's fallback, which `route_layer` on it would skip:
            // layer the route in a router of its own instead.
            // axum panics on an invalid or overlapping pattern: report it as a config error.
            let gate = PaywallGate::new(state.clone(), Price::fixed_amount(price)).after_answer();
            let layer = match route.rate_limit {
                Some(rate) => gate.with_rate_limit(rate),
                None => gate,
            }
            .layer();
            let added = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let paid = Router::new()
                    .route(&route.path, any(forward))
                    .route_layer(layer)
                    .with_state(upstream.clone());
                router.clone().merge(paid)
            }));
            router = added.map_err(|_| ProxyError::BadPattern { path: route.path.clone() })?;
        }
        // Outside every route's paywall: refused before a price is named.
        Ok(router.layer(axum::middleware::from_fn(refuse_ambiguous_paths)))
    }
}

/// The message of the 400 for an ambiguous path.
const AMBIGUOUS_PATH: &str = "The path has a dot segment (`.` or `..`), an encoded `/` or `\\`, or a `;` \
    (also percent-encoded), which the upstream could read as another resource than the one priced here; \
    send the plain path.";

/// Refuses, before any route is priced, a request whose path is ambiguous
/// ([`is_ambiguous_path`]): the router and the price see the raw path, but the URL the
/// upstream is asked for (and the upstream itself) would resolve it, so
/// `/cheap/../premium/report` would be paid at the cheap price and served from
/// `/premium/report`. Browsers resolve dot segments before sending; no honest client sends
/// the rest to a paywalled API.
async fn refuse_ambiguous_paths(request: Request, next: Next) -> Response {
    if is_ambiguous_path(request.uri().path()) {
        let body = serde_json::json!({ "error": "ambiguous path", "message": AMBIGUOUS_PATH });
        return (StatusCode::BAD_REQUEST, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response();
    }
    next.run(request).await
}

/// Whether some URL parser or upstream server could read `path` as another path than the one
/// the router priced: a segment that is `.` or `..`, or that holds a `/`, a `\\` or a `;`,
/// raw or percent-encoded any number of times in any case (`%2e`, `%252E`, `%2F`, `%5c`).
/// URL parsers treat `\\` as `/`; many servers decode `%2F` into a separator (WSGI's
/// `PATH_INFO`, Apache with `AllowEncodedSlashes`) or strip `;parameters` (Tomcat, Jetty,
/// Spring), so `/docs/premium%2Freport` or `/docs/premium;x/report`, priced by a cheaper
/// `/docs/{*rest}`, would be served as `/docs/premium/report`.
fn is_ambiguous_path(path: &str) -> bool {
    path.split('/').any(|segment| {
        let decoded = fully_percent_decoded(segment.as_bytes());
        decoded == b"." || decoded == b".." || decoded.iter().any(|byte| matches!(byte, b'/' | b'\\' | b';'))
    })
}

/// `bytes` percent-decoded until nothing decodes any more (`%252e` → `%2e` → `.`).
fn fully_percent_decoded(bytes: &[u8]) -> Vec<u8> {
    let mut decoded = bytes.to_vec();
    // Every round that changes something makes the text shorter, so this ends.
    loop {
        let next = percent_decoded(&decoded);
        if next == decoded {
            return decoded;
        }
        decoded = next;
    }
}

fn percent_decoded(bytes: &[u8]) -> Vec<u8> {
    let hex = |digit: u8| char::from(digit).to_digit(16);
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some((&byte, tail)) = rest.split_first() {
        match tail {
            [high, low, after @ ..] if byte == b'%' => {
                if let (Some(high), Some(low)) = (hex(*high), hex(*low)) {
                    // Two hex digits make one byte.
                    decoded.push((high * 16 + low) as u8);
                    rest = after;
                    continue;
                }
                decoded.push(byte);
            }
            _ => decoded.push(byte),
        }
        rest = tail;
    }
    decoded
}

impl Upstream {
    /// The upstream URL for a request: the base's path, then the request's path and query.
    /// `None` when it would not stay under the base (only ambiguous paths, refused before,
    /// could do that).
    fn url_for(&self, uri: &Uri) -> Option<reqwest::Url> {
        if is_ambiguous_path(uri.path()) {
            return None;
        }
        let mut url = self.base.clone();
        let base_path = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base_path}{}", uri.path()));
        url.set_query(uri.query());
        url.path().strip_prefix(&base_path).is_some_and(|rest| rest.starts_with('/')).then_some(url)
    }
}

/// Headers that describe this hop or this receiver, not the upstream request.
fn stays_here(name: &HeaderName) -> bool {
    x402::is_x402_header(name)
        || name.as_str().starts_with("rdn-")
        || matches!(
            name.as_str(),
            "host"
                | "cookie"
                | "authorization"
                | "connection"
                | "keep-alive"
                | "proxy-connection"
                | "proxy-authenticate"
                | "proxy-authorization"
                | "te"
                | "trailer"
                | "transfer-encoding"
                | "upgrade"
                | "content-length"
        )
}

/// What a client may claim about earlier hops or its own address; the upstream might trust
/// it (for access control or its own rate limits), so only this proxy says it.
fn claims_forwarding(name: &HeaderName) -> bool {
    let name = name.as_str();
    name.starts_with("x-forwarded-")
        || matches!(
            name,
            "forwarded"
                | "x-real-ip"
                | "client-ip"
                | "true-client-ip"
                | "x-client-ip"
                | "x-cluster-client-ip"
                | "cf-connecting-ip"
                | "fastly-client-ip"
                | "x-original-forwarded-for"
                | "x-originating-ip"
                | "x-remote-ip"
                | "x-remote-addr"
        )
}

/// A name with an `_`: CGI-style upstreams (WSGI, Rack, PHP) read `-` and `_` alike as `_`,
/// so `X_Forwarded_For` would reach them as `HTTP_X_FORWARDED_FOR` past
/// [`claims_forwarding`]. Dropped whatever the name, as nginx does by default.
fn has_underscore(name: &HeaderName) -> bool {
    name.as_str().contains('_')
}

/// The headers a `Connection` header names: for this hop only (RFC 9110 §7.6.1).
fn connection_options(headers: &HeaderMap) -> Vec<HeaderName> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|option| HeaderName::try_from(option.trim()).ok())
        .collect()
}

/// `headers` without this hop's and this receiver's.
fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    let this_hop = connection_options(headers);
    let mut kept = HeaderMap::new();
    for (name, value) in headers {
        if !stays_here(name) && !this_hop.contains(name) {
            kept.append(name, value.clone());
        }
    }
    kept
}

/// The headers of the upstream request: the client's end-to-end ones, minus what it claims
/// about forwarding and any with an `_` in its name, plus what this proxy knows
/// (`X-Forwarded-For`, `-Proto`, `-Host`).
fn upstream_request_headers(parts: &Parts, tls: bool) -> HeaderMap {
    let mut headers = end_to_end(&parts.headers);
    let claimed: Vec<HeaderName> =
        headers.keys().filter(|name| claims_forwarding(name) || has_underscore(name)).cloned().collect();
    for name in claimed {
        headers.remove(name);
    }
    if let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        if let Ok(peer) = HeaderValue::try_from(peer.ip().to_string()) {
            headers.insert("x-forwarded-for", peer);
        }
    }
    headers.insert("x-forwarded-proto", HeaderValue::from_static(if tls { "https" } else { "http" }));
    // HTTP/2 carries the host in the URI rather than in a `Host` header.
    let host = parts.headers.get(header::HOST).cloned().or_else(|| {
        parts.uri.authority().and_then(|authority| HeaderValue::try_from(authority.as_str()).ok())
    });
    if let Some(host) = host {
        headers.insert("x-forwarded-host", host);
    }
    headers
}

async fn forward(State(upstream): State<Upstream>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Some(url) = upstream.url_for(&parts.uri) else {
        return NotServed { status: StatusCode::BAD_REQUEST, reason: AMBIGUOUS_PATH.into() }.into_response();
    };
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(_) => {
            let reason = format!("The request body is larger than {MAX_BODY} bytes, too large to forward.");
            return NotServed { status: StatusCode::PAYLOAD_TOO_LARGE, reason }.into_response();
        }
    };
    let headers = upstream_request_headers(&parts, upstream.tls);
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
    let mut response_headers = end_to_end(reply.headers());
    response_headers.remove(header::SET_COOKIE);
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
    fn config_takes_a_rate_limit_per_route() {
        let config = ProxyConfig::parse(
            "upstream = \"http://x\"\n[[route]]\npath = \"/a\"\nprice = 1\n\
             rate_limit = { requests = 10, period_ms = 1000, burst = 20 }\n\
             [[route]]\npath = \"/b\"\nprice = 1\nrate_limit = { requests = 3, period_ms = 500 }\n\
             [[route]]\npath = \"/c\"\nprice = 1\n",
        )
        .unwrap();
        let limits: Vec<_> = config.routes.iter().map(|route| route.rate_limit).collect();
        assert_eq!(
            limits,
            [
                Some(Rate::new(10, Duration::from_secs(1), 20).unwrap()),
                Some(Rate::new(3, Duration::from_millis(500), 3).unwrap()),
                None
            ]
        );
        for bad in [
            "{ requests = 0, period_ms = 1000 }",
            "{ requests = 1, period_ms = 0 }",
            "{ requests = 1, period_ms = 1000, burst = 0 }",
            "{ requests = 1 }",
            "{ requests = 1, period = 1000 }",
        ] {
            let text =
                format!("upstream = \"http://x\"\n[[route]]\npath = \"/a\"\nprice = 1\nrate_limit = {bad}\n");
            assert!(ProxyConfig::parse(&text).is_err(), "{bad}");
        }
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
    fn ambiguous_paths_are_found_however_they_are_written() {
        for path in [
            "/a/../b",
            "/a/./b",
            "/a/..",
            "/..",
            "/a/%2e%2e/b",
            "/a/%2E%2e/b",
            "/a/.%2E/b",
            "/a/%2e./b",
            "/a/%2e/b",
            "/a/%252e%252e/b",
            "/a/%25252e%25252E/b",
            "/a/..%2fb",
            "/a/%2e%2e%2Fb",
            "/a/..\\b",
            "/a/..%5cb",
            "/a/..;/b",
            "/a/..;jsessionid=1/b",
            "/a/x%2f..%2fb",
            "/docs/premium%2Freport",
            "/docs/premium%2freport",
            "/docs/premium%252Freport",
            "/docs/premium;x/report",
            "/docs/premium;/report",
            "/docs/premium%3B/report",
            "/docs/premium%5Creport",
        ] {
            assert!(is_ambiguous_path(path), "{path}");
        }
        for path in ["/", "/a/b", "/a..b/c", "/.well-known/x", "/.../x", "/a/%2e%2e%2e", "/%", "/%2", "/%zz"]
        {
            assert!(!is_ambiguous_path(path), "{path}");
        }
    }

    #[test]
    fn percent_decoding_leaves_broken_escapes_alone() {
        assert_eq!(percent_decoded(b"%41%4a%4A%"), b"AJJ%");
        assert_eq!(percent_decoded(b"%zz%4"), b"%zz%4");
        assert_eq!(fully_percent_decoded(b"%2525252e"), b".");
    }

    #[test]
    fn upstream_urls_stay_under_the_base() {
        let upstream =
            |base: &str| Upstream { base: base.parse().unwrap(), client: reqwest::Client::new(), tls: false };
        let uri = |text: &str| text.parse::<Uri>().unwrap();
        for base in ["http://127.0.0.1:1/base", "http://127.0.0.1:1/base/"] {
            let url = upstream(base).url_for(&uri("/cdn/a.css?v=1")).unwrap();
            assert_eq!(url.as_str(), "http://127.0.0.1:1/base/cdn/a.css?v=1");
            assert_eq!(upstream(base).url_for(&uri("/cdn/../../admin")), None);
        }
        let root = upstream("http://127.0.0.1:1");
        assert_eq!(root.url_for(&uri("/x")).unwrap().as_str(), "http://127.0.0.1:1/x");
    }

    #[test]
    fn connection_named_headers_stay_on_this_hop() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, X-Secret , bad header"));
        headers.insert("x-secret", HeaderValue::from_static("1"));
        headers.insert("x-kept", HeaderValue::from_static("2"));
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        let kept = end_to_end(&headers);
        let mut names = kept.keys().map(HeaderName::as_str).collect::<Vec<_>>();
        names.sort_unstable();
        assert_eq!(names, ["accept", "x-kept"]);
    }

    #[test]
    fn client_claimed_addresses_and_underscored_names_are_not_forwarded() {
        let mut headers = HeaderMap::new();
        for name in [
            "X-Forwarded-For",
            "x-forwarded-host",
            "Forwarded",
            "X-Real-IP",
            "Client-IP",
            "True-Client-IP",
            "X-Client-IP",
            "X-Cluster-Client-IP",
            "CF-Connecting-IP",
            "Fastly-Client-IP",
            "X_Forwarded_For",
            "x_real_ip",
            "X_Anything",
            "Accept",
            "X-Request-Id",
        ] {
            headers.insert(HeaderName::try_from(name).unwrap(), HeaderValue::from_static("10.0.0.1"));
        }
        let (mut parts, ()) = axum::http::Request::new(()).into_parts();
        parts.headers = headers;
        let forwarded = upstream_request_headers(&parts, true);
        let mut names = forwarded.keys().map(HeaderName::as_str).collect::<Vec<_>>();
        names.sort_unstable();
        assert_eq!(names, ["accept", "x-forwarded-proto", "x-request-id"]);
    }

    #[test]
    fn receiver_headers_are_not_forwarded() {
        for name in ["rdn-balance-signature", "cookie", "authorization", "host", "connection"] {
            assert!(stays_here(&HeaderName::from_static(name)), "{name}");
        }
        assert!(!stays_here(&header::ACCEPT));
    }
}
