//! The option objects JS passes in: one Rust definition each, from which tsify writes the `.d.ts`
//! declaration (from the `serde` attributes) and whose reader ([`FromJs`], errors naming the
//! field) lists the same fields under the same names.
//! Exports take them as `tsify::Ts<T>` and read them inside, so a bad option is an ordinary
//! `InvalidArgument` error.

use tsify::Tsify;
use wasm_bindgen::{prelude::wasm_bindgen, JsValue};

use crate::{
    add_chain::ChainParameters,
    amount::Amount,
    error::Result,
    from_js::{expected, from_js, name_in, FieldError, FromJs, JsAny, Object},
    hex::{HexAddress, HexSignature},
};

#[wasm_bindgen(typescript_custom_section)]
const PROVIDER_TS: &str = r#"
/** Any EIP-1193 provider: `window.ethereum`, an EIP-6963 provider, a test wallet. */
export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] | object }): Promise<unknown>;
}
"#;

/// Reads the option object `T` passed as `options` (absent: `T::default()`).
pub fn read<T>(options: Option<tsify::Ts<T>>) -> Result<T>
where
    T: Tsify + FromJs + Default,
{
    match options {
        Some(options) => from_js("options", options.js_value()),
        None => Ok(T::default()),
    }
}

/// Reads the required option object `T`.
pub fn read_required<T>(options: tsify::Ts<T>) -> Result<T>
where
    T: Tsify + FromJs,
{
    from_js("options", options.js_value())
}

/// `MicroRaiden.create(options)`.
#[derive(Debug, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct CreateOptions {
    /// The RaidenMicroTransferChannels address.
    #[tsify(type = "`0x${string}`")]
    pub contract: HexAddress,
    /// The token; read from the contract's `token()` when omitted.
    #[tsify(type = "`0x${string}`", optional)]
    #[serde(default)]
    pub token: Option<HexAddress>,
    /// The chain the contract lives on; the wallet's current chain when omitted.
    #[tsify(optional)]
    #[serde(default)]
    pub chain_id: Option<u64>,
    /// The default receiver for `openChannel` and `loadStoredChannel`.
    #[tsify(type = "`0x${string}`", optional)]
    #[serde(default)]
    pub receiver: Option<HexAddress>,
    /// Receipt polling interval, default 1000 ms.
    #[tsify(optional)]
    #[serde(default)]
    pub poll_interval_ms: Option<u64>,
    /// Blocks a transaction needs, its own included, before a method that sent it resolves
    /// (default 1: mined is enough). Match the receiver's `--confirmations`.
    #[tsify(optional)]
    #[serde(default)]
    pub confirmations: Option<u64>,
    /// How long to wait for a transaction to be mined, default 600000 ms.
    #[tsify(optional)]
    #[serde(default)]
    pub receipt_timeout_ms: Option<u64>,
    /// How long `payingFetch` waits for the receiver to see a new channel or deposit confirmed
    /// (it retries the same proof every `pollIntervalMs`), default 120000 ms; then it throws
    /// (`Timeout`, `InsufficientDeposit` or `NoChannel`, with `data.refusal`).
    #[tsify(optional)]
    #[serde(default)]
    pub confirmation_timeout_ms: Option<u64>,
    /// Defaults to `window.ethereum`; an entry of `discoverWallets()` (or its `provider`) works too.
    #[tsify(type = "Eip1193Provider | Eip6963ProviderDetail", optional)]
    #[serde(default)]
    pub provider: JsAny,
    /// How to add the chain when the wallet does not know it (4902): `switchChain()` then adds it.
    #[tsify(optional)]
    #[serde(default)]
    pub chain: Option<ChainParameters>,
    /// The origins whose 402s `payingFetch` may pay (`["https://shop.example"]`): a 402 requested
    /// from, or redirected to, another origin throws `InvalidResponse`; paid requests do not follow redirects
    /// (one resolves as an `opaqueredirect` Response, status 0). Default: any origin, bounded by
    /// `maxPrice`.
    #[tsify(optional)]
    #[serde(default)]
    pub paid_origins: Option<Vec<String>>,
    /// How long `payingFetch` waits for the answer to a paid request (or a status request) before
    /// it aborts it and throws `Timeout` (default 60000 ms; at least 1): the proof stays signed
    /// but not counted, and later payments no longer wait behind it. `init.signal` aborts it too.
    #[tsify(optional)]
    #[serde(default)]
    pub payment_timeout_ms: Option<u64>,
}

/// How the deposit reaches the contract:
/// - `"approve"` (default): `approve` + `createChannelWithSigner`, two transactions, any ERC20;
/// - `"erc223"`: one `transfer(contract, deposit, data)`, for tokens with ERC223 `tokenFallback`;
/// - `"permit"`: an EIP-2612 permit signature (no gas) + `createChannelWithPermit`, one transaction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Tsify)]
#[serde(rename_all = "lowercase")]
pub enum DepositMethod {
    #[default]
    Approve,
    Erc223,
    Permit,
}

