//! [`AsyncCarespace`] (feature `tokio`): the service for async code, every call run on
//! tokio's blocking thread pool.
//!
//! # Why
//! Carespace's calls block: they wait on SQLite's file lock and `fsync`, or on a
//! PostgreSQL round trip. Run on a runtime's worker thread, a blocking call stalls every
//! task that worker drives for as long as it takes (an fsync-bound SQLite commit is a
//! few hundred microseconds; a busy file can wait seconds). `AsyncCarespace` hands each
//! call to [`spawn_blocking`](::tokio::task::spawn_blocking) and awaits it, so workers keep serving
//! while the store works. It returns the same types and the same [`Error`]s as
//! [`Carespace`], and the caller's tracing span follows the call onto the blocking
//! thread.
//!
//! ```
//! use carespace::tokio::AsyncCarespace;
//! use carespace::{Carespace, MemoryStore, OrganisationKind};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), carespace::Error> {
//! let service = AsyncCarespace::new(Carespace::new(MemoryStore::new()));
//! let trust = service
//!     .register_organisation("Barts Health NHS Trust".parse()?, OrganisationKind::NhsTrust, None)
//!     .await?;
//! let alice = service.register_user("alice@nhs.net".parse()?, "Alice Smith".parse()?).await?;
//! service.join_organisation(alice.id, trust.id).await?;
//! assert_eq!(service.my_workspaces(alice.id).await?.len(), 1);
//! # Ok(())
//! # }
//! ```

use time::OffsetDateTime;

use crate::directory::OrganisationSearch;
use crate::page::{Page, PageRequest};
use crate::views::{
    DiscoveryEntry, DiscoveryFilter, Joined, Left, Member, NameWarning, NewWorkspace, PendingRequest, SettingsChange,
    SwitcherEntry, WorkspaceOutcome,
};
use crate::{
    Action, Carespace, Conversation, Error, Event, Invite, InviteId, Membership, NhsEmail, OdsCode, On, Organisation,
    OrganisationId, OrganisationKind, OrganisationName, PersonName, PersonalWorkspace, Speciality, Standing,
    StorageError, StorageErrorKind, Swept, User, UserId, Viewer, VisibleWorkspace, Workspace, WorkspaceId,
    WorkspaceName,
};

/// [`Carespace`] for async code: the same calls, each run with
/// [`spawn_blocking`](::tokio::task::spawn_blocking) and awaited. Cheap to clone and share.
#[derive(Debug, Clone)]
pub struct AsyncCarespace {
    service: Carespace,
}

impl AsyncCarespace {
    /// Wraps a service (its store, clock and policy are kept).
    pub fn new(service: Carespace) -> Self {
        Self { service }
    }

    /// The blocking service underneath, for code already on a blocking thread.
    pub fn blocking(&self) -> &Carespace {
        &self.service
    }

    /// Runs `call` on the blocking pool, inside the caller's span.
    async fn run<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Carespace) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let service = self.service.clone();
        let span = tracing::Span::current();
        match ::tokio::task::spawn_blocking(move || span.in_scope(|| call(&service))).await {
            Ok(result) => result,
            // The library does not panic on any input; should it, the panic goes on
            // unwinding in the caller, as it would have without the thread hop.
            Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
            Err(_) => Err(Error::Storage(StorageError::new(
                StorageErrorKind::Other,
                "the tokio runtime shut down before the call ran; nothing was written",
            ))),
        }
    }
}

