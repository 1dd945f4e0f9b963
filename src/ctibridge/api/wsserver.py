"""The WebSocket side of the uvicorn server the hub runs in.

uvicorn's ``websocket.close`` waits, like a send, until the socket's write
buffer drains: for a client that never reads, it never does, and
``transport.close()`` keeps that buffer (and the kernel's, megabytes) for as
long as the client stays connected. So the hub's protocol class adds one ASGI
extension, ``ctibridge.abort``: ``abort`` resets the connection at once
(``SO_LINGER`` 0, then ``transport.abort()``), whatever is buffered, and
``stop_reading`` stops reading from it (a flooder's backlog is left unparsed). The agent
socket uses it to cut slow consumers and flooders (api/wslimits.py); under
another server it falls back to a bounded close.

It also parses what it reads a slice at a time (``READ_SLICE``): one read can
bring a quarter megabyte, and uvicorn parses all of it at once, which for a
flood of small frames is ten thousand frames (a quarter second of the event
loop) for messages the rate limit will then make wait or drop. Here a read is
parsed only until it has given the application a message; the rest waits,
reading paused, until the application has taken what it has.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

ABORT_EXTENSION = "ctibridge.abort"
# Bytes parsed at a time (a few hundred small frames); a larger message takes several
# slices in one go, since parsing stops only once a message is out.
READ_SLICE = 4096


class HubWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O websockets protocol, with the ``ctibridge.abort`` extension
    and parsing bounded by what the application takes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held = b""  # read but not parsed yet
        self._held_at = 0

    def data_received(self, data: bytes) -> None:
        if self._held_at < len(self._held):
            self._held = self._held[self._held_at:] + data
        else:
            self._held = data
        self._held_at = 0
        self._feed()

    def _feed(self) -> None:
        """Parse held bytes a slice at a time until a message is queued for the
        application (or the socket is closing: nothing is queued then), then hold the
        rest with reading paused."""
        if self.close_sent:
            # The hub is closing this socket (a flooder cut, a session ended): what the
            # client sent since is not read. Parsing a flooder's megabytes of backlog here,
            # all at once since a closing socket queues no message, held the event loop
            # for 1.3 s (bench/abuse.py, uvloop). The close ends with the client's answer
            # if it comes in what was already parsed, else with the abort that follows.
            self._held, self._held_at = b"", 0
            self.stop_reading()
            return
        queued = self.queue.qsize()
        while self._held_at < len(self._held) and not self.disconnected:
            start = self._held_at
            self._held_at = start + READ_SLICE
            super().data_received(self._held[start:self._held_at])
            if self.queue.qsize() > queued or self.close_sent:
                break
        if self._held_at < len(self._held):
            if not self.read_paused and self.transport is not None:
                self.read_paused = True
                self.transport.pause_reading()
        else:
            self._held, self._held_at = b"", 0

    async def receive(self) -> Any:
        message = await self.queue.get()
        if self.queue.empty() and self._held_at < len(self._held):
            self._feed()  # the next slice before the next read
            if self._held_at < len(self._held) or not self.queue.empty():
                return message  # still paused: more is held, or a message waits
        if self.read_paused and self.queue.empty():
            self.read_paused = False
            self.transport.resume_reading()
        return message

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None and self.response.status_code == 101:
            # The ASGI task was created but has not run yet: it sees this scope.
            scope["extensions"][ABORT_EXTENSION] = {"abort": self.abort_connection,
                                                    "stop_reading": self.stop_reading}

    def stop_reading(self) -> None:
        """Read nothing more from the client (a flooder's backlog is not even parsed)."""
        transport = self.transport
        if transport is not None and not transport.is_closing():
            self.read_paused = True
            transport.pause_reading()

    def abort_connection(self) -> None:
        """Drop the connection now: a reset, buffered data discarded (idempotent)."""
        transport = self.transport
        if transport is None or transport.is_closing() and self.disconnected:
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                # Linger 0: close() sends a reset and frees the kernel's buffers now,
                # instead of leaving an orphan socket trying to deliver them.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()


def server_options(settings: Any) -> dict[str, Any]:
    """uvicorn.Config keyword arguments for the agent socket.

    ``ws_max_size`` is the protocol's message limit: a bigger message is refused
    by the frame parser with close 1009 before its payload is buffered.
    """
    return {
        "ws": HubWebSocketProtocol,
        "ws_max_size": settings.server.max_message_bytes,
        "ws_per_message_deflate": settings.server.limits.ws_compression,
        "ws_ping_interval": 20.0,
        "ws_ping_timeout": 20.0,
    }
