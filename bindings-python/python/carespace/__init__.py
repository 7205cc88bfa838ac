"""Carespace: clinical team workspaces for NHS organisations.

Organisations hold shared team workspaces; colleagues ask to join and start
unapproved (they may send messages and see their own conversations) until an
approver lets them see everything. Every change appends an event to a gap-free log.

    >>> import carespace
    >>> cs = carespace.Carespace.in_memory()
    >>> trust = cs.register_organisation(name="Barts Health NHS Trust", kind=carespace.OrganisationKind.NHS_TRUST)
    >>> alice = cs.register_user(email="alice@nhs.net", name="Alice Smith")
    >>> _ = cs.join_organisation(alice.id, organisation=trust.id)
    >>> ward = cs.create_workspace(alice.id, organisation=trust.id, name="Maternity - Ward 2", speciality=501).workspace
    >>> print(cs.signature(ward.id))
    Maternity - Ward 2
    Barts Health NHS Trust

Arguments: the acting user comes first and may be given by position (``actor=`` works
too); every other argument is keyword-only. A method without an actor that takes one
argument takes it by position (``cs.user(id)``, ``cs.sweep(now)``), with any options
after it by keyword (``cs.import_organisations(path, strict=True)``).

Values are immutable, compare and hash by content, and support ``copy``, ``deepcopy``
and ``pickle``. A ``Carespace`` is a context manager: ``with Carespace.open(path) as cs:``
closes it at the end of the block.
"""

import copyreg as _copyreg
from typing import Callable as _Callable

from carespace import _carespace

from carespace._carespace import (
    CATALOGUE_SOURCE,
    CATALOGUE_VERSION,
    __version__,
    EVENT_TYPES,
    Carespace,
    Consumption,
    Conversation,
    DiscoveryEntry,
    Event,
    ImportReport,
    Invite,
    Joined,
    Left,
    ManualClock,
    Member,
    Membership,
    Organisation,
    Page,
    Follow,
    PendingRequest,
    Person,
    PersonalWorkspace,
    SwitcherEntry,
    Swept,
    User,
    Viewer,
    VisibleWorkspace,
    Workspace,
    WorkspaceOutcome,
    specialities,
    speciality_name,
)
from carespace._enums import (
    Action,
    Approvers,
    Durability,
    EventType,
    InviteStatus,
    JoinOutcome,
    MemberStatus,
    OrganisationKind,
    Role,
    Sight,
    Standing,
    WorkspaceStatus,
)
from carespace._errors import (
    AcknowledgementOutOfRangeError,
    AdminMustBeDemotedError,
    AlreadyExistsError,
    AlreadyMemberError,
    ArchivedMemberError,
    CarespaceError,
    ClosedError,
    CoolDownError,
    EmailTakenError,
    EndDateNotInFutureError,
    ForbiddenError,
    ImportRejectedError,
    InvalidCursorError,
    InvalidEmailError,
    InvalidIdError,
    InvalidInputError,
    InvalidLimitError,
    InvalidTextError,
    InviteAlreadyAcceptedError,
    InviteError,
    InviteExpiredError,
    InviteRevokedError,
    LastAdminError,
    MembershipError,
    NoPendingRequestError,
    NotAMemberError,
    NotFoundError,
    OdsCodeTakenError,
    OrganisationClosedError,
    SelfTargetError,
    StorageError,
    TimeOutOfRangeError,
    UnknownSpecialityError,
    UnreadableError,
    WorkspaceNameTakenError,
)

__all__ = [
    "CATALOGUE_SOURCE",
    "CATALOGUE_VERSION",
    "__version__",
    "EVENT_TYPES",
    "AcknowledgementOutOfRangeError",
    "Action",
    "AdminMustBeDemotedError",
    "AlreadyExistsError",
    "AlreadyMemberError",
    "Approvers",
    "ArchivedMemberError",
    "Carespace",
    "CarespaceError",
    "ClosedError",
    "Conversation",
    "CoolDownError",
    "DiscoveryEntry",
    "Durability",
    "EmailTakenError",
    "EndDateNotInFutureError",
    "Event",
    "EventType",
    "ForbiddenError",
    "ImportRejectedError",
    "ImportReport",
    "InvalidCursorError",
    "InvalidEmailError",
    "InvalidIdError",
    "InvalidInputError",
    "InvalidLimitError",
    "InvalidTextError",
    "Invite",
    "InviteAlreadyAcceptedError",
    "InviteError",
    "InviteExpiredError",
    "InviteRevokedError",
    "InviteStatus",
    "JoinOutcome",
    "Joined",
    "LastAdminError",
    "Left",
    "ManualClock",
    "Member",
    "MemberStatus",
    "Membership",
    "MembershipError",
    "NoPendingRequestError",
    "NotAMemberError",
    "NotFoundError",
    "OdsCodeTakenError",
    "OrganisationClosedError",
    "Organisation",
    "OrganisationKind",
    "Page",
    "Follow",
    "Consumption",
    "PendingRequest",
    "Person",
    "PersonalWorkspace",
    "Role",
    "SelfTargetError",
    "Sight",
    "Standing",
    "StorageError",
    "SwitcherEntry",
    "Swept",
    "TimeOutOfRangeError",
    "UnknownSpecialityError",
    "UnreadableError",
    "User",
    "Viewer",
    "VisibleWorkspace",
    "Workspace",
    "WorkspaceNameTakenError",
    "WorkspaceOutcome",
    "WorkspaceStatus",
    "specialities",
    "speciality_name",
]


def _reduce(value: object) -> tuple[_Callable[[str, str], object], tuple[str, str]]:
    """How ``pickle`` and ``copy`` take a value apart: its class name and core's JSON of it."""
    return (_carespace._restore, _carespace._dump(value))


for _name in _carespace.VALUE_CLASSES:
    _copyreg.pickle(getattr(_carespace, _name), _reduce)
