//! The soak (issue 22): mixed commands for a bounded time — 8 threads on one SQLite
//! file, or 4 client processes on one PostgreSQL schema (`--postgres`, on
//! `CARESPACE_PG_URL`) — then the checks: the invariants, the narrow reads of the first
//! 50 users, a gap-free log. It reports commands per second in each tenth of the run,
//! each command's mean time just after the warm-up and in the last tenth (which
//! commands slow as the wards grow), and three measures of memory: what Rust code holds live (counted by this binary's
//! allocator), what SQLite holds (`sqlite3_memory_used`: mostly its page caches, which
//! fill up to `cache_size` per connection as the file grows), and the resident size.
//! It fails if Rust holds more once the workers have stopped than it held, with the
//! commands in flight, after the warm-up (the first fifth), by 10% and 64 KiB — memory
//! kept, not memory a command holds while it runs, which grows with the wards — if SQLite's
//! passed its caches' ceiling (2 MiB per connection, plus 2 MiB), if a storage error
//! that is not retryable happened, or if a check fails. The resident size is reported,
//! not judged: under glibc's malloc it goes on growing while the live memory stays flat
//! (freed memory kept in its per-thread arenas, fragmented), which is the allocator's
//! behaviour rather than memory Carespace holds; heaptrack shows the same. `make soak`
//! runs 10 minutes of each backend; `make test` 30 seconds of each.
//!
//! ```text
//! cargo run --release -p carespace-benches --bin soak -- [--postgres] [--seconds 600] [--path FILE]
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a measuring tool: a panic is a broken run

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use carespace::page::PageRequest;
use carespace::{
    Action, Carespace, DiscoveryFilter, Error, NewWorkspace, OrganisationId, OrganisationKind, Speciality, Store,
    UserId, WorkspaceId,
};
use carespace_benches::peers::SplitMix;
use carespace_postgres::{PostgresOptions, PostgresStore};
use carespace_sqlite::SqliteStore;

/// How many slices the run is reported in.
const TICKS: usize = 10;
/// The slices before the memory is taken as the baseline.
const WARM_UP: usize = 2;
/// The threads of the SQLite soak, on one store.
const THREADS: usize = 8;
/// The client processes of the PostgreSQL soak, each with its own store.
const PROCESSES: usize = 4;
/// The trust's wards the mix works on.
const WARDS: usize = 6;
/// The most newcomers and members a worker keeps in mind, so that the harness's own
/// memory stays flat and only Carespace's can grow.
const REMEMBERED: usize = 256;

/// Adds `entry` to `list`, forgetting a random one when it is full.
fn remember(list: &mut Vec<(usize, UserId)>, entry: (usize, UserId), rng: &mut SplitMix) {
    if list.len() >= REMEMBERED {
        list.swap_remove(rng.below(list.len()));
    }
    list.push(entry);
}

/// The system allocator, counting the bytes allocated and not yet freed.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call goes to the system allocator with the caller's arguments; the
// counter only adds and subtracts the sizes of what it returned and took back.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as the caller promised for this call.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as the caller promised for this call.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as the caller promised for this call.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The memory the process holds live, in KiB: Rust's allocations, and SQLite's.
fn live_kib() -> (u64, u64) {
    // SAFETY: a read of SQLite's own counter, safe from any thread at any time.
    let sqlite = unsafe { rusqlite::ffi::sqlite3_memory_used() };
    (LIVE.load(Ordering::Relaxed) as u64 / 1024, u64::try_from(sqlite).unwrap_or(0) / 1024)
}

/// One slice's memory, in KiB.
#[derive(Clone, Copy, Default)]
struct Memory {
    /// Rust's live allocations (the median of the slice's samples).
    rust: u64,
    /// SQLite's (the median of the slice's samples).
    sqlite: u64,
    /// The resident size at the slice's end.
    resident: u64,
}

