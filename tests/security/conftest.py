"""A real hub on a real port, started the way ``ctibridge serve`` starts it.

The server comes from ``api/server.py`` (the same uvicorn protocol and limits as
production) and listens on 127.0.0.1; tests attack it through real sockets:
raw ones for what a client library would refuse to send (a trickled head, a
200 MB body), httpx and websockets for the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.net import free_port

AGENTS = [
    {"id": "alice", "name": "Alice Martin", "extension": "1001", "platform": "sim"},
    {"id": "bob", "name": "Bob Durand", "extension": "1002", "platform": "sim"},
]


@dataclass
class Hub:
    settings: Any
    app: Any
    server: Any
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def guard(self) -> Any:
        from ctibridge.api.server import guard_of

        return guard_of(self.server)

    async def token(self, user: str, password: str | None = None) -> str:
        async with httpx.AsyncClient(base_url=self.url) as http:
            r = await http.post("/api/login", json={"username": user,
                                                    "password": password or user})
            assert r.status_code == 200, r.text
            return str(r.json()["token"])

    async def ticket(self, user: str) -> str:
        token = await self.token(user)
        async with httpx.AsyncClient(base_url=self.url) as http:
            r = await http.post("/api/ws-ticket", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200, r.text
            return str(r.json()["ticket"])

    async def raw(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)


async def read_response(reader: asyncio.StreamReader, timeout: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    async with asyncio.timeout(timeout):
        while chunk := await reader.read(65536):
            chunks.append(chunk)
    return b"".join(chunks)


async def until(pred: Callable[[], bool], what: str, seconds: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while not pred():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running(tmp: Path, **overrides: Any) -> AsyncIterator[Hub]:
    from ctibridge.api.app import create_app
    from ctibridge.api.server import build_server, listeners
    from ctibridge.config import Settings

    port = free_port()
    base: dict[str, Any] = {
        "demo": True,
        "database": {"url": f"sqlite:///{tmp / 'hub.db'}"},
        "server": {"host": "127.0.0.1", "port": port},
        "telephony": [{"name": "sim", "type": "simulator",
                       "options": {"devices": ["1001", "1002"]}}],
        "agents": AGENTS,
        "log": {"level": "warning"},
    }
    for k, v in overrides.items():
        merge = isinstance(v, dict) and isinstance(base.get(k), dict)
        base[k] = {**base[k], **v} if merge else v
    settings = Settings.load(None, **base)
    app = create_app(settings)
    server = build_server(app, settings)
    socks = listeners(settings)
    task = asyncio.create_task(server.serve(sockets=socks))
    try:
        await until(lambda: server.started or task.done(), "the hub to start", 30)
        if task.done():
            task.result()
            raise RuntimeError("the hub did not start")
        yield Hub(settings, app, server, port)
    finally:
        server.should_exit = True
        done, _ = await asyncio.wait({task}, timeout=10)
        if not done:
            server.force_exit = True
            await asyncio.wait({task}, timeout=5)
        for s in socks:
            s.close()


@pytest.fixture
async def start_hub(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Hub]]]:
    """``await start_hub(server={"limits": {...}})``: a hub with overrides."""
    stack = contextlib.AsyncExitStack()

    async def start(**overrides: Any) -> Hub:
        folder = tmp_path / f"hub{len(stack._exit_callbacks)}"
        folder.mkdir()
        return await stack.enter_async_context(running(folder, **overrides))

    async with stack:
        yield start


@pytest.fixture
async def hub(start_hub: Callable[..., Awaitable[Hub]]) -> Hub:
    return await start_hub()
