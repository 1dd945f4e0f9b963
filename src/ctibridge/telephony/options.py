"""Option fields the telephony connectors share (``telephony[].options``)."""

from __future__ import annotations

import ssl
from pathlib import Path

from pydantic import Field, model_validator

from ..options import Strict


class TlsOptions(Strict):
    """TLS to the platform: on or off, the CA that signs it, whether to verify it."""

    tls: bool = False
    tls_verify: bool = True
    tls_ca: str | None = None  # CA file to verify the platform (default: the system's)

    @model_validator(mode="after")
    def _ca_file(self) -> TlsOptions:
        if self.tls_ca is not None and not Path(self.tls_ca).is_file():
            raise ValueError(f"tls_ca: no file {self.tls_ca}")
        return self

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        ctx = ssl.create_default_context(cafile=self.tls_ca)
        if not self.tls_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx


def channel_variables(names: list[str]) -> list[str]:
    """``names`` if each is a channel variable's name (letters, digits, underscores)."""
    for name in names:
        if not name or not name.replace("_", "").isalnum():
            raise ValueError(f"{name!r} is not a channel variable name")
    return names


def check_backoff(reconnect_min: float, reconnect_max: float) -> None:
    if reconnect_max < reconnect_min:
        raise ValueError("reconnect_max must be at least reconnect_min")


class LinkOptions(Strict):
    """A client link kept up with keep-alives, reconnected with back-off (AMI, ESL)."""

    timeout: float = Field(10.0, gt=0, le=120, description="seconds to wait for an answer")
    ping_interval: float = Field(20.0, ge=0, le=600, description="keep-alive: seconds "
                                 "between pings when nothing arrives (0: off)")
    reconnect_min: float = Field(1.0, gt=0, le=60)
    # Capped low so that a returning platform is picked up within 5 s.
    reconnect_max: float = Field(4.0, gt=0, le=3600)
    auth_retry: float = Field(30.0, gt=0, le=3600,
                              description="seconds between logins after a refused one")
    max_backlog: int = Field(50_000, ge=100)

    @model_validator(mode="after")
    def _backoff(self) -> LinkOptions:
        check_backoff(self.reconnect_min, self.reconnect_max)
        return self
