//! `MicroRaiden`: the exported sender class, one instance per (wallet, channel manager).
//!
//! `MicroRaiden.create(options)` is the async factory. Every async method returns a typed
//! Promise; methods that need the wallet prompt at most once per call and never retry a
//! rejected prompt. State (the account and the current channel) is shared through an `Rc`
//! so each Promise owns what it needs; no `RefCell` borrow is held across an `.await`.

use std::{cell::RefCell, future::Future, pin::Pin, rc::Rc};

use alloy_primitives::{Address, Bytes, B256, U256};
use js_sys::{Array, Promise};
use uraiden_protocol::{
    balance_proof_typed_data, channel_manager_domain, close_request_typed_data, eip712_signing_hash,
    request_deadline, status_request_typed_data, ChannelId, Eip712Domain, Json, LocalSigningKey, PaidAnswer,
    PaymentHeaders, PaywallInfo, ProofSignature, Refusal, SignedCloseRequest, SignedStatusRequest,
    TokenFallbackData, MAX_RATE_LIMIT_RETRIES, U192,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use web_sys::{Request, RequestInit};

use crate::{
    abi,
    add_chain::{switch_or_add_chain, ChainParameters},
    amount::amount_from_js,
    amount::Amount,
    channel::{books_into_current, check_forgettable, newest_first, recovered_channel, ChannelState},
    close,
    error::{ErrorKind, Result, UraidenError},
    hex::{optional_address_param, HexAddress, HexSignature, JsAddress},
    js::field,
    options::{
        self, CloseChannelOptions, CreateOptions, DepositMethod, ForgetOptions, OpenChannelOptions,
        PayingFetchOptions, TopUpOptions,
    },
    paying_fetch,
    permit::PermitRequest,
    provider::{sleep, Provider, Receipt, Transaction},
    queue::{self, PaymentQueue, Turn},
    results::{
        Channel, ChannelPhase, CloseResult, ClosingSignature, OnChainChannelInfo, ReceiverStatus,
        SignedBalanceProof, TokenInfo, TransactionResult,
    },
    storage::ChannelStore,
    to_js::ToJs,
};

mod keys;
#[cfg(feature = "x402")]
mod x402;

#[cfg(feature = "x402")]
pub use x402::X402Scheme;

const DEFAULT_POLL_INTERVAL_MS: u32 = 1_000;
/// How long a permit for `createChannelWithPermit` stays valid.
const PERMIT_VALIDITY_S: u64 = 3_600;

const DEFAULT_RECEIPT_TIMEOUT_MS: u32 = 600_000;
const DEFAULT_CONFIRMATION_TIMEOUT_MS: u32 = 120_000;

#[derive(Debug)]
struct Inner {
    provider: Provider,
    contract: Address,
    token: Address,
    chain_id: u64,
    default_receiver: Option<Address>,
    poll_interval_ms: u32,
    receipt_timeout_ms: u32,
    confirmation_timeout_ms: u32,
    confirmations: u64,
    /// How to add the chain to a wallet that does not know it.
    chain: Option<ChainParameters>,
    /// The origins whose 402s `payingFetch` pays; any when `None`.
    paid_origins: Option<Vec<String>>,
    /// How long a paid request may go unanswered (`paying_fetch::fetch_within`).
    payment_timeout_ms: u32,
    account: RefCell<Option<Address>>,
    channel: RefCell<Option<ChannelState>>,
    /// Payments and balance updates, one at a time (see `queue`).
    payments: PaymentQueue,
}

/// A µRaiden sender: a wallet, a channel manager, and the current channel.
#[wasm_bindgen]
#[derive(Debug)]
pub struct MicroRaiden {
    inner: Rc<Inner>,
}

/// Runs `body` as a Promise, rejecting with [`UraidenError`] (every async export: the
/// client's methods and `discoverWallets`).
pub(crate) fn promise<F>(body: F) -> Promise
where
    F: Future<Output = Result<JsValue>> + 'static,
{
    boxed_promise(Box::pin(body))
}

/// `future_to_promise` compiled once for every exported async method, rather than once per
/// method's future type (each copy about 1 KB of wasm); the body is polled through its box.
fn boxed_promise(body: Pin<Box<dyn Future<Output = Result<JsValue>>>>) -> Promise {
    future_to_promise(async move { body.await.map_err(JsValue::from) })
}

fn channel_to_js(channel: &ChannelState) -> JsValue {
    Channel::from(channel).to_js()
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
        switch_or_add_chain(&self.provider, self.chain_id, self.chain.as_ref()).await?;
        let now = self.provider.chain_id().await?;
        if now != self.chain_id {
            return Err(UraidenError::new(
                ErrorKind::WrongChain,
                format!("the wallet is on chain {now}, the channel manager on chain {}", self.chain_id),
            ));
        }
        Ok(())
    }

    /// The wallet on the contract's chain, for what only the wallet can do (a transaction, a
    /// wallet signature): asks it to switch when it is elsewhere (one prompt at most). A switch
    /// declined or unsupported is `WrongChain`, the wallet's answer as `cause`; a chain the
    /// wallet does not know stays 4902, as it needs adding first.
    async fn require_chain(&self) -> Result<()> {
        let wallet_chain = self.provider.chain_id().await?;
        if wallet_chain == self.chain_id {
            return Ok(());
        }
        let wrong_chain = |now: u64, why: &str| {
            UraidenError::new(
                ErrorKind::WrongChain,
                format!(
                    "the wallet is on chain {now}, the channel manager on chain {chain}{why}; switch the wallet to \
                     chain {chain} and retry (payments with a session key need no wallet)",
                    chain = self.chain_id
                ),
            )
        };
        match self.provider.switch_chain(self.chain_id).await {
            Ok(()) => {}
            Err(error)
                if matches!(
                    error.kind(),
                    ErrorKind::UserRejected | ErrorKind::UnsupportedMethod | ErrorKind::Rpc(_)
                ) =>
            {
                let why = format!(" and did not switch ({})", error.message());
                return Err(wrong_chain(wallet_chain, &why).caused_by(error));
            }
            Err(error) => return Err(error),
        }
        match self.provider.chain_id().await? {
            now if now == self.chain_id => Ok(()),
            now => Err(wrong_chain(now, "")),
        }
    }

    /// Reads go through the wallet's node: on another chain they would read another contract
    /// (and adopt what it says). Refused without a prompt: reading is no reason to switch.
    async fn refuse_reading_another_chain(&self, what: &str) -> Result<()> {
        let wallet_chain = self.provider.chain_id().await?;
        if wallet_chain == self.chain_id {
            return Ok(());
        }
        Err(UraidenError::new(
            ErrorKind::WrongChain,
            format!(
                "cannot {what}: the wallet is on chain {wallet_chain}, the channel manager on chain {chain}; \
                 switchChain() first (payments with a session key need no wallet)",
                chain = self.chain_id
            ),
        ))
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

    /// Where the channels from `sender` to `receiver` are stored.
    fn store(&self, sender: Address, receiver: Address) -> ChannelStore {
        ChannelStore::new(self.chain_id, self.contract, sender, receiver)
    }

    /// Makes `channel` current and stores it (under its open block: other channels stay).
    fn remember(&self, channel: ChannelState) -> Result<JsValue> {
        self.store(channel.id.sender, channel.id.receiver).save(&channel)?;
        let js = channel_to_js(&channel);
        *self.channel.borrow_mut() = Some(channel);
        Ok(js)
    }

    /// Records `channel`, the result of an operation begun earlier (a payment's answer, a
    /// top-up, a resync): saved only while its record still exists (not forgotten meanwhile),
    /// and current only when the current channel is still this one (`openChannel` or
    /// `loadStoredChannel` may have switched meanwhile: a late answer does not switch back).
    fn book(&self, channel: ChannelState) -> Result<JsValue> {
        let store = self.store(channel.id.sender, channel.id.receiver);
        if matches!(store.load(channel.id.open_block_number), Ok(Some(_))) {
            store.save(&channel)?;
        }
        let js = channel_to_js(&channel);
        let mut current = self.channel.borrow_mut();
        if books_into_current(current.as_ref(), &channel.id) {
            *current = Some(channel);
        }
        Ok(js)
    }

    fn forget(&self, id: &ChannelId) -> Result<()> {
        *self.channel.borrow_mut() = None;
        self.store(id.sender, id.receiver).remove(id.open_block_number)
    }

    /// Sends a transaction from the connected account and waits until it is mined.
    async fn transact(&self, to: Address, data: Bytes, value: Option<U256>) -> Result<Receipt> {
        self.require_chain().await?;
        let from = self.account().await?;
        let hash = self.provider.send_transaction(&Transaction { from, to, data, value }).await?;
        self.provider
            .wait_for_receipt(hash, self.confirmations, self.poll_interval_ms, self.receipt_timeout_ms)
            .await
    }

    /// Signs `balance` in `channel`: with the session key when there is one, else the wallet.
    async fn sign(&self, channel: &ChannelState, balance: U192) -> Result<ProofSignature> {
        let domain = self.domain();
        let proof = channel.id.balance_proof(balance);
        let typed_data = balance_proof_typed_data(&domain, &proof);
        self.sign_typed(channel, eip712_signing_hash(&domain, &proof), typed_data).await
    }

    /// A close request of `channel` at its balance, signed now (session key, else wallet).
    async fn close_request(&self, channel: &ChannelState) -> Result<SignedCloseRequest> {
        let deadline = request_deadline(unix_now());
        let domain = self.domain();
        let request = channel.id.close_request(channel.balance, deadline);
        let typed_data = close_request_typed_data(&domain, &request);
        let signature = self.sign_typed(channel, eip712_signing_hash(&domain, &request), typed_data).await?;
        Ok(SignedCloseRequest { channel: channel.id, balance: channel.balance, deadline, signature })
    }

    /// A status request of `channel`, signed now (session key, else wallet).
    async fn status_request(&self, channel: &ChannelState) -> Result<SignedStatusRequest> {
        self.status_request_until(channel, request_deadline(unix_now())).await
    }

    /// A status request of `channel` valid until `deadline` (unix seconds), signed now.
    async fn status_request_until(
        &self,
        channel: &ChannelState,
        deadline: u64,
    ) -> Result<SignedStatusRequest> {
        let domain = self.domain();
        let request = channel.id.status_request(deadline);
        let typed_data = status_request_typed_data(&domain, &request);
        let signature = self.sign_typed(channel, eip712_signing_hash(&domain, &request), typed_data).await?;
        Ok(SignedStatusRequest { channel: channel.id, deadline, signature })
    }

    /// Signs an EIP-712 struct of `channel`, given its signing hash under [`Self::domain`] and
    /// `typed_data`, its wallet JSON: with the session key when there is one, else the sender's
    /// wallet, whose signer is checked. Not generic over the struct: one copy for all of them.
    async fn sign_typed(
        &self,
        channel: &ChannelState,
        hash: B256,
        typed_data: Json,
    ) -> Result<ProofSignature> {
        if let Some(key) = &channel.session_key {
            return Ok(key.sign_digest(&hash)?);
        }
        self.require_chain().await?;
        let signature = self.provider.sign_typed_data_v4(channel.id.sender, &typed_data.to_string()).await?;
        let signature = ProofSignature::from_hex(&signature).map_err(|e| {
            UraidenError::new(ErrorKind::InvalidSignature, format!("the wallet's signature is unusable: {e}"))
        })?;
        let signer = signature.recover_signer(&hash)?;
        if signer != channel.id.sender {
            return Err(UraidenError::new(
                ErrorKind::InvalidSignature,
                format!("the wallet signed as {signer}, not as the channel's sender {}", channel.id.sender),
            ));
        }
        Ok(signature)
    }

    /// Signs `balance` in `channel` and records it as the last balance.
    async fn sign_and_record(
        &self,
        channel: ChannelState,
        balance: U192,
    ) -> Result<(ChannelId, ProofSignature)> {
        let balance = channel.check_within_deposit(balance)?;
        let signature = self.sign(&channel, balance).await?;
        let id = channel.id;
        self.book(channel.with_balance(balance, Some(signature)))?;
        Ok((id, signature))
    }

    /// Lets the channel manager take `amount`, unless an earlier approve still does (an opening
    /// retried after its createChannel prompt was rejected, say): one prompt and one fee fewer.
    async fn approve(&self, amount: U192) -> Result<()> {
        let owner = self.account().await?;
        let allowed = match self.provider.call(self.token, &abi::allowance(owner, self.contract)).await {
            Ok(data) => abi::decode_balance(&data).ok(),
            Err(_) => None, // unknown: approve as if there were none
        };
        if allowed.is_some_and(|allowed| allowed >= U256::from(amount)) {
            return Ok(());
        }
        self.transact(self.token, abi::approve(self.contract, amount), None).await.map(|_| ())
    }

    async fn open_channel(&self, options: OpenChannelOptions) -> Result<JsValue> {
        let receiver = self.receiver_or_default(options.receiver.map(|receiver| receiver.0))?;
        let deposit = options.deposit.0;
        let method = options.method.unwrap_or_default();
        let session_key =
            if options.session_key.unwrap_or(true) { Some(LocalSigningKey::generate()?) } else { None };
        let sender = self.account().await?;
        if !options.replace.unwrap_or(false) {
            self.refuse_second_channel(sender, receiver).await?;
        }
        let signer = session_key.as_ref().map_or(sender, LocalSigningKey::address);
        // The opening transaction: (to, data).
        let (to, data) = match method {
            DepositMethod::Approve => {
                self.approve(deposit).await?;
                (self.contract, abi::create_channel_with_signer(receiver, deposit, signer))
            }
            DepositMethod::Erc223 => {
                let data = match &session_key {
                    Some(_) => TokenFallbackData::CreateChannelWithSigner { sender, receiver, signer },
                    None => TokenFallbackData::CreateChannel { sender, receiver },
                };
                (self.token, data.transfer_calldata(self.contract, deposit))
            }
            DepositMethod::Permit => {
                let (deadline, permit) = self.sign_permit(sender, deposit).await?;
                (self.contract, abi::create_channel_with_permit(receiver, deposit, signer, deadline, &permit))
            }
        };
        // Sent through `send_opening`, which stores the session key first.
        let receipt = self.send_opening(receiver, deposit, session_key.as_ref(), to, data).await?;
        let open_block_number = u32::try_from(receipt.block_number).map_err(|_| {
            UraidenError::new(ErrorKind::InvalidResponse, "the channel was mined in a block above uint32")
        })?;
        let id = ChannelId::new(sender, receiver, open_block_number);
        let channel = self.remember(ChannelState::new(id, deposit, session_key.clone()))?;
        if let Some(key) = &session_key {
            self.store(sender, receiver).remove_pending(key.address())?;
        }
        Ok(channel)
    }

    /// An EIP-2612 permit of `value` tokens from `owner` to the channel manager, valid for an
    /// hour, signed in the wallet (one prompt, no gas) and checked: (deadline, signature).
    async fn sign_permit(&self, owner: Address, value: U192) -> Result<(U256, ProofSignature)> {
        self.require_chain().await?;
        let domain = match self.provider.call(self.token, &abi::eip712_domain()).await {
            Ok(data) => abi::decode_eip712_domain(&data)?,
            Err(error) if error.kind() != ErrorKind::UserRejected => {
                return Err(UraidenError::invalid_argument(
                    "method",
                    format!(
                        "the token does not tell its EIP-712 domain (ERC-5267 eip712Domain(): {}), so it cannot be \
                         permitted: open with method \"approve\"",
                        error.message()
                    ),
                ))
            }
            Err(error) => return Err(error),
        };
        let nonce = abi::decode_nonce(&self.provider.call(self.token, &abi::nonces(owner)).await?)?;
        // The wallet's clock, not the chain's: an hour leaves room for either to be off.
        let deadline = U256::from((js_sys::Date::now() / 1000.0) as u64 + PERMIT_VALIDITY_S);
        let request = PermitRequest {
            domain,
            owner,
            spender: self.contract,
            value: U256::from(value),
            nonce,
            deadline,
        };
        request.check_domain(self.chain_id, self.token)?;
        let signature = self.provider.sign_typed_data_v4(owner, &request.typed_data_json()).await?;
        let signature = ProofSignature::from_hex(&signature).map_err(|e| {
            UraidenError::new(
                ErrorKind::InvalidSignature,
                format!("the wallet's permit signature is unusable: {e}"),
            )
        })?;
        request.verify(&signature)?;
        Ok((deadline, signature))
    }

    async fn top_up_channel(&self, added: U192, method: DepositMethod) -> Result<JsValue> {
        let channel = self.current_channel()?;
        keys::refuse_top_up_of_lost_key(&channel)?;
        let total = |channel: &ChannelState| {
            channel.deposit.checked_add(added).ok_or_else(|| {
                UraidenError::invalid_argument("deposit", "the total deposit would reach 2^192")
            })
        };
        total(&channel)?;
        match method {
            DepositMethod::Erc223 => {
                let data = TokenFallbackData::TopUp { channel: channel.id };
                self.transact(self.token, data.transfer_calldata(self.contract, added), None).await?;
            }
            DepositMethod::Approve | DepositMethod::Permit => {
                self.approve(added).await?;
                self.transact(self.contract, abi::top_up(&channel.id, added), None).await?;
            }
        }
        // Payments went on meanwhile: add to the channel as they left it, between two of them.
        // From now on the receiver may refuse as insufficient funds until it sees the top-up;
        // payingFetch waits for it then (`paying_fetch::receiver_lags`).
        let _turn = self.payments.turn(None).await;
        // As this tab knows it, continued from the stored record if another tab paid further.
        let now = self.current_channel().ok().filter(|now| now.id == channel.id).unwrap_or(channel);
        let (_tab_turn, now) = self.channel_lock(now, None).await?.ok_or_else(lock_refused)?;
        let deposit = total(&now)?;
        self.book(ChannelState { deposit, ..now })
    }

    /// The signature over the channel's current balance: the one on record, else a new one.
    async fn last_proof(&self, channel: &ChannelState) -> Result<ProofSignature> {
        match channel.last_signature {
            Some(signature) => Ok(signature),
            None => self.sign(channel, channel.balance).await,
        }
    }

    /// The receiver's closing signature over its last accepted balance, from its API, for a
    /// close request signed now: (the channel at that balance, its balance proof, the closing
    /// signature). When the receiver holds another balance signed by this channel, the channel
    /// continues from it and asks once more.
    async fn request_closing_signature(
        &self,
        channel: &ChannelState,
        receiver_url: &str,
    ) -> Result<(ChannelState, ProofSignature, ProofSignature)> {
        // Check the URL before a wallet prompt.
        close::close_url(receiver_url, &channel.id)?;
        let mut channel = channel.clone();
        for attempt in 0..2 {
            let request = self.close_request(&channel).await?;
            match close::request(receiver_url, &request).await? {
                close::CloseAnswer::Signed(closing_signature) => {
                    let domain = self.domain();
                    close::verify_closing_signature(
                        &domain,
                        &channel.id,
                        channel.balance,
                        &closing_signature,
                    )?;
                    // Nothing paid yet: a zero balance signed by the channel's signer.
                    let balance_signature = self.last_proof(&channel).await?;
                    return Ok((channel, balance_signature, closing_signature));
                }
                close::CloseAnswer::OtherBalance { balance, signature } if attempt == 0 => {
                    channel = channel.resynced(&self.domain(), balance, signature.as_ref()).ok_or_else(|| {
                        UraidenError::new(
                            ErrorKind::CloseRefused,
                            format!(
                                "the receiver's last balance {balance} is not signed by this channel's sender or \
                                 signer, so the channel cannot close at it cooperatively"
                            ),
                        )
                    })?;
                    self.book(channel.clone())?;
                }
                close::CloseAnswer::OtherBalance { balance, .. } => {
                    return Err(UraidenError::new(
                        ErrorKind::CloseRefused,
                        format!("the receiver's last balance moved again ({balance}) while closing; retry"),
                    ))
                }
            }
        }
        Err(UraidenError::new(ErrorKind::CloseRefused, "the receiver did not co-sign the close"))
    }

    /// Asks the paywall at `url` for this channel's last accepted proof with a status request
    /// signed now (no payment), and continues from it when it is ours.
    async fn sync_with_receiver(&self, url: &str) -> Result<JsValue> {
        let channel = self.current_channel()?;
        let (refusal, info) = self.ask_receiver(&channel, url).await?;
        let answer = info.sender.filter(|sender| *sender == channel.id.sender).and(info.sender_balance);
        let resynced = paying_fetch::accepted_state(&info, &self.domain(), &channel);
        let changed = resynced.is_some();
        if let Some(resynced) = resynced {
            self.book(resynced)?;
        }
        Ok(ReceiverStatus {
            reason: refusal.map(Refusal::code),
            balance: answer.map(Amount),
            balance_signature: info.balance_signature.filter(|_| answer.is_some()).map(HexSignature),
            resynced: changed,
        }
        .to_js())
    }

    /// Asks the paywall at `url` about `channel` with a status request signed now (no payment):
    /// the refusal its 402 names (a channel it does not know, or not confirmed yet), and the
    /// paywall, naming the channel's last accepted proof when the receiver has one.
    async fn ask_receiver(
        &self,
        channel: &ChannelState,
        url: &str,
    ) -> Result<(Option<Refusal>, PaywallInfo)> {
        let status = self.status_request(channel).await?;
        let init = RequestInit::new();
        init.set_method("GET");
        let request = Request::new_with_str_and_init(url, &init)
            .map_err(|_| UraidenError::invalid_argument("url", format!("not a valid URL: {url}")))?;
        let headers = request.headers();
        let _ = headers.set("Accept", "application/json");
        for (name, value) in status.to_header_pairs() {
            let _ = headers.set(name, &value);
        }
        // Bounded like a payment (it holds no turn, but a caller awaits it), the body too.
        let (response, _deadline) = paying_fetch::fetch_within(&request, self.payment_timeout_ms).await?;
        if response.status() != 402 {
            let body = paying_fetch::text(&response).await;
            return Err(UraidenError::new(
                ErrorKind::InvalidResponse,
                format!(
                    "the receiver answered the status request with HTTP {}: {}",
                    response.status(),
                    paying_fetch::message_of(&body)
                ),
            ));
        }
        let info = paying_fetch::paywall_info(&paying_fetch::read_headers(&response))?;
        Ok((paying_fetch::refusal(&response), info))
    }

    async fn close_channel(&self, options: CloseChannelOptions) -> Result<JsValue> {
        let channel = self.current_channel()?;
        let CloseChannelOptions { balance, receiver_url, closing_signature, fallback_uncooperative } =
            options;
        let (balance, closing_signature) = (balance.map(|b| b.0), closing_signature.map(|s| s.0));
        let fallback = fallback_uncooperative.unwrap_or(false);
        if receiver_url.is_some() && closing_signature.is_some() {
            return Err(UraidenError::invalid_argument(
                "receiverUrl",
                "give either closingSignature or receiverUrl, not both",
            ));
        }
        if receiver_url.is_some() && balance.is_some_and(|b| b != channel.balance) {
            return Err(UraidenError::invalid_argument(
                "balance",
                format!(
                    "with receiverUrl the close uses the channel's last proof ({}); omit balance",
                    channel.balance
                ),
            ));
        }
        let mut balance = balance.unwrap_or(channel.balance);
        let mut fallback_reason = None;
        let signatures = match (closing_signature, &receiver_url) {
            (Some(closing_signature), _) => {
                close::verify_closing_signature(&self.domain(), &channel.id, balance, &closing_signature)?;
                let balance_signature = if balance == channel.balance {
                    self.last_proof(&channel).await?
                } else {
                    self.sign(&channel, balance).await?
                };
                Some((balance_signature, closing_signature))
            }
            (None, Some(url)) => match self.request_closing_signature(&channel, url).await {
                Ok((closing, balance_signature, closing_signature)) => {
                    balance = closing.balance;
                    Some((balance_signature, closing_signature))
                }
                // Only the receiver's part falls back; a wallet refusal stays a refusal.
                Err(error)
                    if fallback
                        && matches!(
                            error.kind(),
                            ErrorKind::CloseRefused
                                | ErrorKind::InvalidResponse
                                | ErrorKind::InvalidSignature
                        ) =>
                {
                    fallback_reason = Some(error.message());
                    None
                }
                Err(error) => return Err(error),
            },
            (None, None) => None,
        };
        let data = match &signatures {
            Some((balance_signature, closing_signature)) => {
                abi::cooperative_close(&channel.id, balance, balance_signature, closing_signature)
            }
            None => abi::uncooperative_close(&channel.id, balance),
        };
        let receipt = self.transact(self.contract, data, None).await?;
        let cooperative = signatures.is_some();
        if cooperative {
            self.forget(&channel.id)?;
        }
        Ok(CloseResult {
            transaction_hash: receipt.transaction_hash,
            block_number: receipt.block_number,
            cooperative,
            balance: Amount(balance),
            fallback_reason,
        }
        .to_js())
    }

    /// Adopts the receiver's last accepted proof when our sender or signer signed it.
    fn resync_from_receiver(&self, balance: U192, signature: &ProofSignature) -> Result<JsValue> {
        let channel = self.current_channel()?;
        if balance > channel.deposit {
            return Err(UraidenError::new(
                ErrorKind::InsufficientDeposit,
                format!(
                    "the receiver's balance {balance} exceeds the deposit of {} known here; \
                     loadChannelFromBlockchain() reads the current deposit",
                    channel.deposit
                ),
            ));
        }
        match channel.resynced(&self.domain(), balance, Some(signature)) {
            Some(resynced) => self.remember(resynced),
            None => Err(UraidenError::new(
                ErrorKind::InvalidSignature,
                format!(
                    "the signature over balance {balance} is by neither the sender {} nor the channel's signer {}; \
                     nothing was changed",
                    channel.id.sender,
                    channel.signer()
                ),
            )),
        }
    }

    /// The newest channel from the account to `receiver` that still exists on chain, rebuilt
    /// from its `ChannelCreated` event, the contract's views and what is stored about it. A
    /// channel whose signer is a session key this browser lost is adopted wallet-signed.
    async fn load_channel_from_blockchain(
        &self,
        receiver: Option<Address>,
        from_block: Option<u64>,
    ) -> Result<JsValue> {
        self.refuse_reading_another_chain("read the channel from the chain").await?;
        let receiver = self.receiver_or_default(receiver)?;
        let sender = self.account().await?;
        let store = self.store(sender, receiver);
        // A channel being opened is stored with its session key first, not adopted without it.
        self.resolve_pending(sender, receiver).await?;
        let topics = abi::channel_created_topics(sender, receiver);
        let blocks = self.provider.log_blocks(self.contract, &topics, from_block.unwrap_or(0)).await?;
        for open_block_number in newest_first(blocks)? {
            let id = ChannelId::new(sender, receiver, open_block_number);
            // Settled channels are deleted: look at the one before.
            let Some(info) = self.on_chain_channel(&id).await? else { continue };
            let signer = abi::decode_channel_signer(
                &self.provider.call(self.contract, &abi::get_channel_signer(&id)).await?,
            )?;
            let stored = store.load(open_block_number).ok().flatten();
            return self.remember(recovered_channel(id, &info, signer, stored));
        }
        Ok(JsValue::NULL)
    }

    /// The channel `id` as the contract sees it; `None` when the contract has none by that id
    /// (it deletes a channel when it settles).
    async fn on_chain_channel(&self, id: &ChannelId) -> Result<Option<abi::OnChainChannel>> {
        match self.provider.call(self.contract, &abi::get_channel_info(id)).await {
            Ok(data) => abi::decode_channel_info(&data).map(Some),
            Err(error) if abi::is_channel_not_found(&error) => Ok(None),
            Err(error) => Err(error),
        }
    }

    async fn get_channel_info(&self) -> Result<JsValue> {
        let channel = self.current_channel()?;
        self.refuse_reading_another_chain("read the channel's state on chain").await?;
        let Some(info) = self.on_chain_channel(&channel.id).await? else {
            // The contract deletes a channel when it settles.
            return Ok(OnChainChannelInfo {
                state: ChannelPhase::Settled,
                deposit: Amount(U192::ZERO),
                settle_block_number: 0,
                closing_balance: Amount(U192::ZERO),
                withdrawn_balance: Amount(U192::ZERO),
            }
            .to_js());
        };
        Ok(OnChainChannelInfo {
            state: if info.settle_block_number == 0 { ChannelPhase::Open } else { ChannelPhase::Closing },
            deposit: Amount(info.deposit),
            settle_block_number: info.settle_block_number,
            closing_balance: Amount(info.closing_balance),
            withdrawn_balance: Amount(info.withdrawn_balance),
        }
        .to_js())
    }

    async fn get_token_info(&self) -> Result<JsValue> {
        let account = self.account().await?;
        let name = abi::decode_string(&self.provider.call(self.token, &abi::name()).await?)?;
        let symbol = abi::decode_string(&self.provider.call(self.token, &abi::symbol()).await?)?;
        let decimals = abi::decode_decimals(&self.provider.call(self.token, &abi::decimals()).await?)?;
        let balance = abi::decode_balance(&self.provider.call(self.token, &abi::balance_of(account)).await?)?;
        Ok(TokenInfo { address: HexAddress(self.token), name, symbol, decimals, balance }.to_js())
    }

    async fn load_stored_channel(&self, receiver: Option<Address>) -> Result<JsValue> {
        self.load_stored(receiver, None).await
    }

    /// Whether `refusal` of a proof of `balance` only means the receiver has not caught up with
    /// the chain yet ([`paying_fetch::receiver_lags`]), or does not know a channel that the
    /// contract says is open (the only case that asks the chain, through the wallet).
    async fn receiver_catching_up(
        &self,
        refusal: Option<Refusal>,
        channel: &ChannelState,
        balance: U192,
    ) -> Result<bool> {
        if paying_fetch::receiver_lags(refusal, balance, channel.deposit) {
            return Ok(true);
        }
        match refusal {
            Some(Refusal::NonexistingChannel) => Ok(self
                .on_chain_channel(&channel.id)
                .await?
                .is_some_and(|info| info.settle_block_number == 0)),
            _ => Ok(false),
        }
    }

    /// Sends `probe` (the paying request's copy) with a status request signed now instead of a
    /// payment: its 402 names the receiver's last accepted proof.
    async fn ask_last_proof(
        &self,
        channel: &ChannelState,
        probe: Request,
        timeout_ms: u32,
    ) -> Result<Option<PaywallInfo>> {
        let status = self.status_request(channel).await?;
        for (name, value) in status.to_header_pairs() {
            probe
                .headers()
                .set(name, &value)
                .map_err(|_| UraidenError::invalid_argument("init", "the request's headers are immutable"))?;
        }
        // Only its headers are read.
        let (response, _deadline) = paying_fetch::fetch_within(&probe, timeout_ms).await?;
        Ok((response.status() == 402)
            .then(|| paying_fetch::paywall_info(&paying_fetch::read_headers(&response)).ok())
            .flatten())
    }

    /// Takes `channel`'s Web Lock, so that other tabs holding its key pay one at a time too
    /// ([`queue::cross_tab_turn`]), and continues the channel from its stored record when
    /// another tab paid further meanwhile (a tab may read that record late: a payment built on
    /// a stale one is refused naming the newer proof, and resyncs). `None` when `signal` aborts
    /// first.
    async fn channel_lock(
        &self,
        channel: ChannelState,
        signal: Option<&web_sys::AbortSignal>,
    ) -> Result<Option<(Turn, ChannelState)>> {
        let store = self.store(channel.id.sender, channel.id.receiver);
        let Some(turn) =
            queue::cross_tab_turn(&store.channel_key(channel.id.open_block_number), signal).await
        else {
            return Ok(None);
        };
        let stored = store.load(channel.id.open_block_number).ok().flatten();
        let channel = match stored.and_then(|stored| channel.continued_from_store(&self.domain(), &stored)) {
            Some(continued) => {
                self.book(continued.clone())?;
                continued
            }
            None => channel,
        };
        Ok(Some((turn, channel)))
    }

    async fn paying_fetch(&self, input: String, options: PayingFetchOptions) -> Result<JsValue> {
        let max_price = options.max_price.0;
        let timeout_ms = paying_fetch::payment_timeout(options.payment_timeout_ms, self.payment_timeout_ms)?;
        let init: RequestInit = match options.init.0 {
            init if init.is_undefined() || init.is_null() => js_sys::Object::new().unchecked_into(),
            init => init.unchecked_into(),
        };
        let request = Request::new_with_str_and_init(&input, &init)
            .map_err(|_| UraidenError::invalid_argument("input", "not a valid URL or RequestInit"))?;
        // A body can be read once: each paying attempt sends a fresh copy.
        let copy = |request: &Request| {
            request
                .clone()
                .map_err(|_| UraidenError::invalid_argument("init", "the request body cannot be sent twice"))
        };
        let template = copy(&request)?;
        let mut response = paying_fetch::fetch(&request).await?;
        if response.status() != 402 {
            return Ok(response.into());
        }
        // Where the 402 came from and where the paid request goes (the request's URL).
        for url in [response.url(), request.url()] {
            paying_fetch::check_paid_url(self.paid_origins.as_deref(), &url)?;
        }
        let mut offer = paying_fetch::Offer::of(&response)?;
        let signal = request.signal();
        let aborted = || paying_fetch::aborted_by_caller(&request);
        // One payment at a time: the next balance depends on the previous one's answer.
        let _turn = self.payments.turn(Some(&signal)).await.ok_or_else(aborted)?;
        let receiver = offer.info.receiver;
        if self.channel.borrow().as_ref().is_none_or(|c| c.id.receiver != receiver) {
            self.load_stored_channel(Some(receiver)).await?;
        }
        // The channel this call pays from, whichever becomes current meanwhile.
        let mut paying = self.channel.borrow().clone().filter(|c| c.id.receiver == receiver);
        let mut _tab_turn = None;
        if let Some(channel) = paying.take() {
            let (turn, channel) = self.channel_lock(channel, Some(&signal)).await?.ok_or_else(aborted)?;
            (_tab_turn, paying) = (Some(turn), Some(channel));
        }
        // This call's payments: a refusal naming one of them as the receiver's last proof
        // (`paying_fetch::names_sent_proof`) is paid on top once (the receiver may have held
        // it from before), and thrown at the second (the receiver keeps what it refuses).
        let mut sent = Vec::new();
        let mut paid_on_own_proof = false;
        let mut deadline = None;
        // Another attempt only when the refusal showed this browser out of sync with the
        // receiver (storage lost or restored, a proof that never arrived, another tab paying
        // from the same channel): it then pays on top of the receiver's last accepted proof.
        // After the first, only while the receiver's proof keeps moving up (another payer of
        // ours is still paying), and for a wallet-signed channel only once (each costs a prompt).
        for attempt in 0..MAX_PAYMENT_ATTEMPTS {
            let (channel, payment) = self.sign_payment(&offer.info, max_price, paying.as_ref()).await?;
            let balance = payment.balance;
            sent.push((balance, payment.balance_signature));
            let paying_request = |status: Option<&SignedStatusRequest>| -> Result<Request> {
                let retry = copy(&template)?;
                let retry = match self.paid_origins {
                    Some(_) => paying_fetch::without_redirects(&retry)?,
                    None => retry,
                };
                let headers = retry.headers();
                for (name, value) in offer.payment_headers(&payment, status) {
                    headers.set(name, &value).map_err(|_| {
                        UraidenError::invalid_argument("init", "the request's headers are immutable")
                    })?;
                }
                Ok(retry)
            };
            (response, deadline) = paying_fetch::fetch_within(&paying_request(None)?, timeout_ms)
                .await
                .map(|(response, armed)| (response, Some(armed)))?;
            let started = js_sys::Date::now();
            let catch_up_until = started + f64::from(self.confirmation_timeout_ms);
            let mut rate_limited = 0;
            // The same proof sent again after a wait (one wait and send for both cases: each
            // is a copy in the wasm). First while the receiver has not seen the channel or
            // top-up confirmed yet: the proof becomes valid by itself once it has (bounded),
            // rather than fail. Then while a rate limit, which charged nothing, asks for a
            // short `Retry-After` (bounded); after a long one the 429 is the answer.
            let mut answer = loop {
                let answer = offer.answer(&response, balance);
                let wait_ms = if rate_limited == 0
                    && response.status() == 402
                    && js_sys::Date::now() < catch_up_until
                    && self.receiver_catching_up(answer.refusal, &channel, balance).await?
                {
                    self.poll_interval_ms
                } else {
                    match answer.paid {
                        PaidAnswer::RateLimited { wait_secs: Some(wait), .. }
                            if rate_limited < MAX_RATE_LIMIT_RETRIES =>
                        {
                            rate_limited += 1;
                            u32::try_from(wait.saturating_mul(1000)).unwrap_or(u32::MAX)
                        }
                        _ => break answer,
                    }
                };
                sleep(wait_ms).await;
                (response, deadline) = paying_fetch::fetch_within(&paying_request(None)?, timeout_ms)
                    .await
                    .map(|(response, armed)| (response, Some(armed)))?;
            };
            // The receiver's answer names what it now holds (our proof when accepted, its
            // previous one when refused): that is the balance, and what a cooperative close presents.
            // A refusal carries the previous one only for a status request: ask with one then
            // (only then: whoever captures a payment with one reads the last proof until its deadline).
            let may_ask_again = attempt == 0 || channel.session_key.is_some();
            if !answer.paid.charged()
                && may_ask_again
                && answer.offer.as_ref().is_some_and(|offer| offer.info.sender_balance.is_none())
                && matches!(answer.refusal, Some(Refusal::InvalidBalanceProof | Refusal::InvalidAmount))
            {
                if offer.is_x402() {
                    // x402 has no payment-less status request: the same payment again, with one.
                    let status = self.status_request(&channel).await?;
                    (response, deadline) =
                        paying_fetch::fetch_within(&paying_request(Some(&status))?, timeout_ms)
                            .await
                            .map(|(response, armed)| (response, Some(armed)))?;
                    answer = offer.answer(&response, balance);
                } else if let Some(info) = self.ask_last_proof(&channel, copy(&template)?, timeout_ms).await?
                {
                    answer.offer = Some(paying_fetch::Offer { info, x402: None });
                }
            }
            // Counted only once the receiver took it (the rule every sender follows).
            let paid = answer.paid.charged();
            let state = if paid {
                channel.clone().with_balance(balance, Some(payment.balance_signature))
            } else {
                channel
            };
            let named = answer
                .offer
                .as_ref()
                .and_then(|offer| paying_fetch::names_sent_proof(&offer.info, &state.id, &sent));
            if let Some((kept, signature)) = named.filter(|_| !paid && response.status() == 402) {
                if paid_on_own_proof {
                    self.book(state.with_balance(kept, Some(signature)))?;
                    let message = paying_fetch::refusal_message(&answer, &response).await;
                    return Err(paying_fetch::kept_and_refused(kept, &message));
                }
                paid_on_own_proof = true;
            }
            let resynced = answer
                .offer
                .as_ref()
                .and_then(|offer| paying_fetch::accepted_state(&offer.info, &self.domain(), &state));
            let before = state.balance;
            let out_of_sync = !paid && resynced.is_some();
            // Moved up past what this client held: someone holding this channel's key paid meanwhile.
            let moved_on = resynced.as_ref().is_some_and(|now| now.balance > before);
            let booked = resynced.unwrap_or(state);
            self.book(booked.clone())?;
            paying = Some(booked);
            match answer.offer.take() {
                Some(next)
                    if out_of_sync
                        && (attempt == 0 || (moved_on && may_ask_again))
                        && attempt + 1 < MAX_PAYMENT_ATTEMPTS
                        && response.status() == 402 =>
                {
                    offer = next
                }
                // Refused for good: thrown, so no caller takes the 402 for the resource's answer.
                _ if response.status() == 402 => {
                    // Milliseconds, far below 2^32.
                    let waited_ms = (js_sys::Date::now() - started) as u32;
                    let message = paying_fetch::refusal_message(&answer, &response).await;
                    return Err(paying_fetch::refused_payment(answer.refusal, balance, waited_ms, &message));
                }
                _ => break,
            }
        }
        // The caller reads the body: no timer may abort it.
        drop(deadline);
        Ok(response.into())
    }

    /// The payment of one more request behind `info`'s paywall from `channel`, by the sender's
    /// rules (`paying_fetch::next_balance`), signed but not recorded: only the receiver's
    /// acceptance makes it the balance.
    async fn sign_payment(
        &self,
        info: &PaywallInfo,
        max_price: U192,
        channel: Option<&ChannelState>,
    ) -> Result<(ChannelState, PaymentHeaders)> {
        let (channel, balance) = paying_fetch::next_balance(info, max_price, self.paying(), channel)?;
        let balance_signature = self.sign(channel, channel.check_within_deposit(balance)?).await?;
        let payment = PaymentHeaders {
            contract: self.contract,
            receiver: channel.id.receiver,
            sender: channel.id.sender,
            open_block_number: channel.id.open_block_number,
            balance,
            balance_signature,
            payment: Some(info.price),
        };
        Ok((channel.clone(), payment))
    }

    /// The chain, channel manager and token this client pays through.
    fn paying(&self) -> paying_fetch::Paying {
        paying_fetch::Paying { chain_id: self.chain_id, contract: self.contract, token: self.token }
    }
}

/// How many times one `payingFetch` pays on top of a receiver's newer last proof before it
/// gives up: bounded, though each step needs a proof this channel's own key signed.
const MAX_PAYMENT_ATTEMPTS: usize = 8;

/// A lock request without a signal is never refused; should the browser do it all the same.
fn lock_refused() -> UraidenError {
    UraidenError::new(ErrorKind::Network, "the browser refused this channel's lock (navigator.locks)")
}

/// Unix seconds by this browser's clock (the receiver allows a few minutes of difference).
fn unix_now() -> u64 {
    // Positive and far below 2^53.
    (js_sys::Date::now() / 1000.0) as u64
}

#[wasm_bindgen]
impl MicroRaiden {
    /// Connects to a wallet and a channel manager. Reads the chain id (and the token when not
    /// given); prompts nothing.
    #[wasm_bindgen(unchecked_return_type = "Promise<MicroRaiden>")]
    pub fn create(options: tsify::Ts<CreateOptions>) -> Promise {
        let options = options::read_required(options);
        promise(async move {
            let options = options?;
            let provider = match options.provider.0 {
                // An EIP-6963 announcement carries the provider in `provider`.
                detail if field(&detail, "request").is_none() && field(&detail, "info").is_some() => {
                    Provider::new(field(&detail, "provider").unwrap_or(JsValue::UNDEFINED))?
                }
                provider if provider.is_undefined() || provider.is_null() => Provider::injected()?,
                provider => Provider::new(provider)?,
            };
            let contract = options.contract.0;
            let chain_id = match options.chain_id {
                Some(chain_id) => chain_id,
                None => provider.chain_id().await?,
            };
            let token = match options.token {
                Some(token) => token.0,
                None => abi::decode_address(&provider.call(contract, &abi::token()).await?)?,
            };
            let interval =
                |ms: Option<u64>, default| ms.map_or(default, |ms| u32::try_from(ms).unwrap_or(u32::MAX));
            let inner = Inner {
                provider,
                contract,
                token,
                chain_id,
                default_receiver: options.receiver.map(|receiver| receiver.0),
                poll_interval_ms: interval(options.poll_interval_ms, DEFAULT_POLL_INTERVAL_MS),
                receipt_timeout_ms: interval(options.receipt_timeout_ms, DEFAULT_RECEIPT_TIMEOUT_MS),
                confirmation_timeout_ms: interval(
                    options.confirmation_timeout_ms,
                    DEFAULT_CONFIRMATION_TIMEOUT_MS,
                ),
                confirmations: match options.confirmations {
                    Some(0) => {
                        return Err(UraidenError::invalid_argument("confirmations", "must be at least 1"))
                    }
                    Some(n) => n,
                    None => 1,
                },
                chain: options.chain.map(ChainParameters::validated).transpose()?,
                paid_origins: options.paid_origins.map(paying_fetch::paid_origins).transpose()?,
                payment_timeout_ms: paying_fetch::payment_timeout(
                    options.payment_timeout_ms,
                    paying_fetch::DEFAULT_PAYMENT_TIMEOUT_MS,
                )?,
                account: RefCell::new(None),
                channel: RefCell::new(None),
                payments: PaymentQueue::default(),
            };
            Ok(MicroRaiden { inner: Rc::new(inner) }.into())
        })
    }

    /// The channel manager's address.
    #[wasm_bindgen(getter, unchecked_return_type = "`0x${string}`")]
    pub fn contract(&self) -> String {
        self.inner.contract.to_checksum(None)
    }

    /// The token's address.
    #[wasm_bindgen(getter, unchecked_return_type = "`0x${string}`")]
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
    #[wasm_bindgen(getter, unchecked_return_type = "`0x${string}` | undefined")]
    pub fn account(&self) -> Option<String> {
        self.inner.account.borrow().map(|a| a.to_checksum(None))
    }

    /// The current channel, or `null`.
    #[wasm_bindgen(getter, unchecked_return_type = "Channel | null")]
    pub fn channel(&self) -> JsValue {
        self.inner.channel.borrow().as_ref().map_or(JsValue::NULL, channel_to_js)
    }

    /// `eth_requestAccounts` (prompts); the first account becomes the sender.
    #[wasm_bindgen(js_name = requestAccounts, unchecked_return_type = "Promise<`0x${string}`[]>")]
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

    /// Opens a channel and makes it current, waiting for the receipts: by default `approve` +
    /// `createChannelWithSigner` (two prompts); `method: "erc223"` or `"permit"` take one
    /// transaction. With `sessionKey` (default) a browser key becomes the channel's signer.
    #[wasm_bindgen(js_name = openChannel, unchecked_return_type = "Promise<Channel>")]
    pub fn open_channel(&self, options: tsify::Ts<OpenChannelOptions>) -> Promise {
        let inner = self.inner.clone();
        let options = options::read_required(options);
        promise(async move { inner.open_channel(options?).await })
    }

    /// Adds `deposit` to the channel: `approve` + `topUp`, or one ERC223 transfer with
    /// `{ method: "erc223" }`.
    #[wasm_bindgen(js_name = topUpChannel, unchecked_return_type = "Promise<Channel>")]
    pub fn top_up_channel(
        &self,
        #[wasm_bindgen(unchecked_param_type = "bigint")] deposit: JsValue,
        options: Option<tsify::Ts<TopUpOptions>>,
    ) -> Promise {
        let inner = self.inner.clone();
        let options = options::read(options);
        promise(async move {
            let method = options?.method.unwrap_or_default();
            if method == DepositMethod::Permit {
                return Err(UraidenError::invalid_argument(
                    "method",
                    "the contract has no top-up with permit: use \"approve\" or \"erc223\"",
                ));
            }
            inner.top_up_channel(amount_from_js("deposit", &deposit)?, method).await
        })
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
            let _turn = inner.payments.turn(None).await;
            // The caller chose the balance: signed as asked (the paywall page passes its own).
            let (id, signature) = inner.sign_and_record(inner.current_channel()?, balance).await?;
            Ok(SignedBalanceProof::new(&id, balance, signature).to_js())
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
            let amount = amount_from_js("amount", &amount)?;
            let _turn = inner.payments.turn(None).await;
            // Another tab with the same key increments in turn, on top of what it stored.
            let (_tab_turn, channel) =
                inner.channel_lock(inner.current_channel()?, None).await?.ok_or_else(lock_refused)?;
            let balance = channel.balance_after(amount)?;
            let (id, signature) = inner.sign_and_record(channel, balance).await?;
            Ok(SignedBalanceProof::new(&id, balance, signature).to_js())
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

    /// Closes the channel: cooperatively with the receiver's closing signature (given, or
    /// requested from `receiverUrl`; settles at once), else uncooperatively (starts the
    /// challenge period; `settleChannel` after it).
    #[wasm_bindgen(js_name = closeChannel, unchecked_return_type = "Promise<CloseResult>")]
    pub fn close_channel(&self, options: Option<tsify::Ts<CloseChannelOptions>>) -> Promise {
        let inner = self.inner.clone();
        let options = options::read(options);
        promise(async move { inner.close_channel(options?).await })
    }

    /// Asks the receiver at `receiverUrl` (its origin, or API base such as `/api/1`) to co-sign
    /// closing the channel with its last proof; the closing signature is verified. Pass it to
    /// `closeChannel({ closingSignature })`, or let `closeChannel({ receiverUrl })` do both.
    #[wasm_bindgen(js_name = requestClosingSignature, unchecked_return_type = "Promise<ClosingSignature>")]
    pub fn request_closing_signature(
        &self,
        #[wasm_bindgen(js_name = receiverUrl)] receiver_url: String,
    ) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let channel = inner.current_channel()?;
            let (channel, balance_signature, closing_signature) =
                inner.request_closing_signature(&channel, &receiver_url).await?;
            Ok(ClosingSignature {
                balance: Amount(channel.balance),
                balance_signature: HexSignature(balance_signature),
                closing_signature: HexSignature(closing_signature),
            }
            .to_js())
        })
    }

    /// Asks the paywalled resource at `url` for the channel's last accepted proof, proving with a
    /// status request signed now (the session key; else one wallet prompt) rather than a
    /// payment, and continues from it when the channel's sender or signer signed it.
    #[wasm_bindgen(js_name = syncWithReceiver, unchecked_return_type = "Promise<ReceiverStatus>")]
    pub fn sync_with_receiver(&self, url: String) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let _turn = inner.payments.turn(None).await;
            inner.sync_with_receiver(&url).await
        })
    }

    /// Adopts the receiver's last accepted proof (`RDN-Sender-Balance`, `RDN-Balance-Signature`
    /// of a 402 to a status request) as the channel's balance, after checking that the channel's
    /// sender or signer signed it; throws `InvalidSignatureError` otherwise. `payingFetch` and
    /// `syncWithReceiver` do this themselves.
    #[wasm_bindgen(js_name = resyncFromReceiver, unchecked_return_type = "Channel")]
    pub fn resync_from_receiver(
        &self,
        #[wasm_bindgen(unchecked_param_type = "bigint")] balance: JsValue,
        signature: &str,
    ) -> Result<JsValue> {
        let balance = amount_from_js("balance", &balance)?;
        let signature = ProofSignature::from_hex(signature)
            .map_err(|e| UraidenError::invalid_argument("signature", e))?;
        self.inner.resync_from_receiver(balance, &signature)
    }

    /// Finds the newest channel from the account to `receiver` (default: the one given to
    /// `create`) that still exists on chain, from its `ChannelCreated` event (`eth_getLogs` from
    /// `fromBlock`, default 0), and makes it current; `null` when there is none. For a browser
    /// that lost its storage: the balance is what the chain knows (withdrawn or closing balance,
    /// or what was stored); `syncWithReceiver` (or the next 402) adopts the receiver's last
    /// proof. A channel whose signer is a session key this browser no longer holds is loaded
    /// wallet-signed (`sessionKey: false`, `signer` the lost key): the contract accepts the
    /// sender's signatures too, and proofs by the lost key stay credible.
    #[wasm_bindgen(js_name = loadChannelFromBlockchain, unchecked_return_type = "Promise<Channel | null>")]
    pub fn load_channel_from_blockchain(
        &self,
        receiver: Option<JsAddress>,
        #[wasm_bindgen(js_name = fromBlock)] from_block: Option<f64>,
    ) -> Promise {
        let inner = self.inner.clone();
        let receiver = optional_address_param("receiver", receiver);
        promise(async move {
            let receiver = receiver?;
            let from_block = from_block
                .map(|block| {
                    // Integral and below 2^53, so the cast is exact.
                    (block.fract() == 0.0 && (0.0..9_007_199_254_740_992.0).contains(&block))
                        .then_some(block as u64)
                        .ok_or_else(|| UraidenError::invalid_argument("fromBlock", "expected a block number"))
                })
                .transpose()?;
            inner.load_channel_from_blockchain(receiver, from_block).await
        })
    }

    /// `settle` after the challenge period; forgets the channel.
    #[wasm_bindgen(js_name = settleChannel, unchecked_return_type = "Promise<TransactionResult>")]
    pub fn settle_channel(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let channel = inner.current_channel()?;
            let receipt = inner.transact(inner.contract, abi::settle(&channel.id), None).await?;
            inner.forget(&channel.id)?;
            Ok(TransactionResult::from(&receipt).to_js())
        })
    }

    /// The token's payable `mint()`: buys tokens with `value` wei.
    #[wasm_bindgen(js_name = buyToken, unchecked_return_type = "Promise<TransactionResult>")]
    pub fn buy_token(&self, #[wasm_bindgen(unchecked_param_type = "bigint")] value: JsValue) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let value = U256::from(amount_from_js("value", &value)?);
            let receipt = inner.transact(inner.token, abi::mint(), Some(value)).await?;
            Ok(TransactionResult::from(&receipt).to_js())
        })
    }

    /// Loads a stored channel to `receiver` (default: the one given to `create`) and makes it
    /// current: the one opened in `openBlockNumber` when given, else the newest one still open
    /// on chain (a channel being opened whose transaction was mined meanwhile is stored first);
    /// `null` when none is stored. The others stay stored (`storedChannels()`).
    #[wasm_bindgen(js_name = loadStoredChannel, unchecked_return_type = "Promise<Channel | null>")]
    pub fn load_stored_channel(
        &self,
        receiver: Option<JsAddress>,
        #[wasm_bindgen(js_name = openBlockNumber)] open_block_number: Option<u32>,
    ) -> Promise {
        let inner = self.inner.clone();
        let receiver = optional_address_param("receiver", receiver);
        promise(async move {
            let receiver = receiver?;
            inner.load_stored(receiver, open_block_number).await
        })
    }

    /// Forgets the current channel and its session key (in memory and in `localStorage`); the
    /// account's other channels stay stored. A channel holding a session key is forgotten only
    /// with `{ force: true }` (the key is gone for good; the channel may still be open).
    #[wasm_bindgen(js_name = forgetStoredChannel)]
    pub fn forget_stored_channel(&self, options: Option<tsify::Ts<ForgetOptions>>) -> Result<()> {
        let ForgetOptions { force } = options::read(options)?;
        let channel = self.inner.current_channel()?;
        check_forgettable(&channel, force.unwrap_or(false))?;
        self.inner.forget(&channel.id)
    }

    /// `fetch(input, init)`; on 402 pays the price (at most `maxPrice`) from the channel to
    /// that receiver and retries once (twice when the receiver's refusal shows this browser was
    /// out of sync: it then pays on top of the receiver's last accepted proof). The channel's
    /// balance follows what the receiver accepted. Concurrent calls pay one after the other. A
    /// channel or top-up the receiver has not seen yet is waited for (`confirmationTimeoutMs`);
    /// a refusal that remains rejects with an `UraidenError` (`data.refusal` names it), never a
    /// 402. A 429 charged nothing: after a short `Retry-After` (at most 10 s) the same payment
    /// is sent again, a few times; otherwise the 429 resolves, with its `Retry-After` readable,
    /// and nothing was counted. Resolves to the final `Response`. With a session key it makes no
    /// wallet request. The proof travels in x402's `PAYMENT-SIGNATURE` when the 402 offers the
    /// `uraiden` scheme in `PAYMENT-REQUIRED` (the npm package's build; the paywall page's has no
    /// x402), else in `RDN-*` headers: the same rules either way.
    #[wasm_bindgen(js_name = payingFetch, unchecked_return_type = "Promise<Response>")]
    pub fn paying_fetch(&self, input: String, options: tsify::Ts<PayingFetchOptions>) -> Promise {
        let inner = self.inner.clone();
        let options = options::read_required(options);
        promise(async move { inner.paying_fetch(input, options?).await })
    }

    /// The `uraiden` scheme client of x402 v2, for apps that pay through `@x402/core` (and
    /// `wrapFetchWithPayment` of `@x402/fetch`): `x402Client.register(scheme.network, scheme)`.
    /// It pays offers of this client's channel manager from the channel to their receiver,
    /// opening one through the wallet the first time (`deposit`, default the offer's
    /// `extra.suggestedDeposit`), then signs with its session key: no wallet request per
    /// payment. Payments share `payingFetch`'s queue, rules and channel.
    #[cfg(feature = "x402")]
    #[wasm_bindgen(js_name = x402Scheme)]
    pub fn x402_scheme(&self, options: Option<tsify::Ts<options::X402SchemeOptions>>) -> Result<X402Scheme> {
        Ok(X402Scheme::new(self.inner.clone(), options::read(options)?))
    }
}
