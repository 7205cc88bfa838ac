//! Domain events (R32): the append-only log a host reads to send emails and show
//! prompts, and the audit trail.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{
    ArchiveReason, ConversationId, Description, InviteId, NhsEmail, OrganisationId, OrganisationName, Role, Speciality,
    UserId, WorkspaceId, WorkspaceName,
};

/// One entry of the event log.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Event {
    /// Its position: 1, 2, 3, … with no gaps, in commit order.
    pub seq: u64,
    /// When the command that wrote it ran (UTC, from the service's clock).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who ran the command; `None` for the host application itself (registering an
    /// organisation).
    pub actor: Option<UserId>,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What an event records. Each names the people a host should notify, so that sending
/// an email never needs to look at state that may have changed since.
///
/// Not `#[non_exhaustive]`, like [`crate::Error`]: the Kotlin and Swift bindings give
/// every kind a case of its own, and a new kind must fail to compile there until it has
/// one (a new kind is announced in the version).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// An organisation was registered.
    OrganisationRegistered {
        /// The organisation.
        organisation: OrganisationId,
    },
    /// An organisation's name changed in an ODS import (R40).
    OrganisationRenamed {
        /// The organisation.
        organisation: OrganisationId,
        /// Its new name.
        name: OrganisationName,
        /// Its name before.
        previous: OrganisationName,
    },
    /// An ODS import showed an organisation closed (R40): it accepts no new member,
    /// workspace, request or invite.
    OrganisationClosed {
        /// The organisation.
        organisation: OrganisationId,
        /// The day it closed.
        #[serde(with = "crate::text::iso_date")]
        closed_on: time::Date,
    },
    /// An ODS import showed a closed organisation open again (R40).
    OrganisationReopened {
        /// The organisation.
        organisation: OrganisationId,
    },
    /// An ODS import changed an organisation's kind, postcode, source spelling or close
    /// date (R40).
    OrganisationUpdated {
        /// The organisation.
        organisation: OrganisationId,
    },
    /// A user registered.
    UserRegistered {
        /// The user.
        user: UserId,
        /// Their email.
        email: NhsEmail,
    },
    /// A user joined an organisation and got a My Workspace there (R4, R26).
    OrganisationJoined {
        /// The organisation.
        organisation: OrganisationId,
        /// The user.
        user: UserId,
        /// Their new My Workspace.
        my_workspace: WorkspaceId,
    },
    /// A shared workspace was created (R8, R9).
    WorkspaceCreated {
        /// The workspace.
        workspace: WorkspaceId,
        /// Its organisation.
        organisation: OrganisationId,
        /// Its name.
        name: WorkspaceName,
        /// Its speciality.
        speciality: Speciality,
        /// Whether it was made by joining an example (R9).
        from_example: bool,
    },
    /// Someone asked to join; `approvers` are to be emailed (R14).
    JoinRequested {
        /// The workspace.
        workspace: WorkspaceId,
        /// The requester.
        user: UserId,
        /// Who may approve, at the time of the request.
        approvers: Vec<UserId>,
    },
    /// A request was approved; the new member is to be emailed (R16).
    JoinApproved {
        /// The workspace.
        workspace: WorkspaceId,
        /// The new approved member.
        user: UserId,
    },
    /// A request was declined; the requester is to be told (R17).
    JoinDeclined {
        /// The workspace.
        workspace: WorkspaceId,
        /// The requester.
        user: UserId,
    },
    /// An invite was sent, or refreshed (R18); the invitee is to be emailed.
    Invited {
        /// The invite.
        invite: InviteId,
        /// The workspace.
        workspace: WorkspaceId,
        /// The invitee's address.
        email: NhsEmail,
        /// Until when it may be accepted.
        #[serde(with = "time::serde::rfc3339")]
        expires_at: OffsetDateTime,
        /// Whether this refreshed an invite that was already pending.
        refreshed: bool,
    },
    /// An invite was accepted (R19).
    InviteAccepted {
        /// The invite.
        invite: InviteId,
        /// The workspace.
        workspace: WorkspaceId,
        /// The new approved member.
        user: UserId,
    },
    /// An invite was revoked (R20), or withdrawn because its sender left or was archived
    /// or its workspace was archived (R21, R22).
    InviteRevoked {
        /// The invite.
        invite: InviteId,
        /// The workspace.
        workspace: WorkspaceId,
        /// The invitee's address.
        email: NhsEmail,
    },
    /// An invite passed its expiry: the sweep marked it expired (R38), or a new invite to
    /// the same address replaced it.
    InviteExpired {
        /// The invite.
        invite: InviteId,
        /// The workspace.
        workspace: WorkspaceId,
        /// The invitee's address.
        email: NhsEmail,
    },
    /// A member left (R21).
    MemberLeft {
        /// The workspace.
        workspace: WorkspaceId,
        /// Who left.
        user: UserId,
    },
    /// The last member left and the workspace was archived (R21).
    WorkspaceArchived {
        /// The workspace.
        workspace: WorkspaceId,
    },
    /// A member was archived: by an admin (R22), or by the sweep when their membership
    /// reached its end date (R39).
    MemberArchived {
        /// The workspace.
        workspace: WorkspaceId,
        /// The archived member.
        user: UserId,
        /// Why (absent in logs written before R39: by an admin).
        #[serde(default)]
        reason: ArchiveReason,
    },
    /// An admin restored an archived member as an approved member (R22).
    MemberUnarchived {
        /// The workspace.
        workspace: WorkspaceId,
        /// The restored member.
        user: UserId,
    },
    /// A member was promoted or demoted (R23).
    RoleChanged {
        /// The workspace.
        workspace: WorkspaceId,
        /// The member.
        user: UserId,
        /// Their new role.
        role: Role,
    },
    /// An admin changed the workspace's settings (R24); only changed fields are present.
    SettingsChanged {
        /// The workspace.
        workspace: WorkspaceId,
        /// The new name.
        name: Option<WorkspaceName>,
        /// The new speciality.
        speciality: Option<Speciality>,
        /// The new description.
        description: Option<Description>,
    },
    /// A user's My Workspace was archived because they joined a shared workspace (R27).
    MyWorkspaceArchived {
        /// The My Workspace.
        workspace: WorkspaceId,
        /// Its organisation.
        organisation: OrganisationId,
        /// Its owner.
        user: UserId,
    },
    /// A user's My Workspace came back, with its conversations, because they no longer
    /// hold a current membership of any shared workspace of its organisation (R41).
    MyWorkspaceReactivated {
        /// The My Workspace.
        workspace: WorkspaceId,
        /// Its organisation.
        organisation: OrganisationId,
        /// Its owner.
        user: UserId,
    },
    /// A conversation was started (R29).
    ConversationStarted {
        /// The conversation.
        conversation: ConversationId,
        /// Its workspace.
        workspace: WorkspaceId,
        /// Who started it.
        user: UserId,
    },
    /// An admin set, extended, brought forward or cleared a membership's end date (R39).
    MembershipEndChanged {
        /// The workspace.
        workspace: WorkspaceId,
        /// The member.
        user: UserId,
        /// The new end date; `None` when cleared.
        #[serde(with = "time::serde::rfc3339::option")]
        ends_at: Option<OffsetDateTime>,
        /// The end date before the change.
        #[serde(with = "time::serde::rfc3339::option")]
        previous: Option<OffsetDateTime>,
    },
    /// A time-boxed membership ends soon (R39): the member and `admins` are to be told.
    MembershipEndingSoon {
        /// The workspace.
        workspace: WorkspaceId,
        /// The member.
        user: UserId,
        /// When it ends.
        #[serde(with = "time::serde::rfc3339")]
        ends_at: OffsetDateTime,
        /// The workspace's admins, who may extend it.
        admins: Vec<UserId>,
    },
    /// A membership reached its end date while its member was the workspace's last admin,
    /// so the sweep kept them, lest the workspace be left without an admin (R25, R39);
    /// they are archived by the first sweep after another admin is promoted.
    LastAdminKept {
        /// The workspace.
        workspace: WorkspaceId,
        /// The admin kept.
        user: UserId,
        /// The end date that passed.
        #[serde(with = "time::serde::rfc3339")]
        ends_at: OffsetDateTime,
    },
    /// A join request nobody handled in the policy's time was escalated (R38): every
    /// approved member in `escalated_to` is to be asked to chase it, and the requester
    /// told that `approvers` can approve.
    JoinRequestEscalated {
        /// The workspace.
        workspace: WorkspaceId,
        /// The requester.
        user: UserId,
        /// When they asked.
        #[serde(with = "time::serde::rfc3339")]
        requested_at: OffsetDateTime,
        /// Who may approve it.
        approvers: Vec<UserId>,
        /// Every approved member.
        escalated_to: Vec<UserId>,
    },
}

