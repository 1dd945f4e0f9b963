"""What the hub tells a bar about a call beyond its state: the customer a consultation
is about, colleagues and their presence on demand, names for call data and the
supervisor's per-queue thresholds (issue 14)."""

from __future__ import annotations

import pytest

from ctibridge.clock import FakeClock
from ctibridge.config import Settings
from ctibridge.core.hub import Hub
from ctibridge.core.permissions import Principal
from ctibridge.core.supervision import Supervision
from ctibridge.model.agent import AgentState, AgentStatus, Role
from ctibridge.model.errors import ConfigError
from ctibridge.model.events import CallAnswered, CallInitiated, CallOffered, CallQueued
from ctibridge.model.party import Direction, Party

CUSTOMER = Party("+33612345678", "Camille Petit")
ALICE = Principal("alice", frozenset({Role.AGENT}), "alice")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hub(clock: FakeClock) -> Hub:
    settings = Settings.load(None, wrap_up_seconds=30, agents=[
        {"id": "alice", "name": "Alice Martin", "extension": "1001"},
        {"id": "bob", "name": "Bob Durand", "extension": "1002"},
        {"id": "carol", "name": "Carol Lefèvre", "extension": "1003"},
        {"id": "dan", "name": "Dan Petit", "extension": "1004"},
    ], queues=[{"name": "support", "channels": ["voice"], "thresholds": {
        "waiting": {"warn": 2, "alert": 5}, "service_level": {"warn": 80, "alert": 60}}}])
    h = Hub(settings, {}, clock=clock)
    states = {"alice": AgentStatus.BUSY, "bob": AgentStatus.READY,
              "carol": AgentStatus.WRAP_UP, "dan": AgentStatus.LOGGED_OUT}
    for agent_id, status in states.items():
        h.agents[agent_id].state = AgentState(status, clock.now())
    return h


def test_a_consultation_carries_the_customer_and_the_data_of_the_call_it_was_made_from(
        hub: Hub, clock: FakeClock) -> None:
    at = clock.now()
    hub.apply("sim", CallQueued(ref="c1", at=at, caller=CUSTOMER, queue="support",
                                attached={"customer_id": "C-1042", "reason": "billing"}))
    hub.apply("sim", CallOffered(ref="c1", at=at, device="1001", caller=CUSTOMER, queue="support"))
    hub.apply("sim", CallAnswered(ref="c1", at=at, device="1001"))
    hub.apply("sim", CallInitiated(ref="c2", at=at, device="1001", callee=Party("1002"),
                                   direction=Direction.INTERNAL, consult_of="c1"))
    hub.apply("sim", CallOffered(ref="c2", at=at, device="1002", caller=Party("1001"),
                                 direction=Direction.INTERNAL, consult_of="c1"))
    consult = hub.calls.by_ref("sim", "c2")
    assert consult is not None and consult.consult_of == hub.calls.by_ref("sim", "c1").call_id  # type: ignore[union-attr]
    seen_by_bob = consult.to_dict()
    assert seen_by_bob["about"] == {"number": "+33612345678", "name": "Camille Petit"}
    assert seen_by_bob["attached"] == {"customer_id": "C-1042", "reason": "billing"}
    # An ordinary call is about nobody else.
    assert hub.calls.by_ref("sim", "c1").to_dict()["about"] is None  # type: ignore[union-attr]


async def test_the_directory_lists_colleagues_with_their_presence_but_not_the_logged_out(
        hub: Hub) -> None:
    from ctibridge.core.directory import PageRequest

    # What the bar's transfer panel asks (directory.get {present: true}); it leaves itself out.
    result = hub.directory.page(PageRequest.parse({"present": True}))
    others = [(a["agent_id"], a["status"]) for a in result["entries"] if a["agent_id"] != "alice"]
    assert others == [("bob", "ready"), ("carol", "wrap_up")]
    bob = next(a for a in result["entries"] if a["agent_id"] == "bob")
    assert bob["devices"] == {"sim": "1002"} and "reason" in bob


def test_call_data_labels_add_to_the_defaults_and_refuse_bad_keys() -> None:
    s = Settings.load(None, call_data_labels={
        "keys": {"contract_no": {"en": "Contract", "fr": "Contrat"}},
        "values": {"reason": {"callback": {"en": "Call back", "fr": "Rappel"}}}})
    labels = s.call_data_labels.to_dict()
    assert labels["keys"]["contract_no"] == {"en": "Contract", "fr": "Contrat"}
    assert labels["keys"]["customer_id"]["fr"] == "N° client"  # a default kept
    assert labels["values"]["reason"]["callback"]["fr"] == "Rappel"
    assert labels["values"]["reason"]["cancellation"]["fr"] == "Résiliation"
    with pytest.raises(ConfigError) as err:
        Settings.load(None, call_data_labels={"keys": {"bad key": {"en": "x", "fr": "y"}}})
    assert "bad key" in str(err.value)


def test_thresholds_go_with_the_queue_figures_and_must_be_in_order(hub: Hub) -> None:
    [row] = Supervision(hub).queues()
    assert row["thresholds"] == {"waiting": {"warn": 2, "alert": 5},
                                 "service_level": {"warn": 80, "alert": 60}}
    with pytest.raises(ConfigError) as err:
        Settings.load(None, queues=[{"name": "q", "channels": ["voice"], "thresholds": {
            "waiting": {"warn": 5, "alert": 2}}}])
    assert "waiting: alert (2) must be at least warn (5)" in str(err.value)
    with pytest.raises(ConfigError) as err:
        Settings.load(None, queues=[{"name": "q", "channels": ["voice"], "thresholds": {
            "service_level": {"warn": 60, "alert": 80}}}])
    assert "service_level" in str(err.value)
