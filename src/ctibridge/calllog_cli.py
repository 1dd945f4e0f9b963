"""``ctibridge calllog``: see the call-log outbox and act on it, from the hub's database.

Works whether the hub runs or not: a running hub's worker picks up a row made due
within its poll (a second). The same actions are in REST (docs/call-logging.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from .model.errors import CtiError

calllog_app = typer.Typer(help="See and retry call logs (the CRM outbox).", rich_markup_mode=None,
                          no_args_is_help=True)
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="YAML config file")]


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _with_outbox(config: Path | None, work: Callable[[Any], Awaitable[Any]]) -> Any:
    from .config import Settings
    from .store import Database, Store

    try:
        settings = Settings.load(config)
    except CtiError as exc:
        _fail(exc.message)

    async def run() -> Any:
        db = Database(settings.database.url)
        await db.start()
        try:
            return await work(Store(db).outbox)
        finally:
            await db.stop()

    return asyncio.run(run())


@calllog_app.command("list")
def list_rows(
    status: Annotated[str | None, typer.Option(
        help="pending, failed, delivered, uncertain, waiting or skipped")] = None,
    limit: Annotated[int, typer.Option(help="at most this many rows")] = 50,
    config: ConfigOpt = None,
) -> None:
    """The newest rows, with the counts by status."""
    async def work(outbox: Any) -> tuple[dict[str, int], list[Any]]:
        return await outbox.counts(), await outbox.list(status, limit)

    counts, rows = _with_outbox(config, work)
    typer.echo("  ".join(f"{k}={v}" for k, v in counts.items()))
    for r in rows:
        reason = f"  {r.last_error}" if r.last_error else ""
        status_code = f" HTTP {r.last_status}" if r.last_status else ""
        typer.echo(f"{r.interaction_id}  {r.status}  attempts={r.attempts}{status_code}"
                   f"{reason}")


@calllog_app.command("retry")
def retry(
    interaction_id: Annotated[str | None, typer.Argument(help="one interaction")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="every failed row")] = False,
    skipped: Annotated[bool, typer.Option("--skipped", help="every skipped row")] = False,
    config: ConfigOpt = None,
) -> None:
    """Make failed (or skipped) rows due again now, attempts reset."""
    if (interaction_id is None) == (not failed and not skipped):
        _fail("name one interaction, or give --failed and/or --skipped")
    now = datetime.now(UTC)

    async def work(outbox: Any) -> str:
        if interaction_id is not None:
            row = await outbox.retry(interaction_id, now)
            if row is None:
                _fail(f"interaction {interaction_id} has no call-log entry")
            if row.status == "uncertain":
                _fail(f"the log of {interaction_id} is uncertain: it may be in the CRM "
                      "already. Look for it there, then `ctibridge calllog confirm` or "
                      "`ctibridge calllog resend` it")
            return f"{interaction_id}: {row.status}"
        done = []
        for status, wanted in (("failed", failed), ("skipped", skipped)):
            if wanted:
                done.append(f"{await outbox.retry_all(status, now)} {status} row(s) due now")
        return ", ".join(done)

    typer.echo(_with_outbox(config, work))


def _uncertain(interaction_id: str, config: Path | None, action: str,
               activity: str | None = None) -> None:
    now = datetime.now(UTC)

    async def work(outbox: Any) -> str:
        row = await outbox.get(interaction_id)
        if row is None:
            _fail(f"interaction {interaction_id} has no call-log entry")
        if row.status != "uncertain":
            _fail(f"the log of {interaction_id} is {row.status}: only an uncertain row is "
                  "confirmed or re-sent")
        got = (await outbox.confirm(interaction_id, activity, now) if action == "confirm"
               else await outbox.resend(interaction_id, now))
        return f"{interaction_id}: {got.status}"

    typer.echo(_with_outbox(config, work))


@calllog_app.command("confirm")
def confirm(
    interaction_id: str,
    activity: Annotated[str | None, typer.Option(help="the record's id in the CRM")] = None,
    config: ConfigOpt = None,
) -> None:
    """An uncertain log IS in the CRM (you looked): mark it delivered."""
    _uncertain(interaction_id, config, "confirm", activity)


@calllog_app.command("resend")
def resend(interaction_id: str, config: ConfigOpt = None) -> None:
    """An uncertain log is NOT in the CRM (you looked): send it again."""
    _uncertain(interaction_id, config, "resend")
