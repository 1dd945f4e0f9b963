"""The simulator in "ctibridge routes" mode (routing="hub"): parked calls and ``deliver``.

Sequences are written from the contract (telephony/base.py RoutableConnector and
the simulator's docstring); time only moves through the FakeClock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ctibridge.clock import FakeClock
from ctibridge.model.agent import AgentStatus
from ctibridge.model.errors import CapabilityMissing, ConfigError, PlatformError
from ctibridge.model.events import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallQueued,
    PlatformEvent,
    PlatformResynced,
    PlatformStatus,
)
from ctibridge.model.party import Party
from ctibridge.telephony.base import Capability, RoutableConnector
from ctibridge.telephony.simulator import SimulatorConnector

READY = AgentStatus.READY
JEAN = Party(number="+33612345678", name="Jean Dupont")


class Recorder:
    """Reads ``events()`` like the hub does; ``take()`` returns what is new, by kind."""

    def __init__(self, sim: SimulatorConnector) -> None:
        self.seen: list[PlatformEvent] = []
        self._taken = 0
        self.task = asyncio.create_task(self._read(sim))

    async def _read(self, sim: SimulatorConnector) -> None:
        async for event in sim.events():
            self.seen.append(event)

    async def take(self) -> list[tuple[str, ...]]:
        for _ in range(3):
            await asyncio.sleep(0)
        new = self.seen[self._taken:]
        self._taken = len(self.seen)
        return [_brief(e) for e in new if not isinstance(e, AgentStateChanged)]


def _brief(e: PlatformEvent) -> tuple[str, ...]:
    """One event as a comparable tuple: (kind, ref, device/queue, cause)."""
    if isinstance(e, CallQueued):
        return ("queued", e.ref, e.queue)
    if isinstance(e, CallOffered):
        return ("offered", e.ref, e.device)
    if isinstance(e, CallAnswered):
        return ("answered", e.ref, e.device)
    if isinstance(e, CallEnded):
        return ("ended", e.ref, e.device or "-", e.cause)
    if isinstance(e, PlatformStatus):
        return ("status", "up" if e.up else "down")
    if isinstance(e, PlatformResynced):
        return ("resynced",)
    return (type(e).__name__,)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sim(clock: FakeClock) -> AsyncIterator[SimulatorConnector]:
    s = SimulatorConnector("cc", clock=clock, routing="hub", devices=["1001", "1002"],
                           queues=["support", "sales"], ring_timeout=15.0)
    await s.start()
    for d in s.devices:
        await s.set_agent_state(d, READY)
    yield s
    await s.stop()


@pytest.fixture
async def rec(sim: SimulatorConnector) -> AsyncIterator[Recorder]:
    r = Recorder(sim)
    await r.take()  # status, resync
    yield r
    r.task.cancel()


async def test_a_queued_call_is_parked_with_free_agents_and_nothing_rings(
        sim: SimulatorConnector, rec: Recorder, clock: FakeClock) -> None:
    ref = sim.customer_calls("support", number=JEAN.number, name=JEAN.name)
    await clock.advance(600)
    assert await rec.take() == [("queued", ref, "support")]
    view = sim.call_state(ref)
    assert view is not None and view.waiting and dict(view.legs) == {}


async def test_deliver_rings_the_chosen_device_and_it_answers(
        sim: SimulatorConnector, rec: Recorder) -> None:
    ref = sim.customer_calls("sales", number=JEAN.number)
    await sim.deliver(ref, "1002")  # not the longest idle one: the hub chose
    await sim.answer(ref, "1002")
    assert await rec.take() == [("queued", ref, "sales"), ("offered", ref, "1002"),
                                ("answered", ref, "1002")]


async def test_an_unanswered_ring_goes_back_to_the_park_with_a_new_queued_event(
        sim: SimulatorConnector, rec: Recorder, clock: FakeClock) -> None:
    ref = sim.customer_calls("support", number=JEAN.number)
    await sim.deliver(ref, "1001")
    await clock.advance(14.9)
    assert await rec.take() == [("queued", ref, "support"), ("offered", ref, "1001")]
    await clock.advance(0.2)
    # Queued again before the ring ends, so the call never looks over to the hub.
    assert await rec.take() == [("queued", ref, "support"), ("ended", ref, "1001", "no-answer")]
    await clock.advance(600)
    assert await rec.take() == []  # parked: nobody else is rung without the hub
    view = sim.call_state(ref)
    assert view is not None and view.waiting
    await sim.deliver(ref, "1002")  # the hub re-routes it
    assert await rec.take() == [("offered", ref, "1002")]


async def test_a_declined_delivery_goes_back_to_the_park(
        sim: SimulatorConnector, rec: Recorder) -> None:
    ref = sim.customer_calls("support", number=JEAN.number)
    await sim.deliver(ref, "1001")
    await sim.hangup(ref, "1001")
    assert await rec.take() == [("queued", ref, "support"), ("offered", ref, "1001"),
                                ("queued", ref, "support"), ("ended", ref, "1001", "rejected")]
    assert sim.device_state("1001").calls == frozenset()


async def test_a_caller_who_hangs_up_while_parked_is_abandoned(
        sim: SimulatorConnector, rec: Recorder, clock: FakeClock) -> None:
    ref = sim.customer_calls("support", number=JEAN.number)
    await clock.advance(30)
    sim.customer_hangs_up(ref)
    assert await rec.take() == [("queued", ref, "support"), ("ended", ref, "-", "abandoned")]
    with pytest.raises(PlatformError) as err:
        await sim.deliver(ref, "1001")
    assert err.value.code == "no-such-call"


async def test_a_caller_who_hangs_up_while_ringing_ends_the_call(
        sim: SimulatorConnector, rec: Recorder, clock: FakeClock) -> None:
    ref = sim.customer_calls("support", number=JEAN.number)
    await sim.deliver(ref, "1001")
    sim.customer_hangs_up(ref)
    await clock.advance(60)  # the ring timer is gone with the call
    assert await rec.take() == [("queued", ref, "support"), ("offered", ref, "1001"),
                                ("ended", ref, "-", "abandoned")]


async def test_deliver_refuses_a_busy_device_an_unknown_call_or_device_and_a_ringing_call(
        sim: SimulatorConnector, rec: Recorder) -> None:
    first = sim.customer_calls("support", number=JEAN.number)
    second = sim.customer_calls("support", number="+33611111111")
    await sim.deliver(first, "1001")
    await sim.answer(first, "1001")
    await rec.take()
    cases = [(second, "1001", "device-busy"), ("cc-999999", "1002", "no-such-call"),
             (second, "4242", "no-such-device"), (first, "1002", "not-queued")]
    for ref, device, code in cases:
        with pytest.raises(PlatformError) as err:
            await sim.deliver(ref, device)
        assert err.value.code == code, (ref, device)
        assert ref in str(err.value) or device in str(err.value)
    assert await rec.take() == []  # a refused delivery changes nothing
    view = sim.call_state(second)
    assert view is not None and view.waiting


async def test_deliver_refuses_a_logged_out_device(clock: FakeClock) -> None:
    sim = SimulatorConnector("cc", clock=clock, routing="hub", devices=["1001"])
    await sim.start()
    ref = sim.customer_calls(number=JEAN.number)
    with pytest.raises(PlatformError) as err:
        await sim.deliver(ref, "1001")
    assert err.value.code == "device-logged-out"
    await sim.stop()


async def test_a_not_ready_device_can_be_delivered_to_because_the_hub_decides(
        sim: SimulatorConnector, rec: Recorder) -> None:
    # The hub pauses devices on other platforms ("busy-elsewhere"); when it
    # routes, its own decision stands.
    await sim.set_agent_state("1001", AgentStatus.NOT_READY, "busy-elsewhere")
    ref = sim.customer_calls(number=JEAN.number)
    await sim.deliver(ref, "1001")
    assert await rec.take() == [("queued", ref, "support"), ("offered", ref, "1001")]


async def test_a_resync_shows_parked_calls_queued_and_delivered_ones_ringing(
        sim: SimulatorConnector, rec: Recorder) -> None:
    parked = sim.customer_calls("support", number=JEAN.number)
    ringing = sim.customer_calls("sales", number="+33611111111")
    await sim.deliver(ringing, "1002")
    await rec.take()
    sim.link_down()
    sim.link_up()
    await asyncio.sleep(0)
    resync = [e for e in rec.seen if isinstance(e, PlatformResynced)][-1]
    devices = {snap.ref: dict(snap.devices) for snap in resync.calls}
    assert devices == {parked: {"queue:support": "queued"},
                       ringing: {"1002": "alerting", "queue:sales": "queued"}}


async def test_only_hub_routing_declares_the_route_capability(clock: FakeClock) -> None:
    hub_routed = SimulatorConnector("a", clock=clock, routing="hub")
    acd = SimulatorConnector("b", clock=clock)
    assert isinstance(hub_routed, RoutableConnector)
    assert Capability.ROUTE in hub_routed.capabilities
    assert Capability.ROUTE not in acd.capabilities
    await acd.start()
    ref = acd.customer_calls(number=JEAN.number)
    with pytest.raises(CapabilityMissing):
        await acd.deliver(ref, "1001")
    await acd.stop()


async def test_platform_routing_still_distributes_by_itself(clock: FakeClock) -> None:
    sim = SimulatorConnector("cc", clock=clock, devices=["1001"])
    await sim.start()
    rec = Recorder(sim)
    await sim.set_agent_state("1001", READY)
    await rec.take()
    ref = sim.customer_calls(number=JEAN.number)
    assert await rec.take() == [("queued", ref, "support"), ("offered", ref, "1001")]
    rec.task.cancel()
    await sim.stop()


def test_the_routing_option_is_checked_and_named() -> None:
    assert SimulatorConnector.from_options("cc", {"routing": "hub"}, FakeClock()).routing == "hub"
    with pytest.raises(ConfigError) as err:
        SimulatorConnector.from_options("cc", {"routing": "acd"}, FakeClock())
    assert "options.routing" in str(err.value) and "'acd'" in str(err.value)
