"""An agent's record id must not steer the hub's CRM requests (which carry the hub's
credentials) anywhere but under the mapping's base_url.

The CRM is a raw HTTP server on a real port that records each request line exactly
as it arrives; the mapping interpolates the record id into a path WITHOUT
``| urlquote``, as the review found in the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctibridge.crm.base import LookupContext
from ctibridge.crm.mapping import load_mapping
from ctibridge.model.party import Party

from ..integration.harness import running_hub
from .wire import Seen, wire_server

EVIL = "../../admin/users/export?format=csv#"

MAPPING = """\
name: fieldcrm
connection:
  base_url: "{{ vars.crm_url }}/api"
  retries: 0
auth:
  type: api_key
  name: X-Api-Key
  value: hub-secret-key
record:
  id: id
  name: name
lookups:
  - name: by_record_id
    when: attached.crm_record_id
    request:
      path: "/contacts/{{ attached.crm_record_id }}"
    empty_statuses: [404]
  - name: by_phone
    phone: true
    request:
      path: /contacts
      query: {phone: "{{ number }}"}
    results: contacts
"""


def contacts(seen: Seen) -> tuple[int, object]:
    if seen.target.startswith("/api/contacts/C1"):
        return 200, {"id": "C1", "name": "Camille Petit"}
    if seen.target.startswith("/api/contacts?"):
        return 200, {"contacts": []}
    return 404, {}


async def test_a_record_id_from_the_bar_never_reaches_another_crm_path(tmp_path: Path) -> None:
    async with wire_server(contacts) as crm:
        mapping = tmp_path / "fieldcrm.yaml"
        mapping.write_text(MAPPING)
        crm_settings = {"mapping": str(mapping), "variables": {"crm_url": crm.url},
                        "log_calls": False}
        async with running_hub(tmp_path, crm=crm_settings) as h:
            alice = await h.agent("alice")
            await alice.ok("agent.login")
            # The honest click-to-call reaches the record (the server would have answered).
            first = await alice.ok("call.dial", number="0612345678", record_id="C1")
            pop = await alice.event("screenpop")
            assert pop["selected"] == "C1", pop
            assert "/api/contacts/C1" in crm.targets
            await alice.ok("call.hangup", call_id=first["call_id"])
            await alice.event("call.ended")

            # The hostile one: dialled from a "record" that climbs out of /api/contacts.
            before = len(crm.requests)
            await alice.ok("call.dial", number="0612345679", record_id=EVIL)
            pop = await alice.event("screenpop", where=lambda d: d["party"]["number"]
                                    .endswith("12345679"))
            assert pop["outcome"] == "unavailable"
            assert "refused" in pop["error"] and "base_url" in pop["error"]

            # And chosen as the record to log against.
            reply = await alice.command("crm.select", call_id=pop["call_id"], record_id=EVIL)
            assert reply["type"] == "error", reply
            assert "hub-secret-key" not in str(reply)

        sent = crm.targets[before:]
        assert all(t.startswith("/api/") for t in crm.targets), crm.targets
        assert not any("admin" in t.lower() and "%2f" not in t.lower() for t in sent), sent
        # Nothing with the hostile id left the hub at all: the encoded path holds "..".
        assert not any("export" in t for t in sent), sent


@pytest.mark.parametrize("path", [
    "http://127.0.0.1:9/steal",                  # another host
    "{{ vars.crm_url }}/admin/users/export",      # same host, outside /api
    "/contacts/{{ attached.crm_record_id | raw }}",  # the operator's raw value, still bounded
])
async def test_a_rendered_request_outside_base_url_is_refused_with_a_clear_error(
        tmp_path: Path, path: str) -> None:
    async with wire_server(contacts) as crm:
        mapping = tmp_path / "m.yaml"
        mapping.write_text(MAPPING.replace('"/contacts/{{ attached.crm_record_id }}"',
                                           f'"{path}"'))
        connector = load_mapping(mapping, {"crm_url": crm.url})
        try:
            result = await connector.lookup(Party(number="0612345678"),
                                            LookupContext(attached={"crm_record_id": EVIL}))
        finally:
            await connector.stop()
        assert result.unavailable and "refused" in (result.error or ""), result
        assert not any("admin" in t or "steal" in t for t in crm.targets), crm.targets
