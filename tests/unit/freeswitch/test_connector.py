"""The connector over a real socket against a fake event socket (fake_esl.py).

Link up -> status + resync; real capture events -> normalized events; commands ->
the api/bgapi commands FreeSWITCH documents; link loss -> down, capped back-off,
reconnect, a resync that drops the calls that ended meanwhile (no ghost); a refused
password retried slowly. Time moves only for back-offs (FakeClock).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from ctibridge.clock import FakeClock
from ctibridge.model.agent import AgentStatus
from ctibridge.model.errors import CapabilityMissing, ConfigError, PlatformError
from ctibridge.model.events import (
    CallAnswered,
    CallDtmf,
    CallInitiated,
    CallQueued,
    PlatformEvent,
    PlatformResynced,
    PlatformStatus,
)
from ctibridge.model.party import Direction, Party
from ctibridge.telephony.base import Capability
from ctibridge.telephony.freeswitch.connector import FreeSwitchConnector

from .fake_esl import FakeEsl, event_frames

AGENTS_UP = ("name|instance_id|uuid|type|contact|status|state\n"
             "6001@default|single_box||callback|user/6001@default|Available|Waiting\n"
             "6002@default|single_box||callback|user/6002@default|On Break|Waiting\n+OK\n")


@pytest.fixture
async def fake() -> AsyncIterator[FakeEsl]:
    server = FakeEsl(password="s3cret")
    server.api["callcenter_config agent list"] = AGENTS_UP
    server.api["callcenter_config queue list members support@default"] = "queue|uuid\n+OK\n"
    server.api["callcenter_config agent set status*"] = "+OK\n"
    server.api["uuid_*"] = "+OK\n"
    await server.start()
    yield server
    await server.stop()


class Run:
    def __init__(self, fake: FakeEsl, **over: Any) -> None:
        options: dict[str, Any] = {"host": "127.0.0.1", "port": fake.port,
                                   "password": "s3cret", "queues": ["support@default"],
                                   "agents": {"6001": {}, "6002": {}}, "ping_interval": 0}
        options.update(over)
        self.clock = FakeClock()
        self.c = FreeSwitchConnector.from_options("fs", options, self.clock)
        self.got: list[PlatformEvent] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Run:
        await self.c.start()
        self._task = asyncio.create_task(self._collect())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.c.stop()
        assert self._task is not None
        self._task.cancel()

    async def _collect(self) -> None:
        async for ev in self.c.events():
            self.got.append(ev)

    async def until(self, cond: Callable[[], bool]) -> None:
        for _ in range(2000):  # bounded: the events come from a local socket
            if cond():
                return
            await asyncio.sleep(0.005)
        raise AssertionError(f"never true; got {[e.name for e in self.got]}")

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.got if isinstance(e, kind)]


async def test_link_up_is_reported_then_the_snapshot(fake: FakeEsl) -> None:
    async with Run(fake) as r:
        await r.until(lambda: len(r.got) >= 2)
        up, snap = r.got[:2]
        assert isinstance(up, PlatformStatus) and up.up and "FreeSWITCH Version" in up.detail
        assert isinstance(snap, PlatformResynced) and snap.calls == ()
        assert snap.agents == {"6001": (AgentStatus.READY, None),
                               "6002": (AgentStatus.NOT_READY, None)}
        sub = next(c for c in fake.commands if c.startswith("event "))
        assert sub.startswith("event plain CHANNEL_CREATE") and "callcenter::info" in sub
        assert "show channels as json" in " ".join(fake.commands)


async def test_a_resync_asked_for_snapshots_freeswitch_again(fake: FakeEsl) -> None:
    async with Run(fake) as r:
        await r.until(lambda: len(r.of(PlatformResynced)) == 1)
        asked = " ".join(fake.commands).count("show channels as json")
        await r.c.resync()  # the hybrid edge asks, after a WAN cut
        await r.until(lambda: len(r.of(PlatformResynced)) == 2)
        assert " ".join(fake.commands).count("show channels as json") == asked + 1
        assert len(r.of(PlatformStatus)) == 1  # the link was not dropped


async def test_real_events_become_normalized_events(fake: FakeEsl) -> None:
    async with Run(fake) as r:
        await r.until(lambda: len(r.got) >= 2)
        await fake.push(*event_frames("01-inbound-answered.esl"))
        await r.until(lambda: any(e.name == "call.ended" for e in r.got))
        assert [e.name for e in r.got[2:]] == ["call.queued", "call.offered", "call.answered",
                                               "call.ended"]


async def queue_call_up(r: Run, fake: FakeEsl) -> str:
    await r.until(lambda: len(r.got) >= 2)
    frames = event_frames("09-dtmf.esl")
    bridge = next(n for n, f in enumerate(frames) if b"Event-Name: CHANNEL_BRIDGE" in f)
    await fake.push(*frames[:bridge + 1])  # up to the bridge, before the digits
    await r.until(lambda: bool(r.of(CallAnswered)))
    return str(r.of(CallQueued)[0].ref)


async def test_commands_are_the_documented_api_commands(fake: FakeEsl) -> None:
    async with Run(fake) as r:
        ref = await queue_call_up(r, fake)
        agent = r.c.normalizer.agent_leg(ref, "6001")
        customer = r.c.normalizer.customer_leg(ref)
        assert agent is not None and customer is not None
        await r.c.hold(ref, "6001")
        await r.c.retrieve(ref, "6001")
        await r.c.dtmf(ref, "6001", "12#")
        await r.c.blind_transfer(ref, "6001", "6002")
        consult = await r.c.consult(ref, "6001", "6002")
        await r.c.complete_transfer(ref, consult, "6001")
        await r.c.hangup(ref, "6001")
        sent = [c[4:] for c in fake.commands if c.startswith("api uuid_")]
        assert sent == [
            f"uuid_hold {agent.uuid}", f"uuid_hold off {agent.uuid}",
            f"uuid_send_dtmf {customer.uuid} 12#",
            f"uuid_transfer {agent.uuid} -bleg 6002 XML internal",
            f"uuid_broadcast {agent.uuid} att_xfer::user/6002@default",
            f"uuid_kill {agent.uuid} NORMAL_CLEARING", f"uuid_kill {agent.uuid} NORMAL_CLEARING"]
        assert r.of(CallDtmf)[-1] == CallDtmf(ref=ref, at=r.clock.now(), device="6001",
                                              digits="12#")
        assert r.c.normalizer.consult_refs[agent.uuid] == consult  # for the att_xfer event


async def test_a_refusal_is_a_platform_error_with_freeswitchs_reason(fake: FakeEsl) -> None:
    fake.api["uuid_hold*"] = "-ERR Operation failed\n"
    async with Run(fake) as r:
        ref = await queue_call_up(r, fake)
        with pytest.raises(PlatformError, match="Operation failed") as exc:
            await r.c.hold(ref, "6001")
        assert exc.value.code == "platform-refused"
        with pytest.raises(PlatformError) as no_leg:
            await r.c.hangup(ref, "6002")
        assert no_leg.value.code == "no-such-channel"
        with pytest.raises(PlatformError, match="not DTMF digits"):
            await r.c.dtmf(ref, "6001", "12; api fsctl shutdown")
        with pytest.raises(CapabilityMissing):
            await r.c.answer(ref, "6001")
        with pytest.raises(CapabilityMissing):
            await r.c.mute(ref, "6001", True)


async def test_click_to_call_originates_with_our_request_id(fake: FakeEsl) -> None:
    async with Run(fake) as r:
        await r.until(lambda: len(r.got) >= 2)
        ref = await r.c.make_call("6001", "0987654321", attached={"ticket": "T-9, urgent"})
        cmd = next(c for c in fake.commands if c.startswith("bgapi originate"))
        assert cmd.startswith(f"bgapi originate {{ctibridge_request={ref},")
        assert "cti_ticket=T-9__urgent" in cmd  # no separator can split the variable
        assert cmd.endswith("}user/6001@default 0987654321 XML internal")
        assert r.of(CallInitiated)[0] == CallInitiated(
            ref=ref, at=r.clock.now(), device="6001", callee=Party("0987654321"),
            direction=Direction.OUTBOUND, attached={"ticket": "T-9, urgent"})


async def test_a_failed_originate_is_a_call_failed(fake: FakeEsl) -> None:
    fake.bgapi_result = lambda cmd: "-ERR USER_BUSY\n"
    async with Run(fake) as r:
        await r.until(lambda: len(r.got) >= 2)
        ref = await r.c.make_call("6001", "0999999999")
        await r.until(lambda: any(e.name == "call.failed" for e in r.got))
        failed = next(e for e in r.got if e.name == "call.failed")
        assert failed.ref == ref and failed.cause == "busy" and failed.device == "6001"


async def test_agent_state_maps_to_callcenter_statuses(fake: FakeEsl) -> None:
    async with Run(fake, break_reasons={"lunch": "On Break"},
                   ready_status="Available (On Demand)") as r:
        await r.until(lambda: len(r.got) >= 2)
        await r.c.set_agent_state("6001", AgentStatus.READY)
        await r.c.set_agent_state("6001", AgentStatus.NOT_READY, "lunch")
        await r.c.set_agent_state("6002", AgentStatus.LOGGED_OUT)
        sent = [c[4:] for c in fake.commands if "agent set status" in c]
        assert sent == ["callcenter_config agent set status 6001@default "
                        "'Available (On Demand)'",
                        "callcenter_config agent set status 6001@default 'On Break'",
                        "callcenter_config agent set status 6002@default 'Logged Out'"]
        assert r.c.normalizer.reasons["6001"] == "lunch"
        with pytest.raises(PlatformError) as exc:
            await r.c.set_agent_state("9999", AgentStatus.READY)
        assert exc.value.code == "no-such-device"


async def test_link_loss_then_resync_ends_the_calls_that_ended_meanwhile(
        fake: FakeEsl) -> None:
    async with Run(fake) as r:
        ref = await queue_call_up(r, fake)
        await fake.drop()  # the call ends while we are away: the switch is idle again
        await r.until(lambda: any(isinstance(e, PlatformStatus) and not e.up for e in r.got))
        down = [e for e in r.got if isinstance(e, PlatformStatus) and not e.up][0]
        assert "lost the link to FreeSWITCH" in down.detail
        with pytest.raises(PlatformError) as exc:
            await r.c.set_agent_state("6002", AgentStatus.READY)
        assert exc.value.code == "platform-down"
        for _ in range(10):
            await r.clock.advance(4.0)  # reconnect_max: the back-off is capped at 4 s
            if len(r.of(PlatformResynced)) == 2:
                break
            await asyncio.sleep(0.05)
        await r.until(lambda: len(r.of(PlatformResynced)) == 2)
        snap = r.of(PlatformResynced)[-1]
        assert snap.calls == () and ref not in r.c.normalizer.convs  # no ghost call
        assert fake.accepted == 2
        # The state asked while down was made once the link was back.
        assert "api callcenter_config agent set status 6002@default 'Available'" in \
            fake.commands


async def test_a_refused_password_is_reported_once_and_retried_slowly(fake: FakeEsl) -> None:
    async with Run(fake, password="wrong", auth_retry=30) as r:
        await r.until(lambda: bool(r.got))
        assert isinstance(r.got[0], PlatformStatus) and not r.got[0].up
        assert "refused the password" in r.got[0].detail
        await r.clock.advance(10)
        assert fake.accepted == 1  # not before auth_retry
        await r.clock.advance(25)
        await r.until(lambda: fake.accepted == 2)
        assert len(r.got) == 1  # one outage, reported once
        assert not r.c.health().up


def test_capabilities_and_options() -> None:
    clock = FakeClock()
    c = FreeSwitchConnector.from_options("fs", {"host": "h", "password": "p"}, clock)
    assert Capability.ANSWER not in c.capabilities and Capability.HOLD in c.capabilities
    c2 = FreeSwitchConnector.from_options("fs", {"host": "h", "password": "p",
                                                 "answer": "phone_event"}, clock)
    assert Capability.ANSWER in c2.capabilities
    with pytest.raises(ConfigError) as exc:
        FreeSwitchConnector.validate_options("fs", {"host": "h", "password": "hunter2",
                                                    "port": 0,
                                                    "break_reasons": {"x": "Lunch"}})
    text = exc.value.message
    assert "options.port" in text and "break_reasons" in text and "hunter2" not in text
    assert c.status_for(AgentStatus.WRAP_UP, "wrap-up") == "On Break"


def test_type_freeswitch_is_found_in_the_registry() -> None:
    from ctibridge.config import TelephonySettings
    from ctibridge.telephony import registry

    spec = TelephonySettings(name="fs", type="freeswitch",
                             options={"host": "h", "password": "p"})
    registry.validate(spec)
    connector = registry.build(spec, FakeClock())
    assert isinstance(connector, FreeSwitchConnector) and connector.name == "fs"
    with pytest.raises(ConfigError, match="options.password"):
        registry.validate(TelephonySettings(name="fs", type="freeswitch",
                                            options={"host": "h"}))


async def test_telephony_test_checks_agents_and_their_tiers(fake: FakeEsl) -> None:
    fake.api["callcenter_config tier list"] = ("queue|agent|state|level|position\n"
                                               "support@default|6001@default|Ready|1|1\n+OK\n")
    fake.api["callcenter_config queue list agents*"] = "name|status\n+OK\n"
    async with Run(fake, agents={"6001": {}, "6002": {}, "6009": {}}) as r:
        await r.until(lambda: len(r.got) >= 2)
        checks = dict((text, ok) for ok, text in await r.c.checks())
    assert checks["agent 6001@default has tiers in support@default"] is True
    assert checks["agent 6002@default has tiers in no queue; none in support@default "
                  "(callcenter.conf.xml <tiers>)"] is False
    assert checks["agent 6009@default (6009) is not a mod_callcenter agent "
                  "(callcenter.conf.xml <agents>)"] is False
