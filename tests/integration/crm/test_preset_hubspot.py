"""preset:hubspot against HubSpot's CRM API v3 as documented (vendors/hubspot.py):
the contact pops, the call is one call engagement associated with it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ctibridge.crm import presets
from ctibridge.crm.mapping import MappingConnector, load_mapping

from .hubs import crm_hub, ready
from .test_calllog_realcrm import call, later, row
from .vendors.hubspot import TOKEN, HubSpotPortal
from .vendors.serving import Served

CAMILLE = "+33612345678"
STRANGER = "+33655555555"


@pytest.fixture
async def portal() -> AsyncIterator[HubSpotPortal]:
    hs = HubSpotPortal()
    hs.add_contact("Camille", "Petit", "06 12 34 56 78", company="Boulangerie Petit")
    hs.served = Served(hs.app())
    async with hs.served:
        yield hs


def preset(hs: HubSpotPortal) -> MappingConnector:
    assert hs.served is not None
    return load_mapping(presets.resolve("preset:hubspot"),
                        {"api_url": hs.served.url, "portal_id": "139876543"},
                        environ={"HUBSPOT_TOKEN": TOKEN})


def popped(agent: Any, start: int) -> dict[str, Any]:
    return next(f["data"] for f in agent.frames[start:]
                if f.get("type") == "event" and f["name"] == "screenpop")


async def test_a_caller_pops_their_contact_and_the_call_is_one_engagement(
        portal: HubSpotPortal, tmp_path: Path) -> None:
    async with crm_hub(tmp_path, preset(portal), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        start = len(alice.frames)
        iid = await call(h, alice, CAMILLE)
        [match] = popped(alice, start)["matches"]
        assert (match["name"], match["company"]) == ("Camille Petit", "Boulangerie Petit")
        assert match["url"].endswith(f"/contacts/139876543/record/0-1/{match['record_id']}")
        delivered = await row(h, iid, "delivered")
        [engagement] = portal.calls_with(iid)
        assert engagement["id"] == delivered["activity_id"]
        p = engagement["properties"]
        assert (p["hs_call_direction"], p["hs_call_from_number"]) == ("INBOUND", CAMILLE)
        assert int(p["hs_call_duration"]) % 1000 == 0  # milliseconds
        assert engagement["associations"][0]["to"]["id"] == match["record_id"]


async def test_an_unknown_caller_is_logged_with_no_association(
        portal: HubSpotPortal, tmp_path: Path) -> None:
    async with crm_hub(tmp_path, preset(portal), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        iid = await call(h, alice, STRANGER)
        await row(h, iid, "delivered")
        [engagement] = portal.calls_with(iid)
        assert engagement["associations"] == []


async def test_a_cut_answer_is_found_by_search_once_hubspot_indexed_it(
        portal: HubSpotPortal, tmp_path: Path) -> None:
    """Search is eventually consistent: the check finds the call once it is indexed
    (the hub waits settle_seconds first, longer than HubSpot's indexing delay)."""
    portal.index_delay = 0.3
    async with crm_hub(tmp_path, preset(portal), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        portal.cut_next_log = True
        iid = await call(h, alice, CAMILLE)
        assert (await row(h, iid, "pending", attempted=True))["in_doubt"]
        posts = portal.call_posts
        await asyncio.sleep(0.4)  # real time: HubSpot's index catches up
        await later(h, 11)
        await row(h, iid, "delivered")
        assert len(portal.calls_with(iid)) == 1 and portal.call_posts == posts


async def test_a_portal_without_the_key_property_says_what_to_create(
        portal: HubSpotPortal, tmp_path: Path) -> None:
    portal.custom_call_properties.clear()
    async with crm_hub(tmp_path, preset(portal), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        failed = await row(h, await call(h, alice, CAMILLE), attempted=True)
        assert failed["last_status"] == 400
        assert "ctibridge_key" in failed["last_error"] and "PROPERTY_DOESNT_EXIST" in \
            failed["last_error"]
        assert portal.calls == {}
