//! Adding the channel manager's chain to a wallet that does not know it (EIP-3085
//! `wallet_addEthereumChain`), with the parameters given as `MicroRaiden.create({ chain })`
//! (the paywall page passes what the receiver publishes). Without them an unknown chain
//! (4902) stays an error that says what to add.

use js_sys::{Array, Reflect};
use wasm_bindgen::JsValue;

use crate::{
    error::{ErrorKind, Result, UraidenError},
    js::{field, integer_field, string_field, ObjectBuilder},
    provider::Provider,
};

#[wasm_bindgen::prelude::wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** The chain to add (EIP-3085) when the wallet does not know it. */
export interface ChainParameters {
  /** Shown in the wallet, e.g. "Sepolia". */
  name: string;
  /** At least one public JSON-RPC URL. */
  rpcUrls: string[];
  /** Default `{ name: "Ether", symbol: "ETH", decimals: 18 }`. */
  nativeCurrency?: { name: string; symbol: string; decimals: number };
  blockExplorerUrls?: string[];
}
"#;

/// Validated EIP-3085 parameters, without the chain id (the client's own is used).
#[derive(Debug, Clone)]
pub struct ChainParameters {
    name: String,
    rpc_urls: Vec<String>,
    currency: (String, String, u64),
    explorers: Vec<String>,
}

fn strings(object: &JsValue, key: &str) -> Result<Vec<String>> {
    let Some(value) = field(object, key) else { return Ok(Vec::new()) };
    if !Array::is_array(&value) {
        return Err(UraidenError::invalid_argument(key, "expected an array of URL strings"));
    }
    Array::from(&value)
        .iter()
        .map(|url| url.as_string().ok_or_else(|| UraidenError::invalid_argument(key, "expected URL strings")))
        .collect()
}

impl ChainParameters {
    /// `options.chain`, when given.
    pub fn from_options(options: &JsValue) -> Result<Option<Self>> {
        let Some(chain) = field(options, "chain") else { return Ok(None) };
        let name = string_field(&chain, "name")?
            .filter(|name| !name.trim().is_empty())
            .ok_or_else(|| UraidenError::invalid_argument("chain.name", "required"))?;
        let rpc_urls = strings(&chain, "rpcUrls")?;
        if rpc_urls.is_empty() {
            return Err(UraidenError::invalid_argument("chain.rpcUrls", "needs at least one URL"));
        }
        let currency = match field(&chain, "nativeCurrency") {
            Some(currency) => (
                string_field(&currency, "name")?.unwrap_or_else(|| "Ether".to_owned()),
                string_field(&currency, "symbol")?.unwrap_or_else(|| "ETH".to_owned()),
                integer_field(&currency, "decimals")?.unwrap_or(18),
            ),
            None => ("Ether".to_owned(), "ETH".to_owned(), 18),
        };
        Ok(Some(Self { name, rpc_urls, currency, explorers: strings(&chain, "blockExplorerUrls")? }))
    }

    fn to_js(&self, chain_id: u64) -> JsValue {
        let list = |items: &[String]| items.iter().map(JsValue::from).collect::<Array>();
        let currency = ObjectBuilder::default()
            .set("name", self.currency.0.as_str())
            .set("symbol", self.currency.1.as_str())
            // A small integer (token decimals), exact as a number.
            .set("decimals", self.currency.2 as f64)
            .build();
        let params = ObjectBuilder::default()
            .set("chainId", format!("{chain_id:#x}"))
            .set("chainName", self.name.as_str())
            .set("rpcUrls", list(&self.rpc_urls))
            .set("nativeCurrency", currency)
            .build();
        if !self.explorers.is_empty() {
            let _ = Reflect::set(&params, &"blockExplorerUrls".into(), &list(&self.explorers));
        }
        params
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
