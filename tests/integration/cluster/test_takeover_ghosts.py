"""No ghost call after a takeover, however soon after a call the core's node dies.

The core writes its store in 50 ms batches: a call offered or answered just before
the core's node is SIGKILLed is not in the database, so the new core's resync finds
it on the platform under a new call id. Bars that outlived the core (their sockets on
the surviving node) knew the old id: the new core tells each agent which calls are
live after its resync (``calls.live``) and the bar drops the others, as
src/ctibridge/web/agentbar/store.js does (mirrored by ``bar_view`` below).

Same processes as test_takeover_calls.py: two `ctibridge serve` nodes, the CSTA
switch peer and the CRM double in this process, outliving the core.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ctibridge.telephony.csta.framing import OpenScapeFraming
from ctibridge.telephony.csta.xml import ED4, XmlCodec
from tests.peers.csta.server import CstaPeer
from tests.peers.csta.switch import Switch

from ..crm.realcrm import seeded, serve_real_crm
from ..harness import AgentClient
from .conftest import Cluster
from .processes import NodeProcess, node_process, pg_database, until
from .test_takeover_calls import CAMILLE, STATIONS, bar, interaction_of, ready, settings

pytestmark = pytest.mark.postgres

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
    switch = Switch(STATIONS, call_id_format="FF0002000000000{:017X}")
    peer = CstaPeer(switch, XmlCodec(ED4), OpenScapeFraming, dialect="openscape")
    port = await peer.start()
    bars: list[AgentClient] = []
    a: NodeProcess | None = None
    b: NodeProcess | None = None
    try:
        async with pg_database(tmp_path) as db, serve_real_crm(seeded()) as crm:
            config = settings(port, crm)
            async with node_process(tmp_path, cluster.name, "a", db, **config) as a:
                await until("a runs the core", a.is_core)
                async with node_process(tmp_path, cluster.name, "b", db, **config) as b:
                    alice, bob = await bar(b, "alice"), await bar(b, "bob")
                    bars += [alice, bob]
                    for agent in bars:
                        await ready(agent)

                    # Alice's phone rings (an offer is never written: only in memory);
                    # Bob answers his call, and the core's node dies at once.
                    switch.inbound_call(CAMILLE, "2001")
                    ringing = (await alice.event("call.offered"))["call"]
                    switch.inbound_call(CAMILLE, "2002")
                    offered = (await bob.event("call.offered"))["call"]
                    await bob.ok("call.answer", call_id=offered["call_id"])
                    await bob.event("call.answered")
                    await a.kill()  # no pause: the 50 ms write batch may not have run
                    marks = {agent.user: len(agent.frames) for agent in bars}

                    await until("b runs the core", b.is_core, timeout=15)
                    for agent in (alice, bob):
                        await agent.wait_for(
                            lambda f: f.get("name") == "calls.live"
                            and f["data"]["platform"] == "pbx",
                            "the new core's list of live calls", timeout=15,
                            start=marks[agent.user])
                    # Each bar shows exactly what the new core has: one call, no ghost.
                    views = {}
                    for agent in (alice, bob):
                        fresh = await bar(b, agent.user)
                        bars.append(fresh)
                        views[agent.user] = bar_view(agent)
                        assert set(views[agent.user]) == \
                            {c["call_id"] for c in fresh.snapshot["calls"]}, agent.user
                        assert len(views[agent.user]) == 1, views[agent.user]
                        await fresh.close()
                    print(f"\nalice's ringing call kept its id: "
                          f"{ringing['call_id'] in views['alice']}; bob's answered call: "
                          f"{offered['call_id'] in views['bob']}")

                    # Both calls go on through the new core, end, and are logged once.
                    (alice_cid,) = views["alice"]
                    (bob_cid,) = views["bob"]
                    await alice.ok("call.answer", call_id=alice_cid)
                    await alice.event("call.answered",
                                      where=lambda d: d["call"]["call_id"] == alice_cid)
                    keys = []
                    for agent, cid in ((alice, alice_cid), (bob, bob_cid)):
                        start = len(agent.frames)
                        await agent.ok("call.hangup", call_id=cid)
                        await agent.event("call.ended", where=lambda d, c=cid:  # type: ignore[misc]
                                          d["call"]["call_id"] == c)
                        it = await interaction_of(agent, cid, start,
                                                  where=lambda it: it["ended_at"])
                        await agent.ok("interaction.wrap_up", interaction_id=it["interaction_id"],
                                       disposition="resolved", notes="ok")
                        await agent.ok("agent.ready")  # Save and ready, as the bar does
                        keys.append(it["interaction_id"])
                        assert not bar_view(agent), "no call left on the bar"
                    with contextlib.suppress(AssertionError):  # the count below says which
                        await until("both calls logged",
                                    lambda: all(crm.interactions_of(k) for k in keys),
                                    timeout=20)
                    await asyncio.sleep(1.5)  # past settle_seconds and a retry: nothing more
                    per_call = Counter({k: len(crm.interactions_of(k)) for k in keys})
                    assert per_call == dict.fromkeys(keys, 1), per_call
                    assert len(crm.interactions) == 2, crm.interactions
    except BaseException:
        for node in (a, b):
            if node is not None:
                print(node.log(200))
        for agent in bars:
            print(agent.user, [f for f in agent.frames if f.get("type") == "event"][-8:])
        raise
    finally:
        for agent in bars:
            await agent.close()
        await peer.stop()
