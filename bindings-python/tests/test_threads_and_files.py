"""One Carespace object shared by Python threads, the GIL released while the store
works, and a file database reopened by a new object."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import threading
import time

import carespace
from carespace import JoinOutcome, MemberStatus, OrganisationKind


def test_threads_share_one_object() -> None:
    cs = carespace.Carespace.in_memory()
    trust = cs.register_organisation(name="Trust", kind=OrganisationKind.NHS_TRUST)
    admin = cs.register_user(email="admin@nhs.net", name="Admin")
    cs.join_organisation(admin.id, organisation=trust.id)
    ward = cs.create_workspace(actor=admin.id, organisation=trust.id, name="Ward", speciality=501).workspace
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(20):
                user = cs.register_user(email=f"t{n}u{i}@nhs.net", name=f"Thread {n} User {i}")
                cs.join_organisation(user.id, organisation=trust.id)
                assert cs.request_to_join(user.id, workspace=ward.id).outcome is JoinOutcome.REQUESTED
                assert cs.approve(actor=admin.id, workspace=ward.id, user=user.id).status is MemberStatus.APPROVED
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(list(cs.members(admin.id, workspace=ward.id).follow())) == 1 + 8 * 20
    events = cs.events_since(limit=10_000)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


HOLD_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("COMMIT")
"""


def test_the_gil_is_released_while_the_store_waits(tmp_path: pathlib.Path) -> None:
    """A command blocked on SQLite's write lock, held by another process, must not hold
    the GIL: the main thread keeps running Python code meanwhile, then lets the other
    process commit, and the command completes. (The lock must come from another process:
    POSIX locks never conflict within one.)"""
    path = tmp_path / "gil.sqlite3"
    cs = carespace.Carespace.open(path)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline().strip() == "locked"
    done = threading.Event()
    result: list[object] = []

    def register() -> None:
        result.append(cs.register_user(email="waiting@nhs.net", name="Waiting"))
        done.set()

    worker = threading.Thread(target=register)
    worker.start()
    ticks = 0
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:  # Python work while the command waits for the lock
        ticks += 1
    assert not done.is_set(), "the command waits for the other process's write lock"
    holder.stdin.write("\n")
    holder.stdin.flush()
    worker.join(timeout=10)
    assert holder.wait(timeout=10) == 0
    assert done.is_set() and result and isinstance(result[0], carespace.User)
    assert ticks > 1000, "the main thread ran Python code while the command was blocked in Rust"


def test_a_file_database_is_reopened_by_a_new_object(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "workspaces.sqlite3"
    first = carespace.Carespace.open(path)
    trust = first.register_organisation(name="Trust", kind="nhs_trust", ods_code="RWK")
    alice = first.register_user(email="alice@nhs.net", name="Alice")
    first.join_organisation(alice.id, organisation=trust.id)
    ward = first.create_workspace(actor=alice.id, organisation=trust.id, name="Ward", speciality=501).workspace
    del first
    second = carespace.Carespace.open(str(path))
    assert second.organisation_by_ods("RWK") == trust
    assert second.signature(ward.id) == "Ward\nTrust"
    assert [e.type for e in second.events_since()][-1] == "my_workspace_archived"
    assert repr(second).startswith("Carespace.open(")
