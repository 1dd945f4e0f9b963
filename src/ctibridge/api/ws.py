"""The agent WebSocket (docs/protocol/agent-websocket.md).

One :class:`Session` per socket: a receive loop that validates and runs
frames one at a time, and a sender task that drains the session's bounded
queue. Every refusal is an ``error`` frame with a stable code; the socket stays
open except for the handshake failures, a message over the size limit, a
client over its rate limit past the grace, and the slow-consumer case
(frames.py reads frames, wslimits.py holds the limits).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
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
from ..core.directory import PageRequest, parse_watch
from ..core.notifier import SUPERVISORS, Subscriber
from ..core.permissions import Principal
from ..model.errors import CtiError
from .frames import Refusal, encode, id_key, read_frame
from .sessions import client_address
from .wslimits import (
    CLOSE_GRACE_SECONDS,
    CLOSE_POLICY,
    CLOSE_RESYNC,
    CLOSE_SLOW,
    CLOSE_TOO_BIG,
    CLOSE_TOO_MANY,
    RateGuard,
    SocketCounter,
    Verdict,
    capped,
    hang_up,
)

router = APIRouter()
log = structlog.get_logger("ctibridge.ws")

PROTOCOL = 1
CLOSE_NO_TICKET = 4001
CLOSE_BAD_TICKET = 4002
CLOSE_ORIGIN = 4003
CLOSE_NO_AGENT = 4004
REMEMBERED_IDS = 256
# ...and at most this much of their text: an agent.* answer carries the agent, and 256
# of them kept as dicts grew a bar's cost by up to ~1 MB over a day (10,000 bars: GBs).
REMEMBERED_CHARS = 16 * 1024
DIRECTORY_OPS = frozenset({"directory.get", "directory.watch", "directory.unwatch"})


class SlowConsumer(Exception):
    """A send did not complete in time: the client does not read."""


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
        try:
            principal = svc.tickets.redeem(ticket)
        except CtiError as exc:
            if svc.cluster is None or exc.code != "ticket-invalid":
                raise
            principal = await svc.cluster.redeem_elsewhere(ticket)  # issued by another node
        principal = dataclasses.replace(principal, client_ip=client_address(ws))
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
    counter = SocketCounter.of(ws.app, settings.server.limits.ws_per_user)
    if not counter.take(principal.username):
        await _refuse(ws, CLOSE_TOO_MANY, "too-many-sockets",
                      f"user {principal.username} already has {counter.per_user} sockets "
                      "open; close a tab or a device first")
        return
    session = Session(ws, principal, svc)
    unwatch = svc.sessions.watch(principal, ws)  # closed (4009) if the session ends
    svc.metrics.sockets.inc()
    try:
        await session.run()
    except SlowConsumer:  # could not even take the hello
        await hang_up(ws, CLOSE_SLOW, "slow-consumer", timeout=1.0)
    except Exception:  # a bug, never the client's doing: logged, the socket reset
        session.log.exception("ws.session_failed")
        await hang_up(ws, 1011, "internal-error", timeout=1.0)
    finally:
        counter.give_back(principal.username)
        unwatch()
        svc.metrics.sockets.dec()


async def _refuse(ws: WebSocket, code: int, error: str, message: str) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(
            ws.send_text(json.dumps({"type": "error", "code": error, "message": message})), 5.0)
    await hang_up(ws, code, error, timeout=5.0)


class Answers:
    """The last answers given to commands, by id, as sent: a retry of an id gets the
    same answer and nothing is done twice. Bounded in count and in characters."""

    def __init__(self, count: int = REMEMBERED_IDS, chars: int = REMEMBERED_CHARS) -> None:
        self.count, self.max_chars = count, chars
        self.chars = 0
        self._texts: OrderedDict[tuple[str, str | int], str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._texts)

    def get(self, key: tuple[str, str | int]) -> str | None:
        return self._texts.get(key)

    def keep(self, key: tuple[str, str | int], text: str) -> None:
        old = self._texts.pop(key, None)
        if old is not None:
            self.chars -= len(old)
        self._texts[key] = text
        self.chars += len(text)
        while len(self._texts) > self.count or (self.chars > self.max_chars
                                                and len(self._texts) > 1):
            self.chars -= len(self._texts.popitem(last=False)[1])


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
        self.answered = Answers()
        server = svc.settings.server
        limits = server.limits
        self.limits = limits
        self.rate = RateGuard(server.rate_per_second, server.rate_burst,
                              limits.ws_rate_grace_seconds)
        self.max_bytes = server.max_message_bytes
        self.send_timeout = limits.ws_send_timeout_seconds
        self.log = log.bind(session=self.id, user=principal.username)

    async def run(self) -> None:
        notifier = self.svc.delivery
        cluster = self.svc.cluster
        await self._send({"type": "hello", "protocol": PROTOCOL,
                          "server": f"ctibridge/{__version__}", "session_id": self.id,
                          "user": self.principal.to_dict()})
        tasks: list[asyncio.Task[None]] = []
        try:
            if cluster is not None:
                # The stream's frames reach this node before the core is asked for the
                # snapshot: whatever follows the snapshot's seq is in the queue.
                await cluster.relay.open(self.stream)
            # Subscribe and take the snapshot with no await in between (one process),
            # so no event falls between the two.
            self.sub = notifier.subscribe(self.stream)
            # Encoded at once and only the text kept: nothing of it stays with the session.
            snap_seq, snap_text = await self._snapshot_text()
            self.log.info("ws.open")
            try:
                await self._send_text(snap_text)  # before any event: the sender starts after
            except SlowConsumer:
                await self._cut(CLOSE_SLOW, "slow-consumer")
                return
            del snap_text
            self.last_sent = max(self.last_sent, snap_seq)
            tasks = [asyncio.create_task(self._sender(), name=f"ws-send-{self.id}"),
                     asyncio.create_task(self._receive_or_cut(), name=f"ws-recv-{self.id}")]
            # Whichever ends first ends the session: the client left or broke a limit
            # (receiver), or the socket cannot keep up (sender).
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except WebSocketDisconnect:
            pass
        except CtiError as exc:  # the cluster's core could not give the snapshot
            await self._send({"type": "error", "id": None, **exc.to_dict()})
            await hang_up(self.ws, 1013, exc.code, timeout=1.0)
        finally:
            if self.sub is not None:
                notifier.unsubscribe(self.sub)
            if cluster is not None:
                cluster.relay.close(self.stream)
            for task in tasks:
                task.cancel()
            for task in tasks:
                # RuntimeError: Starlette's answer to a send after the other task closed.
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect,
                                         RuntimeError):
                    await task
            self.log.info("ws.closed")

    async def _receive_or_cut(self) -> None:
        try:
            await self._receive()
        except SlowConsumer:
            await self._cut(CLOSE_SLOW, "slow-consumer")

    # ------------------------------------------------------------ outgoing

    async def _send(self, frame: dict[str, Any]) -> None:
        await self._send_text(encode(frame))

    async def _send_text(self, text: str) -> None:
        """Send one frame, or raise SlowConsumer if it cannot go within the timeout
        (the lock included: a send stuck behind another is just as late)."""
        try:
            async with asyncio.timeout(self.send_timeout):
                async with self.lock:
                    await self.ws.send_text(text)
        except TimeoutError:
            raise SlowConsumer from None

    async def _cut(self, code: int, reason: str, *, read: bool = True) -> None:
        """Close the socket for breaking a limit; reset it if the close cannot be sent."""
        self.log.warning("ws.cut", reason=reason, code=code, waits=self.rate.waits)
        self.svc.metrics.refused.labels(reason).inc()
        await hang_up(self.ws, code, reason, timeout=min(self.send_timeout, 2.0),
                      grace=1.0 if not read else CLOSE_GRACE_SECONDS, read=read)

    async def _sender(self) -> None:
        assert self.sub is not None
        sub = self.sub
        try:
            while True:
                item = await sub.queue.get()
                if item is None:
                    if sub.resync:  # renumbered by a new core: reconnect, new snapshot
                        await self._cut(CLOSE_RESYNC, "resync")
                        return
                    raise SlowConsumer  # overflowed: this socket cannot keep up
                seq, frame = item
                sub.taken(frame)
                if seq is not None and seq <= self.last_sent:
                    continue
                async with asyncio.timeout(self.send_timeout):
                    async with self.lock:
                        await self.ws.send_text(frame)
                        if seq is not None:
                            self.last_sent = seq
        except (SlowConsumer, TimeoutError):
            await self._cut(CLOSE_SLOW, "slow-consumer")
        except (WebSocketDisconnect, RuntimeError):
            return

    async def _snapshot_text(self) -> tuple[int, str]:
        if self.svc.cluster is not None:
            snap = await self.svc.cluster.relay.snapshot(self.principal)
        else:
            snap = self.snapshot()
        return snap["seq"], encode(snap)

    def snapshot(self) -> dict[str, Any]:
        return snapshot_of(self.svc, self.principal)

    # ------------------------------------------------------------ incoming

    async def _receive(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            # Yield between frames so one client's burst never monopolizes the loop
            # (the server may have queued many frames from one read).
            await asyncio.sleep(0)
            verdict = self.rate.admit()
            while verdict is not Verdict.ADMIT:
                if verdict is Verdict.CUT:
                    # Its backlog is not read: it gets the close frame and 1 s to leave.
                    await self._cut(CLOSE_POLICY, "rate-limited", read=False)
                    return
                if verdict is Verdict.WARN:
                    await self._error(None, "rate-limited",
                                      f"too many messages (at most {self.rate.rate:g}/s): the "
                                      "hub now reads yours more slowly; slow down, or the "
                                      f"socket is closed after {self.rate.grace:g} s over "
                                      "the limit")
                # Read nothing until a token is back: the flood waits in the client's
                # TCP buffers, not here.
                await asyncio.sleep(self.rate.wait_time())
                verdict = self.rate.admit()
            text = message.get("text")
            if text is None:
                await self._error(None, "bad-message", "send JSON text frames, not binary")
                continue
            # Characters are never more than bytes: only measure bytes when it could matter.
            if len(text) > self.max_bytes or (
                    len(text) * 4 > self.max_bytes and len(text.encode()) > self.max_bytes):
                # Only under a server run with a larger ws_max_size (wsserver.server_options
                # makes the protocol itself refuse it with 1009, unread).
                await self._error(None, "message-too-large",
                                  f"a message may be at most {self.max_bytes // 1024} KiB")
                await self._cut(CLOSE_TOO_BIG, "message-too-large")
                return
            try:
                await self._handle(text)
            except (SlowConsumer, WebSocketDisconnect, asyncio.CancelledError):
                raise
            except Exception:  # a bug, not the client's doing: say so, keep the socket
                if self.ws.application_state != WebSocketState.CONNECTED:
                    return  # the sender closed the socket under us: nothing failed
                self.log.exception("ws.frame_failed", frame=text[:200])
                await self._error(None, "internal-error",
                                  "the hub failed on this message (logged); it did nothing")

    async def _handle(self, text: str) -> None:
        read = read_frame(text)
        if isinstance(read, Refusal):
            await self._error(read.id, read.code, read.message)
            return
        frame, fid = read
        kind = frame.get("type")
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
        if op in DIRECTORY_OPS:  # reads and this socket's subscriptions: nothing to remember
            await self._directory(op, frame, fid)
            return
        key = id_key(fid)
        again = self.answered.get(key)
        if again is not None:  # a retry: same answer, nothing done twice
            await self._send_text(again)
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
        except Exception:  # a bug: answered (not remembered, a retry may succeed)
            self.log.exception("ws.command_failed", op=op[:64])
            await self._error(fid, "internal-error",
                              f"the hub failed on {op[:64]!r} (logged); retry or report it")
            return
        label = op if op in self.svc.commands.ops() else "unknown"
        self.svc.metrics.commands.labels(label, outcome).observe(time.perf_counter() - started)
        text = encode(reply)
        self.answered.keep(key, text)
        await self._send_text(text)

    async def _directory(self, op: str, frame: dict[str, Any], fid: str | int) -> None:
        """``directory.get`` (a page), ``directory.watch`` / ``directory.unwatch``
        (presence frames for this socket): docs/protocol/agent-websocket.md."""
        assert self.sub is not None
        try:
            if op == "directory.get":
                req = PageRequest.parse(frame)
                if self.svc.cluster is not None:  # the core's node has the states
                    result = await self.svc.cluster.relay.directory(
                        {k: v for k, v in frame.items() if k not in ("type", "id", "op")})
                else:
                    result = self.hub.directory.page(req)
            elif op == "directory.watch":
                ids = parse_watch(frame)
                self.svc.delivery.watch(self.sub, ids)
                result = {"watching": "all" if ids is None else len(ids)}
            else:
                self.svc.delivery.unwatch(self.sub)
                result = {"watching": 0}
        except CtiError as exc:
            self.svc.metrics.refused.labels(exc.code).inc()
            await self._send({"type": "error", "id": fid, **exc.to_dict()})
            return
        await self._send({"type": "ack", "id": fid, "result": result})

    async def _resume(self, frame: dict[str, Any], fid: str | int | None) -> None:
        since = frame.get("since")
        if not isinstance(since, int) or isinstance(since, bool) or since < 0:
            await self._error(fid, "bad-message", "'since' must be a non-negative integer")
            return
        stream = self.svc.delivery.stream(self.stream)
        frames = stream.since(since)
        if frames is None:
            snap_seq, snap_text = await self._snapshot_text()
            await self._send_text(snap_text)
            self.last_sent = max(self.last_sent, snap_seq)
            return
        try:
            async with asyncio.timeout(self.send_timeout):
                async with self.lock:
                    limit = self.last_sent
                    for seq, text in frames:
                        if seq <= limit:
                            await self.ws.send_text(text)
                    # Anything newer is in (or about to enter) the queue: the sender sends it.
        except TimeoutError:
            raise SlowConsumer from None

    async def _error(self, fid: Any, code: str, message: str) -> None:
        self.svc.metrics.refused.labels(code).inc()
        if self.ws.application_state == WebSocketState.CONNECTED:
            await self._send({"type": "error", "id": fid, "code": code, "message": message})


def snapshot_of(svc: Any, principal: Principal) -> dict[str, Any]:
    """What a socket gets first: everything its bar shows, and the last ``seq`` in it
    (built where the hub's core runs: on another node, asked for over the cluster bus)."""
    hub = svc.hub
    settings = svc.settings
    limits = settings.server.limits
    stream = hub.notifier.stream(principal.agent_id or SUPERVISORS)
    base: dict[str, Any] = {
        "type": "snapshot",
        "seq": stream.seq,
        "reason_codes": [r.model_dump() for r in settings.reason_codes],
        "dispositions": [d.model_dump() for d in settings.dispositions],
        "call_data_labels": settings.call_data_labels.to_dict(),
        "wrap_up_seconds": settings.wrap_up_seconds,
        # A bar that sees it change knows the hub restarted (and says so).
        "hub_started_at": hub.started_at.isoformat(),
        "platforms": {n: {"up": i.up, "detail": i.detail, "label": hub.platform_label(n)}
                      for n, i in hub.platforms.items()},
    }
    agent_id = principal.agent_id
    if agent_id is not None:
        agent = hub.agents[agent_id]
        recent, _ = capped(hub.interactions.recent(agent_id), limits.snapshot_interactions)
        base.update(
            agent=agent.to_dict(),
            calls=[c.to_dict() for c in hub.calls_of(agent_id)],
            interactions=[i.to_dict() for i in recent],
            capabilities=svc.commands.capabilities(agent),
            platform_capabilities=svc.commands.capabilities_by_platform(agent),
            screenpops=hub.screenpops.pops_for(agent_id) if hub.screenpops else [],
            # Finished calls whose log waits for this agent to pick the record.
            calllog_waiting=svc.calllog.waiting_of(agent_id)
            if svc.calllog else [],
            digital=[i.to_dict() for i in hub.omnichannel.digital_of(agent_id)]
            if hub.omnichannel else [],
        )
    else:
        # Live calls and interactions, the oldest first, capped: the snapshot is
        # built and encoded on the event loop at every connect.
        calls, n_calls = capped(hub.calls.live(), limits.snapshot_calls)
        live, n_live = capped(hub.omnichannel.live() if hub.omnichannel else [],
                              limits.snapshot_interactions)
        if n_calls > len(calls) or n_live > len(live):
            base["truncated"] = {"calls": n_calls, "interactions": n_live}
        base.update(
            agent=None,
            agents=[a.to_dict() for a in hub.agents.values()],
            # Supervisors see every supervisor on a call, silent listeners too.
            calls=[{**c.to_dict(), "monitors": c.monitor_list()} for c in calls],
            # Where this supervisor may listen, whisper and barge from (call.monitor).
            supervision=svc.commands.supervision_capabilities(principal),
            queues=svc.supervision.queues() if svc.supervision else [],
            # Live digital interactions: queued, offered and active.
            interactions=[i.to_dict() for i in live],
            capabilities={},
            platform_capabilities={},
            screenpops=[],
        )
    return base
