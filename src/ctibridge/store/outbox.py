"""The call-log outbox: interactions waiting to be written into the CRM.

A row is inserted in the same transaction as the interaction's end (see
``Store.write``), so a crash can never lose one. Workers claim due rows with a
lease: a conditional UPDATE that only one node can win, on SQLite and
PostgreSQL alike. A row whose lease has expired (its worker died) is due again.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from .db import Database
from .tables import CallLogOutboxRow

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
# Sent, outcome unknown, and the CRM can neither de-duplicate nor be checked: an
# operator confirms (it is there) or re-sends (it is not). Never re-sent by itself.
UNCERTAIN = "uncertain"
WAITING = "waiting"  # for the agent to pick the record (log.fallback wait_for_agent)
SKIPPED = "skipped"  # not logged, on purpose, with the reason in last_error
STATUSES = (PENDING, DELIVERED, FAILED, UNCERTAIN, WAITING, SKIPPED)
AUTH_STATUSES = (401, 403)


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    interaction_id: str
    crm: str
    status: str
    attempts: int
    next_attempt_at: datetime
    lease_until: datetime | None
    lease_owner: str | None
    last_error: str | None
    activity_id: str | None
    created_at: datetime
    delivered_at: datetime | None
    in_doubt: bool = False
    last_status: int | None = None
    log_record: dict[str, Any] | None = None
    fallback_step: int = 0
    choices: list[Any] | None = None
    agent_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        def iso(d: datetime | None) -> str | None:
            return d.isoformat() if d else None

        return {"interaction_id": self.interaction_id, "crm": self.crm, "status": self.status,
                "attempts": self.attempts, "next_attempt_at": iso(self.next_attempt_at),
                "lease_until": iso(self.lease_until), "last_error": self.last_error,
                "last_status": self.last_status, "in_doubt": self.in_doubt,
                "activity_id": self.activity_id, "created_at": iso(self.created_at),
                "delivered_at": iso(self.delivered_at), "log_record": self.log_record,
                "choices": self.choices, "agent_id": self.agent_id,
                # A waiting row waits until then; any other row is due then.
                "wait_until": iso(self.next_attempt_at) if self.status == WAITING else None}


def _entry(row: CallLogOutboxRow) -> OutboxEntry:
    return OutboxEntry(row.interaction_id, row.crm, row.status, row.attempts,
                       row.next_attempt_at, row.lease_until, row.lease_owner, row.last_error,
                       row.activity_id, row.created_at, row.delivered_at,
                       bool(row.in_doubt), row.last_status, row.log_record,
                       int(row.fallback_step or 0), row.choices, row.agent_id)


async def add_to_outbox(s: AsyncSession, crm: str, interaction_ids: Sequence[str],
                        now: datetime) -> None:
    """Queue interactions for logging, inside the caller's transaction.

    Insert-or-ignore: an interaction written again (a late note, a retried
    batch) keeps its one row, whatever state that row is in.
    """
    if not interaction_ids:
        return
    table = cast(Table, CallLogOutboxRow.__table__)
    rows = [{"interaction_id": iid, "crm": crm, "status": PENDING, "attempts": 0,
             "next_attempt_at": now, "lease_until": None, "lease_owner": None,
             "last_error": None, "activity_id": None, "created_at": now,
             "delivered_at": None, "in_doubt": False, "fallback_step": 0}
            for iid in dict.fromkeys(interaction_ids)]
    if s.get_bind().dialect.name == "postgresql":
        stmt: Any = pg_insert(table).on_conflict_do_nothing(index_elements=["interaction_id"])
    else:
        stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=["interaction_id"])
    await s.execute(stmt, rows)


class OutboxStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        # SQLite takes one writer at a time and makes the others sleep in its busy
        # handler (up to 100 ms a try): with 20 deliveries at once, queueing them here
        # instead is several times faster. PostgreSQL needs no such queue.
        self._lock = asyncio.Lock() if db.dialect == "sqlite" else None

    @contextlib.asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        if self._lock is None:
            async with self._db.session(write=True) as s:
                yield s
            return
        async with self._lock, self._db.session(write=True) as s:
            yield s

    async def add(self, crm: str, interaction_ids: Sequence[str], now: datetime) -> None:
        async with self._session() as s:
            await add_to_outbox(s, crm, interaction_ids, now)

    async def claim(self, owner: str, now: datetime, lease_seconds: float,
                    limit: int = 20, exclude: Collection[str] = ()
                    ) -> builtins.list[OutboxEntry]:
        """Take up to ``limit`` due rows for ``owner`` until ``now + lease_seconds``,
        leaving out ``exclude`` (rows this node is still delivering)."""
        row = CallLogOutboxRow
        free = or_(row.lease_until.is_(None), row.lease_until < now)
        due = (select(row.interaction_id)
               .where(row.status == PENDING, row.next_attempt_at <= now, free)
               .order_by(row.next_attempt_at).limit(limit))
        if exclude:
            due = due.where(row.interaction_id.not_in(list(exclude)))
        until = now + timedelta(seconds=lease_seconds)
        async with self._session() as s:
            ids = list((await s.execute(due)).scalars())
            if not ids:
                return []
            # One conditional UPDATE for the batch: the WHERE re-checks each lease, so
            # of two nodes racing for a row exactly one updates it, and RETURNING says
            # which rows this node won (SQLite 3.35+, PostgreSQL).
            won = list((await s.execute(
                update(row)
                .where(row.interaction_id.in_(ids), row.status == PENDING, free)
                .values(lease_until=until, lease_owner=owner, attempts=row.attempts + 1)
                .returning(row.interaction_id))).scalars())
            if not won:
                return []
            got = (await s.execute(select(row).where(row.interaction_id.in_(won))
                                   .execution_options(populate_existing=True))).scalars()
            by_id = {r.interaction_id: _entry(r) for r in got}
        return [by_id[i] for i in ids if i in by_id]

    async def release_owner(self, owner: str) -> int:
        """Free the leases a previous run of this very node left behind (it died)."""
        row = CallLogOutboxRow
        async with self._session() as s:
            result = await s.execute(
                update(row).where(row.lease_owner == owner, row.status == PENDING)
                .values(lease_until=None, lease_owner=None))
            return int(cast(Any, result).rowcount or 0)

    async def _owned(self, iid: str, owner: str, **values: Any) -> bool:
        """Update a row this worker holds (pending, leased by ``owner``), freeing the lease."""
        row = CallLogOutboxRow
        async with self._session() as s:
            result = await s.execute(
                update(row).where(row.interaction_id == iid, row.lease_owner == owner,
                                  row.status == PENDING)
                .values(lease_until=None, lease_owner=None, **values))
            return int(cast(Any, result).rowcount or 0) == 1

    async def sending(self, iid: str, owner: str, until: datetime, *,
                      in_doubt: bool = True) -> bool:
        """Said right before a write leaves; False if ``owner`` no longer holds the row
        (its lease ran out and someone else took it): then nothing must be sent.

        The lease is renewed to ``until`` so the write's own time cannot let another
        claim take the row while it is in flight. With ``in_doubt``, a write whose
        outcome is never known (timeout, crash) leaves the row in doubt, and nothing is
        sent again blindly."""
        row = CallLogOutboxRow
        values: dict[str, Any] = {"lease_until": until}
        if in_doubt:
            values["in_doubt"] = True
        async with self._session() as s:
            result = await s.execute(
                update(row).where(row.interaction_id == iid, row.lease_owner == owner,
                                  row.status == PENDING)
                .values(**values))
            return int(cast(Any, result).rowcount or 0) == 1

    async def delivered(self, iid: str, activity_id: str | None, now: datetime) -> None:
        row = CallLogOutboxRow
        async with self._session() as s:
            await s.execute(
                update(row).where(row.interaction_id == iid)
                .values(status=DELIVERED, activity_id=activity_id, delivered_at=now,
                        lease_until=None, lease_owner=None, last_error=None,
                        last_status=None, in_doubt=False, choices=None))

    async def retry_at(self, iid: str, owner: str, error: str, at: datetime, *,
                       status: int | None = None, in_doubt: bool | None = None) -> None:
        values: dict[str, Any] = {"next_attempt_at": at, "last_error": error,
                                  "last_status": status}
        if in_doubt is not None:
            values["in_doubt"] = in_doubt
        await self._owned(iid, owner, **values)

    async def failed(self, iid: str, owner: str, error: str, *, status: int | None = None
                     ) -> None:
        await self._owned(iid, owner, status=FAILED, last_error=error, last_status=status)

    async def uncertain(self, iid: str, owner: str, error: str, *,
                        status: int | None = None) -> None:
        await self._owned(iid, owner, status=UNCERTAIN, last_error=error, last_status=status,
                          in_doubt=True)

    async def skipped(self, iid: str, owner: str, reason: str, step: int) -> None:
        await self._owned(iid, owner, status=SKIPPED, last_error=reason, last_status=None,
                          fallback_step=step)

    async def waiting(self, iid: str, owner: str, *, until: datetime, step: int,
                      choices: builtins.list[dict[str, Any]], agent_id: str | None,
                      reason: str) -> None:
        await self._owned(iid, owner, status=WAITING, next_attempt_at=until,
                          fallback_step=step, choices=choices, agent_id=agent_id,
                          last_error=reason, last_status=None)

    async def set_record(self, iid: str, owner: str, record: dict[str, Any], step: int
                         ) -> None:
        """The record a fallback chose or created: kept, so a retry logs against it."""
        row = CallLogOutboxRow
        async with self._session() as s:
            await s.execute(update(row).where(row.interaction_id == iid,
                                              row.lease_owner == owner)
                            .values(log_record=record, fallback_step=step))

    async def expire_waits(self, now: datetime) -> int:
        """Rows whose agent did not pick in time go on to the next fallback step."""
        row = CallLogOutboxRow
        async with self._session() as s:
            result = await s.execute(
                update(row).where(row.status == WAITING, row.next_attempt_at <= now)
                .values(status=PENDING, next_attempt_at=now,
                        fallback_step=row.fallback_step + 1, choices=None))
            return int(cast(Any, result).rowcount or 0)

    async def pick(self, iid: str, record: dict[str, Any], now: datetime
                   ) -> OutboxEntry | None:
        """The agent's choice releases a waiting row: logged against ``record``, now."""
        row = CallLogOutboxRow
        async with self._session() as s:
            result = await s.execute(
                update(row).where(row.interaction_id == iid, row.status == WAITING)
                .values(status=PENDING, next_attempt_at=now, log_record=record,
                        choices=None, last_error=None))
            if int(cast(Any, result).rowcount or 0) != 1:
                return None
            got = await s.get(row, iid)
            return _entry(got) if got is not None else None

    async def release_refused(self, now: datetime) -> int:
        """The CRM takes our credentials again: every row it refused is due now."""
        row = CallLogOutboxRow
        async with self._session() as s:
            result = await s.execute(
                update(row).where(row.status == PENDING, row.last_status.in_(AUTH_STATUSES),
                                  row.next_attempt_at > now, row.lease_owner.is_(None))
                .values(next_attempt_at=now))
            return int(cast(Any, result).rowcount or 0)

    async def retry(self, iid: str, now: datetime) -> OutboxEntry | None:
        """An admin's retry: a failed, skipped, waiting or pending row becomes due now,
        attempts reset.

        A delivered row is left alone (delivering it again would be a no-op at best),
        and so is an uncertain one: it may be in the CRM already, so an operator says
        which (``confirm`` or ``resend``).
        """
        row = CallLogOutboxRow
        async with self._session() as s:
            await s.execute(
                update(row).where(row.interaction_id == iid,
                                  row.status.notin_((DELIVERED, UNCERTAIN)))
                .values(status=PENDING, attempts=0, next_attempt_at=now, lease_until=None,
                        lease_owner=None, fallback_step=0, choices=None))
            got = await s.get(row, iid)
            return _entry(got) if got is not None else None

    async def retry_all(self, status: str, now: datetime) -> int:
        """``retry`` for every row in ``status`` (failed or skipped): how many."""
        if status not in (FAILED, SKIPPED):
            raise ValueError(f"only failed or skipped rows are retried in bulk, not {status}")
        row = CallLogOutboxRow
        async with self._session() as s:
            result = await s.execute(
                update(row).where(row.status == status)
                .values(status=PENDING, attempts=0, next_attempt_at=now, lease_until=None,
                        lease_owner=None, fallback_step=0, choices=None))
            return int(cast(Any, result).rowcount or 0)

    async def confirm(self, iid: str, activity_id: str | None, now: datetime
                      ) -> OutboxEntry | None:
        """An operator found the log in the CRM: an uncertain row is delivered."""
        row = CallLogOutboxRow
        async with self._session() as s:
            await s.execute(
                update(row).where(row.interaction_id == iid, row.status == UNCERTAIN)
                .values(status=DELIVERED, activity_id=activity_id, delivered_at=now,
                        in_doubt=False, lease_until=None, lease_owner=None))
            got = await s.get(row, iid)
            return _entry(got) if got is not None else None

    async def resend(self, iid: str, now: datetime) -> OutboxEntry | None:
        """An operator found no log in the CRM: an uncertain row is sent again, now."""
        row = CallLogOutboxRow
        async with self._session() as s:
            await s.execute(
                update(row).where(row.interaction_id == iid, row.status == UNCERTAIN)
                .values(status=PENDING, in_doubt=False, attempts=0, next_attempt_at=now,
                        lease_until=None, lease_owner=None))
            got = await s.get(row, iid)
            return _entry(got) if got is not None else None

    async def waiting_for(self, agent_id: str) -> builtins.list[OutboxEntry]:
        row = CallLogOutboxRow
        q = (select(row).where(row.status == WAITING, row.agent_id == agent_id)
             .order_by(row.created_at))
        async with self._session() as s:
            return [_entry(r) for r in (await s.execute(q)).scalars()]

    async def get(self, iid: str) -> OutboxEntry | None:
        async with self._session() as s:
            got = await s.get(CallLogOutboxRow, iid)
            return _entry(got) if got is not None else None

    async def list(self, status: str | None = None, limit: int = 100
                   ) -> builtins.list[OutboxEntry]:
        row = CallLogOutboxRow
        q = select(row)
        if status is not None:
            q = q.where(row.status == status)
        q = q.order_by(row.created_at.desc(), row.interaction_id).limit(max(1, min(limit, 1000)))
        async with self._session() as s:
            return [_entry(r) for r in (await s.execute(q)).scalars()]

    async def counts(self) -> dict[str, int]:
        row = CallLogOutboxRow
        q = select(row.status, func.count()).group_by(row.status)
        out = dict.fromkeys(STATUSES, 0)
        async with self._session() as s:
            for status, n in (await s.execute(q)).all():
                out[str(status)] = int(n)
        return out

    async def next_due(self) -> datetime | None:
        """When the earliest pending row falls due (None when nothing is pending)."""
        row = CallLogOutboxRow
        q = select(func.min(row.next_attempt_at)).where(row.status == PENDING)
        async with self._session() as s:
            value = (await s.execute(q)).scalar()
        if value is None:
            return None
        from .tables import UTCDateTime

        # func.min loses the column type on SQLite: put the zone back ourselves.
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return UTCDateTime().process_result_value(value, self._db.engine.dialect)
