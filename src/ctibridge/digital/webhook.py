"""Signed webhooks and the intake service that feeds digital connectors.

A platform signs each POST with a shared secret, as Stripe and Slack do::

    X-Ctibridge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>

The hub reads the body up to the platform's size limit (413 beyond, before
any parsing), checks the signature in constant time against every current
secret (several ``v1=`` may be sent while rotating secrets), refuses a
timestamp outside the replay window, then validates the message and records
its id: a message id seen before answers 200 with the interaction it already
made, and nothing else happens.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from starlette.requests import Request

from ..clock import Clock
from ..model.errors import BadRequest, CtiError, NotFound, Unauthorized
from ..model.events import InteractionSnapshot
from ..store.digital import DigitalStore, NoOpenConversation, Outcome, Recorded
from .base import IntakeSink
from .intake import IntakeMessage, parse_intake

SIGNATURE_HEADER = "X-Ctibridge-Signature"
DEFAULT_REPLAY_WINDOW = 300.0
DEFAULT_MAX_BODY = 1024 * 1024

log = structlog.get_logger("ctibridge.digital")


class PayloadTooLarge(CtiError):
    code = "body-too-large"
    status = 413


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The header value a sender puts on ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def verify_signature(
    header: str | None, body: bytes, secrets: Sequence[str], *, now: datetime,
    window: float = DEFAULT_REPLAY_WINDOW,
) -> None:
    """Raise Unauthorized unless ``header`` signs ``body`` with a secret, recently enough."""
    if not header:
        raise Unauthorized(f"the webhook is not signed: send the {SIGNATURE_HEADER} header "
                           "(t=<unix time>,v1=<hex HMAC-SHA256>, see docs/digital.md)",
                           code="signature-missing")
    timestamp: int | None = None
    macs: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1":
            macs.append(value.strip().lower())
    if timestamp is None or not macs:
        raise Unauthorized(f"the {SIGNATURE_HEADER} header must read t=<unix time>,v1=<hex>",
                           code="signature-malformed")
    expected = [_mac(s, timestamp, body) for s in secrets]
    # Compare every pair, in constant time each, so timing tells nothing.
    if not any([hmac.compare_digest(e, m) for e in expected for m in macs]):  # noqa: C419
        raise Unauthorized("the webhook signature does not match the body; sign "
                           "'<t>.<raw body>' with the platform's secret", code="signature-mismatch")
    age = now.timestamp() - timestamp
    if abs(age) > window:
        raise Unauthorized(
            f"the webhook was signed {abs(age):.0f} s {'ago' if age > 0 else 'in the future'}, "
            f"outside the {window:.0f} s replay window; sign with the current time",
            code="signature-stale")


async def read_capped(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is {declared} bytes; this platform accepts at most "
                              f"{limit}", limit=limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body exceeds {limit} bytes, the most this platform "
                                  "accepts", limit=limit)
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass
class IntakePlatform:
    """One digital platform as the intake sees it."""

    name: str
    connector: IntakeSink
    secrets: tuple[str, ...] = ()  # empty: the signed webhook is off for this platform
    replay_window: float = DEFAULT_REPLAY_WINDOW
    max_body_bytes: int = DEFAULT_MAX_BODY
    region: str = "FR"
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Intake:
    """Checks, de-duplicates and records inbound messages, then hands them to connectors."""

    def __init__(self, store: DigitalStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.platforms: dict[str, IntakePlatform] = {}

    def add(self, platform: IntakePlatform) -> None:
        self.platforms[platform.name] = platform
        platform.connector.on_closed(self._closed_by_hub)

    def platform(self, name: str) -> IntakePlatform:
        found = self.platforms.get(name)
        if found is None:
            raise NotFound(f"no digital platform {name!r} takes interactions here; "
                           f"configured: {', '.join(sorted(self.platforms)) or 'none'}",
                           code="unknown-platform")
        return found

    async def webhook(self, name: str, header: str | None, body: bytes) -> Recorded:
        """A signed POST: verify, validate, record."""
        p = self.platform(name)
        if not p.secrets:
            raise Unauthorized(f"the platform {name!r} has no webhook secret configured "
                               "(secret_env in its settings); its webhook is off",
                               code="webhook-disabled")
        verify_signature(header, body, p.secrets, now=self.clock.now(), window=p.replay_window)
        return await self.submit(name, parse_intake(body, region=p.region))

    async def submit(self, name: str, message: IntakeMessage) -> Recorded:
        """Record a validated message and emit its events on the platform's connector."""
        p = self.platform(name)
        if message.channel not in p.connector.channels:
            carried = ", ".join(sorted(str(c) for c in p.connector.channels))
            raise BadRequest(f"the platform {name!r} does not carry {message.channel} "
                             f"messages; it carries: {carried}", code="channel-not-carried")
        # One message at a time per platform, so events leave in the order they are recorded
        # (a chat's first message before its follow-ups).
        async with p.lock:
            at = self.clock.now()
            if message.type == "closed":
                assert message.conversation_id is not None
                try:
                    rec = await self.store.record_close(name, message.message_id,
                                                        conversation_id=message.conversation_id,
                                                        at=at)
                except NoOpenConversation:
                    raise NotFound(f"conversation {message.conversation_id!r} on {name!r} is "
                                   "not open; nothing to close",
                                   code="conversation-not-open") from None
            else:
                new_id = new_interaction_id()
                opening = InteractionSnapshot(
                    new_id, message.channel, message.sender.to_sender(), queue=message.queue,
                    subject=message.subject, preview=message.shown_preview,
                    content_url=str(message.content_url) if message.content_url else None,
                    attached=dict(message.attached))
                rec = await self.store.record(name, message.message_id,
                                              conversation_id=message.conversation_id,
                                              new_interaction_id=new_id, at=at,
                                              opening=opening)
            if rec.outcome is not Outcome.DUPLICATE:
                p.connector.take(message, rec.interaction_id, new=rec.outcome is Outcome.CREATED)
        log.info("digital.intake", platform=name, channel=str(message.channel),
                 outcome=str(rec.outcome), interaction_id=rec.interaction_id)
        return rec

    async def restore(self) -> None:
        """Give each platform the interactions still open in the store (before it starts):
        its resync then queues them again in a restarted hub."""
        for name, p in self.platforms.items():
            open_now = await self.store.open_interactions(name)
            p.connector.restore(open_now)
            if open_now:
                log.info("digital.restored", platform=name, interactions=len(open_now))

    async def _closed_by_hub(self, name: str, ref: str) -> None:
        await self.store.close_interaction(name, ref, self.clock.now())


def new_interaction_id() -> str:
    return uuid.uuid4().hex
