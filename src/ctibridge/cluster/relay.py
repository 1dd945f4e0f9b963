"""A node's side of the bus: frames for the sockets it holds, requests to the core.

For each notifier stream (an agent, or the supervisors) that has a socket here the
relay holds one core NATS subscription to its subject and feeds a local notifier,
the one the node's sockets read: their ``seq``, replay buffer and slow-consumer
rules stay as in one process. When a stream opens here, what JetStream still keeps
of it is loaded first, so a bar can ``resume`` on any node. Frames from an owner
older than the newest seen (a fenced one) are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import nats.errors
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from nats.js.errors import NotFoundError

from ..core.notifier import Notifier
from ..core.permissions import Principal
from ..model.errors import PlatformError
from .codec import error_from, principal_to
from .subjects import FENCE_HEADER, SEQ_HEADER, Names

log = structlog.get_logger("ctibridge.cluster.relay")


class Relay:
    def __init__(self, nc: Client, js: JetStreamContext, notifier: Notifier, names: Names, *,
                 timeout: float = 5.0) -> None:
        self.nc = nc
        self.names = names
        self.js = js
        self.notifier = notifier
        self.timeout = timeout
        self.fence = 0  # the newest owner's token seen
        self.dropped_fenced = 0
        # Per stream, the token of the owner that numbered its last frame here.
        self._stream_fence: dict[str, int] = {}
        self.renumbered = 0
        self._subs: dict[str, Subscription] = {}
        self._users: dict[str, int] = {}
        self._opening: dict[str, asyncio.Future[None]] = {}
        self._presence: Subscription | None = None

    async def start(self) -> None:
        self._presence = await self.nc.subscribe(f"{self.names.presence}.>",
                                                cb=self._on_presence)

    async def stop(self) -> None:
        for sub in [*self._subs.values(), *([self._presence] if self._presence else [])]:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subs.clear()

    def _fenced(self, msg: Msg) -> bool:
        """Whether a live frame comes from an owner older than the newest seen."""
        fence = int((msg.headers or {}).get(FENCE_HEADER, "0"))
        if fence < self.fence:
            self.dropped_fenced += 1
            return True
        self.fence = fence
        return False

    # ------------------------------------------------------------ streams

    async def open(self, stream: str) -> None:
        """A socket for ``stream`` opens here: live frames from now, history first."""
        self._users[stream] = self._users.get(stream, 0) + 1
        pending = self._opening.get(stream)
        if pending is not None:  # another socket of the stream is opening it
            await asyncio.shield(pending)
            return
        if stream in self._subs:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._opening[stream] = done
        live: list[Msg] = []
        local = self.notifier.stream(stream)

        async def on_frame(msg: Msg) -> None:
            if stream in self._opening:
                live.append(msg)  # after the history, in order
                return
            self._push(local, msg)

        subject = self.names.stream_subject(stream)
        try:
            self._subs[stream] = await self.nc.subscribe(subject, cb=on_frame)
            await self._history(subject, local)
        finally:
            del self._opening[stream]
            for msg in live:
                self._push(local, msg)
            done.set_result(None)

    def close(self, stream: str) -> None:
        n = self._users.get(stream, 0) - 1
        if n > 0:
            self._users[stream] = n
            return
        self._users.pop(stream, None)
        sub = self._subs.pop(stream, None)
        if sub is not None:
            asyncio.get_running_loop().create_task(sub.unsubscribe())
        self.notifier.drop(stream)  # nobody here reads it: no buffer kept
        self._stream_fence.pop(stream, None)

    def _push(self, local: Any, msg: Msg, fenced: bool | None = None) -> None:
        if self._fenced(msg) if fenced is None else fenced:
            return
        headers = msg.headers or {}
        seq = int(headers.get(SEQ_HEADER, "0"))
        if seq <= 0:
            return
        fence = int(headers.get(FENCE_HEADER, "0"))
        last = self._stream_fence.get(local.name)
        if last is not None and fence > last and seq <= local.seq:
            # A new owner numbers from below what reached us from the one before it
            # (frames the deposed owner sent after the new one read the stream): the
            # bars here hold a seq the new numbering will reuse. They start again.
            log.warning("relay.renumbered", stream=local.name, seq=seq, had=local.seq,
                        token=fence, previous=last)
            self.renumbered += 1
            local.restart(seq - 1)
        self._stream_fence[local.name] = fence if last is None else max(last, fence)
        local.push_frame(seq, msg.data.decode())

    async def _history(self, subject: str, local: Any) -> None:
        """What JetStream keeps of ``subject``, oldest first, into the local stream."""
        try:
            last = await self.js.get_last_msg(self.names.stream, subject)
        except NotFoundError:
            return
        sub = await self.js.subscribe(subject, stream=self.names.stream, ordered_consumer=True,
                                      deliver_policy=DeliverPolicy.ALL)
        newest = 0  # in stream order: a frame after a newer owner's is a deposed one's
        try:
            while True:
                msg = await sub.next_msg(timeout=self.timeout)
                fence = int((msg.headers or {}).get(FENCE_HEADER, "0"))
                newest = max(newest, fence)
                self._push(local, msg, fenced=fence < newest)
                if msg.metadata.sequence.stream >= (last.seq or 0):
                    return
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _on_presence(self, msg: Msg) -> None:
        if not self._fenced(msg):
            self.notifier.presence(json.loads(msg.data))

    # ------------------------------------------------------------ requests to the core

    async def request(self, subject: str, body: dict[str, Any]) -> Any:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            reply = await self.nc.request(subject, data, timeout=self.timeout)
        except nats.errors.NoRespondersError:
            raise PlatformError("no node runs the hub's core right now (one is being "
                                "elected); retry in a few seconds", code="no-core") from None
        except nats.errors.TimeoutError:
            raise PlatformError(f"the node running the hub's core did not answer within "
                                f"{self.timeout:g} s; retry, and check its health",
                                code="core-timeout") from None
        except nats.errors.ConnectionClosedError:
            raise PlatformError("this node lost its link to the cluster bus",
                                code="bus-down") from None
        answer = json.loads(reply.data)
        if "error" in answer:
            raise error_from(answer)
        return answer["ok"]

    async def snapshot(self, principal: Principal) -> dict[str, Any]:
        return dict(await self.request(self.names.snapshot, principal_to(principal)))

    async def command(self, principal: Principal, op: str, args: dict[str, Any]
                      ) -> dict[str, Any]:
        return dict(await self.request(self.names.command,
                                       {"principal": principal_to(principal),
                                        "op": op, "args": args}))

    async def directory(self, args: dict[str, Any]) -> dict[str, Any]:
        return dict(await self.request(self.names.directory, args))


class RoutedCommands:
    """``Commands`` as a socket or REST handler sees it, executed by the core's node."""

    def __init__(self, local: Any, relay: Relay) -> None:
        self.local = local
        self.relay = relay

    def ops(self) -> list[str]:
        return list(self.local.ops())

    async def execute(self, principal: Principal, name: str, args: dict[str, Any]
                      ) -> dict[str, Any]:
        return await self.relay.command(principal, name, args)

    def __getattr__(self, name: str) -> Any:  # capabilities and the like: configuration
        return getattr(self.local, name)
