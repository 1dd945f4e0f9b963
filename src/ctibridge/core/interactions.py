"""Interactions as the hub tracks them: one per agent per customer call.

Internal calls and consultations make no interaction (nothing to log in a
CRM); a caller who leaves the queue before any agent took the call makes one
without an agent, so abandoned calls are in the history too.
"""

from __future__ import annotations

import uuid
from collections import deque
from datetime import datetime
from typing import TYPE_CHECKING

from ..model.call import Call
from ..model.errors import NotFound
from ..model.interaction import Interaction
from ..model.party import Channel, Direction

if TYPE_CHECKING:
    from .calls import CallRegistry


def new_interaction_id() -> str:
    return "i-" + uuid.uuid4().hex[:20]


def apply_draft(it: Interaction, codes: set[str]) -> None:
    """What the agent typed but did not save becomes the outcome when the wrap-up ends
    (the window ran out, a state change, a restart): never thrown away."""
    draft = it.draft or {}
    if it.disposition is None and draft.get("disposition") in codes:
        it.disposition = draft["disposition"]
    if it.notes is None and draft.get("notes"):
        it.notes = draft["notes"]
    it.draft = None


def is_customer_call(call: Call) -> bool:
    return call.direction != Direction.INTERNAL and call.consult_of is None


class InteractionBook:
    def __init__(self, recent: int = 10, *, calls: CallRegistry | None = None) -> None:
        self._calls = calls  # where each call's platform reference is found
        self.open: dict[str, Interaction] = {}  # not yet wrapped
        # The same, per agent: looked up on every call event, so no scan of all.
        self._open_of: dict[str | None, dict[str, Interaction]] = {}
        self._by_call: dict[str, dict[str | None, str]] = {}
        self._recent: dict[str, deque[Interaction]] = {}
        self._recent_size = recent

    def for_call(self, call: Call, agent_id: str | None, at: datetime) -> Interaction:
        """The open interaction of ``agent_id`` on ``call``, created if needed."""
        per_call = self._by_call.setdefault(call.call_id, {})
        iid = per_call.get(agent_id)
        if iid is not None and iid in self.open:
            it = self.open[iid]
            if it.ended_at is None:
                return it
        it = Interaction(
            interaction_id=new_interaction_id(),
            channel=Channel.VOICE,
            direction=call.direction,
            customer=call.customer,
            created_at=at,
            call_id=call.call_id,
            agent_id=agent_id,
            queue=call.queue,
            attached=dict(call.attached),
            queued_at=call.created_at if call.queue else None,
            platform=call.platform or None,
            platform_ref=self._ref_of(call),
        )
        self._hold(it, call.call_id)
        return it

    def _ref_of(self, call: Call) -> str | None:
        if self._calls is None:
            return None
        try:
            return self._calls.ref_of(call.call_id)[1]
        except NotFound:
            return None

    def _hold(self, it: Interaction, call_id: str) -> None:
        self.open[it.interaction_id] = it
        self._open_of.setdefault(it.agent_id, {})[it.interaction_id] = it
        self._by_call.setdefault(call_id, {})[it.agent_id] = it.interaction_id

    def adopt(self, it: Interaction, call: Call) -> None:
        """Take back an open interaction a previous run left behind, on ``call`` (the
        same call, found again in the platform's resync): events update it from now on."""
        it.call_id = call.call_id
        self._hold(it, call.call_id)

    def keep(self, it: Interaction) -> None:
        """Take back an interaction an earlier run left awaiting its wrap-up."""
        self._hold(it, it.call_id or "")

    def remember(self, agent_id: str, wrapped: list[Interaction]) -> None:
        """The agent's recent calls as an earlier run left them (newest first)."""
        dq = self._recent.setdefault(agent_id, deque(maxlen=self._recent_size))
        for it in reversed(wrapped[: self._recent_size]):
            dq.appendleft(it)

    def _unopen(self, iid: str) -> None:
        it = self.open.pop(iid, None)
        if it is not None:
            mine = self._open_of.get(it.agent_id)
            if mine is not None:
                mine.pop(iid, None)
                if not mine:
                    del self._open_of[it.agent_id]

    def find(self, call_id: str, agent_id: str | None) -> Interaction | None:
        iid = self._by_call.get(call_id, {}).get(agent_id)
        return self.open.get(iid) if iid else None

    def get(self, interaction_id: str) -> Interaction | None:
        it = self.open.get(interaction_id)
        if it is not None:
            return it
        for dq in self._recent.values():
            for r in dq:
                if r.interaction_id == interaction_id:
                    return r
        return None

    def drop(self, call_id: str, agent_id: str | None) -> None:
        """Forget an interaction that turned out to be nothing (queue leg once answered)."""
        iid = self._by_call.get(call_id, {}).pop(agent_id, None)
        if iid:
            self._unopen(iid)

    def awaiting_wrap_up(self, agent_id: str) -> list[Interaction]:
        return [
            it for it in self._open_of.get(agent_id, {}).values()
            if it.ended_at is not None and it.accepted_at is not None
        ]

    def close(self, it: Interaction, at: datetime) -> None:
        """Wrap an interaction: it leaves the open set for the agent's recent list."""
        if it.wrapped_at is None:
            it.wrapped_at = at
        self._unopen(it.interaction_id)
        per_call = self._by_call.get(it.call_id or "", {})
        if per_call.get(it.agent_id) == it.interaction_id:
            del per_call[it.agent_id]
            if not per_call:
                self._by_call.pop(it.call_id or "", None)
        if it.agent_id:
            dq = self._recent.setdefault(it.agent_id, deque(maxlen=self._recent_size))
            dq.appendleft(it)

    def recent(self, agent_id: str) -> list[Interaction]:
        pending = sorted(
            self._open_of.get(agent_id, {}).values(),
            key=lambda i: i.created_at,
            reverse=True,
        )
        return pending + list(self._recent.get(agent_id, ()))
