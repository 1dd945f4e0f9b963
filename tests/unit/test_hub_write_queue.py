"""The hub's write queue: an interaction changed while a batch holding it is being
written is written again, never forgotten (interactions are changed in place)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from ctibridge.clock import FakeClock
from ctibridge.config import Settings
from ctibridge.core.hub import Hub
from ctibridge.model.interaction import Interaction
from ctibridge.model.party import Channel, Direction, Party

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
