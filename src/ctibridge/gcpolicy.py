"""Garbage collection in a hub that holds thousands of sockets.

CPython's full collection walks every object the collector tracks. A node with 10,000
bars tracks millions (sessions, tasks, queues, the agents and their state), and its
full collections were measured at 0.7 to 2.5 s (bench/cluster.py, docs/benchmarks.md):
the event loop stands still, every bar's events wait, and a cluster's core misses the
renewal of its lease. Yet what a hub keeps for hours is not garbage, and what it makes
per event dies young, by reference counting or in a young collection.

So the objects that survived the young collections are frozen (``gc.freeze``: out of
the collector's sight) at start-up and whenever more than ``freeze_above`` of them
have come since, right after a collection of those (the only full collections: the
automatic ones are off). A full collection then walks about ``freeze_above`` objects,
not millions. The cost is that a reference cycle among frozen objects that later
becomes garbage is not found until ``full_every_hours`` (a collection of everything,
the one long pause, once a day by default; 0: never). Frozen objects that become
unreachable without a cycle are freed as usual, by their reference count.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram

from .config import GcSettings

log = structlog.get_logger("ctibridge.gc")

NEVER = 1 << 30  # a full collection after this many young ones: never, in practice


class GcPolicy:
    def __init__(self, settings: GcSettings, clock: Any = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self.freezes = 0
        self._task: asyncio.Task[None] | None = None
        self._last_full = 0.0
        self._pause_start = 0.0
        self.pauses: Histogram | None = None
        self.frozen_total: Counter | None = None
        self._thresholds: tuple[int, int, int] | None = None

    def install(self, registry: CollectorRegistry | None = None) -> None:
        """Start-up is done: what exists now is the hub itself. ``registry``: where
        the pauses are measured (/metrics)."""
        if registry is not None:
            self.pauses = Histogram(
                "ctibridge_gc_pause_seconds", "Garbage collector pauses, by generation",
                ["generation"], registry=registry,
                buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
            self.frozen_total = Counter(
                "ctibridge_gc_frozen_objects_total",
                "Objects moved out of the collector's sight (gc.freeze)", registry=registry)
            gc.callbacks.append(self._timed)
        if not self.settings.freeze:
            return
        gc.collect()
        self._freeze()
        self._last_full = self.clock()
        # No automatic full collection (their trigger counts young collections, not
        # objects): check() runs them, on what is not frozen.
        self._thresholds = gc.get_threshold()
        young, middle, _ = self._thresholds
        gc.set_threshold(young, middle, NEVER)

    def uninstall(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._timed)
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None

    def start(self, registry: CollectorRegistry | None = None) -> None:
        self.install(registry)
        if self.settings.freeze:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="gc-policy")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.uninstall()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.settings.check_seconds)
            self.check()

    def check(self) -> str | None:
        """Freeze the survivors if enough came since the last time; a full collection
        when it is due. Returns what it did."""
        every = self.settings.full_every_hours * 3600
        if every and self.clock() - self._last_full >= every:
            started = time.perf_counter()
            gc.unfreeze()
            found = gc.collect()
            self._freeze()
            self._last_full = self.clock()
            log.info("gc.full_collection", collected=found,
                     seconds=round(time.perf_counter() - started, 3))
            return "full"
        if len(gc.get_objects(2)) > self.settings.freeze_above:
            gc.collect()  # walks what is not frozen: its garbage is not frozen with it
            self._freeze()
            return "froze"
        return None

    def _freeze(self) -> None:
        before = gc.get_freeze_count()
        gc.freeze()
        self.freezes += 1
        if self.frozen_total is not None:
            self.frozen_total.inc(max(0, gc.get_freeze_count() - before))

    def _timed(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._pause_start = time.perf_counter()
        elif self.pauses is not None:
            self.pauses.labels(str(info.get("generation"))).observe(
                time.perf_counter() - self._pause_start)
