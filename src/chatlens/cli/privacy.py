"""`chatlens privacy`: retention applied on demand (docs/privacy.md)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from chatlens.cli.common import DbOption, fail, out
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
    db: DbOption = None,
    now: Annotated[
        str | None,
        typer.Option(help="Expire as of this time (RFC 3339; default: now). For tests."),
    ] = None,
) -> None:
    """Blank message texts, comments, page URLs and attrs past their retention and remove
    events past theirs, in the store and its journal files (the server does this hourly)."""
    try:
        moment = dt.datetime.fromisoformat(now) if now else dt.datetime.now(dt.UTC)
    except ValueError as exc:
        raise fail(f"--now: {exc} (expected e.g. 2026-11-30T00:00:00Z)") from None
    if moment.tzinfo is None:
        raise fail("--now: give a UTC offset, e.g. 2026-11-30T00:00:00Z")
    try:
        with open_store(db) as store:
            settings = load_settings(store.con)
            due = cutoffs(settings, moment)
            if not due:
                out.print("No retention is set (retention_*_days): nothing expires.")
                return
            done = expire(store, moment)
            assert store.path is not None
            journalled = expire_journal(store.path, settings, due)
    except ChatlensError as exc:
        raise fail(str(exc)) from None
    out.print(
        f"Expired: {done.text} message texts, {done.comment} comments, {done.page_url} page "
        f"URLs, {done.attrs} attrs; removed {done.events} events of {done.conversations} "
        f"conversations; {journalled} journalled rows blanked."
    )
