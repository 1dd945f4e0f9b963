"""ESL benchmark: the reader and normalizer, then event-in -> agent-socket latency.

    .venv/bin/python bench/esl.py [--seconds 3] [--file 06-attended-transfer.esl]
                                  [--probes 300]

**Passes**, over the server bytes of the largest real capture (shared/fixtures/freeswitch),
in the same run:

* **raw read**, the baseline: frames cut by their ``Content-Length`` with ``bytes.find``
  and slicing, nothing decoded — what any ESL reader must at least do;
* **parse**: :class:`EslParser` into frames, every event decoded (URL-decoded headers);
* **parse + normalize**: the same, then every event through the :class:`Normalizer`
  (legs grouped into calls, queue/transfer/hold state), a fresh normalizer per pass.

Printed: frames per second for each pass, MiB/s, and each pass's cost as a ratio to the
raw read (the ratio is what to compare between commits).

**Latency**: a fake event socket (tests/unit/freeswitch/fake_esl.py) -> the FreeSWITCH
connector -> the hub -> alice's WebSocket, all on this machine. Each probe is an
``agent-status-change`` of 6001 (Available / On Break in turn); the time from its bytes
being written to the ``agent.state`` frame parsed on alice's socket. Baseline in the same
run: the same bytes written to a plain socket and read back (the transport alone).
Printed: p50 / p99 of both and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1] / "src"))
sys.path.insert(0, str(HERE.parents[1]))

from stats import pct  # noqa: E402  (bench/stats.py)

from ctibridge.recording.esl import read_esl_file  # noqa: E402
from ctibridge.telephony.freeswitch.config import FreeSwitchOptions  # noqa: E402
from ctibridge.telephony.freeswitch.esl import EslParser, Frame, parse_event  # noqa: E402
from ctibridge.telephony.freeswitch.normalizer import Normalizer  # noqa: E402

FIXTURES = HERE.parents[1] / ".." / "shared" / "fixtures" / "freeswitch"
AT = datetime(2026, 1, 1, tzinfo=UTC)
OPTIONS = FreeSwitchOptions(host="bench", password="bench", queues=["support@default"],
                            region="FR", agents={"6001": {}, "6002": {}})


def largest() -> Path:
    return max(FIXTURES.glob("*.esl"), key=lambda p: p.stat().st_size)


def raw_read(data: bytes) -> int:
    """Frames cut by Content-Length, nothing decoded."""
    n = pos = 0
    size = len(data)
    while pos < size:
        while pos < size and data[pos] == 10:
            pos += 1
        end = data.find(b"\n\n", pos)
        if end < 0:
            break
        head = data[pos:end]
        k = head.find(b"Content-Length: ")
        length = int(head[k + 16:head.find(b"\n", k) if head.find(b"\n", k) > 0 else None]) \
            if k >= 0 else 0
        pos = end + 2 + length
        n += 1
    return n


def parse(data: bytes) -> int:
    n = 0
    for f in EslParser().feed(data):
        if isinstance(f, Frame):
            n += 1
            if f.is_event:
                parse_event(f)
    return n


def parse_normalize(data: bytes) -> tuple[int, int]:
    norm = Normalizer(OPTIONS, lambda: AT)
    n = out = 0
    for f in EslParser().feed(data):
        if isinstance(f, Frame):
            n += 1
            if f.is_event:
                out += len(norm.feed(parse_event(f)))
    return n, out


def timed(fn: Callable[[], object], seconds: float) -> tuple[int, float]:
    runs = 0
    start = time.perf_counter()
    while True:
        fn()
        runs += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return runs, elapsed


def passes(path: Path, seconds: float) -> None:
    data = read_esl_file(path).server_bytes
    frames, normalized = parse_normalize(data)
    assert parse(data) == frames == raw_read(data), "the readers disagree on the frames"
    print(f"{path.name}: {len(data) / 1024:.0f} KiB, {frames} ESL frames, "
          f"{normalized} normalized events per pass")
    results = []
    for label, fn in (("raw read (Content-Length cuts)", lambda: raw_read(data)),
                      ("parse (frames + events)", lambda: parse(data)),
                      ("parse + normalize", lambda: parse_normalize(data))):
        runs, elapsed = timed(fn, seconds)
        results.append((label, runs * frames / elapsed, runs * len(data) / elapsed / 2**20))
    base = results[0][1]
    print(f"{'pass':<34}{'frames/s':>12}{'MiB/s':>9}{'cost vs raw':>13}")
    for label, rate, mib in results:
        print(f"{label:<34}{rate:>12,.0f}{mib:>9.1f}{base / rate:>12.1f}x")


async def latency(probes: int) -> None:
    from tests.integration.harness import running_hub
    from tests.unit.freeswitch.fake_esl import FakeEsl, event_frame

    from ctibridge.clock import SystemClock
    from ctibridge.logs import configure
    from ctibridge.telephony.freeswitch.connector import FreeSwitchConnector

    configure(level="error")
    fake = FakeEsl(password="bench")
    fake.api["callcenter_config agent set status*"] = "+OK\n"
    await fake.start()
    connector = FreeSwitchConnector.from_options(
        "fs", {"host": "127.0.0.1", "port": fake.port, "password": "bench",
               "agents": {"6001": {}}, "ping_interval": 0}, SystemClock())
    agents = [{"id": "alice", "name": "Alice", "extension": "6001", "platform": "fs"}]
    statuses = ("On Break", "Available")
    hub_ms: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with running_hub(Path(tmp), clock=SystemClock(), connectors={"fs": connector},
                               telephony=[{"name": "fs", "type": "freeswitch"}],
                               agents=agents, wrap_up_seconds=0) as h:
            await asyncio.wait_for(connector.wait_up(), 10)
            bar = await h.agent("alice")
            await bar.ok("agent.login")
            await bar.ok("agent.ready")
            for n in range(probes):
                status = statuses[n % 2]
                want = "not_ready" if status == "On Break" else "ready"
                frame = event_frame({"Event-Name": "CUSTOM", "Event-Subclass": "callcenter::info",
                                     "CC-Action": "agent-status-change",
                                     "CC-Agent": "6001@default", "CC-Agent-Status": status})
                start = len(bar.frames)
                t0 = time.perf_counter()
                await fake.push(frame)
                await bar.wait_for(lambda f, w=want: f.get("name") == "agent.state"
                                   and f["data"]["agent"]["state"]["status"] == w,
                                   "agent.state", 10, start=start)
                hub_ms.append((time.perf_counter() - t0) * 1000)
            await bar.close()
    await connector.stop()
    await fake.stop()
    raw_ms = await raw_latency(frame, probes)
    h50, h99, r50, r99 = pct(hub_ms, 50), pct(hub_ms, 99), pct(raw_ms, 50), pct(raw_ms, 99)
    print(f"event in -> agent socket ({probes} probes): p50 {h50:.2f} ms, p99 {h99:.2f} ms")
    print(f"raw socket, same bytes:                p50 {r50:.3f} ms, p99 {r99:.3f} ms")
    print(f"ratio to the raw socket: p50 {h50 / r50:.0f}x, p99 {h99 / r99:.0f}x")


async def raw_latency(frame: bytes, probes: int) -> list[float]:
    got: asyncio.Queue[bytes] = asyncio.Queue()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            while data := await reader.read(65536):
                got.put_nowait(data)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    out = []
    for _ in range(probes):
        t0 = time.perf_counter()
        writer.write(frame)
        await writer.drain()
        have = 0
        while have < len(frame):
            have += len(await got.get())
        out.append((time.perf_counter() - t0) * 1000)
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="time per pass")
    ap.add_argument("--file", help="a capture in shared/fixtures/freeswitch (default: largest)")
    ap.add_argument("--probes", type=int, default=300, help="latency probes")
    args = ap.parse_args()
    passes(FIXTURES / args.file if args.file else largest(), args.seconds)
    asyncio.run(latency(args.probes))


if __name__ == "__main__":
    main()
