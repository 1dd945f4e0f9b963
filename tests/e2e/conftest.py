"""End-to-end fixtures: a real hub in the test's event loop, Debian's Chromium, the bar.

The hub runs in-process (uvicorn on a free port) with the simulator, so a test
plays the customers directly (``hub.sim.customer_calls(...)``) while Playwright
clicks in real browser pages. Time is real (the browser's timers are), so the
simulator gets short delays. On failure each page's screenshot and console log
are saved under ``test-artifacts/<test name>/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.needs import unavailable
from tests.net import free_port  # (re-exported: tests import it from here)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
DOCS_IMG = ROOT / "docs" / "img"
CHROMIUM = "/usr/bin/chromium"
HAVE_CHROMIUM = os.path.exists(CHROMIUM)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
AGENTS = [
    {"id": "alice", "name": "Alice Martin", "extension": "1001", "platform": "sim"},
    {"id": "bob", "name": "Bob Durand", "extension": "1002", "platform": "sim"},
    {"id": "carol", "name": "Carol Lefèvre", "extension": "1003", "platform": "sim"},
]
EXPECT_TIMEOUT = 8_000  # ms: generous for a loaded CI machine, never a sleep


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def outliving(base: type) -> type:
    """The simulator as a real PBX behaves: when the hub stops, its calls go on.

    ``SimulatorConnector.stop()`` forgets every call; a PBX does not. This
    subclass only closes the event stream, so that a hub started again with
    the same instance resynchronizes onto the calls still in progress.
    """

    class PbxThatOutlivesTheHub(base):  # type: ignore[misc, valid-type]
        async def stop(self) -> None:
            self._started = False
            self._queue.put_nowait(None)  # ends the stopping hub's event stream

    return PbxThatOutlivesTheHub


# --------------------------------------------------------------------- the hub


@dataclass
class RunningHub:
    """A hub on 127.0.0.1:port that can be stopped and started again on the same port."""

    tmp: Path
    port: int
    overrides: dict[str, Any]
    sim_options: dict[str, Any] = field(default_factory=dict)
    platforms: dict[str, Any] = field(default_factory=dict)  # more connectors than "sim"
    sim: Any = None
    app: Any = None
    settings: Any = None
    _server: Any = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def hub(self) -> Any:
        return self.app.state.hub

    def bar_url(self, user: str | None = None, **params: str) -> str:
        query = {**({"user": user} if user else {}), **params}
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        return f"{self.url}/agentbar/" + (f"?{qs}" if qs else "")

    async def start(self) -> None:

        from ctibridge.api.app import create_app
        from ctibridge.api.server import build_server
        from ctibridge.clock import SystemClock
        from ctibridge.config import Settings
        from ctibridge.telephony.simulator import SimulatorConnector

        clock = SystemClock()
        if self.settings is None:
            base: dict[str, Any] = {
                "demo": True,
                "database": {"url": f"sqlite:///{self.tmp / 'hub.db'}"},
                "server": {"host": "127.0.0.1", "port": self.port},
                "agents": AGENTS,
                "wrap_up_seconds": 120,
            }
            for k, v in self.overrides.items():
                merge = isinstance(v, dict) and isinstance(base.get(k), dict)
                base[k] = {**base[k], **v} if merge else v
            self.settings = Settings.load(None, **base)
        if self.sim is None:
            options: dict[str, Any] = {"seed": 7, "devices": ["1001", "1002", "1003"],
                                       "ring_timeout": 60.0, "answer_delay": (0.2, 0.4)}
            self.sim = outliving(SimulatorConnector)("sim", clock=clock,
                                                     **{**options, **self.sim_options})
        self.app = create_app(self.settings, connectors={"sim": self.sim, **self.platforms},
                              clock=clock)
        self._server = build_server(self.app, self.settings)  # production's limits
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("the hub did not start")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True  # closes the sockets (1012), then the lifespan
            done, _ = await asyncio.wait({self._task}, timeout=10)
            if not done:  # something hangs: do not let it hang the suite
                self._server.force_exit = True
                await asyncio.wait({self._task}, timeout=5)
        self._server = self._task = None

    async def restart(self) -> None:
        """Stop, then a fresh app with the same settings and the SAME simulator."""
        await self.stop()
        await self.start()

    def call_id_of(self, ref: Any) -> str:
        call = self.hub.calls.by_ref("sim", ref)
        assert call is not None, f"the hub does not know the simulator's call {ref}"
        return str(call.call_id)

    async def until(self, pred: Callable[[], bool], what: str, seconds: float = 8.0) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while not pred():
            if loop.time() > end:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)


@pytest.fixture
async def start_hub(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[RunningHub]]]:
    """``await start_hub(server={"allowed_origins": [...]})``: a hub with overrides.

    ``sim={...}`` passes options to the simulator (e.g. ``capabilities``);
    ``platforms={name: connector}`` adds telephony platforms beside it.
    """
    hubs: list[RunningHub] = []

    async def start(*, sim: dict[str, Any] | None = None,
                    platforms: dict[str, Any] | None = None, **overrides: Any) -> RunningHub:
        port = int(overrides.get("server", {}).get("port") or free_port())
        h = RunningHub(tmp_path / f"hub{len(hubs)}", port, overrides, dict(sim or {}),
                       dict(platforms or {}))
        h.tmp.mkdir()
        await h.start()
        hubs.append(h)
        return h

    yield start
    for h in hubs:
        await h.stop()


@pytest.fixture
async def hub(start_hub: Callable[..., Awaitable[RunningHub]]) -> RunningHub:
    return await start_hub()


@pytest.fixture
async def crm_hub(start_hub: Callable[..., Awaitable[RunningHub]],
                  tmp_path: Path) -> RunningHub:
    """A hub serving the demo CRM at /democrm and popping/logging through it."""
    from .democrm import API_KEY, MAPPING  # (it imports from here)

    mapping = tmp_path / "democrm.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return await start_hub(
        democrm={"database": f"sqlite:///{tmp_path / 'democrm.db'}", "api_key": API_KEY},
        crm={"mapping": str(mapping), "variables": {"democrm_key": API_KEY},
             "pop_timeout_seconds": 3})


@pytest.fixture
async def host_page() -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """``origin = await host_page(html)``: a page on its own local origin (a CRM).

    A real server on 127.0.0.1, because Chromium lets only a local page frame
    a local address (Local Network Access), and a routed page counts as public.
    """
    servers: list[asyncio.Server] = []

    async def serve(html: str, files: dict[str, tuple[str, bytes]] | None = None) -> str:
        """``files``: more paths this origin serves, ``{"/sdk.js": (type, bytes)}``."""
        pages = {"/": ("text/html; charset=utf-8", html.encode()), **(files or {})}

        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                request = await reader.readline()
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                parts = request.split()
                path = parts[1].decode().split("?")[0] if len(parts) > 1 else "/"
                kind, body = pages.get(path, pages["/"])
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\n" % kind.encode()
                             + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
                             + body)
                await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    yield serve
    for server in servers:
        server.close()
        await server.wait_closed()


# --------------------------------------------------------------------- the browser


@dataclass
class Browsers:
    """Chromium, its contexts and pages, and what their consoles said."""

    browser: Any
    contexts: list[Any] = field(default_factory=list)
    pages: list[tuple[str, Any]] = field(default_factory=list)
    console: dict[int, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    async def context(self, *, locale: str = "en-GB", width: int = 380, height: int = 900,
                      **kw: Any) -> Any:
        ctx = await self.browser.new_context(locale=locale,
                                             viewport={"width": width, "height": height}, **kw)
        self.contexts.append(ctx)
        return ctx

    async def page(self, context: Any = None, name: str | None = None, **kw: Any) -> Any:
        ctx = context or await self.context(**kw)
        page = await ctx.new_page()
        label = name or f"page{len(self.pages) + 1}"
        self.watch(page, label)
        return page

    def watch(self, page: Any, label: str) -> None:
        log = self.console.setdefault(id(page), [])
        self.pages.append((label, page))
        page.on("console", lambda m: log.append(f"[{m.type}] {m.text}"))

        def crashed(err: Any) -> None:
            log.append(f"[pageerror] {err}")
            self.errors.append(f"{label}: {err}")

        page.on("pageerror", crashed)

    def log_of(self, page: Any) -> list[str]:
        return self.console.get(id(page), [])


@pytest.fixture
async def browsers(request: pytest.FixtureRequest) -> AsyncIterator[Browsers]:
    if not HAVE_CHROMIUM:
        unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=EXPECT_TIMEOUT)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                           args=CHROMIUM_ARGS)
        b = Browsers(browser)
        try:
            yield b
        finally:
            rep = getattr(request.node, "rep_call", None)
            if rep is not None and rep.failed:
                await _save_artifacts(request.node.name, b)
            with contextlib.suppress(Exception):
                await browser.close()
    # A JavaScript exception in any page fails the test, even if it clicked on.
    assert not b.errors, "JavaScript errors in the bar:\n" + "\n".join(b.errors)


async def _save_artifacts(test_name: str, b: Browsers) -> None:
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", test_name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    for label, page in b.pages:
        with contextlib.suppress(Exception):
            await page.screenshot(path=str(folder / f"{label}.png"), full_page=True, timeout=5000)
        (folder / f"{label}.console.log").write_text("\n".join(b.log_of(page)) + "\n",
                                                     encoding="utf-8")


# --------------------------------------------------------------------- the bar


class Bar:
    """One agent bar page, with the few moves every scenario makes."""

    def __init__(self, page: Any, hub: RunningHub) -> None:
        self.page = page
        self.hub = hub

    def button(self, name: str | re.Pattern[str]) -> Any:
        return self.page.get_by_role("button", name=name, exact=isinstance(name, str))

    @property
    def status(self) -> Any:
        return self.page.locator(".conn")

    @property
    def state(self) -> Any:
        return self.page.locator(".state-label")

    @property
    def toast(self) -> Any:
        return self.page.locator("ctib-call.toast")

    def card(self, text: str | None = None) -> Any:
        cards = self.page.locator(".calls ctib-call")
        if not text:
            return cards
        return cards.filter(has=self.page.locator(".call-title, .number", has_text=text))

    async def open(self, user: str, **params: str) -> Bar:
        from playwright.async_api import expect

        await self.page.goto(self.hub.bar_url(user, **params))
        await expect(self.status).to_have_attribute("data-status", "online")
        return self

    async def agent_ready(self) -> None:
        from playwright.async_api import expect

        login = self.page.locator("button.agent-login")
        if await login.is_visible():
            await login.click()
            await expect(self.page.locator(".state[data-status=not_ready]")).to_be_visible()
        await self.page.locator("button.ready").click()
        await expect(self.page.locator(".state[data-status=ready]")).to_be_visible()

    async def agent_login(self) -> None:
        from playwright.async_api import expect

        await self.page.locator("button.agent-login").click()
        await expect(self.page.locator(".state[data-status=not_ready]")).to_be_visible()

    async def answers(self, queue: str, *, number: str, name: str) -> Any:
        """A customer calls ``queue``; this agent answers from the toast: the call's card."""
        from playwright.async_api import expect

        self.hub.sim.customer_calls(queue, number=number, name=name)
        await self.toast.get_by_role("button", name="Answer").click()
        card = self.card(name)
        await expect(card).to_have_attribute("data-state", "connected")
        return card


