//! The plain data Carespace stores and returns: organisations, users, workspaces,
//! memberships, invites, declines and conversation headers.
//!
//! Fields are public: the invariants live in the field types (validated newtypes, and
//! [`MembershipState`], in which an unapproved admin cannot be written down). Storage
//! backends build these values from rows; hosts read them and ship them as JSON.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::{
    ConversationId, Description, InviteId, NhsEmail, OdsCode, OrganisationId, OrganisationName, PersonName, Speciality,
    UserId, WorkspaceId, WorkspaceName,
};

/// `as_str` and `from_str_opt` for an enum stored as lower-case text: one list of names,
/// so every storage backend spells them the same way.
macro_rules! stored_names {
    ($enum:ident { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $enum {
            /// A stable lower-case name, used by storage backends.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }

            /// The inverse of `as_str`.
            pub fn from_str_opt(s: &str) -> Option<Self> {
                match s {
                    $($name => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

/// The kind of an NHS organisation (R1). The ODS files give trusts and, for GP
/// practices and the other prescribing settings, a setting code
/// ([`OrganisationKind::from_prescribing_setting`], R40). R7's creation policy is by kind.
///
/// Not `#[non_exhaustive]`: the bindings map every kind, and a new one must fail to
/// compile there until it is mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum OrganisationKind {
    /// An NHS trust (the only kind whose members may create workspaces by default, R7).
    NhsTrust,
    /// A GP practice (prescribing setting 4).
    GpPractice,
    /// A pharmacy.
    Pharmacy,
    /// Any other NHS body (prescribing setting 0, and codes Carespace does not know).
    Other,
    /// A walk-in centre (settings 1, and 3: walk-in centre and out-of-hours).
    WalkInCentre,
    /// An out-of-hours service (setting 2).
    OutOfHours,
    /// Urgent and emergency care (setting 12).
    UrgentCare,
    /// A public health or community health service (settings 8, 9).
    CommunityService,
    /// A hospital service (setting 10).
    HospitalService,
    /// An optometry service (setting 11).
    Optometry,
    /// A hospice (setting 13).
    Hospice,
    /// A care home or nursing home (setting 14).
    CareHome,
    /// Health care in the justice estate: prisons, young offender institutions, secure
    /// training centres and children's homes, immigration removal centres, courts,
    /// police custody, sexual assault referral centres, Border Force (settings 15–25).
    JusticeHealth,
}

impl OrganisationKind {
    /// Every kind, in declaration order.
    pub const ALL: [OrganisationKind; 13] = [
        Self::NhsTrust,
        Self::GpPractice,
        Self::Pharmacy,
        Self::Other,
        Self::WalkInCentre,
        Self::OutOfHours,
        Self::UrgentCare,
        Self::CommunityService,
        Self::HospitalService,
        Self::Optometry,
        Self::Hospice,
        Self::CareHome,
        Self::JusticeHealth,
    ];

    /// The kind of a prescribing setting code (column 26 of `epraccur.csv`); an unknown
    /// code is [`OrganisationKind::Other`].
    ///
    /// ```
    /// use carespace::OrganisationKind;
    /// assert_eq!(OrganisationKind::from_prescribing_setting(4), OrganisationKind::GpPractice);
    /// assert_eq!(OrganisationKind::from_prescribing_setting(25), OrganisationKind::JusticeHealth);
    /// ```
    pub fn from_prescribing_setting(code: u32) -> Self {
        match code {
            4 => Self::GpPractice,
            1 | 3 => Self::WalkInCentre,
            2 => Self::OutOfHours,
            8 | 9 => Self::CommunityService,
            10 => Self::HospitalService,
            11 => Self::Optometry,
            12 => Self::UrgentCare,
            13 => Self::Hospice,
            14 => Self::CareHome,
            15..=25 => Self::JusticeHealth,
            _ => Self::Other,
        }
    }
}

stored_names!(OrganisationKind {
    NhsTrust => "nhs_trust",
    GpPractice => "gp_practice",
    Pharmacy => "pharmacy",
    Other => "other",
    WalkInCentre => "walk_in_centre",
    OutOfHours => "out_of_hours",
    UrgentCare => "urgent_care",
    CommunityService => "community_service",
    HospitalService => "hospital_service",
    Optometry => "optometry",
    Hospice => "hospice",
    CareHome => "care_home",
    JusticeHealth => "justice_health",
});

impl fmt::Display for OrganisationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NhsTrust => "NHS trust",
            Self::GpPractice => "GP practice",
            Self::Pharmacy => "pharmacy",
            Self::Other => "other NHS organisation",
            Self::WalkInCentre => "walk-in centre",
            Self::OutOfHours => "out-of-hours service",
            Self::UrgentCare => "urgent and emergency care service",
            Self::CommunityService => "community health service",
            Self::HospitalService => "hospital service",
            Self::Optometry => "optometry service",
            Self::Hospice => "hospice",
            Self::CareHome => "care home",
            Self::JusticeHealth => "health and justice service",
        })
    }
}

/// An NHS organisation (R1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Organisation {
    /// Its id.
    pub id: OrganisationId,
    /// Its name.
    pub name: OrganisationName,
    /// Its kind.
    pub kind: OrganisationKind,
    /// Its ODS code, unique across organisations when present.
    pub ods_code: Option<OdsCode>,
    /// When it was registered.
    #[serde(with = "time::serde::rfc3339")]
    pub registered_at: OffsetDateTime,
    /// Its name as the ODS file spells it (upper case), when it came from one (R40).
    pub source_name: Option<String>,
    /// Its postcode, from the ODS file (R40).
    pub postcode: Option<String>,
    /// The day it closed, if it has (R40): it then accepts no new member, workspace,
    /// request or invite.
    #[serde(with = "crate::text::iso_date::option")]
    pub closed_on: Option<Date>,
}

impl Organisation {
    /// An open organisation registered by hand at `at` (not from an ODS file).
    pub fn new(
        id: OrganisationId,
        name: OrganisationName,
        kind: OrganisationKind,
        ods_code: Option<OdsCode>,
        at: OffsetDateTime,
    ) -> Self {
        Self { id, name, kind, ods_code, registered_at: at, source_name: None, postcode: None, closed_on: None }
    }
}

/// A person, identified by their NHS email (R2, R3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct User {
    /// Their id.
    pub id: UserId,
    /// Their NHS email, unique across users.
    pub email: NhsEmail,
    /// Their display name.
    pub name: PersonName,
    /// When they registered.
    #[serde(with = "time::serde::rfc3339")]
    pub registered_at: OffsetDateTime,
}

