//! The permission matrix (R34): every [`Action`] × every [`Standing`] in a workspace,
//! written out as a table, checked both through `can()` and through the command itself
//! where the action is a command. Each cell gets a fresh store. The actions done in an
//! organisation are refused in every workspace cell; the organisation's rows are checked
//! by `r34_every_refusal_for_lack_of_rights_is_one_kind`.

use super::WholeLists;
use std::sync::Arc;

use super::Harness;
use crate::permission::{Action, Standing};
use crate::{Approvers, Carespace, Conversation, Error, Invite, Policy, SettingsChange, Store, User, WorkspaceId};

/// Columns: outsider, organisation member, unapproved, member, admin, archived, owner of
/// the My Workspace (on that My Workspace). `Y` allowed, `-` denied.
const TABLE: &[(Action, &str)] = &[
    (Action::StartConversation, "- - Y Y Y - Y"),
    (Action::ViewOwnConversations, "- - Y Y Y - Y"),
    (Action::ViewAllConversations, "- - - Y Y - Y"),
    (Action::CreatePersonalTemplate, "- - Y Y Y - Y"),
    (Action::CreatePersonalPatientList, "- - Y Y Y - Y"),
    (Action::ViewMembers, "- - - Y Y - -"),
    (Action::ViewSharedTemplates, "- - - Y Y - -"),
    (Action::ViewSharedPatientLists, "- - - Y Y - -"),
    (Action::RequestToJoin, "- Y Y Y Y - -"),
    (Action::Leave, "- - Y Y Y - -"),
    (Action::Invite, "- - - Y Y - -"),
    (Action::RevokeOwnInvite, "- - - Y Y - -"),
    (Action::RevokeAnyInvite, "- - - - Y - -"),
    (Action::Approve, "- - - - Y - -"),
    (Action::Decline, "- - - - Y - -"),
    (Action::ArchiveMember, "- - - - Y - -"),
    (Action::UnarchiveMember, "- - - - Y - -"),
    (Action::Promote, "- - - - Y - -"),
    (Action::Demote, "- - - - Y - -"),
    (Action::ChangeSettings, "- - - - Y - -"),
    (Action::SetMembershipEnd, "- - - - Y - -"),
    // The command also needs the invite to be addressed to the actor (R19).
    (Action::AcceptInvite, "Y Y Y Y Y - -"),
    (Action::CreateWorkspace, "- - - - - - -"),
    (Action::DiscoverWorkspaces, "- - - - - - -"),
];

/// Under `Approvers::ApprovedMembers`, approved members approve and decline too (R16).
const APPROVED_MEMBERS_APPROVE: &[(Action, &str)] =
    &[(Action::Approve, "- - - Y Y - -"), (Action::Decline, "- - - Y Y - -")];

const COLUMNS: [Standing; 7] = [
    Standing::Outsider,
    Standing::OrganisationMember,
    Standing::Unapproved,
    Standing::Member,
    Standing::Admin,
    Standing::Archived,
    Standing::Owner,
];

/// One organisation with someone at every standing, and the targets commands need.
struct Cell {
    workspace: WorkspaceId,
    personal: WorkspaceId,
    actors: [User; 7],
    admin2: User,
    requester: User,
    target: User,
    archived_target: User,
    admin2_invite: Invite,
    own_invites: Vec<(usize, Invite)>,
    others_conversation: Conversation,
    owners_conversation: Conversation,
}

fn cell(h: &Harness, n: usize) -> Cell {
    let org = h.trust(&format!("Trust {n}"));
    let person = |name: &str| h.member_of(&org, &format!("{name} {n}"), &format!("{}{n}@nhs.net", name.to_lowercase()));
    let admin = person("Admin");
    let admin2 = person("Admintwo");
    let member = person("Member");
    let unapproved = person("Unapproved");
    let archived = person("Archived");
    let colleague = person("Colleague");
    let requester = person("Requester");
    let target = person("Target");
    let archived_target = person("Archivedtarget");
    let outsider = h.user(&format!("Outsider {n}"), &format!("outsider{n}@nhs.net"));
    let ws = h.workspace(&admin, &org, "Ward");
    for p in [&admin2, &member, &archived, &target, &archived_target] {
        h.approved(&ws, &admin, p);
    }
    h.ok(|s| s.promote(admin.id, ws.id, admin2.id));
    let archived_invite = h.ok(|s| s.invite(archived.id, ws.id, format!("fromarchived{n}@nhs.net").parse()?));
    h.ok(|s| s.archive_member(admin.id, ws.id, archived.id));
    h.ok(|s| s.archive_member(admin.id, ws.id, archived_target.id));
    h.ok(|s| s.request_to_join(unapproved.id, ws.id));
    h.ok(|s| s.request_to_join(requester.id, ws.id));
    let admin2_invite = h.ok(|s| s.invite(admin2.id, ws.id, format!("fromadmin2{n}@nhs.net").parse()?));
    let member_invite = h.ok(|s| s.invite(member.id, ws.id, format!("frommember{n}@nhs.net").parse()?));
    let admin_invite = h.ok(|s| s.invite(admin.id, ws.id, format!("fromadmin{n}@nhs.net").parse()?));
    let others_conversation = h.ok(|s| s.start_conversation(admin2.id, ws.id));
    let personal = h.ok(|s| s.join_organisation(colleague.id, org.id)).id;
    let owners_conversation = h.ok(|s| s.start_conversation(colleague.id, personal));
    Cell {
        workspace: ws.id,
        personal,
        actors: [outsider, colleague.clone(), unapproved, member, admin, archived, colleague],
        admin2,
        requester,
        target,
        archived_target,
        admin2_invite,
        // Column index → an invite that actor sent (members and admins; the archived
        // member's was revoked when they were archived).
        own_invites: vec![(3, member_invite), (4, admin_invite), (5, archived_invite)],
        others_conversation,
        owners_conversation,
    }
}

