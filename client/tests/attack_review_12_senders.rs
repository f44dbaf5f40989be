//! Attack review of issue 12 (x402 v2), the sender's side: the native `Session` against a
//! HOSTILE receiver. The attacker is a small axum server of this file standing in front of the
//! real receiver (real anvil, real contracts): it forwards each request and forges what it
//! answers with the protocol crate's real x402 encoders — a `PAYMENT-REQUIRED` that disagrees
//! with the `RDN-*` headers, a `PAYMENT-RESPONSE` claiming what did not happen, a `lastProof`
//! that is not the sender's — or answers without forwarding at all. A stranger who captured a
//! `PAYMENT-SIGNATURE` replays it to the receiver.
//!
//! Each test names the attack and the safe outcome it asserts.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{
    atomic::{AtomicU32, AtomicU64, Ordering},
    Arc, Mutex,
};

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode},
    response::Response,
    Router,
};
use support::{test_options, Env, SENDER};
use uraiden_client::{Client, Error, PaymentFormat, Session, SessionHooks, SessionOptions};
use uraiden_protocol::{
    x402::{
        names::{PAYMENT_REQUIRED, PAYMENT_RESPONSE, PAYMENT_SIGNATURE},
        payment_required_header, LastProof, OfferedPayment, Settlement, UraidenOffer, X402Payment,
        INVALID_PAYMENT_REQUIREMENTS,
    },
    Address, ChannelId, ProofSignature, Refusal, U192,
};

const PRICE: u64 = 5; // /echofix/* on the test receiver

/// What the hostile receiver answers: the real receiver's answer (`forwarded`, `None` when it
/// did not forward) turned into a forged one. `paid` is the payment the request carried.
struct Exchange {
    /// Requests seen so far, this one included (from 1).
    n: u32,
    paid: Option<X402Payment>,
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    /// The last `PAYMENT-REQUIRED` the real receiver wrote.
    last_required: Option<String>,
}

type Tamper = dyn Fn(&mut Exchange) -> Forward + Send + Sync;

/// Whether the hostile receiver passes a request on to the real one before tampering.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Forward {
    Yes,
    /// Answer from the last 402 seen, without the real receiver ever seeing the payment.
    No,
}

struct Hostile {
    upstream: String,
    http: reqwest::Client,
    seen: AtomicU32,
    /// Decides before forwarding (its `Exchange` has no answer yet) ...
    before: Box<Tamper>,
    /// ... and forges the answer.
    after: Box<dyn Fn(&mut Exchange) + Send + Sync>,
    /// Every `PAYMENT-SIGNATURE` sent to it, as sent.
    captured: Mutex<Vec<String>>,
    /// The last `PAYMENT-REQUIRED` the real receiver wrote, to forge 402s with.
    last_required: Mutex<Option<String>>,
}

async fn hostile_handler(State(hostile): State<Arc<Hostile>>, request: Request) -> Response {
    let n = hostile.seen.fetch_add(1, Ordering::SeqCst) + 1;
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let signature = parts.headers.get(PAYMENT_SIGNATURE).map(|value| value.to_str().unwrap().to_owned());
    let paid = signature.as_deref().map(|value| X402Payment::parse_header(value).unwrap());
    if let Some(signature) = signature {
        hostile.captured.lock().unwrap().push(signature);
    }
    let last_required = hostile.last_required.lock().unwrap().clone();
    let mut exchange = Exchange {
        n,
        paid,
        status: StatusCode::PAYMENT_REQUIRED,
        headers: HeaderMap::new(),
        body: Bytes::new(),
        last_required,
    };
    if (hostile.before)(&mut exchange) == Forward::Yes {
        let url = format!("{}{}", hostile.upstream, parts.uri.path_and_query().unwrap());
        let mut forwarded = hostile.http.request(parts.method.clone(), url).body(body);
        for (name, value) in &parts.headers {
            if name != "host" {
                forwarded = forwarded.header(name.as_str(), value.as_bytes());
            }
        }
        let answer = forwarded.send().await.unwrap();
        exchange.status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
        exchange.headers = HeaderMap::new();
        for (name, value) in answer.headers() {
            exchange.headers.append(
                HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
                HeaderValue::from_bytes(value.as_bytes()).unwrap(),
            );
        }
        exchange.body = answer.bytes().await.unwrap();
        if let Some(required) = exchange.headers.get(PAYMENT_REQUIRED) {
            *hostile.last_required.lock().unwrap() = Some(required.to_str().unwrap().to_owned());
        }
    } else {
        // A 402 made of the last real one (the paywall's RDN-* headers are not needed by x402).
        let required = hostile.last_required.lock().unwrap().clone().expect("a 402 seen before");
        set(&mut exchange.headers, PAYMENT_REQUIRED, required);
    }
    (hostile.after)(&mut exchange);
    let mut response = Response::new(Body::from(exchange.body));
    *response.status_mut() = exchange.status;
    // Hop-by-hop and length headers are the server's own.
    exchange.headers.remove("content-length");
    exchange.headers.remove("transfer-encoding");
    *response.headers_mut() = exchange.headers;
    response
}

