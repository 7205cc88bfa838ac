//! [`Error`]: every way a Carespace command or query can fail, each with a message a
//! person can act on (R35).
//!
//! # Design
//! One public enum whose variants say what went wrong in the domain's words. It is
//! deliberately not `#[non_exhaustive]`: the bindings map every variant to a class of
//! their own, and a new variant must fail to compile there until it is mapped (a new
//! variant is a breaking change, announced in the version). Storage failures are wrapped opaquely in [`StorageError`] so no
//! backend type leaks into core; a backend marks the ones worth retrying (a
//! serialization conflict, a busy database) so a transaction runner can retry them.

use std::fmt;

use time::{Date, OffsetDateTime};

use crate::directory::Rejected;
use crate::permission::{Action, Denial};
use crate::{EmailError, NhsEmail, TextError};

/// The kind of thing a [`Error::NotFound`] could not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Entity {
    /// An organisation.
    Organisation,
    /// A user.
    User,
    /// A workspace (shared or personal).
    Workspace,
    /// An invite.
    Invite,
    /// A membership.
    Membership,
    /// An event consumer (R42).
    Consumer,
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Organisation => "organisation",
            Self::User => "user",
            Self::Workspace => "workspace",
            Self::Invite => "invite",
            Self::Membership => "membership",
            Self::Consumer => "event consumer",
        })
    }
}

