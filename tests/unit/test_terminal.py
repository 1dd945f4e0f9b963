"""The terminal client's reading of frames and typed lines (no hub: frames as the protocol
documents them in docs/protocol/agent-websocket.md)."""

from __future__ import annotations

import io
from typing import Any

import pytest

from ctibridge.terminal import TerminalAgent


def agent_with(snapshot: dict[str, Any] | None = None) -> tuple[TerminalAgent, io.StringIO]:
    out = io.StringIO()
    t = TerminalAgent(out)
    t.on_frame({"type": "hello", "user": {"agent_id": "bob"}, "server": "ctibridge/test"})
    t.on_frame({"type": "snapshot", "seq": 10, "agent": {"state": {"status": "ready"}},
                "calls": [], "interactions": [], **(snapshot or {})})
    t.connected = True
    return t, out


def call(state: str = "connected", call_id: str = "c-0123456789ab") -> dict[str, Any]:
    return {"call_id": call_id, "direction": "inbound",
            "customer": {"number": "+33612345678", "name": "Camille Petit"},
            "connections": [{"device": "1002", "state": state, "agent_id": "bob"}]}


def work(iid: str, state: str, created: str) -> dict[str, Any]:
    return {"interaction_id": iid, "channel": "chat", "state": state, "agent_id": "bob",
            "customer": {"name": "Léa Roux"}, "preview": "Bonjour", "created_at": created,
            "offer_deadline": "2026-01-05T09:00:20+00:00"}


def test_dial_takes_a_number_written_with_spaces() -> None:
    t, _ = agent_with()
    assert t.parse("dial 06 30 72 13 11") is not None
    assert t.parse("dial 06 30 72 13 11")["number"] == "0630721311"  # type: ignore[index]


def test_an_event_the_hub_reports_twice_is_printed_once() -> None:
    t, out = agent_with()
    frame = {"type": "event", "name": "call.answered", "data": {"call": call()}}
    t.on_frame({**frame, "seq": 11})
    t.on_frame({**frame, "seq": 12})  # the other leg of the same step
    t.on_frame({**frame, "seq": 11})  # replayed by a resume
    assert out.getvalue().count("[call.answered]") == 1


def test_events_the_snapshot_already_holds_are_skipped() -> None:
    t, out = agent_with()
    t.on_frame({"type": "event", "seq": 9, "name": "call.offered",
                "data": {"call": call("alerting")}})
    assert "[call.offered]" not in out.getvalue()


def test_digital_work_is_numbered_accepted_declined_and_closed() -> None:
    t, out = agent_with({"digital": [work("i-aaa", "active", "2026-01-05T09:00:00"),
                                     work("i-bbb", "offered", "2026-01-05T09:01:00")]})
    assert "2. chat from Léa Roux [offered until 09:00:20] Bonjour" in out.getvalue()
    assert t.parse("accept") == {"type": "command", "id": "t-1", "op": "interaction.accept",
                                 "interaction_id": "i-bbb"}
    declined = t.parse("decline 2 too busy now")
    assert declined is not None and declined["reason"] == "too busy now"
    closed = t.parse("close resolved all good")
    assert closed is not None
    assert (closed["interaction_id"], closed["disposition"], closed["notes"]) == (
        "i-aaa", "resolved", "all good")
    closed = t.parse("close 1 callback")
    assert closed is not None and (closed["interaction_id"], closed["disposition"]) == (
        "i-aaa", "callback")
    t.on_frame({"type": "event", "seq": 11, "name": "interaction.withdrawn",
                "data": {"interaction": {**work("i-bbb", "queued", "x"), "agent_id": None},
                         "reason": "timeout"}})
    assert "[interaction.withdrawn] (timeout)" in out.getvalue()
    with pytest.raises(ValueError, match="no offered digital work"):
        t.parse("accept")


def test_pick_logs_the_call_against_the_record_chosen_among_several() -> None:
    t, out = agent_with({"calls": [call()]})
    t.on_frame({"type": "event", "seq": 11, "name": "screenpop", "data": {
        "call_id": "c-0123456789ab", "outcome": "several", "selected": None,
        "matches": [{"record_id": "C1", "name": "Camille Petit", "company": "Acme"},
                    {"record_id": "C2", "name": "Camille Petit", "company": None}]}})
    assert "2 records match" in out.getvalue()
    assert "2. Camille Petit [C2]" in out.getvalue()
    frame = t.parse("pick 2")
    assert frame is not None
    assert (frame["op"], frame["call_id"], frame["record_id"]) == (
        "crm.select", "c-0123456789ab", "C2")
    with pytest.raises(ValueError, match="from 1 to 2"):
        t.parse("pick 3")


def test_state_while_the_link_is_down_says_so() -> None:
    t, out = agent_with()
    t.connected = False
    t.parse("state")
    assert "not connected to the hub (last known: ready)" in out.getvalue()
