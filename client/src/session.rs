//! [`Session`]: an HTTP client that pays for what it requests. A 402 is handled in the
//! original's order — nonexisting channel, insufficient confirmations, invalid proof,
//! contract mismatch, invalid amount, insufficient funds, otherwise pay the price — and
//! every retry is bounded: a give-up is an [`Error`] that says why.
//!
//! Redirects are followed by the session itself, never with payment headers: a proof goes
//! only to the URL whose 402 asked for it, so a redirect cannot carry it to another host.
//! A 402 is paid only at the origin (scheme, host and port) of the URL asked for, and at
//! most once per call: a paid request answered with a redirect was accepted, and a second
//! paywall behind it (a receiver double-charging, or another site asking for payment) ends
//! the call with an error naming the URL to request directly. Without the `cookies` feature
//! reqwest keeps no cookie jar, so no cookie carries a payment either.
//!
//! A payment counts only once the receiver took it ([`PaidAnswer`], the rule the browser
//! client follows too): an answer that charged nothing (409, 502) takes the channel's
//! balance back to what it was; a 429 with a short `Retry-After` (at most
//! [`MAX_RATE_LIMIT_WAIT_SECS`](uraiden_protocol::MAX_RATE_LIMIT_WAIT_SECS) s) sends the
//! same proof again after the wait, a few times, and otherwise the balance goes back and
//! the call fails with [`Error::RateLimited`], which says when to retry.
//!
//! A 402 is paid in the format it offers ([`PaymentFormat`]): x402 v2 (`PAYMENT-SIGNATURE`)
//! when `PAYMENT-REQUIRED` has a `uraiden` entry, the `RDN-*` headers otherwise. Everything
//! above is one rule for both; only how the proof travels and how the answer is read differ,
//! and how the receiver's last proof is asked for after a refusal: a status request alone in
//! `RDN-*` headers, the refused x402 payment again with one in its payload.
//!
//! Business logic plugs in through [`SessionHooks`] (the original's `on_*` events).

use std::{fmt, sync::Arc, time::Duration};

use reqwest::{header::LOCATION, redirect, Method, Response, StatusCode, Url};
use uraiden_protocol::{
    x402::LastProof, Address, ChannelId, PaidAnswer, PaywallInfo, ProofSignature, Refusal,
    MAX_RATE_LIMIT_RETRIES, U192,
};

use crate::{
    channel::Channel,
    client::Client,
    error::{Error, Result},
    payment_format::{rdn_last_proof, Offer, PaymentFormat, Refused},
    receiver_api,
    store::ChannelState,
};

/// Events of a paid request; every method has a default, so implement only what matters.
#[allow(unused_variables)]
pub trait SessionHooks: Send + Sync {
    /// A 402 asks for `info.price`; return `false` to refuse paying.
    fn on_payment_requested(&self, info: &PaywallInfo) -> bool {
        true
    }
    /// A paid (or free) request succeeded; `cost` is what this request paid.
    fn on_success(&self, url: &Url, cost: U192) {}
    /// The receiver took a payment of `price` sent in `format`: `channel` holds `balance` now.
    fn on_payment_accepted(&self, channel: ChannelId, price: U192, balance: U192, format: PaymentFormat) {}
    /// The receiver has not confirmed the channel (or its top-up) yet; `attempt` from 1.
    fn on_insufficient_confirmations(&self, channel: ChannelId, attempt: u32) {}
    /// The receiver does not know the channel (unknown or closed).
    fn on_nonexisting_channel(&self, channel: ChannelId) {}
    /// The receiver refused the proof (bad signature or a non-increasing balance).
    fn on_invalid_balance_proof(&self, channel: ChannelId) {}
    /// The balance did not grow by exactly the price.
    fn on_invalid_amount(&self, channel: ChannelId) {}
    /// The new balance exceeds the deposit the receiver knows.
    fn on_insufficient_funds(&self, channel: ChannelId) {}
    /// The receiver wants payment through another contract.
    fn on_invalid_contract_address(&self, ours: Address, offered: Address) {}
    /// A response other than 2xx or 402 (returned to the caller as it is).
    fn on_http_error(&self, url: &Url, status: StatusCode) {}
}

/// The hooks that accept every price and ignore every event.
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultHooks;

impl SessionHooks for DefaultHooks {}

