//! The paywall: puts a price on any axum route and answers per SPEC §4.
//!
//! ```ignore
//! Router::new()
//!     .route("/echofix/{param}", get(echo).route_layer(state.paywall(Price::fixed(5))))
//!     .route("/echodyn/{param}", get(echo).route_layer(state.paywall(Price::dynamic(|request| {
//!         U192::from(request.param("param").map_or(0, str::len))
//!     }))))
//! ```
//!
//! A request is answered:
//! - **502** when the background health check says the node is unreachable or the
//!   receiver's ETH is too low (no per-request chain call);
//! - **429** with `Retry-After` when a rate limit refuses it (see [`rate_limit`](super::rate_limit)):
//!   the route's limit by client address before anything else; the sender's (checked in
//!   every scope, spent only once the payment is stored) for a proof by the channel's sender
//!   or signer; nothing is charged;
//! - **409** when its payment headers are malformed or name another contract or receiver;
//! - **402** without payment, or with a refused one (exactly one reason header);
//! - **200** (the handler's response, plus the `RDN-*` headers) only after the channel
//!   manager has verified and durably stored the payment.
//!
//! No answer of the paywall may be kept by a shared cache: a paid one would be served to
//! the next visitor for free and carries the sender's proof, a 402 may carry the channel's
//! last proof. Each says `Cache-Control: private, no-store`, whatever the handler (or the
//! proxy's upstream) said, and loses the caching headers that caches obey over it.
//!
//! # When the payment is stored
//!
//! By default the payment is stored first and the handler runs only for a stored payment.
//! A handler that fetches its answer elsewhere (the proxy) can fail before it has anything
//! to serve; for it, [`PaywallGate::after_answer`] checks the payment against the
//! channel as the receiver sees it now, runs the handler, and stores the payment only once
//! the handler has answered, before anything is sent. A handler that had nothing to serve
//! answers [`NotServed`]: nothing is charged and the same proof can be sent again. A
//! payment that loses a race while the handler runs is refused and the answer dropped;
//! one that the check refuses goes to the channel manager as usual (so it is refused with
//! its reason, or, if the channel changed in between, stored before the handler runs).
//!
//! # Headers, cookies, and why payment cookies are expired
//!
//! A browser navigation cannot add headers, so a payment may come as cookies of the same
//! names. The source is all-or-nothing: when any payment header is among the request
//! headers, only headers are read; otherwise only cookies. Mixing could pair one client's
//! proof with another's stale cookie.
//!
//! A 402 to a browser sets only the paywall's own values as cookies (gateway path,
//! receiver, contract, token, price, chain id): the protocol parser does not treat those as
//! the start of a payment. The channel's values (`RDN-Sender-Address`,
//! `RDN-Sender-Balance`, `RDN-Balance-Signature`) are never set as cookies: the parser
//! would read them as a payment attempt, and the next plain navigation would be an
//! incomplete payment (409) forever. The page gets them, with the refusal reason, as JSON
//! embedded in the HTML instead.
//!
//! Payment cookies are consumed: every answer to a request that paid with cookies (200,
//! 402 or 409) expires them (`Max-Age=0; Path=/`), so a proof is sent once and a bad or
//! partial cookie set cannot lock the browser out. A 502, 503 or 429 leaves them, so the same
//! proof is retried when the receiver is back or the limit allows.
//!
//! # Who sees the last proof
//!
//! A 402 carries the channel's last balance and signature (`RDN-Sender-Balance`,
//! `RDN-Balance-Signature`) only to a request with a fresh status request of the channel's
//! sender or signer (`RDN-Status-Deadline` + `RDN-Status-Signature`, headers only; see
//! [`SignedStatusRequest`]). A payment's own signature is not enough: an old proof replayed
//! by whoever captured it is signed by the signer too. The status request goes with a
//! payment (the 402 of a refusal then lets the sender resync) or alone, as a probe
//! (`RDN-Sender-Address` + `RDN-Open-Block` and no balance proof), whose 402 carries the last
//! proof and no refusal. A stale or foreign status request is a 409 that says why.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    body::Body,
    extract::{FromRequestParts, RawPathParams, Request, State},
    http::{header, request::Parts, HeaderMap, HeaderName, HeaderValue, StatusCode},
    middleware::{FromFnLayer, Next},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use uraiden_protocol::{
    header as rdn, recover_balance_proof_signer,
    x402::{Settlement, UraidenOffer, X402Payment, INVALID_PAYMENT_REQUIREMENTS},
    Address, PaymentHeaders, PaywallInfo, ProofSignature, Refusal, SignedStatusRequest, U192,
};

use super::{
    assets,
    backend::{AcceptedPayment, ChannelView, LastProof, PaymentRejected, StatusRefused},
    config::{HttpOptions, PublicChain, TokenUnits},
    paid_note::PaidNote,
    rate_limit::{route_label, too_many_requests, LimitedBy, Limits, Rate, RetryAfter},
    serve::payment_committing,
    state::AppState,
    wire::{
        rdn::{expire_payment_cookies, paywall_cookies, set_rdn_headers, PaymentSource},
        x402,
    },
};
use crate::{
    channels::{decide_payment, OpenChannel, PayableChannel},
    error::StatusRequestError,
};

