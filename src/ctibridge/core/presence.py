"""Unified availability: what an agent can take on each channel, and what each platform is told.

Pure logic, no I/O and no clock: the hub passes the agent's state and the
interactions they carry, and gets decisions back.

How the hub uses it::

    policy = CapacityPolicy.from_settings(settings.presence)
    rules = policy.rules_for(agent.agent_id)            # per-agent overrides applied
    carried = [Carried(it.interaction_id, it.channel, platform), ...]   # every platform
    avail = availability(agent.state, load_of(carried), rules)
    avail.channels[Channel.CHAT].available   # -> bool, and .reason / .detail say why not

    # What each platform the agent is on must be told (pause/unpause, available/away):
    wanted = platform_directives(agent.state, carried, rules,
                                 {"sim": VOICE_ONLY, "chatdesk": frozenset({Channel.CHAT})})
    for d in sync.plan(agent.agent_id, wanted):                 # only real changes
        connector(d.platform).set_agent_state(device, d.status, d.reason)

    # A platform reports a state: our own push coming back, or a real change?
    if sync.observe(agent.agent_id, "chatdesk", status, reason) is Observed.CHANGE:
        ...apply it to the agent, then plan again (chatdesk is not told it back)

Capacity rules: each channel has a capacity (voice 1, chat 3, email 2, sms 2,
social 2 by default) and may *block* others while the agent carries work on
it (a call blocks all digital work; a chat, SMS or social conversation blocks
voice; email blocks nothing). Load is counted across every platform, so a
call on one PBX closes voice on the other and chat on the digital platform.

State comes first: logged out, not ready (with its reason) and wrap-up close
every channel; ready and busy leave it to capacity and blocks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ..model.agent import AgentState, AgentStatus
from ..model.party import Channel

if TYPE_CHECKING:
    from ..config import PresenceSettings

ALL_CHANNELS: tuple[Channel, ...] = tuple(Channel)
VOICE_ONLY: frozenset[Channel] = frozenset({Channel.VOICE})
# The pause reason a platform is given when the agent is busy on other work.
BUSY_ELSEWHERE = "busy-elsewhere"
WRAP_UP = "wrap-up"
# Offers on these channels already occupy the agent: the phone rings at their desk.
# Any other offer (a chat, an email) only reserves its own place until accepted.
RINGING: frozenset[Channel] = frozenset({Channel.VOICE})


class Why(StrEnum):
    """Why a channel is (un)available; stable strings the bar can translate."""

    AVAILABLE = "available"
    LOGGED_OUT = "logged-out"
    NOT_READY = "not-ready"  # detail: the reason code
    WRAP_UP = "wrap-up"
    NOT_ENABLED = "not-enabled"  # capacity 0 for this agent
    AT_CAPACITY = "at-capacity"  # detail: "3/3"
    BLOCKED = "blocked"  # detail: the channel whose work blocks it, e.g. "voice"


@dataclass(frozen=True, slots=True)
class CapacityRules:
    """One agent's capacity per channel and which carried channel blocks which."""

    capacity: Mapping[Channel, int]
    blocks: Mapping[Channel, frozenset[Channel]]

    def free(self, load: Mapping[Channel, int], channel: Channel,
             offered: Mapping[Channel, int] | None = None) -> int:
        """How many more ``channel`` interactions fit, given ``load`` (0 if blocked)."""
        return self.check(load, channel, offered)[0]

    def check(self, load: Mapping[Channel, int], channel: Channel,
              offered: Mapping[Channel, int] | None = None) -> tuple[int, Why, str | None]:
        """(free slots, why, detail) for ``channel`` ignoring agent state.

        ``load`` is the work the agent has taken; ``offered``, the offers they
        have not answered yet. An offer takes a place in its own channel but
        blocks other channels only when it rings (:data:`RINGING`): a chat
        nobody accepted never keeps a call away.
        """
        offered = offered or {}
        cap = self.capacity.get(channel, 0)
        if cap <= 0:
            return 0, Why.NOT_ENABLED, None
        for other in ALL_CHANNELS:  # fixed order, so the reported blocker is stable
            busy = load.get(other, 0) + (offered.get(other, 0) if other in RINGING else 0)
            if other != channel and busy > 0 \
                    and channel in self.blocks.get(other, frozenset()):
                return 0, Why.BLOCKED, str(other)
        used = load.get(channel, 0) + offered.get(channel, 0)
        if used >= cap:
            return 0, Why.AT_CAPACITY, f"{used}/{cap}"
        return cap - used, Why.AVAILABLE, None


def make_rules(capacity: Mapping[Channel, int], blocks: Mapping[Channel, Iterable[Channel]]
               ) -> CapacityRules:
    """Rules from plain mappings; channels left out get capacity 0 and block nothing."""
    return CapacityRules(
        capacity={c: int(capacity.get(c, 0)) for c in ALL_CHANNELS},
        blocks={c: frozenset(blocks.get(c, ())) for c in ALL_CHANNELS},
    )


