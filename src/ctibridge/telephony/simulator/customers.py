"""Seeded, realistic callers for the simulated contact center.

Numbers are drawn from real numbering plans (French mobiles and landlines,
plus Belgium, Switzerland, the UK, Germany and the US) and kept only when
``phonenumbers`` says they are valid, so CRM lookups and screen pops behave
as with real traffic. The pool is built once per seed (a few milliseconds)
and reused: generating a call never parses a number.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

import phonenumbers

REASONS: tuple[str, ...] = (
    "billing", "delivery", "technical", "contract", "complaint", "information", "cancellation",
)


@dataclass(frozen=True, slots=True)
class _Plan:
    region: str
    prefixes: tuple[str, ...]  # E.164 prefixes, "+" included
    digits: int  # random digits after the prefix
    weight: int
    language: str


# Weights: about four callers in five are French, as for a French contact center.
PLANS: tuple[_Plan, ...] = (
    _Plan("FR", ("+336",), 8, 30, "fr"),  # mobiles
    _Plan("FR", ("+337",), 8, 10, "fr"),
    _Plan("FR", ("+331",), 8, 15, "fr"),  # Paris
    _Plan("FR", ("+334",), 8, 10, "fr"),  # south-east
    _Plan("FR", ("+332", "+333", "+335"), 8, 13, "fr"),
    _Plan("BE", ("+3247", "+3248", "+3249"), 7, 5, "fr"),
    _Plan("CH", ("+4176", "+4178", "+4179", "+4122", "+4144"), 7, 5, "fr"),
    _Plan("GB", ("+447",), 9, 5, "en"),
    _Plan("DE", ("+49151", "+49160", "+49170", "+4930", "+4989"), 8, 4, "en"),
    _Plan("US", ("+1212", "+1415", "+1617"), 7, 3, "en"),
)

_FIRST = {
    "FR": ("Camille", "Léa", "Manon", "Chloé", "Inès", "Hugo", "Lucas", "Louis", "Jules",
           "Gabriel", "Nathalie", "Thierry", "Sandrine", "Éric", "Amélie", "Yannick",
           "Françoise", "Jérôme", "Océane", "Mathéo"),
    "BE": ("Lotte", "Pieter", "Sofie", "Maxime", "Elise", "Wout", "Julie", "Arnaud"),
    "CH": ("Lukas", "Noémie", "Reto", "Céline", "Urs", "Mélanie", "Beat", "Valérie"),
    "GB": ("Oliver", "Amelia", "George", "Isla", "Harry", "Emily", "Jack", "Olivia"),
    "DE": ("Jonas", "Lena", "Felix", "Hannah", "Maximilian", "Sophie", "Lukas", "Anna"),
    "US": ("John", "Maria", "Michael", "Jennifer", "David", "Emma", "James", "Ava"),
}
_LAST = {
    "FR": ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand", "Leroy",
           "Moreau", "Lefèvre", "Garnier", "Faure", "Rousseau", "Fontaine", "Chevalier",
           "N'Diaye", "Nguyen", "Da Silva"),
    "BE": ("Peeters", "Janssens", "Maes", "Dupont", "Claes", "Lambert", "Dumont"),
    "CH": ("Meier", "Müller", "Schmid", "Favre", "Keller", "Rochat", "Huber"),
    "GB": ("Smith", "Jones", "Taylor", "Brown", "Williams", "O'Connor", "Wilson"),
    "DE": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Wagner", "Becker"),
    "US": ("Johnson", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Anderson"),
}


@dataclass(frozen=True, slots=True)
class Customer:
    number: str  # E.164, valid per phonenumbers
    name: str
    customer_id: str  # what the IVR identified, e.g. "C-10427"
    language: str  # "fr" | "en"
    region: str  # ISO country of the number


@functools.lru_cache(maxsize=16)
def generate_customers(seed: int, count: int = 400) -> tuple[Customer, ...]:
    """``count`` distinct valid customers; the same seed always gives the same ones."""
    rng = random.Random(f"ctibridge-customers-{seed}")
    weights = [p.weight for p in PLANS]
    seen: set[str] = set()
    pool: list[Customer] = []
    while len(pool) < count:
        plan = rng.choices(PLANS, weights)[0]
        number = rng.choice(plan.prefixes) + "".join(
            rng.choice("0123456789") for _ in range(plan.digits))
        if number in seen or not phonenumbers.is_valid_number(phonenumbers.parse(number)):
            continue  # about one draw in eight falls outside the allocated ranges
        seen.add(number)
        name = f"{rng.choice(_FIRST[plan.region])} {rng.choice(_LAST[plan.region])}"
        pool.append(Customer(number, name, f"C-{rng.randint(10000, 99999)}", plan.language,
                             plan.region))
    return tuple(pool)


class CustomerBook:
    """Who calls next: customers from the seeded pool, repeat callers included."""

    def __init__(self, seed: int, size: int = 400) -> None:
        self.pool = generate_customers(seed, size)
        self._rng = random.Random(f"ctibridge-callers-{seed}")

    def next(self) -> Customer:
        return self.pool[self._rng.randrange(len(self.pool))]

    def attached(self, customer: Customer) -> dict[str, str]:
        """What the IVR collected before the queue."""
        return {"customer_id": customer.customer_id, "reason": self._rng.choice(REASONS),
                "language": customer.language}
