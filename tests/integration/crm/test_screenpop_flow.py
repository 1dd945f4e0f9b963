"""Screen pops through a real hub, a real WebSocket bar and a real HTTP CRM."""

from __future__ import annotations

from pathlib import Path

import httpx

from ctibridge.clock import FakeClock

from .hubs import crm_hub, eventually, ready
from .testcrm import TestCrm, TestCrmConnector, serve_crm

CAMILLE = {"id": "C1", "name": "Camille Petit", "phone": "+33612345678", "customer_id": "K-1042"}
DUPONTS = [{"id": "D1", "name": "Jean Dupont", "phone": "+33600000001"},
           {"id": "D2", "name": "Marie Dupont", "phone": "+33600000001"}]


async def test_an_inbound_call_pops_the_matching_contact(tmp_path: Path) -> None:
    async with serve_crm(TestCrm(contacts=[CAMILLE])) as crm, \
            crm_hub(tmp_path, TestCrmConnector(crm.url)) as h:
        alice = await h.agent("alice")
        await ready(alice)
        h.sim.customer_calls("support", number="+33612345678", name=None, attached={})
        offered = await alice.event("call.offered")
        pop = await alice.event("screenpop")
        assert pop["call_id"] == offered["call"]["call_id"]
        assert pop["outcome"] == "one" and pop["selected"] == "C1"
        assert pop["matches"][0]["url"] == f"{crm.url}/contacts/C1"
        assert pop["lookup"] == "by_phone" and pop["error"] is None
        # The caller is named after the record; the interaction is logged against it.
        assert pop["party"] == {"number": "+33612345678", "name": "Camille Petit"}
        it = h.hub.interactions.get(pop["interaction_id"])
        assert it.crm_record["record_id"] == "C1"
        assert it.customer.name == "Camille Petit"
        # A second tab (or a reconnect) finds the pop in its snapshot.
        tab2 = await h.agent("alice")
        assert [p["selected"] for p in tab2.snapshot["screenpops"]] == ["C1"]


async def test_ivr_data_wins_over_the_phone_number(tmp_path: Path) -> None:
    other = {"id": "X9", "name": "Someone Else", "phone": "+33699999999"}
    async with serve_crm(TestCrm(contacts=[CAMILLE, other])) as crm, \
            crm_hub(tmp_path, TestCrmConnector(crm.url)) as h:
        alice = await h.agent("alice")
        await ready(alice)
        h.sim.customer_calls("support", number="+33699999999", attached={"customer_id": "K-1042"})
        pop = await alice.event("screenpop")
        assert (pop["lookup"], pop["selected"]) == ("by_customer_id", "C1")


async def test_prefetch_while_queued_gives_the_pop_with_the_offer(tmp_path: Path) -> None:
    async with serve_crm(TestCrm(contacts=[CAMILLE])) as crm, \
            crm_hub(tmp_path, TestCrmConnector(crm.url)) as h:
        alice = await h.agent("alice")
        await alice.ok("agent.login")
        h.sim.customer_calls("support", number="+33612345678")
        # Nobody is ready: the call waits in queue while the CRM is asked.
        await eventually(lambda: crm.lookups, "a lookup while the call is queued")
        assert crm.lookups == [{"phone": "+33612345678"}]
        offered_at = len(alice.frames)
        await alice.ok("agent.ready")
        await alice.event("call.offered")
        pop = await alice.event("screenpop")
        assert pop["selected"] == "C1"
        # The answer fetched while queued is the one popped: no second lookup.
        assert len(crm.lookups) == 1
        names = [f.get("name") for f in alice.frames[offered_at:]]
        assert names.count("screenpop") == 1


async def test_several_matches_offer_a_choice_and_the_choice_is_logged_against(
    tmp_path: Path,
) -> None:
    async with serve_crm(TestCrm(contacts=DUPONTS)) as crm, \
            crm_hub(tmp_path, TestCrmConnector(crm.url)) as h:
        alice = await h.agent("alice")
        await ready(alice)
        h.sim.customer_calls("support", number="+33600000001", name="DUPONT")
        pop = await alice.event("screenpop")
        assert pop["outcome"] == "several" and pop["selected"] is None
        assert [m["record_id"] for m in pop["matches"]] == ["D1", "D2"]
        assert h.hub.interactions.get(pop["interaction_id"]).crm_record is None
        bad = await alice.command("crm.select", call_id=pop["call_id"], record_id="nope")
        assert bad["type"] == "error" and bad["code"] == "no-such-record", bad
        chosen = await alice.ok("crm.select", call_id=pop["call_id"], record_id="D2")
        assert chosen["screenpop"]["selected"] == "D2"
        it = h.hub.interactions.get(pop["interaction_id"])
        assert it.crm_record["record_id"] == "D2"
        assert it.customer.name == "DUPONT"  # the platform's name is kept


async def test_no_match_offers_to_create_the_contact_then_refresh_finds_it(
    tmp_path: Path,
) -> None:
    async with serve_crm(TestCrm()) as crm, \
            crm_hub(tmp_path, TestCrmConnector(crm.url)) as h:
        alice = await h.agent("alice")
        await ready(alice)
        h.sim.customer_calls("support", number="+33611111111")
        pop = await alice.event("screenpop")
        assert pop["outcome"] == "none" and pop["matches"] == []
        assert pop["create_url"] == f"{crm.url}/contacts/new?phone=+33611111111"
        # The agent creates the contact in the CRM, then asks again.
        crm.contacts.append({"id": "N1", "name": "New Caller", "phone": "+33611111111"})
        again = await alice.ok("crm.refresh", call_id=pop["call_id"])
        assert again["screenpop"]["selected"] == "N1"
        assert h.hub.interactions.get(pop["interaction_id"]).crm_record["record_id"] == "N1"


