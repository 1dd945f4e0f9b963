"""What our own digital platforms (the simulator, the webhook intake) hold alike: the
event stream, each agent's state as the platform has it, who hears of closed
interactions, and the agent-state and close commands."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from ..clock import Clock, SystemClock
from ..model.agent import AgentStatus
from ..model.errors import PlatformError
from ..model.events import AgentStateChanged, InteractionClosed, PlatformEvent
from .base import ClosedListener, DigitalCapability, require


class AgentStates(dict[str, tuple[AgentStatus, str | None]]):
    """Each agent's state as a digital platform holds it (agent id -> status, reason)."""

    def change(self, agent: str, status: AgentStatus, reason: str | None) -> bool:
        """Set it; False when it already was that (nothing to report)."""
        if self.get(agent) == (status, reason):
            return False
        self[agent] = (status, reason)
        return True


class DigitalPlatform:
    """The base of a digital connector that is its own platform."""

    capabilities: frozenset[DigitalCapability]

    def __init__(self, name: str, clock: Clock | None) -> None:
        self.name = name
        self.clock: Clock = clock or SystemClock()
        self.agents = AgentStates()  # as the platform has them
        self._listeners: list[ClosedListener] = []
        self._events: asyncio.Queue[PlatformEvent | None] = asyncio.Queue()
        self._up = False

    async def events(self) -> AsyncIterator[PlatformEvent]:
        while (event := await self._events.get()) is not None:
            yield event

    def on_closed(self, listener: ClosedListener) -> None:
        self._listeners.append(listener)

    def _emit(self, event: PlatformEvent) -> None:
        self._events.put_nowait(event)

    def _end_stream(self) -> None:
        """``events()`` ends (the connector stopped)."""
        self._events.put_nowait(None)

    async def _closed_by(self, ref: str, agent: str, disposition: str | None) -> None:
        """The agent closed ``ref``: the listeners hear of it, then the hub."""
        for listener in self._listeners:
            await listener(self.name, ref)
        self._emit(InteractionClosed(ref=ref, at=self.clock.now(), by="agent", agent=agent,
                                     disposition=disposition))

    async def set_agent_status(
        self, agent: str, status: AgentStatus, reason: str | None = None
    ) -> None:
        require(self, DigitalCapability.AGENT_STATE)
        if status is AgentStatus.BUSY:
            raise PlatformError("busy is set by the platform itself, not by a command",
                                code="bad-state")
        status, reason = self._as_platform_status(status, reason)
        if self.agents.change(agent, status, reason):
            self._emit(AgentStateChanged(at=self.clock.now(), device=agent, status=status,
                                         reason=reason))

    def _as_platform_status(self, status: AgentStatus,
                            reason: str | None) -> tuple[AgentStatus, str | None]:
        """The state as this platform keeps it (as asked, unless it has no such state)."""
        return status, reason
