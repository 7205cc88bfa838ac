//! WAL checkpoints off the command path: a thread of the store's own copies committed
//! pages from the `-wal` file into the database, so a command seldom waits for it.
//!
//! SQLite's automatic checkpoint runs inside the `COMMIT` that takes the WAL past 1,000
//! pages: that one command writes (and, under `synchronous=FULL`, flushes) a thousand
//! pages before it returns. At NHS-England scale that was the whole of the commands'
//! p99 (a workspace's creation: p50 0.6 ms, p99 10–16 ms). Here the writer's WAL hook
//! wakes this thread, which runs a `PASSIVE` checkpoint on its own connection: it
//! copies what no reader still needs, never waits for a lock, and never blocks the
//! writer.
//!
//! A checkpoint that runs beside a busy writer never quite finishes (frames arrive
//! while it copies), and SQLite starts the log again from its beginning only after one
//! that did: under a steady stream of commands the `-wal` would grow without end. So
//! the commit that finds the log past [`CHECKPOINT_IN_COMMIT_AT`] pages checkpoints it
//! itself, as SQLite's automatic checkpoint would, with no frame arriving meanwhile: a
//! bound on the log, paid by one command in many thousands of pages.
//!
//! When the store is dropped the thread's connection is the last one to close, which
//! checkpoints the rest and removes the `-wal` and `-shm` files.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

use carespace::Error;
use rusqlite::Connection;
use rusqlite::wal::CheckpointMode;

use crate::error::SqlResultExt;

/// The WAL size, in pages, after which a commit wakes the checkpointer: SQLite's own
/// default for its automatic checkpoint.
pub(crate) const WAKE_AT_PAGES: i32 = 1000;

/// The WAL size, in pages, at which the committing command checkpoints by itself (about
/// 40 MB with 4 KiB pages).
pub(crate) const CHECKPOINT_IN_COMMIT_AT: i32 = 10 * WAKE_AT_PAGES;

/// The thread; dropping it waits for the checkpoint in progress, if any, and closes the
/// thread's connection. Drop it after the writer, so that its connection is the last
/// to close (SQLite removes the `-wal` only then).
#[derive(Debug)]
pub(crate) struct Checkpointer {
    /// Told to stop before the thread is woken a last time. The writer's hook dropping
    /// its sender cannot be the signal: SQLite drops the hook before the writer's file
    /// is closed, and the two connections would close at once, neither of them last.
    stop: Arc<AtomicBool>,
    wake: SyncSender<()>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread with its own connection to `path` (configured by `configure`),
    /// and hooks `writer` so that a commit past [`WAKE_AT_PAGES`] wakes it. This turns
    /// off the writer's automatic checkpoint.
    pub(crate) fn start(
        path: &Path,
        writer: &mut Connection,
        configure: impl FnOnce(&Connection) -> Result<(), Error>,
    ) -> Result<Self, Error> {
        let conn = Connection::open(path).sql()?;
        configure(&conn)?;
        // One wake-up waits at most: a commit while a checkpoint runs asks for one more.
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("carespace-sqlite-checkpoint".into())
            .spawn(move || run(&conn, &woken, &stopping))
            .map_err(|e| {
                let message = format!("cannot start the SQLite checkpoint thread: {e}");
                Error::Storage(carespace::StorageError::new(carespace::StorageErrorKind::Other, message))
            })?;
        let hooked = wake.clone();
        writer
            .wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: i32| {
                if pages >= CHECKPOINT_IN_COMMIT_AT {
                    // Busy while the thread checkpoints: the next commit tries again.
                    if let Err(e) = wal.checkpoint_v2(CheckpointMode::PASSIVE) {
                        tracing::debug!(target: "carespace::sqlite", error = %e, "no checkpoint in this commit");
                    }
                } else if pages >= WAKE_AT_PAGES {
                    wakeup(&hooked);
                }
                // Never an error: SQLite would report it as the failure of a statement
                // whose commit has already happened.
                Ok(())
            }))
            .sql()?;
        Ok(Self { stop, wake, thread: Some(thread) })
    }
}

/// Asks for a checkpoint unless one is already asked for: a full channel means one is,
/// and a closed one that the thread has stopped.
fn wakeup(wake: &SyncSender<()>) {
    let _ = wake.try_send(());
}

/// Checkpoints once per wake-up until told to stop.
fn run(conn: &Connection, woken: &Receiver<()>, stop: &AtomicBool) {
    while woken.recv().is_ok() && !stop.load(Ordering::Acquire) {
        match conn.wal_checkpoint_v2(Some("main"), CheckpointMode::PASSIVE) {
            Ok((pages, copied)) => {
                tracing::debug!(target: "carespace::sqlite", pages, copied, "checkpointed the WAL");
            }
            // Nothing is lost: the pages stay in the WAL, and the next wake-up (or the
            // last connection's close) copies them.
            Err(e) => tracing::warn!(target: "carespace::sqlite", error = %e, "a WAL checkpoint failed"),
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // A wake-up already waiting (a full channel) wakes the thread just as well.
        wakeup(&self.wake);
        if let Some(thread) = self.thread.take() {
            // The thread catches nothing and panics on nothing; a join error could only
            // repeat a panic already reported.
            let _ = thread.join();
        }
    }
}
