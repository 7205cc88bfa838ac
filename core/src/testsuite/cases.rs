//! The conformance cases: one function per rule (or facet of one), each taking a fresh
//! store. Every step goes through [`Harness`], which checks the invariants after it and,
//! for failing steps, that nothing was written.

use super::WholeLists;
use std::sync::Arc;

use time::Duration;

use super::{Harness, START, discovered};

pub use super::beyond::*;
pub use super::consumers::*;
pub use super::directory::*;
pub use super::paging::*;
use crate::permission::{Action, Denial};
use crate::{
    Approvers, Description, DiscoveryEntry, DiscoveryFilter, Error, EventKind, InviteStatus, JoinOutcome,
    MembershipState, NameWarning, NewWorkspace, NhsEmail, OrganisationKind, Policy, Role, SettingsChange, Speciality,
    Store, SwitcherEntry, WorkspaceStatus,
};

fn obstetrics() -> Speciality {
    Speciality::from_code(501).unwrap()
}

fn new_ws(name: &str) -> NewWorkspace {
    NewWorkspace { name: name.parse().unwrap(), speciality: obstetrics(), description: Description::default() }
}

fn email(s: &str) -> NhsEmail {
    s.parse().unwrap()
}

/// R1
pub fn r1_organisations_have_validated_names_kinds_and_unique_ods_codes(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.ok(|s| {
        s.register_organisation(
            "  Barts  Health NHS Trust ".parse()?,
            OrganisationKind::NhsTrust,
            Some(" r1h ".parse()?),
        )
    });
    assert_eq!(org.name.as_str(), "Barts Health NHS Trust");
    assert_eq!(org.ods_code.as_ref().map(|c| c.as_str()), Some("R1H"));
    assert_eq!(h.ok(|s| s.organisation(org.id)), org);
    let err =
        h.err(|s| s.register_organisation("Another".parse()?, OrganisationKind::GpPractice, Some("R1h".parse()?)));
    assert!(matches!(err, Error::OdsCodeTaken { .. }), "{err}");
    // Without an ODS code there is nothing to collide on.
    h.ok(|s| s.register_organisation("Practice A".parse()?, OrganisationKind::GpPractice, None));
    h.ok(|s| s.register_organisation("Practice B".parse()?, OrganisationKind::Pharmacy, None));
    assert!(matches!("x".repeat(121).parse::<crate::OrganisationName>(), Err(Error::InvalidText(_))));
}

/// R2
pub fn r2_only_nhs_emails_are_accepted(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let user = h.user("Jane Doe", "  Jane.Doe@ELFT.nhs.uk ");
    assert_eq!(user.email.as_str(), "jane.doe@elft.nhs.uk");
    for bad in [
        "jane@nhs.net.example.com",
        "jane@evilnhs.net",
        "jane@nhs.uk.example",
        "\"j\"@nhs.net",
        "j@[1.2.3.4]",
        "jané@nhs.net",
        "@nhs.net",
    ] {
        let err = bad.parse::<NhsEmail>().unwrap_err();
        assert!(matches!(err, Error::InvalidEmail(_)), "{bad}: {err}");
        assert!(err.to_string().starts_with("invalid email address: "), "{err}");
    }
}

/// R3
pub fn r3_emails_are_unique_case_insensitively(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let jane = h.user("Jane", "jane@nhs.net");
    let err = h.err(|s| s.register_user("JANE@NHS.NET".parse()?, "Other Jane".parse()?));
    assert!(matches!(err, Error::EmailTaken { .. }), "{err}");
    assert_eq!(err.to_string(), "a user with the email jane@nhs.net is already registered");
    assert_eq!(h.ok(|s| s.user_by_email(&email("Jane@nhs.net"))), Some(jane));
}

/// R4
pub fn r4_joining_an_organisation_gives_a_my_workspace_and_is_idempotent(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (a, b) = (h.trust("Trust A"), h.trust("Trust B"));
    let jane = h.user("Jane", "jane@nhs.net");
    let (first, events) = h.events_of(|s| s.join_organisation(jane.id, a.id));
    assert!(first.is_active());
    assert!(matches!(events.as_slice(), [e] if matches!(e.kind, EventKind::OrganisationJoined { .. })));
    let (again, events) = h.events_of(|s| s.join_organisation(jane.id, a.id));
    assert_eq!(again, first, "joining twice is a no-op");
    assert!(events.is_empty());
    let other = h.ok(|s| s.join_organisation(jane.id, b.id));
    assert_ne!(other.id, first.id, "one My Workspace per organisation");
    let switcher = h.ok(|s| s.my_workspaces(jane.id));
    assert_eq!(switcher.iter().filter(|e| matches!(e, SwitcherEntry::Personal { .. })).count(), 2);
}

/// R5
pub fn r5_workspaces_have_a_speciality_and_a_description(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let ws = h.ok(|s| {
        s.create_workspace(
            alice.id,
            org.id,
            NewWorkspace {
                name: "Breast Surgery Clinic".parse()?,
                speciality: Speciality::from_code(103)?,
                description: "Two-week-wait referrals\nand follow-ups".parse()?,
            },
        )
    });
    assert_eq!(ws.workspace.speciality.name(), "Breast Surgery");
    assert_eq!(ws.workspace.description.as_str(), "Two-week-wait referrals\nand follow-ups");
    assert_eq!(ws.workspace.status, WorkspaceStatus::Active);
    assert_eq!(ws.workspace.organisation, org.id);
    assert!(matches!("d".repeat(501).parse::<Description>(), Err(Error::InvalidText(_))));
}

/// R6
pub fn r6_names_are_unique_among_active_workspaces_ignoring_case(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (org, other) = (h.trust("Trust"), h.trust("Other Trust"));
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    h.ok(|s| s.join_organisation(alice.id, other.id));
    let ward = h.workspace(&alice, &org, "Maternity - Ward 2");
    let err = h.err(|s| s.create_workspace(alice.id, org.id, new_ws("  maternity   -  WARD 2 ")));
    assert!(matches!(err, Error::WorkspaceNameTaken { .. }), "{err}");
    assert_eq!(err.to_string(), "Trust already has an active workspace called “maternity - WARD 2”");
    // Another organisation may use the name.
    h.workspace(&alice, &other, "Maternity - Ward 2");
    // Once archived (its last member left), the name is free again.
    h.ok(|s| s.leave(alice.id, ward.id));
    let again = h.workspace(&alice, &org, "MATERNITY - Ward 2");
    assert_ne!(again.id, ward.id);
    // Renaming into a taken name is refused too.
    let second = h.workspace(&alice, &org, "Ward 3");
    let err = h.err(|s| {
        s.update_settings(
            alice.id,
            second.id,
            SettingsChange { name: Some("maternity - ward 2".parse()?), ..Default::default() },
        )
    });
    assert!(matches!(err, Error::WorkspaceNameTaken { .. }), "{err}");
}

/// R7
pub fn r7_only_organisation_members_of_allowed_kinds_create(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let trust = h.trust("Trust");
    let practice = h.ok(|s| s.register_organisation("Mile End Surgery".parse()?, OrganisationKind::GpPractice, None));
    let alice = h.member_of(&trust, "Alice", "alice@nhs.net");
    let outsider = h.user("Olly", "olly@nhs.net");
    let err = h.forbidden(|s| s.create_workspace(outsider.id, trust.id, new_ws("Ward 1")));
    assert!(
        matches!(err, Error::Forbidden { action: Action::CreateWorkspace, denial: Denial::NotInOrganisation, .. }),
        "{err}"
    );
    h.ok(|s| s.join_organisation(alice.id, practice.id));
    let err = h.forbidden(|s| s.create_workspace(alice.id, practice.id, new_ws("Reception")));
    let gp = OrganisationKind::GpPractice;
    assert!(matches!(err, Error::Forbidden { denial: Denial::CreationNotAllowed { kind }, .. } if kind == gp), "{err}");
    assert_eq!(
        err.to_string(),
        "Alice may not create workspaces in Mile End Surgery: this service does not let organisations of its kind (GP practice) create workspaces"
    );
    // Examples follow the same rule (R9).
    let err = h.forbidden(|s| s.join_example(alice.id, practice.id, obstetrics()));
    assert!(matches!(err, Error::Forbidden { denial: Denial::CreationNotAllowed { .. }, .. }), "{err}");
    // The allowed kinds are a policy setting.
    let liberal =
        h.sibling(Policy::default().with_creator_kinds([OrganisationKind::NhsTrust, OrganisationKind::GpPractice]));
    liberal.ok(|s| s.create_workspace(alice.id, practice.id, new_ws("Reception")));
}

/// R8
pub fn r8_the_creator_is_admin(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let (ws, events) = h.events_of(|s| s.create_workspace(alice.id, org.id, new_ws("Ward 1")));
    let members = h.ok(|s| s.members_all(alice.id, ws.workspace.id));
    assert_eq!(members.current.len(), 1);
    assert_eq!(members.current[0].state, MembershipState::Admin);
    assert_eq!(members.current[0].state.role(), Role::Admin);
    assert_eq!(ws.workspace.created_by, alice.id);
    assert!(matches!(events[0].kind, EventKind::WorkspaceCreated { from_example: false, .. }));
}

