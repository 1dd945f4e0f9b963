"""The screen pop never takes the keyboard from the bar: the bar inside the demo CRM,
a customer calls, the CRM opens her contact beside it, and the agent answers with the
keyboard (Enter on the focused Answer button, or Alt+A)."""

from __future__ import annotations

from playwright.async_api import expect

from .conftest import Browsers, RunningHub, democrm_bar, ready_in
from .democrm import Crm


async def test_a_pop_in_the_demo_crm_leaves_the_focus_on_answer_and_the_keyboard_answers(
    crm_hub: RunningHub, browsers: Browsers
) -> None:
    hub = crm_hub
    crm = Crm(hub)
    camille = await crm.contact("Camille", "Petit", "06 98 76 54 32")
    louis = await crm.contact("Louis", "Moreau", "06 11 22 33 44")
    page, bar = await democrm_bar(browsers, hub)
    await ready_in(bar)

    # Camille calls: the CRM opens her contact beside the bar ...
    ref = hub.sim.customer_calls("support", number="+33698765432")
    await expect(page).to_have_url(camille["url"])
    await expect(page.locator("#main h1")).to_have_text("Camille Petit")
    await expect(bar.locator("ctib-call.toast section.crm .crm-name")).to_have_text("Camille Petit")
    # ... the bar said so in its live regions, and the keyboard is still on Answer.
    await expect(bar.locator("ctibridge-bar > [aria-live=assertive]")).to_have_text(
        "Incoming call from +33 6 98 76 54 32")
    polite = bar.locator("ctibridge-bar > [aria-live=polite]")
    await expect(polite).to_have_text("CRM record: Camille Petit")
    answer = bar.locator("ctib-call.toast").get_by_role("button", name="Answer")
    await expect(answer).to_be_focused()
    assert await page.evaluate("() => document.activeElement.id") == "ctibridge"

    await page.keyboard.press("Enter")
    card = bar.locator(".calls ctib-call")
    await expect(card).to_have_attribute("data-state", "connected")
    hub.sim.customer_hangs_up(ref)
    await bar.locator("#ctib-disposition").select_option("resolved")
    await bar.get_by_role("button", name="Save and go ready").click()
    await expect(bar.locator(".state")).to_have_attribute("data-status", "ready")

    # Louis calls: the CRM moves to his contact; Alt+A answers.
    hub.sim.customer_calls("support", number="+33611223344")
    await expect(page).to_have_url(louis["url"])
    await expect(page.locator("#main h1")).to_have_text("Louis Moreau")
    answer = bar.locator("ctib-call.toast").get_by_role("button", name="Answer")
    await expect(answer).to_be_focused()
    assert await page.evaluate("() => document.activeElement.id") == "ctibridge"
    await page.keyboard.press("Alt+A")
    await expect(card).to_have_attribute("data-state", "connected")
    await expect(card.locator("section.crm .crm-name")).to_have_text("Louis Moreau")


async def test_a_click_in_the_crm_still_moves_the_focus_to_the_page_it_opens(
    crm_hub: RunningHub, browsers: Browsers
) -> None:
    """The agent's own navigation focuses the new page (for screen readers): only the
    pop does not."""
    crm = Crm(crm_hub)
    await crm.contact("Zéphyrin", "Quasimodo", "06 98 76 54 32")
    page = await browsers.page(name="crm", width=1280, height=800)
    await page.goto(f"{crm_hub.url}/democrm/?q=Quasimodo")
    await page.locator("#main a", has_text="Quasimodo Zéphyrin").click()
    await expect(page.locator("#main h1")).to_have_text("Zéphyrin Quasimodo")
    await expect(page.locator("#main")).to_be_focused()