/// One async method per blocking one: same name, arguments taken by value.
macro_rules! forward {
    ($($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> $out:ty = |$s:ident| $call:expr;)*) => {
        impl AsyncCarespace {
            $(
                $(#[$doc])*
                pub async fn $name(&self, $($arg: $ty),*) -> Result<$out, Error> {
                    self.run(move |$s| $call).await
                }
            )*
        }
    };
}

impl AsyncCarespace {
    /// [`Carespace::can`] on the blocking pool: in a workspace or an organisation.
    pub async fn can(&self, actor: UserId, on: impl Into<On>, action: Action) -> Result<bool, Error> {
        let on = on.into();
        self.run(move |s| s.can(actor, on, action)).await
    }
}

forward! {
    /// [`Carespace::register_organisation`] on the blocking pool.
    fn register_organisation(name: OrganisationName, kind: OrganisationKind, ods_code: Option<OdsCode>) -> Organisation
        = |s| s.register_organisation(name, kind, ods_code);
    /// [`Carespace::register_user`] on the blocking pool.
    fn register_user(email: NhsEmail, name: PersonName) -> User = |s| s.register_user(email, name);
    /// [`Carespace::join_organisation`] on the blocking pool.
    fn join_organisation(actor: UserId, organisation: OrganisationId) -> PersonalWorkspace
        = |s| s.join_organisation(actor, organisation);
    /// [`Carespace::organisation`] on the blocking pool.
    fn organisation(id: OrganisationId) -> Organisation = |s| s.organisation(id);
    /// [`Carespace::organisation_by_ods`] on the blocking pool.
    fn organisation_by_ods(code: OdsCode) -> Option<Organisation> = |s| s.organisation_by_ods(&code);
    /// [`Carespace::user`] on the blocking pool.
    fn user(id: UserId) -> User = |s| s.user(id);
    /// [`Carespace::user_by_email`] on the blocking pool.
    fn user_by_email(email: NhsEmail) -> Option<User> = |s| s.user_by_email(&email);
    /// [`Carespace::create_workspace`] on the blocking pool.
    fn create_workspace(actor: UserId, organisation: OrganisationId, new: NewWorkspace) -> WorkspaceOutcome
        = |s| s.create_workspace(actor, organisation, new);
    /// [`Carespace::join_example`] on the blocking pool.
    fn join_example(actor: UserId, organisation: OrganisationId, speciality: Speciality) -> Joined
        = |s| s.join_example(actor, organisation, speciality);
    /// [`Carespace::discover`] on the blocking pool.
    fn discover(actor: UserId, organisation: OrganisationId, filter: DiscoveryFilter, page: PageRequest)
        -> Page<DiscoveryEntry> = |s| s.discover(actor, organisation, &filter, &page);
    /// [`Carespace::search_organisations`] on the blocking pool.
    fn search_organisations(search: OrganisationSearch, page: PageRequest) -> Page<Organisation>
        = |s| s.search_organisations(&search, &page);
    /// [`Carespace::signature`] on the blocking pool.
    fn signature(workspace: WorkspaceId) -> String = |s| s.signature(workspace);
    /// [`Carespace::name_warnings`] on the blocking pool.
    fn name_warnings(organisation: OrganisationId, name: WorkspaceName) -> Vec<NameWarning>
        = |s| s.name_warnings(organisation, &name);
    /// [`Carespace::update_settings`] on the blocking pool.
    fn update_settings(actor: UserId, workspace: WorkspaceId, change: SettingsChange) -> WorkspaceOutcome
        = |s| s.update_settings(actor, workspace, change);
    /// [`Carespace::request_to_join`] on the blocking pool.
    fn request_to_join(actor: UserId, workspace: WorkspaceId) -> Joined = |s| s.request_to_join(actor, workspace);
    /// [`Carespace::approve`] on the blocking pool.
    fn approve(actor: UserId, workspace: WorkspaceId, user: UserId) -> Membership = |s| s.approve(actor, workspace, user);
    /// [`Carespace::decline`] on the blocking pool.
    fn decline(actor: UserId, workspace: WorkspaceId, user: UserId) -> () = |s| s.decline(actor, workspace, user);
    /// [`Carespace::archive_member`] on the blocking pool.
    fn archive_member(actor: UserId, workspace: WorkspaceId, user: UserId) -> Membership
        = |s| s.archive_member(actor, workspace, user);
    /// [`Carespace::unarchive_member`] on the blocking pool.
    fn unarchive_member(actor: UserId, workspace: WorkspaceId, user: UserId) -> Membership
        = |s| s.unarchive_member(actor, workspace, user);
    /// [`Carespace::promote`] on the blocking pool.
    fn promote(actor: UserId, workspace: WorkspaceId, user: UserId) -> Membership = |s| s.promote(actor, workspace, user);
    /// [`Carespace::demote`] on the blocking pool.
    fn demote(actor: UserId, workspace: WorkspaceId, user: UserId) -> Membership = |s| s.demote(actor, workspace, user);
    /// [`Carespace::set_membership_end`] on the blocking pool.
    fn set_membership_end(actor: UserId, workspace: WorkspaceId, user: UserId, ends_at: Option<OffsetDateTime>) -> Membership
        = |s| s.set_membership_end(actor, workspace, user, ends_at);
    /// [`Carespace::leave`] on the blocking pool.
    fn leave(actor: UserId, workspace: WorkspaceId) -> Left = |s| s.leave(actor, workspace);
    /// [`Carespace::invite`] on the blocking pool.
    fn invite(actor: UserId, workspace: WorkspaceId, email: NhsEmail) -> Invite = |s| s.invite(actor, workspace, email);
    /// [`Carespace::accept_invite`] on the blocking pool.
    fn accept_invite(actor: UserId, invite: InviteId) -> Joined = |s| s.accept_invite(actor, invite);
    /// [`Carespace::revoke_invite`] on the blocking pool.
    fn revoke_invite(actor: UserId, invite: InviteId) -> Invite = |s| s.revoke_invite(actor, invite);
    /// [`Carespace::invites_for_me`] on the blocking pool.
    fn invites_for_me(actor: UserId) -> Vec<Invite> = |s| s.invites_for_me(actor);
    /// [`Carespace::invite_details`] on the blocking pool.
    fn invite_details(actor: UserId, invite: InviteId) -> Invite = |s| s.invite_details(actor, invite);
    /// [`Carespace::pending_invites`] on the blocking pool.
    fn pending_invites(actor: UserId, workspace: WorkspaceId, page: PageRequest) -> Page<Invite>
        = |s| s.pending_invites(actor, workspace, &page);
    /// [`Carespace::workspace`] on the blocking pool.
    fn workspace(actor: UserId, workspace: WorkspaceId) -> Workspace = |s| s.workspace(actor, workspace);
    /// [`Carespace::membership`] on the blocking pool.
    fn membership(actor: UserId, workspace: WorkspaceId, user: UserId) -> Option<Membership>
        = |s| s.membership(actor, workspace, user);
    /// [`Carespace::organisations_of`] on the blocking pool.
    fn organisations_of(user: UserId) -> Vec<Organisation> = |s| s.organisations_of(user);
    /// [`Carespace::start_conversation`] on the blocking pool.
    fn start_conversation(actor: UserId, workspace: WorkspaceId) -> Conversation
        = |s| s.start_conversation(actor, workspace);
    /// [`Carespace::conversations`] on the blocking pool.
    fn conversations(actor: UserId, workspace: WorkspaceId) -> Vec<Conversation> = |s| s.conversations(actor, workspace);
    /// [`Carespace::standing`] on the blocking pool.
    fn standing(actor: UserId, workspace: WorkspaceId) -> Standing = |s| s.standing(actor, workspace);
    /// [`Carespace::members`] on the blocking pool.
    fn members(actor: UserId, workspace: WorkspaceId, page: PageRequest) -> Page<Member>
        = |s| s.members(actor, workspace, &page);
    /// [`Carespace::my_workspaces`] on the blocking pool.
    fn my_workspaces(actor: UserId) -> Vec<SwitcherEntry> = |s| s.my_workspaces(actor);
    /// [`Carespace::pending_requests`] on the blocking pool.
    fn pending_requests(actor: UserId, page: PageRequest) -> Page<PendingRequest> = |s| s.pending_requests(actor, &page);
    /// [`Carespace::events_since`] on the blocking pool.
    fn events_since(after: u64, limit: usize) -> Vec<Event> = |s| s.events_since(after, limit);
    /// [`Carespace::viewers_at`] on the blocking pool.
    fn viewers_at(workspace: WorkspaceId, at: OffsetDateTime) -> Vec<Viewer> = |s| s.viewers_at(workspace, at);
    /// [`Carespace::workspaces_visible_at`] on the blocking pool.
    fn workspaces_visible_at(user: UserId, at: OffsetDateTime) -> Vec<VisibleWorkspace>
        = |s| s.workspaces_visible_at(user, at);
    /// [`Carespace::membership_history`] on the blocking pool.
    fn membership_history(workspace: WorkspaceId, page: PageRequest) -> Page<Event>
        = |s| s.membership_history(workspace, &page);
    /// [`Carespace::sweep`] on the blocking pool.
    fn sweep(now: OffsetDateTime) -> Swept = |s| s.sweep(now);
}
