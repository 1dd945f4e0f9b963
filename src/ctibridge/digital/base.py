"""The contract every digital connector (email, chat, SMS, social) honours.

It mirrors :mod:`ctibridge.telephony.base`: ``start()``/``stop()``, one async
stream of normalized events (``InteractionArrived``, ``InteractionMessage``,
``InteractionAccepted``, ``InteractionDeclined``, ``InteractionClosed``, plus
``AgentStateChanged``, ``PlatformStatus`` and ``DigitalResynced``), the
commands the hub may send, declared ``capabilities`` and ``health()``.

A connector never touches the store or the sockets. Platforms whose traffic
reaches us through the intake (REST or signed webhook) also implement
:class:`IntakeSink`: the intake checks, de-duplicates and persists, then hands
the message to the connector, which turns it into events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..model.agent import AgentStatus
from ..model.errors import CapabilityMissing
from ..model.events import InteractionSnapshot, PlatformEvent
from ..model.party import Channel
from ..telephony.base import Health

if TYPE_CHECKING:
    from .intake import IntakeMessage

__all__ = [
    "DIGITAL_CHANNELS",
    "ClosedListener",
    "DigitalCapability",
    "DigitalConnector",
    "Health",
    "IntakeSink",
    "capabilities_dict",
    "require",
]

# Every channel but voice; the intake refuses the others by name.
DIGITAL_CHANNELS: tuple[Channel, ...] = tuple(c for c in Channel if c is not Channel.VOICE)


class DigitalCapability(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    CLOSE = "close"  # with a disposition
    REPLY = "reply"  # send a message to the customer through the platform
    AGENT_STATE = "agent_state"  # tell the platform an agent's status


# Which capability each command op needs (the hub refuses early, the bar greys out).
DIGITAL_OP_CAPABILITY: dict[str, DigitalCapability] = {
    "interaction.accept": DigitalCapability.ACCEPT,
    "interaction.decline": DigitalCapability.DECLINE,
    "interaction.close": DigitalCapability.CLOSE,
    "interaction.reply": DigitalCapability.REPLY,
}

# Called with the ref of an interaction the hub closed (the intake reopens its
# conversation for the customer's next message).
ClosedListener = Callable[[str, str], Awaitable[None]]  # (platform name, ref)


@runtime_checkable
class DigitalConnector(Protocol):
    """What the core needs from a digital platform. Refs are the connector's ids."""

    name: str
    capabilities: frozenset[DigitalCapability]
    channels: frozenset[Channel]  # the channels this platform carries

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def events(self) -> AsyncIterator[PlatformEvent]: ...

    def health(self) -> Health: ...

    async def accept(self, ref: str, agent: str) -> None:
        """``agent`` (their platform login) takes the interaction."""
        ...

    async def decline(self, ref: str, agent: str, reason: str | None = None) -> None: ...

    async def close(self, ref: str, agent: str, disposition: str | None = None) -> None: ...

    async def reply(self, ref: str, agent: str, body: str) -> str:
        """Send ``body`` to the customer; returns the platform's message id."""
        ...

    async def set_agent_status(
        self, agent: str, status: AgentStatus, reason: str | None = None
    ) -> None: ...


@runtime_checkable
class IntakeSink(Protocol):
    """A connector fed by the intake (REST / signed webhook)."""

    name: str
    channels: frozenset[Channel]

    def take(self, message: IntakeMessage, ref: str, *, new: bool) -> None:
        """Emit the events for an accepted message: arrival (``new``) or follow-up."""
        ...

    def on_closed(self, listener: ClosedListener) -> None:
        """Call ``listener`` when the hub closes an interaction of this connector."""
        ...

    def restore(self, interactions: Sequence[InteractionSnapshot]) -> None:
        """Before start: the interactions the store still has open (a restarted hub)."""
        ...


class _Capable(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def capabilities(self) -> frozenset[DigitalCapability]: ...


def require(connector: _Capable, capability: DigitalCapability) -> None:
    if capability not in connector.capabilities:
        raise CapabilityMissing(
            f"the digital platform {connector.name!r} cannot {capability.value.replace('_', ' ')}",
            capability=capability.value,
            platform=connector.name,
        )


def capabilities_dict(connector: DigitalConnector) -> dict[str, Any]:
    return {c.value: (c in connector.capabilities) for c in DigitalCapability}
