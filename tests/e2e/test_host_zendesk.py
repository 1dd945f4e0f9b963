"""The bar as a Zendesk app in the top bar, in Chromium: Zendesk's side is the test host of
hosts/zendesk_host.html (the ZAF SDK's message protocol, invoke calls checked against the
ZAF Client API docs), Zendesk's REST API the documented double of
tests/integration/crm/vendors/zendesk.py behind preset:zendesk.

A customer calls → Zendesk opens the app's panel, shows a notice and the caller's
profile (routeTo user) → the agent answers and wraps up → one voice ticket per call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.crm.vendors.serving import serving
from tests.integration.crm.vendors.zendesk import API_TOKEN, EMAIL, ZendeskAccount

from .conftest import Browsers, RunningHub, free_port, host_bar, ready_in
from .hosts import answered_in, hang_up_and_wrap_up, host_calls

HOSTS = Path(__file__).with_name("hosts")


async def calls(page: Any, name: str, count: int = 1) -> list[dict[str, Any]]:
    return await host_calls(page, "zendesk", name, count)


@pytest.fixture
async def account() -> Any:
    zd = ZendeskAccount()
    zd.add_user("Camille Petit", "+33 6 12 34 56 78")
    async with serving(zd):
        yield zd


async def test_the_bar_as_a_zendesk_app_pops_the_caller_and_logs_one_ticket(
    start_hub: Any, host_page: Any, browsers: Browsers, account: ZendeskAccount,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ZENDESK_EMAIL", EMAIL)
    monkeypatch.setenv("ZENDESK_API_TOKEN", API_TOKEN)
    port = free_port()
    zendesk = await host_page((HOSTS / "zendesk_host.html").read_text())
    hub: RunningHub = await start_hub(
        server={"port": port, "allowed_origins": [zendesk]},
        crm={"mapping": "preset:zendesk", "log_calls": True,
             "variables": {"zendesk_url": account.served.url if account.served else ""}})
    app = f"http://127.0.0.1:{port}/agentbar/?user=alice&host=zendesk"
    page, bar = await host_bar(browsers, f"{zendesk}/?app={app.replace('&', '%26')}",
                               "#app", name="zendesk")
    await page.wait_for_function("() => window.zendesk.handshake !== null")
    await ready_in(bar)

    ref = hub.sim.customer_calls("support", number="+33612345678")
    await calls(page, "popover")
    [notice] = await calls(page, "notify")
    assert "Camille Petit" in notice["args"][0] or "+33612345678" in notice["args"][0]
    [route] = await calls(page, "routeTo")
    camille = next(iter(account.users))
    assert route["args"] == ["user", str(camille)] and route["ok"]
    card = await answered_in(bar)
    await hang_up_and_wrap_up(bar, card)
    hub.sim.customer_hangs_up(ref)

    await hub.until(lambda: len(account.tickets) == 1, "one voice ticket in Zendesk", 15)
    [ticket] = account.tickets.values()
    assert ticket["requester_id"] == camille and ticket["via"]["source"]["rel"] == "inbound"
    assert all(c["ok"] for c in await page.evaluate("() => window.zendesk.calls"))
