//! The schema enforces what it can, as a second line of defence behind core's rules
//! (R3, R1, R6, R25): raw SQL that breaks a rule is refused by SQLite itself; and a
//! transaction that fails or panics leaves nothing behind (R35).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // test code: a panic is a failed test

use carespace::{Carespace, NewWorkspace, OrganisationKind, Speciality};
use carespace_sqlite::SqliteStore;
use rusqlite::ErrorCode;
use std::sync::Arc;

struct World {
    store: Arc<SqliteStore>,
    org: [u8; 16],
    user: [u8; 16],
    ws: [u8; 16],
}

fn world() -> World {
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let service = Carespace::from_arc(store.clone());
    let org = service
        .register_organisation("Trust".parse().unwrap(), OrganisationKind::NhsTrust, Some("RWK".parse().unwrap()))
        .unwrap();
    let user = service.register_user("alice@nhs.net".parse().unwrap(), "Alice".parse().unwrap()).unwrap();
    service.join_organisation(user.id, org.id).unwrap();
    let new = NewWorkspace {
        name: "Ward 2".parse().unwrap(),
        speciality: Speciality::from_code(501).unwrap(),
        description: Default::default(),
    };
    let ws = service.create_workspace(user.id, org.id, new).unwrap().workspace;
    World {
        store,
        org: org.id.as_uuid().into_bytes(),
        user: user.id.as_uuid().into_bytes(),
        ws: ws.id.as_uuid().into_bytes(),
    }
}

/// Runs `sql` with the world's ids bound as ?1 (organisation), ?2 (user), ?3 (workspace)
/// and ?4 (a fresh id); returns SQLite's error code.
fn refused(w: &World, sql: &str) -> ErrorCode {
    let fresh = uuid::Uuid::now_v7().into_bytes();
    w.store.with_connection(|conn| {
        let mut stmt = conn.prepare(sql).unwrap();
        let values = [w.org, w.user, w.ws, fresh];
        for (i, value) in values.iter().enumerate().take(stmt.parameter_count()) {
            stmt.raw_bind_parameter(i + 1, value).unwrap();
        }
        let err = stmt.raw_execute().expect_err(sql);
        err.sqlite_error_code().unwrap_or_else(|| panic!("{sql}: {err}"))
    })
}

#[test]
fn r25_one_membership_per_user_and_workspace() {
    let w = world();
    let code = refused(
        &w,
        "INSERT INTO memberships (workspace, user, role, status, joined_at, updated_at) VALUES (?3, ?2, 'member', 'approved', 0, 0)",
    );
    assert_eq!(code, ErrorCode::ConstraintViolation);
}

#[test]
fn r25_admins_are_approved_and_enums_are_checked() {
    let w = world();
    for sql in [
        "UPDATE memberships SET status = 'unapproved' WHERE workspace = ?3 AND user = ?2",
        "UPDATE memberships SET status = 'archived' WHERE workspace = ?3 AND user = ?2",
        "UPDATE memberships SET role = 'owner' WHERE workspace = ?3 AND user = ?2",
        "UPDATE workspaces SET status = 'deleted' WHERE id = ?3",
        "UPDATE organisations SET kind = 'hospital' WHERE id = ?1",
        // R40: a closing day is a date, a postcode upper case.
        "UPDATE organisations SET closed_on = '4 March 2026' WHERE id = ?1",
        "UPDATE organisations SET postcode = 'e1 8de' WHERE id = ?1",
        "UPDATE workspaces SET speciality = 42 WHERE id = ?3",
        // R39: the sweep's notes on an end date are one of two words.
        "UPDATE memberships SET end_notice = 'emailed' WHERE workspace = ?3 AND user = ?2",
    ] {
        assert_eq!(refused(&w, sql), ErrorCode::ConstraintViolation, "{sql}");
    }
}

