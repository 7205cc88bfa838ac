//! `carespace._carespace`: the native half of the Python package `carespace` (pyo3).
//!
//! The `Carespace` class wraps the Rust service; every method releases the GIL while
//! the store works, so Python threads can share one object. Values come back as the
//! immutable classes of `values.rs`, errors as the exception classes of
//! `carespace._errors` (mapped once, in `errors.rs`), enums as `carespace._enums`.

mod consume;
mod convert;
mod errors;
mod pages;
mod values;

use std::path::PathBuf;

use std::sync::Arc;

use carespace::page::PageRequest;
use carespace::{
    DiscoveryFilter, Error, NewWorkspace, OrganisationId, Policy, SettingsChange, Speciality, UserId, WorkspaceId,
};
use carespace_postgres::{PostgresOptions, PostgresStore};
use carespace_sqlite::{Durability, SqliteOptions, SqliteStore};
use pyo3::prelude::*;
use time::{Duration, OffsetDateTime};

use crate::convert::{ACTIONS, APPROVERS, Id, Int, ORGANISATION_KINDS, STANDINGS, enum_value, from_py, to_py};
use crate::errors::to_py_err;
use crate::values::{
    Conversation, DiscoveryEntry, Event, ImportReport, Invite, Joined, Left, Member, Membership, Organisation,
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

fn speciality(py: Python<'_>, code: Int<u16>) -> PyResult<Speciality> {
    Speciality::from_code(code.0).map_err(|e| to_py_err(py, e))
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

/// The Carespace service over a SQLite file, a PostgreSQL database or an in-memory store. `close()` (or the
/// end of a `with` block) lets the store go: a SQLite file is closed once calls already
/// running have finished; any later call raises `ClosedError`.
#[pyclass(frozen, module = "carespace", name = "Carespace")]
struct Carespace {
    inner: std::sync::RwLock<Option<std::sync::Arc<carespace::Carespace>>>,
    description: String,
}

impl Carespace {
    /// Runs `f` on the service without the GIL; `ClosedError` once closed.
    fn call<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&carespace::Carespace) -> Result<T, Error> + Send,
    ) -> PyResult<T> {
        let service = self.inner.read().map_err(|_| closed(py, &self.description))?.clone();
        let service = service.ok_or_else(|| closed(py, &self.description))?;
        run(py, move || f(&service))
    }

    /// Whether `close()` has let the store go.
    fn is_closed(&self) -> bool {
        self.inner.read().map_or(true, |service| service.is_none())
    }

    /// The page of a list the service pages (R43) that `limit` and `cursor` ask for;
    /// the page can read the ones after it. `wrap` makes each item its Python class.
    fn paged<T, W>(
        slf: &Bound<'_, Self>,
        limit: Option<Int<u32>>,
        cursor: Option<String>,
        list: impl Fn(&carespace::Carespace, &PageRequest) -> Result<carespace::page::Page<T>, Error>
        + Send
        + Sync
        + 'static,
        wrap: fn(T) -> W,
    ) -> PyResult<pages::Page>
    where
        T: Send + 'static,
        W: pyo3::PyClass + Into<pyo3::PyClassInitializer<W>>,
    {
        let this: Py<Self> = slf.clone().unbind();
        let list = Arc::new(list);
        let fetch = pages::fetch(move |py, request| this.get().call(py, |s| list(s, request)), wrap);
        pages::read(slf.py(), fetch, &pages::request(limit.map(|l| l.0), cursor))
    }
}

