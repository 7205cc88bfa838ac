//! After the server drops a store's connections (a restart, a failover, an
//! administrator's `pg_terminate_backend`), the store goes on with new ones. A command
//! within `check_after` of the connection last working skips the round trip of the
//! check, but still reads what the server sent meanwhile, so a connection the server
//! closed is replaced before the command uses it. (Only a connection lost without a
//! word from the server, a network cut, can still fail the one command that finds it.)
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::time::Duration;

use carespace::{Carespace, OrganisationKind};
use carespace_postgres::{PostgresOptions, PostgresStore};

/// Terminates the connections of the store named `name` (its application name) and
/// waits until the server has closed them; how many there were.
fn drop_connections(name: &str) -> usize {
    let mut admin = postgres::Client::connect(&common::url(), postgres::NoTls).unwrap();
    let sql = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1";
    let dropped = admin.query(sql, &[&name]).unwrap().len();
    let left = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1";
    for _ in 0..1000 {
        if admin.query_one(left, &[&name]).unwrap().get::<_, i64>(0) == 0 {
            return dropped;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the server did not close {name}'s connections within 10 s");
}

/// A service on a pool of one connection, which the server sees as `name`.
fn service(name: &str, check_after: Duration) -> Carespace {
    let url = common::url();
    let url = if url.contains("://") {
        format!("{url}{}application_name={name}", if url.contains('?') { '&' } else { '?' })
    } else {
        format!("{url} application_name={name}")
    };
    let options =
        PostgresOptions { pool_size: 1, schema: Some(name.to_owned()), check_after, ..PostgresOptions::default() };
    Carespace::new(PostgresStore::connect_with(&url, options).unwrap())
}

#[test]
fn a_connection_the_server_dropped_is_checked_and_replaced() {
    let name = common::Dropped(format!("checked{}", std::process::id()));
    let service = service(&name, Duration::ZERO);
    let org = service.register_organisation("Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
    assert_eq!(drop_connections(&name), 1, "the pool's one connection");
    // The check at checkout finds it gone; the pool makes another.
    assert_eq!(service.organisation(org.id).unwrap().id, org.id);
}

#[test]
fn inside_the_window_a_connection_the_server_closed_is_seen_and_replaced() {
    let name = common::Dropped(format!("unchecked{}", std::process::id()));
    let service = service(&name, Duration::from_secs(600));
    let org = service.register_organisation("Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
    assert_eq!(drop_connections(&name), 1);
    let second = service.register_organisation("Second".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
    let names: Vec<String> =
        service.events_since(0, 100).unwrap().iter().map(|e| e.kind.type_name().to_owned()).collect();
    assert_eq!(names, ["organisation_registered", "organisation_registered"], "each command written once");
    assert_ne!(second.id, org.id);
}
