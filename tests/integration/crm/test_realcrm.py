"""The test CRM behaves like the DRF CRM of issue 11, as seen by any HTTP client."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from .realcrm import TOKEN, seeded, serve_real_crm


def client(url: str, token: str | None = TOKEN) -> httpx.AsyncClient:
    headers = {"Authorization": f"Token {token}"} if token else {}
    return httpx.AsyncClient(base_url=f"{url}/api", headers=headers, timeout=5)


async def test_a_bad_or_missing_token_is_refused_with_403_and_a_detail() -> None:
    async with serve_real_crm(seeded()) as crm:
        async with client(crm.url, "0" * 40) as http:
            r = await http.get("/contacts/")
            assert (r.status_code, r.json()) == (403, {"detail": "Invalid token."})
            assert "www-authenticate" not in r.headers  # 403, not 401: no challenge
        async with client(crm.url, None) as http:
            r = await http.get("/contacts/")
            assert (r.status_code, r.json()) == (
                403, {"detail": "Authentication credentials were not provided."})
        crm.tokens.clear()  # the token is revoked
        async with client(crm.url) as http:
            assert (await http.get("/contacts/")).status_code == 403


async def test_the_phone_search_gives_names_and_the_detail_gives_the_company() -> None:
    async with serve_real_crm(seeded()) as crm, client(crm.url) as http:
        page = (await http.get("/contacts/", params={"phone": "+33612345678"})).json()
        assert page["count"] == 1 and page["next"] is None and page["previous"] is None
        [found] = page["results"]
        assert set(found) == {"id", "name"} and found["name"] == "Camille Petit"
        one = (await http.get(f"/contacts/{found['id']}/")).json()
        assert one["account"]["name"] == "Boulangerie Petit"
        r = await http.get("/contacts/99999/")
        assert (r.status_code, r.json()) == (404, {"detail": "Not found."})


async def test_lists_are_paginated_like_drf() -> None:
    crm = seeded()
    for i in range(30):
        crm.add_lead(f"Lead {i}", "+33700000000")
    async with serve_real_crm(crm), client(crm.url) as http:
        first = (await http.get("/leads/", params={"phone": "+33700000000"})).json()
        assert first["count"] == 30 and len(first["results"]) == 25
        second = (await http.get(first["next"])).json()
        assert len(second["results"]) == 5 and second["next"] is None
        assert (await http.get("/leads/", params={"page": 9})).status_code == 404


async def test_a_call_log_ignores_its_external_id_and_duplicates_freely() -> None:
    async with serve_real_crm(seeded()) as crm, client(crm.url) as http:
        [camille] = [c for c in crm.contacts.values() if c["first_name"] == "Camille"]
        body = {"subject": "Call", "description": "ctibridge:i-1", "direction": "inbound",
                "duration": 42, "contact": camille["id"], "external_id": "i-1"}
        first = await http.post("/interactions/", json=body,
                                headers={"Idempotency-Key": "i-1"})
        again = await http.post("/interactions/", json=body,
                                headers={"Idempotency-Key": "i-1"})
        assert (first.status_code, again.status_code) == (201, 201)
        assert "external_id" not in first.json()
        assert len(crm.interactions_of("i-1")) == 2  # nothing de-duplicated
        found = (await http.get("/interactions/", params={"search": "CTIBRIDGE:I-1"})).json()
        assert found["count"] == 2


async def test_a_call_log_needs_exactly_one_linked_record() -> None:
    async with serve_real_crm(seeded()) as crm, client(crm.url) as http:
        base = {"subject": "Call", "direction": "inbound", "duration": 3}
        r = await http.post("/interactions/", json=base)
        assert r.status_code == 400
        assert r.json() == {"error": True, "errors": {"contact": [
            "Name exactly one record: contact, lead or account (0 given)."]}}
        [lead] = crm.leads
        [contact, *_] = crm.contacts
        r = await http.post("/interactions/", json={**base, "contact": contact, "lead": lead})
        assert "(2 given)" in r.json()["errors"]["contact"][0]
        r = await http.post("/interactions/", json={**base, "lead": 424242})
        assert r.json()["errors"] == {"lead": ['Invalid pk "424242" - object does not exist.']}
        r = await http.post("/interactions/", json={"direction": "sideways", "lead": lead})
        assert r.json()["errors"] == {"subject": ["This field is required."],
                                      "direction": ['"sideways" is not a valid choice.']}
        r = await http.post("/interactions/", json={**base, "lead": lead})
        assert r.status_code == 201 and crm.log_posts == 5 and len(crm.interactions) == 1


async def test_a_slow_answer_still_creates_the_record() -> None:
    async with serve_real_crm(seeded()) as crm:
        crm.slow_logs = 2.0
        [lead] = crm.leads
        async with httpx.AsyncClient(base_url=f"{crm.url}/api", timeout=0.3,
                                     headers={"Authorization": f"Token {TOKEN}"}) as http:
            with pytest.raises(httpx.ReadTimeout):
                await http.post("/interactions/", json={
                    "subject": "Call", "description": "k-slow", "direction": "inbound",
                    "lead": lead})
        assert len(crm.interactions_of("k-slow")) == 1  # created before the answer


async def test_a_reset_mid_answer_leaves_the_record_created() -> None:
    async with serve_real_crm(seeded()) as crm, client(crm.url) as http:
        crm.log_fault = "reset"
        [lead] = crm.leads
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post("/interactions/", json={
                "subject": "Call", "description": "k-reset", "direction": "inbound",
                "lead": lead})
        assert len(crm.interactions_of("k-reset")) == 1
        crm.log_fault = "500"
        r = await http.post("/interactions/", json={
            "subject": "Call", "description": "k-500", "direction": "inbound", "lead": lead})
        assert r.status_code == 500 and "text/html" in r.headers["content-type"]
        assert crm.interactions_of("k-500") == []


async def test_down_closes_the_port_and_up_opens_the_same_one() -> None:
    async with serve_real_crm(seeded()) as crm, client(crm.url) as http:
        url = crm.url
        await crm.down()
        with pytest.raises(httpx.ConnectError):
            await http.get("/contacts/")
        await crm.up()
        assert crm.url == url
        for _ in range(50):  # the pooled connection died with the server: a new one
            try:
                assert (await http.get("/contacts/")).status_code == 200
                break
            except httpx.TransportError:
                await asyncio.sleep(0.02)
