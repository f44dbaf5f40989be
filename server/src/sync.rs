//! Following the chain: the channel manager contract's events for this receiver, read with
//! `eth_getLogs` in bounded block ranges (filtered on the indexed receiver topic), counted
//! once they have enough confirmations.
//!
//! Each poll:
//! 1. checks that the block the store ends with is still on the chain (by hash); if not, a
//!    reorg went deeper than `confirmations` and is reported in the health;
//! 2. applies the events of newly confirmed blocks to the store *together with* the new sync
//!    head (one transaction), so a restart resumes exactly where the last commit ended;
//! 3. re-reads the unconfirmed window (the blocks above the confirmed tip) and replaces the
//!    manager's unconfirmed view with it: an event that a reorg dropped is simply gone, and
//!    its channel with it.
//!
//! An event counts once its block has `confirmations` blocks on top of the chain, its own
//! included: with 1, mined is enough.
//!
//! The module also runs the balance watcher: the receiver's ETH (can it pay for closes?) and
//! token balance, read in the background so that no request ever waits for the node.

use alloy::{
    eips::BlockNumberOrTag,
    providers::Provider,
    rpc::types::{Filter, Log},
    sol_types::SolEvent,
};
use tokio_util::sync::CancellationToken;
use uraiden_chain::contracts::{CustomToken, RaidenMicroTransferChannels as Channels};
use uraiden_protocol::{Address, ChannelId, ChannelKey, B256, U192};

use crate::{
    channels::{ChannelManager, ChannelManagerConfig},
    store::{BlockRef, ChannelRecord, ChannelState, CloseRequest},
};

/// A contract event about one of this receiver's channels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainEvent {
    pub sender: Address,
    pub open_block: u32,
    pub block_number: u64,
    pub block_hash: B256,
    pub log_index: u64,
    pub kind: ChainEventKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainEventKind {
    Created {
        deposit: U192,
        signer: Address,
    },
    ToppedUp {
        added: U192,
    },
    CloseRequested {
        balance: U192,
    },
    Settled {
        balance: U192,
        receiver_tokens: U192,
    },
    /// `amount` is this withdrawal's, not the cumulative total.
    Withdrawn {
        amount: U192,
    },
}

impl ChainEvent {
    pub fn channel_key(&self, receiver: Address) -> ChannelKey {
        ChannelId::new(self.sender, receiver, self.open_block).key()
    }

    /// Decodes one log of the channel manager; `None` for logs of other events.
    pub fn from_log(log: &Log) -> Option<Self> {
        let block_number = log.block_number?;
        let block_hash = log.block_hash?;
        let log_index = log.log_index.unwrap_or_default();
        let topic0 = *log.topic0()?;
        let (sender, open_block, kind) = if topic0 == Channels::ChannelCreated::SIGNATURE_HASH {
            let event = Channels::ChannelCreated::decode_log_data(log.data()).ok()?;
            // The open block is the block of the creation's log.
            let open_block = u32::try_from(block_number).ok()?;
            (
                event.sender,
                open_block,
                ChainEventKind::Created { deposit: event.deposit, signer: event.signer },
            )
        } else if topic0 == Channels::ChannelToppedUp::SIGNATURE_HASH {
            let event = Channels::ChannelToppedUp::decode_log_data(log.data()).ok()?;
            (event.sender, event.openBlockNumber, ChainEventKind::ToppedUp { added: event.addedDeposit })
        } else if topic0 == Channels::ChannelCloseRequested::SIGNATURE_HASH {
            let event = Channels::ChannelCloseRequested::decode_log_data(log.data()).ok()?;
            (event.sender, event.openBlockNumber, ChainEventKind::CloseRequested { balance: event.balance })
        } else if topic0 == Channels::ChannelSettled::SIGNATURE_HASH {
            let event = Channels::ChannelSettled::decode_log_data(log.data()).ok()?;
            let kind =
                ChainEventKind::Settled { balance: event.balance, receiver_tokens: event.receiverTokens };
            (event.sender, event.openBlockNumber, kind)
        } else if topic0 == Channels::ChannelWithdraw::SIGNATURE_HASH {
            let event = Channels::ChannelWithdraw::decode_log_data(log.data()).ok()?;
            (
                event.sender,
                event.openBlockNumber,
                ChainEventKind::Withdrawn { amount: event.withdrawnBalance },
            )
        } else {
            return None;
        };
        Some(Self { sender, open_block, block_number, block_hash, log_index, kind })
    }
}

