"""Returned values have real Python types, are immutable, compare and hash by value, and
print well; every enum member is accepted and produced."""

from __future__ import annotations

import datetime
import uuid

import pytest

import carespace
from carespace import Action, InviteStatus, JoinOutcome, MemberStatus, OrganisationKind, Role, Standing, WorkspaceStatus

from conftest import World, make_world


def test_types_of_returned_values(world: World) -> None:
    ws = world.ward
    assert isinstance(ws.id, uuid.UUID) and ws.id.version == 7
    assert isinstance(ws.created_at, datetime.datetime)
    assert ws.created_at.tzinfo is not None and ws.created_at.utcoffset() == datetime.timedelta(0)
    assert isinstance(ws.status, WorkspaceStatus)
    assert isinstance(world.trust.kind, OrganisationKind)
    assert isinstance(ws.speciality, int) and ws.speciality_name == "Obstetrics"
    event = world.cs.events_since()[0]
    assert isinstance(event.seq, int) and isinstance(event.payload, dict)


def test_values_are_immutable_and_hashable(world: World) -> None:
    with pytest.raises(AttributeError):
        world.ward.name = "Renamed"  # type: ignore[misc]
    again = world.cs.discover(world.alice.id, organisation=world.trust.id, name="Maternity")[0].workspace
    assert again == world.ward and hash(again) == hash(world.ward)
    assert len({world.ward, again}) == 1
    assert world.alice != world.bob


def test_reprs_name_the_fields(world: World) -> None:
    text = repr(world.ward)
    assert text.startswith("Workspace(id=UUID(") and "name='Maternity - Ward 2'" in text and "WorkspaceStatus.ACTIVE" in text
    assert repr(world.alice) == f"User(id=UUID('{world.alice.id}'), email='alice@nhs.net', name='Alice Smith')"
    assert repr(world.cs) == "Carespace.in_memory()"
    assert "ManualClock(" in repr(world.clock)


def test_every_enum_member_round_trips(world: World) -> None:
    cs = world.cs
    # OrganisationKind: accepted as members and as values.
    for kind in OrganisationKind:
        org = cs.register_organisation(name=f"Org {kind.value}", kind=kind if kind.value != "other" else "other")
        assert org.kind is kind
    # Action and Standing: every member through can() and standing().
    for action in Action:
        assert isinstance(cs.can(actor=world.alice.id, workspace=world.ward.id, action=action), bool)
    assert cs.can(actor=world.alice.id, workspace=world.ward.id, action="change_settings")
    with pytest.raises(carespace.InvalidTextError, match="not a valid Action"):
        cs.can(actor=world.alice.id, workspace=world.ward.id, action="fly")
    outsider = cs.register_user(email="out@nhs.net", name="Outsider")
    personal = cs.join_organisation(world.carol.id, organisation=world.trust.id)
    cs.request_to_join(world.bob.id, workspace=world.ward.id)
    seen = {
        cs.standing(outsider.id, workspace=world.ward.id),
        cs.standing(world.carol.id, workspace=world.ward.id),
        cs.standing(world.bob.id, workspace=world.ward.id),
        cs.standing(world.alice.id, workspace=world.ward.id),
        cs.standing(world.carol.id, workspace=personal.id),
    }
    cs.approve(actor=world.alice.id, workspace=world.ward.id, user=world.bob.id)
    seen.add(cs.standing(world.bob.id, workspace=world.ward.id))
    cs.archive_member(actor=world.alice.id, workspace=world.ward.id, user=world.bob.id)
    seen.add(cs.standing(world.bob.id, workspace=world.ward.id))
    assert seen == set(Standing)
    # Role and MemberStatus.
    cs.request_to_join(world.carol.id, workspace=world.ward.id)
    listing = cs.members(world.alice.id, workspace=world.ward.id)
    assert {m.role for m in listing if m.status is not MemberStatus.ARCHIVED} == set(Role)
    assert {m.status for m in listing} == set(MemberStatus)
    # InviteStatus: pending, revoked, accepted, expired (as looked up now).
    pending = cs.invite(actor=world.alice.id, workspace=world.ward.id, email="p@nhs.net")
    revoked = cs.revoke_invite(world.alice.id, invite=pending.id)
    accepted = cs.invite(actor=world.alice.id, workspace=world.ward.id, email="a@nhs.net")
    cs.accept_invite(cs.register_user(email="a@nhs.net", name="A").id, invite=accepted.id)
    expiring = cs.invite(actor=world.alice.id, workspace=world.ward.id, email="e@nhs.net")
    assert cs.invite_details(world.alice.id, invite=expiring.id).status is InviteStatus.PENDING
    world.clock.advance(datetime.timedelta(days=15))
    statuses = {pending.status, revoked.status}
    statuses |= {cs.invite_details(world.alice.id, invite=i.id).status for i in (accepted, expiring)}
    assert statuses == set(InviteStatus)
    # JoinOutcome: all four.
    outcomes = {cs.join_example(actor=world.alice.id, organisation=world.trust.id, speciality=320).outcome}
    outcomes.add(cs.join_example(actor=world.carol.id, organisation=world.trust.id, speciality=320).outcome)
    outcomes.add(cs.request_to_join(world.alice.id, workspace=world.ward.id).outcome)
    invite = cs.invite(actor=world.alice.id, workspace=world.ward.id, email="late@nhs.net")
    outcomes.add(cs.accept_invite(cs.register_user(email="late@nhs.net", name="Late").id, invite=invite.id).outcome)
    assert outcomes == set(JoinOutcome)
    # WorkspaceStatus: archived after the last member leaves.
    solo = cs.create_workspace(actor=world.alice.id, organisation=world.trust.id, name="Solo", speciality=100).workspace
    cs.leave(world.alice.id, workspace=solo.id)
    assert {solo.status, cs.join_example(actor=world.alice.id, organisation=world.trust.id, speciality=100).workspace.status} == {WorkspaceStatus.ACTIVE}
    archived = [e for e in cs.events_since() if e.type == "workspace_archived"]
    assert archived and archived[-1].payload == {"workspace": str(solo.id)}
    # Approvers and Durability are accepted by the constructors.
    for approvers in carespace.Approvers:
        carespace.Carespace.in_memory(approvers=approvers)


def test_durability_values_open_a_file(tmp_path: object) -> None:
    import pathlib

    base = pathlib.Path(str(tmp_path))
    for durability in carespace.Durability:
        cs = carespace.Carespace.open(base / f"{durability.value}.sqlite3", durability=durability)
        cs.register_user(email="x@nhs.net", name="X")
    with pytest.raises(ValueError):
        carespace.Carespace.open(base / "bad.sqlite3", durability="sometimes")
