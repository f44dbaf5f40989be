//! x402 v2 over HTTP for the `uraiden` scheme: the one definition of its JSON, for the
//! receiver that offers it and every sender that pays through it (the native client, the
//! browser library, and the scheme client an `@x402/fetch` app registers).
//!
//! The payment is the same balance proof as in the `RDN-*` headers; only how it travels
//! differs (see `docs/x402-scheme-uraiden.md`):
//!
//! - a 402 carries `PAYMENT-REQUIRED`: base64 of `{x402Version: 2, resource, accepts}`, whose
//!   `uraiden` entry ([`UraidenOffer`]) names the price, token, receiver and, in `extra`, the
//!   channel manager and its EIP-712 domain;
//! - the sender answers with `PAYMENT-SIGNATURE`: base64 of `{x402Version: 2, accepted,
//!   payload}`, `accepted` a copy of the entry it chose, `payload` the proof
//!   ([`payload_json`]); parsed by the receiver with [`X402Payment::parse_header`];
//! - the receiver says what happened in `PAYMENT-RESPONSE` ([`Settlement`]): success with the
//!   channel's balance now, or the refusal's code and, to the channel's own signer only, the
//!   last accepted proof to continue from.
//!
//! Base64 is the standard alphabet with padding; values longer than [`MAX_HEADER_BYTES`] are
//! refused before they are decoded.

use alloy_primitives::{aliases::U192, Address};
use alloy_sol_types::Eip712Domain;
use base64::{engine::general_purpose::STANDARD, Engine as _};

use crate::{
    channel::{parse_amount, ChannelId},
    eip712::{DOMAIN_NAME, DOMAIN_VERSION},
    error::{quote, Error, Result},
    headers::{
        parse_address, parse_decimal_u64, parse_gateway_path, parse_open_block, PaymentHeaders, PaywallInfo,
        Refusal,
    },
    json::Json,
    requests::SignedStatusRequest,
    signature::ProofSignature,
};

/// The x402 header names (HTTP transport, v2).
pub mod names {
    /// Receiver → sender, on a 402: what the resource costs ([`super::UraidenOffer`]).
    pub const PAYMENT_REQUIRED: &str = "PAYMENT-REQUIRED";
    /// Sender → receiver: the payment ([`super::X402Payment`]).
    pub const PAYMENT_SIGNATURE: &str = "PAYMENT-SIGNATURE";
    /// Receiver → sender: what became of the payment ([`super::Settlement`]).
    pub const PAYMENT_RESPONSE: &str = "PAYMENT-RESPONSE";
    /// x402 v1's payment header; a receiver refuses it, naming v2.
    pub const X_PAYMENT: &str = "X-PAYMENT";
}

use names::*;

/// The x402 version spoken.
pub const X402_VERSION: u64 = 2;

/// The scheme's name in `accepts` entries.
pub const SCHEME: &str = "uraiden";

/// The suggested deposit pays for this many requests at the offered price.
pub const SUGGESTED_PAYMENTS: u64 = 100;

/// `maxTimeoutSeconds` of an offer: a proof does not expire, so this only bounds how long a
/// client may take between the 402 and its paid retry before it should ask again.
pub const MAX_TIMEOUT_SECONDS: u64 = 300;

/// The `errorReason` (and `PAYMENT-REQUIRED.error`) of a payment whose `accepted` entry is not
/// the receiver's offer (another price, token, receiver, network or channel manager).
pub const INVALID_PAYMENT_REQUIREMENTS: &str = "invalid_payment_requirements";

/// The longest `resource.url` a receiver writes: x402 clients copy `resource` into their
/// payment, which must stay within [`MAX_HEADER_BYTES`]; a longer URL is written without its
/// query, and cut if still too long (the receiver never reads it back).
pub const MAX_RESOURCE_URL_BYTES: usize = 1024;

/// `url` within [`MAX_RESOURCE_URL_BYTES`]: as it is, else without its query, else cut at a
/// character boundary.
pub fn bounded_resource_url(url: &str) -> &str {
    if url.len() <= MAX_RESOURCE_URL_BYTES {
        return url;
    }
    let without_query = url.split_once('?').map_or(url, |(path, _)| path);
    let mut end = without_query.len().min(MAX_RESOURCE_URL_BYTES);
    while !without_query.is_char_boundary(end) {
        end -= 1;
    }
    &without_query[..end]
}

