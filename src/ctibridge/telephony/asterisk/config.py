"""Options of the Asterisk connector (``telephony[].options`` in the YAML file).

Example::

    telephony:
      - name: pbx
        type: asterisk
        options:
          host: 10.0.0.5
          port: 5038
          username: ctibridge
          secret: "${AMI_SECRET}"          # or CTIBRIDGE_TELEPHONY__... env
          queues: [support, sales]
          region: FR                        # national numbers -> E.164
          variables: [CUSTOMER_ID, ACCOUNT, IVR_CHOICE]
          agents:
            "6001": {interface: PJSIP/6001, name: Agent 6001}
            "6002": {interface: Local/6002@agents, dial: Local/6002@agents-phone,
                     state_interface: "Custom:6002"}

The keys of ``agents`` are the ctibridge extensions (``agents[].extension``).
Errors are raised as :class:`ConfigError` naming the field.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from ...options import Strict as _Strict
from ...options import parse_model
from ..options import LinkOptions, TlsOptions, channel_variables


class AgentInterface(_Strict):
    """How one ctibridge extension appears on Asterisk."""

    interface: str = Field(min_length=3, description="queue member interface, e.g. PJSIP/6001")
    dial: str | None = Field(None, description="what Originate calls for click-to-call "
                             "(default: the interface)")
    state_interface: str | None = None
    name: str | None = Field(None, description="MemberName in the queues")
    queues: list[str] | None = Field(None, description="queues of this agent (default: all)")
    aliases: list[str] = Field(default_factory=list,
                               description="other device names of this agent's phones")

    @field_validator("interface", "dial")
    @classmethod
    def _tech_slash(cls, v: str | None) -> str | None:
        if v is not None and ("/" not in v or v.startswith("/") or v.endswith("/")):
            raise ValueError(f"{v!r} is not an Asterisk interface (Technology/resource, "
                             "e.g. PJSIP/6001 or Local/6001@agents)")
        return v

    @property
    def dial_string(self) -> str:
        return self.dial or self.interface

    def devices(self) -> set[str]:
        out = {self.interface, self.dial_string, *self.aliases}
        return {d for d in out if d}


class AriOptions(_Strict):
    """ARI (REST) access: enables hold, answer and conference."""

    url: str = Field(pattern=r"^https?://", description="e.g. http://10.0.0.5:8088/ari")
    username: str
    password: str
    app: str = Field("ctibridge", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    context: str = Field("ctibridge-stasis", min_length=1, description=(
        "dialplan context whose extension <app> runs Stasis(<app>): where calls are "
        "moved (AMI Redirect) when ARI must act on them"))


class AsteriskOptions(LinkOptions, TlsOptions):
    host: str = Field(min_length=1)
    port: int | None = Field(None, ge=1, le=65535)
    username: str = Field(min_length=1)
    secret: str = Field(min_length=1)
    auth: Literal["plain", "md5"] = "plain"
    queues: list[str] = Field(default_factory=list,
                              description="queues whose callers and members ctibridge follows "
                              "(empty: all)")
    agents: dict[str, AgentInterface] = Field(default_factory=dict)
    variables: list[str] = Field(
        default_factory=lambda: ["CUSTOMER_ID", "ACCOUNT", "IVR_CHOICE", "CTI_DATA"],
        description="channel variables copied onto the call's attached data")
    region: str | None = Field(None, pattern=r"^[A-Z]{2}$",
                               description="default region for national numbers (E.164)")
    originate_context: str = "from-internal"
    transfer_context: str = "from-internal"
    originate_timeout: float = Field(30.0, gt=0, le=300)
    caller_id: str | None = Field(None, description="CallerID for click-to-call "
                                  "(default: the agent's name and extension)")
    boot_timeout: float = Field(10.0, ge=0, le=600, description="seconds to wait for "
                                "FullyBooted after login before going on without it")
    reconcile_interval: float = Field(60.0, ge=0, le=3600, description="seconds between "
                                      "CoreShowChannels checks that end calls whose channels "
                                      "are gone (0: off)")
    restore_members: bool = Field(True, description="after an Asterisk restart, put agents "
                                  "back in their queues as they were")
    reject_reason: str | None = Field(
        "rejected", min_length=1, max_length=64,
        description="pause reason set in the agent's queues when they reject a ringing queue "
        "call (the queue would offer it to them again); null: do not pause")
    ari: AriOptions | None = None
    hold_context: str | None = Field("ctibridge-hold", min_length=1, description=(
        "AMI-only hold: the dialplan context where the held customer hears music "
        "(extension 'hold': MusicOnHold()); the agent waits in wait_context; retrieve "
        "bridges them again with the AMI Bridge action. null: no hold without ARI"))
    wait_context: str = Field("ctibridge-wait", min_length=1, description=(
        "where the agent's channel waits while the customer is on hold (Wait())"))
    conference_context: str | None = Field("ctibridge-conference", min_length=1, description=(
        "AMI-only conference: the dialplan context whose extensions are ConfBridge rooms "
        "(ConfBridge(${EXTEN})). null: no conference without ARI"))
    chanspy: bool = Field(True, description=(
        "supervisors listen, whisper and barge with ChanSpy (app_chanspy, loaded by "
        "default): an Originate to the supervisor's phone; false: not offered"))
    answer_notify_event: str | None = Field(None, min_length=1, max_length=32, description=(
        "answer from the bar by sending the ringing PJSIP phone a NOTIFY with this Event "
        "header (PJSIPNotify; 'talk' for Yealink, Polycom, Snom... phones that allow it)"))

    @field_validator("agents")
    @classmethod
    def _extensions(cls, v: dict[str, AgentInterface]) -> dict[str, AgentInterface]:
        seen: dict[str, str] = {}
        for ext, a in v.items():
            if not ext or len(ext) > 32:
                raise ValueError(f"agent extension {ext!r} must have 1 to 32 characters")
            for dev in a.devices():
                if dev in seen and seen[dev] != ext:
                    raise ValueError(f"device {dev} is given to both {seen[dev]} and {ext}")
                seen[dev] = ext
        return v

    @field_validator("variables")
    @classmethod
    def _vars(cls, v: list[str]) -> list[str]:
        return [n.lstrip("_") for n in channel_variables(v)]

    @property
    def effective_port(self) -> int:
        return self.port or (5039 if self.tls else 5038)


def parse_options(name: str, options: dict[str, Any]) -> AsteriskOptions:
    """Validate ``options``; raise ConfigError listing each field that is wrong."""
    return parse_model(AsteriskOptions, "telephony", name, "asterisk", options,
                       hidden=("secret", "ari.password"))
