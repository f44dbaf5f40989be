//! Following the chain: the channel manager contract's events for this receiver, read with
//! `eth_getLogs` in bounded block ranges (filtered on the indexed receiver topic), counted
//! once they have enough confirmations.
//!
//! Each poll:
//! 1. checks that the block the confirmed state ends with (the sync head) is still on the
//!    node's chain, by hash; if not, a reorg replaced blocks the receiver had confirmed and
//!    it **reconciles** (below);
//! 2. reads the newly confirmed blocks in chunks, each checked to extend the sync head (the
//!    first block's parent hash) and to come from one chain (the last block's hash is the
//!    same before and after the logs are read; a mismatch of the parent is a fork, and it
//!    reconciles); a channel created in them is read once from the contract's state before it
//!    counts (`check_new_channels`); then applies the events to the store *together with*
//!    the new sync head (one transaction), so a restart resumes exactly where the last commit
//!    ended;
//! 3. re-reads the unconfirmed window (the blocks above the confirmed tip) and replaces the
//!    manager's unconfirmed view with it: an event that a reorg dropped is simply gone, and
//!    its channel with it.
//!
//! Reconciling: the store keeps the hashes of the last [`KEPT_BLOCKS`] blocks it applied and,
//! per block, each changed channel's chain fields from before it. The newest kept block the
//! node still has is the fork point; everything applied after it is rolled back in one
//! transaction (channels created after it leave the chain but keep their accepted proofs,
//! which count again if the same creation is mined again at the same height), the receiver's
//! transactions for the changed channels count as not sent (their duties are due again, see
//! `duties.rs`), and the sync reads on from there. From the detection until the new blocks are read, payments are
//! refused as unavailable (a 502). A reorg deeper than the kept history cannot be located:
//! every channel leaves the chain (proofs kept) and the whole history is read again from the
//! start block. Either is logged as an error and shown in the health: the payments accepted
//! on a channel that vanished are lost, and only more confirmations prevent that.
//!
//! An event counts once its block has `confirmations` blocks on top of the chain, its own
//! included: with 1, mined is enough, and a reorg of depth `confirmations` or more replaces
//! confirmed blocks.
//!
//! With a database several instances share, only the leader (the lease holder, see
//! `store/lease.rs`) polls the chain; every instance, the leader too, first reads what the
//! others wrote since its last reading (payments, and the leader's chain changes), and a
//! follower checks only that its node answers.
//!
//! The module also runs the balance watcher: the receiver's ETH (can it pay for closes?) and
//! token balance, read in the background so that no request ever waits for the node.

use std::collections::HashMap;

use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    providers::Provider,
    rpc::types::{Filter, Log},
    sol_types::SolEvent,
};
use tokio_util::sync::CancellationToken;
use uraiden_chain::contracts::{CustomToken, RaidenMicroTransferChannels as Channels};
use uraiden_protocol::{Address, B256, U192};

use super::duties::OnChainDuties;
use crate::{
    channels::{ChainEvent, ChainEventKind, ChannelManager, ChannelManagerConfig},
    store::{BlockRef, ChangeCursor, StoreError, KEPT_BLOCKS},
};

/// Decodes one log of the channel manager; `None` for logs of other events.
fn event_from_log(log: &Log) -> Option<ChainEvent> {
    let block_number = log.block_number?;
    let block_hash = log.block_hash?;
    let log_index = log.log_index.unwrap_or_default();
    let topic0 = *log.topic0()?;
    let (sender, open_block, kind) = if topic0 == Channels::ChannelCreated::SIGNATURE_HASH {
        let event = Channels::ChannelCreated::decode_log_data(log.data()).ok()?;
        // The open block is the block of the creation's log.
        let open_block = u32::try_from(block_number).ok()?;
        (event.sender, open_block, ChainEventKind::Created { deposit: event.deposit, signer: event.signer })
    } else if topic0 == Channels::ChannelToppedUp::SIGNATURE_HASH {
        let event = Channels::ChannelToppedUp::decode_log_data(log.data()).ok()?;
        (event.sender, event.openBlockNumber, ChainEventKind::ToppedUp { added: event.addedDeposit })
    } else if topic0 == Channels::ChannelCloseRequested::SIGNATURE_HASH {
        let event = Channels::ChannelCloseRequested::decode_log_data(log.data()).ok()?;
        (event.sender, event.openBlockNumber, ChainEventKind::CloseRequested { balance: event.balance })
    } else if topic0 == Channels::ChannelSettled::SIGNATURE_HASH {
        let event = Channels::ChannelSettled::decode_log_data(log.data()).ok()?;
        let kind = ChainEventKind::Settled { balance: event.balance, receiver_tokens: event.receiverTokens };
        (event.sender, event.openBlockNumber, kind)
    } else if topic0 == Channels::ChannelWithdraw::SIGNATURE_HASH {
        let event = Channels::ChannelWithdraw::decode_log_data(log.data()).ok()?;
        (event.sender, event.openBlockNumber, ChainEventKind::Withdrawn { amount: event.withdrawnBalance })
    } else {
        return None;
    };
    Some(ChainEvent { sender, open_block, block_number, block_hash, log_index, kind })
}