/// The longest x402 header value read (intermediaries drop headers over a few KB).
pub const MAX_HEADER_BYTES: usize = 8 * 1024;

/// The CAIP-2 name of an EVM chain: `eip155:<chain id>`.
pub fn network(chain_id: u64) -> String {
    format!("eip155:{chain_id}")
}

/// The `uraiden` entry of a 402's `accepts`: what one request costs and where to pay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UraidenOffer {
    /// `network` (`eip155:<chain id>`).
    pub chain_id: u64,
    /// `asset`: the token channels hold.
    pub token: Address,
    /// `payTo`: the receiver of the channel.
    pub receiver: Address,
    /// `amount`: the price of one request, in the token's smallest unit.
    pub price: U192,
    /// `extra.channelManager`: the contract channels are opened with, whose EIP-712 domain
    /// (`extra.name`, `extra.version`) proofs are signed under.
    pub contract: Address,
    /// `extra.apiPath`: the receiver's REST API (close requests, channel info).
    pub gateway_path: String,
    /// `extra.suggestedDeposit`: a deposit for [`SUGGESTED_PAYMENTS`] requests.
    pub suggested_deposit: U192,
}

impl UraidenOffer {
    /// The offer of a paywall: its price, token, receiver and channel manager.
    pub fn new(info: &PaywallInfo) -> Self {
        Self {
            chain_id: info.chain_id,
            token: info.token,
            receiver: info.receiver,
            price: info.price,
            contract: info.contract,
            gateway_path: info.gateway_path.clone(),
            suggested_deposit: info.price.saturating_mul(U192::from(SUGGESTED_PAYMENTS)),
        }
    }

    /// The paywall this offer describes (no channel named).
    pub fn paywall_info(&self) -> PaywallInfo {
        PaywallInfo {
            gateway_path: self.gateway_path.clone(),
            receiver: self.receiver,
            contract: self.contract,
            token: self.token,
            price: self.price,
            chain_id: self.chain_id,
            sender: None,
            sender_balance: None,
            balance_signature: None,
        }
    }

    /// The EIP-712 domain proofs are signed under.
    pub fn domain(&self) -> Eip712Domain {
        self.paywall_info().domain()
    }

    /// The `accepts` entry.
    pub fn to_json(&self) -> Json {
        Json::object([
            ("scheme", Json::string(SCHEME)),
            ("network", Json::string(network(self.chain_id))),
            ("amount", Json::string(self.price.to_string())),
            ("asset", Json::string(self.token.to_checksum(None))),
            ("payTo", Json::string(self.receiver.to_checksum(None))),
            ("maxTimeoutSeconds", Json::number(MAX_TIMEOUT_SECONDS)),
            (
                "extra",
                Json::object([
                    ("channelManager", Json::string(self.contract.to_checksum(None))),
                    ("name", Json::string(DOMAIN_NAME)),
                    ("version", Json::string(DOMAIN_VERSION)),
                    ("apiPath", Json::string(self.gateway_path.clone())),
                    ("suggestedDeposit", Json::string(self.suggested_deposit.to_string())),
                ]),
            ),
        ])
    }

    /// Reads an `accepts` entry (or a payload's `accepted` copy of one), found at `at` in
    /// `header`. Strict: a `uraiden` entry with any value missing or malformed is an error.
    pub fn from_json(entry: &Json, header: &'static str, at: &str) -> Result<Self> {
        let read = Reader { header };
        let scheme = read.str(entry, at, "scheme")?;
        if scheme != SCHEME {
            return Err(read.error(format!("{at}.scheme is {}, not {SCHEME:?}", quote(scheme))));
        }
        let chain_id = parse_network(read.str(entry, at, "network")?)
            .map_err(|problem| read.error(format!("{at}.network: {problem}")))?;
        let price = read.value(entry, at, "amount", parse_amount)?;
        let token = read.value(entry, at, "asset", parse_address)?;
        let receiver = read.value(entry, at, "payTo", parse_address)?;
        let extra_at = format!("{at}.extra");
        let extra = read.member(entry, at, "extra")?;
        let contract = read.value(extra, &extra_at, "channelManager", parse_address)?;
        for (name, expected) in [("name", DOMAIN_NAME), ("version", DOMAIN_VERSION)] {
            let value = read.str(extra, &extra_at, name)?;
            if value != expected {
                return Err(read.error(format!(
                    "{extra_at}.{name} is {}; uraiden proofs are signed under the channel manager's \
                     EIP-712 domain {DOMAIN_NAME:?} version {DOMAIN_VERSION:?}",
                    quote(value)
                )));
            }
        }
        let gateway_path = read.value(extra, &extra_at, "apiPath", parse_gateway_path)?;
        let suggested_deposit = read.value(extra, &extra_at, "suggestedDeposit", parse_amount)?;
        Ok(Self { chain_id, token, receiver, price, contract, gateway_path, suggested_deposit })
    }

