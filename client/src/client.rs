//! [`Client`]: the sender's account, its node and its channels with one channel manager —
//! opening, finding a channel fit for a payment, and recovering channels from the chain.

use std::{
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard},
};

use alloy::{
    network::EthereumWallet,
    primitives::U256,
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::Filter,
    signers::local::PrivateKeySigner,
    sol_types::SolEvent,
};
use uraiden_chain::contracts::{CustomToken, RaidenMicroTransferChannels};
use uraiden_protocol::{channel_manager_domain, Address, ChannelId, Eip712Domain, LocalSigningKey, U192};

use crate::{
    channel::Channel,
    error::{Error, Result},
    store::{ChannelRecord, ChannelState, ChannelStore},
};

/// How to build a [`Client`].
#[derive(Debug)]
pub struct ClientConfig {
    /// The sender's key: signs transactions and balance proofs.
    pub key: LocalSigningKey,
    /// The Ethereum node's JSON-RPC URL.
    pub rpc_url: String,
    /// The `RaidenMicroTransferChannels` contract.
    pub channel_manager: Address,
    /// The JSON file that keeps channels and balance proofs across restarts. Locked while
    /// the client (any clone of it) lives: a second client on it, in this process or another,
    /// fails with [`Error::StateFileInUse`].
    pub state_file: PathBuf,
    /// First block searched for this sender's `ChannelCreated` events by
    /// [`Client::sync_channels`] (the contract's deployment block is enough).
    pub start_block: u64,
}

/// The sender. Cheap to clone: clones share the account, the node and the channel store.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    key: LocalSigningKey,
    provider: DynProvider,
    channel_manager: Address,
    token: Address,
    chain_id: u64,
    domain: Eip712Domain,
    start_block: u64,
    // A std mutex: it is never held across an `.await` (reads copy out, writes are sync).
    store: Mutex<ChannelStore>,
}

impl Client {
    /// Connects to the node, reads the chain id and the contract's token, and loads the
    /// state file. The channels in it are not checked against the chain: see
    /// [`sync_channels`](Self::sync_channels).
    pub async fn connect(config: ClientConfig) -> Result<Self> {
        let url = config.rpc_url.parse().map_err(|e| Error::chain("parsing the RPC URL", e))?;
        let signer = PrivateKeySigner::from_bytes(&config.key.to_secret_bytes())
            .map_err(|_| Error::Key("not a valid secp256k1 private key".into()))?;
        // Nonces come from the node each time, not a cache: other processes (or other clients in
        // this one) may send from the same account.
        let provider = ProviderBuilder::new()
            .with_simple_nonce_management()
            .wallet(EthereumWallet::from(signer))
            .connect_http(url)
            .erased();
        let chain_id = provider
            .get_chain_id()
            .await
            .map_err(|e| Error::chain("reading the chain id from the Ethereum node", e))?;
        let contract = RaidenMicroTransferChannels::new(config.channel_manager, provider.clone());
        let token = contract.token().call().await.map_err(|e| {
            Error::chain("reading the token of the channel manager (is the contract address right?)", e)
        })?;
        let store = ChannelStore::load(&config.state_file, config.channel_manager, chain_id)?;
        Ok(Self {
            inner: Arc::new(Inner {
                domain: channel_manager_domain(chain_id, config.channel_manager),
                key: config.key,
                provider,
                channel_manager: config.channel_manager,
                token,
                chain_id,
                start_block: config.start_block,
                store: Mutex::new(store),
            }),
        })
    }

    /// The sender's address.
    pub fn address(&self) -> Address {
        self.inner.key.address()
    }

    /// The channel manager this client pays through.
    pub fn channel_manager(&self) -> Address {
        self.inner.channel_manager
    }

    /// The ERC20 token of the channel manager.
    pub fn token(&self) -> Address {
        self.inner.token
    }

    /// The node's chain id.
    pub fn chain_id(&self) -> u64 {
        self.inner.chain_id
    }

    /// The EIP-712 domain balance proofs are signed under.
    pub fn domain(&self) -> &Eip712Domain {
        &self.inner.domain
    }

    /// The node, with this sender's wallet.
    pub fn provider(&self) -> &DynProvider {
        &self.inner.provider
    }

    pub(crate) fn key(&self) -> &LocalSigningKey {
        &self.inner.key
    }

