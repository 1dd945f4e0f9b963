"""Find telephony connectors by entry point (group ``ctibridge.telephony``).

A third party ships a connector as its own package declaring an entry point;
``register`` lets tests and embedders add one directly.
"""

from __future__ import annotations

from typing import Any

import structlog

from ..clock import Clock
from ..config import TelephonySettings
from ..plugins import Plugins
from .base import TelephonyConnector

GROUP = "ctibridge.telephony"
log = structlog.get_logger("ctibridge.telephony")
_plugins = Plugins("telephony", GROUP)
register = _plugins.register
available = _plugins.available


def _factory(spec: TelephonySettings) -> Any:
    return _plugins.factory(spec.type, spec.name)


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
