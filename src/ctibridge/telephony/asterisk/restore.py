"""Agents keep their queue state across an Asterisk restart and a link outage.

Queue members added over AMI (dynamic members) live in Asterisk's memory: a
restart forgets them unless ``queues.conf`` says ``persistentmembers = yes``.
And a state change an agent makes while the link is down cannot reach
Asterisk. :class:`AgentKeeper` remembers both, and after each login (once
Asterisk is fully booted and the snapshot is taken) says which agents must be
set again:

* after a **restart** (``CoreStatus`` reports another start time, or Asterisk
  announced ``Event: Shutdown``): every agent as it was when the link dropped;
* after any reconnection: the changes asked for while the link was down (the
  latest one per agent wins).

Agents already in that state (``persistentmembers = yes``, or nothing changed)
are left alone.
"""

from __future__ import annotations

from ...model.agent import AgentStatus
from .framing import Message

State = tuple[AgentStatus, str | None]


def startup_of(core_status: Message) -> str | None:
    """When this Asterisk started, from a ``CoreStatus`` response."""
    date, time = core_status.get("CoreStartupDate"), core_status.get("CoreStartupTime")
    return f"{date} {time}" if date and time else None


class AgentKeeper:
    def __init__(self) -> None:
        self.startup: str | None = None  # start time of the Asterisk last logged in to
        self.before: dict[str, State] = {}  # agent states when the link last dropped
        self.unsent: dict[str, State] = {}  # asked for while the link was down
        self.shutdown_seen = False  # Asterisk announced its shutdown on the last link
        # A restart seen and not yet made good (kept if the next link drops mid-way).
        self.restart_pending = False

    def link_lost(self, states: dict[str, State]) -> None:
        """The link that was up dropped: remember where every agent stood."""
        self.before = dict(states)

    def restarted(self, startup: str | None) -> bool:
        """Record the start time of the Asterisk just logged in to; True if it
        restarted since the last link (or an earlier restart is not made good)."""
        if self.shutdown_seen or (
                startup is not None and self.startup is not None and startup != self.startup):
            self.restart_pending = True
        if startup is not None:
            self.startup = startup
        self.shutdown_seen = False
        return self.restart_pending

    def plan(self, now: dict[str, State]) -> dict[str, State]:
        """The agents to set, and to what, given their state ``now`` (the snapshot's)."""
        wanted = dict(self.before) if self.restart_pending else {}
        wanted.update(self.unsent)
        return {dev: st for dev, st in wanted.items() if now.get(dev) != st}

    def restored(self) -> None:
        self.restart_pending = False
