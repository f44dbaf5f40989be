//! `UraidenError`: the one error class every export throws or rejects with.
//!
//! JS code branches on the numeric `code` (named by the exported `ErrorCode` enum): the EIP-1193 provider codes pass through unchanged
//! (4001 means the user said no: show it, never re-prompt automatically), JSON-RPC errors keep
//! their negative codes, and the library's own failures use the 5000 range below.

use uraiden_protocol::Refusal;
use wasm_bindgen::prelude::*;

/// What went wrong, as a stable numeric code.
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
    /// 5014: the receiver refused a payment and nothing the library can do (resync, wait for
    /// confirmations) makes it accept; `data.refusal` names the receiver's reason.
    PaymentRefused,
    /// 5015: the account already has an open channel (or one being opened) with this receiver:
    /// use it, or pass `replace: true` to open another (both stay stored).
    ChannelAlreadyOpen,
}

/// The codes of [`ErrorKind`] as a JS enum (`ErrorCode.UserRejected === 4001`), so callers
/// compare `error.code` with a name rather than a number. A provider may report other codes
/// (JSON-RPC errors are negative): `code` is typed `number`, not `ErrorCode`.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// The user rejected the request in the wallet: show it, never re-prompt automatically.
    UserRejected = 4001,
    /// The account or method is not authorised: call `requestAccounts()`.
    Unauthorized = 4100,
    /// The wallet does not support the method.
    UnsupportedMethod = 4200,
    /// The wallet is disconnected from all chains.
    Disconnected = 4900,
    /// The wallet is not connected to the requested chain.
    ChainDisconnected = 4901,
    /// The wallet does not know the chain: add it first.
    UnrecognizedChain = 4902,
    /// An argument was malformed (address, amount, signature, option).
    InvalidArgument = 5001,
    /// No EIP-1193 provider was given and `window.ethereum` is absent.
    NoProvider = 5002,
    /// The wallet is on another chain than the channel manager.
    WrongChain = 5003,
    /// There is no channel to act on (open one, or load the stored one).
    NoChannel = 5004,
    /// The new balance would exceed the channel's deposit (top up).
    InsufficientDeposit = 5005,
    /// A paywall asked more than the caller's `maxPrice`.
    PriceTooHigh = 5006,
    /// A transaction was mined but reverted.
    TransactionFailed = 5007,
    /// A transaction was not mined in time.
    Timeout = 5008,
    /// A provider or server answered something that is not what the protocol says.
    InvalidResponse = 5009,
    /// A signature does not recover to the expected signer.
    InvalidSignature = 5010,
    /// `localStorage` is unavailable or holds something unreadable.
    Storage = 5011,
    /// The network request itself failed (`fetch` rejected).
    Network = 5012,
    /// The receiver refused to sign a cooperative close (or could not be reached).
    CloseRefused = 5013,
    /// The receiver refused a payment the library could not fix (`data.refusal` says why).
    PaymentRefused = 5014,
    /// The account already has an open channel (or one being opened) with this receiver: use
    /// it, or pass `openChannel({ replace: true })` to open another (both stay stored).
    ChannelAlreadyOpen = 5015,
}

