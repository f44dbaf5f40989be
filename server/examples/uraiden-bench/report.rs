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

    fn seconds(&self, stat: &str) -> f64 {
        cpu_ticks(&std::fs::read_to_string(stat).unwrap_or_default()) as f64 / self.ticks_per_second
    }
}

/// utime + stime of a `/proc/<pid>/stat` text (fields 14 and 15, counted after the
/// parenthesised command name, which may itself hold spaces and parentheses).
fn cpu_ticks(text: &str) -> u64 {
    let fields: Vec<&str> =
        text.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |index: usize| fields.get(index).and_then(|field| field.parse::<u64>().ok()).unwrap_or(0);
    // After ")": state is field 3, so utime (14) and stime (15) are at 11 and 12.
    ticks(11) + ticks(12)
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
            // Answered with the expected status: a failed request is no throughput.
            rate: outcome.succeeded.iter().sum::<usize>() as f64 / outcome.elapsed.as_secs_f64(),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields of `/proc/<pid>/stat` (proc(5)): utime and stime are 14 and 15, after a
    /// command name that may hold ") " itself; the children's cutime and cstime (16, 17) are
    /// not this process's.
    #[test]
    fn cpu_ticks_are_utime_plus_stime() {
        let stat = "4242 (evil) S 1 2 (x) R 1 2 3 4 5 6 7 8 9 10 111 222 333 444 20 0 1 0";
        assert_eq!(cpu_ticks(stat), 333);
        assert_eq!(cpu_ticks(""), 0);
        let own = std::fs::read_to_string("/proc/self/stat").unwrap();
        let started = Instant::now();
        while cpu_ticks(&std::fs::read_to_string("/proc/self/stat").unwrap()) == cpu_ticks(&own) {
            assert!(started.elapsed() < Duration::from_secs(30), "this busy loop uses no CPU time?");
        }
    }

    /// Attack: a phase whose every answer has the wrong status (a 503 for each request) must
    /// show no throughput, not the rate of its failures.
    #[test]
    fn the_rate_counts_only_expected_answers() {
        let outcome = Outcome {
            latencies: vec![Duration::from_millis(1); 1_000],
            elapsed: Duration::from_secs(1),
            failures: 1_000,
            succeeded: vec![0; 4],
        };
        let row = Row::new("phase", "store", "4", outcome, CpuUse { servers: None, generator: 0.0 });
        assert_eq!((row.requests, row.failures, row.rate), (1_000, 1_000, 0.0));
        let outcome = Outcome {
            latencies: vec![Duration::from_millis(1); 1_000],
            elapsed: Duration::from_secs(2),
            failures: 200,
            succeeded: vec![200; 4],
        };
        let row = Row::new("phase", "store", "4", outcome, CpuUse { servers: None, generator: 0.0 });
        assert_eq!(row.rate, 400.0);
    }
}
