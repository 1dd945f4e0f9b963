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
import random
import secrets
from collections.abc import AsyncIterator
from typing import Any

import structlog

from ...clock import Clock, SystemClock
from ...model.agent import AgentStatus
from ...model.errors import BadRequest, CapabilityMissing, PlatformError
from ...model.events import (
    CallDtmf,
    CallFailed,
    PlatformEvent,
    PlatformResynced,
    PlatformStatus,
)
from ..base import Capability, Health
from .ami import (
    DISCONNECTED,
    OVERFLOW,
    AmiAuthError,
    AmiClient,
    AmiConnectionError,
    AmiError,
    Message,
)
from .ari import AriClient
from .config import AgentInterface, AsteriskOptions, parse_options
from .normalizer import Normalizer
from .reconcile import Reconciler
from .restore import AgentKeeper, State, startup_of

log = structlog.get_logger("ctibridge.asterisk")

BASE_CAPABILITIES = frozenset({
    Capability.MAKE_CALL, Capability.HANGUP, Capability.BLIND_TRANSFER, Capability.CONSULT,
    Capability.DTMF, Capability.AGENT_STATE,
})
ARI_CAPABILITIES = frozenset({Capability.HOLD, Capability.ANSWER, Capability.CONFERENCE})
CONSULT_TIMEOUT = 15.0  # seconds for an Atxfer to show up as a consultation
BOOT_LIMIT = 600.0  # seconds a starting Asterisk may take to load its modules


