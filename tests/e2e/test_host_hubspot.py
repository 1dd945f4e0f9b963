"""The bar as HubSpot's calling app, in Chromium: HubSpot's side is the Calling Extensions
SDK's own host code (hosts/hubspot_host.html), HubSpot's REST API the documented double of
tests/integration/crm/vendors/hubspot.py behind preset:hubspot.

A customer calls → HubSpot is told (incomingCall) and opens the contact
(navigateToRecord) → the agent answers in HubSpot's frame → a click on a number in HubSpot
dials it (onDialNumber) → wrap-up → one call engagement per call in HubSpot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.integration.crm.vendors.hubspot import TOKEN, HubSpotPortal
from tests.integration.crm.vendors.serving import Served

from .conftest import Browsers, RunningHub, free_port, host_bar, ready_in

HOST = Path(__file__).with_name("hosts") / "hubspot_host.html"
SDK = (Path(__file__).resolve().parents[2] / "src" / "ctibridge" / "web" / "agentbar" / "vendor"
       / "hubspot-calling-extensions-sdk.js")


async def received(page: Any, kind: str, count: int = 1) -> list[dict[str, Any]]:
    await page.wait_for_function(
        "([t, n]) => window.hubspot.received.filter((m) => m.type === t).length >= n",
        arg=[kind, count])
    got = await page.evaluate("() => window.hubspot.received")
    return [m["data"] for m in got if m["type"] == kind]


@pytest.fixture
async def portal() -> Any:
    hs = HubSpotPortal()
    hs.add_contact("Camille", "Petit", "+33 6 12 34 56 78", company="Boulangerie Petit")
    hs.served = Served(hs.app())
    async with hs.served:
        yield hs


async def test_the_bar_inside_hubspot_pops_answers_dials_and_logs_once(
    start_hub: Any, host_page: Any, browsers: Browsers, portal: HubSpotPortal,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUBSPOT_TOKEN", TOKEN)
    port = free_port()
    widget = f"http://127.0.0.1:{port}/agentbar/?user=alice%26host=hubspot"
    hubspot = await host_page(HOST.read_text(), {"/sdk.js": ("text/javascript", SDK.read_bytes())})
    assert portal.served is not None
    hub: RunningHub = await start_hub(
        server={"port": port, "allowed_origins": [hubspot]}, wrap_up_seconds=5,
        crm={"mapping": "preset:hubspot", "log_calls": True,
             "variables": {"api_url": portal.served.url, "portal_id": "139876543"}})
    page, bar = await host_bar(browsers, f"{hubspot}/?widget={widget}",
                               "#hubspot-calling-extension-iframe", name="hubspot")
    await page.wait_for_function("() => window.hubspot.synced")
    [init] = await received(page, "INITIALIZED")
    assert init["isLoggedIn"] is False

    await ready_in(bar)
    await received(page, "LOGGED_IN")
    await received(page, "USER_AVAILABLE")

    # Camille calls: HubSpot hears of it and opens her contact.
    ref = hub.sim.customer_calls("support", number="+33612345678")
    [incoming] = await received(page, "INCOMING_CALL")
    assert incoming["fromNumber"] == "+33612345678" and incoming["createEngagement"] is False
    [nav] = await received(page, "NAVIGATE_TO_RECORD")
    camille = next(iter(portal.contacts))
    assert nav["objectCoordinates"] == {"portalId": 139876543, "objectId": int(camille),
                                        "objectTypeId": "0-1"}
    await bar.get_by_role("button", name="Answer").click()
    [answered] = await received(page, "CALL_ANSWERED")
    assert answered["externalCallId"] == incoming["externalCallId"]
    await bar.locator(".calls ctib-call").get_by_role("button", name="Hang up").click()
    [ended] = await received(page, "CALL_ENDED")
    assert ended["callEndStatus"] == "COMPLETED"
    await received(page, "CALL_COMPLETED")
    await bar.locator("#ctib-disposition").select_option("resolved")
    await bar.get_by_role("button", name="Save and go ready").click()
    await expect(bar.locator(".state")).to_have_attribute("data-status", "ready")
    hub.sim.customer_hangs_up(ref)

    # A click on Camille's number in HubSpot dials it, against her record.
    hub.sim.set_outcome("+33612345678", "answer")
    await page.evaluate(f"() => window.hubspot.dial('+33 6 12 34 56 78', {int(camille)})")
    [outgoing] = await received(page, "OUTGOING_CALL_STARTED")
    card = bar.locator(".calls ctib-call")
    await expect(card).to_have_attribute("data-state", "connected")
    await expect(card.locator("section.crm .crm-name")).to_have_text("Camille Petit")
    await received(page, "CALL_ANSWERED", 2)
    # HubSpot's own "end call" button hangs up.
    await page.evaluate("() => window.hubspot.endCall()")
    ends = await received(page, "CALL_ENDED", 2)
    assert ends[1]["externalCallId"] == outgoing["externalCallId"]
    await bar.locator("#ctib-disposition").select_option("resolved")
    await bar.get_by_role("button", name="Save and go ready").click()

    # One engagement per call, each associated with Camille; nothing HubSpot refused.
    await hub.until(lambda: len(portal.calls) == 2, "two calls logged in HubSpot", 15)
    for engagement in portal.calls.values():
        assert engagement["associations"][0]["to"]["id"] == camille
    directions = sorted(c["properties"]["hs_call_direction"] for c in portal.calls.values())
    assert directions == ["INBOUND", "OUTBOUND"]
    assert await page.evaluate("() => window.hubspot.refused") == []
    assert await page.evaluate("() => window.hubspot.failed") is None
