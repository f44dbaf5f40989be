//! `MicroRaiden`: the exported sender class, one instance per (wallet, channel manager).
//!
//! `MicroRaiden.create(options)` is the async factory. Every async method returns a typed
//! Promise; methods that need the wallet prompt at most once per call and never retry a
//! rejected prompt. State (the account and the current channel) is shared through an `Rc`
//! so each Promise owns what it needs; no `RefCell` borrow is held across an `.await`.

use std::{cell::RefCell, future::Future, rc::Rc};

use alloy_primitives::{Address, Bytes, U256};
use js_sys::{Array, Promise};
use uraiden_protocol::{
    balance_proof_typed_data, channel_manager_domain, recover_balance_proof_signer,
    recover_closing_proof_signer, ChannelId, Eip712Domain, LocalSigningKey, PaymentHeaders, ProofSignature,
    U192,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use web_sys::{Request, RequestInit};

use crate::{
    abi,
    amount::{amount_from_js, amount_to_js},
    channel::ChannelState,
    error::{ErrorKind, Result, UraidenError},
    js::{address_field, amount_field, bool_field, field, integer_field, required, ObjectBuilder},
    paying_fetch,
    provider::{Provider, Receipt, Transaction},
    storage,
};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** Any EIP-1193 provider: `window.ethereum`, an EIP-6963 provider, a test wallet. */
export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] | object }): Promise<unknown>;
}
export interface CreateOptions {
  /** Defaults to `window.ethereum`. */
  provider?: Eip1193Provider;
  /** The RaidenMicroTransferChannels address. */
  contract: string;
  /** The token; read from the contract's `token()` when omitted. */
  token?: string;
  /** The chain the contract lives on; the wallet's current chain when omitted. */
  chainId?: number;
  /** The default receiver for `openChannel` and `loadStoredChannel`. */
  receiver?: string;
  /** Receipt polling interval, default 1000 ms. */
  pollIntervalMs?: number;
  /** How long to wait for a transaction to be mined, default 600000 ms. */
  receiptTimeoutMs?: number;
}
export interface Channel {
  sender: string;
  receiver: string;
  openBlockNumber: number;
  deposit: bigint;
  /** The cumulative balance of the last proof signed. */
  balance: bigint;
  /** Who signs proofs: the session key's address, or the sender. */
  signer: string;
  /** Whether proofs are signed in the browser without a wallet prompt. */
  sessionKey: boolean;
}
export interface SignedBalanceProof {
  sender: string;
  receiver: string;
  openBlockNumber: number;
  balance: bigint;
  signature: string;
}
export interface OnChainChannelInfo {
  state: "open" | "closing" | "settled";
  deposit: bigint;
  settleBlockNumber: number;
  closingBalance: bigint;
  withdrawnBalance: bigint;
}
export interface TokenInfo {
  address: string;
  name: string;
  symbol: string;
  decimals: number;
  /** The connected account's balance. */
  balance: bigint;
}
export interface TransactionResult {
  transactionHash: string;
  blockNumber: number;
}
export interface CloseResult extends TransactionResult {
  /** True when closed with the receiver's closing signature (settled at once). */
  cooperative: boolean;
}
export interface OpenChannelOptions {
  receiver?: string;
  deposit: bigint;
  /** Create a browser key and register it as the channel's signer (default true). */
  sessionKey?: boolean;
}
export interface CloseChannelOptions {
  /** The receiver's ClosingProof signature over `balance`: closes cooperatively. */
  closingSignature?: string;
  /** Defaults to the channel's last signed balance. */
  balance?: bigint;
}
export interface PayingFetchOptions {
  /** The most one request may cost, in token base units. */
  maxPrice: bigint;
  /** Passed to `new Request(input, init)`. */
  init?: RequestInit;
}
"#;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(typescript_type = "CreateOptions")]
    pub type CreateOptions;
    #[wasm_bindgen(typescript_type = "OpenChannelOptions")]
    pub type OpenChannelOptions;
    #[wasm_bindgen(typescript_type = "CloseChannelOptions")]
    pub type CloseChannelOptions;
    #[wasm_bindgen(typescript_type = "PayingFetchOptions")]
    pub type PayingFetchOptions;
}

