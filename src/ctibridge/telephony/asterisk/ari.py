"""ARI (Asterisk REST Interface): hold, answer and conference through a Stasis app.

AMI has no hold, answer or conference action; ARI has them, but only for
channels inside a Stasis application, and an application exists only while
a client holds its WebSocket open (``/ari/events?app=<app>``). So:

* :class:`AriApp` keeps that WebSocket open (reconnecting, back-off capped at
  5 s) and follows which channels are in the application (``StasisStart`` /
  ``StasisEnd``). Channels that arrive there unasked are sent back to the
  dialplan (``continue``) so that nothing is left silent.
* Queue calls are not in Stasis (they run ``Queue()``). When an agent first
  needs hold or a conference, the connector moves the customer's and the
  agent's channels into the application with an AMI ``Redirect`` to the
  dialplan context ``options.ari.context`` (``exten => <app>,1,Stasis(<app>)``)
  and joins them in a mixing bridge the application owns. From then on hold is
  "customer out of the bridge, listening to music on hold", retrieve puts them
  back, a conference adds the consulted party.
* A bridge the application made is destroyed when a step fails, and when at
  most one channel is left in it that channel is hung up: no ghost channel
  stays in a bridge after the customer (or the agent) has gone.

ARI channel ids are the AMI ``Uniqueid`` values, so the connector addresses
the same channels it follows over AMI.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import structlog
import websockets

from ...model.errors import PlatformError
from .config import AriOptions

log = structlog.get_logger("ctibridge.asterisk.ari")

RECONNECT_MAX = 5.0  # a returning Asterisk is picked up within this


class AriClient:
    """The REST calls (one HTTP client, basic auth)."""

    def __init__(self, options: AriOptions, *, timeout: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.options = options
        self._http = httpx.AsyncClient(
            base_url=options.url.rstrip("/"), auth=(options.username, options.password),
            timeout=timeout, transport=transport)

    async def close(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, what: str, **params: Any) -> Any:
        try:
            r = await self._http.request(method, path, params=params or None)
        except httpx.HTTPError as exc:
            raise PlatformError(f"ARI at {self.options.url} is unreachable while {what}: "
                                f"{exc or type(exc).__name__}", code="platform-down") from exc
        if r.status_code == 401:
            raise PlatformError(
                f"ARI refused the user {self.options.username!r} while {what}: wrong "
                "username or password (ari.conf)", code="ari-auth")
        if r.status_code >= 400:
            try:
                detail = r.json().get("message") or r.text
            except ValueError:
                detail = r.text
            code = {404: "no-such-channel", 409: "not-in-stasis",
                    422: "no-such-channel"}.get(r.status_code, "platform-error")
            raise PlatformError(f"ARI refused {what}: {detail or r.status_code}", code=code)
        return r.json() if r.content else None

    async def info(self) -> dict[str, Any]:
        """``GET /asterisk/info``: proves the URL, the user and the password."""
        out = await self._call("GET", "/asterisk/info", "reading the Asterisk info")
        return out if isinstance(out, dict) else {}

    async def application(self, app: str) -> dict[str, Any] | None:
        """The Stasis application as Asterisk sees it (None: not registered)."""
        try:
            out = await self._call("GET", f"/applications/{quote(app, safe='')}",
                                   "reading the Stasis application")
        except PlatformError as exc:
            if exc.code == "no-such-channel":  # 404: no such application
                return None
            raise
        return out if isinstance(out, dict) else None

    async def hold(self, channel_id: str) -> None:
        await self._call("POST", f"/channels/{channel_id}/hold", "holding the call")

    async def unhold(self, channel_id: str) -> None:
        await self._call("DELETE", f"/channels/{channel_id}/hold", "retrieving the call")

    async def moh(self, channel_id: str, on: bool, moh_class: str | None = None) -> None:
        if on:
            params = {"mohClass": moh_class} if moh_class else {}
            await self._call("POST", f"/channels/{channel_id}/moh", "playing music on hold",
                             **params)
        else:
            await self._call("DELETE", f"/channels/{channel_id}/moh",
                             "stopping music on hold")

    async def answer(self, channel_id: str) -> None:
        await self._call("POST", f"/channels/{channel_id}/answer", "answering")

    async def hangup(self, channel_id: str) -> None:
        await self._call("DELETE", f"/channels/{channel_id}", "hanging up", reason="normal")

    async def resume_dialplan(self, channel_id: str) -> None:
        await self._call("POST", f"/channels/{channel_id}/continue", "returning to the dialplan")

    async def create_bridge(self, name: str) -> str:
        bridge = await self._call("POST", "/bridges", "creating a bridge", type="mixing",
                                  name=name)
        return str(bridge["id"])

    async def add(self, bridge_id: str, channel_ids: list[str]) -> None:
        await self._call("POST", f"/bridges/{bridge_id}/addChannel", "joining the bridge",
                         channel=",".join(channel_ids))

    async def remove(self, bridge_id: str, channel_id: str) -> None:
        await self._call("POST", f"/bridges/{bridge_id}/removeChannel", "leaving the bridge",
                         channel=channel_id)

    async def list_bridges(self) -> list[dict[str, Any]]:
        out = await self._call("GET", "/bridges", "listing the bridges")
        return [b for b in out or [] if isinstance(b, dict)]

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self._call("DELETE", f"/bridges/{bridge_id}", "destroying the bridge")

    async def conference(self, channel_ids: list[str]) -> str:
        """Put the channels together in a new mixing bridge; returns its id.

        If they cannot all join, the bridge is destroyed (no empty bridge left).
        """
        bridge_id = await self.create_bridge("ctibridge-conference")
        try:
            await self.add(bridge_id, channel_ids)
        except BaseException:
            with contextlib.suppress(PlatformError):
                await self.destroy_bridge(bridge_id)
            raise
        return bridge_id


def events_url(options: AriOptions) -> str:
    """``http://h:8088/ari`` -> ``ws://h:8088/ari/events?app=<app>``."""
    parts = urlsplit(options.url.rstrip("/"))
    scheme = "wss" if parts.scheme == "https" else "ws"
    query = f"app={quote(options.app, safe='')}&subscribeAll=false"
    return urlunsplit((scheme, parts.netloc, parts.path + "/events", query, ""))