/// A deposit policy: the deposit (or remaining capacity after a top-up) for a price.
pub type DepositPolicy = Arc<dyn Fn(U192) -> U192 + Send + Sync>;

/// Redirects one call follows, as browsers and reqwest do by default.
const MAX_REDIRECTS: u32 = 10;

/// How a [`Session`] pays.
#[derive(Clone)]
pub struct SessionOptions {
    /// Refuse prices above this, before signing or sending anything. `None` pays any price
    /// the receiver asks (within [`SessionHooks::on_payment_requested`]); the `uraiden` CLI
    /// always sets a limit.
    pub max_price: Option<U192>,
    /// Wait between retries (insufficient confirmations, an unsynced receiver).
    pub retry_interval: Duration,
    /// How many times to wait for the receiver to see a channel or top-up.
    pub max_confirmation_waits: u32,
    /// Requests sent for one call before giving up, whatever the reasons.
    pub max_attempts: u32,
    /// Deposit of a new channel, from the price (default 10 × price).
    pub initial_deposit: DepositPolicy,
    /// Capacity left after a top-up, from the price (default 10 × price).
    pub topup_deposit: DepositPolicy,
    /// Whether [`Session::close`] closes the channels used by this session.
    pub close_channels_on_exit: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        let ten_times: DepositPolicy = Arc::new(|price: U192| price.saturating_mul(U192::from(10)));
        Self {
            max_price: None,
            retry_interval: Duration::from_secs(1),
            max_confirmation_waits: 30,
            max_attempts: 40,
            initial_deposit: ten_times.clone(),
            topup_deposit: ten_times,
            close_channels_on_exit: false,
        }
    }
}

impl fmt::Debug for SessionOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionOptions")
            .field("max_price", &self.max_price)
            .field("retry_interval", &self.retry_interval)
            .field("max_confirmation_waits", &self.max_confirmation_waits)
            .field("max_attempts", &self.max_attempts)
            .field("close_channels_on_exit", &self.close_channels_on_exit)
            .finish_non_exhaustive()
    }
}

/// An HTTP client that pays 402s through a [`Client`]'s channels.
#[derive(Clone)]
pub struct Session {
    client: Client,
    http: reqwest::Client,
    options: SessionOptions,
    hooks: Arc<dyn SessionHooks>,
    used: Arc<std::sync::Mutex<Vec<ChannelId>>>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("client", &self.client)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// Where a redirect answer points (relative to `url`), if it is one with a usable `Location`.
fn redirect_target(url: &Url, response: &Response) -> Option<Url> {
    if !response.status().is_redirection() {
        return None;
    }
    let location = response.headers().get(LOCATION)?.to_str().ok()?;
    url.join(location).ok().filter(|next| matches!(next.scheme(), "http" | "https"))
}

/// A payment on its way: the channel, the price, the balance of the proof sent, the
/// channel's proof before it (what the channel goes back to if nothing is charged), the
/// offer it pays (the format it travels in), and whether it asks for the last accepted proof.
struct Paying {
    channel: Channel,
    price: U192,
    sent: U192,
    before: (U192, Option<ProofSignature>),
    offer: Offer,
    asks_last_proof: bool,
}

impl Paying {
    /// The receiver charged nothing: the channel's balance is what it was before.
    fn not_charged(&self) -> Result<()> {
        self.channel.undo_transfer(self.sent, self.before)?;
        Ok(())
    }

    /// The request headers that present the channel's last proof in the offer's format, with a
    /// status request signed now when it asks for the last accepted proof.
    fn headers(&self) -> Result<Vec<(&'static str, String)>> {
        let Some(payment) = self.channel.payment_headers(Some(self.price)) else { return Ok(Vec::new()) };
        let status = self.asks_last_proof.then(|| self.channel.status_request()).transpose()?;
        Ok(self.offer.payment_headers(&payment, status.as_ref()))
    }
}

/// What the loop does after a 402.
enum Next {
    /// Send the same proof again after waiting.
    RetrySameAfterWait,
    /// Send the same proof again at once, with a status request.
    RetrySameAskingLastProof,
    /// Sign a new payment of the price and send it.
    PayPrice,
}

impl Session {
    /// A session with default hooks.
    pub fn new(client: Client, options: SessionOptions) -> Self {
        Self::with_hooks(client, options, Arc::new(DefaultHooks))
    }

