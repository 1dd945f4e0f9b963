"""Who runs the core: a lease in a JetStream key-value bucket, with a fencing token.

The bucket keeps one key whose entries expire ``ttl`` seconds after they were written
(the bucket's max age). A node becomes the owner by creating the key (refused while
it exists), stays by updating it with the revision it last wrote (compare and set),
and the revision it holds is its **fencing token**: every event it publishes carries
it, and nodes drop what comes from a token older than the newest they have seen.

An owner that cannot renew (NATS unreachable, partitioned) steps down by itself
``margin`` seconds before its lease can expire on the server, so it has stopped
acting before another node can create the key. Its clock for that starts when it
*sent* the renewal (the server's TTL starts later, when it wrote it), and
:meth:`valid` says, at any moment, whether that deadline has passed: the publisher
checks it before every frame, so an owner whose event loop was held past the
deadline sends nothing before the lease task has even run.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import structlog
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from .subjects import LEASE_KEY

log = structlog.get_logger("ctibridge.cluster.lease")

Callback = Callable[[int], Awaitable[None]]


class Lease:
    def __init__(self, js: JetStreamContext, node_id: str, bucket: str, *, ttl: float = 3.0,
                 on_acquired: Callback, on_lost: Callback,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.js = js
        self.node_id = node_id
        self.bucket_name = bucket
        self.ttl = ttl
        self.renew_every = ttl / 3
        self.margin = ttl / 3  # steps down this long before the server could expire it
        self.on_acquired = on_acquired
        self.on_lost = on_lost
        self.clock = clock
        self.token: int | None = None  # the revision written last (compare and set)
        # The revision that made us owner: the fencing token, above every revision an
        # earlier owner wrote.
        self.epoch: int | None = None
        self._renewed = 0.0  # when the last successful write was sent
        self._valid_until = 0.0
        # When a create was last refused (another node held the lease), and whether the
        # lease we got was one that had just expired under another node (a takeover).
        self._seen_held: float | None = None
        # The server's time of the holder's last renewal, read while it held the lease.
        self._held_renewed: datetime | None = None
        self.took_over = False
        self._gone_by: float | None = None
        self._kv: KeyValue | None = None
        self._task: asyncio.Task[None] | None = None
        self._starting: asyncio.Task[None] | None = None

    @property
    def held(self) -> bool:
        return self.token is not None

    def valid(self) -> bool:
        """Whether no other node can have taken the lease yet (we hold it, and our
        step-down deadline has not passed)."""
        return self.token is not None and self.clock() < self._valid_until

    def _wrote(self, revision: int, sent: float) -> None:
        self.token, self._renewed = revision, sent
        self._valid_until = sent + self.ttl - self.margin

    async def bucket(self) -> KeyValue:
        if self._kv is None:
            # Idempotent on the server: every node asks for the same bucket.
            self._kv = await self.js.create_key_value(KeyValueConfig(
                bucket=self.bucket_name, history=1, ttl=self.ttl, storage=StorageType.FILE))
        return self._kv

    @property
    def old_core_gone_by(self) -> float | None:
        """After a takeover, how many seconds before we got the lease the last owner had
        surely stopped acting (None: no owner just before us).

        A killed owner died before its next renewal (``renew_every`` after its last
        one) and one that cannot renew steps down ``ttl - margin`` after it (checked
        each round): we take ``ttl - margin`` after the last renewal, whose time the
        server stamped on the lease's entry (read while the owner held it).
        Without that stamp: its entry expired ``ttl`` after that renewal and we try
        every ``renew_every``, so it stopped at least ``renew_every`` before we got it.
        """
        return self._gone_by

    async def _last_write(self) -> datetime | None:
        try:
            msg = await self.js.get_last_msg(f"KV_{self.bucket_name}",
                                             f"$KV.{self.bucket_name}.{LEASE_KEY}")
        except Exception:  # gone meanwhile, or a server without it: the fallback
            return None
        return msg.time

    def _stopped_ago(self) -> float:
        if self._held_renewed is None:
            return self.renew_every
        stopped = self._held_renewed + timedelta(seconds=self.ttl - self.margin)
        return max(0.0, (datetime.now(UTC) - stopped).total_seconds())

    async def owner(self) -> str | None:
        kv = await self.bucket()
        try:
            entry = await kv.get(LEASE_KEY)
        except Exception:
            return None
        return entry.value.decode() if entry.value else None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"lease-{self.node_id}")

    async def stop(self, *, release: bool = True) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.token is not None and self.epoch is not None:
            epoch = self.epoch
            if not release:
                self._valid_until = 0.0
                self.token = self.epoch = None
                await self.on_lost(epoch)
                return
            # A handover: the core stops while we still hold the lease (what it queued
            # goes out, if the lease still holds), then the key goes at once instead of
            # after the TTL.
            await self.on_lost(epoch)
            token, self.token, self.epoch, self._valid_until = self.token, None, None, 0.0
            if token is not None:
                with contextlib.suppress(Exception):
                    kv = await self.bucket()
                    await kv.delete(LEASE_KEY, last=token)

    async def _run(self) -> None:
        while True:
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS away: the checks below still step down
                log.warning("lease.step_failed", node=self.node_id, error=str(exc))
            await self._expire_if_late()
            await asyncio.sleep(self.renew_every)

    async def step(self) -> None:
        """One round: take the lease if free, renew it if ours."""
        kv = await self.bucket()
        value = self.node_id.encode()
        sent = self.clock()
        if self.token is None:
            try:
                revision = await asyncio.wait_for(kv.create(LEASE_KEY, value), self.renew_every)
            except KeyWrongLastSequenceError:
                self._seen_held = self.clock()
                self._held_renewed = await self._last_write()
                return  # someone else holds it
            self.epoch = revision
            self._wrote(revision, sent)
            self.took_over = self._seen_held is not None \
                and self._renewed - self._seen_held <= self.ttl
            self._gone_by = self._stopped_ago() if self.took_over else None
            log.info("lease.acquired", node=self.node_id, token=revision)
            # In a task of its own: starting the core (connectors, thousands of agents)
            # may take longer than the lease, which must go on being renewed meanwhile
            # (awaited here, 2,500 agents made two nodes take and lose it every 5 s).
            self._starting = asyncio.create_task(self._acquired(revision),
                                                 name=f"lease-acquired-{self.node_id}")
            return
        try:
            revision = await asyncio.wait_for(kv.update(LEASE_KEY, value, last=self.token),
                                              self.renew_every)
        except KeyWrongLastSequenceError:
            # Another node wrote it: ours expired on the server. Stop at once.
            await self._lose("taken")
            return
        if self.token is not None:  # not lost meanwhile
            self._wrote(revision, sent)

    async def _acquired(self, revision: int) -> None:
        try:
            await self.on_acquired(revision)
        except Exception:
            log.exception("lease.on_acquired_failed", node=self.node_id, token=revision)

    async def _expire_if_late(self) -> None:
        if self.token is not None and self.clock() - self._renewed >= self.ttl - self.margin:
            await self._lose("not-renewed")

    async def _lose(self, why: str) -> None:
        epoch, self.token, self.epoch, self._valid_until = self.epoch, None, None, 0.0
        if epoch is None:
            return
        log.warning("lease.lost", node=self.node_id, token=epoch, why=why)
        await self.on_lost(epoch)
