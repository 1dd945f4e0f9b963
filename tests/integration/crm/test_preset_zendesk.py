"""preset:zendesk against Zendesk's API with Talk Partner Edition as documented
(vendors/zendesk.py): the caller's user pops, the call is one voice ticket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ctibridge.crm import presets
from ctibridge.crm.mapping import MappingConnector, load_mapping

from .hubs import crm_hub, ready
from .test_calllog_realcrm import call, later, row
from .vendors.serving import Served
from .vendors.zendesk import API_TOKEN, EMAIL, ZendeskAccount

CAMILLE = "+33612345678"
STRANGER = "+33655555555"


@pytest.fixture
async def account() -> AsyncIterator[ZendeskAccount]:
    zd = ZendeskAccount()
    zd.add_user("Camille Petit", "06 12 34 56 78")  # stored in the national spelling
    zd.add_user("Support bot", None, role="agent")
    zd.served = Served(zd.app())
    async with zd.served:
        yield zd


def preset(zd: ZendeskAccount, token: str = API_TOKEN) -> MappingConnector:
    return load_mapping(presets.resolve("preset:zendesk"),
                        {"zendesk_url": zd.url, "line_number": "+33140000001"},
                        environ={"ZENDESK_EMAIL": EMAIL, "ZENDESK_API_TOKEN": token})


def popped(agent: Any, start: int) -> dict[str, Any]:
    return next(f["data"] for f in agent.frames[start:]
                if f.get("type") == "event" and f["name"] == "screenpop")


async def test_a_caller_stored_in_national_form_pops_and_gets_one_voice_ticket(
        account: ZendeskAccount, tmp_path: Path) -> None:
    async with crm_hub(tmp_path, preset(account), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        start = len(alice.frames)
        iid = await call(h, alice, CAMILLE)
        [match] = popped(alice, start)["matches"]
        assert match["name"] == "Camille Petit"
        assert match["url"].endswith(f"/agent/users/{match['record_id']}/requested_tickets")
        delivered = await row(h, iid, "delivered")
        [ticket] = account.tickets_with(iid)
        assert str(ticket["id"]) == delivered["activity_id"]
        assert ticket["requester_id"] == int(match["record_id"])
        assert ticket["via"]["source"]["rel"] == "inbound"
        assert ticket["voice_comment"]["from"] == CAMILLE
        assert ticket["voice_comment"]["to"] == "+33140000001"


async def test_an_unknown_caller_becomes_an_end_user_with_their_call(
        account: ZendeskAccount, tmp_path: Path) -> None:
    async with crm_hub(tmp_path, preset(account), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        start = len(alice.frames)
        iid = await call(h, alice, STRANGER)
        pop = popped(alice, start)
        assert pop["matches"] == [] and pop["search_url"].endswith("q=33655555555")
        await row(h, iid, "delivered")
        [ticket] = account.tickets_with(iid)
        requester = account.users[ticket["requester_id"]]
        assert (requester["name"], requester["phone"]) == (f"Caller {STRANGER}", STRANGER)


async def test_a_cut_answer_is_checked_by_external_id_not_resent(
        account: ZendeskAccount, tmp_path: Path) -> None:
    async with crm_hub(tmp_path, preset(account), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        account.cut_next_log = True
        iid = await call(h, alice, CAMILLE)
        assert (await row(h, iid, "pending", attempted=True))["in_doubt"]
        posts = account.ticket_posts
        await later(h, 11)
        await row(h, iid, "delivered")
        assert len(account.tickets_with(iid)) == 1 and account.ticket_posts == posts


async def test_without_talk_partner_edition_the_log_fails_with_zendesks_reason(
        account: ZendeskAccount, tmp_path: Path) -> None:
    account.talk_partner_edition = False
    async with crm_hub(tmp_path, preset(account), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        failed = await row(h, await call(h, alice, CAMILLE), attempted=True)
        assert failed["last_status"] == 403 and "do not have access" in failed["last_error"]
        assert account.tickets == {}


async def test_talk_partner_edition_opens_the_callers_profile_in_the_agents_zendesk(
        account: ZendeskAccount, tmp_path: Path) -> None:
    from ..harness import AGENTS

    zendesk_alice = account.add_user("Alice Martin", None, role="agent")
    agents = [{**a, "crm_user_id": str(zendesk_alice)} if a["id"] == "alice" else a
              for a in AGENTS]
    async with crm_hub(tmp_path, preset(account), wrap_up_seconds=0, agents=agents) as h:
        alice = await h.agent("alice")
        await ready(alice)
        iid = await call(h, alice, CAMILLE)
        await row(h, iid, "delivered")
        camille = next(uid for uid, u in account.users.items() if u["name"] == "Camille Petit")
        assert account.displays == [(zendesk_alice, camille)]  # once, on alice's screen
