"""``ctibridge calllog``: an operator lists the outbox, retries failed rows in bulk and
settles uncertain ones, on the hub's database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import yaml
from typer.testing import CliRunner

from ctibridge.cli import app
from ctibridge.store import Database, Store

runner = CliRunner()
NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


async def seed(url: str) -> None:
    db = Database(url)
    await db.start()
    try:
        outbox = Store(db).outbox
        await outbox.add("crm", ["i-1", "i-2", "i-3", "i-4"], NOW)
        rows = await outbox.claim("n", NOW, 60, 4)
        assert len(rows) == 4
        await outbox.failed("i-1", "n", "HTTP 403 from POST /api/interactions/: Invalid "
                            "token.", status=403)
        await outbox.failed("i-2", "n", "HTTP 500 from POST /api/interactions/", status=500)
        await outbox.uncertain("i-3", "n", "outcome unknown: no answer within 5 s")
        await outbox.uncertain("i-4", "n", "outcome unknown: lost the connection")
    finally:
        await db.stop()


async def statuses(url: str) -> dict[str, str]:
    db = Database(url)
    await db.start()
    try:
        return {r.interaction_id: r.status for r in await Store(db).outbox.list()}
    finally:
        await db.stop()


def test_an_operator_retries_failed_logs_and_settles_uncertain_ones(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    asyncio.run(seed(url))
    config = tmp_path / "ctibridge.yaml"
    config.write_text(yaml.safe_dump({"database": {"url": url}}), encoding="utf-8")
    c = ["--config", str(config)]

    listed = runner.invoke(app, ["calllog", "list", "--status", "failed", *c])
    assert listed.exit_code == 0, listed.output
    assert "failed=2" in listed.output and "uncertain=2" in listed.output
    assert "i-1  failed  attempts=1 HTTP 403  HTTP 403 from POST" in listed.output

    refused = runner.invoke(app, ["calllog", "retry", "i-3", *c])
    assert refused.exit_code == 2 and "uncertain" in refused.output
    assert "calllog confirm" in refused.output

    bulk = runner.invoke(app, ["calllog", "retry", "--failed", *c])
    assert bulk.exit_code == 0 and "2 failed row(s) due now" in bulk.output, bulk.output
    confirm = runner.invoke(app, ["calllog", "confirm", "i-3", "--activity", "A7", *c])
    assert confirm.exit_code == 0 and "i-3: delivered" in confirm.output, confirm.output
    resend = runner.invoke(app, ["calllog", "resend", "i-4", *c])
    assert resend.exit_code == 0 and "i-4: pending" in resend.output, resend.output
    again = runner.invoke(app, ["calllog", "resend", "i-4", *c])
    assert again.exit_code == 2 and "only an uncertain row" in again.output
    assert asyncio.run(statuses(url)) == {"i-1": "pending", "i-2": "pending",
                                          "i-3": "delivered", "i-4": "pending"}
