//! The event log's entries as Kotlin and Swift values: [`Event`] and its [`EventKind`],
//! a sealed class (Kotlin) or an enum with associated values (Swift) with one case per
//! core kind and typed fields, so a host matches on it instead of parsing JSON.

use std::time::SystemTime;

use uuid::Uuid;

use crate::{Role, signed};

/// One entry of the event log.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Event {
    /// Its position: 1, 2, 3, … without gaps.
    pub seq: i64,
    /// When.
    pub at: SystemTime,
    /// Who (none for the host application and the sweep).
    pub actor: Option<Uuid>,
    /// What happened, with its fields.
    pub kind: EventKind,
    /// Its type as in the JSON form and in Python, e.g. `join_requested`: for logs and
    /// metrics.
    pub event_type: String,
    /// The whole event as JSON, for hosts that forward it elsewhere.
    pub json: String,
}

impl From<carespace::Event> for Event {
    fn from(e: carespace::Event) -> Self {
        // Serialising plain data cannot fail; an empty object stands in if it ever did.
        let json = serde_json::to_string(&e).unwrap_or_else(|_| "{}".to_owned());
        Self {
            seq: signed(e.seq),
            at: e.at.into(),
            actor: e.actor.map(|a| a.as_uuid()),
            event_type: e.kind.type_name().to_owned(),
            kind: e.kind.into(),
            json,
        }
    }
}

/// Why a member was archived (R22, R39).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ArchiveReason {
    /// An admin archived them.
    ByAdmin,
    /// Their time-boxed membership reached its end date.
    MembershipEnded,
}

