//! Issue 9, third outside review: hostile API bodies. A close request body is written by
//! whoever calls `DELETE /api/1/channels/…`; whatever the parser makes of odd JSON, the close
//! it authorises must be the one the sender signed.

// The tests panic as their failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use uraiden_protocol::{
    channel_manager_domain, Address, ChannelId, CloseRequestBody, LastProofBody, LocalSigningKey,
    SignedCloseRequest, WithdrawBody, U192,
};

// anvil's third development key: public knowledge, never real money.
const SENDER_KEY: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const NOW: u64 = 1_700_000_000;

fn signed(balance: u64) -> (SignedCloseRequest, LocalSigningKey, ChannelId) {
    let key = LocalSigningKey::from_hex(SENDER_KEY).unwrap();
    let channel = ChannelId::new(key.address(), Address::repeat_byte(0x22), 7);
    let domain = channel_manager_domain(31337, Address::repeat_byte(0x33));
    let request = SignedCloseRequest::sign(&key, &domain, channel, U192::from(balance), NOW + 60).unwrap();
    (request, key, channel)
}

/// `{"balance": A, "balance": B, …}`: whichever value the parser keeps, the signature was made
/// over one balance only, so the parsed request verifies only if that is the signed one.
/// Sender and receiver cannot be made to disagree on what was authorised.
#[test]
fn a_duplicated_balance_never_authorises_a_balance_that_was_not_signed() {
    let (request, key, channel) = signed(50);
    let domain = channel_manager_domain(31337, Address::repeat_byte(0x33));
    let signature = request.signature.to_hex();
    for (first, second) in [("\"50\"", "\"5\""), ("\"5\"", "\"50\""), ("50", "\"500\""), ("\"500\"", "50")] {
        let body = format!(
            r#"{{"balance": {first}, "balance": {second}, "deadline": {}, "signature": "{signature}"}}"#,
            NOW + 60
        );
        match CloseRequestBody::from_json(body.as_bytes()) {
            Err(_) => {}
            Ok(parsed) => {
                let verified = parsed.for_channel(channel).verify(&domain, key.address(), NOW);
                assert_eq!(
                    verified.is_ok(),
                    parsed.balance == U192::from(50u64),
                    "balances {first} then {second}: parsed {}, verified {verified:?}",
                    parsed.balance
                );
            }
        }
    }
    // The same for the deadline: a later deadline than the signed one never verifies.
    let body = format!(
        r#"{{"balance": "50", "deadline": {}, "deadline": {}, "signature": "{signature}"}}"#,
        NOW + 60,
        NOW + 6000
    );
    if let Ok(parsed) = CloseRequestBody::from_json(body.as_bytes()) {
        let verified = parsed.for_channel(channel).verify(&domain, key.address(), NOW);
        assert_eq!(verified.is_ok(), parsed.deadline == NOW + 60, "deadline {}", parsed.deadline);
    }
}

/// Decimal strings: escapes that decode to ASCII digits are the same number (JSON says so);
/// anything else that is not a canonical decimal (full-width or Arabic-Indic digits, a sign,
/// an exponent, a number too large for a uint192 or a u64) is refused, with no panic.
#[test]
fn odd_numbers_are_read_as_json_says_or_refused() {
    let (request, _, _) = signed(10);
    let signature = request.signature.to_hex();
    let with = |balance: &str| {
        CloseRequestBody::from_json(
            format!(r#"{{"balance": {balance}, "deadline": 5, "signature": "{signature}"}}"#).as_bytes(),
        )
    };
    assert_eq!(with(r#""\u0031\u0030""#).unwrap().balance, U192::from(10u64));
    for refused in [
        r#""１０""#,
        r#""١٠""#,
        r#""\u00b9""#,
        r#""1\u0000""#,
        r#""10 0""#,
        "1e400",
        "-0",
        "1.0",
        &"9".repeat(400),
        &format!("\"{}\"", "9".repeat(400)),
        "18446744073709551616",
        "true",
        "[10]",
        "{\"n\": 10}",
    ] {
        assert!(with(refused).is_err(), "balance {refused} accepted: {:?}", with(refused));
    }
    // Deep nesting in any field: refused by the JSON parser's depth limit, no stack overflow.
    let nested = format!(r#"{{"balance": {}1{}, "deadline": 5}}"#, "[".repeat(100_000), "]".repeat(100_000));
    assert!(CloseRequestBody::from_json(nested.as_bytes()).is_err());
    assert!(WithdrawBody::from_json("[".repeat(100_000).as_bytes()).is_err());
    assert!(LastProofBody::from_json(&"{\"a\":".repeat(50_000)).is_err());
}

/// A receiver's 409 that names its last balance twice: the sender reads one value, and never a
/// value that is not a canonical decimal.
#[test]
fn a_last_proof_with_a_duplicated_balance_is_read_as_one_canonical_value() {
    let parsed = LastProofBody::from_json(r#"{"balance": "10", "balance": "20", "balance_signature": null}"#);
    if let Ok(parsed) = parsed {
        assert!(parsed.balance == U192::from(10u64) || parsed.balance == U192::from(20u64));
    }
    // A number where the string is expected, whichever of the two is kept: refused, or read
    // as the string.
    for body in [r#"{"balance": "10", "balance": 20}"#, r#"{"balance": 20, "balance": "10"}"#] {
        let parsed = LastProofBody::from_json(body);
        assert!(
            parsed.is_err() || parsed == LastProofBody::from_json(r#"{"balance": "10"}"#),
            "{body}: {parsed:?}"
        );
    }
}
