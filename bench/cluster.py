"""Cluster benchmark (issue 18): capacity of a node, 1 vs 4 nodes, failover of the core.

    .venv/bin/python bench/cluster.py [--part capacity|scale|failover|all] [--quick]
        [--sizes 1000,2500,5000,10000] [--modes single,cluster] [--rate 100] [--window 20]
        [--soak 180] [--scale-bars 4000] [--trials 20] [--lease 2]
        [--nats nats://127.0.0.1:4222] [--profile DIR] [--keep]

With no option, the full figures (about 25 min on a quiet 2-CPU machine); ``--quick``
is a smoke run of every part (about 3 min).

Every hub here is a real ``ctibridge serve`` process (its configuration written by the
bench: N agents on the simulator, the simulator's customers calling at ``--rate``
calls/s, ``server.limits.ws_compression: false``); nodes of a cluster talk through the
NATS server at ``--nats`` (JetStream). The bars are raw ``websockets`` clients in one
separate process (compression off, every frame read and parsed); they log in, go
ready and answer every call offered to them, as a bar does. Users and their sessions
are written once into a PostgreSQL database at ``--pg`` (no password logins: they
would only measure argon2), copied for each hub or cluster: the nodes of a cluster
share one database, as in production; the run drops them at the end.

Where things run (2 CPUs): the node measured is pinned to CPU 0; the bars' process,
the core's node (cluster runs) and this driver to CPU 1. NATS is not ours to pin.
Every row prints the machine's load average, and the CPU used in the window by the
node, the core's node, the bars' process and NATS, so a noisy run or a saturated
client shows.

**capacity** (``--sizes``, ``--modes``): in the same run, a single-node hub (core and
sockets in one process) and a cluster node (a follower: its sockets fed from the bus;
the core on another node). Bars connected in steps; at each step the node's RSS (and
per bar, over its RSS before any bar) and the p99 latency of call events from the
simulator's own timestamp (the core making the event: ``since`` of the agent's leg for
``call.offered`` / ``call.answered``, ``ended_at`` for ``call.ended``) to the bar having
parsed the frame, over a ``--window`` of traffic at ``--rate`` calls/s; for the cluster
node also the part of it spent before the node (the same events as this process reads
them on NATS). Then ``--soak`` seconds more of calls at the largest size and the RSS
again: the replay buffers fill as calls go on (all agents' together at most
``server.replay_total_bytes`` per node), so this is the RSS a node keeps.
Targets: 10,000 bars in <= 1 GiB RSS, p99 <= 10 ms at 100 calls/s.

**scale** (1 vs 4 nodes): two CPUs cannot give four nodes a core each, so the ratio is
computed from per-node costs, not from a saturated throughput. A core node, then
``--scale-bars`` bars on one follower, then the same bars split over four followers
(N/4 each), same calls; in both runs one more follower with no bar. The calls are
spread over the same N agents in both runs, so each bar receives the same events per
second in both. Per follower: RSS per bar (its sockets connected, before they go ready,
over its RSS before any bar), and over a ``--window`` of calls its CPU per delivered
event and per bar per second over what the no-bar follower uses in the same window
(a node's fixed cost: lease, NATS, every agent's presence, timers). What a node
carries is the fewer of the bars that fill one CPU, (1 - fixed) / CPU per bar, and
the bars that fit in 1 GiB, (1 GiB - RSS before any bar - the replay budget) / RSS
per bar. Ratio = sum over the four followers / the one follower; target >= 3.5. The
core publishes once per subject whatever the number of nodes: its CPU (and NATS's)
in the window is printed for 1 and 4 followers. The four followers share CPU 0, so
the latency printed for them says nothing of a node's own.

**failover**: two nodes, a bar (alice) on each. Each trial SIGKILLs the node running
the core and times, on the bar of the surviving node, the first event published by
the new core (its platform comes up: ``platform.status``), then restarts the killed
node as a follower. p50/p99 of the takeover and its ratio to the lease.

The bench fails (exit status 1) if any bar misses an event: a gap in its ``seq``, a
socket closed by the hub, or a call it was offered that it never saw end once the
bars stop taking calls at the end of a run. ``--quick``: small sizes for a smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import websockets
import yaml
from stats import pct, pin  # noqa: E402  (bench/stats.py: benchmarks run as scripts)

HERE = Path(__file__).resolve()
SECRET = secrets.token_urlsafe(48)
OPS = secrets.token_urlsafe(32)
GIB = 1024 ** 3
REPLAY = 64 * 1024 * 1024  # server.replay_total_bytes's default: what replay adds per node
NODE_CPU, CLIENT_CPU = 0, 1
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU of a process (all its threads) so far; 0 if unreadable."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def nats_pid() -> int | None:
    """The local nats-server, to print its CPU (it does the fan-out between nodes)."""
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            with contextlib.suppress(OSError):
                if (d / "comm").read_text().strip() == "nats-server":
                    return int(d.name)
    return None


def ts_ns(iso: str) -> int:
    d = datetime.fromisoformat(iso)
    return int(d.timestamp()) * 1_000_000_000 + d.microsecond * 1000


def agent_ids(n: int) -> list[str]:
    return [f"a{i:05d}" for i in range(n)]


# ---------------------------------------------------------------- users and sessions


async def prepare(url: str, n: int) -> list[str]:
    """A database with one agent user per agent and an open session each; their
    access tokens (signed with SECRET, as every node's configuration says)."""
    from argon2 import PasswordHasher

    from ctibridge.api.auth import TokenService
    from ctibridge.api.sessions import SessionService
    from ctibridge.clock import SystemClock
    from ctibridge.config import AuthSettings
    from ctibridge.store import Database, Store

    clock = SystemClock()
    db = Database(url)
    await db.start()
    # A cheap hash: nobody logs in with these passwords.
    store = Store(db, hasher=PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    auth = AuthSettings(secret_key=SECRET, token_ttl_seconds=6 * 3600)
    sessions = SessionService(store, TokenService(SECRET, auth.token_ttl_seconds, clock),
                              auth, clock)
    tokens = []
    try:
        for a in agent_ids(n):
            user = await store.users.create(a, f"{a}-bench-password", ["agent"], agent_id=a)
            _, access, _ = await sessions.open(user, None)
            tokens.append(access)
    finally:
        await db.stop()
    return tokens


class Databases:
    """PostgreSQL databases of a run, as production has one per cluster: a template
    with the users and sessions, written once, and a copy of it for each hub or cluster
    (CREATE DATABASE ... TEMPLATE: a file copy). Every one is dropped at the end."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.names: list[str] = []
        self.template: str | None = None

    def url(self, name: str) -> str:
        return self.admin_url.rsplit("/", 1)[0] + "/" + name

    async def _admin(self, sql: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.admin_url, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def create(self, template: str | None = None) -> str:
        name = f"ctib_bench_{secrets.token_hex(4)}"
        await self._admin(f'CREATE DATABASE "{name}"'
                          + (f' TEMPLATE "{template}"' if template else ""))
        self.names.append(name)
        return name

    async def prepare(self, n: int) -> list[str]:
        self.template = await self.create()
        return await prepare(self.url(self.template), n)

    async def copy(self) -> str:
        """A database of its own for a hub or a cluster (its nodes share it)."""
        assert self.template is not None
        return self.url(await self.create(self.template))

    async def drop_all(self) -> None:
        for name in reversed(self.names):
            with contextlib.suppress(Exception):
                await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---------------------------------------------------------------- hub processes


class Node:
    """One ``ctibridge serve`` process; ``cluster`` None: a single-node hub."""

    def __init__(self, workdir: Path, node_id: str, *, agents: int, rate: float,
                 cluster: str | None, args: Any, cpu: int | None = None,
                 database: str | None = None, demo: bool = False,
                 profile: bool = False, lease: float | None = None) -> None:
        self.node_id = node_id
        # cProfile of the whole process, written when it stops (--profile DIR).
        self.profile = Path(args.profile) / f"{node_id}.prof" \
            if profile and getattr(args, "profile", None) else None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = workdir / f"{node_id}.yaml"
        self.log = workdir / f"{node_id}.log"
        self.cpu = cpu
        self.cluster = cluster
        # The run's PostgreSQL copy (shared by a cluster's nodes), else a SQLite file.
        database = database or f"sqlite:///{workdir / f'{node_id}.db'}"
        ids = agent_ids(agents)
        exts = [str(20000 + i) for i in range(agents)]
        config: dict[str, Any] = {
            "demo": demo, "database": {"url": database},
            "server": {"host": "127.0.0.1", "port": self.port, "ops": {"token": OPS},
                       "limits": {"connections_per_ip": 0,
                                  "max_connections": 2 * agents + 200,
                                  "ws_compression": False}},
            "auth": {"secret_key": SECRET, "token_ttl_seconds": 6 * 3600},
            "log": {"level": args.log_level},
        }
        if not demo:
            config |= {
                "agents": [{"id": i, "name": i, "extension": e}
                           for i, e in zip(ids, exts, strict=True)],
                "telephony": [{"name": "sim", "type": "simulator", "options": {
                    "devices": exts, "queues": ["support"], "ring_timeout": 30}}],
                # Calls of about a second, so that the calls in progress stay few and
                # the agents who answer many.
                "traffic": {"platform": "sim", "calls_per_minute": rate * 60,
                            "handle_time_seconds": 1.0, "patience_seconds": 5.0},
                "wrap_up_seconds": 0,
            }
        else:
            config["agents"] = [{"id": "alice", "name": "Alice Martin", "extension": "1001"}]
        if cluster is not None:
            # The lease as production has it (3 s) but in the failover trials (--lease).
            config["cluster"] = {"nats_url": args.nats, "name": cluster, "node_id": node_id,
                                 "storage": "memory", **({"lease_seconds": lease} if lease else {})}
        self.config.write_text(yaml.safe_dump(config))
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    async def start(self) -> None:
        cpu = self.cpu
        with self.log.open("ab") as log:  # its warnings, for a run that goes wrong
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                *(["-m", "cProfile", "-o", str(self.profile)] if self.profile else []),
                "-m", "ctibridge.cli", "serve", "--config", str(self.config),
                stdout=log, stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                preexec_fn=(lambda: pin(cpu)) if cpu is not None else None)
        while not await self.ready():
            if self.proc.returncode is not None:
                raise SystemExit(f"node {self.node_id} exited ({self.proc.returncode}): "
                                 f"{self.log.read_text()[-2000:]}")
            await asyncio.sleep(0.2)

    async def ready(self) -> bool:
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as http:
            with contextlib.suppress(httpx.TransportError, ValueError):
                r = await http.get("/readyz", headers={"Authorization": f"Bearer {OPS}"})
                return self.cluster is not None or r.status_code == 200
        return False

    async def status(self) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as http:
            with contextlib.suppress(httpx.TransportError, ValueError):
                r = await http.get("/readyz", headers={"Authorization": f"Bearer {OPS}"})
                return dict(r.json().get("cluster") or {})
        return {}

    async def gc_pauses(self) -> dict[str, Any]:
        """The node's garbage-collector pauses so far (/metrics): how many, how many
        over 10 ms, and the smallest bucket bound holding them all."""
        from prometheus_client.parser import text_string_to_metric_families

        out: dict[str, Any] = {"count": 0.0, "over_10ms": 0.0, "buckets": {}}
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as http:
            with contextlib.suppress(httpx.TransportError):
                r = await http.get("/metrics", headers={"Authorization": f"Bearer {OPS}"})
                buckets: dict[float, float] = {}
                for family in text_string_to_metric_families(r.text):
                    if family.name != "ctibridge_gc_pause_seconds":
                        continue
                    for sample in family.samples:
                        if sample.name.endswith("_bucket"):
                            le = float(sample.labels["le"])
                            buckets[le] = buckets.get(le, 0.0) + sample.value
                out["count"] = buckets.get(float("inf"), 0.0)
                out["over_10ms"] = out["count"] - buckets.get(0.01, 0.0)
                out["buckets"] = buckets
        return out

    async def until_core(self) -> None:
        """This node runs the core and its platforms are up (/readyz 200 on the core's
        node): bars logging in earlier get platform-down."""
        for _ in range(1200):
            if (await self.status()).get("core") and await self._ready_200():
                return
            await asyncio.sleep(0.1)
        raise SystemExit(f"node {self.node_id} never took the core")

    async def _ready_200(self) -> bool:
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as http:
            with contextlib.suppress(httpx.TransportError):
                r = await http.get("/readyz")
                return r.status_code == 200
        return False

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    async def alice(self) -> Any:
        """alice's bar (the demo user), for the failover trials."""
        async with httpx.AsyncClient(base_url=self.url) as http:
            r = await http.post("/api/login", json={"username": "alice", "password": "alice"})
            token = r.json()["token"]
            r = await http.post("/api/ws-ticket", headers={"Authorization": f"Bearer {token}"})
        ws = await websockets.connect(
            self.url.replace("http", "ws") + f"/ws?ticket={r.json()['ticket']}")
        await ws.recv()  # hello
        snap = json.loads(await ws.recv())
        return ws, snap["seq"]


# ---------------------------------------------------------------- the bars' process


@dataclass(eq=False)
class Bar:
    ws: Any
    me: str
    group: str
    seq: int
    # Calls offered to this bar not seen ending, with the last event seen of each.
    open_calls: dict[str, str] = field(default_factory=dict)
    gaps: int = 0
    closed: bool = False
    ready: bool = False  # the hub acknowledged agent.ready
    resting: bool = False  # the hub acknowledged agent.not_ready (the drain at the end)
    tries: int = 0
    n: int = 0

    async def go_ready(self) -> None:
        """Log in and go ready (new ids each try: the hub answers a repeated id with
        its first answer)."""
        self.tries += 1
        for op in ("login", "ready"):
            await self.ws.send(json.dumps({"type": "command", "id": f"{op}{self.tries}",
                                           "op": f"agent.{op}"}))


class Bars:
    """Bars on raw sockets, driven by JSON lines on stdin, answering on stdout."""

    def __init__(self) -> None:
        self.bars: list[Bar] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.recording = False
        self.latency: dict[str, list[float]] = {}
        self.frames: dict[str, int] = {}
        self.retries = 0
        self.ready_errors: dict[str, int] = {}
        self.closed_why: dict[str, int] = {}
        self.cpu0 = 0.0

    async def connect(self, url: str, tokens: list[str], group: str, *, ready: bool = True
                      ) -> dict[str, Any]:
        """Open the bars; ``ready``: each logs in and goes ready (else: ``go_ready``)."""
        t0 = time.perf_counter()
        async with httpx.AsyncClient(base_url=url, timeout=120,
                                     limits=httpx.Limits(keepalive_expiry=1.0)) as http:
            async def one(token: str) -> None:
                for attempt in range(5):  # as a bar does: a failed connect is tried again
                    try:
                        await self._open(http, url, token, group, ready)
                        return
                    except (OSError, httpx.HTTPError, websockets.WebSocketException,
                            TimeoutError, KeyError) as exc:
                        if attempt == 4:
                            raise SystemExit(f"a bar could not connect: {exc!r}") from exc
                        self.retries += 1
                        await asyncio.sleep(1 + attempt)

            for i in range(0, len(tokens), 50):
                await asyncio.gather(*(one(t) for t in tokens[i:i + 50]))
        out = {"connected": len(tokens), "seconds": time.perf_counter() - t0,
               "retries": self.retries}
        return out | (await self.until_ready() if ready else {})

    async def go_ready(self) -> dict[str, Any]:
        for b in self.bars:
            if not b.tries:
                await b.go_ready()
        return await self.until_ready()

    async def until_ready(self) -> dict[str, Any]:
        for _ in range(120):  # every bar's agent.ready acknowledged
            if all(b.ready for b in self.bars):
                break
            await asyncio.sleep(0.5)
        return {"retries": self.retries, "ready_errors": self.ready_errors,
                "not_ready": sum(1 for b in self.bars if not b.ready)}

    async def _open(self, http: httpx.AsyncClient, url: str, token: str, group: str,
                    ready: bool) -> None:
        r = await http.post("/api/ws-ticket", headers={"Authorization": f"Bearer {token}"})
        ticket = r.json()["ticket"]
        ws = await websockets.connect(url.replace("http", "ws") + f"/ws?ticket={ticket}",
                                      compression=None, max_size=2 ** 22, open_timeout=120,
                                      ping_interval=None)  # the hub's pings check the link
        await ws.recv()  # hello
        snap = json.loads(await ws.recv())
        if snap.get("type") != "snapshot":
            raise KeyError(f"no snapshot: {snap}")
        bar = Bar(ws, snap["agent"]["agent_id"], group, int(snap["seq"]))
        if ready:
            await bar.go_ready()
        self.bars.append(bar)
        self.tasks.append(asyncio.create_task(self._listen(bar)))

    async def _listen(self, bar: Bar) -> None:
        try:
            async for raw in bar.ws:
                now = time.time_ns()
                frame = json.loads(raw)
                seq = frame.get("seq")
                if isinstance(seq, int):
                    if seq > bar.seq + 1:
                        bar.gaps += seq - bar.seq - 1
                    bar.seq = max(bar.seq, seq)
                kind = frame.get("type")
                if kind == "error" and str(frame.get("id")).startswith("login"):
                    code = f"login: {frame.get('code')}"
                    self.ready_errors[code] = self.ready_errors.get(code, 0) + 1
                if kind == "ack" and str(frame.get("id")).startswith("nr"):
                    bar.resting = True
                if kind in ("ack", "error") and str(frame.get("id")).startswith("ready"):
                    if kind == "ack":
                        bar.ready = True
                    else:
                        code = str(frame.get("code"))
                        self.ready_errors[code] = self.ready_errors.get(code, 0) + 1
                    if kind == "error" and bar.tries < 5:  # the core was busy (core-timeout): again
                        asyncio.get_running_loop().call_later(
                            1.0, lambda b=bar: asyncio.ensure_future(b.go_ready()))
                if kind != "event":
                    continue
                if self.recording:
                    self.frames[bar.group] = self.frames.get(bar.group, 0) + 1
                await self._event(bar, frame, now)
        except websockets.ConnectionClosed as exc:
            # Who closed it and why: the hub's close frame, else ours or none (a reset).
            frame = exc.rcvd or exc.sent
            why = f"{frame.code} {frame.reason}".strip() if frame else "no close frame"
            self.closed_why[why] = self.closed_why.get(why, 0) + 1
        bar.closed = True

    async def _event(self, bar: Bar, frame: dict[str, Any], now: int) -> None:
        name, data = frame["name"], frame["data"]
        if name == "calls.live":  # a new core: calls it does not list are gone, as on a bar
            live = {c["call_id"] for c in data.get("calls") or []}
            for cid in [c for c in bar.open_calls if c not in live]:
                del bar.open_calls[cid]
            return
        call = data.get("call")
        if not call or not name.startswith("call."):
            return
        stamp = None
        cid = call["call_id"]
        mine = next((c for c in call.get("connections") or [] if c["agent_id"] == bar.me),
                    None)
        if cid in bar.open_calls:
            bar.open_calls[cid] = f"{name} ({mine['state'] if mine else 'no leg of mine'})"
            # Over for this bar: the call ended, or its leg did (an offer taken back).
            if name == "call.ended" or mine is None or mine["state"] in ("ended", "failed"):
                del bar.open_calls[cid]
        if name == "call.ended":
            stamp = call.get("ended_at")
        elif name in ("call.offered", "call.answered"):
            if mine is None:
                return
            stamp = mine["since"]
            if name == "call.offered" and mine["state"] == "alerting":
                bar.open_calls[cid] = name
                bar.n += 1
                await bar.ws.send(json.dumps({"type": "command", "id": f"c{bar.n}",
                                              "op": "call.answer",
                                              "call_id": call["call_id"]}))
        if stamp and self.recording:
            key = f"{bar.group}|{name}"
            self.latency.setdefault(key, []).append((now - ts_ns(stamp)) / 1e6)

    def record(self) -> dict[str, Any]:
        self.latency.clear()
        self.frames.clear()
        self.recording = True
        self.cpu0 = time.process_time()
        return {"ok": True}

    def stats(self) -> dict[str, Any]:
        self.recording = False
        groups: dict[str, list[float]] = {}
        by_name: dict[str, list[float]] = {}
        for key, vs in self.latency.items():
            group, name = key.split("|")
            groups.setdefault(group, []).extend(vs)
            by_name.setdefault(name, []).extend(vs)
        every = [v for vs in groups.values() for v in vs]
        return {
            "client_cpu": time.process_time() - self.cpu0,
            "timed": len(every), "p50": pct(every, 50), "p99": pct(every, 99),
            "max": max(every, default=float("nan")),
            "by_name": {n: [len(v), pct(v, 50), pct(v, 99)] for n, v in sorted(by_name.items())},
            "by_group": {g: [len(v), pct(v, 50), pct(v, 99)] for g, v in sorted(groups.items())},
            "frames": self.frames, **self.faults(),
        }

    def faults(self) -> dict[str, int]:
        return {"gaps": sum(b.gaps for b in self.bars),
                "groups": sorted({b.group for b in self.bars}),
                "closed": sum(1 for b in self.bars if b.closed),
                "closed_why": dict(self.closed_why),
                "bars": len(self.bars)}

    async def drain(self, seconds: float) -> dict[str, Any]:
        """Every bar goes not ready (again until the hub takes it: an agent on a call
        cannot); then every call a bar was offered must end within ``seconds``."""
        pending = {b for b in self.bars if not b.closed}
        deadline = time.monotonic() + seconds
        tries = 0
        while pending and time.monotonic() < deadline:
            tries += 1
            for b in list(pending):
                with contextlib.suppress(websockets.ConnectionClosed):
                    await b.ws.send(json.dumps({"type": "command", "id": f"nr{tries}",
                                                "op": "agent.not_ready", "reason": "break"}))
            await asyncio.sleep(2.0)
            # Not ready once the hub said so (a command refused, e.g. core-timeout in the
            # burst, is sent again) and no call rings or talks any more for it.
            pending = {b for b in pending if b.open_calls or not b.resting}
        while time.monotonic() < deadline and any(b.open_calls for b in self.bars):
            await asyncio.sleep(0.5)
        left = [f"{b.me} {cid}: last seen {last}" for b in self.bars
                for cid, last in b.open_calls.items()]
        return {"open_calls": len(left), "open_sample": left[:5], **self.faults()}

    async def close(self) -> None:
        await asyncio.gather(*(b.ws.close() for b in self.bars), return_exceptions=True)
        for t in self.tasks:
            t.cancel()


async def bars_main() -> None:
    bars = Bars()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2 ** 26)  # a line holds thousands of tokens
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        req = json.loads(line)
        op = req["op"]
        if op == "connect":
            out = await bars.connect(req["url"], req["tokens"], req["group"],
                                     ready=req.get("ready", True))
        elif op == "ready":
            out = await bars.go_ready()
        elif op == "record":
            out = bars.record()
        elif op == "stats":
            out = bars.stats()
        elif op == "drain":
            out = await bars.drain(req["seconds"])
        else:
            await bars.close()
            out = {"closed": True}
        print(json.dumps(out), flush=True)
        if op == "close":
            return


class BarsProc:
    """The driver's handle on the bars' process."""

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, str(HERE), "_bars", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, limit=2 ** 24,
            preexec_fn=lambda: pin(CLIENT_CPU))

    async def ask(self, **req: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps(req) + "\n").encode())
        await self.proc.stdin.drain()
        line = await self.proc.stdout.readline()
        if not line:
            raise SystemExit("the bars' process died (see its error above)")
        return dict(json.loads(line))

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ask(op="close"), 60)
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()


