//! `raiden.x402Scheme(options)`: the `uraiden` scheme client of x402 v2 for `@x402/core`, so
//! that an app paying through `wrapFetchWithPayment` (`@x402/fetch`) pays uraiden receivers by
//! registering it: `x402Client.register(scheme.network, scheme)`.
//!
//! The x402 transport, not this library, sends the paid request, so one payment spans two
//! calls: `createPaymentPayload` signs it holding the client's payment turn (the same queue as
//! `payingFetch`), and the scheme's `onPaymentResponse` hook books what the receiver answered
//! and hands the turn on. When no answer comes (the request failed), the turn is handed on after
//! `paymentTimeoutMs` and the payment is not counted: the next one resyncs. The sender's rules
//! are `payingFetch`'s (`paying_fetch::next_balance`, `accepted_state`, `PaidAnswer`); the wire
//! is the protocol crate's `x402` module.

use std::{
    cell::RefCell,
    rc::{Rc, Weak},
};

use js_sys::Promise;
use uraiden_protocol::{
    parse_amount,
    x402::{self, names::PAYMENT_REQUIRED, Settlement, UraidenOffer, X402_VERSION},
    Json, PaywallInfo, ProofSignature, Refusal, U192,
};
use wasm_bindgen::{prelude::*, JsCast};

use super::{lock_refused, promise, unix_now, Inner};
use crate::{
    amount::Amount,
    channel::ChannelState,
    error::{ErrorKind, Result, UraidenError},
    hex::HexAddress,
    js::{field, ObjectBuilder},
    options::{OpenChannelOptions, X402SchemeOptions},
    paying_fetch::{self, Offer},
    provider::sleep,
    queue::Turn,
};

/// How long the status request of a scheme payment is valid (docs/x402-scheme-uraiden.md).
const STATUS_LIFETIME_SECS: u64 = 60;

#[wasm_bindgen(typescript_custom_section)]
const X402_TS: &str = r#"
/** An x402 v2 `accepts` entry (`@x402/core`'s `PaymentRequirements`). */
export interface X402PaymentRequirements {
  scheme: string;
  network: string;
  asset: string;
  amount: string;
  payTo: string;
  maxTimeoutSeconds: number;
  extra: Record<string, unknown>;
}
/** What `x402Client` tells a scheme about its spend controls: the atomic cap, when capped. */
export interface X402PaymentPayloadContext {
  maxAmountPerPayment?: string;
}
/** A scheme's part of the payment; `x402Client` adds `accepted` and `resource`. */
export interface X402PaymentPayloadResult {
  x402Version: number;
  payload: Record<string, unknown>;
}
/** `PAYMENT-RESPONSE`, decoded (`@x402/core`'s `SettleResponse`). */
export interface X402SettleResponse {
  success: boolean;
  errorReason?: string;
  errorMessage?: string;
  payer?: string;
  transaction: string;
  network: string;
  amount?: string;
  extra?: Record<string, unknown>;
}
/** What `x402Client` hands a scheme's `onPaymentResponse` after a paid request. */
export interface X402PaymentResponseContext {
  paymentPayload: { payload: Record<string, unknown>; resource?: { url: string } };
  requirements: X402PaymentRequirements;
  settleResponse?: X402SettleResponse;
}
/** The scheme's hooks (`@x402/core`'s `SchemeClientHooks`). */
export interface X402SchemeHooks {
  onPaymentResponse(context: X402PaymentResponseContext): Promise<void | { recovered: true }>;
}
"#;

/// The `uraiden` scheme client for `@x402/core`'s `x402Client`: `register(scheme.network,
/// scheme)`. Pays from this client's channel to the offer's receiver, opening one through the
/// wallet the first time (a session key signs after that, with no wallet request).
#[wasm_bindgen]
#[derive(Debug)]
pub struct X402Scheme {
    state: Rc<SchemeState>,
    /// `schemeHooks.onPaymentResponse`, alive as long as the scheme.
    on_payment_response: Closure<dyn FnMut(JsValue) -> Promise>,
}

#[derive(Debug)]
struct SchemeState {
    inner: Rc<Inner>,
    options: X402SchemeOptions,
    /// The payment signed last, until the receiver's answer to it is booked.
    pending: RefCell<Option<Pending>>,
}

