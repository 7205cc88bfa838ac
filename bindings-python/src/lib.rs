//! `carespace._carespace`: the native half of the Python package `carespace` (pyo3).
//!
//! The `Carespace` class wraps the Rust service; every method releases the GIL while
//! the store works, so Python threads can share one object. Values come back as the
//! immutable classes of `values.rs`, errors as the exception classes of
//! `carespace._errors` (mapped once, in `errors.rs`), enums as `carespace._enums`.

mod convert;
mod errors;
mod values;

use std::path::PathBuf;

use carespace::{
    DiscoveryFilter, Error, NewWorkspace, OrganisationId, Policy, SettingsChange, Speciality, UserId, WorkspaceId,
};
use carespace_sqlite::{Durability, SqliteOptions, SqliteStore};
use pyo3::prelude::*;
use time::{Duration, OffsetDateTime};

use crate::convert::{ACTIONS, APPROVERS, Id, ORGANISATION_KINDS, STANDINGS, enum_value, from_py, to_py};
use crate::errors::to_py_err;
use crate::values::{
    Conversation, DiscoveryEntry, Event, Invite, Joined, Left, Member, MemberList, Membership, Organisation,
    PendingRequest, Person, PersonalWorkspace, Swept, SwitcherEntry, User, Viewer, VisibleWorkspace, Workspace,
    WorkspaceOutcome,
};

/// Runs `f` without the GIL and converts its error.
fn run<T: Send>(py: Python<'_>, f: impl FnOnce() -> Result<T, Error> + Send) -> PyResult<T> {
    py.detach(f).map_err(|e| to_py_err(py, e))
}

/// Parses text into a core value, raising the matching `InvalidInputError`.
fn parse<T: std::str::FromStr<Err = Error>>(py: Python<'_>, text: &str) -> PyResult<T> {
    text.parse().map_err(|e| to_py_err(py, e))
}

fn speciality(py: Python<'_>, code: u16) -> PyResult<Speciality> {
    Speciality::from_code(code).map_err(|e| to_py_err(py, e))
}

/// A clock that stands still until moved, for tests and simulations.
#[pyclass(frozen, module = "carespace", name = "ManualClock")]
struct ManualClock(carespace::ManualClock);

#[pymethods]
impl ManualClock {
    /// A clock showing ``start`` (an aware datetime).
    #[new]
    fn new(start: OffsetDateTime) -> Self {
        Self(carespace::ManualClock::new(start))
    }
    /// Moves the clock forward (or back) by ``by``.
    fn advance(&self, by: Duration) {
        self.0.advance(by);
    }
    /// Sets the clock to ``at``.
    fn set(&self, at: OffsetDateTime) {
        self.0.set(at);
    }
    /// The time it shows, in UTC.
    fn now(&self) -> OffsetDateTime {
        carespace::Clock::now(&self.0)
    }
    fn __repr__(&self) -> String {
        format!("ManualClock({})", carespace::Clock::now(&self.0))
    }
}

/// The Carespace service over a SQLite file or an in-memory store.
#[pyclass(frozen, module = "carespace", name = "Carespace")]
struct Carespace {
    inner: carespace::Carespace,
    description: String,
}

/// The policy's durations as keyword arguments give them (`None`: the default).
struct PolicyDurations {
    invite_lifetime: Option<Duration>,
    rerequest_cooldown: Option<Duration>,
    escalate_after: Option<Duration>,
    end_reminder: Option<Duration>,
}

fn build(
    store: std::sync::Arc<dyn carespace::Store>,
    description: String,
    approvers: Option<&Bound<'_, PyAny>>,
    creator_kinds: Option<Vec<Bound<'_, PyAny>>>,
    durations: PolicyDurations,
    clock: Option<&ManualClock>,
) -> PyResult<Carespace> {
    let mut policy = Policy::default();
    if let Some(approvers) = approvers {
        policy = policy.with_approvers(from_py(APPROVERS, "approvers", approvers)?);
    }
    if let Some(kinds) = creator_kinds {
        policy = policy.with_creator_kinds(
            kinds.iter().map(|k| from_py(ORGANISATION_KINDS, "creator_kinds", k)).collect::<PyResult<Vec<_>>>()?,
        );
    }
    let PolicyDurations { invite_lifetime, rerequest_cooldown, escalate_after, end_reminder } = durations;
    if let Some(lifetime) = invite_lifetime {
        policy = policy.with_invite_lifetime(lifetime);
    }
    if let Some(cooldown) = rerequest_cooldown {
        policy = policy.with_rerequest_cooldown(cooldown);
    }
    if let Some(wait) = escalate_after {
        policy = policy.with_escalate_after(wait);
    }
    if let Some(lead) = end_reminder {
        policy = policy.with_end_reminder(lead);
    }
    let mut inner = carespace::Carespace::from_arc(store).with_policy(policy);
    if let Some(clock) = clock {
        inner = inner.with_clock(clock.0.clone());
    }
    Ok(Carespace { inner, description })
}

