"""HTTP abuse benchmark: an agent's round trip while others attack the HTTP server.

    .venv/bin/python bench/http_abuse.py [--seconds 15] [--slowloris 3000] [--bodies 4]

The hub is a real ``ctibridge serve`` process with its default limits; each
attack runs in a process of its own (so its work does not slow the measuring
loop, at a lower CPU priority: a real attacker's CPU is not the hub's) from its own
loopback address (127.0.0.2, .3), as separate clients would:

- **slowloris**: N connections each trickling a header line every second,
  reconnecting whenever the hub closes them;
- **big bodies**: M clients each posting 200 MB to ``/api/login``, again and again.

Measured in the same run: alice's WebSocket ``ping`` → ``pong`` round trip
(p50/p99) with no attack (the baseline) and during each attack, the ratio of
each p99 to the quiet p99 (the issue's target: within 3×), a fresh login's
time, the hub's peak resident memory, and how long the hub let an attacking
connection live.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets
import yaml
from stats import pct  # noqa: E402  (bench/stats.py: benchmarks run as scripts)

ROOT = Path(__file__).resolve().parents[1]
CTIBRIDGE = str(Path(sys.executable).with_name("ctibridge"))
MB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------ attackers


async def slowloris(port: int, count: int, source: str) -> None:
    lifetimes: list[float] = []

    async def one(i: int) -> None:
        await asyncio.sleep(i * 0.002)  # a ramp, not one burst of SYNs
        while True:
            started = time.monotonic()
            try:
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", port, local_addr=(source, 0))
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
            except OSError:
                await asyncio.sleep(0.5)
            lifetimes.append(time.monotonic() - started)
            if len(lifetimes) % 100 == 0:
                print(json.dumps({"lifetimes": lifetimes[-100:]}), flush=True)
            await asyncio.sleep(0.05)

    await asyncio.gather(*(one(i) for i in range(count)))


async def big_bodies(port: int, count: int, source: str) -> None:
    chunk = b"x" * 65536

    async def one() -> None:
        while True:
            started = time.monotonic()
            sent = 0
            try:
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", port, local_addr=(source, 0))
                writer.write(b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             b"Content-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n" % (200 * MB))
                while sent < 200 * MB:
                    writer.write(chunk)
                    await writer.drain()
                    sent += len(chunk)
                await reader.read()
                writer.close()
            except OSError:
                pass
            print(json.dumps({"lifetimes": [time.monotonic() - started], "sent": sent}),
                  flush=True)

    await asyncio.gather(*(one() for _ in range(count)))


# ------------------------------------------------------------------ the run


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def round_trips(ws: Any, seconds: float, gap: float = 0.06) -> list[float]:
    # One ping every 60 ms: under the socket's command budget (20/s), never rate-limited.
    samples = []
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    n = 0
    while loop.time() < end:
        n += 1
        started = time.perf_counter()
        await ws.send(json.dumps({"type": "ping", "id": f"p{n}"}))
        while True:
            frame = json.loads(await ws.recv())
            if frame.get("type") == "pong":
                break
        samples.append(time.perf_counter() - started)
        await asyncio.sleep(gap)
    return samples


async def login_time(url: str) -> float:
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        r = await http.post("/api/login", json={"username": "bob", "password": "bob"})
        r.raise_for_status()
    return time.perf_counter() - started


async def measure(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="http-abuse-"))
    port = free_port()
    config = {
        "demo": True, "server": {"host": "127.0.0.1", "port": port},
        "database": {"url": f"sqlite:///{tmp / 'hub.db'}"},
        "telephony": [{"name": "sim", "type": "simulator", "options": {
            "devices": ["1001", "1002"]}}],
        "agents": [{"id": "alice", "name": "Alice", "extension": "1001"},
                   {"id": "bob", "name": "Bob", "extension": "1002"}],
        "log": {"level": "error"},
    }
    (tmp / "hub.yaml").write_text(yaml.safe_dump(config))
    hub = subprocess.Popen([CTIBRIDGE, "serve", "--config", str(tmp / "hub.yaml")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/readyz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            token = (await http.post("/api/login", json={"username": "alice",
                                                         "password": "alice"})).json()["token"]
            ticket = (await http.post("/api/ws-ticket", headers={
                "Authorization": f"Bearer {token}"})).json()["ticket"]
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws?ticket={ticket}") as ws:
            await round_trips(ws, 1.0)  # warm up
            phases: list[tuple[str, list[str] | None]] = [
                ("quiet", None),
                (f"slowloris ×{args.slowloris}",
                 ["--attack", "slowloris", "--count", str(args.slowloris),
                  "--source", "127.0.0.2"]),
                (f"200 MB bodies ×{args.bodies}",
                 ["--attack", "bodies", "--count", str(args.bodies), "--source", "127.0.0.3"]),
            ]
            results = []
            for name, attack in phases:
                attacker = None
                lifetimes: list[float] = []
                sent: list[int] = []
                report = tmp / f"attack{len(results)}.jsonl"
                if attack is not None:
                    with report.open("wb") as out:
                        attacker = await asyncio.create_subprocess_exec(
                            sys.executable, __file__, "--port", str(port), *attack,
                            stdout=out, stderr=asyncio.subprocess.DEVNULL)
                    await asyncio.sleep(3)  # let the attack build up

                peak = rss_mib(hub.pid)

                async def watch() -> None:
                    nonlocal peak
                    while True:
                        peak = max(peak, rss_mib(hub.pid))
                        await asyncio.sleep(0.1)

                watcher = asyncio.create_task(watch())
                samples = await round_trips(ws, args.seconds)
                login = await login_time(url)
                watcher.cancel()
                if attacker is not None:
                    attacker.send_signal(signal.SIGTERM)
                    await attacker.wait()
                    for line in report.read_text().splitlines():
                        with contextlib.suppress(ValueError):
                            record = json.loads(line)
                            lifetimes += record.get("lifetimes", [])
                            if "sent" in record:
                                sent.append(record["sent"])
                    await asyncio.sleep(3)  # the hub sheds the attack's connections
                results.append((name, samples, login, peak, lifetimes, sent))
    finally:
        hub.send_signal(signal.SIGINT)
        try:
            hub.wait(15)
        except subprocess.TimeoutExpired:
            hub.kill()

    ms = 1000
    quiet = results[0][1]
    base99 = pct(quiet, 99)
    print(f"alice's WebSocket round trip, {args.seconds:g} s per phase, hub with default limits")
    for name, samples, login, peak, lifetimes, sent in results:
        p50, p99 = pct(samples, 50), pct(samples, 99)
        line = (f"  {name:22} p50 {p50 * ms:6.2f} ms  p99 {p99 * ms:6.2f} ms "
                f"({p99 / base99:4.1f}× quiet p99)  login {login * ms:6.0f} ms  "
                f"hub RSS peak {peak:5.0f} MiB")
        if lifetimes:
            line += f"  attacker conn. median life {statistics.median(lifetimes):.1f} s"
        if sent:
            line += f", body bytes the hub let in: median {statistics.median(sent) / MB:.1f} MB"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--slowloris", type=int, default=3000)
    parser.add_argument("--bodies", type=int, default=4)
    parser.add_argument("--attack", choices=["slowloris", "bodies"])
    parser.add_argument("--port", type=int)
    parser.add_argument("--count", type=int)
    parser.add_argument("--source", default="127.0.0.1")
    args = parser.parse_args()
    if args.attack is None:
        asyncio.run(measure(args))
        return
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    # A real attacker's CPU is not the hub's: here they share the machine, so the attacker
    # yields the CPU to the hub (and to the measuring client) when both want it.
    os.nice(15)
    attack = slowloris if args.attack == "slowloris" else big_bodies
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(attack(args.port, args.count, args.source))


if __name__ == "__main__":
    main()
