"""A flood of refusals from one offender is summed in the security log, not a line each."""

from __future__ import annotations

import json
import logging
from typing import Any

from ctibridge.securitylog import Summaries


def lines(caplog: Any) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records
            if r.name == "ctibridge.security"]


def test_an_offender_gets_one_line_then_a_summary_of_the_rest(caplog: Any) -> None:
    summaries = Summaries(every=3600)
    with caplog.at_level(logging.WARNING, logger="ctibridge.security"):
        for i in range(50):
            summaries.offender("login.refused", "10.0.0.1", address="10.0.0.1", n=i)
        summaries.offender("login.refused", "10.0.0.2", address="10.0.0.2", n=0)
        assert [(e["address"], e.get("repeated")) for e in lines(caplog)] == [
            ("10.0.0.1", None), ("10.0.0.2", None)]
        summaries.flush_all()  # at shutdown (and at each interval's end while it runs)
    last = lines(caplog)[-1]
    assert (last["address"], last["repeated"], last["n"]) == ("10.0.0.1", 49, 49)
