"""The digital simulator: seeded arrivals on a FakeClock, customers who write back,
the hub's commands reflected as events."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from typing import Any

import phonenumbers
import pytest

from ctibridge.clock import FakeClock
from ctibridge.digital.base import DigitalCapability, DigitalConnector, IntakeSink
from ctibridge.digital.simulator import DigitalSimulator
from ctibridge.model.agent import AgentStatus
from ctibridge.model.errors import CapabilityMissing, ConfigError, PlatformError
from ctibridge.model.events import (
    AgentStateChanged,
    DigitalResynced,
    InteractionAccepted,
    InteractionArrived,
    InteractionClosed,
    InteractionDeclined,
    PlatformEvent,
    PlatformStatus,
)
from ctibridge.model.party import Channel


def drain(sim: DigitalSimulator) -> list[PlatformEvent]:
    out = []
    while not sim._events.empty():
        event = sim._events.get_nowait()
        assert event is not None
        out.append(event)
    return out


async def run_for(seed: int, minutes: float, **kw: Any) -> list[PlatformEvent]:
    clock = FakeClock()
    sim = DigitalSimulator("digisim", clock=clock, seed=seed, **kw)
    await sim.start()
    await clock.advance(minutes * 60)
    events = drain(sim)
    await sim.stop()
    return events


async def test_it_follows_the_connector_contracts() -> None:
    sim = DigitalSimulator(clock=FakeClock(), per_minute=0)
    assert isinstance(sim, DigitalConnector) and isinstance(sim, IntakeSink)
    await sim.start()
    status, resync = drain(sim)
    assert isinstance(status, PlatformStatus) and status.up
    assert isinstance(resync, DigitalResynced) and resync.interactions == ()
    assert sim.health().up
    await sim.stop()
    assert not sim.health().up


async def test_the_same_seed_gives_the_same_arrivals_and_another_seed_others() -> None:
    a = await run_for(7, 60, per_minute=3)
    b = await run_for(7, 60, per_minute=3)
    c = await run_for(8, 60, per_minute=3)
    assert a == b
    assert [e for e in a if isinstance(e, InteractionArrived)] != \
        [e for e in c if isinstance(e, InteractionArrived)]


async def test_arrivals_follow_the_rate_and_the_channel_mix() -> None:
    events = await run_for(3, 120, per_minute=5, mix={"email": 5, "chat": 4, "sms": 1})
    arrived = [e for e in events if isinstance(e, InteractionArrived)]
    assert 500 <= len(arrived) <= 700  # 600 expected in two hours
    channels = Counter(e.channel for e in arrived)
    assert channels[Channel.EMAIL] > channels[Channel.CHAT] > channels[Channel.SMS] > 20
    assert Channel.SOCIAL not in channels
    times = [e.at for e in arrived]
    assert times == sorted(times)


async def test_senders_are_realistic_and_fit_their_channel() -> None:
    events = await run_for(11, 60, per_minute=4, mix={"email": 1, "chat": 1, "sms": 1,
                                                      "social": 1})
    arrived = [e for e in events if isinstance(e, InteractionArrived)]
    seen = set()
    for e in arrived:
        seen.add(e.channel)
        assert e.sender.name and e.body and e.preview and e.queue in ("support", "sales")
        assert e.attached["language"] in ("fr", "en")
        if e.channel is Channel.EMAIL:
            assert re.fullmatch(r"[a-z0-9.']+@[a-z0-9.-]+\.[a-z]+", e.sender.address or "")
            assert e.subject and e.body.splitlines()[-1] == e.sender.name
        elif e.channel is Channel.SOCIAL:
            assert (e.sender.handle or "").startswith("@")
        else:
            assert phonenumbers.is_valid_number(phonenumbers.parse(e.sender.number))
    assert seen == set(Channel) - {Channel.VOICE}
    french = [e for e in arrived if e.attached["language"] == "fr"]
    assert len(french) > len(arrived) / 2


async def test_a_chat_customer_writes_after_acceptance_and_answers_replies_then_leaves() -> None:
    clock = FakeClock()
    sim = DigitalSimulator(clock=clock, per_minute=0, reply_delay=(10, 10), chat_turns=(1, 1))
    await sim.start()
    ref = sim.arrive(Channel.CHAT)
    await sim.accept(ref, "alice")
    await clock.advance(10)  # the customer's one extra message
    mid = await sim.reply(ref, "alice", "Je regarde votre dossier.")
    await clock.advance(10)  # no turns left: goodbye and gone
    events = [e for e in drain(sim) if not isinstance(e, PlatformStatus | DigitalResynced)]
    kinds = [(type(e).__name__, getattr(e, "from_customer", None)) for e in events]
    assert kinds == [("InteractionArrived", None), ("InteractionAccepted", None),
                     ("InteractionMessage", True), ("InteractionMessage", False),
                     ("InteractionMessage", True), ("InteractionClosed", None)]
    assert events[3].message_id == mid and events[3].agent == "alice"  # type: ignore[attr-defined]
    assert isinstance(events[-1], InteractionClosed) and events[-1].by == "customer"
    assert sim.open_interactions() == ()
    await sim.stop()


async def test_commands_are_checked_and_reflected() -> None:
    clock = FakeClock()
    sim = DigitalSimulator(clock=clock, per_minute=0)
    closed: list[tuple[str, str]] = []

    async def listener(platform: str, ref: str) -> None:
        closed.append((platform, ref))

    sim.on_closed(listener)
    await sim.start()
    ref = sim.arrive(Channel.EMAIL)
    drain(sim)
    await sim.decline(ref, "bob", "not my queue")
    await sim.accept(ref, "alice")
    with pytest.raises(PlatformError) as err:
        await sim.accept(ref, "bob")
    assert err.value.code == "already-accepted"
    with pytest.raises(PlatformError) as err:
        await sim.close(ref, "bob", "resolved")
    assert err.value.code == "not-yours"
    await sim.close(ref, "alice", "resolved")
    with pytest.raises(PlatformError) as err:
        await sim.accept(ref, "alice")
    assert err.value.code == "unknown-interaction"
    events = drain(sim)
    assert [type(e) for e in events] == [InteractionDeclined, InteractionAccepted,
                                         InteractionClosed]
    assert events[-1] == InteractionClosed(ref=ref, at=clock.now(), by="agent", agent="alice",
                                           disposition="resolved")
    assert closed == [("digisim", ref)]
    await sim.stop()


async def test_agent_status_is_echoed_once_and_busy_is_refused() -> None:
    sim = DigitalSimulator(clock=FakeClock(), per_minute=0)
    await sim.set_agent_status("alice", AgentStatus.READY)
    await sim.set_agent_status("alice", AgentStatus.READY)
    await sim.set_agent_status("alice", AgentStatus.WRAP_UP)
    with pytest.raises(PlatformError):
        await sim.set_agent_status("alice", AgentStatus.BUSY)
    events = drain(sim)
    assert [(e.status, e.reason) for e in events if isinstance(e, AgentStateChanged)] == [
        (AgentStatus.READY, None), (AgentStatus.NOT_READY, "wrap-up")]


async def test_what_the_platform_cannot_do_is_refused_by_capability() -> None:
    sim = DigitalSimulator(clock=FakeClock(), per_minute=0,
                           capabilities=frozenset({DigitalCapability.ACCEPT}))
    ref = sim.arrive(Channel.CHAT)
    await sim.accept(ref, "alice")
    with pytest.raises(CapabilityMissing) as err:
        await sim.reply(ref, "alice", "hello")
    assert err.value.details == {"capability": "reply", "platform": "digisim"}


def test_bad_options_are_each_named() -> None:
    with pytest.raises(ConfigError) as err:
        DigitalSimulator.from_options("digisim", {"per_minute": -1, "mix": {"fax": 1},
                                                  "colour": "blue", "seed": 1},
                                      FakeClock())
    text = err.value.message
    assert "3 error(s)" in text
    assert "options.per_minute" in text and "options.colour: unknown option" in text
    assert "unknown channel(s) fax; known: chat, email, sms, social" in text


async def test_stopping_ends_the_stream_and_the_arrivals() -> None:
    clock = FakeClock()
    sim = DigitalSimulator(clock=clock, per_minute=60)
    await sim.start()
    got: list[PlatformEvent] = []

    async def consume() -> None:
        async for event in sim.events():
            got.append(event)

    reader = asyncio.create_task(consume())
    await clock.advance(30)
    await sim.stop()
    await asyncio.wait_for(reader, 1)
    before = len(got)
    await clock.advance(600)
    assert len(got) == before and any(isinstance(e, InteractionArrived) for e in got)
