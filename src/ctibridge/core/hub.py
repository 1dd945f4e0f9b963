"""The hub: connectors in, state in the middle, notifier out.

Platform events are applied synchronously (no await on the hot path): the
call registry, agents and interactions are updated, then hub events are
published. Anything slow (telling a platform an agent's new state, writing to
the store) is handed to background tasks so one slow thing never delays
event delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from ..clock import Clock, SystemClock
from ..config import Settings
from ..model.agent import Agent, AgentState, AgentStatus, transition
from ..model.call import TERMINAL, Call, ConnectionState
from ..model.errors import BadRequest, CtiError, NotFound, PlatformError
from ..model.events import (
    AgentStateChanged,
    CallAnswered,
    CallConferenced,
    CallDtmf,
    CallEnded,
    CallEvent,
    CallFailed,
    CallHeld,
    CallInitiated,
    CallMonitored,
    CallOffered,
    CallQueued,
    CallRetrieved,
    CallTransferred,
    HubEvent,
    PlatformEvent,
    PlatformResynced,
    PlatformStatus,
)
from ..model.interaction import Interaction
from ..model.party import Direction, Party
from ..telephony.base import TelephonyConnector
from .bounds import AttachedLimits, bounded
from .calls import CallRegistry
from .directory import Directory
from .directory import entry as directory_entry
from .interactions import InteractionBook, apply_draft, is_customer_call
from .notifier import Notifier
from .presence import BUSY_ELSEWHERE, WRAP_UP, Observed, PlatformDirective, PresenceSync
from .screenpop import ScreenPops
from .stations import Stations
from .sweep import Leftovers

log = structlog.get_logger("ctibridge.hub")

# The wrap-ups queued by the command running in this task (Commands.execute): its ack
# waits until they are on disk, not until every other agent's are.
WRAPPED_HERE: ContextVar[set[str] | None] = ContextVar("ctibridge_wrapped_here", default=None)

_STATE_BY_NAME = {s.value: s for s in ConnectionState}


@dataclass
class PlatformInfo:
    up: bool = False
    detail: str = "not started"
    events: int = 0


class Hub:
    """Owns calls, agents and interactions; the only publisher of hub events."""

    def __init__(
        self,
        settings: Settings,
        connectors: dict[str, TelephonyConnector],
        *,
        clock: Clock | None = None,
        store: Any | None = None,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.connectors = connectors
        self.clock = clock or SystemClock()
        self.store = store
        self.calls = CallRegistry()
        self.interactions = InteractionBook(calls=self.calls)
        self.leftovers: Leftovers | None = None  # what an earlier run left open (sweep.py)
        # Set by a cluster node taking the core over from a dead one: when that core had
        # surely stopped (from its lease's last renewal, cluster/lease.py). None: not a
        # takeover.
        self.core_lost_at: datetime | None = None
        # In a cluster: every interaction queued for the store also goes at once to the
        # bus's journal, ahead of the events that announce it (cluster/owner.py), and a
        # core taking over reads what the journal holds that the store may not yet.
        self.journal: Callable[[Interaction], None] | None = None
        self.journaled: list[Interaction] = []
        self.notifier = Notifier(
            replay=settings.server.replay_events, queue_size=settings.server.send_queue,
            queue_chars=settings.server.limits.ws_send_queue_bytes,
            replay_chars=settings.server.replay_bytes,
            replay_total_chars=settings.server.replay_total_bytes,
        )
        self.platforms = {name: PlatformInfo() for name in connectors}
        self.attached_limits = AttachedLimits.from_settings(settings.server.limits)
        self.agents: dict[str, Agent] = {}
        self.directory = Directory(self.agents)
        # The status each agent's watchers last heard (presence goes out on a change).
        self._presence: dict[str, str] = {}
        self._by_device: dict[tuple[str, str], str] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._consumers: list[asyncio.Task[None]] = []
        self._wrap_timers: dict[str, asyncio.Task[None]] = {}
        self._writes_interactions: dict[str, Interaction] = {}
        # How many times each queued interaction was marked for writing: a flush forgets a
        # row only if nobody marked it again while the write was in flight (the object is
        # shared, so a change made during the write may not be in what was written).
        self._write_marks: dict[str, int] = {}
        self._writes_states: list[tuple[str, AgentState]] = []
        self._write_wakeup = asyncio.Event()
        self._write_lock = asyncio.Lock()  # one flush at a time (writer, commands, stop)
        self._writer: asyncio.Task[None] | None = None
        self.on_event = on_event
        # CRM (set by the app when one is configured): screen pops, and the CRM
        # name under which wrapped interactions are queued for logging.
        self.screenpops: ScreenPops | None = None
        self.call_log: str | None = None
        self.on_call_log: Callable[[], None] | None = None  # new outbox rows were written
        # core.omnichannel.Omnichannel (set by the app): digital work, routing, availability.
        self.omnichannel: Any = None
        # What each platform was told or said about each agent: only real changes
        # travel, and a change names its origin, so bridged platforms never loop.
        self.presence_sync = PresenceSync()
        # Agents whose state came back from the store at start (_restore): their
        # platforms are told it at their first resync rather than believed.
        self._restored: set[str] = set()
        # Who asked a supervisor's device onto a call: (platform, device) -> username.
        self.monitor_by: dict[tuple[str, str], str] = {}
        self.started_at = self.clock.now()
        self.stations = Stations(settings)
        self.started = False
        self.stopped = False  # stopped at least once: a later start forgets (_forget_live)
        self._add_configured_agents()

    def _add_configured_agents(self) -> None:
        now = self.clock.now()
        for a in self.settings.agents:
            self.add_agent(Agent(
                agent_id=a.id, name=a.name, extension=a.extension, platform=a.platform,
                state=AgentState(AgentStatus.LOGGED_OUT, now), skills=frozenset(a.skills),
                devices=dict(a.devices),
            ))

    def _forget_live(self) -> None:
        """Start again from nothing (the store and the platforms then say what is live).

        In a cluster the core can leave a node and come back to it later: what this hub
        remembered from its last run is old by then (calls went on and ended, wrap-ups
        were saved on another node). Acting on it would end calls again, reopen
        interactions and overwrite newer rows. Writes still queued from that run are
        dropped for the same reason: the core that followed wrote the truth since.
        """
        if self._writes_interactions or self._writes_states:
            log.warning("hub.stale_writes_dropped", interactions=len(self._writes_interactions),
                        states=len(self._writes_states))
        self._writes_interactions.clear()
        self._write_marks.clear()
        self._writes_states.clear()
        self.calls = CallRegistry()
        self.interactions = InteractionBook(calls=self.calls)
        self.leftovers = None
        self.platforms = {name: PlatformInfo() for name in self.connectors}
        self.agents.clear()  # the same dict: the directory reads it
        self._by_device.clear()
        self._presence.clear()
        self._wrap_timers.clear()
        self._consumers.clear()
        self._restored.clear()
        self.presence_sync = PresenceSync()
        self.monitor_by.clear()
        self._add_configured_agents()

    # ------------------------------------------------------------------ wiring

    def add_agent(self, agent: Agent) -> None:
        self.agents[agent.agent_id] = agent
        for platform, device in agent.devices.items():  # the agent on each of their platforms
            self._by_device[(platform, device)] = agent.agent_id

    def place_agent(self, agent: Agent, platform: str, device: str) -> Callable[[], None]:
        """Make ``device`` on ``platform`` the agent's voice phone (a station login).

        The agent must be logged out and off calls; the station must not be another
        logged-in agent's. For the session the agent is on no other telephony platform
        (calls to their phones elsewhere would ring where nobody sits); their digital
        platforms stay. Returns what undoes it (the log-in failed after all).
        """
        info = self.platforms.get(platform)
        if platform not in self.connectors or (info is not None and not info.up):
            raise PlatformError(f"the telephony platform {platform!r} is not connected"
                                + (f": {info.detail}" if info is not None else ""),
                                code="platform-down", platform=platform)
        holder = self.agent_at(platform, device)
        if holder is not None and holder is not agent and (
                holder.state.status != AgentStatus.LOGGED_OUT or holder.calls):
            raise BadRequest(f"station {device} on {platform} is in use by {holder.name}",
                             code="station-busy", platform=platform)
        undo = self._move_agent(agent, platform, device)
        self.publish_agent(agent)
        return undo

    def _move_agent(self, agent: Agent, platform: str, device: str) -> Callable[[], None]:
        before = (agent.platform, agent.extension, dict(agent.devices))
        displaced = self._by_device.get((platform, device))
        mine = [(p, d) for p, d in agent.devices.items()
                if p in self.connectors and self._by_device.get((p, d)) == agent.agent_id]
        for p in [p for p in agent.devices if p in self.connectors]:
            del agent.devices[p]
        for key in mine:
            del self._by_device[key]
        agent.platform, agent.extension = platform, device
        agent.devices[platform] = device
        self._by_device[(platform, device)] = agent.agent_id

        def undo() -> None:
            if displaced is None:
                self._by_device.pop((platform, device), None)
            else:
                self._by_device[(platform, device)] = displaced
            agent.platform, agent.extension, agent.devices = before[0], before[1], before[2]
            for key in mine:
                self._by_device[key] = agent.agent_id
            self.publish_agent(agent)

        return undo

    def station_of(self, agent: Agent) -> tuple[str, str] | None:
        """Where the agent is logged in if not at their configured phone (a station
        login): kept with their state so that a new core puts them back there."""
        here, home = (agent.platform, agent.extension), self.stations.home(agent.agent_id)
        return None if home is None or here == home else here

    def platform_label(self, platform: str) -> str:
        """What the agent bar calls a telephony platform (its label, else its name)."""
        conf = next((t for t in self.settings.telephony if t.name == platform), None)
        return (conf.label if conf is not None and conf.label else platform)

    def agent_at(self, platform: str, device: str | None) -> Agent | None:
        if device is None:
            return None
        aid = self._by_device.get((platform, device))
        return self.agents.get(aid) if aid else None

    def require_agent(self, agent_id: str) -> Agent:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise NotFound(f"there is no agent {agent_id!r}", code="no-such-agent")
        return agent

    def connector_for(self, agent: Agent, platform: str | None = None) -> TelephonyConnector:
        """The connector of ``platform`` (default: the agent's primary one)."""
        platform = platform or agent.platform
        if agent.device_on(platform) is None:
            raise PlatformError(f"agent {agent.agent_id} has no device on {platform!r}",
                                code="not-on-platform", platform=platform)
        try:
            return self.connectors[platform]
        except KeyError:
            raise PlatformError(
                f"agent {agent.agent_id} is on platform {platform!r}, which is not running",
                code="platform-down",
            ) from None

    async def start(self) -> None:
        if self.stopped:
            self._forget_live()
        if self.store is not None:
            self._writer = asyncio.create_task(self._write_loop(), name="hub-writer")
            await self._restore()
            # Before the connectors: their first resync finds the calls still live.
            self.leftovers = Leftovers(self)
            await self.leftovers.load()
        for name, conn in self.connectors.items():
            self._consumers.append(
                asyncio.create_task(self._consume(name, conn), name=f"consume-{name}")
            )
            await conn.start()
        self.started = True

    async def _restore(self) -> None:
        """A restart is not a logout: agents' states and recent calls come back from the
        store (a wrap-up keeps its deadline; its interactions come back with the sweep).

        The restored state wins over the platform's on its first resync, and the platform
        is told it: a platform restarted with the hub (the simulator) knows nobody. States
        older than a sign-in lasts (auth.session_ttl_seconds) are not restored.
        """
        assert self.store is not None
        try:
            states = {aid: await self.store.agent_states.history(aid, 3)
                      for aid in self.agents}
            recent = {aid: await self.store.interactions.list(aid, limit=10)
                      for aid in self.agents}
        except Exception as exc:  # an unreadable store must not stop the hub starting
            log.error("hub.restore_failed", error=str(exc))
            return
        now = self.clock.now()
        for agent_id in self.agents:
            self.interactions.remember(agent_id, [it for it in recent[agent_id]
                                                  if it.wrapped_at is not None])
        newest = max((rows[0].at for rows in states.values() if rows), default=None)
        if newest is None or (now - newest).total_seconds() > \
                self.settings.auth.session_ttl_seconds:
            # Down longer than any sign-in lasts: nobody is at their desk any more.
            return
        for agent_id, rows in states.items():
            agent = self.agents[agent_id]
            if not rows or rows[0].ended_at is not None:
                continue
            state = rows[0].state
            # Where to go after a call or wrap-up: the state before it (never busy).
            before = next((r.state for r in rows[1:] if r.status in (
                AgentStatus.READY, AgentStatus.NOT_READY)), None)
            if state.status == AgentStatus.LOGGED_OUT:
                continue
            if state.status == AgentStatus.BUSY:
                # Its call comes back with the platform's resync (busy again) or is gone.
                state = before or AgentState(AgentStatus.NOT_READY, now, "break")
            if state.status == AgentStatus.WRAP_UP:
                # The window goes on where it was (a takeover by another node, a quick
                # restart): the agent sees the same deadline. One that ran out while no
                # core ran starts again, so the form is not shut the moment we are back.
                deadline = state.deadline
                if deadline is None or deadline <= now:
                    deadline = now + timedelta(seconds=max(self.settings.wrap_up_seconds, 1.0))
                state = AgentState(AgentStatus.WRAP_UP, state.since, None, deadline)
                agent.after_call = before
                self._wrap_timers[agent_id] = asyncio.create_task(
                    self._wrap_up_timer(agent, (deadline - now).total_seconds()),
                    name=f"wrap-up-{agent_id}")
            agent.state = state
            self._restored.add(agent_id)
            if rows[0].station is not None:
                self._restore_station(agent, *rows[0].station)
            if self.omnichannel is not None:
                self.omnichannel.agent_changed(agent, publish=False)
        if self._restored:
            log.info("hub.restored", agents=sorted(self._restored))

    def _restore_station(self, agent: Agent, platform: str, device: str) -> None:
        """Put a restored agent back at the station they logged in at (before the
        connectors start: the platform's resync then finds them there)."""
        holder = self.agent_at(platform, device)
        if platform not in self.connectors or (
                holder is not None and holder is not agent
                and holder.state.status != AgentStatus.LOGGED_OUT):
            log.warning("hub.station_not_restored", agent=agent.agent_id, platform=platform,
                        station=device, holder=holder.agent_id if holder else None)
            return
        self._move_agent(agent, platform, device)

    def resume_wrap_up(self, it: Interaction) -> bool:
        """Whether ``it`` (answered, ended, never wrapped by an earlier run) goes back to
        its agent's wrap-up form, the agent having been restored in wrap-up."""
        agent = self.agents.get(it.agent_id or "")
        if agent is None or agent.state.status != AgentStatus.WRAP_UP \
                or it.accepted_at is None or it.ended_at is None:
            return False
        self.interactions.keep(it)
        return True

    async def stop(self) -> None:
        if self.leftovers is not None:
            await self.leftovers.stop()
        for name, conn in self.connectors.items():
            try:
                await conn.stop()
            except Exception:  # a connector failing to stop must not block shutdown
                log.exception("connector.stop_failed", platform=name)
        for t in [*self._consumers, *self._wrap_timers.values(), *self._tasks]:
            t.cancel()
        for t in [*self._consumers, *self._wrap_timers.values(), *self._tasks]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            await self.flush()
        self.started = False
        self.stopped = True

    def spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.warning("hub.background_failed", task=task.get_name(), error=str(exc))

    async def _consume(self, platform: str, connector: TelephonyConnector) -> None:
        async for event in connector.events():
            try:
                self.apply(platform, event)
            except CtiError as exc:
                # A platform event that contradicts our model is logged, never fatal:
                # the next resync puts things right.
                log.warning("event.rejected", platform=platform, platform_event=event.name,
                            code=exc.code, error=exc.message)
            except Exception:
                log.exception("event.failed", platform=platform, platform_event=event.name)

    # ------------------------------------------------------------ publication

    def publish(self, name: str, data: dict[str, Any], agents: set[str] | frozenset[str],
                *, supervisors: bool = True) -> None:
        self.notifier.publish(HubEvent(name, data, frozenset(agents), supervisors))
        if self.on_event is not None:
            self.on_event(name)

    def _publish_call(self, name: str, call: Call, **extra: Any) -> None:
        self.publish(name, {"call": call.to_dict(), **extra}, call.audience())

    def publish_agent(self, agent: Agent) -> None:
        self.publish("agent.state", {"agent": agent.to_dict()}, {agent.agent_id})
        status = str(agent.state.status)
        if self._presence.get(agent.agent_id) != status:
            self._presence[agent.agent_id] = status
            self.notifier.presence(directory_entry(agent))

    def publish_interaction(self, it: Interaction) -> None:
        if it.agent_id:
            self.publish("interaction.updated", {"interaction": it.to_dict()}, {it.agent_id})

    # ------------------------------------------------------------ persistence

    def persist_interaction(self, it: Interaction) -> None:
        if self.store is None:
            return
        if self.journal is not None and it.call_id is not None:
            self.journal(it)
        self._writes_interactions[it.interaction_id] = it
        self._write_marks[it.interaction_id] = self._write_marks.get(it.interaction_id, 0) + 1
        self._write_wakeup.set()
        if it.wrapped_at is not None and (here := WRAPPED_HERE.get()) is not None:
            here.add(it.interaction_id)

    def _persist_state(self, agent: Agent) -> None:
        if self.store is None:
            return
        self._writes_states.append((agent.agent_id, agent.state))
        self._write_wakeup.set()

    async def _write_loop(self) -> None:
        failures = 0
        while True:
            await self._write_wakeup.wait()
            self._write_wakeup.clear()
            await asyncio.sleep(0.05)  # gather a batch: one transaction, many rows
            try:
                await self.flush()
                failures = 0
            except Exception as exc:
                failures += 1
                log.error("store.write_failed", error=str(exc), attempt=failures)
                if failures >= 3:
                    # The database may be fine and one row bad: write rows one by one
                    # so a single bad row cannot block every later write.
                    async with self._write_lock:
                        await self._flush_one_by_one()
                    failures = 0
                await asyncio.sleep(min(30.0, 2.0**failures))
                self._write_wakeup.set()

    async def _flush_one_by_one(self) -> None:
        assert self.store is not None
        if not await self.store.ping():
            return  # the database is down: keep every row until it is back
        for it in list(self._writes_interactions.values()):
            mark = self._write_marks.get(it.interaction_id)
            try:
                await self.store.write(interactions=[it], states=[], call_log=self.call_log)
            except Exception as exc:
                log.error("store.row_dropped", interaction=it.interaction_id, error=str(exc))
            self._forget_written(it.interaction_id, mark)
        for change in list(self._writes_states):
            try:
                await self.store.write(interactions=[], states=[change],
                                       stations=self._stations_of([change]))
            except Exception as exc:
                log.error("store.row_dropped", agent=change[0], error=str(exc))
            self._writes_states.remove(change)

    async def persist_wraps(self) -> None:
        """Write now (not in the next batch) if an interaction was just wrapped up.

        Called before a command's ack: once the agent is told their wrap-up is done, the
        interaction and its call-log outbox row are on disk, whatever happens next.
        """
        if not any(it.wrapped_at for it in self._writes_interactions.values()):
            return
        try:
            await self.flush()
        except Exception as exc:  # the writer keeps the rows and retries them
            log.error("store.write_failed", error=str(exc), during="wrap-up")

    async def persist_soon(self) -> None:
        """Write now; on a store failure the writer keeps the rows and retries them."""
        try:
            await self.flush()
        except Exception as exc:
            log.error("store.write_failed", error=str(exc), during="wrap-up draft")

    async def persist_now(self) -> None:
        """Write every queued row now (stop, tests, a caller that must see it on disk)."""
        await self.flush()

    async def flush(self) -> None:
        """Write what is queued for the store now (shutdown, tests)."""
        async with self._write_lock:
            await self._flush_locked()

    async def _flush_locked(self) -> None:
        if self.store is None or not (self._writes_interactions or self._writes_states):
            return
        interactions = list(self._writes_interactions.values())
        marks = {it.interaction_id: self._write_marks.get(it.interaction_id)
                 for it in interactions}
        states = list(self._writes_states)
        await self.store.write(interactions=interactions, states=states,
                               call_log=self.call_log, stations=self._stations_of(states))
        if self.call_log and self.on_call_log and any(it.wrapped_at for it in interactions):
            self.on_call_log()
        # Only forget what was written; rows queued or changed meanwhile stay.
        for it in interactions:
            self._forget_written(it.interaction_id, marks[it.interaction_id])
        del self._writes_states[: len(states)]

    def _stations_of(self, states: list[tuple[str, AgentState]]
                     ) -> dict[str, tuple[str, str] | None]:
        return {aid: self.station_of(self.agents[aid]) for aid, _ in states
                if aid in self.agents}

    def _forget_written(self, interaction_id: str, mark: int | None) -> None:
        if self._write_marks.get(interaction_id) == mark:
            self._writes_interactions.pop(interaction_id, None)
            self._write_marks.pop(interaction_id, None)

    # ---------------------------------------------------------- agent states

    def set_state(
        self, agent: Agent, status: AgentStatus, *, reason: str | None = None,
        deadline: datetime | None = None, force: bool = False,
    ) -> None:
        """Apply a state change (checked unless ``force``) and announce it."""
        now = self.clock.now()
        cur = agent.state
        if cur.status == status and (status != AgentStatus.NOT_READY or cur.reason == reason) \
                and (status != AgentStatus.WRAP_UP or cur.deadline == deadline):
            return  # already there (e.g. the platform's echo was applied first)
        if force:
            new = AgentState(status, now, reason if status == AgentStatus.NOT_READY else None,
                             deadline if status == AgentStatus.WRAP_UP else None)
        else:
            new = transition(agent.state, status, now, reason=reason, deadline=deadline)
        old = agent.state
        if old.status == new.status and old.reason == new.reason and old.deadline == new.deadline:
            return
        if old.status == AgentStatus.WRAP_UP and new.status != AgentStatus.WRAP_UP:
            self._end_wrap_up(agent)
        agent.state = new
        if new.status == AgentStatus.LOGGED_OUT:
            agent.after_call = None
        if new.status not in (AgentStatus.BUSY, AgentStatus.WRAP_UP):
            agent.after_call_by = None  # a deferred change has taken effect
        if self.omnichannel is not None:  # availability in the agent.state published below
            self.omnichannel.agent_changed(agent, publish=False)
        self._persist_state(agent)
        self.publish_agent(agent)

    def platform_view(self, agent: Agent) -> tuple[AgentStatus, str | None]:
        """What a platform (which knows no busy or wrap-up) should be told."""
        state = agent.state
        if state.status == AgentStatus.BUSY:
            state = agent.after_call or AgentState(AgentStatus.READY, self.clock.now())
        if state.status == AgentStatus.WRAP_UP:
            return AgentStatus.NOT_READY, "wrap-up"
        return state.status, state.reason

    def tell_platform(self, agent: Agent) -> None:
        """Tell every voice platform the agent is on where they stand (real changes only)."""
        if self.omnichannel is not None:  # digital platforms too, from all the agent carries
            self.omnichannel.push(agent)
            return
        for d in self.presence_sync.plan(agent.agent_id, self.voice_directives(agent)):
            self.push_agent_state(agent, d.platform, d.status, d.reason)

    def voice_directives(self, agent: Agent) -> list[PlatformDirective]:
        """Per telephony platform of the agent: its platform view, or paused while
        the agent has a call on another platform (reason ``busy-elsewhere``)."""
        status, reason = self.platform_view(agent)
        busy_on = {c.platform for cid in agent.calls if (c := self.calls.get(cid)) is not None}
        out = []
        for platform in sorted(agent.devices):
            if platform not in self.connectors:
                continue  # a digital platform: the omnichannel service tells it
            if status == AgentStatus.READY and busy_on - {platform}:
                out.append(PlatformDirective(platform, AgentStatus.NOT_READY, BUSY_ELSEWHERE))
            else:
                out.append(PlatformDirective(platform, status, reason))
        return out

    def push_agent_state(self, agent: Agent, platform: str, status: AgentStatus,
                         reason: str | None) -> None:
        """``set_agent_state`` on the agent's device on ``platform``, in the background."""
        conn = self.connectors.get(platform)
        device = agent.device_on(platform)
        if conn is None or device is None:
            return

        async def push() -> None:
            try:
                await asyncio.wait_for(conn.set_agent_state(device, status, reason), 10)
            except Exception as exc:
                # Forget what we meant to tell it: the next change or resync says it again.
                self.presence_sync.forget(agent.agent_id, platform)
                log.warning("platform.agent_state_failed", agent=agent.agent_id,
                            platform=platform, status=str(status), error=str(exc))

        self.spawn(push(), f"agent-state-{agent.agent_id}-{platform}")

    def _make_busy(self, agent: Agent) -> None:
        st = agent.state.status
        if st in (AgentStatus.BUSY, AgentStatus.LOGGED_OUT):
            return
        if st == AgentStatus.WRAP_UP:
            after = agent.after_call or AgentState(AgentStatus.READY, self.clock.now())
        else:
            after = agent.state
        self.set_state(agent, AgentStatus.BUSY)
        agent.after_call = after

    def _after_calls(self, agent: Agent) -> None:
        """The agent's last call ended: wrap-up, or back to where they were."""
        now = self.clock.now()
        if agent.state.status == AgentStatus.BUSY:
            pending = self.interactions.awaiting_wrap_up(agent.agent_id)
            wrap = self.settings.wrap_up_seconds
            if pending and wrap > 0:
                self.set_state(agent, AgentStatus.WRAP_UP,
                               deadline=now + timedelta(seconds=wrap))
                self._wrap_timers[agent.agent_id] = asyncio.create_task(
                    self._wrap_up_timer(agent, wrap), name=f"wrap-up-{agent.agent_id}")
            else:
                after = agent.after_call or AgentState(AgentStatus.READY, now)
                self.set_state(agent, after.status, reason=after.reason, force=True)
                self._wrap_interactions(agent)
        # Platforms pause a device after each call (after-call work); tell them
        # where the agent stands now so calls are routed again when they should.
        self.tell_platform(agent)

    async def _wrap_up_timer(self, agent: Agent, seconds: float) -> None:
        await self.clock.sleep(seconds)
        self._wrap_timers.pop(agent.agent_id, None)
        if agent.state.status == AgentStatus.WRAP_UP:
            after = agent.after_call or AgentState(AgentStatus.READY, self.clock.now())
            self.set_state(agent, after.status, reason=after.reason)
            self.tell_platform(agent)

    def _end_wrap_up(self, agent: Agent) -> None:
        timer = self._wrap_timers.pop(agent.agent_id, None)
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
        self._wrap_interactions(agent)

    def _wrap_interactions(self, agent: Agent) -> None:
        now = self.clock.now()
        for it in self.interactions.awaiting_wrap_up(agent.agent_id):
            apply_draft(it, {d.code for d in self.settings.dispositions})
            self.interactions.close(it, now)
            self.persist_interaction(it)
            self.publish_interaction(it)
            if self.screenpops is not None:
                self.screenpops.forget_if_done(it.call_id)

    # ------------------------------------------------------- platform events

    def apply(self, platform: str, event: PlatformEvent) -> None:
        info = self.platforms.setdefault(platform, PlatformInfo())
        info.events += 1
        event = bounded(event, self.attached_limits)  # outside data, cut once here
        handler = _HANDLERS.get(type(event))
        if handler is None:
            log.debug("event.ignored", platform=platform, platform_event=type(event).__name__)
            return
        handler(self, platform, event)

    def _call(self, platform: str, event: CallEvent) -> Call | None:
        call = self.calls.by_ref(platform, event.ref)
        if call is None or call.ended:
            log.debug("event.unknown_call", platform=platform, ref=event.ref,
                      platform_event=event.name)
            return None
        return call

    def _connect(self, call: Call, platform: str, device: str, state: ConnectionState,
                 at: datetime) -> Agent | None:
        agent = self.agent_at(platform, device)
        if agent is None:
            call.set_connection(device, state, at)
        else:
            call.set_connection(device, state, at, agent.agent_id, agent.name)
            call.transferred_away.discard(agent.agent_id)  # back on it (transferred back)
        return agent

    def _consult_id(self, platform: str, ref: str | None) -> str | None:
        if ref is None:
            return None
        call = self.calls.by_ref(platform, ref)
        return call.call_id if call else None

    def _party_for_device(self, platform: str, party: Party) -> Party:
        """Name internal parties after the agent on that extension."""
        agent = self.agent_at(platform, party.number)
        if agent and not party.name:
            return Party(number=party.number, name=agent.name)
        return party

    def _sync_agents(self, call: Call) -> None:
        """Keep each agent's live-call set in step; run after-call when it empties."""
        for conn in call.connections.values():
            if conn.agent_id is None:
                continue
            agent = self.agents.get(conn.agent_id)
            if agent is None:
                continue
            if conn.state in TERMINAL or call.ended:
                if call.call_id in agent.calls:
                    agent.calls.discard(call.call_id)
                    # Its platform put the device in after-call work: tell it again.
                    self.presence_sync.forget(agent.agent_id, call.platform)
                    if not agent.calls:
                        self._after_calls(agent)
            else:
                if call.call_id not in agent.calls:
                    agent.calls.add(call.call_id)
                    self.tell_platform(agent)  # busy here: paused on their other platforms
                if conn.state in (ConnectionState.CONNECTED, ConnectionState.HELD,
                                  ConnectionState.INITIATED):
                    self._make_busy(agent)
            if self.omnichannel is not None:
                self.omnichannel.agent_changed(agent)

    def _finish_if_empty(self, call: Call, cause: str) -> bool:
        if call.ended or call.live_connections():
            return False
        self._end_call(call, cause)
        return True

    def _end_call(self, call: Call, cause: str, at: datetime | None = None) -> None:
        # ``at``: when the platform says it ended (events buffered at an edge across a
        # WAN cut arrive late; the history keeps the platform's time).
        now = at or self.clock.now()
        call.end(now, cause)
        call.monitors.clear()  # supervisors leave with the call
        for agent_id in {None, *call.agents()}:
            it = self.interactions.find(call.call_id, agent_id)
            if it is not None:
                self._end_interaction(it, now, cause)
        self.calls.close(call)
        if self.omnichannel is not None:
            self.omnichannel.call_left_queue(None, call, answered=False)
        self._publish_call("call.ended", call, cause=cause)
        self._sync_agents(call)
        if self.screenpops is not None:
            self.screenpops.forget_if_done(call.call_id)

    def _end_interaction(self, it: Interaction, at: datetime, cause: str) -> None:
        if it.ended_at is not None:
            return
        it.ended_at = at
        it.end_cause = cause
        if it.accepted_at is None:
            # Missed offers and abandoned calls need no wrap-up.
            self.interactions.close(it, at)
        self.persist_interaction(it)
        self.publish_interaction(it)

    def _on_queued(self, platform: str, ev: CallQueued) -> None:
        call, _ = self.calls.open(platform, ev.ref, direction=ev.direction, customer=ev.caller,
                                  at=ev.at, queue=ev.queue, attached=ev.attached)
        call.queue = ev.queue
        call.attached.update(ev.attached)
        call.set_connection(f"queue:{ev.queue}", ConnectionState.QUEUED, ev.at)
        if is_customer_call(call):
            it = self.interactions.for_call(call, None, ev.at)
            it.queued_at = it.queued_at or ev.at
        self._publish_call("call.queued", call)
        if self.omnichannel is not None:
            self.omnichannel.call_queued(platform, call)
        if self.screenpops is not None and is_customer_call(call):
            self.screenpops.prefetch(call)

    def _on_initiated(self, platform: str, ev: CallInitiated) -> None:
        callee = self._party_for_device(platform, ev.callee)
        call, _ = self.calls.open(platform, ev.ref, direction=ev.direction, customer=callee,
                                  at=ev.at, attached=ev.attached,
                                  consult_of=self._consult_id(platform, ev.consult_of))
        call.direction = ev.direction
        agent = self._connect(call, platform, ev.device, ConnectionState.INITIATED, ev.at)
        if agent and is_customer_call(call):
            it = self.interactions.for_call(call, agent.agent_id, ev.at)
            it.offered_at = it.offered_at or ev.at
        self._sync_agents(call)
        self._publish_call("call.initiated", call)
        if agent and self.screenpops is not None and is_customer_call(call):
            self.screenpops.pop(call, agent.agent_id)

    def _on_offered(self, platform: str, ev: CallOffered) -> None:
        caller = self._party_for_device(platform, ev.caller)
        call, _ = self.calls.open(platform, ev.ref, direction=ev.direction, customer=caller,
                                  at=ev.at, queue=ev.queue, attached=ev.attached,
                                  consult_of=self._consult_id(platform, ev.consult_of))
        if ev.attached:
            call.attached.update(ev.attached)
        agent = self._connect(call, platform, ev.device, ConnectionState.ALERTING, ev.at)
        if agent and is_customer_call(call):
            it = self.interactions.for_call(call, agent.agent_id, ev.at)
            it.offered_at = ev.at
        self._sync_agents(call)
        self._publish_call("call.offered", call)
        if agent and self.screenpops is not None and is_customer_call(call):
            self.screenpops.pop(call, agent.agent_id)

    def _on_answered(self, platform: str, ev: CallAnswered) -> None:
        call = self._call(platform, ev)
        if call is None:
            return
        before = call.connection(ev.device)
        if before is not None and before.state == ConnectionState.CONNECTED:
            return  # already said (the caller of an internal call, below): once is enough
        agent = self._connect(call, platform, ev.device, ConnectionState.CONNECTED, ev.at)
        if call.consult_of is not None or call.direction == Direction.INTERNAL:
            # Between agents the caller is connected when the callee answers: one
            # call.answered for both (platforms may also report the caller's side).
            for conn in call.live_connections():
                if conn.state == ConnectionState.INITIATED and conn.agent_id:
                    conn.move(ConnectionState.CONNECTED, ev.at)
        if call.answered_at is None:
            call.answered_at = ev.at
        for conn in call.live_connections():
            if conn.device.startswith("queue:"):
                conn.move(ConnectionState.ENDED, ev.at)
        if agent and is_customer_call(call):
            it = self.interactions.for_call(call, agent.agent_id, ev.at)
            it.accepted_at = it.accepted_at or ev.at
            self.interactions.drop(call.call_id, None)
            self.persist_interaction(it)  # on disk while live: a crash leaves it to sweep
            self.publish_interaction(it)
        if self.omnichannel is not None:
            self.omnichannel.call_left_queue(platform, call, answered=True,
                                             agent_id=agent.agent_id if agent else None)
        self._sync_agents(call)
        self._publish_call("call.answered", call)

    def _on_held(self, platform: str, ev: CallHeld) -> None:
        call = self._call(platform, ev)
        if call is not None:
            self._connect(call, platform, ev.device, ConnectionState.HELD, ev.at)
            self._publish_call("call.held", call)

    def _on_retrieved(self, platform: str, ev: CallRetrieved) -> None:
        call = self._call(platform, ev)
        if call is not None:
            self._connect(call, platform, ev.device, ConnectionState.CONNECTED, ev.at)
            self._publish_call("call.retrieved", call)

    def _on_transferred(self, platform: str, ev: CallTransferred) -> None:
        call = self._call(platform, ev)
        if call is None:
            return
        leaving = call.connection(ev.from_device)
        if leaving is not None and leaving.state not in TERMINAL:
            leaving.move(ConnectionState.ENDED, ev.at)
        from_agent = self.agent_at(platform, ev.from_device)
        if from_agent is not None:
            it = self.interactions.find(call.call_id, from_agent.agent_id)
            if it is not None:
                self._end_interaction(it, ev.at, "transferred")
        consult = self.calls.by_ref(platform, ev.consult_ref) if ev.consult_ref else None
        to_agent = self.agent_at(platform, ev.to_device)
        if consult is not None or to_agent is None:
            # Attended: the target already talks to us; external: off our agents.
            self._connect(call, platform, ev.to_device, ConnectionState.CONNECTED, ev.at)
            for conn in call.live_connections():
                if conn.state == ConnectionState.HELD and conn.agent_id is None:
                    conn.move(ConnectionState.CONNECTED, ev.at)
            if to_agent is not None and is_customer_call(call):
                it = self.interactions.for_call(call, to_agent.agent_id, ev.at)
                it.offered_at = it.offered_at or ev.at
                it.accepted_at = it.accepted_at or ev.at
                self.persist_interaction(it)
                self.publish_interaction(it)
        self._sync_agents(call)
        self._publish_call("call.transferred", call,
                           from_agent=from_agent.agent_id if from_agent else None,
                           to_agent=to_agent.agent_id if to_agent else None)
        if from_agent is not None and from_agent is not to_agent:
            call.transferred_away.add(from_agent.agent_id)
        if (self.screenpops is not None and to_agent is not None and is_customer_call(call)
                and (consult is not None or call.connection(ev.to_device) is not None)):
            # Attended: the target is on the call now; a blind transfer pops on the offer.
            self.screenpops.pop(call, to_agent.agent_id, again=False)
        if consult is not None and not consult.ended:
            self._end_call(consult, "transferred")

    def _on_conferenced(self, platform: str, ev: CallConferenced) -> None:
        call = self._call(platform, ev)
        if call is None:
            return
        for device in ev.devices:
            agent = self._connect(call, platform, device, ConnectionState.CONNECTED, ev.at)
            if agent and is_customer_call(call):
                it = self.interactions.for_call(call, agent.agent_id, ev.at)
                it.offered_at = it.offered_at or ev.at
                it.accepted_at = it.accepted_at or ev.at
                self.persist_interaction(it)
        self._sync_agents(call)
        self._publish_call("call.conferenced", call)
        if self.screenpops is not None and is_customer_call(call):
            for device in ev.devices:
                member = self.agent_at(platform, device)
                if member is not None:
                    self.screenpops.pop(call, member.agent_id, again=False)
        consult = self.calls.by_ref(platform, ev.consult_ref) if ev.consult_ref else None
        if consult is not None and not consult.ended:
            self._end_call(consult, "conferenced")

    def _on_monitored(self, platform: str, ev: CallMonitored) -> None:
        call = self._call(platform, ev)
        if call is None:
            return
        by = self.monitor_by.get((platform, ev.device))
        _, before = call.monitors.get(ev.device, (None, "listen"))
        call.monitors[ev.device] = (by, ev.mode)
        self._publish_monitor(call, ev.device, by, ev.mode,
                              audible="listen" not in (before, ev.mode) or before != ev.mode)

    def _monitor_left(self, call: Call, device: str, cause: str) -> None:
        by, mode = call.monitors.pop(device)
        self._publish_monitor(call, device, by, None, audible=mode != "listen", cause=cause)

    def _publish_monitor(self, call: Call, device: str, by: str | None, mode: str | None,
                         *, audible: bool, **extra: Any) -> None:
        """``call.monitored`` (mode None: the supervisor left), to supervisors; to the
        agents on the call too when they hear the supervisor or stop hearing them (a
        silent listener is never announced to them)."""
        self.publish("call.monitored", {
            "call": call.to_dict(), "device": device, "by": by, "mode": mode,
            "monitors": call.monitor_list(), **extra}, call.audience() if audible else set())

    def _on_dtmf(self, platform: str, ev: CallDtmf) -> None:
        call = self._call(platform, ev)
        if call is not None:
            self._publish_call("call.dtmf", call, digits=ev.digits, device=ev.device)

    def _on_ended(self, platform: str, ev: CallEnded) -> None:
        call = self._call(platform, ev)
        if call is None:
            return
        if ev.device is None:
            self._end_call(call, ev.cause, ev.at)
            return
        if ev.device in call.monitors:  # a supervisor left (not a party to the call)
            self._monitor_left(call, ev.device, ev.cause)
            return
        conn = call.connection(ev.device)
        if conn is None or conn.state in TERMINAL:
            return
        conn.move(ConnectionState.ENDED, ev.at)
        if conn.agent_id:
            it = self.interactions.find(call.call_id, conn.agent_id)
            if it is not None:
                self._end_interaction(it, ev.at, ev.cause)
        if self._finish_if_empty(call, ev.cause):
            return
        self._sync_agents(call)
        self._publish_call("call.updated", call, device=ev.device, cause=ev.cause)

    def _on_failed(self, platform: str, ev: CallFailed) -> None:
        call = self._call(platform, ev)
        if call is None:
            return
        if ev.device is not None:
            conn = call.connection(ev.device)
            if conn is not None and conn.state not in TERMINAL:
                if ConnectionState.FAILED in _can_fail(conn.state):
                    conn.move(ConnectionState.FAILED, ev.at)
                else:
                    conn.move(ConnectionState.ENDED, ev.at)
        else:
            for conn in call.live_connections():
                conn.state = ConnectionState.FAILED
        self._publish_call("call.failed", call, device=ev.device, cause=ev.cause)
        if not self._finish_if_empty(call, ev.cause):
            self._sync_agents(call)

    def _on_agent_state(self, platform: str, ev: AgentStateChanged) -> None:
        agent = self.agent_at(platform, ev.device)
        if agent is None:
            return
        if not self._platform_said(platform, agent, ev.status, ev.reason):
            return  # our own push coming back, a repeat, or a pause we set
        self.apply_platform_agent_state(agent, ev.status, ev.reason)
        self.tell_platform(agent)  # to the agent's other platforms, not back to this one

    def _platform_said(self, platform: str, agent: Agent, status: AgentStatus,
                       reason: str | None) -> bool:
        """Whether a state a platform reports is a change the agent made there (its origin)."""
        if self.omnichannel is not None:
            return bool(self.omnichannel.platform_said(platform, agent, status, reason))
        return self.presence_sync.observe(agent.agent_id, platform, status, reason) \
            is Observed.CHANGE

    def apply_platform_agent_state(
        self, agent: Agent, status: AgentStatus, reason: str | None
    ) -> None:
        """A state the platform reports, perhaps changed elsewhere (feature code)."""
        if self.platform_view(agent) == (status, reason):
            return  # our own echo
        if status == AgentStatus.NOT_READY and reason in (WRAP_UP, BUSY_ELSEWHERE):
            # The platform's after-call pause (wrap-up is ours to run), or our own
            # pause for work elsewhere: neither is the agent's choice.
            return
        now = self.clock.now()
        if agent.state.status == AgentStatus.BUSY and status != AgentStatus.LOGGED_OUT:
            agent.after_call = AgentState(status, now, reason)
            return
        self.set_state(agent, status, reason=reason, force=True)

    def on_platform_status(self, platform: str, ev: PlatformStatus) -> None:
        info = self.platforms.setdefault(platform, PlatformInfo())
        info.up, info.detail = ev.up, ev.detail
        log.info("platform.status", platform=platform, up=ev.up, detail=ev.detail)
        audience = {a.agent_id for a in self.agents.values() if platform in a.devices}
        self.publish("platform.status",
                     {"platform": platform, "up": ev.up, "detail": ev.detail}, audience)

    def _on_resynced(self, platform: str, ev: PlatformResynced) -> None:
        """Make our view equal the platform's: end ghosts, add what we missed."""
        if self.leftovers is not None:  # first resync since start: take back live calls
            self.leftovers.resynced(platform, ev)
        # Agent states first: an agent found on a live call then becomes busy
        # (remembering the platform's state for after the call), not ready.
        restored = {aid for aid in self._restored if platform in self.agents[aid].devices}
        self._restored -= restored
        for device, (status, reason) in ev.agents.items():
            agent = self.agent_at(platform, device)
            if agent is not None and agent.agent_id in restored:
                continue  # ours from the store: told to the platform below
            if agent is not None and self._platform_said(platform, agent, status, reason):
                self.apply_platform_agent_state(agent, status, reason)
        seen = {snap.ref for snap in ev.calls}
        for ref, call in self.calls.refs_for_platform(platform).items():
            if ref not in seen:
                self._end_call(call, "gone-after-resync")
        for snap in ev.calls:
            call, created = self.calls.open(
                platform, snap.ref, direction=snap.direction, customer=snap.customer,
                at=ev.at, queue=snap.queue, attached=snap.attached)
            for device, state_name in snap.devices.items():
                state = _STATE_BY_NAME.get(state_name)
                if state is None:
                    continue
                agent = self.agent_at(platform, device)
                conn = call.connection(device)
                if conn is None or conn.state != state:
                    call.set_connection(device, ConnectionState.INITIATED, ev.at,
                                        agent.agent_id if agent else None,
                                        agent.name if agent else None)
                    call.connections[device].state = state  # platform is the truth here
                if agent and is_customer_call(call):
                    it = self.interactions.for_call(call, agent.agent_id, ev.at)
                    if state in (ConnectionState.CONNECTED, ConnectionState.HELD):
                        it.accepted_at = it.accepted_at or ev.at
                        self.persist_interaction(it)
                        # A call taken back (a takeover, a restart) keeps its clock: the
                        # bar's talk time goes on from when it was answered.
                        call.answered_at = call.answered_at or it.accepted_at
                        taken = call.connections[device]
                        taken.connected_at = taken.connected_at or it.accepted_at
            for device, conn in list(call.connections.items()):
                if device not in snap.devices and conn.state not in TERMINAL:
                    conn.state = ConnectionState.ENDED
            if not self._finish_if_empty(call, "gone-after-resync"):
                self._sync_agents(call)
                self._publish_call("call.updated", call)
        self._tell_live_calls(platform)
        for agent_id in restored:
            self.presence_sync.forget(agent_id, platform)
            self.tell_platform(self.agents[agent_id])
            # Bars that stayed connected while the core moved to another node (their
            # sockets are on a live node) heard nothing since: they get where it stands.
            self.publish_agent(self.agents[agent_id])
        # An agent on other voice platforms too: this one may have missed pushes
        # while away, so it is told again where the agent stands.
        for agent in self.agents.values():
            if platform in agent.devices and sum(p in self.connectors for p in agent.devices) > 1:
                self.presence_sync.forget(agent.agent_id, platform)
                self.tell_platform(agent)

    def _tell_live_calls(self, platform: str) -> None:
        """Each agent on ``platform`` hears which of their calls there are live now, and
        the supervisors which calls of the platform are.

        After a takeover a bar or a supervisor console may know a call the new core does
        not: one the old core announced but had not yet written when it died comes back
        from the resync under a new id, and the old one would stay on screen as a ghost.
        Each drops every call of this platform the list does not name (docs/protocol:
        ``calls.live``).
        """
        for agent in self.agents.values():
            if platform not in agent.devices:
                continue
            live = [c.to_dict() for c in self.calls_of(agent.agent_id)
                    if c.platform == platform and not c.ended]
            # Not to supervisors: an agent's list would make a console drop the calls
            # of everyone else on the platform.
            self.publish("calls.live", {"platform": platform, "calls": live},
                         {agent.agent_id}, supervisors=False)
        # Supervisors' view of a call, as in their snapshot: listeners too.
        calls = [{**c.to_dict(), "monitors": c.monitor_list()} for c in self.calls.live()
                 if c.platform == platform and not c.ended]
        parts = _parts(calls, LIVE_PART_CHARS)
        for i, part in enumerate(parts, 1):
            data: dict[str, Any] = {"platform": platform, "calls": part}
            if len(parts) > 1:
                data.update(part=i, parts=len(parts))
            self.publish("calls.live", data, frozenset())

    # --------------------------------------------------------------- views

    def calls_of(self, agent_id: str) -> list[Call]:
        agent = self.agents.get(agent_id)
        if agent is None:
            return []
        return [c for cid in agent.calls if (c := self.calls.get(cid)) is not None]


# A supervisors' ``calls.live`` lists every live call of a platform: thousands in a
# large center. Beyond this many characters of calls it comes in parts, each frame
# well under what crosses the cluster bus (NATS's max_payload, 1 MiB by default) and
# what a socket may have queued (server.limits.ws_send_queue_bytes).
LIVE_PART_CHARS = 256 * 1024


def _parts(calls: list[dict[str, Any]], limit: int) -> list[list[dict[str, Any]]]:
    """``calls`` cut in consecutive runs of at most ``limit`` characters of JSON (a
    call alone over it goes alone); one run, maybe empty, when they all fit."""
    parts: list[list[dict[str, Any]]] = [[]]
    chars = 0
    for call in calls:
        size = len(json.dumps(call, ensure_ascii=False, separators=(",", ":"))) + 1
        if parts[-1] and chars + size > limit:
            parts.append([])
            chars = 0
        parts[-1].append(call)
        chars += size
    return parts


def _can_fail(state: ConnectionState) -> frozenset[ConnectionState]:
    from ..model.call import CONNECTION_TRANSITIONS

    return CONNECTION_TRANSITIONS[state]


_HANDLERS: dict[type, Callable[[Hub, str, Any], None]] = {
    CallQueued: Hub._on_queued,
    CallInitiated: Hub._on_initiated,
    CallOffered: Hub._on_offered,
    CallAnswered: Hub._on_answered,
    CallHeld: Hub._on_held,
    CallRetrieved: Hub._on_retrieved,
    CallTransferred: Hub._on_transferred,
    CallConferenced: Hub._on_conferenced,
    CallDtmf: Hub._on_dtmf,
    CallMonitored: Hub._on_monitored,
    CallEnded: Hub._on_ended,
    CallFailed: Hub._on_failed,
    AgentStateChanged: Hub._on_agent_state,
    PlatformStatus: Hub.on_platform_status,
    PlatformResynced: Hub._on_resynced,
}
