//! Schema migrations: numbered SQL files applied in one `IMMEDIATE` transaction, the
//! version kept in `PRAGMA user_version`.

use carespace::{StorageError, StorageErrorKind};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::error::SqlResultExt;

/// The migrations, in order; migration `i` (from 0) takes the schema to version `i + 1`.
pub(crate) const MIGRATIONS: &[(&str, &str)] = &[
    ("001_tables", include_str!("../migrations/001_tables.sql")),
    ("002_indexes", include_str!("../migrations/002_indexes.sql")),
    ("003_narrow_reads", include_str!("../migrations/003_narrow_reads.sql")),
    ("004_time_and_audit", include_str!("../migrations/004_time_and_audit.sql")),
    ("005_directory", include_str!("../migrations/005_directory.sql")),
    ("006_discovery_search", include_str!("../migrations/006_discovery_search.sql")),
    ("007_user_names", include_str!("../migrations/007_user_names.sql")),
    ("008_consumers", include_str!("../migrations/008_consumers.sql")),
    ("009_member_lists", include_str!("../migrations/009_member_lists.sql")),
    ("010_kept_access", include_str!("../migrations/010_kept_access.sql")),
];

/// The version whose migration adds `organisation_prefixes`, filled in Rust after it.
const PREFIXES: u32 = 5;
/// The version whose migration adds `workspace_prefixes`, filled in Rust after it.
const WORKSPACE_PREFIXES: u32 = 6;
/// The version whose migration adds the name keys of users and memberships, filled in
/// Rust after it.
const MEMBER_LISTS: u32 = 9;
/// The version whose migration keeps the permission check's answer on memberships.
#[cfg(test)]
const KEPT_ACCESS: u32 = 10;

/// The schema version this code writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Carespace's `PRAGMA application_id` ("CARE"), written with the schema, so that
/// SQLite tools (`file`, `sqlite3 .dbinfo`) and Carespace itself know its files.
pub(crate) const APPLICATION_ID: i32 = 0x4341_5245;

/// Refuses a database file that belongs to another application, before anything is
/// written to it: one stamped with another `application_id`, or one holding tables but
/// no Carespace schema (`user_version` 0). A file that is not SQLite at all fails here
/// too, as corrupt, since this is the first read of it.
pub(crate) fn refuse_foreign(conn: &Connection) -> Result<(), StorageError> {
    let id: i32 = conn.query_row("PRAGMA application_id", [], |row| row.get(0)).sql()?;
    let version: u32 = conn.query_row("PRAGMA user_version", [], |row| row.get(0)).sql()?;
    let foreign = |what: String| {
        Err(StorageError::new(
            StorageErrorKind::Incompatible,
            format!("the file is a SQLite database of another application ({what}); Carespace left it unchanged"),
        ))
    };
    if id != 0 && id != APPLICATION_ID {
        return foreign(format!("its application id is {id:#x}"));
    }
    if version == 0 {
        let mut tables = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name LIMIT 4")
            .sql()?;
        let names = tables.query_map([], |row| row.get::<_, String>(0)).sql()?.collect::<Result<Vec<_>, _>>().sql()?;
        if !names.is_empty() {
            return foreign(format!("it holds tables such as {} and no Carespace schema", names.join(", ")));
        }
    }
    Ok(())
}

/// Brings the database up to `target` (normally [`SCHEMA_VERSION`]). Refuses a database
/// newer than the code. Several processes may call this at once: the `IMMEDIATE`
/// transaction makes one of them migrate and the others see the result.
pub(crate) fn migrate(conn: &mut Connection, target: u32) -> Result<(), StorageError> {
    // A migration that rebuilds a table others refer to (005) needs foreign keys off;
    // they are checked before the commit instead, and turned back on after it. The
    // pragma is a no-op inside a transaction, so it is set around it.
    let enforced: bool = conn.query_row("PRAGMA foreign_keys", [], |row| row.get(0)).sql()?;
    conn.pragma_update(None, "foreign_keys", false).sql()?;
    let migrated = migrate_unchecked(conn, target);
    conn.pragma_update(None, "foreign_keys", enforced).sql()?;
    migrated
}

