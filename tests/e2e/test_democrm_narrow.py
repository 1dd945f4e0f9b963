"""The demo CRM in a narrow window (350 px): nothing runs off the side, the bar's own focus
never scrolls the page, and the history reads in the page's language."""

from __future__ import annotations

from typing import Any

from .conftest import Browsers, RunningHub
from .democrm import Crm


async def test_a_350_px_crm_page_fits_and_the_bar_does_not_scroll_it(
    crm_hub: RunningHub, browsers: Browsers
) -> None:
    from playwright.async_api import expect

    hub = crm_hub
    crm = Crm(hub)
    jeanne = await crm.contact("Jeanne-Marie-Antoinette", "Delacroix-Beauregard",
                               "06 98 76 54 31")
    r = await crm.http.post("/activities", headers={"Idempotency-Key": "narrow-1"}, json={
        "contact_id": jeanne["id"], "kind": "call", "direction": "inbound",
        "started_at": "2026-03-01T09:00:00Z", "duration_seconds": 185, "queue": "support",
        "agent": "Alice Martin", "disposition": "callback",
        "notes": "Rappeler-après-la-livraison-du-colis-numéro-123456789-pour-confirmer"})
    assert r.status_code == 201, r.text
    page = await browsers.page(name="crm", width=350, height=700)
    for path in (f"/democrm/contacts/{jeanne['id']}?user=alice&lang=fr",
                 "/democrm/?user=alice&lang=fr"):
        await page.goto(hub.url + path)
        bar = page.frame_locator("#ctibridge")
        await expect(bar.locator(".conn")).to_have_attribute("data-status", "online")
        await expect(bar.locator("button.agent-login")).to_be_visible()  # signed in
        sizes: dict[str, Any] = await page.evaluate(
            "() => ({scroll: document.documentElement.scrollWidth, width: innerWidth,"
            " y: scrollY})")
        assert sizes["scroll"] <= sizes["width"], (path, sizes)  # no sideways scrolling
        assert sizes["y"] == 0, (path, sizes)  # the bar's focus did not move the page
    await page.goto(hub.url + f"/democrm/contacts/{jeanne['id']}?lang=fr")
    row = page.locator("#main table.history tr.activity")
    await expect(row).to_contain_text("Appel entrant")
    await expect(row).to_contain_text("À rappeler")
    await expect(row).to_contain_text("Alice Martin")
