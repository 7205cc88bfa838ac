//! Several connections on one file, in several threads, at once: the rules that need
//! serialization hold (R9, R16, R21, R23, R25). Each thread opens its own `SqliteStore`,
//! as separate processes would.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // test code: a panic is a failed test

mod common;

use carespace::testsuite::WholeLists;
use std::path::Path;
use std::sync::{Arc, Barrier};

use carespace::testsuite::{check_invariants, trust_with_ward};
use carespace::{
    Carespace, DiscoveryEntry, DiscoveryFilter, EventKind, JoinOutcome, MembershipState, NewWorkspace, Speciality,
    User, Workspace,
};
use carespace_sqlite::SqliteStore;
use common::fresh_db;

fn service(path: &Path) -> Carespace {
    Carespace::new(SqliteStore::open(path).unwrap())
}

fn assert_invariants(path: &Path) {
    let store = SqliteStore::open(path).unwrap();
    check_invariants(&store, time::OffsetDateTime::now_utc()).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

/// A trust with `n` members; the first has created "Ward 1".
fn setup(path: &Path, n: usize) -> (carespace::Organisation, Vec<User>, Workspace) {
    trust_with_ward(&service(path), n)
}

#[test]
fn r9_many_users_joining_the_same_example_at_once_create_one_workspace() {
    for round in 0..3 {
        let path = fresh_db("example-race");
        let (org, users, _) = setup(&path, 8);
        let barrier = Arc::new(Barrier::new(users.len()));
        let outcomes: Vec<JoinOutcome> = std::thread::scope(|scope| {
            let handles: Vec<_> = users
                .iter()
                .map(|u| {
                    let (path, barrier, user, org) = (path.clone(), barrier.clone(), u.id, org.id);
                    scope.spawn(move || {
                        let s = service(&path);
                        barrier.wait();
                        s.join_example(user, org, Speciality::from_code(100).unwrap()).unwrap().outcome
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(outcomes.iter().filter(|o| **o == JoinOutcome::Created).count(), 1, "round {round}");
        let s = service(&path);
        let filter = DiscoveryFilter { speciality: Some(Speciality::from_code(100).unwrap()), ..Default::default() };
        let listing = s.discover_all(users[0].id, org.id, &filter).unwrap();
        let made: Vec<_> = listing.iter().filter(|e| matches!(e, DiscoveryEntry::Workspace { .. })).collect();
        assert_eq!(made.len(), 1);
        assert_eq!(made[0].member_count(), users.len() as u32);
        match made[0] {
            DiscoveryEntry::Workspace { admins, .. } => assert_eq!(admins.len(), 1, "exactly one admin"),
            DiscoveryEntry::Example { .. } => unreachable!(),
        }
        assert_invariants(&path);
    }
}

#[test]
fn r21_r23_two_admins_leaving_and_demoting_each_other_never_leave_zero_admins() {
    for round in 0..5 {
        let path = fresh_db("admin-race");
        let (_, users, ws) = setup(&path, 3);
        let (a, b, c) = (&users[0], &users[1], &users[2]);
        {
            let s = service(&path);
            for u in [b, c] {
                s.request_to_join(u.id, ws.id).unwrap();
                s.approve(a.id, ws.id, u.id).unwrap();
            }
            s.promote(a.id, ws.id, b.id).unwrap();
        }
        let barrier = Arc::new(Barrier::new(2));
        std::thread::scope(|scope| {
            for (me, other, leave) in [(a.id, b.id, round % 2 == 0), (b.id, a.id, true)] {
                let (path, barrier, ws) = (path.clone(), barrier.clone(), ws.id);
                scope.spawn(move || {
                    let s = service(&path);
                    barrier.wait();
                    let _ = s.demote(me, ws, other);
                    if leave {
                        let _ = s.leave(me, ws);
                    }
                });
            }
        });
        let s = service(&path);
        let members = s.members_all(c.id, ws.id).unwrap_or_default();
        let admins = members.current.iter().filter(|m| m.state == MembershipState::Admin).count();
        assert!(admins >= 1, "round {round}: {members:?}");
        assert_invariants(&path);
    }
}

#[test]
fn r16_concurrent_approvals_of_one_request_approve_it_once() {
    let path = fresh_db("approval-race");
    let (_, users, ws) = setup(&path, 6);
    let s = service(&path);
    let admins = &users[..4];
    for admin in &admins[1..] {
        s.request_to_join(admin.id, ws.id).unwrap();
        s.approve(admins[0].id, ws.id, admin.id).unwrap();
        s.promote(admins[0].id, ws.id, admin.id).unwrap();
    }
    let requester = &users[5];
    s.request_to_join(requester.id, ws.id).unwrap();
    let cursor = s.events_since(0, 10_000).unwrap().len() as u64;
    let barrier = Arc::new(Barrier::new(admins.len()));
    std::thread::scope(|scope| {
        for admin in admins {
            let (path, barrier, me, ws, who) = (path.clone(), barrier.clone(), admin.id, ws.id, requester.id);
            scope.spawn(move || {
                let s = service(&path);
                barrier.wait();
                assert_eq!(s.approve(me, ws, who).unwrap().state, MembershipState::Member);
            });
        }
    });
    let events = s.events_since(cursor, 100).unwrap();
    assert_eq!(events.iter().filter(|e| matches!(e.kind, EventKind::JoinApproved { .. })).count(), 1);
    assert_invariants(&path);
}

#[test]
fn readers_see_committed_state_while_writers_work() {
    let path = fresh_db("readers");
    let (org, users, _) = setup(&path, 2);
    std::thread::scope(|scope| {
        let writer_path = path.clone();
        let writer = users[0].id;
        scope.spawn(move || {
            let s = service(&writer_path);
            for i in 0..30 {
                let new = NewWorkspace {
                    name: format!("Ward {}", i + 2).parse().unwrap(),
                    speciality: Speciality::from_code(501).unwrap(),
                    description: Default::default(),
                };
                s.create_workspace(writer, org.id, new).unwrap();
            }
        });
        let reader = service(&path);
        let mut last = 0;
        for _ in 0..30 {
            let seen = reader.my_workspaces(users[0].id).unwrap().len();
            assert!(seen >= last, "a reader never goes back in time");
            last = seen;
        }
    });
    assert_eq!(service(&path).my_workspaces(users[0].id).unwrap().len(), 32);
    assert_invariants(&path);
}