/// Runs the command for `action`; `Some(true)` allowed, `Some(false)` forbidden, `None`
/// where the action is not a command of the library (or no such target can exist).
fn command(service: &Carespace, c: &Cell, column: usize, action: Action) -> Option<bool> {
    let actor = c.actors[column].id;
    let ws = if COLUMNS[column] == Standing::Owner { c.personal } else { c.workspace };
    let result: Result<(), Error> = match action {
        Action::StartConversation => service.start_conversation(actor, ws).map(drop),
        Action::ViewOwnConversations => service.conversations(actor, ws).map(drop),
        Action::ViewAllConversations => {
            let wanted = if ws == c.personal { &c.owners_conversation } else { &c.others_conversation };
            return match service.conversations(actor, ws) {
                Ok(list) => Some(list.contains(wanted)),
                Err(e) if e.is_forbidden() => Some(false),
                Err(e) => panic!("{action:?} by column {column}: {e}"),
            };
        }
        Action::CreatePersonalTemplate
        | Action::CreatePersonalPatientList
        | Action::ViewSharedTemplates
        | Action::ViewSharedPatientLists
        | Action::AcceptInvite
        | Action::CreateWorkspace
        | Action::DiscoverWorkspaces => return None,
        Action::ViewMembers => service.members_all(actor, ws).map(drop),
        Action::RequestToJoin => service.request_to_join(actor, ws).map(drop),
        Action::Leave => service.leave(actor, ws).map(drop),
        Action::Invite => service.invite(actor, ws, "invitee@nhs.net".parse().ok()?).map(drop),
        Action::RevokeOwnInvite => {
            let (_, invite) = c.own_invites.iter().find(|(col, _)| *col == column)?;
            service.revoke_invite(actor, invite.id).map(drop)
        }
        Action::RevokeAnyInvite if ws == c.personal => return None,
        Action::RevokeAnyInvite => service.revoke_invite(actor, c.admin2_invite.id).map(drop),
        Action::Approve => service.approve(actor, ws, c.requester.id).map(drop),
        Action::Decline => service.decline(actor, ws, c.requester.id).map(drop),
        Action::ArchiveMember => service.archive_member(actor, ws, c.target.id).map(drop),
        Action::UnarchiveMember => service.unarchive_member(actor, ws, c.archived_target.id).map(drop),
        Action::Promote => service.promote(actor, ws, c.target.id).map(drop),
        Action::Demote => service.demote(actor, ws, c.admin2.id).map(drop),
        Action::ChangeSettings => service
            .update_settings(actor, ws, SettingsChange { description: "Changed".parse().ok(), ..Default::default() })
            .map(drop),
        // R39: an end date four weeks on for an approved member.
        Action::SetMembershipEnd => {
            service.set_membership_end(actor, ws, c.target.id, Some(super::START + time::Duration::weeks(4))).map(drop)
        }
    };
    match result {
        Ok(()) => Some(true),
        Err(e) if e.is_forbidden() => Some(false),
        Err(e) => panic!("{action:?} by {:?}: not a permission error: {e}", COLUMNS[column]),
    }
}

fn check_table(fresh: &dyn Fn() -> Arc<dyn Store>, policy: &Policy, table: &[(Action, &str)]) {
    for (n, (action, row)) in table.iter().enumerate() {
        let expected: Vec<bool> = row.split_whitespace().map(|c| c == "Y").collect();
        assert_eq!(expected.len(), COLUMNS.len(), "row {action:?}");
        // A row's cells are independent worlds: check them side by side (a networked
        // backend spends most of a cell waiting for round trips).
        let stores: Vec<Arc<dyn Store>> = COLUMNS.iter().map(|_| fresh()).collect();
        std::thread::scope(|scope| {
            for ((column, standing), store) in COLUMNS.iter().enumerate().zip(stores) {
                let expected = expected[column];
                scope.spawn(move || check_cell(store, policy, n, column, *standing, *action, expected));
            }
        });
    }
}

fn check_cell(
    store: Arc<dyn Store>,
    policy: &Policy,
    n: usize,
    column: usize,
    standing: Standing,
    action: Action,
    expected: bool,
) {
    let h = Harness::with_policy(store, policy.clone());
    let c = cell(&h, n);
    let ws = if standing == Standing::Owner { c.personal } else { c.workspace };
    let actor = c.actors[column].id;
    assert_eq!(h.service.standing(actor, ws).unwrap(), standing, "fixture for {standing:?}");
    let can = h.service.can(actor, ws, action).unwrap();
    assert_eq!(can, expected, "can({standing:?}, {action:?})");
    if let Some(done) = command(&h.service, &c, column, action) {
        assert_eq!(done, expected, "command {action:?} by {standing:?}");
    }
    h.check();
}

/// Runs the whole matrix, each cell on a store from `fresh`.
pub(super) fn run(fresh: &dyn Fn() -> Arc<dyn Store>) {
    let covered: Vec<Action> = TABLE.iter().map(|(a, _)| *a).collect();
    assert_eq!(covered, Action::ALL.to_vec(), "the table covers every action, in order");
    check_table(fresh, &Policy::default(), TABLE);
    let everyone = Policy::default().with_approvers(Approvers::ApprovedMembers);
    check_table(fresh, &everyone, APPROVED_MEMBERS_APPROVE);
}