/// R9
pub fn r9_examples_are_listed_and_joining_one_creates_or_requests(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let bob = h.member_of(&org, "Bob", "bob@nhs.net");
    let listing = h.ok(|s| s.discover_all(alice.id, org.id, &DiscoveryFilter::default()));
    let examples = listing.iter().filter(|e| matches!(e, DiscoveryEntry::Example { .. })).count();
    assert_eq!(examples, crate::CATALOGUE.len(), "every speciality is an example while nothing exists");
    assert!(listing.iter().all(|e| e.member_count() == 0));

    let joined = h.ok(|s| s.join_example(alice.id, org.id, obstetrics()));
    assert_eq!(joined.outcome, JoinOutcome::Created);
    assert_eq!(joined.workspace.name.as_str(), "Obstetrics");
    assert_eq!(joined.workspace.speciality, obstetrics());
    assert_eq!(joined.membership.state, MembershipState::Admin);
    // The second joiner of the same example becomes an unapproved member of the same workspace.
    let second = h.ok(|s| s.join_example(bob.id, org.id, obstetrics()));
    assert_eq!(second.outcome, JoinOutcome::Requested);
    assert_eq!(second.workspace.id, joined.workspace.id);
    assert_eq!(second.membership.state, MembershipState::Unapproved);
    // The example is no longer listed; the real workspace is, with 2 members.
    let listing = h.ok(|s| {
        s.discover_all(alice.id, org.id, &DiscoveryFilter { name: Some("obstetrics".into()), ..Default::default() })
    });
    let names: Vec<(&str, u32)> = listing.iter().map(|e| (e.name(), e.member_count())).collect();
    assert_eq!(names, vec![("Obstetrics", 2), ("Obstetrics and Gynaecology", 0)]);
    // A custom workspace named like a speciality also replaces its example.
    h.ok(|s| s.create_workspace(alice.id, org.id, new_ws("  cardiology ")));
    let listing = h.ok(|s| {
        s.discover_all(alice.id, org.id, &DiscoveryFilter { name: Some("Cardiology".into()), ..Default::default() })
    });
    assert!(listing.iter().all(|e| !matches!(e, DiscoveryEntry::Example { speciality } if speciality.code() == 320)));
    // Outsiders cannot join examples.
    let outsider = h.user("Olly", "olly@nhs.net");
    let err = h.forbidden(|s| s.join_example(outsider.id, org.id, Speciality::from_code(100)?));
    assert!(matches!(err, Error::Forbidden { denial: Denial::NotInOrganisation, .. }), "{err}");
    // In an organisation whose kind may not create (R7), no example is listed, as
    // joining one would be refused; the policy that lets its kind create lists them.
    let practice = h.ok(|s| s.register_organisation("Practice".parse()?, OrganisationKind::GpPractice, None));
    let gp = h.member_of(&practice, "Gita", "gita@nhs.net");
    let listing = h.ok(|s| s.discover_all(gp.id, practice.id, &DiscoveryFilter::default()));
    let examples = listing.iter().filter(|e| matches!(e, DiscoveryEntry::Example { .. })).count();
    assert_eq!(examples, 0, "examples listed where no one may create");
    let err = h.forbidden(|s| s.join_example(gp.id, practice.id, obstetrics()));
    assert!(matches!(err, Error::Forbidden { denial: Denial::CreationNotAllowed { .. }, .. }), "{err}");
    let allowing = h.sibling(Policy::default().with_creator_kinds([OrganisationKind::GpPractice]));
    let listing = allowing.ok(|s| s.discover_all(gp.id, practice.id, &DiscoveryFilter::default()));
    assert_eq!(listing.len(), crate::CATALOGUE.len(), "every speciality is an example there");
}

/// R10
pub fn r10_custom_workspaces_pick_a_catalogue_speciality(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let err = Speciality::from_code(999).unwrap_err();
    assert_eq!(err.to_string(), "999 is not a speciality code in the NHS Data Dictionary catalogue");
    let ws = h.ok(|s| {
        s.create_workspace(
            alice.id,
            org.id,
            NewWorkspace { speciality: Speciality::from_code(104)?, ..new_ws("Bowel Cancer Team") },
        )
    });
    assert_eq!(ws.workspace.speciality.name(), "Colorectal Surgery");
    assert!(crate::CATALOGUE_SOURCE.contains("NHS Data Dictionary"));
}

/// R11
pub fn r11_discovery_counts_filters_sorts_and_hides_from_outsiders(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice Adams", "alice@nhs.net");
    let bob = h.member_of(&org, "Bob Brown", "bob@nhs.net");
    let carol = h.member_of(&org, "Carol Clark", "carol@nhs.net");
    let ward2 = h.workspace(&alice, &org, "Maternity - Ward 2");
    let ward3 = h
        .ok(|s| {
            s.create_workspace(
                bob.id,
                org.id,
                NewWorkspace { speciality: Speciality::from_code(320)?, ..new_ws("cardiac ward 3") },
            )
        })
        .workspace;
    h.approved(&ward2, &alice, &bob);
    h.ok(|s| s.promote(alice.id, ward2.id, bob.id));
    h.ok(|s| s.request_to_join(carol.id, ward2.id));

    let all = h.ok(|s| s.discover_all(carol.id, org.id, &DiscoveryFilter::default()));
    let workspaces: Vec<_> = all.iter().filter(|e| matches!(e, DiscoveryEntry::Workspace { .. })).collect();
    assert_eq!(workspaces.len(), 2);
    match workspaces.iter().find(|e| e.name() == "Maternity - Ward 2") {
        Some(DiscoveryEntry::Workspace { member_count, admins, .. }) => {
            assert_eq!(*member_count, 3, "approved + unapproved");
            let names: Vec<&str> = admins.iter().map(|a| a.name.as_str()).collect();
            assert_eq!(names, vec!["Alice Adams", "Bob Brown"]);
        }
        other => panic!("{other:?}"),
    }
    let sorted: Vec<String> = all.iter().map(|e| e.name().to_lowercase()).collect();
    let mut expected = sorted.clone();
    expected.sort();
    assert_eq!(sorted, expected, "sorted by name");

    let by_name = h
        .ok(|s| s.discover_all(carol.id, org.id, &DiscoveryFilter { name: Some("WARD".into()), ..Default::default() }));
    let names: Vec<&str> = by_name.iter().map(|e| e.name()).collect();
    assert_eq!(names, vec!["cardiac ward 3", "Maternity - Ward 2"]);
    // The fragment's words each begin a word of the name, in any order (as R40's
    // search): not the middle of a word.
    for (fragment, expected) in [
        ("wa MATERN", vec!["Maternity - Ward 2"]),
        ("ward 3", vec!["cardiac ward 3"]),
        (
            "  Cardiac,  ",
            vec![
                "Cardiac Physiology",
                "Cardiac Rehabilitation",
                "Cardiac Surgery",
                "cardiac ward 3",
                "Paediatric Cardiac Surgery",
            ],
        ),
        ("ternity", vec![]),
        ("ard", vec![]),
    ] {
        let found = h.ok(|s| {
            s.discover_all(carol.id, org.id, &DiscoveryFilter { name: Some(fragment.into()), ..Default::default() })
        });
        let names: Vec<&str> = found.iter().map(|e| e.name()).collect();
        assert_eq!(names, expected, "{fragment:?}");
    }
    let by_speciality = h.ok(|s| {
        s.discover_all(
            carol.id,
            org.id,
            &DiscoveryFilter { speciality: Some(Speciality::from_code(320)?), ..Default::default() },
        )
    });
    let names: Vec<&str> = by_speciality.iter().map(|e| e.name()).collect();
    assert_eq!(names, vec!["cardiac ward 3", "Cardiology"], "the workspace and the example of that speciality");
    // Colleague: where Bob is approved (both); where Carol is approved (none: she is unapproved).
    let bobs =
        h.ok(|s| s.discover_all(carol.id, org.id, &DiscoveryFilter { colleague: Some(bob.id), ..Default::default() }));
    assert_eq!(bobs.iter().map(|e| e.name()).collect::<Vec<_>>(), vec!["cardiac ward 3", "Maternity - Ward 2"]);
    let carols = h
        .ok(|s| s.discover_all(alice.id, org.id, &DiscoveryFilter { colleague: Some(carol.id), ..Default::default() }));
    assert!(carols.is_empty());
    // Archived workspaces are not listed.
    h.ok(|s| s.leave(bob.id, ward3.id));
    let after = h.ok(|s| {
        s.discover_all(carol.id, org.id, &DiscoveryFilter { name: Some("ward 3".into()), ..Default::default() })
    });
    assert!(discovered(&after, "cardiac ward 3").is_none());
    // Outsiders see nothing.
    let outsider = h.user("Olly", "olly@nhs.net");
    let err = h.forbidden(|s| s.discover_all(outsider.id, org.id, &DiscoveryFilter::default()));
    assert!(
        matches!(err, Error::Forbidden { action: Action::DiscoverWorkspaces, denial: Denial::NotInOrganisation, .. }),
        "{err}"
    );
}

