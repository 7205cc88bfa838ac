//! The permission table (R34): pure functions decide what a person may do in a
//! workspace, given where they stand ([`permits`]), and in an organisation
//! ([`permits_in_organisation`]). Commands and `can()` queries both ask them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Approvers, OrganisationId, OrganisationKind, Policy, WorkspaceId};

/// Everything a person may try to do: in a workspace (R15, R16, R18–R24, R29, R30, R39),
/// or in an organisation ([`Action::CreateWorkspace`], [`Action::DiscoverWorkspaces`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Action {
    /// Send messages from the workspace: start conversations in it (R15, R29).
    StartConversation,
    /// See the conversations one started oneself (R15, R30).
    ViewOwnConversations,
    /// See every conversation of the workspace (R30).
    ViewAllConversations,
    /// Create personal message templates (R15; stored by the host).
    CreatePersonalTemplate,
    /// Create personal patient lists (R15; stored by the host).
    CreatePersonalPatientList,
    /// See the member list (R15).
    ViewMembers,
    /// Use the workspace's shared templates (R15; stored by the host).
    ViewSharedTemplates,
    /// Use the workspace's shared patient lists (R15; stored by the host).
    ViewSharedPatientLists,
    /// Ask to join (R14).
    RequestToJoin,
    /// Leave (R21).
    Leave,
    /// Invite an NHS email (R18).
    Invite,
    /// Revoke an invite one sent oneself (R20).
    RevokeOwnInvite,
    /// Revoke anyone's invite (R20).
    RevokeAnyInvite,
    /// Approve a join request (R16).
    Approve,
    /// Decline a join request (R17).
    Decline,
    /// Archive a member (R22).
    ArchiveMember,
    /// Unarchive a member (R22).
    UnarchiveMember,
    /// Promote an approved member to admin (R23).
    Promote,
    /// Demote an admin to member (R23).
    Demote,
    /// Rename the workspace or change its speciality or description (R24).
    ChangeSettings,
    /// Set, extend or clear the end date of a membership (R39).
    SetMembershipEnd,
    /// Accept an invite to the workspace (R19); the command also checks that the invite
    /// is addressed to the actor.
    AcceptInvite,
    /// Create a workspace in an organisation (R7): asked of an organisation.
    CreateWorkspace,
    /// See an organisation's workspaces: discover them, look one up (R11): asked of an
    /// organisation.
    DiscoverWorkspaces,
}

impl Action {
    /// Every action, for tables and tests.
    pub const ALL: [Action; 24] = [
        Self::StartConversation,
        Self::ViewOwnConversations,
        Self::ViewAllConversations,
        Self::CreatePersonalTemplate,
        Self::CreatePersonalPatientList,
        Self::ViewMembers,
        Self::ViewSharedTemplates,
        Self::ViewSharedPatientLists,
        Self::RequestToJoin,
        Self::Leave,
        Self::Invite,
        Self::RevokeOwnInvite,
        Self::RevokeAnyInvite,
        Self::Approve,
        Self::Decline,
        Self::ArchiveMember,
        Self::UnarchiveMember,
        Self::Promote,
        Self::Demote,
        Self::ChangeSettings,
        Self::SetMembershipEnd,
        Self::AcceptInvite,
        Self::CreateWorkspace,
        Self::DiscoverWorkspaces,
    ];

    /// Whether the action is done in an organisation rather than in one of its
    /// workspaces: [`permits_in_organisation`] answers it, [`permits`] refuses it.
    pub fn in_organisation(self) -> bool {
        matches!(self, Self::CreateWorkspace | Self::DiscoverWorkspaces)
    }
}

impl fmt::Display for Action {
    /// The action as a verb phrase: "… may not {action} in …".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::StartConversation => "start conversations",
            Self::ViewOwnConversations => "see their own conversations",
            Self::ViewAllConversations => "see all conversations",
            Self::CreatePersonalTemplate => "create personal templates",
            Self::CreatePersonalPatientList => "create personal patient lists",
            Self::ViewMembers => "see the member list",
            Self::ViewSharedTemplates => "use shared templates",
            Self::ViewSharedPatientLists => "use shared patient lists",
            Self::RequestToJoin => "request to join",
            Self::Leave => "leave",
            Self::Invite => "invite colleagues",
            Self::RevokeOwnInvite => "revoke their own invites",
            Self::RevokeAnyInvite => "revoke other members' invites",
            Self::Approve => "approve join requests",
            Self::Decline => "decline join requests",
            Self::ArchiveMember => "archive members",
            Self::UnarchiveMember => "unarchive members",
            Self::Promote => "promote members to admin",
            Self::Demote => "demote admins",
            Self::ChangeSettings => "change the workspace settings",
            Self::SetMembershipEnd => "set membership end dates",
            Self::AcceptInvite => "accept invites",
            Self::CreateWorkspace => "create workspaces",
            Self::DiscoverWorkspaces => "see the workspaces",
        })
    }
}

