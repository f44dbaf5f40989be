//! Rate limits: how many requests one client address, and one sender, may make.
//!
//! Two keys, at two points of a request, so that neither a flood from one host nor one
//! sender spread over many hosts can take the receiver's time:
//!
//! - **By client address**, before any signature work: the TCP peer's IP (an IPv6 address
//!   grouped by its /64, which one host can rotate through at will). `X-Forwarded-For` is
//!   not read: a client would choose its own key. Behind a reverse proxy every client shares
//!   the proxy's address, so leave this limit off there (or size it for all of them).
//! - **By sender**, on paywalled routes, for a payment whose signature is the channel's
//!   sender's or signer's: checked (without spending) before the upstream is asked and the
//!   payment stored, spent only once the payment is stored. A refused request (a proof above
//!   the deposit, unconfirmed, a replay), or one the receiver could not serve or store (502,
//!   503), spends nothing, so neither a stranger replaying a sender's proofs nor the sender's
//!   own retries can lock it out. Payments in flight at once may all pass the check; each
//!   stored one is spent even past the limit, so the excess comes off the sender's next
//!   budget (see the paywall's `spend_sender_budget`).
//!
//! The receiver-wide limits ([`RateLimits`]) cover every route: by client address the
//! receiver's own too (API, `/js/*`, `/metrics`), by sender every paywalled one. A route may
//! add its own
//! ([`AppState::paywall_with_rate_limit`](super::state::AppState::paywall_with_rate_limit),
//! the proxy's `rate_limit` per `[[route]]`), counted apart from the others. A paid request
//! spends its sender's budget in every scope only if every scope allows it. By client
//! address, every request counts receiver-wide, whatever happens to it next (a route's own
//! limit may still refuse it): that limit is for load, and a refused request is load too
//! (as nginx's `limit_req` counts per zone).
//!
//! Each limit is a token bucket kept as a GCRA theoretical arrival time per key: `burst`
//! requests at once, then `requests` per `period`; a request a limit refuses spends nothing
//! of that limit, so a client that waits as told gets through. A refused request answers 429
//! with `Retry-After` (whole seconds, rounded up) and is counted in
//! `uraiden_rate_limited_total{by, route}`. The keys tracked are capped
//! ([`RateLimits::max_tracked_keys`]), and forgetting never hands anyone a fresh budget: only
//! buckets that have refilled completely are forgotten, and while there is none, keys not
//! tracked share one overflow bucket of [`OVERFLOW_SHARE`] times the rate (see
//! [`RateLimiter`]).

