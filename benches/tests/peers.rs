//! The peer data set on a small scale: Carespace (memory and SQLite, built through the
//! API) and a bare map give the generator's expected answer to every probe; with the
//! `peers` feature, so do casbin and Cedar.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code

use carespace_benches::Backend;
use carespace_benches::peers::PeerWorld;

fn small() -> PeerWorld {
    PeerWorld::generate(300, 60, 5, 600)
}

#[test]
fn r34_carespace_answers_the_peer_probes_as_generated() {
    let world = small();
    assert!(world.probes.iter().any(|p| p.2) && world.probes.iter().any(|p| !p.2), "probes of both answers");
    let dir = std::env::temp_dir().join(format!("carespace-peers-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for backend in [Backend::Memory, Backend::SqliteNormal] {
        let built = world.build_carespace(backend, &dir);
        world.check_agreement(backend.name(), |u, w| built.check(u, w));
    }
    let map = world.build_hashmap();
    world.check_agreement("hashmap", |u, w| map.get(&(w, u)).is_some_and(|s| s.is_approved()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "peers")]
#[test]
fn peers_answer_the_probes_as_generated() {
    use carespace_benches::peers::{CasbinWorld, CedarWorld};
    let world = small();
    let casbin = CasbinWorld::build(&world);
    world.check_agreement("casbin", |u, w| casbin.check(&format!("u{u}"), &format!("ws{w}")));
    let cedar = CedarWorld::build(&world);
    world.check_agreement("cedar", |u, w| {
        cedar.check(&CedarWorld::uid("User", &format!("u{u}")), &CedarWorld::uid("Workspace", &format!("ws{w}")))
    });
}
