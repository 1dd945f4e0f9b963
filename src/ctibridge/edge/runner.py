"""``ctibridge edge``: the connectors of a site, and nothing else, on premises.

Each platform's events go, in order, into a JetStream stream of the local leaf
node's own domain: stored on the premises, they wait there through a WAN cut and
the cloud's mirror of the stream catches up when the link returns. Commands come
from the cloud's core by request/reply and are answered with the connector's result
or its error, code and message intact. A heartbeat says the edge is alive, what
each platform can do and how far its stream goes; a resync request makes the
connector emit a fresh PlatformResynced.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
from typing import Any

import nats
import nats.errors
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, ServiceUnavailableError

from ..clock import Clock, SystemClock
from ..cluster.codec import error_reply
from ..config import EdgeSettings
from ..model.agent import AgentStatus
from ..model.errors import BadRequest, CapabilityMissing, ConfigError, CtiError
from ..model.events import PlatformEvent
from ..redact import url as redact_url
from ..telephony.base import TelephonyConnector
from . import codec
from .subjects import MSG_ID, OPS, EdgeNames

log = structlog.get_logger("ctibridge.edge")


def nats_options(settings: EdgeSettings) -> dict[str, Any]:
    """nats.connect's arguments for the local leaf node."""
    import ssl

    async def on_error(exc: Exception) -> None:  # one line, not nats-py's traceback
        log.warning("edge.leaf_unreachable", nats=redact_url(settings.nats_url),
                    error=str(exc) or type(exc).__name__)

    # Retries for ever, the first connection too: the leaf node may start after us.
    opts: dict[str, Any] = {"max_reconnect_attempts": -1, "reconnect_time_wait": 0.5,
                            "connect_timeout": 5, "error_cb": on_error}
    if settings.user:
        opts["user"] = settings.user
    if settings.password is not None:
        opts["password"] = settings.password.get_secret_value()
    if settings.creds is not None:
        opts["user_credentials"] = str(settings.creds)
    if settings.nkey_seed is not None:
        opts["nkeys_seed"] = str(settings.nkey_seed)
    if settings.tls_ca is not None:
        opts["tls"] = ssl.create_default_context(cafile=str(settings.tls_ca))
    return opts