/// The hostile receiver in front of `env`'s real one: `http://127.0.0.1:<port>`.
async fn hostile(
    env: &Env,
    before: impl Fn(&mut Exchange) -> Forward + Send + Sync + 'static,
    after: impl Fn(&mut Exchange) + Send + Sync + 'static,
) -> (String, Arc<Hostile>) {
    let state = Arc::new(Hostile {
        upstream: env.url.clone(),
        http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        seen: AtomicU32::new(0),
        before: Box::new(before),
        after: Box::new(after),
        captured: Mutex::default(),
        last_required: Mutex::default(),
    });
    let app = Router::new().fallback(hostile_handler).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, state)
}

fn set(headers: &mut HeaderMap, name: &str, value: String) {
    headers.insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::try_from(value).unwrap());
}

/// Rewrites the `uraiden` offer of a 402's `PAYMENT-REQUIRED` (the `RDN-*` headers beside it
/// stay the real receiver's), with `error` as its `error`.
fn forge_offer(exchange: &mut Exchange, forge: impl Fn(&mut UraidenOffer), error: Option<&str>) {
    let Some(required) = exchange.headers.get(PAYMENT_REQUIRED) else { return };
    let offered = OfferedPayment::parse_header(required.to_str().unwrap()).unwrap().unwrap();
    let mut offer = offered.offer;
    forge(&mut offer);
    let url = offered.resource.as_ref().and_then(|r| r.get("url")).and_then(|u| u.as_str()).unwrap_or("/");
    set(&mut exchange.headers, PAYMENT_REQUIRED, payment_required_header(&offer, url, error));
}

fn forge_response(exchange: &mut Exchange, settlement: &Settlement) {
    set(&mut exchange.headers, PAYMENT_RESPONSE, settlement.to_header_value());
}

/// A refusal of the payment `exchange` carries, for `reason`, naming `last` as the last proof.
fn refuse(exchange: &mut Exchange, reason: &str, last: Option<LastProof>, chain_id: u64) {
    exchange.status = StatusCode::PAYMENT_REQUIRED;
    exchange.body = Bytes::new();
    forge_offer(exchange, |_| {}, Some(reason));
    let payer = exchange.paid.as_ref().map(|paid| paid.payment.sender);
    let mut failed = Settlement::failed(chain_id, payer, reason, "forged");
    failed.last_proof = last;
    forge_response(exchange, &failed);
}

/// What the session reports.
#[derive(Default)]
struct Recorded {
    accepted: Mutex<Vec<(U192, U192)>>,
    costs: Mutex<Vec<U192>>,
}

impl SessionHooks for Recorded {
    fn on_payment_accepted(&self, _: ChannelId, price: U192, balance: U192, format: PaymentFormat) {
        assert_eq!(format, PaymentFormat::X402);
        self.accepted.lock().unwrap().push((price, balance));
    }
    fn on_success(&self, _: &reqwest::Url, cost: U192) {
        self.costs.lock().unwrap().push(cost);
    }
}

fn u(n: u64) -> U192 {
    U192::from(n)
}

