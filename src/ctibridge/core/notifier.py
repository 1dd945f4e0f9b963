"""Fan-out of hub events to the sockets allowed to see them.

Each agent has a stream with its own monotonic ``seq`` and a bounded replay
buffer for ``resume``; supervisors share one stream. The buffers of all streams
together hold at most ``replay_total_chars``, the oldest frames going first
whoever they belong to: with thousands of bars, full per-agent buffers would
otherwise outweigh everything else a bar costs. A subscriber is a bounded
queue: a socket that cannot keep up is told to go away (and resume) instead of
slowing everyone else down. Only the hub publishes, through :meth:`publish`.

Presence (an agent's directory entry when their status changes) is not part of
any agent's stream: it goes only to the subscribers that watch it
(``directory.watch``), without a ``seq`` and without a replay buffer, so that
what a bar costs never grows with the number of agents unless it asked.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import structlog

from ..model.events import HubEvent

log = structlog.get_logger("ctibridge.notifier")

SUPERVISORS = "*supervisors*"


class SlowConsumer(Exception):
    """Raised in a subscriber that overflowed; its socket must be closed."""


@dataclass(eq=False)
class Subscriber:
    stream: str
    # (seq, frame); seq None for frames outside the stream (presence).
    queue: asyncio.Queue[tuple[int | None, str] | None]
    overflowed: bool = False
    # Characters of the frames waiting in ``queue`` (about their bytes), bounded by
    # ``max_chars``: a few huge frames overflow a queue as surely as many small ones.
    pending_chars: int = 0
    max_chars: int = 4 * 1024 * 1024

    def offer(self, seq: int | None, frame: str) -> None:
        if self.overflowed:
            return
        self.pending_chars += len(frame)
        try:
            if self.pending_chars > self.max_chars:
                raise asyncio.QueueFull
            self.queue.put_nowait((seq, frame))
        except asyncio.QueueFull:
            self.overflowed = True
            self.pending_chars = 0
            # Wake the sender so it notices and closes the socket.
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)

    # Set with ``overflowed`` when the stream was renumbered under this subscriber
    # (a cluster's new core numbered from below what it had): start again from a
    # snapshot, not a slow consumer.
    resync: bool = False

    def restart(self) -> None:
        self.resync = True
        self.overflowed = True
        self.pending_chars = 0
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)

    def taken(self, frame: str) -> None:
        """The sender took ``frame`` off the queue."""
        self.pending_chars = max(0, self.pending_chars - len(frame))


def encode_body(event: HubEvent) -> str:
    """Everything of an event frame after its ``seq``: ``"name":…,"data":…}``."""
    return json.dumps({"name": event.name, "data": event.data}, ensure_ascii=False,
                      separators=(",", ":"))[1:]


class ReplayBudget:
    """What the replay buffers of all streams may hold together, in characters.

    ``order`` lists every kept frame as (stream, seq) in the order it was kept, which is
    also each stream's own order: the oldest frame of all is the head of its stream's
    buffer, unless that stream already let it go (per-stream bounds, or dropped).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chars = 0
        self.frames = 0
        self.order: deque[tuple[Stream, int]] = deque()

    def kept(self, stream: Stream, seq: int, chars: int) -> None:
        self.order.append((stream, seq))
        self.chars += chars
        self.frames += 1
        while self.chars > self.limit and self.order:
            old, old_seq = self.order.popleft()
            if old.buffer and old.buffer[0][0] == old_seq:
                old.evict()
        if len(self.order) > 2 * self.frames + 1024:
            # Entries of frames their streams let go: dropped now and then, in one pass.
            self.order = deque((st, q) for st, q in self.order
                               if st.buffer and st.buffer[0][0] <= q)

    def released(self, chars: int, frames: int = 1) -> None:
        self.chars -= chars
        self.frames -= frames


@dataclass(eq=False)
class Stream:
    name: str
    replay: int
    # Characters the replay buffer may hold (None: bounded by ``replay`` only).
    replay_chars: int | None = None
    seq: int = 0
    buffer: deque[tuple[int, str]] = field(default_factory=deque)
    buffered_chars: int = 0
    subscribers: set[Subscriber] = field(default_factory=set)
    # Called with (stream, seq, frame) for every frame: the cluster's publisher.
    sink: Callable[[str, int, str], None] | None = None
    # Shared by every stream of a notifier: what their buffers hold together.
    budget: ReplayBudget | None = None

    def push(self, event: HubEvent, body: str | None = None) -> None:
        """``body``: the event encoded once by the notifier for every stream it goes to."""
        self.seq += 1
        if body is None:
            body = encode_body(event)
        frame = f'{{"type":"event","seq":{self.seq},{body}'
        if self.sink is not None:
            self.sink(self.name, self.seq, frame)
        self._keep(self.seq, frame)

    def push_frame(self, seq: int, frame: str) -> None:
        """A frame numbered elsewhere (another node's hub, through the cluster bus)."""
        if seq <= self.seq:
            return  # already had it (history and live delivery overlap)
        self.seq = seq
        self._keep(seq, frame)

    def _keep(self, seq: int, frame: str) -> None:
        self.buffer.append((seq, frame))
        self.buffered_chars += len(frame)
        while len(self.buffer) > self.replay or (
                self.replay_chars is not None and self.buffered_chars > self.replay_chars
                and len(self.buffer) > 1):
            self.evict()
        if self.budget is not None and self.buffer and self.buffer[-1][0] == seq:
            self.budget.kept(self, seq, len(frame))
        for sub in self.subscribers:
            sub.offer(seq, frame)

    def restart(self, seq: int) -> None:
        """Numbering goes on from ``seq`` (lower than ours): what we kept and sent was
        numbered by a deposed core; every reader starts again from a snapshot."""
        self.forget()
        self.seq = seq
        for sub in self.subscribers:
            sub.restart()

    def evict(self) -> None:
        """Let the oldest kept frame go (a resume from before it gets a snapshot)."""
        chars = len(self.buffer.popleft()[1])
        self.buffered_chars -= chars
        if self.budget is not None:
            self.budget.released(chars)

    def forget(self) -> None:
        """Let every kept frame go (nobody reads this stream here any more)."""
        if self.budget is not None:
            self.budget.released(self.buffered_chars, len(self.buffer))
        self.buffer.clear()
        self.buffered_chars = 0

    def since(self, seq: int) -> list[tuple[int, str]] | None:
        """Frames after ``seq``, or None when some are no longer buffered."""
        if seq >= self.seq:
            return []
        if seq < 0 or not self.buffer or self.buffer[0][0] > seq + 1:
            return None
        return [(s, frame) for s, frame in self.buffer if s > seq]


