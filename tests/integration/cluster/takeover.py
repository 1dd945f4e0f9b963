"""What the takeover tests share: the core's node SIGKILLed while agents work.

Two `ctibridge serve` processes of one cluster share a throwaway PostgreSQL database;
node A runs the core, node B follows. The platform is the CSTA switch peer
(tests/peers/csta, ECMA-269/323) in the test's own process, so that it outlives the
core as a PBX does (and so does the CRM double, where a test has one).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctibridge.telephony.csta.framing import OpenScapeFraming
from ctibridge.telephony.csta.xml import ED4, XmlCodec
from tests.peers.csta.server import CstaPeer
from tests.peers.csta.switch import Switch

from ..crm.realcrm import MAPPING, RealCrm, seeded, serve_real_crm, variables
from ..harness import AgentClient, RunningHub
from .processes import NodeProcess, node_process, pg_database, until

STATIONS = {"2001": "3001", "2002": "3002", "2003": "3003"}  # extension -> ACD agent id
AGENTS = [{"id": "alice", "name": "Alice Martin", "extension": "2001", "platform": "pbx"},
          {"id": "bob", "name": "Bob Durand", "extension": "2002", "platform": "pbx"},
          {"id": "carol", "name": "Carol Lefèvre", "extension": "2003", "platform": "pbx"}]
CAMILLE = "0612345678"  # a contact of the CRM (+33612345678)


def switch_settings(switch_port: int, phones: dict[str, str]) -> dict[str, Any]:
    """The nodes' settings for the switch peer on ``switch_port``, with the agents."""
    return {
        "telephony": [{"name": "pbx", "type": "csta", "label": "OpenScape", "options": {
            "dialect": "openscape", "host": "127.0.0.1", "port": switch_port,
            "devices": list(phones), "agent_ids": phones,
            "reconnect_min": 0.05, "reconnect_max": 0.2}}],
        "agents": AGENTS,
    }


def settings(switch_port: int, crm: RealCrm) -> dict[str, Any]:
    """The switch, and the CRM whose call logs the tests count."""
    return {
        **switch_settings(switch_port, STATIONS),
        "wrap_up_seconds": 300,  # carol's wrap-up outlasts the test: kept, not expired
        "crm": {"mapping": str(MAPPING), "variables": variables(crm),
                "call_log": {"first_retry_seconds": 0.2, "settle_seconds": 0.5}},
    }


@dataclass
class Takeover:
    """The running set-up: ``a`` runs the core, ``b`` follows; ``db`` is their database."""

    switch: Switch
    a: NodeProcess
    b: NodeProcess
    db: str
    bars: list[AgentClient] = field(default_factory=list)

    async def bar(self, node: NodeProcess, user: str) -> AgentClient:
        """``user``'s bar connected to ``node``, closed when the set-up ends."""
        client = AgentClient(RunningHub(node.url, None, None, None, None), user)  # type: ignore[arg-type]
        await client.connect()
        self.bars.append(client)
        return client


@contextlib.asynccontextmanager
async def two_nodes(tmp_path: Path, cluster: str, phones: dict[str, str], call_ids: str,
                    node_settings: Callable[[int], dict[str, Any]]) -> AsyncIterator[Takeover]:
    """The switch peer with ``phones`` (extension -> ACD agent id; its call ids in the
    format ``call_ids``), and nodes A (the core) then B, with ``node_settings(its port)``.
    If the test fails, both nodes' logs and each bar's last events are printed."""
    switch = Switch(phones, call_id_format=call_ids)
    peer = CstaPeer(switch, XmlCodec(ED4), OpenScapeFraming, dialect="openscape")
    port = await peer.start()
    nodes: list[NodeProcess] = []
    bars: list[AgentClient] = []
    try:
        async with pg_database(tmp_path) as db:
            config = node_settings(port)
            async with node_process(tmp_path, cluster, "a", db, **config) as a:
                nodes.append(a)
                await until("a runs the core", a.is_core)
                async with node_process(tmp_path, cluster, "b", db, **config) as b:
                    nodes.append(b)
                    assert not await b.is_core()
                    yield Takeover(switch, a, b, db, bars)
    except BaseException:
        for node in nodes:
            print(node.log(200))
        for agent in bars:
            print(agent.user, [f for f in agent.frames if f.get("type") == "event"][-8:])
        raise
    finally:
        for agent in bars:
            await agent.close()
        await peer.stop()


@contextlib.asynccontextmanager
async def two_nodes_and_crm(tmp_path: Path, cluster: str, call_ids: str
                            ) -> AsyncIterator[tuple[Takeover, RealCrm]]:
    """``two_nodes`` with the agents' phones (STATIONS) and the seeded CRM double."""
    async with serve_real_crm(seeded()) as crm, two_nodes(
            tmp_path, cluster, STATIONS, call_ids, lambda port: settings(port, crm)) as run:
        yield run, crm


async def ready(agent: AgentClient) -> None:
    await agent.ok("agent.login")
    await agent.ok("agent.ready")
    await agent.event("agent.state", where=lambda d: d["agent"]["state"]["status"] == "ready")


async def interaction_of(agent: AgentClient, call_id: str, start: int = 0,
                         where: Any = lambda it: True) -> dict[str, Any]:
    frame = await agent.wait_for(
        lambda f: f.get("name") == "interaction.updated"
        and f["data"]["interaction"]["call_id"] == call_id and where(f["data"]["interaction"]),
        f"the interaction of call {call_id}", timeout=10, start=start)
    return dict(frame["data"]["interaction"])
