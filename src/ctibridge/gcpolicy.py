"""Garbage collection in a hub that holds thousands of sockets.

CPython's full collection walks every object the collector tracks. A node with 10,000
bars tracks millions (sessions, tasks, queues, the agents and their state), and its
automatic full collections were measured at 0.7 to 2.5 s (bench/cluster.py,
docs/benchmarks.md): the event loop stands still, every bar's events wait, and a
cluster's core misses the renewal of its lease.

Full collections only find reference cycles: everything else is freed by its
reference count. Once the main source of cycles was gone (store/upsert.py), a hub at
100 calls/s with 2,000 bars left none in two minutes of traffic (13,718 objects while
the bars connected). So the automatic full collections are off: the young
generations are still collected as usual (a few ms), what survives them is never
walked again, and one full collection runs every ``full_every_hours`` (24 by default:
the one long pause, about a second with thousands of bars). What start-up made is
frozen (``gc.freeze``) so that even that one walks only what came since.
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
        self._task: asyncio.Task[None] | None = None
        self._last_full = 0.0
        self._pause_start = 0.0
        self._thresholds: tuple[int, int, int] | None = None
        self.pauses: Histogram | None = None
        self.found: Counter | None = None

    def install(self, registry: CollectorRegistry | None = None) -> None:
        """Start-up is done: what exists now is the hub itself. ``registry``: where
        the pauses are measured (/metrics)."""
        if registry is not None:
            self.pauses = Histogram(
                "ctibridge_gc_pause_seconds", "Garbage collector pauses, by generation",
                ["generation"], registry=registry,
                buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
            self.found = Counter(
                "ctibridge_gc_full_collected_objects_total",
                "Objects the scheduled full collections freed (reference cycles)",
                registry=registry)
            gc.callbacks.append(self._timed)
        if not self.settings.managed:
            return
        gc.collect()
        gc.freeze()
        self._last_full = self.clock()
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
        if self.settings.managed and self.settings.full_every_hours:
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

    def check(self) -> bool:
        """The scheduled full collection, if it is due; whether it ran."""
        every = self.settings.full_every_hours * 3600
        if not every or self.clock() - self._last_full < every:
            return False
        started = time.perf_counter()
        gc.unfreeze()
        found = gc.collect()
        gc.freeze()
        self._last_full = self.clock()
        if self.found is not None:
            self.found.inc(found)
        log.info("gc.full_collection", collected=found,
                 seconds=round(time.perf_counter() - started, 3))
        return True

    def _timed(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._pause_start = time.perf_counter()
        elif self.pauses is not None:
            self.pauses.labels(str(info.get("generation"))).observe(
                time.perf_counter() - self._pause_start)
