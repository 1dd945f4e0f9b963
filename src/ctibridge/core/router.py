"""The universal queue: voice and digital interactions waiting together, offered to agents.

Pure logic, no I/O and no asyncio: every call that depends on time takes
``now``, so the hub runs it on its clock and tests and benchmarks on a fake one.

How the hub uses it::

    router = Router.from_settings(settings.queues)
    router.set_agent("alice", skills={"fr"}, rules=policy.rules_for("alice"),
                     ready=True, load={Channel.CHAT: 1}, idle_since=t0)   # on every change
    router.enqueue("i-42", Channel.CHAT, "support", now)                  # a new chat
    for offer in router.route(now):          # after any change; offers reserve capacity
        ...show it on offer.agent_id's bar, until offer.expires_at
    router.accept("i-42", "alice", now)      # or decline(...): re-queued, not back to alice first
    for offer in router.expire(now): ...     # timed-out offers, already re-queued
    router.remove("i-42", now)               # the customer left
    router.next_deadline(now)                # when to call expire()/route() again
    router.stats(now)                        # per queue, for the supervisor page

Policy:

- **Effective priority** = item priority (the queue's unless given) + ``ageing``
  × waited / the queue's service-level target: an item gains one level per
  target waited, so nothing starves behind a flood of urgent work. Highest
  first; equal effective priority → first enqueued first (FIFO).
- **Agent choice** per queue: ``longest_idle`` (longest since they became idle
  or were last offered something) or ``least_loaded`` (fewest interactions
  carried and offered, then longest idle).
- **Capacity** comes from :mod:`.presence` rules applied to what the agent
  carries (``load``, from the hub) plus what the router has offered them and
  not yet seen answered: an agent is never offered more than the rules allow,
  and never anything while not ready. An unanswered offer takes a place in
  its own channel only; it blocks other channels only when it rings
  (:data:`.presence.RINGING`, a call): a chat nobody accepted keeps no call away.
- **Offers** expire after the queue's ``offer_timeout_seconds``; a declined or
  expired item goes back with its original enqueue time, and is not offered
  to that agent again for ``reoffer_delay_seconds`` if anyone else can take it
  (doubled at each further miss by the same agent, up to ``max_reoffer_delay_seconds``:
  work one agent keeps ignoring waits in the queue instead of coming back every
  few seconds).

Efficiency: items wait in heaps per *lane* (queue, channel, required skills)
whose order does not change with time (ageing is linear, so within a lane the
order is fixed); agents free for a lane sit in a heap ordered by the lane's
selection key, refreshed lazily. A decision compares the lanes' heads and
pops one agent: O(lanes + log n), not a scan of items or agents.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ..model.errors import BadRequest
from ..model.party import Channel
from .presence import DEFAULT_RULES, RINGING, CapacityRules
from .supervision import DEFAULT_ABANDON_THRESHOLD, DEFAULT_WINDOW_SECONDS

if TYPE_CHECKING:
    from ..config import QueueSettings


class RoutingError(BadRequest):
    """A routing call that does not fit the router's state (codes below)."""

    code = "routing-error"


class Selection(StrEnum):
    LONGEST_IDLE = "longest_idle"
    LEAST_LOADED = "least_loaded"


@dataclass(frozen=True, slots=True)
class QueueSpec:
    name: str
    channels: frozenset[Channel]
    skills: frozenset[str] = frozenset()
    priority: int = 0
    sl_seconds: float = 20.0
    offer_timeout_seconds: float = 20.0
    selection: Selection = Selection.LONGEST_IDLE

    @classmethod
    def from_settings(cls, q: QueueSettings) -> QueueSpec:
        return cls(q.name, frozenset(q.channels), frozenset(q.skills), q.priority,
                   q.sl_seconds, q.offer_timeout_seconds, Selection(q.selection))


@dataclass(slots=True)
class WaitingItem:
    """An interaction waiting in a queue (or being offered)."""

    interaction_id: str
    channel: Channel
    queue: str
    priority: int
    skills: frozenset[str]  # required: the queue's plus the item's own
    enqueued_at: datetime
    attempts: int = 0  # offers made so far
    # agent id → time (epoch seconds) until which not to offer it to them again
    excluded: dict[str, float] = field(default_factory=dict)
    misses: Counter[str] = field(default_factory=Counter)  # agent id → offers refused/missed
    _t: float = 0.0
    _seq: int = 0


