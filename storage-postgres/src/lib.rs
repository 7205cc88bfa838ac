//! `carespace-postgres`: a [`Store`] on PostgreSQL, for deployments where many
//! application servers share one database.
//!
//! ```no_run
//! use carespace::Carespace;
//! use carespace_postgres::{PostgresOptions, PostgresStore};
//!
//! let service = Carespace::new(PostgresStore::connect("postgresql://carespace@db.internal/carespace")?);
//! let options = PostgresOptions { pool_size: 32, schema: Some("maternity".into()), ..Default::default() };
//! let other = Carespace::new(PostgresStore::connect_with("host=/run/postgresql user=carespace dbname=carespace", options)?);
//! # Ok::<(), carespace::Error>(())
//! ```
//!
//! # TLS
//! `sslmode` and `sslrootcert` in the connection string are honoured as libpq does
//! (rustls, with the system's trusted roots plus those of `sslrootcert`):
//!
//! | `sslmode` | TLS | the server's certificate |
//! |---|---|---|
//! | `disable` | never | — |
//! | `prefer` (the default) | if the server offers it | not checked |
//! | `require` | always | not checked (checked as `verify-ca` if `sslrootcert` is given) |
//! | `verify-ca` | always | signed by a trusted CA |
//! | `verify-full` | always | signed by a trusted CA and naming the host |
//!
//! A connection refused for any of these reasons is a storage error of kind
//! [`StorageErrorKind::Unavailable`] whose message says which check failed.
//!
//! # Async services
//! The calls block, as every [`Store`] does; they work on any thread, a tokio runtime's
//! included (blocking it: use [`carespace::tokio::AsyncCarespace`][async] there). A calling
//! thread drives its connection's I/O itself while it waits for an answer
//! (tokio-postgres over a non-blocking socket with a poll of its own, no runtime), so a
//! round trip costs no hand-off between threads. Only the connection that listens for
//! events (R42) runs on a background thread the store owns.
//!
//! [async]: https://docs.rs/carespace/latest/carespace/tokio/struct.AsyncCarespace.html
//!
//! # Design
//! A pool of connections (r2d2). Every command is one `SERIALIZABLE` transaction,
//! retried from the start on a serialization failure (SQLSTATE 40001) or a deadlock
//! (40P01), a bounded number of times with a growing pause; reads run in a
//! `REPEATABLE READ READ ONLY` transaction, one consistent snapshot. Statements travel
//! together: a transaction's `BEGIN` with its first read, and its writes (whose only
//! answer is whether they worked) with its `COMMIT`, so a command is two round trips:
//! its context, then its plan. A write's round trips go as one string, answered in one
//! flush; writers take turns by locking the event counter's table first thing. Event numbers come
//! from a one-row counter updated in the writing transaction, so the log has no gaps.
//! The schema is applied by numbered migrations under an advisory lock, so several
//! processes starting at once migrate exactly once; the version is kept in a table.
#![forbid(unsafe_code)]

mod conn;
mod db;
mod error;
mod link;
mod notify;
mod tls;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use carespace::store::{Access, ReadTx, Store, WriteTx};
use carespace::{Error, StorageError, StorageErrorKind, UserId, WorkspaceId};
use tokio_postgres::{AsyncMessage, Client};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::conn::Statements;
use crate::error::{PgResultExt, pool};
use crate::tls::SslMode;

/// The migrations, in order; migration `i` (from 0) takes the schema to version `i + 1`.
const MIGRATIONS: &[(&str, &str)] = &[
    ("001_schema", include_str!("../migrations/001_schema.sql")),
    ("002_directory", include_str!("../migrations/002_directory.sql")),
    ("003_discovery_pages", include_str!("../migrations/003_discovery_pages.sql")),
    ("004_discovery_search", include_str!("../migrations/004_discovery_search.sql")),
    ("005_consumers", include_str!("../migrations/005_consumers.sql")),
    ("006_member_lists", include_str!("../migrations/006_member_lists.sql")),
    ("007_kept_access", include_str!("../migrations/007_kept_access.sql")),
    ("008_updates_checked", include_str!("../migrations/008_updates_checked.sql")),
];

