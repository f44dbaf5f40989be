//! Rate limits over real HTTP against a real anvil (issue: "Keep attacking" → rate limits):
//! a flood from one client address is refused before any signature work, one sender spread
//! over several addresses is refused once its proof is known to be its own and is not
//! charged, a route's own limit from the proxy's TOML applies to that route alone, and every
//! refusal is a 429 with `Retry-After`, counted in `/metrics`.
//!
//! Clients come from different loopback addresses (Linux routes all of 127.0.0.0/8 to
//! loopback): each `Client` binds its socket to one.

// The harness below panics as the failure report, like the tests themselves.
#![allow(clippy::unwrap_used)]

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

use tokio::sync::oneshot;
use uraiden_e2e::TestChain;
use uraiden_protocol::{ChannelId, PaymentHeaders, U192};
use uraiden_server::{
    ChannelManager, ChannelManagerConfig, HttpConfig, Price, ProxyConfig, RateLimits, Receiver,
    ReceiverConfig, ReceiverError, Resources,
};

const RECEIVER: usize = 1;
const SENDER: usize = 2;
const STRANGER: usize = 5;
const DEPOSIT: u64 = 30;
const WAIT: Duration = Duration::from_secs(20);
const APP_ORIGIN: &str = "https://app.example";

/// A receiver over a fresh anvil, served on 127.0.0.1:0 through `Receiver::start` and `run`.
struct Served {
    chain: TestChain,
    _dir: tempfile::TempDir,
    manager: ChannelManager,
    serving: tokio::task::JoinHandle<Result<(), ReceiverError>>,
    address: SocketAddr,
    stop: oneshot::Sender<()>,
}

impl Served {
    async fn start(http: HttpConfig) -> Self {
        Self::start_on(http, "127.0.0.1:0").await
    }

    /// Serves on `bind` (`[::]:0` for IPv4 and IPv6 on one socket).
    async fn start_on(http: HttpConfig, bind: &str) -> Self {
        let chain = TestChain::start().await.expect("anvil starts and the contracts deploy");
        let dir = tempfile::tempdir().unwrap();
        let mut config = ChannelManagerConfig::new(
            chain.provider(chain.key(RECEIVER)),
            chain.signing_key(RECEIVER),
            chain.deployment.channel_manager,
            dir.path().join("receiver.db"),
            chain.deployment.deploy_block,
        );
        // anvil mines only on transactions and never reorgs: mined is enough here.
        config.confirmations = 1;
        config.poll_interval = Duration::from_millis(20);
        config.balance_check_interval = Duration::from_millis(100);
        let receiver =
            Receiver::start(ReceiverConfig { channels: config, http }).await.expect("the receiver starts");
        let manager = receiver.manager().expect("a receiver on a chain").clone();
        let listener = tokio::net::TcpListener::bind(bind).await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(receiver.run(listener, async move {
            let _ = stopped.await;
        }));
        let served = Self { chain, _dir: dir, manager, serving, address, stop };
        served.synced().await;
        served
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.serving.await.expect("serving ends").expect("serving ends cleanly");
    }

    async fn synced(&self) {
        let head = self.chain.head().await;
        assert!(self.manager.wait_for_block(head, WAIT).await, "the manager did not reach block {head}");
    }

    /// Opens a channel of [`DEPOSIT`] from [`SENDER`] and waits until the receiver takes
    /// payments from it.
    async fn open_channel(&self) -> ChannelId {
        self.chain.transfer_tokens(self.chain.address(SENDER), DEPOSIT).await;
        let channel = self.chain.open_channel(SENDER, self.chain.address(RECEIVER), DEPOSIT, None).await;
        self.synced().await;
        channel
    }

    fn payment(&self, signer: usize, channel: ChannelId, balance: u64) -> PaymentHeaders {
        self.chain.payment(&self.chain.signing_key(signer), channel, balance)
    }

    /// The balance the receiver has accepted in `channel`.
    fn balance(&self, channel: ChannelId) -> U192 {
        self.manager.channel(channel.sender, channel.open_block_number).expect("a known channel").balance
    }

