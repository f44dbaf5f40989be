//! The JSON bodies of the receiver's REST API that cross between sender and receiver (SPEC §4),
//! each parsed by the side that does not trust the other:
//!
//! - [`CloseRequestBody`]: `{"balance", "deadline", "signature"}`, the close request a sender
//!   sends with `DELETE {gateway}/channels/{sender}/{open_block}`; the receiver parses it.
//! - [`ClosingSignatureBody`]: the receiver's `{"close_signature": "0x…"}` answer, and
//!   [`LastProofBody`]: its 409 naming its last accepted proof (`balance`,
//!   `balance_signature`); the sender parses both.
//! - [`WithdrawBody`]: the operator's optional `{"min_amount"}` of `POST /withdraw`.
//!
//! Each body has its one parser and one encoder here, so sender and receiver cannot drift
//! apart, and the parsers are fuzzed (`protocol/fuzz`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{channel::parse_amount, json::Json, ChannelId, ProofSignature, SignedCloseRequest, U192};

/// Why a body was refused. The message says what was wrong; the receiver adds what to send.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Not JSON at all.
    #[error("expected a JSON body ({0})")]
    NotJson(String),
    /// The seed's close body, a balance proof: anyone who saw the proof holds it.
    #[error("a balance proof does not authorise a close (proofs leak through headers and cookies)")]
    BalanceProof,
    /// JSON of another shape: a missing, unknown or mistyped field.
    #[error("{0}")]
    Shape(String),
    /// A field of the right JSON type whose value is refused.
    #[error("{field}: {problem}")]
    Field {
        /// The field's name.
        field: &'static str,
        /// What was wrong with it.
        problem: String,
    },
}

/// An amount or a count of seconds as JSON accepts it from people and scripts: a JSON number
/// (an unsigned 64-bit integer) or a string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum NumberOrText {
    Number(u64),
    Text(String),
}

impl NumberOrText {
    /// A token amount: a number, or a canonical decimal string below 2^192 (surrounding
    /// whitespace allowed), as [`parse_amount`] says.
    fn amount(self, field: &'static str) -> Result<U192, BodyError> {
        match self {
            Self::Number(number) => Ok(U192::from(number)),
            Self::Text(text) => parse_amount(text.trim())
                .map_err(|error| BodyError::Field { field, problem: error.to_string() }),
        }
    }

    /// Unix seconds: a number, or a decimal string of one (surrounding whitespace allowed).
    fn seconds(self, field: &'static str) -> Result<u64, BodyError> {
        match self {
            Self::Number(number) => Ok(number),
            Self::Text(text) => text.trim().parse().map_err(|_| BodyError::Field {
                field,
                problem: format!(
                    "expected unix seconds as a number or decimal string, got {:?}",
                    text.chars().take(24).collect::<String>()
                ),
            }),
        }
    }
}

/// `DELETE {gateway}/channels/{sender}/{open_block}`: a close request signed just now, for the
/// channel the path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseRequestBody {
    /// The balance to close at.
    pub balance: U192,
    /// Unix seconds after which the request is void.
    pub deadline: u64,
    /// The sender's (or its signer's) EIP-712 `CloseRequest` signature.
    pub signature: ProofSignature,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseRequestFields {
    balance: NumberOrText,
    deadline: NumberOrText,
    signature: String,
}

impl CloseRequestBody {
    /// Parses the body. Refused: anything but a JSON object; a balance proof (a
    /// `balance_signature` field); missing or unknown fields; amounts that are negative, fractional, hex, beyond
    /// 2^192 or not canonical; a signature the contract would not accept.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        let json: Value =
            serde_json::from_slice(body).map_err(|error| BodyError::NotJson(error.to_string()))?;
        if json.get("balance_signature").is_some() {
            return Err(BodyError::BalanceProof);
        }
        let fields: CloseRequestFields = from_object(json)?;
        let signature = fields.signature.trim().parse().map_err(|error: crate::Error| BodyError::Field {
            field: "signature",
            problem: error.to_string(),
        })?;
        Ok(Self {
            balance: fields.balance.amount("balance")?,
            deadline: fields.deadline.seconds("deadline")?,
            signature,
        })
    }

    /// The body as senders write it: the balance as a decimal string, the deadline a number.
    pub fn to_json(&self) -> String {
        Json::object([
            ("balance", Json::string(self.balance.to_string())),
            ("deadline", Json::number(self.deadline)),
            ("signature", Json::string(self.signature.to_hex())),
        ])
        .to_string()
    }

    /// The signed request for `channel`, the one the URL names.
    pub fn for_channel(self, channel: ChannelId) -> SignedCloseRequest {
        SignedCloseRequest {
            channel,
            balance: self.balance,
            deadline: self.deadline,
            signature: self.signature,
        }
    }
}