/// What an event records; each case names the people a host should notify. The same
/// kinds, fields and rules (R-numbers) as core's `EventKind`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum EventKind {
    /// An organisation was registered.
    OrganisationRegistered {
        /// The organisation.
        organisation: Uuid,
    },
    /// An organisation's name changed in an ODS import (R40).
    OrganisationRenamed {
        /// The organisation.
        organisation: Uuid,
        /// Its new name.
        name: String,
        /// Its name before.
        previous: String,
    },
    /// An ODS import showed an organisation closed (R40).
    OrganisationClosed {
        /// The organisation.
        organisation: Uuid,
        /// The day it closed, `YYYY-MM-DD`.
        closed_on: String,
    },
    /// An ODS import showed a closed organisation open again (R40).
    OrganisationReopened {
        /// The organisation.
        organisation: Uuid,
    },
    /// An ODS import changed an organisation's kind, postcode, source spelling or close
    /// date (R40).
    OrganisationUpdated {
        /// The organisation.
        organisation: Uuid,
    },
    /// A user registered.
    UserRegistered {
        /// The user.
        user: Uuid,
        /// Their email.
        email: String,
    },
    /// A user joined an organisation and got a My Workspace there (R4, R26).
    OrganisationJoined {
        /// The organisation.
        organisation: Uuid,
        /// The user.
        user: Uuid,
        /// Their new My Workspace.
        my_workspace: Uuid,
    },
    /// A shared workspace was created (R8, R9); its creator is the event's actor.
    WorkspaceCreated {
        /// The workspace.
        workspace: Uuid,
        /// Its organisation.
        organisation: Uuid,
        /// Its name.
        name: String,
        /// Its speciality's code.
        speciality: i32,
        /// Whether it was made by joining an example (R9).
        from_example: bool,
    },
    /// Someone asked to join; `approvers` are to be emailed (R14).
    JoinRequested {
        /// The workspace.
        workspace: Uuid,
        /// The requester.
        user: Uuid,
        /// Who may approve, at the time of the request.
        approvers: Vec<Uuid>,
    },
    /// A request was approved; the new member is to be emailed (R16).
    JoinApproved {
        /// The workspace.
        workspace: Uuid,
        /// The new approved member.
        user: Uuid,
    },
    /// A request was declined; the requester is to be told (R17).
    JoinDeclined {
        /// The workspace.
        workspace: Uuid,
        /// The requester.
        user: Uuid,
    },
    /// An invite was sent, or refreshed (R18); the invitee is to be emailed.
    Invited {
        /// The invite.
        invite: Uuid,
        /// The workspace.
        workspace: Uuid,
        /// The invitee's address.
        email: String,
        /// Until when it may be accepted.
        expires_at: SystemTime,
        /// Whether this refreshed an invite that was already pending.
        refreshed: bool,
    },
    /// An invite was accepted (R19).
    InviteAccepted {
        /// The invite.
        invite: Uuid,
        /// The workspace.
        workspace: Uuid,
        /// The new approved member.
        user: Uuid,
    },
    /// An invite was revoked (R20), or withdrawn because its sender left or was archived
    /// or its workspace was archived (R21, R22).
    InviteRevoked {
        /// The invite.
        invite: Uuid,
        /// The workspace.
        workspace: Uuid,
        /// The invitee's address.
        email: String,
    },
    /// An invite passed its expiry (R38), or a new invite to the same address replaced
    /// it.
    InviteExpired {
        /// The invite.
        invite: Uuid,
        /// The workspace.
        workspace: Uuid,
        /// The invitee's address.
        email: String,
    },
    /// A member left (R21).
    MemberLeft {
        /// The workspace.
        workspace: Uuid,
        /// Who left.
        user: Uuid,
    },
    /// The last member left and the workspace was archived (R21).
    WorkspaceArchived {
        /// The workspace.
        workspace: Uuid,
    },
    /// A member was archived, by an admin (R22) or because their membership ended (R39).
    MemberArchived {
        /// The workspace.
        workspace: Uuid,
        /// The archived member.
        user: Uuid,
        /// Why.
        reason: ArchiveReason,
    },
    /// An admin restored an archived member as an approved member (R22).
    MemberUnarchived {
        /// The workspace.
        workspace: Uuid,
        /// The restored member.
        user: Uuid,
    },
    /// A member was promoted or demoted (R23).
    RoleChanged {
        /// The workspace.
        workspace: Uuid,
        /// The member.
        user: Uuid,
        /// Their new role.
        role: Role,
    },
    /// An admin changed the workspace's settings (R24); only changed fields are set.
    SettingsChanged {
        /// The workspace.
        workspace: Uuid,
        /// The new name.
        name: Option<String>,
        /// The new speciality's code.
        speciality: Option<i32>,
        /// The new description.
        description: Option<String>,
    },
    /// A user's My Workspace was archived because they joined a shared workspace (R27).
    MyWorkspaceArchived {
        /// The My Workspace.
        workspace: Uuid,
        /// Its organisation.
        organisation: Uuid,
        /// Its owner.
        user: Uuid,
    },
    /// A user's My Workspace came back because they no longer hold a current membership
    /// of any shared workspace of its organisation (R41).
    MyWorkspaceReactivated {
        /// The My Workspace.
        workspace: Uuid,
        /// Its organisation.
        organisation: Uuid,
        /// Its owner.
        user: Uuid,
    },
    /// A conversation was started (R29).
    ConversationStarted {
        /// The conversation.
        conversation: Uuid,
        /// Its workspace.
        workspace: Uuid,
        /// Who started it.
        user: Uuid,
    },
    /// An admin set, moved or cleared a membership's end date (R39).
    MembershipEndChanged {
        /// The workspace.
        workspace: Uuid,
        /// The member.
        user: Uuid,
        /// The new end date; none when cleared.
        ends_at: Option<SystemTime>,
        /// The end date before the change.
        previous: Option<SystemTime>,
    },
    /// A time-boxed membership ends soon (R39): the member and `admins` are to be told.
    MembershipEndingSoon {
        /// The workspace.
        workspace: Uuid,
        /// The member.
        user: Uuid,
        /// When it ends.
        ends_at: SystemTime,
        /// The workspace's admins, who may extend it.
        admins: Vec<Uuid>,
    },
    /// A membership reached its end date while its member was the last admin, so the
    /// sweep kept them (R25, R39).
    LastAdminKept {
        /// The workspace.
        workspace: Uuid,
        /// The admin kept.
        user: Uuid,
        /// The end date that passed.
        ends_at: SystemTime,
    },
    /// A join request nobody handled in time was escalated (R38): everyone in
    /// `escalated_to` is to be asked to chase it.
    JoinRequestEscalated {
        /// The workspace.
        workspace: Uuid,
        /// The requester.
        user: Uuid,
        /// When they asked.
        requested_at: SystemTime,
        /// Who may approve it.
        approvers: Vec<Uuid>,
        /// Every approved member.
        escalated_to: Vec<Uuid>,
    },
}

fn ids<T: Into<Uuid>>(ids: Vec<T>) -> Vec<Uuid> {
    ids.into_iter().map(Into::into).collect()
}

