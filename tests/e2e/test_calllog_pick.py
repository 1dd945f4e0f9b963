"""The call log in Chromium: a call the CRM cannot log by itself asks its agent in the
bar (English and French), and the supervisor page says when the CRM refuses our
credentials, until they are fixed.

The real hub, Chromium, and the DRF-like test CRM of tests/integration/crm/realcrm.py:
two contacts share the caller's number and the agent picks neither during the call.
The call's log waits; the bar's recent calls say "Pick a record to log this call:"
with both contacts; the agent's pick sends the log, once, against that contact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from playwright.async_api import expect

from tests.integration.crm.realcrm import MAPPING, TOKEN, seeded, serve_real_crm, variables

from .conftest import Bar, Browsers

MOREL = "+33140000000"


async def test_the_agent_picks_the_record_a_waiting_log_goes_to(
    start_hub: Any, browsers: Browsers, tmp_path: Path,
) -> None:
    async with serve_real_crm(seeded()) as crm:
        mapping = tmp_path / "realcrm.yaml"
        mapping.write_text(yaml.safe_dump(yaml.safe_load(MAPPING.read_text())), encoding="utf-8")
        hub = await start_hub(crm={"mapping": str(mapping), "variables": variables(crm)},
                              wrap_up_seconds=0)
        alice = await Bar(await browsers.page(name="alice"), hub).open("alice")
        await alice.agent_ready()
        ref = hub.sim.customer_calls("support", number=MOREL)
        await alice.toast.get_by_role("button", name="Answer").click()
        await expect(alice.page.locator(".calls ctib-call")).to_have_attribute(
            "data-state", "connected")
        hub.sim.customer_hangs_up(ref)
        await expect(alice.page.locator("ctib-call")).to_have_count(0)
        pick = alice.page.locator(".recent-list .log-pick")
        await expect(pick).to_contain_text("Pick a record to log this call:")
        await expect(pick.locator("button.pick")).to_have_count(2)
        await alice.page.locator("select.lang").select_option("fr")
        await expect(pick).to_contain_text("Choisissez la fiche où journaliser cet appel :")
        await alice.page.locator("select.lang").select_option("en")
        assert crm.log_posts == 0
        await pick.get_by_role("button", name="Lucie Morel").click()
        await expect(alice.page.locator(".recent-list .log-pick")).to_have_count(0)
        lucie = next(c for c in crm.contacts.values() if c["first_name"] == "Lucie")
        for _ in range(100):
            if crm.interactions:
                break
            await alice.page.wait_for_timeout(50)
        assert [i["contact"] for i in crm.interactions.values()] == [lucie["id"]]


async def test_the_supervisor_sees_the_crm_refusing_our_credentials_until_it_is_fixed(
    start_hub: Any, browsers: Browsers, tmp_path: Path,
) -> None:
    async with serve_real_crm(seeded()) as crm:
        mapping = tmp_path / "realcrm.yaml"
        mapping.write_text(MAPPING.read_text(), encoding="utf-8")
        hub = await start_hub(crm={"mapping": str(mapping), "variables": variables(crm)},
                              wrap_up_seconds=0)
        alice = await Bar(await browsers.page(name="alice"), hub).open("alice")
        await alice.agent_ready()
        page = await browsers.page(name="sam", width=1280, height=900)
        await page.goto(f"{hub.url}/supervisor/?user=sam")
        panel = page.locator("section.calllog")
        await expect(panel).to_contain_text("Call log to the CRM")
        await expect(panel.locator(".crm-refused")).to_be_hidden()

        crm.tokens.clear()  # the CRM's admin revoked the hub's token
        ref = hub.sim.customer_calls("support", number="+33612345678")
        await alice.toast.get_by_role("button", name="Answer").click()
        await expect(alice.page.locator(".calls ctib-call")).to_have_attribute(
            "data-state", "connected")
        hub.sim.customer_hangs_up(ref)
        refused = panel.locator(".crm-refused")
        await expect(refused).to_contain_text("CRM refusing our credentials since",
                                              timeout=15_000)
        await expect(refused).to_contain_text("HTTP 403")
        await expect(refused).to_contain_text("Invalid token.")
        await page.locator("select.lang").select_option("fr")
        await expect(page.locator("section.calllog .crm-refused")).to_contain_text(
            "Le CRM refuse nos identifiants depuis", timeout=15_000)
        await page.locator("select.lang").select_option("en")

        crm.tokens.add(TOKEN)  # fixed: the next call's log goes through, the rest follow
        ref = hub.sim.customer_calls("support", number="+33612345678")
        await alice.toast.get_by_role("button", name="Answer").click()
        await expect(alice.page.locator(".calls ctib-call")).to_have_attribute(
            "data-state", "connected")
        hub.sim.customer_hangs_up(ref)
        await expect(page.locator("section.calllog .crm-refused")).to_be_hidden(timeout=15_000)
        await expect(page.locator("section.calllog .calllog-counts")).to_contain_text(
            "2 logged", timeout=15_000)
        assert len(crm.interactions) == 2