use std::{
    collections::{BTreeSet, HashMap},
    fmt,
    hash::Hash,
    net::{IpAddr, Ipv6Addr, SocketAddr},
    str::FromStr,
    sync::{Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use axum::{
    extract::{ConnectInfo, MatchedPath, Request},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use uraiden_protocol::Address;

use super::metrics::Metrics;

/// How many requests a key may make: `burst` at once, then `requests` per `period`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RateTable")]
pub struct Rate {
    requests: u32,
    period: Duration,
    burst: u32,
}

/// How long a limit may remember a key's spending at most.
const MAX_HORIZON: Duration = Duration::from_secs(366 * 24 * 3600);

/// What a rate must be, for error messages.
const RATE_FORMAT: &str = "expected REQUESTS/PERIOD[,burst=N], e.g. 100/1s or 100/1s,burst=200, \
    with PERIOD in ms, s, m or h";

impl Rate {
    /// `requests` per `period`, up to `burst` at once. Each must be at least 1 (a zero burst
    /// would refuse everything: turn the limit off instead), `period / requests` at least a
    /// nanosecond, and `burst` such periods at most a year.
    pub fn new(requests: u32, period: Duration, burst: u32) -> Result<Self, InvalidRate> {
        if requests == 0 || burst == 0 || period.is_zero() {
            return Err(InvalidRate("requests, period and burst must each be at least 1".into()));
        }
        let rate = Self { requests, period, burst };
        if rate.interval().is_zero() {
            return Err(InvalidRate(format!(
                "{requests} requests per {period:?} is more than this limiter can count"
            )));
        }
        // A key's arrival time runs at most this far ahead of now: keep it within clock range.
        let horizon = rate.interval().checked_mul(burst.saturating_add(1));
        if horizon.is_none_or(|horizon| horizon > MAX_HORIZON) {
            return Err(InvalidRate("burst × period / requests must stay within a year".into()));
        }
        Ok(rate)
    }

    pub const fn requests(&self) -> u32 {
        self.requests
    }

    pub const fn period(&self) -> Duration {
        self.period
    }

    pub const fn burst(&self) -> u32 {
        self.burst
    }

    /// The time one request takes of the budget: `period / requests`.
    fn interval(&self) -> Duration {
        self.period / self.requests
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}ms,burst={}", self.requests, self.period.as_millis(), self.burst)
    }
}

/// `REQUESTS/PERIOD[,burst=N]`: `100/1s`, `10/500ms,burst=20`, `600/1m`. Without `burst`,
/// the burst is `REQUESTS`.
impl FromStr for Rate {
    type Err = InvalidRate;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |what: &str| InvalidRate(format!("rate limit {text:?}: {what}; {RATE_FORMAT}"));
        let (rate, burst) = match text.trim().split_once(',') {
            Some((rate, option)) => {
                let value = option.trim().strip_prefix("burst=").ok_or_else(|| bad("unknown option"))?;
                (rate, Some(value.trim().parse::<u32>().map_err(|_| bad("burst is not a number"))?))
            }
            None => (text.trim(), None),
        };
        let (requests, period) = rate.split_once('/').ok_or_else(|| bad("no /"))?;
        let requests = requests.trim().parse::<u32>().map_err(|_| bad("REQUESTS is not a number"))?;
        let period = parse_period(period.trim()).ok_or_else(|| bad("PERIOD is not a duration"))?;
        Self::new(requests, period, burst.unwrap_or(requests)).map_err(|error| bad(&error.0))
    }
}

/// `500ms`, `1s`, `5m`, `1h`; a bare unit (`s`) is one of it.
fn parse_period(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let count: u64 = if number.is_empty() { 1 } else { number.parse().ok()? };
    let unit_millis = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    count.checked_mul(unit_millis).map(Duration::from_millis)
}

/// Why a rate was refused, and what a rate looks like.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidRate(String);

/// A rate as TOML writes it: `{ requests = 10, period_ms = 1000, burst = 20 }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateTable {
    requests: u32,
    period_ms: u64,
    /// Defaults to `requests`.
    burst: Option<u32>,
}

impl TryFrom<RateTable> for Rate {
    type Error = InvalidRate;

    fn try_from(table: RateTable) -> Result<Self, Self::Error> {
        Self::new(
            table.requests,
            Duration::from_millis(table.period_ms),
            table.burst.unwrap_or(table.requests),
        )
    }
}

/// A refused request: how long until the key may make one again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds, rounded up, at least 1 (`Retry-After` has no fractions, and 0 would
    /// invite an immediate retry that is refused again).
    pub fn seconds(self) -> u64 {
        let whole = self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0);
        whole.max(1)
    }
}

/// How many times one key's rate the shared overflow bucket allows (see [`RateLimiter`]).
pub const OVERFLOW_SHARE: u32 = 8;

/// One rate, per key, over at most `max_keys` keys at a time.
///
/// A key's bucket is forgotten only once it has refilled completely: a new bucket is a full
/// one, so forgetting it gives nobody anything. While every tracked bucket still holds some
/// spending, a key not tracked gets no bucket of its own: all such keys share one overflow
/// bucket of [`OVERFLOW_SHARE`] times the rate (requests and burst), until a tracked bucket
/// has refilled and makes room. So memory stays bounded, limiting stays exact for tracked
/// keys, and more keys than the cap are limited together rather than not at all. Buckets
/// are indexed by when they are full again, so finding one to forget never scans the table.
#[derive(Debug)]
pub struct RateLimiter<K> {
    /// `rate.interval()`, the time one request takes of a key's budget.
    interval: Duration,
    /// How far ahead of now a key's arrival time may run: `burst` intervals.
    tolerance: Duration,
    /// The time one request takes of the overflow bucket (whose tolerance is the same).
    overflow_interval: Duration,
    max_keys: usize,
    /// A std mutex: it is never held across an await.
    table: Mutex<Table<K>>,
}

