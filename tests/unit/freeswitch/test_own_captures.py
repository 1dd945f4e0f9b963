"""Our own captures (tests/fixtures/freeswitch: the hub's own ESL link against the lab),
replayed through framing + normalizer as the connector does.

Expected sequences were written from each scenario of the live suite and checked
against the transcripts: the connector's subscription (not ALL), its snapshot, its
commands (our click-to-call's request id, att_xfer broadcasts...).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ctibridge.model.agent import AgentStatus
from ctibridge.model.events import (
    AgentStateChanged,
    CallConferenced,
    CallFailed,
    CallInitiated,
    CallTransferred,
    PlatformResynced,
)
from ctibridge.recording.esl import EslReplay, read_esl_file

from .replay import AT, OWN, options, replay


def names(name: str) -> list[str]:
    r = replay(name, folder=OWN)
    assert not r.parse_errors, r.parse_errors
    return [e.event.name for e in r.events if e.event.name != "agent.state"]


def calls(name: str) -> list[str]:
    return [n for n in names(name) if n.startswith("call.")]


def test_every_own_capture_has_a_replay_test() -> None:
    assert {p.name for p in OWN.glob("*.esl")} == set(CALLS) | {
        "live-01-agent-status.esl", "live-12-link-loss.esl", "live-12-link-loss-after-cut.esl",
        "live-13-resync-mid-call.esl", "live-13-resync-mid-call-after-cut.esl"}


CALLS = {
    "live-02-inbound-answered.esl": ["call.queued", "call.offered", "call.answered",
                                     "call.ended"],
    "live-03-agent-hangs-up.esl": ["call.queued", "call.offered", "call.answered",
                                   "call.ended"],
    "live-04-abandoned.esl": ["call.queued", "call.ended"],
    "live-05-hold.esl": ["call.queued", "call.offered", "call.answered", "call.held",
                         "call.ended"],
    "live-06-dtmf.esl": ["call.queued", "call.offered", "call.answered", "call.dtmf",
                         "call.dtmf", "call.dtmf", "call.ended"],
    "live-07-blind-transfer.esl": ["call.queued", "call.offered", "call.answered",
                                   "call.transferred", "call.offered", "call.answered",
                                   "call.ended"],
    "live-08-attended-transfer.esl": ["call.queued", "call.offered", "call.answered",
                                      "call.initiated", "call.held", "call.offered",
                                      "call.answered", "call.answered", "call.transferred",
                                      "call.ended"],
    "live-09-conference.esl": ["call.queued", "call.offered", "call.answered",
                               "call.initiated", "call.held", "call.offered",
                               "call.answered", "call.answered", "call.conferenced",
                               "call.ended", "call.ended"],
    "live-10-click-to-call.esl": ["call.initiated", "call.answered", "call.ended"],
    "live-14-cancel-consult.esl": ["call.queued", "call.offered", "call.answered",
                                   "call.initiated", "call.held", "call.offered",
                                   "call.answered", "call.answered", "call.ended",
                                   "call.retrieved", "call.ended"],
    "live-11-click-to-call-busy.esl": ["call.initiated", "call.failed"],
}
CAUSES = {
    "live-02-inbound-answered.esl": "customer-hangup", "live-03-agent-hangs-up.esl":
    "agent-hangup", "live-04-abandoned.esl": "abandoned", "live-05-hold.esl": "agent-hangup",
    "live-06-dtmf.esl": "agent-hangup", "live-07-blind-transfer.esl": "agent-hangup",
    "live-08-attended-transfer.esl": "agent-hangup", "live-09-conference.esl":
    "customer-hangup", "live-10-click-to-call.esl": "agent-hangup",
    "live-14-cancel-consult.esl": "agent-hangup",
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_each_scenario_gives_the_calls_events_in_order(name: str) -> None:
    assert calls(name) == CALLS[name]


@pytest.mark.parametrize("name", sorted(CAUSES))
def test_each_call_ends_with_who_hung_up(name: str) -> None:
    r = replay(name, folder=OWN)
    last = [e.event for e in r.events if e.event.name == "call.ended"][-1]
    assert last.device is None and last.cause == CAUSES[name]
    refs = {getattr(e.event, "ref", None) for e in r.events} - {None}
    main = {ref.split("~")[0] for ref in refs}
    assert len(main) == 1  # one customer call, one id (a consultation is <ref>~x<n>)
    # (a recording may stop before the customer's legs have gone: their call has ended)
    assert all(c.ended for c in r.normalizer.convs.values())


def test_ivr_data_and_the_caller_reach_the_offer() -> None:
    r = replay("live-02-inbound-answered.esl", folder=OWN)
    offer = next(e.event for e in r.events if e.event.name == "call.offered")
    assert offer.device == "6001" and offer.queue == "support@default"
    assert offer.caller.number == "+33123456789" and offer.caller.name == "Jean Dupont"
    assert offer.attached == {"customer_id": "C-1042", "account": "ACME-77",
                              "ivr_choice": "support"}


def test_transfers_name_who_left_and_who_took_the_call() -> None:
    blind = next(e.event for e in replay("live-07-blind-transfer.esl", folder=OWN).events
                 if isinstance(e.event, CallTransferred))
    assert (blind.from_device, blind.to_device, blind.consult_ref) == ("6001", "6002", None)
    r = replay("live-08-attended-transfer.esl", folder=OWN)
    consult = next(e.event for e in r.events if isinstance(e.event, CallInitiated))
    att = next(e.event for e in r.events if isinstance(e.event, CallTransferred))
    assert consult.consult_of == att.ref and att.consult_ref == consult.ref
    assert (att.from_device, att.to_device) == ("6001", "6002")


def test_the_conference_joins_both_agents_and_ends_the_consultation() -> None:
    r = replay("live-09-conference.esl", folder=OWN)
    conf = next(e.event for e in r.events if isinstance(e.event, CallConferenced))
    assert conf.devices == ("6001", "6002") and conf.consult_ref == f"{conf.ref}~x1"


def test_click_to_call_keeps_our_request_id_and_a_busy_number_fails() -> None:
    r = replay("live-10-click-to-call.esl", folder=OWN)
    init = r.events[[e.event.name for e in r.events].index("call.initiated")].event
    assert init.ref.startswith("c2c-") and init.callee.number == "0987654321"
    assert {getattr(e.event, "ref", init.ref) for e in r.events} == {init.ref}
    busy = [e.event for e in replay("live-11-click-to-call-busy.esl", folder=OWN).events
            if isinstance(e.event, CallFailed)]
    assert len(busy) == 1 and busy[0].cause == "busy"


def test_agent_states_set_from_the_bar_and_from_freeswitch() -> None:
    states = [(e.event.status, e.event.reason) for e in replay(
        "live-01-agent-status.esl", folder=OWN).events if isinstance(e.event, AgentStateChanged)]
    ready, not_ready, out = AgentStatus.READY, AgentStatus.NOT_READY, AgentStatus.LOGGED_OUT
    # login (not ready), ready, lunch, ready, On Break on the switch (the hub answers the
    # switch's own change by setting it again), logout.
    assert [s for s, _ in states] == [not_ready, ready, not_ready, ready, not_ready,
                                      not_ready, out]


def chained(first: str, second: str) -> tuple[EslReplay, EslReplay]:
    """Two connections of one connector: the second starts with what the first knew."""
    a = replay(first, folder=OWN)
    b = EslReplay(read_esl_file(OWN / second), options(), lambda: AT)
    b.normalizer = a.normalizer
    b.run()
    assert not b.parse_errors
    return a, b


def test_link_loss_the_call_that_ended_meanwhile_is_not_in_the_resync() -> None:
    a, b = chained("live-12-link-loss.esl", "live-12-link-loss-after-cut.esl")
    ref = next(e.event.ref for e in a.events if e.event.name == "call.answered")
    assert ref in a.normalizer.convs or ref not in b.normalizer.convs
    snap = b.events[0].event
    assert isinstance(snap, PlatformResynced)
    assert snap.calls == ()  # the hub ends the call it knew: no ghost
    assert snap.agents["6001"] == (AgentStatus.READY, None)
    # the next call works on the new link
    assert [e.event.name for e in b.events if e.event.name.startswith("call.")] == [
        "call.queued", "call.offered", "call.answered", "call.ended"]
    assert all(c.ended for c in b.normalizer.convs.values())


def test_link_loss_a_call_still_up_keeps_its_id_through_the_resync() -> None:
    a, b = chained("live-13-resync-mid-call.esl", "live-13-resync-mid-call-after-cut.esl")
    ref = next(e.event.ref for e in a.events if e.event.name == "call.answered")
    snap = b.events[0].event
    assert isinstance(snap, PlatformResynced)
    (call,) = snap.calls
    assert call.ref == ref and call.devices == {"6001": "connected"}
    assert call.queue == "support@default" and call.customer.number == "+33123456789"
    end = next(e.event for e in b.events if e.event.name == "call.ended")
    assert end.ref == ref and end.cause == "agent-hangup"
    assert all(c.ended for c in b.normalizer.convs.values())


def test_fixture_folder_is_in_the_repository() -> None:
    assert Path(OWN).is_dir() and OWN.parent.name == "fixtures"
