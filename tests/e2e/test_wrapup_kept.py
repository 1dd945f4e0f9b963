"""Wrap-up work is never lost, in Chromium: a supervisor's "not ready" waits for the end of
the agent's wrap-up, and the form (what was typed, unsaved) survives a real restart of the
hub's process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import expect

from tests.integration.serveproc import answers_readyz, cli_process

from .conftest import Bar, Browsers, RunningHub, free_port
from .test_supervisor import hub, open_supervisor  # noqa: F401 (the fixture with queues)


async def test_a_supervisors_not_ready_waits_for_the_agents_wrap_up_and_keeps_the_form(
    hub: RunningHub, browsers: Browsers,  # noqa: F811
    open_bar: Callable[..., Awaitable[Bar]],
) -> None:
    sup = await open_supervisor(hub, browsers)
    alice = await open_bar("alice")
    await alice.agent_ready()
    ref = hub.sim.customer_calls("support", number="+33612345678", name="Camille Petit")
    await alice.toast.get_by_role("button", name="Answer").click()
    await expect(alice.card("Camille Petit")).to_have_attribute("data-state", "connected")
    hub.sim.customer_hangs_up(ref)
    form = alice.page.locator(".wrapup")
    await expect(form).to_contain_text("Camille Petit")
    await form.get_by_label("Outcome").select_option("callback")
    await form.get_by_label("Notes").fill("Call back after 5 pm about the refund")

    alice_row = sup.locator("table.agents tr[data-agent=alice]")
    await alice_row.get_by_role("button", name="Set Alice Martin not ready").click()
    dialog = sup.get_by_role("dialog", name="Set Alice Martin not ready")
    await dialog.get_by_label("Reason").select_option("training")
    await dialog.get_by_role("button", name="Set not ready").click()
    await expect(dialog).to_be_hidden()

    # Alice stays in wrap-up, her form as she left it, and is told what comes next.
    await expect(alice_row).to_have_attribute("data-status", "wrap_up")
    await expect(alice.page.locator(".state")).to_have_attribute("data-status", "wrap_up")
    await expect(form.locator(".pending-change")).to_contain_text("sam")
    await expect(form.locator(".pending-change")).to_contain_text("Training")
    await expect(form.get_by_label("Outcome")).to_have_value("callback")
    await expect(form.get_by_label("Notes")).to_have_value("Call back after 5 pm about the refund")

    await form.get_by_role("button", name="Save and go ready").click()
    await expect(alice.page.locator(".state")).to_have_attribute("data-status", "not_ready")
    await expect(alice.state).to_contain_text("Training")
    await expect(alice_row.locator(".badge")).to_have_text("Not ready — Training")
    await expect(form).to_be_hidden()
    it = next(i for i in hub.hub.interactions.recent("alice") if i.customer.name == "Camille Petit")
    assert (it.disposition, it.notes) == ("callback", "Call back after 5 pm about the refund")


# ---------------------------------------------------------------- a real process restart


@contextlib.asynccontextmanager
async def demo(db: Path, port: int) -> AsyncIterator[str]:
    """``ctibridge demo`` as a process on ``port`` with the SQLite file ``db``, no traffic;
    stopped with SIGKILL (a crash, the hardest restart) when the block ends."""
    url = f"http://127.0.0.1:{port}"
    async with cli_process("ctibridge demo", "demo", "--port", str(port), "--db", str(db),
                           "--calls-per-minute", "0", ready=lambda: answers_readyz(url),
                           stop=signal.SIGKILL):
        yield url


async def as_admin(url: str, method: str, path: str, **kw: Any) -> Any:
    async with httpx.AsyncClient(base_url=url) as http:
        login = await http.post("/api/login", json={"username": "admin", "password": "admin"})
        login.raise_for_status()
        r = await http.request(method, path, headers={
            "Authorization": f"Bearer {login.json()['token']}"}, **kw)
        r.raise_for_status()
        return r.json()


async def alices_call(url: str, name: str) -> dict[str, Any]:
    rows = await as_admin(url, "GET", "/api/interactions", params={"agent_id": "alice"})
    return next(i for i in rows if i["customer"]["name"] == name)


async def test_the_wrap_up_form_and_the_agents_state_survive_a_hub_process_restart(
    tmp_path: Path, browsers: Browsers,
) -> None:
    db, port = tmp_path / "demo.db", free_port()
    page = await browsers.page(name="alice", locale="en-GB")
    status = page.locator(".conn")
    form = page.locator(".wrapup")
    async with demo(db, port) as url:
        await page.goto(f"{url}/agentbar/?user=alice")
        await expect(status).to_have_attribute("data-status", "online")
        await page.locator("button.agent-login").click()
        await page.locator("button.ready").click()
        await expect(page.locator(".state[data-status=ready]")).to_be_visible()
        await as_admin(url, "POST", "/api/simulator/sim/calls", json={
            "queue": "support", "number": "+33612345678", "name": "Camille Petit"})
        await page.locator("ctib-call.toast").get_by_role("button", name="Answer").click()
        card = page.locator(".calls ctib-call")
        await expect(card).to_have_attribute("data-state", "connected")
        await card.get_by_role("button", name="Hang up").click()
        await expect(form).to_contain_text("Camille Petit")
        await form.get_by_label("Outcome").select_option("callback")
        await form.get_by_label("Notes").fill("Wants a call back on Monday")
        for _ in range(100):  # the bar sends the form a moment after typing stops
            if (await alices_call(url, "Camille Petit")).get("draft"):
                break
            await asyncio.sleep(0.1)
        # The hub's process dies here (SIGKILL) and a new one starts on the same database.

    await expect(status).to_have_attribute("data-status", "reconnecting")
    async with demo(db, port) as url:
        await expect(status).to_have_attribute("data-status", "online", timeout=30_000)
        # Told in words, still in wrap-up, the form as it was.
        await expect(page.locator(".banner.notice")).to_contain_text("The hub restarted")
        await expect(page.locator(".state")).to_have_attribute("data-status", "wrap_up")
        await expect(form.get_by_label("Outcome")).to_have_value("callback")
        await expect(form.get_by_label("Notes")).to_have_value("Wants a call back on Monday")

        await page.reload()  # even a new page finds it: the form is on the hub, not the page
        await expect(status).to_have_attribute("data-status", "online")
        await expect(form.get_by_label("Notes")).to_have_value("Wants a call back on Monday")
        await form.get_by_role("button", name="Save and go ready").click()
        await expect(page.locator(".state")).to_have_attribute("data-status", "ready")
        # Recent calls came back from the store, this one with its outcome.
        await expect(page.locator(".recent-list")).to_contain_text("Camille Petit")
        saved = await alices_call(url, "Camille Petit")
        assert (saved["disposition"], saved["notes"]) == ("callback", "Wants a call back on Monday")
        assert saved["end_cause"] != "hub-restart" and saved["wrapped_at"]
