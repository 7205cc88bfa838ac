//! The one mapping from core's `Error` to the Python exception classes of
//! `carespace._errors`: each variant to exactly one class, with core's message.

use carespace::Error;
use pyo3::prelude::*;
use pyo3::types::PyAnyMethods;

use crate::convert::{ACTIONS, to_py};

/// The Python class name for a core error variant. No catch-all: a new core variant
/// does not compile until it has a class here (and in `carespace/_errors.py`).
fn class_of(e: &Error) -> &'static str {
    match e {
        Error::InvalidEmail(_) => "InvalidEmailError",
        Error::InvalidText(_) => "InvalidTextError",
        Error::InvalidId { .. } => "InvalidIdError",
        Error::UnknownSpeciality { .. } => "UnknownSpecialityError",
        Error::NotFound { .. } => "NotFoundError",
        Error::EmailTaken { .. } => "EmailTakenError",
        Error::OdsCodeTaken { .. } => "OdsCodeTakenError",
        Error::WorkspaceNameTaken { .. } => "WorkspaceNameTakenError",
        Error::Forbidden { .. } => "ForbiddenError",
        Error::LastAdmin { .. } => "LastAdminError",
        Error::AdminMustBeDemoted { .. } => "AdminMustBeDemotedError",
        Error::AlreadyMember { .. } => "AlreadyMemberError",
        Error::ArchivedMember { .. } => "ArchivedMemberError",
        Error::NotAMember { .. } => "NotAMemberError",
        Error::NoPendingRequest { .. } => "NoPendingRequestError",
        Error::SelfTarget { .. } => "SelfTargetError",
        Error::InviteExpired { .. } => "InviteExpiredError",
        Error::InviteRevoked { .. } => "InviteRevokedError",
        Error::InviteAlreadyAccepted { .. } => "InviteAlreadyAcceptedError",
        Error::CoolDown { .. } => "CoolDownError",
        Error::EndDateNotInFuture { .. } => "EndDateNotInFutureError",
        Error::TimeOutOfRange { .. } => "TimeOutOfRangeError",
        Error::OrganisationClosed { .. } => "OrganisationClosedError",
        Error::ImportRejected { .. } => "ImportRejectedError",
        Error::Unreadable { .. } => "UnreadableError",
        Error::InvalidCursor { .. } => "InvalidCursorError",
        Error::InvalidLimit { .. } => "InvalidLimitError",
        Error::AcknowledgementOutOfRange { .. } => "AcknowledgementOutOfRangeError",
        Error::Storage(_) => "StorageError",
    }
}

/// Converts a core error into the matching Python exception.
pub(crate) fn to_py_err(py: Python<'_>, e: Error) -> PyErr {
    build(py, &e).unwrap_or_else(|err| err)
}

fn build(py: Python<'_>, e: &Error) -> Result<PyErr, PyErr> {
    let class = py.import("carespace._errors")?.getattr(class_of(e))?;
    let exc = class.call1((e.to_string(),))?;
    match e {
        Error::Forbidden { action, denial, .. } => {
            exc.setattr("action", to_py(py, ACTIONS, *action)?)?;
            exc.setattr("reason", denial.code())?;
        }
        Error::CoolDown { until, .. } => exc.setattr("until", *until)?,
        Error::EndDateNotInFuture { ends_at, .. } => exc.setattr("ends_at", *ends_at)?,
        Error::TimeOutOfRange { at } => exc.setattr("at", *at)?,
        Error::OrganisationClosed { closed_on, .. } => exc.setattr("closed_on", *closed_on)?,
        Error::ImportRejected { rejected } => exc.setattr("rejected", crate::values::rejected_rows(rejected))?,
        Error::AcknowledgementOutOfRange { acknowledged, head, .. } => {
            exc.setattr("acknowledged", *acknowledged)?;
            exc.setattr("head", *head)?;
        }
        Error::Storage(s) => exc.setattr("retryable", s.is_retryable())?,
        _ => {}
    }
    Ok(PyErr::from_value(exc))
}
