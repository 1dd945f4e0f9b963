"""The log section's new keys are checked at load, and a CRM's reason is read from any
JSON error shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctibridge.crm.mapping import MappingFileError, load_mapping
from ctibridge.crm.mapping.http import reason_of

BASE = """
name: crm
connection: {base_url: "http://crm.example/api"}
record: {id: id, name: name}
lookups:
  - name: by_phone
    phone: true
    request: {path: /contacts/, query: {phone: "{{ number }}"}}
log:
  request:
    method: POST
    path: /calls/
    json: {key: "{{ idempotency_key }}"}
"""


def load(tmp_path: Path, extra: str) -> object:
    path = tmp_path / "crm.yaml"
    path.write_text(BASE + extra, encoding="utf-8")
    return load_mapping(path)


@pytest.mark.parametrize(("extra", "fault"), [
    ("  fallback: [{lookup: by_phone, skip: both}]\n",
     "log.fallback[0]: give exactly one of lookup, record, create"),
    ("  fallback: [{lookup: by_name}]\n",
     "log.fallback[0].lookup: no lookup is named 'by_name'; expected one of: by_phone"),
    ("  fallback: [{create: true}]\n",
     "log.fallback[0].create: 'create' needs log.create"),
    ("  fallback: [{wait_for_agent: 0}]\n", "log.fallback[0].wait_for_agent"),
    ("  find_existing: {results: results}\n",
     "log.find_existing: give exactly one of request (HTTP) or sql"),
    ("  create: {request: {method: POST, path: /leads/}}\n", "log.create.record"),
])
def test_a_wrong_log_policy_is_refused_naming_the_field(tmp_path: Path, extra: str,
                                                        fault: str) -> None:
    with pytest.raises(MappingFileError) as exc:
        load(tmp_path, extra)
    assert any(fault in p for p in exc.value.problems), exc.value.problems


def test_what_makes_a_repeated_log_harmless(tmp_path: Path) -> None:
    assert load(tmp_path, "").log_guarantee == "none"  # type: ignore[attr-defined]
    assert load(tmp_path, "  idempotent: true\n").log_guarantee == (  # type: ignore[attr-defined]
        "idempotent")
    checked = load(tmp_path, "  find_existing:\n    request: {path: /calls/, query: "
                             "{key: '{{ idempotency_key }}'}}\n    results: results\n")
    assert checked.log_guarantee == "checkable"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("body", "reason"), [
    ({"error": True, "errors": {"contact": ["Name exactly one record: contact, lead or "
                                            "account."]}},
     "contact: Name exactly one record: contact, lead or account."),
    ({"detail": "Invalid token."}, "Invalid token."),
    ({"non_field_errors": ["The fields a, b must make a unique set."]},
     "The fields a, b must make a unique set."),
    ({"subject": ["This field is required."], "direction": ['"x" is not a valid choice.']},
     'direction: "x" is not a valid choice.; subject: This field is required.'),
    ([{"message": "Required fields are missing: [Name]", "errorCode":
       "REQUIRED_FIELD_MISSING", "fields": ["Name"]}], "Required fields are missing: [Name]"),
    ({"error": "invalid_grant", "error_description": "Token expired"},
     "invalid_grant; Token expired"),
    ({"errors": {"account": {"id": ["Not found."]}}}, "account.id: Not found."),
    ({"ok": False, "count": 3}, ""),
])
def test_the_crms_reason_is_read_from_any_json_shape(body: object, reason: str) -> None:
    assert reason_of(body) == reason