    /// A session whose business logic is `hooks`.
    pub fn with_hooks(client: Client, options: SessionOptions, hooks: Arc<dyn SessionHooks>) -> Self {
        // Redirects are followed in `request`, where it is known what a hop may carry. Building
        // fails only where `reqwest::Client::new()` panics too (no TLS backend).
        let http = reqwest::Client::builder()
            .redirect(redirect::Policy::none())
            .build()
            .expect("the HTTP client builds with its default TLS backend");
        Self { client, http, options, hooks, used: Arc::default() }
    }

    /// The client that pays.
    pub const fn client(&self) -> &Client {
        &self.client
    }

    /// `GET url`, paying as needed.
    pub async fn get(&self, url: &str) -> Result<Response> {
        self.request(Method::GET, url).await
    }

    /// Sends `method url`, paying 402s. A response other than 402 is returned as it is
    /// (the caller decides what a 404 means); a 402 that cannot be paid is an error, and so
    /// is a 429 to a payment that lasts longer than the session waits (see the module docs).
    ///
    /// Redirects (at most 10) are followed without payment headers; see the module docs for
    /// which 402s behind a redirect are paid.
    pub async fn request(&self, method: Method, url: &str) -> Result<Response> {
        let requested: Url = url
            .parse()
            .map_err(|e| Error::Receiver { url: url.to_owned(), reason: format!("bad URL: {e}") })?;
        let give_up = |reason: String| Error::GaveUp { url: requested.to_string(), reason };
        // Where the next request goes: `requested`, or where it redirected to.
        let (mut url, mut method) = (requested.clone(), method);
        let mut paying: Option<Paying> = None;
        // What this call paid, once a paid request was answered with a redirect.
        let mut paid: Option<U192> = None;
        let (mut waits, mut resyncs, mut topups, mut reopenings) = (0u32, 0u32, 0u32, 0u32);
        let mut offer_changes = 0u32;
        let mut rate_limited = 0u32;
        let mut redirects = 0u32;
        for _ in 0..self.options.max_attempts {
            let mut request = self.http.request(method.clone(), url.clone());
            for (name, value) in paying.as_ref().map(Paying::headers).transpose()?.unwrap_or_default() {
                request = request.header(name, value);
            }
            let response =
                request.send().await.map_err(|source| Error::Http { url: url.to_string(), source })?;
            let status = response.status();
            // Counted only once the receiver says it holds the proof (the rule every sender
            // follows); anything else puts the channel back to its last accepted proof.
            let booked = paying
                .as_ref()
                .map(|paying| paying.offer.book(status.as_u16(), response.headers(), paying.sent));
            match (&paying, booked) {
                (Some(sending), Some(PaidAnswer::NotCharged)) if status != StatusCode::PAYMENT_REQUIRED => {
                    sending.not_charged()?;
                }
                (Some(paid), Some(PaidAnswer::Charged)) => self.hooks.on_payment_accepted(
                    paid.channel.id(),
                    paid.price,
                    paid.sent,
                    paid.offer.format(),
                ),
                _ => {}
            }
            if let Some(next) = redirect_target(&url, &response) {
                redirects += 1;
                if redirects > MAX_REDIRECTS {
                    return Err(give_up(format!("more than {MAX_REDIRECTS} redirects")));
                }
                // A paid request answered with a redirect: the proof is not sent again, to the
                // new URL or anywhere; if it was taken, the new URL is paid for.
                if let Some(paying) = paying.take() {
                    if booked.is_some_and(PaidAnswer::charged) {
                        paid = Some(paying.price);
                    }
                }
                // As browsers do: 303 means GET, and 301/302 turn a POST into a GET.
                let becomes_get = match status {
                    StatusCode::SEE_OTHER => method != Method::HEAD,
                    StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND => method == Method::POST,
                    _ => false,
                };
                if becomes_get {
                    method = Method::GET;
                }
                url = next;
                continue;
            }
            if status.is_success() {
                let charged = paying.as_ref().filter(|_| booked.is_some_and(PaidAnswer::charged));
                let cost = charged.map(|paying| paying.price).or(paid).unwrap_or(U192::ZERO);
                self.hooks.on_success(&url, cost);
                return Ok(response);
            }
            if status != StatusCode::PAYMENT_REQUIRED {
                match (&paying, booked) {
                    // Nothing was charged and the same proof pays after a short wait: send it again.
                    (Some(_), Some(PaidAnswer::RateLimited { wait_secs: Some(wait), .. }))
                        if rate_limited < MAX_RATE_LIMIT_RETRIES =>
                    {
                        rate_limited += 1;
                        tracing::info!(%url, wait, "rate limited; sending the same payment again after the wait");
                        tokio::time::sleep(Duration::from_secs(wait)).await;
                        continue;
                    }
                    (Some(sending), Some(PaidAnswer::RateLimited { retry_after_secs, .. })) => {
                        sending.not_charged()?;
                        return Err(Error::RateLimited { url: url.to_string(), retry_after_secs });
                    }
                    _ => {}
                }
                self.hooks.on_http_error(&url, status);
                return Ok(response);
            }
            if let Some(price) = paid {
                return Err(give_up(format!(
                    "it was paid ({price}) and redirected to {url}, which asks for another payment; one \
                     request is paid once: request {url} itself to pay for it"
                )));
            }
            if url.origin() != requested.origin() {
                return Err(give_up(format!(
                    "it redirected to {url}, another origin, which asks for payment; only the origin \
                     asked for is paid: request {url} itself to pay it"
                )));
            }
            let offer = Offer::read(response.headers()).map_err(|reason| Error::Receiver {
                url: url.to_string(),
                reason: format!("a 402 without usable payment headers: {reason}"),
            })?;
            let info = offer.info.clone();
            let format = paying.as_ref().map_or(offer.format(), |paying| paying.offer.format());
            let refused = offer.refused(format, response.headers(), self.client.address());
            if let (true, Some(stale)) = (refused.stale_offer, &paying) {
                // x402: the offer changed since the 402 paid; nothing was charged, so the new
                // one is paid instead.
                stale.not_charged()?;
                offer_changes += 1;
                if offer_changes > 2 {
                    return Err(give_up(format!(
                        "the receiver keeps changing its offer (x402 invalid_payment_requirements) for {url}"
                    )));
                }
                paying = Some(self.pay(&url, offer).await?);
                continue;
            }
            let asked_last_proof = paying.as_ref().is_some_and(|paying| paying.asks_last_proof);
            let sent = paying.as_mut().map(|paying| {
                // The same proof goes again in the format of the latest 402.
                paying.offer = offer.clone();
                paying.channel.clone()
            });
            let next = match (refused.refusal, sent) {
                (Some(refusal), None) => {
                    return Err(give_up(format!(
                        "the receiver refused a request that carried no payment: {refusal}"
                    )))
                }
                (None, None) => Next::PayPrice,
                // A receiver names the reason of every refusal (SPEC §4); one that does not may
                // well have kept the payment, and paying again could go on for ever.
                (None, Some(channel)) => {
                    return Err(give_up(format!(
                        "the receiver answered the payment in channel {} with a 402 that names no \
                         refusal; it may have kept it, so nothing more is paid",
                        channel.id()
                    )))
                }
                (Some(Refusal::NonexistingChannel), Some(channel)) => {
                    self.hooks.on_nonexisting_channel(channel.id());
                    // Only forgetting counts: waiting for a new channel is bounded by `waits`.
                    reopenings += 1;
                    if reopenings > 3 {
                        return Err(give_up(format!(
                            "the receiver keeps answering that channel {} does not exist",
                            channel.id()
                        )));
                    }
                    // Forget the channel unless the chain says it is open: then the receiver
                    // has not seen it yet (or lost it) and waiting is the only honest move.
                    match self.client.read_channel(&channel.id()).await? {
                        None => {
                            channel.set_state(ChannelState::Closed, None)?;
                            Next::PayPrice
                        }
                        Some(on_chain) if on_chain.settle_block > 0 => {
                            channel.set_state(ChannelState::Settling, Some(on_chain.settle_block))?;
                            Next::PayPrice
                        }
                        Some(_) => {
                            reopenings -= 1;
                            waits += 1;
                            Next::RetrySameAfterWait
                        }
                    }
                }
                (Some(Refusal::InsufficientConfirmations), Some(channel)) => {
                    waits += 1;
                    self.hooks.on_insufficient_confirmations(channel.id(), waits);
                    Next::RetrySameAfterWait
                }
                (Some(refusal @ (Refusal::InvalidBalanceProof | Refusal::InvalidAmount)), Some(channel)) => {
                    if refusal == Refusal::InvalidAmount {
                        self.ensure_same_contract(&info)?;
                    }
                    // Once per refusal: the answer to asking for the last proof is the same one.
                    match refusal {
                        _ if asked_last_proof => {}
                        Refusal::InvalidBalanceProof => self.hooks.on_invalid_balance_proof(channel.id()),
                        _ => self.hooks.on_invalid_amount(channel.id()),
                    }
                    // x402 has no request that only asks: the same payment goes again with a
                    // status request, whose refusal names the last proof (or takes it after all).
                    if format == PaymentFormat::X402 && refused.last_proof.is_none() && !asked_last_proof {
                        Next::RetrySameAskingLastProof
                    } else {
                        let last = self.last_proof(&method, &url, &refused, format, &channel).await?;
                        self.resync(last, &channel, &mut resyncs).map_err(give_up)?;
                        Next::PayPrice
                    }
                }
                (Some(Refusal::InsufficientFunds), Some(channel)) => {
                    // Our record of the deposit was wrong. Read the real one and top up so the
                    // proof already signed becomes valid.
                    self.ensure_same_contract(&info)?;
                    self.hooks.on_insufficient_funds(channel.id());
                    topups += 1;
                    if topups > 2 {
                        return Err(give_up(format!(
                            "channel {} still lacks funds after top-ups",
                            channel.id()
                        )));
                    }
                    self.cover_signed_balance(&channel, info.price).await?;
                    waits += 1;
                    Next::RetrySameAfterWait
                }
            };
            match next {
                Next::RetrySameAfterWait => {
                    if waits > self.options.max_confirmation_waits {
                        return Err(give_up(format!(
                            "the receiver did not confirm the channel after {} waits of {:?}",
                            self.options.max_confirmation_waits, self.options.retry_interval
                        )));
                    }
                    tokio::time::sleep(self.options.retry_interval).await;
                }
                Next::RetrySameAskingLastProof => {
                    if let Some(paying) = paying.as_mut() {
                        paying.asks_last_proof = true;
                    }
                }
                Next::PayPrice => paying = Some(self.pay(&url, offer).await?),
            }
        }
        Err(give_up(format!("no success after {} requests", self.options.max_attempts)))
    }

