"""Live calls across a takeover: the core's node SIGKILLed while agents are on calls.

Two `ctibridge serve` processes of one cluster share a throwaway PostgreSQL database.
The platform is the CSTA switch peer (tests/peers/csta, ECMA-269/323) and the CRM is
realcrm.py's, both in this test's process: they outlive the core, as a PBX and a CRM
do. Three agents, each with something live when node A (the core) is killed:

* alice (her bar on node B) talks to a customer: after the takeover her bar still
  shows the call and she stays busy; she holds, retrieves and hangs up through the
  new core, wraps up, and the call is logged once;
* bob (his bar on node A, which dies) is on a call the customer ends while no node
  runs the core: the new core ends it after its resync, his bar (reconnected to B,
  resumed) hears it end, and it is logged once;
* carol (her bar on node B) is in wrap-up with a draft: she keeps her wrap-up, its
  deadline and her draft, and saves it on the new core; logged once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.peers.csta.switch import Switch

from ..harness import AgentClient
from .conftest import Cluster
from .processes import until
from .takeover import CAMILLE, interaction_of, ready, two_nodes_and_crm

pytestmark = pytest.mark.postgres

LEASE = 2.0  # processes.node_config's lease_seconds


async def answered_call(switch: Switch, agent: AgentClient, ext: str) -> dict[str, Any]:
    """A customer calls ``ext``; the agent answers from the bar. The call as answered."""
    switch.inbound_call(CAMILLE, ext)
    call = (await agent.event("call.offered"))["call"]
    await agent.ok("call.answer", call_id=call["call_id"])
    return dict((await agent.event("call.answered"))["call"])


async def talk_seconds(db: str, interaction_id: str) -> float:
    """The talk time of an interaction as stored (what the CRM's duration is made of)."""
    conn = await asyncpg.connect(db)
    try:
        row = await conn.fetchrow("SELECT accepted_at, ended_at FROM interactions "
                                  "WHERE interaction_id = $1", interaction_id)
    finally:
        await conn.close()
    assert row is not None and row["ended_at"] is not None, row
    return float((row["ended_at"] - row["accepted_at"]).total_seconds())


def events(agent: AgentClient, start: int = 0) -> list[dict[str, Any]]:
    return [f for f in agent.frames[start:] if f.get("type") == "event"]


async def test_calls_live_in_wrap_up_or_ending_survive_the_core_being_killed(
    cluster: Cluster, tmp_path: Path,
) -> None:
    async with two_nodes_and_crm(tmp_path, cluster.name, "FF0001000000000{:017X}") as (run, crm):
        switch, a, b = run.switch, run.a, run.b
        alice, bob, carol = await run.bar(b, "alice"), await run.bar(a, "bob"), \
            await run.bar(b, "carol")
        for agent in (alice, bob, carol):
            await ready(agent)

        # Carol's call ends; she is in wrap-up and has typed part of her form.
        carol_call = await answered_call(switch, carol, "2003")
        switch.remote_hangup(switch.call_of("2003").call_id)  # type: ignore[union-attr]
        wrap = await carol.event(
            "agent.state", where=lambda d: d["agent"]["state"]["status"] == "wrap_up")
        carol_it = await interaction_of(carol, carol_call["call_id"],
                                        where=lambda it: it["ended_at"])
        draft = {"disposition": "callback", "notes": "rappeler jeudi"}
        await carol.ok("interaction.draft", interaction_id=carol_it["interaction_id"],
                       **draft)
        # Alice and Bob talk to customers.
        alice_call = await answered_call(switch, alice, "2001")
        bob_call = await answered_call(switch, bob, "2002")
        bob_ext_call = switch.call_of("2002").call_id  # type: ignore[union-attr]
        alice_it = await interaction_of(alice, alice_call["call_id"],
                                        where=lambda it: it["accepted_at"])
        bob_it = await interaction_of(bob, bob_call["call_id"],
                                      where=lambda it: it["accepted_at"])
        marks = {agent.user: len(agent.frames) for agent in (alice, bob, carol)}
        bob_seq = max(f["seq"] for f in events(bob))
        assert not crm.interactions, "nothing logged before the wrap-ups"

        await asyncio.sleep(0.5)  # the core writes its store in 50 ms batches
        killed = await a.kill()
        # Bob's customer hangs up while no node runs the core.
        switch.remote_hangup(bob_ext_call)
        bob_hung_up = datetime.now(UTC)
        core_at = await until("b runs the core", b.is_core, timeout=15)
        takeover = core_at - killed
        # The new core's resync reaches Alice's bar: her call, still live.
        resynced = await alice.wait_for(
            lambda f: f.get("name") == "call.updated"
            and f["data"]["call"]["call_id"] == alice_call["call_id"],
            "the new core's view of her call", timeout=15,
            start=marks["alice"])
        resync = time.monotonic() - killed
        taken = resynced["data"]["call"]
        assert alice.my_state(taken) == "connected"
        assert taken["answered_at"] == alice_call["answered_at"]  # same talk time
        mine = next(c for c in taken["connections"] if c["agent_id"] == "alice")
        was = next(c for c in alice_call["connections"] if c["agent_id"] == "alice")
        assert mine["connected_at"] == was["connected_at"]
        after_kill = events(alice, marks["alice"])
        assert not [f for f in after_kill if f["name"] == "call.ended"]
        states = [f["data"]["agent"]["state"]["status"] for f in after_kill
                  if f["name"] == "agent.state"]
        assert set(states) <= {"busy"}, states  # never reset, never ready

        # Alice's snapshot from the new core: the call, her state, nothing else.
        again = await run.bar(b, "alice")
        assert [c["call_id"] for c in again.snapshot["calls"]] == \
            [alice_call["call_id"]]
        assert again.snapshot["agent"]["state"]["status"] == "busy"
        await again.close()

        # Hold, retrieve, hang up: through the new core, on the same switch.
        cid = alice_call["call_id"]
        await alice.ok("call.hold", call_id=cid)
        await alice.event("call.held")
        assert switch.call_of("2001").connections["2001"] == "hold"  # type: ignore[union-attr]
        await alice.ok("call.retrieve", call_id=cid)
        await alice.event("call.retrieved")
        await alice.ok("call.hangup", call_id=cid)
        await alice.event("call.ended", where=lambda d: d["call"]["call_id"] == cid)
        await alice.event("agent.state",
                          where=lambda d: d["agent"]["state"]["status"] == "wrap_up")
        await alice.ok("interaction.wrap_up", interaction_id=alice_it["interaction_id"],
                       disposition="resolved", notes="ok")
        await alice.ok("agent.ready")  # Save and ready, as the bar does

        # Carol: still in wrap-up, same deadline, her draft kept; she saves it.
        carol_again = await run.bar(b, "carol")
        state = carol_again.snapshot["agent"]["state"]
        assert state["status"] == "wrap_up"
        assert state["deadline"] == wrap["agent"]["state"]["deadline"]
        kept = {i["interaction_id"]: i for i in carol_again.snapshot["interactions"]}
        assert kept[carol_it["interaction_id"]].get("draft") == draft
        told = [f["data"]["agent"]["state"] for f in events(carol, marks["carol"])
                if f["name"] == "agent.state"]
        assert all(s == state for s in told), told  # same wrap-up, same deadline
        await carol.ok("interaction.wrap_up", interaction_id=carol_it["interaction_id"],
                       disposition="callback", notes="rappeler jeudi")
        await carol.ok("agent.ready")

        # Bob's bar was on the dead node: it reconnects to B and resumes.
        await bob.close()
        bob_b = await run.bar(b, "bob")
        await bob_b.send({"type": "resume", "since": bob_seq})
        ended = await bob_b.wait_for(
            lambda f: f.get("name") == "call.ended"
            and f["data"]["call"]["call_id"] == bob_call["call_id"],
            "his call ended by the new core", timeout=10)
        assert ended["seq"] > bob_seq
        assert not bob_b.snapshot["calls"], "no ghost call in his snapshot"
        seqs = sorted({f["seq"] for f in events(bob_b)})
        assert seqs == list(range(bob_seq + 1, seqs[-1] + 1)), seqs  # no gap

        # Each call logged once in the CRM, whatever the core did.
        keys = [alice_it["interaction_id"], bob_it["interaction_id"],
                carol_it["interaction_id"]]
        with contextlib.suppress(AssertionError):  # the count below says which
            await until("the three calls logged",
                        lambda: all(crm.interactions_of(k) for k in keys),
                        timeout=20)
        await asyncio.sleep(1.5)  # past settle_seconds and a retry: nothing more
        per_call = Counter({k: len(crm.interactions_of(k)) for k in keys})
        assert per_call == dict.fromkeys(keys, 1), per_call
        assert len(crm.interactions) == 3, crm.interactions

        # Bob's talk time: his call ended while no core ran, somewhere between
        # the old core's death and the new one's resync. Logged neither as
        # nothing nor longer than it was by more than the lease.
        logged = await talk_seconds(run.db, bob_it["interaction_id"])
        real = (bob_hung_up - datetime.fromisoformat(
            bob_it["accepted_at"])).total_seconds()
        print(f"\nBob talked {real:.2f} s, logged {logged:.2f} s")
        assert 0 < logged <= real + LEASE, (logged, real)
        print(f"\nkill -> B core {takeover:.2f} s (lease {LEASE:g} s); "
              f"kill -> resync on Alice's bar {resync:.2f} s")
        assert takeover <= LEASE + 2.0
