"""Every call logged exactly once against a CRM that behaves like real ones.

A real hub (in this loop, on a fake clock), agents over WebSockets, and the test
CRM of realcrm.py on a real port, through the mapping file realcrm.yaml: the
CRM ignores idempotency keys, needs exactly one linked record per log, answers
403 to a refused token and can be slow or cut its answer. Each test counts the
records the CRM holds for each call: exactly one, or none with a stated reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import yaml

from ctibridge.clock import FakeClock
from ctibridge.crm.mapping import MappingConnector, load_mapping

from ..harness import AgentClient, RunningHub
from .hubs import crm_hub, eventually, ready
from .realcrm import MAPPING, TOKEN, RealCrm, seeded, serve_real_crm, variables

CAMILLE = "+33612345678"  # one contact
MOREL = "+33140000000"  # two contacts share it (and their firm's account)
STRANGER = "+33655555555"  # nobody


def mapping(tmp_path: Path, crm: RealCrm, *, timeout: float | None = None,
            **log: Any) -> MappingConnector:
    """realcrm.yaml, its log section changed by ``log`` (a None value removes a key)."""
    data = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    for key, value in log.items():
        if value is None:
            data["log"].pop(key, None)
        else:
            data["log"][key] = value
    if timeout is not None:
        data["connection"]["timeout_seconds"] = timeout
    path = tmp_path / "realcrm.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_mapping(path, variables(crm))


async def call(h: RunningHub, agent: AgentClient, number: str, *,
               pick: str | None = None) -> str:
    """A customer calls, the agent answers, (picks a record,) hangs up; returns the
    interaction id. With no wrap-up time the log is queued at once."""
    start = len(agent.frames)
    h.sim.customer_calls("support", number=number)
    frame = await agent.wait_for(lambda f: f.get("type") == "event"
                                 and f["name"] == "screenpop", "the pop", start=start)
    pop = frame["data"]
    await agent.ok("call.answer", call_id=pop["call_id"])
    if pick is not None:
        await agent.ok("crm.select", call_id=pop["call_id"], record_id=pick)
    await agent.ok("call.hangup", call_id=pop["call_id"])
    return str(pop["interaction_id"])


async def http_as(h: RunningHub, user: str) -> httpx.AsyncClient:
    token = await h.token(user)
    return httpx.AsyncClient(base_url=h.url, headers={"Authorization": f"Bearer {token}"},
                             timeout=10)


async def row(h: RunningHub, iid: str, status: str | None = None, within: float = 10,
              *, attempted: bool = False) -> dict[str, Any]:
    """The outbox row of ``iid`` once it is in ``status`` (and settled); ``attempted``:
    and tried at least once (a new row is pending before the worker takes it)."""
    found: dict[str, Any] = {}

    async def check() -> bool:
        got = await h.hub.store.outbox.get(iid)
        if got is not None and got.lease_owner is None:
            found.update(got.to_dict())
            return (status is None or got.status == status) and (
                not attempted or got.attempts > 0)
        return False

    loop_deadline = within
    import asyncio

    while loop_deadline > 0:
        if await check():
            return found
        await asyncio.sleep(0.02)
        loop_deadline -= 0.02
    raise AssertionError(f"{iid} never became {status}; last: {found}")


async def later(h: RunningHub, seconds: float) -> None:
    """Move the hub's clock (retries fall due) and let the worker look."""
    assert isinstance(h.clock, FakeClock)
    await h.clock.advance(seconds)
    h.app.state.services.calllog.nudge()


def only_one(crm: RealCrm, iid: str) -> dict[str, Any]:
    found = crm.interactions_of(iid)
    assert len(found) == 1, f"{iid}: {len(found)} records in the CRM: {found}"
    return found[0]


# -- unknown outcomes ---------------------------------------------------------------------

