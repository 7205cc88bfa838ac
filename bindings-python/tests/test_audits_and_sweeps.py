"""Point-in-time access (R37), the sweep (R38) and time-boxed memberships (R39) from Python."""

from __future__ import annotations

import datetime
import pathlib
import threading

import pytest

import carespace
from carespace import Action, Sight

from conftest import START, World, make_world

DAY = datetime.timedelta(days=1)


def test_r37_who_could_see_a_ward_and_what_a_person_could_see_then(world: World) -> None:
    cs, clock, w = world.cs, world.clock, world
    cs.request_to_join(w.bob.id, workspace=w.ward.id)
    clock.advance(DAY)
    cs.approve(actor=w.alice.id, workspace=w.ward.id, user=w.bob.id)
    clock.advance(DAY)
    cs.leave(w.bob.id, workspace=w.ward.id)

    def viewers(at: datetime.datetime) -> list[tuple[str, Sight]]:
        return [(v.person.name, v.sight) for v in cs.viewers_at(workspace=w.ward.id, at=at)]

    assert viewers(START) == [("Alice Smith", Sight.ADMIN)]
    assert viewers(START + DAY) == [("Alice Smith", Sight.ADMIN), ("Bob Jones", Sight.MEMBER)]
    assert viewers(START + 2 * DAY) == [("Alice Smith", Sight.ADMIN)]
    bob_then = cs.workspaces_visible_at(user=w.bob.id, at=START + DAY + datetime.timedelta(hours=1))
    assert [(v.name, v.sight) for v in bob_then] == [("Maternity - Ward 2", Sight.MEMBER), ("My Workspace", Sight.OWNER)]
    assert bob_then[0].since == START + DAY
    history = cs.membership_history(w.ward.id)
    assert [(e.type, e.actor) for e in history] == [
        ("workspace_created", w.alice.id),
        ("join_requested", w.bob.id),
        ("join_approved", w.alice.id),
        ("member_left", w.bob.id),
    ]
    with pytest.raises(carespace.NotFoundError):
        cs.viewers_at(workspace="01900000-0000-7000-8000-000000000001", at=START)


def test_r37_answers_about_the_past_do_not_change(world: World) -> None:
    cs, w = world.cs, world
    cs.request_to_join(w.bob.id, workspace=w.ward.id)
    cs.approve(actor=w.alice.id, workspace=w.ward.id, user=w.bob.id)
    before = cs.viewers_at(workspace=w.ward.id, at=START)
    world.clock.advance(DAY)
    cs.promote(actor=w.alice.id, workspace=w.ward.id, user=w.bob.id)
    cs.leave(w.alice.id, workspace=w.ward.id)
    assert cs.viewers_at(workspace=w.ward.id, at=START) == before
    assert [v.person.id for v in cs.viewers_at(workspace=w.ward.id, at=START + DAY)] == [w.bob.id]


def test_r38_sweep_expires_invites_and_escalates_requests_once() -> None:
    w = make_world(escalate_after=datetime.timedelta(days=2))
    cs = w.cs
    invite = cs.invite(actor=w.alice.id, workspace=w.ward.id, email="dan@nhs.net")
    cs.request_to_join(w.bob.id, workspace=w.ward.id)
    assert cs.sweep(START + DAY).is_empty()
    swept = cs.sweep(START + 2 * DAY)
    assert (swept.requests_escalated, swept.invites_expired) == (1, 0)
    escalated = cs.events_since(after=0, limit=1000)[-1]
    assert escalated.type == "join_request_escalated"
    assert escalated.actor is None
    assert escalated.payload["approvers"] == [str(w.alice.id)]
    swept = cs.sweep(START + 14 * DAY)
    assert (swept.invites_expired, swept.requests_escalated) == (1, 0)
    assert cs.invite_details(w.alice.id, invite=invite.id).status is carespace.InviteStatus.EXPIRED
    assert cs.sweep(START + 14 * DAY).is_empty(), "the same now again changes nothing"


