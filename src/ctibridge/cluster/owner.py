"""The node that runs the core: publishes every frame once per scope subject, and
answers the other nodes' snapshot, command and directory requests.

Frames are queued synchronously by the notifier (its sink) and published by one task
in order, each with its ``seq`` and the owner's fencing token in headers: JetStream
keeps them (bounded retention) for resume on any node, core subscribers get them live.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from typing import Any

import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from ..core.directory import PageRequest
from ..model.errors import CtiError, PlatformError
from .codec import error_reply, principal_from
from .subjects import FENCE_HEADER, SEQ_HEADER, Names

log = structlog.get_logger("ctibridge.cluster.owner")


class Owner:
    """Runs while this node holds the lease (``epoch``: its fencing token)."""

    def __init__(self, nc: Client, svc: Any, epoch: int, names: Names) -> None:
        self.nc = nc
        self.names = names
        self.svc = svc
        self.epoch = epoch
        self._queue: deque[tuple[str, bytes, dict[str, str]]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._subs: list[Subscription] = []
        self.published = 0
        self._running: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------ publishing

    def frame(self, stream: str, seq: int, frame: str) -> None:
        self._queue.append((self.names.stream_subject(stream), frame.encode(),
                            {SEQ_HEADER: str(seq), FENCE_HEADER: str(self.epoch)}))
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
                subject, data, headers = self._queue.popleft()
                await self.nc.publish(subject, data, headers=headers)
                self.published += 1

    # ------------------------------------------------------------ answering

    async def start(self) -> None:
        self._task = asyncio.create_task(self._publish_loop(), name="cluster-publish")
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
        if self._task is not None:
            # What is queued still goes out: the frames were numbered and kept here.
            while self._queue and self.nc.is_connected:
                subject, data, headers = self._queue.popleft()
                with contextlib.suppress(Exception):
                    await self.nc.publish(subject, data, headers=headers)
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

    async def _command(self, msg: Msg) -> None:
        # Commands may wait on a platform: each in its own task, answered when done.
        task = asyncio.create_task(self._run_command(msg), name="cluster-command")
        self._running.add(task)
        task.add_done_callback(self._running.discard)

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
        task = asyncio.create_task(self._run_http(msg), name="cluster-http")
        self._running.add(task)
        task.add_done_callback(self._running.discard)

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
