"""REST on a node that does not run the core: the core's view, from the core's node.

Agents, calls, queues, the audit, the call log and the CRM's health live in the core;
a follower hands these requests to the core's node over the bus (cluster/forward.py)
and answers exactly what the core's node answers. Sign-in and history (the shared
database) stay on the node. With no core, the cluster's own error codes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx
import nats
from nats.aio.msg import Msg

from ctibridge.cluster.lease import Lease
from ctibridge.cluster.subjects import Names

from ..crm.realcrm import MAPPING, seeded, serve_real_crm, variables
from ..harness import RunningHub
from .conftest import NATS_URL, Cluster


async def admin(node: RunningHub) -> httpx.AsyncClient:
    token = await node.token("admin")  # signed in on this node (its own login)
    return httpx.AsyncClient(base_url=node.url, headers={"Authorization": f"Bearer {token}"},
                             timeout=10)


async def both(a: httpx.AsyncClient, b: httpx.AsyncClient, path: str, **params: Any
               ) -> Any:
    """``path`` read on the core's node and on the follower: the same answer."""
    on_core, on_follower = await a.get(path, params=params), await b.get(path, params=params)
    assert on_follower.status_code == on_core.status_code == 200, (path, on_follower.text)
    assert on_follower.json() == on_core.json(), path
    return on_follower.json()


async def test_a_follower_answers_the_core_routes_with_the_cores_view(cluster: Cluster) -> None:
    async with serve_real_crm(seeded()) as crm:
        settings = {"crm": {"mapping": str(MAPPING), "variables": variables(crm)}}
        a = await cluster.node("a", hub=settings)
        await cluster.core(on="a")
        b = await cluster.node("b", hub=settings)
        async with await admin(a) as on_a, await admin(b) as on_b:
            # A supervisor logs alice in from node b (the command goes to the core).
            r = await on_b.post("/api/commands", json={"op": "agent.login", "agent_id": "alice",
                                                       "reason": "admin"})
            assert r.status_code == 200, r.text
            agents = await both(on_a, on_b, "/api/agents")
            alice = next(x for x in agents if x["agent_id"] == "alice")
            assert alice["state"]["status"] == "not_ready"  # not b's own idle copy
            assert (await both(on_a, on_b, "/api/agents/alice"))["state"] == alice["state"]

            # A write on b reaches the core's simulator: a customer waits in support.
            r = await on_b.post("/api/simulator/sim/calls",
                                json={"queue": "support", "number": "+33612345678"})
            assert r.status_code == 200, r.text

            async def queued() -> list[dict[str, Any]]:
                while not (calls := (await on_b.get("/api/calls")).json()):  # noqa: ASYNC110
                    await asyncio.sleep(0.02)  # the simulator's event reaches the core
                return list(calls)
            calls = await asyncio.wait_for(queued(), 5)
            assert calls == await both(on_a, on_b, "/api/calls")
            assert [c["customer"]["number"] for c in calls] == ["+33612345678"]
            await both(on_a, on_b, f"/api/calls/{calls[0]['call_id']}")
            queues = await both(on_a, on_b, "/api/queues")
            assert next(q for q in queues if q["queue"] == "support")["waiting"] == 1

            audit = await both(on_a, on_b, "/api/audit")
            assert [(e["actor"], e["op"], e["agent_id"]) for e in audit] == [
                ("admin", "agent.login", "alice")]
            log = await both(on_a, on_b, "/api/calllog")
            assert log["guarantee"] and "counts" in log
            health = (await on_b.get("/api/crm/health")).json()
            assert health["crm"] == "realcrm" and "calllog" in health

            # Refusals keep their status and code; headers are not doubled.
            missing = await on_b.get("/api/calls/c-nope")
            assert (missing.status_code, missing.json()["code"]) == (404, "no-such-call")
            anonymous = await httpx.AsyncClient(base_url=b.url).get("/api/agents")
            assert anonymous.status_code == 401
            assert len(missing.headers.get_list("content-security-policy")) == 1
            # What the node answers itself: its own sign-in, the shared history.
            assert (await on_b.get("/api/me")).json()["username"] == "admin"


async def test_with_no_core_a_follower_says_so(cluster: Cluster) -> None:
    names = Names(cluster.name)
    nc = await nats.connect(NATS_URL)

    async def nothing(_: int) -> None:
        return None

    # A node that holds the lease and answers nothing: as a core killed a moment ago.
    ghost = Lease(nc.jetstream(), "ghost", names.bucket, ttl=3.0, on_acquired=nothing,
                  on_lost=nothing)
    ghost.start()
    try:
        for _ in range(100):
            if ghost.held:
                break
            await asyncio.sleep(0.05)
        assert ghost.held
        b = await cluster.node("b", request_timeout_seconds=1.0)
        async with await admin(b) as on_b:  # signing in needs no core
            for method, path in (("GET", "/api/agents"), ("GET", "/api/queues"),
                                 ("GET", "/api/calllog"), ("POST", "/api/calllog/retry")):
                r = await on_b.request(method, path, json={} if method == "POST" else None)
                assert (r.status_code, r.json()["code"]) == (502, "no-core"), (path, r.text)
            # Someone listens on the core's subject but never answers: a hung core.
            async def silent(_: Msg) -> None:
                return None

            hung = await nc.subscribe(names.http, cb=silent)
            await nc.flush()  # the server knows of the subscription before node b asks
            r = await on_b.get("/api/calls")
            assert (r.status_code, r.json()["code"]) == (502, "core-timeout"), r.text
            await hung.unsubscribe()
    finally:
        await ghost.stop(release=True)
        with contextlib.suppress(Exception):
            await nc.close()


async def test_a_signed_webhook_posted_to_a_follower_reaches_the_cores_intake(
    cluster: Cluster,
) -> None:
    from ctibridge.digital.webhook import SIGNATURE_HEADER, signature

    secret = "whsec-cluster-0123456789"
    settings = {"digital": [{"name": "web", "type": "webhook", "secret": secret,
                             "options": {"queue": "support"}}]}
    a = await cluster.node("a", hub=settings)
    await cluster.core(on="a")
    b = await cluster.node("b", hub=settings)
    # The signature covers the body's bytes: they must reach the core untouched.
    body = json.dumps({"channel": "chat", "message_id": "m-1", "conversation_id": "c-1",
                       "sender": {"handle": "visitor", "name": "Léa Dubois"},
                       "body": "Bonjour, où en est ma commande ?"},
                      ensure_ascii=False).encode()
    stamp = int(cluster.clock.now().timestamp())

    async def post(node: RunningHub, sign_with: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=node.url) as http:
            return await http.post("/api/digital/web/webhook", content=body, headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature(sign_with, body, stamp)})

    first = await post(b, secret)
    assert (first.status_code, first.json()["status"]) == (201, "created"), first.text
    again = await post(a, secret)  # the same message on the core's node: one intake
    assert again.status_code == 200 and again.json()["interaction_id"] == \
        first.json()["interaction_id"], again.text
    forged = await post(b, "not-the-secret")
    assert forged.status_code == 401, forged.text