impl From<&SignedCloseRequest> for CloseRequestBody {
    fn from(request: &SignedCloseRequest) -> Self {
        Self { balance: request.balance, deadline: request.deadline, signature: request.signature }
    }
}

/// The receiver's answer to a close request it signs: its closing signature (which the
/// sender still has to verify).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosingSignatureBody {
    /// The receiver's EIP-712 `ClosingProof` signature.
    pub close_signature: ProofSignature,
}

impl ClosingSignatureBody {
    /// Parses the answer; other fields are ignored.
    pub fn from_json(body: &str) -> Result<Self, BodyError> {
        let fields = answer_fields(body)?;
        let close_signature = signature_field(&fields, "close_signature")?
            .ok_or_else(|| BodyError::Shape("missing field `close_signature`".into()))?;
        Ok(Self { close_signature })
    }

    /// The answer as the receiver writes it.
    pub fn to_json(&self) -> Value {
        serde_json::json!({ "close_signature": self.close_signature.to_hex() })
    }
}

/// The receiver's 409 to a close request for another balance than its last accepted one:
/// that balance and its proof (none before any payment), inside an error body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastProofBody {
    /// The last accepted balance.
    pub balance: U192,
    /// Its balance proof signature; `None` when nothing was paid.
    pub balance_signature: Option<ProofSignature>,
}

impl LastProofBody {
    /// Parses the 409's body; other fields (`error`, `message`) are ignored. The balance must
    /// be a canonical decimal string, the signature one the contract would accept, or null.
    pub fn from_json(body: &str) -> Result<Self, BodyError> {
        let fields = answer_fields(body)?;
        let balance = string_field(&fields, "balance")?
            .ok_or_else(|| BodyError::Shape("missing field `balance`".into()))?;
        let balance = parse_amount(balance)
            .map_err(|error| BodyError::Field { field: "balance", problem: error.to_string() })?;
        Ok(Self { balance, balance_signature: signature_field(&fields, "balance_signature")? })
    }

    /// The fields the receiver adds to its error body.
    pub fn to_json_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert("balance".into(), self.balance.to_string().into());
        fields.insert("balance_signature".into(), self.balance_signature.map(|s| s.to_hex()).into());
        fields
    }
}

// The receiver's answers are read field by field with the crate's own JSON reader: the browser
// sender (uraiden-wasm) then links neither serde_json nor typed deserialisation (whose error
// messages carry serde's float formatting), some 50 KB of wasm in all.

/// The fields of a receiver's answer: a JSON object (other fields are ignored).
fn answer_fields(body: &str) -> Result<Json, BodyError> {
    match Json::parse(body).map_err(|error| BodyError::NotJson(error.to_string()))? {
        fields @ Json::Object(_) => Ok(fields),
        _ => Err(BodyError::Shape("expected a JSON object".into())),
    }
}

/// The string field `name`; `None` when it is missing or null.
fn string_field<'a>(fields: &'a Json, name: &'static str) -> Result<Option<&'a str>, BodyError> {
    match fields.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(text)) => Ok(Some(text)),
        Some(_) => Err(BodyError::Shape(format!("invalid type: field `{name}` must be a string"))),
    }
}

/// The signature field `name` (`0x` hex, read as written); `None` when it is missing or null.
fn signature_field(fields: &Json, name: &'static str) -> Result<Option<ProofSignature>, BodyError> {
    string_field(fields, name)?
        .map(|hex| {
            ProofSignature::from_hex(hex)
                .map_err(|error| BodyError::Field { field: name, problem: error.to_string() })
        })
        .transpose()
}

/// The fields of a JSON object. Only an object: serde would also fill a struct from an array
/// of its fields in order (`[2]` would be a withdraw body), a form no one documents or sends.
fn from_object<T: serde::de::DeserializeOwned>(json: Value) -> Result<T, BodyError> {
    if !json.is_object() {
        return Err(BodyError::Shape("expected a JSON object".into()));
    }
    serde_json::from_value(json).map_err(|error| BodyError::Shape(error.to_string()))
}

/// `POST /withdraw`: the operator's optional minimum a channel must have earned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WithdrawBody {
    /// Channels with less earned and not withdrawn are left alone; zero when not given.
    pub min_amount: U192,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WithdrawFields {
    min_amount: Option<NumberOrText>,
}

