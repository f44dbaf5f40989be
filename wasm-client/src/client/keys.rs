//! Every channel's key kept: the account's channels with a receiver are stored one by one
//! (see [`ChannelStore`]), a second `openChannel` refuses unless asked to replace, and the
//! session key of a channel being opened is stored before its transaction is sent, then
//! matched to the `ChannelCreated` event that names it as signer.
//!
//! Exports: `storedChannels`, `pendingChannels`, `waitForPendingChannel`.

use alloy_primitives::{Address, Bytes};
use js_sys::{Array, Promise};
use uraiden_protocol::{ChannelId, LocalSigningKey, U192};
use wasm_bindgen::prelude::*;

use super::{channel_to_js, promise, Inner, MicroRaiden};
use crate::{
    abi,
    amount::Amount,
    channel::{newest_first, ChannelState},
    error::{ErrorKind, Result, UraidenError},
    hex::{optional_address_param, HexAddress, JsAddress},
    provider::{sleep, Receipt, Transaction},
    results,
    storage::PendingChannel,
    to_js::ToJs,
};

/// Refuses to top up a channel whose signer is a key this browser does not hold: whoever
/// holds it can sign the new deposit away, and nothing here can tell a lost key from a stolen one.
pub(super) fn refuse_top_up_of_lost_key(channel: &ChannelState) -> Result<()> {
    if !channel.signer_key_lost() {
        return Ok(());
    }
    Err(UraidenError::new(
        ErrorKind::NoChannel,
        format!(
            "the channel opened in block {} is signed for by {}, a session key this browser no longer \
             holds, so it is not topped up (whoever holds that key could spend the new deposit); pay \
             what is left with the wallet, then close it and open a new channel",
            channel.id.open_block_number,
            channel.signer()
        ),
    ))
}

fn parse_receiver(receiver: Option<JsAddress>) -> Result<Option<Address>> {
    optional_address_param("receiver", receiver)
}

impl Inner {
    /// The stored channel opened in `open_block_number`, else the newest one still open on
    /// chain, made current; `null` when none is stored. Openings mined meanwhile are stored first.
    pub(super) async fn load_stored(
        &self,
        receiver: Option<Address>,
        open_block_number: Option<u32>,
    ) -> Result<JsValue> {
        let receiver = self.receiver_or_default(receiver)?;
        let sender = self.account().await?;
        let store = self.store(sender, receiver);
        let channel = match open_block_number {
            Some(block) => store.load(block)?,
            None => {
                if !store.pending()?.is_empty() {
                    // Not finding the event now (a wallet on another chain, a node error) keeps
                    // the opening pending; it never loses it.
                    let _ = self.resolve_pending(sender, receiver).await;
                }
                self.newest_open(store.channels()?).await
            }
        };
        Ok(match channel {
            Some(channel) => {
                let js = channel_to_js(&channel);
                *self.channel.borrow_mut() = Some(channel);
                js
            }
            None => JsValue::NULL,
        })
    }

    /// Of `channels` (newest first), the newest still open on chain; the newest when none is,
    /// or when the chain cannot be asked (a wallet on another chain): one channel needs no question.
    async fn newest_open(&self, channels: Vec<ChannelState>) -> Option<ChannelState> {
        if channels.len() > 1 && self.provider.chain_id().await.ok() == Some(self.chain_id) {
            for channel in &channels {
                if self.is_open_on_chain(channel).await == Some(true) {
                    return Some(channel.clone());
                }
            }
        }
        channels.into_iter().next()
    }

    /// Whether the contract says `channel` is open (no close requested); `None` when it cannot be asked.
    async fn is_open_on_chain(&self, channel: &ChannelState) -> Option<bool> {
        let info = self.on_chain_channel(&channel.id).await.ok()?;
        Some(info.is_some_and(|info| info.settle_block_number == 0))
    }

    /// Stores each channel being opened whose `ChannelCreated` event (the one naming its session
    /// key as signer) is mined as a channel, with its key; returns the openings still pending.
    pub(super) async fn resolve_pending(
        &self,
        sender: Address,
        receiver: Address,
    ) -> Result<Vec<PendingChannel>> {
        let store = self.store(sender, receiver);
        let pending = store.pending()?;
        let Some(from_block) = pending.iter().map(|p| p.from_block).min() else { return Ok(pending) };
        let topics = abi::channel_created_topics(sender, receiver);
        let logs = self.provider.logs(self.contract, &topics, from_block).await?;
        let mut still_pending = Vec::new();
        for opening in pending {
            let created = logs.iter().find_map(|log| {
                let (deposit, signer) = abi::decode_channel_created(&log.data).ok()?;
                (signer == opening.signer()).then_some((log.block_number, deposit))
            });
            let Some((block, deposit)) = created else {
                still_pending.push(opening);
                continue;
            };
            let open_block_number = u32::try_from(block).map_err(|_| {
                UraidenError::new(
                    ErrorKind::InvalidResponse,
                    format!("a channel opened in block {block}, above uint32"),
                )
            })?;
            match store.load(open_block_number)? {
                // Another tab stored it already, perhaps with payments since.
                Some(stored) if stored.session_key.is_some() => {}
                // Recovered from the chain meanwhile as wallet-signed: give it its key back.
                Some(stored) if stored.signer() == opening.signer() => {
                    store.save(&ChannelState { session_key: Some(opening.session_key.clone()), ..stored })?;
                }
                _ => store.save(&opening.opened(sender, open_block_number, deposit))?,
            }
            store.remove_pending(opening.signer())?;
        }
        Ok(still_pending)
    }