/// What a resource costs, in the token's smallest unit.
#[derive(Clone)]
pub enum Price {
    /// The same for every request (the seed's `Expensive` resources).
    Fixed(U192),
    /// Computed from the request (the seed's `DynamicPriceResource`).
    Dynamic(Arc<dyn Fn(&PriceRequest<'_>) -> U192 + Send + Sync>),
}

impl Price {
    /// A fixed price of `amount` token units.
    pub fn fixed(amount: u64) -> Self {
        Self::Fixed(U192::from(amount))
    }

    /// A fixed price of `amount` token units, for amounts beyond `u64`.
    pub const fn fixed_amount(amount: U192) -> Self {
        Self::Fixed(amount)
    }

    /// A price computed from each request: its path parameters, URI and headers.
    pub fn dynamic(price: impl Fn(&PriceRequest<'_>) -> U192 + Send + Sync + 'static) -> Self {
        Self::Dynamic(Arc::new(price))
    }

    /// The price of this request.
    pub fn of(&self, request: &PriceRequest<'_>) -> U192 {
        match self {
            Self::Fixed(amount) => *amount,
            Self::Dynamic(price) => price(request),
        }
    }
}

impl std::fmt::Debug for Price {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fixed(amount) => write!(f, "Price::Fixed({amount})"),
            Self::Dynamic(_) => f.write_str("Price::Dynamic(..)"),
        }
    }
}

/// The request a dynamic price is computed from.
#[derive(Debug)]
pub struct PriceRequest<'a> {
    parts: &'a Parts,
    params: &'a [(String, String)],
}

impl<'a> PriceRequest<'a> {
    /// A request's head and its route's path parameters (percent-decoded).
    pub const fn new(parts: &'a Parts, params: &'a [(String, String)]) -> Self {
        Self { parts, params }
    }

    /// The path parameter `name` of the matched route, e.g. `param` in `/echodyn/{param}`.
    pub fn param(&self, name: &str) -> Option<&'a str> {
        self.params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    pub fn uri(&self) -> &'a axum::http::Uri {
        &self.parts.uri
    }

    pub fn method(&self) -> &'a axum::http::Method {
        &self.parts.method
    }

    pub fn headers(&self) -> &'a HeaderMap {
        &self.parts.headers
    }
}

/// The state of one paywalled route: the receiver, the route's price, and when the payment
/// is stored.
#[derive(Clone, Debug)]
pub struct PaywallGate {
    state: AppState,
    price: Price,
    commit: CommitOrder,
    /// The route's own rate limits, on top of the receiver-wide ones.
    route_limits: Option<Arc<Limits>>,
}

impl PaywallGate {
    pub const fn new(state: AppState, price: Price) -> Self {
        Self { state, price, commit: CommitOrder::BeforeHandler, route_limits: None }
    }

    /// Limits this route to `rate` per client address (before any signature work) and,
    /// apart, per sender (once the proof's signer is known, before it is charged).
    pub fn with_rate_limit(self, rate: Rate) -> Self {
        let limits = Limits::both(rate, self.state.max_tracked_keys());
        Self { route_limits: Some(Arc::new(limits)), ..self }
    }

    /// Stores payments only once the handler answered ([`CommitOrder::AfterAnswer`]).
    pub fn after_answer(self) -> Self {
        Self { commit: CommitOrder::AfterAnswer, ..self }
    }

    /// The gate as a `from_fn_with_state` layer, for `route_layer`.
    pub fn layer(self) -> PaywallLayer {
        let middleware: PaywallMiddleware =
            |gate, request, next| Box::pin(require_payment(gate, request, next));
        axum::middleware::from_fn_with_state(self, middleware)
    }
}

/// When the paywall stores a payment, relative to running the route's handler.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CommitOrder {
    /// Store the payment, then run the handler: it runs only for stored payments.
    #[default]
    BeforeHandler,
    /// Check the payment, run the handler, and store the payment when the handler answered
    /// something other than [`NotServed`], before the answer is sent (see the module docs).
    AfterAnswer,
}

/// A handler's answer when it had nothing to serve (the proxy's upstream did not answer):
/// under [`CommitOrder::AfterAnswer`] the payment is not stored, and the answer says so.
#[derive(Clone, Debug)]
pub struct NotServed {
    pub status: StatusCode,
    /// What went wrong, for people.
    pub reason: String,
}

impl IntoResponse for NotServed {
    fn into_response(self) -> Response {
        let mut response = error_response(self.status, "not served", &self.reason, None);
        response.extensions_mut().insert(self);
        response
    }
}

type PaywallMiddleware =
    fn(State<PaywallGate>, Request, Next) -> Pin<Box<dyn Future<Output = Response> + Send>>;

/// The layer [`AppState::paywall`] returns; apply it with `route_layer` so path parameters
/// are known to dynamic prices.
pub type PaywallLayer = FromFnLayer<PaywallMiddleware, PaywallGate, (State<PaywallGate>, Request)>;

