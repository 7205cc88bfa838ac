//! The plain records the bindings return, each built from a core value.

use std::time::SystemTime;

use uuid::Uuid;

use crate::event::Event;
use crate::{InviteStatus, JoinOutcome, MemberStatus, OrganisationKind, Role, Sight, WorkspaceStatus, int};

/// An NHS organisation.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Organisation {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: OrganisationKind,
    /// Its ODS code, if any.
    pub ods_code: Option<String>,
    /// When it was registered.
    pub registered_at: SystemTime,
    /// Its name as the ODS file spells it (upper case), for imported organisations.
    pub source_name: Option<String>,
    /// Its postcode, from the ODS file.
    pub postcode: Option<String>,
    /// The day it closed (`YYYY-MM-DD`), or none while it is open.
    pub closed_on: Option<String>,
}

impl From<carespace::Organisation> for Organisation {
    fn from(o: carespace::Organisation) -> Self {
        Self {
            id: o.id.as_uuid(),
            name: o.name.into(),
            kind: o.kind.into(),
            ods_code: o.ods_code.map(Into::into),
            registered_at: o.registered_at.into(),
            source_name: o.source_name,
            postcode: o.postcode,
            closed_on: o.closed_on.map(|day| day.to_string()),
        }
    }
}

/// A page record (R43) for each list: `items`, in the list's order, and `next_cursor`,
/// to pass back for the next page (none on the last).
macro_rules! page_record {
    ($($(#[$doc:meta])* $name:ident of $item:ident from $core:ty;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
        pub struct $name {
            /// The page's items, in the list's order.
            pub items: Vec<$item>,
            /// The cursor of the next page, or none on the last page.
            pub next_cursor: Option<String>,
        }

        impl From<carespace::page::Page<$core>> for $name {
            fn from(page: carespace::page::Page<$core>) -> Self {
                Self {
                    items: page.items.into_iter().map(Into::into).collect(),
                    next_cursor: page.next.map(|c| c.as_str().to_owned()),
                }
            }
        }
    )*};
}

page_record! {
    /// One page of a directory search: organisations, open first, then by relevance and name.
    OrganisationPage of Organisation from carespace::Organisation;
    /// One page of discovery: workspaces and examples by name.
    DiscoveryPage of DiscoveryEntry from carespace::DiscoveryEntry;
    /// One page of a workspace's members: by role (admins, members, unapproved, archived), then name.
    MemberPage of Member from carespace::Member;
    /// One page of the join requests waiting for an approver.
    PendingRequestPage of PendingRequest from carespace::PendingRequest;
    /// One page of a workspace's pending invites.
    InvitePage of Invite from carespace::Invite;
    /// One page of a workspace's membership history, oldest first.
    EventPage of Event from carespace::Event;
}

/// A row of an ODS file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RejectedRow {
    /// Its line (from 1).
    pub line: i64,
    /// Its ODS code as written, if it had one.
    pub code: Option<String>,
    /// Why it was rejected, as a sentence.
    pub reason: String,
}

/// What an import of an ODS file did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ImportReport {
    /// Organisations new to the directory.
    pub added: i64,
    /// Organisations whose name changed.
    pub renamed: i64,
    /// Organisations that closed.
    pub closed: i64,
    /// Organisations that reopened.
    pub reopened: i64,
    /// Organisations whose kind, postcode, source spelling or close date changed.
    pub updated: i64,
    /// Rows that changed nothing.
    pub unchanged: i64,
    /// The rows that could not be read.
    pub rejected: Vec<RejectedRow>,
}

impl From<carespace::directory::ImportReport> for ImportReport {
    fn from(r: carespace::directory::ImportReport) -> Self {
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        Self {
            added: count(r.added),
            renamed: count(r.renamed),
            closed: count(r.closed),
            reopened: count(r.reopened),
            updated: count(r.updated),
            unchanged: count(r.unchanged),
            rejected: r
                .rejected
                .into_iter()
                .map(|row| RejectedRow {
                    line: i64::try_from(row.line).unwrap_or(i64::MAX),
                    reason: row.reason.to_string(),
                    code: row.code,
                })
                .collect(),
        }
    }
}

