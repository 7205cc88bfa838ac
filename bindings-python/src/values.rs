//! The immutable Python value classes (`Workspace`, `Membership`, `Event`, …): each
//! wraps a core value, exposes its fields as Python types (`uuid.UUID`, aware UTC
//! `datetime`, `enum.Enum` members) and has `__repr__`, `__eq__` and `__hash__`.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::convert::{
    INVITE_STATUSES, JOIN_OUTCOMES, MEMBER_STATUSES, ORGANISATION_KINDS, ROLES, SIGHTS, WORKSPACE_STATUSES, to_py,
};

/// `Name(field=repr(value), ...)` from the object's own getters.
fn repr_of(obj: &Bound<'_, PyAny>, name: &str, fields: &[&str]) -> PyResult<String> {
    let mut parts = Vec::with_capacity(fields.len());
    for field in fields {
        parts.push(format!("{field}={}", obj.getattr(*field)?.repr()?));
    }
    Ok(format!("{name}({})", parts.join(", ")))
}

macro_rules! value_class {
    ($(#[$doc:meta])* $rust:ident wraps $inner:ty as $name:literal, repr [$($field:literal),*]) => {
        $(#[$doc])*
        #[pyclass(frozen, eq, hash, module = "carespace", name = $name)]
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub(crate) struct $rust(pub(crate) $inner);

        impl $rust {
            fn repr(slf: &Bound<'_, Self>) -> PyResult<String> {
                repr_of(slf.as_any(), $name, &[$($field),*])
            }
        }
    };
}

value_class!(
    /// An NHS organisation.
    Organisation wraps carespace::Organisation as "Organisation", repr ["id", "name", "kind", "ods_code", "closed_on"]
);

#[pymethods]
impl Organisation {
    #[getter]
    fn id(&self) -> Uuid {
        self.0.id.as_uuid()
    }
    #[getter]
    fn name(&self) -> &str {
        self.0.name.as_str()
    }
    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, ORGANISATION_KINDS, self.0.kind)
    }
    #[getter]
    fn ods_code(&self) -> Option<&str> {
        self.0.ods_code.as_ref().map(|c| c.as_str())
    }
    #[getter]
    fn registered_at(&self) -> OffsetDateTime {
        self.0.registered_at
    }
    /// The name as the ODS file spells it (upper case), for imported organisations (R40).
    #[getter]
    fn source_name(&self) -> Option<&str> {
        self.0.source_name.as_deref()
    }
    /// The postcode the ODS file gives (R40).
    #[getter]
    fn postcode(&self) -> Option<&str> {
        self.0.postcode.as_deref()
    }
    /// The day the organisation closed (R40), or ``None`` while it is open.
    #[getter]
    fn closed_on(&self) -> Option<time::Date> {
        self.0.closed_on
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Self::repr(slf)
    }
}

value_class!(
    /// What an import of an ODS file did (R40).
    ImportReport wraps carespace::directory::ImportReport as "ImportReport", repr ["added", "renamed", "closed", "reopened", "updated", "unchanged", "rejected"]
);

#[pymethods]
impl ImportReport {
    /// Organisations new to the directory.
    #[getter]
    fn added(&self) -> usize {
        self.0.added
    }
    /// Organisations whose name changed.
    #[getter]
    fn renamed(&self) -> usize {
        self.0.renamed
    }
    /// Organisations that closed.
    #[getter]
    fn closed(&self) -> usize {
        self.0.closed
    }
    /// Organisations that reopened.
    #[getter]
    fn reopened(&self) -> usize {
        self.0.reopened
    }
    /// Organisations whose kind, postcode, source spelling or close date changed.
    #[getter]
    fn updated(&self) -> usize {
        self.0.updated
    }
    /// Rows that changed nothing.
    #[getter]
    fn unchanged(&self) -> usize {
        self.0.unchanged
    }
    /// The rows that could not be read: ``(line, code or None, reason)``.
    #[getter]
    fn rejected(&self) -> Vec<(u64, Option<String>, String)> {
        rejected_rows(&self.0.rejected)
    }
    /// The lines read as Windows-1252 rather than UTF-8.
    #[getter]
    fn windows_1252_lines(&self) -> Vec<u64> {
        self.0.windows_1252_lines.clone()
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Self::repr(slf)
    }
}

/// Rejected rows as Python sees them, in reports and in `ImportRejectedError`.
pub(crate) fn rejected_rows(rejected: &[carespace::directory::Rejected]) -> Vec<(u64, Option<String>, String)> {
    rejected.iter().map(|r| (r.line, r.code.clone(), r.reason.to_string())).collect()
}