    /// `GET path`, from `127.0.0.<host>`, with `payment` if any and an `Origin`.
    async fn get(&self, host: u8, path: &str, payment: Option<&PaymentHeaders>) -> reqwest::Response {
        self.get_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)), path, payment).await
    }

    /// `GET path` from the loopback address `from` (to 127.0.0.1 or ::1 alike).
    async fn get_from(
        &self,
        from: IpAddr,
        path: &str,
        payment: Option<&PaymentHeaders>,
    ) -> reqwest::Response {
        let client = reqwest::Client::builder().local_address(from).build().unwrap();
        let to =
            if from.is_ipv4() { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { IpAddr::V6(Ipv6Addr::LOCALHOST) };
        let to = SocketAddr::new(to, self.address.port());
        let mut request = client.get(format!("http://{to}{path}")).header("origin", APP_ORIGIN);
        for (name, value) in payment.map(PaymentHeaders::to_header_pairs).unwrap_or_default() {
            request = request.header(name, value);
        }
        request.send().await.unwrap()
    }

    /// The `/metrics` text, fetched from an address no test limits.
    async fn metrics(&self) -> String {
        self.get(250, "/metrics", None).await.text().await.unwrap()
    }
}

/// The sum of the samples of `metric` (a name, or a name with labels) in `text`.
fn sample(text: &str, metric: &str) -> u64 {
    text.lines()
        .filter(|line| line.starts_with(metric) && !line.starts_with('#'))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Asserts `response` is the rate limit's 429, by `by`; returns its `Retry-After` in seconds.
async fn assert_rate_limited(response: reqwest::Response, by: &str, what: &str) -> u64 {
    assert_eq!(response.status(), 429, "{what}: {:?}", response.headers());
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1, "{what}: Retry-After {retry_after}");
    assert_eq!(
        response.headers().get("access-control-allow-origin").map(|value| value.to_str().unwrap()),
        Some(APP_ORIGIN),
        "{what}: the 429 carries CORS headers"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "rate limited", "{what}: {body}");
    assert_eq!(body["limited_by"], by, "{what}: {body}");
    assert!(body["message"].as_str().unwrap().contains(&format!("Retry after {retry_after} s")), "{body}");
    retry_after
}

