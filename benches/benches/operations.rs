//! Criterion benchmarks: each operation on MemoryStore, SqliteStore (NORMAL, FULL) and,
//! when `CARESPACE_PG_URL` is set, PostgresStore, each beside the hand-written SQL
//! baseline on the same data and settings, in one run. `make bench` runs them on a
//! throwaway PostgreSQL cluster and prints the ratio table (see `src/bin/report.rs`).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)] // benchmark code

use std::collections::HashMap;
use std::time::Duration;

use carespace::{Action, MembershipState};
use carespace_benches::{Backend, Fixture, POSTGRES_URL};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

fn operations(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("carespace-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let backends = Backend::available();
    if !backends.contains(&Backend::Postgres) {
        eprintln!("{POSTGRES_URL} is not set: no PostgreSQL columns in this run (`make bench` sets it)");
    }
    for backend in backends {
        let f = Fixture::new(backend, &dir);
        let name = backend.name();
        let mut baseline = f.place.baseline();
        let base = format!("{name}-baseline");

        let mut g = c.benchmark_group("can");
        g.bench_function(name, |b| {
            b.iter(|| {
                assert!(f.service.can(f.member.id, f.ward.id, Action::ViewAllConversations).unwrap());
                assert!(!f.service.can(f.unapproved.id, f.ward.id, Action::ViewAllConversations).unwrap());
            })
        });
        match baseline.as_mut() {
            Some(bl) => g.bench_function(&base, |b| {
                b.iter(|| {
                    assert!(bl.can_view_all(f.ward.id, f.member.id));
                    assert!(!bl.can_view_all(f.ward.id, f.unapproved.id));
                })
            }),
            None => {
                // The in-memory ceiling: a bare HashMap lookup of the membership state.
                let map: HashMap<_, _> = [
                    ((f.ward.id, f.member.id), MembershipState::Member),
                    ((f.ward.id, f.unapproved.id), MembershipState::Unapproved),
                ]
                .into_iter()
                .collect();
                g.bench_function(&base, |b| {
                    b.iter(|| {
                        assert!(map.get(&(f.ward.id, f.member.id)).is_some_and(|s| s.is_approved()));
                        assert!(!map.get(&(f.ward.id, f.unapproved.id)).is_some_and(|s| s.is_approved()));
                    })
                })
            }
        };
        g.finish();

        let mut g = c.benchmark_group("my_workspaces");
        g.bench_function(name, |b| b.iter(|| assert_eq!(f.service.my_workspaces(f.switcher.id).unwrap().len(), 6)));
        if let Some(bl) = baseline.as_mut() {
            g.bench_function(&base, |b| b.iter(|| assert_eq!(bl.my_workspaces(f.switcher.id), 6)));
        }
        g.finish();

        let mut g = c.benchmark_group("discover_1000");
        g.bench_function(name, |b| b.iter(|| assert!(f.discover_all() >= carespace_benches::DISCOVERY_WORKSPACES)));
        if let Some(bl) = baseline.as_mut() {
            g.bench_function(&base, |b| {
                b.iter(|| assert_eq!(bl.discover_all(f.big_trust.id), carespace_benches::DISCOVERY_WORKSPACES))
            });
        }
        g.finish();

        let mut g = c.benchmark_group("events_1000");
        g.bench_function(name, |b| b.iter(|| assert_eq!(f.service.events_since(100, 1000).unwrap().len(), 1000)));
        if let Some(bl) = baseline.as_mut() {
            g.bench_function(&base, |b| b.iter(|| assert_eq!(bl.events_since(100), 1000)));
        }
        g.finish();

        // R37 and R38 read-mostly paths, before the write groups change the ward.
        let now = time::OffsetDateTime::now_utc();
        let mut g = c.benchmark_group("viewers_at");
        g.bench_function(name, |b| b.iter(|| assert_eq!(f.service.viewers_at(f.ward.id, now).unwrap().len(), 2)));
        if let Some(bl) = baseline.as_mut() {
            let at = i64::try_from(now.unix_timestamp_nanos()).unwrap();
            g.bench_function(&base, |b| b.iter(|| assert_eq!(bl.viewers_at(f.ward.id, at), 2)));
        }
        g.finish();

        // Far enough ahead that the fixture's pending requests are due: sweep once to
        // escalate them, then measure the idle sweep every later call is.
        let later = now + time::Duration::days(30);
        f.service.sweep(later).unwrap();
        let mut g = c.benchmark_group("sweep_idle");
        g.bench_function(name, |b| b.iter(|| assert!(f.service.sweep(later).unwrap().is_empty())));
        if let Some(bl) = baseline.as_mut() {
            let at = i64::try_from(later.unix_timestamp_nanos()).unwrap();
            g.bench_function(&base, |b| b.iter(|| bl.sweep_idle(at)));
        }
        g.finish();

        let mut g = c.benchmark_group("start_conversation");
        g.bench_function(name, |b| b.iter(|| f.service.start_conversation(f.member.id, f.ward.id).unwrap()));
        if let Some(bl) = baseline.as_mut() {
            g.bench_function(&base, |b| b.iter(|| bl.start_conversation(f.ward.id, f.member.id)));
        }
        g.finish();

        let mut g = c.benchmark_group("request_to_join");
        g.bench_function(name, |b| {
            b.iter_batched(|| f.newcomer(), |u| f.service.request_to_join(u, f.ward.id).unwrap(), BatchSize::SmallInput)
        });
        if let Some(bl) = baseline.as_mut() {
            g.bench_function(&base, |b| {
                b.iter_batched(|| f.newcomer(), |u| bl.request_to_join(f.trust.id, f.ward.id, u), BatchSize::SmallInput)
            });
        }
        g.finish();

        let mut g = c.benchmark_group("approve");
        g.bench_function(name, |b| {
            b.iter_batched(
                || f.requester(),
                |u| f.service.approve(f.admin.id, f.ward.id, u).unwrap(),
                BatchSize::SmallInput,
            )
        });
        if let Some(bl) = baseline.as_mut() {
            g.bench_function(&base, |b| {
                b.iter_batched(|| f.requester(), |u| bl.approve(f.ward.id, f.admin.id, u), BatchSize::SmallInput)
            });
        }
        g.finish();

        let mut g = c.benchmark_group("create_workspace");
        g.bench_function(name, |b| b.iter(|| f.create_workspace()));
        if let Some(bl) = baseline.as_mut() {
            g.bench_function(&base, |b| b.iter(|| bl.create_workspace(f.trust.id, f.admin.id, f.next())));
        }
        g.finish();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn config() -> Criterion {
    // 30 samples of 3 s: this machine's run-to-run noise on the write paths (fsync, WAL
    // checkpoints) was ±30% with 20 × 2 s.
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = operations }
criterion_main!(benches);