impl AppState {
    /// A layer that puts `price` on a route: `get(handler).route_layer(state.paywall(price))`.
    pub fn paywall(&self, price: Price) -> PaywallLayer {
        paywall_layer(self.clone(), price)
    }

    /// [`paywall`](Self::paywall) with a rate limit of the route's own, by client address
    /// and by sender, on top of the receiver-wide ones.
    pub fn paywall_with_rate_limit(&self, price: Price, rate: Rate) -> PaywallLayer {
        PaywallGate::new(self.clone(), price).with_rate_limit(rate).layer()
    }
}

/// The paywall as a `from_fn_with_state` layer.
pub fn paywall_layer(state: AppState, price: Price) -> PaywallLayer {
    PaywallGate::new(state, price).layer()
}

/// The paywall middleware: serves `next` only for a payment of this route's price.
pub async fn require_payment(State(gate): State<PaywallGate>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let params: Vec<(String, String)> = match RawPathParams::from_request_parts(&mut parts, &()).await {
        Ok(raw) => raw.iter().map(|(key, value)| (key.to_owned(), value.to_owned())).collect(),
        // Not under a route with parameters (or not decodable): a dynamic price sees none.
        Err(_) => Vec::new(),
    };
    let price = gate.price.of(&PriceRequest::new(&parts, &params));
    let request = Request::from_parts(parts, body);
    // Before any signature work (a status request's, a payment's).
    if let Some(limits) = &gate.route_limits {
        if let Err(retry) = limits.check_client_address(&request) {
            let route = route_label(&request);
            return too_many_requests(gate.state.metrics(), LimitedBy::ClientAddress, &route, retry);
        }
    }
    charge(&gate.state, price, gate.commit, gate.route_limits.as_deref(), request, next).await
}

