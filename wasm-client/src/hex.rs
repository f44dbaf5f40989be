//! `0x` values at the JS boundary, as the serde (de)serialisers of the library's types:
//! addresses (typed `` `0x${string}` `` in the `.d.ts`, any hex case accepted, checksummed out)
//! and 65-byte signatures (`string`).

use alloy_primitives::Address;
use serde::{de::Error as _, Deserializer, Serializer};
use uraiden_protocol::{parse_address, ProofSignature};

type Outcome<T, E> = core::result::Result<T, E>;

/// Reads a string, saying what it should be when it is something else.
struct Text(&'static str);

impl serde::de::Visitor<'_> for Text {
    type Value = String;

    fn expecting(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter.write_str(self.0)
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Outcome<String, E> {
        Ok(text.to_owned())
    }

    fn visit_string<E: serde::de::Error>(self, text: String) -> Outcome<String, E> {
        Ok(text)
    }
}

/// Reads an optional string (absent: `undefined` or `null`).
struct OptionalText(&'static str);

impl<'de> serde::de::Visitor<'de> for OptionalText {
    type Value = Option<String>;

    fn expecting(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter.write_str(self.0)
    }

    fn visit_none<E: serde::de::Error>(self) -> Outcome<Option<String>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Outcome<Option<String>, D::Error> {
        deserializer.deserialize_string(Text(self.0)).map(Some)
    }
}

/// `#[serde(with = "crate::hex::address")] #[tsify(type = "`0x${string}`")]`.
pub mod address {
    use super::*;

    pub fn serialize<S: Serializer>(address: &Address, serializer: S) -> Outcome<S::Ok, S::Error> {
        serializer.serialize_str(&address.to_checksum(None))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Outcome<Address, D::Error> {
        let text = deserializer.deserialize_string(Text("a 0x address string"))?;
        parse_address(&text).map_err(D::Error::custom)
    }
}

/// `#[serde(with = "crate::hex::optional_address", default)] #[tsify(type = "`0x${string}`", optional)]`
/// (options only).
pub mod optional_address {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Outcome<Option<Address>, D::Error> {
        match deserializer.deserialize_option(OptionalText("a 0x address string"))? {
            Some(text) => parse_address(&text).map(Some).map_err(D::Error::custom),
            None => Ok(None),
        }
    }
}

/// `#[serde(with = "crate::hex::signature")]`: a 65-byte signature as `0x` hex.
pub mod signature {
    use super::*;

    pub fn serialize<S: Serializer>(signature: &ProofSignature, serializer: S) -> Outcome<S::Ok, S::Error> {
        serializer.serialize_str(&signature.to_hex())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Outcome<ProofSignature, D::Error> {
        let text = deserializer.deserialize_string(Text("a 0x signature string"))?;
        ProofSignature::from_hex(&text).map_err(D::Error::custom)
    }
}

/// `#[serde(with = "crate::hex::optional_signature", default)]`.
pub mod optional_signature {
    use super::*;

    pub fn serialize<S: Serializer>(
        signature: &Option<ProofSignature>,
        serializer: S,
    ) -> Outcome<S::Ok, S::Error> {
        match signature {
            Some(signature) => super::signature::serialize(signature, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Outcome<Option<ProofSignature>, D::Error> {
        match deserializer.deserialize_option(OptionalText("a 0x signature string"))? {
            Some(text) => ProofSignature::from_hex(&text).map(Some).map_err(D::Error::custom),
            None => Ok(None),
        }
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
