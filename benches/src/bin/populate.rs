//! Builds an NHS-England-sized Carespace on a SQLite file (the real ODS directory — 241
//! trusts, 14,357 practices — with 1.5M users, 300k workspaces and 5M memberships in 220
//! of the trusts) through the bulk path of `carespace_benches::scale`,
//! then reports the build time, the file size, and p50/p99 of each benchmarked operation
//! on it, with `synchronous=NORMAL` then `FULL`; with `--postgres`, the same in a schema
//! of the database `CARESPACE_PG_URL` names (dropped afterwards); with `--memory`, the
//! MemoryStore's memory per membership.
//!
//! ```text
//! cargo run --release -p carespace-benches --bin populate -- [--scale 1.0] [--path FILE] [--samples 1000]
//!     [--memory | --postgres]
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a measuring tool

use carespace::page::PageRequest;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use carespace::directory::OrganisationSearch;
use carespace::{Action, Carespace, Description, DiscoveryFilter, MemoryStore, NewWorkspace, Speciality, Store};
use carespace_benches::peers::SplitMix;
use carespace_benches::scale::{Built, Scale, build, progress_bar};
use carespace_sqlite::{Durability, SqliteOptions, SqliteStore};

struct Args {
    scale: f64,
    path: PathBuf,
    samples: usize,
    memory: bool,
    postgres: bool,
}

fn args() -> Args {
    let mut a = Args {
        scale: 1.0,
        path: std::env::temp_dir().join("carespace-nhs-england.sqlite3"),
        samples: 1000,
        memory: false,
        postgres: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--scale" => a.scale = it.next().and_then(|v| v.parse().ok()).expect("--scale takes a number"),
            "--path" => a.path = it.next().expect("--path takes a file").into(),
            "--samples" => a.samples = it.next().and_then(|v| v.parse().ok()).expect("--samples takes a number"),
            "--memory" => a.memory = true,
            "--postgres" => a.postgres = true,
            other => panic!("unknown argument {other}; see the file's header for usage"),
        }
    }
    a
}

fn main() {
    let args = args();
    let scale = Scale::NHS_ENGLAND.times(args.scale);
    println!(
        "scale {}: the ODS directory's 241 trusts and {} practices; {} trusts with {} users, {} workspaces, {} memberships",
        args.scale, scale.practices, scale.trusts, scale.users, scale.workspaces, scale.memberships
    );
    if args.memory {
        memory(scale);
    } else if args.postgres {
        postgres(&args, scale);
    } else {
        sqlite(&args, scale);
    }
}

/// Resident memory of this process, in bytes (Linux).
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm.split_whitespace().nth(1).and_then(|p| p.parse::<usize>().ok()).unwrap_or(0) * 4096
}

fn memory(scale: Scale) {
    let store = MemoryStore::new();
    let before = rss();
    let mut at_memberships = 0;
    let mut bar = progress_bar();
    let started = Instant::now();
    let built = build(&store, scale, &mut |phase, done, total| {
        if phase == "workspaces" && done == total {
            at_memberships = rss();
        }
        bar(phase, done, total);
    })
    .unwrap();
    let after = rss();
    let extra = scale.memberships - scale.workspaces;
    println!("built in {:.1?}", started.elapsed());
    println!(
        "MemoryStore: {:.0} bytes per membership added in the memberships phase (the row, its indexes and its 2–3 events); \
         {:.0} bytes per membership for the whole world ({:.2} GiB resident for {} memberships, {} users)",
        (after - at_memberships) as f64 / extra as f64,
        (after - before) as f64 / scale.memberships as f64,
        (after - before) as f64 / (1u64 << 30) as f64,
        scale.memberships,
        built.users.len()
    );
}

fn sqlite(args: &Args, scale: Scale) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", args.path.display()));
    }
    let bulk = SqliteOptions { durability: Durability::Normal, ..SqliteOptions::default() };
    let store = SqliteStore::open_with(&args.path, bulk).unwrap();
    // A large page cache for the build (1 GiB): the membership index takes random inserts.
    store.with_connection(|c| c.pragma_update(None, "cache_size", -1_048_576)).unwrap();
    let started = Instant::now();
    let built = build(&store, scale, &mut progress_bar()).unwrap();
    let build_time = started.elapsed();
    store.with_connection(|c| c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")).unwrap();
    drop(store);
    let size = std::fs::metadata(&args.path).map(|m| m.len()).unwrap_or(0);
    println!("built in {build_time:.1?}; file {:.2} GiB ({size} bytes)", size as f64 / (1u64 << 30) as f64);
    let [unapproved, member, admin, archived] = built.states;
    println!(
        "memberships: {member} approved members, {admin} admins, {unapproved} waiting requests, {archived} archived"
    );

    // The two passes draw different inputs, so no write of the second is a no-op.
    let mut taken: HashSet<(u32, u32)> = built.approved.iter().chain(&built.pending).copied().collect();
    for (pass, durability) in [Durability::Normal, Durability::Full].into_iter().enumerate() {
        let options = SqliteOptions { durability, ..SqliteOptions::default() };
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_with(&args.path, options).unwrap());
        if pass == 0 {
            println!("events: {}", last_seq(store.as_ref()));
        }
        let name = if durability == Durability::Full { "FULL" } else { "NORMAL" };
        println!(
            "\n### On the file, synchronous={name} ({} samples each, discovery and members {})\n",
            args.samples,
            args.samples / 10
        );
        println!("| operation | p50 | p99 |\n|---|---|---|");
        operations(&store, &built, scale, args.samples, pass, &mut taken);
    }
}