/// The events of the channel manager for `receiver` in `from..=to`, in chain order.
async fn fetch_events(
    provider: &impl Provider,
    contract: Address,
    receiver: Address,
    from: u64,
    to: u64,
) -> Result<Vec<ChainEvent>, SyncError> {
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
    let logs = provider
        .get_logs(&filter)
        .await
        .map_err(|e| SyncError::Node(format!("eth_getLogs {from}..={to}: {e}")))?;
    let mut events: Vec<_> = logs.iter().filter(|log| !log.removed).filter_map(event_from_log).collect();
    events.sort_by_key(|event| (event.block_number, event.log_index));
    Ok(events)
}

/// The hash and parent hash of block `number`; `None` when the node has no such block (its
/// chain is shorter now).
async fn header(provider: &impl Provider, number: u64) -> Result<Option<(B256, B256)>, SyncError> {
    let header = provider
        .get_header_by_number(BlockNumberOrTag::Number(number))
        .await
        .map_err(|e| SyncError::Node(format!("reading block {number}: {e}")))?;
    Ok(header.map(|header| (header.hash, header.parent_hash)))
}

async fn block_ref(provider: &impl Provider, number: u64) -> Result<BlockRef, SyncError> {
    let (hash, _) = header(provider, number)
        .await?
        .ok_or_else(|| SyncError::Node(format!("the node has no block {number}")))?;
    Ok(BlockRef { number, hash })
}

/// Whether the node's chain still has `block` (same hash at the same height).
async fn is_canonical(provider: &impl Provider, block: BlockRef) -> Result<bool, SyncError> {
    Ok(header(provider, block.number).await?.is_some_and(|(hash, _)| hash == block.hash))
}

/// Why a poll stopped; the next poll starts over from the store's sync head.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SyncError {
    /// The node failed or did not answer.
    #[error("{0}")]
    Node(String),
    /// What the node said did not add up (the chain changed while it was read, or a new
    /// channel's deposit on chain is not what its events say): nothing of it was applied; it
    /// is read again at the next poll, and payments wait until then.
    #[error("{0}")]
    Inconsistent(String),
    #[error("the state file failed: {0}")]
    Store(#[from] StoreError),
}

/// The block the sync starts after on a new state file (block 0 holds no events).
fn start_anchor(config: &ChannelManagerConfig, head: u64) -> u64 {
    config.start_block.saturating_sub(1).min(head)
}

/// The sync task: polls until cancelled. Errors are logged, reported in the health, and
/// retried at the next poll.
pub(crate) async fn follow_chain(
    duties: OnChainDuties,
    config: ChannelManagerConfig,
    cancel: CancellationToken,
) {
    let manager = duties.manager();
    let mut interval = tokio::time::interval(config.poll_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // With a shared database: whether this instance led at the last tick, and where its
    // reading of the others' writes resumes.
    let mut led = false;
    let mut read_from = ChangeCursor::START;
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = interval.tick() => {}
        }
        if manager.is_shared() {
            // Every instance reads what the others wrote (payments, and the leader's chain
            // changes); a new leader reads it all once, then follows the chain from the sync
            // head the last leader left.
            let leading = manager.is_leader();
            let from = if leading && !led { ChangeCursor::START } else { read_from };
            match manager.refresh_from_store(from, !leading).await {
                Ok(next) => read_from = next,
                Err(error) => {
                    tracing::warn!(%error, "reading the shared database failed; retrying at the next poll");
                    continue;
                }
            }
            led = leading;
            if !leading {
                check_node_as_follower(manager, &config).await;
                continue;
            }
        }
        match poll_once(&duties, &config, &cancel).await {
            Ok(()) => {}
            Err(SyncError::Inconsistent(error)) => {
                tracing::warn!(%error, "the chain did not add up; reading it again at the next poll");
                manager.set_reconciling(true);
                manager.update_health(|health| health.last_error = Some(error));
            }
            Err(error) => {
                tracing::warn!(%error, "following the chain failed; retrying at the next poll");
                manager.update_health(|health| {
                    health.node_reachable = false;
                    health.last_error = Some(error.to_string());
                });
            }
        }
    }
}

