//! The chain side of the receiver: what it reads from the contract and what it sends to it.
//! It depends on the channel manager, never the reverse; the composition root
//! (`receiver.rs`) starts its tasks.
//!
//! - `sync`: follows the contract's events with confirmations, reconciles reorgs, and watches
//!   the receiver's ETH and token balances.
//! - `duties`: the receiver's transactions: disputes, settlements, withdrawals, close-all,
//!   retries of closes that failed (`close_pending`).

pub(crate) mod duties;
pub(crate) mod sync;

pub use self::duties::{
    ChannelClose, CloseOutcome, OnChainDuties, WithdrawError, WithdrawOutcome, Withdrawal,
};
