"""The project's own captures (tests/fixtures/asterisk, made by the live suite
against the lab Asterisk) replayed through the connector and the hub.

Each test states what really happened on the Asterisk (the live scenario of
the same name); the issue-12 item it guards is named. These captures were
made before the fixes, so they show the old connector's actions: what the
Asterisk did then must now be read right.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from ctibridge.recording.replay import ReplayReport, replay_file

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "asterisk"
LIVE = sorted(p.name for p in FIXTURES.glob("live-*.ami"))
IVR = {"CUSTOMER_ID": "C-1042", "ACCOUNT": "ACME-77", "IVR_CHOICE": "support"}


@cache
def replayed(name: str) -> ReplayReport:
    return replay_file(FIXTURES / name)


def customer_call(r: ReplayReport) -> dict:  # type: ignore[type-arg]
    (call,) = [c.final for c in r.calls if c.final["direction"] == "inbound"]
    return call


@pytest.mark.parametrize("name", LIVE)
def test_every_capture_replays_cleanly_with_the_options_it_was_recorded_with(name: str) -> None:
    r = replayed(name)
    assert r.parse_errors == []
    assert r.banner == "Asterisk Call Manager/11.0.0"
    assert r.options_from == "header"
    assert [a["extension"] for a in r.agents] == ["6001", "6002"]
    assert r.resyncs >= 1  # the connector's snapshot after login is in every capture


def test_agent_states_follow_the_bar_and_a_pause_made_on_asterisk() -> None:
    r = replayed("live-01-agent-states.ami")
    states = [(e.status.value, e.reason) for _, e in r.events
              if e.name == "agent.state" and e.device == "6001"]
    assert states == [("not_ready", "login"), ("ready", None), ("not_ready", "lunch"),
                      ("ready", None), ("not_ready", "training"), ("logged_out", None)]


def test_a_queue_call_with_ivr_data_ends_with_the_customer_hanging_up() -> None:
    call = customer_call(replayed("live-02-inbound-answered.ami"))
    assert call["customer"] == {"number": "+33123456789", "name": "Jean Dupont"}
    assert call["attached"] == IVR and call["queue"] == "support"
    assert call["end_cause"] == "customer-hangup"
    assert {c["device"]: c["state"] for c in call["connections"]}["6001"] == "ended"


def test_a_caller_hanging_up_in_the_queue_is_abandoned() -> None:
    assert customer_call(replayed("live-03-abandoned.ami"))["end_cause"] == "abandoned"


@pytest.mark.parametrize("name", ["live-05-blind-transfer.ami", "live-07-attended-transfer.ami"])
def test_after_a_transfer_the_customer_hanging_up_is_a_customer_hangup(name: str) -> None:
    # issue 12 #1 (was agent-hangup, depending on which Local half hung up first)
    assert customer_call(replayed(name))["end_cause"] == "customer-hangup"


def test_after_a_blind_transfer_only_the_new_agent_hears_of_the_call() -> None:
    # issue 12 #8
    r = replayed("live-05-blind-transfer.ami")
    after = False
    for _, ev in r.hub_events:
        if ev.name == "call.transferred":
            after = True
            continue
        if after and ev.name.startswith("call."):
            assert "agent-6001" not in ev.agents, f"{ev.name} still sent to 6001"


def test_a_consultation_is_answered_once() -> None:
    # issue 12 #8
    r = replayed("live-08-consult-answered-once.ami")
    (consult,) = [c for c in r.calls if c.final["direction"] == "internal"]
    answered = [ev for _, ev in r.hub_events if ev.name == "call.answered"
                and ev.data["call"]["call_id"] == consult.call_id]
    assert len(answered) == 1


def test_agents_still_bridged_after_the_customer_left_are_shown_on_a_call() -> None:
    # issue 12 #3
    r = replayed("live-11-customer-gone-during-consult.ami")
    assert customer_call(r)["end_cause"] == "customer-hangup"
    still_open = [c.final for c in r.calls if not c.final["ended_at"]]
    assert still_open, "Asterisk still has 6 channels up at the end of this capture"
