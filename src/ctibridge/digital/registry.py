"""Find digital connectors by entry point (group ``ctibridge.digital``).

Same pattern as :mod:`ctibridge.telephony.registry`: a third party ships a
connector as a package declaring an entry point whose object has
``from_options(name, options, clock)``; ``register`` adds one directly.
"""

from __future__ import annotations

from ..clock import Clock
from ..config import DigitalSettings
from ..plugins import Plugins
from .base import DigitalConnector

GROUP = "ctibridge.digital"
_plugins = Plugins("digital", GROUP)
register = _plugins.register
available = _plugins.available


def build(spec: DigitalSettings, clock: Clock) -> DigitalConnector:
    factory = _plugins.factory(spec.type, spec.name)
    connector: DigitalConnector = factory.from_options(spec.name, spec.options, clock)
    return connector