# ---------------------------------------------------------------- measuring


class Window:
    """CPU of some processes and the wall time over a measuring window."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = pids

    def __enter__(self) -> Window:
        self.t0 = time.perf_counter()
        self.cpu0 = {k: cpu_seconds(p) for k, p in self.pids.items()}
        return self

    def __exit__(self, *_: Any) -> None:
        self.wall = time.perf_counter() - self.t0
        self.cpu = {k: cpu_seconds(p) - self.cpu0[k] for k, p in self.pids.items()}

    def share(self, key: str) -> float:
        return self.cpu[key] / self.wall


class BusTap:
    """The call events as they cross NATS (this process subscribes to every agent's
    subject): the part of the latency spent before the node measured, in the core
    and on the bus."""

    def __init__(self, url: str, cluster: str) -> None:
        self.url, self.subject = url, f"{cluster}.ev.a.>"
        self.latency: list[float] = []
        self.recording = False

    async def start(self) -> None:
        import nats

        self.nc = await nats.connect(self.url)
        await self.nc.subscribe(self.subject, cb=self._on)

    async def _on(self, msg: Any) -> None:
        if not self.recording:
            return
        now = time.time_ns()
        frame = json.loads(msg.data)
        call = frame["data"].get("call")
        stamp = None
        if frame["name"] == "call.ended" and call:
            stamp = call.get("ended_at")
        elif frame["name"] in ("call.offered", "call.answered") and call:
            agent = msg.subject.rsplit(".", 1)[1]
            stamp = next((c["since"] for c in call["connections"]
                          if c["agent_id"] == agent), None)
        if stamp:
            self.latency.append((now - ts_ns(stamp)) / 1e6)

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.nc.close()


FAULTS: list[str] = []


def check(what: str, faults: dict[str, Any]) -> None:
    """Note (for the exit status) any bar that missed an event, and a window in which
    no bar of a node got any (the calls did not flow: nothing was measured)."""
    bad = {k: faults[k] for k in ("gaps", "closed", "closed_why", "open_calls", "open_sample",
                                  "not_ready") if faults.get(k)}
    if "frames" in faults:
        idle = sorted(g for g in faults["groups"] if not faults["frames"].get(g))
        if idle:
            bad["no events on"] = idle
    if bad:
        FAULTS.append(f"{what}: {bad}")
        print(f"  !! {what}: bars missed events: {bad}", flush=True)


def gc_window(before: dict[str, Any], after: dict[str, Any]) -> str:
    n = after["count"] - before["count"]
    over = after["over_10ms"] - before["over_10ms"]
    grew = [le for le, v in sorted(after.get("buckets", {}).items())
            if v - before.get("buckets", {}).get(le, 0.0) >= n and n]
    longest = f", all <= {grew[0] * 1000:g} ms" if grew else ""
    return f"{n:.0f}, {over:.0f} over 10 ms{longest}"


async def forget(args: argparse.Namespace, cluster: str | None) -> None:
    """Delete a run's streams and lease bucket (in memory on the NATS server: several
    runs' events would otherwise stay there, hundreds of MB), unless --keep."""
    if cluster is None or args.keep:
        return
    import nats

    nc = await nats.connect(args.nats)
    try:
        js = nc.jetstream()
        prefix = cluster.upper().replace("-", "_")
        for stream in (f"{prefix}_EVENTS", f"{prefix}_JOURNAL"):
            with contextlib.suppress(Exception):
                await js.delete_stream(stream)
        with contextlib.suppress(Exception):
            await js.delete_key_value(f"{cluster}_lease")
    finally:
        await nc.close()


