//! The paywall's record of which channels have a paid request at an upstream right now.

use std::{
    collections::HashSet,
    sync::{Mutex, MutexGuard, PoisonError},
};

use uraiden_protocol::ChannelId;

/// The channels with a paid request at the upstream of a route that charges after the answer
/// (`CommitOrder::AfterAnswer` in `paywall.rs`): one at a time per channel, until its payment is stored.
/// Every request carrying the same proof looks acceptable until one of them is stored, so
/// without this one payment sent in parallel would make the upstream work once per copy.
/// Honest senders lose nothing: on one channel, each proof builds on the last accepted one.
#[derive(Debug, Default)]
pub struct ChannelsAtUpstream(Mutex<HashSet<ChannelId>>);

impl ChannelsAtUpstream {
    fn channels(&self) -> MutexGuard<'_, HashSet<ChannelId>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `None` while another request of `channel` is at the upstream.
    pub(crate) fn enter(&self, channel: ChannelId) -> Option<AtUpstream<'_>> {
        let entered = self.channels().insert(channel);
        // Built only on entry: dropping one frees the channel.
        entered.then(|| AtUpstream { calls: self, channel })
    }
}

/// A request at the upstream; its channel is free again when this is dropped.
pub(crate) struct AtUpstream<'a> {
    calls: &'a ChannelsAtUpstream,
    channel: ChannelId,
}

impl Drop for AtUpstream<'_> {
    fn drop(&mut self) {
        self.calls.channels().remove(&self.channel);
    }
}