/// The trust and its wards, each with its admin.
#[derive(Clone)]
struct World {
    org: OrganisationId,
    wards: Vec<(WorkspaceId, UserId)>,
}

impl World {
    fn build(s: &Carespace) -> Self {
        let org = s.register_organisation("Soak Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap().id;
        let wards = (0..WARDS)
            .map(|i| {
                let admin = s.register_user(format!("admin{i}@nhs.net").parse().unwrap(), "Admin".parse().unwrap());
                let admin = admin.unwrap().id;
                s.join_organisation(admin, org).unwrap();
                let new = NewWorkspace {
                    name: format!("Ward {i}").parse().unwrap(),
                    speciality: Speciality::from_code(501).unwrap(),
                    description: Default::default(),
                };
                (s.create_workspace(admin, org, new).unwrap().workspace.id, admin)
            })
            .collect();
        Self { org, wards }
    }

    /// As arguments for a child process.
    fn to_args(&self) -> Vec<String> {
        let mut args = vec![self.org.to_string()];
        args.extend(self.wards.iter().map(|(w, a)| format!("{w}:{a}")));
        args
    }

    fn from_args(args: &[String]) -> Self {
        let org = args[0].parse().unwrap();
        let wards = args[1..]
            .iter()
            .map(|pair| {
                let (w, a) = pair.split_once(':').unwrap();
                (w.parse().unwrap(), a.parse().unwrap())
            })
            .collect();
        Self { org, wards }
    }
}

/// The commands of the mix, for their latencies.
#[derive(Clone, Copy)]
enum Kind {
    RegisterUser,
    JoinOrganisation,
    RequestToJoin,
    Decline,
    Approve,
    StartConversation,
    Invite,
    AcceptInvite,
    Leave,
    ArchiveMember,
    Discover,
    Members,
    MyWorkspaces,
    Can,
    EventsSince,
    Sweep,
}

/// The commands' names, in [`Kind`]'s order.
const KIND_NAMES: [&str; 16] = [
    "register_user",
    "join_organisation",
    "request_to_join",
    "decline",
    "approve",
    "start_conversation",
    "invite",
    "accept_invite",
    "leave",
    "archive_member",
    "discover",
    "members",
    "my_workspaces",
    "can",
    "events_since",
    "sweep",
];

/// What one worker did: commands per slice, refusals (the rules saying no, as they do
/// to real users) and storage errors.
#[derive(Default)]
struct Tally {
    per_tick: [u64; TICKS],
    /// Per command and slice: how many ran and the microseconds they took.
    latency: [[(u64, u64); TICKS]; KIND_NAMES.len()],
    refused: u64,
    retryable: u64,
    failed: Vec<String>,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        for (a, b) in self.per_tick.iter_mut().zip(other.per_tick) {
            *a += b;
        }
        for (mine, theirs) in self.latency.iter_mut().flatten().zip(other.latency.iter().flatten()) {
            (mine.0, mine.1) = (mine.0 + theirs.0, mine.1 + theirs.1);
        }
        self.refused += other.refused;
        self.retryable += other.retryable;
        self.failed.extend(other.failed.iter().cloned());
    }

    /// Runs `command`, timing it as a `kind`, and notes its result.
    fn run<T>(&mut self, tick: usize, kind: Kind, command: impl FnOnce() -> Result<T, Error>) -> Option<T> {
        let started = Instant::now();
        let result = command();
        let slot = &mut self.latency[kind as usize][tick.min(TICKS - 1)];
        (slot.0, slot.1) = (slot.0 + 1, slot.1 + started.elapsed().as_micros() as u64);
        self.note(tick, result)
    }

    fn note<T>(&mut self, tick: usize, result: Result<T, Error>) -> Option<T> {
        self.per_tick[tick.min(TICKS - 1)] += 1;
        match result {
            Ok(value) => Some(value),
            Err(Error::Storage(e)) if e.is_retryable() => {
                self.retryable += 1;
                None
            }
            Err(Error::Storage(e)) => {
                self.failed.push(e.to_string());
                None
            }
            Err(_) => {
                self.refused += 1;
                None
            }
        }
    }
}

