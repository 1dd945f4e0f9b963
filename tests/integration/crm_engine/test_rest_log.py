"""Logging interactions into the REST CRM: one activity per key, faults that the outbox
can tell apart (retry later, or give up)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ctibridge.crm.base import CrmError, Match
from ctibridge.model.interaction import Interaction
from ctibridge.model.party import Channel, Direction, Party

pytestmark = pytest.mark.asyncio
START = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)


def call(number: str = "+33612345678", **kw: object) -> Interaction:
    return Interaction("int-7", Channel.VOICE, Direction.OUTBOUND, Party(number), START,
                       accepted_at=START + timedelta(seconds=5),
                       ended_at=START + timedelta(seconds=5 + 61), queue="sales",
                       agent_id="bob", disposition="callback", notes="call back Monday",
                       **kw)  # type: ignore[arg-type]


async def test_a_call_is_logged_with_mapped_fields_and_once_per_key(crm, rest) -> None:
    state, _ = crm
    record = Match(record_id="P-2", name="Paul Durand")
    first = await rest.log_interaction(call(), "call-9:bob", record=record)
    again = await rest.log_interaction(call(), "call-9:bob", record=record)
    assert (first.activity_id, first.created) == ("C-1", True)
    assert again.created is False  # 409 "already exists" counts as logged, as mapped
    assert list(state.calls) == ["call-9:bob"]
    assert state.calls["call-9:bob"] == {
        "id": "C-1", "person": "P-2", "number": "+33612345678", "direction": "OUT",
        "started": "2025-03-04T09:30:05Z", "duration_min": 2, "queue": "sales",
        "agent": "bob", "outcome": "callback", "notes": "call back Monday"}


async def test_without_a_record_the_number_is_looked_up_again_before_logging(crm, rest) -> None:
    state, _ = crm
    await rest.log_interaction(call("06.12.34.56.78"), "k-1")
    assert state.calls["k-1"]["person"] == "P-1"
    await rest.log_interaction(call("+33 9 99 99 99 99"), "k-2")
    assert state.calls["k-2"]["person"] is None  # nobody: logged against the number alone


async def test_the_log_request_can_be_seen_without_sending_it(crm, rest) -> None:
    state, url = crm
    prepared = await rest.prepare_log(call(), "k-3", record=Match(record_id="P-1"))
    text = prepared.describe()
    assert text.startswith(f"POST {url}/api/v2/calls\n")
    assert "x-request-id: k-3" in text and '"duration_min":2' in text
    assert state.calls == {}


async def test_a_crm_answering_500_to_a_log_asks_for_a_retry(crm, rest) -> None:
    state, url = crm
    state.mode = "500"
    with pytest.raises(CrmError) as err:
        await rest.log_interaction(call(), "k-4", record=Match(record_id="P-1"))
    assert err.value.retryable
    assert err.value.message == (f"CRM 'inhouse_rest' did not log interaction int-7: HTTP 500 "
                                 f"from POST {url}/api/v2/calls: database is down")
    state.mode = "ok"  # the outbox tries again later: nothing was lost
    assert (await rest.log_interaction(call(), "k-4", record=Match(record_id="P-1"))).created


async def test_a_refused_log_is_not_retried(crm, rest) -> None:
    state, _ = crm
    state.mode = "reject"
    with pytest.raises(CrmError) as err:
        await rest.log_interaction(call(), "k-5", record=Match(record_id="P-1"))
    assert not err.value.retryable and "HTTP 422" in err.value.message


async def test_a_login_page_or_a_timeout_on_log_is_retryable(crm, rest) -> None:
    state, _ = crm
    state.mode = "html"
    with pytest.raises(CrmError) as err:
        await rest.log_interaction(call(), "k-6", record=Match(record_id="P-1"))
    assert err.value.retryable and "HTML page" in err.value.message


async def test_when_the_crm_is_down_at_log_time_the_record_lookup_failure_is_retryable(
        crm, rest) -> None:
    state, _ = crm
    state.mode = "500"
    with pytest.raises(CrmError) as err:
        await rest.log_interaction(call(), "k-7")
    assert err.value.retryable and "cannot find the record" in err.value.message
