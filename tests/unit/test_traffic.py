"""Simulated customers: Poisson arrivals, talk, patience, and no call left behind."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Sequence

import pytest

from ctibridge.clock import FakeClock
from ctibridge.model.agent import AgentStatus
from ctibridge.model.errors import PlatformError
from ctibridge.model.events import (
    CallAnswered,
    CallEnded,
    CallOffered,
    CallQueued,
    PlatformEvent,
)
from ctibridge.telephony.simulator import SimulatorConnector, TrafficGenerator


class Agents:
    """What the hub and its agents do: answer after a while, ready again after each call."""

    def __init__(self, sim: SimulatorConnector, clock: FakeClock, devices: Sequence[str],
                 answer_after: float = 2.0) -> None:
        self.sim, self.clock, self.devices = sim, clock, tuple(devices)
        self.answer_after = answer_after
        self.events: list[PlatformEvent] = []
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        for d in self.devices:
            await self.sim.set_agent_state(d, AgentStatus.READY)
        async for event in self.sim.events():
            self.events.append(event)
            if isinstance(event, CallOffered) and event.device in self.devices:
                asyncio.create_task(self._answer(event))
            elif isinstance(event, CallEnded):
                for d in self.devices:
                    if self.sim.device_state(d).after_call:
                        await self.sim.set_agent_state(d, AgentStatus.READY)

    async def _answer(self, offer: CallOffered) -> None:
        await self.clock.sleep(self.answer_after)
        with contextlib.suppress(PlatformError):  # the caller left, or it rang elsewhere
            await self.sim.answer(offer.ref, offer.device)

    def of(self, kind: type) -> list[PlatformEvent]:
        return [e for e in self.events if isinstance(e, kind)]


async def drive(clock: FakeClock, task: asyncio.Task[None], limit: float = 10_000) -> None:
    """Move time a second at a time until ``task`` is over."""
    waited = 0.0
    while not task.done():
        await clock.advance(1)
        waited += 1
        assert waited < limit, "the traffic never finished"
    await task


async def started(clock: FakeClock, **kw: object) -> SimulatorConnector:
    sim = SimulatorConnector(clock=clock, **kw)  # type: ignore[arg-type]
    await sim.start()
    return sim


async def test_a_fixed_rate_gives_the_expected_arrivals_and_every_call_ends() -> None:
    clock = FakeClock()
    sim = await started(clock)
    agents = Agents(sim, clock, sim.devices)
    gen = TrafficGenerator(sim, clock=clock, seed=1, calls_per_second=0.1,
                           handle_time=(30, 10), patience=(60, 20))
    await drive(clock, asyncio.create_task(gen.run(duration=1200)))

    # 0.1 call/s for 20 minutes: about 120 callers (Poisson, sd ~11).
    assert 96 <= gen.placed <= 144
    queued = agents.of(CallQueued)
    assert len(queued) == gen.placed
    gaps = [(b.at - a.at).total_seconds() for a, b in zip(queued, queued[1:], strict=False)]
    assert 8 <= statistics.mean(gaps) <= 12
    assert max(e.at for e in queued) <= clock.now()
    # Two agents' worth of load on four: nearly everyone is answered and talks.
    assert gen.answered + gen.abandoned == gen.placed
    assert gen.answered >= 0.9 * gen.placed and gen.completed == gen.answered
    ended = [e for e in agents.of(CallEnded) if e.device is None]
    assert len(ended) == gen.placed
    assert {e.cause for e in ended} <= {"customer-hangup", "abandoned"}
    assert sim.live_calls() == () and gen.in_flight == 0
    await sim.stop()


async def test_talk_time_follows_the_handle_time() -> None:
    clock = FakeClock()
    sim = await started(clock, devices=[str(d) for d in range(30)])
    agents = Agents(sim, clock, sim.devices, answer_after=0.5)
    gen = TrafficGenerator(sim, clock=clock, seed=5, calls_per_second=0.5,
                           handle_time=(40, 10), patience=(300, 10))
    await drive(clock, asyncio.create_task(gen.run(duration=400)))
    answered = {e.ref: e.at for e in agents.of(CallAnswered)}
    talk = [(e.at - answered[e.ref]).total_seconds() for e in agents.of(CallEnded)
            if e.device is None and e.ref in answered]
    assert len(talk) > 150
    assert 36 <= statistics.mean(talk) <= 44
    assert 7 <= statistics.stdev(talk) <= 13
    await sim.stop()


async def test_callers_nobody_answers_abandon_after_their_patience() -> None:
    clock = FakeClock()
    sim = await started(clock)
    agents = Agents(sim, clock, ())  # nobody logged in
    gen = TrafficGenerator(sim, clock=clock, seed=2, calls_per_second=0.5,
                           handle_time=(30, 10), patience=(20, 5))
    await drive(clock, asyncio.create_task(gen.run(duration=120)))
    assert gen.placed > 40 and gen.abandoned == gen.placed and gen.answered == 0
    queued = {e.ref: e.at for e in agents.of(CallQueued)}
    waits = [(e.at - queued[e.ref]).total_seconds() for e in agents.of(CallEnded)]
    assert len(waits) == gen.placed
    assert {e.cause for e in agents.of(CallEnded)} == {"abandoned"}  # type: ignore[attr-defined]
    assert 16 <= statistics.mean(waits) <= 24
    assert sim.live_calls() == ()
    await sim.stop()


async def test_cancelling_the_traffic_hangs_up_the_callers_still_on_the_line() -> None:
    clock = FakeClock()
    sim = await started(clock)
    agents = Agents(sim, clock, sim.devices[:2])
    gen = TrafficGenerator(sim, clock=clock, seed=3, calls_per_second=0.2,
                           handle_time=(600, 10), patience=(600, 10))
    run = asyncio.create_task(gen.run())
    for _ in range(120):
        await clock.advance(1)
    assert len(sim.live_calls()) > 5  # some talking, some waiting
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    await clock.advance(1)
    assert sim.live_calls() == () and gen.in_flight == 0
    causes = {e.cause for e in agents.of(CallEnded) if e.device is None}  # type: ignore[attr-defined]
    assert causes == {"customer-hangup", "abandoned"}
    await sim.stop()


async def test_queue_weights_share_the_callers() -> None:
    clock = FakeClock()
    sim = await started(clock)
    agents = Agents(sim, clock, ())
    gen = TrafficGenerator(sim, clock=clock, seed=4, calls_per_second=2,
                           handle_time=(30, 10), patience=(5, 1),
                           queues={"support": 3, "sales": 1})
    await drive(clock, asyncio.create_task(gen.run(duration=300)))
    queues = [e.queue for e in agents.of(CallQueued)]  # type: ignore[attr-defined]
    assert 0.68 <= queues.count("support") / len(queues) <= 0.82
    assert 500 <= len(queues) <= 700
    await sim.stop()


async def test_the_same_seed_replays_the_same_traffic() -> None:
    async def run(seed: int) -> list[PlatformEvent]:
        clock = FakeClock()
        sim = await started(clock, seed=9)
        agents = Agents(sim, clock, sim.devices[:2])
        gen = TrafficGenerator(sim, clock=clock, seed=seed, calls_per_second=0.2,
                               handle_time=(20, 5), patience=(30, 10))
        await drive(clock, asyncio.create_task(gen.run(duration=200)))
        await sim.stop()
        return agents.events

    first = await run(1)
    assert first == await run(1)
    assert first != await run(2)


def test_bad_settings_are_refused() -> None:
    sim = SimulatorConnector(clock=FakeClock())
    with pytest.raises(ValueError, match="calls_per_second"):
        TrafficGenerator(sim, calls_per_second=0)
    with pytest.raises(ValueError, match="unknown queue"):
        TrafficGenerator(sim, queues={"vip": 1.0})
    with pytest.raises(ValueError, match="handle_time"):
        TrafficGenerator(sim, handle_time=(0, 1))
    with pytest.raises(ValueError, match="weights"):
        TrafficGenerator(sim, queues={"support": 0})


async def test_a_call_lifecycle_costs_the_simulator_little() -> None:
    """The benchmark needs >= 500 lifecycles/s through the whole hub on one core;
    the simulator's share must stay a small fraction of that."""
    sim = await started(FakeClock(), devices=[str(2000 + i) for i in range(50)],
                        queues=["support"])
    for d in sim.devices:
        await sim.set_agent_state(d, AgentStatus.READY)
    n = 3000
    began = time.process_time()
    for i in range(n):
        ref = sim.customer_calls("support")
        view = sim.call_state(ref)
        assert view is not None
        [device] = view.legs
        await sim.answer(ref, device)
        sim.customer_hangs_up(ref)
        await sim.set_agent_state(device, AgentStatus.READY)
        if i % 100 == 0:
            await asyncio.sleep(0)  # let cancelled ring timers go
    per_call = (time.process_time() - began) / n
    assert per_call < 0.0005, f"{per_call * 1e6:.0f} µs per call lifecycle"
    await sim.stop()