/// A payment handed to the x402 transport, waiting for its answer.
#[derive(Debug)]
struct Pending {
    channel: ChannelState,
    info: PaywallInfo,
    balance: U192,
    signature: ProofSignature,
    /// The payment turn and the channel's Web Lock, handed on when this is dropped.
    _turns: (Turn, Turn),
}

impl X402Scheme {
    pub(super) fn new(inner: Rc<Inner>, options: X402SchemeOptions) -> Self {
        let state = Rc::new(SchemeState { inner, options, pending: RefCell::new(None) });
        let hooked = Rc::clone(&state);
        let on_payment_response = Closure::new(move |context: JsValue| -> Promise {
            let state = Rc::clone(&hooked);
            promise(async move { state.on_payment_response(&context).await })
        });
        Self { state, on_payment_response }
    }
}

#[wasm_bindgen]
impl X402Scheme {
    /// The x402 scheme's name.
    #[wasm_bindgen(getter, unchecked_return_type = "\"uraiden\"")]
    pub fn scheme(&self) -> String {
        x402::SCHEME.to_owned()
    }

    /// The network to register the scheme for: `eip155:<chain id>` of the channel manager.
    #[wasm_bindgen(getter, unchecked_return_type = "`eip155:${number}`")]
    pub fn network(&self) -> String {
        x402::network(self.state.inner.chain_id)
    }

    /// Signs the payment of one request behind `paymentRequirements` (a `uraiden` offer of this
    /// client's chain, channel manager and token, within `maxPrice` and the spend controls'
    /// cap): from the channel to its receiver, opened first when there is none (`deposit`,
    /// default the offer's suggested one, at most 100 requests' worth; wallet prompts). Its answer is booked by
    /// `schemeHooks.onPaymentResponse`; until then (at most `paymentTimeoutMs`) other payments
    /// of this client wait.
    #[wasm_bindgen(js_name = createPaymentPayload, unchecked_return_type = "Promise<X402PaymentPayloadResult>")]
    pub fn create_payment_payload(
        &self,
        #[wasm_bindgen(js_name = x402Version)] x402_version: f64,
        #[wasm_bindgen(js_name = paymentRequirements, unchecked_param_type = "X402PaymentRequirements")]
        requirements: JsValue,
        #[wasm_bindgen(unchecked_param_type = "X402PaymentPayloadContext")] context: Option<JsValue>,
    ) -> Promise {
        let state = Rc::clone(&self.state);
        promise(async move {
            state.create_payment_payload(x402_version, &requirements, &context.unwrap_or_default()).await
        })
    }

    /// The hooks `x402Client` calls: `onPaymentResponse` books an accepted payment (the
    /// receiver's `extra.balance` is the balance sent), adopts a refusal's `extra.lastProof`
    /// when this channel signed it and asks for one retry on top of it, and waits for a
    /// receiver that has not seen the channel yet before that retry.
    #[wasm_bindgen(getter, js_name = schemeHooks, unchecked_return_type = "X402SchemeHooks")]
    pub fn scheme_hooks(&self) -> JsValue {
        ObjectBuilder::default().set("onPaymentResponse", self.on_payment_response.as_ref().clone()).build()
    }
}

