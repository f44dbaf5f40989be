//! The `RDN-*` HTTP headers: names, a strict parser for paying requests, and both directions
//! of the payment-required (402) and refusal headers.
//!
//! All parsers take a `lookup` function from header name to value instead of a header map,
//! so the server can look in the request headers and then in the cookies (a browser
//! navigation cannot add headers), and the wasm client can read a `fetch` `Headers` object.
//! HTTP header names are case-insensitive: `lookup` should treat them so.

use alloy_primitives::{aliases::U192, Address};
use alloy_sol_types::Eip712Domain;

use crate::{
    channel::{check_canonical_decimal, parse_amount, ChannelId},
    eip712::{channel_manager_domain, BalanceProof},
    error::{quote, Error, Result},
    requests::SignedStatusRequest,
    signature::ProofSignature,
};

/// Header names, as in µRaiden 0.2.6 (§4.5.1) plus `RDN-Chain-Id`.
pub mod names {
    /// The path of the receiver's REST API, `/api/1`.
    pub const GATEWAY_PATH: &str = "RDN-Gateway-Path";
    /// The receiver's address.
    pub const RECEIVER_ADDRESS: &str = "RDN-Receiver-Address";
    /// The channel manager contract's address (the EIP-712 verifying contract).
    pub const CONTRACT_ADDRESS: &str = "RDN-Contract-Address";
    /// The ERC20/ERC223 token's address.
    pub const TOKEN_ADDRESS: &str = "RDN-Token-Address";
    /// The price of the resource, in the token's smallest unit.
    pub const PRICE: &str = "RDN-Price";
    /// The chain id (the EIP-712 domain needs it).
    pub const CHAIN_ID: &str = "RDN-Chain-Id";
    /// The channel's sender.
    pub const SENDER_ADDRESS: &str = "RDN-Sender-Address";
    /// In responses: the last balance the receiver accepted. In requests: an alias of
    /// [`BALANCE`].
    pub const SENDER_BALANCE: &str = "RDN-Sender-Balance";
    /// The balance proof's signature (in responses: the last accepted one).
    pub const BALANCE_SIGNATURE: &str = "RDN-Balance-Signature";
    /// The channel's open block number.
    pub const OPEN_BLOCK: &str = "RDN-Open-Block";
    /// The new cumulative balance of a paying request.
    pub const BALANCE: &str = "RDN-Balance";
    /// The amount paid by this request (informational).
    pub const PAYMENT: &str = "RDN-Payment";
    /// Refusal: the channel's creation or top-up is not confirmed yet.
    pub const INSUFFICIENT_CONFIRMATIONS: &str = "RDN-Insufficient-Confirmations";
    /// Refusal: no such open channel (unknown or closed).
    pub const NONEXISTING_CHANNEL: &str = "RDN-Nonexisting-Channel";
    /// Refusal: bad signature, wrong signer, or a balance that does not increase.
    pub const INVALID_BALANCE_PROOF: &str = "RDN-Invalid-Balance-Proof";
    /// Refusal: the balance would exceed the deposit.
    pub const INSUFFICIENT_FUNDS: &str = "RDN-Insufficient-Funds";
    /// Refusal: the balance increment is not the price.
    pub const INVALID_AMOUNT: &str = "RDN-Invalid-Amount";
    /// A status request's deadline (unix seconds), see [`SignedStatusRequest`](crate::SignedStatusRequest).
    pub const STATUS_DEADLINE: &str = "RDN-Status-Deadline";
    /// A status request's signature: the 402 then carries the channel's last accepted proof.
    pub const STATUS_SIGNATURE: &str = "RDN-Status-Signature";
}

use names::*;

/// The default [`names::GATEWAY_PATH`].
pub const DEFAULT_GATEWAY_PATH: &str = "/api/1";

const PAYMENT_CONTEXT: &str = "a paying request needs RDN-Contract-Address, RDN-Receiver-Address, \
    RDN-Sender-Address, RDN-Open-Block, RDN-Balance and RDN-Balance-Signature (RDN-Payment is optional)";

const PAYWALL_CONTEXT: &str = "a payment-required response carries RDN-Gateway-Path, \
    RDN-Receiver-Address, RDN-Contract-Address, RDN-Token-Address, RDN-Price and RDN-Chain-Id";

/// The headers (or cookies) of a request that pays: a balance proof for one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentHeaders {
    /// `RDN-Contract-Address`: the channel manager the proof is for.
    pub contract: Address,
    /// `RDN-Receiver-Address`.
    pub receiver: Address,
    /// `RDN-Sender-Address`.
    pub sender: Address,
    /// `RDN-Open-Block`.
    pub open_block_number: u32,
    /// `RDN-Balance` (or its alias `RDN-Sender-Balance`): the new cumulative balance.
    pub balance: U192,
    /// `RDN-Balance-Signature`: the signature of the [`BalanceProof`].
    pub balance_signature: ProofSignature,
    /// `RDN-Payment`: what this request pays, informational.
    pub payment: Option<U192>,
}

impl PaymentHeaders {
    /// Every header a paying request may carry, in the order [`to_header_pairs`](Self::to_header_pairs)
    /// writes them, plus the accepted alias `RDN-Sender-Balance` last.
    pub const HEADER_NAMES: [&'static str; 8] = [
        CONTRACT_ADDRESS,
        RECEIVER_ADDRESS,
        SENDER_ADDRESS,
        OPEN_BLOCK,
        BALANCE,
        BALANCE_SIGNATURE,
        PAYMENT,
        SENDER_BALANCE,
    ];

