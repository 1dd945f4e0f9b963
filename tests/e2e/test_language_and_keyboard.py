"""French and English; everything with the keyboard alone."""

from __future__ import annotations

from playwright.async_api import expect

from .conftest import Bar, Browsers, RunningHub


async def test_the_bar_speaks_the_browser_language_and_remembers_a_switch(
    hub: RunningHub, open_bar
) -> None:
    bar: Bar = await open_bar("alice", locale="fr-FR")
    page = bar.page
    await expect(page.locator("html")).to_have_attribute("lang", "fr")
    await expect(bar.status).to_have_text("Connecté")
    await expect(bar.state).to_have_text("Déconnecté")
    await page.get_by_role("button", name="Connexion agent").click()
    await expect(bar.state).to_have_text("Indisponible — Connexion")
    await page.get_by_label("Motif d'indisponibilité").select_option("lunch")
    await page.get_by_role("button", name="Indisponible", exact=True).click()
    await expect(bar.state).to_have_text("Indisponible — Déjeuner")

    # An error from the hub, in French: hanging up a call that is not there.
    await page.evaluate("""() => document.querySelector('ctibridge-bar')
        .run('call.hangup', {call_id: 'c-does-not-exist'})""")
    await expect(page.locator(".banner.error")).to_contain_text("Cet appel est déjà terminé.")

    await page.get_by_label("Langue").select_option("en")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(bar.state).to_have_text("Not ready — Lunch")
    await expect(bar.status).to_have_text("Connected")
    await page.reload()
    await expect(bar.status).to_have_text("Connected")
    await expect(bar.state).to_have_text("Not ready — Lunch")
    await expect(page.get_by_role("button", name="Ready", exact=True)).to_be_visible()


async def test_an_agent_signs_in_and_handles_a_call_with_the_keyboard_only(
    hub: RunningHub, browsers: Browsers
) -> None:
    page = await browsers.page(name="keyboard")
    bar = Bar(page, hub)
    await page.goto(hub.bar_url())
    user = page.get_by_label("Username")
    await expect(user).to_be_focused()
    await page.keyboard.type("alice")
    await page.keyboard.press("Tab")
    await page.keyboard.type("alice")
    await page.keyboard.press("Enter")
    await expect(bar.status).to_have_attribute("data-status", "online")
    login = page.get_by_role("button", name="Agent log in")
    await expect(login).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(bar.state).to_contain_text("Not ready")
    await page.keyboard.press("Alt+R")
    await expect(bar.state).to_have_text("Ready")

    hub.sim.customer_calls("support", number="+33612345678", name="Camille Petit")
    answer = bar.toast.get_by_role("button", name="Answer")
    await expect(answer).to_be_focused()
    await page.keyboard.press("Alt+A")
    call = bar.card("Camille Petit")
    await expect(call).to_have_attribute("data-state", "connected")
    await page.keyboard.press("Alt+O")
    await expect(call).to_have_attribute("data-state", "held")
    await page.keyboard.press("Alt+O")
    await expect(call).to_have_attribute("data-state", "connected")
    await page.keyboard.press("Alt+H")
    await expect(page.locator("ctib-call")).to_have_count(0)

    # Wrap-up: the focus lands on the outcome; arrows choose, Tab and Enter save.
    outcome = page.get_by_label("Outcome")
    await expect(outcome).to_be_focused()
    await page.keyboard.press("ArrowDown")
    await expect(outcome).to_have_value("resolved")
    await page.keyboard.press("Tab")
    await page.keyboard.type("Sorted on the phone")
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Save and go ready")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator(".state")).to_have_attribute("data-status", "ready")
    await expect(page.locator(".recent-list li").first).to_contain_text("Resolved")
