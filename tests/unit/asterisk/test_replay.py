"""Every recorded Asterisk session, replayed through parser + normalizer.

The expected sequences were written from the transcripts (and their README),
scenario by scenario: who calls, which Linkedid, which agent rings and answers,
who hangs up. Refs are the calls' Linkedids (the Uniqueid of the oldest
channel: the customer's Local ``;1`` half in these captures), except for calls
ctibridge originated or consultations it started, which carry the ref the
connector chose.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ctibridge.model.agent import AgentStatus
from ctibridge.model.events import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallFailed,
    CallHeld,
    CallInitiated,
    CallOffered,
    CallQueued,
    CallRetrieved,
    CallTransferred,
)
from ctibridge.model.party import Direction, Party
from ctibridge.telephony.asterisk.ami import AmiParser, Message
from ctibridge.telephony.asterisk.transcript import Received

from .fake_ami import FIXTURES, transcript
from .replay import AT, Replay

JEAN = Party("+33123456789", "Jean Dupont")
# IVR data set by the from-pstn dialplan: CUSTOMER_ID on the caller's channel,
# __ACCOUNT and __IVR_CHOICE inherited (VarSet shows them with the underscores).
IVR = {"CUSTOMER_ID": "C-1042", "ACCOUNT": "ACME-77", "IVR_CHOICE": "support"}


def queued(ref: str, caller: Party = JEAN) -> CallQueued:
    return CallQueued(ref=ref, at=AT, queue="support", caller=caller, attached=IVR)


def offered(ref: str, device: str, caller: Party = JEAN, queue: str | None = "support",
            **kw: object) -> CallOffered:
    return CallOffered(ref=ref, at=AT, device=device, caller=caller, queue=queue,
                       attached=IVR, **kw)  # type: ignore[arg-type]


def answered(ref: str, device: str) -> CallAnswered:
    return CallAnswered(ref=ref, at=AT, device=device)


def ended(ref: str, cause: str, device: str | None = None) -> CallEnded:
    return CallEnded(ref=ref, at=AT, device=device, cause=cause)


def test_every_transcript_has_a_replay_test() -> None:
    names = {p.name for p in Path(FIXTURES).glob("*.ami")}
    tested = {n for n in SCENARIOS} | {"13-resync-mid-call.ami"}  # 13: test_resync.py
    assert names == tested


def test_01_login_banner_and_status_queries_emit_nothing() -> None:
    r = Replay("01-login-banner.ami")
    assert r.run() == []
    assert r.banner is not None and r.banner.version == "11.0.0"
    assert r.responses["logoff-0008"].name == "Goodbye"
    assert r.responses["a-0002"].get("Ping") == "Pong"


def test_02_queue_call_offered_answered_and_ended_by_the_customer() -> None:
    # Linkedid 1795572298.0; agent 6001 rings 2 s (AgentCalled), answers
    # (DialEnd ANSWER, AgentConnect), AgentComplete Reason: caller.
    ref = "1795572298.0"
    assert Replay("02-inbound-queue-answered.ami").run() == [
        queued(ref), offered(ref, "6001"), answered(ref, "6001"),
        ended(ref, "customer-hangup"),
    ]


def test_03_caller_abandons_in_the_queue() -> None:
    ref = "1795572312.4"
    assert Replay("03-inbound-queue-abandoned.ami").run() == [
        queued(ref), ended(ref, "abandoned"),
    ]


def test_03b_caller_hangs_up_while_the_agent_rings() -> None:
    # DialEnd CANCEL towards 6001 (twice in the capture) comes before
    # QueueCallerAbandon: the offer is withdrawn once, then the call ends.
    ref = "1795572327.6"
    assert Replay("03b-inbound-abandoned-while-ringing.ami").run() == [
        queued(ref), offered(ref, "6001"), ended(ref, "cancelled", "6001"),
        ended(ref, "abandoned"),
    ]


def test_04_agent_logs_in_pauses_for_lunch_unpauses_and_logs_off() -> None:
    def state(status: AgentStatus, reason: str | None = None) -> AgentStateChanged:
        return AgentStateChanged(at=AT, device="6003", status=status, reason=reason)

    assert Replay("04-agent-login-pause-logoff.ami").run() == [
        state(AgentStatus.READY), state(AgentStatus.NOT_READY, "Lunch"),
        state(AgentStatus.READY), state(AgentStatus.LOGGED_OUT),
    ]


def test_05_click_to_call_answered_then_the_agent_hangs_up() -> None:
    # Originate Local/6001@agents-phone -> from-internal,0987654321; the agent's
    # leg (Linkedid 1795572344.10) dials the far end, which answers; our Hangup
    # on the agent's channel: its BridgeLeave comes first.
    r = Replay("05-outbound-click-to-call.ami")
    assert r.run() == [
        CallInitiated(ref="c2c-ref", at=AT, device="6001", callee=Party("0987654321"),
                      direction=Direction.OUTBOUND),
        answered("c2c-ref", "6001"),
        ended("c2c-ref", "agent-hangup"),
    ]


def test_05b_click_to_call_the_agent_never_picks_up() -> None:
    r = Replay("05b-click-to-call-agent-no-answer.ami")
    assert r.run() == [
        CallInitiated(ref="c2c-ref", at=AT, device="6001", callee=Party("0987654321"),
                      direction=Direction.OUTBOUND),
        CallFailed(ref="c2c-ref", at=AT, device="6001", cause="no-answer"),  # Reason: 3
    ]


def test_05c_click_to_call_the_number_is_busy() -> None:
    r = Replay("05c-click-to-call-busy.ami")
    assert r.run() == [
        CallInitiated(ref="c2c-ref", at=AT, device="6001", callee=Party("0999999999"),
                      direction=Direction.OUTBOUND),
        CallFailed(ref="c2c-ref", at=AT, cause="busy"),  # DialEnd BUSY
    ]


def test_06_blind_transfer_keeps_the_ref_and_the_callers_identity() -> None:
    ref = "1795572380.20"
    assert Replay("06-blind-transfer.ami").run() == [
        queued(ref), offered(ref, "6001"), answered(ref, "6001"),
        CallTransferred(ref=ref, at=AT, from_device="6001", to_device="6002"),
        offered(ref, "6002", queue=None),  # the same customer channel dials 6002
        answered(ref, "6002"),
        ended(ref, "customer-hangup"),
    ]


def test_07_attended_transfer_through_a_consultation() -> None:
    # Atxfer on 6001's channel: Hold on it, a consultation inside the same
    # Linkedid (Local/6002@internal dials 6002), 6001 hangs up: AttendedTransfer.
    ref = "1795572399.26"
    assert Replay("07-attended-transfer.ami", consult_ref="c1").run() == [
        queued(ref), offered(ref, "6001"), answered(ref, "6001"),
        CallInitiated(ref="c1", at=AT, device="6001", callee=Party("6002"),
                      direction=Direction.INTERNAL, consult_of=ref),
        CallHeld(ref=ref, at=AT, device="6001"),
        offered("c1", "6002", caller=Party("6001"), queue=None,
                direction=Direction.INTERNAL, consult_of=ref),
        answered("c1", "6002"), answered("c1", "6001"),
        CallTransferred(ref=ref, at=AT, from_device="6001", to_device="6002", consult_ref="c1"),
        ended(ref, "customer-hangup"),
    ]


def test_08_hold_shown_by_music_on_hold_while_talking() -> None:
    # Queue music while waiting is not a hold; the MOH on 6001's own Local
    # half while it is connected is.
    ref = "1795572419.34"
    assert Replay("08-hold-music-on-hold.ami").run() == [
        queued(ref), offered(ref, "6001"), answered(ref, "6001"),
        CallHeld(ref=ref, at=AT, device="6001"), CallRetrieved(ref=ref, at=AT, device="6001"),
        ended(ref, "customer-hangup"),
    ]


def test_09_two_overlapping_calls_stay_apart() -> None:
    a, b = "1795572437.38", "1795572438.40"
    b_caller = Party("+33612345678", None)  # <0612345678>, national, no name; region FR
    assert Replay("09-two-simultaneous-inbound.ami", region="FR").run() == [
        queued(a), offered(a, "6001"),
        queued(b, b_caller), offered(b, "6002", caller=b_caller),
        answered(a, "6001"), answered(b, "6002"),
        ended(a, "customer-hangup"), ended(b, "customer-hangup"),
    ]


def test_10_error_responses_are_parsed_and_emit_nothing() -> None:
    r = Replay("10-errors.ami")
    assert r.run() == []
    assert r.responses["early-0001"].get("Message") == "Permission denied"
    assert r.responses["unknown-0003"].name == "Error"
    assert r.responses["noaction-0001"].get("Message") == "Missing action in request"
    assert r.responses["badpause-0010"].get("Message") == "Interface not found"
    assert r.responses["dupqadd-0012"].get("Message") == "Unable to add interface: Already there"
    assert r.normalizer.ignored_events["RequestBadFormat"] == 2


def test_10b_failed_login() -> None:
    r = Replay("10b-login-failed.ami")
    assert r.run() == []
    assert r.responses["login-bad"].get("Message") == "Authentication failed"


def test_11_ring_no_answer_then_the_next_agent() -> None:
    ref = "1795572456.48"
    assert Replay("11-ring-no-answer-next-agent.ami").run() == [
        queued(ref), offered(ref, "6001"), ended(ref, "no-answer", "6001"),
        offered(ref, "6002"), answered(ref, "6002"), ended(ref, "customer-hangup"),
    ]


def test_12_md5_challenge_login() -> None:
    r = Replay("12-login-md5-challenge.ami")
    assert r.run() == []
    assert r.responses["chal-0001"].get("Challenge") == "116028540"


SCENARIOS = {
    "01-login-banner.ami", "02-inbound-queue-answered.ami", "03-inbound-queue-abandoned.ami",
    "03b-inbound-abandoned-while-ringing.ami", "04-agent-login-pause-logoff.ami",
    "05-outbound-click-to-call.ami", "05b-click-to-call-agent-no-answer.ami",
    "05c-click-to-call-busy.ami", "06-blind-transfer.ami", "07-attended-transfer.ami",
    "08-hold-music-on-hold.ami", "09-two-simultaneous-inbound.ami", "10-errors.ami",
    "10b-login-failed.ami", "11-ring-no-answer-next-agent.ami", "12-login-md5-challenge.ami",
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_no_call_state_is_left_behind(name: str) -> None:
    r = Replay(name)
    r.run()
    assert r.normalizer.calls == {} and r.normalizer.convs == {}
    assert r.normalizer.channels == {} and not r.parse_errors


def test_the_channels_commands_act_on_are_the_ones_the_recording_used() -> None:
    """Right before the Atxfer block of 07: the agent's bridged ;1 half, and the
    customer's channel in that bridge (where DTMF and Redirect would go)."""
    n = Replay("07-attended-transfer.ami").normalizer
    parser = AmiParser()
    for part in transcript("07-attended-transfer.ami").parts:
        if isinstance(part, Received):
            for f in parser.feed(part.data):
                if isinstance(f, Message) and f.is_event and not f.action_id:
                    n.feed(f)
        elif part.action == "Atxfer":
            break
    ref = "1795572399.26"
    agent = n.agent_chan(ref, "6001")
    assert agent is not None and agent.name == "Local/6001@agents-0000000e;1"
    customer = n.customer_chan(ref, "6001")
    assert customer is not None and customer.name == "Local/0140000000@from-pstn-0000000d;2"
    peer = n.peer_chan(ref, "6001")
    assert peer is customer
