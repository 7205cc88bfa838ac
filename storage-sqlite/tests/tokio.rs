//! The async facade on `SqliteStore` (a file: WAL, the reader pool, fsync), on both tokio
//! runtime flavours; the blocking API called on a runtime thread works too (it blocks
//! that thread).
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use carespace_sqlite::SqliteStore;

#[tokio::test(flavor = "current_thread")]
async fn async_facade_and_blocking_calls_on_a_current_thread_runtime() {
    let store = SqliteStore::open(common::fresh_db("tokio-current")).unwrap();
    carespace::testsuite::on_a_tokio_runtime(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_facade_and_blocking_calls_on_a_multi_thread_runtime() {
    let store = SqliteStore::open(common::fresh_db("tokio-multi")).unwrap();
    carespace::testsuite::on_a_tokio_runtime(Arc::new(store)).await;
}
