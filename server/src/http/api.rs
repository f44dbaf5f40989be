//! The REST API under the gateway path `/api/1` (seed §4.5.3).
//!
//! - `GET /stats`: public totals, addresses and the contracts' ABIs.
//! - `GET /channels`, `/channels/{sender}`, `/channels/{sender}/{open_block}`: for the
//!   operator only (`Authorization: Bearer <token>`); off (404) without a configured token.
//!   Listings never carry a sender's signature.
//! - `DELETE /channels/{sender}/{open_block}` with `{"balance", "deadline", "signature"}`, a
//!   close request the channel's sender or signer signed just now (EIP-712 `CloseRequest`, see
//!   `uraiden_protocol::SignedCloseRequest`): the receiver's closing signature for the
//!   channel's last accepted balance. Not for a balance proof, even the last one: proofs travel
//!   in headers and cookies and leak, and anyone holding one could close someone's channel. A
//!   close request for another balance is a 409 that carries the last accepted proof (its
//!   signer may see it) so the sender can close at it.
//! - Operator actions (bearer token), which send the receiver's transactions:
//!   `POST /withdraw` (body optional: `{"min_amount": "<decimal>"}`) and
//!   `POST /channels/{sender}/{open_block}/withdraw` take earned balances without closing;
//!   `POST /close-all` closes every channel with a payment. They live here rather than only in
//!   a CLI command because the running server holds the state file (one process per file):
//!   an operator collects without stopping the business. Each answers per channel.

use std::{
    sync::{LazyLock, Mutex},
    time::{Duration, Instant},
};

use axum::{
    body::Bytes,
    extract::{FromRequestParts, Path, State},
    http::{header, request::Parts, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Serialize;
use serde_json::{json, Value};
use uraiden_protocol::{
    parse_address, Address, BodyError, ChannelId, CloseRequestBody, ClosingSignatureBody, LastProofBody,
    WithdrawBody, U192,
};

use super::{
    backend::{
        ChannelClose, ChannelView, CloseOutcome, CloseRefused, LastProof, WithdrawError, WithdrawOutcome,
        Withdrawal,
    },
    state::AppState,
};

/// The API's routes, to be nested under the gateway path.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/stats", get(stats))
        .route("/channels", get(list_channels))
        .route("/channels/", get(list_channels))
        .route("/channels/{sender}", get(list_sender_channels))
        .route("/channels/{sender}/{open_block}", get(channel_detail).delete(cooperative_close))
        .route("/channels/{sender}/{open_block}/withdraw", post(withdraw_channel))
        .route("/withdraw", post(withdraw_all))
        .route("/close-all", post(close_all))
        .fallback(|| async { ApiError::NotFound("no such API endpoint".into()) })
}

/// Errors of the API, as `{"error": code, "message": text}`; internal details stay in the log.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("the operator API needs `Authorization: Bearer <token>` with the server's API token")]
    Unauthorized,
    #[error(
        "the operator API is off: start the server with --api-token-file FILE (or URAIDEN_API_TOKEN) \
         to list channels"
    )]
    OperatorApiDisabled,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    /// An authentic close request for another balance: the 409 carries the last proof.
    #[error(
        "the close request is for another balance than the channel's last accepted one, {}; sign a close \
         request for that balance (its proof is in balance / balance_signature)",
        .0.balance
    )]
    NotLastBalance(LastProof),
    /// A transaction or chain read of the receiver failed (a 502 with the reason).
    #[error("{0}")]
    Chain(String),
    #[error("internal error; see the receiver's log")]
    Internal(String),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad request"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not found"),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::OperatorApiDisabled => (StatusCode::NOT_FOUND, "operator api disabled"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::Conflict(_) | Self::NotLastBalance(_) => (StatusCode::CONFLICT, "conflict"),
            Self::Chain(_) => (StatusCode::BAD_GATEWAY, "chain error"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            tracing::error!(%detail, "API request failed");
        }
        let (status, code) = self.status_and_code();
        let mut body = json!({ "error": code, "message": self.to_string() });
        if let (Self::NotLastBalance(last), Some(fields)) = (&self, body.as_object_mut()) {
            let last = LastProofBody { balance: last.balance, balance_signature: last.signature };
            fields.extend(last.to_json_fields());
        }
        let mut response = (status, Json(body)).into_response();
        if matches!(self, Self::Unauthorized) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Proof that the request carries the operator's bearer token.
#[derive(Debug)]
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = state.options().api_token.as_ref().ok_or(ApiError::OperatorApiDisabled)?;
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or(ApiError::Unauthorized)?;
        if token.matches(presented) {
            Ok(Self)
        } else {
            if let Some(unlogged) = WRONG_TOKEN_LOG.allow(Instant::now()) {
                tracing::warn!(unlogged, "operator API request with a wrong bearer token");
            }
            Err(ApiError::Unauthorized)
        }
    }
}

