//! Conversions between core's enums and the Python `enum.Enum` classes of
//! `carespace._enums` (by their string values), and argument parsing helpers.

use carespace::{
    Action, Approvers, InviteStatus, JoinOutcome, MemberStatus, OrganisationKind, Role, Sight, Standing,
    WorkspaceStatus,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

/// The member of the Python enum `class` whose value is `value`.
pub(crate) fn py_enum<'py>(py: Python<'py>, class: &str, value: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("carespace._enums")?.getattr(class)?.call1((value,))
}

/// The string value of the enum argument `param`: a member of the Python enum `class`
/// (any `enum.Enum` with a string value), or that value. Anything else is a
/// `TypeError` naming the parameter, not an `AttributeError` from inside.
pub(crate) fn enum_value(obj: &Bound<'_, PyAny>, param: &str, class: &str) -> PyResult<String> {
    if let Ok(s) = obj.extract::<String>() {
        return Ok(s);
    }
    let is_enum = obj.py().import("enum")?.getattr("Enum").and_then(|e| obj.is_instance(&e))?;
    if let Some(value) = is_enum.then(|| obj.getattr("value").and_then(|v| v.extract::<String>()).ok()).flatten() {
        return Ok(value);
    }
    let given = obj.get_type().name().map_or_else(|_| "?".to_owned(), |n| n.to_string());
    Err(PyTypeError::new_err(format!("{param} must be a member of {class} or its string value, not {given}")))
}

fn unknown(what: &str, value: &str) -> PyErr {
    let message = format!("{value:?} is not a valid {what}");
    Python::attach(|py| {
        py.import("carespace._errors")
            .and_then(|m| m.getattr("InvalidTextError"))
            .and_then(|c| c.call1((message.clone(),)))
            .map(PyErr::from_value)
            .unwrap_or_else(|_| PyValueError::new_err(message))
    })
}

