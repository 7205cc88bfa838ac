//! `carespace-ffi`: the Carespace service for Kotlin (Android) and Swift (iOS) apps,
//! through uniffi proc-macros.
//!
//! A thin wrapper: one thread-safe [`Carespace`] object over a SQLite file or memory,
//! plain records and enums for what it returns, ids as `UUID` and times as
//! `Instant`/`Date` on each side, and one error enum that maps every core error once,
//! keeping its message.
#![allow(clippy::needless_pass_by_value)] // uniffi passes arguments by value

use carespace::Speciality;
use uuid::Uuid;

uniffi::setup_scaffolding!();

uniffi::custom_type!(Uuid, String, {
    remote,
    lower: |id| id.to_string(),
    try_lift: |text| Ok(Uuid::parse_str(&text)?),
});

/// Every way a Carespace call can fail; the message is Carespace's own, written for a
/// person to read. A failed command changed nothing.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
#[non_exhaustive]
pub enum CarespaceError {
    /// Not an NHS.net or NHS.uk email address.
    #[error("{0}")]
    InvalidEmail(String),
    /// A name, description or ODS code is malformed.
    #[error("{0}")]
    InvalidText(String),
    /// A string is not a valid id.
    #[error("{0}")]
    InvalidId(String),
    /// A speciality code is not in the catalogue.
    #[error("{0}")]
    UnknownSpeciality(String),
    /// No record with that id.
    #[error("{0}")]
    NotFound(String),
    /// A user with this email exists.
    #[error("{0}")]
    EmailTaken(String),
    /// An organisation with this ODS code exists.
    #[error("{0}")]
    OdsCodeTaken(String),
    /// An active workspace of the organisation has this name.
    #[error("{0}")]
    WorkspaceNameTaken(String),
    /// A refusal for lack of rights (R34), whatever its reason (not in the organisation,
    /// creation not allowed for its kind, not the invitee, not an admin, …): the one case
    /// for all of them. The message names the action and the reason.
    #[error("{0}")]
    Forbidden(String),
    /// The last admin may not leave or be demoted.
    #[error("{0}")]
    LastAdmin(String),
    /// An admin must be demoted before being archived.
    #[error("{0}")]
    AdminMustBeDemoted(String),
    /// Already a member.
    #[error("{0}")]
    AlreadyMember(String),
    /// An archived member; only an admin can bring them back.
    #[error("{0}")]
    ArchivedMember(String),
    /// Not a member in the state the command needs.
    #[error("{0}")]
    NotAMember(String),
    /// No pending join request from this person.
    #[error("{0}")]
    NoPendingRequest(String),
    /// The command must be aimed at someone else.
    #[error("{0}")]
    SelfTarget(String),
    /// The invite expired.
    #[error("{0}")]
    InviteExpired(String),
    /// The invite was revoked.
    #[error("{0}")]
    InviteRevoked(String),
    /// The invite was already accepted.
    #[error("{0}")]
    InviteAlreadyAccepted(String),
    /// A declined requester asked again too soon.
    #[error("{0}")]
    CoolDown(String),
    /// A membership end date must lie after the present.
    #[error("{0}")]
    EndDateNotInFuture(String),
    /// An instant to be recorded lies outside 1900–2200.
    #[error("{0}")]
    TimeOutOfRange(String),
    /// The organisation closed: it accepts nothing new.
    #[error("{0}")]
    OrganisationClosed(String),
    /// A strict import found rows it could not read and wrote nothing.
    #[error("{0}")]
    ImportRejected(String),
    /// A file could not be read.
    #[error("{0}")]
    Unreadable(String),
    /// A page's cursor belongs to another list or query.
    #[error("{0}")]
    InvalidCursor(String),
    /// A page's limit is out of range.
    #[error("{0}")]
    InvalidLimit(String),
    /// A consumer acknowledged before its position or past the log's end (R42).
    #[error("{0}")]
    AcknowledgementOutOfRange(String),
    /// The storage backend failed.
    #[error("{0}")]
    Storage(String),
}

