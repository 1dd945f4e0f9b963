"""What a call card tells the agent: a clock that hold, retrieve and consultations do not
restart, with the talk and hold time; the customer on a consultation; who is in a
conference; IVR keys and codes with labels; colleagues with their presence."""

from __future__ import annotations

import re

from playwright.async_api import expect

from .conftest import Bar, RunningHub, screenshot_path


def seconds(text: str) -> int:
    m, s = text.strip().split(":")[-2:]
    return int(m) * 60 + int(s)


async def test_the_call_timer_runs_on_across_hold_and_a_consultation_with_talk_and_hold(
    alice_and_bob: tuple[Bar, Bar]
) -> None:
    alice, bob = alice_and_bob
    call = await alice.answers("support", number="+33612345678", name="Camille Petit")
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


async def test_the_consulted_colleague_sees_the_customer_then_both_see_the_conference(
    hub: RunningHub, alice_and_bob: tuple[Bar, Bar]
) -> None:
    alice, bob = alice_and_bob  # Carol is logged out
    hub.sim.customer_calls("support", number="+33612345678", name="Camille Petit",
                           attached={"customer_id": "C-1042", "reason": "cancellation",
                                     "contract_no": "X-9"})
    await alice.toast.get_by_role("button", name="Answer").click()
    call = alice.card("Camille Petit")
    await expect(call).to_have_attribute("data-state", "connected")

    # The transfer list: colleagues with their presence, nobody logged out.
    await call.get_by_role("button", name="Transfer…").click()
    chips = call.locator(".chip")
    await expect(chips).to_have_count(1)
    await expect(call.get_by_role("button", name="Bob Durand, Not ready")).to_be_visible()
    await expect(chips.locator(".presence")).to_have_text("Not ready")
    await chips.first.click()
    await expect(call.get_by_label("Transfer to")).to_have_value("1002")
    await call.get_by_role("button", name="Consult first").click()

    # Bob is asked by Alice, about Camille, with what the IVR collected.
    ask = bob.toast
    await expect(ask).to_contain_text("Alice Martin")
    await expect(ask.locator(".about")).to_have_text("Customer: Camille Petit · +33 6 12 34 56 78")
    await expect(ask.locator(".attached")).to_contain_text("C-1042")
    await expect(ask.locator(".attached dd").nth(1)).to_have_text("Cancellation")
    await expect(ask.locator(".attached dt").nth(2)).to_have_text("contract_no")  # no label: raw
    await bob.page.screenshot(path=screenshot_path("consultation-context"))
    await ask.get_by_role("button", name="Answer").click()
    consult = alice.page.locator("ctib-call.is-consult")
    await expect(consult).to_have_attribute("data-state", "connected")

    # A conference: each card says so and names who is in it.
    await consult.get_by_role("button", name="Conference").click()
    await expect(consult).to_have_count(0)
    await expect(call.locator(".badge")).to_have_text("Conference")
    await expect(call.locator(".participant-list li")).to_have_text(["Camille Petit", "Bob Durand"])
    bob_call = bob.card("Camille Petit")
    await expect(bob_call.locator(".badge")).to_have_text("Conference")
    await expect(bob_call.locator(".participant-list li")).to_have_text(
        ["Camille Petit", "Alice Martin"])
    await alice.page.screenshot(path=screenshot_path("conference"))
    await call.get_by_role("button", name="Hang up").click()
    await expect(bob_call.locator(".badge")).to_be_hidden()
    await expect(bob_call.locator(".participants")).to_be_hidden()


async def test_call_data_names_come_from_the_configuration_in_french_with_a_raw_fallback(
    start_hub, open_bar
) -> None:
    hub = await start_hub(call_data_labels={
        "keys": {"contract_no": {"en": "Contract", "fr": "Contrat"}},
        "values": {"reason": {"cancellation": {"en": "Wants to leave", "fr": "Veut partir"}}}})
    alice: Bar = await open_bar("alice", hub_=hub, locale="fr-FR")
    await alice.agent_ready()
    hub.sim.customer_calls("support", number="+33612345678", name="Camille Petit",
                           attached={"customer_id": "C-1042", "reason": "cancellation",
                                     "contract_no": "X-9", "mood": "calm"})
    attached = alice.toast.locator(".attached")
    await expect(attached.locator("dt")).to_have_text(["N° client", "Motif de l'appel", "Contrat",
                                                       "mood"])
    await expect(attached.locator("dd")).to_have_text(["C-1042", "Veut partir", "X-9", "calm"])
    await alice.page.locator("select.lang").select_option("en")
    await expect(attached.locator("dt")).to_have_text(["Customer number", "Reason for calling",
                                                       "Contract", "mood"])
    await expect(attached.locator("dd").nth(1)).to_have_text("Wants to leave")
