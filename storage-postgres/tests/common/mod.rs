//! Helpers shared by this crate's tests: the database the tests use, and a fresh
//! schema per store so that tests do not see each other's rows.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use carespace::store::{Access, ReadTx, WriteTx};
use carespace::{Error, Store, UserId, WorkspaceId};
use carespace_postgres::{PostgresOptions, PostgresStore};

/// `CARESPACE_PG_URL`, which `make test` sets to its throwaway cluster. A test run
/// without it fails rather than skipping PostgreSQL silently.
pub(crate) fn url() -> String {
    std::env::var("CARESPACE_PG_URL")
        .unwrap_or_else(|_| panic!("set CARESPACE_PG_URL (make test-postgres starts a throwaway cluster and sets it)"))
}

/// A store in a schema of its own.
pub(crate) fn fresh_store() -> Scratch {
    fresh_store_on(&url())
}

/// A store on `url` in a schema of its own.
pub(crate) fn fresh_store_on(url: &str) -> Scratch {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let schema = format!("t{}_{n}", std::process::id());
    Scratch { store: Some(store_on(url, &schema)), schema }
}

/// A store in a schema of its own that drops the schema when the test lets go of it, so
/// that a run leaves nothing behind on a server that is not a throwaway one. A test
/// that panics keeps its schema, to be looked at.
pub(crate) struct Scratch {
    store: Option<PostgresStore>,
    schema: String,
}

impl Scratch {
    fn store(&self) -> &PostgresStore {
        self.store.as_ref().expect("the store lives until the scratch is dropped")
    }
}

impl Store for Scratch {
    fn read(&self, f: &mut dyn FnMut(&dyn ReadTx) -> Result<(), Error>) -> Result<(), Error> {
        self.store().read(f)
    }

    fn write(&self, f: &mut dyn FnMut(&mut dyn WriteTx) -> Result<(), Error>) -> Result<(), Error> {
        self.store().write(f)
    }

    fn access(&self, workspace: WorkspaceId, user: UserId) -> Result<Option<Access>, Error> {
        self.store().access(workspace, user)
    }

    fn last_event_seq(&self) -> Result<u64, Error> {
        self.store().last_event_seq()
    }

    fn wait_for_event(&self, after: u64, timeout: Duration) -> Result<bool, Error> {
        self.store().wait_for_event(after, timeout)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // The store's connections close first, so that nothing holds the schema open.
        drop(self.store.take());
        drop(Dropped(std::mem::take(&mut self.schema)));
    }
}

/// Drops the schema it names when it goes, unless the test panicked (the schema stays,
/// to be looked at): for a test whose stores share a schema it names itself.
pub(crate) struct Dropped(pub(crate) String);

impl std::ops::Deref for Dropped {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Drop for Dropped {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let sql = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.0);
        // The sync client runs a runtime of its own, which cannot start inside a tokio
        // test's: it runs on a thread of its own.
        std::thread::spawn(move || {
            let mut admin = postgres::Client::connect(&url(), postgres::NoTls).unwrap();
            admin.batch_execute(&sql).unwrap();
        })
        .join()
        .unwrap();
    }
}

/// A store in `schema` (created if missing).
pub(crate) fn store_in(schema: &str) -> PostgresStore {
    store_on(&url(), schema)
}

fn store_on(url: &str, schema: &str) -> PostgresStore {
    let options = PostgresOptions { pool_size: 4, schema: Some(schema.to_owned()), ..PostgresOptions::default() };
    PostgresStore::connect_with(url, options).unwrap_or_else(|e| panic!("connecting to PostgreSQL: {e}"))
}

/// The directory of the test cluster's TLS material (`ca.crt`, which signed the server's
/// certificate for `localhost`; `other-ca.crt`, which signed nothing it serves).
pub(crate) fn tls_dir() -> String {
    std::env::var("CARESPACE_PG_TLS_DIR")
        .unwrap_or_else(|_| panic!("set CARESPACE_PG_TLS_DIR (make test-postgres's throwaway cluster sets it)"))
}

/// A `key=value` connection string to the test cluster over TCP to `host`, with `tls`
/// (`sslmode=…`, `sslrootcert=…`) and the application name `name` appended.
pub(crate) fn tcp_url(host: &str, name: &str, tls: &str) -> String {
    let port = std::env::var("CARESPACE_PG_TLS_PORT")
        .unwrap_or_else(|_| panic!("set CARESPACE_PG_TLS_PORT (make test-postgres's throwaway cluster sets it)"));
    format!("host={host} port={port} user=postgres dbname=postgres application_name={name} {tls}")
}

/// Whether the server sees TLS on every connection named `name`; `None` if it sees none.
pub(crate) fn encrypted(name: &str) -> Option<bool> {
    let mut admin = postgres::Client::connect(&url(), postgres::NoTls).unwrap();
    let sql = "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
               WHERE a.application_name = $1";
    admin.query_one(sql, &[&name]).unwrap().get(0)
}

/// Whether `schema` exists (a store that failed to connect must not have made it).
pub(crate) fn schema_exists(schema: &str) -> bool {
    let mut admin = postgres::Client::connect(&url(), postgres::NoTls).unwrap();
    let sql = "SELECT count(*) FROM pg_namespace WHERE nspname = $1";
    admin.query_one(sql, &[&schema]).unwrap().get::<_, i64>(0) > 0
}