/// `carespace.ClosedError` for a call on a closed object.
fn closed(py: Python<'_>, description: &str) -> PyErr {
    let message = format!("{description} is closed");
    match py.import("carespace._errors").and_then(|m| m.getattr("ClosedError")).and_then(|c| c.call1((message,))) {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
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
    Ok(Carespace { inner: std::sync::RwLock::new(Some(std::sync::Arc::new(inner))), description })
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

    /// Connects to PostgreSQL (``postgresql://user@host/database``, or libpq's
    /// ``host=… dbname=…`` form), migrating the schema if needed: for deployments where
    /// several servers share one database. TLS comes from the connection string as
    /// libpq reads it (``sslmode=disable|prefer|require|verify-ca|verify-full``,
    /// ``sslrootcert=PATH``). ``schema`` keeps the tables in a schema of their own,
    /// ``pool_size`` bounds the connections (16), ``connect_timeout`` (seconds, 10) is
    /// how long a call waits for a free or new connection.
    #[staticmethod]
    #[pyo3(signature = (url, *, schema = None, pool_size = None, connect_timeout = None, approvers = None, creator_kinds = None, invite_lifetime = None, rerequest_cooldown = None, escalate_after = None, end_reminder = None, clock = None))]
    #[allow(clippy::too_many_arguments)]
    fn connect(
        py: Python<'_>,
        url: &str,
        schema: Option<String>,
        pool_size: Option<Int<u32>>,
        connect_timeout: Option<f64>,
        approvers: Option<&Bound<'_, PyAny>>,
        creator_kinds: Option<Vec<Bound<'_, PyAny>>>,
        invite_lifetime: Option<Duration>,
        rerequest_cooldown: Option<Duration>,
        escalate_after: Option<Duration>,
        end_reminder: Option<Duration>,
        clock: Option<&ManualClock>,
    ) -> PyResult<Self> {
        let defaults = PostgresOptions::default();
        let options = PostgresOptions {
            schema,
            pool_size: pool_size.map_or(defaults.pool_size, |n| n.0),
            connection_timeout: connect_timeout.map(seconds).transpose()?.unwrap_or(defaults.connection_timeout),
            ..defaults
        };
        // The connection string may hold a password: the description never shows it.
        let description = match &options.schema {
            Some(schema) => format!("Carespace.connect(…, schema={schema:?})"),
            None => "Carespace.connect(…)".to_owned(),
        };
        let url = url.to_owned();
        let store = run(py, move || PostgresStore::connect_with(&url, options))?;
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
        let open = self.inner.read().map(|inner| inner.is_some()).unwrap_or(false);
        if open { self.description.clone() } else { format!("<closed {}>", self.description) }
    }

    /// Lets the store go: a SQLite file is closed once calls already running have
    /// finished. Closing twice is harmless; any other call afterwards raises
    /// `ClosedError`.
    fn close(&self, py: Python<'_>) {
        // Dropping the last reference may close a file or a pool: do it without the GIL.
        let service = match self.inner.write() {
            Ok(mut inner) => inner.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        py.detach(move || drop(service));
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Closes; exceptions from the block propagate.
    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close(py);
        false
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
        self.call(py, |s| s.register_organisation(name, kind, ods)).map(Organisation)
    }

    /// Registers a user with an NHS email (R2, R3).
    #[pyo3(signature = (*, email, name))]
    fn register_user(&self, py: Python<'_>, email: &str, name: &str) -> PyResult<User> {
        let (email, name) = (parse(py, email)?, parse(py, name)?);
        self.call(py, |s| s.register_user(email, name)).map(User)
    }

    /// Joins an organisation, getting a My Workspace there (R4, R26).
    #[pyo3(signature = (actor, *, organisation))]
    fn join_organisation(&self, py: Python<'_>, actor: Id, organisation: Id) -> PyResult<PersonalWorkspace> {
        self.call(py, |s| s.join_organisation(UserId::from(actor.0), OrganisationId::from(organisation.0)))
            .map(PersonalWorkspace)
    }

    /// An organisation by id.
    fn organisation(&self, py: Python<'_>, id: Id) -> PyResult<Organisation> {
        self.call(py, |s| s.organisation(OrganisationId::from(id.0))).map(Organisation)
    }

    /// An organisation by ODS code, or ``None``.
    fn organisation_by_ods(&self, py: Python<'_>, code: &str) -> PyResult<Option<Organisation>> {
        let code = parse(py, code)?;
        Ok(self.call(py, |s| s.organisation_by_ods(&code))?.map(Organisation))
    }

    /// Imports an ODS file (R40): ``etr*.csv`` (NHS trusts) or ``epraccur*.csv`` (GP
    /// practices and other prescribing settings), told apart by the file's name. One
    /// transaction; rows that cannot be read are reported, or with ``strict=True`` the
    /// import raises ``ImportRejectedError`` and writes nothing.
    #[pyo3(signature = (path, *, strict = false))]
    fn import_organisations(&self, py: Python<'_>, path: PathBuf, strict: bool) -> PyResult<ImportReport> {
        let options = carespace::directory::ImportOptions { strict };
        self.call(py, move |s| s.import_organisations_from(&path, options)).map(ImportReport)
    }

    /// Searches the directory (R40) by exactly one of ``name`` (word prefixes, any case
    /// and accents), ``ods_code`` (exact) or ``postcode`` (prefix): open organisations
    /// first, then by relevance and name; a page of at most ``limit`` (R43), after
    /// ``cursor`` (the previous page's ``next_cursor``).
    #[pyo3(signature = (*, name = None, ods_code = None, postcode = None, limit = None, cursor = None))]
    fn search_organisations(
        slf: &Bound<'_, Self>,
        name: Option<String>,
        ods_code: Option<String>,
        postcode: Option<String>,
        limit: Option<Int<u32>>,
        cursor: Option<String>,
    ) -> PyResult<pages::Page> {
        use carespace::directory::OrganisationSearch;
        let search = match (name, ods_code, postcode) {
            (Some(name), None, None) => OrganisationSearch::Name(name),
            (None, Some(code), None) => OrganisationSearch::OdsCode(code),
            (None, None, Some(postcode)) => OrganisationSearch::Postcode(postcode),
            _ => {
                return Err(pyo3::exceptions::PyTypeError::new_err(
                    "search_organisations() takes exactly one of name=, ods_code= and postcode=",
                ));
            }
        };
        Self::paged(slf, limit, cursor, move |s, page| s.search_organisations(&search, page), Organisation)
    }

    /// A user by id.
    fn user(&self, py: Python<'_>, id: Id) -> PyResult<User> {
        self.call(py, |s| s.user(UserId::from(id.0))).map(User)
    }

    /// A user by email, or ``None``.
    fn user_by_email(&self, py: Python<'_>, email: &str) -> PyResult<Option<User>> {
        let email = parse(py, email)?;
        Ok(self.call(py, |s| s.user_by_email(&email))?.map(User))
    }

    // ----- Workspaces -----------------------------------------------------------------

    /// Creates a workspace; the creator becomes its admin (R5–R8, R13, R27).
    #[pyo3(signature = (actor, *, organisation, name, speciality, description = ""))]
    fn create_workspace(
        &self,
        py: Python<'_>,
        actor: Id,
        organisation: Id,
        name: &str,
        speciality: Int<u16>,
        description: &str,
    ) -> PyResult<WorkspaceOutcome> {
        let new = NewWorkspace {
            name: parse(py, name)?,
            speciality: self::speciality(py, speciality)?,
            description: parse(py, description)?,
        };
        self.call(py, |s| s.create_workspace(actor.0.into(), organisation.0.into(), new)).map(WorkspaceOutcome)
    }

    /// Joins the example workspace of a speciality: creates it, or requests to join it (R9).
    #[pyo3(signature = (actor, *, organisation, speciality))]
    fn join_example(&self, py: Python<'_>, actor: Id, organisation: Id, speciality: Int<u16>) -> PyResult<Joined> {
        let speciality = self::speciality(py, speciality)?;
        self.call(py, |s| s.join_example(actor.0.into(), organisation.0.into(), speciality)).map(Joined)
    }

    /// A page of an organisation's workspaces and examples (R11, R43), optionally
    /// filtered, by name: at most ``limit`` (default 50, at most 1,000) after
    /// ``cursor``.
    #[pyo3(signature = (actor, *, organisation, name = None, speciality = None, colleague = None, limit = None, cursor = None))]
    #[allow(clippy::too_many_arguments)] // the keyword arguments Python sees
    fn discover(
        slf: &Bound<'_, Self>,
        actor: Id,
        organisation: Id,
        name: Option<String>,
        speciality: Option<Int<u16>>,
        colleague: Option<Id>,
        limit: Option<Int<u32>>,
        cursor: Option<String>,
    ) -> PyResult<pages::Page> {
        let filter = DiscoveryFilter {
            name,
            speciality: speciality.map(|c| self::speciality(slf.py(), c)).transpose()?,
            colleague: colleague.map(|c| UserId::from(c.0)),
        };
        let (actor, organisation) = (actor.0.into(), organisation.0.into());
        Self::paged(slf, limit, cursor, move |s, page| s.discover(actor, organisation, &filter, page), DiscoveryEntry)
    }

    /// The signature for patient messages: name and organisation on two lines (R12).
    fn signature(&self, py: Python<'_>, workspace: Id) -> PyResult<String> {
        self.call(py, |s| s.signature(WorkspaceId::from(workspace.0)))
    }

    /// The warnings a name would get in an organisation (R13), as sentences.
    #[pyo3(signature = (*, organisation, name))]
    fn name_warnings(&self, py: Python<'_>, organisation: Id, name: &str) -> PyResult<Vec<String>> {
        let name = parse(py, name)?;
        let warnings = self.call(py, |s| s.name_warnings(organisation.0.into(), &name))?;
        Ok(warnings.iter().map(ToString::to_string).collect())
    }

    /// Renames a workspace or changes its speciality or description (R24); admins only.
    #[pyo3(signature = (actor, *, workspace, name = None, speciality = None, description = None))]
    fn update_settings(
        &self,
        py: Python<'_>,
        actor: Id,
        workspace: Id,
        name: Option<&str>,
        speciality: Option<Int<u16>>,
        description: Option<&str>,
    ) -> PyResult<WorkspaceOutcome> {
        let change = SettingsChange {
            name: name.map(|n| parse(py, n)).transpose()?,
            speciality: speciality.map(|c| self::speciality(py, c)).transpose()?,
            description: description.map(|d| parse(py, d)).transpose()?,
        };
        self.call(py, |s| s.update_settings(actor.0.into(), workspace.0.into(), change)).map(WorkspaceOutcome)
    }

    // ----- Membership -----------------------------------------------------------------

    /// Requests to join (R14); accepts a pending invite instead where there is one (R19).
    #[pyo3(signature = (actor, *, workspace))]
    fn request_to_join(&self, py: Python<'_>, actor: Id, workspace: Id) -> PyResult<Joined> {
        self.call(py, |s| s.request_to_join(actor.0.into(), workspace.0.into())).map(Joined)
    }

    /// Approves a join request (R16).
    #[pyo3(signature = (actor, *, workspace, user))]
    fn approve(&self, py: Python<'_>, actor: Id, workspace: Id, user: Id) -> PyResult<Membership> {
        self.call(py, |s| s.approve(actor.0.into(), workspace.0.into(), user.0.into())).map(Membership)
    }

    /// Declines a join request (R17).
    #[pyo3(signature = (actor, *, workspace, user))]
    fn decline(&self, py: Python<'_>, actor: Id, workspace: Id, user: Id) -> PyResult<()> {
        self.call(py, |s| s.decline(actor.0.into(), workspace.0.into(), user.0.into()))
    }

    /// Archives a member (R22); admins only.
    #[pyo3(signature = (actor, *, workspace, user))]
    fn archive_member(&self, py: Python<'_>, actor: Id, workspace: Id, user: Id) -> PyResult<Membership> {
        self.call(py, |s| s.archive_member(actor.0.into(), workspace.0.into(), user.0.into())).map(Membership)
    }

    /// Unarchives a member, who becomes approved again (R22); admins only.
    #[pyo3(signature = (actor, *, workspace, user))]
    fn unarchive_member(&self, py: Python<'_>, actor: Id, workspace: Id, user: Id) -> PyResult<Membership> {
        self.call(py, |s| s.unarchive_member(actor.0.into(), workspace.0.into(), user.0.into())).map(Membership)
    }

    /// Promotes an approved member to admin (R23).
    #[pyo3(signature = (actor, *, workspace, user))]
    fn promote(&self, py: Python<'_>, actor: Id, workspace: Id, user: Id) -> PyResult<Membership> {
        self.call(py, |s| s.promote(actor.0.into(), workspace.0.into(), user.0.into())).map(Membership)
    }

    /// Demotes an admin, never the last one (R23).
    #[pyo3(signature = (actor, *, workspace, user))]
    fn demote(&self, py: Python<'_>, actor: Id, workspace: Id, user: Id) -> PyResult<Membership> {
        self.call(py, |s| s.demote(actor.0.into(), workspace.0.into(), user.0.into())).map(Membership)
    }

    /// Sets, extends or clears (``ends_at=None``) the end date of a membership (R39); admins only.
    #[pyo3(signature = (actor, *, workspace, user, ends_at))]
    fn set_membership_end(
        &self,
        py: Python<'_>,
        actor: Id,
        workspace: Id,
        user: Id,
        ends_at: Option<OffsetDateTime>,
    ) -> PyResult<Membership> {
        self.call(py, |s| s.set_membership_end(actor.0.into(), workspace.0.into(), user.0.into(), ends_at))
            .map(Membership)
    }

    /// Leaves a workspace (R21).
    #[pyo3(signature = (actor, *, workspace))]
    fn leave(&self, py: Python<'_>, actor: Id, workspace: Id) -> PyResult<Left> {
        self.call(py, |s| s.leave(actor.0.into(), workspace.0.into())).map(Left)
    }

    // ----- Invites --------------------------------------------------------------------

    /// Invites an NHS email (R18).
    #[pyo3(signature = (actor, *, workspace, email))]
    fn invite(&self, py: Python<'_>, actor: Id, workspace: Id, email: &str) -> PyResult<Invite> {
        let email = parse(py, email)?;
        self.call(py, |s| s.invite(actor.0.into(), workspace.0.into(), email)).map(Invite)
    }

    /// Accepts an invite addressed to the actor (R19).
    #[pyo3(signature = (actor, *, invite))]
    fn accept_invite(&self, py: Python<'_>, actor: Id, invite: Id) -> PyResult<Joined> {
        self.call(py, |s| s.accept_invite(actor.0.into(), invite.0.into())).map(Joined)
    }

    /// Revokes a pending invite (R20).
    #[pyo3(signature = (actor, *, invite))]
    fn revoke_invite(&self, py: Python<'_>, actor: Id, invite: Id) -> PyResult<Invite> {
        self.call(py, |s| s.revoke_invite(actor.0.into(), invite.0.into())).map(Invite)
    }

    /// The pending invites addressed to the actor (R19).
    fn invites_for_me(&self, py: Python<'_>, actor: Id) -> PyResult<Vec<Invite>> {
        Ok(self.call(py, |s| s.invites_for_me(actor.0.into()))?.into_iter().map(Invite).collect())
    }

    /// One invite, for its addressee or the workspace's approved members, with its status as of now.
    #[pyo3(signature = (actor, *, invite))]
    fn invite_details(&self, py: Python<'_>, actor: Id, invite: Id) -> PyResult<Invite> {
        self.call(py, |s| s.invite_details(actor.0.into(), invite.0.into())).map(Invite)
    }

    /// A page of the pending invites of a workspace (R43), for its approved members:
    /// at most ``limit`` after ``cursor``.
    #[pyo3(signature = (actor, *, workspace, limit = None, cursor = None))]
    fn pending_invites(
        slf: &Bound<'_, Self>,
        actor: Id,
        workspace: Id,
        limit: Option<Int<u32>>,
        cursor: Option<String>,
    ) -> PyResult<pages::Page> {
        let (actor, workspace) = (actor.0.into(), workspace.0.into());
        Self::paged(slf, limit, cursor, move |s, page| s.pending_invites(actor, workspace, page), Invite)
    }

    // ----- Lookups --------------------------------------------------------------------

    /// A shared workspace's record and status, for anyone in its organisation.
    #[pyo3(signature = (actor, *, workspace))]
    fn workspace(&self, py: Python<'_>, actor: Id, workspace: Id) -> PyResult<Workspace> {
        self.call(py, |s| s.workspace(actor.0.into(), workspace.0.into())).map(Workspace)
    }

    /// A user's membership of a workspace, or None; about oneself, or for those who may
    /// see the member list (R15).
    #[pyo3(signature = (actor, *, workspace, user))]
    fn membership(&self, py: Python<'_>, actor: Id, workspace: Id, user: Id) -> PyResult<Option<Membership>> {
        Ok(self.call(py, |s| s.membership(actor.0.into(), workspace.0.into(), user.0.into()))?.map(Membership))
    }

    /// The organisations a user belongs to, by name.
    fn organisations_of(&self, py: Python<'_>, user: Id) -> PyResult<Vec<Organisation>> {
        Ok(self.call(py, |s| s.organisations_of(user.0.into()))?.into_iter().map(Organisation).collect())
    }

    // ----- Conversations --------------------------------------------------------------

    /// Starts a conversation (R29).
    #[pyo3(signature = (actor, *, workspace))]
    fn start_conversation(&self, py: Python<'_>, actor: Id, workspace: Id) -> PyResult<Conversation> {
        self.call(py, |s| s.start_conversation(actor.0.into(), workspace.0.into())).map(Conversation)
    }

    /// The conversations of a workspace the actor may see (R28, R30).
    #[pyo3(signature = (actor, *, workspace))]
    fn conversations(&self, py: Python<'_>, actor: Id, workspace: Id) -> PyResult<Vec<Conversation>> {
        Ok(self
            .call(py, |s| s.conversations(actor.0.into(), workspace.0.into()))?
            .into_iter()
            .map(Conversation)
            .collect())
    }

    // ----- Views ----------------------------------------------------------------------

    /// The permission table's answer (R34), in a workspace or an organisation (exactly one).
    #[pyo3(signature = (actor, *, action, workspace = None, organisation = None))]
    fn can(
        &self,
        py: Python<'_>,
        actor: Id,
        action: &Bound<'_, PyAny>,
        workspace: Option<Id>,
        organisation: Option<Id>,
    ) -> PyResult<bool> {
        let action = from_py(ACTIONS, "action", action)?;
        let on: carespace::On = match (workspace, organisation) {
            (Some(w), None) => carespace::WorkspaceId::from(w.0).into(),
            (None, Some(o)) => carespace::OrganisationId::from(o.0).into(),
            _ => {
                return Err(pyo3::exceptions::PyTypeError::new_err(
                    "can() takes exactly one of workspace= and organisation=",
                ));
            }
        };
        self.call(py, |s| s.can(actor.0.into(), on, action))
    }

    /// Where the actor stands towards a workspace.
    #[pyo3(signature = (actor, *, workspace))]
    fn standing<'py>(&self, py: Python<'py>, actor: Id, workspace: Id) -> PyResult<Bound<'py, PyAny>> {
        let standing = self.call(py, |s| s.standing(actor.0.into(), workspace.0.into()))?;
        to_py(py, STANDINGS, standing)
    }

    /// A page of the members of a workspace, current and archived (R15, R22, R43): by
    /// role (admins, members, unapproved, archived), then name; at most ``limit`` after
    /// ``cursor``.
    #[pyo3(signature = (actor, *, workspace, limit = None, cursor = None))]
    fn members(
        slf: &Bound<'_, Self>,
        actor: Id,
        workspace: Id,
        limit: Option<Int<u32>>,
        cursor: Option<String>,
    ) -> PyResult<pages::Page> {
        let (actor, workspace) = (actor.0.into(), workspace.0.into());
        Self::paged(slf, limit, cursor, move |s, page| s.members(actor, workspace, page), Member)
    }

    /// The workspace switcher (R31).
    fn my_workspaces(&self, py: Python<'_>, actor: Id) -> PyResult<Vec<SwitcherEntry>> {
        Ok(self.call(py, |s| s.my_workspaces(actor.0.into()))?.into_iter().map(SwitcherEntry).collect())
    }

    /// A page of the join requests waiting for the actor (R33, R43): at most ``limit``
    /// after ``cursor``.
    #[pyo3(signature = (actor, *, limit = None, cursor = None))]
    fn pending_requests(
        slf: &Bound<'_, Self>,
        actor: Id,
        limit: Option<Int<u32>>,
        cursor: Option<String>,
    ) -> PyResult<pages::Page> {
        let actor = actor.0.into();
        Self::paged(slf, limit, cursor, move |s, page| s.pending_requests(actor, page), PendingRequest)
    }

    // ----- Audits and scheduled work ---------------------------------------------------

    /// Does the time-driven work due at ``now`` (R38, R39): expires invites, escalates
    /// stale join requests, reminds and ends time-boxed memberships. Idempotent; safe
    /// from several threads and processes at once.
    fn sweep(&self, py: Python<'_>, now: OffsetDateTime) -> PyResult<Swept> {
        self.call(py, |s| s.sweep(now)).map(Swept)
    }

    /// Who could see a workspace's conversations at ``at`` (R37), from the event log.
    #[pyo3(signature = (*, workspace, at))]
    fn viewers_at(&self, py: Python<'_>, workspace: Id, at: OffsetDateTime) -> PyResult<Vec<Viewer>> {
        Ok(self.call(py, |s| s.viewers_at(workspace.0.into(), at))?.into_iter().map(Viewer).collect())
    }

    /// The workspaces whose conversations a user could see at ``at`` (R37), from the event log.
    #[pyo3(signature = (*, user, at))]
    fn workspaces_visible_at(&self, py: Python<'_>, user: Id, at: OffsetDateTime) -> PyResult<Vec<VisibleWorkspace>> {
        Ok(self.call(py, |s| s.workspaces_visible_at(user.0.into(), at))?.into_iter().map(VisibleWorkspace).collect())
    }

    /// A page of the membership events of a workspace, oldest first, with actor and
    /// time (R37, R43): at most ``limit`` after ``cursor``.
    #[pyo3(signature = (workspace, *, limit = None, cursor = None))]
    fn membership_history(
        slf: &Bound<'_, Self>,
        workspace: Id,
        limit: Option<Int<u32>>,
        cursor: Option<String>,
    ) -> PyResult<pages::Page> {
        let workspace = workspace.0.into();
        Self::paged(slf, limit, cursor, move |s, page| s.membership_history(workspace, page), Event)
    }

    /// Registers the event consumer ``name`` (R42) at the log's beginning, or with
    /// ``start="head"`` after its last event; an existing one is left as it is. Returns
    /// its position: the last sequence number it acknowledged.
    #[pyo3(signature = (name, *, start = "beginning"))]
    fn register_consumer(&self, py: Python<'_>, name: &str, start: &str) -> PyResult<u64> {
        let name: carespace::ConsumerName = parse(py, name)?;
        let start = match start {
            "beginning" => carespace::ConsumerStart::Beginning,
            "head" => carespace::ConsumerStart::Head,
            other => {
                let message = format!("start is \"beginning\" or \"head\", not {other:?}");
                return Err(pyo3::exceptions::PyValueError::new_err(message));
            }
        };
        Ok(self.call(py, |s| s.register_consumer(&name, start))?.acknowledged)
    }

    /// Up to ``limit`` (1 to 1,000) events after the consumer's position, in order; the
    /// same again until acknowledged (R42).
    #[pyo3(signature = (name, *, limit = Int(50)), text_signature = "($self, name, *, limit=50)")]
    fn receive(&self, py: Python<'_>, name: &str, limit: Int<u32>) -> PyResult<Vec<Event>> {
        let name: carespace::ConsumerName = parse(py, name)?;
        Ok(self.call(py, |s| s.receive(&name, limit.0))?.into_iter().map(Event).collect())
    }

    /// Moves the position of the consumer ``consumer`` to ``seq`` (forward only, at most the head) and
    /// returns it (R42).
    #[pyo3(signature = (*, consumer, seq))]
    fn acknowledge(&self, py: Python<'_>, consumer: &str, seq: Int<u64>) -> PyResult<u64> {
        let name: carespace::ConsumerName = parse(py, consumer)?;
        Ok(self.call(py, |s| s.acknowledge(&name, seq.0))?.acknowledged)
    }

    /// The sequence number of the log's last event (R42).
    fn head(&self, py: Python<'_>) -> PyResult<u64> {
        self.call(py, |s| s.head())
    }

    /// Waits up to ``timeout`` seconds for an event after ``after`` to commit, from any
    /// thread or process (R42); ``True`` if one did.
    #[pyo3(signature = (*, after, timeout))]
    fn wait_for_event(&self, py: Python<'_>, after: Int<u64>, timeout: f64) -> PyResult<bool> {
        let timeout = seconds(timeout)?;
        self.call(py, |s| s.wait_for_event(after.0, timeout))
    }

    /// Iterates over the events of the consumer ``name`` (R42) from its acknowledged
    /// position on, waiting for each as it commits (``timeout``: stop after that many
    /// seconds without one; ``None`` waits on). Acknowledge each handled event with the
    /// iterator's ``acknowledge(event.seq)``. ``limit`` (1 to 1,000) is how many events
    /// each read of the log fetches.
    #[pyo3(signature = (name, *, limit = Int(50), timeout = None), text_signature = "($self, name, *, limit=50, timeout=None)")]
    fn consume(
        slf: &Bound<'_, Self>,
        name: &str,
        limit: Int<u32>,
        timeout: Option<f64>,
    ) -> PyResult<consume::Consumption> {
        let py = slf.py();
        let name: carespace::ConsumerName = parse(py, name)?;
        let timeout = timeout.map(seconds).transpose()?;
        consume::Consumption::start(py, slf.clone().unbind(), name, limit, timeout)
    }

    /// Events after the cursor ``after`` (R32), at most ``limit``.
    #[pyo3(signature = (*, after = Int(0), limit = Int(1000)), text_signature = "($self, *, after=0, limit=1000)")]
    fn events_since(&self, py: Python<'_>, after: Int<u64>, limit: Int<usize>) -> PyResult<Vec<Event>> {
        Ok(self.call(py, |s| s.events_since(after.0, limit.0))?.into_iter().map(Event).collect())
    }
}

/// A timeout given in seconds; `ValueError` if negative or not finite.
fn seconds(timeout: f64) -> PyResult<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(timeout)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("timeout: {e}")))
}

/// The name of a catalogue speciality (R10).
#[pyfunction]
fn speciality_name(py: Python<'_>, code: Int<u16>) -> PyResult<&'static str> {
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
        m.py().get_type::<ImportReport>(),
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
        m.py().get_type::<pages::Page>(),
        m.py().get_type::<pages::Follow>(),
        m.py().get_type::<consume::Consumption>(),
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
    m.add_function(wrap_pyfunction!(values::_dump, m)?)?;
    m.add_function(wrap_pyfunction!(values::_restore, m)?)?;
    m.add("EVENT_TYPES", carespace::EventKind::TYPES.to_vec())?;
    m.add("VALUE_CLASSES", values::VALUE_CLASSES.to_vec())?;
    m.add_function(wrap_pyfunction!(specialities, m)?)?;
    m.add("CATALOGUE_SOURCE", carespace::CATALOGUE_SOURCE)?;
    m.add("CATALOGUE_VERSION", carespace::CATALOGUE_VERSION)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
