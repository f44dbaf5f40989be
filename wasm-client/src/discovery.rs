//! EIP-6963 wallet discovery: `discoverWallets()` dispatches `eip6963:requestProvider` and
//! collects the `eip6963:announceProvider` answers for a short while, so a page can offer every
//! installed wallet instead of whichever one won the race for `window.ethereum`.

use std::{cell::RefCell, rc::Rc};

use js_sys::{Array, Promise};
use tsify::Tsify;
use wasm_bindgen::{prelude::*, JsCast};
use web_sys::{CustomEvent, Event, EventTarget};

use crate::{
    client::promise,
    error::{ErrorKind, Result, UraidenError},
    from_js::{from_js, FieldError, FromJs, JsAny, Object},
    js::field,
    provider::sleep,
};

const ANNOUNCE: &str = "eip6963:announceProvider";
const REQUEST: &str = "eip6963:requestProvider";
/// Wallets answer the request synchronously or within a few milliseconds.
const DEFAULT_TIMEOUT_MS: u32 = 250;

/// EIP-6963 `info`: who the wallet is.
#[derive(Debug, Tsify)]
// Read to check an announcement has the declared shape; the page shows the fields, not this crate.
#[allow(dead_code)]
pub struct Eip6963ProviderInfo {
    /// Unique per wallet instance and page load (UUIDv4).
    uuid: String,
    /// Human-readable name, e.g. "MetaMask".
    name: String,
    /// A data: URI of the wallet's icon (render it as an <img src>, never as HTML).
    icon: String,
    /// Reverse-DNS id, e.g. "io.metamask".
    rdns: String,
}

/// An announced wallet: pass it (or its `provider`) as `MicroRaiden.create({ provider })`.
#[derive(Debug, Tsify)]
pub struct Eip6963ProviderDetail {
    info: Eip6963ProviderInfo,
    #[tsify(type = "Eip1193Provider")]
    provider: JsAny,
}

impl FromJs for Eip6963ProviderInfo {
    fn from_js(value: JsValue) -> Result<Self, FieldError> {
        let object = Object::new(value)?;
        Ok(Self {
            uuid: object.field("uuid")?,
            name: object.field("name")?,
            icon: object.field("icon")?,
            rdns: object.field("rdns")?,
        })
    }
}

impl FromJs for Eip6963ProviderDetail {
    fn from_js(value: JsValue) -> Result<Self, FieldError> {
        let object = Object::new(value)?;
        Ok(Self { info: object.field("info")?, provider: object.field("provider")? })
    }
}

/// The items whose key was not seen before, in order (a wallet may announce itself twice).
/// The keys seen are a list: a page has a handful of wallets, and a hash set would link a
/// hasher and its random keys into the wasm for them.
pub fn first_per_key<T>(items: impl IntoIterator<Item = (String, T)>) -> Vec<T> {
    let mut seen = Vec::new();
    let mut first = Vec::new();
    for (key, item) in items {
        if !seen.contains(&key) {
            seen.push(key);
            first.push(item);
        }
    }
    first
}

/// The announcement's `detail` (as announced: the page may compare providers) with its
/// `info.uuid`, when it is an [`Eip6963ProviderDetail`] whose provider has a `request` method.
fn well_formed(detail: JsValue) -> Option<(String, JsValue)> {
    let parsed: Eip6963ProviderDetail = from_js("detail", detail.clone()).ok()?;
    let request = field(&parsed.provider.0, "request")?;
    request.is_function().then_some((parsed.info.uuid, detail))
}

async fn discover(timeout_ms: u32) -> Result<JsValue> {
    let Ok(target) = js_sys::global().dyn_into::<EventTarget>() else {
        // No event target (not a window or worker): nothing can announce itself.
        return Ok(Array::new().into());
    };
    let announced = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&announced);
    let listener = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
        if let Some(detail) = event.dyn_ref::<CustomEvent>().map(CustomEvent::detail) {
            sink.borrow_mut().push(detail);
        }
    });
    let failed =
        |what: &str| UraidenError::new(ErrorKind::NoProvider, format!("EIP-6963 discovery: {what} failed"));
    target
        .add_event_listener_with_callback(ANNOUNCE, listener.as_ref().unchecked_ref())
        .map_err(|_| failed("addEventListener"))?;
    let request = Event::new(REQUEST).map_err(|_| failed("new Event"))?;
    let dispatched = target.dispatch_event(&request);
    sleep(timeout_ms).await;
    let _ = target.remove_event_listener_with_callback(ANNOUNCE, listener.as_ref().unchecked_ref());
    dispatched.map_err(|_| failed("dispatchEvent"))?;
    let details = announced.take().into_iter().filter_map(well_formed);
    Ok(first_per_key(details).into_iter().collect::<Array>().into())
}

/// Asks the page's wallets to announce themselves (EIP-6963) and resolves, after `timeoutMs`
/// (default 250), to one entry per wallet, in the order they answered; `[]` when none did.
#[wasm_bindgen(js_name = discoverWallets, unchecked_return_type = "Promise<Eip6963ProviderDetail[]>")]
pub fn discover_wallets(#[wasm_bindgen(js_name = timeoutMs)] timeout_ms: Option<u32>) -> Promise {
    promise(discover(timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wallet_announcing_twice_is_listed_once_in_first_order() {
        let items = [("b", 1), ("a", 2), ("b", 3), ("c", 4), ("a", 5)].map(|(k, v)| (k.to_owned(), v));
        assert_eq!(first_per_key(items), vec![1, 2, 4]);
        assert!(first_per_key(Vec::<(String, u8)>::new()).is_empty());
    }
}
