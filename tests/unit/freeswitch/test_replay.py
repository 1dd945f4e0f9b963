"""Every real FreeSWITCH capture, replayed through framing + normalizer.

The expected sequences were written from the captures and their README (scenario by
scenario: who calls, which legs, which agent rings and answers, who hangs up). A
customer call's ref is the Unique-ID of its first leg (the loopback half created
first, in these captures); a click-to-call's is the request id our originate carried;
a consultation's is ``<ref>~x<n>``.
"""

from __future__ import annotations

import pytest

from ctibridge.model.agent import AgentStatus
from ctibridge.model.events import (
    AgentStateChanged,
    CallAnswered,
    CallConferenced,
    CallDtmf,
    CallEnded,
    CallHeld,
    CallInitiated,
    CallOffered,
    CallQueued,
    CallTransferred,
    PlatformResynced,
)
from ctibridge.model.party import Direction, Party

from .fake_esl import FIXTURES
from .replay import AT, events, replay

JEAN = Party("+33123456789", "Jean Dupont")
IVR = {"customer_id": "C-1042", "account": "ACME-77", "ivr_choice": "support"}
Q = "support@default"


def queued(ref: str) -> CallQueued:
    return CallQueued(ref=ref, at=AT, queue=Q, caller=JEAN, attached=IVR)


def offered(ref: str, device: str, queue: str | None = Q) -> CallOffered:
    return CallOffered(ref=ref, at=AT, device=device, caller=JEAN, queue=queue,
                       attached=IVR)


def answered(ref: str, device: str) -> CallAnswered:
    return CallAnswered(ref=ref, at=AT, device=device)


def ended(ref: str, cause: str, device: str | None = None) -> CallEnded:
    return CallEnded(ref=ref, at=AT, device=device, cause=cause)


def state(status: AgentStatus, device: str = "6001") -> AgentStateChanged:
    return AgentStateChanged(at=AT, device=device, status=status, reason=None)


def test_every_capture_has_a_replay_test() -> None:
    names = {p.name for p in FIXTURES.glob("*.esl")}
    assert names == set(SCENARIOS) | {"11a-auth-failure.esl", "11b-command-errors.esl",
                                      "12-resync-mid-call.esl"}


@pytest.mark.parametrize(("name", "ref"), [
    ("01-inbound-answered.esl", "8dc694d1-3170-48f8-80e1-07cdaf70f07f"),
    ("01-inbound-answered.json.esl", "bd7b5e39-6048-4170-8051-df5372c6280d"),
])
def test_01_queue_call_answered_then_the_customer_hangs_up(name: str, ref: str) -> None:
    # plain and json subscriptions of the same scenario give the same events
    assert events(name) == [queued(ref), offered(ref, "6001"), answered(ref, "6001"),
                            ended(ref, "customer-hangup")]


def test_02_the_agent_hangs_up_first() -> None:
    # uuid_kill on the agent leg; the customer leg then runs the rest of its dialplan.
    ref = "8f51b52b-573f-44b3-b824-01c3eb53fcd8"
    assert events("02-agent-hangs-up-first.esl") == [
        queued(ref), offered(ref, "6001"), answered(ref, "6001"), ended(ref, "agent-hangup")]


@pytest.mark.parametrize(("name", "ref"), [
    ("03-inbound-abandoned.esl", "9d23de45-d943-4703-90db-77fede07728b"),
    ("03-inbound-abandoned.json.esl", "420d758d-ed9e-46cc-b9ed-b678694a6c07"),
])
def test_03_the_caller_abandons_in_the_queue(name: str, ref: str) -> None:
    assert events(name) == [queued(ref), ended(ref, "abandoned")]


def test_04_hold_is_the_agent_legs_channel_hold() -> None:
    # uuid_hold <agent>: CHANNEL_HOLD on the agent leg. `uuid_hold off` fails in the lab
    # (null channels never confirm the hold): no CHANNEL_UNHOLD, so no retrieved.
    ref = "fd03720f-e1d9-4e4c-a226-66a3f659d11b"
    assert events("04-hold-unhold.esl") == [
        queued(ref), offered(ref, "6001"), answered(ref, "6001"),
        CallHeld(ref=ref, at=AT, device="6001"), ended(ref, "customer-hangup")]


