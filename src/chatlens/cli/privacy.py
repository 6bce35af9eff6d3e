"""`chatlens privacy`: retention applied on demand, a person's access and erasure requests
and their log (docs/privacy.md)."""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table

from chatlens import privacy
from chatlens.app import audit, service
from chatlens.cli.audit import WorkspaceOption, audited
from chatlens.cli.common import AppDbOption, DbOption, fail, out
from chatlens.cli.server import app_state
from chatlens.errors import ChatlensError, InputError
from chatlens.lake.layout import Lake
from chatlens.lake.retention import expire_lake
from chatlens.server.runtime.journal_expiry import expire_journal
from chatlens.store import open_store
from chatlens.store.db import db_path
from chatlens.store.retention import cutoffs, expire
from chatlens.store.settings import load_settings

privacy_app = typer.Typer(
    help="Personal data: retention, a person's access and erasure requests, their log.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(privacy_app, name="privacy")


@privacy_app.command("expire")
def expire_command(
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    app_db: AppDbOption = None,
    now: Annotated[
        str | None,
        typer.Option(help="Expire as of this time (RFC 3339; default: now). For tests."),
    ] = None,
    lake: Annotated[
        str | None,
        typer.Option(help="Also expire the event lake at this URL (path or s3://...)."),
    ] = None,
) -> None:
    """Blank message texts, comments, page URLs and attrs past their retention and remove
    events past theirs, in the store and its journal files (and, given --lake, the lake's
    events files), and audit records past `retention_audit_days` (the server does this
    hourly)."""
    try:
        moment = dt.datetime.fromisoformat(now) if now else dt.datetime.now(dt.UTC)
    except ValueError as exc:
        raise fail(f"--now: {exc} (expected e.g. 2026-11-30T00:00:00Z)") from None
    if moment.tzinfo is None:
        raise fail("--now: give a UTC offset, e.g. 2026-11-30T00:00:00Z")
    try:
        with audited(db, app_db, workspace, "chatlens privacy expire") as found:
            with open_store(found.store) as store:
                settings = load_settings(store.con)
                due = cutoffs(settings, moment)
                done = expire(store, moment) if due else None
                assert store.path is not None
                journalled = expire_journal(store.path, settings, due) if due else 0
            in_lake = expire_lake(Lake.open(lake), settings, moment) if lake else None
            with found.trail.sessions() as session:
                audits = audit.expire(
                    session, found.trail.workspace, settings.retention_audit_days, moment
                )
    except ChatlensError as exc:
        raise fail(str(exc)) from None
    if done is None:
        out.print("No retention is set for events (retention_*_days): nothing expires there.")
    else:
        out.print(
            f"Expired: {done.text} message texts, {done.comment} comments, {done.page_url} "
            f"page URLs, {done.attrs} attrs; removed {done.events} events of "
            f"{done.conversations} conversations; {journalled} journalled rows blanked."
        )
    if in_lake is not None:
        out.print(
            f"Lake: {in_lake.text} message texts, {in_lake.comment} comments, "
            f"{in_lake.page_url} page URLs, {in_lake.attrs} attrs blanked in {in_lake.files} "
            f"files rewritten; {in_lake.partitions} partitions of {in_lake.events} events "
            "deleted."
        )
    out.print(f"Audit trail: {audits} records older than retention_audit_days removed.")


CustomerOption = Annotated[str | None, typer.Option("--customer", help="The customer's id.")]
AgentOption = Annotated[str | None, typer.Option("--agent", help="The agent's id.")]


def _store_of(db: Path | None, workspace: str | None, app_db: str | None) -> Path:
    """The store file: the workspace's (by name) or --db itself."""
    if workspace is None:
        return db_path(db)
    with app_state(db, app_db) as (session, store):
        try:
            return service.workspace_store(store.parent, service.get_workspace(session, workspace))
        except ChatlensError as exc:
            raise fail(str(exc)) from None


def _operator() -> str:
    """Who ran the command, for the request log."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@privacy_app.command("export")
def export_command(
    customer: Annotated[str, typer.Option("--customer", help="The customer's id.")],
    db: DbOption = None,
    workspace: WorkspaceOption = None,
    app_db: AppDbOption = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the JSON here (default: stdout).")
    ] = None,
) -> None:
    """Everything held about a customer, as JSON (an access request); the request is logged.
    With the server running, ask its API instead (GET /api/v1/privacy/customers/ID)."""
    path = _store_of(db, workspace, app_db)
    try:
        if not path.exists():
            raise InputError(f"no store at {path}")
        privacy.resume(path)  # an erasure a crash left unfinished comes first
        with open_store(path) as store:
            held = privacy.answer_export(store, customer, _operator())
    except ChatlensError as exc:
        raise fail(str(exc)) from None
    data = orjson.dumps(held, option=orjson.OPT_INDENT_2) + b"\n"
    if out_file is None:
        typer.echo(data.decode(), nl=False)
    else:
        out_file.write_bytes(data)
        out.print(
            f"Wrote {len(held['events'])} events of {len(held['conversations'])} "
            f"conversations to {out_file}",
            markup=False,
        )


@privacy_app.command("erase")
def erase_command(
    customer: CustomerOption = None,
    agent: AgentOption = None,
    db: DbOption = None,
    workspace: WorkspaceOption = None,
    app_db: AppDbOption = None,
    lake: Annotated[
        str | None,
        typer.Option(help="Also erase from the event lake at this URL (path or s3://...)."),
    ] = None,
) -> None:
    """Erase a customer (their conversations' texts, their id) or an agent (their messages'
    texts, their id): ids become a token, figures stay. Finishes any erasure a crash left
    unfinished first. The server must be stopped (or use POST /api/v1/privacy/erase)."""
    if (customer is None) == (agent is None):
        raise fail("give --customer ID or --agent ID (one of them)")
    kind, subject = ("customer", customer) if customer is not None else ("agent", agent)
    assert subject is not None
    path = _store_of(db, workspace, app_db)
    try:
        done = privacy.erase(path, kind, subject, _operator(), lake=lake)
    except ChatlensError as exc:
        raise fail(str(exc)) from None
    counts = done.counts
    out.print(
        f"Erased {kind} as {done.token} (request {done.request_id}): "
        f"{counts.get('events', 0)} events, {counts.get('journal_rows', 0)} journalled rows, "
        f"{counts.get('topics', 0)} topics"
        + (f", {counts.get('lake_rows', 0)} lake rows" if lake else "")
        + ".",
        markup=False,
    )


@privacy_app.command("requests")
def requests_command(
    db: DbOption = None,
    workspace: WorkspaceOption = None,
    app_db: AppDbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """The log of access and erasure requests (newest first): who, when, what, the result."""
    path = _store_of(db, workspace, app_db)
    try:
        if not path.exists():
            raise InputError(f"no store at {path}")
        privacy.resume(path)
        with open_store(path) as store:
            rows = privacy.list_requests(store.con)
    except ChatlensError as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    table = Table("id", "asked at", "operator", "request", "target", "result", "detail")
    for row in rows:
        table.add_row(
            str(row["request_id"]),
            row["asked_at"].isoformat(timespec="seconds"),
            row["operator"],
            f"{row['kind']} {row['target_kind']}",
            row["target"],
            row["result"],
            orjson.dumps(row["detail"]).decode(),
        )
    out.print(table, markup=False)
