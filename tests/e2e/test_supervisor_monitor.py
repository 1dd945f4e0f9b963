"""Supervisor listen, whisper and barge in Chromium, on the simulator: the controls are in
the agent's row while they talk, only for the modes the platform declares; the agent's bar
hears of a whisper or a barge, never of a silent listener."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import expect

from ctibridge.telephony.base import ALL_CAPABILITIES, Capability

from .conftest import Bar, Browsers, RunningHub
from .test_supervisor import QUEUES, open_supervisor

DEVICES = ["1001", "1002", "1003", "1090"]


@pytest.fixture
async def hub(start_hub: Callable[..., Awaitable[RunningHub]]) -> RunningHub:
    return await start_hub(queues=QUEUES, supervisor_devices={"sam": {"sim": "1090"}},
                           sim={"devices": DEVICES})


async def alice_talking(hub: RunningHub, open_bar: Callable[..., Awaitable[Bar]]) -> Bar:
    alice = await open_bar("alice")
    await alice.agent_ready()
    hub.sim.customer_calls("support", number="+33612345678", name="Camille Petit")
    await alice.toast.get_by_role("button", name="Answer").click()
    await expect(alice.card("Camille Petit")).to_have_attribute("data-state", "connected")
    return alice


async def test_a_supervisor_listens_whispers_barges_and_leaves_from_the_agents_row(
    hub: RunningHub, browsers: Browsers, open_bar: Callable[..., Awaitable[Bar]],
) -> None:
    sup = await open_supervisor(hub, browsers)
    row = sup.locator("table.agents tr[data-agent=alice]")
    await expect(row.get_by_role("button", name="Listen to Alice Martin's call")).to_have_count(0)
    alice = await alice_talking(hub, open_bar)

    listen = row.get_by_role("button", name="Listen to Alice Martin's call")
    await listen.click()
    await expect(listen).to_have_attribute("aria-pressed", "true")
    await expect(alice.page.locator(".banner.notice")).to_be_hidden()
    ref = hub.sim.live_calls()[0].ref
    assert hub.sim.call_state(ref).monitors == {"1090": "listen"}
    await expect(sup.locator(".audit-list li").first).to_contain_text("call.monitor")

    whisper = row.get_by_role("button", name="Whisper to Alice Martin")
    await whisper.click()
    await expect(whisper).to_have_attribute("aria-pressed", "true")
    await expect(alice.page.locator(".banner.notice")).to_contain_text("sam is whispering")
    await expect(listen).to_have_attribute("aria-pressed", "false")
    barge = row.get_by_role("button", name="Barge into Alice Martin's call")
    await barge.click()
    await expect(barge).to_have_attribute("aria-pressed", "true")
    assert hub.sim.call_state(ref).monitors == {"1090": "barge"}
    # The agent is told of the barge (and was of the whisper), never of the listening.
    await expect(alice.page.locator(".banner.notice")).to_contain_text("sam joined your call")

    await row.get_by_role("button", name="Leave Alice Martin's call").click()
    await expect(row.get_by_role("button", name="Leave Alice Martin's call")).to_have_count(0)
    assert hub.sim.call_state(ref).monitors == {}
    await expect(listen).to_have_attribute("aria-pressed", "false")

    # The call ends: no controls on a row without a call.
    await alice.card("Camille Petit").get_by_role("button", name="Hang up").click()
    await expect(listen).to_have_count(0)


async def test_only_the_modes_the_platform_declares_are_offered(
    start_hub: Callable[..., Awaitable[RunningHub]], browsers: Browsers,
) -> None:
    hub = await start_hub(queues=QUEUES, supervisor_devices={"sam": {"sim": "1090"}},
                          sim={"devices": DEVICES,
                               "capabilities": ALL_CAPABILITIES - {Capability.BARGE,
                                                                   Capability.WHISPER}})
    sup = await open_supervisor(hub, browsers)
    page: Any = await browsers.page(name="alice")
    alice = await Bar(page, hub).open("alice")
    await alice.agent_ready()
    hub.sim.customer_calls("support", number="+33612345678", name="Camille Petit")
    await alice.toast.get_by_role("button", name="Answer").click()
    row = sup.locator("table.agents tr[data-agent=alice]")
    await expect(row.get_by_role("button", name="Listen to Alice Martin's call")).to_be_visible()
    await expect(row.get_by_role("button", name="Whisper to Alice Martin")).to_have_count(0)
    await expect(row.get_by_role("button", name="Barge into Alice Martin's call")).to_have_count(0)