#[test]
fn r6_active_names_are_unique_per_organisation_on_the_folded_key() {
    let w = world();
    let insert = "INSERT INTO workspaces (id, organisation, name, name_key, speciality, description, status, created_by, created_at) VALUES (?4, ?1, 'WARD 2', 'ward 2', 501, '', 'active', ?2, 0)";
    assert_eq!(refused(&w, insert), ErrorCode::ConstraintViolation);
    // An archived workspace may share the name.
    w.store.with_connection(|conn| {
        let fresh = uuid::Uuid::now_v7().into_bytes();
        conn.execute(
            "INSERT INTO workspaces (id, organisation, name, name_key, speciality, description, status, created_by, created_at) VALUES (?1, ?2, 'WARD 2', 'ward 2', 501, '', 'archived', ?3, 0)",
            rusqlite::params![fresh, w.org, w.user],
        )
        .unwrap();
    });
}

#[test]
fn r3_r1_emails_and_ods_codes_are_unique() {
    let w = world();
    assert_eq!(
        refused(&w, "INSERT INTO users (id, email, name, registered_at) VALUES (?4, 'alice@nhs.net', 'Other', 0)"),
        ErrorCode::ConstraintViolation
    );
    assert_eq!(
        refused(&w, "INSERT INTO users (id, email, name, registered_at) VALUES (?4, 'Upper@nhs.net', 'Other', 0)"),
        ErrorCode::ConstraintViolation
    );
    assert_eq!(
        refused(
            &w,
            "INSERT INTO organisations (id, name, kind, ods_code, registered_at) VALUES (?4, 'Other', 'other', 'RWK', 0)"
        ),
        ErrorCode::ConstraintViolation
    );
}

#[test]
fn foreign_keys_are_enforced() {
    let w = world();
    assert_eq!(
        refused(
            &w,
            "INSERT INTO memberships (workspace, user, role, status, joined_at, updated_at) VALUES (?3, ?4, 'member', 'approved', 0, 0)"
        ),
        ErrorCode::ConstraintViolation
    );
    assert_eq!(refused(&w, "DELETE FROM users WHERE id = ?2"), ErrorCode::ConstraintViolation);
}

#[test]
fn the_event_log_refuses_a_duplicate_number() {
    let w = world();
    assert_eq!(refused(&w, "INSERT INTO events VALUES (1, 0, NULL, 'x', '{}')"), ErrorCode::ConstraintViolation);
}

#[test]
fn r35_a_panicking_or_failing_transaction_writes_nothing_and_the_store_goes_on() {
    use carespace::{Error, Organisation, OrganisationId, Store, WriteTx};
    let dir = std::env::temp_dir().join(format!("carespace-r35-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Arc::new(SqliteStore::open(dir.join("r35.sqlite3")).unwrap());
    let service = Carespace::from_arc(store.clone());
    let org = |name: &str| {
        Organisation::new(
            OrganisationId::from_uuid(uuid::Uuid::now_v7()),
            name.parse().unwrap(),
            OrganisationKind::NhsTrust,
            None,
            time::OffsetDateTime::now_utc(),
        )
    };
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = store.write(&mut |tx: &mut dyn WriteTx| {
            tx.put_organisation(&org("Half Written"))?;
            panic!("a bug in the middle of a command");
        });
    }));
    assert!(panicked.is_err());
    let failed = store.write(&mut |tx: &mut dyn WriteTx| {
        tx.put_organisation(&org("Also Half Written"))?;
        Err(Error::NotFound { entity: carespace::Entity::User, id: "x".into() })
    });
    assert!(failed.is_err());
    // Both rolled back, and the connection is usable: reads and writes go on.
    let after = service.register_organisation("Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
    let mut names = Vec::new();
    store
        .read(&mut |r| {
            names = r.organisations()?.into_iter().map(|o| o.name.to_string()).collect();
            Ok(())
        })
        .unwrap();
    assert_eq!(names, vec![after.name.to_string()]);
    let _ = std::fs::remove_dir_all(&dir);
}