/// `openChannel(options)`.
#[derive(Debug, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct OpenChannelOptions {
    #[tsify(type = "`0x${string}`", optional)]
    #[serde(default)]
    pub receiver: Option<HexAddress>,
    #[tsify(type = "bigint")]
    pub deposit: Amount,
    /// Create a browser key and register it as the channel's signer (default true).
    #[tsify(optional)]
    #[serde(default)]
    pub session_key: Option<bool>,
    /// Default `"approve"`.
    #[tsify(optional)]
    #[serde(default)]
    pub method: Option<DepositMethod>,
    /// Open another channel although one with this receiver is open or being opened (else
    /// `openChannel` throws `ErrorCode.ChannelAlreadyOpen`). Every channel stays stored with its
    /// session key: `storedChannels()` lists them, `loadStoredChannel(receiver, openBlockNumber)`
    /// picks one.
    #[tsify(optional)]
    #[serde(default)]
    pub replace: Option<bool>,
}

/// `topUpChannel(deposit, options)`.
#[derive(Debug, Default, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct TopUpOptions {
    /// Default `"approve"`; `"permit"` is for opening only.
    #[tsify(type = "\"approve\" | \"erc223\"", optional)]
    #[serde(default)]
    pub method: Option<DepositMethod>,
}

/// `closeChannel(options)`.
#[derive(Debug, Default, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct CloseChannelOptions {
    /// The receiver's ClosingProof signature over `balance`: closes cooperatively.
    #[tsify(type = "string", optional)]
    #[serde(default)]
    pub closing_signature: Option<HexSignature>,
    /// With `receiverUrl`: when the receiver refuses or cannot be reached, close uncooperatively
    /// instead of failing (`CloseResult.fallbackReason` says why). Default false.
    #[tsify(optional)]
    #[serde(default)]
    pub fallback_uncooperative: Option<bool>,
    /// Defaults to the channel's last signed balance (must be it, or omitted, with `receiverUrl`).
    #[tsify(type = "bigint", optional)]
    #[serde(default)]
    pub balance: Option<Amount>,
    /// Ask the receiver for its closing signature first (`DELETE {api}/channels/{sender}/{block}`
    /// with a close request signed now: by the session key, else one wallet prompt), then close
    /// cooperatively: its origin (`https://shop.example`, API at `/api/1`) or API base URL
    /// (`https://shop.example/api/1`, or `/api/1` on the same origin). When the receiver holds
    /// another last balance signed by this channel, the close continues from it.
    #[tsify(optional)]
    #[serde(default)]
    pub receiver_url: Option<String>,
}

/// `payingFetch(input, options)`.
#[derive(Debug, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct PayingFetchOptions {
    /// The most one request may cost, in token base units.
    #[tsify(type = "bigint")]
    pub max_price: Amount,
    /// Overrides `CreateOptions.paymentTimeoutMs` for this call.
    #[tsify(optional)]
    #[serde(default)]
    pub payment_timeout_ms: Option<u64>,
    /// Passed to `new Request(input, init)`.
    #[tsify(type = "RequestInit", optional)]
    #[serde(default)]
    pub init: JsAny,
}

/// `x402Scheme(options)`: how the x402 scheme client pays.
#[cfg(feature = "x402")]
#[derive(Debug, Default, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct X402SchemeOptions {
    /// The deposit of the channel the scheme opens when it has none with the receiver, in token
    /// base units. Default: the offer's `extra.suggestedDeposit`, at most a hundred requests at
    /// its price (a receiver cannot lock up more of the sender's tokens by suggesting more).
    #[tsify(type = "bigint", optional)]
    #[serde(default)]
    pub deposit: Option<Amount>,
    /// How that channel is opened (default `"approve"`: two transactions).
    #[tsify(optional)]
    #[serde(default)]
    pub method: Option<DepositMethod>,
    /// The most one request may cost, in token base units; the x402 client's spend controls
    /// (`maxAmountPerPayment`) cap it too. Default: no cap but theirs and the deposit's.
    #[tsify(type = "bigint", optional)]
    #[serde(default)]
    pub max_price: Option<Amount>,
}

/// `forgetStoredChannel(options)`.
#[derive(Debug, Default, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct ForgetOptions {
    /// Forget a channel whose session key this browser holds all the same (its key is deleted for
    /// good): needed unless the channel is known closed or settled, else `forgetStoredChannel`
    /// throws `InvalidArgument`.
    #[tsify(optional)]
    #[serde(default)]
    pub force: Option<bool>,
}