fn postgres(args: &Args, scale: Scale) {
    let (store, place) = carespace_benches::Backend::Postgres.open(std::path::Path::new("."), "populate");
    let started = Instant::now();
    let built = build(store.as_ref(), scale, &mut progress_bar()).unwrap();
    let build_time = started.elapsed();
    // Fresh statistics, as autovacuum would gather them in a while: the plans depend on them.
    if let carespace_benches::Place::Postgres { url, schema } = &place {
        let mut client = url.parse::<postgres::Config>().unwrap().connect(postgres::NoTls).unwrap();
        // Table by table: a bare ANALYZE takes a lock on every table of the database.
        let tables = client.query("SELECT tablename FROM pg_tables WHERE schemaname = $1", &[schema]).unwrap();
        for table in tables {
            client.batch_execute(&format!("ANALYZE {schema}.{}", table.get::<_, String>(0))).unwrap();
        }
    }
    println!("built in {build_time:.1?} (then ANALYZE)");
    let [unapproved, member, admin, archived] = built.states;
    println!(
        "memberships: {member} approved members, {admin} admins, {unapproved} waiting requests, {archived} archived"
    );
    println!("events: {}", last_seq(store.as_ref()));
    println!("\n### On PostgreSQL ({} samples each, discovery and members {})\n", args.samples, args.samples / 10);
    println!("| operation | p50 | p99 |\n|---|---|---|");
    let mut taken: HashSet<(u32, u32)> = built.approved.iter().chain(&built.pending).copied().collect();
    operations(&store, &built, scale, args.samples, 0, &mut taken);
    drop(store);
    drop(place);
}

