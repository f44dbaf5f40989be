//! What each phase measured, the processes' CPU time during it, and the printed table.

use std::{
    path::Path,
    process::{Child, Command},
    time::{Duration, Instant},
};

use anyhow::Context;

use crate::load::Outcome;

/// Reads the CPU time (user + system) of the server processes and of this one, from
/// `/proc/<pid>/stat`, so each phase shows where the two cores went.
pub struct CpuClock {
    servers: Vec<u32>,
    ticks_per_second: f64,
}

/// CPU seconds at one moment.
#[derive(Clone, Copy)]
pub struct CpuReading {
    at: Instant,
    servers: f64,
    generator: f64,
}

/// CPU use over a phase, in cores (1.0: one core busy all the time).
#[derive(Clone, Copy)]
pub struct CpuUse {
    /// `None` when the server runs in this process (its CPU is in `generator`'s).
    servers: Option<f64>,
    generator: f64,
}

impl CpuClock {
    pub fn new(servers: Vec<u32>) -> Self {
        Self { servers, ticks_per_second: rustix::param::clock_ticks_per_second() as f64 }
    }

    pub fn now(&self) -> CpuReading {
        let servers = self.servers.iter().map(|pid| self.seconds(&format!("/proc/{pid}/stat"))).sum();
        CpuReading { at: Instant::now(), servers, generator: self.seconds("/proc/self/stat") }
    }

    pub fn since(&self, before: CpuReading) -> CpuUse {
        let now = self.now();
        let wall = now.at.duration_since(before.at).as_secs_f64();
        CpuUse {
            servers: (!self.servers.is_empty()).then(|| (now.servers - before.servers) / wall),
            generator: (now.generator - before.generator) / wall,
        }
    }

    /// utime + stime (fields 14 and 15, counted after the parenthesised command name).
    fn seconds(&self, stat: &str) -> f64 {
        let text = std::fs::read_to_string(stat).unwrap_or_default();
        let fields: Vec<&str> =
            text.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
        let ticks = |index: usize| fields.get(index).and_then(|field| field.parse::<u64>().ok()).unwrap_or(0);
        // After ")": state is field 3, so utime (14) and stime (15) are at 11 and 12.
        (ticks(11) + ticks(12)) as f64 / self.ticks_per_second
    }
}

/// One measured phase.
pub struct Row {
    phase: &'static str,
    store: String,
    in_flight: String,
    requests: usize,
    pub rate: f64,
    p50: Duration,
    p99: Duration,
    p999: Duration,
    failures: usize,
    cpu: CpuUse,
}

impl Row {
    pub fn new(phase: &'static str, store: &str, in_flight: &str, mut outcome: Outcome, cpu: CpuUse) -> Self {
        let latencies = &mut outcome.latencies;
        latencies.sort_unstable();
        let at = |quantile: f64| {
            latencies
                .get(((latencies.len() as f64 * quantile) as usize).min(latencies.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        Self {
            phase,
            store: store.to_owned(),
            in_flight: in_flight.to_owned(),
            requests: latencies.len(),
            rate: latencies.len() as f64 / outcome.elapsed.as_secs_f64(),
            p50: at(0.50),
            p99: at(0.99),
            p999: at(0.999),
            failures: outcome.failures,
            cpu,
        }
    }
}

pub fn open_loop_phase(rate: u64) -> &'static str {
    match rate {
        1_000 => "(e) paid, open loop 1,000/s",
        5_000 => "(e) paid, open loop 5,000/s",
        _ => "(e) paid, open loop",
    }
}

pub fn print_table(rows: &[Row], in_process: bool) {
    let milliseconds = |duration: Duration| duration.as_secs_f64() * 1e3;
    println!();
    println!(
        "{:<29} {:<12} {:>6} {:>8} {:>9} {:>7} {:>7} {:>7} {:>6} {:>7} {:>7}",
        "phase",
        "store",
        "flight",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "p999 ms",
        "failed",
        "server",
        "loadgen"
    );
    for row in rows {
        let server = row.cpu.servers.map_or("-".to_owned(), |cores| format!("{:.0}%", cores * 100.0));
        println!(
            "{:<29} {:<12} {:>6} {:>8} {:>9.0} {:>7.3} {:>7.3} {:>7.3} {:>6} {:>7} {:>6.0}%",
            row.phase,
            row.store,
            row.in_flight,
            row.requests,
            row.rate,
            milliseconds(row.p50),
            milliseconds(row.p99),
            milliseconds(row.p999),
            row.failures,
            server,
            row.cpu.generator * 100.0
        );
    }
    println!(
        "(server, loadgen: CPU used during the phase, 100% = one core{})",
        if in_process { "; the server runs in the load generator's process" } else { "" }
    );
}

/// `perf record` attached to a server process for one phase.
pub struct Profiler(Child);

impl Profiler {
    pub fn start(pid: u32, output: &Path) -> anyhow::Result<Self> {
        let child = Command::new("perf")
            .args([
                "record",
                "--quiet",
                "-F",
                "999",
                "--call-graph",
                "dwarf,32768",
                "-p",
                &pid.to_string(),
                "-o",
            ])
            .arg(output)
            .spawn()
            .context("cannot run perf (Debian's linux-perf)")?;
        // perf needs a moment to attach before the phase starts.
        std::thread::sleep(Duration::from_millis(500));
        Ok(Self(child))
    }

    /// Stops recording (SIGINT, as Ctrl-C: perf writes its file and exits).
    pub fn stop(mut self) -> anyhow::Result<()> {
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(self.0.id() as i32).context("perf's pid")?,
            rustix::process::Signal::INT,
        )?;
        self.0.wait()?;
        Ok(())
    }
}