/// The version whose migration adds `organisation_prefixes`, filled in Rust after it.
const PREFIXES: usize = 2;
/// The version whose migration adds `workspace_prefixes`, filled in Rust after it.
const WORKSPACE_PREFIXES: usize = 4;
/// The version whose migration adds the name keys of users and memberships, filled in
/// Rust after it.
const MEMBER_LISTS: usize = 6;

/// The schema version this code writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// The advisory lock key under which migrations run (with the schema's name hashed as
/// the second key): ASCII "CARE".
const MIGRATION_LOCK: i32 = 0x4341_5245;

/// The tracing target of this crate's events.
const TARGET: &str = "carespace::postgres";

/// Settings for [`PostgresStore::connect_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// The most connections the pool holds.
    pub pool_size: u32,
    /// How long a command waits for a free connection, and how long making a connection
    /// may take when the connection string sets no `connect_timeout`.
    pub connection_timeout: Duration,
    /// How many times a command runs at most when it keeps meeting serialization
    /// failures or deadlocks, before the retryable error is returned.
    pub max_attempts: u32,
    /// The schema to keep the tables in (created if missing); `None` for the
    /// connection's default (`public`). Separate schemas keep separate stores in one
    /// database.
    pub schema: Option<String>,
    /// A pooled connection that last worked longer ago than this is checked with a
    /// round trip before a command uses it; one that worked more recently goes out
    /// unchecked, saving a round trip per command (HikariCP's "alive bypass window" is
    /// the same idea, at 500 ms). Either way what the server sent meanwhile is read
    /// first, so a connection it closed (a restart, `pg_terminate_backend`) is replaced
    /// before use; one lost without a word from the server (a network cut) fails the
    /// one command that finds it, with a storage error, writing nothing, and is replaced
    /// before the next. `Duration::ZERO` checks every time.
    pub check_after: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            pool_size: 16,
            connection_timeout: Duration::from_secs(10),
            max_attempts: 16,
            schema: None,
            check_after: Duration::from_millis(500),
        }
    }
}

/// Runs `future` to its end on the calling thread, which waits for it: a request on the
/// listening connection, whose I/O runs on the store's runtime (the pooled connections'
/// requests are waited for with [`link::Io::wait`], which drives their I/O itself). The
/// future is the client's side (a channel to the connection's task), so this works on
/// any thread; on a tokio runtime's thread it blocks that thread, as every blocking call
/// does, instead of panicking as a nested runtime would.
pub(crate) fn wait<F: Future>(future: F) -> F::Output {
    count_round_trip();
    futures_executor::block_on(future)
}

