//! The load generator: raw HTTP/1.1 over keep-alive TCP connections, one connection per
//! worker (for paid phases: one channel per connection, so a channel's proofs arrive in
//! order), every request's bytes formatted before the clock starts. Responses are read by
//! their `Content-Length` and checked for the expected status; nothing else is parsed, so the
//! generator's own CPU per request is a few system calls.

use std::{
    io,
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::mpsc,
};

/// Longest a request may wait for its answer: then it failed, and its connection (in an
/// unknown state) is given up, so a server that stops answering ends the phase with failures
/// instead of hanging the benchmark.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// One request's bytes, shared by the phases that send it.
pub type RequestBytes = Arc<[u8]>;

/// A `GET` of `path` with `headers` (name, value), ready to send.
pub fn request(path: &str, headers: &[(&str, String)]) -> RequestBytes {
    let mut text = format!("GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n");
    for (name, value) in headers {
        text.push_str(name);
        text.push_str(": ");
        text.push_str(value);
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    text.into_bytes().into()
}

/// A keep-alive connection and what it has read past the last response.
pub struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    pub async fn open(address: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(Self { stream, buffer: Vec::with_capacity(16 * 1024) })
    }

    /// Sends `request` and reads its whole response within [`ANSWER_TIMEOUT`]; returns the status.
    pub async fn exchange(&mut self, request: &[u8]) -> io::Result<u16> {
        tokio::time::timeout(ANSWER_TIMEOUT, self.exchange_untimed(request))
            .await
            .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
    }

    async fn exchange_untimed(&mut self, request: &[u8]) -> io::Result<u16> {
        self.stream.write_all(request).await?;
        let head_end = loop {
            if let Some(end) = find(&self.buffer, b"\r\n\r\n") {
                break end + 4;
            }
            self.fill().await?;
        };
        let head = &self.buffer[..head_end];
        let status = head
            .get(9..12)
            .and_then(|code| std::str::from_utf8(code).ok()?.parse().ok())
            .ok_or_else(|| invalid("a response without a status line"))?;
        let length = content_length(head)?;
        while self.buffer.len() < head_end + length {
            self.fill().await?;
        }
        self.buffer.drain(..head_end + length);
        Ok(status)
    }

    async fn fill(&mut self) -> io::Result<()> {
        let start = self.buffer.len();
        self.buffer.resize(start + 16 * 1024, 0);
        let read = self.stream.read(&mut self.buffer[start..]).await;
        self.buffer.truncate(start + *read.as_ref().unwrap_or(&0));
        match read? {
            0 => Err(io::ErrorKind::UnexpectedEof.into()),
            _ => Ok(()),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

/// The response's `Content-Length` (the receiver sends no chunked bodies to this generator).
fn content_length(head: &[u8]) -> io::Result<usize> {
    let text = std::str::from_utf8(head).map_err(|_| invalid("a response head that is not UTF-8"))?;
    for line in text.split("\r\n") {
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                return value.trim().parse().map_err(|_| invalid("a bad Content-Length"));
            }
            if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(invalid(
                    "a chunked response: the load generator reads Content-Length bodies only",
                ));
            }
        }
    }
    Ok(0)
}

/// One worker of a closed loop: its server, and the requests it sends back to back.
pub struct Script {
    pub address: SocketAddr,
    pub requests: Vec<RequestBytes>,
    pub expected: u16,
}

/// What a phase measured.
pub struct Outcome {
    pub latencies: Vec<Duration>,
    pub elapsed: Duration,
    pub failures: usize,
    /// Per worker, how many of its requests got the expected status before it stopped.
    pub succeeded: Vec<usize>,
}

/// Each script on its own connection, its requests back to back, until all are sent or
/// `limit` passes (a request then in flight still has [`ANSWER_TIMEOUT`]). A paying worker
/// stops at its first failure: the next proof builds on a balance the receiver did not accept.
pub async fn closed_loop(scripts: Vec<Script>, limit: Duration) -> Outcome {
    let deadline = Instant::now() + limit;
    let mut connections = Vec::with_capacity(scripts.len());
    for script in &scripts {
        connections.push(Connection::open(script.address).await);
    }
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (worker, (script, connection)) in scripts.into_iter().zip(connections).enumerate() {
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(script.requests.len());
            let Ok(mut connection) = connection else { return (worker, latencies, 1, 0) };
            let (mut failures, mut succeeded) = (0, 0);
            for request in &script.requests {
                if Instant::now() > deadline {
                    break;
                }
                let sent = Instant::now();
                let status = connection.exchange(request).await;
                latencies.push(sent.elapsed());
                if matches!(status, Ok(status) if status == script.expected) {
                    succeeded += 1;
                } else {
                    failures += 1;
                    if script.expected == 200 || status.is_err() {
                        break;
                    }
                }
            }
            (worker, latencies, failures, succeeded)
        });
    }
    collect(tasks.join_all().await, started)
}

