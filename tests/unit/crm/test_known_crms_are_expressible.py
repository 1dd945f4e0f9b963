"""The lookups of well-known CRMs (docs/crm-mapping.md, "Other CRMs") load, and render
the request each CRM expects."""

from __future__ import annotations

import json
from pathlib import Path

from ctibridge.crm.base import LookupContext
from ctibridge.crm.mapping import MappingConnector, read_mapping
from ctibridge.crm.mapping.phones import variants
from ctibridge.model.party import Party

HEAD = """\
name: {name}
connection: {{base_url: "https://crm.example"}}
record: {{id: Id, name: Name}}
"""

SALESFORCE = """
auth: {type: oauth2_client_credentials, token_url: "https://login.example/token",
       client_id: a, client_secret: "{{ env.SF_SECRET }}"}
lookups:
  - name: by_phone
    phone: true
    request:
      path: /services/data/v60.0/search/
      query:
        q: "FIND {{ '{' }}{{ number }}{{ '}' }} IN PHONE FIELDS RETURNING Contact(Id,Name)"
    results: searchRecords
"""

HUBSPOT = """
auth: {type: bearer, token: "{{ env.HS_TOKEN }}"}
lookups:
  - name: by_phone
    phone: true
    request:
      method: POST
      path: /crm/v3/objects/contacts/search
      json:
        filterGroups:
          - filters: [{propertyName: phone, operator: EQ, value: "{{ number }}"}]
        limit: 10
    results: results
"""

ZENDESK = """
auth: {type: basic, username: "{{ env.ZD_EMAIL }}/token", password: "{{ env.ZD_TOKEN }}"}
phone: {default_region: US, formats: [national_digits]}
lookups:
  - name: by_phone
    phone: true
    request:
      path: /api/v2/search.json
      query: {query: "role:end-user phone:*{{ number }}"}
    results: results
"""
ENV = {"SF_SECRET": "s", "HS_TOKEN": "t", "ZD_EMAIL": "a@b.c", "ZD_TOKEN": "z"}


def first_request(tmp_path: Path, name: str, body: str, number: str) -> object:
    f = tmp_path / f"{name}.yaml"
    f.write_text(HEAD.format(name=name) + body)
    c = MappingConnector(read_mapping(f, {}, ENV), environ=ENV)
    lk = c.mapping.lookups[0]
    v = c.templates.value
    first = variants(number, c.mapping.phone.formats, c.mapping.phone.default_region)[0]
    ctx = {**c.pop_context(Party(number), LookupContext()), "number": first.number,
           "format": first.format}
    assert lk.request is not None
    return (lk.request.method, c.templates.render(lk.request.path, ctx),
            v(lk.request.query, ctx), v(lk.request.json_body, ctx))


def test_salesforce_sosl_search_is_expressible(tmp_path: Path) -> None:
    method, path, query, _ = first_request(tmp_path, "salesforce", SALESFORCE, "+14155551212")
    assert (method, path) == ("GET", "/services/data/v60.0/search/")
    assert query == {"q": "FIND {+14155551212} IN PHONE FIELDS RETURNING Contact(Id,Name)"}


def test_hubspot_search_post_body_is_expressible(tmp_path: Path) -> None:
    method, _, _, body = first_request(tmp_path, "hubspot", HUBSPOT, "+33612345678")
    assert method == "POST"
    assert json.dumps(body) == json.dumps({"filterGroups": [{"filters": [
        {"propertyName": "phone", "operator": "EQ", "value": "+33612345678"}]}], "limit": 10})


def test_zendesk_search_api_is_expressible(tmp_path: Path) -> None:
    _, _, query, _ = first_request(tmp_path, "zendesk", ZENDESK, "+1 513 555 7611")
    assert query == {"query": "role:end-user phone:*5135557611"}