/// Where a [`can`](crate::Carespace::can) question is asked: a workspace, or an
/// organisation (for the actions done there). Both ids convert into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum On {
    /// A shared workspace or a My Workspace.
    Workspace(WorkspaceId),
    /// An organisation.
    Organisation(OrganisationId),
}

impl From<WorkspaceId> for On {
    fn from(id: WorkspaceId) -> Self {
        Self::Workspace(id)
    }
}

impl From<OrganisationId> for On {
    fn from(id: OrganisationId) -> Self {
        Self::Organisation(id)
    }
}

/// Where a person stands towards one workspace: the input of the permission table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Standing {
    /// Not a member of the workspace's organisation.
    Outsider,
    /// In the organisation, not a current member of this workspace (never joined, left,
    /// declined); for a My Workspace: anyone in the organisation but its owner.
    OrganisationMember,
    /// An unapproved member.
    Unapproved,
    /// An approved member without the admin role.
    Member,
    /// An admin.
    Admin,
    /// An archived member.
    Archived,
    /// The owner of this My Workspace.
    Owner,
}

impl Standing {
    /// Every standing, for tables and tests.
    pub const ALL: [Standing; 7] = [
        Self::Outsider,
        Self::OrganisationMember,
        Self::Unapproved,
        Self::Member,
        Self::Admin,
        Self::Archived,
        Self::Owner,
    ];

    /// Where someone stands towards a shared workspace, from their membership state
    /// there (if any) and whether they belong to its organisation. With
    /// [`Standing::in_personal`], the one place a standing is derived.
    pub fn in_shared(state: Option<crate::MembershipState>, in_organisation: bool) -> Self {
        use crate::MembershipState as S;
        match state {
            Some(S::Unapproved) => Self::Unapproved,
            Some(S::Member) => Self::Member,
            Some(S::Admin) => Self::Admin,
            Some(S::Archived) => Self::Archived,
            None if in_organisation => Self::OrganisationMember,
            None => Self::Outsider,
        }
    }

    /// Where someone stands towards a My Workspace: its owner, or anyone else in its
    /// organisation or outside it.
    pub fn in_personal(owner: bool, in_organisation: bool) -> Self {
        match (owner, in_organisation) {
            (true, _) => Self::Owner,
            (false, true) => Self::OrganisationMember,
            (false, false) => Self::Outsider,
        }
    }
}

/// The kind and state of the workspace an action is aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target {
    /// A My Workspace rather than a shared workspace.
    pub personal: bool,
    /// Active (shared) or not yet archived (personal).
    pub active: bool,
}

/// Why the table said no; part of the [`Error::Forbidden`](crate::Error::Forbidden)
/// message. Every refusal for lack of rights has one (R34).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Denial {
    /// Not in the workspace's organisation.
    NotInOrganisation,
    /// Not a member of the workspace.
    NotAMember,
    /// Unapproved members may not do this until approved (R15).
    NotApproved,
    /// Only admins may (R22–R24, R39, R20 for others' invites).
    NotAnAdmin,
    /// Only approvers may (R16): admins, or every approved member, per policy.
    NotAnApprover,
    /// Archived members have no access (R22).
    ArchivedMember,
    /// The workspace is archived (R21, R28).
    WorkspaceArchived,
    /// A My Workspace is its owner's alone (R26).
    PersonalWorkspace,
    /// Already a member: there is nothing to request.
    AlreadyMember,
    /// The organisation's kind may not create workspaces under the service's policy (R7).
    CreationNotAllowed {
        /// The organisation's kind.
        kind: OrganisationKind,
    },
    /// The invite is addressed to another email (R19).
    NotTheInvitee,
    /// The action is done in an organisation, not in a workspace (asked of a workspace).
    OrganisationAction,
    /// The action is done in a workspace, not in an organisation (asked of an
    /// organisation).
    WorkspaceAction,
}

impl Denial {
    /// A stable snake_case name for the reason, for hosts and bindings to branch on (the
    /// way [`Error::code`](crate::Error::code) names the kind).
    pub fn code(self) -> &'static str {
        match self {
            Self::NotInOrganisation => "not_in_organisation",
            Self::NotAMember => "not_a_member",
            Self::NotApproved => "not_approved",
            Self::NotAnAdmin => "not_an_admin",
            Self::NotAnApprover => "not_an_approver",
            Self::ArchivedMember => "archived_member",
            Self::WorkspaceArchived => "workspace_archived",
            Self::PersonalWorkspace => "personal_workspace",
            Self::AlreadyMember => "already_member",
            Self::CreationNotAllowed { .. } => "creation_not_allowed",
            Self::NotTheInvitee => "not_the_invitee",
            Self::OrganisationAction => "organisation_action",
            Self::WorkspaceAction => "workspace_action",
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotInOrganisation => "they are not a member of its organisation",
            Self::NotAMember => "they are not a member of it",
            Self::NotApproved => "their request to join has not been approved yet",
            Self::NotAnAdmin => "only its admins may",
            Self::NotAnApprover => "only those who may approve requests may",
            Self::ArchivedMember => "they were archived from it; an admin can unarchive them",
            Self::WorkspaceArchived => "the workspace is archived",
            Self::PersonalWorkspace => "a My Workspace belongs to its owner alone",
            Self::AlreadyMember => "they are already a member",
            Self::CreationNotAllowed { kind } => {
                return write!(f, "this service does not let organisations of its kind ({kind}) create workspaces");
            }
            Self::NotTheInvitee => "the invite is addressed to another email address",
            Self::OrganisationAction => "that is done in an organisation, not in one of its workspaces",
            Self::WorkspaceAction => "that is done in a workspace, not in an organisation",
        })
    }
}

