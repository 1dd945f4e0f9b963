"""One error hierarchy for the whole hub.

Every error a user can see carries a stable kebab-case ``code`` (what clients
switch on) and a sentence naming what was wrong. REST and WebSocket render
them the same way: ``{"code": ..., "message": ...}``.
"""

from __future__ import annotations

from typing import Any


class CtiError(Exception):
    code: str = "internal-error"
    status: int = 500

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        # What a client sees never carries a credential (a CRM URL's password, an API key in
        # a query string), whatever the message quotes.
        from ..redact import scrub, text

        out: dict[str, Any] = {"code": self.code, "message": text(self.message)}
        if self.details:
            out["details"] = scrub(self.details)
        return out


class BadRequest(CtiError):
    code = "bad-request"
    status = 400


class IllegalTransition(CtiError):
    """A state change the model forbids (e.g. ready while logged out)."""

    code = "illegal-transition"
    status = 409


class NotFound(CtiError):
    code = "not-found"
    status = 404


class Forbidden(CtiError):
    code = "forbidden"
    status = 403


class Unauthorized(CtiError):
    code = "unauthorized"
    status = 401


class CapabilityMissing(CtiError):
    """The platform behind the device cannot do what was asked."""

    code = "capability-missing"
    status = 501


class PlatformError(CtiError):
    """The telephony platform refused or failed a command."""

    code = "platform-error"
    status = 502


class ConfigError(CtiError):
    code = "config-error"
    status = 500


class TooManyRequests(CtiError):
    """Slow down: try again in ``retry_after`` seconds (sent as ``Retry-After``)."""

    code = "rate-limited"
    status = 429

    def __init__(self, message: str, *, retry_after: float, code: str | None = None,
                 **details: Any) -> None:
        self.retry_after = max(1, int(-(-retry_after // 1)))  # whole seconds, rounded up
        super().__init__(message, code=code, retry_after=self.retry_after, **details)


class ServiceBusy(TooManyRequests):
    """The hub cannot take this now (e.g. every password-hashing slot is taken)."""

    code = "busy"
    status = 503
