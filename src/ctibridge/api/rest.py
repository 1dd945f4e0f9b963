"""REST API: login, tickets, agents, calls, commands, history, users, health.

Commands here are the very ops of the WebSocket (one implementation in
``core/commands.py``), for integrations that do not keep a socket open.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field

from .. import __version__, securitylog
from ..core.permissions import Principal, history_scope, require_admin, require_supervisor
from ..model.agent import Role
from ..model.errors import BadRequest, CtiError, NotFound, Unauthorized
from ..redact import scrub
from .ops import ops_allowed
from .sessions import client_address

router = APIRouter()


def services(request: Request) -> Any:
    return request.app.state.services


async def principal(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized("send 'Authorization: Bearer <token>' (POST /api/login gives one)",
                           code="token-missing")
    # Checked against the session and the user as they are now (api/sessions.py).
    found = await services(request).sessions.principal(authorization[7:].strip(),
                                                       client_address(request))
    return dataclasses.replace(found, client_ip=client_address(request))


Auth = Annotated[Principal, Depends(principal)]


class UserOut(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    agent_id: str | None


class TicketResponse(BaseModel):
    ticket: str
    expires_in: int


class CommandRequest(BaseModel):
    """An op and its arguments, exactly as in a WebSocket command frame."""

    model_config = ConfigDict(extra="allow", json_schema_extra={
        "examples": [{"op": "call.dial", "number": "+33612345678"},
                     {"op": "agent.not_ready", "reason": "lunch", "agent_id": "alice"}]})
    op: str = Field(min_length=1, max_length=64)


class CommandResponse(BaseModel):
    result: dict[str, Any]


class UserCreate(BaseModel):
    username: str = Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")
    password: str = Field(min_length=8, max_length=256)
    roles: list[Role] = Field(default_factory=lambda: [Role.AGENT])
    display_name: str | None = None
    agent_id: str | None = None


class SimulatedCall(BaseModel):
    queue: str = "support"
    number: str | None = None
    name: str | None = None
    attached: dict[str, str] = Field(default_factory=dict)


def user_out(p: Principal) -> UserOut:
    return UserOut(username=p.username, display_name=p.display_name or p.username,
                   roles=sorted(str(r) for r in p.roles), agent_id=p.agent_id)


@router.post("/api/ws-ticket", response_model=TicketResponse, tags=["auth"])
async def ws_ticket(p: Auth, request: Request) -> TicketResponse:
    """A one-time ticket to open ``/ws?ticket=…`` (valid a few seconds)."""
    svc = services(request)
    return TicketResponse(ticket=svc.tickets.issue(p), expires_in=svc.tickets.ttl)


@router.get("/api/me", response_model=UserOut, tags=["auth"])
async def me(p: Auth) -> UserOut:
    return user_out(p)


@router.get("/api/public-config", tags=["config"])
async def public_config(request: Request) -> dict[str, Any]:
    """What a bar needs before login (no secrets)."""
    s = services(request).settings
    from .app import DEMO_USERS

    hub = services(request).hub
    logins = [
        {"username": u, "password": u,
         "display_name": hub.agents[a].name if a and a in hub.agents else u.capitalize(),
         "roles": roles}
        for u, roles, a in DEMO_USERS if a is None or a in hub.agents
    ] if s.demo else []
    return {"version": __version__, "demo": s.demo, "demo_logins": logins,
            "embed_origins": s.server.allowed_origins, "default_language": "fr"}


@router.get("/api/agents", tags=["agents"])
async def agents(p: Auth, request: Request) -> list[dict[str, Any]]:
    hub = services(request).hub
    if p.is_supervisor:
        return [a.to_dict() for a in hub.agents.values()]
    return [a.to_dict() for a in hub.agents.values() if a.agent_id == p.agent_id]


@router.get("/api/agents/{agent_id}", tags=["agents"])
async def agent(agent_id: str, p: Auth, request: Request) -> dict[str, Any]:
    if agent_id != p.agent_id:
        require_supervisor(p)
    return services(request).hub.require_agent(agent_id).to_dict()


@router.get("/api/calls", tags=["calls"])
async def calls(p: Auth, request: Request) -> list[dict[str, Any]]:
    hub = services(request).hub
    if p.is_supervisor:
        return [c.to_dict() for c in hub.calls.live()]
    return [c.to_dict() for c in hub.calls_of(p.agent_id or "")]


@router.get("/api/calls/{call_id}", tags=["calls"])
async def call(call_id: str, p: Auth, request: Request) -> dict[str, Any]:
    c = services(request).hub.calls.get(call_id)
    if c is None or (not p.is_supervisor and p.agent_id not in c.agents()):
        raise NotFound(f"call {call_id} does not exist", code="no-such-call")
    return c.to_dict()


@router.post("/api/commands", response_model=CommandResponse, tags=["commands"],
             responses={400: {"description": "bad arguments (code + message)"},
                        403: {"description": "not allowed"},
                        404: {"description": "no such call/agent"},
                        409: {"description": "illegal state transition"},
                        501: {"description": "the platform cannot do it"},
                        502: {"description": "the platform refused or is down"}})
async def command(body: CommandRequest, p: Auth, request: Request) -> CommandResponse:
    """Run one op (``agent.ready``, ``call.dial``…) as the logged-in user."""
    svc = services(request)
    args = body.model_dump()
    op = args.pop("op")
    started = time.perf_counter()
    outcome = "ok"
    try:
        return CommandResponse(result=await svc.commands.execute(p, op, args))
    except CtiError:
        outcome = "error"
        raise
    finally:
        svc.metrics.commands.labels(op if op in svc.commands.ops() else "unknown",
                                    outcome).observe(time.perf_counter() - started)


@router.get("/api/interactions", tags=["history"])
async def interactions(
    p: Auth, request: Request, agent_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[dict[str, Any]]:
    agent_id = history_scope(p, agent_id)
    rows = await services(request).store.interactions.list(agent_id=agent_id, limit=limit)
    return [r.to_dict() for r in rows]


@router.get("/api/users", tags=["users"])
async def users(p: Auth, request: Request) -> list[dict[str, Any]]:
    require_admin(p)
    return [user_record(u) for u in await services(request).store.users.list()]


@router.post("/api/users", status_code=201, tags=["users"])
async def create_user(body: UserCreate, p: Auth, request: Request) -> dict[str, Any]:
    require_admin(p)
    svc = services(request)
    if body.agent_id is not None and body.agent_id not in svc.hub.agents:
        raise BadRequest(f"there is no agent {body.agent_id!r} in the configuration",
                         code="no-such-agent")
    u = await svc.store.users.create(body.username, body.password, [str(r) for r in body.roles],
                                     display_name=body.display_name, agent_id=body.agent_id)
    securitylog.event("user.created", actor=p.username, user=u.username, roles=u.roles,
                      agent_id=u.agent_id)
    return user_record(u)


def user_record(u: Any) -> dict[str, Any]:
    return {"username": u.username, "display_name": u.display_name, "roles": list(u.roles),
            "agent_id": u.agent_id, "disabled": u.disabled}


def _simulator(request: Request, platform: str) -> Any:
    from ..telephony.simulator import SimulatorConnector

    conn = services(request).hub.connectors.get(platform)
    if not isinstance(conn, SimulatorConnector):
        raise NotFound(f"there is no simulated platform {platform!r}", code="no-such-platform")
    return conn


@router.post("/api/simulator/{platform}/calls", tags=["simulator"])
async def simulate_call(platform: str, body: SimulatedCall, p: Auth,
                        request: Request) -> dict[str, Any]:
    """Play a customer calling a queue of the simulated contact center (admin)."""
    require_admin(p)
    sim = _simulator(request, platform)
    ref = sim.customer_calls(body.queue, number=body.number, name=body.name,
                             attached=body.attached or None)
    return {"ref": ref}


@router.post("/api/simulator/{platform}/calls/{call_id}/hangup", tags=["simulator"])
async def simulate_hangup(platform: str, call_id: str, p: Auth,
                          request: Request) -> dict[str, Any]:
    """Play the customer hanging up (admin)."""
    require_admin(p)
    sim = _simulator(request, platform)
    plat, ref = services(request).hub.calls.ref_of(call_id)
    if plat != platform:
        raise NotFound(f"call {call_id} is not on {platform}", code="no-such-call")
    sim.customer_hangs_up(ref)
    return {"call_id": call_id}


@router.get("/healthz", tags=["health"])
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", tags=["health"])
async def readyz(request: Request, response: Response) -> dict[str, Any]:
    """Ready when started and every telephony link is up. The details (platforms, CRM) only
    for a supervisor's or admin's token, the ops token or the ops port (docs/operations.md)."""
    svc = getattr(request.app.state, "services", None)
    if svc is None:
        response.status_code = 503
        return {"status": "starting"}
    platforms = {n: {"up": i.up, "detail": i.detail} for n, i in svc.hub.platforms.items()}
    cluster = svc.cluster.status() if svc.cluster is not None else None
    if cluster is None:
        ok = svc.ready and all(i["up"] for i in platforms.values())
    else:
        # A node serves sockets when linked to the bus; the platforms are the core's,
        # gating only the node that runs it.
        ok = svc.ready and cluster["nats"] and (
            not cluster["core"] or all(i["up"] for i in platforms.values()))
        if not cluster["core"]:
            platforms = {}
    response.status_code = 200 if ok else 503
    body: dict[str, Any] = {"status": "ready" if ok else "not-ready", "platforms": platforms}
    if cluster is not None:
        body["cluster"] = cluster
    if svc.crm is not None:
        # Reported, not gating: without the CRM calls still ring (pops say "CRM
        # unavailable") and call logs wait in the outbox, so the hub stays in service.
        pops = svc.hub.screenpops
        crm: dict[str, Any] = {"name": getattr(svc.crm, "name", None),
                               "last_lookup": pops.last_lookup if pops is not None else None}
        if svc.calllog is not None and svc.store is not None:
            crm["call_log"] = await svc.store.outbox.counts()
            alert = svc.calllog.auth_alert
            if alert is not None and ok:
                # Still serving calls (200), but say it: logs wait until the CRM takes
                # our credentials again.
                body["status"] = "degraded"
                crm["reason"] = (f"the CRM refuses our credentials since "
                                 f"{alert.since.isoformat()}: {alert.reason}")
                crm["auth_refused"] = alert.to_dict()
        body["crm"] = crm
    if not await ops_allowed(request):
        return {"status": body["status"]}
    return dict(scrub(body))  # a CRM error may quote a URL with its credentials


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    if not await ops_allowed(request):
        raise Unauthorized("/metrics needs a supervisor's or admin's token, the ops token "
                           "(server.ops.token), or the ops port (server.ops.port)",
                           code="ops-auth")
    svc = services(request)
    svc.metrics.sockets.set(svc.delivery.subscriber_count())
    return Response(generate_latest(svc.metrics.registry), media_type=CONTENT_TYPE_LATEST)

