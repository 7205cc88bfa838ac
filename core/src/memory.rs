//! [`MemoryStore`]: the in-memory backend. Transactions roll back through an undo log,
//! so a failed command leaves no trace, as on a database.

use std::collections::{BTreeMap, BTreeSet};

// foldhash: the keys are 16- and 32-byte ids, and SipHash (std's default) was most of a
// permission check's cost. The ids are random (UUIDv7) and made by the library, and
// foldhash's RandomState mixes a per-process random seed with a per-map one, so flooding
// one bucket is not a practical attack.
use foldhash::{HashMap, HashSet};
use std::ops::Bound;
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock};
use std::time::Duration;

use time::OffsetDateTime;

use crate::store::{Access, ReadTx, Store, StoreResult, WriteTx};
use crate::views::{DiscoveryRow, Person};
use crate::{
    Consumer, ConsumerName, Conversation, ConversationId, Decline, Error, Event, Invite, InviteId, InviteStatus,
    Membership, MembershipState, NewEvent, NhsEmail, OdsCode, Organisation, OrganisationId, PersonalWorkspace, User,
    UserId, Workspace, WorkspaceId,
};

/// A [`Store`] kept in memory: for tests, examples and hosts that persist elsewhere.
///
/// Share it between threads freely (it is `Send + Sync`). Readers run in parallel;
/// writers take turns, so every command sees and leaves a consistent state. A command
/// that fails, or panics, is rolled back before the next one starts.
///
/// ```
/// use carespace::{Carespace, MemoryStore};
/// let service = Carespace::new(MemoryStore::new());
/// # let _ = service;
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: RwLock<State>,
    /// The log's last number as of the last commit, and the waiters for the next (R42).
    head: Mutex<u64>,
    appended: Condvar,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemoryStore {
    fn read(&self, f: &mut dyn FnMut(&dyn ReadTx) -> Result<(), Error>) -> Result<(), Error> {
        // A panicking writer rolled back in `MemoryTx::drop`, so a poisoned lock still
        // guards a consistent state.
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        f(&*state)
    }

    fn access(&self, workspace: WorkspaceId, user: UserId) -> Result<Option<Access>, Error> {
        // The permission check's one read, without a transaction's closure around it.
        Ok(self.state.read().unwrap_or_else(PoisonError::into_inner).access(workspace, user)?)
    }

    fn write(&self, f: &mut dyn FnMut(&mut dyn WriteTx) -> Result<(), Error>) -> Result<(), Error> {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        let events_len = state.events.len();
        let result = {
            let mut tx = MemoryTx { state: &mut state, undo: Vec::new(), events_len, committed: false };
            let result = f(&mut tx);
            if result.is_ok() {
                tx.committed = true;
            }
            result
            // Dropping `tx` here rolls a failed command back.
        };
        if state.events.len() > events_len
            && let Some(last) = state.events.last()
        {
            // Still under the write lock: heads are announced in commit order.
            *self.head.lock().unwrap_or_else(PoisonError::into_inner) = last.seq;
            self.appended.notify_all();
        }
        result
    }

    fn wait_for_event(&self, after: u64, timeout: Duration) -> Result<bool, Error> {
        let head = self.head.lock().unwrap_or_else(PoisonError::into_inner);
        let (head, _) = self
            .appended
            .wait_timeout_while(head, timeout, |head| *head <= after)
            .unwrap_or_else(PoisonError::into_inner);
        Ok(*head > after)
    }
}

/// Every table, with the secondary indexes the reads need.
#[derive(Debug, Default)]
struct State {
    organisations: HashMap<OrganisationId, Organisation>,
    /// The directory's indexes (R40): by ODS code, by prefix (in each prefix's search
    /// order), by postcode.
    organisations_by_ods: HashMap<OdsCode, OrganisationId>,
    organisation_prefixes: BTreeSet<PrefixRow>,
    organisations_by_postcode: BTreeSet<(String, OrganisationId)>,
    users: HashMap<UserId, User>,
    users_by_email: HashMap<NhsEmail, UserId>,
    organisation_members: HashSet<(OrganisationId, UserId)>,
    organisations_by_user: BTreeSet<(UserId, OrganisationId)>,
    workspaces: HashMap<WorkspaceId, Workspace>,
    workspaces_by_organisation: BTreeSet<(OrganisationId, WorkspaceId)>,
    /// The active workspaces by organisation and name key (R6).
    /// In name order within each organisation, for discovery's pages (R43).
    active_names: BTreeMap<(OrganisationId, String), WorkspaceId>,
    personal: HashMap<WorkspaceId, PersonalWorkspace>,
    personal_by_owner: BTreeMap<(UserId, OrganisationId), WorkspaceId>,
    memberships: HashMap<(WorkspaceId, UserId), Membership>,
    /// The permission check's answer for each membership, derived from the rows it reads
    /// (the membership, its workspace, the user, their organisation membership) and
    /// refreshed whenever one of them changes: checking a member is one lookup.
    member_access: HashMap<(WorkspaceId, UserId), Access>,
    /// The memberships of each workspace, in user order.
    memberships_by_workspace: BTreeSet<(WorkspaceId, UserId)>,
    memberships_by_user: BTreeSet<(UserId, WorkspaceId)>,
    /// The admins of each workspace (R21, R23, and the approvers of R16).
    admins: BTreeSet<(WorkspaceId, UserId)>,
    invites: HashMap<InviteId, Invite>,
    invites_by_workspace: BTreeSet<(WorkspaceId, InviteId)>,
    invites_by_email: BTreeSet<(NhsEmail, InviteId)>,
    declines: HashMap<(WorkspaceId, UserId), Decline>,
    conversations: HashMap<ConversationId, Conversation>,
    conversations_by_workspace: BTreeSet<(WorkspaceId, ConversationId)>,
    events: Vec<Event>,
    /// What a sweep looks for (R38, R39): pending invites by expiry, unescalated join
    /// requests by when they were made, current memberships with an end date by it.
    invites_by_expiry: BTreeSet<(OffsetDateTime, InviteId)>,
    requests_waiting: BTreeSet<(OffsetDateTime, WorkspaceId, UserId)>,
    memberships_ending: BTreeSet<(OffsetDateTime, WorkspaceId, UserId)>,
    /// The log by each event's workspace and by the person it is about (R37).
    events_by_workspace: BTreeSet<(WorkspaceId, u64)>,
    events_by_user: BTreeSet<(UserId, u64)>,
    /// The event consumers by name (R42).
    consumers: BTreeMap<ConsumerName, Consumer>,
}

