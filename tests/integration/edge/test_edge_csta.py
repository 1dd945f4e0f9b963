"""CSTA through the hybrid edge: the site's switch (the CSTA test double of
tests/peers/csta, on real TCP) run by `ctibridge edge` behind the leaf node, its
agents working from the cloud's hub (docs/deployment.md, "Hybrid edge")."""

from __future__ import annotations

import contextlib
import json
import secrets
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest

from ctibridge.clock import SystemClock
from ctibridge.config import EdgeSettings
from ctibridge.edge.connector import EdgeConnector
from ctibridge.edge.runner import Edge
from ctibridge.telephony.csta.config import parse_options
from ctibridge.telephony.csta.connector import CstaConnector
from tests.peers.csta.server import CstaPeer

from ..crm.testcrm import TestCrm, serve_crm
from ..csta.harness import make_peer
from ..harness import AgentClient, RunningHub
from .conftest import hub_node
from .test_edge import eventually
from .wan import Servers, cloud_and_leaf

AGENTS = [
    {"id": "alice", "name": "Alice Martin", "extension": "2001", "platform": "pbx"},
    {"id": "bob", "name": "Bob Durand", "extension": "2002", "platform": "pbx"},
]
ECMA_323 = "http://www.ecma-international.org/standards/ecma-323/csta/"


@dataclass
class CstaSite:
    servers: Servers
    hub: RunningHub
    peer: CstaPeer  # the switch at the site
    csta: CstaConnector  # run by the edge
    edge: Edge
    link: EdgeConnector  # the cloud core's `type: edge` platform


@contextlib.asynccontextmanager
async def csta_site(tmp_path: Path, vendor: str) -> AsyncIterator[CstaSite]:
    async with contextlib.AsyncExitStack() as stack:
        cluster = f"t{secrets.token_hex(4)}"
        clock = SystemClock()  # the switch's link and the hub on real time
        servers = await stack.enter_async_context(cloud_and_leaf(tmp_path))
        crm = await stack.enter_async_context(serve_crm(TestCrm()))
        peer, opts = await make_peer(vendor)
        stack.push_async_callback(peer.stop)
        csta = CstaConnector("pbx", parse_options("pbx", opts), clock=clock)
        edge = Edge(EdgeSettings(nats_url=servers.leaf_url, cluster=cluster, edge_id="paris",
                                 domain=servers.domain, heartbeat_seconds=0.25,
                                 buffer_bytes=32 * 1024**2), {"pbx": csta}, clock=clock)
        await edge.start()
        stack.push_async_callback(edge.stop)
        hub, link = await hub_node(stack, tmp_path, servers, cluster, clock, crm, "cloud-a",
                                   agents=AGENTS)
        yield CstaSite(servers, hub, peer, csta, edge, link)


async def ready_agent(site: CstaSite, user: str = "alice", ext: str = "2001") -> AgentClient:
    await eventually(lambda: site.hub.hub.platforms.get("pbx") is not None
                     and site.hub.hub.platforms["pbx"].up, "the edge's platform up at the hub")
    # The cloud asks the site for a resync when it first hears the edge.
    await eventually(lambda: site.edge.resyncs["pbx"] >= 1, "the first resync at the site")
    bar = await site.hub.agent(user)
    await bar.ok("agent.login")
    await bar.ok("agent.ready")
    # SetAgentState reached the switch through the edge.
    await eventually(lambda: site.peer.switch.agent_state[ext] == "ready",
                     f"{user} ready on the site's switch")
    return bar


def local(tag: str) -> str:
    return tag.rpartition("}")[2]


@pytest.mark.parametrize("vendor", ["avaya", "openscape"])
async def test_a_csta_call_at_the_site_is_offered_answered_and_ended_from_the_cloud(
    tmp_path: Path, vendor: str,
) -> None:
    async with csta_site(tmp_path, vendor) as site:
        switch = site.peer.switch
        alice = await ready_agent(site)
        on_switch = switch.inbound_call("0612345678", "2001")
        offered = await alice.event("call.offered")
        call = offered["call"]
        assert call["customer"]["number"].endswith("612345678")
        assert alice.my_state(call) == "alerting"
        call_id = call["call_id"]

        asked = len(site.peer.raw_requests)
        await alice.ok("call.answer", call_id=call_id)  # cloud -> edge -> switch
        answered = await alice.event("call.answered")
        assert alice.my_state(answered["call"]) == "connected"
        # It reached the switch as an ECMA-323 AnswerCall on alice's connection.
        [request] = [ET.fromstring(raw) for raw in site.peer.raw_requests[asked:]
                     if local(ET.fromstring(raw).tag) == "AnswerCall"]
        assert request.tag.startswith("{" + ECMA_323)
        fields = {local(e.tag): (e.text or "") for e in request.iter()}
        assert fields["callID"] == on_switch
        assert fields["deviceID"] == switch.dev("2001")
        assert switch.calls[on_switch].connections["2001"] == "connected"

        await alice.ok("call.hangup", call_id=call_id)  # a ClearConnection the same way
        ended = await alice.event("call.ended")
        assert ended["call"]["call_id"] == call_id
        assert switch.calls == {}
        assert "ClearConnection" in site.peer.requests
        # The cloud's resync was a snapshot on the live link: the switch link never
        # dropped (a restart would have made a second one).
        assert site.csta.link_count == 1
        await alice.close()


async def test_a_resync_through_the_edge_ends_a_call_the_switch_lost_on_the_same_link(
    tmp_path: Path,
) -> None:
    async with csta_site(tmp_path, "openscape") as site:
        switch = site.peer.switch
        alice = await ready_agent(site)
        on_switch = switch.inbound_call("0612345678", "2001")
        offered = await alice.event("call.offered")
        call_id = offered["call"]["call_id"]
        await alice.ok("call.answer", call_id=call_id)
        await alice.event("call.answered")
        switch.hang_up_silently(on_switch)  # gone, and no event says so
        resyncs = site.edge.resyncs["pbx"]
        # The request the cloud's core sends when it hears the edge again.
        nc = await nats.connect(site.servers.cloud_url)
        try:
            reply = await nc.request(site.edge.names.resync("pbx"), b"{}", timeout=5)
        finally:
            await nc.close()
        assert json.loads(reply.data) == {"ok": "resync"}  # not a restart
        ended = await alice.event("call.ended")
        assert ended["call"]["call_id"] == call_id
        assert ended["cause"] == "gone-after-resync"
        assert site.edge.resyncs["pbx"] == resyncs + 1
        assert site.csta.link_count == 1
        # The link works on: the next call is offered and answered.
        again = switch.inbound_call("0622222222", "2001")
        offered = await alice.event("call.offered", where=lambda d: d["call"]["call_id"]
                                    != call_id)
        await alice.ok("call.answer", call_id=offered["call"]["call_id"])
        await alice.event("call.answered", where=lambda d: d["call"]["call_id"]
                          == offered["call"]["call_id"])
        assert switch.calls[again].connections["2001"] == "connected"
        await alice.close()
