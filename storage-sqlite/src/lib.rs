//! `carespace-sqlite`: a durable [`Store`] in one SQLite file (rusqlite, bundled SQLite).
//!
//! ```
//! use carespace::{Carespace, OrganisationKind};
//! use carespace_sqlite::SqliteStore;
//!
//! let dir = std::env::temp_dir().join(format!("carespace-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("workspaces.sqlite3");
//! let service = Carespace::new(SqliteStore::open(&path)?);
//! let trust = service.register_organisation("Barts Health NHS Trust".parse()?, OrganisationKind::NhsTrust, None)?;
//! drop(service);
//!
//! let reopened = Carespace::new(SqliteStore::open(&path)?);
//! assert_eq!(reopened.organisation(trust.id)?.name.as_str(), "Barts Health NHS Trust");
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), carespace::Error>(())
//! ```
//!
//! # Design
//! One writer connection and a pool of reader connections per store
//! ([`SqliteOptions::readers`]), in WAL mode: reads run in parallel with each other and
//! with a write, each seeing a consistent snapshot. Every command is one
//! `BEGIN IMMEDIATE` transaction holding its rows and its events, so two writers (threads
//! with their own stores, or processes) take turns on the file's write lock, waiting up
//! to the busy timeout. Foreign keys are on; the schema's constraints back core's rules
//! up. Prepared statements are cached per connection.
#![forbid(unsafe_code)]

mod db;
mod error;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use carespace::store::{Access, ReadTx, Store, WriteTx};
use carespace::{Error, StorageError, UserId, WorkspaceId};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};

use crate::db::view;
use crate::error::SqlResultExt;
pub use crate::schema::{SCHEMA_VERSION, schema_of};

/// How hard SQLite works to keep a committed command through a power cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Durability {
    /// `synchronous=FULL` (the default, for clinical data): every commit is flushed to
    /// disk (an fsync of the WAL) before the command returns. A command that returned
    /// `Ok` survives a crash of the process, the operating system or the power.
    #[default]
    Full,
    /// `synchronous=NORMAL`: commits are flushed at WAL checkpoints rather than on every
    /// commit. Still safe against a crash of the *process*, and the database is never
    /// corrupted, but a power cut or OS crash can lose the last commands that returned
    /// `Ok` (join requests, approvals) — roughly the writes since the last checkpoint.
    /// Choose it only where that loss is acceptable.
    Normal,
}

/// Settings for opening a [`SqliteStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// See [`Durability`].
    pub durability: Durability,
    /// How long a command waits for another writer (thread or process) before failing
    /// with a retryable conflict.
    pub busy_timeout: Duration,
    /// How many times a write that hit a conflict is retried before its error is returned.
    pub conflict_retries: u32,
    /// How many read-only connections the store keeps, so that reads run in parallel
    /// (a slow discovery never holds up a permission check). The default is the number
    /// of CPUs, at least 2; 0 is taken as 1. An in-memory database has its one
    /// connection and ignores this.
    pub readers: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        Self {
            durability: Durability::Full,
            busy_timeout: Duration::from_secs(5),
            conflict_retries: 3,
            readers: cpus.max(2),
        }
    }
}

/// A [`Store`] in a SQLite database: a file shared by threads and processes, or memory.
#[derive(Debug)]
pub struct SqliteStore {
    /// `None` for an in-memory database, which only one connection can see. Declared
    /// before the writer so it is dropped first: the last connection to close
    /// checkpoints the WAL and removes the `-wal` and `-shm` files, which a read-only
    /// connection cannot do.
    readers: Option<Readers>,
    writer: Mutex<Connection>,
    path: Option<PathBuf>,
    options: SqliteOptions,
}

/// The read-only connections. A read takes the number of an idle one (waiting only
/// when every one is in use), locks it, which never waits, and gives the number back
/// when done.
#[derive(Debug)]
struct Readers {
    connections: Vec<Mutex<Connection>>,
    idle: Mutex<Vec<usize>>,
    returned: Condvar,
}

