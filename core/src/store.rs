//! The storage trait: what a backend must provide so the service can run every command
//! as one atomic transaction (R25, R32, R35).
//!
//! # Design
//! [`Store`] is object-safe, so bindings can hold `Arc<dyn Store>` and pick a backend at
//! run time. A transaction is a closure the backend runs against a [`WriteTx`] (or a
//! [`ReadTx`]): the backend commits when the closure returns `Ok` and rolls back when it
//! returns `Err`, so a failed command writes nothing. The closure is `FnMut` because a
//! backend whose transactions can fail with a serialization conflict (PostgreSQL) may
//! roll back and run it again; the closure touches nothing but the transaction, so a
//! retry is safe.
//!
//! The row-level methods are deliberately plain (get, list, put) so that core, not the
//! backend, holds every rule; a backend may also enforce constraints of its own as a
//! second line of defence.

use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::directory::{Candidates, PrefixPage, SearchKey, indexed_prefixes, name_key};
use crate::permission::{Standing, Target};
use crate::views::{DiscoveryPage, DiscoveryRow, MemberKey, MembersPage, Person, SwitcherRows};
use crate::{
    Consumer, ConsumerName, Conversation, Decline, Error, Event, EventKind, Invite, InviteId, Membership,
    MembershipState, NewEvent, NhsEmail, OdsCode, Organisation, OrganisationId, PersonalWorkspace, StorageError,
    StorageErrorKind, User, UserId, Workspace, WorkspaceId,
};

/// The result of a row-level store method.
pub type StoreResult<T> = Result<T, StorageError>;

/// An instant as every backend stores it: UTC nanoseconds since the epoch. Only instants
/// within [`SUPPORTED_TIMES`](crate::SUPPORTED_TIMES) are stored; core refuses any
/// other with [`Error::TimeOutOfRange`] before it reaches
/// a store, so one that does is a bug, and every backend refuses it alike, as a
/// [`StorageErrorKind::Constraint`] naming it.
///
/// ```
/// use carespace::{StorageErrorKind, store::stored_nanos};
/// use time::macros::datetime;
///
/// assert_eq!(stored_nanos(datetime!(1970-01-01 0:00:01 UTC)).unwrap(), 1_000_000_000);
/// assert_eq!(stored_nanos(datetime!(2300-01-01 0:00 UTC)).unwrap_err().kind(), StorageErrorKind::Constraint);
/// ```
pub fn stored_nanos(at: OffsetDateTime) -> StoreResult<i64> {
    crate::SUPPORTED_TIMES.contains(&at).then(|| i64::try_from(at.unix_timestamp_nanos()).ok()).flatten().ok_or_else(
        || {
            StorageError::new(
                StorageErrorKind::Constraint,
                format!("{at} is outside the times Carespace stores (from 1900 up to 2200, UTC)"),
            )
        },
    )
}

/// A storage backend.
pub trait Store: Send + Sync {
    /// Runs `f` in a read-only transaction that sees one consistent snapshot.
    fn read(&self, f: &mut dyn FnMut(&dyn ReadTx) -> Result<(), Error>) -> Result<(), Error>;

    /// Runs `f` in a read-write transaction, committing if it returns `Ok` and rolling
    /// back every change if it returns `Err` (or panics). Write transactions on one store
    /// are serialized with respect to each other.
    fn write(&self, f: &mut dyn FnMut(&mut dyn WriteTx) -> Result<(), Error>) -> Result<(), Error>;

    /// [`ReadTx::access`] on its own: the permission check's one read. The default runs
    /// it in a [`Store::read`] transaction; a backend whose single statements already see
    /// one consistent snapshot may skip the transaction (the SQLite backend does).
    fn access(&self, workspace: WorkspaceId, user: UserId) -> Result<Option<Access>, Error> {
        let mut access = None;
        self.read(&mut |r| {
            access = r.access(workspace, user)?;
            Ok(())
        })?;
        Ok(access)
    }

    /// The sequence number of the log's last event (0 while it is empty), read on its own.
    fn last_event_seq(&self) -> Result<u64, Error> {
        let mut head = 0;
        self.read(&mut |r| {
            head = r.last_event_seq()?;
            Ok(())
        })?;
        Ok(head)
    }