#[pymethods]
impl Carespace {
    /// Opens (creating and migrating if needed) a SQLite database file.
    #[staticmethod]
    #[pyo3(signature = (path, *, durability = None, approvers = None, creator_kinds = None, invite_lifetime = None, rerequest_cooldown = None, escalate_after = None, end_reminder = None, clock = None))]
    #[allow(clippy::too_many_arguments)]
    fn open(
        py: Python<'_>,
        path: PathBuf,
        durability: Option<&Bound<'_, PyAny>>,
        approvers: Option<&Bound<'_, PyAny>>,
        creator_kinds: Option<Vec<Bound<'_, PyAny>>>,
        invite_lifetime: Option<Duration>,
        rerequest_cooldown: Option<Duration>,
        escalate_after: Option<Duration>,
        end_reminder: Option<Duration>,
        clock: Option<&ManualClock>,
    ) -> PyResult<Self> {
        let durability = match durability.map(|d| enum_value(d, "durability", "Durability")).transpose()?.as_deref() {
            None | Some("full") => Durability::Full,
            Some("normal") => Durability::Normal,
            Some(other) => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!("{other:?} is not a Durability")));
            }
        };
        let options = SqliteOptions { durability, ..SqliteOptions::default() };
        let description = format!("Carespace.open({:?})", path.display().to_string());
        let store = run(py, move || SqliteStore::open_with(&path, options))?;
        let durations = PolicyDurations { invite_lifetime, rerequest_cooldown, escalate_after, end_reminder };
        build(std::sync::Arc::new(store), description, approvers, creator_kinds, durations, clock)
    }

    /// A service over a private in-memory store (nothing survives the object).
    #[staticmethod]
    #[pyo3(signature = (*, approvers = None, creator_kinds = None, invite_lifetime = None, rerequest_cooldown = None, escalate_after = None, end_reminder = None, clock = None))]
    fn in_memory(
        approvers: Option<&Bound<'_, PyAny>>,
        creator_kinds: Option<Vec<Bound<'_, PyAny>>>,
        invite_lifetime: Option<Duration>,
        rerequest_cooldown: Option<Duration>,
        escalate_after: Option<Duration>,
        end_reminder: Option<Duration>,
        clock: Option<&ManualClock>,
    ) -> PyResult<Self> {
        let store = std::sync::Arc::new(carespace::MemoryStore::new());
        let durations = PolicyDurations { invite_lifetime, rerequest_cooldown, escalate_after, end_reminder };
        build(store, "Carespace.in_memory()".into(), approvers, creator_kinds, durations, clock)
    }

    fn __repr__(&self) -> String {
        self.description.clone()
    }

    // ----- Organisations and users ----------------------------------------------------

    /// Registers an organisation (R1).
    #[pyo3(signature = (*, name, kind, ods_code = None))]
    fn register_organisation(
        &self,
        py: Python<'_>,
        name: &str,
        kind: &Bound<'_, PyAny>,
        ods_code: Option<&str>,
    ) -> PyResult<Organisation> {
        let name = parse(py, name)?;
        let kind = from_py(ORGANISATION_KINDS, "kind", kind)?;
        let ods = ods_code.map(|c| parse(py, c)).transpose()?;
        run(py, || self.inner.register_organisation(name, kind, ods)).map(Organisation)
    }

    /// Registers a user with an NHS email (R2, R3).
    fn register_user(&self, py: Python<'_>, email: &str, name: &str) -> PyResult<User> {
        let (email, name) = (parse(py, email)?, parse(py, name)?);
        run(py, || self.inner.register_user(email, name)).map(User)
    }

    /// Joins an organisation, getting a My Workspace there (R4, R26).
    fn join_organisation(&self, py: Python<'_>, user: Id, organisation: Id) -> PyResult<PersonalWorkspace> {
        run(py, || self.inner.join_organisation(UserId::from(user.0), OrganisationId::from(organisation.0)))
            .map(PersonalWorkspace)
    }

    /// An organisation by id.
    fn organisation(&self, py: Python<'_>, id: Id) -> PyResult<Organisation> {
        run(py, || self.inner.organisation(OrganisationId::from(id.0))).map(Organisation)
    }

    /// An organisation by ODS code, or ``None``.
    fn organisation_by_ods(&self, py: Python<'_>, code: &str) -> PyResult<Option<Organisation>> {
        let code = parse(py, code)?;
        Ok(run(py, || self.inner.organisation_by_ods(&code))?.map(Organisation))
    }

    /// A user by id.
    fn user(&self, py: Python<'_>, id: Id) -> PyResult<User> {
        run(py, || self.inner.user(UserId::from(id.0))).map(User)
    }

    /// A user by email, or ``None``.
    fn user_by_email(&self, py: Python<'_>, email: &str) -> PyResult<Option<User>> {
        let email = parse(py, email)?;
        Ok(run(py, || self.inner.user_by_email(&email))?.map(User))
    }

    // ----- Workspaces -----------------------------------------------------------------

    /// Creates a workspace; the creator becomes its admin (R5–R8, R13, R27).
    #[pyo3(signature = (*, actor, organisation, name, speciality, description = ""))]
    fn create_workspace(
        &self,
        py: Python<'_>,
        actor: Id,
        organisation: Id,
        name: &str,
        speciality: u16,
        description: &str,
    ) -> PyResult<WorkspaceOutcome> {
        let new = NewWorkspace {
            name: parse(py, name)?,
            speciality: self::speciality(py, speciality)?,
            description: parse(py, description)?,
        };
        run(py, || self.inner.create_workspace(actor.0.into(), organisation.0.into(), new)).map(WorkspaceOutcome)
    }

    /// Joins the example workspace of a speciality: creates it, or requests to join it (R9).
    #[pyo3(signature = (*, actor, organisation, speciality))]
    fn join_example(&self, py: Python<'_>, actor: Id, organisation: Id, speciality: u16) -> PyResult<Joined> {
        let speciality = self::speciality(py, speciality)?;
        run(py, || self.inner.join_example(actor.0.into(), organisation.0.into(), speciality)).map(Joined)
    }

    /// Lists an organisation's workspaces and examples (R11), optionally filtered.
    #[pyo3(signature = (actor, organisation, *, name_contains = None, speciality = None, colleague = None))]
    fn discover(
        &self,
        py: Python<'_>,
        actor: Id,
        organisation: Id,
        name_contains: Option<String>,
        speciality: Option<u16>,
        colleague: Option<Id>,
    ) -> PyResult<Vec<DiscoveryEntry>> {
        let filter = DiscoveryFilter {
            name_contains,
            speciality: speciality.map(|c| self::speciality(py, c)).transpose()?,
            colleague: colleague.map(|c| UserId::from(c.0)),
        };
        let entries = run(py, || self.inner.discover(actor.0.into(), organisation.0.into(), &filter))?;
        Ok(entries.into_iter().map(DiscoveryEntry).collect())
    }

    /// The signature for patient messages: name and organisation on two lines (R12).
    fn signature(&self, py: Python<'_>, workspace: Id) -> PyResult<String> {
        run(py, || self.inner.signature(WorkspaceId::from(workspace.0)))
    }

    /// The warnings a name would get in an organisation (R13), as sentences.
    fn name_warnings(&self, py: Python<'_>, organisation: Id, name: &str) -> PyResult<Vec<String>> {
        let name = parse(py, name)?;
        let warnings = run(py, || self.inner.name_warnings(organisation.0.into(), &name))?;
        Ok(warnings.iter().map(ToString::to_string).collect())
    }

    /// Renames a workspace or changes its speciality or description (R24); admins only.
    #[pyo3(signature = (*, actor, workspace, name = None, speciality = None, description = None))]
    fn update_settings(
        &self,
        py: Python<'_>,
        actor: Id,
        workspace: Id,
        name: Option<&str>,
        speciality: Option<u16>,
        description: Option<&str>,
    ) -> PyResult<WorkspaceOutcome> {
        let change = SettingsChange {
            name: name.map(|n| parse(py, n)).transpose()?,
            speciality: speciality.map(|c| self::speciality(py, c)).transpose()?,
            description: description.map(|d| parse(py, d)).transpose()?,
        };
        run(py, || self.inner.update_settings(actor.0.into(), workspace.0.into(), change)).map(WorkspaceOutcome)
    }

    // ----- Membership -----------------------------------------------------------------

    /// Requests to join (R14); accepts a pending invite instead where there is one (R19).
    fn request_to_join(&self, py: Python<'_>, actor: Id, workspace: Id) -> PyResult<Joined> {
        run(py, || self.inner.request_to_join(actor.0.into(), workspace.0.into())).map(Joined)
    }

    /// Approves a join request (R16).
    #[pyo3(signature = (*, actor, workspace, user))]
    fn approve(&self, py: Python<'_>, actor: Id, workspace: Id, user: Id) -> PyResult<Membership> {
        run(py, || self.inner.approve(actor.0.into(), workspace.0.into(), user.0.into())).map(Membership)
    }

    /// Declines a join request (R17).
    #[pyo3(signature = (*, actor, workspace, user))]
    fn decline(&self, py: Python<'_>, actor: Id, workspace: Id, user: Id) -> PyResult<()> {
        run(py, || self.inner.decline(actor.0.into(), workspace.0.into(), user.0.into()))
    }

    /// Archives a member (R22); admins only.
    #[pyo3(signature = (*, actor, workspace, user))]
    fn archive_member(&self, py: Python<'_>, actor: Id, workspace: Id, user: Id) -> PyResult<Membership> {
        run(py, || self.inner.archive_member(actor.0.into(), workspace.0.into(), user.0.into())).map(Membership)
    }

    /// Unarchives a member, who becomes approved again (R22); admins only.
    #[pyo3(signature = (*, actor, workspace, user))]
    fn unarchive_member(&self, py: Python<'_>, actor: Id, workspace: Id, user: Id) -> PyResult<Membership> {
        run(py, || self.inner.unarchive_member(actor.0.into(), workspace.0.into(), user.0.into())).map(Membership)
    }

    /// Promotes an approved member to admin (R23).
    #[pyo3(signature = (*, actor, workspace, user))]
    fn promote(&self, py: Python<'_>, actor: Id, workspace: Id, user: Id) -> PyResult<Membership> {
        run(py, || self.inner.promote(actor.0.into(), workspace.0.into(), user.0.into())).map(Membership)
    }

    /// Demotes an admin, never the last one (R23).
    #[pyo3(signature = (*, actor, workspace, user))]
    fn demote(&self, py: Python<'_>, actor: Id, workspace: Id, user: Id) -> PyResult<Membership> {
        run(py, || self.inner.demote(actor.0.into(), workspace.0.into(), user.0.into())).map(Membership)
    }

    /// Sets, extends or clears (``ends_at=None``) the end date of a membership (R39); admins only.
    #[pyo3(signature = (*, actor, workspace, user, ends_at))]
    fn set_membership_end(
        &self,
        py: Python<'_>,
        actor: Id,
        workspace: Id,
        user: Id,
        ends_at: Option<OffsetDateTime>,
    ) -> PyResult<Membership> {
        run(py, || self.inner.set_membership_end(actor.0.into(), workspace.0.into(), user.0.into(), ends_at))
            .map(Membership)
    }

    /// Leaves a workspace (R21).
    fn leave(&self, py: Python<'_>, actor: Id, workspace: Id) -> PyResult<Left> {
        run(py, || self.inner.leave(actor.0.into(), workspace.0.into())).map(Left)
    }

    // ----- Invites --------------------------------------------------------------------

    /// Invites an NHS email (R18).
    #[pyo3(signature = (*, actor, workspace, email))]
    fn invite(&self, py: Python<'_>, actor: Id, workspace: Id, email: &str) -> PyResult<Invite> {
        let email = parse(py, email)?;
        run(py, || self.inner.invite(actor.0.into(), workspace.0.into(), email)).map(Invite)
    }

    /// Accepts an invite addressed to the actor (R19).
    fn accept_invite(&self, py: Python<'_>, actor: Id, invite: Id) -> PyResult<Joined> {
        run(py, || self.inner.accept_invite(actor.0.into(), invite.0.into())).map(Joined)
    }

    /// Revokes a pending invite (R20).
    fn revoke_invite(&self, py: Python<'_>, actor: Id, invite: Id) -> PyResult<Invite> {
        run(py, || self.inner.revoke_invite(actor.0.into(), invite.0.into())).map(Invite)
    }

    /// The pending invites addressed to the actor (R19).
    fn invites_for_me(&self, py: Python<'_>, actor: Id) -> PyResult<Vec<Invite>> {
        Ok(run(py, || self.inner.invites_for_me(actor.0.into()))?.into_iter().map(Invite).collect())
    }

    /// One invite, for its addressee or the workspace's approved members, with its status as of now.
    fn invite_details(&self, py: Python<'_>, actor: Id, invite: Id) -> PyResult<Invite> {
        run(py, || self.inner.invite_details(actor.0.into(), invite.0.into())).map(Invite)
    }

    /// The pending invites of a workspace, for its approved members.
    fn pending_invites(&self, py: Python<'_>, actor: Id, workspace: Id) -> PyResult<Vec<Invite>> {
        Ok(run(py, || self.inner.pending_invites(actor.0.into(), workspace.0.into()))?
            .into_iter()
            .map(Invite)
            .collect())
    }

    // ----- Lookups --------------------------------------------------------------------

    /// A shared workspace's record and status, for anyone in its organisation.
    fn workspace(&self, py: Python<'_>, actor: Id, workspace: Id) -> PyResult<Workspace> {
        run(py, || self.inner.workspace(actor.0.into(), workspace.0.into())).map(Workspace)
    }

    /// A user's membership of a workspace, or None; about oneself, or for those who may
    /// see the member list (R15).
    fn membership(&self, py: Python<'_>, actor: Id, workspace: Id, user: Id) -> PyResult<Option<Membership>> {
        Ok(run(py, || self.inner.membership(actor.0.into(), workspace.0.into(), user.0.into()))?.map(Membership))
    }

    /// The organisations a user belongs to, by name.
    fn organisations_of(&self, py: Python<'_>, user: Id) -> PyResult<Vec<Organisation>> {
        Ok(run(py, || self.inner.organisations_of(user.0.into()))?.into_iter().map(Organisation).collect())
    }

    // ----- Conversations --------------------------------------------------------------

    /// Starts a conversation (R29).
    fn start_conversation(&self, py: Python<'_>, actor: Id, workspace: Id) -> PyResult<Conversation> {
        run(py, || self.inner.start_conversation(actor.0.into(), workspace.0.into())).map(Conversation)
    }

    /// The conversations of a workspace the actor may see (R28, R30).
    fn conversations(&self, py: Python<'_>, actor: Id, workspace: Id) -> PyResult<Vec<Conversation>> {
        Ok(run(py, || self.inner.conversations(actor.0.into(), workspace.0.into()))?
            .into_iter()
            .map(Conversation)
            .collect())
    }

    // ----- Views ----------------------------------------------------------------------

    /// The permission table's answer (R34).
    #[pyo3(signature = (*, actor, workspace, action))]
    fn can(&self, py: Python<'_>, actor: Id, workspace: Id, action: &Bound<'_, PyAny>) -> PyResult<bool> {
        let action = from_py(ACTIONS, "action", action)?;
        run(py, || self.inner.can(actor.0.into(), workspace.0.into(), action))
    }

    /// Where the actor stands towards a workspace.
    fn standing<'py>(&self, py: Python<'py>, actor: Id, workspace: Id) -> PyResult<Bound<'py, PyAny>> {
        let standing = run(py, || self.inner.standing(actor.0.into(), workspace.0.into()))?;
        to_py(py, STANDINGS, standing)
    }

    /// The members of a workspace, current and archived (R15, R22).
    fn members(&self, py: Python<'_>, actor: Id, workspace: Id) -> PyResult<MemberList> {
        run(py, || self.inner.members(actor.0.into(), workspace.0.into())).map(MemberList)
    }

    /// The workspace switcher (R31).
    fn my_workspaces(&self, py: Python<'_>, actor: Id) -> PyResult<Vec<SwitcherEntry>> {
        Ok(run(py, || self.inner.my_workspaces(actor.0.into()))?.into_iter().map(SwitcherEntry).collect())
    }

    /// The join requests waiting for the actor (R33).
    fn pending_requests(&self, py: Python<'_>, actor: Id) -> PyResult<Vec<PendingRequest>> {
        Ok(run(py, || self.inner.pending_requests(actor.0.into()))?.into_iter().map(PendingRequest).collect())
    }

    // ----- Audits and scheduled work ---------------------------------------------------

    /// Does the time-driven work due at ``now`` (R38, R39): expires invites, escalates
    /// stale join requests, reminds and ends time-boxed memberships. Idempotent; safe
    /// from several threads and processes at once.
    fn sweep(&self, py: Python<'_>, now: OffsetDateTime) -> PyResult<Swept> {
        run(py, || self.inner.sweep(now)).map(Swept)
    }

    /// Who could see a workspace's conversations at ``at`` (R37), from the event log.
    fn viewers_at(&self, py: Python<'_>, workspace: Id, at: OffsetDateTime) -> PyResult<Vec<Viewer>> {
        Ok(run(py, || self.inner.viewers_at(workspace.0.into(), at))?.into_iter().map(Viewer).collect())
    }

    /// The workspaces whose conversations a user could see at ``at`` (R37), from the event log.
    fn workspaces_visible_at(&self, py: Python<'_>, user: Id, at: OffsetDateTime) -> PyResult<Vec<VisibleWorkspace>> {
        Ok(run(py, || self.inner.workspaces_visible_at(user.0.into(), at))?.into_iter().map(VisibleWorkspace).collect())
    }

    /// Every membership event of a workspace, oldest first, with actor and time (R37).
    fn membership_history(&self, py: Python<'_>, workspace: Id) -> PyResult<Vec<Event>> {
        Ok(run(py, || self.inner.membership_history(workspace.0.into()))?.into_iter().map(Event).collect())
    }

    /// Events after the cursor ``after`` (R32), at most ``limit``.
    #[pyo3(signature = (after = 0, limit = 1000))]
    fn events_since(&self, py: Python<'_>, after: u64, limit: usize) -> PyResult<Vec<Event>> {
        Ok(run(py, || self.inner.events_since(after, limit))?.into_iter().map(Event).collect())
    }
}

