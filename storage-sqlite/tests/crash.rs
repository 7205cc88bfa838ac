//! Crash safety (R32, R35): a child process runs a stream of commands and is killed with
//! SIGKILL at a random moment, several times. After reopening, the file is sound, the
//! invariants hold, every command the child saw succeed is there, and the event log has
//! no gap.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // test code: a panic is a failed test

mod common;

use carespace::testsuite::WholeLists;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use carespace::testsuite::check_invariants;
use carespace::{Carespace, MembershipState, NewWorkspace, OrganisationKind, Speciality, UserId, WorkspaceId};
use carespace_sqlite::SqliteStore;

const DB_VAR: &str = "CARESPACE_CRASH_CHILD_DB";
const MARK: &str = "CRASH-OK";

/// The child: does nothing unless started by the parent test with the database path.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(DB_VAR) else { return };
    let s = Carespace::new(SqliteStore::open(&path).unwrap());
    let org = s.register_organisation("Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
    let mut ward: Option<(WorkspaceId, UserId)> = None;
    for i in 0.. {
        let user =
            s.register_user(format!("u{i}@nhs.net").parse().unwrap(), format!("User {i}").parse().unwrap()).unwrap();
        println!("{MARK} user {}", user.id);
        s.join_organisation(user.id, org.id).unwrap();
        match ward {
            Some((ws, admin)) if i % 5 != 0 => {
                s.request_to_join(user.id, ws).unwrap();
                println!("{MARK} requested {ws} {}", user.id);
                s.approve(admin, ws, user.id).unwrap();
                println!("{MARK} approved {ws} {}", user.id);
            }
            _ => {
                let new = NewWorkspace {
                    name: format!("Ward {i}").parse().unwrap(),
                    speciality: Speciality::from_code(501).unwrap(),
                    description: Default::default(),
                };
                let ws = s.create_workspace(user.id, org.id, new).unwrap().workspace;
                println!("{MARK} workspace {} {}", ws.id, user.id);
                ward = Some((ws.id, user.id));
            }
        }
    }
}

/// A small xorshift generator, seeded from the clock: the kill moments differ per run.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn r35_sigkill_loses_nothing_that_returned_ok() {
    let mut seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    for round in 0..6 {
        let path = common::fresh_db("crash");
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(DB_VAR, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let reader = {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if let Some(rest) = line.strip_prefix(MARK) {
                        lines.lock().unwrap().push(rest.trim().to_owned());
                    }
                }
            })
        };
        // Let it get going (past start-up and migrations), then kill it mid-stream.
        while lines.lock().unwrap().len() < 3 {
            assert!(child.try_wait().unwrap().is_none(), "the child stopped before it was killed");
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(next(&mut seed) % 400));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        let seen = lines.lock().unwrap().clone();
        assert!(!seen.is_empty());

        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.integrity_check().unwrap(), "ok", "round {round}");
        check_invariants(&store, time::OffsetDateTime::now_utc()).unwrap();
        let s = Carespace::new(store);
        for line in &seen {
            let parts: Vec<&str> = line.split(' ').collect();
            match parts.as_slice() {
                ["user", id] => {
                    s.user(id.parse().unwrap()).unwrap();
                }
                ["workspace", ws, admin] => {
                    let members = s.members_all(admin.parse().unwrap(), ws.parse().unwrap()).unwrap();
                    assert_eq!(members.current[0].state, MembershipState::Admin);
                }
                ["requested", ws, user] | ["approved", ws, user] => {
                    let ws: WorkspaceId = ws.parse().unwrap();
                    let user: UserId = user.parse().unwrap();
                    let standing = s.standing(user, ws).unwrap();
                    if parts[0] == "approved" {
                        assert_eq!(standing, carespace::Standing::Member, "round {round}: {line}");
                    } else {
                        assert!(matches!(standing, carespace::Standing::Unapproved | carespace::Standing::Member));
                    }
                }
                other => panic!("unexpected line {other:?}"),
            }
        }
        let events = s.events_since(0, carespace::MAX_EVENT_PAGE).unwrap();
        assert!(events.iter().enumerate().all(|(i, e)| e.seq == i as u64 + 1), "gap-free after the crash");
        eprintln!("round {round}: killed after {} acknowledged steps, {} events on disk", seen.len(), events.len());
    }
}
