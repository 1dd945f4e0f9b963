"""Agents' identities and their state history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ctibridge.model.agent import Agent, AgentState, AgentStatus
from ctibridge.store import AgentRecord, Store

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
LOGGED_OUT = AgentState(AgentStatus.LOGGED_OUT, T0)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def test_agents_are_upserted_and_listed(store: Store) -> None:
    alice = Agent("alice", "Alice", "1001", "sim", LOGGED_OUT, frozenset({"fr", "sales"}))
    await store.agents.upsert(alice)
    await store.agents.upsert(Agent("bob", "Bob", "1002", "sim", LOGGED_OUT))
    alice.name, alice.extension, alice.skills = "Alice B.", "2001", frozenset({"en"})
    await store.agents.upsert(alice)
    assert await store.agents.list() == [
        AgentRecord("alice", "Alice B.", "2001", "sim", frozenset({"en"})),
        AgentRecord("bob", "Bob", "1002", "sim", frozenset()),
    ]
    assert await store.agents.get("bob") == AgentRecord("bob", "Bob", "1002", "sim", frozenset())
    assert await store.agents.get("nobody") is None


async def test_a_new_state_closes_the_previous_row(store: Store) -> None:
    await store.agent_states.record_many([("alice", AgentState(AgentStatus.READY, at(0)))])
    await store.agent_states.record_many([("bob", AgentState(AgentStatus.READY, at(5)))])
    await store.agent_states.record_many(
        [("alice", AgentState(AgentStatus.NOT_READY, at(60), reason="lunch"))]
    )

    newest, older = await store.agent_states.history("alice", 10)
    assert (newest.status, newest.reason, newest.at, newest.ended_at) == (
        AgentStatus.NOT_READY, "lunch", at(60), None)
    assert (older.status, older.at, older.ended_at) == (AgentStatus.READY, at(0), at(60))
    assert older.at.tzinfo is UTC and older.ended_at is not None
    assert older.ended_at.tzinfo is UTC
    # Another agent's open row is left alone.
    [bob] = await store.agent_states.history("bob", 10)
    assert bob.ended_at is None


async def test_a_batch_chains_its_states_and_keeps_the_wrap_up_deadline(store: Store) -> None:
    wrap = AgentState(AgentStatus.WRAP_UP, at(30), deadline=at(90))
    await store.agent_states.record_many([
        ("alice", AgentState(AgentStatus.READY, at(0))),
        ("alice", AgentState(AgentStatus.BUSY, at(10))),
        ("alice", wrap),
    ])
    rows = await store.agent_states.history("alice", 10)
    assert [(r.status, r.at, r.ended_at) for r in rows] == [
        (AgentStatus.WRAP_UP, at(30), None),
        (AgentStatus.BUSY, at(10), at(30)),
        (AgentStatus.READY, at(0), at(10)),
    ]
    assert rows[0].state == wrap
    assert [r.status for r in await store.agent_states.history("alice", 2)] == [
        AgentStatus.WRAP_UP, AgentStatus.BUSY]
    assert await store.agent_states.history("nobody", 10) == []


async def test_a_state_keeps_the_station_the_agent_is_logged_in_at(store: Store) -> None:
    # Alice at station 2004 (not her configured phone), Bob at his own: nothing kept.
    await store.write(states=[("alice", AgentState(AgentStatus.NOT_READY, at(0))),
                              ("alice", AgentState(AgentStatus.READY, at(5))),
                              ("bob", AgentState(AgentStatus.READY, at(5)))],
                      stations={"alice": ("pbx", "2004"), "bob": None})
    assert [r.station for r in await store.agent_states.history("alice", 10)] == \
        [("pbx", "2004"), ("pbx", "2004")]
    [bob] = await store.agent_states.history("bob", 10)
    assert bob.station is None
