"""Type stubs of the native module ``carespace._carespace`` (checked by mypy.stubtest)."""

import datetime
import os
import uuid
from typing import Any, Generic, Iterator, Literal, Optional, Sequence, TypeVar, Union, final

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

__all__ = [
    "CATALOGUE_SOURCE",
    "CATALOGUE_VERSION",
    "__version__",
    "EVENT_TYPES",
    "VALUE_CLASSES",
    "Carespace",
    "Consumption",
    "Conversation",
    "DiscoveryEntry",
    "Event",
    "Invite",
    "Joined",
    "Left",
    "ManualClock",
    "Member",
    "Membership",
    "ImportReport",
    "Organisation",
    "Page",
    "Follow",
    "PendingRequest",
    "Person",
    "PersonalWorkspace",
    "SwitcherEntry",
    "Swept",
    "User",
    "Viewer",
    "VisibleWorkspace",
    "Workspace",
    "WorkspaceOutcome",
    "specialities",
    "speciality_name",
    "_dump",
    "_restore",
]

CATALOGUE_SOURCE: str
CATALOGUE_VERSION: str
__version__: str
EVENT_TYPES: list[str]
VALUE_CLASSES: list[str]

def speciality_name(code: int) -> str:
    """The name of a catalogue speciality (R10)."""

def _dump(value: object) -> tuple[str, str]:
    """A value's class name and core's JSON of it (pickling)."""

def _restore(name: str, json: str) -> object:
    """The value ``_dump`` described (unpickling)."""

def specialities() -> list[tuple[int, str]]:
    """The speciality catalogue (R10): ``(code, name)`` pairs, by code."""

@final
class ManualClock:
    """A clock that stands still until moved, for tests and simulations."""

    def __new__(cls, start: datetime.datetime) -> "ManualClock": ...
    def advance(self, by: datetime.timedelta) -> None:
        """Moves the clock forward (or back) by ``by``."""
    def set(self, at: datetime.datetime) -> None:
        """Sets the clock to ``at``."""
    def now(self) -> datetime.datetime:
        """The time it shows, in UTC."""

@final
class Organisation:
    """An NHS organisation."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> OrganisationKind: ...
    @property
    def ods_code(self) -> Optional[str]: ...
    @property
    def registered_at(self) -> datetime.datetime: ...
    @property
    def source_name(self) -> Optional[str]: ...
    @property
    def postcode(self) -> Optional[str]: ...
    @property
    def closed_on(self) -> Optional[datetime.date]: ...

_T = TypeVar("_T")

@final
class Page(Generic[_T]):
    """One page of a list (R43): its items in the list's order, and ``next_cursor`` for the
    next page (``None`` on the last). A page is a sequence of its own items;
    ``follow()`` iterates over them and every later page's, reading each page as it is
    reached. Give ``next_cursor`` back as ``cursor=`` to the same method, with the same
    arguments, for the next page."""

    @property
    def items(self) -> list[_T]:
        """The page's items, in the list's order."""
    @property
    def next_cursor(self) -> Optional[str]:
        """The cursor of the next page, or ``None`` on the last page."""
    def next_page(self) -> Optional[Page[_T]]:
        """The next page, or ``None`` after the last."""
    def follow(self) -> Follow[_T]:
        """Iterates over this page's items, then every later page's, reading the pages (of
        up to 1,000 items) as they are reached."""
    def __len__(self) -> int: ...
    def __getitem__(self, key: int, /) -> _T: ...
    def __iter__(self) -> Iterator[_T]: ...

@final
class Follow(Generic[_T]):
    """The iterator ``Page.follow()`` returns: the items of a page and of every page after
    it, in order, each page read when its first item is asked for."""

    def __iter__(self) -> Follow[_T]: ...
    def __next__(self) -> _T: ...

@final
class Consumption:
    """A consumer's events, in order, from its acknowledged position on (R42). Iterating
    waits for each next event as it commits; with ``timeout`` set, the iteration ends
    once that many seconds pass without one. Acknowledging is explicit: call
    ``acknowledge(event.seq)`` once an event is handled. Each event comes once per
    ``Consumption``; a new one (after a restart) starts again from the consumer's
    position, so what was not acknowledged comes again."""

    def __iter__(self) -> Consumption: ...
    def __next__(self) -> Event: ...
    def acknowledge(self, seq: int) -> int:
        """Moves the consumer's position to ``seq`` and returns it."""
    @property
    def name(self) -> str:
        """The consumer's name."""

