"""R43 from Python: every list comes in pages; a page follows its cursors; bad limits and
cursors are typed errors; the permission check applies to every page."""

from __future__ import annotations

import pytest

import carespace
from carespace import MemberStatus

from conftest import World


def busy(w: World, people: int) -> None:
    """Adds `people` approved members to the ward, and as many requests and invites."""
    for i in range(people):
        member = w.cs.register_user(email=f"member.{i}@nhs.net", name=f"Member {i:03}")
        w.cs.join_organisation(member.id, organisation=w.trust.id)
        w.cs.request_to_join(member.id, workspace=w.ward.id)
        w.cs.approve(actor=w.alice.id, workspace=w.ward.id, user=member.id)
        w.cs.invite(actor=w.alice.id, workspace=w.ward.id, email=f"invited.{i}@nhs.uk")


def test_r43_pages_by_cursor_equal_following_them(world: World) -> None:
    w = world
    busy(w, 60)
    listings = {
        "members": lambda **page: w.cs.members(w.alice.id, workspace=w.ward.id, **page),
        "discover": lambda **page: w.cs.discover(w.bob.id, organisation=w.trust.id, **page),
        "pending_invites": lambda **page: w.cs.pending_invites(w.alice.id, workspace=w.ward.id, **page),
        "membership_history": lambda **page: w.cs.membership_history(w.ward.id, **page),
    }
    for name, listing in listings.items():
        followed = list(listing(limit=7).follow())
        by_hand: list[object] = []
        cursor = None
        while True:
            page = listing(limit=7, cursor=cursor)
            assert len(page) <= 7, name
            by_hand += page.items
            cursor = page.next_cursor
            if cursor is None:
                break
        assert by_hand == followed, name
        assert len(followed) >= 60, name
        by_next: list[object] = []
        current: carespace.Page[object] | None = listing()
        while current is not None:
            by_next += list(current)
            current = current.next_page()
        assert by_next == followed, name
    members = list(w.cs.members(w.alice.id, workspace=w.ward.id).follow())
    assert len({m.user.id for m in members}) == len(members) == 1 + 60, "Alice and sixty: each once"
    assert all(m.status is MemberStatus.APPROVED for m in members)


def test_r43_a_page_is_a_sequence_with_a_default_size(world: World) -> None:
    page = world.cs.discover(world.bob.id, organisation=world.trust.id)
    assert len(page) == 50 and page.next_cursor
    assert page[0] == page.items[0] and page[-1] == page.items[-1]
    with pytest.raises(IndexError):
        page[50]
    assert "more follow" in repr(page)
    last = world.cs.pending_requests(world.alice.id)
    assert len(last) == 0 and last.next_cursor is None and last.next_page() is None
    assert "the last" in repr(last)


def test_r43_bad_limits_and_foreign_cursors_are_typed_errors(world: World) -> None:
    w = world
    busy(w, 3)
    members = w.cs.members(w.alice.id, workspace=w.ward.id, limit=2)
    with pytest.raises(carespace.InvalidLimitError):
        w.cs.members(w.alice.id, workspace=w.ward.id, limit=1001)
    with pytest.raises(carespace.InvalidLimitError):
        w.cs.discover(w.bob.id, organisation=w.trust.id, limit=0)
    # A cursor of another list, another workspace, or made up.
    other = w.cs.create_workspace(w.alice.id, organisation=w.trust.id, name="Ward 9", speciality=501).workspace
    for refused in [
        lambda: w.cs.discover(w.bob.id, organisation=w.trust.id, cursor=members.next_cursor),
        lambda: w.cs.members(w.alice.id, workspace=other.id, cursor=members.next_cursor),
        lambda: w.cs.members(w.alice.id, workspace=w.ward.id, cursor="not a cursor"),
    ]:
        with pytest.raises(carespace.InvalidCursorError):
            refused()
    # Someone who may not see the list gets no page of it, cursor or not.
    outsider = w.cs.register_user(email="out@nhs.net", name="Out Sider")
    with pytest.raises(carespace.ForbiddenError):
        w.cs.members(outsider.id, workspace=w.ward.id, cursor=members.next_cursor)


def test_r43_following_reads_each_page_when_it_is_reached(world: World) -> None:
    w = world
    busy(w, 3)
    follow = w.cs.members(w.alice.id, workspace=w.ward.id, limit=2).follow()
    first = [next(follow), next(follow)]
    # A member who joins after the first page is read appears on a later one.
    late = w.cs.register_user(email="zed@nhs.net", name="Zed Last")
    w.cs.join_organisation(late.id, organisation=w.trust.id)
    w.cs.request_to_join(late.id, workspace=w.ward.id)
    rest = list(follow)
    assert [m.user.name for m in first + rest][-1] == "Zed Last"
    w.cs.close()
    with pytest.raises(carespace.ClosedError):
        w.cs.members(w.alice.id, workspace=w.ward.id)
