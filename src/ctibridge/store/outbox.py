"""The call-log outbox: interactions waiting to be written into the CRM.

A row is inserted in the same transaction as the interaction's end (see
``Store.write``), so a crash can never lose one. Workers claim due rows with a
lease: a conditional UPDATE that only one node can win, on SQLite and
PostgreSQL alike. A row whose lease has expired (its worker died) is due again.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
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
STATUSES = (PENDING, DELIVERED, FAILED)


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

    def to_dict(self) -> dict[str, Any]:
        def iso(d: datetime | None) -> str | None:
            return d.isoformat() if d else None

        return {"interaction_id": self.interaction_id, "crm": self.crm, "status": self.status,
                "attempts": self.attempts, "next_attempt_at": iso(self.next_attempt_at),
                "lease_until": iso(self.lease_until), "last_error": self.last_error,
                "activity_id": self.activity_id, "created_at": iso(self.created_at),
                "delivered_at": iso(self.delivered_at)}


def _entry(row: CallLogOutboxRow) -> OutboxEntry:
    return OutboxEntry(row.interaction_id, row.crm, row.status, row.attempts,
                       row.next_attempt_at, row.lease_until, row.lease_owner, row.last_error,
                       row.activity_id, row.created_at, row.delivered_at)


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
             "delivered_at": None} for iid in dict.fromkeys(interaction_ids)]
    if s.get_bind().dialect.name == "postgresql":
        stmt: Any = pg_insert(table).on_conflict_do_nothing(index_elements=["interaction_id"])
    else:
        stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=["interaction_id"])
    await s.execute(stmt, rows)


class OutboxStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, crm: str, interaction_ids: Sequence[str], now: datetime) -> None:
        async with self._db.session(write=True) as s:
            await add_to_outbox(s, crm, interaction_ids, now)

    async def claim(self, owner: str, now: datetime, lease_seconds: float,
                    limit: int = 20) -> builtins.list[OutboxEntry]:
        """Take up to ``limit`` due rows for ``owner`` until ``now + lease_seconds``."""
        row = CallLogOutboxRow
        free = or_(row.lease_until.is_(None), row.lease_until < now)
        due = (select(row.interaction_id)
               .where(row.status == PENDING, row.next_attempt_at <= now, free)
               .order_by(row.next_attempt_at).limit(limit))
        until = now + timedelta(seconds=lease_seconds)
        claimed: list[OutboxEntry] = []
        async with self._db.session(write=True) as s:
            ids = list((await s.execute(due)).scalars())
        for iid in ids:
            # One short transaction per row: the WHERE re-checks the lease, so
            # of two nodes racing for a row exactly one updates it.
            async with self._db.session(write=True) as s:
                result = await s.execute(
                    update(row)
                    .where(row.interaction_id == iid, row.status == PENDING, free)
                    .values(lease_until=until, lease_owner=owner,
                            attempts=row.attempts + 1))
                if cast(Any, result).rowcount == 1:
                    got = await s.get(row, iid)
                    if got is not None:
                        claimed.append(_entry(got))
        return claimed

    async def release_owner(self, owner: str) -> int:
        """Free the leases a previous run of this very node left behind (it died)."""
        row = CallLogOutboxRow
        async with self._db.session(write=True) as s:
            result = await s.execute(
                update(row).where(row.lease_owner == owner, row.status == PENDING)
                .values(lease_until=None, lease_owner=None))
            return int(cast(Any, result).rowcount or 0)

    async def delivered(self, iid: str, activity_id: str | None, now: datetime) -> None:
        row = CallLogOutboxRow
        async with self._db.session(write=True) as s:
            await s.execute(
                update(row).where(row.interaction_id == iid)
                .values(status=DELIVERED, activity_id=activity_id, delivered_at=now,
                        lease_until=None, lease_owner=None, last_error=None))

    async def retry_at(self, iid: str, owner: str, error: str, at: datetime) -> None:
        row = CallLogOutboxRow
        async with self._db.session(write=True) as s:
            await s.execute(
                update(row).where(row.interaction_id == iid, row.lease_owner == owner,
                                  row.status == PENDING)
                .values(next_attempt_at=at, last_error=error, lease_until=None,
                        lease_owner=None))

    async def failed(self, iid: str, owner: str, error: str) -> None:
        row = CallLogOutboxRow
        async with self._db.session(write=True) as s:
            await s.execute(
                update(row).where(row.interaction_id == iid, row.lease_owner == owner,
                                  row.status == PENDING)
                .values(status=FAILED, last_error=error, lease_until=None, lease_owner=None))

    async def retry(self, iid: str, now: datetime) -> OutboxEntry | None:
        """An admin's retry: a failed (or pending) row becomes due now, attempts reset.

        A delivered row is left alone (returned as is): delivering it again
        would be a no-op at best.
        """
        row = CallLogOutboxRow
        async with self._db.session(write=True) as s:
            await s.execute(
                update(row).where(row.interaction_id == iid, row.status != DELIVERED)
                .values(status=PENDING, attempts=0, next_attempt_at=now, lease_until=None,
                        lease_owner=None))
            got = await s.get(row, iid)
            return _entry(got) if got is not None else None

    async def get(self, iid: str) -> OutboxEntry | None:
        async with self._db.session(write=True) as s:
            got = await s.get(CallLogOutboxRow, iid)
            return _entry(got) if got is not None else None

    async def list(self, status: str | None = None, limit: int = 100
                   ) -> builtins.list[OutboxEntry]:
        row = CallLogOutboxRow
        q = select(row)
        if status is not None:
            q = q.where(row.status == status)
        q = q.order_by(row.created_at.desc(), row.interaction_id).limit(max(1, min(limit, 1000)))
        async with self._db.session(write=True) as s:
            return [_entry(r) for r in (await s.execute(q)).scalars()]

    async def counts(self) -> dict[str, int]:
        row = CallLogOutboxRow
        q = select(row.status, func.count()).group_by(row.status)
        out = dict.fromkeys(STATUSES, 0)
        async with self._db.session(write=True) as s:
            for status, n in (await s.execute(q)).all():
                out[str(status)] = int(n)
        return out

    async def next_due(self) -> datetime | None:
        """When the earliest pending row falls due (None when nothing is pending)."""
        row = CallLogOutboxRow
        q = select(func.min(row.next_attempt_at)).where(row.status == PENDING)
        async with self._db.session(write=True) as s:
            value = (await s.execute(q)).scalar()
        if value is None:
            return None
        from .tables import UTCDateTime

        # func.min loses the column type on SQLite: put the zone back ourselves.
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return UTCDateTime().process_result_value(value, self._db.engine.dialect)