/// Whether a shared workspace is in use (R5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WorkspaceStatus {
    /// In use.
    Active,
    /// Its last member left (R21): kept with its conversations, closed to everyone.
    Archived,
}

/// A shared team workspace inside one organisation (R5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Workspace {
    /// Its id.
    pub id: WorkspaceId,
    /// The organisation it belongs to.
    pub organisation: OrganisationId,
    /// Its name (R6), unique among the organisation's active workspaces.
    pub name: WorkspaceName,
    /// Its speciality (R10).
    pub speciality: Speciality,
    /// Its description.
    pub description: Description,
    /// Active or archived.
    pub status: WorkspaceStatus,
    /// Who created it (its first admin, R8).
    pub created_by: UserId,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

stored_names!(WorkspaceStatus { Active => "active", Archived => "archived" });

impl Workspace {
    /// Whether the workspace is active.
    pub fn is_active(&self) -> bool {
        self.status == WorkspaceStatus::Active
    }
}

/// A user's personal "My Workspace" in one organisation (R26).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PersonalWorkspace {
    /// Its id (in the same id space as shared workspaces).
    pub id: WorkspaceId,
    /// The organisation.
    pub organisation: OrganisationId,
    /// Its owner, the only person who can see it.
    pub owner: UserId,
    /// When it was made (when the owner joined the organisation).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was archived (R27); `None` while it is active, including once it has come
    /// back because its owner holds no current shared membership there (R41).
    #[serde(with = "time::serde::rfc3339::option")]
    pub archived_at: Option<OffsetDateTime>,
}

impl PersonalWorkspace {
    /// Its name, the same for everyone.
    pub const NAME: &'static str = "My Workspace";

    /// Whether it is still in use.
    pub fn is_active(&self) -> bool {
        self.archived_at.is_none()
    }
}

/// A member's role in a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Runs the workspace.
    Admin,
    /// Everyone else.
    Member,
}

