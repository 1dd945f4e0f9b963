"""Serve a vendor test double's Starlette app on a real port, and close it again; the
answer a test double cuts short."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

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


class Servable(Protocol):
    """A vendor double: its app, and where it is served (its ``url`` reads that)."""

    served: Served | None

    def app(self) -> Starlette: ...


D = TypeVar("D", bound=Servable)


@contextlib.asynccontextmanager
async def serving(double: D) -> AsyncIterator[D]:
    """``double`` served on a port of its own (``double.served``) for the block."""
    double.served = Served(double.app())
    async with double.served:
        yield double


class CutAnswer(Response):
    """The status line and part of the body, then the connection drops (a proxy or worker
    dying mid-answer): the record exists, the client cannot know it."""

    def __init__(self, record: dict[str, Any], *,
                 why: str = "the answer was cut (test control)", kept: int = 8) -> None:
        super().__init__(status_code=201)
        self.payload = json.dumps(record).encode()
        self.why = why
        self.kept = kept

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 201,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(self.payload)).encode())]})
        await send({"type": "http.response.body", "body": self.payload[:self.kept],
                    "more_body": True})
        raise ConnectionResetError(self.why)
