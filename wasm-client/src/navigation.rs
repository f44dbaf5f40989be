//! Paying for a page navigation (the paywall page): a navigation cannot carry headers, so the
//! payment travels as cookies with the header names of SPEC §4. The receiver expires the
//! payment cookies on its answer, so each proof is sent once; a cookie still present after the
//! navigation never reached it (cookies blocked).

use js_sys::Reflect;
use uraiden_protocol::{cookie_pairs, header, PaymentHeaders};
use wasm_bindgen::prelude::*;

use crate::{
    amount::amount_from_js,
    error::{ErrorKind, Result, UraidenError},
    from_js::from_js,
    results::SignedBalanceProof,
};

/// The payment cookies the page writes and the receiver consumes: every payment header but the
/// contract and receiver, which the receiver itself sets as cookies with its 402.
fn payment_cookie_names() -> impl Iterator<Item = &'static str> {
    PaymentHeaders::HEADER_NAMES
        .into_iter()
        .filter(|name| *name != header::CONTRACT_ADDRESS && *name != header::RECEIVER_ADDRESS)
}

fn document() -> Result<JsValue> {
    Reflect::get(&js_sys::global(), &"document".into())
        .ok()
        .filter(|document| document.is_object())
        .ok_or_else(|| {
            UraidenError::new(ErrorKind::InvalidArgument, "payment cookies need a page (document)")
        })
}

/// `Secure` under TLS, as the receiver sets its own cookies.
fn secure_suffix() -> &'static str {
    let protocol = Reflect::get(&js_sys::global(), &"location".into())
        .and_then(|location| Reflect::get(&location, &"protocol".into()))
        .ok()
        .and_then(|protocol| protocol.as_string());
    if protocol.as_deref() == Some("https:") {
        "; Secure"
    } else {
        ""
    }
}

fn set_cookie(document: &JsValue, name: &str, value: &str, max_age_seconds: u32) -> Result<()> {
    let cookie =
        format!("{name}={value}; Path=/; Max-Age={max_age_seconds}; SameSite=Lax{}", secure_suffix());
    Reflect::set(document, &"cookie".into(), &cookie.into())
        .map(|_| ())
        .map_err(|_| UraidenError::new(ErrorKind::Storage, "this page may not set cookies"))
}

/// Writes `proof` (from `signNewProof` or `incrementBalanceAndSign`) as the payment cookies for
/// the next navigation to this origin, with `payment` (what this navigation pays) and the
/// channel manager `contract`. The cookies expire after `maxAgeSeconds` (default 120) so a proof
/// the receiver never saw does not linger.
#[wasm_bindgen(js_name = setPaymentCookies)]
pub fn set_payment_cookies(
    #[wasm_bindgen(unchecked_param_type = "`0x${string}`")] contract: String,
    proof: tsify::Ts<SignedBalanceProof>,
    #[wasm_bindgen(unchecked_param_type = "bigint")] payment: JsValue,
    #[wasm_bindgen(js_name = maxAgeSeconds)] max_age_seconds: Option<u32>,
) -> Result<()> {
    let contract = uraiden_protocol::parse_address(&contract)
        .map_err(|e| UraidenError::invalid_argument("contract", e))?;
    let proof: SignedBalanceProof = from_js("proof", proof.js_value())?;
    let headers = PaymentHeaders {
        contract,
        receiver: proof.receiver.0,
        sender: proof.sender.0,
        open_block_number: proof.open_block_number,
        balance: proof.balance.0,
        balance_signature: proof.signature.0,
        payment: Some(amount_from_js("payment", &payment)?),
    };
    let document = document()?;
    for (name, value) in headers.to_header_pairs() {
        set_cookie(&document, name, &value, max_age_seconds.unwrap_or(120))?;
    }
    Ok(())
}

/// Whether a payment cookie is still set: after a navigation that carried one, the receiver
/// never saw it (the browser blocks cookies for this site).
#[wasm_bindgen(js_name = hasUnsentPaymentCookies)]
pub fn has_unsent_payment_cookies() -> Result<bool> {
    let cookies =
        Reflect::get(&document()?, &"cookie".into()).ok().and_then(|c| c.as_string()).unwrap_or_default();
    let unsent = cookie_pairs(cookies.as_bytes())
        .any(|(name, _)| payment_cookie_names().any(|payment| payment.eq_ignore_ascii_case(name)));
    Ok(unsent)
}

/// Deletes every payment cookie (those of a navigation the receiver never saw).
#[wasm_bindgen(js_name = clearPaymentCookies)]
pub fn clear_payment_cookies() -> Result<()> {
    let document = document()?;
    for name in payment_cookie_names() {
        set_cookie(&document, name, "", 0)?;
    }
    Ok(())
}
