"""Omnichannel in the hub: digital work, the blended router and unified availability.

The :class:`Omnichannel` service sits beside the hub (``hub.omnichannel``):

- it consumes every digital connector's ``events()`` (like ``Hub._consume``
  for telephony) and keeps the live digital interactions (queued, offered,
  active), each an :class:`~ctibridge.model.interaction.Interaction` with its
  platform, state, subject, preview and link;
- it runs the :class:`~.router.Router` (queues from ``settings.queues``; one
  blended ``default`` queue when none is configured): digital work, and calls
  of the voice platforms ctibridge routes for (``Capability.ROUTE``), wait
  together and are offered within each agent's capacity, with a timeout;
- after every change of an agent's work or state it recomputes their load and
  per-channel availability (:mod:`.presence`), publishes ``agent.state`` when
  that changed, and tells every platform the agent is on where they stand
  (pause "busy-elsewhere" on the PBX while digital work closes voice, "away"
  on the digital platform during a call), recognising the echoes of its own
  pushes so that two bridged platforms never loop.

Everything runs on the hub's event loop and clock; connector calls are made
in background tasks or awaited by the commands, never on the event hot path.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog

from ..config import QueueSettings
from ..model.agent import Agent, AgentState, AgentStatus
from ..model.call import Call
from ..model.errors import BadRequest, CtiError, NotFound, PlatformError
from ..model.events import (
    AgentStateChanged,
    DigitalResynced,
    InteractionAccepted,
    InteractionArrived,
    InteractionClosed,
    InteractionDeclined,
    InteractionMessage,
    PlatformEvent,
    PlatformStatus,
)
from ..model.interaction import Interaction
from ..model.party import Channel, Party
from ..telephony.base import Capability
from .bounds import bounded
from .interactions import new_interaction_id
from .presence import (
    ALL_CHANNELS,
    BUSY_ELSEWHERE,
    RINGING,
    WRAP_UP,
    CapacityPolicy,
    Carried,
    Observed,
    PresenceSync,
    Why,
    availability,
    load_of,
    platform_directives,
    state_allows_work,
)
from .router import Offer, Router, RoutingError

if TYPE_CHECKING:
    from ..config import Settings
    from ..digital.base import DigitalConnector
    from .hub import Hub

log = structlog.get_logger("ctibridge.omnichannel")

COMMAND_TIMEOUT = 10.0
DEFAULT_QUEUE = "default"
# Ids the digital intake minted (uuid4 hex): the intake already answered them to the
# poster, so the hub's interaction keeps that id. Other refs (a platform's own ids,
# reused after a restart) get a fresh id of ours.
_INTAKE_ID = re.compile(r"^[0-9a-f]{32}$")
_LIVE = ("queued", "offered", "active")


class Omnichannel:
    """Digital interactions, the universal queue and unified availability (module doc)."""

    def __init__(self, hub: Hub, digital: Mapping[str, DigitalConnector], settings: Settings,
                 clock: Any, supervision: Any | None = None) -> None:
        self.hub = hub
        self.digital = dict(digital)
        self.settings = settings
        self.clock = clock
        self.supervision = supervision
        self.policy = CapacityPolicy.from_settings(settings.presence)
        queues = list(settings.queues) or [QueueSettings(name=DEFAULT_QUEUE,
                                                         channels=list(Channel))]
        self.router = Router.from_settings(queues)
        # One memory of what each platform was told, shared with the hub's voice pushes.
        self.sync: PresenceSync = getattr(hub, "presence_sync", None) or PresenceSync()
        self.items: dict[str, Interaction] = {}  # live digital work, by interaction id
        self._refs: dict[tuple[str, str], str] = {}  # (platform, ref) -> interaction id
        self._where: dict[str, tuple[str, str]] = {}  # interaction id -> (platform, ref)
        self._closed: dict[str, Interaction] = {}  # recently closed (already-closed answers)
        self._withdrawn: dict[str, set[str]] = {}  # iid -> agents whose offer ended
        self._voice: dict[str, tuple[str, str]] = {}  # call id -> (platform, ref), routed by us
        self._voice_since: dict[str, datetime] = {}  # call id -> first queued (kept on re-queue)
        self._idle_since: dict[str, datetime] = {}
        self._held_by: dict[str, set[str]] = {}  # agent id -> their offered/active work
        self._loaded: dict[str, bool] = {}
        self._consumers: list[asyncio.Task[None]] = []
        self._timer: asyncio.Task[None] | None = None
        self._armed: datetime | None = None
        self._route_soon = False
        self._untap: Any = None
        # Observers of every digital event consumed, (platform, event), before it is applied.
        self.listeners: list[Callable[[str, PlatformEvent], None]] = []
        self.started = False

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self.hub.omnichannel = self
        now = self.clock.now()
        for agent in self.hub.agents.values():
            self._idle_since[agent.agent_id] = now
            self.agent_changed(agent, publish=False, push=False)
        for name, conn in self.digital.items():
            self._consumers.append(asyncio.create_task(self._consume(name, conn),
                                                       name=f"digital-consume-{name}"))
        self._untap = self.hub.notifier.tap(self._on_hub_event)
        self.started = True

    async def stop(self) -> None:
        if self._untap is not None:
            self._untap()
            self._untap = None
        for t in [*self._consumers, *([self._timer] if self._timer else [])]:
            t.cancel()
        for t in [*self._consumers, *([self._timer] if self._timer else [])]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._consumers.clear()
        self.started = False
        if getattr(self.hub, "omnichannel", None) is self:
            self.hub.omnichannel = None

    async def _consume(self, platform: str, connector: DigitalConnector) -> None:
        async for event in connector.events():
            for listener in self.listeners:
                listener(platform, event)
            try:
                self.apply(platform, event)
            except CtiError as exc:
                log.warning("digital.event_rejected", platform=platform,
                            platform_event=event.name, code=exc.code, error=exc.message)
            except Exception:
                log.exception("digital.event_failed", platform=platform,
                              platform_event=event.name)

    # ------------------------------------------------------------ platforms

    def _voice_devices(self, agent: Agent) -> dict[str, str]:
        """Telephony platform -> the agent's device there."""
        devices = dict(getattr(agent, "devices", None) or {agent.platform: agent.extension})
        return {p: d for p, d in devices.items() if p in self.hub.connectors}

    def _login(self, agent: Agent, platform: str) -> str:
        """The agent's login on a digital platform (their agent id unless configured)."""
        devices = getattr(agent, "devices", None)
        if isinstance(devices, Mapping) and platform in devices:
            return str(devices[platform])
        return agent.agent_id

    def _agent_by_login(self, platform: str, login: str | None) -> Agent | None:
        if login is None:
            return None
        for agent in self.hub.agents.values():
            if self._login(agent, platform) == login:
                return agent
        return None

    def _platforms(self, agent: Agent) -> dict[str, frozenset[Channel]]:
        out = {p: frozenset({Channel.VOICE}) for p in self._voice_devices(agent)}
        for name, conn in self.digital.items():
            out[name] = frozenset(conn.channels)
        return out

    # ------------------------------------------------------- availability

    def carried(self, agent: Agent) -> list[Carried]:
        """Everything the agent carries on every platform: live calls, offered/active work."""
        out = []
        for call_id in sorted(agent.calls):
            call = self.hub.calls.get(call_id)
            if call is not None:
                platform = self.hub.calls.ref_of(call_id)[0]
                out.append(Carried(call_id, Channel.VOICE, platform))
        for iid in sorted(self._held_by.get(agent.agent_id, ())):
            it = self.items[iid]
            out.append(Carried(iid, it.channel, it.platform or ""))
        return out

    def _effective_state(self, agent: Agent) -> AgentState:
        """The state that decides availability: on a call, the one chosen for after it."""
        st = agent.state
        if st.status == AgentStatus.BUSY and agent.after_call is not None \
                and agent.after_call.status != AgentStatus.READY:
            return agent.after_call
        return st

    def agent_changed(self, agent: Agent, *, publish: bool = True, push: bool = True) -> None:
        """The agent's calls, digital work or state changed: availability, router, platforms."""
        rules = self.policy.rules_for(agent.agent_id)
        now = self.clock.now()
        self._withdraw_blocked(agent, rules)
        carried = self.carried(agent)
        # Taken work (load) and unanswered offers count differently (docs/omnichannel.md,
        # "Offers and capacity"): an offer takes a place in its channel, and blocks
        # other channels only while it rings.
        offered = {o.interaction_id for o in self.router.offers() if o.agent_id == agent.agent_id}
        own = load_of(c for c in carried if c.interaction_id not in offered)
        offers = load_of(c for c in carried if c.interaction_id in offered)
        state = self._effective_state(agent)
        avail = availability(state, own, rules, offers)
        busy = sum(own.values()) + sum(offers.values()) > 0
        if self._loaded.get(agent.agent_id) and not busy:
            self._idle_since[agent.agent_id] = now
        self._loaded[agent.agent_id] = busy
        new_load = {str(c): n for c, n in own.items() if n > 0}
        new_offered = {str(c): n for c, n in offers.items() if n > 0}
        new_cap = {str(c): rules.capacity.get(c, 0) for c in ALL_CHANNELS}
        new_avail = {str(c): {"open": a.available, **a.to_dict()}
                     for c, a in avail.channels.items()}
        changed = (new_load, new_offered, new_cap, new_avail) != (
            agent.load, agent.offered, agent.capacity, agent.availability)
        agent.load, agent.offered = new_load, new_offered
        agent.capacity, agent.availability = new_cap, new_avail
        ok = state_allows_work(agent.state)[0]
        if agent.state.status == AgentStatus.LOGGED_OUT:
            for o in self.router.remove_agent(agent.agent_id, now):
                self._offer_ended(o, "withdrawn")
        else:
            self.router.set_agent(agent.agent_id, skills=agent.skills, rules=rules, ready=ok,
                                  load=own, idle_since=self._idle_since.get(agent.agent_id, now))
        if push:
            self.push(agent, [c for c in carried
                              if c.interaction_id not in offered or c.channel in RINGING])
        if changed and publish:
            self.hub.publish_agent(agent)
        self.route_soon()

    def _withdraw_blocked(self, agent: Agent, rules: Any) -> None:
        """Offers the agent's new work blocks (a chat offered, then a call ringing or
        answered) go back to the queue at once, for someone free; not held against them."""
        mine = [o for o in self.router.offers() if o.agent_id == agent.agent_id]
        if not mine:
            return
        pending = {o.interaction_id for o in mine if o.channel not in RINGING}
        taken = load_of(c for c in self.carried(agent) if c.interaction_id not in pending)
        for o in mine:
            if o.interaction_id in self._voice or rules.check(taken, o.channel)[1] != Why.BLOCKED:
                continue
            self.router.withdraw(o.interaction_id, agent.agent_id)
            it = self.items.get(o.interaction_id)
            if it is not None:
                self._requeued(it)
                self.hub.publish("interaction.withdrawn",
                                 {"interaction": it.to_dict(), "reason": "busy"},
                                 {agent.agent_id})

    def taken(self, agent: Agent) -> list[Carried]:
        """What the agent carries, less the digital offers they have not answered."""
        offered = {o.interaction_id for o in self.router.offers()
                   if o.agent_id == agent.agent_id and o.channel not in RINGING}
        return [c for c in self.carried(agent) if c.interaction_id not in offered]

    def push(self, agent: Agent, carried: list[Carried] | None = None) -> None:
        """Tell every platform the agent is on what it must know (only real changes)."""
        rules = self.policy.rules_for(agent.agent_id)
        items = self.taken(agent) if carried is None else carried
        wanted = platform_directives(self._effective_state(agent), items, rules,
                                     self._platforms(agent))
        voice = self._voice_devices(agent)
        for d in self.sync.plan(agent.agent_id, wanted):
            if d.platform in voice:
                conn = self.hub.connectors[d.platform]
                if Capability.AGENT_STATE not in conn.capabilities:
                    continue
                if hasattr(self.hub, "push_agent_state"):
                    self.hub.push_agent_state(agent, d.platform, d.status, d.reason)
                    continue
                coro = conn.set_agent_state(voice[d.platform], d.status, d.reason)
            else:
                dconn = self.digital[d.platform]
                from ..digital.base import DigitalCapability

                if DigitalCapability.AGENT_STATE not in dconn.capabilities:
                    continue
                coro = dconn.set_agent_status(self._login(agent, d.platform), d.status,
                                              d.reason)
            self.hub.spawn(self._send_state(agent, d.platform, d.status, coro),
                           f"presence-{agent.agent_id}-{d.platform}")

    async def _send_state(self, agent: Agent, platform: str, status: AgentStatus,
                          coro: Any) -> None:
        try:
            await asyncio.wait_for(coro, COMMAND_TIMEOUT)
        except Exception as exc:
            # Forget what we thought it knows, so the next change tells it again.
            self.sync.forget(agent.agent_id, platform)
            log.warning("presence.push_failed", agent=agent.agent_id, platform=platform,
                        status=str(status), error=str(exc))

    def platform_said(self, platform: str, agent: Agent, status: AgentStatus,
                      reason: str | None) -> bool:
        """A platform reports the agent's state: True when it is a real change to apply.

        Our own pushes coming back (echoes), repeats, and the pauses we set
        ourselves ("busy-elsewhere", "wrap-up") are not changes of the agent's.
        """
        seen = self.sync.observe(agent.agent_id, platform, status, reason)
        if seen is not Observed.CHANGE:
            return False
        return not (status == AgentStatus.NOT_READY and reason in (BUSY_ELSEWHERE, WRAP_UP))

    def _on_hub_event(self, event: Any) -> None:
        # A platform that went away and came back is told everything again.
        if event.name == "platform.status" and event.data.get("up"):
            self._resync_platform(str(event.data.get("platform")))

    def _resync_platform(self, platform: str) -> None:
        for agent in self.hub.agents.values():
            self.sync.forget(agent.agent_id, platform)
        asyncio.get_running_loop().call_soon(self._push_all)

    def _push_all(self) -> None:
        for agent in self.hub.agents.values():
            if agent.state.status != AgentStatus.LOGGED_OUT:
                self.push(agent)

    # -------------------------------------------------------------- routing

    def route_soon(self) -> None:
        """Route after the current event is fully applied (never re-entrantly)."""
        if self._route_soon:
            return
        self._route_soon = True
        try:
            asyncio.get_running_loop().call_soon(self.route)
        except RuntimeError:  # no loop (sync unit use): route now
            self.route()

    def route(self) -> None:
        self._route_soon = False
        now = self.clock.now()
        for offer in self.router.expire(now):
            self._offer_ended(offer, "timeout")
        for offer in self.router.route(now):
            self._offered(offer, now)
        self._arm(now)

    def _arm(self, now: datetime) -> None:
        deadline = self.router.next_deadline(now)
        if deadline == self._armed and self._timer is not None and not self._timer.done():
            return
        if self._timer is not None and self._timer is not asyncio.current_task():
            self._timer.cancel()
        self._armed = deadline
        self._timer = None
        if deadline is not None:
            self._timer = asyncio.get_running_loop().create_task(
                self._wake_at(deadline), name="omnichannel-deadline")

    async def _wake_at(self, deadline: datetime) -> None:
        await self.clock.sleep(max(0.0, (deadline - self.clock.now()).total_seconds()))
        self._armed = None
        try:
            self.route()
        except Exception:
            log.exception("omnichannel.route_failed")

    def _queue_for(self, wanted: str | None, channel: Channel) -> str | None:
        q = self.router.queues.get(wanted or "")
        if q is not None and channel in q.channels:
            return q.name
        return next((q.name for q in self.router.queues.values() if channel in q.channels), None)

    def _offered(self, offer: Offer, now: datetime) -> None:
        agent = self.hub.agents.get(offer.agent_id)
        if offer.interaction_id in self._voice:
            if agent is not None:
                self._deliver(offer, agent)
            return
        it = self.items.get(offer.interaction_id)
        if it is None or agent is None:
            return
        self._set(it, "offered", agent.agent_id)
        it.offered_at, it.offer_deadline = now, offer.expires_at
        self.hub.publish("interaction.offered", {"interaction": it.to_dict()},
                         {agent.agent_id})
        self.agent_changed(agent)

    def _offer_ended(self, offer: Offer, reason: str) -> None:
        """An offer timed out (or its agent left): the item is back in its queue."""
        iid = offer.interaction_id
        self._withdrawn.setdefault(iid, set()).add(offer.agent_id)
        agent = self.hub.agents.get(offer.agent_id)
        if iid in self._voice:
            # The call still rings at the agent: the platform puts it back in its park
            # (a new call.queued) when it stops ringing, and we route it again then.
            if iid in self.router:
                self.router.remove(iid, self.clock.now())
            return
        it = self.items.get(iid)
        if it is None:
            return
        self._requeued(it)
        if agent is not None:
            self.hub.publish("interaction.withdrawn",
                             {"interaction": it.to_dict(), "reason": "timeout"},
                             {agent.agent_id})
            if reason != "withdrawn":
                self.agent_changed(agent)

    def _requeued(self, it: Interaction) -> None:
        self._set(it, "queued", None)
        it.offer_deadline = None

    def _set(self, it: Interaction, state: str, agent_id: str | None) -> None:
        """Change who holds the item and its state, keeping the per-agent index right."""
        if it.agent_id is not None:
            self._held_by.get(it.agent_id, set()).discard(it.interaction_id)
        it.state, it.agent_id = state, agent_id
        if agent_id is not None and state in ("offered", "active"):
            self._held_by.setdefault(agent_id, set()).add(it.interaction_id)

    # ------------------------------------------------------ ctibridge routes

    def routes_voice(self, platform: str) -> bool:
        conn = self.hub.connectors.get(platform)
        return conn is not None and Capability.ROUTE in conn.capabilities

    def call_queued(self, platform: str, call: Call) -> None:
        """A call waits in a platform's queue; parked for us when ctibridge routes there."""
        if not self.routes_voice(platform):
            return
        cid = call.call_id
        ref = self.hub.calls.ref_of(cid)[1]
        now = self.clock.now()
        self._voice[cid] = (platform, ref)
        since = self._voice_since.setdefault(cid, call.created_at or now)
        held = next((o for o in self.router.offers() if o.interaction_id == cid), None)
        if held is not None:  # the platform took it back from the agent: route it again
            self.router.decline(cid, held.agent_id, now)
        elif cid not in self.router:
            queue = self._queue_for(call.queue, Channel.VOICE)
            if queue is None:
                log.warning("omnichannel.no_voice_queue", call=cid, queue=call.queue)
                return
            self.router.enqueue(cid, Channel.VOICE, queue, now, enqueued_at=since)
        self.route_soon()

    def call_left_queue(self, platform: str, call: Call, *, answered: bool,
                        agent_id: str | None = None) -> None:
        """The call was answered or ended: it leaves the router."""
        cid = call.call_id
        if cid not in self._voice:
            return
        now = self.clock.now()
        if cid in self.router:
            held = next((o for o in self.router.offers() if o.interaction_id == cid), None)
            if answered and held is not None and held.agent_id == agent_id:
                self.router.accept(cid, held.agent_id, now)
            else:
                self.router.remove(cid, now)
        if call.ended or answered:
            self._voice.pop(cid, None)
            self._voice_since.pop(cid, None)
            self._withdrawn.pop(cid, None)
        self.route_soon()

    def _deliver(self, offer: Offer, agent: Agent) -> None:
        platform, ref = self._voice[offer.interaction_id]
        device = self._voice_devices(agent).get(platform)
        conn: Any = self.hub.connectors[platform]

        async def send() -> None:
            try:
                if device is None:
                    raise PlatformError(f"{agent.agent_id} has no device on {platform}",
                                        code="no-such-device")
                await asyncio.wait_for(conn.deliver(ref, device), COMMAND_TIMEOUT)
            except Exception as exc:
                code = getattr(exc, "code", "platform-error")
                log.warning("omnichannel.deliver_failed", call=offer.interaction_id,
                            agent=agent.agent_id, code=code, error=str(exc))
                held = next((o for o in self.router.offers()
                             if o.interaction_id == offer.interaction_id), None)
                if held is None or held.agent_id != agent.agent_id:
                    return
                if code == "not-queued":  # ringing or gone: the platform says what next
                    self.router.remove(offer.interaction_id, self.clock.now())
                else:  # not to that agent first; someone else may take it
                    self.router.decline(offer.interaction_id, agent.agent_id, self.clock.now())
                self.route_soon()

        self.hub.spawn(send(), f"deliver-{offer.interaction_id}")

    # ------------------------------------------------------------ digital events

    def apply(self, platform: str, event: PlatformEvent) -> None:
        event = bounded(event, self.hub.attached_limits)  # outside data, cut once here
        if isinstance(event, InteractionArrived):
            self._arrived(platform, event)
        elif isinstance(event, InteractionMessage):
            self._message(platform, event)
        elif isinstance(event, InteractionAccepted):
            it = self._item(platform, event.ref)
            agent = self._agent_by_login(platform, event.agent)
            if it is not None and agent is not None and it.state != "active":
                self._take(it, agent)
        elif isinstance(event, InteractionDeclined):
            it = self._item(platform, event.ref)
            agent = self._agent_by_login(platform, event.agent)
            if it is not None and agent is not None and it.state == "offered" \
                    and it.agent_id == agent.agent_id:
                self._refused(it, agent)
        elif isinstance(event, InteractionClosed):
            it = self._item(platform, event.ref)
            if it is not None:
                self._close(it, by=event.by, disposition=event.disposition)
        elif isinstance(event, AgentStateChanged):
            agent = self._agent_by_login(platform, event.device)
            if agent is not None and self.platform_said(platform, agent, event.status,
                                                        event.reason):
                self.hub.apply_platform_agent_state(agent, event.status, event.reason)
        elif isinstance(event, DigitalResynced):
            self._resynced(platform, event)
        elif isinstance(event, PlatformStatus):
            self.hub.on_platform_status(platform, event)

    def _item(self, platform: str, ref: str) -> Interaction | None:
        iid = self._refs.get((platform, ref))
        return self.items.get(iid) if iid else None

    def _arrived(self, platform: str, ev: InteractionArrived) -> None:
        if (platform, ev.ref) in self._refs:
            return  # already known (a replay or a resync): nothing is created twice
        queue = self._queue_for(ev.queue, ev.channel)
        if queue is None:
            log.warning("omnichannel.no_queue", platform=platform, ref=ev.ref,
                        channel=str(ev.channel), queue=ev.queue)
            return
        iid = ev.ref if _INTAKE_ID.fullmatch(ev.ref) else new_interaction_id()
        attached = dict(ev.attached)
        for key, value in (("email", ev.sender.address), ("handle", ev.sender.handle)):
            if value:
                attached.setdefault(key, value)
        if ev.subject:
            attached.setdefault("subject", ev.subject)  # kept in the history
        it = Interaction(
            interaction_id=iid, channel=ev.channel, direction=ev.direction,
            customer=Party(number=ev.sender.number, name=ev.sender.name), created_at=ev.at,
            queue=queue, attached=attached, queued_at=ev.at, platform=platform,
            state="queued", subject=ev.subject, preview=_short(ev.preview or ev.body),
            content_url=ev.content_url, messages=1)
        self.items[iid] = it
        self._refs[(platform, ev.ref)] = iid
        self._where[iid] = (platform, ev.ref)
        self.router.enqueue(iid, ev.channel, queue, self.clock.now())
        if self.supervision is not None:
            self.supervision.item_queued(queue, iid, ev.channel, self.clock.now())
        self.hub.publish("interaction.updated", {"interaction": it.to_dict()}, set())
        self.route_soon()

    def _message(self, platform: str, ev: InteractionMessage) -> None:
        it = self._item(platform, ev.ref)
        if it is None:
            return
        if ev.from_customer:
            it.messages += 1
            it.preview = _short(ev.preview or ev.body) or it.preview
        if ev.content_url:
            it.content_url = ev.content_url
        self.hub.publish("interaction.updated", {"interaction": it.to_dict()},
                         {it.agent_id} if it.agent_id else set())

    def _take(self, it: Interaction, agent: Agent) -> None:
        """The agent has it now (accepted here or on the platform)."""
        now = self.clock.now()
        iid = it.interaction_id
        held = next((o for o in self.router.offers() if o.interaction_id == iid), None)
        if held is not None and held.agent_id == agent.agent_id:
            self.router.accept(iid, agent.agent_id, now)
        elif iid in self.router:
            if held is not None:  # offered to someone else: their offer ends
                other = self.hub.agents.get(held.agent_id)
                self.router.remove(iid, now)
                if other is not None:
                    self.hub.publish("interaction.withdrawn",
                                     {"interaction": it.to_dict(), "reason": "taken"},
                                     {other.agent_id})
                    self.agent_changed(other)
            else:
                self.router.remove(iid, now)
        self._set(it, "active", agent.agent_id)
        it.offer_deadline = None
        it.offered_at = it.offered_at or now
        it.accepted_at = it.accepted_at or now
        if self.supervision is not None and it.queue:
            self.supervision.item_left(it.queue, iid, now, True)
        self.hub.publish("interaction.accepted", {"interaction": it.to_dict()},
                         {agent.agent_id})
        self.agent_changed(agent)

    def _refused(self, it: Interaction, agent: Agent) -> None:
        now = self.clock.now()
        with contextlib.suppress(RoutingError):
            self.router.decline(it.interaction_id, agent.agent_id, now)
        self._withdrawn.setdefault(it.interaction_id, set()).add(agent.agent_id)
        self._requeued(it)
        self.hub.publish("interaction.updated", {"interaction": it.to_dict()},
                         {agent.agent_id})
        self.agent_changed(agent)

    def _close(self, it: Interaction, *, by: str, disposition: str | None = None,
               notes: str | None = None) -> None:
        """The conversation is over: out of the router, written, logged if someone handled it."""
        now = self.clock.now()
        iid = it.interaction_id
        agent = self.hub.agents.get(it.agent_id) if it.agent_id else None
        if iid in self.router:
            held = next((o for o in self.router.offers() if o.interaction_id == iid), None)
            self.router.remove(iid, now)
            if self.supervision is not None and it.queue:
                self.supervision.item_left(it.queue, iid, now, False)
            if held is not None and agent is not None:
                self.hub.publish("interaction.withdrawn",
                                 {"interaction": it.to_dict(), "reason": "abandoned"},
                                 {agent.agent_id})
        if disposition is not None:
            it.disposition = disposition
        if notes is not None:
            it.notes = notes
        self._set(it, "closed", it.agent_id)
        it.offer_deadline = None
        it.ended_at = it.ended_at or now
        it.wrapped_at = it.wrapped_at or now
        it.end_cause = by
        del self.items[iid]
        self._closed[iid] = it
        while len(self._closed) > 1000:
            self._closed.pop(next(iter(self._closed)))
        self._refs.pop(self._where.pop(iid, ("", "")), None)
        self._withdrawn.pop(iid, None)
        if it.agent_id is not None:  # in the agent's recent interactions (the bar's history)
            self.hub.interactions.close(it, now)
        self.hub.persist_interaction(it)
        self.hub.publish("interaction.closed", {"interaction": it.to_dict()},
                         {it.agent_id} if it.agent_id else set())
        if agent is not None:
            self.agent_changed(agent)

    def _resynced(self, platform: str, ev: DigitalResynced) -> None:
        """Make our view equal the platform's: close what it no longer has, add the rest."""
        seen = {snap.ref for snap in ev.interactions}
        for (p, ref), iid in list(self._refs.items()):
            if p == platform and ref not in seen and iid in self.items:
                self._close(self.items[iid], by="gone-after-resync")
        for snap in ev.interactions:
            if (platform, snap.ref) not in self._refs:
                from ..model.events import Sender

                self._arrived(platform, InteractionArrived(
                    ref=snap.ref, at=snap.opened_at or ev.at, channel=snap.channel,
                    sender=snap.sender or Sender(), message_id=f"{snap.ref}-resync",
                    subject=snap.subject, preview=snap.preview, content_url=snap.content_url,
                    queue=snap.queue, attached=dict(snap.attached)))
            it = self._item(platform, snap.ref)
            agent = self._agent_by_login(platform, snap.agent)
            if it is not None and agent is not None and it.state != "active":
                self._take(it, agent)
        for agent in self.hub.agents.values():
            self.sync.forget(agent.agent_id, platform)
        for login, (status, reason) in ev.agents.items():
            agent = self._agent_by_login(platform, login)
            if agent is not None:
                self.sync.observe(agent.agent_id, platform, status, reason)
        asyncio.get_running_loop().call_soon(self._push_all)

    # ------------------------------------------------------------ agent ops

    def _connector(self, it: Interaction) -> tuple[DigitalConnector, str]:
        platform, ref = self._where[it.interaction_id]
        conn = self.digital.get(platform)
        if conn is None:
            raise PlatformError(f"the digital platform {platform!r} is not running",
                                code="platform-down")
        return conn, ref

    def require(self, iid: str) -> Interaction:
        it = self.items.get(iid)
        if it is not None:
            return it
        if iid in self._closed:
            raise BadRequest(f"interaction {iid} is already closed", code="already-closed")
        raise NotFound(f"there is no live interaction {iid}", code="no-such-interaction")

    def _offered_to(self, iid: str, agent: Agent) -> Interaction:
        it = self.require(iid)
        if it.state == "offered" and it.agent_id == agent.agent_id:
            return it
        if agent.agent_id in self._withdrawn.get(iid, set()) and it.agent_id != agent.agent_id:
            raise BadRequest(f"the offer of {iid} to {agent.agent_id} has ended (it timed out "
                             "or was declined)", code="offer-expired")
        raise BadRequest(f"interaction {iid} is not offered to {agent.agent_id}",
                         code="not-offered-to-you")

    async def _call(self, coro: Any, what: str) -> None:
        try:
            await asyncio.wait_for(coro, COMMAND_TIMEOUT)
        except TimeoutError:
            raise PlatformError(f"the platform did not answer {what} within "
                                f"{COMMAND_TIMEOUT:.0f} s", code="platform-timeout") from None
        except CtiError:
            raise
        except Exception as exc:
            raise PlatformError(f"{what} failed: {exc}", code="platform-error") from exc

    async def accept(self, agent: Agent, iid: str) -> Interaction:
        it = self._offered_to(iid, agent)
        conn, ref = self._connector(it)
        from ..digital.base import DigitalCapability, require

        require(conn, DigitalCapability.ACCEPT)
        await self._call(conn.accept(ref, self._login(agent, it.platform or "")),
                         f"accepting {iid}")
        if it.state == "closed":
            raise BadRequest(f"interaction {iid} was closed meanwhile", code="already-closed")
        if it.state != "active":  # the platform's event may have done it already
            self._take(it, agent)
        return it

    async def decline(self, agent: Agent, iid: str, reason: str | None) -> Interaction:
        it = self._offered_to(iid, agent)
        conn, ref = self._connector(it)
        from ..digital.base import DigitalCapability

        if DigitalCapability.DECLINE in conn.capabilities:
            await self._call(conn.decline(ref, self._login(agent, it.platform or ""), reason),
                             f"declining {iid}")
        if it.state == "offered" and it.agent_id == agent.agent_id:
            self._refused(it, agent)
        return it

    async def close(self, agent: Agent, iid: str, disposition: str | None,
                    notes: str | None) -> Interaction:
        it = self.require(iid)
        if it.state != "active" or it.agent_id != agent.agent_id:
            raise BadRequest(f"interaction {iid} is not active with {agent.agent_id}",
                             code="not-yours")
        conn, ref = self._connector(it)
        from ..digital.base import DigitalCapability

        if DigitalCapability.CLOSE in conn.capabilities:
            await self._call(conn.close(ref, self._login(agent, it.platform or ""), disposition),
                             f"closing {iid}")
        if it.interaction_id in self.items:
            self._close(it, by="agent", disposition=disposition, notes=notes)
        else:  # the platform's closed event came first: keep the agent's words
            it.disposition = disposition or it.disposition
            it.notes = notes or it.notes
            self.hub.persist_interaction(it)
        return it

    # -------------------------------------------------------------- views

    def digital_of(self, agent_id: str) -> list[Interaction]:
        """The agent's offered and active digital work, oldest first."""
        return sorted((self.items[iid] for iid in self._held_by.get(agent_id, ())),
                      key=lambda i: i.created_at)

    def live(self) -> list[Interaction]:
        return sorted((it for it in self.items.values() if it.state in _LIVE),
                      key=lambda i: i.created_at)


def _short(text: str | None, limit: int = 140) -> str | None:
    if not text:
        return None
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