    /// Refuses a receiver that wants another contract or chain than the client's.
    fn ensure_same_contract(&self, info: &PaywallInfo) -> Result<()> {
        let (ours, our_chain) = (self.client.channel_manager(), self.client.chain_id());
        if info.contract != ours || info.chain_id != our_chain {
            self.hooks.on_invalid_contract_address(ours, info.contract);
            return Err(Error::ContractMismatch {
                ours,
                our_chain,
                offered: info.contract,
                offered_chain: info.chain_id,
            });
        }
        Ok(())
    }

    /// Signs a payment of the offer's price in a suitable channel (reused, topped up or opened).
    async fn pay(&self, url: &Url, offer: Offer) -> Result<Paying> {
        let info = &offer.info;
        self.ensure_same_contract(info)?;
        // The price is in the offer's token; the channel holds the channel manager's.
        if info.token != self.client.token() {
            return Err(Error::Receiver {
                url: url.to_string(),
                reason: format!(
                    "the paywall prices in token {}, but the channel manager's token is {}; nothing was paid",
                    info.token,
                    self.client.token()
                ),
            });
        }
        if let Some(limit) = self.options.max_price.filter(|limit| info.price > *limit) {
            return Err(Error::PriceAboveLimit { price: info.price, limit });
        }
        if !self.hooks.on_payment_requested(info) {
            return Err(Error::PaymentDeclined { price: info.price });
        }
        if info.price.is_zero() {
            return Err(Error::Receiver { url: url.to_string(), reason: "a 402 with price 0".into() });
        }
        let channel = self
            .client
            .get_suitable_channel(
                info.receiver,
                info.price,
                |price| (self.options.initial_deposit)(price),
                |price| (self.options.topup_deposit)(price),
            )
            .await?;
        channel.set_gateway_url(&format!("{}{}", url.origin().ascii_serialization(), info.gateway_path))?;
        let record = channel.snapshot();
        let before = (record.balance, record.balance_signature);
        channel.create_transfer(info.price)?;
        let sent = channel.balance();
        let mut used = self.used.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !used.contains(&channel.id()) {
            used.push(channel.id());
        }
        Ok(Paying { channel, price: info.price, sent, before, offer, asks_last_proof: false })
    }

