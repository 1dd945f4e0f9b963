"""Router properties (hypothesis): capacity, availability, FIFO, re-offers, no starvation.

A small model of the hub drives the router with random operations — agents
going ready and not ready, items arriving, offers accepted, declined, left to
expire, customers leaving, work finishing — and checks every offer against
rules computed independently from the model's own bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctibridge.core.presence import DEFAULT_RULES, CapacityRules, make_rules
from ctibridge.core.router import Offer, QueueSpec, Router, Selection
from ctibridge.model.party import Channel

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CHANNELS = [Channel.VOICE, Channel.CHAT, Channel.EMAIL]
SKILLS = ["fr", "vip"]
DELAY = 30.0


@dataclass
class AgentModel:
    skills: frozenset[str]
    rules: CapacityRules
    ready: bool = True
    carried: list[tuple[str, Channel]] = field(default_factory=list)
    idle_since: float = 0.0


@dataclass
class Model:
    router: Router
    agents: dict[str, AgentModel]
    now: float = 0.0
    items: dict[str, tuple[str, Channel, int, frozenset[str], float]] = field(
        default_factory=dict)  # waiting or offered: queue, channel, priority, skills, enqueued
    offers: dict[str, Offer] = field(default_factory=dict)
    excluded: dict[str, dict[str, float]] = field(default_factory=dict)
    ever_offered: set[str] = field(default_factory=set)
    expired: set[str] = field(default_factory=set)
    n: int = 0

    def t(self) -> datetime:
        return T0 + timedelta(seconds=self.now)

    def sync(self, agent_id: str) -> None:
        a = self.agents[agent_id]
        load: dict[Channel, int] = {}
        for _, ch in a.carried:
            load[ch] = load.get(ch, 0) + 1
        self.router.set_agent(agent_id, skills=a.skills, rules=a.rules, ready=a.ready,
                              load=load, idle_since=T0 + timedelta(seconds=a.idle_since))

    def route(self) -> list[Offer]:
        waiting_before = {i for i in self.items if i not in self.offers}
        made = self.router.route(self.t())
        for k, o in enumerate(made):
            self.check_offer(o, waiting_before - {p.interaction_id for p in made[:k]})
            self.offers[o.interaction_id] = o
            self.ever_offered.add(o.interaction_id)
            self.expired.discard(o.interaction_id)
        return made

    def check_offer(self, o: Offer, waiting: set[str]) -> None:
        a = self.agents[o.agent_id]
        queue, channel, prio, skills, enq = self.items[o.interaction_id]
        assert o.interaction_id in waiting, "offered an item not waiting"
        # Never an offer to an unavailable agent, never beyond capacity or blocks.
        assert a.ready, f"offer to {o.agent_id} who is not ready"
        assert skills <= a.skills
        taken: dict[Channel, int] = {}
        for _, ch in a.carried:
            taken[ch] = taken.get(ch, 0) + 1
        pending: dict[Channel, int] = {}
        for other in self.offers.values():
            if other.agent_id == o.agent_id:
                pending[other.channel] = pending.get(other.channel, 0) + 1
        # Capacity counts taken work and unanswered offers; only taken work and a
        # ringing call (a voice offer) block other channels.
        used = taken.get(channel, 0) + pending.get(channel, 0)
        assert used < a.rules.capacity[channel], f"{o.agent_id} is full on {channel}"
        for blocker, blocked in a.rules.blocks.items():
            busy = taken.get(blocker, 0) + (pending.get(blocker, 0)
                                            if blocker == Channel.VOICE else 0)
            assert not (busy and blocker != channel and channel in blocked), \
                f"{o.agent_id}'s {blocker} blocks {channel}: {taken}, offered {pending}"
        # Not back to an agent who just refused it.
        assert self.excluded.get(o.interaction_id, {}).get(o.agent_id, -1) <= self.now
        # FIFO within a priority: nothing older of the same queue, channel and
        # priority that this agent could take is left waiting.
        for other in waiting - {o.interaction_id}:
            q2, ch2, p2, s2, e2 = self.items[other]
            if (q2, ch2, p2) == (queue, channel, prio) and e2 < enq and s2 <= a.skills \
                    and self.excluded.get(other, {}).get(o.agent_id, -1) <= self.now:
                raise AssertionError(f"{o.interaction_id} offered before older {other}")

    def enqueue(self, queue: QueueSpec, channel: Channel, prio: int | None,
                skills: frozenset[str]) -> None:
        iid = f"i{self.n}"
        self.n += 1
        self.router.enqueue(iid, channel, queue.name, self.t(), priority=prio, skills=skills)
        self.items[iid] = (queue.name, channel, queue.priority if prio is None else prio,
                           queue.skills | skills, self.now)

    def accept(self, iid: str) -> None:
        o = self.offers.pop(iid)
        self.router.accept(iid, o.agent_id, self.t())
        del self.items[iid]
        self.agents[o.agent_id].carried.append((iid, o.channel))
        self.sync(o.agent_id)

    def decline(self, iid: str) -> None:
        o = self.offers.pop(iid)
        self.router.decline(iid, o.agent_id, self.t())
        self.excluded.setdefault(iid, {})[o.agent_id] = self.now + DELAY

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for o in self.router.expire(self.t()):
            assert (o.offered_at + timedelta(seconds=self.router.queues[o.queue]
                                             .offer_timeout_seconds)) <= self.t()
            del self.offers[o.interaction_id]
            self.excluded.setdefault(o.interaction_id, {})[o.agent_id] = self.now + DELAY
            self.expired.add(o.interaction_id)
        for o in self.offers.values():  # nothing overdue is left behind
            assert o.expires_at > self.t()

    def finish(self, agent_id: str, k: int) -> None:
        a = self.agents[agent_id]
        if a.carried:
            a.carried.pop(k % len(a.carried))
            if not a.carried:
                a.idle_since = self.now
            self.sync(agent_id)

    def abandon(self, iid: str) -> None:
        withdrawn = self.router.remove(iid, self.t())
        assert (withdrawn is not None) == (iid in self.offers)
        self.offers.pop(iid, None)
        del self.items[iid]


capacities = st.fixed_dictionaries({
    Channel.VOICE: st.integers(0, 1), Channel.CHAT: st.integers(0, 3),
    Channel.EMAIL: st.integers(0, 2)})
blocks = st.fixed_dictionaries({
    Channel.VOICE: st.sets(st.sampled_from([Channel.CHAT, Channel.EMAIL])),
    Channel.CHAT: st.sets(st.sampled_from([Channel.VOICE, Channel.EMAIL])),
    Channel.EMAIL: st.sets(st.sampled_from([Channel.VOICE, Channel.CHAT]))})
agent_st = st.tuples(st.frozensets(st.sampled_from(SKILLS)), capacities, blocks)


@st.composite
def queue_st(draw: st.DrawFn, i: int) -> QueueSpec:
    return QueueSpec(
        f"q{i}", frozenset(draw(st.sets(st.sampled_from(CHANNELS), min_size=1))),
        frozenset(draw(st.sets(st.sampled_from(SKILLS), max_size=1))),
        draw(st.integers(0, 3)), draw(st.sampled_from([5.0, 20.0, 60.0])),
        draw(st.sampled_from([5.0, 15.0])), draw(st.sampled_from(list(Selection))))


op_st = st.one_of(
    st.tuples(st.just("enqueue"), st.integers(0, 9), st.integers(0, 9),
              st.one_of(st.none(), st.integers(0, 4)),
              st.frozensets(st.sampled_from(SKILLS), max_size=1)),
    st.tuples(st.just("route")),
    st.tuples(st.just("accept"), st.integers(0, 99)),
    st.tuples(st.just("decline"), st.integers(0, 99)),
    st.tuples(st.just("advance"), st.sampled_from([0.5, 3.0, 10.0, 40.0])),
    st.tuples(st.just("finish"), st.integers(0, 9), st.integers(0, 9)),
    st.tuples(st.just("toggle"), st.integers(0, 9)),
    st.tuples(st.just("abandon"), st.integers(0, 99)),
)


@st.composite
def scenario(draw: st.DrawFn) -> tuple[list[QueueSpec], list[tuple], list[tuple]]:
    nq = draw(st.integers(1, 3))
    queues = [draw(queue_st(i)) for i in range(nq)]
    agents = draw(st.lists(agent_st, min_size=1, max_size=6))
    ops = draw(st.lists(op_st, max_size=60))
    return queues, agents, ops


def build(queues: list[QueueSpec], agents: list[tuple]) -> Model:
    m = Model(Router(queues, reoffer_delay_seconds=DELAY), {})
    for i, (skills, cap, blk) in enumerate(agents):
        m.agents[f"a{i}"] = AgentModel(skills, make_rules(cap, blk))
        m.sync(f"a{i}")
    return m


def run(m: Model, queues: list[QueueSpec], ops: list[tuple], auto_route: bool = True) -> None:
    for op in ops:
        kind = op[0]
        if kind == "enqueue":
            q = queues[op[1] % len(queues)]
            ch = sorted(q.channels)[op[2] % len(q.channels)]
            m.enqueue(q, ch, op[3], op[4])
        elif kind == "route":
            m.route()
        elif kind in ("accept", "decline") and m.offers:
            iid = sorted(m.offers)[op[1] % len(m.offers)]
            (m.accept if kind == "accept" else m.decline)(iid)
        elif kind == "advance":
            m.advance(op[1])
        elif kind == "finish":
            m.finish(f"a{op[1] % len(m.agents)}", op[2])
        elif kind == "toggle":
            aid = f"a{op[1] % len(m.agents)}"
            m.agents[aid].ready = not m.agents[aid].ready
            m.sync(aid)
        elif kind == "abandon" and m.items:
            m.abandon(sorted(m.items)[op[1] % len(m.items)])
        if auto_route:  # the hub routes after every change
            m.route()


PROPS = settings(max_examples=120, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROPS
@given(scenario())
def test_offers_respect_capacity_readiness_refusals_and_fifo(
        sc: tuple[list[QueueSpec], list[tuple], list[tuple]]) -> None:
    queues, agents, ops = sc
    m = build(queues, agents)
    run(m, queues, ops)  # every offer is checked as it is made
    m = build(queues, agents)
    run(m, queues, ops, auto_route=False)  # and with work piling up between routings


@PROPS
@given(scenario())
def test_every_waiting_item_is_eventually_offered_while_agents_are_available(
        sc: tuple[list[QueueSpec], list[tuple], list[tuple]]) -> None:
    """No starvation, and timed-out or declined items come back: after any history,
    with agents able to take everything, every item left is offered (and answered)."""
    queues, agents, ops = sc
    m = build(queues, agents)
    run(m, queues, ops)
    for aid, a in m.agents.items():
        a.ready, a.skills, a.rules = True, frozenset(SKILLS), DEFAULT_RULES
        m.sync(aid)
    left = set(m.items)
    expired_then = set(m.expired)
    for _ in range(500):
        if not m.items:
            break
        m.route()
        for iid in sorted(m.offers):
            m.accept(iid)
        for aid in m.agents:
            while m.agents[aid].carried:
                m.finish(aid, 0)
        m.advance(10.0)
    assert not m.items, f"never offered: {sorted(m.items)}"
    assert left <= m.ever_offered and expired_then <= m.ever_offered


@settings(max_examples=150, deadline=None)
@given(p_high=st.integers(0, 5), gap=st.integers(0, 5), sl_low=st.sampled_from([5.0, 20.0, 90.0]),
       sl_high=st.sampled_from([5.0, 20.0, 90.0]), step=st.sampled_from([1.0, 4.0, 15.0]))
def test_ageing_lets_a_low_priority_item_through_a_flood_of_urgent_work_in_bounded_time(
        p_high: int, gap: int, sl_low: float, sl_high: float, step: float) -> None:
    low = QueueSpec("low", frozenset({Channel.VOICE}), priority=p_high - gap, sl_seconds=sl_low)
    high = QueueSpec("high", frozenset({Channel.VOICE}), priority=p_high, sl_seconds=sl_high)
    r = Router([low, high])
    r.set_agent("solo", ready=True, idle_since=T0)
    r.enqueue("patient", Channel.VOICE, "low", T0)
    now, n = 0.0, 0
    while True:
        t = T0 + timedelta(seconds=now)
        r.enqueue(f"urgent{n}", Channel.VOICE, "high", t)  # one fresh urgent item per step
        n += 1
        [offer] = r.route(t)
        if offer.interaction_id == "patient":
            break
        r.accept(offer.interaction_id, "solo", t)
        r.set_agent("solo", ready=True, load={}, idle_since=t)
        now += step
        # Urgent work never waits more than a step, so ageing must win by gap x SL.
        assert now <= gap * sl_low + step, "the low-priority item starves"


@settings(max_examples=100, deadline=None)
@given(n_agents=st.integers(2, 6), idle=st.lists(st.integers(0, 100), min_size=6, max_size=6),
       refusals=st.integers(1, 5))
def test_declined_and_timed_out_items_do_not_return_to_the_same_agent_first(
        n_agents: int, idle: list[int], refusals: int) -> None:
    r = Router([QueueSpec("q", frozenset({Channel.VOICE}), offer_timeout_seconds=10)],
               reoffer_delay_seconds=60)
    for i in range(n_agents):
        r.set_agent(f"a{i}", ready=True, idle_since=T0 + timedelta(seconds=idle[i]))
    now = T0 + timedelta(seconds=200)
    r.enqueue("x", Channel.VOICE, "q", now)
    refused: list[str] = []
    for k in range(min(refusals, n_agents - 1)):
        [offer] = r.route(now)
        assert offer.agent_id not in refused
        refused.append(offer.agent_id)
        if k % 2:
            r.decline("x", offer.agent_id, now)
        else:
            now += timedelta(seconds=10)
            assert [o.interaction_id for o in r.expire(now)] == ["x"]
    [offer] = r.route(now)
    assert offer.agent_id not in refused and offer.attempt == len(refused) + 1
