//! Reading JS option objects and building JS result objects, with errors that name the field.

use alloy_primitives::Address;
use js_sys::{Object, Reflect};
use uraiden_protocol::{parse_address, U192};
use wasm_bindgen::JsValue;

use crate::{
    amount::amount_from_js,
    error::{Result, UraidenError},
};

/// `object[key]`, or `None` when the object, or the field, is `undefined` or `null`.
pub fn field(object: &JsValue, key: &str) -> Option<JsValue> {
    if object.is_undefined() || object.is_null() {
        return None;
    }
    Reflect::get(object, &JsValue::from_str(key)).ok().filter(|v| !v.is_undefined() && !v.is_null())
}

/// An optional `0x` address field.
pub fn address_field(object: &JsValue, key: &str) -> Result<Option<Address>> {
    field(object, key)
        .map(|value| {
            let text = value
                .as_string()
                .ok_or_else(|| UraidenError::invalid_argument(key, "expected a 0x address string"))?;
            parse_address(&text).map_err(|e| UraidenError::invalid_argument(key, e))
        })
        .transpose()
}

/// An optional string field.
pub fn string_field(object: &JsValue, key: &str) -> Result<Option<String>> {
    field(object, key)
        .map(|value| {
            value.as_string().ok_or_else(|| UraidenError::invalid_argument(key, "expected a string"))
        })
        .transpose()
}

/// An optional `bigint` amount field.
pub fn amount_field(object: &JsValue, key: &str) -> Result<Option<U192>> {
    field(object, key).map(|value| amount_from_js(key, &value)).transpose()
}

/// An optional boolean field.
pub fn bool_field(object: &JsValue, key: &str) -> Result<Option<bool>> {
    field(object, key)
        .map(|value| value.as_bool().ok_or_else(|| UraidenError::invalid_argument(key, "expected a boolean")))
        .transpose()
}

/// An optional non-negative integer field given as a `number` (chain ids, milliseconds).
pub fn integer_field(object: &JsValue, key: &str) -> Result<Option<u64>> {
    field(object, key)
        .map(|value| {
            value
                .as_f64()
                .filter(|n| n.fract() == 0.0 && *n >= 0.0 && *n <= 9_007_199_254_740_991.0)
                // Integral and below 2^53, so the cast is exact.
                .map(|n| n as u64)
                .ok_or_else(|| UraidenError::invalid_argument(key, "expected a non-negative integer number"))
        })
        .transpose()
}

/// A required field.
pub fn required<T>(value: Option<T>, key: &str) -> Result<T> {
    value.ok_or_else(|| UraidenError::invalid_argument(key, "required"))
}

/// Builds a plain JS object field by field.
#[derive(Debug, Default)]
pub struct ObjectBuilder(Object);

impl ObjectBuilder {
    /// Sets `key` (setting a field on a fresh plain object cannot fail).
    pub fn set(self, key: &str, value: impl Into<JsValue>) -> Self {
        let _ = Reflect::set(&self.0, &JsValue::from_str(key), &value.into());
        self
    }

    /// The finished object.
    pub fn build(self) -> JsValue {
        self.0.into()
    }
}
