//! Tracing: every command and query opens a span named after it, carrying ids; a failed
//! one records its error code; the sweep records its summary — and no registered email
//! or person name appears in any recorded field or message (personal data stays out of
//! logs).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use carespace::testsuite::WholeLists;
use std::sync::{Arc, Mutex};

use carespace::{Action, Carespace, DiscoveryFilter, MemoryStore, NewWorkspace, OrganisationKind, Speciality};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// What the subscriber saw: one line per span or event, "name field=value …".
#[derive(Default, Clone)]
struct Seen(Arc<Mutex<Vec<String>>>);

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
}

impl Subscriber for Seen {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut line = Line(format!("span {}", span.metadata().name()));
        span.record(&mut line);
        let mut seen = self.0.lock().unwrap();
        seen.push(line.0);
        Id::from_u64(seen.len() as u64)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut line = Line("record".into());
        values.record(&mut line);
        self.0.lock().unwrap().push(line.0);
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut line = Line(format!("event {}", event.metadata().target()));
        event.record(&mut line);
        self.0.lock().unwrap().push(line.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn spans_name_commands_and_ids_and_never_people() {
    let seen = Seen::default();
    let people = [("alice.smith@nhs.net", "Alice Smith"), ("bob.jones@elft.nhs.uk", "Bob Jones")];
    let (ward, alice, bob) = tracing::subscriber::with_default(seen.clone(), || {
        let service = Carespace::new(MemoryStore::new());
        let trust =
            service.register_organisation("Barts Health NHS Trust".parse()?, OrganisationKind::NhsTrust, None)?;
        let alice = service.register_user(people[0].0.parse()?, people[0].1.parse()?)?;
        let bob = service.register_user(people[1].0.parse()?, people[1].1.parse()?)?;
        service.join_organisation(alice.id, trust.id)?;
        service.join_organisation(bob.id, trust.id)?;
        let new = NewWorkspace {
            name: "Maternity - Ward 2".parse()?,
            speciality: Speciality::from_code(501)?,
            description: Default::default(),
        };
        let ward = service.create_workspace(alice.id, trust.id, new)?.workspace;
        service.invite(alice.id, ward.id, "carol@nhs.net".parse()?)?;
        service.request_to_join(bob.id, ward.id)?;
        // Refused: its message names Bob and the ward; the trace keeps only the code.
        assert!(service.members_all(bob.id, ward.id).unwrap_err().is_forbidden());
        service.approve(alice.id, ward.id, bob.id)?;
        assert!(service.can(bob.id, ward.id, Action::ViewAllConversations)?);
        service.discover_all(bob.id, trust.id, &DiscoveryFilter::default())?;
        service.sweep(time::OffsetDateTime::now_utc() + time::Duration::days(30))?;
        Ok::<_, carespace::Error>((ward, alice, bob))
    })
    .unwrap();
    let seen = seen.0.lock().unwrap().clone();
    let all = seen.join("\n");

    for name in ["register_user", "create_workspace", "invite", "request_to_join", "approve", "can", "discover"] {
        assert!(seen.iter().any(|l| l.starts_with(&format!("span {name} ")) || l == &format!("span {name}")), "{all}");
    }
    let approve = seen.iter().find(|l| l.starts_with("span approve")).unwrap();
    assert!(approve.contains(&format!("actor={}", alice.id)), "{approve}");
    assert!(approve.contains(&format!("workspace={}", ward.id)), "{approve}");
    assert!(approve.contains(&format!("user={}", bob.id)), "{approve}");
    assert!(seen.iter().any(|l| l.contains("code=\"forbidden\"")), "{all}");
    assert!(seen.iter().any(|l| l.contains("invites_expired=1")), "the sweep's summary: {all}");

    let lower = all.to_lowercase();
    for (email, name) in people.iter().chain(&[("carol@nhs.net", "Carol")]) {
        for secret in [email.to_string(), name.to_lowercase(), name.split(' ').next().unwrap().to_lowercase()] {
            assert!(!lower.contains(&secret), "“{secret}” was traced:\n{all}");
        }
    }
}
