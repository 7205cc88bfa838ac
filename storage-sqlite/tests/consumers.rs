//! R42 across processes on one SQLite file: a consumer killed between receiving and
//! acknowledging receives the rest again, and two waiting processes both wake on one
//! commit. The children are this test binary run again (`r42_child`).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::path::PathBuf;

use carespace::Carespace;
use carespace::testsuite::cases::{self, Child};
use carespace_sqlite::SqliteStore;

const DB_VAR: &str = "CARESPACE_R42_CHILD_DB";

/// The child: does nothing unless started by a test below.
#[test]
fn r42_child() {
    let (Some(role), Ok(path)) = (cases::r42_child_role(), std::env::var(DB_VAR)) else { return };
    cases::r42_child(&Carespace::new(SqliteStore::open(path).unwrap()), &role);
}

/// A fresh file, a service on it, and children on the same file.
fn on_one_file(label: &str) -> (Carespace, impl Fn(&str) -> Child) {
    let path: PathBuf = common::fresh_db(label);
    let service = Carespace::new(SqliteStore::open(&path).unwrap());
    (service, move |role: &str| Child::of_this_test(role, DB_VAR, path.as_os_str()))
}

#[test]
fn r42_a_consumer_killed_before_acknowledging_receives_the_batch_again() {
    let (service, spawn) = on_one_file("r42-kill");
    cases::r42_a_consumer_killed_before_acknowledging_receives_the_batch_again(&service, &spawn);
}

#[test]
fn r42_two_waiting_processes_both_wake_on_one_commit() {
    let (service, spawn) = on_one_file("r42-wake");
    cases::r42_two_waiting_processes_both_wake_on_one_commit(&service, &spawn);
}
