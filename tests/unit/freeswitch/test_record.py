"""``ctibridge record --protocol esl`` and the recording proxy, then ``ctibridge replay``
of what they wrote: the round trip of an ESL transcript."""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from ctibridge.cli import app
from ctibridge.recording.esl import (
    EslFraming,
    EslTarget,
    read_esl_file,
    record_esl,
)
from ctibridge.recording.proxy import RecordingProxy
from ctibridge.recording.replay import replay_transcript
from ctibridge.telephony.freeswitch.client import EslClient
from ctibridge.telephony.freeswitch.esl import Frame

from .fake_esl import FakeEsl, event_frames

runner = CliRunner()


async def test_a_recording_replays_to_the_same_events_as_the_capture(tmp_path: Path) -> None:
    fake = FakeEsl(password="s3cret")
    fake.api["callcenter_config agent list"] = "name|status\n6001@default|Available\n+OK\n"
    await fake.start()
    out = tmp_path / "rec.esl"
    stop = asyncio.Event()
    frames = event_frames("01-inbound-answered.esl")
    seen: list[Frame] = []
    all_read, snapshot_taken = asyncio.Event(), asyncio.Event()

    def on_frame(f: Frame) -> None:
        seen.append(f)
        if sum(x.content_type == "api/response" for x in seen) == 5:
            snapshot_taken.set()  # channels, calls, queues, the queue's members, agents
        if sum(x.is_event for x in seen) == len(frames):
            all_read.set()

    with out.open("wb") as f:
        task = asyncio.create_task(record_esl(EslTarget("127.0.0.1", fake.port, "s3cret"), f,
                                              header=["ctibridge transcript: test",
                                                      "protocol: freeswitch-esl"],
                                              stop=stop, on_frame=on_frame))
        await snapshot_taken.wait()
        await fake.push(*frames)
        await all_read.wait()
        stop.set()
        stats = await task
    await fake.stop()
    text = out.read_bytes()
    assert b">>> auth ********\n" in text and b"s3cret" not in text
    assert stats.frames > 100
    t = read_esl_file(out)
    assert t.header_value("protocol") == "freeswitch-esl"
    report = await replay_transcript(t)
    assert not report.parse_errors and report.options_from == "inferred"
    assert [ev.name for _, ev in report.events] == [
        "platform.resynced", "call.queued", "call.offered", "call.answered", "call.ended"]
    assert report.calls[0].final["end_cause"] == "customer-hangup"


async def test_the_proxy_records_the_connectors_own_session(tmp_path: Path) -> None:
    fake = FakeEsl(password="s3cret")
    await fake.start()
    out = tmp_path / "proxy.esl"
    proxy = RecordingProxy(("127.0.0.1", fake.port), out, EslFraming(),
                           lambda n: ["ctibridge transcript: proxy", "protocol: freeswitch-esl"])
    await proxy.start()
    c = EslClient("127.0.0.1", proxy.port, "s3cret")
    await c.connect()
    await c.subscribe()
    assert (await c.api("version")).startswith("FreeSWITCH")
    await c.close(exit_first=True)
    await proxy.stop()
    await fake.stop()
    t = read_esl_file(out)
    sent = [b" ".join(p.lines) for p in t.parts if hasattr(p, "lines")]
    assert sent[:3] == [b"auth ********", b"event plain ALL", b"api version"]


def test_record_needs_to_know_where_the_event_socket_is(tmp_path: Path) -> None:
    r = runner.invoke(app, ["record", "-o", str(tmp_path / "x.esl"), "--protocol", "esl"])
    assert r.exit_code == 2 and "--host" in r.output
    r = runner.invoke(app, ["record", "-o", str(tmp_path / "x.esl"), "--protocol", "sip"])
    assert r.exit_code == 2 and "ami or esl" in r.output


def test_replay_of_a_bare_capture_needs_no_configuration() -> None:
    import json

    from .fake_esl import FIXTURES

    r = runner.invoke(app, ["replay", "--json", str(FIXTURES / "06-attended-transfer.esl")])
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert report["protocol"] == "freeswitch-esl" and report["options_from"] == "inferred"
    assert report["parse_errors"] == []
    assert [e["event"] for e in report["events"]][-2:] == ["call.transferred", "call.ended"]
    main, consult = report["calls"]
    assert main["final"]["end_cause"] == "customer-hangup"
    assert consult["final"]["end_cause"] == "transferred"


def test_replay_with_a_configuration_uses_its_agents(tmp_path: Path) -> None:
    from .fake_esl import FIXTURES

    cfg = tmp_path / "c.yaml"
    cfg.write_text("telephony:\n  - name: fs\n    type: freeswitch\n    options:\n"
                   "      host: x\n      password: y\n      agents: {'6001': {}}\n"
                   "agents:\n  - {id: alice, name: Alice, extension: '6001', platform: fs}\n")
    r = runner.invoke(app, ["replay", "-c", str(cfg), str(FIXTURES / "01-inbound-answered.esl")])
    assert r.exit_code == 0, r.output
    assert "options config: agents 6001 (Alice)" in r.output