class Notifier:
    def __init__(self, *, replay: int = 500, queue_size: int = 1000,
                 queue_chars: int = 4 * 1024 * 1024, replay_chars: int | None = None,
                 replay_total_chars: int | None = None) -> None:
        self._streams: dict[str, Stream] = {}
        self.replay_budget = ReplayBudget(replay_total_chars) \
            if replay_total_chars is not None else None
        self._replay = replay
        self._replay_chars = replay_chars
        self._queue_size = queue_size
        self._queue_chars = queue_chars
        self.published = 0
        self._taps: list[Callable[[HubEvent], None]] = []
        # Presence watchers: of everyone, or of named agents.
        self._watch_all: set[Subscriber] = set()
        self._watch_agent: dict[str, set[Subscriber]] = {}
        self._watching: dict[Subscriber, frozenset[str] | None] = {}
        self.presence_sent = 0
        # The cluster's publisher, when this node's hub is the one that runs the core.
        self.sink: Callable[[str, int, str], None] | None = None
        self.presence_sink: Callable[[dict[str, Any]], None] | None = None

    def stream(self, name: str) -> Stream:
        s = self._streams.get(name)
        if s is None:
            s = self._streams[name] = Stream(
                name, self._replay, None if name == SUPERVISORS else self._replay_chars,
                sink=self.sink, budget=self.replay_budget)
        return s

    def publish(self, event: HubEvent) -> None:
        self.published += 1
        # Encoded once, whatever the audience (JSON encoding is the hub's main cost).
        body = encode_body(event)
        for agent_id in event.agents:
            self.stream(agent_id).push(event, body)
        if event.supervisors:
            self.stream(SUPERVISORS).push(event, body)
        for tap in self._taps:
            try:
                tap(event)
            except Exception:  # an observer's bug must not stop event delivery
                log.exception("notifier.tap_failed", hub_event=event.name)

    def tap(self, callback: Callable[[HubEvent], None]) -> Callable[[], None]:
        """Observe every published event in-process (statistics, audit); returns an untap.

        Taps run synchronously on the hub's hot path: keep them cheap, never block.
        """
        self._taps.append(callback)
        return lambda: self._taps.remove(callback)

    def subscribe(self, stream: str) -> Subscriber:
        sub = Subscriber(stream, asyncio.Queue(self._queue_size), max_chars=self._queue_chars)
        self.stream(stream).subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.stream(sub.stream).subscribers.discard(sub)
        self.unwatch(sub)

    # ------------------------------------------------------------ presence

    def watch(self, sub: Subscriber, agent_ids: frozenset[str] | None) -> None:
        """Send ``sub`` the presence of ``agent_ids`` (None: every agent) from now on;
        replaces what it watched before."""
        self.unwatch(sub)
        self._watching[sub] = agent_ids
        if agent_ids is None:
            self._watch_all.add(sub)
        else:
            for a in agent_ids:
                self._watch_agent.setdefault(a, set()).add(sub)

    def unwatch(self, sub: Subscriber) -> None:
        if sub not in self._watching:
            return
        agent_ids = self._watching.pop(sub)
        if agent_ids is None:
            self._watch_all.discard(sub)
            return
        for a in agent_ids:
            group = self._watch_agent.get(a)
            if group is not None:
                group.discard(sub)
                if not group:
                    del self._watch_agent[a]

    def presence(self, entry: dict[str, Any]) -> None:
        """An agent's directory entry changed: tell those who watch them, nobody else."""
        if self.presence_sink is not None:
            self.presence_sink(entry)
        named = self._watch_agent.get(entry["agent_id"], ())
        if not self._watch_all and not named:
            return
        frame = json.dumps({"type": "presence", "agent": entry}, ensure_ascii=False,
                           separators=(",", ":"))
        for sub in (*self._watch_all, *named):
            sub.offer(None, frame)
            self.presence_sent += 1

    def set_sink(self, sink: Callable[[str, int, str], None] | None,
                 presence: Callable[[dict[str, Any]], None] | None) -> None:
        """Send every frame (and presence) also to ``sink``: the cluster's publisher."""
        self.sink, self.presence_sink = sink, presence
        for s in self._streams.values():
            s.sink = sink

    def watchers(self) -> int:
        return len(self._watching)

    def drop(self, stream: str) -> None:
        """Forget a stream nobody reads here (a cluster node's relayed copy)."""
        s = self._streams.get(stream)
        if s is not None and not s.subscribers:
            s.forget()
            del self._streams[stream]

    def subscriber_count(self) -> int:
        return sum(len(s.subscribers) for s in self._streams.values())

    def streams(self) -> Iterable[Stream]:
        return self._streams.values()
