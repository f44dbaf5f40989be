//! The library's result types as the JS objects their tsify declarations describe, through
//! their `#[derive(Serialize)]`.
//!
//! A serializer of its own rather than serde-wasm-bindgen's: the results are plain objects of
//! strings, numbers, booleans, `null` and `bigint`s, and this one builds them with less code and
//! no cache of field names (serde-wasm-bindgen keeps a hash map of them). It honours tsify's
//! `missing_as_null` (`None` as `null` rather than absent as `undefined`).

use std::{cell::RefCell, fmt};

use js_sys::{Array, Object, Reflect};
use serde::{
    ser::{self, Impossible},
    Serialize, Serializer,
};
use tsify::Tsify;
use wasm_bindgen::JsValue;

use crate::error::{ErrorKind, Result, UraidenError};

/// `value` as the JS object its tsify declaration describes.
pub fn to_js<T: Tsify + Serialize>(value: &T) -> Result<JsValue> {
    let serializer = JsSerializer { missing_as_null: T::SERIALIZATION_CONFIG.missing_as_null };
    value.serialize(serializer).map_err(unrepresentable)
}

fn unrepresentable(error: Unrepresentable) -> UraidenError {
    UraidenError::new(ErrorKind::InvalidResponse, format!("a result could not be passed to JS: {}", error.0))
}

/// The newtype name under which a field is handed out as the JS value it is.
const JS_VALUE: &str = "uraiden_wasm::JsValue";

thread_local! {
    /// The JS value being handed out by [`js_value`] (wasm runs one thread).
    static HANDED_OUT: RefCell<Option<JsValue>> = const { RefCell::new(None) };
}

/// `#[serde(serialize_with = "crate::to_js::js_value")]`: a field that is a JS value already
/// (amounts are `bigint`s made by [`crate::amount`]).
pub fn js_value<S: Serializer>(value: &JsValue, serializer: S) -> core::result::Result<S::Ok, S::Error> {
    HANDED_OUT.with(|slot| *slot.borrow_mut() = Some(value.clone()));
    serializer.serialize_newtype_struct(JS_VALUE, &())
}

/// What cannot be a JS value here (a `u64` above 2^53, a map): none of the results has one.
#[derive(Debug)]
pub struct Unrepresentable(String);

impl fmt::Display for Unrepresentable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unrepresentable {}

impl ser::Error for Unrepresentable {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self(message.to_string())
    }
}

fn unsupported<T>(what: &str) -> core::result::Result<T, Unrepresentable> {
    Err(Unrepresentable(format!("{what} has no JS form here")))
}

#[derive(Clone, Copy)]
struct JsSerializer {
    missing_as_null: bool,
}

type Outcome = core::result::Result<JsValue, Unrepresentable>;

impl Serializer for JsSerializer {
    type Ok = JsValue;
    type Error = Unrepresentable;
    type SerializeSeq = Elements;
    type SerializeTuple = Impossible<JsValue, Unrepresentable>;
    type SerializeTupleStruct = Impossible<JsValue, Unrepresentable>;
    type SerializeTupleVariant = Impossible<JsValue, Unrepresentable>;
    type SerializeMap = Impossible<JsValue, Unrepresentable>;
    type SerializeStruct = Fields;
    type SerializeStructVariant = Impossible<JsValue, Unrepresentable>;

    fn serialize_bool(self, v: bool) -> Outcome {
        Ok(JsValue::from_bool(v))
    }

    fn serialize_i8(self, v: i8) -> Outcome {
        Ok(JsValue::from_f64(v.into()))
    }

    fn serialize_i16(self, v: i16) -> Outcome {
        Ok(JsValue::from_f64(v.into()))
    }

    fn serialize_i32(self, v: i32) -> Outcome {
        Ok(JsValue::from_f64(v.into()))
    }

    fn serialize_i64(self, _v: i64) -> Outcome {
        unsupported("a signed 64-bit integer")
    }

    fn serialize_u8(self, v: u8) -> Outcome {
        Ok(JsValue::from_f64(v.into()))
    }

