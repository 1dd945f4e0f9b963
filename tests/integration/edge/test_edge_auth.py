"""The edge's credentials for its local leaf node (edge.user / edge.password, an NKEY
seed): taken when right, refused with a clear error, not endless retries, when wrong."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path
from typing import Any

import nats
import nats.errors
import nkeys
import pytest

from ctibridge.clock import SystemClock
from ctibridge.config import EdgeSettings
from ctibridge.edge.connector import EdgeConnector, EdgeOptions
from ctibridge.edge.runner import Edge
from ctibridge.model.agent import AgentStatus
from ctibridge.model.errors import ConfigError
from ctibridge.model.events import AgentStateChanged, PlatformEvent, PlatformStatus
from ctibridge.telephony.simulator import SimulatorConnector

from .test_edge_process import next_of, run_edge
from .wan import Servers, cloud_and_leaf

PASSWORD = secrets.token_urlsafe(12)
USERS = f'authorization {{ users = [ {{user: ctibridge, password: "{PASSWORD}"}} ] }}'


async def serves_the_cloud(servers: Servers, **credentials: Any) -> None:
    """An edge with these credentials starts, and a command from the cloud crosses it."""
    sim = SimulatorConnector("pbx", clock=SystemClock(), seed=7, devices=["1001"])
    edge = Edge(EdgeSettings(nats_url=servers.leaf_url, cluster="acme", edge_id="paris",
                             domain=servers.domain, heartbeat_seconds=0.25,
                             buffer_bytes=32 * 1024**2, **credentials), {"pbx": sim})
    link = EdgeConnector("pbx", EdgeOptions(edge_id="paris", domain=servers.domain,
                                            cluster="acme", nats_url=servers.cloud_url,
                                            down_after_seconds=1.5), SystemClock())
    events = link.events()
    try:
        await asyncio.wait_for(edge.start(), 10)
        await link.start()
        while not (isinstance(ev := await next_of(events, PlatformEvent), PlatformStatus)
                   and ev.detail.startswith("edge paris:")):
            pass
        assert ev.up
        # A command crosses to the site and the platform's echo comes back.
        await link.set_agent_state("1001", AgentStatus.READY)
        echo = await next_of(events, AgentStateChanged)
        assert isinstance(echo, AgentStateChanged)
        assert (echo.device, echo.status) == ("1001", AgentStatus.READY)
    finally:
        await link.stop()
        await edge.stop()


async def test_an_edge_with_the_leaf_nodes_password_serves_the_cloud(tmp_path: Path) -> None:
    async with cloud_and_leaf(tmp_path, leaf_auth=USERS) as servers:
        # The leaf asks: without credentials nobody gets in.
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await nats.connect(servers.leaf_url, allow_reconnect=False, connect_timeout=2)
        await serves_the_cloud(servers, user="ctibridge", password=PASSWORD)


async def test_a_wrong_password_is_a_clear_error_at_once(tmp_path: Path) -> None:
    async with cloud_and_leaf(tmp_path, leaf_auth=USERS) as servers:
        sim = SimulatorConnector("pbx", clock=SystemClock(), seed=7, devices=["1001"])
        edge = Edge(EdgeSettings(nats_url=servers.leaf_url, cluster="acme", edge_id="paris",
                                 domain=servers.domain, user="ctibridge",
                                 password="not-" + PASSWORD), {"pbx": sim})
        # Within the first attempt, where an unreachable leaf node is waited for.
        with pytest.raises(ConfigError) as refused:
            await asyncio.wait_for(edge.start(), 5)
        await edge.stop()
        message = refused.value.message
        assert "refused the edge's credentials ('Authorization Violation')" in message
        assert servers.leaf_url in message and "edge.password" in message
        assert PASSWORD not in message
        # As an operator sees it: `ctibridge edge` stops with the reason, exit code 2.
        code, out = await run_edge(tmp_path, f"{{nats_url: '{servers.leaf_url}', "
                                             "edge_id: paris, domain: paris, "
                                             "user: ctibridge, password: wrong}")
    assert code == 2, out
    assert "refused the edge's credentials ('Authorization Violation')" in out
    assert "Traceback" not in out


def user_nkey(path: Path) -> str:
    """A new NKEY user: its seed written to ``path``, its public key returned."""
    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    path.write_bytes(seed + b"\n")
    path.chmod(0o600)
    return str(nkeys.from_seed(bytearray(seed)).public_key.decode())


async def test_an_edge_with_an_nkey_seed_is_let_in_and_another_key_is_not(
    tmp_path: Path,
) -> None:
    public = user_nkey(tmp_path / "edge.nk")
    user_nkey(tmp_path / "other.nk")  # a user the leaf node does not list
    async with cloud_and_leaf(tmp_path, leaf_auth=f"authorization {{ users = [ "
                                                   f"{{nkey: {public}}} ] }}") as servers:
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await nats.connect(servers.leaf_url, allow_reconnect=False, connect_timeout=2)
        # nats-py signs the leaf node's nonce with the seed (the nkeys package).
        await serves_the_cloud(servers, nkey_seed=tmp_path / "edge.nk")
        sim = SimulatorConnector("pbx", clock=SystemClock(), seed=7, devices=["1001"])
        edge = Edge(EdgeSettings(nats_url=servers.leaf_url, cluster="acme", edge_id="paris",
                                 domain=servers.domain, nkey_seed=tmp_path / "other.nk"),
                    {"pbx": sim})
        with pytest.raises(ConfigError, match="refused the edge's credentials"):
            await asyncio.wait_for(edge.start(), 5)
        await edge.stop()
