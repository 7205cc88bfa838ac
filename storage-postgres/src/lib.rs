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
//! # Design
//! A pool of connections (r2d2). Every command is one `SERIALIZABLE` transaction,
//! retried from the start on a serialization failure (SQLSTATE 40001) or a deadlock
//! (40P01), a bounded number of times with a growing pause; reads run in a
//! `REPEATABLE READ READ ONLY` transaction, one consistent snapshot. Event numbers come
//! from a one-row counter updated in the writing transaction, so the log has no gaps.
//! The schema is applied by numbered migrations under an advisory lock, so several
//! processes starting at once migrate exactly once; the version is kept in a table.
#![forbid(unsafe_code)]

mod db;
mod error;

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use carespace::store::{Access, ReadTx, Store, WriteTx};
use carespace::{Error, StorageError, StorageErrorKind, UserId, WorkspaceId};
use postgres::{Client, IsolationLevel, NoTls, Statement};

use crate::db::PgTx;
use crate::error::{PgResultExt, pool};

/// The migrations, in order; migration `i` (from 0) takes the schema to version `i + 1`.
const MIGRATIONS: &[(&str, &str)] = &[("001_schema", include_str!("../migrations/001_schema.sql"))];

/// The schema version this code writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// The advisory lock key under which migrations run (with the schema's name hashed as
/// the second key): ASCII "CARE".
const MIGRATION_LOCK: i32 = 0x4341_5245;

/// The advisory lock key writers take turns on (with the schema's name hashed as the
/// second key): ASCII "CSWR".
const WRITE_LOCK: i32 = 0x4353_5752;

/// Settings for [`PostgresStore::connect_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// The most connections the pool holds.
    pub pool_size: u32,
    /// How long a command waits for a free connection.
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
    /// the same idea, at 500 ms). If the server dropped such a connection meanwhile,
    /// that one command fails with a storage error, writing nothing, and the connection
    /// is checked and replaced before the next. `Duration::ZERO` checks every time.
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

/// A pooled connection with its prepared statements.
struct Connection {
    client: Client,
    statements: HashMap<String, Statement>,
    /// When the server last answered on it (a command that worked, or the pool's
    /// check); `None` while a command runs on it and after one failed.
    answered: Option<Instant>,
}

/// Makes [`Connection`]s for the pool (r2d2's own manager for postgres hands out bare
/// clients, with nowhere to keep prepared statements).
#[derive(Debug)]
struct Manager {
    config: postgres::Config,
    /// [`PostgresOptions::check_after`].
    check_after: Duration,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Connection, postgres::Error> {
        Ok(Connection {
            client: self.config.connect(NoTls)?,
            statements: HashMap::new(),
            answered: Some(Instant::now()),
        })
    }

    fn is_valid(&self, conn: &mut Connection) -> Result<(), postgres::Error> {
        if conn.answered.is_some_and(|at| at.elapsed() < self.check_after) {
            return Ok(());
        }
        conn.client.simple_query("")?;
        conn.answered = Some(Instant::now());
        Ok(())
    }

    fn has_broken(&self, conn: &mut Connection) -> bool {
        conn.client.is_closed()
    }
}

/// A [`Store`] in a PostgreSQL database.
pub struct PostgresStore {
    pool: r2d2::Pool<Manager>,
    options: PostgresOptions,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("options", &self.options).finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgresql://user@host:port/database`) with the default
    /// options, migrating the schema if needed.
    pub fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with(url, PostgresOptions::default())
    }

    /// Connects with `options`. Refuses a database whose schema is newer than this code.
    pub fn connect_with(url: &str, options: PostgresOptions) -> Result<Self, Error> {
        let mut config: postgres::Config = url.parse().map_err(|e: postgres::Error| {
            Error::Storage(StorageError::new(StorageErrorKind::Other, format!("not a PostgreSQL URL: {e}")))
        })?;
        if let Some(schema) = &options.schema {
            if !schema.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') || schema.is_empty() {
                return Err(Error::Storage(StorageError::new(
                    StorageErrorKind::Other,
                    format!("“{schema}” is not a schema name Carespace uses (lower-case letters, digits, _)"),
                )));
            }
            config.options(&format!("-c search_path={schema}"));
        }
        let manager = Manager { config, check_after: options.check_after };
        let pool = r2d2::Pool::builder()
            .max_size(options.pool_size.max(1))
            .min_idle(Some(0))
            .connection_timeout(options.connection_timeout)
            .build(manager)
            .map_err(pool)?;
        let store = Self { pool, options };
        store.migrate()?;
        Ok(store)
    }

    /// The options it was opened with.
    pub fn options(&self) -> &PostgresOptions {
        &self.options
    }

    /// The schema version the database is at.
    pub fn schema_version(&self) -> Result<u32, Error> {
        let mut conn = self.pool.get().map_err(pool)?;
        let row = conn.client.query_one("SELECT coalesce(max(version), 0) FROM carespace_schema_version", &[]).pg()?;
        let version: i32 = row.try_get(0).pg()?;
        Ok(u32::try_from(version).unwrap_or(0))
    }

    /// The schema the tables are in: the one chosen, or the connection's default.
    fn schema(&self) -> &str {
        self.options.schema.as_deref().unwrap_or("public")
    }

    /// A connection from the pool, marked unproven until the command on it works.
    fn connection(&self) -> Result<r2d2::PooledConnection<Manager>, Error> {
        let mut conn = self.pool.get().map_err(pool)?;
        conn.answered = None;
        Ok(conn)
    }

    fn migrate(&self) -> Result<(), Error> {
        let mut conn = self.pool.get().map_err(pool)?;
        let mut tx = conn.client.transaction().pg()?;
        let schema = self.schema();
        tx.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", &[&MIGRATION_LOCK, &schema]).pg()?;
        if self.options.schema.is_some() {
            // The name was checked: lower-case letters, digits and underscores only.
            tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")).pg()?;
        }
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS carespace_schema_version (version integer PRIMARY KEY, applied_at bigint NOT NULL)",
        )
        .pg()?;
        let current: i32 = tx
            .query_one("SELECT coalesce(max(version), 0) FROM carespace_schema_version", &[])
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
        for (n, (_, sql)) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            tx.batch_execute(sql).pg()?;
            let version = i32::try_from(n + 1).unwrap_or(i32::MAX);
            tx.execute("INSERT INTO carespace_schema_version (version, applied_at) VALUES ($1, $2)", &[&version, &now])
                .pg()?;
        }
        tx.commit().pg()?;
        Ok(())
    }
}

