"""Call logging, exactly once: the outbox worker.

Why exactly once holds:
- the outbox row is written in the same transaction as the interaction's end,
  so a logged interaction is never forgotten (at least once);
- a write is never repeated blindly. The interaction id is the idempotency key:
  a CRM that honours it (``log.idempotent``) finds the activity it already made.
  For a CRM that ignores it, the row is marked *in doubt* before the write
  leaves; a write whose outcome is unknown (a timeout once sent, a connection
  lost mid-answer, a hub that died while sending) is checked first
  (``log.find_existing``) and re-sent only if absent, or, with no way to check,
  becomes ``uncertain`` for an operator (at most once);
- a lease keeps two workers (two nodes) from delivering one row at the same
  time; a lease whose worker died expires and the row is due again.

Every row ends somewhere visible: delivered, failed (with the CRM's reason),
uncertain, waiting for the agent's pick, or skipped with a stated reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from ..clock import Clock
from ..crm.base import CrmConnector, CrmError, LogTarget, Match
from ..model.events import HubEvent
from ..store.outbox import (
    AUTH_STATUSES,
    DELIVERED,
    FAILED,
    PENDING,
    SKIPPED,
    UNCERTAIN,
    WAITING,
    OutboxEntry,
)

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


@dataclass
class AuthAlert:
    """The CRM refuses our credentials (401/403) since ``since``, saying ``reason``."""

    since: datetime
    reason: str
    status: int

    def to_dict(self) -> dict[str, Any]:
        return {"since": self.since.isoformat(), "reason": self.reason, "status": self.status}


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
        settle_seconds: float = 10.0,
        retry_auth: bool = True,
        max_auth_delay: float = 60.0,
        publish: Callable[[HubEvent], None] | None = None,
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
        self.settle_seconds = settle_seconds
        self.retry_auth = retry_auth
        self.max_auth_delay = max_auth_delay
        self.publish = publish
        self.rng = rng
        self.auth_alert: AuthAlert | None = None
        # Rows waiting on an agent's pick, by agent (the bar's snapshot reads it).
        self.waiting: dict[str, dict[str, dict[str, Any]]] = {}
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[str]] = set()
        # Rows this worker is delivering: never claimed again meanwhile, even if a slow
        # delivery outlives its lease (two sends of one log would be two records).
        self._inflight_ids: set[str] = set()
        self._side_tasks: set[asyncio.Task[None]] = set()
        self.stop_grace_seconds = 5.0

    @property
    def guarantee(self) -> str:
        """``idempotent``, ``checkable`` or ``none`` (see crm.base)."""
        return str(getattr(self.crm, "log_guarantee", "idempotent"))

    async def start(self) -> None:
        freed = await self.store.outbox.release_owner(self.owner)
        if freed:
            log.info("calllog.leases_recovered", rows=freed, owner=self.owner)
        for row in await self.store.outbox.list(WAITING, 1000):
            self._remember_wait(row.to_dict())
        await self.refresh_gauges()
        self._task = asyncio.create_task(self._run(), name="calllog-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._inflight:
            # A write cut off here would be in doubt (uncertain, for a CRM that cannot be
            # checked): let the ones under way finish, for a while.
            await asyncio.wait(set(self._inflight), timeout=self.stop_grace_seconds)
        for task in list(self._inflight) + list(self._side_tasks):
            task.cancel()
        if self._inflight or self._side_tasks:
            await asyncio.gather(*self._inflight, *self._side_tasks, return_exceptions=True)

    def nudge(self) -> None:
        """New rows were written: look now rather than at the next poll."""
        self._wakeup.set()

    async def _run(self) -> None:
        # Up to ``batch`` deliveries at once, each on its own: a slow answer holds its
        # own slot, not the whole queue.
        gauges_at = 0.0
        loop = asyncio.get_running_loop()
        while True:
            claimed = 0
            # Cleared before looking, not after: a nudge that comes while we look is kept.
            self._wakeup.clear()
            try:
                free = self.batch - len(self._inflight)
                if free > 0:
                    claimed = await self._claim(free)
                if loop.time() - gauges_at >= 1.0:
                    gauges_at = loop.time()
                    await self.refresh_gauges()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database may be down: try again later
                log.error("calllog.cycle_failed", error=str(exc))
            if claimed and len(self._inflight) < self.batch:
                continue  # there may be more due rows
            # Real time, not the hub clock: this is a poll for other nodes'
            # rows and for retries falling due, cheap and bounded.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.poll_seconds)

    async def _claim(self, limit: int) -> int:
        now = self.clock.now()
        if any(self.waiting.values()) and await self.store.outbox.expire_waits(now):
            await self._forget_expired()
        rows = await self.store.outbox.claim(self.owner, now, self.lease_seconds, limit,
                                             exclude=self._inflight_ids)
        for row in rows:
            self._inflight_ids.add(row.interaction_id)
            task = asyncio.create_task(self._deliver_logged(row))
            self._inflight.add(task)
            task.add_done_callback(self._done)
        return len(rows)

    def _done(self, task: asyncio.Task[str]) -> None:
        self._inflight.discard(task)
        self._wakeup.set()  # a slot is free

    async def _deliver_logged(self, row: OutboxEntry) -> str:
        try:
            return await self.deliver(row)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database failed mid-delivery: the lease expires
            log.error("calllog.delivery_crashed", interaction=row.interaction_id,
                      error=str(exc))
            return PENDING
        finally:
            self._inflight_ids.discard(row.interaction_id)

    async def run_once(self) -> int:
        """Claim due rows and deliver them concurrently; return how many were tried."""
        now = self.clock.now()
        if any(self.waiting.values()) and await self.store.outbox.expire_waits(now):
            await self._forget_expired()
        rows = await self.store.outbox.claim(self.owner, now, self.lease_seconds, self.batch)
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
        key = it.interaction_id
        guarantee = self.guarantee
        record = match_of(row.log_record) or match_of(it.crm_record)
        resolved = False
        try:
            if row.in_doubt:
                if guarantee == "checkable":
                    found = await asyncio.wait_for(
                        self.crm.find_logged(it, key, record=record),  # type: ignore[attr-defined]
                        self.timeout_seconds)
                    if found is not None:
                        await outbox.delivered(key, found.activity_id, self.clock.now())
                        self._count("found")
                        self._accepted()
                        log.info("calllog.found_existing", interaction=key,
                                 activity=found.activity_id, attempts=row.attempts)
                        return DELIVERED
                elif guarantee == "none":
                    why = (f"{row.last_error}" if row.last_error
                           else "the hub stopped while this log was being sent")
                    await outbox.uncertain(key, self.owner, f"outcome unknown, not re-sent "
                                           f"(the CRM cannot be checked): {why}",
                                           status=row.last_status)
                    self._count("uncertain")
                    log.warning("calllog.uncertain", interaction=key, error=why)
                    return UNCERTAIN
            plan = getattr(self.crm, "plan_log", None)
            if plan is not None:
                target: LogTarget = await asyncio.wait_for(
                    plan(it, key, record=record, step=row.fallback_step), self.timeout_seconds)
                if target.skip:
                    await outbox.skipped(key, self.owner, target.skip, target.step)
                    self._count("skipped")
                    log.info("calllog.skipped", interaction=key, reason=target.skip)
                    return SKIPPED
                if target.wait_minutes:
                    await self._wait_for_agent(row, it.agent_id, target)
                    return WAITING
                if target.record is not None and (target.chosen or target.created):
                    await outbox.set_record(key, self.owner, target.record.to_dict(),
                                            target.step)
                    log.info("calllog.fallback", interaction=key, reason=target.reason,
                             record=target.record.record_id, kind=target.record.kind,
                             created=target.created)
                record, resolved = target.record, True
        except TimeoutError:
            error = CrmError(f"finding the record to log {key} against: the CRM did not "
                             f"answer within {self.timeout_seconds:g} s", code="crm-timeout")
            return await self._failure(row, error, write=False)
        except CrmError as exc:
            return await self._failure(row, exc, write=False)
        except Exception as exc:  # a connector bug: keep the row, say what happened
            error = CrmError(f"logging {key} failed: {exc!r}", code="crm-error")
            return await self._failure(row, error, write=False)
        # Before it leaves: the lease renewed for the write's own time (or given up if
        # another claim took the row: then nothing is sent), and, unless the CRM
        # de-duplicates, the row marked in doubt so a crash never means a blind re-send.
        until = self.clock.now() + timedelta(seconds=self.lease_seconds)
        if not await outbox.sending(key, self.owner, until,
                                    in_doubt=guarantee != "idempotent"):
            log.warning("calllog.lease_lost", interaction=key, attempts=row.attempts)
            return PENDING
        try:
            extra = {"resolved": True} if resolved else {}
            receipt = await asyncio.wait_for(
                self.crm.log_interaction(it, idempotency_key=key, record=record, **extra),
                self.timeout_seconds)
        except TimeoutError:
            error = CrmError(f"logging {key}: the CRM did not answer within "
                             f"{self.timeout_seconds:g} s", code="crm-timeout",
                             maybe_sent=True)
        except CrmError as exc:
            error = exc
        except Exception as exc:
            error = CrmError(f"logging {key} failed: {exc!r}", code="crm-error",
                             maybe_sent=True)
        else:
            await outbox.delivered(key, receipt.activity_id, self.clock.now())
            self._count("delivered")
            self._accepted()
            self._forget_wait(row.agent_id, key)
            log.info("calllog.delivered", interaction=key, activity=receipt.activity_id,
                     replayed=not receipt.created, attempts=row.attempts)
            return DELIVERED
        return await self._failure(row, error, write=True)

    async def _failure(self, row: OutboxEntry, error: CrmError, *, write: bool) -> str:
        """After a failed attempt: retry later, fail, or (outcome unknown and nothing
        can tell) make the row uncertain."""
        outbox = self.store.outbox
        key = row.interaction_id
        message = error.message
        status = error.crm_status
        auth = status in AUTH_STATUSES
        if auth:
            self._refused(message, status or 0)
        elif status is not None:
            self._accepted()  # the CRM answered: it took our credentials
        maybe = write and error.maybe_sent
        if maybe and self.guarantee == "none":
            await outbox.uncertain(key, self.owner, f"outcome unknown, not re-sent (the CRM "
                                   f"cannot be checked): {message}", status=status)
            self._count("uncertain")
            log.warning("calllog.uncertain", interaction=key, code=error.code, error=message)
            return UNCERTAIN
        # A write that surely did not happen clears an earlier doubt only if it was the
        # write itself: a failed check or lookup leaves the doubt as it was.
        in_doubt = True if maybe else (False if write else None)
        retryable = error.retryable and (not auth or self.retry_auth)
        if not retryable or row.attempts >= self.max_attempts:
            why = "not retryable" if not retryable else f"{row.attempts} attempts"
            await outbox.failed(key, self.owner, message, status=status)
            self._count("failed")
            log.error("calllog.failed", interaction=key, code=error.code, status=status,
                      error=message, why=why)
            return FAILED
        delay = backoff(row.attempts, self.base_delay, self.max_delay, self.rng)
        if auth:  # probe often enough that a fixed credential releases the queue soon
            delay = min(delay, self.max_auth_delay)
        if maybe or row.in_doubt:  # let a slow CRM finish before checking for the log
            delay = max(delay, self.settle_seconds)
        await outbox.retry_at(key, self.owner, message,
                              self.clock.now() + timedelta(seconds=delay), status=status,
                              in_doubt=in_doubt)
        self._count("retry")
        log.warning("calllog.retry", interaction=key, code=error.code, status=status,
                    error=message, attempt=row.attempts, in_seconds=round(delay, 2),
                    maybe_sent=maybe)
        return PENDING

    # -- the agent's pick ---------------------------------------------------------------

    async def _wait_for_agent(self, row: OutboxEntry, agent_id: str | None,
                              target: LogTarget) -> None:
        until = self.clock.now() + timedelta(minutes=target.wait_minutes or 0)
        choices = [m.to_dict() for m in target.choices]
        reason = target.reason or "waiting for the agent to pick the record"
        await self.store.outbox.waiting(row.interaction_id, self.owner, until=until,
                                        step=target.step, choices=choices,
                                        agent_id=agent_id, reason=reason)
        self._count("waiting")
        got = await self.store.outbox.get(row.interaction_id)
        if got is not None:
            self._remember_wait(got.to_dict())
            self._emit("calllog.waiting", got.to_dict(), got.agent_id)
        log.info("calllog.waiting", interaction=row.interaction_id, agent=agent_id,
                 until=until.isoformat(), choices=len(choices))

    async def pick(self, interaction_id: str, record_id: str,
                   agent_id: str | None = None) -> OutboxEntry:
        """The agent picks one of a waiting row's choices: logged against it, now."""
        from ..model.errors import BadRequest, IllegalTransition, NotFound

        row = await self.store.outbox.get(interaction_id)
        if row is None:
            raise NotFound(f"interaction {interaction_id} has no call-log entry",
                           code="no-such-calllog")
        if row.status != WAITING:
            raise IllegalTransition(f"the log of {interaction_id} is {row.status}, not "
                                    "waiting for a pick", code="calllog-not-waiting")
        if agent_id is not None and row.agent_id not in (None, agent_id):
            raise NotFound(f"interaction {interaction_id} is not waiting on you",
                           code="no-such-calllog")
        choice = next((c for c in row.choices or [] if str(c.get("record_id")) == record_id),
                      None)
        if choice is None:
            known = ", ".join(str(c.get("record_id")) for c in row.choices or [])
            raise BadRequest(f"record {record_id!r} is not one of the choices ({known})",
                             code="bad-record")
        picked = await self.store.outbox.pick(interaction_id, choice, self.clock.now())
        if picked is None:
            raise IllegalTransition(f"the log of {interaction_id} is no longer waiting",
                                    code="calllog-not-waiting")
        self._forget_wait(row.agent_id, interaction_id)
        self._emit("calllog.settled", picked.to_dict(), row.agent_id)
        self.nudge()
        return picked

    def waiting_of(self, agent_id: str) -> list[dict[str, Any]]:
        return list(self.waiting.get(agent_id, {}).values())

    def _remember_wait(self, row: dict[str, Any]) -> None:
        if row.get("agent_id"):
            self.waiting.setdefault(row["agent_id"], {})[row["interaction_id"]] = row

    def _forget_wait(self, agent_id: str | None, interaction_id: str) -> None:
        if agent_id and self.waiting.get(agent_id, {}).pop(interaction_id, None) is not None:
            self._emit("calllog.settled", {"interaction_id": interaction_id,
                                           "status": PENDING}, agent_id)

    async def _forget_expired(self) -> None:
        for agent_id, rows in list(self.waiting.items()):
            for iid in list(rows):
                got = await self.store.outbox.get(iid)
                if got is None or got.status != WAITING:
                    rows.pop(iid, None)
                    self._emit("calllog.settled", got.to_dict() if got else
                               {"interaction_id": iid}, agent_id)

    def _emit(self, name: str, data: dict[str, Any], agent_id: str | None) -> None:
        if self.publish is not None:
            agents = frozenset({agent_id}) if agent_id else frozenset()
            self.publish(HubEvent(name, data, agents=agents, supervisors=True))

    # -- operators ----------------------------------------------------------------------

    async def confirm(self, interaction_id: str, activity_id: str | None) -> OutboxEntry:
        return await self._operator(interaction_id, "confirm", activity_id)

    async def resend(self, interaction_id: str) -> OutboxEntry:
        return await self._operator(interaction_id, "resend", None)

    async def _operator(self, interaction_id: str, action: str, activity_id: str | None
                        ) -> OutboxEntry:
        from ..model.errors import IllegalTransition, NotFound

        outbox = self.store.outbox
        row = await outbox.get(interaction_id)
        if row is None:
            raise NotFound(f"interaction {interaction_id} has no call-log entry",
                           code="no-such-calllog")
        if row.status != UNCERTAIN:
            raise IllegalTransition(f"the log of {interaction_id} is {row.status}: only an "
                                    "uncertain row is confirmed or re-sent",
                                    code="calllog-not-uncertain")
        now = self.clock.now()
        got = (await outbox.confirm(interaction_id, activity_id, now) if action == "confirm"
               else await outbox.resend(interaction_id, now))
        assert got is not None
        log.info(f"calllog.{action}", interaction=interaction_id, activity=activity_id)
        self.nudge()
        return got

    # -- the CRM refusing our credentials -----------------------------------------------

    def _refused(self, reason: str, status: int) -> None:
        if self.auth_alert is None:
            self.auth_alert = AuthAlert(self.clock.now(), reason, status)
            log.error("calllog.crm_refuses_credentials", status=status, error=reason)
        else:
            self.auth_alert.reason, self.auth_alert.status = reason, status
        if self.metrics is not None:
            self.metrics.crm_auth_refused.set(1)

    def _accepted(self) -> None:
        if self.auth_alert is None:
            return
        log.info("calllog.crm_accepts_credentials_again",
                 since=self.auth_alert.since.isoformat())
        self.auth_alert = None
        if self.metrics is not None:
            self.metrics.crm_auth_refused.set(0)
        # Every row the CRM refused is due now: the fixed credential releases the queue.
        task = asyncio.get_running_loop().create_task(self._release_refused())
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    async def _release_refused(self) -> None:
        try:
            released = await self.store.outbox.release_refused(self.clock.now())
        except Exception as exc:  # the next poll finds them when their backoff ends
            log.warning("calllog.release_failed", error=str(exc))
            return
        if released:
            log.info("calllog.released", rows=released)
            self.nudge()

    def _count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.calllog_deliveries.labels(outcome).inc()

    async def refresh_gauges(self) -> dict[str, int]:
        counts: dict[str, int] = await self.store.outbox.counts()
        if self.metrics is not None:
            for status, n in counts.items():
                self.metrics.calllog_rows.labels(status).set(n)
        return counts
