"""Event Socket framing: bytes in, one :class:`Frame` per ESL message out, in order.

What FreeSWITCH sends (``mod_event_socket.c``): a header block of ``Name:
value`` lines ending in LF, closed by an empty line, then exactly
``Content-Length`` bytes of body when that header is there. Bodies need not end
with a LF (``api/response`` ``Available``, JSON events end with ``}``): the next
frame starts right after the last body byte, so frames are cut by length, never
by lines. What a reader meets beyond that, and how every case keeps every frame
whatever the TCP chunking:

* **Blank lines between frames** (the join LF of our transcripts, a client that
  adds one) are separators: a frame never starts with a LF.
* **Damage.** A header line that is not ``Name: value`` (no colon, an empty name,
  a name with spaces) or a ``Content-Length`` that is not a number makes that
  header block one :class:`ParseError` carrying its bytes; the frames around it
  are intact. A frame longer than ``max_frame_bytes`` is one :class:`ParseError`
  (its headers, and how many body bytes were skipped unread) reported once its end
  has gone by: memory stays bounded and the frames after it are intact.
* **Truncation.** What is still buffered when the stream ends (:meth:`EslParser.
  finish`) is one :class:`ParseError` with those bytes: nothing vanishes.

Event bodies (``text/event-plain``, ``text/event-json``) are decoded on demand by
:func:`parse_event`: a plain event is ``Name: value`` lines with URL-encoded
values, then (BACKGROUND_JOB, api results) an inner ``Content-Length`` body; a
JSON event has the same keys with decoded values and its body in ``_body``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote

MAX_FRAME_BYTES = 64 * 1024 * 1024  # FreeSWITCH has no limit; a bound stops a runaway peer
_HEADER_END = b"\n\n"

EVENT_PLAIN = "text/event-plain"
EVENT_JSON = "text/event-json"
EVENT_XML = "text/event-xml"
AUTH_REQUEST = "auth/request"
COMMAND_REPLY = "command/reply"
API_RESPONSE = "api/response"
DISCONNECT_NOTICE = "text/disconnect-notice"
RUDE_REJECTION = "text/rude-rejection"  # the ACL refused us


class EslError(ValueError):
    """Bytes that are not ESL (the message says what and where)."""


@dataclass(frozen=True, slots=True)
class ParseError:
    """A frame that could not be read: why, and its bytes (nothing is dropped)."""

    message: str
    raw: bytes
    offset: int  # stream offset of ``raw``'s first byte
    skipped: int = 0  # body bytes after ``raw`` discarded unread (an oversized frame)

    def __str__(self) -> str:
        preview = self.raw[:60].decode("utf-8", "replace").replace("\n", "\\n")
        return f"{self.message} (at byte {self.offset}, {len(self.raw)} bytes: {preview!r})"


@dataclass(frozen=True, slots=True)
class Frame:
    """One ESL message: its outer headers (raw values, wire order) and body."""

    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    offset: int = 0  # stream offset of the frame's first byte
    size: int = 0  # bytes the frame took on the wire (headers, empty line, body)
    _first: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._first.update({k.lower(): v for k, v in reversed(self.headers)})

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._first.get(name.lower(), default)

    @property
    def content_type(self) -> str:
        return self._first.get("content-type", "")

    @property
    def reply_text(self) -> str:
        """A command/reply's result, URL-decoded (outbound mode encodes it: ``%2BOK``)."""
        return unquote(self._first.get("reply-text", ""))

    @property
    def is_event(self) -> bool:
        return self.content_type in (EVENT_PLAIN, EVENT_JSON, EVENT_XML)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def to_bytes(self) -> bytes:
        """The frame as it travels (tests, the fake server)."""
        head = b"".join(f"{k}: {v}\n".encode() for k, v in self.headers)
        return head + b"\n" + self.body


def frame(body: bytes | str = b"", **headers: str) -> Frame:
    """Build a frame; ``Content_Type="api/response"`` -> ``Content-Type`` (tests, fakes)."""
    data = body.encode() if isinstance(body, str) else body
    pairs = [(k.replace("_", "-"), v) for k, v in headers.items()]
    if data:
        pairs.append(("Content-Length", str(len(data))))
    return Frame(tuple(pairs), data)


def _headers(block: bytes) -> tuple[tuple[tuple[str, str], ...], str | None]:
    """Parse ``Name: value`` lines; (pairs, None) or ((), what is wrong)."""
    pairs: list[tuple[str, str]] = []
    for n, raw in enumerate(block.split(b"\n"), start=1):
        line = raw.decode("utf-8", "replace")
        if line.endswith("\r"):
            line = line[:-1]
        name, sep, value = line.partition(":")
        if not sep:
            return (), f"header line {n} has no colon: {line[:60]!r}"
        if not name or name != name.strip() or " " in name or "\t" in name:
            return (), f"header line {n} has an invalid name {name[:40]!r}"
        pairs.append((name, value[1:] if value.startswith(" ") else value))
    return tuple(pairs), None


