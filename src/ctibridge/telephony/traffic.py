"""Simulated customers calling a :class:`~ctibridge.telephony.simulator.SimulatorConnector`.

Arrivals are Poisson at ``calls_per_second``; once answered a customer talks
for a log-normal ``handle_time`` (mean, sd) then hangs up; not answered within
a log-normal ``patience``, they abandon. With ``scale`` (a share in [0, 1]
read at each arrival, e.g. of the agents at work) the rate follows it: arrivals
come at ``calls_per_second`` × scale (thinning). It only uses the simulator's world
API and the clock, and keeps per-call work small (numbers come from the
simulator's pre-built pool) so a benchmark can push hundreds of calls a second.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import math
import random
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from ..clock import Clock

if TYPE_CHECKING:
    from .simulator import SimulatorConnector


def _lognormal(mean_sd: tuple[float, float], what: str) -> tuple[float, float]:
    """(mu, sigma) of the log-normal with this mean and standard deviation."""
    mean, sd = mean_sd
    if mean <= 0 or sd < 0:
        raise ValueError(f"{what} needs a positive mean and a non-negative sd, not {mean_sd}")
    sigma2 = math.log1p((sd / mean) ** 2)
    return math.log(mean) - sigma2 / 2, math.sqrt(sigma2)


class TrafficGenerator:
    """Customers for the simulator. ``run()`` until cancelled, or ``run(duration=s)``."""

    def __init__(
        self,
        sim: SimulatorConnector,
        *,
        clock: Clock | None = None,
        seed: int | None = None,
        calls_per_second: float = 0.1,
        handle_time: tuple[float, float] = (90.0, 30.0),
        patience: tuple[float, float] = (120.0, 40.0),
        queues: Mapping[str, float] | Sequence[str] | None = None,
        scale: Callable[[], float] | None = None,
    ) -> None:
        if calls_per_second <= 0:
            raise ValueError(f"calls_per_second must be positive, not {calls_per_second}")
        self.sim = sim
        self.clock = clock or sim.clock
        self.rate = calls_per_second
        self.scale = scale
        self._rng = random.Random(sim.seed + 1 if seed is None else seed)
        self._handle = _lognormal(handle_time, "handle_time")
        self._patience = _lognormal(patience, "patience")
        weights = _queue_weights(queues, sim.queues)
        self._queue_names = list(weights)
        self._cum_weights = list(itertools.accumulate(weights.values()))
        self.placed = 0
        self.answered = 0
        self.abandoned = 0
        self.completed = 0  # answered, then the customer hung up
        self._in_flight: dict[str, asyncio.Task[None]] = {}

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def run(self, duration: float | None = None) -> None:
        """Place calls; with ``duration``, stop placing then wait for every customer.

        Cancelled, the customers still on the line hang up at once, so no
        call is left behind in the simulator.
        """
        start = self.clock.now()
        due = 0.0  # seconds after start of the next arrival
        try:
            while True:
                due += self._rng.expovariate(self.rate)
                if duration is not None and due >= duration:
                    break
                # Sleep to an absolute schedule so the rate holds even when we run late.
                await self.clock.sleep(due - (self.clock.now() - start).total_seconds())
                if self.scale is None or self._rng.random() < self.scale():
                    self._place()
            while self._in_flight:
                await asyncio.wait(list(self._in_flight.values()))
        finally:
            for ref, task in list(self._in_flight.items()):
                task.cancel()
                self.sim.customer_hangs_up(ref)
            self._in_flight.clear()

    def _place(self) -> None:
        queue = self._rng.choices(self._queue_names, cum_weights=self._cum_weights)[0]
        patience = self._rng.lognormvariate(*self._patience)
        handle = self._rng.lognormvariate(*self._handle)
        ref = self.sim.customer_calls(queue)
        self.placed += 1
        task = asyncio.get_running_loop().create_task(self._customer(ref, patience, handle))
        self._in_flight[ref] = task
        task.add_done_callback(functools.partial(self._gone, ref))

    def _gone(self, ref: str, _task: asyncio.Task[None]) -> None:
        self._in_flight.pop(ref, None)

    async def _customer(self, ref: str, patience: float, handle: float) -> None:
        answered = self.sim.wait_answered(ref)
        if not answered.done():
            timer = asyncio.get_running_loop().create_task(self.clock.sleep(patience))
            try:
                await asyncio.wait((answered, timer), return_when=asyncio.FIRST_COMPLETED)
            finally:
                timer.cancel()
        if not answered.done():
            self.abandoned += 1
            self.sim.customer_hangs_up(ref)
        elif answered.result():
            self.answered += 1
            await self.clock.sleep(handle)
            self.completed += 1
            self.sim.customer_hangs_up(ref)  # a no-op if the agent hung up first
        # else: the call ended before anyone answered (not the customer's doing)


def _queue_weights(
    queues: Mapping[str, float] | Sequence[str] | None, known: Sequence[str]
) -> dict[str, float]:
    if queues is None:
        weights = {q: 1.0 for q in known}
    elif isinstance(queues, Mapping):
        weights = {str(q): float(w) for q, w in queues.items()}
    else:
        weights = {str(q): 1.0 for q in queues}
    unknown = [q for q in weights if q not in known]
    if unknown:
        raise ValueError(f"unknown queue(s) {', '.join(unknown)}; known: {', '.join(known)}")
    if not weights or any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise ValueError("queue weights must be non-negative with a positive total")
    return weights
