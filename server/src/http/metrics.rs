//! Prometheus metrics, served at `/metrics`.
//!
//! Counters and the latency histogram are updated by the paywall, the rate limits and the
//! accept loop as requests and connections happen; the channel and sync gauges are
//! refreshed from the backend's in-memory state when scraped, so they cost nothing between
//! scrapes.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use uraiden_protocol::Refusal;

use super::backend::{ChannelBackend, HealthView, StatsView};

/// The receiver's metrics; cheap to clone (the collectors are `Arc`s inside).
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Registry,
    payments_accepted: IntCounter,
    payments_refused: IntCounterVec,
    payment_errors: IntCounterVec,
    rate_limited: IntCounterVec,
    verification_seconds: Histogram,
    channels: IntGaugeVec,
    sync_lag_blocks: IntGauge,
    sync_block: IntGauge,
    node_reachable: IntGauge,
    leader: IntGauge,
    connections_refused: IntCounter,
}

impl Metrics {
    /// Registers every metric in a fresh registry.
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("uraiden".into()), None).expect("a valid static prefix");
        let payments_accepted =
            IntCounter::new("payments_accepted_total", "Payments verified, stored and served")
                .expect("valid");
        let payments_refused = IntCounterVec::new(
            Opts::new("payments_refused_total", "Payments refused with a 402, by reason"),
            &["reason"],
        )
        .expect("valid");
        let payment_errors = IntCounterVec::new(
            Opts::new("payment_errors_total", "Paying requests answered 409, 502 or 503, by status"),
            &["status"],
        )
        .expect("valid");
        let rate_limited = IntCounterVec::new(
            Opts::new(
                "rate_limited_total",
                "Requests refused with a 429 by a rate limit, by what was limited and route pattern",
            ),
            &["by", "route"],
        )
        .expect("valid");
        let verification_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "payment_verification_seconds",
                "Time to verify and durably store one payment",
            )
            .buckets(vec![0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0]),
        )
        .expect("valid");
        let channels =
            IntGaugeVec::new(Opts::new("channels", "Channels by state"), &["state"]).expect("valid");
        let sync_lag_blocks =
            IntGauge::new("sync_lag_blocks", "Blocks the channel manager is behind the node").expect("valid");
        let sync_block =
            IntGauge::new("sync_block", "Last block the channel manager processed").expect("valid");
        let node_reachable =
            IntGauge::new("node_reachable", "1 when the Ethereum node answers, else 0").expect("valid");
        let leader = IntGauge::new(
            "leader",
            "1 when this instance follows the chain and performs the on-chain duties (with PostgreSQL: holds the lease), else 0",
        )
        .expect("valid");
        let connections_refused = IntCounter::new(
            "connections_refused_total",
            "Connections closed as soon as accepted: their client address held --max-connections-per-client",
        )
        .expect("valid");
        for collector in [
            Box::new(payments_accepted.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(payments_refused.clone()),
            Box::new(payment_errors.clone()),
            Box::new(rate_limited.clone()),
            Box::new(verification_seconds.clone()),
            Box::new(channels.clone()),
            Box::new(sync_lag_blocks.clone()),
            Box::new(sync_block.clone()),
            Box::new(node_reachable.clone()),
            Box::new(leader.clone()),
            Box::new(connections_refused.clone()),
        ] {
            registry.register(collector).expect("metric names are unique");
        }
        // Every reason appears from the start, so dashboards see zeros rather than gaps.
        for refusal in Refusal::ALL {
            payments_refused.with_label_values(&[refusal.code()]);
        }
        Self {
            registry,
            payments_accepted,
            payments_refused,
            payment_errors,
            rate_limited,
            verification_seconds,
            channels,
            sync_lag_blocks,
            sync_block,
            node_reachable,
            leader,
            connections_refused,
        }
    }

    pub(crate) fn payment_accepted(&self) {
        self.payments_accepted.inc();
    }

    pub(crate) fn payment_refused(&self, refusal: Refusal) {
        self.payments_refused.with_label_values(&[refusal.code()]).inc();
    }

    pub(crate) fn payment_error(&self, status: u16) {
        self.payment_errors.with_label_values(&[&status.to_string()]).inc();
    }

    /// A request refused by a rate limit: `by` is `client_address` or `sender`, `route` a
    /// route pattern (never an address: the labels stay few).
    pub(crate) fn rate_limited(&self, by: &str, route: &str) {
        self.rate_limited.with_label_values(&[by, route]).inc();
    }

    /// A connection closed at once for its client address's connection cap.
    pub(crate) fn connection_refused(&self) {
        self.connections_refused.inc();
    }

    pub(crate) fn observe_verification(&self, seconds: f64) {
        self.verification_seconds.observe(seconds);
    }

    /// The text exposition, with the gauges refreshed from `backend`.
    pub fn render(&self, backend: &dyn ChannelBackend) -> String {
        self.refresh(&backend.stats(), &backend.health());
        let mut buffer = Vec::new();
        // Encoding into a Vec cannot fail for the text format.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8(buffer).unwrap_or_default()
    }

    fn refresh(&self, stats: &StatsView, health: &HealthView) {
        let gauge = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        self.channels.with_label_values(&["open"]).set(gauge(stats.open_channels));
        self.channels.with_label_values(&["pending"]).set(gauge(stats.pending_channels));
        self.channels.with_label_values(&["settled"]).set(gauge(stats.settled_channels));
        self.channels.with_label_values(&["unconfirmed"]).set(gauge(stats.unconfirmed_channels));
        self.sync_lag_blocks.set(gauge(health.sync_lag_blocks));
        self.sync_block.set(gauge(stats.sync_block));
        self.node_reachable.set(i64::from(health.node_reachable));
        self.leader.set(i64::from(health.leader));
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_and_counters_show_in_the_text() {
        let metrics = Metrics::new();
        metrics.payment_accepted();
        metrics.payment_refused(Refusal::InsufficientFunds);
        metrics.observe_verification(0.002);
        metrics.rate_limited("sender", "/echofix/{param}");
        metrics.connection_refused();
        metrics.refresh(
            &StatsView { open_channels: 3, sync_block: 42, ..StatsView::default() },
            &HealthView { node_reachable: true, sync_lag_blocks: 2, leader: true, ..HealthView::default() },
        );
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&metrics.registry.gather(), &mut buffer).unwrap();
        let text = String::from_utf8(buffer).unwrap();
        for line in [
            "uraiden_payments_accepted_total 1",
            "uraiden_payments_refused_total{reason=\"insufficient-funds\"} 1",
            "uraiden_payments_refused_total{reason=\"invalid-amount\"} 0",
            "uraiden_channels{state=\"open\"} 3",
            "uraiden_sync_lag_blocks 2",
            "uraiden_sync_block 42",
            "uraiden_node_reachable 1",
            "uraiden_leader 1",
            "uraiden_payment_verification_seconds_count 1",
            "uraiden_rate_limited_total{by=\"sender\",route=\"/echofix/{param}\"} 1",
            "uraiden_connections_refused_total 1",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }
}
