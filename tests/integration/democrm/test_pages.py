"""The demo CRM's pages: list, record, create; escaped, in French and English."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from .conftest import Crm, democrm_server

HOSTILE_FIRST = '<img src=x onerror="alert(1)">'
HOSTILE_LAST = "</td><script>alert('x')</script>"


async def page(crm: Crm, path: str, **kw: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=crm.base) as browser:
        return await browser.get(path, **kw)


async def test_the_contact_list_embeds_the_bar_and_pages_through_contacts(crm: Crm) -> None:
    r = await page(crm, "/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert '<iframe id="ctibridge" src="/agentbar/?embed=1"' in html
    assert html.count('href="/democrm/contacts/') >= 50
    assert 'href="/democrm/?q=&amp;page=2"' in html
    r2 = await page(crm, "/", params={"page": 2})
    assert r2.status_code == 200 and 'href="/democrm/?q=&amp;page=1"' in r2.text
    r = await page(crm, "/", params={"q": "nobody-is-called-this"})
    assert "No contact matches." in r.text
    css = await page(crm, "/static/democrm.css")
    js = await page(crm, "/static/democrm.js")
    assert css.status_code == 200 and js.status_code == 200
    assert "ctibridge.screenpop" in js.text


async def test_a_record_shows_click_to_call_numbers_and_the_call_history(crm: Crm) -> None:
    made = (await crm.http.post("/contacts", json={
        "first_name": "Jeanne", "last_name": "Roux", "company_id": 2,
        "phones": [{"label": "mobile", "number": "06 12 34 56 78"},
                   {"label": "work", "number": "+41 22 345 67 89"}]})).json()
    for key, started, direction, agent, notes in (
            ("a", "2025-03-01T09:00:00Z", "inbound", "Alice Martin", "first call"),
            ("b", "2025-03-02T09:00:00Z", "outbound", "Bob Durand", "called back")):
        r = await crm.http.post("/activities", headers={"Idempotency-Key": key}, json={
            "contact_id": made["id"], "phone": "+33612345678", "kind": "call",
            "direction": direction, "subject": "Call", "started_at": started,
            "duration_seconds": 185, "queue": "support", "agent": agent,
            "disposition": "resolved", "notes": notes, "external_id": key})
        assert r.status_code == 201
    r = await page(crm, f"/contacts/{made['id']}")
    assert r.status_code == 200
    html = r.text
    assert "<h1>Jeanne Roux</h1>" in html
    assert made["company"]["name"].replace("&", "&amp;") in html
    rid = made["id"]
    assert (f'<a class="dial" href="tel:0612345678" data-number="06 12 34 56 78" '
            f'data-record-id="{rid}"') in html
    assert 'href="tel:+41223456789" data-number="+41 22 345 67 89"' in html
    assert '<iframe id="ctibridge" src="/agentbar/?embed=1"' in html
    rows = re.findall(r'<tr class="activity (\w+)"', html)
    assert rows == ["outbound", "inbound"]  # newest first
    assert html.index("called back") < html.index("first call")
    for shown in ("3:05", "Bob Durand", "Alice Martin", "resolved", "Outbound", "Inbound",
                  "2025-03-02 09:00 UTC"):
        assert shown in html, shown
    r = await page(crm, "/contacts/999999")
    assert r.status_code == 404 and "There is no contact 999999." in r.text
    r = await page(crm, "/contacts/abc")
    assert r.status_code == 404


async def test_markup_in_names_and_notes_is_shown_as_text(crm: Crm) -> None:
    made = (await crm.http.post("/contacts", json={
        "first_name": HOSTILE_FIRST, "last_name": HOSTILE_LAST,
        "email": "x@example.org", "phones": [{"number": "01 23 45 67 89"}]})).json()
    await crm.http.post("/activities", headers={"Idempotency-Key": "evil"}, json={
        "contact_id": made["id"], "direction": "inbound", "started_at": "2025-01-01T00:00:00Z",
        "notes": "<b>bold</b>", "agent": "<i>agent</i>", "subject": "<u>s</u>"})
    for path, params in ((f"/contacts/{made['id']}", {}), ("/", {"q": "alert"}),
                         ("/contacts/new", {"phone": '"><script>alert(2)</script>'})):
        html = (await page(crm, path, params=params)).text
        for raw in ("<img src=x", "<script>alert", "<b>bold", "<i>agent", "<u>s"):
            assert raw not in html, (path, raw)
    html = (await page(crm, f"/contacts/{made['id']}")).text
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    assert "&lt;/td&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


async def test_pages_speak_french_or_english_as_the_browser_asks(crm: Crm) -> None:
    fr = await page(crm, "/contacts/1", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr">' in fr.text and "Historique des activités" in fr.text
    en = await page(crm, "/contacts/1", headers={"Accept-Language": "de, en;q=0.8, fr;q=0.2"})
    assert '<html lang="en">' in en.text and "Activity history" in en.text
    async with httpx.AsyncClient(base_url=crm.base) as browser:
        r = await browser.get("/", params={"lang": "fr"}, headers={"Accept-Language": "en"})
        assert "Nouveau contact" in r.text
        # The choice is kept for the next pages (the bar's frame is not reloaded for them).
        r = await browser.get("/contacts/new", headers={"Accept-Language": "en"})
        assert "Créer le contact" in r.text
        r = await browser.get("/contacts/new", params={"lang": "en"})
        assert "Create the contact" in r.text


async def test_the_create_form_is_prefilled_and_opens_the_new_record(crm: Crm) -> None:
    r = await page(crm, "/contacts/new", params={"phone": "+33 7 00 11 22 33"})
    assert 'name="phone" type="tel" value="+33 7 00 11 22 33"' in r.text
    async with httpx.AsyncClient(base_url=crm.base) as browser:
        r = await browser.post("/contacts/new", data={
            "first_name": "Léo", "last_name": "Mercier", "company_id": "4",
            "phone": "+33 7 00 11 22 33", "label": "mobile", "email": "", "customer_id": ""})
        assert r.status_code == 303, r.text
        location = r.headers["location"]
        assert re.fullmatch(re.escape(crm.base) + r"/contacts/\d+", location), location
        record = await browser.get(location)
        assert "<h1>Léo Mercier</h1>" in record.text
    found = (await crm.http.get("/contacts", params={"phone": "+33700112233"})).json()
    assert [c["url"] for c in found["contacts"]] == [location]


async def test_a_wrong_form_comes_back_with_the_errors_and_what_was_typed(crm: Crm) -> None:
    async with httpx.AsyncClient(base_url=crm.base) as browser:
        r = await browser.post("/contacts/new", data={
            "first_name": "Zoé", "last_name": "", "company_id": "999",
            "phone": "call me maybe", "label": "mobile", "email": "zoe@", "customer_id": "C 1"})
    assert r.status_code == 422
    html = r.text
    assert "Please correct the fields below." in html
    assert 'value="Zoé"' in html and 'value="call me maybe"' in html and 'value="zoe@"' in html
    for field in ("last_name", "phone", "email", "customer_id"):
        assert f'id="e-{field}"' in html, field
    assert (await crm.http.get("/contacts", params={"q": "zoé"})).json()["contacts"] == []


async def test_a_demo_user_in_the_url_signs_the_bar_in(crm: Crm) -> None:
    r = await page(crm, "/", params={"user": "alice"})
    assert 'src="/agentbar/?embed=1&amp;user=alice"' in r.text
    r = await page(crm, "/", params={"user": '"><script>'})
    assert 'src="/agentbar/?embed=1"' in r.text


async def test_the_history_reads_in_the_page_language_with_outcome_labels(tmp_path: Path) -> None:
    outcomes = {"callback": {"en": "Call back", "fr": "À rappeler"}}
    async with democrm_server(tmp_path / "crm.db", [], outcomes) as crm:
        made = (await crm.http.post("/contacts", json={
            "first_name": "Jeanne", "last_name": "Roux",
            "phones": [{"number": "06 12 34 56 78"}]})).json()
        for key, kind, direction, outcome in (("a", "call", "inbound", "callback"),
                                              ("b", "email", "outbound", "odd-code")):
            r = await crm.http.post("/activities", headers={"Idempotency-Key": key}, json={
                "contact_id": made["id"], "kind": kind, "direction": direction,
                "started_at": "2025-03-01T09:00:00Z", "agent": "Alice Martin",
                "disposition": outcome})
            assert r.status_code == 201, r.text
        fr = (await page(crm, f"/contacts/{made['id']}", params={"lang": "fr"})).text
        for shown in ("Appel entrant", "E-mail sortant", "À rappeler", "odd-code",
                      "Alice Martin"):
            assert shown in fr, shown
        assert "Entrant appel" not in fr and ">callback<" not in fr
        en = (await page(crm, f"/contacts/{made['id']}", params={"lang": "en"})).text
        for shown in ("Inbound call", "Outbound e-mail", "Call back"):
            assert shown in en, shown
