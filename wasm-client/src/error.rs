//! `UraidenError`: the one error class every export throws or rejects with.
//!
//! JS code branches on the numeric `code`: the EIP-1193 provider codes pass through unchanged
//! (4001 means the user said no: show it, never re-prompt automatically), JSON-RPC errors keep
//! their negative codes, and the library's own failures use the 5000 range below.

use uraiden_protocol::Refusal;
use wasm_bindgen::prelude::*;

/// What went wrong, as a stable numeric code and a class-like name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// EIP-1193 4001: the user rejected the request in the wallet.
    UserRejected,
    /// EIP-1193 4100: the account or method is not authorised (call `requestAccounts`).
    Unauthorized,
    /// EIP-1193 4200: the wallet does not support the method.
    UnsupportedMethod,
    /// EIP-1193 4900: the wallet is disconnected from all chains.
    Disconnected,
    /// EIP-1193 4901: the wallet is not connected to the requested chain.
    ChainDisconnected,
    /// 4902 (`wallet_switchEthereumChain`): the wallet does not know the chain.
    UnrecognizedChain,
    /// Any other error a provider reported, with its own (often JSON-RPC, negative) code.
    Rpc(i32),
    /// 5001: an argument was malformed (address, amount, signature, option).
    InvalidArgument,
    /// 5002: no EIP-1193 provider was given and `window.ethereum` is absent.
    NoProvider,
    /// 5003: the wallet is on another chain than the channel manager.
    WrongChain,
    /// 5004: there is no channel to act on (open one, or load the stored one).
    NoChannel,
    /// 5005: the new balance would exceed the channel's deposit (top up).
    InsufficientDeposit,
    /// 5006: a paywall asked more than the caller's `maxPrice`.
    PriceTooHigh,
    /// 5007: a transaction was mined but reverted.
    TransactionFailed,
    /// 5008: a transaction was not mined in time.
    Timeout,
    /// 5009: a provider or server answered something that is not what the protocol says.
    InvalidResponse,
    /// 5010: a signature does not recover to the expected signer.
    InvalidSignature,
    /// 5011: `localStorage` is unavailable or holds something unreadable.
    Storage,
    /// 5012: the network request itself failed (`fetch` rejected).
    Network,
    /// 5013: the receiver refused to sign a cooperative close (or could not be reached).
    CloseRefused,
}

impl ErrorKind {
    /// The numeric `code` JS sees.
    pub const fn code(self) -> i32 {
        match self {
            Self::UserRejected => 4001,
            Self::Unauthorized => 4100,
            Self::UnsupportedMethod => 4200,
            Self::Disconnected => 4900,
            Self::ChainDisconnected => 4901,
            Self::UnrecognizedChain => 4902,
            Self::Rpc(code) => code,
            Self::InvalidArgument => 5001,
            Self::NoProvider => 5002,
            Self::WrongChain => 5003,
            Self::NoChannel => 5004,
            Self::InsufficientDeposit => 5005,
            Self::PriceTooHigh => 5006,
            Self::TransactionFailed => 5007,
            Self::Timeout => 5008,
            Self::InvalidResponse => 5009,
            Self::InvalidSignature => 5010,
            Self::Storage => 5011,
            Self::Network => 5012,
            Self::CloseRefused => 5013,
        }
    }

    /// The `name` JS sees, in viem's vocabulary where viem has one.
    pub const fn name(self) -> &'static str {
        match self {
            Self::UserRejected => "UserRejectedRequestError",
            Self::Unauthorized => "UnauthorizedProviderError",
            Self::UnsupportedMethod => "UnsupportedProviderMethodError",
            Self::Disconnected => "ProviderDisconnectedError",
            Self::ChainDisconnected => "ChainDisconnectedError",
            Self::UnrecognizedChain => "SwitchChainError",
            Self::Rpc(_) => "ProviderRpcError",
            Self::InvalidArgument => "InvalidArgumentError",
            Self::NoProvider => "NoProviderError",
            Self::WrongChain => "ChainMismatchError",
            Self::NoChannel => "NoChannelError",
            Self::InsufficientDeposit => "InsufficientDepositError",
            Self::PriceTooHigh => "PriceTooHighError",
            Self::TransactionFailed => "TransactionRevertedError",
            Self::Timeout => "TransactionTimeoutError",
            Self::InvalidResponse => "InvalidResponseError",
            Self::InvalidSignature => "InvalidSignatureError",
            Self::Storage => "StorageError",
            Self::Network => "NetworkError",
            Self::CloseRefused => "CloseRefusedError",
        }
    }

    /// The kind of a provider rejection with this `code` (EIP-1193 §"Provider Errors").
    pub const fn from_provider_code(code: i32) -> Self {
        match code {
            4001 => Self::UserRejected,
            4100 => Self::Unauthorized,
            4200 => Self::UnsupportedMethod,
            4900 => Self::Disconnected,
            4901 => Self::ChainDisconnected,
            4902 => Self::UnrecognizedChain,
            other => Self::Rpc(other),
        }
    }
}

/// The error every `uraiden-wasm` export throws: `name`, numeric `code`, `message`, and for
/// provider errors the provider's `data` (revert data, for instance).
#[wasm_bindgen]
#[derive(Clone, Debug)]
pub struct UraidenError {
    kind: ErrorKind,
    message: String,
    data: Option<JsValue>,
}

