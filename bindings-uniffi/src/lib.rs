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

/// Declares [`CarespaceError`]: each kind carries Carespace's sentence as `reason`;
/// storage failures carry their code and whether a retry may succeed too.
macro_rules! carespace_error {
    ($($(#[$doc:meta])* $variant:ident,)*) => {
        /// Every way a Carespace call can fail: a sealed class (Kotlin) or an enum
        /// (Swift) with one case per kind. `reason` is Carespace's own sentence, written
        /// for a person to read (also the error's `toString()` / `description`). A failed
        /// command changed nothing.
        #[derive(Debug, thiserror::Error, uniffi::Error)]
        #[uniffi::export(Display)]
        #[non_exhaustive]
        pub enum CarespaceError {
            $(
                $(#[$doc])*
                #[error("{reason}")]
                $variant {
                    /// What went wrong, as a sentence.
                    reason: String,
                },
            )*
            /// The storage backend failed. Retry the whole call when `retryable` is true
            /// (a conflict with a concurrent writer, a busy database, a database that
            /// could not be reached or was lost before the call committed: nothing was
            /// written); otherwise the sentence says what to look at.
            #[error("{reason}")]
            Storage {
                /// What went wrong, as a sentence.
                reason: String,
                /// Carespace's code for it (`storage_conflict`, `storage_unavailable`,
                /// `storage_corrupt`, …), the same in every language.
                code: String,
                /// Whether retrying the same call may succeed.
                retryable: bool,
            },
        }

        impl From<carespace::Error> for CarespaceError {
            /// The one mapping from core's errors. No catch-all: a new core variant does
            /// not compile until it has a case here.
            fn from(e: carespace::Error) -> Self {
                use carespace::Error as E;
                let reason = e.to_string();
                match e {
                    $(E::$variant { .. } => Self::$variant { reason },)*
                    E::Storage(storage) => Self::Storage {
                        reason,
                        code: storage.kind().code().to_owned(),
                        retryable: storage.is_retryable(),
                    },
                }
            }
        }
    };
}

carespace_error! {
    /// Not an NHS.net or NHS.uk email address.
    InvalidEmail,
    /// A name, description or ODS code is malformed.
    InvalidText,
    /// A string is not a valid id.
    InvalidId,
    /// A speciality code is not in the catalogue.
    UnknownSpeciality,
    /// No record with that id.
    NotFound,
    /// A user with this email exists.
    EmailTaken,
    /// An organisation with this ODS code exists.
    OdsCodeTaken,
    /// An active workspace of the organisation has this name.
    WorkspaceNameTaken,
    /// A refusal for lack of rights (R34), whatever its reason (not in the organisation,
    /// creation not allowed for its kind, not the invitee, not an admin, …): the one case
    /// for all of them. The message names the action and the reason.
    Forbidden,
    /// The last admin may not leave or be demoted.
    LastAdmin,
    /// An admin must be demoted before being archived.
    AdminMustBeDemoted,
    /// Already a member.
    AlreadyMember,
    /// An archived member; only an admin can bring them back.
    ArchivedMember,
    /// Not a member in the state the command needs.
    NotAMember,
    /// No pending join request from this person.
    NoPendingRequest,
    /// The command must be aimed at someone else.
    SelfTarget,
    /// The invite expired.
    InviteExpired,
    /// The invite was revoked.
    InviteRevoked,
    /// The invite was already accepted.
    InviteAlreadyAccepted,
    /// A declined requester asked again too soon.
    CoolDown,
    /// A membership end date must lie after the present.
    EndDateNotInFuture,
    /// An instant to be recorded lies outside 1900–2200.
    TimeOutOfRange,
    /// The organisation closed: it accepts nothing new.
    OrganisationClosed,
    /// A strict import found rows it could not read and wrote nothing.
    ImportRejected,
    /// A file could not be read.
    Unreadable,
    /// A page's cursor belongs to another list or query.
    InvalidCursor,
    /// A page's limit is out of range.
    InvalidLimit,
    /// A consumer acknowledged before its position or past the log's end (R42).
    AcknowledgementOutOfRange,
}

type Result<T> = std::result::Result<T, CarespaceError>;

fn parse<T: std::str::FromStr<Err = carespace::Error>>(text: &str) -> Result<T> {
    Ok(text.parse()?)
}

/// A speciality code from Kotlin or Swift, where it is a signed `Int`.
fn speciality(code: i32) -> Result<Speciality> {
    let code = u16::try_from(code).map_err(|_| CarespaceError::UnknownSpeciality {
        reason: format!("{code} is not a speciality code in the NHS Data Dictionary catalogue"),
    })?;
    Ok(Speciality::from_code(code)?)
}

/// A count (a page's or a read's limit) from Kotlin or Swift, where it is a signed
/// `Int`: core takes it unsigned, so a negative one is refused here.
fn count(limit: i32) -> Result<u32> {
    u32::try_from(limit).map_err(|_| CarespaceError::InvalidLimit {
        reason: format!("a limit counts entries, so it cannot be {limit}"),
    })
}

/// A sequence number to read after, from Kotlin or Swift (a signed `Long`): every
/// event comes after a negative one, as after 0.
fn after(seq: i64) -> u64 {
    u64::try_from(seq).unwrap_or(0)
}

/// A wait in milliseconds from Kotlin or Swift (a signed `Long`): a negative wait does
/// not wait.
fn millis(ms: i64) -> std::time::Duration {
    std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// A count core keeps as `u32`, for Kotlin or Swift (a signed `Int`).
fn int(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A sequence number or count that core keeps unsigned, for Kotlin or Swift (a signed
/// `Long`); a log never holds 2⁶³ events.
fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
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

mod event;
mod records;
mod service;

pub use event::{ArchiveReason, Event, EventKind};
pub use records::*;
pub use service::{Carespace, Consumption, ManualClock, Options};

#[cfg(test)]
mod tests {
    use carespace::{StorageError, StorageErrorKind};

    use super::*;

    #[test]
    fn storage_errors_carry_their_code_and_whether_a_retry_may_succeed() {
        let conflict = carespace::Error::Storage(StorageError::new(StorageErrorKind::Conflict, "busy"));
        let CarespaceError::Storage { reason, code, retryable } = conflict.into() else { panic!("not Storage") };
        assert_eq!((reason.as_str(), code.as_str(), retryable), ("storage failed: busy", "storage_conflict", true));
        let corrupt = carespace::Error::Storage(StorageError::new(StorageErrorKind::Corrupt, "bad page"));
        let CarespaceError::Storage { code, retryable, .. } = corrupt.into() else { panic!("not Storage") };
        assert_eq!((code.as_str(), retryable), ("storage_corrupt", false));
    }

    #[test]
    fn signed_values_from_kotlin_and_swift_out_of_range_are_typed_errors() {
        assert!(matches!(count(-1), Err(CarespaceError::InvalidLimit { .. })));
        assert_eq!(count(7).ok(), Some(7));
        for code in [-1, 70_000] {
            let Err(CarespaceError::UnknownSpeciality { reason }) = speciality(code) else { panic!("{code} accepted") };
            assert!(reason.starts_with(&code.to_string()), "{reason}");
        }
        assert_eq!(speciality(501).ok(), Speciality::from_code(501).ok());
        assert_eq!((after(-5), after(9)), (0, 9));
        assert_eq!((millis(-1), millis(250)), (std::time::Duration::ZERO, std::time::Duration::from_millis(250)));
        assert_eq!(signed(u64::MAX), i64::MAX);
    }
}
