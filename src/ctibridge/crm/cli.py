"""``ctibridge mapping check|test``: try a CRM mapping file before the hub uses it."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from ..model.interaction import Interaction
from ..model.party import Channel, Direction, Party
from . import presets
from .base import CrmError, LookupContext
from .mapping import MappingConnector, MappingFileError, load_mapping
from .mapping.schema import log_warnings

mapping_app = typer.Typer(help="Check and try CRM mapping files (docs/crm-mapping.md).",
                          no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(
    help="the mapping file (YAML), or preset:NAME for a shipped one (preset:salesforce)")]
VarOpt = Annotated[list[str] | None, typer.Option(
    "--var", help="a variable the templates read as vars.NAME (NAME=VALUE, repeatable)")]


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            _fail(f"{option} {item!r}: expected KEY=VALUE")
        out[key.strip()] = value
    return out


async def _check(connector: MappingConnector, interaction: Interaction, key: str,
                 record: Any, when: str) -> bool | None:
    """Run log.find_existing and print it: True found, False not, None failed."""
    typer.secho(f"check ({when} the log): log.find_existing", bold=True)
    trace: list[str] = []
    try:
        found = await connector.find_logged(interaction, key, record=record, trace=trace)
    except CrmError as exc:
        _show(trace)
        typer.secho(f"check failed: {exc.message}", fg=typer.colors.RED)
        return None
    _show(trace)
    if found is None:
        typer.echo("  not in the CRM" + (": the log is sent" if when == "before" else ""))
        return False
    typer.echo(f"  found: activity {found.activity_id or '(no id)'}"
               + (" (already logged: not sent again)" if when == "before" else ""))
    return True


def _show(trace: list[str]) -> None:
    """Trace lines, indented; a request's body under its line."""
    for line in trace:
        typer.echo("  " + line.replace("\n", "\n      "))


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _load(path: Path, variables: dict[str, str]) -> MappingConnector:
    try:
        path = presets.resolve(str(path))
    except ValueError as exc:
        _fail(str(exc))
    try:
        return load_mapping(path, variables)
    except MappingFileError as exc:
        typer.secho(f"error: {path} is invalid:", fg=typer.colors.RED, err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(2) from None


@mapping_app.command("check")
def check(file: FileArg, var: VarOpt = None) -> None:
    """Validate a mapping file: every fault with its file:line and field."""
    connector = _load(file, _pairs(var, "--var"))
    m = connector.mapping
    typer.echo(f"OK: {file}: CRM {m.name!r} ({connector.kind}, {connector.target})")
    typer.echo(f"  lookups, in order: {', '.join(lk.name for lk in m.lookups)}")
    log = m.log
    if log is None:
        typer.echo("  call log: none")
    elif log.request is not None:
        typer.echo(f"  call log: {log.request.method} {log.request.path}")
    else:
        typer.echo("  call log: SQL")
    if log is not None:
        typer.echo(f"  repeated log: {connector.log_guarantee} ("
                   + {"idempotent": "the CRM de-duplicates on the key",
                      "checkable": "checked with log.find_existing before any re-send",
                      "none": "cannot be told apart: an unknown outcome needs an operator"}[
                          connector.log_guarantee] + ")")
    for loc, message in log_warnings(m):
        typer.secho(f"warning: {'.'.join(str(p) for p in loc)}: {message}",
                    fg=typer.colors.YELLOW, err=True)


@mapping_app.command("test")
def test(
    file: FileArg,
    number: Annotated[str, typer.Option("--number", "-n", help="the caller's number")],
    data: Annotated[list[str] | None, typer.Option(
        "--data", "-d", help="attached data, e.g. customer_id=C10042 (repeatable)")] = None,
    log: Annotated[bool, typer.Option(
        "--log", help="really send the log request, after the check step (log.find_existing) "
        "if the mapping has one; without --log it is only shown")] = False,
    var: VarOpt = None,
    direction: Annotated[Direction, typer.Option(help="the call's direction")] = (
        Direction.INBOUND),
) -> None:
    """Run the lookups against the live CRM: what would pop, and the request that would
    log the call (sent only with --log)."""
    attached = _pairs(data, "--data")
    connector = _load(file, _pairs(var, "--var"))
    code = asyncio.run(_try(connector, number, attached, direction, send=log))
    raise typer.Exit(code)


async def _try(connector: MappingConnector, number: str, attached: dict[str, str],
               direction: Direction, *, send: bool) -> int:
    try:
        party = Party(number=number)
        context = LookupContext(attached=attached, direction=str(direction))
        typer.echo(f"number {number!r} → {connector.normalize(number)} (E.164)")
        trace: list[str] = []
        result = await connector.lookup(party, context, trace=trace)
        _show(trace)
        if result.unavailable:
            typer.secho(f"pop: CRM unavailable: {result.error}", fg=typer.colors.RED)
            typer.echo("  (the agent would still get the call, without a record)")
            return 1
        typer.secho(f"pop: {result.outcome}"
                    + (f" (lookup {result.lookup!r})" if result.lookup else "")
                    + f" in {result.elapsed_ms:.0f} ms", bold=True)
        for m in result.matches:
            typer.echo(f"  - [{m.kind} {m.record_id}] {m.name or '?'}"
                       + (f", {m.company}" if m.company else "")
                       + f"\n    open: {connector.record_url(m) or '(no URL)'}")
            for key, value in m.fields.items():
                typer.echo(f"    {key}: {value}")
        if result.create_url:
            typer.echo(f"  create: {result.create_url}")
        if result.search_url:
            typer.echo(f"  search: {result.search_url}")

        now = datetime.now(UTC).replace(microsecond=0)
        interaction = Interaction(
            f"mapping-test-{secrets.token_hex(4)}", Channel.VOICE, direction, party,
            now - timedelta(seconds=100), agent_id="mapping-test", attached=attached,
            accepted_at=now - timedelta(seconds=95), ended_at=now, disposition="test",
            notes="Logged by ctibridge mapping test")
        record = result.matches[0] if len(result.matches) == 1 else None
        key = f"{interaction.interaction_id}:mapping-test"
        try:
            prepared = await connector.prepare_log(interaction, key, record=record)
        except CrmError as exc:
            typer.secho(f"log: {exc.message}", fg=typer.colors.RED)
            return 1
        typer.secho("log: " + ("sending" if send else "would send (add --log to send it)"),
                    bold=True)
        if not send or prepared.skipped:
            typer.echo("  " + prepared.describe(connector.secrets).replace("\n", "\n  "))
        checked = send and not prepared.skipped and connector.log_guarantee == "checkable"
        if checked:
            # The check step first, as the hub runs it before any re-send.
            found = await _check(connector, interaction, key, prepared.record, "before")
            if found is None:
                return 1
            if found:
                return 0
        if send and not prepared.skipped:
            sent: list[str] = []
            try:
                receipt = await connector.send_log(prepared, interaction, trace=sent)
            except CrmError as exc:
                _show(sent)
                typer.secho(f"log failed: {exc.message}"
                            + (" (the hub would retry)" if exc.retryable else
                               " (the hub would not retry)"), fg=typer.colors.RED)
                return 1
            _show(sent)
            typer.secho(f"logged: activity {receipt.activity_id or '(no id)'}"
                        + ("" if receipt.created else " (already there)"),
                        fg=typer.colors.GREEN)
            if checked:
                # The check must find what the log just wrote, or a retry would duplicate.
                again = await _check(connector, interaction, key, prepared.record, "after")
                if not again:
                    typer.secho("check: log.find_existing does not find the log just "
                                "written: after an unknown outcome the hub would write it "
                                "again (a duplicate); make the check search what the log "
                                "writes (e.g. the idempotency key)", fg=typer.colors.RED)
                    return 1
        return 0
    finally:
        await connector.stop()