DEFAULT_RULES = make_rules(
    {Channel.VOICE: 1, Channel.CHAT: 3, Channel.EMAIL: 2, Channel.SMS: 2, Channel.SOCIAL: 2},
    {Channel.VOICE: [Channel.CHAT, Channel.EMAIL, Channel.SMS, Channel.SOCIAL],
     Channel.CHAT: [Channel.VOICE], Channel.SMS: [Channel.VOICE],
     Channel.SOCIAL: [Channel.VOICE]},
)


@dataclass(frozen=True, slots=True)
class CapacityPolicy:
    """The configured rules: the global ones plus each agent's overrides."""

    default: CapacityRules = DEFAULT_RULES
    per_agent: Mapping[str, CapacityRules] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: PresenceSettings) -> CapacityPolicy:
        default = make_rules(settings.capacity, settings.blocks)
        per_agent = {
            agent_id: make_rules({**settings.capacity, **o.capacity},
                                 {**settings.blocks, **o.blocks})
            for agent_id, o in settings.agents.items()
        }
        return cls(default, per_agent)

    def rules_for(self, agent_id: str) -> CapacityRules:
        return self.per_agent.get(agent_id, self.default)


@dataclass(frozen=True, slots=True)
class Carried:
    """One interaction an agent carries (offered or accepted), and on which platform."""

    interaction_id: str
    channel: Channel
    platform: str


def load_of(carried: Iterable[Carried]) -> Counter[Channel]:
    """Interactions per channel, across every platform."""
    return Counter(c.channel for c in carried)


@dataclass(frozen=True, slots=True)
class ChannelAvailability:
    available: bool
    why: Why
    free: int = 0
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"available": self.available, "why": str(self.why), "free": self.free,
                "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Availability:
    """Per channel: available or not, and why. ``since`` is the agent state's start (timers)."""

    channels: Mapping[Channel, ChannelAvailability]
    status: AgentStatus
    since: datetime

    def available(self, channel: Channel) -> bool:
        return self.channels[channel].available

    def changed(self, other: Availability | None) -> frozenset[Channel]:
        """Channels whose availability or reason differs from ``other`` (all if None).

        Free slots alone do not count: 2 free chats becoming 1 is no news for a
        platform or the bar, becoming 0 is (the reason changes to at-capacity).
        """
        if other is None:
            return frozenset(self.channels)
        out = set()
        for c, a in self.channels.items():
            b = other.channels.get(c)
            if b is None or (a.available, a.why, a.detail if not a.available else None) \
                    != (b.available, b.why, b.detail if not b.available else None):
                out.add(c)
        return frozenset(out)

    def to_dict(self) -> dict[str, Any]:
        return {"status": str(self.status), "since": self.since.isoformat(),
                "channels": {str(c): a.to_dict() for c, a in self.channels.items()}}


def state_allows_work(state: AgentState) -> tuple[bool, Why, str | None]:
    """Whether the agent's state lets any channel open: (ok, why, detail)."""
    if state.status == AgentStatus.LOGGED_OUT:
        return False, Why.LOGGED_OUT, None
    if state.status == AgentStatus.NOT_READY:
        return False, Why.NOT_READY, state.reason
    if state.status == AgentStatus.WRAP_UP:
        return False, Why.WRAP_UP, None
    return True, Why.AVAILABLE, None


def availability(state: AgentState, load: Mapping[Channel, int],
                 rules: CapacityRules, offered: Mapping[Channel, int] | None = None
                 ) -> Availability:
    """Per channel availability from the agent's state, the work they carry everywhere
    and the offers they have not answered (see :meth:`CapacityRules.check`)."""
    ok, why, detail = state_allows_work(state)
    out: dict[Channel, ChannelAvailability] = {}
    for c in ALL_CHANNELS:
        if not ok:
            out[c] = ChannelAvailability(False, why, 0, detail)
            continue
        free, cwhy, cdetail = rules.check(load, c, offered)
        out[c] = ChannelAvailability(free > 0, cwhy, free, cdetail)
    return Availability(out, state.status, state.since)


# ----------------------------------------------------------------- platforms


@dataclass(frozen=True, slots=True)
class PlatformDirective:
    """What one platform must be told about the agent.

    ``status`` is READY, NOT_READY or LOGGED_OUT with ``reason`` — what
    ``TelephonyConnector.set_agent_state`` takes. A voice platform renders
    NOT_READY as a pause (``PausedReason``), READY as unpause; a digital
    platform renders them as "away" and "available" (see :attr:`presence`).
    """

    platform: str
    status: AgentStatus
    reason: str | None = None

    @property
    def presence(self) -> str:
        """The word a digital platform shows: available, away or offline."""
        return {AgentStatus.READY: "available", AgentStatus.NOT_READY: "away"}.get(
            self.status, "offline")


