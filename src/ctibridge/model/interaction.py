"""Interactions: anything routed to an agent, and what the call log is built on.

For voice, one interaction is one agent's part of a call (a transferred call
gives one interaction per agent, each with its own wrap-up and disposition),
plus one without an agent for a caller who abandoned in queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .party import Channel, Direction, Party


@dataclass(slots=True)
class Interaction:
    interaction_id: str
    channel: Channel
    direction: Direction
    customer: Party
    created_at: datetime
    call_id: str | None = None
    agent_id: str | None = None
    queue: str | None = None
    attached: dict[str, str] = field(default_factory=dict)
    queued_at: datetime | None = None
    offered_at: datetime | None = None
    accepted_at: datetime | None = None
    ended_at: datetime | None = None
    wrapped_at: datetime | None = None
    disposition: str | None = None
    notes: str | None = None
    end_cause: str | None = None
    # The CRM record this interaction is logged against (``Match.to_dict()``):
    # the one match of the screen pop, or the agent's choice.
    crm_record: dict[str, Any] | None = None
    # Digital work (and voice routed by ctibridge): where it lives and how far it got.
    platform: str | None = None
    state: str | None = None  # queued | offered | active | closed; derived for voice
    subject: str | None = None
    preview: str | None = None
    content_url: str | None = None  # opens the conversation/email in the CRM or platform
    offer_deadline: datetime | None = None  # while offered
    messages: int = 0  # customer messages so far
    # The platform's own reference of the call (an Asterisk Linkedid, the simulator's
    # ref): a restarted hub finds the call again in the platform's resync by it.
    platform_ref: str | None = None
    # What the agent has typed in the wrap-up form but not saved ({"disposition",
    # "notes"}): kept by the hub and the store so that a reconnect, a restart or the
    # end of the wrap-up window never loses it (applied when the wrap-up ends).
    draft: dict[str, str] | None = None

    @property
    def talk_seconds(self) -> float | None:
        if self.accepted_at and self.ended_at:
            return (self.ended_at - self.accepted_at).total_seconds()
        return None

    @property
    def current_state(self) -> str:
        """queued, offered, active or closed (set for digital work, derived for calls)."""
        if self.state is not None:
            return self.state
        if self.ended_at or self.wrapped_at:
            return "closed"
        if self.accepted_at:
            return "active"
        return "offered" if self.offered_at else "queued"

    def to_dict(self) -> dict[str, Any]:
        def iso(d: datetime | None) -> str | None:
            return d.isoformat() if d else None

        return {
            "interaction_id": self.interaction_id,
            "channel": str(self.channel),
            "direction": str(self.direction),
            "customer": self.customer.to_dict(),
            "call_id": self.call_id,
            "agent_id": self.agent_id,
            "queue": self.queue,
            "attached": dict(self.attached),
            "created_at": iso(self.created_at),
            "queued_at": iso(self.queued_at),
            "offered_at": iso(self.offered_at),
            "accepted_at": iso(self.accepted_at),
            "ended_at": iso(self.ended_at),
            "wrapped_at": iso(self.wrapped_at),
            "disposition": self.disposition,
            "notes": self.notes,
            "end_cause": self.end_cause,
            "talk_seconds": self.talk_seconds,
            "crm_record": dict(self.crm_record) if self.crm_record else None,
            "platform": self.platform,
            "state": self.current_state,
            "subject": self.subject,
            "preview": self.preview,
            "content_url": self.content_url,
            "offer_deadline": iso(self.offer_deadline),
            "messages": self.messages,
            "draft": dict(self.draft) if self.draft else None,
        }


@dataclass(frozen=True, slots=True)
class Queue:
    name: str
    label: str = ""
    skills: frozenset[str] = frozenset()
