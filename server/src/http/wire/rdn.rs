//! The seed's wire format: `RDN-*` headers, or the same names as cookies for a browser
//! navigation (see the paywall's module docs for why cookies are consumed and which are set).

use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use uraiden_protocol::{cookie_pairs, header as rdn, PaymentHeaders, PaywallInfo, Refusal};

/// Where a request's payment is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentSource {
    /// A payment header is present: the headers alone are read.
    Headers,
    /// No payment header, but a payment cookie: the cookies alone are read.
    Cookies,
    /// Neither: the request does not try to pay.
    Nothing,
}

/// The names whose presence starts a payment (the parser's rule); contract and receiver
/// alone do not, which is why the paywall may set them as cookies.
pub const PAYMENT_STARTERS: [&str; 6] = [
    rdn::SENDER_ADDRESS,
    rdn::OPEN_BLOCK,
    rdn::BALANCE,
    rdn::SENDER_BALANCE,
    rdn::BALANCE_SIGNATURE,
    rdn::PAYMENT,
];

impl PaymentSource {
    /// Headers when any payment header is present, else cookies when any payment cookie is.
    pub fn of(headers: &HeaderMap) -> Self {
        let starts_payment =
            |name: &str| PAYMENT_STARTERS.iter().any(|starter| starter.eq_ignore_ascii_case(name));
        if PAYMENT_STARTERS.iter().any(|name| headers.contains_key(*name)) {
            Self::Headers
        } else if request_cookies(headers).iter().any(|(name, _)| starts_payment(name)) {
            Self::Cookies
        } else {
            Self::Nothing
        }
    }

    /// Parses the payment from this source.
    pub fn parse(self, headers: &HeaderMap) -> uraiden_protocol::Result<Option<PaymentHeaders>> {
        match self {
            Self::Nothing => Ok(None),
            Self::Headers => PaymentHeaders::parse(|name| {
                // A value that is not visible ASCII is present but unusable: hand the parser
                // something it will reject with this header's name rather than "missing".
                headers.get(name).map(|value| value.to_str().unwrap_or("\u{fffd}"))
            }),
            Self::Cookies => {
                let cookies = request_cookies(headers);
                PaymentHeaders::parse(|name| {
                    cookies
                        .iter()
                        .find(|(key, _)| key.eq_ignore_ascii_case(name))
                        .map(|(_, value)| value.as_str())
                })
            }
        }
    }
}