def test_05_blind_transfer_keeps_the_ref_and_the_callers_identity() -> None:
    ref = "53cbe0cc-faf8-429b-99a1-e815097f2a5b"
    assert events("05-blind-transfer.esl") == [
        queued(ref), offered(ref, "6001"), answered(ref, "6001"),
        CallTransferred(ref=ref, at=AT, from_device="6001", to_device="6002"),
        offered(ref, "6002", queue=None),  # the customer's leg bridges user/6002
        answered(ref, "6002"),
        ended(ref, "customer-hangup"),
    ]


def test_06_attended_transfer_through_a_consultation() -> None:
    # att_xfer on 6001's leg: a consultation call 6001 -> 6002, the customer on hold;
    # 6001 hangs up: the customer is bridged to 6002 in the same call.
    ref = "40f98e05-c032-45b9-854d-d39e9ee898e0"
    c = f"{ref}~x1"
    assert events("06-attended-transfer.esl") == [
        queued(ref), offered(ref, "6001"), answered(ref, "6001"),
        CallInitiated(ref=c, at=AT, device="6001", callee=Party("6002"),
                      direction=Direction.INTERNAL, consult_of=ref),
        CallHeld(ref=ref, at=AT, device="6001"),
        CallOffered(ref=c, at=AT, device="6002", caller=Party("6001"), queue=None,
                    direction=Direction.INTERNAL, consult_of=ref),
        answered(c, "6002"), answered(c, "6001"),
        CallTransferred(ref=ref, at=AT, from_device="6001", to_device="6002", consult_ref=c),
        ended(ref, "customer-hangup"),
    ]


def test_07_three_way_conference_in_mod_conference() -> None:
    # uuid_transfer <agent> -both into a room, then 6002 originated into it.
    ref = "4e3a9e60-44e6-4601-bbe5-ab2f731bae40"
    assert events("07-three-way-conference.esl") == [
        queued(ref), offered(ref, "6001"), answered(ref, "6001"),
        CallConferenced(ref=ref, at=AT, devices=("6001", "6002")),
        ended(ref, "customer-hangup"),
    ]


def test_08_click_to_call_answered_then_the_agent_hangs_up() -> None:
    # bgapi originate {ctibridge_request=c2c-0001}user/6001@default 0987654321 XML internal
    assert events("08-click-to-call.esl") == [
        CallInitiated(ref="c2c-0001", at=AT, device="6001", callee=Party("0987654321"),
                      direction=Direction.OUTBOUND),
        answered("c2c-0001", "6001"),  # the far end answered: the bridge
        ended("c2c-0001", "agent-hangup"),
    ]


def test_09_dtmf_from_the_customer_and_from_the_agent() -> None:
    # 123# arrive from the customer's trunk leg, 9 from the agent's leg. The 45 sent
    # toward the customer (received by the lab's handset half) is not the customer's.
    ref = "da95ff1b-d478-435c-a599-6277233f2de0"
    digits = [CallDtmf(ref=ref, at=AT, device="6001", digits=d) for d in "123#9"]
    assert events("09-dtmf.esl") == [
        queued(ref), offered(ref, "6001"), answered(ref, "6001"), *digits,
        ended(ref, "customer-hangup")]


@pytest.mark.parametrize("name", ["10-agent-status.esl", "10-agent-status.json.esl"])
def test_10_agent_status_changes(name: str) -> None:
    # Available, On Break, Available (On Demand), Available, Logged Out; the
    # agent-state-change events (Idle, Waiting) and *-get events are not statuses.
    assert events(name) == [
        state(AgentStatus.READY), state(AgentStatus.NOT_READY), state(AgentStatus.READY),
        state(AgentStatus.READY), state(AgentStatus.LOGGED_OUT)]


def test_10_the_reason_of_a_break_is_the_one_we_asked_for() -> None:
    r = replay("10-agent-status.esl")
    r2 = type(r)(r.transcript, r.options, lambda: AT)
    # what the connector tells the normalizer when it sends those statuses itself
    for status, reason in (("Available", None), ("On Break", "lunch")):
        r2.normalizer.pushing("6001", status, reason)
    r2.run()
    assert [e.event for e in r2.events][1] == AgentStateChanged(
        at=AT, device="6001", status=AgentStatus.NOT_READY, reason="lunch")


