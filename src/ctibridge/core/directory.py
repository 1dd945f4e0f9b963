"""The agent directory: who can be reached, read a page at a time.

A bar asks for it (``directory.get``) instead of getting it in every snapshot:
with thousands of agents, the directory in each of thousands of snapshots made
the hub's memory and connect time grow with the square of the agents. Pages are
ordered by agent id and cut by a cursor (the last id of the previous page), so
a page costs the same whatever the size of the contact center when no filter
is given. Presence changes go only to the sockets that watch (notifier.py).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..model.agent import Agent, AgentStatus
from ..model.errors import BadRequest

DEFAULT_PAGE = 50
MAX_PAGE = 200
MAX_QUERY = 64
MAX_WATCHED = 500


def entry(agent: Agent) -> dict[str, Any]:
    """One agent as the directory shows them."""
    return {"agent_id": agent.agent_id, "name": agent.name, "extension": agent.extension,
            "platform": agent.platform, "devices": dict(agent.devices),
            "status": str(agent.state.status), "reason": agent.state.reason}


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int = DEFAULT_PAGE
    after: str | None = None
    query: str | None = None
    platform: str | None = None
    present: bool = False  # leave out logged-out agents

    @classmethod
    def parse(cls, args: Mapping[str, Any]) -> PageRequest:
        limit = args.get("limit", DEFAULT_PAGE)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE:
            raise BadRequest(f"'limit' must be an integer from 1 to {MAX_PAGE}",
                             code="bad-message", field="limit")
        out: dict[str, Any] = {}
        for key, most in (("after", 200), ("query", MAX_QUERY), ("platform", 200)):
            value = args.get(key)
            if value is None:
                continue
            if not isinstance(value, str) or len(value) > most:
                raise BadRequest(f"{key!r} must be a string of at most {most} characters",
                                 code="bad-message", field=key)
            out[key] = value
        present = args.get("present", False)
        if not isinstance(present, bool):
            raise BadRequest("'present' must be true or false", code="bad-message",
                             field="present")
        query = out.get("query", "").strip().casefold() or None
        return cls(limit, out.get("after"), query, out.get("platform"), present)


def parse_watch(args: Mapping[str, Any]) -> frozenset[str] | None:
    """``directory.watch`` arguments: the agent ids to watch, or None for everyone."""
    ids = args.get("agent_ids")
    if ids is None:
        return None
    if not isinstance(ids, list) or len(ids) > MAX_WATCHED or not all(
            isinstance(i, str) and 0 < len(i) <= 200 for i in ids):
        raise BadRequest(f"'agent_ids' must be a list of at most {MAX_WATCHED} agent ids",
                         code="bad-message", field="agent_ids")
    return frozenset(ids)


class Directory:
    """Pages over the hub's agents (which are only ever added, at start)."""

    def __init__(self, agents: Mapping[str, Agent]) -> None:
        self._agents = agents
        self._ids: list[str] = []

    def _sorted(self) -> list[str]:
        if len(self._ids) != len(self._agents):
            self._ids = sorted(self._agents)
        return self._ids

    def page(self, req: PageRequest) -> dict[str, Any]:
        """``{"entries": [...], "next": cursor or None}``; ``next`` goes in ``after``."""
        ids = self._sorted()
        start = bisect_right(ids, req.after) if req.after is not None else 0
        entries: list[dict[str, Any]] = []
        last = None
        for i in range(start, len(ids)):
            agent = self._agents[ids[i]]
            last = i
            if self._matches(agent, req):
                entries.append(entry(agent))
                if len(entries) == req.limit:
                    break
        more = last is not None and last + 1 < len(ids) and len(entries) == req.limit
        return {"entries": entries, "next": entries[-1]["agent_id"] if more else None}

    @staticmethod
    def _matches(agent: Agent, req: PageRequest) -> bool:
        if req.present and agent.state.status == AgentStatus.LOGGED_OUT:
            return False
        if req.platform is not None and req.platform != agent.platform \
                and req.platform not in agent.devices:
            return False
        if req.query is not None:
            hay = (agent.agent_id, agent.name or "", agent.extension or "",
                   *agent.devices.values())
            return any(req.query in h.casefold() for h in hay)
        return True
