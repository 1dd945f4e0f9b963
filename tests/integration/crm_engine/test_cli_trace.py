"""``ctibridge mapping test`` shows every request it sends (method, URL with secrets
masked, body) and every answer's status, against the DRF-like test CRM."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from typer.testing import CliRunner

from ctibridge.cli import app

from ..crm.realcrm import TOKEN, seeded, serve_real_crm
from .test_chained_lookups import CHAINED

LOG = """
log:
  when_no_record: log
  allow_duplicates: true
  request:
    method: POST
    path: /interactions/
    json:
      subject: "Call {{ interaction.direction }} {{ interaction.number }}"
      description: "ctibridge:{{ idempotency_key }}"
      direction: "{{ interaction.direction }}"
      duration: "{{ interaction.duration_seconds | seconds }}"
      contact: "{{ record.id | int if record else none }}"
  activity_id: id
"""


async def invoke(*args: str) -> tuple[int, str]:
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args))
    return result.exit_code, result.output


def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "drf.yaml"
    # The search also carries the token as a query parameter (some CRMs want it there).
    text = CHAINED.format(timeout=5, cap=5).replace(
        'query: {phone: "{{ number }}"}',
        'query: {phone: "{{ number }}", api_key: "{{ vars.crm_token }}"}') + LOG
    path.write_text(text, encoding="utf-8")
    return path


async def test_each_request_and_answer_is_shown_with_secrets_masked(tmp_path: Path) -> None:
    async with serve_real_crm(seeded()) as crm:
        [camille] = [c for c in crm.contacts.values() if c["first_name"] == "Camille"]
        code, out = await invoke("mapping", "test", str(mapping(tmp_path)), "-n", "06 12 34 56 78",
                                 "--var", f"crm_url={crm.url}", "--var", f"crm_token={TOKEN}",
                                 "--log")
        assert code == 0, out
        assert TOKEN not in out
        api = f"{crm.url}/api"
        assert f"→ GET {api}/contacts/?phone=%2B33612345678&api_key=***\n" in out
        assert f"→ GET {api}/contacts/{camille['id']}/\n" in out
        assert re.search(r"← HTTP 200 in \d+ ms", out)
        assert "pop: one (lookup 'contact_by_phone')" in out
        assert "Camille Petit, Boulangerie Petit" in out
        # The log: its request with its body, then the CRM's answer.
        [sent] = re.findall(rf"→ POST {re.escape(api)}/interactions/\n\s+(\{{.*\}})", out)
        assert f'"contact":{camille["id"]}' in sent and '"duration":95' in sent
        assert re.search(r"→ POST .*\n.*\n\s+← HTTP 201 in \d+ ms", out)
        assert "logged: activity" in out
        assert len(crm.interactions) == 1


async def test_a_refused_request_shows_its_status(tmp_path: Path) -> None:
    async with serve_real_crm(seeded()) as crm:
        code, out = await invoke("mapping", "test", str(mapping(tmp_path)), "-n", "0612345678",
                                 "--var", f"crm_url={crm.url}", "--var", "crm_token=" + "0" * 40)
    assert code == 1
    assert "← HTTP 403 in" in out
    assert "pop: CRM unavailable: lookup 'contact_by_phone': HTTP 403 from GET" in out
    assert "0" * 40 not in out


CHECK = """
  find_existing:
    request:
      path: /interactions/
      query: {search: "SEARCHED{{ idempotency_key }}"}
    results: results
    id: id
"""


def checked(tmp_path: Path, searched: str) -> Path:
    path = mapping(tmp_path)
    path.write_text(path.read_text().replace("  allow_duplicates: true\n", "")
                    + CHECK.replace("SEARCHED", searched))
    return path


async def test_with_log_the_check_step_runs_first_and_finds_the_log_after(
    tmp_path: Path,
) -> None:
    async with serve_real_crm(seeded()) as crm:
        code, out = await invoke("mapping", "test", str(checked(tmp_path, "ctibridge:")),
                                 "-n", "0612345678", "--var", f"crm_url={crm.url}",
                                 "--var", f"crm_token={TOKEN}", "--log")
        assert code == 0, out
        assert len(crm.interactions) == 1
    [activity] = crm.interactions
    before = out.index("check (before the log): log.find_existing")
    post = out.index(f"→ POST {crm.url}/api/interactions/")
    after = out.index("check (after the log): log.find_existing")
    assert before < post < after
    assert re.search(rf"→ GET {re.escape(crm.url)}/api/interactions/\?search=ctibridge%3A"
                     r"mapping-test-\w+%3Amapping-test\n\s+← HTTP 200", out)
    assert "not in the CRM: the log is sent" in out
    assert f"found: activity {activity}" in out[after:]


async def test_a_check_that_cannot_find_what_the_log_writes_is_reported(
    tmp_path: Path,
) -> None:
    async with serve_real_crm(seeded()) as crm:
        code, out = await invoke("mapping", "test", str(checked(tmp_path, "key=")),
                                 "-n", "0612345678", "--var", f"crm_url={crm.url}",
                                 "--var", f"crm_token={TOKEN}", "--log")
    assert code == 1, out
    assert "log.find_existing does not find the log just written" in out
