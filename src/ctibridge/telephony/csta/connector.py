"""The CSTA connector: one switch (Avaya AES, OpenScape Voice, Alcatel OXE) per instance.

Lifecycle (one task, :meth:`CstaConnector._run`): connect; the dialect's
session set-up (DMCC application session); a device id and a monitor
(MonitorStart, cross-reference id kept per device) for every agent
extension; the resync — SnapshotDevice per device, SnapshotCall per call
found, GetAgentState per device — emitted as ``PlatformResynced`` so the core
drops every call that ended while we were away; then ``PlatformStatus(up)``
and events until the link drops (a heartbeat that gets no answer drops it
too). Then ``PlatformStatus(down)``, back-off (doubling, capped by
``reconnect_max``) and again. Events that arrive during the resync wait and
are applied after it. :meth:`CstaConnector.resync` (asked by the hybrid edge)
takes the same snapshots on the live link.

Commands are ECMA-269 services on the agent's connection (callID + the
device's id); a negative acknowledgement raises our stable error codes
(:mod:`.errors`).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import structlog

from ...clock import Clock, SystemClock
from ...model.agent import AgentStatus
from ...model.errors import CapabilityMissing, ConfigError, PlatformError
from ...model.events import (
    AgentStateChanged,
    PlatformEvent,
    PlatformResynced,
    PlatformStatus,
)
from ..base import Capability, Health
from ..link import Backoff
from .calls import CallTracker
from .config import CstaOptions, parse_options
from .dialect import Dialect, as_list, dig
from .errors import to_cti_error
from .link import CstaLink, LinkClosed, RequestFailed
from .message import ConnectionId, CstaMessage, Device, Kind, Value

log = structlog.get_logger("ctibridge.csta")
# SnapshotCall refusals that mean "that call no longer exists".
_GONE = {"invalidCallID", "invalidConnectionID", "invalidCstaCallIdentifier",
         "invalidCstaConnectionIdentifier"}


# Requests in flight at once while monitoring and snapshotting: a switch answers them in
# parallel, so 1,000 devices do not cost 3,000 round trips end to end.
WINDOW = 16


async def _each(items: list[str], fn: Callable[[str], Awaitable[None]]) -> None:
    """``fn`` for every item, at most WINDOW at a time; the first failure cancels the rest."""
    gate = asyncio.Semaphore(WINDOW)

    async def one(item: str) -> None:
        async with gate:
            await fn(item)

    try:
        async with asyncio.TaskGroup() as group:
            for item in items:
                group.create_task(one(item))
    except BaseExceptionGroup as group_error:  # the link's own error, not a group of them
        raise group_error.exceptions[0] from None


def make_dialect(options: CstaOptions) -> Dialect:
    opts = options.model_dump()
    if options.dialect == "avaya":
        from .avaya import AvayaDialect

        return AvayaDialect(opts)
    if options.dialect == "openscape":
        from .openscape import OpenScapeDialect

        return OpenScapeDialect(opts)
    try:  # the OXE dialect (ECMA-285 BER) lives in its own module
        mod = importlib.import_module(f"{__package__}.oxe")
        cls: type[Dialect] = mod.OxeDialect
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"the CSTA dialect 'oxe' is not available: {exc}",
                          code="config-invalid") from None
    return cls(opts)


class CstaConnector:
    def __init__(self, name: str, options: CstaOptions, *, clock: Clock | None = None,
                 dialect: Dialect | None = None) -> None:
        self.name = name
        self.options = options
        self.clock = clock or SystemClock()
        self.dialect = dialect or make_dialect(options)
        self.capabilities: frozenset[Capability] = self.dialect.capabilities
        self.devices = list(dict.fromkeys(options.devices))
        self._device_set = set(self.devices)
        self._ids: dict[str, str] = {}  # extension -> switch device id
        self._xrefs: dict[str, str] = {}  # extension -> monitorCrossRefID
        self._by_xref: dict[str, str] = {}
        self.tracker = CallTracker(self._mine, self.dialect.extension, self.clock,
                                   self.dialect.attached)
        self._queue: asyncio.Queue[PlatformEvent] = asyncio.Queue()
        self._link: CstaLink | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._health = Health(False, "not started")
        self._ready = False
        self._held_back: list[CstaMessage] = []
        self._resyncing = False  # a snapshot on the live link: events wait behind it
        self._resync_lock = asyncio.Lock()
        self.link_count = 0  # links opened so far (tests and health)
        self.refused: dict[str, str] = {}  # devices the switch would not monitor -> why

    @classmethod
    def from_options(cls, name: str, options: dict[str, Any], clock: Clock) -> CstaConnector:
        return cls(name, parse_options(name, options), clock=clock)

    @staticmethod
    def validate_options(name: str, options: dict[str, Any]) -> None:
        opts = parse_options(name, options)
        make_dialect(opts)

    def _mine(self, device: str) -> bool:
        return device in self._device_set

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name=f"csta-{self.name}")

    async def stop(self) -> None:
        self._stopping = True
        link = self._link
        if link is not None:
            with contextlib.suppress(Exception):
                # Stop the monitors and the session politely; the socket closes anyway.
                for xref in list(self._by_xref):
                    await link.request(CstaMessage(kind=Kind.INVOKE, name="MonitorStop",
                                                   cross_ref=xref), timeout=2)
                await self.dialect.close(link)
            await link.close("stopped")
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    def health(self) -> Health:
        return self._health

    async def events(self) -> AsyncIterator[PlatformEvent]:
        while True:
            yield await self._queue.get()

    def _emit(self, ev: PlatformEvent) -> None:
        self._queue.put_nowait(ev)

    async def _run(self) -> None:
        # Plain doubling, no jitter: the waits this connector has always had.
        backoff = Backoff(self.options.reconnect_min, self.options.reconnect_max,
                          jitter=False, doublings=64)
        while not self._stopping:
            reason = ""
            try:
                await self._session()
                backoff.reset()  # it was up: retry quickly
                reason = self._link.close_reason if self._link else "closed"
            except asyncio.CancelledError:
                raise
            except RequestFailed as exc:
                reason = f"the switch refused the session: {exc}"
            except (OSError, LinkClosed, TimeoutError) as exc:
                reason = f"cannot reach {self.options.host}:{self.options.effective_port}: " \
                         f"{exc or type(exc).__name__}"
            except Exception as exc:  # a bug must not end reconnection
                log.exception("csta.session_failed", platform=self.name)
                reason = f"{type(exc).__name__}: {exc}"
            finally:
                if self._link is not None:
                    await self._link.close("reconnecting")
            if self._stopping:
                break
            if self._health.up or self._health.detail != reason:
                self._health = Health(False, reason)
                self._emit(PlatformStatus(at=self.clock.now(), up=False, detail=reason))
            self._ready = False
            await asyncio.sleep(backoff.next())

    async def _session(self) -> None:
        self._ready = False
        self._held_back.clear()
        self._xrefs.clear()
        self._by_xref.clear()
        link = CstaLink(self.dialect.codec(), self.dialect.framing(), self._on_message,
                        timeout=self.options.request_timeout)
        self._link = link
        await link.connect(self.options.host, self.options.effective_port,
                           ssl=self.options.ssl_context())
        self.link_count += 1
        await self.dialect.open(link)
        self.refused.clear()

        async def monitor(ext: str) -> None:
            try:
                device_id = await self.dialect.device_id(link, ext)
                answer = await link.request(CstaMessage(
                    kind=Kind.INVOKE, name="MonitorStart",
                    args={"monitorObject": Device.of(device_id)}))
            except RequestFailed as exc:
                # One wrong extension must not keep the others off: it is reported instead.
                err = exc.answer.error
                self.refused[ext] = f"{err.category}/{err.value}" if err else "refused"
                log.warning("csta.monitor_refused", platform=self.name, device=ext,
                            error=str(exc))
                return
            xref = answer.cross_ref or answer.text("monitorCrossRefID")
            if not xref:
                raise LinkClosed(f"MonitorStart for {ext} gave no cross-reference id")
            self._ids[ext] = device_id
            self._xrefs[ext] = xref
            self._by_xref[xref] = ext

        await _each(self.devices, monitor)
        await self._resync(link)
        detail = f"{self.dialect.name} link up, {len(self._xrefs)} monitors"
        if self.refused:
            detail += "; not monitored: " + ", ".join(f"{d} ({why})"
                                                    for d, why in self.refused.items())
        self._health = Health(True, detail)
        self._emit(PlatformStatus(at=self.clock.now(), up=True, detail=self._health.detail))
        self._ready = True
        for msg in self._held_back:
            self._apply(msg)
        self._held_back.clear()
        beat = asyncio.create_task(self._heartbeat(link))
        try:
            await link.closed.wait()
        finally:
            beat.cancel()
            with contextlib.suppress(BaseException):
                await beat

    async def _heartbeat(self, link: CstaLink) -> None:
        interval = min(self.options.heartbeat, self.dialect.keepalive_interval)
        while not link.closed.is_set():
            await asyncio.sleep(interval)
            try:
                await self.dialect.keepalive(link)
            except RequestFailed as exc:
                log.warning("csta.keepalive_refused", platform=self.name, error=str(exc))
            except LinkClosed as exc:
                await link.close(f"heartbeat unanswered: {exc}")
                return

    async def _resync(self, link: CstaLink) -> None:
        calls: dict[str, dict[str, str]] = {}
        seen_by_device: dict[str, dict[str, str]] = {}  # callID -> {our device: state}
        async def device_snapshot(ext: str) -> None:
            answer = await link.request(CstaMessage(kind=Kind.INVOKE, name="SnapshotDevice",
                                                    args={"snapshotObject":
                                                          Device.of(self._ids[ext])}))
            data = dig(answer.args.get("crossRefIDorSnapshotData"), "snapshotData")
            for info in as_list(dig(data, "snapshotDeviceResponseInfo")):
                conn = dig(info, "connectionIdentifier")
                if isinstance(conn, ConnectionId) and conn.call_id:
                    calls.setdefault(conn.call_id, {})
                    state = dig(info, "localCallState", "compoundCallState",
                                "localConnectionState") or dig(info, "localCallState",
                                                               "simpleCallState")
                    if isinstance(state, str):
                        seen_by_device.setdefault(conn.call_id, {})[ext] = state

        async def call_snapshot(call_id: str) -> None:
            try:
                answer = await link.request(CstaMessage(
                    kind=Kind.INVOKE, name="SnapshotCall",
                    args={"snapshotObject": ConnectionId(call_id, None)}))
            except RequestFailed as exc:
                err = exc.answer.error
                if err is not None and err.value in _GONE:
                    del calls[call_id]  # it ended between the two snapshots
                else:  # no SnapshotCall on this switch: our devices' own view will do
                    calls[call_id] = dict(seen_by_device.get(call_id, {}))
                return
            data = dig(answer.args.get("crossRefIDorSnapshotData"), "snapshotData")
            for info in as_list(dig(data, "snapshotCallResponseInfo")):
                dev = dig(info, "deviceOnCall")
                state = dig(info, "localConnectionState")
                who = self.dialect.extension(dev.id) if isinstance(dev, Device) else None
                if who and isinstance(state, str):
                    calls[call_id][who] = state

        agents: dict[str, tuple[AgentStatus, str | None]] = {}

        async def agent_state(ext: str) -> None:
            try:
                answer = await link.request(CstaMessage(
                    kind=Kind.INVOKE, name="GetAgentState",
                    args={"device": Device.of(self._ids[ext])}))
            except RequestFailed:
                return  # not an ACD station: no agent state to report
            agents[ext] = self.dialect.agent_status(answer)

        monitored = [d for d in self.devices if d in self._xrefs]
        await _each(monitored, device_snapshot)
        await _each(list(calls), call_snapshot)
        await _each(monitored, agent_state)
        agents = {d: agents[d] for d in monitored if d in agents}  # in configuration order
        snaps = self.tracker.rebuild(calls)
        self._emit(PlatformResynced(at=self.clock.now(), calls=snaps, agents=agents))

    async def resync(self) -> None:
        """A fresh PlatformResynced, link untouched (the hybrid edge asks after a WAN cut).

        The same snapshots as after a reconnect, on the live link; the switch's events
        that arrive meanwhile wait and are applied after it, as during a reconnect's
        resync. Commands go on. A snapshot that fails drops the link: the reconnection
        resynchronizes."""
        async with self._resync_lock:
            link = self._link
            if link is None or not self._ready or link.closed.is_set():
                return  # reconnecting: the reconnection resynchronizes
            self._resyncing = True
            try:
                await self._resync(link)
            except (RequestFailed, LinkClosed, TimeoutError) as exc:
                log.warning("csta.resync_failed", platform=self.name, error=str(exc))
                await link.close(f"resync failed: {exc or type(exc).__name__}")
            finally:
                self._resyncing = False
            if self._link is not link or link.closed.is_set():
                return  # the reconnection starts afresh, held-back events included
            held, self._held_back = self._held_back, []
            for msg in held:
                self._apply(msg)

    # ------------------------------------------------------------ inbound

    def _on_message(self, msg: CstaMessage, invoke_id: int | None) -> None:
        if msg.kind is Kind.INVOKE:
            self._on_switch_request(msg, invoke_id)
            return
        if msg.kind is not Kind.EVENT:
            return  # a late answer to a request that timed out
        if not self._ready or self._resyncing:
            self._held_back.append(msg)
            return
        self._apply(msg)

    def _apply(self, msg: CstaMessage) -> None:
        if msg.cross_ref is not None and msg.cross_ref not in self._by_xref:
            return  # a monitor of an earlier link, or someone else's
        agent = self.dialect.agent_event(msg)
        if agent is not None:
            ext = self._by_xref.get(msg.cross_ref or "") or self.dialect.extension(
                msg.device_id("agentDevice"))
            if ext:
                status, reason = agent
                self._emit(AgentStateChanged(at=self.clock.now(), device=ext, status=status,
                                             reason=reason))
            return
        for ev in self.tracker.handle(msg):
            self._emit(ev)

    def _on_switch_request(self, msg: CstaMessage, invoke_id: int | None) -> None:
        link = self._link
        if link is None:
            return
        if msg.name == "SystemStatus":
            status = msg.text("systemStatus") or ""
            log.info("csta.system_status", platform=self.name, status=status)
            if status in ("disabled", "partiallyDisabled", "messageLost", "overloadImminent"):
                self._emit(PlatformStatus(at=self.clock.now(), up=status != "disabled",
                                          detail=f"switch reports {status}"))
            answer = CstaMessage(kind=Kind.RESULT, name="SystemStatus")
        else:
            answer = CstaMessage(kind=Kind.ERROR, name=msg.name, error=None)
        with contextlib.suppress(LinkClosed, ValueError):
            link.send(answer, invoke_id)

    # ------------------------------------------------------------ commands

    def _require(self, cap: Capability) -> None:
        if cap not in self.capabilities:
            raise CapabilityMissing(
                f"the platform {self.name!r} ({self.dialect.name}) cannot "
                f"{cap.value.replace('_', ' ')}", capability=cap.value, platform=self.name)

    def _live(self) -> CstaLink:
        if self._link is None or not self._ready or self._link.closed.is_set():
            raise PlatformError(f"the CSTA link to {self.name!r} is down "
                                f"({self._health.detail}); try again in a moment",
                                code="platform-down")
        return self._link

    def _device_id(self, device: str) -> str:
        found = self._ids.get(device) if device in self._xrefs else None
        if found is None:
            why = (f"the switch refused to monitor it ({self.refused[device]})"
                   if device in self.refused else "add it to options.devices")
            raise PlatformError(f"device {device} is not monitored on {self.name!r} ({why})",
                                code="unknown-device")
        return found

    def _conn(self, ref: str, device: str) -> ConnectionId:
        conn = self.tracker.connection(ref, device, self._device_id(device))
        if conn is None:
            raise PlatformError(f"call {ref} is not known on {self.name!r}",
                                code="no-such-call")
        return conn

    async def _call(self, name: str, args: dict[str, Value], *,
                    private: dict[str, str] | None = None) -> CstaMessage:
        link = self._live()
        try:
            return await link.request(CstaMessage(kind=Kind.INVOKE, name=name, args=args,
                                                  private=private or {}))
        except RequestFailed as exc:
            raise to_cti_error(name, exc.answer.error, self.name) from None
        except LinkClosed as exc:
            raise PlatformError(f"{name} on {self.name!r} got no answer: {exc}",
                                code="platform-down") from None

    async def make_call(self, device: str, number: str, *,
                        attached: dict[str, str] | None = None) -> str:
        self._require(Capability.MAKE_CALL)
        if not number.strip():
            raise PlatformError("no number to dial", code="invalid-number")
        calling = self._device_id(device)
        called = await self._dial_id(number)
        self.tracker.expect(device, attached)
        try:
            answer = await self._call("MakeCall", {"callingDevice": Device.of(calling),
                                                   "calledDirectoryNumber": Device.of(called)})
        except Exception:
            self.tracker.unexpect(device)
            raise
        conn = answer.connection("callingDevice")
        if conn is None or not conn.call_id:
            raise PlatformError(f"MakeCall on {self.name!r} answered without a call id",
                                code="platform-error")
        call = self.tracker.ensure(conn.call_id)
        call.attached.update(attached or {})
        return call.ref

    async def _dial_id(self, number: str) -> str:
        link = self._live()
        try:
            return await self.dialect.dial_id(link, number)
        except RequestFailed as exc:
            raise to_cti_error("GetThirdPartyDeviceId", exc.answer.error, self.name) from None

    async def answer(self, ref: str, device: str) -> None:
        self._require(Capability.ANSWER)
        await self._call("AnswerCall", {"callToBeAnswered": self._conn(ref, device)})

    async def hangup(self, ref: str, device: str) -> None:
        self._require(Capability.HANGUP)
        await self._call("ClearConnection", {"connectionToBeCleared": self._conn(ref, device)})

    async def hold(self, ref: str, device: str) -> None:
        self._require(Capability.HOLD)
        await self._call("HoldCall", {"callToBeHeld": self._conn(ref, device)})

    async def retrieve(self, ref: str, device: str) -> None:
        self._require(Capability.HOLD)
        await self._call("RetrieveCall", {"callToBeRetrieved": self._conn(ref, device)})

    async def blind_transfer(self, ref: str, device: str, target: str) -> None:
        self._require(Capability.BLIND_TRANSFER)
        to = await self._dial_id(target)
        await self._call("SingleStepTransferCall", {"activeCall": self._conn(ref, device),
                                                    "transferredTo": Device.of(to)})

    async def consult(self, ref: str, device: str, target: str) -> str:
        self._require(Capability.CONSULT)
        to = await self._dial_id(target)
        self.tracker.expect(device, None, consult_of=ref)
        try:
            answer = await self._call("ConsultationCall", {
                "existingCall": self._conn(ref, device), "consultedDevice": Device.of(to)})
        except Exception:
            self.tracker.unexpect(device)
            raise
        conn = answer.connection("initiatedCall")
        if conn is None or not conn.call_id:
            raise PlatformError("ConsultationCall answered without a call id",
                                code="platform-error")
        self.tracker.mark_consult(conn.call_id, ref)
        return self.tracker.ref_for(conn.call_id)

    async def complete_transfer(self, ref: str, consult_ref: str, device: str) -> None:
        self._require(Capability.CONSULT)
        await self._call("TransferCall", {"heldCall": self._conn(ref, device),
                                          "activeCall": self._conn(consult_ref, device)})

    async def cancel_consult(self, ref: str, consult_ref: str, device: str) -> None:
        self._require(Capability.CONSULT)
        # ECMA-269 ReconnectCall does both at once, but not every switch has it:
        # clear the consultation, then retrieve the held call.
        await self._call("ClearConnection",
                         {"connectionToBeCleared": self._conn(consult_ref, device)})
        await self._call("RetrieveCall", {"callToBeRetrieved": self._conn(ref, device)})

    async def conference(self, ref: str, consult_ref: str, device: str) -> None:
        self._require(Capability.CONFERENCE)
        await self._call("ConferenceCall", {"heldCall": self._conn(ref, device),
                                            "activeCall": self._conn(consult_ref, device)})

    async def dtmf(self, ref: str, device: str, digits: str) -> None:
        self._require(Capability.DTMF)
        await self._call("GenerateDigits", {"connectionToSendDigits": self._conn(ref, device),
                                            "charactersToSend": digits})

    async def mute(self, ref: str, device: str, on: bool) -> None:
        self._require(Capability.MUTE)
        raise CapabilityMissing(f"the platform {self.name!r} cannot mute", capability="mute",
                                platform=self.name)

    async def set_agent_state(self, device: str, status: AgentStatus,
                              reason: str | None = None) -> None:
        self._require(Capability.AGENT_STATE)
        if status is not AgentStatus.LOGGED_OUT:
            # A switch takes ready / not ready only from a logged-on agent (ECMA-269 agent states).
            current, _ = await self.get_agent_state(device)
            if current is AgentStatus.LOGGED_OUT:
                await self._call("SetAgentState", self.dialect.set_agent_state_args(
                    self._device_id(device), AgentStatus.NOT_READY, None,
                    self.options.agent_ids.get(device)) | {"requestedAgentState": "loggedOn"})
                if status is AgentStatus.NOT_READY and not self.dialect.reason_private(
                        status, reason):
                    return  # logged on is not ready already
        args = self.dialect.set_agent_state_args(self._device_id(device), status, reason,
                                                 self.options.agent_ids.get(device))
        await self._call("SetAgentState", args,
                         private=self.dialect.reason_private(status, reason))

    async def get_agent_state(self, device: str) -> tuple[AgentStatus, str | None]:
        answer = await self._call("GetAgentState", {"device": Device.of(self._device_id(device))})
        return self.dialect.agent_status(answer)

    @property
    def undecodable(self) -> int:
        """Messages from the switch on the current link that could not be decoded."""
        return self._link.undecodable if self._link is not None else 0

    def device_ids(self) -> dict[str, str]:
        """Extension -> the switch's device id (DMCC: from GetThirdPartyDeviceId)."""
        return dict(self._ids)

    async def monitored(self) -> dict[str, str]:
        """Extension -> monitorCrossRefID of the current link."""
        return dict(self._xrefs)
