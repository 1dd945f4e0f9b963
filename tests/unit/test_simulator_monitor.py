"""Supervisors on the simulated platform: listen, whisper and barge on an agent's call,
as the connector contract (telephony/base.py, SupervisableConnector) and the
simulator's docstring say, and as ChanSpy behaves on Asterisk (leaves with the agent)."""

from __future__ import annotations

from unittest.mock import ANY

import pytest

from ctibridge.model.errors import CapabilityMissing, PlatformError
from ctibridge.model.events import CallEnded, CallMonitored
from ctibridge.telephony.base import ALL_CAPABILITIES, Capability, SupervisableConnector
from ctibridge.telephony.simulator import SimulatorConnector

from .test_simulator import Recorder, answered_inbound, clock, rec, sim  # noqa: F401

SUP = "1004"  # a phone of the simulator's, the supervisor's


def monitored(ref: str, mode: str, target: str = "1001") -> CallMonitored:
    return CallMonitored(at=ANY, ref=ref, device=SUP, target=target, mode=mode)


async def test_a_supervisor_listens_then_whispers_then_barges_then_leaves(
    sim: SimulatorConnector, rec: Recorder,  # noqa: F811
) -> None:
    assert isinstance(sim, SupervisableConnector)
    ref = await answered_inbound(sim, rec)
    await sim.monitor(ref, "1001", SUP, "listen")
    assert await rec.take() == [monitored(ref, "listen")]
    assert sim.call_state(ref).monitors == {SUP: "listen"}
    # Not a party: the call's legs are the customer's agent only.
    assert set(sim.call_state(ref).legs) == {"1001"}
    await sim.monitor(ref, "1001", SUP, "whisper")
    await sim.monitor(ref, "1001", SUP, "barge")
    assert await rec.take() == [monitored(ref, "whisper"), monitored(ref, "barge")]
    await sim.hangup(ref, SUP)
    assert await rec.take() == [CallEnded(at=ANY, ref=ref, device=SUP,
                                          cause="monitor-stopped")]
    assert sim.call_state(ref).monitors == {} and sim.call_state(ref).legs == {"1001": "connected"}


async def test_the_supervisor_leaves_with_the_call_and_with_the_agent(
    sim: SimulatorConnector, rec: Recorder,  # noqa: F811
) -> None:
    ref = await answered_inbound(sim, rec)
    await sim.monitor(ref, "1001", SUP, "listen")
    await rec.take()
    sim.customer_hangs_up(ref)
    assert await rec.take() == [
        CallEnded(at=ANY, ref=ref, device=SUP, cause="call-ended"),
        CallEnded(at=ANY, ref=ref, device=None, cause="customer-hangup")]

    ref = await answered_inbound(sim, rec, "1002")
    await sim.monitor(ref, "1002", SUP, "whisper")
    await rec.take()
    await sim.blind_transfer(ref, "1002", "+33145678901")  # the agent leaves the call
    assert CallEnded(at=ANY, ref=ref, device=SUP, cause="agent-left") in await rec.take()


async def test_monitoring_is_refused_where_it_cannot_be(
    sim: SimulatorConnector, rec: Recorder,  # noqa: F811
) -> None:
    ref = await answered_inbound(sim, rec)
    with pytest.raises(PlatformError) as exc:
        await sim.monitor(ref, "1002", SUP, "listen")  # 1002 is not on that call
    assert exc.value.code == "not-on-call"
    with pytest.raises(PlatformError) as exc:
        await sim.monitor(ref, "1001", "9999", "listen")
    assert exc.value.code == "no-such-device"
    with pytest.raises(PlatformError) as exc:
        await sim.monitor(ref, "1001", SUP, "shout")
    assert exc.value.code == "bad-mode"
    await sim.monitor(ref, "1001", SUP, "listen")
    other = await answered_inbound(sim, rec, "1002")
    with pytest.raises(PlatformError) as exc:  # one call at a time on the supervisor's phone
        await sim.monitor(other, "1002", SUP, "listen")
    assert exc.value.code == "device-busy"
    # A busy supervisor's phone gets no queue call either.
    await sim.set_agent_state(SUP, "ready")  # type: ignore[arg-type]
    third = sim.customer_calls("support")
    assert SUP not in sim.call_state(third).legs


async def test_a_platform_without_barge_says_so(clock) -> None:  # noqa: F811
    nobarge = SimulatorConnector(clock=clock,
                                 capabilities=ALL_CAPABILITIES - {Capability.BARGE})
    await nobarge.start()
    events = Recorder(nobarge)
    await events.take()
    ref = await answered_inbound(nobarge, events)
    await nobarge.monitor(ref, "1001", SUP, "whisper")
    with pytest.raises(CapabilityMissing):
        await nobarge.monitor(ref, "1001", SUP, "barge")
    await nobarge.stop()