    /// Throws `ChannelAlreadyOpen` when the account has a channel with `receiver` that is
    /// stored and open on chain, or one being opened: opening another must be asked for.
    pub(super) async fn refuse_second_channel(&self, sender: Address, receiver: Address) -> Result<()> {
        self.ensure_chain().await?;
        let pending = self.resolve_pending(sender, receiver).await?;
        let refuse = |what: String| {
            Err(UraidenError::new(
                ErrorKind::ChannelAlreadyOpen,
                format!(
                    "{what}; nothing was sent. Use it (loadStoredChannel()), or pass replace: true to open \
                     another channel (every channel stays stored with its key)"
                ),
            ))
        };
        if let Some(opening) = pending.first() {
            return refuse(format!(
                "a channel from {sender} to {receiver} is being opened (session key {}); \
                 waitForPendingChannel() continues it",
                opening.signer()
            ));
        }
        // Stored channels, and the chain's: storage may have been cleared, and a second
        // channel would leave the first one's deposit out of this library's reach.
        let stored: Vec<u32> = self
            .store(sender, receiver)
            .channels()?
            .iter()
            .map(|channel| channel.id.open_block_number)
            .collect();
        let topics = abi::channel_created_topics(sender, receiver);
        let mut blocks = self.provider.log_blocks(self.contract, &topics, 0).await?;
        blocks.extend(stored.iter().map(|block| u64::from(*block)));
        for open_block_number in newest_first(blocks)? {
            let id = ChannelId::new(sender, receiver, open_block_number);
            let open = self.on_chain_channel(&id).await?.is_some_and(|info| info.settle_block_number == 0);
            if open {
                let unknown_here = if stored.contains(&open_block_number) {
                    ""
                } else {
                    " (this browser holds no record of it: loadChannelFromBlockchain() recovers it)"
                };
                return refuse(format!(
                    "the channel from {sender} to {receiver} opened in block {open_block_number} is still open{unknown_here}"
                ));
            }
        }
        Ok(())
    }

    /// Sends an opening transaction and waits until it is mined. With a session key, the key is
    /// stored as pending first (and the transaction's hash once known), so a reload or a closed
    /// tab meanwhile keeps it; it is removed only when the wallet did not send the transaction
    /// or it reverted. The caller stores the channel and removes the pending entry.
    pub(super) async fn send_opening(
        &self,
        receiver: Address,
        deposit: U192,
        session_key: Option<&LocalSigningKey>,
        to: Address,
        data: Bytes,
    ) -> Result<Receipt> {
        self.ensure_chain().await?;
        let from = self.account().await?;
        let store = self.store(from, receiver);
        let mut pending = match session_key {
            Some(key) => {
                let opening = PendingChannel {
                    receiver,
                    session_key: key.clone(),
                    deposit,
                    since_ms: now_ms(),
                    from_block: self.provider.block_number().await?,
                    transaction_hash: None,
                };
                store.save_pending(&opening)?;
                Some(opening)
            }
            None => None,
        };
        let forget_pending = |pending: &Option<PendingChannel>| match pending {
            Some(opening) => store.remove_pending(opening.signer()),
            None => Ok(()),
        };
        let hash = match self.provider.send_transaction(&Transaction { from, to, data, value: None }).await {
            Ok(hash) => hash,
            Err(error) => {
                // Only a rejection proves nothing was sent. A wallet may broadcast and still
                // answer with an error (an expired remote session, an internal error): the key
                // stays pending then, and turns stale if no channel ever appears.
                if error.kind() == ErrorKind::UserRejected {
                    forget_pending(&pending)?;
                }
                return Err(error);
            }
        };
        if let Some(opening) = &mut pending {
            opening.transaction_hash = Some(hash);
            store.save_pending(opening)?;
        }
        match self
            .provider
            .wait_for_receipt(hash, self.confirmations, self.poll_interval_ms, self.receipt_timeout_ms)
            .await
        {
            Ok(receipt) => Ok(receipt),
            Err(error) if error.kind() == ErrorKind::TransactionFailed => {
                forget_pending(&pending)?;
                Err(error)
            }
            Err(error) if pending.is_some() => {
                let message = format!(
                    "{}; the channel's session key is kept: pendingChannels() lists it and \
                     waitForPendingChannel() continues once it is mined",
                    error.message()
                );
                Err(error.with_message(message))
            }
            Err(error) => Err(error),
        }
    }

