"""A raw HTTP/1.1 server on a real port that records every request line as it
arrives on the wire (nothing decoded or normalized), for tests that check what a
hub sends to a CRM."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field


@dataclass
class Seen:
    method: str
    target: str  # the request-target exactly as sent: path and query, percent-encoded
    headers: dict[str, str]
    body: bytes


@dataclass
class WireServer:
    # (method, target) -> (status, JSON body); the default answers 404 {}.
    answer: Callable[[Seen], tuple[int, object]] = lambda seen: (404, {})
    requests: list[Seen] = field(default_factory=list)
    url: str = ""

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in
                           (line.partition(":") for line in lines[1:] if line)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                seen = Seen(method, target, headers, body)
                self.requests.append(seen)
                status, data = self.answer(seen)
                payload = json.dumps(data).encode()
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    @property
    def targets(self) -> list[str]:
        return [r.target for r in self.requests]


@contextlib.asynccontextmanager
async def wire_server(answer: Callable[[Seen], tuple[int, object]] | None = None
                      ) -> AsyncIterator[WireServer]:
    state = WireServer() if answer is None else WireServer(answer)
    server = await asyncio.start_server(state._serve, "127.0.0.1", 0)
    state.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield state
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)