@dataclass(frozen=True, slots=True)
class Offer:
    interaction_id: str
    agent_id: str
    channel: Channel
    queue: str
    offered_at: datetime
    expires_at: datetime
    attempt: int  # 1 for the first offer of this item
    enqueued_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"interaction_id": self.interaction_id, "agent_id": self.agent_id,
                "channel": str(self.channel), "queue": self.queue,
                "offered_at": self.offered_at.isoformat(),
                "expires_at": self.expires_at.isoformat(), "attempt": self.attempt}


@dataclass(frozen=True, slots=True)
class QueueStats:
    queue: str
    waiting: int  # not yet offered, or re-queued
    offered: int  # offered, not yet answered
    longest_wait_seconds: float  # over waiting and offered items
    answered: int  # in the window
    abandoned: int  # in the window
    service_level: float | None  # % answered within target, None before any answer/abandon
    window_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"queue": self.queue, "waiting": self.waiting, "offered": self.offered,
                "longest_wait_seconds": self.longest_wait_seconds, "answered": self.answered,
                "abandoned": self.abandoned, "service_level": self.service_level,
                "window_seconds": self.window_seconds}


def _ts(d: datetime) -> float:
    return d.timestamp()


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


@dataclass(slots=True)
class _Agent:
    agent_id: str
    skills: frozenset[str]
    rules: CapacityRules
    ready: bool
    load: Counter[Channel]  # carried, as the hub last said (plus accepts since)
    reserved: Counter[Channel]  # outstanding offers
    idle_since: float
    last_offer: float = float("-inf")
    last_offer_seq: int = 0  # orders offers made at the same instant (round robin)
    version: int = 0
    lanes: list[_Lane] = field(default_factory=list)

    def free(self, channel: Channel) -> int:
        return self.rules.free(self.load, channel, self.reserved) if self.ready else 0

    def key(self, selection: Selection) -> tuple[float, ...]:
        idle = max(self.idle_since, self.last_offer)
        if selection is Selection.LEAST_LOADED:
            return (float(sum(self.load.values()) + sum(self.reserved.values())), idle,
                    self.last_offer_seq)
        return (idle, self.last_offer_seq)


class _Lane:
    """Items of one queue, channel and required skill set, and the agents who can take them."""

    __slots__ = ("queue", "channel", "skills", "items", "agents", "members", "waiting", "_k")

    def __init__(self, queue: QueueSpec, channel: Channel, skills: frozenset[str],
                 ageing: float) -> None:
        self.queue = queue
        self.channel = channel
        self.skills = skills
        # (-(priority - k*t), t, seq, iid): order fixed in time since ageing is linear.
        self.items: list[tuple[float, float, int, str]] = []
        self.agents: list[tuple[tuple[float, ...], str, int]] = []
        self.members: set[str] = set()
        self.waiting = 0
        self._k = ageing / queue.sl_seconds

    def push_item(self, item: WaitingItem) -> None:
        heapq.heappush(self.items, (-(item.priority - self._k * item._t), item._t, item._seq,
                                    item.interaction_id))
        self.waiting += 1

    def effective(self, priority: int, t: float, now: float) -> float:
        return priority + self._k * (now - t)

    def push_agent(self, a: _Agent) -> None:
        heapq.heappush(self.agents, (a.key(self.queue.selection), a.agent_id, a.version))


