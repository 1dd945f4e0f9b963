"""Test host pages that speak a CRM's softphone contract, and what the tests read back."""

from __future__ import annotations

from typing import Any


async def host_calls(page: Any, host: str, name: str, count: int = 1) -> list[dict[str, Any]]:
    """What the bar asked of the host page's ``window[host]`` under ``name``, once it
    asked it ``count`` times (each host page keeps them with a ``named(name)`` lookup)."""
    await page.wait_for_function("([h, n, c]) => window[h].named(n).length >= c",
                                 arg=[host, name, count])
    return list(await page.evaluate("([h, n]) => window[h].named(n)", [host, name]))