/// Charges `price` for `request` and, once paid, serves it with `next`.
async fn charge(
    state: &AppState,
    price: U192,
    commit: CommitOrder,
    route_limits: Option<&Limits>,
    request: Request,
    next: Next,
) -> Response {
    let client = Client::of(&request, state.options());
    let info = state.gateway().paywall_info(price);

    if let Some(reason) = state.backend().health().unavailable_reason() {
        state.metrics().payment_error(502);
        return error_response(StatusCode::BAD_GATEWAY, "bad gateway", reason, None);
    }

    // An x402 payment is read whole first: its status request rides in its payload.
    let x402_payment = match client.wire {
        Wire::X402 => match x402::read_payment(request.headers()) {
            Ok(paid) => Some(paid),
            Err(message) => {
                state.metrics().payment_error(400);
                return error_response(StatusCode::BAD_REQUEST, "malformed payment", &message, None);
            }
        },
        Wire::Rdn => None,
    };
    if let Some(paid) = &x402_payment {
        if let Some(difference) = UraidenOffer::new(&info).difference(&paid.accepted) {
            state.metrics().payment_error(402);
            return offer_refused(state, &client, info, paid.payment.sender, &difference).await;
        }
    }

    let status = match status_request(state, request.headers(), x402_payment.as_ref()).await {
        Ok(status) => status,
        Err(refused) => {
            let status_code = client.wire.malformed_status();
            state.metrics().payment_error(status_code.as_u16());
            return error_response(
                status_code,
                "status request refused",
                &refused.to_string(),
                client.consumed(),
            );
        }
    };
    let parsed = match x402_payment {
        Some(paid) => Ok(Some(paid.payment)),
        None if status.is_some()
            && SignedStatusRequest::is_status_probe(header_lookup(request.headers())) =>
        {
            Ok(None)
        }
        None => client.source.parse(request.headers()),
    };
    let payment = match parsed {
        Ok(None) => {
            let (info, refusal) = match &status {
                Some((_, Ok(last))) => (with_last_proof(info, last), None),
                Some((request, Err(refusal))) => {
                    (PaywallInfo { sender: Some(request.channel.sender), ..info }, Some(*refusal))
                }
                None => (info, None),
            };
            return payment_required(state, &client, info, refusal).await;
        }
        Ok(Some(payment)) => payment,
        Err(error) => {
            state.metrics().payment_error(409);
            let message = format!(
                "Malformed payment: {error}. Fix the RDN-* payment headers (or cookies) and retry; a 402 \
                 response lists the values this receiver expects."
            );
            return error_response(StatusCode::CONFLICT, "malformed payment", &message, client.consumed());
        }
    };

    if let Some(message) = wrong_gateway(state, &payment) {
        state.metrics().payment_error(409);
        return error_response(StatusCode::CONFLICT, "wrong receiver", &message, client.consumed());
    }

    // Before the upstream is asked and before anything is stored: a refused request is not
    // charged, and its proof pays later. Spent only once the payment is stored.
    if let Some(retry) = sender_over_limit(state, route_limits, &payment, &info) {
        tracing::info!(sender = %payment.sender, "payment refused: sender over its rate limit");
        return too_many_requests(state.metrics(), LimitedBy::Sender, &route_label(&request), retry);
    }

    let path = request.uri().path().to_owned();
    // Held until the payment is stored: see `ChannelsAtUpstream`.
    let mut at_upstream = None;
    let handler = match commit {
        CommitOrder::AfterAnswer if looks_acceptable(state, &payment, &info, price) => {
            let Some(call) = state.upstream_calls().enter(payment.channel_id()) else {
                state.metrics().payment_error(429);
                let message = "Another paid request of this channel is being answered; nothing was \
                    charged: send this one once that one is answered.";
                let mut response =
                    error_response(StatusCode::TOO_MANY_REQUESTS, "payment in progress", message, None);
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(1u64));
                return response;
            };
            at_upstream = Some(call);
            // The answer decides whether the sender is charged, so no request deadline may drop
            // it half-way; the upstream's own timeout bounds the wait.
            payment_committing();
            let answer = next.run(request).await;
            if let Some(not_served) = answer.extensions().get::<NotServed>() {
                let reason = &not_served.reason;
                tracing::info!(sender = %payment.sender, %path, %reason, "nothing served, nothing charged");
                let message = format!("{reason} Nothing was charged: send the same payment again later.");
                return error_response(not_served.status, "not served", &message, None);
            }
            Handler::Answered(answer)
        }
        _ => Handler::Pending(request, next),
    };

    let started = Instant::now();
    // From here the sender may be charged: no request deadline may drop the answer.
    payment_committing();
    let outcome = state.backend().accept_payment(&payment, price).await;
    drop(at_upstream);
    state.metrics().observe_verification(started.elapsed().as_secs_f64());
    match outcome {
        Ok(accepted) => {
            state.metrics().payment_accepted();
            spend_sender_budget(state, route_limits, accepted.channel.sender);
            // Debug, not info: a line per payment is a write to stderr per request, 7 % of the
            // server's CPU at volume (server/BENCHMARKS.md). The metrics count payments and the
            // state keeps each channel's latest proof;
            // `RUST_LOG=info,uraiden_server::http::paywall=debug` lists them.
            tracing::debug!(
                sender = %accepted.channel.sender,
                open_block = accepted.channel.open_block_number,
                balance = %accepted.balance,
                %price,
                %path,
                "payment accepted"
            );
            let mut response = handler.answer().await;
            if response.extensions().get::<NotServed>().is_some() {
                // Stored before the handler ran (the check above said no, the manager yes).
                tracing::warn!(sender = %accepted.channel.sender, %path, "payment stored, but nothing served");
            } else if client.source == PaymentSource::Cookies && !state.options().no_paid_note {
                response = add_paid_note(state, response, &accepted, price).await;
            }
            let info = PaywallInfo {
                sender: Some(accepted.channel.sender),
                sender_balance: Some(accepted.balance),
                balance_signature: Some(accepted.signature),
                ..info
            };
            let headers = response.headers_mut();
            set_rdn_headers(headers, state.receiver_headers(), &info, None);
            if client.wire == Wire::X402 {
                let settlement =
                    Settlement::paid(info.chain_id, accepted.channel.sender, price, accepted.balance);
                x402::set_settlement(headers, &settlement);
            }
            forbid_storing(headers);
            append_cookies(headers, client.consumed().unwrap_or_default());
            response
        }
        Err(PaymentRejected::Refused { refusal }) => {
            state.metrics().payment_refused(refusal);
            tracing::info!(
                sender = %payment.sender,
                open_block = payment.open_block_number,
                balance = %payment.balance,
                reason = refusal.code(),
                "payment refused"
            );
            let info = PaywallInfo { sender: Some(payment.sender), ..info };
            // Only for a fresh status request of the channel's own sender or signer, read
            // again: the refusal may be a race another payment of the channel won.
            let last = match status {
                Some((request, _)) => state.backend().last_proof(&request).await.ok(),
                None => None,
            };
            let info = match last {
                Some(last) => with_last_proof(info, &last),
                None => info,
            };
            payment_required(state, &client, info, Some(refusal)).await
        }
        Err(PaymentRejected::WrongGateway(message)) => {
            state.metrics().payment_error(409);
            error_response(StatusCode::CONFLICT, "wrong receiver", &message, client.consumed())
        }
        Err(PaymentRejected::Unavailable(detail)) => {
            state.metrics().payment_error(502);
            tracing::warn!(%detail, "payment not checked: receiver unavailable");
            let message = state.backend().health().unavailable_reason().unwrap_or(
                "The receiver cannot check payments right now (it is still catching up with the chain); \
                 try again shortly.",
            );
            error_response(StatusCode::BAD_GATEWAY, "bad gateway", message, None)
        }
        Err(PaymentRejected::Store(detail)) => {
            state.metrics().payment_error(503);
            tracing::error!(%detail, sender = %payment.sender, "payment not stored; nothing served");
            error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "payment not recorded",
                "The receiver could not record the payment, so it was not charged and nothing was served; \
                 retry the same request.",
                None,
            )
        }
    }
}

/// A navigation the paywall page paid for: its HTML gets what it cost and what is left.
async fn add_paid_note(
    state: &AppState,
    response: Response,
    accepted: &AcceptedPayment,
    price: U192,
) -> Response {
    let Some(channel) = state.backend().channel(accepted.channel.sender, accepted.channel.open_block_number)
    else {
        return response;
    };
    let note = PaidNote { price, remaining: channel.deposit.saturating_sub(accepted.balance) };
    note.add_to(response, state.gateway().token_units.as_ref()).await
}