value_class!(
    /// A person, identified by their NHS email.
    User wraps carespace::User as "User", repr ["id", "email", "name"]
);

#[pymethods]
impl User {
    #[getter]
    fn id(&self) -> Uuid {
        self.0.id.as_uuid()
    }
    #[getter]
    fn email(&self) -> &str {
        self.0.email.as_str()
    }
    #[getter]
    fn name(&self) -> &str {
        self.0.name.as_str()
    }
    #[getter]
    fn registered_at(&self) -> OffsetDateTime {
        self.0.registered_at
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Self::repr(slf)
    }
}

value_class!(
    /// A shared team workspace.
    Workspace wraps carespace::Workspace as "Workspace", repr ["id", "name", "speciality", "status"]
);

#[pymethods]
impl Workspace {
    #[getter]
    fn id(&self) -> Uuid {
        self.0.id.as_uuid()
    }
    #[getter]
    fn organisation(&self) -> Uuid {
        self.0.organisation.as_uuid()
    }
    #[getter]
    fn name(&self) -> &str {
        self.0.name.as_str()
    }
    /// The speciality's 3-digit code.
    #[getter]
    fn speciality(&self) -> u16 {
        self.0.speciality.code()
    }
    #[getter]
    fn speciality_name(&self) -> &'static str {
        self.0.speciality.name()
    }
    #[getter]
    fn description(&self) -> &str {
        self.0.description.as_str()
    }
    #[getter]
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, WORKSPACE_STATUSES, self.0.status)
    }
    #[getter]
    fn created_by(&self) -> Uuid {
        self.0.created_by.as_uuid()
    }
    #[getter]
    fn created_at(&self) -> OffsetDateTime {
        self.0.created_at
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Self::repr(slf)
    }
}

value_class!(
    /// A user's personal "My Workspace" in one organisation.
    PersonalWorkspace wraps carespace::PersonalWorkspace as "PersonalWorkspace", repr ["id", "organisation", "archived"]
);

#[pymethods]
impl PersonalWorkspace {
    #[getter]
    fn id(&self) -> Uuid {
        self.0.id.as_uuid()
    }
    #[getter]
    fn organisation(&self) -> Uuid {
        self.0.organisation.as_uuid()
    }
    #[getter]
    fn owner(&self) -> Uuid {
        self.0.owner.as_uuid()
    }
    #[getter]
    fn name(&self) -> &'static str {
        carespace::PersonalWorkspace::NAME
    }
    #[getter]
    fn archived(&self) -> bool {
        !self.0.is_active()
    }
    #[getter]
    fn created_at(&self) -> OffsetDateTime {
        self.0.created_at
    }
    #[getter]
    fn archived_at(&self) -> Option<OffsetDateTime> {
        self.0.archived_at
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Self::repr(slf)
    }
}

value_class!(
    /// One user's membership of one workspace.
    Membership wraps carespace::Membership as "Membership", repr ["workspace", "user", "role", "status"]
);

#[pymethods]
impl Membership {
    #[getter]
    fn workspace(&self) -> Uuid {
        self.0.workspace.as_uuid()
    }
    #[getter]
    fn user(&self) -> Uuid {
        self.0.user.as_uuid()
    }
    #[getter]
    fn role<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, ROLES, self.0.state.role())
    }
    #[getter]
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, MEMBER_STATUSES, self.0.state.status())
    }
    #[getter]
    fn joined_at(&self) -> OffsetDateTime {
        self.0.joined_at
    }
    #[getter]
    fn updated_at(&self) -> OffsetDateTime {
        self.0.updated_at
    }
    /// When a time-boxed membership ends (R39), or ``None``.
    #[getter]
    fn ends_at(&self) -> Option<OffsetDateTime> {
        self.0.ends_at
    }
    /// When the sweep escalated this join request (R38), or ``None``.
    #[getter]
    fn escalated_at(&self) -> Option<OffsetDateTime> {
        self.0.escalated_at
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Self::repr(slf)
    }
}

value_class!(
    /// An emailed offer to join a workspace.
    Invite wraps carespace::Invite as "Invite", repr ["id", "workspace", "email", "status", "expires_at"]
);

#[pymethods]
impl Invite {
    #[getter]
    fn id(&self) -> Uuid {
        self.0.id.as_uuid()
    }
    #[getter]
    fn workspace(&self) -> Uuid {
        self.0.workspace.as_uuid()
    }
    #[getter]
    fn email(&self) -> &str {
        self.0.email.as_str()
    }
    #[getter]
    fn invited_by(&self) -> Uuid {
        self.0.invited_by.as_uuid()
    }
    #[getter]
    fn created_at(&self) -> OffsetDateTime {
        self.0.created_at
    }
    #[getter]
    fn expires_at(&self) -> OffsetDateTime {
        self.0.expires_at
    }
    #[getter]
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, INVITE_STATUSES, self.0.status)
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Self::repr(slf)
    }
}

