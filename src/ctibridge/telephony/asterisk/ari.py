"""The few ARI (Asterisk REST Interface) calls the connector uses.

AMI has no hold, answer or conference action; ARI has them, for channels that
are in a Stasis application (``Stasis(ctibridge)`` in the dialplan). ARI
channel ids are the AMI ``Uniqueid`` values, so the connector addresses the
same channels it follows over AMI.
"""

from __future__ import annotations

from typing import Any

import httpx

from ...model.errors import PlatformError
from .config import AriOptions


class AriClient:
    def __init__(self, options: AriOptions, *, timeout: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.options = options
        self._http = httpx.AsyncClient(
            base_url=options.url.rstrip("/"), auth=(options.username, options.password),
            timeout=timeout, transport=transport)

    async def close(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, what: str, **params: Any) -> Any:
        try:
            r = await self._http.request(method, path, params=params or None)
        except httpx.HTTPError as exc:
            raise PlatformError(f"ARI is unreachable while {what}: {exc}",
                                code="platform-down") from exc
        if r.status_code >= 400:
            try:
                detail = r.json().get("message") or r.text
            except ValueError:
                detail = r.text
            code = {404: "no-such-channel", 409: "not-in-stasis"}.get(r.status_code,
                                                                        "platform-error")
            raise PlatformError(f"ARI refused {what}: {detail or r.status_code}", code=code)
        return r.json() if r.content else None

    async def hold(self, channel_id: str) -> None:
        await self._call("POST", f"/channels/{channel_id}/hold", "holding the call")

    async def unhold(self, channel_id: str) -> None:
        await self._call("DELETE", f"/channels/{channel_id}/hold", "retrieving the call")

    async def answer(self, channel_id: str) -> None:
        await self._call("POST", f"/channels/{channel_id}/answer", "answering")

    async def conference(self, channel_ids: list[str]) -> str:
        """Put the channels together in a new mixing bridge; returns its id."""
        bridge = await self._call("POST", "/bridges", "creating the conference",
                                  type="mixing", name="ctibridge-conference")
        bridge_id = str(bridge["id"])
        await self._call("POST", f"/bridges/{bridge_id}/addChannel", "joining the conference",
                         channel=",".join(channel_ids))
        return bridge_id
