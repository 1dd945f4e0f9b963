"""The ARI calls behind hold, answer and conference (httpx mock transport)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ctibridge.model.errors import PlatformError
from ctibridge.telephony.asterisk.ari import AriApp, AriClient, events_url
from ctibridge.telephony.asterisk.config import AriOptions
from tests.integration.harness import free_port

OPTS = AriOptions(url="http://pbx:8088/ari", username="ctibridge", password="pw")


def client(handler: object) -> tuple[AriClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)  # type: ignore[operator]

    return AriClient(OPTS, transport=httpx.MockTransport(record)), seen


async def test_hold_unhold_and_answer_address_channels_by_uniqueid() -> None:
    ari, seen = client(lambda r: httpx.Response(204))
    await ari.hold("1795572298.1")
    await ari.unhold("1795572298.1")
    await ari.answer("1795572300.2")
    assert [(r.method, r.url.path) for r in seen] == [
        ("POST", "/ari/channels/1795572298.1/hold"),
        ("DELETE", "/ari/channels/1795572298.1/hold"),
        ("POST", "/ari/channels/1795572300.2/answer"),
    ]
    assert seen[0].headers["authorization"].startswith("Basic ")
    await ari.close()


async def test_a_conference_is_a_mixing_bridge_with_the_three_channels() -> None:
    def handler(r: httpx.Request) -> httpx.Response:
        if r.url.path == "/ari/bridges":
            return httpx.Response(200, json={"id": "b-1", "bridge_type": "mixing"})
        return httpx.Response(204)

    ari, seen = client(handler)
    assert await ari.conference(["c.1", "a.2", "b.3"]) == "b-1"
    assert seen[0].url.params["type"] == "mixing"
    assert seen[1].url.path == "/ari/bridges/b-1/addChannel"
    assert seen[1].url.params["channel"] == "c.1,a.2,b.3"
    await ari.close()


async def test_a_channel_outside_stasis_is_a_clear_error() -> None:
    ari, _ = client(lambda r: httpx.Response(
        409, content=json.dumps({"message": "Channel not in Stasis application"})))
    with pytest.raises(PlatformError, match="not in Stasis") as caught:
        await ari.hold("x")
    assert caught.value.code == "not-in-stasis"
    await ari.close()


async def test_ari_down_is_platform_down() -> None:
    def boom(r: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    ari, _ = client(boom)
    with pytest.raises(PlatformError) as caught:
        await ari.answer("x")
    assert caught.value.code == "platform-down"
    await ari.close()


# ------------------------------------------------------ the Stasis application
#
# A small ARI server on a real port, written from the ARI documentation: REST
# under /ari with HTTP basic auth (401 for a wrong password, on the WebSocket
# upgrade too), the event WebSocket /ari/events?app=<name> that registers the
# application while it is open, and JSON events {"type": "StasisStart",
# "channel": {"id": ...}} as in ari-02-inbound-queue-answered.jsonl.


class FakeAri:
    def __init__(self, password: str = "pw") -> None:
        self.password = password
        self.apps: set[str] = set()
        self.calls: list[tuple[str, str]] = []
        self.sockets: list[Any] = []

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse, Response
        from starlette.routing import Route, WebSocketRoute
        from starlette.websockets import WebSocket

        def authorized(headers: Any) -> bool:
            want = "Basic " + base64.b64encode(f"ctibridge:{self.password}".encode()).decode()
            return bool(headers.get("authorization") == want)

        async def rest(request: Request) -> Response:
            if not authorized(request.headers):
                return JSONResponse({"message": "Authentication required"}, 401)
            path = request.url.path.removeprefix("/ari")
            self.calls.append((request.method, path + (f"?{request.url.query}"
                                                       if request.url.query else "")))
            if path == "/asterisk/info":
                return JSONResponse({"system": {"version": "22.10.1"}})
            if path.startswith("/applications/"):
                name = path.split("/")[2]
                return (JSONResponse({"name": name}) if name in self.apps
                        else JSONResponse({"message": "Application not found"}, 404))
            if path == "/bridges" and request.method == "POST":
                return JSONResponse({"id": "bridge-1", "bridge_type": "mixing"})
            return Response(status_code=204)

        async def events(ws: WebSocket) -> None:
            if not authorized(ws.headers):
                await ws.close(code=1008)  # refused before accept: HTTP 403 to the client
                return
            await ws.accept()
            self.apps.add(ws.query_params["app"])
            self.sockets.append(ws)
            try:
                while True:
                    await ws.receive_text()
            except Exception:
                self.apps.discard(ws.query_params["app"])

        return Starlette(routes=[Route("/ari/{p:path}", rest,
                                       methods=["GET", "POST", "DELETE"]),
                                 WebSocketRoute("/ari/events", events)])

    async def send(self, event: dict[str, Any]) -> None:
        for ws in self.sockets:
            await ws.send_text(json.dumps(event))


@contextlib.asynccontextmanager
async def fake_ari(password: str = "pw") -> AsyncIterator[tuple[FakeAri, int]]:
    import uvicorn

    server_state = FakeAri(password)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(server_state.app(), host="127.0.0.1", port=port,
                                           log_config=None, access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn has no started event)
        await asyncio.sleep(0.01)
    try:
        yield server_state, port
    finally:
        server.should_exit = True
        await task


async def wait_for(pred: Any, what: str, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        assert loop.time() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def test_the_event_websocket_url_names_the_application() -> None:
    opts = AriOptions(url="https://pbx:8089/ari/", username="u", password="p", app="cti.desk")
    assert events_url(opts) == "wss://pbx:8089/ari/events?app=cti.desk&subscribeAll=false"


async def test_the_application_is_registered_while_its_websocket_is_open() -> None:
    async with fake_ari() as (ari, port):
        opts = AriOptions(url=f"http://127.0.0.1:{port}/ari", username="ctibridge",
                          password="pw")
        rest = AriClient(opts)
        app = AriApp(opts, rest)
        app.start()
        await asyncio.wait_for(app.registered.wait(), 5)
        assert ari.apps == {"ctibridge"}
        assert await rest.application("ctibridge") == {"name": "ctibridge"}
        # A channel the dialplan sends there unasked goes back to the dialplan...
        await ari.send({"type": "StasisStart", "channel": {"id": "1.5"}})
        await wait_for(lambda: ("POST", "/channels/1.5/continue") in ari.calls, "continue")
        # ...one we moved in stays, and is known to be there.
        app.expected.add("1.6")
        await ari.send({"type": "StasisStart", "channel": {"id": "1.6"}})
        await app.wait_in({"1.6"}, 5)
        assert ("POST", "/channels/1.6/continue") not in ari.calls
        with pytest.raises(PlatformError, match="ctibridge-stasis") as missing:
            await app.wait_in({"1.6", "1.7"}, 0.2)
        assert missing.value.code == "not-in-stasis"
        await app.stop()
        await wait_for(lambda: not ari.apps, "the application to go")
        await rest.close()


async def test_a_bridge_with_one_party_left_is_hung_up_and_destroyed() -> None:
    async with fake_ari() as (ari, port):
        opts = AriOptions(url=f"http://127.0.0.1:{port}/ari", username="ctibridge",
                          password="pw")
        rest = AriClient(opts)
        app = AriApp(opts, rest)
        app.start()
        await asyncio.wait_for(app.registered.wait(), 5)
        app.expected.update({"c.1", "a.2"})
        for chan in ("c.1", "a.2"):
            await ari.send({"type": "StasisStart", "channel": {"id": chan}})
        await app.wait_in({"c.1", "a.2"}, 5)
        assert await app.bridge("1.0", ["c.1", "a.2"]) == "bridge-1"
        assert app.bridge_of("a.2") == "bridge-1"
        # The customer hangs up: the agent's channel must not stay alone in the bridge.
        await ari.send({"type": "StasisEnd", "channel": {"id": "c.1"}})
        await wait_for(lambda: ("DELETE", "/bridges/bridge-1") in ari.calls, "the cleanup")
        assert ("DELETE", "/channels/a.2?reason=normal") in ari.calls
        assert app.bridge_of("a.2") is None
        await app.stop()
        await rest.close()


async def test_a_wrong_ari_password_is_named_and_the_app_is_not_registered() -> None:
    async with fake_ari(password="right") as (ari, port):
        opts = AriOptions(url=f"http://127.0.0.1:{port}/ari", username="ctibridge",
                          password="wrong")
        rest = AriClient(opts)
        with pytest.raises(PlatformError, match="wrong username or password") as refused:
            await rest.info()
        assert refused.value.code == "ari-auth"
        app = AriApp(opts, rest)
        app.start()
        await wait_for(lambda: app.detail != "not connected", "the refusal")
        assert not app.registered.is_set() and not ari.apps
        assert "HTTP 403" in app.detail or "wrong username or password" in app.detail
        await app.stop()
        await rest.close()


async def test_a_conference_that_cannot_be_joined_leaves_no_bridge() -> None:
    def handler(r: httpx.Request) -> httpx.Response:
        if r.url.path == "/ari/bridges":
            return httpx.Response(200, json={"id": "b-9"})
        if r.url.path.endswith("/addChannel"):
            return httpx.Response(422, json={"message": "Channel not in Stasis application"})
        return httpx.Response(204)

    ari, seen = client(handler)
    with pytest.raises(PlatformError):
        await ari.conference(["c.1", "a.2", "b.3"])
    assert (seen[-1].method, seen[-1].url.path) == ("DELETE", "/ari/bridges/b-9")
    await ari.close()
