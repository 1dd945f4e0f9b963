"""Calls whose Hangup never arrived end anyway; nothing is kept per call for ever.

Every ``reconcile_interval`` seconds the connector lists Asterisk's channels
(``CoreShowChannels``) and compares the list with the calls the normalizer
follows. A call none of whose channels Asterisk still has is ended with the
cause :data:`GONE` and forgotten, but only when it is missing from **two lists
in a row**: a Hangup still waiting in the event queue, or a channel created
while the list was being made, is then never taken for a lost one (a lost call
ends between one and two intervals after its channels went away).

The same pass bounds the normalizer's other maps: bridges none of whose
channels is followed any more, and click-to-calls Asterisk never said anything
about (no channel, no ``OriginateResponse``) once their dial timeout is long
past (those fail with cause ``failed``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import structlog

from ...model.events import CallFailed, PlatformEvent
from .framing import Message
from .normalizer import Normalizer

log = structlog.get_logger("ctibridge.asterisk.reconcile")

GONE = "gone-after-reconcile"


class Reconciler:
    def __init__(self, normalizer: Normalizer, now: Callable[[], datetime], *,
                 originate_grace: float) -> None:
        self.normalizer = normalizer
        self.now = now
        self.originate_grace = timedelta(seconds=originate_grace)
        self._missing: set[str] = set()  # Linkedids absent from the previous list
        self._originates: dict[str, datetime] = {}  # pending click-to-call ref -> first seen
        self.passes = 0  # lists compared so far (tests wait on it)

    def reset(self) -> None:
        """After a resync: the normalizer was rebuilt from a fresh snapshot."""
        self._missing.clear()

    def check(self, channels: Iterable[Message]) -> list[PlatformEvent]:
        """Compare with a ``CoreShowChannels`` list; return the events it causes."""
        n = self.normalizer
        live = {uid for m in channels if (uid := m.get("Uniqueid"))}
        out: list[PlatformEvent] = []
        missing: set[str] = set()
        for linkedid, call in list(n.calls.items()):
            if any(c.uid in live for c in call.channels()):
                continue
            if linkedid in self._missing:
                events = n.drop_call(call, GONE)
                log.warning("asterisk.call_gone", linkedid=linkedid,
                            refs=[c.ref for c in call.convs], ended=len(events))
                out.extend(events)
            else:
                missing.add(linkedid)
        self._missing = missing
        followed = n.channels.keys()
        for bridge, members in list(n.bridges.items()):
            members.intersection_update(followed)
            if not members:
                del n.bridges[bridge]
        out.extend(self._stale_originates())
        self.passes += 1
        return out

    def _stale_originates(self) -> list[PlatformEvent]:
        n = self.normalizer
        now = self.now()
        seen: dict[str, datetime] = {}
        out: list[PlatformEvent] = []
        for po in list(n.originates):
            first = self._originates.get(po.ref, now)
            if now - first <= self.originate_grace:
                seen[po.ref] = first
                continue
            n.originates.remove(po)
            if po.bound is None:  # no channel ever: the hub still shows it dialling
                log.warning("asterisk.originate_lost", ref=po.ref, device=po.device)
                out.append(CallFailed(ref=po.ref, at=now, device=po.device, cause="failed"))
        self._originates = seen
        return out