/// The route's handler: still to run, or run already (its answer not sent yet).
enum Handler {
    Pending(Request, Next),
    Answered(Response),
}

impl Handler {
    async fn answer(self) -> Response {
        match self {
            Self::Pending(request, next) => next.run(request).await,
            Self::Answered(answer) => answer,
        }
    }
}

/// Whether the channel manager would accept `payment` now, judged by the payment rule from its
/// in-memory view of the channel: keeps refused payments away from a handler that runs before
/// the payment is stored. Only a filter: `accept_payment` decides, and a payment this lets
/// through can still lose a race there.
fn looks_acceptable(state: &AppState, payment: &PaymentHeaders, info: &PaywallInfo, price: U192) -> bool {
    let standing = match state.backend().channel(payment.sender, payment.open_block_number) {
        Some(channel) if channel.state == "open" && channel.confirmed => PayableChannel::Open(OpenChannel {
            sender: channel.sender,
            signer: channel.signer.unwrap_or(channel.sender),
            balance: channel.balance,
            deposit: channel.deposit,
            unconfirmed_top_up: U192::ZERO,
        }),
        Some(channel) if channel.state == "open" => PayableChannel::Unconfirmed,
        _ => PayableChannel::Closed,
    };
    let recover = || {
        recover_balance_proof_signer(&info.domain(), &payment.balance_proof(), &payment.balance_signature)
            .ok()
    };
    decide_payment(&standing, recover, payment.balance, price).is_ok()
}

/// Whether `payment`'s proof is signed by `channel`'s sender or its delegated signer.
fn signed_by_channel_key(payment: &PaymentHeaders, info: &PaywallInfo, channel: &ChannelView) -> bool {
    let signer =
        recover_balance_proof_signer(&info.domain(), &payment.balance_proof(), &payment.balance_signature)
            .ok();
    signer.is_some_and(|signer| signer == channel.sender || Some(signer) == channel.signer)
}

/// The scopes that limit senders on this route: the receiver-wide one and the route's own.
fn sender_scopes<'a>(
    state: &'a AppState,
    route_limits: Option<&'a Limits>,
) -> impl Iterator<Item = &'a Limits> {
    [Some(state.rate_limits()), route_limits].into_iter().flatten().filter(|limits| limits.limits_senders())
}

/// Whether a scope's sender limit refuses `payment`, checked in every scope without spending
/// (the budget is taken only once the payment is stored, see [`spend_sender_budget`]); `Some`
/// with the longest wait of those that refuse. A signature is recovered only then: a 429 goes
/// to a proof by the channel's sender or signer above the accepted balance; any other
/// request goes on to the channel manager, which refuses it with its reason, so a stranger
/// learns nothing of a sender's budget from forged or replayed proofs.
fn sender_over_limit(
    state: &AppState,
    route_limits: Option<&Limits>,
    payment: &PaymentHeaders,
    info: &PaywallInfo,
) -> Option<RetryAfter> {
    let retry = sender_scopes(state, route_limits)
        .filter_map(|limits| limits.sender_allows(payment.sender).err())
        .max_by_key(|retry| retry.0)?;
    let channel = state.backend().channel(payment.sender, payment.open_block_number)?;
    (payment.balance > channel.balance && signed_by_channel_key(payment, info, &channel)).then_some(retry)
}

/// Takes one paid request of `sender`'s budget in every scope, once its payment is stored:
/// a refused request, or one the receiver could not serve or store, spends nothing.
///
/// Checked before, spent after: a sender's payments in flight at once all pass the check
/// while its budget has one left, so a burst may exceed the limit by the payments in flight
/// between the check and the store (on one channel at most one proof per balance is stored,
/// one at a time; a proxied route lets one paid request per channel reach the upstream). Each
/// stored payment is spent even past the limit, so that excess is taken from the sender's
/// next budget, and over time the rate holds.
fn spend_sender_budget(state: &AppState, route_limits: Option<&Limits>, sender: Address) {
    for limits in sender_scopes(state, route_limits) {
        limits.spend_sender(sender);
    }
}

/// A status request of the channel's sender or signer: what the backend says about it (the last
/// proof, or why the channel has none to give). `Err` is a 409's message: malformed, stale, or
/// not by the channel's sender or signer.
type StatusAnswer = (SignedStatusRequest, Result<LastProof, Refusal>);

async fn status_request(
    state: &AppState,
    headers: &HeaderMap,
    x402_payment: Option<&X402Payment>,
) -> Result<Option<StatusAnswer>, StatusRequestError> {
    let parsed = match x402_payment {
        Some(paid) => paid.status,
        None => SignedStatusRequest::parse_headers(state.gateway().receiver, header_lookup(headers))
            .map_err(StatusRequestError::Malformed)?,
    };
    let Some(request) = parsed else { return Ok(None) };
    match state.backend().last_proof(&request).await {
        Ok(last) => Ok(Some((request, Ok(last)))),
        Err(StatusRefused::Channel(refusal)) => Ok(Some((request, Err(refusal)))),
        Err(StatusRefused::NotAuthorized(error)) => Err(StatusRequestError::NotAuthorized(error)),
    }
}