const DEFAULT_POLL_INTERVAL_MS: u32 = 1_000;
const DEFAULT_RECEIPT_TIMEOUT_MS: u32 = 600_000;

#[derive(Debug)]
struct Inner {
    provider: Provider,
    contract: Address,
    token: Address,
    chain_id: u64,
    default_receiver: Option<Address>,
    poll_interval_ms: u32,
    receipt_timeout_ms: u32,
    account: RefCell<Option<Address>>,
    channel: RefCell<Option<ChannelState>>,
}

/// A µRaiden sender: a wallet, a channel manager, and the current channel.
#[wasm_bindgen]
#[derive(Debug)]
pub struct MicroRaiden {
    inner: Rc<Inner>,
}

/// Runs `body` as a Promise, rejecting with [`UraidenError`].
fn promise<F>(body: F) -> Promise
where
    F: Future<Output = Result<JsValue>> + 'static,
{
    future_to_promise(async move { body.await.map_err(JsValue::from) })
}

fn channel_to_js(channel: &ChannelState) -> JsValue {
    ObjectBuilder::default()
        .set("sender", channel.id.sender.to_checksum(None))
        .set("receiver", channel.id.receiver.to_checksum(None))
        .set("openBlockNumber", channel.id.open_block_number)
        .set("deposit", amount_to_js(channel.deposit))
        .set("balance", amount_to_js(channel.balance))
        .set("signer", channel.signer().to_checksum(None))
        .set("sessionKey", channel.session_key.is_some())
        .build()
}

fn proof_to_js(id: &ChannelId, balance: U192, signature: &ProofSignature) -> JsValue {
    ObjectBuilder::default()
        .set("sender", id.sender.to_checksum(None))
        .set("receiver", id.receiver.to_checksum(None))
        .set("openBlockNumber", id.open_block_number)
        .set("balance", amount_to_js(balance))
        .set("signature", signature.to_hex())
        .build()
}

fn receipt_to_js(receipt: &Receipt) -> ObjectBuilder {
    ObjectBuilder::default()
        .set("transactionHash", receipt.transaction_hash.to_string())
        // Block numbers stay far below 2^53.
        .set("blockNumber", receipt.block_number as f64)
}

impl Inner {
    fn domain(&self) -> Eip712Domain {
        channel_manager_domain(self.chain_id, self.contract)
    }

    /// The connected account: the one `requestAccounts` returned, else `eth_accounts` (no prompt).
    async fn account(&self) -> Result<Address> {
        if let Some(account) = *self.account.borrow() {
            return Ok(account);
        }
        let account = self.provider.accounts().await?.into_iter().next().ok_or_else(|| {
            UraidenError::new(
                ErrorKind::Unauthorized,
                "no account is connected; call requestAccounts() first",
            )
        })?;
        *self.account.borrow_mut() = Some(account);
        Ok(account)
    }

    /// Switches the wallet to the contract's chain when it is elsewhere (one prompt at most).
    async fn ensure_chain(&self) -> Result<()> {
        if self.provider.chain_id().await? == self.chain_id {
            return Ok(());
        }
        self.provider.switch_chain(self.chain_id).await?;
        let now = self.provider.chain_id().await?;
        if now != self.chain_id {
            return Err(UraidenError::new(
                ErrorKind::WrongChain,
                format!("the wallet is on chain {now}, the channel manager on chain {}", self.chain_id),
            ));
        }
        Ok(())
    }

    fn current_channel(&self) -> Result<ChannelState> {
        self.channel.borrow().clone().ok_or_else(|| {
            UraidenError::new(ErrorKind::NoChannel, "no channel: openChannel() or loadStoredChannel() first")
        })
    }