/// A flood of forged payments from one address: the first `burst` cost a signature recovery
/// each and are refused (402); every later one is refused with a 429 before the paywall
/// recovers anything, so the backend sees only the first ones. Another address is unaffected.
#[tokio::test]
async fn a_flood_from_one_address_is_refused_before_any_signature_work() {
    const BURST: u64 = 5;
    const FLOOD: u64 = 20;
    let http = HttpConfig {
        cors_origins: vec![APP_ORIGIN.to_owned()],
        rate_limits: RateLimits {
            per_client_address: Some(format!("{BURST}/1h").parse().unwrap()),
            ..RateLimits::default()
        },
        ..HttpConfig::default()
    };
    let served = Served::start(http).await;
    let channel = ChannelId::new(served.chain.address(SENDER), served.chain.address(RECEIVER), 1);
    let forged = served.payment(STRANGER, channel, 5);

    for request in 1..=BURST {
        let response = served.get(1, "/echofix/x", Some(&forged)).await;
        assert_eq!(response.status(), 402, "forged payment {request} within the burst");
    }
    for request in 1..=FLOOD {
        let response = served.get(1, "/echofix/x", Some(&forged)).await;
        assert_rate_limited(response, "client_address", &format!("forged payment {request} over the limit"))
            .await;
    }
    let response = served.get(2, "/echofix/x", Some(&forged)).await;
    assert_eq!(response.status(), 402, "another address has its own budget");

    let metrics = served.metrics().await;
    assert_eq!(sample(&metrics, "uraiden_payments_refused_total{"), BURST + 1, "{metrics}");
    assert_eq!(
        sample(&metrics, r#"uraiden_rate_limited_total{by="client_address",route="/echofix/{param}"}"#),
        FLOOD,
        "{metrics}"
    );
    served.stop().await;
}

/// A sender paying from two addresses is limited as one once its proofs verify; the refused
/// payment is not charged and the same proof pays once `Retry-After` has passed. Forged proofs
/// naming the sender's channel, and replays of its accepted proofs, do not spend the sender's
/// budget (else anyone could lock a sender out).
#[tokio::test]
async fn a_sender_over_two_addresses_is_limited_once_its_proof_verifies_and_is_not_charged() {
    let http = HttpConfig {
        cors_origins: vec![APP_ORIGIN.to_owned()],
        rate_limits: RateLimits {
            per_sender: Some("1/5s,burst=2".parse().unwrap()),
            ..RateLimits::default()
        },
        ..HttpConfig::default()
    };
    let served = Served::start(http).await;
    let channel = served.open_channel().await;

    for request in 1..=3 {
        let forged = served.payment(STRANGER, channel, 5);
        let response = served.get(3, "/echofix/x", Some(&forged)).await;
        assert_eq!(response.status(), 402, "forged proof {request} naming the sender");
    }
    let first = served.payment(SENDER, channel, 5);
    let response = served.get(1, "/echofix/x", Some(&first)).await;
    assert_eq!(response.status(), 200, "the sender's first payment");
    // Proofs leak: whoever replays an accepted one holds a genuine signature of the sender,
    // but a proof that cannot pay any more must not spend the sender's budget either.
    for replay in 1..=3 {
        let response = served.get(3, "/echofix/x", Some(&first)).await;
        assert_eq!(response.status(), 402, "replay {replay} of the accepted proof");
    }
    let response = served.get(2, "/echofix/x", Some(&served.payment(SENDER, channel, 10))).await;
    assert_eq!(response.status(), 200, "the sender's second payment, from another address");

    let third = served.payment(SENDER, channel, 15);
    let response = served.get(1, "/echofix/x", Some(&third)).await;
    let retry_after = assert_rate_limited(response, "sender", "the sender's third payment").await;
    assert!(retry_after <= 5, "Retry-After {retry_after} beyond the period");
    assert_eq!(served.balance(channel), U192::from(10u64), "the refused payment was not charged");
    let metrics = served.metrics().await;
    assert_eq!(
        sample(&metrics, r#"uraiden_rate_limited_total{by="sender",route="/echofix/{param}"}"#),
        1,
        "{metrics}"
    );

    // The wait the 429 asked for is the condition awaited.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    let response = served.get(2, "/echofix/x", Some(&third)).await;
    assert_eq!(response.status(), 200, "the same proof pays after Retry-After");
    assert_eq!(served.balance(channel), U192::from(15u64));
    served.stop().await;
}

/// A route's `rate_limit` in the proxy's TOML: per address and per sender on that route, none
/// on the route without one.
#[tokio::test]
async fn a_proxy_route_limit_from_toml_applies_to_that_route_only() {
    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_address = upstream.local_addr().unwrap();
    let app = axum::Router::new().fallback(|| async { "from upstream" });
    tokio::spawn(async move { axum::serve(upstream, app).await });
    let config = ProxyConfig::parse(&format!(
        "upstream = \"http://{upstream_address}\"\n\
         [[route]]\npath = \"/limited/{{*rest}}\"\nprice = 1\n\
         rate_limit = {{ requests = 1, period_ms = 3600000, burst = 2 }}\n\
         [[route]]\npath = \"/open/{{*rest}}\"\nprice = 1\n"
    ))
    .unwrap();
    let http = HttpConfig {
        resources: Resources::Proxy(config),
        cors_origins: vec![APP_ORIGIN.to_owned()],
        ..HttpConfig::default()
    };
    let served = Served::start(http).await;

    // By address: two unpaid requests, then 429; the other route and another address are not
    // limited.
    for request in 1..=2 {
        assert_eq!(served.get(1, "/limited/a", None).await.status(), 402, "request {request}");
    }
    assert_rate_limited(served.get(1, "/limited/a", None).await, "client_address", "third request").await;
    for _ in 0..5 {
        assert_eq!(served.get(1, "/open/a", None).await.status(), 402, "the route without a limit");
    }
    assert_eq!(served.get(2, "/limited/a", None).await.status(), 402, "another address");

    // By sender: two payments from two addresses, then 429, not charged; the other route
    // still takes the same proof.
    let channel = served.open_channel().await;
    let response = served.get(3, "/limited/x", Some(&served.payment(SENDER, channel, 1))).await;
    assert_eq!(response.status(), 200, "first payment");
    let response = served.get(4, "/limited/x", Some(&served.payment(SENDER, channel, 2))).await;
    assert_eq!(response.status(), 200, "second payment");
    let third = served.payment(SENDER, channel, 3);
    assert_rate_limited(served.get(5, "/limited/x", Some(&third)).await, "sender", "third payment").await;
    assert_eq!(served.balance(channel), U192::from(2u64), "the refused payment was not charged");
    let response = served.get(5, "/open/x", Some(&third)).await;
    assert_eq!(response.status(), 200, "the same proof pays on the route without a limit");
    assert_eq!(response.text().await.unwrap(), "from upstream");
    assert_eq!(served.balance(channel), U192::from(3u64));

    let metrics = served.metrics().await;
    for by in ["client_address", "sender"] {
        let metric = format!(r#"uraiden_rate_limited_total{{by="{by}",route="/limited/{{*rest}}"}}"#);
        assert_eq!(sample(&metrics, &metric), 1, "{metric} in\n{metrics}");
    }
    served.stop().await;
}

/// A route limited through the embedding API (`paywall_with_rate_limit`), served on one socket
/// for IPv4 and IPv6: IPv4 clients arrive as IPv4-mapped IPv6 addresses there, and must still
/// be limited one address at a time (not all together as one /64), IPv6 clients by their /64.
#[tokio::test]
async fn an_embedded_route_limit_keys_ipv4_clients_apart_on_a_dual_stack_socket() {
    let http = HttpConfig {
        resources: Resources::routes(|state| {
            let echo = || axum::routing::get(|| async { "paid" });
            axum::Router::new()
                .route(
                    "/limited/{param}",
                    echo().route_layer(
                        state.paywall_with_rate_limit(Price::fixed(1), "1/1h,burst=1".parse().unwrap()),
                    ),
                )
                .route("/open/{param}", echo().route_layer(state.paywall(Price::fixed(1))))
        }),
        cors_origins: vec![APP_ORIGIN.to_owned()],
        ..HttpConfig::default()
    };
    let served = Served::start_on(http, "[::]:0").await;
    let v4 = |host: u8| IpAddr::V4(Ipv4Addr::new(127, 0, 0, host));
    let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);

    for (client, name) in [(v4(1), "127.0.0.1"), (v4(2), "127.0.0.2"), (v6, "::1")] {
        let response = served.get_from(client, "/limited/a", None).await;
        assert_eq!(response.status(), 402, "{name}'s first request");
        let response = served.get_from(client, "/limited/a", None).await;
        assert_rate_limited(response, "client_address", &format!("{name}'s second request")).await;
        let response = served.get_from(client, "/open/a", None).await;
        assert_eq!(response.status(), 402, "{name} on the route without a limit");
    }
    let metrics = served.metrics().await;
    assert_eq!(
        sample(&metrics, r#"uraiden_rate_limited_total{by="client_address",route="/limited/{param}"}"#),
        3,
        "{metrics}"
    );
    served.stop().await;
}

/// A sender fires many payments at once to get past "checked before, spent once stored": they
/// all pass the check while its budget has one request left. But on one channel only one
/// proof per balance is stored, and every stored payment is spent even past the limit, so
/// what got through is owed: the next payment waits for all of it.
#[tokio::test]
async fn payments_fired_at_once_get_through_at_most_while_in_flight_and_are_owed() {
    let http = HttpConfig {
        rate_limits: RateLimits {
            per_sender: Some("1/1h,burst=1".parse().unwrap()),
            ..RateLimits::default()
        },
        cors_origins: vec![APP_ORIGIN.to_owned()],
        ..HttpConfig::default()
    };
    let served = Served::start(http).await;
    let channel = served.open_channel().await;
    // Every proof the deposit allows, each twice, at once, from twelve addresses.
    let proofs: Vec<PaymentHeaders> = (1..=6).map(|n| served.payment(SENDER, channel, 5 * n)).collect();
    let mut requests = tokio::task::JoinSet::new();
    for (index, proof) in proofs.iter().chain(&proofs).enumerate() {
        let host = u8::try_from(index).unwrap() + 1;
        let client = reqwest::Client::builder()
            .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)))
            .build()
            .unwrap();
        let mut request = client.get(format!("http://{}/echofix/x", served.address));
        for (name, value) in proof.to_header_pairs() {
            request = request.header(name, value);
        }
        requests.spawn(request.send());
    }
    let mut served_ok = 0u64;
    while let Some(answer) = requests.join_next().await {
        let status = answer.unwrap().unwrap().status();
        assert!([200, 402, 429].contains(&status.as_u16()), "{status}");
        served_ok += u64::from(status == 200);
    }
    let stored = u64::try_from(served.balance(channel) / U192::from(5u64)).unwrap();
    assert_eq!(served_ok, stored, "each 200 stored exactly one payment");
    assert!(stored >= 1, "the burst of one passes");

    // Owed: everything stored beyond the burst of one is taken from the hours after it.
    let next = served.payment(SENDER, channel, 5 * stored + 5);
    let retry_after =
        assert_rate_limited(served.get(20, "/echofix/x", Some(&next)).await, "sender", "the next payment")
            .await;
    assert!(retry_after > (stored - 1) * 3600, "{stored} stored, Retry-After {retry_after}");
    served.stop().await;
}
