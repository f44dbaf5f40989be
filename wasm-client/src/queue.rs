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

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

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
    /// Waits until the turns taken before this call are released.
    pub async fn turn(&self) -> Turn {
        let mut release = None;
        // The executor runs synchronously, so `release` is set when `new` returns.
        let mine = Promise::new(&mut |resolve, _reject| release = Some(resolve));
        let previous = self.tail.replace(mine);
        // A tail only ever resolves (see `Drop`); a rejection would still mean "released".
        let _ = JsFuture::from(previous).await;
        Turn { release }
    }
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
/// balance. The lock is held until the returned [`Turn`] is dropped. Where Web Locks are
/// absent (or refuse the request) the turn is empty: the in-tab [`PaymentQueue`] still holds.
pub async fn cross_tab_turn(name: &str) -> Turn {
    let Some((granted, release)) = request_lock(name) else { return Turn { release: None } };
    // The lock's callback resolves `granted`; the request rejects only if the callback throws.
    let _ = JsFuture::from(granted).await;
    Turn { release: Some(release) }
}

/// Asks `navigator.locks` for `name`: (resolves once it is held, releases it when called).
fn request_lock(name: &str) -> Option<(Promise, Function)> {
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
    request.call2(&locks, &name.into(), &callback).ok()?;
    Some((granted, release))
}