/// The channel after `event`; `None` when the event is about a channel never seen created.
/// Pure, so the same rules serve the store and the unconfirmed view.
pub fn apply_event(
    current: Option<ChannelRecord>,
    event: &ChainEvent,
    receiver: Address,
    challenge_period: u64,
) -> Option<ChannelRecord> {
    let id = ChannelId::new(event.sender, receiver, event.open_block);
    let Some(mut channel) = current else {
        return match event.kind {
            ChainEventKind::Created { deposit, signer } => Some(ChannelRecord::opened(id, deposit, signer)),
            _ => None,
        };
    };
    match event.kind {
        // The contract refuses a second channel with the same key: a repeat is a re-read.
        ChainEventKind::Created { .. } => {}
        ChainEventKind::ToppedUp { added } => channel.deposit = channel.deposit.saturating_add(added),
        ChainEventKind::CloseRequested { balance } => {
            channel.close_request = Some(CloseRequest {
                settle_block: event.block_number.saturating_add(challenge_period),
                balance,
            });
            if channel.state != ChannelState::Settled {
                channel.state = ChannelState::Closing;
            }
        }
        ChainEventKind::Settled { balance, .. } => {
            channel.state = ChannelState::Settled;
            channel.settled_balance = Some(balance);
        }
        ChainEventKind::Withdrawn { amount } => channel.withdrawn = channel.withdrawn.saturating_add(amount),
    }
    Some(channel)
}

/// The events of the channel manager for `receiver` in `from..=to`, in chain order.
async fn fetch_events(
    provider: &impl Provider,
    contract: Address,
    receiver: Address,
    from: u64,
    to: u64,
) -> Result<Vec<ChainEvent>, String> {
    let filter = Filter::new()
        .address(contract)
        .event_signature(vec![
            Channels::ChannelCreated::SIGNATURE_HASH,
            Channels::ChannelToppedUp::SIGNATURE_HASH,
            Channels::ChannelCloseRequested::SIGNATURE_HASH,
            Channels::ChannelSettled::SIGNATURE_HASH,
            Channels::ChannelWithdraw::SIGNATURE_HASH,
        ])
        .topic2(receiver.into_word())
        .from_block(from)
        .to_block(to);
    let logs = provider.get_logs(&filter).await.map_err(|e| format!("eth_getLogs {from}..={to}: {e}"))?;
    let mut events: Vec<_> =
        logs.iter().filter(|log| !log.removed).filter_map(ChainEvent::from_log).collect();
    events.sort_by_key(|event| (event.block_number, event.log_index));
    Ok(events)
}

async fn block_ref(provider: &impl Provider, number: u64) -> Result<BlockRef, String> {
    let header = provider
        .get_header_by_number(BlockNumberOrTag::Number(number))
        .await
        .map_err(|e| format!("reading block {number}: {e}"))?
        .ok_or_else(|| format!("the node has no block {number}"))?;
    Ok(BlockRef { number, hash: header.hash })
}

/// The sync task: polls until cancelled. Errors are logged, reported in the health, and
/// retried at the next poll.
pub(crate) async fn follow_chain(
    manager: ChannelManager,
    config: ChannelManagerConfig,
    cancel: CancellationToken,
) {
    let mut interval = tokio::time::interval(config.poll_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = interval.tick() => {}
        }
        match poll_once(&manager, &config, &cancel).await {
            Ok(()) => {}
            Err(error) => {
                tracing::warn!(%error, "following the chain failed; retrying at the next poll");
                manager.update_health(|health| {
                    health.node_reachable = false;
                    health.last_error = Some(error);
                });
            }
        }
    }
}

