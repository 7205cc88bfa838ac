//! Public values travel as JSON (R32: event payloads a host ships to its mailer).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // test code: a panic is a failed test

use carespace::{Carespace, Event, EventKind, ManualClock, MemoryStore, NewWorkspace, OrganisationKind, Speciality};
use time::macros::datetime;

#[test]
fn r32_events_serialise_to_tagged_json_and_back() {
    let clock = ManualClock::new(datetime!(2026-03-03 09:00 UTC));
    let service = Carespace::new(MemoryStore::new()).with_clock(clock);
    let trust = service.register_organisation("Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
    let alice = service.register_user("alice@nhs.net".parse().unwrap(), "Alice".parse().unwrap()).unwrap();
    service.join_organisation(alice.id, trust.id).unwrap();
    let new = NewWorkspace {
        name: "Ward 1".parse().unwrap(),
        speciality: Speciality::from_code(501).unwrap(),
        description: Default::default(),
    };
    let ws = service.create_workspace(alice.id, trust.id, new).unwrap().workspace;
    let events = service.events_since(0, 100).unwrap();
    let created = events.iter().find(|e| matches!(e.kind, EventKind::WorkspaceCreated { .. })).unwrap();
    let json = serde_json::to_value(created).unwrap();
    assert_eq!(json["type"], "workspace_created");
    assert_eq!(json["at"], "2026-03-03T09:00:00Z");
    assert_eq!(json["actor"], alice.id.to_string());
    assert_eq!(json["workspace"], ws.id.to_string());
    assert_eq!(json["name"], "Ward 1");
    assert_eq!(json["speciality"], 501);
    assert_eq!(json["from_example"], false);
    for event in &events {
        let text = serde_json::to_string(event).unwrap();
        let back: Event = serde_json::from_str(&text).unwrap();
        assert_eq!(&back, event);
        assert_eq!(serde_json::to_value(event).unwrap()["type"], event.kind.type_name());
    }
    let round: carespace::Workspace = serde_json::from_str(&serde_json::to_string(&ws).unwrap()).unwrap();
    assert_eq!(round, ws);
}

#[test]
fn invalid_json_values_are_refused_on_the_way_in() {
    let bad = r#"{"id":"0195f0c0-0000-7000-8000-000000000000","email":"x@gmail.com","name":"X","registered_at":"2026-03-03T09:00:00Z"}"#;
    assert!(serde_json::from_str::<carespace::User>(bad).is_err());
}