    pub(crate) fn contract(
        &self,
    ) -> RaidenMicroTransferChannels::RaidenMicroTransferChannelsInstance<DynProvider> {
        RaidenMicroTransferChannels::new(self.inner.channel_manager, self.inner.provider.clone())
    }

    pub(crate) fn token_contract(&self) -> CustomToken::CustomTokenInstance<DynProvider> {
        CustomToken::new(self.inner.token, self.inner.provider.clone())
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, ChannelStore> {
        // A panic while holding the lock cannot leave the store half-written (writes are
        // whole-file), so a poisoned lock is still usable.
        self.inner.store.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn record(&self, id: &ChannelId) -> Option<ChannelRecord> {
        self.store().get(id).cloned()
    }

    /// A handle to a channel this client knows.
    pub fn channel(&self, id: ChannelId) -> Option<Channel> {
        self.record(&id).map(|_| Channel::new(self.clone(), id))
    }

    /// Every channel this client knows, any state.
    pub fn channels(&self) -> Vec<Channel> {
        let ids: Vec<ChannelId> = self.store().channels().map(|record| record.id).collect();
        ids.into_iter().map(|id| Channel::new(self.clone(), id)).collect()
    }

    /// The open channels from this sender, to `receiver` when given.
    pub fn get_open_channels(&self, receiver: Option<Address>) -> Vec<Channel> {
        let me = self.address();
        let ids: Vec<ChannelId> = self
            .store()
            .channels()
            .filter(|r| r.state == ChannelState::Open && r.id.sender == me)
            .filter(|r| receiver.is_none_or(|receiver| r.id.receiver == receiver))
            .map(|r| r.id)
            .collect();
        ids.into_iter().map(|id| Channel::new(self.clone(), id)).collect()
    }

    /// The token balance of this sender's account.
    pub async fn token_balance(&self) -> Result<U256> {
        self.token_contract()
            .balanceOf(self.address())
            .call()
            .await
            .map_err(|e| Error::chain("reading the token balance", e))
    }

    /// Opens a channel to `receiver` with `deposit`: approves the deposit, creates the
    /// channel, and waits for the receipt (its block is the channel's open block).
    pub async fn open_channel(&self, receiver: Address, deposit: U192) -> Result<Channel> {
        if deposit.is_zero() {
            return Err(Error::ZeroAmount { what: "the deposit" });
        }
        let have = self.token_balance().await?;
        if have < U256::from(deposit) {
            return Err(Error::NotEnoughTokens {
                account: self.address(),
                have: have.to_string(),
                need: deposit,
            });
        }
        self.approve(deposit).await?;
        let receipt = crate::channel::mined(
            "createChannel",
            self.contract().createChannel(receiver, deposit).send().await,
        )
        .await?;
        let block =
            receipt.block_number.ok_or_else(|| Error::chain("createChannel", "receipt without a block"))?;
        let open_block =
            u32::try_from(block).map_err(|_| Error::chain("createChannel", "block above 2^32"))?;
        let id = ChannelId::new(self.address(), receiver, open_block);
        self.store().update(ChannelRecord::new(id, deposit))?;
        tracing::info!(%id, %deposit, "opened a channel");
        Ok(Channel::new(self.clone(), id))
    }

    /// Lets the channel manager take `amount` tokens (for a deposit or a top-up).
    pub(crate) async fn approve(&self, amount: U192) -> Result<()> {
        crate::channel::mined(
            "approving the deposit",
            self.token_contract().approve(self.inner.channel_manager, U256::from(amount)).send().await,
        )
        .await
        .map(drop)
    }

    /// A channel to `receiver` that can carry a transfer of `value`: an open channel with
    /// room for it; else an open channel topped up so that `topup_deposit(value)` remains
    /// (at least `value`); else a new channel with `initial_deposit(value)` (at least `value`).
    pub async fn get_suitable_channel(
        &self,
        receiver: Address,
        value: U192,
        initial_deposit: impl Fn(U192) -> U192,
        topup_deposit: impl Fn(U192) -> U192,
    ) -> Result<Channel> {
        let open = self.get_open_channels(Some(receiver));
        for channel in &open {
            let record = channel.snapshot();
            if record.balance.checked_add(value).is_some_and(|needed| needed <= record.deposit) {
                return Ok(channel.clone());
            }
        }
        // Top up the channel with the most balance: it is the one the receiver knows best.
        if let Some(channel) = open.iter().max_by_key(|channel| channel.snapshot().balance) {
            let record = channel.snapshot();
            let remaining = topup_deposit(value).max(value);
            let target = record.balance.saturating_add(remaining);
            channel.topup(target.saturating_sub(record.deposit)).await?;
            return Ok(channel.clone());
        }
        self.open_channel(receiver, initial_deposit(value).max(value)).await
    }

    /// Merges what the chain knows into the state file: every channel in this sender's name
    /// whose proofs this client's key signs (`ChannelCreated` logs) and its current deposit
    /// and closing state (`getChannelInfo`, which reflects every top-up, close request and
    /// settlement). Balance proofs cannot be recovered from the chain: a recovered channel
    /// starts at balance 0 until the receiver returns its last proof (see
    /// [`Channel::adopt_receiver_proof`]).
    ///
    /// A channel whose delegated signer is another key is skipped with a warning: whoever
    /// holds that key can spend what the channel holds, so paying from it or topping it up
    /// would fund them (someone may have opened it in this account's name, on a contract that
    /// allowed it, to be adopted and topped up).
    pub async fn sync_channels(&self) -> Result<()> {
        let filter = Filter::new()
            .address(self.inner.channel_manager)
            .event_signature(RaidenMicroTransferChannels::ChannelCreated::SIGNATURE_HASH)
            .topic1(self.address().into_word())
            .from_block(self.inner.start_block);
        let logs = self
            .inner
            .provider
            .get_logs(&filter)
            .await
            .map_err(|e| Error::chain("reading this sender's ChannelCreated events", e))?;
        let mut ids: Vec<ChannelId> = Vec::new();
        for log in logs {
            let block = log.block_number;
            let Ok(created) = log.log_decode::<RaidenMicroTransferChannels::ChannelCreated>() else {
                continue;
            };
            let Some(open_block) = block.and_then(|b| u32::try_from(b).ok()) else { continue };
            let id = ChannelId::new(created.inner.data.sender, created.inner.data.receiver, open_block);
            let signer = created.inner.data.signer;
            if signer != self.address() {
                tracing::warn!(
                    %id,
                    %signer,
                    "not adopting a channel in this account's name whose proofs another key signs \
                     (whoever holds it can spend what the channel holds): it is neither paid from nor \
                     topped up here; an uncooperative close from this account returns what its proofs \
                     did not pay"
                );
                continue;
            }
            ids.push(id);
        }
        // Channels only the file knows (e.g. before `start_block`) are checked too.
        ids.extend(self.store().channels().filter(|r| r.state != ChannelState::Closed).map(|r| r.id));
        ids.sort();
        ids.dedup();
        for id in ids {
            let on_chain = self.read_channel(&id).await?;
            let mut record = self.record(&id).unwrap_or_else(|| ChannelRecord::new(id, U192::ZERO));
            let before = record.clone();
            match on_chain {
                Some(info) => {
                    record.deposit = info.deposit;
                    if info.settle_block > 0 {
                        record.state = ChannelState::Settling;
                        record.settle_block = Some(info.settle_block);
                    }
                }
                None => record.state = ChannelState::Closed,
            }
            if record != before {
                self.store().update(record)?;
            }
        }
        Ok(())
    }

    /// The channel's on-chain state, `None` when the contract has no such channel (never
    /// opened, or settled).
    pub(crate) async fn read_channel(&self, id: &ChannelId) -> Result<Option<OnChainChannel>> {
        let contract = self.contract();
        let call = contract.getChannelInfo(id.sender, id.receiver, id.open_block_number);
        match call.call().await {
            Ok(info) => Ok(Some(OnChainChannel {
                deposit: info.deposit,
                settle_block: u64::from(info.settleBlockNumber),
            })),
            // getChannelInfo reverts for a missing channel; any other failure is the node's.
            Err(alloy::contract::Error::TransportError(e)) if e.as_error_resp().is_some() => Ok(None),
            Err(e) => Err(Error::chain("reading the channel from the contract", e)),
        }
    }

    /// The current block number.
    pub async fn block_number(&self) -> Result<u64> {
        self.inner.provider.get_block_number().await.map_err(|e| Error::chain("reading the block number", e))
    }
}

/// A channel as `getChannelInfo` reports it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OnChainChannel {
    pub deposit: U192,
    /// 0 while no close was requested.
    pub settle_block: u64,
}
