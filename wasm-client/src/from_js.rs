//! JS values into the library's option types, with errors that name the field
//! (``chain.rpcUrls: expected a string, got number `1` ``, `deposit: required`), as
//! [`UraidenError`]s.
//!
//! Each option type reads itself ([`FromJs`]) field by field through an [`Object`]; a field's
//! type reads the JS value (other keys are ignored; an absent field, `undefined` or `null`, is
//! `None` for an `Option` and "required" otherwise), and the path is added on the way out.
//! tsify still writes the `.d.ts` from the same structs; serde's generated readers are not used:
//! inlined into each export they cost about 5 KiB of brotli'd wasm, these readers a fraction.
//! It never formats a float in Rust (that would link core's float printing into the wasm):
//! numbers in messages are printed by JS.

use std::fmt;

use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{Result, UraidenError};

/// Reads `value` as a `T`; `what` names it in an error that is about the value as a whole.
pub fn from_js<T: FromJs>(what: &str, value: JsValue) -> Result<T> {
    T::from_js(value).map_err(|error| error.named(what))
}

/// A type read from a JS value, naming what was wrong (and, for an object, in which field).
pub trait FromJs: Sized {
    fn from_js(value: JsValue) -> Result<Self, FieldError>;
}

/// A field kept as the JS value it is (a provider, a `RequestInit`; `undefined` when absent),
/// with a `#[tsify(type = …)]`.
#[derive(Debug, Clone, Default)]
pub struct JsAny(pub JsValue);

impl FromJs for JsAny {
    fn from_js(value: JsValue) -> Result<Self, FieldError> {
        Ok(Self(value))
    }
}

/// A reading failure: where (`chain.rpcUrls`, empty for the value itself) and what.
/// Boxed: every `?` in the readers moves it, and a pointer moves in one word.
#[derive(Debug)]
pub struct FieldError(Box<Failure>);

#[derive(Debug)]
struct Failure {
    path: String,
    message: String,
}

impl FieldError {
    #[inline(never)]
    pub fn new(message: String) -> Self {
        Self(Box::new(Failure { path: String::new(), message }))
    }

    /// The same failure, one object further out: `key` is the field it happened in.
    #[inline(never)]
    fn within(mut self, key: &str) -> Self {
        let path = &mut self.0.path;
        *path = if path.is_empty() { key.to_owned() } else { format!("{key}.{path}") };
        self
    }

    /// As an `InvalidArgument` error about `what` (the argument) or the field it names.
    #[inline(never)]
    fn named(self, what: &str) -> UraidenError {
        let Failure { path, message } = *self.0;
        UraidenError::invalid_argument(if path.is_empty() { what } else { &path }, message)
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.path.as_str() {
            "" => f.write_str(&self.0.message),
            path => write!(f, "{path}: {}", self.0.message),
        }
    }
}

impl std::error::Error for FieldError {}

/// `"a", "b" or "c"`.
pub fn one_of(names: &[&str]) -> String {
    let mut text = String::new();
    for (i, name) in names.iter().enumerate() {
        text.push_str(match i {
            0 => "\"",
            _ if i + 1 == names.len() => "\" or \"",
            _ => "\", \"",
        });
        text.push_str(name);
    }
    text.push('"');
    text
}