impl Store for PostgresStore {
    fn read(&self, f: &mut dyn FnMut(&dyn ReadTx) -> Result<(), Error>) -> Result<(), Error> {
        let mut conn = self.connection()?;
        let Connection { client, statements, answered } = &mut *conn;
        let tx =
            client.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start().pg()?;
        let tx = PgTx { tx: RefCell::new(tx), statements: RefCell::new(statements) };
        f(&tx)?;
        tx.tx.into_inner().commit().pg()?;
        *answered = Some(Instant::now());
        Ok(())
    }

    fn access(&self, workspace: WorkspaceId, user: UserId) -> Result<Option<Access>, Error> {
        let mut conn = self.connection()?;
        let Connection { client, statements, answered } = &mut *conn;
        let access = db::access_alone(client, statements, workspace, user)?;
        *answered = Some(Instant::now());
        Ok(access)
    }

    fn write(&self, f: &mut dyn FnMut(&mut dyn WriteTx) -> Result<(), Error>) -> Result<(), Error> {
        // Writers take turns on the store's advisory lock, taken before the transaction
        // begins so that its snapshot is taken after the previous writer committed.
        // Without it, two busy clients on one ward starved each other: every write
        // updates the event counter, so overlapping SERIALIZABLE writers abort one
        // another, and a command could lose 16 times running (seen with 2 processes).
        let schema = self.schema();
        let mut locked = WriteLock::take(self.connection()?, schema)?;
        let Connection { client, statements, .. } = &mut *locked.conn;
        let result = run_serializable(client, statements, self.options.max_attempts, f);
        let released = locked.release();
        result?;
        released?;
        locked.conn.answered = Some(Instant::now());
        Ok(())
    }
}

/// The store's write lock, held by one pooled connection; released when dropped (a
/// panic in the caller's closure), so a connection never goes back to the pool holding it.
struct WriteLock<'s> {
    conn: r2d2::PooledConnection<Manager>,
    schema: &'s str,
    held: bool,
}

impl<'s> WriteLock<'s> {
    fn take(mut conn: r2d2::PooledConnection<Manager>, schema: &'s str) -> Result<Self, Error> {
        let Connection { client, statements, .. } = &mut *conn;
        let lock = db::cached(client, statements, "SELECT pg_advisory_lock($1, hashtext($2))").pg()?;
        client.execute(&lock, &[&WRITE_LOCK, &schema]).pg()?;
        Ok(Self { conn, schema, held: true })
    }

    fn release(&mut self) -> Result<(), Error> {
        self.held = false;
        let Connection { client, statements, .. } = &mut *self.conn;
        let unlock = db::cached(client, statements, "SELECT pg_advisory_unlock($1, hashtext($2))").pg()?;
        client.execute(&unlock, &[&WRITE_LOCK, &self.schema]).pg()?;
        Ok(())
    }
}

impl Drop for WriteLock<'_> {
    fn drop(&mut self) {
        if self.held {
            // Nothing to report to; if this fails the connection is broken and closing
            // it releases the lock.
            let _ = self.release();
        }
    }
}

/// Runs `f` in a `SERIALIZABLE` transaction, again from the start on a serialization
/// failure or deadlock, up to `max_attempts` times with a growing pause.
fn run_serializable(
    client: &mut Client,
    statements: &mut HashMap<String, Statement>,
    max_attempts: u32,
    f: &mut dyn FnMut(&mut dyn WriteTx) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut attempt = 1;
    loop {
        let result = (|| -> Result<(), Error> {
            let tx = client.build_transaction().isolation_level(IsolationLevel::Serializable).start().pg()?;
            let mut tx = PgTx { tx: RefCell::new(tx), statements: RefCell::new(&mut *statements) };
            f(&mut tx)?;
            tx.tx.into_inner().commit().pg()?;
            Ok(())
        })();
        match result {
            Err(e) if e.is_retryable() && attempt < max_attempts => {
                // A growing pause with some spread, so racing commands fall out of step.
                let spread = u64::from(std::process::id() % 7) + u64::from(attempt);
                std::thread::sleep(Duration::from_millis(u64::from(attempt) * 2 + spread));
                attempt += 1;
            }
            other => return other,
        }
    }
}
