"""Abuse benchmark: one agent's command round trip, quiet and under each attack.

    .venv/bin/python bench/abuse.py [--seconds 8] [--rate 15]

Three processes on loopback: the hub (pinned to one CPU) with the simulator and
a steady background of calls carrying large attached data (so supervisors'
sockets have plenty to receive); this process, pinned to the other CPU, where
agent alice toggles ready / not ready at ``--rate`` commands a second and
times each command's answer over her socket; and an attacker process, on the
same CPU as alice, playing one attack per phase:

- ``ping-flood``: bob's socket sends pings as fast as it can, and logs in
  again each time the hub cuts it;
- ``login-flood``: 200 concurrent wrong-password logins, without end;
- ``big-bodies``: 4 concurrent 200 MB login bodies, without end;
- ``slowloris``: 1,000 connections sending one header line every 2 s;
- ``never-reading``: 10 supervisor sockets that never read, replaced when cut.

The baseline is the two quiet phases of the same run (before and after the
attacks, together); the target is a p99 under
each attack within 3x the quiet p99. The hub's resident memory at the end of
each phase is printed too. Attacks the hub does not defend against yet show as
such: the figures are what they are.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets
from stats import pct, pin  # noqa: E402  (bench/stats.py: benchmarks run as scripts)

HERE = Path(__file__).resolve()
PHASES = ["quiet", "ping-flood", "login-flood", "big-bodies", "slowloris", "never-reading",
          "quiet-again"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# -------------------------------------------------------------------- hub


async def _hub(port: int, workdir: str) -> None:
    from ctibridge.api.app import create_app
    from ctibridge.api.server import build_server
    from ctibridge.clock import SystemClock
    from ctibridge.config import Settings
    from ctibridge.logs import configure
    from ctibridge.telephony.simulator import SimulatorConnector

    configure(level="error")
    clock = SystemClock()
    settings = Settings.load(None, **{
        "demo": True,  # the demo users: alice, bob, carol (agents), sam (supervisor)
        "database": {"url": f"sqlite:///{workdir}/abuse.db"},
        "server": {"host": "127.0.0.1", "port": port},
        "agents": [{"id": "alice", "name": "Alice", "extension": "1001"},
                   {"id": "bob", "name": "Bob", "extension": "1002"},
                   {"id": "carol", "name": "Carol", "extension": "1003"}],
        "wrap_up_seconds": 0,
    })
    # routing "hub" with no hub queue configured: calls wait, nobody is offered one.
    sim = SimulatorConnector("sim", clock=clock, devices=["1001", "1002", "1003"],
                             queues=["support"], routing="hub")
    app = create_app(settings, connectors={"sim": sim}, clock=clock)
    server = build_server(app, settings)  # with every limit production has
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)

    async def background() -> None:
        """20 calls a second with ~7 KB of attached data, each ended after 3 s."""
        rng = random.Random(7)
        live: list[tuple[float, str]] = []
        while True:
            now = time.monotonic()
            with contextlib.suppress(Exception):
                ref = sim.customer_calls("support", number=f"+336{rng.randrange(10**8):08d}",
                                         attached={f"k{j}": "x" * 990 for j in range(7)})
                live.append((now, ref))
            while live and now - live[0][0] > 3:
                with contextlib.suppress(Exception):
                    sim.customer_hangs_up(live.pop(0)[1])
            await asyncio.sleep(0.05)

    traffic = asyncio.create_task(background())
    lags: list[float] = []
    lagger = asyncio.create_task(_loop_lag(lags))
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while (await reader.readline()).strip() == b"LAG":  # anything else, or EOF: stop
        print(json.dumps({"p99": pct(lags, 99), "max": max(lags, default=0.0)}), flush=True)
        lags.clear()
    lagger.cancel()
    traffic.cancel()
    server.should_exit = True
    await task


async def _loop_lag(lags: list[float]) -> None:
    """How late the hub's event loop wakes a 5 ms timer: time it spent busy or blocked."""
    while True:
        t = time.perf_counter()
        await asyncio.sleep(0.005)
        lags.append((time.perf_counter() - t - 0.005) * 1000)