impl Readers {
    fn take(&self) -> Reader<'_> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(index) = idle.pop()
                && let Some(conn) = self.connections.get(index)
            {
                let conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
                return Reader { conn, index, pool: self };
            }
            tracing::trace!("every SQLite reader is busy; waiting for one");
            idle = self.returned.wait(idle).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// A reader taken from [`Readers`], given back when dropped (a panic in the read too).
struct Reader<'a> {
    conn: MutexGuard<'a, Connection>,
    index: usize,
    pool: &'a Readers,
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        self.pool.idle.lock().unwrap_or_else(PoisonError::into_inner).push(self.index);
        self.pool.returned.notify_one();
    }
}

/// The connection a read uses: a pooled reader, or an in-memory database's only one.
enum ReadConnection<'a> {
    Pooled(Reader<'a>),
    Writer(MutexGuard<'a, Connection>),
}

impl std::ops::Deref for ReadConnection<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match self {
            Self::Pooled(reader) => &reader.conn,
            Self::Writer(guard) => guard,
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed, and migrating) the database at `path` with the default
    /// options: `synchronous=FULL`, a 5 s busy timeout.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Opens the database at `path` with `options`. Refuses a database whose schema is
    /// newer than this code.
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let mut writer = Connection::open(&path).map_err(|e| opening(&path, e))?;
        let prepare = |writer: &mut Connection| -> Result<(), Error> {
            configure(writer, &options)?;
            schema::refuse_foreign(writer)?;
            writer.pragma_update(None, "journal_mode", "WAL").sql()?;
            Ok(schema::migrate(writer, SCHEMA_VERSION)?)
        };
        prepare(&mut writer).map_err(|e| in_file(&path, e))?;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut connections = Vec::new();
        for _ in 0..options.readers.max(1) {
            let reader = Connection::open_with_flags(&path, flags).map_err(|e| opening(&path, e))?;
            configure(&reader, &options)?;
            connections.push(Mutex::new(reader));
        }
        let idle = Mutex::new((0..connections.len()).collect());
        let readers = Readers { connections, idle, returned: Condvar::new() };
        Ok(Self { writer: Mutex::new(writer), readers: Some(readers), path: Some(path), options })
    }

    /// A private in-memory database (for tests and throw-away runs).
    pub fn open_in_memory() -> Result<Self, Error> {
        let options = SqliteOptions::default();
        let mut conn = Connection::open_in_memory().sql()?;
        configure(&conn, &options)?;
        schema::migrate(&mut conn, SCHEMA_VERSION)?;
        Ok(Self { writer: Mutex::new(conn), readers: None, path: None, options })
    }

    /// The file, for a file database.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The options it was opened with.
    pub fn options(&self) -> &SqliteOptions {
        &self.options
    }

    /// Runs SQLite's `PRAGMA integrity_check`: `"ok"` when the file is sound.
    pub fn integrity_check(&self) -> Result<String, Error> {
        let conn = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(conn.query_row("PRAGMA integrity_check", [], |row| row.get(0)).sql()?)
    }

    /// Writes a consistent copy of the database to the new file `to` with SQLite's
    /// `VACUUM INTO`: the database as one read transaction sees it, compacted, while
    /// other connections and processes go on writing. Refuses a file that exists, and
    /// removes a partial copy if the backup fails.
    pub fn backup_to(&self, to: impl AsRef<Path>) -> Result<(), Error> {
        let to = to.as_ref();
        let failed = |message: String| Error::Storage(StorageError::new(carespace::StorageErrorKind::Other, message));
        if to.symlink_metadata().is_ok() {
            return Err(failed(format!("will not back up to {}: the file exists", to.display())));
        }
        let target = to.to_str().ok_or_else(|| failed(format!("the backup path {} is not UTF-8", to.display())))?;
        let conn = self.read_connection();
        let done = conn.execute("VACUUM INTO ?1", [target]).map_err(|e| {
            let message = format!("cannot back up to {}: {e}", to.display());
            Error::Storage(StorageError::new(carespace::StorageErrorKind::Other, message).with_source(e))
        });
        if done.is_err() {
            let _ = std::fs::remove_file(to);
        }
        done.map(drop)
    }

    /// Runs `f` with the writer connection, outside any transaction: for diagnostics
    /// (`EXPLAIN QUERY PLAN`, schema comparison) in tests and tools.
    pub fn with_connection<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        let conn = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        f(&conn)
    }
}

