//! The core conformance suite, unchanged, on SQLite: in memory, and in a file (where a
//! separate reader connection and WAL are in play).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // test code: a panic is a failed test

mod common;

mod in_memory {
    carespace::conformance_suite!(|| carespace_sqlite::SqliteStore::open_in_memory().unwrap());
}

mod in_a_file {
    use super::common::fresh_db;

    carespace::conformance_suite!(|| carespace_sqlite::SqliteStore::open(fresh_db("conformance")).unwrap());
}
