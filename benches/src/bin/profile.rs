//! Runs one benchmarked operation many times, for an instruction count under callgrind:
//! `valgrind --tool=callgrind --toggle-collect='*measured*' target/release/profile can sqlite-normal 1000`.
//! Only the calls inside `measured` are counted, so the fixture's set-up is left out.
//! `baseline-approve`, `baseline-request_to_join`, `baseline-can` and
//! `baseline-start_conversation` count the hand-written baseline doing the same (SQLite
//! and PostgreSQL), for a ratio of instructions beside `ratios`' ratio of times.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a profiling tool: a panic is a broken fixture

use carespace::Action;
use carespace_benches::{Backend, Fixture};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: profile [baseline-]<can|request_to_join|approve|start_conversation> | \
                 <discover|discover_page|my_workspaces> <memory|sqlite-normal|sqlite-full|postgres> <iterations>";
    let [_, op, backend, iterations] = args.as_slice() else { panic!("{usage}") };
    let backend = Backend::ALL.into_iter().find(|b| b.name() == backend).expect(usage);
    let iterations: usize = iterations.parse().expect(usage);
    let dir = std::env::temp_dir().join(format!("carespace-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fixture = Fixture::new(backend, &dir);
    // Inputs drawn before counting starts.
    let users: Vec<_> = match op.trim_start_matches("baseline-") {
        "request_to_join" => (0..iterations).map(|_| fixture.newcomer()).collect(),
        "approve" => (0..iterations).map(|_| fixture.requester()).collect(),
        _ => Vec::new(),
    };
    let mut baseline = op.starts_with("baseline-").then(|| fixture.place.baseline().expect("no baseline in memory"));
    let started = std::time::Instant::now();
    let answers = match baseline.as_deref_mut() {
        Some(baseline) => measured_baseline(&fixture, baseline, op, iterations, &users),
        None => measured(&fixture, op, iterations, &users),
    };
    let each = started.elapsed() / u32::try_from(iterations.max(1)).unwrap_or(u32::MAX);
    println!("{op} on {}: {iterations} iterations, {answers} answers, {each:?} each", backend.name());
    drop(fixture);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The counted part: `iterations` calls of `op`.
#[inline(never)]
fn measured(f: &Fixture, op: &str, iterations: usize, users: &[carespace::UserId]) -> usize {
    let mut answers = 0;
    for i in 0..iterations {
        let user = || users.get(i).copied().expect("one drawn user per iteration");
        answers += match op {
            "can" => {
                let yes = f.service.can(f.member.id, f.ward.id, Action::ViewAllConversations).unwrap();
                let no = f.service.can(f.unapproved.id, f.ward.id, Action::ViewAllConversations).unwrap();
                usize::from(yes) + usize::from(!no)
            }
            "discover" => f.discover_all(),
            "discover_page" => {
                let filter = carespace::DiscoveryFilter::default();
                let page = carespace::page::PageRequest::default();
                f.service.discover(f.big_admin.id, f.big_trust.id, &filter, &page).unwrap().items.len()
            }
            "my_workspaces" => f.service.my_workspaces(f.switcher.id).unwrap().len(),
            "request_to_join" => usize::from(f.service.request_to_join(user(), f.ward.id).is_ok()),
            "approve" => usize::from(f.service.approve(f.admin.id, f.ward.id, user()).is_ok()),
            "start_conversation" => usize::from(f.service.start_conversation(f.member.id, f.ward.id).is_ok()),
            other => panic!("unknown operation {other}"),
        };
    }
    answers
}

/// The counted part for the baseline: `iterations` calls of the hand-written `op`.
#[inline(never)]
fn measured_baseline(
    f: &Fixture,
    baseline: &mut dyn carespace_benches::HandWritten,
    op: &str,
    iterations: usize,
    users: &[carespace::UserId],
) -> usize {
    for i in 0..iterations {
        let user = || users.get(i).copied().expect("one drawn user per iteration");
        match op {
            "baseline-can" => {
                assert!(baseline.can_view_all(f.ward.id, f.member.id));
                assert!(!baseline.can_view_all(f.ward.id, f.unapproved.id));
            }
            "baseline-request_to_join" => baseline.request_to_join(f.trust.id, f.ward.id, user()),
            "baseline-approve" => baseline.approve(f.ward.id, f.admin.id, user()),
            "baseline-start_conversation" => baseline.start_conversation(f.ward.id, f.member.id),
            other => panic!("unknown operation {other}"),
        }
    }
    iterations
}
