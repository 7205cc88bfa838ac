//! Quickstart: the life of one ward's workspace, told through the Carespace API.
//!
//! Run it with `cargo run --example quickstart`.

use carespace::{
    Action, Carespace, DiscoveryEntry, DiscoveryFilter, Error, Event, EventKind, MemoryStore, NewWorkspace,
    OrganisationKind, Speciality, SwitcherEntry, UserId,
};

fn main() -> Result<(), Error> {
    let service = Carespace::new(MemoryStore::new());
    println!("Carespace quickstart (in-memory store)\n");

    // An NHS trust, and three of its staff.
    let trust = service.register_organisation(
        "East London NHS Foundation Trust".parse()?,
        OrganisationKind::NhsTrust,
        Some("RWK".parse()?),
    )?;
    println!("Registered {} ({}).", trust.name, trust.kind);
    let alice = service.register_user("alice.smith@nhs.net".parse()?, "Alice Smith".parse()?)?;
    let bob = service.register_user("bob.jones@nhs.net".parse()?, "Bob Jones".parse()?)?;
    for user in [&alice, &bob] {
        let mine = service.join_organisation(user.id, trust.id)?;
        println!("{} joined the trust and has a personal My Workspace ({}).", user.name, mine.id);
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
    for request in service.pending_requests(alice.id)? {
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

    // The switcher.
    println!("\n{}'s workspaces:", carol.name);
    for entry in service.my_workspaces(carol.id)? {
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
    // workspaces from the speciality catalogue (joining one creates it).
    let everything = service.discover(bob.id, trust.id, &DiscoveryFilter::default())?;
    let obstetrics = DiscoveryFilter { speciality: Some(Speciality::from_code(501)?), ..Default::default() };
    println!("\nDiscovery lists {} entries; those for Obstetrics:", everything.len());
    for entry in service.discover(bob.id, trust.id, &obstetrics)? {
        match entry {
            DiscoveryEntry::Workspace { workspace, member_count, admins } => {
                let admins: Vec<&str> = admins.iter().map(|a| a.name.as_str()).collect();
                println!("  {}: {member_count} members, admins {}", workspace.name, admins.join(", "));
            }
            DiscoveryEntry::Example { speciality } => println!("  {}: example, 0 members", speciality.name()),
        }
    }

    // What a host application turns into emails and prompts.
    println!("\nEvents a host would act on:");
    let names = |id: UserId| -> String {
        [&alice, &bob, &carol].iter().find(|u| u.id == id).map_or_else(|| id.to_string(), |u| u.name.to_string())
    };
    for event in service.events_since(0, 100)? {
        if let Some(line) = notification(&event, &names) {
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
        _ => return None,
    })
}