/// R12
pub fn r12_signature_is_name_and_organisation_on_two_lines(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("East London NHS Foundation Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let ws = h.workspace(&alice, &org, "Maternity  -  Ward 2");
    assert_eq!(h.ok(|s| s.signature(ws.id)), "Maternity - Ward 2\nEast London NHS Foundation Trust");
    h.ok(|s| {
        s.update_settings(
            alice.id,
            ws.id,
            SettingsChange { name: Some("Ward 2 Midwives".parse()?), ..Default::default() },
        )
    });
    assert_eq!(h.ok(|s| s.signature(ws.id)), "Ward 2 Midwives\nEast London NHS Foundation Trust");
}

/// R13
pub fn r13_broad_names_warn_but_succeed(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Homerton Healthcare");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let staff = h.ok(|s| s.create_workspace(alice.id, org.id, new_ws("Staff")));
    assert_eq!(staff.warnings, vec![NameWarning::TooGeneric { name: "Staff".into() }]);
    assert!(staff.warnings[0].to_string().contains("every approved member will see everything"));
    let same_as_org = h.ok(|s| s.create_workspace(alice.id, org.id, new_ws("homerton healthcare")));
    assert_eq!(same_as_org.warnings, vec![NameWarning::OrganisationName]);
    let fine = h.ok(|s| s.create_workspace(alice.id, org.id, new_ws("Maternity - Ward 2")));
    assert!(fine.warnings.is_empty());
    let renamed = h.ok(|s| {
        s.update_settings(
            alice.id,
            fine.workspace.id,
            SettingsChange { name: Some("Everyone".parse()?), ..Default::default() },
        )
    });
    assert_eq!(renamed.warnings.len(), 1);
    assert_eq!(renamed.workspace.name.as_str(), "Everyone");
    assert_eq!(h.ok(|s| s.name_warnings(org.id, &"Team".parse()?)).len(), 1);
    assert!(h.ok(|s| s.name_warnings(org.id, &"Team Ward 9".parse()?)).is_empty());
}

/// R14
pub fn r14_request_to_join_notifies_every_admin_and_repeats_are_noops(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let bob = h.member_of(&org, "Bob", "bob@nhs.net");
    let carol = h.member_of(&org, "Carol", "carol@nhs.net");
    let ws = h.workspace(&alice, &org, "Ward 1");
    h.approved(&ws, &alice, &bob);
    h.ok(|s| s.promote(alice.id, ws.id, bob.id));
    let (joined, events) = h.events_of(|s| s.request_to_join(carol.id, ws.id));
    assert_eq!(joined.outcome, JoinOutcome::Requested);
    assert_eq!(joined.membership.state, MembershipState::Unapproved);
    let approvers = events.iter().find_map(|e| match &e.kind {
        EventKind::JoinRequested { approvers, user, .. } if *user == carol.id => Some(approvers.clone()),
        _ => None,
    });
    let mut expected = vec![alice.id, bob.id];
    expected.sort();
    let mut approvers = approvers.expect("a JoinRequested event");
    approvers.sort();
    assert_eq!(approvers, expected, "every admin is notified");
    assert_eq!(h.ok(|s| s.pending_requests_all(alice.id)).len(), 1);
    // Again while unapproved, and while approved: no-ops.
    let (again, events) = h.events_of(|s| s.request_to_join(carol.id, ws.id));
    assert_eq!(again.outcome, JoinOutcome::AlreadyMember);
    assert!(events.is_empty());
    let (again, events) = h.events_of(|s| s.request_to_join(alice.id, ws.id));
    assert_eq!((again.outcome, again.membership.state), (JoinOutcome::AlreadyMember, MembershipState::Admin));
    assert!(events.is_empty());
    // Archived members cannot request; outsiders cannot either.
    h.ok(|s| s.archive_member(alice.id, ws.id, carol.id));
    let err = h.forbidden(|s| s.request_to_join(carol.id, ws.id));
    assert!(matches!(err, Error::Forbidden { denial: Denial::ArchivedMember, .. }), "{err}");
    let outsider = h.user("Olly", "olly@nhs.net");
    let err = h.forbidden(|s| s.request_to_join(outsider.id, ws.id));
    assert!(matches!(err, Error::Forbidden { denial: Denial::NotInOrganisation, .. }), "{err}");
}

/// R15
pub fn r15_unapproved_members_send_but_see_only_their_own(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let uma = h.member_of(&org, "Uma", "uma@nhs.net");
    let ws = h.workspace(&alice, &org, "Ward 1");
    let alices = h.ok(|s| s.start_conversation(alice.id, ws.id));
    h.ok(|s| s.request_to_join(uma.id, ws.id));
    h.clock.advance(Duration::minutes(1));
    let umas = h.ok(|s| s.start_conversation(uma.id, ws.id));
    assert_eq!(h.ok(|s| s.conversations(uma.id, ws.id)), vec![umas.clone()]);
    assert_eq!(h.ok(|s| s.conversations(alice.id, ws.id)), vec![alices, umas]);
    for action in [
        Action::StartConversation,
        Action::ViewOwnConversations,
        Action::CreatePersonalTemplate,
        Action::CreatePersonalPatientList,
        Action::Leave,
    ] {
        assert!(h.ok(|s| s.can(uma.id, ws.id, action)), "{action:?}");
    }
    for action in [
        Action::ViewAllConversations,
        Action::ViewMembers,
        Action::ViewSharedTemplates,
        Action::ViewSharedPatientLists,
        Action::Invite,
        Action::Approve,
        Action::ArchiveMember,
        Action::ChangeSettings,
    ] {
        assert!(!h.ok(|s| s.can(uma.id, ws.id, action)), "{action:?}");
    }
    h.forbidden(|s| s.members_all(uma.id, ws.id));
    h.forbidden(|s| s.invite(uma.id, ws.id, email("x@nhs.net")));
    h.forbidden(|s| s.pending_invites_all(uma.id, ws.id));
    h.forbidden(|s| s.approve(uma.id, ws.id, uma.id));
    // And may leave.
    h.ok(|s| s.leave(uma.id, ws.id));
}

/// R16
pub fn r16_approvers_follow_the_policy_and_reapproval_is_a_noop(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let bob = h.member_of(&org, "Bob", "bob@nhs.net");
    let carol = h.member_of(&org, "Carol", "carol@nhs.net");
    let ws = h.workspace(&alice, &org, "Ward 1");
    h.approved(&ws, &alice, &bob);
    h.ok(|s| s.request_to_join(carol.id, ws.id));
    let err = h.forbidden(|s| s.approve(bob.id, ws.id, carol.id));
    assert!(matches!(err, Error::Forbidden { denial: Denial::NotAnApprover, action: Action::Approve, .. }), "{err}");
    // With the alternative policy, approved members approve.
    let everyone = h.sibling(Policy::default().with_approvers(Approvers::ApprovedMembers));
    let (m, events) = everyone.events_of(|s| s.approve(bob.id, ws.id, carol.id));
    assert_eq!(m.state, MembershipState::Member);
    assert!(matches!(events.as_slice(), [e] if e.kind == EventKind::JoinApproved { workspace: ws.id, user: carol.id }));
    // Approving again: a no-op without events.
    let (m, events) = h.events_of(|s| s.approve(alice.id, ws.id, carol.id));
    assert_eq!(m.state, MembershipState::Member);
    assert!(events.is_empty());
    // Approving someone with no request is an error.
    let dave = h.member_of(&org, "Dave", "dave@nhs.net");
    let err = h.err(|s| s.approve(alice.id, ws.id, dave.id));
    assert!(matches!(err, Error::NoPendingRequest { .. }), "{err}");
}

/// R17
pub fn r17_decline_ends_the_request_and_starts_a_cool_down(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let dan = h.member_of(&org, "Dan", "dan@nhs.net");
    let ws = h.workspace(&alice, &org, "Ward 1");
    h.ok(|s| s.request_to_join(dan.id, ws.id));
    let conversation = h.ok(|s| s.start_conversation(dan.id, ws.id));
    let (_, events) = h.events_of(|s| s.decline(alice.id, ws.id, dan.id));
    assert!(events.iter().any(|e| e.kind == EventKind::JoinDeclined { workspace: ws.id, user: dan.id }));
    assert_eq!(h.ok(|s| s.standing(dan.id, ws.id)), crate::Standing::OrganisationMember);
    // Their conversation stays in the workspace.
    assert!(h.ok(|s| s.conversations(alice.id, ws.id)).contains(&conversation));
    // Cool-down: refused for 7 days, then allowed.
    h.clock.advance(Duration::days(6));
    let err = h.err(|s| s.request_to_join(dan.id, ws.id));
    match &err {
        Error::CoolDown { until, .. } => assert_eq!(*until, START + Duration::days(7)),
        other => panic!("{other}"),
    }
    h.clock.advance(Duration::days(1));
    assert_eq!(h.ok(|s| s.request_to_join(dan.id, ws.id)).outcome, JoinOutcome::Requested);
    // Declining without a pending request is an error.
    h.ok(|s| s.approve(alice.id, ws.id, dan.id));
    let err = h.err(|s| s.decline(alice.id, ws.id, dan.id));
    assert!(matches!(err, Error::NoPendingRequest { .. }), "{err}");
    // The cool-down is a policy setting.
    let eve = h.member_of(&org, "Eve", "eve@nhs.net");
    let quick = h.sibling(Policy::default().with_rerequest_cooldown(Duration::hours(1)));
    quick.ok(|s| s.request_to_join(eve.id, ws.id));
    quick.ok(|s| s.decline(alice.id, ws.id, eve.id));
    quick.clock.advance(Duration::hours(1));
    quick.ok(|s| s.request_to_join(eve.id, ws.id));
}

/// R18
pub fn r18_invites_refresh_and_refuse_members(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let bob = h.member_of(&org, "Bob", "bob@nhs.net");
    let uma = h.member_of(&org, "Uma", "uma@nhs.net");
    let ws = h.workspace(&alice, &org, "Ward 1");
    h.approved(&ws, &alice, &bob);
    // Any approved member invites, whether or not the invitee is registered.
    let (invite, events) = h.events_of(|s| s.invite(bob.id, ws.id, email("New.Person@Trust.nhs.uk")));
    assert_eq!(invite.email.as_str(), "new.person@trust.nhs.uk");
    assert_eq!(invite.expires_at, START + Duration::days(14));
    assert_eq!(invite.status, InviteStatus::Pending);
    assert!(matches!(events.as_slice(), [e] if matches!(e.kind, EventKind::Invited { refreshed: false, .. })));
    // Again: one invite, refreshed.
    h.clock.advance(Duration::days(3));
    let (again, events) = h.events_of(|s| s.invite(alice.id, ws.id, email("new.person@trust.nhs.uk")));
    assert_eq!(again.id, invite.id);
    assert_eq!(again.expires_at, START + Duration::days(17));
    assert!(matches!(events.as_slice(), [e] if matches!(e.kind, EventKind::Invited { refreshed: true, .. })));
    assert_eq!(h.ok(|s| s.pending_invites_all(alice.id, ws.id)).len(), 1);
    // After expiry a new invite replaces the old one.
    h.clock.advance(Duration::days(30));
    let (fresh, events) = h.events_of(|s| s.invite(alice.id, ws.id, email("new.person@trust.nhs.uk")));
    assert_ne!(fresh.id, invite.id);
    assert!(events.iter().any(|e| matches!(e.kind, EventKind::InviteExpired { invite: i, .. } if i == invite.id)));
    // Current and archived members cannot be invited.
    h.ok(|s| s.request_to_join(uma.id, ws.id));
    let err = h.err(|s| s.invite(bob.id, ws.id, email("UMA@nhs.net")));
    assert!(matches!(err, Error::AlreadyMember { .. }), "{err}");
    assert_eq!(err.to_string(), "uma@nhs.net is already a member of “Ward 1”");
    h.ok(|s| s.archive_member(alice.id, ws.id, uma.id));
    let err = h.err(|s| s.invite(bob.id, ws.id, email("uma@nhs.net")));
    assert!(matches!(err, Error::ArchivedMember { .. }), "{err}");
    // A refresh makes the invite the refresher's: the first sender (not an admin) can
    // no longer revoke it and their leaving leaves it open; the refresher's revokes it.
    let carol = h.member_of(&org, "Carol", "carol@nhs.net");
    h.approved(&ws, &alice, &carol);
    let sent = h.ok(|s| s.invite(bob.id, ws.id, email("locum@nhs.net")));
    assert_eq!(sent.invited_by, bob.id);
    let renewed = h.ok(|s| s.invite(carol.id, ws.id, email("locum@nhs.net")));
    assert_eq!((renewed.id, renewed.invited_by), (sent.id, carol.id));
    let err = h.err(|s| s.revoke_invite(bob.id, sent.id));
    assert!(matches!(err, Error::Forbidden { action: Action::RevokeAnyInvite, .. }), "{err}");
    h.ok(|s| s.leave(bob.id, ws.id));
    assert!(h.ok(|s| s.pending_invites_all(alice.id, ws.id)).iter().any(|i| i.id == sent.id));
    h.ok(|s| s.leave(carol.id, ws.id));
    assert!(!h.ok(|s| s.pending_invites_all(alice.id, ws.id)).iter().any(|i| i.id == sent.id));
    // The invite lifetime is a policy setting.
    let short = h.sibling(Policy::default().with_invite_lifetime(Duration::days(2)));
    let quick = short.ok(|s| s.invite(alice.id, ws.id, email("quick@nhs.net")));
    assert_eq!(quick.expires_at, crate::Clock::now(&h.clock) + Duration::days(2));
}

/// R19
pub fn r19_only_the_addressee_accepts_in_time(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let ws = h.workspace(&alice, &org, "Ward 1");
    let invite = h.ok(|s| s.invite(alice.id, ws.id, email("newbie@elft.nhs.uk")));
    // Someone else cannot accept it.
    let mallory = h.member_of(&org, "Mallory", "mallory@nhs.net");
    let err = h.forbidden(|s| s.accept_invite(mallory.id, invite.id));
    assert!(
        matches!(err, Error::Forbidden { action: Action::AcceptInvite, denial: Denial::NotTheInvitee, .. }),
        "{err}"
    );
    // The invitee registers later, lists the invite, and accepts (joining the organisation).
    let newbie = h.user("Newbie", "NEWBIE@elft.nhs.uk");
    assert_eq!(h.ok(|s| s.invites_for_me(newbie.id)).iter().map(|i| i.id).collect::<Vec<_>>(), vec![invite.id]);
    let (joined, events) = h.events_of(|s| s.accept_invite(newbie.id, invite.id));
    assert_eq!(joined.outcome, JoinOutcome::AcceptedInvite);
    assert_eq!(joined.membership.state, MembershipState::Member);
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.type_name()).collect();
    assert_eq!(kinds, vec!["invite_accepted", "organisation_joined", "my_workspace_archived"]);
    assert!(h.ok(|s| s.invites_for_me(newbie.id)).is_empty());
    // Accepting again is a no-op.
    let (again, events) = h.events_of(|s| s.accept_invite(newbie.id, invite.id));
    assert_eq!(again.outcome, JoinOutcome::AlreadyMember);
    assert!(events.is_empty());
    // Expired and revoked invites cannot be accepted.
    let late = h.member_of(&org, "Late", "late@nhs.net");
    let expiring = h.ok(|s| s.invite(alice.id, ws.id, email("late@nhs.net")));
    h.clock.advance(Duration::days(14));
    let err = h.err(|s| s.accept_invite(late.id, expiring.id));
    assert!(matches!(err, Error::InviteExpired { .. }), "{err}");
    let revoked = h.ok(|s| s.invite(alice.id, ws.id, email("late@nhs.net")));
    h.ok(|s| s.revoke_invite(alice.id, revoked.id));
    let err = h.err(|s| s.accept_invite(late.id, revoked.id));
    assert!(matches!(err, Error::InviteRevoked { .. }), "{err}");
    // The addressee and the workspace's approved members may look an invite up, with its
    // status as of now; others may not.
    assert_eq!(h.ok(|s| s.invite_details(late.id, revoked.id)).status, InviteStatus::Revoked);
    assert_eq!(h.ok(|s| s.invite_details(alice.id, expiring.id)).status, InviteStatus::Expired);
    assert_eq!(h.ok(|s| s.invite_details(newbie.id, invite.id)).status, InviteStatus::Accepted);
    h.forbidden(|s| s.invite_details(mallory.id, invite.id));
    let err = h.err(|s| s.accept_invite(late.id, crate::InviteId::from_uuid(uuid::Uuid::nil())));
    assert!(matches!(err, Error::NotFound { entity: crate::Entity::Invite, .. }), "{err}");
}

