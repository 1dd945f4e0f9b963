"""Supervision: live queue statistics for the supervisor page, and the audit of
commands given on another agent's behalf.

Queue statistics come from the hub's own events (``Notifier.tap``) for voice —
``call.queued`` puts a call in its queue, ``call.answered`` / ``call.ended``
take it out — and from the router integration for digital work, through
:meth:`Supervision.item_queued` and :meth:`Supervision.item_left`. All of it is
counted on the hub's clock.

Service level (per queue, over a sliding window, 30 min by default)::

    SL = answered within the queue's target / (answered + abandoned after the threshold)

The target is the queue's ``sl_seconds`` (20 s when the queue is not
configured). A customer who leaves within the abandon threshold (5 s: a
wrong number, a change of mind) is not held against the queue; one who leaves
later counts as missed.

Changes are published as a ``queue.stats`` hub event for supervisors only,
at once for the first change and then at most once per ``interval`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from .. import securitylog
from ..model.errors import CtiError
from ..model.events import HubEvent
from ..model.party import Channel
from .permissions import Principal

log = structlog.get_logger("ctibridge.supervision")

DEFAULT_SL_SECONDS = 20.0
DEFAULT_WINDOW_SECONDS = 30 * 60.0
DEFAULT_ABANDON_THRESHOLD = 5.0


@dataclass(slots=True)
class _Waiting:
    queue: str
    channel: str
    since: datetime


@dataclass(frozen=True, slots=True)
class _Outcome:
    at: datetime
    channel: str
    answered: bool
    waited: float  # seconds in queue


@dataclass(slots=True)
class _Queue:
    name: str
    sl_seconds: float
    channels: set[str] = field(default_factory=set)
    outcomes: deque[_Outcome] = field(default_factory=deque)


class QueueBoard:
    """The statistics themselves: pure logic, every method takes the time."""

    def __init__(self, targets: Mapping[str, float] | None = None, *,
                 channels: Mapping[str, Iterable[str]] | None = None,
                 default_sl_seconds: float = DEFAULT_SL_SECONDS,
                 window_seconds: float = DEFAULT_WINDOW_SECONDS,
                 abandon_threshold: float = DEFAULT_ABANDON_THRESHOLD) -> None:
        self.default_sl = default_sl_seconds
        self.window = window_seconds
        self.abandon_threshold = abandon_threshold
        self._queues: dict[str, _Queue] = {}
        self._waiting: dict[str, _Waiting] = {}  # item id → where it waits
        for name, target in (targets or {}).items():
            self._queue(name).sl_seconds = target
        for name, chans in (channels or {}).items():
            self._queue(name).channels.update(str(c) for c in chans)

    def _queue(self, name: str) -> _Queue:
        q = self._queues.get(name)
        if q is None:
            q = self._queues[name] = _Queue(name, self.default_sl)
        return q

    def queued(self, queue: str, item_id: str, channel: str, at: datetime) -> bool:
        """``item_id`` starts waiting in ``queue``. False when nothing changed.

        Queued again elsewhere (a queue hop) moves it: the new queue's wait starts now.
        """
        cur = self._waiting.get(item_id)
        if cur is not None and cur.queue == queue:
            return False
        self._waiting[item_id] = _Waiting(queue, str(channel), at)
        self._queue(queue).channels.add(str(channel))
        return True

    def left(self, item_id: str, at: datetime, *, answered: bool,
             queue: str | None = None) -> bool:
        """``item_id`` leaves its queue, answered or abandoned. False if it was not waiting
        (or waits in another queue than ``queue``, when given)."""
        cur = self._waiting.get(item_id)
        if cur is None or (queue is not None and cur.queue != queue):
            return False
        del self._waiting[item_id]
        waited = max(0.0, (at - cur.since).total_seconds())
        self._queue(cur.queue).outcomes.append(_Outcome(at, cur.channel, answered, waited))
        return True

    def is_waiting(self, item_id: str) -> bool:
        return item_id in self._waiting

    def _trim(self, q: _Queue, now: datetime) -> None:
        while q.outcomes and (now - q.outcomes[0].at).total_seconds() > self.window:
            q.outcomes.popleft()

    def stats(self, now: datetime) -> list[dict[str, Any]]:
        """One dict per queue, by name (see docs/supervisor.md for the fields)."""
        waiting: dict[str, list[_Waiting]] = {}
        for w in self._waiting.values():
            waiting.setdefault(w.queue, []).append(w)
        out = []
        for name in sorted(self._queues):
            q = self._queues[name]
            self._trim(q, now)
            here = waiting.get(name, [])
            oldest = min((w.since for w in here), default=None)
            answered = [o for o in q.outcomes if o.answered]
            in_target = sum(1 for o in answered if o.waited <= q.sl_seconds)
            abandoned = [o for o in q.outcomes if not o.answered]
            missed = sum(1 for o in abandoned if o.waited >= self.abandon_threshold)
            denom = len(answered) + missed
            out.append({
                "queue": name,
                "channels": sorted(q.channels),
                "waiting": len(here),
                "waiting_by_channel": dict(sorted(Counter(w.channel for w in here).items())),
                "oldest_since": oldest.isoformat() if oldest else None,
                "longest_wait_seconds": round(max(0.0, (now - oldest).total_seconds()), 1)
                if oldest else 0.0,
                "answered": len(answered),
                "answered_in_target": in_target,
                "abandoned": len(abandoned),
                "service_level": round(100.0 * in_target / denom, 1) if denom else None,
                "sl_seconds": q.sl_seconds,
                "window_seconds": self.window,
            })
        return out

    def next_expiry(self) -> datetime | None:
        """When the oldest outcome leaves the window (the SL may change then)."""
        firsts = [q.outcomes[0].at for q in self._queues.values() if q.outcomes]
        return min(firsts) if firsts else None


def _changing(stats: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What a publication must follow: everything but the running wait (clients run it)."""
    return [tuple(v for k, v in s.items() if k != "longest_wait_seconds") for s in stats]