    /// Waits until the log holds an event after `after` or `timeout` passes, and says
    /// whether it does (R42). The default reads the log's last number, first at once,
    /// then after pauses that double from 1 ms to [`POLL_AT_MOST`]: an idle wait costs a
    /// few cheap reads a second, and sees another process's commit within that pause. A
    /// backend that can be told of a commit (memory, PostgreSQL's `NOTIFY`) overrides it.
    fn wait_for_event(&self, after: u64, timeout: Duration) -> Result<bool, Error> {
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_millis(1);
        loop {
            if self.last_event_seq()? > after {
                return Ok(true);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(POLL_AT_MOST);
        }
    }
}

/// The longest pause between two reads of [`Store::wait_for_event`]'s default: how late
/// it may see another process's commit.
pub const POLL_AT_MOST: Duration = Duration::from_millis(25);

/// Everything the permission table needs about one user and one workspace of either
/// kind, read at once (R34): what [`ReadTx::access`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// The workspace's organisation.
    pub organisation: OrganisationId,
    /// Whether the workspace is the owner's My Workspace rather than a shared one.
    pub personal: bool,
    /// Whether the workspace is active (not archived).
    pub active: bool,
    /// The user's membership state in a shared workspace, if they have a membership.
    pub state: Option<MembershipState>,
    /// Whether the user owns the workspace (a My Workspace).
    pub owner: bool,
    /// Whether the user belongs to the workspace's organisation.
    pub in_organisation: bool,
    /// Whether the user exists at all.
    pub user_exists: bool,
}

impl Access {
    /// Where the user stands, as the permission table sees it.
    pub fn standing(&self) -> Standing {
        if self.personal {
            Standing::in_personal(self.owner, self.in_organisation)
        } else {
            Standing::in_shared(self.state, self.in_organisation)
        }
    }

    /// The workspace as the permission table sees it.
    pub fn target(&self) -> Target {
        Target { personal: self.personal, active: self.active }
    }
}

/// What a command on a shared workspace reads before its rule decides, as the command
/// declares it; [`ReadTx::context`] returns it in one read ([`Context`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextQuery<'a> {
    /// The shared workspace.
    pub workspace: WorkspaceId,
    /// The acting user.
    pub actor: UserId,
    /// The other person the command concerns, if any (its target, the invitee).
    pub target: Option<UserId>,
    /// Which memberships.
    pub members: Members,
    /// Which pending invites.
    pub invites: Invites<'a>,
    /// Whether to read the actor's latest declined request (a request to join, R17).
    pub decline: bool,
    /// Whether to read, for the actor and the target, their My Workspace in the
    /// organisation and whether they hold a current membership of another of its shared
    /// workspaces: for the commands that can make someone enter or leave a shared
    /// workspace (R27, R41). Without it those read as `None` and `false`.
    pub settle: bool,
}

/// Which memberships of the workspace a [`ContextQuery`] reads, so that a command costs
/// the same in a ward of five as in a ward of five thousand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Members {
    /// Every one (the member list; the rules that count members or revoke by sender).
    Every,
    /// Those of everyone who may approve under this setting (R16: the admins, or every
    /// approved member), and those of the actor and the target.
    Approvers(crate::Approvers),
    /// Only those of the actor and the target: for a command that neither counts the
    /// members nor names the approvers (approving a request, R16; promoting, R23).
    Named,
}

/// Which pending invites of the workspace a [`ContextQuery`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invites<'a> {
    /// None.
    Nobody,
    /// Every pending invite.
    Every,
    /// The pending invite to the actor's own address (a request accepts it, R19).
    ToActor,
    /// The pending invite to this address.
    To(&'a NhsEmail),
}

/// A person as a command sees them from the workspace's organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonInOrganisation {
    /// The user.
    pub user: User,
    /// Whether they belong to the organisation (R4).
    pub in_organisation: bool,
    /// Their My Workspace there, if they have one (R26).
    pub personal: Option<PersonalWorkspace>,
    /// Whether they hold a current membership of another shared workspace there (R41).
    pub current_elsewhere: bool,
}

/// What [`ReadTx::context`] returns: everything the rules of one command on a shared
/// workspace look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The workspace.
    pub workspace: Workspace,
    /// Its organisation.
    pub organisation: Organisation,
    /// The actor, then the target, each once, where they exist.
    pub people: Vec<PersonInOrganisation>,
    /// The memberships asked for, archived ones included, by user.
    pub members: Vec<Membership>,
    /// The pending invites asked for (some may be past expiry), by id.
    pub invites: Vec<Invite>,
    /// The actor's latest declined request, if asked for and there is one.
    pub decline: Option<Decline>,
}