@final
class ImportReport:
    """What an import of an ODS file did (R40)."""

    @property
    def added(self) -> int: ...
    @property
    def renamed(self) -> int: ...
    @property
    def closed(self) -> int: ...
    @property
    def reopened(self) -> int: ...
    @property
    def updated(self) -> int: ...
    @property
    def unchanged(self) -> int: ...
    @property
    def rejected(self) -> list[tuple[int, Optional[str], str]]: ...
    @property
    def windows_1252_lines(self) -> list[int]: ...

@final
class User:
    """A person, identified by their NHS email."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def email(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def registered_at(self) -> datetime.datetime: ...

@final
class Workspace:
    """A shared team workspace."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def organisation(self) -> uuid.UUID: ...
    @property
    def name(self) -> str: ...
    @property
    def speciality(self) -> int:
        """The speciality's 3-digit code."""
    @property
    def speciality_name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def status(self) -> WorkspaceStatus: ...
    @property
    def created_by(self) -> uuid.UUID: ...
    @property
    def created_at(self) -> datetime.datetime: ...

@final
class PersonalWorkspace:
    """A user's personal "My Workspace" in one organisation."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def organisation(self) -> uuid.UUID: ...
    @property
    def owner(self) -> uuid.UUID: ...
    @property
    def name(self) -> str: ...
    @property
    def archived(self) -> bool: ...
    @property
    def created_at(self) -> datetime.datetime: ...
    @property
    def archived_at(self) -> Optional[datetime.datetime]: ...

@final
class Membership:
    """One user's membership of one workspace."""

    @property
    def workspace(self) -> uuid.UUID: ...
    @property
    def user(self) -> uuid.UUID: ...
    @property
    def role(self) -> Role: ...
    @property
    def status(self) -> MemberStatus: ...
    @property
    def joined_at(self) -> datetime.datetime: ...
    @property
    def updated_at(self) -> datetime.datetime: ...
    @property
    def ends_at(self) -> Optional[datetime.datetime]:
        """When a time-boxed membership ends (R39), or ``None``."""
    @property
    def escalated_at(self) -> Optional[datetime.datetime]:
        """When the sweep escalated this join request (R38), or ``None``."""

@final
class Invite:
    """An emailed offer to join a workspace."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def workspace(self) -> uuid.UUID: ...
    @property
    def email(self) -> str: ...
    @property
    def invited_by(self) -> uuid.UUID: ...
    @property
    def created_at(self) -> datetime.datetime: ...
    @property
    def expires_at(self) -> datetime.datetime: ...
    @property
    def status(self) -> InviteStatus: ...

@final
class Conversation:
    """The header of a patient-communication thread."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def workspace(self) -> uuid.UUID: ...
    @property
    def started_by(self) -> uuid.UUID: ...
    @property
    def started_at(self) -> datetime.datetime: ...

@final
class Event:
    """One entry of the event log: what happened, who did it, when."""

    @property
    def seq(self) -> int:
        """Its position in the log: 1, 2, 3, … without gaps."""
    @property
    def at(self) -> datetime.datetime: ...
    @property
    def actor(self) -> Optional[uuid.UUID]: ...
    @property
    def type(self) -> EventType:
        """The event's type, e.g. ``"join_requested"``."""
    @property
    def payload(self) -> dict[str, Any]:
        """The event's fields as a JSON-ready dict (ids and times as strings)."""
    def to_dict(self) -> dict[str, Any]:
        """The whole event as a JSON-ready dict."""