/// A member's status in a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MemberStatus {
    /// Asked to join and waiting for an approver (R14, R15).
    Unapproved,
    /// A full member who sees everything in the workspace (R30).
    Approved,
    /// Removed by an admin, restorable (R22).
    Archived,
}

/// Where a membership stands. Role and status are one enum because they are not
/// independent: admins are always approved, archived members are never admins (R22, R25).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MembershipState {
    /// An unapproved member (a pending join request).
    Unapproved,
    /// An approved member without the admin role.
    Member,
    /// An admin (always approved).
    Admin,
    /// An archived member.
    Archived,
}

stored_names!(Role { Admin => "admin", Member => "member" });
stored_names!(MemberStatus { Unapproved => "unapproved", Approved => "approved", Archived => "archived" });

impl MembershipState {
    /// Rebuilds a state from the stored names of its role and status
    /// ([`Role::as_str`], [`MemberStatus::as_str`]); `None` for unknown names and for
    /// combinations that cannot exist.
    pub fn from_stored(role: &str, status: &str) -> Option<Self> {
        Self::from_parts(Role::from_str_opt(role)?, MemberStatus::from_str_opt(status)?)
    }

    /// The role: `Admin` for admins, `Member` for everyone else.
    pub fn role(self) -> Role {
        if self == Self::Admin { Role::Admin } else { Role::Member }
    }

    /// The status.
    pub fn status(self) -> MemberStatus {
        match self {
            Self::Unapproved => MemberStatus::Unapproved,
            Self::Member | Self::Admin => MemberStatus::Approved,
            Self::Archived => MemberStatus::Archived,
        }
    }

    /// Rebuilds a state from a role and a status, as a storage backend reads them.
    /// `None` for combinations that cannot exist (an unapproved or archived admin).
    pub fn from_parts(role: Role, status: MemberStatus) -> Option<Self> {
        match (role, status) {
            (Role::Member, MemberStatus::Unapproved) => Some(Self::Unapproved),
            (Role::Member, MemberStatus::Approved) => Some(Self::Member),
            (Role::Admin, MemberStatus::Approved) => Some(Self::Admin),
            (Role::Member, MemberStatus::Archived) => Some(Self::Archived),
            (Role::Admin, MemberStatus::Unapproved | MemberStatus::Archived) => None,
        }
    }

    /// Where members of this state come in a workspace's member list (R22): admins (0),
    /// approved members (1), unapproved members (2), archived members (3). The SQL
    /// backends store it beside each membership.
    pub fn list_rank(self) -> u8 {
        match self {
            Self::Admin => 0,
            Self::Member => 1,
            Self::Unapproved => 2,
            Self::Archived => 3,
        }
    }

    /// Unapproved or approved: someone who is in the workspace now.
    pub fn is_current(self) -> bool {
        !matches!(self, Self::Archived)
    }

    /// Approved (member or admin).
    pub fn is_approved(self) -> bool {
        matches!(self, Self::Member | Self::Admin)
    }
}

/// One user's membership of one shared workspace (at most one per pair, R25).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Membership {
    /// The workspace.
    pub workspace: WorkspaceId,
    /// The member.
    pub user: UserId,
    /// Role and status together.
    pub state: MembershipState,
    /// When the membership began (request, invite, creation).
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: OffsetDateTime,
    /// When its state last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// When a time-boxed membership ends (R39): at this instant the next sweep archives
    /// the member. `None` for a membership without an end date.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
    /// What the sweep has already said about `ends_at` (R39), so that it says it once;
    /// cleared whenever the end date changes.
    #[serde(default)]
    pub end_notice: Option<EndNotice>,
    /// When the sweep escalated this join request to every approved member (R38); set
    /// once, so a request is escalated once.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub escalated_at: Option<OffsetDateTime>,
}

impl Membership {
    /// A membership that begins now in `state`, without an end date.
    pub fn new(workspace: WorkspaceId, user: UserId, state: MembershipState, now: OffsetDateTime) -> Self {
        Self {
            workspace,
            user,
            state,
            joined_at: now,
            updated_at: now,
            ends_at: None,
            end_notice: None,
            escalated_at: None,
        }
    }
}

