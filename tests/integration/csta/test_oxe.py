"""The OmniPCX dialect: every service, event and link scenario of the XML dialects, run
again over ECMA-285 BER with the OXE framing and ACSE association, plus what only OXE has."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from ctibridge.clock import SystemClock
from ctibridge.model.events import CallOffered, PlatformStatus
from ctibridge.telephony.csta.config import parse_options
from ctibridge.telephony.csta.connector import CstaConnector
from ctibridge.telephony.csta.message import ConnectionId
from tests.peers.csta.oxe import OxePeer, OxeSwitch, dynamic_id

from .harness import STATIONS, Rig

# The same scenarios as for Avaya and OpenScape (they take the ``rig`` fixture below).
from .test_calls import (  # noqa: F401
    test_agent_states_both_ways,
    test_busy_destination_fails_the_call,
    test_cancel_consultation_returns_to_the_customer,
    test_click_to_call_to_the_network_answered_by_the_far_end,
    test_connect_monitors_every_agent_and_resyncs_empty,
    test_consultation_then_conference_then_one_leaves,
    test_consultation_then_transfer_keeps_one_call_id,
    test_inbound_call_offered_answered_held_retrieved_and_hung_up,
    test_internal_call_is_reported_once_though_two_monitors_see_it,
    test_negative_acknowledgements_become_stable_codes,
    test_queued_then_delivered_and_diverted,
    test_single_step_transfer_to_another_agent,
)
from .test_link import (  # noqa: F401
    test_a_call_that_started_during_the_outage_appears_in_the_resync,
    test_link_loss_then_resync_drops_the_ghost_and_keeps_the_live_call,
    test_switch_system_status_is_answered_and_reported,
)


async def make_oxe_rig(**extra: Any) -> Rig:
    # OmniPCX call identifiers are two binary bytes (Alcatel documentation): the switch
    # numbers calls that way, and they travel as such in BER.
    switch = OxeSwitch(STATIONS, call_id_format="0x{:04x}")
    peer = OxePeer(switch)
    port = await peer.start()
    opts: dict[str, Any] = {"dialect": "oxe", "host": "127.0.0.1", "port": port,
                            "devices": list(STATIONS), "agent_ids": dict(STATIONS),
                            "reconnect_min": 0.05, "reconnect_max": 0.2,
                            "request_timeout": 3.0}
    opts.update(extra)
    rig = Rig(peer, CstaConnector("oxe", parse_options("oxe", opts), clock=SystemClock()))
    await rig.start()
    return rig


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    r = await make_oxe_rig()
    try:
        await r.wait(PlatformStatus, lambda e: e.up)
        yield r
    finally:
        await r.stop()


async def test_the_link_opens_with_an_acse_association(rig: Rig) -> None:
    peer = rig.peer
    assert isinstance(peer, OxePeer) and peer.associations == 1
    assert peer.requests[0] == "Associate"  # before any CSTA service


async def test_requests_on_a_call_name_the_station_by_its_dynamic_identifier(rig: Rig) -> None:
    rig.switch.inbound_call("0612345678", "2001")
    ref = (await rig.wait(CallOffered)).ref
    await rig.connector.answer(ref, "2001")
    sent = [m for s in rig.peer.sessions for m in s.received if m.name == "AnswerCall"]
    conn = sent[-1].connection("callToBeAnswered")
    assert isinstance(conn, ConnectionId) and conn.device_id == dynamic_id("2001")


async def test_garbage_in_ber_is_counted_and_the_link_stays(rig: Rig) -> None:
    rig.peer.send_raw(b"\xa1\x05\x02\x01\x01\x02")  # a ROSE invoke cut short
    rig.switch.inbound_call("0612345678", "2001")
    await rig.wait(CallOffered)
    assert rig.connector.health().up


async def test_a_refused_association_is_reported_and_retried() -> None:
    switch = OxeSwitch(STATIONS, call_id_format="0x{:04x}")
    peer = OxePeer(switch)
    peer.refuse_association = True
    port = await peer.start()
    rig = Rig(peer, CstaConnector("oxe", parse_options("oxe", {
        "dialect": "oxe", "host": "127.0.0.1", "port": port, "devices": list(STATIONS),
        "reconnect_min": 0.05, "reconnect_max": 0.2, "request_timeout": 3.0}),
        clock=SystemClock()))
    await rig.start()
    try:
        down = await rig.wait(PlatformStatus, lambda e: not e.up)
        assert "Associate" in down.detail or "association" in down.detail
        peer.refuse_association = False
        await rig.wait(PlatformStatus, lambda e: e.up)
    finally:
        await rig.stop()
