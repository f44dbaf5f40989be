//! JS values into the library's `#[derive(Deserialize)]` types, with errors that name the field
//! (``chain.rpcUrls: expected a string, got number `1` ``, `deposit: required`), as
//! [`UraidenError`]s.
//!
//! serde-wasm-bindgen's own deserializer says what was wrong but not where, and one message per
//! mistyped option is the point of typed options. This one reads a plain object as the sequence
//! of the struct's fields (other keys are ignored; an absent field, `undefined` or `null`, is
//! `None` for an `Option` and "required" otherwise), keeps the path, and hands fields that stay
//! JS values (amounts, providers, `RequestInit`) over as they are ([`js_value`]). It never
//! formats a float in Rust (that would link core's float printing into the wasm): numbers in
//! messages are printed by JS.

use std::{cell::RefCell, fmt};

use js_sys::{Array, Reflect};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Unexpected, Visitor};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{Result, UraidenError};

/// Reads `value` as a `T`; `what` names it in an error that is about the value as a whole.
pub fn from_js<T: DeserializeOwned>(what: &str, value: JsValue) -> Result<T> {
    T::deserialize(JsDeserializer(value)).map_err(|error| {
        let Failure { path, message } = *error.0;
        UraidenError::invalid_argument(if path.is_empty() { what } else { &path }, message)
    })
}

/// The newtype name under which [`JsDeserializer`] hands a field over as the JS value it is.
const JS_VALUE: &str = "uraiden_wasm::JsValue";

thread_local! {
    /// The JS value being handed over to [`js_value`] (wasm runs one thread).
    static HANDED_OVER: RefCell<Option<JsValue>> = const { RefCell::new(None) };
}

/// Reads a field as the JS value it is ([`JsAny`]; [`crate::amount`] checks bigints this way).
pub fn js_value<'de, D: de::Deserializer<'de>>(deserializer: D) -> Result<JsValue, D::Error> {
    struct Take;

    impl Visitor<'_> for Take {
        type Value = JsValue;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("a JS value")
        }

        fn visit_unit<E: de::Error>(self) -> Result<JsValue, E> {
            HANDED_OVER
                .with(|slot| slot.borrow_mut().take())
                .ok_or_else(|| E::custom("a JS value is read from JS only"))
        }
    }

    deserializer.deserialize_newtype_struct(JS_VALUE, Take)
}

/// A field kept as the JS value it is (a provider, a `RequestInit`): `#[serde(default)]` for
/// `undefined` when absent, and a `#[tsify(type = …)]`.
#[derive(Debug, Clone, Default)]
pub struct JsAny(pub JsValue);

impl<'de> de::Deserialize<'de> for JsAny {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        js_value(deserializer).map(Self)
    }
}

/// A deserialisation failure: where (`chain.rpcUrls`, empty for the value itself) and what.
/// Boxed: every `?` in serde's generated readers moves it, and a pointer moves in one word.
#[derive(Debug)]
pub struct FieldError(Box<Failure>);

#[derive(Debug)]
struct Failure {
    path: String,
    message: String,
}

impl FieldError {
    fn new(message: impl fmt::Display) -> Self {
        Self::at(String::new(), message.to_string())
    }

    #[inline(never)]
    fn at(path: String, message: String) -> Self {
        Self(Box::new(Failure { path, message }))
    }

    /// The same failure, one object further out: `key` is the field it happened in.
    #[inline(never)]
    fn within(mut self, key: &str) -> Self {
        let path = &mut self.0.path;
        *path = if path.is_empty() { key.to_owned() } else { format!("{key}.{path}") };
        self
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

impl de::Error for FieldError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self::new(message)
    }

    fn invalid_type(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self::new(format_args!("expected {expected}, got {}", described(&unexpected)))
    }

    fn invalid_value(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self::new(format_args!("expected {expected}, got {}", described(&unexpected)))
    }

    fn missing_field(field: &'static str) -> Self {
        Self::at(field.to_owned(), "required".to_owned())
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Self::new(format_args!("expected {}, got {variant:?}", one_of(expected)))
    }
}

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

