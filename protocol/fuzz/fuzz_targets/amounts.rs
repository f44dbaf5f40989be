//! Token amounts in headers and typed data: canonical decimals below 2^192, nothing else;
//! what is accepted prints back to the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uraiden_protocol::parse_amount;

/// 2^192 - 1, the largest uint192.
const MAX: &str = "6277101735386680763835789423207666416102355444464034512895";

fn is_canonical_uint192(text: &str) -> bool {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical && (text.len() < MAX.len() || (text.len() == MAX.len() && text <= MAX))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match parse_amount(text) {
        Ok(amount) => assert_eq!(amount.to_string(), text),
        Err(_) => assert!(!is_canonical_uint192(text), "{text:?} refused"),
    }
});
