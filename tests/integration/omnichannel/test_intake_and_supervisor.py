"""End to end through the webhook intake, and a supervisor closing an agent's work."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from ctibridge.digital.webhook import SIGNATURE_HEADER, signature
from ctibridge.model.party import Channel

from ..harness import RunningHub
from .helpers import DIGITAL, QUEUES, dsim, events, omni_hub, ready, settle

SECRET = "whsec-omnichannel-0123456789"
WEB = [{"name": "web", "type": "webhook", "secret": SECRET}]
CHAT = {"channel": "chat", "message_id": "m-1", "conversation_id": "conv-1",
        "sender": {"handle": "visitor-1", "name": "Léa Dubois"},
        "body": "Bonjour, ma commande 4471 n'est pas arrivée."}


async def post(h: RunningHub, payload: dict[str, object]) -> httpx.Response:
    body = json.dumps(payload).encode()
    stamp = int(h.clock.now().timestamp())
    async with httpx.AsyncClient(base_url=h.url) as http:
        return await http.post("/api/digital/web/webhook", content=body, headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(SECRET, body, stamp)})


async def test_a_webhook_sent_twice_is_offered_once_under_the_id_the_intake_answered(
    tmp_path: Path,
) -> None:
    async with omni_hub(tmp_path, digital=WEB, queues=QUEUES) as h:
        alice = await h.agent("alice")
        await ready(alice)
        first = await post(h, CHAT)
        again = await post(h, CHAT)
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json()["status"] == "duplicate"
        iid = first.json()["interaction_id"]
        offer = await alice.event("interaction.offered")
        assert offer["interaction"]["interaction_id"] == iid
        assert offer["interaction"]["customer"]["name"] == "Léa Dubois"
        await settle(h)
        assert len(events(alice, "interaction.offered")) == 1
        assert list(h.app.state.services.omnichannel.items) == [iid]


async def test_a_supervisor_closes_an_agents_chat_and_an_agent_cannot_close_a_colleagues(
    tmp_path: Path,
) -> None:
    async with omni_hub(tmp_path, digital=DIGITAL) as h:
        alice, bob, sam = await h.agent("alice"), await h.agent("bob"), await h.agent("sam")
        await ready(alice)
        dsim(h).arrive(Channel.CHAT)
        offer = await alice.event("interaction.offered")
        iid = offer["interaction"]["interaction_id"]
        await alice.ok("interaction.accept", interaction_id=iid)
        refused = await bob.command("interaction.close", interaction_id=iid)
        assert (refused["type"], refused["code"]) == ("error", "not-yours")
        mark = len(alice.frames)
        done = await sam.ok("interaction.close", interaction_id=iid, disposition="escalated")
        assert (done["interaction"]["state"], done["interaction"]["agent_id"]) == (
            "closed", "alice")
        closed = await alice.event("interaction.closed")
        assert closed["interaction"]["disposition"] == "escalated"
        state = await alice.wait_for(
            lambda f: f.get("name") == "agent.state" and f["data"]["agent"]["load"] == {},
            "alice's load back to nothing", start=mark)
        assert state["data"]["agent"]["availability"]["chat"]["open"] is True