async def core_stayed(core: Node, what: str) -> None:
    """The core must not move during a measure: a takeover is the failover part's
    subject; here it means the core's node fell behind its lease (see its log, --keep)."""
    if not (await core.status()).get("core"):
        FAULTS.append(f"{what}: the core moved to another node (see its log, --keep)")
        print(f"  !! {what}: the core moved to another node", flush=True)


async def measure(bars: BarsProc, seconds: float, pids: dict[str, int | None],
                  tap: BusTap | None = None) -> tuple[dict[str, Any], Window]:
    await bars.ask(op="record")
    if tap is not None:
        tap.latency.clear()
        tap.recording = True
    with Window(pids) as w:
        await asyncio.sleep(seconds)
    stats = await bars.ask(op="stats")
    if tap is not None:
        tap.recording = False
        stats["bus_p50"], stats["bus_p99"] = pct(tap.latency, 50), pct(tap.latency, 99)
    stats["client_cpu"] = w.cpu.get("bars", stats["client_cpu"])
    return stats, w


async def capacity(args: argparse.Namespace, workdir: Path, dbs: Databases, tokens: list[str]
                   ) -> None:
    n = max(args.sizes)
    print(f"\n== capacity: bars vs RSS and p99 latency, {args.rate:g} calls/s, "
          f"{args.window:g} s windows, sizes {args.sizes}", flush=True)
    for mode in args.modes:
        db = await dbs.copy()  # the hub's, or the cluster's nodes' (shared)
        cluster = f"bench{secrets.token_hex(3)}" if mode == "cluster" else None
        core = None
        if cluster is not None:
            core = Node(workdir, f"{mode}-core", agents=n, rate=args.rate, cluster=cluster,
                        args=args, cpu=CLIENT_CPU, database=db)
        node = Node(workdir, f"{mode}-node", agents=n, rate=args.rate, cluster=cluster,
                    args=args, cpu=NODE_CPU, database=db, profile=True)
        bars = BarsProc()
        tap = BusTap(args.nats, cluster) if cluster is not None else None
        try:
            if core is not None:
                await core.start()
                await core.until_core()
            if tap is not None:
                await tap.start()
            await node.start()
            await bars.start()
            await asyncio.sleep(2)
            base = rss_bytes(node.pid or 0)
            what = ("single-node hub (core and sockets), CPU 0" if core is None else
                    "cluster node (a follower; the core on another node, CPU 1)")
            print(f"-- {what}: RSS before any bar {base / 2**20:.0f} MB", flush=True)
            print("   bars   RSS MB  KiB/bar  connect s |  timed   p50 ms   p99 ms   max ms |"
                  " node CPU  core CPU  bars CPU  NATS CPU | load", flush=True)
            connected = 0
            for size in sorted(args.sizes):
                done = await bars.ask(op="connect", url=node.url,
                                      tokens=tokens[connected:size], group=mode)
                connected = size
                check(f"{mode}, {size} bars connected", done)
                if done["ready_errors"] or done["retries"]:
                    print(f"         connect retries {done['retries']}, agent.ready refused: "
                          f"{done['ready_errors']}", flush=True)
                await asyncio.sleep(3)  # the calls find the new agents
                rss = rss_bytes(node.pid or 0)
                watched = [("node", node), *([("core", core)] if core else [])]
                gc0 = {who: await hub.gc_pauses() for who, hub in watched}
                stats, w = await measure(bars, args.window, {
                    "node": node.pid, "core": core.pid if core else None,
                    "bars": bars.pid, "nats": nats_pid()}, tap)
                print(f"  {size:6d} {rss / 2**20:8.0f} {(rss - base) / size / 1024:8.1f} "
                      f"{done['seconds']:10.1f} | {stats['timed']:6d} {stats['p50']:8.2f} "
                      f"{stats['p99']:8.2f} {stats['max']:8.1f} | "
                      f"{w.share('node'):7.0%} {w.share('core'):9.0%} "
                      f"{w.share('bars'):9.0%} {w.share('nats'):9.0%} | {load()}", flush=True)
                for who, hub in watched:
                    print(f"         {who}'s GC pauses in the window: "
                          f"{gc_window(gc0[who], await hub.gc_pauses())}")
                if tap is not None:
                    print(f"         of which before the node (core and bus, seen on NATS): "
                          f"p50 {stats['bus_p50']:.2f} ms, p99 {stats['bus_p99']:.2f} ms")
                if size == max(args.sizes):
                    names = ", ".join(f"{k} p99 {v[2]:.2f} ms (n={v[0]})"
                                      for k, v in stats["by_name"].items())
                    print(f"         by event: {names}")
                    print(f"  targets at {size} bars: RSS {rss / GIB:.2f} GiB <= 1 GiB -> "
                          f"{'met' if rss <= GIB else 'NOT met'}; p99 {stats['p99']:.2f} ms "
                          f"<= 10 ms -> {'met' if stats['p99'] <= 10 else 'NOT met'}"
                          f"{'' if size >= 10000 else ' (not at 10,000 bars: indicative)'}",
                          flush=True)
                check(f"{mode} at {size} bars", stats)
                if core is not None:
                    await core_stayed(core, f"{mode} at {size} bars")
            if args.soak:
                # The replay buffers fill as calls go on (all of them at most
                # server.replay_total_bytes): the RSS a node keeps, not only after connecting.
                t_end = time.perf_counter() + args.soak
                peak = 0
                while time.perf_counter() < t_end:
                    await asyncio.sleep(min(10.0, args.soak))
                    peak = max(peak, rss_bytes(node.pid or 0))
                print(f"  after {args.soak:g} s more of calls at {connected} bars: RSS "
                      f"{rss_bytes(node.pid or 0) / 2**20:.0f} MB (highest seen {peak / 2**20:.0f}"
                      f" MB; 1 GiB target -> {'met' if peak <= GIB else 'NOT met'}"
                      f"{'' if connected >= 10000 else ', not at 10,000 bars'}); "
                      f"load {load()}", flush=True)
            check(f"{mode}, calls drained", await bars.ask(op="drain", seconds=30))
        finally:
            if tap is not None:
                await tap.stop()
            await bars.stop()
            await node.stop()
            if core is not None:
                await core.stop()
            await forget(args, cluster)


