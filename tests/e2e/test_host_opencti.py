"""The bar as a Salesforce Open CTI softphone, in Chromium: Salesforce's side is the test
host of hosts/salesforce_host.html with an Open CTI library written from the developer
guide (hosts/opencti_double.js), Salesforce's REST API the documented double of
tests/integration/crm/vendors/salesforce.py behind preset:salesforce.

A customer calls → the softphone panel opens and Salesforce pops the contact
(screenPop) → the agent answers → a click on a phone field dials it (onClickToDial) →
wrap-up → one Task per call in the org.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.integration.crm.vendors.salesforce import (
    CONSUMER_KEY,
    USERNAME,
    SalesforceOrg,
    key_pair,
)
from tests.integration.crm.vendors.serving import serving

from .conftest import Browsers, RunningHub, free_port, host_bar, ready_in
from .hosts import answered_in, hang_up_and_wrap_up, host_calls

HOSTS = Path(__file__).with_name("hosts")


async def calls(page: Any, name: str, count: int = 1) -> list[dict[str, Any]]:
    return await host_calls(page, "salesforce", name, count)


@pytest.fixture
async def org() -> Any:
    private, public = key_pair()
    sf = SalesforceOrg(public_key=public)
    sf.private_key = private  # type: ignore[attr-defined]
    sf.add_contact("Camille", "Petit", "+33 6 12 34 56 78", account="Boulangerie Petit")
    async with serving(sf):
        yield sf


async def test_the_bar_as_an_open_cti_softphone_pops_dials_and_logs_once(
    start_hub: Any, host_page: Any, browsers: Browsers, org: SalesforceOrg,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for k, v in {"SF_CLIENT_ID": CONSUMER_KEY, "SF_USERNAME": USERNAME,
                 "SF_PRIVATE_KEY": org.private_key}.items():  # type: ignore[attr-defined]
        monkeypatch.setenv(k, v)
    port = free_port()
    library = ("text/javascript", (HOSTS / "opencti_double.js").read_bytes())
    salesforce = await host_page((HOSTS / "salesforce_host.html").read_text(),
                                 {"/support/api/62.0/lightning/opencti_min.js": library})
    hub: RunningHub = await start_hub(
        server={"port": port, "allowed_origins": [salesforce], "script_origins": [salesforce]},
        crm={"mapping": "preset:salesforce", "log_calls": True,
             "variables": {"instance_url": org.url, "login_url": org.url}})
    adapter = f"http://127.0.0.1:{port}/agentbar/?user=alice&host=opencti&sfdc={salesforce}"
    page, bar = await host_bar(browsers, f"{salesforce}/?adapter={adapter.replace('&', '%26')}",
                               "#softphone", name="salesforce")
    await calls(page, "notifyInitializationComplete")
    [enabled] = await calls(page, "enableClickToDial")
    assert enabled["ok"]
    [height] = await calls(page, "setSoftphonePanelHeight")
    assert height["ok"], height
    await ready_in(bar)

    # Camille calls: the panel opens and Salesforce opens her contact.
    ref = hub.sim.customer_calls("support", number="+33612345678")
    [shown] = await calls(page, "setSoftphonePanelVisibility")
    assert shown["args"]["visible"] is True and shown["ok"]
    [pop] = await calls(page, "screenPop")
    camille = next(r["Id"] for r in org.of("Contact"))
    assert pop["ok"] and pop["args"] == {"type": "sobject", "params": {"recordId": camille}}
    card = await answered_in(bar)
    await hang_up_and_wrap_up(bar, card)
    await expect(bar.locator(".state")).to_have_attribute("data-status", "ready")
    hub.sim.customer_hangs_up(ref)

    # A click on her phone field in Salesforce dials it, against her record.
    hub.sim.set_outcome("+33612345678", "answer")
    await page.evaluate("(id) => window.salesforce.click({number: '+33 6 12 34 56 78', "
                        "recordId: id, recordName: 'Camille Petit', objectType: 'Contact'})",
                        camille)
    await expect(card).to_have_attribute("data-state", "connected")
    await expect(card.locator("section.crm .crm-name")).to_have_text("Camille Petit")
    await hang_up_and_wrap_up(bar, card)

    # One Task per call, both on Camille; Salesforce refused nothing the bar asked.
    await hub.until(lambda: len(org.of("Task")) == 2, "two Tasks in the org", 15)
    assert sorted(t["CallType"] for t in org.of("Task")) == ["Inbound", "Outbound"]
    assert all(t["WhoId"] == camille for t in org.of("Task"))
    refused = [c for c in await page.evaluate("() => window.salesforce.calls") if not c["ok"]]
    assert refused == []
