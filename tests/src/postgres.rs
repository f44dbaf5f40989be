//! A throwaway PostgreSQL cluster for the tests: `initdb` and `pg_ctl` from Debian's
//! `postgresql` package (installed by `scripts/setup.sh`) in a temporary directory, on a free
//! port of 127.0.0.1, trusting local connections. PostgreSQL refuses to run as root, so as
//! root the cluster runs as the package's `postgres` user. No system service is involved, and
//! dropping the handle stops the cluster and deletes its files.

use std::{
    ffi::OsStr,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use anyhow::{bail, Context};

/// A running PostgreSQL cluster of its own.
#[derive(Debug)]
pub struct TestPostgres {
    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub url: String,
    pub port: u16,
    bin: PathBuf,
    dir: PathBuf,
    run_as: Option<String>,
}

impl TestPostgres {
    /// Creates and starts a cluster (about 1–2 s).
    pub fn start() -> anyhow::Result<Self> {
        let bin = postgres_bin()?;
        let root = std::env::temp_dir().join(format!("uraiden-pg-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
        let run_as = rustix::process::geteuid().is_root().then(|| "postgres".to_owned());
        if run_as.is_some() {
            let (uid, gid) = postgres_ids()?;
            std::os::unix::fs::chown(&root, Some(uid), Some(gid))
                .with_context(|| format!("giving {} to the postgres user", root.display()))?;
        }
        let dir = root.join("data");
        let mut cluster = Self { url: String::new(), port: 0, bin, dir, run_as };
        cluster
            .run(
                "initdb",
                [
                    OsStr::new("-D"),
                    cluster.dir.as_os_str(),
                    OsStr::new("-U"),
                    OsStr::new("postgres"),
                    OsStr::new("--auth=trust"),
                    OsStr::new("--no-sync"),
                    OsStr::new("-E"),
                    OsStr::new("UTF8"),
                ],
            )
            .context("initdb")?;
        // A port another process takes between here and the start fails the start: try again.
        let mut last = None;
        for _ in 0..5 {
            let port = free_port()?;
            let options = format!(
                "-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c max_connections=200",
                root.display()
            );
            let log = root.join("postgres.log");
            match cluster.run(
                "pg_ctl",
                [
                    OsStr::new("start"),
                    OsStr::new("-w"),
                    OsStr::new("-D"),
                    cluster.dir.as_os_str(),
                    OsStr::new("-l"),
                    log.as_os_str(),
                    OsStr::new("-o"),
                    OsStr::new(&options),
                ],
            ) {
                Ok(_) => {
                    cluster.port = port;
                    cluster.url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
                    return Ok(cluster);
                }
                Err(error) => last = Some(error.context(std::fs::read_to_string(&log).unwrap_or_default())),
            }
        }
        Err(last.expect("tried at least once"))
    }

    /// A new empty database in this cluster, and its URL.
    pub fn create_database(&self, name: &str) -> anyhow::Result<String> {
        let port = self.port.to_string();
        self.run("createdb", ["-h", "127.0.0.1", "-p", &port, "-U", "postgres", name]).context("createdb")?;
        Ok(format!("postgres://postgres@127.0.0.1:{}/{name}", self.port))
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    fn run<I, S>(&self, tool: &str, args: I) -> anyhow::Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let program = self.bin.join(tool);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(&program);
                command
            }
            None => Command::new(&program),
        };
        let output = command.args(args).output().with_context(|| format!("running {}", program.display()))?;
        if !output.status.success() {
            bail!(
                "{tool} failed ({}): {}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(output)
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        if self.port != 0 {
            let _ = self.run(
                "pg_ctl",
                [
                    OsStr::new("stop"),
                    OsStr::new("-m"),
                    OsStr::new("immediate"),
                    OsStr::new("-D"),
                    self.dir.as_os_str(),
                ],
            );
        }
        if let Some(root) = self.dir.parent() {
            let _ = std::fs::remove_dir_all(root);
        }
    }
}

/// Debian's PostgreSQL binaries (`$URAIDEN_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`).
fn postgres_bin() -> anyhow::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("URAIDEN_PG_BIN") {
        return Ok(bin.into());
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL is not installed (no /usr/lib/postgresql): run scripts/setup.sh")?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .context("no initdb under /usr/lib/postgresql/*/bin: run scripts/setup.sh")
}

fn postgres_ids() -> anyhow::Result<(u32, u32)> {
    let id = |flag: &str| -> anyhow::Result<u32> {
        let output = Command::new("id").args([flag, "postgres"]).output().context("running id")?;
        if !output.status.success() {
            bail!("no postgres user: install Debian's postgresql package (scripts/setup.sh)");
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().parse()?)
    };
    Ok((id("-u")?, id("-g")?))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