/// Wrong operator tokens are logged at most once a minute, with how many were not: a line per
/// guess would let anyone fill the operator's disk.
static WRONG_TOKEN_LOG: LogLimiter = LogLimiter::new(Duration::from_secs(60));

/// Lets one event through per `interval`, counting the others.
#[derive(Debug)]
struct LogLimiter {
    interval: Duration,
    /// The last event let through, and the events held back since. std Mutex: held for a
    /// comparison, never across an `.await`.
    state: Mutex<(Option<Instant>, u64)>,
}

impl LogLimiter {
    const fn new(interval: Duration) -> Self {
        Self { interval, state: Mutex::new((None, 0)) }
    }

    /// `Some(held back since the last one)` when an event at `now` may be logged.
    fn allow(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (last, held_back) = &mut *state;
        if last.is_some_and(|last| now.saturating_duration_since(last) < self.interval) {
            *held_back += 1;
            return None;
        }
        *last = Some(now);
        Some(std::mem::take(held_back))
    }
}

static MANAGER_ABI: LazyLock<Value> =
    LazyLock::new(|| abi_of(include_str!("../../../contracts/artifacts/RaidenMicroTransferChannels.json")));
static TOKEN_ABI: LazyLock<Value> =
    LazyLock::new(|| abi_of(include_str!("../../../contracts/artifacts/CustomToken.json")));

fn abi_of(artifact: &str) -> Value {
    serde_json::from_str::<Value>(artifact)
        .ok()
        .and_then(|mut v| v.get_mut("abi").map(Value::take))
        .unwrap_or(Value::Null)
}

/// `GET /api/1/stats`.
async fn stats(State(state): State<AppState>) -> Json<Value> {
    let stats = state.backend().stats();
    let gateway = state.gateway();
    Json(json!({
        "balance_sum": stats.balance_sum.to_string(),
        "deposit_sum": stats.deposit_sum.to_string(),
        "open_channels": stats.open_channels,
        "pending_channels": stats.pending_channels,
        "settled_channels": stats.settled_channels,
        "unconfirmed_channels": stats.unconfirmed_channels,
        "unique_senders": stats.unique_senders,
        "liquid_balance": stats.liquid_balance.map(|balance| balance.to_string()),
        "token_address": gateway.token.to_checksum(None),
        "contract_address": gateway.contract.to_checksum(None),
        "receiver_address": gateway.receiver.to_checksum(None),
        "chain_id": gateway.chain_id,
        "sync_block": stats.sync_block,
        "manager_abi": &*MANAGER_ABI,
        "token_abi": &*TOKEN_ABI,
    }))
}

/// A channel in the API: the seed's fields plus signer and confirmation, never a signature.
#[derive(Debug, Serialize)]
struct ChannelJson {
    sender_address: String,
    open_block: u32,
    balance: String,
    deposit: String,
    state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    signer: Option<String>,
    confirmed: bool,
}

impl From<ChannelView> for ChannelJson {
    fn from(channel: ChannelView) -> Self {
        Self {
            sender_address: channel.sender.to_checksum(None),
            open_block: channel.open_block,
            balance: channel.balance.to_string(),
            deposit: channel.deposit.to_string(),
            state: channel.state,
            signer: channel.signer.map(|signer| signer.to_checksum(None)),
            confirmed: channel.confirmed,
        }
    }
}

/// `GET /api/1/channels`: every channel the receiver knows.
async fn list_channels(_: Operator, State(state): State<AppState>) -> Json<Vec<ChannelJson>> {
    Json(state.backend().channels().into_iter().map(ChannelJson::from).collect())
}

/// `GET /api/1/channels/{sender}`.
async fn list_sender_channels(
    _: Operator,
    State(state): State<AppState>,
    Path(sender): Path<String>,
) -> Result<Json<Vec<ChannelJson>>, ApiError> {
    let sender = sender_from_path(&sender)?;
    let channels = state.backend().channels().into_iter().filter(|channel| channel.sender == sender);
    Ok(Json(channels.map(ChannelJson::from).collect()))
}

