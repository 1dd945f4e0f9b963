"""REST for the CRM side: click-to-call, the call-log outbox, the CRM's health."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from ..core.permissions import require_admin, require_supervisor
from ..model.errors import IllegalTransition, NotFound, PlatformError
from ..redact import scrub
from .rest import Auth, services

router = APIRouter(tags=["crm"])


class DialRequest(BaseModel):
    number: str = Field(min_length=1, max_length=40)
    # The CRM record the call is made from: it pops, and the call is logged against it.
    record_id: str | None = Field(None, min_length=1, max_length=200)


@router.post("/api/agents/{agent_id}/dial")
async def dial(agent_id: str, body: DialRequest, p: Auth, request: Request) -> dict[str, Any]:
    """Click-to-call: ``agent_id`` dials ``number`` (normalized with the CRM mapping's
    region). An agent dials only for themself; supervisors and admins for anyone."""
    args: dict[str, Any] = {"agent_id": agent_id, "number": body.number}
    if body.record_id is not None:
        args["record_id"] = body.record_id
    return dict(await services(request).commands.execute(p, "call.dial", args))


def _worker(request: Request) -> Any:
    worker = services(request).calllog
    if worker is None:
        raise NotFound("call logging is off (no crm section, or crm.log_calls is false)",
                       code="calllog-off")
    return worker


Status = Literal["pending", "failed", "delivered", "uncertain", "waiting", "skipped"]


@router.get("/api/calllog")
async def calllog(
    p: Auth, request: Request,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Outbox rows (supervisors and admins), newest first, with the counts by status and
    the CRM's refusal of our credentials, if it refuses them."""
    require_supervisor(p)
    worker = _worker(request)
    rows = await worker.store.outbox.list(status, limit)
    alert = worker.auth_alert
    return {"counts": await worker.refresh_gauges(), "rows": [r.to_dict() for r in rows],
            "guarantee": worker.guarantee,
            "auth_refused": alert.to_dict() if alert is not None else None}


class BulkRetry(BaseModel):
    status: Literal["failed", "skipped"] = "failed"


@router.post("/api/calllog/retry")
async def retry_all(body: BulkRetry, p: Auth, request: Request) -> dict[str, Any]:
    """Every failed (or skipped) row due again now, attempts reset (admins)."""
    require_admin(p)
    worker = _worker(request)
    count = await worker.store.outbox.retry_all(body.status, worker.clock.now())
    worker.nudge()
    return {"retried": count, "status": body.status}


@router.post("/api/calllog/{interaction_id}/retry")
async def retry(interaction_id: str, p: Auth, request: Request) -> dict[str, Any]:
    """Make a failed delivery due again now, attempts reset (admins). An uncertain row
    is refused: it may be in the CRM already (confirm or resend it)."""
    require_admin(p)
    worker = _worker(request)
    row = await worker.store.outbox.retry(interaction_id, worker.clock.now())
    if row is None:
        raise NotFound(f"interaction {interaction_id} has no call-log entry",
                       code="no-such-calllog")
    if row.status == "uncertain":
        raise IllegalTransition(
            f"the log of {interaction_id} is uncertain: it may be in the CRM already. Look "
            "for it there, then confirm it (POST .../confirm) or send it again "
            "(POST .../resend)", code="calllog-uncertain")
    worker.nudge()
    return row.to_dict()


class Confirm(BaseModel):
    # The CRM's id of the record found there, if the operator has it.
    activity_id: str | None = Field(None, min_length=1, max_length=200)


@router.post("/api/calllog/{interaction_id}/confirm")
async def confirm(interaction_id: str, p: Auth, request: Request,
                  body: Confirm | None = None) -> dict[str, Any]:
    """An uncertain log is in the CRM (an operator looked): mark it delivered (admins)."""
    require_admin(p)
    row = await _worker(request).confirm(interaction_id, body.activity_id if body else None)
    return dict(row.to_dict())


@router.post("/api/calllog/{interaction_id}/resend")
async def resend(interaction_id: str, p: Auth, request: Request) -> dict[str, Any]:
    """An uncertain log is not in the CRM (an operator looked): send it again (admins)."""
    require_admin(p)
    row = await _worker(request).resend(interaction_id)
    return dict(row.to_dict())


class Pick(BaseModel):
    record_id: str = Field(min_length=1, max_length=200)


@router.post("/api/calllog/{interaction_id}/pick")
async def pick(interaction_id: str, body: Pick, p: Auth, request: Request) -> dict[str, Any]:
    """The record a waiting log goes to, among its choices: the agent of the call, or a
    supervisor or admin for them."""
    worker = _worker(request)
    mine = None if p.is_supervisor else p.agent_id
    if mine is None and not p.is_supervisor:
        raise NotFound(f"interaction {interaction_id} is not waiting on you",
                       code="no-such-calllog")
    row = await worker.pick(interaction_id, body.record_id, mine)
    return dict(row.to_dict())


@router.get("/api/crm/health")
async def crm_health(p: Auth, request: Request) -> dict[str, Any]:
    """What the CRM connector says of itself, and the outbox counts."""
    svc = services(request)
    if svc.crm is None:
        raise NotFound("no CRM is configured (crm section)", code="crm-off")
    try:
        health = dict(await svc.crm.health())
    except Exception as exc:
        raise PlatformError(f"the CRM health check failed: {exc}", code="crm-error") from None
    out: dict[str, Any] = {"crm": svc.crm.name, "health": scrub(health)}
    if svc.calllog is not None:
        out["calllog"] = await svc.calllog.refresh_gauges()
    return out