impl From<carespace::EventKind> for EventKind {
    /// Exhaustive: a new core kind does not compile until it has a case here.
    fn from(kind: carespace::EventKind) -> Self {
        use carespace::EventKind as K;
        match kind {
            K::OrganisationRegistered { organisation } => {
                Self::OrganisationRegistered { organisation: organisation.into() }
            }
            K::OrganisationRenamed { organisation, name, previous } => Self::OrganisationRenamed {
                organisation: organisation.into(),
                name: name.into(),
                previous: previous.into(),
            },
            K::OrganisationClosed { organisation, closed_on } => {
                Self::OrganisationClosed { organisation: organisation.into(), closed_on: closed_on.to_string() }
            }
            K::OrganisationReopened { organisation } => {
                Self::OrganisationReopened { organisation: organisation.into() }
            }
            K::OrganisationUpdated { organisation } => Self::OrganisationUpdated { organisation: organisation.into() },
            K::UserRegistered { user, email } => Self::UserRegistered { user: user.into(), email: email.into() },
            K::OrganisationJoined { organisation, user, my_workspace } => Self::OrganisationJoined {
                organisation: organisation.into(),
                user: user.into(),
                my_workspace: my_workspace.into(),
            },
            K::WorkspaceCreated { workspace, organisation, name, speciality, from_example } => Self::WorkspaceCreated {
                workspace: workspace.into(),
                organisation: organisation.into(),
                name: name.into(),
                speciality: speciality.code().into(),
                from_example,
            },
            K::JoinRequested { workspace, user, approvers } => {
                Self::JoinRequested { workspace: workspace.into(), user: user.into(), approvers: ids(approvers) }
            }
            K::JoinApproved { workspace, user } => {
                Self::JoinApproved { workspace: workspace.into(), user: user.into() }
            }
            K::JoinDeclined { workspace, user } => {
                Self::JoinDeclined { workspace: workspace.into(), user: user.into() }
            }
            K::Invited { invite, workspace, email, expires_at, refreshed } => Self::Invited {
                invite: invite.into(),
                workspace: workspace.into(),
                email: email.into(),
                expires_at: expires_at.into(),
                refreshed,
            },
            K::InviteAccepted { invite, workspace, user } => {
                Self::InviteAccepted { invite: invite.into(), workspace: workspace.into(), user: user.into() }
            }
            K::InviteRevoked { invite, workspace, email } => {
                Self::InviteRevoked { invite: invite.into(), workspace: workspace.into(), email: email.into() }
            }
            K::InviteExpired { invite, workspace, email } => {
                Self::InviteExpired { invite: invite.into(), workspace: workspace.into(), email: email.into() }
            }
            K::MemberLeft { workspace, user } => Self::MemberLeft { workspace: workspace.into(), user: user.into() },
            K::WorkspaceArchived { workspace } => Self::WorkspaceArchived { workspace: workspace.into() },
            K::MemberArchived { workspace, user, reason } => Self::MemberArchived {
                workspace: workspace.into(),
                user: user.into(),
                reason: match reason {
                    carespace::ArchiveReason::ByAdmin => ArchiveReason::ByAdmin,
                    carespace::ArchiveReason::MembershipEnded => ArchiveReason::MembershipEnded,
                },
            },
            K::MemberUnarchived { workspace, user } => {
                Self::MemberUnarchived { workspace: workspace.into(), user: user.into() }
            }
            K::RoleChanged { workspace, user, role } => {
                Self::RoleChanged { workspace: workspace.into(), user: user.into(), role: role.into() }
            }
            K::SettingsChanged { workspace, name, speciality, description } => Self::SettingsChanged {
                workspace: workspace.into(),
                name: name.map(Into::into),
                speciality: speciality.map(|s| s.code().into()),
                description: description.map(Into::into),
            },
            K::MyWorkspaceArchived { workspace, organisation, user } => Self::MyWorkspaceArchived {
                workspace: workspace.into(),
                organisation: organisation.into(),
                user: user.into(),
            },
            K::MyWorkspaceReactivated { workspace, organisation, user } => Self::MyWorkspaceReactivated {
                workspace: workspace.into(),
                organisation: organisation.into(),
                user: user.into(),
            },
            K::ConversationStarted { conversation, workspace, user } => Self::ConversationStarted {
                conversation: conversation.into(),
                workspace: workspace.into(),
                user: user.into(),
            },
            K::MembershipEndChanged { workspace, user, ends_at, previous } => Self::MembershipEndChanged {
                workspace: workspace.into(),
                user: user.into(),
                ends_at: ends_at.map(Into::into),
                previous: previous.map(Into::into),
            },
            K::MembershipEndingSoon { workspace, user, ends_at, admins } => Self::MembershipEndingSoon {
                workspace: workspace.into(),
                user: user.into(),
                ends_at: ends_at.into(),
                admins: ids(admins),
            },
            K::LastAdminKept { workspace, user, ends_at } => {
                Self::LastAdminKept { workspace: workspace.into(), user: user.into(), ends_at: ends_at.into() }
            }
            K::JoinRequestEscalated { workspace, user, requested_at, approvers, escalated_to } => {
                Self::JoinRequestEscalated {
                    workspace: workspace.into(),
                    user: user.into(),
                    requested_at: requested_at.into(),
                    approvers: ids(approvers),
                    escalated_to: ids(escalated_to),
                }
            }
        }
    }
}