/// A person, identified by their NHS email.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct User {
    /// Their id.
    pub id: Uuid,
    /// Their NHS email (lower-case).
    pub email: String,
    /// Their name.
    pub name: String,
    /// When they registered.
    pub registered_at: SystemTime,
}

impl From<carespace::User> for User {
    fn from(u: carespace::User) -> Self {
        Self { id: u.id.as_uuid(), email: u.email.into(), name: u.name.into(), registered_at: u.registered_at.into() }
    }
}

/// A shared team workspace.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Workspace {
    /// Its id.
    pub id: Uuid,
    /// Its organisation.
    pub organisation: Uuid,
    /// Its name.
    pub name: String,
    /// Its speciality's 3-digit code.
    pub speciality: i32,
    /// Its speciality's name.
    pub speciality_name: String,
    /// Its description.
    pub description: String,
    /// Active or archived.
    pub status: WorkspaceStatus,
    /// Who created it.
    pub created_by: Uuid,
    /// When.
    pub created_at: SystemTime,
}

impl From<carespace::Workspace> for Workspace {
    fn from(w: carespace::Workspace) -> Self {
        Self {
            id: w.id.as_uuid(),
            organisation: w.organisation.as_uuid(),
            name: w.name.into(),
            speciality: w.speciality.code().into(),
            speciality_name: w.speciality.name().to_owned(),
            description: w.description.into(),
            status: w.status.into(),
            created_by: w.created_by.as_uuid(),
            created_at: w.created_at.into(),
        }
    }
}

/// A user's personal "My Workspace" in one organisation.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PersonalWorkspace {
    /// Its id.
    pub id: Uuid,
    /// Its organisation.
    pub organisation: Uuid,
    /// Its owner.
    pub owner: Uuid,
    /// Whether it was archived (the owner moved to shared workspaces).
    pub archived: bool,
    /// When it was made.
    pub created_at: SystemTime,
    /// When it was archived.
    pub archived_at: Option<SystemTime>,
}

impl From<carespace::PersonalWorkspace> for PersonalWorkspace {
    fn from(p: carespace::PersonalWorkspace) -> Self {
        Self {
            id: p.id.as_uuid(),
            organisation: p.organisation.as_uuid(),
            owner: p.owner.as_uuid(),
            archived: !p.is_active(),
            created_at: p.created_at.into(),
            archived_at: p.archived_at.map(Into::into),
        }
    }
}

/// One user's membership of one workspace.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Membership {
    /// The workspace.
    pub workspace: Uuid,
    /// The member.
    pub user: Uuid,
    /// Their role.
    pub role: Role,
    /// Their status.
    pub status: MemberStatus,
    /// When they joined.
    pub joined_at: SystemTime,
    /// When their state last changed.
    pub updated_at: SystemTime,
    /// When a time-boxed membership ends, if it does.
    pub ends_at: Option<SystemTime>,
    /// When the sweep escalated this join request, if it did.
    pub escalated_at: Option<SystemTime>,
}

impl From<carespace::Membership> for Membership {
    fn from(m: carespace::Membership) -> Self {
        Self {
            workspace: m.workspace.as_uuid(),
            user: m.user.as_uuid(),
            role: m.state.role().into(),
            status: m.state.status().into(),
            joined_at: m.joined_at.into(),
            updated_at: m.updated_at.into(),
            ends_at: m.ends_at.map(Into::into),
            escalated_at: m.escalated_at.map(Into::into),
        }
    }
}

/// An emailed offer to join a workspace.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Invite {
    /// Its id.
    pub id: Uuid,
    /// The workspace.
    pub workspace: Uuid,
    /// The invitee's address.
    pub email: String,
    /// Who sent it, or last renewed it (R18).
    pub invited_by: Uuid,
    /// When.
    pub created_at: SystemTime,
    /// Until when it may be accepted.
    pub expires_at: SystemTime,
    /// Where it stands.
    pub status: InviteStatus,
}