async def test_a_scaled_generator_places_no_call_while_nobody_is_at_work() -> None:
    clock = FakeClock()
    sim = await started(clock)
    share = {"now": 0.0}
    gen = TrafficGenerator(sim, clock=clock, seed=3, calls_per_second=0.5,
                           scale=lambda: share["now"])
    task = asyncio.create_task(gen.run())
    for _ in range(600):
        await clock.advance(1)
    assert gen.placed == 0
    share["now"] = 1.0
    for _ in range(600):
        await clock.advance(1)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert 240 <= gen.placed <= 360  # about 300 in 10 minutes at 0.5 a second


def test_demo_calls_are_sized_to_the_agents_at_work() -> None:
    from ctibridge.config import Settings
    from ctibridge.core.demotraffic import calls_per_second, erlang_c, sized_load

    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # one server: P(wait) = load
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # Enough agents: the occupancy cap; few: the service level (80% within 30 s) binds.
    assert sized_load(10, 0.6, 90) == pytest.approx(6.0)
    assert sized_load(1, 0.6, 90) == pytest.approx(0.256, abs=0.002)
    assert sized_load(0, 0.6, 90) == 0
    settings = Settings.demo_settings(crm=None, democrm=None)
    per_agent = [calls_per_second(settings, n) / n * 3600 for n in (1, 2, 3)]
    assert per_agent == sorted(per_agent)  # alone, fewer calls each than in a team
    assert per_agent[2] < 0.6 * 3600 / 90  # never beyond the occupancy