/// The request's cookies, from every `Cookie` header; quoted values are unquoted, and pairs
/// that are not UTF-8 (another application's) are skipped.
pub fn request_cookies(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .flat_map(|line| cookie_pairs(line.as_bytes()))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

/// The receiver's own paywall headers (gateway path, receiver, contract, token, chain id),
/// formatted once: every paywalled response carries them, and each address's EIP-55
/// checksum costs a Keccak-256.
#[derive(Clone, Debug)]
pub struct ReceiverHeaders(Vec<(HeaderName, HeaderValue)>);

impl ReceiverHeaders {
    /// From the receiver's paywall info (its price and channel fields are not used).
    pub fn new(info: &PaywallInfo) -> Self {
        Self(
            info.receiver_header_pairs()
                .into_iter()
                .filter_map(|(name, value)| header_pair(name, value))
                .collect(),
        )
    }
}

/// Writes the paywall headers of `info`, whose receiver fields are `receiver`'s (every info
/// comes from the one gateway), and, for a refusal, its one reason header.
pub fn set_rdn_headers(
    headers: &mut HeaderMap,
    receiver: &ReceiverHeaders,
    info: &PaywallInfo,
    refusal: Option<Refusal>,
) {
    let response = info.response_header_pairs();
    headers.reserve(receiver.0.len() + response.len() + 1);
    for (name, value) in &receiver.0 {
        headers.insert(name.clone(), value.clone());
    }
    let refusal = refusal.map(Refusal::to_header_pair).map(|(name, value)| (name, value.to_owned()));
    for (name, value) in
        response.into_iter().chain(refusal).filter_map(|(name, value)| header_pair(name, value))
    {
        headers.insert(name, value);
    }
}

/// Names are static ASCII and values are addresses, numbers, hex and the gateway path
/// (checked by the parser's rules), so both always convert.
fn header_pair(name: &'static str, value: String) -> Option<(HeaderName, HeaderValue)> {
    Some((HeaderName::try_from(name).ok()?, HeaderValue::try_from(value).ok()?))
}

/// The paywall's own values as cookies, so the page's script can read them; never the
/// channel's values (see the module docs).
pub fn paywall_cookies(info: &PaywallInfo, tls: bool) -> Vec<String> {
    let secure = if tls { "; Secure" } else { "" };
    info.to_header_pairs()
        .into_iter()
        .filter(|(name, _)| !PAYMENT_STARTERS.contains(name))
        .map(|(name, value)| format!("{name}={value}; Path=/; SameSite=Lax{secure}"))
        .collect()
}

/// `Set-Cookie` values that delete every payment cookie.
pub fn expire_payment_cookies(tls: bool) -> Vec<String> {
    let secure = if tls { "; Secure" } else { "" };
    PAYMENT_STARTERS.iter().map(|name| format!("{name}=; Path=/; Max-Age=0; SameSite=Lax{secure}")).collect()
}

#[cfg(test)]
mod tests {
    use uraiden_protocol::{Address, U192};

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(HeaderName::try_from(*name).unwrap(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn payment_source_is_headers_only_when_a_payment_header_is_present() {
        assert_eq!(PaymentSource::of(&HeaderMap::new()), PaymentSource::Nothing);
        // Contract and receiver alone (as a client might always send) do not start a payment.
        assert_eq!(
            PaymentSource::of(&headers(&[(rdn::CONTRACT_ADDRESS, "0x00"), ("cookie", "RDN-Price=5")])),
            PaymentSource::Nothing
        );
        for name in PAYMENT_STARTERS {
            assert_eq!(PaymentSource::of(&headers(&[(name, "1")])), PaymentSource::Headers, "{name}");
            let cookie = format!("{}=1", name.to_ascii_lowercase());
            assert_eq!(PaymentSource::of(&headers(&[("cookie", &cookie)])), PaymentSource::Cookies, "{name}");
        }
    }

    #[test]
    fn cookies_are_split_trimmed_and_unquoted_across_headers() {
        let map = headers(&[("cookie", "a=1; RDN-Open-Block=\"42\""), ("cookie", " b = x=y ;broken")]);
        assert_eq!(
            request_cookies(&map),
            vec![
                ("a".into(), "1".into()),
                ("RDN-Open-Block".into(), "42".into()),
                ("b".into(), "x=y".into())
            ]
        );
    }

    #[test]
    fn paywall_cookies_never_start_a_payment() {
        let info = PaywallInfo {
            gateway_path: "/api/1".into(),
            receiver: Address::repeat_byte(1),
            contract: Address::repeat_byte(2),
            token: Address::repeat_byte(3),
            price: U192::from(5),
            chain_id: 31337,
            sender: Some(Address::repeat_byte(4)),
            sender_balance: Some(U192::from(10)),
            balance_signature: None,
        };
        let cookies = paywall_cookies(&info, false);
        assert_eq!(cookies.len(), 6, "{cookies:?}");
        assert!(cookies.iter().all(|c| c.ends_with("; Path=/; SameSite=Lax")), "{cookies:?}");
        assert!(cookies.contains(&"RDN-Price=5; Path=/; SameSite=Lax".to_owned()));
        // Sent back by the browser, they are not a payment attempt.
        let cookie_line =
            cookies.iter().map(|c| c.split(';').next().unwrap().to_owned()).collect::<Vec<_>>().join("; ");
        let map = headers(&[("cookie", &cookie_line)]);
        assert_eq!(PaymentSource::of(&map), PaymentSource::Nothing);
        assert_eq!(PaymentSource::Cookies.parse(&map), Ok(None), "the parser agrees");
        assert!(paywall_cookies(&info, true).iter().all(|c| c.ends_with("; Secure")));
    }

    #[test]
    fn expired_cookies_cover_every_payment_starter() {
        let expired = expire_payment_cookies(true);
        for name in PAYMENT_STARTERS {
            assert!(expired.contains(&format!("{name}=; Path=/; Max-Age=0; SameSite=Lax; Secure")), "{name}");
        }
    }

    #[test]
    fn headers_win_and_cookies_are_not_mixed_in() {
        // A partial payment in the headers is not completed from cookies.
        let map = headers(&[(rdn::OPEN_BLOCK, "42"), ("cookie", "RDN-Sender-Address=0x01")]);
        let error = PaymentSource::of(&map).parse(&map).unwrap_err();
        assert!(error.to_string().starts_with("RDN-Contract-Address: missing"), "{error}");
    }
}
