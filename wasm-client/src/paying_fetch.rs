//! `payingFetch`: `fetch`, and when the answer is 402, pay the price once and retry.
//!
//! The decision ([`next_balance`]) is pure: refuse a price above `maxPrice` or a paywall of
//! another chain or channel manager, resume from the receiver's last accepted balance when
//! the 402 proves it with our own signature, and never go past the deposit. A refusal carries
//! that last proof only to a status request signed now, so after a refusal that shows this
//! browser out of sync the client asks once more with one (no payment), then pays on top.
//!
//! A refusal that only means the receiver has not caught up with the chain ([`receiver_lags`])
//! is waited out by sending the same proof again; a refusal that remains is thrown
//! ([`refused_payment`]), never returned as a 402 the caller could mistake for an answer.
//!
//! The proof travels in x402's `PAYMENT-SIGNATURE` when the 402's `PAYMENT-REQUIRED` offers the
//! `uraiden` scheme, else in the `RDN-*` headers ([`Offer`]): the rules above are the same for
//! both, only the encoding of the payment and of the answer ([`Answer`]) differs.

use alloy_primitives::Address;
#[cfg(feature = "x402")]
use uraiden_protocol::x402::{self, names::PAYMENT_REQUIRED, names::PAYMENT_RESPONSE, Settlement};
use uraiden_protocol::{
    header, x402::OfferedPayment, ChannelId, Eip712Domain, Json, PaidAnswer, PaymentHeaders, PaywallInfo,
    ProofSignature, Refusal, SignedStatusRequest, U192,
};
use wasm_bindgen::{prelude::*, JsCast};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Request, RequestInit, RequestRedirect, Response};

