//! The JSON bodies of the receiver's API, parsed by whichever side distrusts the other: the
//! close request (receiver), the closing signature and the 409's last proof (sender), the
//! operator's withdraw request. Never a panic; what is accepted is exactly what the rules say
//! (checked against the body read as plain JSON: the fields, amounts as JSON integers below
//! 2^64 or canonical decimal strings below 2^192, never negative, fractional, hex or padded
//! with zeros); what is accepted encodes to JSON that parses back to the same value. The
//! sender's parsers read JSON with the crate's own `Json` (the browser library links no
//! serde_json): it agrees with serde_json on every input but numbers beyond `f64`'s range.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use uraiden_protocol::{
    BodyError, CloseRequestBody, ClosingSignatureBody, Json, LastProofBody, ProofSignature, WithdrawBody,
    U192,
};

/// 2^192 - 1, the largest uint192.
const MAX: &str = "6277101735386680763835789423207666416102355444464034512895";

/// The amount `text` stands for when it is a canonical decimal below 2^192.
fn canonical_uint192(text: &str) -> Option<U192> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'))
        && (text.len() < MAX.len() || (text.len() == MAX.len() && text <= MAX));
    canonical.then(|| text.parse().ok()).flatten()
}

/// An amount field as the rules read it: a JSON integer up to 2^64 - 1, or a string that is
/// a canonical decimal once trimmed.
fn amount(value: &Value) -> Option<U192> {
    match value {
        Value::Number(number) => number.as_u64().map(U192::from),
        Value::String(text) => canonical_uint192(text.trim()),
        _ => None,
    }
}

/// Unix seconds: a JSON integer, or a string of one (Rust's `u64` syntax: digits, one `+`).
fn seconds(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => {
            let digits = text.trim();
            let digits = digits.strip_prefix('+').unwrap_or(digits);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            digits.parse().ok()
        }
        _ => None,
    }
}

fn signature(value: &Value) -> Option<ProofSignature> {
    value.as_str().and_then(|text| text.trim().parse().ok())
}

/// The close request the rules accept in `json`, if any.
fn expected_close_request(json: &Value) -> Option<CloseRequestBody> {
    let fields = json.as_object()?;
    if fields.len() != 3 {
        return None;
    }
    Some(CloseRequestBody {
        balance: amount(fields.get("balance")?)?,
        deadline: seconds(fields.get("deadline")?)?,
        signature: signature(fields.get("signature")?)?,
    })
}

fn expected_withdraw(data: &[u8], json: Option<&Value>) -> Option<WithdrawBody> {
    if data.iter().all(u8::is_ascii_whitespace) {
        return Some(WithdrawBody::default());
    }
    let fields = json?.as_object()?;
    if fields.keys().any(|key| key != "min_amount") {
        return None;
    }
    let min_amount = match fields.get("min_amount") {
        None | Some(Value::Null) => U192::ZERO,
        Some(value) => amount(value)?,
    };
    Some(WithdrawBody { min_amount })
}

fn expected_last_proof(json: &Value) -> Option<LastProofBody> {
    let fields = json.as_object()?;
    let balance = canonical_uint192(fields.get("balance")?.as_str()?)?;
    let balance_signature = match fields.get("balance_signature") {
        None | Some(Value::Null) => None,
        Some(value) => Some(value.as_str()?.parse().ok()?),
    };
    Some(LastProofBody { balance, balance_signature })
}

/// `json` as a serde_json value; a number beyond f64's range, which no rule takes, as `false`
/// (like it, neither a string nor null).
fn value(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(value) => Value::Bool(*value),
        Json::Number(number) => number.parse().map_or(Value::Bool(false), Value::Number),
        Json::String(text) => Value::String(text.clone()),
        Json::Array(items) => Value::Array(items.iter().map(value).collect()),
        Json::Object(members) => {
            Value::Object(members.iter().map(|(name, member)| (name.clone(), value(member))).collect())
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let json: Option<Value> = serde_json::from_slice(data).ok();

    let close = CloseRequestBody::from_json(data);
    match &json {
        Some(json) if json.get("balance_signature").is_some() => {
            assert_eq!(close, Err(BodyError::BalanceProof))
        }
        Some(json) => assert_eq!(close.as_ref().ok(), expected_close_request(json).as_ref(), "{close:?}"),
        None => assert!(matches!(close, Err(BodyError::NotJson(_)))),
    }
    if let Ok(close) = close {
        assert_eq!(CloseRequestBody::from_json(close.to_json().as_bytes()), Ok(close));
    }

    let withdraw = WithdrawBody::from_json(data);
    assert_eq!(withdraw.as_ref().ok(), expected_withdraw(data, json.as_ref()).as_ref(), "{withdraw:?}");
    if let Ok(withdraw) = withdraw {
        assert_eq!(WithdrawBody::from_json(withdraw.to_json().as_bytes()), Ok(withdraw));
    }

    let Ok(text) = std::str::from_utf8(data) else { return };
    // The sender's reader: what serde_json reads, it reads the same (written back, serde_json
    // reads the same value); it also keeps numbers serde_json refuses as out of range.
    let ours = Json::parse(text);
    match (&ours, &json) {
        (Ok(ours), Some(json)) => {
            assert_eq!(&serde_json::from_str::<Value>(&ours.to_string()).expect("our JSON is JSON"), json)
        }
        (Err(_), Some(_)) => panic!("serde_json reads it, Json does not: {ours:?}"),
        (Ok(_), None) => {
            let refusal = serde_json::from_str::<Value>(text).expect_err("refused").to_string();
            assert!(refusal.contains("number out of range"), "Json reads it, serde_json does not: {refusal}");
        }
        (Err(_), None) => {}
    }
    // The answers as the sender reads them.
    let json = ours.ok().map(|ours| value(&ours));
    let signed = ClosingSignatureBody::from_json(text);
    // Read as written, untrimmed: the receiver writes it.
    let expected =
        json.as_ref().and_then(|json| json.as_object()?.get("close_signature")?.as_str()?.parse().ok());
    assert_eq!(signed.as_ref().ok().map(|body| body.close_signature), expected, "{signed:?}");
    if let Ok(signed) = signed {
        assert_eq!(ClosingSignatureBody::from_json(&signed.to_json().to_string()), Ok(signed));
    }

    let last = LastProofBody::from_json(text);
    assert_eq!(last.as_ref().ok(), json.as_ref().and_then(expected_last_proof).as_ref(), "{last:?}");
    if let Ok(last) = last {
        let encoded = Value::Object(last.to_json_fields()).to_string();
        assert_eq!(LastProofBody::from_json(&encoded), Ok(last));
    }
});