    fn receiver_or_default(&self, receiver: Option<Address>) -> Result<Address> {
        receiver.or(self.default_receiver).ok_or_else(|| {
            UraidenError::invalid_argument("receiver", "required (no default receiver was given to create())")
        })
    }

    fn storage_key(&self, id: &ChannelId) -> String {
        storage::storage_key(self.chain_id, self.contract, id.sender, id.receiver)
    }

    /// Makes `channel` current and stores it.
    fn remember(&self, channel: ChannelState) -> Result<JsValue> {
        storage::save(&self.storage_key(&channel.id), &storage::to_json(&channel))?;
        let js = channel_to_js(&channel);
        *self.channel.borrow_mut() = Some(channel);
        Ok(js)
    }

    fn forget(&self, id: &ChannelId) -> Result<()> {
        *self.channel.borrow_mut() = None;
        storage::remove(&self.storage_key(id))
    }

    /// Sends a transaction from the connected account and waits until it is mined.
    async fn transact(&self, to: Address, data: Bytes, value: Option<U256>) -> Result<Receipt> {
        self.ensure_chain().await?;
        let from = self.account().await?;
        let hash = self.provider.send_transaction(&Transaction { from, to, data, value }).await?;
        self.provider.wait_for_receipt(hash, self.poll_interval_ms, self.receipt_timeout_ms).await
    }

    /// Signs `balance` in `channel`: with the session key when there is one, else the wallet.
    async fn sign(&self, channel: &ChannelState, balance: U192) -> Result<ProofSignature> {
        let domain = self.domain();
        let proof = channel.id.balance_proof(balance);
        if let Some(key) = &channel.session_key {
            return Ok(key.sign_balance_proof(&domain, &proof)?);
        }
        self.ensure_chain().await?;
        let typed_data = balance_proof_typed_data(&domain, &proof).to_string();
        let signature = self.provider.sign_typed_data_v4(channel.id.sender, &typed_data).await?;
        let signature = ProofSignature::from_hex(&signature).map_err(|e| {
            UraidenError::new(ErrorKind::InvalidSignature, format!("the wallet's signature is unusable: {e}"))
        })?;
        let signer = recover_balance_proof_signer(&domain, &proof, &signature)?;
        if signer != channel.id.sender {
            return Err(UraidenError::new(
                ErrorKind::InvalidSignature,
                format!("the wallet signed as {signer}, not as the channel's sender {}", channel.id.sender),
            ));
        }
        Ok(signature)
    }

    /// Signs `balance` in the current channel and records it as the last balance.
    async fn sign_and_record(
        &self,
        channel: ChannelState,
        balance: U192,
    ) -> Result<(ChannelId, ProofSignature)> {
        let balance = channel.check_within_deposit(balance)?;
        let signature = self.sign(&channel, balance).await?;
        let id = channel.id;
        self.remember(ChannelState { balance, ..channel })?;
        Ok((id, signature))
    }

    async fn approve(&self, amount: U192) -> Result<Receipt> {
        self.transact(self.token, abi::approve(self.contract, amount), None).await
    }

    async fn open_channel(&self, options: JsValue) -> Result<JsValue> {
        let receiver = self.receiver_or_default(address_field(&options, "receiver")?)?;
        let deposit = required(amount_field(&options, "deposit")?, "deposit")?;
        let session_key = if bool_field(&options, "sessionKey")?.unwrap_or(true) {
            Some(LocalSigningKey::generate()?)
        } else {
            None
        };
        let sender = self.account().await?;
        let signer = session_key.as_ref().map_or(sender, LocalSigningKey::address);
        self.approve(deposit).await?;
        let receipt = self
            .transact(self.contract, abi::create_channel_with_signer(receiver, deposit, signer), None)
            .await?;
        let open_block_number = u32::try_from(receipt.block_number).map_err(|_| {
            UraidenError::new(ErrorKind::InvalidResponse, "the channel was mined in a block above uint32")
        })?;
        let id = ChannelId::new(sender, receiver, open_block_number);
        self.remember(ChannelState { id, deposit, balance: U192::ZERO, session_key })
    }

