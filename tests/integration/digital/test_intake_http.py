"""Digital intake through a real hub on a real port: signed webhooks and REST posts,
their refusals, and idempotency across concurrency and restarts."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ctibridge.digital.webhook import SIGNATURE_HEADER, signature
from ctibridge.digital.webhook_connector import WebhookConnector
from ctibridge.model.events import (
    AgentStateChanged,
    DigitalResynced,
    InteractionArrived,
    InteractionClosed,
    InteractionMessage,
    PlatformEvent,
    PlatformStatus,
)
from ctibridge.model.party import Channel

from ..harness import RunningHub, free_port, running_hub

SECRET = "whsec-integration-0123456789"
DIGITAL = [{"name": "web", "type": "webhook", "secret": SECRET, "max_body_bytes": 4096,
            "options": {"queue": "support"}}]
CHAT: dict[str, Any] = {
    "channel": "chat", "message_id": "chat-1", "conversation_id": "conv-9",
    "sender": {"handle": "visitor-9", "name": "Léa Dubois"},
    "body": "Bonjour, ma commande 4471 n'est pas arrivée.",
    "attached": {"order": "4471"},
}


# Every digital event the hub consumed, per connector (the hub reads the connector's stream).
_SEEN: dict[int, asyncio.Queue[PlatformEvent]] = {}


@contextlib.asynccontextmanager
async def digital_hub(tmp_path: Path, **kw: Any) -> AsyncIterator[RunningHub]:
    async with running_hub(tmp_path, digital=DIGITAL, **kw) as hub:
        seen: asyncio.Queue[PlatformEvent] = asyncio.Queue()
        _SEEN[id(web(hub))] = seen
        hub.app.state.services.omnichannel.listeners.append(
            lambda _platform, event: seen.put_nowait(event))
        yield hub


def web(hub: RunningHub) -> WebhookConnector:
    connector = hub.app.state.services.digital["web"]
    assert isinstance(connector, WebhookConnector)
    return connector


async def post_signed(hub: RunningHub, payload: dict[str, Any] | bytes, *,
                      t: int | None = None, secret: str = SECRET,
                      header: str | None = None) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    stamp = int(hub.clock.now().timestamp()) if t is None else t
    headers = {"Content-Type": "application/json",
               SIGNATURE_HEADER: header if header is not None else signature(secret, body, stamp)}
    if header == "":
        del headers[SIGNATURE_HEADER]
    async with httpx.AsyncClient(base_url=hub.url) as http:
        return await http.post("/api/digital/web/webhook", content=body, headers=headers)


async def next_events(connector: WebhookConnector, count: int) -> list[PlatformEvent]:
    """The next ``count`` interaction events (link status and resync skipped)."""
    seen = _SEEN[id(connector)]
    got: list[PlatformEvent] = []
    while len(got) < count:
        event = await asyncio.wait_for(seen.get(), 2)
        if not isinstance(event, PlatformStatus | DigitalResynced | AgentStateChanged):
            got.append(event)
    return got


def nothing_pending(connector: WebhookConnector) -> bool:
    pending = [*connector._events._queue,  # type: ignore[attr-defined]
               *_SEEN[id(connector)]._queue]  # type: ignore[attr-defined]
    return all(isinstance(e, PlatformStatus | DigitalResynced | AgentStateChanged)
               for e in pending)


async def test_a_signed_chat_arrives_as_an_interaction_on_the_connector_stream(
    tmp_path: Path,
) -> None:
    async with digital_hub(tmp_path) as hub:
        r = await post_signed(hub, CHAT)
        assert r.status_code == 201, r.text
        iid = r.json()["interaction_id"]
        assert r.json()["status"] == "created"
        [arrived] = await next_events(web(hub), 1)
        assert isinstance(arrived, InteractionArrived)
        assert (arrived.ref, arrived.channel, arrived.queue) == (iid, Channel.CHAT, "support")
        assert arrived.sender.handle == "visitor-9" and arrived.sender.name == "Léa Dubois"
        assert arrived.body == CHAT["body"] and arrived.preview == CHAT["body"]
        assert (arrived.message_id, arrived.thread_id) == ("chat-1", "conv-9")
        assert arrived.attached == {"order": "4471"}
        assert arrived.at == hub.clock.now()


BAD: dict[str, tuple[dict[str, Any], int, str, str]] = {
    "unsigned": ({"header": ""}, 401, "signature-missing", "not signed"),
    "malformed": ({"header": "sha256=abc"}, 401, "signature-malformed", "t=<unix time>"),
    "wrong secret": ({"secret": "not-the-secret-at-all"}, 401, "signature-mismatch",
                     "does not match"),
    "stale": ({"t_offset": -301}, 401, "signature-stale", "replay window"),
    "unknown channel": ({"payload": {**CHAT, "channel": "pigeon"}}, 400, "unknown-channel",
                        "known: email, chat, sms, social"),
    "oversized": ({"payload": {**CHAT, "body": "x" * 5000}}, 413, "body-too-large",
                  "at most 4096"),
    "not json": ({"payload": b"{nope"}, 400, "invalid-json", "not valid JSON"),
    "nested too deep": ({"payload": b"[" * 3000}, 400, "invalid-json", "not valid JSON"),
    "invalid field": ({"payload": {**CHAT, "sender": {"handle": ""}}}, 400,
                      "invalid-interaction", "sender"),
}


async def test_bad_webhooks_are_refused_clearly_and_create_nothing(tmp_path: Path) -> None:
    async with digital_hub(tmp_path) as hub:
        now = int(hub.clock.now().timestamp())
        for what, (kw, status, code, words) in BAD.items():
            payload = kw.get("payload", CHAT)
            r = await post_signed(hub, payload, t=now + kw.get("t_offset", 0),
                                  secret=kw.get("secret", SECRET), header=kw.get("header"))
            assert r.status_code == status, (what, r.text)
            assert r.json()["code"] == code, (what, r.json())
            assert words in r.json()["message"], (what, r.json())
        store = hub.app.state.services.intake.store
        assert await store.count_messages("web") == 0
        assert nothing_pending(web(hub))
        # The refused message id is still free: the good copy is created.
        assert (await post_signed(hub, CHAT)).status_code == 201


async def test_an_unknown_platform_is_named_with_the_configured_ones(tmp_path: Path) -> None:
    async with digital_hub(tmp_path) as hub, httpx.AsyncClient(base_url=hub.url) as http:
        r = await http.post("/api/digital/mail/webhook", content=b"{}")
        assert r.status_code == 404
        assert r.json() == {"code": "unknown-platform", "message": "no digital platform "
                            "'mail' takes interactions here; configured: web"}


async def test_the_same_message_twice_is_created_once(tmp_path: Path) -> None:
    async with digital_hub(tmp_path) as hub:
        first = await post_signed(hub, CHAT)
        again = await post_signed(hub, CHAT)
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json() == {"interaction_id": first.json()["interaction_id"],
                                "status": "duplicate"}
        await next_events(web(hub), 1)
        assert nothing_pending(web(hub))


async def test_concurrent_copies_of_a_message_are_created_once(tmp_path: Path) -> None:
    async with digital_hub(tmp_path) as hub:
        replies = await asyncio.gather(*(post_signed(hub, CHAT) for _ in range(10)))
        assert sorted(r.status_code for r in replies) == [200] * 9 + [201]
        assert len({r.json()["interaction_id"] for r in replies}) == 1
        await next_events(web(hub), 1)
        assert nothing_pending(web(hub))


async def test_a_duplicate_after_a_restart_on_the_same_database_is_still_refused(
    tmp_path: Path,
) -> None:
    port = free_port()
    async with digital_hub(tmp_path, port=port) as hub:
        created = await post_signed(hub, CHAT)
        assert created.status_code == 201
    async with digital_hub(tmp_path, port=port) as hub:
        again = await post_signed(hub, CHAT)
        assert again.status_code == 200
        assert again.json() == {"interaction_id": created.json()["interaction_id"],
                                "status": "duplicate"}
        assert nothing_pending(web(hub))


async def test_a_chat_follow_up_updates_its_interaction_until_the_chat_is_closed(
    tmp_path: Path,
) -> None:
    async with digital_hub(tmp_path) as hub:
        first = (await post_signed(hub, CHAT)).json()["interaction_id"]
        follow = await post_signed(hub, {**CHAT, "message_id": "chat-2", "body": "Allô ?"})
        assert (follow.status_code, follow.json()) == (
            200, {"interaction_id": first, "status": "updated"})
        bye = await post_signed(hub, {**CHAT, "message_id": "chat-3", "type": "closed"})
        assert bye.json() == {"interaction_id": first, "status": "closed"}
        fresh = await post_signed(hub, {**CHAT, "message_id": "chat-4"})
        assert fresh.status_code == 201 and fresh.json()["interaction_id"] != first
        events = await next_events(web(hub), 4)
        assert [type(e) for e in events] == [InteractionArrived, InteractionMessage,
                                             InteractionClosed, InteractionArrived]
        assert isinstance(events[1], InteractionMessage)
        assert (events[1].ref, events[1].body, events[1].from_customer) == (first, "Allô ?",
                                                                            True)
        late = await post_signed(hub, {**CHAT, "message_id": "chat-5", "type": "closed",
                                       "conversation_id": "conv-unknown"})
        assert (late.status_code, late.json()["code"]) == (404, "conversation-not-open")


async def test_a_chat_the_hub_closed_starts_a_new_interaction_on_the_next_message(
    tmp_path: Path,
) -> None:
    async with digital_hub(tmp_path) as hub:
        first = (await post_signed(hub, CHAT)).json()["interaction_id"]
        await web(hub).accept(first, "alice")
        await web(hub).close(first, "alice", "resolved")
        again = await post_signed(hub, {**CHAT, "message_id": "chat-2"})
        assert again.status_code == 201 and again.json()["interaction_id"] != first
        closed = (await next_events(web(hub), 3))[2]
        assert closed == InteractionClosed(ref=first, at=hub.clock.now(), by="agent",
                                           agent="alice", disposition="resolved")


async def test_integrations_post_with_an_admin_token_and_agents_cannot(tmp_path: Path) -> None:
    email = {"channel": "email", "message_id": "<a1@mail.example>",
             "sender": {"address": "oliver.smith@btinternet.com", "name": "Oliver Smith"},
             "subject": "Invoice 7781", "content_url": "https://mail.example/m/a1"}
    async with digital_hub(tmp_path) as hub, httpx.AsyncClient(base_url=hub.url) as http:
        url = "/api/digital/web/interactions"
        anonymous = await http.post(url, json=email)
        assert (anonymous.status_code, anonymous.json()["code"]) == (401, "token-missing")
        agent = {"Authorization": f"Bearer {await hub.token('alice')}"}
        refused = await http.post(url, json=email, headers=agent)
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
        admin = {"Authorization": f"Bearer {await hub.token('admin')}"}
        ok = await http.post(url, json=email, headers=admin)
        assert ok.status_code == 201, ok.text
        dup = await http.post(url, json=email, headers=admin)
        assert dup.json() == {"interaction_id": ok.json()["interaction_id"],
                              "status": "duplicate"}
        big = await http.post(url, json={**email, "body": "é" * 3000}, headers=admin)
        assert (big.status_code, big.json()["code"]) == (413, "body-too-large")
        [arrived] = await next_events(web(hub), 1)
        assert isinstance(arrived, InteractionArrived)
        assert arrived.content_url == "https://mail.example/m/a1"
        assert arrived.subject == "Invoice 7781"


async def test_a_platform_without_secret_keeps_its_webhook_off(tmp_path: Path) -> None:
    plain = [{"name": "web", "type": "webhook"}]
    async with running_hub(tmp_path, digital=plain) as hub:
        r = await post_signed(hub, CHAT)
        assert (r.status_code, r.json()["code"]) == (401, "webhook-disabled")


@pytest.mark.parametrize("channel", ["sms"])
async def test_a_channel_the_platform_does_not_carry_is_refused(tmp_path: Path,
                                                                channel: str) -> None:
    only_chat = [{**DIGITAL[0], "options": {"channels": ["chat", "email"]}}]
    sms = {"channel": channel, "message_id": "s1", "sender": {"number": "+33612345678"},
           "body": "STOP"}
    async with running_hub(tmp_path, digital=only_chat) as hub:
        r = await post_signed(hub, sms)
        assert r.status_code == 400
        assert r.json()["message"] == ("the platform 'web' does not carry sms messages; it "
                                       "carries: chat, email")
        assert await hub.app.state.services.intake.store.count_messages("web") == 0


async def test_open_interactions_are_queued_again_after_a_restart_and_closed_ones_are_not(
    tmp_path: Path,
) -> None:
    port = free_port()
    email = {"channel": "email", "message_id": "mail-1", "subject": "Facture 2231",
             "sender": {"address": "paul.henry@example.fr", "name": "Paul Henry"},
             "body": "Bonjour, la facture 2231 est en double.",
             "content_url": "https://mail.example.com/m/1"}
    async with digital_hub(tmp_path, port=port) as hub:
        chat = (await post_signed(hub, CHAT)).json()["interaction_id"]
        mail = (await post_signed(hub, email)).json()["interaction_id"]
        gone = (await post_signed(hub, {**CHAT, "message_id": "c2-1",
                                        "conversation_id": "conv-2"})).json()["interaction_id"]
        await post_signed(hub, {**CHAT, "message_id": "c2-2", "conversation_id": "conv-2",
                                "type": "closed"})
        wrapped = (await post_signed(hub, {**CHAT, "message_id": "c3-1",
                                           "conversation_id": "conv-3"})).json()["interaction_id"]
        await web(hub).accept(wrapped, "alice")
        await web(hub).close(wrapped, "alice", "resolved")  # the hub closed this one
        await next_events(web(hub), 7)
        queue_before = {it.interaction_id: it.queue
                        for it in hub.app.state.services.omnichannel.live()}
    # The hub stops (or dies) with the chat and the e-mail waiting: a new one queues them.
    async with digital_hub(tmp_path, port=port) as hub:
        omni = hub.app.state.services.omnichannel
        for _ in range(100):
            if len(omni.live()) >= 2:
                break
            await asyncio.sleep(0.02)
        live = {it.interaction_id: it for it in omni.live()}
        assert set(live) == {chat, mail}  # not the chat its customer closed, nor the wrapped one
        assert gone not in live and wrapped not in live
        assert (live[chat].channel, live[chat].state) == (Channel.CHAT, "queued")
        assert {i: it.queue for i, it in live.items()} == queue_before
        assert live[chat].customer.name == "Léa Dubois"
        assert live[chat].attached["order"] == "4471"
        assert (live[mail].subject, live[mail].content_url) == (
            "Facture 2231", "https://mail.example.com/m/1")
        assert live[mail].preview and "double" in live[mail].preview
        # A follow-up joins the restored chat; nothing is created twice.
        more = await post_signed(hub, {**CHAT, "message_id": "chat-2", "body": "Toujours rien"})
        assert more.json() == {"interaction_id": chat, "status": "updated"}
