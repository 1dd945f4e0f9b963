"""Hostile and stale input: markup in caller data, bad socket frames, bad host messages."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.async_api import expect

from .conftest import Bar, Browsers, RunningHub, free_port

EVIL_NAME = '<img src=x onerror="window.__pwned=1"><b>Eve</b>'
EVIL_NOTE = "<script>window.__pwned=2</script>"


async def test_markup_in_caller_data_is_shown_as_text(hub: RunningHub, open_bar) -> None:
    alice: Bar = await open_bar("alice")
    await alice.agent_ready()
    hub.sim.customer_calls("support", number="+33612345678", name=EVIL_NAME,
                           attached={"note": EVIL_NOTE, "<i>key</i>": "v"})
    toast = alice.toast
    await expect(toast.locator(".name")).to_have_text(EVIL_NAME)
    await expect(toast.locator(".attached")).to_contain_text(EVIL_NOTE)
    await expect(toast.locator(".attached")).to_contain_text("<i>key</i>")
    assert await alice.page.locator("ctibridge-bar img, ctibridge-bar b, ctibridge-bar script, "
                                    "ctibridge-bar i").count() == 0
    await toast.get_by_role("button", name="Answer").click()
    await expect(alice.card()).to_have_attribute("data-state", "connected")
    await alice.card().get_by_role("button", name="Hang up").click()
    await expect(alice.page.locator(".wrapup")).to_contain_text(EVIL_NAME)
    assert await alice.page.evaluate("() => window.__pwned") is None


async def test_malformed_socket_frames_are_ignored_and_logged(hub: RunningHub,
                                                              browsers: Browsers) -> None:
    page = await browsers.page(name="alice")
    sockets: list[Any] = []

    def relay(ws: Any) -> None:
        sockets.append(ws)
        ws.connect_to_server()  # a transparent proxy; the test injects frames into it

    await page.route_web_socket(re.compile(r".*/ws\?ticket=.*"), relay)
    bar = await Bar(page, hub).open("alice")
    await bar.agent_ready()
    ws = sockets[-1]
    for frame in [
        "this is not JSON <b>",
        "[1, 2, 3]",
        json.dumps({"no": "type"}),
        json.dumps({"type": "event", "seq": "x", "name": "call.offered", "data": {}}),
        json.dumps({"type": "event", "seq": 10_000, "name": "call.offered",
                    "data": {"call": {"call_id": {"$gt": ""}, "connections": "all"}}}),
        json.dumps({"type": "ack", "id": "not-ours", "result": {}}),
        json.dumps({"type": "surprise", "html": "<img src=x onerror=window.__pwned=1>"}),
    ]:
        ws.send(frame)
    await expect(page.locator(".state")).to_have_attribute("data-status", "ready")
    log = "\n".join(browsers.log_of(page))
    await _until(lambda: log_count(browsers, page, "ignored") >= 6, page)
    assert "warning" in log or "ignored" in "\n".join(browsers.log_of(page))
    # Still working: a real call rings and is answered.
    await bar.answers("support", number="+33612345678", name="Camille Petit")
    assert await page.evaluate("() => window.__pwned") is None


def log_count(browsers: Browsers, page: Any, word: str) -> int:
    return sum(1 for line in browsers.log_of(page) if word in line)


async def _until(pred: Any, page: Any) -> None:
    for _ in range(100):
        if pred():
            return
        await page.wait_for_timeout(50)
    raise AssertionError("condition never met")


async def test_a_command_on_a_call_that_ended_meanwhile_tells_the_agent(
    hub: RunningHub, browsers: Browsers
) -> None:
    """A bar that missed the end of a call (events lost) finds out when it acts."""
    page = await browsers.page(name="alice", locale="fr-FR")
    blackout = {"on": False}

    def relay(ws: Any) -> None:
        server = ws.connect_to_server()

        def from_hub(message: str | bytes) -> None:
            if blackout["on"] and isinstance(message, str) and '"type":"event"' in message:
                return  # lost on the way
            ws.send(message)

        server.on_message(from_hub)

    await page.route_web_socket(re.compile(r".*/ws\?ticket=.*"), relay)
    bar = await Bar(page, hub).open("alice")
    await bar.agent_ready()
    ref = hub.sim.customer_calls("support", number="+33612345678", name="Camille Petit")
    await expect(bar.toast).to_contain_text("Camille Petit")
    blackout["on"] = True
    hub.sim.customer_hangs_up(ref)
    await hub.until(lambda: not hub.hub.agents["alice"].calls, "the call to end in the hub")
    await expect(bar.toast).to_contain_text("Camille Petit")  # stale: it never heard
    await bar.toast.get_by_role("button", name="Décrocher").click()
    await expect(page.locator(".banner.error")).to_contain_text("Cet appel est déjà terminé.")
    await expect(bar.toast).to_have_count(0)


HOST_PAGE = """<!doctype html><html><head><title>CRM</title></head><body>
<h1>CRM</h1>
<script>
  window.got = [];
  addEventListener("message", (e) => { window.got.push({origin: e.origin, data: e.data}); });
