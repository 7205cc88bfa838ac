//! What commands take and queries return, beyond the stored records of
//! [`model`](crate::model): discovery listings, the switcher, member lists, warnings.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{
    Description, Membership, MembershipState, OrganisationId, OrganisationName, PersonName, PersonalWorkspace,
    Speciality, User, UserId, Workspace, WorkspaceId, WorkspaceName,
};

/// What a new custom workspace is (R5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NewWorkspace {
    /// Its name (R6).
    pub name: WorkspaceName,
    /// Its speciality (R10).
    pub speciality: Speciality,
    /// Its description.
    pub description: Description,
}

/// A change to a workspace's settings (R24): `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct SettingsChange {
    /// A new name.
    pub name: Option<WorkspaceName>,
    /// A new speciality.
    pub speciality: Option<Speciality>,
    /// A new description.
    pub description: Option<Description>,
}

/// Why a workspace name may be too broad (R13). The command still succeeds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NameWarning {
    /// The name is the organisation's own name.
    OrganisationName,
    /// The name is a bare, speciality-free word such as "Staff" or "Team".
    TooGeneric {
        /// The name as given.
        name: String,
    },
}

impl fmt::Display for NameWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OrganisationName => f.write_str(
                "this workspace has the organisation's own name; every approved member will see everything \
                 sent and received in it, so name it after one team (e.g. “Maternity - Ward 2”)",
            ),
            Self::TooGeneric { name } => write!(
                f,
                "“{name}” is very broad; every approved member will see everything sent and received in it, \
                 so name it after one team (e.g. “Maternity - Ward 2”)"
            ),
        }
    }
}

/// A workspace and any warnings about its name (R13), from create and settings commands.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WorkspaceOutcome {
    /// The workspace as it now is.
    pub workspace: Workspace,
    /// Warnings the UI can show.
    pub warnings: Vec<NameWarning>,
}

/// How a request to join, an example join or an accepted invite ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JoinOutcome {
    /// The joiner created the workspace and is its admin (R9).
    Created,
    /// The joiner is an unapproved member waiting for approval (R14).
    Requested,
    /// A pending invite for the joiner was accepted: they are an approved member (R19).
    AcceptedInvite,
    /// They were already a member; nothing changed.
    AlreadyMember,
}

/// The result of joining: where the joiner now stands.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Joined {
    /// What happened.
    pub outcome: JoinOutcome,
    /// The workspace.
    pub workspace: Workspace,
    /// The joiner's membership.
    pub membership: Membership,
}

/// The result of leaving (R21).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Left {
    /// Whether the leaver was the last member, so the workspace is now archived.
    pub workspace_archived: bool,
}

/// Narrows a discovery listing (R11). The default lists everything.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct DiscoveryFilter {
    /// Only names matching this fragment: each of its words begins a word of the
    /// name, ignoring case, accents and apostrophes, as an organisation search matches
    /// names (R11, R40): "mat w" finds "Maternity - Ward 2", "ternity" finds nothing.
    pub name: Option<String>,
    /// Only this speciality.
    pub speciality: Option<Speciality>,
    /// Only workspaces where this user is an approved member (examples have none).
    pub colleague: Option<UserId>,
}

/// A person as others see them in listings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Person {
    /// Their id.
    pub id: UserId,
    /// Their name.
    pub name: PersonName,
}

impl From<&User> for Person {
    fn from(user: &User) -> Self {
        Self { id: user.id, name: user.name.clone() }
    }
}

/// One active shared workspace as discovery reads it from a store (R11), before the
/// filters, the example workspaces and the sort are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryRow {
    /// The workspace.
    pub workspace: Workspace,
    /// Its current members (approved and unapproved).
    pub member_count: u32,
    /// Its admins, in no particular order.
    pub admins: Vec<Person>,
}

/// A page of discovery's rows as a store reads them (R11, R43): the active shared
/// workspaces of `organisation` — of `speciality`, with a name a word of which starts
/// with `word`, where `colleague` is an approved member, each if given — whose key
/// (`(name key, 0, id)`, the key a workspace has in discovery's order) is after
/// `after`, by that key, at most `limit`. The SQL backends read each filter from an
/// index: a page costs its rows, not the organisation's workspaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryPage {
    /// The organisation.
    pub organisation: OrganisationId,
    /// Only workspaces of this speciality, if given.
    pub speciality: Option<Speciality>,
    /// Only workspaces with a name a word of which starts with this folded word
    /// ([`search_words`](crate::directory::search_words)), if given.
    pub word: Option<String>,
    /// Only workspaces where this user is an approved member, if given.
    pub colleague: Option<UserId>,
    /// Rows after this key (name key, 0 for a workspace or 1 for an example, id as
    /// text); from the first if `None`.
    pub after: Option<(String, u8, String)>,
    /// The most rows to return.
    pub limit: usize,
}