class Router:
    """Queues, waiting items, agents' routing view and outstanding offers (see module doc)."""

    def __init__(self, queues: Iterable[QueueSpec], *, ageing: float = 1.0,
                 reoffer_delay_seconds: float = 30.0, max_reoffer_delay_seconds: float = 600.0,
                 sl_window_seconds: float = DEFAULT_WINDOW_SECONDS,
                 abandon_threshold_seconds: float = DEFAULT_ABANDON_THRESHOLD) -> None:
        self.queues: dict[str, QueueSpec] = {}
        for q in queues:
            if q.name in self.queues:
                raise RoutingError(f"queue {q.name!r} is defined twice", code="duplicate-queue")
            if not q.channels:
                raise RoutingError(f"queue {q.name!r} accepts no channel", code="bad-queue")
            self.queues[q.name] = q
        self.ageing = ageing
        self.reoffer_delay = reoffer_delay_seconds
        self.max_reoffer_delay = max(reoffer_delay_seconds, max_reoffer_delay_seconds)
        self.sl_window = sl_window_seconds
        self.abandon_threshold = abandon_threshold_seconds
        self._agents: dict[str, _Agent] = {}
        self._lanes: dict[tuple[str, Channel, frozenset[str]], _Lane] = {}
        self._waiting: dict[str, WaitingItem] = {}
        self._offers: dict[str, tuple[Offer, WaitingItem]] = {}
        self._expiry: list[tuple[float, str, int]] = []  # (expires, iid, attempt)
        self._exclusion_ends: list[tuple[float, str]] = []
        self._seq = itertools.count()
        # Per queue: oldest items (lazy) and the recent answers/abandons for SL.
        self._oldest: dict[str, list[tuple[float, str]]] = {q: [] for q in self.queues}
        self._outcomes: dict[str, deque[tuple[float, bool, bool]]] = {
            q: deque() for q in self.queues}

    @classmethod
    def from_settings(cls, queues: Iterable[QueueSettings], **options: Any) -> Router:
        return cls([QueueSpec.from_settings(q) for q in queues], **options)

    # ------------------------------------------------------------------ agents

    def set_agent(self, agent_id: str, *, skills: Iterable[str] = (),
                  rules: CapacityRules = DEFAULT_RULES, ready: bool,
                  load: Mapping[Channel, int] | None = None,
                  idle_since: datetime) -> None:
        """Add or update an agent's routing view.

        ``ready``: the state lets them take work (ready or busy; not logged
        out, not ready or in wrap-up — see :func:`presence.state_allows_work`).
        ``load``: interactions they carry on every platform, *not* counting
        the router's outstanding offers (the router adds those itself).
        ``idle_since``: when they last became free of work, or ready.
        """
        sk = frozenset(skills)
        a = self._agents.get(agent_id)
        if a is None:
            a = _Agent(agent_id, sk, rules, ready, Counter(), Counter(), _ts(idle_since))
            self._agents[agent_id] = a
            self._join_lanes(a)
        else:
            if a.skills != sk:
                for lane in a.lanes:
                    lane.members.discard(agent_id)
                a.skills, a.lanes = sk, []
                self._join_lanes(a)
            a.rules, a.ready, a.idle_since = rules, ready, _ts(idle_since)
        a.load = Counter({c: n for c, n in (load or {}).items() if n > 0})
        self._refresh(a)

    def remove_agent(self, agent_id: str, now: datetime) -> list[Offer]:
        """Forget an agent (logged out, gone): their offers are withdrawn and re-queued."""
        a = self._agents.pop(agent_id, None)
        if a is None:
            return []
        for lane in a.lanes:
            lane.members.discard(agent_id)
        withdrawn = [o for o, _ in self._offers.values() if o.agent_id == agent_id]
        for o in withdrawn:
            _, item = self._offers.pop(o.interaction_id)
            self._requeue(item)
        return withdrawn

    def _join_lanes(self, a: _Agent) -> None:
        for lane in self._lanes.values():
            if lane.skills <= a.skills:
                lane.members.add(a.agent_id)
                a.lanes.append(lane)

    def _refresh(self, a: _Agent) -> None:
        """The agent changed: lanes see them (again) wherever they have room."""
        a.version += 1
        if not a.ready:
            return
        free = {c: a.free(c) for c in {lane.channel for lane in a.lanes}}
        for lane in a.lanes:
            if free[lane.channel] > 0:
                lane.push_agent(a)
                if len(lane.agents) > 4 * len(lane.members) + 64:
                    self._compact(lane)

    def _compact(self, lane: _Lane) -> None:
        """Drop stale agent entries (each change pushes a new one; old ones linger)."""
        lane.agents = [e for e in lane.agents if self._valid(lane, e) is not None]
        heapq.heapify(lane.agents)

    # ------------------------------------------------------------------ items

    def enqueue(self, interaction_id: str, channel: Channel, queue: str, now: datetime, *,
                priority: int | None = None, skills: Iterable[str] = (),
                enqueued_at: datetime | None = None) -> WaitingItem:
        """Queue an interaction; ``enqueued_at`` keeps an earlier time (moved from elsewhere)."""
        q = self.queues.get(queue)
        if q is None:
            raise RoutingError(f"interaction {interaction_id}: no queue named {queue!r} "
                               f"(configured: {', '.join(sorted(self.queues)) or 'none'})",
                               code="unknown-queue")
        if channel not in q.channels:
            raise RoutingError(f"interaction {interaction_id}: queue {queue!r} does not take "
                               f"{channel} (it takes {', '.join(sorted(q.channels))})",
                               code="channel-not-accepted")
        if interaction_id in self._waiting or interaction_id in self._offers:
            raise RoutingError(f"interaction {interaction_id} is already queued",
                               code="already-queued")
        at = enqueued_at or now
        item = WaitingItem(interaction_id, channel, queue,
                           q.priority if priority is None else priority,
                           q.skills | frozenset(skills), at, _t=_ts(at))
        heapq.heappush(self._oldest[queue], (item._t, interaction_id))
        self._requeue(item)
        return item

    def _lane(self, q: QueueSpec, channel: Channel, skills: frozenset[str]) -> _Lane:
        key = (q.name, channel, skills)
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane(q, channel, skills, self.ageing)
            for a in self._agents.values():  # once per new lane
                if skills <= a.skills:
                    lane.members.add(a.agent_id)
                    a.lanes.append(lane)
                    if a.free(channel) > 0:
                        lane.push_agent(a)
        return lane

    def _requeue(self, item: WaitingItem) -> None:
        item._seq = next(self._seq)
        self._waiting[item.interaction_id] = item
        self._lane(self.queues[item.queue], item.channel, item.skills).push_item(item)

    def remove(self, interaction_id: str, now: datetime) -> Offer | None:
        """The customer left (abandon): forget the item; returns the offer withdrawn, if any."""
        offered = self._offers.pop(interaction_id, None)
        if offered is not None:
            offer, item = offered
            self._release(offer)
        else:
            waiting = self._waiting.pop(interaction_id, None)  # its lane entry goes stale
            if waiting is None:
                raise RoutingError(f"interaction {interaction_id} is not queued",
                                   code="not-queued")
            item = waiting
            self._lane_of(item).waiting -= 1
            offer = None
        self._record(item, now, answered=False)
        return offer

    def _lane_of(self, item: WaitingItem) -> _Lane:
        return self._lanes[(item.queue, item.channel, item.skills)]

    def __contains__(self, interaction_id: str) -> bool:
        return interaction_id in self._waiting or interaction_id in self._offers

    def waiting(self) -> list[WaitingItem]:
        """Items not being offered, oldest first (for display; O(n log n))."""
        return sorted(self._waiting.values(), key=lambda i: (i._t, i._seq))

    def offers(self) -> list[Offer]:
        return [o for o, _ in self._offers.values()]

    # ----------------------------------------------------------------- routing

    def route(self, now: datetime) -> list[Offer]:
        """Offer waiting items to agents with room for them, best item first."""
        t = _ts(now)
        made: list[Offer] = []
        deferred: list[tuple[_Lane, tuple[float, float, int, str]]] = []
        active = [lane for lane in self._lanes.values() if lane.waiting > 0]
        while True:
            best: tuple[float, float, int] | None = None
            best_lane: _Lane | None = None
            for lane in active:
                head = self._head_item(lane)
                if head is None or self._top_agent(lane) is None:
                    continue
                item = self._waiting[head[3]]
                rank = (-lane.effective(item.priority, item._t, t), item._t, item._seq)
                if best is None or rank < best:
                    best, best_lane = rank, lane
            if best_lane is None:
                break
            entry = heapq.heappop(best_lane.items)
            item = self._waiting[entry[3]]
            agent = self._pick(best_lane, item, t)
            if agent is None:  # everyone who could take it just declined it: skip for now
                deferred.append((best_lane, entry))
                continue
            best_lane.waiting -= 1
            offer = self._offer(item, agent, best_lane.queue, now, t)
            if offer.channel in RINGING:
                # The phone rings: what this pass offered the agent that a call blocks
                # goes back to the queue (someone else may get it in this very pass).
                blocked = agent.rules.blocks.get(offer.channel, frozenset())
                for o in [o for o in made if o.agent_id == agent.agent_id
                          and o.channel in blocked]:
                    made.remove(o)
                    self.withdraw(o.interaction_id, o.agent_id)
            made.append(offer)
        for lane, entry in deferred:
            heapq.heappush(lane.items, entry)
        return made

    def _head_item(self, lane: _Lane) -> tuple[float, float, int, str] | None:
        while lane.items:
            head = lane.items[0]
            it = self._waiting.get(head[3])
            if it is not None and it._seq == head[2]:
                return head
            heapq.heappop(lane.items)  # offered or removed since
        return None

    def _valid(self, lane: _Lane, entry: tuple[tuple[float, ...], str, int]) -> _Agent | None:
        a = self._agents.get(entry[1])
        if a is None or a.version != entry[2] or entry[1] not in lane.members:
            return None
        return a

    def _top_agent(self, lane: _Lane) -> _Agent | None:
        while lane.agents:
            a = self._valid(lane, lane.agents[0])
            if a is not None:
                return a
            heapq.heappop(lane.agents)
        return None

    def _pick(self, lane: _Lane, item: WaitingItem, t: float) -> _Agent | None:
        """The lane's best agent not recently refused by this item (entries left in place)."""
        skipped = []
        found = None
        while lane.agents:
            a = self._valid(lane, lane.agents[0])
            if a is None:
                heapq.heappop(lane.agents)
            elif item.excluded.get(a.agent_id, float("-inf")) > t:
                skipped.append(heapq.heappop(lane.agents))
            else:
                found = a
                break
        for e in skipped:
            heapq.heappush(lane.agents, e)
        return found

    def _offer(self, item: WaitingItem, a: _Agent, q: QueueSpec, now: datetime,
               t: float) -> Offer:
        del self._waiting[item.interaction_id]
        item.attempts += 1
        expires = t + q.offer_timeout_seconds
        offer = Offer(item.interaction_id, a.agent_id, item.channel, item.queue, now,
                      now + timedelta(seconds=q.offer_timeout_seconds), item.attempts,
                      item.enqueued_at)
        self._offers[item.interaction_id] = (offer, item)
        heapq.heappush(self._expiry, (expires, item.interaction_id, item.attempts))
        a.reserved[item.channel] += 1
        a.last_offer, a.last_offer_seq = t, next(self._seq)
        self._refresh(a)
        return offer

    def _release(self, offer: Offer) -> _Agent | None:
        a = self._agents.get(offer.agent_id)
        if a is not None:
            a.reserved[offer.channel] -= 1
            if a.reserved[offer.channel] <= 0:
                del a.reserved[offer.channel]
            self._refresh(a)
        return a

    def _held(self, interaction_id: str, agent_id: str) -> tuple[Offer, WaitingItem]:
        held = self._offers.get(interaction_id)
        if held is None or held[0].agent_id != agent_id:
            raise RoutingError(f"interaction {interaction_id} is not offered to {agent_id} "
                               f"(taken, expired or withdrawn)", code="offer-not-found")
        return held

    def accept(self, interaction_id: str, agent_id: str, now: datetime) -> WaitingItem:
        """The agent took it: the item leaves the queue; it counts in their load from now on."""
        offer, item = self._held(interaction_id, agent_id)
        del self._offers[interaction_id]
        a = self._agents.get(agent_id)
        if a is not None:
            # Until the hub's next set_agent says so, count it as carried.
            a.load[offer.channel] += 1
        self._release(offer)
        self._record(item, now, answered=True)
        return item

    def decline(self, interaction_id: str, agent_id: str, now: datetime) -> WaitingItem:
        """The agent refused it: back in queue with its original time, not to them first."""
        offer, item = self._held(interaction_id, agent_id)
        del self._offers[interaction_id]
        self._release(offer)
        self._exclude(item, agent_id, _ts(now))
        self._requeue(item)
        return item

    def expire(self, now: datetime) -> list[Offer]:
        """Offers not answered in time: withdrawn, items re-queued (not to the same agent first)."""
        t = _ts(now)
        out = []
        while self._expiry and self._expiry[0][0] <= t:
            _, iid, attempt = heapq.heappop(self._expiry)
            held = self._offers.get(iid)
            if held is None or held[0].attempt != attempt:
                continue
            offer, item = held
            del self._offers[iid]
            self._release(offer)
            self._exclude(item, offer.agent_id, t)
            self._requeue(item)
            out.append(offer)
        return out

    def withdraw(self, interaction_id: str, agent_id: str) -> WaitingItem:
        """Take an offer back through no fault of the agent's (new work blocks its
        channel): back in queue with its original time, the agent not held against it."""
        offer, item = self._held(interaction_id, agent_id)
        del self._offers[interaction_id]
        self._release(offer)
        self._requeue(item)
        return item

    def _exclude(self, item: WaitingItem, agent_id: str, t: float) -> None:
        item.misses[agent_id] += 1
        delay = self.reoffer_delay * 2 ** min(item.misses[agent_id] - 1, 16)
        until = t + min(delay, self.max_reoffer_delay)
        item.excluded = {k: v for k, v in item.excluded.items() if v > t}
        item.excluded[agent_id] = until
        heapq.heappush(self._exclusion_ends, (until, item.interaction_id))

    def next_deadline(self, now: datetime) -> datetime | None:
        """The next time :meth:`expire` or :meth:`route` may have something new to do."""
        t = _ts(now)
        while self._expiry:
            exp, iid, attempt = self._expiry[0]
            held = self._offers.get(iid)
            if held is not None and held[0].attempt == attempt:
                break
            heapq.heappop(self._expiry)
        while self._exclusion_ends and (self._exclusion_ends[0][0] <= t
                                        or self._exclusion_ends[0][1] not in self._waiting):
            heapq.heappop(self._exclusion_ends)
        times = [h[0][0] for h in (self._expiry, self._exclusion_ends) if h]
        return _dt(min(times)) if times else None

    # ------------------------------------------------------------------- stats

    def _record(self, item: WaitingItem, now: datetime, *, answered: bool) -> None:
        t = _ts(now)
        # Answered: within the target? Abandoned: too soon to count (a wrong number)?
        limit = self.queues[item.queue].sl_seconds if answered else self.abandon_threshold
        self._outcomes[item.queue].append((t, answered, t - item._t <= limit))

    def stats(self, now: datetime) -> list[QueueStats]:
        """Per queue, in name order: waiting, offered, longest wait, service level over the window.

        Service level = answered within target / (answered + abandoned after the
        abandon threshold), over the window: the supervisor page's own rule and
        defaults (30 min, 5 s; :mod:`.supervision`).
        """
        t = _ts(now)
        waiting: Counter[str] = Counter(i.queue for i in self._waiting.values())
        offered: Counter[str] = Counter(o.queue for o, _ in self._offers.values())
        out = []
        for name in sorted(self.queues):
            oldest = self._oldest[name]
            while oldest and not self._is_current(oldest[0]):
                heapq.heappop(oldest)
            outcomes = self._outcomes[name]
            while outcomes and outcomes[0][0] < t - self.sl_window:
                outcomes.popleft()
            answered = sum(1 for _, a, _w in outcomes if a)
            good = sum(1 for _, a, w in outcomes if a and w)
            late_abandons = sum(1 for _, a, w in outcomes if not a and not w)
            denom = answered + late_abandons
            out.append(QueueStats(
                name, waiting[name], offered[name],
                max(0.0, t - oldest[0][0]) if oldest else 0.0,
                answered, sum(1 for _, a, _w in outcomes if not a),
                round(100.0 * good / denom, 1) if denom else None, self.sl_window))
        return out

    def _is_current(self, entry: tuple[float, str]) -> bool:
        iid = entry[1]
        item = self._waiting.get(iid)
        if item is None and iid in self._offers:
            item = self._offers[iid][1]
        return item is not None and item._t == entry[0]
