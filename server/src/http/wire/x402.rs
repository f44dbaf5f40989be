//! x402 v2 for the `uraiden` scheme: `PAYMENT-SIGNATURE` read into the same payment an
//! `RDN-*` request becomes, and `PAYMENT-REQUIRED` / `PAYMENT-RESPONSE` written on the
//! answers. The JSON is `uraiden_protocol::x402`'s; this module only moves it in and out of
//! headers.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use uraiden_protocol::{
    x402::{
        names::{PAYMENT_REQUIRED, PAYMENT_RESPONSE, PAYMENT_SIGNATURE, X_PAYMENT},
        payment_required_header, Settlement, UraidenOffer, X402Payment,
    },
    PaywallInfo,
};

use super::rdn::PAYMENT_STARTERS;

/// Request headers a cross-origin x402 client sends: the payment, and the
/// `Access-Control-Expose-Headers` request header the official fetch wrapper adds.
pub const REQUEST_HEADERS: [&str; 2] = [PAYMENT_SIGNATURE, "access-control-expose-headers"];

/// Response headers an x402 client must be able to read.
pub const RESPONSE_HEADERS: [&str; 2] = [PAYMENT_REQUIRED, PAYMENT_RESPONSE];

/// Whether `name` is one of x402's headers (v2 or v1): they concern this receiver's payment,
/// so a proxy keeps them on this hop in both directions.
pub fn is_x402_header(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "payment-signature" | "payment-required" | "payment-response" | "x-payment" | "x-payment-response"
    )
}

/// Whether the request pays in x402 form (v1's `X-PAYMENT` included, to refuse it clearly).
pub fn carries_payment(headers: &HeaderMap) -> bool {
    headers.contains_key(PAYMENT_SIGNATURE) || headers.contains_key(X_PAYMENT)
}

/// Reads the request's x402 payment; `Err` is a 400's message saying what to fix.
pub fn read_payment(headers: &HeaderMap) -> Result<X402Payment, String> {
    let mut values = headers.get_all(PAYMENT_SIGNATURE).iter();
    let Some(value) = values.next() else {
        return Err(format!(
            "{X_PAYMENT} is x402 version 1; this receiver speaks x402 version 2: send the payment in \
             {PAYMENT_SIGNATURE} (see the {PAYMENT_REQUIRED} header of a 402)."
        ));
    };
    if values.next().is_some() {
        return Err(format!("{PAYMENT_SIGNATURE} is sent more than once; send one payment."));
    }
    if PAYMENT_STARTERS.iter().any(|name| headers.contains_key(*name)) {
        return Err(format!(
            "The request carries both {PAYMENT_SIGNATURE} and RDN-* payment headers; send one payment, \
             in one format."
        ));
    }
    let value =
        value.to_str().map_err(|_| format!("{PAYMENT_SIGNATURE}: not visible ASCII (base64 expected)."))?;
    X402Payment::parse_header(value).map_err(|error| {
        format!(
            "Malformed payment: {error}. A 402's {PAYMENT_REQUIRED} header lists what this receiver accepts."
        )
    })
}

/// Adds `PAYMENT-REQUIRED`: `info`'s offer for `resource_url`, with `error` after a refusal.
pub fn set_payment_required(
    headers: &mut HeaderMap,
    info: &PaywallInfo,
    resource_url: &str,
    error: Option<&str>,
) {
    let value = payment_required_header(&UraidenOffer::new(info), resource_url, error);
    insert(headers, PAYMENT_REQUIRED, value);
}

/// Adds `PAYMENT-RESPONSE`.
pub fn set_settlement(headers: &mut HeaderMap, settlement: &Settlement) {
    insert(headers, PAYMENT_RESPONSE, settlement.to_header_value());
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: String) {
    // Base64 is visible ASCII, so the value always converts.
    if let Ok(value) = HeaderValue::try_from(value) {
        headers.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_one_and_mixed_formats_are_refused_with_what_to_send() {
        let mut v1 = HeaderMap::new();
        v1.insert(X_PAYMENT, HeaderValue::from_static("e30="));
        assert!(carries_payment(&v1));
        assert!(read_payment(&v1).unwrap_err().contains("x402 version 1"));

        let mut mixed = HeaderMap::new();
        mixed.insert(PAYMENT_SIGNATURE, HeaderValue::from_static("e30="));
        mixed.insert("rdn-balance", HeaderValue::from_static("5"));
        assert!(read_payment(&mixed).unwrap_err().contains("both PAYMENT-SIGNATURE and RDN-*"));

        let mut twice = HeaderMap::new();
        twice.append(PAYMENT_SIGNATURE, HeaderValue::from_static("e30="));
        twice.append(PAYMENT_SIGNATURE, HeaderValue::from_static("e30="));
        assert!(read_payment(&twice).unwrap_err().contains("more than once"));

        let mut empty_object = HeaderMap::new();
        empty_object.insert(PAYMENT_SIGNATURE, HeaderValue::from_static("e30="));
        assert!(read_payment(&empty_object)
            .unwrap_err()
            .starts_with("Malformed payment: PAYMENT-SIGNATURE: x402Version"));
    }

    #[test]
    fn only_x402_headers_are_x402_headers() {
        for name in
            ["payment-signature", "payment-required", "payment-response", "x-payment", "x-payment-response"]
        {
            assert!(is_x402_header(&HeaderName::from_static(name)), "{name}");
        }
        assert!(!is_x402_header(&HeaderName::from_static("payment")));
        assert!(!is_x402_header(&HeaderName::from_static("rdn-balance")));
    }
}