fn migrate_unchecked(conn: &mut Connection, target: u32) -> Result<(), StorageError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).sql()?;
    let current: u32 = tx.query_row("PRAGMA user_version", [], |row| row.get(0)).sql()?;
    if current > SCHEMA_VERSION {
        return Err(StorageError::new(
            StorageErrorKind::Incompatible,
            format!(
                "the database has schema version {current}, newer than this version of Carespace understands \
                 ({SCHEMA_VERSION}); upgrade Carespace to open it"
            ),
        ));
    }
    for (n, (name, sql)) in MIGRATIONS.iter().enumerate().take(target as usize).skip(current as usize) {
        tracing::info!(target: "carespace::sqlite", migration = name, version = n + 1, "migrating the schema");
        tx.execute_batch(sql).sql()?;
        match n as u32 + 1 {
            PREFIXES => fill_prefixes(&tx)?,
            WORKSPACE_PREFIXES => fill_workspace_prefixes(&tx)?,
            MEMBER_LISTS => fill_name_keys(&tx)?,
            _ => {}
        }
    }
    let broken: Option<String> = tx.query_row("PRAGMA foreign_key_check", [], |row| row.get(0)).optional().sql()?;
    if let Some(table) = broken {
        return Err(StorageError::new(
            StorageErrorKind::Corrupt,
            format!("the schema migration left a row of {table} referring to nothing; nothing was migrated"),
        ));
    }
    if target > current {
        tx.pragma_update(None, "user_version", target).sql()?;
    }
    // Files made before the stamp existed get it with their next migration or open.
    let id: i32 = tx.query_row("PRAGMA application_id", [], |row| row.get(0)).sql()?;
    if id != APPLICATION_ID {
        tx.pragma_update(None, "application_id", APPLICATION_ID).sql()?;
    }
    tx.commit().sql()
}

/// Writes the search prefixes of every organisation (R40), for a database that had
/// organisations before `organisation_prefixes` existed.
fn fill_prefixes(tx: &rusqlite::Transaction<'_>) -> Result<(), StorageError> {
    let mut names = tx.prepare("SELECT id, name FROM organisations").sql()?;
    // No organisation is closed yet: `closed_on` is new in this version.
    let mut insert = tx
        .prepare(
            "INSERT INTO organisation_prefixes (prefix, organisation, closed, relevance, name_key) \
             VALUES (?1, ?2, 0, ?3, ?4)",
        )
        .sql()?;
    let mut rows = names.query([]).sql()?;
    while let Some(row) = rows.next().sql()? {
        let (id, name): (Vec<u8>, String) = (row.get(0).sql()?, row.get(1).sql()?);
        let key = carespace::directory::name_key(&name);
        for (prefix, relevance) in carespace::directory::indexed_prefixes(&name) {
            insert.execute(rusqlite::params![prefix, id, relevance, key]).sql()?;
        }
    }
    Ok(())
}

/// Writes the search prefixes of every active workspace (R11), for a database that had
/// workspaces before `workspace_prefixes` existed.
fn fill_workspace_prefixes(tx: &rusqlite::Transaction<'_>) -> Result<(), StorageError> {
    let mut names =
        tx.prepare("SELECT id, organisation, name, name_key FROM workspaces WHERE status = 'active'").sql()?;
    let mut insert = tx.prepare(carespace_sql::PUT_WORKSPACE_PREFIX).sql()?;
    let mut rows = names.query([]).sql()?;
    while let Some(row) = rows.next().sql()? {
        let (id, organisation, name, key): (Vec<u8>, Vec<u8>, String, String) =
            (row.get(0).sql()?, row.get(1).sql()?, row.get(2).sql()?, row.get(3).sql()?);
        for (prefix, _) in carespace::directory::indexed_prefixes(&name) {
            insert.execute(rusqlite::params![organisation, prefix, key, id]).sql()?;
        }
    }
    Ok(())
}

