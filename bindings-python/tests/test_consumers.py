"""R42 from Python: consumers receive after their position until they acknowledge, and a
wait wakes when another thread commits."""

from __future__ import annotations

import _thread
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


def test_r42_consume_iterates_waits_and_gives_back_what_was_not_acknowledged() -> None:
    w = make_world()
    head = w.cs.head()
    w.cs.register_consumer("emails")
    events = w.cs.consume("emails", limit=2, timeout=0.05)
    assert events.name == "emails" and repr(events) == 'Consumption("emails")'
    seen = []
    for event in events:
        seen.append(event.seq)
        if event.seq <= 3:
            assert events.acknowledge(event.seq) == event.seq
    # Every event once, in order; the iteration ended after 50 ms without one.
    assert seen == list(range(1, head + 1))
    # A new iteration (a restarted sender) starts again after the last acknowledgement.
    assert [e.seq for e in w.cs.consume("emails", timeout=0.05)] == list(range(4, head + 1))
    with pytest.raises(carespace.NotFoundError):
        w.cs.consume("nobody")
    with pytest.raises(ValueError):
        w.cs.consume("emails", timeout=-1)


def test_r42_consume_wakes_for_an_event_another_thread_commits() -> None:
    w = make_world()
    w.cs.register_consumer("emails", start="head")
    events = w.cs.consume("emails", timeout=10)
    writer = threading.Timer(0.1, lambda: w.cs.register_user(email="late@nhs.net", name="Late"))
    writer.start()
    started = time.monotonic()
    event = next(events)
    assert event.type == "user_registered"
    assert time.monotonic() - started < 5
    writer.join()


def test_r42_consume_raises_closed_once_the_carespace_is_closed() -> None:
    w = make_world()
    w.cs.register_consumer("emails")
    events = w.cs.consume("emails", timeout=0.05)
    assert next(events).seq == 1
    w.cs.close()
    with pytest.raises(carespace.ClosedError):
        next(events)


def test_r42_ctrl_c_stops_a_consumer_waiting_for_events() -> None:
    w = make_world()
    w.cs.register_consumer("emails", start="head")
    events = w.cs.consume("emails")  # no timeout: waits until interrupted
    threading.Timer(0.2, _thread.interrupt_main).start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        next(events)
    assert time.monotonic() - started < 5
