//! Upgrading a PostgreSQL schema made by an earlier Carespace: the migrations that fill
//! new columns and tables (R40's organisation search prefixes and R11's workspace search
//! prefixes, R22 and R43's member list keys, all in Rust; R11's member counts) fill the
//! rows already there as new rows are filled.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // test code: a panic is a failed test

mod common;

use carespace::directory::OrganisationSearch;
use carespace::page::PageRequest;
use carespace::testsuite::WholeLists;
use carespace::{Carespace, DiscoveryFilter, MembershipState};

/// The migrations before the member list's keys (version 6), as `migrate` runs them.
const BEFORE_MEMBER_LISTS: [&str; 5] = [
    include_str!("../migrations/001_schema.sql"),
    include_str!("../migrations/002_directory.sql"),
    include_str!("../migrations/003_discovery_pages.sql"),
    include_str!("../migrations/004_discovery_search.sql"),
    include_str!("../migrations/005_consumers.sql"),
];

#[test]
fn r11_r22_r43_upgrading_keys_and_counts_the_members_already_there() {
    let schema = format!("upgrade_{}", std::process::id());
    let mut client = postgres::Client::connect(&common::url(), postgres::NoTls).unwrap();
    client
        .batch_execute(&format!(
            "CREATE SCHEMA {schema}; SET search_path TO {schema};
             CREATE TABLE carespace_schema_version (version integer PRIMARY KEY, applied_at bigint NOT NULL);"
        ))
        .unwrap();
    for (version, sql) in (1_i32..).zip(BEFORE_MEMBER_LISTS) {
        client.batch_execute(sql).unwrap();
        client
            .execute("INSERT INTO carespace_schema_version (version, applied_at) VALUES ($1, 0)", &[&version])
            .unwrap();
    }
    // An admin, and two approved members whose names sort differently under Rust's fold
    // (é after z, byte by byte) than under a locale's collation.
    client
        .batch_execute(
            "INSERT INTO organisations (id, name, kind, registered_at) VALUES ('00000000-0000-0000-0000-000000000001', 'Trust', 'nhs_trust', 0);
             INSERT INTO users (id, email, name, registered_at)
             VALUES ('00000000-0000-0000-0000-000000000002', 'a@nhs.net', 'Admin', 0),
                    ('00000000-0000-0000-0000-000000000005', 'e@nhs.net', 'Émile', 0),
                    ('00000000-0000-0000-0000-000000000006', 'z@nhs.net', 'ZOE', 0);
             INSERT INTO workspaces (id, organisation, name, name_key, speciality, description, status, created_by, created_at)
             VALUES ('00000000-0000-0000-0000-000000000003', '00000000-0000-0000-0000-000000000001', 'Ward', 'ward', 501, '',
                     'active', '00000000-0000-0000-0000-000000000002', 0);
             INSERT INTO memberships (workspace, \"user\", role, status, joined_at, updated_at)
             VALUES ('00000000-0000-0000-0000-000000000003', '00000000-0000-0000-0000-000000000005', 'member', 'approved', 0, 0),
                    ('00000000-0000-0000-0000-000000000003', '00000000-0000-0000-0000-000000000002', 'admin', 'approved', 0, 0),
                    ('00000000-0000-0000-0000-000000000003', '00000000-0000-0000-0000-000000000006', 'member', 'approved', 0, 0);",
        )
        .unwrap();

    let s = Carespace::new(common::store_in(&schema)); // migrates to the current version
    let admin = "00000000-0000-0000-0000-000000000002".parse().unwrap();
    let ward: carespace::WorkspaceId = "00000000-0000-0000-0000-000000000003".parse().unwrap();
    let first = s.members(admin, ward, &PageRequest::first(2)).unwrap();
    let rest = s.members(admin, ward, &PageRequest::after(first.next.clone().unwrap(), Some(2))).unwrap();
    let listed: Vec<(String, MembershipState)> =
        first.items.iter().chain(&rest.items).map(|m| (m.user.name.as_str().to_owned(), m.state)).collect();
    let expected =
        [("Admin", MembershipState::Admin), ("ZOE", MembershipState::Member), ("Émile", MembershipState::Member)];
    assert_eq!(listed, expected.map(|(name, state)| (name.to_owned(), state)));
    let keys: Vec<String> = client
        .query("SELECT name_key FROM memberships ORDER BY name_key", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(keys, ["admin", "zoe", "émile"]);
    // Discovery's count of current members (R11): counted at the upgrade, then kept.
    let count = |client: &mut postgres::Client| -> i32 {
        client.query_one("SELECT member_count FROM workspaces", &[]).unwrap().get(0)
    };
    assert_eq!(count(&mut client), 3);
    s.leave("00000000-0000-0000-0000-000000000006".parse().unwrap(), ward).unwrap();
    assert_eq!(count(&mut client), 2);
    client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).unwrap();
}

/// From the first schema: the organisations and workspaces already there are found by
/// their names' word prefixes once migrations 2 and 4 have filled the search tables
/// (as arrays, in chunks), their users' name keys are filled by migration 6, and the
/// permission check's answer is kept on the membership by migration 7.
#[test]
fn r11_r40_upgrading_from_the_first_schema_indexes_the_names_already_there() {
    let schema = format!("upgrade_first_{}", std::process::id());
    let mut client = postgres::Client::connect(&common::url(), postgres::NoTls).unwrap();
    client
        .batch_execute(&format!(
            "CREATE SCHEMA {schema}; SET search_path TO {schema};
             CREATE TABLE carespace_schema_version (version integer PRIMARY KEY, applied_at bigint NOT NULL);
             INSERT INTO carespace_schema_version (version, applied_at) VALUES (1, 0);"
        ))
        .unwrap();
    client.batch_execute(BEFORE_MEMBER_LISTS[0]).unwrap();
    client
        .batch_execute(
            "INSERT INTO organisations (id, name, kind, registered_at)
             VALUES ('00000000-0000-0000-0000-000000000001', 'Barts Health NHS Trust', 'nhs_trust', 0),
                    ('00000000-0000-0000-0000-000000000009', 'Homerton Healthcare NHS Foundation Trust', 'nhs_trust', 0);
             INSERT INTO users (id, email, name, registered_at)
             VALUES ('00000000-0000-0000-0000-000000000002', 'a@nhs.net', 'Admin', 0);
             INSERT INTO organisation_members (organisation, \"user\", joined_at)
             VALUES ('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000002', 0);
             INSERT INTO workspaces (id, organisation, name, name_key, speciality, description, status, created_by, created_at)
             VALUES ('00000000-0000-0000-0000-000000000003', '00000000-0000-0000-0000-000000000001', 'Maternity - Ward 2',
                     'maternity - ward 2', 501, '', 'active', '00000000-0000-0000-0000-000000000002', 0);
             INSERT INTO memberships (workspace, \"user\", role, status, joined_at, updated_at)
             VALUES ('00000000-0000-0000-0000-000000000003', '00000000-0000-0000-0000-000000000002', 'admin', 'approved', 0, 0);",
        )
        .unwrap();

    let s = Carespace::new(common::store_in(&schema)); // migrates to the current version
    let found = s.search_organisations(&OrganisationSearch::Name("bart hea".into()), &PageRequest::default()).unwrap();
    let names: Vec<&str> = found.items.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["Barts Health NHS Trust"]);
    let admin = "00000000-0000-0000-0000-000000000002".parse().unwrap();
    let trust = "00000000-0000-0000-0000-000000000001".parse().unwrap();
    let by_name = DiscoveryFilter { name: Some("mat w".into()), ..DiscoveryFilter::default() };
    let listed = s.discover_all(admin, trust, &by_name).unwrap();
    assert!(listed.iter().any(|e| e.name() == "Maternity - Ward 2"), "{listed:?}");
    let key: String = client.query_one("SELECT name_key FROM users", &[]).unwrap().get(0);
    assert_eq!(key, "admin");
    // Migration 7 kept the permission check's answer on the membership (R34).
    let kept = client
        .query_one(&format!("SELECT organisation, workspace_active, in_organisation FROM {schema}.memberships"), &[])
        .unwrap();
    assert_eq!((kept.get::<_, uuid::Uuid>(0), kept.get(1), kept.get(2)), (trust.into(), true, true));
    let ward: carespace::WorkspaceId = "00000000-0000-0000-0000-000000000003".parse().unwrap();
    assert!(s.can(admin, ward, carespace::Action::Approve).unwrap());
    client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).unwrap();
}
