"""A real hub on a real port, with the simulator, and real WebSocket clients.

The hub runs in the test's event loop (uvicorn), on a FakeClock shared with
the simulator, so tests move time instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

from ctibridge.api.app import create_app
from ctibridge.api.server import build_server
from ctibridge.clock import Clock, FakeClock
from ctibridge.config import Settings
from ctibridge.telephony.simulator import SimulatorConnector
from tests.net import free_port  # (re-exported: tests import it from here)

AGENTS = [
    {"id": "alice", "name": "Alice Martin", "extension": "1001"},
    {"id": "bob", "name": "Bob Durand", "extension": "1002"},
    {"id": "carol", "name": "Carol Lefèvre", "extension": "1003"},
]


@dataclass
class RunningHub:
    url: str
    app: Any
    sim: SimulatorConnector
    clock: Clock
    settings: Settings

    @property
    def hub(self) -> Any:
        return self.app.state.hub

    async def token(self, user: str, password: str | None = None) -> str:
        async with httpx.AsyncClient(base_url=self.url) as http:
            r = await http.post("/api/login", json={"username": user,
                                                    "password": password or user})
            r.raise_for_status()
            return str(r.json()["token"])

    async def ticket(self, user: str) -> str:
        token = await self.token(user)
        async with httpx.AsyncClient(base_url=self.url) as http:
            r = await http.post("/api/ws-ticket", headers={"Authorization": f"Bearer {token}"})
            r.raise_for_status()
            return str(r.json()["ticket"])

    def ws_url(self, ticket: str) -> str:
        return self.url.replace("http://", "ws://") + f"/ws?ticket={ticket}"

    async def agent(self, user: str, **kw: Any) -> AgentClient:
        client = AgentClient(self, user)
        await client.connect(**kw)
        return client

    def call_of(self, ref: str) -> str:
        call = self.hub.calls.by_ref("sim", ref)
        assert call is not None, f"the hub does not know the simulator's call {ref}"
        return str(call.call_id)


@dataclass
class AgentClient:
    """A bar, reduced to the protocol: sends commands, collects frames."""

    hub: RunningHub
    user: str
    ws: Any = None
    frames: list[dict[str, Any]] = field(default_factory=list)
    snapshot: dict[str, Any] = field(default_factory=dict)
    _reader: asyncio.Task[None] | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _ids: int = 0

    async def connect(self, origin: str | None = None) -> None:
        ticket = await self.hub.ticket(self.user)
        headers = {"Origin": origin} if origin else None
        self.ws = await websockets.connect(self.hub.ws_url(ticket), additional_headers=headers,
                                           max_size=2**22)
        hello = json.loads(await self.ws.recv())
        assert hello["type"] == "hello", hello
        self.snapshot = json.loads(await self.ws.recv())
        assert self.snapshot["type"] == "snapshot", self.snapshot
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                self.frames.append(json.loads(raw))
                self._arrived.set()

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await self._reader

    async def closed_by_hub(self, timeout: float = 5.0) -> int | None:
        """Wait until the hub closes the socket; its close code (None: no close frame)."""
        assert self._reader is not None
        try:
            await asyncio.wait_for(asyncio.shield(self._reader), timeout)
        except TimeoutError:
            raise AssertionError(f"the hub did not close {self.user}'s socket") from None
        return self.ws.close_code  # type: ignore[no-any-return]

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.ws.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))

    async def wait_for(self, pred: Callable[[dict[str, Any]], bool], what: str,
                       timeout: float = 5.0, start: int = 0) -> dict[str, Any]:
        async def scan() -> dict[str, Any]:
            seen = start
            while True:
                for frame in self.frames[seen:]:
                    seen += 1
                    if pred(frame):
                        return frame
                self._arrived.clear()
                await self._arrived.wait()

        try:
            return await asyncio.wait_for(scan(), timeout)
        except TimeoutError:
            names = [f.get("name") or f.get("type") for f in self.frames[start:]]
            raise AssertionError(f"{self.user} never got {what}; got {names}") from None

    async def event(self, name: str, *, timeout: float = 5.0,
                    where: Callable[[dict[str, Any]], bool] = lambda d: True) -> dict[str, Any]:
        frame = await self.wait_for(
            lambda f: f.get("type") == "event" and f["name"] == name and where(f["data"]),
            f"event {name}", timeout)
        return dict(frame["data"])

    async def command(self, op: str, **args: Any) -> dict[str, Any]:
        self._ids += 1
        fid = f"{self.user}-{self._ids}"
        await self.send({"type": "command", "id": fid, "op": op, **args})
        return await self.wait_for(lambda f: f.get("id") == fid and f["type"] in ("ack", "error"),
                                   f"the answer to {op}")

    async def ok(self, op: str, **args: Any) -> dict[str, Any]:
        reply = await self.command(op, **args)
        assert reply["type"] == "ack", reply
        return dict(reply["result"])

    def my_state(self, call: dict[str, Any]) -> str | None:
        agent_id = self.user
        for conn in call["connections"]:
            if conn["agent_id"] == agent_id:
                return str(conn["state"])
        return None


@contextlib.asynccontextmanager
async def running_hub(
    tmp_path: Path, *, clock: Clock | None = None, sim: SimulatorConnector | None = None,
    port: int | None = None, connectors: dict[str, Any] | None = None,
    crm_connector: Any = None, **overrides: Any,
) -> AsyncIterator[RunningHub]:
    clock = clock or FakeClock()
    port = port or free_port()
    base: dict[str, Any] = {
        "demo": True,
        "database": {"url": f"sqlite:///{tmp_path / 'hub.db'}"},
        "server": {"host": "127.0.0.1", "port": port},
        "agents": AGENTS,
        "wrap_up_seconds": 10,
    }
    for key, value in overrides.items():  # server={...} adds to the host and port
        merge = isinstance(value, dict) and isinstance(base.get(key), dict)
        base[key] = {**base[key], **value} if merge else value
    settings = Settings.load(None, **base)
    if connectors is None:  # the default: the simulator alone
        if sim is None:
            sim = SimulatorConnector("sim", clock=clock, seed=7,
                                     devices=["1001", "1002", "1003"],
                                     ring_timeout=20.0, answer_delay=(1.0, 2.0))
        connectors = {"sim": sim}
    app = create_app(settings, connectors=connectors, clock=clock, crm=crm_connector)
    server = build_server(app, settings)  # the limits production has (api/server.py)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield RunningHub(f"http://127.0.0.1:{port}", app, sim, clock, settings)
    finally:
        server.should_exit = True
        await task


def console_view(sup: AgentClient) -> dict[str, dict[str, Any]]:
    """The calls a supervisor console shows after its snapshot and every frame since
    (src/ctibridge/web/supervisor/board.js's rules, a list in parts included)."""
    calls = {c["call_id"]: c for c in sup.snapshot["calls"]}
    listed: dict[str, set[str]] = {}  # platform -> calls named by the parts so far
    for f in sup.frames:
        if f.get("type") == "snapshot":  # the socket started again
            calls = {c["call_id"]: c for c in f["calls"]}
        if f.get("type") != "event":
            continue
        name, data = f["name"], f["data"]
        if name.startswith("call.") and "call" in data:
            call = data["call"]
            if call["ended_at"] or name == "call.ended":
                calls.pop(call["call_id"], None)
            else:
                calls[call["call_id"]] = call
        elif name == "calls.live":
            platform = data["platform"]
            named = listed.pop(platform, set()) if data.get("part", 1) > 1 else set()
            named |= {c["call_id"] for c in data["calls"]}
            calls.update({c["call_id"]: c for c in data["calls"]})
            if data.get("part", 1) < data.get("parts", 1):
                listed[platform] = named
                continue
            for cid in [cid for cid, c in calls.items()
                        if c["platform"] == platform and cid not in named]:
                del calls[cid]
    return calls
