//! The library's result types as the JS objects their tsify declarations describe: each writes
//! itself ([`ToJs`]) field by field under its declared names (a test holds the names written to
//! the declarations, as for the option readers in [`crate::from_js`]).
//!
//! Written by hand rather than by serde's derived `Serialize` through a serializer: the results
//! are plain objects of strings, numbers, booleans, `null` and `bigint`s, and the generic
//! serializer cost more wasm than all of these writers.

use alloy_primitives::{B256, U256};
use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

use crate::{
    amount::{amount_to_js, Amount},
    hex::{HexAddress, HexSignature},
};

/// A value as the JS value its declaration names.
pub trait ToJs {
    fn to_js(&self) -> JsValue;
}

/// A plain JS object being written, field by field.
#[derive(Debug)]
pub struct Fields(Object);

impl Fields {
    pub fn new() -> Self {
        Self(Object::new())
    }

    /// Sets `key` to `value` (a field's [`ToJs::to_js`]). Not generic: one copy for every
    /// field of every result.
    #[inline(never)]
    pub fn field(self, key: &str, value: JsValue) -> Self {
        // Setting a field of a fresh plain object cannot fail.
        let _ = Reflect::set(&self.0, &JsValue::from_str(key), &value);
        self
    }

    /// Sets `key` only when there is a value (an optional field, absent rather than `null`).
    pub fn optional<T: ToJs>(self, key: &str, value: &Option<T>) -> Self {
        match value {
            Some(value) => self.field(key, value.to_js()),
            None => self,
        }
    }

    pub fn build(self) -> JsValue {
        self.0.into()
    }
}

impl ToJs for bool {
    fn to_js(&self) -> JsValue {
        JsValue::from_bool(*self)
    }
}

impl ToJs for u8 {
    fn to_js(&self) -> JsValue {
        JsValue::from_f64(f64::from(*self))
    }
}

impl ToJs for u32 {
    fn to_js(&self) -> JsValue {
        JsValue::from_f64(f64::from(*self))
    }
}

/// Block numbers and Unix milliseconds: far below 2^53, so the number is exact.
impl ToJs for u64 {
    fn to_js(&self) -> JsValue {
        JsValue::from_f64(*self as f64)
    }
}

impl ToJs for String {
    fn to_js(&self) -> JsValue {
        JsValue::from_str(self)
    }
}

impl ToJs for &str {
    fn to_js(&self) -> JsValue {
        JsValue::from_str(self)
    }
}

/// A transaction hash: `0x` and 64 hex digits.
impl ToJs for B256 {
    fn to_js(&self) -> JsValue {
        JsValue::from_str(&format!("{self:#x}"))
    }
}

/// A token balance (`uint256`): a `bigint`.
impl ToJs for U256 {
    fn to_js(&self) -> JsValue {
        amount_to_js(self)
    }
}

impl ToJs for Amount {
    fn to_js(&self) -> JsValue {
        amount_to_js(self.0)
    }
}

/// Checksummed.
impl ToJs for HexAddress {
    fn to_js(&self) -> JsValue {
        JsValue::from_str(&self.0.to_checksum(None))
    }
}

impl ToJs for HexSignature {
    fn to_js(&self) -> JsValue {
        JsValue::from_str(&self.0.to_hex())
    }
}

/// `null` for `None` (tsify's `missing_as_null`); see [`Fields::optional`] for an absent field.
impl<T: ToJs> ToJs for Option<T> {
    fn to_js(&self) -> JsValue {
        self.as_ref().map_or(JsValue::NULL, ToJs::to_js)
    }
}

#[cfg(test)]
mod tests {
    use tsify::Tsify;

    use crate::{from_js::declared_fields::declared, results::*};

    /// The keys each `impl ToJs for T` and `impl FromJs for T` of `source` writes or reads
    /// (`.field("name"` and `.optional("name"`), by `T`.
    fn keys_by_impl(source: &str) -> Vec<(String, std::collections::BTreeSet<String>)> {
        let code = source.split("#[cfg(test)]").next().unwrap_or_default();
        code.split("\nimpl ")
            .skip(1)
            .filter_map(|block| {
                let header = block.lines().next()?;
                let name = header.strip_prefix("ToJs for ").or_else(|| header.strip_prefix("FromJs for "))?;
                let name = name.trim_end_matches(" {").to_owned();
                let keys = block
                    .split(".field(\"")
                    .chain(block.split(".optional(\"").skip(1))
                    .skip(1)
                    .filter_map(|rest| Some(rest.split('"').next()?.to_owned()))
                    .collect();
                Some((name, keys))
            })
            .collect()
    }

    #[test]
    fn results_are_written_under_their_declared_names() {
        let decls = [
            ("Channel", Channel::DECL),
            ("SignedBalanceProof", SignedBalanceProof::DECL),
            ("OnChainChannelInfo", OnChainChannelInfo::DECL),
            ("TokenInfo", TokenInfo::DECL),
            ("TransactionResult", TransactionResult::DECL),
            ("CloseResult", CloseResult::DECL),
            ("ReceiverStatus", ReceiverStatus::DECL),
            ("ClosingSignature", ClosingSignature::DECL),
            ("PendingChannel", PendingChannel::DECL),
        ];
        let impls = keys_by_impl(include_str!("results.rs"));
        // Every object result has a writer (the phase is a string).
        for (name, _) in decls {
            assert!(impls.iter().any(|(written, _)| written == name), "no ToJs for {name}");
        }
        for (name, keys) in impls.into_iter().filter(|(name, _)| name != "ChannelPhase") {
            let (_, decl) = decls.iter().find(|(declared, _)| *declared == name).expect("a declared result");
            assert_eq!(keys, declared(&[decl]), "{name}");
        }
    }
}
