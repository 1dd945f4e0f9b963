"""The HTTP server: uvicorn with the connection limits it lacks (slowloris, floods).

uvicorn's HTTP protocols start no timer before the first response: a client
that connects and trickles its request head a byte at a time (slowloris) holds
its connection for ever, and llhttp buffers a head of any size. So the hub
runs uvicorn with :class:`GuardedHttpProtocol`, which adds:

* a deadline for the request head (``header_timeout_seconds``, answered 408)
  and a cap on its size (``header_bytes``, answered 431);
* a deadline for the body, once the head is in (``body_timeout_seconds``; the
  ASGI layer answers 408 first when the route reads it, see api/limits.py);
* a cap of open connections per client address (``connections_per_ip``) and
  in all (``max_connections``), HTTP and WebSocket alike, answered 503 and
  closed before anything is read.

and :class:`GuardedServer` accepts connections itself (:class:`Acceptor`), within a
budget (``accept_per_second``), and refuses those over a cap right after ``accept()``,
before any protocol object exists: a connection flood costs the event loop an
``accept`` and a ``close`` per connection, and no more than the budget's worth a second.

``serve``/``demo`` (cli.py) and the tests start the hub through
:func:`build_server`, so tests see the limits production has.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl as ssl_module
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import structlog
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..config import LimitSettings, Settings
from .wsserver import server_options

log = structlog.get_logger("ctibridge.server")

ACCEPT_BATCH = 64  # connections accepted per loop turn: turns stay short under a flood


class ConnectionGuard:
    """Who holds which connections; shared by every connection of one server."""

    def __init__(self, limits: LimitSettings) -> None:
        self.limits = limits
        self.by_ip: dict[str, set[asyncio.BaseTransport]] = {}
        self.open: set[asyncio.BaseTransport] = set()
        self.refused: Counter[str] = Counter()  # by reason, for tests and logs
        self.paused = 0  # times the acceptor stopped for its budget
        self._logged: dict[str, float] = {}  # reason -> when last logged
        self._pruned: dict[str, float] = {}  # address -> when its closed sockets were dropped

    def note(self, reason: str, client: str, now: float) -> None:
        """Count a refusal; log it at most once a second per reason (a flood of refused
        connections must not become a flood of log lines)."""
        self.refused[reason] += 1
        if now - self._logged.get(reason, -1e9) >= 1.0:
            self._logged[reason] = now
            log.warning("http.connection_refused", reason=reason, client=client,
                        refused_so_far=self.refused[reason])

    def refusal(self, ip: str) -> str | None:
        """Why a new connection from ``ip`` would be refused now, or None."""
        if len(self.open) >= self.limits.max_connections:
            self._prune_all()
            if len(self.open) >= self.limits.max_connections:
                return "server-busy"
        per_ip = self.limits.connections_per_ip
        held = self.by_ip.get(ip)
        if per_ip and held is not None and len(held) >= per_ip:
            # A WebSocket's transport moved to another protocol, which does not tell us it
            # closed: forget the closed ones before judging, at most once a second per
            # address (a flood of refused connections must not rescan the set each time).
            now = time.monotonic()
            if now - self._pruned.get(ip, -1e9) >= 1.0:
                self._pruned[ip] = now
                held.difference_update([t for t in held if t.is_closing()])
            if len(held) >= per_ip:
                return "too-many-connections"
        return None

    def admit(self, transport: asyncio.BaseTransport, ip: str) -> str | None:
        """None if the connection may stay (it is counted from now on), else why not."""
        refusal = self.refusal(ip)
        if refusal is None:
            self.by_ip.setdefault(ip, set()).add(transport)
            self.open.add(transport)
        return refusal

    def message(self, refusal: str, ip: str) -> bytes:
        """The 503 a refused connection is sent."""
        text = (f"{ip} already holds {self.limits.connections_per_ip} connections to this "
                "hub; close some" if refusal == "too-many-connections"
                else "the hub holds as many connections as it may; try again shortly")
        return _raw_response(503, "Service Unavailable", refusal, text, "retry-after: 5\r\n")

    def release(self, transport: asyncio.BaseTransport, ip: str) -> None:
        self.open.discard(transport)
        held = self.by_ip.get(ip)
        if held is not None:
            held.discard(transport)
            if not held:
                del self.by_ip[ip]
                self._pruned.pop(ip, None)

    def count(self, ip: str) -> int:
        held = self.by_ip.get(ip, set())
        return sum(1 for t in held if not t.is_closing())

    def _prune_all(self) -> None:
        closed = [t for t in self.open if t.is_closing()]
        self.open.difference_update(closed)
        for held in self.by_ip.values():
            held.difference_update(closed)
        for ip in [ip for ip, held in self.by_ip.items() if not held]:
            del self.by_ip[ip]


def _raw_response(status: int, reason: str, code: str, message: str,
                  extra: str = "") -> bytes:
    body = json.dumps({"code": code, "message": message}, ensure_ascii=True).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n{extra}\r\n")
    return head.encode("latin-1") + body


# After an early answer (413, 408…) the hub reads and drops what the client still sends for
# a moment before closing: closing a socket with unread data sends a reset, and a client
# still uploading would lose the answer that tells it why.
LINGER_SECONDS = 2.0
LINGER_BYTES = 1024 * 1024


class LingeringTransport:
    """The connection's transport as uvicorn sees it, with a lingering close()."""

    def __init__(self, real: asyncio.Transport, on_close: Any) -> None:
        self.real = real
        self._on_close = on_close
        self.closing = False

    def close(self) -> None:
        if not self.closing and not self.real.is_closing():
            self.closing = True
            self._on_close()

    def is_closing(self) -> bool:
        return self.closing or self.real.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with head/body deadlines and connection caps."""

    guard: ConnectionGuard  # set on the subclass made by guarded_protocol()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ip = "?"
        self._admitted = False
        self._in_head = True
        self._head_bytes = 0
        self._deadline: asyncio.TimerHandle | None = None

    # -- connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._real = transport
        self._lingered = 0
        super().connection_made(LingeringTransport(transport, self._linger))  # type: ignore[arg-type]
        self._ip = self.client[0] if self.client else "?"
        refusal = self.guard.admit(transport, self._ip)
        if refusal is not None:  # the Acceptor let it in a moment ago: a race, rare
            self.guard.note(refusal, self._ip, self.loop.time())
            transport.write(self.guard.message(refusal, self._ip))
            self.transport.close()  # lingering: the client reads the 503, not a reset
            return
        self._admitted = True
        self._arm(self.guard.limits.header_timeout_seconds, self._head_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._admitted:
            self.guard.release(self._real, self._ip)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._admitted or self.transport.is_closing():
            self._lingered += len(data)  # what a client sends after our last answer: dropped
            if self._lingered > LINGER_BYTES:
                self._real.close()
            return
        in_head = self._in_head
        super().data_received(data)
        if in_head and self._in_head:  # this chunk did not finish the head
            # llhttp keeps a head of any size: counted here, chunk by chunk (a read is at
            # most 64 KiB, so the parser never holds much more than the limit).
            self._head_bytes += len(data)
            if self._head_bytes > self.guard.limits.header_bytes:
                self.guard.refused["head-too-large"] += 1
                self._refuse(431, "Request Header Fields Too Large", "head-too-large",
                             f"the request line and headers exceed "
                             f"{self.guard.limits.header_bytes} bytes")

    def handle_websocket_upgrade(self) -> None:
        self._disarm()  # the WebSocket protocol has its own pings and limits
        # ...and closes its connection itself: it gets the real transport, not the lingering one.
        self.transport = self._real
        super().handle_websocket_upgrade()

    # -- parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        if self._deadline is None:  # the next request of a kept-alive connection
            self._arm(self.guard.limits.header_timeout_seconds, self._head_timeout)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._disarm()
        super().on_headers_complete()
        if not self.transport.is_closing() and not (
                self.parser.should_upgrade() and self._should_upgrade()):
            # Backstop: the ASGI layer answers a late body with 408 when the route reads it;
            # this closes the connection even when nothing reads it.
            self._arm(self.guard.limits.body_timeout_seconds + 2.0, self._body_timeout)

    def on_message_complete(self) -> None:
        self._disarm()
        self._head_bytes = 0
        super().on_message_complete()

    def _linger(self) -> None:
        """Send what is buffered and a FIN, drop what still comes, close a moment later."""
        self._disarm()
        real = self._real
        if not real.can_write_eof():
            real.close()
            return
        try:
            real.write_eof()
        except OSError:  # the peer is gone already (reset): nothing to linger for
            real.close()
            return
        with contextlib.suppress(Exception):
            real.resume_reading()  # flow control may have paused it: keep draining
        self.loop.call_later(LINGER_SECONDS, real.close)

    # -- timers

    def _arm(self, seconds: float, callback: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _head_timeout(self) -> None:
        self._deadline = None
        self.guard.refused["head-timeout"] += 1
        log.info("http.head_timeout", client=self._ip)
        self._refuse(408, "Request Timeout", "head-timeout",
                     f"the request head did not arrive within "
                     f"{self.guard.limits.header_timeout_seconds:g} s")

    def _body_timeout(self) -> None:
        self._deadline = None
        self.guard.refused["body-timeout"] += 1
        log.info("http.body_timeout", client=self._ip)
        if self.cycle is not None and not self.cycle.response_started:
            self._refuse(408, "Request Timeout", "body-timeout",
                         f"the body did not arrive within "
                         f"{self.guard.limits.body_timeout_seconds:g} s")
        elif not self.transport.is_closing():
            self.transport.close()

    def _refuse(self, status: int, reason: str, code: str, message: str) -> None:
        if self.transport.is_closing():
            return
        if self.cycle is None or not self.cycle.response_started:
            self.transport.write(_raw_response(status, reason, code, message))
        if self.cycle is not None:
            self.cycle.response_complete = True  # nothing more is written on this connection
        self.transport.close()


def guarded_protocol(limits: LimitSettings) -> type[GuardedHttpProtocol]:
    """A protocol class bound to one server's :class:`ConnectionGuard`."""
    return type("GuardedHttpProtocol", (GuardedHttpProtocol,),
                {"guard": ConnectionGuard(limits)})


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (uvicorn's own binding, made here to serve several)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6 and host in ("::", ""):
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def build_server(app: Any, settings: Settings, **overrides: Any) -> uvicorn.Server:
    """uvicorn, configured with the hub's limits (``overrides`` go to uvicorn.Config)."""
    limits = settings.server.limits
    options: dict[str, Any] = {
        "host": settings.server.host, "port": settings.server.port,
        "log_config": None, "lifespan": "on", "access_log": False,
        "http": guarded_protocol(limits),
        "timeout_keep_alive": limits.keep_alive_seconds,
        "h11_max_incomplete_event_size": limits.header_bytes,
        # The agent socket: its message size limit (1009 unread) and connection reset.
        **server_options(settings),
        "server_header": False,  # no version for scanners to match
        **overrides,
    }
    return GuardedServer(uvicorn.Config(app, **options), limits)


class _Budget:
    """Accepts allowed: ``rate`` a second, up to ``burst`` saved."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.last = burst, time.monotonic()

    def take(self) -> float:
        """0 if an accept may go now (and it is counted), else seconds to wait."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class Acceptor:
    """Accepts the connections of one listening socket for uvicorn's protocol.

    asyncio's and uvloop's own servers accept whatever arrives, as fast as it arrives,
    and build the full HTTP protocol for each before anyone can refuse it. Here a
    connection over a cap is answered and closed right after ``accept()``, and when the
    budget is spent the socket is not read for a moment: new connections wait in the
    kernel's queue (then TCP's retries), and the sockets already open keep the loop.
    The same interface as ``asyncio.Server`` for uvicorn's shutdown (``close``,
    ``wait_closed``)."""

    def __init__(self, sock: socket.socket, factory: Callable[[], asyncio.Protocol],
                 guard: ConnectionGuard, ssl: ssl_module.SSLContext | None = None) -> None:
        self.sock, self.factory, self.guard, self.ssl = sock, factory, guard, ssl
        rate = guard.limits.accept_per_second
        self.budget = _Budget(rate, max(ACCEPT_BATCH, 2 * rate))
        self.loop = asyncio.get_running_loop()
        self.reading = False
        self.closed = False
        self._resume: asyncio.TimerHandle | None = None
        self.tasks: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        if not self.closed and not self.reading:
            self.loop.add_reader(self.sock.fileno(), self._accept)
            self.reading = True

    def _pause(self, seconds: float) -> None:
        if self.reading:
            self.loop.remove_reader(self.sock.fileno())
            self.reading = False
        self._resume = self.loop.call_later(seconds, self.start)

    def _accept(self) -> None:
        for _ in range(ACCEPT_BATCH):
            wait = self.budget.take()
            if wait:
                self.guard.paused += 1
                self._pause(max(wait, 0.005))
                return
            try:
                conn, addr = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                self.budget.tokens += 1.0  # not used
                return
            except OSError as exc:  # out of file descriptors, mostly: breathe, then retry
                log.error("http.accept_failed", error=str(exc))
                self._pause(0.5)
                return
            conn.setblocking(False)
            ip = str(addr[0]) if isinstance(addr, tuple) and addr else "?"
            refusal = self.guard.refusal(ip)
            if refusal is not None:
                self.guard.note(refusal, ip, self.loop.time())
                self._refuse(conn, refusal, ip)
                continue
            task = self.loop.create_task(self._serve(conn))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def _refuse(self, conn: socket.socket, refusal: str, ip: str) -> None:
        """Answer 503 and close, with no protocol, transport or timer."""
        if self.ssl is None:
            # What the client sent already is read first: closing a socket with unread
            # data sends a reset, which can destroy the 503 before the client reads it.
            with contextlib.suppress(OSError):
                conn.recv(65536)
            with contextlib.suppress(OSError):
                conn.send(self.guard.message(refusal, ip))
        conn.close()

    async def _serve(self, conn: socket.socket) -> None:
        try:
            await self.loop.connect_accepted_socket(self.factory, conn, ssl=self.ssl)
        except (OSError, ssl_module.SSLError) as exc:  # reset during the handshake
            log.info("http.connection_failed", error=str(exc))
            conn.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._resume is not None:
            self._resume.cancel()
        if self.reading:
            self.loop.remove_reader(self.sock.fileno())
            self.reading = False

    async def wait_closed(self) -> None:
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)


