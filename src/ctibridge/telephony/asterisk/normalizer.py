"""AMI events -> normalized ctibridge events. Pure state machine, no I/O.

How calls are recognized (see ``shared/fixtures/asterisk/README.md``):

* **One call per Linkedid.** Every channel carries the ``Linkedid`` of the
  oldest channel of its call; it survives queues and transfers. The call's ref
  is that Linkedid, or the ref ctibridge chose for a call it originated.
* **Legs.** Channels are grouped into legs (one per party). The two halves of a
  Local channel are folded into one leg by ``LocalBridge`` (``LocalOneUniqueid``
  / ``LocalTwoUniqueid``); what the ``;2`` half dials joins its leg (the pipe
  leads to it). Channel-name *shapes* are never parsed; a leg is an agent's
  when the queue says so (``AgentCalled``/``AgentConnect`` ``Interface``), when
  ctibridge originated it, or when its device name (the channel name up to its
  last ``-``, Asterisk's own device naming) is one configured for an agent.
* **Conversations.** A call normally is one conversation (its ref). An
  attended transfer made by the bridge feature (``Atxfer`` / ``*2``) keeps the
  Linkedid, so the consultation gets its own ref inside the call.
* **Order is not causal**: every emission is guarded by the state it changes,
  so duplicated or reordered AMI events (two ``DialEnd CANCEL``, hangups of the
  two Local halves in either order, a ``Cdr`` first) emit each fact once.

Everything the connector needs for commands (which channel is an agent's in a
call, which is the customer's) is answered from here too.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from ...model.agent import AgentStatus
from ...model.events import (
    AgentStateChanged,
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
    PlatformResynced,
)
from ...model.party import Direction, Party
from ..numbers import e164
from .ami import Message
from .config import AsteriskOptions

UNKNOWN = "<unknown>"
MAX_IGNORED = 256  # distinct ignored event names counted; the rest count as "(other)"
# Set by the connector on the customer's channel before it joins a consultation's
# two ends with the customer (value: the consultation's ref), so that the
# conference is recognized from the AMI traffic alone (and in a replay).
CONFERENCE_VAR = "CTIBRIDGE_CONFERENCE"

# Q.850 cause codes (Hangup ``Cause``) -> our vocabulary.
HANGUP_CAUSES: dict[str, str] = {
    "1": "invalid-number", "3": "invalid-number", "28": "invalid-number",
    "16": "normal", "31": "normal",
    "17": "busy",
    "18": "no-answer", "19": "no-answer",
    "20": "unavailable", "27": "unavailable",
    "21": "rejected",
    "26": "answered-elsewhere",
    "34": "congestion", "38": "congestion", "41": "congestion", "42": "congestion",
    "44": "congestion",
}
# DialEnd ``DialStatus`` -> cause.
DIAL_CAUSES: dict[str, str] = {
    "BUSY": "busy", "NOANSWER": "no-answer", "CANCEL": "cancelled",
    "CONGESTION": "congestion", "CHANUNAVAIL": "unavailable", "DONTCALL": "rejected",
    "TORTURE": "rejected", "INVALIDARGS": "failed",
}
# OriginateResponse ``Reason`` (an AST_CONTROL_* value) -> cause.
ORIGINATE_CAUSES: dict[str, str] = {
    "0": "failed", "1": "rejected", "3": "no-answer", "5": "busy", "8": "congestion",
}


def device_name(channel: str) -> str:
    """Asterisk's device of a channel: the name up to its last ``-``."""
    cut = channel.rfind("-")
    return channel[:cut] if cut > 0 else channel


def _facing_us(chans: list[Chan]) -> list[Chan]:
    """A party's channels, the one that faces the PBX first: the one that has been in
    a bridge (a Local pair's other half is the phone's side, never bridged)."""
    return sorted(chans, key=lambda c: (c.bridge is None, not c.left_bridge, not c.pbx_side))


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return None if not value or value == UNKNOWN else value


# ------------------------------------------------------------------- state


@dataclass(eq=False)
class Leg:
    """A party: one or more channels (Local halves, what a pipe dials)."""

    id: int
    call: CallState
    role: str = "unknown"  # unknown | customer | agent | external | pipe
    device: str | None = None  # agent extension, or an external number
    channels: list[Chan] = field(default_factory=list)
    conv: Conv | None = None  # the conversation its dial events belong to
    originator: bool = False

    @property
    def alive(self) -> bool:
        return any(c.alive for c in self.channels)

    def live(self) -> list[Chan]:
        return [c for c in self.channels if c.alive]


@dataclass(eq=False)
class Chan:
    uid: str
    name: str
    leg: Leg
    num: str | None = None
    cname: str | None = None
    exten: str = ""
    context: str = ""
    state: int = 0
    alive: bool = True
    bridge: str | None = None
    local_two: bool = False
    left_bridge: bool = False  # left a bridge earlier (consultation, parking...)
    pbx_side: bool = False  # named by a queue or dial event: not a Local pair's phone half
    vars: dict[str, str] = field(default_factory=dict)


@dataclass(eq=False)
class Part:
    """An agent device's participation in a conversation, as last emitted."""

    device: str
    leg: Leg | None
    state: str = ""  # initiated | alerting | connected | held | ended
    held_by: str | None = None  # "event" (Hold/Unhold) or "moh:<uid>"
    transferred: bool = False

    @property
    def active(self) -> bool:
        return self.state in ("initiated", "alerting", "connected", "held")


@dataclass(eq=False)
class Conv:
    """One normalized call (a ref)."""

    ref: str
    call: CallState
    direction: Direction = Direction.INBOUND
    consult_of: Conv | None = None
    originator: str | None = None  # the agent device that started it
    parts: dict[str, Part] = field(default_factory=dict)
    announced: bool = False
    finished: bool = False
    answered: bool = False
    conference: tuple[str, ...] = ()
    target: str | None = None  # a consultation's callee (an extension or a number)


@dataclass(eq=False)
class CallState:
    linkedid: str
    main: Conv = field(init=False)
    legs: list[Leg] = field(default_factory=list)
    convs: list[Conv] = field(default_factory=list)
    customer: Leg | None = None
    caller: Party = field(default_factory=Party)
    queue: str | None = None
    attached: dict[str, str] = field(default_factory=dict)
    end_hint: str | None = None
    broken_by: tuple[str, str] | None = None  # (role, uid) of who left a 2-party bridge
    blind_targets: list[tuple[Leg, str]] = field(default_factory=list)
    consults: dict[str, Conv] = field(default_factory=dict)  # transferer uid -> consult

    def channels(self) -> Iterable[Chan]:
        for leg in self.legs:
            yield from leg.channels


@dataclass(eq=False)
class PendingOriginate:
    ref: str
    device: str
    number: str
    dial: str  # the Channel we asked Asterisk to call
    action_id: str
    callee: Party
    bound: CallState | None = None
    attached: dict[str, str] = field(default_factory=dict)  # from the bar, for the call


@dataclass(eq=False)
class PendingConsult:
    ref: str  # the consultation's ref
    main_ref: str
    device: str
    target: str


# -------------------------------------------------------------- normalizer


