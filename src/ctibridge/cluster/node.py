"""One hub node in a cluster: its link to NATS, its relay, its claim on the core.

Every node serves sockets and REST; the node holding the lease (lease.py) also runs
the core (connectors, hub, router, call-log worker) and publishes (owner.py). Only
one core runs at a time because the hub's state (calls, agents across platforms,
routing) is one consistent state machine: docs/deployment.md says why this is the
unit of ownership.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import nats
import nats.errors
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy, DiscardPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from ..config import ClusterSettings
from ..core.notifier import Notifier
from ..core.permissions import Principal
from ..model.errors import CtiError, Unauthorized
from ..model.interaction import Interaction
from ..store.interactions import from_journal
from .codec import principal_from, principal_to
from .lease import Lease
from .owner import Owner
from .relay import Relay, RoutedCommands
from .subjects import SEQ_HEADER, Names

log = structlog.get_logger("ctibridge.cluster")

Hook = Callable[[], Awaitable[None]]


class ClusterNode:
    def __init__(self, settings: ClusterSettings, svc: Any, *, start_core: Hook,
                 stop_core: Hook) -> None:
        self.settings = settings
        self.svc = svc
        self.node_id = settings.node_id or f"{socket.gethostname()}-{os.getpid()}"
        self.names = Names(settings.name)
        self.start_core = start_core
        self.stop_core = stop_core
        self.nc: Client | None = None
        self.relay: Relay | None = None
        self.lease: Lease | None = None
        self.owner: Owner | None = None
        self._core_lock = asyncio.Lock()
        # (what, token, monotonic time): when this node's core started and stopped.
        self.history: list[tuple[str, int, float]] = []

    async def start(self) -> None:
        s = self.settings
        self.nc = await nats.connect(s.nats_url, name=f"ctibridge-{self.node_id}",
                                     max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                                     connect_timeout=s.request_timeout_seconds)
        js = self.nc.jetstream(timeout=s.request_timeout_seconds)
        await self._ensure_stream(js)
        hub_settings = self.svc.settings.server
        delivery = Notifier(replay=hub_settings.replay_events,
                            queue_size=hub_settings.send_queue,
                            queue_chars=hub_settings.limits.ws_send_queue_bytes,
                            replay_chars=hub_settings.replay_bytes,
                            replay_total_chars=hub_settings.replay_total_bytes)
        self.relay = Relay(self.nc, js, delivery, self.names,
                           timeout=s.request_timeout_seconds)
        await self.relay.start()
        # The node's sockets read the relayed frames; commands go to the core's node.
        self.svc.delivery = delivery
        self.svc.local_commands = self.svc.commands
        self.svc.commands = RoutedCommands(self.svc.local_commands, self.relay)
        # A bar may get its ticket from one node and open its socket on another.
        self._ticket_sub = await self.nc.subscribe(self.names.ticket, cb=self._on_ticket)
        self.lease = Lease(js, self.node_id, self.names.bucket, ttl=s.lease_seconds,
                           on_acquired=self._acquired, on_lost=self._lost)
        self.lease.start()
        log.info("cluster.joined", node=self.node_id, nats=s.nats_url)

    async def _ensure_stream(self, js: Any) -> None:
        s = self.settings
        config = StreamConfig(
            name=self.names.stream, subjects=[f"{self.names.events}.>"],
            max_age=s.retention_seconds,
            max_msgs_per_subject=self.svc.settings.server.replay_events,
            discard=DiscardPolicy.OLD,
            storage=StorageType.MEMORY if s.storage == "memory" else StorageType.FILE)
        journal = StreamConfig(
            name=self.names.journal_stream, subjects=[f"{self.names.journal}.>"],
            max_age=s.retention_seconds, max_msgs_per_subject=1, discard=DiscardPolicy.OLD,
            storage=config.storage)
        for each in (config, journal):
            try:
                await js.add_stream(each)
            except BadRequestError:  # exists with other limits: ours win (same for all)
                await js.update_stream(each)

    async def stop(self) -> None:
        if self.lease is not None:
            await self.lease.stop(release=True)
        if self.relay is not None:
            await self.relay.stop()
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.drain()

    # ------------------------------------------------------------ tickets

    async def _on_ticket(self, msg: Msg) -> None:
        """Another node was handed a ticket: the node that issued it answers (and the
        ticket is used up); the others stay silent."""
        ticket = msg.data.decode()
        if not self.svc.tickets.holds(ticket):
            return
        try:
            principal = self.svc.tickets.redeem(ticket)
        except CtiError:  # expired: the asker's own timeout says it
            return
        await msg.respond(json.dumps(principal_to(principal)).encode())

    async def redeem_elsewhere(self, ticket: str) -> Principal:
        """A ticket this node did not issue: redeemed by the node that did."""
        assert self.nc is not None
        try:
            reply = await self.nc.request(self.names.ticket, ticket.encode(),
                                          timeout=min(2.0, self.settings.request_timeout_seconds))
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
            raise Unauthorized("the ticket is unknown or was already used",
                               code="ticket-invalid") from None
        return principal_from(json.loads(reply.data))

    # ------------------------------------------------------------ the core

    async def _acquired(self, epoch: int) -> None:
        assert self.nc is not None
        async with self._core_lock:
            hub = self.svc.hub
            gone_by = self.lease.old_core_gone_by if self.lease is not None else None
            # The sweep ends calls that ended while no core ran at this moment (sweep.py).
            hub.core_lost_at = None if gone_by is None else \
                hub.clock.now() - timedelta(seconds=gone_by)
            await self._recover_seqs(hub.notifier)
            hub.journaled = await self._read_journal()
            assert self.lease is not None
            self.owner = Owner(self.nc, self.svc, epoch, self.names,
                               workers=self.settings.core_workers, valid=self.lease.valid)
            hub.notifier.set_sink(self.owner.frame, self.owner.presence)
            hub.journal = self.owner.journal
            await self.owner.start()
            self.history.append(("started", epoch, time.monotonic()))
            log.info("cluster.core_started", node=self.node_id, token=epoch)
            await self.start_core()

    async def _lost(self, epoch: int) -> None:
        async with self._core_lock:
            if self.owner is None:
                return
            # Fenced: nothing more goes out under our token, then the core stops.
            self.svc.hub.notifier.set_sink(None, None)
            self.svc.hub.journal = None
            owner, self.owner = self.owner, None
            await owner.stop()
            self.history.append(("fenced", epoch, time.monotonic()))
            with contextlib.suppress(Exception):
                await self.stop_core()
            log.warning("cluster.core_stopped", node=self.node_id, token=epoch)

    async def _recover_seqs(self, notifier: Notifier) -> None:
        """Go on numbering each agent's events where the last owner stopped."""
        assert self.nc is not None
        js = self.nc.jetstream(timeout=self.settings.request_timeout_seconds)
        info = await js.stream_info(self.names.stream)
        if not info.state.messages:
            return
        sub = await js.subscribe(f"{self.names.events}.>", stream=self.names.stream,
                                 ordered_consumer=True,
                                 deliver_policy=DeliverPolicy.LAST_PER_SUBJECT)
        try:
            while True:
                msg = await sub.next_msg(timeout=self.settings.request_timeout_seconds)
                name = self.names.stream_of(msg.subject)
                if name is not None:
                    stream = notifier.stream(name)
                    stream.seq = max(stream.seq, int((msg.headers or {}).get(SEQ_HEADER, "0")))
                if not msg.metadata.num_pending:
                    return
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _read_journal(self) -> list[Interaction]:
        """The newest version of each interaction the earlier cores journaled."""
        assert self.nc is not None
        js = self.nc.jetstream(timeout=self.settings.request_timeout_seconds)
        try:
            info = await js.stream_info(self.names.journal_stream)
        except Exception as exc:  # the sweep still has the store
            log.warning("cluster.journal_unreadable", error=str(exc))
            return []
        if not info.state.messages:
            return []
        found: list[Interaction] = []
        sub = await js.subscribe(f"{self.names.journal}.>", stream=self.names.journal_stream,
                                 ordered_consumer=True,
                                 deliver_policy=DeliverPolicy.LAST_PER_SUBJECT)
        try:
            while True:
                try:
                    msg = await sub.next_msg(timeout=self.settings.request_timeout_seconds)
                except nats.errors.TimeoutError:  # expired meanwhile (max_age): no more
                    return found
                try:
                    found.append(from_journal(json.loads(msg.data)))
                except (ValueError, TypeError, KeyError) as exc:
                    log.warning("cluster.journal_entry_bad", subject=msg.subject,
                                error=str(exc))
                if not msg.metadata.num_pending:
                    return found
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    # ------------------------------------------------------------ health

    def status(self) -> dict[str, Any]:
        return {"node": self.node_id,
                "nats": bool(self.nc is not None and self.nc.is_connected),
                "core": self.owner is not None,
                "token": self.owner.epoch if self.owner else None}
