//! Shared by the HTTP tests: an in-memory [`ChannelBackend`] with one simplified channel
//! (real signatures, the protocol's refusal rules), and request helpers for `oneshot`.

// Each test file uses its own part of this module; helpers panic as the failure report.
#![allow(dead_code, clippy::unwrap_used, clippy::result_large_err)]

use std::sync::{Arc, Mutex};

use axum::{
    body::Body,
    http::{Request, Response},
    Router,
};
use http_body_util::BodyExt;
use tower::ServiceExt;
use uraiden_protocol::{
    channel_manager_domain, recover_balance_proof_signer, request_deadline, Address, ChannelId,
    LocalSigningKey, PaymentHeaders, ProofSignature, Refusal, SignedCloseRequest, SignedStatusRequest, U192,
};
use uraiden_server::{
    backend::{
        AcceptedPayment, BoxFuture, ChannelBackend, ChannelView, CloseRefused, HealthView, LastProof,
        PaymentRejected, StatsView, StatusRefused,
    },
    decide_payment, ApiToken, AppState, Gateway, HttpOptions, OpenChannel, PayableChannel,
};

// anvil's development keys: public knowledge, never real money.
pub const SENDER_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
pub const STRANGER_KEY: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
pub const CHAIN_ID: u64 = 31337;
pub const OPEN_BLOCK: u32 = 7;
pub const DEPOSIT: u64 = 20;
pub const API_TOKEN: &str = "operator-token-for-tests";

pub fn receiver() -> Address {
    Address::repeat_byte(0x11)
}
pub fn contract() -> Address {
    Address::repeat_byte(0x22)
}
pub fn token() -> Address {
    Address::repeat_byte(0x33)
}
pub fn sender_key() -> LocalSigningKey {
    LocalSigningKey::from_hex(SENDER_KEY).unwrap()
}
pub fn stranger_key() -> LocalSigningKey {
    LocalSigningKey::from_hex(STRANGER_KEY).unwrap()
}

/// One channel from [`sender_key`] at [`OPEN_BLOCK`] with [`DEPOSIT`].
#[derive(Debug, Default)]
pub struct FakeChannel {
    pub balance: U192,
    pub signature: Option<ProofSignature>,
    pub close_signed: bool,
}

#[derive(Debug, Default)]
pub struct FakeBackend {
    pub channel: Mutex<FakeChannel>,
    pub health: Mutex<HealthView>,
    /// When set, every payment is refused with this (e.g. insufficient confirmations).
    pub force_refusal: Mutex<Option<Refusal>>,
}

impl FakeBackend {
    pub fn healthy() -> Arc<Self> {
        let backend = Self::default();
        *backend.health.lock().unwrap() = HealthView {
            node_reachable: true,
            receiver_eth_low: false,
            sync_lag_blocks: 0,
            caught_up: true,
            leader: true,
        };
        Arc::new(backend)
    }

    fn sender(&self) -> Address {
        sender_key().address()
    }

    fn last(&self) -> LastProof {
        let channel = self.channel.lock().unwrap();
        LastProof {
            sender: self.sender(),
            open_block: OPEN_BLOCK,
            balance: channel.balance,
            signature: channel.signature,
        }
    }

    fn view(&self) -> ChannelView {
        let channel = self.channel.lock().unwrap();
        ChannelView {
            sender: self.sender(),
            open_block: OPEN_BLOCK,
            deposit: U192::from(DEPOSIT),
            balance: channel.balance,
            state: if channel.close_signed { "close_signed" } else { "open" }.into(),
            signer: None,
            confirmed: true,
        }
    }
}

impl ChannelBackend for FakeBackend {
    fn accept_payment<'a>(
        &'a self,
        payment: &'a PaymentHeaders,
        price: U192,
    ) -> BoxFuture<'a, Result<AcceptedPayment, PaymentRejected>> {
        Box::pin(async move {
            let refused = |refusal| Err(PaymentRejected::Refused { refusal });
            let mut channel = self.channel.lock().unwrap();
            if let Some(refusal) = *self.force_refusal.lock().unwrap() {
                return refused(refusal);
            }
            // The receiver's own payment rule, on the one channel this backend knows.
            let ours = payment.sender == self.sender() && payment.open_block_number == OPEN_BLOCK;
            let standing = if ours && !channel.close_signed {
                PayableChannel::Open(OpenChannel {
                    sender: self.sender(),
                    signer: self.sender(),
                    balance: channel.balance,
                    deposit: U192::from(DEPOSIT),
                    unconfirmed_top_up: U192::ZERO,
                })
            } else {
                PayableChannel::Closed
            };
            let domain = channel_manager_domain(CHAIN_ID, contract());
            let recover = || {
                recover_balance_proof_signer(&domain, &payment.balance_proof(), &payment.balance_signature)
                    .ok()
            };
            if let Err(refusal) = decide_payment(&standing, recover, payment.balance, price) {
                return refused(refusal);
            }
            channel.balance = payment.balance;
            channel.signature = Some(payment.balance_signature);
            Ok(AcceptedPayment {
                channel: ChannelId::new(payment.sender, payment.receiver, OPEN_BLOCK),
                balance: payment.balance,
                signature: payment.balance_signature,
            })
        })
    }

    fn channel(&self, sender: Address, open_block: u32) -> Option<ChannelView> {
        (sender == self.sender() && open_block == OPEN_BLOCK).then(|| self.view())
    }

    fn channels(&self) -> Vec<ChannelView> {
        vec![self.view()]
    }

    fn last_proof<'a>(
        &'a self,
        request: &'a SignedStatusRequest,
    ) -> BoxFuture<'a, Result<LastProof, StatusRefused>> {
        Box::pin(async move {
            if request.channel != channel_id() {
                return Err(StatusRefused::Channel(Refusal::NonexistingChannel));
            }
            let domain = channel_manager_domain(CHAIN_ID, contract());
            request.verify(&domain, self.sender(), unix_now()).map_err(StatusRefused::NotAuthorized)?;
            Ok(self.last())
        })
    }

    fn sign_cooperative_close<'a>(
        &'a self,
        request: &'a SignedCloseRequest,
    ) -> BoxFuture<'a, Result<ProofSignature, CloseRefused>> {
        Box::pin(async move {
            if request.channel != channel_id() {
                return Err(CloseRefused::UnknownChannel);
            }
            let domain = channel_manager_domain(CHAIN_ID, contract());
            request
                .verify(&domain, self.sender(), unix_now())
                .map_err(|error| CloseRefused::NotAuthorized(error.to_string()))?;
            if request.balance != self.channel.lock().unwrap().balance {
                return Err(CloseRefused::NotLastBalance(self.last()));
            }
            self.channel.lock().unwrap().close_signed = true;
            let receiver_key = LocalSigningKey::from_hex(STRANGER_KEY).unwrap();
            Ok(receiver_key
                .sign_closing_proof(&domain, &request.channel.closing_proof(request.balance))
                .unwrap())
        })
    }

    fn stats(&self) -> StatsView {
        let channel = self.channel.lock().unwrap();
        StatsView {
            balance_sum: uraiden_protocol::U256::from(channel.balance),
            deposit_sum: uraiden_protocol::U256::from(DEPOSIT),
            open_channels: 1,
            unique_senders: 1,
            liquid_balance: Some(uraiden_protocol::U256::from(1000u64)),
            sync_block: 99,
            ..StatsView::default()
        }
    }

    fn health(&self) -> HealthView {
        self.health.lock().unwrap().clone()
    }
}

