"""The built-in simulated contact center: a small PBX + ACD that needs nothing external.

Toward the hub it is only a :class:`~ctibridge.telephony.base.TelephonyConnector`
(events out, commands in). Its *world* methods (``customer_calls``,
``customer_hangs_up``, ``set_outcome``, ``link_down``…) play the customers and
the network for the demo, tests and benchmarks. Everything timed goes through
the injected clock, and all randomness through one seeded generator, so a run
is reproducible.

ACD rules, kept deliberately close to real platforms:

* a queued call is offered to the READY device with no call, not in after-call
  work and not yet tried for this call, that has been idle longest;
* unanswered after ``ring_timeout``, the offer ends (``no-answer``) and the call
  goes to the next device (back to ones already tried only when nobody else is
  free);
* after a customer call ends, the device gets no new queue call until it is set
  READY again (after-call work, like Amazon Connect ACW or Asterisk
  ``wrapuptime``): the hub re-sends the state after every call.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import phonenumbers

from ..clock import Clock, SystemClock
from ..model.agent import AgentStatus
from ..model.errors import ConfigError, PlatformError
from ..model.events import (
    AgentStateChanged,
    CallAnswered,
    CallConferenced,
    CallDtmf,
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
    PlatformStatus,
)
from ..model.party import Direction, Party
from .base import ALL_CAPABILITIES, Capability, Health, require

Outcome = Literal["answer", "busy", "no-answer"]
_DTMF = frozenset("0123456789*#ABCD")

FIRST_NAMES = ["Camille", "Léa", "Manon", "Chloé", "Inès", "Hugo", "Lucas", "Louis", "Jules",
               "Gabriel", "Nathalie", "Thierry", "Sandrine", "Éric", "Amélie", "Yannick",
               "Lukas", "Sophie", "Oliver", "Emma", "Pieter", "Anna", "John", "Maria"]
LAST_NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand", "Leroy",
              "Moreau", "Lefèvre", "Garnier", "Faure", "Meier", "Peeters", "Smith", "Müller",
              "Rossi", "Janssens", "Brown", "García"]
REASONS = ["billing", "delivery", "technical", "contract", "complaint", "information"]
# (country code, region, national-number prefixes, digits after the prefix)
NUMBER_PLANS: list[tuple[str, str, list[str], int]] = [
    ("33", "FR", ["6", "7"], 8),           # French mobiles
    ("33", "FR", ["1", "2", "3", "4", "5"], 8),  # French landlines
    ("33", "FR", ["6"], 8),
    ("32", "BE", ["47", "48", "49"], 7),
    ("41", "CH", ["76", "77", "78", "79"], 7),
    ("44", "GB", ["77", "78", "79"], 8),
    ("49", "DE", ["151", "160", "170"], 7),
    ("1", "US", ["212", "415", "617"], 7),
]


@dataclass
class _Leg:
    device: str
    state: str  # initiated | alerting | connected | held
    muted: bool = False


@dataclass
class _Device:
    name: str
    status: AgentStatus = AgentStatus.LOGGED_OUT
    reason: str | None = None
    after_call: bool = False
    idle_since: float = 0.0


@dataclass
class _Call:
    ref: str
    kind: str  # inbound | outbound | internal | consult
    customer: Party | None
    queue: str | None = None
    attached: dict[str, str] = field(default_factory=dict)
    legs: dict[str, _Leg] = field(default_factory=dict)
    consult_of: str | None = None
    external: str | None = None  # an outside party other than the customer (consult target)
    customer_present: bool = False
    queued_at: float = 0.0
    tried: set[str] = field(default_factory=set)
    timers: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    answered: asyncio.Future[bool] | None = None
    ended: bool = False

    @property
    def direction(self) -> Direction:
        if self.kind == "inbound":
            return Direction.INBOUND
        if self.kind == "outbound" or (self.kind == "consult" and self.external):
            return Direction.OUTBOUND
        return Direction.INTERNAL

    def waiting(self) -> bool:
        return (self.kind == "inbound" and self.customer_present and not self.ended
                and not self.legs)


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
    ) -> None:
        self.name = name
        self.clock = clock or SystemClock()
        self.capabilities = frozenset(capabilities)
        self.queues = list(queues)
        self.devices = {d: _Device(d) for d in devices}
        self.ring_timeout = ring_timeout
        self.answer_delay = answer_delay
        self.region = region
        self.rng = random.Random(seed)
        self._ids = itertools.count(1)
        self._calls: dict[str, _Call] = {}
        self._queue: asyncio.Queue[PlatformEvent | None] = asyncio.Queue()
        self._up = False
        self._started = False
        self._outcomes: dict[str, Outcome] = {}
        self._ticks = itertools.count()
        self.customers = CustomerBook(self.rng)

    @classmethod
    def from_options(cls, name: str, options: dict[str, Any], clock: Clock) -> SimulatorConnector:
        known = {"seed", "queues", "devices", "ring_timeout", "answer_delay", "region",
                 "capabilities"}
        unknown = set(options) - known
        if unknown:
            raise ConfigError(
                f"telephony {name!r}: unknown simulator option(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(known))}", code="config-invalid")
        kw: dict[str, Any] = {}
        try:
            if "seed" in options:
                kw["seed"] = int(options["seed"])
            for key in ("queues", "devices"):
                if key in options:
                    value = options[key]
                    if not isinstance(value, list) or not value:
                        raise ValueError(f"{key} must be a non-empty list")
                    kw[key] = [str(v) for v in value]
            if "ring_timeout" in options:
                kw["ring_timeout"] = float(options["ring_timeout"])
            if "answer_delay" in options:
                lo, hi = (float(x) for x in options["answer_delay"])
                kw["answer_delay"] = (lo, hi)
            if "region" in options:
                kw["region"] = str(options["region"]).upper()
            if "capabilities" in options:
                kw["capabilities"] = frozenset(Capability(c) for c in options["capabilities"])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"telephony {name!r}: bad simulator option: {exc}",
                              code="config-invalid") from None
        return cls(name, clock=clock, **kw)

    # ------------------------------------------------------------- contract

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        self._up = True
        self._announce_up()

    async def stop(self) -> None:
        for call in self._calls.values():
            self._cancel_timers(call)
        self._calls.clear()
        self._started = False
        self._queue.put_nowait(None)

    async def events(self) -> AsyncIterator[PlatformEvent]:
        while True:
            ev = await self._queue.get()
            if ev is None:
                return
            yield ev

    def health(self) -> Health:
        return Health(self._up, "simulated link up" if self._up else "simulated link down")

    async def make_call(self, device: str, number: str, *,
                        attached: dict[str, str] | None = None) -> str:
        self._ready_for(Capability.MAKE_CALL)
        self._device(device)
        if any(leg.state in ("connected", "initiated") for leg in self._legs_of(device)):
            raise PlatformError(f"device {device} is on a call; hold it before dialling",
                                code="device-busy")
        if number in self.devices:
            return self._internal_call(device, number, attached or {})
        e164 = self._normalize(number)
        call = self._new_call("outbound", Party(number=e164), attached=attached or {})
        call.legs[device] = _Leg(device, "initiated")
        self._emit(CallInitiated(ref=call.ref, at=self._now(), device=device,
                                 callee=Party(number=e164), direction=Direction.OUTBOUND,
                                 attached=dict(call.attached)))
        self._timer(call, "far-end", self._far_end_answers(call, device, e164))
        return call.ref

    async def answer(self, ref: str, device: str) -> None:
        self._ready_for(Capability.ANSWER)
        call, leg = self._leg(ref, device)
        if leg.state != "alerting":
            raise PlatformError(f"device {device} is not ringing on call {ref}",
                                code="not-ringing")
        self._cancel_timer(call, f"ring:{device}")
        leg.state = "connected"
        self._emit(CallAnswered(ref=ref, at=self._now(), device=device))
        for other in call.legs.values():
            if other.device != device and other.state == "initiated":
                other.state = "connected"  # internal call: the caller is connected too
                self._emit(CallAnswered(ref=ref, at=self._now(), device=other.device))
        if call.answered is not None and not call.answered.done():
            call.answered.set_result(True)

    async def hangup(self, ref: str, device: str) -> None:
        self._ready_for(Capability.HANGUP)
        call, leg = self._leg(ref, device)
        if leg.state == "alerting" and call.kind == "inbound":
            # Declining an offer: the caller goes back to the queue.
            self._drop_offer(call, device, "rejected")
            return
        others = [g for g in call.legs.values()
                  if g.device != device and g.state in ("connected", "held")]
        if call.customer_present and others and call.kind in ("inbound", "outbound"):
            del call.legs[device]
            self._emit(CallEnded(ref=ref, at=self._now(), device=device, cause="agent-hangup"))
            self._after_call(device, call)
            return
        self._end(call, "agent-hangup")

    async def hold(self, ref: str, device: str) -> None:
        self._ready_for(Capability.HOLD)
        _, leg = self._leg(ref, device)
        if leg.state != "connected":
            raise PlatformError(f"call {ref} is {leg.state} at {device}, not connected",
                                code="not-connected")
        leg.state = "held"
        self._emit(CallHeld(ref=ref, at=self._now(), device=device))

    async def retrieve(self, ref: str, device: str) -> None:
        self._ready_for(Capability.HOLD)
        _, leg = self._leg(ref, device)
        if leg.state != "held":
            raise PlatformError(f"call {ref} is not on hold at {device}", code="not-held")
        leg.state = "connected"
        self._emit(CallRetrieved(ref=ref, at=self._now(), device=device))

    async def mute(self, ref: str, device: str, on: bool) -> None:
        self._ready_for(Capability.MUTE)
        _, leg = self._leg(ref, device)
        if leg.state not in ("connected", "held"):
            raise PlatformError(f"device {device} is not talking on call {ref}",
                                code="not-connected")
        leg.muted = on

    async def dtmf(self, ref: str, device: str, digits: str) -> None:
        self._ready_for(Capability.DTMF)
        _, leg = self._leg(ref, device)
        if not digits or not set(digits) <= _DTMF:
            raise PlatformError(f"{digits!r} are not DTMF digits (0-9, *, #, A-D)",
                                code="bad-digits")
        if leg.state != "connected":
            raise PlatformError(f"device {device} is not connected on call {ref}",
                                code="not-connected")
        self._emit(CallDtmf(ref=ref, at=self._now(), device=device, digits=digits))

    async def blind_transfer(self, ref: str, device: str, target: str) -> None:
        self._ready_for(Capability.BLIND_TRANSFER)
        call, leg = self._leg(ref, device)
        if leg.state not in ("connected", "held"):
            raise PlatformError(f"device {device} is not talking on call {ref}",
                                code="not-connected")
        if target == device:
            raise PlatformError("a call cannot be transferred to the device holding it",
                                code="bad-target")
        to = target if target in self.devices else self._normalize(target)
        del call.legs[device]
        self._emit(CallTransferred(ref=ref, at=self._now(), from_device=device, to_device=to))
        self._after_call(device, call)
        if to in self.devices:
            call.tried = {device}
            self._offer(call, to)
        else:
            call.external = to

    async def consult(self, ref: str, device: str, target: str) -> str:
        self._ready_for(Capability.CONSULT)
        call, leg = self._leg(ref, device)
        if leg.state not in ("connected", "held"):
            raise PlatformError(f"device {device} is not talking on call {ref}",
                                code="not-connected")
        internal = target in self.devices
        to = target if internal else self._normalize(target)
        if to == device:
            raise PlatformError("a device cannot consult itself", code="bad-target")
        if leg.state == "connected":
            leg.state = "held"
            self._emit(CallHeld(ref=ref, at=self._now(), device=device))
        consult = self._new_call("consult", Party(number=to), consult_of=ref)
        consult.legs[device] = _Leg(device, "initiated")
        self._emit(CallInitiated(
            ref=consult.ref, at=self._now(), device=device, callee=Party(number=to),
            direction=Direction.INTERNAL if internal else Direction.OUTBOUND, consult_of=ref))
        if internal:
            consult.legs[to] = _Leg(to, "alerting")
            self._emit(CallOffered(ref=consult.ref, at=self._now(), device=to,
                                   caller=Party(number=device), direction=Direction.INTERNAL,
                                   consult_of=ref))
            self._timer(consult, f"ring:{to}", self._consult_unanswered(consult, to))
        else:
            consult.external = to
            self._timer(consult, "far-end", self._far_end_answers(consult, device, to))
        return consult.ref

    async def complete_transfer(self, ref: str, consult_ref: str, device: str) -> None:
        self._ready_for(Capability.CONSULT)
        call, consult, target = self._consult_pair(ref, consult_ref, device)
        del call.legs[device]
        if target in self.devices:
            call.legs[target] = _Leg(target, "connected")
        else:
            call.external = target
        self._forget(consult)
        self._emit(CallTransferred(ref=ref, at=self._now(), from_device=device,
                                   to_device=target, consult_ref=consult_ref))
        self._emit(CallEnded(ref=consult_ref, at=self._now(), cause="transferred"))
        self._after_call(device, call)

    async def conference(self, ref: str, consult_ref: str, device: str) -> None:
        self._ready_for(Capability.CONFERENCE)
        call, consult, target = self._consult_pair(ref, consult_ref, device)
        call.legs[device].state = "connected"
        if target in self.devices:
            call.legs[target] = _Leg(target, "connected")
        self._forget(consult)
        self._emit(CallConferenced(ref=ref, at=self._now(), devices=(device, target),
                                   consult_ref=consult_ref))
        self._emit(CallEnded(ref=consult_ref, at=self._now(), cause="conferenced"))

    async def set_agent_state(self, device: str, status: AgentStatus,
                              reason: str | None = None) -> None:
        self._ready_for(Capability.AGENT_STATE)
        if status == AgentStatus.BUSY:
            raise PlatformError("the platform sets devices busy itself; send ready or not ready",
                                code="bad-state")
        if status == AgentStatus.WRAP_UP:
            status, reason = AgentStatus.NOT_READY, "wrap-up"
        self._change_state(self._device(device), status, reason)

    # ---------------------------------------------------------------- world

    def customer_calls(self, queue: str | None = None, *, number: str | None = None,
                       name: str | None = None, attached: dict[str, str] | None = None) -> str:
        """A customer dials in and, after the IVR, joins ``queue``. Returns the call's ref."""
        queue = queue or self.queues[0]
        if queue not in self.queues:
            raise PlatformError(f"there is no queue {queue!r} (queues: {', '.join(self.queues)})",
                                code="no-such-queue")
        if number is None:
            customer = self.customers.next()
            number = number or customer.number
            name = name if name is not None else customer.name
            if attached is None:
                attached = self.customers.ivr_data()
        caller = Party(number=number, name=name)
        call = self._new_call("inbound", caller, queue=queue, attached=attached or {})
        call.customer_present = True
        call.queued_at = next(self._ticks)
        self._emit(CallQueued(ref=call.ref, at=self._now(), queue=queue, caller=caller,
                              attached=dict(call.attached)))
        self._route()
        return call.ref

    def customer_hangs_up(self, ref: str) -> None:
        call = self._calls.get(ref)
        if call is None or call.ended or not call.customer_present:
            return
        talking = any(g.state in ("connected", "held") for g in call.legs.values())
        self._end(call, "customer-hangup" if talking or call.external else "abandoned")

    def wait_answered(self, ref: str) -> asyncio.Future[bool]:
        """Resolves True once an agent answers, False if the call ends first."""
        call = self._calls.get(ref)
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if call is None or call.ended:
            fut.set_result(False)
            return fut
        if any(g.state in ("connected", "held") for g in call.legs.values()):
            fut.set_result(True)
            return fut
        if call.answered is None:
            call.answered = fut
        return call.answered

    def set_outcome(self, number: str, outcome: Outcome) -> None:
        """Fix what a dialled customer does (otherwise seeded-random, mostly answers)."""
        self._outcomes[self._normalize(number)] = outcome

    def agent_changes_state_elsewhere(self, device: str, status: AgentStatus,
                                      reason: str | None = None) -> None:
        """As if the agent used a feature code on their phone."""
        self._change_state(self._device(device), status, reason)

    def link_down(self, detail: str = "simulated link loss") -> None:
        if not self._up:
            return
        self._up = False
        self._queue.put_nowait(PlatformStatus(at=self._now(), up=False, detail=detail))

    def link_up(self) -> None:
        if self._up:
            return
        self._up = True
        self._announce_up()

    def live_calls(self) -> list[str]:
        return [ref for ref, c in self._calls.items() if not c.ended]

    def call_state(self, ref: str) -> dict[str, str]:
        """device → leg state of a live call (empty when gone)."""
        call = self._calls.get(ref)
        return {} if call is None else {d: g.state for d, g in call.legs.items()}

    def device_state(self, device: str) -> tuple[AgentStatus, str | None, bool]:
        d = self._device(device)
        return d.status, d.reason, d.after_call

    # ------------------------------------------------------------- internals

    def _now(self) -> Any:
        return self.clock.now()

    def _emit(self, event: PlatformEvent) -> None:
        if self._up:
            self._queue.put_nowait(event)

    def _announce_up(self) -> None:
        self._queue.put_nowait(PlatformStatus(at=self._now(), up=True, detail="simulator"))
        self._queue.put_nowait(PlatformResynced(at=self._now(), calls=tuple(self._snapshot()),
                                                agents={d.name: (d.status, d.reason)
                                                        for d in self.devices.values()}))

    def _snapshot(self) -> Iterable[CallSnapshot]:
        for call in self._calls.values():
            if call.ended:
                continue
            devices = {d: g.state for d, g in call.legs.items()}
            if call.waiting() and call.queue:
                devices[f"queue:{call.queue}"] = "queued"
            if not devices:
                continue
            yield CallSnapshot(ref=call.ref, direction=call.direction,
                               customer=call.customer or Party(), devices=devices,
                               queue=call.queue, attached=dict(call.attached))

    def _ready_for(self, capability: Capability) -> None:
        require(self, capability)
        if not self._up:
            raise PlatformError(f"the platform {self.name!r} is unreachable",
                                code="platform-down")

    def _device(self, device: str) -> _Device:
        d = self.devices.get(device)
        if d is None:
            raise PlatformError(f"there is no device {device!r} on {self.name}",
                                code="no-such-device")
        return d

    def _leg(self, ref: str, device: str) -> tuple[_Call, _Leg]:
        call = self._calls.get(ref)
        if call is None or call.ended:
            raise PlatformError(f"there is no call {ref} on {self.name}", code="no-such-call")
        leg = call.legs.get(device)
        if leg is None:
            raise PlatformError(f"device {device} is not on call {ref}", code="not-on-call")
        return call, leg

    def _legs_of(self, device: str) -> list[_Leg]:
        return [c.legs[device] for c in self._calls.values()
                if not c.ended and device in c.legs]

    def _normalize(self, number: str) -> str:
        try:
            parsed = phonenumbers.parse(number, self.region)
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is None or not phonenumbers.is_possible_number(parsed):
            raise PlatformError(f"{number!r} is not a valid phone number", code="invalid-number")
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

    def _new_call(self, kind: str, customer: Party | None, **kw: Any) -> _Call:
        ref = f"{self.name}-{next(self._ids):06d}"
        call = _Call(ref=ref, kind=kind, customer=customer, **kw)
        self._calls[ref] = call
        return call

    def _internal_call(self, device: str, target: str, attached: dict[str, str]) -> str:
        call = self._new_call("internal", Party(number=target), attached=attached)
        call.legs[device] = _Leg(device, "initiated")
        call.legs[target] = _Leg(target, "alerting")
        self._emit(CallInitiated(ref=call.ref, at=self._now(), device=device,
                                 callee=Party(number=target), direction=Direction.INTERNAL,
                                 attached=dict(attached)))
        self._emit(CallOffered(ref=call.ref, at=self._now(), device=target,
                               caller=Party(number=device), direction=Direction.INTERNAL,
                               attached=dict(attached)))
        self._timer(call, f"ring:{target}", self._internal_unanswered(call, target))
        return call.ref

    # ACD ---------------------------------------------------------------

    def _eligible(self) -> list[_Device]:
        busy = {d for c in self._calls.values() if not c.ended for d in c.legs}
        return [d for d in self.devices.values()
                if d.status == AgentStatus.READY and not d.after_call and d.name not in busy]

    def _route(self) -> None:
        waiting = sorted((c for c in self._calls.values() if c.waiting()),
                         key=lambda c: c.queued_at)
        for call in waiting:
            free = self._eligible()
            if not free:
                return
            fresh = [d for d in free if d.name not in call.tried]
            if not fresh:
                call.tried.clear()
                fresh = free
            self._offer(call, min(fresh, key=lambda d: d.idle_since).name)

    def _offer(self, call: _Call, device: str) -> None:
        call.legs[device] = _Leg(device, "alerting")
        call.tried.add(device)
        self._emit(CallOffered(ref=call.ref, at=self._now(), device=device,
                               caller=call.customer or Party(), queue=call.queue,
                               attached=dict(call.attached)))
        self._timer(call, f"ring:{device}", self._ring_timeout(call, device))

    def _drop_offer(self, call: _Call, device: str, cause: str) -> None:
        self._cancel_timer(call, f"ring:{device}")
        call.legs.pop(device, None)
        self._emit(CallEnded(ref=call.ref, at=self._now(), device=device, cause=cause))
        if not call.queue and call.customer_present:
            call.queue = self.queues[0]  # a transfer nobody took goes to the first queue
        self._route()

    async def _ring_timeout(self, call: _Call, device: str) -> None:
        await self.clock.sleep(self.ring_timeout)
        leg = call.legs.get(device)
        if not call.ended and leg is not None and leg.state == "alerting":
            call.timers.pop(f"ring:{device}", None)
            self._drop_offer(call, device, "no-answer")

    async def _internal_unanswered(self, call: _Call, target: str) -> None:
        await self.clock.sleep(self.ring_timeout)
        leg = call.legs.get(target)
        if not call.ended and leg is not None and leg.state == "alerting":
            call.timers.pop(f"ring:{target}", None)
            self._emit(CallFailed(ref=call.ref, at=self._now(), device=target,
                                  cause="no-answer"))
            self._end(call, "no-answer")

    _consult_unanswered = _internal_unanswered

    async def _far_end_answers(self, call: _Call, device: str, number: str) -> None:
        outcome = self._outcomes.get(number) or self.rng.choices(
            ["answer", "busy", "no-answer"], weights=[85, 7, 8])[0]
        lo, hi = self.answer_delay
        await self.clock.sleep(self.rng.uniform(lo, hi))
        if call.ended:
            return
        call.timers.pop("far-end", None)
        if outcome == "answer":
            leg = call.legs.get(device)
            if leg is None:
                return
            leg.state = "connected"
            if call.kind == "outbound":
                call.customer_present = True
            self._emit(CallAnswered(ref=call.ref, at=self._now(), device=device))
            return
        if outcome == "no-answer":
            await self.clock.sleep(self.ring_timeout)
            if call.ended:
                return
        self._emit(CallFailed(ref=call.ref, at=self._now(), device=device, cause=outcome))
        self._forget(call)
        self._after_call(device, call)

    def _consult_pair(self, ref: str, consult_ref: str, device: str) -> tuple[_Call, _Call, str]:
        call, leg = self._leg(ref, device)
        consult, _ = self._leg(consult_ref, device)
        if consult.consult_of != ref:
            raise PlatformError(f"call {consult_ref} is not a consultation of {ref}",
                                code="not-a-consultation")
        others = [g for g in consult.legs.values() if g.device != device]
        if consult.external:
            answered = consult.legs[device].state == "connected"
            target = consult.external
        else:
            answered = bool(others) and others[0].state == "connected"
            target = others[0].device if others else ""
        if not answered:
            raise PlatformError(f"the consulted party has not answered call {consult_ref} yet",
                                code="not-answered")
        return call, consult, target

    # state -------------------------------------------------------------

    def _change_state(self, dev: _Device, status: AgentStatus, reason: str | None) -> None:
        if status != AgentStatus.NOT_READY:
            reason = None
        if status == AgentStatus.READY:
            dev.after_call = False
        if (dev.status, dev.reason) != (status, reason):
            dev.status, dev.reason = status, reason
            self._emit(AgentStateChanged(at=self._now(), device=dev.name, status=status,
                                         reason=reason))
        self._route()

    def _after_call(self, device: str, call: _Call) -> None:
        dev = self.devices.get(device)
        if dev is None:
            return
        dev.idle_since = next(self._ticks)
        if call.kind in ("inbound", "outbound"):
            dev.after_call = True
        self._route()

    def _end(self, call: _Call, cause: str) -> None:
        devices = list(call.legs)
        self._forget(call)
        self._emit(CallEnded(ref=call.ref, at=self._now(), cause=cause))
        for device in devices:
            self._after_call(device, call)
        self._route()

    def _forget(self, call: _Call) -> None:
        call.ended = True
        self._cancel_timers(call)
        if call.answered is not None and not call.answered.done():
            call.answered.set_result(False)
        self._calls.pop(call.ref, None)

    def _timer(self, call: _Call, key: str, coro: Coroutine[Any, Any, None]) -> None:
        self._cancel_timer(call, key)
        call.timers[key] = asyncio.get_running_loop().create_task(coro)

    def _cancel_timer(self, call: _Call, key: str) -> None:
        task = call.timers.pop(key, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    def _cancel_timers(self, call: _Call) -> None:
        for key in list(call.timers):
            self._cancel_timer(call, key)


@dataclass(frozen=True)
class Customer:
    number: str
    name: str


class CustomerBook:
    """Seeded, realistic callers: valid French and international numbers and names."""

    def __init__(self, rng: random.Random, size: int = 400) -> None:
        self.rng = rng
        self._pool: list[Customer] = []
        while len(self._pool) < size:
            cc, region, prefixes, digits = rng.choice(NUMBER_PLANS)
            national = rng.choice(prefixes) + "".join(
                rng.choice("0123456789") for _ in range(digits))
            parsed = phonenumbers.parse(f"+{cc}{national}", region)
            if not phonenumbers.is_valid_number(parsed):
                continue
            number = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            self._pool.append(Customer(number, name))
        self._next = 0

    def next(self) -> Customer:
        c = self._pool[self._next % len(self._pool)]
        self._next += 1
        return c

    def ivr_data(self) -> dict[str, str]:
        return {"customer_id": f"C-{self.rng.randint(10000, 99999)}",
                "reason": self.rng.choice(REASONS),
                "language": self.rng.choice(["fr", "fr", "fr", "en"])}


class TrafficGenerator:
    """Customers calling at ``calls_per_second`` (Poisson), talking ``handle_time``
    (mean, sd) seconds once answered, and abandoning after ``patience`` if not."""

    def __init__(
        self,
        sim: SimulatorConnector,
        *,
        clock: Clock | None = None,
        seed: int | None = None,
        calls_per_second: float = 0.1,
        handle_time: tuple[float, float] = (90.0, 30.0),
        patience: tuple[float, float] = (120.0, 40.0),
        queues: dict[str, float] | None = None,
    ) -> None:
        if calls_per_second <= 0:
            raise ValueError("calls_per_second must be positive")
        self.sim = sim
        self.clock = clock or sim.clock
        self.rng = random.Random(seed) if seed is not None else sim.rng
        self.rate = calls_per_second
        self.handle_time = handle_time
        self.patience = patience
        self.queues = queues or {q: 1.0 for q in sim.queues}
        self.placed = 0
        self.answered = 0
        self.abandoned = 0
        self._customers: set[asyncio.Task[None]] = set()

    def _draw(self, mean_sd: tuple[float, float]) -> float:
        mean, sd = mean_sd
        return max(0.2, self.rng.gauss(mean, sd))

    async def run(self, duration: float | None = None) -> None:
        start = self.clock.now()
        names, weights = list(self.queues), list(self.queues.values())
        try:
            while True:
                await self.clock.sleep(self.rng.expovariate(self.rate))
                if duration is not None and (
                        self.clock.now() - start).total_seconds() >= duration:
                    return
                if not self.sim.health().up:
                    continue
                ref = self.sim.customer_calls(self.rng.choices(names, weights)[0])
                self.placed += 1
                task = asyncio.get_running_loop().create_task(self._customer(ref))
                self._customers.add(task)
                task.add_done_callback(self._customers.discard)
        finally:
            for task in list(self._customers):
                task.cancel()

    async def _customer(self, ref: str) -> None:
        answered = self.sim.wait_answered(ref)
        patience = asyncio.get_running_loop().create_task(
            self.clock.sleep(self._draw(self.patience)))
        try:
            await asyncio.wait({answered, patience}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            patience.cancel()
        if answered.done() and answered.result():
            self.answered += 1
            await self.clock.sleep(self._draw(self.handle_time))
            self.sim.customer_hangs_up(ref)
        elif not answered.done():
            self.abandoned += 1
            self.sim.customer_hangs_up(ref)
