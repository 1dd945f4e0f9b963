"""The engine against a real HTTP CRM on a real port, through the in-house REST example."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctibridge.crm.base import LookupContext
from ctibridge.model.party import Party

from .conftest import INHOUSE_REST, connector_for

pytestmark = pytest.mark.asyncio


def ctx(**attached: str) -> LookupContext:
    return LookupContext(attached=attached)


@pytest.mark.parametrize("number", [
    "06 12 34 56 78", "06.12.34.56.78", "0612345678", "+33 6 12 34 56 78", "+33612345678",
    "0033612345678", "+33 (0)6 12-34-56-78",
])
async def test_a_caller_is_found_whatever_the_form_of_the_number(rest, number: str) -> None:
    result = await rest.lookup(Party(number=number), ctx())
    assert result.outcome == "one"
    match = result.matches[0]
    assert (match.record_id, match.name, match.company) == ("P-1", "Jeanne Martin",
                                                            "Boulangerie Martin")
    assert result.lookup == "by_phone"
    assert match.url is not None and match.url.endswith("/people/P-1")
    assert match.fields == {"account": "A1001"} and match.kind == "person"


async def test_phone_formats_are_tried_in_order_until_one_matches(crm, rest) -> None:
    state, _ = crm
    trace: list[str] = []
    await rest.lookup(Party(number="+33612345678"), ctx(), trace=trace)
    phones = [q for m, q in state.requests if "phone=" in q]
    assert phones == ["/api/v2/people?phone=%2B33612345678", "/api/v2/people?phone=0612345678"]
    assert trace[-1] == "by_phone: '0612345678' (national_digits): 1 record(s)"


async def test_ivr_data_is_looked_up_before_the_number(crm, rest) -> None:
    state, _ = crm
    result = await rest.lookup(Party(number="+33612345678"), ctx(customer_id="A1002"))
    assert [m.record_id for m in result.matches] == ["P-2"] and result.lookup == "by_account"
    assert [q for _, q in state.requests] == ["/api/v2/people?account=A1002"]


async def test_click_to_call_from_a_record_pops_that_record(rest) -> None:
    result = await rest.lookup(Party(number="+41223456789"), ctx(crm_record_id="P-3"))
    assert result.lookup == "by_record_id" and result.matches[0].name == "Alice Bernard"


async def test_an_unknown_record_id_falls_through_to_the_number(rest) -> None:
    result = await rest.lookup(Party(number="+41 22 345 67 89"), ctx(crm_record_id="P-404"))
    assert result.lookup == "by_phone" and result.matches[0].record_id == "P-2"


async def test_several_matches_are_all_offered(rest) -> None:
    result = await rest.lookup(Party(number="01.23.45.67.89"), ctx())
    assert result.outcome == "several"
    assert [m.name for m in result.matches] == ["Alice Bernard", "Bob Bernard"]


async def test_the_last_digits_are_a_last_resort(crm, rest) -> None:
    state, _ = crm
    result = await rest.lookup(Party(number="+33698765432"), ctx())
    assert result.matches[0].record_id == "P-5"
    assert state.requests[-1][1] == "/api/v2/people?phone_suffix=698765432"


async def test_no_match_offers_the_create_form_prefilled_with_the_number(crm, rest) -> None:
    _, url = crm
    result = await rest.lookup(Party(number="06 00 00 00 01"), ctx())
    assert result.outcome == "none"
    assert result.create_url == f"{url}/people/new?phone=%2B33600000001"


async def test_a_number_that_cannot_be_parsed_is_searched_as_typed(crm, rest) -> None:
    state, _ = crm
    result = await rest.lookup(Party(number="anonymous-42"), ctx())
    assert result.outcome == "none" and not result.unavailable
    assert state.requests == [("GET", "/api/v2/people?phone=anonymous-42")]
    assert rest.normalize("anonymous-42") == "anonymous-42"
    assert rest.normalize("06 12 34 56 78") == "+33612345678"


# -- faults: the call is still offered, the error names the lookup and the status ---------

async def test_a_crm_answering_500_is_unavailable_and_named(crm, rest) -> None:
    state, url = crm
    state.mode = "500"
    result = await rest.lookup(Party(number="0612345678"), ctx())
    assert result.unavailable and result.outcome == "unavailable"
    assert result.error == (f"lookup 'by_phone': HTTP 500 from GET {url}/api/v2/people: "
                            "database is down")
    assert len(state.requests) == 2  # one retry, as the file says
    assert rest.pauses == [0.2]
    health = await rest.health()
    assert health["ok"] is False and health["faults"] == 1


async def test_a_crm_that_does_not_answer_in_time_is_unavailable(crm, tmp_path: Path) -> None:
    state, url = crm
    state.mode = "slow"
    fast = tmp_path / "fast.yaml"
    fast.write_text(INHOUSE_REST.read_text().replace("timeout_seconds: 3", "timeout_seconds: 0.1")
                    .replace("retries: 1 ", "retries: 0 "))
    connector = connector_for(url, fast)
    try:
        result = await connector.lookup(Party(number="0612345678"), ctx())
    finally:
        await connector.stop()
    assert result.unavailable
    assert result.error == f"lookup 'by_phone': no answer within 0.1 s from GET {url}/api/v2/people"


async def test_an_html_login_page_is_an_error_not_an_empty_result(crm, rest) -> None:
    state, _ = crm
    state.mode = "html"
    result = await rest.lookup(Party(number="0612345678"), ctx())
    assert result.unavailable and "lookup 'by_phone': HTTP 200" in (result.error or "")
    assert "is an HTML page, not JSON (a login page?" in (result.error or "")
    assert len(state.requests) == 1  # a login page does not go away by asking again at once


async def test_json_nested_past_the_parsers_depth_is_an_error_not_a_crash(crm, rest) -> None:
    state, _ = crm
    state.mode = "deep"
    result = await rest.lookup(Party(number="0612345678"), ctx())
    assert result.unavailable and "lookup 'by_phone': HTTP 200" in (result.error or "")
    assert "is not valid JSON" in (result.error or "")


async def test_json_of_the_wrong_shape_is_an_error_naming_the_path(crm, rest) -> None:
    state, _ = crm
    state.mode = "wrong_json"
    result = await rest.lookup(Party(number="0612345678"), ctx())
    assert result.unavailable
    assert "lookup 'by_phone': the answer from GET" in (result.error or "")
    assert "has nothing at 'data.people'" in (result.error or "")


async def test_records_without_an_id_are_an_error(crm, rest) -> None:
    state, _ = crm
    state.mode = "no_id"
    result = await rest.lookup(Party(number="0612345678"), ctx())
    assert result.unavailable and "a record has no usable id at 'ref'" in (result.error or "")


async def test_a_crm_that_is_not_running_is_unavailable(tmp_path: Path) -> None:
    from tests.integration.harness import free_port

    connector = connector_for(f"http://127.0.0.1:{free_port()}")
    try:
        result = await connector.lookup(Party(number="0612345678"), ctx())
    finally:
        await connector.stop()
    assert result.unavailable
    assert "lookup 'by_phone': cannot reach POST http://127.0.0.1:" in (result.error or "")
    assert "/oauth/token (ConnectError" in (result.error or "")


# -- OAuth2 --------------------------------------------------------------------------------

async def test_the_oauth2_token_is_cached_and_fetched_again_after_a_401(crm, rest) -> None:
    state, _ = crm
    for _ in range(3):
        assert (await rest.lookup(Party(number="+41223456789"), ctx())).outcome == "one"
    assert state.token_requests == 1
    state.revoke_tokens()
    assert (await rest.lookup(Party(number="+41223456789"), ctx())).outcome == "one"
    assert state.token_requests == 2


async def test_a_refused_client_secret_is_reported(crm) -> None:
    _, url = crm
    connector = connector_for(url, INHOUSE_REST_SECRET="unused", INHOUSE_CRM_SECRET="wrong")
    try:
        result = await connector.lookup(Party(number="0612345678"), ctx())
    finally:
        await connector.stop()
    assert result.unavailable
    assert result.error == (f"lookup 'by_phone': OAuth2 token request to {url}/oauth/token: "
                            "HTTP 401 (invalid_client)")

