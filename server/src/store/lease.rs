//! Which instance leads: follows the chain and performs the on-chain duties. With an SQLite
//! file there is one instance (the file is locked), and it always leads. With PostgreSQL the
//! leader holds a session-level advisory lock on a connection of its own: when the instance
//! dies, PostgreSQL ends its session and releases the lock, and another instance, trying every
//! [`LEASE_RETRY`], takes it over, and starts leading [`LEASE_SETTLE`] later: by then an old
//! leader whose lease connection broke has noticed (it checks every [`LEASE_RETRY`], and a dead
//! server within the connection's TCP bounds) and stopped, so two instances never lead at once.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc, Arc,
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use postgres::Client;

use super::{model::DatabaseUrl, postgres::connect};

/// How often a follower tries to take the lease, and the leader checks that it still holds it.
pub const LEASE_RETRY: Duration = Duration::from_secs(1);

/// How long a new holder of the lease waits before leading: more than two of the old leader's
/// checks.
pub const LEASE_SETTLE: Duration = Duration::from_millis(2_500);

/// The advisory lock key of the lease (per database: one receiver per database).
const LEASE_LOCK: i64 = 0x7572_6169_6465_6e02; // "uraiden" + 2

/// This instance's leadership. Dropping it gives the lease up.
#[derive(Debug)]
pub struct Leadership {
    leading: Arc<AtomicBool>,
    contender: Option<Contender>,
}

#[derive(Debug)]
struct Contender {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Leadership {
    /// The only instance: leads for good.
    pub fn alone() -> Self {
        Self { leading: Arc::new(AtomicBool::new(true)), contender: None }
    }

    /// Contends for the lease of the database at `url` on a thread and connection of its own.
    pub fn contend(url: DatabaseUrl) -> std::io::Result<Self> {
        let leading = Arc::new(AtomicBool::new(false));
        let (stop, stopped) = mpsc::channel();
        let flag = Arc::clone(&leading);
        let thread = std::thread::Builder::new()
            .name("uraiden-lease".into())
            .spawn(move || hold_lease(&url, &flag, &stopped))?;
        Ok(Self { leading, contender: Some(Contender { stop, thread }) })
    }

    /// Whether this instance leads now.
    pub fn is_leader(&self) -> bool {
        self.leading.load(Ordering::Acquire)
    }

    /// Whether other instances may lead instead (a shared database).
    pub fn is_shared(&self) -> bool {
        self.contender.is_some()
    }
}

impl Drop for Leadership {
    fn drop(&mut self) {
        if let Some(contender) = self.contender.take() {
            drop(contender.stop);
            let _ = contender.thread.join();
        }
    }
}

/// The contender's loop: connect, try the lock, and once held check the connection every
/// [`LEASE_RETRY`]; any failure drops the connection (releasing the lock if PostgreSQL still
/// counts it) and stops leading before the next try. Ends when the [`Leadership`] is dropped.
fn hold_lease(url: &DatabaseUrl, leading: &AtomicBool, stopped: &mpsc::Receiver<()>) {
    let mut connection: Option<Client> = None;
    // Since when this instance holds the lock (it leads once it has held it LEASE_SETTLE).
    let mut held_since: Option<Instant> = None;
    loop {
        let held = match connection.as_mut() {
            None => match connect(url) {
                Ok(client) => {
                    connection = Some(client);
                    continue;
                }
                Err(error) => {
                    tracing::warn!(database = %url, %error, "the lease connection failed; retrying");
                    false
                }
            },
            Some(client) => {
                let check = if held_since.is_some() {
                    client.simple_query("SELECT 1").map(|_| true)
                } else {
                    client.query_one("SELECT pg_try_advisory_lock($1)", &[&LEASE_LOCK]).map(|row| row.get(0))
                };
                match check {
                    Ok(held) => held,
                    Err(error) => {
                        tracing::warn!(database = %url, %error, "the lease connection failed; reconnecting");
                        connection = None;
                        false
                    }
                }
            }
        };
        held_since = if held { Some(held_since.unwrap_or_else(Instant::now)) } else { None };
        let lead = held_since.is_some_and(|since| since.elapsed() >= LEASE_SETTLE);
        let was = leading.swap(lead, Ordering::AcqRel);
        if lead && !was {
            tracing::info!(database = %url, "this instance now leads: it follows the chain and performs the duties");
        } else if was && !lead {
            tracing::warn!(database = %url, "this instance lost the lease: another one may lead now");
            connection = None;
        }
        if !matches!(stopped.recv_timeout(LEASE_RETRY), Err(mpsc::RecvTimeoutError::Timeout)) {
            leading.store(false, Ordering::Release);
            return; // the connection closes here, and the lock with it
        }
    }
}
