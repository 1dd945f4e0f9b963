"""A real hub (harness.running_hub's twin) given a CRM connector."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn

from ctibridge.api.app import create_app
from ctibridge.clock import FakeClock
from ctibridge.config import Settings
from ctibridge.telephony.simulator import SimulatorConnector

from ..harness import AGENTS, AgentClient, RunningHub, free_port


@contextlib.asynccontextmanager
async def crm_hub(tmp_path: Path, crm: Any, *, crm_settings: dict[str, Any] | None = None,
                  **overrides: Any) -> AsyncIterator[RunningHub]:
    clock = FakeClock()
    port = free_port()
    base: dict[str, Any] = {
        "demo": True,
        "database": {"url": f"sqlite:///{tmp_path / 'hub.db'}"},
        "server": {"host": "127.0.0.1", "port": port},
        "agents": AGENTS,
        "wrap_up_seconds": 10,
        "crm": {"mapping": "(given by the test)", **(crm_settings or {})},
    }
    base.update(overrides)
    settings = Settings.load(None, **base)
    sim = SimulatorConnector("sim", clock=clock, seed=7, devices=["1001", "1002", "1003"],
                             ring_timeout=20.0, answer_delay=(1.0, 2.0))
    app = create_app(settings, connectors={"sim": sim}, clock=clock, crm=crm)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on",
                                           log_config=None, access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield RunningHub(f"http://127.0.0.1:{port}", app, sim, clock, settings)
    finally:
        server.should_exit = True
        await task


async def ready(agent: AgentClient) -> None:
    await agent.ok("agent.login")
    await agent.ok("agent.ready")
    await agent.event("agent.state", where=lambda d: d["agent"]["state"]["status"] == "ready")


async def eventually(check: Any, what: str, within: float = 5.0) -> None:
    """Wait until ``check()`` is true (things another task or process does)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.01)