impl From<carespace::Error> for CarespaceError {
    /// The one mapping from core's errors. No catch-all: a new core variant does not
    /// compile until it has a case here.
    fn from(e: carespace::Error) -> Self {
        use carespace::Error as E;
        let message = e.to_string();
        match e {
            E::InvalidEmail(_) => Self::InvalidEmail(message),
            E::InvalidText(_) => Self::InvalidText(message),
            E::InvalidId { .. } => Self::InvalidId(message),
            E::UnknownSpeciality { .. } => Self::UnknownSpeciality(message),
            E::NotFound { .. } => Self::NotFound(message),
            E::EmailTaken { .. } => Self::EmailTaken(message),
            E::OdsCodeTaken { .. } => Self::OdsCodeTaken(message),
            E::WorkspaceNameTaken { .. } => Self::WorkspaceNameTaken(message),
            E::Forbidden { .. } => Self::Forbidden(message),
            E::LastAdmin { .. } => Self::LastAdmin(message),
            E::AdminMustBeDemoted { .. } => Self::AdminMustBeDemoted(message),
            E::AlreadyMember { .. } => Self::AlreadyMember(message),
            E::ArchivedMember { .. } => Self::ArchivedMember(message),
            E::NotAMember { .. } => Self::NotAMember(message),
            E::NoPendingRequest { .. } => Self::NoPendingRequest(message),
            E::SelfTarget { .. } => Self::SelfTarget(message),
            E::InviteExpired { .. } => Self::InviteExpired(message),
            E::InviteRevoked { .. } => Self::InviteRevoked(message),
            E::InviteAlreadyAccepted { .. } => Self::InviteAlreadyAccepted(message),
            E::CoolDown { .. } => Self::CoolDown(message),
            E::EndDateNotInFuture { .. } => Self::EndDateNotInFuture(message),
            E::TimeOutOfRange { .. } => Self::TimeOutOfRange(message),
            E::OrganisationClosed { .. } => Self::OrganisationClosed(message),
            E::ImportRejected { .. } => Self::ImportRejected(message),
            E::Unreadable { .. } => Self::Unreadable(message),
            E::InvalidCursor { .. } => Self::InvalidCursor(message),
            E::InvalidLimit { .. } => Self::InvalidLimit(message),
            E::AcknowledgementOutOfRange { .. } => Self::AcknowledgementOutOfRange(message),
            E::Storage(_) => Self::Storage(message),
        }
    }
}

type Result<T> = std::result::Result<T, CarespaceError>;

fn parse<T: std::str::FromStr<Err = carespace::Error>>(text: &str) -> Result<T> {
    Ok(text.parse()?)
}

fn speciality(code: u16) -> Result<Speciality> {
    Ok(Speciality::from_code(code)?)
}

// ----- Enums ----------------------------------------------------------------------------

/// The kind of an NHS organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum OrganisationKind {
    /// An NHS trust.
    NhsTrust,
    /// A GP practice.
    GpPractice,
    /// A pharmacy.
    Pharmacy,
    /// Any other NHS body.
    Other,
    /// A walk-in centre.
    WalkInCentre,
    /// An out-of-hours service.
    OutOfHours,
    /// Urgent and emergency care.
    UrgentCare,
    /// A public health or community health service.
    CommunityService,
    /// A hospital service.
    HospitalService,
    /// An optometry service.
    Optometry,
    /// A hospice.
    Hospice,
    /// A care home or nursing home.
    CareHome,
    /// Health care in the justice estate.
    JusticeHealth,
}

/// What to search the organisation directory by.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum OrganisationSearch {
    /// A name fragment: each word starts a word of the name (any case, accents,
    /// apostrophes).
    Name {
        /// The fragment, e.g. "st thom".
        text: String,
    },
    /// An exact ODS code (any case).
    OdsCode {
        /// The code, e.g. "RJ1".
        code: String,
    },
    /// The start of a postcode.
    Postcode {
        /// The prefix, e.g. "TS18".
        prefix: String,
    },
}

impl From<OrganisationSearch> for carespace::directory::OrganisationSearch {
    fn from(search: OrganisationSearch) -> Self {
        match search {
            OrganisationSearch::Name { text } => Self::Name(text),
            OrganisationSearch::OdsCode { code } => Self::OdsCode(code),
            OrganisationSearch::Postcode { prefix } => Self::Postcode(prefix),
        }
    }
}

/// A member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Role {
    /// Runs the workspace.
    Admin,
    /// Everyone else.
    Member,
}

/// A member's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MemberStatus {
    /// Asked to join, waiting for approval.
    Unapproved,
    /// Sees everything in the workspace.
    Approved,
    /// Removed by an admin, restorable.
    Archived,
}

/// Whether a workspace is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum WorkspaceStatus {
    /// In use.
    Active,
    /// Its last member left.
    Archived,
}

/// Where an invite stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum InviteStatus {
    /// Waiting for the invitee.
    Pending,
    /// Accepted.
    Accepted,
    /// Revoked.
    Revoked,
    /// Expired.
    Expired,
}

/// How joining ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum JoinOutcome {
    /// Created the workspace (an example), as its admin.
    Created,
    /// Waiting for approval.
    Requested,
    /// A pending invite was accepted.
    AcceptedInvite,
    /// Already a member; nothing changed.
    AlreadyMember,
}

/// Who approves join requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Approvers {
    /// Admins only (the default).
    Admins,
    /// Every approved member.
    ApprovedMembers,
}