    /// Reads a paying request's headers through `lookup` (header name → value).
    ///
    /// - `Ok(None)`: the request does not try to pay: none of `RDN-Sender-Address`,
    ///   `RDN-Open-Block`, `RDN-Balance`, `RDN-Sender-Balance`, `RDN-Balance-Signature` and
    ///   `RDN-Payment` is present. (`RDN-Contract-Address` and `RDN-Receiver-Address` alone
    ///   do not count: a 402 sets them as cookies in the browser.)
    /// - `Ok(Some(_))`: a complete, well-formed payment. `RDN-Balance` wins over its alias
    ///   `RDN-Sender-Balance` (which a browser may hold as the last accepted balance).
    /// - `Err(_)`: the first problem, naming the header ([`Error::MissingHeader`] or
    ///   [`Error::InvalidHeader`]); a server answers 409 with its message.
    ///
    /// Values are trimmed of surrounding whitespace; everything else is strict: addresses
    /// `0x` + 40 hex digits (EIP-55 checked when mixed-case), amounts canonical decimals below
    /// 2^192, the open block a decimal `uint32`, the signature as [`ProofSignature`] accepts it.
    pub fn parse<'a>(lookup: impl Fn(&str) -> Option<&'a str>) -> Result<Option<Self>> {
        let get = |name: &str| lookup(name).map(str::trim);
        let starts_payment =
            [SENDER_ADDRESS, OPEN_BLOCK, BALANCE, SENDER_BALANCE, BALANCE_SIGNATURE, PAYMENT];
        if starts_payment.iter().all(|name| get(name).is_none()) {
            return Ok(None);
        }
        let required = |name: &'static str| {
            get(name).ok_or(Error::MissingHeader { header: name, context: PAYMENT_CONTEXT })
        };
        let contract = parse_address_header(CONTRACT_ADDRESS, required(CONTRACT_ADDRESS)?)?;
        let receiver = parse_address_header(RECEIVER_ADDRESS, required(RECEIVER_ADDRESS)?)?;
        let sender = parse_address_header(SENDER_ADDRESS, required(SENDER_ADDRESS)?)?;
        let open_block_number =
            parse_open_block(required(OPEN_BLOCK)?).map_err(|e| e.in_header(OPEN_BLOCK))?;
        let (balance_header, balance) = match (get(BALANCE), get(SENDER_BALANCE)) {
            (Some(balance), _) => (BALANCE, balance),
            (None, Some(alias)) => (SENDER_BALANCE, alias),
            (None, None) => return Err(Error::MissingHeader { header: BALANCE, context: PAYMENT_CONTEXT }),
        };
        let balance = parse_amount(balance).map_err(|e| e.in_header(balance_header))?;
        let balance_signature =
            required(BALANCE_SIGNATURE)?.parse().map_err(|e: Error| e.in_header(BALANCE_SIGNATURE))?;
        let payment = get(PAYMENT).map(parse_amount).transpose().map_err(|e| e.in_header(PAYMENT))?;
        Ok(Some(Self { contract, receiver, sender, open_block_number, balance, balance_signature, payment }))
    }

    /// The channel this payment is for.
    pub const fn channel_id(&self) -> ChannelId {
        ChannelId::new(self.sender, self.receiver, self.open_block_number)
    }

    /// The balance proof the signature is claimed to sign.
    pub const fn balance_proof(&self) -> BalanceProof {
        self.channel_id().balance_proof(self.balance)
    }

    /// The headers to send (addresses EIP-55 checksummed, amounts decimal, `RDN-Balance`
    /// rather than its alias); `RDN-Payment` only when set.
    pub fn to_header_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![
            (CONTRACT_ADDRESS, self.contract.to_checksum(None)),
            (RECEIVER_ADDRESS, self.receiver.to_checksum(None)),
            (SENDER_ADDRESS, self.sender.to_checksum(None)),
            (OPEN_BLOCK, self.open_block_number.to_string()),
            (BALANCE, self.balance.to_string()),
            (BALANCE_SIGNATURE, self.balance_signature.to_hex()),
        ];
        if let Some(payment) = self.payment {
            pairs.push((PAYMENT, payment.to_string()));
        }
        pairs
    }
}

/// What a paywalled response (402, and 200 too) tells the client about how to pay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaywallInfo {
    /// `RDN-Gateway-Path`: the receiver's REST API path, normally [`DEFAULT_GATEWAY_PATH`].
    pub gateway_path: String,
    /// `RDN-Receiver-Address`.
    pub receiver: Address,
    /// `RDN-Contract-Address`: the channel manager.
    pub contract: Address,
    /// `RDN-Token-Address`.
    pub token: Address,
    /// `RDN-Price`: what one request costs.
    pub price: U192,
    /// `RDN-Chain-Id`.
    pub chain_id: u64,
    /// `RDN-Sender-Address`, when the request named a channel.
    pub sender: Option<Address>,
    /// `RDN-Sender-Balance`: the last balance the receiver accepted in that channel.
    pub sender_balance: Option<U192>,
    /// `RDN-Balance-Signature`: the last proof the receiver accepted, so a client that lost
    /// its state can resume from it.
    pub balance_signature: Option<ProofSignature>,
}

