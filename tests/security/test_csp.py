"""A strict Content-Security-Policy on everything the hub serves, and every page
still works under it in a real Chromium: no inline script, nothing from another
origin (Swagger UI included: it comes from a pinned package, not a CDN)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, HAVE_CHROMIUM
from tests.needs import unavailable

from .conftest import Hub

CRM = "https://crm.example.com"
# Watches the policy from inside each page: every violation the browser reports.
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


def directives(header: str) -> dict[str, str]:
    out = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition(" ")
        out[name] = value
    return out


@pytest.fixture
async def hub(start_hub: Callable[..., Awaitable[Hub]]) -> Hub:
    return await start_hub(server={"allowed_origins": [CRM]}, democrm={
        "database": "sqlite:///:memory:"},
        digital=[{"name": "digisim", "type": "simulator", "options": {"per_minute": 0}}])


async def test_every_answer_carries_the_strict_policy(hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=hub.url) as http:
        for path in ("/agentbar/", "/supervisor/", "/democrm/", "/docs/", "/openapi.json",
                     "/docs/swagger/swagger-ui-bundle.js", "/api/public-config", "/healthz",
                     "/digital/digisim/conversations/nope", "/no-such-page"):
            r = await http.get(path)
            policy = directives(r.headers["content-security-policy"])
            assert policy["script-src"] == "'self'", path
            assert policy["default-src"] == "'self'" and policy["object-src"] == "'none'"
            assert policy["base-uri"] == "'none'" and policy["connect-src"] == "'self'"
            assert policy["frame-ancestors"] == f"'self' {CRM}", path  # as configured
            assert "unsafe" not in r.headers["content-security-policy"], path
            assert r.headers["x-content-type-options"] == "nosniff"
        # Refusals carry it too.
        r = await http.get("/agentbar/", headers={"Host": "evil.com"})
        assert r.status_code == 400 and "script-src 'self'" in r.headers[
            "content-security-policy"]
        # The docs page loads Swagger UI from the hub, not from a CDN.
        docs = (await http.get("/docs/")).text
        sources = [line.split('"')[1] for line in docs.splitlines() if "src=" in line
                   or "href=" in line]
        assert sources and all("//" not in s for s in sources), sources  # all relative
        assert "<script>" not in docs
        assert (await http.get("/docs")).status_code in (200, 307)


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    if not HAVE_CHROMIUM:
        unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                           args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def open_page(browser: Any, hub: Hub, path: str) -> tuple[Any, list[str], list[str]]:
    """The page, the requests it sent elsewhere than the hub, its JavaScript errors."""
    page = await browser.new_page()
    await page.add_init_script(WATCH)
    elsewhere: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((hub.url, "data:", "blob:"))
            else elsewhere.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(hub.url + path)
    return page, elsewhere, errors


async def test_the_pages_work_under_the_policy_in_chromium(hub: Hub, chromium: Any) -> None:
    from playwright.async_api import expect

    checks = {
        "/docs/": lambda p: p.locator(".opblock-summary-path").first,  # Swagger UI rendered
        "/agentbar/?user=alice": lambda p: p.locator(".conn[data-status=online]"),
        "/supervisor/?user=sam": lambda p: p.locator(".conn[data-status=online]"),
        "/democrm/?user=alice": lambda p: p.frame_locator("#ctibridge").locator(
            ".conn[data-status=online]"),
    }
    for path, ready in checks.items():
        page, elsewhere, errors = await open_page(chromium, hub, path)
        await expect(ready(page)).to_be_visible(timeout=15_000)
        violations = await page.evaluate("window.__violations")
        for frame in page.frames[1:]:
            violations += await frame.evaluate("window.__violations || []")
        assert violations == [], (path, violations)
        assert elsewhere == [], (path, elsewhere)
        assert errors == [], (path, errors)
        await page.close()


async def test_an_injected_inline_script_is_blocked(hub: Hub, chromium: Any) -> None:
    """What the policy is for: script that got into a page does not run."""
    page, _, _ = await open_page(chromium, hub, "/agentbar/")
    ran = await page.evaluate("""() => {
        window.__ran = false;
        const s = document.createElement("script");
        s.textContent = "window.__ran = true";
        document.body.appendChild(s);
        return new Promise((ok) => setTimeout(() => ok(window.__ran), 200));
    }""")
    assert ran is False
    violations = await page.evaluate("window.__violations")
    assert any(v.startswith("script-src") for v in violations), violations


def test_scripts_come_from_the_hub_and_only_the_crm_origins_listed_for_them() -> None:
    """A CRM's own softphone library (Salesforce Open CTI) loads only from an origin in
    server.script_origins; frame-ancestors alone never lets a page's scripts in."""
    from ctibridge.api.security import policy
    from ctibridge.config import Settings

    plain = directives(policy([CRM]))
    assert plain["script-src"] == "'self'"
    with_org = directives(policy([CRM], script_origins=["https://acme.my.salesforce.com"]))
    assert with_org["script-src"] == "'self' https://acme.my.salesforce.com"
    from ctibridge.config import ConfigError

    for bad in ("*", "https://x.com/ 'unsafe-inline'", "https:"):
        with pytest.raises(ConfigError, match="script_origins"):
            Settings.load(None, server={"script_origins": [bad]})