value_class!(
    /// The header of a patient-communication thread.
    Conversation wraps carespace::Conversation as "Conversation", repr ["id", "workspace", "started_by", "started_at"]
);

#[pymethods]
impl Conversation {
    #[getter]
    fn id(&self) -> Uuid {
        self.0.id.as_uuid()
    }
    #[getter]
    fn workspace(&self) -> Uuid {
        self.0.workspace.as_uuid()
    }
    #[getter]
    fn started_by(&self) -> Uuid {
        self.0.started_by.as_uuid()
    }
    #[getter]
    fn started_at(&self) -> OffsetDateTime {
        self.0.started_at
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Self::repr(slf)
    }
}

/// Parses JSON text into plain Python objects (dicts, lists, strings, numbers).
fn json_to_py<'py>(py: Python<'py>, json: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.getattr("loads")?.call1((json,))
}

fn to_json<T: serde::Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))
}

value_class!(
    /// One entry of the event log: what happened, who did it, when.
    Event wraps carespace::Event as "Event", repr ["seq", "type", "actor", "at"]
);

#[pymethods]
impl Event {
    /// Its position in the log: 1, 2, 3, … without gaps.
    #[getter]
    fn seq(&self) -> u64 {
        self.0.seq
    }
    #[getter]
    fn at(&self) -> OffsetDateTime {
        self.0.at
    }
    #[getter]
    fn actor(&self) -> Option<Uuid> {
        self.0.actor.map(|a| a.as_uuid())
    }
    /// The event's type, e.g. ``"join_requested"``.
    #[getter]
    fn r#type(&self) -> &'static str {
        self.0.kind.type_name()
    }
    /// The event's fields as a JSON-ready dict (ids and times as strings).
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let dict = json_to_py(py, &to_json(&self.0.kind)?)?;
        dict.cast::<PyDict>()?.del_item("type")?;
        Ok(dict)
    }
    /// The whole event as a JSON-ready dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &to_json(&self.0)?)
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Self::repr(slf)
    }
}

value_class!(
    /// A person as listed to colleagues.
    Person wraps carespace::Person as "Person", repr ["id", "name"]
);

#[pymethods]
impl Person {
    #[getter]
    fn id(&self) -> Uuid {
        self.0.id.as_uuid()
    }
    #[getter]
    fn name(&self) -> &str {
        self.0.name.as_str()
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Self::repr(slf)
    }
}

value_class!(
    /// One line of discovery: an active workspace, or an example to create by joining.
    DiscoveryEntry wraps carespace::DiscoveryEntry as "DiscoveryEntry", repr ["name", "is_example", "member_count", "speciality"]
);

#[pymethods]
impl DiscoveryEntry {
    #[getter]
    fn name(&self) -> &str {
        self.0.name()
    }
    #[getter]
    fn is_example(&self) -> bool {
        matches!(self.0, carespace::DiscoveryEntry::Example { .. })
    }
    /// The speciality's 3-digit code.
    #[getter]
    fn speciality(&self) -> u16 {
        self.0.speciality().code()
    }
    #[getter]
    fn member_count(&self) -> u32 {
        self.0.member_count()
    }
    /// The workspace, or ``None`` for an example.
    #[getter]
    fn workspace(&self) -> Option<Workspace> {
        match &self.0 {
            carespace::DiscoveryEntry::Workspace { workspace, .. } => Some(Workspace(workspace.clone())),
            carespace::DiscoveryEntry::Example { .. } => None,
        }
    }
    /// The admins who will approve a request (empty for an example).
    #[getter]
    fn admins(&self) -> Vec<Person> {
        match &self.0 {
            carespace::DiscoveryEntry::Workspace { admins, .. } => admins.iter().cloned().map(Person).collect(),
            carespace::DiscoveryEntry::Example { .. } => Vec::new(),
        }
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Self::repr(slf)
    }
}

value_class!(
    /// One entry of the workspace switcher.
    SwitcherEntry wraps carespace::SwitcherEntry as "SwitcherEntry", repr ["organisation_name", "name", "is_personal", "role", "status", "archived"]
);

