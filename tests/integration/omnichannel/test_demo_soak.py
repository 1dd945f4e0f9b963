"""The default demo's traffic for a working day, on the fake clock (seconds of real time).

The demo's own settings (``Settings.demo_settings``) and traffic model
(``core.demotraffic``) drive the hub, the blended router, the telephony and
digital simulators. Three simulated agents work the day: bob and carol answer
calls and take chats and e-mails; alice answers her calls but never accepts
digital work (a new user trying the phone). Every ready agent must keep
getting calls, few callers may abandon, digital work alice lets ring must go
to the others or wait in the queue, and a queue must form now and then.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from ctibridge.clock import FakeClock
from ctibridge.config import Settings
from ctibridge.core.commands import Commands
from ctibridge.core.demotraffic import AT_WORK, Traffic, start_traffic
from ctibridge.core.hub import Hub
from ctibridge.core.omnichannel import Omnichannel
from ctibridge.core.permissions import Principal
from ctibridge.digital import registry as digital_registry
from ctibridge.model.agent import AgentStatus, Role
from ctibridge.model.errors import CtiError
from ctibridge.model.events import HubEvent
from ctibridge.model.party import Channel
from ctibridge.telephony import registry

HOURS = 8
MAX_ABANDON_RATE = 0.05  # of the calls placed
MIN_CALLS_PER_HOUR = 3  # answered by each agent at work, in every hour of the day
ANSWER_AFTER = 4.0  # seconds a simulated agent takes to pick up or accept
DIGITAL_HANDLING = {"chat": 240.0, "email": 300.0, "sms": 120.0}  # seconds, then closed


@dataclass
class Day:
    """What happened: answers per agent and hour, offers per item and agent, samples."""

    answered: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    accepted: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    offers: Counter[tuple[str, str]] = field(default_factory=Counter)  # (item, agent)
    busy_samples: int = 0
    work_samples: int = 0
    queue_seen: int = 0  # samples with calls or work waiting
    kept_from_calls: int = 0  # samples with a ready agent, no work taken, and a call waiting
    traffic: Traffic | None = None
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    @property
    def occupancy(self) -> float:
        return self.busy_samples / max(1, self.work_samples)

    @property
    def abandon_rate(self) -> float:
        assert self.traffic is not None
        gen = self.traffic.generator
        return gen.abandoned / max(1, gen.placed)


class SimulatedAgent:
    def __init__(self, hub: Hub, commands: Commands, clock: FakeClock, day: Day,
                 agent_id: str, *, takes_digital: bool) -> None:
        self.hub, self.commands, self.clock, self.day = hub, commands, clock, day
        self.agent_id = agent_id
        self.takes_digital = takes_digital
        self.me = Principal(agent_id, frozenset({Role.AGENT}), agent_id)

    def hour(self) -> int:
        return int((self.clock.now() - START).total_seconds() // 3600)

    async def do(self, op: str, **args: Any) -> bool:
        try:
            await self.commands.execute(self.me, op, args)
        except CtiError:  # the caller left, the offer moved on: as a person would, go on
            return False
        return True

    def heard(self, ev: HubEvent) -> None:
        if self.agent_id not in ev.agents:
            return
        if ev.name == "call.offered":
            call = ev.data["call"]
            mine = [c for c in call["connections"] if c.get("agent_id") == self.agent_id
                    and c["state"] == "alerting"]
            if mine:
                self.later(self.answer(call["call_id"]))
        elif ev.name == "interaction.offered":
            it = ev.data["interaction"]
            self.day.offers[(it["interaction_id"], self.agent_id)] += 1
            if self.takes_digital:
                self.later(self.take(it["interaction_id"], it["channel"]))

    def later(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.day.tasks.add(task)
        task.add_done_callback(self.day.tasks.discard)

    async def answer(self, call_id: str) -> None:
        await self.clock.sleep(ANSWER_AFTER)
        if await self.do("call.answer", call_id=call_id):
            self.day.answered[self.agent_id][self.hour()] += 1

    async def take(self, iid: str, channel: str) -> None:
        await self.clock.sleep(ANSWER_AFTER)
        if not await self.do("interaction.accept", interaction_id=iid):
            return
        self.day.accepted[self.agent_id][self.hour()] += 1
        await self.clock.sleep(DIGITAL_HANDLING[channel])
        await self.do("interaction.close", interaction_id=iid, disposition="resolved")


START = FakeClock().now()


async def work_a_day(settings: Settings, hours: float = HOURS,
                     at_work: tuple[str, ...] = ("alice", "bob", "carol")) -> Day:
    clock = FakeClock(START)
    conns = {spec.name: registry.build(spec, clock) for spec in settings.telephony}
    digital = {spec.name: digital_registry.build(spec, clock) for spec in settings.digital}
    hub = Hub(settings, conns, clock=clock)
    await hub.start()
    for conn in digital.values():
        await conn.start()
    omni = Omnichannel(hub, digital, settings, clock)
    await omni.start()
    await clock.advance(0)  # the platforms come up
    commands = Commands(hub)
    day = Day()
    agents = [SimulatedAgent(hub, commands, clock, day, a, takes_digital=a != "alice")
              for a in at_work]
    untap = hub.notifier.tap(lambda ev: [a.heard(ev) for a in agents])
    for a in agents:
        assert await a.do("agent.login") and await a.do("agent.ready")
    day.traffic = start_traffic(settings, hub, digital, clock)
    assert day.traffic is not None, "the demo places calls"
    try:
        for second in range(int(hours * 3600)):
            await clock.advance(1)
            if second % 10 == 0:
                sample(hub, omni, day)
    finally:
        untap()
        await day.traffic.stop()
        for task in list(day.tasks):
            task.cancel()
        await asyncio.gather(*day.tasks, return_exceptions=True)
        await omni.stop()
        for conn in digital.values():
            await conn.stop()
        with contextlib.suppress(Exception):
            await hub.stop()
    return day


def sample(hub: Hub, omni: Omnichannel, day: Day) -> None:
    taking = {it.agent_id for it in omni.live() if it.state == "active"}  # accepted work
    for agent in hub.agents.values():
        if agent.state.status not in AT_WORK:
            continue
        day.work_samples += 1
        if agent.state.status in (AgentStatus.BUSY, AgentStatus.WRAP_UP) \
                or agent.agent_id in taking:
            day.busy_samples += 1
    if any(s.waiting for s in omni.router.stats(hub.clock.now())):
        day.queue_seen += 1
    if any(i.channel == Channel.VOICE for i in omni.router.waiting()):
        day.kept_from_calls += sum(1 for a in hub.agents.values()
                                   if a.state.status == AgentStatus.READY and not a.calls
                                   and a.agent_id not in taking)


def demo_settings(**overrides: Any) -> Settings:
    # The demo as `ctibridge demo` runs it, without its CRM (not what is measured here).
    return Settings.demo_settings(crm=None, democrm=None, **overrides)


async def test_the_demo_keeps_every_ready_agent_working_for_eight_hours() -> None:
    day = await work_a_day(demo_settings())
    for agent in ("alice", "bob", "carol"):
        per_hour = [day.answered[agent][h] for h in range(HOURS)]
        assert min(per_hour) >= MIN_CALLS_PER_HOUR, f"{agent} answered {per_hour} calls per hour"
    assert day.abandon_rate < MAX_ABANDON_RATE, f"{day.abandon_rate:.1%} of callers abandoned"
    assert 0.6 <= day.occupancy <= 0.9, f"occupancy {day.occupancy:.0%}"
    assert day.queue_seen > 0, "no call or message ever waited: the demo shows no queue"
    assert day.kept_from_calls == 0, f"{day.kept_from_calls} samples: a ready agent, a call waiting"
    # Digital work alice lets ring goes to bob and carol, or waits, not back to her
    # every few seconds: after two misses an item waits minutes before trying her again.
    alice_offers = [n for (_, agent), n in day.offers.items() if agent == "alice"]
    assert alice_offers, "alice was never offered digital work"
    assert max(alice_offers) <= 5, f"one item was offered to alice {max(alice_offers)} times"
    for agent in ("bob", "carol"):
        per_hour = [day.accepted[agent][h] for h in range(HOURS)]
        assert sum(per_hour) >= HOURS, f"{agent} took digital work {per_hour} per hour"


async def test_a_new_user_alone_in_the_demo_keeps_getting_calls() -> None:
    # The usual first hour: alice alone, trying the phone, leaving chats and e-mails ring.
    day = await work_a_day(demo_settings(), hours=2, at_work=("alice",))
    per_hour = [day.answered["alice"][h] for h in range(2)]
    assert min(per_hour) >= 5, f"alice answered {per_hour} calls per hour"
    assert day.abandon_rate < MAX_ABANDON_RATE, f"{day.abandon_rate:.1%} of callers abandoned"
    # Digital work offered to her and not accepted never keeps a call from her.
    assert day.kept_from_calls == 0, f"{day.kept_from_calls} samples: a call waited for her"
    # What she leaves ringing waits in the queue, tried again less and less often
    # (30 s, 1, 2, 4, 8 min, then every 10 min), not every 50 s.
    assert day.offers, "alice was offered digital work"
    assert max(day.offers.values()) <= 20, f"an item rang {max(day.offers.values())} times"


async def test_the_check_fails_a_demo_whose_traffic_outgrows_its_agents() -> None:
    # The old demo: four calls a minute whoever is at work. Three agents cannot keep up.
    day = await work_a_day(demo_settings(traffic={"calls_per_minute": 4.0}), hours=1)
    assert day.abandon_rate > MAX_ABANDON_RATE, f"{day.abandon_rate:.1%} abandoned"