/// serde's `Unexpected` in words, without its `Display` (which prints floats).
fn described(unexpected: &Unexpected<'_>) -> String {
    match unexpected {
        Unexpected::Bool(flag) => format!("boolean `{flag}`"),
        Unexpected::Unsigned(n) => format!("integer `{n}`"),
        Unexpected::Signed(n) => format!("integer `{n}`"),
        Unexpected::Float(_) => "a number".to_owned(),
        Unexpected::Str(text) => format!("string {text:?}"),
        Unexpected::Other(what) => (*what).to_owned(),
        Unexpected::Unit => "null".to_owned(),
        _ => "a value of another type".to_owned(),
    }
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
fn expected(what: &dyn fmt::Display, value: &JsValue) -> FieldError {
    if value.is_undefined() || value.is_null() {
        return FieldError::new("required");
    }
    FieldError::new(format_args!("expected {what}, got {}", unexpected(value)))
}

/// A JS value being read as a Rust one.
struct JsDeserializer(JsValue);

impl<'de> de::Deserializer<'de> for JsDeserializer {
    type Error = FieldError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        let value = self.0;
        if value.is_undefined() || value.is_null() {
            visitor.visit_unit()
        } else if let Some(flag) = value.as_bool() {
            visitor.visit_bool(flag)
        } else if let Some(number) = value.as_f64() {
            visitor.visit_f64(number)
        } else if let Some(text) = value.as_string() {
            visitor.visit_string(text)
        } else {
            Err(expected(&"a string, number or boolean", &value))
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        match self.0.as_bool() {
            Some(flag) => visitor.visit_bool(flag),
            None => Err(expected(&"a boolean", &self.0)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        match self.0.as_string() {
            Some(text) => visitor.visit_string(text),
            None => Err(expected(&Expecting(&visitor), &self.0)),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        self.deserialize_string(visitor)
    }

    /// Every unsigned integer (chain ids, milliseconds, block numbers): a `number` that is a
    /// non-negative safe integer, so nothing is rounded.
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        match self.0.as_f64() {
            // Integral and below 2^53, so the cast is exact.
            Some(n) if n.fract() == 0.0 && (0.0..=9_007_199_254_740_991.0).contains(&n) => {
                visitor.visit_u64(n as u64)
            }
            _ => Err(expected(&"a non-negative integer number", &self.0)),
        }
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        if self.0.is_undefined() || self.0.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, FieldError> {
        if name == JS_VALUE {
            HANDED_OVER.with(|slot| *slot.borrow_mut() = Some(self.0));
            return visitor.visit_unit();
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        if !Array::is_array(&self.0) {
            return Err(expected(&"an array", &self.0));
        }
        visitor.visit_seq(Items { array: Array::from(&self.0), next: 0 })
    }

    /// A plain object, read as the sequence of the struct's fields in order (serde's generated
    /// code for a sequence is about half the size of that for a map: no field names to match, no
    /// duplicates to refuse); an absent field is `undefined`, which only an `Option` accepts.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, FieldError> {
        if !self.0.is_object() || Array::is_array(&self.0) || self.0.is_function() {
            return Err(expected(&"an object", &self.0));
        }
        visitor.visit_seq(Fields { object: self.0, fields: fields.iter() })
    }

    /// Unit variants named by a string (`"approve"`).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, FieldError> {
        match self.0.as_string() {
            Some(text) => visitor.visit_enum(IntoDeserializer::<FieldError>::into_deserializer(text)),
            None => Err(expected(&one_of(variants), &self.0)),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u16 u128 f32 f64 char bytes byte_buf unit unit_struct tuple tuple_struct map identifier
    }
}

/// A plain object's fields, in the struct's order.
struct Fields {
    object: JsValue,
    fields: std::slice::Iter<'static, &'static str>,
}

impl<'de> de::SeqAccess<'de> for Fields {
    type Error = FieldError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, FieldError> {
        let Some((field, value)) = self.next_field() else { return Ok(None) };
        seed.deserialize(JsDeserializer(value)).map(Some).map_err(|error| error.within(field))
    }
}

impl Fields {
    /// The next field's name and value; not generic, so each field type's reader stays small.
    #[inline(never)]
    fn next_field(&mut self) -> Option<(&'static str, JsValue)> {
        let field = *self.fields.next()?;
        Some((field, Reflect::get(&self.object, &JsValue::from_str(field)).unwrap_or(JsValue::UNDEFINED)))
    }
}

/// An array's items, in order.
struct Items {
    array: Array,
    next: u32,
}

impl<'de> de::SeqAccess<'de> for Items {
    type Error = FieldError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, FieldError> {
        if self.next >= self.array.length() {
            return Ok(None);
        }
        let item = self.array.get(self.next);
        self.next += 1;
        seed.deserialize(JsDeserializer(item)).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        usize::try_from(self.array.length() - self.next).ok()
    }
}

/// A visitor's `expecting` as `Display`.
struct Expecting<'a>(&'a dyn de::Expected);

impl fmt::Display for Expecting<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::Error as _;

    #[test]
    fn errors_name_the_field_from_the_outside_in() {
        let error = FieldError::new("expected a string, got number `1`").within("rpcUrls").within("chain");
        assert_eq!(error.to_string(), "chain.rpcUrls: expected a string, got number `1`");
        assert_eq!(FieldError::missing_field("deposit").to_string(), "deposit: required");
        let wrong = FieldError::unknown_variant("ERC223", &["approve", "erc223", "permit"]).within("method");
        assert_eq!(wrong.to_string(), r#"method: expected "approve", "erc223" or "permit", got "ERC223""#);
    }
}
