//! `0x` values at the JS boundary: addresses (typed `` `0x${string}` `` in the `.d.ts`, any hex
//! case accepted, checksummed out) and 65-byte signatures (`string`), as field types of the
//! library's option and result types (with `#[tsify(type = …)]` on the field). Newtypes rather
//! than `#[serde(with)]`: serde generates a wrapper per `with` field, and so a reader per field;
//! a newtype has one for all its fields. They are read with [`FromJs`].

use alloy_primitives::Address;
use uraiden_protocol::{parse_address, ProofSignature};
use wasm_bindgen::JsValue;

use crate::from_js::{string, FieldError, FromJs};

type Outcome<T, E> = core::result::Result<T, E>;

/// An address field: `#[tsify(type = "`0x${string}`")]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HexAddress(pub Address);

impl FromJs for HexAddress {
    fn from_js(value: JsValue) -> Outcome<Self, FieldError> {
        let text = string("a 0x address string", value)?;
        parse_address(&text).map(Self).map_err(|e| FieldError::new(e.to_string()))
    }
}

/// A signature field: `#[tsify(type = "string")]`, 65 bytes as `0x` hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HexSignature(pub ProofSignature);

impl FromJs for HexSignature {
    fn from_js(value: JsValue) -> Outcome<Self, FieldError> {
        let text = string("a 0x signature string", value)?;
        ProofSignature::from_hex(&text).map(Self).map_err(|e| FieldError::new(e.to_string()))
    }
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// An address parameter: typed `` `0x${string}` `` in the `.d.ts` (optional parameters keep
    /// their `?`, which `unchecked_param_type` would drop).
    #[wasm_bindgen(typescript_type = "`0x${string}`")]
    pub type JsAddress;
}

/// An optional address parameter, naming it in the error.
pub fn optional_address_param(
    what: &str,
    address: Option<JsAddress>,
) -> crate::error::Result<Option<Address>> {
    address
        .map(|address| {
            let text = wasm_bindgen::JsValue::from(address).as_string().ok_or_else(|| {
                crate::error::UraidenError::invalid_argument(what, "expected a 0x address string")
            })?;
            parse_address(&text).map_err(|e| crate::error::UraidenError::invalid_argument(what, e))
        })
        .transpose()
}