/// R19
pub fn r19_a_request_with_a_pending_invite_accepts_it(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let bob = h.member_of(&org, "Bob", "bob@nhs.net");
    let ws = h.workspace(&alice, &org, "Ward 1");
    let invite = h.ok(|s| s.invite(alice.id, ws.id, email("bob@nhs.net")));
    let (joined, events) = h.events_of(|s| s.request_to_join(bob.id, ws.id));
    assert_eq!(joined.outcome, JoinOutcome::AcceptedInvite);
    assert_eq!(joined.membership.state, MembershipState::Member);
    assert!(events.iter().any(|e| matches!(e.kind, EventKind::InviteAccepted { invite: i, .. } if i == invite.id)));
    assert!(!events.iter().any(|e| matches!(e.kind, EventKind::JoinRequested { .. })));
}

/// R20
pub fn r20_sender_or_admin_revokes(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let bob = h.member_of(&org, "Bob", "bob@nhs.net");
    let carol = h.member_of(&org, "Carol", "carol@nhs.net");
    let ws = h.workspace(&alice, &org, "Ward 1");
    h.approved(&ws, &alice, &bob);
    h.approved(&ws, &alice, &carol);
    let bobs = h.ok(|s| s.invite(bob.id, ws.id, email("x@nhs.net")));
    let alices = h.ok(|s| s.invite(alice.id, ws.id, email("y@nhs.net")));
    // Another approved member may not revoke Bob's invite; Bob may, and an admin may revoke anyone's.
    let err = h.forbidden(|s| s.revoke_invite(carol.id, bobs.id));
    assert!(
        matches!(err, Error::Forbidden { action: Action::RevokeAnyInvite, denial: Denial::NotAnAdmin, .. }),
        "{err}"
    );
    let err = h.forbidden(|s| s.revoke_invite(bob.id, alices.id));
    assert!(matches!(err, Error::Forbidden { action: Action::RevokeAnyInvite, .. }), "{err}");
    let (revoked, events) = h.events_of(|s| s.revoke_invite(bob.id, bobs.id));
    assert_eq!(revoked.status, InviteStatus::Revoked);
    assert!(matches!(events.as_slice(), [e] if matches!(e.kind, EventKind::InviteRevoked { .. })));
    h.ok(|s| s.revoke_invite(alice.id, alices.id));
    assert!(h.ok(|s| s.pending_invites_all(alice.id, ws.id)).is_empty());
    // Revoking again is a no-op; an accepted invite cannot be revoked.
    let (_, events) = h.events_of(|s| s.revoke_invite(alice.id, alices.id));
    assert!(events.is_empty());
    let zed = h.member_of(&org, "Zed", "zed@nhs.net");
    let accepted = h.ok(|s| s.invite(alice.id, ws.id, email("zed@nhs.net")));
    h.ok(|s| s.accept_invite(zed.id, accepted.id));
    let err = h.err(|s| s.revoke_invite(alice.id, accepted.id));
    assert!(matches!(err, Error::InviteAlreadyAccepted { .. }), "{err}");
}