impl Context {
    /// One of the people, if they exist.
    pub fn person(&self, user: UserId) -> Option<&PersonInOrganisation> {
        self.people.iter().find(|p| p.user.id == user)
    }
}

/// Reads inside a transaction.
///
/// The methods with a default implementation are composed from the others; a backend
/// may override them with a single query of its own (the SQLite backend does), and the
/// conformance suite holds every backend to the same answers.
pub trait ReadTx {
    /// An organisation by id.
    fn organisation(&self, id: OrganisationId) -> StoreResult<Option<Organisation>>;
    /// An organisation by ODS code.
    fn organisation_by_ods(&self, code: &OdsCode) -> StoreResult<Option<Organisation>>;
    /// Every organisation, by id.
    fn organisations(&self) -> StoreResult<Vec<Organisation>>;
    /// The organisations a directory search may return (R40), in any order, possibly
    /// more than once: those having a search word that starts with the prefix, or a
    /// postcode in the range, or the organisation of the code. The service checks each
    /// against the whole query. The default scans [`ReadTx::organisations`]; backends
    /// read an index.
    fn organisation_candidates(&self, candidates: &Candidates) -> StoreResult<Vec<Organisation>> {
        Ok(match candidates {
            Candidates::OdsCode(code) => self.organisation_by_ods(code)?.into_iter().collect(),
            Candidates::Prefix(prefix) => self.organisations()?.into_iter().filter(|o| has_prefix(o, prefix)).collect(),
            Candidates::Postcode { from, to } => self
                .organisations()?
                .into_iter()
                .filter(|o| o.postcode.as_deref().is_some_and(|p| from.as_str() <= p && p < to.as_str()))
                .collect(),
        })
    }

    /// One page of the prefix index (R40, R43; see [`PrefixPage`]). The default reads
    /// every organisation; backends read their index.
    fn organisations_by_prefix(&self, page: &PrefixPage) -> StoreResult<Vec<(SearchKey, Organisation)>> {
        let mut rows = Vec::new();
        for organisation in self.organisations()? {
            let prefixes = indexed_prefixes(organisation.name.as_str());
            let Some((_, relevance)) = prefixes.iter().find(|(p, _)| *p == page.prefix) else { continue };
            if !page.also.iter().all(|also| prefixes.iter().any(|(p, _)| p == also)) {
                continue;
            }
            let key =
                (organisation.closed_on.is_some(), *relevance, name_key(organisation.name.as_str()), organisation.id);
            if page.after.as_ref().is_none_or(|after| key > *after) {
                rows.push((key, organisation));
            }
        }
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows.truncate(page.limit);
        Ok(rows)
    }

    /// How many rows of the prefix index have `prefix` — counting no further than
    /// `at_most`, which it returns when there are more (R40): what a search weighs its
    /// words by.
    fn count_prefix(&self, prefix: &str, at_most: u64) -> StoreResult<u64> {
        let at_most = usize::try_from(at_most).unwrap_or(usize::MAX);
        let organisations = self.organisations()?;
        let having = organisations.iter().filter(|o| has_prefix(o, prefix));
        Ok(having.take(at_most).count() as u64)
    }

    /// A user by id.
    fn user(&self, id: UserId) -> StoreResult<Option<User>>;
    /// A user by email.
    fn user_by_email(&self, email: &NhsEmail) -> StoreResult<Option<User>>;

    /// Whether the user belongs to the organisation (R4).
    fn is_organisation_member(&self, organisation: OrganisationId, user: UserId) -> StoreResult<bool>;
    /// The organisations a user belongs to, by id.
    fn organisations_of(&self, user: UserId) -> StoreResult<Vec<OrganisationId>>;

    /// A shared workspace by id.
    fn workspace(&self, id: WorkspaceId) -> StoreResult<Option<Workspace>>;
    /// The active shared workspace of an organisation whose name key is `name_key` (R6).
    fn active_workspace_named(&self, organisation: OrganisationId, name_key: &str) -> StoreResult<Option<Workspace>>;
    /// Every shared workspace of an organisation, active and archived, by id.
    fn workspaces_of(&self, organisation: OrganisationId) -> StoreResult<Vec<Workspace>>;

    /// A My Workspace by id.
    fn personal_workspace(&self, id: WorkspaceId) -> StoreResult<Option<PersonalWorkspace>>;
    /// A user's My Workspace in an organisation.
    fn personal_workspace_of(
        &self,
        user: UserId,
        organisation: OrganisationId,
    ) -> StoreResult<Option<PersonalWorkspace>>;
    /// Every My Workspace of a user, by organisation id.
    fn personal_workspaces_of(&self, user: UserId) -> StoreResult<Vec<PersonalWorkspace>>;

