"""Options of the FreeSWITCH connector (``telephony[].options`` in the YAML file).

Example::

    telephony:
      - name: fs
        type: freeswitch
        options:
          host: 10.0.0.6
          port: 8021
          password: "${ESL_PASSWORD}"      # event_socket.conf.xml's password
          domain: default                  # agents' directory domain
          queues: [support@default]
          variables: [customer_id, account, ivr_choice]
          break_reasons: {lunch: "On Break", training: "On Break"}
          agents:
            "6001": {}                     # agent 6001@default, user/6001@default
            "6002": {agent: "bob@default", user: "6002"}

The keys of ``agents`` are the ctibridge extensions. Errors are raised as
:class:`ConfigError` naming the field.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from ...options import Strict as _Strict
from ...options import parse_model
from ..options import LinkOptions, channel_variables

# mod_callcenter's agent statuses (cc_agent_status_t) as they appear on the wire.
STATUSES = ("Logged Out", "Available", "Available (On Demand)", "On Break")


class AgentOnSwitch(_Strict):
    """How one ctibridge extension appears on FreeSWITCH."""

    agent: str | None = Field(None, description="mod_callcenter agent name "
                              "(default: <extension>@<domain>)")
    user: str | None = Field(None, description="directory user of the agent's phone "
                             "(default: the extension)")
    dial: str | None = Field(None, description="what originate calls for click-to-call "
                             "(default: user/<user>@<domain>)")
    queues: list[str] | None = Field(None, description="queues of this agent (default: all)")


class FreeSwitchOptions(LinkOptions):
    host: str = Field(min_length=1)
    port: int = Field(8021, ge=1, le=65535)
    password: str = Field(min_length=1)
    events: Literal["plain", "json"] = Field("plain", description="event encoding asked")
    domain: str = Field("default", min_length=1)
    queues: list[str] = Field(default_factory=list, description="queues whose callers "
                              "ctibridge follows (empty: all)")
    agents: dict[str, AgentOnSwitch] = Field(default_factory=dict)
    variables: list[str] = Field(
        default_factory=lambda: ["customer_id", "account", "ivr_choice", "cti_data"],
        description="channel variables copied onto the call's attached data")
    region: str | None = Field(None, pattern=r"^[A-Z]{2}$")
    originate_context: str = Field("internal", description="dialplan context of click-to-call")
    transfer_context: str = Field("internal", description="dialplan context of transfers")
    conference_profile: str = Field("default", min_length=1)
    ready_status: Literal["Available", "Available (On Demand)"] = "Available"
    not_ready_status: Literal["On Break"] = "On Break"
    break_reasons: dict[str, str] = Field(default_factory=dict, description=(
        "our not-ready reason -> mod_callcenter status (only 'On Break' exists; the "
        "reason itself is kept by ctibridge)"))
    wrap_up: Literal["hub", "switch"] = Field("hub", description=(
        "who times the wrap-up: 'hub' (ctibridge's timer; the agent's wrap-up-time in "
        "callcenter.conf.xml should be 0) or 'switch' (wrap-up-time; ctibridge shows "
        "the agent ready when it ends)"))
    answer: Literal["none", "phone_event"] = Field("none", description=(
        "answer from the bar: 'phone_event' sends the ringing SIP phone a talk NOTIFY "
        "(uuid_phone_event, mod_sofia; Yealink, Polycom, Snom... when allowed); 'none': "
        "the agent answers on the phone"))
    originate_timeout: float = Field(30.0, gt=0, le=300)

    @field_validator("agents")
    @classmethod
    def _extensions(cls, v: dict[str, AgentOnSwitch]) -> dict[str, AgentOnSwitch]:
        for ext in v:
            if not ext or len(ext) > 32 or any(c.isspace() or c in "'\"{}" for c in ext):
                raise ValueError(f"agent extension {ext!r} must have 1 to 32 characters, "
                                 "no spaces or quotes")
        return v

    @field_validator("break_reasons")
    @classmethod
    def _reasons(cls, v: dict[str, str]) -> dict[str, str]:
        for reason, status in v.items():
            if status not in STATUSES:
                raise ValueError(f"break_reasons.{reason}: {status!r} is not a "
                                 f"mod_callcenter status ({', '.join(STATUSES)})")
        return v

    @field_validator("variables")
    @classmethod
    def _vars(cls, v: list[str]) -> list[str]:
        return channel_variables(v)

    # ------------------------------------------------------------ agents

    def agent_name(self, ext: str) -> str:
        a = self.agents.get(ext)
        return (a.agent if a and a.agent else None) or f"{ext}@{self.domain}"

    def user_of(self, ext: str) -> str:
        a = self.agents.get(ext)
        return (a.user if a and a.user else None) or ext

    def dial_of(self, ext: str) -> str:
        a = self.agents.get(ext)
        return (a.dial if a and a.dial else None) or f"user/{self.user_of(ext)}@{self.domain}"

    def by_agent_name(self) -> dict[str, str]:
        return {self.agent_name(ext): ext for ext in self.agents}

    def by_user(self) -> dict[str, str]:
        return {self.user_of(ext): ext for ext in self.agents}


def parse_options(name: str, options: dict[str, Any]) -> FreeSwitchOptions:
    """Validate ``options``; raise ConfigError listing each field that is wrong."""
    return parse_model(FreeSwitchOptions, "telephony", name, "freeswitch", options,
                       hidden=("password",))
