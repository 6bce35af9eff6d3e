"""`chatlens audit`: the audit trail of transcript views and exports (docs/privacy.md), and
what the commands that export conversation rows record in it (seat `cli:LOGIN`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table
from rich.text import Text

from chatlens.app import audit, service
from chatlens.app.db import app_db_url, open_app_db
from chatlens.app.models import AUDIT_ACTIONS
from chatlens.cli.common import AppDbOption, DbOption, fail, out
from chatlens.errors import ChatlensError
from chatlens.metrics import Engine
from chatlens.reading import Reader
from chatlens.store.db import db_path

WorkspaceOption = Annotated[
    str | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace name (its store beside --db); default: the workspace of --db.",
    ),
]


def register(app: typer.Typer) -> None:
    app.command("audit")(audit_command)


@dataclass(frozen=True)
class CliSeat:
    """Whoever runs a command on the machine reads the whole workspace (its files are theirs)."""

    workspace: str
    role: str = "admin"
    agent_id: str | None = None
    team: str | None = None
    agent_access: str = "workspace"


@dataclass
class Audited:
    """The store a command reads and the trail recording what it exports."""

    store: Path
    trail: audit.AuditTrail

    def reader(self, engine: Engine) -> Reader:
        """A Reader over `engine` as the command's seat, recording in the trail."""
        return Reader(_OneEngine(engine), CliSeat(self.trail.workspace), self.trail)


class _OneEngine:
    def __init__(self, engine: Engine):
        self._engine = engine

    @contextmanager
    def engine(self) -> Iterator[Engine]:
        yield self._engine


@contextmanager
def audited(
    db: Path | None, app_db: str | None, workspace: str | None, route: str
) -> Iterator[Audited]:
    """The app state beside `db` (the default store), the store of `workspace` (default: the
    workspace whose store `db` is) and its audit trail under the seat `cli:LOGIN`."""
    default = db_path(db).resolve()
    factory = open_app_db(app_db_url(default, app_db))
    try:
        with factory() as session:
            service.ensure_default_workspace(session, default)
            if workspace is None:
                name = audit.workspace_of_store(session, default.name) or service.DEFAULT_WORKSPACE
                store = default
            else:
                found = service.get_workspace(session, workspace)
                name, store = found.name, service.workspace_store(default.parent, found)
        yield Audited(store, audit.AuditTrail(factory, name, audit.cli_seat(), route))
    finally:
        factory.kw["bind"].dispose()


def audit_command(
    workspace: WorkspaceOption = None,
    since: Annotated[
        str | None, typer.Option(help="From this day or UTC date-time (2026-12-01).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Up to this day (inclusive).")] = None,
    conversation: Annotated[str | None, typer.Option(help="One conversation id.")] = None,
    seat: Annotated[
        str | None, typer.Option(help="user:ID, key:ID, cli:LOGIN, cli or a user's email.")
    ] = None,
    action: Annotated[str | None, typer.Option(help=", ".join(AUDIT_ACTIONS))] = None,
    limit: Annotated[int, typer.Option(min=1, max=audit.MAX_PER_PAGE)] = 50,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per record, as the API gives them.")
    ] = False,
    db: DbOption = None,
    app_db: AppDbOption = None,
) -> None:
    """Who viewed which transcript and who exported which conversation rows, newest first
    (never the text)."""
    try:
        search = audit.Search.of(seat, conversation, action, since, until)
        with (
            audited(db, app_db, workspace, "chatlens audit") as found,
            found.trail.sessions() as session,
        ):
            total, rows = audit.search(session, found.trail.workspace, search, per_page=limit)
    except ChatlensError as exc:
        raise fail(str(exc)) from None
    if as_json:
        for r in rows:
            typer.echo(orjson.dumps(r).decode())
        return
    table = Table("when (UTC)", "seat", "action", "conversation or export", "rows")
    for r in rows:
        what = r["conversation_id"]
        if what is None and r["filters"]:
            f = r["filters"]
            parts = [f"{f.get('from', '')} – {f.get('to', '')}", str(f.get("format", ""))]
            parts += [f"{k}={','.join(v)}" for k, v in (f.get("filters") or {}).items()]
            parts += [f"{k}={f[k]}" for k in ("counted", "csat") if k in f]
            what = " · ".join(p for p in parts if p)
        cells = (
            r["at"][:19].replace("T", " "),
            r["seat_name"],
            r["action"],
            what or "",
            "" if r["rows"] is None else str(r["rows"]),
        )
        table.add_row(*(Text(c) for c in cells))  # Text: ids and filters are never markup
    for column in table.columns:  # the route is in --json
        column.overflow = "fold"
        column.no_wrap = column.header in ("when (UTC)", "action", "rows")
    out.print(table, markup=False, highlight=False)
    out.print(f"{len(rows)} of {total} records", markup=False, highlight=False)