/// Counts one round trip in [`round_trips`].
pub(crate) fn count_round_trip() {
    ROUND_TRIPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

static ROUND_TRIPS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many times this process has waited on a PostgreSQL server so far: each wait is
/// one round trip (requests sent together, their answers awaited), a connection's start
/// counting once. A diagnostic for measuring what a command costs in latency: take the
/// difference across the calls of interest (the benchmarks do).
pub fn round_trips() -> u64 {
    ROUND_TRIPS.load(std::sync::atomic::Ordering::Relaxed)
}

/// A pooled connection with its prepared statements.
struct Connection {
    /// Declared before `io`, so that it goes first when a connection is dropped and the
    /// connection then says goodbye to the server ([`link::Io`]'s drop).
    client: Client,
    /// Carries the client's requests, on the thread that waits for them.
    io: link::Io,
    statements: Statements,
    /// When the server last answered on it (a command that worked, or the pool's
    /// check); `None` while a command runs on it and after one failed.
    answered: Option<Instant>,
}

/// Makes [`Connection`]s for the pool (r2d2 has no manager for tokio-postgres, and
/// ours keeps prepared statements beside each connection), and the store's listening
/// connection ([`notify`]), whose I/O runs on the store's runtime so that notifications
/// arrive while nobody waits.
#[derive(Clone)]
struct Manager {
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    /// The `sslmode` asked for, named in connection errors.
    mode: SslMode,
    /// The store's runtime, where the listening connection's task runs.
    runtime: tokio::runtime::Handle,
    /// [`PostgresOptions::check_after`].
    check_after: Duration,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = StorageError;

    fn connect(&self) -> Result<Connection, StorageError> {
        let (client, io) = link::connect(&self.config, &self.tls, self.mode)?;
        Ok(Connection { client, io, statements: Statements::default(), answered: Some(Instant::now()) })
    }

    fn is_valid(&self, conn: &mut Connection) -> Result<(), StorageError> {
        // A connection the server closed while it sat in the pool (a restart) is seen
        // at once, without a round trip.
        if conn.io.ended() {
            return Err(unavailable("the PostgreSQL server closed the connection".into()));
        }
        if conn.answered.is_some_and(|at| at.elapsed() < self.check_after) {
            return Ok(());
        }
        conn.io.wait(conn.client.simple_query("")).pg()?;
        conn.answered = Some(Instant::now());
        Ok(())
    }

    fn has_broken(&self, conn: &mut Connection) -> bool {
        conn.client.is_closed()
    }
}

impl Manager {
    /// The listening connection, its I/O driven on the store's runtime; notifications it
    /// receives are counted on `signal`.
    fn listen(&self, signal: Arc<notify::Signal>) -> Result<Client, StorageError> {
        let (config, tls) = (self.config.clone(), self.tls.clone());
        let task = self.runtime.spawn(async move {
            let (client, connection) = config.connect(tls).await?;
            tokio::spawn(drive(connection, signal));
            Ok::<_, tokio_postgres::Error>(client)
        });
        match wait(task) {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(e)) => Err(tls::refused(e, self.mode)),
            Err(e) => Err(unavailable(format!("the PostgreSQL connection task failed: {e}"))),
        }
    }
}

/// The listening connection's I/O until it ends, counting the notifications it receives.
async fn drive<S, T>(mut connection: tokio_postgres::Connection<S, T>, signal: Arc<notify::Signal>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match futures_util::future::poll_fn(|cx| connection.poll_message(cx)).await {
            Some(Ok(AsyncMessage::Notification(_))) => signal.notified(),
            // What `Connection`'s own future did with a server notice.
            Some(Ok(AsyncMessage::Notice(notice))) => {
                tracing::info!(target: TARGET, severity = notice.severity(), "{}", notice.message());
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                tracing::info!(target: TARGET, error = %e, "a PostgreSQL connection ended");
                break;
            }
            None => break,
        }
    }
    signal.closed();
}

fn unavailable(message: String) -> StorageError {
    StorageError::new(StorageErrorKind::Unavailable, message)
}

fn config_error(message: String) -> Error {
    Error::Storage(StorageError::new(StorageErrorKind::Other, message))
}

/// The runtime the connections' I/O runs on: one worker thread. Shut down without
/// waiting when the store is dropped, which may happen on a tokio runtime's thread,
/// where waiting would panic.
struct Background(Option<tokio::runtime::Runtime>);

