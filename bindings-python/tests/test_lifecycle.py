"""The lifecycle of the rules (docs/rules.md) end to end, through the Python API."""

from __future__ import annotations

import datetime
import json
import uuid

import pytest

import carespace
from carespace import Action, InviteStatus, JoinOutcome, MemberStatus, Role, Standing, WorkspaceStatus

from conftest import START, World, make_world


def test_r8_r14_r15_r16_request_approve_and_see_everything(world: World) -> None:
    cs, alice, bob, ward = world.cs, world.alice, world.bob, world.ward
    alices = cs.start_conversation(alice.id, workspace=ward.id)
    joined = cs.request_to_join(bob.id, workspace=ward.id)
    assert joined.outcome is JoinOutcome.REQUESTED
    assert joined.membership.status is MemberStatus.UNAPPROVED
    bobs = cs.start_conversation(bob.id, workspace=ward.id)
    assert cs.conversations(bob.id, workspace=ward.id) == [bobs]
    assert not cs.can(actor=bob.id, workspace=ward.id, action=Action.VIEW_ALL_CONVERSATIONS)
    prompt = cs.pending_requests(alice.id)
    assert [(p.workspace_name, p.requester.name) for p in prompt] == [("Maternity - Ward 2", "Bob Jones")]
    approved = cs.approve(actor=alice.id, workspace=ward.id, user=bob.id)
    assert (approved.role, approved.status) == (Role.MEMBER, MemberStatus.APPROVED)
    assert set(cs.conversations(bob.id, workspace=ward.id)) == {alices, bobs}
    assert cs.standing(bob.id, workspace=ward.id) is Standing.MEMBER


def test_r18_r19_invite_an_unregistered_nhs_uk_address_then_accept(world: World) -> None:
    cs = world.cs
    invite = cs.invite(actor=world.alice.id, workspace=world.ward.id, email="New.Starter@ELFT.nhs.uk")
    assert invite.email == "new.starter@elft.nhs.uk"
    assert invite.status is InviteStatus.PENDING
    assert invite.expires_at == START + datetime.timedelta(days=14)
    newbie = cs.register_user(email="new.starter@elft.nhs.uk", name="New Starter")
    assert [i.id for i in cs.invites_for_me(newbie.id)] == [invite.id]
    joined = cs.accept_invite(newbie.id, invite=invite.id)
    assert joined.outcome is JoinOutcome.ACCEPTED_INVITE
    assert joined.membership.status is MemberStatus.APPROVED
    assert cs.accept_invite(newbie.id, invite=invite.id).outcome is JoinOutcome.ALREADY_MEMBER


def test_r21_r23_r22_leave_promote_archive(world: World) -> None:
    cs, alice, bob, carol, ward = world.cs, world.alice, world.bob, world.carol, world.ward
    for person in (bob, carol):
        cs.request_to_join(person.id, workspace=ward.id)
        cs.approve(actor=alice.id, workspace=ward.id, user=person.id)
    with pytest.raises(carespace.LastAdminError, match="last admin"):
        cs.leave(alice.id, workspace=ward.id)
    assert cs.promote(actor=alice.id, workspace=ward.id, user=bob.id).role is Role.ADMIN
    assert cs.archive_member(actor=bob.id, workspace=ward.id, user=carol.id).status is MemberStatus.ARCHIVED
    listing = cs.members(alice.id, workspace=ward.id)
    assert [(m.user.name, m.status) for m in listing] == [
        ("Alice Smith", MemberStatus.APPROVED),
        ("Bob Jones", MemberStatus.APPROVED),
        ("Carol White", MemberStatus.ARCHIVED),
    ]
    assert listing.next_cursor is None
    assert cs.unarchive_member(actor=alice.id, workspace=ward.id, user=carol.id).status is MemberStatus.APPROVED
    assert cs.demote(actor=bob.id, workspace=ward.id, user=alice.id).role is Role.MEMBER
    assert not cs.leave(alice.id, workspace=ward.id).workspace_archived


