"""Hub nodes on the real NATS server (JetStream) at 127.0.0.1:4222, or CTIBRIDGE_TEST_NATS.

Each test names its own cluster (subjects, stream, lease bucket), so runs sharing the
server never mix, and deletes its stream and bucket at the end. If NATS cannot be
reached, or runs without JetStream, the tests are skipped (failed under CI: scripts/
test.sh starts it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ctibridge.clock import FakeClock
from ctibridge.telephony.simulator import SimulatorConnector
from tests.needs import unavailable

from ..harness import RunningHub, running_hub

NATS_URL = os.environ.get("CTIBRIDGE_TEST_NATS", "nats://127.0.0.1:4222")
SECRET = secrets.token_urlsafe(48)  # every node signs and checks tokens with the same key


async def _jetstream_or_skip() -> None:
    import nats

    try:
        nc = await nats.connect(NATS_URL, connect_timeout=2, max_reconnect_attempts=0,
                                allow_reconnect=False)
    except Exception as exc:
        unavailable(f"NATS is not reachable at {NATS_URL} ({type(exc).__name__}: {exc}); "
                    "start it with JetStream (-js), see scripts/test.sh")
    try:
        await nc.jetstream().account_info()
    except Exception as exc:
        unavailable(f"NATS at {NATS_URL} runs without JetStream ({exc}); start it with -js")
    finally:
        await nc.close()


class Cluster:
    """Nodes of one cluster in this event loop, sharing a database and a fake clock."""

    def __init__(self, tmp_path: Path, name: str) -> None:
        self.tmp_path = tmp_path
        self.name = name
        self.clock = FakeClock()
        self.stack = contextlib.AsyncExitStack()
        self.nodes: dict[str, RunningHub] = {}

    async def node(self, node_id: str, *, hub: dict[str, Any] | None = None,
                   sim: SimulatorConnector | None = None, **cluster: Any) -> RunningHub:
        """A node; ``hub``: more settings (the same for every node, as in production)."""
        sim = sim or SimulatorConnector("sim", clock=self.clock, seed=7,
                                        devices=["1001", "1002", "1003"],
                                        ring_timeout=20.0, answer_delay=(1.0, 2.0))
        node = await self.stack.enter_async_context(running_hub(
            self.tmp_path, clock=self.clock, sim=sim, auth={"secret_key": SECRET},
            cluster={"nats_url": NATS_URL, "name": self.name, "node_id": node_id,
                     "storage": "memory", "lease_seconds": 3.0, **cluster}, **(hub or {})))
        self.nodes[node_id] = node
        return node

    async def core(self, timeout: float = 10.0, *, on: str | None = None) -> RunningHub:
        """The node running the core, once one does (``on``: once that node does)."""
        async def find() -> RunningHub:
            while True:
                for node_id, hub in self.nodes.items():
                    if hub.app.state.services.cluster.owner is not None \
                            and on in (None, node_id):
                        return hub
                await asyncio.sleep(0.05)
        return await asyncio.wait_for(find(), timeout)

    async def cleanup(self) -> None:
        await self.stack.aclose()
        import nats

        nc = await nats.connect(NATS_URL)
        js = nc.jetstream()
        for stream in ("EVENTS", "JOURNAL"):
            with contextlib.suppress(Exception):
                await js.delete_stream(f"{self.name.upper().replace('-', '_')}_{stream}")
        with contextlib.suppress(Exception):
            await js.delete_key_value(f"{self.name}_lease")
        await nc.close()


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    await _jetstream_or_skip()
    c = Cluster(tmp_path, f"t{secrets.token_hex(4)}")
    try:
        yield c
    finally:
        await c.cleanup()
