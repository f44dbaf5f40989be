//! Token amounts at the JS boundary: JS `bigint` ↔ `uint192`.
//!
//! The conversion goes through the decimal string (`bigint.toString()`), so the checks that
//! matter (negative, 2^192 or more) live in [`amount_from_decimal`] and are tested natively.

use uraiden_protocol::{parse_amount, U192};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{Result, UraidenError};

/// Parses `bigint.toString()` as a `uint192`, naming the argument in the error.
pub fn amount_from_decimal(what: &str, decimal: &str) -> Result<U192> {
    if decimal.starts_with('-') {
        return Err(UraidenError::invalid_argument(what, format!("must not be negative, got {decimal}n")));
    }
    parse_amount(decimal).map_err(|_| {
        let shown = if decimal.len() > 24 { format!("{}…", &decimal[..24]) } else { decimal.to_owned() };
        UraidenError::invalid_argument(what, format!("must be below 2^192 (uint192), got {shown}n"))
    })
}

/// A JS `bigint` as a `uint192`; anything that is not a `bigint` is refused (no silent
/// rounding of `number`s).
pub fn amount_from_js(what: &str, value: &JsValue) -> Result<U192> {
    let bigint = value.dyn_ref::<js_sys::BigInt>().ok_or_else(|| {
        UraidenError::invalid_argument(what, "expected a bigint token amount in base units, such as 10n")
    })?;
    let decimal: String =
        bigint.to_string(10).map_err(|_| UraidenError::invalid_argument(what, "not a finite bigint"))?.into();
    amount_from_decimal(what, &decimal)
}

/// A `uint192` (or any non-negative integer printed in decimal) as a JS `bigint`.
pub fn amount_to_js(amount: impl core::fmt::Display) -> JsValue {
    let decimal = amount.to_string();
    // A decimal integer string is always a valid BigInt literal.
    decimal.parse::<js_sys::BigInt>().map_or(JsValue::UNDEFINED, JsValue::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn decimal_bigints_become_uint192() {
        assert_eq!(amount_from_decimal("deposit", "0").unwrap(), U192::ZERO);
        assert_eq!(amount_from_decimal("deposit", "1000").unwrap(), U192::from(1000));
        let max = U192::MAX.to_string();
        assert_eq!(amount_from_decimal("deposit", &max).unwrap(), U192::MAX);
    }

    #[test]
    fn negatives_and_overflow_are_named() {
        let err = amount_from_decimal("deposit", "-5").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert_eq!(err.message(), "deposit: must not be negative, got -5n");
        let two_to_192 = "6277101735386680763835789423207666416102355444464034512896";
        let err = amount_from_decimal("maxPrice", two_to_192).unwrap_err();
        assert_eq!(err.message(), "maxPrice: must be below 2^192 (uint192), got 627710173538668076383578…n");
    }
}
