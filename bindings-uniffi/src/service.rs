//! The `Carespace` object (thread-safe: every method takes `&self` on an `Arc`) and the
//! `ManualClock` tests use to move time.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use carespace::page::{Cursor, PageRequest};
use carespace::{DiscoveryFilter, NewWorkspace, Policy, SettingsChange};
use carespace_sqlite::{SqliteOptions, SqliteStore};
use uuid::Uuid;

use crate::event::Event;
use crate::records::{
    Conversation, DiscoveryPage, EventPage, ImportReport, Invite, InvitePage, Joined, MemberPage, Membership,
    Organisation, OrganisationPage, PendingRequestPage, PersonalWorkspace, Swept, SwitcherEntry, User, Viewer,
    VisibleWorkspace, Workspace, WorkspaceOutcome,
};
use crate::{
    Action, Approvers, CarespaceError, ConsumerStart, Durability, OrganisationKind, OrganisationSearch, Result, count,
    millis, parse, signed,
};

/// A clock that stands still until moved, for tests and simulations.
#[derive(Debug, uniffi::Object)]
pub struct ManualClock(carespace::ManualClock);

#[uniffi::export]
impl ManualClock {
    /// A clock showing `start`.
    #[uniffi::constructor]
    pub fn new(start: SystemTime) -> Arc<Self> {
        Arc::new(Self(carespace::ManualClock::new(start.into())))
    }

    /// Moves the clock forward by `seconds` (backwards if negative).
    pub fn advance_seconds(&self, seconds: i64) {
        self.0.advance(time::Duration::seconds(seconds));
    }

    /// The time it shows.
    pub fn now(&self) -> SystemTime {
        carespace::Clock::now(&self.0).into()
    }
}

/// How to open a service; every field has a default.
#[derive(uniffi::Record)]
pub struct Options {
    /// SQLite durability (files only); `Full` by default.
    #[uniffi(default = None)]
    pub durability: Option<Durability>,
    /// Who approves join requests; admins by default.
    #[uniffi(default = None)]
    pub approvers: Option<Approvers>,
    /// Kinds of organisation whose members may create workspaces; NHS trusts by default.
    #[uniffi(default = None)]
    pub creator_kinds: Option<Vec<OrganisationKind>>,
    /// How long invites last, in seconds; 14 days by default.
    #[uniffi(default = None)]
    pub invite_lifetime_seconds: Option<i64>,
    /// How long a declined requester waits, in seconds; 7 days by default.
    #[uniffi(default = None)]
    pub rerequest_cooldown_seconds: Option<i64>,
    /// How long a join request waits before the sweep escalates it, in seconds; 3 days
    /// by default.
    #[uniffi(default = None)]
    pub escalate_after_seconds: Option<i64>,
    /// How long before a membership's end the sweep reminds, in seconds; 7 days by
    /// default.
    #[uniffi(default = None)]
    pub end_reminder_seconds: Option<i64>,
    /// A clock to use instead of the system's.
    #[uniffi(default = None)]
    pub clock: Option<Arc<ManualClock>>,
}

/// The Carespace service over a SQLite file or memory. Share one object between
/// threads; close it (`use {}` in Kotlin) to release the database.
#[derive(uniffi::Object)]
pub struct Carespace {
    inner: carespace::Carespace,
}

impl Carespace {
    fn build(store: Arc<dyn carespace::Store>, options: &Options) -> Arc<Self> {
        let mut policy = Policy::default();
        if let Some(approvers) = options.approvers {
            policy = policy.with_approvers(approvers.into());
        }
        if let Some(kinds) = &options.creator_kinds {
            policy = policy.with_creator_kinds(kinds.iter().map(|k| carespace::OrganisationKind::from(*k)));
        }
        if let Some(s) = options.invite_lifetime_seconds {
            policy = policy.with_invite_lifetime(time::Duration::seconds(s));
        }
        if let Some(s) = options.rerequest_cooldown_seconds {
            policy = policy.with_rerequest_cooldown(time::Duration::seconds(s));
        }
        if let Some(s) = options.escalate_after_seconds {
            policy = policy.with_escalate_after(time::Duration::seconds(s));
        }
        if let Some(s) = options.end_reminder_seconds {
            policy = policy.with_end_reminder(time::Duration::seconds(s));
        }
        let mut inner = carespace::Carespace::from_arc(store).with_policy(policy);
        if let Some(clock) = &options.clock {
            inner = inner.with_clock(clock.0.clone());
        }
        Arc::new(Self { inner })
    }
}

