//! Several connections at once on one PostgreSQL schema — threads with stores of their
//! own, and OS processes — racing on the rules that need serialization (R9, R16, R21,
//! R23, R25, R38). SERIALIZABLE transactions retried on conflict keep every invariant,
//! each effect happens once, and the event log stays gap-free.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // test code: a panic is a failed test

mod common;

use carespace::testsuite::WholeLists;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration as StdDuration, Instant};

use carespace::testsuite::{check_invariants, sweep_backlog, trust_with_ward};
use carespace::{
    Carespace, EventKind, JoinOutcome, MembershipState, Organisation, Speciality, Swept, User, UserId, Workspace,
    WorkspaceId,
};
use time::{Duration, OffsetDateTime};

const THREADS: usize = 4;
const PROCESSES: usize = 3;
const CHILD: &str = "CARESPACE_PG_CHILD";
const MARK: &str = "CHILD-DONE";

fn service(schema: &str) -> Carespace {
    Carespace::new(common::store_in(schema))
}

/// A schema of its own, dropped when the test is done with it.
fn fresh_schema(label: &str) -> common::Dropped {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    common::Dropped(format!("c{}_{label}_{n}", std::process::id()))
}

fn assert_invariants(schema: &str) {
    check_invariants(&common::store_in(schema), OffsetDateTime::now_utc() + Duration::days(365)).unwrap();
}

/// A trust with `n` members; the first created "Ward 1".
fn setup(schema: &str, n: usize) -> (Organisation, Vec<User>, Workspace) {
    trust_with_ward(&service(schema), n)
}

/// One step a racer runs: by a thread here, or by a child process.
#[derive(Debug, Clone)]
enum Step {
    JoinExample {
        user: UserId,
        org: carespace::OrganisationId,
    },
    Approve {
        admin: UserId,
        ws: WorkspaceId,
        user: UserId,
    },
    DemoteThenLeave {
        me: UserId,
        other: UserId,
        ws: WorkspaceId,
    },
    Sweep {
        at: OffsetDateTime,
    },
    /// Only connect (and so migrate), then report the schema version.
    Connect,
}

impl Step {
    fn encode(&self) -> String {
        match self {
            Step::JoinExample { user, org } => format!("example {user} {org}"),
            Step::Approve { admin, ws, user } => format!("approve {admin} {ws} {user}"),
            Step::DemoteThenLeave { me, other, ws } => format!("demote {me} {other} {ws}"),
            Step::Sweep { at } => format!("sweep {}", at.unix_timestamp_nanos()),
            Step::Connect => "connect".to_owned(),
        }
    }

    fn decode(text: &str) -> Self {
        let words: Vec<&str> = text.split_whitespace().collect();
        match words[0] {
            "example" => Step::JoinExample { user: words[1].parse().unwrap(), org: words[2].parse().unwrap() },
            "approve" => Step::Approve {
                admin: words[1].parse().unwrap(),
                ws: words[2].parse().unwrap(),
                user: words[3].parse().unwrap(),
            },
            "demote" => Step::DemoteThenLeave {
                me: words[1].parse().unwrap(),
                other: words[2].parse().unwrap(),
                ws: words[3].parse().unwrap(),
            },
            "connect" => Step::Connect,
            _ => Step::Sweep { at: OffsetDateTime::from_unix_timestamp_nanos(words[1].parse().unwrap()).unwrap() },
        }
    }

    /// Runs the step; a short description of what happened.
    fn run(&self, s: &Carespace) -> String {
        match self {
            Step::JoinExample { user, org } => {
                format!("{:?}", s.join_example(*user, *org, Speciality::from_code(100).unwrap()).unwrap().outcome)
            }
            Step::Approve { admin, ws, user } => format!("{:?}", s.approve(*admin, *ws, *user).unwrap().state),
            Step::DemoteThenLeave { me, other, ws } => {
                let _ = s.demote(*me, *ws, *other);
                let _ = s.leave(*me, *ws);
                "done".to_owned()
            }
            Step::Sweep { at } => serde_json::to_string(&s.sweep(*at).unwrap()).unwrap(),
            Step::Connect => format!("{}", s.events_since(0, 1).unwrap().len()),
        }
    }
}