/// Everything that can go wrong. Messages name people and workspaces where that helps.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An email address is not an NHS address (R2).
    #[error("invalid email address: {0}")]
    InvalidEmail(#[from] EmailError),
    /// A name, description or ODS code is malformed (R1, R5, R6).
    #[error("{0}")]
    InvalidText(#[from] TextError),
    /// A string is not a valid id.
    #[error("“{value}” is not a valid {what}")]
    InvalidId {
        /// What kind of id was expected.
        what: &'static str,
        /// The string given.
        value: String,
    },
    /// A speciality code is not in the catalogue (R10).
    #[error("{code} is not a speciality code in the NHS Data Dictionary catalogue")]
    UnknownSpeciality {
        /// The code given.
        code: u16,
    },
    /// No such organisation, user, workspace, invite or membership.
    #[error("no {entity} found for “{id}”")]
    NotFound {
        /// What was looked for.
        entity: Entity,
        /// The id looked for.
        id: String,
    },
    /// A user with this email already exists (R3).
    #[error("a user with the email {email} is already registered")]
    EmailTaken {
        /// The email.
        email: NhsEmail,
    },
    /// An organisation with this ODS code already exists (R1).
    #[error("an organisation with the ODS code {code} is already registered")]
    OdsCodeTaken {
        /// The ODS code.
        code: String,
    },
    /// An active workspace of the organisation already has this name (R6).
    #[error("{organisation} already has an active workspace called “{name}”")]
    WorkspaceNameTaken {
        /// The name asked for.
        name: String,
        /// The organisation's name.
        organisation: String,
    },
    /// A refusal for lack of rights (R34), whatever its reason: the permission table said
    /// no, in a workspace or in an organisation. Nothing was changed.
    /// [`Error::is_forbidden`] recognises it; `denial` says why.
    #[error("{actor} may not {action} in {place}: {denial}")]
    Forbidden {
        /// What was attempted.
        action: Action,
        /// Why it was refused.
        denial: Denial,
        /// The actor's name.
        actor: String,
        /// Where it was attempted, as a person names it: a workspace's name in quotes,
        /// or an organisation's name.
        place: String,
    },
    /// The last admin may not leave or be demoted (R21, R23).
    #[error("{user} is the last admin of “{workspace}”; {remedy}")]
    LastAdmin {
        /// The admin's name.
        user: String,
        /// The workspace's name.
        workspace: String,
        /// What to do instead.
        remedy: &'static str,
    },
    /// An admin must be demoted before being archived (R22).
    #[error("{user} is an admin of “{workspace}”; demote them to member before archiving them")]
    AdminMustBeDemoted {
        /// The admin's name.
        user: String,
        /// The workspace's name.
        workspace: String,
    },
    /// The target is already a current member (R18).
    #[error("{who} is already a member of “{workspace}”")]
    AlreadyMember {
        /// The person (name or email).
        who: String,
        /// The workspace's name.
        workspace: String,
    },
    /// The target is an archived member (R14, R18): only an admin can bring them back.
    #[error("{who} was archived from “{workspace}”; only an admin can unarchive them")]
    ArchivedMember {
        /// The person (name or email).
        who: String,
        /// The workspace's name.
        workspace: String,
    },
    /// The target has no membership in the state the command needs.
    #[error("{user} is not {expected} of “{workspace}”")]
    NotAMember {
        /// The person's name.
        user: String,
        /// The workspace's name.
        workspace: String,
        /// What they would need to be ("a member", "an approved member", …).
        expected: &'static str,
    },
    /// There is no pending join request from this user (R16, R17).
    #[error("{user} has no pending request to join “{workspace}”")]
    NoPendingRequest {
        /// The person's name.
        user: String,
        /// The workspace's name.
        workspace: String,
    },
    /// A command aimed at oneself that must be aimed at someone else (archive: use leave).
    #[error("you cannot {action} yourself; {remedy}")]
    SelfTarget {
        /// What was attempted.
        action: Action,
        /// What to do instead.
        remedy: &'static str,
    },
    /// The invite expired (R19).
    #[error("the invite to “{workspace}” expired at {expired_at}; ask for a new one")]
    InviteExpired {
        /// The workspace's name.
        workspace: String,
        /// When it expired.
        expired_at: OffsetDateTime,
    },
    /// The invite was revoked (R19, R20).
    #[error("the invite to “{workspace}” was revoked")]
    InviteRevoked {
        /// The workspace's name.
        workspace: String,
    },
    /// The invite was already accepted by someone (R19) and cannot be revoked.
    #[error("the invite to “{workspace}” was already accepted")]
    InviteAlreadyAccepted {
        /// The workspace's name.
        workspace: String,
    },
    /// A declined requester asked again too soon (R17).
    #[error("your request to join “{workspace}” was declined; you can ask again from {until}")]
    CoolDown {
        /// The workspace's name.
        workspace: String,
        /// When they may ask again.
        until: OffsetDateTime,
    },
    /// A membership end date must lie after the present (R39).
    #[error("the end date {ends_at} for {user} in “{workspace}” is not in the future; pick a later date, or clear it")]
    EndDateNotInFuture {
        /// The member's name.
        user: String,
        /// The workspace's name.
        workspace: String,
        /// The date given.
        ends_at: OffsetDateTime,
    },
    /// An instant to be written down lies outside
    /// [`SUPPORTED_TIMES`](crate::SUPPORTED_TIMES): a clock set far off, or a date given.
    #[error("{at} is outside the times Carespace records (from 1900 up to 2200, UTC)")]
    TimeOutOfRange {
        /// The instant.
        at: OffsetDateTime,
    },
    /// The organisation closed (R40): it accepts no new member, workspace, request or
    /// invite. What its members already have is unchanged.
    #[error("“{organisation}” closed on {}: it accepts no new members, workspaces, requests or invites", long_date(*closed_on))]
    OrganisationClosed {
        /// Its name.
        organisation: String,
        /// The day it closed.
        closed_on: Date,
    },
    /// A strict import found rows it could not read, and wrote nothing (R40).
    #[error("{} rows of the file cannot be read, so nothing was imported; the first: {}", rejected.len(), rejected.first().map(ToString::to_string).unwrap_or_default())]
    ImportRejected {
        /// Each row that cannot be read, with its line and reason.
        rejected: Vec<Rejected>,
    },
    /// A file could not be read at all.
    #[error("cannot read {what}: {reason}")]
    Unreadable {
        /// What was being read.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// A page's cursor does not belong to the list or query it was given to (altered,
    /// cut short, or from another list), R43.
    #[error("that cursor does not belong to this {list}: start again from the first page")]
    InvalidCursor {
        /// The list.
        list: &'static str,
    },
    /// A page's limit is outside 1 to the most a page holds (R43).
    #[error("a page holds 1 to {max} entries, not {limit}")]
    InvalidLimit {
        /// The limit asked for.
        limit: u32,
        /// The most a page holds.
        max: u32,
    },
    /// An acknowledgement before the consumer's position or past the log's last event
    /// (R42). Nothing was changed.
    #[error(
        "cannot acknowledge event {seq} for the consumer “{consumer}”: it has acknowledged up to {acknowledged} \
         and the log ends at {head}, so acknowledge from {acknowledged} to {head}"
    )]
    AcknowledgementOutOfRange {
        /// The consumer's name.
        consumer: String,
        /// The sequence number given.
        seq: u64,
        /// The consumer's position.
        acknowledged: u64,
        /// The log's last sequence number.
        head: u64,
    },
    /// The storage backend failed. The command changed nothing.
    #[error("storage failed: {0}")]
    Storage(#[from] StorageError),
}

/// A day as a person writes it: "31 October 2017".
fn long_date(day: Date) -> String {
    format!("{} {} {}", day.day(), day.month(), day.year())
}

impl Error {
    /// A stable snake_case name for the kind of error, for hosts to branch on and to
    /// put in logs and API responses: it never changes for a kind, whatever the message
    /// says. `README.md` maps each to the HTTP status a web host would answer with.
    ///
    /// ```
    /// let err = "someone@gmail.com".parse::<carespace::NhsEmail>().map_err(carespace::Error::from).unwrap_err();
    /// assert_eq!(err.code(), "invalid_email");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidEmail(_) => "invalid_email",
            Self::InvalidText(_) => "invalid_text",
            Self::InvalidId { .. } => "invalid_id",
            Self::UnknownSpeciality { .. } => "unknown_speciality",
            Self::NotFound { .. } => "not_found",
            Self::EmailTaken { .. } => "email_taken",
            Self::OdsCodeTaken { .. } => "ods_code_taken",
            Self::WorkspaceNameTaken { .. } => "workspace_name_taken",
            Self::Forbidden { .. } => "forbidden",
            Self::LastAdmin { .. } => "last_admin",
            Self::AdminMustBeDemoted { .. } => "admin_must_be_demoted",
            Self::AlreadyMember { .. } => "already_member",
            Self::ArchivedMember { .. } => "archived_member",
            Self::NotAMember { .. } => "not_a_member",
            Self::NoPendingRequest { .. } => "no_pending_request",
            Self::SelfTarget { .. } => "self_target",
            Self::InviteExpired { .. } => "invite_expired",
            Self::InviteRevoked { .. } => "invite_revoked",
            Self::InviteAlreadyAccepted { .. } => "invite_already_accepted",
            Self::CoolDown { .. } => "cool_down",
            Self::EndDateNotInFuture { .. } => "end_date_not_in_future",
            Self::TimeOutOfRange { .. } => "time_out_of_range",
            Self::OrganisationClosed { .. } => "organisation_closed",
            Self::ImportRejected { .. } => "import_rejected",
            Self::Unreadable { .. } => "unreadable",
            Self::InvalidCursor { .. } => "invalid_cursor",
            Self::InvalidLimit { .. } => "invalid_limit",
            Self::AcknowledgementOutOfRange { .. } => "acknowledgement_out_of_range",
            Self::Storage(e) => e.kind().code(),
        }
    }

    /// Whether the error is a refusal for lack of rights (R34), whatever its reason: the
    /// one predicate for every such refusal.
    ///
    /// ```
    /// use carespace::permission::{Action, Denial};
    /// let err = carespace::Error::Forbidden {
    ///     action: Action::CreateWorkspace,
    ///     denial: Denial::NotInOrganisation,
    ///     actor: "Dr Ada Lovelace".into(),
    ///     place: "Barts Health NHS Trust".into(),
    /// };
    /// assert!(err.is_forbidden());
    /// assert_eq!(err.code(), "forbidden");
    /// ```
    pub fn is_forbidden(&self) -> bool {
        matches!(self, Self::Forbidden { .. })
    }

    /// Whether a concurrent transaction conflicted ([`StorageErrorKind::Conflict`]): the
    /// transaction may be run again at once. The stores' own runners do, a bounded
    /// number of times, before returning it.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Storage(e) if e.kind() == StorageErrorKind::Conflict)
    }

    /// Whether running the same command again might succeed, and is safe: a storage
    /// conflict or a busy store, or a database that could not be reached or whose
    /// connection was lost before the command was committed. Nothing was written.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Storage(e) if e.is_retryable())
    }
}

