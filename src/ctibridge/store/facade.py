"""The store as the hub uses it: every repository, and one-transaction writes."""

from __future__ import annotations

from collections.abc import Sequence

from argon2 import PasswordHasher

from ..model.agent import AgentState
from ..model.interaction import Interaction
from .agent_states import AgentStateStore
from .agents import AgentStore
from .db import Database
from .interactions import InteractionStore
from .users import UserStore


class Store:
    def __init__(self, db: Database, *, hasher: PasswordHasher | None = None) -> None:
        self.db = db
        self.users = UserStore(db, hasher)
        self.agents = AgentStore(db)
        self.interactions = InteractionStore(db)
        self.agent_states = AgentStateStore(db)

    async def write(
        self,
        *,
        interactions: Sequence[Interaction] = (),
        states: Sequence[tuple[str, AgentState]] = (),
    ) -> None:
        """Save interactions and record agent states in ONE transaction: all or nothing.

        The hub batches its writes through here, off the event hot path.
        """
        if not interactions and not states:
            return
        async with self.db.session() as s:
            await self.interactions._save(s, interactions)
            await self.agent_states._record(s, states)

    async def ping(self) -> bool:
        """Whether the database answers (tells an outage from a bad row)."""
        from sqlalchemy import text

        try:
            async with self.db.session() as s:
                await s.execute(text("SELECT 1"))
        except Exception:
            return False
        return True