/// Open loop: `rate` requests per second for `duration`, round-robin over the scripts (one
/// connection each), latency counted from each request's scheduled time, so a stall of the
/// server counts for every request it delays. Every scheduled request either succeeds or
/// counts as failed, also those of a connection that broke. A thread of its own paces the
/// sends with the system's sleep (tokio's timer has a 1 ms resolution, which would add up to
/// 1 ms of the generator's own lateness to every latency).
pub async fn open_loop(scripts: Vec<Script>, rate: u64, duration: Duration) -> Outcome {
    let total = (rate as f64 * duration.as_secs_f64()) as usize;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let mut connections = Vec::with_capacity(scripts.len());
    let mut ticks = Vec::with_capacity(scripts.len());
    let mut tasks = tokio::task::JoinSet::new();
    for script in &scripts {
        connections.push(Connection::open(script.address).await);
    }
    for (worker, (script, connection)) in scripts.into_iter().zip(connections).enumerate() {
        let (tick, mut scheduled) = mpsc::unbounded_channel::<Instant>();
        ticks.push(tick);
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let (mut failures, mut succeeded, mut requests) = (0, 0, script.requests.iter());
            // Once the connection is gone (never opened, or a transport error), every request
            // still scheduled for it fails: none may go uncounted.
            let mut connection = connection.ok();
            while let Some(at) = scheduled.recv().await {
                let (Some(live), Some(request)) = (connection.as_mut(), requests.next()) else {
                    failures += 1;
                    continue;
                };
                let status = live.exchange(request).await;
                latencies.push(at.elapsed());
                if matches!(status, Ok(status) if status == script.expected) {
                    succeeded += 1;
                } else {
                    failures += 1;
                    if status.is_err() {
                        connection = None;
                    }
                }
            }
            (worker, latencies, failures, succeeded)
        });
    }
    let started = Instant::now();
    let pacer = std::thread::spawn(move || {
        for n in 0..total {
            let at = started + interval.mul_f64(n as f64);
            if let Some(wait) = at.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let _ = ticks[n % ticks.len()].send(at);
        }
    });
    let results = tasks.join_all().await;
    pacer.join().expect("the pacer does not panic");
    collect(results, started)
}

fn collect(mut results: Vec<(usize, Vec<Duration>, usize, usize)>, started: Instant) -> Outcome {
    let elapsed = started.elapsed();
    results.sort_by_key(|(worker, ..)| *worker);
    let failures = results.iter().map(|(_, _, failures, _)| failures).sum();
    let succeeded = results.iter().map(|(.., succeeded)| *succeeded).collect();
    let latencies = results.into_iter().flat_map(|(_, latencies, ..)| latencies).collect();
    Outcome { latencies, elapsed, failures, succeeded }
}