impl Background {
    fn start() -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("carespace-postgres")
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| config_error(format!("cannot start the PostgreSQL I/O thread: {e}")))?;
        Ok(Self(Some(runtime)))
    }

    fn handle(&self) -> Option<tokio::runtime::Handle> {
        self.0.as_ref().map(|runtime| runtime.handle().clone())
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// A [`Store`] in a PostgreSQL database.
pub struct PostgresStore {
    // Declared before the runtime, so the connections close before it stops.
    pool: r2d2::Pool<Manager>,
    /// The connection that waits for events (R42), made on the first wait.
    listener: Mutex<Option<notify::Listener>>,
    /// Makes that connection.
    manager: Manager,
    options: PostgresOptions,
    _background: Background,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("options", &self.options).finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgresql://user@host:port/database`, or libpq's
    /// `key=value` form) with the default options, migrating the schema if needed.
    /// `sslmode` and `sslrootcert` choose TLS (see the [crate docs](crate#tls)).
    pub fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with(url, PostgresOptions::default())
    }

    /// Connects with `options`. Refuses a database whose schema is newer than this code.
    /// The first connection is made before this returns, so a database that cannot be
    /// reached, or whose certificate fails the checks, is an error here, saying why.
    pub fn connect_with(url: &str, options: PostgresOptions) -> Result<Self, Error> {
        let (rest, tls) = tls::split(url).map_err(|e| config_error(format!("not a PostgreSQL URL: {e}")))?;
        let mut config: tokio_postgres::Config =
            rest.parse().map_err(|e: tokio_postgres::Error| config_error(format!("not a PostgreSQL URL: {e}")))?;
        config.ssl_mode(tls.mode.wire());
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connection_timeout);
        }
        if let Some(schema) = &options.schema {
            if !schema.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') || schema.is_empty() {
                return Err(config_error(format!(
                    "“{schema}” is not a schema name Carespace uses (lower-case letters, digits, _)"
                )));
            }
            config.options(format!("-c search_path={schema}"));
        }
        let connector = tls::connector(&tls).map_err(config_error)?;
        let background = Background::start()?;
        let runtime = background.handle().ok_or_else(|| config_error("the PostgreSQL I/O thread stopped".into()))?;
        let manager = Manager { config, tls: connector, mode: tls.mode, runtime, check_after: options.check_after };
        // The first connection is made here rather than by the pool, which would retry
        // a refused one until its timeout and then report only that it timed out; it
        // migrates the schema and then leaves.
        let mut first = r2d2::ManageConnection::connect(&manager)?;
        migrate(&mut first, options.schema.as_deref())?;
        drop(first);
        let pool = r2d2::Pool::builder()
            .max_size(options.pool_size.max(1))
            .min_idle(Some(0))
            .connection_timeout(options.connection_timeout)
            .build(manager.clone())
            .map_err(pool)?;
        Ok(Self { pool, listener: Mutex::new(None), manager, options, _background: background })
    }

    /// The options it was opened with.
    pub fn options(&self) -> &PostgresOptions {
        &self.options
    }

    /// The schema version the database is at.
    pub fn schema_version(&self) -> Result<u32, Error> {
        let conn = self.pool.get().map_err(pool)?;
        let row = conn
            .io
            .wait(conn.client.query_one("SELECT coalesce(max(version), 0) FROM carespace_schema_version", &[]))
            .pg()?;
        let version: i32 = row.try_get(0).pg()?;
        Ok(u32::try_from(version).unwrap_or(0))
    }

    /// A connection from the pool, marked unproven until the command on it works.
    fn connection(&self) -> Result<r2d2::PooledConnection<Manager>, Error> {
        let mut conn = self.pool.get().map_err(pool)?;
        conn.answered = None;
        Ok(conn)
    }
}

/// Runs `f` over `0..len` in consecutive ranges of at most 10,000: the rows a migration
/// fills go as arrays (`unnest`), a statement per range, rather than a round trip per
/// row, which at national scale (a million users) would take minutes.
fn in_chunks(
    len: usize,
    mut f: impl FnMut(std::ops::Range<usize>) -> Result<(), StorageError>,
) -> Result<(), StorageError> {
    const CHUNK: usize = 10_000;
    (0..len).step_by(CHUNK).try_for_each(|start| f(start..len.min(start + CHUNK)))
}

/// The rows `r` of `column` (a range [`in_chunks`] made, so within it).
fn part<T>(column: &[T], r: std::ops::Range<usize>) -> &[T] {
    column.get(r).unwrap_or_default()
}

/// The schema the tables are in: `chosen`, or the connection's default.
fn schema_name(chosen: Option<&str>) -> &str {
    chosen.unwrap_or("public")
}

