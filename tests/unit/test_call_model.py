"""Calls and connections follow the CSTA-style state machine."""

from datetime import UTC, datetime

import pytest

from ctibridge.model.call import Call, ConnectionState
from ctibridge.model.errors import IllegalTransition
from ctibridge.model.party import Direction, Party

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
C = ConnectionState


def new_call() -> Call:
    return Call("c-1", Direction.INBOUND, Party("+33612345678", "Camille"), T0)


def test_a_connection_rings_is_answered_held_retrieved_and_ends() -> None:
    call = new_call()
    for st in (C.ALERTING, C.CONNECTED, C.HELD, C.CONNECTED, C.ENDED):
        assert call.set_connection("1001", st, T0, "alice")
    assert call.connection("1001").state == C.ENDED  # type: ignore[union-attr]


def test_repeating_a_state_is_not_a_change() -> None:
    call = new_call()
    call.set_connection("1001", C.ALERTING, T0)
    assert call.set_connection("1001", C.ALERTING, T0) is False


def test_holding_a_call_that_was_never_answered_is_illegal() -> None:
    call = new_call()
    call.set_connection("1001", C.ALERTING, T0)
    with pytest.raises(IllegalTransition) as err:
        call.set_connection("1001", C.HELD, T0)
    assert err.value.code == "illegal-connection-transition"
    assert "1001" in err.value.message and "alerting" in err.value.message


def test_a_device_may_come_back_after_its_connection_ended() -> None:
    call = new_call()
    call.set_connection("1001", C.ALERTING, T0)
    call.set_connection("1001", C.ENDED, T0)
    assert call.set_connection("1001", C.ALERTING, T0)


def test_ending_a_call_ends_every_live_connection_once() -> None:
    call = new_call()
    call.set_connection("1001", C.CONNECTED, T0, "alice")
    call.set_connection("1002", C.HELD, T0, "bob")
    call.end(T0, "customer-hangup")
    call.end(T0, "other")
    assert call.live_connections() == []
    assert call.end_cause == "customer-hangup"
    assert call.to_dict()["connections"][1]["state"] == "ended"


def test_hold_and_retrieve_keep_the_call_clock_and_add_up_the_time_on_hold() -> None:
    from datetime import timedelta

    call = new_call()
    at = lambda s: T0 + timedelta(seconds=s)  # noqa: E731
    call.set_connection("1001", C.ALERTING, at(0), "alice")
    call.set_connection("1001", C.CONNECTED, at(5), "alice")
    call.set_connection("1001", C.HELD, at(65), "alice")
    call.set_connection("1001", C.CONNECTED, at(95), "alice")
    call.set_connection("1001", C.HELD, at(100), "alice")
    call.set_connection("1001", C.CONNECTED, at(110), "alice")
    conn = call.connection("1001")
    assert conn is not None
    assert conn.connected_at == at(5) and conn.since == at(110)
    assert conn.held_seconds == 40
    d = conn.to_dict()
    assert d["connected_at"] == at(5).isoformat() and d["held_seconds"] == 40


def test_a_connection_that_starts_connected_starts_its_clock_there() -> None:
    call = new_call()
    call.set_connection("1002", C.CONNECTED, T0, "bob")
    conn = call.connection("1002")
    assert conn is not None and conn.connected_at == T0 and conn.held_seconds == 0