impl PaywallInfo {
    /// Reads a paywalled response's headers through `lookup`. The six always-present headers
    /// are required; the channel's three are optional, but checked when present.
    pub fn parse<'a>(lookup: impl Fn(&str) -> Option<&'a str>) -> Result<Self> {
        let get = |name: &str| lookup(name).map(str::trim);
        let required = |name: &'static str| {
            get(name).ok_or(Error::MissingHeader { header: name, context: PAYWALL_CONTEXT })
        };
        let gateway_path =
            parse_gateway_path(required(GATEWAY_PATH)?).map_err(|e| e.in_header(GATEWAY_PATH))?;
        let receiver = parse_address_header(RECEIVER_ADDRESS, required(RECEIVER_ADDRESS)?)?;
        let contract = parse_address_header(CONTRACT_ADDRESS, required(CONTRACT_ADDRESS)?)?;
        let token = parse_address_header(TOKEN_ADDRESS, required(TOKEN_ADDRESS)?)?;
        let price = parse_amount(required(PRICE)?).map_err(|e| e.in_header(PRICE))?;
        let chain_id = parse_chain_id(required(CHAIN_ID)?).map_err(|e| e.in_header(CHAIN_ID))?;
        let sender = get(SENDER_ADDRESS).map(|v| parse_address_header(SENDER_ADDRESS, v)).transpose()?;
        let sender_balance =
            get(SENDER_BALANCE).map(parse_amount).transpose().map_err(|e| e.in_header(SENDER_BALANCE))?;
        let balance_signature = get(BALANCE_SIGNATURE)
            .map(ProofSignature::from_hex)
            .transpose()
            .map_err(|e| e.in_header(BALANCE_SIGNATURE))?;
        Ok(Self {
            gateway_path,
            receiver,
            contract,
            token,
            price,
            chain_id,
            sender,
            sender_balance,
            balance_signature,
        })
    }

    /// The EIP-712 domain proofs for this receiver are signed under.
    pub fn domain(&self) -> Eip712Domain {
        channel_manager_domain(self.chain_id, self.contract)
    }

    /// The response headers, optional ones only when set.
    pub fn to_header_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = self.receiver_header_pairs();
        pairs.extend(self.response_header_pairs());
        pairs
    }

    /// The headers that are the same on every paywalled response of one receiver (gateway
    /// path, receiver, contract, token, chain id): a server formats them once.
    pub fn receiver_header_pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            (GATEWAY_PATH, self.gateway_path.clone()),
            (RECEIVER_ADDRESS, self.receiver.to_checksum(None)),
            (CONTRACT_ADDRESS, self.contract.to_checksum(None)),
            (TOKEN_ADDRESS, self.token.to_checksum(None)),
            (CHAIN_ID, self.chain_id.to_string()),
        ]
    }

    /// The headers of one response: the price, and the channel's when set.
    pub fn response_header_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::with_capacity(4);
        pairs.push((PRICE, self.price.to_string()));
        if let Some(sender) = self.sender {
            pairs.push((SENDER_ADDRESS, sender.to_checksum(None)));
        }
        if let Some(balance) = self.sender_balance {
            pairs.push((SENDER_BALANCE, balance.to_string()));
        }
        if let Some(signature) = &self.balance_signature {
            pairs.push((BALANCE_SIGNATURE, signature.to_hex()));
        }
        pairs
    }
}

/// Why the receiver refused a payment: a 402 carries exactly one of these headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// `RDN-Insufficient-Confirmations`: the channel (or its top-up) is not confirmed yet.
    InsufficientConfirmations,
    /// `RDN-Nonexisting-Channel`: the receiver knows no open channel by that id.
    NonexistingChannel,
    /// `RDN-Invalid-Balance-Proof`: bad signature, wrong signer, or a non-increasing balance.
    InvalidBalanceProof,
    /// `RDN-Insufficient-Funds`: the new balance would exceed the deposit.
    InsufficientFunds,
    /// `RDN-Invalid-Amount`: the balance did not grow by exactly the price.
    InvalidAmount,
}

impl Refusal {
    /// Every refusal, in the order [`from_headers`](Self::from_headers) looks for them.
    pub const ALL: [Self; 5] = [
        Self::InsufficientConfirmations,
        Self::NonexistingChannel,
        Self::InvalidBalanceProof,
        Self::InsufficientFunds,
        Self::InvalidAmount,
    ];