/// One poll: see the module's documentation.
async fn poll_once(
    manager: &ChannelManager,
    config: &ChannelManagerConfig,
    cancel: &CancellationToken,
) -> Result<(), String> {
    let provider = &config.provider;
    let contract = manager.contract();
    let receiver = manager.receiver();
    let head = provider.get_block_number().await.map_err(|e| format!("eth_blockNumber: {e}"))?;
    // The highest block with `confirmations` blocks on top, its own included.
    let confirmed_tip = (head + 1).saturating_sub(manager.shared().confirmations);

    let mut last = match manager.sync_head() {
        Some(last) => {
            let now = block_ref(provider, last.number).await?;
            if now.hash != last.hash {
                // Confirmed events may have been undone: they are in the store and cannot be
                // taken back safely. Say so loudly and continue from the new chain.
                tracing::error!(
                    block = last.number,
                    stored = %last.hash,
                    now = %now.hash,
                    "a block the receiver had confirmed was replaced by a reorg; raise --confirmations"
                );
                manager.update_health(|health| health.reorg_beyond_confirmations = true);
                manager.commit_confirmed(Vec::new(), now).await.map_err(|e| e.to_string())?;
                now
            } else {
                last
            }
        }
        None => {
            // Never synced: start just before the configured block (block 0 holds no events).
            let before_start = config.start_block.saturating_sub(1).min(head);
            let anchor = block_ref(provider, before_start).await?;
            manager.commit_confirmed(Vec::new(), anchor).await.map_err(|e| e.to_string())?;
            anchor
        }
    };

    while last.number < confirmed_tip {
        if cancel.is_cancelled() {
            return Ok(());
        }
        let from = last.number + 1;
        let to = confirmed_tip.min(last.number + config.log_chunk_blocks);
        let events = fetch_events(provider, contract, receiver, from, to).await?;
        let end = block_ref(provider, to).await?;
        let changed = manager
            .commit_confirmed(events, end)
            .await
            .map_err(|e| format!("storing blocks {from}..={to}: {e}"))?;
        if !changed.is_empty() {
            tracing::info!(from, to, channels = changed.len(), "confirmed channel events applied");
        }
        last = end;
        manager.update_health(|health| {
            health.chain_head = head;
            health.confirmed_block = last.number;
            health.sync_lag_blocks = confirmed_tip - last.number;
        });
    }

    // The unconfirmed window, re-read in full each time.
    let mut unconfirmed = Vec::new();
    let mut from = last.number + 1;
    while from <= head {
        let to = head.min(from + config.log_chunk_blocks - 1);
        unconfirmed.extend(fetch_events(provider, contract, receiver, from, to).await?);
        from = to + 1;
    }
    manager.replace_unconfirmed(&unconfirmed, head);
    manager.update_health(|health| {
        health.node_reachable = true;
        health.chain_head = head;
        health.confirmed_block = last.number;
        health.sync_lag_blocks = 0;
        health.caught_up = true;
    });
    Ok(())
}

/// The balance watcher: the receiver's ETH and token balances, every
/// `balance_check_interval`.
pub(crate) async fn watch_balances(
    manager: ChannelManager,
    config: ChannelManagerConfig,
    cancel: CancellationToken,
) {
    let receiver = manager.receiver();
    let token = CustomToken::new(manager.token(), config.provider.clone());
    let mut interval = tokio::time::interval(config.balance_check_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = interval.tick() => {}
        }
        match config.provider.get_balance(receiver).await {
            Ok(eth) => {
                let low = eth < config.min_eth_balance;
                manager.update_health(|health| {
                    if low && !health.receiver_eth_low {
                        tracing::warn!(%eth, minimum = %config.min_eth_balance, "the receiver's ETH is low: closing channels may fail");
                    }
                    health.receiver_eth_low = low;
                    health.receiver_eth_balance = Some(eth);
                });
            }
            Err(error) => tracing::warn!(%error, "reading the receiver's ETH balance failed"),
        }
        if let Ok(tokens) = token.balanceOf(receiver).call().await {
            manager.update_health(|health| health.receiver_token_balance = Some(tokens));
        }
    }
}