#[uniffi::export]
impl Carespace {
    /// Opens (creating and migrating if needed) the SQLite database at `path`.
    #[uniffi::constructor]
    pub fn open(path: String, options: Options) -> Result<Arc<Self>> {
        let durability = match options.durability {
            Some(Durability::Normal) => carespace_sqlite::Durability::Normal,
            _ => carespace_sqlite::Durability::Full,
        };
        let store = SqliteStore::open_with(path, SqliteOptions { durability, ..SqliteOptions::default() })?;
        Ok(Self::build(Arc::new(store), &options))
    }

    /// A service over a private in-memory store.
    #[uniffi::constructor]
    pub fn in_memory(options: Options) -> Arc<Self> {
        Self::build(Arc::new(carespace::MemoryStore::new()), &options)
    }

    /// Registers an organisation.
    pub fn register_organisation(
        &self,
        name: String,
        kind: OrganisationKind,
        ods_code: Option<String>,
    ) -> Result<Organisation> {
        let ods = ods_code.as_deref().map(parse).transpose()?;
        Ok(self.inner.register_organisation(parse(&name)?, kind.into(), ods)?.into())
    }

    /// Registers a user with an NHS email.
    pub fn register_user(&self, email: String, name: String) -> Result<User> {
        Ok(self.inner.register_user(parse(&email)?, parse(&name)?)?.into())
    }

    /// Joins an organisation, getting a My Workspace there.
    pub fn join_organisation(&self, user: Uuid, organisation: Uuid) -> Result<PersonalWorkspace> {
        Ok(self.inner.join_organisation(user.into(), organisation.into())?.into())
    }

    /// Imports an ODS file: `etr*.csv` (NHS trusts) or `epraccur*.csv` (GP practices
    /// and other prescribing settings), told apart by the file's name. One transaction;
    /// rows that cannot be read are reported, or with `strict` the import fails with
    /// `ImportRejected` and writes nothing.
    pub fn import_organisations(&self, path: String, strict: bool) -> Result<ImportReport> {
        let options = carespace::directory::ImportOptions { strict };
        Ok(self.inner.import_organisations_from(path, options)?.into())
    }

    /// Searches the directory: open organisations first, then by relevance and name; a
    /// page of at most `limit` (50 if none, at most 1000) after `cursor`.
    #[uniffi::method(default(limit = None, cursor = None))]
    pub fn search_organisations(
        &self,
        search: OrganisationSearch,
        limit: Option<i32>,
        cursor: Option<String>,
    ) -> Result<OrganisationPage> {
        Ok(self.inner.search_organisations(&search.into(), &page(limit, cursor)?)?.into())
    }

    /// A user by email, if registered.
    pub fn user_by_email(&self, email: String) -> Result<Option<User>> {
        Ok(self.inner.user_by_email(&parse(&email)?)?.map(Into::into))
    }

    /// Creates a workspace; the creator becomes its admin.
    pub fn create_workspace(
        &self,
        actor: Uuid,
        organisation: Uuid,
        name: String,
        speciality: i32,
        description: String,
    ) -> Result<WorkspaceOutcome> {
        let new = NewWorkspace {
            name: parse(&name)?,
            speciality: crate::speciality(speciality)?,
            description: parse(&description)?,
        };
        Ok(self.inner.create_workspace(actor.into(), organisation.into(), new)?.into())
    }

    /// Joins the example workspace of a speciality: creates it, or requests to join it.
    pub fn join_example(&self, actor: Uuid, organisation: Uuid, speciality: i32) -> Result<Joined> {
        Ok(self.inner.join_example(actor.into(), organisation.into(), crate::speciality(speciality)?)?.into())
    }

    /// A page of an organisation's workspaces and examples (R43), filtered by the
    /// beginnings of words of the name, a speciality and a colleague (an approved
    /// member), by name: at most `limit` (50 if none, at most 1000) after `cursor`.
    #[uniffi::method(default(name = None, speciality = None, colleague = None, limit = None, cursor = None))]
    #[allow(clippy::too_many_arguments)] // the named arguments Kotlin and Swift see
    pub fn discover(
        &self,
        actor: Uuid,
        organisation: Uuid,
        name: Option<String>,
        speciality: Option<i32>,
        colleague: Option<Uuid>,
        limit: Option<i32>,
        cursor: Option<String>,
    ) -> Result<DiscoveryPage> {
        let filter = DiscoveryFilter {
            name,
            speciality: speciality.map(crate::speciality).transpose()?,
            colleague: colleague.map(Into::into),
        };
        Ok(self.inner.discover(actor.into(), organisation.into(), &filter, &page(limit, cursor)?)?.into())
    }

