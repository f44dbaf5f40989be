//! What the HTTP side needs from the channel manager, as a trait.
//!
//! The paywall and the REST API talk to [`ChannelBackend`] rather than to
//! [`ChannelManager`](crate::channels::ChannelManager) directly, for two reasons: the HTTP
//! behaviour (statuses, headers, cookies, JSON) can be tested without a chain, and a later
//! backend (several servers sharing PostgreSQL) plugs in without touching the HTTP code.
//! The views here carry only what HTTP responses need.

use std::{future::Future, pin::Pin};

// The money core's payment outcomes are the HTTP side's too: one definition each.
use crate::chain::OnChainDuties;
pub use crate::chain::{ChannelClose, CloseOutcome, WithdrawError, WithdrawOutcome, Withdrawal};
pub use crate::channels::{AcceptedPayment, LastProof, PaymentRejected, StatusRefused};
use uraiden_protocol::{
    Address, ChannelId, PaymentHeaders, ProofSignature, SignedCloseRequest, SignedStatusRequest, U192, U256,
};

/// A boxed `Send` future: trait objects cannot have `async fn`s.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The channel manager, as seen from HTTP.
///
/// Every method except the async ones must answer from memory: they run on each
/// request, and a chain call per request is what made the original slow (SPEC §7).
pub trait ChannelBackend: Send + Sync + 'static {
    /// Verifies `payment` for a resource costing `price` and, when it is valid, stores it
    /// durably before returning: the caller sends the paid content only after `Ok`.
    fn accept_payment<'a>(
        &'a self,
        payment: &'a PaymentHeaders,
        price: U192,
    ) -> BoxFuture<'a, Result<AcceptedPayment, PaymentRejected>>;

    /// One channel of this receiver, by sender and open block.
    fn channel(&self, sender: Address, open_block: u32) -> Option<ChannelView>;

    /// Every channel the receiver knows, in any state.
    fn channels(&self) -> Vec<ChannelView>;

    /// The channel's last accepted proof, given only for a fresh status request by the
    /// channel's sender or signer (the 402's `RDN-Sender-Balance` / `RDN-Balance-Signature`).
    fn last_proof<'a>(
        &'a self,
        request: &'a SignedStatusRequest,
    ) -> BoxFuture<'a, Result<LastProof, StatusRefused>>;

    /// The receiver's closing signature, given only for a fresh close request by the channel's
    /// sender or signer over its last accepted balance.
    fn sign_cooperative_close<'a>(
        &'a self,
        request: &'a SignedCloseRequest,
    ) -> BoxFuture<'a, Result<ProofSignature, CloseRefused>>;

    /// Totals for `/api/1/stats`.
    fn stats(&self) -> StatsView;

    /// The node's and the receiver account's state, kept up to date in the background.
    fn health(&self) -> HealthView;

    /// Operator: withdraws the earned balance of one channel (`Some((sender, open_block))`)
    /// or of every channel with at least `min_amount` waiting (`None`), keeping them open.
    fn withdraw(&self, channel: Option<(Address, u32)>, min_amount: U192) -> BoxFuture<'_, WithdrawReport> {
        let _ = (channel, min_amount);
        Box::pin(async { Err(OperatorUnsupported) })
    }

    /// Operator: closes every channel with a payment (shutting the business down).
    fn close_all(&self) -> BoxFuture<'_, Result<Vec<ChannelClose>, OperatorUnsupported>> {
        Box::pin(async { Err(OperatorUnsupported) })
    }
}

/// The per-channel results of a withdrawal request.
pub type WithdrawReport = Result<Vec<(ChannelId, Result<Withdrawal, WithdrawError>)>, OperatorUnsupported>;

/// This backend sends no transactions (e.g. a test double).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("this receiver backend sends no on-chain transactions")]
pub struct OperatorUnsupported;

/// Why no closing signature was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseRefused {
    /// No channel by that sender and open block.
    UnknownChannel,
    /// The close request is stale or not by the channel's sender or signer: why.
    NotAuthorized(String),
    /// An authentic close request for another balance than the last accepted one (which its
    /// signer may see, to close at it).
    NotLastBalance(LastProof),
    /// The channel is not open any more (closing or settled).
    NotOpen(String),
    /// Signing or storing failed; internal detail, not shown.
    Internal(String),
}

/// A channel as the operator's API lists it: never with the sender's signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelView {
    pub sender: Address,
    pub open_block: u32,
    pub deposit: U192,
    /// The last accepted cumulative balance.
    pub balance: U192,
    /// `open`, `closing`, `close_pending`, `settled`, … as the channel manager names them.
    pub state: String,
    /// The delegated signer, when the channel has one.
    pub signer: Option<Address>,
    /// Whether the channel's creation (and top-ups) are confirmed.
    pub confirmed: bool,
}

/// The seed's `/api/1/stats` totals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatsView {
    /// Accepted balances not settled yet, minus what was withdrawn (earned, not collected).
    pub balance_sum: U256,
    /// Sum of the deposits of open and closing channels.
    pub deposit_sum: U256,
    pub open_channels: u64,
    /// Closing, but not yet settled.
    pub pending_channels: u64,
    pub settled_channels: u64,
    /// Created on chain, creation not confirmed yet.
    pub unconfirmed_channels: u64,
    /// Senders with an open or closing channel.
    pub unique_senders: u64,
    /// The receiver's own token balance, from the background cache; `None` until known.
    pub liquid_balance: Option<U256>,
    /// The last block whose events the channel manager has applied as confirmed.
    pub sync_block: u64,
}

