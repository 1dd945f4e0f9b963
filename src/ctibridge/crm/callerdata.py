"""Caller data made safe for a CRM: no control characters, bounded lengths.

What a platform or a customer says about a call (number, name, IVR data) goes into
CRM URLs, queries and bodies. A name with CR/LF breaks a query or a header, and a
"number" of 40+ characters is refused by CRMs for ever (so a call log could never
be written). Everything a mapping reads of the caller passes through here first.
"""

from __future__ import annotations

import re
from typing import Any

MAX_NUMBER = 32  # E.164 has at most 15 digits; room for "+", spaces and an extension
MAX_NAME = 100
MAX_VALUE = 1000

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def text(value: Any, limit: int) -> str | None:
    """``value`` on one line (control characters become a space), cut to ``limit``."""
    if value is None:
        return None
    out = " ".join(_CONTROL.sub(" ", str(value)).split())
    return out if len(out) <= limit else out[: limit - 1] + "…"


def number(value: Any) -> str:
    """A number fit to look up and log, or "" when it cannot be one (too long once
    cleaned: a prefix of it could match somebody else)."""
    out = text(value, 10 * MAX_NUMBER) or ""
    return out if len(out) <= MAX_NUMBER else ""


def name(value: Any) -> str | None:
    return text(value, MAX_NAME) or None


def attached(values: dict[str, Any]) -> dict[str, Any]:
    """Attached data with each string value on one line and bounded."""
    return {str(k)[:64]: text(v, MAX_VALUE) if isinstance(v, str) else v
            for k, v in values.items()}