/// The buckets of a limiter: each key's theoretical arrival time (when its bucket is full
/// again), the same ordered by that time, and the overflow bucket's.
#[derive(Debug)]
struct Table<K> {
    arrivals: HashMap<K, Instant>,
    by_arrival: BTreeSet<(Instant, K)>,
    overflow: Option<Instant>,
}

impl<K> Default for Table<K> {
    fn default() -> Self {
        Self { arrivals: HashMap::new(), by_arrival: BTreeSet::new(), overflow: None }
    }
}

/// Which bucket a key's request is counted in.
enum Bucket {
    /// Its own, with its arrival time.
    Tracked(Instant),
    /// A new one of its own (full), which there is room for.
    New,
    /// The shared overflow bucket: the table is full of buckets still refilling.
    Overflow,
}

impl<K: Eq + Hash + Ord + Clone> RateLimiter<K> {
    /// A limiter of `rate` tracking at most `max_keys` keys (at least one).
    pub fn new(rate: Rate, max_keys: usize) -> Self {
        let interval = rate.interval();
        // `Rate::new` checked that this does not overflow.
        let tolerance = interval.saturating_mul(rate.burst);
        let overflow_interval = (interval / OVERFLOW_SHARE).max(Duration::from_nanos(1));
        Self {
            interval,
            tolerance,
            overflow_interval,
            max_keys: max_keys.max(1),
            table: Mutex::new(Table::default()),
        }
    }

    /// Takes one request of `key`'s budget now, or says how long until there is one.
    pub fn check(&self, key: K) -> Result<(), RetryAfter> {
        self.check_at(key, Instant::now())
    }

    /// [`check`](Self::check) at `now` (a monotonic instant, never earlier than a previous one).
    pub fn check_at(&self, key: K, now: Instant) -> Result<(), RetryAfter> {
        let mut table = self.table();
        self.allows_in(&table, &key, now)?;
        self.spend_in(&mut table, key, now);
        Ok(())
    }

    /// Whether `key` may make a request now, without taking it of the budget: pair with
    /// [`spend`](Self::spend) once the request succeeded.
    pub fn allows(&self, key: &K) -> Result<(), RetryAfter> {
        self.allows_at(key, Instant::now())
    }

    /// [`allows`](Self::allows) at `now`.
    pub fn allows_at(&self, key: &K, now: Instant) -> Result<(), RetryAfter> {
        self.allows_in(&self.table(), key, now)
    }

    /// Takes one request of `key`'s budget, even past its limit (the key then waits that much
    /// longer): for a request [`allows`](Self::allows) let through and that succeeded.
    pub fn spend(&self, key: K) {
        self.spend_at(key, Instant::now());
    }

    /// [`spend`](Self::spend) at `now`.
    pub fn spend_at(&self, key: K, now: Instant) {
        self.spend_in(&mut self.table(), key, now);
    }

    /// How many keys are tracked now.
    pub fn tracked_keys(&self) -> usize {
        self.table().arrivals.len()
    }

    fn allows_in(&self, table: &Table<K>, key: &K, now: Instant) -> Result<(), RetryAfter> {
        match self.bucket(table, key, now) {
            Bucket::Tracked(arrival) => allows(Some(arrival), self.interval, self.tolerance, now),
            Bucket::New => Ok(()),
            Bucket::Overflow => allows(table.overflow, self.overflow_interval, self.tolerance, now),
        }
    }