/// Writes every user's name key ([`PersonName::sort_key`](carespace::PersonName::sort_key))
/// and copies it to their memberships, for a database that had users before the keys
/// existed.
fn fill_name_keys(tx: &rusqlite::Transaction<'_>) -> Result<(), StorageError> {
    let mut names = tx.prepare("SELECT id, name FROM users").sql()?;
    let mut update = tx.prepare("UPDATE users SET name_key = ?2 WHERE id = ?1").sql()?;
    let mut rows = names.query([]).sql()?;
    while let Some(row) = rows.next().sql()? {
        let (id, name): (Vec<u8>, String) = (row.get(0).sql()?, row.get(1).sql()?);
        let name: carespace::PersonName = name.parse().map_err(|e| carespace_sql::corrupt("user name", e))?;
        update.execute(rusqlite::params![id, name.sort_key()]).sql()?;
    }
    tx.execute_batch("UPDATE memberships SET name_key = (SELECT name_key FROM users WHERE id = memberships.user)").sql()
}

/// The schema as SQLite describes it, sorted, for comparing two databases.
pub fn schema_of(conn: &Connection) -> Result<Vec<(String, String, String)>, StorageError> {
    let mut stmt = conn
        .prepare("SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
        .sql()?;
    let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?))).sql()?;
    rows.collect::<Result<Vec<_>, _>>().sql()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_version(version: u32) -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, version).unwrap();
        conn
    }

    #[test]
    fn an_upgraded_database_has_exactly_the_schema_of_a_fresh_one() {
        let fresh = at_version(SCHEMA_VERSION);
        for start in 0..SCHEMA_VERSION {
            let mut upgraded = at_version(start);
            let version: u32 = upgraded.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
            assert_eq!(version, start);
            migrate(&mut upgraded, SCHEMA_VERSION).unwrap();
            assert_eq!(schema_of(&upgraded).unwrap(), schema_of(&fresh).unwrap(), "upgrade from version {start}");
        }
        assert!(
            schema_of(&fresh)
                .unwrap()
                .iter()
                .any(|(kind, name, _)| kind == "index" && name == "workspaces_active_name")
        );
    }

    #[test]
    fn r11_upgrading_indexes_the_names_of_the_active_workspaces_already_there() {
        let mut conn = at_version(WORKSPACE_PREFIXES - 1);
        conn.execute_batch(
            "INSERT INTO organisations (id, name, kind, registered_at) VALUES (x'00000000000000000000000000000001', 'Trust', 'nhs_trust', 0);
             INSERT INTO users (id, email, name, registered_at) VALUES (x'00000000000000000000000000000002', 'a@nhs.net', 'A', 0);
             INSERT INTO workspaces (id, organisation, name, name_key, speciality, description, status, created_by,
                                     created_at)
             VALUES (x'00000000000000000000000000000003', x'00000000000000000000000000000001', 'Maternity - Ward 2', 'maternity - ward 2', 501, '', 'active', x'00000000000000000000000000000002', 0),
                    (x'00000000000000000000000000000004', x'00000000000000000000000000000001', 'Old Ward', 'old ward', 501, '', 'archived', x'00000000000000000000000000000002', 0);",
        )
        .unwrap();
        migrate(&mut conn, SCHEMA_VERSION).unwrap();
        let mut stmt =
            conn.prepare("SELECT workspace, prefix, name_key FROM workspace_prefixes ORDER BY prefix").unwrap();
        let rows: Vec<(Vec<u8>, String, String)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
        let mut expected: Vec<String> =
            carespace::directory::indexed_prefixes("Maternity - Ward 2").into_iter().map(|(p, _)| p).collect();
        expected.sort();
        assert_eq!(rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>(), expected);
        assert!(rows.iter().all(|r| r.0[15] == 3 && r.2 == "maternity - ward 2"), "the archived workspace has none");
    }

    #[test]
    fn r11_r22_r43_upgrading_keys_and_counts_the_members_already_there() {
        let mut conn = at_version(MEMBER_LISTS - 1);
        conn.execute_batch(
            "INSERT INTO organisations (id, name, kind, registered_at) VALUES (x'00000000000000000000000000000001', 'Trust', 'nhs_trust', 0);
             INSERT INTO users (id, email, name, registered_at)
             VALUES (x'00000000000000000000000000000002', 'a@nhs.net', 'Ádám ÖRS', 0),
                    (x'00000000000000000000000000000005', 'b@nhs.net', 'Bea', 0);
             INSERT INTO workspaces (id, organisation, name, name_key, speciality, description, status, created_by,
                                     created_at)
             VALUES (x'00000000000000000000000000000003', x'00000000000000000000000000000001', 'Ward', 'ward', 501, '', 'active', x'00000000000000000000000000000002', 0);
             INSERT INTO memberships (workspace, user, role, status, joined_at, updated_at)
             VALUES (x'00000000000000000000000000000003', x'00000000000000000000000000000002', 'admin', 'approved', 0, 0),
                    (x'00000000000000000000000000000003', x'00000000000000000000000000000005', 'member', 'unapproved', 0, 0);",
        )
        .unwrap();
        migrate(&mut conn, SCHEMA_VERSION).unwrap();
        let mut stmt = conn.prepare("SELECT list_rank, name_key FROM memberships ORDER BY list_rank").unwrap();
        let rows: Vec<(i64, String)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
        // Rust's fold, not SQLite's ASCII-only lower().
        assert_eq!(rows, [(0, "ádám örs".to_owned()), (2, "bea".to_owned())]);
        let key: String = conn.query_row("SELECT name_key FROM users WHERE name = 'Bea'", [], |r| r.get(0)).unwrap();
        assert_eq!(key, "bea");
        // Discovery's count of current members (R11), counted once at the upgrade.
        let count: i64 = conn.query_row("SELECT member_count FROM workspaces", [], |r| r.get(0)).unwrap();
        assert_eq!(count, 2);
    }

    #[test]
    fn r34_upgrading_keeps_the_permission_check_on_the_memberships_already_there() {
        let mut conn = at_version(KEPT_ACCESS - 1);
        conn.execute_batch(
            "INSERT INTO organisations (id, name, kind, registered_at) VALUES (x'00000000000000000000000000000001', 'Trust', 'nhs_trust', 0);
             INSERT INTO users (id, email, name, registered_at)
             VALUES (x'00000000000000000000000000000002', 'a@nhs.net', 'A', 0),
                    (x'00000000000000000000000000000005', 'b@nhs.net', 'B', 0);
             INSERT INTO organisation_members (organisation, user, joined_at)
             VALUES (x'00000000000000000000000000000001', x'00000000000000000000000000000002', 0);
             INSERT INTO workspaces (id, organisation, name, name_key, speciality, description, status, created_by,
                                     created_at)
             VALUES (x'00000000000000000000000000000003', x'00000000000000000000000000000001', 'Ward', 'ward', 501, '', 'active', x'00000000000000000000000000000002', 0),
                    (x'00000000000000000000000000000004', x'00000000000000000000000000000001', 'Old', 'old', 501, '', 'archived', x'00000000000000000000000000000002', 0);
             INSERT INTO memberships (workspace, user, role, status, joined_at, updated_at)
             VALUES (x'00000000000000000000000000000003', x'00000000000000000000000000000002', 'admin', 'approved', 0, 0),
                    (x'00000000000000000000000000000004', x'00000000000000000000000000000005', 'member', 'archived', 0, 0);",
        )
        .unwrap();
        migrate(&mut conn, SCHEMA_VERSION).unwrap();
        let mut stmt = conn
            .prepare("SELECT organisation, workspace_active, in_organisation FROM memberships ORDER BY workspace")
            .unwrap();
        let rows: Vec<(Vec<u8>, bool, bool)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
        let trust = [0u8; 15].into_iter().chain([1]).collect::<Vec<u8>>();
        assert_eq!(rows, [(trust.clone(), true, true), (trust, false, false)]);
    }

    #[test]
    fn migrating_twice_changes_nothing() {
        let mut conn = at_version(SCHEMA_VERSION);
        let before = schema_of(&conn).unwrap();
        migrate(&mut conn, SCHEMA_VERSION).unwrap();
        assert_eq!(schema_of(&conn).unwrap(), before);
    }

    #[test]
    fn a_database_newer_than_the_code_is_refused() {
        let mut conn = at_version(SCHEMA_VERSION);
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        let err = migrate(&mut conn, SCHEMA_VERSION).unwrap_err();
        assert_eq!(err.kind(), StorageErrorKind::Incompatible);
        assert!(err.to_string().contains("newer than this version of Carespace"), "{err}");
    }
}
