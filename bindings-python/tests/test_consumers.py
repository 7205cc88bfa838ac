"""R42 from Python: consumers receive after their position until they acknowledge, and a
wait wakes when another thread commits."""

from __future__ import annotations

import threading
import time

import pytest

import carespace
from conftest import make_world


def test_r42_received_again_until_acknowledged_never_after() -> None:
    w = make_world()
    assert w.cs.register_consumer("emails") == 0
    first = w.cs.receive("emails", limit=3)
    assert [e.seq for e in first] == [1, 2, 3]
    assert w.cs.receive("emails", limit=3) == first
    assert w.cs.acknowledge(consumer="emails", seq=first[-1].seq) == 3
    assert [e.seq for e in w.cs.receive("emails", limit=2)] == [4, 5]
    with pytest.raises(carespace.AcknowledgementOutOfRangeError) as caught:
        w.cs.acknowledge(consumer="emails", seq=2)
    assert (caught.value.acknowledged, caught.value.head) == (3, w.cs.head())
    with pytest.raises(carespace.NotFoundError):
        w.cs.receive("nobody")
    with pytest.raises(ValueError):
        w.cs.register_consumer("two words")
    # A consumer started at the head sees only what follows.
    assert w.cs.register_consumer("audit", start="head") == w.cs.head()
    assert w.cs.receive("audit") == []


def test_r42_a_wait_wakes_when_another_thread_commits() -> None:
    w = make_world()
    head = w.cs.head()
    assert not w.cs.wait_for_event(after=head, timeout=0.05)
    writer = threading.Timer(0.1, lambda: w.cs.register_user(email="late@nhs.net", name="Late"))
    writer.start()
    started = time.monotonic()
    assert w.cs.wait_for_event(after=head, timeout=10)
    assert time.monotonic() - started < 5
    writer.join()