class Supervision:
    """Created in the app's lifespan, kept in ``services.supervision``.

    ``audit_store``: an :class:`~ctibridge.store.audit.AuditStore` (None: audit
    entries are only logged).
    """

    def __init__(self, hub: Any, *, audit_store: Any | None = None,
                 window_seconds: float = DEFAULT_WINDOW_SECONDS,
                 abandon_threshold: float = DEFAULT_ABANDON_THRESHOLD,
                 interval: float = 1.0) -> None:
        self.hub = hub
        self.clock = hub.clock
        queues = hub.settings.queues
        # Static per-queue colours (config), sent with the figures they colour.
        self.thresholds = {q.name: q.thresholds.model_dump(exclude_none=True)
                           for q in queues if q.thresholds is not None}
        self.board = QueueBoard({q.name: q.sl_seconds for q in queues},
                                channels={q.name: [str(c) for c in q.channels] for q in queues},
                                window_seconds=window_seconds,
                                abandon_threshold=abandon_threshold)
        self.audit_store = audit_store
        self.interval = interval
        self._untap: Any = None
        self._ticker: asyncio.Task[None] | None = None
        self._dirty = False
        self._flush_scheduled = False
        self._last_at: datetime | None = None
        self._last: list[tuple[Any, ...]] | None = None
        self._unwritten: list[Any] = []  # audit entries the store refused, retried later
        self.published = 0

    # ----------------------------------------------------------- lifecycle

    async def start(self) -> None:
        self._untap = self.hub.notifier.tap(self._on_event)
        self._ticker = asyncio.create_task(self._tick(), name="supervision-ticker")

    async def stop(self) -> None:
        if self._untap is not None:
            self._untap()
            self._untap = None
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self._unwritten:
            await self._write([])

    # --------------------------------------------------------------- queues

    def queues(self) -> list[dict[str, Any]]:
        """The statistics now (the supervisor snapshot's ``queues``)."""
        return self.with_thresholds(self.board.stats(self.clock.now()))

    def with_thresholds(self, stats: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each queue's row with its configured ``thresholds`` (absent: none)."""
        for row in stats:
            th = self.thresholds.get(row["queue"])
            if th:
                row["thresholds"] = th
        return stats

    def item_queued(self, queue: str, item_id: str, channel: Channel | str,
                    at: datetime) -> None:
        """A digital item (chat, email…) starts waiting in ``queue`` (router integration)."""
        if self.board.queued(queue, item_id, str(channel), at):
            self._changed()

    def item_left(self, queue: str, item_id: str, at: datetime, answered: bool) -> None:
        """A digital item leaves ``queue``: accepted by an agent, or abandoned/withdrawn."""
        if self.board.left(item_id, at, answered=answered, queue=queue):
            self._changed()

    def _on_event(self, event: HubEvent) -> None:
        name = event.name
        if name not in ("call.queued", "call.answered", "call.ended"):
            return
        call = event.data.get("call") or {}
        call_id = call.get("call_id")
        if not call_id:
            return
        now = self.clock.now()
        if name == "call.queued":
            changed = bool(call.get("queue")) and self.board.queued(
                call["queue"], call_id, str(Channel.VOICE), now)
        else:
            changed = self.board.left(call_id, now, answered=name == "call.answered")
        if changed:
            self._changed()

    def _changed(self) -> None:
        self._dirty = True
        if self._flush_scheduled:
            return
        now = self.clock.now()
        if self._last_at is None or (now - self._last_at).total_seconds() >= self.interval:
            # Not from inside the tap: let the event that caused it reach everyone first.
            self._flush_scheduled = True
            with contextlib.suppress(RuntimeError):  # no running loop (a sync unit test)
                asyncio.get_running_loop().call_soon(self._flush)
                return
            self._flush_scheduled = False
            self._flush()
        # else: the ticker publishes it at the end of the interval

    def _flush(self, *, force: bool = False) -> None:
        self._flush_scheduled = False
        stats = self.queues()
        key = _changing(stats)
        self._dirty = False
        if key == self._last and not force:
            return
        self._last = key
        self._last_at = self.clock.now()
        self.published += 1
        self.hub.publish("queue.stats", {"queues": stats}, set())

    async def _tick(self) -> None:
        while True:
            await self.clock.sleep(self.interval)
            try:
                expiry = self.board.next_expiry()
                expired = expiry is not None and (
                    self.clock.now() - expiry).total_seconds() > self.board.window
                if self._dirty or expired:
                    self._flush()
            except Exception:  # the page's figures must not stop for one bad tick
                log.exception("supervision.tick_failed")

    # ---------------------------------------------------------------- audit

    async def audit(self, principal: Principal, op: str, args: Mapping[str, Any],
                    error: CtiError | None) -> None:
        """Hooked into :meth:`Commands.execute`: record a command naming another agent.

        Refused ones too (outcome = the error code): an agent trying to change a
        colleague's state is worth knowing about. A store failure never fails
        the command, which already happened: the entry is kept and retried.
        """
        agent_id = args.get("agent_id")
        if not isinstance(agent_id, str) or not agent_id or agent_id == principal.agent_id:
            return
        from ..store.audit import AuditEntry

        reason = args.get("reason")
        entry = AuditEntry(
            at=self.clock.now(), actor=principal.username, agent_id=agent_id[:64], op=op[:64],
            reason=reason[:200] if isinstance(reason, str) and reason else None,
            outcome="ok" if error is None else error.code,
            detail=None if error is None else error.message[:1000])
        log.info("audit", actor=entry.actor, agent=entry.agent_id, op=entry.op,
                 reason=entry.reason, outcome=entry.outcome)
        if principal.is_supervisor:  # an agent's attempt is logged as command.forbidden
            securitylog.event("supervisor.action", actor=entry.actor, agent_id=entry.agent_id,
                              op=entry.op, reason=entry.reason, outcome=entry.outcome)
        await self._write([entry])

    async def _write(self, entries: list[Any]) -> None:
        if self.audit_store is None:
            return
        batch = [*self._unwritten, *entries]
        try:
            await self.audit_store.add(batch)
            self._unwritten = []
        except Exception as exc:
            log.error("audit.write_failed", error=str(exc), pending=len(batch))
            self._unwritten = batch[-10_000:]  # bounded: an outage cannot eat the memory


async def start_supervision(services: Any) -> Supervision:
    """Build and start the service for the app (before the hub starts, so no event is
    missed), and hook the audit into the commands."""
    from ..store.audit import AuditStore

    db = getattr(services.store, "db", None)
    sup = Supervision(services.hub, audit_store=AuditStore(db) if db is not None else None)
    await sup.start()
    # The commands this process executes (in a cluster the core's, not the routing
    # front every node's sockets use: an audit hung there would never run).
    services.local_commands.audit = sup.audit
    services.supervision = sup
    return sup
