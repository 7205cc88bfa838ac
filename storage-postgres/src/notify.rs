//! Waiting for the next event (R42) with `LISTEN`/`NOTIFY`: a trigger on the events
//! table notifies the channel `carespace_events` in the inserting transaction, so the
//! notification goes out when that transaction commits, and only then. Each store keeps
//! one listening connection, made on the first wait; every notification wakes every
//! waiter, which then reads the log's last number (a notification from another schema
//! costs that one read). If the listening connection breaks, waiters read the log's
//! last number every second until a later wait makes a new one.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use carespace::{Error, StorageError};
use tokio_postgres::Client;

use crate::error::PgResultExt;
use crate::{Manager, TARGET, wait};

/// The channel the events trigger notifies (`005_consumers.sql`).
pub(crate) const CHANNEL: &str = "carespace_events";

/// How long a waiter sleeps at most between two reads of the log's last number, should
/// a notification be lost with a broken connection.
const RECHECK: Duration = Duration::from_secs(1);

/// How many notifications the listening connection has received, and whether it is still
/// open; waiters sleep on `changed`.
#[derive(Debug, Default)]
pub(crate) struct Signal {
    state: Mutex<(u64, bool)>,
    changed: Condvar,
}

impl Signal {
    fn set(&self, update: impl FnOnce(&mut (u64, bool))) {
        update(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner));
        self.changed.notify_all();
    }

    /// A notification arrived.
    pub(crate) fn notified(&self) {
        self.set(|(count, _)| *count += 1);
    }

    /// The listening connection ended.
    pub(crate) fn closed(&self) {
        self.set(|(_, open)| *open = false);
    }

    fn count(&self) -> u64 {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).0
    }

    fn is_open(&self) -> bool {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).1
    }

    /// Sleeps until a notification after the `seen`-th, the connection's end, or `for_at_most`.
    fn sleep(&self, seen: u64, for_at_most: Duration) {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = self
            .changed
            .wait_timeout_while(state, for_at_most, |(count, open)| *count == seen && *open)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

/// The store's listening connection.
pub(crate) struct Listener {
    /// Kept so the connection stays open; it sends nothing after `LISTEN`.
    _client: Client,
    signal: Arc<Signal>,
}

impl Listener {
    fn open(manager: &Manager) -> Result<Self, StorageError> {
        let signal = Arc::new(Signal { state: Mutex::new((0, true)), changed: Condvar::new() });
        let client = manager.listen(Arc::clone(&signal))?;
        wait(client.batch_execute(&format!("LISTEN {CHANNEL}"))).pg()?;
        Ok(Self { _client: client, signal })
    }
}

/// Waits until `head()` is past `after` or `timeout` passes (see the module's docs).
pub(crate) fn wait_for_event(
    manager: &Manager,
    listener: &Mutex<Option<Listener>>,
    after: u64,
    timeout: Duration,
    head: impl Fn() -> Result<u64, Error>,
) -> Result<bool, Error> {
    let deadline = Instant::now() + timeout;
    let signal = {
        let mut listener = listener.lock().unwrap_or_else(PoisonError::into_inner);
        if listener.as_ref().is_none_or(|l| !l.signal.is_open()) {
            *listener = match Listener::open(manager) {
                Ok(opened) => Some(opened),
                Err(e) => {
                    tracing::warn!(target: TARGET, error = %e, "cannot LISTEN for events; reading the log every second");
                    None
                }
            };
        }
        listener.as_ref().map(|l| Arc::clone(&l.signal))
    };
    loop {
        // Counted before the read: a commit after the read notifies a later count.
        let seen = signal.as_ref().map(|s| s.count());
        if head()? > after {
            return Ok(true);
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(false);
        }
        let pause = (deadline - now).min(RECHECK);
        match (&signal, seen) {
            (Some(signal), Some(seen)) if signal.is_open() => signal.sleep(seen, pause),
            _ => std::thread::sleep(pause),
        }
    }
}