/// R21
pub fn r21_leaving_last_admin_and_archival(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let bob = h.member_of(&org, "Bob", "bob@nhs.net");
    let ws = h.workspace(&alice, &org, "Maternity - Ward 2");
    h.approved(&ws, &alice, &bob);
    let conversation = h.ok(|s| s.start_conversation(bob.id, ws.id));
    let err = h.err(|s| s.leave(alice.id, ws.id));
    assert!(matches!(err, Error::LastAdmin { .. }), "{err}");
    assert!(
        err.to_string().starts_with("Alice is the last admin of “Maternity - Ward 2”; promote another approved member"),
        "{err}"
    );
    // Bob's pending invites go when he leaves.
    let bobs = h.ok(|s| s.invite(bob.id, ws.id, email("friend@nhs.net")));
    let alices = h.ok(|s| s.invite(alice.id, ws.id, email("other@nhs.net")));
    let (left, events) = h.events_of(|s| s.leave(bob.id, ws.id));
    assert!(!left.workspace_archived);
    assert!(events.iter().any(|e| matches!(e.kind, EventKind::InviteRevoked { invite, .. } if invite == bobs.id)));
    assert_eq!(
        h.ok(|s| s.pending_invites_all(alice.id, ws.id)).iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![alices.id]
    );
    // Leavers see nothing any more.
    h.forbidden(|s| s.conversations(bob.id, ws.id));
    // The last member leaves: archived, conversations kept, invites revoked, nobody can join.
    let (left, events) = h.events_of(|s| s.leave(alice.id, ws.id));
    assert!(left.workspace_archived);
    assert!(events.iter().any(|e| e.kind == EventKind::WorkspaceArchived { workspace: ws.id }));
    assert!(events.iter().any(|e| matches!(e.kind, EventKind::InviteRevoked { invite, .. } if invite == alices.id)));
    let err = h.forbidden(|s| s.request_to_join(bob.id, ws.id));
    assert!(matches!(err, Error::Forbidden { denial: Denial::WorkspaceArchived, .. }), "{err}");
    let err = h.forbidden(|s| s.accept_invite(alice.id, alices.id));
    assert!(matches!(err, Error::Forbidden { denial: Denial::NotTheInvitee, .. }), "{err}");
    assert!(h.store_has_conversation(ws.id, conversation.id));
    // Non-members cannot leave.
    let err = h.forbidden(|s| s.leave(bob.id, ws.id));
    assert!(err.is_forbidden());
}

impl Harness {
    fn store_has_conversation(&self, workspace: crate::WorkspaceId, id: crate::ConversationId) -> bool {
        let mut found = false;
        self.store
            .read(&mut |r| {
                found = r.conversations_of(workspace)?.iter().any(|c| c.id == id);
                Ok(())
            })
            .unwrap();
        found
    }
}

/// R22
pub fn r22_archiving_and_unarchiving_members(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let bob = h.member_of(&org, "Bob", "bob@nhs.net");
    let uma = h.member_of(&org, "Uma", "uma@nhs.net");
    let ws = h.workspace(&alice, &org, "Ward 1");
    h.approved(&ws, &alice, &bob);
    h.ok(|s| s.request_to_join(uma.id, ws.id));
    h.ok(|s| s.start_conversation(alice.id, ws.id));
    let bobs = h.ok(|s| s.invite(bob.id, ws.id, email("friend@nhs.net")));
    // Members cannot archive; admins cannot archive themselves or other admins.
    h.forbidden(|s| s.archive_member(bob.id, ws.id, uma.id));
    let err = h.err(|s| s.archive_member(alice.id, ws.id, alice.id));
    assert!(matches!(err, Error::SelfTarget { .. }), "{err}");
    h.ok(|s| s.promote(alice.id, ws.id, bob.id));
    let err = h.err(|s| s.archive_member(alice.id, ws.id, bob.id));
    assert!(matches!(err, Error::AdminMustBeDemoted { .. }), "{err}");
    h.ok(|s| s.demote(alice.id, ws.id, bob.id));
    // Archive an approved and an unapproved member.
    let (m, events) = h.events_of(|s| s.archive_member(alice.id, ws.id, bob.id));
    assert_eq!(m.state, MembershipState::Archived);
    assert!(events.iter().any(|e| e.kind
        == EventKind::MemberArchived { workspace: ws.id, user: bob.id, reason: crate::ArchiveReason::ByAdmin }));
    assert!(events.iter().any(|e| matches!(e.kind, EventKind::InviteRevoked { invite, .. } if invite == bobs.id)));
    h.ok(|s| s.archive_member(alice.id, ws.id, uma.id));
    // They lose all access at once and are listed apart.
    h.forbidden(|s| s.conversations(bob.id, ws.id));
    h.forbidden(|s| s.start_conversation(uma.id, ws.id));
    let list = h.ok(|s| s.members_all(alice.id, ws.id));
    assert_eq!(list.current.iter().map(|m| m.user.id).collect::<Vec<_>>(), vec![alice.id]);
    assert_eq!(list.archived.len(), 2);
    assert!(h.ok(|s| s.my_workspaces(bob.id)).iter().all(|e| e.workspace_id() != ws.id));
    // Unarchive: approved member again (even the one who was unapproved).
    let (m, events) = h.events_of(|s| s.unarchive_member(alice.id, ws.id, uma.id));
    assert_eq!(m.state, MembershipState::Member);
    // Archiving gave Uma her My Workspace back (R41); being a member again archives it (R27).
    assert!(
        matches!(events.as_slice(), [e, mine] if e.kind == EventKind::MemberUnarchived { workspace: ws.id, user: uma.id }
            && matches!(mine.kind, EventKind::MyWorkspaceArchived { user, .. } if user == uma.id))
    );
    assert_eq!(h.ok(|s| s.conversations(uma.id, ws.id)).len(), 1);
    let dave = h.member_of(&org, "Dave", "dave@nhs.net");
    let err = h.err(|s| s.unarchive_member(alice.id, ws.id, dave.id));
    assert!(matches!(err, Error::NotAMember { .. }), "{err}");
}

/// R23
pub fn r23_promote_and_demote_never_the_last_admin(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let bob = h.member_of(&org, "Bob", "bob@nhs.net");
    let uma = h.member_of(&org, "Uma", "uma@nhs.net");
    let ws = h.workspace(&alice, &org, "Ward 1");
    h.approved(&ws, &alice, &bob);
    h.ok(|s| s.request_to_join(uma.id, ws.id));
    let err = h.err(|s| s.demote(alice.id, ws.id, alice.id));
    assert!(matches!(err, Error::LastAdmin { .. }), "{err}");
    let err = h.err(|s| s.promote(alice.id, ws.id, uma.id));
    assert!(matches!(err, Error::NotAMember { .. }), "unapproved members cannot be promoted: {err}");
    h.forbidden(|s| s.promote(bob.id, ws.id, bob.id));
    let (m, events) = h.events_of(|s| s.promote(alice.id, ws.id, bob.id));
    assert_eq!(m.state, MembershipState::Admin);
    assert!(
        matches!(events.as_slice(), [e] if e.kind == EventKind::RoleChanged { workspace: ws.id, user: bob.id, role: Role::Admin })
    );
    let (_, events) = h.events_of(|s| s.promote(alice.id, ws.id, bob.id));
    assert!(events.is_empty(), "promoting an admin is a no-op");
    // Now Alice may step down, and then Bob is the last admin.
    h.ok(|s| s.demote(bob.id, ws.id, alice.id));
    let err = h.err(|s| s.demote(bob.id, ws.id, bob.id));
    assert!(matches!(err, Error::LastAdmin { .. }), "{err}");
    h.forbidden(|s| s.demote(alice.id, ws.id, bob.id));
}

/// R24
pub fn r24_admins_change_settings(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let bob = h.member_of(&org, "Bob", "bob@nhs.net");
    let ws = h.workspace(&alice, &org, "Ward 1");
    h.approved(&ws, &alice, &bob);
    h.forbidden(|s| {
        s.update_settings(bob.id, ws.id, SettingsChange { description: Some("x".parse()?), ..Default::default() })
    });
    let change = SettingsChange {
        name: Some("Ward 1 Day Unit".parse().unwrap()),
        speciality: Some(Speciality::from_code(502).unwrap()),
        description: Some("Day-case gynaecology".parse().unwrap()),
    };
    let (out, events) = h.events_of(|s| s.update_settings(alice.id, ws.id, change.clone()));
    assert_eq!(out.workspace.name.as_str(), "Ward 1 Day Unit");
    assert_eq!(out.workspace.speciality.code(), 502);
    assert_eq!(out.workspace.description.as_str(), "Day-case gynaecology");
    match &events[..] {
        [e] => assert_eq!(
            e.kind,
            EventKind::SettingsChanged {
                workspace: ws.id,
                name: change.name.clone(),
                speciality: change.speciality,
                description: change.description.clone()
            }
        ),
        other => panic!("{other:?}"),
    }
    // Setting the same values again changes nothing.
    let (_, events) = h.events_of(|s| s.update_settings(alice.id, ws.id, change.clone()));
    assert!(events.is_empty());
}

/// R25
pub fn r25_invariants_hold_through_a_busy_week(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let people: Vec<_> = (0..8).map(|i| h.member_of(&org, &format!("Person {i}"), &format!("p{i}@nhs.net"))).collect();
    let ws = h.workspace(&people[0], &org, "Ward 1");
    let other = h.workspace(&people[1], &org, "Ward 2");
    for (i, p) in people.iter().enumerate().skip(1) {
        h.ok(|s| s.request_to_join(p.id, ws.id));
        if i % 2 == 0 {
            h.ok(|s| s.approve(people[0].id, ws.id, p.id));
        }
        if i % 3 == 0 {
            let _ = h.service.request_to_join(p.id, other.id);
            h.check();
        }
    }
    h.ok(|s| s.promote(people[0].id, ws.id, people[2].id));
    let _ = h.service.leave(people[0].id, ws.id); // refused or allowed: either way the invariants hold
    h.check();
    for p in &people {
        let _ = h.service.leave(p.id, ws.id);
        h.check();
        let _ = h.service.decline(people[1].id, other.id, p.id);
        h.check();
    }
    let _ = h.service.leave(people[1].id, other.id);
    h.check();
    // Eventually everyone can leave: archive the workspaces.
    for p in &people {
        for w in [ws.id, other.id] {
            let _ = h.service.approve(p.id, w, p.id);
            let _ = h.service.leave(p.id, w);
            h.check();
        }
    }
}

