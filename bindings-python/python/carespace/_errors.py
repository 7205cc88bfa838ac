"""The exceptions Carespace raises: one class per kind of failure, under :class:`CarespaceError`.

Invalid input is also a :class:`ValueError`, a missing record a :class:`LookupError`
and a refusal for lack of rights a :class:`PermissionError`, so generic handlers work
too. Every refusal for lack of rights is a :class:`ForbiddenError`, whatever its reason
(R34).
Every message is Carespace's own, written for a person to read.
"""

from __future__ import annotations

__all__ = [
    "AcknowledgementOutOfRangeError",
    "AdminMustBeDemotedError",
    "AlreadyExistsError",
    "AlreadyMemberError",
    "ArchivedMemberError",
    "CarespaceError",
    "ClosedError",
    "CoolDownError",
    "EmailTakenError",
    "EndDateNotInFutureError",
    "ForbiddenError",
    "ImportRejectedError",
    "InvalidCursorError",
    "InvalidEmailError",
    "InvalidIdError",
    "InvalidInputError",
    "InvalidLimitError",
    "InvalidTextError",
    "InviteAlreadyAcceptedError",
    "InviteError",
    "InviteExpiredError",
    "InviteRevokedError",
    "LastAdminError",
    "MembershipError",
    "NoPendingRequestError",
    "NotAMemberError",
    "NotFoundError",
    "OdsCodeTakenError",
    "OrganisationClosedError",
    "SelfTargetError",
    "StorageError",
    "TimeOutOfRangeError",
    "UnknownSpecialityError",
    "UnreadableError",
    "WorkspaceNameTakenError",
]


class CarespaceError(Exception):
    """Base class of every Carespace error. A failed command changed nothing."""


class ClosedError(CarespaceError, ValueError):
    """The :class:`Carespace` object was closed (``close()`` or the end of its ``with``
    block); open another. Like a closed file, also a :class:`ValueError`."""


class InvalidInputError(CarespaceError, ValueError):
    """An argument is malformed; nothing was sent to the store."""


class InvalidEmailError(InvalidInputError):
    """Not an NHS.net or NHS.uk email address (R2)."""


class InvalidTextError(InvalidInputError):
    """A name, description or ODS code is malformed (R1, R5, R6)."""


class InvalidIdError(InvalidInputError):
    """A string is not a valid id."""


class UnknownSpecialityError(InvalidInputError):
    """A speciality code is not in the NHS Data Dictionary catalogue (R10)."""


class TimeOutOfRangeError(InvalidInputError):
    """An instant to be recorded lies outside 1900–2200 (a sweep's ``now``, an end date,
    the clock); ``at`` is the instant."""

    at: object


class InvalidCursorError(InvalidInputError):
    """A page's cursor belongs to another list or query, or was altered (R43): start
    again from the first page."""


class InvalidLimitError(InvalidInputError):
    """A page's limit is outside 1 to 1,000 (R43)."""


class AcknowledgementOutOfRangeError(InvalidInputError):
    """A consumer acknowledged an event before its position or past the log's last event
    (R42); nothing changed. ``acknowledged`` is its position, ``head`` the log's last
    sequence number."""

    acknowledged: int
    head: int


class ImportRejectedError(InvalidInputError):
    """A strict import found rows it cannot read and wrote nothing (R40); ``rejected``
    lists them as ``(line, code, reason)``."""

    rejected: list[tuple[int, str | None, str]]


class UnreadableError(CarespaceError, OSError):
    """A file could not be read at all (missing, unreadable, or a name that says no
    layout)."""


class OrganisationClosedError(CarespaceError):
    """The organisation closed (R40): it accepts no new member, workspace, request or
    invite. ``closed_on`` is the day."""

    closed_on: object


class NotFoundError(CarespaceError, LookupError):
    """No organisation, user, workspace, invite or membership with that id."""


class AlreadyExistsError(CarespaceError):
    """Something unique is taken."""


class EmailTakenError(AlreadyExistsError):
    """A user with this email is already registered (R3)."""


class OdsCodeTakenError(AlreadyExistsError):
    """An organisation with this ODS code is already registered (R1)."""


class WorkspaceNameTakenError(AlreadyExistsError):
    """An active workspace of the organisation already has this name (R6)."""


class ForbiddenError(CarespaceError, PermissionError):
    """A refusal for lack of rights (R34), whatever its reason: not in the organisation,
    creation not allowed for its kind, not the invitee, not an admin, …. ``action`` is
    the :class:`Action` refused; ``reason`` a stable code saying why (``"not_in_organisation"``,
    ``"creation_not_allowed"``, ``"not_the_invitee"``, ``"not_an_admin"``, …)."""

    action: object
    reason: str


class MembershipError(CarespaceError):
    """A membership is not in the state the command needs."""


class LastAdminError(MembershipError):
    """The last admin may not leave or be demoted (R21, R23)."""


class AdminMustBeDemotedError(MembershipError):
    """An admin must be demoted before being archived (R22)."""


class AlreadyMemberError(MembershipError):
    """The person is already a member (R18)."""


class ArchivedMemberError(MembershipError):
    """The person was archived; only an admin can bring them back (R14, R18)."""


class NotAMemberError(MembershipError):
    """The person is not a member in the state the command needs."""


class NoPendingRequestError(MembershipError):
    """There is no pending join request from this person (R16, R17)."""


class SelfTargetError(MembershipError):
    """The command must be aimed at someone else (archive yourself: leave instead)."""


class CoolDownError(MembershipError):
    """A declined requester asked again too soon (R17); ``until`` says when they may."""

    until: object


class EndDateNotInFutureError(MembershipError):
    """A membership end date must lie after the present (R39); ``ends_at`` is the date given."""

    ends_at: object


class InviteError(CarespaceError):
    """An invite cannot be used."""


class InviteExpiredError(InviteError):
    """The invite expired (R19)."""


class InviteRevokedError(InviteError):
    """The invite was revoked (R19, R20)."""


class InviteAlreadyAcceptedError(InviteError):
    """The invite was already accepted."""


class StorageError(CarespaceError):
    """The storage backend failed; ``retryable`` says whether trying again may help."""

    retryable: bool
