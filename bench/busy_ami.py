"""The busy-hour case of ``bench/ami.py --busy`` (what it measures: see there).

Two processes on loopback: this one (the fake Asterisk writing the recorded
bytes, and the agents' sockets) and the hub (pinned to the other CPU) with the
real Asterisk connector logged in to this fake Asterisk.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1] / "src"))

from stats import pct, pin  # noqa: E402  (bench/stats.py: benchmarks run as scripts)

from ctibridge.telephony.asterisk.synth import interleave, messages, rewrite_ids  # noqa: E402
from ctibridge.telephony.asterisk.transcript import read_transcript  # noqa: E402

FIXTURES = HERE.parents[1] / ".." / "shared" / "fixtures" / "asterisk"
RECORDINGS = ["02-inbound-queue-answered.ami", "03-inbound-queue-abandoned.ami",
              "03b-inbound-abandoned-while-ringing.ami", "06-blind-transfer.ami",
              "07-attended-transfer.ami", "08-hold-music-on-hold.ami",
              "11-ring-no-answer-next-agent.ami", "09-two-simultaneous-inbound.ami"]
PROBE_EVERY = 25
AGENTS = {"6001": {"interface": "Local/6001@agents", "dial": "Local/6001@agents-phone",
                   "state_interface": "Custom:6001", "name": "Agent 6001"},
          "6002": {"interface": "Local/6002@agents", "dial": "Local/6002@agents-phone",
                   "state_interface": "Custom:6002", "name": "Agent 6002"},
          "6003": {"interface": "Local/6003@agents", "state_interface": "Custom:6003",
                   "name": "Agent 6003"}}
PEOPLE = [("alice", "6001"), ("bob", "6002"), ("carol", "6003")]
PROBE_RE = re.compile(rb"PausedReason: probe-(\d+)\r\n")


def probe(n: int) -> bytes:
    """A QueueMemberPause as Asterisk 22 sends it (fields of 04-agent-login-pause-logoff)."""
    return (b"Event: QueueMemberPause\r\nPrivilege: agent,all\r\nQueue: support\r\n"
            b"MemberName: Agent 6003\r\nInterface: Local/6003@agents\r\n"
            b"StateInterface: Custom:6003\r\nMembership: dynamic\r\nPenalty: 0\r\n"
            b"CallsTaken: 0\r\nLastCall: 0\r\nLastPause: 0\r\nLoginTime: 0\r\nInCall: 0\r\n"
            b"Status: 1\r\nPaused: 1\r\nPausedReason: probe-%d\r\nRinginuse: 0\r\n"
            b"Wrapuptime: 0\r\n\r\n" % n)


def build(calls: int, concurrent: int) -> tuple[list[bytes], int]:
    """The busy hour: (messages, probes inserted)."""
    per: list[bytes] = []
    for name in RECORDINGS:
        data = read_transcript(FIXTURES / name).server_bytes
        kept = [m for m in messages(data[data.index(b"\r\n") + 2:])  # without the banner
                if m.startswith(b"Event: ") and b"\r\nActionID: " not in m
                and not m.startswith((b"Event: FullyBooted", b"Event: SuccessfulAuth"))]
        per.append(b"".join(kept))
    copies = [messages(rewrite_ids(per[k % len(per)], k)) for k in range(calls)]
    out: list[bytes] = []
    probes = 0
    for i, m in enumerate(interleave(copies, concurrent=concurrent, seed=7)):
        if i % PROBE_EVERY == 0:
            out.append(probe(probes))
            probes += 1
        out.append(m)
    return out, probes


# ------------------------------------------------------------- fake Asterisk


class FakeAsterisk:
    """Banner, login and list actions answered as Asterisk does; then the busy hour."""

    def __init__(self) -> None:
        self.writer: asyncio.StreamWriter | None = None
        self.up = asyncio.Event()
        self.port = 0

    async def start(self) -> None:
        server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]

    async def _session(self, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> None:
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        self.writer = writer
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await self._serve(reader, writer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buf = b""
        while chunk := await reader.read(65536):
            buf += chunk
            while b"\r\n\r\n" in buf:
                block, buf = buf.split(b"\r\n\r\n", 1)
                head = dict(line.split(": ", 1) for line in block.decode().split("\r\n")
                            if ": " in line)
                action, aid = head.get("Action", "").lower(), head.get("ActionID", "")
                out = f"Response: Success\r\nActionID: {aid}\r\n"
                if action == "login":
                    out += ("Message: Authentication accepted\r\n\r\nEvent: FullyBooted\r\n"
                            "Privilege: system,all\r\nUptime: 7\r\nLastReload: 7\r\n"
                            "Status: Fully Booted\r\n")
                elif action in ("coreshowchannels", "queuestatus", "status"):
                    done = {"coreshowchannels": "CoreShowChannelsComplete",
                            "queuestatus": "QueueStatusComplete", "status": "StatusComplete"}
                    out += (f"EventList: start\r\nMessage: will follow\r\n\r\n"
                            f"Event: {done[action]}\r\nActionID: {aid}\r\n"
                            "EventList: Complete\r\nListItems: 0\r\n")
                writer.write(out.encode() + b"\r\n")
                if action == "queuestatus":
                    self.up.set()


async def play(writer: asyncio.StreamWriter, msgs: list[bytes], rate: float
               ) -> tuple[dict[int, int], float]:
    """Write ``msgs`` at ``rate`` messages/s; return when each probe left, and the
    rate reached (a peer that cannot keep up slows the writes down)."""
    sent_at: dict[int, int] = {}
    start = time.perf_counter()
    i = 0
    while i < len(msgs):
        due = min(len(msgs), int((time.perf_counter() - start) * rate) + 1)
        if due > i:
            chunk = msgs[i:due]
            now = time.time_ns()
            for m in chunk:
                if m.startswith(b"Event: QueueMemberPause"):
                    found = PROBE_RE.search(m)
                    if found:
                        sent_at[int(found.group(1))] = now
            writer.write(b"".join(chunk))
            await writer.drain()
            i = due
        await asyncio.sleep(0.002)
    return sent_at, len(msgs) / (time.perf_counter() - start)


# ----------------------------------------------------------------- baseline


async def raw_trial(msgs: list[bytes], rate: float | None) -> tuple[list[float], float]:
    """A raw socket read of the same bytes: latency to see each probe's bytes, and
    the rate read (``rate`` None: as fast as the socket goes)."""
    seen: dict[int, int] = {}
    done = asyncio.Event()
    total = sum(len(m) for m in msgs)

    async def reader_side(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got = 0
        tail = b""
        while got < total:
            chunk = await reader.read(65536)
            if not chunk:
                break
            now = time.time_ns()
            got += len(chunk)
            data = tail + chunk
            for m in PROBE_RE.finditer(data):
                seen.setdefault(int(m.group(1)), now)
            tail = data[-64:]
        done.set()

    server = await asyncio.start_server(reader_side, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    t0 = time.perf_counter()
    if rate is None:
        for i in range(0, len(msgs), 200):
            writer.write(b"".join(msgs[i:i + 200]))
            await writer.drain()
        sent_at: dict[int, int] = {}
    else:
        sent_at, _ = await play(writer, msgs, rate)
    await done.wait()
    elapsed = time.perf_counter() - t0
    writer.close()
    server.close()
    lat = [(seen[k] - t) / 1e6 for k, t in sent_at.items() if k in seen]
    return lat, len(msgs) / elapsed


# ---------------------------------------------------------------------- hub


def hub_process(argv: list[str]) -> None:
    pin(0)
    asyncio.run(_hub(int(argv[0]), int(argv[1]), argv[2]))


async def _hub(port: int, ami_port: int, workdir: str) -> None:
    import uvicorn
    from argon2 import PasswordHasher

    from ctibridge.api.app import create_app
    from ctibridge.clock import SystemClock
    from ctibridge.config import Settings
    from ctibridge.logs import configure
    from ctibridge.store import Database, Store
    from ctibridge.telephony.asterisk.config import AsteriskOptions
    from ctibridge.telephony.asterisk.connector import AsteriskConnector

    configure(level="error")
    clock = SystemClock()
    settings = Settings.load(  # demo: the agents' users exist, password = name
        None, demo=True, database={"url": f"sqlite:///{workdir}/bench.db"},
        server={"host": "127.0.0.1", "port": port, "rate_per_second": 1000,
                "rate_burst": 1000},
        telephony=[{"name": "pbx", "type": "asterisk"}], wrap_up_seconds=0,
        agents=[{"id": who, "name": who, "extension": ext, "platform": "pbx"}
                for who, ext in PEOPLE])
    opts = AsteriskOptions.model_validate({
        "host": "127.0.0.1", "port": ami_port, "username": "bench", "secret": "bench",
        "queues": ["support"], "agents": AGENTS, "ping_interval": 0, "region": "FR",
        "reconcile_interval": 0})
    connector = AsteriskConnector("pbx", opts, clock=clock)
    db = Database(settings.database.url)
    await db.start()
    store = Store(db, hasher=PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    app = create_app(settings, connectors={"pbx": connector}, clock=clock, store=store)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           lifespan="on", access_log=False,
                                           ws_max_size=2**20))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    cpu = time.process_time()
    while (await reader.readline()).strip() == b"MARK":
        now = time.process_time()
        print(json.dumps({"cpu": now - cpu, "live_calls": len(app.state.hub.calls)}),
              flush=True)
        cpu = now
    server.should_exit = True
    await task
    await db.stop()


# -------------------------------------------------------------------- agents


class Agents:
    def __init__(self, url: str, users: list[str]) -> None:
        self.url, self.users = url, users
        self.probes: dict[int, int] = {}
        self.frames = 0
        self.tasks: list[asyncio.Task[None]] = []
        self.sockets: list[Any] = []

    async def connect(self) -> None:
        import httpx
        import websockets

        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            for user in self.users:
                r = await http.post("/api/login", json={"username": user, "password": user})
                token = r.json()["token"]
                r = await http.post("/api/ws-ticket", headers={"Authorization": f"Bearer {token}"})
                ws = await websockets.connect(
                    self.url.replace("http", "ws") + f"/ws?ticket={r.json()['ticket']}",
                    max_size=2**22)
                await ws.recv()  # hello
                await ws.recv()  # snapshot
                self.sockets.append(ws)
                self.tasks.append(asyncio.create_task(self._listen(ws)))

    async def _listen(self, ws: Any) -> None:
        import websockets

        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                now = time.time_ns()
                self.frames += 1
                if '"probe-' not in raw:
                    continue
                frame = json.loads(raw)
                if frame.get("name") == "agent.state":
                    reason = (frame["data"].get("agent", {}).get("state", {})
                              .get("reason") or "")
                    if reason.startswith("probe-"):
                        self.probes.setdefault(int(reason[6:]), now)

    async def close(self) -> None:
        for ws in self.sockets:
            await ws.close()
        for t in self.tasks:
            t.cancel()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run(args: argparse.Namespace) -> None:
    pin(1)
    t = time.perf_counter()
    msgs, probes = build(args.calls, args.concurrent)
    size = sum(len(m) for m in msgs)
    print(f"busy hour: {args.calls} calls from {len(RECORDINGS)} recordings (ids rewritten), "
          f"{args.concurrent} at once: {len(msgs):,} AMI messages ({probes:,} probes), "
          f"{size / 2**20:.0f} MiB, built in {time.perf_counter() - t:.1f} s")
    first = msgs[:int(args.start_rate * args.trial)]
    raw_lat, _ = await raw_trial(first, args.start_rate)
    _, raw_top = await raw_trial(msgs, None)
    print(f"baseline, raw socket read of the same bytes: at {args.start_rate:,.0f} msg/s "
          f"p50 {pct(raw_lat, 50):.3f} ms p99 {pct(raw_lat, 99):.3f} ms (n={len(raw_lat)}); "
          f"top rate {raw_top:,.0f} msg/s")

    fake = FakeAsterisk()
    await fake.start()
    workdir = tempfile.mkdtemp(prefix="ctibridge-bench-ami-")
    port = _free_port()
    hub = subprocess.Popen([sys.executable, str(HERE.parent / "ami.py"), "_hub", str(port),
                            str(fake.port), workdir], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    assert hub.stdin is not None and hub.stdout is not None
    try:
        if hub.stdout.readline().strip() != "READY":
            raise SystemExit("the hub did not start")
        await asyncio.wait_for(fake.up.wait(), 30)
        agents = Agents(f"http://127.0.0.1:{port}", [who for who, _ in PEOPLE])
        await agents.connect()
        assert fake.writer is not None

        async def mark() -> dict[str, Any]:
            hub.stdin.write("MARK\n")  # type: ignore[union-attr]
            hub.stdin.flush()  # type: ignore[union-attr]
            return json.loads(await asyncio.to_thread(hub.stdout.readline))  # type: ignore[union-attr]

        cursor, rate, best = 0, args.start_rate, 0.0
        best_lat: list[float] = []
        capacity: list[float] = []
        await mark()
        while True:
            n = int(rate * args.trial)
            if cursor + n > len(msgs):
                cursor = 0  # the earlier copies have ended long ago: same ids are free
            chunk = msgs[cursor:cursor + n]
            cursor += n
            frames0 = agents.frames
            agents.probes.clear()  # numbers start again when the stream wraps
            sent_at, reached = await play(fake.writer, chunk, rate)
            last = max(sent_at) if sent_at else -1
            for _ in range(200):  # up to 2 s for the last probe
                if last in agents.probes:
                    break
                await asyncio.sleep(0.01)
            stats = await mark()
            lat = [(agents.probes[k] - t) / 1e6 for k, t in sent_at.items() if k in agents.probes]
            lost = len(sent_at) - len(lat)
            tail = (agents.probes[last] - sent_at[last]) / 1e6 if last in agents.probes else 1e9
            # Kept up: every probe through, the rate reached, and no backlog left at the end.
            ok = lost == 0 and tail < 1000 and reached >= 0.97 * rate
            per_cpu = n / stats["cpu"] if stats["cpu"] else float("nan")
            print(f"  {rate:8,.0f} msg/s for {args.trial:g} s (reached {reached:,.0f}): probes "
                  f"{len(lat)}/{len(sent_at)}, p50 {pct(lat, 50):7.2f} ms p99 "
                  f"{pct(lat, 99):8.2f} ms, last {tail:7.1f} ms, "
                  f"{agents.frames - frames0:,} frames at the agents, hub CPU {stats['cpu']:.1f} s"
                  f" ({per_cpu:,.0f} msg per CPU-s) -> {'sustained' if ok else 'falls behind'}")
            capacity.append(per_cpu)
            if not ok:
                break
            best, best_lat = rate, lat
            rate *= 1.5
            await asyncio.sleep(1.0)
        if best:
            print(f"highest sustained: {best:,.0f} AMI msg/s on one core "
                  f"(~{best / 225:,.0f} recorded calls/s); at that rate p50 "
                  f"{pct(best_lat, 50):.2f} ms = {pct(best_lat, 50) / pct(raw_lat, 50):.0f}x "
                  f"the raw read's, p99 {pct(best_lat, 99):.2f} ms; raw read top rate "
                  f"{raw_top / best:.0f}x higher")
        print(f"hub CPU cost: {max(capacity):,.0f} AMI msg per CPU-second at best (what one "
              f"dedicated core would sustain; the raw read did {raw_top:,.0f} msg/s, "
              f"{raw_top / max(capacity):.0f}x)")
        await agents.close()
    finally:
        if fake.writer is not None:
            fake.writer.close()
        with contextlib.suppress(Exception):
            hub.stdin.close()
        try:
            hub.wait(20)
        except subprocess.TimeoutExpired:
            hub.kill()


def busy_hour(args: argparse.Namespace) -> None:
    asyncio.run(run(args))
