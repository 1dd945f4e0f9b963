"""Screen pop and click-to-call in Chromium: the real hub, the built-in demo CRM
(at /democrm on the hub, described to the hub by a mapping file as any CRM is),
the simulator playing the customers, and the agent bar alone or inside the CRM.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from playwright.async_api import expect

from .conftest import (
    Bar,
    Browsers,
    RunningHub,
    democrm_bar,
    ready_in,
    screenshot_path,
)
from .democrm import Crm

EVIL = '<img src=x onerror="window.__pwned=1"><b>Eve</b>'


async def _logged(crm: Crm, contact_id: int, count: int) -> list[dict[str, Any]]:
    """The contact's activities once the hub's outbox has written ``count`` of them."""
    loop = asyncio.get_running_loop()
    end = loop.time() + 8
    while len(found := await crm.activities(contact_id)) < count:
        if loop.time() > end:
            raise AssertionError(f"contact {contact_id} has {len(found)} activities, not {count}")
        await asyncio.sleep(0.1)  # the outbox delivers within a moment
    return found


def panel(bar: Bar) -> Any:
    """The screen-pop panel of the call that rings."""
    return bar.toast.locator("section.crm")


async def _ring(bar: Bar, hub: RunningHub, number: str, **kw: Any) -> str:
    ref: str = hub.sim.customer_calls("support", number=number, **kw)
    await expect(bar.toast).to_have_count(1)
    return ref


async def _gone(bar: Bar, hub: RunningHub, ref: str) -> None:
    hub.sim.customer_hangs_up(ref)
    await expect(bar.toast).to_have_count(0)


async def _in(bar: Bar, lang: str) -> None:
    await bar.page.locator("select.lang").select_option(lang)


async def test_the_bar_shows_one_several_none_or_unavailable_in_english_and_french(
    crm_hub: RunningHub, browsers: Browsers
) -> None:
    hub = crm_hub
    crm = Crm(hub)
    eve = await crm.contact(EVIL, "Martin", "+33 6 11 22 33 01")
    await crm.contact("Louis", "Bernard", "06 11 22 33 02")
    await crm.contact("Léa", "Bernard", "06.11.22.33.02")
    alice = await Bar(await browsers.page(name="alice"), hub).open("alice")
    await alice.agent_ready()

    # One match: its name (markup shown as text) and "Open", which opens it in a new tab.
    ref = await _ring(alice, hub, "+33611223301")
    pop = panel(alice)
    await expect(pop).to_have_attribute("data-view", "record")
    await expect(pop.locator(".crm-name")).to_have_text(f"{EVIL} Martin")
    assert await alice.page.locator("ctibridge-bar img, ctibridge-bar b").count() == 0
    async with alice.page.context.expect_page() as tab:
        await pop.get_by_role("button", name=re.compile("^Open ")).click()
    assert (await tab.value).url == eve["url"]
    await _in(alice, "fr")
    await expect(panel(alice).get_by_role("button", name=re.compile("^Ouvrir "))).to_be_visible()
    await _in(alice, "en")
    await _gone(alice, hub, ref)

    # Several: a list; the agent's choice is sent to the hub and shown.
    ref = await _ring(alice, hub, "+33611223302")
    pop = panel(alice)
    await expect(pop.locator(".crm-title")).to_have_text("2 records match this number")
    await expect(pop.locator("button.crm-pick")).to_have_count(2)
    await _in(alice, "fr")
    await expect(panel(alice).locator(".crm-title")).to_have_text(
        "2 fiches correspondent à ce numéro")
    await _in(alice, "en")
    async with alice.page.context.expect_page():
        await panel(alice).get_by_role("button", name="Choose Léa Bernard").click()
    await expect(panel(alice)).to_have_attribute("data-view", "record")
    await expect(panel(alice).locator(".crm-name")).to_have_text("Léa Bernard")
    await expect(panel(alice).get_by_role("button", name="Other match…")).to_be_visible()
    await _gone(alice, hub, ref)

    # None: "Create contact" with the number, and "Search again" once it exists.
    ref = await _ring(alice, hub, "+33611223303")
    pop = panel(alice)
    await expect(pop.locator(".crm-title")).to_have_text("No record for +33 6 11 22 33 03.")
    async with alice.page.context.expect_page() as tab:
        await pop.get_by_role("button", name="Create contact").click()
    assert "/democrm/contacts/new?phone=%2B33611223303" in (await tab.value).url
    await _in(alice, "fr")
    await expect(panel(alice).locator(".crm-title")).to_have_text(
        "Aucune fiche pour le +33 6 11 22 33 03.")
    await expect(panel(alice).get_by_role("button", name="Créer le contact")).to_be_visible()
    await _in(alice, "en")
    await crm.contact("Nina", "Roux", "0611223303")
    await panel(alice).get_by_role("button", name="Search again").focus()
    await alice.page.keyboard.press("Enter")  # by keyboard: the focus stays in the panel
    await expect(panel(alice).locator(".crm-name")).to_have_text("Nina Roux")
    open_nina = panel(alice).get_by_role("button", name="Open Nina Roux in the CRM")
    await expect(open_nina).to_be_focused()
    await _gone(alice, hub, ref)

    # Unavailable: the CRM failed (here it refuses the record id the IVR passed); the
    # call rings anyway, with the reason and "Retry".
    ref = await _ring(alice, hub, "+33611223304", attached={"crm_record_id": "not-a-number"})
    pop = panel(alice)
    await expect(pop.locator(".crm-title")).to_have_text("CRM unavailable")
    await expect(pop.locator(".crm-error")).to_contain_text("by_record_id")
    await _in(alice, "fr")
    await expect(panel(alice).locator(".crm-title")).to_have_text("CRM indisponible")
    await panel(alice).get_by_role("button", name="Réessayer").click()
    await expect(panel(alice).locator(".crm-title")).to_have_text("CRM indisponible")
    await _gone(alice, hub, ref)
    assert await alice.page.evaluate("() => window.__pwned") is None


async def test_a_caller_pops_in_the_demo_crm_is_logged_there_and_a_click_on_a_number_dials_it(
    crm_hub: RunningHub, browsers: Browsers
) -> None:
    hub = crm_hub
    crm = Crm(hub)
    camille = await crm.contact("Camille", "Petit", "06 98 76 54 32")
    page, bar = await democrm_bar(browsers, hub)
    await ready_in(bar)

    # Camille calls: the CRM page beside the bar opens her contact by itself.
    ref = hub.sim.customer_calls("support", number="+33698765432")
    await expect(bar.locator("ctib-call.toast section.crm .crm-name")).to_have_text("Camille Petit")
    await expect(page).to_have_url(camille["url"])
    await expect(page.locator("#main h1")).to_have_text("Camille Petit")
    await page.screenshot(path=screenshot_path("screenpop"))
    await bar.get_by_role("button", name="Answer").click()
    card = bar.locator(".calls ctib-call")
    await expect(card).to_have_attribute("data-state", "connected")
    await card.get_by_role("button", name="Hang up").click()
    await expect(bar.locator(".wrapup .wrap-record")).to_contain_text("Camille Petit")
    await bar.locator("#ctib-disposition").select_option("resolved")
    await bar.locator("#ctib-notes").fill("Refund sent <by mail>")
    await bar.get_by_role("button", name="Save and go ready").click()
    await expect(bar.locator(".state")).to_have_attribute("data-status", "ready")
    # The call log reaches the CRM through the outbox; the contact's page shows it.
    [logged] = await _logged(crm, camille["id"], 1)
    assert logged["direction"] == "inbound" and logged["disposition"] == "resolved"
    await page.reload()
    history = page.locator("#main table.history tr.activity")
    await expect(history).to_have_count(1)
    await expect(history).to_contain_text("Refund sent <by mail>")
    hub.sim.customer_hangs_up(ref)

    # A click on her number in the CRM dials it; the call is logged against her.
    hub.sim.set_outcome("+33698765432", "answer")
    await page.locator("#main a.dial").first.click()
    card = bar.locator(".calls ctib-call")
    await expect(card).to_have_attribute("data-state", "connected")
    await expect(card.locator("section.crm .crm-name")).to_have_text("Camille Petit")
    await card.get_by_role("button", name="Hang up").click()
    await bar.locator("#ctib-disposition").select_option("resolved")
    await bar.get_by_role("button", name="Save and go ready").click()
    logged = await _logged(crm, camille["id"], 2)
    assert sorted(a["direction"] for a in logged) == ["inbound", "outbound"]
    await page.reload()
    await expect(page.locator("#main table.history tr.activity.outbound")).to_have_count(1)


async def test_a_number_dialled_from_a_record_pops_and_logs_that_record_even_if_shared(
    crm_hub: RunningHub, browsers: Browsers
) -> None:
    """Two contacts share a switchboard number: the one it was dialled from wins."""
    hub = crm_hub
    crm = Crm(hub)
    await crm.contact("Louis", "Bernard", "02 40 00 00 00")
    lea = await crm.contact("Léa", "Bernard", "02 40 00 00 00")
    page, bar = await democrm_bar(browsers, hub)
    await bar.locator("button.agent-login").click()
    await expect(bar.locator(".state")).to_have_attribute("data-status", "not_ready")
    hub.sim.set_outcome("+33240000000", "answer")
    post = """(msg) => document.getElementById('ctibridge').contentWindow.postMessage(
                 msg, location.origin)"""
    # A hostile record id is refused by the bar (logged), and nothing is dialled.
    await page.evaluate(post, {"type": "ctibridge.dial", "number": "0240000000",
                               "record_id": {"$ne": "<img src=x onerror=window.__pwned=1>"}})
    await page.evaluate(post, {"type": "ctibridge.dial", "number": "02 40 00 00 00",
                               "record_id": str(lea["id"])})
    card = bar.locator(".calls ctib-call")
    await expect(card.locator("section.crm .crm-name")).to_have_text("Léa Bernard")
    await expect(page).to_have_url(lea["url"])  # the host was told to open it
    await expect(card).to_have_attribute("data-state", "connected")
    await card.get_by_role("button", name="Hang up").click()
    await bar.locator("#ctib-disposition").select_option("resolved")
    await bar.get_by_role("button", name="Save and go ready").click()
    [logged] = await _logged(crm, lea["id"], 1)
    assert logged["direction"] == "outbound"

    # "Call back" in the bar's recent calls keeps to the record the call was logged against.
    recent = bar.locator(".recent-list li").first
    await recent.get_by_role("button", name="Call back Léa Bernard").click()
    await expect(card.locator("section.crm .crm-name")).to_have_text("Léa Bernard")
    await expect(card).to_have_attribute("data-state", "connected")
    await card.get_by_role("button", name="Hang up").click()
    await bar.locator("#ctib-disposition").select_option("resolved")
    await bar.get_by_role("button", name="Save and go ready").click()
    assert [a["direction"] for a in await _logged(crm, lea["id"], 2)] == ["outbound"] * 2
    assert any("ignored a malformed command" in line for line in browsers.log_of(page))
    assert await page.evaluate("() => window.__pwned") is None


async def test_a_host_that_turns_auto_open_off_gets_only_what_the_agent_opens(
    crm_hub: RunningHub, browsers: Browsers
) -> None:
    hub = crm_hub
    crm = Crm(hub)
    camille = await crm.contact("Camille", "Petit", "06 98 76 54 32")
    page, bar = await democrm_bar(browsers, hub)
    await page.evaluate("""() => {
      window.got = [];
      addEventListener("message", (e) => {
        if (e.data?.source === "ctibridge") window.got.push(e.data);
      });
      document.getElementById("ctibridge").contentWindow.postMessage(
        {target: "ctibridge", type: "hello", auto_open: false, id: "h"}, location.origin);
    }""")
    await page.wait_for_function("() => window.got.some((m) => m.type === 'command.result')")
    assert (await page.evaluate("() => window.got.find((m) => m.type === 'command.result')"))[
        "data"]["result"]["auto_open"] is False
    await ready_in(bar)
    home = page.url

    hub.sim.customer_calls("support", number="+33698765432")
    pop = bar.locator("ctib-call.toast section.crm")
    await expect(pop.locator(".crm-name")).to_have_text("Camille Petit")
    await bar.get_by_role("button", name="Answer").click()
    await page.wait_for_function("() => window.got.some((m) => m.type === 'call.answered')")
    kinds = await page.evaluate("() => window.got.map((m) => m.type)")
    assert "ctibridge.screenpop" not in kinds and page.url == home
    # The agent opens it: the host is told, and opens it.
    card = bar.locator(".calls ctib-call section.crm")
    await card.get_by_role("button", name="Open Camille Petit in the CRM").click()
    await expect(page).to_have_url(camille["url"])
    [sent] = await page.evaluate("() => window.got.filter((m) => m.type === 'ctibridge.screenpop')")
    assert sent["data"]["trigger"] == "agent" and sent["data"]["outcome"] == "one"
    assert sent["data"]["matches"][0]["record_id"] == str(camille["id"])
    assert sent["data"]["number"] == "+33698765432"