    /// One user's membership of one workspace.
    fn membership(&self, workspace: WorkspaceId, user: UserId) -> StoreResult<Option<Membership>>;
    /// Every membership of a workspace, archived ones included, by user id.
    fn memberships_of_workspace(&self, workspace: WorkspaceId) -> StoreResult<Vec<Membership>>;
    /// Every membership of a user, archived ones included, by workspace id.
    fn memberships_of_user(&self, user: UserId) -> StoreResult<Vec<Membership>>;

    /// An invite by id.
    fn invite(&self, id: InviteId) -> StoreResult<Option<Invite>>;
    /// The invites of a workspace whose status is `Pending` (some may be past expiry), by
    /// id.
    fn pending_invites_of_workspace(&self, workspace: WorkspaceId) -> StoreResult<Vec<Invite>>;
    /// The invites addressed to an email whose status is `Pending`, by id.
    fn pending_invites_for(&self, email: &NhsEmail) -> StoreResult<Vec<Invite>>;

    /// The latest declined request of a user to a workspace (R17).
    fn decline(&self, workspace: WorkspaceId, user: UserId) -> StoreResult<Option<Decline>>;

    /// Every conversation of a workspace, by start time, then id.
    fn conversations_of(&self, workspace: WorkspaceId) -> StoreResult<Vec<Conversation>>;

    /// Up to `limit` events with `seq > after`, in order.
    fn events_after(&self, after: u64, limit: usize) -> StoreResult<Vec<Event>>;
    /// The event consumer called `name` (R42).
    fn consumer(&self, name: &ConsumerName) -> StoreResult<Option<Consumer>>;
    /// Every event consumer, by name.
    fn consumers(&self) -> StoreResult<Vec<Consumer>>;
    /// The sequence number of the last event, 0 when there is none.
    fn last_event_seq(&self) -> StoreResult<u64>;

    /// What the permission table needs about `user` and `workspace` (shared or My
    /// Workspace); `None` when there is no such workspace. The permission check
    /// ([`Carespace::can`](crate::Carespace::can)) is this one read.
    fn access(&self, workspace: WorkspaceId, user: UserId) -> StoreResult<Option<Access>> {
        let user_exists = self.user(user)?.is_some();
        if let Some(shared) = self.workspace(workspace)? {
            return Ok(Some(Access {
                organisation: shared.organisation,
                personal: false,
                active: shared.is_active(),
                state: self.membership(workspace, user)?.map(|m| m.state),
                owner: false,
                in_organisation: self.is_organisation_member(shared.organisation, user)?,
                user_exists,
            }));
        }
        let Some(personal) = self.personal_workspace(workspace)? else { return Ok(None) };
        Ok(Some(Access {
            organisation: personal.organisation,
            personal: true,
            active: personal.is_active(),
            state: None,
            owner: personal.owner == user,
            in_organisation: self.is_organisation_member(personal.organisation, user)?,
            user_exists,
        }))
    }