    fn serialize_u16(self, v: u16) -> Outcome {
        Ok(JsValue::from_f64(v.into()))
    }

    fn serialize_u32(self, v: u32) -> Outcome {
        Ok(JsValue::from_f64(v.into()))
    }

    /// Block numbers and milliseconds: a `number`, exact below 2^53.
    fn serialize_u64(self, v: u64) -> Outcome {
        if v > 9_007_199_254_740_991 {
            return Err(Unrepresentable(format!("{v} is above 2^53, the largest exact JS number")));
        }
        // Below 2^53, so the conversion is exact.
        Ok(JsValue::from_f64(v as f64))
    }

    fn serialize_f32(self, v: f32) -> Outcome {
        Ok(JsValue::from_f64(v.into()))
    }

    fn serialize_f64(self, v: f64) -> Outcome {
        Ok(JsValue::from_f64(v))
    }

    fn serialize_char(self, v: char) -> Outcome {
        Ok(JsValue::from_str(v.encode_utf8(&mut [0; 4])))
    }

    fn serialize_str(self, v: &str) -> Outcome {
        Ok(JsValue::from_str(v))
    }

    fn serialize_bytes(self, _v: &[u8]) -> Outcome {
        unsupported("a byte string")
    }

    fn serialize_none(self) -> Outcome {
        Ok(if self.missing_as_null { JsValue::NULL } else { JsValue::UNDEFINED })
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Outcome {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Outcome {
        self.serialize_none()
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Outcome {
        self.serialize_none()
    }

    /// `ChannelPhase::Open` as `"open"`.
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Outcome {
        Ok(JsValue::from_str(variant))
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, name: &'static str, value: &T) -> Outcome {
        if name == JS_VALUE {
            return HANDED_OUT
                .with(|slot| slot.borrow_mut().take())
                .ok_or_else(|| Unrepresentable("a JS value handed out twice".to_owned()));
        }
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Outcome {
        unsupported("an enum variant with data")
    }

    fn serialize_seq(self, _len: Option<usize>) -> core::result::Result<Elements, Unrepresentable> {
        Ok(Elements { array: Array::new(), serializer: self })
    }

    fn serialize_tuple(self, _len: usize) -> core::result::Result<Self::SerializeTuple, Unrepresentable> {
        unsupported("a tuple")
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> core::result::Result<Self::SerializeTupleStruct, Unrepresentable> {
        unsupported("a tuple struct")
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> core::result::Result<Self::SerializeTupleVariant, Unrepresentable> {
        unsupported("an enum variant with data")
    }

    fn serialize_map(self, _len: Option<usize>) -> core::result::Result<Self::SerializeMap, Unrepresentable> {
        unsupported("a map")
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> core::result::Result<Fields, Unrepresentable> {
        Ok(Fields { object: Object::new(), serializer: self })
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> core::result::Result<Self::SerializeStructVariant, Unrepresentable> {
        unsupported("an enum variant with data")
    }
}

/// An array being built.
struct Elements {
    array: Array,
    serializer: JsSerializer,
}

impl ser::SerializeSeq for Elements {
    type Ok = JsValue;
    type Error = Unrepresentable;

    fn serialize_element<T: ?Sized + Serialize>(
        &mut self,
        value: &T,
    ) -> core::result::Result<(), Unrepresentable> {
        self.array.push(&value.serialize(self.serializer)?);
        Ok(())
    }

    fn end(self) -> Outcome {
        Ok(self.array.into())
    }
}

/// A plain object being built, field by field.
struct Fields {
    object: Object,
    serializer: JsSerializer,
}

impl ser::SerializeStruct for Fields {
    type Ok = JsValue;
    type Error = Unrepresentable;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> core::result::Result<(), Unrepresentable> {
        let value = value.serialize(self.serializer)?;
        // Setting a field of a fresh plain object cannot fail.
        let _ = Reflect::set(&self.object, &JsValue::from_str(key), &value);
        Ok(())
    }

    fn end(self) -> Outcome {
        Ok(self.object.into())
    }
}