/// A core enum's variants beside the values of the Python enum class named first.
pub(crate) type Table<T> = (&'static str, &'static [(T, &'static str)]);

/// The Python enum member for a core enum value.
pub(crate) fn to_py<'py, T: PartialEq>(py: Python<'py>, table: Table<T>, value: T) -> PyResult<Bound<'py, PyAny>> {
    let (class, pairs) = table;
    let text = pairs.iter().find(|(v, _)| *v == value).map_or("unknown", |(_, s)| *s);
    py_enum(py, class, text)
}

/// The core enum value for the argument `param`: a Python enum member or its value.
pub(crate) fn from_py<T: Copy>(table: Table<T>, param: &str, obj: &Bound<'_, PyAny>) -> PyResult<T> {
    let (class, pairs) = table;
    let text = enum_value(obj, param, class)?;
    pairs.iter().find(|(_, s)| *s == text).map(|(v, _)| *v).ok_or_else(|| unknown(class, &text))
}

/// `OrganisationKind` ↔ the values of the Python enum `OrganisationKind`.
pub(crate) const ORGANISATION_KINDS: Table<OrganisationKind> = (
    "OrganisationKind",
    &[
        (OrganisationKind::NhsTrust, "nhs_trust"),
        (OrganisationKind::GpPractice, "gp_practice"),
        (OrganisationKind::Pharmacy, "pharmacy"),
        (OrganisationKind::Other, "other"),
        (OrganisationKind::WalkInCentre, "walk_in_centre"),
        (OrganisationKind::OutOfHours, "out_of_hours"),
        (OrganisationKind::UrgentCare, "urgent_care"),
        (OrganisationKind::CommunityService, "community_service"),
        (OrganisationKind::HospitalService, "hospital_service"),
        (OrganisationKind::Optometry, "optometry"),
        (OrganisationKind::Hospice, "hospice"),
        (OrganisationKind::CareHome, "care_home"),
        (OrganisationKind::JusticeHealth, "justice_health"),
    ],
);

/// `Role` ↔ the values of the Python enum `Role`.
pub(crate) const ROLES: Table<Role> = ("Role", &[(Role::Admin, "admin"), (Role::Member, "member")]);

/// `MemberStatus` ↔ the values of the Python enum `MemberStatus`.
pub(crate) const MEMBER_STATUSES: Table<MemberStatus> = (
    "MemberStatus",
    &[
        (MemberStatus::Unapproved, "unapproved"),
        (MemberStatus::Approved, "approved"),
        (MemberStatus::Archived, "archived"),
    ],
);

/// `WorkspaceStatus` ↔ the values of the Python enum `WorkspaceStatus`.
pub(crate) const WORKSPACE_STATUSES: Table<WorkspaceStatus> =
    ("WorkspaceStatus", &[(WorkspaceStatus::Active, "active"), (WorkspaceStatus::Archived, "archived")]);

/// `InviteStatus` ↔ the values of the Python enum `InviteStatus`.
pub(crate) const INVITE_STATUSES: Table<InviteStatus> = (
    "InviteStatus",
    &[
        (InviteStatus::Pending, "pending"),
        (InviteStatus::Accepted, "accepted"),
        (InviteStatus::Revoked, "revoked"),
        (InviteStatus::Expired, "expired"),
    ],
);

/// `JoinOutcome` ↔ the values of the Python enum `JoinOutcome`.
pub(crate) const JOIN_OUTCOMES: Table<JoinOutcome> = (
    "JoinOutcome",
    &[
        (JoinOutcome::Created, "created"),
        (JoinOutcome::Requested, "requested"),
        (JoinOutcome::AcceptedInvite, "accepted_invite"),
        (JoinOutcome::AlreadyMember, "already_member"),
    ],
);

/// `Approvers` ↔ the values of the Python enum `Approvers`.
pub(crate) const APPROVERS: Table<Approvers> =
    ("Approvers", &[(Approvers::Admins, "admins"), (Approvers::ApprovedMembers, "approved_members")]);

/// `Standing` ↔ the values of the Python enum `Standing`.
pub(crate) const STANDINGS: Table<Standing> = (
    "Standing",
    &[
        (Standing::Outsider, "outsider"),
        (Standing::OrganisationMember, "organisation_member"),
        (Standing::Unapproved, "unapproved"),
        (Standing::Member, "member"),
        (Standing::Admin, "admin"),
        (Standing::Archived, "archived"),
        (Standing::Owner, "owner"),
    ],
);

/// `Action` ↔ the values of the Python enum `Action`.
pub(crate) const ACTIONS: Table<Action> = (
    "Action",
    &[
        (Action::StartConversation, "start_conversation"),
        (Action::ViewOwnConversations, "view_own_conversations"),
        (Action::ViewAllConversations, "view_all_conversations"),
        (Action::CreatePersonalTemplate, "create_personal_template"),
        (Action::CreatePersonalPatientList, "create_personal_patient_list"),
        (Action::ViewMembers, "view_members"),
        (Action::ViewSharedTemplates, "view_shared_templates"),
        (Action::ViewSharedPatientLists, "view_shared_patient_lists"),
        (Action::RequestToJoin, "request_to_join"),
        (Action::Leave, "leave"),
        (Action::Invite, "invite"),
        (Action::RevokeOwnInvite, "revoke_own_invite"),
        (Action::RevokeAnyInvite, "revoke_any_invite"),
        (Action::Approve, "approve"),
        (Action::Decline, "decline"),
        (Action::ArchiveMember, "archive_member"),
        (Action::UnarchiveMember, "unarchive_member"),
        (Action::Promote, "promote"),
        (Action::Demote, "demote"),
        (Action::ChangeSettings, "change_settings"),
        (Action::SetMembershipEnd, "set_membership_end"),
        (Action::AcceptInvite, "accept_invite"),
        (Action::CreateWorkspace, "create_workspace"),
        (Action::DiscoverWorkspaces, "discover_workspaces"),
    ],
);

/// `Sight` ↔ the values of the Python enum `Sight`.
pub(crate) const SIGHTS: Table<Sight> =
    ("Sight", &[(Sight::Member, "member"), (Sight::Admin, "admin"), (Sight::Owner, "owner")]);

/// An id argument: a `uuid.UUID`, or a string holding one (as read from a CSV file).
/// A malformed string raises `InvalidIdError`.
pub(crate) struct Id(pub(crate) uuid::Uuid);

impl FromPyObject<'_, '_> for Id {
    type Error = PyErr;

    fn extract(obj: pyo3::Borrowed<'_, '_, PyAny>) -> PyResult<Self> {
        if let Ok(text) = obj.extract::<String>() {
            return uuid::Uuid::parse_str(text.trim()).map(Id).map_err(|_| {
                crate::errors::to_py_err(obj.py(), carespace::Error::InvalidId { what: "id", value: text })
            });
        }
        obj.extract::<uuid::Uuid>().map(Id)
    }
}

/// An integer argument that must fit `T` (a count, a code, a sequence number). Out of
/// range it is a `ValueError` naming the value, as every other bad value is, rather than
/// the `OverflowError` pyo3 would raise (an `ArithmeticError`, which callers validating
/// input do not expect).
pub(crate) struct Int<T>(pub T);

impl<'a, 'py, T: FromPyObject<'a, 'py>> FromPyObject<'a, 'py> for Int<T> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        match obj.extract::<T>() {
            Ok(value) => Ok(Self(value)),
            Err(e) => {
                let e: PyErr = e.into();
                if e.is_instance_of::<pyo3::exceptions::PyOverflowError>(obj.py()) {
                    let given = obj.repr().map_or_else(|_| "the number".to_owned(), |r| r.to_string());
                    Err(PyValueError::new_err(format!(
                        "{given} is out of range: this argument takes a whole number from 0 up to {}",
                        std::any::type_name::<T>()
                            .replace("u16", "65,535")
                            .replace("u32", "4,294,967,295")
                            .replace("u64", "2^64 - 1")
                            .replace("usize", "2^64 - 1")
                    )))
                } else {
                    Err(e)
                }
            }
        }
    }
}
