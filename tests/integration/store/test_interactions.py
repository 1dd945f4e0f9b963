"""Interactions: upsert, read back exactly, list newest first."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from ctibridge.model.interaction import Interaction
from ctibridge.model.party import Channel, Direction, Party
from ctibridge.store import Store

PARIS = timezone(timedelta(hours=2))
T0 = datetime(2026, 3, 29, 10, 15, 30, 123456, tzinfo=PARIS)
ATTACHED = {
    "subject": 'Réclamation "urgente" l\'été',
    "ivr": "naïve — 日本語 — 🎧",
    "json-ish": '{"a": [1, 2]} \\ back\\slash',
    "multi": "line one\nline two\ttab",
    "empty": "",
}


def interaction(
    iid: str, created: datetime, agent: str | None = "alice", **kw: object
) -> Interaction:
    return Interaction(
        interaction_id=iid,
        channel=Channel.VOICE,
        direction=Direction.INBOUND,
        customer=Party("+33123456789", "Zoé O'Brien"),
        created_at=created,
        agent_id=agent,
        **kw,  # type: ignore[arg-type]
    )


def full(iid: str = "it-1") -> Interaction:
    return interaction(
        iid, T0, call_id="call-1", queue="sales", attached=dict(ATTACHED),
        queued_at=T0 + timedelta(seconds=1), offered_at=T0 + timedelta(seconds=5),
        accepted_at=T0 + timedelta(seconds=9), ended_at=T0 + timedelta(minutes=3),
        wrapped_at=T0 + timedelta(minutes=4), disposition="sale", notes="Rappeler «demain»",
        end_cause="normal",
    )


def _timestamps(it: Interaction) -> list[datetime]:
    return [d for d in (it.created_at, it.queued_at, it.offered_at, it.accepted_at,
                        it.ended_at, it.wrapped_at) if d is not None]


async def test_roundtrip_keeps_every_field_aware_datetimes_and_attached_json(
    store: Store,
) -> None:
    original = full()
    await store.interactions.save_many([original])
    back = await store.interactions.get("it-1")
    assert back == original  # aware datetimes compare by instant, to the microsecond
    assert back is not None
    assert back.attached == ATTACHED
    assert len(_timestamps(back)) == 6
    for d in _timestamps(back):
        assert d.tzinfo is UTC
    assert back.created_at == datetime(2026, 3, 29, 8, 15, 30, 123456, tzinfo=UTC)


async def test_saving_again_updates_every_field(store: Store) -> None:
    await store.interactions.save_many([full()])
    changed = replace(
        full(), channel=Channel.CHAT, direction=Direction.OUTBOUND,
        customer=Party(None, None), call_id=None, agent_id="bob", queue=None,
        attached={"k": "v"}, created_at=T0 - timedelta(days=1), queued_at=None,
        offered_at=None, accepted_at=None, ended_at=None, wrapped_at=None,
        disposition=None, notes=None, end_cause=None,
    )
    await store.interactions.save_many([changed])
    assert await store.interactions.get("it-1") == changed
    assert len(await store.interactions.list(limit=10)) == 1


async def test_a_batch_holding_one_interaction_twice_keeps_the_last(store: Store) -> None:
    first = interaction("it-2", T0)
    last = replace(first, disposition="done")
    await store.interactions.save_many([first, last])
    assert await store.interactions.get("it-2") == last


async def test_unknown_interaction_is_none(store: Store) -> None:
    assert await store.interactions.get("nope") is None
    assert await store.interactions.list() == []


async def test_list_is_newest_first_with_limit_agent_and_before(store: Store) -> None:
    its = [
        interaction(f"it-{i}", T0 + timedelta(minutes=i), agent="alice" if i % 2 else "bob")
        for i in range(6)
    ]
    await store.interactions.save_many(its[3:])  # order of writing must not matter
    await store.interactions.save_many(its[:3])

    assert [i.interaction_id for i in await store.interactions.list()] == [
        "it-5", "it-4", "it-3", "it-2", "it-1", "it-0"]
    assert [i.interaction_id for i in await store.interactions.list(limit=2)] == [
        "it-5", "it-4"]
    assert [i.interaction_id for i in await store.interactions.list(agent_id="alice")] == [
        "it-5", "it-3", "it-1"]
    page = await store.interactions.list(before=its[4].created_at, limit=2)
    assert [i.interaction_id for i in page] == ["it-3", "it-2"]
    assert await store.interactions.list(agent_id="carol") == []


async def test_known_says_which_interactions_the_store_has(store: Store) -> None:
    await store.interactions.save_many([full("it-1"), full("it-2")])
    assert await store.interactions.known(["it-2", "it-9", "it-1"]) == {"it-1", "it-2"}
    assert await store.interactions.known([]) == set()
