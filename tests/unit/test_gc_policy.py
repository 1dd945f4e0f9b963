"""The hub's garbage-collection policy: long-lived objects frozen out of full
collections, cycles among them still freed by the daily full collection."""

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
    p = GcPolicy(GcSettings(freeze_above=1_000, full_every_hours=1), clock=lambda: now[0])
    try:
        yield p, now
    finally:
        p.uninstall()
        gc.unfreeze()  # the test process goes on as before


def test_what_survives_is_frozen_once_enough_gathered(policy: tuple[GcPolicy, list[float]]
                                                      ) -> None:
    p, _ = policy
    p.install()
    assert p.check() is None  # nothing new since start-up
    bars = [Node() for _ in range(5_000)]  # a wave of bars connecting
    gc.collect()  # they survive: in the oldest generation now
    assert len(gc.get_objects(2)) >= 5_000
    frozen = gc.get_freeze_count()
    assert p.check() == "froze"
    assert gc.get_freeze_count() >= frozen + 5_000
    assert len(gc.get_objects(2)) < 1_000  # a full collection walks next to nothing
    assert all(isinstance(b, Node) for b in bars)


def test_full_collections_are_the_policys_own(policy: tuple[GcPolicy, list[float]]) -> None:
    p, _ = policy
    before = gc.get_threshold()
    p.install()
    assert gc.get_threshold()[:2] == before[:2] and gc.get_threshold()[2] > 10**6
    p.uninstall()
    assert gc.get_threshold() == before


def test_a_cycle_among_frozen_objects_is_freed_by_the_full_collection(
    policy: tuple[GcPolicy, list[float]],
) -> None:
    p, now = policy
    p.install()
    a, b = Node(), Node()
    a.other, b.other = b, a  # a session and its task, pointing at each other
    gone = weakref.ref(a)
    for _ in range(1_200):  # enough survivors for a freeze
        Node().other = None
    keep = [Node() for _ in range(1_200)]
    gc.collect()
    assert p.check() == "froze"
    del a, b  # the bar left: only the cycle holds them, and they are frozen
    gc.collect()
    assert gone() is not None  # out of the collector's sight, as promised
    now[0] += 3600  # the daily (here: hourly) full collection
    assert p.check() == "full"
    assert gone() is None
    assert keep


def test_pauses_are_measured_by_generation(policy: tuple[GcPolicy, list[float]]) -> None:
    p, _ = policy
    registry = CollectorRegistry()
    p.install(registry)
    gc.collect()
    assert registry.get_sample_value("ctibridge_gc_pause_seconds_count",
                                     {"generation": "2"}) >= 1
    assert (registry.get_sample_value("ctibridge_gc_frozen_objects_total") or 0) > 0