/// How to put one row back as it was.
#[derive(Debug)]
enum Undo {
    Organisation(OrganisationId, Option<Organisation>),
    User(UserId, Option<User>),
    OrganisationMember(OrganisationId, UserId),
    Workspace(WorkspaceId, Option<Workspace>),
    Personal(WorkspaceId, Option<PersonalWorkspace>),
    Membership(WorkspaceId, UserId, Option<Membership>),
    Invite(InviteId, Option<Invite>),
    Decline(WorkspaceId, UserId, Option<Decline>),
    Conversation(ConversationId, Option<Conversation>),
    Consumer(ConsumerName, Option<Consumer>),
}

/// Range bounds over a set of `(K, V)` pairs for every pair whose first half is `key`.
fn with_first<K: Ord + Copy, V: Ord + Copy>(
    set: &BTreeSet<(K, V)>,
    key: K,
    min: V,
    max: V,
) -> impl Iterator<Item = V> + '_ {
    set.range((key, min)..=(key, max)).map(|&(_, v)| v)
}

impl State {
    /// The memberships a sweep index lists, in its order.
    fn memberships_at<'a>(
        &self,
        keys: impl Iterator<Item = &'a (OffsetDateTime, WorkspaceId, UserId)>,
    ) -> Vec<Membership> {
        keys.filter_map(|(_, w, u)| self.memberships.get(&(*w, *u)).cloned()).collect()
    }

    /// The events with these sequence numbers (1-based positions in the log), in order.
    fn events_at(&self, seqs: impl Iterator<Item = u64>) -> Vec<Event> {
        seqs.filter_map(|seq| self.events.get(usize::try_from(seq).ok()?.checked_sub(1)?).cloned()).collect()
    }

    fn push_event(&mut self, event: Event) {
        if let Some(workspace) = event.kind.workspace() {
            self.events_by_workspace.insert((workspace, event.seq));
        }
        if let Some(user) = event.person() {
            self.events_by_user.insert((user, event.seq));
        }
        self.events.push(event);
    }

    /// Drops the events after the first `len` (a rolled-back transaction's).
    fn truncate_events(&mut self, len: usize) {
        for event in self.events.drain(len.min(self.events.len())..) {
            if let Some(workspace) = event.kind.workspace() {
                self.events_by_workspace.remove(&(workspace, event.seq));
            }
            if let Some(user) = event.person() {
                self.events_by_user.remove(&(user, event.seq));
            }
        }
    }

    fn set_organisation(&mut self, id: OrganisationId, row: Option<Organisation>) -> Option<Organisation> {
        let old = match &row {
            Some(row) => self.organisations.insert(id, row.clone()),
            None => self.organisations.remove(&id),
        };
        for (o, present) in [(old.as_ref(), false), (row.as_ref(), true)] {
            let Some(o) = o else { continue };
            let name_key: Arc<str> = crate::directory::name_key(o.name.as_str()).into();
            let closed = o.closed_on.is_some();
            let prefixes = crate::directory::indexed_prefixes(o.name.as_str())
                .into_iter()
                .map(|(prefix, relevance)| (prefix, closed, relevance, name_key.clone(), id));
            let postcode = o.postcode.clone().map(|p| (p, id));
            if present {
                self.organisations_by_ods.extend(o.ods_code.clone().map(|c| (c, id)));
                self.organisation_prefixes.extend(prefixes);
                self.organisations_by_postcode.extend(postcode);
            } else {
                if let Some(code) = &o.ods_code {
                    self.organisations_by_ods.remove(code);
                }
                for row in prefixes {
                    self.organisation_prefixes.remove(&row);
                }
                if let Some(postcode) = postcode {
                    self.organisations_by_postcode.remove(&postcode);
                }
            }
        }
        old
    }

    fn set_user(&mut self, id: UserId, row: Option<User>) -> Option<User> {
        let old = match row {
            Some(row) => {
                let email = row.email.clone();
                let old = self.users.insert(id, row);
                self.users_by_email.insert(email, id);
                old
            }
            None => self.users.remove(&id),
        };
        if let Some(old) = &old
            && self.users.get(&id).is_none_or(|new| new.email != old.email)
        {
            self.users_by_email.remove(&old.email);
        }
        self.refresh_access(self.memberships_of(id));
        old
    }

    fn set_workspace(&mut self, id: WorkspaceId, row: Option<Workspace>) -> Option<Workspace> {
        let old = match row {
            Some(row) => {
                self.workspaces_by_organisation.insert((row.organisation, id));
                self.workspaces.insert(id, row)
            }
            None => self.workspaces.remove(&id),
        };
        if let Some(old) = old.as_ref().filter(|w| w.is_active()) {
            let key = (old.organisation, old.name.key());
            if self.active_names.get(&key) == Some(&id) {
                self.active_names.remove(&key);
            }
        }
        if let Some(new) = self.workspaces.get(&id).filter(|w| w.is_active()) {
            self.active_names.insert((new.organisation, new.name.key()), id);
        }
        if let Some(old) = &old
            && self.workspaces.get(&id).is_none_or(|new| new.organisation != old.organisation)
        {
            self.workspaces_by_organisation.remove(&(old.organisation, id));
        }
        let members: Vec<_> =
            with_first(&self.memberships_by_workspace, id, MIN_USER, MAX_USER).map(|u| (id, u)).collect();
        self.refresh_access(members);
        old
    }

    fn set_personal(&mut self, id: WorkspaceId, row: Option<PersonalWorkspace>) -> Option<PersonalWorkspace> {
        let old = match row {
            Some(row) => {
                self.personal_by_owner.insert((row.owner, row.organisation), id);
                self.personal.insert(id, row)
            }
            None => self.personal.remove(&id),
        };
        if let Some(old) = &old {
            let still = self
                .personal
                .get(&id)
                .is_some_and(|new| (new.owner, new.organisation) == (old.owner, old.organisation));
            if !still {
                self.personal_by_owner.remove(&(old.owner, old.organisation));
            }
        }
        old
    }

    fn set_membership(&mut self, workspace: WorkspaceId, user: UserId, row: Option<Membership>) -> Option<Membership> {
        // The sweep's indexes: out with the old row's keys, in with the new row's.
        for (m, insert) in [(self.memberships.get(&(workspace, user)).cloned(), false), (row.clone(), true)] {
            let Some(m) = m else { continue };
            let waiting = (m.state == MembershipState::Unapproved && m.escalated_at.is_none()).then_some((
                m.joined_at,
                workspace,
                user,
            ));
            let ending = m.ends_at.filter(|_| m.state.is_current()).map(|end| (end, workspace, user));
            for (set, key) in [(&mut self.requests_waiting, waiting), (&mut self.memberships_ending, ending)] {
                let Some(key) = key else { continue };
                if insert {
                    set.insert(key);
                } else {
                    set.remove(&key);
                }
            }
        }
        if row.as_ref().is_some_and(|m| m.state == MembershipState::Admin) {
            self.admins.insert((workspace, user));
        } else {
            self.admins.remove(&(workspace, user));
        }
        let old = match row {
            Some(row) => {
                self.memberships_by_user.insert((user, workspace));
                self.memberships_by_workspace.insert((workspace, user));
                self.memberships.insert((workspace, user), row)
            }
            None => {
                self.memberships_by_user.remove(&(user, workspace));
                self.memberships_by_workspace.remove(&(workspace, user));
                self.memberships.remove(&(workspace, user))
            }
        };
        self.refresh_access([(workspace, user)]);
        old
    }

    /// What the permission check reads about `user` and the shared workspace
    /// `workspace`, from the rows themselves.
    fn shared_access(&self, workspace: WorkspaceId, user: UserId) -> Option<Access> {
        let w = self.workspaces.get(&workspace)?;
        Some(Access {
            organisation: w.organisation,
            personal: false,
            active: w.is_active(),
            state: self.memberships.get(&(workspace, user)).map(|m| m.state),
            owner: false,
            in_organisation: self.organisation_members.contains(&(w.organisation, user)),
            user_exists: self.users.contains_key(&user),
        })
    }

    /// Derives [`State::member_access`] again for these memberships (dropping the
    /// entries of memberships or workspaces that are gone).
    fn refresh_access(&mut self, pairs: impl IntoIterator<Item = (WorkspaceId, UserId)>) {
        for (workspace, user) in pairs {
            match self.shared_access(workspace, user).filter(|a| a.state.is_some()) {
                Some(access) => self.member_access.insert((workspace, user), access),
                None => self.member_access.remove(&(workspace, user)),
            };
        }
    }

    /// The memberships of `user`, as `(workspace, user)` pairs.
    fn memberships_of(&self, user: UserId) -> Vec<(WorkspaceId, UserId)> {
        with_first(&self.memberships_by_user, user, MIN_WS, MAX_WS).map(|w| (w, user)).collect()
    }

    /// The memberships of a workspace, in user order.
    fn members_of(&self, workspace: WorkspaceId) -> impl Iterator<Item = &Membership> + '_ {
        with_first(&self.memberships_by_workspace, workspace, MIN_USER, MAX_USER)
            .filter_map(move |user| self.memberships.get(&(workspace, user)))
    }

    fn set_invite(&mut self, id: InviteId, row: Option<Invite>) -> Option<Invite> {
        let old = self.invites.remove(&id);
        if let Some(old) = &old {
            self.invites_by_workspace.remove(&(old.workspace, id));
            self.invites_by_email.remove(&(old.email.clone(), id));
            self.invites_by_expiry.remove(&(old.expires_at, id));
        }
        if let Some(row) = row {
            self.invites_by_workspace.insert((row.workspace, id));
            self.invites_by_email.insert((row.email.clone(), id));
            if row.status == InviteStatus::Pending {
                self.invites_by_expiry.insert((row.expires_at, id));
            }
            self.invites.insert(id, row);
        }
        old
    }

    fn set_decline(&mut self, workspace: WorkspaceId, user: UserId, row: Option<Decline>) -> Option<Decline> {
        match row {
            Some(row) => self.declines.insert((workspace, user), row),
            None => self.declines.remove(&(workspace, user)),
        }
    }

    fn set_consumer(&mut self, name: ConsumerName, row: Option<Consumer>) -> Option<Consumer> {
        match row {
            Some(row) => self.consumers.insert(name, row),
            None => self.consumers.remove(&name),
        }
    }

    fn set_conversation(&mut self, id: ConversationId, row: Option<Conversation>) -> Option<Conversation> {
        let old = self.conversations.remove(&id);
        if let Some(old) = &old {
            self.conversations_by_workspace.remove(&(old.workspace, id));
        }
        if let Some(row) = row {
            self.conversations_by_workspace.insert((row.workspace, id));
            self.conversations.insert(id, row);
        }
        old
    }

    fn undo(&mut self, step: Undo) {
        match step {
            Undo::Organisation(id, row) => drop(self.set_organisation(id, row)),
            Undo::User(id, row) => drop(self.set_user(id, row)),
            Undo::OrganisationMember(organisation, user) => {
                self.organisation_members.remove(&(organisation, user));
                self.organisations_by_user.remove(&(user, organisation));
                self.refresh_access(self.memberships_of(user));
            }
            Undo::Workspace(id, row) => drop(self.set_workspace(id, row)),
            Undo::Personal(id, row) => drop(self.set_personal(id, row)),
            Undo::Membership(workspace, user, row) => drop(self.set_membership(workspace, user, row)),
            Undo::Invite(id, row) => drop(self.set_invite(id, row)),
            Undo::Decline(workspace, user, row) => drop(self.set_decline(workspace, user, row)),
            Undo::Conversation(id, row) => drop(self.set_conversation(id, row)),
            Undo::Consumer(name, row) => drop(self.set_consumer(name, row)),
        }
    }
}

