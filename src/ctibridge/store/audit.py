"""The audit log: commands given on another agent's behalf, newest first on reading."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from .db import Database
from .tables import AuditRow

MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str  # username
    agent_id: str  # whom
    op: str  # what: "agent.not_ready", "agent.logout"…
    reason: str | None
    outcome: str  # "ok" or the error code of the refusal
    detail: str | None = None
    id: int | None = None  # given by the database

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "actor": self.actor,
                "agent_id": self.agent_id, "op": self.op, "reason": self.reason,
                "outcome": self.outcome, "detail": self.detail}


class AuditStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, entries: Sequence[AuditEntry]) -> None:
        """Append entries in one transaction (all or none)."""
        if not entries:
            return
        rows = [{"at": e.at, "actor": e.actor, "agent_id": e.agent_id, "op": e.op,
                 "reason": e.reason, "outcome": e.outcome, "detail": e.detail}
                for e in entries]
        async with self._db.session() as s:
            await s.execute(insert(AuditRow), rows)

    async def list(self, *, agent_id: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """Newest first; only about ``agent_id`` when given."""
        limit = max(1, min(limit, MAX_LIMIT))
        q = select(AuditRow).order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
        if agent_id is not None:
            q = q.where(AuditRow.agent_id == agent_id)
        async with self._db.session() as s:
            rows = (await s.execute(q)).scalars()
            return [AuditEntry(r.at, r.actor, r.agent_id, r.op, r.reason, r.outcome, r.detail,
                               r.id) for r in rows]