/// Header lookup for the protocol's parsers; a value that is not visible ASCII is present but
/// unusable, so the parser names that header rather than calling it missing.
fn header_lookup<'h>(headers: &'h HeaderMap) -> impl Fn(&str) -> Option<&'h str> + 'h {
    |name| headers.get(name).map(|value| value.to_str().unwrap_or("\u{fffd}"))
}

fn with_last_proof(info: PaywallInfo, last: &LastProof) -> PaywallInfo {
    PaywallInfo {
        sender: Some(last.sender),
        sender_balance: Some(last.balance),
        balance_signature: last.signature,
        ..info
    }
}

/// A 409 message when the payment is for another channel manager or receiver.
fn wrong_gateway(state: &AppState, payment: &PaymentHeaders) -> Option<String> {
    let gateway = state.gateway();
    if payment.contract != gateway.contract {
        Some(format!(
            "{}: the payment is for channel manager {}, but this receiver uses {} on chain {}; open a \
             channel with that contract and pay through it.",
            rdn::CONTRACT_ADDRESS,
            payment.contract,
            gateway.contract,
            gateway.chain_id
        ))
    } else if payment.receiver != gateway.receiver {
        Some(format!(
            "{}: the payment is for receiver {}, but this server is {}; pay through a channel to {}.",
            rdn::RECEIVER_ADDRESS,
            payment.receiver,
            gateway.receiver,
            gateway.receiver
        ))
    } else {
        None
    }
}

/// Who asks and how: decides the 402's form and which cookies to set or expire.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Client {
    browser: bool,
    tls: bool,
    /// The format the payment came in, and the answer goes out in.
    wire: Wire,
    /// Where an `RDN-*` payment is read from (nothing for an x402 one).
    source: PaymentSource,
    /// How the paywall page may be compressed for it.
    encoding: assets::Encoding,
    /// The request's target and `Host`, for x402's `resource.url`: kept as they came (cheap
    /// reference-counted clones) and written out only when a 402 needs them, never on a paid
    /// request's way.
    uri: axum::http::Uri,
    host: Option<HeaderValue>,
}

/// The wire format of a request's payment (see [`super::wire`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wire {
    /// `RDN-*` headers or cookies, or no payment at all.
    Rdn,
    /// x402's `PAYMENT-SIGNATURE`.
    X402,
}

impl Wire {
    /// The status of an answer to a payment that cannot be read: the seed's 409, x402's 400.
    const fn malformed_status(self) -> StatusCode {
        match self {
            Self::Rdn => StatusCode::CONFLICT,
            Self::X402 => StatusCode::BAD_REQUEST,
        }
    }
}

impl Client {
    fn of(request: &Request, options: &HttpOptions) -> Self {
        let headers = request.headers();
        let tls = options.tls;
        let wire = if !options.no_x402 && x402::carries_payment(headers) { Wire::X402 } else { Wire::Rdn };
        let source = if wire == Wire::X402 { PaymentSource::Nothing } else { PaymentSource::of(headers) };
        Self {
            browser: prefers_html(headers),
            tls,
            wire,
            source,
            encoding: assets::Encoding::negotiate(headers),
            uri: request.uri().clone(),
            host: headers.get(header::HOST).cloned(),
        }
    }

    /// The absolute URL asked for, as its client addressed it (the path alone without a host).
    fn resource_url(&self) -> String {
        let path = self.uri.path_and_query().map_or("/", |path| path.as_str());
        let host = self.host.as_ref().and_then(|host| host.to_str().ok());
        match host.or_else(|| self.uri.authority().map(|authority| authority.as_str())) {
            Some(host) => format!("{}://{host}{path}", if self.tls { "https" } else { "http" }),
            None => path.to_owned(),
        }
    }

    /// The `Set-Cookie` values that expire a payment sent as cookies.
    fn consumed(&self) -> Option<Vec<String>> {
        (self.source == PaymentSource::Cookies).then(|| expire_payment_cookies(self.tls))
    }
}

/// Whether `Accept` prefers HTML to JSON. `*/*` alone (curl, most libraries) means JSON:
/// only a client that names `text/html` (or `text/*`) gets the page.
pub fn prefers_html(headers: &HeaderMap) -> bool {
    let (mut html, mut json) = (0.0_f32, 0.0_f32);
    for range in
        headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(','))
    {
        let mut pieces = range.split(';');
        let media = pieces.next().unwrap_or_default().trim().to_ascii_lowercase();
        let quality = pieces
            .filter_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()))
            .next()
            .unwrap_or(1.0);
        match media.as_str() {
            "text/html" | "application/xhtml+xml" | "text/*" => html = html.max(quality),
            "application/json" | "application/*" => json = json.max(quality),
            _ => {}
        }
    }
    html > 0.0 && html > json
}

