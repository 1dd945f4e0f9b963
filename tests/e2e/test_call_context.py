"""What a call card tells the agent: a clock that hold, retrieve and consultations do not
restart, with the talk and hold time; the customer on a consultation; who is in a
conference; IVR keys and codes with labels; colleagues with their presence."""

from __future__ import annotations

import re

from playwright.async_api import expect

from .conftest import Bar, RunningHub


def seconds(text: str) -> int:
    m, s = text.strip().split(":")[-2:]
    return int(m) * 60 + int(s)


async def test_the_call_timer_runs_on_across_hold_and_a_consultation_with_talk_and_hold_time(
    hub: RunningHub, open_bar
) -> None:
    alice: Bar = await open_bar("alice")
    bob: Bar = await open_bar("bob")
    await alice.agent_ready()
    await bob.agent_login()
    hub.sim.customer_calls("support", number="+33612345678", name="Camille Petit")
    await alice.toast.get_by_role("button", name="Answer").click()
    call = alice.card("Camille Petit")
    await expect(call).to_have_attribute("data-state", "connected")
    timer = call.locator(".call-meta .timer")
    talk_hold = call.locator(".talk-hold")
    await expect(timer).to_have_text(re.compile(r"^0:0[2-9]$"))
    await expect(talk_hold).to_have_text(re.compile(r"^talk 0:0[2-9] · hold 0:00$"))

    await call.get_by_role("button", name="Hold").click()
    await expect(call).to_have_attribute("data-state", "held")
    await expect(talk_hold).to_have_text(re.compile(r"· hold 0:0[1-9]$"))
    before = seconds(await timer.inner_text())
    assert before >= 3  # 2 s of talk and 1 s of hold: the timer did not start again
    await call.get_by_role("button", name="Retrieve").click()
    await expect(call).to_have_attribute("data-state", "connected")
    assert seconds(await timer.inner_text()) >= before
    await expect(talk_hold).to_have_text(re.compile(r"^talk 0:0[2-9] · hold 0:0[1-9]$"))

    # A consultation holds the caller; back to her, the clock still counts from the answer.
    await call.get_by_role("button", name="Transfer…").click()
    await call.get_by_label("Transfer to").fill("bob")
    await call.get_by_role("button", name="Consult first").click()
    await bob.toast.get_by_role("button", name="Answer").click()
    consult = alice.page.locator("ctib-call.is-consult")
    await expect(consult).to_have_attribute("data-state", "connected")
    before = seconds(await timer.inner_text())
    await consult.get_by_role("button", name="Back to caller").click()
    await expect(consult).to_have_count(0)
    await expect(call).to_have_attribute("data-state", "connected")
    assert seconds(await timer.inner_text()) >= before >= 3
