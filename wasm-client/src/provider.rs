//! The EIP-1193 provider, duck-typed: anything with `request({ method, params })` works
//! (`window.ethereum`, an EIP-6963 announced provider, a test wallet).
//!
//! Every call maps a rejection (thrown or a rejected promise) to [`UraidenError`] with the
//! provider's code. Nothing here retries a request that may prompt the user.

use alloy_primitives::{Address, B256, U256};
use js_sys::{Array, Promise};
use uraiden_protocol::parse_address;
use wasm_bindgen::{prelude::*, JsCast};
use wasm_bindgen_futures::JsFuture;

use crate::{
    abi::{self, describe_revert, parse_data, parse_quantity, quantity},
    error::{ErrorKind, Result, UraidenError},
    js::{field, ObjectBuilder},
};

#[wasm_bindgen]
extern "C" {
    /// `{ request(args: { method: string, params?: unknown[] }): Promise<unknown> }`.
    #[wasm_bindgen(typescript_type = "Eip1193Provider")]
    #[derive(Clone, Debug)]
    pub type Eip1193Provider;

    #[wasm_bindgen(method, catch)]
    fn request(this: &Eip1193Provider, args: &JsValue) -> Result<Promise, JsValue>;

    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, milliseconds: i32) -> JsValue;
}

/// Resolves after `milliseconds` (a `setTimeout`, so it works in windows and workers).
pub async fn sleep(milliseconds: u32) {
    let milliseconds = i32::try_from(milliseconds).unwrap_or(i32::MAX);
    let promise = Promise::new(&mut |resolve, _reject| {
        set_timeout(&resolve, milliseconds);
    });
    let _ = JsFuture::from(promise).await;
}

/// What a mined transaction's receipt says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub transaction_hash: B256,
    pub block_number: u64,
}

/// A contract log: its block and its non-indexed data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Log {
    pub block_number: u64,
    pub data: Vec<u8>,
}

/// A transaction to send from the connected account.
#[derive(Clone, Debug)]
pub struct Transaction {
    pub from: Address,
    pub to: Address,
    pub data: alloy_primitives::Bytes,
    pub value: Option<U256>,
}

/// The provider and the JSON-RPC calls the client makes through it.
#[derive(Clone, Debug)]
pub struct Provider {
    inner: Eip1193Provider,
}

impl Provider {
    /// Wraps `value` after checking that it has a `request` function.
    pub fn new(value: JsValue) -> Result<Self> {
        match field(&value, "request") {
            Some(request) if request.is_function() => Ok(Self { inner: value.unchecked_into() }),
            _ => Err(UraidenError::new(
                ErrorKind::NoProvider,
                "no EIP-1193 provider: pass { provider } or install a wallet that injects window.ethereum",
            )),
        }
    }

    /// `window.ethereum` (or `globalThis.ethereum`).
    pub fn injected() -> Result<Self> {
        Self::new(field(&js_sys::global(), "ethereum").unwrap_or(JsValue::UNDEFINED))
    }

    /// `request({ method, params })`, rejections mapped to [`UraidenError`].
    pub async fn request(&self, method: &str, params: Array) -> Result<JsValue> {
        let args = ObjectBuilder::default().set("method", method).set("params", params).build();
        let promise =
            self.inner.request(&args).map_err(|e| UraidenError::from_provider_rejection(method, &e))?;
        JsFuture::from(promise).await.map_err(|e| {
            let error = UraidenError::from_provider_rejection(method, &e);
            match revert_data(&e).and_then(|data| describe_revert(&data)) {
                Some(revert) => {
                    let message = format!("{} (contract error {revert})", error.message());
                    error.with_message(message).with_data(field(&e, "data").unwrap_or(JsValue::UNDEFINED))
                }
                None => error,
            }
        })
    }

    async fn request_string(&self, method: &str, params: Array) -> Result<String> {
        let value = self.request(method, params).await?;
        value.as_string().ok_or_else(|| {
            UraidenError::new(ErrorKind::InvalidResponse, format!("{method}: expected a string result"))
        })
    }

