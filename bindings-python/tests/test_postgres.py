"""Carespace on PostgreSQL from Python: `Carespace.connect`, TLS from the connection
string, two processes racing on one database, and asyncio through `asyncio.to_thread`.

`make test-python` runs these against a throwaway cluster (CARESPACE_PG_URL and its TLS
settings); without one they fail rather than skip."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid

import pytest

import carespace
from carespace import OrganisationKind


def env(name: str) -> str:
    value = os.environ.get(name)
    assert value, f"set {name} (make test-python starts a throwaway PostgreSQL cluster and sets it)"
    return value


def fresh_schema() -> str:
    return f"py_{uuid.uuid4().hex[:12]}"


def tcp_url(tls: str) -> str:
    port = env("CARESPACE_PG_TLS_PORT")
    return f"host=localhost port={port} user=postgres dbname=postgres {tls}"


def test_connect_runs_the_service_on_postgresql() -> None:
    schema = fresh_schema()
    with carespace.Carespace.connect(env("CARESPACE_PG_URL"), schema=schema, pool_size=4) as cs:
        assert repr(cs) == f'Carespace.connect(…, schema="{schema}")'
        trust = cs.register_organisation(name="Barts Health NHS Trust", kind=OrganisationKind.NHS_TRUST)
        alice = cs.register_user(email="alice@nhs.net", name="Alice Smith")
        cs.join_organisation(alice.id, organisation=trust.id)
        ward = cs.create_workspace(alice.id, organisation=trust.id, name="Maternity - Ward 2", speciality=501).workspace
        assert cs.signature(ward.id) == "Maternity - Ward 2\nBarts Health NHS Trust"
        with pytest.raises(carespace.WorkspaceNameTakenError):
            cs.create_workspace(alice.id, organisation=trust.id, name="maternity - ward 2", speciality=501)
        events = cs.events_since()
        assert [e.type for e in events][:4] == ["organisation_registered", "user_registered", "organisation_joined", "workspace_created"]
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
    # The same schema from a new connection: everything is there.
    with carespace.Carespace.connect(env("CARESPACE_PG_URL"), schema=schema) as again:
        assert again.events_since() == events
    with pytest.raises(carespace.ClosedError):
        cs.head()


def test_tls_comes_from_the_connection_string() -> None:
    tls = env("CARESPACE_PG_TLS_DIR")
    schema = fresh_schema()
    verified = tcp_url(f"sslmode=verify-full sslrootcert={tls}/ca.crt")
    with carespace.Carespace.connect(verified, schema=schema) as cs:
        cs.register_user(email="alice@nhs.net", name="Alice Smith")
    # A CA that did not sign the server's certificate: refused, saying why, typed.
    wrong = tcp_url(f"sslmode=verify-full sslrootcert={tls}/other-ca.crt")
    with pytest.raises(carespace.StorageError) as refused:
        carespace.Carespace.connect(wrong, schema=schema, connect_timeout=5)
    assert "certificate" in str(refused.value)
    with pytest.raises(carespace.StorageError):
        carespace.Carespace.connect("host=/nonexistent/socket/dir port=1 user=x dbname=x", connect_timeout=1)
    with pytest.raises(ValueError):
        carespace.Carespace.connect(env("CARESPACE_PG_URL"), connect_timeout=-1)


RACER = """
import json, sys, time
import carespace
url, schema, org, user, start = sys.argv[1:6]
with carespace.Carespace.connect(url, schema=schema, pool_size=2) as cs:
    while time.time() < float(start):
        time.sleep(0.001)
    outcomes = {}
    for code, _ in carespace.specialities()[:20]:
        outcomes[code] = cs.join_example(user, organisation=org, speciality=code).outcome.value
print(json.dumps(outcomes))
"""


def test_r9_two_processes_joining_the_same_examples_create_each_once() -> None:
    url, schema = env("CARESPACE_PG_URL"), fresh_schema()
    with carespace.Carespace.connect(url, schema=schema) as cs:
        trust = cs.register_organisation(name="Barts Health NHS Trust", kind=OrganisationKind.NHS_TRUST)
        people = [cs.register_user(email=f"p{i}@nhs.net", name=f"Person {i}") for i in range(2)]
        for person in people:
            cs.join_organisation(person.id, organisation=trust.id)
        start = time.time() + 2.0
        racers = [
            subprocess.Popen(
                [sys.executable, "-c", RACER, url, schema, str(trust.id), str(person.id), str(start)],
                stdout=subprocess.PIPE,
                text=True,
            )
            for person in people
        ]
        results = []
        for racer in racers:
            out, _ = racer.communicate(timeout=120)
            assert racer.returncode == 0
            results.append(json.loads(out))
        for code, _ in carespace.specialities()[:20]:
            outcomes = sorted(result[str(code)] for result in results)
            assert outcomes == ["created", "requested"], (code, outcomes)
        workspaces = list(cs.discover(people[0].id, organisation=trust.id, limit=1000))
        created = [w for w in workspaces if w.workspace is not None]
        assert len(created) == 20
        events = cs.events_since(limit=10_000)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))


def test_asyncio_callers_use_to_thread_and_the_loop_keeps_running() -> None:
    async def main() -> None:
        with carespace.Carespace.connect(env("CARESPACE_PG_URL"), schema=fresh_schema()) as cs:
            users = await asyncio.gather(
                *(asyncio.to_thread(cs.register_user, email=f"a{i}@nhs.net", name=f"Async {i}") for i in range(20))
            )
            assert len({u.id for u in users}) == 20
            # A long wait runs off the loop (the GIL is released): other tasks go on.
            ticks = 0

            async def ticker() -> None:
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.02)
                    ticks += 1

            task = asyncio.create_task(ticker())
            woke = await asyncio.to_thread(cs.wait_for_event, after=cs.head(), timeout=0.5)
            task.cancel()
            assert not woke
            assert ticks >= 10, ticks

    asyncio.run(main())
