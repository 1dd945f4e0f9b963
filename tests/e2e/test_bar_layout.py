"""A narrow bar (360 px) under load: nine chats offered at once never push the agent's
state or the live call out of view; the offers become a compact list that the keyboard
still reaches."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import expect

from .conftest import Bar, Browsers, RunningHub, screenshot_path
from .test_omnichannel import DIGITAL, post_chat

# Nine chats at once for one agent, and a call beside them.
QUEUE = {"name": "support", "channels": ["voice", "chat"], "sl_seconds": 30,
         "offer_timeout_seconds": 120}
PRESENCE = {"blocks": {"voice": [], "chat": []}, "capacity": {"chat": 9}}


@pytest.fixture
async def hub(start_hub: Callable[..., Awaitable[RunningHub]]) -> RunningHub:
    return await start_hub(queues=[QUEUE], presence=PRESENCE, digital=DIGITAL)


async def in_view(page: Any, locator: Any) -> bool:
    """Wholly inside the window without scrolling it."""
    box = await locator.bounding_box()
    size = page.viewport_size
    scrolled = await page.evaluate("() => window.scrollY")
    return (bool(box) and scrolled == 0 and box["y"] >= 0
            and box["y"] + box["height"] <= size["height"])


async def test_nine_offers_at_360_px_leave_the_state_and_the_live_call_in_view(
    hub: RunningHub, browsers: Browsers
) -> None:
    page = await browsers.page(name="alice", width=360, height=740)
    alice = await Bar(page, hub).open("alice")
    await alice.agent_ready()
    for i in range(9):
        await post_chat(hub, name=f"Client {i + 1}", body=f"Bonjour, question {i + 1}",
                        handle=f"client{i + 1}")
    offers = page.locator("ctib-work.toast")
    await expect(offers).to_have_count(9)
    await expect(page.locator(".work-offers")).to_have_class("toasts work-offers compact")
    await expect(page.locator(".offers-head")).to_have_text("9 offers waiting")

    # A customer calls: the ringing call is in view, above the offers, and so is the state.
    ref = hub.sim.customer_calls("support", number="+33612345678", name="Camille Petit")
    await expect(alice.toast).to_have_count(1)
    assert await in_view(page, alice.toast)
    assert await in_view(page, page.locator("section.agent"))
    await alice.toast.get_by_role("button", name="Answer").click()
    call = alice.card("Camille Petit")
    await expect(call).to_have_attribute("data-state", "connected")
    assert await in_view(page, call)
    assert await in_view(page, call.get_by_role("button", name="Hang up"))
    await page.screenshot(path=screenshot_path("offers-compact"))

    # Every offer is still reached with the keyboard, and accepted with Alt+A.
    last = offers.nth(8).get_by_role("button", name="Accept")
    await last.focus()
    await expect(last).to_be_focused()
    await page.keyboard.press("Alt+A")
    await expect(offers).to_have_count(8)
    await expect(page.locator(".work ctib-work")).to_have_count(1)
    hub.sim.customer_hangs_up(ref)


async def test_two_offers_stay_full_cards(hub: RunningHub, browsers: Browsers) -> None:
    page = await browsers.page(name="alice", width=360, height=740)
    alice = await Bar(page, hub).open("alice")
    await alice.agent_ready()
    for i in range(2):
        await post_chat(hub, name=f"Client {i + 1}", body="Bonjour", handle=f"c{i + 1}")
    await expect(page.locator("ctib-work.toast")).to_have_count(2)
    await expect(page.locator(".work-offers")).to_have_class("toasts work-offers")
    await expect(page.locator(".offers-head")).to_be_hidden()
    await expect(page.locator("ctib-work.toast .preview").first).to_be_visible()