impl SqliteStore {
    /// The connection a read uses: an idle reader, or the only connection of an
    /// in-memory database.
    fn read_connection(&self) -> ReadConnection<'_> {
        match &self.readers {
            Some(readers) => ReadConnection::Pooled(readers.take()),
            None => ReadConnection::Writer(self.writer.lock().unwrap_or_else(PoisonError::into_inner)),
        }
    }
}

/// Names the file in a storage failure met while opening it.
fn in_file(path: &Path, err: Error) -> Error {
    match err {
        Error::Storage(err) => {
            let message = format!("cannot open the SQLite database {}: {err}", path.display());
            Error::Storage(StorageError::new(err.kind(), message).with_source(err))
        }
        other => other,
    }
}

fn opening(path: &Path, err: rusqlite::Error) -> Error {
    let message = format!("cannot open the SQLite database {}: {err}", path.display());
    Error::Storage(StorageError::new(carespace::StorageErrorKind::Other, message).with_source(err))
}

fn configure(conn: &Connection, options: &SqliteOptions) -> Result<(), Error> {
    conn.busy_timeout(options.busy_timeout).sql()?;
    conn.pragma_update(None, "foreign_keys", "ON").sql()?;
    let synchronous = match options.durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", synchronous).sql()?;
    conn.set_prepared_statement_cache_capacity(128);
    // Query planner stability: plans never depend on bound values. Without it, a
    // statement whose parameter SQLite compares with a partial index's condition is
    // marked to be re-prepared whenever that parameter is bound again — that is, on every
    // execution of a cached statement (callgrind showed 90% of a permission check there).
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).sql()?;
    Ok(())
}

impl Store for SqliteStore {
    fn read(&self, f: &mut dyn FnMut(&dyn ReadTx) -> Result<(), Error>) -> Result<(), Error> {
        let conn = self.read_connection();
        let tx = Tx::begin(&conn, "BEGIN DEFERRED")?;
        f(&view(&conn))?;
        // It wrote nothing: ending it either way is the same.
        tx.end("COMMIT")
    }

    fn access(&self, workspace: WorkspaceId, user: UserId) -> Result<Option<Access>, Error> {
        // Each statement sees one snapshot by itself: no BEGIN/COMMIT around them. A
        // member's answer is one statement; anyone else's second statement answers
        // whole by itself.
        let conn = self.read_connection();
        Ok(view(&conn).access(workspace, user)?)
    }

    fn write(&self, f: &mut dyn FnMut(&mut dyn WriteTx) -> Result<(), Error>) -> Result<(), Error> {
        let conn = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut attempt = 1;
        loop {
            let result = (|| -> Result<(), Error> {
                let tx = Tx::begin(&conn, "BEGIN IMMEDIATE")?;
                f(&mut view(&conn))?;
                tx.end("COMMIT")
            })();
            match result {
                Err(e) if e.is_conflict() && attempt <= self.options.conflict_retries => {
                    // SQLite already waited `busy_timeout` for the other writer.
                    tracing::warn!(
                        target: "carespace::sqlite",
                        attempt,
                        busy_timeout_ms = self.options.busy_timeout.as_millis(),
                        "the database stayed busy (another writer); trying the command again"
                    );
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// An open transaction that rolls back when dropped unless [`Tx::end`] ended it (on an
/// error, a failed `COMMIT`, or a panic in the caller's closure). `BEGIN` and `COMMIT`
/// are cached statements: parsing them anew cost a fifth of a permission check.
struct Tx<'a> {
    conn: &'a Connection,
}

impl<'a> Tx<'a> {
    fn begin(conn: &'a Connection, sql: &str) -> Result<Self, Error> {
        conn.prepare_cached(sql).sql()?.execute([]).sql()?;
        Ok(Self { conn })
    }

    fn end(self, sql: &str) -> Result<(), Error> {
        self.conn.prepare_cached(sql).sql()?.execute([]).sql()?;
        Ok(())
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if !self.conn.is_autocommit() {
            // Nothing to report to: the error (or panic) that got here is what the caller sees.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}
