//! Concurrent sweeps on one SQLite file (R38): several threads, each with its own
//! connection, and several OS processes, all sweeping the same `now` at once. Each
//! effect happens exactly once, with one event, and the invariants hold.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // test code: a panic is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration as StdDuration, Instant};

use carespace::testsuite::{check_invariants, sweep_backlog};
use carespace::{Carespace, Swept};
use carespace_sqlite::SqliteStore;
use common::fresh_db;
use time::{Duration, OffsetDateTime};

const DB_VAR: &str = "CARESPACE_SWEEP_CHILD_DB";
const AT_VAR: &str = "CARESPACE_SWEEP_CHILD_AT";
const GO_VAR: &str = "CARESPACE_SWEEP_CHILD_GO";
const MARK: &str = "SWEPT";

const WARDS: u32 = 3;
const THREADS: usize = 4;
const PROCESSES: usize = 4;

fn service(path: &Path) -> Carespace {
    Carespace::new(SqliteStore::open(path).unwrap())
}

/// Waits until the parent creates the `go` file, so that every sweeper starts together.
fn wait_for(go: &Path) {
    let deadline = Instant::now() + StdDuration::from_secs(60);
    while !go.exists() {
        assert!(Instant::now() < deadline, "the parent never said go");
        std::thread::sleep(StdDuration::from_millis(1));
    }
}

/// The child: does nothing unless started by the parent test.
#[test]
fn sweep_child() {
    let (Ok(path), Ok(at), Ok(go)) = (std::env::var(DB_VAR), std::env::var(AT_VAR), std::env::var(GO_VAR)) else {
        return;
    };
    let at = OffsetDateTime::from_unix_timestamp_nanos(at.parse().unwrap()).unwrap();
    let s = service(Path::new(&path));
    wait_for(Path::new(&go));
    let swept = s.sweep(at).unwrap();
    // On a line of its own: libtest writes "test sweep_child ... " before it.
    println!("\n{MARK} {}", serde_json::to_string(&swept).unwrap());
}

#[test]
fn r38_concurrent_sweeps_from_threads_and_processes_do_each_effect_once() {
    for round in 0..3 {
        let path = fresh_db("sweeps");
        let start = OffsetDateTime::now_utc();
        let expected = sweep_backlog(&service(&path), start, WARDS);
        let cursor = service(&path).events_since(0, 10_000).unwrap().len() as u64;
        let at = start + Duration::days(40);
        let go: PathBuf = path.with_extension("go");
        let _ = std::fs::remove_file(&go);

        let children: Vec<_> = (0..PROCESSES)
            .map(|_| {
                Command::new(std::env::current_exe().unwrap())
                    .args(["--exact", "sweep_child", "--nocapture", "--test-threads=1"])
                    .env(DB_VAR, &path)
                    .env(AT_VAR, at.unix_timestamp_nanos().to_string())
                    .env(GO_VAR, &go)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let barrier = Arc::new(Barrier::new(THREADS + 1));
        let mut results: Vec<Swept> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    let (path, barrier) = (path.clone(), barrier.clone());
                    scope.spawn(move || {
                        let s = service(&path);
                        barrier.wait();
                        s.sweep(at).unwrap()
                    })
                })
                .collect();
            barrier.wait();
            std::fs::write(&go, b"go").unwrap();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "a sweeping process failed");
            let text = String::from_utf8(out.stdout).unwrap();
            let line =
                text.lines().find_map(|l| l.split_once(MARK).map(|(_, r)| r)).expect("the child reports its sweep");
            results.push(serde_json::from_str(line.trim()).unwrap());
        }
        assert_eq!(results.len(), THREADS + PROCESSES);
        let total: Swept = results.iter().copied().sum();
        assert_eq!(total, expected, "round {round}: each effect once across {results:?}");
        // A sweep is one transaction: whoever got the write lock first did everything.
        assert_eq!(results.iter().filter(|r| !r.is_empty()).count(), 1, "{results:?}");

        let s = service(&path);
        let events = s.events_since(cursor, 10_000).unwrap();
        let count = |t: &str| events.iter().filter(|e| e.kind.type_name() == t).count() as u32;
        assert_eq!(count("invite_expired"), expected.invites_expired);
        assert_eq!(count("join_request_escalated"), expected.requests_escalated);
        assert_eq!(count("membership_ending_soon"), expected.end_reminders);
        assert_eq!(count("member_archived"), expected.memberships_ended);
        assert_eq!(count("last_admin_kept"), expected.last_admins_kept);
        assert!(events.iter().all(|e| e.actor.is_none()), "the sweep acts for nobody");
        assert!(s.sweep(at).unwrap().is_empty(), "and again: nothing left");
        let store = SqliteStore::open(&path).unwrap();
        check_invariants(&store, at).unwrap();
        assert_eq!(store.integrity_check().unwrap(), "ok");
        let _ = std::fs::remove_file(&go);
    }
}
