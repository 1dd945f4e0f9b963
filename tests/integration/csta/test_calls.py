"""Every service and event over real TCP, against the CSTA peer, in both XML framings."""

from __future__ import annotations

import pytest

from ctibridge.model.agent import AgentStatus
from ctibridge.model.errors import PlatformError
from ctibridge.model.events import (
    AgentStateChanged,
    CallAnswered,
    CallConferenced,
    CallEnded,
    CallFailed,
    CallHeld,
    CallInitiated,
    CallOffered,
    CallQueued,
    CallRetrieved,
    CallTransferred,
    PlatformResynced,
)
from ctibridge.model.party import Direction

from .harness import Rig


async def test_connect_monitors_every_agent_and_resyncs_empty(rig: Rig) -> None:
    resync = await rig.wait(PlatformResynced)
    assert resync.calls == ()
    assert set(resync.agents) == {"2001", "2002", "2003"}
    assert all(s == (AgentStatus.LOGGED_OUT, None) for s in resync.agents.values())
    assert set(await rig.connector.monitored()) == {"2001", "2002", "2003"}
    assert len(rig.switch.monitors) == 3


async def test_inbound_call_offered_answered_held_retrieved_and_hung_up(rig: Rig) -> None:
    call_id = rig.switch.inbound_call("0612345678", "2001")
    offered = await rig.wait(CallOffered)
    assert (offered.device, offered.caller.number, offered.direction) == (
        "2001", "0612345678", Direction.INBOUND)
    ref = offered.ref
    await rig.connector.answer(ref, "2001")
    await rig.wait(CallAnswered, lambda e: e.ref == ref and e.device == "2001")
    await rig.connector.hold(ref, "2001")
    await rig.wait(CallHeld, lambda e: e.ref == ref)
    await rig.connector.retrieve(ref, "2001")
    await rig.wait(CallRetrieved, lambda e: e.ref == ref)
    await rig.connector.dtmf(ref, "2001", "12#")
    await rig.connector.hangup(ref, "2001")
    await rig.wait(CallEnded, lambda e: e.ref == ref and e.device is None)
    assert call_id not in rig.switch.calls


async def test_click_to_call_to_the_network_answered_by_the_far_end(rig: Rig) -> None:
    ref = await rig.connector.make_call("2002", "0140000000", attached={"ticket": "42"})
    init = await rig.wait(CallInitiated, lambda e: e.ref == ref)
    assert (init.device, init.callee.number, init.direction) == ("2002", "0140000000",
                                                                 Direction.OUTBOUND)
    assert init.attached == {"ticket": "42"}
    rig.switch.remote_answer(next(iter(rig.switch.calls)))
    await rig.wait(CallAnswered, lambda e: e.ref == ref and e.device == "2002")
    rig.switch.remote_hangup(next(iter(rig.switch.calls)))
    await rig.wait(CallEnded, lambda e: e.ref == ref and e.device is None)


async def test_internal_call_is_reported_once_though_two_monitors_see_it(rig: Rig) -> None:
    ref = await rig.connector.make_call("2001", "2002")
    offered = await rig.wait(CallOffered, lambda e: e.ref == ref)
    assert offered.device == "2002" and offered.direction == Direction.INTERNAL
    await rig.connector.answer(ref, "2002")
    await rig.wait(CallAnswered, lambda e: e.device == "2001")
    await rig.wait(CallAnswered, lambda e: e.device == "2002")
    await rig.connector.hangup(ref, "2002")
    await rig.wait(CallEnded, lambda e: e.ref == ref and e.device is None)
    offers = [e for e in rig.seen if isinstance(e, CallOffered)]
    answers = [e for e in rig.seen if isinstance(e, CallAnswered)]
    assert len(offers) == 1 and len(answers) == 2


async def test_consultation_then_transfer_keeps_one_call_id(rig: Rig) -> None:
    rig.switch.inbound_call("0612345678", "2001")
    ref = (await rig.wait(CallOffered)).ref
    await rig.connector.answer(ref, "2001")
    await rig.wait(CallAnswered, lambda e: e.device == "2001")
    consult = await rig.connector.consult(ref, "2001", "2003")
    assert consult != ref
    await rig.wait(CallHeld, lambda e: e.ref == ref)
    init = await rig.wait(CallInitiated, lambda e: e.ref == consult)
    assert init.consult_of == ref
    await rig.wait(CallOffered, lambda e: e.ref == consult and e.device == "2003")
    await rig.connector.answer(consult, "2003")
    await rig.wait(CallAnswered, lambda e: e.ref == consult and e.device == "2003")
    await rig.connector.complete_transfer(ref, consult, "2001")
    moved = await rig.wait(CallTransferred)
    # The switch gave the call a new callID; we keep ours.
    assert (moved.ref, moved.from_device, moved.to_device, moved.consult_ref) == (
        ref, "2001", "2003", consult)
    assert rig.switch.call_of("2003").call_id != ref  # type: ignore[union-attr]
    await rig.connector.hangup(ref, "2003")  # the transferred call, by our ref
    await rig.wait(CallEnded, lambda e: e.ref == ref and e.device is None)


