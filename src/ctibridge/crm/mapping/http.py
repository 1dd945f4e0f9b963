"""HTTP to the CRM: one pooled httpx client, and faults that say what failed where."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

import httpx

from ...redact import MASK, is_secret_name
from ...redact import url as redact_url
from .auth import TokenError


class Fault(Exception):
    """The CRM could not answer usefully.

    ``retryable``: trying again later may help (the outbox retries the call log).
    ``transient``: trying again right now may help (a lookup retries at once: a timeout,
    a 503), unlike a login page or an answer of the wrong shape.
    """

    def __init__(self, reason: str, *, status: int | None = None, retryable: bool = True,
                 transient: bool = False, maybe_sent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retryable = retryable
        self.transient = transient and retryable
        # The request may have been carried out: it left, and no answer says how it went
        # (a read timeout, a connection lost mid-answer, a gateway timeout). Unlike a
        # refused connection, re-sending it blindly may write twice.
        self.maybe_sent = maybe_sent


def retryable_status(status: int) -> bool:
    # 408 timeout, 409 conflict (may clear), 429 rate limit, 5xx: the CRM may succeed later.
    return status in (408, 409, 429) or status >= 500


def shown(request: httpx.Request) -> str:
    """``METHOD url`` without the query string (it may carry an API key) nor the password
    of the URL's userinfo."""
    return f"{request.method} {redact_url(str(request.url.copy_with(query=None)))}"


def _mask_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: MASK if is_secret_name(str(k)) and v not in (None, "")
                else _mask_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_value(v) for v in value]
    return value


def masked(request: httpx.Request, secrets: Iterable[str] = ()) -> str:
    """``METHOD URL`` and the body, as a trace shows them: the values of secret-looking
    query parameters and fields, a URL's password and any of ``secrets`` masked."""
    url = request.url
    if url.password:
        url = url.copy_with(password=MASK)
    params = [(k, MASK if is_secret_name(k) else v) for k, v in url.params.multi_items()]
    if params:
        url = url.copy_with(query=urlencode(params, safe="*").encode())
    text = f"{request.method} {url}"
    body = request.content.decode("utf-8", "replace") if request.content else ""
    if body:
        ctype = request.headers.get("content-type", "")
        try:
            if "json" in ctype:
                data = json.loads(body)
                hidden = _mask_value(data)
                if hidden != data:  # else as sent, byte for byte
                    body = json.dumps(hidden, ensure_ascii=False, separators=(",", ":"))
            elif "x-www-form-urlencoded" in ctype:
                pairs = parse_qsl(body, keep_blank_values=True)
                if any(is_secret_name(k) for k, _ in pairs):
                    body = urlencode([(k, MASK if is_secret_name(k) else v)
                                      for k, v in pairs], safe="*")
        except ValueError:
            pass
        if len(body) > 2000:
            body = body[:2000] + "…"
        text += "\n" + body
    for secret in secrets:
        if len(secret) >= 4:  # a short one would mask random text
            text = text.replace(secret, MASK)
    return text


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    data: Any  # decoded JSON, or None for an empty body
    empty: bool = False  # the status was one of the "no such record" statuses


