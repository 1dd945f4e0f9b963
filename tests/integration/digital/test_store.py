"""Idempotency keys in the store: unique constraints, on SQLite and PostgreSQL,
even for two nodes (two Database objects) racing on the same message."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from ctibridge.store import Database
from ctibridge.store.digital import DigitalStore, Outcome

AT = datetime(2026, 1, 5, 9, tzinfo=UTC)


async def test_a_message_id_makes_one_interaction_however_often_it_comes(db: Database) -> None:
    store = DigitalStore(db)
    first = await store.record("web", "m1", conversation_id=None, new_interaction_id="i1", at=AT)
    again = await store.record("web", "m1", conversation_id=None, new_interaction_id="i2", at=AT)
    other = await store.record("sms", "m1", conversation_id=None, new_interaction_id="i3", at=AT)
    assert (first.interaction_id, first.outcome) == ("i1", Outcome.CREATED)
    assert (again.interaction_id, again.outcome) == ("i1", Outcome.DUPLICATE)
    assert other.outcome is Outcome.CREATED  # ids are per platform
    assert await store.count_messages("web") == 1


async def test_a_conversation_joins_until_closed_then_starts_anew(db: Database) -> None:
    store = DigitalStore(db)

    async def msg(mid: str, new: str) -> tuple[str, Outcome]:
        rec = await store.record("web", mid, conversation_id="c1", new_interaction_id=new, at=AT)
        return rec.interaction_id, rec.outcome

    assert await msg("m1", "i1") == ("i1", Outcome.CREATED)
    assert await msg("m2", "i2") == ("i1", Outcome.UPDATED)
    assert await msg("m2", "i3") == ("i1", Outcome.DUPLICATE)
    closed = await store.record_close("web", "m3", conversation_id="c1", at=AT)
    assert (closed.interaction_id, closed.outcome) == ("i1", Outcome.CLOSED)
    again = await store.record_close("web", "m3", conversation_id="c1", at=AT)
    assert again.outcome is Outcome.DUPLICATE
    assert await msg("m4", "i4") == ("i4", Outcome.CREATED)
    assert await store.close_interaction("web", "i4", AT)
    assert not await store.close_interaction("web", "i4", AT)
    assert await msg("m5", "i5") == ("i5", Outcome.CREATED)


async def test_concurrent_copies_from_two_nodes_make_one_interaction(db_url: str) -> None:
    nodes = [Database(db_url), Database(db_url)]
    for node in nodes:
        await node.start()
    try:
        stores = [DigitalStore(node) for node in nodes]
        recs = await asyncio.gather(*(
            stores[i % 2].record("web", "dup", conversation_id="conv",
                                 new_interaction_id=f"i{i}", at=AT) for i in range(12)))
        created = [r for r in recs if r.outcome is Outcome.CREATED]
        assert len(created) == 1
        assert {r.interaction_id for r in recs} == {created[0].interaction_id}
        assert {r.outcome for r in recs} - {Outcome.CREATED} == {Outcome.DUPLICATE}
        assert await stores[0].count_messages("web") == 1
    finally:
        for node in nodes:
            await node.stop()