class GuardedServer(uvicorn.Server):
    """uvicorn's server, accepting through :class:`Acceptor` (uvicorn's ``startup``
    with its ``loop.create_server`` replaced; the rest is uvicorn's)."""

    def __init__(self, config: uvicorn.Config, limits: LimitSettings) -> None:
        super().__init__(config)
        self.limits = limits
        self._own_sockets: list[socket.socket] = []

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await self.lifespan.startup()
        if self.lifespan.should_exit:
            sys.exit(3)  # uvicorn's STARTUP_FAILURE
        config = self.config

        def create_protocol() -> asyncio.Protocol:
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state,
                app_state=self.lifespan.state)

        if sockets is None:
            try:
                sockets = self._own_sockets = [bind(config.host, config.port)]
            except OSError as exc:
                log.error("http.cannot_listen", host=config.host, port=config.port,
                          error=str(exc))
                await self.lifespan.shutdown()
                sys.exit(3)
        guard = guard_of(self)
        acceptors = [Acceptor(sock, create_protocol, guard, config.ssl) for sock in sockets]
        for acceptor in acceptors:
            acceptor.start()
        self.servers = acceptors  # type: ignore[assignment]  # uvicorn's shutdown closes them
        self.started = True

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets)
        for sock in self._own_sockets:
            sock.close()
        self._own_sockets = []


def listeners(settings: Settings) -> list[socket.socket]:
    """The main listening socket, and the ops one when ``server.ops.port`` is set."""
    server = settings.server
    socks = [bind(server.host, server.port)]
    if server.ops.port is not None:
        try:
            socks.append(bind(server.ops.host, server.ops.port))
        except OSError:
            socks[0].close()
            raise
    return socks


def guard_of(server: uvicorn.Server) -> ConnectionGuard:
    """The connection guard of a server made by :func:`build_server` (tests, metrics)."""
    protocol = server.config.http
    assert isinstance(protocol, type) and issubclass(protocol, GuardedHttpProtocol)
    return protocol.guard
