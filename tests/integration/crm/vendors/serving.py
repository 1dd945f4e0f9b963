"""Serve a vendor test double's Starlette app on a real port, and close it again."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette

from ...harness import free_port


@dataclass
class Served:
    """One app on one port; ``down()`` then ``up()`` keeps the port (a CRM restart)."""

    app: Starlette
    port: int = field(default_factory=free_port)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def up(self) -> None:
        if self._server is not None:
            return
        server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port,
                                               log_config=None, access_log=False,
                                               lifespan="off"))
        self._task = asyncio.create_task(server.serve())
        while not server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        self._server = server

    async def down(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        self._server.force_exit = True
        await self._task
        self._server = self._task = None

    async def __aenter__(self) -> Served:
        await self.up()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.down()
