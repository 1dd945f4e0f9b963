"""Size bounds on what platforms attach to calls and interactions.

Attached data (IVR input, SIP headers, webhook fields) comes from outside and is
copied into every snapshot and event about the call: one 10 MB value would be
sent to every supervisor at every connect. So it is cut once, where it enters
the hub (:meth:`Hub.apply`): each value to ``attached_value_chars`` (ending in
``…``), at most ``attached_keys`` keys, and keys past ``attached_total_chars``
(keys and values counted together) dropped. What was cut is logged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

import structlog

from ..model.events import DigitalResynced, PlatformResynced

log = structlog.get_logger("ctibridge.bounds")

E = TypeVar("E")
ELLIPSIS = "…"
_capped_count = 0


@dataclasses.dataclass(frozen=True, slots=True)
class AttachedLimits:
    value_chars: int = 1000
    total_chars: int = 8000
    keys: int = 50

    @classmethod
    def from_settings(cls, limits: Any) -> AttachedLimits:
        return cls(limits.attached_value_chars, limits.attached_total_chars,
                   limits.attached_keys)

    def fits(self, values: Mapping[str, str]) -> bool:
        if len(values) > self.keys:
            return False
        total = 0
        for key, value in values.items():
            if len(value) > self.value_chars or len(key) > self.value_chars:
                return False
            total += len(key) + len(value)
        return total <= self.total_chars

    def cap(self, values: Mapping[str, str]) -> dict[str, str]:
        """``values`` within the limits (the same dict's copy when it already fits)."""
        if self.fits(values):
            return dict(values)
        out: dict[str, str] = {}
        total = 0
        dropped = 0
        cut = 0
        for key, value in values.items():
            key, value = str(key), str(value)
            if len(key) > self.value_chars:
                dropped += 1
                continue
            if len(value) > self.value_chars:
                value = value[: self.value_chars - 1] + ELLIPSIS
                cut += 1
            if len(out) >= self.keys or total + len(key) + len(value) > self.total_chars:
                dropped += 1
                continue
            out[key] = value
            total += len(key) + len(value)
        global _capped_count
        _capped_count += 1
        if _capped_count % 100 == 1:  # a platform that always sends too much: not every time
            log.warning("attached.capped", values_cut=cut, keys_dropped=dropped,
                        kept=len(out), value_chars=self.value_chars,
                        total_chars=self.total_chars, times=_capped_count)
        return out


def bounded(event: E, limits: AttachedLimits) -> E:
    """``event`` with its attached data (and its snapshots') within ``limits``."""
    if isinstance(event, PlatformResynced | DigitalResynced):
        field = "calls" if isinstance(event, PlatformResynced) else "interactions"
        items = getattr(event, field)
        capped = tuple(_bounded_one(c, limits) for c in items)
        if any(a is not b for a, b in zip(capped, items, strict=True)):
            changes: dict[str, Any] = {field: capped}
            return dataclasses.replace(event, **changes)
        return event
    return _bounded_one(event, limits)


def _bounded_one(item: E, limits: AttachedLimits) -> E:
    attached = getattr(item, "attached", None)
    if not isinstance(attached, dict) or limits.fits(attached):
        return item
    if not dataclasses.is_dataclass(item):
        return item
    return dataclasses.replace(item, attached=limits.cap(attached))  # type: ignore[type-var]