/// What a sweep has recorded about a membership's end date (R39).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EndNotice {
    /// The reminder that the membership ends soon was sent.
    Reminded,
    /// The end date passed while the member was the workspace's last admin, so they were
    /// kept (R25) and an event said why; they are archived once another admin exists.
    KeptAsLastAdmin,
}

impl EndNotice {
    /// A stable lower-case name, used by storage backends.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reminded => "reminded",
            Self::KeptAsLastAdmin => "kept_as_last_admin",
        }
    }

    /// The inverse of [`EndNotice::as_str`].
    pub fn from_str_opt(s: &str) -> Option<Self> {
        [Self::Reminded, Self::KeptAsLastAdmin].into_iter().find(|n| n.as_str() == s)
    }
}

/// Why a member was archived (R22, R39).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArchiveReason {
    /// An admin archived them (R22).
    #[default]
    ByAdmin,
    /// Their time-boxed membership reached its end date (R39): "membership ended".
    MembershipEnded,
}

impl fmt::Display for ArchiveReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ByAdmin => "archived by an admin",
            Self::MembershipEnded => "membership ended",
        })
    }
}

/// Where an invite stands (R18–R20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InviteStatus {
    /// Waiting for the invitee (until `expires_at`).
    Pending,
    /// Accepted by the invitee.
    Accepted,
    /// Revoked by an admin or its sender, or because its sender left or was archived,
    /// or because the workspace was archived.
    Revoked,
    /// Replaced after its expiry by a new invite to the same address.
    Expired,
}

stored_names!(InviteStatus { Pending => "pending", Accepted => "accepted", Revoked => "revoked", Expired => "expired" });

/// An emailed offer to join a workspace (R18).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Invite {
    /// Its id.
    pub id: InviteId,
    /// The workspace it offers.
    pub workspace: WorkspaceId,
    /// Who it is addressed to.
    pub email: NhsEmail,
    /// Who sent it, or, once refreshed, who last refreshed it (R18): the member who may
    /// revoke it besides the admins (R20), and whose leaving revokes it (R21).
    pub invited_by: UserId,
    /// When it was first sent.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it stops being acceptable.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Its status; a `Pending` invite past `expires_at` is expired in effect.
    pub status: InviteStatus,
    /// When it was accepted, revoked or replaced.
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
    /// Who accepted or revoked it.
    pub resolved_by: Option<UserId>,
}

impl Invite {
    /// Whether it can still be accepted at `now`.
    pub fn is_pending_at(&self, now: OffsetDateTime) -> bool {
        self.status == InviteStatus::Pending && now < self.expires_at
    }
}

/// A declined join request, remembered for the re-request cool-down (R17).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Decline {
    /// The workspace.
    pub workspace: WorkspaceId,
    /// The declined requester.
    pub user: UserId,
    /// When the latest request was declined.
    #[serde(with = "time::serde::rfc3339")]
    pub declined_at: OffsetDateTime,
}

/// The header of a patient-communication thread (R29). The host stores the messages.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Conversation {
    /// Its id.
    pub id: ConversationId,
    /// The workspace (shared or personal) it belongs to, for ever.
    pub workspace: WorkspaceId,
    /// Who started it.
    pub started_by: UserId,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_round_trip() {
        for role in [Role::Admin, Role::Member] {
            assert_eq!(Role::from_str_opt(role.as_str()), Some(role));
        }
        for status in [MemberStatus::Unapproved, MemberStatus::Approved, MemberStatus::Archived] {
            assert_eq!(MemberStatus::from_str_opt(status.as_str()), Some(status));
        }
        for status in [WorkspaceStatus::Active, WorkspaceStatus::Archived] {
            assert_eq!(WorkspaceStatus::from_str_opt(status.as_str()), Some(status));
        }
        for status in [InviteStatus::Pending, InviteStatus::Accepted, InviteStatus::Revoked, InviteStatus::Expired] {
            assert_eq!(InviteStatus::from_str_opt(status.as_str()), Some(status));
        }
        for state in
            [MembershipState::Unapproved, MembershipState::Member, MembershipState::Admin, MembershipState::Archived]
        {
            assert_eq!(MembershipState::from_stored(state.role().as_str(), state.status().as_str()), Some(state));
        }
        assert_eq!(MembershipState::from_stored("admin", "archived"), None, "an archived admin cannot exist");
        assert_eq!(Role::from_str_opt("owner"), None);
    }
}
