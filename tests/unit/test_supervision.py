"""Queue statistics and the audit hook, on a FakeClock (no sockets)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ctibridge.clock import FakeClock
from ctibridge.config import Settings
from ctibridge.core.commands import Commands
from ctibridge.core.hub import Hub
from ctibridge.core.notifier import SUPERVISORS
from ctibridge.core.permissions import Principal
from ctibridge.core.supervision import QueueBoard, Supervision
from ctibridge.model.agent import AgentState, AgentStatus, Role
from ctibridge.model.errors import Forbidden
from ctibridge.model.events import CallAnswered, CallEnded, CallOffered, CallQueued
from ctibridge.model.party import Channel, Party
from ctibridge.store import Database
from ctibridge.store.audit import AuditStore
from ctibridge.telephony.simulator import SimulatorConnector

CUSTOMER = Party("+33612345678", "Camille Petit")
SAM = Principal("sam", frozenset({Role.SUPERVISOR}))
ALICE = Principal("alice", frozenset({Role.AGENT}), "alice")


def by_queue(stats: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["queue"]: s for s in stats}


# ------------------------------------------------------------------ the board


def test_waiting_count_and_longest_wait_follow_the_oldest_item_still_waiting() -> None:
    clock = FakeClock()
    t0 = clock.now()
    board = QueueBoard()
    board.queued("support", "c1", "voice", t0)
    board.queued("support", "c2", "voice", t0 + timedelta(seconds=10))
    board.queued("support", "i1", "chat", t0 + timedelta(seconds=15))
    s = by_queue(board.stats(t0 + timedelta(seconds=30)))["support"]
    assert (s["waiting"], s["longest_wait_seconds"]) == (3, 30.0)
    assert s["waiting_by_channel"] == {"chat": 1, "voice": 2}
    assert s["oldest_since"] == t0.isoformat()
    assert s["channels"] == ["chat", "voice"]
    assert s["service_level"] is None  # nothing answered or abandoned yet

    board.left("c1", t0 + timedelta(seconds=31), answered=True)
    s = by_queue(board.stats(t0 + timedelta(seconds=40)))["support"]
    assert (s["waiting"], s["longest_wait_seconds"]) == (2, 30.0)  # c2 since t0+10
    board.left("c2", t0 + timedelta(seconds=41), answered=True)
    board.left("i1", t0 + timedelta(seconds=41), answered=True)
    s = by_queue(board.stats(t0 + timedelta(seconds=50)))["support"]
    assert (s["waiting"], s["longest_wait_seconds"], s["oldest_since"]) == (0, 0.0, None)


def test_service_level_counts_answers_in_target_against_late_answers_and_real_abandons() -> None:
    t0 = FakeClock().now()
    board = QueueBoard({"support": 20.0}, abandon_threshold=5.0)

    def item(iid: str, waited: float, answered: bool) -> None:
        board.queued("support", iid, "voice", t0)
        board.left(iid, t0 + timedelta(seconds=waited), answered=answered)

    item("in-target", 12, True)
    item("on-target", 20, True)
    item("late", 35, True)
    item("quick-hang-up", 3, False)  # within the threshold: not held against the queue
    item("gave-up", 8, False)  # waited long enough to count as missed
    s = by_queue(board.stats(t0 + timedelta(seconds=60)))["support"]
    assert (s["answered"], s["answered_in_target"], s["abandoned"]) == (3, 2, 2)
    assert s["service_level"] == round(100 * 2 / 4, 1)  # 2 in target / (3 answered + 1 missed)
    assert s["sl_seconds"] == 20.0


def test_outcomes_leave_the_service_level_when_they_leave_the_window() -> None:
    t0 = FakeClock().now()
    board = QueueBoard(window_seconds=600)
    board.queued("sales", "late", "voice", t0)
    board.left("late", t0 + timedelta(seconds=60), answered=True)  # 60 s > 20 s default
    board.queued("sales", "good", "voice", t0 + timedelta(seconds=400))
    board.left("good", t0 + timedelta(seconds=405), answered=True)
    assert by_queue(board.stats(t0 + timedelta(seconds=500)))["sales"]["service_level"] == 50.0
    later = by_queue(board.stats(t0 + timedelta(seconds=700)))["sales"]
    assert (later["answered"], later["service_level"]) == (1, 100.0)
    gone = by_queue(board.stats(t0 + timedelta(seconds=1100)))["sales"]
    assert (gone["answered"], gone["service_level"]) == (0, None)


def test_an_item_queued_again_in_another_queue_moves_there_and_counts_there_only() -> None:
    t0 = FakeClock().now()
    board = QueueBoard()
    board.queued("support", "c1", "voice", t0)
    assert not board.queued("support", "c1", "voice", t0 + timedelta(seconds=5))  # no change
    board.queued("sales", "c1", "voice", t0 + timedelta(seconds=10))
    s = by_queue(board.stats(t0 + timedelta(seconds=12)))
    assert (s["support"]["waiting"], s["sales"]["waiting"]) == (0, 1)
    assert s["sales"]["longest_wait_seconds"] == 2.0
    assert not board.left("c1", t0 + timedelta(seconds=13), answered=True, queue="support")
    assert board.left("c1", t0 + timedelta(seconds=13), answered=True, queue="sales")
    assert not board.left("c1", t0 + timedelta(seconds=14), answered=True)  # once only


# ------------------------------------------------------------ the service


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_hub(clock: FakeClock, **overrides: Any) -> Hub:
    settings = Settings.load(None, wrap_up_seconds=0, agents=[
        {"id": "alice", "name": "Alice", "extension": "1001"},
        {"id": "bob", "name": "Bob", "extension": "1002"},
    ], **overrides)
    sim = SimulatorConnector("sim", clock=clock, seed=1, devices=["1001", "1002"])
    h = Hub(settings, {"sim": sim}, clock=clock)
    for a in h.agents.values():
        a.state = AgentState(AgentStatus.READY, clock.now())
    return h


def published(hub: Hub, stream: str, name: str) -> list[dict[str, Any]]:
    frames = [json.loads(f) for _, f in hub.notifier.stream(stream).buffer]
    return [f["data"] for f in frames if f["name"] == name]


async def test_queue_stats_follow_voice_calls_and_go_to_supervisors_only(clock: FakeClock) -> None:
    hub = make_hub(clock, queues=[{"name": "support", "channels": ["voice", "chat"],
                                   "sl_seconds": 15}])
    sup = Supervision(hub, interval=1.0)
    await sup.start()
    try:
        hub.apply("sim", CallQueued(at=clock.now(), ref="r1", queue="support", caller=CUSTOMER))
        await clock.advance(0)
        stats = published(hub, SUPERVISORS, "queue.stats")
        assert [q["waiting"] for q in stats[-1]["queues"]] == [1]
        assert stats[-1]["queues"][0]["sl_seconds"] == 15
        assert published(hub, "alice", "queue.stats") == []  # agents never get it

        await clock.advance(10)
        hub.apply("sim", CallOffered(at=clock.now(), ref="r1", device="1001", caller=CUSTOMER,
                                     queue="support"))
        hub.apply("sim", CallAnswered(at=clock.now(), ref="r1", device="1001"))
        await clock.advance(0)
        last = published(hub, SUPERVISORS, "queue.stats")[-1]["queues"][0]
        assert (last["waiting"], last["answered"], last["service_level"]) == (0, 1, 100.0)
        assert sup.queues()[0]["answered"] == 1  # what a new supervisor's snapshot holds
    finally:
        await sup.stop()


async def test_queue_stats_are_published_at_most_once_per_interval(clock: FakeClock) -> None:
    hub = make_hub(clock)
    sup = Supervision(hub, interval=1.0)
    await sup.start()
    try:
        for i in range(5):  # a burst of calls within the same second
            hub.apply("sim", CallQueued(at=clock.now(), ref=f"r{i}", queue="sales",
                                        caller=CUSTOMER))
        await clock.advance(0)
        counts = [s["queues"][0]["waiting"] for s in published(hub, SUPERVISORS, "queue.stats")]
        assert counts == [5]  # the burst came as one publication
        await clock.advance(0.5)
        hub.apply("sim", CallEnded(at=clock.now(), ref="r0", cause="abandoned"))
        await clock.advance(0.1)
        assert len(published(hub, SUPERVISORS, "queue.stats")) == 1  # too soon
        await clock.advance(0.5)  # the ticker's second is up
        last = published(hub, SUPERVISORS, "queue.stats")[-1]["queues"][0]
        assert (last["waiting"], last["abandoned"]) == (4, 1)
        await clock.advance(5)  # nothing changed: nothing published
        assert len(published(hub, SUPERVISORS, "queue.stats")) == 2
    finally:
        await sup.stop()


async def test_digital_items_count_in_their_queue_through_the_router_hooks(
        clock: FakeClock) -> None:
    hub = make_hub(clock)
    sup = Supervision(hub)
    await sup.start()
    try:
        t0 = clock.now()
        sup.item_queued("web", "i-1", Channel.CHAT, t0)
        sup.item_queued("web", "i-2", "email", t0)
        await clock.advance(30)
        sup.item_left("web", "i-1", clock.now(), answered=True)  # 30 s > 20 s target
        sup.item_left("other", "i-2", clock.now(), answered=True)  # not waiting there
        web = by_queue(sup.queues())["web"]
        assert (web["waiting"], web["waiting_by_channel"], web["answered"]) == (
            1, {"email": 1}, 1)
        assert web["service_level"] == 0.0
        await clock.advance(1)
        assert published(hub, SUPERVISORS, "queue.stats")[-1]["queues"][0]["waiting"] == 1
    finally:
        await sup.stop()


# ------------------------------------------------------------------ the audit


@pytest.fixture
async def hub(clock: FakeClock) -> AsyncIterator[Hub]:
    """A started hub: commands reach the (simulated) platform."""
    h = make_hub(clock)
    await h.start()
    try:
        yield h
    finally:
        await h.stop()


@pytest.fixture
async def audit_store(tmp_path: Path) -> AsyncIterator[AuditStore]:
    db = Database(f"sqlite:///{tmp_path / 'audit.db'}")
    await db.start()
    try:
        yield AuditStore(db)
    finally:
        await db.stop()


async def test_a_supervisor_command_on_another_agent_is_audited_with_who_whom_what_why_when(
        clock: FakeClock, hub: Hub, audit_store: AuditStore) -> None:
    sup = Supervision(hub, audit_store=audit_store)
    commands = Commands(hub)
    commands.audit = sup.audit
    await commands.execute(SAM, "agent.not_ready", {"agent_id": "alice", "reason": "training"})
    assert hub.agents["alice"].state.reason == "training"
    await clock.advance(60)
    await commands.execute(SAM, "agent.logout", {"agent_id": "alice", "reason": "meeting"})
    await commands.execute(ALICE, "agent.login", {})  # her own: not audited

    entries = await audit_store.list()
    assert [(e.actor, e.agent_id, e.op, e.reason, e.outcome) for e in entries] == [
        ("sam", "alice", "agent.logout", "meeting", "ok"),
        ("sam", "alice", "agent.not_ready", "training", "ok"),
    ]
    assert entries[1].at == clock.now() - timedelta(seconds=60)


async def test_an_agent_refused_on_a_colleague_is_audited_as_refused_and_changes_nothing(
        clock: FakeClock, hub: Hub, audit_store: AuditStore) -> None:
    sup = Supervision(hub, audit_store=audit_store)
    commands = Commands(hub)
    commands.audit = sup.audit
    before = hub.agents["bob"].state
    with pytest.raises(Forbidden):
        await commands.execute(ALICE, "agent.not_ready", {"agent_id": "bob", "reason": "break"})
    assert hub.agents["bob"].state == before
    [entry] = await audit_store.list(agent_id="bob")
    assert (entry.actor, entry.op, entry.outcome) == ("alice", "agent.not_ready", "forbidden")
    assert "bob" in (entry.detail or "")
    assert await audit_store.list(agent_id="alice") == []


async def test_an_audit_entry_the_store_refused_is_written_with_the_next_one(
        hub: Hub, tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'audit.db'}")
    store = AuditStore(db)  # not started yet: every write fails
    sup = Supervision(hub, audit_store=store)
    commands = Commands(hub)
    commands.audit = sup.audit
    result = await commands.execute(SAM, "agent.not_ready",
                                    {"agent_id": "alice", "reason": "break"})
    assert result["agent"]["state"]["reason"] == "break"  # the command itself went through
    await db.start()
    try:
        await commands.execute(SAM, "agent.ready", {"agent_id": "alice"})
        assert [e.op for e in await store.list()] == ["agent.ready", "agent.not_ready"]
    finally:
        await db.stop()
