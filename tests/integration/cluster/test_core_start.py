"""Taking the core: the lease stays held however long the core takes to start, and only
the core's node calls its simulator (real NATS, as the other cluster tests)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import nats

from ctibridge.clock import FakeClock
from ctibridge.cluster.lease import Lease
from ctibridge.telephony.simulator import SimulatorConnector

from ..harness import running_hub
from .conftest import NATS_URL, SECRET, Cluster


async def test_the_lease_is_renewed_while_the_core_starts(cluster: Cluster) -> None:
    """A core whose start outlasts the lease (thousands of agents, a slow platform)
    keeps it: no node takes it and loses it in turn."""
    nc = await nats.connect(NATS_URL)
    bucket = f"{cluster.name}_lease"  # deleted by the fixture
    started, lost = asyncio.Event(), []

    async def slow_start(token: int) -> None:
        await asyncio.sleep(2.5)  # over twice the lease
        started.set()

    async def on_lost(token: int) -> None:
        lost.append(token)

    lease = Lease(nc.jetstream(), "n1", bucket, ttl=1.0, on_acquired=slow_start,
                  on_lost=on_lost)
    try:
        lease.start()
        await asyncio.wait_for(started.wait(), 10)
        await asyncio.sleep(1.0)  # and a lease's length after it
        assert lost == [] and lease.held
    finally:
        await lease.stop()
        await nc.close()


async def test_only_the_core_node_calls_its_simulator(tmp_path: Path,
                                                      cluster: Cluster) -> None:
    name = cluster.name  # its stream and bucket deleted by the fixture
    clock = FakeClock()

    def node(node_id: str) -> contextlib.AbstractAsyncContextManager:  # type: ignore[type-arg]
        sim = SimulatorConnector("sim", clock=clock, seed=7, devices=["1001", "1002", "1003"])
        return running_hub(tmp_path / node_id, clock=clock, sim=sim,
                           auth={"secret_key": SECRET},
                           traffic={"platform": "sim", "calls_per_minute": 60},
                           cluster={"nats_url": NATS_URL, "name": name, "node_id": node_id,
                                    "storage": "memory", "lease_seconds": 3.0})

    async def running_core(svc: object) -> None:
        for _ in range(400):
            if getattr(svc, "core_running", False):
                return
            await asyncio.sleep(0.05)
        raise TimeoutError("no core started")

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with node("b") as b:
        async with node("a") as a:
            services = {"a": a.app.state.services, "b": b.app.state.services}
            await asyncio.wait_for(asyncio.wait(
                [asyncio.create_task(running_core(s)) for s in services.values()],
                return_when=asyncio.FIRST_COMPLETED), 15)
            core, other = sorted(services, key=lambda n: not services[n].core_running)
            for svc in services.values():
                svc.start_traffic()  # what `ctibridge serve` does once it listens
            assert services[core].traffic is not None
            assert services[other].traffic is None  # its simulator is not even started
        # a stopped: b takes the core over and calls its simulator from then on
        await asyncio.wait_for(running_core(b.app.state.services), 20)
        assert b.app.state.services.traffic is not None