impl ErrorKind {
    /// The numeric `code` JS sees.
    pub const fn code(self) -> i32 {
        match self {
            Self::UserRejected => ErrorCode::UserRejected as i32,
            Self::Unauthorized => ErrorCode::Unauthorized as i32,
            Self::UnsupportedMethod => ErrorCode::UnsupportedMethod as i32,
            Self::Disconnected => ErrorCode::Disconnected as i32,
            Self::ChainDisconnected => ErrorCode::ChainDisconnected as i32,
            Self::UnrecognizedChain => ErrorCode::UnrecognizedChain as i32,
            Self::Rpc(code) => code,
            Self::InvalidArgument => ErrorCode::InvalidArgument as i32,
            Self::NoProvider => ErrorCode::NoProvider as i32,
            Self::WrongChain => ErrorCode::WrongChain as i32,
            Self::NoChannel => ErrorCode::NoChannel as i32,
            Self::InsufficientDeposit => ErrorCode::InsufficientDeposit as i32,
            Self::PriceTooHigh => ErrorCode::PriceTooHigh as i32,
            Self::TransactionFailed => ErrorCode::TransactionFailed as i32,
            Self::Timeout => ErrorCode::Timeout as i32,
            Self::InvalidResponse => ErrorCode::InvalidResponse as i32,
            Self::InvalidSignature => ErrorCode::InvalidSignature as i32,
            Self::Storage => ErrorCode::Storage as i32,
            Self::Network => ErrorCode::Network as i32,
            Self::CloseRefused => ErrorCode::CloseRefused as i32,
            Self::PaymentRefused => ErrorCode::PaymentRefused as i32,
            Self::ChannelAlreadyOpen => ErrorCode::ChannelAlreadyOpen as i32,
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

/// The error every `uraiden-wasm` export throws: in JS an `UraidenError extends Error`
/// (`wasm-client/js/errors.js`) with `name` `"UraidenError"`, numeric `code` (an [`ErrorCode`]
/// or a provider's own code), `message`, and for provider errors the provider's `data` (revert
/// data, for instance) and the provider's rejection as `cause`; a refused payment's `data` is
/// `{ refusal }`, the receiver's reason (`"insufficient-funds"`, …).
/// Boxed: every `Result` of the library carries it, and a pointer moves in one word.
#[derive(Clone, Debug)]
pub struct UraidenError(Box<Details>);

#[derive(Clone, Debug)]
struct Details {
    kind: ErrorKind,
    message: String,
    data: Option<JsValue>,
    cause: Option<JsValue>,
    /// A payment's refusal, shown to JS as `data: { refusal: "<code>" }`.
    refusal: Option<Refusal>,
}

impl UraidenError {
    /// An error of `kind` with a message that says what happened and what to do.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self(Box::new(Details { kind, message: message.into(), data: None, cause: None, refusal: None }))
    }

    /// Attaches the provider's `data`.
    pub fn with_data(mut self, data: JsValue) -> Self {
        if !data.is_undefined() && !data.is_null() {
            self.0.data = Some(data);
        }
        self
    }

    /// This error, caused by `other`: it takes `other`'s `data` and `cause` (a provider's
    /// rejection stays reachable as `cause` when a library error explains it).
    pub fn caused_by(mut self, other: Self) -> Self {
        self.0.data = other.0.data;
        self.0.cause = other.0.cause;
        self
    }

    /// The same error (kind, `data`, `cause`) with another message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.0.message = message.into();
        self
    }

    /// The kind, for Rust callers.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The receiver's refusal this error reports, if any.
    pub fn refusal(&self) -> Option<Refusal> {
        self.0.refusal
    }

    /// The numeric `code` JS sees.
    pub fn code(&self) -> i32 {
        self.0.kind.code()
    }

    /// What happened and what to do next.
    pub fn message(&self) -> String {
        self.0.message.clone()
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
        let mut error = Self::new(kind, message).with_data(data);
        error.0.cause = Some(rejection.clone());
        error
    }

    /// The receiver's refusal of a payment, with its machine-readable reason as `data.refusal`.
    pub fn with_refusal(mut self, refusal: Option<Refusal>) -> Self {
        self.0.refusal = refusal;
        self
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
        let kind = match error {
            uraiden_protocol::Error::ExceedsDeposit { .. } => ErrorKind::InsufficientDeposit,
            _ => ErrorKind::InvalidArgument,
        };
        Self::new(kind, error.to_string())
    }
}

#[wasm_bindgen(module = "/js/errors.js")]
extern "C" {
    /// The JS class, exported from the package so callers can test `instanceof UraidenError`
    /// (declared for TypeScript below; scripts/build-wasm.sh drops wasm-bindgen's `unknown`).
    #[wasm_bindgen(js_name = UraidenError, reexport, extends = js_sys::Error)]
    type JsUraidenError;

    #[wasm_bindgen(constructor, js_class = UraidenError)]
    fn new(code: i32, message: &str, data: &JsValue, cause: &JsValue) -> JsUraidenError;
}

#[wasm_bindgen(typescript_custom_section)]
const URAIDEN_ERROR_TS: &str = r#"
/**
 * The error every export throws or rejects with: `name` is `"UraidenError"`, `code` an
 * `ErrorCode` (or a provider's own code: JSON-RPC errors are negative), `message` says what
 * happened and what to do, `data` is the provider's error data and `cause` its rejection;
 * when the receiver refused a payment, `data` is `{ refusal }`, its reason
 * (`"nonexisting-channel"`, `"insufficient-funds"`, `"insufficient-confirmations"`,
 * `"invalid-balance-proof"`, `"invalid-amount"`).
 */
export class UraidenError extends Error {
  private constructor();
  name: "UraidenError";
  code: number;
  data?: unknown;
  cause?: unknown;
}
"#;

impl From<UraidenError> for JsValue {
    fn from(error: UraidenError) -> Self {
        let undefined = JsValue::UNDEFINED;
        let error = *error.0;
        let refusal = error
            .refusal
            .map(|refusal| crate::js::ObjectBuilder::default().set("refusal", refusal.code()).build());
        let data = error.data.as_ref().or(refusal.as_ref()).unwrap_or(&undefined);
        let cause = error.cause.as_ref().unwrap_or(&undefined);
        JsUraidenError::new(error.kind.code(), &error.message, data, cause).into()
    }
}

impl core::fmt::Display for UraidenError {
    /// `UraidenError (code): message`, as JS's `toString` shows the name and message.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "UraidenError ({}): {}", self.0.kind.code(), self.0.message)
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
            ErrorKind::PaymentRefused,
            ErrorKind::ChannelAlreadyOpen,
        ];
        let codes: Vec<i32> = ours.iter().map(|k| k.code()).collect();
        assert_eq!(codes, (5001..=5015).collect::<Vec<_>>());
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