class AriApp:
    """The Stasis application: registered while its WebSocket is open."""

    def __init__(self, options: AriOptions, rest: AriClient, *, ssl: Any = None) -> None:
        self.options = options
        self.rest = rest
        self.url = events_url(options)
        self._ssl = ssl
        self.channels: set[str] = set()  # channel ids now in the application
        self.expected: set[str] = set()  # channels the connector is moving in
        self.bridges: dict[str, set[str]] = {}  # bridges we made -> channels that belong
        self.registered = asyncio.Event()
        self.detail = "not connected"
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"ari-{self.options.app}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for t in list(self._tasks):
            t.cancel()

    def _headers(self) -> dict[str, str]:
        token = base64.b64encode(
            f"{self.options.username}:{self.options.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}  # not api_key=: keeps it out of URLs

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                async with websockets.connect(self.url, additional_headers=self._headers(),
                                              ssl=self._ssl, open_timeout=10,
                                              max_size=2**22) as ws:
                    attempt = 0
                    self.detail = f"Stasis application {self.options.app!r} registered"
                    self.registered.set()
                    log.info("ari.registered", app=self.options.app)
                    self._spawn(self._sweep())
                    async for raw in ws:
                        self._receive(raw)
                self.detail = "the ARI WebSocket was closed"
            except asyncio.CancelledError:
                raise
            except websockets.InvalidStatus as exc:
                status = exc.response.status_code
                self.detail = (f"ARI refused the user {self.options.username!r}: wrong "
                               "username or password (ari.conf)" if status == 401
                               else f"ARI answered HTTP {status} at {self.url}")
            except (OSError, websockets.WebSocketException, TimeoutError) as exc:
                self.detail = f"ARI is unreachable at {self.url}: {exc or type(exc).__name__}"
            finally:
                self.registered.clear()
                self.channels.clear()  # learned again from StasisStart after reconnecting
            log.warning("ari.down", app=self.options.app, detail=self.detail)
            delay = min(RECONNECT_MAX, 0.25 * 2 ** min(attempt, 5))
            attempt += 1
            await asyncio.sleep(random.uniform(delay / 2, delay))

    def _receive(self, raw: str | bytes) -> None:
        try:
            ev = json.loads(raw)
        except ValueError:
            log.warning("ari.bad_event", size=len(raw))
            return
        if not isinstance(ev, dict):
            return
        kind = ev.get("type")
        channel = ev.get("channel")
        chan = channel.get("id") if isinstance(channel, dict) else None
        if kind == "StasisStart" and chan:
            self.channels.add(chan)
            if chan in self.expected:
                self.expected.discard(chan)
            else:
                # Not moved in by us (a dialplan that sends calls here directly):
                # never leave a caller silent in an application that ignores them.
                self._spawn(self._send_back(chan))
        elif kind in ("StasisEnd", "ChannelDestroyed") and chan:
            self.channels.discard(chan)
            for bid, members in list(self.bridges.items()):
                if chan in members:
                    members.discard(chan)
                    self._spawn(self._tidy(bid))
        self._changed.set()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_back(self, chan: str) -> None:
        with contextlib.suppress(PlatformError):
            await self.rest.resume_dialplan(chan)

    async def _tidy(self, bridge_id: str) -> None:
        """A bridge of ours with one party left: hang it up and destroy the bridge,
        as a two-party call ends when one side hangs up (no ghost channel)."""
        members = self.bridges.get(bridge_id)
        if members is None or len(members) >= 2:
            return
        del self.bridges[bridge_id]
        for chan in list(members):
            with contextlib.suppress(PlatformError):
                await self.rest.hangup(chan)
        with contextlib.suppress(PlatformError):
            await self.rest.destroy_bridge(bridge_id)

    async def _sweep(self) -> None:
        """Empty bridges of ours left by an earlier run (a crash, a stop mid-call):
        Asterisk never destroys an ARI bridge by itself."""
        try:
            for b in await self.rest.list_bridges():
                if (str(b.get("name", "")).startswith("ctibridge-") and not b.get("channels")
                        and b.get("id") not in self.bridges):
                    await self.rest.destroy_bridge(str(b["id"]))
                    log.info("ari.stale_bridge_destroyed", bridge=b.get("id"))
        except PlatformError as exc:
            log.warning("ari.sweep_failed", error=exc.message)

    def bridge_of(self, channel_id: str) -> str | None:
        return next((b for b, m in self.bridges.items() if channel_id in m), None)

    async def wait_in(self, channel_ids: set[str], timeout: float) -> None:
        """Wait until every channel is in the application."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not channel_ids <= self.channels:
            left = deadline - loop.time()
            if left <= 0:
                missing = ", ".join(sorted(channel_ids - self.channels))
                raise PlatformError(
                    f"the channels {missing} did not reach the Stasis application "
                    f"{self.options.app!r}: the dialplan context {self.options.context!r} "
                    f"must run Stasis({self.options.app}) for extension {self.options.app!r}",
                    code="not-in-stasis")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def bridge(self, ref: str, channel_ids: list[str]) -> str:
        """A mixing bridge of ours with these channels (destroyed if that fails)."""
        bridge_id = await self.rest.create_bridge(f"ctibridge-{ref}")
        try:
            await self.rest.add(bridge_id, channel_ids)
        except BaseException:
            with contextlib.suppress(PlatformError):
                await self.rest.destroy_bridge(bridge_id)
            raise
        self.bridges[bridge_id] = set(channel_ids)
        return bridge_id