impl From<carespace::Invite> for Invite {
    fn from(i: carespace::Invite) -> Self {
        Self {
            id: i.id.as_uuid(),
            workspace: i.workspace.as_uuid(),
            email: i.email.into(),
            invited_by: i.invited_by.as_uuid(),
            created_at: i.created_at.into(),
            expires_at: i.expires_at.into(),
            status: i.status.into(),
        }
    }
}

/// The header of a patient-communication thread.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Conversation {
    /// Its id.
    pub id: Uuid,
    /// Its workspace.
    pub workspace: Uuid,
    /// Who started it.
    pub started_by: Uuid,
    /// When.
    pub started_at: SystemTime,
}

impl From<carespace::Conversation> for Conversation {
    fn from(c: carespace::Conversation) -> Self {
        Self {
            id: c.id.as_uuid(),
            workspace: c.workspace.as_uuid(),
            started_by: c.started_by.as_uuid(),
            started_at: c.started_at.into(),
        }
    }
}

/// A person as listed to colleagues.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Person {
    /// Their id.
    pub id: Uuid,
    /// Their name.
    pub name: String,
}

impl From<carespace::Person> for Person {
    fn from(p: carespace::Person) -> Self {
        Self { id: p.id.as_uuid(), name: p.name.into() }
    }
}

/// One line of discovery: an active workspace, or an example to create by joining.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DiscoveryEntry {
    /// The name shown.
    pub name: String,
    /// The speciality's code.
    pub speciality: i32,
    /// Current members (0 for an example).
    pub member_count: i32,
    /// Whether this is an example.
    pub is_example: bool,
    /// The workspace, unless an example.
    pub workspace: Option<Workspace>,
    /// Its admins, who will approve a request.
    pub admins: Vec<Person>,
}

impl From<carespace::DiscoveryEntry> for DiscoveryEntry {
    fn from(e: carespace::DiscoveryEntry) -> Self {
        let (name, speciality, member_count) =
            (e.name().to_owned(), i32::from(e.speciality().code()), int(e.member_count()));
        match e {
            carespace::DiscoveryEntry::Workspace { workspace, admins, .. } => Self {
                name,
                speciality,
                member_count,
                is_example: false,
                workspace: Some(workspace.into()),
                admins: admins.into_iter().map(Into::into).collect(),
            },
            carespace::DiscoveryEntry::Example { .. } => {
                Self { name, speciality, member_count, is_example: true, workspace: None, admins: Vec::new() }
            }
        }
    }
}

/// One entry of the workspace switcher.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SwitcherEntry {
    /// The organisation.
    pub organisation: Uuid,
    /// Its name.
    pub organisation_name: String,
    /// The workspace.
    pub workspace_id: Uuid,
    /// The name shown.
    pub name: String,
    /// Whether this is the user's My Workspace.
    pub is_personal: bool,
    /// The user's role (shared workspaces).
    pub role: Option<Role>,
    /// The user's status (shared workspaces).
    pub status: Option<MemberStatus>,
    /// Whether the workspace is archived.
    pub archived: bool,
}

impl From<carespace::SwitcherEntry> for SwitcherEntry {
    fn from(e: carespace::SwitcherEntry) -> Self {
        let (organisation, workspace_id, name) =
            (e.organisation().as_uuid(), e.workspace_id().as_uuid(), e.name().to_owned());
        match e {
            carespace::SwitcherEntry::Shared { organisation_name, workspace, state } => Self {
                organisation,
                organisation_name: organisation_name.into(),
                workspace_id,
                name,
                is_personal: false,
                role: Some(state.role().into()),
                status: Some(state.status().into()),
                archived: !workspace.is_active(),
            },
            carespace::SwitcherEntry::Personal { organisation_name, workspace } => Self {
                organisation,
                organisation_name: organisation_name.into(),
                workspace_id,
                name,
                is_personal: true,
                role: None,
                status: None,
                archived: !workspace.is_active(),
            },
        }
    }
}