const MIN_WS: WorkspaceId = WorkspaceId::from_uuid(uuid::Uuid::nil());
const MAX_WS: WorkspaceId = WorkspaceId::from_uuid(uuid::Uuid::max());
const MIN_USER: UserId = UserId::from_uuid(uuid::Uuid::nil());
const MAX_USER: UserId = UserId::from_uuid(uuid::Uuid::max());
const MIN_ORG: OrganisationId = OrganisationId::from_uuid(uuid::Uuid::nil());

impl State {
    /// Discovery's row of an active workspace: its count of current members, its admins.
    fn discovery_row(&self, workspace: &Workspace) -> DiscoveryRow {
        let member_count = self.members_of(workspace.id).filter(|m| m.state.is_current()).count();
        let admins = with_first(&self.admins, workspace.id, MIN_USER, MAX_USER)
            .filter_map(|user| self.users.get(&user).map(Person::from))
            .collect();
        DiscoveryRow {
            workspace: workspace.clone(),
            member_count: u32::try_from(member_count).unwrap_or(u32::MAX),
            admins,
        }
    }
}

/// A row of the prefix index: the prefix, then the organisation's search order for it
/// (closed, relevance, name key, id).
type PrefixRow = (String, bool, u8, Arc<str>, OrganisationId);

/// The rows of the prefix index with `prefix`, after the key `after` if given.
fn prefix_rows(prefix: &str, after: Option<&crate::directory::SearchKey>) -> (Bound<PrefixRow>, Bound<PrefixRow>) {
    let start = match after {
        Some((closed, relevance, key, id)) => {
            Bound::Excluded((prefix.to_owned(), *closed, *relevance, key.as_str().into(), *id))
        }
        None => Bound::Included((prefix.to_owned(), false, 0, "".into(), MIN_ORG)),
    };
    // The least string above `prefix`'s rows.
    (start, Bound::Excluded((format!("{prefix}\0"), false, 0, "".into(), MIN_ORG)))
}

