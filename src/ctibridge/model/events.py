"""Normalized events.

Two families:

* :class:`PlatformEvent` subclasses are what a telephony connector emits. They
  speak the platform's references (``ref``: the connector's own id for a call,
  e.g. an Asterisk ``Linkedid``) and devices (extensions); the core maps them to
  our ``call_id`` and agents. Every class has a dotted ``name`` matching the
  event table of the design (``call.offered``...).
* :class:`HubEvent` is what the core publishes towards sockets: a name, a JSON
  payload and the audience allowed to see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from .agent import AgentStatus
from .party import Channel, Direction, Party


@dataclass(frozen=True, slots=True, kw_only=True)
class PlatformEvent:
    name: ClassVar[str] = "platform.event"
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEvent(PlatformEvent):
    ref: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallInitiated(CallEvent):
    """An agent's device started an outbound or internal call."""

    name: ClassVar[str] = "call.initiated"
    device: str
    callee: Party
    direction: Direction = Direction.OUTBOUND
    consult_of: str | None = None  # ref of the held call this consultation is made from
    attached: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class CallQueued(CallEvent):
    name: ClassVar[str] = "call.queued"
    queue: str
    caller: Party
    direction: Direction = Direction.INBOUND
    attached: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class CallOffered(CallEvent):
    """The call alerts at an agent's device."""

    name: ClassVar[str] = "call.offered"
    device: str
    caller: Party
    queue: str | None = None
    direction: Direction = Direction.INBOUND
    attached: dict[str, str] = field(default_factory=dict)
    consult_of: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAnswered(CallEvent):
    name: ClassVar[str] = "call.answered"
    device: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallHeld(CallEvent):
    name: ClassVar[str] = "call.held"
    device: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRetrieved(CallEvent):
    name: ClassVar[str] = "call.retrieved"
    device: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallTransferred(CallEvent):
    """``ref`` now continues at ``to_device``; ``from_device`` left it.

    For an attended transfer ``consult_ref`` names the consultation call that
    was merged into ``ref`` and is gone.
    """

    name: ClassVar[str] = "call.transferred"
    from_device: str
    to_device: str
    consult_ref: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallConferenced(CallEvent):
    name: ClassVar[str] = "call.conferenced"
    devices: tuple[str, ...]
    consult_ref: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallDtmf(CallEvent):
    name: ClassVar[str] = "call.dtmf"
    device: str
    digits: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallMonitored(CallEvent):
    """A supervisor's device is on the call in ``mode``: ``listen`` (hears both sides,
    heard by nobody), ``whisper`` (heard by the agent only) or ``barge`` (heard by all),
    on the agent at ``target``. A new mode on the same call replaces the old one; the
    supervisor leaves with ``CallEnded(device=...)``."""

    name: ClassVar[str] = "call.monitored"
    device: str
    target: str
    mode: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnded(CallEvent):
    """A device left the call, or (``device`` None) the whole call ended."""

    name: ClassVar[str] = "call.ended"
    device: str | None = None
    cause: str = "normal"


@dataclass(frozen=True, slots=True, kw_only=True)
class CallFailed(CallEvent):
    """A leg could not be set up (busy, no answer, invalid number...)."""

    name: ClassVar[str] = "call.failed"
    device: str | None = None
    cause: str = "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStateChanged(PlatformEvent):
    """The platform reports an agent's state (perhaps changed elsewhere)."""

    name: ClassVar[str] = "agent.state"
    device: str
    status: AgentStatus
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class CallSnapshot:
    """One call as the platform sees it, for resynchronization."""

    ref: str
    direction: Direction
    customer: Party
    devices: dict[str, str]  # device -> connection state name
    queue: str | None = None
    attached: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlatformResynced(PlatformEvent):
    """After (re)connecting, the full set of live calls and agent states.

    The core ends calls it knows that are absent here and adds the others,
    so no ghost call survives a link outage.
    """

    name: ClassVar[str] = "platform.resynced"
    calls: tuple[CallSnapshot, ...]
    agents: dict[str, tuple[AgentStatus, str | None]]  # device -> (status, reason)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlatformStatus(PlatformEvent):
    """The link to the platform went up or down."""

    name: ClassVar[str] = "platform.status"
    up: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class HubEvent:
    """What the core publishes: a name, a JSON-able payload, an audience.

    ``agents`` are the agent ids allowed to see it; supervisors see every
    event whose ``supervisors`` flag is set.
    """

    name: str
    data: dict[str, Any]
    agents: frozenset[str] = frozenset()
    supervisors: bool = True


