"""The test CRM on a real port, and the in-house REST example mapping pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn

from ctibridge.crm.mapping import MappingConnector, load_mapping
from tests.integration.harness import free_port

from .testcrm import CLIENT_SECRET, InhouseCrm

ROOT = Path(__file__).resolve().parents[3]
INHOUSE_REST = ROOT / "examples/mappings/inhouse-rest.yaml"


@pytest.fixture
async def crm() -> AsyncIterator[tuple[InhouseCrm, str]]:
    state = InhouseCrm()
    port = free_port()
    config = uvicorn.Config(state.app(), host="127.0.0.1", port=port, log_config=None,
                            access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield state, f"http://127.0.0.1:{port}"
    finally:
        state.release.set()
        server.should_exit = True
        await task


class Pauses(list[float]):
    """Stands for asyncio.sleep between retries: records the pause, does not wait."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def connector_for(url: str, path: Path = INHOUSE_REST, **overrides: str) -> MappingConnector:
    pauses = Pauses()
    connector = load_mapping(path, {"crm_url": url}, sleep=pauses,
                             environ={"INHOUSE_CRM_SECRET": CLIENT_SECRET, **overrides})
    connector.pauses = pauses  # type: ignore[attr-defined]
    return connector


@pytest.fixture
async def rest(crm: tuple[InhouseCrm, str]) -> AsyncIterator[MappingConnector]:
    connector = connector_for(crm[1])
    await connector.start()
    try:
        yield connector
    finally:
        await connector.stop()
