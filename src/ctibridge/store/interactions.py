"""Interactions: the call log and agents' history."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..model.interaction import Interaction
from ..model.party import Channel, Direction, Party
from .db import Database
from .tables import InteractionRow
from .upsert import upsert

MAX_LIMIT = 1000


def _values(it: Interaction) -> dict[str, Any]:
    return {
        "interaction_id": it.interaction_id,
        "call_id": it.call_id,
        "channel": str(it.channel),
        "direction": str(it.direction),
        "customer_number": it.customer.number,
        "customer_name": it.customer.name,
        "agent_id": it.agent_id,
        "queue": it.queue,
        "attached": dict(it.attached),
        "created_at": it.created_at,
        "queued_at": it.queued_at,
        "offered_at": it.offered_at,
        "accepted_at": it.accepted_at,
        "ended_at": it.ended_at,
        "wrapped_at": it.wrapped_at,
        "disposition": it.disposition,
        "notes": it.notes,
        "end_cause": it.end_cause,
        "crm_record": it.crm_record,
        "platform": it.platform,
        "platform_ref": it.platform_ref,
        "wrap_draft": dict(it.draft) if it.draft else None,
    }


def _model(row: InteractionRow) -> Interaction:
    return Interaction(
        interaction_id=row.interaction_id,
        channel=Channel(row.channel),
        direction=Direction(row.direction),
        customer=Party(row.customer_number, row.customer_name),
        created_at=row.created_at,
        call_id=row.call_id,
        agent_id=row.agent_id,
        queue=row.queue,
        attached=dict(row.attached or {}),
        queued_at=row.queued_at,
        offered_at=row.offered_at,
        accepted_at=row.accepted_at,
        ended_at=row.ended_at,
        wrapped_at=row.wrapped_at,
        disposition=row.disposition,
        notes=row.notes,
        end_cause=row.end_cause,
        crm_record=row.crm_record,
        platform=row.platform,
        platform_ref=row.platform_ref,
        draft=dict(row.wrap_draft) if row.wrap_draft else None,
    )


_TIMES = ("created_at", "queued_at", "offered_at", "accepted_at", "ended_at", "wrapped_at")


def to_journal(it: Interaction) -> dict[str, Any]:
    """An interaction as JSON, everything the store keeps (the cluster's journal)."""
    values = _values(it)
    for key in _TIMES:
        values[key] = values[key].isoformat() if values[key] is not None else None
    return values


def from_journal(values: dict[str, Any]) -> Interaction:
    data = dict(values)
    for key in _TIMES:
        data[key] = datetime.fromisoformat(data[key]) if data.get(key) else None
    return _model(InteractionRow(**data))


class InteractionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save_many(self, interactions: Sequence[Interaction]) -> None:
        """Insert new interactions and overwrite every field of known ones."""
        if not interactions:
            return
        async with self._db.session() as s:
            await self.save_in(s, interactions)

    async def get(self, interaction_id: str) -> Interaction | None:
        async with self._db.session() as s:
            row = await s.get(InteractionRow, interaction_id)
            return _model(row) if row is not None else None

    async def list(
        self, agent_id: str | None = None, limit: int = 50, before: datetime | None = None
    ) -> builtins.list[Interaction]:
        """Newest first; ``before`` (exclusive, on ``created_at``) pages back in time."""
        limit = max(1, min(limit, MAX_LIMIT))
        q = select(InteractionRow)
        if agent_id is not None:
            q = q.where(InteractionRow.agent_id == agent_id)
        if before is not None:
            q = q.where(InteractionRow.created_at < before)
        q = q.order_by(
            InteractionRow.created_at.desc(), InteractionRow.interaction_id.desc()
        ).limit(limit)
        async with self._db.session() as s:
            return [_model(r) for r in (await s.execute(q)).scalars()]

    async def unwrapped(self, channel: Channel = Channel.VOICE) -> builtins.list[Interaction]:
        """Interactions never wrapped up (a run ended with them live or in wrap-up),
        oldest first: what a starting hub sweeps (partial index: few rows, no scan)."""
        q = (select(InteractionRow).where(InteractionRow.wrapped_at.is_(None),
                                          InteractionRow.channel == str(channel))
             .order_by(InteractionRow.created_at, InteractionRow.interaction_id))
        async with self._db.session() as s:
            return [_model(r) for r in (await s.execute(q)).scalars()]

    async def known(self, interaction_ids: Sequence[str]) -> set[str]:
        """Which of these interactions the store has (one query per thousand)."""
        found: set[str] = set()
        ids = list(interaction_ids)
        async with self._db.session() as s:
            for i in range(0, len(ids), 1000):
                q = select(InteractionRow.interaction_id).where(
                    InteractionRow.interaction_id.in_(ids[i:i + 1000]))
                found.update((await s.execute(q)).scalars())
        return found

    async def last_created(self) -> datetime | None:
        """When the newest interaction began: the last sign of life of an earlier run."""
        async with self._db.session() as s:
            return (await s.execute(select(func.max(InteractionRow.created_at)))).scalar()

    async def save_in(self, s: AsyncSession, interactions: Sequence[Interaction]) -> None:
        # The last version of an interaction wins when the batch holds several.
        latest = {it.interaction_id: it for it in interactions}
        await upsert(s, InteractionRow, [_values(it) for it in latest.values()])
