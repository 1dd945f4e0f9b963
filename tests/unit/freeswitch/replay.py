"""Replay an ESL transcript through the connector's normalizer (as the connector does).

The transcript is read in place; its sent blocks tell what the recording client asked
(our click-to-call carries ``ctibridge_request``; a snapshot completes a resync), as
:class:`ctibridge.recording.esl.EslReplay` does for ``ctibridge replay``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ctibridge.model.events import PlatformEvent
from ctibridge.recording.esl import EslReplay, read_esl_file
from ctibridge.telephony.freeswitch.config import FreeSwitchOptions

from .fake_esl import FIXTURES

AT = datetime(2026, 12, 5, 14, 0, tzinfo=UTC)
OWN = Path(__file__).resolve().parents[2] / "fixtures" / "freeswitch"


def options(**over: Any) -> FreeSwitchOptions:
    base: dict[str, Any] = {"host": "127.0.0.1", "password": "ctibridge-secret",
                            "agents": {"6001": {}, "6002": {}}, "queues": ["support@default"]}
    base.update(over)
    return FreeSwitchOptions.model_validate(base)


def replay(name: str, *, folder: Path = FIXTURES, **over: Any) -> EslReplay:
    r = EslReplay(read_esl_file(folder / name), options(**over), lambda: AT)
    r.run()
    return r


def events(name: str, **over: Any) -> list[PlatformEvent]:
    r = replay(name, **over)
    assert not r.parse_errors, r.parse_errors
    return [e.event for e in r.events]