@final
class Person:
    """A person as listed to colleagues."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def name(self) -> str: ...

@final
class DiscoveryEntry:
    """One line of discovery: an active workspace, or an example to create by joining."""

    @property
    def name(self) -> str: ...
    @property
    def is_example(self) -> bool: ...
    @property
    def speciality(self) -> int:
        """The speciality's 3-digit code."""
    @property
    def member_count(self) -> int: ...
    @property
    def workspace(self) -> Optional[Workspace]:
        """The workspace, or ``None`` for an example."""
    @property
    def admins(self) -> list[Person]:
        """The admins who will approve a request (empty for an example)."""

@final
class SwitcherEntry:
    """One entry of the workspace switcher."""

    @property
    def organisation(self) -> uuid.UUID: ...
    @property
    def organisation_name(self) -> str: ...
    @property
    def workspace_id(self) -> uuid.UUID: ...
    @property
    def name(self) -> str: ...
    @property
    def is_personal(self) -> bool:
        """Whether this is the user's My Workspace."""
    @property
    def role(self) -> Optional[Role]:
        """The user's role in a shared workspace (``None`` for My Workspace)."""
    @property
    def status(self) -> Optional[MemberStatus]:
        """The user's status in a shared workspace (``None`` for My Workspace)."""
    @property
    def archived(self) -> bool:
        """Whether the workspace is archived (My Workspace after moving to shared ones)."""

@final
class Member:
    """A member as listed to approved members."""

    @property
    def user(self) -> User: ...
    @property
    def role(self) -> Role: ...
    @property
    def status(self) -> MemberStatus: ...
    @property
    def joined_at(self) -> datetime.datetime: ...
    @property
    def ends_at(self) -> Optional[datetime.datetime]:
        """When their time-boxed membership ends (R39), or ``None``."""

@final
class Viewer:
    """Someone who could see a workspace's conversations at an instant (R37)."""

    @property
    def person(self) -> Person: ...
    @property
    def sight(self) -> Sight: ...
    @property
    def since(self) -> datetime.datetime:
        """Since when, without a break."""

@final
class VisibleWorkspace:
    """A workspace someone could see at an instant (R37)."""

    @property
    def workspace(self) -> uuid.UUID: ...
    @property
    def organisation(self) -> uuid.UUID: ...
    @property
    def name(self) -> str:
        """Its name as it was at the instant asked about ("My Workspace" for a My Workspace)."""
    @property
    def sight(self) -> Sight: ...
    @property
    def since(self) -> datetime.datetime:
        """Since when, without a break."""

@final
class Swept:
    """What one sweep did (R38, R39); each count is also a number of events."""

    @property
    def invites_expired(self) -> int: ...
    @property
    def requests_escalated(self) -> int: ...
    @property
    def end_reminders(self) -> int: ...
    @property
    def memberships_ended(self) -> int: ...
    @property
    def last_admins_kept(self) -> int: ...
    def is_empty(self) -> bool:
        """Whether the sweep found nothing to do."""

@final
class PendingRequest:
    """A join request waiting for an approver."""

    @property
    def workspace(self) -> uuid.UUID: ...
    @property
    def workspace_name(self) -> str: ...
    @property
    def requester(self) -> Person: ...
    @property
    def requested_at(self) -> datetime.datetime: ...

@final
class Joined:
    """How joining ended, with the workspace and the joiner's membership."""

    @property
    def outcome(self) -> JoinOutcome: ...
    @property
    def workspace(self) -> Workspace: ...
    @property
    def membership(self) -> Membership: ...

@final
class WorkspaceOutcome:
    """A created or changed workspace, with warnings about a broad name (R13)."""

    @property
    def workspace(self) -> Workspace: ...
    @property
    def warnings(self) -> list[str]:
        """Warnings the UI can show, as sentences."""