def test_10_an_echo_arriving_after_our_next_change_keeps_its_reason() -> None:
    # The hub sets On Break (login), then Available at once: the first event comes
    # back after the second command was sent. It must still read as our own echo.
    r = replay("10-agent-status.esl")
    n = type(r)(r.transcript, r.options, lambda: AT)
    for status, reason in (("Available", None), ("On Break", "login"),
                           ("Available (On Demand)", None)):
        n.normalizer.pushing("6001", status, reason)
    n.run()
    got = [(e.event.status, e.event.reason) for e in n.events]
    assert got[:3] == [(AgentStatus.READY, None), (AgentStatus.NOT_READY, "login"),
                       (AgentStatus.READY, None)]
    assert got[3] == (AgentStatus.READY, None)  # not ours: no reason to give


def test_11a_a_refused_password_is_framed_and_emits_nothing() -> None:
    r = replay("11a-auth-failure.esl")
    assert r.events == [] and not r.parse_errors
    assert [(c, f.reply_text) for c, f in r.replies] == [("auth wrong-password",
                                                          "-ERR invalid")]


def test_11b_command_errors_are_replies_not_events() -> None:
    r = replay("11b-command-errors.esl")
    assert r.events == [] and not r.parse_errors
    texts = {c.split(" ")[1] if c.startswith("api") else c: (f.reply_text or f.text.strip())
             for c, f in r.replies}
    assert texts["uuid_hold"] == "+OK Success"  # on a missing uuid: FreeSWITCH says OK
    assert any(t.startswith("-ERR No such channel") for t in texts.values())
    assert any(t.startswith("-USAGE") for t in texts.values())


def test_12_resync_mid_call_then_both_calls_end_without_ghosts() -> None:
    a, b = "1c346232-e790-4f76-b084-fe65803e014c", "3760ed5e-965b-47ad-b9ef-d04b347edca0"
    r = replay("12-resync-mid-call.esl")
    snap, *rest = [e.event for e in r.events]
    assert isinstance(snap, PlatformResynced)
    calls = {c.ref: c for c in snap.calls}
    assert set(calls) == {a, b}  # the handset halves are not calls of their own
    assert calls[a].devices == {"6001": "connected"} and calls[a].customer == JEAN
    assert calls[b].devices == {f"queue:{Q}": "queued"}
    assert calls[b].customer == Party("0612345678", None)
    assert snap.agents == {"6001": (AgentStatus.READY, None),
                           "6002": (AgentStatus.NOT_READY, None)}
    assert rest == [ended(b, "abandoned"), ended(a, "customer-hangup")]
    assert r.normalizer.convs == {} and r.normalizer.chans == {}


def test_12_a_region_makes_national_numbers_e164() -> None:
    snap = replay("12-resync-mid-call.esl", region="FR").events[0].event
    assert isinstance(snap, PlatformResynced)
    assert {c.customer.number for c in snap.calls} == {"+33123456789", "+33612345678"}


SCENARIOS = {
    "01-inbound-answered.esl", "01-inbound-answered.json.esl", "02-agent-hangs-up-first.esl",
    "03-inbound-abandoned.esl", "03-inbound-abandoned.json.esl", "04-hold-unhold.esl",
    "05-blind-transfer.esl", "06-attended-transfer.esl", "07-three-way-conference.esl",
    "08-click-to-call.esl", "09-dtmf.esl", "10-agent-status.esl", "10-agent-status.json.esl",
}


@pytest.mark.parametrize("name", sorted(SCENARIOS | {"11b-command-errors.esl",
                                                     "12-resync-mid-call.esl"}))
def test_no_call_state_is_left_behind(name: str) -> None:
    r = replay(name)
    assert r.normalizer.convs == {} and r.normalizer.chans == {} and not r.parse_errors


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_queue_filter_of_another_queue_sees_no_queue_call(name: str) -> None:
    evs = events(name, queues=["sales@default"])
    assert not any(isinstance(e, CallQueued | CallOffered) and e.queue == Q for e in evs)
