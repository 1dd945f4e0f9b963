"""A customer calls; the DRF-like CRM's phone search knows only the contact's name, the
company comes from a second request (GET /contacts/<id>/): the agent's pop shows it."""

from __future__ import annotations

from pathlib import Path

from ctibridge.crm.mapping import load_mapping

from ..crm_engine.test_chained_lookups import chained
from .hubs import crm_hub, ready
from .realcrm import seeded, serve_real_crm, variables


async def test_the_agents_pop_shows_the_company_only_the_second_request_returns(
    tmp_path: Path,
) -> None:
    async with serve_real_crm(seeded()) as crm:
        connector = load_mapping(chained(tmp_path, crm), variables(crm))
        async with crm_hub(tmp_path, connector) as h:
            alice = await h.agent("alice")
            await ready(alice)
            h.sim.customer_calls("support", number="+33612345678", name=None, attached={})
            pop = await alice.event("screenpop", where=lambda d: d["outcome"] != "pending")
            [match] = pop["matches"]
            assert (match["name"], match["company"]) == ("Camille Petit", "Boulangerie Petit")
            assert pop["party"]["name"] == "Camille Petit"
            await alice.close()
    # The search, then the contact's own page.
    assert [p for m, p in crm.requests if m == "GET"][:2] == [
        "/api/contacts/", f"/api/contacts/{match['record_id']}/"]