use crate::{
    channel::ChannelState,
    error::{ErrorKind, Result, UraidenError},
};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(request: &Request) -> js_sys::Promise;
    #[wasm_bindgen(js_name = setTimeout)]
    pub(crate) fn set_timeout(handler: &js_sys::Function, milliseconds: i32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// How long a paid request may go unanswered by default (`paymentTimeoutMs`).
pub const DEFAULT_PAYMENT_TIMEOUT_MS: u32 = 60_000;

/// The headers a 402 may carry that [`PaywallInfo::parse`] reads.
pub const PAYWALL_HEADERS: [&str; 9] = [
    header::GATEWAY_PATH,
    header::RECEIVER_ADDRESS,
    header::CONTRACT_ADDRESS,
    header::TOKEN_ADDRESS,
    header::PRICE,
    header::CHAIN_ID,
    header::SENDER_ADDRESS,
    header::SENDER_BALANCE,
    header::BALANCE_SIGNATURE,
];

/// What a 402 asks to be paid, read from its headers.
pub fn paywall_info(headers: &[(&str, String)]) -> Result<PaywallInfo> {
    PaywallInfo::parse(|name| {
        headers.iter().find(|(header, _)| header.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    })
    .map_err(|e| {
        UraidenError::new(
            ErrorKind::InvalidResponse,
            format!("the 402 response is not a µRaiden paywall: {e}"),
        )
    })
}

/// The origin of `url` (`https://shop.example:8443`), as the browser's URL parser says.
pub fn origin_of(url: &str) -> Option<String> {
    web_sys::Url::new(url).ok().map(|url| url.origin())
}

/// `paidOrigins` (of `create`): each entry's origin, refused unless it is one.
pub fn paid_origins(listed: Vec<String>) -> Result<Vec<String>> {
    listed
        .into_iter()
        .map(|entry| {
            origin_of(&entry).filter(|origin| origin != "null").ok_or_else(|| {
                UraidenError::invalid_argument(
                    "paidOrigins",
                    format!("{entry:?} is not an origin (like \"https://shop.example\")"),
                )
            })
        })
        .collect()
}

/// Whether a 402 served from `origin` may be paid: any when no `paidOrigins` were given, else
/// only a listed one (a stranger's site relaying the receiver's paywall is not paid).
pub fn check_paid_origin(paid_origins: Option<&[String]>, origin: &str) -> Result<()> {
    match paid_origins {
        Some(listed) if !listed.iter().any(|listed| listed == origin) => Err(UraidenError::new(
            ErrorKind::InvalidResponse,
            format!("the 402 came from {origin}, which is not in paidOrigins {listed:?}; nothing was paid"),
        )),
        _ => Ok(()),
    }
}

/// What a client pays through: its chain, channel manager and that contract's token.
#[derive(Clone, Copy, Debug)]
pub struct Paying {
    pub chain_id: u64,
    pub contract: Address,
    pub token: Address,
}

/// Refuses to pay `info`'s paywall at all: a price above `max_price`, or another chain,
/// channel manager or token than the client's.
pub fn check_offer(info: &PaywallInfo, max_price: U192, paying: Paying) -> Result<()> {
    if info.price > max_price {
        return Err(UraidenError::new(
            ErrorKind::PriceTooHigh,
            format!("the resource costs {} but maxPrice is {max_price}; nothing was paid", info.price),
        ));
    }
    let Paying { chain_id, contract, token } = paying;
    if info.chain_id != chain_id || info.contract != contract {
        return Err(UraidenError::new(
            ErrorKind::InvalidResponse,
            format!(
                "the paywall wants payment through {} on chain {}, this client uses {contract} on chain {chain_id}; \
                 nothing was paid",
                info.contract, info.chain_id
            ),
        ));
    }
    // The price is in the paywall's token; the channel holds the contract's.
    if info.token != token {
        return Err(UraidenError::new(
            ErrorKind::InvalidResponse,
            format!(
                "the paywall prices in token {}, but the channel manager's token is {token}; nothing was paid",
                info.token
            ),
        ));
    }
    Ok(())
}

/// The cumulative balance to sign for one more request behind `info`'s paywall, and the
/// channel it is paid from.
pub fn next_balance<'c>(
    info: &PaywallInfo,
    max_price: U192,
    paying: Paying,
    channel: Option<&'c ChannelState>,
) -> Result<(&'c ChannelState, U192)> {
    check_offer(info, max_price, paying)?;
    let channel = channel.filter(|c| c.id.receiver == info.receiver).ok_or_else(|| {
        UraidenError::new(
            ErrorKind::NoChannel,
            format!(
                "no open channel to the receiver {}; openChannel({{ receiver, deposit }}) first",
                info.receiver
            ),
        )
    })?;
    let rules = channel.rules();
    let base = match (info.sender, info.sender_balance) {
        // The receiver's last accepted balance for our channel (see `SenderChannel::payment_base`).
        (Some(sender), Some(accepted)) if sender == channel.id.sender => {
            rules.payment_base(&info.domain(), channel.balance, accepted, info.balance_signature.as_ref())
        }
        _ => channel.balance,
    };
    Ok((channel, rules.balance_after(base, info.price)?))
}

/// The channel as the receiver's answer to a payment says it is now, when that differs from
/// `channel` and is credible (see [`ChannelState::resynced`]): after a 200 our proof, after a
/// refusal the last proof the receiver accepted before.
pub fn accepted_state(
    info: &PaywallInfo,
    domain: &Eip712Domain,
    channel: &ChannelState,
) -> Option<ChannelState> {
    if info.receiver != channel.id.receiver || info.sender != Some(channel.id.sender) {
        return None;
    }
    let resynced = channel.resynced(domain, info.sender_balance?, info.balance_signature.as_ref())?;
    (resynced.balance != channel.balance || resynced.last_signature != channel.last_signature)
        .then_some(resynced)
}

/// The proof among `sent` (this call's payments: balance and signature) that a refusal's
/// `answer` names as the receiver's last accepted one. Either the receiver holds that payment
/// though it refused the request, or it held the very same proof from before (signatures are
/// deterministic): sent by an earlier call whose answer was lost, before a reload, by another
/// tab with the same key, or before this browser lost its record. The caller pays on top of the
/// first such proof of a call and throws at the second ([`kept_and_refused`]).
pub fn names_sent_proof(
    answer: &PaywallInfo,
    id: &ChannelId,
    sent: &[(U192, ProofSignature)],
) -> Option<(U192, ProofSignature)> {
    if answer.receiver != id.receiver || answer.sender != Some(id.sender) {
        return None;
    }
    let proof = (answer.sender_balance?, answer.balance_signature?);
    sent.contains(&proof).then_some(proof)
}

/// The error `payingFetch` throws when the receiver kept a payment of `balance` it refused the
/// request for (`message`: what it said): paying on top would only pay it again.
pub fn kept_and_refused(balance: U192, message: &str) -> UraidenError {
    UraidenError::new(
        ErrorKind::PaymentRefused,
        format!(
            "the receiver kept the payment (its last proof is the one just sent, balance {balance}, now the \
             channel's balance) and refused the request; nothing more was paid; the receiver said: {message}"
        ),
    )
}

/// Whether the receiver's `refusal` of a proof of `balance` only shows that it has not seen on
/// chain what this client saw mined, so the same proof pays once it has: the channel or top-up
/// is waiting for confirmations, or the receiver counts less deposit than the client knows
/// (`deposit`, from its own mined open or top-up) covers. An unknown channel needs the chain's
/// word; the caller asks it.
pub fn receiver_lags(refusal: Option<Refusal>, balance: U192, deposit: U192) -> bool {
    match refusal {
        Some(Refusal::InsufficientConfirmations) => true,
        Some(Refusal::InsufficientFunds) => balance <= deposit,
        _ => false,
    }
}

/// The error `payingFetch` throws when the receiver still refuses a proof of `balance` after
/// every retry the refusal allowed (`waited_ms` spent waiting for the receiver); `message` is
/// the receiver's own explanation.
pub fn refused_payment(
    refusal: Option<Refusal>,
    balance: U192,
    waited_ms: u32,
    message: &str,
) -> UraidenError {
    let waited =
        if waited_ms == 0 { String::new() } else { format!(" (retried for {} s)", waited_ms / 1000) };
    let (kind, what) = match refusal {
        Some(Refusal::NonexistingChannel) => (
            ErrorKind::NoChannel,
            "the receiver knows no open channel by this id (it was closed, or is not on chain); \
             open a new channel",
        ),
        Some(Refusal::InsufficientFunds) => (
            ErrorKind::InsufficientDeposit,
            "the receiver counts a smaller deposit than this balance needs (a top-up it has not seen \
             yet, or one that never happened); top up the channel, or retry later",
        ),
        Some(Refusal::InsufficientConfirmations) => (
            ErrorKind::Timeout,
            "the receiver has not seen the channel or its top-up confirmed yet; retry later: the same \
             proof pays then",
        ),
        Some(Refusal::InvalidBalanceProof | Refusal::InvalidAmount) | None => (
            ErrorKind::PaymentRefused,
            "the receiver refused the proof and did not name a last proof of this channel to continue \
             from",
        ),
    };
    let reason = refusal.map_or("no reason given", Refusal::code);
    UraidenError::new(
        kind,
        format!(
            "payment of balance {balance} refused ({reason}){waited}: {what}; the receiver said: {message}"
        ),
    )
    .with_refusal(refusal)
}

/// The response's headers that matter to a paywall, as (name, value) pairs.
pub fn read_headers(response: &Response) -> Vec<(&'static str, String)> {
    let headers = response.headers();
    PAYWALL_HEADERS
        .iter()
        .filter_map(|name| headers.get(name).ok().flatten().map(|value| (*name, value)))
        .collect()
}

/// How the answer to a paid request that sent balance `sent` is booked: [`PaidAnswer`], the
/// rule every sender follows.
pub fn paid_answer(response: &Response, sent: U192) -> PaidAnswer {
    let headers = response.headers();
    let retry_after = headers.get("retry-after").ok().flatten();
    let echoed = headers.get(header::SENDER_BALANCE).ok().flatten();
    PaidAnswer::of(response.status(), retry_after.as_deref(), echoed.as_deref(), sent)
}

/// The refusal a 402 names, if any (`RDN-Insufficient-Confirmations`, …).
pub fn refusal(response: &Response) -> Option<Refusal> {
    let headers = response.headers();
    Refusal::ALL.into_iter().find(|refusal| headers.has(refusal.header_name()).unwrap_or(false))
}

/// What a 402 asks to be paid, and how the payment travels: in x402's `PAYMENT-SIGNATURE` when
/// its `PAYMENT-REQUIRED` offers the `uraiden` scheme, else in the `RDN-*` headers.
#[derive(Clone, Debug)]
pub struct Offer {
    /// The paywall, with the receiver's last accepted proof of our channel when an answer named it.
    pub info: PaywallInfo,
    /// The x402 offer a payment copies back (`accepted`); `None`: pay in `RDN-*` headers.
    pub x402: Option<OfferedPayment>,
}

impl Offer {
    /// Reads a 402: its `uraiden` x402 offer when it makes one, else its `RDN-*` headers.
    pub fn of(response: &Response) -> Result<Self> {
        #[cfg(feature = "x402")]
        if let Some(offered) = x402_offer(response)? {
            return Ok(Self { info: offered.offer.paywall_info(), x402: Some(offered) });
        }
        Ok(Self { info: paywall_info(&read_headers(response))?, x402: None })
    }

    /// Whether the payment travels in x402 (never in a build without the `x402` feature: the
    /// branches it guards are compiled out).
    pub fn is_x402(&self) -> bool {
        cfg!(feature = "x402") && self.x402.is_some()
    }

    /// The request headers that carry `payment`, and `status` (a status request signed now, so
    /// that a refusal names the receiver's last proof).
    pub fn payment_headers(
        &self,
        payment: &PaymentHeaders,
        status: Option<&SignedStatusRequest>,
    ) -> Vec<(&'static str, String)> {
        #[cfg(feature = "x402")]
        if let Some(offered) = &self.x402 {
            let payload = x402::payload_json(payment, status);
            return vec![(x402::names::PAYMENT_SIGNATURE, offered.payment_header(payload))];
        }
        let mut pairs = payment.to_header_pairs();
        pairs.extend(status.map_or_else(Vec::new, SignedStatusRequest::to_header_pairs));
        pairs
    }

    /// The receiver's answer to a payment of `sent` made against this offer, read in the
    /// encoding it was paid in.
    pub fn answer(&self, response: &Response, sent: U192) -> Answer {
        #[cfg(feature = "x402")]
        if self.is_x402() {
            return self.x402_answer(response, sent);
        }
        Answer {
            paid: paid_answer(response, sent),
            refusal: refusal(response),
            offer: paywall_info(&read_headers(response)).ok().map(|info| Offer { info, x402: None }),
            message: None,
        }
    }

    /// [`Self::answer`] of a payment made in x402: its `PAYMENT-RESPONSE` ([`settled`]).
    #[cfg(feature = "x402")]
    fn x402_answer(&self, response: &Response, sent: U192) -> Answer {
        let headers = response.headers();
        let settlement = headers
            .get(PAYMENT_RESPONSE)
            .ok()
            .flatten()
            .and_then(|value| Settlement::parse_header(&value).ok());
        // A refusal's 402 offers anew (its terms may have changed); a paid answer keeps this one.
        let offer = match x402_offer(response) {
            Ok(Some(offered)) => Offer { info: offered.offer.paywall_info(), x402: Some(offered) },
            _ => self.clone(),
        };
        let retry_after = headers.get("retry-after").ok().flatten();
        settled(offer, settlement, response.status(), retry_after.as_deref(), sent)
    }
}

/// A 402's `uraiden` x402 offer: `None` when it makes none (no `PAYMENT-REQUIRED`, or one
/// offering other schemes only).
#[cfg(feature = "x402")]
fn x402_offer(response: &Response) -> Result<Option<OfferedPayment>> {
    let Some(value) = response.headers().get(PAYMENT_REQUIRED).ok().flatten() else { return Ok(None) };
    OfferedPayment::parse_header(&value).map_err(|e| {
        UraidenError::new(
            ErrorKind::InvalidResponse,
            format!("the 402 offers the uraiden scheme of x402 in a form this client cannot pay: {e}"),
        )
    })
}

/// What the receiver's answer to a payment says, in whichever encoding it was paid.
#[derive(Debug)]
pub struct Answer {
    /// How the payment is booked ([`PaidAnswer`], the rule every sender follows).
    pub paid: PaidAnswer,
    /// The refusal the answer names, if any.
    pub refusal: Option<Refusal>,
    /// The paywall as the answer describes it, naming the receiver's last accepted proof of
    /// our channel when it told it; `None` when the answer is not the paywall's.
    pub offer: Option<Offer>,
    /// The receiver's explanation of a refusal, when it gave one in the answer's headers.
    pub message: Option<String>,
}

/// The answer an x402 `settlement` (`PAYMENT-RESPONSE`, read) gives to a payment of `sent`
/// made against `offer`, with the response's `status` and `Retry-After`: booked when the
/// settlement's balance is the one sent; after a refusal, its last proof (to the channel's own
/// signer only) is the receiver's, as `RDN-Sender-Balance` would say it.
#[cfg(feature = "x402")]
pub fn settled(
    offer: Offer,
    settlement: Option<Settlement>,
    status: u16,
    retry_after: Option<&str>,
    sent: U192,
) -> Answer {
    let echoed = settlement.as_ref().and_then(Settlement::paid_balance);
    let paid = PaidAnswer::of_echoed(status, retry_after, echoed, sent);
    let Some(settlement) = settlement else {
        return Answer { paid, refusal: None, offer: None, message: None };
    };
    let last = settlement.last_proof.as_ref();
    let info = PaywallInfo {
        sender: settlement.payer,
        sender_balance: last.map(|last| last.balance),
        balance_signature: last.and_then(|last| last.signature),
        ..offer.info
    };
    Answer {
        paid,
        refusal: settlement.refusal(),
        offer: Some(Offer { info, x402: offer.x402 }),
        message: settlement.error_message.filter(|_| !settlement.success),
    }
}

/// The response's body as text (empty when it cannot be read).
pub async fn text(response: &Response) -> String {
    match response.text() {
        Ok(text) => JsFuture::from(text).await.ok().and_then(|t| t.as_string()).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// What the receiver said refusing a payment: the answer's own message, else its body's.
pub async fn refusal_message(answer: &Answer, response: &Response) -> String {
    match &answer.message {
        Some(message) => message.clone(),
        None => message_of(&text(response).await),
    }
}

/// The `message` of a JSON error body, else the start of the body.
pub fn message_of(body: &str) -> String {
    Json::parse(body)
        .ok()
        .and_then(|json| json.get("message").and_then(Json::as_str).map(str::to_owned))
        .unwrap_or_else(|| body.trim().chars().take(200).collect())
}

/// A copy of `request` that does not follow redirects: a paid request's payment headers go only
/// where it was addressed (a redirect resolves as an `opaqueredirect` response, status 0).
pub fn without_redirects(request: &Request) -> Result<Request> {
    let init = RequestInit::new();
    init.set_redirect(RequestRedirect::Manual);
    Request::new_with_request_and_init(request, &init)
        .map_err(|_| UraidenError::invalid_argument("init", "the request cannot be copied without redirects"))
}

/// `fetch(request)` for a request sent while holding the payment turn: aborted after
/// `timeout_ms` (then `Timeout`: a receiver that never answers must not hold every later
/// payment) or when the request's own signal (the caller's `init.signal`) aborts. Either way the
/// proof it carried stays signed but not booked; the next payment resyncs from the receiver.
/// The timer stays armed while the returned [`Deadline`] lives, so that reading a refusal's
/// body is bounded too; drop it before handing the response to the caller.
pub async fn fetch_within(request: &Request, timeout_ms: u32) -> Result<(Response, Deadline)> {
    let cannot = |_| UraidenError::invalid_argument("init", "the request cannot be sent with a timeout");
    let callers = request.signal();
    let timer = web_sys::AbortController::new().map_err(cannot)?;
    let init = RequestInit::new();
    init.set_signal(Some(&AbortSignal::any(&js_sys::Array::of2(&callers, &timer.signal()))));
    let bounded = Request::new_with_request_and_init(request, &init).map_err(cannot)?;
    // `timer.abort()` bound, so no Rust closure is needed (nor linked).
    let abort: js_sys::Function = js_sys::Reflect::get(&timer, &"abort".into())
        .map_err(cannot)?
        .unchecked_into::<js_sys::Function>()
        .bind0(&timer);
    let deadline = Deadline(set_timeout(&abort, i32::try_from(timeout_ms).unwrap_or(i32::MAX)));
    match fetch(&bounded).await {
        Ok(response) => Ok((response, deadline)),
        Err(_) if callers.aborted() => Err(aborted_by_caller(request)),
        Err(_) if timer.signal().aborted() => Err(UraidenError::new(
            ErrorKind::Timeout,
            format!(
                "{}: no answer to the paid request within {timeout_ms} ms (paymentTimeoutMs), so it was \
                 aborted; its proof was signed but not counted: the next payment resyncs with the receiver",
                request.url()
            ),
        )),
        Err(error) => Err(error),
    }
}

/// The armed timer of a [`fetch_within`]: disarmed when dropped.
#[derive(Debug)]
pub struct Deadline(JsValue);

impl Drop for Deadline {
    fn drop(&mut self) {
        clear_timeout(&self.0);
    }
}

/// `paymentTimeoutMs`, refused when 0 (every payment would be sent, then abandoned at once).
pub fn payment_timeout(ms: Option<u64>, default: u32) -> Result<u32> {
    match ms {
        Some(0) => Err(UraidenError::invalid_argument(
            "paymentTimeoutMs",
            "must be at least 1 (milliseconds to wait for a paid request's answer)",
        )),
        Some(ms) => Ok(u32::try_from(ms).unwrap_or(u32::MAX)),
        None => Ok(default),
    }
}

/// Refuses a 402 reached at `url` (the request's, or the final one after redirects) when
/// `paid_origins` do not list its origin: a stranger redirecting to a listed paywall would
/// otherwise receive the paid request itself.
pub fn check_paid_url(paid_origins: Option<&[String]>, url: &str) -> Result<()> {
    check_paid_origin(paid_origins, &origin_of(url).unwrap_or_default())
}

/// The error of a call its caller aborted (`init.signal`).
pub fn aborted_by_caller(request: &Request) -> UraidenError {
    UraidenError::new(
        ErrorKind::Network,
        format!(
            "{}: aborted by init.signal; a proof sent was not counted: the next payment resyncs",
            request.url()
        ),
    )
}

/// `fetch(request)`, a rejection being a network error.
pub async fn fetch(request: &Request) -> Result<Response> {
    let response = JsFuture::from(global_fetch(request)).await.map_err(|e| {
        let message = e
            .dyn_ref::<js_sys::Error>()
            .map_or_else(|| "fetch failed".to_owned(), |e| String::from(e.message()));
        UraidenError::new(ErrorKind::Network, format!("{}: {message}", request.url()))
    })?;
    response.dyn_into().map_err(|_| {
        UraidenError::new(ErrorKind::InvalidResponse, "fetch resolved to something other than a Response")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{address, B256};
    use uraiden_protocol::{channel_manager_domain, ChannelId, LocalSigningKey};

    const CONTRACT: Address = address!("e7f1725e7734ce288f8367e1bb143e90bb3f0512");
    const SENDER: Address = address!("3c44cdddb6a900fa2b585dd299e03d12fa4293bc");
    const RECEIVER: Address = address!("70997970c51812dc3a010c7d01b50e0d17dc79c8");

    fn headers(extra: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            (header::GATEWAY_PATH, "/api/1".to_owned()),
            (header::RECEIVER_ADDRESS, format!("{RECEIVER:#x}")),
            (header::CONTRACT_ADDRESS, format!("{CONTRACT:#x}")),
            (header::TOKEN_ADDRESS, format!("{:#x}", Address::repeat_byte(7))),
            (header::PRICE, "5".to_owned()),
            (header::CHAIN_ID, "31337".to_owned()),
        ];
        headers.extend_from_slice(extra);
        headers
    }

    fn channel(balance: u64, session_key: Option<LocalSigningKey>) -> ChannelState {
        ChannelState::new(ChannelId::new(SENDER, RECEIVER, 3), U192::from(100), session_key)
            .with_balance(U192::from(balance), None)
    }

    const PAYING: Paying = Paying { chain_id: 31337, contract: CONTRACT, token: Address::repeat_byte(7) };

    fn next(info: &PaywallInfo, max_price: u64, channel: Option<&ChannelState>) -> Result<U192> {
        next_balance(info, U192::from(max_price), PAYING, channel).map(|(_, balance)| balance)
    }

    #[test]
    fn pays_the_price_on_top_of_the_last_balance() {
        let info = paywall_info(&headers(&[])).unwrap();
        assert_eq!(next(&info, 5, Some(&channel(10, None))).unwrap(), U192::from(15));
        assert_eq!(next(&info, 5, Some(&channel(95, None))).unwrap(), U192::from(100));
        assert_eq!(
            next(&info, 5, Some(&channel(96, None))).unwrap_err().kind(),
            ErrorKind::InsufficientDeposit
        );
    }

    #[test]
    fn refuses_what_it_should_not_pay() {
        let info = paywall_info(&headers(&[])).unwrap();
        let err = next(&info, 4, Some(&channel(0, None))).unwrap_err();
        assert_eq!(
            (err.kind(), err.message().as_str()),
            (ErrorKind::PriceTooHigh, "the resource costs 5 but maxPrice is 4; nothing was paid")
        );
        assert_eq!(next(&info, 5, None).unwrap_err().kind(), ErrorKind::NoChannel);
        let other_receiver = ChannelState { id: ChannelId::new(SENDER, SENDER, 3), ..channel(0, None) };
        assert_eq!(next(&info, 5, Some(&other_receiver)).unwrap_err().kind(), ErrorKind::NoChannel);
        let elsewhere = Paying { chain_id: 1, ..PAYING };
        let err = next_balance(&info, U192::from(5), elsewhere, Some(&channel(0, None))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidResponse);
        // Priced in another token than the channel holds.
        let other_token = Paying { token: Address::repeat_byte(8), ..PAYING };
        let err = next_balance(&info, U192::from(5), other_token, Some(&channel(0, None))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidResponse);
        assert!(err.message().contains("prices in token"), "{}", err.message());
    }

    #[test]
    fn resumes_from_the_receivers_balance_only_when_proven() {
        let key = LocalSigningKey::from_bytes(&B256::repeat_byte(8)).unwrap();
        let ours = channel(10, Some(key.clone()));
        let domain = channel_manager_domain(31337, CONTRACT);
        let sign = |balance: u64| {
            key.sign_balance_proof(&domain, &ours.id.balance_proof(U192::from(balance))).unwrap()
        };
        let with = |balance: u64, signature: Option<String>| {
            let mut extra = vec![
                (header::SENDER_ADDRESS, format!("{SENDER:#x}")),
                (header::SENDER_BALANCE, balance.to_string()),
            ];
            extra.extend(signature.map(|s| (header::BALANCE_SIGNATURE, s)));
            paywall_info(&headers(&extra)).unwrap()
        };
        // Lower: our later proofs never arrived, continue from what was accepted.
        assert_eq!(next(&with(5, None), 5, Some(&ours)).unwrap(), U192::from(10));
        // Higher and signed by our session key: we lost state, resume.
        assert_eq!(next(&with(40, Some(sign(40).to_hex())), 5, Some(&ours)).unwrap(), U192::from(45));
        // Higher without, or with someone else's, signature: not believed.
        assert_eq!(next(&with(40, None), 5, Some(&ours)).unwrap(), U192::from(15));
        assert_eq!(next(&with(40, Some(sign(41).to_hex())), 5, Some(&ours)).unwrap(), U192::from(15));
    }

    #[test]
    fn a_refusal_naming_a_proof_this_call_sent_is_recognised() {
        let key = LocalSigningKey::from_bytes(&B256::repeat_byte(8)).unwrap();
        let ours = channel(0, Some(key.clone()));
        let domain = channel_manager_domain(31337, CONTRACT);
        let sign = |balance: u64| {
            key.sign_balance_proof(&domain, &ours.id.balance_proof(U192::from(balance))).unwrap()
        };
        let answer = |balance: u64, signature: &ProofSignature| {
            paywall_info(&headers(&[
                (header::SENDER_ADDRESS, format!("{SENDER:#x}")),
                (header::SENDER_BALANCE, balance.to_string()),
                (header::BALANCE_SIGNATURE, signature.to_hex()),
            ]))
            .unwrap()
        };
        let sent = [(U192::from(5), sign(5))];
        let kept = names_sent_proof;
        assert_eq!(kept(&answer(5, &sign(5)), &ours.id, &sent), Some(sent[0]));
        // Another proof (an older one, or another payer's), or the balance with another signature.
        assert_eq!(kept(&answer(10, &sign(10)), &ours.id, &sent), None);
        assert_eq!(kept(&answer(5, &sign(10)), &ours.id, &sent), None);
        assert_eq!(kept(&answer(5, &sign(5)), &ours.id, &[]), None);
        let other = ChannelId::new(RECEIVER, RECEIVER, 3);
        assert_eq!(kept(&answer(5, &sign(5)), &other, &sent), None);
        let error = kept_and_refused(U192::from(5), "bad signature");
        assert_eq!(error.kind(), ErrorKind::PaymentRefused);
        assert!(error.message().starts_with("the receiver kept the payment"), "{}", error.message());
    }

    /// A 402's x402 offer for `headers()`'s paywall, as the receiver writes it.
    #[cfg(feature = "x402")]
    fn x402_offer() -> Offer {
        let info = paywall_info(&headers(&[])).unwrap();
        let header = x402::payment_required_header(&x402::UraidenOffer::new(&info), "http://shop/x", None);
        let offered = OfferedPayment::parse_header(&header).unwrap().unwrap();
        Offer { info: offered.offer.paywall_info(), x402: Some(offered) }
    }

    #[cfg(feature = "x402")]
    #[test]
    fn the_same_payment_travels_in_x402_or_rdn_headers() {
        let key = LocalSigningKey::from_bytes(&B256::repeat_byte(8)).unwrap();
        let ours = channel(10, Some(key.clone()));
        let domain = channel_manager_domain(31337, CONTRACT);
        let payment = PaymentHeaders {
            contract: CONTRACT,
            receiver: RECEIVER,
            sender: SENDER,
            open_block_number: 3,
            balance: U192::from(15),
            balance_signature: key
                .sign_balance_proof(&domain, &ours.id.balance_proof(U192::from(15)))
                .unwrap(),
            payment: Some(U192::from(5)),
        };
        let status = SignedStatusRequest::sign(&key, &domain, ours.id, 1_000).unwrap();
        let offer = x402_offer();
        let pairs = offer.payment_headers(&payment, Some(&status));
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].0, "PAYMENT-SIGNATURE");
        let read = x402::X402Payment::parse_header(&pairs[0].1).unwrap();
        assert_eq!((read.payment, read.status), (payment.clone(), Some(status)));
        assert!(offer.payment_headers(&payment, None)[0].1 != pairs[0].1);

        let rdn = Offer { info: offer.info.clone(), x402: None };
        let mut expected = payment.to_header_pairs();
        assert_eq!(rdn.payment_headers(&payment, None), expected);
        expected.extend(status.to_header_pairs());
        assert_eq!(rdn.payment_headers(&payment, Some(&status)), expected);
    }

    #[cfg(feature = "x402")]
    #[test]
    fn an_x402_answer_is_booked_by_the_balance_it_settles_and_names_the_last_proof() {
        let offer = x402_offer();
        let sent = U192::from(15);
        let answer = |settlement: Option<Settlement>| settled(offer.clone(), settlement, 402, None, sent);
        // Paid: only when the settled balance is the one sent.
        let paid = Settlement::paid(31337, SENDER, U192::from(5), sent);
        assert_eq!(answer(Some(paid.clone())).paid, PaidAnswer::Charged);
        let other = Settlement { balance: Some(U192::from(20)), ..paid };
        assert_eq!(answer(Some(other)).paid, PaidAnswer::NotCharged);
        // No PAYMENT-RESPONSE: not the paywall's answer (a 429 is a rate limit, as ever).
        let none = answer(None);
        assert_eq!((none.paid, none.refusal, none.offer.is_none()), (PaidAnswer::NotCharged, None, true));
        assert!(matches!(
            settled(offer.clone(), None, 429, Some("2"), sent).paid,
            PaidAnswer::RateLimited { .. }
        ));

        // Refused: the reason, and the last proof as the receiver's balance of our channel.
        let key = LocalSigningKey::from_bytes(&B256::repeat_byte(8)).unwrap();
        let ours = channel(5, Some(key.clone()));
        let domain = channel_manager_domain(31337, CONTRACT);
        let last = key.sign_balance_proof(&domain, &ours.id.balance_proof(U192::from(10))).unwrap();
        let mut refused =
            Settlement::failed(31337, Some(SENDER), "invalid_amount", "the balance must grow by 5");
        refused.last_proof = Some(x402::LastProof { balance: U192::from(10), signature: Some(last) });
        let read = answer(Some(refused));
        assert_eq!((read.paid, read.refusal), (PaidAnswer::NotCharged, Some(Refusal::InvalidAmount)));
        assert_eq!(read.message.as_deref(), Some("the balance must grow by 5"));
        let info = read.offer.unwrap().info;
        assert_eq!(
            (info.sender, info.sender_balance, info.balance_signature),
            (Some(SENDER), Some(U192::from(10)), Some(last))
        );
        // Which the sender's rules adopt: signed by our channel's key.
        let resynced = accepted_state(&info, &domain, &ours).unwrap();
        assert_eq!(resynced.balance, U192::from(10));
    }

    #[test]
    fn a_payment_timeout_of_zero_is_refused() {
        assert_eq!(payment_timeout(None, 60_000).unwrap(), 60_000);
        assert_eq!(payment_timeout(Some(1), 60_000).unwrap(), 1);
        assert_eq!(payment_timeout(Some(u64::MAX), 60_000).unwrap(), u32::MAX);
        let error = payment_timeout(Some(0), 60_000).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument);
        assert!(error.message().contains("paymentTimeoutMs"), "{}", error.message());
    }

    #[test]
    fn only_listed_origins_are_paid_when_a_list_is_given() {
        assert!(check_paid_origin(None, "https://stranger.example").is_ok());
        let listed = ["https://shop.example".to_owned(), "http://127.0.0.1:8080".to_owned()];
        assert!(check_paid_origin(Some(&listed), "http://127.0.0.1:8080").is_ok());
        for origin in ["https://stranger.example", "http://127.0.0.1:8081", "https://shop.example.evil"] {
            let error = check_paid_origin(Some(&listed), origin).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidResponse);
            assert!(
                error.message().starts_with(&format!("the 402 came from {origin}, ")),
                "{}",
                error.message()
            );
        }
        assert!(check_paid_origin(Some(&[]), "https://shop.example").is_err());
    }

    #[test]
    fn only_a_receiver_behind_the_chain_is_waited_for() {
        let (ten, twenty) = (U192::from(10), U192::from(20));
        assert!(receiver_lags(Some(Refusal::InsufficientConfirmations), twenty, ten));
        // Insufficient funds within the deposit this client saw mined: a top-up not seen yet.
        assert!(receiver_lags(Some(Refusal::InsufficientFunds), twenty, twenty));
        assert!(!receiver_lags(Some(Refusal::InsufficientFunds), twenty, ten));
        for refusal in [Refusal::InvalidBalanceProof, Refusal::InvalidAmount, Refusal::NonexistingChannel] {
            assert!(!receiver_lags(Some(refusal), ten, twenty), "{refusal:?}");
        }
        assert!(!receiver_lags(None, ten, twenty));
    }

    #[test]
    fn a_refusal_that_remains_is_a_typed_error_naming_the_reason() {
        let cases = [
            (Some(Refusal::NonexistingChannel), ErrorKind::NoChannel),
            (Some(Refusal::InsufficientFunds), ErrorKind::InsufficientDeposit),
            (Some(Refusal::InsufficientConfirmations), ErrorKind::Timeout),
            (Some(Refusal::InvalidBalanceProof), ErrorKind::PaymentRefused),
            (Some(Refusal::InvalidAmount), ErrorKind::PaymentRefused),
            (None, ErrorKind::PaymentRefused),
        ];
        for (refusal, kind) in cases {
            let error = refused_payment(refusal, U192::from(15), 2_500, "no");
            assert_eq!((error.kind(), error.refusal()), (kind, refusal));
        }
        let error = refused_payment(Some(Refusal::InsufficientFunds), U192::from(15), 2_500, "too much");
        assert!(
            error
                .message()
                .starts_with("payment of balance 15 refused (insufficient-funds) (retried for 2 s): "),
            "{}",
            error.message()
        );
        assert!(error.message().ends_with("the receiver said: too much"), "{}", error.message());
    }

    #[test]
    fn header_names_match_case_insensitively_and_bad_paywalls_are_named() {
        let mut lower: Vec<(&'static str, String)> = Vec::new();
        for (name, value) in headers(&[]) {
            let name: &'static str = Box::leak(name.to_ascii_lowercase().into_boxed_str());
            lower.push((name, value));
        }
        assert_eq!(paywall_info(&lower).unwrap().price, U192::from(5));
        let err = paywall_info(&headers(&[])[1..]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidResponse);
        assert!(err.message().contains("RDN-Gateway-Path: missing"), "{}", err.message());
    }

    #[test]
    fn the_receivers_answer_becomes_the_channel_state_when_signed_by_us() {
        let key = LocalSigningKey::from_bytes(&B256::repeat_byte(8)).unwrap();
        let domain = channel_manager_domain(31337, CONTRACT);
        let ours = channel(10, Some(key.clone()));
        let sign = |balance: u64| {
            key.sign_balance_proof(&domain, &ours.id.balance_proof(U192::from(balance))).unwrap()
        };
        let answer = |sender: Address, balance: u64, signature: Option<String>| {
            let mut extra = vec![
                (header::SENDER_ADDRESS, format!("{sender:#x}")),
                (header::SENDER_BALANCE, balance.to_string()),
            ];
            extra.extend(signature.map(|s| (header::BALANCE_SIGNATURE, s)));
            paywall_info(&headers(&extra)).unwrap()
        };
        // Refused: back to what the receiver holds.
        let back = accepted_state(&answer(SENDER, 5, Some(sign(5).to_hex())), &domain, &ours).unwrap();
        assert_eq!((back.balance, back.last_signature), (U192::from(5), Some(sign(5))));
        // Accepted, and we knew the signature already: nothing to change.
        let signed = ours.clone().with_balance(U192::from(10), Some(sign(10)));
        assert!(accepted_state(&answer(SENDER, 10, Some(sign(10).to_hex())), &domain, &signed).is_none());
        // Another sender's answer, an unsigned or foreign-signed one: ignored.
        assert!(accepted_state(&answer(RECEIVER, 5, Some(sign(5).to_hex())), &domain, &ours).is_none());
        assert!(accepted_state(&answer(SENDER, 5, None), &domain, &ours).is_none());
        let stranger = LocalSigningKey::from_bytes(&B256::repeat_byte(9)).unwrap();
        let foreign = stranger.sign_balance_proof(&domain, &ours.id.balance_proof(U192::from(5))).unwrap();
        assert!(accepted_state(&answer(SENDER, 5, Some(foreign.to_hex())), &domain, &ours).is_none());
    }
}
