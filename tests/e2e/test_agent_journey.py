"""An agent's calls, end to end: real hub, simulated customers, the bar in Chromium."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from .conftest import Bar, RunningHub, screenshot_path


async def test_an_agent_answers_holds_consults_transfers_and_wraps_up(hub: RunningHub,
                                                                       open_bar) -> None:
    alice: Bar = await open_bar("alice")
    await alice.agent_ready()
    bob: Bar = await open_bar("bob")
    await bob.agent_login()  # logged in but not ready: the customer call is Alice's

    ref = hub.sim.customer_calls("support", number="+33612345678", name="Camille Petit",
                                 attached={"customer_id": "C-1042", "reason": "billing"})
    toast = alice.toast
    await expect(toast).to_contain_text("Camille Petit")
    await expect(toast).to_contain_text("+33 6 12 34 56 78")
    await expect(toast.locator(".attached")).to_contain_text("C-1042")
    # Keys and codes with the configured names (the defaults name the simulator's IVR).
    await expect(toast.locator(".attached")).to_contain_text("Reason for calling")
    await expect(toast.locator(".attached dd").nth(1)).to_have_text("Billing")
    answer = toast.get_by_role("button", name="Answer")
    await expect(answer).to_be_focused()
    await alice.page.screenshot(path=screenshot_path("ringing"))
    await answer.click()

    call = alice.card("Camille Petit")
    await expect(call).to_have_attribute("data-state", "connected")
    await expect(alice.toast).to_have_count(0)
    await expect(alice.state).to_have_text("On a call")
    await call.get_by_role("button", name="Hold").click()
    await expect(call).to_have_attribute("data-state", "held")
    await call.get_by_role("button", name="Retrieve").click()
    await expect(call).to_have_attribute("data-state", "connected")

    # Consult Bob: Alice's caller waits on hold while Bob answers.
    await call.get_by_role("button", name="Transfer…").click()
    await call.get_by_role("button", name="Bob Durand").click()
    await call.get_by_role("button", name="Consult first").click()
    await expect(call).to_have_attribute("data-state", "held")
    await expect(bob.toast).to_contain_text("Alice Martin")
    await bob.toast.get_by_role("button", name="Answer").click()
    consult = alice.page.locator("ctib-call.is-consult")
    await expect(consult).to_have_attribute("data-state", "connected")
    await expect(call.locator(".badge")).to_contain_text("Bob Durand")
    await alice.page.screenshot(path=screenshot_path("consultation"))

    # Complete the transfer: the caller is Bob's now, Alice wraps up.
    await consult.get_by_role("button", name="Complete transfer").click()
    await expect(alice.page.locator("ctib-call")).to_have_count(0)
    await expect(bob.card("Camille Petit")).to_have_attribute("data-state", "connected")
    await expect(bob.page.locator("ctib-call")).to_have_count(1)  # the consultation is gone
    wrap = alice.page.locator(".wrapup")
    await expect(wrap).to_contain_text("Camille Petit")
    await expect(alice.page.locator(".state")).to_have_attribute("data-status", "wrap_up")
    await wrap.get_by_label("Outcome").select_option("escalated")
    await wrap.get_by_label("Notes").fill("Passed to Bob for the refund")
    await alice.page.screenshot(path=screenshot_path("wrapup"))
    await wrap.get_by_role("button", name="Save and go ready").click()
    await expect(alice.page.locator(".state")).to_have_attribute("data-status", "ready")
    await expect(wrap).to_be_hidden()
    first = alice.page.locator(".recent-list li").first
    await expect(first).to_contain_text("Camille Petit")
    await expect(first).to_contain_text("Escalated")

    # The customer hangs up on Bob, who wraps up in turn.
    hub.sim.customer_hangs_up(ref)
    await expect(bob.page.locator("ctib-call")).to_have_count(0)
    bwrap = bob.page.locator(".wrapup")
    await bwrap.get_by_label("Outcome").select_option("resolved")
    await bwrap.get_by_role("button", name="Save and go ready").click()
    await expect(bob.page.locator(".state")).to_have_attribute("data-status", "ready")

    # The hub recorded both outcomes.
    def outcomes() -> dict[str, str | None]:
        return {i.agent_id: i.disposition
                for a in ("alice", "bob") for i in hub.hub.interactions.recent(a)
                if i.customer.number == "+33612345678"}

    await hub.until(lambda: outcomes() == {"alice": "escalated", "bob": "resolved"},
                    "both outcomes in the hub")
    await alice.page.locator("ctibridge-bar").evaluate("el => document.activeElement.blur()")
    await alice.page.screenshot(path=screenshot_path("idle"))


async def test_a_blind_transfer_hands_the_call_over_at_once(
        alice_and_bob: tuple[Bar, Bar]) -> None:
    alice, bob = alice_and_bob
    call = await alice.answers("sales", number="+41446681800", name="Lukas Meier")

    await call.get_by_role("button", name="Transfer…").click()
    await call.get_by_label("Transfer to").fill("1002")
    await call.get_by_role("button", name="Transfer now").click()
    await expect(alice.page.locator("ctib-call")).to_have_count(0)
    await expect(bob.toast).to_contain_text("Lukas Meier")
    await expect(bob.toast).to_contain_text("+41 44 668 18 00")
    await bob.toast.get_by_role("button", name="Answer").click()
    await expect(bob.card("Lukas Meier")).to_have_attribute("data-state", "connected")
    await expect(alice.page.locator(".wrapup")).to_contain_text("Lukas Meier")


async def test_a_caller_who_hangs_up_while_ringing_leaves_a_missed_call(hub: RunningHub,
                                                                         open_bar) -> None:
    alice: Bar = await open_bar("alice")
    await alice.agent_ready()
    ref = hub.sim.customer_calls("support", number="+33145678901", name="Jean Dupont")
    await expect(alice.toast).to_contain_text("Jean Dupont")
    hub.sim.customer_hangs_up(ref)
    await expect(alice.toast).to_have_count(0)
    await expect(alice.page.locator("ctib-call")).to_have_count(0)
    missed = alice.page.locator(".recent-list li.missed")
    await expect(missed).to_contain_text("Jean Dupont")
    await expect(missed).to_contain_text("Missed")
    await expect(alice.page.locator(".wrapup")).to_be_hidden()
    await expect(alice.page.locator(".state")).to_have_attribute("data-status", "ready")

    # Call back from the recent calls.
    hub.sim.set_outcome("+33145678901", "answer")
    await missed.get_by_role("button", name="Call back Jean Dupont").click()
    back = alice.page.locator(".calls ctib-call")
    await expect(back).to_contain_text("+33 1 45 67 89 01")
    await expect(back).to_have_attribute("data-state", "connected")
    await back.get_by_role("button", name="Hang up").click()
    await expect(alice.page.locator("ctib-call")).to_have_count(0)


async def test_two_calls_at_once_one_held(hub: RunningHub, open_bar) -> None:
    alice: Bar = await open_bar("alice")
    carol: Bar = await open_bar("carol")
    await alice.agent_ready()
    await carol.agent_login()
    first = await alice.answers("support", number="+33612345678", name="Camille Petit")

    # Carol calls Alice's extension while Alice talks: answering holds the first call.
    await carol.page.locator("#ctib-dial").fill("1001")
    await carol.page.get_by_role("button", name="Call", exact=True).click()
    await expect(alice.toast).to_contain_text("Carol")
    await alice.toast.get_by_role("button", name="Answer").click()
    second = alice.card("Carol")
    await expect(second).to_have_attribute("data-state", "connected")
    await expect(first).to_have_attribute("data-state", "held")
    # Retrieving the first holds the second.
    await first.get_by_role("button", name="Retrieve").click()
    await expect(first).to_have_attribute("data-state", "connected")
    await expect(second).to_have_attribute("data-state", "held")
    await second.get_by_role("button", name="Hang up").click()
    await expect(alice.card()).to_have_count(1)
    await first.get_by_role("button", name="Hang up").click()
    await expect(alice.card()).to_have_count(0)


async def test_consult_go_back_to_the_caller_then_make_a_conference(
        alice_and_bob: tuple[Bar, Bar]) -> None:
    alice, bob = alice_and_bob
    call = await alice.answers("support", number="+33612345678", name="Camille Petit")

    # Mute, and a few DTMF digits for the IVR on the other side.
    await call.get_by_role("button", name="Mute").click()
    await expect(call.get_by_role("button", name="Unmute")).to_have_attribute("aria-pressed",
                                                                             "true")
    await call.get_by_role("button", name="Unmute").click()
    await expect(call.get_by_role("button", name="Mute")).to_be_visible()
    await call.get_by_role("button", name="Keypad").click()
    await call.get_by_role("button", name="Key 4").click()
    await call.get_by_role("button", name="Key #").click()
    await expect(call.locator(".digits")).to_have_text("4#")

    # Consult Bob, then go back to the caller.
    await call.get_by_role("button", name="Transfer…").click()
    await call.get_by_label("Transfer to").fill("bob")
    await call.get_by_role("button", name="Consult first").click()
    await bob.toast.get_by_role("button", name="Answer").click()
    consult = alice.page.locator("ctib-call.is-consult")
    await expect(consult).to_have_attribute("data-state", "connected")
    await consult.get_by_role("button", name="Back to caller").click()
    await expect(consult).to_have_count(0)
    await expect(call).to_have_attribute("data-state", "connected")
    await expect(bob.page.locator("ctib-call")).to_have_count(0)

    # Consult again and make it a three-way call.
    await call.get_by_role("button", name="Transfer…").click()
    await call.get_by_label("Transfer to").fill("1002")
    await call.get_by_role("button", name="Consult first").click()
    await bob.toast.get_by_role("button", name="Answer").click()
    await expect(consult).to_have_attribute("data-state", "connected")
    await consult.get_by_role("button", name="Conference").click()
    await expect(consult).to_have_count(0)
    await expect(call).to_have_attribute("data-state", "connected")
    await expect(bob.card("Camille Petit")).to_have_attribute("data-state", "connected")
    await call.get_by_role("button", name="Hang up").click()
    await expect(alice.page.locator("ctib-call")).to_have_count(0)
    await expect(bob.card("Camille Petit")).to_have_attribute("data-state", "connected")


async def test_what_the_platform_cannot_do_is_greyed_out_with_the_reason(start_hub,
                                                                         open_bar) -> None:
    from ctibridge.telephony.base import ALL_CAPABILITIES, Capability

    hub = await start_hub(sim={"capabilities": ALL_CAPABILITIES - {Capability.MUTE,
                                                                    Capability.CONFERENCE}})
    alice: Bar = await open_bar("alice", hub_=hub)
    await alice.agent_ready()
    hub.sim.customer_calls("support", number="+33612345678", name="Camille Petit")
    await alice.toast.get_by_role("button", name="Answer").click()
    mute = alice.card("Camille Petit").get_by_role("button", name="Mute")
    await expect(mute).to_be_disabled()
    await expect(mute).to_have_attribute("title", "Your telephone system cannot do this")
    await mute.click(force=True)  # nothing happens, nothing is sent
    await expect(alice.page.locator(".banner.error")).to_be_hidden()
    await expect(alice.card("Camille Petit").get_by_role("button", name="Hold")).to_be_enabled()


async def two_platform_hub(start_hub: Any, agents: list[dict[str, Any]],
                           **pbx2_options: Any) -> tuple[RunningHub, Any]:
    """A hub with the usual simulator ("sim") and a second one, "pbx2" (2001, 2003)."""
    from ctibridge.clock import SystemClock
    from ctibridge.telephony.simulator import SimulatorConnector

    pbx2 = SimulatorConnector("pbx2", clock=SystemClock(), seed=3, devices=["2001", "2003"],
                              queues=["sales"], ring_timeout=60.0, answer_delay=(0.2, 0.4),
                              **pbx2_options)
    hub = await start_hub(
        platforms={"pbx2": pbx2}, agents=agents,
        telephony=[{"name": "sim", "type": "simulator"}, {"name": "pbx2", "type": "simulator"}])
    return hub, pbx2


ALICE_ON_BOTH = {"id": "alice", "name": "Alice Martin", "extension": "1001", "platform": "sim",
                 "devices": {"pbx2": "2001"}}


async def test_on_a_second_platform_the_bar_offers_only_agents_reachable_there(
        start_hub, open_bar) -> None:
    hub, pbx2 = await two_platform_hub(start_hub, [
        ALICE_ON_BOTH,
        {"id": "bob", "name": "Bob Durand", "extension": "1002", "platform": "sim"},
        {"id": "carol", "name": "Carol Lefèvre", "extension": "2003", "platform": "pbx2"}])
    carol: Bar = await open_bar("carol", hub_=hub)
    await carol.agent_ready()
    # Logged in (the transfer list leaves logged-out colleagues out).
    await (await open_bar("alice", hub_=hub)).agent_login()
    await (await open_bar("bob", hub_=hub)).agent_login()
    pbx2.customer_calls("sales", number="+33612345678", name="Inès Garnier")
    await carol.toast.get_by_role("button", name="Answer").click()
    call = carol.card("Inès Garnier")
    await expect(call).to_have_attribute("data-state", "connected")
    await call.get_by_role("button", name="Transfer…").click()
    # Alice has a phone on pbx2 (2001); Bob is only on the other platform.
    chips = call.locator(".chip")
    await expect(chips.locator(".name")).to_have_text(["Alice Martin"])
    await chips.first.click()
    await expect(call.get_by_label("Transfer to")).to_have_value("2001")


async def test_a_call_on_a_platform_that_cannot_hold_disables_hold_on_that_call_only(
        start_hub, open_bar) -> None:
    from ctibridge.telephony.base import ALL_CAPABILITIES, Capability

    hub, pbx2 = await two_platform_hub(start_hub, [ALICE_ON_BOTH],
                                       capabilities=ALL_CAPABILITIES - {Capability.HOLD})
    alice: Bar = await open_bar("alice", hub_=hub)
    await alice.agent_ready()
    pbx2.customer_calls("sales", number="+33612345678", name="Inès Garnier")
    await alice.toast.get_by_role("button", name="Answer").click()
    on_pbx2 = alice.card("Inès Garnier")
    await expect(on_pbx2).to_have_attribute("data-state", "connected")
    await expect(on_pbx2.get_by_role("button", name="Hold")).to_be_disabled()
    await expect(on_pbx2.get_by_role("button", name="Hang up")).to_be_enabled()
    await on_pbx2.get_by_role("button", name="Hang up").click()
    wrap = alice.page.locator(".wrapup")
    await wrap.get_by_label("Outcome").select_option("resolved")
    await wrap.get_by_role("button", name="Save and go ready").click()
    await expect(alice.page.locator(".state")).to_have_attribute("data-status", "ready")

    # On her primary platform, hold works as usual.
    on_sim = await alice.answers("support", number="+33145678901", name="Jean Dupont")
    await expect(on_sim.get_by_role("button", name="Hold")).to_be_enabled()