    /// The receiver's last accepted proof of `channel`, unverified. An x402 refusal names it
    /// (when its payment asked); an `RDN-*` one only when signed, else it comes from a status
    /// request signed now (and no payment), or as the refusal said. `None` when the receiver
    /// will not say.
    async fn last_proof(
        &self,
        method: &Method,
        url: &Url,
        refused: &Refused,
        format: PaymentFormat,
        channel: &Channel,
    ) -> Result<Option<LastProof>> {
        let signed = refused.last_proof.as_ref().is_some_and(|last| last.signature.is_some());
        if signed || format == PaymentFormat::X402 {
            return Ok(refused.last_proof.clone());
        }
        let mut request = self.http.request(method.clone(), url.clone());
        for (name, value) in channel.status_request()?.to_header_pairs() {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|source| Error::Http { url: url.to_string(), source })?;
        let asked = (response.status() == StatusCode::PAYMENT_REQUIRED)
            .then(|| rdn_last_proof(response.headers(), channel.id().sender))
            .flatten();
        Ok(asked.or_else(|| refused.last_proof.clone()))
    }

    /// Continues from the receiver's last accepted proof, once verified as ours.
    fn resync(&self, last: Option<LastProof>, channel: &Channel, resyncs: &mut u32) -> Result<(), String> {
        *resyncs += 1;
        if let Some(LastProof { balance: U192::ZERO, signature: None }) = last {
            // The receiver accepted nothing yet: our proofs never arrived.
            return match channel.adopt_unpaid() {
                Ok(true) if *resyncs <= 2 => Ok(()),
                Ok(_) => Err(format!("the receiver keeps refusing proofs in channel {}", channel.id())),
                Err(e) => Err(e.to_string()),
            };
        }
        let Some(LastProof { balance, signature: Some(signature) }) = last else {
            return Err(format!(
                "the receiver refused the proof for channel {} and sent no last proof to continue from (is \
                 the proof signed for chain {} and contract {}?)",
                channel.id(),
                self.client.chain_id(),
                self.client.channel_manager()
            ));
        };
        if *resyncs > 2 {
            return Err(format!(
                "the receiver keeps refusing proofs in channel {} after resyncing",
                channel.id()
            ));
        }
        match channel.adopt_receiver_proof(balance, signature) {
            Ok(true) => Ok(()),
            Ok(false) => Err(format!(
                "the receiver refused a payment in channel {} on top of its own last proof (balance {balance})",
                channel.id()
            )),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Makes the real deposit cover the balance already signed. When the chain covers it
    /// already, the receiver has not seen a top-up yet and waiting is enough; otherwise top
    /// up so that the top-up policy's capacity remains, as `get_suitable_channel` does.
    async fn cover_signed_balance(&self, channel: &Channel, price: U192) -> Result<()> {
        let Some(on_chain) = self.client.read_channel(&channel.id()).await? else {
            return Err(Error::WrongState {
                channel: channel.id(),
                state: "closed",
                operation: "take payments",
            });
        };
        let mut record = channel.snapshot();
        let signed = record.balance;
        record.deposit = on_chain.deposit;
        self.client.store().update(record)?;
        if on_chain.deposit < signed {
            let capacity = (self.options.topup_deposit)(price).max(price);
            let target = signed.saturating_sub(price).saturating_add(capacity).max(signed);
            channel.topup(target - on_chain.deposit).await?;
        }
        Ok(())
    }

    /// Ends the session: with `close_channels_on_exit`, closes every channel it paid
    /// through — cooperatively through the receiver's API, else uncooperatively.
    pub async fn close(&self) -> Result<()> {
        if !self.options.close_channels_on_exit {
            return Ok(());
        }
        let used = self.used.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        for id in used {
            let Some(channel) = self.client.channel(id) else { continue };
            if channel.state() != ChannelState::Open {
                continue;
            }
            if let Err(error) = receiver_api::close_via_receiver(&self.http, &channel).await {
                tracing::warn!(%id, %error, "cooperative close failed; closing uncooperatively");
                channel.close().await?;
            }
        }
        Ok(())
    }
}
