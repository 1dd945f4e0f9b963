"""Who may see and do what.

* an agent commands only their own calls and their own state;
* a supervisor sees everything and may change any agent's state;
* an admin, in addition, manages users and the simulated world.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model.agent import Role
from ..model.call import Call
from ..model.errors import Forbidden


@dataclass(frozen=True, slots=True)
class Principal:
    username: str
    roles: frozenset[Role]
    agent_id: str | None = None
    display_name: str | None = None

    @property
    def is_supervisor(self) -> bool:
        return Role.SUPERVISOR in self.roles or Role.ADMIN in self.roles

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    def to_dict(self) -> dict[str, object]:
        return {
            "username": self.username,
            "display_name": self.display_name or self.username,
            "roles": sorted(str(r) for r in self.roles),
            "agent_id": self.agent_id,
        }


def acting_agent(principal: Principal, agent_id: str | None) -> str:
    """The agent a command is for: oneself, or another one for supervisors."""
    if agent_id is None or agent_id == principal.agent_id:
        if principal.agent_id is None:
            raise Forbidden(
                f"user {principal.username} is not an agent; name the agent with agent_id",
                code="not-an-agent",
            )
        return principal.agent_id
    if not principal.is_supervisor:
        raise Forbidden(
            f"agent {principal.username} may only change their own state, not {agent_id}'s",
            code="forbidden",
        )
    return agent_id


def check_call(principal: Principal, call: Call, agent_id: str) -> None:
    """An agent may command a call only while they take part in it."""
    if agent_id in (c.agent_id for c in call.live_connections()):
        return
    raise Forbidden(
        f"call {call.call_id} is not one of {agent_id}'s calls",
        code="forbidden",
        call_id=call.call_id,
    )


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden(f"user {principal.username} is not an admin", code="forbidden")


def require_supervisor(principal: Principal) -> None:
    if not principal.is_supervisor:
        raise Forbidden(f"user {principal.username} is not a supervisor", code="forbidden")
