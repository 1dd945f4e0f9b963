"""Abuse benchmark: one agent's command round trip, quiet and under each attack.

    .venv/bin/python bench/abuse.py [--seconds 20] [--rate 15] [--phases …] [--profile DIR]

Processes on loopback, all started by one launcher (:func:`spawn`):

- the hub, pinned to the first CPU, with the simulator and a steady background
  of 20 calls a second carrying ~7 KB of attached data each (so supervisors'
  sockets have plenty to receive), built with every limit production has;
- this process, pinned to the other CPU: agent alice toggles ready / not ready
  at ``--rate`` commands a second over her socket and times each answer; in the
  middle of each phase carol logs in afresh (retrying as a 429/503's
  ``Retry-After`` says): the time until she is in;
- one attacker process per attack phase, pinned with alice (apart from the hub)
  at a lower CPU priority (10 nice levels below alice): a real attacker's CPU is
  not the hub's machine, so here it yields to the hub and to alice when they
  want the CPU.

Run as root, the hub and alice run at nice -15 and the attackers at -5: all above
the other jobs of a shared machine (which would otherwise starve the attack, or
time-slice the hub), the attackers still well below the hub and alice
(``--no-boost``: 0 and +10).

The attacks, each from its own loopback address, each at least as strong as in
the benchmarks it replaces (bench/http_abuse.py, bench/login_flood.py):

- ``ping-flood``: bob's socket sends pings as fast as it can, and logs in again
  each time the hub cuts it;
- ``login-flood``: 200 wrong-password logins in flight, random usernames, from
  one address;
- ``login-flood-spread``: the same from 200 addresses (each gets its own 20
  failures before its lockout: the hashing pool is what holds);
- ``big-bodies``: 4 clients each posting 200 MB (chunked) to ``/api/login``,
  again and again;
- ``slowloris``: 1,000 connections sending one header line every 2 s, topped
  up every 0.5 s;
- ``connection-flood``: 3,000 connections from one address, each trickling a
  header line a second and reconnecting at once when the hub closes it;
- ``never-reading``: 10 supervisor sockets that never read, replaced when cut.

The baseline is the quiet phases of the same run (one before the attacks, one
after, together); the target is a p99 under each attack within 3x the quiet
p99. Printed per phase: alice's p50/p99, the hub's event-loop lag (how late it
wakes a 5 ms timer), its peak resident memory, carol's login, and the tally of
what the attacker sent and got back (its rate: the tally over the phase's time).
``--profile DIR`` samples the hub with py-spy during each measured phase
(collapsed stacks, one file a phase).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import websockets
from stats import pct, pin  # noqa: E402  (bench/stats.py: benchmarks run as scripts)

HERE = Path(__file__).resolve()
PHASES = ["quiet", "ping-flood", "login-flood", "login-flood-spread", "big-bodies",
          "slowloris", "connection-flood", "never-reading", "quiet-again"]
HUB_CPU, CLIENT_CPU = 0, 1
# The attackers run this many nice levels below the hub and alice (about a ninth of their
# CPU weight when both want the CPU); as root, the hub and alice run at BOOST_NICE, above
# the other jobs of a shared machine, and the attackers at BOOST_NICE + ATTACKER_BELOW.
ATTACKER_BELOW = 10
BOOST_NICE = -15
ALICE, CAROL = "127.0.0.1", "127.0.0.9"  # the measured clients' own addresses
MB = 1 << 20


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


# ------------------------------------------------------------ processes


def spawn(role: str, *args: str, cpu: int, nice: int = 0) -> subprocess.Popen[str]:
    """This script as ``role`` (``hub`` or ``attack``) in a process of its own, pinned to
    ``cpu`` at ``nice``; it reads its orders on stdin and answers on stdout."""
    return subprocess.Popen([sys.executable, str(HERE), "_" + role, str(cpu), str(nice), *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def settle(cpu: int, nice: int) -> None:
    """The child's side of :func:`spawn` (and this process's own): its CPU and its nice
    (absolute, not added to the parent's)."""
    pin(cpu)
    with contextlib.suppress(OSError):  # below the current one needs root: then unchanged
        os.setpriority(os.PRIO_PROCESS, 0, nice)


async def ask(proc: subprocess.Popen[str], order: str) -> str:
    """Send one line to a child, read its one-line answer."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(order + "\n")
    proc.stdin.flush()
    return (await asyncio.to_thread(proc.stdout.readline)).strip()


async def orders() -> asyncio.StreamReader:
    """This child's stdin, read without blocking its event loop."""
    reader = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


def stop(proc: subprocess.Popen[str], timeout: float = 20) -> None:
    with contextlib.suppress(Exception):
        assert proc.stdin is not None
        proc.stdin.close()  # EOF: the child's signal to stop
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


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
    reader = await orders()
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


def client(base: str, source: str, **kwargs: Any) -> httpx.AsyncClient:
    """An HTTP client sending from loopback address ``source``."""
    # verify=False: plain HTTP, and no CA bundle loaded per client (200 clients took the
    # attacker tens of seconds to make on a busy machine).
    return httpx.AsyncClient(base_url=base, timeout=kwargs.pop("timeout", 60), verify=False,
                             transport=httpx.AsyncHTTPTransport(local_address=source,
                                                                verify=False, **kwargs))


async def ticket(base: str, user: str, source: str) -> str:
    async with client(base, source) as http:
        r = await http.post("/api/login", json={"username": user, "password": user})
        r.raise_for_status()
        r = await http.post("/api/ws-ticket",
                            headers={"Authorization": f"Bearer {r.json()['token']}"})
        r.raise_for_status()
        return str(r.json()["ticket"])


async def connect(base: str, user: str, source: str) -> Any:
    url = base.replace("http://", "ws://") + f"/ws?ticket={await ticket(base, user, source)}"
    return await websockets.connect(url, max_size=2**24, local_addr=(source, 0))


async def fresh_login(base: str) -> float:
    """Seconds until carol is logged in from her own address, retrying as told to."""
    started = time.perf_counter()
    async with client(base, CAROL, timeout=120) as http:
        while True:
            r = await http.post("/api/login", json={"username": "carol", "password": "carol"})
            if r.status_code == 200:
                return time.perf_counter() - started
            if r.status_code not in (429, 503):
                raise RuntimeError(f"carol's login: {r.status_code} {r.text}")
            await asyncio.sleep(float(r.headers.get("Retry-After", "1")))


class Probe:
    """Alice: toggles her state and times every answer."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.ws: Any = None
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.n = 0
        self.reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self.ws = await connect(self.base, "alice", ALICE)
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


async def attack_ping_flood(base: str, tally: Counter[str]) -> None:
    while True:
        try:
            async with await connect(base, "bob", "127.0.0.4") as ws:
                drain = asyncio.create_task(_drain(ws))
                try:
                    n = 0
                    while True:
                        await ws.send(f'{{"type":"ping","id":{n}}}')
                        n += 1
                        tally["sent"] += 1
                        if n % 200 == 0:
                            await asyncio.sleep(0)
                finally:
                    drain.cancel()
        except websockets.ConnectionClosed as exc:
            tally[f"cut-{exc.rcvd.code if exc.rcvd else 'none'}"] += 1
        except Exception as exc:  # refused (a 429 login, a handshake): try again soon
            tally[f"refused-{type(exc).__name__}"] += 1
            await asyncio.sleep(0.1)


async def _drain(ws: Any) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        async for _ in ws:
            pass


async def attack_login_flood(base: str, tally: Counter[str], addresses: int = 1) -> None:
    """200 wrong-password logins in flight, random usernames (so that no username lockout
    short-cuts the hashing), from one address or spread over ``addresses``."""
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    sources = ["127.0.0.5"] if addresses == 1 else \
        [f"127.0.1.{i % 250 + 1}" for i in range(addresses)]
    clients = [client(base, s, timeout=120, limits=limits) for s in sources]

    async def one(i: int) -> None:
        n = 0
        while True:
            n += 1
            try:
                r = await clients[(i + n) % len(clients)].post(
                    "/api/login", json={"username": f"guess{i}-{n}", "password": "wrong"})
                tally[str(r.status_code)] += 1
            except httpx.HTTPError:
                tally["errors"] += 1
                await asyncio.sleep(0.05)

    await asyncio.gather(*(one(i) for i in range(200)))


async def attack_login_flood_spread(base: str, tally: Counter[str]) -> None:
    await attack_login_flood(base, tally, addresses=200)


async def attack_big_bodies(base: str, tally: Counter[str]) -> None:
    chunk = b"x" * MB

    async def body() -> Any:
        for _ in range(200):
            yield chunk

    async with client(base, "127.0.0.3", timeout=120) as http:
        async def one() -> None:
            while True:
                try:
                    r = await http.post("/api/login", content=body(),
                                        headers={"Content-Type": "application/json"})
                    tally[str(r.status_code)] += 1
                except httpx.HTTPError:
                    tally["cut"] += 1
                    await asyncio.sleep(0.05)

        await asyncio.gather(*(one() for _ in range(4)))


async def attack_slowloris(base: str, tally: Counter[str]) -> None:
    host, port = base.removeprefix("http://").split(":")
    conns: list[asyncio.StreamWriter] = []

    async def opener() -> None:
        while True:
            while len(conns) < 1000:
                try:
                    _, w = await asyncio.open_connection(host, int(port),
                                                         local_addr=("127.0.0.2", 0))
                    w.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                    conns.append(w)
                    tally["opened"] += 1
                except OSError:
                    tally["refused"] += 1
                    await asyncio.sleep(0.1)
                    break
            await asyncio.sleep(0.5)

    async def trickler() -> None:
        while True:
            await asyncio.sleep(2)
            for w in list(conns):
                if w.is_closing() or w.transport.get_extra_info("socket") is None:
                    conns.remove(w)
                    tally["closed-by-hub"] += 1
                    continue
                try:
                    w.write(b"X-Slow: 1\r\n")
                    await w.drain()
                except OSError:
                    conns.remove(w)
                    tally["closed-by-hub"] += 1

    await asyncio.gather(opener(), trickler())


async def attack_connection_flood(base: str, tally: Counter[str]) -> None:
    """3,000 connections from one address, each trickling a header line a second and
    reconnecting at once when the hub closes it."""
    host, port = base.removeprefix("http://").split(":")

    async def one(i: int) -> None:
        await asyncio.sleep(i * 0.002)  # a ramp, not one burst of SYNs
        while True:
            try:
                reader, writer = await asyncio.open_connection(
                    host, int(port), local_addr=("127.0.0.6", 0))
                tally["opened"] += 1
                writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                for n in range(10_000):
                    if reader.at_eof():
                        break
                    writer.write(f"X-{n}: a\r\n".encode())
                    await writer.drain()
                    with contextlib.suppress(TimeoutError):
                        if await asyncio.wait_for(reader.read(65536), 1.0) == b"":
                            break
                writer.close()
                tally["closed-by-hub"] += 1
            except OSError:
                tally["refused"] += 1
                await asyncio.sleep(0.5)
            await asyncio.sleep(0.05)

    await asyncio.gather(*(one(i) for i in range(3000)))


def _established(sock: socket.socket) -> bool:
    with contextlib.suppress(OSError):
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
        return struct.unpack("B", info[:1])[0] == 1  # TCP_ESTABLISHED
    return False


async def attack_never_reading(base: str, tally: Counter[str]) -> None:
    host, port = base.removeprefix("http://").split(":")
    socks: list[socket.socket] = []
    while True:
        for s in list(socks):
            if not _established(s):
                socks.remove(s)
                s.close()
                tally["cut"] += 1
        while len(socks) < 10:
            try:
                t = await ticket(base, "sam", "127.0.0.7")
            except httpx.HTTPError:
                tally["refused"] += 1
                await asyncio.sleep(0.1)
                continue
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.bind(("127.0.0.7", 0))
            s.connect((host, int(port)))
            s.sendall((f"GET /ws?ticket={t} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                       "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n").encode())
            socks.append(s)
            tally["opened"] += 1
        await asyncio.sleep(1)


ATTACKS = {"ping-flood": attack_ping_flood, "login-flood": attack_login_flood,
           "login-flood-spread": attack_login_flood_spread, "big-bodies": attack_big_bodies,
           "slowloris": attack_slowloris, "connection-flood": attack_connection_flood,
           "never-reading": attack_never_reading}


async def _attack(kind: str, base: str) -> None:
    tally: Counter[str] = Counter()
    task = asyncio.create_task(ATTACKS[kind](base, tally))
    await (await orders()).readline()  # a line, or EOF: stop
    task.cancel()
    with contextlib.suppress(BaseException):
        await task
    print(json.dumps(dict(tally)), flush=True)


# ------------------------------------------------------------------- run


class Phase:
    def __init__(self, name: str, lat: list[float], failures: int, lag: dict[str, float],
                 peak: float, login: float, tally: dict[str, int], seconds: float) -> None:
        self.name, self.lat, self.failures, self.lag = name, lat, failures, lag
        self.peak, self.login, self.tally, self.seconds = peak, login, tally, seconds


async def run_phase(name: str, args: argparse.Namespace, base: str, probe: Probe,
                    hub: subprocess.Popen[str], boost: int) -> Phase:
    attacker = None
    if name in ATTACKS:
        attacker = spawn("attack", name, base, cpu=CLIENT_CPU, nice=boost + ATTACKER_BELOW)
        await asyncio.sleep(args.warmup)  # the attack builds up
    await ask(hub, "LAG")  # from here on
    started = time.perf_counter()
    spy = None
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
        spy = subprocess.Popen(
            [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(hub.pid),
             "--duration", str(int(args.seconds)), "--rate", "250", "--nonblocking",
             "--format", "raw", "-o", f"{args.profile}/{name}.txt"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = rss_mib(hub.pid)

    async def watch() -> None:
        nonlocal peak
        while True:
            peak = max(peak, rss_mib(hub.pid))
            await asyncio.sleep(0.2)

    async def login_midway() -> float:
        await asyncio.sleep(args.seconds / 2)
        try:
            return await fresh_login(base)
        except (RuntimeError, httpx.HTTPError) as exc:
            print(f"  carol: {exc}", flush=True)
            return float("nan")

    watcher = asyncio.create_task(watch())
    (lat, failures), login = await asyncio.gather(probe.measure(args.seconds, args.rate),
                                                  login_midway())
    watcher.cancel()
    lag = json.loads(await ask(hub, "LAG"))
    tally: dict[str, int] = {}
    if spy is not None:
        await asyncio.to_thread(spy.wait)
    if attacker is not None:
        with contextlib.suppress(ValueError):
            tally = json.loads(await ask(attacker, "STOP"))
        stop(attacker, timeout=30)
        await asyncio.sleep(3)  # the hub sheds the attack before the next phase
    return Phase(name, lat, failures, lag, peak, login, tally,
                 time.perf_counter() - started + (args.warmup if attacker else 0))


async def run(args: argparse.Namespace) -> None:
    boost = BOOST_NICE if args.boost and os.geteuid() == 0 else 0
    settle(CLIENT_CPU, boost)
    # The hub's SQLite file in memory where there is a tmpfs: the disk is shared with other
    # jobs, whose writes would stall the hub's commits in every phase alike.
    shm = Path("/dev/shm")
    workdir = tempfile.mkdtemp(prefix="ctibridge-abuse-", dir=shm if shm.is_dir() else None)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    hub = spawn("hub", str(port), workdir, cpu=HUB_CPU, nice=boost)
    results: list[Phase] = []
    print(f"load average {os.getloadavg()[0]:.1f} at the start; alice's command round trip "
          f"at {args.rate:g}/s, {args.seconds:g} s per phase (each attack running "
          f"{args.warmup:g} s before); hub and alice at nice {boost}, attackers at "
          f"{boost + ATTACKER_BELOW}", flush=True)
    try:
        assert hub.stdout is not None
        if (await asyncio.to_thread(hub.stdout.readline)).strip() != "READY":
            raise SystemExit("the hub did not start")
        probe = Probe(base)
        await probe.connect()
        await probe.measure(2, args.rate)  # warm-up
        for name in [p for p in PHASES if p in args.phases]:
            phase = await run_phase(name, args, base, probe, hub, boost)
            results.append(phase)
            rate = ", ".join(f"{k} {v} ({v / phase.seconds:.0f}/s)"
                             for k, v in sorted(phase.tally.items()))
            print(f"{name:19s} n={len(phase.lat):4d} p50 {pct(phase.lat, 50):7.2f} ms  "
                  f"p99 {pct(phase.lat, 99):7.2f} ms  failed {phase.failures}  "
                  f"loop lag p99 {phase.lag['p99']:6.1f} ms max {phase.lag['max']:6.1f} ms  "
                  f"RSS peak {phase.peak:4.0f} MiB  carol's login {phase.login * 1000:5.0f} ms"
                  f"  {rate}", flush=True)
    finally:
        stop(hub)
        shutil.rmtree(workdir, ignore_errors=True)
    # The baseline: both quiet phases together (before and after the attacks), since
    # the machine's own load drifts during a run.
    quiet = [v for p in results if p.name.startswith("quiet") for v in p.lat]
    q50, q99 = pct(quiet, 50), pct(quiet, 99)
    print(f"\nratio to the quiet phases (p50 {q50:.2f} ms, p99 {q99:.2f} ms); target: p99 "
          f"<= 3x; load average {os.getloadavg()[0]:.1f} at the end")
    for p in results:
        if p.name.startswith("quiet"):
            continue
        ratio = pct(p.lat, 99) / q99
        verdict = "met" if ratio <= 3 and not p.failures else "NOT met"
        print(f"  {p.name:19s} p50 {pct(p.lat, 50) / q50:5.1f}x  p99 {ratio:6.1f}x  "
              f"-> {verdict}")


def main() -> None:
    if len(sys.argv) > 3 and sys.argv[1] in ("_hub", "_attack"):
        settle(int(sys.argv[2]), int(sys.argv[3]))
        a, b = sys.argv[4], sys.argv[5]
        if sys.argv[1] == "_hub":
            # The event loop `ctibridge serve` runs on: uvicorn's "auto" (uvloop when
            # installed, as uvicorn[standard] does).
            import uvicorn

            factory = uvicorn.Config(app=None).get_loop_factory()
            with asyncio.Runner(loop_factory=factory) as runner:
                runner.run(_hub(int(a), b))
        else:
            asyncio.run(_attack(a, b))
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=float, default=20.0, help="measured time per phase")
    p.add_argument("--warmup", type=float, default=4.0, help="attack time before measuring")
    p.add_argument("--rate", type=float, default=15.0, help="alice's commands per second")
    p.add_argument("--phases", nargs="+", default=PHASES, choices=PHASES,
                   help="run only these (always in the order above)")
    p.add_argument("--no-boost", dest="boost", action="store_false",
                   help=f"leave the hub and alice at nice 0 (else {BOOST_NICE} when root)")
    p.add_argument("--profile", metavar="DIR",
                   help="sample the hub with py-spy in each phase (collapsed stacks in DIR)")
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