class Normalizer:
    """Feed AMI messages in order; get normalized events back."""

    def __init__(self, options: AsteriskOptions, now: Callable[[], datetime]) -> None:
        self.opts = options
        self.now = now
        self.agent_by_device: dict[str, str] = {}
        self.agent_by_interface: dict[str, str] = {}
        self.agent_by_member: dict[str, str] = {}
        for ext, a in options.agents.items():
            for dev in a.devices():
                self.agent_by_device[dev] = ext
            self.agent_by_interface[a.interface] = ext
            if a.name:
                self.agent_by_member[a.name] = ext
        self.watch = set(options.queues)
        self.variables = set(options.variables)
        self.channels: dict[str, Chan] = {}
        self.by_name: dict[str, Chan] = {}
        self.calls: dict[str, CallState] = {}
        self.convs: dict[str, Conv] = {}
        self.aliases: dict[str, str] = {}  # linkedid -> ref chosen by ctibridge
        self.bridges: dict[str, set[str]] = {}
        self.originates: list[PendingOriginate] = []
        self.consults: list[PendingConsult] = []
        self.members: dict[str, dict[str, tuple[bool, str | None]]] = {}
        self.agent_states: dict[str, tuple[AgentStatus, str | None]] = {}
        self._ids = itertools.count(1)
        self._out: list[PlatformEvent] = []
        self.ignored_events: dict[str, int] = {}  # events with no handler, by name
        # Parties ctibridge took apart or put together with AMI alone, whose
        # channels Asterisk will not hang up by itself: a held pair (the customer
        # in music on hold, the agent waiting) and ConfBridge rooms of ours.
        self.hold_pairs: dict[str, str] = {}  # uid -> the other's uid
        self.owned_bridges: set[str] = set()
        self.cleanup: list[str] = []  # channel names the connector must hang up
        self.cancelling: set[str] = set()  # consultations the agent went back from
        self.rejecting: set[tuple[str, str]] = set()  # (ref, device) offers hung up
        self._handlers: dict[str, Callable[[Message], None]] = {
            "Newchannel": self._newchannel,
            "NewCallerid": self._newcallerid,
            "Newstate": self._newstate,
            "VarSet": self._varset,
            "LocalBridge": self._localbridge,
            "QueueCallerJoin": self._queue_join,
            "QueueCallerAbandon": self._queue_abandon,
            "AgentCalled": self._agent_called,
            "AgentConnect": self._agent_connect,
            "AgentRingNoAnswer": self._agent_rona,
            "AgentComplete": self._agent_complete,
            "DialBegin": self._dial_begin,
            "DialEnd": self._dial_end,
            "OriginateResponse": self._originate_response,
            "BridgeEnter": self._bridge_enter,
            "BridgeLeave": self._bridge_leave,
            "BridgeMerge": self._bridge_merge,
            "BridgeDestroy": self._bridge_destroy,
            "BlindTransfer": self._blind_transfer,
            "AttendedTransfer": self._attended_transfer,
            "Hold": self._hold,
            "Unhold": self._unhold,
            "MusicOnHoldStart": self._moh_start,
            "MusicOnHoldStop": self._moh_stop,
            "Hangup": self._hangup,
            "QueueMemberAdded": self._member,
            "QueueMemberRemoved": self._member_removed,
            "QueueMemberPause": self._member,
            "QueueMemberPaused": self._member,  # name before Asterisk 12
            "QueueMemberStatus": self._member,
        }

    # ----------------------------------------------------------- public API

    def feed(self, msg: Message) -> list[PlatformEvent]:
        """Apply one AMI event; return the normalized events it causes."""
        self._out = []
        handler = self._handlers.get(msg.name)
        if "ChanVariable" in msg:
            self._chan_variables(msg)
        if handler is not None:
            handler(msg)
        elif msg.is_event:
            ignored = self.ignored_events
            # Bounded: event names come from the server (and from UserEvent senders).
            name = msg.name if msg.name in ignored or len(ignored) < MAX_IGNORED else "(other)"
            ignored[name] = ignored.get(name, 0) + 1
        return self._out

    def feed_all(self, msgs: Iterable[Message]) -> list[PlatformEvent]:
        out: list[PlatformEvent] = []
        for m in msgs:
            out.extend(self.feed(m))
        return out

    def agent_for_interface(self, interface: str | None, member: str | None = None) -> str | None:
        if interface:
            ext = self.agent_by_interface.get(interface) or self.agent_by_device.get(interface)
            if ext:
                return ext
        if member:
            return self.agent_by_member.get(member)
        return None

    def agent_of_channel(self, name: str) -> str | None:
        return self.agent_by_device.get(device_name(name))

    def normalize_number(self, number: str | None) -> str | None:
        # Only Asterisk's "no number" (empty, <unknown>) is dropped here, as it always was.
        number = _clean(number)
        if number is None or number in self.opts.agents:
            return number
        return e164(number, self.opts.region)

    def party(self, number: str | None, name: str | None) -> Party:
        return Party(number=self.normalize_number(number), name=_clean(name))

    # Commands tell the normalizer what they started, so that what follows is
    # attributed to the right ref.

    def expect_originate(self, *, ref: str, device: str, number: str, dial: str,
                         action_id: str, attached: dict[str, str] | None = None
                         ) -> CallInitiated:
        """Register a click-to-call; returns the CallInitiated to emit now.

        ``attached``: the data the agent attached (also set on the channel as
        ``CTI_<KEY>``); it is the call's attached data from the start.
        """
        callee = self.party(number, None)
        internal = number in self.opts.agents
        po = PendingOriginate(ref, device, number, dial, action_id, callee,
                              attached=dict(attached or {}))
        self.originates.append(po)
        return CallInitiated(ref=ref, at=self.now(), device=device, callee=callee,
                             direction=Direction.INTERNAL if internal else Direction.OUTBOUND,
                             attached=dict(po.attached))

    def expect_consult(self, *, ref: str, device: str, consult_ref: str,
                       target: str) -> CallInitiated:
        self.consults.append(PendingConsult(consult_ref, ref, device, target))
        internal = target in self.opts.agents
        return CallInitiated(ref=consult_ref, at=self.now(), device=device,
                             callee=self.party(target, None), consult_of=ref,
                             direction=Direction.INTERNAL if internal else Direction.OUTBOUND)

    def consult_started(self, consult_ref: str) -> bool:
        return consult_ref in self.convs

    def consult_never_began(self, consult_ref: str, cause: str = "failed"
                            ) -> list[PlatformEvent]:
        """A consultation that never began (e.g. the transfer digits were lost)."""
        self.consults = [c for c in self.consults if c.ref != consult_ref]
        if consult_ref in self.convs:
            return []
        return [CallFailed(ref=consult_ref, at=self.now(), cause=cause)]

    def blind_transfer_done(self, ref: str, device: str, target: str) -> list[PlatformEvent]:
        """A Redirect did the transfer (no BlindTransfer event will come)."""
        self._out = []
        conv = self.convs.get(ref)
        if conv is None:
            return []
        part = conv.parts.get(device)
        if part is None or part.transferred:
            return []
        customer = conv.call.customer
        if customer is not None:
            conv.call.blind_targets.append((customer, target))
        self._transfer_out(conv, part)
        self._transfer_resets(conv.call)
        self._emit(conv, CallTransferred(ref=conv.ref, at=self.now(), from_device=device,
                                         to_device=target))
        return self._out

    def agent_chan(self, ref: str, device: str) -> Chan | None:
        """The channel to act on for ``device`` in call ``ref`` (the bridged one first)."""
        conv = self.convs.get(ref)
        if conv is None:
            return None
        part = conv.parts.get(device)
        legs = [part.leg] if part is not None and part.leg is not None else []
        if not legs:
            legs = [lg for lg in conv.call.legs if lg.role == "agent" and lg.device == device]
        for leg in legs:
            live = _facing_us(leg.live())
            for c in live:
                if c.bridge and self._bridge_has_other(c):
                    return c
            for c in live:
                if c.bridge:
                    return c
            if live:
                return live[0]
        return None

    def peer_chan(self, ref: str, device: str) -> Chan | None:
        """Who ``device`` talks to in ``ref``: the other leg in its bridge, else the customer."""
        mine = self.agent_chan(ref, device)
        if mine is not None and mine.bridge:
            for uid in self.bridges.get(mine.bridge, ()):
                other = self.channels.get(uid)
                if other is not None and other.alive and other.leg is not mine.leg:
                    return other
        return self.customer_chan(ref, device)

    def customer_chan(self, ref: str, device: str | None = None) -> Chan | None:
        """The customer's channel in ``ref`` (the one bridged with ``device`` first)."""
        conv = self.convs.get(ref)
        if conv is None:
            return None
        call = conv.call
        mine = self.agent_chan(ref, device) if device else None
        bridge = mine.bridge if mine is not None else None
        others = [lg for lg in call.legs if lg.role in ("customer", "external") and lg.alive]
        if call.customer is not None and call.customer in others:
            others.remove(call.customer)
            others.insert(0, call.customer)
        for leg in others:
            for c in leg.live():
                if bridge and c.bridge == bridge:
                    return c
        for leg in others:
            live = _facing_us(leg.live())
            bridged = [c for c in live if c.bridge]
            if bridged:
                return bridged[0]
            if live:
                return live[0]
        return None

    def held_partner(self, chan: Chan) -> Chan | None:
        """The channel ctibridge held apart from ``chan`` (AMI hold), if still up."""
        other = self.channels.get(self.hold_pairs.get(chan.uid, ""))
        return other if other is not None and other.alive else None

    def hold_pair(self, customer: Chan, agent: Chan) -> None:
        """ctibridge put these two apart (AMI hold): if one hangs up, end the other."""
        self.hold_pairs[customer.uid] = agent.uid
        self.hold_pairs[agent.uid] = customer.uid

    def shared_bridge(self, uids: list[str]) -> str | None:
        """The bridge all these channels are in, if they are in one together."""
        chans = [self.channels.get(u) for u in uids]
        bridges = {c.bridge for c in chans if c is not None}
        if len(bridges) == 1 and all(c is not None for c in chans):
            return bridges.pop()
        return None

    def take_cleanup(self) -> list[str]:
        out, self.cleanup = self.cleanup, []
        return out

    def _tidy_owned(self, bridge: str | None) -> None:
        """A conference room of ours that lost its customer, or is down to one party:
        the call is over, the channels left must go (Asterisk keeps them up)."""
        if bridge is None or bridge not in self.owned_bridges:
            return
        left = [self.channels[u] for u in self.bridges.get(bridge, set())
                if u in self.channels and self.channels[u].alive]
        legs = {c.leg for c in left}
        if len(legs) <= 1 or not any(lg.role == "customer" for lg in legs):
            self.owned_bridges.discard(bridge)
            self.cleanup.extend(c.name for c in left)

    def _tidy_pair(self, chan: Chan) -> None:
        other = self.channels.get(self.hold_pairs.pop(chan.uid, ""))
        if other is not None:
            self.hold_pairs.pop(other.uid, None)
            if other.alive and other.leg is not chan.leg:
                self.cleanup.append(other.name)

    def ringing(self, ref: str, device: str) -> bool:
        conv = self.convs.get(ref)
        part = conv.parts.get(device) if conv is not None and not conv.finished else None
        return part is not None and part.state == "alerting"

    def _conference(self, main: Conv, consult: Conv, device: str) -> None:
        """The customer, ``device`` and the party ``device`` consulted are in one
        bridge (a conference ctibridge made, or anyone): the consulted party joins
        the customer's call, the consultation is over."""
        for ext, part in consult.parts.items():
            if ext == device or not part.active or part.leg is None:
                continue
            self._adopt(main, part.leg)
            main.parts[ext] = Part(ext, part.leg, "connected")
        for leg in main.call.legs:
            if leg.conv is consult:
                leg.conv = main
        mine = main.parts.get(device)
        if mine is not None and mine.state == "held":
            mine.state, mine.held_by = "connected", None
        consult.finished = True
        for p in consult.parts.values():
            if p.active:
                p.state = "ended"
        devices = tuple(sorted(p.device for p in main.parts.values()
                               if p.state == "connected"))
        main.conference = devices
        self._emit(main, CallConferenced(ref=main.ref, at=self.now(), devices=devices,
                                         consult_ref=consult.ref))

    def ringing_queue_offer(self, ref: str, device: str) -> bool:
        """Whether ``device`` is being offered ``ref`` by a queue right now."""
        conv = self.convs.get(ref)
        if conv is None or conv.finished or conv.consult_of is not None:
            return False
        part = conv.parts.get(device)
        return part is not None and part.state == "alerting" and conv.call.queue is not None

    def consult_pending(self, consult_ref: str) -> bool:
        """A consultation asked for (Atxfer sent) that Asterisk has not started yet."""
        return any(c.ref == consult_ref for c in self.consults)

    def consult_live(self, consult_ref: str) -> Conv | None:
        """The consultation ``consult_ref`` while its customer's call is still on."""
        conv = self.convs.get(consult_ref)
        if conv is None or conv.finished or conv.consult_of is None:
            return None
        main = conv.consult_of
        if main.finished:
            return None
        return conv

    def consult_far_chan(self, consult_ref: str, device: str) -> Chan | None:
        """The consulted side of a consultation ``device`` made: the channel to hang up
        to end it without transferring.

        Asterisk's attended transfer (bridge feature, AMI Atxfer) dials the target
        through a Local channel that sits in the consultation bridge with the
        transferer; hanging that up is "the target hung up", which puts the
        transferer back with the held customer (bridge_basic.c: REBRIDGE).
        """
        conv = self.convs.get(consult_ref)
        if conv is None or conv.finished:
            return None
        mine = self.agent_chan(consult_ref, device)
        my_leg = mine.leg if mine is not None else None
        if mine is not None and mine.bridge:  # who the transferer talks to
            for uid in self.bridges.get(mine.bridge, ()):
                other = self.channels.get(uid)
                if other is not None and other.alive and other.leg is not my_leg:
                    return other
        legs = [lg for lg in conv.call.legs if lg.conv is conv and lg is not my_leg
                and lg.alive and lg.role in ("pipe", "agent", "external")]
        legs.sort(key=lambda lg: lg.role != "pipe")  # the pipe first: it ends the dial too
        for leg in legs:
            live = leg.live()
            bridged = [c for c in live if c.bridge]
            return (bridged or live)[0]
        return None

    def linkedid(self, ref: str) -> str | None:
        conv = self.convs.get(ref)
        return conv.call.linkedid if conv else None

    def set_members(self, members: dict[str, dict[str, tuple[bool, str | None]]]) -> None:
        """Seed queue memberships (what a QueueStatus said) without emitting."""
        self.members = {ext: dict(q) for ext, q in members.items()}
        for ext in self.opts.agents:
            self.agent_states[ext] = self._aggregate(ext)

    def member_of(self, device: str) -> dict[str, tuple[bool, str | None]]:
        return dict(self.members.get(device, {}))

    # ------------------------------------------------------------ emission

    def _emit(self, conv: Conv | None, ev: PlatformEvent) -> None:
        if conv is not None:
            conv.announced = True
        self._out.append(ev)

    def _conv_for(self, call: CallState, ref: str | None = None) -> Conv:
        conv = Conv(ref=ref or self.aliases.get(call.linkedid, call.linkedid), call=call)
        call.convs.append(conv)
        self.convs[conv.ref] = conv
        return conv

    def _call(self, linkedid: str) -> CallState:
        call = self.calls.get(linkedid)
        if call is None:
            call = CallState(linkedid)
            call.main = self._conv_for(call)
            self.calls[linkedid] = call
        return call

    def _new_leg(self, call: CallState) -> Leg:
        leg = Leg(next(self._ids), call)
        call.legs.append(leg)
        return leg

    def _chan(self, msg: Message, prefix: str = "") -> Chan | None:
        """The channel an event is about (``prefix`` Dest/Transferer/...), created if new."""
        uid = msg.get(prefix + "Uniqueid")
        if not uid:
            return None
        chan = self.channels.get(uid)
        if chan is not None:
            return chan
        name = msg.get(prefix + "Channel")
        if not name:
            return None
        linkedid = msg.get(prefix + "Linkedid") or uid
        return self._create_chan(uid, name, linkedid, msg, prefix)

    def _create_chan(self, uid: str, name: str, linkedid: str, msg: Message | None,
                     prefix: str = "") -> Chan:
        call = self._call(linkedid)
        leg = self._new_leg(call)
        chan = Chan(uid, name, leg)
        leg.channels.append(chan)
        if msg is not None:
            chan.num = _clean(msg.get(prefix + "CallerIDNum"))
            chan.cname = _clean(msg.get(prefix + "CallerIDName"))
            chan.exten = msg.get(prefix + "Exten") or ""
            chan.context = msg.get(prefix + "Context") or ""
            try:
                chan.state = int(msg.get(prefix + "ChannelState") or 0)
            except ValueError:
                chan.state = 0
        self.channels[uid] = chan
        self.by_name[name] = chan
        ext = self.agent_of_channel(name)
        if ext is not None:
            leg.role, leg.device = "agent", ext
            if uid == linkedid:
                leg.originator = True
        elif uid == linkedid:
            leg.role = "customer"
            call.customer = leg
        return chan

    # ------------------------------------------------------- leg bookkeeping

    def _merge(self, keep: Leg, gone: Leg) -> Leg:
        if keep is gone:
            return keep
        if keep.role in ("unknown", "pipe") and gone.role not in ("unknown", "pipe"):
            keep, gone = gone, keep
        for c in gone.channels:
            c.leg = keep
            keep.channels.append(c)
        gone.channels = []
        if keep.conv is None:
            keep.conv = gone.conv
        keep.originator = keep.originator or gone.originator
        call = gone.call
        if gone in call.legs:
            call.legs.remove(gone)
        if call.customer is gone:
            call.customer = keep
        for conv in call.convs:
            for part in conv.parts.values():
                if part.leg is gone:
                    part.leg = keep
        call.blind_targets = [(keep if lg is gone else lg, t) for lg, t in call.blind_targets]
        return keep

    def _make_agent(self, chan: Chan, ext: str) -> Leg:
        leg = chan.leg
        if leg.role == "agent" and leg.device == ext:
            return leg
        if leg.role == "agent" and len(leg.channels) > 1:
            # Folded into another agent's leg: this channel is someone else's.
            leg.channels.remove(chan)
            leg = self._new_leg(leg.call)
            leg.channels.append(chan)
            chan.leg = leg
        if leg.call.customer is leg:
            leg.call.customer = None
        leg.role, leg.device = "agent", ext
        return leg

    def _set_customer(self, chan: Chan) -> Leg:
        leg = chan.leg
        call = leg.call
        if leg.role in ("unknown", "external", "pipe"):
            leg.role = "customer"
        if call.customer is None or not call.customer.alive or call.customer is leg:
            call.customer = leg
        elif call.customer is not leg and leg.role == "customer":
            call.customer = self._merge(call.customer, leg)
        return call.customer

    def _bridge_has_other(self, chan: Chan) -> bool:
        members = self.bridges.get(chan.bridge or "", set())
        return any(self.channels[u].leg is not chan.leg for u in members if u in self.channels)

    # ------------------------------------------------------- channel events

    def _newchannel(self, msg: Message) -> None:
        uid = msg.get("Uniqueid")
        if not uid or uid in self.channels:
            return
        chan = self._create_chan(uid, msg.get("Channel") or uid,
                                 msg.get("Linkedid") or uid, msg)
        for po in self.originates:
            if po.bound is None and uid == po.ref:  # Asterisk honoured our ChannelId
                self._bind_originate(po, chan)
                break

    def _newcallerid(self, msg: Message) -> None:
        chan = self.channels.get(msg.get("Uniqueid") or "")
        if chan is None:
            return
        chan.num = _clean(msg.get("CallerIDNum"))
        chan.cname = _clean(msg.get("CallerIDName"))

    def _newstate(self, msg: Message) -> None:
        chan = self.channels.get(msg.get("Uniqueid") or "")
        if chan is not None:
            try:
                chan.state = int(msg.get("ChannelState") or chan.state)
            except ValueError:
                pass

    def _chan_variables(self, msg: Message) -> None:
        for prefix, key in (("", "ChanVariable"), ("Dest", "DestChanVariable")):
            chan = self.channels.get(msg.get(prefix + "Uniqueid") or "")
            if chan is None:
                continue
            for item in msg.getall(key):
                name, _, value = item.partition("=")
                self._variable(chan, name, value)

    def _varset(self, msg: Message) -> None:
        chan = self.channels.get(msg.get("Uniqueid") or "")
        if chan is not None:
            self._variable(chan, msg.get("Variable") or "", msg.get("Value") or "")

    def _variable(self, chan: Chan, name: str, value: str) -> None:
        name = name.lstrip("_")
        if not name:
            return
        chan.vars[name] = value
        call = chan.leg.call
        if name in self.variables and value:
            if chan.leg is call.customer or name not in call.attached:
                call.attached[name] = value
        elif name == "CTIBRIDGE_REQUEST" and value:
            for po in self.originates:
                if po.bound is None and po.ref == value:
                    self._bind_originate(po, chan)
                    break
        elif name in ("ATTENDEDTRANSFER", "TRANSFERERNAME") and value:
            self._consult_channel(chan, value)

    def _localbridge(self, msg: Message) -> None:
        one = self.channels.get(msg.get("LocalOneUniqueid") or "")
        two = self.channels.get(msg.get("LocalTwoUniqueid") or "")
        if one is None or two is None:
            return
        two.local_two = True
        if one.leg.call is not two.leg.call:
            return
        keep = self._merge(one.leg, two.leg)
        if keep.role == "customer":
            keep.call.customer = keep

    # --------------------------------------------------------- originate

    def _bind_originate(self, po: PendingOriginate, chan: Chan) -> None:
        call = chan.leg.call
        po.bound = call
        if call.main.ref != po.ref and not call.main.announced:
            self.convs.pop(call.main.ref, None)
            call.main.ref = po.ref
            self.convs[po.ref] = call.main
            self.aliases[call.linkedid] = po.ref
        leg = self._make_agent(chan, po.device)
        leg.originator = True
        leg.conv = call.main
        conv = call.main
        conv.originator = po.device
        conv.direction = (Direction.INTERNAL if po.number in self.opts.agents
                          else Direction.OUTBOUND)
        conv.parts[po.device] = Part(po.device, leg, "initiated")
        conv.announced = True  # the connector emitted CallInitiated when Asterisk queued it
        if call.customer is leg:
            call.customer = None
        call.caller = po.callee
        for key, value in po.attached.items():
            call.attached.setdefault(key, value)

    def _originate_response(self, msg: Message) -> None:
        aid = msg.action_id
        po = next((p for p in self.originates if p.action_id == aid), None)
        if po is None:
            return
        self.originates.remove(po)
        if (msg.get("Response") or "").lower() == "success":
            if po.bound is None:
                chan = self.channels.get(msg.get("Uniqueid") or "")
                if chan is not None:
                    self._bind_originate(po, chan)
            return
        cause = ORIGINATE_CAUSES.get(msg.get("Reason") or "", "failed")
        conv = po.bound.main if po.bound is not None else None
        if conv is not None:
            if conv.finished:
                return
            conv.finished = True
            part = conv.parts.get(po.device)
            if part is not None:
                part.state = "ended"
        self._emit(conv, CallFailed(ref=po.ref, at=self.now(), device=po.device, cause=cause))

    # ------------------------------------------------------------ queues

    def _watched(self, queue: str | None) -> bool:
        return not self.watch or (queue in self.watch)

    def _queue_join(self, msg: Message) -> None:
        chan = self._chan(msg)
        if chan is None:
            return
        chan.pbx_side = True
        leg = self._set_customer(chan)
        call = leg.call
        queue = msg.get("Queue") or ""
        call.queue = queue
        conv = call.main
        leg.conv = leg.conv or conv
        if conv.finished or not self._watched(queue):
            return
        if not conv.announced:
            call.caller = self.party(chan.num, chan.cname)
            conv.direction = Direction.INBOUND
        self._emit(conv, CallQueued(ref=conv.ref, at=self.now(), queue=queue,
                                    caller=call.caller, direction=conv.direction,
                                    attached=dict(call.attached)))

    def _queue_abandon(self, msg: Message) -> None:
        chan = self._chan(msg)
        if chan is None:
            return
        call = chan.leg.call
        call.end_hint = "abandoned"
        self._end_call(call, "abandoned")

    def _queue_agent(self, msg: Message) -> tuple[Conv, Chan, str] | None:
        dest = self._chan(msg, "Dest")
        ext = self.agent_for_interface(msg.get("Interface"), msg.get("MemberName"))
        if dest is None or ext is None:
            return None
        dest.pbx_side = True
        caller = self._chan(msg)
        if caller is not None and caller.leg.role in ("unknown", "external", "pipe"):
            self._set_customer(caller)
        leg = self._make_agent(dest, ext)
        call = leg.call
        if msg.get("Queue"):
            call.queue = msg.get("Queue")
        conv = (caller.leg.conv if caller is not None and caller.leg.conv else call.main)
        leg.conv = conv
        return conv, dest, ext

    def _agent_called(self, msg: Message) -> None:
        found = self._queue_agent(msg)
        if found is None:
            return
        conv, dest, ext = found
        self._offer(conv, dest.leg, ext, queue=msg.get("Queue"))

    def _offer(self, conv: Conv, leg: Leg, ext: str, *, queue: str | None = None,
               caller: Party | None = None) -> None:
        if conv.finished:
            return
        part = conv.parts.get(ext)
        if part is not None and part.active:
            part.leg = leg
            return
        conv.parts[ext] = Part(ext, leg, "alerting")
        call = conv.call
        self._emit(conv, CallOffered(
            ref=conv.ref, at=self.now(), device=ext, caller=caller or call.caller,
            queue=queue, direction=conv.direction, attached=dict(call.attached),
            consult_of=conv.consult_of.ref if conv.consult_of else None))

    def _answer(self, conv: Conv, ext: str) -> None:
        if conv.finished:
            return
        part = conv.parts.get(ext)
        if part is None or part.state not in ("", "initiated", "alerting"):
            return
        part.state = "connected"
        conv.answered = True
        self._emit(conv, CallAnswered(ref=conv.ref, at=self.now(), device=ext))
        orig = conv.parts.get(conv.originator or "")
        if orig is not None and orig is not part and orig.state == "initiated":
            orig.state = "connected"
            self._emit(conv, CallAnswered(ref=conv.ref, at=self.now(), device=orig.device))
        # Everyone else still ringing in this conversation lost the offer.
        for other in conv.parts.values():
            if other is not part and other.state == "alerting" and other.device != conv.originator:
                self._leave(conv, other, "answered-elsewhere")

    def _leave(self, conv: Conv, part: Part, cause: str) -> None:
        if not part.active or conv.finished:
            return
        part.state = "ended"
        self._emit(conv, CallEnded(ref=conv.ref, at=self.now(), device=part.device, cause=cause))

    def _agent_connect(self, msg: Message) -> None:
        found = self._queue_agent(msg)
        if found is None:
            return
        conv, dest, ext = found
        if ext not in conv.parts:
            self._offer(conv, dest.leg, ext, queue=msg.get("Queue"))
        self._answer(conv, ext)

    def _agent_rona(self, msg: Message) -> None:
        found = self._queue_agent(msg)
        if found is None:
            return
        conv, _, ext = found
        part = conv.parts.get(ext)
        if part is not None and part.state == "alerting":
            # The queue says "no answer" for a phone hung up while ringing, too.
            self._leave(conv, part, self._offer_cause(conv, ext, "no-answer"))

    def _offer_cause(self, conv: Conv, ext: str, cause: str) -> str:
        """Why an offer ended: "rejected" when the agent hung it up from the bar (the
        queue reports that as NOANSWER / AgentRingNoAnswer)."""
        if (conv.ref, ext) in self.rejecting:
            self.rejecting.discard((conv.ref, ext))
            return "rejected"
        return cause

    def _agent_complete(self, msg: Message) -> None:
        found = self._queue_agent(msg)
        if found is None:
            return
        conv, _, ext = found
        reason = (msg.get("Reason") or "").lower()
        if reason == "caller":
            conv.call.end_hint = "customer-hangup"
            self._customer_gone(conv.call, "customer-hangup")
        elif reason == "agent":
            conv.call.end_hint = "agent-hangup"
            part = conv.parts.get(ext)
            if part is not None:
                self._leave(conv, part, "agent-hangup")
                self._finish_if_alone(conv, "agent-hangup")

    # -------------------------------------------------------------- dialling

    def _dial_begin(self, msg: Message) -> None:
        dest = self._chan(msg, "Dest")
        if dest is None:
            return
        src = self._chan(msg) if msg.get("Uniqueid") else None
        if src is not None:  # (an Originate's own dial names a Local pair's phone half)
            src.pbx_side = dest.pbx_side = True
        if src is None:
            # An Originate dials this channel; ours if it calls what we asked for.
            dev = device_name(dest.name)
            for po in self.originates:
                if po.bound is None and po.dial == dev:
                    self._bind_originate(po, dest)
                    break
            return
        call = src.leg.call
        if dest.leg.call is not call:  # dialled from another call (rare): leave it alone
            return
        conv = src.leg.conv or call.main
        target = self._blind_target(call, src.leg)
        dleg = dest.leg
        if dleg.role in ("unknown", "pipe"):
            if target is not None and target in self.opts.agents:
                dleg = self._make_agent(dest, target)
            elif target is not None:
                dleg.role, dleg.device = "external", self.normalize_number(target)
            elif src.local_two and src.leg.role == "agent" and not src.leg.originator:
                # An agent's Local member: what its ;2 half dials is the agent's phone.
                self._merge(src.leg, dleg)
                return
            elif src.leg.role == "agent" and (call.customer is None or not call.customer.alive):
                dleg = self._set_customer(dest)
                if conv.originator or not conv.announced:
                    call.caller = self.party(dest.num or dest.exten or msg.get("DialString"),
                                             dest.cname)
            else:
                dleg.role = "external"
                dleg.device = self.normalize_number(dest.num or dest.exten)
        if dleg.conv is None:
            dleg.conv = conv
        if src.leg.role == "pipe" and dleg.role == "agent":
            # The consultation's pipe leads to this agent: one leg, in the consultation.
            pipe_conv = src.leg.conv or conv
            dleg = self._merge(dleg, src.leg)
            dleg.conv = conv = pipe_conv
        elif dleg is src.leg:
            return
        if (src.leg is not dleg and src.leg.role == "agent" and src.leg.originator
                and src.leg.device):
            self._initiate(conv, src.leg, dest, dleg)
        if src.leg is call.customer and not conv.announced and not call.caller.number:
            call.caller = self.party(src.num, src.cname)  # a direct call: no queue told us
        if dleg.role == "agent" and dleg.device is not None:
            caller = None
            if conv.consult_of is not None or (src.leg.role == "agent" and src.leg is not dleg):
                who = conv.originator or src.leg.device
                caller = Party(number=who) if who else None
            self._offer(conv, dleg, dleg.device, caller=caller)

    def _initiate(self, conv: Conv, leg: Leg, dest: Chan, dleg: Leg) -> None:
        ext = leg.device
        assert ext is not None
        if ext in conv.parts:
            return
        internal = dleg.role == "agent"
        conv.originator = ext
        conv.direction = Direction.INTERNAL if internal else Direction.OUTBOUND
        conv.parts[ext] = Part(ext, leg, "initiated")
        callee = (Party(number=dleg.device) if internal
                  else self.party(dest.num or dest.exten, dest.cname))
        if not internal:
            conv.call.caller = callee
        self._emit(conv, CallInitiated(ref=conv.ref, at=self.now(), device=ext, callee=callee,
                                       direction=conv.direction,
                                       attached=dict(conv.call.attached)))

    def _blind_target(self, call: CallState, leg: Leg) -> str | None:
        for i, (lg, target) in enumerate(call.blind_targets):
            if lg is leg:
                del call.blind_targets[i]
                return target
        return None

    def _dial_end(self, msg: Message) -> None:
        dest = self.channels.get(msg.get("DestUniqueid") or "")
        src = self.channels.get(msg.get("Uniqueid") or "") if msg.get("Uniqueid") else None
        if dest is None or src is None:
            return  # an Originate's own dial: OriginateResponse tells the outcome
        status = (msg.get("DialStatus") or "").upper()
        dleg, sleg = dest.leg, src.leg
        conv = dleg.conv or sleg.conv or dleg.call.main
        if status == "ANSWER":
            if dleg.role == "agent" and dleg.device:
                self._answer(conv, dleg.device)
            elif sleg.role == "agent" and sleg.device and conv.originator == sleg.device:
                part = conv.parts.get(sleg.device)
                if part is not None and part.state == "initiated":
                    part.state = "connected"
                    conv.answered = True
                    self._emit(conv, CallAnswered(ref=conv.ref, at=self.now(),
                                                  device=sleg.device))
            return
        cause = DIAL_CAUSES.get(status, "failed")
        if dleg.role == "agent" and dleg.device:
            part = conv.parts.get(dleg.device)
            if part is not None and part.state == "alerting":
                if cause == "cancelled" and any(p.state == "connected" and p is not part
                                                for p in conv.parts.values()):
                    cause = "answered-elsewhere"
                cause = self._offer_cause(conv, dleg.device, cause)
                self._leave(conv, part, cause)
                if conv.consult_of is not None or conv.originator:
                    self._finish_if_alone(conv, cause, failed=True)
            return
        if sleg.role == "agent" and conv.originator == sleg.device and not conv.answered:
            self._fail(conv, cause)

    def _fail(self, conv: Conv, cause: str) -> None:
        if conv.finished:
            return
        conv.finished = True
        for part in conv.parts.values():
            if part.active:
                part.state = "ended"
        self._emit(conv, CallFailed(ref=conv.ref, at=self.now(), cause=cause))

    # ------------------------------------------------------------- bridges

    def _bridge_enter(self, msg: Message) -> None:
        chan = self._chan(msg)
        bid = msg.get("BridgeUniqueid")
        if chan is None or not bid:
            return
        members = self.bridges.setdefault(bid, set())
        members.add(chan.uid)
        chan.bridge = bid
        partner = self.hold_pairs.get(chan.uid)
        if partner is not None and partner in members:  # retrieved: together again
            self.hold_pairs.pop(chan.uid, None)
            self.hold_pairs.pop(partner, None)
        call = chan.leg.call
        if call.broken_by is not None and call.broken_by[1] == chan.uid:
            call.broken_by = None
        legs = {self.channels[u].leg for u in members if u in self.channels}
        customer = call.customer
        if customer is None or customer not in legs:
            return
        main = customer.conv or call.main
        marked = {c.vars.get(CONFERENCE_VAR) for c in customer.channels} - {None, ""}
        for cv in list(call.convs):
            # The consultation ctibridge is making a conference of (the customer's
            # channel carries its ref), its two ends now with the customer.
            if (cv.ref in marked and cv.consult_of is main and not cv.finished
                    and cv.originator
                    and any(lg.conv is cv and lg.role in ("pipe", "agent", "external")
                            and lg.device != cv.originator for lg in legs)
                    and any(lg.role == "agent" and lg.device == cv.originator for lg in legs)):
                self._conference(main, cv, cv.originator)
                self.owned_bridges.add(bid)  # ended with the customer (no ghost)
        if len(legs) >= 2:
            # The customer talks to someone (again): who broke an earlier bridge
            # (a transfer, a consultation) says nothing about how this ends.
            call.broken_by = None
            if call.end_hint != "abandoned":
                call.end_hint = None
        conv = customer.conv or call.main
        agents = [lg for lg in legs if lg.role == "agent" and lg.device and lg.conv is conv]
        for lg in agents:
            part = conv.parts.get(lg.device or "")
            if part is None:
                continue
            if part.state in ("alerting", "initiated"):
                self._answer(conv, part.device)
            elif (part.state == "held" and part.held_by == "event" and chan.leg is lg
                  and chan.left_bridge):
                # Back from a consultation to the customer (an aborted transfer).
                part.state, part.held_by = "connected", None
                self._emit(conv, CallRetrieved(ref=conv.ref, at=self.now(), device=part.device))
        live = tuple(sorted(p.device for p in conv.parts.values()
                            if p.state in ("connected", "held") and p.leg in legs))
        if len(live) >= 2 and live != conv.conference:
            conv.conference = live
            self._emit(conv, CallConferenced(ref=conv.ref, at=self.now(), devices=live))

    def _bridge_leave(self, msg: Message) -> None:
        chan = self.channels.get(msg.get("Uniqueid") or "")
        bid = msg.get("BridgeUniqueid") or ""
        if chan is None:
            return
        members = self.bridges.get(bid, set())
        if chan.uid not in members and chan.bridge and chan.uid in self.bridges.get(
                chan.bridge, set()):
            # A BridgeMerge moves a bridge's channels but the ones it kicks (the
            # transferer completing an attended transfer stays and leaves the old
            # bridge): we had moved it with the rest.
            bid = chan.bridge
            members = self.bridges[bid]
        before = {self.channels[u].leg for u in members if u in self.channels}
        members.discard(chan.uid)
        if chan.bridge == bid:
            chan.bridge = None
        chan.left_bridge = True
        self._tidy_owned(bid)
        call = chan.leg.call
        # Who leaves a two-party bridge between the customer and an agent first
        # is who hung up (the other is hung up by the bridge). An agent leaving
        # because they transferred the call, or a consultation's pipe, is not.
        # A consultation's or transfer's pipe (the Local channel Asterisk dials the
        # target through) stands for the agent behind it.
        leg = chan.leg
        agent_side = ("agent", "pipe")
        if (len(before) == 2 and call.customer in before and call.broken_by is None
                and chan.alive and leg.role in ("customer", *agent_side)
                and any(lg.role in agent_side for lg in before)
                and not (leg.role == "agent" and self._transferred_out(leg))):
            call.broken_by = ("customer" if leg is call.customer else "agent", chan.uid)

    def _transferred_out(self, leg: Leg) -> bool:
        return any(p.leg is leg and p.transferred for conv in leg.call.convs
                   for p in conv.parts.values())

    def _bridge_merge(self, msg: Message) -> None:
        to, frm = msg.get("ToBridgeUniqueid") or "", msg.get("FromBridgeUniqueid") or ""
        moved = self.bridges.pop(frm, set())
        self.bridges.setdefault(to, set()).update(moved)
        for uid in moved:
            if uid in self.channels:
                self.channels[uid].bridge = to

    def _bridge_destroy(self, msg: Message) -> None:
        self.bridges.pop(msg.get("BridgeUniqueid") or "", None)

    # ------------------------------------------------------------ transfers

    def _transfer_out(self, conv: Conv, part: Part) -> None:
        part.transferred = True
        part.state = "ended"
        part.held_by = None

    def _blind_transfer(self, msg: Message) -> None:
        if (msg.get("Result") or "").lower() != "success":
            return
        transferer = self.channels.get(msg.get("TransfererUniqueid") or "")
        transferee = self.channels.get(msg.get("TransfereeUniqueid") or "")
        target = msg.get("Extension") or ""
        if transferer is None or transferer.leg.role != "agent" or not transferer.leg.device:
            return
        conv = transferer.leg.conv or transferer.leg.call.main
        part = conv.parts.get(transferer.leg.device)
        if part is None or part.transferred or conv.finished:
            return
        if transferee is not None:
            conv.call.blind_targets.append((transferee.leg, target))
        self._transfer_out(conv, part)
        self._transfer_resets(conv.call)
        self._emit(conv, CallTransferred(ref=conv.ref, at=self.now(),
                                         from_device=part.device, to_device=target))

    def _consult_channel(self, chan: Chan, transferer_name: str) -> None:
        """A channel created by an attended transfer (ATTENDEDTRANSFER=<transferer>)."""
        transferer = self.by_name.get(transferer_name)
        if transferer is None or transferer.leg.role != "agent" or not transferer.leg.device:
            return
        call = transferer.leg.call
        if chan.leg.call is not call or chan.leg.role not in ("unknown", "pipe"):
            return
        existing = call.consults.get(transferer.uid)
        if existing is not None and not existing.finished:
            if chan.leg.role == "unknown":
                chan.leg.role = "pipe"
                chan.leg.conv = existing
            return
        main = transferer.leg.conv or call.main
        ext = transferer.leg.device
        pending = next((p for p in self.consults
                        if p.device == ext and p.main_ref == main.ref), None)
        if pending is not None:
            self.consults.remove(pending)
        conv = self._conv_for(call, pending.ref if pending else f"{main.ref}~{chan.uid}")
        conv.consult_of = main
        conv.originator = ext
        target = pending.target if pending else chan.exten
        conv.target = target
        internal = target in self.opts.agents
        conv.direction = Direction.INTERNAL if internal else Direction.OUTBOUND
        conv.parts[ext] = Part(ext, transferer.leg, "initiated")
        call.consults[transferer.uid] = conv
        chan.leg.role = "pipe"
        chan.leg.conv = conv
        if pending is not None:
            conv.announced = True  # the connector emitted CallInitiated with the command
        else:
            self._emit(conv, CallInitiated(ref=conv.ref, at=self.now(), device=ext,
                                           callee=self.party(target, None),
                                           direction=conv.direction, consult_of=main.ref))

    def _attended_transfer(self, msg: Message) -> None:
        if (msg.get("Result") or "").lower() != "success":
            return
        t1 = self.channels.get(msg.get("OrigTransfererUniqueid") or "")
        t2 = self.channels.get(msg.get("SecondTransfererUniqueid") or "")
        transferee = self.channels.get(msg.get("TransfereeUniqueid") or "")
        target = self.channels.get(msg.get("TransferTargetUniqueid") or "")
        transferer = next((c for c in (t1, t2) if c is not None and c.leg.role == "agent"), None)
        if transferer is None or transferee is None:
            return
        from_dev = transferer.leg.device or ""
        main = transferee.leg.conv or transferee.leg.call.main
        if main.finished:
            return
        consult: Conv | None = None  # the consultation merged into the customer's call
        to_dev = msg.get("TransferTargetExten") or ""
        target_leg = target.leg if target is not None else None
        if target is not None and target_leg is not None:
            if target_leg.conv is not None and target_leg.conv is not main:
                consult = target_leg.conv  # same Linkedid (bridge feature / Atxfer)
            else:
                consult = next((t.leg.call.main for t in (t1, t2)  # the phone's second call
                                if t is not None and t.leg.call is not main.call), None)
            if target_leg.role == "agent" and target_leg.device:
                to_dev = target_leg.device
                self._adopt(main, target_leg)
                main.parts[to_dev] = Part(to_dev, target_leg, "connected")
            else:
                to_dev = self.normalize_number(target.num or target.exten) or to_dev
                target_leg = None
        if target is None:
            # Asterisk may leave the TransferTarget* fields out (seen when the transfer
            # completes as the transferer's channel is hung up): the consultation this
            # agent made from the call says who the target is.
            consult = next((cv for cv in main.call.convs if cv.consult_of is main
                            and cv.originator == from_dev and not cv.finished), None)
            if consult is not None:
                who = next((p for p in consult.parts.values() if p.device != from_dev
                            and p.active and p.leg is not None), None)
                if who is not None and who.leg is not None:
                    to_dev = who.device
                    self._adopt(main, who.leg)
                    main.parts[to_dev] = Part(to_dev, who.leg, "connected")
                else:
                    to_dev = self.normalize_number(consult.target) or to_dev
                for leg in main.call.legs:  # the pipe to the target now serves the call
                    if leg.conv is consult:
                        leg.conv = main
        consult_ref = consult.ref if consult is not None else None
        self._transfer_resets(main.call)
        if (msg.get("DestType") or "").lower() == "threeway":
            devices = tuple(sorted({from_dev, to_dev} - {""}))
            main.conference = devices
            self._emit(main, CallConferenced(ref=main.ref, at=self.now(), devices=devices,
                                             consult_ref=consult_ref))
        else:
            # The transferer leaves both the customer's call and the consultation.
            for cv in {*transferer.leg.call.convs, main}:
                p = cv.parts.get(from_dev)
                if p is not None and (p.active or cv is main):
                    self._transfer_out(cv, p)
            self._emit(main, CallTransferred(ref=main.ref, at=self.now(), from_device=from_dev,
                                             to_device=to_dev, consult_ref=consult_ref))
        if consult is not None:
            consult.finished = True
            for p in consult.parts.values():
                if p.active:
                    p.state = "ended"

    @staticmethod
    def _transfer_resets(call: CallState) -> None:
        """After a transfer the call goes on with someone else: how the earlier
        conversation broke up (the transferer leaving) is not how the call ends."""
        call.broken_by = None
        if call.end_hint != "abandoned":
            call.end_hint = None

    def _adopt(self, main: Conv, leg: Leg) -> None:
        """Move a leg (and its channels) into ``main``'s call and conversation."""
        leg.conv = main
        if leg.call is main.call:
            return
        old = leg.call
        if leg in old.legs:
            old.legs.remove(leg)
        leg.call = main.call
        main.call.legs.append(leg)

    # ----------------------------------------------------------------- hold

    def _hold(self, msg: Message) -> None:
        chan = self.channels.get(msg.get("Uniqueid") or "")
        if chan is None or chan.leg.role != "agent":
            return
        conv = chan.leg.conv or chan.leg.call.main
        part = conv.parts.get(chan.leg.device or "")
        if part is not None and part.state == "connected" and not conv.finished:
            part.state, part.held_by = "held", "event"
            self._emit(conv, CallHeld(ref=conv.ref, at=self.now(), device=part.device))

    def _unhold(self, msg: Message) -> None:
        chan = self.channels.get(msg.get("Uniqueid") or "")
        if chan is None or chan.leg.role != "agent":
            return
        conv = chan.leg.conv or chan.leg.call.main
        part = conv.parts.get(chan.leg.device or "")
        if part is not None and part.state == "held" and part.held_by == "event":
            part.state, part.held_by = "connected", None
            self._emit(conv, CallRetrieved(ref=conv.ref, at=self.now(), device=part.device))

    def _moh_start(self, msg: Message) -> None:
        chan = self.channels.get(msg.get("Uniqueid") or "")
        if chan is None:
            return
        leg = chan.leg
        conv = leg.conv or leg.call.main
        if conv.finished or not conv.answered:
            return  # queue music, ringback: not a hold
        targets: list[Part | None]
        if leg.role == "agent":
            targets = [conv.parts.get(leg.device or "")]
        elif leg.role in ("customer", "external"):
            connected = [p for p in conv.parts.values() if p.state in ("connected", "held")]
            targets = list(connected) if len(connected) == 1 else []
        else:
            return
        for part in targets:
            if part is not None and part.state == "connected":
                part.state, part.held_by = "held", f"moh:{chan.uid}"
                self._emit(conv, CallHeld(ref=conv.ref, at=self.now(), device=part.device))

    def _moh_stop(self, msg: Message) -> None:
        uid = msg.get("Uniqueid") or ""
        chan = self.channels.get(uid)
        if chan is None:
            return
        conv = chan.leg.conv or chan.leg.call.main
        for part in conv.parts.values():
            if part.state == "held" and part.held_by == f"moh:{uid}":
                part.state, part.held_by = "connected", None
                self._emit(conv, CallRetrieved(ref=conv.ref, at=self.now(), device=part.device))

    # --------------------------------------------------------------- hangup

    def _hangup(self, msg: Message) -> None:
        uid = msg.get("Uniqueid") or ""
        chan = self.channels.get(uid)
        if chan is None:
            return
        chan.alive = False
        if self.by_name.get(chan.name) is chan:
            del self.by_name[chan.name]
        if chan.bridge:
            self.bridges.get(chan.bridge, set()).discard(uid)
            self._tidy_owned(chan.bridge)
        if uid in self.hold_pairs and not chan.leg.alive:
            self._tidy_pair(chan)
        leg = chan.leg
        call = leg.call
        cause = HANGUP_CAUSES.get(msg.get("Cause") or "", "normal")
        if not leg.alive:
            self._leg_gone(leg, cause)
        if not any(c.alive for c in call.channels()):
            self._end_call(call, self._call_cause(call, cause))
            self._forget(call)

    def _leg_gone(self, leg: Leg, cause: str) -> None:
        call = leg.call
        if leg is call.customer:
            self._customer_gone(call, self._call_cause(call, cause))
            return
        if leg.role != "agent" or not leg.device:
            if leg.role == "pipe" and leg.conv is not None and leg.conv.consult_of is not None:
                self._finish(leg.conv, "cancelled" if cause == "normal" else cause)
            return
        for conv in list(call.convs):
            part = conv.parts.get(leg.device)
            if part is None or part.leg is not leg or not part.active or conv.finished:
                continue
            if part.state == "alerting":
                why = cause if cause != "normal" else "cancelled"
            elif part.state == "initiated":
                why = "cancelled"
            elif conv is call.main and self._customer_leaving(call):
                why = "customer-hangup"  # hung up by the bridge after the customer left
            elif conv.ref in self.cancelling:
                why = "cancelled"  # call.cancel_consult hung the consulted side up
            else:
                why = "agent-hangup"
            self._leave(conv, part, why)
            self._finish_if_alone(conv, why)

    @staticmethod
    def _customer_leaving(call: CallState) -> bool:
        """The customer hung up first: one of their channels is down already (a Local
        pair's ;1 goes before its ;2), or they left the last two-party bridge first."""
        if call.broken_by is not None and call.broken_by[0] == "customer":
            return True
        customer = call.customer
        return customer is not None and any(not c.alive for c in customer.channels)

    def _finish_if_alone(self, conv: Conv, cause: str, *, failed: bool = False) -> None:
        """After an agent left: end the conversation if nobody it was for is left.

        A customer's call goes on while the customer is there (the queue may
        offer it again, the dialplan may go on). An outgoing or internal call,
        or a consultation, ends when only its originator is left: as a failure
        if nobody answered.
        """
        if conv.finished:
            return
        call = conv.call
        customer_here = (conv.consult_of is None and call.customer is not None
                         and call.customer.alive)
        if customer_here and (conv.originator is None or not conv.answered or any(
                p.state in ("connected", "held") for p in conv.parts.values())):
            return
        if any(p.active and p.device != conv.originator for p in conv.parts.values()):
            return
        if failed and not conv.answered:
            self._fail(conv, cause)
        else:
            self._finish(conv, cause)

    def _finish(self, conv: Conv, cause: str) -> None:
        if conv.finished:
            return
        conv.finished = True
        self.cancelling.discard(conv.ref)
        for p in conv.parts.values():
            if p.active:
                p.state = "ended"
        if conv.announced:
            self._emit(conv, CallEnded(ref=conv.ref, at=self.now(), cause=cause))

    def _customer_gone(self, call: CallState, cause: str) -> None:
        """The customer hung up. Their call ends; a consultation in progress does not.

        Asterisk leaves the transferer and the consulted party talking (the
        consultation bridge becomes a normal one, bridge_basic.c consulting_exit
        on TRANSFEREE_HANGUP), or still calling the target: that consultation
        stays on the bars, as a call between them they can hang up.
        """
        for conv in sorted(call.convs, key=lambda c: c is call.main):
            if conv.consult_of is not None and self._consult_goes_on(conv):
                continue
            self._finish(conv, cause)

    def _consult_goes_on(self, conv: Conv) -> bool:
        if conv.finished:
            return False
        parts = [p for p in conv.parts.values() if p.active and p.leg is not None and p.leg.alive]
        originator = any(p.device == conv.originator for p in parts)
        other = any(p.device != conv.originator for p in parts) or any(
            lg.alive and lg.conv is conv and lg.role in ("pipe", "external")
            for lg in conv.call.legs)
        return originator and other

    def _end_call(self, call: CallState, cause: str) -> None:
        for conv in sorted(call.convs, key=lambda c: c is call.main):
            self._finish(conv, cause)

    def _call_cause(self, call: CallState, cause: str) -> str:
        if call.end_hint:
            return call.end_hint
        if call.broken_by is not None:
            return "agent-hangup" if call.broken_by[0] == "agent" else "customer-hangup"
        main = call.main
        if not main.answered:
            if main.direction == Direction.INBOUND:
                return "abandoned"
            return cause if cause != "normal" else "cancelled"
        return "normal" if cause == "normal" else cause

    def _forget(self, call: CallState) -> None:
        refs = {conv.ref for conv in call.convs}
        self.rejecting = {(r, d) for r, d in self.rejecting if r not in refs}
        self.cancelling -= refs
        for c in list(call.channels()):
            self.hold_pairs.pop(c.uid, None)
            self.channels.pop(c.uid, None)
            if self.by_name.get(c.name) is c:
                del self.by_name[c.name]
        for conv in call.convs:
            if self.convs.get(conv.ref) is conv:
                del self.convs[conv.ref]
        self.calls.pop(call.linkedid, None)
        self.aliases.pop(call.linkedid, None)
        if self.owned_bridges:  # rooms of ours with none of their channels known any more
            self.owned_bridges = {b for b in self.owned_bridges if any(
                u in self.channels for u in self.bridges.get(b, ()))}

    # ---------------------------------------------------------- agent state

    def _member(self, msg: Message) -> None:
        queue = msg.get("Queue") or ""
        ext = self.agent_for_interface(msg.get("Interface") or msg.get("Location"),
                                       msg.get("MemberName") or msg.get("Name"))
        if ext is None or not self._watched(queue):
            return
        paused = (msg.get("Paused") or "0").strip() in ("1", "true", "yes")
        reason = _clean(msg.get("PausedReason") or msg.get("Reason")) if paused else None
        self.members.setdefault(ext, {})[queue] = (paused, reason)
        self._agent_changed(ext)

    def _member_removed(self, msg: Message) -> None:
        queue = msg.get("Queue") or ""
        ext = self.agent_for_interface(msg.get("Interface"), msg.get("MemberName"))
        if ext is None or not self._watched(queue):
            return
        self.members.get(ext, {}).pop(queue, None)
        self._agent_changed(ext)

    def _aggregate(self, ext: str) -> tuple[AgentStatus, str | None]:
        memberships = self.members.get(ext) or {}
        if not memberships:
            return AgentStatus.LOGGED_OUT, None
        if all(p for p, _ in memberships.values()):
            reasons = [r for _, r in memberships.values() if r]
            return AgentStatus.NOT_READY, reasons[0] if reasons else None
        return AgentStatus.READY, None

    def _agent_changed(self, ext: str) -> None:
        new = self._aggregate(ext)
        if self.agent_states.get(ext) == new:
            return
        self.agent_states[ext] = new
        self._out.append(AgentStateChanged(at=self.now(), device=ext, status=new[0],
                                           reason=new[1]))

    # ------------------------------------------------------- reconciliation

    def drop_call(self, call: CallState, cause: str) -> list[PlatformEvent]:
        """End every conversation of ``call`` still going and forget it: Asterisk
        no longer has its channels (see :mod:`.reconcile`)."""
        self._out = []
        self._end_call(call, cause)
        self._forget(call)
        return self._out

    # --------------------------------------------------------------- resync

    def resync(self, channels: list[Message], queue_items: list[Message],
               status_items: list[Message]) -> PlatformResynced:
        """Rebuild the state from list actions; return the snapshot to emit.

        ``channels``: CoreShowChannel items; ``queue_items``: QueueStatus items
        (QueueParams, QueueMember, QueueEntry); ``status_items``: Status items
        (with ``Variable:`` lines when asked with AllVariables).
        """
        aliases = dict(self.aliases)
        self.channels.clear()
        self.by_name.clear()
        self.calls.clear()
        self.convs.clear()
        self.bridges.clear()
        self.originates.clear()
        self.consults.clear()
        status = {m.get("Uniqueid") or "": m for m in status_items}
        entries = {m.get("Uniqueid") or "": m for m in queue_items if m.name == "QueueEntry"}
        for item in channels:
            uid = item.get("Uniqueid")
            if not uid:
                continue
            st = status.get(uid)
            src = st or item
            chan = self._create_chan(uid, item.get("Channel") or uid,
                                     item.get("Linkedid") or uid, src)
            bridge = _clean(item.get("BridgeId") or (st.get("BridgeID") if st else None))
            if bridge:
                chan.bridge = bridge
                self.bridges.setdefault(bridge, set()).add(uid)
            if st is not None:
                for v in st.getall("Variable"):
                    name, _, value = v.partition("=")
                    name = name.lstrip("_")
                    chan.vars[name] = value
        self.aliases = {lid: ref for lid, ref in aliases.items() if lid in self.calls}
        # What commands left pending is kept only for what is still up.
        self.hold_pairs = {a: b for a, b in self.hold_pairs.items()
                           if a in self.channels and b in self.channels}
        self.owned_bridges &= set(self.bridges)
        self.cancelling.clear()
        self.rejecting.clear()
        for lid, ref in self.aliases.items():
            call = self.calls[lid]
            self.convs.pop(call.main.ref, None)
            call.main.ref = ref
            self.convs[ref] = call.main
        snaps: list[CallSnapshot] = []
        for call in self.calls.values():
            snap = self._snapshot(call, entries)
            if snap is not None:
                snaps.append(snap)
        members: dict[str, dict[str, tuple[bool, str | None]]] = {}
        for m in queue_items:
            if m.name != "QueueMember":
                continue
            queue = m.get("Queue") or ""
            ext = self.agent_for_interface(m.get("Location") or m.get("Interface"),
                                           m.get("Name") or m.get("MemberName"))
            if ext is None or not self._watched(queue):
                continue
            paused = (m.get("Paused") or "0").strip() in ("1", "true")
            members.setdefault(ext, {})[queue] = (
                paused, _clean(m.get("PausedReason")) if paused else None)
        self.set_members(members)
        agents = {ext: self.agent_states[ext] for ext in self.opts.agents}
        return PlatformResynced(at=self.now(), calls=tuple(snaps), agents=agents)

    def _snapshot(self, call: CallState, entries: dict[str, Message]) -> CallSnapshot | None:
        # No LocalBridge in a snapshot: an agent's channels (both halves of a Local
        # member, its phone) are recognized by device and make one leg.
        by_device: dict[str, Leg] = {}
        for leg in list(call.legs):
            if leg.role == "agent" and leg.device:
                if leg.device in by_device:
                    self._merge(by_device[leg.device], leg)
                else:
                    by_device[leg.device] = leg
        chans = list(call.channels())
        queued = next((entries[c.uid] for c in chans if c.uid in entries), None)
        agent_chans = [c for c in chans if c.leg.role == "agent"]
        customer: Chan | None = None
        if queued is not None:
            customer = self.channels[queued.get("Uniqueid") or ""]
        if customer is None:
            agent_bridges = {c.bridge for c in agent_chans if c.bridge}
            customer = next((c for c in chans if c.leg.role != "agent"
                             and c.bridge in agent_bridges), None)
        if customer is None:
            customer = next((c for c in chans if c.leg.role != "agent"
                             and c.uid == call.linkedid), None)
        if customer is None:
            customer = next((c for c in chans if c.leg.role != "agent"), None)
        for c in chans:
            if c.leg.role == "customer" and c is not customer:
                c.leg.role = "unknown"
        call.customer = None
        if customer is not None:
            self._set_customer(customer)
        conv = call.main
        queue = (queued.get("Queue") if queued is not None else None) or (
            customer.vars.get("QUEUENAME") if customer is not None else None)
        if queue and not self._watched(queue):
            return None
        if not agent_chans and queued is None:
            return None
        call.queue = queue
        originator = next((c for c in agent_chans if c.uid == call.linkedid), None)
        if originator is not None:
            conv.originator = originator.leg.device
            conv.direction = (Direction.INTERNAL if customer is None else Direction.OUTBOUND)
        else:
            conv.direction = Direction.INBOUND
        for c in chans:
            for name, value in c.vars.items():
                if name in self.variables and value and (
                        c is customer or name not in call.attached):
                    call.attached[name] = value
        if customer is not None:
            call.caller = self.party(customer.num, customer.cname)
            customer.leg.conv = conv
        devices: dict[str, str] = {}
        customer_bridge = customer.bridge if customer is not None else None
        for leg in {c.leg for c in agent_chans}:
            ext = leg.device or ""
            leg.conv = conv
            live = leg.live()
            if customer_bridge and any(c.bridge == customer_bridge for c in live):
                state = "connected"
            elif leg.originator and customer is not None:
                state = "initiated"
            elif any(c.state in (4, 5) for c in live) and not any(c.state == 6 for c in live):
                state = "alerting"
            else:
                state = "connected"
            devices[ext] = state
            conv.parts[ext] = Part(ext, leg, state)
            if state == "connected":
                conv.answered = True
        if queued is not None and queue:
            devices[f"queue:{queue}"] = "queued"
        conv.announced = True
        return CallSnapshot(ref=conv.ref, direction=conv.direction, customer=call.caller,
                            devices=devices, queue=queue, attached=dict(call.attached))