@pytest.fixture
def open_bar(hub: RunningHub, browsers: Browsers) -> Callable[..., Awaitable[Bar]]:
    """``await open_bar("alice")``: a new browser context with the bar signed in as alice."""

    async def open_(user: str, *, context: Any = None, locale: str = "en-GB",
                    hub_: RunningHub | None = None, **params: str) -> Bar:
        page = await browsers.page(context, name=f"{user}{len(browsers.pages) + 1}", locale=locale)
        return await Bar(page, hub_ or hub).open(user, **params)

    return open_


@pytest.fixture
async def alice_and_bob(open_bar: Callable[..., Awaitable[Bar]]) -> tuple[Bar, Bar]:
    """Alice ready, Bob logged in but not ready: a customer's call is Alice's."""
    alice = await open_bar("alice")
    bob = await open_bar("bob")
    await alice.agent_ready()
    await bob.agent_login()
    return alice, bob


async def host_bar(browsers: Browsers, url: str, frame: str, *, name: str,
                   width: int = 1000) -> tuple[Any, Any]:
    """A host page (a CRM) at ``url`` with the bar in its ``frame``, the bar online."""
    from playwright.async_api import expect

    page = await browsers.page(name=name, width=width, height=800)
    await page.goto(url)
    bar = page.frame_locator(frame)
    await expect(bar.locator(".conn")).to_have_attribute("data-status", "online")
    return page, bar


async def democrm_bar(browsers: Browsers, hub: RunningHub) -> tuple[Any, Any]:
    """The demo CRM's page for Alice with the bar beside it, online."""
    return await host_bar(browsers, f"{hub.url}/democrm/?user=alice", "#ctibridge",
                          name="crm", width=1280)


async def ready_in(bar: Any) -> None:
    """The agent signs in and goes ready in a host page's bar frame."""
    from playwright.async_api import expect

    await bar.locator("button.agent-login").click()
    await bar.locator("button.ready").click()
    await expect(bar.locator(".state")).to_have_attribute("data-status", "ready")


def screenshot_path(name: str) -> str:
    """Where a test saves a picture of the bar: docs/img only when CTIBRIDGE_SCREENSHOTS=1.

    Otherwise under test-artifacts/screenshots/, so that an ordinary test run does
    not rewrite the documentation's images (and dirty the working tree).
    """
    wanted = os.environ.get("CTIBRIDGE_SCREENSHOTS") == "1"
    folder = DOCS_IMG if wanted else ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / f"agentbar-{name}.png")
