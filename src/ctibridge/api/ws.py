"""The agent WebSocket (docs/protocol/agent-websocket.md).

One :class:`Session` per socket: a receive loop that validates and runs
frames one at a time, and a sender task that drains the session's bounded
queue. Every refusal is an ``error`` frame with a stable code; the socket stays
open except for the handshake failures and the slow-consumer case.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import OrderedDict
from typing import Any
from urllib.parse import urlsplit

import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from .. import __version__
from ..core.notifier import SUPERVISORS, Subscriber
from ..core.permissions import Principal
from ..model.errors import CtiError

router = APIRouter()
log = structlog.get_logger("ctibridge.ws")

PROTOCOL = 1
CLOSE_NO_TICKET = 4001
CLOSE_BAD_TICKET = 4002
CLOSE_ORIGIN = 4003
CLOSE_NO_AGENT = 4004
CLOSE_SLOW = 4008
REMEMBERED_IDS = 256


class TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def origin_allowed(ws: WebSocket, allowed: list[str]) -> bool:
    origin = ws.headers.get("origin")
    if origin is None:
        return True  # not a browser: the ticket is the credential
    if "*" in allowed or origin in allowed:
        return True
    own = urlsplit(origin)
    host = ws.headers.get("host", "")
    return own.netloc == host and own.scheme in ("http", "https")


@router.websocket("/ws")
async def agent_socket(ws: WebSocket) -> None:
    svc = ws.app.state.services
    settings = svc.settings
    await ws.accept()
    if not origin_allowed(ws, settings.server.allowed_origins):
        await _refuse(ws, CLOSE_ORIGIN, "origin-not-allowed",
                      f"origin {ws.headers.get('origin')} is not allowed to connect")
        return
    ticket = ws.query_params.get("ticket")
    if not ticket:
        await _refuse(ws, CLOSE_NO_TICKET, "ticket-missing",
                      "open /ws?ticket=… with a ticket from POST /api/ws-ticket")
        return
    try:
        principal = svc.tickets.redeem(ticket)
    except CtiError as exc:
        await _refuse(ws, CLOSE_BAD_TICKET, exc.code, exc.message)
        return
    if principal.agent_id is not None and principal.agent_id not in svc.hub.agents:
        await _refuse(ws, CLOSE_NO_AGENT, "no-such-agent",
                      f"user {principal.username} is linked to agent {principal.agent_id}, "
                      "which is not configured")
        return
    if principal.agent_id is None and not principal.is_supervisor:
        await _refuse(ws, CLOSE_NO_AGENT, "not-an-agent",
                      f"user {principal.username} is neither an agent nor a supervisor")
        return
    session = Session(ws, principal, svc)
    unwatch = svc.sessions.watch(principal, ws)  # closed (4009) if the session ends
    svc.metrics.sockets.inc()
    try:
        await session.run()
    finally:
        unwatch()
        svc.metrics.sockets.dec()


async def _refuse(ws: WebSocket, code: int, error: str, message: str) -> None:
    with contextlib.suppress(Exception):
        await ws.send_text(json.dumps({"type": "error", "code": error, "message": message}))
        await ws.close(code, reason=error)


class Session:
    def __init__(self, ws: WebSocket, principal: Principal, svc: Any) -> None:
        self.ws = ws
        self.principal = principal
        self.svc = svc
        self.hub = svc.hub
        self.id = "s-" + uuid.uuid4().hex[:16]
        self.stream = principal.agent_id or SUPERVISORS
        self.sub: Subscriber | None = None
        self.last_sent = 0
        self.lock = asyncio.Lock()
        self.answered: OrderedDict[str, dict[str, Any]] = OrderedDict()
        server = svc.settings.server
        self.bucket = TokenBucket(server.rate_per_second, server.rate_burst)
        self.max_bytes = server.max_message_bytes
        self.log = log.bind(session=self.id, user=principal.username)

    async def run(self) -> None:
        notifier = self.hub.notifier
        await self._send({"type": "hello", "protocol": PROTOCOL,
                          "server": f"ctibridge/{__version__}", "session_id": self.id,
                          "user": self.principal.to_dict()})
        # Subscribe and take the snapshot with no await in between, so no
        # event falls between the two.
        self.sub = notifier.subscribe(self.stream)
        snapshot = self.snapshot()
        sender = asyncio.create_task(self._sender(), name=f"ws-send-{self.id}")
        self.log.info("ws.open")
        try:
            await self._send(snapshot)
            self.last_sent = max(self.last_sent, snapshot["seq"])
            await self._receive()
        except WebSocketDisconnect:
            pass
        finally:
            notifier.unsubscribe(self.sub)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender
            self.log.info("ws.closed")

    # ------------------------------------------------------------ outgoing

    async def _send(self, frame: dict[str, Any]) -> None:
        await self._send_text(json.dumps(frame, ensure_ascii=False, separators=(",", ":")))

    async def _send_text(self, text: str) -> None:
        async with self.lock:
            await self.ws.send_text(text)

    async def _sender(self) -> None:
        assert self.sub is not None
        queue = self.sub.queue
        try:
            while True:
                item = await queue.get()
                if item is None:  # overflowed: this socket cannot keep up
                    self.log.warning("ws.slow_consumer")
                    with contextlib.suppress(Exception):
                        await self.ws.close(CLOSE_SLOW, reason="slow-consumer")
                    return
                seq, frame = item
                if seq <= self.last_sent:
                    continue
                async with self.lock:
                    await self.ws.send_text(frame)
                    self.last_sent = seq
        except (WebSocketDisconnect, RuntimeError):
            return

    def snapshot(self) -> dict[str, Any]:
        hub = self.hub
        settings = self.svc.settings
        stream = hub.notifier.stream(self.stream)
        base: dict[str, Any] = {
            "type": "snapshot",
            "seq": stream.seq,
            "reason_codes": [r.model_dump() for r in settings.reason_codes],
            "dispositions": [d.model_dump() for d in settings.dispositions],
            "directory": hub.directory(),
            "wrap_up_seconds": settings.wrap_up_seconds,
            "platforms": {n: {"up": i.up, "detail": i.detail} for n, i in hub.platforms.items()},
        }
        agent_id = self.principal.agent_id
        if agent_id is not None:
            agent = hub.agents[agent_id]
            base.update(
                agent=agent.to_dict(),
                calls=[c.to_dict() for c in hub.calls_of(agent_id)],
                interactions=[i.to_dict() for i in hub.interactions.recent(agent_id)],
                capabilities=self.svc.commands.capabilities(agent),
                platform_capabilities=self.svc.commands.capabilities_by_platform(agent),
                screenpops=hub.screenpops.pops_for(agent_id) if hub.screenpops else [],
                # Finished calls whose log waits for this agent to pick the record.
                calllog_waiting=self.svc.calllog.waiting_of(agent_id)
                if self.svc.calllog else [],
                digital=[i.to_dict() for i in hub.omnichannel.digital_of(agent_id)]
                if hub.omnichannel else [],
            )
        else:
            base.update(
                agent=None,
                agents=[a.to_dict() for a in hub.agents.values()],
                calls=[c.to_dict() for c in hub.calls.live()],
                queues=self.svc.supervision.queues() if self.svc.supervision else [],
                # Every live digital interaction: queued, offered and active.
                interactions=[i.to_dict() for i in hub.omnichannel.live()]
                if hub.omnichannel else [],
                capabilities={},
                platform_capabilities={},
                screenpops=[],
            )
        return base

    # ------------------------------------------------------------ incoming

    async def _receive(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            text = message.get("text")
            if text is None:
                await self._error(None, "bad-message", "send JSON text frames, not binary")
                continue
            if len(text.encode()) > self.max_bytes:
                await self._error(None, "message-too-large",
                                  f"a message may be at most {self.max_bytes // 1024} KiB; "
                                  f"this one was {len(text.encode()) // 1024} KiB")
                continue
            if not self.bucket.take():
                await self._error(_peek_id(text), "rate-limited",
                                  "too many messages; slow down and retry")
                continue
            await self._handle(text)
            # Yield between frames so one client's burst never monopolizes the loop.
            await asyncio.sleep(0)

    async def _handle(self, text: str) -> None:
        try:
            frame = json.loads(text)
        except json.JSONDecodeError as exc:
            await self._error(None, "bad-json", f"the message is not valid JSON ({exc.msg})")
            return
        except RecursionError:  # hostile: "[[[[…" deeper than the parser recurses
            await self._error(None, "bad-json", "the message is nested too deeply to be read")
            return
        if "\\u" in text and _has_lone_surrogate(frame):  # only escapes can make one
            # "\ud800" is valid JSON but no character: echoed back, it could not be sent.
            await self._error(None, "bad-json", "the message holds a \\u escape that is "
                                                "not a character (a lone UTF-16 surrogate)")
            return
        if not isinstance(frame, dict):
            await self._error(None, "bad-message", "a message must be a JSON object")
            return
        kind = frame.get("type")
        fid = frame.get("id")
        if fid is not None and not isinstance(fid, str | int):
            await self._error(None, "bad-message", "'id' must be a string or a number")
            return
        if kind == "command":
            await self._command(frame, fid)
        elif kind == "ping":
            await self._send({"type": "pong", "id": fid})
        elif kind == "resume":
            await self._resume(frame, fid)
        else:
            await self._error(fid, "bad-message",
                              f"unknown message type {kind!r}; expected command, resume or ping")

    async def _command(self, frame: dict[str, Any], fid: str | int | None) -> None:
        op = frame.get("op")
        if fid is None:
            await self._error(None, "bad-message", "a command needs an 'id' to be answered by")
            return
        if not isinstance(op, str):
            await self._error(fid, "bad-message", "a command needs an 'op' string")
            return
        key = str(fid)
        if key in self.answered:  # a retry: same answer, nothing done twice
            await self._send(self.answered[key])
            return
        args = {k: v for k, v in frame.items() if k not in ("type", "id", "op")}
        started = time.perf_counter()
        try:
            result = await self.svc.commands.execute(self.principal, op, args)
            reply: dict[str, Any] = {"type": "ack", "id": fid, "result": result}
            outcome = "ok"
        except CtiError as exc:
            reply = {"type": "error", "id": fid, **exc.to_dict()}
            outcome = "error"
            self.svc.metrics.refused.labels(exc.code).inc()
            self.log.info("ws.command_refused", op=op, code=exc.code, error=exc.message)
        label = op if op in self.svc.commands.ops() else "unknown"
        self.svc.metrics.commands.labels(label, outcome).observe(time.perf_counter() - started)
        self.answered[key] = reply
        while len(self.answered) > REMEMBERED_IDS:
            self.answered.popitem(last=False)
        await self._send(reply)

    async def _resume(self, frame: dict[str, Any], fid: str | int | None) -> None:
        since = frame.get("since")
        if not isinstance(since, int) or isinstance(since, bool) or since < 0:
            await self._error(fid, "bad-message", "'since' must be a non-negative integer")
            return
        stream = self.hub.notifier.stream(self.stream)
        frames = stream.since(since)
        if frames is None:
            snap = self.snapshot()
            await self._send(snap)
            self.last_sent = max(self.last_sent, snap["seq"])
            return
        async with self.lock:
            limit = self.last_sent
            for seq, text in frames:
                if seq <= limit:
                    await self.ws.send_text(text)
            # Anything newer is in (or about to enter) the queue: the sender sends it.

    async def _error(self, fid: Any, code: str, message: str) -> None:
        self.svc.metrics.refused.labels(code).inc()
        if self.ws.application_state == WebSocketState.CONNECTED:
            await self._send({"type": "error", "id": fid, "code": code, "message": message})


def _peek_id(text: str) -> Any:
    try:
        frame = json.loads(text)
        return frame.get("id") if isinstance(frame, dict) else None
    except ValueError:
        return None


def _has_lone_surrogate(value: Any) -> bool:
    """Whether a parsed JSON value holds a string UTF-8 cannot encode."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