/// The entries of a `(text, organisation)` index whose text is in `[from, to)`.
fn text_range(from: &str, to: &str) -> std::ops::Range<(String, OrganisationId)> {
    (from.to_owned(), MIN_ORG)..(to.to_owned(), MIN_ORG)
}
const MAX_ORG: OrganisationId = OrganisationId::from_uuid(uuid::Uuid::max());
const MIN_INVITE: InviteId = InviteId::from_uuid(uuid::Uuid::nil());
const MAX_INVITE: InviteId = InviteId::from_uuid(uuid::Uuid::max());
const MIN_CONV: ConversationId = ConversationId::from_uuid(uuid::Uuid::nil());
const MAX_CONV: ConversationId = ConversationId::from_uuid(uuid::Uuid::max());

impl ReadTx for State {
    fn organisation(&self, id: OrganisationId) -> StoreResult<Option<Organisation>> {
        Ok(self.organisations.get(&id).cloned())
    }

    fn organisation_by_ods(&self, code: &OdsCode) -> StoreResult<Option<Organisation>> {
        Ok(self.organisations_by_ods.get(code).and_then(|id| self.organisations.get(id)).cloned())
    }

    fn count_prefix(&self, prefix: &str, at_most: u64) -> StoreResult<u64> {
        let at_most = usize::try_from(at_most).unwrap_or(usize::MAX);
        Ok(self.organisation_prefixes.range(prefix_rows(prefix, None)).take(at_most).count() as u64)
    }

