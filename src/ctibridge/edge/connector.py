"""``type: edge``: a platform that runs at a site, seen by the cloud's core as if local.

The site's ``ctibridge edge`` (runner.py) stores each platform's events in a
JetStream stream of its NATS leaf node. Here, in the cloud, that stream is mirrored
into the cloud's JetStream (the mirror follows the leaf link and catches up by itself
after a WAN cut) and read through a durable consumer, in stream order: each event is
acknowledged once the hub has applied it (when the hub asks for the next), so a new
core after a failover resumes where the last one stopped. Commands are NATS requests
to the edge; while its heartbeats are missing the platform is down and commands fail
at once with ``edge-unreachable``. When the edge is heard again, what it buffered is
applied first, then the platform is reported up and asked for a fresh resync.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import nats
import nats.errors
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    ExternalStream,
    StorageType,
    StreamConfig,
    StreamSource,
)
from nats.js.errors import BadRequestError, NotFoundError
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from ..clock import Clock
from ..cluster.codec import error_from
from ..model.agent import AgentStatus
from ..model.errors import ConfigError, PlatformError
from ..model.events import PlatformEvent, PlatformStatus
from ..telephony.base import ALL_CAPABILITIES, Capability, Health
from . import codec
from .subjects import EdgeNames

log = structlog.get_logger("ctibridge.edge")

UNREACHABLE = "edge-unreachable"
_NAME = r"^[A-Za-z0-9_-]{1,32}$"
_BATCH = 64  # events fetched at a time; at most a few batches wait for the hub


class EdgeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    edge_id: str = Field(pattern=_NAME)
    domain: str = Field(pattern=_NAME)  # the leaf node's JetStream domain
    platform: str | None = Field(None, pattern=_NAME)  # its name at the edge (default: ours)
    nats_url: str = "nats://127.0.0.1:4222"  # the cloud's NATS (the cluster's)
    cluster: str = Field("ctib", pattern=_NAME)  # the edge's ``edge.cluster``
    user: str | None = None
    password: SecretStr | None = None
    creds: Path | None = None
    tls_ca: Path | None = None
    down_after_seconds: float = Field(3.0, gt=0, le=120)  # heartbeats missing this long
    request_timeout_seconds: float = Field(5.0, gt=0, le=60)
    # Until the edge's first heartbeat says what the platform can do.
    capabilities: list[Capability] | None = None
    storage: Literal["file", "memory"] = "file"  # of the cloud's mirror
    keep_seconds: float = Field(7 * 86400.0, ge=60)  # how long the mirror keeps events


def parse_options(name: str, options: dict[str, Any]) -> EdgeOptions:
    try:
        return EdgeOptions.model_validate(options)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in exc.errors())
        raise ConfigError(f"telephony {name!r} (edge): {problems}",
                          code="config-invalid") from None


Item = PlatformEvent | Msg | None


class EdgeConnector:
    """TelephonyConnector + Routable + Supervisable, by proxy to a site's edge."""

    def __init__(self, name: str, options: EdgeOptions, clock: Clock) -> None:
        self.name = name
        self.opts = options
        self.clock = clock
        self.platform = options.platform or name
        self.names = EdgeNames(options.cluster, options.edge_id)
        caps = options.capabilities
        self.capabilities: frozenset[Capability] = (
            frozenset(caps) if caps is not None else ALL_CAPABILITIES - {Capability.ROUTE})
        self.nc: Client | None = None
        self.applied = 0  # the last stream sequence the hub applied
        self.skipped = 0  # duplicates and unreadable events, logged
        self.reachable = False
        self._heard: float | None = None  # monotonic time of the last heartbeat
        self._heard_at: datetime | None = None
        self._since = clock.now()
        self._down_told = False
        self._edge_up, self._edge_detail = False, ""
        self._catching_up = False
        self._target: int | None = None  # the edge stream's last sequence once reached
        self._queue: asyncio.Queue[Item] = asyncio.Queue()
        self._room = asyncio.Event()  # set when the queue has room for another batch
        self._tasks: list[asyncio.Task[None]] = []
        self._spawned: set[asyncio.Task[Any]] = set()

    @classmethod
    def from_options(cls, name: str, options: dict[str, Any], clock: Clock) -> EdgeConnector:
        return cls(name, parse_options(name, options), clock)

    @staticmethod
    def validate_options(name: str, options: dict[str, Any]) -> None:
        parse_options(name, options)

    # ------------------------------------------------------------ life

    async def start(self) -> None:
        # Whatever an earlier run of this core left unread goes (and its end marker): the
        # durable consumer hands it out again from the last acknowledged event.
        while not self._queue.empty():
            self._queue.get_nowait()
        self._since = self.clock.now()
        self._started = time.monotonic()
        self._heard = self._heard_at = None  # a core starting anew hears the edge anew
        self._down_told = self._catching_up = False
        self._tasks = [asyncio.create_task(self._run(), name=f"edge-in-{self.name}"),
                       asyncio.create_task(self._watch(), name=f"edge-watch-{self.name}")]

    async def stop(self) -> None:
        for task in [*self._tasks, *self._spawned]:
            task.cancel()
        for task in [*self._tasks, *self._spawned]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.close()
            self.nc = None
        self.reachable = False
        self._queue.put_nowait(None)  # ends events()

    def health(self) -> Health:
        if not self.reachable:
            return Health(False, self._down_detail())
        return Health(self._edge_up, f"edge {self.opts.edge_id}: {self._edge_detail}")

    def _down_detail(self) -> str:
        if self._heard_at is None:
            return (f"edge {self.opts.edge_id} not heard from since "
                    f"{self._since:%Y-%m-%d %H:%M:%S %Z}".rstrip())
        return (f"edge {self.opts.edge_id} unreachable since "
                f"{self._heard_at:%Y-%m-%d %H:%M:%S %Z}".rstrip())

    async def _connect(self) -> Client:
        o = self.opts

        async def on_error(exc: Exception) -> None:  # one line, not nats-py's traceback
            log.warning("edge.nats_error", platform=self.name, error=str(exc) or
                        type(exc).__name__)

        opts: dict[str, Any] = {"max_reconnect_attempts": -1, "reconnect_time_wait": 0.5,
                                "connect_timeout": o.request_timeout_seconds,
                                "error_cb": on_error}
        if o.user:
            opts["user"] = o.user
        if o.password is not None:
            opts["password"] = o.password.get_secret_value()
        if o.creds is not None:
            opts["user_credentials"] = str(o.creds)
        if o.tls_ca is not None:
            opts["tls"] = ssl.create_default_context(cafile=str(o.tls_ca))
        return await nats.connect(o.nats_url, name=f"ctibridge-edge-in-{self.name}", **opts)

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                if self.nc is None:
                    self.nc = await self._connect()
                    await self.nc.subscribe(self.names.heartbeat, cb=self._on_heartbeat)
                await self._consume(self.nc)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the cloud's NATS away: retried, the watch says down
                log.warning("edge.link_failed", platform=self.name, error=str(exc) or
                            type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    # ------------------------------------------------------------ events in

    async def _consume(self, nc: Client) -> None:
        js = nc.jetstream(timeout=self.opts.request_timeout_seconds)
        mirror = self.names.mirror(self.platform)
        await self._ensure_mirror(js, mirror)
        await self._ensure_consumer(js, mirror)
        sub = await js.pull_subscribe_bind(self.names.consumer, mirror)
        while True:
            if self._queue.qsize() >= 2 * _BATCH:  # the hub is behind: no need for more
                self._room.clear()
                await self._room.wait()
            try:
                msgs = await sub.fetch(_BATCH, timeout=1.0)
            except TimeoutError:  # nothing new (nats' own TimeoutError is one too)
                continue
            for msg in msgs:
                self._queue.put_nowait(msg)

    async def _ensure_mirror(self, js: JetStreamContext, mirror: str) -> None:
        o = self.opts
        config = StreamConfig(
            name=mirror, max_age=o.keep_seconds,
            storage=StorageType.MEMORY if o.storage == "memory" else StorageType.FILE,
            mirror=StreamSource(name=self.names.stream(self.platform),
                                external=ExternalStream(api=f"$JS.{o.domain}.API")))
        with contextlib.suppress(BadRequestError):  # there already (another core made it)
            await js.add_stream(config)

    async def _ensure_consumer(self, js: JetStreamContext, mirror: str) -> None:
        """The core's durable cursor; reset to what was acknowledged if a previous core
        left events delivered but unacknowledged (they would come back out of order)."""
        name = self.names.consumer
        try:
            info = await js.consumer_info(mirror, name)
        except NotFoundError:
            info = None
        start = 0
        if info is not None:
            self.applied = max(self.applied, info.ack_floor.stream_seq or 0)
            if info.num_ack_pending:
                start = (info.ack_floor.stream_seq or 0) + 1
                await js.delete_consumer(mirror, name)
                info = None
        if info is None:
            await js.add_consumer(mirror, ConsumerConfig(
                durable_name=name, ack_policy=AckPolicy.EXPLICIT, ack_wait=600.0,
                max_ack_pending=4 * _BATCH,
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE if start else DeliverPolicy.ALL,
                opt_start_seq=start or None))
        log.info("edge.consuming", platform=self.name, edge=self.opts.edge_id, stream=mirror,
                 after=self.applied)

    async def events(self) -> AsyncIterator[PlatformEvent]:
        while True:
            item = await self._queue.get()
            if self._queue.qsize() < _BATCH:
                self._room.set()
            if item is None:
                return
            if isinstance(item, PlatformEvent):
                yield item
                continue
            seq = item.metadata.sequence.stream
            if seq <= self.applied:  # delivered again (an ack lost with a core): applied once
                self.skipped += 1
                with contextlib.suppress(Exception):
                    await item.ack()
                continue
            try:
                event = codec.decode(item.data)
            except codec.BadEvent as exc:
                self.skipped += 1
                log.error("edge.bad_event", platform=self.name, edge=self.opts.edge_id,
                          seq=seq, error=str(exc), data=item.data[:200].decode(errors="replace"))
                event = None
            if isinstance(event, PlatformStatus) and (not self.reachable or self._catching_up):
                # The platform's link as it was at the site some time ago: the hub is told
                # where it stands now once the backlog is applied (_caught_up).
                log.info("edge.past_status", platform=self.name, up=event.up,
                         detail=event.detail, at=event.at.isoformat())
                event = None
            if event is not None:
                yield event  # the hub applies it before asking for the next
            self.applied = seq
            with contextlib.suppress(Exception):  # lost: delivered again, skipped above
                await item.ack()
            self._caught_up()

    # ------------------------------------------------------------ is the edge there

    async def _on_heartbeat(self, msg: Msg) -> None:
        try:
            body = json.loads(msg.data)
            mine = body["platforms"][self.platform]
            caps = frozenset(Capability(c) for c in mine["capabilities"]
                             if c in Capability.__members__.values())
            up, detail, seq = bool(mine["up"]), str(mine["detail"]), int(mine["last_seq"])
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("edge.bad_heartbeat", platform=self.name, error=str(exc))
            return
        self._heard, self._heard_at = time.monotonic(), self.clock.now()
        self.capabilities = caps
        self._edge_up, self._edge_detail = up, detail
        if not self.reachable:
            self.reachable = True
            self._catching_up = True
            self._target = None
            log.info("edge.reachable", platform=self.name, edge=self.opts.edge_id,
                     backlog=max(0, seq - self.applied))
            self._spawn(self._learn_target())

    async def _learn_target(self) -> None:
        """How far the edge's stream goes now, asked across the link: heartbeats held up
        on a stalled link arrive late and tell of an older end."""
        assert self.nc is not None
        js = self.nc.jetstream(domain=self.opts.domain,
                               timeout=self.opts.request_timeout_seconds)
        while self._catching_up and self._target is None:
            try:
                info = await js.stream_info(self.names.stream(self.platform))
                self._target = info.state.last_seq
                log.info("edge.backlog", platform=self.name, edge=self.opts.edge_id,
                         applied=self.applied, until=self._target)
            except NotFoundError:  # the edge has not made it yet: nothing to wait for
                self._target = 0
            except Exception as exc:
                log.info("edge.stream_info_failed", platform=self.name, error=str(exc) or
                         type(exc).__name__)
                await asyncio.sleep(0.5)
        self._caught_up()

    def _caught_up(self) -> None:
        """Once what the edge buffered is applied: the platform's status, then a resync."""
        if not self._catching_up or self._target is None or self.applied < self._target:
            return
        self._catching_up = False
        self._down_told = False
        log.info("edge.caught_up", platform=self.name, edge=self.opts.edge_id, seq=self.applied)
        self._queue.put_nowait(PlatformStatus(
            at=self.clock.now(), up=self._edge_up,
            detail=f"edge {self.opts.edge_id}: {self._edge_detail}"))
        self._spawn(self._ask_resync())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)

    async def _ask_resync(self) -> None:
        try:
            await self._request(self.names.resync(self.platform), {})
        except PlatformError as exc:  # the next reconnection asks again
            log.warning("edge.resync_failed", platform=self.name, code=exc.code,
                        error=exc.message)

    async def _watch(self) -> None:
        every = min(0.5, self.opts.down_after_seconds / 3)
        while True:
            due = time.monotonic() + every
            await asyncio.sleep(every)
            now = time.monotonic()
            if now - due > every:
                # This process was stalled, not the edge: heartbeats may be waiting unread.
                continue
            last = self._heard if self._heard is not None else self._started
            if now - last < self.opts.down_after_seconds:
                continue
            if self.reachable:
                self.reachable = False
                self._catching_up = False
            if not self._down_told:
                self._down_told = True
                detail = self._down_detail()
                log.warning("edge.unreachable", platform=self.name, edge=self.opts.edge_id,
                            detail=detail)
                self._queue.put_nowait(PlatformStatus(at=self.clock.now(), up=False,
                                                      detail=detail))

    # ------------------------------------------------------------ commands

    async def _request(self, subject: str, body: dict[str, Any]) -> Any:
        if not self.reachable or self.nc is None:
            raise PlatformError(self._down_detail(), code=UNREACHABLE, platform=self.name)
        timeout = self.opts.request_timeout_seconds
        try:
            reply = await self.nc.request(subject, json.dumps(body).encode(), timeout=timeout)
        except nats.errors.NoRespondersError:
            raise PlatformError(f"edge {self.opts.edge_id} is not reachable (no answer on "
                                "the link)", code=UNREACHABLE, platform=self.name) from None
        except nats.errors.TimeoutError:
            raise PlatformError(f"edge {self.opts.edge_id} did not answer within {timeout:g} s",
                                code="edge-timeout", platform=self.name) from None
        except (nats.errors.ConnectionClosedError, nats.errors.ConnectionReconnectingError):
            raise PlatformError("the link to the cloud's NATS is down", code=UNREACHABLE,
                                platform=self.name) from None
        answer = json.loads(reply.data)
        if "error" in answer:
            raise error_from(answer)
        return answer.get("ok")

    async def _command(self, op: str, **args: Any) -> Any:
        return await self._request(self.names.command(self.platform), {"op": op, "args": args})

    async def make_call(self, device: str, number: str, *,
                        attached: dict[str, str] | None = None) -> str:
        return str(await self._command("make_call", device=device, number=number,
                                       attached=attached))

    async def answer(self, ref: str, device: str) -> None:
        await self._command("answer", ref=ref, device=device)

    async def hangup(self, ref: str, device: str) -> None:
        await self._command("hangup", ref=ref, device=device)

    async def hold(self, ref: str, device: str) -> None:
        await self._command("hold", ref=ref, device=device)

    async def retrieve(self, ref: str, device: str) -> None:
        await self._command("retrieve", ref=ref, device=device)

    async def blind_transfer(self, ref: str, device: str, target: str) -> None:
        await self._command("blind_transfer", ref=ref, device=device, target=target)

    async def consult(self, ref: str, device: str, target: str) -> str:
        return str(await self._command("consult", ref=ref, device=device, target=target))

    async def complete_transfer(self, ref: str, consult_ref: str, device: str) -> None:
        await self._command("complete_transfer", ref=ref, consult_ref=consult_ref, device=device)

    async def cancel_consult(self, ref: str, consult_ref: str, device: str) -> None:
        await self._command("cancel_consult", ref=ref, consult_ref=consult_ref, device=device)

    async def conference(self, ref: str, consult_ref: str, device: str) -> None:
        await self._command("conference", ref=ref, consult_ref=consult_ref, device=device)

    async def dtmf(self, ref: str, device: str, digits: str) -> None:
        await self._command("dtmf", ref=ref, device=device, digits=digits)

    async def mute(self, ref: str, device: str, on: bool) -> None:
        await self._command("mute", ref=ref, device=device, on=on)

    async def set_agent_state(self, device: str, status: AgentStatus,
                              reason: str | None = None) -> None:
        await self._command("set_agent_state", device=device, status=str(status), reason=reason)

    async def deliver(self, ref: str, device: str) -> None:
        await self._command("deliver", ref=ref, device=device)

    async def monitor(self, ref: str, target: str, device: str, mode: str) -> None:
        await self._command("monitor", ref=ref, target=target, device=device, mode=mode)
