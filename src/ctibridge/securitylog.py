"""The security event log: logger ``ctibridge.security``, one JSON object per line.

Separate from the application log so it can be kept, shipped and alerted on by
itself (docs/security.md, "Security event log"). Every value is JSON-escaped and
bounded: an attacker's username with line breaks stays one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger("ctibridge.security")

MAX_VALUE = 200
# A flood of refusals from one offender is one line at its first refusal, then at most one
# summary line per interval ("repeated": refusals since the last line), not one per refusal.
SUMMARY_SECONDS = 10.0


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



class Summaries:
    """Refusals of offenders, summed: an offender's (``key``: its address…) first refusal
    is logged at once, the next ones in one line per SUMMARY_SECONDS while they go on
    (``"repeated"``: how many since the last line; the fields are the latest one's). One
    per component that refuses (its lifetime: the app's)."""

    def __init__(self, every: float = SUMMARY_SECONDS) -> None:
        self.every = every
        self.last: dict[tuple[str, str], float] = {}
        self.pending: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}

    def offender(self, name: str, key: str, **fields: Any) -> None:
        with contextlib.suppress(Exception):  # logging never turns a refusal into a failure
            self._note((name, key), fields)

    def _note(self, slot: tuple[str, str], fields: dict[str, Any]) -> None:
        if slot in self.pending:  # a summary is already due: counted in it
            count, _ = self.pending[slot]
            self.pending[slot] = (count + 1, fields)
            return
        now = time.monotonic()
        last = self.last.get(slot)
        if last is None or now - last >= self.every:
            self.last[slot] = now
            if len(self.last) > 10_000:  # forget offenders long gone
                self.last = {k: t for k, t in self.last.items() if now - t < self.every}
            warning(slot[0], **fields)
            return
        self.pending[slot] = (1, fields)
        with contextlib.suppress(RuntimeError):  # no event loop: said at flush_all()
            asyncio.get_running_loop().call_later(last + self.every - now, self._flush, slot)

    def _flush(self, slot: tuple[str, str]) -> None:
        entry = self.pending.pop(slot, None)
        if entry is not None:
            self.last[slot] = time.monotonic()
            warning(slot[0], **entry[1], repeated=entry[0])

    def flush_all(self) -> None:
        """Log every pending summary now (at shutdown)."""
        for slot in list(self.pending):
            self._flush(slot)
