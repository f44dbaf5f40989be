//! The contract's events about this receiver's channels, and what each does to a channel
//! ([`apply_event`], pure): the chain sync (`chain/sync.rs`) reads them, the channel manager
//! applies them to the store (confirmed) and to its unconfirmed view with the same rule.

use uraiden_protocol::{Address, ChannelId, ChannelKey, B256, U192};

use crate::store::{ChannelRecord, ChannelState, CloseRequest};

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
