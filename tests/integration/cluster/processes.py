"""Real `ctibridge serve` processes of one cluster, and a throwaway PostgreSQL database.

Production runs nodes as separate processes sharing one PostgreSQL database: a test
that kills the core's node with SIGKILL needs exactly that, with every platform (a
switch, a CRM) outside the node processes, so that it outlives the core.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.net import free_port

from ..sqldb import customer_db
from .conftest import NATS_URL, SECRET

OPS_TOKEN = secrets.token_urlsafe(32)


@contextlib.asynccontextmanager
async def pg_database(tmp_path: Path) -> AsyncIterator[str]:
    """A new empty PostgreSQL database (its URL) for the nodes, dropped afterwards."""
    async with customer_db("postgresql", tmp_path, "ctib_takeover", lambda _: []) as url:
        yield url


class NodeProcess:
    def __init__(self, node_id: str, proc: asyncio.subprocess.Process, url: str,
                 output: list[str]) -> None:
        self.node_id = node_id
        self.proc = proc
        self.url = url
        self.output = output

    async def status(self) -> dict[str, Any] | None:
        """The node's cluster status from /readyz (None: not answering)."""
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as http:
            with contextlib.suppress(httpx.TransportError):
                r = await http.get("/readyz", headers={"Authorization": f"Bearer {OPS_TOKEN}"})
                return dict(r.json().get("cluster") or {})
        return None

    async def is_core(self) -> bool:
        status = await self.status()
        return bool(status and status.get("core"))

    async def kill(self) -> float:
        """SIGKILL: no goodbye, the lease must expire. Returns when it was sent."""
        at = time.monotonic()
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        return at

    def log(self, last: int = 80) -> str:
        return f"--- node {self.node_id}:\n" + "\n".join(self.output[-last:])


def node_config(name: str, node_id: str, port: int, database: str, **extra: Any
                ) -> dict[str, Any]:
    config: dict[str, Any] = {
        "demo": True,  # the demo users (alice/alice, admin/admin…)
        "database": {"url": database},
        "server": {"host": "127.0.0.1", "port": port, "ops": {"token": OPS_TOKEN}},
        "auth": {"secret_key": SECRET},
        "cluster": {"nats_url": NATS_URL, "name": name, "node_id": node_id,
                    "storage": "memory", "lease_seconds": 2.0},
        "log": {"level": "info"},
    }
    config.update(extra)
    return config


@contextlib.asynccontextmanager
async def node_process(tmp_path: Path, name: str, node_id: str, database: str,
                       **extra: Any) -> AsyncIterator[NodeProcess]:
    port = free_port()
    path = tmp_path / f"{node_id}.yaml"
    path.write_text(yaml.safe_dump(node_config(name, node_id, port, database, **extra)))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ctibridge.cli", "serve", "--config", str(path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"})
    output: list[str] = []

    async def drain() -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            output.append(line.decode(errors="replace").rstrip())

    reader = asyncio.create_task(drain())
    node = NodeProcess(node_id, proc, f"http://127.0.0.1:{port}", output)
    try:
        for _ in range(600):
            if proc.returncode is not None:
                raise AssertionError(f"node {node_id} exited:\n" + node.log())
            if await node.status():
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"node {node_id} never got ready:\n" + node.log())
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


async def until(what: str, check: Callable[[], Awaitable[bool] | bool],
                timeout: float = 30.0, *, every: float = 0.05) -> float:
    """Poll ``check`` until true; returns the time (monotonic) it first was."""
    async def poll() -> float:
        for _ in range(1_000_000):  # polling processes: there is no event to wait on
            result = check()
            if await result if isinstance(result, Awaitable) else result:
                return time.monotonic()
            await asyncio.sleep(every)
        raise AssertionError("unreachable")
    try:
        return await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        raise AssertionError(f"never: {what}") from None
