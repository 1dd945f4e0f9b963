"""The supervisor page in Chromium: live agents, queues and calls; actions on an agent
that reach the agent's bar; FR/EN; agents refused."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import expect

from .conftest import Bar, Browsers, RunningHub, screenshot_path

QUEUES = [{"name": "support", "channels": ["voice", "chat"], "sl_seconds": 30}]


@pytest.fixture
async def hub(start_hub: Callable[..., Awaitable[RunningHub]]) -> RunningHub:
    return await start_hub(queues=QUEUES)


async def open_supervisor(hub: RunningHub, browsers: Browsers, *, user: str | None = "sam",
                          locale: str = "en-GB") -> Any:
    page = await browsers.page(name=f"supervisor-{user}", locale=locale, width=1280, height=900)
    await page.goto(f"{hub.url}/supervisor/" + (f"?user={user}" if user else ""))
    if user:
        await expect(page.locator(".conn")).to_have_attribute("data-status", "online")
    return page


async def test_the_supervisor_follows_an_agent_and_a_queue_live_and_sets_the_agent_not_ready(
    hub: RunningHub, browsers: Browsers, open_bar: Callable[..., Awaitable[Bar]],
) -> None:
    sup = await open_supervisor(hub, browsers)
    queue = sup.locator("table.queues tr[data-queue=support]")
    await expect(queue.locator(".waiting")).to_have_text("0")
    alice_row = sup.locator("table.agents tr[data-agent=alice]")
    await expect(alice_row.locator(".badge")).to_have_text("Logged out")

    alice = await open_bar("alice")
    await alice.agent_ready()
    await expect(alice_row.locator(".badge")).to_have_text("Ready")
    await expect(alice_row).to_have_attribute("data-status", "ready")

    # A customer calls: waiting while it rings at Alice, then answered.
    ref = hub.sim.customer_calls("support", number="+33612345678", name="Camille Petit")
    await expect(queue.locator(".waiting")).to_have_text("1")
    live = sup.locator("table.live tbody tr")
    await expect(live).to_contain_text("Camille Petit")
    await alice.toast.get_by_role("button", name="Answer").click()
    await expect(queue.locator(".waiting")).to_have_text("0")
    await expect(queue.locator(".answered")).to_have_text("1")
    await expect(queue.locator(".sl")).to_have_text("100% answered within 30 s")
    await expect(alice_row.locator(".badge")).to_have_text("On a call")
    await expect(alice_row.locator(".work")).to_contain_text("Camille Petit")
    await expect(live.locator(".live-state")).to_have_text("On call")
    await sup.screenshot(path=screenshot_path("supervisor"))

    # The customer hangs up; Alice is in wrap-up; the supervisor sets her not ready.
    hub.sim.customer_hangs_up(ref)
    await expect(alice_row).to_have_attribute("data-status", "wrap_up")
    await expect(live).to_have_count(0)
    # Her outcome saved, a supervisor's change ends her wrap-up at once (an unsaved one
    # waits for it: test_wrapup_kept.py).
    await alice.page.locator(".wrapup").get_by_label("Outcome").select_option("info")
    await alice.page.locator(".wrapup").get_by_role("button", name="Save", exact=True).click()
    await expect(alice.page.locator(".wrapup .saved")).to_be_visible()
    await alice_row.get_by_role("button", name="Set Alice Martin not ready").click()
    dialog = sup.get_by_role("dialog", name="Set Alice Martin not ready")
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("button", name="Set not ready").click()  # no reason yet
    await expect(dialog.locator(".dlg-error")).to_have_text("Choose a reason first.")
    await dialog.get_by_label("Reason").select_option("training")
    await dialog.get_by_role("button", name="Set not ready").click()
    await expect(dialog).to_be_hidden()
    await expect(alice_row.locator(".badge")).to_have_text("Not ready — Training")
    # The agent's own bar, in another browser context, shows it.
    await expect(alice.state).to_have_text(re.compile(r"Not ready.*Training"))
    await expect(sup.locator(".audit-list li").first).to_contain_text("sam")
    await expect(sup.locator(".audit-list li").first).to_contain_text("Training")
    # Focus went back to the button that opened the dialog (keyboard users).
    await expect(alice_row.get_by_role("button", name="Set Alice Martin not ready")).to_be_focused()

    # Log out, by keyboard: the dialog opens on Enter, Escape cancels.
    await sup.keyboard.press("Tab")
    await expect(alice_row.get_by_role("button", name="Log Alice Martin out")).to_be_focused()
    await sup.keyboard.press("Enter")
    dialog = sup.get_by_role("dialog", name="Log Alice Martin out")
    await expect(dialog.get_by_label("Reason")).to_be_focused()
    await sup.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(alice_row).to_have_attribute("data-status", "not_ready")
    await sup.keyboard.press("Enter")
    await dialog.get_by_label("Reason").select_option("meeting")
    await dialog.get_by_role("button", name="Log out").click()
    await expect(alice_row.locator(".badge")).to_have_text("Logged out")
    await expect(alice.page.locator(".state")).to_have_attribute("data-status", "logged_out")
    await expect(alice_row.get_by_role("button", name="Log Alice Martin out")).to_have_attribute(
        "aria-disabled", "true")


async def test_the_supervisor_page_speaks_french_and_switches_to_english(
    hub: RunningHub, browsers: Browsers,
) -> None:
    sup = await open_supervisor(hub, browsers, locale="fr-FR")
    await expect(sup.locator("html")).to_have_attribute("lang", "fr")
    await expect(sup.get_by_role("table", name="Files d'attente")).to_be_visible()
    await expect(sup.locator("table.agents tr[data-agent=bob] .badge")).to_have_text("Déconnecté")
    await expect(sup.locator("table.agents tr[data-agent=bob]").get_by_role(
        "button", name="Rendre Bob Durand indisponible")).to_be_visible()
    await sup.get_by_label("Langue").select_option("en")
    await expect(sup.get_by_role("table", name="Queues")).to_be_visible()
    await expect(sup.locator("table.agents tr[data-agent=bob] .badge")).to_have_text("Logged out")
    await expect(sup.get_by_label("Language")).to_be_focused()
    # The hub's refusal comes back in the page's language: Bob is logged out already.
    await sup.get_by_label("Language").select_option("fr")
    await expect(sup.locator("html")).to_have_attribute("lang", "fr")
    await hub.app.state.services.commands.execute(
        _admin(), "agent.login", {"agent_id": "bob"})
    row = sup.locator("table.agents tr[data-agent=bob]")
    await expect(row.locator(".badge")).to_contain_text("Indisponible")
    await row.get_by_role("button", name="Déconnecter Bob Durand").click()
    dialog = sup.get_by_role("dialog")
    await dialog.get_by_label("Motif").select_option("lunch")
    # Meanwhile Bob takes a call: a logout is refused while on it.
    await hub.app.state.services.commands.execute(_admin(), "agent.ready", {"agent_id": "bob"})
    hub.sim.customer_calls("support", number="+33699999999")
    await hub.until(lambda: bool(hub.hub.agents["bob"].calls), "the call to ring at Bob")
    call_id = next(iter(hub.hub.agents["bob"].calls))
    await hub.app.state.services.commands.execute(
        _bob(), "call.answer", {"call_id": call_id})
    await expect(row).to_have_attribute("data-status", "busy")
    await dialog.get_by_role("button", name="Déconnecter").click()
    await expect(dialog.locator(".dlg-error")).to_have_text(
        "Impossible pendant un appel.")


async def test_a_call_the_hub_no_longer_lists_after_a_resync_leaves_the_console(
    hub: RunningHub, browsers: Browsers,
) -> None:
    sup = await open_supervisor(hub, browsers)
    live = sup.locator("table.live tbody tr")
    hub.sim.customer_calls("support", number="+33612345678", name="Camille Petit")
    hub.sim.customer_calls("support", number="+33699999999", name="Léa Roux")
    await expect(live).to_have_count(2)
    # What a new core says after a takeover when it never heard of Camille's call (the
    # old core announced it and died before writing it): the console drops it.
    kept = [{**c.to_dict(), "monitors": c.monitor_list()} for c in hub.hub.calls.live()
            if c.customer.name == "Léa Roux"]
    hub.hub.publish("calls.live", {"platform": "sim", "calls": kept}, frozenset())
    await expect(live).to_have_count(1)
    await expect(live).to_contain_text("Léa Roux")
    # A malformed list is ignored: nothing more is dropped.
    hub.hub.publish("calls.live", {"platform": "sim", "calls": [{}]}, frozenset())
    hub.sim.customer_calls("support", number="+33611111111", name="Marc Petit")
    await expect(live).to_have_count(2)


def _admin() -> Any:
    from ctibridge.core.permissions import Principal
    from ctibridge.model.agent import Role

    return Principal("admin", frozenset({Role.ADMIN, Role.SUPERVISOR}))


def _bob() -> Any:
    from ctibridge.core.permissions import Principal
    from ctibridge.model.agent import Role

    return Principal("bob", frozenset({Role.AGENT}), "bob")


async def test_an_agent_only_user_gets_a_supervisors_only_message_not_the_board(
    hub: RunningHub, browsers: Browsers,
) -> None:
    page = await open_supervisor(hub, browsers, user=None)
    demo = page.locator(".demo-login")
    await expect(demo).to_have_count(2)  # sam and admin, not the agents
    await page.get_by_label("Username").fill("alice")
    await page.get_by_label("Password").fill("alice")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Supervisors only")).to_be_visible()
    await expect(page.locator(".only")).to_contain_text("Alice Martin is not a supervisor")
    await expect(page.locator("table")).to_have_count(0)
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_label("Username").fill("alice")
    await page.get_by_label("Password").fill("wrong")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator(".login-error")).to_have_text("Wrong username or password.")