    fn spend_in(&self, table: &mut Table<K>, key: K, now: Instant) {
        match self.bucket(table, &key, now) {
            Bucket::Tracked(arrival) => {
                table.by_arrival.remove(&(arrival, key.clone()));
                let next = arrival.max(now) + self.interval;
                table.by_arrival.insert((next, key.clone()));
                table.arrivals.insert(key, next);
            }
            Bucket::New => {
                if table.arrivals.len() >= self.max_keys {
                    // `bucket` found the first one refilled: forgetting it loses nothing.
                    if let Some((_, refilled)) = table.by_arrival.pop_first() {
                        table.arrivals.remove(&refilled);
                    }
                }
                let next = now + self.interval;
                table.by_arrival.insert((next, key.clone()));
                table.arrivals.insert(key, next);
            }
            Bucket::Overflow => {
                table.overflow =
                    Some(table.overflow.map_or(now, |arrival| arrival.max(now)) + self.overflow_interval);
            }
        }
    }

    fn bucket(&self, table: &Table<K>, key: &K, now: Instant) -> Bucket {
        if let Some(arrival) = table.arrivals.get(key) {
            Bucket::Tracked(*arrival)
        } else if table.arrivals.len() < self.max_keys
            || table.by_arrival.first().is_some_and(|(arrival, _)| *arrival <= now)
        {
            Bucket::New
        } else {
            Bucket::Overflow
        }
    }

    fn table(&self) -> MutexGuard<'_, Table<K>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// GCRA: whether a bucket whose arrival time is `arrival` (none: full) may take one more
/// request of `interval` now, given `tolerance`; else how long until it may.
fn allows(
    arrival: Option<Instant>,
    interval: Duration,
    tolerance: Duration,
    now: Instant,
) -> Result<(), RetryAfter> {
    let next = arrival.filter(|arrival| *arrival > now).unwrap_or(now) + interval;
    let ahead = next - now;
    if ahead > tolerance {
        Err(RetryAfter(ahead - tolerance))
    } else {
        Ok(())
    }
}

/// The key of a client address: an IPv4 address (also one mapped into IPv6) as it is, an
/// IPv6 address by its /64 (the block one host is usually given, and can pick addresses in).
pub fn client_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(v6.to_bits() & !u128::from(u64::MAX))),
        },
    }
}

/// The receiver-wide rate limits; each is off unless set. A route may add its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests per client address (an IPv6 /64), checked before any signature work
    /// (`--rate-limit-per-client-address`).
    pub per_client_address: Option<Rate>,
    /// Paid requests per sender, checked before the payment is stored and spent only once it
    /// is (`--rate-limit-per-sender`).
    pub per_sender: Option<Rate>,
    /// Keys each limiter tracks at most; beyond, only buckets that have refilled are
    /// forgotten, and while there is none new keys share one overflow bucket
    /// (`--rate-limit-max-keys`).
    pub max_tracked_keys: usize,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self { per_client_address: None, per_sender: None, max_tracked_keys: 100_000 }
    }
}

/// The limits of one scope (the whole receiver, or one route): by client address and by
/// sender, each optional.
#[derive(Debug, Default)]
pub struct Limits {
    by_client_address: Option<RateLimiter<IpAddr>>,
    by_sender: Option<RateLimiter<Address>>,
}

impl Limits {
    /// The receiver-wide limits of `config`.
    pub fn receiver_wide(config: &RateLimits) -> Self {
        Self::new(config.per_client_address, config.per_sender, config.max_tracked_keys)
    }

    /// `rate` by client address and, apart, by sender.
    pub fn both(rate: Rate, max_keys: usize) -> Self {
        Self::new(Some(rate), Some(rate), max_keys)
    }

    fn new(client_address: Option<Rate>, sender: Option<Rate>, max_keys: usize) -> Self {
        Self {
            by_client_address: client_address.map(|rate| RateLimiter::new(rate, max_keys)),
            by_sender: sender.map(|rate| RateLimiter::new(rate, max_keys)),
        }
    }

    /// Takes one request of the peer's budget. A request without a peer address (a router
    /// used without [`serve`](super::serve)) is not limited by address.
    pub fn check_client_address(&self, request: &Request) -> Result<(), RetryAfter> {
        let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
        match (&self.by_client_address, peer) {
            (Some(limiter), Some(peer)) => limiter.check(client_key(peer)),
            _ => Ok(()),
        }
    }

