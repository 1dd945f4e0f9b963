"""Issue 12, items 1-4 and 8: each fix replayed from a capture of the real thing.

The files (tests/fixtures/asterisk/issue12-*.ami) were recorded by the live
suite against the lab Asterisk 22.10.1 *with the fix in place*: the AMI link
between the hub's connector and Asterisk, as the connector saw it, including
the actions the fix sends (CancelAtxfer-like hang-up of the consulted side,
Redirect/Bridge for hold, ConfBridge or ARI for the conference...). Replaying
them through the normalizer and a real hub must give what happened on
Asterisk. The captures made before the fixes (live-*.ami) are replayed by
tests/unit/recording/test_live_fixtures.py.

Agents: 6001 is alice's extension ("agent-6001" in a bare replay), 6002 bob's.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from ctibridge.recording.replay import ReplayReport, replay_file

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "asterisk"
MINE = sorted(p.name for p in FIXTURES.glob("issue12-*.ami"))
JEAN = {"number": "+33123456789", "name": "Jean Dupont"}


@cache
def replayed(name: str) -> ReplayReport:
    return replay_file(FIXTURES / name)


def calls(r: ReplayReport, direction: str) -> list[dict[str, Any]]:
    return [c.final for c in r.calls if c.final["direction"] == direction]


def customer_call(r: ReplayReport) -> dict[str, Any]:
    (call,) = calls(r, "inbound")
    return call


def states(call: dict[str, Any]) -> dict[str, str]:
    return {c["device"]: c["state"] for c in call["connections"]}


def events(r: ReplayReport, *names: str) -> list[tuple[int, Any]]:
    return [(line, ev) for line, ev in r.events if ev.name in names]


def sent(name: str, action: str) -> list[str]:
    """The blocks of ``action`` the connector sent in the capture."""
    blocks, cur = [], []
    for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines():
        if line.startswith(">>> "):
            cur.append(line[4:])
            if line == ">>> " and cur:
                if cur[0] == f"Action: {action}":
                    blocks.append("\n".join(cur))
                cur = []
    return blocks


def test_the_fixture_list_is_complete() -> None:
    assert len(MINE) == 14


@pytest.mark.parametrize("name", MINE)
def test_every_capture_replays_cleanly(name: str) -> None:
    r = replayed(name)
    assert r.parse_errors == [] and r.options_from == "header"
    assert r.banner == "Asterisk Call Manager/11.0.0"


# ------------------------------------------------- 1. who hung up, after a transfer


@pytest.mark.parametrize("name", ["issue12-1-blind-transfer-customer-hangup.ami",
                                  "issue12-1-attended-transfer-customer-hangup.ami"])
def test_after_a_transfer_the_customer_hanging_up_is_a_customer_hangup(name: str) -> None:
    r = replayed(name)
    call = customer_call(r)
    assert call["customer"] == JEAN and call["end_cause"] == "customer-hangup"
    [(_, moved)] = events(r, "call.transferred")
    assert (moved.from_device, moved.to_device) == ("6001", "6002")
    # Nobody's part of it ended as "agent-hangup": bob was hung up by the bridge.
    assert [ev.cause for _, ev in events(r, "call.ended") if ev.ref == moved.ref] == [
        "customer-hangup"] * len(events(r, "call.ended"))


def test_the_transferer_kicked_out_of_a_bridge_merge_is_not_left_in_the_customers_bridge(
) -> None:
    # Completing the transfer merges the consultation's bridge into the customer's
    # but kicks the transferer, whose BridgeLeave then names the old bridge. Kept
    # in the customer's bridge by mistake, alice made it a three-party bridge, so
    # the customer leaving it later said nothing: the call ended "normal".
    r = replayed("issue12-1-attended-transfer-merge-kicks-transferer.ami")
    assert customer_call(r)["end_cause"] == "customer-hangup"


def test_an_attended_transfer_event_without_the_target_fields_still_names_the_target(
) -> None:
    name = "issue12-1-attended-transfer-without-target-fields.ami"
    text = (FIXTURES / name).read_text(encoding="utf-8")
    assert "Event: AttendedTransfer" in text and "TransferTargetUniqueid" not in text
    r = replayed(name)
    [(_, moved)] = events(r, "call.transferred")
    assert (moved.from_device, moved.to_device) == ("6001", "6002")  # it used to be ""
    call = customer_call(r)
    assert states(call)["6002"] == "ended" and call["end_cause"] == "customer-hangup"
    bob = [ev for _, ev in r.hub_events if "agent-6002" in ev.agents
           and ev.data.get("call", {}).get("call_id") == call["call_id"]]
    assert [ev.name for ev in bob][:1] == ["call.transferred"]  # bob is told he has it


# --------------------------------------- 2. back to the caller; hang-up never transfers


def test_cancel_consult_hangs_up_the_consulted_side_and_alice_is_back_with_the_customer(
) -> None:
    name = "issue12-2-cancel-consult.ami"
    r = replayed(name)
    # What the connector sent: a Hangup of the consultation's Local channel, not of
    # alice's own leg (which would complete the transfer).
    hangups = sent(name, "Hangup")
    assert len(hangups) == 1 and "Channel: Local/6002@internal-" in hangups[0]
    assert events(r, "call.transferred") == []
    [(_, back)] = events(r, "call.retrieved")
    assert back.device == "6001"
    call = customer_call(r)
    assert "6002" not in states(call)  # bob never got the customer
    assert call["end_cause"] == "customer-hangup"  # the lab hung the customer up later
    (consult,) = calls(r, "internal")
    assert consult["ended_at"] and consult["consult_of"] == call["call_id"]


def test_hanging_up_a_consultation_does_not_transfer_the_customer() -> None:
    name = "issue12-2-hangup-consult-never-transfers.ami"
    r = replayed(name)
    [hangup] = sent(name, "Hangup")
    assert "Channel: Local/6002@internal-" in hangup  # not alice's Local/6001@agents
    assert events(r, "call.transferred") == []
    assert [ev.device for _, ev in events(r, "call.retrieved")] == ["6001"]
    assert "6002" not in states(customer_call(r))


# ------------------------------ 3. the customer hangs up during a consultation


def test_the_agents_left_talking_after_the_customer_hung_up_stay_on_a_call_they_can_end(
) -> None:
    r = replayed("issue12-3-customer-gone-during-consult.ami")
    call = customer_call(r)
    assert call["end_cause"] == "customer-hangup"
    (consult,) = calls(r, "internal")
    ended_at = {ev.ref: line for line, ev in events(r, "call.ended") if ev.device is None}
    # The consultation outlived the customer's call (Asterisk kept alice and bob
    # bridged), until alice hung it up from her bar.
    [(line_main, _)] = [(ln, ev) for ln, ev in events(r, "call.ended")
                        if ev.device is None and ev.cause == "customer-hangup"]
    consult_end = [ln for ref, ln in ended_at.items() if ref != _ref_of(r, call)]
    assert consult_end and consult_end[0] > line_main
    assert consult["end_cause"] == "agent-hangup"
    [hangup] = sent("issue12-3-customer-gone-during-consult.ami", "Hangup")
    assert "Local/6001@agents-" in hangup  # her own leg: no customer left to transfer


def _ref_of(r: ReplayReport, call: dict[str, Any]) -> str:
    return next(ev.ref for _, ev in r.events if ev.name == "call.queued")


# --------------------------------------------------- 4. hold and conference


def test_hold_with_ami_alone_redirects_the_pair_apart_and_bridges_it_back() -> None:
    name = "issue12-4-hold-ami.ami"
    r = replayed(name)
    [redirect] = sent(name, "Redirect")
    assert "Channel: Local/0140000000@from-pstn-" in redirect and ";2" in redirect
    assert "Context: ctibridge-hold" in redirect and "ExtraContext: ctibridge-wait" in redirect
    [bridge] = sent(name, "Bridge")
    assert "Channel1: Local/6001@agents-" in bridge
    assert [ev.name for _, ev in events(r, "call.held", "call.retrieved")] == [
        "call.held", "call.retrieved"]
    assert customer_call(r)["end_cause"] == "customer-hangup"


def test_hold_through_ari_moves_the_call_into_the_stasis_application() -> None:
    name = "issue12-4-hold-ari.ami"
    r = replayed(name)
    [redirect] = sent(name, "Redirect")
    assert "Context: ctibridge-stasis" in redirect and "ExtraChannel: Local/6001@agents-" \
        in redirect
    assert [ev.name for _, ev in events(r, "call.held", "call.retrieved")] == [
        "call.held", "call.retrieved"]
    assert customer_call(r)["end_cause"] == "customer-hangup"


@pytest.mark.parametrize(("name", "context"), [
    ("issue12-4-conference-ami.ami", "ctibridge-conference"),
    ("issue12-4-conference-ari.ami", "ctibridge-stasis")])
def test_a_conference_from_a_consultation_joins_the_three_and_ends_with_the_customer(
    name: str, context: str,
) -> None:
    r = replayed(name)
    # The customer first (Asterisk then ends its attended transfer), then alice and
    # the consultation's channel together.
    customer_first, pair = sent(name, "Redirect")
    assert "Local/0140000000@from-pstn-" in customer_first and f"Context: {context}" in \
        customer_first
    assert "Local/6001@agents-" in pair and "ExtraChannel: Local/6002@internal-" in pair
    [(_, conf)] = events(r, "call.conferenced")
    assert conf.devices == ("6001", "6002") and conf.consult_ref
    assert events(r, "call.transferred") == []
    call = customer_call(r)
    assert call["end_cause"] == "customer-hangup"
    (consult,) = calls(r, "internal")
    assert consult["end_cause"] == "conferenced"


# ----------------------------------------------------------------- 8. minor


def test_a_consultation_is_announced_answered_once() -> None:
    r = replayed("issue12-8-consult-answered-once.ami")
    (consult,) = calls(r, "internal")
    answered = [ev for _, ev in r.hub_events if ev.name == "call.answered"
                and ev.data["call"]["call_id"] == consult["call_id"]]
    assert len(answered) == 1
    assert states(answered[0].data["call"]) == {"6001": "connected", "6002": "connected"}


def test_click_to_call_data_reaches_the_call() -> None:
    name = "issue12-8-click-to-call-attached.ami"
    [originate] = sent(name, "Originate")
    assert "Variable: CTI_TICKET=T-77" in originate
    (call,) = calls(replayed(name), "outbound")
    assert call["attached"] == {"TICKET": "T-77"}
    assert call["customer"]["number"] == "+33987654321"


def test_rejecting_a_ringing_queue_call_pauses_the_agent_before_hanging_up() -> None:
    name = "issue12-8-reject-pauses-agent.ami"
    r = replayed(name)
    text = (FIXTURES / name).read_text(encoding="utf-8")
    pause = text.index(">>> Reason: rejected")
    hangup = text.index(">>> Cause: 21")
    assert pause < hangup  # paused first: the queue cannot ring her again meanwhile
    states_6001 = [(e.status.value, e.reason) for _, e in r.events
                   if e.name == "agent.state" and e.device == "6001"]
    assert states_6001[-1] == ("not_ready", "rejected")
    offers = [ev for _, ev in events(r, "call.offered") if ev.device == "6001"]
    assert len(offers) == 1  # offered once, not again after the queue's retry
