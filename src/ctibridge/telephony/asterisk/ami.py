"""Asterisk Manager Interface: framing, parsing and an asyncio client.

Wire format (AMI 1.x-11.x): ``Key: Value`` lines ending in CRLF (LF is
tolerated), a blank line ends a message. The server starts with one banner line
(``Asterisk Call Manager/11.0.0``) that is *not* followed by a blank line.

* :class:`AmiParser` turns bytes into :class:`Message` objects (a list of
  pairs: keys repeat, e.g. ``Variable:`` in a ``Status`` dump). A malformed
  message is reported as a :class:`ParseError` and parsing resumes at the next
  blank line; nothing before or after it is lost.
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
import re
import secrets
import ssl
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

log = structlog.get_logger("ctibridge.asterisk.ami")

_KEY = re.compile(r"^[^\s:]+$")  # a header name: no whitespace, no colon

# Asterisk reads an action line by line into a 1,024-byte buffer (manager.c, get_input:
# inbuf[1025]); a longer line is discarded with the whole message.
MAX_LINE_BYTES = 1024
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,79}$")
# manager.c splits a Variable: value into name=value items with AST_STANDARD_APP_ARGS
# (app.c, __ast_app_separate_args): on commas outside (), [] and "", a backslash
# making the next character literal. Escaping these keeps a value one item.
_ARG_SPECIAL = re.compile(r'([\\,"()\[\]])')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# --------------------------------------------------------------------- messages


@dataclass(frozen=True, slots=True)
class Message:
    """One AMI message: its (key, value) pairs in wire order.

    Look-ups are case-insensitive on keys (clients and old servers vary the
    case: ``ActionID``/``Actionid``). :meth:`get` returns the first value,
    :meth:`getall` every value of a repeated key.
    """

    pairs: tuple[tuple[str, str], ...]
    _first: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        first = self._first
        for k, v in self.pairs:
            lk = k.lower()
            if lk not in first:
                first[lk] = v

    @classmethod
    def of(cls, *pairs: tuple[str, str], **headers: str) -> Message:
        return cls(tuple(pairs) + tuple(headers.items()))

    @property
    def kind(self) -> str:
        """``event``, ``response`` or ``action``: classified by the first line."""
        if not self.pairs:
            return "empty"
        return self.pairs[0][0].lower()

    @property
    def name(self) -> str:
        """The event name, response status or action name (first line's value)."""
        return self.pairs[0][1] if self.pairs else ""

    @property
    def is_event(self) -> bool:
        return self.kind == "event"

    @property
    def is_response(self) -> bool:
        return self.kind == "response"

    @property
    def action_id(self) -> str | None:
        return self._first.get("actionid")

    def get(self, key: str, default: str | None = None) -> str | None:
        return self._first.get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        try:
            return self._first[key.lower()]
        except KeyError:
            raise KeyError(f"{self.name or 'message'} has no {key!r} field") from None

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._first

    def getall(self, key: str) -> list[str]:
        lk = key.lower()
        return [v for k, v in self.pairs if k.lower() == lk]

    def as_dict(self) -> dict[str, str]:
        """First value of each key (keys as sent)."""
        out: dict[str, str] = {}
        for k, v in self.pairs:
            out.setdefault(k, v)
        return out

    def encode(self) -> bytes:
        return encode_pairs(self.pairs)


@dataclass(frozen=True, slots=True)
class Banner:
    """The server's first line, e.g. ``Asterisk Call Manager/11.0.0``."""

    text: str

    @property
    def version(self) -> str:
        return self.text.rpartition("/")[2]


@dataclass(frozen=True, slots=True)
class ParseError:
    """A message that could not be parsed. ``raw`` holds its bytes (truncated)."""

    reason: str
    raw: bytes = b""

    def __str__(self) -> str:
        shown = self.raw[:120].decode("utf-8", "replace")
        return f"{self.reason}: {shown!r}"


Frame = Message | Banner | ParseError


def encode_pairs(pairs: Iterable[tuple[str, str]]) -> bytes:
    """Serialize an action. Refuses CR/LF inside keys or values (header injection)."""
    out = []
    for k, v in pairs:
        v = str(v)
        if not _KEY.match(k):
            raise ValueError(f"invalid AMI header name {k!r}")
        if "\r" in v or "\n" in v:
            raise ValueError(f"the value of AMI header {k!r} contains a line break")
        out.append(f"{k}: {v}\r\n")
    out.append("\r\n")
    return "".join(out).encode("utf-8")


def variable_header(name: str, value: str) -> tuple[str, str]:
    """A ``Variable:`` header setting exactly one channel variable ``name`` to ``value``.

    Without escaping, ``a,CDR(userfield)=x`` would set a second variable (or call a
    dialplan function) on the channel. ValueError for a name that is not a plain
    variable name, a control character (a line break would end the header), or a
    header longer than Asterisk reads.
    """
    if not _VARIABLE_NAME.match(name):
        raise ValueError(f"{name!r} is not a channel variable name (letters, digits, _)")
    if _CONTROL.search(value):
        raise ValueError(f"the value of {name} holds a control character (CR, LF, NUL…)")
    escaped = _ARG_SPECIAL.sub(r"\\\1", value)
    header = ("Variable", f"{name}={escaped}")
    if len(f"{header[0]}: {header[1]}".encode()) > MAX_LINE_BYTES:
        raise ValueError(f"the value of {name} is too long for one AMI line "
                         f"({MAX_LINE_BYTES} bytes)")
    return header


# ----------------------------------------------------------------------- parser


_BLANK = re.compile(rb"\n[ \t\r]*\n")  # the end of a message: an empty (or blank) line


class AmiParser:
    """Incremental parser: ``feed(bytes)`` returns the frames completed so far.

    ``max_message_bytes`` bounds one message; a longer one is reported and
    skipped up to its end. ``expect_banner`` makes the first line the banner
    (what a client sees); a parser for recorded server traffic without the
    banner sets it False. Lines may end in CRLF or LF; a line of blanks ends a
    message like an empty one.
    """

    def __init__(self, *, expect_banner: bool = True, max_message_bytes: int = 1 << 20) -> None:
        self._buf = b"\n"  # a virtual line start, so a blank first line ends "nothing"
        self._skipping = False  # discarding an oversized message up to its end
        self._banner = expect_banner
        self.max = max_message_bytes

    @property
    def pending(self) -> int:
        """Bytes held that do not yet form a complete message."""
        return len(self._buf.strip())

    def feed(self, data: bytes) -> list[Frame]:
        out: list[Frame] = []
        buf = self._buf + data
        if self._banner:
            nl = buf.find(b"\n", 1)
            while nl >= 0 and not buf[1:nl].strip():  # blank lines before the banner
                buf = b"\n" + buf[nl + 1:]
                nl = buf.find(b"\n", 1)
            if nl < 0:
                self._buf = buf
                return self._check_size(out)
            self._banner = False
            first = buf[1:nl].rstrip(b"\r")
            text = first.decode("utf-8", "replace").strip()
            if b":" not in first or text.lower().startswith("asterisk call manager"):
                out.append(Banner(text))
                buf = b"\n" + buf[nl + 1:]
        pos = 0
        for m in _BLANK.finditer(buf):
            block = buf[pos:m.start()]
            pos = m.end() - 1  # keep the final \n as the next block's line start
            if self._skipping:
                self._skipping = False
                continue
            if block.strip():
                out.append(self._block(block))
        self._buf = buf[pos:]
        return self._check_size(out)

    def _check_size(self, out: list[Frame]) -> list[Frame]:
        if len(self._buf) > self.max + 2:
            if not self._skipping:
                out.append(ParseError(f"message longer than {self.max} bytes",
                                      self._buf.lstrip()[:200]))
            self._skipping = True
            # Keep only what can still be the start of the blank line ending it.
            cut = self._buf.rfind(b"\n")
            tail = self._buf[cut + 1:] if cut >= 0 else b"x"
            self._buf = b"\n" + tail if not tail.strip() else b""
        return out

    def feed_eof(self) -> list[Frame]:
        """The peer closed: report what was cut short, if anything."""
        rest, self._buf = self._buf, b"\n"
        skipping, self._skipping = self._skipping, False
        if rest.strip() and not skipping:
            return [ParseError("connection closed in the middle of a message",
                               rest.strip()[:400])]
        return []

    def _block(self, block: bytes) -> Frame:
        if len(block) > self.max + 1:
            return ParseError(f"message longer than {self.max} bytes", block.lstrip()[:200])
        if block.endswith(b"\r"):  # the CR of the last line (the blank line's match took LF)
            block = block[:-1]
        text = block.decode("utf-8", "replace")
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        lines = text.split("\n")
        if not lines[0].strip():
            del lines[0]
        pairs: list[tuple[str, str]] = []
        append = pairs.append
        for i, line in enumerate(lines):
            key, sep, value = line.partition(": ")  # what Asterisk always sends
            if sep and key and " " not in key and ":" not in key and "\t" not in key:
                append((key, value))
                if i == 0 and key.lower() == "response" and value.strip().lower() == "follows":
                    return self._follows(lines, block)
                continue
            key, sep, value = line.rstrip("\r").partition(":")  # "Key:" or "Key:value"
            if sep and key and " " not in key and "\t" not in key:
                append((key, value[1:] if value.startswith(" ") else value))
                continue
            where = "first line" if i == 0 else f"line {i + 1}"
            return ParseError(f"malformed AMI message: {where} is not 'Key: Value'",
                              block.strip()[:400])
        return Message(tuple(pairs))

    def _follows(self, lines: list[str], block: bytes) -> Frame:
        """Old ``Response: Follows``: a few headers, then free text up to --END COMMAND--."""
        pairs: list[tuple[str, str]] = []
        output: list[str] = []
        for i, line in enumerate(lines):
            line = line.rstrip("\r")
            key, sep, value = line.partition(":")
            if sep and (i == 0 or key.lower() in ("privilege", "actionid")):
                pairs.append((key, value[1:] if value.startswith(" ") else value))
            elif line.strip() != "--END COMMAND--":
                output.append(line)
        if output:
            pairs.append(("Output", "\n".join(output)))
        return Message(tuple(pairs))


def parse_all(data: bytes, *, expect_banner: bool = False) -> list[Frame]:
    """Parse a complete byte string (a recording): every frame, then EOF."""
    p = AmiParser(expect_banner=expect_banner)
    return [*p.feed(data), *p.feed_eof()]


def iter_messages(frames: Iterable[Frame]) -> Iterator[Message]:
    for f in frames:
        if isinstance(f, Message):
            yield f


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

    async def connect(self, *, boot_timeout: float = 5.0) -> Banner:
        """Open the socket, read the banner, log in, wait for FullyBooted."""
        try:
            async with asyncio.timeout(self.timeout):
                self._reader, self._writer = await asyncio.open_connection(
                    self.host, self.port, ssl=self.ssl_context,
                    server_hostname=self.host if self.ssl_context else None)
        except TimeoutError:
            raise AmiTimeout(f"no answer from {self.host}:{self.port} within "
                             f"{self.timeout:g} s") from None
        except OSError as exc:
            raise AmiConnectionError(
                f"cannot reach {self.host}:{self.port}: {exc.strerror or exc}") from exc
        banner_wait: asyncio.Future[Banner] = asyncio.get_running_loop().create_future()
        self._read_task = asyncio.create_task(self._read_loop(banner_wait), name="ami-reader")
        try:
            async with asyncio.timeout(self.timeout):
                self.banner = await banner_wait
        except TimeoutError:
            await self.close()
            raise AmiTimeout(f"{self.host}:{self.port} sent no AMI banner within "
                             f"{self.timeout:g} s") from None
        except AmiConnectionError:
            await self.close()
            raise
        if "call manager" not in self.banner.text.lower():
            await self.close()
            raise AmiConnectionError(f"{self.host}:{self.port} is not an AMI server "
                                     f"(banner {self.banner.text[:60]!r})")
        try:
            await self._login()
        except BaseException:
            await self.close()
            raise
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(boot_timeout):
                await self._booted.wait()
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
            raise AmiAuthError(f"login refused for {self.username!r}: {exc.message}") from None

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
