//! The benchmark fixture builds the world it claims, on every backend, and the baseline
//! agrees with the service on it (so the two sides of each ratio do the same work).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // test code

use carespace::testsuite::WholeLists;
use carespace::{Action, DiscoveryFilter};
use carespace_benches::{Backend, DISCOVERY_WORKSPACES, Fixture, SWITCHER_WORKSPACES};

/// Builds the fixture on `backend` and checks it, then has the baseline read it and
/// write each command's rows by hand, and checks the service reads those writes back
/// with every invariant holding.
fn fixture_and_baseline_agree(backend: Backend) {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-fixture");
    std::fs::create_dir_all(&dir).unwrap();
    let f = Fixture::new(backend, &dir);
    let listing = f.service.discover_all(f.big_admin.id, f.big_trust.id, &DiscoveryFilter::default()).unwrap();
    assert_eq!(listing.iter().filter(|e| e.member_count() > 0).count(), DISCOVERY_WORKSPACES);
    assert_eq!(f.discover_all(), listing.len());
    assert_eq!(f.service.my_workspaces(f.switcher.id).unwrap().len(), SWITCHER_WORKSPACES + 1);
    assert!(f.service.can(f.member.id, f.ward.id, Action::ViewAllConversations).unwrap());
    let Some(mut bl) = f.place.baseline() else {
        assert_eq!(backend, Backend::Memory, "only MemoryStore has no baseline on its data");
        return;
    };
    assert_eq!(bl.discover_all(f.big_trust.id), DISCOVERY_WORKSPACES);
    assert_eq!(bl.my_workspaces(f.switcher.id), SWITCHER_WORKSPACES + 1);
    assert!(bl.can_view_all(f.ward.id, f.member.id));
    assert!(!bl.can_view_all(f.ward.id, f.unapproved.id));
    let now = time::OffsetDateTime::now_utc();
    let at = i64::try_from(now.unix_timestamp_nanos()).unwrap();
    assert_eq!(bl.viewers_at(f.ward.id, at), f.service.viewers_at(f.ward.id, now).unwrap().len());
    let u = f.newcomer();
    bl.request_to_join(f.trust.id, f.ward.id, u);
    bl.approve(f.ward.id, f.admin.id, u);
    bl.start_conversation(f.ward.id, u);
    let n = f.next();
    bl.create_workspace(f.trust.id, f.admin.id, n);
    assert_eq!(bl.events_since(0), 1000);
    // Discovery's name filter (R11) finds the baseline's workspace by its words'
    // prefixes, as it finds the service's: the baseline keeps the same search index.
    let by_name =
        DiscoveryFilter { name: Some(format!("basel {}", &n.to_string()[..1])), ..DiscoveryFilter::default() };
    let found = f.service.discover_all(f.admin.id, f.trust.id, &by_name).unwrap();
    assert!(found.iter().any(|e| e.name() == format!("Baseline {n}")), "{found:?}");
    // The service reads what the baseline wrote: same schema, same meaning (the ward's
    // viewers come from its events, found through the payload index).
    assert!(f.service.can(u, f.ward.id, Action::ViewAllConversations).unwrap());
    // The baseline stamps its rows from 2027 on (one nanosecond apart).
    let later = time::OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap();
    assert_eq!(f.service.viewers_at(f.ward.id, later).unwrap().len(), 3);
    let events = f.service.events_since(0, 10_000).unwrap();
    assert!(events.windows(2).all(|w| w[1].seq == w[0].seq + 1), "the log stays gap-free");
    carespace::testsuite::check_invariants(&*f.store, later).unwrap();
}

#[test]
fn fixture_and_baseline_agree_with_the_service() {
    for backend in [Backend::Memory, Backend::SqliteNormal] {
        fixture_and_baseline_agree(backend);
    }
}

/// With the `postgres-tests` feature, which `make test` and `make test-postgres` turn on
/// inside their cluster (the test needs `CARESPACE_PG_URL`).
#[cfg(feature = "postgres-tests")]
#[test]
fn postgres_fixture_and_baseline_agree_with_the_service() {
    fixture_and_baseline_agree(Backend::Postgres);
}
