"""Asterisk Manager Interface: an asyncio client (framing is in :mod:`.framing`).

* :class:`~.framing.AmiParser` turns bytes into :class:`~.framing.Message`
  objects (a list of pairs: keys repeat, e.g. ``Variable:`` in a ``Status``
  dump); see :mod:`.framing` for what it accepts. Re-exported here.
* :class:`AmiClient` owns one TCP (or TLS) connection: login (plain or MD5
  challenge), ``ActionID`` correlation, list actions (``EventList: start`` ...
  ``...Complete``), keep-alive pings, and an event queue that a slow consumer
  cannot make the socket reader wait on (on overflow the backlog is dropped and
  an :data:`OVERFLOW` marker tells the consumer to resynchronize).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import secrets
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from .framing import (
    MAX_LINE_BYTES,
    AmiParser,
    Banner,
    Frame,
    Message,
    ParseError,
    encode_pairs,
    iter_messages,
    parse_all,
    variable_header,
)

log = structlog.get_logger("ctibridge.asterisk.ami")

__all__ = ["MAX_LINE_BYTES", "AmiParser", "Banner", "Frame", "Message", "ParseError",
           "encode_pairs", "iter_messages", "parse_all", "variable_header"]


# ----------------------------------------------------------------------- errors


class AmiError(Exception):
    """Asterisk answered ``Response: Error`` (``message`` is its ``Message:``)."""

    def __init__(self, action: str, message: str, response: Message | None = None) -> None:
        super().__init__(f"{action}: {message}")
        self.action = action
        self.message = message
        self.response = response


class AmiConnectionError(Exception):
    """The link is down, was cut, or never came up."""


class AmiAuthError(AmiConnectionError):
    """Asterisk refused the credentials (it then closes the socket)."""


class AmiTimeout(AmiConnectionError):
    """No answer in time."""


OVERFLOW = Message((("Event", "ctibridge-overflow"),))
"""Put in the event queue when a slow consumer made it overflow: resynchronize."""

DISCONNECTED = Message((("Event", "ctibridge-disconnected"),))
"""Put in the event queue when the connection ends."""


@dataclass(slots=True)
class _Pending:
    action: str
    future: asyncio.Future[Message]
    items: list[Message] | None = None  # for list actions
    complete: asyncio.Future[list[Message]] | None = None


# ----------------------------------------------------------------------- client


class AmiClient:
    """One AMI session. Create, :meth:`connect`, use, :meth:`close`.

    ``events`` is an asyncio queue of :class:`Message` events (and the
    :data:`OVERFLOW` / :data:`DISCONNECTED` markers). It is bounded by
    ``max_backlog``: the reader never waits on it; when it is full the backlog
    is dropped and :data:`OVERFLOW` is queued, so the consumer resynchronizes
    instead of the socket stalling (and Asterisk dropping us for a slow read).
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        auth: str = "plain",
        timeout: float = 10.0,
        ping_interval: float = 20.0,
        max_backlog: int = 50_000,
        action_prefix: str | None = None,
        events_on: str = "on",
    ) -> None:
        self.host, self.port = host, port
        self.username, self.secret = username, secret
        self.ssl_context = ssl_context
        self.auth = auth
        self.timeout = timeout
        self.ping_interval = ping_interval
        self.events_on = events_on
        self.banner: Banner | None = None
        self.events: asyncio.Queue[Message] = asyncio.Queue()
        self.max_backlog = max_backlog
        self.parse_errors: list[ParseError] = []
        self.overflows = 0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._read_task: asyncio.Task[None] | None = None
        self._ping_task: asyncio.Task[None] | None = None
        self._pending: dict[str, _Pending] = {}
        self._ids = itertools.count(1)
        self._prefix = action_prefix or f"cti{secrets.token_hex(3)}"
        self._booted = asyncio.Event()
        self._closed = asyncio.Event()
        self.close_reason: str = ""
        self._write_lock = asyncio.Lock()

    # ------------------------------------------------------------- lifecycle

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._closed.is_set()

    @property
    def booted(self) -> bool:
        """Asterisk said ``FullyBooted`` (every module loaded: app_queue's actions exist)."""
        return self._booted.is_set()

    async def wait_booted(self, timeout: float) -> bool:
        """Wait for ``FullyBooted``; False after ``timeout`` or if the link ends."""
        closed = asyncio.ensure_future(self._closed.wait())
        booted = asyncio.ensure_future(self._booted.wait())
        try:
            await asyncio.wait({closed, booted}, timeout=timeout,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
            booted.cancel()
        return self._booted.is_set()

    async def connect(self, *, boot_timeout: float = 5.0) -> Banner:
        """Open the socket, read the banner, log in, wait for FullyBooted.

        Asterisk accepts AMI logins while it is still loading modules; it sends
        ``FullyBooted`` right after the login when it is up, else when booting
        ends. Without it within ``boot_timeout`` (an old or odd server) this
        goes on anyway; :attr:`booted` tells which.
        """
        where = f"{self.host}:{self.port}"
        try:
            # A host coming back answers quickly; a long wait only delays the next try.
            async with asyncio.timeout(min(self.timeout, 5.0)):
                self._reader, self._writer = await asyncio.open_connection(
                    self.host, self.port, ssl=self.ssl_context,
                    server_hostname=self.host if self.ssl_context else None)
        except TimeoutError:
            raise AmiTimeout(f"Asterisk at {where} is unreachable: no answer within "
                             f"{min(self.timeout, 5.0):g} s") from None
        except ssl.SSLError as exc:
            raise AmiConnectionError(f"TLS with {where} failed: {exc}") from exc
        except OSError as exc:
            raise AmiConnectionError(
                f"Asterisk at {where} is unreachable: {exc.strerror or exc}") from exc
        banner_wait: asyncio.Future[Banner] = asyncio.get_running_loop().create_future()
        self._read_task = asyncio.create_task(self._read_loop(banner_wait), name="ami-reader")
        try:
            async with asyncio.timeout(self.timeout):
                self.banner = await banner_wait
        except TimeoutError:
            await self.close()
            raise AmiTimeout(f"{where} sent no AMI banner within "
                             f"{self.timeout:g} s") from None
        except AmiConnectionError:
            await self.close()
            raise
        if "call manager" not in self.banner.text.lower():
            await self.close()
            raise AmiConnectionError(f"{where} is not an AMI server "
                                     f"(banner {self.banner.text[:60]!r})")
        try:
            await self._login()
        except BaseException:
            await self.close()
            raise
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(boot_timeout):
                await self._booted.wait()
        if self._closed.is_set():
            raise AmiConnectionError(self.close_reason or "connection closed during login")
        if self.ping_interval > 0:
            self._ping_task = asyncio.create_task(self._ping_loop(), name="ami-ping")
        return self.banner

    async def _login(self) -> None:
        try:
            if self.auth == "md5":
                chal = await self.action("Challenge", AuthType="MD5")
                challenge = chal.get("Challenge") or ""
                key = hashlib.md5((challenge + self.secret).encode()).hexdigest()
                await self.action("Login", AuthType="MD5", Username=self.username, Key=key,
                                  Events=self.events_on)
            else:
                await self.action("Login", Username=self.username, Secret=self.secret,
                                  Events=self.events_on)
        except AmiError as exc:
            raise AmiAuthError(
                f"authentication failed: Asterisk at {self.host}:{self.port} refused AMI user "
                f"{self.username!r} ({exc.message}); check options.username and "
                "options.secret against manager.conf") from None

    async def close(self, *, logoff: bool = False) -> None:
        if logoff and self.connected:
            with contextlib.suppress(Exception):
                await self.action("Logoff", wait=2.0)
        for task in (self._ping_task, ):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await self._writer.wait_closed()
        if self._read_task is not None and self._read_task is not asyncio.current_task():
            self._read_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._read_task
        self._fail_pending(AmiConnectionError(self.close_reason or "connection closed"))
        self._closed.set()

    async def wait_closed(self) -> str:
        await self._closed.wait()
        return self.close_reason

    # ---------------------------------------------------------------- reading

    async def _read_loop(self, banner_wait: asyncio.Future[Banner]) -> None:
        assert self._reader is not None
        parser = AmiParser(expect_banner=True)
        reason = "connection closed by Asterisk"
        try:
            while True:
                data = await self._reader.read(65536)
                if not data:
                    frames = parser.feed_eof()
                    for f in frames:
                        self._dispatch(f, banner_wait)
                    break
                for f in parser.feed(data):
                    self._dispatch(f, banner_wait)
        except asyncio.CancelledError:
            reason = self.close_reason or "connection closed"
            raise
        except (OSError, ssl.SSLError) as exc:
            reason = f"connection lost: {exc}"
        finally:
            if not self.close_reason:
                self.close_reason = reason
            if not banner_wait.done():
                banner_wait.set_exception(AmiConnectionError(
                    f"{self.host}:{self.port} closed the connection before the AMI banner"))
            self._fail_pending(AmiConnectionError(self.close_reason))
            self._closed.set()
            self._put(DISCONNECTED, force=True)

    def _dispatch(self, frame: Frame, banner_wait: asyncio.Future[Banner]) -> None:
        if isinstance(frame, Banner):
            if not banner_wait.done():
                banner_wait.set_result(frame)
            return
        if not banner_wait.done():
            text = frame.reason if isinstance(frame, ParseError) else frame.name
            banner_wait.set_exception(AmiConnectionError(
                f"{self.host}:{self.port} is not an AMI server (first data: {text!r})"))
            return
        if isinstance(frame, ParseError):
            self.parse_errors.append(frame)
            del self.parse_errors[:-50]
            log.warning("ami.parse_error", error=str(frame))
            return
        msg = frame
        aid = msg.action_id
        if msg.is_response:
            pending = self._pending.get(aid) if aid else None
            if pending is None:
                log.debug("ami.unexpected_response", action_id=aid, response=msg.name)
                return
            if not pending.future.done():
                pending.future.set_result(msg)
            is_list = (msg.get("EventList") or "").lower() == "start"
            if pending.complete is None or not is_list or msg.name.lower() != "success":
                if pending.complete is not None and not pending.complete.done():
                    pending.complete.set_result([])
                self._pending.pop(aid, None)  # type: ignore[arg-type]
            return
        if msg.is_event:
            if aid and aid in self._pending and self._pending[aid].items is not None:
                pending = self._pending[aid]
                assert pending.items is not None and pending.complete is not None
                if (msg.get("EventList") or "").lower() == "complete":
                    if not pending.complete.done():
                        pending.complete.set_result(pending.items)
                    self._pending.pop(aid, None)
                else:
                    pending.items.append(msg)
                return
            if msg.name == "FullyBooted":
                self._booted.set()
            self._put(msg)
            return
        log.debug("ami.ignored_frame", kind=msg.kind, name=msg.name)

    def _put(self, msg: Message, *, force: bool = False) -> None:
        q = self.events
        if q.qsize() >= self.max_backlog and not force:
            # The consumer cannot keep up: drop the backlog, ask for a resync.
            self.overflows += 1
            while not q.empty():
                q.get_nowait()
            q.put_nowait(OVERFLOW)
            log.warning("ami.backlog_overflow", dropped=self.max_backlog)
        q.put_nowait(msg)

    def _fail_pending(self, exc: Exception) -> None:
        for p in list(self._pending.values()):
            if not p.future.done():
                p.future.set_exception(exc)
            if p.complete is not None and not p.complete.done():
                p.complete.set_exception(exc)
            # Retrieve the exceptions so asyncio does not warn when nobody awaits.
            p.future.add_done_callback(_consume)
            if p.complete is not None:
                p.complete.add_done_callback(_consume)
        self._pending.clear()

    # ---------------------------------------------------------------- actions

    def next_action_id(self) -> str:
        return f"{self._prefix}-{next(self._ids)}"

    async def send(self, action: str, headers: Sequence[tuple[str, str]],
                   *, action_id: str | None = None,
                   collect: bool = False) -> tuple[str, _Pending]:
        if self._writer is None or self._closed.is_set():
            raise AmiConnectionError(self.close_reason or "not connected to Asterisk")
        aid = action_id or self.next_action_id()
        loop = asyncio.get_running_loop()
        pending = _Pending(action, loop.create_future())
        if collect:
            pending.items = []
            pending.complete = loop.create_future()
        data = encode_pairs([("Action", action), ("ActionID", aid), *headers])
        self._pending[aid] = pending
        try:
            async with self._write_lock:
                self._writer.write(data)
                async with asyncio.timeout(self.timeout):
                    await self._writer.drain()
        except (OSError, TimeoutError) as exc:
            self._pending.pop(aid, None)
            raise AmiConnectionError(f"cannot send {action}: {exc}") from exc
        return aid, pending

    async def action(self, action: str, _headers: Sequence[tuple[str, str]] = (),
                     *, wait: float | None = None, check: bool = True,
                     action_id: str | None = None, **headers: Any) -> Message:
        """Send ``action`` and return its response; raise :class:`AmiError` on Error."""
        pairs = [*_headers, *((k, _fmt(v)) for k, v in headers.items() if v is not None)]
        aid, pending = await self.send(action, pairs, action_id=action_id)
        try:
            async with asyncio.timeout(wait or self.timeout):
                resp = await pending.future
        except TimeoutError:
            self._pending.pop(aid, None)
            raise AmiTimeout(f"Asterisk did not answer {action} within "
                             f"{wait or self.timeout:g} s") from None
        if check and resp.name.lower() == "error":
            raise AmiError(action, resp.get("Message") or "error", resp)
        return resp

    async def list_action(self, action: str, _headers: Sequence[tuple[str, str]] = (),
                          *, wait: float | None = None, **headers: Any
                          ) -> tuple[Message, list[Message]]:
        """Send a list action; return the response and every item event."""
        pairs = [*_headers, *((k, _fmt(v)) for k, v in headers.items() if v is not None)]
        aid, pending = await self.send(action, pairs, collect=True)
        assert pending.complete is not None
        limit = wait or self.timeout
        try:
            async with asyncio.timeout(limit):
                resp = await pending.future
            if resp.name.lower() == "error":
                self._pending.pop(aid, None)
                raise AmiError(action, resp.get("Message") or "error", resp)
            async with asyncio.timeout(limit):
                items = await pending.complete
        except TimeoutError:
            self._pending.pop(aid, None)
            raise AmiTimeout(f"Asterisk did not finish {action} within {limit:g} s") from None
        return resp, items

    async def _ping_loop(self) -> None:
        while True:
            await asyncio.sleep(self.ping_interval)
            try:
                await self.action("Ping", wait=min(self.timeout, max(1.0, self.ping_interval)))
            except (AmiConnectionError, AmiError) as exc:
                log.warning("ami.keepalive_failed", error=str(exc))
                self.close_reason = f"keep-alive failed: {exc}"
                if self._writer is not None:
                    self._writer.close()
                return


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _consume(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()