async def scale(args: argparse.Namespace, workdir: Path, dbs: Databases, tokens: list[str]
                ) -> None:
    n = args.scale_bars
    print(f"\n== scale: {n} bars on 1 follower, then on 4 (N/4 each); {args.rate:g} calls/s, "
          f"{args.window:g} s window; the core on its own node", flush=True)
    results: dict[int, dict[str, Any]] = {}
    for k in (1, 4):
        db = await dbs.copy()
        cluster = f"bench{secrets.token_hex(3)}"
        core = Node(workdir, f"s{k}-core", agents=n, rate=args.rate, cluster=cluster,
                    args=args, cpu=CLIENT_CPU, database=db)
        followers = [Node(workdir, f"s{k}-f{i}", agents=n, rate=args.rate, cluster=cluster,
                          args=args, cpu=NODE_CPU, database=db, profile=True)
                     for i in range(k)]
        # A follower with no bar: what a node pays whatever it carries (lease, NATS,
        # presence of every agent, timers) while the same calls flow.
        idle = Node(workdir, f"s{k}-idle", agents=n, rate=args.rate, cluster=cluster,
                    args=args, cpu=NODE_CPU, database=db)
        bars = BarsProc()
        try:
            await core.start()
            await core.until_core()
            await asyncio.gather(*(f.start() for f in [*followers, idle]))
            await bars.start()
            await asyncio.sleep(2)
            base = {f.node_id: rss_bytes(f.pid or 0) for f in followers}
            share = n // k
            for i, f in enumerate(followers):
                await bars.ask(op="connect", url=f.url, tokens=tokens[i * share:(i + 1) * share],
                               group=f.node_id, ready=False)
            await asyncio.sleep(3)
            # What the sockets cost, before any event fills a replay buffer (bounded per
            # node by server.replay_total_bytes: counted below as a fixed cost).
            rss = {f.node_id: rss_bytes(f.pid or 0) for f in followers}
            check(f"{k} follower(s), bars ready", await bars.ask(op="ready"))
            await asyncio.sleep(3)
            pids: dict[str, int | None] = {f.node_id: f.pid for f in followers}
            pids |= {"core": core.pid, "bars": bars.pid, "nats": nats_pid(), "idle": idle.pid}
            stats, w = await measure(bars, args.window, pids)
            await core_stayed(core, f"{k} follower(s)")
            check(f"{k} follower(s)", stats)
            check(f"{k} follower(s), calls drained", await bars.ask(op="drain", seconds=30))
            rows = []
            fixed = w.share("idle")
            for f in followers:
                frames = stats["frames"].get(f.node_id, 0)
                per_bar_rss = (rss[f.node_id] - base[f.node_id]) / share
                cpu = w.cpu[f.node_id]
                # CPU share per bar, over what a node with no bar pays.
                per_bar_cpu = max(cpu / w.wall - fixed, 1e-9) / share
                cap_cpu = (1.0 - fixed) / per_bar_cpu
                cap_rss = (GIB - base[f.node_id] - REPLAY) / per_bar_rss \
                    if per_bar_rss > 0 else float("inf")
                rows.append({"node": f.node_id, "bars": share, "rss": rss[f.node_id],
                             "base": base[f.node_id], "rss_per_bar": per_bar_rss,
                             "cpu": cpu, "cpu_per_bar_s": per_bar_cpu, "frames": frames,
                             "cpu_per_event_us": cpu / frames * 1e6 if frames else float("nan"),
                             "cap": min(cap_cpu, cap_rss),
                             "limit": "CPU" if cap_cpu < cap_rss else "RSS"})
            results[k] = {"rows": rows, "core_cpu": w.cpu["core"], "nats_cpu": w.cpu["nats"],
                          "wall": w.wall, "p99": stats["p99"], "bars_cpu": w.cpu["bars"]}
            print(f"-- {k} follower(s): load {load()}, a node with no bar {fixed:.1%} CPU, "
                  f"core CPU {w.share('core'):.0%}, "
                  f"NATS CPU {w.share('nats'):.0%}, bars' process CPU {w.share('bars'):.0%}, "
                  f"p99 {stats['p99']:.2f} ms (followers share CPU 0: indicative)", flush=True)
            for r in rows:
                print(f"   {r['node']:8s} {r['bars']:6d} bars  RSS {r['rss'] / 2**20:6.0f} MB "
                      f"({r['rss_per_bar'] / 1024:5.1f} KiB/bar over {r['base'] / 2**20:.0f} MB)"
                      f"  CPU {r['cpu'] / w.wall:5.1%} ({r['cpu_per_bar_s'] * 1e6:6.1f} "
                      f"us/s per bar over the no-bar node, {r['cpu_per_event_us']:6.1f} us "
                      f"per event, "
                      f"{r['frames']} events)  carries ~{r['cap']:,.0f} bars ({r['limit']})",
                      flush=True)
        finally:
            await bars.stop()
            for f in [*followers, idle]:
                await f.stop()
            await core.stop()
            await forget(args, cluster)
    one = results[1]["rows"][0]["cap"]
    four = sum(r["cap"] for r in results[4]["rows"])
    ratio = four / one
    print(f"bars 4 nodes carry / bars 1 node carries = {four:,.0f} / {one:,.0f} = "
          f"{ratio:.2f} (target >= 3.5 -> {'met' if ratio >= 3.5 else 'NOT met'})")
    c1, c4 = results[1]["core_cpu"], results[4]["core_cpu"]
    print(f"core's CPU in the window: {c1:.2f} s with 1 follower, {c4:.2f} s with 4 "
          f"({c4 / c1 if c1 else float('nan'):.2f}x); NATS {results[1]['nats_cpu']:.2f} s vs "
          f"{results[4]['nats_cpu']:.2f} s")


