"""The cloud's core moves to another node while a call from the site is live: the new
core reads the site's events from where the last one stopped, none twice."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from .conftest import hub_node, the_site
from .test_edge import eventually, rows


async def test_a_new_core_goes_on_from_the_last_event_the_old_one_applied(
    tmp_path: Path,
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        cluster, clock, servers, crm, sim, edge = await the_site(stack, tmp_path)
        a, link_a = await hub_node(stack, tmp_path, servers, cluster, clock, crm, "cloud-a")
        node_a = a.app.state.services.cluster
        await eventually(lambda: node_a.owner is not None, "node a runs the core")
        b, link_b = await hub_node(stack, tmp_path, servers, cluster, clock, crm, "cloud-b")
        await eventually(lambda: a.hub.platforms.get("pbx") is not None
                         and a.hub.platforms["pbx"].up, "the site's PBX up on node a")
        alice = await b.agent("alice")  # her bar on node b, the core on node a
        await alice.ok("agent.login")
        await alice.ok("agent.ready")
        await eventually(lambda: sim.device_state("1001").status == "ready", "alice ready")
        ref = sim.customer_calls("support", number="+33633333333")
        offered = await alice.event("call.offered")
        call_id = offered["call"]["call_id"]
        await alice.ok("call.answer", call_id=call_id)
        await alice.event("call.answered")
        applied_by_a = link_a.applied

        # Node a hands the core over (a rolling restart); node b takes it.
        await node_a.lease.stop(release=True)
        node_b = b.app.state.services.cluster
        await eventually(lambda: node_b.owner is not None, "node b runs the core", within=15)
        await eventually(lambda: b.hub.platforms.get("pbx") is not None
                         and b.hub.platforms["pbx"].up, "the site's PBX up on node b")
        # b started after the last event a applied: nothing of the call replayed.
        assert link_b.skipped == 0
        await eventually(lambda: b.hub.calls.by_ref("pbx", ref) is not None,
                         "the live call taken over (the resync)")
        assert b.hub.calls.by_ref("pbx", ref).call_id == call_id

        # The customer hangs up: the new core ends the call, logged once.
        sim.customer_hangs_up(ref)
        await alice.event("call.ended", where=lambda d: d["call"]["call_id"] == call_id)
        [(iid,)] = rows(tmp_path / "hub.db", "SELECT interaction_id FROM interactions "
                                             "WHERE platform_ref = ?", ref)
        await eventually(lambda: rows(tmp_path / "hub.db", "SELECT count(*) FROM "
                                      "call_log_outbox WHERE interaction_id = ?", iid)
                         == [(1,)], "one call-log row")
        await eventually(lambda: len(crm.activities_of(iid)) == 1, "logged in the CRM once")
        offers = [f for f in alice.frames if f.get("name") == "call.offered"]
        assert len(offers) == 1
        assert link_b.applied > applied_by_a
        await alice.close()


async def test_events_a_dead_core_took_but_never_acknowledged_come_again_in_order(
    tmp_path: Path,
) -> None:
    from ctibridge.edge.connector import EdgeConnector, EdgeOptions
    from ctibridge.model.events import CallQueued, PlatformEvent, PlatformStatus

    async with contextlib.AsyncExitStack() as stack:
        cluster, clock, servers, crm, sim, edge = await the_site(stack, tmp_path)
        options = EdgeOptions(edge_id="paris", domain=servers.domain, cluster=cluster,
                              nats_url=servers.cloud_url)

        async def next_queued(events: Any) -> str:
            while not isinstance(ev := await asyncio.wait_for(anext(events), 10), CallQueued):
                pass
            return ev.ref

        old = EdgeConnector("pbx", options, clock)
        old_events = old.events()
        await old.start()
        first: PlatformEvent = await asyncio.wait_for(anext(old_events), 10)
        while not (isinstance(first, PlatformStatus) and first.detail.startswith("edge")):
            first = await asyncio.wait_for(anext(old_events), 10)
        refs = [sim.customer_calls("support", number=f"+3361000000{i}") for i in range(5)]
        assert await next_queued(old_events) == refs[0]
        assert await next_queued(old_events) == refs[1]  # applied, not yet acknowledged
        # The rest is fetched already (delivered to this core, unacknowledged) when it dies.
        js = old.nc.jetstream()
        mirror = old.names.mirror("pbx")
        for _ in range(200):  # bounded: 10 s
            if (await js.consumer_info(mirror, "core")).num_ack_pending >= 4:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the old core never fetched the calls")
        await old.stop()

        new = EdgeConnector("pbx", options, clock)
        new_events = new.events()
        await new.start()
        again = [await next_queued(new_events) for _ in range(4)]
        # From the first one not acknowledged, in order: the one the old core applied
        # without acknowledging comes once more, nothing is skipped.
        assert again == refs[1:]
        assert new.skipped == 0
        await new.stop()