/// The permission table. `Ok(())` when someone standing at `standing` may do `action`
/// in `target` under `approvers`; otherwise why not.
///
/// ```
/// use carespace::permission::{permits, Action, Standing, Target};
/// use carespace::Approvers;
///
/// let ward = Target { personal: false, active: true };
/// assert!(permits(Standing::Unapproved, ward, Approvers::Admins, Action::StartConversation).is_ok());
/// assert!(permits(Standing::Unapproved, ward, Approvers::Admins, Action::ViewAllConversations).is_err());
/// assert!(permits(Standing::Member, ward, Approvers::ApprovedMembers, Action::Approve).is_ok());
/// ```
pub fn permits(standing: Standing, target: Target, approvers: Approvers, action: Action) -> Result<(), Denial> {
    use Action as A;
    use Standing as S;

    if action.in_organisation() {
        return Err(Denial::OrganisationAction);
    }
    if target.personal {
        return match standing {
            S::Owner => match action {
                A::ViewOwnConversations | A::ViewAllConversations => Ok(()),
                A::StartConversation | A::CreatePersonalTemplate | A::CreatePersonalPatientList if target.active => {
                    Ok(())
                }
                A::StartConversation | A::CreatePersonalTemplate | A::CreatePersonalPatientList => {
                    Err(Denial::WorkspaceArchived)
                }
                _ => Err(Denial::PersonalWorkspace),
            },
            S::Outsider => Err(Denial::NotInOrganisation),
            _ => Err(Denial::PersonalWorkspace),
        };
    }

    let approver = match approvers {
        Approvers::Admins => standing == S::Admin,
        Approvers::ApprovedMembers => matches!(standing, S::Member | S::Admin),
    };
    match standing {
        // An invite brings its addressee into the organisation too (R19).
        S::Outsider if action == A::AcceptInvite && target.active => Ok(()),
        S::Outsider => Err(Denial::NotInOrganisation),
        S::Archived => Err(Denial::ArchivedMember),
        _ if !target.active => Err(Denial::WorkspaceArchived),
        // Only a My Workspace has an owner; a shared workspace treats one as a colleague.
        S::OrganisationMember | S::Owner => match action {
            A::RequestToJoin | A::AcceptInvite => Ok(()),
            _ => Err(Denial::NotAMember),
        },
        S::Unapproved | S::Member | S::Admin => match action {
            A::StartConversation
            | A::ViewOwnConversations
            | A::CreatePersonalTemplate
            | A::CreatePersonalPatientList
            | A::Leave
            | A::RequestToJoin
            | A::AcceptInvite => Ok(()),
            _ if standing == S::Unapproved => Err(Denial::NotApproved),
            A::ViewAllConversations
            | A::ViewMembers
            | A::ViewSharedTemplates
            | A::ViewSharedPatientLists
            | A::Invite
            | A::RevokeOwnInvite => Ok(()),
            A::Approve | A::Decline if approver => Ok(()),
            A::Approve | A::Decline => Err(Denial::NotAnApprover),
            A::RevokeAnyInvite
            | A::ArchiveMember
            | A::UnarchiveMember
            | A::Promote
            | A::Demote
            | A::ChangeSettings
            | A::SetMembershipEnd
                if standing == S::Admin =>
            {
                Ok(())
            }
            _ => Err(Denial::NotAnAdmin),
        },
    }
}

/// The organisation's rows of the table (R7, R11): whether someone who is
/// (`in_organisation`) or is not a member of an organisation of `kind` may do `action` in
/// it under `policy`. Only [`Action::in_organisation`] actions are done there.
///
/// ```
/// use carespace::permission::{permits_in_organisation, Action, Denial};
/// use carespace::{OrganisationKind, Policy};
///
/// let policy = Policy::default();
/// assert!(permits_in_organisation(true, OrganisationKind::NhsTrust, &policy, Action::CreateWorkspace).is_ok());
/// assert_eq!(
///     permits_in_organisation(false, OrganisationKind::NhsTrust, &policy, Action::DiscoverWorkspaces),
///     Err(Denial::NotInOrganisation)
/// );
/// ```
pub fn permits_in_organisation(
    in_organisation: bool,
    kind: OrganisationKind,
    policy: &Policy,
    action: Action,
) -> Result<(), Denial> {
    match action {
        _ if !action.in_organisation() => Err(Denial::WorkspaceAction),
        _ if !in_organisation => Err(Denial::NotInOrganisation),
        Action::CreateWorkspace if !policy.may_create_in(kind) => Err(Denial::CreationNotAllowed { kind }),
        _ => Ok(()),
    }
}
