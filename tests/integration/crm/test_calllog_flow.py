"""Call logging through the outbox: a real hub, a real bar, a real HTTP CRM."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from ctibridge.clock import FakeClock

from ..harness import AgentClient, RunningHub
from .hubs import crm_hub, eventually, ready
from .testcrm import TestCrm, TestCrmConnector, serve_crm

CAMILLE = {"id": "C1", "name": "Camille Petit", "phone": "+33612345678"}


async def answered_call(h: RunningHub, alice: AgentClient) -> tuple[str, str]:
    """A customer call Alice answers then ends; returns (call id, interaction id)."""
    h.sim.customer_calls("support", number="+33612345678")
    pop = await alice.event("screenpop")
    await alice.ok("call.answer", call_id=pop["call_id"])
    await alice.event("call.answered")
    await alice.ok("call.hangup", call_id=pop["call_id"])
    await alice.event("call.ended")
    return pop["call_id"], pop["interaction_id"]


async def admin(h: RunningHub) -> httpx.AsyncClient:
    token = await h.token("admin")
    return httpx.AsyncClient(base_url=h.url, headers={"Authorization": f"Bearer {token}"})


async def outbox(h: RunningHub, status: str | None = None) -> dict[str, Any]:
    async with await admin(h) as http:
        r = await http.get("/api/calllog", params={"status": status} if status else {})
        assert r.status_code == 200, r.text
        return dict(r.json())


async def test_a_wrapped_up_call_makes_exactly_one_activity_with_its_disposition(
    tmp_path: Path,
) -> None:
    async with serve_crm(TestCrm(contacts=[CAMILLE])) as crm, \
            crm_hub(tmp_path, TestCrmConnector(crm.url)) as h:
        alice = await h.agent("alice")
        await ready(alice)
        _, iid = await answered_call(h, alice)
        await alice.ok("interaction.wrap_up", interaction_id=iid, disposition="resolved",
                       notes="refund sent")
        assert crm.activities_of(iid) == []  # nothing before the wrap-up ends
        await alice.ok("agent.ready")  # ends the wrap-up
        await eventually(lambda: crm.activities_of(iid), "the activity in the CRM")
        [activity] = crm.activities_of(iid)
        assert (activity["contact_id"], activity["disposition"], activity["notes"]) == (
            "C1", "resolved", "refund sent")
        rows = await outbox(h, "delivered")
        assert [(r["interaction_id"], r["activity_id"], r["attempts"]) for r in rows["rows"]] \
            == [(iid, activity["id"], 1)]
        async with await admin(h) as http:
            metrics = (await http.get("/metrics")).text
        assert 'ctibridge_calllog_deliveries_total{outcome="delivered"} 1.0' in metrics
        assert 'ctibridge_screenpops_total{outcome="one"}' in metrics


async def test_a_crm_failing_for_a_while_gets_the_log_once_it_is_back(tmp_path: Path) -> None:
    async with serve_crm(TestCrm(contacts=[CAMILLE])) as crm, \
            crm_hub(tmp_path, TestCrmConnector(crm.url), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        crm.fault = "500"
        _, iid = await answered_call(h, alice)
        worker = h.app.state.services.calllog
        await eventually(lambda: crm.posts >= 1, "a first delivery attempt")
        for _ in range(100):  # until the worker has recorded the failure
            pending = (await outbox(h, "pending"))["rows"]
            if pending and pending[0]["last_error"]:
                break
        assert [r["interaction_id"] for r in pending] == [iid]
        assert "HTTP 500" in pending[0]["last_error"]
        assert isinstance(h.clock, FakeClock)
        await h.clock.advance(2.5)  # the first retry falls due (1 s, jittered 0.5-1 s)
        worker.nudge()
        await eventually(lambda: crm.posts >= 2, "a second attempt")
        for _ in range(200):  # until the worker has recorded it (the clock jumps past leases)
            rows = (await outbox(h, "pending"))["rows"]
            if rows and rows[0]["attempts"] == 2 and rows[0]["lease_until"] is None:
                break
            await asyncio.sleep(0.01)
        crm.fault = None
        await h.clock.advance(300)
        worker.nudge()
        await eventually(lambda: crm.activities_of(iid), "the activity once the CRM is back")
        assert len(crm.activities_of(iid)) == 1
        delivered = (await outbox(h, "delivered"))["rows"]
        assert [(r["interaction_id"], r["attempts"]) for r in delivered] == [(iid, 3)]


async def test_an_admin_retries_a_failed_delivery(tmp_path: Path) -> None:
    async with serve_crm(TestCrm(contacts=[CAMILLE])) as crm, \
            crm_hub(tmp_path, TestCrmConnector(crm.url), wrap_up_seconds=0,
                    # One failure and the row is failed.
                    crm_settings={"call_log": {"max_attempts": 1}}) as h:
        alice = await h.agent("alice")
        await ready(alice)
        crm.fault = "html"
        _, iid = await answered_call(h, alice)
        await eventually(lambda: crm.posts >= 1, "a delivery attempt")
        failed: list[dict[str, Any]] = []

        async def check() -> None:
            failed[:] = (await outbox(h, "failed"))["rows"]

        for _ in range(100):
            await check()
            if failed:
                break
        assert [r["interaction_id"] for r in failed] == [iid]
        crm.fault = None
        async with await admin(h) as http:
            sam = await h.token("sam")
            r = await http.post(f"/api/calllog/{iid}/retry",
                                headers={"Authorization": f"Bearer {sam}"})
            assert r.status_code == 403, r.text  # a supervisor sees, only an admin retries
            r = await http.post(f"/api/calllog/{iid}/retry")
            assert r.status_code == 200 and r.json()["status"] == "pending", r.text
            r = await http.post("/api/calllog/i-unknown/retry")
            assert r.status_code == 404 and r.json()["code"] == "no-such-calllog"
        await eventually(lambda: crm.activities_of(iid), "the activity after the retry")
        assert len(crm.activities_of(iid)) == 1
        async with await admin(h) as http:
            health = (await http.get("/api/crm/health")).json()
        assert health["crm"] == "testcrm" and health["calllog"]["delivered"] == 1


async def test_once_the_agent_hears_ok_for_ending_wrap_up_the_log_is_on_disk(
    tmp_path: Path,
) -> None:
    async with serve_crm(TestCrm(contacts=[CAMILLE])) as crm, \
            crm_hub(tmp_path, TestCrmConnector(crm.url)) as h:
        alice = await h.agent("alice")
        await ready(alice)
        _, iid = await answered_call(h, alice)
        await alice.ok("interaction.wrap_up", interaction_id=iid, disposition="resolved")
        await alice.ok("agent.ready")  # ends the wrap-up
        # No wait for the hub's next write batch: a crash from here on loses nothing.
        stored = await h.hub.store.interactions.get(iid)
        assert stored is not None and stored.wrapped_at is not None
        assert stored.disposition == "resolved"
        assert sum((await h.hub.store.outbox.counts()).values()) == 1