/// Waits until `address` answers `request` with `expected` (the paywall answers 502 until
/// its first node health check).
pub async fn wait_ready(address: SocketAddr, request: &[u8], expected: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(mut connection) = Connection::open(address).await {
            if connection.exchange(request).await.ok() == Some(expected) {
                return Ok(());
            }
        }
        anyhow::ensure!(Instant::now() < deadline, "the server at {address} never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use tokio::net::TcpListener;

    use super::*;

    const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

    /// A server that answers each request head with 200, `answers` times per connection, then
    /// closes it (`None`: never answers); a connection's first answer waits `delay_first`, each
    /// `delay_each`.
    async fn server(answers: Option<usize>, delay_first: Duration, delay_each: Duration) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else { return };
                tokio::spawn(async move {
                    let (mut buffer, mut answered) = (Vec::new(), 0);
                    let mut chunk = [0u8; 4096];
                    loop {
                        while let Some(end) = find(&buffer, b"\r\n\r\n") {
                            buffer.drain(..end + 4);
                            match answers {
                                Some(answers) if answered < answers => {
                                    if answered == 0 {
                                        tokio::time::sleep(delay_first).await;
                                    }
                                    tokio::time::sleep(delay_each).await;
                                    stream.write_all(OK).await.unwrap();
                                    answered += 1;
                                }
                                Some(_) => return,
                                None => {}
                            }
                        }
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
                        }
                    }
                });
            }
        });
        address
    }

    fn scripts(address: SocketAddr, workers: usize, requests: usize) -> Vec<Script> {
        (0..workers)
            .map(|_| Script { address, requests: vec![request("/", &[]); requests], expected: 200 })
            .collect()
    }

    /// A port nothing listens on.
    async fn closed_port() -> SocketAddr {
        TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap()
    }

    fn settled(outcome: &Outcome) -> usize {
        outcome.failures + outcome.succeeded.iter().sum::<usize>()
    }

    /// Attack: the server closes each connection after 10 answers (a crash, a limit). Every
    /// request the open loop scheduled afterwards must count as failed, not vanish with the
    /// worker.
    #[tokio::test]
    async fn an_open_loop_counts_every_request_scheduled_on_a_lost_connection() {
        let address = server(Some(10), Duration::ZERO, Duration::ZERO).await;
        let outcome = open_loop(scripts(address, 2, 200), 1_000, Duration::from_millis(200)).await;
        assert_eq!(outcome.succeeded, [10, 10]);
        assert_eq!(settled(&outcome), 200, "{} failures", outcome.failures);
    }

    /// Attack: the server is not there. Every scheduled request failed.
    #[tokio::test]
    async fn an_open_loop_counts_every_request_of_a_connection_never_opened() {
        let outcome = open_loop(scripts(closed_port().await, 2, 200), 1_000, Duration::from_millis(20)).await;
        assert_eq!(outcome.succeeded, [0, 0]);
        assert_eq!(outcome.failures, 20);
    }

    /// Attack: more requests scheduled than the worker has proofs: each one short is a failure.
    #[tokio::test]
    async fn an_open_loop_counts_requests_beyond_the_proofs_as_failures() {
        let address = server(Some(usize::MAX), Duration::ZERO, Duration::ZERO).await;
        let outcome = open_loop(scripts(address, 1, 3), 1_000, Duration::from_millis(10)).await;
        assert_eq!((outcome.succeeded.as_slice(), outcome.failures), ([3].as_slice(), 7));
    }

    /// Attack: a server that reads requests and never answers (a deadlock). Both loops must end,
    /// with failures, rather than hang the benchmark.
    #[tokio::test]
    async fn a_server_that_never_answers_ends_both_loops_with_failures() {
        let address = server(None, Duration::ZERO, Duration::ZERO).await;
        let bound = ANSWER_TIMEOUT + Duration::from_secs(5);
        let (closed, open) = tokio::time::timeout(
            bound,
            futures_util::future::join(
                closed_loop(scripts(address, 2, 5), Duration::from_millis(100)),
                open_loop(scripts(address, 2, 50), 200, Duration::from_millis(100)),
            ),
        )
        .await
        .expect("both loops end");
        assert_eq!(closed.succeeded, [0, 0]);
        assert_eq!(closed.failures, 2, "each worker stops at its first failure");
        assert_eq!(open.succeeded, [0, 0]);
        assert_eq!(open.failures, 20);
    }

    /// Attack (coordinated omission): the server stalls 300 ms on the first request, then
    /// answers at once. The requests scheduled during the stall waited for it, and their
    /// latencies, counted from their scheduled times, must say so.
    #[tokio::test]
    async fn open_loop_latency_counts_from_the_scheduled_time() {
        let address = server(Some(usize::MAX), Duration::from_millis(300), Duration::ZERO).await;
        let outcome = open_loop(scripts(address, 1, 40), 100, Duration::from_millis(300)).await;
        assert_eq!((outcome.succeeded.as_slice(), outcome.failures), ([30].as_slice(), 0));
        let delayed =
            outcome.latencies.iter().filter(|latency| **latency >= Duration::from_millis(100)).count();
        assert!(delayed >= 15, "{delayed} of 30 latencies show the stall: {:?}", outcome.latencies);
    }

    /// The closed loop stops sending at its limit: a server answering each request in 50 ms,
    /// a limit of 200 ms.
    #[tokio::test]
    async fn a_closed_loop_stops_at_its_limit() {
        let address = server(Some(usize::MAX), Duration::ZERO, Duration::from_millis(50)).await;
        let started = Instant::now();
        let outcome = closed_loop(scripts(address, 1, 1_000), Duration::from_millis(200)).await;
        assert_eq!(outcome.failures, 0);
        assert!((3..=6).contains(&outcome.succeeded[0]), "{} answered", outcome.succeeded[0]);
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    }
}
