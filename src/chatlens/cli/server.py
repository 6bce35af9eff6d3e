"""`chatlens serve` and the app-state commands: `workspaces`, `users`, `keys`."""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from chatlens.app import connections, service
from chatlens.app.db import app_db_url, open_app_db
from chatlens.app.models import AGENT_ACCESS, ROLES, SCOPES, Workspace
from chatlens.cli.common import AppDbOption, DbOption, fail, out
from chatlens.errors import ChatlensError
from chatlens.server.runtime.memory import DEFAULT_MEMORY_LIMIT
from chatlens.store.db import db_path

workspaces_app = typer.Typer(help="Workspaces: each has its own events and settings.")
users_app = typer.Typer(help="Users and their seats (roles) in workspaces.")
keys_app = typer.Typer(help="API keys for sending events and reading figures.")


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.add_typer(workspaces_app, name="workspaces", no_args_is_help=True)
    app.add_typer(users_app, name="users", no_args_is_help=True)
    app.add_typer(keys_app, name="keys", no_args_is_help=True)


def serve(
    db: DbOption = None,
    app_db: AppDbOption = None,
    host: Annotated[str, typer.Option(envvar="CHATLENS_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="CHATLENS_PORT")] = 8000,
    refresh_seconds: Annotated[
        float, typer.Option(help="How often new events are folded into the facts.")
    ] = 1.0,
    secure_cookies: Annotated[
        bool, typer.Option(help="Mark cookies Secure (serve behind HTTPS).")
    ] = False,
    duckdb_threads: Annotated[
        int | None,
        typer.Option(help="Threads DuckDB may use (default: all cores but one).", min=1),
    ] = None,
    memory_limit: Annotated[
        str,
        typer.Option(
            envvar="CHATLENS_MEMORY_LIMIT",
            help="Memory DuckDB may use per open workspace, e.g. 512MB, 2GB (beyond it, "
            "large queries spill to disk).",
        ),
    ] = DEFAULT_MEMORY_LIMIT,
    forwarded_allow_ips: Annotated[
        str,
        typer.Option(
            envvar="CHATLENS_FORWARDED_ALLOW_IPS",
            help="Proxies (comma-separated addresses or networks) whose X-Forwarded-For and "
            "X-Forwarded-Proto are believed; none by default, so a client cannot pick the "
            "address the sign-in limits count.",
        ),
    ] = "",
    lake: Annotated[
        str | None,
        typer.Option(
            "--lake",
            envvar="CHATLENS_LAKE",
            help="Write ingested events to this event lake (a local path or s3://...; "
            "docs/lake.md) instead of the DuckDB store.",
        ),
    ] = None,
    store_too: Annotated[
        bool, typer.Option("--store-too", help="With --lake: write the events to the store too.")
    ] = False,
    sync_every: Annotated[
        str | None,
        typer.Option(
            envvar="CHATLENS_SYNC_EVERY",
            help="Sync the connections that have API credentials this often (e.g. 15m), "
            "repairing missed webhooks (docs/connections.md).",
        ),
    ] = None,
    lake_facts: Annotated[
        str | None,
        typer.Option(
            "--lake-facts",
            envvar="CHATLENS_LAKE_FACTS",
            help="Serve the dashboard and read APIs from this event lake's derived facts "
            "(chatlens lake facts / spark facts; docs/lake.md); the --db store then holds "
            "no events.",
        ),
    ] = None,
) -> None:
    """Run the server: ingest API, query API, sign-in (http://HOST:PORT/docs lists it all)."""
    import uvicorn

    from chatlens.lake.info import shown_url
    from chatlens.lake.ingest import LakeSink
    from chatlens.lake.layout import Lake
    from chatlens.server.app import create_app

    if store_too and not lake:
        raise fail("--store-too goes with --lake URL")
    try:
        sink = LakeSink(lake, store_too) if lake else None
        if lake:
            Lake.open(lake)  # a bad URL is said now, not at the first event
        interval = connections.every(sync_every) if sync_every else None
        app = create_app(
            db_path(db),
            app_db,
            refresh_seconds=refresh_seconds,
            secure_cookies=secure_cookies,
            duckdb_threads=duckdb_threads,
            memory_limit=memory_limit,
            lake=sink,
            sync_every=interval,
            lake_facts=lake_facts,
        )
    except ChatlensError as exc:
        raise fail(str(exc)) from None
    served = f"the lake {escape(shown_url(lake_facts))}" if lake_facts else str(db_path(db))
    out.print(f"chatlens serving {served} on http://{host}:{port}  (API docs: /docs)")
    if lake:
        also = " and the store" if store_too else " (not the store)"
        where = escape(shown_url(lake))
        out.print(f"ingested events go to the lake {where}{also}", highlight=False)
    # chatlens's own records (workspace opened, journal replayed, duplicates turned away)
    # go where uvicorn's go: counts and names, never event contents
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["loggers"]["chatlens"] = {
        "handlers": ["default"],
        "level": "INFO",
        "propagate": False,
    }
    # explicit: uvicorn would otherwise trust loopback (or $FORWARDED_ALLOW_IPS)
    proxies = ",".join(p.strip() for p in forwarded_allow_ips.split(",") if p.strip())
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        access_log=False,
        log_config=log_config,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies,
    )


@contextmanager
def app_state(db: Path | None, app_db: str | None) -> Iterator[tuple[DbSession, Path]]:
    """A session on the app state beside the store (and the store's path); chatlens errors
    end the command with their message."""
    store = db_path(db).resolve()
    factory = None
    try:
        factory = open_app_db(app_db_url(store, app_db))
        with factory() as session:
            service.ensure_default_workspace(session, store)
            yield session, store
    except ChatlensError as exc:
        raise fail(str(exc)) from None
    finally:
        if factory is not None:  # its pooled connections closed (a Postgres server counts them)
            factory.kw["bind"].dispose()


WorkspaceArg = Annotated[str, typer.Option("--workspace", "-w", help="Workspace name.")]


@workspaces_app.command("create")
def workspaces_create(
    name: str,
    agent_access: Annotated[
        str,
        typer.Option(help=f"What agents see beyond their own figures: {', '.join(AGENT_ACCESS)}."),
    ] = "own",
    db: DbOption = None,
    app_db: AppDbOption = None,
) -> None:
    """Create a workspace (its store: chatlens.NAME.duckdb beside the default one)."""
    with app_state(db, app_db) as (session, store):
        ws = service.create_workspace(session, name, store, agent_access)
        out.print(
            f"workspace {ws.name} created (store {service.workspace_store(store.parent, ws)})"
        )


@workspaces_app.command("set")
def workspaces_set(
    name: str,
    agent_access: Annotated[str, typer.Option(help=", ".join(AGENT_ACCESS))],
    db: DbOption = None,
    app_db: AppDbOption = None,
) -> None:
    """Change what agents of a workspace may see."""
    with app_state(db, app_db) as (session, _):
        service.set_agent_access(session, name, agent_access)
    out.print(f"workspace {name}: agent access {agent_access}")


@workspaces_app.command("list")
def workspaces_list(db: DbOption = None, app_db: AppDbOption = None) -> None:
    """Every workspace with its store."""
    table = Table("workspace", "store", "agent access")
    with app_state(db, app_db) as (session, store):
        for ws in session.scalars(select(Workspace).order_by(Workspace.name)):
            table.add_row(ws.name, str(service.workspace_store(store.parent, ws)), ws.agent_access)
    out.print(table)


@users_app.command("create")
def users_create(
    email: str,
    workspace: WorkspaceArg,
    role: Annotated[str, typer.Option(help=", ".join(ROLES))],
    agent_id: Annotated[
        str | None, typer.Option(help="For agent seats: the agent_id their events carry.")
    ] = None,
    team: Annotated[str | None, typer.Option(help="The agent's team.")] = None,
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input.")
    ] = False,
    db: DbOption = None,
    app_db: AppDbOption = None,
) -> None:
    """Give EMAIL a seat with ROLE in a workspace (creating the user; asks for a password)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with app_state(db, app_db) as (session, _):
        seat = service.create_user(session, email, password, workspace, role, agent_id, team)
        out.print(f"{seat.user.email}: {seat.role} in {workspace}")


@keys_app.command("create")
def keys_create(
    workspace: WorkspaceArg,
    scope: Annotated[str, typer.Option(help=", ".join(SCOPES))],
    name: Annotated[str | None, typer.Option(help="A note: which bot or tool uses it.")] = None,
    db: DbOption = None,
    app_db: AppDbOption = None,
) -> None:
    """Create an API key; it is printed once (only its hash is kept)."""
    with app_state(db, app_db) as (session, _):
        made = service.create_key(session, workspace, scope, name)
    sys.stdout.write(made.key + "\n")


@keys_app.command("list")
def keys_list(workspace: WorkspaceArg, db: DbOption = None, app_db: AppDbOption = None) -> None:
    """The workspace's keys (id, scope, prefix, state)."""
    table = Table("id", "scope", "prefix", "name", "created", "revoked")
    with app_state(db, app_db) as (session, _):
        for k in service.list_keys(session, workspace):
            revoked = f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else ""
            created = f"{k.created_at:%Y-%m-%d}"
            table.add_row(str(k.id), k.scope, k.prefix + "...", k.name or "", created, revoked)
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: int, db: DbOption = None, app_db: AppDbOption = None) -> None:
    """Revoke a key by id (refused from the next request on)."""
    with app_state(db, app_db) as (session, _):
        service.revoke_key(session, key_id)
    out.print(f"key {key_id} revoked")