    /// What a command on a shared workspace needs ([`ContextQuery`]); `None` when there
    /// is no shared workspace with that id. The default composes the row reads; the SQL
    /// backends send its statements together (PostgreSQL in one round trip).
    fn context(&self, query: &ContextQuery<'_>) -> StoreResult<Option<Context>> {
        let Some(workspace) = self.workspace(query.workspace)? else { return Ok(None) };
        let organisation = self.organisation(workspace.organisation)?.ok_or_else(|| {
            StorageError::new(StorageErrorKind::Corrupt, format!("organisation {} is missing", workspace.organisation))
        })?;
        let named: Vec<UserId> = std::iter::once(query.actor).chain(query.target).collect();
        let mut people: Vec<PersonInOrganisation> = Vec::new();
        for &id in &named {
            if people.iter().any(|p| p.user.id == id) {
                continue;
            }
            let Some(user) = self.user(id)? else { continue };
            let mut current_elsewhere = false;
            for m in if query.settle { self.memberships_of_user(id)? } else { Vec::new() } {
                if m.workspace != workspace.id
                    && m.state.is_current()
                    && self.workspace(m.workspace)?.is_some_and(|w| w.organisation == workspace.organisation)
                {
                    current_elsewhere = true;
                    break;
                }
            }
            people.push(PersonInOrganisation {
                in_organisation: self.is_organisation_member(workspace.organisation, id)?,
                personal: match query.settle {
                    true => self.personal_workspace_of(id, workspace.organisation)?,
                    false => None,
                },
                current_elsewhere,
                user,
            });
        }
        let mut members = match query.members {
            Members::Every | Members::Approvers(crate::Approvers::ApprovedMembers) => {
                self.memberships_of_workspace(workspace.id)?
            }
            Members::Approvers(crate::Approvers::Admins) => self.admins_of(workspace.id)?,
            Members::Named => Vec::new(),
        };
        for &id in &named {
            if !members.iter().any(|m| m.user == id)
                && let Some(m) = self.membership(workspace.id, id)?
            {
                members.push(m);
            }
        }
        members.sort_by_key(|m| m.user);
        let invites = match query.invites {
            Invites::Nobody => Vec::new(),
            Invites::Every => self.pending_invites_of_workspace(workspace.id)?,
            Invites::ToActor => match people.iter().find(|p| p.user.id == query.actor) {
                Some(actor) => self.pending_invite_to(workspace.id, &actor.user.email)?.into_iter().collect(),
                None => Vec::new(),
            },
            Invites::To(email) => self.pending_invite_to(workspace.id, email)?.into_iter().collect(),
        };
        let decline = if query.decline { self.decline(workspace.id, query.actor)? } else { None };
        Ok(Some(Context { workspace, organisation, people, members, invites, decline }))
    }

    /// The memberships of `users` (two, or one user twice) in shared workspace
    /// `workspace`, each once, with the permission table's view of its holder
    /// ([`Access`]); a user with no membership there is left out. For a command that can
    /// decide on the two memberships alone (approving a request, R16): one read of two
    /// rows, where [`ReadTx::context`] also reads the workspace, its organisation and
    /// both people. The default composes the row reads; the SQL backends read the
    /// copies of the workspace's status and the organisation membership that each
    /// membership row keeps.
    fn memberships_with_access(
        &self,
        workspace: WorkspaceId,
        users: [UserId; 2],
    ) -> StoreResult<Vec<(Membership, Access)>> {
        let [first, second] = users;
        let mut found = Vec::new();
        for user in if first == second { vec![first] } else { vec![first, second] } {
            if let Some(membership) = self.membership(workspace, user)?
                && let Some(access) = self.access(workspace, user)?
            {
                found.push((membership, access));
            }
        }
        Ok(found)
    }

    /// The memberships of a workspace in the admin state (R21, R23), so that the last-admin
    /// rules and the approvers of a request (R16) need not read every member. By user id.
    fn admins_of(&self, workspace: WorkspaceId) -> StoreResult<Vec<Membership>> {
        let mut all = self.memberships_of_workspace(workspace)?;
        all.retain(|m| m.state == MembershipState::Admin);
        Ok(all)
    }

    /// The memberships of a workspace in one state (the approvals prompt reads the
    /// unapproved ones, R33), by user id.
    fn memberships_in_state(&self, workspace: WorkspaceId, state: MembershipState) -> StoreResult<Vec<Membership>> {
        let mut all = self.memberships_of_workspace(workspace)?;
        all.retain(|m| m.state == state);
        Ok(all)
    }

    /// The pending invite of a workspace to one address, if any (R18 keeps at most one).
    fn pending_invite_to(&self, workspace: WorkspaceId, email: &NhsEmail) -> StoreResult<Option<Invite>> {
        Ok(self.pending_invites_of_workspace(workspace)?.into_iter().find(|i| &i.email == email))
    }

    /// The switcher's rows (R31): the user's My Workspaces and current memberships, each
    /// with what the switcher shows.
    fn switcher_rows(&self, user: UserId) -> StoreResult<SwitcherRows> {
        let corrupt = |what: &str, id: &dyn std::fmt::Display| {
            StorageError::new(StorageErrorKind::Corrupt, format!("{what} {id} is missing"))
        };
        let organisation_name = |id: OrganisationId| -> StoreResult<crate::OrganisationName> {
            Ok(self.organisation(id)?.ok_or_else(|| corrupt("organisation", &id))?.name)
        };
        let mut rows = SwitcherRows::default();
        for personal in self.personal_workspaces_of(user)? {
            let name = organisation_name(personal.organisation)?;
            rows.personal.push((personal, name));
        }
        for m in self.memberships_of_user(user)?.into_iter().filter(|m| m.state.is_current()) {
            let workspace = self.workspace(m.workspace)?.ok_or_else(|| corrupt("workspace", &m.workspace))?;
            let name = organisation_name(workspace.organisation)?;
            rows.shared.push((m, workspace, name));
        }
        Ok(rows)
    }

