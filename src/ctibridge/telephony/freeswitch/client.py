"""FreeSWITCH Event Socket (inbound mode): an asyncio client (framing is in :mod:`.esl`).

:class:`EslClient` owns one TCP connection to ``mod_event_socket``:

* **Session**: the server speaks first (``auth/request``); ``auth <password>``;
  ``-ERR invalid`` is followed by ``text/disconnect-notice`` and a close
  (:class:`EslAuthError`). A ``text/rude-rejection`` means the ACL refused us.
* **Commands**: replies carry no request id, so they answer the commands in the
  order sent (one FIFO of futures). ``api`` answers ``api/response`` (errors are
  text: ``-ERR ...``, ``-USAGE: ...``, :class:`EslCommandError` when asked to
  check); ``bgapi`` answers ``+OK Job-UUID: <id>`` at once and the result comes
  later as a BACKGROUND_JOB event with that Job-UUID (:meth:`bgapi` returns a
  :class:`Job` whose ``result`` future it completes).
* **Events** go to :attr:`events` (a queue the socket reader never waits on: on
  overflow the backlog is dropped and :data:`OVERFLOW` tells the consumer to
  resynchronize). ``text/disconnect-notice`` ends the session (:data:`DISCONNECTED`).
* **Keep-alive**: when nothing arrived for ``ping_interval`` seconds an
  ``api status`` must answer within ``timeout``, else the link counts as dead
  (a half-open TCP connection is otherwise silent forever).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import structlog

from .esl import (
    API_RESPONSE,
    AUTH_REQUEST,
    COMMAND_REPLY,
    DISCONNECT_NOTICE,
    RUDE_REJECTION,
    EslError,
    EslParser,
    Event,
    Frame,
    ParseError,
    parse_event,
)

log = structlog.get_logger("ctibridge.freeswitch.esl")

OVERFLOW = "overflow"  # put in the event queue when events were dropped
DISCONNECTED = "disconnected"  # put in the event queue when the session ended


class EslConnectionError(Exception):
    """The link is down, was cut, or never came up."""


class EslAuthError(EslConnectionError):
    """The event socket refused the password (or the ACL refused us)."""


class EslCommandError(Exception):
    """FreeSWITCH answered ``-ERR ...`` or ``-USAGE: ...`` (``message`` is the text)."""

    def __init__(self, command: str, message: str) -> None:
        super().__init__(f"{command}: {message}")
        self.command = command
        self.message = message


@dataclass
class Job:
    """A ``bgapi`` command: its Job-UUID and the BACKGROUND_JOB body when it ends."""

    uuid: str
    command: str
    result: asyncio.Future[str] = field(repr=False)


def _is_error(text: str) -> bool:
    return text.startswith("-ERR") or text.startswith("-USAGE")


def _job_uuid(reply: Frame) -> str | None:
    job = reply.get("Job-UUID")
    if job:
        return job
    text = reply.reply_text
    if "Job-UUID:" in text:
        return text.split("Job-UUID:", 1)[1].strip() or None
    return None


def _safe(part: str) -> str:
    """Refuse line breaks in a command: one would start another command (injection)."""
    if "\n" in part or "\r" in part:
        raise ValueError("an ESL command cannot contain a line break")
    return part


class EslClient:
    def __init__(self, host: str, port: int, password: str, *, timeout: float = 10.0,
                 ping_interval: float = 20.0, max_backlog: int = 50_000) -> None:
        self.host = host
        self.port = port
        self.password = password
        self.timeout = timeout
        self.ping_interval = ping_interval
        self.max_backlog = max_backlog
        self.events: asyncio.Queue[Event | str] = asyncio.Queue()
        self.parse_errors = 0
        self.close_reason: str | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._replies: deque[tuple[str, asyncio.Future[Frame]]] = deque()
        self._jobs: dict[str, Job] = {}
        self._early_jobs: dict[str, Event] = {}  # BACKGROUND_JOB before its bgapi reply
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = asyncio.Event()
        self._auth_request: asyncio.Future[Frame] | None = None
        self._lock = asyncio.Lock()  # a command and its future enter the FIFO together
        self._last_rx = 0.0

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._closed.is_set()

    # ------------------------------------------------------------- session

    async def connect(self) -> None:
        """Open, authenticate; raise EslConnectionError / EslAuthError."""
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.timeout)
        except (OSError, TimeoutError) as exc:
            raise EslConnectionError(f"cannot reach the event socket at {self.host}:"
                                     f"{self.port}: {exc or 'timeout'}") from None
        loop = asyncio.get_running_loop()
        self._last_rx = loop.time()
        self._auth_request = loop.create_future()
        self._tasks.append(asyncio.create_task(self._read_loop(), name="esl-reader"))
        try:
            await asyncio.wait_for(asyncio.shield(self._auth_request), self.timeout)
        except TimeoutError:
            await self.close()
            raise EslConnectionError(f"{self.host}:{self.port} did not ask for auth within "
                                     f"{self.timeout:g} s (is it an event socket?)") from None
        except EslConnectionError:
            await self.close()
            raise
        try:
            reply = await self.command(f"auth {self.password}")
        except EslConnectionError as exc:
            await self.close()
            raise EslAuthError(f"the event socket closed the link at auth: {exc}") from None
        if not reply.reply_text.startswith("+OK"):
            await self.close()
            raise EslAuthError(f"the event socket refused the password "
                               f"({reply.reply_text or 'no reply'}); check "
                               "event_socket.conf.xml's password")
        if self.ping_interval > 0:
            self._tasks.append(asyncio.create_task(self._keepalive(), name="esl-keepalive"))

    async def subscribe(self, encoding: str = "plain", events: str = "ALL") -> None:
        reply = await self.command(f"event {encoding} {events}")
        if not reply.reply_text.startswith("+OK"):
            raise EslCommandError(f"event {encoding} {events}", reply.reply_text)

    async def filter(self, header: str, value: str) -> None:
        reply = await self.command(f"filter {header} {value}")
        if not reply.reply_text.startswith("+OK"):
            raise EslCommandError(f"filter {header} {value}", reply.reply_text)

    async def close(self, *, exit_first: bool = False) -> None:
        if exit_first and self.connected:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.command("exit"), 2.0)
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)
        for t in self._tasks:
            if t is not asyncio.current_task():
                t.cancel()
        self._tasks.clear()
        self._shutdown(self.close_reason or "closed by us")

    async def wait_closed(self) -> str:
        await self._closed.wait()
        return self.close_reason or "closed"

    def _shutdown(self, reason: str) -> None:
        if self._closed.is_set():
            return
        self.close_reason = self.close_reason or reason
        self._closed.set()
        exc = EslConnectionError(self.close_reason)
        while self._replies:
            _, fut = self._replies.popleft()
            if not fut.done():
                fut.set_exception(exc)
                fut.exception()  # retrieved: nobody may be waiting any more
        for job in self._jobs.values():
            if not job.result.done():
                job.result.set_exception(exc)
                job.result.exception()
        self._jobs.clear()
        if self._auth_request is not None and not self._auth_request.done():
            self._auth_request.set_exception(exc)
            self._auth_request.exception()
        self.events.put_nowait(DISCONNECTED)

    # ------------------------------------------------------------- reading

    async def _read_loop(self) -> None:
        assert self._reader is not None
        parser = EslParser()
        loop = asyncio.get_running_loop()
        reason = "the event socket closed the connection"
        try:
            while data := await self._reader.read(65536):
                self._last_rx = loop.time()
                for f in parser.feed(data):
                    if isinstance(f, ParseError):
                        self.parse_errors += 1
                        log.warning("esl.parse_error", error=str(f))
                        continue
                    self._dispatch(f)
            for err in parser.finish():
                self.parse_errors += 1
                log.warning("esl.parse_error", error=str(err))
        except (OSError, ConnectionError) as exc:
            reason = f"connection lost: {exc}"
        except asyncio.CancelledError:
            reason = "closed by us"
            raise
        finally:
            self._shutdown(reason)

    def _dispatch(self, f: Frame) -> None:
        ct = f.content_type
        if ct == AUTH_REQUEST:
            if self._auth_request is not None and not self._auth_request.done():
                self._auth_request.set_result(f)
            return
        if ct in (COMMAND_REPLY, API_RESPONSE):
            if not self._replies:
                log.warning("esl.unexpected_reply", reply=f.reply_text or f.text[:80])
                return
            _, fut = self._replies.popleft()
            if not fut.done():
                fut.set_result(f)
            return
        if ct == DISCONNECT_NOTICE:
            self.close_reason = f"the event socket disconnected us ({f.text.strip()[:80]})"
            return  # the close follows
        if ct == RUDE_REJECTION:
            self.close_reason = ("the event socket refused the connection (ACL in "
                                 f"event_socket.conf.xml): {f.text.strip()[:80]}")
            if self._auth_request is not None and not self._auth_request.done():
                self._auth_request.set_exception(EslAuthError(self.close_reason))
                self._auth_request.exception()
            return
        if not f.is_event:
            return
        try:
            ev = parse_event(f)
        except EslError as exc:
            self.parse_errors += 1
            log.warning("esl.bad_event", error=str(exc), offset=f.offset)
            return
        if ev.name == "BACKGROUND_JOB":
            self._job_done(ev)
        self._put(ev)

    def _job_done(self, ev: Event) -> None:
        uuid = ev.get("Job-UUID") or ""
        job = self._jobs.pop(uuid, None)
        if job is None:
            if uuid:
                self._early_jobs[uuid] = ev
                while len(self._early_jobs) > 1000:
                    self._early_jobs.pop(next(iter(self._early_jobs)))
            return
        if not job.result.done():
            job.result.set_result(ev.body or "")

    def _put(self, ev: Event) -> None:
        if self.events.qsize() >= self.max_backlog:
            # A consumer that far behind resynchronizes: drop the backlog, say so.
            while not self.events.empty():
                self.events.get_nowait()
            self.events.put_nowait(OVERFLOW)
        self.events.put_nowait(ev)

    # ------------------------------------------------------------ commands

    async def command(self, line: str, *, timeout: float | None = None) -> Frame:
        """Send one command; its reply (command/reply or api/response)."""
        _safe(line)
        async with self._lock:
            writer = self._writer
            if writer is None or self._closed.is_set():
                raise EslConnectionError(self.close_reason or "not connected")
            fut: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
            self._replies.append((line.split(" ", 1)[0], fut))
            writer.write(line.encode() + b"\n\n")
            try:
                await writer.drain()
            except (OSError, ConnectionError) as exc:
                raise EslConnectionError(f"connection lost: {exc}") from None
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout or self.timeout)
        except TimeoutError:
            # The FIFO would be off by one from now on: the link is not usable.
            self.close_reason = f"no reply to {line.split(' ', 1)[0]!r} within " \
                                f"{timeout or self.timeout:g} s"
            await self.close()
            raise EslConnectionError(self.close_reason) from None

    async def api(self, command: str, *, check: bool = True,
                  timeout: float | None = None) -> str:
        """``api <command>``: its text; EslCommandError on ``-ERR``/``-USAGE`` if ``check``."""
        reply = await self.command(f"api {command}", timeout=timeout)
        text = reply.text
        if check and _is_error(text.lstrip()):
            raise EslCommandError(command.split(" ", 1)[0], text.strip())
        return text

    async def bgapi(self, command: str) -> Job:
        """``bgapi <command>``: the Job (its ``result`` completes with BACKGROUND_JOB's body)."""
        loop = asyncio.get_running_loop()
        reply = await self.command(f"bgapi {command}")
        uuid = _job_uuid(reply)
        if uuid is None or not reply.reply_text.startswith("+OK"):
            raise EslCommandError(command.split(" ", 1)[0],
                                  reply.reply_text or "no Job-UUID in the reply")
        job = Job(uuid, command, loop.create_future())
        early = self._early_jobs.pop(uuid, None)
        if early is not None:
            job.result.set_result(early.body or "")
        else:
            self._jobs[uuid] = job
        return job

    async def _keepalive(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._closed.is_set():
            await asyncio.sleep(max(0.05, self.ping_interval / 4))
            if loop.time() - self._last_rx < self.ping_interval:
                continue
            try:
                await self.api("status", check=False)
            except EslConnectionError:
                return  # command() closed the link and said why
            except Exception as exc:  # noqa: BLE001 (a keep-alive never kills the task silently)
                log.warning("esl.keepalive_failed", error=repr(exc))


def quote(value: str) -> str:
    """A value for a FreeSWITCH command argument in single quotes (statuses with spaces)."""
    _safe(value)
    if "'" in value:
        raise ValueError(f"{value!r} cannot contain a single quote")
    return f"'{value}'"


def channel_var(value: Any) -> str:
    """A value for ``{name=value}`` originate variables: no separators that would split it."""
    text = _safe(str(value))
    for bad in (",", "}", "{", "'", " "):
        if bad in text:
            text = text.replace(bad, "_")
    return text
