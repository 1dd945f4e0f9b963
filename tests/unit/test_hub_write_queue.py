"""The hub's write queue: an interaction changed while a batch holding it is being
written is written again, never forgotten (interactions are changed in place)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from ctibridge.clock import FakeClock
from ctibridge.config import Settings
from ctibridge.core.commands import Commands
from ctibridge.core.hub import Hub
from ctibridge.core.permissions import Principal
from ctibridge.model.agent import Role
from ctibridge.model.interaction import Interaction
from ctibridge.model.party import Channel, Direction, Party
from ctibridge.telephony.simulator import SimulatorConnector

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


class SlowStore:
    """Writes only when told: a database busy with another transaction."""

    def __init__(self) -> None:
        self.writes: list[list[tuple[str, str | None, str | None]]] = []
        self.writing = asyncio.Event()
        self.go = asyncio.Event()

    async def write(self, *, interactions: Any = (), states: Any = (),
                    call_log: str | None = None, stations: Any = None) -> None:
        # The rows are read when the statement is built; the commit is awaited after.
        rows = [(it.interaction_id, it.disposition, it.notes) for it in interactions]
        self.writing.set()
        await self.go.wait()
        self.writes.append(rows)


async def test_a_wrap_up_changed_during_a_write_is_written_again() -> None:
    store = SlowStore()
    hub = Hub(Settings.load(None), {}, clock=FakeClock(), store=store)
    it = Interaction("i-1", Channel.VOICE, Direction.INBOUND, Party("+331"), T0,
                     agent_id="alice", accepted_at=T0, ended_at=T0, wrapped_at=T0)
    hub.persist_interaction(it)
    first = asyncio.create_task(hub.persist_wraps())  # a batch with i-1 is being written
    await store.writing.wait()
    store.writes.clear()
    # Meanwhile the agent's wrap-up lands: the same object, changed, queued again.
    it.disposition, it.notes = "resolved", "called back"
    hub.persist_interaction(it)
    second = asyncio.create_task(hub.persist_wraps())
    store.go.set()
    await asyncio.gather(first, second)
    # The first write had the row as it was; the change is written after it.
    assert store.writes == [[("i-1", None, None)], [("i-1", "resolved", "called back")]]
    await hub.persist_wraps()  # and nothing is left to write again
    assert len(store.writes) == 2


async def test_a_command_waits_for_its_own_wrap_up_on_disk_not_for_others() -> None:
    """In a busy center some wrap-up is always queued: Alice going on a break must not
    wait for Bob's to be written; her saving her own wrap-up must."""
    clock = FakeClock()
    settings = Settings.load(None, wrap_up_seconds=0, agents=[
        {"id": "alice", "name": "Alice", "extension": "1001"},
        {"id": "bob", "name": "Bob", "extension": "1002"}])
    sim = SimulatorConnector("sim", clock=clock, seed=1, devices=["1001", "1002"])
    hub = Hub(settings, {"sim": sim}, clock=clock)
    await hub.start()
    for _ in range(100):  # the simulator says it is up
        if hub.platforms["sim"].up:
            break
        await asyncio.sleep(0.01)
    store = SlowStore()  # the database, busy: nothing is written until it is told
    hub.store = store  # type: ignore[assignment]
    commands = Commands(hub)
    alice = Principal("alice", frozenset({Role.AGENT}), "alice")
    try:
        await commands.execute(alice, "agent.login", {})
        bobs = Interaction("i-bob", Channel.VOICE, Direction.INBOUND, Party("+331"), T0,
                           agent_id="bob", accepted_at=T0, ended_at=T0, wrapped_at=T0)
        hub.persist_interaction(bobs)  # his wrap-up ended by its timer: queued
        await asyncio.wait_for(commands.execute(alice, "agent.ready", {}), 2)
        assert not store.writing.is_set()  # answered without waiting for the database

        hers = Interaction("i-alice", Channel.VOICE, Direction.INBOUND, Party("+332"), T0,
                           agent_id="alice", accepted_at=T0, ended_at=T0, wrapped_at=T0)
        hub.interactions.keep(hers)
        saving = asyncio.create_task(commands.execute(
            alice, "interaction.wrap_up", {"interaction_id": "i-alice",
                                            "disposition": settings.dispositions[0].code}))
        await asyncio.wait_for(store.writing.wait(), 2)
        assert not saving.done()  # her ack waits for the write
        store.go.set()
        await asyncio.wait_for(saving, 2)
        assert {row[0] for row in store.writes[-1]} >= {"i-alice"}
    finally:
        hub.store = None
        await hub.stop()
