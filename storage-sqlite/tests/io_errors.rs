//! I/O errors under SQLite (issue 22; R35): reads, writes and syncs that fail, injected
//! by a VFS shim (`faulty_vfs`), as a dying disk or a lost network volume makes them
//! fail. Each fails its read or command with a typed storage error — never a panic,
//! never a wrong answer, never a half-written command — and the same store object works
//! again once the fault clears, with every acknowledged command there, the invariants
//! and a gap-free log.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // test code: a panic is a failed test

mod common;
mod faulty_vfs;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use carespace::health::check_invariants;
use carespace::{
    Carespace, Error, Event, MAX_EVENT_PAGE, NewWorkspace, OrganisationKind, Speciality, StorageErrorKind, User,
};
use carespace_sqlite::SqliteStore;
use faulty_vfs::Faults;

/// Every event, page by page.
fn all_events(s: &Carespace) -> Result<Vec<Event>, Error> {
    let mut all: Vec<Event> = Vec::new();
    loop {
        let page = s.events_since(all.last().map_or(0, |e| e.seq), MAX_EVENT_PAGE)?;
        if page.is_empty() {
            return Ok(all);
        }
        all.extend(page);
    }
}

/// A store in a watched directory, with a trust, a few wards and people asking to join
/// them; and the log as a second store object sees it after writing last, so that none
/// of the first store's connections has a current page cache and its next read, or its
/// next command's, goes to the file.
fn ward(label: &str) -> (PathBuf, Arc<Faults>, Carespace, Vec<Event>) {
    let dir = common::fresh_db(label).with_extension("d");
    std::fs::create_dir_all(&dir).unwrap();
    let faults = faulty_vfs::watch(&dir);
    let path = dir.join("workspaces.sqlite3");
    let s = Carespace::new(SqliteStore::open(&path).unwrap());
    let org = s.register_organisation("Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
    let admin = register(&s, "admin").unwrap();
    s.join_organisation(admin.id, org.id).unwrap();
    for i in 0..5 {
        let new = NewWorkspace {
            name: format!("Ward {i}").parse().unwrap(),
            speciality: Speciality::from_code(501).unwrap(),
            description: Default::default(),
        };
        let ws = s.create_workspace(admin.id, org.id, new).unwrap().workspace;
        for j in 0..8 {
            let user = register(&s, &format!("u{i}.{j}")).unwrap();
            s.join_organisation(user.id, org.id).unwrap();
            s.request_to_join(user.id, ws.id).unwrap();
        }
    }
    let other = Carespace::new(SqliteStore::open(&path).unwrap());
    register(&other, "elsewhere").unwrap();
    let events = all_events(&other).unwrap();
    (path, faults, s, events)
}

fn register(s: &Carespace, who: &str) -> Result<User, Error> {
    s.register_user(format!("{who}@nhs.net").parse().unwrap(), "Someone".parse().unwrap())
}

/// Asserts `result` failed with SQLite's I/O error, as a typed storage error a person
/// can act on.
fn assert_io_error<T: std::fmt::Debug>(result: Result<T, Error>, what: &str, detail: &str) {
    match result {
        Err(Error::Storage(err)) => {
            assert_eq!(err.kind(), StorageErrorKind::Other, "{what}: {err}");
            let message = err.to_string();
            assert!(message.contains("reported an I/O error") && message.contains(detail), "{what}: {message}");
        }
        other => panic!("{what} did not fail with an I/O error: {other:?}"),
    }
}

/// The checks after the fault: reopened, a sound file, the invariants, a gap-free log
/// holding exactly the acknowledged events.
fn assert_sound(path: &Path, acknowledged: &[Event]) {
    let store = SqliteStore::open(path).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    check_invariants(&store, time::OffsetDateTime::now_utc()).unwrap();
    let events = all_events(&Carespace::new(store)).unwrap();
    assert!(events.iter().enumerate().all(|(i, e)| e.seq == i as u64 + 1), "the log has a gap");
    assert_eq!(events, acknowledged);
}

#[test]
fn read_errors_fail_reads_and_commands_typed_and_the_same_store_answers_once_they_clear() {
    let (path, faults, s, before) = ward("read-errors");
    let head = s.head().unwrap();

    faults.fail_reads(true);
    let read = all_events(&s);
    let command = register(&s, "late");
    let opened = SqliteStore::open(&path);
    faults.clear();

    assert!(faults.injected() > 0, "no read failed");
    assert_io_error(read, "a read", "disk I/O error");
    assert_io_error(command, "a command", "disk I/O error");
    match opened {
        Err(err) => assert!(err.to_string().contains(&path.display().to_string()), "{err}"),
        Ok(_) => panic!("opened a database it cannot read"),
    }

    // Healthy again: the same store answers as before, and the command that failed
    // wrote nothing, so it runs now.
    assert_eq!(s.head().unwrap(), head);
    let mut acknowledged = all_events(&s).unwrap();
    assert_eq!(acknowledged, before);
    register(&s, "late").unwrap();
    acknowledged = all_events(&s).unwrap();
    assert_eq!(acknowledged.len(), before.len() + 1);
    drop(s);
    assert_sound(&path, &acknowledged);
}

/// A command under `fault` fails with `detail` and writes nothing; the same store reads
/// meanwhile and writes once the fault clears.
fn a_failed_write(label: &str, fault: fn(&Faults, bool), detail: &str) {
    let (path, faults, s, before) = ward(label);
    fault(&faults, true);
    let command = register(&s, "late");
    let head = s.head();
    let read = all_events(&s);
    faults.clear();

    assert!(faults.injected() > 0, "no call failed");
    assert_io_error(command, "a command", detail);
    assert_eq!(head.unwrap(), before.last().unwrap().seq);
    assert_eq!(read.unwrap(), before);
    register(&s, "late").unwrap();
    let acknowledged = all_events(&s).unwrap();
    assert_eq!(acknowledged.len(), before.len() + 1);
    drop(s);
    assert_sound(&path, &acknowledged);
}

#[test]
fn write_errors_fail_one_command_cleanly_and_the_same_store_writes_once_they_clear() {
    a_failed_write("write-errors", Faults::fail_writes, "disk I/O error");
}

/// A failed fsync of the commit: the command is not done for this process or any
/// other, and the next write takes its place in the `-wal` (the message says what a
/// crash in between would mean).
#[test]
fn sync_errors_fail_the_commit_cleanly_and_the_same_store_writes_once_they_clear() {
    a_failed_write("sync-errors", Faults::fail_syncs, "fsync failed");
}
