"""One CRM, two telephone systems, in the bar: the agent types the station they sit at,
the bar says which system they are on, and calls of that system ring for them."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from .conftest import Bar

AGENTS = [
    {"id": "alice", "name": "Alice Martin", "extension": "1001", "platform": "sim"},
    {"id": "bob", "name": "Bob Durand", "extension": "1002", "platform": "sim"},
]


async def two_sites(start_hub: Any) -> tuple[Any, Any]:
    from ctibridge.clock import SystemClock
    from ctibridge.telephony.simulator import SimulatorConnector

    lyon = SimulatorConnector("lyon", clock=SystemClock(), seed=3, devices=["5001", "5002"],
                              queues=["support"], ring_timeout=60.0, answer_delay=(0.2, 0.4))
    hub = await start_hub(
        platforms={"lyon": lyon}, agents=AGENTS,
        telephony=[{"name": "sim", "type": "simulator", "label": "Avaya Paris"},
                   {"name": "lyon", "type": "simulator", "label": "Alcatel Lyon"}],
        stations=[{"extension": "1001", "platform": "sim"},
                  {"extension": "1002", "platform": "sim"},
                  {"extension": "5001", "platform": "lyon"},
                  {"extension": "5002", "platform": "lyon"}])
    return hub, lyon


async def test_the_station_typed_in_the_bar_picks_the_system(start_hub, open_bar) -> None:
    hub, lyon = await two_sites(start_hub)
    alice: Bar = await open_bar("alice", hub_=hub)
    page = alice.page
    station = page.get_by_label("Station")
    await station.fill("5001")
    await alice.agent_login()
    await expect(page.locator(".on-platform")).to_have_text("On Alcatel Lyon")
    await expect(page.locator(".who")).to_contain_text("5001")
    await expect(station).to_be_hidden()  # logged in: the station is fixed until log out
    await page.locator("button.ready").click()
    await expect(page.locator(".state[data-status=ready]")).to_be_visible()

    lyon.customer_calls("support", number="+33478000001", name="Léa Roux")
    await alice.toast.get_by_role("button", name="Answer").click()
    call = alice.card("Léa Roux")
    await expect(call).to_have_attribute("data-state", "connected")
    assert hub.hub.calls_of("alice")[0].platform == "lyon"
    await call.get_by_role("button", name="Hang up").click()
    wrap = page.locator(".wrapup")
    await wrap.get_by_label("Outcome").select_option("resolved")
    await wrap.get_by_role("button", name="Save and go ready").click()

    # Bob types nothing: his home phone, in Paris.
    bob: Bar = await open_bar("bob", hub_=hub)
    await bob.agent_login()
    await expect(bob.page.locator(".on-platform")).to_have_text("On Avaya Paris")

    # The browser remembers Alice's station for her next log-in.
    await page.locator("button.agent-logout").click()
    await expect(page.locator(".state[data-status=logged_out]")).to_be_visible()
    await page.reload()
    await expect(page.get_by_label("Station")).to_have_value("5001")


async def test_an_unknown_station_is_explained_and_nothing_changes(start_hub, open_bar) -> None:
    hub, _lyon = await two_sites(start_hub)
    alice: Bar = await open_bar("alice", hub_=hub)
    await alice.page.get_by_label("Station").fill("9999")
    await alice.page.locator("button.agent-login").click()
    await expect(alice.page.locator(".banner.error")).to_contain_text(
        "not a configured station")
    await expect(alice.page.locator(".state[data-status=logged_out]")).to_be_visible()
