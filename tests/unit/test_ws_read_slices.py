"""The hub's WebSocket protocol parses what it reads only as fast as the application
takes messages: a flood that arrives in one read is not parsed in one go."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.server import ServerState
from websockets.frames import Frame, Opcode

from ctibridge.api.wsserver import READ_SLICE, HubWebSocketProtocol

HANDSHAKE = (b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
             b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             b"Sec-WebSocket-Version: 13\r\n\r\n")


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.paused = False
        self.written: list[bytes] = []

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default)

    def write(self, data: Any) -> None:
        self.written.append(bytes(data))

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass


def masked_ping(n: int) -> bytes:
    frame = Frame(Opcode.TEXT, b'{"type":"ping","id":%d}' % n)
    return frame.serialize(mask=True)


async def test_a_flood_in_one_read_is_parsed_a_slice_at_a_time() -> None:
    accepted = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        accepted.set()
        await asyncio.Event().wait()  # reads nothing more: the test does

    config = uvicorn.Config(app, ws="websockets-sansio", lifespan="off", ws_ping_interval=None)
    config.load()
    protocol = HubWebSocketProtocol(config, ServerState(), {})
    transport = Transport()
    protocol.connection_made(transport)
    protocol.data_received(HANDSHAKE)
    await asyncio.wait_for(accepted.wait(), 5)

    flood = b"".join(masked_ping(n) for n in range(10_000))  # ~300 KB in one read
    protocol.data_received(flood)
    per_slice = READ_SLICE // len(masked_ping(0)) + 1
    assert 0 < protocol.queue.qsize() <= per_slice  # one slice parsed, not 10,000 frames
    assert transport.paused  # the rest waits in the kernel, not in the parser

    # Each time the application has taken all that was parsed, the next slice is parsed;
    # every message arrives, in order.
    ids = []
    for _ in range(10_000):
        message = await asyncio.wait_for(protocol.receive(), 1)
        ids.append(int(message["text"].split(":")[-1].rstrip("}")))
        assert protocol.queue.qsize() <= per_slice
    assert ids == list(range(10_000))
    assert not transport.paused  # all taken: reading again
    protocol.connection_lost(None)
    for task in protocol.tasks:
        task.cancel()
