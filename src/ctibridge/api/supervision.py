"""Supervision over REST: the audit log and the queue statistics (supervisors, admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from ..core.permissions import require_supervisor
from ..model.errors import ConfigError
from .rest import Auth

router = APIRouter(tags=["supervision"])


def _supervision(request: Request) -> Any:
    sup = getattr(request.app.state.services, "supervision", None)
    if sup is None:
        raise ConfigError("supervision is not running", code="supervision-off")
    return sup


@router.get("/api/audit", responses={401: {"description": "not signed in"},
                                     403: {"description": "not a supervisor or admin"}})
async def audit(
    p: Auth, request: Request,
    agent_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Commands given on another agent's behalf, newest first: who (``actor``), whom
    (``agent_id``), what (``op``), ``reason``, when (``at``) and ``outcome`` ("ok" or
    the refusal's error code)."""
    require_supervisor(p)
    sup = _supervision(request)
    if sup.audit_store is None:
        raise ConfigError("the audit needs a database (database.url)", code="audit-off")
    return [e.to_dict() for e in await sup.audit_store.list(agent_id=agent_id, limit=limit)]


@router.get("/api/queues", responses={401: {"description": "not signed in"},
                                      403: {"description": "not a supervisor or admin"}})
async def queues(p: Auth, request: Request) -> list[dict[str, Any]]:
    """Per queue now: waiting, longest wait, service level over the window (as ``queue.stats``)."""
    require_supervisor(p)
    return list(_supervision(request).queues())
