"""Store.write: the hub's batched writes, all or nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from ctibridge.model.agent import AgentState, AgentStatus
from ctibridge.model.interaction import Interaction
from ctibridge.model.party import Channel, Direction, Party
from ctibridge.store import Store

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _it(iid: str) -> Interaction:
    return Interaction(iid, Channel.VOICE, Direction.INBOUND, Party("+331"), T0, agent_id="alice")


async def test_write_saves_interactions_and_states_together(store: Store) -> None:
    await store.write(interactions=[_it("w-1")],
                      states=[("alice", AgentState(AgentStatus.BUSY, T0))])
    assert await store.interactions.get("w-1") == _it("w-1")
    assert [r.status for r in await store.agent_states.history("alice", 5)] == [
        AgentStatus.BUSY]
    await store.write()  # nothing to do is fine


async def test_write_is_atomic_when_the_second_part_fails(store: Store) -> None:
    # An agent id of None breaks the NOT NULL constraint of agent_state_changes,
    # after the interaction was already sent to the database in the same transaction.
    bad = [(None, AgentState(AgentStatus.READY, T0))]
    with pytest.raises(IntegrityError):
        await store.write(interactions=[_it("w-2")], states=bad)  # type: ignore[arg-type]
    assert await store.interactions.get("w-2") is None
    assert await store.interactions.list() == []
    # And the database is still usable afterwards.
    await store.write(interactions=[_it("w-3")])
    assert await store.interactions.get("w-3") is not None
