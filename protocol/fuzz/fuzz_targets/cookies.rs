//! `Cookie` lines as browsers send them, whatever other applications of the domain set:
//! never a panic, no pair spans a `;`, one undecodable or odd cookie never hides a payment
//! cookie beside it, and a payment read from cookies parses as from headers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uraiden_protocol::{cookie_pairs, PaymentHeaders};

fuzz_target!(|data: &[u8]| {
    for (name, value) in cookie_pairs(data) {
        assert!(!name.contains(';') && !value.contains(';'));
        assert_eq!(name, name.trim());
    }
    let _ = PaymentHeaders::parse(|wanted| {
        cookie_pairs(data).find(|(name, _)| name.eq_ignore_ascii_case(wanted)).map(|(_, value)| value)
    });

    // Whatever surrounds it, a well-formed cookie between separators is read.
    let (before, after) = data.split_at(data.len() / 2);
    let line = [before, b"; RDN-Balance=5; ", after].concat();
    assert!(
        cookie_pairs(&line).any(|pair| pair == ("RDN-Balance", "5")),
        "the payment cookie was hidden by its neighbours"
    );
});