    fn organisations_by_prefix(
        &self,
        page: &crate::directory::PrefixPage,
    ) -> StoreResult<Vec<(crate::directory::SearchKey, Organisation)>> {
        let mut rows = Vec::new();
        for (_, closed, relevance, name_key, id) in
            self.organisation_prefixes.range(prefix_rows(&page.prefix, page.after.as_ref()))
        {
            if rows.len() == page.limit {
                break;
            }
            let Some(organisation) = self.organisations.get(id) else { continue };
            if !page.also.is_empty() {
                let words = crate::directory::search_words(organisation.name.as_str());
                if !page.also.iter().all(|also| words.iter().any(|w| w.starts_with(also.as_str()))) {
                    continue;
                }
            }
            rows.push(((*closed, *relevance, name_key.to_string(), *id), organisation.clone()));
        }
        Ok(rows)
    }

    fn organisation_candidates(&self, candidates: &crate::directory::Candidates) -> StoreResult<Vec<Organisation>> {
        use crate::directory::Candidates;
        let organisation = |id: &OrganisationId| self.organisations.get(id).cloned();
        Ok(match candidates {
            Candidates::OdsCode(code) => self.organisation_by_ods(code)?.into_iter().collect(),
            Candidates::Prefix(prefix) => self
                .organisation_prefixes
                .range(prefix_rows(prefix, None))
                .filter_map(|row| organisation(&row.4))
                .collect(),
            Candidates::Postcode { from, to } => self
                .organisations_by_postcode
                .range(text_range(from, to))
                .filter_map(|(_, id)| organisation(id))
                .collect(),
        })
    }

    fn organisations(&self) -> StoreResult<Vec<Organisation>> {
        let mut all: Vec<Organisation> = self.organisations.values().cloned().collect();
        all.sort_by_key(|o| o.id);
        Ok(all)
    }

    fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        Ok(self.users.get(&id).cloned())
    }

    fn user_by_email(&self, email: &NhsEmail) -> StoreResult<Option<User>> {
        Ok(self.users_by_email.get(email).and_then(|id| self.users.get(id)).cloned())
    }

    fn is_organisation_member(&self, organisation: OrganisationId, user: UserId) -> StoreResult<bool> {
        Ok(self.organisation_members.contains(&(organisation, user)))
    }

    fn organisations_of(&self, user: UserId) -> StoreResult<Vec<OrganisationId>> {
        Ok(with_first(&self.organisations_by_user, user, MIN_ORG, MAX_ORG).collect())
    }

    fn workspace(&self, id: WorkspaceId) -> StoreResult<Option<Workspace>> {
        Ok(self.workspaces.get(&id).cloned())
    }

    fn admins_of(&self, workspace: WorkspaceId) -> StoreResult<Vec<Membership>> {
        Ok(with_first(&self.admins, workspace, MIN_USER, MAX_USER)
            .filter_map(|user| self.memberships.get(&(workspace, user)).cloned())
            .collect())
    }

    fn memberships_in_state(&self, workspace: WorkspaceId, state: MembershipState) -> StoreResult<Vec<Membership>> {
        Ok(self.members_of(workspace).filter(|m| m.state == state).cloned().collect())
    }

    fn pending_invite_to(&self, workspace: WorkspaceId, email: &NhsEmail) -> StoreResult<Option<Invite>> {
        Ok(self
            .invites_by_email
            .range((email.clone(), MIN_INVITE)..=(email.clone(), MAX_INVITE))
            .filter_map(|(_, id)| self.invites.get(id))
            .find(|i| i.workspace == workspace && i.status == InviteStatus::Pending)
            .cloned())
    }

    fn discovery_page(&self, page: &crate::DiscoveryPage) -> StoreResult<Vec<DiscoveryRow>> {
        // Active names are unique in an organisation: the name key alone orders them.
        let from = match &page.after {
            Some((key, _, _)) => std::ops::Bound::Included((page.organisation, key.clone())),
            None => std::ops::Bound::Included((page.organisation, String::new())),
        };
        let colleague_approved = |w: &Workspace| {
            page.colleague.is_none_or(|c| self.memberships.get(&(w.id, c)).is_some_and(|m| m.state.is_approved()))
        };
        let rows = self
            .active_names
            .range((from, std::ops::Bound::Unbounded))
            .take_while(|((organisation, _), _)| *organisation == page.organisation)
            .filter_map(|(_, id)| self.workspaces.get(id))
            .filter(|w| page.admits(w) && colleague_approved(w))
            .take(page.limit)
            .map(|workspace| self.discovery_row(workspace))
            .collect();
        Ok(rows)
    }

    fn access(&self, workspace: WorkspaceId, user: UserId) -> StoreResult<Option<Access>> {
        // Lookups only, no clones: this is the whole permission check. A member's answer
        // is kept ready; anyone else's is read from the rows.
        if let Some(access) = self.member_access.get(&(workspace, user)) {
            return Ok(Some(*access));
        }
        if let Some(access) = self.shared_access(workspace, user) {
            return Ok(Some(access));
        }
        let Some(p) = self.personal.get(&workspace) else { return Ok(None) };
        Ok(Some(Access {
            organisation: p.organisation,
            personal: true,
            active: p.is_active(),
            state: None,
            owner: p.owner == user,
            in_organisation: self.organisation_members.contains(&(p.organisation, user)),
            user_exists: self.users.contains_key(&user),
        }))
    }

    fn active_workspace_named(&self, organisation: OrganisationId, name_key: &str) -> StoreResult<Option<Workspace>> {
        let id = self.active_names.get(&(organisation, name_key.to_owned()));
        Ok(id.and_then(|id| self.workspaces.get(id)).cloned())
    }

    fn workspaces_of(&self, organisation: OrganisationId) -> StoreResult<Vec<Workspace>> {
        Ok(with_first(&self.workspaces_by_organisation, organisation, MIN_WS, MAX_WS)
            .filter_map(|id| self.workspaces.get(&id).cloned())
            .collect())
    }

    fn personal_workspace(&self, id: WorkspaceId) -> StoreResult<Option<PersonalWorkspace>> {
        Ok(self.personal.get(&id).cloned())
    }

    fn personal_workspace_of(
        &self,
        user: UserId,
        organisation: OrganisationId,
    ) -> StoreResult<Option<PersonalWorkspace>> {
        Ok(self.personal_by_owner.get(&(user, organisation)).and_then(|id| self.personal.get(id)).cloned())
    }

    fn personal_workspaces_of(&self, user: UserId) -> StoreResult<Vec<PersonalWorkspace>> {
        Ok(self
            .personal_by_owner
            .range((user, MIN_ORG)..=(user, MAX_ORG))
            .filter_map(|(_, id)| self.personal.get(id).cloned())
            .collect())
    }

    fn membership(&self, workspace: WorkspaceId, user: UserId) -> StoreResult<Option<Membership>> {
        Ok(self.memberships.get(&(workspace, user)).cloned())
    }

    fn memberships_of_workspace(&self, workspace: WorkspaceId) -> StoreResult<Vec<Membership>> {
        Ok(self.members_of(workspace).cloned().collect())
    }

    fn memberships_of_user(&self, user: UserId) -> StoreResult<Vec<Membership>> {
        Ok(with_first(&self.memberships_by_user, user, MIN_WS, MAX_WS)
            .filter_map(|ws| self.memberships.get(&(ws, user)).cloned())
            .collect())
    }

    fn invite(&self, id: InviteId) -> StoreResult<Option<Invite>> {
        Ok(self.invites.get(&id).cloned())
    }

    fn pending_invites_of_workspace(&self, workspace: WorkspaceId) -> StoreResult<Vec<Invite>> {
        Ok(with_first(&self.invites_by_workspace, workspace, MIN_INVITE, MAX_INVITE)
            .filter_map(|id| self.invites.get(&id))
            .filter(|i| i.status == InviteStatus::Pending)
            .cloned()
            .collect())
    }

    fn pending_invites_for(&self, email: &NhsEmail) -> StoreResult<Vec<Invite>> {
        Ok(self
            .invites_by_email
            .range((email.clone(), MIN_INVITE)..=(email.clone(), MAX_INVITE))
            .filter_map(|(_, id)| self.invites.get(id))
            .filter(|i| i.status == InviteStatus::Pending)
            .cloned()
            .collect())
    }

    fn decline(&self, workspace: WorkspaceId, user: UserId) -> StoreResult<Option<Decline>> {
        Ok(self.declines.get(&(workspace, user)).cloned())
    }

    fn conversations_of(&self, workspace: WorkspaceId) -> StoreResult<Vec<Conversation>> {
        Ok(with_first(&self.conversations_by_workspace, workspace, MIN_CONV, MAX_CONV)
            .filter_map(|id| self.conversations.get(&id).cloned())
            .collect())
    }

    fn events_after(&self, after: u64, limit: usize) -> StoreResult<Vec<Event>> {
        let start = usize::try_from(after).unwrap_or(usize::MAX).min(self.events.len());
        Ok(self.events.get(start..).unwrap_or_default().iter().take(limit).cloned().collect())
    }

    fn last_event_seq(&self) -> StoreResult<u64> {
        Ok(self.events.last().map_or(0, |e| e.seq))
    }

    fn consumer(&self, name: &ConsumerName) -> StoreResult<Option<Consumer>> {
        Ok(self.consumers.get(name).cloned())
    }

    fn consumers(&self) -> StoreResult<Vec<Consumer>> {
        Ok(self.consumers.values().cloned().collect())
    }

    fn invites_expired_by(&self, now: OffsetDateTime) -> StoreResult<Vec<Invite>> {
        Ok(self
            .invites_by_expiry
            .range(..=(now, MAX_INVITE))
            .filter_map(|(_, id)| self.invites.get(id).cloned())
            .collect())
    }

    fn requests_waiting_since(&self, cutoff: OffsetDateTime) -> StoreResult<Vec<Membership>> {
        Ok(self.memberships_at(self.requests_waiting.range(..=(cutoff, MAX_WS, MAX_USER))))
    }

    fn memberships_ending_by(&self, cutoff: OffsetDateTime) -> StoreResult<Vec<Membership>> {
        Ok(self.memberships_at(self.memberships_ending.range(..=(cutoff, MAX_WS, MAX_USER))))
    }

    fn events_of_workspace(&self, workspace: WorkspaceId) -> StoreResult<Vec<Event>> {
        Ok(self.events_at(with_first(&self.events_by_workspace, workspace, 0, u64::MAX)))
    }

    fn events_of_user(&self, user: UserId) -> StoreResult<Vec<Event>> {
        Ok(self.events_at(with_first(&self.events_by_user, user, 0, u64::MAX)))
    }
}