/// The sender's only channel.
fn only_channel(client: &Client) -> uraiden_client::Channel {
    let channels = client.channels();
    assert_eq!(channels.len(), 1, "one channel");
    channels[0].clone()
}

async fn session(env: &Env, name: &str, options: SessionOptions) -> (Client, Session, Arc<Recorded>) {
    let client = env.client(&env.state_file(name)).await;
    let hooks = Arc::new(Recorded::default());
    (client.clone(), Session::with_hooks(client, options, hooks.clone()), hooks)
}

/// Attack: the 402's x402 offer names another channel manager, then another chain, than the
/// client's (its `RDN-*` headers name the real ones). Expected: refused before signing, opening
/// or paying anything (`ContractMismatch`), whichever format disagrees.
#[tokio::test]
async fn an_x402_offer_naming_another_channel_manager_or_chain_is_refused_before_paying() {
    let env = Env::start(1).await;
    let mode = Arc::new(AtomicU32::new(0));
    let m = mode.clone();
    let (url, _) = hostile(
        &env,
        |_| Forward::Yes,
        move |exchange| match m.load(Ordering::SeqCst) {
            0 => forge_offer(exchange, |offer| offer.contract = Address::repeat_byte(0xcc), None),
            _ => forge_offer(exchange, |offer| offer.chain_id = 1, None),
        },
    )
    .await;
    let (client, session, _) = session(&env, "sender.json", test_options()).await;
    let tokens = env.token_balance(env.chain.address(SENDER)).await;
    for which in 0..2 {
        mode.store(which, Ordering::SeqCst);
        let error = session.get(&format!("{url}/echofix/x")).await.unwrap_err();
        assert!(matches!(error, Error::ContractMismatch { .. }), "{error}");
    }
    assert!(client.channels().is_empty(), "no channel opened");
    assert_eq!(env.token_balance(env.chain.address(SENDER)).await, tokens, "no token moved");
    env.shutdown().await;
}

/// Attack: the x402 offer prices in another token (`asset`) than the channel manager's (its
/// `RDN-*` headers name the real one). The sender would pay the number in the channel's token.
/// Expected (as the wasm client does, `check_offer`): refused before paying; nothing opened.
#[tokio::test]
async fn an_x402_offer_in_another_token_is_refused_before_paying() {
    let env = Env::start(1).await;
    let (url, _) = hostile(
        &env,
        |_| Forward::Yes,
        |exchange| forge_offer(exchange, |o| o.token = Address::repeat_byte(0xdd), None),
    )
    .await;
    let (client, session, _) = session(&env, "sender.json", test_options()).await;
    let result = session.get(&format!("{url}/echofix/x")).await;
    let error = result.map(|r| r.status()).unwrap_err();
    assert!(
        matches!(&error, Error::Receiver { reason, .. } if reason.contains("prices in token")),
        "{error}"
    );
    assert!(client.channels().is_empty(), "no channel opened");
    env.shutdown().await;
}