impl WithdrawBody {
    /// Parses the body: none (only whitespace), or `{"min_amount": <amount>}`.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let json: Value =
            serde_json::from_slice(body).map_err(|error| BodyError::Shape(error.to_string()))?;
        let fields: WithdrawFields = from_object(json)?;
        let min_amount = match fields.min_amount {
            None => U192::ZERO,
            Some(amount) => amount.amount("min_amount")?,
        };
        Ok(Self { min_amount })
    }

    /// The body with the minimum as a decimal string.
    pub fn to_json(&self) -> String {
        serde_json::json!({ "min_amount": self.min_amount.to_string() }).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNATURE: &str = "0x1111111111111111111111111111111111111111111111111111111111111111\
        22222222222222222222222222222222222222222222222222222222222222221b";

    fn close(json: &str) -> Result<CloseRequestBody, BodyError> {
        CloseRequestBody::from_json(json.as_bytes())
    }

    #[test]
    fn close_request_accepts_strings_and_numbers_and_round_trips() {
        let text = close(&format!(
            r#"{{"balance": " 13000", "deadline": "1700000000", "signature": "{SIGNATURE}"}}"#
        ))
        .unwrap();
        assert_eq!((text.balance, text.deadline), (U192::from(13000), 1_700_000_000));
        let number =
            close(&format!(r#"{{"balance": 13000, "deadline": 1700000000, "signature": "{SIGNATURE}"}}"#))
                .unwrap();
        assert_eq!(number, text);
        assert_eq!(close(&text.to_json()).unwrap(), text);
    }

    #[test]
    fn close_request_refuses_what_the_rules_refuse() {
        let with = |balance: &str, deadline: &str| {
            close(&format!(r#"{{"balance": {balance}, "deadline": {deadline}, "signature": "{SIGNATURE}"}}"#))
        };
        for balance in
            ["-1", "1.5", "1e3", "18446744073709551616", "\"0x10\"", "\"010\"", "\"+1\"", "\"\"", "null"]
        {
            assert!(with(balance, "5").is_err(), "balance {balance} accepted");
        }
        let too_big = "\"6277101735386680763835789423207666416102355444464034512896\"";
        assert!(matches!(with(too_big, "5"), Err(BodyError::Field { field: "balance", .. })));
        assert!(matches!(with("1", "\"soon\""), Err(BodyError::Field { field: "deadline", .. })));
        assert!(matches!(with("1", "-5"), Err(BodyError::Shape(_))));
        let extra = format!(r#"{{"balance": 1, "deadline": 5, "signature": "{SIGNATURE}", "x": 1}}"#);
        assert!(matches!(close(&extra), Err(BodyError::Shape(_))));
        let proof = format!(r#"{{"balance": "1", "balance_signature": "{SIGNATURE}"}}"#);
        assert_eq!(close(&proof), Err(BodyError::BalanceProof));
        assert!(matches!(close("{"), Err(BodyError::NotJson(_))));
        let short = r#"{"balance": 1, "deadline": 5, "signature": "0x00"}"#;
        assert!(matches!(close(short), Err(BodyError::Field { field: "signature", .. })));
    }

    #[test]
    fn answers_round_trip_and_refuse_bad_values() {
        let signature: ProofSignature = SIGNATURE.parse().unwrap();
        let signed = ClosingSignatureBody { close_signature: signature };
        assert_eq!(ClosingSignatureBody::from_json(&signed.to_json().to_string()), Ok(signed));
        assert!(ClosingSignatureBody::from_json(r#"{"close_signature": "0x12"}"#).is_err());
        for last in [
            LastProofBody { balance: U192::from(25), balance_signature: Some(signature) },
            LastProofBody { balance: U192::ZERO, balance_signature: None },
        ] {
            let mut body = last.to_json_fields();
            body.insert("error".into(), "conflict".into());
            assert_eq!(LastProofBody::from_json(&Value::Object(body).to_string()), Ok(last));
        }
        assert!(LastProofBody::from_json(r#"{"balance": "025", "balance_signature": null}"#).is_err());
        assert!(LastProofBody::from_json(r#"{"balance": 25}"#).is_err());
    }

    #[test]
    fn withdraw_body_is_optional() {
        assert_eq!(WithdrawBody::from_json(b" \n"), Ok(WithdrawBody::default()));
        assert_eq!(WithdrawBody::from_json(b"{}"), Ok(WithdrawBody::default()));
        let body = WithdrawBody::from_json(br#"{"min_amount": "70"}"#).unwrap();
        assert_eq!(body.min_amount, U192::from(70));
        assert_eq!(WithdrawBody::from_json(body.to_json().as_bytes()), Ok(body));
        assert!(WithdrawBody::from_json(br#"{"min_amount": "07"}"#).is_err());
        assert!(WithdrawBody::from_json(br#"{"minimum": 7}"#).is_err());
        // Found by the fuzz target: serde fills a struct from an array of its fields too.
        assert!(matches!(WithdrawBody::from_json(b"[2]"), Err(BodyError::Shape(_))));
        assert!(LastProofBody::from_json(r#"["25", null]"#).is_err());
        assert!(close(&format!(r#"["1", 5, "{SIGNATURE}"]"#)).is_err());
    }
}
