"""The demo CRM's REST API over a real port: auth, lookups, create, activities."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.dialects import sqlite

from ctibridge.crm.democrm.store import phone_query

from .conftest import API_KEY, Crm

CALL = {"contact_id": None, "phone": "+33612345678", "kind": "call", "direction": "inbound",
        "subject": "Inbound call", "started_at": "2025-03-04T10:15:00Z", "duration_seconds": 123,
        "queue": "support", "agent": "Alice Martin", "disposition": "resolved",
        "notes": "Asked about the invoice", "external_id": "i-1"}


async def new_contact(crm: Crm, *numbers: str, **fields: Any) -> dict[str, Any]:
    body = {"first_name": "Test", "last_name": "Person",
            "phones": [{"label": "mobile", "number": n} for n in numbers], **fields}
    r = await crm.http.post("/contacts", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def ids_for(crm: Crm, **params: str) -> set[int]:
    r = await crm.http.get("/contacts", params=params)
    assert r.status_code == 200, r.text
    return {c["id"] for c in r.json()["contacts"]}


async def test_the_api_refuses_requests_without_the_right_key(crm: Crm) -> None:
    async with httpx.AsyncClient(base_url=crm.base + "/api") as anon:
        for headers in ({}, {"X-Api-Key": "wrong"}, {"X-Api-Key": ""}):
            for method, path in (("GET", "/contacts?phone=0612345678"), ("GET", "/contacts/1"),
                                 ("POST", "/contacts"), ("POST", "/activities"),
                                 ("GET", "/activities")):
                r = await anon.request(method, path, headers=headers, content=b"{not json")
                assert r.status_code == 401, (method, path, headers, r.text)
                assert r.json()["code"] == "unauthorized"
                assert "X-Api-Key" in r.json()["message"]
        r = await anon.get("/contacts/1", headers={"X-Api-Key": API_KEY})
        assert r.status_code == 200


async def test_a_number_stored_as_typed_is_found_whatever_the_separators(crm: Crm) -> None:
    spaced = (await new_contact(crm, "06 98 76 54 32"))["id"]
    dotted = (await new_contact(crm, "07.11.22.33.44"))["id"]
    international = (await new_contact(crm, "+33 6 55 44 33 22"))["id"]
    swiss = (await new_contact(crm, "+41 22 345 67 89"))["id"]
    us = (await new_contact(crm, "+1 (212) 555-0147"))["id"]

    for given in ("06 98 76 54 32", "0698765432", "06.98.76.54.32", "06-98-76-54-32",
                  "(06) 98 76 54 32"):
        assert await ids_for(crm, phone=given) == {spaced}, given
    for given in ("0711223344", "07 11 22 33 44", "07.11.22.33.44"):
        assert await ids_for(crm, phone=given) == {dotted}, given
    for given in ("+33655443322", "+33 6 55 44 33 22", "+33.6.55.44.33.22"):
        assert await ids_for(crm, phone=given) == {international}, given
    assert await ids_for(crm, phone="+41223456789") == {swiss}
    assert await ids_for(crm, phone="+12125550147") == {us}
    # No E.164 normalization in the CRM: the mapping engine tries the other forms.
    assert await ids_for(crm, phone="+33698765432") == set()
    assert await ids_for(crm, phone="0655443322") == set()
    assert await ids_for(crm, phone="06 98 76 54 3") == set()


def test_the_phone_lookup_uses_indexes_not_a_scan(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    from ctibridge.crm.democrm.tables import Base

    db = tmp_path / "plan.db"
    Base.metadata.create_all(create_engine(f"sqlite:///{db}"))
    sql = str(phone_query("06 12 34 56 78").compile(
        dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    with sqlite3.connect(db) as conn:
        plan = " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
    assert "INDEX ix_phones_compact" in plan, plan
    assert "SCAN phones" not in plan, plan


async def test_a_contact_is_found_by_the_customer_number_from_the_ivr(crm: Crm) -> None:
    for who in crm.customers:
        r = await crm.http.get("/contacts", params={"customer_id": who.customer_id})
        if r.json()["contacts"]:
            break
    contact = r.json()["contacts"][0]
    assert contact["customer_id"] == who.customer_id
    assert f"{contact['first_name']} {contact['last_name']}" == who.name
    made = await new_contact(crm, "0102030405", customer_id="C10042")
    assert await ids_for(crm, customer_id="C10042") == {made["id"]}
    assert await ids_for(crm, customer_id="C1004") == set()


async def test_search_by_name_or_company_ignores_case_and_accents(crm: Crm) -> None:
    made = await new_contact(crm, "0102030405", first_name="Hélène", last_name="Lefèvre-Zoë",
                             company_id=1)
    company = made["company"]["name"]
    for q in ("lefèvre-zoë", "LEFEVRE-ZOE", "hélène lef", "Zoe"):
        assert made["id"] in await ids_for(crm, q=q), q
    r = await crm.http.get("/contacts", params={"q": company.upper()})
    found = r.json()["contacts"]
    assert found and all(c["company"]["name"] == company for c in found)
    r = await crm.http.get("/contacts", params={"q": ""})
    assert len(r.json()["contacts"]) == 50  # capped
    assert await ids_for(crm, q="%") == set()  # a LIKE wildcard is text here


async def test_a_created_contact_comes_back_whole_with_its_absolute_url(crm: Crm) -> None:
    made = await new_contact(crm, "06 12 34 56 78", "+41 22 345 67 89", first_name="Ana",
                             last_name="Costa", company_id=3, email="ana@example.org",
                             customer_id="C-1")
    assert made["url"] == f"{crm.base}/contacts/{made['id']}"
    assert made["phones"] == [{"label": "mobile", "number": "06 12 34 56 78"},
                              {"label": "mobile", "number": "+41 22 345 67 89"}]
    assert made["company"]["id"] == 3 and made["company"]["name"]
    r = await crm.http.get(f"/contacts/{made['id']}")
    assert r.status_code == 200 and r.json() == made
    r = await crm.http.get("/contacts/999999")
    assert r.status_code == 404
    assert r.json() == {"code": "not-found", "message": "there is no contact 999999"}


async def test_bad_contacts_are_refused_with_the_field_named(crm: Crm) -> None:
    cases = [
        (b"{not json", 400, "bad-json", "not valid JSON"),
        (b"[" * 100_000, 400, "bad-json", "not valid JSON"),
        (b'{"first_name": "A\\ud800", "last_name": "B"}', 422, "invalid-request",
         "body.first_name"),
        (b"[1, 2]", 422, "invalid-request", "body"),
        (b'{"last_name": "X"}', 422, "invalid-request", "body.first_name"),
        (b'{"first_name": " ", "last_name": "X"}', 422, "invalid-request", "body.first_name"),
        (b'{"first_name": "A", "last_name": "B", "phones": [{"number": "abc"}]}', 422,
         "invalid-request", "body.phones.0.number"),
        (b'{"first_name": "A", "last_name": "B", "phones": [{"label": "fax", "number": "0102"}]}',
         422, "invalid-request", "body.phones.0.label"),
        (b'{"first_name": "A", "last_name": "B", "email": "nope"}', 422, "invalid-request",
         "body.email"),
        (b'{"first_name": "A", "last_name": "B", "company_id": 999}', 422, "invalid-request",
         "company_id 999 does not exist"),
        (b'{"first_name": "A", "last_name": "B", "colour": "red"}', 422, "invalid-request",
         "body.colour"),
    ]
    before = len((await crm.http.get("/contacts", params={"q": ""})).json()["contacts"])
    for body, status, code, words in cases:
        r = await crm.http.post("/contacts", content=body,
                                headers={"Content-Type": "application/json"})
        assert r.status_code == status, (body, r.text)
        assert r.json()["code"] == code and words in r.json()["message"], (body, r.json())
    assert len((await crm.http.get("/contacts", params={"q": ""})).json()["contacts"]) == before
    for params in ({}, {"phone": "01", "q": "x"}):
        r = await crm.http.get("/contacts", params=params)
        assert r.status_code == 400 and r.json()["code"] == "bad-query", r.text
    r = await crm.http.get("/contacts/abc")
    assert r.status_code == 422 and "contact_id" in r.json()["message"]
    r = await crm.http.get("/nothing-here")
    assert r.status_code == 404 and r.json()["code"] == "not-found"


async def test_an_activity_is_logged_once_per_idempotency_key(crm: Crm) -> None:
    contact = await new_contact(crm, "06 12 34 56 78")
    body = {**CALL, "contact_id": contact["id"]}
    first = await crm.http.post("/activities", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201, first.text
    activity = first.json()
    assert {k: activity[k] for k in body} == body
    assert activity["id"] and activity["created_at"]
    again = await crm.http.post("/activities", json={**body, "notes": "retry"},
                                headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 200 and again.json() == activity
    other = await crm.http.post("/activities", json={**body, "started_at": "2025-03-05T08:00:00Z"},
                                headers={"Idempotency-Key": "k-2"})
    assert other.status_code == 201
    r = await crm.http.get(f"/contacts/{contact['id']}/activities")
    assert [a["id"] for a in r.json()["activities"]] == [other.json()["id"], activity["id"]]
    r = await crm.http.get("/activities", params={"since_id": activity["id"] - 1})
    assert [a["id"] for a in r.json()["activities"]] == [activity["id"], other.json()["id"]]
    r = await crm.http.get("/contacts/999999/activities")
    assert r.status_code == 404


async def test_concurrent_posts_with_one_key_make_one_activity(crm: Crm) -> None:
    body = {**CALL, "external_id": "i-race"}
    replies = await asyncio.gather(*(
        crm.http.post("/activities", json=body, headers={"Idempotency-Key": "race"})
        for _ in range(12)))
    assert sorted(r.status_code for r in replies) == [200] * 11 + [201], \
        [r.text for r in replies]
    assert len({r.json()["id"] for r in replies}) == 1
    everything = (await crm.http.get("/activities")).json()["activities"]
    assert [a["external_id"] for a in everything].count("i-race") == 1


async def test_bad_activities_are_refused_and_nothing_is_logged(crm: Crm) -> None:
    before = len((await crm.http.get("/activities")).json()["activities"])
    r = await crm.http.post("/activities", json=CALL)
    assert r.status_code == 400 and r.json()["code"] == "idempotency-key-required"
    assert "Idempotency-Key" in r.json()["message"]
    cases = [
        ({**CALL, "direction": "sideways"}, "body.direction"),
        ({**CALL, "started_at": "yesterday"}, "body.started_at"),
        ({**CALL, "duration_seconds": -1}, "body.duration_seconds"),
        ({k: v for k, v in CALL.items() if k != "started_at"}, "body.started_at"),
        ({**CALL, "contact_id": 999999}, "contact_id 999999 does not exist"),
    ]
    for i, (body, words) in enumerate(cases):
        r = await crm.http.post("/activities", json=body, headers={"Idempotency-Key": f"b{i}"})
        assert r.status_code == 422, (body, r.text)
        assert words in r.json()["message"], r.json()
    # A refused request does not burn its key.
    r = await crm.http.post("/activities", json=CALL, headers={"Idempotency-Key": "b4"})
    assert r.status_code == 201
    assert len((await crm.http.get("/activities")).json()["activities"]) == before + 1
    r = await crm.http.get("/activities", params={"since_id": "x"})
    assert r.status_code == 422 and "since_id" in r.json()["message"]