async def failover(args: argparse.Namespace, workdir: Path) -> None:
    print(f"\n== failover: {args.trials} trials, lease {args.lease:g} s", flush=True)
    cluster = f"bench{secrets.token_hex(3)}"
    nodes = [Node(workdir, f"fo-{n}", agents=1, rate=0, cluster=cluster, args=args, demo=True,
                  lease=args.lease) for n in ("a", "b")]
    times: list[float] = []
    try:
        await nodes[0].start()
        await nodes[0].until_core()
        await nodes[1].start()
        for trial in range(args.trials):
            core = next(iter([n for n in nodes if (await n.status()).get("core")]), None)
            if core is None:
                await asyncio.sleep(0.2)
                continue
            survivor = nodes[1] if core is nodes[0] else nodes[0]
            ws, seq = await survivor.alice()
            t0 = time.perf_counter()
            await core.kill()
            while True:  # the first event numbered after the snapshot: from the new core
                frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if frame.get("type") == "event" and frame["seq"] > seq:
                    break
            times.append(time.perf_counter() - t0)
            print(f"  trial {trial + 1}: first event from the new core after "
                  f"{times[-1]:.2f} s (load {load()})", flush=True)
            await ws.close()
            await core.start()  # back as a follower
    finally:
        for n in nodes:
            await n.stop()
        await forget(args, cluster)
    if times:
        p50, p99 = pct(times, 50), pct(times, 99)
        print(f"failover (core SIGKILLed -> first event of the new core), {len(times)} trials, "
              f"lease {args.lease:g} s: p50 {p50:.2f} s ({p50 / args.lease:.1f}x the lease), "
              f"p99 {p99:.2f} s ({p99 / args.lease:.1f}x); target: within 2 s of the lease's "
              f"expiry -> {'met' if p99 <= args.lease + 2 else 'NOT met'}")


