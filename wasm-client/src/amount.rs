//! Token amounts at the JS boundary: JS `bigint` ↔ `uint192`, also as the field type of every
//! amount in the library's option and result types ([`Amount`]).
//!
//! The conversion goes through the decimal string (`bigint.toString()`), so the checks that
//! matter (negative, 2^192 or more) live in `checked_decimal` and are tested natively.

use uraiden_protocol::{parse_amount, U192};
use wasm_bindgen::{JsCast, JsValue};

use crate::{
    error::{Result, UraidenError},
    from_js::{FieldError, FromJs},
};

/// `bigint.toString()` as a `uint192`, or what is wrong with it.
fn checked_decimal(decimal: &str) -> core::result::Result<U192, String> {
    if decimal.starts_with('-') {
        return Err(format!("must not be negative, got {decimal}n"));
    }
    parse_amount(decimal).map_err(|_| {
        let shown = if decimal.len() > 24 { format!("{}…", &decimal[..24]) } else { decimal.to_owned() };
        format!("must be below 2^192 (uint192), got {shown}n")
    })
}

/// A JS `bigint` as a `uint192`, or what is wrong with it; anything that is not a `bigint` is
/// refused (no silent rounding of `number`s).
fn checked_bigint(value: &JsValue) -> core::result::Result<U192, String> {
    if value.is_undefined() || value.is_null() {
        return Err("required".to_owned());
    }
    let bigint = value
        .dyn_ref::<js_sys::BigInt>()
        .ok_or("expected a bigint token amount in base units, such as 10n")?;
    let decimal: String = bigint.to_string(10).map_err(|_| "not a finite bigint")?.into();
    checked_decimal(&decimal)
}

/// A JS `bigint` as a `uint192`, naming the argument in the error.
pub fn amount_from_js(what: &str, value: &JsValue) -> Result<U192> {
    checked_bigint(value).map_err(|problem| UraidenError::invalid_argument(what, problem))
}

/// A `uint192` (or any non-negative integer printed in decimal) as a JS `bigint`.
pub fn amount_to_js(amount: impl core::fmt::Display) -> JsValue {
    let decimal = amount.to_string();
    // A decimal integer string is always a valid BigInt literal.
    decimal.parse::<js_sys::BigInt>().map_or(JsValue::UNDEFINED, JsValue::from)
}

/// An amount field, a JS `bigint` both ways: `#[tsify(type = "bigint")]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(pub U192);

impl FromJs for Amount {
    fn from_js(value: JsValue) -> core::result::Result<Self, FieldError> {
        checked_bigint(&value).map(Self).map_err(FieldError::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_bigints_become_uint192() {
        assert_eq!(checked_decimal("0").unwrap(), U192::ZERO);
        assert_eq!(checked_decimal("1000").unwrap(), U192::from(1000));
        let max = U192::MAX.to_string();
        assert_eq!(checked_decimal(&max).unwrap(), U192::MAX);
    }

    #[test]
    fn negatives_and_overflow_say_what_is_wrong() {
        assert_eq!(checked_decimal("-5").unwrap_err(), "must not be negative, got -5n");
        let two_to_192 = "6277101735386680763835789423207666416102355444464034512896";
        assert_eq!(
            checked_decimal(two_to_192).unwrap_err(),
            "must be below 2^192 (uint192), got 627710173538668076383578…n"
        );
    }
}