#[pymethods]
impl SwitcherEntry {
    #[getter]
    fn organisation(&self) -> Uuid {
        self.0.organisation().as_uuid()
    }
    #[getter]
    fn organisation_name(&self) -> &str {
        match &self.0 {
            carespace::SwitcherEntry::Shared { organisation_name, .. }
            | carespace::SwitcherEntry::Personal { organisation_name, .. } => organisation_name.as_str(),
        }
    }
    #[getter]
    fn workspace_id(&self) -> Uuid {
        self.0.workspace_id().as_uuid()
    }
    #[getter]
    fn name(&self) -> &str {
        self.0.name()
    }
    /// Whether this is the user's My Workspace.
    #[getter]
    fn is_personal(&self) -> bool {
        matches!(self.0, carespace::SwitcherEntry::Personal { .. })
    }
    /// The user's role in a shared workspace (``None`` for My Workspace).
    #[getter]
    fn role<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match &self.0 {
            carespace::SwitcherEntry::Shared { state, .. } => to_py(py, ROLES, state.role()).map(Some),
            carespace::SwitcherEntry::Personal { .. } => Ok(None),
        }
    }
    /// The user's status in a shared workspace (``None`` for My Workspace).
    #[getter]
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match &self.0 {
            carespace::SwitcherEntry::Shared { state, .. } => to_py(py, MEMBER_STATUSES, state.status()).map(Some),
            carespace::SwitcherEntry::Personal { .. } => Ok(None),
        }
    }
    /// Whether the workspace is archived (My Workspace after moving to shared ones).
    #[getter]
    fn archived(&self) -> bool {
        match &self.0 {
            carespace::SwitcherEntry::Shared { workspace, .. } => !workspace.is_active(),
            carespace::SwitcherEntry::Personal { workspace, .. } => !workspace.is_active(),
        }
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Self::repr(slf)
    }
}

value_class!(
    /// A member as listed to approved members.
    Member wraps carespace::Member as "Member", repr ["user", "role", "status"]
);

#[pymethods]
impl Member {
    #[getter]
    fn user(&self) -> User {
        User(self.0.user.clone())
    }
    #[getter]
    fn role<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, ROLES, self.0.state.role())
    }
    #[getter]
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, MEMBER_STATUSES, self.0.state.status())
    }
    #[getter]
    fn joined_at(&self) -> OffsetDateTime {
        self.0.joined_at
    }
    /// When their time-boxed membership ends (R39), or ``None``.
    #[getter]
    fn ends_at(&self) -> Option<OffsetDateTime> {
        self.0.ends_at
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Self::repr(slf)
    }
}

value_class!(
    /// Someone who could see a workspace's conversations at an instant (R37).
    Viewer wraps carespace::Viewer as "Viewer", repr ["person", "sight", "since"]
);

#[pymethods]
impl Viewer {
    #[getter]
    fn person(&self) -> Person {
        Person(self.0.person.clone())
    }
    #[getter]
    fn sight<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, SIGHTS, self.0.sight)
    }
    /// Since when, without a break.
    #[getter]
    fn since(&self) -> OffsetDateTime {
        self.0.since
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Self::repr(slf)
    }
}

value_class!(
    /// A workspace someone could see at an instant (R37).
    VisibleWorkspace wraps carespace::VisibleWorkspace as "VisibleWorkspace", repr ["workspace", "name", "sight"]
);

#[pymethods]
impl VisibleWorkspace {
    #[getter]
    fn workspace(&self) -> Uuid {
        self.0.workspace.as_uuid()
    }
    #[getter]
    fn organisation(&self) -> Uuid {
        self.0.organisation.as_uuid()
    }
    /// Its name as it was at the instant asked about ("My Workspace" for a My Workspace).
    #[getter]
    fn name(&self) -> &str {
        &self.0.name
    }
    #[getter]
    fn sight<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, SIGHTS, self.0.sight)
    }
    /// Since when, without a break.
    #[getter]
    fn since(&self) -> OffsetDateTime {
        self.0.since
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Self::repr(slf)
    }
}

value_class!(
    /// What one sweep did (R38, R39); each count is also a number of events.
    Swept wraps carespace::Swept as "Swept",
    repr ["invites_expired", "requests_escalated", "end_reminders", "memberships_ended", "last_admins_kept"]
);

#[pymethods]
impl Swept {
    #[getter]
    fn invites_expired(&self) -> u32 {
        self.0.invites_expired
    }
    #[getter]
    fn requests_escalated(&self) -> u32 {
        self.0.requests_escalated
    }
    #[getter]
    fn end_reminders(&self) -> u32 {
        self.0.end_reminders
    }
    #[getter]
    fn memberships_ended(&self) -> u32 {
        self.0.memberships_ended
    }
    #[getter]
    fn last_admins_kept(&self) -> u32 {
        self.0.last_admins_kept
    }
    /// Whether the sweep found nothing to do.
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Self::repr(slf)
    }
}

