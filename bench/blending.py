"""Blending simulation: one universal queue for everyone vs separate voice and digital pools.

    .venv/bin/python bench/blending.py [--agents 100] [--interactions 1000] [--seed 1]

Deterministic (seeded) discrete-event simulation on virtual time: the router
is pure and takes ``now`` as an argument, so no clock runs. 1,000 interactions
arrive as a Poisson stream (55% voice, 30% chat, 15% email) at a rate that
asks 95% of 100 agents' capacity (``--load``); handle times
are log-normal (voice mean 5 min, chat 10 min with up to 3 at once, email
8 min with up to 2); agents answer offers at once.

- **blended**: every agent takes every channel, with the default capacity
  rules (a call blocks digital work, chats block voice, email blocks nothing);
  voice has the tightest target (20 s), chat 60 s, email 1 h.
- **separate**: the same agents split in a voice pool and a digital pool in
  proportion to the work each brings (what a center without blending does).

Printed per mode and channel: waiting time p50/p90, service level (% offered
within the channel's target) and occupancy (share of time an agent carries
at least one interaction while work arrives), then blended/separate ratios.
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from stats import pct  # noqa: E402  (bench/stats.py: benchmarks run as scripts)

from ctibridge.core.presence import DEFAULT_RULES, CapacityRules, make_rules
from ctibridge.core.router import QueueSpec, Router
from ctibridge.model.party import Channel

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
V, C, E = Channel.VOICE, Channel.CHAT, Channel.EMAIL
MIX = [(V, 0.55), (C, 0.30), (E, 0.15)]
HANDLE = {V: (300.0, 0.6), C: (600.0, 0.5), E: (480.0, 0.8)}  # mean seconds, log sigma
QUEUES = [
    QueueSpec("voice", frozenset({V}), priority=2, sl_seconds=20),
    QueueSpec("chat", frozenset({C}), priority=1, sl_seconds=60),
    QueueSpec("email", frozenset({E}), priority=0, sl_seconds=3600),
]
SL = {V: 20.0, C: 60.0, E: 3600.0}


def lognormal(rnd: random.Random, mean: float, sigma: float) -> float:
    return rnd.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)


def arrivals(n: int, agents: int, seed: int, load: float
             ) -> list[tuple[float, Channel, float]]:
    """(arrival time, channel, handle time), seeded; the rate asks ``load`` of the agents."""
    rnd = random.Random(seed)
    # Agent-seconds per interaction, counting the concurrency a channel allows.
    work = sum(w * HANDLE[ch][0] / DEFAULT_RULES.capacity[ch] for ch, w in MIX)
    rate = agents * load / work  # interactions per second
    out, t = [], 0.0
    for _ in range(n):
        t += rnd.expovariate(rate)
        ch = rnd.choices([c for c, _ in MIX], [w for _, w in MIX])[0]
        out.append((t, ch, lognormal(rnd, *HANDLE[ch])))
    return out


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


@dataclass
class AgentSim:
    rules: CapacityRules
    load: dict[Channel, int] = field(default_factory=dict)
    busy_since: float | None = None
    busy_total: float = 0.0


def simulate(pools: dict[str, CapacityRules], n_agents: int,
             stream: list[tuple[float, Channel, float]]) -> dict:
    """Run one mode; ``pools`` maps a pool name to its rules, agents split by work share."""
    router = Router(QUEUES)
    agents: dict[str, AgentSim] = {}
    shares = {"voice": MIX[0][1] * HANDLE[V][0],
              "digital": sum(w * HANDLE[ch][0] / DEFAULT_RULES.capacity[ch]
                             for ch, w in MIX[1:])}
    if len(pools) == 1:
        split = {name: n_agents for name in pools}
    else:
        n_voice = round(n_agents * shares["voice"] / sum(shares.values()))
        split = {"voice": n_voice, "digital": n_agents - n_voice}
    for name, count in split.items():
        for i in range(count):
            aid = f"{name}{i:03d}"
            agents[aid] = AgentSim(pools[name])
            router.set_agent(aid, rules=pools[name], ready=True, idle_since=T0)
    events: list[tuple[float, int, str, object]] = []
    for k, (t, ch, handle) in enumerate(stream):
        heapq.heappush(events, (t, k, "arrive", (f"i{k}", ch, handle)))
    info: dict[str, tuple[Channel, float, float]] = {}
    waits: dict[Channel, list[float]] = {ch: [] for ch, _ in MIX}
    seq = len(stream)
    now = 0.0

    # Occupancy is measured while work keeps arriving (the drain at the end would dilute it).
    window = stream[-1][0]

    def set_busy(a: AgentSim) -> None:
        carrying = sum(a.load.values()) > 0
        if carrying and a.busy_since is None:
            a.busy_since = now
        elif not carrying and a.busy_since is not None:
            a.busy_total += max(0.0, min(now, window) - a.busy_since)
            a.busy_since = None

    while events:
        now, _, kind, data = heapq.heappop(events)
        if kind == "arrive":
            iid, ch, handle = data  # type: ignore[misc]
            info[iid] = (ch, now, handle)
            router.enqueue(iid, ch, ch.value, at(now))
        else:
            aid, ch = data  # type: ignore[misc]
            a = agents[aid]
            a.load[ch] -= 1
            set_busy(a)
            router.set_agent(aid, rules=a.rules, ready=True, load=a.load, idle_since=at(now))
        for offer in router.route(at(now)):
            router.accept(offer.interaction_id, offer.agent_id, at(now))
            ch, arrived, handle = info.pop(offer.interaction_id)
            waits[ch].append(now - arrived)
            a = agents[offer.agent_id]
            a.load[ch] = a.load.get(ch, 0) + 1
            set_busy(a)
            seq += 1
            heapq.heappush(events, (now + handle, seq, "done", (offer.agent_id, ch)))
    for a in agents.values():  # still carrying at the end of the window
        if a.busy_since is not None and a.busy_since < window:
            a.busy_total += window - a.busy_since
    end = now
    return {"waits": waits, "end": end,
            "occupancy": sum(a.busy_total for a in agents.values()) / (len(agents) * window)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--agents", type=int, default=100)
    p.add_argument("--interactions", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--load", type=float, default=0.95,
                   help="work offered, as a share of the agents' capacity")
    a = p.parse_args()
    stream = arrivals(a.interactions, a.agents, a.seed, a.load)
    counts = {ch: sum(1 for _, c, _ in stream if c == ch) for ch, _ in MIX}
    print(f"{a.interactions} interactions over {stream[-1][0] / 60:.0f} min "
          f"({', '.join(f'{n} {ch}' for ch, n in counts.items())}), {a.agents} agents, "
          f"offered load {a.load:.0%}, seed {a.seed}")
    voice_only = make_rules({V: 1}, {})
    digital_only = make_rules({C: 3, E: 2}, {})
    modes = {
        "blended": simulate({"all": DEFAULT_RULES}, a.agents, stream),
        "separate": simulate({"voice": voice_only, "digital": digital_only}, a.agents, stream),
    }
    print(f"{'mode':9s} {'channel':7s} {'wait p50':>9s} {'wait p90':>9s} {'SL %':>6s}  target")
    for name, res in modes.items():
        for ch, _ in MIX:
            w = res["waits"][ch]
            sl = 100.0 * sum(1 for x in w if x <= SL[ch]) / len(w) if w else float("nan")
            print(f"{name:9s} {ch.value:7s} {pct(w, 50):8.1f}s {pct(w, 90):8.1f}s "
                  f"{sl:6.1f}  {SL[ch]:.0f} s")
        print(f"{name:9s} occupancy {100 * res['occupancy']:.1f}% while work arrives "
              f"(last interaction done after {res['end'] / 60:.0f} min)")
    b, s = modes["blended"], modes["separate"]
    for ch, _ in MIX:
        mb = sum(b["waits"][ch]) / max(1, len(b["waits"][ch]))
        ms = sum(s["waits"][ch]) / max(1, len(s["waits"][ch]))
        ratio = f"{mb / ms:.2f}x" if ms > 0 else ("same" if mb == 0 else "n/a")
        print(f"ratio blended/separate mean wait {ch.value:5s}: {ratio} "
              f"({mb:.1f} s vs {ms:.1f} s)")
    print(f"ratio blended/separate occupancy: {b['occupancy'] / s['occupancy']:.2f}x")


if __name__ == "__main__":
    main()
