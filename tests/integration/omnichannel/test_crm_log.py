"""A closed chat is logged in the CRM like a call, through the outbox."""

from __future__ import annotations

from pathlib import Path

from ctibridge.model.party import Channel

from ..crm.hubs import crm_hub, eventually
from ..crm.testcrm import TestCrm, TestCrmConnector, serve_crm
from .helpers import DIGITAL, QUEUES, dsim, ready


async def test_a_chat_closed_with_a_disposition_becomes_one_crm_activity(tmp_path: Path) -> None:
    async with serve_crm(TestCrm(contacts=[])) as crm, \
            crm_hub(tmp_path, TestCrmConnector(crm.url), digital=DIGITAL, queues=QUEUES) as h:
        alice = await h.agent("alice")
        await ready(alice)
        dsim(h).arrive(Channel.CHAT)
        offer = await alice.event("interaction.offered")
        iid = offer["interaction"]["interaction_id"]
        await alice.ok("interaction.accept", interaction_id=iid)
        await alice.ok("interaction.close", interaction_id=iid, disposition="info",
                       notes="sent the plan's page")
        await eventually(lambda: crm.activities_of(iid), "the chat's activity in the CRM")
        [activity] = crm.activities_of(iid)
        assert (activity["disposition"], activity["notes"]) == ("info",
                                                                "sent the plan's page")
