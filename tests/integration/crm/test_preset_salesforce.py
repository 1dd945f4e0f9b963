"""preset:salesforce against a Salesforce org's REST API as documented (vendors/salesforce.py):
a customer calls, the contact pops with its account, the call becomes one Task."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ctibridge.crm import presets
from ctibridge.crm.mapping import MappingConnector, load_mapping

from .hubs import crm_hub, eventually, ready
from .test_calllog_realcrm import call, later, row
from .vendors.salesforce import CONSUMER_KEY, USERNAME, SalesforceOrg, key_pair
from .vendors.serving import Served

CAMILLE = "+33612345678"
HUGO = "+33699887766"  # a lead only
STRANGER = "+33655555555"


@pytest.fixture
async def org() -> AsyncIterator[SalesforceOrg]:
    private, public = key_pair()
    sf = SalesforceOrg(public_key=public)
    sf.private_key = private  # type: ignore[attr-defined]
    sf.add_contact("Camille", "Petit", "+33 6 12 34 56 78", account="Boulangerie Petit")
    sf.add("Lead", FirstName="Hugo", LastName="Blanc", Name="Hugo Blanc",
           Company="Blanc Conseil", Phone="06 99 88 77 66", MobilePhone=None)
    sf.served = Served(sf.app())
    async with sf.served:
        yield sf


def preset(sf: SalesforceOrg, **env: str) -> MappingConnector:
    environ = {"SF_CLIENT_ID": CONSUMER_KEY, "SF_USERNAME": USERNAME,
               "SF_PRIVATE_KEY": sf.private_key}  # type: ignore[attr-defined]
    environ.update(env)
    return load_mapping(presets.resolve("preset:salesforce"),
                        {"instance_url": sf.url, "login_url": sf.url}, environ=environ)


async def test_a_caller_pops_their_contact_and_the_call_becomes_one_task(
        org: SalesforceOrg, tmp_path: Path) -> None:
    async with crm_hub(tmp_path, preset(org), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        start = len(alice.frames)
        iid = await call(h, alice, CAMILLE)
        pop = next(f["data"] for f in alice.frames[start:]
                   if f.get("type") == "event" and f["name"] == "screenpop")
        [match] = pop["matches"]
        assert (match["name"], match["company"]) == ("Camille Petit", "Boulangerie Petit")
        assert match["url"] == f"{org.url}/lightning/r/Contact/{match['record_id']}/view"
        await row(h, iid, "delivered")
        [task] = org.tasks_with(iid)
        assert task["WhoId"] == match["record_id"]
        assert (task["Type"], task["TaskSubtype"], task["Status"], task["CallType"]) == (
            "Call", "Call", "Completed", "Inbound")
        assert isinstance(task["CallDurationInSeconds"], int)
        assert org.token_requests == 1  # one JWT exchange, then the token is reused


async def test_a_number_only_a_lead_has_pops_the_lead(org: SalesforceOrg,
                                                      tmp_path: Path) -> None:
    async with crm_hub(tmp_path, preset(org), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        start = len(alice.frames)
        iid = await call(h, alice, HUGO)
        pop = next(f["data"] for f in alice.frames[start:]
                   if f.get("type") == "event" and f["name"] == "screenpop")
        [match] = pop["matches"]
        assert (match["kind"], match["name"], match["company"]) == (
            "lead", "Hugo Blanc", "Blanc Conseil")
        await row(h, iid, "delivered")
        assert org.tasks_with(iid)[0]["WhoId"] == match["record_id"]


async def test_an_unknown_caller_is_offered_a_new_contact_and_logged_without_one(
        org: SalesforceOrg, tmp_path: Path) -> None:
    async with crm_hub(tmp_path, preset(org), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        start = len(alice.frames)
        iid = await call(h, alice, STRANGER)
        pop = next(f["data"] for f in alice.frames[start:]
                   if f.get("type") == "event" and f["name"] == "screenpop")
        assert pop["matches"] == [] and "defaultFieldValues=Phone=%2B33655555555" in \
            pop["create_url"]
        await row(h, iid, "delivered")
        [task] = org.tasks_with(iid)
        assert task["WhoId"] is None and STRANGER in task["Subject"]


async def test_an_answer_cut_after_the_task_exists_is_checked_by_call_object(
        org: SalesforceOrg, tmp_path: Path) -> None:
    """Salesforce keeps no idempotency key: the hub finds the Task by CallObject."""
    async with crm_hub(tmp_path, preset(org), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        org.cut_next_log = True
        iid = await call(h, alice, CAMILLE)
        got = await row(h, iid, "pending", attempted=True)
        assert got["in_doubt"], got
        posts = org.task_posts
        await later(h, 11)
        await row(h, iid, "delivered")
        assert len(org.tasks_with(iid)) == 1
        assert org.task_posts == posts  # found, not sent again


async def test_a_session_revoked_mid_day_gets_a_new_token_and_the_log_goes_through(
        org: SalesforceOrg, tmp_path: Path) -> None:
    async with crm_hub(tmp_path, preset(org), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        await row(h, await call(h, alice, CAMILLE), "delivered")
        org.revoke()  # INVALID_SESSION_ID for the token the hub holds
        iid = await call(h, alice, CAMILLE)
        await row(h, iid, "delivered")
        assert len(org.tasks_with(iid)) == 1 and org.token_requests == 2


async def test_a_key_salesforce_does_not_know_fails_the_token_with_its_reason(
        org: SalesforceOrg, tmp_path: Path) -> None:
    other, _ = key_pair()
    crm = preset(org, SF_PRIVATE_KEY=other)
    async with crm_hub(tmp_path, crm, wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        iid = await call(h, alice, CAMILLE)
        await eventually(lambda: org.token_requests >= 1, "a token asked for")
        failed = await row(h, iid, attempted=True)
        assert "invalid_grant" in (failed["last_error"] or ""), failed
        assert org.tasks_with(iid) == []


def test_search_terms_are_escaped_for_sosl(org: SalesforceOrg) -> None:
    """'+' is reserved in SOSL: an unescaped E.164 number is a MALFORMED_SEARCH."""
    crm = preset(org)
    lookup = next(lk for lk in crm.mapping.lookups if lk.name == "contact_by_phone")
    assert lookup.request is not None
    q = crm.templates.render(lookup.request.query["q"], {"number": "+33612345678"})
    assert q.startswith("FIND {\\+33612345678} IN PHONE FIELDS")
