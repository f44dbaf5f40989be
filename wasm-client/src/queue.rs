//! One payment at a time: a queue of JS promises, each call waiting for the one before.
//!
//! Two payments computed from the same channel state would sign the same balance and the
//! receiver would take only one; so the next balance is decided only once the previous
//! payment's answer is booked. The turn is released when its [`Turn`] is dropped, whether the
//! call succeeded, failed or returned early, so a failing call never wedges the queue.
//!
//! Other tabs of the origin share the stored channel and its session key: a payment also
//! takes the channel's Web Lock ([`cross_tab_turn`]), then continues from the stored record.

use std::cell::RefCell;

use js_sys::{Array, Function, Promise, Reflect};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortSignal;

/// A FIFO of callers: [`PaymentQueue::turn`] resolves when every earlier turn was released.
#[derive(Debug)]
pub struct PaymentQueue {
    /// Resolves when the last turn handed out is released.
    tail: RefCell<Promise>,
}

/// The right to act until dropped.
#[derive(Debug)]
pub struct Turn {
    release: Option<Function>,
}

impl Default for PaymentQueue {
    fn default() -> Self {
        Self { tail: RefCell::new(Promise::resolve(&JsValue::UNDEFINED)) }
    }
}

impl PaymentQueue {
    /// Waits until the turns taken before this call are released; `None` when `signal` (the
    /// caller's `init.signal`) aborts first. An abandoned place is handed on only once the turn
    /// before it is released, so the calls behind it still wait their turn.
    pub async fn turn(&self, signal: Option<&AbortSignal>) -> Option<Turn> {
        let mut release = None;
        // The executor runs synchronously, so `release` is set when `new` returns.
        let mine = Promise::new(&mut |resolve, _reject| release = Some(resolve));
        let previous = self.tail.replace(mine);
        let waited = match signal.filter(|signal| !signal.aborted()) {
            Some(signal) => Promise::race(&Array::of2(&previous, &aborted(signal))),
            None => previous.clone(),
        };
        // A tail only ever resolves (see `Drop`); a rejection would still mean "released".
        let _ = JsFuture::from(waited).await;
        if signal.is_some_and(AbortSignal::aborted) {
            // `previous.then(release)`, with the resolver itself as the callback (no closure).
            let then = Reflect::get(&previous, &"then".into())
                .ok()
                .and_then(|then| then.dyn_into::<Function>().ok());
            if let (Some(then), Some(release)) = (then, &release) {
                let _ = then.call1(&previous, release);
            }
            return None;
        }
        Some(Turn { release })
    }
}

/// Resolves when `signal` aborts (its resolver is the listener: no Rust closure).
fn aborted(signal: &AbortSignal) -> Promise {
    Promise::new(&mut |resolve, _reject| {
        let _ = signal.add_event_listener_with_callback("abort", &resolve);
    })
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            // Resolving a promise's own resolver cannot throw.
            let _ = release.call0(&JsValue::UNDEFINED);
        }
    }
}

/// Waits for the Web Lock `name` (`navigator.locks`), which every tab and worker of the origin
/// shares: two tabs paying from one channel with the same key would otherwise sign the same
/// balance. The lock is held until the returned [`Turn`] is dropped; `None` when `signal`
/// aborts before it is granted. Where Web Locks are absent (or refuse the request) the turn is
/// empty: the in-tab [`PaymentQueue`] still holds.
pub async fn cross_tab_turn(name: &str, signal: Option<&AbortSignal>) -> Option<Turn> {
    let Some((granted, request, release)) = request_lock(name, signal) else {
        return Some(Turn { release: None });
    };
    // The lock's callback resolves `granted`; the request rejects when `signal` aborts first
    // (and resolves only once the lock is released).
    match JsFuture::from(Promise::race(&Array::of2(&granted, &request))).await {
        Ok(_) => Some(Turn { release: Some(release) }),
        Err(_) => None,
    }
}

/// Asks `navigator.locks` for `name`: (resolves once it is held, the request itself, releases
/// it when called).
fn request_lock(name: &str, signal: Option<&AbortSignal>) -> Option<(Promise, Promise, Function)> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let locks = Reflect::get(&navigator, &"locks".into()).ok().filter(JsValue::is_object)?;
    let request: Function = Reflect::get(&locks, &"request".into()).ok()?.dyn_into().ok()?;
    let mut release = None;
    // Held until `release` resolves it: the lock manager keeps the lock while it is pending.
    let held = Promise::new(&mut |resolve, _reject| release = Some(resolve));
    let mut grant = None;
    let granted = Promise::new(&mut |resolve, _reject| grant = Some(resolve));
    let (release, grant) = (release?, grant?);
    let callback = Closure::once_into_js(move |_lock: JsValue| -> JsValue {
        let _ = grant.call0(&JsValue::UNDEFINED);
        held.into()
    });
    let options = js_sys::Object::new();
    if let Some(signal) = signal {
        Reflect::set(&options, &"signal".into(), signal).ok()?;
    }
    let requested = request.call3(&locks, &name.into(), &options, &callback).ok()?;
    Some((granted, requested.dyn_into().ok()?, release))
}