/// One worker's mix until `seconds` have passed since `start`: newcomers ask to join
/// and are approved or declined, members talk, invite, leave and are archived, people
/// look around, and now and then someone sweeps.
fn work(s: &Carespace, world: &World, worker: usize, start: Instant, seconds: f64) -> Tally {
    let mut rng = SplitMix::new(0x5eed ^ (worker as u64) << 32 ^ u64::from(std::process::id()));
    let mut tally = Tally::default();
    let mut pending: Vec<(usize, UserId)> = Vec::new();
    let mut members: Vec<(usize, UserId)> = Vec::new();
    let page = PageRequest::first(50);
    for n in 0u64.. {
        let elapsed = start.elapsed().as_secs_f64();
        if elapsed >= seconds {
            break;
        }
        let tick = (elapsed / seconds * TICKS as f64) as usize;
        let ward = rng.below(world.wards.len());
        let (workspace, admin) = world.wards[ward];
        match rng.below(20) {
            0..=4 => {
                let email = format!("w{worker}.p{}.n{n}@nhs.net", std::process::id());
                let Some(user) = tally.run(tick, Kind::RegisterUser, || {
                    s.register_user(email.parse().unwrap(), "Newcomer".parse().unwrap())
                }) else {
                    continue;
                };
                if tally.run(tick, Kind::JoinOrganisation, || s.join_organisation(user.id, world.org)).is_some()
                    && tally.run(tick, Kind::RequestToJoin, || s.request_to_join(user.id, workspace)).is_some()
                {
                    remember(&mut pending, (ward, user.id), &mut rng);
                }
            }
            5..=8 if !pending.is_empty() => {
                let (ward, user) = pending.swap_remove(rng.below(pending.len()));
                let (workspace, admin) = world.wards[ward];
                if rng.below(5) == 0 {
                    tally.run(tick, Kind::Decline, || s.decline(admin, workspace, user));
                } else if tally.run(tick, Kind::Approve, || s.approve(admin, workspace, user)).is_some() {
                    remember(&mut members, (ward, user), &mut rng);
                }
            }
            9..=10 if !members.is_empty() => {
                let (ward, user) = members[rng.below(members.len())];
                tally.run(tick, Kind::StartConversation, || s.start_conversation(user, world.wards[ward].0));
            }
            11 => {
                let email = format!("inv{worker}.p{}.n{n}@nhs.uk", std::process::id());
                if let Some(invite) =
                    tally.run(tick, Kind::Invite, || s.invite(admin, workspace, email.parse().unwrap()))
                    && rng.below(2) == 0
                    && let Some(user) = tally
                        .run(tick, Kind::RegisterUser, || s.register_user(invite.email, "Invitee".parse().unwrap()))
                    && tally.run(tick, Kind::AcceptInvite, || s.accept_invite(user.id, invite.id)).is_some()
                {
                    remember(&mut members, (ward, user.id), &mut rng);
                }
            }
            12 if !members.is_empty() => {
                let (ward, user) = members.swap_remove(rng.below(members.len()));
                let (workspace, admin) = world.wards[ward];
                if rng.below(2) == 0 {
                    tally.run(tick, Kind::Leave, || s.leave(user, workspace));
                } else {
                    tally.run(tick, Kind::ArchiveMember, || s.archive_member(admin, workspace, user));
                }
            }
            13..=14 => {
                tally.run(tick, Kind::Discover, || s.discover(admin, world.org, &DiscoveryFilter::default(), &page));
            }
            15 => {
                tally.run(tick, Kind::Members, || s.members(admin, workspace, &page));
            }
            16 => {
                tally.run(tick, Kind::MyWorkspaces, || s.my_workspaces(admin));
            }
            17 => {
                tally.run(tick, Kind::Can, || s.can(admin, workspace, Action::Approve));
            }
            18 => {
                tally.run(tick, Kind::EventsSince, || s.events_since(n % 500, 100));
            }
            _ => {
                tally.run(tick, Kind::Sweep, || s.sweep(time::OffsetDateTime::now_utc()));
            }
        }
    }
    tally
}

