"""/metrics and the detailed /readyz are for operators: a supervisor's or admin's
token, the ops token, or the ops port; anonymous callers get /healthz and a bare
readiness status."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from .conftest import Hub, free_port

OPS_TOKEN = "ops-" + "q7Hc2" * 8


async def test_anonymous_callers_get_no_metrics_and_no_details(hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=hub.url) as http:
        r = await http.get("/metrics")
        assert r.status_code == 401 and r.json()["code"] == "ops-auth"
        assert "ctibridge_" not in r.text
        r = await http.get("/readyz")
        assert r.status_code == 200 and r.json() == {"status": "ready"}
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        # An agent is no operator.
        agent = await hub.token("alice")
        r = await http.get("/metrics", headers={"Authorization": f"Bearer {agent}"})
        assert r.status_code == 401
        r = await http.get("/readyz", headers={"Authorization": f"Bearer {agent}"})
        assert r.json() == {"status": "ready"}
        r = await http.get("/metrics", headers={"Authorization": "Bearer forged.token.here"})
        assert r.status_code == 401


async def test_supervisors_admins_and_the_ops_token_see_everything(
        start_hub: Callable[..., Awaitable[Hub]]) -> None:
    hub = await start_hub(server={"ops": {"token": OPS_TOKEN}})
    async with httpx.AsyncClient(base_url=hub.url) as http:
        for token in (await hub.token("sam"), await hub.token("admin"), OPS_TOKEN):
            auth = {"Authorization": f"Bearer {token}"}
            r = await http.get("/metrics", headers=auth)
            assert r.status_code == 200 and "ctibridge_websockets" in r.text
            r = await http.get("/readyz", headers=auth)
            assert r.json()["platforms"]["sim"]["up"] is True
        r = await http.get("/metrics", headers={"Authorization": f"Bearer {OPS_TOKEN}x"})
        assert r.status_code == 401


async def test_the_ops_port_serves_only_the_ops_endpoints_without_login(
        start_hub: Callable[..., Awaitable[Hub]]) -> None:
    ops_port = free_port()
    hub = await start_hub(server={"ops": {"port": ops_port}})
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ops_port}") as ops:
        r = await ops.get("/metrics")
        assert r.status_code == 200 and "ctibridge_websockets" in r.text
        assert (await ops.get("/readyz")).json()["platforms"]["sim"]["up"] is True
        r = await ops.post("/api/login", json={"username": "admin", "password": "admin"})
        assert r.status_code == 404 and r.json()["code"] == "ops-listener"
        assert (await ops.get("/agentbar/")).status_code == 404
    async with httpx.AsyncClient(base_url=hub.url) as http:  # the main port still asks
        assert (await http.get("/metrics")).status_code == 401