    /// How `accepted` (a payment's copy of an entry) differs from this offer, for people;
    /// `None` when it names the same price, token, receiver, network and channel manager.
    pub fn difference(&self, accepted: &Self) -> Option<String> {
        let differs = |what: &str, theirs: String, ours: String| {
            Some(format!(
                "accepted.{what} is {theirs}, but this resource's offer says {ours}; pay the offer of the \
                 latest 402 (PAYMENT-REQUIRED)"
            ))
        };
        if accepted.chain_id != self.chain_id {
            differs("network", network(accepted.chain_id), network(self.chain_id))
        } else if accepted.price != self.price {
            differs("amount", accepted.price.to_string(), self.price.to_string())
        } else if accepted.token != self.token {
            differs("asset", accepted.token.to_checksum(None), self.token.to_checksum(None))
        } else if accepted.receiver != self.receiver {
            differs("payTo", accepted.receiver.to_checksum(None), self.receiver.to_checksum(None))
        } else if accepted.contract != self.contract {
            differs(
                "extra.channelManager",
                accepted.contract.to_checksum(None),
                self.contract.to_checksum(None),
            )
        } else {
            None
        }
    }
}

/// Reads `eip155:<decimal chain id>`.
fn parse_network(value: &str) -> core::result::Result<u64, String> {
    let id = value
        .strip_prefix("eip155:")
        .ok_or_else(|| format!("{} is not an EVM network (eip155:<chain id>)", quote(value)))?;
    parse_decimal_u64(id, "chain id", u64::MAX).map_err(|error| error.to_string())
}

/// The `PAYMENT-REQUIRED` value of a 402: `offer` for `resource_url`, with `error` (a
/// refusal's code, or why the payment was not taken) when a payment was refused.
pub fn payment_required_header(offer: &UraidenOffer, resource_url: &str, error: Option<&str>) -> String {
    let mut members = vec![("x402Version", Json::number(X402_VERSION))];
    if let Some(error) = error {
        members.push(("error", Json::string(error)));
    }
    members.push(("resource", Json::object([("url", Json::string(bounded_resource_url(resource_url)))])));
    members.push(("accepts", Json::Array(vec![offer.to_json()])));
    encode(&Json::object(members))
}

/// A 402's `PAYMENT-REQUIRED` as a sender reads it: the `uraiden` offer, and what a payment
/// copies back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferedPayment {
    /// The `uraiden` entry, read.
    pub offer: UraidenOffer,
    /// That entry as the receiver wrote it: a payment's `accepted`.
    pub accepted: Json,
    /// The 402's `resource`, copied into the payment.
    pub resource: Option<Json>,
    /// The 402's `error`, when it refused a payment.
    pub error: Option<String>,
}

impl OfferedPayment {
    /// Reads a `PAYMENT-REQUIRED` value: `Ok(None)` when no entry of `accepts` is a `uraiden`
    /// one (the receiver offers only other schemes), an error when the header or the
    /// `uraiden` entry is malformed.
    pub fn parse_header(value: &str) -> Result<Option<Self>> {
        let read = Reader { header: PAYMENT_REQUIRED };
        let required = read.decode(value)?;
        read.version(&required)?;
        let Some(Json::Array(accepts)) = required.get("accepts") else {
            return Err(read.error("accepts is missing or not an array".to_owned()));
        };
        let Some((index, accepted)) = accepts
            .iter()
            .enumerate()
            .find(|(_, entry)| entry.get("scheme").and_then(Json::as_str) == Some(SCHEME))
        else {
            return Ok(None);
        };
        let offer = UraidenOffer::from_json(accepted, PAYMENT_REQUIRED, &format!("accepts[{index}]"))?;
        Ok(Some(Self {
            offer,
            accepted: accepted.clone(),
            resource: required.get("resource").cloned(),
            error: required.get("error").and_then(Json::as_str).map(str::to_owned),
        }))
    }