/// R26
pub fn r26_my_workspace_is_private(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let bob = h.member_of(&org, "Bob", "bob@nhs.net");
    let mine = h.ok(|s| s.join_organisation(alice.id, org.id));
    assert_eq!(h.ok(|s| s.standing(alice.id, mine.id)), crate::Standing::Owner);
    // Not listed, not joinable, not invitable, not visible to others.
    let listing = h.ok(|s| {
        s.discover_all(bob.id, org.id, &DiscoveryFilter { name: Some("My Workspace".into()), ..Default::default() })
    });
    assert!(listing.is_empty());
    let err = h.forbidden(|s| s.request_to_join(bob.id, mine.id));
    assert!(matches!(err, Error::Forbidden { denial: Denial::PersonalWorkspace, .. }), "{err}");
    let err = h.forbidden(|s| s.invite(alice.id, mine.id, email("bob@nhs.net")));
    assert!(matches!(err, Error::Forbidden { denial: Denial::PersonalWorkspace, .. }), "{err}");
    h.ok(|s| s.start_conversation(alice.id, mine.id));
    h.forbidden(|s| s.conversations(bob.id, mine.id));
    h.forbidden(|s| s.start_conversation(bob.id, mine.id));
    assert_eq!(h.ok(|s| s.conversations(alice.id, mine.id)).len(), 1);
    h.forbidden(|s| s.members_all(alice.id, mine.id));
    let err = h.err(|s| s.signature(mine.id));
    assert!(matches!(err, Error::NotFound { .. }), "a My Workspace has no shared signature: {err}");
}

/// R27
pub fn r27_my_workspace_is_archived_on_first_shared_membership(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let bob = h.member_of(&org, "Bob", "bob@nhs.net");
    let (_, events) = h.events_of(|s| s.create_workspace(alice.id, org.id, new_ws("Ward 1")));
    let alices_personal = h.ok(|s| s.join_organisation(alice.id, org.id));
    assert!(!alices_personal.is_active());
    assert!(events.iter().any(|e| e.kind
        == EventKind::MyWorkspaceArchived { workspace: alices_personal.id, organisation: org.id, user: alice.id }));
    // By request: archived at once, even while unapproved; only the first time.
    let ws = h.ok(|s| s.discover_all(bob.id, org.id, &DiscoveryFilter::default()));
    let ward = discovered(&ws, "Ward 1").unwrap();
    let (_, events) = h.events_of(|s| s.request_to_join(bob.id, ward));
    assert_eq!(events.iter().filter(|e| matches!(e.kind, EventKind::MyWorkspaceArchived { .. })).count(), 1);
    let (_, events) = h.events_of(|s| s.create_workspace(alice.id, org.id, new_ws("Ward 2")));
    assert!(events.iter().all(|e| !matches!(e.kind, EventKind::MyWorkspaceArchived { .. })));
    // Until no current shared membership is left: then it comes back (R41).
    h.ok(|s| s.decline(alice.id, ward, bob.id));
    assert!(h.ok(|s| s.join_organisation(bob.id, org.id)).is_active());
}

/// R28
pub fn r28_my_workspace_conversations_stay_with_their_owner(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let mine = h.ok(|s| s.join_organisation(alice.id, org.id));
    let old = h.ok(|s| s.start_conversation(alice.id, mine.id));
    let ws = h.workspace(&alice, &org, "Ward 1");
    // After archival the owner still reads them; they did not move; no new ones start there.
    assert_eq!(h.ok(|s| s.conversations(alice.id, mine.id)), vec![old.clone()]);
    assert!(h.ok(|s| s.conversations(alice.id, ws.id)).is_empty());
    let err = h.forbidden(|s| s.start_conversation(alice.id, mine.id));
    assert!(matches!(err, Error::Forbidden { denial: Denial::WorkspaceArchived, .. }), "{err}");
    let bob = h.member_of(&org, "Bob", "bob@nhs.net");
    h.approved(&ws, &alice, &bob);
    h.forbidden(|s| s.conversations(bob.id, mine.id));
}

/// R29
pub fn r29_conversations_start_only_where_allowed(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let bob = h.member_of(&org, "Bob", "bob@nhs.net");
    let ws = h.workspace(&alice, &org, "Ward 1");
    let (c, events) = h.events_of(|s| s.start_conversation(alice.id, ws.id));
    assert_eq!((c.workspace, c.started_by, c.started_at), (ws.id, alice.id, START));
    assert!(
        matches!(events.as_slice(), [e] if e.kind == EventKind::ConversationStarted { conversation: c.id, workspace: ws.id, user: alice.id })
    );
    let err = h.forbidden(|s| s.start_conversation(bob.id, ws.id));
    assert!(matches!(err, Error::Forbidden { denial: Denial::NotAMember, .. }), "{err}");
    h.ok(|s| s.leave(alice.id, ws.id));
    let err = h.forbidden(|s| s.start_conversation(alice.id, ws.id));
    assert!(
        matches!(err, Error::Forbidden { denial: Denial::WorkspaceArchived, .. }),
        "no conversation starts in an archived workspace: {err}"
    );
    let err = h.err(|s| s.start_conversation(alice.id, crate::WorkspaceId::from_uuid(uuid::Uuid::nil())));
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
}

/// R30
pub fn r30_visibility_of_conversations(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let bob = h.member_of(&org, "Bob", "bob@nhs.net");
    let carol = h.member_of(&org, "Carol", "carol@nhs.net");
    let ws = h.workspace(&alice, &org, "Ward 1");
    let before = h.ok(|s| s.start_conversation(alice.id, ws.id));
    h.clock.advance(Duration::minutes(1));
    h.ok(|s| s.request_to_join(bob.id, ws.id));
    let bobs = h.ok(|s| s.start_conversation(bob.id, ws.id));
    assert_eq!(h.ok(|s| s.conversations(bob.id, ws.id)), vec![bobs.clone()]);
    h.ok(|s| s.approve(alice.id, ws.id, bob.id));
    // Approved: everything, including what was started before they joined.
    assert_eq!(h.ok(|s| s.conversations(bob.id, ws.id)), vec![before.clone(), bobs.clone()]);
    h.forbidden(|s| s.conversations(carol.id, ws.id));
    h.ok(|s| s.leave(bob.id, ws.id));
    h.forbidden(|s| s.conversations(bob.id, ws.id));
}

/// R31
pub fn r31_switcher_lists_everything_at_once(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (a, b) = (h.trust("A Trust"), h.trust("B Trust"));
    let alice = h.member_of(&a, "Alice", "alice@nhs.net");
    let bob = h.member_of(&a, "Bob", "bob@nhs.net");
    h.ok(|s| s.join_organisation(alice.id, b.id));
    let ward = h.workspace(&bob, &a, "Ward 1");
    h.ok(|s| s.request_to_join(alice.id, ward.id));
    let created = h.workspace(&alice, &b, "Cardiology Clinic");
    let entries = h.ok(|s| s.my_workspaces(alice.id));
    let summary: Vec<(String, &str, Option<MembershipState>, Option<bool>)> = entries
        .iter()
        .map(|e| match e {
            SwitcherEntry::Shared { organisation_name, workspace, state } => {
                (organisation_name.to_string(), workspace.name.as_str(), Some(*state), None)
            }
            SwitcherEntry::Personal { organisation_name, workspace } => {
                (organisation_name.to_string(), "My Workspace", None, Some(workspace.is_active()))
            }
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("A Trust".into(), "My Workspace", None, Some(false)),
            ("A Trust".into(), "Ward 1", Some(MembershipState::Unapproved), None),
            ("B Trust".into(), "My Workspace", None, Some(false)),
            ("B Trust".into(), "Cardiology Clinic", Some(MembershipState::Admin), None),
        ]
    );
    assert_eq!(entries[3].workspace_id(), created.id);
    h.ok(|s| s.leave(alice.id, ward.id));
    assert_eq!(h.ok(|s| s.my_workspaces(alice.id)).len(), 3, "a left workspace disappears at once");
}

/// R32
pub fn r32_events_are_gap_free_with_actor_and_time(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    h.clock.advance(Duration::hours(2));
    let ws = h.workspace(&alice, &org, "Ward 1");
    // A failed command consumes no number.
    h.err(|s| s.create_workspace(alice.id, org.id, new_ws("Ward 1")));
    let events = h.events();
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=events.len() as u64).collect::<Vec<_>>());
    assert_eq!(events[0].actor, None, "the host registered the organisation");
    assert_eq!(events[0].kind, EventKind::OrganisationRegistered { organisation: org.id });
    let created = events.iter().find(|e| matches!(e.kind, EventKind::WorkspaceCreated { .. })).unwrap();
    assert_eq!(created.actor, Some(alice.id));
    assert_eq!(created.at, START + Duration::hours(2));
    // Reading from a cursor, in pages.
    let after_two = h.ok(|s| s.events_since(2, 2));
    assert_eq!(after_two.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4]);
    assert!(h.ok(|s| s.events_since(events.len() as u64, 10)).is_empty());
    assert!(h.ok(|s| s.events_since(u64::MAX, 10)).is_empty());
    // Every state-changing command appends an event.
    let (_, e) = h.events_of(|s| s.start_conversation(alice.id, ws.id));
    assert_eq!(e.len(), 1);
}

