//! The RDN-* header codec on arbitrary header sets: never panics, and whatever it accepts
//! it writes back to headers that parse to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uraiden_protocol::{parse_address, PaymentHeaders, PaywallInfo, Refusal};

/// `Name: value` lines, looked up case-insensitively (first match), as HTTP headers are.
fn lookup_in<'a>(lines: &'a [(String, String)]) -> impl Fn(&str) -> Option<&'a str> + 'a {
    move |name| lines.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<(String, String)> = text
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.to_owned()))
        .collect();

    if let Ok(Some(payment)) = PaymentHeaders::parse(lookup_in(&lines)) {
        let written: Vec<(String, String)> =
            payment.to_header_pairs().into_iter().map(|(name, value)| (name.to_owned(), value)).collect();
        let again = PaymentHeaders::parse(lookup_in(&written));
        assert_eq!(
            again.ok().flatten().as_ref(),
            Some(&payment),
            "a payment does not survive its own headers"
        );
    }
    if let Ok(info) = PaywallInfo::parse(lookup_in(&lines)) {
        let written: Vec<(String, String)> =
            info.to_header_pairs().into_iter().map(|(name, value)| (name.to_owned(), value)).collect();
        assert_eq!(PaywallInfo::parse(lookup_in(&written)).ok().as_ref(), Some(&info));
    }
    let _ = Refusal::from_headers(lookup_in(&lines));
    for (_, value) in &lines {
        if let Ok(address) = parse_address(value.trim()) {
            assert_eq!(parse_address(&address.to_checksum(None)).ok(), Some(address));
        }
    }
});