/// Brings the schema up to [`SCHEMA_VERSION`] under the migration lock, so that several
/// processes starting at once migrate exactly once.
fn migrate(conn: &mut Connection, chosen: Option<&str>) -> Result<(), Error> {
    let Connection { client, io, .. } = conn;
    let tx = io.wait(client.transaction()).pg()?;
    let schema = schema_name(chosen);
    io.wait(tx.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", &[&MIGRATION_LOCK, &schema])).pg()?;
    if chosen.is_some() {
        // The name was checked: lower-case letters, digits and underscores only.
        io.wait(tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))).pg()?;
    }
    io.wait(tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS carespace_schema_version (version integer PRIMARY KEY, applied_at bigint NOT NULL)",
    ))
    .pg()?;
    let current: i32 = io
        .wait(tx.query_one("SELECT coalesce(max(version), 0) FROM carespace_schema_version", &[]))
        .pg()?
        .try_get(0)
        .pg()?;
    let current = u32::try_from(current).unwrap_or(0);
    if current > SCHEMA_VERSION {
        return Err(Error::Storage(StorageError::new(
            StorageErrorKind::Incompatible,
            format!(
                "the database has schema version {current}, newer than this version of Carespace understands \
                 ({SCHEMA_VERSION}); upgrade Carespace to open it"
            ),
        )));
    }
    let now = i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos()).unwrap_or(i64::MAX);
    for (n, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = i32::try_from(n + 1).unwrap_or(i32::MAX);
        tracing::info!(target: TARGET, migration = name, version, "migrating the schema");
        io.wait(tx.batch_execute(sql)).pg()?;
        if n + 1 == PREFIXES {
            // The prefixes of the organisations already there: folding a name is Rust's job
            // (one fold for every backend). No organisation is closed yet: `closed_on` is
            // new in this version.
            let (mut prefixes, mut organisations, mut relevances, mut keys) = (vec![], vec![], vec![], vec![]);
            for row in io.wait(tx.query("SELECT id, name FROM organisations", &[])).pg()? {
                let (id, name): (uuid::Uuid, String) = (row.try_get(0).pg()?, row.try_get(1).pg()?);
                let key = carespace::directory::name_key(&name);
                for (prefix, relevance) in carespace::directory::indexed_prefixes(&name) {
                    prefixes.push(prefix);
                    organisations.push(id);
                    relevances.push(i64::from(relevance));
                    keys.push(key.clone());
                }
            }
            let fill = "INSERT INTO organisation_prefixes (prefix, organisation, closed, relevance, name_key) \
                 SELECT p, o, 0, r, k FROM unnest($1::text[], $2::uuid[], $3::int8[], $4::text[]) AS v (p, o, r, k)";
            in_chunks(prefixes.len(), |r| {
                let values: [&(dyn tokio_postgres::types::ToSql + Sync); 4] = [
                    &part(&prefixes, r.clone()),
                    &part(&organisations, r.clone()),
                    &part(&relevances, r.clone()),
                    &part(&keys, r),
                ];
                io.wait(tx.execute(fill, &values)).pg().map(drop)
            })?;
        }
        if n + 1 == WORKSPACE_PREFIXES {
            // The prefixes of the active workspaces already there (R11), likewise.
            let (mut organisations, mut prefixes, mut keys, mut workspaces) = (vec![], vec![], vec![], vec![]);
            let query = "SELECT id, organisation, name, name_key FROM workspaces WHERE status = 'active'";
            for row in io.wait(tx.query(query, &[])).pg()? {
                let (id, organisation): (uuid::Uuid, uuid::Uuid) = (row.try_get(0).pg()?, row.try_get(1).pg()?);
                let (name, key): (String, String) = (row.try_get(2).pg()?, row.try_get(3).pg()?);
                for (prefix, _) in carespace::directory::indexed_prefixes(&name) {
                    organisations.push(organisation);
                    prefixes.push(prefix);
                    keys.push(key.clone());
                    workspaces.push(id);
                }
            }
            let fill = "INSERT INTO workspace_prefixes (organisation, prefix, name_key, workspace) \
                 SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[])";
            in_chunks(prefixes.len(), |r| {
                let values: [&(dyn tokio_postgres::types::ToSql + Sync); 4] = [
                    &part(&organisations, r.clone()),
                    &part(&prefixes, r.clone()),
                    &part(&keys, r.clone()),
                    &part(&workspaces, r),
                ];
                io.wait(tx.execute(fill, &values)).pg().map(drop)
            })?;
        }
        if n + 1 == MEMBER_LISTS {
            // Every user's name key (Rust's fold, as for new users), copied to their
            // memberships.
            let (mut ids, mut keys) = (vec![], vec![]);
            for row in io.wait(tx.query("SELECT id, name FROM users", &[])).pg()? {
                let (id, name): (uuid::Uuid, String) = (row.try_get(0).pg()?, row.try_get(1).pg()?);
                let name: carespace::PersonName =
                    name.parse().map_err(|e| Error::Storage(carespace_sql::corrupt("user name", e)))?;
                ids.push(id);
                keys.push(name.sort_key());
            }
            let fill = "UPDATE users u SET name_key = v.k FROM unnest($1::uuid[], $2::text[]) AS v (id, k) \
                 WHERE u.id = v.id";
            in_chunks(ids.len(), |r| {
                io.wait(tx.execute(fill, &[&part(&ids, r.clone()), &part(&keys, r)])).pg().map(drop)
            })?;
            let copy = "UPDATE memberships m SET name_key = u.name_key FROM users u WHERE u.id = m.\"user\"";
            io.wait(tx.batch_execute(copy)).pg()?;
        }
        io.wait(
            tx.execute("INSERT INTO carespace_schema_version (version, applied_at) VALUES ($1, $2)", &[&version, &now]),
        )
        .pg()?;
    }
    io.wait(tx.commit()).pg()?;
    Ok(())
}