impl SchemeState {
    async fn create_payment_payload(
        self: Rc<Self>,
        x402_version: f64,
        requirements: &JsValue,
        context: &JsValue,
    ) -> Result<JsValue> {
        if x402_version != X402_VERSION as f64 {
            // Not formatted as a float: that would link the float formatter (some 15 KB of wasm).
            return Err(UraidenError::invalid_argument(
                "x402Version",
                format!("the uraiden scheme speaks x402 version {X402_VERSION} only"),
            ));
        }
        let offer = UraidenOffer::from_json(
            &json_of("paymentRequirements", requirements)?,
            PAYMENT_REQUIRED,
            "the offer",
        )
        .map_err(|e| UraidenError::new(ErrorKind::InvalidResponse, format!("{e}; nothing was paid")))?;
        let info = offer.paywall_info();
        let max_price = self.max_price(context)?;
        let inner = &self.inner;
        // Before any prompt: an offer this client would not pay opens no channel either.
        paying_fetch::check_offer(&info, max_price, inner.paying())?;
        let turn = inner.payments.turn(None).await.ok_or_else(lock_refused)?;
        let channel = self.channel_to(&offer).await?;
        let (tab_turn, channel) = inner.channel_lock(channel, None).await?.ok_or_else(lock_refused)?;
        let (channel, payment) = inner.sign_payment(&info, max_price, Some(&channel)).await?;
        // With every payment (the wrapper retries a refusal once, so its last proof must come
        // with the refusal), short-lived: whoever captures the payment reads the channel's last
        // proof until the deadline. Free with the session key; never a prompt per payment.
        let status = match &channel.session_key {
            Some(_) => Some(inner.status_request_until(&channel, unix_now() + STATUS_LIFETIME_SECS).await?),
            None => None,
        };
        let payload = x402::payload_json(&payment, status.as_ref());
        let (balance, signature) = (payment.balance, payment.balance_signature);
        *self.pending.borrow_mut() =
            Some(Pending { channel, info, balance, signature, _turns: (turn, tab_turn) });
        self.hand_on_later(signature);
        Ok(ObjectBuilder::default()
            .set("x402Version", X402_VERSION as f64)
            .set("payload", js_sys::JSON::parse(&payload.to_string()).unwrap_or_default())
            .build())
    }

    /// The most one request may cost: `maxPrice` and the spend controls' cap, whichever is lower.
    fn max_price(&self, context: &JsValue) -> Result<U192> {
        let cap = field(context, "maxAmountPerPayment")
            .map(|cap| {
                cap.as_string().and_then(|cap| parse_amount(&cap).ok()).ok_or_else(|| {
                    UraidenError::invalid_argument(
                        "context.maxAmountPerPayment",
                        "expected a decimal string of token base units",
                    )
                })
            })
            .transpose()?;
        Ok([self.options.max_price.map(|price| price.0), cap]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(U192::MAX))
    }

    /// The channel to `offer`'s receiver: the current one, else the newest stored one, else one
    /// opened now through the wallet (connecting it first if needed), with a session key.
    async fn channel_to(&self, offer: &UraidenOffer) -> Result<ChannelState> {
        let inner = &self.inner;
        let receiver = offer.receiver;
        let current = || inner.channel.borrow().clone().filter(|channel| channel.id.receiver == receiver);
        if let Some(channel) = current() {
            return Ok(channel);
        }
        if inner.account().await.is_err_and(|error| error.kind() == ErrorKind::Unauthorized) {
            let accounts = inner.provider.request_accounts().await?;
            *inner.account.borrow_mut() = accounts.first().copied();
        }
        inner.load_stored_channel(Some(receiver)).await?;
        if let Some(channel) = current() {
            return Ok(channel);
        }
        let deposit =
            self.options.deposit.as_ref().map_or_else(|| default_deposit(offer), |deposit| deposit.0);
        if deposit < offer.price {
            return Err(UraidenError::invalid_argument(
                "deposit",
                format!("{deposit} does not pay for one request of {}: deposit more", offer.price),
            ));
        }
        inner
            .open_channel(OpenChannelOptions {
                receiver: Some(HexAddress(receiver)),
                deposit: Amount(deposit),
                session_key: Some(true),
                method: self.options.method,
                replace: None,
            })
            .await?;
        current()
            .ok_or_else(|| UraidenError::new(ErrorKind::NoChannel, "the channel opened is no longer current"))
    }

    /// Hands the turn of the payment signed as `signature` on after `paymentTimeoutMs`, should
    /// its answer never be booked (the transport failed, or never sent it).
    fn hand_on_later(self: &Rc<Self>, signature: ProofSignature) {
        let state: Weak<Self> = Rc::downgrade(self);
        let expire = Closure::once_into_js(move || {
            if let Some(state) = state.upgrade() {
                state.pending.borrow_mut().take_if(|pending| pending.signature == signature);
            }
        });
        let ms = i32::try_from(self.inner.payment_timeout_ms).unwrap_or(i32::MAX);
        paying_fetch::set_timeout(expire.unchecked_ref(), ms);
    }