class EslParser:
    """Incremental ESL reader, linear in the bytes fed, whatever the chunking."""

    def __init__(self, *, max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._buf = bytearray()
        self._pos = 0  # parse position in _buf
        self._base = 0  # stream offset of _buf[0]
        self._scan = 0  # where to resume looking for the header end
        self._head: tuple[tuple[str, str], ...] | None = None  # headers awaiting a body
        self._head_start = 0
        self._need = 0  # body bytes the pending frame waits for
        self._skip = 0  # bytes of an oversized body still to discard
        self._skip_err: ParseError | None = None  # reported once the body is skipped
        self.frames = 0
        self.errors = 0

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._pos

    def feed(self, data: bytes) -> list[Frame | ParseError]:
        out: list[Frame | ParseError] = []
        if self._skip:
            drop = min(self._skip, len(data))
            self._skip -= drop
            self._base += drop
            data = data[drop:]
            if not self._skip and self._skip_err is not None:
                out.append(self._skip_err)
                self._skip_err = None
        self._buf += data
        buf = self._buf
        while True:
            if self._head is not None:  # waiting for a body
                if len(buf) - self._pos < self._need:
                    break
                end = self._pos + self._need
                f = Frame(self._head, bytes(buf[self._pos:end]), self._base + self._head_start,
                          end - self._head_start)
                self._head = None
                self._pos = end
                self.frames += 1
                out.append(f)
                continue
            # skip separators: a frame never starts with a LF
            while self._pos < len(buf) and buf[self._pos] in (10, 13):
                self._pos += 1
            if self._pos >= len(buf):
                break
            start = self._pos
            end = buf.find(_HEADER_END, max(start, self._scan))
            if end < 0:
                self._scan = max(start, len(buf) - 1)
                if len(buf) - start > self.max_frame_bytes:
                    out.append(self._error("a header block longer than the limit", start,
                                           len(buf)))
                    self._pos = len(buf)
                break
            self._scan = 0
            pairs, problem = _headers(bytes(buf[start:end]))
            after = end + 2
            if problem is not None:
                out.append(self._error(f"not an ESL header block: {problem}", start, after))
                self._pos = after
                continue
            length_text = next((v for k, v in pairs if k.lower() == "content-length"), None)
            length = 0
            if length_text is not None:
                if not length_text.strip().isdigit():
                    out.append(self._error(
                        f"Content-Length is not a number: {length_text[:20]!r}", start, after))
                    self._pos = after
                    continue
                length = int(length_text)
            if length > self.max_frame_bytes:
                err = self._error(f"a body of {length} bytes is over the limit "
                                  f"({self.max_frame_bytes}): skipped", start, after)
                have = len(buf) - after
                if have >= length:
                    out.append(ParseError(err.message, err.raw, err.offset, length))
                    self._pos = after + length
                else:
                    self._skip = length - have
                    self._skip_err = ParseError(err.message, err.raw, err.offset, length)
                    self._pos = len(buf)
                continue
            self._pos = after
            if length == 0:
                self.frames += 1
                out.append(Frame(pairs, b"", self._base + start, after - start))
                continue
            self._head, self._head_start, self._need = pairs, start, length
        self._compact()
        return out

    def _error(self, message: str, start: int, end: int) -> ParseError:
        self.errors += 1
        return ParseError(message, bytes(self._buf[start:end]), self._base + start)

    def _compact(self) -> None:
        if self._head is not None:
            keep = self._head_start  # keep the pending frame's headers' offset meaningful
            keep = min(keep, self._pos)
        else:
            keep = self._pos
        if keep > 65536 or keep == len(self._buf):
            del self._buf[:keep]
            self._base += keep
            self._pos -= keep
            self._scan = max(0, self._scan - keep)
            if self._head is not None:
                self._head_start -= keep

    def finish(self) -> list[ParseError]:
        """The stream ended: what is left is a truncated frame (reported, not lost)."""
        out: list[ParseError] = []
        rest = bytes(self._buf[self._pos:])
        if self._head is not None:
            head = bytes(self._buf[self._head_start:self._pos])
            out.append(ParseError(f"the stream ended {self._need - len(rest)} bytes short "
                                  f"of a {self._need}-byte body", head + rest,
                                  self._base + self._head_start))
        elif rest.strip(b"\r\n"):
            out.append(ParseError("the stream ended inside a header block (no empty line)",
                                  rest, self._base + self._pos))
        elif self._skip_err is not None:
            e = self._skip_err
            out.append(ParseError(f"{e.message}; the stream ended {self._skip} bytes short "
                                  "of it", e.raw, e.offset, e.skipped - self._skip))
        self.errors += len(out)
        self._buf.clear()
        self._pos = self._scan = 0
        self._head = None
        self._skip = 0
        self._skip_err = None
        return out


# --------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class Event:
    """One FreeSWITCH event: decoded headers (first value of each name) and body."""

    headers: dict[str, str]
    body: str | None = None

    @property
    def name(self) -> str:
        return self.headers.get("Event-Name", "")

    @property
    def subclass(self) -> str:
        return self.headers.get("Event-Subclass", "")

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)

    def var(self, name: str) -> str | None:
        """A channel variable (``variable_<name>``)."""
        return self.headers.get("variable_" + name)

    @property
    def uuid(self) -> str | None:
        return self.headers.get("Unique-ID")

    @property
    def sequence(self) -> int:
        try:
            return int(self.headers.get("Event-Sequence", "0"))
        except ValueError:
            return 0


