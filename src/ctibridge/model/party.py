"""Who is on the other end of a call."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class Channel(StrEnum):
    VOICE = "voice"
    EMAIL = "email"
    CHAT = "chat"
    SMS = "sms"
    SOCIAL = "social"


@dataclass(frozen=True, slots=True)
class Party:
    """A customer or other external party, as the platform presented it.

    ``number`` is E.164 when the connector could normalize it, else what the
    platform sent. ``name`` is the caller-id name (never trusted as markup).
    """

    number: str | None = None
    name: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"number": self.number, "name": self.name}


@dataclass(frozen=True, slots=True)
class AttachedData:
    """Key/value data collected before the agent (IVR input, subject...)."""

    values: dict[str, str] = field(default_factory=dict)