    /// The header that carries this refusal.
    pub const fn header_name(self) -> &'static str {
        match self {
            Self::InsufficientConfirmations => INSUFFICIENT_CONFIRMATIONS,
            Self::NonexistingChannel => NONEXISTING_CHANNEL,
            Self::InvalidBalanceProof => INVALID_BALANCE_PROOF,
            Self::InsufficientFunds => INSUFFICIENT_FUNDS,
            Self::InvalidAmount => INVALID_AMOUNT,
        }
    }

    /// A short machine-readable value: the header's value, and a code for JSON bodies.
    pub const fn code(self) -> &'static str {
        match self {
            Self::InsufficientConfirmations => "insufficient-confirmations",
            Self::NonexistingChannel => "nonexisting-channel",
            Self::InvalidBalanceProof => "invalid-balance-proof",
            Self::InsufficientFunds => "insufficient-funds",
            Self::InvalidAmount => "invalid-amount",
        }
    }

    /// The code as x402 writes reasons (`errorReason`, `PAYMENT-REQUIRED.error`): snake case.
    pub const fn x402_code(self) -> &'static str {
        match self {
            Self::InsufficientConfirmations => "insufficient_confirmations",
            Self::NonexistingChannel => "nonexisting_channel",
            Self::InvalidBalanceProof => "invalid_balance_proof",
            Self::InsufficientFunds => "insufficient_funds",
            Self::InvalidAmount => "invalid_amount",
        }
    }

    /// The refusal with this [`x402_code`](Self::x402_code).
    pub fn from_x402_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|refusal| refusal.x402_code() == code)
    }

    /// What happened and what the sender can do, for people.
    pub const fn message(self) -> &'static str {
        match self {
            Self::InsufficientConfirmations => {
                "The channel's creation or top-up is not confirmed yet; retry after the next block."
            }
            Self::NonexistingChannel => {
                "The receiver knows no open channel for this sender and open block (it is unknown or \
                 closed); open a new channel."
            }
            Self::InvalidBalanceProof => {
                "The balance proof was refused: the signature is invalid, not by the channel's sender or \
                 signer, or the balance does not increase; continue from the receiver's last accepted proof \
                 (RDN-Sender-Balance, or lastProof in x402's PAYMENT-RESPONSE)."
            }
            Self::InsufficientFunds => {
                "The new balance would exceed the channel's deposit; top up the channel or open a new one."
            }
            Self::InvalidAmount => {
                "The balance must grow by exactly the price (RDN-Price, x402's amount) per request; \
                 sign the last accepted balance plus the price."
            }
        }
    }

    /// The response header: name and [`code`](Self::code).
    pub const fn to_header_pair(self) -> (&'static str, &'static str) {
        (self.header_name(), self.code())
    }

    /// The refusal a response names, if any. Only the header's presence counts (µRaiden
    /// 0.2.6 sent `1` as the value); the first in [`ALL`](Self::ALL) order wins.
    pub fn from_headers<'a>(lookup: impl Fn(&str) -> Option<&'a str>) -> Option<Self> {
        Self::ALL.into_iter().find(|refusal| lookup(refusal.header_name()).is_some())
    }

    /// The refusal with this [`code`](Self::code).
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|refusal| refusal.code() == code)
    }
}

impl core::fmt::Display for Refusal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())
    }
}

/// The `name=value` pairs of one `Cookie` header line (RFC 6265 §5.4: pairs separated by
/// `;`), trimmed, quoted values unquoted, for a `lookup` over cookies.
///
/// Each pair is decoded on its own: a pair that is not UTF-8 (a cookie set by another
/// application of the domain, in Latin-1 say) is skipped rather than making the whole line
/// unreadable, and so is a pair without `=`.
pub fn cookie_pairs(line: &[u8]) -> impl Iterator<Item = (&str, &str)> {
    line.split(|byte| *byte == b';').filter_map(|pair| {
        let (name, value) = core::str::from_utf8(pair).ok()?.split_once('=')?;
        let value = value.trim();
        let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
        Some((name.trim(), value))
    })
}

const STATUS_CONTEXT: &str = "a status request needs RDN-Sender-Address, RDN-Open-Block, \
    RDN-Status-Deadline and RDN-Status-Signature";

/// The status request's headers: a request that carries them proves, now, that it comes from
/// the channel's sender or signer, and its 402 carries the channel's last accepted proof.
///
/// They go with a paying request (the channel is the payment's) or alone, as a *probe* that
/// only asks (see [`is_status_probe`](SignedStatusRequest::is_status_probe)). Headers only,
/// never cookies: cookies ride along with every request to the origin; a page's script,
/// which is what asks, can set headers.
impl SignedStatusRequest {
    /// Every header of a status request, in the order [`to_header_pairs`](Self::to_header_pairs)
    /// writes them.
    pub const HEADER_NAMES: [&'static str; 4] =
        [SENDER_ADDRESS, OPEN_BLOCK, STATUS_DEADLINE, STATUS_SIGNATURE];

    /// Reads a status request for a channel of `receiver` through `lookup`: `Ok(None)` when
    /// neither `RDN-Status-Deadline` nor `RDN-Status-Signature` is present; otherwise all four
    /// headers are required and strict, as in [`PaymentHeaders::parse`].
    pub fn parse_headers<'a>(
        receiver: Address,
        lookup: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Option<Self>> {
        let get = |name: &str| lookup(name).map(str::trim);
        if get(STATUS_DEADLINE).is_none() && get(STATUS_SIGNATURE).is_none() {
            return Ok(None);
        }
        let required = |name: &'static str| {
            get(name).ok_or(Error::MissingHeader { header: name, context: STATUS_CONTEXT })
        };
        let sender = parse_address_header(SENDER_ADDRESS, required(SENDER_ADDRESS)?)?;
        let open_block_number =
            parse_open_block(required(OPEN_BLOCK)?).map_err(|e| e.in_header(OPEN_BLOCK))?;
        let deadline = parse_decimal_u64(required(STATUS_DEADLINE)?, "deadline in unix seconds", u64::MAX)
            .map_err(|e| e.in_header(STATUS_DEADLINE))?;
        let signature =
            required(STATUS_SIGNATURE)?.parse().map_err(|e: Error| e.in_header(STATUS_SIGNATURE))?;
        Ok(Some(Self { channel: ChannelId::new(sender, receiver, open_block_number), deadline, signature }))
    }