    async fn top_up_channel(&self, added: U192) -> Result<JsValue> {
        let channel = self.current_channel()?;
        let deposit = channel.deposit.checked_add(added).ok_or_else(|| {
            UraidenError::invalid_argument("deposit", "the total deposit would reach 2^192")
        })?;
        self.approve(added).await?;
        self.transact(self.contract, abi::top_up(&channel.id, added), None).await?;
        self.remember(ChannelState { deposit, ..channel })
    }

    async fn close_channel(&self, options: JsValue) -> Result<JsValue> {
        let channel = self.current_channel()?;
        let balance = amount_field(&options, "balance")?.unwrap_or(channel.balance);
        let closing_signature = field(&options, "closingSignature")
            .map(|value| {
                let text = value.as_string().unwrap_or_default();
                ProofSignature::from_hex(&text)
                    .map_err(|e| UraidenError::invalid_argument("closingSignature", e))
            })
            .transpose()?;
        let (data, cooperative) = match closing_signature {
            Some(closing_signature) => {
                let closing_proof = channel.id.closing_proof(balance);
                let signer =
                    recover_closing_proof_signer(&self.domain(), &closing_proof, &closing_signature)?;
                if signer != channel.id.receiver {
                    return Err(UraidenError::new(
                        ErrorKind::InvalidSignature,
                        format!(
                            "the closing signature over balance {balance} is by {signer}, not the receiver {}",
                            channel.id.receiver
                        ),
                    ));
                }
                let balance_signature = self.sign(&channel, balance).await?;
                (abi::cooperative_close(&channel.id, balance, &balance_signature, &closing_signature), true)
            }
            None => (abi::uncooperative_close(&channel.id, balance), false),
        };
        let receipt = self.transact(self.contract, data, None).await?;
        if cooperative {
            self.forget(&channel.id)?;
        }
        Ok(receipt_to_js(&receipt).set("cooperative", cooperative).build())
    }

    async fn get_channel_info(&self) -> Result<JsValue> {
        let channel = self.current_channel()?;
        let info = match self.provider.call(self.contract, &abi::get_channel_info(&channel.id)).await {
            Ok(data) => abi::decode_channel_info(&data)?,
            // The contract deletes a channel when it settles.
            Err(error) if error.message().contains("ChannelNotFound") => {
                return Ok(ObjectBuilder::default()
                    .set("state", "settled")
                    .set("deposit", amount_to_js(U192::ZERO))
                    .set("settleBlockNumber", 0)
                    .set("closingBalance", amount_to_js(U192::ZERO))
                    .set("withdrawnBalance", amount_to_js(U192::ZERO))
                    .build());
            }
            Err(error) => return Err(error),
        };
        let state = if info.settle_block_number == 0 { "open" } else { "closing" };
        Ok(ObjectBuilder::default()
            .set("state", state)
            .set("deposit", amount_to_js(info.deposit))
            .set("settleBlockNumber", info.settle_block_number)
            .set("closingBalance", amount_to_js(info.closing_balance))
            .set("withdrawnBalance", amount_to_js(info.withdrawn_balance))
            .build())
    }

    async fn get_token_info(&self) -> Result<JsValue> {
        let account = self.account().await?;
        let name = abi::decode_string(&self.provider.call(self.token, &abi::name()).await?)?;
        let symbol = abi::decode_string(&self.provider.call(self.token, &abi::symbol()).await?)?;
        let decimals = abi::decode_decimals(&self.provider.call(self.token, &abi::decimals()).await?)?;
        let balance = abi::decode_balance(&self.provider.call(self.token, &abi::balance_of(account)).await?)?;
        Ok(ObjectBuilder::default()
            .set("address", self.token.to_checksum(None))
            .set("name", name)
            .set("symbol", symbol)
            .set("decimals", decimals)
            .set("balance", amount_to_js(balance))
            .build())
    }