    async fn pending_channels(&self, receiver: Option<Address>) -> Result<JsValue> {
        let receiver = self.receiver_or_default(receiver)?;
        let sender = self.account().await?;
        let now = now_ms();
        let stale_after = u64::from(self.receipt_timeout_ms);
        let pending = self.resolve_pending(sender, receiver).await?;
        pending
            .iter()
            .map(|opening| {
                Ok(results::PendingChannel {
                    receiver: HexAddress(opening.receiver),
                    signer: HexAddress(opening.signer()),
                    deposit: Amount(opening.deposit),
                    since: opening.since_ms,
                    transaction_hash: opening.transaction_hash,
                    stale: now.saturating_sub(opening.since_ms) > stale_after,
                }
                .to_js())
            })
            .collect::<Result<Array>>()
            .map(JsValue::from)
    }

    /// Waits (up to `receiptTimeoutMs`) until one of the channels being opened is mined, then
    /// makes it current.
    async fn wait_for_pending_channel(&self, receiver: Option<Address>) -> Result<JsValue> {
        let receiver = self.receiver_or_default(receiver)?;
        let sender = self.account().await?;
        let store = self.store(sender, receiver);
        let waiting: Vec<Address> = store.pending()?.iter().map(PendingChannel::signer).collect();
        if waiting.is_empty() {
            return Err(UraidenError::new(
                ErrorKind::NoChannel,
                format!("no channel from {sender} to {receiver} is being opened; loadStoredChannel() loads a stored one"),
            ));
        }
        let deadline = js_sys::Date::now() + f64::from(self.receipt_timeout_ms);
        loop {
            let still: Vec<Address> =
                self.resolve_pending(sender, receiver).await?.iter().map(PendingChannel::signer).collect();
            let opened = store
                .channels()?
                .into_iter()
                .find(|channel| waiting.contains(&channel.signer()) && !still.contains(&channel.signer()));
            if let Some(channel) = opened {
                let js = channel_to_js(&channel);
                *self.channel.borrow_mut() = Some(channel);
                return Ok(js);
            }
            if js_sys::Date::now() >= deadline {
                return Err(UraidenError::new(
                    ErrorKind::Timeout,
                    format!(
                        "no ChannelCreated event named the session key of the channel being opened within {} s; \
                         the key is kept (pendingChannels() lists it)",
                        self.receipt_timeout_ms / 1000
                    ),
                ));
            }
            sleep(self.poll_interval_ms).await;
        }
    }

    async fn stored_channels(&self, receiver: Option<Address>) -> Result<JsValue> {
        let receiver = self.receiver_or_default(receiver)?;
        let sender = self.account().await?;
        let channels = self.store(sender, receiver).channels()?;
        Ok(channels.iter().map(channel_to_js).collect::<Array>().into())
    }
}

/// This browser's clock, in Unix milliseconds.
fn now_ms() -> u64 {
    // Positive and far below 2^53.
    js_sys::Date::now() as u64
}

#[wasm_bindgen]
impl MicroRaiden {
    /// Every channel stored for the account with `receiver` (default: the one given to
    /// `create`), newest first, each with its session key kept until it is closed and forgotten.
    #[wasm_bindgen(js_name = storedChannels, unchecked_return_type = "Promise<Channel[]>")]
    pub fn stored_channels(&self, receiver: Option<JsAddress>) -> Promise {
        let inner = self.inner.clone();
        promise(async move { inner.stored_channels(parse_receiver(receiver)?).await })
    }

    /// The channels with `receiver` being opened: their session key is stored, their
    /// `ChannelCreated` event not seen yet (one that is mined meanwhile becomes a stored channel
    /// and is not listed). A page reloaded while opening says "a channel is being opened" and
    /// calls `waitForPendingChannel()`.
    #[wasm_bindgen(js_name = pendingChannels, unchecked_return_type = "Promise<PendingChannel[]>")]
    pub fn pending_channels(&self, receiver: Option<JsAddress>) -> Promise {
        let inner = self.inner.clone();
        promise(async move { inner.pending_channels(parse_receiver(receiver)?).await })
    }

    /// Waits until a channel being opened with `receiver` is mined (up to `receiptTimeoutMs`,
    /// polling every `pollIntervalMs`), stores it with its session key and makes it current.
    #[wasm_bindgen(js_name = waitForPendingChannel, unchecked_return_type = "Promise<Channel>")]
    pub fn wait_for_pending_channel(&self, receiver: Option<JsAddress>) -> Promise {
        let inner = self.inner.clone();
        promise(async move { inner.wait_for_pending_channel(parse_receiver(receiver)?).await })
    }
}
