"""The connector over a real socket, against a fake Asterisk replaying recordings.

Login (plain, MD5, refused), resync, commands and their AMI actions, a cut in
the middle of a message, a server restart with calls in progress, unknown
events and fields, a slow consumer. Time only moves for reconnect back-offs
(FakeClock); everything else is awaited, never slept.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ctibridge.clock import FakeClock
from ctibridge.model.agent import AgentStatus
from ctibridge.model.errors import CapabilityMissing, PlatformError
from ctibridge.model.events import (
    AgentStateChanged,
    CallAnswered,
    CallDtmf,
    CallEnded,
    CallFailed,
    CallInitiated,
    CallOffered,
    CallSnapshot,
    CallTransferred,
    PlatformEvent,
    PlatformResynced,
    PlatformStatus,
)
from ctibridge.model.party import Direction, Party
from ctibridge.telephony.asterisk.ami import OVERFLOW, AmiClient
from ctibridge.telephony.asterisk.connector import AsteriskConnector
from ctibridge.telephony.base import Capability
from tests.needs import unavailable

from .fake_ami import FakeAmi, Member, login_script, script_from
from .replay import options

MEMBERS = [Member("support", "Local/6001@agents", "Agent 6001"),
           Member("support", "Local/6002@agents", "Agent 6002")]
JEAN = Party("+33123456789", "Jean Dupont")


class Run:
    """A connector wired to a fake server, with its events collected."""

    def __init__(self, server: FakeAmi, clock: FakeClock, **opts: Any) -> None:
        base = {"port": server.port, "reconnect_min": 1.0, "reconnect_max": 2.0,
                "ping_interval": 0, "timeout": 5.0}
        base.update(opts)
        self.connector = AsteriskConnector("pbx", options(**base), clock=clock)
        self.events: list[PlatformEvent] = []
        self.cursor = 0  # each wait looks after the event the previous one found
        self._arrived = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Run:
        self._task = asyncio.create_task(self._collect())
        await self.connector.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.connector.stop()
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _collect(self) -> None:
        async for ev in self.connector.events():
            self.events.append(ev)
            self._arrived.set()

    async def until(self, pred: Callable[[PlatformEvent], bool], what: str,
                    limit: float = 5.0) -> PlatformEvent:
        async def scan() -> PlatformEvent:
            while True:
                for ev in self.events[self.cursor:]:
                    self.cursor += 1
                    if pred(ev):
                        return ev
                self._arrived.clear()
                await self._arrived.wait()

        try:
            async with asyncio.timeout(limit):
                return await scan()
        except TimeoutError:
            raise AssertionError(f"never got {what}; got {self.events}") from None

    async def event(self, kind: type, **fields: Any) -> Any:
        def match(ev: PlatformEvent) -> bool:
            return isinstance(ev, kind) and all(getattr(ev, k) == v for k, v in fields.items())
        return await self.until(match, f"{kind.__name__} {fields}")

    def calls(self) -> list[PlatformEvent]:
        return [e for e in self.events if not isinstance(e, PlatformStatus | PlatformResynced)]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def stripped(events: list[PlatformEvent]) -> list[tuple[str, Any]]:
    out = []
    for e in events:
        d = {f.name: getattr(e, f.name) for f in dataclasses.fields(e) if f.name != "at"}
        out.append((type(e).__name__, d))
    return out


# ------------------------------------------------------------------ login


async def test_login_resync_then_a_queue_call_is_normalized(clock: FakeClock) -> None:
    gate = asyncio.Event()
    async with FakeAmi([script_from("02-inbound-queue-answered.ami", gate=gate)],
                       members=MEMBERS) as server, Run(server, clock) as run:
        up = await run.event(PlatformStatus)
        assert up.up and "Asterisk Call Manager/11.0.0" in up.detail
        snap = await run.event(PlatformResynced)
        assert snap.calls == ()
        assert snap.agents == {"6001": (AgentStatus.READY, None),
                               "6002": (AgentStatus.READY, None),
                               "6003": (AgentStatus.LOGGED_OUT, None)}
        assert run.connector.health().up
        await run.connector.wait_up()
        gate.set()
        await run.event(CallEnded)
        assert [type(e).__name__ for e in run.calls()] == [
            "CallQueued", "CallOffered", "CallAnswered", "CallEnded"]
        login = server.actions("Login")[0]
        assert login["username"] == "ctibridge" and login["secret"] == "ctibridge-secret"
        assert login["events"] == "on"
        assert [a["action"] for a in server.received[1:4]] == ["CoreStatus",
                                                             "CoreShowChannels", "QueueStatus"]
    assert server.actions("Logoff"), "stop() logs off"


async def test_md5_login_answers_the_recorded_challenge(clock: FakeClock) -> None:
    async with FakeAmi([script_from("12-login-md5-challenge.ami")]) as server, \
            Run(server, clock, auth="md5") as run:
        assert (await run.event(PlatformStatus)).up
        [login] = server.actions("Login")
        # The key Asterisk accepted in the recording: md5(challenge + secret).
        assert login["key"] == "f4f74bfadc6184456f56b191e9a38667"
        assert login["authtype"] == "MD5" and "secret" not in login


async def test_a_refused_login_is_reported_once_and_retried_on_a_new_connection(
    clock: FakeClock,
) -> None:
    async with FakeAmi([script_from("10b-login-failed.ami"), login_script()],
                       members=MEMBERS) as server, Run(server, clock) as run:
        down = await run.event(PlatformStatus)
        assert not down.up and down.detail.startswith("authentication failed: ")
        assert "(Authentication failed)" in down.detail and "retrying" not in down.detail
        assert not run.connector.health().up
        await server.closed.wait()
        assert server.connections == 1  # no second Login on the refused socket
        with pytest.raises(PlatformError, match="not connected: authentication failed"):
            await run.connector.make_call("6001", "0987654321")
        await clock.advance(10)
        assert server.connections == 1  # a refused login is not retried every few seconds
        await clock.advance(25)
        assert (await run.event(PlatformStatus, up=True)).up
        assert server.connections == 2


async def test_an_unreachable_server_is_reported_with_the_reason(clock: FakeClock) -> None:
    async with FakeAmi([]) as server:
        port = server.port
    async with Run(FakeAmi([]), clock, port=port) as run:
        down = await run.event(PlatformStatus)
        assert not down.up and f"127.0.0.1:{port}" in down.detail


async def test_something_that_is_not_asterisk_is_named(clock: FakeClock) -> None:
    async with FakeAmi([login_script(banner=b"SSH-2.0-OpenSSH_9.6\r\n")]) as server, \
            Run(server, clock) as run:
        down = await run.event(PlatformStatus)
        assert not down.up and "not an AMI server" in down.detail and "SSH-2.0" in down.detail


# --------------------------------------------------------- faults and resync


async def test_a_cut_in_the_middle_of_a_message_reconnects_and_resyncs_the_ghost_away(
    clock: FakeClock,
) -> None:
    gate = asyncio.Event()
    first = script_from("02-inbound-queue-answered.ami", gate=gate,
                        cut_after=b"Event: AgentConnect", cut_mid_message=True)
    async with FakeAmi([first, login_script()], members=MEMBERS) as server, \
            Run(server, clock) as run:
        await run.connector.wait_up()
        gate.set()
        await run.event(CallAnswered, device="6001")
        down = await run.event(PlatformStatus, up=False)
        assert down.detail.startswith("lost the link to Asterisk at 127.0.0.1:")
        await clock.advance(3)
        await run.event(PlatformStatus, up=True)
        again = await run.event(PlatformResynced)
        assert again.calls == ()  # so the hub ends the call it knew
        assert sum(isinstance(e, PlatformResynced) for e in run.events) == 2
        assert run.connector.normalizer.calls == {}
        assert server.connections == 2


async def test_a_server_restart_with_calls_in_progress_resyncs_to_what_is_up(
    clock: FakeClock,
) -> None:
    gate = asyncio.Event()
    first = script_from("02-inbound-queue-answered.ami", gate=gate,
                        cut_after=b"Event: AgentConnect")
    async with FakeAmi([first, script_from("13-resync-mid-call.ami")],
                       members=MEMBERS) as server, Run(server, clock, region="FR") as run:
        await run.connector.wait_up()
        gate.set()
        await run.event(CallAnswered, ref="1795572298.0")
        await run.event(PlatformStatus, up=False)
        await clock.advance(3)
        snap = await run.until(lambda e: isinstance(e, PlatformResynced) and e.calls != (),
                               "the second resync")
        # 13: call A (+33123456789) talks to 6001 through queue support; call B
        # (0612345678) waits in the queue; 6002 is paused (Training).
        assert sorted(snap.calls, key=lambda c: c.ref) == [
            CallSnapshot(ref="1795572767.60", direction=Direction.INBOUND, customer=JEAN,
                         devices={"6001": "connected"}, queue="support",
                         attached={"CUSTOMER_ID": "C-1042", "ACCOUNT": "ACME-77",
                                   "IVR_CHOICE": "support"}),
            CallSnapshot(ref="1795572772.64", direction=Direction.INBOUND,
                         customer=Party("+33612345678", None),
                         devices={"queue:support": "queued"}, queue="support",
                         attached={"CUSTOMER_ID": "C-1042", "ACCOUNT": "ACME-77",
                                   "IVR_CHOICE": "support"}),
        ]
        assert snap.agents == {"6001": (AgentStatus.READY, None),
                               "6002": (AgentStatus.NOT_READY, "Training"),
                               "6003": (AgentStatus.LOGGED_OUT, None)}
        # Then B abandons and A's customer hangs up, on refs the resync gave.
        await run.event(CallEnded, ref="1795572767.60")
        after = run.events[run.events.index(snap) + 1:]
        assert stripped(after) == [
            ("CallEnded", {"ref": "1795572772.64", "device": None, "cause": "abandoned"}),
            ("CallEnded", {"ref": "1795572767.60", "device": None,
                           "cause": "customer-hangup"}),
        ]
        assert [a["action"] for a in server.received if a["action"] in
                ("CoreShowChannels", "QueueStatus", "Status")][-3:] == [
            "CoreShowChannels", "QueueStatus", "Status"]
        assert server.actions("Status")[-1]["allvariables"] == "true"


async def test_ignored_events_and_fields_are_ignored_and_a_broken_message_is_skipped(
    clock: FakeClock,
) -> None:
    gate = asyncio.Event()
    events = (b"Event: SomethingFromAsterisk42\r\nPrivilege: call,all\r\nNewField: 1\r\n\r\n"
              b"Event: QueueMemberPause\r\nthis line is not a header\r\n\r\n"
              b"Event: QueueMemberPause\r\nPrivilege: agent,all\r\nQueue: support\r\n"
              b"MemberName: Agent 6001\r\nInterface: Local/6001@agents\r\nPaused: 1\r\n"
              b"PausedReason: Break\r\nFieldFromTheFuture: yes\r\n\r\n")
    async with FakeAmi([login_script(gate=gate, events=events)], members=MEMBERS) as server, \
            Run(server, clock) as run:
        await run.connector.wait_up()
        gate.set()
        changed = await run.event(AgentStateChanged)
        assert (changed.device, changed.status, changed.reason) == (
            "6001", AgentStatus.NOT_READY, "Break")
        client = run.connector.client
        assert client is not None and len(client.parse_errors) == 1
        assert run.connector.normalizer.ignored_events["SomethingFromAsterisk42"] == 1


async def test_a_silent_asterisk_is_detected_by_the_keepalive(clock: FakeClock) -> None:
    async with FakeAmi([login_script(), login_script()], members=MEMBERS,
                       mute={"Ping"}) as server, \
            Run(server, clock, ping_interval=0.05, timeout=0.2) as run:
        await run.event(PlatformResynced)
        down = await run.event(PlatformStatus, up=False)
        assert "keep-alive failed" in down.detail and "Ping" in down.detail
        await clock.advance(3)
        await run.event(PlatformStatus, up=True)
        assert server.connections == 2


async def test_an_overflowing_backlog_triggers_a_resync(clock: FakeClock) -> None:
    async with FakeAmi([login_script()], members=MEMBERS) as server, \
            Run(server, clock) as run:
        await run.connector.wait_up()
        client = run.connector.client
        assert client is not None
        client.events.put_nowait(OVERFLOW)
        await run.until(lambda e: sum(isinstance(x, PlatformResynced) for x in run.events) == 2,
                        "a second resync")


async def test_a_resync_asked_for_snapshots_the_platform_again(clock: FakeClock) -> None:
    async with FakeAmi([login_script()], members=MEMBERS) as server, \
            Run(server, clock) as run:
        await run.connector.wait_up()
        asked = len(server.actions("CoreShowChannels"))
        await run.connector.resync()  # the hybrid edge asks, after a WAN cut
        again = await run.until(
            lambda e: sum(isinstance(x, PlatformResynced) for x in run.events) == 2,
            "a second resync")
        assert isinstance(again, PlatformResynced) and set(again.agents) >= {"6001", "6002"}
        assert len(server.actions("CoreShowChannels")) == asked + 1  # asked Asterisk anew
        assert run.connector.connections == 1  # without dropping the link


async def test_a_slow_consumer_never_stops_the_socket_reader() -> None:
    many = b"".join(b"Event: Newexten\r\nUniqueid: 1.%d\r\n\r\n" % i for i in range(3000))
    async with FakeAmi([login_script(events=many)]) as server:
        client = AmiClient("127.0.0.1", server.port, "ctibridge", "ctibridge-secret",
                           ping_interval=0, max_backlog=500)
        await client.connect(boot_timeout=1)
        # Nobody reads client.events, yet actions are still answered...
        pong = await client.action("Ping")
        assert pong.get("Ping") == "Pong"
        # ...and the backlog stayed bounded, with a marker asking for a resync.
        assert client.overflows >= 1 and client.events.qsize() <= 501
        assert client.events.get_nowait() is OVERFLOW
        await client.close()


async def test_answers_are_matched_by_actionid_whatever_their_order() -> None:
    async def reversed_answers(reader: asyncio.StreamReader,
                               writer: asyncio.StreamWriter) -> None:
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        blocks: list[bytes] = []
        data = b""
        while len(blocks) < 3:
            data += await reader.read(1024)
            while b"\r\n\r\n" in data:
                block, data = data.split(b"\r\n\r\n", 1)
                aid = next(line.split(b": ")[1] for line in block.split(b"\r\n")
                           if line.startswith(b"ActionID"))
                blocks.append(aid)
                if len(blocks) == 1:  # the Login
                    writer.write(b"Response: Success\r\nActionID: " + aid + b"\r\n\r\n")
        for aid in reversed(blocks[1:]):  # the two pings, answered last first
            writer.write(b"Response: Success\r\nActionID: " + aid + b"\r\nPing: " + aid
                         + b"\r\n\r\n")
        await writer.drain()
        await reader.read()

    server = await asyncio.start_server(reversed_answers, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = AmiClient("127.0.0.1", port, "u", "s", ping_interval=0)
    await client.connect(boot_timeout=0.01)
    r1, r2 = await asyncio.gather(client.action("Ping"), client.action("Ping"))
    assert r1.action_id != r2.action_id
    assert r1["Ping"] == r1.action_id and r2["Ping"] == r2.action_id
    await client.close()
    server.close()


# ------------------------------------------------------------------ commands


def _expect(*names: str) -> Callable[[Any], bool]:
    wanted = {n.lower() for n in names}
    return lambda sent: sent.action.lower() in wanted


async def test_click_to_call_originates_and_hangs_up_the_agents_channel(
    clock: FakeClock,
) -> None:
    script = script_from("05-outbound-click-to-call.ami",
                         expect=_expect("Login", "Originate", "Hangup", "Logoff"))
    async with FakeAmi([script], members=MEMBERS) as server, Run(server, clock) as run:
        await run.connector.wait_up()
        ref = await run.connector.make_call("6001", "0987654321", attached={"ticket": "T-9"})
        initiated = await run.event(CallInitiated)
        assert (initiated.ref, initiated.device, initiated.callee) == (
            ref, "6001", Party("0987654321"))
        # What the agent attached is the call's data, and on the channel for the dialplan.
        assert initiated.attached == {"ticket": "T-9"}
        [orig] = server.actions("Originate")
        assert b"Variable: CTI_TICKET=T-9" in next(b for b in server.raw
                                                  if b.startswith(b"Action: Originate"))
        assert orig["channel"] == "Local/6001@agents-phone"
        assert (orig["context"], orig["exten"], orig["priority"]) == ("from-internal",
                                                                      "0987654321", "1")
        assert orig["async"] == "true" and orig["channelid"] == ref
        assert orig["callerid"] == '"Agent 6001" <6001>'
        await run.event(CallAnswered, ref=ref, device="6001")
        await run.connector.hangup(ref, "6001")
        ended = await run.event(CallEnded, ref=ref)
        assert ended.cause == "agent-hangup"
        # The channel the recording hung up: the agent's bridged ;1 half.
        assert server.actions("Hangup")[0]["channel"] == "Local/6001@agents-phone-00000005;1"


async def test_click_to_call_failure_reaches_the_agent_with_the_reason(
    clock: FakeClock,
) -> None:
    script = script_from("05b-click-to-call-agent-no-answer.ami",
                         expect=_expect("Login", "Originate", "Logoff"))
    async with FakeAmi([script], members=MEMBERS) as server, Run(server, clock) as run:
        await run.connector.wait_up()
        ref = await run.connector.make_call("6001", "0987654321")
        failed = await run.event(CallFailed)
        assert (failed.ref, failed.device, failed.cause) == (ref, "6001", "no-answer")


async def test_an_originate_asterisk_refuses_fails_the_command_and_the_call(
    clock: FakeClock,
) -> None:
    async with FakeAmi([login_script()], members=MEMBERS,
                       fail={"Originate": "Originate failed"}) as server, \
            Run(server, clock) as run:
        await run.connector.wait_up()
        with pytest.raises(PlatformError, match="Originate failed"):
            await run.connector.make_call("6001", "0987654321")
        failed = await run.event(CallFailed)
        assert failed.device == "6001"
        with pytest.raises(Exception, match="not mapped"):
            await run.connector.make_call("7777", "0987654321")


async def test_blind_transfer_of_a_queue_call(clock: FakeClock) -> None:
    gate = asyncio.Event()
    script = script_from("06-blind-transfer.ami", gate=gate)
    ref = "1795572380.20"
    async with FakeAmi([script], members=MEMBERS) as server, \
            Run(server, clock, transfer_context="internal") as run:
        await run.connector.wait_up()
        gate.set()
        await run.event(CallAnswered, device="6001")
        await run.connector.blind_transfer(ref, "6001", "6002")
        [xfer] = server.actions("BlindTransfer")
        assert (xfer["channel"], xfer["exten"], xfer["context"]) == (
            "Local/6001@agents-0000000b;1", "6002", "internal")
        await run.event(CallEnded, device=None)
        assert stripped(run.calls()[3:]) == [
            ("CallTransferred", {"ref": ref, "from_device": "6001", "to_device": "6002",
                                 "consult_ref": None}),
            ("CallOffered", {"ref": ref, "device": "6002", "caller": JEAN, "queue": None,
                             "direction": Direction.INBOUND,
                             "attached": {"CUSTOMER_ID": "C-1042", "ACCOUNT": "ACME-77",
                                          "IVR_CHOICE": "support"},
                             "consult_of": None}),
            ("CallAnswered", {"ref": ref, "device": "6002"}),
            ("CallEnded", {"ref": ref, "device": None, "cause": "customer-hangup"}),
        ]


async def test_blind_transfer_falls_back_to_redirect(clock: FakeClock) -> None:
    gate = asyncio.Event()
    script = script_from("06-blind-transfer.ami", gate=gate)
    ref = "1795572380.20"
    async with FakeAmi([script], members=MEMBERS,
                       fail={"BlindTransfer": "Invalid/unknown command"}) as server, \
            Run(server, clock, transfer_context="internal") as run:
        await run.connector.wait_up()
        gate.set()
        await run.event(CallAnswered, device="6001")
        await run.connector.blind_transfer(ref, "6001", "6002")
        [redirect] = server.actions("Redirect")
        assert (redirect["channel"], redirect["exten"], redirect["context"]) == (
            "Local/0140000000@from-pstn-0000000a;2", "6002", "internal")
        moved = await run.event(CallTransferred)
        assert (moved.from_device, moved.to_device) == ("6001", "6002")


async def test_attended_transfer_consult_then_complete(clock: FakeClock) -> None:
    gate = asyncio.Event()
    script = script_from("07-attended-transfer.ami", gate=gate)
    ref = "1795572399.26"
    async with FakeAmi([script], members=MEMBERS) as server, \
            Run(server, clock, transfer_context="internal") as run:
        await run.connector.wait_up()
        gate.set()
        await run.event(CallAnswered, device="6001")
        consult = await run.connector.consult(ref, "6001", "6002")
        [atxfer] = server.actions("Atxfer")
        assert (atxfer["channel"], atxfer["exten"], atxfer["context"]) == (
            "Local/6001@agents-0000000e;1", "6002", "internal")
        offer = await run.event(CallOffered, device="6002")
        assert (offer.ref, offer.consult_of) == (consult, ref)
        await run.event(CallAnswered, ref=consult, device="6001")
        await run.connector.complete_transfer(ref, consult, "6001")
        assert server.actions("Hangup")[0]["channel"] == "Local/6001@agents-0000000e;1"
        moved = await run.event(CallTransferred)
        assert (moved.ref, moved.from_device, moved.to_device, moved.consult_ref) == (
            ref, "6001", "6002", consult)
        await run.event(CallEnded, ref=ref)


async def test_agent_login_pause_with_a_reason_unpause_and_logoff(clock: FakeClock) -> None:
    script = script_from("04-agent-login-pause-logoff.ami",
                         expect=_expect("Login", "QueueAdd", "QueuePause", "QueueRemove",
                                        "Logoff"))
    async with FakeAmi([script], members=MEMBERS) as server, Run(server, clock) as run:
        await run.connector.wait_up()
        c = run.connector

        async def state(status: AgentStatus, reason: str | None = None) -> None:
            await run.event(AgentStateChanged, device="6003", status=status, reason=reason)

        await c.set_agent_state("6003", AgentStatus.READY)
        await state(AgentStatus.READY)
        await c.set_agent_state("6003", AgentStatus.NOT_READY, "Lunch")
        await state(AgentStatus.NOT_READY, "Lunch")
        await c.set_agent_state("6003", AgentStatus.READY)
        await state(AgentStatus.READY)
        await c.set_agent_state("6003", AgentStatus.LOGGED_OUT)
        await state(AgentStatus.LOGGED_OUT)
        add = server.actions("QueueAdd")[0]
        assert (add["queue"], add["interface"], add["membername"], add["stateinterface"],
                add["paused"]) == ("support", "Local/6003@agents", "Agent 6003", "Custom:6003",
                                   "false")
        pauses = server.actions("QueuePause")
        assert (pauses[0]["paused"], pauses[0]["reason"]) == ("true", "Lunch")
        assert pauses[1]["paused"] == "false" and "reason" not in pauses[1]
        assert server.actions("QueueRemove")[0]["interface"] == "Local/6003@agents"


async def test_agent_state_errors_are_reported_and_idempotent_ones_are_not(
    clock: FakeClock,
) -> None:
    async with FakeAmi([login_script()], members=MEMBERS,
                       fail={"QueuePause": "Interface not found",
                             "QueueRemove": "Unable to remove interface: Not there"}) as server, \
            Run(server, clock) as run:
        await run.connector.wait_up()
        with pytest.raises(PlatformError, match="Interface not found"):
            await run.connector.set_agent_state("6001", AgentStatus.NOT_READY, "break")
        await run.connector.set_agent_state("6003", AgentStatus.LOGGED_OUT)  # not there: fine
        assert server.actions("QueueRemove")


async def test_dtmf_goes_to_the_party_the_agent_talks_to(clock: FakeClock) -> None:
    gate = asyncio.Event()
    script = script_from("06-blind-transfer.ami", gate=gate)  # holds before BlindTransfer
    async with FakeAmi([script], members=MEMBERS) as server, Run(server, clock) as run:
        await run.connector.wait_up()
        gate.set()
        await run.event(CallAnswered, device="6001")
        await run.connector.dtmf("1795572380.20", "6001", "12#")
        sent = server.actions("PlayDTMF")
        assert [a["digit"] for a in sent] == ["1", "2", "#"]
        assert {a["channel"] for a in sent} == {"Local/0140000000@from-pstn-0000000a;2"}
        dtmf = await run.event(CallDtmf)
        assert (dtmf.device, dtmf.digits) == ("6001", "12#")


async def test_without_ari_hold_answer_and_conference_are_off(clock: FakeClock) -> None:
    async with FakeAmi([login_script()]) as server, Run(server, clock, hold_context=None,
                                                        conference_context=None) as run:
        caps = run.connector.capabilities
        assert {Capability.HOLD, Capability.ANSWER, Capability.CONFERENCE,
                Capability.MUTE}.isdisjoint(caps)
        assert {Capability.MAKE_CALL, Capability.HANGUP, Capability.BLIND_TRANSFER,
                Capability.CONSULT, Capability.DTMF, Capability.AGENT_STATE} <= caps
        with pytest.raises(CapabilityMissing, match="options.hold_context"):
            await run.connector.hold("x", "6001")


# ----------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tls")
    key, cert = d / "key.pem", d / "cert.pem"
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        unavailable("openssl is not available to make a test certificate")
    return key, cert


async def test_tls_with_a_verified_certificate(clock: FakeClock,
                                               certificate: tuple[Path, Path]) -> None:
    import ssl

    key, cert = certificate
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    async with FakeAmi([login_script()], ssl_context=server_ctx) as server, \
            Run(server, clock, tls=True, tls_ca=str(cert)) as run:
        assert (await run.event(PlatformStatus)).up


async def test_tls_refuses_an_unknown_certificate(clock: FakeClock,
                                                 certificate: tuple[Path, Path]) -> None:
    import ssl

    key, cert = certificate
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    async with FakeAmi([login_script()], ssl_context=server_ctx) as server, \
            Run(server, clock, tls=True) as run:
        down = await run.event(PlatformStatus)
        assert not down.up and "CERTIFICATE_VERIFY_FAILED" in down.detail


def _ringing_02() -> bytes:
    """The real 02 recording's events after login, up to 6001's phone ringing."""
    from ctibridge.telephony.asterisk.transcript import Received

    from .fake_ami import transcript

    data = b"".join(p.data for p in transcript("02-inbound-queue-answered.ami").parts
                    if isinstance(p, Received))
    start = data.index(b"Event: FullyBooted")
    start = data.index(b"\r\n\r\n", start) + 4
    end = data.index(b"\r\n\r\n", data.index(b"Event: AgentCalled")) + 4
    return data[start:end]


async def test_answer_asks_the_ringing_pjsip_phone_with_a_notify(clock: FakeClock) -> None:
    # PJSIPNotify (res_pjsip_notify.c): Endpoint, then Variable: name=value headers;
    # phones that allow remote answer pick up on "Event: talk".
    agents = {"6001": {"interface": "Local/6001@agents", "aliases": ["PJSIP/6001"],
                       "name": "Agent 6001"}}
    ring = asyncio.Event()
    async with FakeAmi([login_script(events=_ringing_02(), gate=ring)],
                       members=MEMBERS) as server, \
            Run(server, clock, agents=agents, answer_notify_event="talk") as run:
        assert Capability.ANSWER in run.connector.capabilities
        await run.connector.wait_up()
        ring.set()
        offered = await run.event(CallOffered, device="6001")
        await run.connector.answer(offered.ref, "6001")
        [notify] = [b for b in server.raw if b.startswith(b"Action: PJSIPNotify")]
        lines = notify.split(b"\r\n")
        assert b"Endpoint: 6001" in lines and b"Variable: Event=talk" in lines
        with pytest.raises(PlatformError) as not_ringing:
            await run.connector.answer(offered.ref, "6002")
        assert not_ringing.value.code == "not-ringing"
