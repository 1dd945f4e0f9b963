"""The demo CRM as the hub serves it: mounted at /democrm, seeded from the running simulator."""

from __future__ import annotations

import httpx

from ctibridge.config import Settings

from .conftest import Crm
from .test_seed import lookup_all


async def test_the_hub_serves_the_demo_crm_seeded_from_its_own_simulator(crm_in_hub: Crm
                                                                        ) -> None:
    crm = crm_in_hub
    assert crm.hub is not None
    # The harness's simulator has seed 7 while the settings name none (default 42): the
    # CRM follows the simulator that really runs, so its callers pop.
    pool = crm.hub.sim.customers.pool
    hits = await lookup_all(crm, pool[:60])
    assert 45 <= sum(1 for ids in hits if ids) < 60
    first = next(iter(next(ids for ids in hits if ids)))
    r = await crm.http.get(f"/contacts/{first}")
    assert r.json()["url"] == f"{crm.url}/democrm/contacts/{first}"
    async with httpx.AsyncClient(base_url=crm.url) as browser:
        page = await browser.get(f"/democrm/contacts/{first}")
        assert page.status_code == 200
        assert '<iframe id="ctibridge" src="/agentbar/?embed=1"' in page.text
        # The hub's framing policy lets its own pages frame the bar.
        assert "frame-ancestors 'self'" in page.headers["content-security-policy"]
        assert (await browser.get("/democrm/static/democrm.js")).status_code == 200
        assert (await browser.get("/agentbar/")).status_code == 200
        r = await browser.get("/democrm/api/contacts", params={"q": "a"})
        assert r.status_code == 401 and r.json()["code"] == "unauthorized"


def test_the_demo_settings_include_the_demo_crm() -> None:
    settings = Settings.demo_settings()
    assert settings.democrm is not None
    assert settings.democrm.api_key == "demo-crm-key"
