"""Recorded Asterisk traffic -> the Asterisk connector -> the real hub -> an
agent's WebSocket. The fake AMI server replays the recordings on a real
socket; the agents are 6001 (alice) and 6002 (bob), as in the recordings."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ctibridge.clock import FakeClock
from ctibridge.telephony.asterisk.connector import AsteriskConnector

from ...unit.asterisk.fake_ami import FakeAmi, Member, script_from
from ...unit.asterisk.replay import options
from ..harness import RunningHub, running_hub

AGENTS = [
    {"id": "alice", "name": "Alice Martin", "extension": "6001", "platform": "pbx"},
    {"id": "bob", "name": "Bob Durand", "extension": "6002", "platform": "pbx"},
]
MEMBERS = [Member("support", "Local/6001@agents", "Agent 6001"),
           Member("support", "Local/6002@agents", "Agent 6002")]


def hub_with(server: FakeAmi, clock: FakeClock, tmp_path: Path) -> Any:
    opts = {"port": server.port, "ping_interval": 0, "reconnect_min": 1.0,
            "reconnect_max": 2.0}
    connector = AsteriskConnector("pbx", options(**opts), clock=clock)
    return connector, running_hub(
        tmp_path, clock=clock, connectors={"pbx": connector},
        telephony=[{"name": "pbx", "type": "asterisk"}], agents=AGENTS)


async def eventually(check: Any, what: str) -> None:
    """The hub tells the platform in the background: wait (bounded) for it."""
    for _ in range(200):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def ready(h: RunningHub, connector: AsteriskConnector, who: str) -> Any:
    await connector.wait_up()
    agent = await h.agent(who)
    if agent.snapshot["agent"]["state"]["status"] != "ready":
        # The resync said the member is in the queue and not paused.
        await agent.event("agent.state", where=lambda d: d["agent"]["state"]["status"] == "ready")
    return agent


async def test_a_queue_call_reaches_the_agents_bar_with_the_callers_number(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    gate = asyncio.Event()
    async with FakeAmi([script_from("02-inbound-queue-answered.ami", gate=gate)],
                       members=MEMBERS) as server:
        connector, hub = hub_with(server, clock, tmp_path)
        async with hub as h:
            alice = await ready(h, connector, "alice")
            gate.set()  # the customer calls
            offered = await alice.event("call.offered")
            call = offered["call"]
            assert call["customer"] == {"number": "+33123456789", "name": "Jean Dupont"}
            assert call["attached"] == {"CUSTOMER_ID": "C-1042", "ACCOUNT": "ACME-77",
                                        "IVR_CHOICE": "support"}
            assert call["queue"] == "support" and alice.my_state(call) == "alerting"
            assert h.hub.calls.by_ref("pbx", "1795572298.0").call_id == call["call_id"]
            answered = await alice.event("call.answered")
            assert alice.my_state(answered["call"]) == "connected"
            ended = await alice.event("call.ended")
            assert ended["cause"] == "customer-hangup"
            assert ended["call"]["customer"]["number"] == "+33123456789"
            await alice.close()


async def test_a_blind_transfer_from_the_bar_reaches_the_other_agent_with_the_same_call(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    gate = asyncio.Event()
    async with FakeAmi([script_from("06-blind-transfer.ami", gate=gate)],
                       members=MEMBERS) as server:
        connector, hub = hub_with(server, clock, tmp_path)
        async with hub as h:
            alice = await ready(h, connector, "alice")
            bob = await ready(h, connector, "bob")
            gate.set()
            call_id = (await alice.event("call.answered"))["call"]["call_id"]
            await alice.ok("call.blind_transfer", call_id=call_id, target="bob")
            [xfer] = server.actions("BlindTransfer")
            assert (xfer["channel"], xfer["exten"]) == ("Local/6001@agents-0000000b;1", "6002")
            moved = await alice.event("call.transferred")
            assert alice.my_state(moved["call"]) == "ended"
            offer = await bob.event("call.offered")
            assert offer["call"]["call_id"] == call_id  # the call keeps its id...
            assert offer["call"]["customer"] == {"number": "+33123456789",
                                                 "name": "Jean Dupont"}  # ...and its caller
            assert offer["call"]["attached"]["CUSTOMER_ID"] == "C-1042"
            answered = await bob.event("call.answered")
            assert bob.my_state(answered["call"]) == "connected"
            ended = await bob.event("call.ended")
            assert ended["cause"] == "customer-hangup"
            for c in (alice, bob):
                await c.close()


async def test_click_to_call_from_the_bar_then_hang_up(tmp_path: Path) -> None:
    clock = FakeClock()
    script = script_from(
        "05-outbound-click-to-call.ami",
        expect=lambda s: s.action in ("Login", "Originate", "Hangup", "Logoff"))
    async with FakeAmi([script], members=MEMBERS) as server:
        connector, hub = hub_with(server, clock, tmp_path)
        async with hub as h:
            alice = await ready(h, connector, "alice")
            result = await alice.ok("call.dial", number="0987654321")
            started = await alice.event("call.initiated")
            assert started["call"]["call_id"] == result["call_id"]
            assert started["call"]["direction"] == "outbound"
            assert server.actions("Originate")[0]["channel"] == "Local/6001@agents-phone"
            answered = await alice.event("call.answered")
            assert alice.my_state(answered["call"]) == "connected"
            await alice.ok("call.hangup", call_id=result["call_id"])
            ended = await alice.event("call.ended")
            assert ended["cause"] == "agent-hangup"
            assert server.actions("Hangup")[0]["channel"] == "Local/6001@agents-phone-00000005;1"
            await alice.close()


async def test_a_call_in_progress_when_asterisk_goes_away_leaves_no_ghost_on_the_bar(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    gate = asyncio.Event()
    first = script_from("02-inbound-queue-answered.ami", gate=gate,
                        cut_after=b"Event: AgentConnect")
    # After the restart Asterisk has no call at all (default answers: empty lists).
    second = script_from("01-login-banner.ami",
                         expect=lambda s: s.action in ("Login", "Logoff"))
    async with FakeAmi([first, second], members=MEMBERS) as server:
        connector, hub = hub_with(server, clock, tmp_path)
        async with hub as h:
            alice = await ready(h, connector, "alice")
            gate.set()
            call_id = (await alice.event("call.answered"))["call"]["call_id"]
            down = await alice.event("platform.status", where=lambda d: not d["up"])
            assert down["detail"].startswith("lost the link to Asterisk at 127.0.0.1:")
            refused = await alice.command("call.hangup", call_id=call_id)
            assert refused["type"] == "error" and refused["code"] == "platform-down"
            await clock.advance(3)
            await alice.event("platform.status", where=lambda d: d["up"])
            gone = await alice.event("call.ended", where=lambda d: d["call"]["call_id"] == call_id)
            assert gone["cause"] == "gone-after-resync"
            assert h.hub.agents["alice"].calls == set()
            await alice.close()


async def test_pausing_from_the_bar_pauses_the_queue_member(tmp_path: Path) -> None:
    clock = FakeClock()
    script = script_from("01-login-banner.ami", expect=lambda s: s.action in ("Login", "Logoff"))
    async with FakeAmi([script], members=MEMBERS) as server:
        connector, hub = hub_with(server, clock, tmp_path)
        async with hub as h:
            bob = await ready(h, connector, "bob")
            await bob.ok("agent.not_ready", reason="lunch")
            [pause] = server.actions("QueuePause")
            assert (pause["interface"], pause["paused"], pause["reason"]) == (
                "Local/6002@agents", "true", "lunch")
            await bob.ok("agent.logout")
            assert server.actions("QueueRemove")[0]["interface"] == "Local/6002@agents"
            # Logging in again puts the member back in the queue, paused until ready.
            await bob.ok("agent.login")
            await eventually(lambda: server.actions("QueueAdd"), "the QueueAdd action")
            add = server.actions("QueueAdd")[0]
            assert (add["interface"], add["queue"]) == ("Local/6002@agents", "support")
            await bob.ok("agent.ready")
            await eventually(
                lambda: any(p["paused"] == "false" for p in server.actions("QueuePause")),
                "the unpause")
            await bob.close()
