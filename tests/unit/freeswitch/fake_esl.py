"""A fake FreeSWITCH event socket on a real TCP port, written from the protocol as the
real captures in ``shared/fixtures/freeswitch`` show it (README there, quirks 1-3):

* the server speaks first: ``Content-Type: auth/request``;
* ``auth <password>``: ``+OK accepted``, or ``-ERR invalid`` then
  ``text/disconnect-notice`` and the close; a command before auth:
  ``-ERR command not found`` (the socket stays open);
* ``event plain|json ...``: ``+OK event listener enabled <format>``; ``filter``: ``+OK``;
* ``api X``: ``api/response`` (Content-Length body, errors as text);
* ``bgapi X``: ``+OK Job-UUID: <id>`` (and a ``Job-UUID`` header) at once, then a
  BACKGROUND_JOB event carrying the result;
* ``exit``: ``+OK bye``, ``text/disconnect-notice``, the close.

``api`` answers come from :attr:`FakeEsl.api` (command text -> reply text, or a
callable); events are pushed by the test (:meth:`FakeEsl.push`), e.g. the event
frames of a real capture. Every command received is kept in :attr:`commands`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from ctibridge.recording.esl import read_esl_file
from ctibridge.recording.transcript import ReceivedBytes
from ctibridge.telephony.freeswitch.esl import EslParser, Frame, encode_plain
from tests.needs import shared_fixtures

FIXTURES = shared_fixtures() / "freeswitch"
PEERS = shared_fixtures() / "peers" / "esl"
DISCONNECT = (b"Content-Type: text/disconnect-notice\nContent-Length: 67\n\n"
              b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n")
IDLE = {
    "show channels as json": '{"row_count":0}',
    "show calls as json": '{"row_count":0}',
    "callcenter_config queue list": "name|strategy\nsupport@default|top-down\n+OK\n",
    "callcenter_config agent list": "name|instance_id|uuid|type|contact|status|state\n+OK\n",
    "version": "FreeSWITCH Version 1.10.12-release~64bit (fake)\n",
    "status": "UP 0 years, 0 days\n",
}


def reply(text: str, **headers: str) -> bytes:
    head = "".join(f"{k}: {v}\n" for k, v in headers.items())
    return f"Content-Type: command/reply\n{head}Reply-Text: {text}\n\n".encode()


def api_response(text: str) -> bytes:
    body = text.encode()
    return f"Content-Type: api/response\nContent-Length: {len(body)}\n\n".encode() + body


def event_frame(headers: dict[str, str], body: str | None = None) -> bytes:
    data = encode_plain(headers, body)
    return f"Content-Length: {len(data)}\nContent-Type: text/event-plain\n\n".encode() + data


def event_frames(name: str) -> list[bytes]:
    """The event frames of a capture, as the server sent them (replies left out)."""
    t = read_esl_file(FIXTURES / name)
    data = b"".join(p.data for p in t.parts if isinstance(p, ReceivedBytes))
    out = []
    for f in EslParser().feed(data):
        if isinstance(f, Frame) and f.is_event:
            out.append(data[f.offset:f.offset + f.size])
    return out


@dataclass
class Session:
    writer: asyncio.StreamWriter
    authed: bool = False
    subscribed: str | None = None


@dataclass
class FakeEsl:
    password: str = "ClueCon"
    api: dict[str, str | Callable[[str], str]] = field(default_factory=lambda: dict(IDLE))
    bgapi_result: Callable[[str], str] = lambda cmd: "+OK 00000000-fake\n"  # noqa: E731
    commands: list[str] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    accepted: int = 0
    silent: bool = False  # stop answering (a half-open link)
    _server: asyncio.Server | None = None
    _jobs: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", port)
        return self.port

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        await self.drop()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)

    async def drop(self) -> None:
        """Cut every session (a link loss)."""
        for s in self.sessions:
            s.writer.close()
        self.sessions.clear()
        self.subscribed.clear()

    async def push(self, *frames: bytes) -> None:
        """Send bytes (event frames) to every subscribed session."""
        for s in list(self.sessions):
            if s.subscribed:
                s.writer.write(b"".join(frames))
                with contextlib.suppress(ConnectionError):
                    await s.writer.drain()

    def answer_api(self, command: str) -> str:
        handler = self.api.get(command)
        if handler is None:  # the longest "prefix*" that matches
            for key in sorted(self.api, key=len, reverse=True):
                if key.endswith("*") and command.startswith(key[:-1]):
                    handler = self.api[key]
                    break
        if handler is None:
            name = command.split(" ", 1)[0]
            return f"-ERR {name} Command not found!\n"
        return handler(command) if callable(handler) else handler

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        session = Session(writer)
        self.sessions.append(session)
        writer.write(b"Content-Type: auth/request\n\n")
        buf = b""
        try:
            while data := await reader.read(65536):
                buf += data
                while b"\n\n" in buf:
                    line, buf = buf.split(b"\n\n", 1)
                    if not await self._command(session, line.decode().strip()):
                        return
        except ConnectionError:
            pass
        finally:
            writer.close()
            if session in self.sessions:
                self.sessions.remove(session)

    async def _command(self, s: Session, line: str) -> bool:
        self.commands.append(line)
        w = s.writer
        if self.silent:
            return True
        if line.startswith("auth "):
            if line[5:] == self.password:
                s.authed = True
                w.write(reply("+OK accepted"))
            else:
                w.write(reply("-ERR invalid") + DISCONNECT)
                await w.drain()
                return False
        elif not s.authed:
            w.write(reply("-ERR command not found"))
        elif line.startswith("event "):
            parts = line.split()
            if len(parts) < 3:
                w.write(reply("-ERR no keywords supplied"))
            else:
                s.subscribed = parts[1]
                w.write(reply(f"+OK event listener enabled {parts[1]}"))
                self.subscribed.set()
        elif line.startswith("filter "):
            w.write(reply(f"+OK filter added. [{line[7:]}]"))
        elif line.startswith("api "):
            w.write(api_response(self.answer_api(line[4:])))
        elif line.startswith("bgapi "):
            job = f"00000000-0000-4000-8000-{next(self._jobs):012d}"
            w.write(reply(f"+OK Job-UUID: {job}", **{"Job-UUID": job}))
            await w.drain()
            w.write(event_frame({"Event-Name": "BACKGROUND_JOB", "Job-UUID": job,
                                 "Job-Command": line[6:].split(" ", 1)[0]},
                                self.bgapi_result(line[6:])))
        elif line == "exit":
            w.write(reply("+OK bye") + DISCONNECT)
            await w.drain()
            return False
        else:
            w.write(reply("-ERR command not found"))
        await w.drain()
        return True
