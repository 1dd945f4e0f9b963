"""The seed case end to end: one hub, an Avaya-like PBX (ECMA-323 XML over DMCC) and an
Alcatel-like PBX (ECMA-285 BER over the OXE link), agents over WebSockets on each,
chosen by the station they log in at. Both PBXs are the CSTA test peer."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ctibridge.clock import SystemClock
from ctibridge.telephony.csta.config import parse_options
from ctibridge.telephony.csta.connector import CstaConnector
from ctibridge.telephony.csta.framing import DmccFraming
from ctibridge.telephony.csta.xml import ED4, XmlCodec
from tests.peers.csta.oxe import OxePeer
from tests.peers.csta.server import CstaPeer, avaya_device_id
from tests.peers.csta.switch import Switch

from ..harness import AgentClient, RunningHub, running_hub

PARIS = {"2001": "3001", "2002": "3002", "2003": "3003"}  # extension -> ACD agent id
LYON = {"5001": "6001", "5002": "6002", "5003": "6003"}
AGENTS = [
    {"id": "alice", "name": "Alice Martin", "extension": "2001", "platform": "paris"},
    {"id": "bob", "name": "Bob Durand", "extension": "2002", "platform": "paris"},
    {"id": "carol", "name": "Carol Lefèvre", "extension": "2003", "platform": "paris"},
]


@dataclass
class Site:
    switch: Switch
    peer: CstaPeer
    connector: CstaConnector


async def avaya_site() -> Site:
    switch = Switch(PARIS, call_id_format="{:d}", device_id=avaya_device_id("CM1", "10.0.0.1"))
    peer = CstaPeer(switch, XmlCodec(ED4), DmccFraming, dialect="dmcc", user="ctib",
                    password="secret")
    port = await peer.start()
    opts = {"dialect": "avaya", "host": "127.0.0.1", "port": port, "username": "ctib",
            "password": "secret", "switch_name": "CM1", "devices": list(PARIS),
            "agent_ids": PARIS, "reconnect_min": 0.05, "reconnect_max": 0.2}
    return Site(switch, peer, CstaConnector("paris", parse_options("paris", opts),
                                            clock=SystemClock()))


async def oxe_site() -> Site:
    switch = Switch(LYON, call_id_format="0x{:04x}")
    peer = OxePeer(switch)
    port = await peer.start()
    opts = {"dialect": "oxe", "host": "127.0.0.1", "port": port, "devices": list(LYON),
            "agent_ids": LYON, "reconnect_min": 0.05, "reconnect_max": 0.2}
    return Site(switch, peer, CstaConnector("lyon", parse_options("lyon", opts),
                                            clock=SystemClock()))


@contextlib.asynccontextmanager
async def two_pbxs(tmp_path: Path) -> AsyncIterator[tuple[RunningHub, Site, Site]]:
    paris, lyon = await avaya_site(), await oxe_site()
    telephony = [
        {"name": "paris", "type": "csta", "label": "Avaya Paris",
         "options": {"dialect": "avaya", "host": "127.0.0.1", "username": "ctib",
                     "password": "secret", "devices": list(PARIS)}},
        {"name": "lyon", "type": "csta", "label": "Alcatel Lyon",
         "options": {"dialect": "oxe", "host": "127.0.0.1", "devices": list(LYON)}}]
    stations = [{"extension": e, "platform": "paris"} for e in PARIS] + [
        {"extension": e, "platform": "lyon"} for e in LYON]
    try:
        async with running_hub(tmp_path, clock=SystemClock(),
                               connectors={"paris": paris.connector, "lyon": lyon.connector},
                               telephony=telephony, agents=AGENTS, stations=stations) as h:
            yield h, paris, lyon
    finally:
        await paris.peer.stop()
        await lyon.peer.stop()


async def login_ready(agent: AgentClient, station: str) -> dict[str, Any]:
    placed = await agent.ok("agent.login", station=station)
    await agent.ok("agent.ready")
    await agent.event("agent.state", where=lambda d: d["agent"]["state"]["status"] == "ready")
    return placed


async def test_agents_on_an_avaya_and_an_alcatel_pbx_work_alike(tmp_path: Path) -> None:
    async with two_pbxs(tmp_path) as (h, paris, lyon):
        alice, bob, carol = await h.agent("alice"), await h.agent("bob"), await h.agent("carol")
        assert alice.snapshot["platforms"]["lyon"]["label"] == "Alcatel Lyon"
        assert (await login_ready(alice, "2001"))["agent"]["platform"] == "paris"
        assert (await login_ready(bob, "5002"))["agent"]["platform"] == "lyon"
        assert (await login_ready(carol, "5003"))["agent"]["platform"] == "lyon"
        # The hub told each PBX about its own agents only (SetAgentState on each switch).
        assert lyon.switch.agent_state["5002"] == "ready"
        assert paris.switch.agent_state["2001"] == "ready"
        assert lyon.switch.agent_state["5001"] == "loggedOff"

        # A customer calls Lyon: Bob's bar rings with the caller; the call is Lyon's.
        lyon.switch.inbound_call("0478000001", "5002")
        lyon_call = (await bob.event("call.offered"))["call"]
        assert (lyon_call["platform"], lyon_call["customer"]["number"]) == ("lyon",
                                                                           "0478000001")
        # And Paris: Alice's bar.
        paris.switch.inbound_call("0144000002", "2001")
        paris_call = (await alice.event("call.offered"))["call"]
        assert paris_call["platform"] == "paris"

        # Answer, hold, retrieve, transfer within Lyon (BER), as Alice does in Paris (XML).
        for agent, call in ((bob, lyon_call), (alice, paris_call)):
            await agent.ok("call.answer", call_id=call["call_id"])
            await agent.event("call.answered")
            await agent.ok("call.hold", call_id=call["call_id"])
            await agent.event("call.held")
            await agent.ok("call.retrieve", call_id=call["call_id"])
            await agent.event("call.retrieved")
        await bob.ok("call.blind_transfer", call_id=lyon_call["call_id"], target="carol")
        offer = await carol.event("call.offered")
        assert offer["call"]["call_id"] == lyon_call["call_id"]  # one call id across
        await carol.ok("call.answer", call_id=lyon_call["call_id"])
        await carol.event("call.answered")

        # Both calls end; each becomes one interaction on its own system.
        await carol.ok("call.hangup", call_id=lyon_call["call_id"])
        await alice.ok("call.hangup", call_id=paris_call["call_id"])
        await carol.event("call.ended")
        await alice.event("call.ended")
        assert any(it.platform == "lyon" and it.ended_at for it in
                   h.hub.interactions.recent("carol"))
        assert any(it.platform == "paris" and it.ended_at for it in
                   h.hub.interactions.recent("alice"))

        # Click-to-call from Lyon goes out through the Alcatel PBX.
        await carol.ok("interaction.wrap_up", interaction_id=next(
            it.interaction_id for it in h.hub.interactions.recent("carol") if it.ended_at),
            disposition="resolved")
        dialled = await bob.ok("call.dial", number="0478000009")
        call_id = dialled["call"]["call_id"] if "call" in dialled else dialled["call_id"]
        assert h.hub.calls.ref_of(call_id)[0] == "lyon"
        assert any(m.name == "MakeCall" for s in lyon.peer.sessions for m in s.received)