impl FromJs for CreateOptions {
    fn from_js(value: JsValue) -> Result<Self, FieldError> {
        let object = Object::new(value)?;
        Ok(Self {
            contract: object.field("contract")?,
            token: object.field("token")?,
            chain_id: object.field("chainId")?,
            receiver: object.field("receiver")?,
            poll_interval_ms: object.field("pollIntervalMs")?,
            confirmations: object.field("confirmations")?,
            receipt_timeout_ms: object.field("receiptTimeoutMs")?,
            confirmation_timeout_ms: object.field("confirmationTimeoutMs")?,
            provider: object.field("provider")?,
            chain: object.field("chain")?,
            paid_origins: object.field("paidOrigins")?,
            payment_timeout_ms: object.field("paymentTimeoutMs")?,
        })
    }
}

impl DepositMethod {
    const NAMES: [&'static str; 3] = ["approve", "erc223", "permit"];

    /// The method named `name` (lowercase, as in the `.d.ts`).
    fn named(name: &str) -> Result<Self, FieldError> {
        Ok([Self::Approve, Self::Erc223, Self::Permit][name_in(name, &Self::NAMES)?])
    }
}

impl FromJs for DepositMethod {
    fn from_js(value: JsValue) -> Result<Self, FieldError> {
        match value.as_string() {
            Some(name) => Self::named(&name),
            None => Err(expected(&crate::from_js::one_of(&Self::NAMES), &value)),
        }
    }
}

impl FromJs for OpenChannelOptions {
    fn from_js(value: JsValue) -> Result<Self, FieldError> {
        let object = Object::new(value)?;
        Ok(Self {
            receiver: object.field("receiver")?,
            deposit: object.field("deposit")?,
            session_key: object.field("sessionKey")?,
            method: object.field("method")?,
            replace: object.field("replace")?,
        })
    }
}

impl FromJs for TopUpOptions {
    fn from_js(value: JsValue) -> Result<Self, FieldError> {
        Ok(Self { method: Object::new(value)?.field("method")? })
    }
}

impl FromJs for CloseChannelOptions {
    fn from_js(value: JsValue) -> Result<Self, FieldError> {
        let object = Object::new(value)?;
        Ok(Self {
            closing_signature: object.field("closingSignature")?,
            fallback_uncooperative: object.field("fallbackUncooperative")?,
            balance: object.field("balance")?,
            receiver_url: object.field("receiverUrl")?,
        })
    }
}

impl FromJs for PayingFetchOptions {
    fn from_js(value: JsValue) -> Result<Self, FieldError> {
        let object = Object::new(value)?;
        Ok(Self {
            max_price: object.field("maxPrice")?,
            payment_timeout_ms: object.field("paymentTimeoutMs")?,
            init: object.field("init")?,
        })
    }
}

#[cfg(feature = "x402")]
impl FromJs for X402SchemeOptions {
    fn from_js(value: JsValue) -> Result<Self, FieldError> {
        let object = Object::new(value)?;
        Ok(Self {
            deposit: object.field("deposit")?,
            method: object.field("method")?,
            max_price: object.field("maxPrice")?,
        })
    }
}

impl FromJs for ForgetOptions {
    fn from_js(value: JsValue) -> Result<Self, FieldError> {
        Ok(Self { force: Object::new(value)?.field("force")? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(name: &str) -> core::result::Result<DepositMethod, FieldError> {
        DepositMethod::named(name)
    }

    #[test]
    fn deposit_methods_are_named_in_lowercase_and_others_listed() {
        assert_eq!(method("approve").unwrap(), DepositMethod::Approve);
        assert_eq!(method("erc223").unwrap(), DepositMethod::Erc223);
        assert_eq!(method("permit").unwrap(), DepositMethod::Permit);
        assert_eq!(DepositMethod::default(), DepositMethod::Approve);
        let err = method("ERC223").unwrap_err();
        assert_eq!(err.to_string(), r#"expected "approve", "erc223" or "permit", got "ERC223""#);
    }

    #[test]
    fn the_declarations_type_addresses_and_amounts() {
        let open = OpenChannelOptions::DECL;
        assert!(open.contains("receiver?: `0x${string}`;"), "{open}");
        assert!(open.contains("deposit: bigint;"), "{open}");
        assert!(open.contains("method?: DepositMethod;"), "{open}");
        assert!(CreateOptions::DECL.contains("contract: `0x${string}`;"), "{}", CreateOptions::DECL);
        assert!(CreateOptions::DECL.contains("chain?: ChainParameters;"), "{}", CreateOptions::DECL);
        assert!(
            DepositMethod::DECL.contains(r#"export type DepositMethod = "approve" | "erc223" | "permit";"#)
        );
    }
}