    /// Whether senders are limited (so that the paywall recovers a signer for it).
    pub fn limits_senders(&self) -> bool {
        self.by_sender.is_some()
    }

    /// Whether `sender` may make a paid request now, without taking it of its budget: a
    /// request may still be refused after this, and only a stored payment is
    /// [spent](Self::spend_sender).
    pub fn sender_allows(&self, sender: Address) -> Result<(), RetryAfter> {
        self.by_sender.as_ref().map_or(Ok(()), |limiter| limiter.allows(&sender))
    }

    /// Takes one paid request of `sender`'s budget: call once its payment is stored.
    pub fn spend_sender(&self, sender: Address) {
        if let Some(limiter) = &self.by_sender {
            limiter.spend(sender);
        }
    }
}

/// What a refused request was limited by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitedBy {
    ClientAddress,
    Sender,
}

impl LimitedBy {
    /// The metric label.
    pub const fn label(self) -> &'static str {
        match self {
            Self::ClientAddress => "client_address",
            Self::Sender => "sender",
        }
    }

    fn who(self) -> &'static str {
        match self {
            Self::ClientAddress => "this client address",
            Self::Sender => "this sender",
        }
    }
}

/// The route label of `request` for metrics: its route pattern (bounded by the routes
/// configured), never its path.
pub fn route_label(request: &Request) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned())
}

