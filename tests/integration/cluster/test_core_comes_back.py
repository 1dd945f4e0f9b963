"""The core leaves a node mid-call and comes back to it later (a → b → a).

A node that ran the core keeps, in memory, what its hub knew when it stopped. When
the core comes back to it, after the call went on and ended on another node, that
memory is old: the node must start from the database and the platform, as a fresh
node does, never from what it remembered. Two nodes in this process on one CSTA
switch peer (a platform outside both), with real time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from ctibridge.clock import SystemClock
from ctibridge.telephony.csta.config import parse_options
from ctibridge.telephony.csta.connector import CstaConnector
from ctibridge.telephony.csta.framing import OpenScapeFraming
from ctibridge.telephony.csta.xml import ED4, XmlCodec
from tests.peers.csta.server import CstaPeer
from tests.peers.csta.switch import Switch

from ..harness import AgentClient, RunningHub, running_hub
from .conftest import NATS_URL, SECRET, Cluster

STATIONS = {"2001": "3001", "2002": "3002"}
AGENTS = [{"id": "alice", "name": "Alice Martin", "extension": "2001", "platform": "pbx"},
          {"id": "bob", "name": "Bob Durand", "extension": "2002", "platform": "pbx"}]


@contextlib.asynccontextmanager
async def nodes(tmp_path: Path, name: str, port: int) -> AsyncIterator[dict[str, RunningHub]]:
    opts: dict[str, Any] = {"dialect": "openscape", "host": "127.0.0.1", "port": port,
                            "devices": list(STATIONS), "agent_ids": STATIONS,
                            "reconnect_min": 0.05, "reconnect_max": 0.2}
    async with contextlib.AsyncExitStack() as stack:
        found: dict[str, RunningHub] = {}
        for node_id in ("a", "b"):
            found[node_id] = await stack.enter_async_context(running_hub(
                tmp_path, clock=SystemClock(),
                connectors={"pbx": CstaConnector("pbx", parse_options("pbx", opts),
                                                 clock=SystemClock())},
                telephony=[{"name": "pbx", "type": "csta", "options": opts}],
                agents=AGENTS, wrap_up_seconds=300, auth={"secret_key": SECRET},
                cluster={"nats_url": NATS_URL, "name": name, "node_id": node_id,
                         "storage": "memory", "lease_seconds": 2.0}))
            if node_id == "a":
                await until_core(found["a"])
        yield found


def node(hub: RunningHub) -> Any:
    return hub.app.state.services.cluster


async def until_core(hub: RunningHub) -> None:
    async def wait() -> None:
        while node(hub).owner is None:  # noqa: ASYNC110 - the lease has no event to wait on
            await asyncio.sleep(0.05)
    await asyncio.wait_for(wait(), 10)


async def hand_over(from_: RunningHub, to: RunningHub) -> None:
    """``from_`` gives the core up (as a partitioned node does) and ``to`` takes it."""
    lease = node(from_).lease
    await lease.stop(release=True)
    await until_core(to)
    lease.start()  # a candidate again


async def test_a_node_the_core_comes_back_to_forgets_what_it_knew(
    cluster: Cluster, tmp_path: Path,
) -> None:
    switch = Switch(STATIONS, call_id_format="FF0001000000000{:017X}")
    peer = CstaPeer(switch, XmlCodec(ED4), OpenScapeFraming, dialect="openscape")
    port = await peer.start()
    try:
        async with nodes(tmp_path, cluster.name, port) as hubs:
            a, b = hubs["a"], hubs["b"]
            alice = AgentClient(b, "alice")  # her bar on b all along
            await alice.connect()
            await alice.ok("agent.login")
            await alice.ok("agent.ready")
            switch.inbound_call("0612345678", "2001")
            call = (await alice.event("call.offered"))["call"]
            await alice.ok("call.answer", call_id=call["call_id"])
            await alice.event("call.answered")
            await asyncio.sleep(0.3)  # written (50 ms batches)

            await hand_over(a, b)  # mid-call: a remembers a live call
            await alice.wait_for(lambda f: f.get("name") == "call.updated"
                                 and f["data"]["call"]["call_id"] == call["call_id"],
                                 "b's view of her call", timeout=10)
            switch.remote_hangup(switch.call_of("2001").call_id)  # type: ignore[union-attr]
            await alice.event("call.ended", timeout=10)
            ended = await alice.wait_for(
                lambda f: f.get("name") == "interaction.updated"
                and f["data"]["interaction"]["ended_at"], "the call's interaction ended")
            iid = ended["data"]["interaction"]["interaction_id"]
            await alice.ok("interaction.wrap_up", interaction_id=iid, disposition="resolved")
            await alice.ok("agent.ready")
            await alice.event("agent.state",
                              where=lambda d: d["agent"]["state"]["status"] == "ready")
            await asyncio.sleep(0.3)
            mark = len(alice.frames)

            await hand_over(b, a)  # the core comes back to a
            await alice.wait_for(lambda f: f.get("name") == "platform.status"
                                 and f["data"]["up"], "a's platform up", timeout=10,
                                 start=mark)
            await asyncio.sleep(0.5)  # anything a would wrongly say, it says by now
            after = [f for f in alice.frames[mark:] if f.get("type") == "event"]
            assert not [f for f in after if f["name"] == "call.ended"], after
            states = {f["data"]["agent"]["state"]["status"] for f in after
                      if f["name"] == "agent.state"}
            assert states <= {"ready"}, after
            assert a.hub.agents["alice"].state.status == "ready"
            assert not a.hub.calls_of("alice")
            it = await a.hub.store.interactions.get(iid)
            assert it.wrapped_at is not None and it.disposition == "resolved"
            await alice.close()
    finally:
        await peer.stop()