    /// The `PAYMENT-SIGNATURE` value paying this offer with `payload` ([`payload_json`]).
    pub fn payment_header(&self, payload: Json) -> String {
        let mut members = vec![("x402Version", Json::number(X402_VERSION))];
        if let Some(resource) = &self.resource {
            members.push(("resource", resource.clone()));
        }
        members.push(("accepted", self.accepted.clone()));
        members.push(("payload", payload));
        encode(&Json::object(members))
    }
}

/// The scheme's `payload`: the balance proof of `payment`'s channel and, when the sender wants
/// the last accepted proof back should the payment be refused, its fresh status request.
pub fn payload_json(payment: &PaymentHeaders, status: Option<&SignedStatusRequest>) -> Json {
    let mut members = vec![
        ("sender", Json::string(payment.sender.to_checksum(None))),
        ("openBlock", Json::number(payment.open_block_number.into())),
        ("balance", Json::string(payment.balance.to_string())),
        ("balanceSignature", Json::string(payment.balance_signature.to_hex())),
    ];
    if let Some(status) = status {
        members.push(("statusDeadline", Json::number(status.deadline)));
        members.push(("statusSignature", Json::string(status.signature.to_hex())));
    }
    Json::object(members)
}

/// A `PAYMENT-SIGNATURE`, read by the receiver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct X402Payment {
    /// The offer the sender says it pays (to compare with the receiver's own).
    pub accepted: UraidenOffer,
    /// The payment, as if it had come in `RDN-*` headers (contract and receiver from
    /// `accepted`, `RDN-Payment` its amount).
    pub payment: PaymentHeaders,
    /// The status request that came with it, if any.
    pub status: Option<SignedStatusRequest>,
}

impl X402Payment {
    /// Reads a `PAYMENT-SIGNATURE` value. Every error names the member at fault; a receiver
    /// answers it with 400.
    pub fn parse_header(value: &str) -> Result<Self> {
        let read = Reader { header: PAYMENT_SIGNATURE };
        let signed = read.decode(value)?;
        read.version(&signed)?;
        let accepted =
            UraidenOffer::from_json(read.member(&signed, "", "accepted")?, PAYMENT_SIGNATURE, "accepted")?;
        let payload = read.member(&signed, "", "payload")?;
        let sender = read.value(payload, "payload", "sender", parse_address)?;
        let open_block_number = read.number(payload, "payload", "openBlock", parse_open_block)?;
        let balance = read.value(payload, "payload", "balance", parse_amount)?;
        let balance_signature =
            read.value(payload, "payload", "balanceSignature", ProofSignature::from_hex)?;
        let channel = ChannelId::new(sender, accepted.receiver, open_block_number);
        let status = match (payload.get("statusDeadline"), payload.get("statusSignature")) {
            (None, None) => None,
            _ => Some(SignedStatusRequest {
                channel,
                deadline: read.number(payload, "payload", "statusDeadline", |text| {
                    parse_decimal_u64(text, "deadline in unix seconds", u64::MAX)
                })?,
                signature: read.value(payload, "payload", "statusSignature", ProofSignature::from_hex)?,
            }),
        };
        let payment = PaymentHeaders {
            contract: accepted.contract,
            receiver: accepted.receiver,
            sender,
            open_block_number,
            balance,
            balance_signature,
            payment: Some(accepted.price),
        };
        Ok(Self { accepted, payment, status })
    }
}

/// The last proof a receiver accepted in a channel, as a refusal's `PAYMENT-RESPONSE`
/// carries it to the channel's own signer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastProof {
    /// The cumulative balance accepted last (0 when none was).
    pub balance: U192,
    /// Its signature; none for a balance of 0.
    pub signature: Option<ProofSignature>,
}

/// `PAYMENT-RESPONSE`: what became of a payment. Nothing goes on chain per payment, so
/// `transaction` is always empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settlement {
    /// Whether the payment was taken.
    pub success: bool,
    /// Why not: a refusal's [`Refusal::x402_code`], or `invalid_payment_requirements`.
    pub error_reason: Option<String>,
    /// The same, for people.
    pub error_message: Option<String>,
    /// The channel's sender.
    pub payer: Option<Address>,
    /// `eip155:<chain id>`.
    pub chain_id: u64,
    /// What the request cost (on success).
    pub amount: Option<U192>,
    /// `extra.balance`: the channel's balance now (on success, the one paid).
    pub balance: Option<U192>,
    /// `extra.lastProof`: after a refusal, to the channel's own signer, the proof to continue from.
    pub last_proof: Option<LastProof>,
}

