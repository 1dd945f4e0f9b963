"""The node that runs the core: publishes every frame once per scope subject, and
answers the other nodes' snapshot, command and directory requests.

Frames are queued synchronously by the notifier (its sink) and published by one task
in order, each with its ``seq`` and the owner's fencing token in headers: JetStream
keeps them (bounded retention) for resume on any node, core subscribers get them live.
Nothing goes out while the lease may have expired (``valid``): an owner whose event
loop was held past its lease would otherwise publish, after a newer owner started,
frames numbered before it, and the agents' ``seq`` would fork. The frames wait: the
next renewal either succeeds (nobody took the lease: they go out) or fails (fenced:
they are dropped with the core).

Requests from other nodes are worked on by a fixed pool of tasks: a burst of thousands
(every bar going not ready at once) waits in a queue instead of filling the event loop,
where the lease's renewal would wait behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import nats.errors
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from ..core.directory import PageRequest
from ..model.errors import CtiError, PlatformError
from ..model.interaction import Interaction
from ..store.interactions import to_journal
from .codec import error_reply, principal_from
from .subjects import FENCE_HEADER, SEQ_HEADER, Names, token

log = structlog.get_logger("ctibridge.cluster.owner")

HELD_POLL = 0.02  # how often held frames look whether the lease was renewed
RETRY_SECONDS = 0.1  # how often a frame NATS refused for want of a link is tried again


class Owner:
    """Runs while this node holds the lease (``epoch``: its fencing token)."""

    def __init__(self, nc: Client, svc: Any, epoch: int, names: Names, *, workers: int = 32,
                 valid: Callable[[], bool] = lambda: True) -> None:
        self.nc = nc
        self.names = names
        self.svc = svc
        self.epoch = epoch
        self.valid = valid  # whether our lease surely still holds (lease.Lease.valid)
        self._queue: deque[tuple[str, bytes, dict[str, str]]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._subs: list[Subscription] = []
        self.published = 0
        self.dropped = 0  # frames never sent: the lease was lost before they could go
        self.too_large = 0  # frames over the bus's max_payload, never sent
        self._work: asyncio.Queue[tuple[Callable[[Msg], Awaitable[None]], Msg]] = \
            asyncio.Queue()
        self._workers_n = workers
        self._workers: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------ publishing

    def frame(self, stream: str, seq: int, frame: str) -> None:
        self._queue.append((self.names.stream_subject(stream), frame.encode(),
                            {SEQ_HEADER: str(seq), FENCE_HEADER: str(self.epoch)}))
        self._wake.set()

    def journal(self, it: Interaction) -> None:
        """An interaction the hub is about to write: queued before the frames that
        announce it, so any bar that heard of it means the journal has it (a core
        killed before its store batch ran loses nothing the bars saw)."""
        data = json.dumps(to_journal(it), ensure_ascii=False, separators=(",", ":")).encode()
        self._queue.append((f"{self.names.journal}.{token(it.interaction_id)}", data,
                            {FENCE_HEADER: str(self.epoch)}))
        self._wake.set()

    def presence(self, entry: dict[str, Any]) -> None:
        data = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode()
        self._queue.append((self.names.presence_subject(entry["agent_id"]), data,
                            {FENCE_HEADER: str(self.epoch)}))
        self._wake.set()

    async def _publish_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                if not self.valid():
                    await asyncio.sleep(HELD_POLL)  # renewed, or fenced (stop drops them)
                    continue
                subject, data, headers = self._queue.popleft()
                try:
                    await self.nc.publish(subject, data, headers=headers)
                except nats.errors.MaxPayloadError:
                    # One frame the bus cannot carry must not stop the publisher: it
                    # is lost (its bars see the gap in seq and resume from a snapshot).
                    self.too_large += 1
                    log.error("cluster.frame_too_large", subject=subject, size=len(data),
                              max_payload=self.nc.max_payload)
                    continue
                except (nats.errors.OutboundBufferLimitError,
                        nats.errors.ConnectionClosedError) as exc:
                    # NATS away: kept in order and tried again; a lease not renewed
                    # meanwhile fences us and drops them.
                    self._queue.appendleft((subject, data, headers))
                    log.warning("cluster.publish_waiting", error=str(exc) or type(exc).__name__)
                    await asyncio.sleep(RETRY_SECONDS)
                    continue
                self.published += 1

    def _drop_queue(self) -> None:
        if self._queue:
            log.warning("cluster.frames_dropped_fenced", frames=len(self._queue),
                        token=self.epoch)
        self.dropped += len(self._queue)
        self._queue.clear()

    # ------------------------------------------------------------ answering

    async def start(self) -> None:
        self._task = asyncio.create_task(self._publish_loop(), name="cluster-publish")
        self._workers = [asyncio.create_task(self._worker(), name=f"cluster-work-{i}")
                         for i in range(self._workers_n)]
        n = self.names
        self._subs = [await self.nc.subscribe(n.snapshot, cb=self._snapshot),
                      await self.nc.subscribe(n.command, cb=self._command),
                      await self.nc.subscribe(n.directory, cb=self._directory)]
        if getattr(self.svc, "core_routes", None) is not None:  # REST of followers
            self._subs.append(await self.nc.subscribe(n.http, cb=self._http))

    async def stop(self) -> None:
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subs = []
        for w in self._workers:
            w.cancel()
        for w in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await w
        self._workers = []
        if self._task is not None:
            # What is queued still goes out while the lease holds (a handover): the
            # frames were numbered and kept here. A fenced owner's are dropped.
            while self._queue and self.nc.is_connected and self.valid():
                subject, data, headers = self._queue.popleft()
                with contextlib.suppress(Exception):
                    await self.nc.publish(subject, data, headers=headers)
            self._drop_queue()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _reply(self, msg: Msg, body: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):  # the asker may be gone (timed out, died)
            await msg.respond(json.dumps(body, ensure_ascii=False,
                                         separators=(",", ":")).encode())

    async def _snapshot(self, msg: Msg) -> None:
        from ..api.ws import snapshot_of  # the one definition of a snapshot

        try:
            principal = principal_from(json.loads(msg.data))
            body: dict[str, Any] = {"ok": snapshot_of(self.svc, principal)}
        except CtiError as exc:
            body = error_reply(exc)
        except Exception:
            log.exception("cluster.snapshot_failed")
            body = {"error": {"code": "internal-error", "message": "the core failed to build "
                              "the snapshot (logged)"}}
        await self._reply(msg, body)

    async def _worker(self) -> None:
        while True:
            handle, msg = await self._work.get()
            try:
                await handle(msg)
            except Exception:  # each handler answers its own errors; this is a bug
                log.exception("cluster.request_failed", subject=msg.subject)

    async def _command(self, msg: Msg) -> None:
        # Commands may wait on a platform: taken by the workers, answered when done.
        self._work.put_nowait((self._run_command, msg))

    async def _run_command(self, msg: Msg) -> None:
        try:
            req = json.loads(msg.data)
            principal = principal_from(req["principal"])
            result = await self.svc.local_commands.execute(principal, req["op"], req["args"])
            body: dict[str, Any] = {"ok": result}
        except CtiError as exc:
            body = error_reply(exc)
        except Exception:
            log.exception("cluster.command_failed")
            body = {"error": {"code": "internal-error",
                              "message": "the core failed on this command (logged)"}}
        await self._reply(msg, body)

    async def _http(self, msg: Msg) -> None:
        self._work.put_nowait((self._run_http, msg))

    async def _run_http(self, msg: Msg) -> None:
        try:
            body: dict[str, Any] = {"ok": await self.svc.core_routes.answer(json.loads(msg.data))}
            # A reply over the server's limit would never arrive: the asker would time out.
            if len(json.dumps(body)) > self.nc.max_payload - 1024:
                body = error_reply(PlatformError(
                    "the answer is too large to cross the cluster bus; ask for fewer rows "
                    "(limit)", code="answer-too-large"))
        except Exception:
            log.exception("cluster.http_failed")
            body = {"error": {"code": "internal-error",
                              "message": "the core failed on this request (logged)"}}
        await self._reply(msg, body)

    async def _directory(self, msg: Msg) -> None:
        try:
            body: dict[str, Any] = {
                "ok": self.svc.hub.directory.page(PageRequest.parse(json.loads(msg.data)))}
        except CtiError as exc:
            body = error_reply(exc)
        await self._reply(msg, body)
