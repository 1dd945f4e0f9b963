"""Seed data derived from the simulator's customer pool, so demo calls pop.

Most of the pool's callers become contacts, each phone number stored in one
of the formats people really type ("06 12 34 56 78", "06.12.34.56.78",
"+33 6 12 34 56 78"…). Some callers are left out, so "create a contact" shows;
a few numbers are given to a second contact (a relative, a colleague), so
"several matches" shows. Everything is drawn from a seeded generator: the
same pool always gives the same CRM.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import phonenumbers
from phonenumbers import PhoneNumberFormat

from ...telephony.simulator import Customer

# One caller in eight is unknown to the CRM.
UNKNOWN_SHARE = 0.125
SHARED_NUMBERS = 3


@dataclass(frozen=True, slots=True)
class SeedCompany:
    name: str
    city: str
    country: str
    phone: str  # the switchboard, international format


COMPANIES: tuple[tuple[str, str, str, str], ...] = (
    # name, city, country, a number plan to draw the switchboard from
    ("Boulangeries Lemaire", "Lyon", "FR", "+334"),
    ("Transports Garnier & Fils", "Rennes", "FR", "+332"),
    ("Atelier Dupont Rénovation", "Paris", "FR", "+331"),
    ("Mutuelle des Alpes", "Grenoble", "FR", "+334"),
    ("Cabinet Moreau Avocats", "Bordeaux", "FR", "+335"),
    ("Clinique Vétérinaire du Parc", "Lille", "FR", "+333"),
    ("Brasserie Janssens", "Bruxelles", "BE", "+322"),
    ("Horlogerie Favre SA", "Genève", "CH", "+4122"),
    ("Northwind Logistics Ltd", "London", "GB", "+4420"),
    ("Schneider Maschinenbau GmbH", "München", "DE", "+4989"),
)

_RELATIVES = ("Claire", "Paul", "Sophie", "Marc", "Alice", "Noah")
_SUBJECTS = (
    ("call", "inbound", "Question about an invoice", "resolved"),
    ("call", "outbound", "Follow-up on the delivery", "callback"),
    ("call", "inbound", "Contract renewal", "info"),
    ("email", "inbound", "Change of address", None),
    ("note", "internal", "Prefers to be called in the morning", None),
)


@dataclass
class SeedContact:
    first_name: str
    last_name: str
    customer_id: str | None
    company: int | None  # index into COMPANIES
    email: str | None
    phones: list[tuple[str, str]]  # (label, number as typed)
    e164: str  # the caller's number, for tests and the activity history
    activities: list[dict[str, object]] = field(default_factory=list)


@dataclass
class SeedPlan:
    companies: list[SeedCompany]
    contacts: list[SeedContact]
    unknown: list[Customer]  # callers deliberately left out
    shared: list[str]  # E.164 numbers held by two contacts


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and (c.isalnum() or c in ".-"))


def _typed(number: str, rng: random.Random) -> tuple[str, str]:
    """``number`` (E.164) as a person might have typed it, and its label."""
    parsed = phonenumbers.parse(number)
    region = phonenumbers.region_code_for_number(parsed)
    mobile = phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE
    label = "mobile" if mobile else rng.choice(("work", "home"))
    international = phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)
    if region != "FR":  # a French CRM keeps foreign numbers international
        return rng.choice((international, number)), label
    national = phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL)
    style = rng.choice(("spaced", "dotted", "compact", "international", "e164"))
    typed = {"spaced": national, "dotted": national.replace(" ", "."),
             "compact": national.replace(" ", ""), "international": international,
             "e164": number}[style]
    return typed, label


def _switchboard(prefix: str, rng: random.Random, taken: set[str]) -> str:
    length = {"+33": 12, "+32": 11, "+41": 12, "+44": 13, "+49": 13}[prefix[:3]]
    while True:
        number = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix)))
        if number not in taken and phonenumbers.is_valid_number(phonenumbers.parse(number)):
            taken.add(number)
            return phonenumbers.format_number(phonenumbers.parse(number),
                                              PhoneNumberFormat.INTERNATIONAL)


def plan(customers: Sequence[Customer], *, now: datetime | None = None,
         seed: int = 0) -> SeedPlan:
    """The CRM's content for callers ``customers`` (deterministic for one pool and seed)."""
    rng = random.Random(f"ctibridge-democrm-{seed}")
    now = now or datetime.now(UTC)
    taken = {c.number for c in customers}
    companies = [SeedCompany(n, city, country, _switchboard(prefix, rng, taken))
                 for n, city, country, prefix in COMPANIES]
    order = list(customers)
    rng.shuffle(order)
    n_unknown = max(2, round(len(order) * UNKNOWN_SHARE)) if len(order) > 4 else 0
    unknown, known = order[:n_unknown], order[n_unknown:]
    contacts: list[SeedContact] = []
    for i, who in enumerate(known):
        first, _, last = who.name.partition(" ")
        # About a third are private customers, the rest work for a company of their country
        # when there is one.
        local = [k for k, c in enumerate(companies) if c.country == who.region]
        pick = local or list(range(len(companies)))
        company = None if rng.random() < 0.35 else rng.choice(pick)
        typed, label = _typed(who.number, rng)
        phones = [(label, typed)]
        if company is not None and rng.random() < 0.3:
            phones.append(("work", companies[company].phone))
        domain = (_ascii(companies[company].name.split()[0]).lower() + ".example"
                  if company is not None else "mail.example")
        email = f"{_ascii(first).lower()}.{_ascii(last).lower()}@{domain}" if i % 5 else None
        contact = SeedContact(first, last, who.customer_id, company, email, phones, who.number)
        for _ in range(rng.choice((0, 0, 1, 2, 3))):
            kind, direction, subject, disposition = rng.choice(_SUBJECTS)
            started = now - timedelta(days=rng.randint(1, 400), minutes=rng.randint(0, 600))
            contact.activities.append({
                "kind": kind, "direction": direction, "subject": subject,
                "started_at": started, "disposition": disposition,
                "duration_seconds": rng.randint(40, 900) if kind == "call" else None,
                "phone": who.number if kind == "call" else None,
                "agent": rng.choice(("Alice Martin", "Bob Durand", "Carol Lefèvre")),
                "queue": "support" if kind == "call" else None,
                "notes": None, "external_id": None,
            })
        contacts.append(contact)
    # A few numbers that two people share: a relative at home, a colleague on one line.
    shared: list[str] = []
    for host in contacts[:SHARED_NUMBERS]:
        other_typed, _ = _typed(host.e164, rng)
        contacts.append(SeedContact(
            rng.choice(_RELATIVES), host.last_name, None, host.company, None,
            [("home" if host.company is None else "work", other_typed)], host.e164))
        shared.append(host.e164)
    return SeedPlan(companies, contacts, unknown, shared)
