"""A recording TCP proxy: put it between ctibridge (or any client) and the platform.

Each client connection is forwarded to the platform unchanged and recorded to
its own transcript (``out.ami``, then ``out-2.ami``, ...), with what the
client sent (secrets masked) between the server's messages. This records a
connector's own session, commands included, which a separate recording
session cannot see.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .transcript import Framing, TranscriptWriter


@dataclass
class ProxyStats:
    connections: int = 0
    files: list[Path] = field(default_factory=list)


class RecordingProxy:
    def __init__(self, upstream: tuple[str, int], out: Path, framing: Framing,
                 header: Callable[[int], list[str]], *,
                 listen: tuple[str, int] = ("127.0.0.1", 0),
                 upstream_ssl: ssl.SSLContext | None = None) -> None:
        self.upstream = upstream
        self.out = out
        self.framing = framing
        self.header = header
        self.listen = listen
        self.upstream_ssl = upstream_ssl
        self.stats = ProxyStats()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, *self.listen)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for w in list(self._writers):
            w.close()
        for t in list(self._tasks):
            t.cancel()
        for t in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None

    def path_for(self, n: int) -> Path:
        return self.out if n == 1 else self.out.with_name(f"{self.out.stem}-{n}{self.out.suffix}")

    async def _accept(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(c_writer)
        self.stats.connections += 1
        n = self.stats.connections
        try:
            try:
                u_reader, u_writer = await asyncio.open_connection(*self.upstream,
                                                                   ssl=self.upstream_ssl)
            except OSError:
                c_writer.close()
                return
            self._writers.add(u_writer)
            path = self.path_for(len(self.stats.files) + 1)  # numbered by recording
            self.stats.files.append(path)
            with path.open("wb") as f:
                rec = TranscriptWriter(f, self.framing, self.header(n))
                try:
                    await self._pump(rec, c_reader, c_writer, u_reader, u_writer)
                finally:
                    rec.close()
        finally:
            self._tasks.discard(task)
            for w in (c_writer,):
                self._writers.discard(w)
                w.close()

    async def _pump(self, rec: TranscriptWriter, c_reader: asyncio.StreamReader,
                    c_writer: asyncio.StreamWriter, u_reader: asyncio.StreamReader,
                    u_writer: asyncio.StreamWriter) -> None:
        async def down() -> None:  # platform -> client
            while data := await u_reader.read(65536):
                rec.received(data)
                c_writer.write(data)
                await c_writer.drain()

        async def up() -> None:  # client -> platform, recorded per complete block
            pending = b""
            while data := await c_reader.read(65536):
                u_writer.write(data)
                await u_writer.drain()
                pending += data
                n = self.framing.sent_complete(pending)
                if n:
                    rec.sent(pending[:n])
                    pending = pending[n:]

        tasks = [asyncio.create_task(down()), asyncio.create_task(up())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            pass
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, OSError,
                                         ConnectionError):
                    await t
            u_writer.close()
            self._writers.discard(u_writer)
