"""Call logging, exactly once: the outbox worker.

Why exactly once holds:
- the outbox row is written in the same transaction as the interaction's end,
  so a logged interaction is never forgotten (at least once);
- the interaction id is the idempotency key the CRM deduplicates on, so a
  delivery repeated after a crash, a timeout or a lost answer finds the
  activity it already created (at most once);
- a lease keeps two workers (two nodes) from delivering one row at the same
  time; a lease whose worker died expires and the row is due again.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import structlog

from ..clock import Clock
from ..crm.base import CrmConnector, CrmError, Match
from ..store.outbox import FAILED, PENDING, OutboxEntry

log = structlog.get_logger("ctibridge.calllog")


def node_id(host: str, port: int) -> str:
    """This node's lease name: a restarted node recognises (and frees) its own leases."""
    return f"{socket.gethostname()}:{host}:{port}"


def backoff(attempts: int, base: float, cap: float, rng: Callable[[], float]) -> float:
    """Exponential backoff with jitter: base·2^(n-1), capped, then scaled by 0.5–1."""
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return delay * (0.5 + rng() / 2)


def match_of(record: dict[str, Any] | None) -> Match | None:
    if not record or not record.get("record_id"):
        return None
    return Match(record_id=str(record["record_id"]), name=record.get("name"),
                 company=record.get("company"), url=record.get("url"),
                 kind=str(record.get("kind") or "contact"),
                 fields=dict(record.get("fields") or {}))


class CallLogWorker:
    """Delivers due outbox rows through the CRM connector, with retries."""

    def __init__(
        self,
        store: Any,
        crm: CrmConnector,
        clock: Clock,
        *,
        owner: str,
        metrics: Any | None = None,
        lease_seconds: float = 60.0,
        timeout_seconds: float = 30.0,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        max_attempts: int = 20,
        poll_seconds: float = 1.0,
        batch: int = 20,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if lease_seconds <= timeout_seconds:
            raise ValueError("the lease must outlast a delivery's timeout")
        self.store = store
        self.crm = crm
        self.clock = clock
        self.owner = owner
        self.metrics = metrics
        self.lease_seconds = lease_seconds
        self.timeout_seconds = timeout_seconds
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_attempts = max_attempts
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.rng = rng
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        freed = await self.store.outbox.release_owner(self.owner)
        if freed:
            log.info("calllog.leases_recovered", rows=freed, owner=self.owner)
        await self.refresh_gauges()
        self._task = asyncio.create_task(self._run(), name="calllog-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def nudge(self) -> None:
        """New rows were written: look now rather than at the next poll."""
        self._wakeup.set()

    async def _run(self) -> None:
        while True:
            try:
                done = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database may be down: try again later
                log.error("calllog.cycle_failed", error=str(exc))
                done = 0
            if done:
                continue  # there may be more due rows
            self._wakeup.clear()
            # Real time, not the hub clock: this is a poll for other nodes'
            # rows and for retries falling due, cheap and bounded.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.poll_seconds)

    async def run_once(self) -> int:
        """Claim due rows and deliver them concurrently; return how many were tried."""
        rows = await self.store.outbox.claim(self.owner, self.clock.now(), self.lease_seconds,
                                             self.batch)
        if rows:
            await asyncio.gather(*(self.deliver(r) for r in rows))
        await self.refresh_gauges()
        return len(rows)

    async def deliver(self, row: OutboxEntry) -> str:
        """One attempt for one claimed row; returns the row's new status."""
        outbox = self.store.outbox
        it = await self.store.interactions.get(row.interaction_id)
        if it is None:
            await outbox.failed(row.interaction_id, self.owner,
                                f"interaction {row.interaction_id} is not in the database")
            self._count("failed")
            return FAILED
        try:
            receipt = await asyncio.wait_for(
                self.crm.log_interaction(it, idempotency_key=it.interaction_id,
                                         record=match_of(it.crm_record)),
                self.timeout_seconds)
        except TimeoutError:
            error: CrmError = CrmError(
                f"logging {it.interaction_id}: the CRM did not answer within "
                f"{self.timeout_seconds:g} s", code="crm-timeout")
        except CrmError as exc:
            error = exc
        except Exception as exc:  # a connector bug: keep the row, say what happened
            error = CrmError(f"logging {it.interaction_id} failed: {exc!r}", code="crm-error")
        else:
            await outbox.delivered(it.interaction_id, receipt.activity_id, self.clock.now())
            self._count("delivered")
            log.info("calllog.delivered", interaction=it.interaction_id,
                     activity=receipt.activity_id, replayed=not receipt.created,
                     attempts=row.attempts)
            return "delivered"
        message = error.message
        if not error.retryable or row.attempts >= self.max_attempts:
            why = "not retryable" if not error.retryable else f"{row.attempts} attempts"
            await outbox.failed(it.interaction_id, self.owner, message)
            self._count("failed")
            log.error("calllog.failed", interaction=it.interaction_id, code=error.code,
                      error=message, why=why)
            return FAILED
        delay = backoff(row.attempts, self.base_delay, self.max_delay, self.rng)
        await outbox.retry_at(it.interaction_id, self.owner, message,
                              self.clock.now() + timedelta(seconds=delay))
        self._count("retry")
        log.warning("calllog.retry", interaction=it.interaction_id, code=error.code,
                    error=message, attempt=row.attempts, in_seconds=round(delay, 2))
        return PENDING

    def _count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.calllog_deliveries.labels(outcome).inc()

    async def refresh_gauges(self) -> dict[str, int]:
        counts: dict[str, int] = await self.store.outbox.counts()
        if self.metrics is not None:
            for status, n in counts.items():
                self.metrics.calllog_rows.labels(status).set(n)
        return counts
