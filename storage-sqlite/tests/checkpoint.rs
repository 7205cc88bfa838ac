//! WAL checkpoints happen on the store's own thread, not inside a command's commit: the
//! writer's automatic checkpoint is off, yet committed pages reach the database file
//! while the store is open, a steady stream of commands cannot grow the log without
//! bound, and closing the store leaves no `-wal` behind.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::time::{Duration, Instant};

use carespace::Carespace;
use carespace_sqlite::{Durability, SqliteOptions, SqliteStore};
use common::fresh_db;

fn len(path: &str) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

#[test]
fn checkpoints_run_off_the_command_path_and_keep_the_wal_bounded() {
    let path = fresh_db("checkpoint");
    let options = SqliteOptions { durability: Durability::Normal, ..SqliteOptions::default() };
    let store = std::sync::Arc::new(SqliteStore::open_with(&path, options).unwrap());
    // No commit checkpoints by itself below the bound: SQLite reports its automatic
    // checkpoint as off once another WAL hook replaces it.
    let automatic: i64 = store.with_connection(|c| c.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))).unwrap();
    assert_eq!(automatic, 0, "the writer's COMMIT would still run checkpoints");
    let page: i64 = store.with_connection(|c| c.query_row("PRAGMA page_size", [], |r| r.get(0))).unwrap();
    // A WAL frame is a page and its 24-byte header.
    let frame = page.unsigned_abs() + 24;

    let service = Carespace::from_arc(store.clone());
    let file = path.display().to_string();
    let wal = format!("{file}-wal");
    let mut n = 0;
    let mut register = || {
        let email = format!("user{n}@nhs.net").parse().unwrap();
        service.register_user(email, format!("User {n} of the checkpoint test").parse().unwrap()).unwrap();
        n += 1;
    };

    // Past the 1,000 pages that wake the checkpointer, far below the in-commit bound.
    let before = len(&file);
    while len(&wal) < 1200 * frame {
        register();
    }
    // Only the checkpointer copies pages into the database file now.
    let waited = Instant::now();
    while len(&file) <= before && waited.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(len(&file) > before, "no checkpoint ran: the database file stayed at {before} bytes");

    // A steady stream, which no background checkpoint ever catches up with: the log is
    // still started again, so it stays near its bound (10,000 pages) rather than
    // growing with every command (3,000 registrations write some 20,000 pages).
    for _ in 0..3000 {
        register();
    }
    assert!(len(&wal) < 12_000 * frame, "the WAL grew to {} pages", len(&wal) / frame);

    let last = format!("user{}@nhs.net", n - 1).parse().unwrap();
    drop(service);
    drop(store);
    // The last connection to close (the checkpointer's) checkpointed the rest and
    // removed the log.
    assert!(!std::path::Path::new(&wal).exists(), "the -wal file outlived the store: {} bytes", len(&wal));
    let reopened = Carespace::new(SqliteStore::open(&path).unwrap());
    assert!(reopened.user_by_email(&last).unwrap().is_some());
}
