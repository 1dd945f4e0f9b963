"""Test host pages that speak a CRM's softphone contract, and what the tests read back."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect


async def host_calls(page: Any, host: str, name: str, count: int = 1) -> list[dict[str, Any]]:
    """What the bar asked of the host page's ``window[host]`` under ``name``, once it
    asked it ``count`` times (each host page keeps them with a ``named(name)`` lookup)."""
    await page.wait_for_function("([h, n, c]) => window[h].named(n).length >= c",
                                 arg=[host, name, count])
    return list(await page.evaluate("([h, n]) => window[h].named(n)", [host, name]))


async def answered_in(bar: Any) -> Any:
    """The agent answers the call ringing in a host page's bar frame: its card, connected."""
    await bar.get_by_role("button", name="Answer").click()
    card = bar.locator(".calls ctib-call")
    await expect(card).to_have_attribute("data-state", "connected")
    return card


async def hang_up_and_wrap_up(bar: Any, card: Any) -> None:
    """The agent hangs up ``card``'s call, and saves it as resolved (going ready again)."""
    await card.get_by_role("button", name="Hang up").click()
    await bar.locator("#ctib-disposition").select_option("resolved")
    await bar.get_by_role("button", name="Save and go ready").click()
