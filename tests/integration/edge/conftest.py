"""A site and the cloud: real nats-server processes (wan.py), the edge's simulator
behind a leaf node, a hub node of a cluster on the cloud server, a CRM for call logs.

The edge runs in the test's event loop on the hub's FakeClock, so the simulator's
timers move only when the test says; the WAN is a real TCP link the test cuts.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ctibridge.clock import Clock, FakeClock
from ctibridge.config import EdgeSettings
from ctibridge.edge.connector import EdgeConnector, EdgeOptions
from ctibridge.edge.runner import Edge
from ctibridge.telephony.simulator import SimulatorConnector

from ..crm.testcrm import TestCrm, TestCrmConnector, serve_crm
from ..harness import RunningHub, running_hub
from .wan import Servers, cloud_and_leaf

AGENTS = [
    {"id": "alice", "name": "Alice Martin", "extension": "1001", "platform": "pbx"},
    {"id": "bob", "name": "Bob Durand", "extension": "1002", "platform": "pbx"},
]
DOWN_AFTER = 1.5  # seconds without a heartbeat: the edge is unreachable


@dataclass
class Site:
    servers: Servers
    hub: RunningHub
    sim: SimulatorConnector  # the PBX at the site
    edge: Edge  # `ctibridge edge` at the site
    link: EdgeConnector  # the cloud core's `type: edge` platform
    crm: TestCrm
    clock: FakeClock
    db: Path


async def the_site(stack: contextlib.AsyncExitStack, tmp_path: Path) -> tuple[
        str, FakeClock, Servers, TestCrm, SimulatorConnector, Edge]:
    cluster = f"t{secrets.token_hex(4)}"
    clock = FakeClock()
    servers = await stack.enter_async_context(cloud_and_leaf(tmp_path))
    crm = await stack.enter_async_context(serve_crm(TestCrm()))
    sim = SimulatorConnector("pbx", clock=clock, seed=7, devices=["1001", "1002"],
                             ring_timeout=20.0, answer_delay=(1.0, 2.0))
    edge = Edge(EdgeSettings(nats_url=servers.leaf_url, cluster=cluster, edge_id="paris",
                             domain=servers.domain, heartbeat_seconds=0.25,
                             buffer_bytes=32 * 1024**2),
                {"pbx": sim}, clock=clock)
    await edge.start()
    stack.push_async_callback(edge.stop)
    return cluster, clock, servers, crm, sim, edge


async def hub_node(stack: contextlib.AsyncExitStack, tmp_path: Path, servers: Servers,
                   cluster: str, clock: Clock, crm: TestCrm, node_id: str,
                   lease_seconds: float = 8.0, agents: list[dict[str, str]] | None = None,
                   ) -> tuple[RunningHub, EdgeConnector]:
    """A cloud node with the site's PBX as its `pbx` platform (same database for all)."""
    options = {"edge_id": "paris", "domain": servers.domain, "cluster": cluster,
               "nats_url": servers.cloud_url, "down_after_seconds": DOWN_AFTER,
               "request_timeout_seconds": 2.0}
    link = EdgeConnector("pbx", EdgeOptions.model_validate(options), clock)
    hub = await stack.enter_async_context(running_hub(
        tmp_path, clock=clock, connectors={"pbx": link},
        crm_connector=TestCrmConnector(crm.url), agents=agents or AGENTS, wrap_up_seconds=0,
        telephony=[{"name": "pbx", "type": "edge", "options": options}],
        crm={"mapping": "(given by the test)"},
        # A roomy lease: a core losing it on a busy test machine is not what these
        # tests are about (tests/integration/cluster is).
        cluster={"nats_url": servers.cloud_url, "name": cluster, "node_id": node_id,
                 "storage": "memory", "lease_seconds": lease_seconds}))
    return hub, link


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with contextlib.AsyncExitStack() as stack:
        cluster, clock, servers, crm, sim, edge = await the_site(stack, tmp_path)
        hub, link = await hub_node(stack, tmp_path, servers, cluster, clock, crm, "cloud-a")
        yield Site(servers, hub, sim, edge, link, crm, clock, tmp_path / "hub.db")
