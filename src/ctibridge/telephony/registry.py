"""Find telephony connectors by entry point (group ``ctibridge.telephony``).

A third party ships a connector as its own package declaring an entry point;
``register`` lets tests and embedders add one directly.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import structlog

from ..clock import Clock
from ..config import TelephonySettings
from ..model.errors import ConfigError
from .base import TelephonyConnector

GROUP = "ctibridge.telephony"
log = structlog.get_logger("ctibridge.telephony")
_registered: dict[str, Any] = {}


def register(kind: str, factory: Any) -> None:
    if kind in _registered:
        raise ConfigError(f"a telephony connector {kind!r} is already registered")
    _registered[kind] = factory


def available() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for ep in entry_points(group=GROUP):
        found[ep.name] = ep
    found.update(_registered)
    return found


def _factory(spec: TelephonySettings) -> Any:
    kinds = available()
    entry = kinds.get(spec.type)
    if entry is None:
        raise ConfigError(
            f"telephony {spec.name!r}: unknown type {spec.type!r}; "
            f"installed: {', '.join(sorted(kinds)) or 'none'}",
            code="config-invalid",
        )
    try:
        factory = entry.load() if hasattr(entry, "load") else entry
    except Exception as exc:  # a broken plug-in is reported, not a traceback
        raise ConfigError(f"telephony type {spec.type!r} failed to load: {exc}") from exc
    return factory


def build(spec: TelephonySettings, clock: Clock) -> TelephonyConnector:
    return _factory(spec).from_options(spec.name, spec.options, clock)


def validate(spec: TelephonySettings) -> None:
    """Check a platform's options without connecting (``ctibridge config check``).

    A connector may offer ``validate_options(name, options)``; one that does
    not is checked by building it, which must not do any I/O.
    """
    factory = _factory(spec)
    check = getattr(factory, "validate_options", None)
    if check is not None:
        check(spec.name, spec.options)
        return
    from ..clock import SystemClock

    factory.from_options(spec.name, spec.options, SystemClock())
