//! The money core: the receiver's channels and its decisions on payments, without the chain
//! calls (the chain side, `chain/`, feeds it events and does the on-chain duties).
//!
//! - `manager`: the [`ChannelManager`]: the in-memory index of every channel, loaded from the
//!   store; decides on each paying request and makes an accepted payment durable first.
//! - `rules`: the payment rule, one pure function ([`decide_payment`]), used by the manager,
//!   by its conflict path, by the paywall's early filter and by the HTTP tests' fake backend.
//! - `events`: the contract's events ([`ChainEvent`]) and what each does to a channel
//!   (`apply_event`), for the store and the unconfirmed view alike.
//! - `writer`: group commit of payments (one writer thread, one transaction per batch).

mod events;
mod manager;
mod rules;
mod writer;

pub(crate) use self::events::{ChainEvent, ChainEventKind};
pub use self::{
    manager::{
        AcceptedPayment, ChannelManager, ChannelManagerConfig, ChannelSnapshot, ChannelStats, CloseRefused,
        LastProof, NodeHealth, PaymentRejected, StartError, StatusRefused, DEFAULT_CONFIRMATIONS,
    },
    rules::{decide_payment, OpenChannel, PayableChannel},
};