/// Attack: the x402 offer asks 100 × the price its `RDN-*` headers name; the session's
/// `max_price` is the RDN price. Expected: `PriceAboveLimit` on the price of the format paid,
/// nothing opened. And a huge `extra.suggestedDeposit` is not the native deposit: the session's
/// deposit policy (10 × price) is.
#[tokio::test]
async fn the_x402_price_is_capped_and_its_suggested_deposit_is_ignored() {
    let env = Env::start(1).await;
    let mode = Arc::new(AtomicU32::new(0));
    let m = mode.clone();
    let (url, _) = hostile(
        &env,
        |_| Forward::Yes,
        move |exchange| match m.load(Ordering::SeqCst) {
            0 => forge_offer(exchange, |offer| offer.price = u(100 * PRICE), None),
            _ => forge_offer(exchange, |offer| offer.suggested_deposit = U192::MAX, None),
        },
    )
    .await;
    let options = SessionOptions { max_price: Some(u(PRICE)), ..test_options() };
    let (client, session, _) = session(&env, "sender.json", options).await;
    let error = session.get(&format!("{url}/echofix/x")).await.unwrap_err();
    assert!(matches!(error, Error::PriceAboveLimit { .. }), "{error}");
    assert!(client.channels().is_empty(), "no channel opened");

    mode.store(1, Ordering::SeqCst);
    let response = session.get(&format!("{url}/echofix/y")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(only_channel(&client).deposit(), u(10 * PRICE), "the session's deposit, not the offer's");
    env.shutdown().await;
}

/// Attack: the receiver takes the payment but its `PAYMENT-RESPONSE` claims success with another
/// balance (sent + 100): a sender adopting it would skip ahead and over-commit. Expected: not
/// booked (no `on_payment_accepted`, cost 0), the channel back to its last accepted balance;
/// the next request resyncs and the receiver ends up holding exactly one price per request.
#[tokio::test]
async fn a_success_naming_another_balance_is_not_booked() {
    let env = Env::start(1).await;
    let chain_id = env.chain.deployment.chain_id;
    let (url, _) = hostile(
        &env,
        |_| Forward::Yes,
        move |exchange| {
            if let (Some(paid), true, 1..=3) = (&exchange.paid, exchange.status.is_success(), exchange.n) {
                let payment = &paid.payment;
                let forged = Settlement::paid(chain_id, payment.sender, u(PRICE), payment.balance + u(100));
                forge_response(exchange, &forged);
            }
        },
    )
    .await;
    let (client, session, hooks) = session(&env, "sender.json", test_options()).await;
    let response = session.get(&format!("{url}/echofix/one")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(hooks.accepted.lock().unwrap().is_empty(), "not booked as accepted");
    assert_eq!(*hooks.costs.lock().unwrap(), vec![U192::ZERO]);
    let channel = only_channel(&client);
    assert_eq!(channel.balance(), U192::ZERO, "back to the last accepted balance, not {}", PRICE + 100);

    let served = 1 + served_after_an_unbooked_payment(&session, &url).await;
    let open_block = channel.id().open_block_number;
    assert_eq!(env.receiver_balance(open_block), Some(u(served * PRICE)), "one price per request served");
    assert_eq!(channel.balance(), u(served * PRICE));
    env.shutdown().await;
}

/// Requests `two` and `three` after a payment the receiver took was booked as not taken (the
/// channel went back to its last accepted balance): how many were served. Observed: `two`
/// re-sends the balance the receiver holds already; the receiver refuses it naming that very
/// proof as its last, and the session gives up (`resync`: "refused a payment on top of its own
/// last proof") rather than pay on top — no money lost, one failed call; `three` is paid on top.
async fn served_after_an_unbooked_payment(session: &Session, url: &str) -> u64 {
    let mut served = 0;
    for word in ["two", "three"] {
        match session.get(&format!("{url}/echofix/{word}")).await {
            Ok(response) => {
                assert_eq!(response.status(), 200);
                assert_eq!(response.text().await.unwrap(), word);
                served += 1;
            }
            Err(error) => {
                assert!(matches!(error, Error::GaveUp { .. }), "{error}");
                assert_eq!(word, "two", "only the first call after may fail: {error}");
            }
        }
    }
    assert!(served >= 1);
    served
}

/// Attack: the receiver answers a payment it took with a 402 whose `PAYMENT-RESPONSE` says
/// success (and whose offer names no refusal): content withheld, a second payment hoped for.
/// Expected: the call fails (no content, no panic), nothing more is paid: the real receiver
/// holds one price.
#[tokio::test]
async fn a_success_on_a_402_pays_nothing_more() {
    let env = Env::start(1).await;
    let (url, _) = hostile(
        &env,
        |_| Forward::Yes,
        |exchange| {
            if exchange.paid.is_some() && exchange.status.is_success() {
                exchange.status = StatusCode::PAYMENT_REQUIRED;
                exchange.body = Bytes::new();
                let required = exchange.last_required.clone().unwrap();
                set(&mut exchange.headers, PAYMENT_REQUIRED, required);
            }
        },
    )
    .await;
    let (client, session, _) = session(&env, "sender.json", test_options()).await;
    let error = session.get(&format!("{url}/echofix/one")).await.unwrap_err();
    assert!(matches!(error, Error::GaveUp { .. }), "{error}");
    let channel = only_channel(&client);
    assert_eq!(env.receiver_balance(channel.id().open_block_number), Some(u(PRICE)), "paid once");
    assert!(channel.balance() <= u(PRICE));
    env.shutdown().await;
}

/// Attack: a refusal (`invalid_balance_proof`) naming a `lastProof` that is not the sender's
/// own proof of this channel, to make it continue from a higher balance: signed by another
/// key, signed by the sender for another channel, above the deposit, or unsigned non-zero.
/// Expected for each: not adopted — the call fails with an error that shows no signature, and
/// the channel's balance never becomes the forged one.
#[tokio::test]
async fn a_forged_last_proof_is_never_adopted() {
    let env = Env::start(1).await;
    let chain_id = env.chain.deployment.chain_id;
    let sender_key = env.chain.signing_key(SENDER);
    let stranger = env.chain.signing_key(3);
    let forging = Arc::new(AtomicU32::new(0));
    let f = forging.clone();
    let f0 = forging.clone();
    let domain = Arc::new(Mutex::new(None));
    let d = domain.clone();
    let (url, hostile) = hostile(
        &env,
        move |exchange| match (&exchange.paid, f0.load(Ordering::SeqCst)) {
            (Some(_), 1..) => Forward::No,
            _ => Forward::Yes,
        },
        move |exchange| {
            let Some(paid) = exchange.paid.clone() else { return };
            let variant = f.load(Ordering::SeqCst);
            if variant == 0 {
                return;
            }
            let payment = &paid.payment;
            let id = ChannelId::new(payment.sender, payment.receiver, payment.open_block_number);
            let domain = d.lock().unwrap().clone().unwrap();
            let sign = |key: &uraiden_protocol::LocalSigningKey, id: ChannelId, balance: u64| {
                key.sign_balance_proof(&domain, &id.balance_proof(u(balance))).unwrap()
            };
            let other = ChannelId::new(id.sender, id.receiver, id.open_block_number + 1);
            let last = match variant {
                1 => LastProof { balance: u(40), signature: Some(sign(&stranger, id, 40)) },
                2 => LastProof { balance: u(40), signature: Some(sign(&sender_key, other, 40)) },
                3 => LastProof { balance: u(60), signature: Some(sign(&sender_key, id, 60)) },
                _ => LastProof { balance: u(40), signature: None },
            };
            refuse(exchange, Refusal::InvalidBalanceProof.x402_code(), Some(last), chain_id);
        },
    )
    .await;
    let (client, session, _) = session(&env, "sender.json", test_options()).await;
    *domain.lock().unwrap() = Some(client.domain().clone());
    assert_eq!(session.get(&format!("{url}/echofix/honest")).await.unwrap().status(), 200);
    let channel = only_channel(&client);
    assert_eq!(channel.deposit(), u(50));
    for variant in 1..=4 {
        forging.store(variant, Ordering::SeqCst);
        let before = channel.balance();
        let error = session.get(&format!("{url}/echofix/forged")).await.unwrap_err();
        assert!(matches!(error, Error::GaveUp { .. }), "variant {variant}: {error}");
        let shown = format!("{error} {error:?}");
        for captured in hostile.captured.lock().unwrap().iter() {
            let signature = X402Payment::parse_header(captured).unwrap().payment.balance_signature;
            assert!(
                !shown.contains(&signature.to_hex()[2..]),
                "variant {variant} shows a signature: {shown}"
            );
        }
        let after = channel.balance();
        assert!(after <= before + u(PRICE), "variant {variant}: {before} → {after}");
        assert_ne!(after, u(40));
        assert_ne!(after, u(60));
        let own = channel.balance_signature().unwrap();
        let rules =
            uraiden_protocol::SenderChannel { id: channel.id(), deposit: u(50), signer: client.address() };
        assert!(rules.signed_by_channel(client.domain(), after, &own), "variant {variant}: our own proof");
    }
    // And the honest receiver again: the sender resyncs and pays on top of what it holds.
    forging.store(0, Ordering::SeqCst);
    assert_eq!(session.get(&format!("{url}/echofix/again")).await.unwrap().status(), 200);
    assert_eq!(env.receiver_balance(channel.id().open_block_number), Some(u(2 * PRICE)));
    assert_eq!(channel.balance(), u(2 * PRICE));
    env.shutdown().await;
}

/// Attack: a refusal naming a genuine but OLDER proof of the sender (balance 5 when it holds
/// 10), to make it pay again for what it paid. Expected: it may continue from the lower count,
/// but the receiver never holds more than one price per request served (cumulative proofs: a
/// lower count costs the sender nothing).
#[tokio::test]
async fn a_lower_last_proof_makes_the_sender_pay_nothing_twice() {
    let env = Env::start(1).await;
    let chain_id = env.chain.deployment.chain_id;
    let sender_key = env.chain.signing_key(SENDER);
    let once = Arc::new(AtomicU32::new(0));
    let o = once.clone();
    let domain = Arc::new(Mutex::new(None));
    let d = domain.clone();
    let o2 = once.clone();
    let (url, _) = hostile(
        &env,
        move |exchange| {
            if exchange.paid.as_ref().is_some_and(|p| p.payment.balance == u(3 * PRICE))
                && o2.fetch_add(1, Ordering::SeqCst) == 0
            {
                return Forward::No;
            }
            Forward::Yes
        },
        move |exchange| {
            let Some(paid) = exchange.paid.clone() else { return };
            if o.load(Ordering::SeqCst) != 1 || paid.payment.balance != u(3 * PRICE) || exchange.status != 402
            {
                return;
            }
            let payment = &paid.payment;
            let id = ChannelId::new(payment.sender, payment.receiver, payment.open_block_number);
            let domain = d.lock().unwrap().clone().unwrap();
            let older: ProofSignature =
                sender_key.sign_balance_proof(&domain, &id.balance_proof(u(PRICE))).unwrap();
            let last = LastProof { balance: u(PRICE), signature: Some(older) };
            refuse(exchange, Refusal::InvalidBalanceProof.x402_code(), Some(last), chain_id);
        },
    )
    .await;
    let (client, session, _) = session(&env, "sender.json", test_options()).await;
    *domain.lock().unwrap() = Some(client.domain().clone());
    let mut served = 0;
    for word in ["one", "two", "three", "four"] {
        if let Ok(response) = session.get(&format!("{url}/echofix/{word}")).await {
            if response.status() == 200 && response.text().await.unwrap() == word {
                served += 1;
            }
        }
    }
    let channel = only_channel(&client);
    let held = env.receiver_balance(channel.id().open_block_number).unwrap();
    assert!(held <= u(PRICE * served), "the receiver holds {held} for {served} requests served");
    // One call may fail (see `served_after_an_unbooked_payment`); the next ones are paid.
    assert!(served >= 3, "{served} served");
    env.shutdown().await;
}

/// Attack: every payment is answered `invalid_payment_requirements` (the offer "changed"),
/// for ever, to keep the sender signing. Expected: a bounded number of tries (≤ 3 payments),
/// then an error; the channel back to its last accepted balance; the receiver took nothing.
#[tokio::test]
async fn endless_invalid_payment_requirements_end_in_an_error() {
    let env = Env::start(1).await;
    let chain_id = env.chain.deployment.chain_id;
    let (url, hostile) = hostile(
        &env,
        |exchange| if exchange.paid.is_some() { Forward::No } else { Forward::Yes },
        move |exchange| {
            if exchange.paid.is_some() {
                refuse(exchange, INVALID_PAYMENT_REQUIREMENTS, None, chain_id);
            }
        },
    )
    .await;
    let (client, session, _) = session(&env, "sender.json", test_options()).await;
    let error = session.get(&format!("{url}/echofix/x")).await.unwrap_err();
    assert!(matches!(error, Error::GaveUp { .. }), "{error}");
    assert!(
        hostile.captured.lock().unwrap().len() <= 3,
        "{} payments",
        hostile.captured.lock().unwrap().len()
    );
    let channel = only_channel(&client);
    assert_eq!(channel.balance(), U192::ZERO);
    assert_eq!(env.receiver_balance(channel.id().open_block_number).unwrap_or_default(), U192::ZERO);
    env.shutdown().await;
}

/// Attack: the receiver takes the payment and serves, but drops `PAYMENT-RESPONSE` (a 200 that
/// is not the paywall's answer as far as the sender can tell). Expected: served, cost 0, the
/// channel back to its last accepted balance; the next request resyncs, and the receiver holds
/// exactly one price per request.
#[tokio::test]
async fn a_200_without_payment_response_is_not_booked() {
    let env = Env::start(1).await;
    let (url, _) = hostile(
        &env,
        |_| Forward::Yes,
        |exchange| {
            if exchange.n <= 3 {
                exchange.headers.remove(PAYMENT_RESPONSE);
            }
        },
    )
    .await;
    let (client, session, hooks) = session(&env, "sender.json", test_options()).await;
    let response = session.get(&format!("{url}/echofix/one")).await.unwrap();
    assert_eq!((response.status(), response.text().await.unwrap()), (StatusCode::OK, "one".to_owned()));
    assert_eq!(*hooks.costs.lock().unwrap(), vec![U192::ZERO]);
    let channel = only_channel(&client);
    assert_eq!(channel.balance(), U192::ZERO);
    let served = 1 + served_after_an_unbooked_payment(&session, &url).await;
    assert_eq!(env.receiver_balance(channel.id().open_block_number), Some(u(served * PRICE)));
    assert_eq!(channel.balance(), u(served * PRICE));
    env.shutdown().await;
}

/// Attack: a stranger who captured `PAYMENT-SIGNATURE`s (the first payment, and the retry that
/// carries a status request after a refusal) replays them to the receiver. Expected: never
/// served, never charged again; the status request inside expires within the protocol's
/// request lifetime (5 minutes), the only thing it can still learn being the last proof.
#[tokio::test]
async fn a_captured_payment_signature_buys_nothing_for_a_stranger() {
    let env = Env::start(1).await;
    let chain_id = env.chain.deployment.chain_id;
    let refused_once = Arc::new(AtomicU64::new(0));
    let r = refused_once.clone();
    let (url, hostile) = hostile(
        &env,
        move |exchange| {
            // The second payment is refused unseen (as if lost), so the sender retries with a
            // status request.
            if exchange.paid.as_ref().is_some_and(|p| p.payment.balance == u(2 * PRICE))
                && r.fetch_add(1, Ordering::SeqCst) == 0
            {
                return Forward::No;
            }
            Forward::Yes
        },
        move |exchange| {
            if exchange.status == 402
                && exchange.paid.is_some()
                && exchange.headers.get(PAYMENT_RESPONSE).is_none()
            {
                refuse(exchange, Refusal::InvalidAmount.x402_code(), None, chain_id);
            }
        },
    )
    .await;
    let (client, session, _) = session(&env, "sender.json", test_options()).await;
    for word in ["one", "two"] {
        assert_eq!(session.get(&format!("{url}/echofix/{word}")).await.unwrap().status(), 200);
    }
    let channel = only_channel(&client);
    let open_block = channel.id().open_block_number;
    assert_eq!(env.receiver_balance(open_block), Some(u(2 * PRICE)));
    let captured = hostile.captured.lock().unwrap().clone();
    let with_status: Vec<_> =
        captured.iter().filter(|c| X402Payment::parse_header(c).unwrap().status.is_some()).collect();
    assert!(!with_status.is_empty(), "a retry carried a status request: {captured:?}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    for signed in &with_status {
        let deadline = X402Payment::parse_header(signed).unwrap().status.unwrap().deadline;
        assert!(deadline <= now + 300, "the status request lives at most 5 minutes: {deadline} vs {now}");
    }
    let stranger = reqwest::Client::new();
    for signature in &captured {
        let answer = stranger
            .get(format!("{}/echofix/stolen", env.url))
            .header(PAYMENT_SIGNATURE, signature)
            .send()
            .await
            .unwrap();
        assert_ne!(answer.status(), 200, "a replayed payment is not served");
    }
    assert_eq!(env.receiver_balance(open_block), Some(u(2 * PRICE)), "nothing charged by the replays");
    env.shutdown().await;
}
