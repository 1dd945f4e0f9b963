"""Cluster benchmark: failover time of the core, node processes on NATS JetStream.

    .venv/bin/python bench/cluster.py [--trials 20] [--lease 2] [--nats nats://127.0.0.1:4222]

Two `ctibridge serve` nodes of one cluster; a bar (alice) connected to each. Each
trial SIGKILLs the node running the core and times, on the bar of the surviving node,
the first event published by the new core (its platform comes up: `platform.status`),
then restarts the killed node as a follower for the next trial. Printed: p50/p99 of
the takeover and its ratio to the lease (a takeover cannot beat the lease's expiry).

Not measured yet (docs/deployment.md, "Not done yet"): bars per node in cluster mode
and the 1 vs 4 nodes throughput ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets
import yaml
from stats import pct  # noqa: E402  (bench/stats.py: benchmarks run as scripts)

SECRET = secrets.token_urlsafe(48)
OPS = secrets.token_urlsafe(32)
AGENTS = [{"id": "alice", "name": "Alice Martin", "extension": "1001"}]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Node:
    def __init__(self, workdir: Path, cluster: str, node_id: str, args: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = workdir / f"{node_id}.yaml"
        self.config.write_text(yaml.safe_dump({
            "demo": True, "database": {"url": f"sqlite:///{workdir / f'{node_id}.db'}"},
            "server": {"host": "127.0.0.1", "port": self.port, "ops": {"token": OPS}},
            "auth": {"secret_key": SECRET}, "agents": AGENTS, "log": {"level": "warning"},
            "cluster": {"nats_url": args.nats, "name": cluster, "node_id": node_id,
                        "storage": "memory", "lease_seconds": args.lease}}))
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ctibridge.cli", "serve", "--config", str(self.config),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        while not await self.status():
            await asyncio.sleep(0.1)

    async def status(self) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as http:
            with contextlib.suppress(httpx.TransportError, ValueError):
                r = await http.get("/readyz", headers={"Authorization": f"Bearer {OPS}"})
                return dict(r.json().get("cluster") or {})
        return {}

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()

    async def bar(self) -> Any:
        async with httpx.AsyncClient(base_url=self.url) as http:
            r = await http.post("/api/login", json={"username": "alice", "password": "alice"})
            token = r.json()["token"]
            r = await http.post("/api/ws-ticket", headers={"Authorization": f"Bearer {token}"})
        ws = await websockets.connect(
            self.url.replace("http", "ws") + f"/ws?ticket={r.json()['ticket']}")
        await ws.recv()  # hello
        snap = json.loads(await ws.recv())
        return ws, snap["seq"]


async def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="ctibridge-cluster-"))
    cluster = f"bench{secrets.token_hex(3)}"
    nodes = [Node(workdir, cluster, n, args) for n in ("a", "b")]
    times: list[float] = []
    try:
        await nodes[0].start()
        while not (await nodes[0].status()).get("core"):
            await asyncio.sleep(0.1)
        await nodes[1].start()
        for trial in range(args.trials):
            core = next(iter([n for n in nodes if (await n.status()).get("core")]), None)
            if core is None:
                await asyncio.sleep(0.2)
                continue
            survivor = nodes[1] if core is nodes[0] else nodes[0]
            ws, seq = await survivor.bar()
            t0 = time.perf_counter()
            await core.kill()
            while True:  # the first event numbered after the snapshot: from the new core
                frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if frame.get("type") == "event" and frame["seq"] > seq:
                    break
            times.append(time.perf_counter() - t0)
            print(f"  trial {trial + 1}: first event from the new core after "
                  f"{times[-1]:.2f} s", flush=True)
            await ws.close()
            await core.start()  # back as a follower
    finally:
        for n in nodes:
            await n.stop()
    if times:
        p50, p99 = pct(times, 50), pct(times, 99)
        print(f"failover (core SIGKILLed -> first event of the new core), {len(times)} trials, "
              f"lease {args.lease:g} s: p50 {p50:.2f} s ({p50 / args.lease:.1f}x the lease), "
              f"p99 {p99:.2f} s ({p99 / args.lease:.1f}x); target: within 2 s of the lease's "
              f"expiry -> {'met' if p99 <= args.lease + 2 else 'NOT met'}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--lease", type=float, default=2.0, help="cluster.lease_seconds")
    p.add_argument("--nats", default=os.environ.get("CTIBRIDGE_TEST_NATS",
                                                    "nats://127.0.0.1:4222"))
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