    /// The signature for patient messages: name and organisation on two lines.
    pub fn signature(&self, workspace: Uuid) -> Result<String> {
        Ok(self.inner.signature(workspace.into())?)
    }

    /// Renames a workspace or changes its speciality or description; admins only.
    pub fn update_settings(
        &self,
        actor: Uuid,
        workspace: Uuid,
        name: Option<String>,
        speciality: Option<i32>,
        description: Option<String>,
    ) -> Result<WorkspaceOutcome> {
        let change = SettingsChange {
            name: name.as_deref().map(parse).transpose()?,
            speciality: speciality.map(crate::speciality).transpose()?,
            description: description.as_deref().map(parse).transpose()?,
        };
        Ok(self.inner.update_settings(actor.into(), workspace.into(), change)?.into())
    }

    /// Requests to join (accepting a pending invite instead where there is one).
    pub fn request_to_join(&self, actor: Uuid, workspace: Uuid) -> Result<Joined> {
        Ok(self.inner.request_to_join(actor.into(), workspace.into())?.into())
    }

    /// Approves a join request.
    pub fn approve(&self, actor: Uuid, workspace: Uuid, user: Uuid) -> Result<Membership> {
        Ok(self.inner.approve(actor.into(), workspace.into(), user.into())?.into())
    }

    /// Declines a join request.
    pub fn decline(&self, actor: Uuid, workspace: Uuid, user: Uuid) -> Result<()> {
        Ok(self.inner.decline(actor.into(), workspace.into(), user.into())?)
    }

    /// Archives a member; admins only.
    pub fn archive_member(&self, actor: Uuid, workspace: Uuid, user: Uuid) -> Result<Membership> {
        Ok(self.inner.archive_member(actor.into(), workspace.into(), user.into())?.into())
    }

    /// Unarchives a member; admins only.
    pub fn unarchive_member(&self, actor: Uuid, workspace: Uuid, user: Uuid) -> Result<Membership> {
        Ok(self.inner.unarchive_member(actor.into(), workspace.into(), user.into())?.into())
    }

    /// Promotes an approved member to admin.
    pub fn promote(&self, actor: Uuid, workspace: Uuid, user: Uuid) -> Result<Membership> {
        Ok(self.inner.promote(actor.into(), workspace.into(), user.into())?.into())
    }

    /// Demotes an admin, never the last one.
    pub fn demote(&self, actor: Uuid, workspace: Uuid, user: Uuid) -> Result<Membership> {
        Ok(self.inner.demote(actor.into(), workspace.into(), user.into())?.into())
    }

    /// Sets, extends or clears (`None`) the end date of a membership; admins only.
    pub fn set_membership_end(
        &self,
        actor: Uuid,
        workspace: Uuid,
        user: Uuid,
        ends_at: Option<SystemTime>,
    ) -> Result<Membership> {
        let ends_at = ends_at.map(Into::into);
        Ok(self.inner.set_membership_end(actor.into(), workspace.into(), user.into(), ends_at)?.into())
    }

    /// Leaves a workspace; returns whether it was archived (the last member left).
    pub fn leave(&self, actor: Uuid, workspace: Uuid) -> Result<bool> {
        Ok(self.inner.leave(actor.into(), workspace.into())?.workspace_archived)
    }

    /// Invites an NHS email.
    pub fn invite(&self, actor: Uuid, workspace: Uuid, email: String) -> Result<Invite> {
        Ok(self.inner.invite(actor.into(), workspace.into(), parse(&email)?)?.into())
    }

    /// Accepts an invite addressed to the actor.
    pub fn accept_invite(&self, actor: Uuid, invite: Uuid) -> Result<Joined> {
        Ok(self.inner.accept_invite(actor.into(), invite.into())?.into())
    }

    /// Revokes a pending invite.
    pub fn revoke_invite(&self, actor: Uuid, invite: Uuid) -> Result<Invite> {
        Ok(self.inner.revoke_invite(actor.into(), invite.into())?.into())
    }

    /// The pending invites addressed to the actor.
    pub fn invites_for_me(&self, actor: Uuid) -> Result<Vec<Invite>> {
        Ok(self.inner.invites_for_me(actor.into())?.into_iter().map(Into::into).collect())
    }

    /// One invite, for its addressee or the workspace's approved members, with its status
    /// as of now (a pending invite past its expiry reads `Expired`).
    pub fn invite_details(&self, actor: Uuid, invite: Uuid) -> Result<Invite> {
        Ok(self.inner.invite_details(actor.into(), invite.into())?.into())
    }

    /// Starts a conversation.
    pub fn start_conversation(&self, actor: Uuid, workspace: Uuid) -> Result<Conversation> {
        Ok(self.inner.start_conversation(actor.into(), workspace.into())?.into())
    }

