"""Simulated customers for the demo, sized to the agents at work.

``settings.traffic`` names a simulator and either a fixed ``calls_per_minute``
or an ``occupancy``. With ``occupancy`` the calls follow the number of agents
at work (ready, on a call or in wrap-up; an agent on a break or logged out
brings no calls): the offered load, in erlangs (calls per second × the time a
call takes, talk and wrap-up), is the largest that

- keeps the agents busy at most ``occupancy`` of their time, and
- by Erlang C would have 80% of callers answered within 30 s if calls were
  the agents' only work (:data:`SERVICE_LEVEL`).

So thirty agents get ``occupancy``; one agent alone, who cannot share a
queue with colleagues, gets about a quarter of their time, not a backlog that
makes callers give up. The simulated digital platforms follow the same share
of their configured rate. The rate is read at every arrival (thinning of a
Poisson process at the rate of every agent at work), so it follows agents
logging in and out.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from ..model.agent import AgentStatus

if TYPE_CHECKING:
    from ..clock import Clock
    from ..config import Settings
    from ..telephony.simulator import TrafficGenerator
    from .hub import Hub

log = structlog.get_logger("ctibridge.traffic")

AT_WORK = frozenset({AgentStatus.READY, AgentStatus.BUSY, AgentStatus.WRAP_UP})


# (share answered, within seconds): the service level the sizing aims at.
SERVICE_LEVEL = (0.8, 30.0)


def at_work(hub: Hub) -> int:
    return sum(1 for a in hub.agents.values() if a.state.status in AT_WORK)


def erlang_c(agents: int, erlangs: float) -> float:
    """Probability that a caller waits (Erlang C), ``erlangs`` of load on ``agents``."""
    if erlangs >= agents:
        return 1.0
    term, total = 1.0, 1.0  # a^k / k!, summed for k < agents
    for k in range(1, agents):
        term *= erlangs / k
        total += term
    top = term * erlangs / agents * agents / (agents - erlangs)
    return top / (total + top)


def sized_load(agents: int, occupancy: float, call_seconds: float) -> float:
    """Erlangs for ``agents`` at work: at most ``occupancy`` each, and the service level."""
    if agents <= 0:
        return 0.0
    share, within = SERVICE_LEVEL

    def meets(a: float) -> bool:
        waits = erlang_c(agents, a) * math.exp(-(agents - a) * within / call_seconds)
        return 1.0 - waits >= share

    lo, hi = 0.0, agents * occupancy
    if meets(hi):
        return hi
    for _ in range(40):  # bisection: the service level falls as the load grows
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if meets(mid) else (lo, mid)
    return lo


def calls_per_second(settings: Settings, agents: int) -> float:
    """The rate with ``agents`` at work (a fixed rate ignores them)."""
    t = settings.traffic
    if t is None:
        return 0.0
    if t.occupancy is None:
        return (t.calls_per_minute or 0.0) / 60.0
    call_seconds = t.handle_time_seconds + settings.wrap_up_seconds
    return sized_load(agents, t.occupancy, call_seconds) / call_seconds


def share_at_work(settings: Settings, hub: Hub) -> Callable[[], float]:
    """The rate for the agents at work now, as a share of the rate with all of them."""
    full = calls_per_second(settings, len(hub.agents))
    rates = {n: calls_per_second(settings, n) / full if full else 0.0
             for n in range(len(hub.agents) + 1)}
    return lambda: rates[at_work(hub)]


@dataclass
class Traffic:
    generator: TrafficGenerator
    task: asyncio.Task[None]

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task


def start_traffic(settings: Settings, hub: Hub, digital: Mapping[str, Any],
                  clock: Clock) -> Traffic | None:
    """Start the configured traffic; None when there is none (or no simulator to call)."""
    from ..digital.simulator import DigitalSimulator
    from ..telephony.simulator import SimulatorConnector, TrafficGenerator

    t = settings.traffic
    if t is None:
        return None
    rate = calls_per_second(settings, len(hub.agents))
    scaled = t.occupancy is not None
    if scaled:
        for conn in digital.values():
            if isinstance(conn, DigitalSimulator):
                conn.scale = share_at_work(settings, hub)
    if rate <= 0:
        return None
    sim = hub.connectors.get(t.platform)
    if not isinstance(sim, SimulatorConnector):
        log.warning("traffic.skipped", reason=f"{t.platform} is not a simulator")
        return None
    gen = TrafficGenerator(
        sim, clock=clock, calls_per_second=rate,
        handle_time=(t.handle_time_seconds, t.handle_time_seconds / 3),
        patience=(t.patience_seconds, t.patience_seconds / 3),
        scale=share_at_work(settings, hub) if scaled else None,
    )
    log.info("traffic.started", platform=t.platform,
             calls_per_minute_all_at_work=round(rate * 60, 2), sized_to_agents=scaled)
    return Traffic(gen, asyncio.create_task(gen.run(), name="traffic"))