# --------------------------------------------------------------------- digital
# What a digital connector (email, chat, SMS, social) emits. Like CallEvent,
# ``ref`` is the connector's own id for the interaction (for platforms fed by
# the intake, it is the interaction id answered to the sender). Agents are
# named by their platform login (``agent``), as devices are for telephony;
# agent states on a digital platform reuse AgentStateChanged (device = login)
# and link changes reuse PlatformStatus.


@dataclass(frozen=True, slots=True)
class Sender:
    """Who wrote: an email address, a phone number (E.164), a social handle, a name."""

    address: str | None = None
    number: str | None = None
    handle: str | None = None
    name: str | None = None

    def to_party(self) -> Party:
        return Party(number=self.number, name=self.name)

    def to_dict(self) -> dict[str, str | None]:
        return {"address": self.address, "number": self.number, "handle": self.handle,
                "name": self.name}


@dataclass(frozen=True, slots=True, kw_only=True)
class DigitalEvent(PlatformEvent):
    ref: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InteractionArrived(DigitalEvent):
    """A new email, chat, SMS or social conversation waits for an agent."""

    name: ClassVar[str] = "interaction.arrived"
    channel: Channel
    sender: Sender
    message_id: str  # the sender's id of this first message
    subject: str | None = None
    preview: str | None = None  # a short text for the bar (first words of the body)
    body: str | None = None
    content_url: str | None = None  # where the full content lives, when not sent inline
    thread_id: str | None = None  # the platform's conversation / thread id
    queue: str | None = None
    direction: Direction = Direction.INBOUND
    attached: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class InteractionMessage(DigitalEvent):
    """A further message in a conversation: a customer's follow-up or an agent's reply."""

    name: ClassVar[str] = "interaction.message"
    message_id: str
    from_customer: bool = True
    agent: str | None = None  # who replied, when not the customer
    sender: Sender | None = None
    preview: str | None = None
    body: str | None = None
    content_url: str | None = None
    attached: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class InteractionAccepted(DigitalEvent):
    name: ClassVar[str] = "interaction.accepted"
    agent: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InteractionDeclined(DigitalEvent):
    """The agent declined it; it waits for another agent."""

    name: ClassVar[str] = "interaction.declined"
    agent: str
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InteractionClosed(DigitalEvent):
    """The conversation is over: ``by`` is "agent", "customer" or "platform"."""

    name: ClassVar[str] = "interaction.closed"
    by: str
    agent: str | None = None
    disposition: str | None = None


@dataclass(frozen=True, slots=True)
class InteractionSnapshot:
    """One open interaction as the platform sees it, for resynchronization."""

    ref: str
    channel: Channel
    sender: Sender
    agent: str | None = None  # who holds it, None while waiting
    queue: str | None = None
    subject: str | None = None
    preview: str | None = None
    content_url: str | None = None
    opened_at: datetime | None = None  # when it arrived (its wait counts from then)
    attached: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class DigitalResynced(PlatformEvent):
    """After (re)connecting, every open interaction and agent status on the platform."""

    name: ClassVar[str] = "digital.resynced"
    interactions: tuple[InteractionSnapshot, ...]
    agents: dict[str, tuple[AgentStatus, str | None]]  # agent login -> (status, reason)
