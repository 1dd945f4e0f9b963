"""Phone numbers as a CRM stores them: the variants a phone lookup tries, in order.

CRMs keep numbers as users typed them, so a lookup tries several spellings of
the same number (E.164 first, then national, digits...) until one matches; the
last N digits are a last resort because they can match someone else.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberFormat

Format = Literal["e164", "international", "national", "national_digits", "digits", "as_typed"]
FORMATS: tuple[str, ...] = ("e164", "international", "national", "national_digits", "digits",
                            "as_typed")


@dataclass(frozen=True, slots=True)
class Variant:
    """One spelling of the number to search for, and the format that produced it."""

    number: str
    format: str  # one of FORMATS, or "last_digits"


def parse(number: str, region: str | None) -> PhoneNumber | None:
    """The parsed number, or None when it is not a possible phone number."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    return parsed if phonenumbers.is_possible_number(parsed) else None


def to_e164(number: str, region: str | None) -> str:
    """E.164 when the number parses, else the number as typed (still shown and searched)."""
    parsed = parse(number, region)
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164) if parsed else number


def formatted(number: str, fmt: str, region: str | None) -> str:
    """``number`` written in ``fmt``; the number as typed when it cannot be parsed."""
    parsed = parse(number, region)
    if parsed is None or fmt == "as_typed":
        return number
    if fmt == "e164":
        return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
    if fmt == "international":
        return phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)
    if fmt == "national":
        return phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL)
    if fmt == "national_digits":
        return digits(phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL))
    if fmt == "digits":
        return digits(phonenumbers.format_number(parsed, PhoneNumberFormat.E164))
    raise ValueError(f"unknown phone format {fmt!r}; expected one of {', '.join(FORMATS)}")


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def last_digits(number: str, n: int, region: str | None) -> str:
    return digits(formatted(number, "e164", region))[-n:]


def variants(number: str, formats: Sequence[str], region: str | None,
             last: int | None = None) -> list[Variant]:
    """The spellings to try in order, without repeats; the typed number when unparseable."""
    if parse(number, region) is None:
        return [Variant(number.strip(), "as_typed")]
    out: list[Variant] = []
    seen: set[str] = set()
    for fmt in formats:
        value = formatted(number, fmt, region).strip()
        if value and value not in seen:
            seen.add(value)
            out.append(Variant(value, fmt))
    if last:
        value = last_digits(number, last, region)
        if value and value not in seen:
            out.append(Variant(value, "last_digits"))
    return out
