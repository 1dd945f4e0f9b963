"""The bar survives what happens to a bar all day: a hub restart, several tabs."""

from __future__ import annotations

from playwright.async_api import expect

from .conftest import Bar, Browsers, RunningHub


async def test_the_bar_comes_back_to_the_same_call_after_a_hub_restart(hub: RunningHub,
                                                                        open_bar) -> None:
    alice: Bar = await open_bar("alice")
    await alice.agent_ready()
    hub.sim.customer_calls("support", number="+33612345678", name="Camille Petit",
                           attached={"customer_id": "C-1042"})
    await alice.toast.get_by_role("button", name="Answer").click()
    call = alice.card("Camille Petit")
    await expect(call).to_have_attribute("data-state", "connected")

    await hub.stop()
    await expect(alice.status).to_have_attribute("data-status", "reconnecting")
    await expect(alice.status).to_contain_text("Connection lost")
    # While away, the last known call stays on screen, its buttons greyed out.
    await expect(call.get_by_role("button", name="Hold")).to_be_disabled()

    await hub.start()  # a fresh app on the same port, with the same simulator
    await expect(alice.status).to_have_attribute("data-status", "online", timeout=20_000)
    call = alice.card("Camille Petit")
    await expect(call).to_have_attribute("data-state", "connected")
    await expect(call).to_contain_text("+33 6 12 34 56 78")
    await expect(alice.page.locator("ctib-call")).to_have_count(1)
    # The new hub learns Alice's state from the platform's resync: on a call, so busy.
    await expect(alice.page.locator(".state")).to_have_attribute("data-status", "busy")
    # And it is usable: hold, then hang up.
    await call.get_by_role("button", name="Hold").click()
    await expect(call).to_have_attribute("data-state", "held")
    await call.get_by_role("button", name="Hang up").click()
    await expect(alice.page.locator("ctib-call")).to_have_count(0)


async def test_a_call_that_ended_while_the_bar_was_away_is_not_offered(hub: RunningHub,
                                                                       open_bar) -> None:
    alice: Bar = await open_bar("alice")
    await alice.agent_ready()
    ref = hub.sim.customer_calls("support", number="+33612345678", name="Camille Petit")
    await expect(alice.toast).to_contain_text("Camille Petit")
    # The bar loses the hub; the caller gives up meanwhile.
    await alice.page.context.set_offline(True)
    await alice.page.evaluate("() => document.querySelector('ctibridge-bar').client.ws?.close()")
    await expect(alice.status).to_have_attribute("data-status", "reconnecting")
    hub.sim.customer_hangs_up(ref)
    await hub.until(lambda: not hub.hub.agents["alice"].calls, "the call to end in the hub")
    await alice.page.context.set_offline(False)
    await expect(alice.status).to_have_attribute("data-status", "online", timeout=20_000)
    await expect(alice.page.locator("ctib-call")).to_have_count(0)
    await expect(alice.page.locator(".recent-list li.missed")).to_contain_text("Camille Petit")


async def test_two_tabs_of_one_agent_stay_in_step(hub: RunningHub, browsers: Browsers,
                                                  open_bar) -> None:
    ctx = await browsers.context()
    tab1: Bar = await open_bar("alice", context=ctx)
    tab2: Bar = await open_bar("alice", context=ctx)
    await tab1.agent_ready()
    await expect(tab2.page.locator(".state")).to_have_attribute("data-status", "ready")

    hub.sim.customer_calls("support", number="+33612345678", name="Camille Petit")
    await expect(tab1.toast).to_contain_text("Camille Petit")
    await expect(tab2.toast).to_contain_text("Camille Petit")
    await tab1.toast.get_by_role("button", name="Answer").click()
    await expect(tab2.card("Camille Petit")).to_have_attribute("data-state", "connected")
    await expect(tab2.toast).to_have_count(0)
    await tab2.card("Camille Petit").get_by_role("button", name="Hold").click()
    await expect(tab1.card("Camille Petit")).to_have_attribute("data-state", "held")
    await tab1.card("Camille Petit").get_by_role("button", name="Hang up").click()
    for tab in (tab1, tab2):
        await expect(tab.page.locator("ctib-call")).to_have_count(0)
        await expect(tab.page.locator(".wrapup")).to_contain_text("Camille Petit")
    await tab2.page.locator(".wrapup").get_by_label("Outcome").select_option("info")
    await tab2.page.locator(".wrapup").get_by_role("button", name="Save and go ready").click()
    for tab in (tab1, tab2):
        await expect(tab.page.locator(".state")).to_have_attribute("data-status", "ready")
        await expect(tab.page.locator(".wrapup")).to_be_hidden()
