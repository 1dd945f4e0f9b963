"""Real `ctibridge serve` processes of one cluster, and a throwaway PostgreSQL database.

Production runs nodes as separate processes sharing one PostgreSQL database: a test
that kills the core's node with SIGKILL needs exactly that, with every platform (a
switch, a CRM) outside the node processes, so that it outlives the core.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.net import free_port

from ..serveproc import CliProcess, cli_process
from ..sqldb import customer_db
from .conftest import NATS_URL, SECRET

OPS_TOKEN = secrets.token_urlsafe(32)


@contextlib.asynccontextmanager
async def pg_database(tmp_path: Path) -> AsyncIterator[str]:
    """A new empty PostgreSQL database (its URL) for the nodes, dropped afterwards."""
    async with customer_db("postgresql", tmp_path, "ctib_takeover", lambda _: []) as url:
        yield url


async def cluster_status(url: str) -> dict[str, Any] | None:
    """A node's cluster status from /readyz (None: not answering)."""
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        with contextlib.suppress(httpx.TransportError):
            r = await http.get("/readyz", headers={"Authorization": f"Bearer {OPS_TOKEN}"})
            return dict(r.json().get("cluster") or {})
    return None


class NodeProcess:
    def __init__(self, node_id: str, url: str, process: CliProcess) -> None:
        self.node_id = node_id
        self.proc = process.proc
        self.url = url
        self.output = process.output

    async def status(self) -> dict[str, Any] | None:
        return await cluster_status(self.url)

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
    """`ctibridge serve` as node ``node_id`` of cluster ``name``, once it answers /readyz."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    path = tmp_path / f"{node_id}.yaml"
    path.write_text(yaml.safe_dump(node_config(name, node_id, port, database, **extra)))
    async with cli_process(f"node {node_id}", "serve", "--config", str(path),
                           ready=lambda: cluster_status(url), env={"NO_COLOR": "1"}) as process:
        yield NodeProcess(node_id, url, process)


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
