"""Read the recorded AMI sessions in ``shared/fixtures/asterisk/*.ami``.

Format (see that folder's README): ``# `` header lines at the top; then server
bytes verbatim, with what the client sent inserted between complete server
messages as ``>>> `` lines (the block ends with the line ``>>> ``). Every line
ends with CRLF. Dropping the header and the ``>>> `` lines gives exactly the
byte stream the client received.

Used by the replay tests, the fake AMI server and ``bench/ami.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .ami import Message

SENT = b">>> "


@dataclass(frozen=True, slots=True)
class Sent:
    """An action the recording client sent at this point."""

    message: Message
    raw: bytes  # as sent, CRLF lines, with the terminating blank line

    @property
    def action(self) -> str:
        return self.message.get("Action") or ""


@dataclass(frozen=True, slots=True)
class Received:
    """Server bytes, verbatim."""

    data: bytes


@dataclass(slots=True)
class Transcript:
    name: str
    header: list[str] = field(default_factory=list)
    parts: list[Sent | Received] = field(default_factory=list)

    @property
    def server_bytes(self) -> bytes:
        """Exactly what the client received (banner included)."""
        return b"".join(p.data for p in self.parts if isinstance(p, Received))

    @property
    def sent(self) -> list[Sent]:
        return [p for p in self.parts if isinstance(p, Sent)]

    def header_text(self, prefix: str) -> list[str]:
        return [h[len(prefix):].strip() for h in self.header if h.startswith(prefix)]


def read_transcript(path: str | Path) -> Transcript:
    p = Path(path)
    data = p.read_bytes()
    t = Transcript(p.name)
    lines = data.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    i = 0
    while i < len(lines) and lines[i].startswith(b"# "):
        t.header.append(lines[i][2:].decode("utf-8", "replace"))
        i += 1
    server: list[bytes] = []
    block: list[bytes] = []
    for line in lines[i:]:
        if line.startswith(SENT) or line == SENT.rstrip():
            body = line[len(SENT):]
            if body:
                block.append(body)
                continue
            if server:
                t.parts.append(Received(b"".join(server)))
                server = []
            raw = b"".join(x + b"\r\n" for x in block) + b"\r\n"
            pairs = []
            for x in block:
                k, _, v = x.decode("utf-8", "replace").partition(":")
                pairs.append((k, v[1:] if v.startswith(" ") else v))
            t.parts.append(Sent(Message(tuple(pairs)), raw))
            block = []
            continue
        server.append(line + b"\r\n")
    if server:
        t.parts.append(Received(b"".join(server)))
    return t