/// The child process: does nothing unless started by a race below.
#[test]
fn child() {
    let Ok(spec) = std::env::var(CHILD) else { return };
    let mut parts = spec.splitn(3, '|');
    let (schema, go, step) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
    wait_for(Path::new(go));
    let out = Step::decode(step).run(&service(schema));
    println!("\n{MARK} {out}");
}

fn wait_for(go: &Path) {
    let deadline = Instant::now() + StdDuration::from_secs(60);
    while !go.exists() {
        assert!(Instant::now() < deadline, "the parent never said go");
        std::thread::sleep(StdDuration::from_millis(1));
    }
}

/// Runs `steps[i]` in thread `i` (each with its own store) and `children[j]` in child
/// process `j`, all released at once; returns every racer's description.
fn race(schema: &str, threads: Vec<Step>, children: Vec<Step>) -> Vec<String> {
    let go: PathBuf = std::env::temp_dir().join(format!("{schema}.go"));
    let _ = std::fs::remove_file(&go);
    let procs: Vec<_> = children
        .iter()
        .map(|step| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "child", "--nocapture", "--test-threads=1"])
                .env(CHILD, format!("{schema}|{}|{}", go.display(), step.encode()))
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let barrier = Arc::new(Barrier::new(threads.len() + 1));
    let mut outs: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = threads
            .into_iter()
            .map(|step| {
                let barrier = barrier.clone();
                scope.spawn(move || {
                    barrier.wait();
                    // Connecting is part of the race: a fresh schema is migrated by
                    // whoever gets the advisory lock first.
                    step.run(&service(schema))
                })
            })
            .collect();
        barrier.wait();
        std::fs::write(&go, b"go").unwrap();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for p in procs {
        let out = p.wait_with_output().unwrap();
        assert!(out.status.success(), "a racing process failed");
        let text = String::from_utf8(out.stdout).unwrap();
        outs.push(text.lines().find_map(|l| l.split_once(MARK).map(|(_, r)| r.trim().to_owned())).unwrap());
    }
    let _ = std::fs::remove_file(&go);
    outs
}

#[test]
fn several_processes_connecting_to_a_new_schema_at_once_migrate_it_exactly_once() {
    let schema = fresh_schema("migrate");
    let outs = race(&schema, vec![Step::Connect; THREADS], vec![Step::Connect; PROCESSES]);
    assert!(outs.iter().all(|o| o == "0"), "{outs:?}");
    let store = common::store_in(&schema);
    assert_eq!(store.schema_version().unwrap(), carespace_postgres::SCHEMA_VERSION);
    let mut client = postgres::Client::connect(&common::url(), postgres::NoTls).unwrap();
    let sql = format!("SELECT count(*) FROM {schema}.carespace_schema_version");
    let rows: i64 = client.query_one(sql.as_str(), &[]).unwrap().get(0);
    assert_eq!(rows, i64::from(carespace_postgres::SCHEMA_VERSION), "each migration recorded once");
}

#[test]
fn r9_joining_the_same_example_from_threads_and_processes_creates_one_workspace() {
    for round in 0..2 {
        let schema = fresh_schema("example");
        let (org, users, _) = setup(&schema, THREADS + PROCESSES);
        let steps: Vec<Step> = users.iter().map(|u| Step::JoinExample { user: u.id, org: org.id }).collect();
        let (threads, children) = (steps[..THREADS].to_vec(), steps[THREADS..].to_vec());
        let outcomes = race(&schema, threads, children);
        let created = outcomes.iter().filter(|o| *o == &format!("{:?}", JoinOutcome::Created)).count();
        assert_eq!(created, 1, "round {round}: {outcomes:?}");
        assert_invariants(&schema);
    }
}