impl DiscoveryPage {
    /// Whether `workspace` belongs on the page by all but `colleague`, which needs a
    /// membership read: its organisation, active, speciality, word and key.
    pub fn admits(&self, workspace: &Workspace) -> bool {
        workspace.organisation == self.organisation
            && workspace.is_active()
            && self.speciality.is_none_or(|s| workspace.speciality == s)
            && self.word.as_deref().is_none_or(|word| crate::directory::starts_a_word(workspace.name.as_str(), word))
            && self.after.as_ref().is_none_or(|after| crate::store::discovery_key(workspace) > *after)
    }
}

/// Which members of a shared workspace a store reads ([`ReadTx::members_page`](crate::store::ReadTx::members_page)): those
/// whose [`member_key`](crate::store::member_key) is after `after`, by that key, at most
/// `limit`. The SQL backends walk an index in that order: a page costs its rows, not
/// the workspace's members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembersPage {
    /// The workspace.
    pub workspace: WorkspaceId,
    /// Members after this key (list rank, name key, id); from the first if `None`.
    pub after: Option<MemberKey>,
    /// The most members to return.
    pub limit: usize,
}

/// A member's place in a workspace's member list (R22, R43): the state's
/// [`list_rank`](crate::MembershipState::list_rank), the name's
/// [`sort_key`](crate::PersonName::sort_key), the user's id.
pub type MemberKey = (u8, String, UserId);

/// What the switcher (R31) reads from a store, before it sorts: in no particular order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwitcherRows {
    /// Every My Workspace of the user, archived or not, with its organisation's name.
    pub personal: Vec<(PersonalWorkspace, OrganisationName)>,
    /// Every current (not archived) membership of the user, with its workspace and the
    /// workspace's organisation's name.
    pub shared: Vec<(Membership, Workspace, OrganisationName)>,
}

/// One line of a discovery listing (R11).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DiscoveryEntry {
    /// An active shared workspace.
    Workspace {
        /// The workspace.
        workspace: Workspace,
        /// Its current members (approved and unapproved).
        member_count: u32,
        /// Its admins, who will approve a request (by name).
        admins: Vec<Person>,
    },
    /// An example workspace with 0 members (R9): join it to create it.
    Example {
        /// The speciality it is named after.
        speciality: Speciality,
    },
}

impl DiscoveryEntry {
    /// The name shown in the listing.
    pub fn name(&self) -> &str {
        match self {
            Self::Workspace { workspace, .. } => workspace.name.as_str(),
            Self::Example { speciality } => speciality.example_name(),
        }
    }

    /// The speciality shown in the listing.
    pub fn speciality(&self) -> Speciality {
        match self {
            Self::Workspace { workspace, .. } => workspace.speciality,
            Self::Example { speciality } => *speciality,
        }
    }

    /// The current member count (0 for examples).
    pub fn member_count(&self) -> u32 {
        match self {
            Self::Workspace { member_count, .. } => *member_count,
            Self::Example { .. } => 0,
        }
    }
}

/// One entry of the workspace switcher (R31).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SwitcherEntry {
    /// A shared workspace the user is a current member of.
    Shared {
        /// The organisation's name.
        organisation_name: OrganisationName,
        /// The workspace.
        workspace: Workspace,
        /// The user's role and status there.
        state: MembershipState,
    },
    /// The user's My Workspace in an organisation.
    Personal {
        /// The organisation's name.
        organisation_name: OrganisationName,
        /// The My Workspace (archived or not).
        workspace: PersonalWorkspace,
    },
}

impl SwitcherEntry {
    /// The workspace's id.
    pub fn workspace_id(&self) -> WorkspaceId {
        match self {
            Self::Shared { workspace, .. } => workspace.id,
            Self::Personal { workspace, .. } => workspace.id,
        }
    }

    /// The name to show.
    pub fn name(&self) -> &str {
        match self {
            Self::Shared { workspace, .. } => workspace.name.as_str(),
            Self::Personal { .. } => PersonalWorkspace::NAME,
        }
    }

    /// The organisation.
    pub fn organisation(&self) -> OrganisationId {
        match self {
            Self::Shared { workspace, .. } => workspace.organisation,
            Self::Personal { workspace, .. } => workspace.organisation,
        }
    }
}

/// A member as listed to approved members (R15, R22).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Member {
    /// The person.
    pub user: User,
    /// Their role and status.
    pub state: MembershipState,
    /// When they joined.
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: OffsetDateTime,
    /// When their time-boxed membership ends (R39), if it does.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
}

/// A workspace's whole member list split as a members screen shows it: current members
/// and, apart, archived ones (R22). Built from every page of
/// [`Carespace::members`](crate::Carespace::members), whose order each side keeps.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct MemberList {
    /// Admins, approved and unapproved members.
    pub current: Vec<Member>,
    /// Archived members.
    pub archived: Vec<Member>,
}

impl From<Vec<Member>> for MemberList {
    fn from(members: Vec<Member>) -> Self {
        let (current, archived) = members.into_iter().partition(|m| m.state.is_current());
        Self { current, archived }
    }
}

/// A join request waiting for an approver (R33).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PendingRequest {
    /// The workspace.
    pub workspace: WorkspaceId,
    /// Its name.
    pub workspace_name: WorkspaceName,
    /// The requester.
    pub requester: Person,
    /// When they asked.
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
}