/// What kind of storage failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StorageErrorKind {
    /// A concurrent transaction conflicted (serialization failure, busy, deadlock):
    /// the transaction may be retried.
    Conflict,
    /// A constraint the database enforces was violated: core let through something the
    /// schema refuses, which is a bug worth reporting.
    Constraint,
    /// The data read back is not what Carespace writes (corruption, a foreign writer).
    Corrupt,
    /// The database is newer than this code, or otherwise unusable.
    Incompatible,
    /// The database could not be reached: a connection refused, failed or rejected
    /// (network, TLS, authentication, too many clients), none free within the pool's
    /// timeout, or one lost before the command committed (a server restart). Nothing
    /// was written, and running the command again once the database is back is safe;
    /// the message says what failed.
    Unavailable,
    /// Anything else (I/O, connection loss, …).
    Other,
}

impl StorageErrorKind {
    /// The [`Error::code`] of a storage error of this kind.
    pub fn code(self) -> &'static str {
        match self {
            Self::Conflict => "storage_conflict",
            Self::Constraint => "storage_constraint",
            Self::Corrupt => "storage_corrupt",
            Self::Incompatible => "storage_incompatible",
            Self::Unavailable => "storage_unavailable",
            Self::Other => "storage_failed",
        }
    }
}

/// An opaque storage failure: a message, a kind, and the backend's own error as source.
#[derive(Debug)]
pub struct StorageError {
    kind: StorageErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl StorageError {
    /// A failure of `kind` described by `message`.
    pub fn new(kind: StorageErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), source: None }
    }

    /// Attaches the backend's own error.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Its kind.
    pub fn kind(&self) -> StorageErrorKind {
        self.kind
    }

    /// Whether running the command again might succeed, and is safe: nothing was
    /// written. A conflict ([`StorageErrorKind::Conflict`]) may succeed at once (the
    /// stores' own runners retry those); an unreachable database
    /// ([`StorageErrorKind::Unavailable`]) once it is back.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, StorageErrorKind::Conflict | StorageErrorKind::Unavailable)
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One error of every kind. The match has no catch-all, so a new variant does not
    /// compile until it is added here (and so to the README table the next test reads).
    fn one_of_each() -> Vec<Error> {
        let now = OffsetDateTime::UNIX_EPOCH;
        let text = || String::from("x");
        let email = NhsEmail::parse("a@nhs.net").unwrap();
        let mut all = vec![
            Error::InvalidEmail(EmailError::Empty),
            Error::InvalidText(TextError::Empty { field: "name" }),
            Error::InvalidId { what: "workspace id", value: text() },
            Error::UnknownSpeciality { code: 1 },
            Error::NotFound { entity: Entity::User, id: text() },
            Error::OdsCodeTaken { code: text() },
            Error::WorkspaceNameTaken { name: text(), organisation: text() },
            Error::Forbidden { action: Action::Leave, denial: Denial::NotAMember, actor: text(), place: text() },
            Error::LastAdmin { user: text(), workspace: text(), remedy: "r" },
            Error::AdminMustBeDemoted { user: text(), workspace: text() },
            Error::AlreadyMember { who: text(), workspace: text() },
            Error::ArchivedMember { who: text(), workspace: text() },
            Error::NotAMember { user: text(), workspace: text(), expected: "e" },
            Error::NoPendingRequest { user: text(), workspace: text() },
            Error::SelfTarget { action: Action::ArchiveMember, remedy: "r" },
            Error::InviteExpired { workspace: text(), expired_at: now },
            Error::InviteRevoked { workspace: text() },
            Error::InviteAlreadyAccepted { workspace: text() },
            Error::CoolDown { workspace: text(), until: now },
            Error::EndDateNotInFuture { user: text(), workspace: text(), ends_at: now },
            Error::TimeOutOfRange { at: now },
            Error::OrganisationClosed { organisation: text(), closed_on: now.date() },
            Error::ImportRejected { rejected: Vec::new() },
            Error::Unreadable { what: text(), reason: text() },
            Error::InvalidCursor { list: "members" },
            Error::InvalidLimit { limit: 0, max: 1 },
            Error::AcknowledgementOutOfRange { consumer: text(), seq: 1, acknowledged: 2, head: 3 },
        ];
        all.push(Error::EmailTaken { email });
        for kind in [
            StorageErrorKind::Conflict,
            StorageErrorKind::Constraint,
            StorageErrorKind::Corrupt,
            StorageErrorKind::Incompatible,
            StorageErrorKind::Unavailable,
            StorageErrorKind::Other,
        ] {
            all.push(Error::Storage(StorageError::new(kind, "m")));
        }
        for e in &all {
            match e {
                Error::InvalidEmail(_)
                | Error::InvalidText(_)
                | Error::InvalidId { .. }
                | Error::UnknownSpeciality { .. }
                | Error::NotFound { .. }
                | Error::EmailTaken { .. }
                | Error::OdsCodeTaken { .. }
                | Error::WorkspaceNameTaken { .. }
                | Error::Forbidden { .. }
                | Error::LastAdmin { .. }
                | Error::AdminMustBeDemoted { .. }
                | Error::AlreadyMember { .. }
                | Error::ArchivedMember { .. }
                | Error::NotAMember { .. }
                | Error::NoPendingRequest { .. }
                | Error::SelfTarget { .. }
                | Error::InviteExpired { .. }
                | Error::InviteRevoked { .. }
                | Error::InviteAlreadyAccepted { .. }
                | Error::CoolDown { .. }
                | Error::EndDateNotInFuture { .. }
                | Error::TimeOutOfRange { .. }
                | Error::OrganisationClosed { .. }
                | Error::ImportRejected { .. }
                | Error::Unreadable { .. }
                | Error::InvalidCursor { .. }
                | Error::InvalidLimit { .. }
                | Error::AcknowledgementOutOfRange { .. }
                | Error::Storage(_) => {}
            }
        }
        all
    }

    #[test]
    fn every_kind_has_its_own_stable_snake_case_code() {
        let all = one_of_each();
        assert_eq!(all.len(), 34, "one error of each of the 28 non-storage variants, and storage in its 6 kinds");
        let codes: std::collections::BTreeSet<&str> = all.iter().map(Error::code).collect();
        assert_eq!(codes.len(), all.len(), "two kinds share a code: {codes:?}");
        for code in codes {
            assert!(code.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{code} is not snake_case");
        }
    }

    #[test]
    fn the_readme_maps_every_code_to_an_http_status() {
        let readme = include_str!("../../README.md");
        for e in one_of_each() {
            let row = readme
                .lines()
                .find(|line| line.starts_with(&format!("| `{}` |", e.code())))
                .unwrap_or_else(|| panic!("README.md has no row for `{}`", e.code()));
            let status: u16 = row.split('|').nth(2).and_then(|s| s.trim().parse().ok()).unwrap_or(0);
            let expected = if e.is_forbidden() {
                403
            } else if e.is_retryable() || e.code() == "storage_unavailable" {
                503
            } else {
                status
            };
            assert!((400..600).contains(&status), "{row}");
            assert_eq!(status, expected, "{row}");
        }
    }
}
