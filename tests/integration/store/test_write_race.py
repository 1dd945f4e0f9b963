"""The hub's write batch against a change made while that batch is being written.

The hub queues the same Interaction object each time it changes. A batch that read the
row, then awaited the database, must not forget a change made during that await: the
wrap-up it would lose is the call log that never happens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from ctibridge.config import Settings
from ctibridge.core.hub import Hub
from ctibridge.model.interaction import Interaction
from ctibridge.store import Store

from .test_interactions import T0, interaction


class SlowStore:
    """A real store whose write reads its rows first, then waits for the test: the
    moment a real write spends in the database after reading the objects."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.reading_done = asyncio.Event()
        self.release = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def write(self, *, interactions: Sequence[Interaction] = (),
                    states: Sequence[Any] = (), call_log: str | None = None,
                    stations: Any = None) -> None:
        rows = [replace(it, attached=dict(it.attached)) for it in interactions]
        self.reading_done.set()
        await self.release.wait()
        await self.store.write(interactions=rows, states=states, call_log=call_log,
                               stations=stations)


async def test_a_wrap_up_made_while_its_row_is_being_written_is_written_too(
    store: Store,
) -> None:
    slow = SlowStore(store)
    hub = Hub(Settings.load(None), {}, store=slow)  # type: ignore[arg-type]
    it = interaction("it-race", T0, call_id="call-1", accepted_at=T0,
                     ended_at=T0 + timedelta(minutes=2))
    hub.persist_interaction(it)
    first = asyncio.create_task(hub.persist_now())
    await slow.reading_done.wait()  # the batch has read the row without its wrap-up

    it.wrapped_at = T0 + timedelta(minutes=3)
    it.disposition = "resolved"
    hub.persist_interaction(it)  # the same object, queued again
    slow.release.set()
    await first
    await hub.persist_now()

    stored = await store.interactions.get("it-race")
    assert stored is not None
    assert stored.wrapped_at == T0 + timedelta(minutes=3) and stored.disposition == "resolved"