async def test_a_crm_answering_after_the_timeout_gets_one_record_per_call(
    tmp_path: Path,
) -> None:
    """The CRM creates the record, then answers after the hub gave up (1.5 s > 1 s):
    the hub checks before trying again, finds the record and sends nothing more."""
    async with serve_real_crm(seeded()) as crm, \
            crm_hub(tmp_path, mapping(tmp_path, crm, timeout=1.0), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        crm.slow_logs = 1.5
        iids = [await call(h, alice, CAMILLE) for _ in range(3)]
        for iid in iids:
            pending = await row(h, iid, "pending", within=15)
            if pending["attempts"] == 0:
                pending = await row(h, iid, "pending", within=15)
        await eventually(lambda: crm.in_flight == 0 and len(crm.interactions) == 3,
                         "the CRM done with the slow requests", within=15)
        for iid in iids:
            got = await row(h, iid)
            assert got["in_doubt"] and "no answer within 1 s" in got["last_error"], got
        posts = crm.log_posts
        await later(h, 11)  # settle_seconds (10) before checking
        for iid in iids:
            delivered = await row(h, iid, "delivered")
            assert delivered["activity_id"] == str(only_one(crm, iid)["id"])
        assert crm.log_posts == posts  # found by the check: nothing re-sent
        assert ("GET", "/api/interactions/") in crm.requests


async def test_without_a_check_an_unknown_outcome_waits_for_an_operator(
    tmp_path: Path,
) -> None:
    async with serve_real_crm(seeded()) as crm, \
            crm_hub(tmp_path, mapping(tmp_path, crm, timeout=1.0, find_existing=None),
                    wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        crm.slow_logs = 1.5
        iid = await call(h, alice, CAMILLE)
        uncertain = await row(h, iid, "uncertain", within=15)
        assert "outcome unknown" in uncertain["last_error"]
        await later(h, 3600)
        await eventually(lambda: crm.in_flight == 0, "the slow request done", within=5)
        assert crm.log_posts == 1  # never re-sent by itself
        only_one(crm, iid)
        async with await http_as(h, "admin") as http:
            listed = (await http.get("/api/calllog", params={"status": "uncertain"})).json()
            assert [r["interaction_id"] for r in listed["rows"]] == [iid]
            assert listed["guarantee"] == "none"
            assert "ctibridge_calllog_rows{status=\"uncertain\"} 1.0" in (
                await http.get("/metrics")).text
            r = await http.post(f"/api/calllog/{iid}/retry")
            assert (r.status_code, r.json()["code"]) == (409, "calllog-uncertain")
            # The operator looked in the CRM and found it.
            r = await http.post(f"/api/calllog/{iid}/confirm",
                                json={"activity_id": str(only_one(crm, iid)["id"])})
            assert r.status_code == 200 and r.json()["status"] == "delivered", r.text
        assert crm.log_posts == 1


async def test_an_operator_resends_an_uncertain_log_that_is_not_there(tmp_path: Path) -> None:
    async with serve_real_crm(seeded()) as crm, \
            crm_hub(tmp_path, mapping(tmp_path, crm, find_existing=None),
                    wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        await crm.down()  # refused: surely not sent, so simply retried
        iid = await call(h, alice, CAMILLE)
        pending = await row(h, iid, "pending")
        while pending["attempts"] == 0:
            pending = await row(h, iid, "pending")
        assert not pending["in_doubt"] and "cannot reach" in pending["last_error"], pending
        await crm.up()
        crm.log_fault = "reset"  # now it creates the record and cuts the answer
        await later(h, 2)
        await row(h, iid, "uncertain")
        only_one(crm, iid)
        # Say the CRM's admin deleted it meanwhile: the operator re-sends.
        crm.interactions.clear()
        crm.log_fault = None
        async with await http_as(h, "admin") as http:
            r = await http.post(f"/api/calllog/{iid}/resend")
            assert r.status_code == 200 and r.json()["status"] == "pending", r.text
        await row(h, iid, "delivered")
        only_one(crm, iid)


async def test_a_connection_cut_mid_answer_is_checked_not_resent(tmp_path: Path) -> None:
    async with serve_real_crm(seeded()) as crm, \
            crm_hub(tmp_path, mapping(tmp_path, crm), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        crm.log_fault = "reset"
        iid = await call(h, alice, CAMILLE)
        got = await row(h, iid, "pending")
        while got["attempts"] == 0:
            got = await row(h, iid, "pending")
        assert got["in_doubt"] and "lost the connection" in got["last_error"], got
        crm.log_fault = None
        await later(h, 11)
        await row(h, iid, "delivered")
        only_one(crm, iid)
        assert crm.log_posts == 1


# -- credentials ------------------------------------------------------------------------

async def test_a_403_period_raises_an_alert_and_a_fixed_token_releases_the_queue(
    tmp_path: Path,
) -> None:
    async with serve_real_crm(seeded()) as crm, \
            crm_hub(tmp_path, mapping(tmp_path, crm), wrap_up_seconds=0,
                    # Retries far apart: only the release brings them back soon.
                    crm_settings={"call_log": {"first_retry_seconds": 200,
                                               "max_auth_retry_seconds": 600}}) as h:
        alice = await h.agent("alice")
        await ready(alice)
        crm.tokens.clear()  # the CRM's admin revoked our token
        iids = [await call(h, alice, CAMILLE) for _ in range(3)]
        for iid in iids:
            got = await row(h, iid, "pending")
            while got["attempts"] == 0:
                got = await row(h, iid, "pending")
            assert got["last_status"] == 403 and "Invalid token." in got["last_error"], got
        async with await http_as(h, "admin") as http:
            ready_body = (await http.get("/readyz")).json()
            assert ready_body["status"] == "degraded"
            assert "refuses our credentials" in ready_body["crm"]["reason"]
            assert "HTTP 403" in ready_body["crm"]["reason"]
            assert "ctibridge_crm_auth_refused 1.0" in (await http.get("/metrics")).text
            listed = (await http.get("/api/calllog")).json()
            assert listed["auth_refused"]["status"] == 403
        crm.tokens.add(TOKEN)  # fixed
        # The next call's log goes through, and takes the waiting ones with it.
        fourth = await call(h, alice, CAMILLE)
        for iid in [*iids, fourth]:
            await row(h, iid, "delivered")
            only_one(crm, iid)
        async with await http_as(h, "admin") as http:
            assert (await http.get("/readyz")).json()["status"] == "ready"
            assert "ctibridge_crm_auth_refused 0.0" in (await http.get("/metrics")).text


async def test_auth_failures_can_be_made_final_and_retried_in_bulk(tmp_path: Path) -> None:
    async with serve_real_crm(seeded()) as crm, \
            crm_hub(tmp_path, mapping(tmp_path, crm), wrap_up_seconds=0,
                    crm_settings={"call_log": {"auth_failures": "fail"}}) as h:
        alice = await h.agent("alice")
        await ready(alice)
        crm.tokens.clear()
        iids = [await call(h, alice, CAMILLE) for _ in range(2)]
        for iid in iids:
            await row(h, iid, "failed")
        crm.tokens.add(TOKEN)
        async with await http_as(h, "admin") as http:
            r = await http.post("/api/calllog/retry", json={"status": "failed"})
            assert r.json() == {"retried": 2, "status": "failed"}, r.text
        for iid in iids:
            await row(h, iid, "delivered")
            only_one(crm, iid)


# -- who the call is logged against -----------------------------------------------------

async def test_an_unknown_caller_becomes_a_lead_the_call_is_logged_against(
    tmp_path: Path,
) -> None:
    async with serve_real_crm(seeded()) as crm, \
            crm_hub(tmp_path, mapping(tmp_path, crm), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        iid = await call(h, alice, STRANGER)
        delivered = await row(h, iid, "delivered")
        [lead] = [x for x in crm.leads.values() if x["phone"] == STRANGER]
        assert only_one(crm, iid)["lead"] == lead["id"]
        assert delivered["log_record"]["record_id"] == str(lead["id"])
        # The next call from that number finds the lead: no second one.
        again = await call(h, alice, STRANGER)
        await row(h, again, "delivered")
        assert only_one(crm, again)["lead"] == lead["id"]
        assert len([x for x in crm.leads.values() if x["phone"] == STRANGER]) == 1


async def test_an_unknown_caller_goes_to_the_catch_all_account(tmp_path: Path) -> None:
    async with serve_real_crm(seeded()) as crm:
        policy = [{"record": {"id": "{{ vars.catchall_account }}", "kind": "account"}}]
        async with crm_hub(tmp_path, mapping(tmp_path, crm, fallback=policy),
                           wrap_up_seconds=0) as h:
            alice = await h.agent("alice")
            await ready(alice)
            iid = await call(h, alice, STRANGER)
            await row(h, iid, "delivered")
            assert only_one(crm, iid)["account"] == int(variables(crm)["catchall_account"])


async def test_a_skipped_call_says_why_and_makes_no_record(tmp_path: Path) -> None:
    async with serve_real_crm(seeded()) as crm:
        policy = [{"when": "none", "skip": "unknown callers are not logged here"}]
        async with crm_hub(tmp_path, mapping(tmp_path, crm, fallback=policy),
                           wrap_up_seconds=0) as h:
            alice = await h.agent("alice")
            await ready(alice)
            iid = await call(h, alice, STRANGER)
            skipped = await row(h, iid, "skipped")
            assert skipped["last_error"] == (
                f"unknown callers are not logged here (no record matches {STRANGER})")
            assert crm.interactions_of(iid) == [] and crm.log_posts == 0


async def test_without_a_fallback_the_crms_own_reason_is_kept(tmp_path: Path) -> None:
    async with serve_real_crm(seeded()) as crm, \
            crm_hub(tmp_path, mapping(tmp_path, crm, fallback=[]), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        iid = await call(h, alice, STRANGER)
        failed = await row(h, iid, "failed")
        assert failed["last_status"] == 400
        assert failed["last_error"].endswith(
            "HTTP 400 from POST " + crm.url + "/api/interactions/: contact: Name exactly "
            "one record: contact, lead or account (0 given).")


async def test_a_shared_number_waits_for_the_agents_pick_in_the_bar(tmp_path: Path) -> None:
    async with serve_real_crm(seeded()) as crm, \
            crm_hub(tmp_path, mapping(tmp_path, crm), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        iid = await call(h, alice, MOREL)  # two contacts: Alice picks nobody
        waiting = await alice.event("calllog.waiting")
        assert waiting["interaction_id"] == iid
        names = sorted(c["name"] for c in waiting["choices"])
        assert names == ["Jean Morel", "Lucie Morel"]
        assert crm.log_posts == 0
        # A bar opened now lists it too.
        later_bar = await h.agent("alice")
        assert [w["interaction_id"] for w in later_bar.snapshot["calllog_waiting"]] == [iid]
        lucie = next(c for c in waiting["choices"] if c["name"] == "Lucie Morel")
        async with await http_as(h, "bob") as bob:
            r = await bob.post(f"/api/calllog/{iid}/pick", json={"record_id": "1"})
            assert r.status_code == 404, r.text  # not Bob's call
        async with await http_as(h, "alice") as http:
            r = await http.post(f"/api/calllog/{iid}/pick", json={"record_id": "999"})
            assert (r.status_code, r.json()["code"]) == (400, "bad-record")
            r = await http.post(f"/api/calllog/{iid}/pick",
                                json={"record_id": lucie["record_id"]})
            assert r.status_code == 200, r.text
        await row(h, iid, "delivered")
        assert only_one(crm, iid)["contact"] == int(lucie["record_id"])
        settled = await alice.event("calllog.settled")
        assert settled["interaction_id"] == iid
        await later_bar.close()


async def test_no_pick_in_time_logs_against_the_firms_account(tmp_path: Path) -> None:
    async with serve_real_crm(seeded()) as crm, \
            crm_hub(tmp_path, mapping(tmp_path, crm), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        iid = await call(h, alice, MOREL)
        await row(h, iid, "waiting")
        await later(h, 9 * 60)
        assert (await row(h, iid))["status"] == "waiting"
        await later(h, 61)
        await row(h, iid, "delivered")
        morel = next(a for a in crm.accounts.values() if a["name"] == "Morel & Fils")
        assert only_one(crm, iid)["account"] == morel["id"]


async def test_a_pick_during_the_call_is_logged_against_at_once(tmp_path: Path) -> None:
    async with serve_real_crm(seeded()) as crm, \
            crm_hub(tmp_path, mapping(tmp_path, crm), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        jean = next(c for c in crm.contacts.values() if c["first_name"] == "Jean")
        iid = await call(h, alice, MOREL, pick=str(jean["id"]))
        await row(h, iid, "delivered")
        assert only_one(crm, iid)["contact"] == jean["id"]
