"""`chatlens privacy`: retention applied on demand (docs/privacy.md)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from chatlens.app import audit
from chatlens.cli.audit import WorkspaceOption, audited
from chatlens.cli.common import AppDbOption, DbOption, fail, out
from chatlens.errors import ChatlensError
from chatlens.server.runtime.journal_expiry import expire_journal
from chatlens.store import open_store
from chatlens.store.retention import cutoffs, expire
from chatlens.store.settings import load_settings

privacy_app = typer.Typer(
    help="Personal data: retention of texts, page URLs, attrs and events.",
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
) -> None:
    """Blank message texts, comments, page URLs and attrs past their retention and remove
    events past theirs, in the store and its journal files, and audit records past
    `retention_audit_days` (the server does this hourly)."""
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
    out.print(f"Audit trail: {audits} records older than retention_audit_days removed.")