# --------------------------------------------------------------- clients


async def ticket(http: httpx.AsyncClient, user: str) -> str:
    r = await http.post("/api/login", json={"username": user, "password": user})
    r.raise_for_status()
    token = r.json()["token"]
    r = await http.post("/api/ws-ticket", headers={"Authorization": f"Bearer {token}"})
    r.raise_for_status()
    return str(r.json()["ticket"])


def ws_url(base: str, t: str) -> str:
    return base.replace("http://", "ws://") + f"/ws?ticket={t}"


class Probe:
    """Alice: toggles her state and times every answer."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.ws: Any = None
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.n = 0
        self.reconnects = -1
        self.reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=60) as http:
            t = await ticket(http, "alice")
        self.ws = await websockets.connect(ws_url(self.base, t), max_size=2**24)
        self.reconnects += 1
        self.reader = asyncio.create_task(self._read(self.ws))
        await self.command("agent.login")

    async def _read(self, ws: Any) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                frame = json.loads(raw)
                fut = self.waiting.pop(str(frame.get("id")), None)
                if fut is not None and not fut.done():
                    fut.set_result(frame)

    async def command(self, op: str, **args: Any) -> float:
        self.n += 1
        fid = f"p{self.n}"
        fut = asyncio.get_running_loop().create_future()
        self.waiting[fid] = fut
        t0 = time.perf_counter()
        await self.ws.send(json.dumps({"type": "command", "id": fid, "op": op, **args}))
        await asyncio.wait_for(fut, 30)
        return (time.perf_counter() - t0) * 1000

    async def measure(self, seconds: float, rate: float) -> tuple[list[float], int]:
        lat: list[float] = []
        failures = 0
        start = time.perf_counter()
        i = 0
        while time.perf_counter() - start < seconds:
            i += 1
            try:
                if i % 2:
                    lat.append(await self.command("agent.not_ready", reason="break"))
                else:
                    lat.append(await self.command("agent.ready"))
            except (TimeoutError, websockets.ConnectionClosed) as exc:
                failures += 1
                code = getattr(getattr(exc, "rcvd", None), "code", None)
                print(f"  alice: {type(exc).__name__} {code or ''}", flush=True)
                with contextlib.suppress(Exception):
                    await self.connect()
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        return lat, failures


# --------------------------------------------------------------- attacks


async def attack_ping_flood(base: str, stats: dict[str, int]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        while True:
            try:
                async with websockets.connect(ws_url(base, await ticket(http, "bob")),
                                              max_size=2**24) as ws:
                    drain = asyncio.create_task(_drain(ws))
                    n = 0
                    while True:
                        await ws.send(f'{{"type":"ping","id":{n}}}')
                        n += 1
                        stats["sent"] = stats.get("sent", 0) + 1
                        if n % 200 == 0:
                            await asyncio.sleep(0)
            except websockets.ConnectionClosed as exc:
                stats[f"cut-{exc.rcvd.code if exc.rcvd else 'none'}"] = stats.get(
                    f"cut-{exc.rcvd.code if exc.rcvd else 'none'}", 0) + 1
            except httpx.HTTPError:
                stats["login-errors"] = stats.get("login-errors", 0) + 1
                await asyncio.sleep(0.1)
            with contextlib.suppress(Exception):
                drain.cancel()


async def _drain(ws: Any) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        async for _ in ws:
            pass


async def attack_login_flood(base: str, stats: dict[str, int]) -> None:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        async def one() -> None:
            while True:
                try:
                    r = await http.post("/api/login",
                                        json={"username": "carol", "password": "wrong"})
                    stats[str(r.status_code)] = stats.get(str(r.status_code), 0) + 1
                except httpx.HTTPError:
                    stats["errors"] = stats.get("errors", 0) + 1
                    await asyncio.sleep(0.05)

        await asyncio.gather(*(one() for _ in range(200)))


async def attack_big_bodies(base: str, stats: dict[str, int]) -> None:
    chunk = b"x" * (1 << 20)

    async def body() -> Any:
        for _ in range(200):
            yield chunk

    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        async def one() -> None:
            while True:
                try:
                    r = await http.post("/api/login", content=body(),
                                        headers={"Content-Type": "application/json"})
                    stats[str(r.status_code)] = stats.get(str(r.status_code), 0) + 1
                except httpx.HTTPError:
                    stats["cut"] = stats.get("cut", 0) + 1
                    await asyncio.sleep(0.05)

        await asyncio.gather(*(one() for _ in range(4)))


async def attack_slowloris(base: str, stats: dict[str, int]) -> None:
    host, port = base.removeprefix("http://").split(":")
    conns: list[asyncio.StreamWriter] = []

    async def opener() -> None:
        while True:
            while len(conns) < 1000:
                try:
                    _, w = await asyncio.open_connection(host, int(port))
                    w.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                    conns.append(w)
                    stats["opened"] = stats.get("opened", 0) + 1
                except OSError:
                    stats["refused"] = stats.get("refused", 0) + 1
                    await asyncio.sleep(0.1)
                    break
            await asyncio.sleep(0.5)

    async def trickler() -> None:
        while True:
            await asyncio.sleep(2)
            for w in list(conns):
                if w.is_closing() or w.transport.get_extra_info("socket") is None:
                    conns.remove(w)
                    stats["closed-by-hub"] = stats.get("closed-by-hub", 0) + 1
                    continue
                try:
                    w.write(b"X-Slow: 1\r\n")
                    await w.drain()
                except OSError:
                    conns.remove(w)
                    stats["closed-by-hub"] = stats.get("closed-by-hub", 0) + 1
            stats["open"] = len(conns)

    await asyncio.gather(opener(), trickler())


def _established(sock: socket.socket) -> bool:
    with contextlib.suppress(OSError):
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
        return struct.unpack("B", info[:1])[0] == 1  # TCP_ESTABLISHED
    return False


async def attack_never_reading(base: str, stats: dict[str, int]) -> None:
    host, port = base.removeprefix("http://").split(":")
    socks: list[socket.socket] = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        while True:
            for s in list(socks):
                if not _established(s):
                    socks.remove(s)
                    s.close()
                    stats["cut"] = stats.get("cut", 0) + 1
            while len(socks) < 10:
                t = await ticket(http, "sam")
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.connect((host, int(port)))
                s.sendall((f"GET /ws?ticket={t} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
                socks.append(s)
                stats["opened"] = stats.get("opened", 0) + 1
            await asyncio.sleep(1)


ATTACKS = {"ping-flood": attack_ping_flood, "login-flood": attack_login_flood,
           "big-bodies": attack_big_bodies, "slowloris": attack_slowloris,
           "never-reading": attack_never_reading}


async def _attack(kind: str, base: str) -> None:
    stats: dict[str, int] = {}
    task = asyncio.create_task(ATTACKS[kind](base, stats))
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await reader.readline()
    task.cancel()
    with contextlib.suppress(BaseException):
        await task
    print(json.dumps(stats), flush=True)


# ------------------------------------------------------------------- run


async def run(args: argparse.Namespace) -> None:
    pin(1)
    workdir = tempfile.mkdtemp(prefix="ctibridge-abuse-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    hub = subprocess.Popen([sys.executable, str(HERE), "_hub", str(port), workdir],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert hub.stdin is not None and hub.stdout is not None
    results: list[tuple[str, list[float], int, float, str]] = []

    async def hub_lag() -> dict[str, float]:
        hub.stdin.write("LAG\n")  # type: ignore[union-attr]
        hub.stdin.flush()  # type: ignore[union-attr]
        return json.loads(await asyncio.to_thread(hub.stdout.readline))  # type: ignore

    try:
        if hub.stdout.readline().strip() != "READY":
            raise SystemExit("the hub did not start")
        probe = Probe(base)
        await probe.connect()
        await probe.measure(2, args.rate)  # warm-up
        print(f"alice's command round trip at {args.rate:g}/s, {args.seconds:g} s per phase "
              f"(each attack running {args.warmup:g} s before); hub loop lag = how late its "
              "event loop wakes a 5 ms timer", flush=True)
        for phase in [p for p in PHASES if p in args.phases]:
            attacker = None
            if phase in ATTACKS:
                attacker = subprocess.Popen([sys.executable, str(HERE), "_attack", phase, base],
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            text=True)
                await asyncio.sleep(args.warmup)  # the attack builds up
            await hub_lag()  # from here on
            spy = None
            if args.profile:
                Path(args.profile).mkdir(parents=True, exist_ok=True)
                spy = subprocess.Popen(
                    [str(Path(sys.executable).with_name("py-spy")), "record", "--pid",
                     str(hub.pid), "--duration", str(int(args.seconds)), "--rate", "250",
                     "--nonblocking", "--format", "raw", "-o",
                     f"{args.profile}/{phase}.txt"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            lat, failures = await probe.measure(args.seconds, args.rate)
            if spy is not None:
                await asyncio.to_thread(spy.wait)
            mem = rss_mib(hub.pid)
            lag = await hub_lag()
            detail = ""
            if attacker is not None:
                assert attacker.stdin is not None and attacker.stdout is not None
                attacker.stdin.write("\n")
                attacker.stdin.flush()
                try:
                    out, _ = await asyncio.to_thread(attacker.communicate, timeout=30)
                    detail = out.strip()
                except subprocess.TimeoutExpired:
                    attacker.kill()
                await asyncio.sleep(3)  # the hub recovers before the next phase
            results.append((phase, lat, failures, mem, detail))
            p50, p99 = pct(lat, 50), pct(lat, 99)
            print(f"{phase:14s} n={len(lat):4d} p50 {p50:8.2f} ms  p99 {p99:8.2f} ms  "
                  f"failed {failures}  hub RSS {mem:5.0f} MiB  loop lag p99 "
                  f"{lag['p99']:7.1f} ms max {lag['max']:7.1f} ms  {detail}", flush=True)
    finally:
        with contextlib.suppress(Exception):
            hub.stdin.write("\n")  # type: ignore[union-attr]
            hub.stdin.flush()  # type: ignore[union-attr]
        try:
            hub.wait(20)
        except subprocess.TimeoutExpired:
            hub.kill()
    # The baseline: both quiet phases together (before and after the attacks), since
    # the machine's own load drifts during a run.
    quiet_lat = [v for phase, lat, *_ in results if phase.startswith("quiet") for v in lat]
    q50, q99 = pct(quiet_lat, 50), pct(quiet_lat, 99)
    print(f"\nratio to the quiet phases (p50 {q50:.2f} ms, p99 {q99:.2f} ms); "
          "target: p99 <= 3x")
    for phase, lat, failures, _, _ in results:
        if phase.startswith("quiet"):
            continue
        ratio = pct(lat, 99) / q99
        verdict = "met" if ratio <= 3 and not failures else "NOT met"
        print(f"  {phase:14s} p50 {pct(lat, 50) / q50:5.1f}x  p99 {ratio:6.1f}x  -> {verdict}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_hub":
        pin(0)
        asyncio.run(_hub(int(sys.argv[2]), sys.argv[3]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_attack":
        pin(1)
        asyncio.run(_attack(sys.argv[2], sys.argv[3]))
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=float, default=20.0, help="measured time per phase")
    p.add_argument("--warmup", type=float, default=4.0, help="attack time before measuring")
    p.add_argument("--rate", type=float, default=15.0, help="alice's commands per second")
    p.add_argument("--profile", metavar="DIR",
                   help="sample the hub with py-spy in each phase (collapsed stacks in DIR)")
    p.add_argument("--phases", nargs="+", default=PHASES, choices=PHASES,
                   help="run only these (always in the order above)")
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
