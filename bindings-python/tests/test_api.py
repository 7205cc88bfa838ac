"""The shape of the Python API (issue 16): one argument style, closing and ``with``,
values that copy and pickle, and the event types listed for type checkers."""

from __future__ import annotations

import copy
import inspect
import pickle
import typing
from pathlib import Path

import pytest

import carespace
from carespace import MemberStatus

from conftest import World


def test_the_actor_is_positional_and_everything_else_keyword_only() -> None:
    for name, method in inspect.getmembers(carespace.Carespace, callable):
        if name.startswith("_") or name in {"open", "in_memory", "close"}:
            continue
        params = list(inspect.signature(method).parameters.values())[1:]
        positional = [p.name for p in params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
        keyword = [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]
        if "actor" in positional + keyword:
            assert positional == ["actor"], f"{name}: only the actor is positional, not {positional}"
        else:
            # One argument by position; after it, only options with defaults.
            required = [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is p.empty]
            assert len(positional) <= 1 and (not positional or not required), f"{name}: {positional} {required}"
    with pytest.raises(TypeError):
        carespace.Carespace.in_memory().register_user("a@nhs.net", "A")  # type: ignore[misc]


def test_close_and_with_release_the_store(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    with carespace.Carespace.open(path) as cs:
        alice = cs.register_user(email="alice@nhs.net", name="Alice Smith")
    assert repr(cs).startswith("<closed Carespace.open(")
    with pytest.raises(carespace.ClosedError, match="is closed") as caught:
        cs.user(alice.id)
    assert isinstance(caught.value, ValueError)
    cs.close()  # again: harmless
    # The file is released: it reopens with what was written.
    with carespace.Carespace.open(path) as again:
        assert again.user(alice.id) == alice
    # An exception in the block propagates, and the object is closed all the same.
    with pytest.raises(KeyError):
        with carespace.Carespace.in_memory() as other:
            raise KeyError("boom")
    with pytest.raises(carespace.ClosedError):
        other.events_since()


def test_values_copy_deepcopy_and_pickle(world: World) -> None:
    w = world
    w.cs.request_to_join(w.bob.id, workspace=w.ward.id)
    values: list[object] = [
        w.trust,
        w.alice,
        w.ward,
        w.cs.membership(w.bob.id, workspace=w.ward.id, user=w.bob.id),
        w.cs.invite(w.alice.id, workspace=w.ward.id, email="new@nhs.net"),
        w.cs.start_conversation(w.bob.id, workspace=w.ward.id),
        w.cs.members(w.alice.id, workspace=w.ward.id)[0],
        w.cs.my_workspaces(w.bob.id)[0],
        w.cs.discover(w.bob.id, organisation=w.trust.id)[0],
        w.cs.pending_requests(w.alice.id)[0],
        w.cs.sweep(w.clock.now()),
        w.cs.leave(w.bob.id, workspace=w.ward.id),
        *w.cs.events_since(),
    ]
    native = carespace._carespace
    # Not values: the service, its clock, a list's page and its iterator, a consumer's.
    classes = {n for n in dir(native) if isinstance(getattr(native, n), type)} - {
        "Carespace",
        "ManualClock",
        "Page",
        "Follow",
        "Consumption",
    }
    assert set(native.VALUE_CLASSES) == classes, "every value class pickles"
    for value in values:
        for twin in (copy.copy(value), copy.deepcopy(value), pickle.loads(pickle.dumps(value))):
            assert type(twin) is type(value) and twin == value and hash(twin) == hash(value), repr(value)
    member = w.cs.membership(w.alice.id, workspace=w.ward.id, user=w.alice.id)
    assert member is not None and pickle.loads(pickle.dumps(member)).status is MemberStatus.APPROVED
    # A tampered pickle is refused with a ValueError, not a crash.
    with pytest.raises(ValueError, match="cannot restore a carespace.User"):
        carespace._carespace._restore("User", '{"id": "not a uuid"}')
    with pytest.raises(ValueError, match="not a carespace value class"):
        carespace._carespace._restore("Nope", "{}")


def test_event_types_are_listed_for_type_checkers(world: World) -> None:
    assert list(typing.get_args(carespace.EventType)) == carespace.EVENT_TYPES
    assert {e.type for e in world.cs.events_since()} <= set(carespace.EVENT_TYPES)
