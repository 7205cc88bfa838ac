//! The permission check beside casbin and Cedar on one data set (10,000 users × 1,000
//! workspaces, 5 memberships each, mixed roles and statuses): `make bench` runs it with
//! the `peers` feature. Every engine's answers to the probes are checked equal first.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // benchmark code

use std::time::Duration;

use carespace_benches::Backend;
use carespace_benches::peers::{CasbinWorld, CedarWorld, PeerWorld};
use criterion::{Criterion, criterion_group, criterion_main};

/// Users, workspaces, memberships per user, probes.
const SIZE: (usize, usize, usize, usize) = (10_000, 1_000, 5, 4_096);

fn peers(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("carespace-peers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let world = PeerWorld::generate(SIZE.0, SIZE.1, SIZE.2, SIZE.3);
    let started = std::time::Instant::now();
    let memory = world.build_carespace(Backend::Memory, &dir);
    let sqlite = world.build_carespace(Backend::SqliteNormal, &dir);
    eprintln!("built the Carespace worlds through the API in {:.1?}", started.elapsed());
    let map = world.build_hashmap();
    let casbin = CasbinWorld::build(&world);
    let cedar = CedarWorld::build(&world);
    let names: Vec<(String, String)> =
        world.probes.iter().map(|&(u, w, _)| (format!("u{u}"), format!("ws{w}"))).collect();
    let uids: Vec<_> = world
        .probes
        .iter()
        .map(|&(u, w, _)| (CedarWorld::uid("User", &format!("u{u}")), CedarWorld::uid("Workspace", &format!("ws{w}"))))
        .collect();

    // Same answers everywhere before anything is timed.
    world.check_agreement("carespace-memory", |u, w| memory.check(u, w));
    world.check_agreement("carespace-sqlite", |u, w| sqlite.check(u, w));
    world.check_agreement("hashmap", |u, w| map.get(&(w, u)).is_some_and(|s| s.is_approved()));
    let mut i = 0;
    world.check_agreement("casbin", |_, _| {
        i += 1;
        casbin.check(&names[i - 1].0, &names[i - 1].1)
    });
    let mut i = 0;
    world.check_agreement("cedar", |_, _| {
        i += 1;
        cedar.check(&uids[i - 1].0, &uids[i - 1].1)
    });

    let n = world.probes.len();
    let mut g = c.benchmark_group("peer_check");
    let mut k = 0usize;
    let mut next = move || {
        k = (k + 1) % n;
        k
    };
    g.bench_function("carespace-memory", |b| {
        b.iter(|| {
            let (u, w, _) = world.probes[next()];
            memory.check(u, w)
        })
    });
    g.bench_function("carespace-sqlite-normal", |b| {
        b.iter(|| {
            let (u, w, _) = world.probes[next()];
            sqlite.check(u, w)
        })
    });
    g.bench_function("hashmap", |b| {
        b.iter(|| {
            let (u, w, _) = world.probes[next()];
            map.get(&(w, u)).is_some_and(|s| s.is_approved())
        })
    });
    g.bench_function("casbin", |b| {
        b.iter(|| {
            let (u, w) = &names[next()];
            casbin.check(u, w)
        })
    });
    g.bench_function("cedar", |b| {
        b.iter(|| {
            let (u, w) = &uids[next()];
            cedar.check(u, w)
        })
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300))
}

criterion_group! { name = benches; config = config(); targets = peers }
criterion_main!(benches);