async def test_consultation_then_conference_then_one_leaves(rig: Rig) -> None:
    rig.switch.inbound_call("0612345678", "2001")
    ref = (await rig.wait(CallOffered)).ref
    await rig.connector.answer(ref, "2001")
    consult = await rig.connector.consult(ref, "2001", "2002")
    await rig.wait(CallOffered, lambda e: e.ref == consult)
    await rig.connector.answer(consult, "2002")
    await rig.wait(CallAnswered, lambda e: e.ref == consult and e.device == "2002")
    await rig.connector.conference(ref, consult, "2001")
    conf = await rig.wait(CallConferenced)
    assert conf.ref == ref and conf.consult_ref == consult
    assert set(conf.devices) == {"2001", "2002", "0612345678"}
    mark = rig.mark()
    await rig.connector.hangup(ref, "2001")
    left = await rig.wait(CallEnded, lambda e: e.ref == ref, after=mark)
    assert left.device == "2001"  # the conference goes on without them
    await rig.connector.hangup(ref, "2002")
    await rig.wait(CallEnded, lambda e: e.ref == ref and e.device is None)


async def test_cancel_consultation_returns_to_the_customer(rig: Rig) -> None:
    rig.switch.inbound_call("0612345678", "2001")
    ref = (await rig.wait(CallOffered)).ref
    await rig.connector.answer(ref, "2001")
    consult = await rig.connector.consult(ref, "2001", "2002")
    await rig.wait(CallOffered, lambda e: e.ref == consult)
    await rig.connector.cancel_consult(ref, consult, "2001")
    await rig.wait(CallEnded, lambda e: e.ref == consult and e.device is None)
    await rig.wait(CallRetrieved, lambda e: e.ref == ref)


async def test_single_step_transfer_to_another_agent(rig: Rig) -> None:
    rig.switch.inbound_call("0612345678", "2001")
    ref = (await rig.wait(CallOffered)).ref
    await rig.connector.answer(ref, "2001")
    await rig.connector.blind_transfer(ref, "2001", "2002")
    moved = await rig.wait(CallTransferred)
    assert (moved.ref, moved.from_device, moved.to_device, moved.consult_ref) == (
        ref, "2001", "2002", None)
    offered = await rig.wait(CallOffered, lambda e: e.device == "2002")
    assert offered.ref == ref


async def test_queued_then_delivered_and_diverted(rig: Rig) -> None:
    call_id = rig.switch.inbound_call("0612345678", "2001", queue="5000")
    queued = await rig.wait(CallQueued)
    assert queued.queue == "5000" and queued.caller.number == "0612345678"
    await rig.wait(CallOffered, lambda e: e.ref == queued.ref and e.device == "2001")
    rig.switch.divert(call_id, "2001", "2002")
    ended = await rig.wait(CallEnded, lambda e: e.device == "2001")
    assert ended.cause == "diverted" and ended.ref == queued.ref
    await rig.wait(CallOffered, lambda e: e.ref == queued.ref and e.device == "2002")


async def test_busy_destination_fails_the_call(rig: Rig) -> None:
    rig.switch.busy.add("0699999999")
    ref = await rig.connector.make_call("2001", "0699999999")
    failed = await rig.wait(CallFailed, lambda e: e.ref == ref)
    assert failed.cause == "busy"


async def test_agent_states_both_ways(rig: Rig) -> None:
    await rig.connector.set_agent_state("2001", AgentStatus.READY)
    await rig.wait(AgentStateChanged, lambda e: e.device == "2001"
                   and e.status is AgentStatus.READY)
    assert rig.switch.agent_state["2001"] == "ready"
    assert await rig.connector.get_agent_state("2001") == (AgentStatus.READY, None)
    await rig.connector.set_agent_state("2001", AgentStatus.WRAP_UP)
    await rig.wait(AgentStateChanged, lambda e: e.status is AgentStatus.WRAP_UP)
    rig.switch.set_agent("2001", "notReady")  # changed at the phone
    await rig.wait(AgentStateChanged, lambda e: e.status is AgentStatus.NOT_READY)
    await rig.connector.set_agent_state("2001", AgentStatus.LOGGED_OUT)
    await rig.wait(AgentStateChanged, lambda e: e.status is AgentStatus.LOGGED_OUT)


@pytest.mark.parametrize(("action", "code"), [
    ("answer-unknown-call", "no-such-call"),
    ("answer-not-ringing", "not-ringing"),
    ("retrieve-not-held", "not-held"),
    ("dial-garbage", "invalid-number"),
    ("dtmf-garbage", "bad-request"),
])
async def test_negative_acknowledgements_become_stable_codes(rig: Rig, action: str,
                                                             code: str) -> None:
    c = rig.connector
    if action == "dial-garbage":
        with pytest.raises(PlatformError) as err:
            await c.make_call("2001", "not a number")
        assert err.value.code == code
        return
    rig.switch.inbound_call("0612345678", "2001")
    ref = (await rig.wait(CallOffered)).ref
    with pytest.raises(PlatformError) as err:
        if action == "answer-unknown-call":
            c.tracker.ensure("77777")
            await c.answer("77777", "2001")
        elif action == "answer-not-ringing":
            await c.answer(ref, "2001")
            await c.answer(ref, "2001")
        elif action == "retrieve-not-held":
            await c.answer(ref, "2001")
            await c.retrieve(ref, "2001")
        else:
            await c.answer(ref, "2001")
            await c.dtmf(ref, "2001", "x")
    assert err.value.code == code
    assert "csta" in err.value.details
