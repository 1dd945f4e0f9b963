"""The other auth kinds against the real test CRM: refresh token (rotated), Basic, API key
in the query (never shown in errors)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctibridge.crm.base import LookupContext
from ctibridge.model.party import Party

from .conftest import INHOUSE_REST, connector_for
from .testcrm import API_KEY

OAUTH = """auth:
  type: oauth2_client_credentials
  token_url: "{{ vars.crm_url }}/oauth/token"
  client_id: ctibridge
  client_secret: "{{ env.INHOUSE_CRM_SECRET }}"
"""


def variant(tmp_path: Path, auth: str) -> Path:
    text = INHOUSE_REST.read_text()
    assert OAUTH in text
    f = tmp_path / "variant.yaml"
    f.write_text(text.replace(OAUTH, auth))
    return f


async def lookups(connector, n: int = 2) -> list[str]:
    try:
        return [(await connector.lookup(Party(number="+41223456789"), LookupContext())).outcome
                for _ in range(n)]
    finally:
        await connector.stop()


async def test_a_refresh_token_is_exchanged_and_its_rotation_kept(crm, tmp_path: Path) -> None:
    state, url = crm
    f = variant(tmp_path, OAUTH.replace("oauth2_client_credentials", "oauth2_refresh_token")
                + '  refresh_token: "{{ env.REFRESH }}"\n')
    connector = connector_for(url, f, REFRESH="first-refresh-token")
    party, ctx = Party(number="+41223456789"), LookupContext()
    try:
        assert (await connector.lookup(party, ctx)).outcome == "one"
        state.revoke_tokens()  # a 401: the rotated refresh token must be the one used now
        assert (await connector.lookup(party, ctx)).outcome == "one"
    finally:
        await connector.stop()
    assert state.token_requests == 2 and "first-refresh-token" not in state.refresh_tokens


async def test_basic_auth(crm, tmp_path: Path) -> None:
    _, url = crm
    f = variant(tmp_path, 'auth: {type: basic, username: ctibridge, '
                          'password: "{{ env.INHOUSE_CRM_SECRET }}"}\n')
    assert await lookups(connector_for(url, f)) == ["one", "one"]


@pytest.mark.parametrize("key, outcome", [(API_KEY, "one"), ("wrong", "unavailable")])
async def test_an_api_key_in_the_query_is_sent_and_never_shown(crm, tmp_path: Path, key: str,
                                                               outcome: str) -> None:
    state, url = crm
    f = variant(tmp_path, 'auth: {type: api_key, name: api_key, in: query, '
                          'value: "{{ env.KEY }}"}\n')
    connector = connector_for(url, f, KEY=key)
    result = await connector.lookup(Party(number="+41223456789"), LookupContext())
    await connector.stop()
    assert result.outcome == outcome
    assert key not in (result.error or "")
    assert all(f"api_key={key}" in q for _, q in state.requests)
