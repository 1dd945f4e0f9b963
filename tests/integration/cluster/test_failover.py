"""The core's node killed (SIGKILL, a real process): another node takes the core over.

Two `ctibridge serve` processes of one cluster. Each has its own SQLite file here
(production shares PostgreSQL): the bar logs in on the node it stays connected to.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import yaml

from ..harness import AgentClient, RunningHub, free_port
from .conftest import NATS_URL, SECRET, Cluster

OPS_TOKEN = secrets.token_urlsafe(32)
AGENTS = [{"id": "alice", "name": "Alice Martin", "extension": "1001"},
          {"id": "bob", "name": "Bob Durand", "extension": "1002"}]


class Node:
    def __init__(self, proc: asyncio.subprocess.Process, url: str, output: list[str]) -> None:
        self.proc = proc
        self.url = url
        self.output = output

    async def cluster_status(self) -> dict[str, Any] | None:
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as http:
            with contextlib.suppress(httpx.TransportError):
                r = await http.get("/readyz", headers={"Authorization": f"Bearer {OPS_TOKEN}"})
                return dict(r.json().get("cluster") or {})
        return None


@contextlib.asynccontextmanager
async def node_process(tmp_path: Path, name: str, node_id: str) -> AsyncIterator[Node]:
    port = free_port()
    config = {
        "demo": True,
        "database": {"url": f"sqlite:///{tmp_path / f'{node_id}.db'}"},
        "server": {"host": "127.0.0.1", "port": port, "ops": {"token": OPS_TOKEN}},
        "auth": {"secret_key": SECRET},
        "agents": AGENTS,
        "cluster": {"nats_url": NATS_URL, "name": name, "node_id": node_id,
                    "storage": "memory", "lease_seconds": 2.0},
    }
    path = tmp_path / f"{node_id}.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ctibridge.cli", "serve", "--config", str(path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    output: list[str] = []

    async def drain() -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            output.append(line.decode(errors="replace").rstrip())

    reader = asyncio.create_task(drain())
    node = Node(proc, f"http://127.0.0.1:{port}", output)
    try:
        for _ in range(300):
            if proc.returncode is not None:
                raise AssertionError(f"node {node_id} exited:\n" + "\n".join(output))
            if await node.cluster_status():
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"node {node_id} never got ready:\n" + "\n".join(output))
        yield node
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        await reader


async def until(what: str, check: Any, timeout: float = 30.0) -> None:
    async def poll() -> None:
        for _ in range(100_000):  # polling a process over HTTP: there is no event to wait on
            if await check():
                return
            await asyncio.sleep(0.1)
    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        raise AssertionError(f"never: {what}") from None


async def test_the_core_moves_to_another_node_when_its_process_is_killed(
    cluster: Cluster, tmp_path: Path,
) -> None:
    async with node_process(tmp_path, cluster.name, "a") as a:
        await until("a runs the core", lambda: _core(a))
        async with node_process(tmp_path, cluster.name, "b") as b:
            assert not await _core(b)
            # A bar on b (the protocol client of the in-process tests, on a real port).
            bar = AgentClient(RunningHub(b.url, None, None, None, None), "alice")  # type: ignore[arg-type]
            await bar.connect()
            await bar.ok("agent.login")
            before = await bar.wait_for(lambda f: f.get("name") == "agent.state", "the login")

            a.proc.send_signal(signal.SIGKILL)  # no goodbye: the lease must expire
            await a.proc.wait()
            await until("b runs the core", lambda: _core(b))
            status = await b.cluster_status()
            assert status is not None and status["token"] is not None

            await bar.ok("agent.login")  # answered by the new core
            after = await bar.wait_for(lambda f: f.get("name") == "agent.state"
                                       and f["seq"] > before["seq"], "an event of the new core")
            # (The new core also tells the bar alice's restored state: any order.)
            seqs = [f["seq"] for f in bar.frames if f.get("type") == "event"]
            assert seqs == list(range(seqs[0], seqs[-1] + 1)) and after["seq"] in seqs, seqs
            await bar.close()
    assert json.dumps(status)  # what /readyz said is plain JSON


async def _core(node: Node) -> bool:
    status = await node.cluster_status()
    return bool(status and status.get("core"))
