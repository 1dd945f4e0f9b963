"""What one bar costs does not grow with the number of agents, unless it asks.

Counted, not timed: the frames and bytes one agent's socket receives for the same
day's work in a center of 10 agents and in one of 1,000, every other agent logging
in and going on a break meanwhile. The directory is read a page at a time
(``directory.get``) and presence comes only to a socket that watches.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ctibridge.clock import FakeClock
from ctibridge.core.permissions import Principal
from ctibridge.model.agent import Role
from ctibridge.telephony.simulator import SimulatorConnector

from .harness import AgentClient, running_hub

SUPERVISOR = Principal("sam", frozenset({Role.SUPERVISOR}), None, "Sam", None)


def center(n: int) -> list[dict[str, str]]:
    return [{"id": "alice", "name": "Alice Martin", "extension": "1001"},
            *({"id": f"a{i:04d}", "name": f"Agent {i:04d}", "extension": str(3000 + i)}
              for i in range(1, n))]


async def one_bars_day(tmp_path: Path, n: int, *, watch: bool = False
                       ) -> tuple[list[str], int, Any]:
    """Alice's bar through the others' logins and one call: (frame kinds, bytes, hub)."""
    agents = center(n)
    clock = FakeClock()
    sim = SimulatorConnector("sim", clock=clock, seed=7,
                             devices=[a["extension"] for a in agents],
                             ring_timeout=20.0, answer_delay=(1.0, 2.0))
    async with running_hub(tmp_path / str(n), clock=clock, sim=sim, agents=agents) as h:
        alice = await h.agent("alice")
        if watch:
            await alice.ok("directory.watch")
        start = len(alice.frames)
        commands = h.app.state.services.commands
        for a in agents[1:]:  # everyone else starts their day and takes a break
            await commands.execute(SUPERVISOR, "agent.login", {"agent_id": a["id"]})
            await commands.execute(SUPERVISOR, "agent.not_ready",
                                   {"agent_id": a["id"], "reason": "break"})
        await alice.ok("agent.login")
        await alice.ok("agent.ready")
        ref = h.sim.customer_calls("support", number="+33612345678", name="Camille Petit")
        offered = await alice.event("call.offered")
        await alice.ok("call.answer", call_id=offered["call"]["call_id"])
        await alice.event("call.answered")
        h.sim.customer_hangs_up(ref)
        await alice.event("call.ended")
        await alice.ok("directory.unwatch")  # a sure last frame: all before it arrived
        frames = alice.frames[start:]
        kinds = [f.get("name") or f["type"] for f in frames]
        size = len(json.dumps(alice.snapshot)) + sum(len(json.dumps(f)) for f in frames)
        notifier = h.hub.notifier
        stream = notifier.stream("alice")
        held = (len(stream.buffer), stream.buffered_chars)
        await alice.close()
        return kinds, size, held


async def test_one_bar_receives_the_same_whether_ten_or_a_thousand_agents_work(
    tmp_path: Path,
) -> None:
    small_kinds, small_bytes, small_held = await one_bars_day(tmp_path, 10)
    large_kinds, large_bytes, large_held = await one_bars_day(tmp_path, 1000)
    assert large_kinds == small_kinds
    assert "presence" not in large_kinds  # it did not ask
    # Ids and timestamps may differ by a few characters; nothing proportional to agents.
    assert abs(large_bytes - small_bytes) < 200, (small_bytes, large_bytes)
    # What is kept for alice's resume holds her events only.
    assert large_held == small_held


async def test_a_bar_that_watches_gets_every_colleagues_presence(tmp_path: Path) -> None:
    kinds, _, _ = await one_bars_day(tmp_path, 30, watch=True)
    # Each of the 29 others: logged in (ready is not implied: not ready, then break).
    presence = kinds.count("presence")
    assert presence >= 29, kinds


async def test_the_directory_is_read_a_page_at_a_time(tmp_path: Path) -> None:
    agents = center(250)
    clock = FakeClock()
    sim = SimulatorConnector("sim", clock=clock, seed=7,
                             devices=[a["extension"] for a in agents])
    async with running_hub(tmp_path, clock=clock, sim=sim, agents=agents) as h:
        bar: AgentClient = await h.agent("alice")
        assert "directory" not in bar.snapshot
        seen: list[str] = []
        after = None
        while True:
            page = await bar.ok("directory.get", limit=100,
                                **({"after": after} if after else {}))
            assert len(page["entries"]) <= 100
            seen += [e["agent_id"] for e in page["entries"]]
            after = page["next"]
            if after is None:
                break
        assert seen == sorted(a["id"] for a in agents)

        found = await bar.ok("directory.get", query="agent 0042")
        assert [e["agent_id"] for e in found["entries"]] == ["a0042"]
        assert found["next"] is None
        present = await bar.ok("directory.get", present=True)
        assert present["entries"] == []  # everyone is still logged out

        refused = await bar.command("directory.get", limit=5000)
        assert refused["type"] == "error" and refused["code"] == "bad-message"