impl Settlement {
    /// A payment taken: `payer`'s channel now holds `balance`, `amount` more than before.
    pub fn paid(chain_id: u64, payer: Address, amount: U192, balance: U192) -> Self {
        Self {
            success: true,
            error_reason: None,
            error_message: None,
            payer: Some(payer),
            chain_id,
            amount: Some(amount),
            balance: Some(balance),
            last_proof: None,
        }
    }

    /// A payment not taken, with a machine-readable `reason` and a `message` for people.
    pub fn failed(chain_id: u64, payer: Option<Address>, reason: &str, message: &str) -> Self {
        Self {
            success: false,
            error_reason: Some(reason.to_owned()),
            error_message: Some(message.to_owned()),
            payer,
            chain_id,
            amount: None,
            balance: None,
            last_proof: None,
        }
    }

    /// The refusal a failed settlement names, if it is one of the channel rules'.
    pub fn refusal(&self) -> Option<Refusal> {
        self.error_reason.as_deref().and_then(Refusal::from_x402_code)
    }

    /// The balance the receiver says the channel holds now, on success only: what a sender
    /// books a payment by ([`PaidAnswer`](crate::PaidAnswer)).
    pub fn paid_balance(&self) -> Option<U192> {
        self.balance.filter(|_| self.success)
    }

    /// The header value.
    pub fn to_header_value(&self) -> String {
        let mut members = vec![("success", Json::Bool(self.success))];
        if let Some(reason) = &self.error_reason {
            members.push(("errorReason", Json::string(reason.clone())));
        }
        if let Some(message) = &self.error_message {
            members.push(("errorMessage", Json::string(message.clone())));
        }
        if let Some(payer) = self.payer {
            members.push(("payer", Json::string(payer.to_checksum(None))));
        }
        members.push(("transaction", Json::string("")));
        members.push(("network", Json::string(network(self.chain_id))));
        if let Some(amount) = self.amount {
            members.push(("amount", Json::string(amount.to_string())));
        }
        let mut extra = Vec::new();
        if let Some(balance) = self.balance {
            extra.push(("balance", Json::string(balance.to_string())));
        }
        if let Some(last) = &self.last_proof {
            let mut proof = vec![("balance", Json::string(last.balance.to_string()))];
            if let Some(signature) = &last.signature {
                proof.push(("signature", Json::string(signature.to_hex())));
            }
            extra.push(("lastProof", Json::object(proof)));
        }
        if !extra.is_empty() {
            members.push(("extra", Json::object(extra)));
        }
        encode(&Json::object(members))
    }

    /// Reads a `PAYMENT-RESPONSE` value.
    pub fn parse_header(value: &str) -> Result<Self> {
        Self::from_json(&Reader { header: PAYMENT_RESPONSE }.decode(value)?)
    }

    /// Reads a `PAYMENT-RESPONSE` already decoded: what an x402 library hands a scheme's
    /// `onPaymentResponse` hook as `settleResponse`.
    pub fn from_json(settled: &Json) -> Result<Self> {
        let read = Reader { header: PAYMENT_RESPONSE };
        let success = match settled.get("success") {
            Some(Json::Bool(success)) => *success,
            _ => return Err(read.error("success is missing or not true/false".to_owned())),
        };
        let optional_str = |name: &str| settled.get(name).and_then(Json::as_str).map(str::to_owned);
        let chain_id = parse_network(read.str(settled, "", "network")?)
            .map_err(|problem| read.error(format!("network: {problem}")))?;
        let payer =
            settled.get("payer").map(|_| read.value(settled, "", "payer", parse_address)).transpose()?;
        let amount =
            settled.get("amount").map(|_| read.value(settled, "", "amount", parse_amount)).transpose()?;
        let extra = settled.get("extra");
        let balance = extra
            .and_then(|extra| extra.get("balance"))
            .map(|_| read.value(extra.unwrap_or(&Json::Null), "extra", "balance", parse_amount))
            .transpose()?;
        let last_proof = match extra.and_then(|extra| extra.get("lastProof")) {
            None => None,
            Some(proof) => Some(LastProof {
                balance: read.value(proof, "extra.lastProof", "balance", parse_amount)?,
                signature: proof
                    .get("signature")
                    .map(|_| read.value(proof, "extra.lastProof", "signature", ProofSignature::from_hex))
                    .transpose()?,
            }),
        };
        Ok(Self {
            success,
            error_reason: optional_str("errorReason"),
            error_message: optional_str("errorMessage"),
            payer,
            chain_id,
            amount,
            balance,
            last_proof,
        })
    }
}

