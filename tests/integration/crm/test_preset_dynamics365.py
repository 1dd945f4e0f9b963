"""preset:dynamics365 against the Dataverse Web API as documented (vendors/dynamics.py):
a customer calls, the contact pops with its account, the call is one phone call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ctibridge.crm import presets
from ctibridge.crm.mapping import MappingConnector, load_mapping

from .hubs import crm_hub, ready
from .test_calllog_realcrm import call, later, row
from .vendors.dynamics import CLIENT_ID, CLIENT_SECRET, TENANT, Dataverse
from .vendors.serving import Served

CAMILLE = "+33612345678"
STRANGER = "+33655555555"


@pytest.fixture
async def org() -> AsyncIterator[Dataverse]:
    dv = Dataverse()
    dv.add_contact("Camille", "Petit", "+33 6 12 34 56 78", account="Boulangerie Petit")
    dv.add_contact("Jean", "D'Arcy", "01 40 00 00 00")
    dv.served = Served(dv.app())
    async with dv.served:
        yield dv


def preset(dv: Dataverse, secret: str = CLIENT_SECRET) -> MappingConnector:
    return load_mapping(presets.resolve("preset:dynamics365"),
                        {"org_url": dv.url, "tenant_id": TENANT, "login_host": dv.url},
                        environ={"D365_CLIENT_ID": CLIENT_ID, "D365_CLIENT_SECRET": secret})


def popped(alice: object, start: int) -> dict[str, object]:
    frames = alice.frames[start:]  # type: ignore[attr-defined]
    return next(f["data"] for f in frames
                if f.get("type") == "event" and f["name"] == "screenpop")


async def test_a_caller_pops_their_contact_and_the_call_is_one_phonecall(
        org: Dataverse, tmp_path: Path) -> None:
    async with crm_hub(tmp_path, preset(org), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        start = len(alice.frames)
        iid = await call(h, alice, CAMILLE)
        [match] = popped(alice, start)["matches"]  # type: ignore[misc]
        assert (match["name"], match["company"]) == ("Camille Petit", "Boulangerie Petit")
        assert f"etn=contact&id={match['record_id']}" in match["url"]
        await row(h, iid, "delivered")
        [pc] = org.phonecalls.values()
        assert pc["_regardingobjectid_value"] == match["record_id"]
        assert pc["directioncode"] is False and isinstance(pc["actualdurationminutes"], int)
        assert (pc["statecode"], pc["statuscode"]) == (1, 4)


async def test_an_unknown_caller_is_logged_with_no_regarding_record(
        org: Dataverse, tmp_path: Path) -> None:
    async with crm_hub(tmp_path, preset(org), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        start = len(alice.frames)
        iid = await call(h, alice, STRANGER)
        assert popped(alice, start)["matches"] == []
        await row(h, iid, "delivered")
        [pc] = org.phonecalls.values()
        assert "_regardingobjectid_value" not in pc and pc["phonenumber"] == STRANGER


async def test_a_lost_answer_is_sent_again_and_the_upsert_keeps_one_phonecall(
        org: Dataverse, tmp_path: Path) -> None:
    """The id comes from the call's key and If-None-Match: * makes a second send a 412:
    Dynamics de-duplicates, so the hub may simply send again."""
    async with crm_hub(tmp_path, preset(org), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        org.cut_next_log = True
        iid = await call(h, alice, CAMILLE)
        assert (await row(h, iid, "pending", attempted=True))["in_doubt"]
        await later(h, 60)
        await row(h, iid, "delivered")
        assert org.phonecall_writes == 2 and len(org.phonecalls) == 1


async def test_a_revoked_token_is_renewed_and_a_wrong_secret_says_so(
        org: Dataverse, tmp_path: Path) -> None:
    async with crm_hub(tmp_path, preset(org), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        await row(h, await call(h, alice, CAMILLE), "delivered")
        org.revoke()
        await row(h, await call(h, alice, CAMILLE), "delivered")
        assert org.token_requests == 2 and len(org.phonecalls) == 2
    async with crm_hub(tmp_path / "bad", preset(org, secret="wrong"), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        failed = await row(h, await call(h, alice, CAMILLE), attempted=True)
        assert "invalid_client" in (failed["last_error"] or ""), failed


def test_a_quote_in_a_number_is_doubled_for_odata() -> None:
    dv = Dataverse()
    dv.served = Served(dv.app())
    crm = preset(dv)
    lookup = next(lk for lk in crm.mapping.lookups if lk.name == "contact_by_phone")
    assert lookup.request is not None
    f = crm.templates.render(lookup.request.query["$filter"], {"number": "0'1"})
    assert f.startswith("telephone1 eq '0''1'")
