"""examples/mappings/democrm.yaml against the real demo CRM (served as the hub mounts it)."""

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

from ..democrm.conftest import API_KEY, Crm, democrm_server
from .conftest import ROOT, Pauses

DEMOCRM = ROOT / "examples/mappings/democrm.yaml"


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[tuple[Crm, MappingConnector, dict[str, Any]]]:
    # No seeded customers: seeding takes seconds, and our contact is all these tests need.
    async with democrm_server(tmp_path / "democrm.db", []) as crm:
        r = await crm.http.post("/contacts", json={
            "first_name": "Héloïse", "last_name": "Mapping", "customer_id": "C99001",
            "phones": [{"label": "mobile", "number": "+33 7 81 23 45 67"},
                       {"label": "work", "number": "04.72.98.76.54"}]})
        assert r.status_code == 201, r.text
        connector = load_mapping(DEMOCRM, {"hub_url": crm.url}, sleep=Pauses(),
                                 environ={"CTIBRIDGE_DEMOCRM_KEY": API_KEY},
                                 agent_names={"alice": "Alice Martin"})
        try:
            yield crm, connector, r.json()
        finally:
            await connector.stop()


@pytest.mark.parametrize("number", ["07 81 23 45 67", "+33781234567", "0781234567",
                                    "07.81.23.45.67", "0472987654", "+33 4 72 98 76 54"])
async def test_the_demo_crm_mapping_finds_a_contact_by_any_form_of_number(
        demo, number: str) -> None:
    crm, connector, contact = demo
    result = await connector.lookup(Party(number=number), LookupContext())
    assert result.outcome == "one", result
    match = result.matches[0]
    assert (match.record_id, match.name) == (str(contact["id"]), "Héloïse Mapping")
    assert match.url == f"{crm.url}/democrm/contacts/{contact['id']}"
    assert match.fields["customer_id"] == "C99001"


async def test_the_demo_crm_mapping_uses_ivr_data_and_the_record_id_first(demo) -> None:
    _, connector, contact = demo
    by_ivr = await connector.lookup(Party(number="+15550000000"),
                                    LookupContext(attached={"customer_id": "C99001"}))
    assert (by_ivr.lookup, by_ivr.matches[0].record_id) == ("by_customer_id", str(contact["id"]))
    by_id = await connector.lookup(Party(number="+15550000000"),
                                   LookupContext(attached={"crm_record_id": str(contact["id"])}))
    assert (by_id.lookup, by_id.matches[0].name) == ("by_record_id", "Héloïse Mapping")


async def test_an_unknown_caller_gets_the_demo_crm_create_form(demo) -> None:
    crm, connector, _ = demo
    result = await connector.lookup(Party(number="+33 9 70 00 00 00"), LookupContext())
    assert result.outcome == "none"
    assert result.create_url == f"{crm.url}/democrm/contacts/new?phone=%2B33970000000"


async def test_a_call_is_logged_once_in_the_demo_crm(demo) -> None:
    crm, connector, contact = demo
    start = datetime(2025, 6, 2, 14, 0, tzinfo=UTC)
    interaction = Interaction(
        "int-42", Channel.VOICE, Direction.INBOUND, Party("+33781234567"), start,
        accepted_at=start, ended_at=start + timedelta(seconds=83), queue="support",
        agent_id="alice", disposition="resolved", notes="new address")
    first = await connector.log_interaction(interaction, "call-42:alice")
    again = await connector.log_interaction(interaction, "call-42:alice")
    assert first.created and not again.created and first.activity_id == again.activity_id
    r = await crm.http.get(f"/contacts/{contact['id']}/activities")
    [activity] = r.json()["activities"]
    assert {k: activity.get(k) for k in ("direction", "duration_seconds", "queue", "agent",
                                         "disposition", "notes", "external_id")} == {
        "direction": "inbound", "duration_seconds": 83, "queue": "support",
        "agent": "Alice Martin",  # the agent's name, not their login
        "disposition": "resolved", "notes": "new address", "external_id": "int-42"}
    # No English subject: the CRM names a call in its reader's language.
    assert activity["kind"] == "call" and activity["subject"] is None


async def test_a_chat_is_logged_as_a_chat_with_its_subject(demo) -> None:
    crm, connector, contact = demo
    start = datetime(2025, 6, 2, 15, 0, tzinfo=UTC)
    chat = Interaction(
        "int-43", Channel.CHAT, Direction.INBOUND, Party("+33781234567", "Héloïse"), start,
        accepted_at=start, ended_at=start + timedelta(minutes=6), queue="support",
        agent_id="alice", disposition="resolved", attached={"subject": "Where is my parcel?"})
    email = Interaction(
        "int-44", Channel.EMAIL, Direction.INBOUND, Party("+33781234567"), start,
        accepted_at=start, ended_at=start + timedelta(minutes=2), agent_id="alice")
    assert (await connector.log_interaction(chat, "int-43")).created
    assert (await connector.log_interaction(email, "int-44")).created
    r = await crm.http.get(f"/contacts/{contact['id']}/activities")
    got = {a["external_id"]: (a["kind"], a["subject"]) for a in r.json()["activities"]}
    assert got == {"int-43": ("chat", "Where is my parcel?"), "int-44": ("email", None)}
