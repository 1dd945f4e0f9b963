"""Logging in and out, renewing tokens, and changing or removing users.

``POST /api/login`` goes through the login guard (api/loginguard.py) before any
password is hashed; every user change is written to the security log and ends or
refreshes what the user had open (api/sessions.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from .. import securitylog
from ..core.permissions import require_admin
from ..model.agent import Role
from ..model.errors import BadRequest, Unauthorized
from .rest import Auth, UserOut, services, user_out, user_record
from .sessions import client_address

router = APIRouter()


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class LoginResponse(BaseModel):
    token: str
    expires_in: int = Field(description="seconds the access token is valid")
    refresh_token: str = Field(description="POST /api/token/refresh trades it for a new "
                                           "access token until the session ends")
    refresh_expires_in: int = Field(description="seconds until the session ends")
    user: UserOut


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class RefreshResponse(BaseModel):
    token: str
    expires_in: int
    user: UserOut


class UserChange(BaseModel):
    """What to change; what is left out stays as it is."""

    roles: list[Role] | None = Field(None, min_length=1)
    agent_id: str | None = Field(None, min_length=1, max_length=64)
    unlink_agent: bool = False
    display_name: str | None = Field(None, min_length=1, max_length=150)
    disabled: bool | None = None
    password: str | None = Field(None, min_length=8, max_length=256)


@router.post("/api/login", response_model=LoginResponse, tags=["auth"],
             responses={401: {"description": "wrong username or password (login-failed)"},
                        429: {"description": "locked out after failed logins, or too many "
                                             "at once from this address (Retry-After)"},
                        503: {"description": "too many passwords being checked (Retry-After)"}})
async def login(body: LoginRequest, request: Request) -> LoginResponse:
    svc = services(request)
    address = client_address(request)
    async with svc.login_guard.attempt(body.username, address) as attempt:
        user = await svc.store.users.authenticate(body.username, body.password)
        if user is None:
            attempt.failed()
            raise Unauthorized("wrong username or password", code="login-failed")
        attempt.succeeded()
    p, token, refresh = await svc.sessions.open(user, address)
    return LoginResponse(token=token, expires_in=svc.tokens.ttl, refresh_token=refresh,
                         refresh_expires_in=svc.sessions.ttl, user=user_out(p))


@router.post("/api/token/refresh", response_model=RefreshResponse, tags=["auth"])
async def refresh(body: RefreshRequest, request: Request) -> RefreshResponse:
    """A new access token for the session the refresh token belongs to, while it lasts."""
    svc = services(request)
    p, token = await svc.sessions.refresh(body.refresh_token, client_address(request))
    return RefreshResponse(token=token, expires_in=svc.tokens.ttl, user=user_out(p))


@router.post("/api/logout", status_code=204, tags=["auth"])
async def logout(p: Auth, request: Request) -> None:
    """End this session: its access and refresh tokens stop working, its sockets close."""
    await services(request).sessions.logout(p, client_address(request))


@router.patch("/api/users/{username}", tags=["users"])
async def change_user(username: str, body: UserChange, p: Auth,
                      request: Request) -> dict[str, Any]:
    """Change a user's roles, agent, name, password or disable them (admin). It applies
    at once: a disabled user or a new password ends their sessions; new roles or agent
    apply to their next request, and their open sockets close and reconnect."""
    require_admin(p)
    svc = services(request)
    if body.agent_id is not None and body.agent_id not in svc.hub.agents:
        raise BadRequest(f"there is no agent {body.agent_id!r} in the configuration",
                         code="no-such-agent")
    users = svc.store.users
    before = await users.get(username)
    u = await users.change(username, roles=None if body.roles is None else
                           [str(r) for r in body.roles], agent_id=body.agent_id,
                           clear_agent=body.unlink_agent, display_name=body.display_name,
                           disabled=body.disabled)
    if body.password is not None:
        await users.set_password(username, body.password)
    ended = bool(u.disabled or body.password is not None)
    changed = [k for k in ("roles", "agent_id", "display_name", "disabled")
               if before is not None and getattr(before, k) != getattr(u, k)]
    securitylog.event("user.changed", actor=p.username, user=username, changed=changed,
                      password_changed=body.password is not None or None, roles=u.roles,
                      agent_id=u.agent_id, disabled=u.disabled)
    await svc.sessions.user_changed(username, end_sessions=ended,
                                    reason="disabled" if u.disabled else
                                    "password-changed" if body.password else "changed")
    return user_record(u)


@router.delete("/api/users/{username}", status_code=204, tags=["users"])
async def delete_user(username: str, p: Auth, request: Request) -> None:
    """Remove a user (admin): their sessions end at once."""
    require_admin(p)
    if username == p.username:
        raise BadRequest("an admin cannot remove themselves; ask another admin",
                         code="bad-request")
    svc = services(request)
    await svc.store.users.delete(username)
    securitylog.event("user.deleted", actor=p.username, user=username)
    await svc.sessions.user_changed(username, end_sessions=True, reason="deleted")
