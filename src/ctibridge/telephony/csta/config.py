"""Options of the CSTA connector (``telephony[].options``).

Example (one Avaya AES and one OpenScape Voice)::

    telephony:
      - name: avaya
        type: csta
        options:
          dialect: avaya            # avaya | openscape | oxe
          host: aes.example.net
          port: 4721                # DMCC plain; with tls: true the default is 4722
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

from pydantic import Field, model_validator

from ...options import parse_model
from ..options import TlsOptions, check_backoff

DEFAULT_PORTS = {"avaya": 4721, "openscape": 1040, "oxe": 2555}


class CstaOptions(TlsOptions):
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
    # tls: AES on 4722; OpenScape / OXE where the switch offers it.
    reconnect_min: float = Field(0.2, gt=0)
    reconnect_max: float = Field(4.0, gt=0)

    @model_validator(mode="after")
    def _check(self) -> CstaOptions:
        if self.dialect == "avaya" and not (self.username and self.password):
            raise ValueError("avaya (DMCC) needs username and password (an AES CTI user)")
        check_backoff(self.reconnect_min, self.reconnect_max)
        unknown = set(self.agent_ids) - set(self.devices)
        if unknown:
            raise ValueError(f"agent_ids names devices not in devices: {sorted(unknown)}")
        return self

    @property
    def effective_port(self) -> int:
        if self.port:
            return self.port
        return 4722 if self.tls and self.dialect == "avaya" else DEFAULT_PORTS[self.dialect]


def parse_options(name: str, options: dict[str, Any]) -> CstaOptions:
    # The CSTA errors have never quoted the input.
    return parse_model(CstaOptions, "telephony", name, "csta", options, show_input=False)