    /// The conversations of a workspace the actor may see.
    pub fn conversations(&self, actor: Uuid, workspace: Uuid) -> Result<Vec<Conversation>> {
        Ok(self.inner.conversations(actor.into(), workspace.into())?.into_iter().map(Into::into).collect())
    }

    /// The permission table's answer in a workspace (R34).
    pub fn can(&self, actor: Uuid, workspace: Uuid, action: Action) -> Result<bool> {
        Ok(self.inner.can(actor.into(), carespace::WorkspaceId::from(workspace), action.into())?)
    }

    /// The permission table's answer in an organisation (R34): `CreateWorkspace`,
    /// `DiscoverWorkspaces`; any other action is false there.
    pub fn can_in_organisation(&self, actor: Uuid, organisation: Uuid, action: Action) -> Result<bool> {
        Ok(self.inner.can(actor.into(), carespace::OrganisationId::from(organisation), action.into())?)
    }

    /// A shared workspace's record and status, for anyone in its organisation.
    pub fn workspace(&self, actor: Uuid, workspace: Uuid) -> Result<Workspace> {
        Ok(self.inner.workspace(actor.into(), workspace.into())?.into())
    }

    /// A user's membership of a workspace, or none; about oneself, or for those who may
    /// see the member list.
    pub fn membership(&self, actor: Uuid, workspace: Uuid, user: Uuid) -> Result<Option<Membership>> {
        Ok(self.inner.membership(actor.into(), workspace.into(), user.into())?.map(Into::into))
    }

    /// The organisations a user belongs to, by name.
    pub fn organisations_of(&self, user: Uuid) -> Result<Vec<Organisation>> {
        Ok(self.inner.organisations_of(user.into())?.into_iter().map(Into::into).collect())
    }

    /// A page of the members of a workspace, current and archived (R43), for its
    /// approved members: by role (admins, members, unapproved, archived), then name; at
    /// most `limit` after `cursor`.
    #[uniffi::method(default(limit = None, cursor = None))]
    pub fn members(
        &self,
        actor: Uuid,
        workspace: Uuid,
        limit: Option<i32>,
        cursor: Option<String>,
    ) -> Result<MemberPage> {
        Ok(self.inner.members(actor.into(), workspace.into(), &page(limit, cursor)?)?.into())
    }

    /// A page of the pending invites of a workspace (R43), for its approved members: at
    /// most `limit` after `cursor`.
    #[uniffi::method(default(limit = None, cursor = None))]
    pub fn pending_invites(
        &self,
        actor: Uuid,
        workspace: Uuid,
        limit: Option<i32>,
        cursor: Option<String>,
    ) -> Result<InvitePage> {
        Ok(self.inner.pending_invites(actor.into(), workspace.into(), &page(limit, cursor)?)?.into())
    }

    /// The workspace switcher.
    pub fn my_workspaces(&self, actor: Uuid) -> Result<Vec<SwitcherEntry>> {
        Ok(self.inner.my_workspaces(actor.into())?.into_iter().map(Into::into).collect())
    }

    /// A page of the join requests waiting for the actor (R43): at most `limit` after
    /// `cursor`.
    #[uniffi::method(default(limit = None, cursor = None))]
    pub fn pending_requests(
        &self,
        actor: Uuid,
        limit: Option<i32>,
        cursor: Option<String>,
    ) -> Result<PendingRequestPage> {
        Ok(self.inner.pending_requests(actor.into(), &page(limit, cursor)?)?.into())
    }

    /// Does the time-driven work due at `now`: expires invites, escalates stale join
    /// requests, reminds and ends time-boxed memberships. Idempotent; safe from several
    /// threads and processes at once.
    pub fn sweep(&self, now: SystemTime) -> Result<Swept> {
        Ok(self.inner.sweep(now.into())?.into())
    }

    /// Who could see a workspace's conversations at `at`, from the event log.
    pub fn viewers_at(&self, workspace: Uuid, at: SystemTime) -> Result<Vec<Viewer>> {
        Ok(self.inner.viewers_at(workspace.into(), at.into())?.into_iter().map(Into::into).collect())
    }

    /// The workspaces whose conversations a user could see at `at`, from the event log.
    pub fn workspaces_visible_at(&self, user: Uuid, at: SystemTime) -> Result<Vec<VisibleWorkspace>> {
        Ok(self.inner.workspaces_visible_at(user.into(), at.into())?.into_iter().map(Into::into).collect())
    }