pub fn gateway() -> Gateway {
    Gateway::new(receiver(), contract(), token(), CHAIN_ID)
}

pub fn state_with(backend: Arc<FakeBackend>, options: HttpOptions) -> AppState {
    AppState::new(backend, gateway(), options)
}

pub fn default_options() -> HttpOptions {
    HttpOptions {
        tls: false,
        paywall_dir: None,
        api_token: ApiToken::new(API_TOKEN),
        no_paid_note: false,
        no_x402: false,
    }
}

/// The fake's one channel.
pub fn channel_id() -> ChannelId {
    ChannelId::new(sender_key().address(), receiver(), OPEN_BLOCK)
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// A status request of the fake's channel signed by `key`, valid until `deadline`.
pub fn status_request_by(key: &LocalSigningKey, deadline: u64) -> SignedStatusRequest {
    SignedStatusRequest::sign(key, &channel_manager_domain(CHAIN_ID, contract()), channel_id(), deadline)
        .unwrap()
}

/// A fresh status request of the sender.
pub fn status_request() -> SignedStatusRequest {
    status_request_by(&sender_key(), request_deadline(unix_now()))
}

/// A close request of the fake's channel at `balance`, signed by `key`, valid until `deadline`.
pub fn close_request_by(key: &LocalSigningKey, balance: u64, deadline: u64) -> SignedCloseRequest {
    let domain = channel_manager_domain(CHAIN_ID, contract());
    SignedCloseRequest::sign(key, &domain, channel_id(), U192::from(balance), deadline).unwrap()
}

/// The JSON body of `DELETE /api/1/channels/…` for `request`.
pub fn close_body(request: &SignedCloseRequest) -> String {
    serde_json::json!({
        "balance": request.balance.to_string(),
        "deadline": request.deadline,
        "signature": request.signature.to_hex(),
    })
    .to_string()
}

pub fn with_status(
    mut builder: axum::http::request::Builder,
    status: &SignedStatusRequest,
) -> axum::http::request::Builder {
    for (name, value) in status.to_header_pairs() {
        builder = builder.header(name, value);
    }
    builder
}

/// A signed payment of the sender's channel at cumulative `balance`.
pub fn payment(balance: u64) -> PaymentHeaders {
    payment_signed_by(&sender_key(), balance)
}

pub fn payment_signed_by(key: &LocalSigningKey, balance: u64) -> PaymentHeaders {
    let id = ChannelId::new(sender_key().address(), receiver(), OPEN_BLOCK);
    let domain = channel_manager_domain(CHAIN_ID, contract());
    let signature = key.sign_balance_proof(&domain, &id.balance_proof(U192::from(balance))).unwrap();
    PaymentHeaders {
        contract: contract(),
        receiver: receiver(),
        sender: id.sender,
        open_block_number: OPEN_BLOCK,
        balance: U192::from(balance),
        balance_signature: signature,
        payment: None,
    }
}

pub fn get(uri: &str) -> axum::http::request::Builder {
    Request::builder().uri(uri)
}

pub fn with_payment(
    mut builder: axum::http::request::Builder,
    payment: &PaymentHeaders,
) -> axum::http::request::Builder {
    for (name, value) in payment.to_header_pairs() {
        builder = builder.header(name, value);
    }
    builder
}

pub fn as_cookies(payment: &PaymentHeaders) -> String {
    payment
        .to_header_pairs()
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("; ")
}

pub async fn send(app: &Router, request: axum::http::request::Builder) -> (Response<()>, Vec<u8>) {
    let response = app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes().to_vec();
    (Response::from_parts(parts, ()), bytes)
}

pub fn header<'a>(response: &'a Response<()>, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|value| value.to_str().unwrap())
}

pub fn set_cookies(response: &Response<()>) -> Vec<String> {
    response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect()
}

pub fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}
