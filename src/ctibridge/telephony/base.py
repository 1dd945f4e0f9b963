"""The contract every telephony connector honours.

A connector turns a platform's native traffic into :mod:`ctibridge.model.events`
and carries out commands on devices. It never touches the store, the sockets
or business rules: the core decides, the connector executes.

Contract:

* ``start()`` connects (and keeps reconnecting with backoff); ``stop()`` ends
  cleanly. Link changes are reported as :class:`PlatformStatus` events.
* After every (re)connection the connector emits :class:`PlatformResynced`
  with every live call and agent state, so the core can drop ghost calls.
* ``events()`` is a single async stream of normalized events, in platform order.
* Commands raise :class:`PlatformError` with the platform's reason when the
  platform refuses, and :class:`CapabilityMissing` for what it cannot do;
  they never pretend to have succeeded.
* ``capabilities`` declares what the platform can do; the hub refuses other
  commands before calling and the agent bar greys them out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from ..model.agent import AgentStatus
from ..model.errors import CapabilityMissing
from ..model.events import PlatformEvent


class Capability(StrEnum):
    MAKE_CALL = "make_call"
    ANSWER = "answer"
    HANGUP = "hangup"
    HOLD = "hold"  # hold and retrieve
    BLIND_TRANSFER = "blind_transfer"
    CONSULT = "consult"  # consult and complete_transfer
    CONFERENCE = "conference"
    DTMF = "dtmf"
    MUTE = "mute"
    AGENT_STATE = "agent_state"
    # "ctibridge routes": the platform parks queued calls and ``deliver`` sends
    # one to the device the hub chose. Without it the platform's ACD routes.
    ROUTE = "route"
    # A supervisor's phone joins an agent's call: hearing it (listen), speaking to the
    # agent alone (whisper) or to everyone (barge). See SupervisableConnector.
    LISTEN = "listen"
    WHISPER = "whisper"
    BARGE = "barge"


MONITOR_MODES: dict[str, Capability] = {
    "listen": Capability.LISTEN, "whisper": Capability.WHISPER, "barge": Capability.BARGE}


ALL_CAPABILITIES = frozenset(Capability)

# Which capability each command op needs. One table, used by the hub to refuse
# early and by the bar to grey out buttons.
OP_CAPABILITY: dict[str, Capability] = {
    "call.dial": Capability.MAKE_CALL,
    "call.answer": Capability.ANSWER,
    "call.hangup": Capability.HANGUP,
    "call.hold": Capability.HOLD,
    "call.retrieve": Capability.HOLD,
    "call.blind_transfer": Capability.BLIND_TRANSFER,
    "call.consult": Capability.CONSULT,
    "call.complete_transfer": Capability.CONSULT,
    "call.cancel_consult": Capability.CONSULT,
    "call.conference": Capability.CONFERENCE,
    "call.dtmf": Capability.DTMF,
    "call.mute": Capability.MUTE,
    "call.unmute": Capability.MUTE,
}


@dataclass(frozen=True, slots=True)
class Health:
    up: bool
    detail: str = ""


@runtime_checkable
class TelephonyConnector(Protocol):
    """What the core needs from a platform. Refs are the connector's call ids."""

    name: str
    capabilities: frozenset[Capability]

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def events(self) -> AsyncIterator[PlatformEvent]: ...

    def health(self) -> Health: ...

    async def make_call(
        self, device: str, number: str, *, attached: dict[str, str] | None = None
    ) -> str:
        """Dial ``number`` from ``device``; returns the new call's ref."""
        ...

    async def answer(self, ref: str, device: str) -> None: ...

    async def hangup(self, ref: str, device: str) -> None: ...

    async def hold(self, ref: str, device: str) -> None: ...

    async def retrieve(self, ref: str, device: str) -> None: ...

    async def blind_transfer(self, ref: str, device: str, target: str) -> None: ...

    async def consult(self, ref: str, device: str, target: str) -> str:
        """Hold ``ref`` and call ``target``; returns the consultation call's ref."""
        ...

    async def complete_transfer(self, ref: str, consult_ref: str, device: str) -> None: ...

    async def cancel_consult(self, ref: str, consult_ref: str, device: str) -> None:
        """End the consultation ``consult_ref`` and take ``ref`` back off hold.

        The consulted party is hung up (or stops ringing); the customer is never
        transferred. Ends with ``CallEnded(consult_ref)`` and ``CallRetrieved(ref)``.
        """
        ...

    async def conference(self, ref: str, consult_ref: str, device: str) -> None: ...

    async def dtmf(self, ref: str, device: str, digits: str) -> None: ...

    async def mute(self, ref: str, device: str, on: bool) -> None: ...

    async def set_agent_state(
        self, device: str, status: AgentStatus, reason: str | None = None
    ) -> None:
        """Tell the platform whether to route calls to ``device``.

        Platforms know only logged out / ready / not ready; the hub maps busy
        and wrap-up onto them.
        """
        ...


@runtime_checkable
class RoutableConnector(TelephonyConnector, Protocol):
    """A platform ctibridge can route for (``Capability.ROUTE``): optional command.

    ``deliver(ref, device)`` sends a parked (queued) call to ``device``; the
    platform then emits ``CallOffered`` for it as usual. An unanswered or
    declined offer goes back to the park with a new ``CallQueued``, so the hub
    routes it again. An unknown ref (``no-such-call``), a call not parked
    (``not-queued``), an unknown device (``no-such-device``) or a device
    already on a call (``device-busy``) raise :class:`PlatformError`.
    """

    async def deliver(self, ref: str, device: str) -> None: ...


@runtime_checkable
class SupervisableConnector(TelephonyConnector, Protocol):
    """A platform on which a supervisor can listen to, whisper to or barge into a call
    (``Capability.LISTEN`` / ``WHISPER`` / ``BARGE``): optional commands.

    ``monitor(ref, target, device, mode)`` puts the supervisor's ``device`` on call
    ``ref`` of the agent at ``target`` in ``mode`` (listen, whisper or barge), or moves
    it to that mode if it is already there; it ends with ``CallMonitored``. The
    supervisor leaves with ``hangup(ref, device)`` (``CallEnded`` for that device). An
    unknown call or device, or a call ``target`` is not talking on, raise
    :class:`PlatformError`.
    """

    async def monitor(self, ref: str, target: str, device: str, mode: str) -> None: ...


def require(connector: TelephonyConnector, capability: Capability) -> None:
    if capability not in connector.capabilities:
        raise CapabilityMissing(
            f"the platform {connector.name!r} cannot {capability.value.replace('_', ' ')}",
            capability=capability.value,
            platform=connector.name,
        )


def capabilities_dict(connector: TelephonyConnector) -> dict[str, Any]:
    return {c.value: (c in connector.capabilities) for c in Capability}
