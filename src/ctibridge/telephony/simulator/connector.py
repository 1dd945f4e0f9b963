"""The simulated PBX + ACD. See the package docstring for the rules it follows."""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import random
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, get_args

import phonenumbers

from ...clock import Clock, SystemClock
from ...model.agent import AgentStatus
from ...model.call import ConnectionState
from ...model.errors import ConfigError, PlatformError
from ...model.events import (
    AgentStateChanged,
    CallAnswered,
    CallConferenced,
    CallDtmf,
    CallEnded,
    CallFailed,
    CallHeld,
    CallInitiated,
    CallMonitored,
    CallOffered,
    CallQueued,
    CallRetrieved,
    CallSnapshot,
    CallTransferred,
    PlatformEvent,
    PlatformResynced,
    PlatformStatus,
)
from ...model.party import Direction, Party
from ..base import ALL_CAPABILITIES, MONITOR_MODES, Capability, Health, require
from .customers import CustomerBook
from .options import check_arguments, parse_options

Outcome = Literal["answer", "busy", "no-answer"]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
Routing = Literal["platform", "hub"]
ROUTINGS: tuple[Routing, ...] = get_args(Routing)
_OUTCOME_CUM_WEIGHTS = (85, 92, 100)  # mostly answered, as on a real outbound campaign
_DTMF = re.compile(r"^[0-9*#A-D]+$")

_S = ConnectionState
_TALKING = (_S.CONNECTED, _S.HELD)


