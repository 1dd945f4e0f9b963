"""The demo CRM on a real port (uvicorn in the test's loop), on its own SQLite file.

Most tests serve the CRM alone, mounted at /democrm as the hub mounts it (a
hub takes seconds to start); ``crm_in_hub`` runs the real hub with it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from ctibridge.config import DemoCrmSettings
from ctibridge.crm.democrm import DemoCrm
from ctibridge.telephony.simulator import Customer, generate_customers

from ..harness import RunningHub, free_port, running_hub

API_KEY = "test-crm-key"
SEED = 7  # the harness's simulator seed


@dataclass
class Crm:
    url: str  # the server's root
    http: httpx.AsyncClient  # base URL .../democrm/api, the key sent by default
    customers: Sequence[Customer]  # the simulator's pool the CRM was seeded from
    app: DemoCrm | None = None
    hub: RunningHub | None = None

    @property
    def base(self) -> str:
        return self.url + "/democrm"


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on",
                                           log_config=None, access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def democrm_server(database: Path, customers: Sequence[Customer],
                         outcomes: dict[str, dict[str, str]] | None = None
                         ) -> AsyncIterator[Crm]:
    crm = DemoCrm(DemoCrmSettings(database=f"sqlite:///{database}", api_key=API_KEY),
                  customers=lambda: customers, outcomes=outcomes)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await crm.start()
        try:
            yield
        finally:
            await crm.stop()

    root = Starlette(routes=[Mount("/democrm", crm.app)], lifespan=lifespan)
    async with serve(root) as url, httpx.AsyncClient(
            base_url=url + "/democrm/api", headers={"X-Api-Key": API_KEY}) as http:
        yield Crm(url, http, customers, app=crm)


@pytest.fixture
async def crm(tmp_path: Path) -> AsyncIterator[Crm]:
    async with democrm_server(tmp_path / "democrm.db", generate_customers(SEED)) as c:
        yield c


@pytest.fixture
async def crm_in_hub(tmp_path: Path) -> AsyncIterator[Crm]:
    democrm = {"database": f"sqlite:///{tmp_path / 'democrm.db'}", "api_key": API_KEY}
    async with running_hub(tmp_path, democrm=democrm) as hub:
        async with httpx.AsyncClient(base_url=hub.url + "/democrm/api",
                                     headers={"X-Api-Key": API_KEY}) as http:
            yield Crm(hub.url, http, hub.sim.customers.pool, hub=hub)
