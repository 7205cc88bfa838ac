//! The benchmark fixture builds the world it claims, on every backend, and the baseline
//! agrees with the service on it (so the two sides of each ratio do the same work).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // test code

use carespace::{Action, DiscoveryFilter};
use carespace_benches::{Backend, Baseline, DISCOVERY_WORKSPACES, Fixture, SWITCHER_WORKSPACES};
use carespace_sqlite::Durability;

#[test]
fn fixture_and_baseline_agree_with_the_service() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-fixture");
    std::fs::create_dir_all(&dir).unwrap();
    for backend in [Backend::Memory, Backend::SqliteNormal] {
        let f = Fixture::new(backend, &dir);
        let listing = f.service.discover(f.big_admin.id, f.big_trust.id, &DiscoveryFilter::default()).unwrap();
        assert_eq!(listing.iter().filter(|e| e.member_count() > 0).count(), DISCOVERY_WORKSPACES);
        assert_eq!(f.discover(), listing.len());
        assert_eq!(f.service.my_workspaces(f.switcher.id).unwrap().len(), SWITCHER_WORKSPACES + 1);
        assert!(f.service.can(f.member.id, f.ward.id, Action::ViewAllConversations).unwrap());
        if let Some(path) = &f.path {
            let mut bl = Baseline::open(path, Durability::Normal);
            assert_eq!(bl.discover(f.big_trust.id), DISCOVERY_WORKSPACES);
            assert_eq!(bl.my_workspaces(f.switcher.id), SWITCHER_WORKSPACES + 1);
            assert!(bl.can_view_all(f.ward.id, f.member.id));
            assert!(!bl.can_view_all(f.ward.id, f.unapproved.id));
            let u = f.newcomer();
            bl.request_to_join(f.trust.id, f.ward.id, u);
            bl.approve(f.ward.id, f.admin.id, u);
            bl.start_conversation(f.ward.id, u);
            bl.create_workspace(f.trust.id, f.admin.id, f.next());
            assert_eq!(bl.events_since(0), 1000);
            // The service reads what the baseline wrote: same schema, same meaning.
            assert!(f.service.can(u, f.ward.id, Action::ViewAllConversations).unwrap());
            carespace::testsuite::check_invariants(
                &carespace_sqlite::SqliteStore::open(path).unwrap(),
                time::OffsetDateTime::now_utc(),
            )
            .unwrap();
        }
    }
}