    /// A page of the membership events of a workspace, oldest first, with actor and
    /// time (R43): at most `limit` after `cursor`.
    #[uniffi::method(default(limit = None, cursor = None))]
    pub fn membership_history(&self, workspace: Uuid, limit: Option<i32>, cursor: Option<String>) -> Result<EventPage> {
        Ok(self.inner.membership_history(workspace.into(), &page(limit, cursor)?)?.into())
    }

    /// Events after the cursor `after`, at most `limit`.
    pub fn events_since(&self, after: i64, limit: i32) -> Result<Vec<Event>> {
        let limit = usize::try_from(count(limit)?).unwrap_or(usize::MAX);
        Ok(self.inner.events_since(crate::after(after), limit)?.into_iter().map(Into::into).collect())
    }

    /// Registers the event consumer `name` starting at `start`, or leaves an existing
    /// one as it is; returns its position (the last sequence number it acknowledged).
    /// R42.
    pub fn register_consumer(&self, name: String, start: ConsumerStart) -> Result<i64> {
        Ok(signed(self.inner.register_consumer(&parse(&name)?, start.into())?.acknowledged))
    }

    /// Up to `limit` (1 to 1,000) events after the consumer's position, in order; the
    /// same again until they are acknowledged. R42.
    pub fn receive(&self, name: String, limit: i32) -> Result<Vec<Event>> {
        Ok(self.inner.receive(&parse(&name)?, count(limit)?)?.into_iter().map(Into::into).collect())
    }

    /// Moves the consumer's position forward to `seq` (at most the head) and returns
    /// it. R42.
    pub fn acknowledge(&self, consumer: String, seq: i64) -> Result<i64> {
        Ok(signed(self.inner.acknowledge(&parse(&consumer)?, acknowledged(seq)?)?.acknowledged))
    }

    /// The sequence number of the log's last event (0 while it is empty). R42.
    pub fn head(&self) -> Result<i64> {
        Ok(signed(self.inner.head()?))
    }

    /// Waits up to `timeout_millis` for an event after `after` to commit, from any
    /// thread or process sharing the store; `true` if one did. R42.
    pub fn wait_for_event(&self, after: i64, timeout_millis: i64) -> Result<bool> {
        Ok(self.inner.wait_for_event(crate::after(after), millis(timeout_millis))?)
    }

    /// The consumer's events one at a time from its acknowledged position on, waiting
    /// for each as it commits; `limit` (1 to 1,000) events per read of the log. R42.
    pub fn consume(&self, name: String, limit: i32) -> Result<Arc<Consumption>> {
        let name: carespace::ConsumerName = parse(&name)?;
        let events = Mutex::new(self.inner.consume(&name, count(limit)?)?);
        Ok(Arc::new(Consumption { events, service: self.inner.clone(), name }))
    }
}

/// A consumer's events in order (`Carespace.consume`): call `next` in a loop, and
/// `acknowledge` each event once handled. Each event comes once per `Consumption`; a
/// new one starts again after the last acknowledgement, so what was not acknowledged
/// comes again. R42.
#[derive(uniffi::Object)]
pub struct Consumption {
    events: Mutex<carespace::Consumption>,
    // Acknowledging goes to the service, so it does not wait for a `next` in progress.
    service: carespace::Carespace,
    name: carespace::ConsumerName,
}

#[uniffi::export]
impl Consumption {
    /// The next event, waiting up to `timeout_millis` for one to commit; `null`/`nil`
    /// if none did.
    pub fn next(&self, timeout_millis: i64) -> Result<Option<Event>> {
        let mut events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(events.next(millis(timeout_millis))?.map(Into::into))
    }

    /// Moves the consumer's position to `seq` (its events up to there are handled) and
    /// returns it.
    pub fn acknowledge(&self, seq: i64) -> Result<i64> {
        Ok(signed(self.service.acknowledge(&self.name, acknowledged(seq)?)?.acknowledged))
    }
}

/// The page request of a list method's `limit` and `cursor` (R43).
fn page(limit: Option<i32>, cursor: Option<String>) -> Result<PageRequest> {
    Ok(PageRequest { limit: limit.map(count).transpose()?, cursor: cursor.map(Cursor::from_text) })
}

/// A sequence number to acknowledge, from Kotlin or Swift (a signed `Long`): positions
/// run from 0, so a negative one is refused here.
fn acknowledged(seq: i64) -> Result<u64> {
    u64::try_from(seq).map_err(|_| CarespaceError::AcknowledgementOutOfRange {
        reason: format!("{seq} is not a position in the event log: positions run from 0 to its head"),
    })
}

impl From<uuid::Error> for CarespaceError {
    fn from(e: uuid::Error) -> Self {
        Self::InvalidId { reason: format!("not a valid id: {e}") }
    }
}
