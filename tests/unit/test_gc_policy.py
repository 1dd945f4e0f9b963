"""The hub's garbage-collection policy: no automatic full collection walks the
objects a hub keeps; the scheduled one still frees reference cycles."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from ctibridge.config import GcSettings
from ctibridge.gcpolicy import GcPolicy


class Node:
    """A container object, tracked by the collector (as a session is)."""

    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def policy() -> Iterator[tuple[GcPolicy, list[float]]]:
    now = [0.0]
    p = GcPolicy(GcSettings(full_every_hours=1), clock=lambda: now[0])
    try:
        yield p, now
    finally:
        p.uninstall()
        gc.unfreeze()  # the test process goes on as before


def test_what_start_up_made_is_never_walked_again(policy: tuple[GcPolicy, list[float]]
                                                  ) -> None:
    p, _ = policy
    frozen = gc.get_freeze_count()
    bars = [Node() for _ in range(5_000)]  # made before the hub started listening
    p.install()
    assert gc.get_freeze_count() >= frozen + 5_000
    assert len(gc.get_objects(2)) < 1_000
    assert all(isinstance(b, Node) for b in bars)


def test_no_automatic_full_collection(policy: tuple[GcPolicy, list[float]]) -> None:
    p, _ = policy
    before = gc.get_threshold()
    p.install()
    assert gc.get_threshold()[:2] == before[:2] and gc.get_threshold()[2] > 10**6
    p.uninstall()
    assert gc.get_threshold() == before


def test_a_cycle_is_freed_by_the_scheduled_full_collection(
    policy: tuple[GcPolicy, list[float]],
) -> None:
    p, now = policy
    p.install()
    a, b = Node(), Node()
    a.other, b.other = b, a  # a session and its task, pointing at each other
    gone = weakref.ref(a)
    for _ in range(3):
        gc.collect(1)  # young collections: they survive into the oldest generation
    del a, b  # only the cycle holds them now
    gc.collect(1)
    assert gone() is not None  # young collections never look at them again
    assert not p.check()  # not due yet
    now[0] += 3600  # due (here every hour)
    assert p.check()
    assert gone() is None


def test_pauses_are_measured_by_generation(policy: tuple[GcPolicy, list[float]]) -> None:
    p, _ = policy
    registry = CollectorRegistry()
    p.install(registry)
    gc.collect(0)
    assert registry.get_sample_value("ctibridge_gc_pause_seconds_count",
                                     {"generation": "0"}) >= 1