/// A follower reads nothing from the chain but still reports the node's health (an instance
/// whose node is down answers 502, as a leader would): the head, and how far the leader's
/// confirmed sync head is behind it.
async fn check_node_as_follower(manager: &ChannelManager, config: &ChannelManagerConfig) {
    match config.provider.get_block_number().await {
        Ok(head) => {
            let confirmed = manager.sync_head().map(|block| block.number);
            let confirmed_tip = (head + 1).saturating_sub(manager.shared().confirmations);
            manager.update_health(|health| {
                health.node_reachable = true;
                health.chain_head = head;
                health.confirmed_block = confirmed.unwrap_or_default();
                health.sync_lag_blocks = confirmed.map_or(head, |block| confirmed_tip.saturating_sub(block));
                health.caught_up = confirmed.is_some();
            });
        }
        Err(error) => manager.update_health(|health| {
            health.node_reachable = false;
            health.last_error = Some(format!("eth_blockNumber: {error}"));
        }),
    }
}

/// One poll: see the module's documentation.
async fn poll_once(
    duties: &OnChainDuties,
    config: &ChannelManagerConfig,
    cancel: &CancellationToken,
) -> Result<(), SyncError> {
    let manager = duties.manager();
    let provider = &config.provider;
    let contract = manager.contract();
    let receiver = manager.receiver();
    let head =
        provider.get_block_number().await.map_err(|e| SyncError::Node(format!("eth_blockNumber: {e}")))?;
    // The highest block with `confirmations` blocks on top, its own included.
    let confirmed_tip = (head + 1).saturating_sub(manager.shared().confirmations);

    let mut last = match manager.sync_head() {
        Some(last) => last,
        None => {
            // Never synced: start just before the configured block.
            let anchor = block_ref(provider, start_anchor(config, head)).await?;
            manager.commit_confirmed(Vec::new(), anchor).await?;
            anchor
        }
    };
    if !is_canonical(provider, last).await? {
        last = reconcile(duties, config, head, last).await?;
    }

    while last.number < confirmed_tip {
        if cancel.is_cancelled() {
            return Ok(());
        }
        let to = confirmed_tip.min(last.number + config.log_chunk_blocks);
        match read_confirmed(manager, config, head, last, to).await? {
            Confirmed::Blocks { events, end } => {
                let changed = manager.commit_confirmed(events, end).await?;
                if !changed.is_empty() {
                    tracing::info!(
                        from = last.number + 1,
                        to,
                        channels = changed.len(),
                        "confirmed channel events applied"
                    );
                }
                last = end;
            }
            Confirmed::Forked => {
                let fork = reconcile(duties, config, head, last).await?;
                if fork == last {
                    // The applied blocks stand, but the chain above them changed (it may even
                    // be shorter than `head` now): start over at the next poll.
                    return Err(SyncError::Inconsistent(format!(
                        "the chain above block {} changed while it was read",
                        last.number
                    )));
                }
                last = fork;
            }
        }
        manager.update_health(|health| {
            health.chain_head = head;
            health.confirmed_block = last.number;
            health.sync_lag_blocks = confirmed_tip.saturating_sub(last.number);
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

/// Newly confirmed blocks, as read by [`read_confirmed`].
enum Confirmed {
    /// The events of the blocks after the sync head up to `end`, on a chain that extends it.
    Blocks { events: Vec<ChainEvent>, end: BlockRef },
    /// The node's chain no longer extends the sync head.
    Forked,
}

/// The events of the blocks after `last` up to `to`, checked to come from one chain that
/// extends `last`: block `to` has the same hash before and after the logs are read (its hash
/// covers every block below it), and the first block's parent, read in between, is `last`.
/// A channel created in these blocks is then checked against the contract's state
/// ([`check_new_channels`]) before it can become usable.
async fn read_confirmed(
    manager: &ChannelManager,
    config: &ChannelManagerConfig,
    head: u64,
    last: BlockRef,
    to: u64,
) -> Result<Confirmed, SyncError> {
    let provider = &config.provider;
    let from = last.number + 1;
    let Some((end, _)) = header(provider, to).await? else { return Ok(Confirmed::Forked) };
    let events = fetch_events(provider, manager.contract(), manager.receiver(), from, to).await?;
    let Some((first, parent)) = header(provider, from).await? else { return Ok(Confirmed::Forked) };
    if parent != last.hash {
        return Ok(Confirmed::Forked);
    }
    let end_now = if from == to { Some((first, parent)) } else { header(provider, to).await? };
    if end_now.map(|(hash, _)| hash) != Some(end) {
        return Err(SyncError::Inconsistent(format!(
            "block {to} changed while blocks {from}..={to} were read"
        )));
    }
    check_new_channels(manager, config, head, &events, to).await?;
    Ok(Confirmed::Blocks { events, end: BlockRef { number: to, hash: end } })
}

/// How far below the head a block's state is read to check new channels: every full node
/// keeps the state of at least this many recent blocks (geth keeps 128). Older creations are
/// not checked: no reorg reaches them in practice.
const CHECK_WITHIN_BLOCKS: u64 = 64;

/// Reads each channel created in `events` (unless settled in them as well) once from the
/// contract, at block `to`, and refuses the blocks unless the deposit there is what the events
/// add up to: a channel only becomes usable once the chain's state agrees with the logs the
/// receiver read.
async fn check_new_channels(
    manager: &ChannelManager,
    config: &ChannelManagerConfig,
    head: u64,
    events: &[ChainEvent],
    to: u64,
) -> Result<(), SyncError> {
    if head.saturating_sub(to) >= CHECK_WITHIN_BLOCKS {
        return Ok(());
    }
    // Deposits of the channels created in these blocks; `None` once settled in them too.
    let mut created: HashMap<(Address, u32), Option<U192>> = HashMap::new();
    for event in events {
        let id = (event.sender, event.open_block);
        match event.kind {
            ChainEventKind::Created { deposit, .. } => {
                created.insert(id, Some(deposit));
            }
            ChainEventKind::ToppedUp { added } => {
                if let Some(Some(deposit)) = created.get_mut(&id) {
                    *deposit = deposit.saturating_add(added);
                }
            }
            ChainEventKind::Settled { .. } => {
                if let Some(deposit) = created.get_mut(&id) {
                    *deposit = None;
                }
            }
            _ => {}
        }
    }
    let contract = Channels::new(manager.contract(), &config.provider);
    for ((sender, open_block), deposit) in created {
        let Some(deposit) = deposit else { continue };
        let channel = format!("channel of {sender} opened in block {open_block}");
        let on_chain = match contract
            .getChannelInfo(sender, manager.receiver(), open_block)
            .call()
            .block(BlockId::number(to))
            .await
        {
            Ok(info) => info.deposit,
            Err(error) if error.as_revert_data().is_some() => {
                return Err(SyncError::Inconsistent(format!(
                    "the {channel} is not in the contract's state at block {to}"
                )))
            }
            Err(error) => return Err(SyncError::Node(format!("reading the {channel}: {error}"))),
        };
        if on_chain != deposit {
            return Err(SyncError::Inconsistent(format!(
                "the {channel} has a deposit of {on_chain} at block {to}, but its events add up to {deposit}"
            )));
        }
    }
    Ok(())
}

/// A fork: finds the newest block the confirmed state is built on that the node's chain still
/// has (the fork point), rolls back what was applied after it, and returns it; the caller
/// reads the new blocks from there. Payments are refused from here until they are read. If
/// no kept block is on the node's chain any more, the whole history is read again.
async fn reconcile(
    duties: &OnChainDuties,
    config: &ChannelManagerConfig,
    head: u64,
    last: BlockRef,
) -> Result<BlockRef, SyncError> {
    let manager = duties.manager();
    manager.set_reconciling(true);
    let provider = &config.provider;
    let mut fork = None;
    for kept in manager.block_history().await? {
        if is_canonical(provider, kept).await? {
            fork = Some(kept);
            break;
        }
    }
    let Some(fork) = fork else {
        let anchor = block_ref(provider, start_anchor(config, head)).await?;
        let channels = manager.forget_chain(anchor).await?;
        duties.forget_attempts(&channels);
        tracing::error!(
            applied_up_to = last.number,
            kept_blocks = KEPT_BLOCKS,
            channels = channels.len(),
            "a reorg went deeper than the block history the receiver keeps: re-reading the contract's \
             events from --start-block; payments accepted on channels that vanish are lost"
        );
        manager.update_health(|health| {
            health.reorg_beyond_confirmations = true;
            health.reorg_beyond_history = true;
            health.last_error = Some(format!(
                "a reorg replaced blocks up to {} beyond the {KEPT_BLOCKS} kept: re-reading from the start block",
                last.number
            ));
        });
        return Ok(anchor);
    };
    if fork == last {
        // The blocks above the sync head changed, not the ones applied.
        return Ok(last);
    }
    let channels = manager.roll_back_to(fork).await?;
    // A close or withdrawal sent for them may have been in the replaced blocks.
    duties.forget_attempts(&channels);
    tracing::error!(
        fork = fork.number,
        replaced_blocks = last.number - fork.number,
        channels = channels.len(),
        "a reorg replaced blocks the receiver had confirmed: rolled back to the fork and re-reading; \
         payments accepted on channels that vanish are lost (raise --confirmations)"
    );
    manager.update_health(|health| {
        health.reorg_beyond_confirmations = true;
        health.last_error = Some(format!(
            "a reorg replaced confirmed blocks {}..={}: rolled back and re-read",
            fork.number + 1,
            last.number
        ));
    });
    Ok(fork)
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