/// A write transaction: changes go straight into the state, each with a note of how to
/// undo it; dropping the transaction without committing replays the notes backwards.
struct MemoryTx<'a> {
    state: &'a mut State,
    undo: Vec<Undo>,
    events_len: usize,
    committed: bool,
}

impl Drop for MemoryTx<'_> {
    fn drop(&mut self) {
        if !self.committed {
            while let Some(step) = self.undo.pop() {
                self.state.undo(step);
            }
            self.state.truncate_events(self.events_len);
        }
    }
}

/// Refuses, as the SQL backends do, an instant no backend stores
/// ([`stored_nanos`](crate::store::stored_nanos)), so that every store answers alike.
fn held(instants: impl IntoIterator<Item = OffsetDateTime>) -> StoreResult<()> {
    instants.into_iter().try_for_each(|at| crate::store::stored_nanos(at).map(drop))
}

impl WriteTx for MemoryTx<'_> {
    fn reader(&self) -> &dyn ReadTx {
        &*self.state
    }

    fn put_organisation(&mut self, organisation: &Organisation) -> StoreResult<()> {
        held([organisation.registered_at])?;
        let old = self.state.set_organisation(organisation.id, Some(organisation.clone()));
        self.undo.push(Undo::Organisation(organisation.id, old));
        Ok(())
    }

    fn put_user(&mut self, user: &User) -> StoreResult<()> {
        held([user.registered_at])?;
        let old = self.state.set_user(user.id, Some(user.clone()));
        self.undo.push(Undo::User(user.id, old));
        Ok(())
    }

    fn add_organisation_member(
        &mut self,
        organisation: OrganisationId,
        user: UserId,
        joined_at: OffsetDateTime,
    ) -> StoreResult<()> {
        held([joined_at])?;
        if self.state.organisation_members.insert((organisation, user)) {
            self.state.organisations_by_user.insert((user, organisation));
            self.undo.push(Undo::OrganisationMember(organisation, user));
            self.state.refresh_access(self.state.memberships_of(user));
        }
        Ok(())
    }

    fn put_workspace(&mut self, workspace: &Workspace) -> StoreResult<()> {
        held([workspace.created_at])?;
        let old = self.state.set_workspace(workspace.id, Some(workspace.clone()));
        self.undo.push(Undo::Workspace(workspace.id, old));
        Ok(())
    }

    fn put_personal_workspace(&mut self, workspace: &PersonalWorkspace) -> StoreResult<()> {
        held([Some(workspace.created_at), workspace.archived_at].into_iter().flatten())?;
        let old = self.state.set_personal(workspace.id, Some(workspace.clone()));
        self.undo.push(Undo::Personal(workspace.id, old));
        Ok(())
    }

    fn put_membership(&mut self, membership: &Membership) -> StoreResult<()> {
        let m = membership;
        held([Some(m.joined_at), Some(m.updated_at), m.ends_at, m.escalated_at].into_iter().flatten())?;
        let (workspace, user) = (membership.workspace, membership.user);
        let old = self.state.set_membership(workspace, user, Some(membership.clone()));
        self.undo.push(Undo::Membership(workspace, user, old));
        Ok(())
    }

    fn delete_membership(&mut self, workspace: WorkspaceId, user: UserId) -> StoreResult<()> {
        let old = self.state.set_membership(workspace, user, None);
        self.undo.push(Undo::Membership(workspace, user, old));
        Ok(())
    }

    fn put_invite(&mut self, invite: &Invite) -> StoreResult<()> {
        held([Some(invite.created_at), Some(invite.expires_at), invite.resolved_at].into_iter().flatten())?;
        let old = self.state.set_invite(invite.id, Some(invite.clone()));
        self.undo.push(Undo::Invite(invite.id, old));
        Ok(())
    }

    fn put_decline(&mut self, decline: &Decline) -> StoreResult<()> {
        held([decline.declined_at])?;
        let (workspace, user) = (decline.workspace, decline.user);
        let old = self.state.set_decline(workspace, user, Some(decline.clone()));
        self.undo.push(Undo::Decline(workspace, user, old));
        Ok(())
    }

    fn put_conversation(&mut self, conversation: &Conversation) -> StoreResult<()> {
        held([conversation.started_at])?;
        let old = self.state.set_conversation(conversation.id, Some(conversation.clone()));
        self.undo.push(Undo::Conversation(conversation.id, old));
        Ok(())
    }

    fn put_consumer(&mut self, consumer: &Consumer) -> StoreResult<()> {
        held([consumer.created_at, consumer.updated_at])?;
        let old = self.state.set_consumer(consumer.name.clone(), Some(consumer.clone()));
        self.undo.push(Undo::Consumer(consumer.name.clone(), old));
        Ok(())
    }

    fn append_event(&mut self, event: NewEvent) -> StoreResult<Event> {
        held([event.at])?;
        let seq = self.state.events.last().map_or(0, |e| e.seq) + 1;
        let event = event.with_seq(seq);
        self.state.push_event(event.clone());
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testsuite::dump;
    use crate::{Carespace, OrganisationKind};

    #[test]
    fn r35_a_panicking_transaction_is_rolled_back_and_the_store_stays_usable() {
        let store = std::sync::Arc::new(MemoryStore::new());
        let service = Carespace::from_arc(store.clone());
        let org = service.register_organisation("Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
        let before = dump(store.as_ref());
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = store.write(&mut |tx| {
                let mut renamed = tx.reader().organisation(org.id)?.unwrap();
                renamed.name = "Renamed".parse()?;
                tx.put_organisation(&renamed)?;
                panic!("a bug in a caller's closure");
            });
        }));
        assert!(panicked.is_err());
        assert_eq!(dump(store.as_ref()), before);
        assert_eq!(service.organisation(org.id).unwrap().name.as_str(), "Trust");
        service.register_user("a@nhs.net".parse().unwrap(), "A".parse().unwrap()).unwrap();
    }

    #[test]
    fn r35_r37_a_failed_write_leaves_no_event_in_the_log_indexes() {
        let store = MemoryStore::new();
        let workspace = WorkspaceId::new_v7(crate::testsuite::START);
        let user = UserId::new_v7(crate::testsuite::START);
        let kind = crate::EventKind::MemberLeft { workspace, user };
        let failed = store.write(&mut |tx| {
            tx.append_event(NewEvent { at: crate::testsuite::START, actor: Some(user), kind: kind.clone() })?;
            Err(crate::Error::NotFound { entity: crate::Entity::User, id: "rolled back".into() })
        });
        assert!(failed.is_err());
        store
            .read(&mut |r| {
                assert!(r.events_of_workspace(workspace)?.is_empty());
                assert!(r.events_of_user(user)?.is_empty());
                Ok(())
            })
            .unwrap();
        // The next event takes the same number; the rolled-back one must not be found
        // under its workspace and person.
        let (other, someone) = (WorkspaceId::new_v7(crate::testsuite::START), UserId::new_v7(crate::testsuite::START));
        let next = crate::EventKind::MemberLeft { workspace: other, user: someone };
        store
            .write(&mut |tx| {
                tx.append_event(NewEvent { at: crate::testsuite::START, actor: Some(someone), kind: next.clone() })?;
                Ok(())
            })
            .unwrap();
        store
            .read(&mut |r| {
                assert!(r.events_of_workspace(workspace)?.is_empty());
                assert!(r.events_of_user(user)?.is_empty());
                assert_eq!(r.events_of_workspace(other)?.first().map(|e| e.seq), Some(1));
                Ok(())
            })
            .unwrap();
    }
}
