//! Faults of the file under SQLite (issue 22; R35): a full disk, a damaged or foreign file,
//! a read-only file system, a lost `-wal`. Each gives a typed storage error naming the
//! problem — never a panic, never a half-written command — and what was acknowledged is
//! there after recovery, with the invariants and a gap-free log.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // test code: a panic is a failed test

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use carespace::health::check_invariants;
use carespace::{
    Carespace, Error, Event, MAX_EVENT_PAGE, NewWorkspace, OrganisationKind, Speciality, StorageErrorKind,
};
use carespace_sqlite::SqliteStore;

const DB_VAR: &str = "CARESPACE_FAULT_CHILD_DB";
const MARK: &str = "FAULT-OK";

/// Every event, page by page.
fn all_events(s: &Carespace) -> Vec<Event> {
    let mut all: Vec<Event> = Vec::new();
    loop {
        let page = s.events_since(all.last().map_or(0, |e| e.seq), MAX_EVENT_PAGE).unwrap();
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

/// The checks after any recovery: a sound file, the invariants, a gap-free log.
fn assert_sound(path: &Path) -> Carespace {
    let store = SqliteStore::open(path).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    check_invariants(&store, time::OffsetDateTime::now_utc()).unwrap();
    let s = Carespace::new(store);
    let events = all_events(&s);
    assert!(events.iter().enumerate().all(|(i, e)| e.seq == i as u64 + 1), "the log has a gap");
    s
}

/// The error of an open that had to fail.
fn refused(opened: Result<SqliteStore, Error>, what: &str) -> Error {
    match opened {
        Ok(_) => panic!("{what}"),
        Err(err) => err,
    }
}

fn storage_kind(err: &Error) -> StorageErrorKind {
    match err {
        Error::Storage(e) => e.kind(),
        other => panic!("not a storage error: {other}"),
    }
}

/// A stream of users, each with a workspace and a long description (to fill pages
/// fast), run by the child of `disk_full_…`. Prints each acknowledged command; at the
/// first failure prints its error and the log's head before and after it.
#[test]
fn disk_full_child() {
    let Ok(path) = std::env::var(DB_VAR) else { return };
    let s = Carespace::new(SqliteStore::open(&path).unwrap());
    let org = s.register_organisation("Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
    let description: carespace::Description =
        "Antenatal and postnatal care on the ward. ".repeat(11).trim().parse().unwrap();
    // Runs one command; on failure reports it and whether the log moved.
    let attempt = |result: Result<String, Error>, head: u64| match result {
        Ok(line) => {
            println!("{MARK} {line}");
            true
        }
        Err(err) => {
            println!("FAILED {} {err}", err.code());
            println!("HEADS {head} {}", s.head().unwrap());
            // The parent says when the fault has cleared; then the same store writes again.
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).unwrap();
            if line.trim() == "retry" {
                let again = s.register_user("after@nhs.net".parse().unwrap(), "After".parse().unwrap());
                println!("RETRIED {}", again.map_or_else(|e| e.to_string(), |u| format!("user {}", u.id)));
            }
            false
        }
    };
    for i in 0.. {
        let head = s.head().unwrap();
        let email: carespace::NhsEmail = format!("u{i}@nhs.net").parse().unwrap();
        let registered = s.register_user(email.clone(), format!("User {i}").parse().unwrap());
        let user = registered.as_ref().map(|u| u.id).ok();
        if !attempt(registered.map(|u| format!("user {}", u.id)), head) {
            // Nothing of the user either.
            assert!(s.user_by_email(&email).unwrap().is_none(), "a failed registration left the user");
            return;
        }
        let user = user.unwrap();
        let head = s.head().unwrap();
        if !attempt(s.join_organisation(user, org.id).map(|_| format!("joined {user}")), head) {
            return;
        }
        let head = s.head().unwrap();
        let new = NewWorkspace {
            name: format!("Ward {i}").parse().unwrap(),
            speciality: Speciality::from_code(501).unwrap(),
            description: description.clone(),
        };
        let made = s.create_workspace(user, org.id, new).map(|o| format!("workspace {} {user}", o.workspace.id));
        if !attempt(made, head) {
            return;
        }
    }
}

/// Runs `disk_full_child` on `path` through `bash -c script` until a write fails, then
/// checks the failure and, on a copy of the files in a roomy directory, everything the
/// child saw acknowledged.
fn fill_until_a_write_fails(path: &Path, script: &str, expected: &str, clear: Option<&dyn Fn()>) {
    let mut child = Command::new("bash")
        .args(["-c", script])
        .arg(std::env::current_exe().unwrap())
        .env(DB_VAR, path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok);
    let mut stdout = String::new();
    for line in lines.by_ref() {
        stdout += &line;
        stdout.push('\n');
        if line.starts_with("HEADS ") {
            break;
        }
    }
    let mut stdin = child.stdin.take().unwrap();
    match clear {
        Some(clear) => {
            clear();
            writeln!(stdin, "retry").unwrap();
        }
        None => writeln!(stdin, "stop").unwrap(),
    }
    drop(stdin);
    for line in lines {
        stdout += &line;
        stdout.push('\n');
    }
    let status = child.wait().unwrap();
    let failed = stdout.lines().find_map(|l| l.strip_prefix("FAILED ")).expect("the child never met the fault");
    assert!(failed.starts_with("storage_failed ") && failed.contains(expected), "{failed}");
    let heads = stdout.lines().find_map(|l| l.strip_prefix("HEADS ")).unwrap();
    let (before, after) = heads.split_once(' ').unwrap();
    assert_eq!(before, after, "the failing command wrote events");
    assert!(status.success(), "the child failed its own checks:\n{stdout}");
    let retried = stdout.lines().find_map(|l| l.strip_prefix("RETRIED "));
    if clear.is_some() {
        let retried = retried.expect("the child did not retry");
        assert!(retried.starts_with("user "), "the store did not recover once the fault cleared: {retried}");
    }

    // Reopened elsewhere, with room to recover.
    let copy = common::fresh_db("disk-full-copy");
    for suffix in ["", "-wal"] {
        let from = format!("{}{suffix}", path.display());
        if Path::new(&from).exists() {
            std::fs::copy(&from, format!("{}{suffix}", copy.display())).unwrap();
        }
    }
    let acknowledged: Vec<&str> = stdout.lines().filter_map(|l| l.strip_prefix(MARK)).collect();
    assert!(acknowledged.len() > 10, "the fault came too early to mean anything");
    let s = assert_sound(&copy);
    if let Some(user) = retried.and_then(|r| r.strip_prefix("user ")) {
        s.user(user.parse().unwrap()).unwrap();
    }
    for line in acknowledged {
        match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["user", id] => drop(s.user(id.parse().unwrap()).unwrap()),
            ["joined", id] => assert_eq!(s.organisations_of(id.parse().unwrap()).unwrap().len(), 1),
            ["workspace", ws, admin] => {
                let workspace = s.workspace(admin.parse().unwrap(), ws.parse().unwrap()).unwrap();
                assert_eq!(workspace.created_by.to_string(), *admin);
            }
            other => panic!("unexpected line {other:?}"),
        }
    }
}

const CHILD: &str = "exec \"$0\" --exact disk_full_child --nocapture --test-threads=1";

/// A write past the process's file size limit fails with EFBIG, which SQLite reports as
/// an I/O error (bash sets the limit, 2 MiB, and ignores SIGXFSZ so the write fails
/// instead of killing the process).
#[test]
fn a_write_error_fails_one_command_cleanly_and_keeps_every_acknowledged_one() {
    let path = common::fresh_db("write-error");
    fill_until_a_write_fails(&path, &format!("trap '' XFSZ; ulimit -f 2048; {CHILD}"), "reported an I/O error", None);
}

/// A full disk (ENOSPC): a 2 MiB tmpfs, mounted where root may mount one; elsewhere the
/// test says so and checks nothing.
#[test]
fn a_full_disk_fails_one_command_cleanly_and_keeps_every_acknowledged_one() {
    let dir = common::fresh_db("disk-full").with_extension("d");
    std::fs::create_dir_all(&dir).unwrap();
    let mounted = is_root()
        && Command::new("mount").args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"]).arg(&dir).status().unwrap().success();
    if !mounted {
        eprintln!(
            "SKIPPED: a full disk needs a tmpfs, which only root can mount; the write-error test covers the rest"
        );
        return;
    }
    let path = dir.join("workspaces.sqlite3");
    // Once the disk has room again (the tmpfs grown), the same store object writes.
    let grow = || assert!(Command::new("mount").args(["-o", "remount,size=16m"]).arg(&dir).status().unwrap().success());
    let checked = std::panic::catch_unwind(|| {
        fill_until_a_write_fails(&path, CHILD, "the disk (or the file size limit) is full", Some(&grow));
    });
    let _ = Command::new("umount").arg(&dir).status();
    if let Err(panic) = checked {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_as_corrupt_at_open() {
    let path = common::fresh_db("not-sqlite");
    std::fs::write(&path, "Ward rota, week 49\n".repeat(500)).unwrap();
    let err = refused(SqliteStore::open(&path), "opened a text file");
    assert_eq!(storage_kind(&err), StorageErrorKind::Corrupt);
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()) && message.contains("not a SQLite database"), "{message}");
    assert_eq!(std::fs::read(&path).unwrap(), "Ward rota, week 49\n".repeat(500).into_bytes(), "the file was changed");
}

#[test]
fn a_sqlite_file_of_another_application_is_refused_and_left_unchanged() {
    let path = common::fresh_db("foreign");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE patients (nhs_number TEXT PRIMARY KEY); INSERT INTO patients VALUES ('9434765919');",
        )
        .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = refused(SqliteStore::open(&path), "opened another application's database");
    assert_eq!(storage_kind(&err), StorageErrorKind::Incompatible);
    assert!(err.to_string().contains("another application (it holds tables such as patients"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "Carespace wrote to another application's file");
    assert!(!Path::new(&format!("{}-wal", path.display())).exists(), "switched it to WAL");

    let stamped = common::fresh_db("foreign-id");
    rusqlite::Connection::open(&stamped).unwrap().pragma_update(None, "application_id", 0x1234).unwrap();
    let err = refused(SqliteStore::open(&stamped), "opened a file stamped by another application");
    assert!(err.to_string().contains("its application id is 0x1234"), "{err}");

    // Carespace's own files carry its stamp, and reopen.
    let ours = common::fresh_db("ours");
    drop(SqliteStore::open(&ours).unwrap());
    let id: i32 =
        rusqlite::Connection::open(&ours).unwrap().query_row("PRAGMA application_id", [], |row| row.get(0)).unwrap();
    assert_eq!(id, 0x4341_5245);
    drop(SqliteStore::open(&ours).unwrap());
}

/// A database with some of everything, closed (so checkpointed into the main file).
fn populated(label: &str) -> std::path::PathBuf {
    let path = common::fresh_db(label);
    let s = Carespace::new(SqliteStore::open(&path).unwrap());
    let org = s.register_organisation("Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
    let admin = s.register_user("admin@nhs.net".parse().unwrap(), "Admin".parse().unwrap()).unwrap();
    s.join_organisation(admin.id, org.id).unwrap();
    let new = |i: usize| NewWorkspace {
        name: format!("Ward {i}").parse().unwrap(),
        speciality: Speciality::from_code(501).unwrap(),
        description: Default::default(),
    };
    for i in 0..40 {
        let ws = s.create_workspace(admin.id, org.id, new(i)).unwrap().workspace;
        for j in 0..5 {
            let user =
                s.register_user(format!("u{i}.{j}@nhs.net").parse().unwrap(), "Someone".parse().unwrap()).unwrap();
            s.join_organisation(user.id, org.id).unwrap();
            s.request_to_join(user.id, ws.id).unwrap();
        }
    }
    path
}

#[test]
fn overwritten_pages_are_found_at_open_or_by_integrity_check_and_nothing_panics() {
    let original = populated("corrupt");
    let bytes = std::fs::read(&original).unwrap();
    let pages = bytes.len() / 4096;
    assert!(pages > 20, "{pages} pages");
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..8 {
        let mut damaged = bytes.clone();
        let page = 1 + (next() as usize % (pages - 1)); // never the header page
        for byte in &mut damaged[page * 4096..(page + 1) * 4096] {
            *byte = next() as u8;
        }
        let path = common::fresh_db("corrupt-copy");
        std::fs::write(&path, &damaged).unwrap();
        let store = match SqliteStore::open(&path) {
            Err(err) => {
                assert!(matches!(err, Error::Storage(_)), "round {round}: {err}");
                continue;
            }
            Ok(store) => store,
        };
        let verdict = store.integrity_check();
        assert!(
            !matches!(verdict.as_deref(), Ok("ok")),
            "round {round}: page {page} overwritten, yet integrity_check is ok"
        );
        // Whatever a read meets, it is a result or a typed error, not a panic.
        let _ = carespace::health::invariant_problems(&store, time::OffsetDateTime::now_utc());
        let _ = Carespace::new(store).events_since(0, MAX_EVENT_PAGE);
    }
}

/// Whether this process runs as root (who may write any file whatever its mode).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Uid:").map(|u| u.split_whitespace().next() == Some("0"))))
        .unwrap_or(false)
}

#[test]
fn a_read_only_file_system_is_a_typed_error_at_open_naming_the_file() {
    let dir = common::fresh_db("read-only").with_extension("d");
    std::fs::create_dir_all(&dir).unwrap();
    // As root, permissions do not stop a write: a read-only mount does (a private
    // tmpfs). As anyone else, the modes do.
    let mounted = is_root()
        && Command::new("mount").args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"]).arg(&dir).status().unwrap().success();
    let path = dir.join("workspaces.sqlite3");
    std::fs::copy(populated("read-only-source"), &path).unwrap();
    let read_only = if mounted {
        Command::new("mount").args(["-o", "remount,ro"]).arg(&dir).status().unwrap().success()
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        !is_root()
    };
    assert!(read_only, "could not make the file system read-only here");
    let opened = SqliteStore::open(&path);
    if mounted {
        let _ = Command::new("umount").arg(&dir).status();
    }
    let err = refused(opened, "opened a read-only database for writing");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("read-only") || message.contains("unable to open"), "{message}");
}

#[test]
fn without_its_wal_a_database_opens_at_its_last_checkpoint_consistent() {
    let path = populated("wal");
    let s = Carespace::new(SqliteStore::open(&path).unwrap());
    let checkpointed = all_events(&s).len();
    let org = s.register_organisation("Late Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
    assert!(Path::new(&format!("{}-wal", path.display())).exists());
    // The main file alone, as if the -wal were deleted after a crash: the commits only
    // the -wal held are gone, and what is left is a sound, earlier database.
    let copy = common::fresh_db("wal-lost");
    std::fs::copy(&path, &copy).unwrap();
    let reopened = assert_sound(&copy);
    assert_eq!(all_events(&reopened).len(), checkpointed);
    assert!(reopened.organisation(org.id).is_err());
    // Closed cleanly, the -wal is checkpointed and removed: nothing depends on it.
    drop(s);
    assert!(!Path::new(&format!("{}-wal", path.display())).exists());
    assert_eq!(all_events(&assert_sound(&path)).len(), checkpointed + 1);
}
