//! A write whose closure panics rolls back and releases the store's write lock, so the
//! next writer — on this pool's only connection, or on another process's — goes on (R35).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use carespace::testsuite::dump;
use carespace::{Carespace, OrganisationKind, Store};
use carespace_postgres::{PostgresOptions, PostgresStore};

#[test]
fn r35_a_panicking_write_rolls_back_and_releases_the_write_lock() {
    let schema = common::Dropped(format!("w{}", std::process::id()));
    let options = PostgresOptions { pool_size: 1, schema: Some(schema.0.clone()), ..PostgresOptions::default() };
    let store = Arc::new(PostgresStore::connect_with(&common::url(), options).unwrap());
    let service = Carespace::from_arc(store.clone());
    let org = service.register_organisation("Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
    let before = dump(store.as_ref());
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = store.write(&mut |tx| {
            let mut renamed = tx.reader().organisation(org.id)?.unwrap();
            renamed.name = "Renamed".parse()?;
            tx.put_organisation(&renamed)?;
            panic!("a bug in a caller's closure");
        });
    }));
    assert!(panicked.is_err());
    assert_eq!(dump(store.as_ref()), before);
    // Another store (another connection, as another process would have) can write.
    let (done, finished) = mpsc::channel();
    let name = schema.0.clone();
    std::thread::spawn(move || {
        let other = Carespace::new(common::store_in(&name));
        done.send(other.register_user("a@nhs.net".parse().unwrap(), "A".parse().unwrap()).is_ok()).unwrap();
    });
    assert_eq!(finished.recv_timeout(Duration::from_secs(20)), Ok(true), "the write lock was left held");
    // And this pool's only connection can too.
    service.register_user("b@nhs.net".parse().unwrap(), "B".parse().unwrap()).unwrap();
}
