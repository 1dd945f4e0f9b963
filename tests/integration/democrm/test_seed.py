"""The seed follows the simulator's customer pool, so demo calls pop."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneNumberFormat

from ctibridge.telephony.simulator import Customer, generate_customers

from .conftest import SEED, Crm, democrm_server


def forms(number: str) -> list[str]:
    """What a mapping engine tries for a caller: E.164, and the national digits."""
    parsed = phonenumbers.parse(number)
    national = phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL)
    return [number, re.sub(r"[^0-9]", "", national)]


async def contacts_for(crm: Crm, who: Customer) -> set[int]:
    found: set[int] = set()
    for form in forms(who.number):
        r = await crm.http.get("/contacts", params={"phone": form})
        found |= {c["id"] for c in r.json()["contacts"]}
    return found


async def lookup_all(crm: Crm, pool: Sequence[Customer]) -> list[set[int]]:
    gate = asyncio.Semaphore(16)  # the client's pool holds fewer connections than callers

    async def one(who: Customer) -> set[int]:
        async with gate:
            return await contacts_for(crm, who)

    return await asyncio.gather(*(one(who) for who in pool))


async def test_most_simulator_callers_are_contacts_and_some_are_unknown(crm: Crm) -> None:
    pool = crm.customers
    results = await lookup_all(crm, pool)
    known = [who for who, ids in zip(pool, results, strict=True) if ids]
    unknown = [who for who, ids in zip(pool, results, strict=True) if not ids]
    assert 0.8 * len(pool) <= len(known) < len(pool), (len(known), len(pool))
    assert len(unknown) >= 2
    plan = crm.app.store.seed_plan if crm.app else None
    assert plan is not None
    assert {w.number for w in unknown} == {w.number for w in plan.unknown}
    # A couple of numbers belong to two contacts: "several matches" shows.
    several = [who for who, ids in zip(pool, results, strict=True) if len(ids) > 1]
    assert 2 <= len(several) <= 5
    # The IVR's customer number finds the same person.
    for who in known[:20]:
        r = await crm.http.get("/contacts", params={"customer_id": who.customer_id})
        names = {f"{c['first_name']} {c['last_name']}" for c in r.json()["contacts"]}
        assert who.name in names


async def test_numbers_are_stored_in_the_mixed_formats_people_type(crm: Crm, tmp_path: Path
                                                                   ) -> None:
    with sqlite3.connect(tmp_path / "democrm.db") as db:
        numbers = [row[0] for row in db.execute("SELECT number FROM phones")]
        companies = db.execute("SELECT count(*) FROM companies").fetchone()[0]
        contacts = db.execute("SELECT count(*) FROM contacts").fetchone()[0]
        activities = db.execute("SELECT count(*) FROM activities").fetchone()[0]
    styles = {
        "spaced national": r"^0\d( \d\d){4}$",
        "dotted national": r"^0\d(\.\d\d){4}$",
        "compact national": r"^0\d{9}$",
        "spaced international": r"^\+\d+( [\d-]+)+$",
        "E.164": r"^\+\d{8,15}$",
    }
    for style, pattern in styles.items():
        assert any(re.match(pattern, n) for n in numbers), style
    assert 8 <= companies <= 12
    assert contacts > 300 and activities > 100


async def test_the_seed_is_written_once_and_follows_the_pool(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    async with democrm_server(db, generate_customers(SEED)) as crm:
        r = await crm.http.post("/contacts", json={"first_name": "Kept", "last_name": "Across",
                                                   "phones": []})
        assert r.status_code == 201
        count = len((await crm.http.get("/contacts", params={"q": ""})).json()["contacts"])
    with sqlite3.connect(db) as conn:
        before = conn.execute("SELECT count(*) FROM contacts").fetchone()[0]
    async with democrm_server(db, generate_customers(SEED)) as crm:
        assert crm.app is not None and crm.app.store.seed_plan is None  # not seeded again
        assert (await crm.http.get("/contacts", params={"q": "kept across"})).json()["contacts"]
        assert len((await crm.http.get("/contacts", params={"q": ""})).json()["contacts"]) == count
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM contacts").fetchone()[0] == before
    # Another simulator seed, another pool: its callers are the ones seeded.
    other = generate_customers(SEED + 1)
    async with democrm_server(tmp_path / "other.db", other) as crm:
        hits = await lookup_all(crm, other[:40])
        assert sum(1 for ids in hits if ids) >= 30