/// A member as listed to approved members.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Member {
    /// The person.
    pub user: User,
    /// Their role.
    pub role: Role,
    /// Their status.
    pub status: MemberStatus,
    /// When they joined.
    pub joined_at: SystemTime,
    /// When their time-boxed membership ends, if it does.
    pub ends_at: Option<SystemTime>,
}

impl From<carespace::Member> for Member {
    fn from(m: carespace::Member) -> Self {
        Self {
            user: m.user.into(),
            role: m.state.role().into(),
            status: m.state.status().into(),
            joined_at: m.joined_at.into(),
            ends_at: m.ends_at.map(Into::into),
        }
    }
}

/// Someone who could see a workspace's conversations at an instant.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Viewer {
    /// The person.
    pub person: Person,
    /// As what.
    pub sight: Sight,
    /// Since when, without a break.
    pub since: SystemTime,
}

impl From<carespace::Viewer> for Viewer {
    fn from(v: carespace::Viewer) -> Self {
        Self { person: v.person.into(), sight: v.sight.into(), since: v.since.into() }
    }
}

/// A workspace someone could see at an instant.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VisibleWorkspace {
    /// The workspace (shared, or a My Workspace).
    pub workspace: Uuid,
    /// Its organisation.
    pub organisation: Uuid,
    /// Its name as it was at the instant asked about ("My Workspace" for a My Workspace).
    pub name: String,
    /// As what.
    pub sight: Sight,
    /// Since when, without a break.
    pub since: SystemTime,
}

impl From<carespace::VisibleWorkspace> for VisibleWorkspace {
    fn from(v: carespace::VisibleWorkspace) -> Self {
        Self {
            workspace: v.workspace.as_uuid(),
            organisation: v.organisation.as_uuid(),
            name: v.name,
            sight: v.sight.into(),
            since: v.since.into(),
        }
    }
}

/// What one sweep did; each count is also a number of events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct Swept {
    /// Invites marked expired.
    pub invites_expired: i32,
    /// Join requests escalated.
    pub requests_escalated: i32,
    /// Reminders that a membership ends soon.
    pub end_reminders: i32,
    /// Members archived because their membership ended.
    pub memberships_ended: i32,
    /// Last admins kept past their end date.
    pub last_admins_kept: i32,
}

impl From<carespace::Swept> for Swept {
    fn from(s: carespace::Swept) -> Self {
        Self {
            invites_expired: int(s.invites_expired),
            requests_escalated: int(s.requests_escalated),
            end_reminders: int(s.end_reminders),
            memberships_ended: int(s.memberships_ended),
            last_admins_kept: int(s.last_admins_kept),
        }
    }
}

/// A join request waiting for an approver.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PendingRequest {
    /// The workspace.
    pub workspace: Uuid,
    /// Its name.
    pub workspace_name: String,
    /// The requester.
    pub requester: Person,
    /// When they asked.
    pub requested_at: SystemTime,
}

impl From<carespace::PendingRequest> for PendingRequest {
    fn from(p: carespace::PendingRequest) -> Self {
        Self {
            workspace: p.workspace.as_uuid(),
            workspace_name: p.workspace_name.into(),
            requester: p.requester.into(),
            requested_at: p.requested_at.into(),
        }
    }
}

/// How joining ended.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Joined {
    /// What happened.
    pub outcome: JoinOutcome,
    /// The workspace.
    pub workspace: Workspace,
    /// The joiner's membership.
    pub membership: Membership,
}

impl From<carespace::Joined> for Joined {
    fn from(j: carespace::Joined) -> Self {
        Self { outcome: j.outcome.into(), workspace: j.workspace.into(), membership: j.membership.into() }
    }
}

/// A created or changed workspace, with warnings about a broad name.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct WorkspaceOutcome {
    /// The workspace.
    pub workspace: Workspace,
    /// Warnings a UI can show.
    pub warnings: Vec<String>,
}

impl From<carespace::WorkspaceOutcome> for WorkspaceOutcome {
    fn from(o: carespace::WorkspaceOutcome) -> Self {
        Self { workspace: o.workspace.into(), warnings: o.warnings.iter().map(ToString::to_string).collect() }
    }
}