    /// The invites whose status is `Pending` and whose expiry is at or before `now`
    /// (R38), by expiry then id.
    fn invites_expired_by(&self, now: OffsetDateTime) -> StoreResult<Vec<Invite>> {
        let mut due = Vec::new();
        for organisation in self.organisations()? {
            for workspace in self.workspaces_of(organisation.id)? {
                let invites = self.pending_invites_of_workspace(workspace.id)?;
                due.extend(invites.into_iter().filter(|i| i.expires_at <= now));
            }
        }
        due.sort_by_key(|i| (i.expires_at, i.id));
        Ok(due)
    }

    /// The unapproved memberships (join requests) made at or before `cutoff` and not yet
    /// escalated (R38), oldest first (then by workspace and user).
    fn requests_waiting_since(&self, cutoff: OffsetDateTime) -> StoreResult<Vec<Membership>> {
        let mut due = all_memberships(self, &|m: &Membership| {
            m.state == MembershipState::Unapproved && m.escalated_at.is_none() && m.joined_at <= cutoff
        })?;
        due.sort_by_key(|m| (m.joined_at, m.workspace, m.user));
        Ok(due)
    }

    /// The current (not archived) memberships whose end date is at or before `cutoff`
    /// (R39), soonest end first (then by workspace and user).
    fn memberships_ending_by(&self, cutoff: OffsetDateTime) -> StoreResult<Vec<Membership>> {
        let mut due = all_memberships(self, &|m: &Membership| {
            m.state.is_current() && m.ends_at.is_some_and(|end| end <= cutoff)
        })?;
        due.sort_by_key(|m| (m.ends_at, m.workspace, m.user));
        Ok(due)
    }

    /// The events whose `workspace` field is `workspace` ([`EventKind::workspace`]), in
    /// log order (R37).
    ///
    /// [`EventKind::workspace`]: crate::EventKind::workspace
    fn events_of_workspace(&self, workspace: WorkspaceId) -> StoreResult<Vec<Event>> {
        let mut events = self.events_after(0, usize::MAX)?;
        events.retain(|e| e.kind.workspace() == Some(workspace));
        Ok(events)
    }

    /// The events about `user`: those whose `user` field is `user`
    /// ([`EventKind::user`]), and the creations of the workspaces they created (whose
    /// actor they are); in log order (R37).
    ///
    /// [`EventKind::user`]: crate::EventKind::user
    fn events_of_user(&self, user: UserId) -> StoreResult<Vec<Event>> {
        let mut events = self.events_after(0, usize::MAX)?;
        events.retain(|e| e.person() == Some(user));
        Ok(events)
    }

    /// A page of a shared workspace's members with their users, in [`member_key`] order
    /// (R22, R43; see [`MembersPage`]): one read. The default reads every membership
    /// and each user, and sorts; the SQL backends walk an index in that order.
    fn members_page(&self, page: &MembersPage) -> StoreResult<Vec<(Membership, User)>> {
        let mut keyed = Vec::new();
        for m in self.memberships_of_workspace(page.workspace)? {
            let user = self.user(m.user)?.ok_or_else(|| {
                StorageError::new(StorageErrorKind::Corrupt, format!("membership of missing user {}", m.user))
            })?;
            let key = member_key(m.state, &user);
            if page.after.as_ref().is_none_or(|after| key > *after) {
                keyed.push((key, (m, user)));
            }
        }
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        keyed.truncate(page.limit);
        Ok(keyed.into_iter().map(|(_, member)| member).collect())
    }

