"""The demo CRM in the e2e tests: the mapping file a user would write for it, and its REST
API as a test sets the scene and reads the call log."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import RunningHub

API_KEY = "e2e-democrm-key"

# The demo CRM as a mapping file describes it: what a user writes for an in-house CRM.
MAPPING = """\
name: democrm
description: The built-in demo CRM, through its REST API
connection:
  base_url: "{{ vars.hub_url }}/democrm/api"
  timeout_seconds: 3
  retries: 0
auth:
  type: api_key
  name: X-Api-Key
  value: "{{ vars.democrm_key }}"
phone:
  default_region: FR
  formats: [e164, national_digits]
record:
  id: id
  name: join(' ', [first_name, last_name])
  company: company.name
  url: url
lookups:
  - name: by_record_id
    when: attached.crm_record_id
    request:
      path: "/contacts/{{ attached.crm_record_id | urlquote }}"
    empty_statuses: [404]
  - name: by_phone
    phone: true
    request:
      path: /contacts
      query: {phone: "{{ number }}"}
    results: contacts
screen_pop:
  create_url: "{{ vars.hub_url }}/democrm/contacts/new?phone={{ party.e164 | urlquote }}"
  on_several: choose
  on_none: create
log:
  when_no_record: lookup
  request:
    method: POST
    path: /activities
    headers:
      Idempotency-Key: "{{ idempotency_key }}"
    json:
      contact_id: "{{ record.id if record else none }}"
      phone: "{{ interaction.number }}"
      direction: "{{ interaction.direction }}"
      started_at: "{{ interaction.started_at | iso }}"
      duration_seconds: "{{ interaction.duration_seconds | round | int }}"
      queue: "{{ interaction.queue }}"
      agent: "{{ interaction.agent_id }}"
      disposition: "{{ interaction.disposition }}"
      notes: "{{ interaction.notes }}"
      external_id: "{{ interaction.interaction_id }}"
  activity_id: id
"""


class Crm:
    """The demo CRM's REST API, as a test sets the scene and checks the call log."""

    def __init__(self, hub: RunningHub) -> None:
        self.http = httpx.AsyncClient(base_url=f"{hub.url}/democrm/api",
                                      headers={"X-Api-Key": API_KEY}, timeout=5)

    async def contact(self, first: str, last: str, phone: str) -> dict[str, Any]:
        phones = [{"label": "mobile", "number": phone}]
        r = await self.http.post("/contacts", json={"first_name": first, "last_name": last,
                                                     "phones": phones})
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def activities(self, contact_id: int) -> list[dict[str, Any]]:
        r = await self.http.get(f"/contacts/{contact_id}/activities")
        assert r.status_code == 200, r.text
        return list(r.json()["activities"])
