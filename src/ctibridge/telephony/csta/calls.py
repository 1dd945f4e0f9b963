"""CSTA's call model (callID + deviceID connections) -> our calls, one ref per call.

A call is known by its first callID (the ref). Transfers and conferences may
give the surviving connections a new callID (OpenScape does: see the
TransferedEvent capture); the events' ``primaryOldCall`` / ``secondaryOldCall``
and connection lists (``oldConnection`` -> ``newConnection``) tie the new ids
to the existing ref, so the CRM sees one call from first ring to last hang-up.

Each monitored device gets its own copy of an event; the tracker keeps every
connection's state and emits a normalized event only on a change, so a call
between two monitored agents is reported once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from ...clock import Clock
from ...model.events import (
    CallAnswered,
    CallConferenced,
    CallEnded,
    CallFailed,
    CallHeld,
    CallInitiated,
    CallOffered,
    CallQueued,
    CallRetrieved,
    CallSnapshot,
    CallTransferred,
    PlatformEvent,
)
from ...model.party import Direction, Party
from .message import ConnectionId, CstaMessage

# ECMA-269 LocalConnectionState -> our ConnectionState names (for resync).
STATE_NAMES = {"initiated": "initiated", "alerting": "alerting", "connected": "connected",
               "hold": "held", "queued": "queued", "fail": "failed"}
# ECMA-269 EventCause -> our cause words.
CAUSES = {"normalClearing": "normal", "busy": "busy", "callCancelled": "cancelled",
          "destNotObtainable": "invalid-number", "noAvailableAgents": "no-agent",
          "callNotAnswered": "no-answer", "reorderTone": "invalid-number",
          "networkCongestion": "congestion", "doNotDisturb": "busy",
          "redirected": "diverted", "trunksBusy": "congestion"}


@dataclass
class Tracked:
    ref: str
    call_id: str  # the switch's current callID for this call
    conns: dict[str, str] = field(default_factory=dict)  # device -> CSTA local state
    conn_ids: dict[str, str] = field(default_factory=dict)  # device -> deviceID in its connection
    direction: Direction | None = None
    customer: Party = field(default_factory=Party)
    queue: str | None = None
    attached: dict[str, str] = field(default_factory=dict)
    consult_of: str | None = None
    announced: bool = False
    answered: set[str] = field(default_factory=set)


class CallTracker:
    def __init__(self, mine: Callable[[str], bool], extension: Callable[[str | None], str | None],
                 clock: Clock, attached: Callable[[CstaMessage], dict[str, str]]) -> None:
        self.mine = mine  # is this device one of our monitored agents?
        self.extension = extension  # a switch device id -> extension / number
        self.clock = clock
        self.attached_of = attached
        self.by_call_id: dict[str, Tracked] = {}
        self.by_ref: dict[str, Tracked] = {}
        self._consults: dict[str, str] = {}  # callID of a consultation -> ref it consults from
        # A call we asked for (MakeCall, ConsultationCall), by device: its events may come
        # before the switch's answer, so what we know of it waits here for them.
        self._expected: dict[str, tuple[dict[str, str], str | None]] = {}
        self._merged: OrderedDict[tuple[str | None, str | None, str], None] = OrderedDict()

    # ------------------------------------------------------------ lookup

    def ensure(self, call_id: str) -> Tracked:
        call = self.by_call_id.get(call_id)
        if call is None:
            call = Tracked(ref=call_id, call_id=call_id)
            self.by_call_id[call_id] = call
            self.by_ref[call.ref] = call
            if call_id in self._consults:
                call.consult_of = self._consults.pop(call_id)
        return call

    def ref_for(self, call_id: str) -> str:
        return self.ensure(call_id).ref

    def expect(self, device: str, attached: dict[str, str] | None,
               consult_of: str | None = None) -> None:
        self._expected[device] = (dict(attached or {}), consult_of)

    def unexpect(self, device: str) -> None:
        self._expected.pop(device, None)

    def _claim(self, call: Tracked, device: str) -> None:
        found = self._expected.pop(device, None)
        if found is not None:
            call.attached.update(found[0])
            call.consult_of = call.consult_of or found[1]

    def mark_consult(self, call_id: str, of_ref: str) -> None:
        call = self.by_call_id.get(call_id)
        if call is not None:
            call.consult_of = call.consult_of or of_ref
        else:
            self._consults[call_id] = of_ref

    def connection(self, ref: str, device: str, device_id: str) -> ConnectionId | None:
        call = self.by_ref.get(ref)
        if call is None:
            return None
        return ConnectionId(call.call_id, call.conn_ids.get(device, device_id))

    def get(self, ref: str) -> Tracked | None:
        return self.by_ref.get(ref)

    def _drop(self, call: Tracked) -> None:
        self.by_ref.pop(call.ref, None)
        for cid in [k for k, v in self.by_call_id.items() if v is call]:
            del self.by_call_id[cid]

    # ------------------------------------------------------------ events

    def handle(self, msg: CstaMessage) -> list[PlatformEvent]:
        fn = getattr(self, "_on_" + msg.name, None)
        return fn(msg) if fn is not None else []

    def _subject(self, msg: CstaMessage, conn_key: str, *device_keys: str
                 ) -> tuple[Tracked, str] | None:
        conn = msg.connection(conn_key)
        if conn is None or not conn.call_id:
            return None
        dev = None
        for key in device_keys:
            dev = self.extension(msg.device_id(key))
            if dev:
                break
        dev = dev or self.extension(conn.device_id)
        if not dev:
            return None
        call = self.ensure(conn.call_id)
        if conn.device_id:
            call.conn_ids[dev] = conn.device_id
        return call, dev

    def _device_in(self, call: Tracked, device_id: str | None) -> str | None:
        """Which device a connection's deviceID names in ``call``: the one it was learnt
        for (an OmniPCX names a station in a connection by a dynamic identifier, not its
        number), else the deviceID read as an extension."""
        known = next((d for d, i in call.conn_ids.items() if i == device_id), None)
        return known or self.extension(device_id)

    def _party(self, msg: CstaMessage, key: str) -> Party:
        return Party(number=self.extension(msg.device_id(key)))

    def _on_ServiceInitiatedEvent(self, msg: CstaMessage) -> list[PlatformEvent]:
        found = self._subject(msg, "initiatedConnection", "initiatingDevice")
        if found is not None:
            call, dev = found
            if dev not in call.conns:
                self._claim(call, dev)
            call.conns.setdefault(dev, "initiated")
        return []

    def _on_OriginatedEvent(self, msg: CstaMessage) -> list[PlatformEvent]:
        found = self._subject(msg, "originatedConnection", "callingDevice")
        if found is None:
            return []
        call, dev = found
        call.conns[dev] = "connected"
        callee = self._party(msg, "calledDevice")
        return self._initiated(call, dev, callee, msg)

    def _initiated(self, call: Tracked, dev: str, callee: Party, msg: CstaMessage
                   ) -> list[PlatformEvent]:
        if call.announced or not self.mine(dev):
            return []
        self._claim(call, dev)
        call.announced = True
        internal = callee.number is not None and self.mine(callee.number)
        call.direction = Direction.INTERNAL if internal else Direction.OUTBOUND
        if not internal:
            call.customer = callee
        call.attached.update(self.attached_of(msg))
        return [CallInitiated(ref=call.ref, at=self.clock.now(), device=dev, callee=callee,
                              direction=call.direction, consult_of=call.consult_of,
                              attached=dict(call.attached))]

    def _on_DeliveredEvent(self, msg: CstaMessage) -> list[PlatformEvent]:
        found = self._subject(msg, "connection", "alertingDevice")
        if found is None:
            return []
        call, dev = found
        if call.conns.get(dev) == "alerting":
            return []  # the same event from another monitor
        call.conns[dev] = "alerting"
        caller = self._party(msg, "callingDevice")
        if caller.number and caller.number != dev:
            call.conns.setdefault(caller.number, "connected")  # the caller hears ringback
        if not self.mine(dev):
            # The far end rings for an agent's outbound call (no Originated seen yet).
            if caller.number and self.mine(caller.number):
                call.conns.setdefault(caller.number, "connected")
                return self._initiated(call, caller.number, Party(number=dev), msg)
            return []
        if not call.announced:
            call.announced = True
            internal = caller.number is not None and self.mine(caller.number)
            call.direction = Direction.INTERNAL if internal else Direction.INBOUND
            if not internal:
                call.customer = caller
        call.attached.update(self.attached_of(msg))
        return [CallOffered(ref=call.ref, at=self.clock.now(), device=dev, caller=caller,
                            queue=call.queue, direction=call.direction or Direction.INBOUND,
                            attached=dict(call.attached), consult_of=call.consult_of)]

    def _on_QueuedEvent(self, msg: CstaMessage) -> list[PlatformEvent]:
        conn = msg.connection("queuedConnection")
        if conn is None or not conn.call_id:
            return []
        call = self.ensure(conn.call_id)
        queue = self.extension(msg.device_id("queue")) or self.extension(conn.device_id) or "?"
        if call.queue == queue:
            return []
        call.queue = queue
        caller = self._party(msg, "callingDevice")
        call.direction = call.direction or Direction.INBOUND
        call.customer = caller
        call.attached.update(self.attached_of(msg))
        return [CallQueued(ref=call.ref, at=self.clock.now(), queue=queue, caller=caller,
                           direction=call.direction, attached=dict(call.attached))]

    def _on_EstablishedEvent(self, msg: CstaMessage) -> list[PlatformEvent]:
        found = self._subject(msg, "establishedConnection", "answeringDevice")
        if found is None:
            return []
        call, dev = found
        if call.conns.get(dev) == "connected" and dev in call.answered:
            return []
        call.conns[dev] = "connected"
        out: list[PlatformEvent] = []
        now = self.clock.now()
        # The answering agent, and the agent(s) who called: their call is now talking.
        for d, state in call.conns.items():
            if self.mine(d) and state == "connected" and d not in call.answered:
                call.answered.add(d)
                out.append(CallAnswered(ref=call.ref, at=now, device=d))
        call.answered.add(dev)
        return out

    def _on_HeldEvent(self, msg: CstaMessage) -> list[PlatformEvent]:
        found = self._subject(msg, "heldConnection", "holdingDevice")
        if found is None:
            return []
        call, dev = found
        if call.conns.get(dev) == "hold":
            return []
        call.conns[dev] = "hold"
        return [CallHeld(ref=call.ref, at=self.clock.now(), device=dev)] if self.mine(dev) else []

    def _on_RetrievedEvent(self, msg: CstaMessage) -> list[PlatformEvent]:
        found = self._subject(msg, "retrievedConnection", "retrievingDevice")
        if found is None:
            return []
        call, dev = found
        if call.conns.get(dev) == "connected":
            return []
        call.conns[dev] = "connected"
        return [CallRetrieved(ref=call.ref, at=self.clock.now(), device=dev)] \
            if self.mine(dev) else []

    def _on_ConnectionClearedEvent(self, msg: CstaMessage) -> list[PlatformEvent]:
        conn = msg.connection("droppedConnection")
        if conn is None or not conn.call_id or conn.call_id not in self.by_call_id:
            return []
        call = self.by_call_id[conn.call_id]
        dev = self._device_in(call, conn.device_id)
        if not dev or dev not in call.conns:
            return []
        del call.conns[dev]
        call.conn_ids.pop(dev, None)
        cause = CAUSES.get(msg.text("cause") or "", "normal")
        return self._left(call, dev, cause)

    def _left(self, call: Tracked, dev: str, cause: str) -> list[PlatformEvent]:
        now = self.clock.now()
        out: list[PlatformEvent] = []
        if self.mine(dev):
            out.append(CallEnded(ref=call.ref, at=now, device=dev, cause=cause))
        live = [d for d, s in call.conns.items() if s != "fail"]
        if not any(self.mine(d) for d in live) or len(live) < 2 and all(
                s != "initiated" for s in call.conns.values()):
            out.append(CallEnded(ref=call.ref, at=now, device=None, cause=cause))
            self._drop(call)
        return out

    def _on_CallClearedEvent(self, msg: CstaMessage) -> list[PlatformEvent]:
        """The whole call is gone at once (ECMA-269 CallCleared; some switches send it
        instead of a ConnectionCleared per party)."""
        conn = msg.connection("clearedCall")
        if conn is None or not conn.call_id or conn.call_id not in self.by_call_id:
            return []
        call = self.by_call_id[conn.call_id]
        now = self.clock.now()
        cause = CAUSES.get(msg.text("cause") or "", "normal")
        out: list[PlatformEvent] = [CallEnded(ref=call.ref, at=now, device=d, cause=cause)
                                    for d in call.conns if self.mine(d)]
        out.append(CallEnded(ref=call.ref, at=now, device=None, cause=cause))
        self._drop(call)
        return out

    def _on_FailedEvent(self, msg: CstaMessage) -> list[PlatformEvent]:
        found = self._subject(msg, "failedConnection", "failingDevice")
        if found is None:
            return []
        call, dev = found
        if call.conns.get(dev) == "fail":
            return []
        call.conns[dev] = "fail"
        cause = CAUSES.get(msg.text("cause") or "", "failed")
        return [CallFailed(ref=call.ref, at=self.clock.now(),
                           device=dev if self.mine(dev) else None, cause=cause)]

    def _on_DivertedEvent(self, msg: CstaMessage) -> list[PlatformEvent]:
        conn = msg.connection("connection")
        if conn is None or not conn.call_id or conn.call_id not in self.by_call_id:
            return []
        call = self.by_call_id[conn.call_id]
        dev = self.extension(msg.device_id("divertingDevice")) or self.extension(conn.device_id)
        if not dev or dev not in call.conns:
            return []
        del call.conns[dev]
        if self.mine(dev):
            return [CallEnded(ref=call.ref, at=self.clock.now(), device=dev, cause="diverted")]
        return []

    def _merge_key(self, msg: CstaMessage) -> tuple[str | None, str | None, str] | None:
        p, s = msg.connection("primaryOldCall"), msg.connection("secondaryOldCall")
        key = (p.call_id if p else None, s.call_id if s else None, msg.name)
        if key in self._merged:
            return None  # the same transfer reported to another monitor
        self._merged[key] = None
        while len(self._merged) > 4096:
            self._merged.popitem(last=False)
        return key

    def _merge(self, msg: CstaMessage, list_key: str, *, keep: str | None
               ) -> tuple[Tracked, Tracked | None, str] | None:
        """Fold the old calls into the surviving one; returns (call, consult call, leaver)."""
        if self._merge_key(msg) is None:
            return None
        p, s = msg.connection("primaryOldCall"), msg.connection("secondaryOldCall")
        c1 = self.by_call_id.get(p.call_id) if p and p.call_id else None
        c2 = self.by_call_id.get(s.call_id) if s and s.call_id else None
        leaver = self.extension(msg.device_id("transferringDevice")
                                or msg.device_id("conferencingDevice")
                                or (p.device_id if p else None)) or ""
        survivor = c1 or c2
        items = msg.connections(list_key)
        new_id = next((i.new_connection.call_id for i in items
                       if i.new_connection and i.new_connection.call_id), None)
        if survivor is None:
            if new_id is None:
                return None
            survivor = self.ensure(new_id)
        olds = {c1.call_id if c1 else None: c1, c2.call_id if c2 else None: c2}
        conns: dict[str, str] = {}
        conn_ids: dict[str, str] = {}
        for item in items:
            new = item.new_connection
            dev = self.extension(item.endpoint.id if item.endpoint else None) \
                or self.extension(new.device_id if new else None)
            if not dev or (dev == leaver and keep is None):
                continue
            old = item.old_connection
            source = olds.get(old.call_id) if old else None
            if source is None:
                # OpenScape lists only new connections (TransferedEvent capture): a party
                # of an old call keeps its state; anyone else is new and rings next.
                source = next((c for c in (c1, c2) if c is not None and dev in c.conns), None)
                if source is None:
                    continue
            state = source.conns.get(dev, "connected")
            conns[dev] = "connected" if dev == keep else state
            if new and new.device_id:
                conn_ids[dev] = new.device_id
        if c2 is not None and c2 is not survivor:
            survivor.attached = {**c2.attached, **survivor.attached}
            self._drop(c2)
        for old_call in (c1, c2):
            if old_call is not None:
                self.by_call_id.pop(old_call.call_id, None)
        if new_id is not None:
            survivor.call_id = new_id
        self.by_call_id[survivor.call_id] = survivor
        survivor.conns, survivor.conn_ids = conns, conn_ids
        survivor.answered &= set(conns)
        self.by_ref[survivor.ref] = survivor
        return survivor, (c2 if c2 is not survivor else None), leaver

    def _on_TransferredEvent(self, msg: CstaMessage) -> list[PlatformEvent]:
        merged = self._merge(msg, "transferredConnections", keep=None)
        if merged is None:
            return []
        call, consult, leaver = merged
        target = self.extension(msg.device_id("transferredToDevice")) or ""
        out: list[PlatformEvent] = [CallTransferred(
            ref=call.ref, at=self.clock.now(), from_device=leaver, to_device=target,
            consult_ref=consult.ref if consult else None)]
        if not any(self.mine(d) for d in call.conns) and not self.mine(target):
            out.append(CallEnded(ref=call.ref, at=self.clock.now(), cause="transferred"))
            self._drop(call)
        return out

    def _on_ConferencedEvent(self, msg: CstaMessage) -> list[PlatformEvent]:
        leader = self.extension(msg.device_id("conferencingDevice"))
        merged = self._merge(msg, "conferenceConnections", keep=leader)
        if merged is None:
            return []
        call, consult, _ = merged
        return [CallConferenced(ref=call.ref, at=self.clock.now(),
                                devices=tuple(call.conns),
                                consult_ref=consult.ref if consult else None)]

    # ------------------------------------------------------------ resync

    def rebuild(self, calls: dict[str, dict[str, str]]) -> tuple[CallSnapshot, ...]:
        """Replace what we know with the switch's snapshot: callID -> {device: state}.

        Calls we knew keep their ref; calls absent from the snapshot are
        forgotten (the core ends them: no ghost survives a link loss).
        """
        old = dict(self.by_call_id)
        self.by_call_id.clear()
        self.by_ref.clear()
        snaps: list[CallSnapshot] = []
        for call_id, conns in calls.items():
            live = {d: s for d, s in conns.items() if s in STATE_NAMES}
            if not any(self.mine(d) for d in live):
                continue
            call = old.get(call_id) or Tracked(ref=call_id, call_id=call_id)
            call.call_id = call_id
            call.conns = live
            call.answered = {d for d, s in live.items() if s in ("connected", "hold")}
            call.announced = True
            others = [d for d in live if not self.mine(d)]
            if call.direction is None:
                call.direction = Direction.INBOUND if others else Direction.INTERNAL
                call.customer = Party(number=others[0]) if others else Party()
            self.by_call_id[call_id] = call
            self.by_ref[call.ref] = call
            snaps.append(CallSnapshot(
                ref=call.ref, direction=call.direction, customer=call.customer,
                devices={d: STATE_NAMES[s] for d, s in live.items()},
                queue=call.queue, attached=dict(call.attached)))
        return tuple(snaps)