impl EventKind {
    /// Every event type name ([`EventKind::type_name`], the `type` of the JSON form), in
    /// declaration order: for hosts and bindings that list them.
    pub const TYPES: [&'static str; 28] = [
        "organisation_registered",
        "organisation_renamed",
        "organisation_closed",
        "organisation_reopened",
        "organisation_updated",
        "user_registered",
        "organisation_joined",
        "workspace_created",
        "join_requested",
        "join_approved",
        "join_declined",
        "invited",
        "invite_accepted",
        "invite_revoked",
        "invite_expired",
        "member_left",
        "workspace_archived",
        "member_archived",
        "member_unarchived",
        "role_changed",
        "settings_changed",
        "my_workspace_archived",
        "my_workspace_reactivated",
        "conversation_started",
        "membership_end_changed",
        "membership_ending_soon",
        "last_admin_kept",
        "join_request_escalated",
    ];

    /// The event's type as it appears in JSON (`"join_requested"`, …).
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::OrganisationRegistered { .. } => "organisation_registered",
            Self::OrganisationRenamed { .. } => "organisation_renamed",
            Self::OrganisationClosed { .. } => "organisation_closed",
            Self::OrganisationReopened { .. } => "organisation_reopened",
            Self::OrganisationUpdated { .. } => "organisation_updated",
            Self::UserRegistered { .. } => "user_registered",
            Self::OrganisationJoined { .. } => "organisation_joined",
            Self::WorkspaceCreated { .. } => "workspace_created",
            Self::JoinRequested { .. } => "join_requested",
            Self::JoinApproved { .. } => "join_approved",
            Self::JoinDeclined { .. } => "join_declined",
            Self::Invited { .. } => "invited",
            Self::InviteAccepted { .. } => "invite_accepted",
            Self::InviteRevoked { .. } => "invite_revoked",
            Self::InviteExpired { .. } => "invite_expired",
            Self::MemberLeft { .. } => "member_left",
            Self::WorkspaceArchived { .. } => "workspace_archived",
            Self::MemberArchived { .. } => "member_archived",
            Self::MemberUnarchived { .. } => "member_unarchived",
            Self::RoleChanged { .. } => "role_changed",
            Self::SettingsChanged { .. } => "settings_changed",
            Self::MyWorkspaceArchived { .. } => "my_workspace_archived",
            Self::MyWorkspaceReactivated { .. } => "my_workspace_reactivated",
            Self::ConversationStarted { .. } => "conversation_started",
            Self::MembershipEndChanged { .. } => "membership_end_changed",
            Self::MembershipEndingSoon { .. } => "membership_ending_soon",
            Self::LastAdminKept { .. } => "last_admin_kept",
            Self::JoinRequestEscalated { .. } => "join_request_escalated",
        }
    }

    /// The event's `workspace` field, if it has one (a shared workspace, or a My Workspace
    /// for [`EventKind::MyWorkspaceArchived`], [`EventKind::MyWorkspaceReactivated`] and
    /// conversations in one). Storage backends
    /// index the log by it (R37).
    pub fn workspace(&self) -> Option<WorkspaceId> {
        match self {
            Self::OrganisationRegistered { .. }
            | Self::OrganisationRenamed { .. }
            | Self::OrganisationClosed { .. }
            | Self::OrganisationReopened { .. }
            | Self::OrganisationUpdated { .. }
            | Self::UserRegistered { .. }
            | Self::OrganisationJoined { .. } => None,
            Self::WorkspaceCreated { workspace, .. }
            | Self::JoinRequested { workspace, .. }
            | Self::JoinApproved { workspace, .. }
            | Self::JoinDeclined { workspace, .. }
            | Self::Invited { workspace, .. }
            | Self::InviteAccepted { workspace, .. }
            | Self::InviteRevoked { workspace, .. }
            | Self::InviteExpired { workspace, .. }
            | Self::MemberLeft { workspace, .. }
            | Self::WorkspaceArchived { workspace }
            | Self::MemberArchived { workspace, .. }
            | Self::MemberUnarchived { workspace, .. }
            | Self::RoleChanged { workspace, .. }
            | Self::SettingsChanged { workspace, .. }
            | Self::MyWorkspaceArchived { workspace, .. }
            | Self::MyWorkspaceReactivated { workspace, .. }
            | Self::ConversationStarted { workspace, .. }
            | Self::MembershipEndChanged { workspace, .. }
            | Self::MembershipEndingSoon { workspace, .. }
            | Self::LastAdminKept { workspace, .. }
            | Self::JoinRequestEscalated { workspace, .. } => Some(*workspace),
        }
    }

    /// The event's `user` field, if it has one: the person it is about. Storage backends
    /// index the log by it (R37). A [`EventKind::WorkspaceCreated`] names no user: its
    /// creator is the event's actor.
    pub fn user(&self) -> Option<UserId> {
        match self {
            Self::OrganisationRegistered { .. }
            | Self::OrganisationRenamed { .. }
            | Self::OrganisationClosed { .. }
            | Self::OrganisationReopened { .. }
            | Self::OrganisationUpdated { .. }
            | Self::WorkspaceCreated { .. }
            | Self::Invited { .. }
            | Self::InviteRevoked { .. }
            | Self::InviteExpired { .. }
            | Self::WorkspaceArchived { .. }
            | Self::SettingsChanged { .. } => None,
            Self::UserRegistered { user, .. }
            | Self::OrganisationJoined { user, .. }
            | Self::JoinRequested { user, .. }
            | Self::JoinApproved { user, .. }
            | Self::JoinDeclined { user, .. }
            | Self::InviteAccepted { user, .. }
            | Self::MemberLeft { user, .. }
            | Self::MemberArchived { user, .. }
            | Self::MemberUnarchived { user, .. }
            | Self::RoleChanged { user, .. }
            | Self::MyWorkspaceArchived { user, .. }
            | Self::MyWorkspaceReactivated { user, .. }
            | Self::ConversationStarted { user, .. }
            | Self::MembershipEndChanged { user, .. }
            | Self::MembershipEndingSoon { user, .. }
            | Self::LastAdminKept { user, .. }
            | Self::JoinRequestEscalated { user, .. } => Some(*user),
        }
    }
}