def test_r27_r31_switcher_and_my_workspace(world: World) -> None:
    entries = world.cs.my_workspaces(world.alice.id)
    assert [(e.name, e.is_personal, e.archived) for e in entries] == [
        ("My Workspace", True, True),
        ("Maternity - Ward 2", False, False),
    ]
    assert entries[1].role is Role.ADMIN and entries[1].status is MemberStatus.APPROVED
    assert entries[0].role is None and entries[0].status is None


def test_r9_r11_discovery_with_examples_and_filters(world: World) -> None:
    cs = world.cs
    first = cs.discover(world.bob.id, organisation=world.trust.id)
    assert len(first) == 50 and first.next_cursor is not None, "a page of the default size"
    everything = list(first.follow())
    # The ward, and every catalogue speciality as an example (none is named like the ward).
    assert len(everything) == len(carespace.specialities()) + 1
    assert everything[:50] == first.items
    obstetrics = cs.discover(world.bob.id, organisation=world.trust.id, speciality=501)
    assert [(e.name, e.is_example, e.member_count) for e in obstetrics] == [
        ("Maternity - Ward 2", False, 1),
        ("Obstetrics", True, 0),
    ]
    assert [a.name for a in obstetrics[0].admins] == ["Alice Smith"]
    assert obstetrics[1].workspace is None
    joined = cs.join_example(actor=world.bob.id, organisation=world.trust.id, speciality=501)
    assert joined.outcome is JoinOutcome.CREATED and joined.workspace.name == "Obstetrics"
    assert cs.discover(world.carol.id, organisation=world.trust.id, colleague=world.bob.id)[0].name == "Obstetrics"
    assert [e.name for e in cs.discover(world.carol.id, organisation=world.trust.id, name="WARD")] == ["Maternity - Ward 2"]


def test_r12_r13_r24_signature_warnings_and_settings(world: World) -> None:
    cs = world.cs
    assert cs.signature(world.ward.id) == "Maternity - Ward 2\nEast London NHS Foundation Trust"
    assert cs.name_warnings(organisation=world.trust.id, name="Staff")
    changed = cs.update_settings(actor=world.alice.id, workspace=world.ward.id, name="Everyone", description="Broad")
    assert changed.workspace.name == "Everyone" and changed.workspace.description == "Broad"
    assert "very broad" in changed.warnings[0]


def test_r32_events_are_json_ready_dicts(world: World) -> None:
    events = world.cs.events_since()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    created = next(e for e in events if e.type == "workspace_created")
    assert created.actor == world.alice.id
    assert created.at == START
    assert created.payload == {
        "workspace": str(world.ward.id),
        "organisation": str(world.trust.id),
        "name": "Maternity - Ward 2",
        "speciality": 501,
        "from_example": False,
    }
    whole = created.to_dict()
    assert whole["type"] == "workspace_created" and whole["seq"] == created.seq
    json.dumps([e.to_dict() for e in events])
    assert [e.seq for e in world.cs.events_since(after=2, limit=2)] == [3, 4]


def test_r17_r36_cooldown_and_expiry_follow_the_injected_clock() -> None:
    w = make_world(invite_lifetime=datetime.timedelta(days=2), rerequest_cooldown=datetime.timedelta(hours=1))
    cs = w.cs
    cs.request_to_join(w.bob.id, workspace=w.ward.id)
    cs.decline(actor=w.alice.id, workspace=w.ward.id, user=w.bob.id)
    with pytest.raises(carespace.CoolDownError) as caught:
        cs.request_to_join(w.bob.id, workspace=w.ward.id)
    assert caught.value.until == START + datetime.timedelta(hours=1)  # type: ignore[attr-defined]
    w.clock.advance(datetime.timedelta(hours=1))
    assert cs.request_to_join(w.bob.id, workspace=w.ward.id).outcome is JoinOutcome.REQUESTED
    invite = cs.invite(actor=w.alice.id, workspace=w.ward.id, email="late@nhs.net")
    late = cs.register_user(email="late@nhs.net", name="Late Comer")
    w.clock.advance(datetime.timedelta(days=2))
    with pytest.raises(carespace.InviteExpiredError):
        cs.accept_invite(late.id, invite=invite.id)


