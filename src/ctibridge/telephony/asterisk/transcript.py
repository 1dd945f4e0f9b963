"""Recorded AMI sessions (``*.ami``), as AMI messages.

The file format belongs to :mod:`ctibridge.recording.transcript` (shared by
every connector); this module reads it for AMI: each sent block becomes a
:class:`Message`. Used by the replay tests, the fake AMI server and
``bench/ami.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ...recording.transcript import SENT, ReceivedBytes, read_transcript_file
from .ami import Message

__all__ = ["SENT", "Received", "Sent", "Transcript", "read_transcript"]


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
    raw = read_transcript_file(path)
    t = Transcript(raw.name, list(raw.header))
    for part in raw.parts:
        if isinstance(part, ReceivedBytes):
            t.parts.append(Received(part.data))
            continue
        pairs = []
        for x in part.lines:
            k, _, v = x.decode("utf-8", "replace").partition(":")
            pairs.append((k, v[1:] if v.startswith(" ") else v))
        t.parts.append(Sent(Message(tuple(pairs)), part.raw))
    return t
