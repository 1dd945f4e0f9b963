"""Agent state history: one row per state, closed when the next begins."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..model.agent import AgentState, AgentStatus
from .db import Database
from .tables import AgentStateRow

MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class AgentStateRecord:
    agent_id: str
    status: AgentStatus
    reason: str | None
    at: datetime
    ended_at: datetime | None  # None: the agent is still in this state
    deadline: datetime | None = None
    station: tuple[str, str] | None = None  # (platform, device) of a station login

    @property
    def state(self) -> AgentState:
        return AgentState(self.status, self.at, self.reason, self.deadline)


class AgentStateStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record_many(self, changes: Sequence[tuple[str, AgentState]]) -> None:
        """Append each (agent id, new state), in order, closing the agent's previous row."""
        if not changes:
            return
        async with self._db.session() as s:
            await self.record_in(s, changes)

    async def history(self, agent_id: str, limit: int = 50) -> list[AgentStateRecord]:
        """Newest first."""
        limit = max(1, min(limit, MAX_LIMIT))
        q = (
            select(AgentStateRow)
            .where(AgentStateRow.agent_id == agent_id)
            .order_by(AgentStateRow.at.desc(), AgentStateRow.id.desc())
            .limit(limit)
        )
        async with self._db.session() as s:
            rows = (await s.execute(q)).scalars()
            return [
                AgentStateRecord(r.agent_id, AgentStatus(r.status), r.reason, r.at, r.ended_at,
                                 r.deadline,
                                 (r.station_platform, r.station_device)
                                 if r.station_platform and r.station_device else None)
                for r in rows
            ]

    async def record_in(self, s: AsyncSession, changes: Sequence[tuple[str, AgentState]],
                        stations: Mapping[str, tuple[str, str] | None] | None = None) -> None:
        """``stations``: where each agent is logged in if not at their configured phone,
        recorded with each of their new rows."""
        if not changes:
            return
        by_agent: dict[str, list[AgentState]] = {}
        for agent_id, state in changes:
            by_agent.setdefault(agent_id, []).append(state)
        closes = []
        rows = []
        for agent_id, states in by_agent.items():
            # Whatever was open ends when the first new state begins; within the
            # batch each state ends when the next begins; the last stays open.
            closes.append({"a": agent_id, "end": states[0].since})
            station = (stations or {}).get(agent_id)
            for i, st in enumerate(states):
                rows.append({
                    "agent_id": agent_id,
                    "status": str(st.status),
                    "reason": st.reason,
                    "deadline": st.deadline,
                    "at": st.since,
                    "ended_at": states[i + 1].since if i + 1 < len(states) else None,
                    "station_platform": station[0] if station else None,
                    "station_device": station[1] if station else None,
                })
        # Core statements on the table, each run once with many parameter sets
        # (executemany): the ORM's per-row bulk paths cost more than the writes.
        table = cast(Table, AgentStateRow.__table__)
        await s.execute(
            update(table)
            .where(table.c.agent_id == bindparam("a"), table.c.ended_at.is_(None))
            .values(ended_at=bindparam("end")),
            closes,
        )
        await s.execute(insert(table), rows)