    /// Whether a request only asks: it carries a status request and no payment (none of
    /// `RDN-Balance`, `RDN-Sender-Balance`, `RDN-Balance-Signature`, `RDN-Payment`). Its
    /// `RDN-Sender-Address` and `RDN-Open-Block` then name the channel, not a payment.
    pub fn is_status_probe<'a>(lookup: impl Fn(&str) -> Option<&'a str>) -> bool {
        let present = |name: &str| lookup(name).is_some();
        (present(STATUS_DEADLINE) || present(STATUS_SIGNATURE))
            && ![BALANCE, SENDER_BALANCE, BALANCE_SIGNATURE, PAYMENT].into_iter().any(present)
    }

    /// The headers to send (the sender EIP-55 checksummed).
    pub fn to_header_pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            (SENDER_ADDRESS, self.channel.sender.to_checksum(None)),
            (OPEN_BLOCK, self.channel.open_block_number.to_string()),
            (STATUS_DEADLINE, self.deadline.to_string()),
            (STATUS_SIGNATURE, self.signature.to_hex()),
        ]
    }
}

/// Parses an address: `0x` + 40 hex digits; mixed case must be a valid EIP-55 checksum.
pub fn parse_address(input: &str) -> Result<Address> {
    let invalid = |problem| Error::InvalidAddress { input: quote(input), problem };
    let digits = input.strip_prefix("0x").ok_or_else(|| invalid("missing the 0x prefix"))?;
    if digits.len() != 40 {
        return Err(invalid("not 40 hex digits after 0x"));
    }
    let mut bytes = [0u8; 20];
    alloy_primitives::hex::decode_to_slice(digits, &mut bytes).map_err(|_| invalid("not a hex digit"))?;
    let address = Address::from(bytes);
    let mixed_case =
        digits.bytes().any(|b| b.is_ascii_uppercase()) && digits.bytes().any(|b| b.is_ascii_lowercase());
    if mixed_case && address.to_checksum(None)[2..] != *digits {
        return Err(invalid("bad EIP-55 checksum: send it all-lowercase or correctly checksummed"));
    }
    Ok(address)
}

fn parse_address_header(header: &'static str, value: &str) -> Result<Address> {
    parse_address(value).map_err(|e| e.in_header(header))
}

pub(crate) fn parse_open_block(input: &str) -> Result<u32> {
    let value = parse_decimal_u64(input, "uint32 open block number", u32::MAX.into())?;
    // In range: parse_decimal_u64 checked the bound.
    Ok(value as u32)
}

pub(crate) fn parse_chain_id(input: &str) -> Result<u64> {
    parse_decimal_u64(input, "chain id", u64::MAX)
}

pub(crate) fn parse_decimal_u64(input: &str, what: &'static str, max: u64) -> Result<u64> {
    let invalid = |problem| Error::InvalidInteger { what, max, input: quote(input), problem };
    check_canonical_decimal(input).map_err(invalid)?;
    input.parse::<u64>().ok().filter(|value| *value <= max).ok_or_else(|| invalid("too large"))
}

