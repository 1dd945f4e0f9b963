"""Pipeline benchmark: platform event → hub → agent WebSocket, against a bare WebSocket hop.

    .venv/bin/python bench/pipeline.py [--agents 1000] [--rate 50] [--seconds 15] [--max]

Three processes on loopback: this one (the agents' sockets, pinned to one CPU),
a hub (pinned to the other CPU: "one core") with the simulator and its traffic
generator, and for the baseline a bare WebSocket server. Latency is measured
from the moment the simulator creates an event (the ``since``/``ended_at``
times the hub forwards, which are the event's own timestamp) to the moment an
agent's socket has it parsed; the baseline is the same measure for a bare
``websockets`` server sending timestamped messages to one client. Figures are
printed with their ratio, since absolute numbers on these machines are noisy.

With ``--max`` it then raises the call rate until the pipeline falls behind and
prints the highest rate at which every call completed its whole lifecycle
(queued, offered, answered by the agent over the socket, ended).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import websockets
from stats import pct, pin  # noqa: E402  (bench/stats.py: benchmarks run as scripts)

HERE = Path(__file__).resolve()


def ts_ns(iso: str) -> int:
    d = datetime.fromisoformat(iso)
    return int(d.timestamp()) * 1_000_000_000 + d.microsecond * 1000


# ---------------------------------------------------------------- baseline


async def _echo_server(port: int) -> None:
    """Bare WebSocket peer: sends `count` timestamped messages at `rate`/s on request."""

    async def handler(ws: Any) -> None:
        async for raw in ws:
            req = json.loads(raw)
            gap = 1.0 / req["rate"]
            start = time.perf_counter()
            for i in range(req["count"]):
                # Paced like the pipeline: messages spread over time, not one burst.
                delay = start + i * gap - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                await ws.send(json.dumps({"i": i, "t": time.time_ns(), "pad": "x" * 600}))

    async with websockets.serve(handler, "127.0.0.1", port):
        print("READY", flush=True)
        await asyncio.Future()


async def baseline(count: int, rate: float) -> list[float]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(HERE), "_echo", str(port)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        lat: list[float] = []
        async with websockets.connect(f"ws://127.0.0.1:{port}") as ws:
            await ws.send(json.dumps({"count": count, "rate": rate}))
            for _ in range(count):
                msg = json.loads(await ws.recv())
                lat.append((time.time_ns() - msg["t"]) / 1e6)
        return lat[count // 10:]  # drop warm-up
    finally:
        proc.terminate()
        proc.wait()


# -------------------------------------------------------------------- hub


async def _hub(port: int, agents: int, workdir: str, compression: bool = True) -> None:
    """The hub process: simulator + hub + uvicorn; traffic on a GO line from stdin."""
    from argon2 import PasswordHasher

    from ctibridge.api.app import create_app
    from ctibridge.api.server import build_server
    from ctibridge.clock import SystemClock
    from ctibridge.config import Settings
    from ctibridge.logs import configure
    from ctibridge.store import Database, Store
    from ctibridge.telephony.simulator import SimulatorConnector, TrafficGenerator

    configure(level="warning")
    clock = SystemClock()
    ids = [f"a{i:04d}" for i in range(agents)]
    exts = [str(2000 + i) for i in range(agents)]
    settings = Settings.load(
        None,
        database={"url": f"sqlite:///{workdir}/bench.db"},
        server={"host": "127.0.0.1", "port": port, "replay_events": 50,
                "rate_per_second": 1000, "rate_burst": 1000,
                # Every bar from one address, more than the default cap.
                "limits": {"connections_per_ip": 0, "max_connections": 4 * agents + 100,
                           "ws_compression": compression}},
        agents=[{"id": i, "name": i, "extension": e} for i, e in zip(ids, exts, strict=True)],
        wrap_up_seconds=0,
        # Tokens are made before the bars connect, which takes minutes with thousands.
        auth={"token_ttl_seconds": 6 * 3600},
    )
    sim = SimulatorConnector("sim", clock=clock, devices=exts, queues=["support"],
                             ring_timeout=30.0)
    db = Database(settings.database.url)
    await db.start()
    store = Store(db, hasher=PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    app = create_app(settings, connectors={"sim": sim}, clock=clock, store=store)
    # The server production runs (api/server.py): its WebSocket protocol and limits.
    server = build_server(app, settings)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    # Each agent a real user with a real session (a token names its session), made
    # server-side: 1,000 password logins would only measure the login guard.
    services = app.state.services
    issued = []
    for i in ids:
        user = await store.users.create(i, f"{i}-bench-password", ["agent"], agent_id=i)
        _, access, _ = await services.sessions.open(user, None)
        issued.append(access)
    Path(workdir, "tokens.json").write_text(json.dumps(issued))
    print("READY", flush=True)

    # Where the hub spends its time under traffic (not while agents connect):
    # cProfile stats for `python -m pstats`.
    profile_to = os.environ.get("CTIBRIDGE_BENCH_PROFILE")
    prof = None
    if profile_to:
        import cProfile

        prof = cProfile.Profile()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode().split():
        if line[0] != "GO":
            break
        rate, seconds = float(line[1]), float(line[2])
        ended_before = app.state.hub.notifier.published
        gen = TrafficGenerator(sim, clock=clock, seed=int(rate), calls_per_second=rate,
                               handle_time=(1.0, 0.2), patience=(60.0, 1.0))
        lags: list[float] = []
        lag_task = asyncio.create_task(_loop_lag(lags))
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if prof:
            prof.enable()
        # Calls placed in the trial's time: a saturated hub places fewer than asked.
        on_time: list[int] = []
        loop.call_later(seconds, lambda g=gen, o=on_time: o.append(g.placed))
        # Customers stop calling after `seconds` and those on the line finish their calls
        # (handle time ~1 s): no burst of hang-ups at the end to skew the tail.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(gen.run(duration=seconds), seconds + 30)
        await asyncio.sleep(0.5)  # the last events reach the sockets
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        lag_task.cancel()
        if prof:
            prof.disable()
        print(json.dumps({"placed": on_time[0] if on_time else gen.placed, "wall_seconds": wall,
                          "published": app.state.hub.notifier.published - ended_before,
                          "live_calls": len(app.state.hub.calls), "cpu_seconds": cpu,
                          "loop_lag_p99_ms": pct(lags, 99), "loop_lag_max_ms": max(lags)}),
              flush=True)
    if prof and profile_to:
        prof.dump_stats(profile_to)
    server.should_exit = True
    await task
    await db.stop()


async def _loop_lag(lags: list[float]) -> None:
    """How late the hub's event loop wakes a 5 ms timer: time it spent busy or blocked."""
    while True:
        t = time.perf_counter()
        await asyncio.sleep(0.005)
        lags.append((time.perf_counter() - t - 0.005) * 1000)


