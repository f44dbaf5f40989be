//! Adding the channel manager's chain to a wallet that does not know it (EIP-3085
//! `wallet_addEthereumChain`), with the parameters given as `MicroRaiden.create({ chain })`
//! (the paywall page passes what the receiver publishes). Without them an unknown chain
//! (4902) stays an error that says what to add.

use js_sys::Array;
use tsify::Tsify;
use wasm_bindgen::JsValue;

use crate::{
    error::{ErrorKind, Result, UraidenError},
    from_js::{FieldError, FromJs, Object},
    js::ObjectBuilder,
    provider::Provider,
};

/// The chain to add (EIP-3085) when the wallet does not know it.
#[derive(Debug, Clone, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct ChainParameters {
    /// Shown in the wallet, e.g. "Sepolia".
    name: String,
    /// At least one public JSON-RPC URL.
    rpc_urls: Vec<String>,
    /// Default `{ name: "Ether", symbol: "ETH", decimals: 18 }`.
    #[tsify(optional)]
    #[serde(default)]
    native_currency: Option<NativeCurrency>,
    #[tsify(optional)]
    #[serde(default)]
    block_explorer_urls: Option<Vec<String>>,
}

/// The chain's native currency, as the wallet shows it.
#[derive(Debug, Clone, Tsify)]
pub struct NativeCurrency {
    decimals: u8,
    name: String,
    symbol: String,
}

impl FromJs for ChainParameters {
    fn from_js(value: JsValue) -> Result<Self, FieldError> {
        let object = Object::new(value)?;
        Ok(Self {
            name: object.field("name")?,
            rpc_urls: object.field("rpcUrls")?,
            native_currency: object.field("nativeCurrency")?,
            block_explorer_urls: object.field("blockExplorerUrls")?,
        })
    }
}

impl FromJs for NativeCurrency {
    fn from_js(value: JsValue) -> Result<Self, FieldError> {
        let object = Object::new(value)?;
        Ok(Self {
            decimals: object.field("decimals")?,
            name: object.field("name")?,
            symbol: object.field("symbol")?,
        })
    }
}

impl ChainParameters {
    /// Checks what the type cannot say: a name, and a URL to reach the chain.
    pub fn validated(self) -> Result<Self> {
        if self.name.trim().is_empty() {
            return Err(UraidenError::invalid_argument("chain.name", "required"));
        }
        if self.rpc_urls.is_empty() {
            return Err(UraidenError::invalid_argument("chain.rpcUrls", "needs at least one URL"));
        }
        Ok(self)
    }

    /// `wallet_addEthereumChain`'s parameter (a wallet request, built like the provider's others).
    fn to_js(&self, chain_id: u64) -> JsValue {
        let list = |items: &[String]| items.iter().map(JsValue::from).collect::<Array>();
        let currency = match &self.native_currency {
            Some(currency) => ObjectBuilder::default()
                .set("name", currency.name.as_str())
                .set("symbol", currency.symbol.as_str())
                .set("decimals", currency.decimals),
            None => ObjectBuilder::default().set("name", "Ether").set("symbol", "ETH").set("decimals", 18),
        };
        let mut params = ObjectBuilder::default()
            .set("chainId", format!("{chain_id:#x}"))
            .set("chainName", self.name.as_str())
            .set("rpcUrls", list(&self.rpc_urls))
            .set("nativeCurrency", currency.build());
        if let Some(explorers) = self.block_explorer_urls.as_deref().filter(|urls| !urls.is_empty()) {
            params = params.set("blockExplorerUrls", list(explorers));
        }
        params.build()
    }
}

/// `wallet_switchEthereumChain`; when the wallet does not know the chain (4902) and `chain`
/// says how to reach it, `wallet_addEthereumChain` (one more prompt), then the switch again.
pub async fn switch_or_add_chain(
    provider: &Provider,
    chain_id: u64,
    chain: Option<&ChainParameters>,
) -> Result<()> {
    match (provider.switch_chain(chain_id).await, chain) {
        (Err(error), Some(chain)) if error.kind() == ErrorKind::UnrecognizedChain => {
            provider.request("wallet_addEthereumChain", Array::of1(&chain.to_js(chain_id))).await?;
            provider.switch_chain(chain_id).await
        }
        (result, _) => result,
    }
}
