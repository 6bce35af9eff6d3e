"""`chatlens sync CONNECTION -w WS [--since DATE]`: pull a connection's conversations
through its platform's REST API (history, and whatever webhooks missed), from where the
last sync stopped (docs/connections.md, "History and gaps: sync").

The command writes the workspace's store directly, as `chatlens import` does: run it while
the server is stopped; a running server syncs by itself (`serve --sync-every 15m`)."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from sqlalchemy.orm import sessionmaker

from chatlens.app import connections, service
from chatlens.cli.common import AppDbOption, DbOption, fail, out
from chatlens.cli.server import WorkspaceArg, app_state
from chatlens.connect.sync import Syncer
from chatlens.errors import ChatlensError, InputError
from chatlens.store import Store, open_store
from chatlens.store.facts import refresh_facts
from chatlens.store.sql import run


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)


def since_date(text: str | None) -> float | None:
    """--since: a date (UTC midnight) or an ISO time, as Unix seconds."""
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--since {text!r}: expected a date, YYYY-MM-DD") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


class StoreWriter:
    """Rows into workspace stores, one commit per call (the durability point before the
    sync's cursor moves); the stores stay open for the run."""

    def __init__(self) -> None:
        self.stores: dict[Path, Store] = {}

    def open(self, path: Path) -> Store:
        store = self.stores.get(path)
        if store is None:
            try:
                store = self.stores[path] = open_store(path)
            except InputError as exc:
                raise InputError(
                    f"{exc} (a running server holds its stores: stop it, or let it sync "
                    "by itself with serve --sync-every)"
                ) from None
        return store

    def submit(self, workspace: str, path: Path, rows: list[dict[str, Any]]) -> int:
        del workspace
        store = self.open(path)
        run(store.con, "BEGIN")
        try:
            stored = store.append(rows).inserted
        except BaseException:
            with contextlib.suppress(Exception):
                run(store.con, "ROLLBACK")
            raise
        run(store.con, "COMMIT")
        return stored

    def close(self) -> None:
        for store in self.stores.values():
            refresh_facts(store)
            store.close()


def sync(
    connection: Annotated[str, typer.Argument(help="The connection's id or name.")],
    workspace: WorkspaceArg,
    since: Annotated[
        str | None,
        typer.Option(
            help="Pull the conversations updated since this date (YYYY-MM-DD, UTC) instead "
            "of since the last sync."
        ),
    ] = None,
    db: DbOption = None,
    app_db: AppDbOption = None,
) -> None:
    """Pull a connection's conversations through its platform's API (Chatwoot, Intercom,
    LiveChat): those updated since the last sync, or since --since. Resumes an interrupted
    sync; stores nothing twice."""
    try:
        start = since_date(since)
    except ChatlensError as exc:
        raise fail(str(exc)) from None
    writer = StoreWriter()
    try:  # app_state ends the command with the message of a ChatlensError (PlatformError)
        with app_state(db, app_db) as (session, store):
            conn = connections.get_connection(session, workspace, connection)
            writer.open(service.workspace_store(store.parent, conn.workspace))  # before a pull
            sessions = sessionmaker(session.get_bind(), expire_on_commit=False)
            done = Syncer(sessions, store.parent, writer.submit).run(conn.id, start)
    finally:
        writer.close()  # what was stored before a failure counts
    resumed = " (resumed where the last sync stopped)" if done.resumed else ""
    out.print(
        f"synced {escape(conn.name)}{resumed}: {done.conversations} conversations in "
        f"{done.pages} pages, {done.events} new events, {done.quarantined} quarantined, "
        f"{done.retries} requests retried",
        highlight=False,
    )
    if done.quarantined:
        raise typer.Exit(1)