impl Store for PostgresStore {
    /// One `REPEATABLE READ READ ONLY` transaction: its `BEGIN` goes with the first read,
    /// its `COMMIT` alone.
    fn read(&self, f: &mut dyn FnMut(&dyn ReadTx) -> Result<(), Error>) -> Result<(), Error> {
        let mut conn = self.connection()?;
        let Connection { client, io, statements, answered } = &mut *conn;
        let bracket = conn::Bracket {
            open: vec!["BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY".into()],
            commit: vec!["COMMIT".into()],
            rollback: vec!["ROLLBACK".into()],
            learn_xid: false,
            strings: false,
        };
        let tx = conn::view(client, io, statements, bracket);
        match f(&tx) {
            Ok(()) => tx.0.commit()?,
            Err(e) => return Err(rolled_back(&tx.0, e)),
        }
        *answered = Some(Instant::now());
        Ok(())
    }

    fn access(&self, workspace: WorkspaceId, user: UserId) -> Result<Option<Access>, Error> {
        let mut conn = self.connection()?;
        let Connection { client, io, statements, answered } = &mut *conn;
        let access = conn::access_alone(client, io, statements, workspace, user)?;
        *answered = Some(Instant::now());
        Ok(access)
    }

    /// `LISTEN`/`NOTIFY` on the store's own listening connection, made on the first wait:
    /// a trigger notifies the channel `carespace_events` in each transaction that appends
    /// events, so only a commit wakes a waiter.
    fn wait_for_event(&self, after: u64, timeout: Duration) -> Result<bool, Error> {
        notify::wait_for_event(&self.manager, &self.listener, after, timeout, || self.last_event_seq())
    }

    /// One `SERIALIZABLE` transaction inside the store's write lock, retried on a
    /// conflict (`run_serializable`). If the connection broke while its `COMMIT` was on
    /// the way, the server is asked what became of it (`settle`).
    fn write(&self, f: &mut dyn FnMut(&mut dyn WriteTx) -> Result<(), Error>) -> Result<(), Error> {
        let mut conn = self.connection()?;
        let Connection { client, io, statements, answered } = &mut *conn;
        let mut doubt = None;
        let result = run_serializable(client, io, statements, self.options.max_attempts, f, &mut doubt);
        if result.is_ok() {
            *answered = Some(Instant::now());
        }
        // The broken connection goes back first: the pool drops it and makes another.
        drop(conn);
        match (result, doubt) {
            (Err(lost), Some(doubt)) => self.settle(doubt, lost),
            (result, _) => result,
        }
    }
}