/// One of `names`, as the string `text`; the error lists them.
pub fn name_in(text: &str, names: &[&'static str]) -> Result<usize, FieldError> {
    names
        .iter()
        .position(|name| *name == text)
        .ok_or_else(|| FieldError::new(format!("expected {}, got {text:?}", one_of(names))))
}

/// What a JS value is, for "expected …, got …".
fn unexpected(value: &JsValue) -> String {
    if value.is_undefined() {
        "undefined".to_owned()
    } else if value.is_null() {
        "null".to_owned()
    } else if let Some(flag) = value.as_bool() {
        format!("boolean `{flag}`")
    } else if value.as_f64().is_some() {
        // JS prints the number (`1.5`, `NaN`): Rust's float printing stays out of the wasm.
        let text = value
            .unchecked_ref::<js_sys::Number>()
            .to_string_with_radix(10)
            .map(String::from)
            .unwrap_or_default();
        format!("number `{text}`")
    } else if let Some(text) = value.as_string() {
        format!("string {text:?}")
    } else if value.is_bigint() {
        "a bigint".to_owned()
    } else if Array::is_array(value) {
        "an array".to_owned()
    } else if value.is_function() {
        "a function".to_owned()
    } else {
        "an object".to_owned()
    }
}

/// `value` is not `what` it should be; an absent one (`undefined`, `null`) is "required".
#[inline(never)]
pub fn expected(what: &str, value: &JsValue) -> FieldError {
    if is_absent(value) {
        return FieldError::new("required".to_owned());
    }
    FieldError::new(format!("expected {what}, got {}", unexpected(value)))
}

fn is_absent(value: &JsValue) -> bool {
    value.is_undefined() || value.is_null()
}

/// A plain object being read field by field.
pub struct Object(JsValue);

impl Object {
    /// `value` as an object, or "expected an object".
    #[inline(never)]
    pub fn new(value: JsValue) -> Result<Self, FieldError> {
        if !value.is_object() || Array::is_array(&value) || value.is_function() {
            return Err(expected("an object", &value));
        }
        Ok(Self(value))
    }

    /// The field `key` (`undefined` when absent).
    #[inline(never)]
    fn get(&self, key: &str) -> JsValue {
        Reflect::get(&self.0, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    }

    /// The field `key` as a `T`; errors name it.
    pub fn field<T: FromJs>(&self, key: &str) -> Result<T, FieldError> {
        T::from_js(self.get(key)).map_err(|error| error.within(key))
    }
}

/// Absent (`undefined`, `null`) is `None`.
impl<T: FromJs> FromJs for Option<T> {
    fn from_js(value: JsValue) -> Result<Self, FieldError> {
        if is_absent(&value) {
            return Ok(None);
        }
        T::from_js(value).map(Some)
    }
}

/// An array of `T`s (an item's error says what was wrong with it).
impl<T: FromJs> FromJs for Vec<T> {
    fn from_js(value: JsValue) -> Result<Self, FieldError> {
        if !Array::is_array(&value) {
            return Err(expected("an array", &value));
        }
        Array::from(&value).iter().map(T::from_js).collect()
    }
}

/// The string in `value`, or "expected {what}".
#[inline(never)]
pub fn string(what: &str, value: JsValue) -> Result<String, FieldError> {
    value.as_string().ok_or_else(|| expected(what, &value))
}

impl FromJs for String {
    fn from_js(value: JsValue) -> Result<Self, FieldError> {
        string("a string", value)
    }
}

impl FromJs for bool {
    fn from_js(value: JsValue) -> Result<Self, FieldError> {
        value.as_bool().ok_or_else(|| expected("a boolean", &value))
    }
}

/// Every unsigned integer (chain ids, milliseconds, block numbers): a `number` that is a
/// non-negative safe integer, so nothing is rounded; `max` and `name` for narrower types.
#[inline(never)]
fn integer(value: JsValue, max: u64, name: &str) -> Result<u64, FieldError> {
    match value.as_f64() {
        // Integral and below 2^53, so the cast is exact.
        Some(n) if n.fract() == 0.0 && (0.0..=9_007_199_254_740_991.0).contains(&n) => {
            let n = n as u64;
            if n > max {
                return Err(FieldError::new(format!("expected {name}, got integer `{n}`")));
            }
            Ok(n)
        }
        _ => Err(expected("a non-negative integer number", &value)),
    }
}

impl FromJs for u64 {
    fn from_js(value: JsValue) -> Result<Self, FieldError> {
        integer(value, u64::MAX, "u64")
    }
}

impl FromJs for u32 {
    fn from_js(value: JsValue) -> Result<Self, FieldError> {
        integer(value, u32::MAX.into(), "u32").map(|n| n as u32)
    }
}

impl FromJs for u8 {
    fn from_js(value: JsValue) -> Result<Self, FieldError> {
        integer(value, u8::MAX.into(), "u8").map(|n| n as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_field_from_the_outside_in() {
        let error =
            FieldError::new("expected a string, got number `1`".to_owned()).within("rpcUrls").within("chain");
        assert_eq!(error.to_string(), "chain.rpcUrls: expected a string, got number `1`");
        let wrong = name_in("ERC223", &["approve", "erc223", "permit"]).unwrap_err().within("method");
        assert_eq!(wrong.to_string(), r#"method: expected "approve", "erc223" or "permit", got "ERC223""#);
        assert_eq!(name_in("erc223", &["approve", "erc223", "permit"]).unwrap(), 1);
    }
}

/// Every field a reader reads is one its type's `.d.ts` declares, under the same name, and the
/// other way round (a misspelt key would leave an option silently unread).
#[cfg(test)]
pub(crate) mod declared_fields {
    use std::collections::BTreeSet;

    use tsify::Tsify;

    /// The field names in tsify declarations (`name?: type;` lines).
    pub(crate) fn declared(decls: &[&str]) -> BTreeSet<String> {
        decls
            .iter()
            .flat_map(|decl| decl.lines())
            .filter_map(|line| {
                let line = line.trim();
                let name = line.split([':', '?']).next()?;
                let is_field = !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && line.ends_with(';');
                is_field.then(|| name.to_owned())
            })
            .collect()
    }

    /// The keys `source` reads (`.field("name")`), outside its tests.
    fn keys_read(source: &str) -> BTreeSet<String> {
        let code = source.split("#[cfg(test)]").next().unwrap_or_default();
        code.split(".field(\"").skip(1).filter_map(|rest| Some(rest.split('"').next()?.to_owned())).collect()
    }

    #[test]
    fn readers_read_the_declared_fields() {
        use crate::{
            add_chain::{ChainParameters, NativeCurrency},
            discovery::{Eip6963ProviderDetail, Eip6963ProviderInfo},
            options::{
                CloseChannelOptions, CreateOptions, ForgetOptions, OpenChannelOptions, PayingFetchOptions,
                TopUpOptions,
            },
        };
        let cases = [
            (
                include_str!("options.rs"),
                vec![
                    CreateOptions::DECL,
                    OpenChannelOptions::DECL,
                    TopUpOptions::DECL,
                    CloseChannelOptions::DECL,
                    PayingFetchOptions::DECL,
                    ForgetOptions::DECL,
                ],
            ),
            (include_str!("add_chain.rs"), vec![ChainParameters::DECL, NativeCurrency::DECL]),
            (include_str!("discovery.rs"), vec![Eip6963ProviderInfo::DECL, Eip6963ProviderDetail::DECL]),
        ];
        for (source, decls) in cases {
            assert_eq!(keys_read(source), declared(&decls), "{decls:#?}");
        }
    }
}
