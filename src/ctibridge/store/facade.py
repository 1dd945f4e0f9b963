"""The store as the hub uses it: every repository, and one-transaction writes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from argon2 import PasswordHasher

from ..model.agent import AgentState
from ..model.interaction import Interaction
from .agent_states import AgentStateStore
from .agents import AgentStore
from .db import Database
from .interactions import InteractionStore
from .outbox import OutboxStore, add_to_outbox
from .sessions import SessionStore
from .users import UserStore


def should_log(it: Interaction) -> bool:
    """Logged in the CRM: wrapped interactions where someone talked to the customer."""
    return it.wrapped_at is not None and it.accepted_at is not None


class Store:
    def __init__(self, db: Database, *, hasher: PasswordHasher | None = None) -> None:
        self.db = db
        self.users = UserStore(db, hasher)
        self.agents = AgentStore(db)
        self.interactions = InteractionStore(db)
        self.agent_states = AgentStateStore(db)
        self.outbox = OutboxStore(db)
        self.sessions = SessionStore(db)

    async def write(
        self,
        *,
        interactions: Sequence[Interaction] = (),
        states: Sequence[tuple[str, AgentState]] = (),
        call_log: str | None = None,
        stations: Mapping[str, tuple[str, str] | None] | None = None,
    ) -> None:
        """Save interactions and record agent states in ONE transaction: all or nothing.

        ``stations``: where agents are logged in if not at their configured phone
        (recorded with their states: a new core puts them back there).

        The hub batches its writes through here, off the event hot path. With
        ``call_log`` (the CRM's name), every wrapped interaction in which the
        agent talked to the customer also gets its call-log outbox row, in
        this same transaction: an interaction never ends without its log.
        """
        if not interactions and not states:
            return
        async with self.db.session(write=True) as s:
            await self.interactions.save_in(s, interactions)
            await self.agent_states.record_in(s, states, stations)
            if call_log is not None:
                due = [it for it in interactions if should_log(it)]
                if due:
                    now = max(it.wrapped_at for it in due if it.wrapped_at is not None)
                    await add_to_outbox(s, call_log, [it.interaction_id for it in due], now)

    async def ping(self) -> bool:
        """Whether the database answers (tells an outage from a bad row)."""
        from sqlalchemy import text

        try:
            async with self.db.session() as s:
                await s.execute(text("SELECT 1"))
        except Exception:
            return False
        return True
