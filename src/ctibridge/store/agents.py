"""Agents' identities (not their live state, which the hub keeps in memory)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..model.agent import Agent
from .db import Database
from .tables import AgentRow
from .upsert import upsert


@dataclass(frozen=True, slots=True)
class AgentRecord:
    agent_id: str
    name: str
    extension: str
    platform: str
    skills: frozenset[str]


def _values(agent: Agent) -> dict[str, Any]:
    return {
        "agent_id": agent.agent_id,
        "name": agent.name,
        "extension": agent.extension,
        "platform": agent.platform,
        "skills": sorted(agent.skills),
    }


class AgentStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert(self, agent: Agent) -> None:
        await self.upsert_many([agent])

    async def upsert_many(self, agents: Sequence[Agent]) -> None:
        if not agents:
            return
        async with self._db.session() as s:
            await self._upsert(s, agents)

    async def get(self, agent_id: str) -> AgentRecord | None:
        async with self._db.session() as s:
            row = await s.get(AgentRow, agent_id)
            return _record(row) if row is not None else None

    async def list(self) -> builtins.list[AgentRecord]:
        async with self._db.session() as s:
            rows = (await s.execute(select(AgentRow).order_by(AgentRow.agent_id))).scalars()
            return [_record(r) for r in rows]

    async def _upsert(self, s: AsyncSession, agents: Sequence[Agent]) -> None:
        latest = {a.agent_id: a for a in agents}  # one row per key per statement
        await upsert(s, AgentRow, [_values(a) for a in latest.values()])


def _record(row: AgentRow) -> AgentRecord:
    return AgentRecord(row.agent_id, row.name, row.extension, row.platform,
                       frozenset(row.skills or ()))