fn operations(
    store: &Arc<dyn Store>,
    built: &Built,
    scale: Scale,
    n: usize,
    pass: usize,
    taken: &mut HashSet<(u32, u32)>,
) {
    let service = &Carespace::from_arc(store.clone());
    let store = store.as_ref();
    let mut rng = SplitMix::new(7 + 100 * pass as u64);
    let user = |i: u32| built.users[i as usize];
    let ws = |j: u32| built.workspaces[j as usize];
    let creator = |j: u32| built.users[built.creators[j as usize] as usize];

    report("can (approved member, then unapproved)", n, |k| {
        let (u, w) = built.approved[rng.below(built.approved.len())];
        // From the last quarter of the waiting requests, which no pass approves.
        let (pu, pw) = built.pending[built.pending.len() - 1 - k % (built.pending.len() / 4).max(1)];
        let started = Instant::now();
        assert!(service.can(user(u), ws(w), Action::ViewAllConversations).unwrap());
        assert!(!service.can(user(pu), ws(pw), Action::ViewAllConversations).unwrap());
        started.elapsed() / 2
    });
    let mut rng = SplitMix::new(8 + 100 * pass as u64);
    report("my_workspaces", n, |_| {
        let u = user(rng.below(scale.users) as u32);
        let started = Instant::now();
        service.my_workspaces(u).unwrap();
        started.elapsed()
    });
    let per_trust = scale.workspaces / scale.trusts;
    let filters = [
        ("no filter", DiscoveryFilter::default()),
        ("name \"obst\"", DiscoveryFilter { name: Some("obst".into()), ..DiscoveryFilter::default() }),
        (
            "speciality 420",
            DiscoveryFilter { speciality: Some(Speciality::from_code(420).unwrap()), ..DiscoveryFilter::default() },
        ),
    ];
    for (seed, (what, filter)) in filters.iter().enumerate() {
        for depth in [0, 3] {
            let mut rng = SplitMix::new(9 + seed as u64 * 7 + depth + 100 * pass as u64);
            let name = format!("discover, {what}, page {} (of ~{per_trust} workspaces)", depth + 1);
            report(&name, n / 10, |_| {
                let t = rng.below(scale.trusts);
                let actor = user(t as u32);
                let request = deep(depth, |page| service.discover(actor, built.trusts[t], filter, page).unwrap().next);
                let started = Instant::now();
                let found = service.discover(actor, built.trusts[t], filter, &request).unwrap();
                let elapsed = started.elapsed();
                assert!(!found.items.is_empty());
                elapsed
            });
        }
    }
    // The biggest workspaces, by current members.
    let mut sizes = vec![0_u32; built.workspaces.len()];
    for (_, w) in built.approved.iter().chain(&built.pending) {
        sizes[*w as usize] += 1;
    }
    let mut biggest: Vec<u32> = (0..built.workspaces.len() as u32).collect();
    biggest.sort_by_key(|w| std::cmp::Reverse(sizes[*w as usize]));
    biggest.truncate(100);
    for depth in [0, 1] {
        let mut rng = SplitMix::new(14 + depth + 100 * pass as u64);
        let least = biggest.last().map_or(0, |w| sizes[*w as usize]);
        let name = format!("members of one of the {} biggest (≥ {least} members), page {}", biggest.len(), depth + 1);
        report(&name, n / 10, |_| {
            let w = biggest[rng.below(biggest.len())];
            let request = deep(depth, |page| service.members(creator(w), ws(w), page).unwrap().next);
            let started = Instant::now();
            let found = service.members(creator(w), ws(w), &request).unwrap();
            let elapsed = started.elapsed();
            assert!(!found.items.is_empty());
            elapsed
        });
    }
    let mut rng = SplitMix::new(15 + 100 * pass as u64);
    report(&format!("membership_history of one of the {} biggest, page 1", biggest.len()), n / 10, |_| {
        let w = biggest[rng.below(biggest.len())];
        let started = Instant::now();
        let found = service.membership_history(ws(w), &PageRequest::default()).unwrap();
        let elapsed = started.elapsed();
        assert!(!found.items.is_empty());
        elapsed
    });
    let searches = ["royal", "st thomas", "surgery", "medical centre"];
    let mut rng = SplitMix::new(16 + 100 * pass as u64);
    report("search_organisations (a name, first page)", n, |_| {
        let text = searches[rng.below(searches.len())];
        let started = Instant::now();
        let found =
            service.search_organisations(&OrganisationSearch::Name(text.into()), &PageRequest::default()).unwrap();
        let elapsed = started.elapsed();
        assert!(!found.items.is_empty());
        elapsed
    });
    let last = last_seq(store);
    let mut rng = SplitMix::new(10 + 100 * pass as u64);
    for size in [50, 1000] {
        report(&format!("events_since ({size} events)"), n, |_| {
            let after = rng.below(last.saturating_sub(size as u64) as usize) as u64;
            let started = Instant::now();
            let page = service.events_since(after, size).unwrap();
            let elapsed = started.elapsed();
            assert_eq!(page.len(), size);
            elapsed
        });
    }
    let mut rng = SplitMix::new(11 + 100 * pass as u64);
    report("start_conversation", n, |_| {
        let (u, w) = built.approved[rng.below(built.approved.len())];
        let started = Instant::now();
        service.start_conversation(user(u), ws(w)).unwrap();
        started.elapsed()
    });
    let mut rng = SplitMix::new(12 + 100 * pass as u64);
    report("request_to_join", n, |_| {
        loop {
            let u = rng.below(scale.users) as u32;
            let trust = u as usize % scale.trusts;
            let per_trust = (scale.workspaces - trust).div_ceil(scale.trusts);
            let w = (trust + scale.trusts * rng.below(per_trust)) as u32;
            if !taken.insert((u, w)) {
                continue;
            }
            let started = Instant::now();
            service.request_to_join(user(u), ws(w)).unwrap();
            break started.elapsed();
        }
    });
    // Each pass approves from its own quarter of the waiting requests.
    let quarter = built.pending.len() / 4;
    report("approve", n.min(quarter), |k| {
        let (u, w) = built.pending[pass * quarter + k];
        let started = Instant::now();
        service.approve(creator(w), ws(w), user(u)).unwrap();
        started.elapsed()
    });
    let mut rng = SplitMix::new(13 + 100 * pass as u64);
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis();
    report("create_workspace", n, |k| {
        let u = rng.below(scale.users) as u32;
        let new = NewWorkspace {
            name: format!("Populate {stamp} {k}").parse().unwrap(),
            speciality: Speciality::from_code(501).unwrap(),
            description: Description::default(),
        };
        let trust = built.trusts[u as usize % scale.trusts];
        let started = Instant::now();
        service.create_workspace(user(u), trust, new).unwrap();
        started.elapsed()
    });
}

/// The request for page `depth + 1` (from 0), found by following `next` from the first
/// page untimed; the first page's when there are fewer.
fn deep(depth: u64, mut next: impl FnMut(&PageRequest) -> Option<carespace::page::Cursor>) -> PageRequest {
    let mut request = PageRequest::default();
    for _ in 0..depth {
        match next(&request) {
            Some(cursor) => request = PageRequest::after(cursor, None),
            None => break,
        }
    }
    request
}

fn last_seq(store: &dyn Store) -> u64 {
    let mut last = 0;
    store
        .read(&mut |r| {
            last = r.last_event_seq()?;
            Ok(())
        })
        .unwrap();
    last
}

/// Runs `f` `n` times (each returns its own timed duration) and prints p50 and p99.
fn report(name: &str, n: usize, mut f: impl FnMut(usize) -> Duration) {
    let mut times: Vec<Duration> = (0..n).map(&mut f).collect();
    times.sort_unstable();
    let pick = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    println!("| {name} | {:.1?} | {:.1?} |", pick(0.50), pick(0.99));
}
