"""Omnichannel in Chromium (issue 7): a chat offered beside a call within capacity,
accepted and closed on the bar while the supervisor page follows; an offer that
times out leaves the bar; a hostile sender name is text."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from ctibridge.digital.webhook import SIGNATURE_HEADER, signature

from .conftest import Bar, Browsers, RunningHub, democrm_bar, free_port, ready_in, screenshot_path

SECRET = "e2e-webhook-secret-0123456789"
QUEUE = {"name": "support", "channels": ["voice", "chat", "email"], "sl_seconds": 30}
# A call does not block chat here (the default makes voice exclusive).
PRESENCE = {"blocks": {"voice": []}}
DIGITAL = [{"name": "web", "type": "webhook", "secret": SECRET}]
_ids = itertools.count(1)


# A CRM page that frames the bar and records what the bar posts to it.
HOST_PAGE = """<!doctype html><html><head><title>CRM</title></head><body>
<script>
  window.got = [];
  addEventListener("message", (e) => { window.got.push({origin: e.origin, data: e.data}); });
</script>
<iframe id="bar" src="{bar}" style="width:380px;height:860px;border:0"></iframe>
</body></html>"""


async def start_omni_hub(start_hub: Callable[..., Awaitable[RunningHub]], *,
                         offer_timeout: float = 60.0, **more: Any) -> RunningHub:
    return await start_hub(queues=[{**QUEUE, "offer_timeout_seconds": offer_timeout}],
                           presence=PRESENCE, digital=DIGITAL, **more)


@pytest.fixture
async def hub(start_hub: Callable[..., Awaitable[RunningHub]]) -> RunningHub:
    return await start_omni_hub(start_hub)


async def post_message(hub: RunningHub, channel: str, *, name: str, body: str,
                       subject: str | None = None, handle: str = "camille42") -> str:
    """A customer's chat or email, posted to the hub's signed webhook as a platform would."""
    sender = {"address": f"{handle}@example.fr"} if channel == "email" else {"handle": handle}
    message: dict[str, Any] = {
        "channel": channel, "message_id": f"e2e-{next(_ids)}", "queue": "support",
        "conversation_id": f"conv-{next(_ids)}", "sender": {**sender, "name": name},
        "body": body, "content_url": f"{hub.url}/democrm/conversations/{handle}",
    }
    if subject:
        message["subject"] = subject
    raw = json.dumps(message).encode()
    async with httpx.AsyncClient(base_url=hub.url, timeout=10) as client:
        r = await client.post("/api/digital/web/webhook", content=raw, headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(SECRET, raw, int(time.time()))})
    assert r.status_code == 201, f"POST /api/digital/web/webhook: {r.status_code} {r.text}"
    return str(r.json()["interaction_id"])


async def post_chat(hub: RunningHub, **kw: Any) -> str:
    return await post_message(hub, "chat", **kw)


async def logged(hub: RunningHub, agent: str, iid: str) -> dict[str, Any]:
    """The interaction as the hub's history (GET /api/interactions) has it, once written."""
    async with httpx.AsyncClient(base_url=hub.url, timeout=10) as client:
        config = (await client.get("/api/public-config")).json()
        password = next(d["password"] for d in config["demo_logins"] if d["username"] == agent)
        r = await client.post("/api/login", json={"username": agent, "password": password})
        headers = {"Authorization": f"Bearer {r.json()['token']}"}
        found: dict[str, Any] = {}

        async def written() -> bool:
            rows = (await client.get("/api/interactions", headers=headers)).json()
            found.update(next((i for i in rows if i["interaction_id"] == iid), {}))
            return bool(found)

        for _ in range(100):
            if await written():
                return found
            await asyncio.sleep(0.05)
    raise AssertionError(f"{iid} never reached the history of {agent}")


async def open_supervisor(hub: RunningHub, browsers: Browsers) -> Any:
    page = await browsers.page(name="supervisor-sam", width=1280, height=900)
    await page.goto(f"{hub.url}/supervisor/?user=sam")
    await expect(page.locator(".conn")).to_have_attribute("data-status", "online")
    return page


def offer(bar: Bar) -> Any:
    return bar.page.locator("ctib-work.toast")


def work(bar: Bar) -> Any:
    return bar.page.locator(".work ctib-work")


async def answer_a_call(hub: RunningHub, alice: Bar) -> None:
    await alice.answers("support", number="+33612345678", name="Camille Petit")


