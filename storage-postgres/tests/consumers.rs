//! R42 across processes on one PostgreSQL schema: a consumer killed between receiving
//! and acknowledging receives the rest again, and two processes waiting on
//! `LISTEN`/`NOTIFY` both wake on one commit. The children are this test binary run
//! again (`r42_child`).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::process::{Command, Stdio};

use carespace::Carespace;
use carespace::testsuite::cases::{self, Child};

const SCHEMA_VAR: &str = "CARESPACE_R42_CHILD_SCHEMA";
const ROLE_VAR: &str = "CARESPACE_R42_CHILD_ROLE";

/// The child: does nothing unless started by a test below.
#[test]
fn r42_child() {
    let (Ok(schema), Ok(role)) = (std::env::var(SCHEMA_VAR), std::env::var(ROLE_VAR)) else { return };
    cases::r42_child(&Carespace::new(common::store_in(&schema)), &role);
}

fn spawner(schema: String) -> impl Fn(&str) -> Child {
    move |role| {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["--exact", "r42_child", "--nocapture", "--test-threads=1"])
            .env(SCHEMA_VAR, &schema)
            .env(ROLE_VAR, role)
            .stderr(Stdio::null());
        Child::spawn(command)
    }
}

fn schema(label: &str) -> String {
    format!("r42_{label}_{}", std::process::id())
}

#[test]
fn r42_a_consumer_killed_before_acknowledging_receives_the_batch_again() {
    let schema = schema("kill");
    let service = Carespace::new(common::store_in(&schema));
    cases::r42_a_consumer_killed_before_acknowledging_receives_the_batch_again(&service, &spawner(schema));
}

#[test]
fn r42_two_waiting_processes_both_wake_on_one_commit() {
    let schema = schema("wake");
    let service = Carespace::new(common::store_in(&schema));
    cases::r42_two_waiting_processes_both_wake_on_one_commit(&service, &spawner(schema));
}
