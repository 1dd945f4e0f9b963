"""Who may see and do what.

* an agent commands only their own calls and their own state;
* a supervisor sees everything, may change any agent's state (``agent.*``),
  close anyone's digital work (``interaction.close``) and listen to, whisper to
  or barge into an agent's call from their own phone (``call.monitor``,
  ``call.monitor_stop``: supervisors only), but never acts on a call, a wrap-up,
  an offer or a screen pop in an agent's name: those are the agent's;
* an admin, in addition, manages users and the simulated world.

Every check lives here, so that the WebSocket, REST and click-to-call paths
cannot disagree.
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
    # The server-side login session the token belongs to (api/sessions.py), if any.
    session_id: str | None = None
    # Where the client connects from (a station can be derived from it: core/stations.py).
    client_ip: str | None = None

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


# The ops a supervisor may give in another agent's name (docs/protocol/agent-websocket.md,
# "Supervisors"): state changes, and closing digital work left open.
SUPERVISOR_OPS = frozenset({"agent.login", "agent.logout", "agent.ready", "agent.not_ready",
                            "interaction.close", "call.monitor", "call.monitor_stop"})
# Ops only supervisors may run at all (naming the agent whose call it is, for the audit).
SUPERVISORS_ONLY = frozenset({"call.monitor", "call.monitor_stop"})


def check_op(principal: Principal, op: str, agent_id: object) -> None:
    """Whether ``principal`` may run ``op`` naming ``agent_id`` (None: themselves).

    Called once per command, before its handler: an op outside SUPERVISOR_OPS may
    only ever be run for oneself, whatever one's roles; one in SUPERVISORS_ONLY by
    supervisors alone.
    """
    if op in SUPERVISORS_ONLY:
        require_supervisor(principal)
    if agent_id is None or agent_id == principal.agent_id:
        return
    if not principal.is_supervisor:
        return  # acting_agent refuses it with the usual message
    if op not in SUPERVISOR_OPS:
        raise Forbidden(
            f"only agent {agent_id} may do {op} on their work; a supervisor may change "
            "an agent's state (agent.*) or close their digital work (interaction.close)",
            code="forbidden", op=op)


def history_scope(principal: Principal, agent_id: str | None) -> str | None:
    """Whose history ``principal`` may read when asking for ``agent_id``'s.

    None means every agent's, for supervisors only. A user who is neither a
    supervisor nor an agent has no history to read.
    """
    if principal.is_supervisor:
        return agent_id
    if principal.agent_id is None:
        raise Forbidden(f"user {principal.username} is not an agent and has no history",
                        code="not-an-agent")
    if agent_id is not None and agent_id != principal.agent_id:
        raise Forbidden(f"user {principal.username} may only read their own history",
                        code="forbidden")
    return principal.agent_id