/// The name of a catalogue speciality (R10).
#[pyfunction]
fn speciality_name(py: Python<'_>, code: u16) -> PyResult<&'static str> {
    Ok(speciality(py, code)?.name())
}

/// The speciality catalogue (R10): ``(code, name)`` pairs, by code.
#[pyfunction]
fn specialities() -> Vec<(u16, &'static str)> {
    carespace::CATALOGUE.iter().map(|e| (e.code, e.name)).collect()
}

/// The Python module `carespace._carespace`.
#[pymodule]
#[pyo3(name = "_carespace")]
fn carespace_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Carespace>()?;
    m.add_class::<ManualClock>()?;
    for class in [
        m.py().get_type::<Organisation>(),
        m.py().get_type::<User>(),
        m.py().get_type::<Workspace>(),
        m.py().get_type::<PersonalWorkspace>(),
        m.py().get_type::<Membership>(),
        m.py().get_type::<Invite>(),
        m.py().get_type::<Conversation>(),
        m.py().get_type::<Event>(),
        m.py().get_type::<Person>(),
        m.py().get_type::<DiscoveryEntry>(),
        m.py().get_type::<SwitcherEntry>(),
        m.py().get_type::<Member>(),
        m.py().get_type::<MemberList>(),
        m.py().get_type::<PendingRequest>(),
        m.py().get_type::<Joined>(),
        m.py().get_type::<WorkspaceOutcome>(),
        m.py().get_type::<Left>(),
        m.py().get_type::<Viewer>(),
        m.py().get_type::<VisibleWorkspace>(),
        m.py().get_type::<Swept>(),
    ] {
        m.add(class.name()?, class)?;
    }
    m.add_function(wrap_pyfunction!(speciality_name, m)?)?;
    m.add_function(wrap_pyfunction!(specialities, m)?)?;
    m.add("CATALOGUE_SOURCE", carespace::CATALOGUE_SOURCE)?;
    m.add("CATALOGUE_VERSION", carespace::CATALOGUE_VERSION)?;
    Ok(())
}
