"""Sessions over a real port: logout, revocation, user changes and deletion take
effect at once, access tokens are short and renewed with the refresh token."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jwt
import websockets

from ..integration.harness import RunningHub, running_hub


async def login(http: httpx.AsyncClient, user: str) -> dict[str, Any]:
    r = await http.post("/api/login", json={"username": user, "password": user})
    assert r.status_code == 200, r.text
    return dict(r.json())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def open_socket(h: RunningHub, http: httpx.AsyncClient, token: str) -> Any:
    t = await http.post("/api/ws-ticket", headers=bearer(token))
    assert t.status_code == 200, t.text
    ws = await websockets.connect(h.ws_url(t.json()["ticket"]), max_size=2**22)
    assert json.loads(await ws.recv())["type"] == "hello"
    assert json.loads(await ws.recv())["type"] == "snapshot"
    return ws


async def closed_with(ws: Any) -> int | None:
    try:
        while True:
            await ws.recv()
    except websockets.ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None


async def test_logout_ends_the_session_its_tokens_and_its_socket(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as h, httpx.AsyncClient(base_url=h.url) as http:
        s = await login(http, "alice")
        other = await login(http, "alice")  # another tab: its own session
        ws = await open_socket(h, http, s["token"])
        assert (await http.post("/api/logout", headers=bearer(s["token"]))).status_code == 204
        assert await closed_with(ws) == 4009
        for r in (await http.get("/api/me", headers=bearer(s["token"])),
                  await http.post("/api/ws-ticket", headers=bearer(s["token"])),
                  await http.post("/api/token/refresh",
                                  json={"refresh_token": s["refresh_token"]})):
            assert r.status_code == 401, r.text
            assert r.json()["code"] in ("session-ended",), r.json()
        # The other tab's session is untouched.
        assert (await http.get("/api/me", headers=bearer(other["token"]))).status_code == 200


async def test_a_disabled_user_is_refused_at_once_and_their_socket_closes(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as h, httpx.AsyncClient(base_url=h.url) as http:
        admin = (await login(http, "admin"))["token"]
        bob = await login(http, "bob")
        ws = await open_socket(h, http, bob["token"])
        r = await http.patch("/api/users/bob", json={"disabled": True}, headers=bearer(admin))
        assert r.status_code == 200 and r.json()["disabled"] is True
        assert await closed_with(ws) == 4009
        assert (await http.post("/api/ws-ticket", headers=bearer(bob["token"]))).status_code \
            == 401
        refreshed = await http.post("/api/token/refresh",
                                    json={"refresh_token": bob["refresh_token"]})
        assert refreshed.status_code == 401
        assert (await http.post("/api/login", json={"username": "bob", "password": "bob"})
                ).status_code == 401


async def test_a_role_change_applies_to_the_next_request_with_the_same_token(
        tmp_path: Path) -> None:
    async with running_hub(tmp_path) as h, httpx.AsyncClient(base_url=h.url) as http:
        admin = (await login(http, "admin"))["token"]
        sam = (await login(http, "sam"))["token"]
        assert (await http.get("/api/queues", headers=bearer(sam))).status_code == 200
        ws = await open_socket(h, http, sam)  # on the supervisors' stream
        r = await http.patch("/api/users/sam", json={"roles": ["agent"], "agent_id": "carol"},
                             headers=bearer(admin))
        assert r.status_code == 200, r.text
        assert await closed_with(ws) == 4009  # reconnects with what sam is now
        assert (await http.get("/api/queues", headers=bearer(sam))).status_code == 403
        me = (await http.get("/api/me", headers=bearer(sam))).json()
        assert (me["roles"], me["agent_id"]) == (["agent"], "carol")


async def test_a_deleted_users_token_is_refused(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as h, httpx.AsyncClient(base_url=h.url) as http:
        admin = (await login(http, "admin"))["token"]
        carol = (await login(http, "carol"))["token"]
        assert (await http.delete("/api/users/carol", headers=bearer(admin))).status_code == 204
        r = await http.get("/api/me", headers=bearer(carol))
        assert r.status_code == 401 and r.json()["code"] == "session-ended"
        # Even if someone recreates "carol", the old token does not come back to life.
        r = await http.post("/api/users", headers=bearer(admin), json={
            "username": "carol", "password": "another-pw-1", "roles": ["admin"]})
        assert r.status_code == 201
        assert (await http.get("/api/users", headers=bearer(carol))).status_code == 401


async def test_access_tokens_are_short_and_renewed_until_the_session_ends(
        tmp_path: Path) -> None:
    auth = {"token_ttl_seconds": 600, "session_ttl_seconds": 3600}
    async with running_hub(tmp_path, auth=auth) as h, httpx.AsyncClient(base_url=h.url) as http:
        s = await login(http, "alice")
        assert (s["expires_in"], s["refresh_expires_in"]) == (600, 3600)
        await h.clock.advance(601)
        r = await http.get("/api/me", headers=bearer(s["token"]))
        assert r.status_code == 401 and r.json()["code"] == "token-expired"
        r = await http.post("/api/token/refresh", json={"refresh_token": s["refresh_token"]})
        assert r.status_code == 200, r.text
        fresh = r.json()["token"]
        assert (await http.get("/api/me", headers=bearer(fresh))).status_code == 200
        await h.clock.advance(3000)
        r = await http.post("/api/token/refresh", json={"refresh_token": s["refresh_token"]})
        assert r.status_code == 401 and "expired" in r.json()["message"]
        # A made-up refresh token for the same session is refused too.
        sid = s["refresh_token"].split(".")[0]
        r = await http.post("/api/token/refresh", json={"refresh_token": f"{sid}.guess"})
        assert r.status_code == 401 and r.json()["code"] == "refresh-invalid"


async def test_a_token_signed_with_the_key_but_naming_no_session_is_refused(
        tmp_path: Path) -> None:
    async with running_hub(tmp_path) as h, httpx.AsyncClient(base_url=h.url) as http:
        now = int(h.clock.now().timestamp())
        forged = jwt.encode({"sub": "admin", "roles": ["admin", "supervisor"], "iat": now,
                             "exp": now + 600}, h.settings.auth.secret_key.get_secret_value(),
                            algorithm="HS256")
        r = await http.post("/api/users", headers=bearer(forged), json={
            "username": "mallory", "password": "mallory-pw-1", "roles": ["admin"]})
        assert r.status_code == 401 and r.json()["code"] == "token-invalid"


async def test_a_logged_out_supervisor_token_no_longer_reads_metrics(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as h, httpx.AsyncClient(base_url=h.url) as http:
        sam = await login(http, "sam")
        assert (await http.get("/metrics", headers=bearer(sam["token"]))).status_code == 200
        await http.post("/api/logout", headers=bearer(sam["token"]))
        assert (await http.get("/metrics", headers=bearer(sam["token"]))).status_code == 401
        detail = (await http.get("/readyz", headers=bearer(sam["token"]))).json()
        assert set(detail) == {"status"}
