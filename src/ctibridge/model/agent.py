"""Agents and their state machine.

States: ``logged_out, ready, not_ready(reason), busy, wrap_up(deadline)``.
Every state records when it was entered so that bars and supervisors can
show timers. :func:`transition` is the only way to change a state; it raises
:class:`IllegalTransition` with a stable code on a move the rules forbid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from .errors import IllegalTransition


class AgentStatus(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    NOT_READY = "not_ready"
    BUSY = "busy"
    WRAP_UP = "wrap_up"


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class AgentState:
    status: AgentStatus
    since: datetime
    reason: str | None = None
    deadline: datetime | None = None  # wrap-up end

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": str(self.status),
            "since": self.since.isoformat(),
            "reason": self.reason,
            "deadline": self.deadline.isoformat() if self.deadline else None,
        }


_A = AgentStatus
# Who may move where. Busy and wrap-up are entered by the hub (calls), the
# others by the agent (or a supervisor on their behalf).
AGENT_TRANSITIONS: dict[AgentStatus, frozenset[AgentStatus]] = {
    _A.LOGGED_OUT: frozenset({_A.NOT_READY}),  # log in first (agent.login), then ready
    _A.READY: frozenset({_A.NOT_READY, _A.BUSY, _A.LOGGED_OUT}),
    _A.NOT_READY: frozenset({_A.READY, _A.BUSY, _A.LOGGED_OUT, _A.NOT_READY}),
    _A.BUSY: frozenset({_A.WRAP_UP, _A.READY, _A.NOT_READY}),
    _A.WRAP_UP: frozenset({_A.READY, _A.NOT_READY, _A.BUSY, _A.LOGGED_OUT}),
}

_ERROR_CODES: dict[tuple[AgentStatus, AgentStatus], tuple[str, str]] = {
    (_A.LOGGED_OUT, _A.BUSY): ("agent-not-logged-in", "log in before taking calls"),
    (_A.LOGGED_OUT, _A.WRAP_UP): ("agent-not-logged-in", "log in first"),
    (_A.LOGGED_OUT, _A.LOGGED_OUT): ("agent-not-logged-in", "the agent is already logged out"),
    (_A.BUSY, _A.LOGGED_OUT): ("agent-busy", "hang up your calls before logging out"),
}


def transition(
    current: AgentState,
    status: AgentStatus,
    at: datetime,
    *,
    reason: str | None = None,
    deadline: datetime | None = None,
) -> AgentState:
    """Return the new state, or raise IllegalTransition naming the rule."""
    if status not in AGENT_TRANSITIONS[current.status]:
        if current.status == _A.LOGGED_OUT:
            code, hint = "agent-not-logged-in", "log in first"
        else:
            code, hint = _ERROR_CODES.get(
                (current.status, status), ("illegal-agent-transition", "")
            )
        msg = f"an agent in state {current.status} cannot go {status}"
        raise IllegalTransition(
            f"{msg}: {hint}" if hint else msg,
            code=code,
            current=str(current.status),
            requested=str(status),
        )
    if status == _A.NOT_READY and not reason:
        reason = "unspecified"
    if status != _A.NOT_READY:
        reason = None if status != _A.WRAP_UP else reason
    if status == _A.WRAP_UP and deadline is None:
        raise IllegalTransition("wrap-up needs a deadline", code="wrap-up-without-deadline")
    if status != _A.WRAP_UP:
        deadline = None
    return AgentState(status, at, reason, deadline)


@dataclass(slots=True)
class Agent:
    """An agent as the core sees them: identity, devices and current state."""

    agent_id: str
    name: str
    extension: str
    platform: str
    state: AgentState
    skills: frozenset[str] = frozenset()
    # Every platform the agent is on -> their device there (extension or login);
    # always holds ``platform: extension``. One availability across all of them.
    devices: dict[str, str] = field(default_factory=dict)
    # The state to return to after a call (not ready with reason, if they
    # dialled out while not ready), so a call never silently makes them ready.
    after_call: AgentState | None = None
    calls: set[str] = field(default_factory=set)  # live call ids
    # Unified availability, kept up to date by the hub's omnichannel service:
    # interactions carried per channel, capacity per channel, and per channel
    # {"open", "available", "why", "free", "detail"}.
    load: dict[str, int] = field(default_factory=dict)
    # Offers made to the agent and not answered yet, per channel (not in ``load``).
    offered: dict[str, int] = field(default_factory=dict)
    capacity: dict[str, int] = field(default_factory=dict)
    availability: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.devices = {self.platform: self.extension,
                        **{p: d for p, d in self.devices.items() if p != self.platform}}

    def device_on(self, platform: str) -> str | None:
        """The agent's device on ``platform`` (None if they are not on it)."""
        return self.devices.get(platform)

    def to_dict(self) -> dict[str, Any]:
        return {
            "agent_id": self.agent_id,
            "name": self.name,
            "extension": self.extension,
            "platform": self.platform,
            "devices": dict(self.devices),
            "state": self.state.to_dict(),
            "calls": sorted(self.calls),
            "load": dict(self.load),
            "offered": dict(self.offered),
            "capacity": dict(self.capacity),
            "availability": {c: dict(a) for c, a in self.availability.items()},
        }