/// R33
pub fn r33_pending_approvals_prompt(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let bob = h.member_of(&org, "Bob", "bob@nhs.net");
    let carol = h.member_of(&org, "Carol", "carol@nhs.net");
    let w1 = h.workspace(&alice, &org, "Ward 1");
    let w2 = h.workspace(&alice, &org, "Ward 2");
    let w3 = h.workspace(&bob, &org, "Ward 3");
    h.approved(&w1, &alice, &bob);
    h.ok(|s| s.request_to_join(carol.id, w1.id));
    h.clock.advance(Duration::minutes(5));
    h.ok(|s| s.request_to_join(carol.id, w2.id));
    h.ok(|s| s.request_to_join(carol.id, w3.id));
    let prompt = h.ok(|s| s.pending_requests_all(alice.id));
    assert_eq!(
        prompt.iter().map(|p| (p.workspace, p.requester.id)).collect::<Vec<_>>(),
        vec![(w1.id, carol.id), (w2.id, carol.id)]
    );
    assert_eq!(prompt[0].workspace_name.as_str(), "Ward 1");
    // Bob is an admin of Ward 3 only; under the alternative policy he also approves in Ward 1.
    assert_eq!(h.ok(|s| s.pending_requests_all(bob.id)).len(), 1);
    let everyone = h.sibling(Policy::default().with_approvers(Approvers::ApprovedMembers));
    assert_eq!(everyone.ok(|s| s.pending_requests_all(bob.id)).len(), 2);
    assert!(h.ok(|s| s.pending_requests_all(carol.id)).is_empty());
}

/// R34: every cell of the matrix in a world of its own, from `fresh`.
pub fn r34_permission_matrix(fresh: &dyn Fn() -> Arc<dyn Store>) {
    super::matrix::run(fresh);
}

/// R34
pub fn r34_forbidden_names_the_action(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice Smith", "alice@nhs.net");
    let bob = h.member_of(&org, "Bob Jones", "bob@nhs.net");
    let ws = h.workspace(&alice, &org, "Maternity - Ward 2");
    h.approved(&ws, &alice, &bob);
    let err = h.forbidden(|s| s.update_settings(bob.id, ws.id, SettingsChange::default()));
    assert_eq!(
        err.to_string(),
        "Bob Jones may not change the workspace settings in “Maternity - Ward 2”: only its admins may"
    );
    assert!(!h.ok(|s| s.can(bob.id, ws.id, Action::ChangeSettings)));
    assert!(h.ok(|s| s.can(alice.id, ws.id, Action::ChangeSettings)));
    let err = h.err(|s| s.can(crate::UserId::from_uuid(uuid::Uuid::nil()), ws.id, Action::Leave));
    assert!(matches!(err, Error::NotFound { entity: crate::Entity::User, .. }), "{err}");
}

/// R34: every refusal for lack of rights is the one `Forbidden` kind, whatever its reason,
/// naming its action and reason; `can` answers creation in an organisation from the same
/// table as the command.
pub fn r34_every_refusal_for_lack_of_rights_is_one_kind(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let trust = h.trust("Trust");
    let practice = h.ok(|s| s.register_organisation("Mile End Surgery".parse()?, OrganisationKind::GpPractice, None));
    let alice = h.member_of(&trust, "Alice", "alice@nhs.net");
    let gp = h.member_of(&practice, "Gita", "gita@nhs.net");
    let olly = h.user("Olly", "olly@nhs.net");
    let ws = h.workspace(&alice, &trust, "Ward 1");
    let invite = h.ok(|s| s.invite(alice.id, ws.id, email("newbie@nhs.net")));
    let refused = |err: Error, action: Action, denial: Denial| {
        assert!(err.is_forbidden(), "{err}");
        assert_eq!(err.code(), "forbidden", "{err}");
        assert!(matches!(&err, Error::Forbidden { action: a, denial: d, .. } if *a == action && *d == denial), "{err}");
        assert!(err.to_string().contains(&action.to_string()), "{err}");
    };
    let gp_kind = Denial::CreationNotAllowed { kind: OrganisationKind::GpPractice };
    let before = h.events().len();
    refused(
        h.err(|s| s.create_workspace(olly.id, trust.id, new_ws("Ward 9"))),
        Action::CreateWorkspace,
        Denial::NotInOrganisation,
    );
    refused(h.err(|s| s.create_workspace(gp.id, practice.id, new_ws("Reception"))), Action::CreateWorkspace, gp_kind);
    refused(h.err(|s| s.join_example(gp.id, practice.id, obstetrics())), Action::CreateWorkspace, gp_kind);
    refused(
        h.err(|s| s.discover_all(olly.id, trust.id, &DiscoveryFilter::default())),
        Action::DiscoverWorkspaces,
        Denial::NotInOrganisation,
    );
    refused(h.err(|s| s.workspace(olly.id, ws.id)), Action::DiscoverWorkspaces, Denial::NotInOrganisation);
    refused(h.err(|s| s.accept_invite(gp.id, invite.id)), Action::AcceptInvite, Denial::NotTheInvitee);
    refused(h.err(|s| s.request_to_join(olly.id, ws.id)), Action::RequestToJoin, Denial::NotInOrganisation);
    assert_eq!(h.events().len(), before, "a refusal changes nothing");

    // can() answers in an organisation from the same table the commands ask.
    for (who, org, expected) in [(&alice, &trust, true), (&gp, &practice, false), (&olly, &trust, false)] {
        assert_eq!(h.ok(|s| s.can(who.id, org.id, Action::CreateWorkspace)), expected, "{} in {}", who.name, org.name);
        let created = h.service.create_workspace(who.id, org.id, new_ws("Ward 7"));
        assert_eq!(created.is_ok(), expected, "{} creating in {}", who.name, org.name);
    }
    assert!(h.ok(|s| s.can(gp.id, practice.id, Action::DiscoverWorkspaces)));
    assert!(!h.ok(|s| s.can(olly.id, practice.id, Action::DiscoverWorkspaces)));
    // An action asked of the wrong kind of place is no.
    assert!(!h.ok(|s| s.can(alice.id, trust.id, Action::StartConversation)));
    assert!(!h.ok(|s| s.can(alice.id, ws.id, Action::CreateWorkspace)));
    // A policy that lets practices create answers yes, and the command agrees.
    let liberal = h.sibling(Policy::default().with_creator_kinds([OrganisationKind::GpPractice]));
    assert!(liberal.ok(|s| s.can(gp.id, practice.id, Action::CreateWorkspace)));
    liberal.ok(|s| s.create_workspace(gp.id, practice.id, new_ws("Reception")));
    h.check();
}

/// R35
pub fn r35_failed_commands_write_nothing(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let newbie = h.user("Newbie", "newbie@nhs.net");
    let ws = h.workspace(&alice, &org, "Ward 1");
    // A refused rename leaves the workspace and the log as they were (the harness compares
    // a full dump of the store before and after every failing step).
    h.workspace(&alice, &org, "Ward 2");
    let err = h.err(|s| {
        s.update_settings(alice.id, ws.id, SettingsChange { name: Some("ward 2".parse()?), ..Default::default() })
    });
    assert!(matches!(err, Error::WorkspaceNameTaken { .. }));
    // Unknown ids are typed errors, never panics.
    let ghost = crate::UserId::from_uuid(uuid::Uuid::nil());
    let nowhere = crate::WorkspaceId::from_uuid(uuid::Uuid::max());
    for err in [
        h.err(|s| s.join_organisation(ghost, org.id)),
        h.err(|s| s.request_to_join(newbie.id, nowhere)),
        h.err(|s| s.approve(alice.id, ws.id, ghost)),
        h.err(|s| s.my_workspaces(ghost)),
        h.err(|s| s.join_organisation(newbie.id, crate::OrganisationId::from_uuid(uuid::Uuid::nil()))),
    ] {
        assert!(matches!(err, Error::NotFound { .. }), "{err}");
    }
    // A store-level failure inside a transaction rolls back what the transaction wrote.
    let before = super::dump(h.store.as_ref());
    let result = h.store.write(&mut |tx| {
        let r = tx.reader();
        let mut user = r.user(newbie.id)?.unwrap();
        user.name = "Renamed".parse()?;
        tx.put_user(&user)?;
        tx.append_event(crate::NewEvent {
            at: START,
            actor: None,
            kind: EventKind::UserRegistered { user: user.id, email: user.email.clone() },
        })?;
        Err(Error::Storage(crate::StorageError::new(crate::StorageErrorKind::Other, "simulated failure")))
    });
    assert!(matches!(result, Err(Error::Storage(_))));
    assert_eq!(super::dump(h.store.as_ref()), before);
    h.check();
}

/// R36
pub fn r36_time_comes_from_the_injected_clock(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    assert_eq!(org.registered_at, START);
    h.clock.set(time::macros::datetime!(2027-01-01 12:00 UTC));
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    assert_eq!(alice.registered_at, time::macros::datetime!(2027-01-01 12:00 UTC));
    assert_eq!(alice.id.as_uuid().get_version_num(), 7);
    let ws = h.workspace(&alice, &org, "Ward 1");
    assert_eq!(ws.id.as_uuid().get_version_num(), 7);
    assert!(h.events().iter().all(|e| e.at.offset().is_utc()));
    assert_eq!(h.events().last().unwrap().at, time::macros::datetime!(2027-01-01 12:00 UTC));

    // A clock that answers in another offset (a host's local time): the same instants,
    // written in UTC on every backend, and a sweep given such an instant alike.
    #[derive(Debug)]
    struct FiveHoursEast(crate::ManualClock);
    impl crate::Clock for FiveHoursEast {
        fn now(&self) -> time::OffsetDateTime {
            self.0.now().to_offset(time::macros::offset!(+5))
        }
    }
    let local = crate::Carespace::from_arc(h.store.clone()).with_clock(FiveHoursEast(h.clock.clone()));
    let bob = local.register_user("bob@nhs.net".parse().unwrap(), "Bob".parse().unwrap()).unwrap();
    assert!(bob.registered_at.offset().is_utc(), "{}", bob.registered_at);
    local.join_organisation(bob.id, org.id).unwrap();
    local.request_to_join(bob.id, ws.id).unwrap();
    let invite = local.invite(alice.id, ws.id, "carol@nhs.net".parse().unwrap()).unwrap();
    assert!(invite.expires_at.offset().is_utc(), "{}", invite.expires_at);
    let swept = local.sweep(time::macros::datetime!(2027-02-01 18:00 +6)).unwrap();
    assert_eq!(swept.invites_expired, 1);
    let events = h.events();
    assert!(events.iter().all(|e| e.at.offset().is_utc()), "{:?}", events.iter().map(|e| e.at).collect::<Vec<_>>());
    assert_eq!(events.last().unwrap().at, time::macros::datetime!(2027-02-01 12:00 UTC));
    h.check();
}