class Edge:
    def __init__(self, settings: EdgeSettings, connectors: dict[str, TelephonyConnector], *,
                 clock: Clock | None = None) -> None:
        self.settings = settings
        self.connectors = connectors
        self.clock = clock or SystemClock()
        self.names = EdgeNames(settings.cluster, settings.edge_id)
        self.nc: Client | None = None
        self.js: JetStreamContext | None = None
        self.published: dict[str, int] = dict.fromkeys(connectors, 0)
        self.last_seq: dict[str, int] = dict.fromkeys(connectors, 0)  # in each stream
        self.resyncs: dict[str, int] = dict.fromkeys(connectors, 0)  # asked by the cloud
        self._boot = f"{os.getpid()}-{secrets.token_hex(4)}"  # message ids of this run
        self._restarted = {name: asyncio.Event() for name in connectors}
        self._tasks: list[asyncio.Task[None]] = []
        self._running: set[asyncio.Task[None]] = set()
        self._stopping = False

    async def start(self) -> None:
        s = self.settings
        self.nc = await self._connect()
        self.js = self.nc.jetstream(domain=s.domain, timeout=5)
        for name in self.connectors:
            try:
                await self._ensure_stream(name)
            except (nats.errors.NoRespondersError, nats.errors.TimeoutError,
                    ServiceUnavailableError) as exc:
                raise ConfigError(
                    f"the NATS server at {redact_url(s.nats_url)} has no JetStream in domain "
                    f"{s.domain!r} ({type(exc).__name__}): start it with "
                    f"jetstream {{ domain: {s.domain} }}", code="config-invalid") from None
            await self.nc.subscribe(self.names.command(name), cb=self._command_cb(name))
            await self.nc.subscribe(self.names.resync(name), cb=self._resync_cb(name))
        for name, conn in self.connectors.items():
            self._tasks.append(asyncio.create_task(self._pump(name, conn), name=f"edge-{name}"))
            await conn.start()
        self._tasks.append(asyncio.create_task(self._heartbeats(), name="edge-heartbeat"))
        log.info("edge.started", edge=s.edge_id, domain=s.domain, nats=s.nats_url,
                 platforms=list(self.connectors))

    async def _connect(self) -> Client:
        """The leaf node, waited for as long as it takes, but refused credentials end the
        wait: retrying them for ever would look like a hang."""
        s = self.settings
        opts = nats_options(s)
        log_error = opts["error_cb"]
        nc = Client()
        connecting = True

        async def on_error(exc: Exception) -> None:
            # nats-py retries every failed first connection, a refusal too ("Authorization
            # Violation", an error of its own class only once connected); an exception
            # from this callback ends its connect().
            if connecting and "authorization" in str(exc).lower():
                raise ConfigError(
                    f"the NATS server at {redact_url(s.nats_url)} refused the edge's "
                    f"credentials ({str(exc).removeprefix('nats: ')}): check edge.user, "
                    "edge.password, edge.creds or edge.nkey_seed against its authorization "
                    "block",
                    code="config-invalid")
            await log_error(exc)

        opts["error_cb"] = on_error
        try:
            await nc.connect(s.nats_url, name=f"ctibridge-edge-{s.edge_id}", **opts)
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(nc.close(), 5)
            raise
        connecting = False
        return nc

    async def stop(self) -> None:
        self._stopping = True
        for conn in self.connectors.values():
            with contextlib.suppress(Exception):
                await conn.stop()
        for restarted in self._restarted.values():
            restarted.set()  # the pumps see their streams end and leave
        tasks = [*self._tasks, *self._running]
        for task in tasks:
            task.cancel()
        if tasks:
            # Bounded: a task that missed its cancellation must not keep the edge up.
            await asyncio.wait(tasks, timeout=5)
        if self.nc is not None:
            # Every event is stored already (each publish waited for its ack): nothing
            # to drain, and a drain can wait long on a subscription in use.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.nc.close(), 5)

    async def _ensure_stream(self, platform: str) -> None:
        assert self.js is not None
        s = self.settings
        config = StreamConfig(
            name=self.names.stream(platform), subjects=[self.names.events(platform)],
            max_age=s.buffer_seconds, max_bytes=s.buffer_bytes, discard=DiscardPolicy.OLD,
            storage=StorageType.MEMORY if s.storage == "memory" else StorageType.FILE)
        try:
            info = await self.js.add_stream(config)
        except BadRequestError:  # kept from an earlier run with other limits: ours win
            info = await self.js.update_stream(config)
        self.last_seq[platform] = info.state.last_seq

    # ------------------------------------------------------------ events out

    async def _pump(self, platform: str, conn: TelephonyConnector) -> None:
        while not self._stopping:
            async for event in conn.events():
                await self._publish(platform, event)
            # The stream ended: the connector was stopped (a fallback resync restarts it).
            await self._restarted[platform].wait()
            self._restarted[platform].clear()

    async def _publish(self, platform: str, event: PlatformEvent) -> None:
        """Into the leaf's JetStream, retried until stored: order is kept, nothing skipped."""
        assert self.js is not None
        self.published[platform] += 1
        headers = {MSG_ID: f"{self._boot}-{platform}-{self.published[platform]}"}
        data = codec.encode(event)
        delay = 0.2
        while True:
            try:
                ack = await self.js.publish(self.names.events(platform), data, headers=headers)
                self.last_seq[platform] = ack.seq
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the local leaf node is away: wait for it
                log.warning("edge.publish_failed", platform=platform, event=event.name,
                            error=str(exc) or type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _heartbeats(self) -> None:
        assert self.nc is not None
        while True:
            body = {"edge": self.settings.edge_id, "at": self.clock.now().isoformat(),
                    "platforms": {name: self._platform(name, conn)
                                  for name, conn in self.connectors.items()}}
            with contextlib.suppress(Exception):  # reconnecting: the next one goes
                await self.nc.publish(self.names.heartbeat, json.dumps(body).encode())
            await asyncio.sleep(self.settings.heartbeat_seconds)

    def _platform(self, name: str, conn: TelephonyConnector) -> dict[str, Any]:
        health = conn.health()
        return {"up": health.up, "detail": health.detail,
                "capabilities": sorted(c.value for c in conn.capabilities),
                "last_seq": self.last_seq[name]}

    # ------------------------------------------------------------ requests in

    def _command_cb(self, platform: str) -> Any:
        async def on_command(msg: Msg) -> None:
            # A command may wait on the platform: each in its own task.
            task = asyncio.create_task(self._command(platform, msg), name="edge-command")
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        return on_command

    async def _command(self, platform: str, msg: Msg) -> None:
        try:
            result = await self.execute(platform, json.loads(msg.data))
            body: dict[str, Any] = {"ok": result}
        except CtiError as exc:
            body = error_reply(exc)
        except Exception:
            log.exception("edge.command_failed", platform=platform)
            body = {"error": {"code": "internal-error", "kind": "PlatformError",
                              "message": "the edge failed on this command (logged there)"}}
        with contextlib.suppress(Exception):  # the asker may have given up
            await msg.respond(json.dumps(body, ensure_ascii=False).encode())

    async def execute(self, platform: str, request: Any) -> Any:
        """Run one command on a connector: ``{"op": name, "args": {...}}``."""
        if not isinstance(request, dict) or not isinstance(request.get("args"), dict):
            raise BadRequest("an edge command is {op, args}", code="bad-command")
        op, args = request.get("op"), dict(request["args"])
        if op not in OPS:
            raise BadRequest(f"unknown edge command {op!r}", code="bad-command")
        if not set(args) <= set(OPS[op]):
            raise BadRequest(f"{op}: unexpected arguments {sorted(set(args) - set(OPS[op]))}",
                             code="bad-command")
        conn = self.connectors[platform]
        method = getattr(conn, op, None)
        if method is None:  # deliver / monitor: optional protocols
            raise CapabilityMissing(f"the platform {platform!r} cannot {op.replace('_', ' ')}",
                                    capability=op, platform=platform)
        if op == "set_agent_state":
            args["status"] = AgentStatus(args["status"])
        if op == "make_call":
            return await conn.make_call(args["device"], args["number"],
                                        attached=args.get("attached"))
        return await method(**args)

    def _resync_cb(self, platform: str) -> Any:
        async def on_resync(msg: Msg) -> None:
            task = asyncio.create_task(self._resync(platform, msg), name="edge-resync")
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        return on_resync

    async def _resync(self, platform: str, msg: Msg) -> None:
        conn = self.connectors[platform]
        resync = getattr(conn, "resync", None)
        try:
            if resync is not None:
                await resync()
                how = "resync"
            else:  # no cheaper way: a reconnect, after which every connector resyncs
                await conn.stop()
                self._restarted[platform].set()
                await conn.start()
                how = "restart"
            self.resyncs[platform] += 1
            body: dict[str, Any] = {"ok": how}
            log.info("edge.resynced", platform=platform, how=how)
        except CtiError as exc:
            body = error_reply(exc)
        with contextlib.suppress(Exception):
            await msg.respond(json.dumps(body).encode())
