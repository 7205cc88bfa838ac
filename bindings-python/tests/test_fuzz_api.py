"""Hypothesis drives one Carespace object with random sequences of calls (issue 22).

Every public method is called by its own parameter names with values of any type — real
ids from the world, random ones, numbers out of every range, odd text, naive and far-off
datetimes, enums of the wrong kind — or with parameters missing, extra or passed the
wrong way. Only Carespace's own errors, ``TypeError`` and ``ValueError`` may come out;
anything else, or a crash, fails. After each sequence the object still answers and its
event log is gap-free (a failed call wrote nothing half-way).

``CARESPACE_FUZZ_EXAMPLES`` sets how many sequences run (a short run in ``make test``,
a long one in ``make fuzz``). Not driven: the constructors ``open``, ``connect`` and
``in_memory`` (they make other objects, and a random URL could reach any host),
``close`` (it ends the sequence's object),
``wait_for_event`` and ``consume`` (they block for as long as they are told), and
``import_organisations`` (a random path could name a device that never ends, such as
``/dev/zero``; the ODS parser has its own Rust fuzz target).
"""

from __future__ import annotations

import datetime
import inspect
import os
import uuid
from typing import Any, Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import carespace

from conftest import make_world

EXAMPLES = int(os.environ.get("CARESPACE_FUZZ_EXAMPLES", "150"))
NOT_DRIVEN = {"close", "wait_for_event", "consume", "import_organisations", "open", "connect", "in_memory"}
ALLOWED = (carespace.CarespaceError, TypeError, ValueError)

WORLD = make_world()
METHODS = sorted(
    name for name in dir(WORLD.cs) if not name.startswith("_") and name not in NOT_DRIVEN and callable(getattr(WORLD.cs, name))
)
ENUMS = [member for name in dir(carespace) for member in getattr(getattr(carespace, name), "__members__", {}).values()]


def values(ids: list[Any]) -> st.SearchStrategy[Any]:
    """Any value a caller might pass, well-typed or not."""
    utc = datetime.timezone.utc
    scalars = st.one_of(
        st.sampled_from(ids),
        st.sampled_from([str(i) for i in ids]),
        st.uuids(),
        st.integers(),
        st.integers(min_value=-2, max_value=1100),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=40),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
        st.sampled_from(["alice@nhs.net", "x@NHS.UK", "bob@nhs.net ", "", "head", "beginning", "admin", "emails", "RWK", "Ward 3"]),
        st.binary(max_size=20),
        st.booleans(),
        st.none(),
        st.datetimes(timezones=st.none() | st.just(utc)),
        st.datetimes(min_value=datetime.datetime(2026, 1, 1), max_value=datetime.datetime(2027, 1, 1), timezones=st.just(utc)),
        st.sampled_from(ENUMS),
    )
    return st.one_of(scalars, st.lists(scalars, max_size=3), st.dictionaries(st.text(max_size=5), scalars, max_size=2))


def suited(parameter: str, ids: list[Any]) -> st.SearchStrategy[Any]:
    """A value of the kind the parameter's name asks for, so that calls get past the
    type checks into the rules (edge values included)."""
    utc = datetime.timezone.utc
    kinds: dict[str, st.SearchStrategy[Any]] = {
        "email": st.sampled_from(["alice@nhs.net", "bob@nhs.net", "dan@nhs.net", "new@elft.nhs.uk", "x@gmail.com"]),
        "name": st.sampled_from(["Ward 3", "Maternity - Ward 2", "General", "emails", "a" * 200, "", " "]),
        "speciality": st.sampled_from([100, 101, 300, 501, 560, 600, 999, 0, -1, 2**16]),
        "kind": st.sampled_from(list(carespace.OrganisationKind)),
        "action": st.sampled_from(list(carespace.Action)),
        "limit": st.integers(-1, 1001),
        "after": st.integers(-1, 60),
        "seq": st.integers(-1, 60),
        "strict": st.booleans(),
        "start": st.sampled_from(["beginning", "head", "middle"]),
        "cursor": st.none() | st.text(max_size=30),
        "description": st.text(max_size=50),
        "consumer": st.sampled_from(["emails", "audit", "two words"]),
        "ods_code": st.none() | st.sampled_from(["RWK", "rj1", "X" * 20]),
        "code": st.sampled_from(["RWK", "rj1", ""]),
    }
    if parameter in kinds:
        return kinds[parameter]
    if parameter in ("at", "now", "ends_at"):
        return st.datetimes(
            min_value=datetime.datetime(2025, 1, 1), max_value=datetime.datetime(2028, 1, 1), timezones=st.just(utc)
        ) | st.none()
    return st.sampled_from(ids)


@st.composite
def call(draw: Callable[..., Any], ids: list[Any]) -> tuple[str, list[Any], dict[str, Any]]:
    """A method and arguments for it: mostly by its own parameter names."""
    name = draw(st.sampled_from(METHODS))
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    try:
        parameters = list(inspect.signature(getattr(WORLD.cs, name)).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    for p in parameters:
        if draw(st.integers(0, 19)) == 0:
            continue  # left out
        value = draw(suited(p.name, ids) if draw(st.integers(0, 9)) else values(ids))
        if p.kind is p.POSITIONAL_ONLY or (p.kind is p.POSITIONAL_OR_KEYWORD and draw(st.booleans())):
            args.append(value)
        else:
            kwargs[p.name] = value
    if draw(st.integers(0, 19)) == 0:
        kwargs[draw(st.text(min_size=1, max_size=8))] = draw(values(ids))
    if draw(st.integers(0, 19)) == 0:
        args.append(draw(values(ids)))
    return name, args, kwargs


def world_ids() -> tuple[carespace.Carespace, list[Any]]:
    w = make_world()
    invite = w.cs.invite(w.alice.id, workspace=w.ward.id, email="dan@nhs.net")
    return w.cs, [w.trust.id, w.alice.id, w.bob.id, w.carol.id, w.ward.id, invite.id, uuid.uuid4()]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_r35_random_calls_raise_only_carespace_type_and_value_errors(data: st.DataObject) -> None:
    cs, ids = world_ids()
    for _ in range(data.draw(st.integers(1, 25))):
        name, args, kwargs = data.draw(call(ids))
        try:
            result = getattr(cs, name)(*args, **kwargs)
        except ALLOWED:
            continue
        # What came back must be usable: printing it reads every field.
        repr(result)
    events = cs.events_since(after=0, limit=10_000)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert cs.head() == len(events)
