"""FreeSWITCH events -> normalized ctibridge events (no I/O).

FreeSWITCH has no linkedid: every leg is a channel with its own ``Unique-ID``.
The normalizer groups legs into *conversations* (one per customer call, with one
``ref`` that survives queueing, offering, bridging, transfers and conferences)
by what ties them, in this order (README of shared/fixtures/freeswitch, quirk 6):

1. ``variable_ctibridge_request``: a leg our own originate created (click-to-call);
2. ``variable_cc_member_session_uuid``: an agent leg mod_callcenter originated for
   a queue member (it has no ``Other-Leg-*`` until the ``uuid_bridge``);
3. ``Other-Leg-Unique-ID`` at creation: legs made by ``bridge`` or ``att_xfer``;
4. ``variable_other_loopback_leg_uuid``: the two halves of a loopback channel;
5. a conference both legs joined (``conference::maintenance`` ``add-member``).

``Channel-Call-UUID`` is not used: it changes while a leg is bridged (quirk 6).
The ``ref`` is the ``Unique-ID`` of the conversation's first leg (or the request
id of our originate). Devices are our agents' extensions, found from the leg's
``variable_dialed_user`` (``user/`` endpoint), ``variable_cc_agent`` or
``variable_user_name`` (a registered phone) at its creation; channel names are
never matched (quirk: production names differ from lab names).

What each platform event becomes:

* ``member-queue-start`` -> CallQueued; ``agent-offering`` -> CallOffered;
  ``bridge-agent-start`` -> CallAnswered; ``bridge-agent-fail`` -> CallEnded(device);
  ``member-queue-end`` ``Cancel``/``BREAK_OUT`` -> CallEnded(abandoned).
* CHANNEL_BRIDGE of an agent leg not yet connected (transfers, consultations,
  click-to-call) -> CallAnswered; CHANNEL_HOLD/UNHOLD of an agent leg ->
  CallHeld/CallRetrieved; DTMF -> CallDtmf.
* CHANNEL_HANGUP (or HANGUP_COMPLETE when the first was filtered out): the first
  leg to go decides the cause (``customer-hangup``, ``agent-hangup``,
  ``abandoned`` while queued); an agent leaving a call others stay in ->
  CallEnded(device).
* ``uuid_transfer`` (seen in the ``API`` event every api raises) followed by the
  agent leg's hangup -> CallTransferred; ``att_xfer`` executed on an agent leg ->
  a consultation call (CallInitiated, CallHeld, CallOffered...), completed by
  the transferer's hangup (CallTransferred) or cancelled by the target's.
* ``add-member`` of a second agent in the conference of a call -> CallConferenced.
* ``agent-status-change`` -> AgentStateChanged (statuses below).
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ...model.agent import AgentStatus
from ...model.events import (
    AgentStateChanged,
    CallAnswered,
    CallConferenced,
    CallDtmf,
    CallEnded,
    CallEvent,
    CallFailed,
    CallHeld,
    CallInitiated,
    CallOffered,
    CallQueued,
    CallRetrieved,
    CallSnapshot,
    CallTransferred,
    PlatformEvent,
    PlatformResynced,
)
from ...model.party import Direction, Party
from ..numbers import party as make_party
from .config import FreeSwitchOptions
from .esl import Event

CC = "callcenter::info"
CONFERENCE = "conference::maintenance"
REQUEST_VAR = "ctibridge_request"

# mod_callcenter status -> ours. The reason of "On Break" is ctibridge's (the
# switch has none): the one we last asked for, else None.
STATUS_MAP: dict[str, AgentStatus] = {
    "Available": AgentStatus.READY,
    "Available (On Demand)": AgentStatus.READY,
    "On Break": AgentStatus.NOT_READY,
    "Logged Out": AgentStatus.LOGGED_OUT,
}
NO_ANSWER = frozenset({"NO_ANSWER", "ALLOTTED_TIMEOUT", "NO_USER_RESPONSE",
                       "RECOVERY_ON_TIMER_EXPIRE"})
BUSY = frozenset({"USER_BUSY"})
REJECTED = frozenset({"CALL_REJECTED"})
UNREACHABLE = frozenset({"SUBSCRIBER_ABSENT", "UNALLOCATED_NUMBER", "NO_ROUTE_DESTINATION",
                         "USER_NOT_REGISTERED", "INVALID_NUMBER_FORMAT",
                         "DESTINATION_OUT_OF_ORDER"})


def fail_cause(hangup_cause: str | None) -> str:
    c = (hangup_cause or "").upper()
    if c in NO_ANSWER:
        return "no-answer"
    if c in BUSY:
        return "busy"
    if c in REJECTED:
        return "rejected"
    if c in UNREACHABLE:
        return "unreachable"
    if c in ("ORIGINATOR_CANCEL", "LOSE_RACE", "PICKED_OFF"):
        return "cancelled"
    return "failed"


@dataclass(eq=False)
class Conv:
    """One customer call (or an internal/consultation call): what the hub calls a call."""

    ref: str
    direction: Direction = Direction.INBOUND
    caller: Party = field(default_factory=Party)
    queue: str | None = None
    attached: dict[str, str] = field(default_factory=dict)
    chans: set[str] = field(default_factory=set)
    devices: dict[str, str] = field(default_factory=dict)  # device -> connection state
    queued: bool = False
    announced: bool = False  # the hub has heard of it
    pending: bool = False  # an unlinked agent leg: nothing said until we know what it is
    ended: bool = False
    consult_of: Conv | None = None
    consult_origin: str | None = None  # uuid of the agent leg that started the consultation
    consult: Conv | None = None  # the consultation started from this call
    blind: tuple[str, str] | None = None  # (uuid told to transfer, destination)
    transfer_to: str | None = None  # device a blind transfer goes to
    conference: str | None = None
    conferenced: tuple[str, ...] = ()
    job: str | None = None  # Job-UUID of our originate


@dataclass(eq=False)
class Chan:
    uuid: str
    name: str
    conv: Conv
    device: str | None = None
    customer_side: bool = True  # not one of our agents' legs
    answered: bool = False
    gone: bool = False
    held: bool = False


@dataclass(frozen=True, slots=True)
class Expected:
    """A call our own command started, announced before FreeSWITCH shows it."""

    ref: str
    device: str
    number: str
    attached: dict[str, str]


class Normalizer:
    def __init__(self, options: FreeSwitchOptions, now: Callable[[], datetime]) -> None:
        self.opts = options
        self.now = now
        self.chans: dict[str, Chan] = {}
        self.convs: dict[str, Conv] = {}
        self.conferences: dict[str, Conv] = {}
        self.agent_states: dict[str, tuple[AgentStatus, str | None]] = {}
        self.cc_state: dict[str, str] = {}  # device -> mod_callcenter state (Waiting...)
        self.reasons: dict[str, str | None] = {}  # device -> the not-ready reason we asked
        # device -> the statuses we set, oldest first, with our reason: the event each
        # raises comes back with that reason (an echo the hub recognizes), even when a
        # later change of ours was sent before it arrived.
        self.pushed: dict[str, deque[tuple[str, str | None]]] = {}
        self.expected: dict[str, Expected] = {}  # ctibridge_request -> what we started
        self.jobs: dict[str, str] = {}  # Job-UUID -> ref of the originate
        self.consult_refs: dict[str, str] = {}  # agent leg uuid -> consult ref we chose
        self._by_agent = options.by_agent_name()
        self._by_user = options.by_user()
        self._consults = itertools.count(1)
        self._variables = [v.lower() for v in options.variables]

    # --------------------------------------------------------------- helpers

    def party(self, number: str | None, name: str | None) -> Party:
        return make_party(number, name, self.opts.region, self.opts.agents)

    def device_of_agent(self, agent: str | None) -> str | None:
        if not agent:
            return None
        return self._by_agent.get(agent)

    def device_of_user(self, user: str | None) -> str | None:
        if not user:
            return None
        return self._by_user.get(user.split("@", 1)[0])

    def _device_of(self, ev: Event) -> str | None:
        return (self.device_of_agent(ev.var("cc_agent"))
                or self.device_of_user(ev.var("dialed_user"))
                or (self.device_of_user(ev.var("user_name"))
                    if ev.get("Call-Direction") == "inbound" else None))

    def _attached(self, ev: Event) -> dict[str, str]:
        out: dict[str, str] = {}
        for name in self._variables:
            value = ev.var(name)
            if value:
                out[name] = value
        return out

    def _conv(self, ref: str, **kw: Any) -> Conv:
        conv = Conv(ref, **kw)
        self.convs[ref] = conv
        return conv

    def _drop(self, conv: Conv) -> None:
        """Forget a conversation once nothing of it is left."""
        if conv.chans or self.convs.get(conv.ref) is not conv:
            return
        if conv.consult is not None and not conv.consult.ended:
            return
        del self.convs[conv.ref]
        if conv.conference and self.conferences.get(conv.conference) is conv:
            del self.conferences[conv.conference]

    def chan_of(self, uuid: str | None) -> Chan | None:
        return self.chans.get(uuid) if uuid else None

    # --------------------------------------------------------- commands tell

    def expect_originate(self, *, ref: str, device: str, number: str,
                         attached: dict[str, str] | None = None,
                         job: str | None = None) -> CallInitiated:
        """Our click-to-call: the legs will carry ``ctibridge_request=<ref>``."""
        callee = self.party(number, None)
        direction = Direction.INTERNAL if number in self.opts.agents else Direction.OUTBOUND
        conv = self._conv(ref, direction=direction, caller=callee,
                          attached=dict(attached or {}))
        conv.devices[device] = "initiated"
        conv.announced = True
        if job:
            conv.job = job
            self.jobs[job] = ref
        self.expected[ref] = Expected(ref, device, number, dict(attached or {}))
        return CallInitiated(ref=ref, at=self.now(), device=device, callee=callee,
                             direction=direction, attached=dict(attached or {}))

    def originate_failed(self, ref: str, reason: str) -> list[PlatformEvent]:
        """Our originate was refused before any leg existed."""
        conv = self.convs.pop(ref, None)
        self.expected.pop(ref, None)
        if conv is None or conv.ended:
            return []
        conv.ended = True
        device = next(iter(conv.devices), None)
        return [CallFailed(ref=ref, at=self.now(), device=device, cause=fail_cause(reason))]

    def job_for(self, job: str, ref: str) -> None:
        self.jobs[job] = ref
        conv = self.convs.get(ref)
        if conv is not None:
            conv.job = job

    def expect_consult(self, agent_uuid: str, consult_ref: str) -> None:
        self.consult_refs[agent_uuid] = consult_ref

    # ------------------------------------------------------------------ feed

    def feed(self, ev: Event) -> list[PlatformEvent]:
        name = ev.name
        if name == "CUSTOM":
            if ev.subclass == CC:
                return self._callcenter(ev)
            if ev.subclass == CONFERENCE:
                return self._conference(ev)
            return []
        if name == "API":
            self._api(ev)
            return []
        if name == "BACKGROUND_JOB":
            return self._job(ev)
        if not name.startswith("CHANNEL_") and name != "DTMF":
            return []
        uuid = ev.uuid
        if not uuid:
            return []
        out: list[PlatformEvent] = []
        chan = self.chans.get(uuid)
        if chan is None:
            if name in ("CHANNEL_DESTROY", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE"):
                return []  # a leg we never knew, going: nothing to say
            if "variable_uuid" not in ev.headers:
                # CHANNEL_STATE, CODEC...: no channel variables, so nothing that tells
                # whose leg it is; CHANNEL_CREATE (or any full event) will.
                return []
            chan = self._adopt(ev, out)
        handler = _CHANNEL.get(name)
        if handler is not None:
            out.extend(handler(self, chan, ev))
        return out

    # ------------------------------------------------------------- channels

    def _adopt(self, ev: Event, out: list[PlatformEvent]) -> Chan:
        """A leg seen for the first time: which conversation it belongs to."""
        uuid = ev.uuid or ""
        device = self._device_of(ev)
        other = self.chan_of(ev.get("Other-Leg-Unique-ID"))
        request = ev.var(REQUEST_VAR)
        conv: Conv | None = None
        consult_target = False
        if request and request in self.convs:
            conv = self.convs[request]
        elif (member := self.chan_of(ev.var("cc_member_session_uuid"))) is not None:
            conv = member.conv
        elif other is not None:
            origin = other.conv.consult
            if (device is not None and other.device is not None and origin is not None
                    and origin.consult_origin == other.uuid and not origin.ended):
                conv = origin  # the consulted agent's leg (att_xfer)
                consult_target = True
            else:
                conv = other.conv
        elif (half := self.chan_of(ev.var("other_loopback_leg_uuid"))) is not None:
            conv = half.conv
        if conv is None:
            conv = self._conv(uuid, caller=self.party(
                ev.get("Caller-Caller-ID-Number"), ev.get("Caller-Caller-ID-Name")))
            if device is not None:
                if ev.get("Call-Direction") == "inbound":  # the agent dials from the phone
                    dest = ev.get("Caller-Destination-Number") or ""
                    conv.direction = (Direction.INTERNAL if self.device_of_user(dest)
                                      else Direction.OUTBOUND)
                    conv.caller = self.party(dest, None)
                else:
                    conv.pending = True  # rung by someone else's originate: wait and see
        chan = Chan(uuid, ev.get("Channel-Name") or "", conv, device,
                    customer_side=device is None)
        self.chans[uuid] = chan
        conv.chans.add(uuid)
        if device is None or conv.pending:
            return chan
        if conv.ref == uuid and not conv.announced:  # the agent's own outgoing call
            conv.devices[device] = "initiated"
            conv.announced = True
            out.append(CallInitiated(ref=conv.ref, at=self.now(), device=device,
                                     callee=conv.caller, direction=conv.direction))
            return chan
        if device in conv.devices or ev.var("cc_member_session_uuid"):
            return chan  # already offered (agent-offering), or our click-to-call's agent
        if consult_target:
            conv.devices[device] = "alerting"
            out.append(CallOffered(ref=conv.ref, at=self.now(), device=device,
                                   caller=conv.caller, queue=None,
                                   direction=Direction.INTERNAL,
                                   consult_of=conv.consult_of.ref if conv.consult_of else None))
            return chan
        # A transfer target, or a leg another agent's bridge rings.
        conv.devices[device] = "alerting"
        if conv.announced:
            out.append(CallOffered(ref=conv.ref, at=self.now(), device=device,
                                   caller=conv.caller, queue=None, direction=conv.direction,
                                   attached=dict(conv.attached)))
        return chan

    def _answer(self, chan: Chan, ev: Event) -> list[PlatformEvent]:
        chan.answered = True
        return []

    def _bridge(self, chan: Chan, ev: Event) -> list[PlatformEvent]:
        other = self.chan_of(ev.get("Other-Leg-Unique-ID"))
        out: list[PlatformEvent] = []
        legs = [chan] if other is None else [chan, other]
        for a in legs:
            b = other if a is chan else chan
            if a.conv.pending and b is not None and not b.conv.pending:
                self._move(a, b.conv)
        for a in legs:
            conv = a.conv
            if a.device is None or conv.pending or conv.ended:
                continue
            if conv.consult_of is not None and b_is_origin(conv, legs):
                out.extend(self._connect(conv, a.device))
                origin = self.chans.get(conv.consult_origin or "")
                if origin is not None and origin.device:
                    out.extend(self._connect(conv, origin.device))
                continue
            if conv.devices.get(a.device) in ("alerting", "initiated"):
                out.extend(self._connect(conv, a.device))
        if other is not None and chan.conv.pending and other.conv.pending:
            out.extend(self._announce_pending(chan, other))
        return out

    def _announce_pending(self, a: Chan, b: Chan) -> list[PlatformEvent]:
        """Two legs nobody claimed, bridged: an agent's call made by another tool."""
        agent = a if a.device else b
        conv = agent.conv
        self._move(b if agent is a else a, conv)
        conv.pending = False
        conv.announced = True
        if agent.device is None:
            return []
        conv.direction = Direction.OUTBOUND
        conv.devices[agent.device] = "connected"
        return [CallInitiated(ref=conv.ref, at=self.now(), device=agent.device,
                              callee=conv.caller, direction=conv.direction),
                CallAnswered(ref=conv.ref, at=self.now(), device=agent.device)]

    def _connect(self, conv: Conv, device: str) -> list[PlatformEvent]:
        if conv.devices.get(device) == "connected":
            return []
        conv.devices[device] = "connected"
        return [CallAnswered(ref=conv.ref, at=self.now(), device=device)]

    def _move(self, chan: Chan, conv: Conv) -> None:
        old = chan.conv
        if old is conv:
            return
        old.chans.discard(chan.uuid)
        chan.conv = conv
        conv.chans.add(chan.uuid)
        if not old.chans and not old.announced:
            self.convs.pop(old.ref, None)

    def _hold(self, chan: Chan, ev: Event) -> list[PlatformEvent]:
        conv = chan.conv
        if chan.device is None or chan.held or conv.ended or conv.pending:
            return []
        chan.held = True
        conv.devices[chan.device] = "held"
        return [CallHeld(ref=conv.ref, at=self.now(), device=chan.device)]

    def _unhold(self, chan: Chan, ev: Event) -> list[PlatformEvent]:
        conv = chan.conv
        if chan.device is None or not chan.held or conv.ended:
            return []
        chan.held = False
        conv.devices[chan.device] = "connected"
        return [CallRetrieved(ref=conv.ref, at=self.now(), device=chan.device)]

    def _dtmf(self, chan: Chan, ev: Event) -> list[PlatformEvent]:
        conv = chan.conv
        digit = ev.get("DTMF-Digit") or ""
        if not digit or conv.ended or conv.pending:
            return []
        if chan.device is None:
            # Digits from the customer: only on the leg bridged to us. Another customer
            # leg receiving digits (the far half of a loopback pair) hears what was sent
            # toward the customer, not what the customer pressed.
            other = self.chan_of(ev.get("Other-Leg-Unique-ID"))
            if other is None or other.conv is not conv:
                return []
        device = chan.device or next(
            (d for d, s in conv.devices.items() if s in ("connected", "held")), None)
        if device is None:
            return []
        return [CallDtmf(ref=conv.ref, at=self.now(), device=device, digits=digit)]

    def _execute(self, chan: Chan, ev: Event) -> list[PlatformEvent]:
        app = ev.get("Application") or ""
        if app != "att_xfer" or chan.device is None or chan.conv.ended:
            return []
        conv = chan.conv
        target = (ev.get("Application-Data") or "").strip()
        number = target.split("/", 1)[-1].split("@", 1)[0] if "/" in target else target
        callee_device = self.device_of_user(number)
        ref = self.consult_refs.pop(chan.uuid, None) or f"{conv.ref}~x{next(self._consults)}"
        consult = self._conv(ref, direction=Direction.INTERNAL,
                             caller=Party(number=chan.device, name=None))
        consult.consult_of = conv
        consult.consult_origin = chan.uuid
        consult.announced = True
        consult.devices[chan.device] = "initiated"
        conv.consult = consult
        out: list[PlatformEvent] = [
            CallInitiated(ref=ref, at=self.now(), device=chan.device,
                          callee=Party(number=callee_device or number),
                          direction=Direction.INTERNAL, consult_of=conv.ref)]
        if not chan.held:
            chan.held = True
            conv.devices[chan.device] = "held"
            out.append(CallHeld(ref=conv.ref, at=self.now(), device=chan.device))
        return out

    def _hangup(self, chan: Chan, ev: Event) -> list[PlatformEvent]:
        if chan.gone:
            return []
        chan.gone = True
        conv = chan.conv
        conv.chans.discard(chan.uuid)
        cause = ev.get("Hangup-Cause") or ev.var("hangup_cause")
        out: list[PlatformEvent] = []
        if conv.ended or conv.pending:
            self._drop(conv)
            return out
        if chan.device is not None:
            out.extend(self._agent_left(chan, conv, cause))
        else:
            out.extend(self._customer_left(chan, conv, cause))
        self._drop(conv)
        return out

    def _agent_left(self, chan: Chan, conv: Conv, cause: str | None) -> list[PlatformEvent]:
        device = chan.device
        assert device is not None
        now = self.now()
        state = conv.devices.get(device)
        consult = conv.consult
        if consult is not None and consult.consult_origin == chan.uuid and not consult.ended:
            target = next((d for d, s in consult.devices.items()
                           if d != device and s == "connected"), None)
            conv.consult = None
            if target is not None:  # the transferer hangs up: att_xfer completes
                consult.ended = True
                for uuid in list(consult.chans):
                    self._move(self.chans[uuid], conv)
                self.convs.pop(consult.ref, None)
                conv.devices.pop(device, None)
                conv.devices[target] = "connected"
                return [CallTransferred(ref=conv.ref, at=now, from_device=device,
                                        to_device=target, consult_ref=consult.ref)]
            out = self._end(consult, "cancelled")
            return out + self._agent_left(chan, conv, cause)
        if conv.consult_of is not None:  # a leg of a consultation call
            main = conv.consult_of
            origin = self.chans.get(conv.consult_origin or "")
            if origin is not None and origin.uuid == chan.uuid:
                return self._end(conv, "agent-hangup")
            # The consulted party hangs up: back to the customer.
            out = self._end(conv, "cancelled")
            main.consult = None
            if origin is not None and origin.device and not origin.gone and origin.held:
                origin.held = False
                main.devices[origin.device] = "connected"
                out.append(CallRetrieved(ref=main.ref, at=now, device=origin.device))
            return out
        if conv.blind is not None and conv.blind[0] in (chan.uuid, *conv.chans):
            dest = conv.blind[1]
            conv.blind = None
            to = self.device_of_user(dest) or dest
            conv.devices.pop(device, None)
            conv.transfer_to = to
            return [CallTransferred(ref=conv.ref, at=now, from_device=device, to_device=to)]
        conv.devices.pop(device, None)
        if state in ("alerting", "initiated"):
            failed = fail_cause(cause)
            if conv.direction != Direction.INBOUND and not any(
                    c.customer_side for c in self._live(conv)):
                # Our click-to-call: the agent's phone did not pick up.
                conv.ended = True
                return [CallFailed(ref=conv.ref, at=now, device=device, cause=failed)]
            return [CallEnded(ref=conv.ref, at=now, device=device, cause=failed)]
        others = [d for d, s in conv.devices.items() if s in ("connected", "held")]
        if others or conv.conference:
            return [CallEnded(ref=conv.ref, at=now, device=device, cause="agent-hangup")]
        return self._end(conv, "agent-hangup")

    def _customer_left(self, chan: Chan, conv: Conv, cause: str | None) -> list[PlatformEvent]:
        now = self.now()
        answered = any(s in ("connected", "held") for s in conv.devices.values())
        if conv.direction != Direction.INBOUND and not chan.answered and not answered:
            failed = fail_cause(cause)
            conv.ended = True
            return [CallFailed(ref=conv.ref, at=now, cause=failed)]
        out: list[PlatformEvent] = []
        if conv.queued and not answered:
            for device, state in list(conv.devices.items()):
                if state == "alerting":
                    out.append(CallEnded(ref=conv.ref, at=now, device=device,
                                         cause="cancelled"))
            return out + self._end(conv, "abandoned")
        return out + self._end(conv, "customer-hangup")

    def _end(self, conv: Conv, cause: str) -> list[PlatformEvent]:
        if conv.ended:
            return []
        conv.ended = True
        conv.devices.clear()
        if conv.consult is not None and not conv.consult.ended:
            sub = self._end(conv.consult, cause)
        else:
            sub = []
        if not conv.announced:
            return sub
        return [*sub, CallEnded(ref=conv.ref, at=self.now(), cause=cause)]

    def _live(self, conv: Conv) -> list[Chan]:
        return [self.chans[u] for u in conv.chans if u in self.chans]

    def _destroy(self, chan: Chan, ev: Event) -> list[PlatformEvent]:
        out = self._hangup(chan, ev)
        self.chans.pop(chan.uuid, None)
        return out

    # ------------------------------------------------------------ callcenter

    def _callcenter(self, ev: Event) -> list[PlatformEvent]:
        action = ev.get("CC-Action") or ""
        if action in ("agent-status-change", "agent-state-change"):
            return self._agent_event(ev, action)
        queue = ev.get("CC-Queue")
        if self.opts.queues and queue and queue not in self.opts.queues:
            return []
        member = ev.get("CC-Member-Session-UUID")
        chan = self.chan_of(member)
        if chan is None and member and ev.uuid == member:
            out: list[PlatformEvent] = []
            chan = self._adopt(ev, out)  # its events were filtered out, or before resync
        if chan is None:
            return []
        conv = chan.conv
        now = self.now()
        if action == "member-queue-start":
            conv.queued = True
            conv.queue = queue
            conv.direction = Direction.INBOUND
            conv.caller = self.party(ev.get("CC-Member-CID-Number"),
                                     ev.get("CC-Member-CID-Name"))
            conv.attached.update(self._attached(ev))
            conv.announced = True
            conv.ended = False
            return [CallQueued(ref=conv.ref, at=now, queue=queue or "", caller=conv.caller,
                               attached=dict(conv.attached))]
        device = self.device_of_agent(ev.get("CC-Agent"))
        if action == "agent-offering" and device is not None and not conv.ended:
            conv.devices[device] = "alerting"
            return [CallOffered(ref=conv.ref, at=now, device=device, caller=conv.caller,
                                queue=queue, attached=dict(conv.attached))]
        if action == "bridge-agent-start" and device is not None and not conv.ended:
            # The agent answered; the legs are joined by the uuid_bridge that follows
            # (CHANNEL_BRIDGE says call.answered): a command sent before it would act on
            # a leg still being moved (an att_xfer broadcast then is lost).
            agent = self.chan_of(ev.get("CC-Agent-UUID"))
            if agent is not None and agent.conv is not conv:
                self._move(agent, conv)
            if agent is None:  # its channel events are not subscribed: say it now
                return self._connect(conv, device)
            return []
        if action == "bridge-agent-fail" and device is not None and not conv.ended:
            if conv.devices.get(device) == "alerting":
                del conv.devices[device]
                return [CallEnded(ref=conv.ref, at=now, device=device,
                                  cause=fail_cause(ev.get("CC-Hangup-Cause")))]
            return []
        if action == "member-queue-end":
            conv.queued = False
            if (ev.get("CC-Cause") == "Cancel" and ev.get("CC-Cancel-Reason") == "BREAK_OUT"
                    and not conv.ended):
                return self._end(conv, "abandoned")
        return []

    def pushing(self, device: str, switch_status: str, reason: str | None) -> None:
        """The connector sets ``device``'s status: remember the reason for its echo."""
        self.reasons[device] = reason
        queue = self.pushed.setdefault(device, deque(maxlen=16))
        queue.append((switch_status, reason))

    def reason_of(self, device: str, switch_status: str) -> str | None:
        """The reason of our push this status event answers (None: a change made on
        the switch, which has no reasons)."""
        queue = self.pushed.get(device)
        while queue:
            status, reason = queue.popleft()
            if status == switch_status:
                return reason
        return None

    def _agent_event(self, ev: Event, action: str) -> list[PlatformEvent]:
        device = self.device_of_agent(ev.get("CC-Agent"))
        if device is None:
            return []
        if action == "agent-state-change":
            self.cc_state[device] = ev.get("CC-Agent-State") or ""
            return []
        raw = ev.get("CC-Agent-Status") or ""
        status = STATUS_MAP.get(raw)
        if status is None:
            return []
        reason = self.reason_of(device, raw) if status == AgentStatus.NOT_READY else None
        if status != AgentStatus.NOT_READY:
            self.reason_of(device, raw)
        self.agent_states[device] = (status, reason)
        return [AgentStateChanged(at=self.now(), device=device, status=status, reason=reason)]

    # ------------------------------------------------------------ conference

    def _conference(self, ev: Event) -> list[PlatformEvent]:
        action = ev.get("Action") or ""
        name = ev.get("Conference-Name") or ""
        if action == "conference-destroy":
            self.conferences.pop(name, None)
            return []
        if action not in ("add-member", "del-member"):
            return []
        chan = self.chan_of(ev.uuid)
        if chan is None:
            return []
        if action == "del-member":
            return []
        conv = self.conferences.get(name)
        if conv is None or conv.ended:
            if chan.conv.pending:
                return []
            self.conferences[name] = conv = chan.conv
            conv.conference = name
        elif chan.conv is not conv:
            was = chan.conv
            self._move(chan, conv)
            if was.pending and not was.chans:
                self.convs.pop(was.ref, None)
        if chan.device is not None:
            conv.devices[chan.device] = "connected"
        members = tuple(sorted(d for u in conv.chans
                               if (c := self.chans.get(u)) is not None and not c.gone
                               and c.device is not None and c.device in conv.devices
                               for d in [c.device]))
        if len(members) >= 2 and members != conv.conferenced and conv.announced:
            conv.conferenced = members
            consult = conv.consult
            if consult is not None:
                consult.ended = True
                conv.consult = None
                self.convs.pop(consult.ref, None)
            return [CallConferenced(ref=conv.ref, at=self.now(), devices=members,
                                    consult_ref=consult.ref if consult else None)]
        return []

    # ------------------------------------------------------------- api, jobs

    def _api(self, ev: Event) -> None:
        """Every ``api``/``bgapi`` raises an API event: transfers announce themselves."""
        if ev.get("API-Command") != "uuid_transfer":
            return
        args = (ev.get("API-Command-Argument") or "").split()
        if len(args) < 2:
            return
        chan = self.chan_of(args[0])
        if chan is None:
            return
        rest = args[1:]
        flag = rest[0] if rest[0] in ("-bleg", "-both") else None
        if flag:
            rest = rest[1:]
        if not rest or flag == "-both":
            return  # -both moves the whole call (conference): no one leaves
        conv = chan.conv
        dest = rest[0]
        if ":" in dest or (len(rest) > 1 and rest[1] == "inline"):
            return  # an inline dialplan (e.g. into a conference room): nobody is transferred
        if chan.device is not None and flag == "-bleg":
            conv.blind = (chan.uuid, dest)  # the agent's partner goes, the agent leg ends
        elif chan.device is None and flag is None:
            conv.blind = (chan.uuid, dest)  # the customer leg itself goes

    def _job(self, ev: Event) -> list[PlatformEvent]:
        job = ev.get("Job-UUID") or ""
        ref = self.jobs.pop(job, None)
        if ref is None:
            return []
        return self.job_result(ref, ev.body or "")

    def job_result(self, ref: str, body: str) -> list[PlatformEvent]:
        """Our originate's BACKGROUND_JOB: ``+OK <uuid>`` once answered, ``-ERR <cause>``."""
        body = body.strip()
        conv = self.convs.get(ref)
        if body.startswith("+OK") or conv is None or conv.ended:
            return []
        # "-ERR USER_BUSY": the originate failed before any leg answered.
        cause = body.split(None, 1)[1] if " " in body else body
        conv.ended = True
        self.expected.pop(ref, None)
        device = next(iter(conv.devices), None)
        conv.devices.clear()
        if not conv.chans:
            self.convs.pop(ref, None)
        return [CallFailed(ref=ref, at=self.now(), device=device, cause=fail_cause(cause))]

    # ---------------------------------------------------------------- resync

    def resync(self, channels: Iterable[dict[str, Any]], calls: Iterable[dict[str, Any]],
               members: Iterable[dict[str, str]], agents: Iterable[dict[str, str]]
               ) -> PlatformResynced:
        """Rebuild the state from ``show channels``/``show calls`` (JSON rows) and the
        callcenter lists (``queue list members`` rows, ``agent list`` rows).

        A channel the switch no longer has is gone (its call ends in the hub: no
        ghost); refs of calls still up are kept when one of their legs is known.
        """
        old = {u: c.conv.ref for u, c in self.chans.items()}
        old_convs = dict(self.convs)
        rows = {r["uuid"]: r for r in channels if r.get("uuid")}
        parent: dict[str, str] = {u: u for u in rows}

        def find(u: str) -> str:
            while parent[u] != u:
                parent[u] = parent[parent[u]]
                u = parent[u]
            return u

        def union(a: str | None, b: str | None) -> None:
            if a in parent and b in parent:
                ra, rb = find(a), find(b)
                if ra != rb:
                    parent[rb] = ra

        for r in calls:
            union(r.get("uuid"), r.get("b_uuid"))
        for u, r in rows.items():
            union(u, r.get("call_uuid"))
        member_rows = {m.get("session_uuid", ""): m for m in members}
        agent_rows = {a.get("name", ""): a for a in agents}
        for m in member_rows.values():
            a = agent_rows.get(m.get("serving_agent", ""))
            if a is not None and m.get("state") == "Answered":
                union(m.get("session_uuid"), a.get("uuid"))
        # Links the previous state knew (loopback halves, consultations...).
        for u in rows:
            for v in rows:
                if u < v and old.get(u) is not None and old.get(u) == old.get(v):
                    union(u, v)
        groups: dict[str, list[str]] = {}
        for u in rows:
            groups.setdefault(find(u), []).append(u)
        self.chans.clear()
        self.convs.clear()
        self.conferences.clear()
        snapshots: list[CallSnapshot] = []
        for uuids in groups.values():
            uuids.sort(key=lambda u: (rows[u].get("created_epoch") or "", u))
            devices: dict[str, str] = {}
            leg_device: dict[str, str | None] = {}
            for u in uuids:
                r = rows[u]
                dev = self.device_of_user((r.get("presence_id") or "").split("@", 1)[0]) \
                    if r.get("presence_id") else None
                leg_device[u] = dev
                if dev is not None:
                    state = (r.get("callstate") or "").upper()
                    devices[dev] = ("held" if state == "HELD" else
                                    "alerting" if state in ("RINGING", "EARLY", "DOWN")
                                    else "connected")
            member = next((member_rows[u] for u in uuids if u in member_rows), None)
            if not devices and member is None:
                continue  # no agent and no queue: not a call the hub follows
            ref = next((old[u] for u in uuids if u in old), None) or (
                member.get("session_uuid") if member else None) or uuids[0]
            prev = old_convs.get(ref)
            queue = member.get("queue") if member else None
            if member is not None:
                caller = self.party(member.get("cid_number"), member.get("cid_name"))
                direction = Direction.INBOUND
            elif prev is not None:
                caller, direction = prev.caller, prev.direction
            else:
                agent_leg = next(u for u in uuids if leg_device[u])
                r = rows[agent_leg]
                caller = self.party(r.get("callee_num") or r.get("dest"), r.get("callee_name"))
                direction = Direction.OUTBOUND
            conv = self._conv(ref, direction=direction, caller=caller, queue=queue,
                              attached=dict(prev.attached) if prev else {})
            conv.announced = True
            conv.devices = dict(devices)
            if member is not None and member.get("state") in ("Waiting", "Trying"):
                conv.queued = True
            for u in uuids:
                r = rows[u]
                dev = leg_device[u]
                self.chans[u] = Chan(u, r.get("name") or "", conv, dev,
                                     customer_side=dev is None,
                                     answered=(r.get("callstate") or "") == "ACTIVE",
                                     held=(r.get("callstate") or "") == "HELD")
                conv.chans.add(u)
            shown = dict(devices)
            if conv.queued and queue:
                shown[f"queue:{queue}"] = "queued"
            snapshots.append(CallSnapshot(ref=ref, direction=direction, customer=caller,
                                          devices=shown, queue=queue,
                                          attached=dict(conv.attached)))
        states: dict[str, tuple[AgentStatus, str | None]] = {}
        for a in agent_rows.values():
            device = self.device_of_agent(a.get("name"))
            status = STATUS_MAP.get(a.get("status") or "")
            if device is None or status is None:
                continue
            reason = self.reasons.get(device) if status == AgentStatus.NOT_READY else None
            states[device] = (status, reason)
            self.cc_state[device] = a.get("state") or ""
        self.agent_states = dict(states)
        return PlatformResynced(at=self.now(), calls=tuple(snapshots), agents=states)

    # ------------------------------------------------------ for the commands

    def legs(self, ref: str) -> list[Chan]:
        conv = self.convs.get(ref)
        return [] if conv is None else [c for c in self._live(conv) if not c.gone]

    def agent_leg(self, ref: str, device: str) -> Chan | None:
        return next((c for c in self.legs(ref) if c.device == device), None)

    def customer_leg(self, ref: str) -> Chan | None:
        """The customer's leg that talks to us (of a loopback pair: the one bridged)."""
        legs = [c for c in self.legs(ref) if c.customer_side]
        if not legs:
            return None
        member = next((c for c in legs if c.answered), None)
        return member or legs[0]

    def ref_of(self, uuid: str) -> str | None:
        chan = self.chans.get(uuid)
        return chan.conv.ref if chan else None