/// Base64 of the compact JSON text.
fn encode(value: &Json) -> String {
    STANDARD.encode(value.to_string())
}

/// Reads the members of one header's JSON, naming the header and the member in every error.
struct Reader {
    header: &'static str,
}

impl Reader {
    fn error(&self, problem: String) -> Error {
        Error::X402 { header: self.header, problem }
    }

    fn decode(&self, value: &str) -> Result<Json> {
        let value = value.trim();
        if value.len() > MAX_HEADER_BYTES {
            return Err(
                self.error(format!("{} bytes, more than the {MAX_HEADER_BYTES} accepted", value.len()))
            );
        }
        let bytes = STANDARD.decode(value).map_err(|error| {
            self.error(format!("not base64 (standard alphabet, with = padding): {error}"))
        })?;
        let text =
            String::from_utf8(bytes).map_err(|_| self.error("the decoded bytes are not UTF-8".to_owned()))?;
        let json = Json::parse(&text)
            .map_err(|error| self.error(format!("the decoded text is not JSON: {error}")))?;
        if !matches!(json, Json::Object(_)) {
            return Err(self.error("the decoded JSON is not an object".to_owned()));
        }
        Ok(json)
    }

    fn version(&self, object: &Json) -> Result<()> {
        match object.get("x402Version").and_then(Json::as_u64) {
            Some(X402_VERSION) => Ok(()),
            Some(other) => Err(self.error(format!(
                "x402Version is {other}; this receiver speaks x402 version {X402_VERSION} \
                 (PAYMENT-SIGNATURE / PAYMENT-REQUIRED / PAYMENT-RESPONSE)"
            ))),
            None => Err(self.error(format!("x402Version is missing or not a number; send {X402_VERSION}"))),
        }
    }

    fn member<'j>(&self, object: &'j Json, at: &str, name: &str) -> Result<&'j Json> {
        object.get(name).ok_or_else(|| self.error(format!("{} is missing", path(at, name))))
    }

    fn str<'j>(&self, object: &'j Json, at: &str, name: &str) -> Result<&'j str> {
        self.member(object, at, name)?
            .as_str()
            .ok_or_else(|| self.error(format!("{} is not a string", path(at, name))))
    }

    /// A string member read by `parse`.
    fn value<T>(&self, object: &Json, at: &str, name: &str, parse: impl Fn(&str) -> Result<T>) -> Result<T> {
        let text = self.str(object, at, name)?;
        parse(text).map_err(|error| self.error(format!("{}: {error}", path(at, name))))
    }

    /// A number member (also accepted as a decimal string) read by `parse`.
    fn number<T>(&self, object: &Json, at: &str, name: &str, parse: impl Fn(&str) -> Result<T>) -> Result<T> {
        let text = match self.member(object, at, name)? {
            Json::Number(text) | Json::String(text) => text,
            _ => return Err(self.error(format!("{} is not a number", path(at, name)))),
        };
        parse(text).map_err(|error| self.error(format!("{}: {error}", path(at, name))))
    }
}

