"""``ctibridge replay``: a bare transcript (what a user attaches to a bug report)
goes through the connector's normalizer and a real hub, with nothing else."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ctibridge.cli import app
from ctibridge.recording.asterisk import AmiReplay, infer_options
from ctibridge.recording.replay import replay_file
from ctibridge.recording.transcript import read_transcript_file
from ctibridge.telephony.asterisk.config import AsteriskOptions

from ..asterisk.replay import AT, SETUP_MEMBERS, Replay, options
from .test_transcript import ALL, FIXTURES

runner = CliRunner()


def shape(ev: Any) -> tuple[Any, ...]:
    """What matters of an event here: refs chosen by the harness are left out."""
    return (ev.name, getattr(ev, "device", None), getattr(ev, "cause", None),
            getattr(ev, "from_device", None), getattr(ev, "to_device", None),
            getattr(ev, "status", None))


@pytest.mark.parametrize("name", [n for n in ALL if not n.startswith("13-")])
def test_the_replay_engine_sees_every_capture_as_the_connector_tests_do(name: str) -> None:
    # Same options and starting members as tests/unit/asterisk/replay.py, whose
    # expectations were written from the captures scenario by scenario.
    expected = [replace(e, at=AT) for e in Replay(name).run()]
    r = AmiReplay(read_transcript_file(FIXTURES / name), options(), lambda: AT)
    r.normalizer.set_members(SETUP_MEMBERS)
    got = [e.event for e in r.run()]
    # 01 asks CoreShowChannels then QueueStatus as the connector's resync does: the
    # replay sees a snapshot there (the harness above feeds events only).
    assert r.resyncs == (1 if name.startswith("01-") else 0)
    got = [e for e in got if e.name != "platform.resynced"]
    assert [shape(e) for e in got] == [shape(e) for e in expected]
    assert r.parse_errors == [] and r.banner == "Asterisk Call Manager/11.0.0"


def test_a_snapshot_in_the_transcript_is_replayed_as_the_connectors_resync() -> None:
    r = AmiReplay(read_transcript_file(FIXTURES / "13-resync-mid-call.ami"), options(),
                  lambda: AT)
    events = r.run()
    assert r.resyncs == 1
    snap = events[0].event
    assert snap.name == "platform.resynced"
    assert sorted(c.customer.number for c in snap.calls) == ["+33123456789", "0612345678"]
    assert snap.agents["6002"][0].value == "not_ready"
    assert [e.event.name for e in events[1:]].count("call.ended") == 2


def test_agents_queues_variables_and_contexts_are_inferred_from_the_traffic() -> None:
    opts = infer_options(read_transcript_file(FIXTURES / "06-blind-transfer.ami"))
    assert opts["queues"] == ["support"]
    assert opts["agents"]["6001"]["interface"] == "Local/6001@agents"
    assert opts["agents"]["6001"]["name"] == "Agent 6001"
    assert opts["agents"]["6002"]["state_interface"] == "Custom:6002"
    assert opts["variables"] == ["CUSTOMER_ID", "ACCOUNT", "IVR_CHOICE"]
    assert opts["transfer_context"] == "internal"
    AsteriskOptions.model_validate(opts)  # usable as they are
    # Members met only in a QueueStatus answer (the resync) count too.
    opts13 = infer_options(read_transcript_file(FIXTURES / "13-resync-mid-call.ami"))
    assert set(opts13["agents"]) == {"6001", "6002"}


def test_replaying_a_bare_capture_prints_each_call_from_queue_to_hang_up() -> None:
    result = runner.invoke(app, ["replay", str(FIXTURES / "07-attended-transfer.ami")])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "options inferred: agents 6001 (Agent 6001), 6002 (Agent 6002)" in out
    assert "call.queued" in out and "call.transferred" in out
    assert "ended customer-hangup" in out
    assert "STILL OPEN" not in out


def test_json_output_has_the_events_with_their_lines_and_the_timelines() -> None:
    result = runner.invoke(app, ["replay", "--json",
                                 str(FIXTURES / "02-inbound-queue-answered.ami")])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    names = [e["event"] for e in doc["events"]]
    assert names[:3] == ["call.queued", "call.offered", "agent.state"] or \
        names[:2] == ["call.queued", "call.offered"]
    assert names[-1] == "call.ended"
    lines = (FIXTURES / "02-inbound-queue-answered.ami").read_bytes().split(b"\r\n")
    queued = doc["events"][0]
    # The line cited is inside the QueueCallerJoin message that caused the event.
    before = lines[:queued["line"]]
    last_event = next(x for x in reversed(before) if x.startswith(b"Event: "))
    assert last_event == b"Event: QueueCallerJoin"
    (call,) = doc["calls"]
    assert call["final"]["end_cause"] == "customer-hangup"
    assert call["final"]["attached"] == {"CUSTOMER_ID": "C-1042", "ACCOUNT": "ACME-77",
                                         "IVR_CHOICE": "support"}
    states = [t["connections"].get("6001") for t in call["timeline"]]
    assert states[:3] == [None, "alerting", "connected"]
    hub_names = {h["event"] for h in doc["hub_events"]}
    assert {"call.offered", "call.answered", "call.ended"} <= hub_names


def test_a_config_file_names_the_agents(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("""
telephony:
  - name: pbx
    type: asterisk
    options:
      host: 127.0.0.1
      username: x
      secret: y
      queues: [support]
      variables: [ACCOUNT]
      agents:
        "6001": {interface: Local/6001@agents, name: Agent 6001}
agents:
  - {id: alice, name: Alice Martin, extension: "6001", platform: pbx}
""")
    report = replay_file(FIXTURES / "02-inbound-queue-answered.ami", config=cfg)
    assert report.options_from == "config"
    assert [a["id"] for a in report.agents] == ["alice"]
    (call,) = report.calls
    assert call.final["attached"] == {"ACCOUNT": "ACME-77"}
    alice = [c for c in call.final["connections"] if c["agent_id"] == "alice"]
    assert alice and alice[0]["state"] == "ended"


def test_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["replay", str(tmp_path / "nope.ami")])
    assert missing.exit_code == 2 and "cannot read" in missing.output
    other = tmp_path / "http.txt"
    other.write_bytes(b"HTTP/1.1 200 OK\r\n\r\n")
    r = runner.invoke(app, ["replay", str(other)])
    assert r.exit_code == 2 and "cannot replay a 'unknown' transcript" in r.output
    cfg = tmp_path / "empty.yaml"
    cfg.write_text("agents: []\n")
    r = runner.invoke(app, ["replay", "-c", str(cfg), str(FIXTURES / "01-login-banner.ami")])
    assert r.exit_code == 2 and "no asterisk platform" in r.output