pub(crate) fn parse_gateway_path(input: &str) -> Result<String> {
    if input.starts_with('/') && input.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(input.to_owned())
    } else {
        Err(Error::InvalidPath { input: quote(input) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signer::LocalSigningKey;
    use alloy_primitives::address;
    use std::collections::HashMap;

    const CONTRACT: Address = address!("e7f1725e7734ce288f8367e1bb143e90bb3f0512");
    const RECEIVER: Address = address!("70997970c51812dc3a010c7d01b50e0d17dc79c8");
    const SENDER: Address = address!("3c44cdddb6a900fa2b585dd299e03d12fa4293bc");
    const TOKEN: Address = address!("5fbdb2315678afecb367f032d93f642f64180aa3");

    fn signature() -> ProofSignature {
        let key =
            LocalSigningKey::from_hex("5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a")
                .expect("anvil key 2");
        let proof = ChannelId::new(SENDER, RECEIVER, 42).balance_proof(U192::from(15));
        key.sign_balance_proof(&channel_manager_domain(31337, CONTRACT), &proof).expect("signs")
    }

    fn payment() -> PaymentHeaders {
        PaymentHeaders {
            contract: CONTRACT,
            receiver: RECEIVER,
            sender: SENDER,
            open_block_number: 42,
            balance: U192::from(15),
            balance_signature: signature(),
            payment: Some(U192::from(5)),
        }
    }

    /// Headers as a case-insensitive map, like `http::HeaderMap`.
    fn headers(pairs: &[(&str, String)]) -> HashMap<String, String> {
        pairs.iter().map(|(name, value)| (name.to_ascii_lowercase(), value.clone())).collect()
    }

    fn parse_payment(map: &HashMap<String, String>) -> Result<Option<PaymentHeaders>> {
        PaymentHeaders::parse(|name| map.get(&name.to_ascii_lowercase()).map(String::as_str))
    }

    fn with(map: &HashMap<String, String>, name: &str, value: &str) -> HashMap<String, String> {
        let mut map = map.clone();
        map.insert(name.to_ascii_lowercase(), value.to_owned());
        map
    }

    fn without(map: &HashMap<String, String>, name: &str) -> HashMap<String, String> {
        let mut map = map.clone();
        map.remove(&name.to_ascii_lowercase());
        map
    }

    /// The error for `name: value` in an otherwise valid payment.
    fn payment_error(name: &str, value: &str) -> Error {
        parse_payment(&with(&headers(&payment().to_header_pairs()), name, value))
            .expect_err("the value is invalid")
    }

    fn assert_invalid(err: &Error, header: &str) -> String {
        match err {
            Error::InvalidHeader { header: named, .. } => assert_eq!(*named, header, "{err}"),
            other => panic!("expected InvalidHeader({header}), got {other:?}"),
        }
        let message = err.to_string();
        assert!(message.starts_with(&format!("{header}: ")), "{message}");
        message
    }

    #[test]
    fn cookie_pairs_are_decoded_one_by_one() {
        let line = b"a=1; RDN-Open-Block=\"42\" ;broken; theme=caf\xc3\xa9; name=Jos\xe9; b = x=y ;=; c=";
        assert_eq!(
            cookie_pairs(line).collect::<Vec<_>>(),
            vec![
                ("a", "1"),
                ("RDN-Open-Block", "42"),
                ("theme", "caf\u{e9}"),
                ("b", "x=y"),
                ("", ""),
                ("c", "")
            ],
            "the Latin-1 pair alone is skipped"
        );
        assert_eq!(cookie_pairs(b"").count(), 0);
        assert_eq!(cookie_pairs(b"\xff\xfe").count(), 0);
    }

    #[test]
    fn a_request_without_payment_headers_is_not_a_payment() {
        assert_eq!(PaymentHeaders::parse(|_| None), Ok(None));
        // The paywall's cookies (contract, receiver, price, …) do not start a payment.
        let paywall_cookies = headers(&[
            (CONTRACT_ADDRESS, CONTRACT.to_string()),
            (RECEIVER_ADDRESS, RECEIVER.to_string()),
            (PRICE, "5".into()),
            (GATEWAY_PATH, "/api/1".into()),
        ]);
        assert_eq!(parse_payment(&paywall_cookies), Ok(None));
    }

    #[test]
    fn a_complete_payment_round_trips() {
        let payment = payment();
        let pairs = payment.to_header_pairs();
        assert_eq!(
            pairs.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
            PaymentHeaders::HEADER_NAMES[..7].to_vec()
        );
        assert_eq!(parse_payment(&headers(&pairs)), Ok(Some(payment.clone())));
        let without_payment = PaymentHeaders { payment: None, ..payment };
        assert_eq!(without_payment.to_header_pairs().len(), 6);
        assert_eq!(parse_payment(&headers(&without_payment.to_header_pairs())), Ok(Some(without_payment)));
    }

    #[test]
    fn formatted_values_are_canonical() {
        let pairs: HashMap<_, _> = payment().to_header_pairs().into_iter().collect();
        assert_eq!(pairs[CONTRACT_ADDRESS], "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512");
        assert_eq!(pairs[OPEN_BLOCK], "42");
        assert_eq!(pairs[BALANCE], "15");
        assert_eq!(pairs[PAYMENT], "5");
        assert_eq!(pairs[BALANCE_SIGNATURE], signature().to_hex());
    }

    #[test]
    fn sender_balance_is_an_alias_and_balance_wins() {
        let base = headers(&payment().to_header_pairs());
        let alias = with(&without(&base, BALANCE), SENDER_BALANCE, "15");
        assert_eq!(parse_payment(&alias).unwrap().unwrap().balance, U192::from(15));
        // A browser may carry the last accepted balance as the RDN-Sender-Balance cookie.
        let both = with(&base, SENDER_BALANCE, "10");
        assert_eq!(parse_payment(&both).unwrap().unwrap().balance, U192::from(15));
        // An invalid alias is reported under its own name.
        let bad_alias = with(&without(&base, BALANCE), SENDER_BALANCE, "x");
        assert_invalid(&parse_payment(&bad_alias).unwrap_err(), SENDER_BALANCE);
    }

    #[test]
    fn values_are_trimmed() {
        let padded: Vec<_> = payment()
            .to_header_pairs()
            .into_iter()
            .map(|(name, value)| (name, format!(" {value}\t")))
            .collect();
        assert_eq!(parse_payment(&headers(&padded)), Ok(Some(payment())));
    }

    #[test]
    fn each_missing_header_is_named() {
        let base = headers(&payment().to_header_pairs());
        for name in
            [CONTRACT_ADDRESS, RECEIVER_ADDRESS, SENDER_ADDRESS, OPEN_BLOCK, BALANCE, BALANCE_SIGNATURE]
        {
            let err = parse_payment(&without(&base, name)).unwrap_err();
            assert_eq!(err, Error::MissingHeader { header: name, context: PAYMENT_CONTEXT });
            let message = err.to_string();
            assert!(message.starts_with(&format!("{name}: missing; a paying request needs")), "{message}");
        }
        // Any single payment header starts a payment and makes the rest required.
        for name in [SENDER_ADDRESS, OPEN_BLOCK, BALANCE, SENDER_BALANCE, BALANCE_SIGNATURE, PAYMENT] {
            let value = headers(&payment().to_header_pairs())
                .get(&name.to_ascii_lowercase())
                .cloned()
                .unwrap_or_else(|| "15".into());
            let only = headers(&[(name, value)]);
            assert!(matches!(parse_payment(&only), Err(Error::MissingHeader { .. })), "{name}");
        }
    }

    #[test]
    fn every_address_problem_is_reported_per_header() {
        let lower = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512";
        for name in [CONTRACT_ADDRESS, RECEIVER_ADDRESS, SENDER_ADDRESS] {
            for (value, problem) in [
                ("e7f1725e7734ce288f8367e1bb143e90bb3f0512", "missing the 0x prefix"),
                ("0Xe7f1725e7734ce288f8367e1bb143e90bb3f0512", "missing the 0x prefix"),
                (&lower[..41], "not 40 hex digits after 0x"),
                (&format!("{lower}00"), "not 40 hex digits after 0x"),
                ("", "missing the 0x prefix"),
                ("0xg7f1725e7734ce288f8367e1bb143e90bb3f0512", "not a hex digit"),
                // One letter's case flipped from the valid checksum 0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512.
                ("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512".replace("Bb1", "bB1").as_str(), "bad EIP-55"),
            ] {
                let message = assert_invalid(&payment_error(name, value), name);
                assert!(message.contains("expected a 0x-prefixed 20-byte hex address"), "{message}");
                assert!(message.contains(problem), "{message}");
            }
        }
    }

    #[test]
    fn addresses_in_any_valid_case_are_accepted() {
        for value in [
            "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
            "0xE7F1725E7734CE288F8367E1BB143E90BB3F0512",
            "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
        ] {
            assert_eq!(parse_address(value), Ok(CONTRACT), "{value}");
        }
    }

    #[test]
    fn every_amount_problem_is_reported_with_the_input() {
        for name in [BALANCE, PAYMENT] {
            for (value, problem) in [
                ("12a", "only the digits 0-9"),
                ("", "empty"),
                ("-5", "only the digits 0-9"),
                ("0x0f", "only the digits 0-9"),
                ("015", "leading zeros"),
                ("6277101735386680763835789423207666416102355444464034512896", "2^192 or more"),
            ] {
                let message = assert_invalid(&payment_error(name, value), name);
                assert!(message.contains("expected a decimal integer below 2^192"), "{message}");
                assert!(message.contains(problem), "{message}");
            }
        }
        assert_eq!(
            payment_error(BALANCE, "12a").to_string(),
            "RDN-Balance: expected a decimal integer below 2^192, got \"12a\" (only the digits 0-9 are allowed)"
        );
    }

    #[test]
    fn every_open_block_problem_is_reported() {
        for (value, problem) in [
            ("4294967296", "too large"),
            ("99999999999999999999999", "too large"),
            ("-1", "only the digits"),
            ("0x10", "only the digits"),
            ("042", "leading zeros"),
            ("", "empty"),
        ] {
            let message = assert_invalid(&payment_error(OPEN_BLOCK, value), OPEN_BLOCK);
            assert!(message.contains("up to 4294967295 (uint32 open block number)"), "{message}");
            assert!(message.contains(problem), "{value}: {message}");
        }
        let base = headers(&payment().to_header_pairs());
        let max = parse_payment(&with(&base, OPEN_BLOCK, "4294967295")).unwrap().unwrap();
        assert_eq!(max.open_block_number, u32::MAX);
        assert_eq!(parse_payment(&with(&base, OPEN_BLOCK, "0")).unwrap().unwrap().open_block_number, 0);
    }

    #[test]
    fn every_signature_problem_is_reported_without_echoing_it() {
        let good = signature().to_hex();
        let with_v = |v: &str| format!("{}{v}", &good[..130]);
        // The malleable twin (r, n - s, v ^ 1) of a valid signature.
        let high_s = {
            let sig = signature();
            let n: alloy_primitives::U256 =
                "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141".parse().expect("n");
            let mut bytes = sig.as_bytes();
            bytes[32..64].copy_from_slice(&(n - sig.s()).to_be_bytes::<32>());
            bytes[64] = 27 + 28 - bytes[64];
            alloy_primitives::hex::encode_prefixed(bytes)
        };
        for (value, problem) in [
            (good[2..].to_string(), "without the 0x prefix"),
            (good[..130].to_string(), "128 characters after 0x"),
            (format!("{good}00"), "132 characters after 0x"),
            (format!("{}zz", &good[..130]), "not a hex digit"),
            (with_v("1d"), "v must be 27 or 28"),
            (with_v("23"), "got 35"),
            (with_v("25"), "got 37"),
            (format!("0x{}{}", "00".repeat(32), &good[66..]), "r is zero"),
            (format!("{}{}{}", &good[..66], "00".repeat(32), &good[130..]), "s is zero"),
            (high_s, "high-s"),
        ] {
            let message = assert_invalid(&payment_error(BALANCE_SIGNATURE, &value), BALANCE_SIGNATURE);
            assert!(message.contains(problem), "{problem}: {message}");
            assert!(!message.contains(&good[2..40]), "the signature is not echoed: {message}");
        }
        // v 0/1 are accepted and normalised.
        let base = headers(&payment().to_header_pairs());
        let v0 = if good.ends_with("1b") { with_v("00") } else { with_v("01") };
        assert_eq!(parse_payment(&with(&base, BALANCE_SIGNATURE, &v0)).unwrap().unwrap(), payment());
    }

    #[test]
    fn oversized_values_are_truncated_in_messages() {
        let huge = "1".repeat(100_000);
        for name in [BALANCE, OPEN_BLOCK, SENDER_ADDRESS, BALANCE_SIGNATURE] {
            let message = payment_error(name, &huge).to_string();
            assert!(message.len() < 300, "{name}: {} bytes", message.len());
        }
    }

    #[test]
    fn the_payment_names_its_channel_and_proof() {
        let payment = payment();
        assert_eq!(payment.channel_id(), ChannelId::new(SENDER, RECEIVER, 42));
        let proof = payment.balance_proof();
        assert_eq!(proof.balance, U192::from(15));
        let domain = channel_manager_domain(31337, payment.contract);
        assert_eq!(
            crate::signature::recover_balance_proof_signer(&domain, &proof, &payment.balance_signature),
            Ok(SENDER)
        );
    }

    fn paywall(with_channel: bool) -> PaywallInfo {
        PaywallInfo {
            gateway_path: DEFAULT_GATEWAY_PATH.into(),
            receiver: RECEIVER,
            contract: CONTRACT,
            token: TOKEN,
            price: U192::from(5),
            chain_id: 31337,
            sender: with_channel.then_some(SENDER),
            sender_balance: with_channel.then(|| U192::from(15)),
            balance_signature: with_channel.then(signature),
        }
    }

    fn parse_paywall(map: &HashMap<String, String>) -> Result<PaywallInfo> {
        PaywallInfo::parse(|name| map.get(&name.to_ascii_lowercase()).map(String::as_str))
    }

    #[test]
    fn paywall_info_round_trips_with_and_without_a_channel() {
        for with_channel in [false, true] {
            let info = paywall(with_channel);
            let pairs = info.to_header_pairs();
            assert_eq!(pairs.len(), if with_channel { 9 } else { 6 });
            assert_eq!(parse_paywall(&headers(&pairs)), Ok(info));
        }
        let pairs: HashMap<_, _> = paywall(false).to_header_pairs().into_iter().collect();
        assert_eq!(pairs[GATEWAY_PATH], "/api/1");
        assert_eq!(pairs[CHAIN_ID], "31337");
        assert_eq!(pairs[PRICE], "5");
        assert_eq!(paywall(false).domain(), channel_manager_domain(31337, CONTRACT));
    }

    #[test]
    fn paywall_info_names_each_missing_or_bad_header() {
        let base = headers(&paywall(true).to_header_pairs());
        for name in [GATEWAY_PATH, RECEIVER_ADDRESS, CONTRACT_ADDRESS, TOKEN_ADDRESS, PRICE, CHAIN_ID] {
            let err = parse_paywall(&without(&base, name)).unwrap_err();
            assert_eq!(err, Error::MissingHeader { header: name, context: PAYWALL_CONTEXT });
        }
        for name in [SENDER_ADDRESS, SENDER_BALANCE, BALANCE_SIGNATURE] {
            let mut expected = paywall(true);
            match name {
                SENDER_ADDRESS => expected.sender = None,
                SENDER_BALANCE => expected.sender_balance = None,
                _ => expected.balance_signature = None,
            }
            assert_eq!(parse_paywall(&without(&base, name)), Ok(expected), "{name} is optional");
        }
        for (name, value) in [
            (GATEWAY_PATH, "api/1"),
            (GATEWAY_PATH, "/api 1"),
            (RECEIVER_ADDRESS, "0x1234"),
            (CONTRACT_ADDRESS, "nope"),
            (TOKEN_ADDRESS, ""),
            (PRICE, "5.0"),
            (CHAIN_ID, "0x7a69"),
            (CHAIN_ID, "18446744073709551616"),
            (SENDER_ADDRESS, "0x"),
            (SENDER_BALANCE, "-1"),
            (BALANCE_SIGNATURE, "0x00"),
        ] {
            assert_invalid(&parse_paywall(&with(&base, name, value)).unwrap_err(), name);
        }
        let chain_id = parse_paywall(&with(&base, CHAIN_ID, "18446744073709551615")).unwrap().chain_id;
        assert_eq!(chain_id, u64::MAX);
    }

    #[test]
    fn refusals_have_one_header_each_and_round_trip() {
        let mut names: Vec<_> = Refusal::ALL.iter().map(|r| r.header_name()).collect();
        names.dedup();
        assert_eq!(
            names,
            [
                INSUFFICIENT_CONFIRMATIONS,
                NONEXISTING_CHANNEL,
                INVALID_BALANCE_PROOF,
                INSUFFICIENT_FUNDS,
                INVALID_AMOUNT
            ]
        );
        for refusal in Refusal::ALL {
            let (name, value) = refusal.to_header_pair();
            let map = headers(&[(name, value.to_owned())]);
            let found = Refusal::from_headers(|n| map.get(&n.to_ascii_lowercase()).map(String::as_str));
            assert_eq!(found, Some(refusal));
            assert_eq!(Refusal::from_code(refusal.code()), Some(refusal));
            assert!(refusal.to_string().ends_with('.'));
            // µRaiden 0.2.6 servers send "1".
            let legacy = headers(&[(name, "1".into())]);
            assert_eq!(
                Refusal::from_headers(|n| legacy.get(&n.to_ascii_lowercase()).map(String::as_str)),
                Some(refusal)
            );
        }
        assert_eq!(Refusal::from_headers(|_| None), None);
        assert_eq!(Refusal::from_code("nope"), None);
    }

    #[test]
    fn header_names_are_distinct_and_prefixed() {
        let all = [
            GATEWAY_PATH,
            RECEIVER_ADDRESS,
            CONTRACT_ADDRESS,
            TOKEN_ADDRESS,
            PRICE,
            CHAIN_ID,
            SENDER_ADDRESS,
            SENDER_BALANCE,
            BALANCE_SIGNATURE,
            OPEN_BLOCK,
            BALANCE,
            PAYMENT,
            INSUFFICIENT_CONFIRMATIONS,
            NONEXISTING_CHANNEL,
            INVALID_BALANCE_PROOF,
            INSUFFICIENT_FUNDS,
            INVALID_AMOUNT,
        ];
        let mut lower: Vec<_> = all.iter().map(|n| n.to_ascii_lowercase()).collect();
        lower.sort();
        lower.dedup();
        assert_eq!(lower.len(), all.len());
        assert!(all
            .iter()
            .all(|n| n.starts_with("RDN-") && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')));
    }
}
