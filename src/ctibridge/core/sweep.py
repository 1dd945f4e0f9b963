"""Crash leftovers: interactions an earlier run of the hub never wrapped up.

A hub killed (or stopped) while calls were live leaves their interactions open in
the database (``wrapped_at`` NULL, usually ``ended_at`` NULL too): nobody would ever
end, wrap or log them. A starting hub loads them (``Leftovers.load``) before its
connectors start, then:

* a leftover whose call its platform still has (the platform's first resync lists
  the call under the reference stored with the interaction: an Asterisk Linkedid,
  the simulator's ref) is taken back, with its id and its call's id, for the agent
  still on it: the call goes on and ends like any other, nothing is duplicated;
* any other leftover is ended (cause ``hub-restart``) and wrapped at once, and so
  goes through the call-log outbox like any wrapped interaction (exactly once: the
  outbox row is keyed by the interaction id and written with it).

A platform that does not resync within ``grace_seconds`` of the start (down, gone
from the configuration) has its leftovers ended the same way: an interaction
never waits for a platform forever. The end time given is the last sign of life of
the earlier run known to the database (its newest interaction), never the restart
time: a crash followed by a long outage must not log hours of talk that never were.

Only interactions of the platforms this hub runs are swept: another hub sharing the
database keeps its own. (An interaction of a platform removed from the configuration
stays open, with a warning at each start.)
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog

from ..model.call import Call, ConnectionState
from ..model.events import PlatformResynced
from ..model.interaction import Interaction
from .interactions import apply_draft

if TYPE_CHECKING:
    from .hub import Hub

log = structlog.get_logger("ctibridge.sweep")

HUB_RESTART = "hub-restart"
GRACE_SECONDS = 30.0
_ON_CALL = {str(ConnectionState.CONNECTED), str(ConnectionState.HELD),
            str(ConnectionState.ALERTING), str(ConnectionState.INITIATED)}


class Leftovers:
    """The open interactions of an earlier run, until their platform's resync."""

    def __init__(self, hub: Hub, *, grace_seconds: float = GRACE_SECONDS) -> None:
        self.hub = hub
        self.grace_seconds = grace_seconds
        # platform -> platform ref -> its leftover interactions
        self._waiting: dict[str, dict[str, list[Interaction]]] = {}
        self._last_seen: datetime | None = None
        self._timer: asyncio.Task[None] | None = None
        self.adopted = 0
        self.ended = 0
        self.resumed = 0  # back in their agent's wrap-up form

    async def load(self) -> int:
        """Read the leftovers; end at once those no platform can claim. Returns how many."""
        store: Any = self.hub.store
        if store is None:
            return 0
        found = await store.interactions.unwrapped()
        if not found:
            return 0
        self._last_seen = await store.interactions.last_created()
        now = self.hub.clock.now()
        foreign = 0
        for it in found:
            if it.platform is not None and it.platform not in self.hub.connectors:
                foreign += 1  # another hub's platform (or one no longer configured): not ours
            elif it.ended_at is None and it.platform is not None and it.platform_ref:
                self._waiting.setdefault(it.platform, {}).setdefault(
                    it.platform_ref, []).append(it)
            elif self.hub.resume_wrap_up(it):  # its agent is back in wrap-up: the form too
                self.resumed += 1
            else:  # in wrap-up when the run ended, or written before migration 0008
                self._finish(it, now)
        if foreign:
            log.warning("sweep.not_ours", interactions=foreign,
                        hint="left open: on telephony platforms this hub does not run")
        waiting = sum(len(its) for refs in self._waiting.values() for its in refs.values())
        log.warning("sweep.leftovers", found=len(found), ended=self.ended, waiting=waiting,
                    platforms=sorted(self._waiting))
        if self._waiting:
            self._timer = asyncio.create_task(self._deadline(), name="sweep-deadline")
        return len(found)

    @property
    def pending(self) -> int:
        return sum(len(its) for refs in self._waiting.values() for its in refs.values())

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer

    def resynced(self, platform: str, ev: PlatformResynced) -> None:
        """The platform's first resync since the start: take back the calls it still has
        (before the hub applies the resync, which then finds them), end the rest."""
        refs = self._waiting.pop(platform, None)
        if not refs:
            return
        hub = self.hub
        for snap in ev.calls:
            its = refs.pop(snap.ref, None)
            if not its:
                continue
            call, _ = hub.calls.open(platform, snap.ref, direction=snap.direction,
                                     customer=snap.customer, at=ev.at, queue=snap.queue,
                                     attached=snap.attached, call_id=its[0].call_id)
            on_call = {a.agent_id for device, state in snap.devices.items()
                       if state in _ON_CALL and (a := hub.agent_at(platform, device)) is not None}
            for it in its:
                if it.agent_id is not None and it.agent_id in on_call:
                    hub.interactions.adopt(it, call)
                    self.adopted += 1
                    log.info("sweep.adopted", interaction=it.interaction_id,
                             platform=platform, ref=snap.ref, agent=it.agent_id)
                else:  # the agent left the call while we were away
                    self._finish(it, hub.clock.now())
        for its in refs.values():
            for it in its:
                self._finish(it, hub.clock.now())
        if not self._waiting and self._timer is not None:
            self._timer.cancel()

    async def _deadline(self) -> None:
        await self.hub.clock.sleep(self.grace_seconds)
        now = self.hub.clock.now()
        for platform, refs in list(self._waiting.items()):
            log.warning("sweep.no_resync", platform=platform, after_seconds=self.grace_seconds)
            for its in refs.values():
                for it in its:
                    self._finish(it, now)
        self._waiting.clear()

    def _finish(self, it: Interaction, now: datetime) -> None:
        """End (cause hub-restart) and wrap up: written with its call-log outbox row."""
        ended_here = it.ended_at is None
        if ended_here:
            it.ended_at = max(d for d in (self._last_seen, it.accepted_at, it.offered_at,
                                          it.created_at) if d is not None)
            it.end_cause = HUB_RESTART
        apply_draft(it, {d.code for d in self.hub.settings.dispositions})  # what was typed
        self.hub.interactions.close(it, now)  # wrapped, in the agent's recent calls
        self.hub.persist_interaction(it)
        if ended_here:
            self._tell_agent(it)
        self.ended += 1

    def _tell_agent(self, it: Interaction) -> None:
        """Bars that outlived the earlier run (a takeover: their sockets are on another
        node) still show the call: they hear it end, as from any call."""
        if it.agent_id is None or it.call_id is None or it.ended_at is None:
            return  # digital work, or never offered to anyone
        call = Call(it.call_id, it.direction, it.customer, it.created_at,
                    platform=it.platform or "", queue=it.queue, attached=dict(it.attached))
        call.end(it.ended_at, it.end_cause)
        self.hub.publish("call.ended", {"call": call.to_dict(), "cause": it.end_cause},
                         {it.agent_id})
        self.hub.publish_interaction(it)
