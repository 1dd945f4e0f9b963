"""The supervisor page laid out as a table should be (the bar's styles stay in the bar),
queue figures coloured by their configured thresholds, and the wallboard: large
figures and nothing to click."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import expect

from .conftest import Bar, Browsers, RunningHub, screenshot_path

QUEUES = [{"name": "support", "channels": ["voice", "chat"], "sl_seconds": 30,
           "thresholds": {"waiting": {"warn": 1, "alert": 2},
                          "longest_wait_seconds": {"warn": 600, "alert": 1200},
                          "service_level": {"warn": 90, "alert": 70}}},
          {"name": "sales", "channels": ["voice"], "sl_seconds": 20}]


@pytest.fixture
async def hub(start_hub: Callable[..., Awaitable[RunningHub]]) -> RunningHub:
    return await start_hub(queues=QUEUES)


async def open_supervisor(hub: RunningHub, browsers: Browsers, query: str = "",
                          locale: str = "en-GB") -> Any:
    page = await browsers.page(name=f"supervisor{query}", locale=locale, width=1280, height=900)
    await page.goto(f"{hub.url}/supervisor/?user=sam{query}")
    await expect(page.locator(".conn")).to_have_attribute("data-status", "online")
    return page


async def test_the_actions_column_holds_the_buttons_and_every_row_lines_up(
    hub: RunningHub, browsers: Browsers, open_bar: Callable[..., Awaitable[Bar]],
) -> None:
    alice = await open_bar("alice")
    await alice.agent_ready()
    hub.sim.customer_calls("support", number="+33612345678", name="Camille Petit")
    await alice.toast.get_by_role("button", name="Answer").click()
    sup = await open_supervisor(hub, browsers)
    row = sup.locator("table.agents tr[data-agent=alice]")
    await expect(row.locator("td.work")).to_contain_text("Camille Petit")

    layout = await sup.evaluate("""() => {
      const table = document.querySelector("table.agents");
      const heads = [...table.querySelectorAll("thead th")];
      const actions = heads[heads.length - 1].getBoundingClientRect();
      return [...table.querySelectorAll("tbody tr")].map((tr) => ({
        agent: tr.dataset.agent,
        displays: [...tr.children].map((c) => getComputedStyle(c).display),
        tops: [...tr.children].map((c) => Math.round(c.getBoundingClientRect().top)),
        cells: tr.children.length,
        buttons: [...tr.querySelectorAll("button")].map((b) => {
          const r = b.getBoundingClientRect();
          return {inActions: b.closest("td") === tr.lastElementChild,
                  within: r.left >= actions.left - 1 && r.right <= actions.right + 1};
        }),
      }));
    }""")
    assert [r["agent"] for r in layout] == ["alice", "bob", "carol"]
    for r in layout:
        assert r["cells"] == 6, r
        assert set(r["displays"]) == {"table-cell"}, r  # no flex leaking from the bar
        assert len(set(r["tops"])) == 1, r  # the cells of a row start on one line
        assert r["buttons"] and all(b["inActions"] and b["within"] for b in r["buttons"]), r
    await expect(row.locator("td.actions").get_by_role("button")).to_have_count(2)


async def test_queue_figures_turn_amber_then_red_past_their_thresholds(
    hub: RunningHub, browsers: Browsers,
) -> None:
    sup = await open_supervisor(hub, browsers)
    support = sup.locator("table.queues tr[data-queue=support]")
    sales = sup.locator("table.queues tr[data-queue=sales]")
    waiting = support.locator("td.waiting")
    await expect(waiting).to_have_text("0")
    await expect(waiting).not_to_have_attribute("data-level", "warn")
    plain = await waiting.evaluate("(td) => getComputedStyle(td).backgroundColor")

    hub.sim.customer_calls("support", number="+33612345678")  # nobody is ready: it waits
    await expect(waiting).to_have_attribute("data-level", "warn")
    await expect(waiting).to_have_text("1 (above the warning threshold)", use_inner_text=False)
    await expect(support).to_have_attribute("data-level", "warn")
    amber = await waiting.evaluate("(td) => getComputedStyle(td).backgroundColor")
    hub.sim.customer_calls("support", number="+33698765432")
    await expect(waiting).to_have_attribute("data-level", "alert")
    red = await waiting.evaluate("(td) => getComputedStyle(td).backgroundColor")
    assert len({plain, amber, red}) == 3
    # Not yet waited long enough for the longest-wait thresholds; no colour for a queue
    # without thresholds.
    await expect(support.locator("td.longest")).not_to_have_attribute("data-level", "warn")
    hub.sim.customer_calls("sales", number="+33611223344")
    await expect(sales.locator("td.waiting")).to_have_text("1")
    assert await sales.locator("[data-level]").count() == 0

    # In French too.
    await sup.locator("select.lang").select_option("fr")
    await expect(waiting).to_contain_text("seuil d'alerte dépassé", use_inner_text=False)


async def test_the_wallboard_shows_the_queues_and_the_agents_large_with_no_controls(
    hub: RunningHub, browsers: Browsers, open_bar: Callable[..., Awaitable[Bar]],
) -> None:
    alice = await open_bar("alice")
    await alice.agent_ready()
    bob = await open_bar("bob")
    await bob.agent_login()
    normal = await open_supervisor(hub, browsers)
    wall = await open_supervisor(hub, browsers, "&wallboard=1")
    await expect(wall).to_have_title("Wallboard · ctibridge")
    tally = wall.locator(".tally")
    await expect(tally.locator("[data-status=ready] dd")).to_have_text("1")
    await expect(tally.locator("[data-status=not_ready] dd")).to_have_text("1")
    await expect(tally.locator("[data-status=busy] dd")).to_have_text("0")

    hub.sim.customer_calls("support", number="+33612345678", name="Camille Petit")
    await alice.toast.get_by_role("button", name="Answer").click()
    await expect(tally.locator("[data-status=busy] dd")).to_have_text("1")
    await expect(tally.locator("[data-status=ready] dd")).to_have_text("0")
    hub.sim.customer_calls("support", number="+33698765432")  # waits: amber
    support = wall.locator("table.queues tr[data-queue=support]")
    await expect(support.locator("td.waiting")).to_have_attribute("data-level", "warn")
    await expect(support.locator("td.answered")).to_have_text("1")

    # Nothing to click: no button, field or list; no agents table, no actions.
    controls = wall.locator("button:visible, select:visible, input:visible, textarea:visible")
    assert await controls.count() == 0
    assert await wall.locator("table.agents, .audit, .calllog").count() == 0
    # Large type: the same figure in at least one and a half times the size.
    size = "(el) => parseFloat(getComputedStyle(el).fontSize)"
    big = await support.locator("td.waiting").evaluate(size)
    small = await normal.locator("table.queues tr[data-queue=support] td.waiting").evaluate(size)
    assert big >= 1.5 * small, (big, small)
    await wall.screenshot(path=screenshot_path("wallboard"))