class AsteriskConnector:
    """``telephony: [{type: asterisk, options: {...}}]`` — see :mod:`.config`."""

    def __init__(self, name: str, options: AsteriskOptions, *, clock: Clock | None = None,
                 ari: AriClient | None = None) -> None:
        self.name = name
        self.opts = options
        self.clock = clock or SystemClock()
        self.capabilities = BASE_CAPABILITIES | (ARI_CAPABILITIES if options.ari else frozenset())
        self.normalizer = Normalizer(options, self.clock.now)
        self.keeper = AgentKeeper()
        self.reconciler = Reconciler(self.normalizer, self.clock.now,
                                     originate_grace=options.originate_timeout + 30)
        self.ari = ari or (AriClient(options.ari, timeout=options.timeout)
                           if options.ari else None)
        self._out: asyncio.Queue[PlatformEvent] = asyncio.Queue(maxsize=10_000)
        self._client: AmiClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._health = Health(False, "not started")
        self._stopping = False
        self._reported_down = False
        self._refs = itertools.count(1)
        self._up = asyncio.Event()
        self.connections = 0
        self.banner: str | None = None

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
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name=f"asterisk-{self.name}")

    async def stop(self) -> None:
        self._stopping = True
        client = self._client
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close(logoff=True)
        task, self._task = self._task, None
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)
        for t in list(self._tasks):
            t.cancel()
        if self.ari is not None:
            with contextlib.suppress(Exception):
                await self.ari.close()
        self._health = Health(False, "stopped")

    async def events(self) -> AsyncIterator[PlatformEvent]:
        while True:
            yield await self._out.get()

    def health(self) -> Health:
        return self._health

    async def wait_up(self) -> None:
        """Wait until connected, logged in and resynchronized (tests, CLI)."""
        await self._up.wait()

    async def _emit(self, *events: PlatformEvent) -> None:
        for ev in events:
            await self._out.put(ev)

    def _emit_now(self, *events: PlatformEvent) -> None:
        """From a command: queue without waiting (the hub is the one waiting on us)."""
        for ev in events:
            try:
                self._out.put_nowait(ev)
            except asyncio.QueueFull:  # the hub is 10 000 events behind: it will resync
                log.error("asterisk.event_dropped", platform=self.name, event=ev.name)

    def _client_for(self) -> AmiClient:
        return AmiClient(
            self.opts.host, self.opts.effective_port, self.opts.username, self.opts.secret,
            ssl_context=self.opts.ssl_context(), auth=self.opts.auth, timeout=self.opts.timeout,
            ping_interval=self.opts.ping_interval, max_backlog=self.opts.max_backlog)

    def _delay(self, attempt: int) -> float:
        base = min(self.opts.reconnect_max, self.opts.reconnect_min * (2 ** min(attempt, 16)))
        return random.uniform(base / 2, base)  # jitter: reconnecting bars don't stampede

    async def _run(self) -> None:
        attempt = 0
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
                delay = (self.opts.auth_retry if isinstance(exc, AmiAuthError)
                         else self._delay(attempt))
                attempt += 1
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
                # Up only now (logged in, booted, snapshot taken): whatever the hub
                # does on hearing it (pushing agent states...) finds the link up.
                self._health = Health(True, f"connected to {banner.text} at {where}")
                self._reported_down = False
                self._up.set()
                await self._emit(PlatformStatus(at=self.clock.now(), up=True,
                                                detail=self._health.detail))
                await self._emit(snapshot)
                attempt = 0
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
            delay = self._delay(attempt)
            attempt += 1
            await self._down(f"lost the link to Asterisk at {where}: {reason}", retry_in=delay)
            await self.clock.sleep(delay)

    async def _down(self, detail: str, *, retry_in: float) -> None:
        """Report the link down once per outage (each retry is only logged).

        The detail says what happened, not when the next try is (a ``telephony
        test`` that stops at the first failure would make that untrue).
        """
        self._health = Health(False, detail)
        log.warning("asterisk.down", platform=self.name, detail=detail,
                    retry_in=round(retry_in, 1))
        if not self._reported_down:
            self._reported_down = True
            await self._emit(PlatformStatus(at=self.clock.now(), up=False, detail=detail))

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

    async def _resync(self, client: AmiClient) -> None:
        await self._emit(await self._snapshot(client))

    async def _pump(self, client: AmiClient) -> None:
        while True:
            msg = await client.events.get()
            if msg is DISCONNECTED:
                return
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
            for ev in events:
                await self._out.put(ev)

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
        variables = [("Variable", f"CTIBRIDGE_REQUEST={ref}")]
        for k, v in (attached or {}).items():
            if k.replace("_", "").isalnum() and "\n" not in v and "\r" not in v:
                variables.append(("Variable", f"CTI_{k.upper()}={v}"))
        initiated = self.normalizer.expect_originate(
            ref=ref, device=device, number=number, dial=agent.dial_string, action_id=aid)
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
        ari = self._need_ari(Capability.ANSWER)
        chan = self.normalizer.agent_chan(ref, device)
        if chan is None:
            raise PlatformError(f"no ringing channel of {device} in call {ref}",
                                code="no-such-channel")
        await ari.answer(chan.uid)

    async def hangup(self, ref: str, device: str) -> None:
        chan = self._channel(ref, device)
        await self._act(f"hanging up {device}", "Hangup", Channel=chan, Cause=16)

    async def hold(self, ref: str, device: str) -> None:
        ari = self._need_ari(Capability.HOLD)
        peer = self.normalizer.peer_chan(ref, device)
        if peer is None:
            raise PlatformError(f"nobody to hold in call {ref}", code="no-such-channel")
        await ari.hold(peer.uid)

    async def retrieve(self, ref: str, device: str) -> None:
        ari = self._need_ari(Capability.HOLD)
        peer = self.normalizer.peer_chan(ref, device)
        if peer is None:
            raise PlatformError(f"nobody to retrieve in call {ref}", code="no-such-channel")
        await ari.unhold(peer.uid)

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
            self._emit_now(*self.normalizer.cancel_consult(consult_ref))
            raise
        self._spawn(self._consult_watch(consult_ref), f"consult-{consult_ref}")
        return consult_ref

    async def _consult_watch(self, consult_ref: str) -> None:
        await self.clock.sleep(CONSULT_TIMEOUT)
        if not self.normalizer.consult_started(consult_ref):
            await self._emit(*self.normalizer.cancel_consult(consult_ref, "consult-failed"))

    async def complete_transfer(self, ref: str, consult_ref: str, device: str) -> None:
        if self.normalizer.linkedid(ref) != self.normalizer.linkedid(consult_ref):
            raise PlatformError(
                "this consultation was made from the phone; complete the transfer there",
                code="platform-refused")
        # With the bridge's attended transfer, the transferer hanging up completes it.
        chan = self._channel(consult_ref, device)
        await self._act("completing the transfer", "Hangup", Channel=chan, Cause=16)

    async def conference(self, ref: str, consult_ref: str, device: str) -> None:
        ari = self._need_ari(Capability.CONFERENCE)
        chans = [self.normalizer.customer_chan(ref, device),
                 self.normalizer.agent_chan(ref, device),
                 self.normalizer.peer_chan(consult_ref, device)]
        ids = [c.uid for c in chans if c is not None]
        if len(set(ids)) < 3:
            raise PlatformError("the three parties of the conference are not all up",
                                code="no-such-channel")
        await ari.conference(ids)

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

    def _need_ari(self, cap: Capability) -> AriClient:
        if self.ari is None:
            raise CapabilityMissing(
                f"the platform {self.name!r} cannot {cap.value} without ARI "
                "(configure options.ari)", capability=cap.value, platform=self.name)
        return self.ari

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