    async fn load_stored_channel(&self, receiver: Option<Address>) -> Result<JsValue> {
        let receiver = self.receiver_or_default(receiver)?;
        let sender = self.account().await?;
        let id = ChannelId::new(sender, receiver, 0);
        match storage::load(&self.storage_key(&id))? {
            Some(json) => {
                let channel = storage::from_json(&json, sender, receiver)?;
                let js = channel_to_js(&channel);
                *self.channel.borrow_mut() = Some(channel);
                Ok(js)
            }
            None => Ok(JsValue::NULL),
        }
    }

    async fn paying_fetch(&self, input: String, options: JsValue) -> Result<JsValue> {
        let max_price = required(amount_field(&options, "maxPrice")?, "maxPrice")?;
        let init: RequestInit =
            field(&options, "init").unwrap_or_else(|| js_sys::Object::new().into()).unchecked_into();
        let request = Request::new_with_str_and_init(&input, &init)
            .map_err(|_| UraidenError::invalid_argument("input", "not a valid URL or RequestInit"))?;
        // A body can be read once: keep a copy for the paying retry.
        let retry = request
            .clone()
            .map_err(|_| UraidenError::invalid_argument("init", "the request body cannot be sent twice"))?;
        let response = paying_fetch::fetch(&request).await?;
        if response.status() != 402 {
            return Ok(response.into());
        }
        let info = paying_fetch::paywall_info(&paying_fetch::read_headers(&response))?;
        if self.channel.borrow().as_ref().is_none_or(|c| c.id.receiver != info.receiver) {
            self.load_stored_channel(Some(info.receiver)).await?;
        }
        let channel = self.channel.borrow().clone();
        let balance =
            paying_fetch::next_balance(&info, max_price, self.chain_id, self.contract, channel.as_ref())?;
        let channel = self.current_channel()?;
        let (id, balance_signature) = self.sign_and_record(channel, balance).await?;
        let payment = PaymentHeaders {
            contract: self.contract,
            receiver: id.receiver,
            sender: id.sender,
            open_block_number: id.open_block_number,
            balance,
            balance_signature,
            payment: Some(info.price),
        };
        let headers = retry.headers();
        for (name, value) in payment.to_header_pairs() {
            headers
                .set(name, &value)
                .map_err(|_| UraidenError::invalid_argument("init", "the request's headers are immutable"))?;
        }
        Ok(paying_fetch::fetch(&retry).await?.into())
    }
}

#[wasm_bindgen]
impl MicroRaiden {
    /// Connects to a wallet and a channel manager. Reads the chain id (and the token when not
    /// given); prompts nothing.
    #[wasm_bindgen(unchecked_return_type = "Promise<MicroRaiden>")]
    pub fn create(options: CreateOptions) -> Promise {
        let options: JsValue = options.into();
        promise(async move {
            let provider = match field(&options, "provider") {
                Some(provider) => Provider::new(provider)?,
                None => Provider::injected()?,
            };
            let contract = required(address_field(&options, "contract")?, "contract")?;
            let chain_id = match integer_field(&options, "chainId")? {
                Some(chain_id) => chain_id,
                None => provider.chain_id().await?,
            };
            let token = match address_field(&options, "token")? {
                Some(token) => token,
                None => abi::decode_address(&provider.call(contract, &abi::token()).await?)?,
            };
            let interval = |key, default| -> Result<u32> {
                Ok(integer_field(&options, key)?.map_or(default, |ms| u32::try_from(ms).unwrap_or(u32::MAX)))
            };
            let inner = Inner {
                provider,
                contract,
                token,
                chain_id,
                default_receiver: address_field(&options, "receiver")?,
                poll_interval_ms: interval("pollIntervalMs", DEFAULT_POLL_INTERVAL_MS)?,
                receipt_timeout_ms: interval("receiptTimeoutMs", DEFAULT_RECEIPT_TIMEOUT_MS)?,
                account: RefCell::new(None),
                channel: RefCell::new(None),
            };
            Ok(MicroRaiden { inner: Rc::new(inner) }.into())
        })
    }

