"""The bar as a Dynamics 365 channel provider (CIF v2), in Chromium: Dynamics' side is
the test host of hosts/dynamics_host.html with a CIF library written from Microsoft
Learn's reference (hosts/cif_double.js), Dataverse the documented double of
tests/integration/crm/vendors/dynamics.py behind preset:dynamics365.

A customer calls → Dynamics shows a notification (notifyEvent) and opens the contact
(searchAndOpenRecords) → the agent answers → a click on the contact's phone field dials
it (onclicktoact) against the record on screen → one phone call per call in Dataverse.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.integration.crm.vendors.dynamics import CLIENT_ID, CLIENT_SECRET, TENANT, Dataverse
from tests.integration.crm.vendors.serving import serving

from .conftest import Browsers, RunningHub, free_port, host_bar, ready_in
from .hosts import answered_in, hang_up_and_wrap_up, host_calls

HOSTS = Path(__file__).with_name("hosts")


async def calls(page: Any, name: str, count: int = 1) -> list[dict[str, Any]]:
    return await host_calls(page, "dynamics", name, count)


@pytest.fixture
async def org() -> Any:
    dv = Dataverse()
    dv.add_contact("Camille", "Petit", "+33 6 12 34 56 78", account="Boulangerie Petit")
    async with serving(dv):
        yield dv


async def test_the_bar_as_a_cif_channel_pops_dials_and_logs_once(
    start_hub: Any, host_page: Any, browsers: Browsers, org: Dataverse,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("D365_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("D365_CLIENT_SECRET", CLIENT_SECRET)
    port = free_port()
    library = ("text/javascript", (HOSTS / "cif_double.js").read_bytes())
    dynamics = await host_page((HOSTS / "dynamics_host.html").read_text(),
                               {"/webresources/Widget/msdyn_ciLibrary.js": library})
    hub: RunningHub = await start_hub(
        server={"port": port, "allowed_origins": [dynamics], "script_origins": [dynamics]},
        crm={"mapping": "preset:dynamics365", "log_calls": True,
             "variables": {"org_url": org.url, "tenant_id": TENANT, "login_host": org.url}})
    landing = (f"http://127.0.0.1:{port}/agentbar/?user=alice&host=cif&crm={dynamics}"
               "&template=msdyn_ctibridge_incoming&session_template=msdyn_ctibridge_call")
    page, bar = await host_bar(browsers, f"{dynamics}/?landing={landing.replace('&', '%26')}",
                               "#panel", name="dynamics")
    [cta] = await calls(page, "setClickToAct")
    assert cta["ok"] and cta["args"] == [True]
    [mode] = await calls(page, "setMode")
    assert mode["args"] == [1]
    await ready_in(bar)

    # Camille calls: Dynamics notifies the agent and opens her contact.
    ref = hub.sim.customer_calls("support", number="+33612345678")
    [note] = await calls(page, "notifyEvent")
    assert note["args"][0]["templateName"] == "msdyn_ctibridge_incoming"
    assert note["args"][0]["templateParameters"]["number"] == "+33612345678"
    [opened] = await calls(page, "searchAndOpenRecords")
    camille = next(iter(org.contacts))
    assert opened["ok"] and opened["args"] == [
        "contact", f"?$select=contactid&$filter=contactid eq {camille}", False]
    card = await answered_in(bar)
    [session] = await calls(page, "createSession")  # one session tab for the call
    assert session["args"][0]["templateName"] == "msdyn_ctibridge_call"
    assert session["args"][0]["templateParameters"]["number"] == "+33612345678"
    await hang_up_and_wrap_up(bar, card)
    await expect(bar.locator(".state")).to_have_attribute("data-status", "ready")
    hub.sim.customer_hangs_up(ref)

    # On Camille's page, a click on her mobile number dials it, against her record.
    hub.sim.set_outcome("+33612345678", "answer")
    await page.evaluate("(id) => window.dynamics.navigate({pagetype: 'entityrecord', "
                        "etn: 'contact', id: '{' + id.toUpperCase() + '}'})", camille)
    await page.evaluate("() => window.dynamics.click({value: '+33 6 12 34 56 78', "
                        "name: 'mobilephone', format: 'phone', entityLogicalName: 'contact'})")
    [handled] = await calls(page, "clicktoactHandled")
    assert handled["ok"], handled
    await expect(card).to_have_attribute("data-state", "connected")
    await expect(card.locator("section.crm .crm-name")).to_have_text("Camille Petit")
    await hang_up_and_wrap_up(bar, card)

    await hub.until(lambda: len(org.phonecalls) == 2, "two phone calls in Dataverse", 15)
    assert sorted(p["directioncode"] for p in org.phonecalls.values()) == [False, True]
    assert all(p["_regardingobjectid_value"] == camille for p in org.phonecalls.values())
    refused = [c for c in await page.evaluate("() => window.dynamics.calls") if not c["ok"]]
    assert refused == []
