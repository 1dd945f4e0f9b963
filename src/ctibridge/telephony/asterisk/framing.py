"""AMI framing: bytes in, one :class:`Message` per message out, in order.

What Asterisk sends (``main/manager.c``): a banner line
``Asterisk Call Manager/<version>`` with no blank line after it, then messages
made of ``Key: Value`` lines ending in CRLF, each message ending with an empty
line. What a reader meets on real links and in recordings goes beyond that,
and every case below keeps every message, whatever the TCP chunking:

* **Blank lines.** Any number of them between messages (LF or CRLF, lines of
  spaces too) is only a separator.
* **A missing blank line.** A line that starts a message (``Event:`` or
  ``Response:``) ends the message before it: two messages never merge. The one
  exception is ``Response:`` inside ``Event: OriginateResponse`` (and
  ``UserEvent``, whose headers are the user's), where it is a field.
* **Command output.** Asterisk < 14 answers ``Command`` with ``Response:
  Follows``, free text (blank lines included) and ``--END COMMAND--``;
  Asterisk >= 14 sends ``Output:`` lines. Both come out as ``Output`` pairs
  (:attr:`Message.output` joins them).
* **Damage.** A message with a line that is not ``Key: Value`` (a capture that
  lost bytes) is one :class:`ParseError` carrying its bytes; the messages
  around it are intact. A message longer than ``max_message_bytes`` is one
  :class:`ParseError` and is skipped up to its end.

:class:`AmiParser` is linear in the bytes fed: each byte is searched for line
ends once, and a message is copied once when it completes (a 1 MB message fed
in 100-byte pieces costs what it costs in one piece).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

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
# The end of a message: the end of a line, then an empty (or blank) line.
_TERM = re.compile(rb"\n[ \t\r]*\n")
END_COMMAND = "--END COMMAND--"
# Events whose body carries a ``Response:`` header of their own (manager.c's
# OriginateResponse; UserEvent copies whatever headers its sender chose).
RESPONSE_FIELD_EVENTS = frozenset({"originateresponse", "userevent"})
_FOLLOWS_HEADERS = frozenset({"privilege", "actionid"})
# Fast path of a block (one message, every line ``Key: Value``), all in C.
_PAIR = re.compile(r"^([^ \t\n:]+): ?(.*)$", re.M)
_LATER_START = re.compile(r"\n(?:event|response):", re.I)
_FOLLOWS = re.compile(r"response: *follows *(?:\n|$)", re.I)


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
        # The first value of each key wins: filled from the last pair backwards.
        self._first.update({k.lower(): v for k, v in reversed(self.pairs)})

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

    @property
    def output(self) -> str:
        """Command output (``Output:`` lines, or a ``Follows`` body), one line each."""
        return "\n".join(self.getall("Output"))

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


def _header(line: str) -> tuple[str, str] | None:
    """``Key: Value`` (also ``Key:`` and ``Key:value``), or None for anything else."""
    key, sep, value = line.partition(": ")  # what Asterisk always sends
    if sep and key and " " not in key and ":" not in key and "\t" not in key:
        return key, value
    key, sep, value = line.partition(":")
    if sep and key and " " not in key and "\t" not in key:
        return key, value[1:] if value.startswith(" ") else value
    return None


def _starts_message(key: str, in_event_with_response: bool) -> bool:
    n = len(key)
    if n == 5:
        return key.lower() == "event"
    if n == 8:
        return not in_event_with_response and key.lower() == "response"
    return False


def _lines(block: bytes) -> list[str]:
    text = block.decode("utf-8", "replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if lines and lines[-1].endswith("\r"):  # the CR before the terminator's LF
        lines[-1] = lines[-1][:-1]
    return lines


@dataclass(slots=True)
class _Follows:
    """A ``Response: Follows`` whose free-text body goes on past a blank line."""

    pairs: list[tuple[str, str]]
    raw: list[str]
    size: int


class AmiParser:
    """Incremental parser: ``feed(bytes)`` returns the frames completed so far.

    ``expect_banner`` makes the first line the banner (what a client sees); a
    parser for recorded server traffic without it sets it False.
    ``max_message_bytes`` bounds one message.
    """

    def __init__(self, *, expect_banner: bool = True, max_message_bytes: int = 1 << 20) -> None:
        self._buf = bytearray()  # from the start of the message in progress
        # Where the search for a terminator resumes: the last LF still followed
        # by nothing but blanks (a terminator may start there), else the end.
        self._scan = 0
        self._banner = expect_banner
        self._skipping = False  # dropping an oversized message up to its end
        self._follows: _Follows | None = None
        self.max = max_message_bytes

    @property
    def pending(self) -> int:
        """Bytes held that do not yet form a complete message."""
        held = len(self._buf.strip())
        return held + (self._follows.size if self._follows is not None else 0)

    def feed(self, data: bytes) -> list[Frame]:
        out: list[Frame] = []
        buf = self._buf
        new_from = len(buf)
        buf += data
        if self._banner:
            if not self._read_banner(out):
                return out
            new_from = 0
        pos = 0
        search = self._scan
        for m in _TERM.finditer(buf, search):
            block = bytes(buf[pos:m.start()])
            pos = search = m.end()
            if self._skipping:
                self._skipping = False
                continue
            self._block(block, out)
        if pos:
            del buf[:pos]
            new_from = max(0, new_from - pos)
            search -= pos
        # Resume at the last LF that may still begin a terminator.
        nl = buf.rfind(b"\n", max(search, new_from))
        if nl >= 0:
            self._scan = nl
        elif search < len(buf) and buf[search] == 0x0A and not data.strip(b" \t\r"):
            self._scan = search  # still an LF followed by blanks only
        else:
            self._scan = len(buf)
        if len(buf) > self.max + 2:
            self._oversized(out)
        return out

    def feed_eof(self) -> list[Frame]:
        """The peer closed: report what was cut short, if anything."""
        out: list[Frame] = []
        rest = bytes(self._buf)
        self._buf = bytearray()
        self._scan = 0
        skipping, self._skipping = self._skipping, False
        if skipping:
            rest = b""
        if self._follows is not None:
            fol, self._follows = self._follows, None
            if not rest.strip():
                out.append(self._cut("\n".join(fol.raw).encode()))
                return out
            lines = _lines(rest)
            if self._first_starts(lines):
                out.append(self._follows_message(fol))
            else:
                fol.raw.append("")
                fol.pairs.append(("Output", ""))
                out.extend(self._continue_follows(fol, lines, eof=True))
                return out
        if rest.strip():
            frames = self._parse(_lines(rest.lstrip(b" \t\r\n")), eof=True)
            out.extend(frames)
        return out

    # --------------------------------------------------------------- banner

    def _read_banner(self, out: list[Frame]) -> bool:
        buf = self._buf
        while True:
            nl = buf.find(b"\n")
            if nl < 0:
                if len(buf) <= 4096:
                    return False  # wait for the rest of the line
                self._banner = False  # no line end in 4 KiB: not a banner
                return True
            line = bytes(buf[:nl]).strip()
            if line:
                break
            del buf[:nl + 1]
        self._banner = False
        text = line.decode("utf-8", "replace")
        if b":" not in line or text.lower().startswith("asterisk call manager"):
            out.append(Banner(text))
            del buf[:nl + 1]
        self._scan = 0
        return True

    # --------------------------------------------------------------- blocks

    def _block(self, block: bytes, out: list[Frame]) -> None:
        """One block between terminators: one or more messages (or the rest of
        a Follows body)."""
        fol = self._follows
        if fol is not None:
            lines = _lines(block)
            if self._first_starts(lines):
                self._follows = None
                out.append(self._follows_message(fol))
            else:
                # The blank line was part of the text, not the end of the message.
                fol.raw.append("")
                fol.pairs.append(("Output", ""))
                out.extend(self._continue_follows(fol, lines, eof=False))
                return
        block = block.lstrip(b" \t\r\n")
        if not block:
            return
        text = block.decode("utf-8", "replace")
        if "\r" in text:
            text = text.replace("\r\n", "\n").removesuffix("\r")
        if not _LATER_START.search(text) and not _FOLLOWS.match(text):
            pairs = _PAIR.findall(text)
            if len(pairs) == text.count("\n") + 1 and len(block) <= self.max:
                out.append(Message(tuple(pairs)))
                return
        frames = self._parse(text.split("\n"), eof=False)
        if len(block) > self.max:  # rare: only then is each message measured
            frames = [self._bounded(f) for f in frames]
        out.extend(frames)

    def _bounded(self, frame: Frame) -> Frame:
        if isinstance(frame, Message) and \
                sum(len(k) + len(v) + 4 for k, v in frame.pairs) > self.max + 2:
            raw = "\n".join(f"{k}: {v}" for k, v in frame.pairs[:5])
            return ParseError(f"message longer than {self.max} bytes", raw.encode()[:200])
        return frame

    @staticmethod
    def _first_starts(lines: list[str]) -> bool:
        for line in lines:
            if line.strip():
                h = _header(line.strip())
                return h is not None and _starts_message(h[0], False)
        return False

    def _parse(self, lines: list[str], *, eof: bool) -> list[Frame]:
        """Complete lines of messages -> frames. A start line ends a message."""
        out: list[Frame] = []
        pairs: list[tuple[str, str]] = []
        bad = -1  # index (in the message) of its first line that is not a header
        start = 0
        response_field = False
        i = 0
        n = len(lines)
        while i < n:
            line = lines[i]
            h = _header(line)
            if h is None:
                if not line.strip() and not pairs and bad < 0:
                    start = i + 1  # a blank line before anything (lone CR lines...)
                elif bad < 0:
                    bad = i - start
                i += 1
                continue
            key, value = h
            if pairs or bad >= 0:
                if _starts_message(key, response_field):
                    out.append(self._finish(pairs, bad, lines[start:i]))
                    pairs, bad, start = [], -1, i
                else:
                    pairs.append(h)
                    i += 1
                    continue
            # The first line of a message.
            lk = key.lower()
            response_field = lk == "event" and value.strip().lower() in RESPONSE_FIELD_EVENTS
            if lk == "response" and value.strip().lower() == "follows":
                frames, i = self._follows_from(lines, i, eof=eof)
                out.extend(frames)
                pairs, bad, start = [], -1, i
                continue
            pairs.append(h)
            i += 1
        if pairs or bad >= 0:
            if eof:
                raw = "\n".join(lines[start:]).encode()
                out.append(self._cut(raw))
            else:
                out.append(self._finish(pairs, bad, lines[start:]))
        return out

    def _finish(self, pairs: list[tuple[str, str]], bad: int, raw: list[str]) -> Frame:
        if bad >= 0:
            where = "first line" if bad == 0 else f"line {bad + 1}"
            return ParseError(f"malformed AMI message: {where} is not 'Key: Value'",
                              "\n".join(raw).strip().encode()[:400])
        return Message(tuple(pairs))

    @staticmethod
    def _cut(raw: bytes) -> ParseError:
        return ParseError("connection closed in the middle of a message", raw.strip()[:400])

    # -------------------------------------------------------- Response: Follows

    def _follows_from(self, lines: list[str], i: int, *, eof: bool
                      ) -> tuple[list[Frame], int]:
        """``Response: Follows`` at ``lines[i]``: headers, then free text up to
        ``--END COMMAND--``. Returns the frames and the index after them."""
        pairs: list[tuple[str, str]] = []
        h = _header(lines[i])
        assert h is not None
        pairs.append(h)
        j = i + 1
        # Headers Asterisk puts before the text (Privilege, ActionID).
        while j < len(lines):
            h = _header(lines[j])
            if h is None or h[0].lower() not in _FOLLOWS_HEADERS:
                break
            pairs.append(h)
            j += 1
        fol = _Follows(pairs, lines[i:j], 0)
        if j >= len(lines):  # no body at all: a blank line ended it
            if eof:
                return [self._cut("\n".join(fol.raw).encode())], j
            return [Message(tuple(pairs))], j
        frames = self._continue_follows(fol, lines[j:], eof=eof)
        return frames, len(lines)

    def _continue_follows(self, fol: _Follows, lines: list[str], *, eof: bool) -> list[Frame]:
        """Body lines of a Follows; what comes after ``--END COMMAND--`` is parsed anew."""
        for k, line in enumerate(lines):
            stripped = line.rstrip()
            if stripped.endswith(END_COMMAND):
                text = stripped[: -len(END_COMMAND)]
                if text:  # the output did not end with a newline
                    fol.pairs.append(("Output", text))
                fol.raw.append(line)
                self._follows = None
                out: list[Frame] = [self._follows_message(fol)]
                rest = lines[k + 1:]
                if any(r.strip() for r in rest):
                    out.extend(self._parse(rest, eof=eof))
                return out
            fol.pairs.append(("Output", line))
            fol.raw.append(line)
            fol.size += len(line) + 1
        if eof:
            self._follows = None
            return [self._cut("\n".join(fol.raw).encode())]
        if fol.size > self.max:
            self._follows = None
            self._skipping = False
            return [ParseError(f"message longer than {self.max} bytes",
                               "\n".join(fol.raw).encode()[:200])]
        self._follows = fol  # a blank line inside the text: wait for more
        return []

    @staticmethod
    def _follows_message(fol: _Follows) -> Message:
        return Message(tuple(fol.pairs))

    # ------------------------------------------------------------- oversized

    def _oversized(self, out: list[Frame]) -> None:
        """More than ``max`` bytes and no terminator: split at start lines, or drop."""
        buf = self._buf
        cut = max(buf.rfind(b"\nEvent:"), buf.rfind(b"\nResponse:"))
        if cut > 0 and not self._skipping and self._follows is None:
            # Messages that lost their blank line: complete up to the last start.
            head = bytes(buf[:cut]).lstrip(b" \t\r\n")
            del buf[:cut + 1]
            self._scan = max(0, self._scan - cut - 1)
            if head:
                out.extend(self._parse(_lines(head), eof=False))
            if len(buf) <= self.max + 2:
                return
        if not self._skipping:
            out.append(ParseError(f"message longer than {self.max} bytes",
                                  bytes(buf[:200]).lstrip()))
        self._skipping = True
        # Keep only what can still be the start of the blank line ending it.
        nl = buf.rfind(b"\n")
        tail = bytes(buf[nl:]) if nl >= 0 else b""
        if tail.strip():
            tail = b""
        self._buf = bytearray(tail)
        self._scan = 0 if tail else len(self._buf)


def parse_all(data: bytes, *, expect_banner: bool = False) -> list[Frame]:
    """Parse a complete byte string (a recording): every frame, then EOF."""
    p = AmiParser(expect_banner=expect_banner)
    return [*p.feed(data), *p.feed_eof()]


def iter_messages(frames: Iterable[Frame]) -> Iterator[Message]:
    for f in frames:
        if isinstance(f, Message):
            yield f