    /// The channel manager's address.
    #[wasm_bindgen(getter)]
    pub fn contract(&self) -> String {
        self.inner.contract.to_checksum(None)
    }

    /// The token's address.
    #[wasm_bindgen(getter)]
    pub fn token(&self) -> String {
        self.inner.token.to_checksum(None)
    }

    /// The chain id proofs are signed for.
    #[wasm_bindgen(getter, js_name = chainId)]
    pub fn chain_id(&self) -> f64 {
        // Chain ids are below 2^53 (EIP-2294).
        self.inner.chain_id as f64
    }

    /// The connected account, once known.
    #[wasm_bindgen(getter)]
    pub fn account(&self) -> Option<String> {
        self.inner.account.borrow().map(|a| a.to_checksum(None))
    }

    /// The current channel, or `null`.
    #[wasm_bindgen(getter, unchecked_return_type = "Channel | null")]
    pub fn channel(&self) -> JsValue {
        self.inner.channel.borrow().as_ref().map_or(JsValue::NULL, channel_to_js)
    }

    /// `eth_requestAccounts` (prompts); the first account becomes the sender.
    #[wasm_bindgen(js_name = requestAccounts, unchecked_return_type = "Promise<string[]>")]
    pub fn request_accounts(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let accounts = inner.provider.request_accounts().await?;
            *inner.account.borrow_mut() = accounts.first().copied();
            Ok(accounts.iter().map(|a| JsValue::from(a.to_checksum(None))).collect::<Array>().into())
        })
    }

    /// Asks the wallet to switch to the channel manager's chain, when it is elsewhere.
    #[wasm_bindgen(js_name = switchChain, unchecked_return_type = "Promise<void>")]
    pub fn switch_chain(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move { inner.ensure_chain().await.map(|()| JsValue::UNDEFINED) })
    }

    /// The token's name, symbol, decimals and the account's balance.
    #[wasm_bindgen(js_name = getTokenInfo, unchecked_return_type = "Promise<TokenInfo>")]
    pub fn get_token_info(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move { inner.get_token_info().await })
    }

    /// The current channel as the contract sees it.
    #[wasm_bindgen(js_name = getChannelInfo, unchecked_return_type = "Promise<OnChainChannelInfo>")]
    pub fn get_channel_info(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move { inner.get_channel_info().await })
    }

    /// `approve` + `createChannelWithSigner` (two wallet prompts), waiting for both receipts.
    #[wasm_bindgen(js_name = openChannel, unchecked_return_type = "Promise<Channel>")]
    pub fn open_channel(&self, options: OpenChannelOptions) -> Promise {
        let inner = self.inner.clone();
        promise(async move { inner.open_channel(options.into()).await })
    }

    /// `approve` + `topUp` by `deposit` more.
    #[wasm_bindgen(js_name = topUpChannel, unchecked_return_type = "Promise<Channel>")]
    pub fn top_up_channel(
        &self,
        #[wasm_bindgen(unchecked_param_type = "bigint")] deposit: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        promise(async move { inner.top_up_channel(amount_from_js("deposit", &deposit)?).await })
    }

    /// Signs a proof for the cumulative `balance` and makes it the channel's balance.
    #[wasm_bindgen(js_name = signNewProof, unchecked_return_type = "Promise<SignedBalanceProof>")]
    pub fn sign_new_proof(
        &self,
        #[wasm_bindgen(unchecked_param_type = "bigint")] balance: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let balance = amount_from_js("balance", &balance)?;
            let (id, signature) = inner.sign_and_record(inner.current_channel()?, balance).await?;
            Ok(proof_to_js(&id, balance, &signature))
        })
    }

    /// Adds `amount` to the balance and signs the new proof.
    #[wasm_bindgen(js_name = incrementBalanceAndSign, unchecked_return_type = "Promise<SignedBalanceProof>")]
    pub fn increment_balance_and_sign(
        &self,
        #[wasm_bindgen(unchecked_param_type = "bigint")] amount: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let channel = inner.current_channel()?;
            let balance = channel.balance_after(amount_from_js("amount", &amount)?)?;
            let (id, signature) = inner.sign_and_record(channel, balance).await?;
            Ok(proof_to_js(&id, balance, &signature))
        })
    }

    /// Whether `signature` over `balance` in the current channel is by its sender or signer.
    #[wasm_bindgen(js_name = verifyProof)]
    pub fn verify_proof(
        &self,
        #[wasm_bindgen(unchecked_param_type = "bigint")] balance: JsValue,
        signature: &str,
    ) -> Result<bool> {
        let channel = self.inner.current_channel()?;
        let balance = amount_from_js("balance", &balance)?;
        let signature = ProofSignature::from_hex(signature)
            .map_err(|e| UraidenError::invalid_argument("signature", e))?;
        Ok(channel.verify_proof(&self.inner.domain(), balance, &signature))
    }

    /// Closes the channel: cooperatively with the receiver's closing signature (settles at
    /// once), else uncooperatively (starts the challenge period; `settleChannel` after it).
    #[wasm_bindgen(js_name = closeChannel, unchecked_return_type = "Promise<CloseResult>")]
    pub fn close_channel(&self, options: Option<CloseChannelOptions>) -> Promise {
        let inner = self.inner.clone();
        let options = options.map_or(JsValue::UNDEFINED, Into::into);
        promise(async move { inner.close_channel(options).await })
    }

    /// `settle` after the challenge period; forgets the channel.
    #[wasm_bindgen(js_name = settleChannel, unchecked_return_type = "Promise<TransactionResult>")]
    pub fn settle_channel(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let channel = inner.current_channel()?;
            let receipt = inner.transact(inner.contract, abi::settle(&channel.id), None).await?;
            inner.forget(&channel.id)?;
            Ok(receipt_to_js(&receipt).build())
        })
    }

    /// The token's payable `mint()`: buys tokens with `value` wei.
    #[wasm_bindgen(js_name = buyToken, unchecked_return_type = "Promise<TransactionResult>")]
    pub fn buy_token(&self, #[wasm_bindgen(unchecked_param_type = "bigint")] value: JsValue) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let value = U256::from(amount_from_js("value", &value)?);
            let receipt = inner.transact(inner.token, abi::mint(), Some(value)).await?;
            Ok(receipt_to_js(&receipt).build())
        })
    }

    /// Loads the stored channel to `receiver` (default: the one given to `create`) and makes
    /// it current; `null` when none is stored.
    #[wasm_bindgen(js_name = loadStoredChannel, unchecked_return_type = "Promise<Channel | null>")]
    pub fn load_stored_channel(&self, receiver: Option<String>) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let receiver = receiver
                .map(|r| {
                    uraiden_protocol::parse_address(&r)
                        .map_err(|e| UraidenError::invalid_argument("receiver", e))
                })
                .transpose()?;
            inner.load_stored_channel(receiver).await
        })
    }

    /// Forgets the current channel and its session key (in memory and in `localStorage`).
    #[wasm_bindgen(js_name = forgetStoredChannel)]
    pub fn forget_stored_channel(&self) -> Result<()> {
        let channel = self.inner.current_channel()?;
        self.inner.forget(&channel.id)
    }

    /// `fetch(input, init)`; on 402 pays the price (at most `maxPrice`) from the channel to
    /// that receiver and retries once. Resolves to the final `Response`.
    #[wasm_bindgen(js_name = payingFetch, unchecked_return_type = "Promise<Response>")]
    pub fn paying_fetch(&self, input: String, options: PayingFetchOptions) -> Promise {
        let inner = self.inner.clone();
        let options: JsValue = options.into();
        promise(async move { inner.paying_fetch(input, options).await })
    }
}
