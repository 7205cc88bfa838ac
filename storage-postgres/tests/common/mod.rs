//! Helpers shared by this crate's tests: the database the tests use, and a fresh
//! schema per store so that tests do not see each other's rows.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};

use carespace_postgres::{PostgresOptions, PostgresStore};

/// `CARESPACE_PG_URL`, which `make test` sets to its throwaway cluster. A test run
/// without it fails rather than skipping PostgreSQL silently.
pub(crate) fn url() -> String {
    std::env::var("CARESPACE_PG_URL")
        .unwrap_or_else(|_| panic!("set CARESPACE_PG_URL (make test-postgres starts a throwaway cluster and sets it)"))
}

/// A store in a schema of its own.
pub(crate) fn fresh_store() -> PostgresStore {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let schema = format!("t{}_{n}", std::process::id());
    store_in(&schema)
}

/// A store in `schema` (created if missing).
pub(crate) fn store_in(schema: &str) -> PostgresStore {
    let options = PostgresOptions { pool_size: 4, schema: Some(schema.to_owned()), ..PostgresOptions::default() };
    PostgresStore::connect_with(&url(), options).unwrap_or_else(|e| panic!("connecting to PostgreSQL: {e}"))
}
