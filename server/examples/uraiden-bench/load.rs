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

    /// Sends `request` and reads its whole response; returns the status.
    pub async fn exchange(&mut self, request: &[u8]) -> io::Result<u16> {
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
/// `limit` passes. A paying worker stops at its first failure: the next proof builds on a
/// balance the receiver did not accept.
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
/// server counts for every request it delays. A thread of its own paces the sends with the
/// system's sleep (tokio's timer has a 1 ms resolution, which would add up to 1 ms of the
/// generator's own lateness to every latency).
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
            let Ok(mut connection) = connection else { return (worker, latencies, 1, 0) };
            let (mut failures, mut succeeded, mut requests) = (0, 0, script.requests.iter());
            while let Some(at) = scheduled.recv().await {
                let Some(request) = requests.next() else {
                    failures += 1;
                    continue;
                };
                let status = connection.exchange(request).await;
                latencies.push(at.elapsed());
                if matches!(status, Ok(status) if status == script.expected) {
                    succeeded += 1;
                } else {
                    failures += 1;
                    if status.is_err() {
                        break;
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
