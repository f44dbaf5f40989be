//! Cross-origin access for single-page apps that pay from another origin with
//! `uraiden-wasm`'s `payingFetch` (`--cors-origin`).
//!
//! A browser hides response headers from cross-origin scripts unless they are exposed, and
//! sends a preflight before a request with custom headers: so the layer exposes every
//! `RDN-*` header a 402 or 200 carries, x402's `PAYMENT-REQUIRED` and `PAYMENT-RESPONSE`, and
//! `Retry-After`, and allows the payment headers of both formats on requests (with the
//! `Access-Control-Expose-Headers` request header the x402 fetch wrapper adds). Off by default; payments never ride on cookies cross-origin (no credentials are allowed).

use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};
use uraiden_protocol::{header as rdn, PaymentHeaders, Refusal, SignedStatusRequest};

use super::wire::x402;
use crate::error::CorsError;

/// How long a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The layer for `--cors-origin` values: `*` for any origin, else exact origins such as
/// `https://app.example`. `None` when no origin is given.
pub fn cors_layer(origins: &[String]) -> Result<Option<CorsLayer>, CorsError> {
    if origins.is_empty() {
        return Ok(None);
    }
    let allow_origin = if origins.iter().any(|origin| origin == "*") {
        AllowOrigin::any()
    } else {
        let origins = origins.iter().map(|origin| parse_origin(origin)).collect::<Result<Vec<_>, _>>()?;
        AllowOrigin::list(origins)
    };
    // A status request (RDN-Status-*) asks for the last proof after a refusal.
    let request_headers = PaymentHeaders::HEADER_NAMES
        .iter()
        .chain(&SignedStatusRequest::HEADER_NAMES)
        .chain(&x402::REQUEST_HEADERS)
        .filter_map(|name| header_name(name))
        .chain([header::CONTENT_TYPE, header::AUTHORIZATION]);
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers(request_headers.collect::<Vec<_>>())
            .expose_headers(exposed_headers())
            .max_age(PREFLIGHT_MAX_AGE),
    ))
}

/// Every `RDN-*` header a response may carry (the 402's terms, the last proof, refusals),
/// and `Retry-After`: a page told 429 (or 502, 503) must read how long to wait.
fn exposed_headers() -> Vec<HeaderName> {
    [
        rdn::GATEWAY_PATH,
        rdn::RECEIVER_ADDRESS,
        rdn::CONTRACT_ADDRESS,
        rdn::TOKEN_ADDRESS,
        rdn::PRICE,
        rdn::CHAIN_ID,
        rdn::SENDER_ADDRESS,
        rdn::SENDER_BALANCE,
        rdn::BALANCE_SIGNATURE,
    ]
    .into_iter()
    .chain(Refusal::ALL.map(Refusal::header_name))
    .chain(x402::RESPONSE_HEADERS)
    .filter_map(header_name)
    .chain([header::RETRY_AFTER])
    .collect()
}

/// The protocol's names are valid constants (the tests check every one is kept).
fn header_name(name: &str) -> Option<HeaderName> {
    HeaderName::from_bytes(name.as_bytes()).ok()
}

fn parse_origin(origin: &str) -> Result<HeaderValue, CorsError> {
    let well_formed = (origin.starts_with("http://") || origin.starts_with("https://"))
        && !origin.ends_with('/')
        && origin.split("://").nth(1).is_some_and(|rest| !rest.is_empty() && !rest.contains('/'));
    if !well_formed {
        return Err(CorsError::NotAnOrigin { origin: origin.to_owned() });
    }
    Ok(HeaderValue::from_str(origin)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_origin_means_no_layer() {
        assert!(cors_layer(&[]).unwrap().is_none());
    }

    #[test]
    fn origins_must_be_scheme_host_port() {
        for bad in ["example.com", "https://example.com/", "https://example.com/app", "ftp://x", "https://"] {
            let error = cors_layer(&[bad.to_string()]).unwrap_err().to_string();
            assert!(error.contains("is not an origin"), "{bad}: {error}");
        }
        assert!(cors_layer(&["http://localhost:5173".into(), "https://app.example".into()])
            .unwrap()
            .is_some());
        assert!(cors_layer(&["*".into()]).unwrap().is_some());
    }

    #[test]
    fn exposes_every_refusal_and_the_last_proof() {
        let exposed = exposed_headers();
        assert_eq!(exposed.len(), 10 + Refusal::ALL.len() + x402::RESPONSE_HEADERS.len());
        assert!(exposed.contains(&header::RETRY_AFTER));
        for name in [
            "rdn-price",
            "rdn-sender-balance",
            "rdn-balance-signature",
            "rdn-insufficient-funds",
            "payment-required",
            "payment-response",
        ] {
            assert!(exposed.iter().any(|header| header.as_str() == name), "{name} not exposed");
        }
        let allowed = PaymentHeaders::HEADER_NAMES.iter().filter_map(|name| header_name(name)).count();
        assert_eq!(allowed, PaymentHeaders::HEADER_NAMES.len());
    }
}
