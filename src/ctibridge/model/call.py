"""Calls and connections, CSTA-style.

A :class:`Call` is one customer conversation with our own ``call_id`` that
survives transfers and queue hops. Each device taking part has a
:class:`Connection` whose state follows :data:`CONNECTION_TRANSITIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from .errors import IllegalTransition
from .party import Direction, Party


class ConnectionState(StrEnum):
    INITIATED = "initiated"
    QUEUED = "queued"
    ALERTING = "alerting"
    CONNECTED = "connected"
    HELD = "held"
    ENDED = "ended"
    FAILED = "failed"


_S = ConnectionState
CONNECTION_TRANSITIONS: dict[ConnectionState, frozenset[ConnectionState]] = {
    _S.INITIATED: frozenset({_S.QUEUED, _S.ALERTING, _S.CONNECTED, _S.ENDED, _S.FAILED}),
    _S.QUEUED: frozenset({_S.ALERTING, _S.CONNECTED, _S.ENDED, _S.FAILED}),
    _S.ALERTING: frozenset({_S.QUEUED, _S.CONNECTED, _S.ENDED, _S.FAILED}),
    _S.CONNECTED: frozenset({_S.HELD, _S.ENDED}),
    _S.HELD: frozenset({_S.CONNECTED, _S.ENDED}),
    _S.ENDED: frozenset(),
    _S.FAILED: frozenset(),
}
TERMINAL = frozenset({_S.ENDED, _S.FAILED})


@dataclass(slots=True)
class Connection:
    """One device's participation in a call."""

    device: str
    state: ConnectionState
    since: datetime
    agent_id: str | None = None
    name: str | None = None  # the agent's name, for showing the other party of internal calls
    # The call's clock for this device, kept across hold/retrieve (``since`` restarts at
    # every move): first time connected, and the time spent on hold before ``since``.
    connected_at: datetime | None = None
    held_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.state == ConnectionState.CONNECTED and self.connected_at is None:
            self.connected_at = self.since

    def move(self, new: ConnectionState, at: datetime) -> bool:
        """Move to ``new``; returns False when already there (idempotent)."""
        if new == self.state:
            return False
        if new not in CONNECTION_TRANSITIONS[self.state]:
            raise IllegalTransition(
                f"connection of device {self.device} cannot go from {self.state} to {new}",
                code="illegal-connection-transition",
                device=self.device,
                current=str(self.state),
                requested=str(new),
            )
        if self.state == ConnectionState.HELD:
            self.held_seconds += max(0.0, (at - self.since).total_seconds())
        if new == ConnectionState.CONNECTED and self.connected_at is None:
            self.connected_at = at
        self.state = new
        self.since = at
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "state": str(self.state),
            "since": self.since.isoformat(),
            "agent_id": self.agent_id,
            "name": self.name,
            "connected_at": self.connected_at.isoformat() if self.connected_at else None,
            "held_seconds": round(self.held_seconds, 3),
        }


@dataclass(slots=True)
class Call:
    call_id: str
    direction: Direction
    customer: Party
    created_at: datetime
    platform: str = ""
    queue: str | None = None
    attached: dict[str, str] = field(default_factory=dict)
    connections: dict[str, Connection] = field(default_factory=dict)
    consult_of: str | None = None  # call_id of the call this consultation was made from
    # A consultation: the customer of the call it was made from (the colleague consulted
    # sees who it is about; ``attached`` carries that call's data too).
    about: Party | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    end_cause: str | None = None
    # Agents who transferred the call away: its later events are not theirs.
    transferred_away: set[str] = field(default_factory=set)

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    def connection(self, device: str) -> Connection | None:
        return self.connections.get(device)

    def live_connections(self) -> list[Connection]:
        return [c for c in self.connections.values() if c.state not in TERMINAL]

    def set_connection(
        self, device: str, state: ConnectionState, at: datetime, agent_id: str | None = None,
        name: str | None = None,
    ) -> bool:
        """Create or move the connection of ``device``. Returns whether it changed."""
        conn = self.connections.get(device)
        if conn is None or conn.state in TERMINAL:
            # A device can come back to a call (transfer back, re-offer after no answer).
            self.connections[device] = Connection(device, state, at, agent_id, name)
            return True
        if agent_id and not conn.agent_id:
            conn.agent_id = agent_id
        return conn.move(state, at)

    def end(self, at: datetime, cause: str | None = None) -> None:
        for conn in self.live_connections():
            conn.state = ConnectionState.ENDED
            conn.since = at
        if self.ended_at is None:
            self.ended_at = at
            self.end_cause = cause

    def agents(self) -> list[str]:
        return [c.agent_id for c in self.connections.values() if c.agent_id]

    def audience(self) -> set[str]:
        """The agents who hear about this call: those on it, not those who passed it on."""
        return set(self.agents()) - self.transferred_away

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "platform": self.platform,
            "direction": str(self.direction),
            "customer": self.customer.to_dict(),
            "queue": self.queue,
            "attached": dict(self.attached),
            "connections": [c.to_dict() for c in self.connections.values()],
            "consult_of": self.consult_of,
            "about": self.about.to_dict() if self.about else None,
            "created_at": self.created_at.isoformat(),
            "answered_at": self.answered_at.isoformat() if self.answered_at else None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "end_cause": self.end_cause,
        }
