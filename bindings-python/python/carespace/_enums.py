"""The enumerations Carespace returns and accepts, as standard :class:`enum.Enum` types.

Each member's value is the stable lower-case name used in JSON and storage, so
``Role("admin") is Role.ADMIN``. Methods accept a member or its value.
"""

from __future__ import annotations

import enum
from typing import Literal

__all__ = [
    "Action",
    "Approvers",
    "Durability",
    "EventType",
    "InviteStatus",
    "JoinOutcome",
    "MemberStatus",
    "OrganisationKind",
    "Role",
    "Sight",
    "Standing",
    "WorkspaceStatus",
]

#: Every ``Event.type`` (R32), as the log writes it; a test holds it to the library's list.
EventType = Literal[
    "organisation_registered",
    "organisation_renamed",
    "organisation_closed",
    "organisation_reopened",
    "organisation_updated",
    "user_registered",
    "organisation_joined",
    "workspace_created",
    "join_requested",
    "join_approved",
    "join_declined",
    "invited",
    "invite_accepted",
    "invite_revoked",
    "invite_expired",
    "member_left",
    "workspace_archived",
    "member_archived",
    "member_unarchived",
    "role_changed",
    "settings_changed",
    "my_workspace_archived",
    "my_workspace_reactivated",
    "conversation_started",
    "membership_end_changed",
    "membership_ending_soon",
    "last_admin_kept",
    "join_request_escalated",
]


class OrganisationKind(enum.Enum):
    """The kind of an NHS organisation (R1)."""

    NHS_TRUST = "nhs_trust"
    GP_PRACTICE = "gp_practice"
    PHARMACY = "pharmacy"
    OTHER = "other"
    WALK_IN_CENTRE = "walk_in_centre"
    OUT_OF_HOURS = "out_of_hours"
    URGENT_CARE = "urgent_care"
    COMMUNITY_SERVICE = "community_service"
    HOSPITAL_SERVICE = "hospital_service"
    OPTOMETRY = "optometry"
    HOSPICE = "hospice"
    CARE_HOME = "care_home"
    JUSTICE_HEALTH = "justice_health"


class Role(enum.Enum):
    """A member's role in a workspace."""

    ADMIN = "admin"
    MEMBER = "member"


class MemberStatus(enum.Enum):
    """A member's status in a workspace."""

    UNAPPROVED = "unapproved"
    APPROVED = "approved"
    ARCHIVED = "archived"


class WorkspaceStatus(enum.Enum):
    """Whether a shared workspace is in use."""

    ACTIVE = "active"
    ARCHIVED = "archived"


class InviteStatus(enum.Enum):
    """Where an invite stands."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    EXPIRED = "expired"


class JoinOutcome(enum.Enum):
    """How joining ended: created, requested, accepted an invite, or already a member."""

    CREATED = "created"
    REQUESTED = "requested"
    ACCEPTED_INVITE = "accepted_invite"
    ALREADY_MEMBER = "already_member"


class Approvers(enum.Enum):
    """Who may approve join requests (R16): admins only, or every approved member."""

    ADMINS = "admins"
    APPROVED_MEMBERS = "approved_members"


class Durability(enum.Enum):
    """SQLite's synchronous setting: FULL survives power loss, NORMAL only process crashes."""

    FULL = "full"
    NORMAL = "normal"


class Standing(enum.Enum):
    """Where a person stands towards a workspace, as the permission table sees it."""

    OUTSIDER = "outsider"
    ORGANISATION_MEMBER = "organisation_member"
    UNAPPROVED = "unapproved"
    MEMBER = "member"
    ADMIN = "admin"
    ARCHIVED = "archived"
    OWNER = "owner"


class Action(enum.Enum):
    """Everything a person may try to do: in a workspace, or in an organisation
    (``CREATE_WORKSPACE``, ``DISCOVER_WORKSPACES``) (R34)."""

    START_CONVERSATION = "start_conversation"
    VIEW_OWN_CONVERSATIONS = "view_own_conversations"
    VIEW_ALL_CONVERSATIONS = "view_all_conversations"
    CREATE_PERSONAL_TEMPLATE = "create_personal_template"
    CREATE_PERSONAL_PATIENT_LIST = "create_personal_patient_list"
    VIEW_MEMBERS = "view_members"
    VIEW_SHARED_TEMPLATES = "view_shared_templates"
    VIEW_SHARED_PATIENT_LISTS = "view_shared_patient_lists"
    REQUEST_TO_JOIN = "request_to_join"
    LEAVE = "leave"
    INVITE = "invite"
    REVOKE_OWN_INVITE = "revoke_own_invite"
    REVOKE_ANY_INVITE = "revoke_any_invite"
    APPROVE = "approve"
    DECLINE = "decline"
    ARCHIVE_MEMBER = "archive_member"
    UNARCHIVE_MEMBER = "unarchive_member"
    PROMOTE = "promote"
    DEMOTE = "demote"
    CHANGE_SETTINGS = "change_settings"
    SET_MEMBERSHIP_END = "set_membership_end"
    ACCEPT_INVITE = "accept_invite"
    CREATE_WORKSPACE = "create_workspace"
    DISCOVER_WORKSPACES = "discover_workspaces"


class Sight(enum.Enum):
    """Why someone could see a workspace's conversations (R37)."""

    MEMBER = "member"
    ADMIN = "admin"
    OWNER = "owner"