impl UraidenError {
    /// An error of `kind` with a message that says what happened and what to do.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), data: None }
    }

    /// Attaches the provider's `data`.
    pub fn with_data(mut self, data: JsValue) -> Self {
        if !data.is_undefined() && !data.is_null() {
            self.data = Some(data);
        }
        self
    }

    /// The kind, for Rust callers.
    pub const fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// A malformed argument: `what` names the argument.
    pub fn invalid_argument(what: &str, problem: impl core::fmt::Display) -> Self {
        Self::new(ErrorKind::InvalidArgument, format!("{what}: {problem}"))
    }

    /// A provider rejection: an object with `code` and `message` (EIP-1193), or anything else.
    pub fn from_provider_rejection(method: &str, rejection: &JsValue) -> Self {
        let field = |name: &str| js_sys::Reflect::get(rejection, &JsValue::from_str(name)).ok();
        let code = field("code").and_then(|code| code.as_f64());
        let message = field("message")
            .and_then(|message| message.as_string())
            .or_else(|| rejection.as_string())
            .unwrap_or_else(|| "the provider rejected the request without a message".to_owned());
        let data = field("data").unwrap_or(JsValue::UNDEFINED);
        let (kind, message) = describe_provider_error(method, code, &message);
        Self::new(kind, message).with_data(data)
    }

    /// A 402 refusal that persisted after paying.
    pub fn refused(refusal: Refusal) -> Self {
        Self::new(ErrorKind::InvalidResponse, format!("payment refused ({}): {refusal}", refusal.code()))
    }
}

/// The kind and message of a provider error, given the rejection's `code` (when numeric and
/// integral) and `message`; pure so it can be tested natively.
pub fn describe_provider_error(method: &str, code: Option<f64>, message: &str) -> (ErrorKind, String) {
    // Integral and within i32, so the cast is exact.
    let code = code.filter(|code| code.fract() == 0.0 && code.abs() <= f64::from(i32::MAX)).map(|c| c as i32);
    let kind = code.map_or(ErrorKind::Rpc(-32603), ErrorKind::from_provider_code);
    let hint = match kind {
        ErrorKind::UserRejected => "; nothing was signed or sent",
        ErrorKind::Unauthorized => "; call requestAccounts() first",
        ErrorKind::UnrecognizedChain => "; add the chain to the wallet first",
        _ => "",
    };
    (kind, format!("{method}: {message}{hint}"))
}

impl From<uraiden_protocol::Error> for UraidenError {
    fn from(error: uraiden_protocol::Error) -> Self {
        Self::new(ErrorKind::InvalidArgument, error.to_string())
    }
}

#[wasm_bindgen]
impl UraidenError {
    /// A class-like name such as `"UserRejectedRequestError"`.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.kind.name().to_owned()
    }

    /// EIP-1193 / JSON-RPC code, or the library's own (5001 and up).
    #[wasm_bindgen(getter)]
    pub fn code(&self) -> i32 {
        self.kind.code()
    }

    /// What happened and what to do next.
    #[wasm_bindgen(getter)]
    pub fn message(&self) -> String {
        self.message.clone()
    }

    /// The provider's `data`, when it sent one.
    #[wasm_bindgen(getter, unchecked_return_type = "unknown")]
    pub fn data(&self) -> JsValue {
        self.data.clone().unwrap_or(JsValue::UNDEFINED)
    }

    /// `name (code): message`.
    #[wasm_bindgen(js_name = toString)]
    pub fn to_js_string(&self) -> String {
        format!("{} ({}): {}", self.kind.name(), self.kind.code(), self.message)
    }
}

/// `Result` with [`UraidenError`].
pub type Result<T, E = UraidenError> = core::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eip1193_codes_pass_through_and_ours_are_distinct() {
        for code in [4001, 4100, 4200, 4900, 4901, 4902, -32603, -32000, 3] {
            assert_eq!(ErrorKind::from_provider_code(code).code(), code);
        }
        assert_eq!(ErrorKind::from_provider_code(4001), ErrorKind::UserRejected);
        assert_eq!(ErrorKind::UserRejected.name(), "UserRejectedRequestError");
        let ours = [
            ErrorKind::InvalidArgument,
            ErrorKind::NoProvider,
            ErrorKind::WrongChain,
            ErrorKind::NoChannel,
            ErrorKind::InsufficientDeposit,
            ErrorKind::PriceTooHigh,
            ErrorKind::TransactionFailed,
            ErrorKind::Timeout,
            ErrorKind::InvalidResponse,
            ErrorKind::InvalidSignature,
            ErrorKind::Storage,
            ErrorKind::Network,
            ErrorKind::CloseRefused,
        ];
        let codes: Vec<i32> = ours.iter().map(|k| k.code()).collect();
        assert_eq!(codes, (5001..=5013).collect::<Vec<_>>());
    }

    #[test]
    fn provider_rejections_keep_code_and_say_what_to_do() {
        let (kind, message) = describe_provider_error("eth_sendTransaction", Some(4001.0), "User denied");
        assert_eq!(kind, ErrorKind::UserRejected);
        assert_eq!(message, "eth_sendTransaction: User denied; nothing was signed or sent");
        let (kind, message) = describe_provider_error("eth_accounts", Some(4100.0), "no");
        assert_eq!(kind.code(), 4100);
        assert!(message.ends_with("call requestAccounts() first"));
        assert_eq!(describe_provider_error("eth_call", Some(-32000.0), "reverted").0, ErrorKind::Rpc(-32000));
        // No or non-integral code: an internal JSON-RPC error.
        assert_eq!(describe_provider_error("x", None, "boom").0.code(), -32603);
        assert_eq!(describe_provider_error("x", Some(4001.5), "boom").0.code(), -32603);
    }
}