async def test_a_chat_is_offered_beside_a_call_accepted_and_closed_while_the_supervisor_follows(
    hub: RunningHub, browsers: Browsers, open_bar: Callable[..., Awaitable[Bar]],
) -> None:
    sup = await open_supervisor(hub, browsers)
    alice_row = sup.locator("table.agents tr[data-agent=alice]")
    alice = await open_bar("alice")
    await alice.agent_ready()
    await answer_a_call(hub, alice)
    load = alice.page.locator(".load")
    await expect(load).to_contain_text("voice 1/1")
    await expect(load).to_contain_text("chat 0/3")

    # A chat arrives: within capacity (a call does not block chat here), it is offered.
    iid = await post_chat(hub, name="Léa Dubois", subject="Order 1042",
                          body="Hello, where is my parcel?", handle="lea")
    toast = offer(alice)
    await expect(toast).to_have_attribute("data-interaction-id", iid)
    await expect(toast.locator(".sender")).to_have_text("Léa Dubois")
    await expect(toast.locator(".subject")).to_have_text("Order 1042")
    await expect(toast.locator(".preview")).to_have_text("Hello, where is my parcel?")
    await expect(toast.locator(".countdown")).to_have_text(
        re.compile(r"Expires in (0:[0-5]\d|1:00)"))
    await expect(toast).to_have_attribute("aria-label", "chat offered from Léa Dubois")
    # The call keeps the focus (the agent is talking); Alt+A from the offer accepts it.
    await toast.get_by_role("button", name="Accept").focus()
    await alice.page.keyboard.press("Alt+A")

    card = work(alice)
    await expect(card).to_have_attribute("data-state", "active")
    await expect(offer(alice)).to_have_count(0)
    await expect(card.locator(".sender")).to_have_text("Léa Dubois")
    await expect(load).to_contain_text("chat 1/3")
    # The supervisor sees both on Alice's row and in the live interactions, in real time.
    await expect(alice_row.locator(".work")).to_contain_text("Camille Petit")
    await expect(alice_row.locator(".work")).to_contain_text("Léa Dubois")
    voice_row = sup.locator("table.live tbody tr[data-channel=voice]")
    await expect(voice_row).to_contain_text("Camille Petit")
    chat_row = sup.locator(f"table.live tbody tr[data-id='{iid}']")
    await expect(chat_row).to_contain_text("Léa Dubois")
    await expect(chat_row).to_contain_text("Alice Martin")

    # An email arrives too (email is not blocked by chat or voice): offered, then declined
    # with a reason; it goes back to the queue and the bar says so.
    mail = await post_message(hub, "email", name="Noé Garnier", subject="Invoice December",
                              body="My invoice counts the subscription twice.", handle="noe")
    await expect(offer(alice)).to_have_attribute("data-interaction-id", mail)
    await expect(offer(alice).locator(".chan")).to_have_text("email")
    await alice.page.screenshot(path=screenshot_path("digital"))
    await offer(alice).get_by_role("button", name="Decline…").click()
    await expect(offer(alice).get_by_label("Reason (optional)")).to_be_focused()
    await alice.page.keyboard.type("Not my language")
    await alice.page.keyboard.press("Enter")
    await expect(offer(alice)).to_have_count(0)
    await expect(alice.page.locator(".work-notice")).to_have_text(
        "You declined the email from Noé Garnier: it went back to the queue.")
    mail_row = sup.locator(f"table.live tbody tr[data-id='{mail}']")
    await expect(mail_row).to_contain_text("Noé Garnier")

    # Open: standalone, the conversation opens in a new tab (framed, ctibridge.open).
    async with alice.page.context.expect_page() as opened:
        await card.get_by_role("button", name="Open").click()
    tab = await opened.value
    await tab.wait_for_load_state()
    assert tab.url.endswith("/democrm/conversations/lea")
    await tab.close()

    # Close with a disposition and notes.
    await card.get_by_role("button", name="Close…").click()
    await card.get_by_label("Outcome").select_option("resolved")
    await card.get_by_label("Notes").fill("Parcel found")
    await card.get_by_role("button", name="Close", exact=True).click()
    await expect(work(alice)).to_have_count(0)
    await expect(load).to_contain_text("chat 0/3")
    await expect(chat_row).to_have_count(0)
    await expect(alice_row.locator(".work")).not_to_contain_text("Léa Dubois")
    await expect(alice_row.locator(".work")).to_contain_text("Camille Petit")
    closed = await logged(hub, "alice", iid)
    assert (closed["disposition"], closed["notes"], closed["channel"]) == (
        "resolved", "Parcel found", "chat")