/// `GET /api/1/channels/{sender}/{open_block}`.
async fn channel_detail(
    _: Operator,
    State(state): State<AppState>,
    Path((sender, open_block)): Path<(String, String)>,
) -> Result<Json<ChannelJson>, ApiError> {
    let (sender, open_block) = (sender_from_path(&sender)?, open_block_from_path(&open_block)?);
    state
        .backend()
        .channel(sender, open_block)
        .map(|channel| Json(channel.into()))
        .ok_or_else(|| unknown(sender, open_block))
}

const CLOSE_REQUEST_HELP: &str = "send {\"balance\": \"<decimal>\", \"deadline\": <unix seconds>, \
    \"signature\": \"0x…\"}: an EIP-712 CloseRequest(address sender,address receiver,uint32 openBlockNumber,\
    uint192 balance,uint64 deadline) over the channel's last accepted balance, signed by the channel's sender \
    or signer, with a deadline at most 10 minutes ahead";

/// `DELETE /api/1/channels/{sender}/{open_block}`.
async fn cooperative_close(
    State(state): State<AppState>,
    Path((sender, open_block)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let (sender, open_block) = (sender_from_path(&sender)?, open_block_from_path(&open_block)?);
    let request = CloseRequestBody::from_json(&body)
        .map_err(|error| match error {
            // The seed's body: a balance proof, which anyone who saw it holds.
            BodyError::BalanceProof => ApiError::Forbidden(format!("{error}; {CLOSE_REQUEST_HELP}")),
            BodyError::NotJson(_) | BodyError::Shape(_) => {
                ApiError::BadRequest(format!("{error}; {CLOSE_REQUEST_HELP}"))
            }
            BodyError::Field { .. } => ApiError::BadRequest(error.to_string()),
        })?
        .for_channel(ChannelId::new(sender, state.gateway().receiver, open_block));
    match state.backend().sign_cooperative_close(&request).await {
        Ok(close_signature) => {
            tracing::info!(%sender, open_block, balance = %request.balance, "closing signature given");
            Ok(Json(ClosingSignatureBody { close_signature }.to_json()))
        }
        Err(CloseRefused::UnknownChannel) => Err(unknown(sender, open_block)),
        Err(CloseRefused::NotAuthorized(reason)) => {
            Err(ApiError::Forbidden(format!("close request refused: {reason}")))
        }
        Err(CloseRefused::NotLastBalance(last)) => Err(ApiError::NotLastBalance(last)),
        Err(CloseRefused::NotOpen(state)) => {
            Err(ApiError::Conflict(format!("the channel is not open (it is {state}); nothing to close")))
        }
        Err(CloseRefused::Internal(detail)) => Err(ApiError::Internal(detail)),
    }
}

/// `POST /api/1/withdraw`: every channel with at least `min_amount` earned and not withdrawn.
async fn withdraw_all(
    _: Operator,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let min_amount = WithdrawBody::from_json(&body)
        .map_err(|error| match error {
            BodyError::Field { .. } => ApiError::BadRequest(error.to_string()),
            _ => ApiError::BadRequest(format!(
                "expected no body or {{\"min_amount\": \"<decimal>\"}}: {error}"
            )),
        })?
        .min_amount;
    let report =
        state.backend().withdraw(None, min_amount).await.map_err(|e| ApiError::Conflict(e.to_string()))?;
    let withdrawals: Vec<Value> =
        report.iter().map(|(channel, result)| withdrawal_json(*channel, result)).collect();
    Ok(Json(json!({ "withdrawals": withdrawals })))
}

/// `POST /api/1/channels/{sender}/{open_block}/withdraw`.
async fn withdraw_channel(
    _: Operator,
    State(state): State<AppState>,
    Path((sender, open_block)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (sender, open_block) = (sender_from_path(&sender)?, open_block_from_path(&open_block)?);
    let report = state
        .backend()
        .withdraw(Some((sender, open_block)), U192::ZERO)
        .await
        .map_err(|e| ApiError::Conflict(e.to_string()))?;
    let Some((channel, result)) = report.into_iter().next() else {
        return Err(unknown(sender, open_block));
    };
    match result {
        Ok(_) => Ok(Json(withdrawal_json(channel, &result))),
        Err(WithdrawError::UnknownChannel { .. }) => Err(unknown(sender, open_block)),
        Err(error @ (WithdrawError::Closing(_) | WithdrawError::Settled)) => {
            Err(ApiError::Conflict(error.to_string()))
        }
        Err(error @ (WithdrawError::Node(_) | WithdrawError::Transaction(_))) => {
            Err(ApiError::Chain(error.to_string()))
        }
    }
}

fn withdrawal_json(
    channel: uraiden_protocol::ChannelId,
    result: &Result<Withdrawal, WithdrawError>,
) -> Value {
    let mut entry = json!({
        "sender_address": channel.sender.to_checksum(None),
        "open_block": channel.open_block_number,
    });
    let fields = match result {
        Ok(Withdrawal { balance, outcome, .. }) => match outcome {
            WithdrawOutcome::Withdrawn { amount, transaction } => json!({
                "status": "withdrawn", "balance": balance.to_string(), "amount": amount.to_string(),
                "transaction": transaction.to_string(),
            }),
            WithdrawOutcome::NothingToWithdraw => {
                json!({ "status": "nothing_to_withdraw", "balance": balance.to_string() })
            }
            WithdrawOutcome::BelowMinimum { unwithdrawn } => json!({
                "status": "below_minimum", "balance": balance.to_string(), "unwithdrawn": unwithdrawn.to_string(),
            }),
        },
        Err(error) => json!({ "status": "failed", "message": error.to_string() }),
    };
    if let (Some(entry), Value::Object(fields)) = (entry.as_object_mut(), fields) {
        entry.extend(fields);
    }
    entry
}

/// `POST /api/1/close-all`: closes every channel with a payment; per channel what happened.
async fn close_all(_: Operator, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let report = state.backend().close_all().await.map_err(|e| ApiError::Conflict(e.to_string()))?;
    let channels: Vec<Value> = report.iter().map(close_json).collect();
    Ok(Json(json!({ "channels": channels })))
}

fn close_json(close: &ChannelClose) -> Value {
    let (status, detail) = match &close.outcome {
        CloseOutcome::Closed { transaction } => ("closed", json!({ "transaction": transaction.to_string() })),
        CloseOutcome::Pending { error } => (
            "close_pending",
            json!({ "message": format!("{error}; the receiver retries in the background") }),
        ),
        CloseOutcome::NothingToCollect => (
            "nothing_to_collect",
            json!({ "message": "nothing was paid in this channel; left to its sender" }),
        ),
        CloseOutcome::AlreadyClosing => (
            "already_closing",
            json!({ "message": "the sender asked to close; the receiver's dispute or settlement handles it" }),
        ),
    };
    let mut entry = json!({
        "sender_address": close.channel.sender.to_checksum(None),
        "open_block": close.channel.open_block_number,
        "balance": close.balance.to_string(),
        "status": status,
    });
    if let (Some(entry), Value::Object(detail)) = (entry.as_object_mut(), detail) {
        entry.extend(detail);
    }
    entry
}

fn sender_from_path(sender: &str) -> Result<Address, ApiError> {
    parse_address(sender)
        .map_err(|error| ApiError::BadRequest(format!("sender address in the path: {error}")))
}

fn open_block_from_path(open_block: &str) -> Result<u32, ApiError> {
    open_block.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "open block in the path: expected a decimal block number up to 4294967295, got {:?}",
            open_block.chars().take(24).collect::<String>()
        ))
    })
}