def platform_directives(
    state: AgentState,
    carried: Iterable[Carried],
    rules: CapacityRules,
    platforms: Mapping[str, frozenset[Channel]],
) -> list[PlatformDirective]:
    """What each platform (name → channels it serves) must be told, in name order.

    Logged out and not ready go to every platform as they are (with the
    reason code); wrap-up is a pause with reason "wrap-up". Otherwise a
    platform is told READY if one of its channels is open, and also when its
    channels are closed only by work *it* carries (it knows the agent is busy,
    and pausing would hide the agent from its own supervisors); it is paused
    with "busy-elsewhere" when work on other channels or other platforms
    closes its channels.
    """
    items = list(carried)
    total = load_of(items)
    ok, why, _ = state_allows_work(state)
    out = []
    for name in sorted(platforms):
        served = platforms[name]
        if not ok:
            if why == Why.LOGGED_OUT:
                out.append(PlatformDirective(name, AgentStatus.LOGGED_OUT))
            elif why == Why.WRAP_UP:
                out.append(PlatformDirective(name, AgentStatus.NOT_READY, WRAP_UP))
            else:
                out.append(PlatformDirective(name, AgentStatus.NOT_READY,
                                             state.reason or "unspecified"))
            continue
        if any(rules.free(total, c) > 0 for c in served):
            out.append(PlatformDirective(name, AgentStatus.READY))
            continue
        own = load_of(i for i in items if i.platform == name and i.channel in served)
        if any(rules.free(own, c) > 0 for c in served):
            out.append(PlatformDirective(name, AgentStatus.NOT_READY, BUSY_ELSEWHERE))
        else:
            # Closed by its own work (or channels not enabled): the platform knows.
            out.append(PlatformDirective(name, AgentStatus.READY))
    return out


class Observed(StrEnum):
    ECHO = "echo"  # our own push coming back: ignore
    SAME = "same"  # nothing new (a repeat): ignore
    CHANGE = "change"  # changed on the platform itself: apply, with this platform as origin


@dataclass(slots=True)
class _Known:
    state: tuple[AgentStatus, str | None] | None = None
    pending: list[tuple[AgentStatus, str | None]] = field(default_factory=list)


class PresenceSync:
    """Remembers what each platform was told or said, so only real changes travel.

    :meth:`plan` filters wanted directives down to the ones a platform does
    not already have; :meth:`observe` classifies a state a platform reports,
    and so names the origin of a change. A change from platform P is recorded
    as P's state, so P is not told back what it just said; when the other
    platform's echo of our push arrives it matches a pending push and is
    dropped, so a bridge between two platforms never loops.
    """

    # Pushes remembered per platform awaiting their echo; older ones are superseded.
    MAX_PENDING = 8

    def __init__(self) -> None:
        self._known: dict[str, dict[str, _Known]] = {}  # agent → platform → known

    def plan(self, agent_id: str, wanted: Iterable[PlatformDirective]
             ) -> list[PlatformDirective]:
        """Directives to send now; marks them as sent (expecting an echo).

        The platform a change came from already holds what it reported
        (:meth:`observe` recorded it), so it is told nothing back unless the
        rules overrule it (e.g. "available" on the chat platform during a call).
        """
        out = []
        for d in wanted:
            k = self._known.setdefault(agent_id, {}).setdefault(d.platform, _Known())
            st = (d.status, d.reason)
            if k.state == st:
                continue
            k.state = st
            k.pending.append(st)
            del k.pending[: -self.MAX_PENDING]
            out.append(d)
        return out

    def observe(self, agent_id: str, platform: str, status: AgentStatus,
                reason: str | None) -> Observed:
        """Classify a state the platform reports for the agent."""
        k = self._known.setdefault(agent_id, {}).setdefault(platform, _Known())
        st = (status, reason)
        if reason is None and status == AgentStatus.NOT_READY:
            # A platform that carries no pause reasons (CSTA's SetAgentState has none)
            # echoes our "not ready, <reason>" as plain "not ready": the same state.
            told = [p for p in k.pending if p[0] == status]
            if told:
                st = told[-1]
            elif k.state is not None and k.state[0] == status:
                st = k.state
        if st in k.pending:
            # Our push (or an older one) arriving: drop it and anything before it.
            del k.pending[: k.pending.index(st) + 1]
            return Observed.ECHO
        if k.state == st:
            return Observed.SAME
        k.state = st
        k.pending.clear()  # the platform moved on; earlier pushes are stale
        return Observed.CHANGE

    def forget(self, agent_id: str, platform: str | None = None) -> None:
        """Drop what is known (a platform reconnected and must be told everything again)."""
        if platform is None:
            self._known.pop(agent_id, None)
        else:
            self._known.get(agent_id, {}).pop(platform, None)