/// Where a new event consumer starts (R42).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ConsumerStart {
    /// At the log's first event: it receives the whole history.
    Beginning,
    /// After the log's last event at registration: only what happens from then on.
    Head,
}

/// SQLite durability: `Full` survives power loss; `Normal` only process crashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Durability {
    /// `synchronous=FULL` (the default).
    Full,
    /// `synchronous=NORMAL`.
    Normal,
}

/// Everything a person may try to do in a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Action {
    /// Send messages: start conversations.
    StartConversation,
    /// See one's own conversations.
    ViewOwnConversations,
    /// See every conversation.
    ViewAllConversations,
    /// Create personal message templates.
    CreatePersonalTemplate,
    /// Create personal patient lists.
    CreatePersonalPatientList,
    /// See the member list.
    ViewMembers,
    /// Use shared templates.
    ViewSharedTemplates,
    /// Use shared patient lists.
    ViewSharedPatientLists,
    /// Ask to join.
    RequestToJoin,
    /// Leave.
    Leave,
    /// Invite an NHS email.
    Invite,
    /// Revoke one's own invite.
    RevokeOwnInvite,
    /// Revoke anyone's invite.
    RevokeAnyInvite,
    /// Approve a join request.
    Approve,
    /// Decline a join request.
    Decline,
    /// Archive a member.
    ArchiveMember,
    /// Unarchive a member.
    UnarchiveMember,
    /// Promote a member to admin.
    Promote,
    /// Demote an admin.
    Demote,
    /// Change the workspace settings.
    ChangeSettings,
    /// Set, extend or clear the end date of a membership.
    SetMembershipEnd,
    /// Accept an invite to the workspace.
    AcceptInvite,
    /// Create a workspace in an organisation (asked of an organisation).
    CreateWorkspace,
    /// See an organisation's workspaces (asked of an organisation).
    DiscoverWorkspaces,
}

/// Why someone could see a workspace's conversations at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Sight {
    /// An approved member.
    Member,
    /// An admin.
    Admin,
    /// The owner of a My Workspace.
    Owner,
}

/// Conversions from core's enums (exhaustive: a new core variant fails to compile
/// here until the bindings name it).
macro_rules! from_core {
    ($ours:ident <= $core:path: $($variant:ident),*) => {
        impl From<$core> for $ours {
            fn from(v: $core) -> Self {
                use $core as C;
                match v {
                    $(C::$variant => Self::$variant,)*
                }
            }
        }
    };
}

/// Conversions into core's enums.
macro_rules! to_core {
    ($ours:ident => $core:path: $($variant:ident),*) => {
        impl From<$ours> for $core {
            fn from(v: $ours) -> Self {
                match v {
                    $($ours::$variant => Self::$variant,)*
                }
            }
        }
    };
}

from_core!(OrganisationKind <= carespace::OrganisationKind: NhsTrust, GpPractice, Pharmacy, Other, WalkInCentre, OutOfHours, UrgentCare, CommunityService, HospitalService,
    Optometry, Hospice, CareHome, JusticeHealth);
to_core!(OrganisationKind => carespace::OrganisationKind: NhsTrust, GpPractice, Pharmacy, Other, WalkInCentre, OutOfHours, UrgentCare, CommunityService, HospitalService,
    Optometry, Hospice, CareHome, JusticeHealth);
from_core!(Role <= carespace::Role: Admin, Member);
from_core!(MemberStatus <= carespace::MemberStatus: Unapproved, Approved, Archived);
from_core!(WorkspaceStatus <= carespace::WorkspaceStatus: Active, Archived);
from_core!(InviteStatus <= carespace::InviteStatus: Pending, Accepted, Revoked, Expired);
from_core!(JoinOutcome <= carespace::JoinOutcome: Created, Requested, AcceptedInvite, AlreadyMember);
to_core!(Approvers => carespace::Approvers: Admins, ApprovedMembers);
to_core!(ConsumerStart => carespace::ConsumerStart: Beginning, Head);
to_core!(Action => carespace::Action: StartConversation, ViewOwnConversations, ViewAllConversations,
    CreatePersonalTemplate, CreatePersonalPatientList, ViewMembers, ViewSharedTemplates, ViewSharedPatientLists,
    RequestToJoin, Leave, Invite, RevokeOwnInvite, RevokeAnyInvite, Approve, Decline, ArchiveMember,
    UnarchiveMember, Promote, Demote, ChangeSettings, SetMembershipEnd, AcceptInvite, CreateWorkspace,
    DiscoverWorkspaces);
from_core!(Sight <= carespace::Sight: Member, Admin, Owner);

mod records;
mod service;

pub use records::*;
pub use service::{Carespace, Consumption, ManualClock, Options};