fn path(at: &str, name: &str) -> String {
    if at.is_empty() {
        name.to_owned()
    } else {
        format!("{at}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::B256;

    use super::*;
    use crate::LocalSigningKey;

    fn info() -> PaywallInfo {
        PaywallInfo {
            gateway_path: "/api/1".into(),
            receiver: Address::repeat_byte(1),
            contract: Address::repeat_byte(2),
            token: Address::repeat_byte(3),
            price: U192::from(5),
            chain_id: 31337,
            sender: None,
            sender_balance: None,
            balance_signature: None,
        }
    }

    fn signed_payment(balance: u64) -> (UraidenOffer, PaymentHeaders, SignedStatusRequest) {
        let offer = UraidenOffer::new(&info());
        let key = LocalSigningKey::from_bytes(&B256::repeat_byte(7)).unwrap();
        let channel = ChannelId::new(key.address(), offer.receiver, 42);
        let balance = U192::from(balance);
        let signature = key.sign_typed_data(&offer.domain(), &channel.balance_proof(balance)).unwrap();
        let status = SignedStatusRequest::sign(&key, &offer.domain(), channel, 1_000).unwrap();
        let payment = PaymentHeaders {
            contract: offer.contract,
            receiver: offer.receiver,
            sender: key.address(),
            open_block_number: 42,
            balance,
            balance_signature: signature,
            payment: Some(offer.price),
        };
        (offer, payment, status)
    }

    fn base64_json(text: &str) -> String {
        STANDARD.encode(text)
    }

    #[test]
    fn an_offer_survives_the_402_and_the_payment_round_trip() {
        let (offer, payment, status) = signed_payment(15);
        let header = payment_required_header(&offer, "http://127.0.0.1/x", None);
        let offered = OfferedPayment::parse_header(&header).unwrap().expect("a uraiden entry");
        assert_eq!(offered.offer, offer);
        assert_eq!(offered.offer.suggested_deposit, U192::from(500));
        assert_eq!(offered.offer.paywall_info(), info());
        let signed = offered.payment_header(payload_json(&payment, Some(&status)));
        let parsed = X402Payment::parse_header(&signed).unwrap();
        assert_eq!(parsed.accepted, offer);
        assert_eq!(parsed.payment, payment);
        assert_eq!(parsed.status, Some(status));
        let without_status =
            X402Payment::parse_header(&offered.payment_header(payload_json(&payment, None))).unwrap();
        assert_eq!(without_status.status, None);
    }

    #[test]
    fn the_402_json_has_the_x402_shape() {
        let header = payment_required_header(&UraidenOffer::new(&info()), "/x", Some("insufficient_funds"));
        let json = Json::parse(&String::from_utf8(STANDARD.decode(header).unwrap()).unwrap()).unwrap();
        assert_eq!(json.get("x402Version").and_then(Json::as_u64), Some(2));
        assert_eq!(json.get("error").and_then(Json::as_str), Some("insufficient_funds"));
        let Some(Json::Array(accepts)) = json.get("accepts") else { panic!("{json}") };
        let entry = &accepts[0];
        assert_eq!(entry.get("scheme").and_then(Json::as_str), Some("uraiden"));
        assert_eq!(entry.get("network").and_then(Json::as_str), Some("eip155:31337"));
        assert_eq!(entry.get("amount").and_then(Json::as_str), Some("5"));
        assert_eq!(entry.get("maxTimeoutSeconds").and_then(Json::as_u64), Some(MAX_TIMEOUT_SECONDS));
        let extra = entry.get("extra").unwrap();
        assert_eq!(extra.get("name").and_then(Json::as_str), Some(DOMAIN_NAME));
        assert_eq!(extra.get("apiPath").and_then(Json::as_str), Some("/api/1"));
    }

    #[test]
    fn a_long_resource_url_loses_its_query_then_its_tail() {
        assert_eq!(bounded_resource_url("http://a/b?c"), "http://a/b?c");
        let long_query = format!("http://a/b?{}", "q".repeat(MAX_RESOURCE_URL_BYTES));
        assert_eq!(bounded_resource_url(&long_query), "http://a/b");
        let long_path = format!("http://a/{}?x", "é".repeat(MAX_RESOURCE_URL_BYTES));
        let bounded = bounded_resource_url(&long_path);
        assert!(bounded.len() <= MAX_RESOURCE_URL_BYTES && bounded.starts_with("http://a/é"), "{bounded}");
    }

    #[test]
    fn a_402_without_a_uraiden_entry_offers_nothing() {
        let other = r#"{"x402Version":2,"resource":{"url":"/"},"accepts":[{"scheme":"exact","network":"eip155:1","amount":"1","asset":"0x0","payTo":"0x0","maxTimeoutSeconds":60,"extra":{}}]}"#;
        assert_eq!(OfferedPayment::parse_header(&base64_json(other)), Ok(None));
    }

    #[test]
    fn malformed_payments_name_what_is_wrong() {
        let (offer, payment, _) = signed_payment(5);
        let good = Json::parse(
            &String::from_utf8(
                STANDARD
                    .decode(
                        OfferedPayment {
                            offer: offer.clone(),
                            accepted: offer.to_json(),
                            resource: None,
                            error: None,
                        }
                        .payment_header(payload_json(&payment, None)),
                    )
                    .unwrap(),
            )
            .unwrap(),
        )
        .unwrap()
        .to_string();
        let cases: Vec<(String, &str)> = vec![
            ("%%%".to_owned(), "not base64"),
            (base64_json("{not json"), "not JSON"),
            (base64_json("[1]"), "not an object"),
            (base64_json(&good.replace("\"x402Version\":2", "\"x402Version\":1")), "x402Version is 1"),
            (
                base64_json(&good.replace("\"scheme\":\"uraiden\"", "\"scheme\":\"exact\"")),
                "accepted.scheme is \"exact\"",
            ),
            (base64_json(&good.replace("\"balance\":\"5\"", "\"balance\":\"-5\"")), "payload.balance"),
            (base64_json(&good.replace("\"openBlock\":42", "\"openBlock\":4294967296")), "payload.openBlock"),
            (
                base64_json(&good.replace("\"network\":\"eip155:31337\"", "\"network\":\"solana:1\"")),
                "accepted.network",
            ),
            (base64_json(&good.replace("\"payload\":", "\"payloadx\":")), "payload is missing"),
            ("A".repeat(MAX_HEADER_BYTES + 4), "more than the"),
        ];
        for (value, expected) in cases {
            let error = X402Payment::parse_header(&value).unwrap_err().to_string();
            assert!(error.starts_with("PAYMENT-SIGNATURE: "), "{error}");
            assert!(error.contains(expected), "{expected:?} in {error}");
            assert!(
                !error.contains(&payment.balance_signature.to_hex()),
                "never echoes a signature: {error}"
            );
        }
        assert!(X402Payment::parse_header(&base64_json(&good)).is_ok());
    }

    #[test]
    fn an_accepted_entry_that_differs_is_named() {
        let offer = UraidenOffer::new(&info());
        assert_eq!(offer.difference(&offer), None);
        let cheaper = UraidenOffer { price: U192::from(1), ..offer.clone() };
        assert!(offer.difference(&cheaper).unwrap().starts_with("accepted.amount is 1, but"));
        let elsewhere = UraidenOffer { receiver: Address::repeat_byte(9), ..offer.clone() };
        assert!(offer.difference(&elsewhere).unwrap().starts_with("accepted.payTo"));
        let other_token = UraidenOffer { token: Address::repeat_byte(9), ..offer.clone() };
        assert!(offer.difference(&other_token).unwrap().starts_with("accepted.asset"));
        let other_chain = UraidenOffer { chain_id: 1, ..offer.clone() };
        assert!(offer.difference(&other_chain).unwrap().starts_with("accepted.network is eip155:1"));
        let other_contract = UraidenOffer { contract: Address::repeat_byte(9), ..offer.clone() };
        assert!(offer.difference(&other_contract).unwrap().starts_with("accepted.extra.channelManager"));
        // The suggested deposit and the API path are advice, not terms.
        let advice =
            UraidenOffer { suggested_deposit: U192::from(1), gateway_path: "/x".into(), ..offer.clone() };
        assert_eq!(offer.difference(&advice), None);
    }

    #[test]
    fn settlements_round_trip_and_name_their_refusal() {
        let (_, payment, _) = signed_payment(5);
        let paid = Settlement::paid(31337, payment.sender, U192::from(5), U192::from(20));
        let read = Settlement::parse_header(&paid.to_header_value()).unwrap();
        assert_eq!(read, paid);
        assert_eq!(read.paid_balance(), Some(U192::from(20)));
        for refusal in Refusal::ALL {
            let mut failed =
                Settlement::failed(31337, Some(payment.sender), refusal.x402_code(), refusal.message());
            failed.last_proof =
                Some(LastProof { balance: U192::from(5), signature: Some(payment.balance_signature) });
            let read = Settlement::parse_header(&failed.to_header_value()).unwrap();
            assert_eq!(read, failed);
            assert_eq!(read.refusal(), Some(refusal));
            assert_eq!(read.paid_balance(), None);
        }
        let unsigned = Settlement {
            last_proof: Some(LastProof { balance: U192::ZERO, signature: None }),
            ..Settlement::failed(1, None, "invalid_amount", "m")
        };
        assert_eq!(Settlement::parse_header(&unsigned.to_header_value()).unwrap(), unsigned);
    }
}
