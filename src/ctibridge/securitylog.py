"""The security event log: logger ``ctibridge.security``, one JSON object per line.

Separate from the application log so it can be kept, shipped and alerted on by
itself (docs/security.md, "Security event log"). Every value is JSON-escaped and
bounded: an attacker's username with line breaks stays one line.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger("ctibridge.security")

MAX_VALUE = 200


def event(name: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log one security event ``name`` with ``fields`` (None values left out)."""
    if not logger.isEnabledFor(level):
        return
    record: dict[str, Any] = {"at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                              "event": name}
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, str) and len(value) > MAX_VALUE:
            value = value[:MAX_VALUE] + "…"
        elif isinstance(value, list | tuple | set | frozenset):
            value = sorted(str(v)[:MAX_VALUE] for v in value)[:50]
        record[key] = value
    logger.log(level, json.dumps(record, ensure_ascii=True, default=str, sort_keys=False))


def warning(name: str, **fields: Any) -> None:
    event(name, level=logging.WARNING, **fields)


def refused(status: int, code: str, message: str, *, path: str, address: str | None,
            user: str | None = None) -> None:
    """A request answered 401 or 403 (the app's error handler calls this)."""
    if code.startswith(("signature-", "webhook-")):
        name = "webhook.refused"
    else:
        name = "http.unauthorized" if status == 401 else "http.forbidden"
    warning(name, code=code, path=path, address=address, user=user, message=message)