def test_r16_policy_lets_approved_members_approve() -> None:
    w = make_world(approvers=carespace.Approvers.APPROVED_MEMBERS)
    cs = w.cs
    cs.request_to_join(w.bob.id, workspace=w.ward.id)
    cs.approve(actor=w.alice.id, workspace=w.ward.id, user=w.bob.id)
    cs.request_to_join(w.carol.id, workspace=w.ward.id)
    assert cs.approve(actor=w.bob.id, workspace=w.ward.id, user=w.carol.id).status is MemberStatus.APPROVED


def test_r7_creator_kinds_are_a_keyword_setting() -> None:
    cs = carespace.Carespace.in_memory(creator_kinds=["nhs_trust", carespace.OrganisationKind.GP_PRACTICE])
    practice = cs.register_organisation(name="Mile End Surgery", kind="gp_practice")
    gp = cs.register_user(email="gp@nhs.net", name="Dr Gee")
    cs.join_organisation(gp.id, organisation=practice.id)
    assert cs.create_workspace(actor=gp.id, organisation=practice.id, name="Reception", speciality=600).workspace.speciality_name == "General Medical Practice"


def test_ids_may_be_given_as_strings(world: World) -> None:
    assert world.cs.user(str(world.alice.id)) == world.alice
    with pytest.raises(carespace.InvalidIdError, match="not a valid id"):
        world.cs.user("not-a-uuid")


def test_r10_speciality_catalogue() -> None:
    catalogue = carespace.specialities()
    assert len(catalogue) >= 200
    assert (501, "Obstetrics") in catalogue and (103, "Breast Surgery") in catalogue
    assert carespace.speciality_name(104) == "Colorectal Surgery"
    assert "NHS Data Dictionary" in carespace.CATALOGUE_SOURCE


def test_unknown_ids_are_not_found(world: World) -> None:
    with pytest.raises(carespace.NotFoundError):
        world.cs.my_workspaces(uuid.uuid4())
    assert world.cs.user_by_email("nobody@nhs.net") is None
    assert world.cs.organisation_by_ods("rwk") == world.trust
    assert world.cs.organisation(world.trust.id) == world.trust
    assert world.ward.status is WorkspaceStatus.ACTIVE


def test_r11_r15_lookups_of_a_workspace_a_membership_and_organisations(world: World) -> None:
    cs, alice, bob, ward = world.cs, world.alice, world.bob, world.ward
    assert cs.workspace(bob.id, workspace=ward.id) == ward
    assert cs.membership(bob.id, workspace=ward.id, user=bob.id) is None
    cs.request_to_join(bob.id, workspace=ward.id)
    mine = cs.membership(bob.id, workspace=ward.id, user=bob.id)
    assert mine is not None and mine.status is MemberStatus.UNAPPROVED
    theirs = cs.membership(alice.id, workspace=ward.id, user=bob.id)
    assert theirs is not None and theirs.role is Role.MEMBER
    with pytest.raises(carespace.ForbiddenError):
        cs.membership(bob.id, workspace=ward.id, user=alice.id)
    other = cs.register_organisation(name="Barts Health NHS Trust", kind="nhs_trust")
    cs.join_organisation(alice.id, organisation=other.id)
    assert [o.name for o in cs.organisations_of(alice.id)] == ["Barts Health NHS Trust", "East London NHS Foundation Trust"]
    outsider = cs.register_user(email="out@nhs.net", name="Out Sider")
    assert cs.organisations_of(outsider.id) == []
    with pytest.raises(carespace.ForbiddenError) as caught:
        cs.workspace(outsider.id, workspace=ward.id)
    assert caught.value.reason == "not_in_organisation"  # type: ignore[attr-defined]