    /// A page of discovery's rows (R11, R43; see [`DiscoveryPage`]). The default reads
    /// every workspace of the organisation and sorts; backends walk an index in order.
    fn discovery_page(&self, page: &DiscoveryPage) -> StoreResult<Vec<DiscoveryRow>> {
        let mut workspaces = Vec::new();
        for workspace in self.workspaces_of(page.organisation)?.into_iter().filter(|w| page.admits(w)) {
            if let Some(colleague) = page.colleague
                && !self.membership(workspace.id, colleague)?.is_some_and(|m| m.state.is_approved())
            {
                continue;
            }
            workspaces.push(workspace);
        }
        workspaces.sort_by_cached_key(discovery_key);
        let mut rows = Vec::new();
        for workspace in workspaces.into_iter().take(page.limit) {
            let members = self.memberships_of_workspace(workspace.id)?;
            let member_count = members.iter().filter(|m| m.state.is_current()).count();
            let mut admins = Vec::new();
            for m in members.iter().filter(|m| m.state == MembershipState::Admin) {
                let user = self.user(m.user)?.ok_or_else(|| {
                    StorageError::new(StorageErrorKind::Corrupt, format!("membership of missing user {}", m.user))
                })?;
                admins.push(Person::from(&user));
            }
            rows.push(DiscoveryRow {
                workspace,
                member_count: u32::try_from(member_count).unwrap_or(u32::MAX),
                admins,
            });
        }
        Ok(rows)
    }
}

/// Whether a word of the organisation's name starts with `prefix`: whether the prefix
/// index has a row of it (R40).
fn has_prefix(organisation: &Organisation, prefix: &str) -> bool {
    crate::directory::starts_a_word(organisation.name.as_str(), prefix)
}

/// A member's key in a workspace's member list ([`MemberKey`]): by role — admins,
/// approved members, unapproved members, archived members — then name ignoring case,
/// then id.
pub fn member_key(state: MembershipState, user: &User) -> MemberKey {
    (state.list_rank(), user.name.sort_key(), user.id)
}

/// A workspace's key in discovery's order (R11, R43): its name key, 0 (a workspace sorts
/// before an example of the same name), its id as text.
pub fn discovery_key(workspace: &Workspace) -> (String, u8, String) {
    (workspace.name.key(), 0, workspace.id.to_string())
}

/// Every membership of every shared workspace that `keep` selects: the scan the default
/// implementations of the sweep's reads compose (backends use an index instead).
fn all_memberships<R: ReadTx + ?Sized>(r: &R, keep: &dyn Fn(&Membership) -> bool) -> StoreResult<Vec<Membership>> {
    let mut out = Vec::new();
    for organisation in r.organisations()? {
        for workspace in r.workspaces_of(organisation.id)? {
            out.extend(r.memberships_of_workspace(workspace.id)?.into_iter().filter(|m| keep(m)));
        }
    }
    Ok(out)
}

/// The error of [`WriteTx::update_membership`] where there is no membership to change
/// (by ids alone: no personal data).
fn no_membership_to_update(membership: &Membership) -> StorageError {
    StorageError::new(
        StorageErrorKind::Other,
        format!(
            "a command changed the membership of user {} in workspace {}, which is not there; nothing was written",
            membership.user, membership.workspace
        ),
    )
}

/// One row to write: a part of a [`Plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Insert or replace an organisation.
    Organisation(Organisation),
    /// Insert or replace a user.
    User(User),
    /// Record that a user belongs to an organisation (from the plan's time on).
    OrganisationMember(OrganisationId, UserId),
    /// Insert or replace a shared workspace.
    Workspace(Workspace),
    /// Insert or replace a My Workspace.
    Personal(PersonalWorkspace),
    /// Insert or replace a membership (keyed by workspace and user).
    Membership(Membership),
    /// Change a membership that exists (keyed by workspace and user): its role, status,
    /// times and end notice, the only columns a membership's life changes. The rules
    /// write this for a membership they read in the same transaction (approving,
    /// promoting, archiving, …); a backend writes it as an update, which costs less than
    /// an insert-or-replace, and fails the write where there is no such membership
    /// rather than drop the change ([`WriteTx::update_membership`]).
    UpdateMembership(Membership),
    /// Delete a membership (leave, decline).
    RemoveMembership(WorkspaceId, UserId),
    /// Insert or replace an invite.
    Invite(Invite),
    /// Insert or replace a declined request (keyed by workspace and user).
    Decline(Decline),
    /// Insert a conversation header.
    Conversation(Conversation),
    /// Insert or replace an event consumer's position (R42).
    Consumer(Consumer),
}

/// What one command writes, as its rule decided it: rows in order, then events in
/// order, all in one transaction ([`WriteTx::apply`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The rows to write, in order (a later change of the same row wins).
    pub changes: Vec<Change>,
    /// The events to append after the rows, in order.
    pub events: Vec<EventKind>,
}

impl Plan {
    pub(crate) fn change(&mut self, change: Change) {
        self.changes.push(change);
    }

    pub(crate) fn event(&mut self, event: EventKind) {
        self.events.push(event);
    }