class Headers(dict[str, str]):
    """A plain event's headers, URL-decoded when read (an event has ~100 headers and a
    consumer reads a dozen: decoding them all would be most of the parsing cost)."""

    __slots__ = ("_decoded",)

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        super().__init__(pairs)
        self._decoded: set[str] = set()

    def __getitem__(self, key: str) -> str:
        value = dict.__getitem__(self, key)
        if "%" in value and key not in self._decoded:
            value = unquote(value)
            dict.__setitem__(self, key, value)
            self._decoded.add(key)
        return value

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        try:
            return self[key]
        except KeyError:
            return default

    def values(self) -> list[str]:  # type: ignore[override]
        return [self[k] for k in self]

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        return [(k, self[k]) for k in self]


def _plain_headers(block: str) -> dict[str, str]:
    parts = [line.partition(": ") for line in block.split("\n")]
    if all(sep and name for name, sep, _ in parts):
        pairs = [(name, value) for name, _, value in parts]
        # the first value of a name wins (a dict keeps the last: fed reversed)
        if len(pairs) != len({k for k, _ in pairs}):
            pairs = list(dict(reversed(pairs)).items())[::-1]
        return Headers(pairs)
    return _plain_headers_slow(block)


def _plain_headers_slow(block: str) -> dict[str, str]:
    """Line by line, to say which line is wrong."""
    out: dict[str, str] = {}
    for n, line in enumerate(block.split("\n"), start=1):
        name, sep, value = line.partition(": ")
        if not sep:
            name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise EslError(f"event header line {n} is not 'Name: value': {line[:60]!r}")
        if name not in out:
            out[name] = unquote(value) if "%" in value else value
    return out


def parse_plain(body: bytes) -> Event:
    text = body.decode("utf-8", "replace")
    end = text.find("\n\n")
    if end < 0:
        raise EslError("a plain event without the empty line that ends its headers")
    headers = _plain_headers(text[:end])
    if "Event-Name" not in headers:
        raise EslError("a plain event without Event-Name")
    inner = headers.get("Content-Length")
    if inner is None:
        return Event(headers)
    if not inner.isdigit():
        raise EslError(f"the event's inner Content-Length is not a number: {inner[:20]!r}")
    rest = body[len(text[:end + 2].encode()):]
    if len(rest) < int(inner):
        raise EslError(f"the event's body is {len(rest)} bytes, its Content-Length says "
                       f"{inner}")
    return Event(headers, rest[:int(inner)].decode("utf-8", "replace"))


def parse_json(body: bytes) -> Event:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise EslError(f"a JSON event that is not JSON: {exc}") from None
    if not isinstance(data, dict) or "Event-Name" not in data:
        raise EslError("a JSON event without Event-Name")
    headers = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()
               if k != "_body"}
    raw_body = data.get("_body")
    return Event(headers, raw_body if isinstance(raw_body, str) else None)


def parse_event(f: Frame) -> Event:
    """The event inside an event frame; EslError saying what is wrong otherwise."""
    ct = f.content_type
    if ct == EVENT_PLAIN:
        return parse_plain(f.body)
    if ct == EVENT_JSON:
        return parse_json(f.body)
    raise EslError(f"not an event frame we decode (Content-Type {ct!r}; subscribe with "
                   "'event plain' or 'event json')")


def encode_plain(headers: dict[str, str], body: str | None = None) -> bytes:
    """A plain event body as FreeSWITCH writes it (tests and fakes)."""
    from urllib.parse import quote

    lines = [f"{k}: {quote(v, safe='')}" for k, v in headers.items()]
    out = ("\n".join(lines) + "\n").encode()
    if body is not None:
        data = body.encode()
        out += f"Content-Length: {len(data)}\n\n".encode() + data
    else:
        out += b"\n"
    return out
