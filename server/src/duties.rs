//! The receiver's on-chain duties, run in the background.
//!
//! When a sender requests an uncooperative close, the receiver answers during the challenge
//! period with `cooperativeClose` and its last accepted proof (plus its own closing
//! signature):
//! - if the sender claimed less than that proof, this is the dispute that gets the receiver
//!   its full due;
//! - if the sender claimed exactly that, it settles the channel now instead of after the
//!   challenge period (the seed never settled honest closes).
//!
//! A sender who claims *more* than the receiver can prove is left to settle: a
//! `cooperativeClose` with the receiver's lower proof would only cost the receiver tokens.
//! A close that fails (typically no ETH for gas) marks the channel `close_pending` and is
//! retried later; the confirmed `ChannelSettled` event ends the duty.

use std::{collections::HashMap, time::Instant};

use alloy::primitives::Bytes;
use tokio_util::sync::CancellationToken;
use uraiden_chain::contracts::RaidenMicroTransferChannels;
use uraiden_protocol::ChannelKey;

use crate::{
    channels::{ChannelManager, ChannelManagerConfig},
    store::{ChannelRecord, ChannelState},
};

/// Polls between two attempts to close the same channel after a failure.
const RETRY_AFTER_POLLS: u32 = 10;

/// The duties task: runs until cancelled.
pub(crate) async fn run(manager: ChannelManager, config: ChannelManagerConfig, cancel: CancellationToken) {
    let contract = RaidenMicroTransferChannels::new(manager.contract(), config.provider.clone());
    // Channels whose close was sent (waiting for the settlement to be confirmed), or failed
    // (waiting for the retry): when.
    let mut attempted: HashMap<ChannelKey, (Instant, bool)> = HashMap::new();
    let retry_after = config.poll_interval * RETRY_AFTER_POLLS;
    let mut interval = tokio::time::interval(config.poll_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = interval.tick() => {}
        }
        let closing = manager.channels_in(&[ChannelState::Closing, ChannelState::ClosePending]);
        attempted.retain(|key, _| closing.iter().any(|channel| channel.key() == *key));
        for channel in closing {
            if cancel.is_cancelled() {
                return;
            }
            let Some(proof_signature) = worth_closing(&channel) else { continue };
            let key = channel.key();
            if let Some((when, succeeded)) = attempted.get(&key) {
                if *succeeded || when.elapsed() < retry_after {
                    continue;
                }
            }
            let closing_signature = match manager.sign_closing_proof(channel.id, channel.balance) {
                Ok(signature) => signature,
                Err(error) => {
                    tracing::error!(%error, "signing a closing proof failed");
                    continue;
                }
            };
            let call = contract.cooperativeClose(
                channel.id.sender,
                channel.id.receiver,
                channel.id.open_block_number,
                channel.balance,
                Bytes::copy_from_slice(&proof_signature.as_bytes()),
                Bytes::copy_from_slice(&closing_signature.as_bytes()),
            );
            let claimed = channel.close_request.map(|request| request.balance).unwrap_or_default();
            let submit = async {
                match call.send().await {
                    Ok(pending) => match pending.get_receipt().await {
                        Ok(receipt) if receipt.status() => Ok(receipt.transaction_hash),
                        Ok(receipt) => Err(format!("transaction {} reverted", receipt.transaction_hash)),
                        Err(error) => Err(error.to_string()),
                    },
                    Err(error) => Err(error.to_string()),
                }
            };
            // Shutdown does not wait for a receipt: a sent transaction is mined anyway, and
            // the sync sees the settlement after a restart.
            let outcome = tokio::select! {
                () = cancel.cancelled() => return,
                outcome = submit => outcome,
            };
            match outcome {
                Ok(transaction) => {
                    tracing::info!(
                        channel = %channel.id,
                        claimed = %claimed,
                        balance = %channel.balance,
                        %transaction,
                        "closed a channel the sender asked to close, with the receiver's last proof"
                    );
                    attempted.insert(key, (Instant::now(), true));
                }
                Err(error) => {
                    tracing::warn!(channel = %channel.id, %error, "closing failed; the channel is close_pending and will be retried");
                    attempted.insert(key, (Instant::now(), false));
                    manager.update_health(|health| {
                        health.last_error = Some(format!("closing {}: {error}", channel.id))
                    });
                    if channel.state != ChannelState::ClosePending {
                        if let Err(error) = manager.set_state(key, ChannelState::ClosePending).await {
                            tracing::error!(%error, "recording close_pending failed");
                        }
                    }
                }
            }
        }
    }
}

/// The proof signature to close with, if closing now gets the receiver at least what the
/// sender's close request would.
fn worth_closing(channel: &ChannelRecord) -> Option<uraiden_protocol::ProofSignature> {
    let request = channel.close_request?;
    let signature = channel.balance_signature?;
    (channel.balance >= request.balance).then_some(signature)
}
