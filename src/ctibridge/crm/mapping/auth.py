"""How requests to the CRM prove who we are: httpx auth flows built from the mapping.

OAuth2 tokens are cached until shortly before they expire and fetched again
when the CRM answers 401 (a token revoked or expired early), once per request.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Generator
from typing import Any

import httpx

from .schema import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    NoAuth,
    OAuth2ClientCredentials,
    OAuth2JwtBearer,
    OAuth2RefreshToken,
)
from .templates import Templates

# Refresh a little before the CRM's deadline so a request never leaves with a dying token.
EXPIRY_MARGIN_SECONDS = 30.0


class TokenError(Exception):
    """The token endpoint refused or answered something that is not a token."""


class HeaderAuth(httpx.Auth):
    def __init__(self, name: str, value: str) -> None:
        self.name, self.value = name, value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self.name] = self.value
        yield request


class QueryAuth(httpx.Auth):
    def __init__(self, name: str, value: str) -> None:
        self.name, self.value = name, value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.url = request.url.copy_merge_params({self.name: self.value})
        yield request


class OAuth2(httpx.Auth):
    """Client-credentials or refresh-token grant, with a cached token and retry on 401."""

    requires_response_body = True

    def __init__(self, token_url: str, grant: dict[str, str], *, client_id: str,
                 client_secret: str | None, client_auth: str = "body",
                 clock: Callable[[], float] = time.monotonic,
                 assertion: Callable[[], str] | None = None) -> None:
        self.token_url = token_url
        self.grant = grant
        # JWT bearer (RFC 7523): a fresh signed assertion for every token request.
        self.assertion = assertion
        self.client_id, self.client_secret, self.client_auth = client_id, client_secret, client_auth
        self.clock = clock
        self.access_token: str | None = None
        self.expires_at = 0.0
        self.fetches = 0  # how many tokens were fetched (health, tests)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.access_token is None or self.clock() >= self.expires_at:
            self._store((yield self._token_request()))
        request.headers["Authorization"] = f"Bearer {self.access_token}"
        response = yield request
        if response.status_code == 401:
            self._store((yield self._token_request()))
            request.headers["Authorization"] = f"Bearer {self.access_token}"
            yield request

    def _token_request(self) -> httpx.Request:
        data = dict(self.grant)
        headers = {"Accept": "application/json"}
        if self.assertion is not None:
            data["assertion"] = self.assertion()
            return httpx.Request("POST", self.token_url, data=data, headers=headers)
        if self.client_auth == "basic":
            # HTTP Basic (RFC 7617), as httpx.BasicAuth writes it (UTF-8).
            pair = f"{self.client_id}:{self.client_secret or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        else:
            data["client_id"] = self.client_id
            if self.client_secret is not None:
                data["client_secret"] = self.client_secret
        return httpx.Request("POST", self.token_url, data=data, headers=headers)

    def _store(self, response: httpx.Response) -> None:
        where = f"OAuth2 token request to {httpx.URL(self.token_url).copy_with(query=None)}"
        try:
            body: Any = response.json()
        except (ValueError, RecursionError):
            body = None
        if response.status_code != 200 or not isinstance(body, dict):
            reason = body.get("error") if isinstance(body, dict) else None
            raise TokenError(f"{where}: HTTP {response.status_code}"
                             + (f" ({reason})" if reason else ""))
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise TokenError(f"{where}: the answer has no access_token")
        self.access_token = token
        self.fetches += 1
        lifetime = float(body.get("expires_in") or 3600)
        self.expires_at = self.clock() + max(lifetime - EXPIRY_MARGIN_SECONDS, 0.0)
        if isinstance(body.get("refresh_token"), str) and "refresh_token" in self.grant:
            self.grant["refresh_token"] = body["refresh_token"]  # rotated by the CRM


def build_auth(spec: Any, templates: Templates, context: dict[str, Any],
               clock: Callable[[], float] = time.monotonic) -> httpx.Auth | None:
    """The httpx auth for ``spec`` (secrets rendered now, from env/vars)."""
    def r(value: str) -> str:
        return templates.render(value, context)

    if isinstance(spec, NoAuth):
        return None
    if isinstance(spec, BasicAuth):
        return httpx.BasicAuth(r(spec.username), r(spec.password))
    if isinstance(spec, BearerAuth):
        return HeaderAuth("Authorization", f"Bearer {r(spec.token)}")
    if isinstance(spec, ApiKeyAuth):
        cls = HeaderAuth if spec.location == "header" else QueryAuth
        return cls(spec.name, r(spec.value))
    if isinstance(spec, OAuth2ClientCredentials | OAuth2RefreshToken):
        grant: dict[str, str] = {k: r(v) for k, v in spec.extra_params.items()}
        if isinstance(spec, OAuth2ClientCredentials):
            grant["grant_type"] = "client_credentials"
        else:
            grant["grant_type"] = "refresh_token"
            grant["refresh_token"] = r(spec.refresh_token)
        if spec.scope:
            grant["scope"] = spec.scope
        secret = r(spec.client_secret) if spec.client_secret is not None else None
        return OAuth2(r(spec.token_url), grant, client_id=r(spec.client_id),
                      client_secret=secret, client_auth=spec.client_auth, clock=clock)
    if isinstance(spec, OAuth2JwtBearer):
        return _jwt_bearer(spec, r, clock)
    raise TypeError(f"unknown auth {spec!r}")


def _jwt_bearer(spec: OAuth2JwtBearer, r: Callable[[str], str],
                clock: Callable[[], float]) -> OAuth2:
    import jwt  # PyJWT; RS256 needs its 'crypto' extra (cryptography)

    issuer, subject, audience = r(spec.client_id), r(spec.subject), r(spec.audience)
    try:
        key = jwt.api_jws.get_algorithm_by_name(spec.algorithm).prepare_key(
            r(spec.private_key).replace("\\n", "\n"))
    except (ValueError, TypeError, jwt.InvalidKeyError) as exc:  # not a PEM key of that kind
        raise TokenError(f"auth.private_key is not a usable {spec.algorithm} private key "
                         f"({type(exc).__name__})") from None

    def assertion() -> str:
        # Wall-clock time: the CRM checks exp against its own clock.
        claims = {"iss": issuer, "sub": subject, "aud": audience,
                  "exp": int(time.time()) + spec.lifetime_seconds}
        return jwt.encode(claims, key, algorithm=spec.algorithm)

    grant = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer"}
    if spec.scope:
        grant["scope"] = spec.scope
    return OAuth2(r(spec.token_url), grant, client_id=issuer, client_secret=None,
                  clock=clock, assertion=assertion)
