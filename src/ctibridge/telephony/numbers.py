"""Phone numbers as connectors present them: E.164 when they can be read, else as sent."""

from __future__ import annotations

from collections.abc import Container

import phonenumbers

from ..model.party import Party

# What platforms put where there is no number ("anonymous", empty caller-ids...).
_EMPTY = frozenset({"", "unknown", "<unknown>", "anonymous", "0000000000"})


def clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return None if value.lower() in _EMPTY else value


def normalize_number(number: str | None, region: str | None,
                     extensions: Container[str] = ()) -> str | None:
    """E.164 for a valid number (national ones read in ``region``); extensions and
    anything unreadable are kept as they are."""
    number = clean(number)
    if number is None or number in extensions:
        return number
    return e164(number, region)


def e164(number: str, region: str | None) -> str:
    """``number`` in E.164 if it is a valid one (a national one read in ``region``), else
    as it is."""
    try:
        parsed = phonenumbers.parse(number, region if not number.startswith("+") else None)
    except phonenumbers.NumberParseException:
        return number
    if phonenumbers.is_valid_number(parsed):
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return number


def party(number: str | None, name: str | None, region: str | None,
          extensions: Container[str] = ()) -> Party:
    return Party(number=normalize_number(number, region, extensions), name=clean(name))
