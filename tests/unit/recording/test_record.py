"""``ctibridge record`` against an AMI server on a real socket (the fake AMI
replaying a real capture): what it writes replays to what the connector saw."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from typer.testing import CliRunner

from ctibridge.cli import app
from ctibridge.clock import SystemClock
from ctibridge.model.events import PlatformStatus
from ctibridge.recording.asterisk import AmiFraming, AmiReplay, AmiTarget, record_ami
from ctibridge.recording.proxy import RecordingProxy
from ctibridge.recording.transcript import SentBlock, read_transcript_bytes, read_transcript_file
from ctibridge.telephony.asterisk.ami import Message
from ctibridge.telephony.asterisk.connector import AsteriskConnector

from ..asterisk.fake_ami import FakeAmi, Member, script_from
from ..asterisk.replay import AT, options
from .test_replay import shape
from .test_transcript import FIXTURES

MEMBERS = [Member("support", "Local/6001@agents", "Agent 6001"),
           Member("support", "Local/6002@agents", "Agent 6002", True, "Training")]


async def test_a_recording_holds_the_snapshot_and_the_call_and_no_secret() -> None:
    gate = asyncio.Event()

    def seen(m: Message) -> None:
        if m.name == "StatusComplete" or (m.name == "QueueStatusComplete"):
            gate.set()  # the snapshot is answered: now the customer calls

    out = io.BytesIO()
    script = script_from("02-inbound-queue-answered.ami", gate=gate,
                         expect=lambda s: s.action.lower() == "login")
    async with FakeAmi([script], members=MEMBERS) as server:
        stats = await asyncio.wait_for(record_ami(
            AmiTarget("127.0.0.1", server.port, "ctibridge", "ctibridge-secret"), out,
            header=["ctibridge transcript: test", "protocol: asterisk-ami"],
            stop=asyncio.Event(), on_message=seen), 10)
    assert stats.closed_by_server and stats.banner == "Asterisk Call Manager/11.0.0"
    data = out.getvalue()
    assert b"ctibridge-secret" not in data and b">>> Secret: ********\r\n" in data
    recorded = read_transcript_bytes(data, "rec.ami")
    actions = [p.lines[0] for p in recorded.parts if isinstance(p, SentBlock)]
    assert actions == [b"Action: Login", b"Action: CoreShowChannels", b"Action: QueueStatus",
                       b"Action: Status"]
    # Replayed: the snapshot (6002 paused for Training), then the same call as the capture.
    r = AmiReplay(recorded, options(), lambda: AT)
    events = [e.event for e in r.run()]
    assert events[0].name == "platform.resynced"
    assert events[0].agents["6002"][1] == "Training"
    original = AmiReplay(read_transcript_file(FIXTURES / "02-inbound-queue-answered.ami"),
                         options(), lambda: AT)
    original.normalizer.set_members(r.normalizer.members)
    want = [shape(e.event) for e in original.run()]
    assert [shape(e) for e in events[1:]] == want
    assert want[-1][:3] == ("call.ended", None, "customer-hangup")


async def test_the_proxy_records_the_connectors_own_link_and_it_replays_identically(
    tmp_path: Path,
) -> None:
    gate = asyncio.Event()
    out = tmp_path / "link.ami"
    async with FakeAmi([script_from("09-two-simultaneous-inbound.ami", gate=gate,
                                   expect=lambda s: s.action.lower() == "login")],
                       members=MEMBERS[:1] + [Member("support", "Local/6002@agents",
                                                     "Agent 6002")]) as server:
        proxy = RecordingProxy(("127.0.0.1", server.port), out, AmiFraming(),
                               lambda n: [f"ctibridge transcript: proxy {n}"])
        await proxy.start()
        connector = AsteriskConnector("pbx", options(port=proxy.port, ping_interval=0),
                                      clock=SystemClock())
        seen = []
        events = connector.events()
        await connector.start()
        try:
            await asyncio.wait_for(connector.wait_up(), 5)
            gate.set()
            while True:
                ev = await asyncio.wait_for(anext(events), 5)
                if isinstance(ev, PlatformStatus):
                    if not ev.up:
                        break
                    continue
                seen.append(ev)  # until the capture ends and the server hangs up
        finally:
            await connector.stop()
            await proxy.stop()
    assert proxy.stats.files == [out]
    replayed = AmiReplay(read_transcript_file(out), options(), lambda: AT)
    got = [e.event for e in replayed.run()]
    assert [shape(e) for e in got] == [shape(e) for e in seen]
    assert [e.name for e in got].count("call.answered") == 2
    assert got[0].name == "platform.resynced"
    assert b"ctibridge-secret" not in out.read_bytes()


def test_record_refuses_to_overwrite_and_says_how_to_point_it(tmp_path: Path) -> None:
    runner = CliRunner()
    existing = tmp_path / "x.ami"
    existing.write_text("keep me")
    r = runner.invoke(app, ["record", "-o", str(existing), "--host", "127.0.0.1",
                            "--username", "u", "--secret", "s"])
    assert r.exit_code == 2 and "--force" in r.output and existing.read_text() == "keep me"
    r = runner.invoke(app, ["record", "-o", str(tmp_path / "y.ami")])
    assert r.exit_code == 2 and "--config" in r.output
    # Nothing listens on port 9 (discard): a clear line, and no half-written file.
    r = runner.invoke(app, ["record", "-o", str(tmp_path / "z.ami"), "--host", "127.0.0.1",
                            "--port", "9", "--username", "u", "--secret", "s"])
    assert r.exit_code == 2 and "cannot reach the AMI at 127.0.0.1:9" in r.output
    assert not (tmp_path / "z.ami").exists()
