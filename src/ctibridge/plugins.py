"""Connectors found by entry point, or registered directly (tests, embedders).

A third party ships a connector as its own package declaring an entry point (in
``ctibridge.telephony`` or ``ctibridge.digital``) whose object has
``from_options(name, options, clock)``.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from .model.errors import ConfigError


class Plugins:
    """The connector kinds of one section of the configuration (``telephony``...)."""

    def __init__(self, section: str, group: str) -> None:
        self.section = section
        self.group = group
        self._registered: dict[str, Any] = {}

    def register(self, kind: str, factory: Any) -> None:
        if kind in self._registered:
            raise ConfigError(f"a {self.section} connector {kind!r} is already registered")
        self._registered[kind] = factory

    def available(self) -> dict[str, Any]:
        found: dict[str, Any] = {ep.name: ep for ep in entry_points(group=self.group)}
        found.update(self._registered)
        return found

    def factory(self, kind: str, name: str) -> Any:
        """What builds a ``kind`` connector (for the platform ``name``, named in errors)."""
        kinds = self.available()
        entry = kinds.get(kind)
        if entry is None:
            raise ConfigError(
                f"{self.section} {name!r}: unknown type {kind!r}; "
                f"installed: {', '.join(sorted(kinds)) or 'none'}",
                code="config-invalid",
            )
        try:
            return entry.load() if hasattr(entry, "load") else entry
        except Exception as exc:  # a broken plug-in is reported, not a traceback
            raise ConfigError(f"{self.section} type {kind!r} failed to load: {exc}") from exc