    /// `onPaymentResponse`: books the answer to the pending payment, if `context` is its.
    async fn on_payment_response(&self, context: &JsValue) -> Result<JsValue> {
        let payload = field(context, "paymentPayload").and_then(|paid| field(&paid, "payload"));
        let sent =
            payload.and_then(|payload| field(&payload, "balanceSignature")).and_then(|s| s.as_string());
        let pending = self.pending.borrow_mut().take_if(|pending| Some(pending.signature.to_hex()) == sent);
        // Not this scheme's pending payment (its turn was handed on): the next payment resyncs.
        let Some(Pending { channel, info, balance, signature, _turns }) = pending else {
            return Ok(JsValue::UNDEFINED);
        };
        let settlement = field(context, "settleResponse")
            .and_then(|settled| json_of("settleResponse", &settled).ok())
            .and_then(|settled| Settlement::from_json(&settled).ok());
        // The hook is not told the status: it matters only for a 429, which settles nothing.
        let answer = paying_fetch::settled(Offer { info, x402: None }, settlement, 0, None, balance);
        let inner = &self.inner;
        if answer.paid.charged() {
            inner.book(channel.with_balance(balance, Some(signature)))?;
            return Ok(JsValue::UNDEFINED);
        }
        // Refused, naming a last proof this channel signed that is not ours: out of sync (a
        // proof that never arrived, storage lost or restored, another tab). Continue from it
        // and pay once more on top (the transport retries once).
        let resynced = answer
            .offer
            .as_ref()
            .and_then(|offer| paying_fetch::accepted_state(&offer.info, &inner.domain(), &channel));
        if let Some(resynced) = resynced {
            inner.book(resynced)?;
            return Ok(recovered());
        }
        if inner.receiver_catching_up(answer.refusal, &channel, balance).await? {
            let url = field(context, "paymentPayload")
                .and_then(|paid| field(&paid, "resource"))
                .and_then(|resource| field(&resource, "url"))
                .and_then(|url| url.as_string());
            self.wait_for_receiver(&channel, url.as_deref()).await;
            return Ok(recovered());
        }
        Ok(JsValue::UNDEFINED)
    }

    /// Waits (holding the payment turn) until the receiver has seen the channel on chain, at
    /// most `confirmationTimeoutMs`: the same proof pays then. With a session key it asks the
    /// resource at `url` every `pollIntervalMs` with a status request (no payment, no prompt);
    /// without one, or without `url`, it waits one interval.
    async fn wait_for_receiver(&self, channel: &ChannelState, url: Option<&str>) {
        let inner = &self.inner;
        let until = js_sys::Date::now() + f64::from(inner.confirmation_timeout_ms);
        loop {
            sleep(inner.poll_interval_ms).await;
            let (Some(url), Some(_)) = (url, &channel.session_key) else { return };
            if js_sys::Date::now() >= until {
                return;
            }
            match inner.ask_receiver(channel, url).await {
                Ok((Some(Refusal::NonexistingChannel | Refusal::InsufficientConfirmations), _)) => {}
                _ => return,
            }
        }
    }
}

/// The deposit of a channel opened without `deposit`: the offer's suggestion, but never more
/// than [`x402::SUGGESTED_PAYMENTS`] requests at its price, so a receiver cannot have a
/// sender's tokens locked up in its channel by suggesting a large deposit.
fn default_deposit(offer: &UraidenOffer) -> U192 {
    let bound = offer.price.saturating_mul(U192::from(x402::SUGGESTED_PAYMENTS));
    offer.suggested_deposit.min(bound)
}

/// `{ recovered: true }`: the x402 transport sends the request once more, with a new payload.
fn recovered() -> JsValue {
    ObjectBuilder::default().set("recovered", true).build()
}

/// A JSON-able JS object (an x402 library's), as the protocol crate's [`Json`].
fn json_of(what: &str, value: &JsValue) -> Result<Json> {
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|text| text.as_string())
        .and_then(|text| Json::parse(&text).ok())
        .ok_or_else(|| UraidenError::invalid_argument(what, "expected a JSON object"))
}
