//! Quickstart: the life of one ward's workspace, told through the Carespace API, kept in
//! a SQLite file.
//!
//! Run it with `cargo run --example quickstart [PATH]` (default
//! `carespace-quickstart.sqlite3`, created if missing). Run it again and it reuses the
//! file: it says so and shows what the file holds instead of writing the story twice.

use carespace::directory::{ImportOptions, OdsFile, OrganisationSearch};
use carespace::page::{PageRequest, every_page};
use carespace::{
    Action, ArchiveReason, Carespace, DiscoveryEntry, DiscoveryFilter, Entity, Error, Event, EventKind, NewWorkspace,
    Organisation, Speciality, SwitcherEntry, User, UserId, Workspace,
};
use carespace_sqlite::SqliteStore;
use std::process::ExitCode;
use time::{Duration, OffsetDateTime};

/// The NHS Organisation Data Service's file of NHS trusts (`etr.csv`, Open Government
/// Licence), as published.
const NHS_TRUSTS: &[u8] = include_bytes!("../data/ods/etr.csv");

/// The people and places of the story.
struct Cast {
    trust: Organisation,
    alice: User,
    bob: User,
    carol: User,
    ward: Workspace,
}

fn main() -> ExitCode {
    let path = std::env::args().nth(1).unwrap_or_else(|| "carespace-quickstart.sqlite3".to_owned());
    match run(&path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quickstart failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: &str) -> Result<(), Error> {
    let service = Carespace::new(SqliteStore::open(path)?);
    println!("Carespace quickstart, stored in {path}\n");
    let cast = match service.organisation_by_ods(&"RWK".parse()?)? {
        Some(trust) => {
            let events = service.events_since(0, carespace::MAX_EVENT_PAGE)?.len();
            println!("{path} already holds this story ({events} events): reusing it rather than writing it twice.");
            find_cast(&service, trust).inspect_err(|_| {
                eprintln!("{path} holds an unfinished or different story; delete it or pass another path.");
            })?
        }
        None => tell_story(&service)?,
    };
    show(&service, &cast)
}

/// The first run: every command of the story.
fn tell_story(service: &Carespace) -> Result<Cast, Error> {
    // The NHS trusts, from the Organisation Data Service's published file (R40). Run
    // again with a later file, the import renames, closes and reopens trusts, one event
    // each; the same file twice changes nothing.
    let report = service.import_organisations(OdsFile::Trusts, NHS_TRUSTS, ImportOptions::default())?;
    println!("Imported the NHS trust directory: {} trusts, {} rows rejected.", report.added, report.rejected.len());

    // Alice looks for her trust by a fragment of its name, as she types it.
    let search = OrganisationSearch::Name("east lond".into());
    let found = service.search_organisations(&search, &PageRequest::first(5))?;
    let trust = found
        .items
        .into_iter()
        .find(|o| o.ods_code.as_ref().is_some_and(|c| c.as_str() == "RWK"))
        .ok_or_else(|| Error::NotFound { entity: Entity::Organisation, id: "RWK".to_owned() })?;
    println!(
        "Searching “east lond” finds {} ({}, {}, {}).",
        trust.name,
        trust.kind,
        trust.ods_code.as_ref().map_or("", |c| c.as_str()),
        trust.postcode.as_deref().unwrap_or("no postcode")
    );
    let alice = service.register_user("alice.smith@nhs.net".parse()?, "Alice Smith".parse()?)?;
    let bob = service.register_user("bob.jones@nhs.net".parse()?, "Bob Jones".parse()?)?;
    for user in [&alice, &bob] {
        service.join_organisation(user.id, trust.id)?;
        println!("{} joined the trust and has a personal My Workspace.", user.name);
    }

    // Alice creates a team workspace: she is its admin, her My Workspace is archived.
    let created = service.create_workspace(
        alice.id,
        trust.id,
        NewWorkspace {
            name: "Maternity - Ward 2".parse()?,
            speciality: Speciality::from_code(501)?,
            description: "Midwives and obstetricians on Ward 2".parse()?,
        },
    )?;
    let ward = created.workspace;
    println!("\n{} created “{}” ({}); she is its admin.", alice.name, ward.name, ward.speciality);
    println!("Its signature on patient messages:\n  {}", service.signature(ward.id)?.replace('\n', "\n  "));
    let alices_first = service.start_conversation(alice.id, ward.id)?;

    // Bob asks to join. Unapproved, he may send messages but sees only his own.
    service.request_to_join(bob.id, ward.id)?;
    let bobs_first = service.start_conversation(bob.id, ward.id)?;
    println!(
        "\n{} asked to join. Unapproved, he started a conversation; he sees {} conversation(s), may see all: {}.",
        bob.name,
        service.conversations(bob.id, ward.id)?.len(),
        service.can(bob.id, ward.id, Action::ViewAllConversations)?,
    );
    for request in service.pending_requests(alice.id, &PageRequest::default())?.items {
        println!("  {}'s prompt: {} wants to join {}.", alice.name, request.requester.name, request.workspace_name);
    }
    service.approve(alice.id, ward.id, bob.id)?;
    let visible = service.conversations(bob.id, ward.id)?;
    assert!(visible.contains(&alices_first) && visible.contains(&bobs_first));
    println!("{} approved him: he now sees all {} conversations.", alice.name, visible.len());

    // An invite to an NHS.uk address, for someone who has not signed up yet.
    let invite = service.invite(bob.id, ward.id, "carol.white@elft.nhs.uk".parse()?)?;
    println!("\n{} invited {} (valid until {}).", bob.name, invite.email, invite.expires_at.date());
    let carol = service.register_user("Carol.White@ELFT.nhs.uk".parse()?, "Carol White".parse()?)?;
    for waiting in service.invites_for_me(carol.id)? {
        let joined = service.accept_invite(carol.id, waiting.id)?;
        println!("{} registered, found the invite and accepted: {:?}.", carol.name, joined.membership.state);
    }

    // Scheduled work. Carol is a locum: her access ends with her rotation. A scheduler
    // calls `sweep(now)` every few minutes (it is idempotent and safe from several
    // processes); here it is called for three instants to show what it does.
    let now = OffsetDateTime::now_utc();
    let rotation_ends = now + Duration::days(28);
    service.set_membership_end(alice.id, ward.id, carol.id, Some(rotation_ends))?;
    println!("\n{} set {}'s membership to end on {}, with her rotation.", alice.name, carol.name, rotation_ends.date());
    let moments =
        [("now", now), ("in three weeks", rotation_ends - Duration::days(7)), ("when it ends", rotation_ends)];
    for (when, at) in moments {
        let swept = service.sweep(at)?;
        println!(
            "  the sweep {when}: {} reminder(s), {} membership(s) ended, {} invite(s) expired",
            swept.end_reminders, swept.memberships_ended, swept.invites_expired
        );
    }
    Ok(Cast { trust, alice, bob, carol, ward })
}

/// A later run: the same people and places, looked up in the file.
fn find_cast(service: &Carespace, trust: Organisation) -> Result<Cast, Error> {
    let person = |email: &str| -> Result<User, Error> {
        service
            .user_by_email(&email.parse()?)?
            .ok_or_else(|| Error::NotFound { entity: Entity::User, id: email.to_owned() })
    };
    let (alice, bob, carol) =
        (person("alice.smith@nhs.net")?, person("bob.jones@nhs.net")?, person("carol.white@elft.nhs.uk")?);
    let filter = DiscoveryFilter { name: Some("Maternity - Ward 2".into()), ..Default::default() };
    let ward = service
        .discover(alice.id, trust.id, &filter, &PageRequest::default())?
        .items
        .into_iter()
        .find_map(|entry| match entry {
            DiscoveryEntry::Workspace { workspace, .. } => Some(workspace),
            DiscoveryEntry::Example { .. } => None,
        })
        .ok_or_else(|| Error::NotFound { entity: Entity::Workspace, id: "Maternity - Ward 2".to_owned() })?;
    Ok(Cast { trust, alice, bob, carol, ward })
}

/// What every run shows: the switcher, discovery and the events a host acts on.
fn show(service: &Carespace, cast: &Cast) -> Result<(), Error> {
    // "Choose the wider organisation": those Carol is currently a member of come first.
    let hers: Vec<String> = service.organisations_of(cast.carol.id)?.iter().map(|o| o.name.to_string()).collect();
    println!("\n{} is currently a member of: {}.", cast.carol.name, hers.join(", "));
    println!("{}'s workspaces:", cast.carol.name);
    for entry in service.my_workspaces(cast.carol.id)? {
        match entry {
            SwitcherEntry::Shared { organisation_name, workspace, state } => {
                println!("  {organisation_name} / {}: {:?} ({:?})", workspace.name, state.role(), state.status());
            }
            SwitcherEntry::Personal { organisation_name, workspace } => {
                let status = if workspace.is_active() { "active" } else { "archived" };
                println!("  {organisation_name} / My Workspace: {status}");
            }
        }
    }

    // Discovery: the trust's workspaces with member counts and admins, beside example
    // workspaces from the speciality catalogue (joining one creates it), in pages by
    // name: a host shows one page and keeps the cursor for the next.
    let all = DiscoveryFilter::default();
    let first = service.discover(cast.bob.id, cast.trust.id, &all, &PageRequest::first(20))?;
    let everything = every_page(|page| service.discover(cast.bob.id, cast.trust.id, &all, page))?;
    println!(
        "\nDiscovery lists {} entries, 20 to a page: the first from {:?} to {:?}, then a cursor for the next.",
        everything.len(),
        first.items.first().map(DiscoveryEntry::name).unwrap_or_default(),
        first.items.last().map(DiscoveryEntry::name).unwrap_or_default(),
    );
    let obstetrics = DiscoveryFilter { speciality: Some(cast.ward.speciality), ..Default::default() };
    println!("Those for {}:", cast.ward.speciality);
    for entry in service.discover(cast.bob.id, cast.trust.id, &obstetrics, &PageRequest::default())?.items {
        match entry {
            DiscoveryEntry::Workspace { workspace, member_count, admins } => {
                let admins: Vec<&str> = admins.iter().map(|a| a.name.as_str()).collect();
                println!("  {}: {member_count} members, admins {}", workspace.name, admins.join(", "));
            }
            DiscoveryEntry::Example { speciality } => println!("  {}: example, 0 members", speciality.example_name()),
        }
    }

    // Audits: who could see the ward's patient conversations, answered from the event
    // log, so the answer for a past instant never changes.
    let history = every_page(|page| service.membership_history(cast.ward.id, page))?;
    let carol_arrived = history.iter().find(|e| matches!(e.kind, EventKind::InviteAccepted { .. })).map(|e| e.at);
    let after_all = history.last().map(|e| e.at);
    println!("\nWho could see the conversations of {}:", cast.ward.name);
    for (label, at) in [("while Carol was on the ward", carol_arrived), ("after her rotation", after_all)] {
        let Some(at) = at else { continue };
        let viewers = service.viewers_at(cast.ward.id, at)?;
        let names: Vec<&str> = viewers.iter().map(|v| v.person.name.as_str()).collect();
        println!("  {label} ({}): {}", at.date(), names.join(", "));
    }
    println!("Its membership history:");
    let people = [&cast.alice, &cast.bob, &cast.carol];
    let name = |id: UserId| -> String {
        people.iter().find(|u| u.id == id).map_or_else(|| id.to_string(), |u| u.name.to_string())
    };
    for event in &history {
        let by = event.actor.map_or_else(|| "the sweep".to_owned(), &name);
        println!("  #{:<2} {} {:<24} by {by}", event.seq, event.at.date(), event.kind.type_name());
    }

    // What a host application turns into emails and prompts.
    println!("\nEvents a host would act on:");
    for event in service.events_since(0, carespace::MAX_EVENT_PAGE)? {
        if let Some(line) = notification(&event, &name) {
            println!("  #{:<2} {line}", event.seq);
        }
    }
    Ok(())
}

/// The email or prompt an event asks a host to send, if any.
fn notification(event: &Event, name: &dyn Fn(UserId) -> String) -> Option<String> {
    Some(match &event.kind {
        EventKind::JoinRequested { user, approvers, .. } => {
            let to: Vec<String> = approvers.iter().map(|a| name(*a)).collect();
            format!("email {}: {} asks to join", to.join(", "), name(*user))
        }
        EventKind::JoinApproved { user, .. } => format!("email {}: your request was approved", name(*user)),
        EventKind::Invited { email, .. } => format!("email {email}: you are invited"),
        EventKind::InviteAccepted { user, .. } => format!("audit: {} accepted an invite", name(*user)),
        EventKind::MyWorkspaceArchived { user, .. } => format!("audit: {}'s My Workspace archived", name(*user)),
        EventKind::MembershipEndingSoon { user, ends_at, admins, .. } => {
            let admins: Vec<String> = admins.iter().map(|a| name(*a)).collect();
            format!("email {} (cc {}): membership ends on {}", name(*user), admins.join(", "), ends_at.date())
        }
        EventKind::MemberArchived { user, reason: ArchiveReason::MembershipEnded, .. } => {
            format!("email {}: your membership ended", name(*user))
        }
        EventKind::JoinRequestEscalated { user, escalated_to, .. } => {
            let to: Vec<String> = escalated_to.iter().map(|a| name(*a)).collect();
            format!("email {}: {}'s request is still waiting", to.join(", "), name(*user))
        }
        _ => return None,
    })
}