/// The 402 body for JSON clients, also embedded in the HTML page.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequiredBody {
    pub error: &'static str,
    /// The refusal's code (`insufficient-funds`, …), `null` when no payment was sent.
    pub reason: Option<&'static str>,
    pub message: String,
    pub receiver: String,
    pub contract: String,
    pub token: String,
    /// Decimal string: amounts can exceed what JSON numbers hold exactly.
    pub price: String,
    pub chain_id: u64,
    pub gateway_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// The channel's last accepted balance (decimal string).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance_signature: Option<String>,
    /// How a wallet adds the chain, when the operator published it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<PublicChain>,
    /// The token's symbol and decimals, when its contract answered: pages show whole tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_units: Option<TokenUnits>,
}

impl PaymentRequiredBody {
    pub fn new(info: &PaywallInfo, refusal: Option<Refusal>) -> Self {
        Self {
            error: "payment required",
            reason: refusal.map(Refusal::code),
            message: refusal.map_or_else(
                || {
                    format!(
                        "This resource costs {} token units. Pay with a balance proof in the RDN-* headers, \
                         or in x402's PAYMENT-SIGNATURE (scheme uraiden, offered in PAYMENT-REQUIRED), over \
                         a channel to {} (channel manager {}, chain {}).",
                        info.price, info.receiver, info.contract, info.chain_id
                    )
                },
                |refusal| refusal.message().to_owned(),
            ),
            receiver: info.receiver.to_checksum(None),
            contract: info.contract.to_checksum(None),
            token: info.token.to_checksum(None),
            price: info.price.to_string(),
            chain_id: info.chain_id,
            gateway_path: info.gateway_path.clone(),
            sender: info.sender.map(|sender| sender.to_checksum(None)),
            balance: info.sender_balance.map(|balance| balance.to_string()),
            balance_signature: info.balance_signature.as_ref().map(ProofSignature::to_hex),
            chain: None,
            token_units: None,
        }
    }
}

/// A 402: the paywall page for browsers, JSON for everyone else.
async fn payment_required(
    state: &AppState,
    client: &Client,
    info: PaywallInfo,
    refusal: Option<Refusal>,
) -> Response {
    let body = PaymentRequiredBody {
        chain: state.gateway().public_chain.clone(),
        token_units: state.gateway().token_units.clone(),
        ..PaymentRequiredBody::new(&info, refusal)
    };
    let mut response = if client.browser {
        let json = serde_json::to_string(&body).unwrap_or_default();
        let html = state.assets().index_html().await;
        let html = html.as_deref().unwrap_or(assets::FALLBACK_PAGE.as_bytes());
        let (page, encoding) = assets::encode_page(assets::page_with_info(html, &json), client.encoding);
        let mut response = (
            [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))],
            Body::from(page),
        )
            .into_response();
        if let Some(encoding) = encoding {
            response.headers_mut().insert(header::CONTENT_ENCODING, encoding);
        }
        append_cookies(response.headers_mut(), paywall_cookies(&info, client.tls));
        response
    } else {
        Json(body).into_response()
    };
    *response.status_mut() = StatusCode::PAYMENT_REQUIRED;
    let headers = response.headers_mut();
    set_rdn_headers(headers, state.receiver_headers(), &info, refusal);
    if !state.options().no_x402 {
        x402::set_payment_required(headers, &info, &client.resource_url(), refusal.map(Refusal::x402_code));
    }
    if let (Wire::X402, Some(refusal)) = (client.wire, refusal) {
        let settlement = Settlement {
            // To the channel's own signer only: `info` carries the last proof just then.
            last_proof: info.sender_balance.map(|balance| uraiden_protocol::x402::LastProof {
                balance,
                signature: info.balance_signature,
            }),
            ..Settlement::failed(info.chain_id, info.sender, refusal.x402_code(), refusal.message())
        };
        x402::set_settlement(headers, &settlement);
    }
    forbid_storing(headers);
    headers.insert(header::VARY, HeaderValue::from_static("Accept, Cookie, Accept-Encoding"));
    append_cookies(headers, client.consumed().unwrap_or_default());
    response
}

/// The 402 to an x402 payment whose `accepted` entry is not this route's offer: the offer
/// again, with why the payment was not taken. Nothing was charged.
async fn offer_refused(
    state: &AppState,
    client: &Client,
    info: PaywallInfo,
    payer: Address,
    difference: &str,
) -> Response {
    let mut response = payment_required(state, client, info.clone(), None).await;
    let headers = response.headers_mut();
    x402::set_payment_required(headers, &info, &client.resource_url(), Some(INVALID_PAYMENT_REQUIREMENTS));
    let settlement = Settlement::failed(info.chain_id, Some(payer), INVALID_PAYMENT_REQUIREMENTS, difference);
    x402::set_settlement(headers, &settlement);
    response
}