#[test]
fn r16_concurrent_approvals_of_one_request_approve_it_once() {
    let schema = fresh_schema("approve");
    let (_, users, ws) = setup(&schema, THREADS + PROCESSES + 1);
    let s = service(&schema);
    let admins = &users[..THREADS + PROCESSES];
    for admin in &admins[1..] {
        s.request_to_join(admin.id, ws.id).unwrap();
        s.approve(admins[0].id, ws.id, admin.id).unwrap();
        s.promote(admins[0].id, ws.id, admin.id).unwrap();
    }
    let requester = users.last().unwrap();
    s.request_to_join(requester.id, ws.id).unwrap();
    let cursor = s.events_since(0, 10_000).unwrap().len() as u64;
    let steps: Vec<Step> =
        admins.iter().map(|a| Step::Approve { admin: a.id, ws: ws.id, user: requester.id }).collect();
    let outs = race(&schema, steps[..THREADS].to_vec(), steps[THREADS..].to_vec());
    assert!(outs.iter().all(|o| o == &format!("{:?}", MembershipState::Member)), "{outs:?}");
    let events = s.events_since(cursor, 100).unwrap();
    assert_eq!(events.iter().filter(|e| matches!(e.kind, EventKind::JoinApproved { .. })).count(), 1);
    assert_invariants(&schema);
}

#[test]
fn r21_r23_admins_demoting_each_other_and_leaving_never_leave_zero_admins() {
    for round in 0..3 {
        let schema = fresh_schema("admins");
        let (_, users, ws) = setup(&schema, 4);
        let s = service(&schema);
        for u in &users[1..] {
            s.request_to_join(u.id, ws.id).unwrap();
            s.approve(users[0].id, ws.id, u.id).unwrap();
        }
        s.promote(users[0].id, ws.id, users[1].id).unwrap();
        s.promote(users[0].id, ws.id, users[2].id).unwrap();
        let (a, b, c) = (users[0].id, users[1].id, users[2].id);
        let threads = vec![
            Step::DemoteThenLeave { me: a, other: b, ws: ws.id },
            Step::DemoteThenLeave { me: b, other: c, ws: ws.id },
        ];
        let children = vec![Step::DemoteThenLeave { me: c, other: a, ws: ws.id }];
        race(&schema, threads, children);
        let members = s.members_all(users[3].id, ws.id).unwrap();
        let admins = members.current.iter().filter(|m| m.state == MembershipState::Admin).count();
        assert!(admins >= 1, "round {round}: {members:?}");
        assert_invariants(&schema);
    }
}

#[test]
fn r38_concurrent_sweeps_from_threads_and_processes_do_each_effect_once() {
    let schema = fresh_schema("sweep");
    let s = service(&schema);
    let start = OffsetDateTime::now_utc();
    let backlog = sweep_backlog(&s, start, 2);
    let expected = Swept {
        invites_expired: 4,
        requests_escalated: 4,
        end_reminders: 2,
        memberships_ended: 2,
        last_admins_kept: 2,
    };
    assert_eq!(backlog, expected);
    let cursor = s.events_since(0, 10_000).unwrap().len() as u64;
    let at = start + Duration::days(40);
    let steps = vec![Step::Sweep { at }; THREADS + PROCESSES];
    let outs = race(&schema, steps[..THREADS].to_vec(), steps[THREADS..].to_vec());
    let results: Vec<Swept> = outs.iter().map(|o| serde_json::from_str(o).unwrap()).collect();
    let total: Swept = results.iter().copied().sum();
    assert_eq!(total, expected, "each effect once across {results:?}");
    let events = s.events_since(cursor, 10_000).unwrap();
    let count = |t: &str| events.iter().filter(|e| e.kind.type_name() == t).count() as u32;
    assert_eq!(count("invite_expired"), expected.invites_expired);
    assert_eq!(count("join_request_escalated"), expected.requests_escalated);
    assert_eq!(count("membership_ending_soon"), expected.end_reminders);
    assert_eq!(count("member_archived"), expected.memberships_ended);
    assert_eq!(count("last_admin_kept"), expected.last_admins_kept);
    assert!(s.sweep(at).unwrap().is_empty());
    assert_invariants(&schema);
}