class Agents:
    """N agents on real sockets: log in, go ready, answer what rings, measure."""

    def __init__(self, url: str, tokens: list[str]) -> None:
        self.url = url
        self.tokens = tokens
        self.latency: dict[str, list[float]] = {}
        self.answered = 0
        self.ended = 0
        self.sockets: list[Any] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.recording = False
        self.progress = 0  # the hub's pid: print its RSS every 1,000 bars
        self.retries = 0

    async def connect(self) -> None:
        # Idle connections dropped before the hub's keep-alive (5 s) closes them under us.
        async with httpx.AsyncClient(base_url=self.url, timeout=60,
                                     limits=httpx.Limits(keepalive_expiry=1.0)) as http:
            async def one(token: str) -> None:
                # As a bar does, a failed connect is tried again (a busy machine may let
                # a ticket expire before its socket opens).
                for attempt in range(5):
                    try:
                        await connect(token)
                        return
                    except (OSError, httpx.HTTPError, websockets.WebSocketException,
                            TimeoutError, KeyError):
                        if attempt == 4:
                            raise
                        self.retries += 1
                        await asyncio.sleep(1 + attempt)

            async def connect(token: str) -> None:
                r = await http.post("/api/ws-ticket", headers={"Authorization": f"Bearer {token}"})
                ticket = r.json()["ticket"]
                ws_url = self.url.replace("http", "ws") + f"/ws?ticket={ticket}"
                # Patient handshakes (thousands of bars connect on a busy machine), and no
                # client pings: the hub's own keep the link checked.
                ws = await websockets.connect(ws_url, max_size=2**22, open_timeout=120,
                                              ping_interval=None)
                await ws.recv()  # hello
                snap = json.loads(await ws.recv())
                me = snap["agent"]["agent_id"]
                await ws.send(json.dumps({"type": "command", "id": "l", "op": "agent.login"}))
                await ws.send(json.dumps({"type": "command", "id": "r", "op": "agent.ready"}))
                self.sockets.append(ws)
                self.tasks.append(asyncio.create_task(self.listen(ws, me)))

            for i in range(0, len(self.tokens), 50):
                await asyncio.gather(*(one(t) for t in self.tokens[i:i + 50]))
                if self.progress and (i + 50) % 1000 == 0:
                    print(f"  {i + 50} bars connected, hub RSS {_rss_mb(self.progress)} "
                          f"({self.retries} connects retried)", flush=True)

    async def listen(self, ws: Any, me: str) -> None:
        n = 0
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                now = time.time_ns()
                frame = json.loads(raw)
                if frame.get("type") != "event":
                    continue
                name, data = frame["name"], frame["data"]
                stamp = None
                call = data.get("call")
                if name == "call.ended" and call:
                    stamp = call["ended_at"]
                    self.ended += 1
                elif name in ("call.offered", "call.answered") and call:
                    mine = next((c for c in call["connections"] if c["agent_id"] == me), None)
                    if mine is None:
                        continue
                    stamp = mine["since"]
                    if name == "call.offered" and mine["state"] == "alerting":
                        n += 1
                        await ws.send(json.dumps({"type": "command", "id": f"a{n}",
                                                  "op": "call.answer",
                                                  "call_id": call["call_id"]}))
                    elif name == "call.answered":
                        self.answered += 1
                if stamp and self.recording:
                    self.latency.setdefault(name, []).append((now - ts_ns(stamp)) / 1e6)

    async def close(self) -> None:
        for ws in self.sockets:
            await ws.close()
        for t in self.tasks:
            t.cancel()


