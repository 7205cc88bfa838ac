//! Faults of the PostgreSQL server (issue 22; R35), each on a throwaway cluster of its
//! own with `fsync = on`: a restart mid-stream (`pg_ctl restart -m fast` and `-m
//! immediate`), the postmaster killed with SIGKILL, more clients than `max_connections`.
//! Every command a client saw succeed is there afterwards; every failure is typed, and a
//! retryable one wrote nothing; the pool recovers without the application restarting.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // test code: a panic is a failed test

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use carespace::health::check_invariants;
use carespace::{Carespace, Error, MAX_EVENT_PAGE, NhsEmail, OrganisationId, OrganisationKind};
use carespace_postgres::{PostgresOptions, PostgresStore};

/// A cluster of this test's own, stopped and removed when dropped.
struct Cluster {
    dir: PathBuf,
    port: u16,
}

impl Cluster {
    fn start(label: &str, slot: u16, options: &str) -> Self {
        // Under the system's temporary directory, not the build's: the server runs as
        // the `postgres` user, who may not enter a checkout in a private directory.
        let dir = std::env::temp_dir().join(format!("carespace-faults-{label}-{}", std::process::id()));
        let port = 26_000 + (std::process::id() % 500) as u16 * 8 + slot;
        let cluster = Self { dir, port };
        cluster.script(&["start", &cluster.port.to_string()], &format!("-c fsync=on {options}"));
        cluster
    }

    fn script(&self, args: &[&str], options: &str) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/provision/cluster.sh");
        let status = Command::new(script)
            .arg(args[0])
            .arg(&self.dir)
            .args(&args[1..])
            .env("CLUSTER_OPTIONS", options)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "cluster.sh {args:?} failed");
    }

    fn url(&self) -> String {
        format!("host={} port={} user=postgres dbname=postgres", self.dir.display(), self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/provision/cluster.sh");
        let _ = Command::new(script).arg("stop").arg(&self.dir).status();
    }
}

fn service(cluster: &Cluster) -> Carespace {
    let options = PostgresOptions {
        pool_size: 4,
        connection_timeout: Duration::from_secs(30),
        schema: Some("faults".into()),
        ..PostgresOptions::default()
    };
    Carespace::new(PostgresStore::connect_with(&cluster.url(), options).unwrap())
}

/// What each client saw: the users whose registration returned, and the failures.
#[derive(Default)]
struct Seen {
    acknowledged: Vec<(NhsEmail, carespace::UserId)>,
    retryable: Vec<NhsEmail>,
    other: Vec<String>,
    after_fault: usize,
}