def b_is_origin(conv: Conv, legs: list[Chan]) -> bool:
    """Whether this bridge joins a consultation's target to the agent who consults."""
    return any(c.uuid == conv.consult_origin for c in legs)


def _never(self: Normalizer, chan: Chan, ev: Event) -> list[PlatformEvent]:
    return []


_CHANNEL: dict[str, Callable[[Normalizer, Chan, Event], list[PlatformEvent]]] = {
    "CHANNEL_ANSWER": Normalizer._answer,
    "CHANNEL_BRIDGE": Normalizer._bridge,
    "CHANNEL_HOLD": Normalizer._hold,
    "CHANNEL_UNHOLD": Normalizer._unhold,
    "CHANNEL_EXECUTE": Normalizer._execute,
    "CHANNEL_HANGUP": Normalizer._hangup,
    "CHANNEL_HANGUP_COMPLETE": Normalizer._hangup,
    "CHANNEL_DESTROY": Normalizer._destroy,
    "DTMF": Normalizer._dtmf,
}


def parse_rows(text: str) -> list[dict[str, str]]:
    """A callcenter_config list (``a|b|c`` header line, rows, ``+OK``) as dicts."""
    lines = [x for x in text.replace("\r", "").split("\n") if x.strip()]
    if not lines or lines[0].startswith("-ERR"):
        return []
    head = lines[0].split("|")
    out = []
    for line in lines[1:]:
        if line.startswith("+OK"):
            break
        cells = line.split("|")
        out.append(dict(zip(head, cells + [""] * (len(head) - len(cells)), strict=False)))
    return out


def parse_json_rows(text: str) -> list[dict[str, Any]]:
    """``show ... as json`` -> its rows (``{"row_count": 0}`` when idle)."""
    try:
        data = json.loads(text)
    except ValueError:
        return []
    rows = data.get("rows") if isinstance(data, dict) else None
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


__all__ = ["CallEvent", "Chan", "Conv", "Normalizer", "parse_json_rows", "parse_rows"]