</script>
<iframe id="bar" src="{bar}" style="width:360px;height:760px;border:0"></iframe>
</body></html>"""


async def _crm_and_hub(start_hub: Any, host_page: Any, *, allowed: bool
                       ) -> tuple[RunningHub, str]:
    """A hub, and a CRM page on its own origin framing the bar; allowed or not."""
    port = free_port()
    crm = await host_page(HOST_PAGE.replace("{bar}", f"http://127.0.0.1:{port}/agentbar/?user=alice"))
    allowed_origins = [crm] if allowed else ["http://crm.example"]
    hub = await start_hub(server={"port": port, "allowed_origins": allowed_origins})
    return hub, crm


async def _open_crm(browsers: Browsers, origin: str, name: str) -> tuple[Any, Any]:
    ctx = await browsers.context(width=420)
    page = await ctx.new_page()
    browsers.watch(page, name)
    await page.goto(f"{origin}/crm.html")
    frame = page.frame_locator("#bar")
    await expect(frame.locator(".conn")).to_have_attribute("data-status", "online")
    return page, frame


async def _post(page: Any, hub: RunningHub, command: dict[str, Any]) -> None:
    await page.evaluate(
        "([cmd, origin]) => document.getElementById('bar').contentWindow.postMessage(cmd, origin)",
        [command, hub.url])


def _from_bar(got: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in got if isinstance(m["data"], dict)
            and m["data"].get("source") == "ctibridge" and m["data"].get("type") == kind]


async def _got(page: Any, kind: str, count: int = 1) -> list[dict[str, Any]]:
    """The messages of type ``kind`` the bar posted to the CRM, once there are ``count``."""
    await page.wait_for_function(
        """([t, n]) => window.got.filter((m) => m.data && m.data.source === 'ctibridge'
                                         && m.data.type === t).length >= n""",
        arg=[kind, count])
    return _from_bar(await page.evaluate("() => window.got"), kind)


async def test_an_allowed_crm_gets_events_and_can_dial(start_hub, host_page,
                                                       browsers: Browsers) -> None:
    hub, crm = await _crm_and_hub(start_hub, host_page, allowed=True)
    page, frame = await _open_crm(browsers, crm, "crm")
    await frame.get_by_role("button", name="Agent log in").click()
    await frame.get_by_role("button", name="Ready", exact=True).click()
    await expect(frame.locator(".state")).to_have_attribute("data-status", "ready")
    states = await _got(page, "agent.state")
    assert states[-1]["origin"] == hub.url
    assert {"agent_id", "status", "reason", "since"} <= set(states[-1]["data"]["data"])

    hub.sim.customer_calls("support", number="+33612345678", name="Camille Petit",
                           attached={"customer_id": "C-1042"})
    [pop] = await _got(page, "screenpop")
    assert pop["data"]["data"]["number"] == "+33612345678"
    assert pop["data"]["data"]["name"] == "Camille Petit"
    assert pop["data"]["data"]["attached"] == {"customer_id": "C-1042"}
    [offered] = await _got(page, "call.offered")
    call_id = offered["data"]["data"]["call_id"]
    await frame.get_by_role("button", name="Answer").click()
    [answered] = await _got(page, "call.answered")
    assert answered["data"]["data"]["call_id"] == call_id
    await frame.locator(".calls ctib-call").get_by_role("button", name="Hang up").click()
    [ended] = await _got(page, "call.ended")
    assert ended["data"]["data"]["call_id"] == call_id
    await frame.locator("#ctib-disposition").select_option("resolved")
    await frame.get_by_role("button", name="Save and go ready").click()
    await expect(frame.locator(".state")).to_have_attribute("data-status", "ready")

    # Click-to-dial from the CRM, answered with a command.result.
    hub.sim.set_outcome("+33240000000", "answer")
    await _post(page, hub, {"target": "ctibridge", "type": "dial",
                            "number": "+33 2 40 00 00 00", "id": "d1"})
    [result] = await _got(page, "command.result")
    assert result["data"]["data"]["id"] == "d1"
    assert result["data"]["data"]["ok"] is True, result
    await expect(frame.locator(".calls ctib-call")).to_contain_text("+33 2 40 00 00 00")
    # A malformed command gets no answer (a console warning); a good one does.
    await _post(page, hub, {"target": "ctibridge", "type": "dial", "number": "<img src=x>",
                            "id": "d2"})
    await _post(page, hub, {"target": "ctibridge", "type": "hello", "id": "d3"})
    results = await _got(page, "command.result", count=2)
    assert [r["data"]["data"]["id"] for r in results] == ["d1", "d3"]
    assert results[1]["data"]["data"]["result"]["agent_id"] == "alice"


async def test_a_page_from_another_origin_cannot_even_frame_the_bar(
    start_hub, host_page, browsers: Browsers
) -> None:
    """The hub sends CSP frame-ancestors: Chromium refuses to render the bar in that page,
    so it can neither show the agent's calls nor be driven by postMessage."""
    hub, evil = await _crm_and_hub(start_hub, host_page, allowed=False)
    ctx = await browsers.context(width=420)
    page = await ctx.new_page()
    browsers.watch(page, "evil")
    response = await hub_response(page, f"{evil}/crm.html", hub)
    assert "frame-ancestors 'self' http://crm.example" in response
    frame = page.frame_locator("#bar")
    await page.wait_for_timeout(500)
    assert await frame.locator("ctibridge-bar").count() == 0
    await _post(page, hub, {"target": "ctibridge", "type": "set_state", "status": "ready",
                            "id": "x"})
    assert hub.hub.agents["alice"].state.status == "logged_out"
    got = await page.evaluate("() => window.got")
    assert not [m for m in got if isinstance(m["data"], dict)
                and m["data"].get("source") == "ctibridge"]


async def hub_response(page: Any, url: str, hub: RunningHub) -> str:
    """Open ``url`` and return the CSP header the hub sent for the framed bar."""
    async with page.expect_response(lambda r: r.url.startswith(hub.url + "/agentbar/")) as info:
        await page.goto(url)
    response = await info.value
    return str(response.headers.get("content-security-policy", ""))
