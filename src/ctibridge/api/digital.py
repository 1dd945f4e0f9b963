"""Digital intake over HTTP: signed webhooks from platforms, authenticated posts from integrations.

* ``POST /api/digital/{platform}/webhook``: no login; the body must be signed
  (``X-Ctibridge-Signature``, see docs/digital.md).
* ``POST /api/digital/{platform}/interactions``: ``Authorization: Bearer`` of
  an admin (the hub has no narrower integration role yet).

Both answer ``201 {"interaction_id", "status": "created"}`` for a new
interaction, ``200`` with ``"updated"`` (a chat's follow-up joined its open
interaction), ``"closed"`` or ``"duplicate"`` (this message id was received
before: nothing was done).
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from ..clock import Clock
from ..config import Settings
from ..core.permissions import require_admin
from ..digital import registry
from ..digital.base import IntakeSink
from ..digital.intake import parse_intake
from ..digital.webhook import SIGNATURE_HEADER, Intake, IntakePlatform, read_capped
from ..model.errors import ConfigError, CtiError
from ..store.digital import DigitalStore, Outcome
from .rest import Auth
from .security import style_hash

router = APIRouter(tags=["digital"])
log = structlog.get_logger("ctibridge.digital")

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "invalid JSON, unknown channel or invalid field (code, message, "
                         "details.errors[field, message])"},
    401: {"description": "missing, malformed, wrong or stale signature / token"},
    404: {"description": "unknown platform, or a close for a conversation not open"},
    413: {"description": "body larger than the platform's max_body_bytes"},
}


class IntakeResponse(BaseModel):
    interaction_id: str
    status: Outcome


def _intake(request: Request) -> Intake:
    intake: Intake | None = getattr(request.app.state.services, "intake", None)
    if intake is None:
        raise ConfigError("digital intake is not running (no store?)", code="intake-off")
    return intake


def _answer(rec: Any, response: Response) -> IntakeResponse:
    response.status_code = 201 if rec.outcome is Outcome.CREATED else 200
    return IntakeResponse(interaction_id=rec.interaction_id, status=rec.outcome)


@router.post("/api/digital/{platform}/webhook", response_model=IntakeResponse,
             status_code=201, responses=_ERRORS)
async def webhook(platform: str, request: Request, response: Response) -> IntakeResponse:
    """A signed message from a digital platform (JSON body: see docs/digital.md)."""
    intake = _intake(request)
    body = await read_capped(request, intake.platform(platform).max_body_bytes)
    rec = await intake.webhook(platform, request.headers.get(SIGNATURE_HEADER), body)
    return _answer(rec, response)


@router.post("/api/digital/{platform}/interactions", response_model=IntakeResponse,
             status_code=201, responses=_ERRORS)
async def post_interaction(
    platform: str, p: Auth, request: Request, response: Response
) -> IntakeResponse:
    """A message posted by an integration holding an admin's token."""
    require_admin(p)
    intake = _intake(request)
    target = intake.platform(platform)
    body = await read_capped(request, target.max_body_bytes)
    rec = await intake.submit(platform, parse_intake(body, region=target.region))
    return _answer(rec, response)


async def start_digital(settings: Settings, services: Any, clock: Clock) -> None:
    """Build the configured digital connectors into ``services.digital`` and start them.

    Their events are consumed by the hub's omnichannel service (core/omnichannel.py).
    """
    services.digital = {spec.name: registry.build(spec, clock) for spec in settings.digital}
    db = getattr(services.store, "db", None)
    if db is not None:
        intake = Intake(DigitalStore(db), clock)
        for spec in settings.digital:
            connector = services.digital[spec.name]
            if isinstance(connector, IntakeSink):
                secret = spec.secret.get_secret_value() if spec.secret else None
                intake.add(IntakePlatform(
                    spec.name, connector, secrets=(secret,) if secret else (),
                    replay_window=spec.replay_window_seconds,
                    max_body_bytes=spec.max_body_bytes, region=spec.region))
        # Interactions still open when the hub last stopped (or died) are queued again.
        await intake.restore()
        services.intake = intake
    for connector in services.digital.values():
        await connector.start()
    if services.digital:
        log.info("digital.started", platforms=list(services.digital))


async def stop_digital(services: Any) -> None:
    for connector in getattr(services, "digital", {}).values():
        await connector.stop()


# The transcript page's one inline style, allowed by hash in the CSP (api/security.py).
_TRANSCRIPT_CSS = style_hash(
    "body{font:15px system-ui;max-width:40em;margin:2em auto}"
    "li{list-style:none;margin:1em 0}p{white-space:pre-wrap;margin:.2em 0}time{color:#666}")


@router.get("/digital/{platform}/conversations/{ref}", include_in_schema=False)
async def simulated_conversation(platform: str, ref: str, request: Request) -> Response:
    """The digital simulator's own conversation page (what the bar's Open shows in the
    demo). Simulated content only: a real platform's link points to that platform."""
    from html import escape

    from ..digital.simulator import DigitalSimulator

    connector = getattr(request.app.state.services, "digital", {}).get(platform)
    if not isinstance(connector, DigitalSimulator):
        return Response(f"no simulated digital platform {platform!r}", status_code=404,
                        media_type="text/plain")
    try:
        conv, messages = connector.transcript(ref)
    except CtiError as exc:
        return Response(exc.message, status_code=404, media_type="text/plain")
    title = conv.subject or f"{conv.channel} · {conv.sender.name or ''}"
    rows = "".join(
        f"<li><time>{at:%H:%M:%S}</time> <b>{escape(who)}</b><p>{escape(text)}</p></li>"
        for at, who, text in messages)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{_TRANSCRIPT_CSS}</style></head><body>"
            f"<h1>{escape(title)}</h1><p>{escape(str(conv.channel))} · "
            f"{escape(conv.sender.address or conv.sender.number or conv.sender.handle or '')}"
            f"</p><ul>{rows}</ul></body></html>")
    return Response(page, media_type="text/html")