impl Event {
    /// The person the event is about: its `user` field ([`EventKind::user`]), or for a
    /// [`EventKind::WorkspaceCreated`] its creator, the actor. The log by person (R37)
    /// is the events whose person this is.
    pub fn person(&self) -> Option<UserId> {
        match self.kind {
            EventKind::WorkspaceCreated { .. } => self.actor,
            _ => self.kind.user(),
        }
    }
}

/// An event before the store has given it a sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// When.
    pub at: OffsetDateTime,
    /// Who.
    pub actor: Option<UserId>,
    /// What.
    pub kind: EventKind,
}

impl NewEvent {
    /// The event with its sequence number.
    pub fn with_seq(self, seq: u64) -> Event {
        Event { seq, at: self.at, actor: self.actor, kind: self.kind }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One event of every kind. The match has no catch-all, so a new kind does not
    /// compile until it is added here, and so checked against [`EventKind::TYPES`].
    fn one_of_each() -> Vec<EventKind> {
        let (o, u, w) = (
            OrganisationId::from_uuid(uuid::Uuid::nil()),
            UserId::from_uuid(uuid::Uuid::nil()),
            WorkspaceId::from_uuid(uuid::Uuid::nil()),
        );
        let (i, c) = (InviteId::from_uuid(uuid::Uuid::nil()), ConversationId::from_uuid(uuid::Uuid::nil()));
        let email = || NhsEmail::parse("a@nhs.net").unwrap();
        let at = OffsetDateTime::UNIX_EPOCH;
        let all = vec![
            EventKind::OrganisationRegistered { organisation: o },
            EventKind::OrganisationRenamed {
                organisation: o,
                name: "New Name".parse().unwrap(),
                previous: "Old Name".parse().unwrap(),
            },
            EventKind::OrganisationClosed { organisation: o, closed_on: at.date() },
            EventKind::OrganisationReopened { organisation: o },
            EventKind::OrganisationUpdated { organisation: o },
            EventKind::UserRegistered { user: u, email: email() },
            EventKind::OrganisationJoined { organisation: o, user: u, my_workspace: w },
            EventKind::WorkspaceCreated {
                workspace: w,
                organisation: o,
                name: "Ward".parse().unwrap(),
                speciality: Speciality::from_code(501).unwrap(),
                from_example: false,
            },
            EventKind::JoinRequested { workspace: w, user: u, approvers: vec![] },
            EventKind::JoinApproved { workspace: w, user: u },
            EventKind::JoinDeclined { workspace: w, user: u },
            EventKind::Invited { invite: i, workspace: w, email: email(), expires_at: at, refreshed: false },
            EventKind::InviteAccepted { invite: i, workspace: w, user: u },
            EventKind::InviteRevoked { invite: i, workspace: w, email: email() },
            EventKind::InviteExpired { invite: i, workspace: w, email: email() },
            EventKind::MemberLeft { workspace: w, user: u },
            EventKind::WorkspaceArchived { workspace: w },
            EventKind::MemberArchived { workspace: w, user: u, reason: ArchiveReason::ByAdmin },
            EventKind::MemberUnarchived { workspace: w, user: u },
            EventKind::RoleChanged { workspace: w, user: u, role: Role::Admin },
            EventKind::SettingsChanged { workspace: w, name: None, speciality: None, description: None },
            EventKind::MyWorkspaceArchived { workspace: w, organisation: o, user: u },
            EventKind::MyWorkspaceReactivated { workspace: w, organisation: o, user: u },
            EventKind::ConversationStarted { conversation: c, workspace: w, user: u },
            EventKind::MembershipEndChanged { workspace: w, user: u, ends_at: None, previous: None },
            EventKind::MembershipEndingSoon { workspace: w, user: u, ends_at: at, admins: vec![] },
            EventKind::LastAdminKept { workspace: w, user: u, ends_at: at },
            EventKind::JoinRequestEscalated {
                workspace: w,
                user: u,
                requested_at: at,
                approvers: vec![],
                escalated_to: vec![],
            },
        ];
        for kind in &all {
            match kind {
                EventKind::OrganisationRegistered { .. }
                | EventKind::OrganisationRenamed { .. }
                | EventKind::OrganisationClosed { .. }
                | EventKind::OrganisationReopened { .. }
                | EventKind::OrganisationUpdated { .. }
                | EventKind::UserRegistered { .. }
                | EventKind::OrganisationJoined { .. }
                | EventKind::WorkspaceCreated { .. }
                | EventKind::JoinRequested { .. }
                | EventKind::JoinApproved { .. }
                | EventKind::JoinDeclined { .. }
                | EventKind::Invited { .. }
                | EventKind::InviteAccepted { .. }
                | EventKind::InviteRevoked { .. }
                | EventKind::InviteExpired { .. }
                | EventKind::MemberLeft { .. }
                | EventKind::WorkspaceArchived { .. }
                | EventKind::MemberArchived { .. }
                | EventKind::MemberUnarchived { .. }
                | EventKind::RoleChanged { .. }
                | EventKind::SettingsChanged { .. }
                | EventKind::MyWorkspaceArchived { .. }
                | EventKind::MyWorkspaceReactivated { .. }
                | EventKind::ConversationStarted { .. }
                | EventKind::MembershipEndChanged { .. }
                | EventKind::MembershipEndingSoon { .. }
                | EventKind::LastAdminKept { .. }
                | EventKind::JoinRequestEscalated { .. } => {}
            }
        }
        all
    }

    #[test]
    fn types_lists_every_kind_in_order_as_its_json_names_it() {
        let all = one_of_each();
        let names: Vec<&str> = all.iter().map(EventKind::type_name).collect();
        assert_eq!(names, EventKind::TYPES, "TYPES must list every kind's type_name, in declaration order");
        for kind in &all {
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json["type"], kind.type_name());
        }
    }
}