/// Counts a refusal and answers it: 429 with `Retry-After` and a JSON body saying what was
/// limited and when to retry. Nothing was charged.
pub fn too_many_requests(metrics: &Metrics, by: LimitedBy, route: &str, retry: RetryAfter) -> Response {
    metrics.rate_limited(by.label(), route);
    let seconds = retry.seconds();
    let message = format!(
        "Too many requests from {}; nothing was charged. Retry after {seconds} s (the same payment is \
         still good).",
        by.who()
    );
    let body = serde_json::json!({ "error": "rate limited", "limited_by": by.label(), "message": message });
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(text: &str) -> Rate {
        text.parse().unwrap()
    }

    #[test]
    fn rates_parse_and_bad_ones_say_what_is_expected() {
        assert_eq!(rate("100/1s"), Rate::new(100, Duration::from_secs(1), 100).unwrap());
        assert_eq!(rate(" 10/500ms, burst=20 "), Rate::new(10, Duration::from_millis(500), 20).unwrap());
        assert_eq!(rate("600/m"), Rate::new(600, Duration::from_secs(60), 600).unwrap());
        assert_eq!(rate("1/2h").period(), Duration::from_secs(7200));
        for bad in
            ["", "100", "x/1s", "100/1", "100/1d", "100/-1s", "0/1s", "1/0s", "1/1s,burst=0", "1/1s,b=2"]
        {
            let error = bad.parse::<Rate>().unwrap_err().to_string();
            assert!(error.contains("REQUESTS/PERIOD"), "{bad}: {error}");
        }
        assert!("1000000000/1ms".parse::<Rate>().is_err());
        assert!("1/1h,burst=9000".parse::<Rate>().unwrap_err().to_string().contains("within a year"));
        assert!(Rate::new(1, Duration::from_secs(u64::MAX), 1).is_err());
        assert_eq!(rate("10/500ms,burst=20").to_string(), "10/500ms,burst=20");
    }

    #[test]
    fn a_burst_passes_then_one_request_per_interval() {
        let limiter = RateLimiter::new(rate("2/1s,burst=3"), 10);
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check_at("a", start), Ok(()));
        }
        assert_eq!(limiter.check_at("a", start), Err(RetryAfter(Duration::from_millis(500))));
        // Another key has its own budget.
        assert_eq!(limiter.check_at("b", start), Ok(()));
        let later = start + Duration::from_millis(499);
        assert_eq!(limiter.check_at("a", later), Err(RetryAfter(Duration::from_millis(1))));
        let later = start + Duration::from_millis(500);
        assert_eq!(limiter.check_at("a", later), Ok(()));
        assert!(limiter.check_at("a", later).is_err());
        // A long pause refills the bucket to the burst, not beyond.
        let idle = later + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(limiter.check_at("a", idle), Ok(()));
        }
        assert!(limiter.check_at("a", idle).is_err());
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up_and_at_least_one() {
        assert_eq!(RetryAfter(Duration::from_millis(1)).seconds(), 1);
        assert_eq!(RetryAfter(Duration::ZERO).seconds(), 1);
        assert_eq!(RetryAfter(Duration::from_secs(2)).seconds(), 2);
        assert_eq!(RetryAfter(Duration::from_millis(2001)).seconds(), 3);
    }

    #[test]
    fn a_flood_of_keys_stays_within_the_cap_and_shares_the_overflow_bucket() {
        let max_keys = 1_000;
        let limiter = RateLimiter::new(rate("1/1h,burst=2"), max_keys);
        let start = Instant::now();
        // A key that spent its whole budget first.
        assert!(limiter.check_at(u32::MAX, start).is_ok());
        assert!(limiter.check_at(u32::MAX, start).is_ok());
        assert!(limiter.check_at(u32::MAX, start).is_err());
        // Then a flood of new keys, none of whose buckets refills within the flood.
        let mut passed = 0;
        for key in 0..100_000u32 {
            let now = start + Duration::from_micros(u64::from(key));
            passed += usize::from(limiter.check_at(key, now).is_ok());
            assert!(limiter.tracked_keys() <= max_keys, "{} keys tracked", limiter.tracked_keys());
        }
        // Each tracked key once, then the overflow bucket's burst, shared by all the others.
        let overflow_burst = (2 * OVERFLOW_SHARE) as usize;
        assert_eq!(passed, max_keys - 1 + overflow_burst);
        // Nothing tracked was forgotten: the key that spent everything is still limited, and
        // so is each tracked key of the flood.
        let now = start + Duration::from_millis(100);
        assert!(limiter.check_at(u32::MAX, now).is_err());
        assert!(limiter.check_at(0, now).is_ok());
        assert!(limiter.check_at(0, now).is_err());
        // Once a bucket has refilled, a new key gets one of its own again.
        let refilled = start + Duration::from_secs(2 * 3600);
        assert!(limiter.check_at(200_000, refilled).is_ok());
        assert!(limiter.check_at(200_000, refilled).is_ok());
        assert!(limiter.check_at(200_000, refilled).is_err(), "its own burst of two");
        assert_eq!(limiter.tracked_keys(), max_keys);
    }

    #[test]
    fn allows_spends_nothing_and_a_spend_past_the_limit_is_owed() {
        let limiter = RateLimiter::new(rate("1/1s,burst=1"), 10);
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.allows_at(&"a", start), Ok(()));
        }
        limiter.spend_at("a", start);
        assert_eq!(limiter.allows_at(&"a", start), Err(RetryAfter(Duration::from_secs(1))));
        // Two payments that passed the check before either was stored: both are spent, and
        // the second is taken from the next second's budget.
        limiter.spend_at("a", start);
        assert_eq!(limiter.allows_at(&"a", start), Err(RetryAfter(Duration::from_secs(2))));
        assert!(limiter.allows_at(&"a", start + Duration::from_secs(2)).is_ok());
    }

    #[test]
    fn full_buckets_are_dropped_before_any_other() {
        let limiter = RateLimiter::new(rate("1/1s,burst=1"), 2);
        let start = Instant::now();
        assert!(limiter.check_at("idle", start).is_ok());
        let later = start + Duration::from_secs(2);
        assert!(limiter.check_at("busy", later).is_ok());
        // "idle" is full again by now: it goes, "busy" stays limited.
        assert!(limiter.check_at("new", later).is_ok());
        assert_eq!(limiter.tracked_keys(), 2);
        assert!(limiter.check_at("busy", later).is_err());
    }

    #[test]
    fn ipv6_addresses_share_a_key_per_64_and_mapped_ipv4_is_ipv4() {
        let key = |text: &str| client_key(text.parse().unwrap());
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_eq!(key("2001:db8:1:2::1"), "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.7"), key("192.0.2.7"));
        assert_ne!(key("192.0.2.7"), key("192.0.2.8"));
    }
}