class HttpClient:
    def __init__(self, base_url: str, *, headers: dict[str, str], timeout: float,
                 verify: bool, auth: httpx.Auth | None) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self._base = httpx.URL(self.base_url)
        self.timeout = timeout
        self.auth = auth
        self.secrets: frozenset[str] = frozenset()  # masked in traces (the auth's secrets)
        self._client = httpx.AsyncClient(
            base_url=self.base_url, headers={"Accept": "application/json", **headers},
            timeout=timeout, verify=verify, auth=auth, follow_redirects=False)

    async def stop(self) -> None:
        await self._client.aclose()

    def build(self, method: str, path: str, *, query: dict[str, Any], headers: dict[str, str],
              json_body: Any = None, form: dict[str, str] | None = None) -> httpx.Request:
        params = {k: _query_value(v) for k, v in query.items() if v is not None}
        # A leading slash would drop the base URL's own path (httpx joins like a browser).
        url = path if "://" in path else path.lstrip("/")
        kwargs: dict[str, Any] = {"params": params, "headers": headers}
        if form is not None:
            kwargs["data"] = form
        elif json_body is not None:
            kwargs["json"] = json_body
        request = self._client.build_request(method, url, **kwargs)
        self.check_under_base(request)
        return request

    def check_under_base(self, request: httpx.Request) -> None:
        """Refuse a request that would leave ``base_url``: another scheme, host or port,
        a path outside the base path, or a ``.``/``..`` segment (also percent-encoded,
        which some servers decode before resolving). The hub's credentials go with
        every request, so a template must never reach another part of the CRM."""
        url, base = request.url, self._base
        where = shown(request)
        if (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port):
            raise Fault(f"refused {where}: it is not under the mapping's base_url "
                        f"{base.copy_with(query=None, fragment=None, userinfo=b'')}",
                        retryable=False)
        path = unquote(url.raw_path.split(b"?", 1)[0].decode("ascii", "replace"))
        segments = path.replace("\\", "/").split("/")
        if any(seg in (".", "..") for seg in segments):
            raise Fault(f"refused {where}: its path holds a '.' or '..' segment (a value "
                        "from a call or an agent trying to leave base_url?)", retryable=False)
        base_path = base.path.rstrip("/") + "/"
        if not (path + "/").startswith(base_path):
            raise Fault(f"refused {where}: its path is not under the base_url's path "
                        f"{base_path}", retryable=False)

    async def send(self, request: httpx.Request, *, empty_statuses: frozenset[int] = frozenset(),
                   want_json: bool = True, trace: list[str] | None = None) -> Answer:
        """Send ``request``; with ``trace``, add what was sent and the answer's status."""
        if trace is None:
            return await self._send(request, empty_statuses, want_json)
        trace.append("→ " + masked(request, self.secrets))
        started = time.perf_counter()
        try:
            answer = await self._send(request, empty_statuses, want_json)
        except Fault as fault:
            took = (time.perf_counter() - started) * 1000
            trace.append(f"← HTTP {fault.status} in {took:.0f} ms" if fault.status else
                         f"← {fault.reason}")
            raise
        took = (time.perf_counter() - started) * 1000
        trace.append(f"← HTTP {answer.status} in {took:.0f} ms"
                     + (" (no such record)" if answer.empty else ""))
        return answer

    async def _send(self, request: httpx.Request, empty_statuses: frozenset[int],
                    want_json: bool) -> Answer:
        try:
            response = await self._client.send(request)
        except httpx.TimeoutException as exc:
            try:
                failed = exc.request
            except RuntimeError:
                failed = request
            # Connecting (or waiting for a pooled connection) timed out: nothing left.
            sent = not isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
            what = "no answer" if sent else "could not connect"
            raise Fault(f"{what} within {self.timeout:g} s from {shown(failed)}",
                        transient=True, maybe_sent=sent and failed is request) from None
        except httpx.TransportError as exc:
            try:
                failed = exc.request  # the token request, when that is what failed
            except RuntimeError:
                failed = request
            # Refused, unresolvable, unreachable: the request never left. A connection
            # lost once it had left (reset, closed mid-answer) may have done its work.
            sent = not isinstance(exc, httpx.ConnectError | httpx.UnsupportedProtocol
                                  | httpx.ProxyError)
            what = "lost the connection to" if sent else "cannot reach"
            raise Fault(f"{what} {shown(failed)} ({type(exc).__name__}: {exc})",
                        transient=True, maybe_sent=sent and failed is request) from None
        except TokenError as exc:
            raise Fault(str(exc)) from None
        status = response.status_code
        if status in empty_statuses:
            return Answer(status, None, empty=True)
        if status >= 400 or 300 <= status < 400:
            detail = _detail(response)
            raise Fault(f"HTTP {status} from {shown(request)}{detail}", status=status,
                        retryable=retryable_status(status) or 300 <= status < 400,
                        transient=status in (408, 429) or status >= 500,
                        # A gateway that gave up waiting, or lost the CRM mid-answer.
                        maybe_sent=status in (502, 504))
        if not response.content.strip():
            if want_json:
                raise Fault(f"HTTP {status} from {shown(request)} with an empty body, "
                            "expected JSON", status=status)
            return Answer(status, None)
        ctype = response.headers.get("content-type", "")
        if "html" in ctype or response.content.lstrip()[:1] == b"<":
            raise Fault(f"HTTP {status} from {shown(request)} is an HTML page, not JSON "
                        "(a login page? check the credentials and the URL)", status=status)
        try:
            data = response.json()
        except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
            if not want_json:
                return Answer(status, None)
            raise Fault(f"HTTP {status} from {shown(request)} is not valid JSON "
                        f"({ctype or 'no content type'})", status=status) from None
        return Answer(status, data)


def _query_value(v: Any) -> Any:
    if isinstance(v, bool):
        return "true" if v else "false"
    return v


def _detail(response: httpx.Response) -> str:
    """The CRM's own reason, from a JSON error body of any shape (``": reason"``)."""
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return ""
    reason = reason_of(body)
    return f": {reason}" if reason else ""


_REASON_KEYS = ("message", "error_description", "detail", "error", "errors", "title",
                "non_field_errors", "description")


def reason_of(body: Any, limit: int = 300) -> str:
    """Every message in an error body, with the field it concerns: DRF's ``detail`` and
    ``{"field": ["..."]}``, ``non_field_errors``, nested ``{"error": true, "errors": {...}}``,
    lists of messages or of ``{"field", "message"}`` objects (JSON:API, Salesforce...)."""
    found: list[str] = []

    def walk(value: Any, path: str, depth: int) -> None:
        if depth > 6 or len(found) >= 12:
            return
        if isinstance(value, str):
            text = " ".join(value.split())
            if text:
                found.append(f"{path}: {text}" if path else text)
        elif isinstance(value, list):
            for item in value:
                walk(item, path, depth + 1)
        elif isinstance(value, dict):
            # Well-known message keys first, then fields (their names kept as context).
            keys = sorted(value, key=lambda k: (k not in _REASON_KEYS, str(k)))
            field_name = value.get("field") or value.get("fields")
            for k in keys:
                if k in ("field", "fields", "code", "status", "type", "errorCode") and \
                        isinstance(value.get("message") or value.get("detail"), str):
                    continue  # said with the message
                name = "" if k in _REASON_KEYS else str(k)
                if name in ("non_field_errors", "__all__"):
                    name = ""
                sub = ".".join(p for p in (path, name) if p)
                if k in ("message", "detail") and isinstance(field_name, str):
                    sub = ".".join(p for p in (path, field_name) if p)
                walk(value[k], sub, depth + 1)

    walk(body, "", 0)
    text = "; ".join(dict.fromkeys(found))
    return text if len(text) <= limit else text[: limit - 1] + "…"
