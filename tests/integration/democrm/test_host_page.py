"""The demo CRM as the bar's host page, in Chromium: navigation keeps the bar's frame,
screen-pop messages open records, phone numbers dial through the bar."""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.needs import unavailable

from .conftest import Crm

CHROMIUM = "/usr/bin/chromium"
HAVE_CHROMIUM = os.path.exists(CHROMIUM)
pytestmark = pytest.mark.e2e
EVIL = '<img src=x onerror="window.__pwned=1">Eve'


@pytest.fixture
async def browser_page() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    if not HAVE_CHROMIUM:
        unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                           args=["--no-sandbox", "--disable-gpu"])
        context = await browser.new_context(locale="en-GB", viewport={"width": 1200,
                                                                      "height": 800})
        context.set_default_timeout(8000)
        yield await context.new_page()
        await browser.close()


def pop_from_bar(data: dict[str, Any]) -> str:
    """JS run inside the bar's frame: what the bar posts to its host."""
    return ("() => parent.postMessage({source: 'ctibridge', version: 1, "
            f"type: 'ctibridge.screenpop', data: {json.dumps(data)}}}, location.origin)")


async def test_the_crm_page_hosts_the_bar_and_opens_what_it_pops(crm_in_hub: Crm,
                                                                  browser_page: Any) -> None:
    from playwright.async_api import expect

    crm, page = crm_in_hub, browser_page
    eve = (await crm.http.post("/contacts", json={
        "first_name": EVIL, "last_name": "Martin",
        "phones": [{"label": "mobile", "number": "06 11 22 33 01"}]})).json()
    other = (await crm.http.post("/contacts", json={
        "first_name": "Léa", "last_name": "Bernard",
        "phones": [{"label": "mobile", "number": "06.11.22.33.01"}]})).json()

    await page.goto(f"{crm.base}/?user=alice")
    bar = page.frame_locator("#ctibridge")
    await expect(bar.locator("ctibridge-bar")).to_be_attached()
    frame = page.frame(url=re.compile(r"/agentbar/"))
    assert frame is not None
    await frame.evaluate("() => { window.__kept = 'bar' }")
    await page.evaluate("() => { window.__kept = 'page' }")

    async def still_the_same_documents() -> None:
        assert await page.evaluate("() => window.__kept") == "page"
        assert await frame.evaluate("() => window.__kept") == "bar"

    # A link in the CRM replaces the main area only: neither the page nor the bar reloads.
    await page.locator("main a[href^='/democrm/contacts/']").first.click()
    await expect(page).to_have_url(re.compile(r"/democrm/contacts/\d+$"))
    await expect(page.locator("main h2")).to_have_text("Activity history")
    await still_the_same_documents()

    # The bar pops one record: the CRM opens it.
    await frame.evaluate(pop_from_bar({"outcome": "one", "matches": [
        {"record_id": str(other["id"]), "name": "Léa Bernard", "url": other["url"]}]}))
    await expect(page).to_have_url(other["url"])
    await expect(page.locator("main h1")).to_have_text("Léa Bernard")

    # Several: the choice, names shown as text; picking one opens it.
    await frame.evaluate(pop_from_bar({"outcome": "several", "create_url": None, "matches": [
        {"record_id": str(eve["id"]), "name": f"{EVIL} Martin", "company": None,
         "url": eve["url"]},
        {"record_id": str(other["id"]), "name": "Léa Bernard", "url": other["url"]}]}))
    choice = page.locator("#pop")
    await expect(choice).to_contain_text("Several contacts have this number")
    await expect(choice.locator("a")).to_have_count(2)
    await expect(choice.locator("a").first).to_have_text(f"{EVIL} Martin")
    await choice.locator("a").first.click()
    await expect(page).to_have_url(eve["url"])
    await expect(page.locator("main h1")).to_have_text(f"{EVIL} Martin")
    await expect(choice).to_be_hidden()

    # A URL outside this CRM is never opened.
    await frame.evaluate(pop_from_bar({"outcome": "one", "matches": [
        {"record_id": "1", "url": "https://evil.example/contacts/1"}]}))
    await frame.evaluate(pop_from_bar({"outcome": "unavailable", "matches": [],
                                       "error": "lookup by_phone: HTTP 503"}))
    await expect(choice).to_contain_text("The CRM could not be searched for this caller.")
    assert page.url == eve["url"]
    # None: the create form with the number; saving it opens the new record.
    create = f"{crm.base}/contacts/new?phone=%2B33611223399"
    await frame.evaluate(pop_from_bar({"outcome": "none", "matches": [], "create_url": create}))
    await expect(page.locator("#f-phone")).to_have_value("+33611223399")
    await page.locator("#f-first_name").fill("Nina")
    await page.locator("#f-last_name").fill("Roux")
    await page.get_by_role("button", name="Create the contact").click()
    await expect(page.locator("main h1")).to_have_text("Nina Roux")
    await expect(page).to_have_url(re.compile(r"/democrm/contacts/\d+$"))
    await still_the_same_documents()

    # Back and forward go through the pages without reloading either.
    await page.go_back()
    await expect(page.locator("#f-phone")).to_be_visible()
    await still_the_same_documents()

    # A phone number dials through the bar (the agent is not logged in: the bar's
    # answer comes back and the CRM shows it).
    await page.goto(eve["url"] + "?user=alice")
    frame = page.frame(url=re.compile(r"/agentbar/"))
    await expect(page.frame_locator("#ctibridge").locator("ctibridge-bar")).to_be_attached()
    await expect(page.frame_locator("#ctibridge").locator("button.agent-login")).to_be_visible()
    await page.locator("main a.dial").first.click()
    await expect(page.locator("#pop")).to_contain_text("The call could not be placed")
    assert await page.evaluate("() => window.__pwned") is None
