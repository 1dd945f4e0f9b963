"""No ghost call, no lost call log after a takeover, however soon after a call the
core's node dies.

The core writes its store in 50 ms batches: a call offered or answered just before
the core's node is SIGKILLed may not be in the database.

* An answered call's interaction also goes to the cluster's journal ahead of the
  events announcing it: the new core takes it back (same ids) or, its customer gone,
  ends it and logs it once.
* An offer is never written: the new core's resync finds the ringing call under a
  new call id. Bars that outlived the core knew the old one: the new core tells each
  agent which calls are live after its resync (``calls.live``) and the bar drops the
  others, as src/ctibridge/web/agentbar/store.js does (mirrored by ``bar_view``); the
  supervisors hear every live call of the platform, and a supervisor console drops the
  others too (src/ctibridge/web/supervisor/board.js, mirrored by ``console_view``).

Same processes as test_takeover_calls.py (takeover.py): two `ctibridge serve` nodes,
the CSTA switch peer and the CRM double in this process, outliving the core.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest

from ..harness import AgentClient, console_view
from .conftest import Cluster
from .processes import until
from .takeover import CAMILLE, interaction_of, ready, two_nodes_and_crm

pytestmark = pytest.mark.postgres

STRANGER = "0698765432"  # not in the CRM: no screen pop, nothing written while it rings
LIVE = {"initiated", "queued", "alerting", "connected", "held"}


def bar_view(agent: AgentClient) -> dict[str, dict[str, Any]]:
    """The calls a bar shows after its snapshot and every event since (store.js's rules)."""
    calls: dict[str, dict[str, Any]] = {
        c["call_id"]: c for c in agent.snapshot["calls"]
        if agent.my_state(c) in LIVE and not c["ended_at"]}
    for f in agent.frames:
        if f.get("type") != "event":
            continue
        name, data = f["name"], f["data"]
        if name.startswith("call.") and "call" in data:
            call = data["call"]
            if call["ended_at"] or name == "call.ended" or agent.my_state(call) not in LIVE:
                calls.pop(call["call_id"], None)
            else:
                calls[call["call_id"]] = call
        elif name == "calls.live":
            listed = {c["call_id"]: c for c in data["calls"]}
            for cid in [cid for cid, c in calls.items()
                        if c["platform"] == data["platform"] and cid not in listed]:
                del calls[cid]
            calls.update({cid: c for cid, c in listed.items()
                          if agent.my_state(c) in LIVE and not c["ended_at"]})
    return calls


async def test_a_call_offered_or_answered_just_before_the_kill_leaves_no_ghost(
    cluster: Cluster, tmp_path: Path,
) -> None:
    async with two_nodes_and_crm(tmp_path, cluster.name, "FF0002000000000{:017X}") as (run, crm):
        switch, a, b = run.switch, run.a, run.b
        alice, bob = await run.bar(b, "alice"), await run.bar(b, "bob")
        sam = await run.bar(b, "sam")  # a supervisor's console
        for agent in (alice, bob):
            await ready(agent)

        # Alice's phone rings, a caller the CRM does not know (such an offer is
        # never written: only in memory); Bob answers his call, and the core's
        # node dies at once; his customer hangs up while no node runs the core.
        switch.inbound_call(STRANGER, "2001")
        ringing = (await alice.event("call.offered"))["call"]
        switch.inbound_call(CAMILLE, "2002")
        offered = (await bob.event("call.offered"))["call"]
        bob_ext_call = switch.call_of("2002").call_id  # type: ignore[union-attr]
        await bob.ok("call.answer", call_id=offered["call_id"])
        await bob.event("call.answered")
        await a.kill()  # no pause: the 50 ms write batch may not have run
        switch.remote_hangup(bob_ext_call)
        marks = {agent.user: len(agent.frames) for agent in (alice, bob, sam)}
        bob_it = await interaction_of(bob, offered["call_id"],
                                      where=lambda it: it["accepted_at"])

        await until("b runs the core", b.is_core, timeout=15)
        for agent in (alice, bob):
            await agent.wait_for(
                lambda f: f.get("name") == "calls.live"
                and f["data"]["platform"] == "pbx",
                "the new core's list of live calls", timeout=15,
                start=marks[agent.user])
        # Each bar shows exactly what the new core has: no ghost.
        views = {}
        for agent in (alice, bob):
            fresh = await run.bar(b, agent.user)
            views[agent.user] = bar_view(agent)
            assert set(views[agent.user]) == \
                {c["call_id"] for c in fresh.snapshot["calls"]}, agent.user
            await fresh.close()
        assert len(views["alice"]) == 1, views["alice"]
        assert not views["bob"], views["bob"]
        # Bob's call, announced but perhaps not yet written, was in the journal:
        # the new core ended it under the id his bar knew.
        ended = await bob.wait_for(
            lambda f: f.get("name") == "call.ended"
            and f["data"]["call"]["call_id"] == offered["call_id"],
            "his call ended by the new core", timeout=10, start=marks["bob"])
        assert ended["data"]["cause"] == "hub-restart"
        assert ringing["call_id"] not in views["alice"]  # a new id: the old dropped
        # The console too: it knew the ringing call under its old id.
        assert any(f.get("name") == "call.offered"
                   and f["data"]["call"]["call_id"] == ringing["call_id"] for f in sam.frames)
        await sam.wait_for(
            lambda f: f.get("name") == "calls.live" and f["data"]["platform"] == "pbx"
            and f["data"].get("part", 1) == f["data"].get("parts", 1),
            "the supervisors' list of live calls", timeout=15, start=marks["sam"])
        fresh = await run.bar(b, "sam")
        console = console_view(sam)
        assert set(console) == {c["call_id"] for c in fresh.snapshot["calls"]}
        assert set(console) == set(views["alice"]), console
        await fresh.close()

        # Alice's call goes on through the new core and ends (a stranger's call
        # waits for her pick of a CRM record: not logged here); Bob's is logged
        # once, under the interaction his bar knew.
        (alice_cid,) = views["alice"]
        await alice.ok("call.answer", call_id=alice_cid)
        await alice.event("call.answered",
                          where=lambda d: d["call"]["call_id"] == alice_cid)
        start = len(alice.frames)
        await alice.ok("call.hangup", call_id=alice_cid)
        await alice.event("call.ended",
                          where=lambda d: d["call"]["call_id"] == alice_cid)
        alice_it = await interaction_of(alice, alice_cid, start,
                                        where=lambda it: it["ended_at"])
        assert alice_it["accepted_at"] and not bar_view(alice), "no call left"
        key = bob_it["interaction_id"]
        with contextlib.suppress(AssertionError):  # the count below says
            await until("Bob's call logged", lambda: crm.interactions_of(key),
                        timeout=20)
        await asyncio.sleep(1.5)  # past settle_seconds and a retry: nothing more
        assert len(crm.interactions_of(key)) == 1, crm.interactions
        assert len(crm.interactions) == 1, crm.interactions
