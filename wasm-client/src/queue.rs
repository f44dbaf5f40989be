//! One payment at a time: a queue of JS promises, each call waiting for the one before.
//!
//! Two payments computed from the same channel state would sign the same balance and the
//! receiver would take only one; so the next balance is decided only once the previous
//! payment's answer is booked. The turn is released when its [`Turn`] is dropped, whether the
//! call succeeded, failed or returned early, so a failing call never wedges the queue.

use std::cell::RefCell;

use js_sys::{Function, Promise};
use wasm_bindgen::JsValue;
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
