"""The cluster's journal carries an interaction whole: what the store would keep."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from ctibridge.model.interaction import Interaction
from ctibridge.model.party import Channel, Direction, Party
from ctibridge.store.interactions import from_journal, to_journal

T0 = datetime(2026, 12, 5, 21, 0, tzinfo=UTC)


def test_an_answered_call_comes_back_from_the_journal_as_it_went_in() -> None:
    it = Interaction("i-1", Channel.VOICE, Direction.INBOUND, Party("+33612345678", "Camille"),
                     T0, call_id="c-1", agent_id="alice", queue="support",
                     attached={"order": "42"}, offered_at=T0 + timedelta(seconds=1),
                     accepted_at=T0 + timedelta(seconds=3), platform="pbx",
                     platform_ref="FF0001", crm_record={"id": "7", "url": "https://crm/7"},
                     draft={"notes": "rappeler"})
    back = from_journal(json.loads(json.dumps(to_journal(it))))
    assert back == it
    assert back.ended_at is None and back.accepted_at == T0 + timedelta(seconds=3)
