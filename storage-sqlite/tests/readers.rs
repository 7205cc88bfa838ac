//! The reader pool: a permission check completes while another reader is held inside a
//! slow read. Ordered with barriers, not timing: the slow read is held open until the
//! check has answered, so with a single reader the check could never answer (the
//! receive below would give up and fail the test rather than hang it).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use carespace::{Action, Carespace, Store};
use carespace_sqlite::{SqliteOptions, SqliteStore};

#[test]
fn a_permission_check_is_not_held_up_by_a_slow_read() {
    let options = SqliteOptions { readers: 2, ..SqliteOptions::default() };
    let store = Arc::new(SqliteStore::open_with(common::fresh_db("readers"), options).unwrap());
    let service = Carespace::from_arc(store.clone());
    let (_, users, ward) = carespace::testsuite::trust_with_ward(&service, 1);

    let inside = Arc::new(Barrier::new(2));
    let release = Arc::new(Barrier::new(2));
    let slow = {
        let (store, inside, release) = (store.clone(), inside.clone(), release.clone());
        std::thread::spawn(move || {
            store
                .read(&mut |_| {
                    inside.wait(); // holding a reader, inside its snapshot
                    release.wait(); // until the check has answered
                    Ok(())
                })
                .unwrap();
        })
    };
    inside.wait();
    let (answer, answered) = mpsc::channel();
    let checker = std::thread::spawn(move || {
        answer.send(service.can(users[0].id, ward.id, Action::ViewAllConversations)).unwrap();
    });
    let verdict = answered.recv_timeout(Duration::from_secs(30));
    release.wait();
    slow.join().unwrap();
    checker.join().unwrap();
    assert!(verdict.expect("the check waited for the slow read's reader").unwrap());
}

#[test]
fn every_read_is_answered_when_there_are_more_readers_than_connections() {
    let options = SqliteOptions { readers: 2, ..SqliteOptions::default() };
    let store = Arc::new(SqliteStore::open_with(common::fresh_db("readers-many"), options).unwrap());
    let service = Carespace::from_arc(store);
    let (_, users, ward) = carespace::testsuite::trust_with_ward(&service, 1);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (service, user) = (service.clone(), users[0].id);
            std::thread::spawn(move || (0..200).all(|_| service.can(user, ward.id, Action::Leave).unwrap()))
        })
        .collect();
    assert!(threads.into_iter().all(|t| t.join().unwrap()));
}

/// Closing a store after its readers have read closes them before the writer, so the
/// writer, last to close, checkpoints the WAL and removes the `-wal` and `-shm` files.
#[test]
fn closing_a_store_leaves_no_wal_behind() {
    let path = common::fresh_db("closing");
    let service = Carespace::new(SqliteStore::open(&path).unwrap());
    let (_, users, ward) = carespace::testsuite::trust_with_ward(&service, 1);
    assert!(service.can(users[0].id, ward.id, Action::ViewAllConversations).unwrap(), "a reader has read");
    drop(service);
    for suffix in ["-wal", "-shm"] {
        let file = format!("{}{suffix}", path.display());
        assert!(!std::path::Path::new(&file).exists(), "{file} is left behind");
    }
}
