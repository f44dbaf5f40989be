//! Small helpers for duck-typed JS objects: a field of one (a provider's answer), a plain object
//! built by hand (a JSON-RPC request). The library's option and result types go through
//! [`crate::from_js`] and [`crate::to_js`].

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

/// `object[key]`, or `None` when the object, or the field, is `undefined` or `null`.
pub fn field(object: &JsValue, key: &str) -> Option<JsValue> {
    if object.is_undefined() || object.is_null() {
        return None;
    }
    Reflect::get(object, &JsValue::from_str(key)).ok().filter(|v| !v.is_undefined() && !v.is_null())
}

/// Builds a plain JS object field by field.
#[derive(Debug, Default)]
pub struct ObjectBuilder(Object);

impl ObjectBuilder {
    /// Sets `key`.
    pub fn set(self, key: &str, value: impl Into<JsValue>) -> Self {
        self.set_value(key, value.into())
    }

    /// Not generic: one copy for every value type (setting a field on a fresh plain object
    /// cannot fail).
    #[inline(never)]
    fn set_value(self, key: &str, value: JsValue) -> Self {
        let _ = Reflect::set(&self.0, &JsValue::from_str(key), &value);
        self
    }

    /// The finished object.
    pub fn build(self) -> JsValue {
        self.0.into()
    }
}
