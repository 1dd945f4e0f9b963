"""The core applied to normalized platform events (no platform, no sockets).

These feed the hub exactly what a connector emits and check the calls,
agent states and interactions it derives, and what it publishes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ctibridge.clock import FakeClock
from ctibridge.config import Settings
from ctibridge.core import hub as hub_module
from ctibridge.core.hub import Hub
from ctibridge.core.notifier import SUPERVISORS
from ctibridge.model.agent import AgentState, AgentStatus
from ctibridge.model.events import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallQueued,
    CallRetrieved,
    CallSnapshot,
    CallTransferred,
    PlatformResynced,
)
from ctibridge.model.party import Direction, Party

CUSTOMER = Party("+33612345678", "Camille Petit")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hub(clock: FakeClock) -> Hub:
    settings = Settings.load(None, wrap_up_seconds=30, agents=[
        {"id": "alice", "name": "Alice", "extension": "1001"},
        {"id": "bob", "name": "Bob", "extension": "1002"},
    ])
    h = Hub(settings, {}, clock=clock)
    for a in h.agents.values():
        a.state = AgentState(AgentStatus.READY, clock.now())
    return h


def events_for(hub: Hub, agent: str) -> list[str]:
    buffer = hub.notifier.stream(agent).buffer
    return [frame.split('"name":"')[1].split('"')[0] for _, frame in buffer]


def feed(hub: Hub, clock: FakeClock, *events: Any) -> None:
    for ev in events:
        hub.apply("sim", ev)


async def test_a_queued_call_is_answered_and_the_agent_wraps_up_then_is_ready(
    hub: Hub, clock: FakeClock
) -> None:
    at = clock.now()
    feed(hub, clock,
         CallQueued(ref="r1", at=at, queue="support", caller=CUSTOMER,
                    attached={"customer_id": "C-1"}),
         CallOffered(ref="r1", at=at, device="1001", caller=CUSTOMER, queue="support"),
         CallAnswered(ref="r1", at=at, device="1001"))
    call = hub.calls.by_ref("sim", "r1")
    assert call is not None and call.attached == {"customer_id": "C-1"}
    alice = hub.agents["alice"]
    assert alice.state.status == AgentStatus.BUSY
    feed(hub, clock, CallHeld(ref="r1", at=at, device="1001"),
         CallRetrieved(ref="r1", at=at, device="1001"),
         CallEnded(ref="r1", at=at, cause="customer-hangup"))
    assert alice.state.status == AgentStatus.WRAP_UP
    assert alice.calls == set()
    [pending] = hub.interactions.awaiting_wrap_up("alice")
    assert pending.end_cause == "customer-hangup" and pending.customer == CUSTOMER
    assert events_for(hub, "alice") == [
        "call.offered", "interaction.updated", "agent.state", "call.answered", "call.held",
        "call.retrieved", "interaction.updated", "call.ended", "agent.state"]
    await clock.advance(31)
    assert alice.state.status == AgentStatus.READY
    assert hub.interactions.recent("alice")[0].wrapped_at is not None


async def test_an_agent_not_ready_before_an_outbound_call_returns_not_ready(
    hub: Hub, clock: FakeClock
) -> None:
    hub.settings.wrap_up_seconds = 0
    alice = hub.agents["alice"]
    alice.state = AgentState(AgentStatus.NOT_READY, clock.now(), "admin")
    from ctibridge.model.events import CallInitiated

    at = clock.now()
    feed(hub, clock,
         CallInitiated(ref="o1", at=at, device="1001", callee=Party("+33145454545")),
         CallAnswered(ref="o1", at=at, device="1001"),
         CallEnded(ref="o1", at=at, cause="agent-hangup"))
    assert (alice.state.status, alice.state.reason) == (AgentStatus.NOT_READY, "admin")


async def test_a_blind_transfer_keeps_the_call_id_and_gives_each_agent_an_interaction(
    hub: Hub, clock: FakeClock
) -> None:
    at = clock.now()
    feed(hub, clock,
         CallQueued(ref="r1", at=at, queue="support", caller=CUSTOMER),
         CallOffered(ref="r1", at=at, device="1001", caller=CUSTOMER, queue="support"),
         CallAnswered(ref="r1", at=at, device="1001"))
    call_id = hub.calls.by_ref("sim", "r1").call_id  # type: ignore[union-attr]
    feed(hub, clock,
         CallTransferred(ref="r1", at=at, from_device="1001", to_device="1002"),
         CallOffered(ref="r1", at=at, device="1002", caller=CUSTOMER, queue="support"),
         CallAnswered(ref="r1", at=at, device="1002"))
    assert hub.calls.by_ref("sim", "r1").call_id == call_id  # type: ignore[union-attr]
    assert hub.agents["alice"].state.status == AgentStatus.WRAP_UP
    assert hub.agents["bob"].state.status == AgentStatus.BUSY
    feed(hub, clock, CallEnded(ref="r1", at=at, cause="customer-hangup"))
    alice_it = hub.interactions.awaiting_wrap_up("alice")[0]
    bob_it = hub.interactions.awaiting_wrap_up("bob")[0]
    assert alice_it.call_id == bob_it.call_id == call_id
    assert alice_it.end_cause == "transferred" and bob_it.end_cause == "customer-hangup"
    assert "call.transferred" in events_for(hub, "alice")


async def test_a_caller_abandoning_in_queue_leaves_an_interaction_without_agent(
    hub: Hub, clock: FakeClock
) -> None:
    persisted: list[Any] = []
    hub.store = object()
    hub.persist_interaction = persisted.append  # type: ignore[method-assign]
    at = clock.now()
    feed(hub, clock, CallQueued(ref="r9", at=at, queue="sales", caller=CUSTOMER),
         CallEnded(ref="r9", at=at, cause="abandoned"))
    [it] = persisted
    assert it.agent_id is None and it.end_cause == "abandoned" and it.queue == "sales"
    assert hub.calls.live() == []


async def test_resync_ends_ghost_calls_and_adds_the_ones_we_missed(
    hub: Hub, clock: FakeClock
) -> None:
    at = clock.now()
    feed(hub, clock,
         CallOffered(ref="ghost", at=at, device="1001", caller=CUSTOMER),
         CallAnswered(ref="ghost", at=at, device="1001"))
    feed(hub, clock, PlatformResynced(at=at, calls=(
        CallSnapshot(ref="new", direction=Direction.INBOUND, customer=CUSTOMER,
                     devices={"1002": "connected"}, queue="support"),
    ), agents={"1001": (AgentStatus.READY, None)}))
    assert hub.calls.by_ref("sim", "ghost").ended  # type: ignore[union-attr]
    assert hub.agents["alice"].calls == set()
    new = hub.calls.by_ref("sim", "new")
    assert new is not None and hub.agents["bob"].calls == {new.call_id}
    assert hub.agents["bob"].state.status == AgentStatus.BUSY


def frames_named(hub: Hub, stream: str, name: str) -> list[dict[str, Any]]:
    out = [json.loads(frame) for _, frame in hub.notifier.stream(stream).buffer]
    return [f["data"] for f in out if f["name"] == name]


def resync_keeping_bob_and_a_waiting_caller(hub: Hub, clock: FakeClock) -> None:
    at = clock.now()
    feed(hub, clock,
         CallOffered(ref="ghost", at=at, device="1001", caller=CUSTOMER),
         CallAnswered(ref="ghost", at=at, device="1001"),
         PlatformResynced(at=at, calls=(
             CallSnapshot(ref="bob", direction=Direction.INBOUND, customer=CUSTOMER,
                          devices={"1002": "connected"}, queue="support"),
             CallSnapshot(ref="waiting", direction=Direction.INBOUND, customer=CUSTOMER,
                          devices={"queue:support": "queued"}, queue="support"),
         ), agents={"1001": (AgentStatus.READY, None)}))


async def test_after_a_resync_supervisors_hear_every_live_call_of_the_platform_agents_theirs(
    hub: Hub, clock: FakeClock
) -> None:
    resync_keeping_bob_and_a_waiting_caller(hub, clock)
    bob_call, waiting = (hub.calls.by_ref("sim", r) for r in ("bob", "waiting"))
    assert bob_call is not None and waiting is not None
    bob_call.monitors["1090"] = ("sam", "listen")  # a silent listener: for supervisors only
    hub._tell_live_calls("sim")

    # One list per resync for the supervisors, never an agent's: each would make a
    # console drop everyone else's calls.
    lists = frames_named(hub, SUPERVISORS, "calls.live")
    assert len(lists) == 2 and all(set(d) == {"platform", "calls"} for d in lists)
    last = lists[-1]
    assert last["platform"] == "sim"
    assert [c["call_id"] for c in last["calls"]] == [bob_call.call_id, waiting.call_id]
    assert last["calls"][0]["monitors"] == [{"device": "1090", "by": "sam", "mode": "listen"}]
    # Agents: their own calls, as before, without the listener.
    [*_, bobs] = frames_named(hub, "bob", "calls.live")
    assert [c["call_id"] for c in bobs["calls"]] == [bob_call.call_id]
    assert bobs["calls"][0]["monitors"] == []
    assert frames_named(hub, "alice", "calls.live")[-1]["calls"] == []


async def test_a_long_supervisors_list_comes_in_parts_each_under_the_bound(
    hub: Hub, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = clock.now()
    feed(hub, clock, PlatformResynced(at=at, calls=tuple(
        CallSnapshot(ref=f"w{i}", direction=Direction.INBOUND, customer=CUSTOMER,
                     devices={"queue:support": "queued"}, queue="support") for i in range(7)),
        agents={}))
    live = [c.call_id for c in hub.calls.live()]
    [whole] = frames_named(hub, SUPERVISORS, "calls.live")
    assert [c["call_id"] for c in whole["calls"]] == live and "parts" not in whole

    def size(c: dict[str, Any]) -> int:
        return len(json.dumps(c, ensure_ascii=False, separators=(",", ":"))) + 1

    monkeypatch.setattr(hub_module, "LIVE_PART_CHARS", 3 * size(whole["calls"][0]))
    hub._tell_live_calls("sim")
    parts = frames_named(hub, SUPERVISORS, "calls.live")[1:]
    assert [(p["part"], p["parts"]) for p in parts] == [(1, 3), (2, 3), (3, 3)]
    assert [c["call_id"] for p in parts for c in p["calls"]] == live  # all, in order
    assert all(sum(map(size, p["calls"])) <= hub_module.LIVE_PART_CHARS for p in parts)


async def test_a_pause_made_elsewhere_during_a_call_applies_after_the_call(
    hub: Hub, clock: FakeClock
) -> None:
    hub.settings.wrap_up_seconds = 0
    at = clock.now()
    feed(hub, clock,
         CallOffered(ref="r1", at=at, device="1001", caller=CUSTOMER),
         CallAnswered(ref="r1", at=at, device="1001"),
         AgentStateChanged(at=at, device="1001", status=AgentStatus.NOT_READY, reason="lunch"))
    alice = hub.agents["alice"]
    assert alice.state.status == AgentStatus.BUSY
    feed(hub, clock, CallEnded(ref="r1", at=at, cause="customer-hangup"))
    assert (alice.state.status, alice.state.reason) == (AgentStatus.NOT_READY, "lunch")


async def test_the_platform_echo_of_our_own_change_changes_nothing(
    hub: Hub, clock: FakeClock
) -> None:
    alice = hub.agents["alice"]
    before = alice.state
    feed(hub, clock, AgentStateChanged(at=clock.now(), device="1001", status=AgentStatus.READY))
    assert alice.state is before and events_for(hub, "alice") == []
