"""Router benchmark: routing decisions per second with 1,000 agents and 10,000 waiting items.

    .venv/bin/python bench/router.py [--agents 1000] [--waiting 10000] [--decisions 5000]

Steady state of a busy contact center: every agent is full, 10,000 items wait
in 4 universal queues (voice, chat, email; some needing a language skill);
one agent at a time finishes a piece of work and the router is asked to
route. A *decision* is one offer made. The baseline, run in the same process
on the same state, is the plain approach: sort the waiting list by effective
priority and scan the agents sorted by idle time for the first who fits
(the same policy, without indexes). The ratio is what counts, since
absolute figures on these machines are noisy.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

from ctibridge.core.presence import DEFAULT_RULES
from ctibridge.core.router import QueueSpec, Router, Selection
from ctibridge.model.party import Channel

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
V, C, E = Channel.VOICE, Channel.CHAT, Channel.EMAIL
QUEUES = [
    QueueSpec("support", frozenset({V, C, E}), priority=0, sl_seconds=30),
    QueueSpec("sales", frozenset({V, C}), priority=1, sl_seconds=20),
    QueueSpec("support-fr", frozenset({V, C, E}), skills=frozenset({"fr"}), sl_seconds=30),
    QueueSpec("billing", frozenset({V, E}), priority=0, sl_seconds=60,
              selection=Selection.LEAST_LOADED),
]


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def setup(n_agents: int, n_waiting: int, seed: int) -> tuple[Router, dict, list]:
    rnd = random.Random(seed)
    r = Router(QUEUES)
    agents = {}
    for i in range(n_agents):
        skills = {"fr"} if rnd.random() < 0.3 else set()
        ch = rnd.choice([V, V, C, E])  # what they are busy with
        load = {ch: DEFAULT_RULES.capacity[ch]}
        agents[f"a{i:04d}"] = [skills, load, float(rnd.randint(0, 600))]
        r.set_agent(f"a{i:04d}", skills=skills, ready=True, load=load, idle_since=at(0))
    items = []
    for n in range(n_waiting):
        q = rnd.choice(QUEUES)
        ch = rnd.choice(sorted(q.channels))
        t = rnd.uniform(0, 600)
        r.enqueue(f"i{n}", ch, q.name, at(t))
        items.append((f"i{n}", ch, q, q.priority, t))
    return r, agents, items


def run_router(r: Router, agents: dict, decisions: int, seed: int) -> tuple[float, int]:
    rnd = random.Random(seed)
    ids = sorted(agents)
    now, spent, made = 600.0, 0.0, 0
    while made < decisions:
        aid = rnd.choice(ids)
        skills, load, _ = agents[aid]
        now += 0.01
        r.set_agent(aid, skills=skills, ready=True, load={}, idle_since=at(now))
        t0 = time.perf_counter()
        offers = r.route(at(now))
        spent += time.perf_counter() - t0
        for o in offers:
            r.accept(o.interaction_id, o.agent_id, at(now))
            agents[o.agent_id][1] = {o.channel: DEFAULT_RULES.capacity[o.channel]}
            r.set_agent(o.agent_id, skills=agents[o.agent_id][0], ready=True,
                        load=agents[o.agent_id][1], idle_since=at(now))
        made += len(offers)
    return spent, made


def baseline_pick(items: list, agents: dict, free: dict, now: float, ageing: float = 1.0
                  ) -> tuple[int, str] | None:
    """Sort every waiting item, then scan agents by idle time for the first who fits."""
    order = sorted(range(len(items)), key=lambda k: (
        -(items[k][3] + ageing * (now - items[k][4]) / items[k][2].sl_seconds), items[k][4]))
    by_idle = sorted(free, key=lambda a: agents[a][2])
    for k in order:
        _, ch, q, _, _ = items[k]
        for a in by_idle:
            if ch in free[a] and q.skills <= agents[a][0]:
                return k, a
    return None


def run_baseline(agents: dict, items: list, decisions: int, seed: int) -> tuple[float, int]:
    rnd = random.Random(seed)
    items = list(items)
    ids = sorted(agents)
    free: dict[str, set[Channel]] = {}
    now, spent, made = 600.0, 0.0, 0
    while made < decisions:
        aid = rnd.choice(ids)
        free[aid] = {V, C, E}
        now += 0.01
        t0 = time.perf_counter()
        pick = baseline_pick(items, agents, free, now)
        spent += time.perf_counter() - t0
        if pick is not None:
            k, a = pick
            items.pop(k)
            del free[a]
            made += 1
    return spent, made


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--agents", type=int, default=1000)
    p.add_argument("--waiting", type=int, default=10000)
    p.add_argument("--decisions", type=int, default=5000)
    p.add_argument("--baseline-decisions", type=int, default=200)
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args()

    t0 = time.perf_counter()
    r, agents, items = setup(a.agents, a.waiting, a.seed)
    print(f"setup: {a.agents} agents, {a.waiting} waiting items in {len(QUEUES)} queues "
          f"({time.perf_counter() - t0:.2f} s)")
    spent, made = run_router(r, agents, a.decisions, a.seed)
    per = spent / made
    print(f"router:   {made} decisions in {spent * 1e3:8.1f} ms -> {made / spent:10.0f}/s, "
          f"{per * 1e6:8.1f} us/decision")

    _, agents_b, items_b = setup(a.agents, a.waiting, a.seed)
    bspent, bmade = run_baseline(agents_b, items_b, a.baseline_decisions, a.seed)
    bper = bspent / bmade
    print(f"baseline: {bmade} decisions in {bspent * 1e3:8.1f} ms -> {bmade / bspent:10.0f}/s, "
          f"{bper * 1e6:8.1f} us/decision (sorted list + agent scan)")
    print(f"ratio: the router decides {bper / per:.0f}x faster than the sorted-list pick")

    # A burst: everyone becomes free at once (start of shift) and one route() fills them.
    r2, agents2, _ = setup(a.agents, a.waiting, a.seed)
    for aid, (skills, _, _) in agents2.items():
        r2.set_agent(aid, skills=skills, ready=True, load={}, idle_since=at(0))
    t0 = time.perf_counter()
    burst = r2.route(at(600))
    dt = time.perf_counter() - t0
    print(f"burst:    one route() made {len(burst)} offers in {dt * 1e3:.1f} ms "
          f"({dt / max(1, len(burst)) * 1e6:.1f} us/decision)")
    stats = r2.stats(at(600))
    print("queues:   " + ", ".join(f"{s.queue} {s.waiting} waiting" for s in stats))


if __name__ == "__main__":
    main()