def test_r38_concurrent_sweeps_on_one_file_do_each_effect_once(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "ward.sqlite3"
    cs = carespace.Carespace.open(path)
    trust = cs.register_organisation(name="Trust", kind="nhs_trust")
    alice = cs.register_user(email="alice@nhs.net", name="Alice Smith")
    cs.join_organisation(alice.id, organisation=trust.id)
    ward = cs.create_workspace(actor=alice.id, organisation=trust.id, name="Ward 1", speciality=501).workspace
    for n in range(6):
        cs.invite(actor=alice.id, workspace=ward.id, email=f"invitee{n}@nhs.net")
    later = datetime.datetime.now(datetime.timezone.utc) + 20 * DAY
    results: list[carespace.Swept] = []
    barrier = threading.Barrier(4)

    def sweeper() -> None:
        mine = carespace.Carespace.open(path)
        barrier.wait()
        results.append(mine.sweep(later))

    threads = [threading.Thread(target=sweeper) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.invites_expired for r in results) == 6
    assert sum(1 for e in cs.events_since(after=0, limit=1000) if e.type == "invite_expired") == 6


def test_r39_end_dates_reminders_and_archival(world: World) -> None:
    cs, w = world.cs, world
    cs.request_to_join(w.bob.id, workspace=w.ward.id)
    cs.approve(actor=w.alice.id, workspace=w.ward.id, user=w.bob.id)
    assert cs.can(actor=w.alice.id, workspace=w.ward.id, action=Action.SET_MEMBERSHIP_END)
    assert not cs.can(actor=w.bob.id, workspace=w.ward.id, action="set_membership_end")
    with pytest.raises(carespace.ForbiddenError):
        cs.set_membership_end(actor=w.bob.id, workspace=w.ward.id, user=w.alice.id, ends_at=START + 30 * DAY)
    with pytest.raises(carespace.EndDateNotInFutureError) as err:
        cs.set_membership_end(actor=w.alice.id, workspace=w.ward.id, user=w.bob.id, ends_at=START)
    assert err.value.ends_at == START  # type: ignore[attr-defined]
    m = cs.set_membership_end(actor=w.alice.id, workspace=w.ward.id, user=w.bob.id, ends_at=START + 30 * DAY)
    assert m.ends_at == START + 30 * DAY
    assert [x.ends_at for x in cs.members(w.alice.id, workspace=w.ward.id) if x.user.id == w.bob.id] == [START + 30 * DAY]
    assert cs.sweep(START + 23 * DAY).end_reminders == 1
    assert cs.sweep(START + 30 * DAY).memberships_ended == 1
    *_, archived, mine = cs.events_since(after=0, limit=1000)
    assert (archived.type, archived.payload["reason"]) == ("member_archived", "membership_ended")
    # R41: that was Bob's last membership there, so his My Workspace is back.
    assert (mine.type, mine.payload["user"]) == ("my_workspace_reactivated", str(w.bob.id))
    assert cs.standing(w.bob.id, workspace=w.ward.id) is carespace.Standing.ARCHIVED


def test_r39_the_last_admin_is_kept_and_told(world: World) -> None:
    cs, w = world.cs, world
    cs.set_membership_end(actor=w.alice.id, workspace=w.ward.id, user=w.alice.id, ends_at=START + DAY)
    swept = cs.sweep(START + DAY)
    assert (swept.last_admins_kept, swept.memberships_ended) == (1, 0)
    assert cs.events_since(after=0, limit=1000)[-1].type == "last_admin_kept"
    assert cs.standing(w.alice.id, workspace=w.ward.id) is carespace.Standing.ADMIN
    cleared = cs.set_membership_end(actor=w.alice.id, workspace=w.ward.id, user=w.alice.id, ends_at=None)
    assert cleared.ends_at is None


def test_r37_an_event_time_read_in_python_is_that_instant() -> None:
    # The system clock keeps whole microseconds, which a datetime holds exactly: asking
    # about the instant of an approval includes the approval.
    cs = carespace.Carespace.in_memory()
    trust = cs.register_organisation(name="Trust", kind="nhs_trust")
    alice, bob = cs.register_user(email="alice@nhs.net", name="Alice"), cs.register_user(email="bob@nhs.net", name="Bob")
    for user in (alice, bob):
        cs.join_organisation(user.id, organisation=trust.id)
    ward = cs.create_workspace(actor=alice.id, organisation=trust.id, name="Ward 1", speciality=501).workspace
    cs.request_to_join(bob.id, workspace=ward.id)
    cs.approve(actor=alice.id, workspace=ward.id, user=bob.id)
    approved = cs.membership_history(ward.id)[-1]
    assert approved.type == "join_approved"
    assert {v.person.name for v in cs.viewers_at(workspace=ward.id, at=approved.at)} == {"Alice", "Bob"}