fn unknown(sender: Address, open_block: u32) -> ApiError {
    ApiError::NotFound(format!("this receiver knows no channel from {sender} opened at block {open_block}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abis_come_from_the_artifacts() {
        assert!(MANAGER_ABI
            .as_array()
            .is_some_and(|abi| abi.iter().any(|item| item["name"] == "cooperativeClose")));
        assert!(TOKEN_ABI.as_array().is_some_and(|abi| abi.iter().any(|item| item["name"] == "transfer")));
    }

    #[test]
    fn the_log_limiter_lets_one_event_through_per_interval_and_counts_the_rest() {
        let limiter = LogLimiter::new(Duration::from_secs(60));
        let start = Instant::now();
        assert_eq!(limiter.allow(start), Some(0));
        for second in 1..=59 {
            assert_eq!(limiter.allow(start + Duration::from_secs(second)), None);
        }
        assert_eq!(limiter.allow(start + Duration::from_secs(60)), Some(59));
        assert_eq!(limiter.allow(start + Duration::from_secs(61)), None);
    }

    #[test]
    fn path_values_are_checked_with_clear_messages() {
        assert!(open_block_from_path("4294967296").is_err());
        assert_eq!(open_block_from_path("42").unwrap(), 42);
        let error = sender_from_path("0x12").unwrap_err().to_string();
        assert!(error.starts_with("sender address in the path"), "{error}");
    }
}