def _rss_mb(pid: int) -> str:
    """The hub's resident memory now and at its peak (VmHWM), from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return f"{fields.get('VmRSS', 0):.0f} MB (peak {fields.get('VmHWM', 0):.0f} MB)"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run(args: argparse.Namespace) -> None:
    pin(1)
    b50 = b99 = 0.0
    if not args.connect_only:
        print(f"baseline: bare WebSocket hop between two processes ({args.rate * 4:.0f} msg/s)")
        base = await baseline(count=max(500, int(args.rate * 4 * 5)), rate=args.rate * 4)
        b50, b99 = pct(base, 50), pct(base, 99)
        print(f"  p50 {b50:.3f} ms   p99 {b99:.3f} ms   (n={len(base)})")

    workdir = tempfile.mkdtemp(prefix="ctibridge-bench-")
    port = _free_port()
    hub = subprocess.Popen([sys.executable, str(HERE), "_hub", str(port), str(args.agents),
                            workdir, "0" if args.no_compression else "1"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert hub.stdin is not None and hub.stdout is not None
    try:
        if hub.stdout.readline().strip() != "READY":
            raise SystemExit("the hub did not start")
        tokens = json.loads(Path(workdir, "tokens.json").read_text())
        agents = Agents(f"http://127.0.0.1:{port}", tokens)
        agents.progress = hub.pid if args.agents >= 4000 else 0
        t0 = time.perf_counter()
        await agents.connect()
        print(f"pipeline: {args.agents} agents connected in {time.perf_counter() - t0:.1f} s, "
              f"hub RSS {_rss_mb(hub.pid)}")
        if args.connect_only:
            await agents.close()
            return

        async def trial(rate: float, seconds: float) -> dict[str, Any]:
            agents.latency.clear()
            answered0, ended0 = agents.answered, agents.ended
            agents.recording = True
            hub.stdin.write(f"GO {rate} {seconds}\n")  # type: ignore[union-attr]
            hub.stdin.flush()  # type: ignore[union-attr]
            line = await asyncio.to_thread(hub.stdout.readline)  # type: ignore[union-attr]
            agents.recording = False
            stats = json.loads(line)
            stats["answered"] = agents.answered - answered0
            stats["ended"] = agents.ended - ended0
            stats["expected"] = rate * seconds
            return stats

        stats = await trial(args.rate, args.seconds)
        allev = [v for vs in agents.latency.values() for v in vs]
        p50, p99 = pct(allev, 50), pct(allev, 99)
        print(f"  {args.rate:g} calls/s for {args.seconds:g} s: {stats['ended']} calls ended, "
              f"{len(allev)} events timed, hub CPU {stats['cpu_seconds']:.1f} s")
        for name, vs in sorted(agents.latency.items()):
            print(f"    {name:14s} p50 {pct(vs, 50):7.3f} ms   p99 {pct(vs, 99):7.3f} ms")
        print(f"  all events     p50 {p50:7.3f} ms   p99 {p99:7.3f} ms")
        print(f"ratio to the bare hop: p50 {p50 / b50:.1f}x   p99 {p99 / b99:.1f}x")
        print(f"targets: p50 <= 3x bare hop -> {'met' if p50 <= 3 * b50 else 'NOT met'}; "
              f"p99 <= 10 ms -> {'met' if p99 <= 10 else 'NOT met'}")

        if args.max:
            best = 0.0
            rate = max(args.rate, 50.0)
            while rate <= args.max_rate:
                s = await trial(rate, 5.0)
                lat = [v for vs in agents.latency.values() for v in vs]
                # The generator runs in the hub's loop: a saturated hub places fewer calls
                # than asked (so check the rate reached), and every call placed must
                # complete its lifecycle.
                # (Poisson arrivals: allow three standard deviations below the mean.)
                reached = s["placed"] >= s["expected"] - 3 * s["expected"] ** 0.5
                ok = reached and s["ended"] >= 0.95 * s["placed"] and s["live_calls"] < rate
                print(f"  {rate:6.0f} calls/s: placed {s['placed']}/{s['expected']:.0f}, "
                      f"{s['ended']}/{s['placed']} lifecycles, "
                      f"p99 {pct(lat, 99):8.2f} ms, hub CPU {s['cpu_seconds']:.1f} s/"
                      f"{s['wall_seconds']:.1f} s, loop lag p99 {s['loop_lag_p99_ms']:.0f} ms "
                      f"-> {'sustained' if ok else 'falls behind'}")
                if not ok:
                    break
                best = rate
                rate *= 1.5
            print(f"maximum sustained: {best:.0f} full call lifecycles/s on one core "
                  f"(target >= 500)")
        await agents.close()
    finally:
        with contextlib.suppress(Exception):
            hub.stdin.close()
        try:
            hub.wait(20)
        except subprocess.TimeoutExpired:
            hub.kill()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_echo":
        pin(0)
        asyncio.run(_echo_server(int(sys.argv[2])))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_hub":
        pin(0)
        asyncio.run(_hub(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5] == "1"))
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--agents", type=int, default=1000)
    p.add_argument("--rate", type=float, default=50.0, help="calls per second")
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--max", action="store_true", help="also search the highest sustained rate")
    p.add_argument("--no-compression", action="store_true",
                   help="the hub with server.limits.ws_compression off")
    p.add_argument("--connect-only", action="store_true",
                   help="connect the agents, print the time and the hub's RSS, stop")
    p.add_argument("--max-rate", type=float, default=2000.0)
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
