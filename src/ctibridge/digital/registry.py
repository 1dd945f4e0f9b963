"""Find digital connectors by entry point (group ``ctibridge.digital``).

Same pattern as :mod:`ctibridge.telephony.registry`: a third party ships a
connector as a package declaring an entry point whose object has
``from_options(name, options, clock)``; ``register`` adds one directly.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from ..clock import Clock
from ..config import DigitalSettings
from ..model.errors import ConfigError
from .base import DigitalConnector

GROUP = "ctibridge.digital"
_registered: dict[str, Any] = {}


def register(kind: str, factory: Any) -> None:
    if kind in _registered:
        raise ConfigError(f"a digital connector {kind!r} is already registered")
    _registered[kind] = factory


def available() -> dict[str, Any]:
    found: dict[str, Any] = {ep.name: ep for ep in entry_points(group=GROUP)}
    found.update(_registered)
    return found


def build(spec: DigitalSettings, clock: Clock) -> DigitalConnector:
    kinds = available()
    entry = kinds.get(spec.type)
    if entry is None:
        raise ConfigError(
            f"digital {spec.name!r}: unknown type {spec.type!r}; "
            f"installed: {', '.join(sorted(kinds)) or 'none'}",
            code="config-invalid",
        )
    try:
        factory = entry.load() if hasattr(entry, "load") else entry
    except Exception as exc:  # a broken plug-in is reported, not a traceback
        raise ConfigError(f"digital type {spec.type!r} failed to load: {exc}") from exc
    connector: DigitalConnector = factory.from_options(spec.name, spec.options, clock)
    return connector