async def test_a_slow_crm_never_delays_the_offer_and_the_pop_follows(tmp_path: Path) -> None:
    async with serve_crm(TestCrm(contacts=[CAMILLE], fault="hang")) as crm, \
            crm_hub(tmp_path, TestCrmConnector(crm.url),
                    crm_settings={"pop_timeout_seconds": 3}) as h:
        alice = await h.agent("alice")
        await ready(alice)
        h.sim.customer_calls("support", number="+33612345678")
        offered = await alice.event("call.offered")
        assert offered["call"]["customer"]["number"] == "+33612345678"
        assert isinstance(h.clock, FakeClock)
        await h.clock.advance(3.1)
        pop = await alice.event("screenpop")
        assert pop["outcome"] == "unavailable"
        assert pop["error"] == "the CRM did not answer within 3 s"
        crm.fault = None
        crm.gate.set()  # the CRM answers at last: the real pop replaces it
        late = await alice.event("screenpop", where=lambda d: d["outcome"] == "one")
        assert late["selected"] == "C1"


async def test_a_broken_crm_gives_an_unavailable_pop_naming_the_lookup_and_status(
    tmp_path: Path,
) -> None:
    async with serve_crm(TestCrm(contacts=[CAMILLE], fault="html")) as crm, \
            crm_hub(tmp_path, TestCrmConnector(crm.url)) as h:
        alice = await h.agent("alice")
        await ready(alice)
        h.sim.customer_calls("support", number="+33612345678")
        await alice.event("call.offered")
        pop = await alice.event("screenpop")
        assert pop["outcome"] == "unavailable"
        assert "by_phone" in pop["error"] and "200" in pop["error"] and "html" in pop["error"]
        # The hub stays ready (calls still ring) and says what is wrong with the CRM
        # (to an operator: docs/operations.md).
        token = await h.token("admin")
        async with httpx.AsyncClient(base_url=h.url,
                                     headers={"Authorization": f"Bearer {token}"}) as http:
            r = await http.get("/readyz")
            assert r.status_code == 200, r.text
            last = r.json()["crm"]["last_lookup"]
            assert last["ok"] is False and "by_phone" in last["error"]
            # The CRM is back: the next pop (a refresh) asks again.
            crm.fault = None
            again = await alice.ok("crm.refresh", call_id=pop["call_id"])
            assert again["screenpop"]["outcome"] == "one"
            body = (await http.get("/readyz")).json()
            assert body["crm"]["last_lookup"]["ok"] is True
            assert set(body["crm"]["call_log"].values()) == {0}


async def test_after_a_transfer_the_receiving_agent_gets_the_same_pop(tmp_path: Path) -> None:
    async with serve_crm(TestCrm(contacts=DUPONTS)) as crm, \
            crm_hub(tmp_path, TestCrmConnector(crm.url)) as h:
        alice = await h.agent("alice")
        bob = await h.agent("bob")
        await ready(alice)
        await ready(bob)
        await bob.ok("agent.not_ready", reason="break")
        h.sim.customer_calls("support", number="+33600000001")
        pop = await alice.event("screenpop")
        call_id = pop["call_id"]
        await alice.ok("call.answer", call_id=call_id)
        await alice.event("call.answered")
        await alice.ok("crm.select", call_id=call_id, record_id="D1")
        await bob.ok("agent.ready")
        await alice.ok("call.blind_transfer", call_id=call_id, target="bob")
        bob_pop = await bob.event("screenpop")
        assert bob_pop["call_id"] == call_id
        assert bob_pop["selected"] == "D1"  # Alice's choice travels with the call
        assert [m["record_id"] for m in bob_pop["matches"]] == ["D1", "D2"]
        assert h.hub.interactions.get(bob_pop["interaction_id"]).crm_record["record_id"] == "D1"
        assert len(crm.lookups) == 1  # one lookup for the whole call


async def test_click_to_call_from_rest_pops_the_record_and_is_logged_against_it(
    tmp_path: Path,
) -> None:
    async with serve_crm(TestCrm(contacts=[CAMILLE])) as crm, \
            crm_hub(tmp_path, TestCrmConnector(crm.url), wrap_up_seconds=0) as h:
        alice = await h.agent("alice")
        await ready(alice)
        token = await h.token("alice")
        async with httpx.AsyncClient(base_url=h.url,
                                     headers={"Authorization": f"Bearer {token}"}) as http:
            r = await http.post("/api/agents/bob/dial", json={"number": "0612345678"})
            assert r.status_code == 403, r.text  # an agent dials only for themself
            r = await http.post("/api/agents/alice/dial",
                                json={"number": "06 12 34 56 78", "record_id": "C1"})
            assert r.status_code == 200, r.text
        call_id = r.json()["call_id"]
        pop = await alice.event("screenpop")
        assert pop["call_id"] == call_id
        assert (pop["lookup"], pop["selected"]) == ("by_record_id", "C1")
        call = h.hub.calls.get(call_id)
        assert call.customer.number == "+33612345678"  # normalized with the CRM's region
        assert call.attached["crm_record_id"] == "C1"
        assert isinstance(h.clock, FakeClock)
        await h.clock.advance(5)  # the customer picks up
        answered = await alice.event("call.answered")
        assert answered["call"]["call_id"] == call_id
        await alice.ok("call.hangup", call_id=call_id)
        await alice.event("call.ended")
        iid = pop["interaction_id"]
        await eventually(lambda: crm.activities_of(iid), "the call logged in the CRM")
        [activity] = crm.activities_of(iid)
        assert activity["contact_id"] == "C1" and activity["direction"] == "outbound"
