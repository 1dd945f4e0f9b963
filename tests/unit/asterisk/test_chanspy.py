"""Supervisors on Asterisk: listen, whisper and barge are an Originate to the supervisor's
phone running ChanSpy on the agent's channel, with the options the Asterisk documentation
gives (docs.asterisk.org, Dialplan Applications, ChanSpy: ``ChanSpy([chanprefix,[options]])``;
q: no beep, E: exit when the spied-on channel hangs up, w: whisper, B: barge).

The call is a recorded one (shared fixtures, 06-blind-transfer); the ChanSpy actions are
checked against the documented syntax only: no recording with a supervisor exists yet and
this has not run against a live Asterisk."""

from __future__ import annotations

import asyncio

import pytest

from ctibridge.clock import FakeClock
from ctibridge.model.errors import BadRequest, CapabilityMissing
from ctibridge.model.events import CallAnswered, CallEnded, CallMonitored
from ctibridge.telephony.base import Capability, SupervisableConnector

from .fake_ami import FakeAmi, script_from
from .test_connector import MEMBERS, Run

REF = "1795572380.20"  # the recorded call's Linkedid
SUP = "PJSIP/6090"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def test_listen_whisper_barge_and_leave_are_chanspy_originates_and_a_hangup(
    clock: FakeClock,
) -> None:
    gate = asyncio.Event()
    script = script_from("06-blind-transfer.ami", gate=gate)
    async with FakeAmi([script], members=MEMBERS) as server, Run(server, clock) as run:
        assert isinstance(run.connector, SupervisableConnector)
        assert {Capability.LISTEN, Capability.WHISPER, Capability.BARGE} <= \
            run.connector.capabilities
        await run.connector.wait_up()
        gate.set()
        await run.event(CallAnswered, device="6001")

        await run.connector.monitor(REF, "6001", SUP, "listen")
        listening = await run.event(CallMonitored)
        assert (listening.ref, listening.device, listening.target, listening.mode) == (
            REF, SUP, "6001", "listen")
        [spy] = server.actions("Originate")
        agent_channel = "Local/6001@agents-0000000b;1"  # the recorded agent's live channel
        assert (spy["channel"], spy["application"], spy["data"]) == (
            SUP, "ChanSpy", f"{agent_channel},qE")
        assert spy["async"] == "true" and spy["channelid"].startswith("cti-spy-")

        await run.connector.monitor(REF, "6001", SUP, "whisper")
        await run.connector.monitor(REF, "6001", SUP, "barge")
        first, whisper, barge = server.actions("Originate")
        assert [whisper["data"], barge["data"]] == [f"{agent_channel},qEw",
                                                    f"{agent_channel},qEB"]
        # Each change of mode first hangs up the previous ChanSpy channel, by its id.
        assert [h["channel"] for h in server.actions("Hangup")] == [
            first["channelid"], whisper["channelid"]]

        await run.connector.hangup(REF, SUP)
        left = await run.event(CallEnded, device=SUP)
        assert left.cause == "monitor-stopped"
        assert server.actions("Hangup")[-1]["channel"] == barge["channelid"]


async def test_a_supervisor_phone_must_be_a_dial_string_and_chanspy_can_be_turned_off(
    clock: FakeClock,
) -> None:
    gate = asyncio.Event()
    script = script_from("06-blind-transfer.ami", gate=gate)
    async with FakeAmi([script], members=MEMBERS) as server, Run(server, clock) as run:
        await run.connector.wait_up()
        gate.set()
        await run.event(CallAnswered, device="6001")
        for bad in ("6090", "PJSIP/6090,B", "PJSIP/6090\r\nAction: Logoff"):
            with pytest.raises(BadRequest):
                await run.connector.monitor(REF, "6001", bad, "listen")
        assert server.actions("Originate") == []
    script = script_from("06-blind-transfer.ami", gate=asyncio.Event())
    async with FakeAmi([script], members=MEMBERS) as server, \
            Run(server, clock, chanspy=False) as run:
        assert Capability.LISTEN not in run.connector.capabilities
        with pytest.raises(CapabilityMissing):
            await run.connector.monitor(REF, "6001", SUP, "listen")