@final
class Left:
    """Whether leaving archived the workspace."""

    @property
    def workspace_archived(self) -> bool:
        """Whether the leaver was the last member, so the workspace is now archived."""

_Id = Union[uuid.UUID, str]
_Kind = Union[OrganisationKind, str]

@final
class Carespace:
    """The Carespace service over a SQLite file, a PostgreSQL database or an in-memory store."""

    @staticmethod
    def open(
        path: Union[str, os.PathLike[str]],
        *,
        durability: Optional[Union[Durability, str]] = None,
        approvers: Optional[Union[Approvers, str]] = None,
        creator_kinds: Optional[Sequence[_Kind]] = None,
        invite_lifetime: Optional[datetime.timedelta] = None,
        rerequest_cooldown: Optional[datetime.timedelta] = None,
        escalate_after: Optional[datetime.timedelta] = None,
        end_reminder: Optional[datetime.timedelta] = None,
        clock: Optional[ManualClock] = None,
    ) -> "Carespace":
        """Opens (creating and migrating if needed) a SQLite database file."""
    @staticmethod
    def connect(
        url: str,
        *,
        schema: Optional[str] = None,
        pool_size: Optional[int] = None,
        connect_timeout: Optional[float] = None,
        approvers: Optional[Union[Approvers, str]] = None,
        creator_kinds: Optional[Sequence[_Kind]] = None,
        invite_lifetime: Optional[datetime.timedelta] = None,
        rerequest_cooldown: Optional[datetime.timedelta] = None,
        escalate_after: Optional[datetime.timedelta] = None,
        end_reminder: Optional[datetime.timedelta] = None,
        clock: Optional[ManualClock] = None,
    ) -> "Carespace":
        """Connects to PostgreSQL (TLS from ``sslmode``/``sslrootcert`` in ``url``), migrating if needed."""
    @staticmethod
    def in_memory(
        *,
        approvers: Optional[Union[Approvers, str]] = None,
        creator_kinds: Optional[Sequence[_Kind]] = None,
        invite_lifetime: Optional[datetime.timedelta] = None,
        rerequest_cooldown: Optional[datetime.timedelta] = None,
        escalate_after: Optional[datetime.timedelta] = None,
        end_reminder: Optional[datetime.timedelta] = None,
        clock: Optional[ManualClock] = None,
    ) -> "Carespace":
        """A service over a private in-memory store (nothing survives the object)."""
    def close(self) -> None:
        """Lets the store go (a SQLite file is closed once running calls finish); later calls raise ``ClosedError``."""
    def __enter__(self) -> "Carespace": ...
    def __exit__(self, *_exc: object) -> bool:
        """Closes; exceptions from the block propagate."""
    def register_organisation(self, *, name: str, kind: _Kind, ods_code: Optional[str] = None) -> Organisation:
        """Registers an organisation (R1)."""
    def register_user(self, *, email: str, name: str) -> User:
        """Registers a user with an NHS email (R2, R3)."""
    def join_organisation(self, actor: _Id, *, organisation: _Id) -> PersonalWorkspace:
        """Joins an organisation, getting a My Workspace there (R4, R26)."""
    def organisation(self, id: _Id) -> Organisation:
        """An organisation by id."""
    def organisation_by_ods(self, code: str) -> Optional[Organisation]:
        """An organisation by ODS code, or ``None``."""
    def import_organisations(self, path: Union[str, os.PathLike[str]], *, strict: bool = False) -> ImportReport:
        """Imports an ODS file (R40): ``etr*.csv`` (NHS trusts) or ``epraccur*.csv`` (GP practices)."""
    def search_organisations(
        self,
        *,
        name: Optional[str] = None,
        ods_code: Optional[str] = None,
        postcode: Optional[str] = None,
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
    ) -> Page[Organisation]:
        """Searches the directory (R40) by exactly one of name, ODS code or postcode prefix; paged (R43)."""
    def user(self, id: _Id) -> User:
        """A user by id."""
    def user_by_email(self, email: str) -> Optional[User]:
        """A user by email, or ``None``."""
    def create_workspace(
        self, actor: _Id, *, organisation: _Id, name: str, speciality: int, description: str = ""
    ) -> WorkspaceOutcome:
        """Creates a workspace; the creator becomes its admin (R5–R8, R13, R27)."""
    def join_example(self, actor: _Id, *, organisation: _Id, speciality: int) -> Joined:
        """Joins the example workspace of a speciality: creates it, or requests to join it (R9)."""
    def discover(
        self,
        actor: _Id,
        *,
        organisation: _Id,
        name: Optional[str] = None,
        speciality: Optional[int] = None,
        colleague: Optional[_Id] = None,
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
    ) -> Page[DiscoveryEntry]:
        """A page of an organisation's workspaces and examples (R11, R43), optionally
        filtered, by name: at most ``limit`` (default 50, at most 1,000) after ``cursor``."""
    def signature(self, workspace: _Id) -> str:
        """The signature for patient messages: name and organisation on two lines (R12)."""
    def name_warnings(self, *, organisation: _Id, name: str) -> list[str]:
        """The warnings a name would get in an organisation (R13), as sentences."""
    def update_settings(
        self,
        actor: _Id,
        *,
        workspace: _Id,
        name: Optional[str] = None,
        speciality: Optional[int] = None,
        description: Optional[str] = None,
    ) -> WorkspaceOutcome:
        """Renames a workspace or changes its speciality or description (R24); admins only."""
    def request_to_join(self, actor: _Id, *, workspace: _Id) -> Joined:
        """Requests to join (R14); accepts a pending invite instead where there is one (R19)."""
    def approve(self, actor: _Id, *, workspace: _Id, user: _Id) -> Membership:
        """Approves a join request (R16)."""
    def decline(self, actor: _Id, *, workspace: _Id, user: _Id) -> None:
        """Declines a join request (R17)."""
    def archive_member(self, actor: _Id, *, workspace: _Id, user: _Id) -> Membership:
        """Archives a member (R22); admins only."""
    def unarchive_member(self, actor: _Id, *, workspace: _Id, user: _Id) -> Membership:
        """Unarchives a member, who becomes approved again (R22); admins only."""
    def promote(self, actor: _Id, *, workspace: _Id, user: _Id) -> Membership:
        """Promotes an approved member to admin (R23)."""
    def demote(self, actor: _Id, *, workspace: _Id, user: _Id) -> Membership:
        """Demotes an admin, never the last one (R23)."""
    def set_membership_end(
        self, actor: _Id, *, workspace: _Id, user: _Id, ends_at: Optional[datetime.datetime]
    ) -> Membership:
        """Sets, extends or clears (``ends_at=None``) the end date of a membership (R39); admins only."""
    def leave(self, actor: _Id, *, workspace: _Id) -> Left:
        """Leaves a workspace (R21)."""
    def invite(self, actor: _Id, *, workspace: _Id, email: str) -> Invite:
        """Invites an NHS email (R18)."""
    def accept_invite(self, actor: _Id, *, invite: _Id) -> Joined:
        """Accepts an invite addressed to the actor (R19)."""
    def revoke_invite(self, actor: _Id, *, invite: _Id) -> Invite:
        """Revokes a pending invite (R20)."""
    def invites_for_me(self, actor: _Id) -> list[Invite]:
        """The pending invites addressed to the actor (R19)."""
    def invite_details(self, actor: _Id, *, invite: _Id) -> Invite:
        """One invite, for its addressee or the workspace's approved members, with its status as of now."""
    def pending_invites(
        self, actor: _Id, *, workspace: _Id, limit: Optional[int] = None, cursor: Optional[str] = None
    ) -> Page[Invite]:
        """A page of the pending invites of a workspace (R43), for its approved members."""
    def workspace(self, actor: _Id, *, workspace: _Id) -> Workspace:
        """A shared workspace's record and status, for anyone in its organisation."""
    def membership(self, actor: _Id, *, workspace: _Id, user: _Id) -> Optional[Membership]:
        """A user's membership of a workspace, or None; about oneself, or for those who may
        see the member list (R15)."""
    def organisations_of(self, user: _Id) -> list[Organisation]:
        """The organisations a user belongs to, by name."""
    def start_conversation(self, actor: _Id, *, workspace: _Id) -> Conversation:
        """Starts a conversation (R29)."""
    def conversations(self, actor: _Id, *, workspace: _Id) -> list[Conversation]:
        """The conversations of a workspace the actor may see (R28, R30)."""
    def can(
        self,
        actor: _Id,
        *,
        action: Union[Action, str],
        workspace: Optional[_Id] = None,
        organisation: Optional[_Id] = None,
    ) -> bool:
        """The permission table's answer (R34), in a workspace or an organisation (exactly one)."""
    def standing(self, actor: _Id, *, workspace: _Id) -> Standing:
        """Where the actor stands towards a workspace."""
    def members(
        self, actor: _Id, *, workspace: _Id, limit: Optional[int] = None, cursor: Optional[str] = None
    ) -> Page[Member]:
        """A page of the members of a workspace, current and archived (R15, R22, R43): by role
        (admins, members, unapproved, archived), then name."""
    def my_workspaces(self, actor: _Id) -> list[SwitcherEntry]:
        """The workspace switcher (R31)."""
    def pending_requests(
        self, actor: _Id, *, limit: Optional[int] = None, cursor: Optional[str] = None
    ) -> Page[PendingRequest]:
        """A page of the join requests waiting for the actor (R33, R43)."""
    def sweep(self, now: datetime.datetime) -> Swept:
        """Does the time-driven work due at ``now`` (R38, R39): expires invites, escalates
        stale join requests, reminds and ends time-boxed memberships. Idempotent; safe
        from several threads and processes at once."""
    def viewers_at(self, *, workspace: _Id, at: datetime.datetime) -> list[Viewer]:
        """Who could see a workspace's conversations at ``at`` (R37), from the event log."""
    def workspaces_visible_at(self, *, user: _Id, at: datetime.datetime) -> list[VisibleWorkspace]:
        """The workspaces whose conversations a user could see at ``at`` (R37), from the event log."""
    def membership_history(
        self, workspace: _Id, *, limit: Optional[int] = None, cursor: Optional[str] = None
    ) -> Page[Event]:
        """A page of the membership events of a workspace, oldest first, with actor and time
        (R37, R43)."""
    def register_consumer(self, name: str, *, start: Literal["beginning", "head"] = "beginning") -> int:
        """Registers the event consumer ``name`` (R42); returns its position."""
    def receive(self, name: str, *, limit: int = 50) -> list[Event]:
        """Up to ``limit`` events after the consumer's position, again until acknowledged (R42)."""
    def acknowledge(self, *, consumer: str, seq: int) -> int:
        """Moves the consumer's position to ``seq`` (forward only, at most the head) (R42)."""
    def head(self) -> int:
        """The sequence number of the log's last event (R42)."""
    def wait_for_event(self, *, after: int, timeout: float) -> bool:
        """Waits up to ``timeout`` seconds for an event after ``after`` to commit (R42)."""
    def consume(self, name: str, *, limit: int = 50, timeout: Optional[float] = None) -> Consumption:
        """Iterates over the consumer's events from its position on, waiting for each (R42)."""
    def events_since(self, *, after: int = 0, limit: int = 1000) -> list[Event]:
        """Events after the cursor ``after`` (R32), at most ``limit``."""