    /// Whether `user` holds a current membership of `workspace` once the plan is applied:
    /// `None` when the plan does not touch that membership.
    pub(crate) fn current_after(&self, workspace: WorkspaceId, user: UserId) -> Option<bool> {
        self.changes.iter().rev().find_map(|change| match change {
            Change::Membership(m) | Change::UpdateMembership(m) if m.workspace == workspace && m.user == user => {
                Some(m.state.is_current())
            }
            Change::RemoveMembership(w, u) if *w == workspace && *u == user => Some(false),
            _ => None,
        })
    }
}

/// Reads and writes inside a read-write transaction. `put_*` inserts or replaces the
/// row with the same key. Reads see the transaction's own writes.
pub trait WriteTx {
    /// The transaction's reads.
    fn reader(&self) -> &dyn ReadTx;

    /// Inserts or replaces an organisation.
    fn put_organisation(&mut self, organisation: &Organisation) -> StoreResult<()>;
    /// Inserts or replaces a user.
    fn put_user(&mut self, user: &User) -> StoreResult<()>;
    /// Records that a user belongs to an organisation.
    fn add_organisation_member(
        &mut self,
        organisation: OrganisationId,
        user: UserId,
        joined_at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Inserts or replaces a shared workspace.
    fn put_workspace(&mut self, workspace: &Workspace) -> StoreResult<()>;
    /// Inserts or replaces a My Workspace.
    fn put_personal_workspace(&mut self, workspace: &PersonalWorkspace) -> StoreResult<()>;
    /// Inserts or replaces a membership (keyed by workspace and user).
    fn put_membership(&mut self, membership: &Membership) -> StoreResult<()>;
    /// Changes a membership that exists ([`Change::UpdateMembership`]), failing with an
    /// [`StorageErrorKind::Other`] error where there is none: that is a bug, never a
    /// state a command meets. The default reads the membership, then puts it; the SQL
    /// backends update it in one statement and fail the write when it changes no row.
    fn update_membership(&mut self, membership: &Membership) -> StoreResult<()> {
        match self.reader().membership(membership.workspace, membership.user)? {
            Some(_) => self.put_membership(membership),
            None => Err(no_membership_to_update(membership)),
        }
    }
    /// Deletes a membership (leave, decline).
    fn delete_membership(&mut self, workspace: WorkspaceId, user: UserId) -> StoreResult<()>;
    /// Inserts or replaces an invite.
    fn put_invite(&mut self, invite: &Invite) -> StoreResult<()>;
    /// Inserts or replaces a declined request (keyed by workspace and user).
    fn put_decline(&mut self, decline: &Decline) -> StoreResult<()>;
    /// Inserts a conversation header.
    fn put_conversation(&mut self, conversation: &Conversation) -> StoreResult<()>;
    /// Inserts or replaces an event consumer (keyed by name).
    fn put_consumer(&mut self, consumer: &Consumer) -> StoreResult<()>;
    /// Appends an event with the next sequence number (last + 1) and returns it.
    fn append_event(&mut self, event: NewEvent) -> StoreResult<Event>;

    /// Writes a command's whole plan: its rows in order, then its events in order, each
    /// stamped with `at` and `actor`. This is the one write every command makes; the
    /// default puts row by row, and a backend that can batch (PostgreSQL pipelines the
    /// statements in one round trip) overrides it.
    fn apply(&mut self, plan: &Plan, at: OffsetDateTime, actor: Option<UserId>) -> StoreResult<()> {
        for change in &plan.changes {
            match change {
                Change::Organisation(o) => self.put_organisation(o)?,
                Change::User(u) => self.put_user(u)?,
                Change::OrganisationMember(o, u) => self.add_organisation_member(*o, *u, at)?,
                Change::Workspace(w) => self.put_workspace(w)?,
                Change::Personal(p) => self.put_personal_workspace(p)?,
                Change::Membership(m) => self.put_membership(m)?,
                Change::UpdateMembership(m) => self.update_membership(m)?,
                Change::RemoveMembership(w, u) => self.delete_membership(*w, *u)?,
                Change::Invite(i) => self.put_invite(i)?,
                Change::Decline(d) => self.put_decline(d)?,
                Change::Conversation(c) => self.put_conversation(c)?,
                Change::Consumer(c) => self.put_consumer(c)?,
            }
        }
        for kind in &plan.events {
            self.append_event(NewEvent { at, actor, kind: kind.clone() })?;
        }
        Ok(())
    }
}
