"""What the connectors' links to their platform do the same way.

* :class:`Backoff`: the wait between tries to connect, doubling up to a cap (all
  connectors; with jitter for those many bridges may share a platform with).
* :class:`LinkedConnector`: the base of a connector whose one task keeps a client
  link up (Asterisk AMI, FreeSWITCH ESL): its event queue, its health, the up
  event tests and the CLI wait on, an outage reported once however many retries.
"""

from __future__ import annotations

import asyncio
import random
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import ClassVar

import structlog

from ..clock import Clock, SystemClock
from ..model.events import PlatformEvent, PlatformStatus
from .base import Health

# The hub is this many events behind before a connector drops one (it then resyncs).
QUEUE_SIZE = 10_000


class Backoff:
    """Waits of ``first``, twice that, ... at most ``cap``; :meth:`reset` once linked.

    With ``jitter`` each wait is drawn from the upper half of that, so that bridges
    reconnecting to the same platform at once do not stampede it.
    """

    def __init__(self, first: float, cap: float, *, jitter: bool = True,
                 doublings: int = 16) -> None:
        self.first = first
        self.cap = cap
        self.jitter = jitter
        self.doublings = doublings  # at most (a float must not overflow)
        self.attempt = 0

    def next(self) -> float:
        """The wait before the next try (and count the try)."""
        base = min(self.cap, self.first * (2 ** min(self.attempt, self.doublings)))
        self.attempt += 1
        return random.uniform(base / 2, base) if self.jitter else base

    def reset(self) -> None:
        self.attempt = 0


class LinkedConnector(ABC):
    """Shared state and plumbing of the connectors that run one link task.

    A subclass sets :attr:`kind` (task and log names) and writes :meth:`_run`:
    connect, :meth:`_report_up` once the snapshot is taken, pump events, and on
    a failure :meth:`_down` with the wait before the next try.
    """

    kind: ClassVar[str] = "platform"

    def __init__(self, name: str, clock: Clock | None) -> None:
        self.name = name
        self.clock = clock or SystemClock()
        self._out: asyncio.Queue[PlatformEvent] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._task: asyncio.Task[None] | None = None
        self._health = Health(False, "not started")
        self._stopping = False
        self._reported_down = False
        self._up = asyncio.Event()
        self.connections = 0  # links made so far (tests and health)
        self._log = structlog.get_logger(f"ctibridge.{self.kind}")

    @abstractmethod
    async def _run(self) -> None:
        """Each connector's link loop."""

    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name=f"{self.kind}-{self.name}")

    async def _end_task(self) -> None:
        """Cancel the link task until it is done (it may be inside a cleanup)."""
        task, self._task = self._task, None
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)

    async def events(self) -> AsyncIterator[PlatformEvent]:
        while True:
            yield await self._out.get()

    def health(self) -> Health:
        return self._health

    async def wait_up(self) -> None:
        """Wait until connected, logged in and resynchronized (tests, CLI)."""
        await self._up.wait()

    async def _emit(self, *events: PlatformEvent) -> None:
        for ev in events:
            await self._out.put(ev)

    def _emit_now(self, *events: PlatformEvent) -> None:
        """From a command: queue without waiting (the hub is the one waiting on us)."""
        for ev in events:
            try:
                self._out.put_nowait(ev)
            except asyncio.QueueFull:  # the hub is 10 000 events behind: it will resync
                self._log.error(f"{self.kind}.event_dropped", platform=self.name, event=ev.name)

    async def _report_up(self, detail: str) -> None:
        """Up only once logged in and the snapshot taken: whatever the hub does on
        hearing it (pushing agent states...) finds the link up."""
        self._health = Health(True, detail)
        self._reported_down = False
        self._up.set()
        await self._emit(PlatformStatus(at=self.clock.now(), up=True, detail=detail))

    async def _down(self, detail: str, *, retry_in: float) -> None:
        """Report the link down once per outage (each retry is only logged).

        The detail says what happened, not when the next try is (a ``telephony
        test`` that stops at the first failure would make that untrue).
        """
        self._health = Health(False, detail)
        self._log.warning(f"{self.kind}.down", platform=self.name, detail=detail,
                    retry_in=round(retry_in, 1))
        if not self._reported_down:
            self._reported_down = True
            await self._emit(PlatformStatus(at=self.clock.now(), up=False, detail=detail))
