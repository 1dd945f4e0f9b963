"""What crosses the bus between nodes: principals and errors as JSON."""

from __future__ import annotations

from typing import Any

from ..core.permissions import Principal
from ..model import errors
from ..model.agent import Role

# Errors keep their class across nodes, so a REST answer has the same status anywhere.
_KINDS: dict[str, type[errors.CtiError]] = {
    cls.__name__: cls for cls in (
        errors.CtiError, errors.BadRequest, errors.IllegalTransition, errors.NotFound,
        errors.Forbidden, errors.Unauthorized, errors.CapabilityMissing,
        errors.PlatformError, errors.ConfigError, errors.TooManyRequests)
}


def principal_to(p: Principal) -> dict[str, Any]:
    return {"username": p.username, "roles": sorted(str(r) for r in p.roles),
            "agent_id": p.agent_id, "display_name": p.display_name,
            "session_id": p.session_id}


def principal_from(d: dict[str, Any]) -> Principal:
    return Principal(str(d["username"]), frozenset(Role(r) for r in d["roles"]),
                     d.get("agent_id"), d.get("display_name"), d.get("session_id"))


def error_reply(exc: errors.CtiError) -> dict[str, Any]:
    kind = next(c.__name__ for c in type(exc).__mro__ if c.__name__ in _KINDS)
    return {"error": {**exc.to_dict(), "kind": kind}}


def error_from(body: dict[str, Any]) -> errors.CtiError:
    e = body.get("error") or {}
    cls = _KINDS.get(str(e.get("kind")), errors.CtiError)
    exc = cls(str(e.get("message") or "the core refused"),
              code=str(e.get("code") or "internal-error"), **(e.get("details") or {}))
    return exc
