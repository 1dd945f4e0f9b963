"""The hybrid edge: a site's PBX seen by the cloud's core through a NATS leaf node,
across a WAN cut (docs/deployment.md, "Hybrid edge")."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ctibridge.model.errors import CapabilityMissing, PlatformError

from ..harness import AgentClient
from .conftest import Site


async def eventually(check: Any, what: str, within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"never: {what}")
        await asyncio.sleep(0.05)


def parse(stored: str) -> datetime:
    at = datetime.fromisoformat(stored)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def rows(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql, args).fetchall()


async def ready_agent(site: Site, user: str = "alice") -> AgentClient:
    await eventually(lambda: site.hub.hub.platforms.get("pbx") is not None
                     and site.hub.hub.platforms["pbx"].up, "the edge's platform up at the hub")
    bar = await site.hub.agent(user)
    await bar.ok("agent.login")
    await bar.ok("agent.ready")
    # The state reached the PBX at the site (through the edge), so its ACD offers to her.
    await eventually(lambda: site.sim.device_state("1001").status == "ready",
                     "alice ready on the site's PBX")
    return bar


async def test_a_call_at_the_site_is_offered_answered_and_hung_up_from_the_cloud(
    site: Site,
) -> None:
    alice = await ready_agent(site)
    ref = site.sim.customer_calls("support", number="+33612345678", name="Camille Petit")
    offered = await alice.event("call.offered", timeout=5)
    assert offered["call"]["customer"]["number"] == "+33612345678"
    call_id = offered["call"]["call_id"]
    await alice.ok("call.answer", call_id=call_id)  # a command to the PBX, via the edge
    await alice.event("call.answered")
    assert site.sim.call_state(ref).legs == {"1001": "connected"}
    await alice.ok("call.hangup", call_id=call_id)
    await alice.event("call.ended")
    assert site.sim.call_state(ref) is None
    # Dialling out returns the site's call reference.
    dialled = await alice.ok("call.dial", number="+33 1 42 00 00 00")
    out = await alice.event("call.initiated")
    assert out["call"]["call_id"] == dialled["call_id"]
    [live] = site.sim.live_calls()
    assert live.legs.get("1001") is not None
    await alice.ok("call.hangup", call_id=dialled["call_id"])
    await alice.event("call.ended", where=lambda d: d["call"]["call_id"] == dialled["call_id"])
    # The PBX's refusal comes back with its code and message, and its class.
    with pytest.raises(PlatformError) as refused:
        await site.link.answer("no-such-ref", "1001")
    assert refused.value.code == "no-such-call"
    assert "no-such-ref" in refused.value.message
    with pytest.raises(CapabilityMissing) as missing:  # the site's ACD routes
        await site.link.deliver(ref, "1001")
    assert missing.value.code == "capability-missing"
    await alice.close()


@pytest.mark.parametrize("outage", ["cut", "stall"])
async def test_a_wan_outage_buffers_at_the_site_and_the_cloud_catches_up_once(
    site: Site, outage: str,
) -> None:
    """``cut``: the connections drop (both ends know at once); ``stall``: the link goes
    quiet with its connections open, as when packets are lost, and the cloud learns it
    only from the missing heartbeats."""
    alice = await ready_agent(site)
    resyncs = site.edge.resyncs["pbx"]
    cut_at = len(alice.frames)  # (a busy machine may have told of a hiccup before)
    getattr(site.servers.wan, outage)()
    down_frame = await alice.wait_for(lambda f: f.get("name") == "platform.status"
                                      and not f["data"]["up"], "the platform down",
                                      start=cut_at)
    down = down_frame["data"]
    assert "edge paris unreachable since" in down["detail"]
    # Commands fail at once, with a code a client can act on.
    with pytest.raises(PlatformError) as cut:
        await site.link.hangup("x", "1001")
    assert cut.value.code == "edge-unreachable"
    reply = await alice.command("call.dial", number="+33142000000")
    assert reply["type"] == "error" and reply["code"] == "platform-down", reply
    assert "edge paris unreachable" in reply["message"]

    # Meanwhile at the site a customer calls, alice answers on her phone, they hang up.
    ref = site.sim.customer_calls("support", number="+33611111111", name="Léa Martin")
    await eventually(lambda: site.sim.call_state(ref) is not None
                     and site.sim.call_state(ref).legs.get("1001") == "alerting",
                     "the call rings alice's phone at the site")
    await site.sim.answer(ref, "1001")
    answered_at = site.clock.now()
    await site.clock.advance(30)
    site.sim.customer_hangs_up(ref)
    await eventually(lambda: site.sim.call_state(ref) is None, "the call over at the site")
    await site.clock.advance(100)  # the WAN stays down a while longer
    assert site.hub.hub.calls.by_ref("pbx", ref) is None  # the cloud heard nothing yet

    site.servers.wan.restore()
    # The cloud's mirror retries with a growing delay: measured 0.1 to 10 s after the
    # link is back for cuts of 0.5 to 5 s.
    after = alice.frames.index(down_frame) + 1
    up_frame = await alice.wait_for(lambda f: f.get("name") == "platform.status"
                                    and f["data"]["up"], "the platform up again",
                                    timeout=20, start=after)
    up = up_frame["data"]
    assert up["platform"] == "pbx"
    # Applied in order before the platform came back up: offered, answered, ended.
    # The call as it happened at the site, once each, in order. (The hub may publish a
    # call's last frames after the status: the order of applying is the stream's.)
    await alice.event("call.ended", timeout=5)
    names = [f["name"] for f in alice.frames[after:] if f.get("type") == "event"
             and f["name"] in ("call.offered", "call.answered", "call.ended")]
    assert names == ["call.offered", "call.answered", "call.ended"], names
    await eventually(lambda: rows(site.db, "SELECT count(*) FROM call_log_outbox")[0][0] >= 1,
                     "the call's log in the outbox")
    [(iid, agent, accepted, ended)] = rows(
        site.db, "SELECT interaction_id, agent_id, accepted_at, ended_at FROM interactions "
                 "WHERE platform_ref = ?", ref)
    assert agent == "alice"
    # The site's times, not the times the cloud heard of it.
    assert parse(accepted) == answered_at
    assert parse(ended) == answered_at + timedelta(seconds=30)
    assert rows(site.db, "SELECT count(*) FROM call_log_outbox WHERE interaction_id = ?",
                iid) == [(1,)]
    await eventually(lambda: len(site.crm.activities_of(iid)) == 1, "logged in the CRM")
    # Then a resync: it found nothing live, and the hub keeps nothing either.
    await eventually(lambda: site.edge.resyncs["pbx"] == resyncs + 1, "a resync asked")
    assert site.hub.hub.calls.refs_for_platform("pbx") == {}
    # And the link works again: a command goes through.
    await alice.ok("agent.not_ready", reason="break")
    await eventually(lambda: site.sim.device_state("1001").status == "not_ready",
                     "not ready at the site")
    await alice.close()


async def test_a_malformed_event_is_logged_and_nothing_else_is_lost(site: Site) -> None:
    import nats
    import structlog

    alice = await ready_agent(site)
    # Something else publishes on the edge's subject: not an event, then one of a
    # later version, between two real calls' events.
    nc = await nats.connect(site.servers.leaf_url)
    js = nc.jetstream(domain=site.servers.domain)
    subject = site.edge.names.events("pbx")
    with structlog.testing.capture_logs() as logs:
        await js.publish(subject, b"{not json")
        await js.publish(subject, b'{"event":"call.teleported","at":"2026-01-05T09:00:00Z"}')
        ref = site.sim.customer_calls("support", number="+33622222222")
        offered = await alice.event("call.offered", timeout=5)
    await nc.close()
    assert offered["call"]["customer"]["number"] == "+33622222222"
    bad = [e for e in logs if e["event"] == "edge.bad_event"]
    assert [e["log_level"] for e in bad] == ["error", "error"]
    assert "not JSON" in bad[0]["error"] and "unknown event 'call.teleported'" in bad[1]["error"]
    assert bad[0]["seq"] + 1 == bad[1]["seq"]  # says where it is in the stream
    assert site.link.skipped == 2
    await alice.ok("call.answer", call_id=offered["call"]["call_id"])
    await alice.event("call.answered")
    site.sim.customer_hangs_up(ref)
    await alice.event("call.ended")
    await alice.close()
