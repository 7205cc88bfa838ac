//! R42 across processes on one PostgreSQL schema: a consumer killed between receiving
//! and acknowledging receives the rest again, and two processes waiting on
//! `LISTEN`/`NOTIFY` both wake on one commit. The children are this test binary run
//! again (`r42_child`).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use carespace::Carespace;
use carespace::testsuite::cases::{self, Child};

const SCHEMA_VAR: &str = "CARESPACE_R42_CHILD_SCHEMA";

/// The child: does nothing unless started by a test below.
#[test]
fn r42_child() {
    let (Some(role), Ok(schema)) = (cases::r42_child_role(), std::env::var(SCHEMA_VAR)) else { return };
    cases::r42_child(&Carespace::new(common::store_in(&schema)), &role);
}

/// A fresh schema, a service on it, and children on the same schema.
fn in_one_schema(label: &str) -> (Carespace, impl Fn(&str) -> Child) {
    let schema = common::Dropped(format!("r42_{label}_{}", std::process::id()));
    let service = Carespace::new(common::store_in(&schema));
    (service, move |role: &str| Child::of_this_test(role, SCHEMA_VAR, schema.0.as_ref()))
}

#[test]
fn r42_a_consumer_killed_before_acknowledging_receives_the_batch_again() {
    let (service, spawn) = in_one_schema("kill");
    cases::r42_a_consumer_killed_before_acknowledging_receives_the_batch_again(&service, &spawn);
}

#[test]
fn r42_two_waiting_processes_both_wake_on_one_commit() {
    let (service, spawn) = in_one_schema("wake");
    cases::r42_two_waiting_processes_both_wake_on_one_commit(&service, &spawn);
}