    async fn request_accounts_with(&self, method: &str) -> Result<Vec<Address>> {
        let value = self.request(method, Array::new()).await?;
        let accounts: Array = value.dyn_into().map_err(|_| {
            UraidenError::new(ErrorKind::InvalidResponse, format!("{method}: expected an array of addresses"))
        })?;
        accounts
            .iter()
            .map(|account| {
                let text = account.as_string().unwrap_or_default();
                // Wallets send lowercase addresses; a bad one is the wallet's fault.
                parse_address(&text.to_ascii_lowercase())
                    .map_err(|e| UraidenError::new(ErrorKind::InvalidResponse, format!("{method}: {e}")))
            })
            .collect()
    }

    /// `eth_requestAccounts`: may prompt the user.
    pub async fn request_accounts(&self) -> Result<Vec<Address>> {
        self.request_accounts_with("eth_requestAccounts").await
    }

    /// `eth_accounts`: the already authorised accounts, no prompt.
    pub async fn accounts(&self) -> Result<Vec<Address>> {
        self.request_accounts_with("eth_accounts").await
    }

    /// `eth_chainId`.
    pub async fn chain_id(&self) -> Result<u64> {
        parse_quantity("eth_chainId", &self.request_string("eth_chainId", Array::new()).await?)
    }

    /// `wallet_switchEthereumChain`: may prompt the user.
    pub async fn switch_chain(&self, chain_id: u64) -> Result<()> {
        let params = ObjectBuilder::default().set("chainId", quantity(U256::from(chain_id))).build();
        self.request("wallet_switchEthereumChain", Array::of1(&params)).await.map(drop)
    }

    /// `eth_call` at the latest block.
    pub async fn call(&self, to: Address, data: &[u8]) -> Result<Vec<u8>> {
        let call =
            ObjectBuilder::default().set("to", to.to_checksum(None)).set("data", abi::to_hex(data)).build();
        let result = self.request_string("eth_call", Array::of2(&call, &"latest".into())).await?;
        parse_data("eth_call", &result)
    }

    /// The block numbers of the contract's logs with `topics` from `from_block` on
    /// (`eth_getLogs`), leaving out logs a reorg removed.
    pub async fn log_blocks(&self, address: Address, topics: &[B256], from_block: u64) -> Result<Vec<u64>> {
        Ok(self.logs(address, topics, from_block).await?.into_iter().map(|log| log.block_number).collect())
    }

    /// The contract's logs with `topics` from `from_block` on (`eth_getLogs`), leaving out
    /// logs a reorg removed.
    pub async fn logs(&self, address: Address, topics: &[B256], from_block: u64) -> Result<Vec<Log>> {
        let topics: Array = topics.iter().map(|topic| JsValue::from(topic.to_string())).collect();
        let filter = ObjectBuilder::default()
            .set("address", address.to_checksum(None))
            .set("topics", topics)
            .set("fromBlock", quantity(U256::from(from_block)))
            .set("toBlock", "latest")
            .build();
        let logs = self.request("eth_getLogs", Array::of1(&filter)).await.map_err(|e| {
            let hint = "; nodes may limit the block range: pass fromBlock (the contract's deployment block)";
            let message = format!("{}{hint}", e.message());
            e.with_message(message)
        })?;
        let logs: Array = logs.dyn_into().map_err(|_| {
            UraidenError::new(ErrorKind::InvalidResponse, "eth_getLogs: expected an array of logs")
        })?;
        logs.iter()
            .filter(|log| field(log, "removed").and_then(|removed| removed.as_bool()) != Some(true))
            .map(|log| {
                let block = field(&log, "blockNumber").and_then(|b| b.as_string()).unwrap_or_default();
                let data = field(&log, "data").and_then(|d| d.as_string()).unwrap_or_else(|| "0x".to_owned());
                Ok(Log {
                    block_number: parse_quantity("eth_getLogs blockNumber", &block)?,
                    data: parse_data("eth_getLogs data", &data)?,
                })
            })
            .collect()
    }