impl PostgresStore {
    /// What became of a write whose `COMMIT` was sent on a connection that then broke:
    /// asks the server, on a new connection (waiting for it up to the pool's timeout, as
    /// through a restart), for the transaction's status (`txid_status`). Committed: the
    /// command succeeded. Aborted, or an id the server has not reached since a crash (so
    /// its commit was never made durable): nothing was written, and the retryable
    /// `Unavailable` error says so. If the server restarted meanwhile, a status it gives
    /// may be another transaction's that got the same id after a crash, so it is not
    /// trusted; instead the log is asked for the command's first event at the number it
    /// would have taken (`InDoubt::written`): the restart ended the transaction, so
    /// either it is there (committed) or it never will be. Only when neither can be
    /// learned does an error say the command may have been written.
    fn settle(&self, doubt: conn::InDoubt, lost: Error) -> Result<(), Error> {
        // One question on a connection from the pool: the fate, or `None` while the
        // transaction is still in progress (its backend has not yet noticed the broken
        // connection).
        let ask = |learned: &conn::Learned| -> Result<Option<Fate>, Error> {
            let mut conn = self.connection()?;
            let sql = "SELECT txid_status($1), pg_postmaster_start_time()::text";
            let row = match conn.io.wait(conn.client.query_one(sql, &[&learned.xid])) {
                Ok(row) => row,
                // "transaction ID … is in the future": past the ids the server
                // recovered, so its commit never reached the log.
                Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::INVALID_PARAMETER_VALUE) => {
                    return Ok(Some(Fate::Aborted));
                }
                Err(e) => return Err(Error::Storage(error::storage(e))),
            };
            let status: Option<String> = row.try_get(0).map_err(|e| Error::Storage(error::storage(e)))?;
            let now_started: String = row.try_get(1).map_err(|e| Error::Storage(error::storage(e)))?;
            if now_started != learned.started {
                let Connection { client, io, statements, .. } = &mut *conn;
                return Ok(Some(match doubt.written(client, io, statements)? {
                    Some(true) => Fate::Committed,
                    Some(false) => Fate::Aborted,
                    None => Fate::Unknown("the server restarted since, and the command appended no event"),
                }));
            }
            Ok(match status.as_deref() {
                Some("committed") => Some(Fate::Committed),
                Some("aborted") => Some(Fate::Aborted),
                Some("in progress") => None,
                _ => Some(Fate::Unknown("its transaction's status is not known")),
            })
        };
        let asked = || -> Result<Fate, Error> {
            let Some(learned) = &doubt.learned else { return Ok(Fate::Unknown("its transaction's id is not known")) };
            // As long as a command waits for a connection, and at least 5 s.
            let deadline = Instant::now() + self.options.connection_timeout.max(Duration::from_secs(5));
            while Instant::now() < deadline {
                match ask(learned) {
                    Ok(Some(fate)) => return Ok(fate),
                    Ok(None) => {}
                    // The pool's idle connections died with the server too: ask again
                    // on another.
                    Err(e) if e.is_retryable() => {}
                    Err(e) => return Err(e),
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Ok(Fate::Unknown("its transaction is still in progress, or the server cannot be reached"))
        };
        let fate = asked();
        tracing::warn!(target: TARGET, fate = ?fate.as_ref().ok(), "a PostgreSQL connection broke while committing");
        match fate {
            Ok(Fate::Committed) => Ok(()),
            Ok(Fate::Aborted) => Err(Error::Storage(StorageError::new(
                StorageErrorKind::Unavailable,
                format!(
                    "the connection to PostgreSQL broke before the command committed, so nothing was written ({lost}); run it again"
                ),
            ))),
            Ok(Fate::Unknown(why)) => Err(not_known(why)),
            Err(e) => Err(not_known(&format!("PostgreSQL cannot be asked: {e}"))),
        }
    }
}

/// The error of a command whose commit is in doubt and stays so, and `why`.
fn not_known(why: &str) -> Error {
    Error::Storage(StorageError::new(
        StorageErrorKind::Other,
        format!(
            "the connection to PostgreSQL broke while the command was committing and whether it was written is not \
             known ({why}); look before running it again"
        ),
    ))
}

/// What became of a write whose commit was in doubt ([`PostgresStore::settle`]).
#[derive(Debug)]
enum Fate {
    /// It committed: the command succeeded.
    Committed,
    /// It did not, and never will: nothing was written.
    Aborted,
    /// It cannot be learned, and why.
    Unknown(&'static str),
}

/// `error`, after rolling back the transaction it ended: the error the caller should
/// see, not a failed rollback's (which means the connection broke, ending the
/// transaction anyway; the pool replaces it).
fn rolled_back(tx: &conn::PgConn<'_>, error: Error) -> Error {
    if let Err(e) = tx.rollback() {
        tracing::info!(target: TARGET, error = %e, "a PostgreSQL rollback failed");
    }
    error
}

/// A write's bracket. Writers take turns on the event counter's table, locked in
/// `EXCLUSIVE` mode as the transaction's first statement: `LOCK TABLE` takes no snapshot,
/// so the transaction's snapshot is taken after the previous writer committed, and the
/// lock ends with the transaction, so releasing it costs no statement of its own. (Plain
/// reads of the counter still go on: `EXCLUSIVE` lets `SELECT` through.) Without taking
/// turns, two busy clients on one ward starved each other: every write updates the
/// event counter, so overlapping `SERIALIZABLE` writers abort one another, and a command
/// could lose 16 times running (seen with 2 processes).
///
/// Earlier builds took turns on a session advisory lock instead. While an earlier build
/// and this one write to one database (a rolling upgrade), a writer of each may overlap
/// with the other's: one of the two then fails on the counter's row and is retried, as
/// any conflict is; nothing is written wrongly.
fn write_bracket() -> conn::Bracket {
    conn::Bracket {
        open: vec!["BEGIN ISOLATION LEVEL SERIALIZABLE".into(), "LOCK TABLE event_counter IN EXCLUSIVE MODE".into()],
        commit: vec!["COMMIT".into()],
        rollback: vec!["ROLLBACK".into()],
        learn_xid: true,
        strings: true,
    }
}

/// Runs `f` in a `SERIALIZABLE` transaction, again from the start on a serialization
/// failure or deadlock, up to `max_attempts` times with a growing pause.
fn run_serializable(
    client: &mut Client,
    io: &link::Io,
    statements: &mut Statements,
    max_attempts: u32,
    f: &mut dyn FnMut(&mut dyn WriteTx) -> Result<(), Error>,
    doubt: &mut Option<conn::InDoubt>,
) -> Result<(), Error> {
    let mut attempt = 1;
    loop {
        let result = {
            let mut tx = conn::view(client, io, statements, write_bracket());
            let result = match f(&mut tx) {
                Ok(()) => tx.0.commit().map_err(Error::from),
                Err(e) => Err(rolled_back(&tx.0, e)),
            };
            *doubt = tx.0.in_doubt();
            result
        };
        match result {
            Err(e) if e.is_conflict() && attempt < max_attempts => {
                let sqlstate = match &e {
                    Error::Storage(s) => error::sqlstate(s),
                    _ => None,
                };
                tracing::warn!(
                    target: TARGET,
                    attempt,
                    sqlstate,
                    "a concurrent transaction conflicted (serialization failure or deadlock); trying the command again"
                );
                // A growing pause with some spread, so racing commands fall out of step.
                let spread = u64::from(std::process::id() % 7) + u64::from(attempt);
                std::thread::sleep(Duration::from_millis(u64::from(attempt) * 2 + spread));
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_row_once_in_order() {
        let ranges = |len| {
            let mut seen = Vec::new();
            in_chunks(len, |r| {
                seen.push(r);
                Ok(())
            })
            .unwrap();
            seen
        };
        assert_eq!(ranges(0), []);
        assert_eq!(ranges(10_000).first(), Some(&(0..10_000)));
        assert_eq!(ranges(10_000).len(), 1);
        assert_eq!(ranges(25_001), [0..10_000, 10_000..20_000, 20_000..25_001]);
    }
}
