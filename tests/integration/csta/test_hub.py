"""The CSTA connector inside the real hub: agents on WebSockets, the peer as the PBX."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctibridge.clock import SystemClock
from ctibridge.telephony.csta.config import parse_options
from ctibridge.telephony.csta.connector import CstaConnector

from ..harness import running_hub
from .harness import make_peer

AGENTS = [
    {"id": "alice", "name": "Alice", "extension": "2001", "platform": "pbx"},
    {"id": "bob", "name": "Bob", "extension": "2002", "platform": "pbx"},
]


@pytest.mark.parametrize("vendor", ["avaya", "openscape"])
async def test_an_agent_works_a_call_from_the_bar_over_csta(tmp_path: Path, vendor: str) -> None:
    peer, opts = await make_peer(vendor)
    connector = CstaConnector("pbx", parse_options("pbx", opts), clock=SystemClock())
    try:
        async with running_hub(tmp_path, clock=SystemClock(), connectors={"pbx": connector},
                               telephony=[{"name": "pbx", "type": "csta", "options": opts}],
                               agents=AGENTS) as h:
            alice = await h.agent("alice")
            bob = await h.agent("bob")
            for a in (alice, bob):
                await a.ok("agent.login")
                await a.ok("agent.ready")
            switch = peer.switch
            await alice.event("agent.state", where=lambda d: d["agent"]["state"]["status"]
                              == "ready")

            switch.inbound_call("0612345678", "2001")
            offered = await alice.event("call.offered")
            call = offered["call"]
            assert call["customer"]["number"].endswith("612345678")
            assert alice.my_state(call) == "alerting"
            call_id = call["call_id"]

            await alice.ok("call.answer", call_id=call_id)
            answered = await alice.event("call.answered")
            assert alice.my_state(answered["call"]) == "connected"
            assert switch.call_of("2001").connections["2001"] == "connected"  # type: ignore

            await alice.ok("call.blind_transfer", call_id=call_id, target="bob")
            to_bob = await bob.event("call.offered")
            assert to_bob["call"]["call_id"] == call_id  # one call id across the transfer
            await bob.ok("call.answer", call_id=call_id)
            await bob.event("call.answered")
            await bob.ok("call.hangup", call_id=call_id)
            ended = await bob.event("call.ended")
            assert ended["call"]["call_id"] == call_id
            assert switch.calls == {}

            dialed = await alice.ok("call.dial", number="0140000000")
            started = await alice.event("call.initiated")
            assert started["call"]["call_id"] == dialed["call_id"]
            assert started["call"]["direction"] == "outbound"
            await alice.close()
            await bob.close()
    finally:
        await peer.stop()


async def test_a_call_that_ended_during_a_link_loss_leaves_the_bar(tmp_path: Path) -> None:
    peer, opts = await make_peer("openscape")
    connector = CstaConnector("pbx", parse_options("pbx", opts), clock=SystemClock())
    try:
        async with running_hub(tmp_path, clock=SystemClock(), connectors={"pbx": connector},
                               telephony=[{"name": "pbx", "type": "csta", "options": opts}],
                               agents=AGENTS) as h:
            alice = await h.agent("alice")
            await alice.ok("agent.login")
            call_id_on_switch = peer.switch.inbound_call("0612345678", "2001")
            offered = await alice.event("call.offered")
            call_id = offered["call"]["call_id"]

            await peer.drop_links()
            peer.switch.hang_up_silently(call_id_on_switch)  # nobody hears it end

            ended = await alice.event("call.ended")
            assert ended["call"]["call_id"] == call_id
            assert ended["cause"] == "gone-after-resync"
            await alice.close()
    finally:
        await peer.stop()
