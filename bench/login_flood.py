"""Login flood benchmark: a real login and an agent's round trip while others guess passwords.

    .venv/bin/python bench/login_flood.py [--seconds 10] [--concurrency 200] [--addresses 200]

The hub is a real ``ctibridge serve`` process with its default login limits. The
attacker runs in a process of its own and keeps ``--concurrency`` wrong-password
logins in flight for random usernames (so that no username lockout short-cuts the
hashing), from one loopback address, then spread over ``--addresses`` addresses
(127.0.1.x: each gets 20 failures before its own lockout, so the hashing pool is
what holds). Measured in the same run, quiet and under each flood: bob's real login
from his own address (retrying when told to by a 503's Retry-After: the time until
he is in), alice's WebSocket ping round trip (p50/p99 and p99 / quiet p99), and how
the attacker's logins were answered (401 checked, 429/503 refused before hashing).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import signal
import socket
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

CTIBRIDGE = str(Path(sys.executable).with_name("ctibridge"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def attack(port: int, concurrency: int, addresses: int, out: Path) -> None:
    """Keep ``concurrency`` bad logins in flight until SIGTERM; write the answers' tally."""
    tally: collections.Counter[int] = collections.Counter()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120,
                                 transport=httpx.AsyncHTTPTransport(
                                     local_address=f"127.0.1.{i % 250 + 1}"
                                     if addresses > 1 else "127.0.0.5"))
               for i in range(max(1, addresses))]

    async def one(i: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            client = clients[(i + n) % len(clients)]
            with contextlib.suppress(httpx.HTTPError):
                r = await client.post("/api/login", json={"username": f"guess{i}-{n}",
                                                          "password": "wrong"})
                tally[r.status_code] += 1

    tasks = [asyncio.create_task(one(i)) for i in range(concurrency)]
    while not stop.is_set():  # the tally so far, in case the process dies first
        out.write_text(json.dumps(dict(tally)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    out.write_text(json.dumps(dict(tally)))


async def real_login(url: str) -> float:
    """Seconds until bob is logged in, retrying as a 503 or 429 says."""
    started = time.perf_counter()
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.9")
    async with httpx.AsyncClient(base_url=url, timeout=120, transport=transport) as http:
        while True:
            r = await http.post("/api/login", json={"username": "bob", "password": "bob"})
            if r.status_code == 200:
                return time.perf_counter() - started
            if r.status_code not in (429, 503):
                raise RuntimeError(f"bob's login: {r.status_code} {r.text}")
            await asyncio.sleep(float(r.headers.get("Retry-After", "1")))


async def round_trips(ws: Any, seconds: float) -> list[float]:
    out: list[float] = []
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
        started = time.perf_counter()
        await ws.send(json.dumps({"type": "ping", "id": n}))
        while json.loads(await ws.recv()).get("id") != n:
            pass  # events; the answer to our ping carries its id
        out.append(time.perf_counter() - started)
        await asyncio.sleep(0.06)  # under the socket's 20 messages/s
    return out


async def measure(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="login-flood-"))
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
    results = []
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            token = (await http.post("/api/login", json={"username": "alice",
                                                         "password": "alice"})).json()["token"]
            ticket = (await http.post("/api/ws-ticket", headers={
                "Authorization": f"Bearer {token}"})).json()["ticket"]
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws?ticket={ticket}") as ws:
            await ws.recv()
            await ws.recv()
            await round_trips(ws, 1.0)  # warm up
            phases = [("quiet", 0), ("flood, one address", 1),
                      (f"flood, {args.addresses} addresses", args.addresses)]
            for name, addresses in phases:
                attacker, report = None, tmp / f"tally{len(results)}.json"
                if addresses:
                    attacker = await asyncio.create_subprocess_exec(
                        sys.executable, __file__, "--port", str(port), "--attack",
                        "--concurrency", str(args.concurrency), "--addresses", str(addresses),
                        "--report", str(report))
                    await asyncio.sleep(2)  # let the flood build up
                samples, login = await asyncio.gather(round_trips(ws, args.seconds),
                                                      real_login(url))
                tally: dict[str, int] = {}
                if attacker is not None:
                    attacker.send_signal(signal.SIGTERM)
                    await attacker.wait()
                    with contextlib.suppress(OSError, ValueError):
                        tally = json.loads(report.read_text())
                    await asyncio.sleep(2)
                results.append((name, samples, login, tally))
    finally:
        hub.send_signal(signal.SIGINT)
        try:
            hub.wait(15)
        except subprocess.TimeoutExpired:
            hub.kill()

    base99 = pct(results[0][1], 99)
    print(f"{args.concurrency} bad logins in flight; {args.seconds:g} s per phase; default limits")
    for name, samples, login, tally in results:
        p50, p99 = pct(samples, 50), pct(samples, 99)
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(tally.items()))
        print(f"  {name:24} bob's login {login * 1000:6.0f} ms   alice's ping p50 "
              f"{p50 * 1000:6.2f} ms p99 {p99 * 1000:6.2f} ms ({p99 / base99:4.1f}× quiet)"
              + (f"   attacker's answers {answers}" if answers else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--addresses", type=int, default=200)
    parser.add_argument("--attack", action="store_true")
    parser.add_argument("--port", type=int)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    if args.attack:
        asyncio.run(attack(args.port, args.concurrency, args.addresses, args.report))
    else:
        asyncio.run(measure(args))


if __name__ == "__main__":
    main()