/// Makes an answer one no cache keeps (see the module docs): `private, no-store`, and none of
/// the caching headers that caches obey over it ([`overrides_cache_control`]).
fn forbid_storing(headers: &mut HeaderMap) {
    let overriding: Vec<HeaderName> =
        headers.keys().filter(|name| overrides_cache_control(name.as_str())).cloned().collect();
    for name in overriding {
        headers.remove(name);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
}

/// Whether a cache in front of the receiver obeys the response header `name` over
/// `Cache-Control`: RFC 9213's targeted fields (`CDN-Cache-Control` and every other
/// `<target>-Cache-Control`, such as `Cloudflare-CDN-Cache-Control` or
/// `Akamai-Cache-Control`), `Surrogate-Control` (Fastly, Varnish), nginx's `X-Accel-Expires`
/// (with it, nginx's `proxy_cache` ignores `Cache-Control`) and Akamai's `Edge-Control`.
fn overrides_cache_control(name: &str) -> bool {
    name.ends_with("-cache-control")
        || matches!(name, "surrogate-control" | "x-accel-expires" | "edge-control")
}

fn append_cookies(headers: &mut HeaderMap, cookies: Vec<String>) {
    for cookie in cookies {
        if let Ok(value) = HeaderValue::try_from(cookie) {
            headers.append(header::SET_COOKIE, value);
        }
    }
}

/// A JSON error (`{"error", "message"}`) for 409, 502 and 503, expiring consumed cookies.
fn error_response(
    status: StatusCode,
    error: &'static str,
    message: &str,
    expire_cookies: Option<Vec<String>>,
) -> Response {
    let mut response =
        (status, Json(serde_json::json!({ "error": error, "message": message }))).into_response();
    let headers = response.headers_mut();
    forbid_storing(headers);
    if status == StatusCode::BAD_GATEWAY || status == StatusCode::SERVICE_UNAVAILABLE {
        // The health check runs every few seconds; a client may retry after that.
        headers.insert(header::RETRY_AFTER, HeaderValue::from(Duration::from_secs(5).as_secs()));
    }
    append_cookies(headers, expire_cookies.unwrap_or_default());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(HeaderName::try_from(*name).unwrap(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn accept_negotiation_prefers_html_only_when_asked() {
        let chrome = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8";
        assert!(prefers_html(&headers(&[("accept", chrome)])));
        assert!(prefers_html(&headers(&[("accept", "text/html")])));
        for not_html in [
            "*/*",
            "application/json",
            "application/json, text/html;q=0.5",
            "text/html;q=0",
            "text/plain",
            "",
        ] {
            assert!(!prefers_html(&headers(&[("accept", not_html)])), "{not_html:?}");
        }
        assert!(!prefers_html(&HeaderMap::new()));
    }

    #[test]
    fn caching_headers_that_caches_obey_over_cache_control_are_recognised() {
        for overriding in [
            "cdn-cache-control",
            "cloudflare-cdn-cache-control",
            "akamai-cache-control",
            "surrogate-control",
            "x-accel-expires",
            "edge-control",
        ] {
            assert!(overrides_cache_control(overriding), "{overriding}");
        }
        for kept in ["cache-control", "expires", "vary", "x-accel-redirect", "content-type"] {
            assert!(!overrides_cache_control(kept), "{kept}");
        }
    }

    #[test]
    fn price_functions_see_path_parameters() {
        let (parts, ()) = Request::builder().uri("/echodyn/hello?x=1").body(()).unwrap().into_parts();
        let params = vec![("param".to_owned(), "hello".to_owned())];
        let request = PriceRequest::new(&parts, &params);
        let by_length = Price::dynamic(|request| U192::from(request.param("param").map_or(0, str::len)));
        assert_eq!(by_length.of(&request), U192::from(5));
        assert_eq!(Price::fixed(7).of(&request), U192::from(7));
        assert_eq!(request.uri().query(), Some("x=1"));
        assert_eq!(request.param("missing"), None);
        assert_eq!(format!("{:?}", Price::fixed(7)), "Price::Fixed(7)");
    }

    #[test]
    fn json_body_has_the_documented_shape() {
        let info = PaywallInfo {
            gateway_path: "/api/1".into(),
            receiver: uraiden_protocol::Address::repeat_byte(1),
            contract: uraiden_protocol::Address::repeat_byte(2),
            token: uraiden_protocol::Address::repeat_byte(3),
            price: U192::from(5),
            chain_id: 31337,
            sender: None,
            sender_balance: None,
            balance_signature: None,
        };
        let plain = serde_json::to_value(PaymentRequiredBody::new(&info, None)).unwrap();
        assert_eq!(plain["error"], "payment required");
        assert_eq!(plain["reason"], serde_json::Value::Null);
        assert_eq!(plain["price"], "5");
        assert_eq!(plain["chainId"], 31337);
        assert_eq!(plain["gatewayPath"], "/api/1");
        assert!(plain.get("sender").is_none() && plain.get("balanceSignature").is_none());
        let refused = serde_json::to_value(PaymentRequiredBody::new(
            &PaywallInfo { sender: Some(uraiden_protocol::Address::repeat_byte(4)), ..info },
            Some(Refusal::InsufficientFunds),
        ))
        .unwrap();
        assert_eq!(refused["reason"], "insufficient-funds");
        assert_eq!(refused["message"], Refusal::InsufficientFunds.message());
        assert_eq!(refused["sender"], "0x0404040404040404040404040404040404040404");
    }
}