value_class!(
    /// A join request waiting for an approver.
    PendingRequest wraps carespace::PendingRequest as "PendingRequest", repr ["workspace_name", "requester", "requested_at"]
);

#[pymethods]
impl PendingRequest {
    #[getter]
    fn workspace(&self) -> Uuid {
        self.0.workspace.as_uuid()
    }
    #[getter]
    fn workspace_name(&self) -> &str {
        self.0.workspace_name.as_str()
    }
    #[getter]
    fn requester(&self) -> Person {
        Person(self.0.requester.clone())
    }
    #[getter]
    fn requested_at(&self) -> OffsetDateTime {
        self.0.requested_at
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Self::repr(slf)
    }
}

value_class!(
    /// How joining ended, with the workspace and the joiner's membership.
    Joined wraps carespace::Joined as "Joined", repr ["outcome", "workspace", "membership"]
);

#[pymethods]
impl Joined {
    #[getter]
    fn outcome<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, JOIN_OUTCOMES, self.0.outcome)
    }
    #[getter]
    fn workspace(&self) -> Workspace {
        Workspace(self.0.workspace.clone())
    }
    #[getter]
    fn membership(&self) -> Membership {
        Membership(self.0.membership.clone())
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Self::repr(slf)
    }
}

value_class!(
    /// A created or changed workspace, with warnings about a broad name (R13).
    WorkspaceOutcome wraps carespace::WorkspaceOutcome as "WorkspaceOutcome", repr ["workspace", "warnings"]
);

#[pymethods]
impl WorkspaceOutcome {
    #[getter]
    fn workspace(&self) -> Workspace {
        Workspace(self.0.workspace.clone())
    }
    /// Warnings the UI can show, as sentences.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.0.warnings.iter().map(ToString::to_string).collect()
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Self::repr(slf)
    }
}

/// Whether leaving archived the workspace.
#[pyclass(frozen, eq, hash, module = "carespace", name = "Left")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct Left(pub(crate) carespace::Left);

#[pymethods]
impl Left {
    /// Whether the leaver was the last member, so the workspace is now archived.
    #[getter]
    fn workspace_archived(&self) -> bool {
        self.0.workspace_archived
    }
    fn __repr__(&self) -> String {
        format!("Left(workspace_archived={})", if self.0.workspace_archived { "True" } else { "False" })
    }
}

/// Pickling and copying (`pickle`, `copy.copy`, `copy.deepcopy`): a value reduces to
/// `_restore(class name, JSON of its core value)`, registered with `copyreg` by
/// `carespace/__init__.py`. The JSON is core's own serde form, so a restored value is
/// checked again as it is read (an email is still an NHS email, a speciality still in
/// the catalogue); a malformed one is a `ValueError`, never a panic.
macro_rules! picklable {
    ($($rust:ident),* $(,)?) => {
        /// The names of the value classes `_dump` and `_restore` know: every one.
        pub(crate) const VALUE_CLASSES: &[&str] = &[$(stringify!($rust)),*];

        /// The class name and the JSON of a value's core value.
        #[pyfunction]
        pub(crate) fn _dump(value: &Bound<'_, PyAny>) -> PyResult<(&'static str, String)> {
            $(
                if let Ok(v) = value.cast::<$rust>() {
                    let json = serde_json::to_string(&v.get().0)
                        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
                    return Ok((stringify!($rust), json));
                }
            )*
            Err(pyo3::exceptions::PyTypeError::new_err("not a carespace value"))
        }

        /// The value `_dump` described.
        #[pyfunction]
        pub(crate) fn _restore(py: Python<'_>, name: &str, json: &str) -> PyResult<Py<PyAny>> {
            let invalid = |e: serde_json::Error| {
                pyo3::exceptions::PyValueError::new_err(format!("cannot restore a carespace.{name}: {e}"))
            };
            match name {
                $(stringify!($rust) => Ok(Py::new(py, $rust(serde_json::from_str(json).map_err(invalid)?))?.into_any()),)*
                other => Err(pyo3::exceptions::PyValueError::new_err(format!("{other:?} is not a carespace value class"))),
            }
        }
    };
}

picklable!(
    Organisation,
    ImportReport,
    User,
    Workspace,
    PersonalWorkspace,
    Membership,
    Invite,
    Conversation,
    Event,
    Person,
    DiscoveryEntry,
    SwitcherEntry,
    Member,
    PendingRequest,
    Joined,
    WorkspaceOutcome,
    Left,
    Viewer,
    VisibleWorkspace,
    Swept,
);