async def test_an_offer_that_times_out_leaves_the_bar_with_a_notice(
    start_hub: Callable[..., Awaitable[RunningHub]], browsers: Browsers,
) -> None:
    hub = await start_omni_hub(start_hub, offer_timeout=2.0)
    page = await browsers.page(name="alice")
    alice = await Bar(page, hub).open("alice")
    await alice.agent_ready()
    iid = await post_chat(hub, name="Hugo Bernard", body="Anyone there?", handle="hugo")
    await expect(offer(alice)).to_have_attribute("data-interaction-id", iid)
    notice = page.locator(".work-notice")
    await expect(notice).to_have_text(
        "The chat from Hugo Bernard was not accepted in time: it went back to the queue.")
    # Gone from the bar (the router does not offer it to Alice again at once).
    await expect(offer(alice)).to_have_count(0)
    await expect(page.locator("ctib-work")).to_have_count(0)


async def test_a_hostile_sender_name_and_subject_render_as_text(
    hub: RunningHub, open_bar: Callable[..., Awaitable[Bar]],
) -> None:
    alice = await open_bar("alice")
    await alice.agent_ready()
    evil = '<img src=x onerror="window.__pwned=1">Eve'
    await post_chat(hub, name=evil, subject="<b>urgent</b>",
                    body="<script>window.__pwned=2</script>hi", handle="eve")
    toast = offer(alice)
    await expect(toast.locator(".sender")).to_have_text(evil)
    await expect(toast.locator(".subject")).to_have_text("<b>urgent</b>")
    assert await toast.locator("img, b, script").count() == 0
    assert await alice.page.evaluate("window.__pwned") is None


async def test_open_in_a_framed_bar_asks_the_crm_to_open_the_conversation(
    start_hub: Callable[..., Awaitable[RunningHub]], host_page: Any, browsers: Browsers,
) -> None:
    port = free_port()
    crm = await host_page(HOST_PAGE.replace("{bar}", f"http://127.0.0.1:{port}/agentbar/?user=alice"))
    hub = await start_omni_hub(start_hub, server={"port": port, "allowed_origins": [crm]})
    page = await browsers.page(name="crm", width=420)
    await page.goto(f"{crm}/crm.html")
    bar = page.frame_locator("#bar")
    await expect(bar.locator(".conn")).to_have_attribute("data-status", "online")
    await bar.get_by_role("button", name="Agent log in").click()
    await bar.get_by_role("button", name="Ready", exact=True).click()
    iid = await post_chat(hub, name="Léa Dubois", body="Hello", handle="lea")
    await bar.locator("ctib-work.toast").get_by_role("button", name="Accept").click()
    await bar.locator(".work ctib-work").get_by_role("button", name="Open").click()
    await page.wait_for_function(
        "() => window.got.some((m) => m.data && m.data.type === 'ctibridge.open')")
    got = await page.evaluate("() => window.got.filter((m) => m.data.type === 'ctibridge.open')")
    assert [(m["origin"], m["data"]["source"], m["data"]["data"]) for m in got] == [(
        hub.url, "ctibridge",
        {"url": f"{hub.url}/democrm/conversations/lea", "interaction_id": iid, "channel": "chat"})]


async def test_open_in_the_demo_crm_opens_the_conversation_in_a_new_tab(
    start_hub: Callable[..., Awaitable[RunningHub]], browsers: Browsers, tmp_path: Any,
) -> None:
    hub = await start_omni_hub(
        start_hub, democrm={"database": f"sqlite:///{tmp_path / 'democrm.db'}",
                            "api_key": "e2e-key"})
    page, bar = await democrm_bar(browsers, hub)
    await ready_in(bar)
    await post_chat(hub, name="Léa Dubois", body="Hello", handle="lea")
    await bar.locator("ctib-work.toast").get_by_role("button", name="Accept").click()
    async with page.context.expect_page() as opened:
        await bar.locator(".work ctib-work").get_by_role("button", name="Open").click()
    tab = await opened.value
    assert tab.url == f"{hub.url}/democrm/conversations/lea"