/// The background-maintained health of the node connection and the receiver account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HealthView {
    pub node_reachable: bool,
    /// The receiver's ETH is too low to pay for closing channels.
    pub receiver_eth_low: bool,
    /// How many blocks the channel manager is behind the node's head.
    pub sync_lag_blocks: u64,
    /// The first catch-up with the chain since start is done.
    pub caught_up: bool,
    /// This instance follows the chain and performs the on-chain duties (always with an SQLite
    /// file; the lease holder among the instances of a shared PostgreSQL database).
    pub leader: bool,
}

impl HealthView {
    /// Why the receiver cannot take payments now (a 502), if it cannot.
    pub fn unavailable_reason(&self) -> Option<&'static str> {
        if !self.node_reachable {
            Some(
                "The receiver's Ethereum node is not reachable, so payments cannot be checked against \
                 the chain; try again later.",
            )
        } else if self.receiver_eth_low {
            Some(
                "The receiver's account has too little ETH to close channels on chain, so it takes no \
                 payments until the operator tops it up; try again later.",
            )
        } else {
            None
        }
    }
}

/// The real backend: the channel manager of this crate, with its on-chain duties for the
/// operator's withdrawals and close-all.
impl ChannelBackend for OnChainDuties {
    fn accept_payment<'a>(
        &'a self,
        payment: &'a PaymentHeaders,
        price: U192,
    ) -> BoxFuture<'a, Result<AcceptedPayment, PaymentRejected>> {
        Box::pin(self.manager().accept_payment(payment, price))
    }

    fn channel(&self, sender: Address, open_block: u32) -> Option<ChannelView> {
        self.manager().channel(sender, open_block).map(channel_view)
    }

    fn channels(&self) -> Vec<ChannelView> {
        self.manager().channels().into_iter().map(channel_view).collect()
    }

    fn last_proof<'a>(
        &'a self,
        request: &'a SignedStatusRequest,
    ) -> BoxFuture<'a, Result<LastProof, StatusRefused>> {
        Box::pin(self.manager().last_proof(request))
    }

    fn sign_cooperative_close<'a>(
        &'a self,
        request: &'a SignedCloseRequest,
    ) -> BoxFuture<'a, Result<ProofSignature, CloseRefused>> {
        use crate::channels::CloseRefused as Refused;
        Box::pin(async move {
            self.manager().sign_cooperative_close(request).await.map_err(|refused| match refused {
                Refused::UnknownChannel { .. } => CloseRefused::UnknownChannel,
                Refused::NotAuthorized(error) => CloseRefused::NotAuthorized(error.to_string()),
                Refused::NotLastBalance { last } => CloseRefused::NotLastBalance(last),
                Refused::Settled => CloseRefused::NotOpen("settled".into()),
                Refused::Store(detail) => CloseRefused::Internal(detail),
            })
        })
    }

    fn stats(&self) -> StatsView {
        let stats = self.manager().stats();
        StatsView {
            balance_sum: stats.balance_sum,
            deposit_sum: stats.deposit_sum,
            open_channels: stats.open_channels,
            pending_channels: stats.pending_channels,
            settled_channels: stats.settled_channels,
            unconfirmed_channels: stats.unconfirmed_channels,
            unique_senders: stats.unique_senders,
            liquid_balance: stats.liquid_balance,
            sync_block: self.manager().health().confirmed_block,
        }
    }

    fn withdraw(&self, channel: Option<(Address, u32)>, min_amount: U192) -> BoxFuture<'_, WithdrawReport> {
        Box::pin(async move {
            Ok(match channel {
                Some((sender, open_block)) => vec![(
                    ChannelId::new(sender, self.manager().receiver(), open_block),
                    Self::withdraw(self, sender, open_block, min_amount).await,
                )],
                None => Self::withdraw_all(self, min_amount).await,
            })
        })
    }

    fn close_all(&self) -> BoxFuture<'_, Result<Vec<ChannelClose>, OperatorUnsupported>> {
        Box::pin(async move { Ok(Self::close_all(self).await) })
    }

    fn health(&self) -> HealthView {
        let health = self.manager().health();
        HealthView {
            node_reachable: health.node_reachable,
            receiver_eth_low: health.receiver_eth_low,
            sync_lag_blocks: health.sync_lag_blocks,
            caught_up: health.caught_up,
            leader: self.manager().is_leader(),
        }
    }
}

fn channel_view(channel: crate::channels::ChannelSnapshot) -> ChannelView {
    ChannelView {
        sender: channel.id.sender,
        open_block: channel.id.open_block_number,
        deposit: channel.deposit,
        balance: channel.balance,
        state: channel.state.as_str().to_owned(),
        // The sender itself is no delegate: only report a separate signer.
        signer: (channel.signer != channel.id.sender).then_some(channel.signer),
        confirmed: channel.confirmed,
    }
}