/// This process's resident memory, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap_or("VmRSS: 0 kB");
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// The memory in each slice, until the run ends: live memory sampled every 50 ms and
/// the median kept (a single sample would catch whatever result sets the threads hold
/// at that instant), and the resident size at the slice's end.
fn sample_memory(start: Instant, seconds: f64) -> Vec<Memory> {
    let median = |mut v: Vec<u64>| {
        v.sort_unstable();
        v.get(v.len() / 2).copied().unwrap_or(0)
    };
    (1..=TICKS)
        .map(|t| {
            let end = Duration::from_secs_f64(seconds * t as f64 / TICKS as f64);
            let (mut rust, mut sqlite) = (Vec::new(), Vec::new());
            loop {
                let (r, s) = live_kib();
                rust.push(r);
                sqlite.push(s);
                if start.elapsed() >= end {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50).min(end.saturating_sub(start.elapsed())));
            }
            Memory { rust: median(rust), sqlite: median(sqlite), resident: rss_kib() }
        })
        .collect()
}

/// The checks after the run, on the whole store.
fn check(store: &dyn Store, s: &Carespace) -> Result<String, String> {
    // The invariants include a log numbered 1, 2, 3, … without gaps (R32).
    carespace::health::check_invariants(store, time::OffsetDateTime::now_utc())?;
    carespace::health::check_narrow_reads_of(store, 50)?;
    let head = s.head().map_err(|e| e.to_string())?;
    Ok(format!("invariants hold, the narrow reads of the first 50 users agree, the log runs 1..{head} without a gap"))
}

/// Prints the table and the verdict; whether the run passed. `sqlite_ceiling` is what
/// SQLite's caches may hold, in KiB.
fn report(
    what: &str,
    seconds: f64,
    tally: &Tally,
    memory: &[Memory],
    retained: u64,
    sqlite_ceiling: u64,
    checked: Result<String, String>,
) -> bool {
    println!("soak, {what}, {seconds} s\n");
    println!("| slice | commands/s | Rust live (MiB) | SQLite (MiB) | resident (MiB) |\n|---|---|---|---|---|");
    let slice = seconds / TICKS as f64;
    let mib = |kib: u64| kib as f64 / 1024.0;
    for (t, (count, m)) in tally.per_tick.iter().zip(memory).enumerate() {
        let (from, to) = ((t as f64 * slice) as u64, ((t + 1) as f64 * slice) as u64);
        let rate = *count as f64 / slice;
        println!("| {from}–{to} s | {rate:.0} | {:.2} | {:.1} | {:.1} |", mib(m.rust), mib(m.sqlite), mib(m.resident));
    }
    // Which commands slowed as the wards grew: each one's mean time in the first slice
    // after the warm-up and in the last.
    println!("\n| command | ms in slice {} | ms in slice {TICKS} | × |\n|---|---|---|---|", WARM_UP + 1);
    for (name, slices) in KIND_NAMES.iter().zip(&tally.latency) {
        let mean = |(count, micros): (u64, u64)| (count > 0).then(|| micros as f64 / count as f64 / 1000.0);
        if let (Some(first), Some(last)) = (mean(slices[WARM_UP]), mean(slices[TICKS - 1])) {
            println!("| {name} | {first:.2} | {last:.2} | {:.1} |", last / first);
        }
    }
    let percent = |from: u64, to: u64| (to as f64 - from as f64) / from.max(1) as f64 * 100.0;
    let (warm, end) = (memory[WARM_UP - 1], memory[TICKS - 1]);
    let total: u64 = tally.per_tick.iter().sum();
    println!(
        "\n{total} commands ({:.0}/s); {} refused by the rules, {} retryable storage errors, {} other storage errors",
        total as f64 / seconds,
        tally.refused,
        tally.retryable,
        tally.failed.len()
    );
    let rust_grew = retained > warm.rust + warm.rust / 10 + 64;
    println!(
        "Rust live memory after the warm-up {:.2} MiB, in the last slice {:.2} MiB ({:+.1}%: what the commands \
         hold in flight, which grows with the wards); once the workers stopped {:.2} MiB (limit: the warm-up's +10% \
         and 64 KiB)",
        mib(warm.rust),
        mib(end.rust),
        percent(warm.rust, end.rust),
        mib(retained)
    );
    let sqlite_over = memory.iter().any(|m| m.sqlite > sqlite_ceiling);
    println!(
        "SQLite's memory at most {:.1} MiB (its caches' ceiling {:.1} MiB)",
        mib(memory.iter().map(|m| m.sqlite).max().unwrap_or(0)),
        mib(sqlite_ceiling)
    );
    println!(
        "resident after the warm-up {:.1} MiB, at the end {:.1} MiB: {:+.1}% (reported, not judged: see the file's opening)",
        mib(warm.resident),
        mib(end.resident),
        percent(warm.resident, end.resident)
    );
    let mut passed = true;
    if rust_grew {
        println!("FAILED: Rust holds more memory once the workers stopped than while they ran after the warm-up");
        passed = false;
    }
    if sqlite_over {
        println!("FAILED: SQLite's memory passed its caches' ceiling");
        passed = false;
    }
    if let Some(first) = tally.failed.first() {
        println!("FAILED: storage errors that are not retryable, the first: {first}");
        passed = false;
    }
    match checked {
        Ok(summary) => println!("checks: {summary}"),
        Err(problem) => {
            println!("FAILED: {problem}");
            passed = false;
        }
    }
    passed
}

