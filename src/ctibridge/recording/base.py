"""What recording and replaying a platform link share, whatever its protocol.

* :func:`recording_link`: connect on our own session, write the transcript as
  traffic arrives, send (recorded too), wait until stopped, say goodbye, close.
  The protocol module logs in and asks its snapshot in between.
* :class:`ReplayedEvent` and :class:`Replay`: what a protocol's replay gives the
  hub replay (:mod:`.replay`), which finds the protocol in its registry.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Generic, TypeVar

from ..model.events import PlatformEvent
from .transcript import Framing, RawTranscript, TranscriptWriter

T = TypeVar("T")
Opts = TypeVar("Opts")


class RecordError(Exception):
    """Recording could not start (the message says why and what to do)."""


@dataclass
class Server:
    """Where to record and how to word what goes wrong there."""

    host: str
    port: int
    what: str  # "the AMI": "cannot reach the AMI at ..."
    hint: str  # what to check when it cannot be reached
    error: type[RecordError] = RecordError
    ssl_context: ssl.SSLContext | None = None


class RecordingLink(Generic[T]):
    """One recording session: its inbox of the frames the protocol module wants."""

    def __init__(self, server: Server, stop: asyncio.Event, rec: TranscriptWriter,
                 writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.stop = stop
        self.rec = rec
        self.writer = writer
        self.inbox: asyncio.Queue[T | None] = asyncio.Queue()
        self.bytes = 0
        self.closed_by_server = False

    async def read(self, reader: asyncio.StreamReader,
                   frames: Callable[[bytes], Iterable[T]]) -> None:
        try:
            while data := await reader.read(65536):
                self.rec.received(data)
                self.bytes += len(data)
                for frame in frames(data):
                    self.inbox.put_nowait(frame)
        except OSError:
            pass
        self.closed_by_server = not self.stop.is_set()
        self.inbox.put_nowait(None)

    async def send(self, block: bytes) -> None:
        self.rec.sent(block)
        self.writer.write(block)
        await self.writer.drain()

    async def receive(self, timeout: float) -> T:
        frame = await asyncio.wait_for(self.inbox.get(), timeout)
        if frame is None:
            raise self.server.error(f"{self.server.what} closed the connection during login")
        return frame

    async def record_until_stopped(self, reading: asyncio.Task[None],
                                   goodbye: Callable[[], Awaitable[object]]) -> None:
        """Record until ``stop`` is set (then say ``goodbye``) or the server closes."""
        stopping = asyncio.create_task(self.stop.wait())
        await asyncio.wait({stopping, reading}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not reading.done():
            await goodbye()
            try:
                await asyncio.wait_for(asyncio.shield(reading), 3.0)
            except TimeoutError:
                pass


@contextlib.asynccontextmanager
async def recording_link(server: Server, out: BinaryIO, framing: Framing, header: list[str],
                         stop: asyncio.Event, frames: Callable[[bytes], Iterable[T]], *,
                         connect_timeout: float) -> AsyncIterator[
                             tuple[RecordingLink[T], asyncio.Task[None]]]:
    """Connect to ``server`` and record; yields the link and its reading task."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(
            server.host, server.port, ssl=server.ssl_context), connect_timeout)
    except (OSError, TimeoutError) as exc:
        raise server.error(f"cannot reach {server.what} at {server.host}:{server.port} "
                           f"({exc}); {server.hint}") from None
    link: RecordingLink[T] = RecordingLink(server, stop, TranscriptWriter(out, framing, header),
                                           writer)
    reading = asyncio.create_task(link.read(reader, frames))
    try:
        yield link, reading
    except TimeoutError:
        raise server.error(f"no answer from {server.host}:{server.port} in time") from None
    finally:
        reading.cancel()
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 1.0)
        except (OSError, TimeoutError):
            pass
        link.rec.close()


# ------------------------------------------------------------------- replay


@dataclass
class ReplayedEvent:
    line: int  # transcript line where the message causing it ends (or the sent block)
    event: PlatformEvent


@dataclass
class Replay(ABC, Generic[Opts]):
    """A transcript fed through a connector's normalizer (:meth:`run`), and what it saw."""

    transcript: RawTranscript
    options: Opts  # the connector's options
    now: Callable[[], datetime]
    events: list[ReplayedEvent] = field(default_factory=list)
    parse_errors: list[tuple[int, str]] = field(default_factory=list)
    banner: str | None = None
    messages: int = 0
    resyncs: int = 0
    commands: int = 0

    @abstractmethod
    def run(self) -> list[ReplayedEvent]:
        """Each protocol's own."""
