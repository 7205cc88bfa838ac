"""Shared fixtures: a fresh service with a trust and a few staff."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest

import carespace
from carespace import OrganisationKind

START = datetime.datetime(2026, 3, 3, 9, 0, tzinfo=datetime.timezone.utc)


@dataclass
class World:
    cs: carespace.Carespace
    clock: carespace.ManualClock
    trust: carespace.Organisation
    alice: carespace.User
    bob: carespace.User
    carol: carespace.User
    ward: carespace.Workspace


def make_world(**policy: object) -> World:
    clock = carespace.ManualClock(START)
    cs = carespace.Carespace.in_memory(clock=clock, **policy)  # type: ignore[arg-type]
    trust = cs.register_organisation(name="East London NHS Foundation Trust", kind=OrganisationKind.NHS_TRUST, ods_code="RWK")
    people = []
    for email, name in [("alice@nhs.net", "Alice Smith"), ("bob@nhs.net", "Bob Jones"), ("carol@elft.nhs.uk", "Carol White")]:
        user = cs.register_user(email=email, name=name)
        cs.join_organisation(user.id, organisation=trust.id)
        people.append(user)
    alice, bob, carol = people
    ward = cs.create_workspace(actor=alice.id, organisation=trust.id, name="Maternity - Ward 2", speciality=501).workspace
    return World(cs, clock, trust, alice, bob, carol, ward)


@pytest.fixture
def world() -> World:
    return make_world()