class _Kind(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"
    CONSULT = "consult"


_CUSTOMER_KINDS = (_Kind.INBOUND, _Kind.OUTBOUND)


@dataclass(slots=True)
class _Leg:
    device: str  # one of our devices, or an outside E.164 number when ``external``
    state: ConnectionState
    external: bool = False
    talked: bool = False  # was connected at some point (after-call work applies)
    muted: bool = False


@dataclass(slots=True)
class _Device:
    name: str
    order: int  # tie-break among equally idle devices, so routing is reproducible
    status: AgentStatus = AgentStatus.LOGGED_OUT
    reason: str | None = None
    after_call: bool = False
    monitoring: str | None = None  # the call this (supervisor's) device monitors
    idle_since: int = 0
    calls: set[str] = field(default_factory=set)  # refs this device has a leg on


@dataclass(slots=True)
class _Call:
    ref: str
    kind: _Kind
    direction: Direction
    customer: Party  # the outside party; for internal calls and consults, the callee
    queue: str | None = None
    attached: dict[str, str] = field(default_factory=dict)  # shared with events: read-only
    consult_of: str | None = None
    legs: dict[str, _Leg] = field(default_factory=dict)
    # Supervisors' devices on the call: device -> (the agent's device they monitor, mode).
    monitors: dict[str, tuple[str, str]] = field(default_factory=dict)
    customer_present: bool = False  # an outside party is on the line (not a device)
    in_queue: bool = False  # reported queued (CallQueued) and not answered since
    ever_answered: bool = False
    queued_at: int = 0
    tried: set[str] = field(default_factory=set)
    timers: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    answered: asyncio.Future[bool] | None = None
    ended: bool = False


@dataclass(frozen=True, slots=True)
class CallView:
    """A read-only picture of one simulated call (world introspection)."""

    ref: str
    kind: str  # inbound | outbound | internal | consult
    direction: Direction
    customer: Party
    queue: str | None
    legs: Mapping[str, str]  # device (or outside number) -> connection state
    waiting: bool  # in the queue, waiting for an agent
    consult_of: str | None
    muted: frozenset[str]
    monitors: Mapping[str, str] = field(default_factory=dict)  # supervisor's device -> mode


@dataclass(frozen=True, slots=True)
class DeviceView:
    status: AgentStatus
    reason: str | None
    after_call: bool  # no queue call until set READY again
    calls: frozenset[str]


@functools.lru_cache(maxsize=4096)
def _e164(number: str, region: str) -> str | None:
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class SimulatorConnector:
    """A simulated contact center speaking the telephony connector contract."""

    def __init__(
        self,
        name: str = "sim",
        *,
        clock: Clock | None = None,
        seed: int = 42,
        queues: Sequence[str] = ("support", "sales"),
        devices: Sequence[str] = ("1001", "1002", "1003", "1004"),
        ring_timeout: float = 20.0,
        answer_delay: tuple[float, float] = (1.0, 4.0),
        capabilities: frozenset[Capability] = ALL_CAPABILITIES,
        region: str = "FR",
        routing: Routing = "platform",
    ) -> None:
        check_arguments(queues, devices, ring_timeout, answer_delay, region)
        if routing not in ROUTINGS:
            raise ConfigError(f"simulator: routing must be one of {', '.join(ROUTINGS)}, "
                              f"not {routing!r}", code="config-invalid")
        self.name = name
        self.clock: Clock = clock or SystemClock()
        self.seed = seed
        # "hub": queued calls are parked and ``deliver`` sends them to the device
        # ctibridge chose; "platform": the built-in ACD routes (ROUTE is not offered).
        self.routing: Routing = routing
        caps = frozenset(capabilities)
        self.capabilities = caps if routing == "hub" else caps - {Capability.ROUTE}
        self.ring_timeout = float(ring_timeout)
        self.answer_delay = (float(answer_delay[0]), float(answer_delay[1]))
        self.region = region.upper()
        self.customers = CustomerBook(seed)
        self._rng = random.Random(seed)
        self._queues = tuple(queues)
        self._devices = {d: _Device(d, i) for i, d in enumerate(devices)}
        self._calls: dict[str, _Call] = {}
        self._waiting: dict[str, _Call] = {}
        self._wait_heap: list[tuple[int, str]] = []  # (queued_at, ref): oldest first
        self._free: set[str] = set()  # devices the ACD may offer a queue call to
        self._free_heap: list[tuple[int, int, str]] = []  # (idle_since, order, device)
        self._outcomes: dict[str, Outcome] = {}
        self._ids = itertools.count(1)
        self._ticks = itertools.count(1)
        # Names kept: the e2e harness subclasses the simulator and uses them.
        self._queue: asyncio.Queue[PlatformEvent | None] = asyncio.Queue()
        self._started = False
        self._up = False
        self._down_detail = ""

    @classmethod
    def from_options(cls, name: str, options: dict[str, Any], clock: Clock) -> SimulatorConnector:
        """Build from the ``options`` of a ``type: simulator`` telephony entry."""
        return cls(name, clock=clock, **parse_options(name, options))

    @property
    def devices(self) -> tuple[str, ...]:
        return tuple(self._devices)

    @property
    def queues(self) -> tuple[str, ...]:
        return self._queues

    # ------------------------------------------------------------- contract

    async def start(self) -> None:
        if self._started:
            return
        self._drop_end_markers()
        self._started = True
        self._up = True
        self._announce_up()

    async def stop(self) -> None:
        """End the event stream; calls in progress are forgotten, agent states kept."""
        for call in list(self._calls.values()):
            self._forget(call)
        self._waiting.clear()
        self._wait_heap.clear()
        self._free.clear()
        self._free_heap.clear()
        for dev in self._devices.values():
            dev.calls.clear()
            self._refresh(dev)
        self._started = False
        self._up = False
        self._queue.put_nowait(None)  # ends events()

    def _drop_end_markers(self) -> None:
        """A stop nobody read must not end the stream of a restarted simulator."""
        kept = []
        while not self._queue.empty():
            if (event := self._queue.get_nowait()) is not None:
                kept.append(event)
        for event in kept:
            self._queue.put_nowait(event)

    async def events(self) -> AsyncIterator[PlatformEvent]:
        while True:
            event = await self._queue.get()
            if event is None:
                return
            yield event

    def health(self) -> Health:
        if self._up:
            return Health(True, "simulated contact center")
        if not self._started:
            return Health(False, "not started")
        return Health(False, f"simulated link down: {self._down_detail}")

    async def make_call(
        self, device: str, number: str, *, attached: dict[str, str] | None = None
    ) -> str:
        self._check(Capability.MAKE_CALL)
        self._device(device)
        self._ensure_can_dial(device)
        data = dict(attached or {})
        if number in self._devices:
            if number == device:
                raise PlatformError(f"device {device} cannot call itself", code="bad-target")
            return self._call_internal(device, number, data)
        e164 = self._normalize(number)
        call = self._new_call(_Kind.OUTBOUND, Direction.OUTBOUND, Party(number=e164),
                              attached=data)
        self._add_leg(call, device, _S.INITIATED)
        self._emit(CallInitiated(ref=call.ref, at=self.clock.now(), device=device,
                                 callee=call.customer, direction=Direction.OUTBOUND,
                                 attached=call.attached))
        self._dial_out(call, device, e164)
        return call.ref

    async def answer(self, ref: str, device: str) -> None:
        self._check(Capability.ANSWER)
        call, leg = self._leg(ref, device)
        if leg.state != _S.ALERTING:
            raise PlatformError(f"device {device} is not ringing on call {ref} (it is {leg.state})",
                                code="not-ringing")
        self._cancel_timer(call, f"ring:{device}")
        leg.state, leg.talked = _S.CONNECTED, True
        call.in_queue, call.ever_answered = False, True
        now = self.clock.now()
        self._emit(CallAnswered(ref=ref, at=now, device=device))
        for other in call.legs.values():
            if other.state == _S.INITIATED and not other.external:
                # Internal call or consultation: the caller is connected too.
                other.state, other.talked = _S.CONNECTED, True
                self._emit(CallAnswered(ref=ref, at=now, device=other.device))
        if call.answered is not None and not call.answered.done():
            call.answered.set_result(True)

    async def monitor(self, ref: str, target: str, device: str, mode: str) -> None:
        """A supervisor's ``device`` joins call ``ref`` of the agent at ``target``: it
        hears both sides (listen), and is heard by the agent (whisper) or by all (barge).
        Called again on the same call, it changes mode."""
        cap = MONITOR_MODES.get(mode)
        if cap is None:
            raise PlatformError(f"{mode!r} is not a monitoring mode "
                                f"({', '.join(MONITOR_MODES)})", code="bad-mode")
        self._check(cap)
        call, leg = self._leg(ref, target)
        self._ensure_state(ref, leg, _TALKING)
        dev = self._device(device)
        if device in call.legs or dev.calls or dev.monitoring not in (None, ref):
            raise PlatformError(f"device {device} is busy on another call",
                                code="device-busy", device=device)
        call.monitors[device] = (target, mode)
        dev.monitoring = ref
        self._refresh(dev)
        self._emit(CallMonitored(ref=ref, at=self.clock.now(), device=device, target=target,
                                 mode=mode))

    def _unmonitor(self, call: _Call, device: str, cause: str) -> None:
        if call.monitors.pop(device, None) is None:
            return
        dev = self._devices[device]
        dev.monitoring = None
        self._refresh(dev)
        self._emit(CallEnded(ref=call.ref, at=self.clock.now(), device=device, cause=cause))

    async def hangup(self, ref: str, device: str) -> None:
        self._check(Capability.HANGUP)
        monitored = self._calls.get(ref)
        if monitored is not None and device in monitored.monitors:  # a supervisor leaves
            self._unmonitor(monitored, device, "monitor-stopped")
            return
        call, leg = self._leg(ref, device)
        if leg.state == _S.ALERTING and call.kind in _CUSTOMER_KINDS:
            self._drop_offer(call, device, "rejected")  # declined: back to the queue
            return
        if self._parties_left(call, device) >= 2:  # a conference goes on without them
            self._remove_leg(call, device)
            self._emit(CallEnded(ref=ref, at=self.clock.now(), device=device,
                                 cause="agent-hangup"))
            self._route()
            return
        self._end(call, "agent-hangup")

    async def hold(self, ref: str, device: str) -> None:
        self._check(Capability.HOLD)
        _, leg = self._leg(ref, device)
        self._ensure_state(ref, leg, (_S.CONNECTED,))
        leg.state = _S.HELD
        self._emit(CallHeld(ref=ref, at=self.clock.now(), device=device))

    async def retrieve(self, ref: str, device: str) -> None:
        self._check(Capability.HOLD)
        _, leg = self._leg(ref, device)
        if leg.state != _S.HELD:
            raise PlatformError(f"call {ref} is not on hold at device {device}",
                                code="not-held")
        leg.state = _S.CONNECTED
        self._emit(CallRetrieved(ref=ref, at=self.clock.now(), device=device))

    async def mute(self, ref: str, device: str, on: bool) -> None:
        self._check(Capability.MUTE)
        _, leg = self._leg(ref, device)
        self._ensure_state(ref, leg, (_S.CONNECTED,))
        leg.muted = on

    async def dtmf(self, ref: str, device: str, digits: str) -> None:
        self._check(Capability.DTMF)
        _, leg = self._leg(ref, device)
        if not _DTMF.match(digits):
            raise PlatformError(f"{digits!r} are not DTMF digits (use 0-9, *, # and A-D)",
                                code="bad-digits")
        self._ensure_state(ref, leg, (_S.CONNECTED,))
        self._emit(CallDtmf(ref=ref, at=self.clock.now(), device=device, digits=digits))

    async def blind_transfer(self, ref: str, device: str, target: str) -> None:
        self._check(Capability.BLIND_TRANSFER)
        call, leg = self._leg(ref, device)
        self._ensure_state(ref, leg, _TALKING)
        to = self._target(device, target)
        self._remove_leg(call, device)
        self._emit(CallTransferred(ref=ref, at=self.clock.now(), from_device=device,
                                   to_device=to))
        if to in self._devices:
            call.tried = set()
            self._offer(call, to)
        else:
            self._add_leg(call, to, _S.CONNECTED, external=True)
        self._route()

    async def consult(self, ref: str, device: str, target: str) -> str:
        self._check(Capability.CONSULT)
        call, leg = self._leg(ref, device)
        self._ensure_state(ref, leg, _TALKING)
        to = self._target(device, target)
        self._ensure_can_dial(device, besides=ref)
        internal = to in self._devices
        now = self.clock.now()
        if leg.state == _S.CONNECTED:
            leg.state = _S.HELD
            self._emit(CallHeld(ref=ref, at=now, device=device))
        direction = Direction.INTERNAL if internal else Direction.OUTBOUND
        consult = self._new_call(_Kind.CONSULT, direction, Party(number=to), consult_of=ref)
        self._add_leg(consult, device, _S.INITIATED)
        self._emit(CallInitiated(ref=consult.ref, at=now, device=device, callee=consult.customer,
                                 direction=direction, consult_of=ref))
        if internal:
            self._ring(consult, to, Party(number=device))
        else:
            self._dial_out(consult, device, to)
        return consult.ref

    async def complete_transfer(self, ref: str, consult_ref: str, device: str) -> None:
        self._check(Capability.CONSULT)
        call, consult, target = self._consult_pair(ref, consult_ref, device)
        self._move_consulted(call, consult, target)
        self._remove_leg(call, device)
        self._remove_leg(consult, device)
        self._forget(consult)
        now = self.clock.now()
        self._emit(CallTransferred(ref=ref, at=now, from_device=device, to_device=target,
                                   consult_ref=consult_ref))
        self._emit(CallEnded(ref=consult_ref, at=now, cause="transferred"))
        self._route()

    async def cancel_consult(self, ref: str, consult_ref: str, device: str) -> None:
        """Back to the held caller: the consultation ends (ringing or not), ``ref`` resumes."""
        self._check(Capability.CONSULT)
        call, leg = self._leg(ref, device)
        consult, _ = self._leg(consult_ref, device)
        if consult.consult_of != ref:
            raise PlatformError(f"call {consult_ref} is not a consultation of call {ref}",
                                code="not-a-consultation")
        self._discard(consult)
        now = self.clock.now()
        self._emit(CallEnded(ref=consult_ref, at=now, cause="cancelled"))
        if leg.state == _S.HELD:
            leg.state = _S.CONNECTED
            self._emit(CallRetrieved(ref=ref, at=now, device=device))
        self._route()

    async def conference(self, ref: str, consult_ref: str, device: str) -> None:
        self._check(Capability.CONFERENCE)
        call, consult, target = self._consult_pair(ref, consult_ref, device)
        self._move_consulted(call, consult, target)
        call.legs[device].state = _S.CONNECTED
        self._remove_leg(consult, device)
        self._forget(consult)
        now = self.clock.now()
        self._emit(CallConferenced(ref=ref, at=now, devices=(device, target),
                                   consult_ref=consult_ref))
        self._emit(CallEnded(ref=consult_ref, at=now, cause="conferenced"))

    async def set_agent_state(
        self, device: str, status: AgentStatus, reason: str | None = None
    ) -> None:
        self._check(Capability.AGENT_STATE)
        self._change_state(self._device(device), *_platform_state(status, reason))

    async def deliver(self, ref: str, device: str) -> None:
        """Ring ``device`` with the parked call ``ref`` (routing "hub")."""
        self._check(Capability.ROUTE)
        call = self._calls.get(ref)
        if call is None:
            raise PlatformError(f"there is no call {ref!r} on {self.name}", code="no-such-call",
                                ref=ref)
        dev = self._device(device)
        if ref not in self._waiting:
            raise PlatformError(f"call {ref} is not waiting in a queue on {self.name}",
                                code="not-queued", ref=ref)
        if dev.status == AgentStatus.LOGGED_OUT:
            raise PlatformError(f"device {device} is logged out on {self.name}",
                                code="device-logged-out", device=device)
        if dev.calls:
            raise PlatformError(f"device {device} is already on call "
                                f"{', '.join(sorted(dev.calls))}", code="device-busy",
                                device=device)
        del self._waiting[ref]
        self._offer(call, device)

    # ---------------------------------------------------------------- world

    def customer_calls(
        self, queue: str | None = None, *, number: str | None = None, name: str | None = None,
        attached: dict[str, str] | None = None,
    ) -> str:
        """A customer dials in and, after the IVR, joins ``queue``. Returns the call's ref.

        Without ``number``, the next customer of the seeded book calls, with
        IVR data unless ``attached`` is given.
        """
        queue = queue or self._queues[0]
        if queue not in self._queues:
            raise PlatformError(f"there is no queue {queue!r} (queues: {', '.join(self._queues)})",
                                code="no-such-queue")
        if number is None:
            who = self.customers.next()
            number = who.number
            name = who.name if name is None else name
            if attached is None:
                attached = self.customers.attached(who)
        else:
            number = _e164(number, self.region) or number  # withheld/odd: as presented
        call = self._new_call(_Kind.INBOUND, Direction.INBOUND, Party(number=number, name=name),
                              queue=queue, attached=dict(attached or {}))
        call.customer_present = True
        call.in_queue = True
        call.queued_at = next(self._ticks)
        self._emit(CallQueued(ref=call.ref, at=self.clock.now(), queue=queue,
                              caller=call.customer, attached=call.attached))
        self._enqueue(call)
        return call.ref

    def customer_hangs_up(self, ref: str) -> None:
        """The outside party hangs up. Unknown or finished calls are ignored (races)."""
        call = self._calls.get(ref)
        if call is None or call.ended or not call.customer_present:
            return
        self._end(call, "customer-hangup" if call.ever_answered else "abandoned")

    def wait_answered(self, ref: str) -> asyncio.Future[bool]:
        """Resolves True once an agent answers ``ref``, False if it ends first."""
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        call = self._calls.get(ref)
        if call is None or call.ended:
            fut.set_result(False)
        elif call.ever_answered:
            fut.set_result(True)
        elif call.answered is None:
            call.answered = fut
        else:
            return call.answered
        return fut

    def set_outcome(self, number: str, outcome: Outcome) -> None:
        """Fix what a dialled number does (otherwise seeded-random, mostly answer)."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        self._outcomes[self._normalize(number)] = outcome

    def agent_changes_state_elsewhere(
        self, device: str, status: AgentStatus, reason: str | None = None
    ) -> None:
        """As if the agent used a feature code on their phone (echoed only if changed)."""
        self._change_state(self._device(device), *_platform_state(status, reason))

    def link_down(self, detail: str = "simulated link loss") -> None:
        """The hub loses the platform: events are lost, commands fail; the world goes on."""
        if not self._up:
            return
        self._queue.put_nowait(PlatformStatus(at=self.clock.now(), up=False, detail=detail))
        self._up = False
        self._down_detail = detail

    def link_up(self) -> None:
        """The link is back: status up, then a fresh snapshot."""
        if self._up or not self._started:
            return
        self._up = True
        self._announce_up()

    def live_calls(self) -> tuple[CallView, ...]:
        return tuple(self._view(c) for c in self._calls.values())

    def call_state(self, ref: str) -> CallView | None:
        """The call as the simulated platform sees it; None once it has ended."""
        call = self._calls.get(ref)
        return None if call is None else self._view(call)

    def device_state(self, device: str) -> DeviceView:
        d = self._device(device)
        return DeviceView(d.status, d.reason, d.after_call, frozenset(d.calls))

    # ------------------------------------------------------------- checking

    def _check(self, capability: Capability) -> None:
        require(self, capability)
        if not self._up:
            raise PlatformError(
                f"the platform {self.name!r} is unreachable ({self.health().detail})",
                code="platform-down")

    def _device(self, device: str) -> _Device:
        dev = self._devices.get(device)
        if dev is None:
            raise PlatformError(f"there is no device {device!r} on {self.name}",
                                code="no-such-device", device=device)
        return dev

    def _leg(self, ref: str, device: str) -> tuple[_Call, _Leg]:
        call = self._calls.get(ref)
        if call is None:
            raise PlatformError(f"there is no call {ref!r} on {self.name}", code="no-such-call",
                                ref=ref)
        self._device(device)
        leg = call.legs.get(device)
        if leg is None:
            raise PlatformError(f"device {device} is not on call {ref}", code="not-on-call",
                                ref=ref, device=device)
        return call, leg

    @staticmethod
    def _ensure_state(ref: str, leg: _Leg, allowed: tuple[ConnectionState, ...]) -> None:
        if leg.state not in allowed:
            raise PlatformError(
                f"device {leg.device} is {leg.state} on call {ref}; it must be "
                + " or ".join(str(s) for s in allowed), code="not-connected")

    def _ensure_can_dial(self, device: str, besides: str | None = None) -> None:
        for ref in self._devices[device].calls:
            if ref != besides and self._calls[ref].legs[device].state in (
                    _S.CONNECTED, _S.INITIATED):
                raise PlatformError(f"device {device} is already on call {ref}; hold it first",
                                    code="device-busy", device=device)

    def _normalize(self, number: str) -> str:
        e164 = _e164(number, self.region)
        if e164 is None:
            raise PlatformError(f"{number!r} is not a phone number that can be dialled",
                                code="invalid-number", number=number)
        return e164

    def _target(self, device: str, target: str) -> str:
        to = target if target in self._devices else self._normalize(target)
        if to == device:
            raise PlatformError(f"device {device} cannot transfer to or consult itself",
                                code="bad-target")
        return to

    def _consult_pair(self, ref: str, consult_ref: str, device: str) -> tuple[_Call, _Call, str]:
        call, _ = self._leg(ref, device)
        consult, _ = self._leg(consult_ref, device)
        if consult.consult_of != ref:
            raise PlatformError(f"call {consult_ref} is not a consultation of call {ref}",
                                code="not-a-consultation")
        target = consult.customer.number or ""
        if consult.direction == Direction.INTERNAL:
            leg = consult.legs.get(target)
            answered = leg is not None and leg.state in _TALKING
        else:
            answered = consult.customer_present
        if not answered:
            raise PlatformError(f"{target} has not answered the consultation {consult_ref} yet",
                                code="consult-not-answered")
        return call, consult, target

    # ------------------------------------------------------------ call setup

    def _new_call(self, kind: _Kind, direction: Direction, customer: Party, **kw: Any) -> _Call:
        call = _Call(f"{self.name}-{next(self._ids):06d}", kind, direction, customer, **kw)
        self._calls[call.ref] = call
        return call

    def _call_internal(self, device: str, target: str, attached: dict[str, str]) -> str:
        call = self._new_call(_Kind.INTERNAL, Direction.INTERNAL, Party(number=target),
                              attached=attached)
        self._add_leg(call, device, _S.INITIATED)
        self._emit(CallInitiated(ref=call.ref, at=self.clock.now(), device=device,
                                 callee=call.customer, direction=Direction.INTERNAL,
                                 attached=attached))
        self._ring(call, target, Party(number=device))
        return call.ref

    def _ring(self, call: _Call, target: str, caller: Party) -> None:
        """Internal call or consultation: alert ``target``'s phone."""
        self._add_leg(call, target, _S.ALERTING)
        self._emit(CallOffered(ref=call.ref, at=self.clock.now(), device=target, caller=caller,
                               direction=Direction.INTERNAL, attached=call.attached,
                               consult_of=call.consult_of))
        self._schedule(call, f"ring:{target}", self.ring_timeout,
                       lambda: self._ring_expired(call, target))

    def _dial_out(self, call: _Call, device: str, number: str) -> None:
        """Schedule the outside party's reaction; drawn now so runs are reproducible."""
        outcome = self._outcomes.get(number) or self._rng.choices(
            OUTCOMES, cum_weights=_OUTCOME_CUM_WEIGHTS)[0]
        delay = self._rng.uniform(*self.answer_delay)
        if outcome == "no-answer":
            delay = self.ring_timeout
        self._schedule(call, "far-end", delay, lambda: self._far_end(call, device, outcome))

    def _far_end(self, call: _Call, device: str, outcome: Outcome) -> None:
        leg = call.legs.get(device)
        if leg is None or leg.state != _S.INITIATED:
            return
        now = self.clock.now()
        if outcome == "answer":
            call.customer_present = call.ever_answered = True
            leg.state, leg.talked = _S.CONNECTED, True
            self._emit(CallAnswered(ref=call.ref, at=now, device=device))
            return
        self._emit(CallFailed(ref=call.ref, at=now, device=device, cause=outcome))
        if call.kind == _Kind.CONSULT:
            self._end(call, outcome)  # a consultation always says it is over
        else:
            self._discard(call)
            self._route()

    def _move_consulted(self, call: _Call, consult: _Call, target: str) -> None:
        """The consulted party joins ``call`` (added before leaving the consult)."""
        if target in self._devices:
            self._add_leg(call, target, _S.CONNECTED, talked=True)
            self._remove_leg(consult, target)
        else:
            self._add_leg(call, target, _S.CONNECTED, external=True)

    # ------------------------------------------------------------------ ACD

    def _enqueue(self, call: _Call) -> None:
        self._waiting[call.ref] = call
        if self.routing == "hub":
            return  # parked: ctibridge chooses the device (deliver)
        heapq.heappush(self._wait_heap, (call.queued_at, call.ref))
        if len(self._wait_heap) > 2 * len(self._waiting) + 64:  # drop abandoned entries
            self._wait_heap = [(c.queued_at, c.ref) for c in self._waiting.values()]
            heapq.heapify(self._wait_heap)
        self._route()

    def _route(self) -> None:
        """Offer waiting calls, oldest first, while some device is free."""
        if self.routing == "hub":
            return
        while self._free and self._wait_heap:
            _, ref = heapq.heappop(self._wait_heap)
            call = self._waiting.pop(ref, None)
            if call is not None:
                self._offer(call, self._pick_device(call))

    def _pick_device(self, call: _Call) -> str:
        """The free device idle longest that has not had this call (needs one free)."""
        skipped: list[tuple[int, int, str]] = []
        chosen: str | None = None
        while self._free_heap:
            entry = heapq.heappop(self._free_heap)
            idle, _, name = entry
            if name not in self._free or self._devices[name].idle_since != idle:
                continue  # stale: the device left the free set since
            if name in call.tried:
                skipped.append(entry)
                continue
            chosen = name
            break
        if chosen is None:  # everyone free has had it: a new round, best first
            call.tried.clear()
            chosen = skipped.pop(0)[2]
        for entry in skipped:
            heapq.heappush(self._free_heap, entry)
        return chosen

    def _offer(self, call: _Call, device: str) -> None:
        self._add_leg(call, device, _S.ALERTING)
        call.tried.add(device)
        self._emit(CallOffered(ref=call.ref, at=self.clock.now(), device=device,
                               caller=self._caller(call, device), queue=call.queue,
                               direction=call.direction, attached=call.attached))
        self._schedule(call, f"ring:{device}", self.ring_timeout,
                       lambda: self._ring_expired(call, device))

    def _caller(self, call: _Call, device: str) -> Party:
        if call.customer_present:
            return call.customer
        other = next((d for d in call.legs if d != device), None)
        return Party(number=other) if other else call.customer

    def _ring_expired(self, call: _Call, device: str) -> None:
        leg = call.legs.get(device)
        if leg is None or leg.state != _S.ALERTING:
            return
        if call.kind in _CUSTOMER_KINDS:
            self._drop_offer(call, device, "no-answer")
        else:  # internal call or consultation: nobody picked up
            self._emit(CallFailed(ref=call.ref, at=self.clock.now(), device=device,
                                  cause="no-answer"))
            self._end(call, "no-answer")

    def _drop_offer(self, call: _Call, device: str, cause: str) -> None:
        """An offer ends unanswered; a customer left alone goes back to the queue."""
        self._cancel_timer(call, f"ring:{device}")
        requeue = call.customer_present and not any(d != device for d in call.legs)
        if requeue and (not call.in_queue or self.routing == "hub"):
            # Say it is queued *before* the last leg goes, or a consumer would
            # think the call is over (the customer is still there).
            call.queue = call.queue or self._queues[0]
            call.in_queue = True
            call.queued_at = call.queued_at or next(self._ticks)
            self._emit(CallQueued(ref=call.ref, at=self.clock.now(), queue=call.queue,
                                  caller=call.customer, direction=call.direction,
                                  attached=call.attached))
        self._remove_leg(call, device)
        self._emit(CallEnded(ref=call.ref, at=self.clock.now(), device=device, cause=cause))
        if requeue:
            self._enqueue(call)
        else:
            self._route()

    # ----------------------------------------------------------- bookkeeping

    def _add_leg(self, call: _Call, device: str, state: ConnectionState, *,
                 external: bool = False, talked: bool = False) -> None:
        call.legs[device] = _Leg(device, state, external, talked)
        if not external:
            self._devices[device].calls.add(call.ref)
            self._free.discard(device)

    def _remove_leg(self, call: _Call, device: str) -> None:
        leg = call.legs.pop(device, None)
        for spy, (target, _) in list(call.monitors.items()):
            if target == device:  # the supervisor followed that agent: they leave too
                self._unmonitor(call, spy, "agent-left")
        if leg is None or leg.external:
            return
        dev = self._devices[device]
        dev.calls.discard(call.ref)
        if leg.talked and call.kind in _CUSTOMER_KINDS:
            dev.after_call = True  # after-call work: no queue call until READY again
        if not dev.calls:
            dev.idle_since = next(self._ticks)
        self._refresh(dev)

    def _refresh(self, dev: _Device) -> None:
        """Keep the free set (and its idle-order heap) in step with ``dev``."""
        if dev.status != AgentStatus.READY or dev.after_call or dev.calls or dev.monitoring:
            self._free.discard(dev.name)  # its heap entry goes stale, dropped when met
            return
        if dev.name in self._free:
            return
        self._free.add(dev.name)
        heapq.heappush(self._free_heap, (dev.idle_since, dev.order, dev.name))
        if len(self._free_heap) > 2 * len(self._free) + 64:
            self._free_heap = [(self._devices[d].idle_since, self._devices[d].order, d)
                               for d in self._free]
            heapq.heapify(self._free_heap)

    def _parties_left(self, call: _Call, leaving: str) -> int:
        talking = sum(1 for d, g in call.legs.items() if d != leaving and g.state in _TALKING)
        return talking + (1 if call.customer_present else 0)

    def _end(self, call: _Call, cause: str) -> None:
        """The whole call is over."""
        self._discard(call)
        self._emit(CallEnded(ref=call.ref, at=self.clock.now(), cause=cause))
        self._route()

    def _discard(self, call: _Call) -> None:
        for spy in list(call.monitors):
            self._unmonitor(call, spy, "call-ended")
        for device in list(call.legs):
            self._remove_leg(call, device)
        self._forget(call)

    def _forget(self, call: _Call) -> None:
        call.ended = True
        for key in list(call.timers):
            self._cancel_timer(call, key)
        if call.answered is not None and not call.answered.done():
            call.answered.set_result(False)
        self._calls.pop(call.ref, None)
        self._waiting.pop(call.ref, None)

    def _change_state(self, dev: _Device, status: AgentStatus, reason: str | None) -> None:
        if status == AgentStatus.READY:
            dev.after_call = False
        if (dev.status, dev.reason) != (status, reason):
            dev.status, dev.reason = status, reason
            self._emit(AgentStateChanged(at=self.clock.now(), device=dev.name, status=status,
                                         reason=reason))
        self._refresh(dev)
        self._route()

    # --------------------------------------------------------------- timers

    def _schedule(self, call: _Call, key: str, delay: float, action: Callable[[], None]) -> None:
        self._cancel_timer(call, key)
        call.timers[key] = asyncio.get_running_loop().create_task(
            self._fire(call, key, delay, action), name=f"sim-{call.ref}-{key}")

    async def _fire(self, call: _Call, key: str, delay: float, action: Callable[[], None]) -> None:
        await self.clock.sleep(delay)
        call.timers.pop(key, None)
        if not call.ended:
            action()

    @staticmethod
    def _cancel_timer(call: _Call, key: str) -> None:
        task = call.timers.pop(key, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    # --------------------------------------------------------------- output

    def _emit(self, event: PlatformEvent) -> None:
        if self._up:  # while the link is down, the hub never hears of it
            self._queue.put_nowait(event)

    def _announce_up(self) -> None:
        now = self.clock.now()
        self._queue.put_nowait(PlatformStatus(at=now, up=True, detail="simulator"))
        self._queue.put_nowait(self._resynced(now))

    def _resynced(self, now: datetime) -> PlatformResynced:
        return PlatformResynced(
            at=now, calls=tuple(self._snapshot(c) for c in self._calls.values()),
            agents={d.name: (d.status, d.reason) for d in self._devices.values()})

    async def resync(self) -> None:
        """A fresh PlatformResynced, link untouched (the hybrid edge asks after a WAN cut)."""
        if self._up:
            self._queue.put_nowait(self._resynced(self.clock.now()))

    @staticmethod
    def _snapshot(call: _Call) -> CallSnapshot:
        devices = {d: str(g.state) for d, g in call.legs.items()}
        if call.in_queue and call.queue:
            devices[f"queue:{call.queue}"] = str(_S.QUEUED)  # the hub's queue pseudo-device
        return CallSnapshot(ref=call.ref, direction=call.direction, customer=call.customer,
                            devices=devices, queue=call.queue, attached=dict(call.attached))

    def _view(self, call: _Call) -> CallView:
        return CallView(
            ref=call.ref, kind=str(call.kind), direction=call.direction, customer=call.customer,
            queue=call.queue, legs={d: str(g.state) for d, g in call.legs.items()},
            waiting=call.ref in self._waiting, consult_of=call.consult_of,
            muted=frozenset(d for d, g in call.legs.items() if g.muted),
            monitors={d: mode for d, (_, mode) in call.monitors.items()})


# ------------------------------------------------------------------ helpers


def _platform_state(status: AgentStatus, reason: str | None) -> tuple[AgentStatus, str | None]:
    """Platforms know logged out / ready / not ready; wrap-up is a pause, busy is ours."""
    if status == AgentStatus.BUSY:
        raise PlatformError("the platform makes devices busy itself; send ready or not ready",
                            code="bad-state")
    if status == AgentStatus.WRAP_UP:
        return AgentStatus.NOT_READY, "wrap-up"
    return status, (reason if status == AgentStatus.NOT_READY else None)