/// Runs `clients` threads registering users (and joining them to `org`) until told to
/// stop, while `fault` runs on this thread; then checks what they saw against the
/// database.
fn under_fault(s: &Carespace, org: OrganisationId, fault: impl FnOnce()) -> Seen {
    let stop = Arc::new(AtomicBool::new(false));
    let faulted = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    std::thread::scope(|scope| {
        for client in 0..4 {
            let (stop, faulted, seen) = (stop.clone(), faulted.clone(), seen.clone());
            scope.spawn(move || {
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let email: NhsEmail = format!("c{client}.u{i}@nhs.net").parse().unwrap();
                    let result = s.register_user(email.clone(), "Someone".parse().unwrap());
                    let mut seen = seen.lock().unwrap();
                    match result {
                        Ok(user) => {
                            seen.acknowledged.push((email, user.id));
                            if faulted.load(Ordering::Relaxed) {
                                seen.after_fault += 1;
                            }
                            drop(seen);
                            // A second command per user: join (acknowledged or not, it is checked by the invariants).
                            let _ = s.join_organisation(user.id, org);
                        }
                        Err(e) if e.is_retryable() => seen.retryable.push(email),
                        Err(e) => seen.other.push(e.to_string()),
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_millis(700));
        fault();
        faulted.store(true, Ordering::Relaxed);
        // Until the clients have gone on for a while with the server back (crash
        // recovery after an immediate restart takes a moment), or 60 s have passed.
        let waiting = Instant::now();
        while seen.lock().unwrap().after_fault < 50 && waiting.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(100));
        }
        stop.store(true, Ordering::Relaxed);
    });
    Arc::try_unwrap(seen).ok().unwrap().into_inner().unwrap()
}

/// Every acknowledged registration is there, no retryable failure wrote its user, the
/// pool went on after the fault, and the store is sound with a gap-free log. No failure
/// was of another kind: even the command whose `COMMIT` was on its way as the server
/// went down learns its fate — from `txid_status` on the same server run, or after a
/// restart from the log, by its first event at the number it would have taken — and
/// either returned or got the retryable error.
fn assert_recovered(s: &Carespace, store: &PostgresStore, seen: &Seen, fault: &str) {
    eprintln!(
        "{fault}: {} acknowledged ({} after the fault), {} retryable failures, {} others",
        seen.acknowledged.len(),
        seen.after_fault,
        seen.retryable.len(),
        seen.other.len()
    );
    assert!(seen.other.is_empty(), "{fault}: failures that were not retryable: {:?}", seen.other);
    assert!(seen.after_fault > 0, "{fault}: the pool did not recover");
    for (email, id) in &seen.acknowledged {
        assert_eq!(s.user_by_email(email).unwrap().map(|u| u.id), Some(*id), "{fault}: lost {email}");
    }
    for email in &seen.retryable {
        assert!(s.user_by_email(email).unwrap().is_none(), "{fault}: a retryable failure wrote {email}");
    }
    check_invariants(store, time::OffsetDateTime::now_utc()).unwrap();
    let events = s.events_since(0, MAX_EVENT_PAGE).unwrap();
    assert!(events.iter().enumerate().all(|(i, e)| e.seq == i as u64 + 1), "{fault}: a gap in the log");
}

fn restart(mode: &str, slot: u16) {
    let cluster = Cluster::start(&format!("restart-{mode}"), slot, "");
    let s = service(&cluster);
    let org = s.register_organisation("Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
    let seen = under_fault(&s, org.id, || cluster.script(&["restart", mode], ""));
    let store = PostgresStore::connect_with(
        &cluster.url(),
        PostgresOptions { schema: Some("faults".into()), ..PostgresOptions::default() },
    )
    .unwrap();
    assert_recovered(&s, &store, &seen, &format!("pg_ctl restart -m {mode}"));
}

#[test]
fn a_fast_restart_mid_stream_loses_nothing_acknowledged_and_the_pool_recovers() {
    restart("fast", 0);
}

#[test]
fn an_immediate_restart_mid_stream_loses_nothing_acknowledged_and_the_pool_recovers() {
    restart("immediate", 1);
}

#[test]
fn a_killed_postmaster_loses_nothing_acknowledged_with_fsync_on() {
    let cluster = Cluster::start("kill", 2, "");
    let s = service(&cluster);
    let org = s.register_organisation("Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
    let seen = under_fault(&s, org.id, || {
        cluster.script(&["kill"], "");
        cluster.script(&["start", &cluster.port.to_string()], "-c fsync=on");
    });
    let store = PostgresStore::connect_with(
        &cluster.url(),
        PostgresOptions { schema: Some("faults".into()), ..PostgresOptions::default() },
    )
    .unwrap();
    assert_recovered(&s, &store, &seen, "kill -9 of the postmaster");
}

#[test]
fn more_clients_than_max_connections_get_a_retryable_error_within_the_timeout() {
    let cluster = Cluster::start("limits", 3, "-c max_connections=6 -c superuser_reserved_connections=0");
    // A store that connected first keeps working on its own connection.
    let options = |timeout| PostgresOptions {
        pool_size: 1,
        connection_timeout: Duration::from_secs(timeout),
        schema: Some("limits".into()),
        ..PostgresOptions::default()
    };
    let first = Carespace::new(PostgresStore::connect_with(&cluster.url(), options(5)).unwrap());
    let org = first.register_organisation("Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
    // Everyone else fills the remaining slots.
    let mut others = Vec::new();
    while let Ok(client) = postgres::Client::connect(&cluster.url(), postgres::NoTls) {
        others.push(client);
        assert!(others.len() < 10, "max_connections was not applied");
    }
    let started = Instant::now();
    let refused = PostgresStore::connect_with(&cluster.url(), options(2));
    let waited = started.elapsed();
    let Err(err) = refused else { panic!("connected past max_connections") };
    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.code(), "storage_unavailable");
    assert!(err.to_string().contains("too many clients"), "{err}");
    assert!(waited < Duration::from_secs(2 + 5), "refused only after {waited:?}, past the 2 s timeout");
    first.register_organisation("Second".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
    assert_eq!(first.organisation(org.id).unwrap().id, org.id);
    // A slot frees: the same call, run again, succeeds.
    drop(others.pop());
    let again = PostgresStore::connect_with(&cluster.url(), options(2));
    assert!(again.is_ok(), "{:?}", again.err().map(|e: Error| e.to_string()));
}