/// R9, R25: many colleagues join the same example at once, from several threads.
pub fn r9_concurrent_example_joins_create_exactly_one_workspace(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let people: Vec<_> = (0..8).map(|i| h.member_of(&org, &format!("Person {i}"), &format!("p{i}@nhs.net"))).collect();
    let outcomes: Vec<JoinOutcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = people
            .iter()
            .map(|p| {
                let service = h.service.clone();
                let (user, org) = (p.id, org.id);
                scope.spawn(move || service.join_example(user, org, obstetrics()).map(|j| j.outcome))
            })
            .collect();
        handles.into_iter().map(|t| t.join().unwrap().unwrap()).collect()
    });
    h.check();
    assert_eq!(outcomes.iter().filter(|o| **o == JoinOutcome::Created).count(), 1);
    assert_eq!(outcomes.iter().filter(|o| **o == JoinOutcome::Requested).count(), people.len() - 1);
    let listing = h.ok(|s| {
        s.discover_all(people[0].id, org.id, &DiscoveryFilter { speciality: Some(obstetrics()), ..Default::default() })
    });
    let workspaces: Vec<_> = listing.iter().filter(|e| matches!(e, DiscoveryEntry::Workspace { .. })).collect();
    assert_eq!(workspaces.len(), 1);
    assert_eq!(workspaces[0].member_count(), people.len() as u32);
}

/// R16, R21, R23, R25: admins approving, demoting and leaving at once never leave a
/// workspace without an admin, and one request is approved once.
pub fn r25_concurrent_admin_commands_keep_the_invariants(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let bob = h.member_of(&org, "Bob", "bob@nhs.net");
    let carol = h.member_of(&org, "Carol", "carol@nhs.net");
    let ws = h.workspace(&alice, &org, "Ward 1");
    h.approved(&ws, &alice, &bob);
    h.ok(|s| s.promote(alice.id, ws.id, bob.id));
    h.ok(|s| s.request_to_join(carol.id, ws.id));
    let before = h.events().len();
    std::thread::scope(|scope| {
        for (me, other) in [(alice.id, bob.id), (bob.id, alice.id)] {
            let service = h.service.clone();
            let carol = carol.id;
            scope.spawn(move || {
                let _ = service.approve(me, ws.id, carol);
                let _ = service.demote(me, ws.id, other);
                let _ = service.leave(me, ws.id);
            });
        }
    });
    h.check();
    let events = h.ok(|s| s.events_since(before as u64, 100));
    let approvals = events.iter().filter(|e| matches!(e.kind, EventKind::JoinApproved { .. })).count();
    assert_eq!(approvals, 1, "one approval event for one request");
}

/// R4, R11, R15 (issue 16): the lookups a host needs. A workspace by id, for anyone in
/// its organisation; one membership, for the person themselves or whoever may see the
/// member list; a person's organisations, by name.
pub fn r11_r15_lookups_of_a_workspace_a_membership_and_organisations(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let other = h.trust("Another Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let bob = h.member_of(&org, "Bob", "bob@nhs.net");
    let uma = h.member_of(&org, "Uma", "uma@nhs.net");
    let olly = h.member_of(&other, "Olly", "olly@nhs.net");
    h.ok(|s| s.join_organisation(alice.id, other.id));
    let ws = h.workspace(&alice, &org, "Ward 1");

    assert_eq!(h.ok(|s| s.workspace(bob.id, ws.id)), ws, "anyone in the organisation");
    let err = h.forbidden(|s| s.workspace(olly.id, ws.id));
    assert!(matches!(err, Error::Forbidden { denial: Denial::NotInOrganisation, .. }), "{err}");
    let err = h.err(|s| s.workspace(bob.id, crate::WorkspaceId::from_uuid(uuid::Uuid::nil())));
    assert!(matches!(err, Error::NotFound { entity: crate::Entity::Workspace, .. }), "{err}");

    h.ok(|s| s.request_to_join(uma.id, ws.id));
    let state =
        |actor: &crate::User, user: &crate::User| h.ok(|s| s.membership(actor.id, ws.id, user.id)).map(|m| m.state);
    assert_eq!(state(&uma, &uma), Some(MembershipState::Unapproved), "about oneself");
    assert_eq!(state(&bob, &bob), None, "about oneself, with no membership");
    assert_eq!(state(&alice, &uma), Some(MembershipState::Unapproved), "an approved member about another");
    let err = h.err(|s| s.membership(uma.id, ws.id, alice.id));
    assert!(matches!(err, Error::Forbidden { action: Action::ViewMembers, denial: Denial::NotApproved, .. }), "{err}");
    let err = h.forbidden(|s| s.membership(olly.id, ws.id, olly.id));
    assert!(matches!(err, Error::Forbidden { denial: Denial::NotInOrganisation, .. }), "{err}");

    let names = |u: &crate::User| -> Vec<String> {
        h.ok(|s| s.organisations_of(u.id)).iter().map(|o| o.name.to_string()).collect()
    };
    assert_eq!(names(&alice), ["Another Trust", "Trust"]);
    assert_eq!(names(&olly), ["Another Trust"]);
    assert!(names(&h.user("Nadia", "nadia@nhs.net")).is_empty());
    let err = h.err(|s| s.organisations_of(crate::UserId::from_uuid(uuid::Uuid::nil())));
    assert!(matches!(err, Error::NotFound { entity: crate::Entity::User, .. }), "{err}");
}

/// The store's lists come in the orders `ReadTx` documents, on every backend alike (a
/// backend once listed a user's My Workspaces by id where the others went by
/// organisation). The world is built so that creation order and each documented order
/// differ.
pub fn store_lists_keep_their_documented_orders(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let first = h.trust("First Trust");
    let second = h.trust("Second Trust");
    let (anna, ben) = (h.user("Anna", "anna@nhs.net"), h.user("Ben", "ben@nhs.net"));
    // Ben joins first, and Anna joins the second trust before the first.
    for (user, org) in [(&ben, &first), (&anna, &second), (&anna, &first), (&ben, &second)] {
        h.ok(|s| s.join_organisation(user.id, org.id));
    }
    let ward = h.workspace(&ben, &first, "Ward 1");
    let clinic = h.workspace(&ben, &first, "Clinic 2");
    h.approved(&clinic, &ben, &anna);
    h.approved(&ward, &ben, &anna);
    h.ok(|s| s.promote(ben.id, ward.id, anna.id));
    for to in ["zed@nhs.net", "amy@nhs.net"] {
        h.ok(|s| s.invite(ben.id, ward.id, email(to)));
    }
    h.ok(|s| s.invite(ben.id, clinic.id, email("amy@nhs.net")));
    h.clock.advance(Duration::minutes(1));
    h.ok(|s| s.start_conversation(anna.id, ward.id));
    h.ok(|s| s.start_conversation(ben.id, ward.id));

    fn sorted<T, K: Ord>(list: &[T], key: impl Fn(&T) -> K) -> bool {
        list.windows(2).all(|pair| key(&pair[0]) <= key(&pair[1]))
    }
    let mut checked = 0;
    let mut check = |what: &str, in_order: bool, len: usize| {
        assert!(len >= 2, "{what}: the world should list at least two");
        assert!(in_order, "{what} is not in its documented order");
        checked += 1;
    };
    h.store
        .read(&mut |r| {
            let orgs = r.organisations()?;
            check("organisations", sorted(&orgs, |o| o.id), orgs.len());
            let of = r.organisations_of(anna.id)?;
            check("organisations_of", sorted(&of, |o| *o), of.len());
            let spaces = r.workspaces_of(first.id)?;
            check("workspaces_of", sorted(&spaces, |w| w.id), spaces.len());
            let mine = r.personal_workspaces_of(anna.id)?;
            check("personal_workspaces_of", sorted(&mine, |p| p.organisation), mine.len());
            let members = r.memberships_of_workspace(ward.id)?;
            check("memberships_of_workspace", sorted(&members, |m| m.user), members.len());
            let hers = r.memberships_of_user(anna.id)?;
            check("memberships_of_user", sorted(&hers, |m| m.workspace), hers.len());
            let admins = r.admins_of(ward.id)?;
            check("admins_of", sorted(&admins, |m| m.user), admins.len());
            let invites = r.pending_invites_of_workspace(ward.id)?;
            check("pending_invites_of_workspace", sorted(&invites, |i| i.id), invites.len());
            let amys = r.pending_invites_for(&email("amy@nhs.net"))?;
            check("pending_invites_for", sorted(&amys, |i| i.id), amys.len());
            let talks = r.conversations_of(ward.id)?;
            check("conversations_of", sorted(&talks, |c| (c.started_at, c.id)), talks.len());
            Ok(())
        })
        .unwrap();
    assert_eq!(checked, 10);
    h.check();
}
