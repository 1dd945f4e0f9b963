"""The "generic webhook" digital platform: its interactions come from the signed intake.

Any system that can POST JSON (a web form, a chat widget, an SMS gateway, a
mail-to-webhook relay) becomes a digital platform. ctibridge is the platform
of record here, so the hub's commands are reflected as events (accepted,
declined, closed) rather than sent anywhere; replies need a platform that
can deliver them and are not offered (``reply`` raises CapabilityMissing).

Options (``digital: [{name: web, type: webhook, options: {...}}]``):

* ``channels``: the channels accepted, default every digital channel;
* ``queue``: the queue an interaction joins when the message names none.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from ..clock import Clock
from ..model.errors import ConfigError
from ..model.events import (
    DigitalResynced,
    InteractionAccepted,
    InteractionArrived,
    InteractionClosed,
    InteractionDeclined,
    InteractionSnapshot,
    PlatformStatus,
)
from ..model.party import Channel
from .base import (
    DIGITAL_CHANNELS,
    DigitalCapability,
    Health,
    require,
)
from .intake import IntakeMessage, event_for
from .platform import DigitalPlatform

_CAPABILITIES = frozenset({DigitalCapability.ACCEPT, DigitalCapability.DECLINE,
                           DigitalCapability.CLOSE, DigitalCapability.AGENT_STATE})


class WebhookConnector(DigitalPlatform):
    """A digital platform fed by REST / signed webhook posts."""

    def __init__(
        self, name: str = "web", *, clock: Clock | None = None,
        channels: frozenset[Channel] = frozenset(DIGITAL_CHANNELS), queue: str | None = None,
    ) -> None:
        super().__init__(name, clock)
        self.channels = frozenset(channels)
        self.capabilities = _CAPABILITIES
        self.queue = queue
        self._open: dict[str, InteractionSnapshot] = {}

    @classmethod
    def from_options(cls, name: str, options: Mapping[str, Any], clock: Clock) -> WebhookConnector:
        errors: list[str] = []
        kwargs: dict[str, Any] = {}
        known = {str(c) for c in DIGITAL_CHANNELS}
        for key, value in options.items():
            if key == "channels":
                if (not isinstance(value, list) or not value
                        or any(v not in known for v in value)):
                    errors.append(f"options.channels: must be a non-empty list among "
                                  f"{', '.join(sorted(known))} (got {value!r})")
                else:
                    kwargs["channels"] = frozenset(Channel(v) for v in value)
            elif key == "queue":
                if not isinstance(value, str) or not value:
                    errors.append(f"options.queue: must be a queue name (got {value!r})")
                else:
                    kwargs["queue"] = value
            else:
                errors.append(f"options.{key}: unknown option; known: channels, queue")
        if errors:
            raise ConfigError(f"digital {name!r} (webhook): " + "; ".join(errors),
                              code="config-invalid")
        return cls(name, clock=clock, **kwargs)

    # ------------------------------------------------------------- contract

    async def start(self) -> None:
        self._up = True
        now = self.clock.now()
        self._emit(PlatformStatus(at=now, up=True, detail="webhook intake"))
        self._emit(DigitalResynced(at=now, interactions=tuple(self._open.values()),
                                                agents=dict(self.agents)))

    async def stop(self) -> None:
        self._up = False
        self._end_stream()

    def health(self) -> Health:
        return Health(self._up, "webhook intake" if self._up else "not started")

    def restore(self, interactions: Sequence[InteractionSnapshot]) -> None:
        for snap in interactions:
            if snap.queue is None and self.queue is not None:
                snap = dataclasses.replace(snap, queue=self.queue)
            self._open[snap.ref] = snap

    def take(self, message: IntakeMessage, ref: str, *, new: bool) -> None:
        event = event_for(message, ref, new=new, at=self.clock.now())
        if isinstance(event, InteractionArrived):
            if event.queue is None and self.queue is not None:
                event = dataclasses.replace(event, queue=self.queue)
            self._open[ref] = InteractionSnapshot(
                ref, event.channel, event.sender, queue=event.queue, subject=event.subject,
                preview=event.preview, content_url=event.content_url, opened_at=event.at,
                attached=dict(event.attached))
        elif isinstance(event, InteractionClosed):
            self._open.pop(ref, None)
        self._emit(event)

    # Commands: this platform is ctibridge itself, so each is reflected as its event.
    # Refs unknown since a restart are accepted: the hub's store is the record.

    async def accept(self, ref: str, agent: str) -> None:
        require(self, DigitalCapability.ACCEPT)
        if (snap := self._open.get(ref)) is not None:
            self._open[ref] = dataclasses.replace(snap, agent=agent)
        self._emit(InteractionAccepted(ref=ref, at=self.clock.now(), agent=agent))

    async def decline(self, ref: str, agent: str, reason: str | None = None) -> None:
        require(self, DigitalCapability.DECLINE)
        if (snap := self._open.get(ref)) is not None:
            self._open[ref] = dataclasses.replace(snap, agent=None)
        self._emit(InteractionDeclined(ref=ref, at=self.clock.now(), agent=agent,
                                                    reason=reason))

    async def close(self, ref: str, agent: str, disposition: str | None = None) -> None:
        require(self, DigitalCapability.CLOSE)
        self._open.pop(ref, None)
        await self._closed_by(ref, agent, disposition)

    async def reply(self, ref: str, agent: str, body: str) -> str:
        require(self, DigitalCapability.REPLY)
        raise AssertionError("unreachable: replies are not a capability of this platform")

