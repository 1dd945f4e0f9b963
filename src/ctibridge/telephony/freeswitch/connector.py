"""The FreeSWITCH connector: Event Socket in, normalized events out, commands back.

Lifecycle (one task, :meth:`FreeSwitchConnector._run`): connect and ``auth``;
subscribe to the events the normalizer reads; take the snapshot (``show channels
as json``, ``show calls as json``, ``callcenter_config queue list members`` of each
queue, ``callcenter_config agent list``) and only then count the link as up and
emit ``PlatformStatus(up)`` and ``PlatformResynced``; normalize events until the
link drops; report ``PlatformStatus(down)`` with the reason, wait (exponential
back-off with jitter capped by ``reconnect_max``; ``auth_retry`` after a refused
password) and start again. A backlog overflow re-takes the snapshot.

Commands map onto api/bgapi commands (docs/connectors/freeswitch.md):

* make_call: ``bgapi originate {ctibridge_request=<ref>,...}user/<agent> <number> XML
  <originate_context>`` (the agent's phone rings first, then the number);
* answer: ``uuid_phone_event <leg> talk`` (a SIP NOTIFY the phone must accept;
  ``options.answer: phone_event``), else not offered;
* hangup: ``uuid_kill``; hold/retrieve: ``uuid_hold`` / ``uuid_hold off`` on the agent leg;
* blind transfer: ``uuid_transfer <agent leg> -bleg <target> XML <transfer_context>``;
* consult: ``uuid_broadcast <agent leg> att_xfer::<target>``; complete: the agent
  leg hangs up (``uuid_kill``); cancel: the consulted leg hangs up;
* conference: the customer and the consultation moved into a mod_conference room;
* DTMF: ``uuid_send_dtmf`` to the customer's leg;
* agent state: ``callcenter_config agent set status <agent> '<status>'``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from typing import Any

import structlog

from ...clock import Clock
from ...model.agent import AgentStatus
from ...model.errors import CapabilityMissing, PlatformError
from ...model.events import CallDtmf, PlatformResynced
from ..base import Capability, Health
from ..link import Backoff, LinkedConnector
from .client import (
    DISCONNECTED,
    OVERFLOW,
    EslAuthError,
    EslClient,
    EslCommandError,
    EslConnectionError,
    channel_var,
    quote,
)
from .config import FreeSwitchOptions, parse_options
from .esl import Event
from .normalizer import Chan, Normalizer, parse_json_rows, parse_rows

# Queued among the events by resync(): the pump answers with a snapshot.
_RESYNC = "resync"
log = structlog.get_logger("ctibridge.freeswitch")

# What the normalizer reads; nothing else is sent to us (ALL carries ~10x more).
SUBSCRIPTION = ("CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_BRIDGE CHANNEL_UNBRIDGE CHANNEL_HOLD "
                "CHANNEL_UNHOLD CHANNEL_EXECUTE CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE "
                "CHANNEL_DESTROY DTMF BACKGROUND_JOB API HEARTBEAT "
                "CUSTOM callcenter::info conference::maintenance")
BASE_CAPABILITIES = frozenset({
    Capability.MAKE_CALL, Capability.HANGUP, Capability.HOLD, Capability.BLIND_TRANSFER,
    Capability.CONSULT, Capability.CONFERENCE, Capability.DTMF, Capability.AGENT_STATE,
})
_NUMBER = re.compile(r"^\+?[0-9A-Za-z*#._-]{1,40}$")
_DIGITS = re.compile(r"^[0-9*#A-Da-d]{1,64}$")
_KEY = re.compile(r"^[A-Za-z0-9_]{1,40}$")

_TO_SWITCH = {
    AgentStatus.LOGGED_OUT: "Logged Out",
}


def capabilities_of(options: FreeSwitchOptions) -> frozenset[Capability]:
    caps = set(BASE_CAPABILITIES)
    if options.answer == "phone_event":
        caps.add(Capability.ANSWER)
    return frozenset(caps)


class FreeSwitchConnector(LinkedConnector):
    """``telephony: [{type: freeswitch, options: {...}}]`` — see :mod:`.config`."""

    kind = "freeswitch"

    def __init__(self, name: str, options: FreeSwitchOptions, *,
                 clock: Clock | None = None) -> None:
        super().__init__(name, clock)
        self.opts = options
        self.capabilities = capabilities_of(options)
        self.normalizer = Normalizer(options, self.clock.now)
        self._client: EslClient | None = None
        self._unsent: dict[str, tuple[AgentStatus, str | None]] = {}
        self._rooms = 0
        self._jobs: set[asyncio.Task[None]] = set()
        self.version: str | None = None

    # ------------------------------------------------------------- factory

    @classmethod
    def from_options(cls, name: str, options: dict[str, Any],
                     clock: Clock) -> FreeSwitchConnector:
        return cls(name, parse_options(name, options), clock=clock)

    @staticmethod
    def validate_options(name: str, options: dict[str, Any]) -> None:
        parse_options(name, options)

    # ----------------------------------------------------------- lifecycle

    async def stop(self) -> None:
        self._stopping = True
        client = self._client
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close(exit_first=True)
        for job in list(self._jobs):
            job.cancel()
        await self._end_task()
        self._health = Health(False, "stopped")

    async def checks(self) -> list[tuple[bool, str]]:
        """What ``ctibridge telephony test`` verifies beyond the link: mod_callcenter,
        the agents configured, the queues."""
        client = self._esl()
        out: list[tuple[bool, str]] = []
        try:
            agents = parse_rows(await client.api("callcenter_config agent list"))
        except EslCommandError as exc:
            return [(False, f"mod_callcenter does not answer ({exc.message}); load it in "
                            "modules.conf.xml")]
        known = {a.get("name") for a in agents}
        for ext in self.opts.agents:
            agent = self.opts.agent_name(ext)
            out.append((agent in known, f"agent {agent} ({ext}) "
                        + ("is in callcenter.conf.xml" if agent in known else
                           "is not a mod_callcenter agent (callcenter.conf.xml <agents>)")))
        # Tiers say which queues offer calls to an agent: one without a tier never rings.
        tiers = parse_rows(await client.api("callcenter_config tier list", check=False))
        for ext in self.opts.agents:
            agent = self.opts.agent_name(ext)
            wanted = (self.opts.agents[ext].queues or self.opts.queues)
            mine = {t.get("queue") for t in tiers if t.get("agent") == agent}
            missing = [q for q in wanted if q not in mine]
            if agent in known:
                where = ", ".join(sorted(q for q in mine if q)) or "no queue"
                note = (f"; none in {', '.join(missing)} (callcenter.conf.xml <tiers>)"
                        if missing else "")
                out.append((bool(mine) and not missing, f"agent {agent} has tiers in "
                            f"{where}{note}"))
        for queue in self.opts.queues:
            text = await client.api(f"callcenter_config queue list agents {queue}", check=False)
            ok = not text.startswith("-ERR")
            out.append((ok, f"queue {queue} " + ("exists" if ok else f"refused: {text.strip()}")))
        return out or [(True, "mod_callcenter answers (no agents configured here)")]

    def _client_for(self) -> EslClient:
        return EslClient(self.opts.host, self.opts.port, self.opts.password,
                         timeout=self.opts.timeout, ping_interval=self.opts.ping_interval,
                         max_backlog=self.opts.max_backlog)

    async def _run(self) -> None:
        backoff = Backoff(self.opts.reconnect_min, self.opts.reconnect_max)
        where = f"{self.opts.host}:{self.opts.port}"
        while not self._stopping:
            client = self._client_for()
            try:
                await client.connect()
                await client.subscribe(self.opts.events, SUBSCRIPTION)
            except EslConnectionError as exc:
                await client.close()
                wait = backoff.next()
                delay = self.opts.auth_retry if isinstance(exc, EslAuthError) else wait
                await self._down(str(exc), retry_in=delay)
                await self.clock.sleep(delay)
                continue
            except EslCommandError as exc:
                await client.close()
                await self._down(f"the event socket refused our subscription: {exc}",
                                 retry_in=self.opts.auth_retry)
                await self.clock.sleep(self.opts.auth_retry)
                continue
            self._client = client
            self.connections += 1
            try:
                if self.version is None:
                    with contextlib.suppress(EslCommandError):
                        self.version = (await client.api("version")).strip()
                snapshot = await self._snapshot(client)
                await self._send_unsent(client)
                await self._report_up(f"connected to {self.version or 'FreeSWITCH'} at {where}")
                await self._emit(snapshot)
                backoff.reset()
                await self._pump(client)
                reason = client.close_reason or "connection closed"
            except (EslConnectionError, EslCommandError) as exc:
                reason = str(exc)
            finally:
                self._up.clear()
                self._client = None
                await client.close()
            if self._stopping:
                break
            delay = backoff.next()
            await self._down(f"lost the link to FreeSWITCH at {where}: {reason}",
                             retry_in=delay)
            await self.clock.sleep(delay)

    async def _snapshot(self, client: EslClient) -> PlatformResynced:
        """Every live channel, call, queue member and agent, as the switch has them now.

        Events that arrived before it are superseded: dropped.
        """
        while not client.events.empty():
            client.events.get_nowait()
        channels = parse_json_rows(await client.api("show channels as json", check=False))
        calls = parse_json_rows(await client.api("show calls as json", check=False))
        queues = list(self.opts.queues)
        if not queues:
            rows = parse_rows(await client.api("callcenter_config queue list", check=False))
            queues = [r["name"] for r in rows if r.get("name")]
        members: list[dict[str, str]] = []
        for queue in queues:
            members.extend(parse_rows(await client.api(
                f"callcenter_config queue list members {queue}", check=False)))
        agents = parse_rows(await client.api("callcenter_config agent list", check=False))
        return self.normalizer.resync(channels, calls, members, agents)

    async def resync(self) -> None:
        """A fresh PlatformResynced, link untouched (the hybrid edge asks after a WAN cut),
        made by the event pump between two events, as after an overflow."""
        client = self._client
        if client is not None:  # else reconnecting: the reconnection resynchronizes
            client.events.put_nowait(_RESYNC)

    async def _pump(self, client: EslClient) -> None:
        while True:
            item = await client.events.get()
            if item == DISCONNECTED:
                return
            if item == OVERFLOW or item == _RESYNC:
                if item == OVERFLOW:
                    log.warning("freeswitch.backlog_overflow", platform=self.name)
                await self._emit(await self._snapshot(client))
                continue
            assert isinstance(item, Event)
            try:
                out = self.normalizer.feed(item)
            except Exception:  # one odd event must not stop the link
                log.exception("freeswitch.normalizer_failed", platform=self.name,
                              event=item.name)
                continue
            await self._emit(*out)

    # ------------------------------------------------------------ helpers

    def _esl(self) -> EslClient:
        client = self._client
        if client is None or not client.connected:
            raise PlatformError(f"FreeSWITCH {self.name!r} is not connected "
                                f"({self._health.detail})", code="platform-down")
        return client

    async def _api(self, what: str, command: str) -> str:
        try:
            return await self._esl().api(command)
        except EslCommandError as exc:
            code = "no-such-channel" if "No such channel" in exc.message else "platform-refused"
            raise PlatformError(f"FreeSWITCH refused {what}: {exc.message}", code=code) from None
        except EslConnectionError as exc:
            raise PlatformError(f"{what} failed: {exc}", code="platform-down") from None

    def _agent_leg(self, ref: str, device: str) -> Chan:
        leg = self.normalizer.agent_leg(ref, device)
        if leg is None:
            raise PlatformError(f"{device} has no leg in call {ref}", code="no-such-channel")
        return leg

    def _agent(self, device: str) -> str:
        if device not in self.opts.agents:
            raise PlatformError(f"{device} is not an agent of platform {self.name!r} "
                                "(options.agents)", code="no-such-device")
        return self.opts.agent_name(device)

    def _target(self, target: str) -> str:
        if not _NUMBER.match(target):
            raise PlatformError(f"{target!r} is not a number or extension", code="bad-request")
        return target

    # ------------------------------------------------------------ commands

    async def make_call(self, device: str, number: str, *,
                        attached: dict[str, str] | None = None) -> str:
        self._agent(device)
        number = self._target(number)
        client = self._esl()
        ref = f"c2c-{secrets.token_hex(8)}"
        variables = {"ctibridge_request": ref,
                     "origination_caller_id_number": device,
                     "origination_caller_id_name": channel_var(f"Agent {device}"),
                     "originate_timeout": str(int(self.opts.originate_timeout))}
        for key, value in (attached or {}).items():
            if _KEY.match(key):
                variables[f"cti_{key.lower()}"] = channel_var(value)
        head = ",".join(f"{k}={v}" for k, v in variables.items())
        self._emit_now(self.normalizer.expect_originate(ref=ref, device=device, number=number,
                                                        attached=attached))
        try:
            job = await client.bgapi(f"originate {{{head}}}{self.opts.dial_of(device)} "
                                     f"{number} XML {self.opts.originate_context}")
        except (EslCommandError, EslConnectionError) as exc:
            self._emit_now(*self.normalizer.originate_failed(ref, str(exc)))
            raise PlatformError(f"FreeSWITCH refused the call: {exc}",
                                code="platform-refused") from None
        self.normalizer.job_for(job.uuid, ref)
        # The job's result may have arrived before we knew its Job-UUID: the client
        # keeps it for the Job, and the normalizer says it once either way.
        task = asyncio.create_task(self._originate_done(ref, job.result))
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)
        return ref

    async def _originate_done(self, ref: str, result: asyncio.Future[str]) -> None:
        try:
            body = await result
        except EslConnectionError:
            return  # the link went: the resync after it tells what became of the call
        self._emit_now(*self.normalizer.job_result(ref, body))

    async def answer(self, ref: str, device: str) -> None:
        if Capability.ANSWER not in self.capabilities:
            raise CapabilityMissing(
                f"the platform {self.name!r} cannot answer for the phone (set "
                "options.answer: phone_event for SIP phones that accept a talk NOTIFY)",
                capability=Capability.ANSWER.value, platform=self.name)
        leg = self._agent_leg(ref, device)
        await self._api("answering", f"uuid_phone_event {leg.uuid} talk")

    async def hangup(self, ref: str, device: str) -> None:
        leg = self._agent_leg(ref, device)
        await self._api("hanging up", f"uuid_kill {leg.uuid} NORMAL_CLEARING")

    async def hold(self, ref: str, device: str) -> None:
        leg = self._agent_leg(ref, device)
        await self._api("holding the call", f"uuid_hold {leg.uuid}")

    async def retrieve(self, ref: str, device: str) -> None:
        leg = self._agent_leg(ref, device)
        await self._api("retrieving the call", f"uuid_hold off {leg.uuid}")

    async def blind_transfer(self, ref: str, device: str, target: str) -> None:
        leg = self._agent_leg(ref, device)
        target = self._target(target)
        await self._api("the transfer", f"uuid_transfer {leg.uuid} -bleg {target} XML "
                                        f"{self.opts.transfer_context}")

    def _dial(self, target: str) -> str:
        if target in self.opts.agents:
            return self.opts.dial_of(target)
        return f"loopback/{target}/{self.opts.transfer_context}"

    async def consult(self, ref: str, device: str, target: str) -> str:
        leg = self._agent_leg(ref, device)
        target = self._target(target)
        consult_ref = f"{ref}~x{secrets.token_hex(4)}"
        self.normalizer.expect_consult(leg.uuid, consult_ref)
        await self._api(f"consulting {target}",
                        f"uuid_broadcast {leg.uuid} att_xfer::{self._dial(target)}")
        return consult_ref

    async def complete_transfer(self, ref: str, consult_ref: str, device: str) -> None:
        # att_xfer: the transferer hanging up joins the two others.
        leg = self._agent_leg(ref, device)
        await self._api("completing the transfer", f"uuid_kill {leg.uuid} NORMAL_CLEARING")

    async def cancel_consult(self, ref: str, consult_ref: str, device: str) -> None:
        legs = [c for c in self.normalizer.legs(consult_ref) if c.device != device]
        if not legs:
            raise PlatformError(f"no consultation {consult_ref} in progress",
                                code="no-such-call")
        for leg in legs:
            await self._api("ending the consultation", f"uuid_kill {leg.uuid} NORMAL_CLEARING")

    async def conference(self, ref: str, consult_ref: str, device: str) -> None:
        """The customer and the consultation (agent + consulted party) into one room."""
        customer = self.normalizer.customer_leg(ref)
        agent = self._agent_leg(ref, device)
        if customer is None:
            raise PlatformError(f"no customer leg in call {ref}", code="no-such-channel")
        self._rooms += 1
        room = f"cti-{secrets.token_hex(4)}-{self._rooms}@{self.opts.conference_profile}"
        await self._api("moving the customer to the conference",
                        f"uuid_transfer {customer.uuid} conference:{room} inline")
        await self._api("moving the consultation to the conference",
                        f"uuid_transfer {agent.uuid} -both conference:{room} inline")

    async def dtmf(self, ref: str, device: str, digits: str) -> None:
        if not _DIGITS.match(digits):
            raise PlatformError(f"{digits!r} are not DTMF digits (0-9 * # A-D)",
                                code="bad-request")
        customer = self.normalizer.customer_leg(ref)
        if customer is None:
            raise PlatformError(f"nobody to send digits to in call {ref}",
                                code="no-such-channel")
        await self._api("sending DTMF", f"uuid_send_dtmf {customer.uuid} {digits}")
        await self._emit(CallDtmf(ref=ref, at=self.clock.now(), device=device, digits=digits))

    async def mute(self, ref: str, device: str, on: bool) -> None:
        raise CapabilityMissing(f"the platform {self.name!r} cannot mute",
                                capability=Capability.MUTE.value, platform=self.name)

    def status_for(self, status: AgentStatus, reason: str | None) -> str:
        """Our state -> mod_callcenter's status (see docs: the reason mapping)."""
        if status == AgentStatus.LOGGED_OUT:
            return "Logged Out"
        if status == AgentStatus.READY:
            return self.opts.ready_status
        return self.opts.break_reasons.get(reason or "", self.opts.not_ready_status)

    async def set_agent_state(self, device: str, status: AgentStatus,
                              reason: str | None = None) -> None:
        """While the link is down the change is refused and remembered: it is made as
        soon as the link is back."""
        self._agent(device)
        try:
            client = self._esl()
        except PlatformError as exc:
            self._unsent[device] = (status, reason)
            raise PlatformError(f"{exc.message}; {device} will be set {status} when the link "
                                "is back", code="platform-down") from None
        self._unsent.pop(device, None)
        await self._apply_state(client, device, status, reason)

    async def _apply_state(self, client: EslClient, device: str, status: AgentStatus,
                           reason: str | None) -> None:
        agent = self.opts.agent_name(device)
        wanted = self.status_for(status, reason)
        self.normalizer.pushing(device, wanted,
                                reason if status == AgentStatus.NOT_READY else None)
        try:
            await client.api(f"callcenter_config agent set status {agent} {quote(wanted)}")
        except EslCommandError as exc:
            raise PlatformError(f"FreeSWITCH refused status {wanted!r} for {agent}: "
                                f"{exc.message}", code="platform-refused") from None
        except EslConnectionError as exc:
            self._unsent[device] = (status, reason)
            raise PlatformError(f"setting {agent} failed: {exc}", code="platform-down") from None

    async def _send_unsent(self, client: EslClient) -> None:
        for device, (status, reason) in list(self._unsent.items()):
            try:
                await self._apply_state(client, device, status, reason)
                self._unsent.pop(device, None)
            except PlatformError as exc:
                log.warning("freeswitch.unsent_state_refused", device=device, error=exc.message)
                self._unsent.pop(device, None)
