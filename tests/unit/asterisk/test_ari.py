"""The ARI calls behind hold, answer and conference (httpx mock transport)."""

from __future__ import annotations

import json

import httpx
import pytest

from ctibridge.model.errors import PlatformError
from ctibridge.telephony.asterisk.ari import AriClient
from ctibridge.telephony.asterisk.config import AriOptions

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
