//! The async facade on `MemoryStore`, on both tokio runtime flavours; the blocking API
//! called on a runtime thread works there too.
#![allow(missing_docs)]

use std::sync::Arc;

#[tokio::test(flavor = "current_thread")]
async fn async_facade_and_blocking_calls_on_a_current_thread_runtime() {
    carespace::testsuite::on_a_tokio_runtime(Arc::new(carespace::MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_facade_and_blocking_calls_on_a_multi_thread_runtime() {
    carespace::testsuite::on_a_tokio_runtime(Arc::new(carespace::MemoryStore::new())).await;
}
