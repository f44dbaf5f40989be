//! x402 headers from strangers: `PAYMENT-SIGNATURE` at the receiver, `PAYMENT-REQUIRED` and
//! `PAYMENT-RESPONSE` at a sender. Never a panic, and whatever is accepted writes back to a
//! header that reads the same. The input is the JSON text (fuzzed as text, base64-encoded here
//! as the header carries it) and, as is, the raw header value.
#![no_main]

use base64::{engine::general_purpose::STANDARD, Engine as _};
use libfuzzer_sys::fuzz_target;
use uraiden_protocol::x402::{
    payload_json, payment_required_header, OfferedPayment, Settlement, X402Payment,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let encoded = STANDARD.encode(text);
    for value in [encoded.as_str(), text] {
        if let Ok(paid) = X402Payment::parse_header(value) {
            let offered = OfferedPayment {
                offer: paid.accepted.clone(),
                accepted: paid.accepted.to_json(),
                resource: None,
                error: None,
            };
            let written = offered.payment_header(payload_json(&paid.payment, paid.status.as_ref()));
            assert_eq!(X402Payment::parse_header(&written), Ok(paid));
        }
        if let Ok(Some(offered)) = OfferedPayment::parse_header(value) {
            let written = payment_required_header(&offered.offer, "/", offered.error.as_deref());
            let again = OfferedPayment::parse_header(&written).expect("readable").expect("an offer");
            assert_eq!(again.offer, offered.offer);
        }
        if let Ok(settled) = Settlement::parse_header(value) {
            assert_eq!(Settlement::parse_header(&settled.to_header_value()), Ok(settled));
        }
    }
});
