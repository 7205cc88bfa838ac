//! R42 across processes on one SQLite file: a consumer killed between receiving and
//! acknowledging receives the rest again, and two waiting processes both wake on one
//! commit. The children are this test binary run again (`r42_child`).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use carespace::Carespace;
use carespace::testsuite::cases::{self, Child};
use carespace_sqlite::SqliteStore;

const DB_VAR: &str = "CARESPACE_R42_CHILD_DB";
const ROLE_VAR: &str = "CARESPACE_R42_CHILD_ROLE";

/// The child: does nothing unless started by a test below.
#[test]
fn r42_child() {
    let (Ok(path), Ok(role)) = (std::env::var(DB_VAR), std::env::var(ROLE_VAR)) else { return };
    cases::r42_child(&Carespace::new(SqliteStore::open(path).unwrap()), &role);
}

fn spawner(path: &Path) -> impl Fn(&str) -> Child {
    let path = PathBuf::from(path);
    move |role| {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["--exact", "r42_child", "--nocapture", "--test-threads=1"])
            .env(DB_VAR, &path)
            .env(ROLE_VAR, role)
            .stderr(Stdio::null());
        Child::spawn(command)
    }
}

#[test]
fn r42_a_consumer_killed_before_acknowledging_receives_the_batch_again() {
    let path = common::fresh_db("r42-kill");
    let service = Carespace::new(SqliteStore::open(&path).unwrap());
    cases::r42_a_consumer_killed_before_acknowledging_receives_the_batch_again(&service, &spawner(&path));
}

#[test]
fn r42_two_waiting_processes_both_wake_on_one_commit() {
    let path = common::fresh_db("r42-wake");
    let service = Carespace::new(SqliteStore::open(&path).unwrap());
    cases::r42_two_waiting_processes_both_wake_on_one_commit(&service, &spawner(&path));
}
