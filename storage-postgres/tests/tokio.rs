//! The async facade on `PostgresStore`, on both tokio runtime flavours; the blocking API
//! called on a runtime thread works too (it blocks that thread): the connections' I/O
//! runs on the store's own thread, so nothing nests a runtime. The store is made and
//! dropped on the runtime's thread as well.
#![allow(missing_docs)]

mod common;

use std::sync::Arc;

#[tokio::test(flavor = "current_thread")]
async fn async_facade_and_blocking_calls_on_a_current_thread_runtime() {
    carespace::testsuite::on_a_tokio_runtime(Arc::new(common::fresh_store())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_facade_and_blocking_calls_on_a_multi_thread_runtime() {
    carespace::testsuite::on_a_tokio_runtime(Arc::new(common::fresh_store())).await;
}
