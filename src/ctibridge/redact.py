"""Secret redaction, in one place: for logs, errors shown to users, health and config output.

What counts as a secret:

* a URL's userinfo password (``https://user:pw@crm`` → ``https://user:***@crm``);
* query parameters and ``name=value`` pairs whose name looks like a secret
  (``key``, ``token``, ``secret``, ``password``, ``signature``, ``ticket``…);
* headers that carry credentials (``Authorization``, ``Cookie``, ``X-Api-Key``…);
* configuration and JSON fields whose name looks like a secret.

Redaction is lossy on purpose (a false positive hides a harmless value; a false
negative leaks a credential) and never raises: it runs inside error paths.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any
from urllib.parse import SplitResult, parse_qsl, quote, urlsplit, urlunsplit

MASK = "***"

# Words that make a field, parameter or header name secret, as parts of the name
# ("api_key", "X-Api-Key", "client_secret", "access_token", "sig", "ws_ticket")...
_SECRET_PARTS = frozenset({
    "password", "passwd", "passphrase", "pwd", "pass", "secret", "token", "apikey", "key",
    "signature", "sig", "ticket", "auth", "authorization", "cookie", "sessionid", "credential",
    "credentials", "bearer", "private", "jwt", "otp", "verifier",
})
# ...or anywhere in it ("clientSecret", "accessToken", "dbpassword").
_SECRET_INFIXES = ("password", "passwd", "secret", "token", "apikey")
# Names holding a secret word that are not secrets.
_NOT_SECRET = frozenset({"keep_alive", "key_field", "token_ttl_seconds", "ticket_ttl_seconds",
                         "idempotency_key", "sort_key", "primary_key", "max_tokens"})
_SPLIT = re.compile(r"[^a-z0-9]+")

_SECRET_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key",
    "x-auth-token", "x-access-token", "x-csrf-token", "x-ctibridge-signature", "x-hub-signature",
    "x-hub-signature-256", "x-twilio-signature",
})

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,15}://[^\s'\"<>`]+")
# name=value in a query string or free text (?ticket=…, &api_key=…, password=…).
_PAIR = re.compile(r"(?P<lead>(?:^|[?&;\s,(\[{]))(?P<name>[A-Za-z0-9_.\-\[\]]{1,64})="
                   r"(?P<value>[^&\s#'\"<>;,)\]}]*)")
_BEARER = re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=\-]{8,}")


def is_secret_name(name: str) -> bool:
    """True for a field, parameter or header name that holds a credential."""
    low = name.strip().lower()
    if not low or low in _NOT_SECRET:
        return False
    if low in _SECRET_HEADERS or any(w in low for w in _SECRET_INFIXES):
        return True
    return any(part in _SECRET_PARTS for part in _SPLIT.split(low))


def url(value: str) -> str:
    """``value`` with its userinfo password and secret query parameters masked."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return text_pairs(value)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{hostport}" if colon else f"{MASK}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret_name(k) for k, _ in pairs):
            query = "&".join(
                f"{quote(k, safe='')}={MASK if is_secret_name(k) else quote(v, safe='')}"
                for k, v in pairs)
    fragment = text_pairs(parts.fragment) if parts.fragment else ""
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, query, fragment))


def text_pairs(value: str) -> str:
    """``name=value`` pairs with a secret-looking name masked (no URL parsing)."""

    def mask(m: re.Match[str]) -> str:
        if not is_secret_name(m.group("name")):
            return m.group(0)
        return f"{m.group('lead')}{m.group('name')}={MASK}"

    return _PAIR.sub(mask, value)


def text(value: str) -> str:
    """Free text (a log line, an error message) with every secret found in it masked."""
    if not value:
        return value
    try:
        out = _URL.sub(lambda m: url(m.group(0)), value)
        out = text_pairs(out)
        return _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", out)
    except Exception:  # never let redaction break an error path
        return MASK


def headers(items: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers with credential-carrying values masked (for logs and error reports)."""
    pairs = items.items() if isinstance(items, Mapping) else items
    return {k: (MASK if is_secret_name(k) else text(v)) for k, v in pairs}


def value(name: str, v: Any) -> Any:
    """A configuration value as it may be shown: masked when its name is secret."""
    if v is None:
        return None
    if is_secret_name(name):
        return MASK
    return scrub(v)


def scrub(obj: Any, _depth: int = 0) -> Any:
    """A JSON-like value with secret fields masked and secrets in its strings redacted."""
    if _depth > 32:
        return MASK
    if isinstance(obj, str):
        return text(obj)
    if isinstance(obj, Mapping):
        return {k: (MASK if isinstance(k, str) and is_secret_name(k) and _maskable(val)
                    else scrub(val, _depth + 1))
                for k, val in obj.items()}
    if isinstance(obj, list | tuple):
        return [scrub(x, _depth + 1) for x in obj]
    if hasattr(obj, "get_secret_value"):  # pydantic SecretStr
        return MASK
    return obj


def _maskable(v: Any) -> bool:
    # A secret-named section (auth: {...}) is searched, not hidden whole; flags and
    # numbers (token_ttl: 60, has_password: true) tell nothing.
    return v is not None and not isinstance(v, bool | int | float | Mapping | list | tuple)


# ------------------------------------------------------------------------------ logs


def structlog_processor(_: Any, __: str, event_dict: MutableMapping[str, Any]
                        ) -> Mapping[str, Any]:
    """A structlog processor: every value of every log line redacted."""
    return {k: (v if k in ("timestamp", "level") else
                MASK if is_secret_name(k) and isinstance(v, str) and k != "event"
                else scrub(v) if isinstance(v, str | Mapping | list | tuple) else v)
            for k, v in event_dict.items()}


class RedactingFilter(logging.Filter):
    """A stdlib logging filter: the formatted message redacted (uvicorn's lines
    carry paths with ``?ticket=…``, libraries' lines carry URLs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        cleaned = text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


# Library loggers that print request URLs (API keys in query strings, callers' numbers)
# at INFO: kept to warnings.
QUIET_LOGGERS = ("httpx", "httpcore", "hpack")
# Loggers whose lines may carry secrets: filtered.
FILTERED_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "httpcore",
                    "ctibridge")


def install_log_guards() -> None:
    """Quiet the chatty HTTP clients and redact what uvicorn and the root logger print."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    guard = RedactingFilter()
    for name in FILTERED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(guard)
    # Records that propagate to the root logger pass its handlers' filters too.
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(guard)
