//! The bulk path builds a world the rules would have built: a small build keeps every
//! invariant and the narrow reads, and the service reads it back.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code

use carespace::testsuite::WholeLists;
use std::sync::Arc;

use carespace::directory::OrganisationSearch;
use carespace::page::PageRequest;
use carespace::testsuite::{check_invariants, check_narrow_reads};
use carespace::{Action, Carespace, DiscoveryFilter, MemoryStore, Store};
use carespace_benches::scale::{Scale, build};
use carespace_sqlite::SqliteStore;

#[test]
fn r25_r27_a_small_bulk_build_keeps_the_invariants_on_both_backends() {
    assert_eq!(
        Scale::NHS_ENGLAND.times(0.0004),
        Scale { trusts: 1, practices: 6, users: 600, workspaces: 120, memberships: 2000 }
    );
    let scale = Scale { trusts: 3, practices: 10, users: 600, workspaces: 120, memberships: 2000 };
    let dir = std::env::temp_dir().join(format!("carespace-scale-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let stores: Vec<Arc<dyn Store>> =
        vec![Arc::new(MemoryStore::new()), Arc::new(SqliteStore::open(dir.join("scale.sqlite3")).unwrap())];
    for store in stores {
        let built = build(store.as_ref(), scale, &mut |_, _, _| {}).unwrap();
        assert_eq!(built.states.iter().sum::<usize>(), scale.memberships);
        // R40: the directory is the ODS files' — every trust, the first practices.
        let service = Carespace::from_arc(store.clone());
        let directory = |q: OrganisationSearch| service.search_organisations(&q, &PageRequest::first(5)).unwrap().items;
        assert_eq!(
            directory(OrganisationSearch::OdsCode("RWK".into()))[0].name.as_str(),
            "East London NHS Foundation Trust"
        );
        assert_eq!(directory(OrganisationSearch::OdsCode("A81001".into()))[0].name.as_str(), "The Densham Surgery");
        check_invariants(store.as_ref(), time::OffsetDateTime::now_utc()).unwrap();
        check_narrow_reads(store.as_ref()).unwrap();
        let service = Carespace::from_arc(store.clone());
        let (user, ws) = built.approved[7];
        assert!(
            service
                .can(built.users[user as usize], built.workspaces[ws as usize], Action::ViewAllConversations)
                .unwrap()
        );
        let (user, ws) = built.pending[3];
        assert!(
            !service
                .can(built.users[user as usize], built.workspaces[ws as usize], Action::ViewAllConversations)
                .unwrap()
        );
        let creator = built.users[built.creators[0] as usize];
        let found = service.discover_all(creator, built.trusts[0], &DiscoveryFilter::default()).unwrap();
        let in_trust = found.iter().filter(|e| matches!(e, carespace::DiscoveryEntry::Workspace { .. })).count();
        assert_eq!(in_trust, scale.workspaces / scale.trusts);
        let (user, ws) = built.pending[0];
        service.approve(creator_of(&built, ws), built.workspaces[ws as usize], built.users[user as usize]).unwrap();
        check_invariants(store.as_ref(), time::OffsetDateTime::now_utc()).unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn creator_of(built: &carespace_benches::scale::Built, ws: u32) -> carespace::UserId {
    built.users[built.creators[ws as usize] as usize]
}
