"""The transcript format shared by every connector (``*.ami`` today).

A transcript is what a client received from a platform, byte for byte, with
what the client sent inserted between complete server messages::

    # ctibridge transcript: <title>        <- header: only at the top, "# " lines
    # protocol: asterisk-ami
    Asterisk Call Manager/11.0.0           <- server bytes, verbatim from here on
    >>> Action: Login                      <- what the client sent, one line per line
    >>> Secret: ********                   <- secrets masked when recorded
    >>>                                    <- ">>> " alone ends the sent block
    Response: Success
    ...

Every line ends with CRLF. Dropping the header and the ``>>> `` lines gives
exactly the byte stream the client received; where a ``>>> `` block sits shows
when it was sent relative to what had already arrived. No timing is stored.
It is the format of the captures in ``shared/fixtures/asterisk`` (see the
README there), written by :class:`TranscriptWriter` and read by
:func:`read_transcript`. Which bytes make a complete message, and which sent
lines hold secrets, is the connector's business (:class:`Framing`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

SENT = b">>> "
CRLF = b"\r\n"
MASK = "********"


@dataclass(frozen=True, slots=True)
class SentBlock:
    """What the client sent at this point: its lines, without line ends."""

    lines: tuple[bytes, ...]
    line: int  # 1-based line number of the block's first line in the file

    @property
    def raw(self) -> bytes:
        """The block as sent: CRLF lines and the terminating empty line."""
        return b"".join(x + CRLF for x in self.lines) + CRLF


@dataclass(frozen=True, slots=True)
class ReceivedBytes:
    """Server bytes, verbatim, starting at ``line`` (1-based) of the file."""

    data: bytes
    line: int


@dataclass(slots=True)
class RawTranscript:
    name: str
    header: list[str] = field(default_factory=list)
    parts: list[SentBlock | ReceivedBytes] = field(default_factory=list)

    @property
    def server_bytes(self) -> bytes:
        return b"".join(p.data for p in self.parts if isinstance(p, ReceivedBytes))

    def header_value(self, key: str) -> str | None:
        """``# key: value`` from the header (first one), or None."""
        prefix = key.lower() + ":"
        for h in self.header:
            if h.lower().startswith(prefix):
                return h[len(prefix):].strip()
        return None


class TranscriptError(ValueError):
    """A file that is not a transcript (the message says what is wrong)."""


def read_header(t: RawTranscript, lines: list[bytes]) -> int:
    """The ``# `` lines at the top into ``t.header``: the index of the first line after."""
    i = 0
    while i < len(lines) and lines[i].startswith(b"# "):
        t.header.append(lines[i][2:].decode("utf-8", "replace"))
        i += 1
    return i


def read_transcript_bytes(data: bytes, name: str = "transcript") -> RawTranscript:
    t = RawTranscript(name)
    lines = data.split(CRLF)
    if lines and lines[-1] == b"":
        lines.pop()
    if len(lines) == 1 and b"\n" in lines[0]:
        raise TranscriptError(f"{name}: lines end with LF only; a transcript has CRLF line "
                              "ends (was it edited or converted? record it again)")
    i = read_header(t, lines)
    server: list[bytes] = []
    server_line = i + 1
    block: list[bytes] = []
    block_line = 0
    for n, line in enumerate(lines[i:], start=i + 1):
        if line.startswith(SENT) or line == SENT.rstrip():
            body = line[len(SENT):]
            if not block:
                block_line = n
            if body:
                block.append(body)
                continue
            if server:
                t.parts.append(ReceivedBytes(b"".join(server), server_line))
                server = []
            t.parts.append(SentBlock(tuple(block), block_line))
            block = []
            continue
        if not server:
            server_line = n
        server.append(line + CRLF)
    if block:  # a sent block cut short (the recording stopped while it was written)
        t.parts.append(SentBlock(tuple(block), block_line))
    if server:
        t.parts.append(ReceivedBytes(b"".join(server), server_line))
    return t


def read_transcript_file(path: str | Path, parse: Callable[[bytes, str], RawTranscript]
                         = read_transcript_bytes) -> RawTranscript:
    """The transcript at ``path``, read by ``parse`` (the protocol's reader)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise TranscriptError(f"cannot read {p}: {exc.strerror}") from None
    return parse(data, p.name)


class Framing(Protocol):
    """What a connector tells the recorder about its protocol."""

    protocol: str  # e.g. "asterisk-ami"; written in the header

    def complete(self, buffer: bytes, *, at_start: bool) -> int:
        """How many leading bytes of ``buffer`` (server bytes not yet written)
        form complete messages; ``at_start``: nothing was written before."""
        ...

    def sent_complete(self, buffer: bytes) -> int:
        """How many leading bytes of what the client sent form complete blocks."""
        ...

    def mask(self, line: bytes) -> bytes:
        """A sent line with any secret replaced by ``MASK``."""
        ...


class TranscriptWriter:
    """Writes a transcript as traffic happens (flushed at once: a crash keeps it).

    :meth:`received` takes server bytes in any chunking; :meth:`sent` takes
    complete client blocks. A sent block is written after the server messages
    completed so far; a server message still arriving is written after it.
    """

    def __init__(self, out: BinaryIO, framing: Framing, header: list[str],
                 *, on_write: Callable[[int], None] | None = None) -> None:
        self.out = out
        self.framing = framing
        # AMI transcripts have CRLF lines; ESL ones LF (the protocol's own line end),
        # with a join LF before a sent block that follows a body not ending in LF.
        self.newline: bytes = getattr(framing, "newline", CRLF)
        self._pending = b""
        self._started = False
        self._last = b"\n"
        self._on_write = on_write
        self.bytes_received = 0
        self.blocks_sent = 0
        for h in header:
            if "\r" in h or "\n" in h:
                raise ValueError("a header line cannot contain a line break")
            self._write(b"# " + h.encode("utf-8") + self.newline)

    def _write(self, data: bytes) -> None:
        if data:
            self._last = data[-1:]
        self.out.write(data)
        self.out.flush()
        if self._on_write is not None:
            self._on_write(len(data))

    def received(self, data: bytes) -> None:
        self.bytes_received += len(data)
        self._pending += data
        n = self.framing.complete(self._pending, at_start=not self._started)
        if n:
            self._write(self._pending[:n])
            self._pending = self._pending[n:]
            self._started = True

    def sent(self, block: bytes) -> None:
        """One or more complete sent blocks (CRLF or LF lines, each ended by an empty line)."""
        self.blocks_sent += 1
        lines = block.replace(CRLF, b"\n").split(b"\n")
        out = []
        for line in lines[:-1] if lines and lines[-1] == b"" else lines:
            out.append(SENT + self.framing.mask(line) if line else SENT)
        if self._last != b"\n":
            self._write(b"\n")  # the join LF: a ">>> " line always starts a line
        self._write(b"".join(x + self.newline for x in out))

    def close(self) -> None:
        """Write what is left (a message cut by the end of the connection)."""
        if self._pending:
            tail = self._pending
            if not tail.endswith(self.newline):
                tail += self.newline
            self._write(tail)
            self._pending = b""
        self.out.flush()
        try:
            os.fsync(self.out.fileno())
        except (OSError, ValueError, AttributeError):  # not a real file (tests: BytesIO)
            pass
