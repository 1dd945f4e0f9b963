"""What a caller says (number, name, IVR data) is cleaned before a CRM sees it: a name
with CR/LF no longer breaks the lookup, a 40+ character "number" no longer makes the
call log fail for ever. Against the real demo CRM on a real port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ctibridge.crm.base import LookupContext
from ctibridge.crm.mapping import MappingConnector, load_mapping
from ctibridge.model.interaction import Interaction
from ctibridge.model.party import Channel, Direction, Party

from ..integration.crm_engine.conftest import ROOT, Pauses
from ..integration.democrm.conftest import API_KEY, Crm, democrm_server
from .wire import wire_server

LONG = "+33 6 12 34 56 78 ext 1234567890 1234567890 99"  # 46 characters


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[tuple[Crm, MappingConnector]]:
    async with democrm_server(tmp_path / "democrm.db", []) as crm:
        connector = load_mapping(ROOT / "examples/mappings/democrm.yaml", {"hub_url": crm.url},
                                 sleep=Pauses(), environ={"CTIBRIDGE_DEMOCRM_KEY": API_KEY})
        try:
            yield crm, connector
        finally:
            await connector.stop()


async def test_a_call_from_an_over_long_number_is_still_logged(demo: Any) -> None:
    crm, connector = demo
    start = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    it = Interaction("int-long", Channel.VOICE, Direction.INBOUND,
                     Party(LONG, "Camille\r\nX-Injected: 1"), start, accepted_at=start,
                     ended_at=start + timedelta(seconds=30), queue="support", agent_id="alice",
                     disposition="resolved", attached={"reason": "line1\r\nline2"})
    # The demo CRM refuses a phone over 40 characters (422): sent as is, this log
    # could never be written. Cleaned, the over-long number is simply left out.
    receipt = await connector.log_interaction(it, "int-long")
    assert receipt.created and receipt.activity_id, receipt


async def test_a_caller_name_with_line_breaks_reaches_the_crm_on_one_line(tmp_path: Path) -> None:
    mapping = tmp_path / "byname.yaml"
    mapping.write_text("""\
name: byname
connection: {base_url: "{{ vars.crm_url }}", retries: 0}
record: {id: id, name: name}
lookups:
  - name: by_name
    request:
      path: /people
      query: {name: "{{ party.name }}", number: "{{ party.number }}"}
      headers: {X-Caller: "{{ party.name }}", X-Reason: "{{ attached.reason }}"}
    results: people
""")
    async with wire_server(lambda seen: (200, {"people": []})) as crm:
        connector = load_mapping(mapping, {"crm_url": crm.url})
        try:
            result = await connector.lookup(
                Party("+33612345678", "Camille\r\nPetit\x00"),
                LookupContext(attached={"reason": "a\nb"}))
        finally:
            await connector.stop()
        assert not result.unavailable, result.error
        [seen] = crm.requests
        assert seen.headers["x-caller"] == "Camille Petit"
        assert seen.headers["x-reason"] == "a b"
        assert "name=Camille+Petit" in seen.target

        # An over-long "number" is no number: the phone lookup is not sent with it.
        connector = load_mapping(mapping, {"crm_url": crm.url})
        try:
            result = await connector.lookup(Party(LONG, "X"),
                                            LookupContext(attached={"reason": "r"}))
        finally:
            await connector.stop()
        assert not result.unavailable, result.error
        assert len(crm.requests) == 2
        assert crm.requests[-1].target.endswith("&number="), crm.requests[-1].target
