"""Chained lookups over HTTP: the DRF-like test CRM's phone search gives ids and names
only, the company needs GET /contacts/<id>/; a ``then`` step fetches it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctibridge.crm.base import LookupContext
from ctibridge.crm.mapping import MappingFileError, load_mapping
from ctibridge.model.party import Party

from ..crm.realcrm import RealCrm, seeded, serve_real_crm, variables

CHAINED = """
name: drf
connection:
  base_url: "{{{{ vars.crm_url }}}}/api"
  timeout_seconds: {timeout}
  retries: 0
auth: {{type: api_key, name: Authorization, value: "Token {{{{ vars.crm_token }}}}"}}
phone: {{default_region: FR, formats: [e164]}}
record: {{id: id, name: name, company: account.name}}
lookups:
  - name: contact_by_phone
    phone: true
    request:
      path: /contacts/
      query: {{phone: "{{{{ number }}}}"}}
    results: results
    then:
      request:
        path: "/contacts/{{{{ record.id }}}}/"
      max_records: {cap}
screen_pop:
  on_several: choose
  max_matches: 20
"""


def chained(tmp_path: Path, crm: RealCrm, *, timeout: float = 5, cap: int = 5) -> Path:
    path = tmp_path / "drf.yaml"
    path.write_text(CHAINED.format(timeout=timeout, cap=cap), encoding="utf-8")
    return path


def details_fetched(crm: RealCrm) -> list[str]:
    return [p for m, p in crm.requests if m == "GET" and p.startswith("/api/contacts/")
            and p.rstrip("/") != "/api/contacts"]


async def test_the_second_request_gives_the_company_the_search_does_not(
    tmp_path: Path,
) -> None:
    async with serve_real_crm(seeded()) as crm:
        connector = load_mapping(chained(tmp_path, crm), variables(crm))
        try:
            trace: list[str] = []
            result = await connector.lookup(Party("+33612345678"), LookupContext(), trace=trace)
        finally:
            await connector.stop()
    [camille] = result.matches
    assert (camille.name, camille.company) == ("Camille Petit", "Boulangerie Petit")
    assert len(details_fetched(crm)) == 1
    assert "contact_by_phone.then[0]: 1 record(s)" in trace


async def test_two_contacts_on_one_number_each_get_their_details(tmp_path: Path) -> None:
    async with serve_real_crm(seeded()) as crm:
        connector = load_mapping(chained(tmp_path, crm), variables(crm))
        try:
            result = await connector.lookup(Party("+33140000000"), LookupContext())
        finally:
            await connector.stop()
    assert [(m.name, m.company) for m in result.matches] == [
        ("Jean Morel", "Morel & Fils"), ("Lucie Morel", "Morel & Fils")]


async def test_details_are_fetched_for_at_most_max_records_matches(tmp_path: Path) -> None:
    crm = seeded()
    for i in range(8):
        crm.add_contact(f"Agent{i}", "Standard", "+33155555555", company=f"Firm {i}")
    async with serve_real_crm(crm):
        connector = load_mapping(chained(tmp_path, crm, cap=3), variables(crm))
        try:
            trace: list[str] = []
            result = await connector.lookup(Party("+33155555555"), LookupContext(), trace=trace)
        finally:
            await connector.stop()
    assert len(details_fetched(crm)) == 3
    # Every match still pops; only the first three carry what the second request gives.
    assert [m.company for m in result.matches] == ["Firm 0", "Firm 1", "Firm 2"] + [None] * 5
    assert any("5 record(s) past max_records (3) kept as found" in line for line in trace)


async def test_the_steps_share_the_lookups_time_budget(tmp_path: Path) -> None:
    crm = seeded()
    crm.latency = 0.4  # every answer: the search uses most of the 0.6 s budget
    async with serve_real_crm(crm):
        connector = load_mapping(chained(tmp_path, crm, timeout=0.6), variables(crm))
        try:
            trace: list[str] = []
            result = await connector.lookup(Party("+33612345678"), LookupContext(), trace=trace)
        finally:
            await connector.stop()
    # Each request alone fits in 0.6 s; both together do not: the pop comes without the
    # company, in time, rather than late or not at all.
    [camille] = result.matches
    assert (camille.name, camille.company) == ("Camille Petit", None)
    assert not result.unavailable
    assert result.elapsed_ms < 900
    assert any("then[0]: FAILED, record kept as found: no time left" in line for line in trace)


async def test_a_step_that_reads_no_record_is_refused_at_load(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(CHAINED.format(timeout=5, cap=5).replace(
        '"/contacts/{{ record.id }}/"', '"/contacts/1/"'), encoding="utf-8")
    with pytest.raises(MappingFileError) as err:
        load_mapping(path, {"crm_url": "http://127.0.0.1:9", "crm_token": "x"})
    assert any("lookups[0].then[0]" in str(p) and "must read {{ record" in str(p)
               for p in err.value.problems)
