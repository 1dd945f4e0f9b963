"""The simulated contact center, seen as the hub sees it: commands in, events out.

Every expected sequence is written from the connector contract (DESIGN §3-4 and
the simulator's docstring); time only moves through the FakeClock.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from unittest.mock import ANY

import phonenumbers
import pytest

from ctibridge.clock import FakeClock
from ctibridge.model.agent import AgentStatus
from ctibridge.model.errors import CapabilityMissing, ConfigError, PlatformError
from ctibridge.model.events import (
    AgentStateChanged,
    CallAnswered,
    CallConferenced,
    CallDtmf,
    CallEnded,
    CallFailed,
    CallHeld,
    CallInitiated,
    CallOffered,
    CallQueued,
    CallRetrieved,
    CallSnapshot,
    CallTransferred,
    PlatformEvent,
    PlatformResynced,
    PlatformStatus,
)
from ctibridge.model.party import Direction, Party
from ctibridge.telephony.base import ALL_CAPABILITIES, Capability, Health, TelephonyConnector
from ctibridge.telephony.simulator import SimulatorConnector, TrafficGenerator
from ctibridge.telephony.simulator.customers import REASONS, generate_customers

READY, NOT_READY, LOGGED_OUT = AgentStatus.READY, AgentStatus.NOT_READY, AgentStatus.LOGGED_OUT
JEAN = Party(number="+33612345678", name="Jean Dupont")
IVR = {"customer_id": "C-10427", "reason": "billing", "language": "fr"}
OUTSIDE = "+33145678901"


class Recorder:
    """Reads ``events()`` like the hub does; ``take()`` returns what is new."""

    def __init__(self, sim: SimulatorConnector) -> None:
        self.seen: list[PlatformEvent] = []
        self._taken = 0
        self.task = asyncio.create_task(self._read(sim))

    async def _read(self, sim: SimulatorConnector) -> None:
        async for event in sim.events():
            self.seen.append(event)

    async def take(self) -> list[PlatformEvent]:
        for _ in range(3):
            await asyncio.sleep(0)
        new = self.seen[self._taken:]
        self._taken = len(self.seen)
        return new


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sim(clock: FakeClock) -> AsyncIterator[SimulatorConnector]:
    s = SimulatorConnector(clock=clock)
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
async def rec(sim: SimulatorConnector) -> Recorder:
    r = Recorder(sim)
    await r.take()  # the start announcement, tested on its own
    return r


async def ready(sim: SimulatorConnector, rec: Recorder, *devices: str) -> None:
    for device in devices:
        await sim.set_agent_state(device, READY)
    await rec.take()


async def answered_inbound(sim: SimulatorConnector, rec: Recorder, device: str = "1001") -> str:
    """Jean calls support and ``device`` (the only one ready) takes the call."""
    await ready(sim, rec, device)
    ref = sim.customer_calls("support", number=JEAN.number, name=JEAN.name, attached=IVR)
    await sim.answer(ref, device)
    await rec.take()
    return ref


def queued(ref: str, caller: Party = JEAN, attached: dict[str, str] | None = None,
           queue: str = "support") -> CallQueued:
    return CallQueued(at=ANY, ref=ref, queue=queue, caller=caller,
                      attached=IVR if attached is None else attached)


def offered(ref: str, device: str, caller: Party = JEAN, queue: str = "support") -> CallOffered:
    return CallOffered(at=ANY, ref=ref, device=device, caller=caller, queue=queue, attached=IVR)


# ---------------------------------------------------------------- the link


async def test_start_announces_the_link_then_a_snapshot(clock: FakeClock) -> None:
    sim = SimulatorConnector(clock=clock)
    assert isinstance(sim, TelephonyConnector)
    assert not sim.health().up
    await sim.start()
    rec = Recorder(sim)
    assert await rec.take() == [
        PlatformStatus(at=clock.now(), up=True, detail="simulator"),
        PlatformResynced(at=clock.now(), calls=(), agents={
            d: (LOGGED_OUT, None) for d in ("1001", "1002", "1003", "1004")}),
    ]
    assert sim.health().up
    await sim.stop()
    await asyncio.wait_for(rec.task, 1)  # the event stream ends
    assert not sim.health().up


async def test_stop_cancels_every_timer(sim: SimulatorConnector, rec: Recorder,
                                        clock: FakeClock) -> None:
    await ready(sim, rec, "1001")
    sim.customer_calls("support")
    await sim.make_call("1002", OUTSIDE)
    await sim.stop()
    await clock.advance(60)
    assert clock.pending == 0
    assert sim.live_calls() == ()
    assert [type(e) for e in await rec.take()] == [CallQueued, CallOffered, CallInitiated]


async def test_link_down_loses_events_and_link_up_resyncs_the_live_calls(
    sim: SimulatorConnector, rec: Recorder, clock: FakeClock
) -> None:
    talking = await answered_inbound(sim, rec)
    leaving = sim.customer_calls("sales", number="+33499000000", attached={})
    await rec.take()

    sim.link_down("cable cut")
    assert await rec.take() == [PlatformStatus(at=ANY, up=False, detail="cable cut")]
    assert sim.health() == Health(False, "simulated link down: cable cut")
    with pytest.raises(PlatformError) as exc:
        await sim.hold(talking, "1001")
    assert exc.value.code == "platform-down"

    # The world goes on without the hub hearing of it.
    sim.customer_hangs_up(leaving)
    waiting = sim.customer_calls("sales", number="+41446681800", name="Lukas Meier",
                                 attached={})
    await clock.advance(5)
    sim.agent_changes_state_elsewhere("1002", NOT_READY, "lunch")
    assert await rec.take() == []

    sim.link_up()
    assert sim.health().up
    assert await rec.take() == [
        PlatformStatus(at=ANY, up=True, detail="simulator"),
        PlatformResynced(at=ANY, calls=(
            CallSnapshot(ref=talking, direction=Direction.INBOUND, customer=JEAN,
                         devices={"1001": "connected"}, queue="support", attached=IVR),
            CallSnapshot(ref=waiting, direction=Direction.INBOUND,
                         customer=Party("+41446681800", "Lukas Meier"),
                         devices={"queue:sales": "queued"}, queue="sales", attached={}),
        ), agents={"1001": (READY, None), "1002": (NOT_READY, "lunch"),
                   "1003": (LOGGED_OUT, None), "1004": (LOGGED_OUT, None)}),
    ]
    await sim.hold(talking, "1001")  # commands work again
    assert await rec.take() == [CallHeld(at=ANY, ref=talking, device="1001")]


async def test_a_snapshot_shows_every_party_as_the_hub_models_it(
    sim: SimulatorConnector, rec: Recorder
) -> None:
    away = await answered_inbound(sim, rec, "1001")
    await sim.blind_transfer(away, "1001", OUTSIDE)
    await ready(sim, rec, "1002")
    ringing = sim.customer_calls("support", number=JEAN.number, name=JEAN.name, attached=IVR)
    dialling = await sim.make_call("1003", "+33240000000")
    internal = await sim.make_call("1004", "1003")  # 1003 rings while dialling out
    sim.link_down()
    sim.link_up()
    resync = (await rec.take())[-1]
    assert isinstance(resync, PlatformResynced)
    assert {s.ref: s.devices for s in resync.calls} == {
        away: {OUTSIDE: "connected"},
        ringing: {"1002": "alerting", "queue:support": "queued"},
        dialling: {"1003": "initiated"},
        internal: {"1004": "initiated", "1003": "alerting"},
    }
    assert {s.ref: s.direction for s in resync.calls}[internal] == Direction.INTERNAL


async def test_commands_before_start_say_the_platform_is_down(clock: FakeClock) -> None:
    sim = SimulatorConnector(clock=clock)
    with pytest.raises(PlatformError) as exc:
        await sim.set_agent_state("1001", READY)
    assert exc.value.code == "platform-down"


# --------------------------------------------------------------- inbound


async def test_inbound_call_answered_then_the_customer_hangs_up(
    sim: SimulatorConnector, rec: Recorder
) -> None:
    await ready(sim, rec, "1001", "1002")
    ref = sim.customer_calls("support", number="06 12 34 56 78", name="Jean Dupont",
                             attached=IVR)
    assert await rec.take() == [queued(ref), offered(ref, "1001")]
    await sim.answer(ref, "1001")
    assert await rec.take() == [CallAnswered(at=ANY, ref=ref, device="1001")]
    sim.customer_hangs_up(ref)
    assert await rec.take() == [CallEnded(at=ANY, ref=ref, device=None,
                                          cause="customer-hangup")]
    assert sim.call_state(ref) is None
    assert sim.device_state("1001").after_call


async def test_answer_is_refused_unless_the_device_is_ringing(
    sim: SimulatorConnector, rec: Recorder
) -> None:
    await ready(sim, rec, "1001")
    ref = sim.customer_calls("support")
    with pytest.raises(PlatformError) as exc:
        await sim.answer(ref, "1002")
    assert exc.value.code == "not-on-call" and "1002" in exc.value.message
    await sim.answer(ref, "1001")
    with pytest.raises(PlatformError) as exc:
        await sim.answer(ref, "1001")
    assert exc.value.code == "not-ringing"


async def test_the_longest_idle_ready_device_gets_the_call(
    sim: SimulatorConnector, rec: Recorder
) -> None:
    await answered_inbound(sim, rec, "1001")
    await ready(sim, rec, "1002")
    sim.customer_hangs_up(sim.live_calls()[0].ref)
    await sim.set_agent_state("1001", READY)  # back from after-call work
    await rec.take()
    ref = sim.customer_calls("support")
    # 1002 has been idle since the start; 1001 just finished a call.
    assert [(type(e), getattr(e, "device", None)) for e in await rec.take()] == [
        (CallQueued, None), (CallOffered, "1002")]
    assert sim.call_state(ref).legs == {"1002": "alerting"}  # type: ignore[union-attr]


async def test_calls_go_to_devices_in_the_order_they_became_idle(
    sim: SimulatorConnector, rec: Recorder
) -> None:
    await ready(sim, rec, "1001", "1002", "1003", "1004")
    refs = {}
    for _ in range(3):  # ties broken by the order of devices
        ref = sim.customer_calls("support")
        [device] = sim.call_state(ref).legs  # type: ignore[union-attr]
        await sim.answer(ref, device)
        refs[device] = ref
    assert list(refs) == ["1001", "1002", "1003"]
    for device in ("1002", "1003", "1001"):
        sim.customer_hangs_up(refs[device])
        await sim.set_agent_state(device, READY)
    order = []
    for _ in range(4):
        [device] = sim.call_state(sim.customer_calls("sales")).legs  # type: ignore[union-attr]
        order.append(device)
    assert order == ["1004", "1002", "1003", "1001"]  # 1004 never had a call


async def test_unanswered_offer_moves_to_the_next_device_then_comes_back(
    sim: SimulatorConnector, rec: Recorder, clock: FakeClock
) -> None:
    await ready(sim, rec, "1001", "1002")
    t0 = clock.now()
    ref = sim.customer_calls("support", number=JEAN.number, name=JEAN.name, attached=IVR)
    assert await rec.take() == [queued(ref), offered(ref, "1001")]
    await clock.advance(19.9)
    assert await rec.take() == []
    await clock.advance(0.1)
    events = await rec.take()
    assert events == [CallEnded(at=ANY, ref=ref, device="1001", cause="no-answer"),
                      offered(ref, "1002")]
    assert events[0].at == t0 + timedelta(seconds=20)
    await clock.advance(20)
    # Everyone free has had it: a new round starts with the first one.
    assert await rec.take() == [CallEnded(at=ANY, ref=ref, device="1002", cause="no-answer"),
                                offered(ref, "1001")]
    assert not sim.device_state("1001").after_call  # a missed offer is not after-call work


async def test_declining_an_offer_sends_the_call_to_someone_else(
    sim: SimulatorConnector, rec: Recorder
) -> None:
    await ready(sim, rec, "1001", "1002")
    ref = sim.customer_calls("support", number=JEAN.number, name=JEAN.name, attached=IVR)
    await rec.take()
    await sim.hangup(ref, "1001")
    assert await rec.take() == [CallEnded(at=ANY, ref=ref, device="1001", cause="rejected"),
                                offered(ref, "1002")]


async def test_a_waiting_call_is_offered_when_a_device_becomes_ready(
    sim: SimulatorConnector, rec: Recorder
) -> None:
    first = sim.customer_calls("support", number=JEAN.number, name=JEAN.name, attached=IVR)
    second = sim.customer_calls("sales", number="+33499000000", attached={})
    assert [type(e) for e in await rec.take()] == [CallQueued, CallQueued]
    assert sim.call_state(first).waiting  # type: ignore[union-attr]
    await sim.set_agent_state("1003", READY)
    assert await rec.take() == [  # oldest first
        AgentStateChanged(at=ANY, device="1003", status=READY),
        offered(first, "1003")]
    await sim.set_agent_state("1004", READY)
    assert await rec.take() == [
        AgentStateChanged(at=ANY, device="1004", status=READY),
        CallOffered(at=ANY, ref=second, device="1004", caller=Party("+33499000000"),
                    queue="sales")]


async def test_abandon_while_queued(sim: SimulatorConnector, rec: Recorder) -> None:
    ref = sim.customer_calls("support", number=JEAN.number, name=JEAN.name, attached=IVR)
    sim.customer_hangs_up(ref)
    assert await rec.take() == [queued(ref), CallEnded(at=ANY, ref=ref, cause="abandoned")]
    await sim.set_agent_state("1001", READY)
    assert await rec.take() == [AgentStateChanged(at=ANY, device="1001", status=READY)]
    sim.customer_hangs_up(ref)  # again, or for a call that never was: nothing happens
    sim.customer_hangs_up("sim-999999")
    assert await rec.take() == []


async def test_abandon_while_ringing(sim: SimulatorConnector, rec: Recorder) -> None:
    await ready(sim, rec, "1001")
    ref = sim.customer_calls("support", number=JEAN.number, name=JEAN.name, attached=IVR)
    sim.customer_hangs_up(ref)
    assert await rec.take() == [queued(ref), offered(ref, "1001"),
                                CallEnded(at=ANY, ref=ref, device=None, cause="abandoned")]
    # The device never talked: no after-call work, the next caller rings at once.
    nxt = sim.customer_calls("support")
    assert [(type(e), e.ref) for e in await rec.take()] == [(CallQueued, nxt),
                                                           (CallOffered, nxt)]


async def test_after_call_work_holds_queue_calls_until_ready_is_sent_again(
    sim: SimulatorConnector, rec: Recorder, clock: FakeClock
) -> None:
    first = await answered_inbound(sim, rec)
    sim.customer_hangs_up(first)
    second = sim.customer_calls("support", number=JEAN.number, name=JEAN.name, attached=IVR)
    await clock.advance(120)
    assert await rec.take() == [CallEnded(at=ANY, ref=first, cause="customer-hangup"),
                                queued(second)]
    assert sim.device_state("1001").after_call
    # The hub's wrap-up: the platform is told "not ready (wrap-up)".
    await sim.set_agent_state("1001", AgentStatus.WRAP_UP)
    assert await rec.take() == [AgentStateChanged(at=ANY, device="1001", status=NOT_READY,
                                                  reason="wrap-up")]
    await sim.set_agent_state("1001", READY)
    assert await rec.take() == [AgentStateChanged(at=ANY, device="1001", status=READY),
                                offered(second, "1001")]


async def test_ready_sent_again_without_a_change_ends_after_call_work_silently(
    sim: SimulatorConnector, rec: Recorder
) -> None:
    first = await answered_inbound(sim, rec)
    sim.customer_hangs_up(first)
    second = sim.customer_calls("support", number=JEAN.number, name=JEAN.name, attached=IVR)
    await rec.take()
    await sim.set_agent_state("1001", READY)  # no wrap-up configured: straight back
    assert await rec.take() == [offered(second, "1001")]  # no echo: nothing changed


# ---------------------------------------------------------------- outbound


async def test_outbound_call_answered(sim: SimulatorConnector, rec: Recorder,
                                      clock: FakeClock) -> None:
    sim.set_outcome("02 40 00 00 00", "answer")
    t0 = clock.now()
    ref = await sim.make_call("1001", "0240000000", attached={"campaign": "renewals"})
    assert await rec.take() == [CallInitiated(
        at=ANY, ref=ref, device="1001", callee=Party(number="+33240000000"),
        direction=Direction.OUTBOUND, attached={"campaign": "renewals"})]
    await clock.advance(4)
    [answered] = await rec.take()
    assert answered == CallAnswered(at=ANY, ref=ref, device="1001")
    assert 1.0 <= (answered.at - t0).total_seconds() <= 4.0  # within answer_delay
    await sim.hangup(ref, "1001")
    assert await rec.take() == [CallEnded(at=ANY, ref=ref, device=None, cause="agent-hangup")]
    assert sim.device_state("1001").after_call


async def test_outbound_call_to_a_busy_number(sim: SimulatorConnector, rec: Recorder,
                                              clock: FakeClock) -> None:
    sim.set_outcome("+33240000001", "busy")
    ref = await sim.make_call("1001", "+33240000001")
    await clock.advance(4)
    assert await rec.take() == [
        CallInitiated(at=ANY, ref=ref, device="1001", callee=Party(number="+33240000001")),
        CallFailed(at=ANY, ref=ref, device="1001", cause="busy")]
    assert sim.call_state(ref) is None
    assert not sim.device_state("1001").after_call  # never talked


async def test_outbound_call_nobody_answers(sim: SimulatorConnector, rec: Recorder,
                                            clock: FakeClock) -> None:
    sim.set_outcome("+33240000002", "no-answer")
    ref = await sim.make_call("1001", "+33240000002")
    await rec.take()
    await clock.advance(19.9)
    assert await rec.take() == []
    await clock.advance(0.1)
    assert await rec.take() == [CallFailed(at=ANY, ref=ref, device="1001", cause="no-answer")]


async def test_an_invalid_number_is_refused_before_dialling(
    sim: SimulatorConnector, rec: Recorder
) -> None:
    for number in ("12", "not a number", "+3312345", ""):
        with pytest.raises(PlatformError) as exc:
            await sim.make_call("1001", number)
        assert exc.value.code == "invalid-number"
        assert repr(number) in exc.value.message
    assert await rec.take() == []
    assert sim.live_calls() == ()


async def test_an_agent_on_a_call_must_hold_it_before_dialling(
    sim: SimulatorConnector, rec: Recorder
) -> None:
    ref = await answered_inbound(sim, rec)
    with pytest.raises(PlatformError) as exc:
        await sim.make_call("1001", OUTSIDE)
    assert exc.value.code == "device-busy" and ref in exc.value.message
    await sim.hold(ref, "1001")
    second = await sim.make_call("1001", OUTSIDE)
    assert second != ref


async def test_cancelling_an_outbound_call_while_it_rings(
    sim: SimulatorConnector, rec: Recorder, clock: FakeClock
) -> None:
    sim.set_outcome(OUTSIDE, "answer")
    ref = await sim.make_call("1001", OUTSIDE)
    await sim.hangup(ref, "1001")
    await clock.advance(30)
    assert [type(e) for e in await rec.take()] == [CallInitiated, CallEnded]


async def test_unfixed_outcomes_are_seeded_and_mostly_answered(clock: FakeClock) -> None:
    async def outcomes(seed: int) -> list[str]:
        sim = SimulatorConnector(clock=clock, seed=seed, devices=[str(d) for d in range(40)])
        await sim.start()
        rec = Recorder(sim)
        for d in range(40):
            await sim.make_call(str(d), OUTSIDE)
        await clock.advance(30)
        got = [e.name if isinstance(e, CallAnswered) else e.cause
               for e in await rec.take() if isinstance(e, CallAnswered | CallFailed)]
        await sim.stop()
        return got

    first = await outcomes(3)
    assert first == await outcomes(3)
    assert len(first) == 40
    assert first.count("call.answered") >= 28
    assert {"busy", "no-answer"} & set(first)


# ---------------------------------------------------------------- internal


async def test_internal_call(sim: SimulatorConnector, rec: Recorder) -> None:
    ref = await sim.make_call("1001", "1002")
    assert await rec.take() == [
        CallInitiated(at=ANY, ref=ref, device="1001", callee=Party(number="1002"),
                      direction=Direction.INTERNAL),
        CallOffered(at=ANY, ref=ref, device="1002", caller=Party(number="1001"),
                    direction=Direction.INTERNAL)]
    await sim.answer(ref, "1002")
    assert await rec.take() == [CallAnswered(at=ANY, ref=ref, device="1002"),
                                CallAnswered(at=ANY, ref=ref, device="1001")]
    await sim.hangup(ref, "1002")
    assert await rec.take() == [CallEnded(at=ANY, ref=ref, cause="agent-hangup")]
    assert not sim.device_state("1001").after_call  # only customer calls


async def test_internal_call_nobody_answers(sim: SimulatorConnector, rec: Recorder,
                                            clock: FakeClock) -> None:
    ref = await sim.make_call("1001", "1002")
    await rec.take()
    await clock.advance(20)
    assert await rec.take() == [CallFailed(at=ANY, ref=ref, device="1002", cause="no-answer"),
                                CallEnded(at=ANY, ref=ref, cause="no-answer")]


async def test_a_device_cannot_call_itself(sim: SimulatorConnector) -> None:
    with pytest.raises(PlatformError) as exc:
        await sim.make_call("1001", "1001")
    assert exc.value.code == "bad-target"


# ------------------------------------------------------- hold, mute, dtmf


async def test_hold_and_retrieve(sim: SimulatorConnector, rec: Recorder) -> None:
    ref = await answered_inbound(sim, rec)
    await sim.hold(ref, "1001")
    assert await rec.take() == [CallHeld(at=ANY, ref=ref, device="1001")]
    assert sim.call_state(ref).legs == {"1001": "held"}  # type: ignore[union-attr]
    with pytest.raises(PlatformError) as exc:
        await sim.hold(ref, "1001")
    assert exc.value.code == "not-connected"
    with pytest.raises(PlatformError) as exc:
        await sim.mute(ref, "1001", True)
    assert exc.value.code == "not-connected"
    await sim.retrieve(ref, "1001")
    assert await rec.take() == [CallRetrieved(at=ANY, ref=ref, device="1001")]
    with pytest.raises(PlatformError) as exc:
        await sim.retrieve(ref, "1001")
    assert exc.value.code == "not-held"


async def test_mute_is_state_only(sim: SimulatorConnector, rec: Recorder) -> None:
    ref = await answered_inbound(sim, rec)
    await sim.mute(ref, "1001", True)
    assert sim.call_state(ref).muted == {"1001"}  # type: ignore[union-attr]
    await sim.mute(ref, "1001", False)
    assert sim.call_state(ref).muted == frozenset()  # type: ignore[union-attr]
    assert await rec.take() == []


async def test_dtmf_valid_and_invalid(sim: SimulatorConnector, rec: Recorder) -> None:
    ref = await answered_inbound(sim, rec)
    await sim.dtmf(ref, "1001", "0123456789*#ABCD")
    assert await rec.take() == [CallDtmf(at=ANY, ref=ref, device="1001",
                                         digits="0123456789*#ABCD")]
    for bad in ("", "12x", "a", "1 2", "E"):
        with pytest.raises(PlatformError) as exc:
            await sim.dtmf(ref, "1001", bad)
        assert exc.value.code == "bad-digits"
    assert await rec.take() == []


# ---------------------------------------------------------------- transfers


async def test_blind_transfer_to_a_device(sim: SimulatorConnector, rec: Recorder) -> None:
    ref = await answered_inbound(sim, rec)
    await sim.blind_transfer(ref, "1001", "1002")
    assert await rec.take() == [
        CallTransferred(at=ANY, ref=ref, from_device="1001", to_device="1002"),
        offered(ref, "1002")]
    assert sim.device_state("1001").after_call
    await sim.answer(ref, "1002")
    assert await rec.take() == [CallAnswered(at=ANY, ref=ref, device="1002")]
    sim.customer_hangs_up(ref)
    assert await rec.take() == [CallEnded(at=ANY, ref=ref, cause="customer-hangup")]


async def test_a_blind_transfer_nobody_takes_goes_back_to_the_queue(
    sim: SimulatorConnector, rec: Recorder, clock: FakeClock
) -> None:
    ref = await answered_inbound(sim, rec)
    await sim.blind_transfer(ref, "1001", "1002")
    await rec.take()
    await clock.advance(20)
    # Re-queued first: the customer is still there when 1002's leg goes.
    assert await rec.take() == [queued(ref),
                                CallEnded(at=ANY, ref=ref, device="1002", cause="no-answer")]
    assert sim.call_state(ref).waiting  # type: ignore[union-attr]
    await sim.set_agent_state("1003", READY)
    assert await rec.take() == [AgentStateChanged(at=ANY, device="1003", status=READY),
                                offered(ref, "1003")]
    await sim.answer(ref, "1003")
    sim.customer_hangs_up(ref)
    assert [type(e) for e in await rec.take()] == [CallAnswered, CallEnded]


async def test_blind_transfer_to_an_outside_number(
    sim: SimulatorConnector, rec: Recorder
) -> None:
    ref = await answered_inbound(sim, rec)
    await ready(sim, rec, "1002")
    await sim.blind_transfer(ref, "1001", "01 45 67 89 01")
    assert await rec.take() == [
        CallTransferred(at=ANY, ref=ref, from_device="1001", to_device=OUTSIDE)]
    # Off our agents: not offered to the free 1002, still alive until the customer leaves.
    view = sim.call_state(ref)
    assert view is not None and view.legs == {OUTSIDE: "connected"} and not view.waiting
    assert sim.device_state("1002").calls == frozenset()
    sim.customer_hangs_up(ref)
    assert await rec.take() == [CallEnded(at=ANY, ref=ref, cause="customer-hangup")]


async def test_consult_then_complete_the_transfer(
    sim: SimulatorConnector, rec: Recorder
) -> None:
    ref = await answered_inbound(sim, rec)
    consult = await sim.consult(ref, "1001", "1002")
    assert await rec.take() == [
        CallHeld(at=ANY, ref=ref, device="1001"),
        CallInitiated(at=ANY, ref=consult, device="1001", callee=Party(number="1002"),
                      direction=Direction.INTERNAL, consult_of=ref),
        CallOffered(at=ANY, ref=consult, device="1002", caller=Party(number="1001"),
                    direction=Direction.INTERNAL, consult_of=ref)]
    with pytest.raises(PlatformError) as exc:  # only once the colleague has answered
        await sim.complete_transfer(ref, consult, "1001")
    assert exc.value.code == "consult-not-answered"
    await sim.answer(consult, "1002")
    assert await rec.take() == [CallAnswered(at=ANY, ref=consult, device="1002"),
                                CallAnswered(at=ANY, ref=consult, device="1001")]
    await sim.complete_transfer(ref, consult, "1001")
    assert await rec.take() == [
        CallTransferred(at=ANY, ref=ref, from_device="1001", to_device="1002",
                        consult_ref=consult),
        CallEnded(at=ANY, ref=consult, device=None, cause="transferred")]
    assert sim.call_state(ref).legs == {"1002": "connected"}  # type: ignore[union-attr]
    assert sim.call_state(consult) is None
    assert sim.device_state("1001").after_call and sim.device_state("1001").calls == set()
    sim.customer_hangs_up(ref)
    assert await rec.take() == [CallEnded(at=ANY, ref=ref, cause="customer-hangup")]
    assert sim.device_state("1002").after_call


async def test_consult_then_conference(sim: SimulatorConnector, rec: Recorder) -> None:
    ref = await answered_inbound(sim, rec)
    consult = await sim.consult(ref, "1001", "1002")
    await sim.answer(consult, "1002")
    await rec.take()
    await sim.conference(ref, consult, "1001")
    assert await rec.take() == [
        CallConferenced(at=ANY, ref=ref, devices=("1001", "1002"), consult_ref=consult),
        CallEnded(at=ANY, ref=consult, device=None, cause="conferenced")]
    assert sim.call_state(ref).legs == {  # type: ignore[union-attr]
        "1001": "connected", "1002": "connected"}
    await sim.hangup(ref, "1001")  # the customer and 1002 go on
    assert await rec.take() == [CallEnded(at=ANY, ref=ref, device="1001", cause="agent-hangup")]
    await sim.hangup(ref, "1002")
    assert await rec.take() == [CallEnded(at=ANY, ref=ref, device=None, cause="agent-hangup")]


async def test_consult_cancelled_then_the_customer_is_retrieved(
    sim: SimulatorConnector, rec: Recorder
) -> None:
    ref = await answered_inbound(sim, rec)
    consult = await sim.consult(ref, "1001", "1002")
    await sim.answer(consult, "1002")
    await rec.take()
    await sim.hangup(consult, "1001")
    assert await rec.take() == [CallEnded(at=ANY, ref=consult, device=None,
                                          cause="agent-hangup")]
    assert sim.call_state(ref).legs == {"1001": "held"}  # type: ignore[union-attr]
    assert not sim.device_state("1002").after_call  # a consultation is not a customer call
    await sim.retrieve(ref, "1001")
    assert await rec.take() == [CallRetrieved(at=ANY, ref=ref, device="1001")]


async def test_cancel_consult_goes_back_to_the_held_caller_without_transferring(
    sim: SimulatorConnector, rec: Recorder
) -> None:
    ref = await answered_inbound(sim, rec)
    consult = await sim.consult(ref, "1001", "1002")
    await rec.take()
    await sim.cancel_consult(ref, consult, "1001")  # while 1002 is still ringing
    assert await rec.take() == [CallEnded(at=ANY, ref=consult, device=None, cause="cancelled"),
                                CallRetrieved(at=ANY, ref=ref, device="1001")]
    assert sim.call_state(ref).legs == {"1001": "connected"}  # type: ignore[union-attr]
    assert sim.call_state(consult) is None and sim.device_state("1002").calls == set()
    consult = await sim.consult(ref, "1001", "1002")  # again, answered this time
    await sim.answer(consult, "1002")
    await rec.take()
    with pytest.raises(PlatformError) as exc:
        await sim.cancel_consult(consult, ref, "1001")  # the pair the wrong way round
    assert exc.value.code == "not-a-consultation"
    await sim.cancel_consult(ref, consult, "1001")
    assert await rec.take() == [CallEnded(at=ANY, ref=consult, device=None, cause="cancelled"),
                                CallRetrieved(at=ANY, ref=ref, device="1001")]
    sim.customer_hangs_up(ref)
    assert await rec.take() == [CallEnded(at=ANY, ref=ref, cause="customer-hangup")]


async def test_a_consultation_nobody_answers_leaves_the_customer_on_hold(
    sim: SimulatorConnector, rec: Recorder, clock: FakeClock
) -> None:
    ref = await answered_inbound(sim, rec)
    consult = await sim.consult(ref, "1001", "1002")
    await rec.take()
    await clock.advance(20)
    assert await rec.take() == [
        CallFailed(at=ANY, ref=consult, device="1002", cause="no-answer"),
        CallEnded(at=ANY, ref=consult, device=None, cause="no-answer")]
    assert sim.call_state(ref).legs == {"1001": "held"}  # type: ignore[union-attr]


async def test_consult_an_outside_number_then_transfer(
    sim: SimulatorConnector, rec: Recorder, clock: FakeClock
) -> None:
    ref = await answered_inbound(sim, rec)
    sim.set_outcome(OUTSIDE, "answer")
    consult = await sim.consult(ref, "1001", OUTSIDE)
    await clock.advance(4)
    assert await rec.take() == [
        CallHeld(at=ANY, ref=ref, device="1001"),
        CallInitiated(at=ANY, ref=consult, device="1001", callee=Party(number=OUTSIDE),
                      direction=Direction.OUTBOUND, consult_of=ref),
        CallAnswered(at=ANY, ref=consult, device="1001")]
    await sim.complete_transfer(ref, consult, "1001")
    assert await rec.take() == [
        CallTransferred(at=ANY, ref=ref, from_device="1001", to_device=OUTSIDE,
                        consult_ref=consult),
        CallEnded(at=ANY, ref=consult, cause="transferred")]
    sim.customer_hangs_up(ref)
    assert await rec.take() == [CallEnded(at=ANY, ref=ref, cause="customer-hangup")]


async def test_a_busy_outside_consultation_ends(sim: SimulatorConnector, rec: Recorder,
                                                clock: FakeClock) -> None:
    ref = await answered_inbound(sim, rec)
    sim.set_outcome(OUTSIDE, "busy")
    consult = await sim.consult(ref, "1001", OUTSIDE)
    await clock.advance(4)
    assert (await rec.take())[2:] == [
        CallFailed(at=ANY, ref=consult, device="1001", cause="busy"),
        CallEnded(at=ANY, ref=consult, cause="busy")]


async def test_complete_transfer_checks_the_pair(sim: SimulatorConnector,
                                                 rec: Recorder) -> None:
    ref = await answered_inbound(sim, rec)
    other = await sim.make_call("1002", "1003")
    with pytest.raises(PlatformError) as exc:
        await sim.complete_transfer(ref, other, "1001")
    assert exc.value.code == "not-on-call"
    with pytest.raises(PlatformError) as exc:
        await sim.consult(ref, "1001", "1001")
    assert exc.value.code == "bad-target"


# ------------------------------------------------------------- agent state


async def test_agent_states_are_echoed_only_when_they_change(
    sim: SimulatorConnector, rec: Recorder
) -> None:
    await sim.set_agent_state("1001", NOT_READY, "login")
    await sim.set_agent_state("1001", NOT_READY, "login")
    await sim.set_agent_state("1001", NOT_READY, "lunch")
    await sim.set_agent_state("1001", LOGGED_OUT, "ignored")
    assert await rec.take() == [
        AgentStateChanged(at=ANY, device="1001", status=NOT_READY, reason="login"),
        AgentStateChanged(at=ANY, device="1001", status=NOT_READY, reason="lunch"),
        AgentStateChanged(at=ANY, device="1001", status=LOGGED_OUT, reason=None)]
    with pytest.raises(PlatformError) as exc:
        await sim.set_agent_state("1001", AgentStatus.BUSY)
    assert exc.value.code == "bad-state"


async def test_a_feature_code_on_the_phone_changes_the_state(
    sim: SimulatorConnector, rec: Recorder
) -> None:
    await ready(sim, rec, "1001")
    sim.agent_changes_state_elsewhere("1001", NOT_READY, "break")
    assert await rec.take() == [
        AgentStateChanged(at=ANY, device="1001", status=NOT_READY, reason="break")]
    sim.customer_calls("support")
    assert [type(e) for e in await rec.take()] == [CallQueued]  # paused: not offered


# -------------------------------------------------------------- bad input


async def test_unknown_devices_and_calls_are_named(sim: SimulatorConnector,
                                                   rec: Recorder) -> None:
    ref = await answered_inbound(sim, rec)
    with pytest.raises(PlatformError) as exc:
        await sim.set_agent_state("9999", READY)
    assert exc.value.code == "no-such-device" and "'9999'" in exc.value.message
    with pytest.raises(PlatformError) as exc:
        await sim.hold("sim-424242", "1001")
    assert exc.value.code == "no-such-call" and "sim-424242" in exc.value.message
    with pytest.raises(PlatformError) as exc:
        await sim.hold(ref, "9999")
    assert exc.value.code == "no-such-device"
    with pytest.raises(PlatformError) as exc:
        await sim.make_call("9999", OUTSIDE)
    assert exc.value.code == "no-such-device"
    with pytest.raises(PlatformError) as exc:
        sim.customer_calls("billing")
    assert exc.value.code == "no-such-queue" and "billing" in exc.value.message
    with pytest.raises(ValueError):
        sim.set_outcome(OUTSIDE, "voicemail")  # type: ignore[arg-type]


async def test_a_missing_capability_is_refused(clock: FakeClock) -> None:
    sim = SimulatorConnector(clock=clock, capabilities=ALL_CAPABILITIES - {Capability.HOLD})
    await sim.start()
    rec = Recorder(sim)
    await rec.take()
    ref = await answered_inbound(sim, rec)
    with pytest.raises(CapabilityMissing) as exc:
        await sim.hold(ref, "1001")
    assert exc.value.code == "capability-missing" and "hold" in exc.value.message
    with pytest.raises(CapabilityMissing):
        await sim.retrieve(ref, "1001")
    await sim.dtmf(ref, "1001", "1")  # the rest works
    assert [type(e) for e in await rec.take()] == [CallDtmf]
    await sim.stop()


# --------------------------------------------------------------- settings


def test_options_from_the_config_file(clock: FakeClock) -> None:
    sim = SimulatorConnector.from_options("pbx", {
        "seed": 7, "queues": ["vip"], "devices": [2001, "2002"], "ring_timeout": 15,
        "answer_delay": [0.5, 1], "capabilities": ["answer", "hangup"], "region": "be",
    }, clock)
    assert sim.name == "pbx" and sim.devices == ("2001", "2002") and sim.queues == ("vip",)
    assert sim.ring_timeout == 15.0 and sim.answer_delay == (0.5, 1.0)
    assert sim.capabilities == {Capability.ANSWER, Capability.HANGUP}
    assert sim.region == "BE" and sim.clock is clock


def test_bad_options_are_named_one_by_one(clock: FakeClock) -> None:
    with pytest.raises(ConfigError) as exc:
        SimulatorConnector.from_options("sim", {
            "ring_timeout": -1, "devices": [], "answer_delay": [4, 1], "colour": "blue",
            "capabilities": ["teleport"], "region": "XX", "seed": "abc",
        }, clock)
    fields = [e["field"] for e in exc.value.details["errors"]]
    assert fields == ["options.ring_timeout", "options.devices", "options.answer_delay",
                      "options.colour", "options.capabilities", "options.region",
                      "options.seed"]
    message = exc.value.message
    assert exc.value.code == "config-invalid"
    assert "options.ring_timeout: must be positive (got -1)" in message
    assert "options.colour: unknown option" in message and "teleport" in message


def test_constructor_refuses_nonsense() -> None:
    with pytest.raises(ConfigError) as exc:
        SimulatorConnector(devices=["1001", "1001"], ring_timeout=0)
    assert "devices has duplicates" in exc.value.message
    assert "ring_timeout" in exc.value.message


# ------------------------------------------------------- customers, seeds


def test_generated_customers_are_valid_and_varied() -> None:
    pool = generate_customers(42)
    assert len(pool) == 400 and len({c.number for c in pool}) == 400
    for c in pool:
        parsed = phonenumbers.parse(c.number)
        assert phonenumbers.is_valid_number(parsed), c
        assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) \
            == c.number
        assert c.name.strip() and re.fullmatch(r"C-\d{5}", c.customer_id)
        assert c.language in ("fr", "en")
    prefixes = {p for c in pool for p in ("+336", "+337", "+331", "+334", "+32", "+41",
                                          "+44", "+49", "+1") if c.number.startswith(p)}
    assert prefixes == {"+336", "+337", "+331", "+334", "+32", "+41", "+44", "+49", "+1"}
    french = sum(c.number.startswith("+33") for c in pool)
    assert 0.65 < french / len(pool) < 0.95


async def test_callers_come_with_ivr_data(sim: SimulatorConnector, rec: Recorder) -> None:
    sim.customer_calls("support")
    [event] = await rec.take()
    assert isinstance(event, CallQueued)
    assert event.caller.number in {c.number for c in sim.customers.pool}
    assert event.caller.name
    assert set(event.attached) == {"customer_id", "reason", "language"}
    assert event.attached["reason"] in REASONS


async def scripted_run(seed: int) -> tuple[list[PlatformEvent], list[str]]:
    """Traffic plus agents answering: everything a seed decides."""
    clock = FakeClock()
    sim = SimulatorConnector(clock=clock, seed=seed, ring_timeout=5, answer_delay=(1, 3))
    await sim.start()
    rec = Recorder(sim)
    for d in sim.devices[:3]:
        await sim.set_agent_state(d, READY)
    gen = TrafficGenerator(sim, clock=clock, calls_per_second=0.2, handle_time=(20, 5),
                           patience=(15, 5))
    run = asyncio.create_task(gen.run(duration=120))
    answered_every_other = False
    for _ in range(300):
        await clock.advance(1)
        for e in await rec.take():
            if isinstance(e, CallOffered):
                answered_every_other = not answered_every_other
                if answered_every_other:
                    with contextlib.suppress(PlatformError):  # the caller may have left
                        await sim.answer(e.ref, e.device)
            elif isinstance(e, CallEnded) and e.device is None:
                for d in sim.devices[:3]:
                    if sim.device_state(d).after_call:
                        await sim.set_agent_state(d, READY)
        if run.done():
            break
    await run
    await sim.make_call("1004", "+33240000000")
    await clock.advance(30)
    await sim.stop()
    await rec.task
    numbers = [e.caller.number or "" for e in rec.seen if isinstance(e, CallQueued)]
    return rec.seen, numbers


async def test_the_same_seed_gives_the_same_numbers_and_the_same_events() -> None:
    events, numbers = await scripted_run(11)
    again, numbers_again = await scripted_run(11)
    assert len(numbers) > 10
    assert numbers == numbers_again
    assert events == again
    other, other_numbers = await scripted_run(12)
    assert other_numbers != numbers


async def test_a_restarted_simulator_streams_again_and_keeps_agent_states(
    clock: FakeClock,
) -> None:
    sim = SimulatorConnector(clock=clock)
    await sim.start()
    await sim.set_agent_state("1001", READY)
    sim.customer_calls("support")
    await sim.stop()  # nobody was reading: the end marker is still queued
    await sim.start()
    rec = Recorder(sim)
    events = await rec.take()
    assert not rec.task.done()
    assert [type(e) for e in events] == [
        PlatformStatus, PlatformResynced, AgentStateChanged, CallQueued, CallOffered,
        PlatformStatus, PlatformResynced]
    assert events[-1].agents["1001"] == (READY, None)  # type: ignore[attr-defined]
    assert events[-1].calls == ()  # type: ignore[attr-defined]
    ref = sim.customer_calls("support")
    assert [(type(e), e.ref) for e in await rec.take()] == [  # type: ignore[attr-defined]
        (CallQueued, ref), (CallOffered, ref)]
    await sim.stop()
