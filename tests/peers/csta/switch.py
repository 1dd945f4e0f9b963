"""A small CSTA switch: devices, calls, connections and agents, per ECMA-269.

Written from the standard (ECMA-269: for each call-control service its
"connection state transitions" and "monitoring events"; the agent-state
features; ECMA-323 for element names) and from the real OpenScape messages in
the shared fixtures, which win where they differ (e.g. ``ServiceInitiatedEvent``
carries cause ``makeCall``; a transfer gives the remaining connections a *new*
callID).

Not the connector's mirror: it knows nothing of ctibridge. It keeps the
switch's truth and produces, for each service, the positive or negative
acknowledgement and the events every monitor of an involved device gets.
Each event's ``localConnectionInfo`` is the state of the *monitored* device's
connection, as the standard says.

Test controls (what a caller or the far end does): :meth:`inbound_call`,
:meth:`remote_answer`, :meth:`remote_hangup`, :meth:`divert`, plus
``busy`` numbers that fail calls.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ctibridge.telephony.csta.message import (
    ConnectionId,
    ConnectionListItem,
    CstaError,
    CstaMessage,
    Device,
    DeviceStatus,
    Kind,
    Value,
)

# ECMA-269 LocalConnectionState values (ECMA-323 spelling).
NULL, INITIATED, ALERTING, CONNECTED, HOLD, QUEUED, FAIL = (
    "null", "initiated", "alerting", "connected", "hold", "queued", "fail")
AGENT_STATES = {"loggedOn", "loggedOff", "ready", "notReady", "workingAfterCall"}
# GetAgentState answers with ECMA-269 AgentState values.
_AGENT_REPORT = {"loggedOff": "agentNull", "loggedOn": "agentNotReady", "ready": "agentReady",
                 "notReady": "agentNotReady", "workingAfterCall": "agentWorkingAfterCall"}
_AGENT_EVENT = {"loggedOn": "AgentLoggedOnEvent", "loggedOff": "AgentLoggedOffEvent",
                "ready": "AgentReadyEvent", "notReady": "AgentNotReadyEvent",
                "workingAfterCall": "AgentWorkingAfterCallEvent"}


class Refused(Exception):
    """A negative acknowledgement (CSTAErrorCode)."""

    def __init__(self, category: str, value: str) -> None:
        super().__init__(f"{category}/{value}")
        self.error = CstaError(category, value)


@dataclass
class Call:
    call_id: str
    connections: dict[str, str] = field(default_factory=dict)  # device -> state
    calling: str = ""
    called: str = ""


@dataclass
class Monitor:
    cross_ref: str
    device: str
    session: object  # who gets the events


Sink = Callable[[object, CstaMessage], None]


class Switch:
    def __init__(self, stations: Mapping[str, str], *, call_id_format: str = "{:08X}",
                 device_id: Callable[[str], str] | None = None) -> None:
        """``stations``: extension -> agent id. ``device_id`` gives a station's CSTA id
        (Avaya: ``2001:CM1:10.0.0.1:0``); the default is the extension itself."""
        self.stations = dict(stations)
        self._device_id = device_id or (lambda ext: ext)
        self.by_id = {self._device_id(e): e for e in self.stations}
        self.agent_state: dict[str, str] = {e: "loggedOff" for e in self.stations}
        self.calls: dict[str, Call] = {}
        self.monitors: dict[str, Monitor] = {}
        self.busy: set[str] = set()
        self._ids = itertools.count(0x1000)
        self._xref = itertools.count(1_000_001)
        self._fmt = call_id_format
        self.sink: Sink = lambda session, msg: None
        self.requests: list[str] = []  # service names, in order (for tests of the peer)
        # Services this switch does not offer (answered requestIncompatibleWithObject).
        self.unsupported: set[str] = set()

    # ------------------------------------------------------------ helpers

    def dev(self, ext: str) -> str:
        """The CSTA device id of a station, or a network number as is."""
        return self._device_id(ext) if ext in self.stations else ext

    def ext(self, device_id: str | None) -> str:
        if device_id is None:
            raise Refused("operation", "invalidDeviceID")
        return self.by_id.get(device_id, device_id)

    def _new_call(self) -> Call:
        call = Call(self._fmt.format(next(self._ids)))
        self.calls[call.call_id] = call
        return call

    def _conn(self, c: ConnectionId | None, *states: str) -> tuple[Call, str]:
        if c is None or c.call_id is None or c.call_id not in self.calls:
            raise Refused("operation", "invalidConnectionID")
        call = self.calls[c.call_id]
        ext = self.ext(c.device_id)
        if ext not in call.connections:
            raise Refused("operation", "invalidConnectionID")
        if states and call.connections[ext] not in states:
            wanted = {ALERTING: "noCallToAnswer", HOLD: "noHeldCall"}
            raise Refused("stateIncompatibility", wanted.get(states[0], "noActiveCall"))
        return call, ext

    def cid(self, call: Call, ext: str) -> ConnectionId:
        return ConnectionId(call.call_id, self.dev(ext))

    def _d(self, ext: str) -> Device:
        return Device.of(self.dev(ext))

    def _emit(self, name: str, call: Call | None, args: dict[str, Value],
              involved: set[str], *, cause: str | None = None) -> None:
        """Send ``name`` to every monitor of an involved device, with its own local state."""
        for mon in list(self.monitors.values()):
            if mon.device not in involved:
                continue
            a: dict[str, Value] = dict(args)
            if call is not None:
                a["localConnectionInfo"] = call.connections.get(mon.device, NULL)
            if cause is not None:
                a["cause"] = cause
            self.sink(mon.session, CstaMessage(kind=Kind.EVENT, name=name,
                                               cross_ref=mon.cross_ref, args=a))

    def _everyone(self, call: Call, *extra: str) -> set[str]:
        return set(call.connections) | set(extra)

    # ----------------------------------------------------------- dispatch

    def invoke(self, session: object, msg: CstaMessage) -> CstaMessage:
        """Carry out one request; returns its result or CSTAErrorCode (events go to sink)."""
        self.requests.append(msg.name)
        handler = getattr(self, "_svc_" + msg.name, None)
        if handler is None or msg.name in self.unsupported:
            return CstaMessage(kind=Kind.ERROR, name=msg.name,
                               error=CstaError("operation", "requestIncompatibleWithObject"))
        try:
            args = handler(session, msg)
        except Refused as exc:
            return CstaMessage(kind=Kind.ERROR, name=msg.name, error=exc.error)
        return CstaMessage(kind=Kind.RESULT, name=msg.name, args=args or {})

    def forget(self, session: object) -> None:
        """The session's link is gone: its monitors go with it."""
        for x, mon in list(self.monitors.items()):
            if mon.session is session:
                del self.monitors[x]

    # ------------------------------------------------------- monitoring

    def _svc_MonitorStart(self, session: object, msg: CstaMessage) -> dict[str, Value]:
        ext = self.ext(msg.device_id("monitorObject"))
        if ext not in self.stations:
            raise Refused("operation", "invalidDeviceID")
        xref = str(next(self._xref))
        self.monitors[xref] = Monitor(xref, ext, session)
        return {"monitorCrossRefID": xref}

    def _svc_MonitorStop(self, session: object, msg: CstaMessage) -> dict[str, Value]:
        xref = msg.cross_ref or msg.text("monitorCrossRefID")
        if xref not in self.monitors:
            raise Refused("operation", "invalidCrossRefID")
        del self.monitors[xref]
        return {}

    def _svc_SystemStatus(self, session: object, msg: CstaMessage) -> dict[str, Value]:
        return {}

    def _svc_SystemRegister(self, session: object, msg: CstaMessage) -> dict[str, Value]:
        return {"sysStatRegisterID": "1"}

    def _svc_SnapshotDevice(self, session: object, msg: CstaMessage) -> dict[str, Value]:
        ext = self.ext(msg.device_id("snapshotObject"))
        if ext not in self.stations:
            raise Refused("operation", "invalidDeviceID")
        items: list[Value] = [
            {"connectionIdentifier": self.cid(c, ext),
             "localCallState": {"compoundCallState": {"localConnectionState": c.connections[ext]}}}
            for c in self.calls.values() if ext in c.connections]
        data: Value = ("" if not items else
                       {"snapshotDeviceResponseInfo": items[0] if len(items) == 1
                        else tuple(items)})
        return {"crossRefIDorSnapshotData": {"snapshotData": data}}

    def _svc_SnapshotCall(self, session: object, msg: CstaMessage) -> dict[str, Value]:
        obj = msg.connection("snapshotObject")
        if obj is None or obj.call_id not in self.calls:
            raise Refused("operation", "invalidCallID")
        call = self.calls[obj.call_id]
        items: list[Value] = [
            {"deviceOnCall": self._d(e), "callIdentifier": self.cid(call, e),
             "localConnectionState": s}
            for e, s in call.connections.items()]
        data: Value = ("" if not items else
                       {"snapshotCallResponseInfo": items[0] if len(items) == 1
                        else tuple(items)})
        return {"crossRefIDorSnapshotData": {"snapshotData": data}}

    # ----------------------------------------------------- call control

    def _svc_MakeCall(self, session: object, msg: CstaMessage) -> dict[str, Value]:
        a = self.ext(msg.device_id("callingDevice"))
        b = self.ext(msg.device_id("calledDirectoryNumber"))
        if a not in self.stations:
            raise Refused("operation", "invalidCallingDevice")
        if not b or not (b in self.stations or b.lstrip("+").isdigit()):
            raise Refused("operation", "invalidCalledDevice")
        call = self._new_call()
        self._originate(call, a, b, "makeCall")
        return {"callingDevice": self.cid(call, a)}

    def _originate(self, call: Call, a: str, b: str, cause: str) -> None:
        call.calling, call.called = a, b
        call.connections[a] = INITIATED
        self._emit("ServiceInitiatedEvent", call, {
            "initiatedConnection": self.cid(call, a), "initiatingDevice": self._d(a)},
            {a}, cause=cause)
        call.connections[a] = CONNECTED
        self._emit("OriginatedEvent", call, {
            "originatedConnection": self.cid(call, a), "callingDevice": self._d(a),
            "calledDevice": self._d(b)}, {a}, cause="newCall" if cause == "makeCall" else cause)
        self._deliver(call, b, "newCall" if cause == "makeCall" else cause)

    def _deliver(self, call: Call, b: str, cause: str) -> None:
        if b in self.busy:
            call.connections[b] = FAIL
            self._emit("FailedEvent", call, {
                "failedConnection": self.cid(call, b), "failingDevice": self._d(b),
                "callingDevice": self._d(call.calling), "calledDevice": self._d(b)},
                self._everyone(call), cause="busy")
            return
        call.connections[b] = ALERTING
        self._emit("DeliveredEvent", call, {
            "connection": self.cid(call, b), "alertingDevice": self._d(b),
            "callingDevice": self._d(call.calling), "calledDevice": self._d(b),
            "lastRedirectionDevice": Device(None, DeviceStatus.NOT_REQUIRED)},
            self._everyone(call), cause=cause)

    def _svc_AnswerCall(self, session: object, msg: CstaMessage) -> dict[str, Value]:
        call, b = self._conn(msg.connection("callToBeAnswered"), ALERTING)
        self._establish(call, b)
        return {}

    def _establish(self, call: Call, b: str) -> None:
        call.connections[b] = CONNECTED
        self._emit("EstablishedEvent", call, {
            "establishedConnection": self.cid(call, b), "answeringDevice": self._d(b),
            "callingDevice": self._d(call.calling), "calledDevice": self._d(call.called)},
            self._everyone(call), cause="newCall")

    def _svc_ClearConnection(self, session: object, msg: CstaMessage) -> dict[str, Value]:
        call, x = self._conn(msg.connection("connectionToBeCleared"))
        self._clear(call, x, "normalClearing")
        return {}

    def _clear(self, call: Call, x: str, cause: str) -> None:
        involved = self._everyone(call)
        del call.connections[x]
        self._emit("ConnectionClearedEvent", call, {
            "droppedConnection": self.cid(call, x), "releasingDevice": self._d(x)},
            involved, cause=cause)
        live = [e for e, s in call.connections.items() if s != FAIL]
        if len(live) <= 1:  # a call of one party is over: its last connection clears too
            for e in list(call.connections):
                involved = self._everyone(call)
                del call.connections[e]
                self._emit("ConnectionClearedEvent", call, {
                    "droppedConnection": self.cid(call, e), "releasingDevice": self._d(x)},
                    involved, cause=cause)
            del self.calls[call.call_id]

    def _svc_HoldCall(self, session: object, msg: CstaMessage) -> dict[str, Value]:
        call, x = self._conn(msg.connection("callToBeHeld"), CONNECTED)
        self._hold(call, x, "normal")
        return {}

    def _hold(self, call: Call, x: str, cause: str) -> None:
        call.connections[x] = HOLD
        self._emit("HeldEvent", call, {"heldConnection": self.cid(call, x),
                                       "holdingDevice": self._d(x)},
                   self._everyone(call), cause=cause)

    def _svc_RetrieveCall(self, session: object, msg: CstaMessage) -> dict[str, Value]:
        call, x = self._conn(msg.connection("callToBeRetrieved"), HOLD)
        call.connections[x] = CONNECTED
        self._emit("RetrievedEvent", call, {"retrievedConnection": self.cid(call, x),
                                            "retrievingDevice": self._d(x)},
                   self._everyone(call), cause="normal")
        return {}

    def _svc_ConsultationCall(self, session: object, msg: CstaMessage) -> dict[str, Value]:
        call, a = self._conn(msg.connection("existingCall"), CONNECTED)
        c = self.ext(msg.device_id("consultedDevice"))
        if not c or not (c in self.stations or c.lstrip("+").isdigit()):
            raise Refused("operation", "invalidCalledDevice")
        self._hold(call, a, "consultation")
        new = self._new_call()
        self._originate(new, a, c, "consultation")
        return {"initiatedCall": self.cid(new, a)}

    def _two_calls(self, msg: CstaMessage) -> tuple[Call, Call, str]:
        held, a = self._conn(msg.connection("heldCall"), HOLD)
        active, a2 = self._conn(msg.connection("activeCall"), CONNECTED)
        if a != a2 or held is active:
            raise Refused("operation", "invalidConnectionID")
        return held, active, a

    def _merge(self, held: Call, active: Call, a: str, *, keep_a: bool) -> tuple[Call, list[
            ConnectionListItem]]:
        new = self._new_call()
        new.calling, new.called = held.calling, held.called
        items: list[ConnectionListItem] = []
        for old in (held, active):
            for e, s in old.connections.items():
                if e == a and (not keep_a or old is active):
                    continue
                new.connections[e] = CONNECTED if e == a else s
                items.append(ConnectionListItem(self.cid(new, e), self.cid(old, e), self._d(e)))
        return new, items

    def _svc_TransferCall(self, session: object, msg: CstaMessage) -> dict[str, Value]:
        held, active, a = self._two_calls(msg)
        target = next((e for e in active.connections if e != a), a)
        involved = self._everyone(held) | self._everyone(active)
        new, items = self._merge(held, active, a, keep_a=False)
        del self.calls[held.call_id], self.calls[active.call_id]
        self._emit("TransferredEvent", new, {
            "primaryOldCall": self.cid(held, a), "secondaryOldCall": self.cid(active, a),
            "transferringDevice": self._d(a), "transferredToDevice": self._d(target),
            "transferredConnections": tuple(items)}, involved, cause="transfer")
        return {"transferredCall": self.cid(new, target)}

    def _svc_ConferenceCall(self, session: object, msg: CstaMessage) -> dict[str, Value]:
        held, active, a = self._two_calls(msg)
        added = next((e for e in active.connections if e != a), a)
        involved = self._everyone(held) | self._everyone(active)
        new, items = self._merge(held, active, a, keep_a=True)
        del self.calls[held.call_id], self.calls[active.call_id]
        self._emit("ConferencedEvent", new, {
            "primaryOldCall": self.cid(held, a), "secondaryOldCall": self.cid(active, a),
            "conferencingDevice": self._d(a), "addedParty": self._d(added),
            "conferenceConnections": tuple(items)}, involved, cause="conference")
        return {"conferenceCall": self.cid(new, a)}

    def _svc_SingleStepTransferCall(self, session: object, msg: CstaMessage) -> dict[str, Value]:
        call, a = self._conn(msg.connection("activeCall"), CONNECTED)
        d = self.ext(msg.device_id("transferredTo"))
        if not d or not (d in self.stations or d.lstrip("+").isdigit()):
            raise Refused("operation", "invalidDestination")
        involved = self._everyone(call, d)
        new = self._new_call()
        new.calling, new.called = call.calling, d
        items = [ConnectionListItem(self.cid(new, e), self.cid(call, e), self._d(e))
                 for e in call.connections if e != a]
        for e, s in call.connections.items():
            if e != a:
                new.connections[e] = s
        del self.calls[call.call_id]
        items.append(ConnectionListItem(self.cid(new, d), None, self._d(d)))
        self._emit("TransferredEvent", new, {
            "primaryOldCall": self.cid(call, a), "transferringDevice": self._d(a),
            "transferredToDevice": self._d(d), "transferredConnections": tuple(items)},
            involved, cause="singleStepTransfer")
        self._deliver(new, d, "singleStepTransfer")
        return {"transferredCall": self.cid(new, d)}

    def _svc_GenerateDigits(self, session: object, msg: CstaMessage) -> dict[str, Value]:
        self._conn(msg.connection("connectionToSendDigits"), CONNECTED)
        digits = msg.text("charactersToSend") or ""
        if not digits or any(ch not in "0123456789*#ABCD" for ch in digits):
            raise Refused("operation", "valueOutOfRange")
        return {}

    # ------------------------------------------------------------ agents

    def _svc_SetAgentState(self, session: object, msg: CstaMessage) -> dict[str, Value]:
        ext = self.ext(msg.device_id("device"))
        wanted = msg.text("requestedAgentState") or ""
        if ext not in self.stations:
            raise Refused("operation", "invalidDeviceID")
        if wanted not in AGENT_STATES:
            raise Refused("operation", "valueOutOfRange")
        if self.agent_state[ext] == "loggedOff" and wanted not in ("loggedOn", "loggedOff"):
            raise Refused("stateIncompatibility", "invalidObjectState")
        self.set_agent(ext, "notReady" if wanted == "loggedOn" else wanted,
                       event=wanted)
        return {}

    def set_agent(self, ext: str, state: str, *, event: str | None = None) -> None:
        self.agent_state[ext] = state
        self._emit(_AGENT_EVENT[event or state], None, {
            "agentDevice": self._d(ext), "agentID": self.stations[ext]}, {ext})

    def _svc_GetAgentState(self, session: object, msg: CstaMessage) -> dict[str, Value]:
        ext = self.ext(msg.device_id("device"))
        if ext not in self.stations:
            raise Refused("operation", "invalidDeviceID")
        state = self.agent_state[ext]
        return {"agentStateList": {"agentStateEntry": {
            "agentID": self.stations[ext],
            "loggedOnState": "false" if state == "loggedOff" else "true",
            "agentInfo": {"agentInfoItem": {"agentState": _AGENT_REPORT[state]}}}}}

    # ----------------------------------------------- the outside world

    def inbound_call(self, caller: str, ext: str, *, queue: str | None = None) -> str:
        """A call from the network to a station (through ACD ``queue`` if given)."""
        call = self._new_call()
        call.calling, call.called = caller, queue or ext
        call.connections[caller] = CONNECTED
        if queue is not None:
            call.connections[queue] = QUEUED
            self._emit("QueuedEvent", call, {
                "queuedConnection": self.cid(call, queue), "queue": Device.of(queue),
                "callingDevice": Device.of(caller), "calledDevice": Device.of(queue),
                "numberQueued": "1"}, {ext}, cause="enteringDistribution")
            del call.connections[queue]
        self._deliver(call, ext, "enteringDistribution" if queue else "newCall")
        return call.call_id

    def remote_answer(self, call_id: str) -> None:
        call = self.calls[call_id]
        far = next(e for e, s in call.connections.items()
                   if e not in self.stations and s == ALERTING)
        self._establish(call, far)

    def remote_hangup(self, call_id: str) -> None:
        call = self.calls[call_id]
        far = next(e for e in call.connections if e not in self.stations)
        self._clear(call, far, "normalClearing")

    def divert(self, call_id: str, from_ext: str, to_ext: str) -> None:
        """Call forwarding on no answer: ``from_ext`` stops ringing, ``to_ext`` rings."""
        call = self.calls[call_id]
        involved = self._everyone(call, to_ext)
        del call.connections[from_ext]
        self._emit("DivertedEvent", call, {
            "connection": self.cid(call, from_ext), "divertingDevice": self._d(from_ext),
            "newDestination": self._d(to_ext), "callingDevice": self._d(call.calling),
            "calledDevice": self._d(call.called)}, involved, cause="redirected")
        self._deliver(call, to_ext, "redirected")

    def hang_up_silently(self, call_id: str) -> None:
        """The call ends while nobody listens (a link outage): no event reaches anyone."""
        self.calls.pop(call_id, None)

    def call_of(self, ext: str) -> Call | None:
        return next((c for c in self.calls.values() if ext in c.connections), None)