async def run(args: argparse.Namespace) -> None:
    pin(CLIENT_CPU)
    parts = ["capacity", "scale", "failover"] if args.part == "all" else [args.part]
    workdir = Path(tempfile.mkdtemp(prefix="ctibridge-cluster-"))
    print(f"machine: {os.cpu_count()} CPUs, load {load()}; nodes measured on CPU {NODE_CPU}, "
          f"bars and the core's node on CPU {CLIENT_CPU}; workdir {workdir}", flush=True)
    t0 = time.perf_counter()
    dbs = Databases(args.pg)
    try:
        n = max([*(args.sizes if "capacity" in parts else []),
                 *([args.scale_bars] if "scale" in parts else []), 0])
        if n:
            tokens = await dbs.prepare(n)
            print(f"{n} users and sessions written in {time.perf_counter() - t0:.0f} s",
                  flush=True)
        if "capacity" in parts:
            await capacity(args, workdir, dbs, tokens)
        if "scale" in parts:
            await scale(args, workdir, dbs, tokens)
        if "failover" in parts:
            await failover(args, workdir)
    finally:
        if not args.keep:
            await dbs.drop_all()
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\ntook {time.perf_counter() - t0:.0f} s; load now {load()}")
    if FAULTS:
        print("FAILED: bars missed events:\n  " + "\n  ".join(FAULTS), file=sys.stderr)
        raise SystemExit(1)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_bars":
        asyncio.run(bars_main())
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--part", choices=["capacity", "scale", "failover", "all"], default="all")
    p.add_argument("--quick", action="store_true",
                   help="a smoke run: 100 and 250 bars, 20 calls/s, 5 s windows, 3 trials")
    p.add_argument("--sizes", default=None, help="bars connected at each step (capacity)")
    p.add_argument("--rate", type=float, default=None, help="calls per second")
    p.add_argument("--window", type=float, default=None, help="seconds measured per step")
    p.add_argument("--modes", default="single,cluster",
                   help="capacity of: single (one-node hub), cluster (a follower), or both")
    p.add_argument("--scale-bars", type=int, default=None, help="bars in the 1 vs 4 runs")
    p.add_argument("--trials", type=int, default=None)
    p.add_argument("--soak", type=float, default=None,
                   help="seconds of calls at the largest size before the RSS is read again")
    p.add_argument("--profile", metavar="DIR",
                   help="run the nodes measured under cProfile, stats into DIR/<node>.prof")
    p.add_argument("--keep", action="store_true", help="keep the nodes' files and logs")
    p.add_argument("--log-level", default="warning", help="the nodes' log level")
    p.add_argument("--lease", type=float, default=2.0,
                   help="cluster.lease_seconds in the failover trials (elsewhere: 3 s)")
    p.add_argument("--pg", default=os.environ.get(
        "CTIBRIDGE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server where the run may create (and drops) its databases")
    p.add_argument("--nats", default=os.environ.get("CTIBRIDGE_TEST_NATS",
                                                    "nats://127.0.0.1:4222"))
    args = p.parse_args()
    quick = args.quick
    args.sizes = [int(s) for s in (args.sizes or ("100,250" if quick else
                                                  "1000,2500,5000,10000")).split(",")]
    args.modes = [m for m in args.modes.split(",") if m in ("single", "cluster")]
    args.rate = args.rate or (20.0 if quick else 100.0)
    args.window = args.window or (5.0 if quick else 20.0)
    args.scale_bars = args.scale_bars or (200 if quick else 4000)
    args.trials = args.trials or (3 if quick else 20)
    args.soak = args.soak if args.soak is not None else (10.0 if quick else 180.0)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