fn pg_store(url: &str, schema: &str) -> PostgresStore {
    let options = PostgresOptions { pool_size: 2, schema: Some(schema.to_owned()), ..PostgresOptions::default() };
    PostgresStore::connect_with(url, options).unwrap()
}

/// A PostgreSQL client process: its mix, then its tally and memory on stdout.
fn child(url: &str, schema: &str, worker: usize, seconds: f64, world: &World) {
    let s = Carespace::new(pg_store(url, schema));
    let start = Instant::now();
    let memory = std::thread::spawn(move || sample_memory(start, seconds));
    let tally = work(&s, world, worker, start, seconds);
    let memory = memory.join().unwrap();
    println!("RETAINED {}", live_kib().0);
    let ticks: Vec<String> = tally.per_tick.iter().map(u64::to_string).collect();
    let rss: Vec<String> = memory.iter().map(|m| format!("{}:{}", m.rust, m.resident)).collect();
    println!("TICKS {}", ticks.join(" "));
    println!("RSS {}", rss.join(" "));
    for (k, slices) in tally.latency.iter().enumerate() {
        let slices: Vec<String> = slices.iter().map(|(count, micros)| format!("{count}:{micros}")).collect();
        println!("LATENCY {k} {}", slices.join(" "));
    }
    println!("COUNTS {} {}", tally.refused, tally.retryable);
    for failure in &tally.failed {
        println!("FAILED {failure}");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let seconds: f64 = value("--seconds").map_or(600.0, |s| s.parse().expect("--seconds takes a number"));
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let url = std::env::var("CARESPACE_PG_URL").unwrap();
        let (schema, worker) = (&args[i + 1], args[i + 2].parse().unwrap());
        return child(&url, schema, worker, seconds, &World::from_args(&args[i + 3..]));
    }
    let passed = if args.iter().any(|a| a == "--postgres") {
        let url = std::env::var("CARESPACE_PG_URL").expect("set CARESPACE_PG_URL to a PostgreSQL database");
        let schema = format!("soak_{}", std::process::id());
        let store = Arc::new(pg_store(&url, &schema));
        let s = Carespace::from_arc(store.clone());
        let world = World::build(&s);
        let children: Vec<_> = (0..PROCESSES)
            .map(|worker| {
                Command::new(std::env::current_exe().unwrap())
                    .args(["--seconds", &seconds.to_string(), "--child", &schema, &worker.to_string()])
                    .args(world.to_args())
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut tally = Tally::default();
        // The largest client process's memory at each slice.
        let mut memory = vec![Memory::default(); TICKS];
        let mut retained = 0;
        for child in children {
            let out = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
            let numbers = |prefix: &str| -> Vec<u64> {
                let line = out
                    .lines()
                    .find_map(|l| l.strip_prefix(prefix))
                    .unwrap_or_else(|| panic!("no {prefix} in:\n{out}"));
                line.split_whitespace().map(|n| n.parse().unwrap()).collect()
            };
            let mut mine = Tally::default();
            mine.per_tick.copy_from_slice(&numbers("TICKS "));
            for line in out.lines().filter_map(|l| l.strip_prefix("LATENCY ")) {
                let mut fields = line.split_whitespace();
                let k: usize = fields.next().unwrap().parse().unwrap();
                for (slot, pair) in mine.latency[k].iter_mut().zip(fields) {
                    let (count, micros) = pair.split_once(':').unwrap();
                    *slot = (count.parse().unwrap(), micros.parse().unwrap());
                }
            }
            let counts = numbers("COUNTS ");
            retained = retained.max(numbers("RETAINED ")[0]);
            (mine.refused, mine.retryable) = (counts[0], counts[1]);
            mine.failed = out.lines().filter_map(|l| l.strip_prefix("FAILED ")).map(str::to_owned).collect();
            tally.add(&mine);
            let line = out.lines().find_map(|l| l.strip_prefix("RSS ")).unwrap_or_else(|| panic!("no RSS in:\n{out}"));
            for (m, pair) in memory.iter_mut().zip(line.split_whitespace()) {
                let (rust, resident) = pair.split_once(':').unwrap();
                m.rust = m.rust.max(rust.parse().unwrap());
                m.resident = m.resident.max(resident.parse().unwrap());
            }
        }
        let checked = check(store.as_ref(), &s);
        let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).unwrap();
        let what = format!("PostgreSQL, {PROCESSES} client processes (memory: the largest)");
        report(&what, seconds, &tally, &memory, retained, 0, checked)
    } else {
        let path = value("--path").map_or_else(
            || std::env::temp_dir().join(format!("carespace-soak-{}.sqlite3", std::process::id())),
            PathBuf::from,
        );
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let store = Arc::new(SqliteStore::open(&path).unwrap());
        let s = Carespace::from_arc(store.clone());
        let world = World::build(&s);
        let start = Instant::now();
        let (tally, memory) = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..THREADS)
                .map(|w| {
                    scope.spawn({
                        let (s, world) = (&s, &world);
                        move || work(s, world, w, start, seconds)
                    })
                })
                .collect();
            let memory = sample_memory(start, seconds);
            let mut tally = Tally::default();
            for worker in workers {
                tally.add(&worker.join().unwrap());
            }
            (tally, memory)
        });
        // Retained, not in flight: what Rust holds once every worker has stopped.
        let retained = live_kib().0;
        let checked = check(store.as_ref(), &s);
        // The default page cache (2 MiB) on the writer and each reader, and 2 MiB more.
        let ceiling = (store.options().readers as u64 + 1) * 2048 + 2048;
        let what = format!("SQLite, {THREADS} threads on {}", path.display());
        let passed = report(&what, seconds, &tally, &memory, retained, ceiling, checked);
        drop(s);
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        passed
    };
    if !passed {
        std::process::exit(1);
    }
}