    /// `eth_sendTransaction`: prompts the user; returns the transaction hash.
    pub async fn send_transaction(&self, transaction: &Transaction) -> Result<B256> {
        let mut object = ObjectBuilder::default()
            .set("from", transaction.from.to_checksum(None))
            .set("to", transaction.to.to_checksum(None))
            .set("data", abi::to_hex(&transaction.data));
        if let Some(value) = transaction.value {
            object = object.set("value", quantity(value));
        }
        let hash = self.request_string("eth_sendTransaction", Array::of1(&object.build())).await?;
        parse_hash("eth_sendTransaction", &hash)
    }

    /// `eth_blockNumber`: the chain's head as the wallet's node sees it.
    pub async fn block_number(&self) -> Result<u64> {
        let head = self.request_string("eth_blockNumber", Array::new()).await?;
        parse_quantity("eth_blockNumber", &head)
    }

    /// The receipt's block when the transaction is mined (`None` while pending); a reverted
    /// transaction is an error naming its hash.
    async fn mined_in(&self, hash: B256) -> Result<Option<u64>> {
        let receipt = self.request("eth_getTransactionReceipt", Array::of1(&hash.to_string().into())).await?;
        let Some(status) = field(&receipt, "status") else { return Ok(None) };
        let status = status.as_string().unwrap_or_default();
        let block = field(&receipt, "blockNumber").and_then(|b| b.as_string()).unwrap_or_default();
        let block_number = parse_quantity("receipt blockNumber", &block)?;
        if parse_quantity("receipt status", &status)? != 1 {
            return Err(UraidenError::new(
                ErrorKind::TransactionFailed,
                format!("transaction {hash} reverted in block {block_number}"),
            ));
        }
        Ok(Some(block_number))
    }

    /// Polls until the transaction is mined and `confirmations` blocks (its own included)
    /// are on the chain, then checks the receipt once more, so a reorg that dropped it
    /// meanwhile is waited out rather than reported as done.
    pub async fn wait_for_receipt(
        &self,
        hash: B256,
        confirmations: u64,
        poll_interval_ms: u32,
        timeout_ms: u32,
    ) -> Result<Receipt> {
        let deadline = js_sys::Date::now() + f64::from(timeout_ms);
        loop {
            if let Some(block_number) = self.mined_in(hash).await? {
                let confirmed_at = block_number.saturating_add(confirmations.max(1) - 1);
                if self.block_number().await? >= confirmed_at
                    && self.mined_in(hash).await? == Some(block_number)
                {
                    return Ok(Receipt { transaction_hash: hash, block_number });
                }
            }
            if js_sys::Date::now() >= deadline {
                return Err(UraidenError::new(
                    ErrorKind::Timeout,
                    format!(
                        "transaction {hash} was not mined with {confirmations} confirmation(s) within {} s; \
                         it may still be",
                        timeout_ms / 1000
                    ),
                ));
            }
            sleep(poll_interval_ms).await;
        }
    }

    /// `eth_signTypedData_v4` from `account`: prompts the user; returns the signature hex.
    pub async fn sign_typed_data_v4(&self, account: Address, typed_data_json: &str) -> Result<String> {
        let params =
            Array::of2(&account.to_checksum(None).to_ascii_lowercase().into(), &typed_data_json.into());
        self.request_string("eth_signTypedData_v4", params).await
    }
}

fn parse_hash(what: &str, input: &str) -> Result<B256> {
    let bytes = parse_data(what, input)?;
    (bytes.len() == 32).then(|| B256::from_slice(&bytes)).ok_or_else(|| {
        UraidenError::new(ErrorKind::InvalidResponse, format!("{what}: expected a 32-byte transaction hash"))
    })
}

/// Revert data in a provider error: `error.data` as hex, or `error.data.data` (MetaMask).
fn revert_data(error: &JsValue) -> Option<Vec<u8>> {
    let data = field(error, "data")?;
    let hex = data.as_string().or_else(|| field(&data, "data").and_then(|d| d.as_string()))?;
    parse_data("revert", &hex).ok()
}
