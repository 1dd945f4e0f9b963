"""Options of the CSTA connector (``telephony[].options``).

Example (one Avaya AES and one OpenScape Voice)::

    telephony:
      - name: avaya
        type: csta
        options:
          dialect: avaya            # avaya | openscape | oxe
          host: aes.example.net
          port: 4721                # DMCC plain; 4722 is TLS
          username: ctibridge       # an AES CTI user (User Management)
          password: "${AES_PASSWORD}"
          switch_name: CM1          # the switch connection name on AES
          devices: ["2001", "2002"] # the agents' extensions (monitored)
          agent_ids: {"2001": "3001"}   # ACD agent login id per station, for SetAgentState
      - name: osv
        type: csta
        options: {dialect: openscape, host: osv.example.net, port: 1040,
                  devices: ["+17867100001"]}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ...model.errors import ConfigError

DEFAULT_PORTS = {"avaya": 4721, "openscape": 1040, "oxe": 2555}


class CstaOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dialect: Literal["avaya", "openscape", "oxe"]
    host: str = Field(min_length=1)
    port: int | None = Field(None, ge=1, le=65535)
    devices: list[str] = Field(min_length=1, description="agents' extensions to monitor")
    agent_ids: dict[str, str] = Field(default_factory=dict)
    # Not-ready reasons as the switch numbers them (Avaya AUX reason codes 1-99).
    reason_codes: dict[str, int] = Field(default_factory=dict)
    username: str = ""
    password: str = ""
    switch_name: str = "CM1"
    application: str = "ctibridge"
    protocol: str | None = None
    session_duration: int = Field(180, ge=10, le=3600)
    heartbeat: float = Field(30.0, gt=0, description="seconds between SystemStatus heartbeats")
    request_timeout: float = Field(10.0, gt=0)
    reconnect_min: float = Field(0.2, gt=0)
    reconnect_max: float = Field(4.0, gt=0)

    @model_validator(mode="after")
    def _check(self) -> CstaOptions:
        if self.dialect == "avaya" and not (self.username and self.password):
            raise ValueError("avaya (DMCC) needs username and password (an AES CTI user)")
        if self.reconnect_max < self.reconnect_min:
            raise ValueError("reconnect_max must be at least reconnect_min")
        unknown = set(self.agent_ids) - set(self.devices)
        if unknown:
            raise ValueError(f"agent_ids names devices not in devices: {sorted(unknown)}")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.dialect]


def parse_options(name: str, options: dict[str, Any]) -> CstaOptions:
    try:
        return CstaOptions.model_validate(options)
    except ValidationError as exc:
        lines = []
        for e in exc.errors():
            loc = ".".join(str(p) for p in e["loc"]) or "(options)"
            lines.append(f"  - telephony {name!r} options.{loc}: {e['msg']}")
        raise ConfigError(
            f"telephony {name!r} (csta) has {exc.error_count()} error(s):\n" + "\n".join(lines),
            code="config-invalid",
            errors=[{"field": "options." + ".".join(str(p) for p in e["loc"]),
                     "message": e["msg"]} for e in exc.errors()],
        ) from None
