"""The Asterisk connector: AMI in, normalized events out, commands back.

Lifecycle (one task, :meth:`AsteriskConnector._run`): connect, log in and
wait for ``FullyBooted``; take the snapshot (``CoreShowChannels``,
``QueueStatus``, ``Status``), putting agents back in their queues if Asterisk
restarted (:mod:`.restore`); only then count the link as up and emit
``PlatformStatus(up)`` and ``PlatformResynced``; normalize events until the link
drops, reconciling with ``CoreShowChannels`` now and then (:mod:`.reconcile`);
report ``PlatformStatus(down)`` with the reason, wait (exponential back-off
with jitter, capped by ``reconnect_max``: 4 s) and start again. Events that
arrive during a snapshot wait in the client's queue and are applied after it.

Commands map onto AMI actions (see ``docs/connectors/asterisk.md``). Hold,
answer and conference need ARI; without it those capabilities are off.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
from typing import Any

import structlog

from ...clock import Clock
from ...model.agent import AgentStatus
from ...model.errors import BadRequest, CapabilityMissing, PlatformError
from ...model.events import (
    CallDtmf,
    CallEnded,
    CallFailed,
    CallMonitored,
    PlatformEvent,
    PlatformResynced,
)
from ..base import MONITOR_MODES, Capability, Health, require
from ..link import Backoff, LinkedConnector
from .ami import (
    DISCONNECTED,
    OVERFLOW,
    AmiAuthError,
    AmiClient,
    AmiConnectionError,
    AmiError,
    Message,
    variable_header,
)
from .ari import AriApp, AriClient
from .config import AgentInterface, AsteriskOptions, parse_options
from .normalizer import CONFERENCE_VAR, Normalizer, device_name
from .reconcile import Reconciler
from .restore import AgentKeeper, State, startup_of

log = structlog.get_logger("ctibridge.asterisk")
# Queued among the events by resync(): the pump answers with a snapshot.
_RESYNC = Message((("Event", "ctibridge-resync"),))

# Asterisk keeps at most 128 headers of an action (AST_MAX_MANHEADERS); Originate has ~12.
MAX_ATTACHED_VARIABLES = 64

BASE_CAPABILITIES = frozenset({
    Capability.MAKE_CALL, Capability.HANGUP, Capability.BLIND_TRANSFER, Capability.CONSULT,
    Capability.DTMF, Capability.AGENT_STATE,
})
CONSULT_TIMEOUT = 15.0  # seconds for an Atxfer to show up as a consultation
BOOT_LIMIT = 600.0  # seconds a starting Asterisk may take to load its modules
STASIS_TIMEOUT = 5.0  # seconds for redirected channels to reach the Stasis application


# ChanSpy's options per monitoring mode (docs.asterisk.org, Dialplan Applications,
# ChanSpy): q no beep nor name announced, E exit when the spied-on channel hangs up,
# w whisper to the spied-on channel, B barge in on both channels of the call.
CHANSPY_OPTIONS = {"listen": "qE", "whisper": "qEw", "barge": "qEB"}
_CONTROL_CHARS = frozenset(chr(c) for c in range(32)) | {chr(127)}


def capabilities_of(options: AsteriskOptions) -> frozenset[Capability]:
    """What this configuration can do (see docs/connectors/asterisk.md, "What each
    capability needs")."""
    caps = set(BASE_CAPABILITIES)
    if options.ari is not None or options.hold_context:
        caps.add(Capability.HOLD)
    if options.ari is not None or options.conference_context:
        caps.add(Capability.CONFERENCE)
    if options.answer_notify_event:
        caps.add(Capability.ANSWER)
    if options.chanspy:
        caps.update({Capability.LISTEN, Capability.WHISPER, Capability.BARGE})
    return frozenset(caps)


class AsteriskConnector(LinkedConnector):
    """``telephony: [{type: asterisk, options: {...}}]`` — see :mod:`.config`."""

    kind = "asterisk"

    def __init__(self, name: str, options: AsteriskOptions, *, clock: Clock | None = None,
                 ari: AriClient | None = None) -> None:
        super().__init__(name, clock)
        self.opts = options
        self.capabilities = capabilities_of(options)
        self.normalizer = Normalizer(options, self.clock.now)
        self.keeper = AgentKeeper()
        self.reconciler = Reconciler(self.normalizer, self.clock.now,
                                     originate_grace=options.originate_timeout + 30)
        self.ari = ari or (AriClient(options.ari, timeout=options.timeout)
                           if options.ari else None)
        self.ari_app = (AriApp(options.ari, self.ari) if options.ari and self.ari
                        else None)
        self._client: AmiClient | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        # Supervisors' ChanSpy channels: their phone (dial string) -> (call ref, ChannelId).
        self._spies: dict[str, tuple[str, str]] = {}
        self._refs = itertools.count(1)
        self._contexts: set[str] = set()  # dialplan contexts seen to exist
        self.banner: str | None = None

    @property
    def client(self) -> AmiClient | None:
        """The AMI link now (None while there is none: connecting, reconnecting)."""
        return self._client

    # ------------------------------------------------------------- factory

    @classmethod
    def from_options(cls, name: str, options: dict[str, Any], clock: Clock) -> AsteriskConnector:
        return cls(name, parse_options(name, options), clock=clock)

    @staticmethod
    def validate_options(name: str, options: dict[str, Any]) -> None:
        """Raise ConfigError naming each wrong field (for ``ctibridge config check``)."""
        parse_options(name, options)

    # ----------------------------------------------------------- lifecycle

    async def start(self) -> None:
        if self._task is None:
            await super().start()
            if self.ari_app is not None:
                self.ari_app.start()  # registers the Stasis application

    async def stop(self) -> None:
        self._stopping = True
        client = self._client
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close(logoff=True)
        await self._end_task()
        for t in list(self._tasks):
            t.cancel()
        if self.ari_app is not None:
            await self.ari_app.stop()
        if self.ari is not None:
            with contextlib.suppress(Exception):
                await self.ari.close()
        self._health = Health(False, "stopped")

    async def checks(self) -> list[tuple[bool, str]]:
        """What ``ctibridge telephony test`` verifies beyond the AMI link: ARI (the URL,
        user and password; the Stasis application registered over the WebSocket)."""
        if self.ari is None or self.ari_app is None or self.opts.ari is None:
            return [(True, "ARI: not configured (hold needs options.hold_context; "
                           "conference needs options.ari)")]
        try:
            info = await self.ari.info()
        except PlatformError as exc:
            return [(False, exc.message)]
        version = (info.get("system") or {}).get("version") or "?"
        out = [(True, f"ARI: logged in as {self.opts.ari.username!r} at {self.opts.ari.url} "
                      f"(Asterisk {version})")]
        try:
            await asyncio.wait_for(self.ari_app.registered.wait(), self.opts.timeout)
            app = await self.ari.application(self.opts.ari.app)
        except (TimeoutError, PlatformError) as exc:
            detail = exc.message if isinstance(exc, PlatformError) else self.ari_app.detail
            return [*out, (False, f"ARI: the Stasis application {self.opts.ari.app!r} is not "
                                  f"registered: {detail}")]
        if app is None:
            return [*out, (False, f"ARI: Asterisk does not list the Stasis application "
                                  f"{self.opts.ari.app!r}")]
        return [*out, (True, f"ARI: Stasis application {self.opts.ari.app!r} registered "
                             f"(calls reach it through dialplan context "
                             f"{self.opts.ari.context!r})")]

    def _client_for(self) -> AmiClient:
        return AmiClient(
            self.opts.host, self.opts.effective_port, self.opts.username, self.opts.secret,
            ssl_context=self.opts.ssl_context(), auth=self.opts.auth, timeout=self.opts.timeout,
            ping_interval=self.opts.ping_interval, max_backlog=self.opts.max_backlog)

    async def _run(self) -> None:
        backoff = Backoff(self.opts.reconnect_min, self.opts.reconnect_max)
        where = f"{self.opts.host}:{self.opts.effective_port}"
        while not self._stopping:
            client = self._client_for()
            self._client = client  # commands meanwhile are told it is reconnecting
            try:
                banner = await client.connect(boot_timeout=self.opts.boot_timeout)
            except AmiConnectionError as exc:
                self._client = None
                # A refused login is retried slowly (fail2ban, security log noise);
                # an unreachable Asterisk often, so that it is picked up when back.
                wait = backoff.next()
                delay = self.opts.auth_retry if isinstance(exc, AmiAuthError) else wait
                await self._down(str(exc), retry_in=delay)
                await self.clock.sleep(delay)
                continue
            if self._stopping:
                self._client = None
                await client.close(logoff=True)
                break
            self.banner = banner.text
            self.connections += 1
            reconciling: asyncio.Task[None] | None = None
            try:
                if not client.booted:
                    # Still loading modules, or no FullyBooted for this user at all
                    # (it needs read=system in manager.conf).
                    log.warning("asterisk.not_booted", platform=self.name,
                                waited=self.opts.boot_timeout)
                await self._drain(client)
                snapshot = await self._link_up(client)
                await self._report_up(f"connected to {banner.text} at {where}")
                await self._emit(snapshot)
                backoff.reset()
                if self.opts.reconcile_interval > 0:
                    reconciling = asyncio.create_task(self._reconcile_loop(client),
                                                      name=f"asterisk-reconcile-{self.name}")
                await self._pump(client)
                reason = client.close_reason or "connection closed"
            except (AmiConnectionError, AmiError) as exc:
                reason = str(exc)
            finally:
                if reconciling is not None:
                    reconciling.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await reconciling
                if self._up.is_set():  # (a link that never came up taught nothing)
                    self.keeper.link_lost(self.normalizer.agent_states)
                self._up.clear()
                self._client = None
                await client.close()
            if self._stopping:
                break
            delay = backoff.next()
            await self._down(f"lost the link to Asterisk at {where}: {reason}", retry_in=delay)
            await self.clock.sleep(delay)

    async def _drain(self, client: AmiClient) -> None:
        """Drop what arrived before the snapshot: the snapshot supersedes it."""
        while not client.events.empty():
            client.events.get_nowait()

    async def _link_up(self, client: AmiClient) -> PlatformResynced:
        """After login: the snapshot, with agents put back as they were if Asterisk
        restarted (or changed while the link was down). See :mod:`.restore`."""
        startup = None
        try:
            startup = startup_of(await client.action("CoreStatus"))
        except AmiError as exc:  # no "system" read permission: restarts go unnoticed
            log.warning("asterisk.core_status_refused", platform=self.name, error=exc.message)
        restarted = self.keeper.restarted(startup)
        try:
            snapshot = await self._snapshot(client)
        except AmiError as exc:
            if client.booted:
                raise
            # No FullyBooted and app_queue's actions unknown: Asterisk is still
            # loading its modules. Wait for it on this link rather than retry.
            log.info("asterisk.still_booting", platform=self.name, error=exc.message)
            if not await client.wait_booted(BOOT_LIMIT):
                raise AmiConnectionError(
                    f"Asterisk did not finish starting within {BOOT_LIMIT:g} s "
                    f"({exc})") from None
            snapshot = await self._snapshot(client)
        if not self.opts.restore_members:
            self.keeper.unsent.clear()
            self.keeper.restored()
            return snapshot
        plan = self.keeper.plan(dict(snapshot.agents))
        if plan:
            log.info("asterisk.restoring_agents", platform=self.name, restarted=restarted,
                     agents={d: str(st) for d, (st, _) in plan.items()})
            await self._restore(client, plan)
            snapshot = await self._snapshot(client)  # as Asterisk now has it
        self.keeper.restored()
        return snapshot

    async def _restore(self, client: AmiClient, plan: dict[str, State]) -> None:
        """Set each agent of ``plan``; one Asterisk refuses is logged (and a change
        asked during the outage kept for the next link)."""
        for device, (status, reason) in plan.items():
            try:
                await self._apply_state(device, status, reason, via=client)
            except (PlatformError, BadRequest) as exc:
                log.warning("asterisk.restore_failed", platform=self.name, device=device,
                            error=exc.message)
            else:
                self.keeper.unsent.pop(device, None)

    async def _snapshot(self, client: AmiClient) -> PlatformResynced:
        _, channels = await client.list_action("CoreShowChannels")
        _, queue_items = await client.list_action("QueueStatus")
        status_items: list[Message] = []
        if channels:
            _, status_items = await client.list_action("Status", AllVariables="true")
        snapshot = self.normalizer.resync(channels, queue_items, status_items)
        self.reconciler.reset()
        log.info("asterisk.resynced", platform=self.name, calls=len(snapshot.calls),
                 agents=len(snapshot.agents))
        return snapshot

    async def resync(self) -> None:
        """A fresh PlatformResynced, link untouched (the hybrid edge asks after a WAN cut).

        Made by the event pump, between two events, like an overflow's resync: the
        normalizer is never read while it is being fed."""
        client = self._client
        if client is not None:  # else reconnecting: the reconnection resynchronizes
            client.events.put_nowait(_RESYNC)

    async def _resync(self, client: AmiClient) -> None:
        await self._emit(await self._snapshot(client))

    async def _pump(self, client: AmiClient) -> None:
        while True:
            msg = await client.events.get()
            if msg is DISCONNECTED:
                return
            if msg is OVERFLOW or msg is _RESYNC:
                if msg is OVERFLOW:
                    log.warning("asterisk.overflow_resync", platform=self.name)
                await self._resync(client)
                continue
            if msg.name == "Shutdown":  # members are lost unless persistentmembers = yes
                self.keeper.shutdown_seen = True
                log.warning("asterisk.shutting_down", platform=self.name,
                            restart=msg.get("Restart"), shutdown=msg.get("Shutdown"))
            try:
                events = self.normalizer.feed(msg)
            except Exception:  # one odd event must not take the link down
                log.exception("asterisk.normalize_failed", platform=self.name, ami_event=msg.name)
                continue
            await self._emit(*events)
            if self.normalizer.cleanup:
                self._spawn(self._hang_up(self.normalizer.take_cleanup()), "cleanup")

    async def _hang_up(self, channels: list[str]) -> None:
        """Channels Asterisk keeps up on its own after a party left (a held agent
        waiting, the last one in a conference room of ours): no ghost channels."""
        for name in channels:
            try:
                await self._act(f"hanging up {name}", "Hangup", Channel=name, Cause=16)
            except PlatformError as exc:
                log.info("asterisk.cleanup_skipped", channel=name, reason=exc.message)

    async def _reconcile_loop(self, client: AmiClient) -> None:
        """End calls whose channels Asterisk no longer has (see :mod:`.reconcile`)."""
        while True:
            await self.clock.sleep(self.opts.reconcile_interval)
            await self.reconcile(client)

    async def reconcile(self, client: AmiClient | None = None) -> list[PlatformEvent]:
        """One reconciliation pass now; returns (and emits) what it ended."""
        client = client or self._ami()
        try:
            _, channels = await client.list_action("CoreShowChannels")
        except AmiError as exc:
            log.warning("asterisk.reconcile_refused", platform=self.name, error=exc.message)
            return []
        except AmiConnectionError:
            return []  # the link is going down: the resync after it does the job
        events = self.reconciler.check(channels)
        await self._emit(*events)
        return events

    # ------------------------------------------------------------- helpers

    def _ami(self) -> AmiClient:
        client = self._client
        if client is not None and client.connected and not self._up.is_set():
            raise PlatformError(
                f"the Asterisk platform {self.name!r} is reconnecting (logging in and "
                "taking its snapshot); try again in a moment", code="platform-down")
        if client is None or not client.connected:
            raise PlatformError(
                f"the Asterisk platform {self.name!r} is not connected: "
                f"{self._health.detail}", code="platform-down")
        return client

    def _agent(self, device: str) -> AgentInterface:
        agent = self.opts.agents.get(device)
        if agent is None:
            raise BadRequest(
                f"extension {device} is not mapped to an Asterisk interface on platform "
                f"{self.name!r} (add it under options.agents)", code="unknown-device")
        return agent

    async def _act(self, what: str, action: str, *pairs: tuple[str, str],
                   via: AmiClient | None = None, **headers: Any) -> Message:
        client = via or self._ami()
        try:
            return await client.action(action, list(pairs), **headers)
        except AmiError as exc:
            raise PlatformError(f"Asterisk refused {what}: {exc.message}",
                                code="platform-refused", action=action) from None
        except AmiConnectionError as exc:
            raise PlatformError(f"{what} failed: {exc}", code="platform-down") from None

    def _channel(self, ref: str, device: str) -> str:
        chan = self.normalizer.agent_chan(ref, device)
        if chan is None:
            raise PlatformError(f"extension {device} has no live channel in call {ref}",
                                code="no-such-channel")
        return chan.name

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------- commands

    async def make_call(self, device: str, number: str, *,
                        attached: dict[str, str] | None = None) -> str:
        agent = self._agent(device)
        client = self._ami()
        ref = f"cti-{secrets.token_hex(6)}"
        aid = client.next_action_id()
        caller_id = self.opts.caller_id or f'"{agent.name or device}" <{device}>'
        variables = [variable_header("CTIBRIDGE_REQUEST", ref)]
        kept: dict[str, str] = {}
        for k, v in list((attached or {}).items())[:MAX_ATTACHED_VARIABLES]:
            try:  # escaped: a comma in a value must not set a second variable
                variables.append(variable_header(f"CTI_{k.upper()}", v))
            except ValueError as exc:
                log.warning("asterisk.attached_not_sent", key=k[:64], reason=str(exc))
                continue
            kept[k] = v
        initiated = self.normalizer.expect_originate(
            ref=ref, device=device, number=number, dial=agent.dial_string, action_id=aid,
            attached=kept)
        # Announced before the action goes out, so that nothing about this call
        # (an immediate OriginateResponse failure) can reach the hub first.
        self._emit_now(initiated)
        try:
            await client.action(
                "Originate", variables, action_id=aid, Channel=agent.dial_string,
                Context=self.opts.originate_context, Exten=number, Priority=1,
                CallerID=caller_id, Timeout=int(self.opts.originate_timeout * 1000),
                Async="true", ChannelId=ref, OtherChannelId=f"{ref}-2")
        except (AmiError, AmiConnectionError) as exc:
            reason = exc.message if isinstance(exc, AmiError) else str(exc)
            self.normalizer.originates = [p for p in self.normalizer.originates if p.ref != ref]
            self._emit_now(CallFailed(ref=ref, at=self.clock.now(), device=device,
                                      cause="failed"))
            raise PlatformError(f"Asterisk could not dial {number} from {device}: {reason}",
                                code="platform-refused") from None
        return ref

    async def answer(self, ref: str, device: str) -> None:
        """Ask the ringing phone to answer: a SIP NOTIFY with ``Event: <answer_notify_event>``
        (PJSIPNotify), which phones that allow remote answer obey ("talk")."""
        event = self.opts.answer_notify_event
        if not event:
            raise CapabilityMissing(
                f"the platform {self.name!r} cannot answer for the phone (set "
                "options.answer_notify_event for phones that answer on a NOTIFY)",
                capability=Capability.ANSWER.value, platform=self.name)
        chan = self.normalizer.agent_chan(ref, device)
        if chan is None or not self.normalizer.ringing(ref, device):
            raise PlatformError(f"extension {device} is not ringing in call {ref}",
                                code="not-ringing")
        endpoint = self._pjsip_endpoint(device, chan.leg.live())
        if endpoint is None:
            raise PlatformError(
                f"extension {device} has no PJSIP phone to tell to answer (list it in "
                f"options.agents.{device}.aliases, e.g. PJSIP/{device})", code="no-such-device")
        await self._act(f"asking {device}'s phone to answer", "PJSIPNotify",
                        ("Variable", f"Event={event}"), Endpoint=endpoint)

    def _pjsip_endpoint(self, device: str, live: list[Any]) -> str | None:
        names = [c.name for c in live] + sorted(self._agent(device).devices())
        for name in names:
            if name.upper().startswith("PJSIP/"):
                return str(device_name(name)).split("/", 1)[1]
        return None

    async def monitor(self, ref: str, target: str, device: str, mode: str) -> None:
        """The supervisor's phone ``device`` (a dial string, e.g. ``PJSIP/6090``) is called
        and, once answered, runs ``ChanSpy(<the agent's channel>,<options>)``. A change of
        mode calls the phone again (ChanSpy's own DTMF switch, option d, needs the
        supervisor's keypad). Untested against a live Asterisk: see docs/supervisor.md."""
        options = CHANSPY_OPTIONS.get(mode)
        if options is None:
            raise PlatformError(f"{mode!r} is not a monitoring mode "
                                f"({', '.join(CHANSPY_OPTIONS)})", code="bad-mode")
        require(self, MONITOR_MODES[mode])
        if "/" not in device or _CONTROL_CHARS.intersection(device) or "," in device:
            raise BadRequest(f"the supervisor's phone {device!r} must be an Asterisk dial "
                             "string such as PJSIP/6090", code="bad-device")
        spied = self._channel(ref, target)
        before = self._spies.pop(device, None)
        if before is not None:
            with contextlib.suppress(PlatformError):  # already gone (the call ended)
                await self._act(f"ending the monitoring of {device}", "Hangup",
                                Channel=before[1])
        spy_id = f"cti-spy-{secrets.token_hex(6)}"
        await self._act(f"{mode} on {target} from {device}", "Originate", Channel=device,
                        Application="ChanSpy", Data=f"{spied},{options}",
                        CallerID=f'"{mode}" <{target}>', Timeout=int(
                            self.opts.originate_timeout * 1000), Async="true",
                        ChannelId=spy_id)
        self._spies[device] = (ref, spy_id)
        self._emit_now(CallMonitored(ref=ref, at=self.clock.now(), device=device,
                                     target=target, mode=mode))

    async def hangup(self, ref: str, device: str) -> None:
        spy = self._spies.get(device)
        if spy is not None and spy[0] == ref:  # a supervisor leaves: their ChanSpy channel
            await self._act(f"ending the monitoring of {device}", "Hangup", Channel=spy[1])
            del self._spies[device]
            self._emit_now(CallEnded(ref=ref, at=self.clock.now(), device=device,
                                     cause="monitor-stopped"))
            return
        if self.normalizer.consult_live(ref) is not None and self._consult_owner(ref, device):
            # Hanging up the transferer's own channel would *complete* the attended
            # transfer (Asterisk's rule for a phone); a hangup never transfers.
            await self.cancel_consult("", ref, device)
            return
        chan = self._channel(ref, device)
        rejecting = self.normalizer.ringing_queue_offer(ref, device)
        if rejecting:
            self.normalizer.rejecting.add((ref, device))
        if rejecting and self.opts.reject_reason:
            # app_queue has no "declined": a rejected member is rung again at the
            # next retry. Pausing them first is the AMI way to stop that; the bar
            # shows the agent not ready (options.reject_reason) until they choose Ready.
            await self._pause_everywhere(device, self.opts.reject_reason)
        await self._act(f"{'rejecting the call on' if rejecting else 'hanging up'} {device}",
                        "Hangup", Channel=chan, Cause=21 if rejecting else 16)

    async def _pause_everywhere(self, device: str, reason: str) -> None:
        for queue, (paused, _) in self.normalizer.member_of(device).items():
            if paused:
                continue
            try:
                await self._act(f"pausing {device} in {queue}", "QueuePause", Queue=queue,
                                Interface=self._agent(device).interface, Paused=True,
                                Reason=reason)
            except PlatformError as exc:  # the hangup matters more than the pause
                log.warning("asterisk.reject_pause_failed", device=device, queue=queue,
                            error=exc.message)

    def _consult_owner(self, consult_ref: str, device: str) -> bool:
        conv = self.normalizer.convs.get(consult_ref)
        return conv is not None and conv.originator == device

    async def cancel_consult(self, ref: str, consult_ref: str, device: str) -> None:
        """Hang up the consulted side: Asterisk puts the transferer back with the customer."""
        n = self.normalizer
        conv = n.convs.get(consult_ref)
        if conv is None and n.consult_pending(consult_ref):
            raise PlatformError("Asterisk has not started this consultation yet; try again "
                                "in a moment", code="consult-not-started")
        if conv is None or conv.consult_of is None:
            raise PlatformError(f"call {consult_ref} is not a consultation on {self.name!r}",
                                code="not-a-consultation")
        if ref and conv.consult_of.ref != ref:
            raise PlatformError(f"call {consult_ref} is not a consultation of call {ref}",
                                code="not-a-consultation")
        if conv.originator != device:
            raise PlatformError(f"extension {device} did not start consultation {consult_ref}",
                                code="not-a-consultation")
        far = n.consult_far_chan(consult_ref, device)
        if far is None:
            raise PlatformError(f"the consultation {consult_ref} has nobody left to hang up",
                                code="no-such-channel")
        n.cancelling.add(consult_ref)
        try:
            await self._act("ending the consultation", "Hangup", Channel=far.name, Cause=16)
        except PlatformError:
            n.cancelling.discard(consult_ref)
            raise

    def _talk_pair(self, ref: str, device: str) -> tuple[Any, Any]:
        """(the customer's channel, the agent's channel) of ``device`` in ``ref``."""
        agent = self.normalizer.agent_chan(ref, device)
        customer = self.normalizer.customer_chan(ref, device)
        if agent is None or customer is None:
            raise PlatformError(f"extension {device} is not talking to anybody in call {ref}",
                                code="no-such-channel")
        return customer, agent

    async def _stasis(self, ref: str, redirects: list[list[Any]]) -> None:
        """Move channels into the Stasis application (AMI Redirect, two per action, in
        order) and wait until ARI has them."""
        app = self._need_app(Capability.HOLD)
        assert self.opts.ari is not None
        wanted: set[str] = set()
        for group in redirects:
            todo = [c for c in group if c.uid not in app.channels]
            if not todo:
                continue
            app.expected.update(c.uid for c in todo)
            extra: dict[str, Any] = {}
            if len(todo) > 1:
                extra = {"ExtraChannel": todo[1].name, "ExtraContext": self.opts.ari.context,
                         "ExtraExten": self.opts.ari.app, "ExtraPriority": 1}
            await self._act("moving the call to the Stasis application", "Redirect",
                            Channel=todo[0].name, Context=self.opts.ari.context,
                            Exten=self.opts.ari.app, Priority=1, **extra)
            wanted.update(c.uid for c in todo)
            await app.wait_in(wanted, STASIS_TIMEOUT)

    def _need_app(self, cap: Capability) -> AriApp:
        if self.ari_app is None:
            raise CapabilityMissing(
                f"the platform {self.name!r} cannot {cap.value} without ARI "
                "(configure options.ari)", capability=cap.value, platform=self.name)
        if not self.ari_app.registered.is_set():
            raise PlatformError(f"ARI is not connected ({self.ari_app.detail})",
                                code="platform-down")
        return self.ari_app

    def _can_hold(self) -> None:
        if self.ari_app is None and not self.opts.hold_context:
            raise CapabilityMissing(
                f"the platform {self.name!r} cannot hold or retrieve (set "
                "options.hold_context, or options.ari)",
                capability=Capability.HOLD.value, platform=self.name)

    async def _has_context(self, context: str, what: str) -> None:
        """Refuse before a Redirect into a context that does not exist: Asterisk would
        hang the customer up there."""
        if context in self._contexts:
            return
        try:
            await self._ami().list_action("ShowDialPlan", Context=context)
        except AmiError as exc:
            raise PlatformError(
                f"the dialplan has no context {context!r}, needed to {what} with AMI "
                f"(docs/connectors/asterisk.md, dialplan snippets): {exc.message}",
                code="config-invalid") from None
        except AmiConnectionError as exc:
            raise PlatformError(f"{what} failed: {exc}", code="platform-down") from None
        self._contexts.add(context)

    async def hold(self, ref: str, device: str) -> None:
        self._can_hold()
        customer, agent = self._talk_pair(ref, device)
        if self.ari_app is not None:
            # ARI: both into a bridge of ours, then the customer out of it, with music.
            app = self._need_app(Capability.HOLD)
            assert self.ari is not None
            bridge = app.bridge_of(agent.uid)
            if bridge is None:
                await self._stasis(ref, [[customer, agent]])
                bridge = await app.bridge(ref, [customer.uid, agent.uid])
            await self.ari.remove(bridge, customer.uid)
            await self.ari.moh(customer.uid, True)
            return
        # AMI alone: the customer to music on hold, the agent to a wait, both at once.
        assert self.opts.hold_context is not None  # _can_hold
        await self._has_context(self.opts.hold_context, "hold")
        await self._has_context(self.opts.wait_context, "hold")
        self.normalizer.hold_pair(customer, agent)
        await self._act("holding the call", "Redirect", Channel=customer.name,
                        Context=self.opts.hold_context, Exten="hold", Priority=1,
                        ExtraChannel=agent.name, ExtraContext=self.opts.wait_context,
                        ExtraExten="hold", ExtraPriority=1)

    async def retrieve(self, ref: str, device: str) -> None:
        self._can_hold()
        customer, agent = self._talk_pair(ref, device)
        if self.ari_app is not None:
            app = self._need_app(Capability.HOLD)
            assert self.ari is not None
            bridge = app.bridge_of(agent.uid)
            if bridge is None:
                raise PlatformError(f"call {ref} is not on hold through ctibridge",
                                    code="not-held")
            # The customer is the other channel of our bridge (out of it, on music).
            held = next((u for u in app.bridges[bridge] if u != agent.uid), customer.uid)
            await self.ari.moh(held, False)
            await self.ari.add(bridge, [held])
            return
        # The very channels that were held apart (not the other half of a Local pair).
        customer = self.normalizer.held_partner(agent) or customer
        await self._act("retrieving the call", "Bridge", Channel1=agent.name,
                        Channel2=customer.name, Tone="no")

    async def blind_transfer(self, ref: str, device: str, target: str) -> None:
        chan = self._channel(ref, device)
        client = self._ami()
        try:
            await client.action("BlindTransfer", Channel=chan, Exten=target,
                                Context=self.opts.transfer_context)
            return
        except AmiError as exc:
            if "not exist" in exc.message.lower():
                raise PlatformError(f"Asterisk refused the transfer: {exc.message}",
                                    code="no-such-channel") from None
            log.info("asterisk.blind_transfer_fallback", reason=exc.message)
        except AmiConnectionError as exc:
            raise PlatformError(f"transfer failed: {exc}", code="platform-down") from None
        # BlindTransfer unavailable or refused (not bridged, old Asterisk): move
        # the customer's channel with Redirect instead.
        customer = self.normalizer.customer_chan(ref, device)
        if customer is None:
            raise PlatformError(f"no customer channel to transfer in call {ref}",
                                code="no-such-channel")
        await self._act("the transfer (Redirect)", "Redirect", Channel=customer.name,
                        Exten=target, Context=self.opts.transfer_context, Priority=1)
        self._emit_now(*self.normalizer.blind_transfer_done(ref, device, target))

    async def consult(self, ref: str, device: str, target: str) -> str:
        chan = self._channel(ref, device)
        consult_ref = f"{ref}~x{next(self._refs)}"
        initiated = self.normalizer.expect_consult(ref=ref, device=device,
                                                   consult_ref=consult_ref, target=target)
        self._emit_now(initiated)
        try:
            await self._act(f"consulting {target}", "Atxfer", Channel=chan, Exten=target,
                            Context=self.opts.transfer_context)
        except PlatformError:
            self._emit_now(*self.normalizer.consult_never_began(consult_ref))
            raise
        self._spawn(self._consult_watch(consult_ref), f"consult-{consult_ref}")
        return consult_ref

    async def _consult_watch(self, consult_ref: str) -> None:
        await self.clock.sleep(CONSULT_TIMEOUT)
        if not self.normalizer.consult_started(consult_ref):
            await self._emit(*self.normalizer.consult_never_began(consult_ref,
                                                                      "consult-failed"))

    async def complete_transfer(self, ref: str, consult_ref: str, device: str) -> None:
        if self.normalizer.linkedid(ref) != self.normalizer.linkedid(consult_ref):
            raise PlatformError(
                "this consultation was made from the phone; complete the transfer there",
                code="platform-refused")
        # With the bridge's attended transfer, the transferer hanging up completes it.
        chan = self._channel(consult_ref, device)
        await self._act("completing the transfer", "Hangup", Channel=chan, Cause=16)

    async def conference(self, ref: str, consult_ref: str, device: str) -> None:
        """Three-way: the customer, the agent and the consulted party together.

        The customer is moved first: Asterisk's attended transfer then ends (its
        "transferee hung up" case), leaving agent and target in a plain bridge,
        which are moved next. Moving the agent first would complete the transfer.
        With ARI they meet in a mixing bridge of the Stasis application; with AMI
        alone in a ConfBridge room (options.conference_context).
        """
        n = self.normalizer
        customer = n.customer_chan(ref, device)
        agent = n.agent_chan(consult_ref, device) or n.agent_chan(ref, device)
        far = n.consult_far_chan(consult_ref, device)
        if customer is None or agent is None or far is None:
            raise PlatformError("the three parties of the conference are not all up",
                                code="no-such-channel")
        ids = [customer.uid, agent.uid, far.uid]
        if self.ari_app is None and not self.opts.conference_context:
            raise CapabilityMissing(
                f"the platform {self.name!r} cannot make a conference (set "
                "options.conference_context, or options.ari)",
                capability=Capability.CONFERENCE.value, platform=self.name)
        await self._act("marking the conference", "Setvar", Channel=customer.name,
                        Variable=CONFERENCE_VAR, Value=consult_ref)
        if self.ari_app is not None:
            app = self._need_app(Capability.CONFERENCE)
            await self._stasis(ref, [[customer], [agent, far]])
            bridge = app.bridge_of(customer.uid)
            if bridge is None:
                await app.bridge(ref, ids)
            else:
                assert self.ari is not None
                with contextlib.suppress(PlatformError):
                    await self.ari.moh(customer.uid, False)
                await self.ari.add(bridge, [c for c in ids if c not in app.bridges[bridge]])
                app.bridges[bridge].update(ids)
        else:
            ctx = self.opts.conference_context
            assert ctx is not None
            await self._has_context(ctx, "make a conference")
            room = "cti" + "".join(ch for ch in ref if ch.isalnum())
            queue_bridge = customer.bridge
            await self._act("moving the customer to the conference", "Redirect",
                            Channel=customer.name, Context=ctx, Exten=room, Priority=1)
            # "Redirect successful" comes before the customer has left: moving the
            # agent while Asterisk still sees a transfer in progress completes it.
            await self._until(lambda: customer.bridge not in (None, queue_bridge),
                              "the customer did not reach the conference")
            await asyncio.sleep(0.3)  # the transfer's monitor thread sees them gone
            await self._act("moving the consultation to the conference", "Redirect",
                            Channel=agent.name, Context=ctx, Exten=room, Priority=1,
                            ExtraChannel=far.name, ExtraContext=ctx, ExtraExten=room,
                            ExtraPriority=1)
        # The AMI events tell the rest (the normalizer sees the three in one bridge).
        await self._together(ids)

    async def _together(self, uids: list[str]) -> str:
        """Wait until the channels are in one bridge (as the AMI events tell)."""
        await self._until(lambda: self.normalizer.shared_bridge(uids) is not None,
                          "the parties did not meet in the conference")
        bridge = self.normalizer.shared_bridge(uids)
        assert bridge is not None
        return bridge

    async def _until(self, done: Any, what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STASIS_TIMEOUT
        while not done():
            if loop.time() > deadline:
                raise PlatformError(f"{what} within {STASIS_TIMEOUT:g} s",
                                    code="platform-error")
            await asyncio.sleep(0.05)  # noqa: ASYNC110 (the AMI events move them)

    async def dtmf(self, ref: str, device: str, digits: str) -> None:
        peer = self.normalizer.peer_chan(ref, device)
        if peer is None:
            raise PlatformError(f"nobody to send digits to in call {ref}",
                                code="no-such-channel")
        for digit in digits:
            await self._act("sending DTMF", "PlayDTMF", Channel=peer.name, Digit=digit,
                            Duration=120)
        await self._emit(CallDtmf(ref=ref, at=self.clock.now(), device=device, digits=digits))

    async def mute(self, ref: str, device: str, on: bool) -> None:
        raise CapabilityMissing(f"the platform {self.name!r} cannot mute",
                                capability=Capability.MUTE.value, platform=self.name)

    async def set_agent_state(self, device: str, status: AgentStatus,
                              reason: str | None = None) -> None:
        """Logged out = not a member; ready = member, unpaused; not ready = paused(reason).

        While the link is down the change is refused and remembered: it is made
        as soon as the link is back (see :mod:`.restore`).
        """
        self._agent(device)
        try:
            client = self._ami()
        except PlatformError as exc:
            self.keeper.unsent[device] = (status, reason)
            raise PlatformError(f"{exc.message}; {device} will be set {status} when the link "
                                "is back", code="platform-down") from None
        self.keeper.unsent.pop(device, None)
        await self._apply_state(device, status, reason, via=client)

    async def _apply_state(self, device: str, status: AgentStatus, reason: str | None,
                           *, via: AmiClient) -> None:
        agent = self._agent(device)
        queues = agent.queues or self.opts.queues
        if not queues:
            raise PlatformError(
                f"no queue configured for {device} (options.queues or agents.{device}.queues)",
                code="config-invalid")
        members = self.normalizer.member_of(device)
        iface = agent.interface
        for queue in queues:
            if status == AgentStatus.LOGGED_OUT:
                try:
                    await self._act(f"removing {device} from {queue}", "QueueRemove",
                                    via=via, Queue=queue, Interface=iface)
                except PlatformError as exc:
                    if "not there" not in exc.message.lower():
                        raise
                continue
            paused = status != AgentStatus.READY
            if queue not in members:
                try:
                    await self._act(
                        f"adding {device} to {queue}", "QueueAdd", via=via, Queue=queue,
                        Interface=iface, Penalty=0, Paused=paused,
                        Reason=reason if paused else None, MemberName=agent.name or device,
                        StateInterface=agent.state_interface)
                    continue
                except PlatformError as exc:
                    if "already there" not in exc.message.lower():
                        raise
            await self._act(f"{'pausing' if paused else 'unpausing'} {device} in {queue}",
                            "QueuePause", via=via, Queue=queue, Interface=iface, Paused=paused,
                            Reason=(reason or "") if paused else None)
