"""`chatlens connections create|list|show|revoke`: the platforms that send their webhooks to
this server (docs/connections.md)."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from chatlens.app import connections
from chatlens.app.connections import DEFAULT_QUEUE
from chatlens.app.models import BROKER_PLATFORMS, PLATFORMS, ConnectionSync
from chatlens.cli.common import AppDbOption, DbOption, fail, out
from chatlens.cli.server import WorkspaceArg, app_state

connections_app = typer.Typer(
    help="Connections: Chatwoot, Intercom and LiveChat webhooks, the website tracker, Rasa's "
    "event brokers."
)
BaseUrlOption = Annotated[
    str,
    typer.Option(help="The server's public address, to print the full URL to paste."),
]


def register(app: typer.Typer) -> None:
    app.add_typer(connections_app, name="connections", no_args_is_help=True)


@connections_app.command("create")
def create(
    workspace: WorkspaceArg,
    platform: Annotated[str, typer.Option(help=", ".join(PLATFORMS))],
    name: Annotated[str, typer.Option(help="What people call it: 'support desk'.")],
    secret: Annotated[
        str | None,
        typer.Option(
            help="Intercom: the app's client secret; LiveChat: the webhooks' secret key; "
            "Chatwoot 4.x: the webhook's secret (optional)",
            envvar="CHATLENS_CONNECTION_SECRET",
        ),
    ] = None,
    origin: Annotated[
        list[str] | None,
        typer.Option(
            help="tracker: a site allowed to send with the key (https://shop.example.com); "
            "repeat for each"
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            help="rasa-sql: postgresql://USER:PASSWORD@HOST:PORT/DB of Rasa's SQL event broker; "
            "rasa-pika: amqp://USER:PASSWORD@HOST:PORT/VHOST of its RabbitMQ (the password is "
            "kept apart and never shown)",
            envvar="CHATLENS_CONNECTION_URL",
        ),
    ] = None,
    queue: Annotated[
        str | None,
        typer.Option(help=f"rasa-pika: the queue Rasa publishes to (default {DEFAULT_QUEUE})"),
    ] = None,
    base_url: BaseUrlOption = "http://127.0.0.1:8000",
    api_url: Annotated[
        str | None,
        typer.Option(
            help="For API sync: the platform's API address (https://app.chatwoot.com, "
            "https://api.intercom.io, https://api.livechatinc.com)."
        ),
    ] = None,
    api_token: Annotated[
        str | None,
        typer.Option(
            help="For API sync: Chatwoot's access token, Intercom's access token, LiveChat's "
            "personal access token (kept as given, never shown again).",
            envvar="CHATLENS_API_TOKEN",
            show_default=False,
        ),
    ] = None,
    account_id: Annotated[
        str | None,
        typer.Option(help="For API sync: Chatwoot's account id, LiveChat's account id."),
    ] = None,
    sync_every: Annotated[
        str | None,
        typer.Option(help="How often the server syncs this connection, e.g. 15m (1m or more)."),
    ] = None,
    db: DbOption = None,
    app_db: AppDbOption = None,
) -> None:
    """Create a connection; prints the URL to paste into the platform, once (only a hash of
    its token is kept). With --api-url and --api-token it can also be synced (chatlens
    sync); for the website tracker, the snippet to paste into the site's pages. A Rasa broker
    connection is consumed by the running server."""
    with app_state(db, app_db) as (session, _):
        api = None
        if api_url or api_token or account_id or sync_every:
            if not api_url or not api_token:
                raise fail("API sync needs both --api-url and --api-token")
            interval = connections.every(sync_every) if sync_every else None
            api = connections.Api(api_url, api_token, account_id, interval)
        made = connections.create_connection(
            session,
            workspace,
            platform,
            name,
            secret,
            api=api,
            origins=origin,
            url=url,
            queue=queue,
        )
    record = made.record
    if record.platform in BROKER_PLATFORMS:
        on = f" queue {record.broker_queue}" if record.broker_queue else ""
        out.print(
            f"connection {record.id} created: `chatlens serve` consumes "
            f"{escape(record.broker_url or '')}{escape(on)}",
            highlight=False,
        )
        return
    if made.site is not None:
        sys.stdout.write(connections.snippet(base_url, made.site.site_key) + "\n")
        return
    sys.stdout.write(base_url.rstrip("/") + made.path + "\n")


@connections_app.command("list")
def list_(workspace: WorkspaceArg, db: DbOption = None, app_db: AppDbOption = None) -> None:
    """The workspace's connections with their traffic."""
    table = Table("id", "name", "platform", "state", "events today", "events", "last event")
    with app_state(db, app_db) as (session, _):
        for c in connections.list_connections(session, workspace):
            t = connections.traffic(session, c.id)
            last = f"{t.last_event_at:%Y-%m-%d %H:%M:%S}" if t.last_event_at else ""
            table.add_row(
                str(c.id),
                escape(c.name),
                c.platform,
                c.status,
                str(t.events_today),
                str(t.events_total),
                last,
            )
    out.print(table)


@connections_app.command("show")
def show(
    workspace: WorkspaceArg,
    connection: Annotated[str, typer.Argument(help="Its id or name.")],
    db: DbOption = None,
    app_db: AppDbOption = None,
) -> None:
    """One connection: traffic, lag, last errors and quarantined deliveries (ids and
    reasons; never their text)."""
    with app_state(db, app_db) as (session, _):
        c = connections.get_connection(session, workspace, connection)
        t = connections.traffic(session, c.id)
        synced = session.get(ConnectionSync, c.id)
        site = connections.tracker_site(session, c.id)
        consumer = connections.consumer(session, c.id)
    lag = f"{t.lag_seconds:.1f} s" if t.lag_seconds is not None else "-"
    last = f"{t.last_event_at:%Y-%m-%d %H:%M:%S} UTC" if t.last_event_at else "none yet"
    lines = [f"connection {c.id}: {escape(c.name)} ({c.platform}, {c.status})"]
    if c.platform in BROKER_PLATFORMS:
        lines.append(f"broker: {escape(c.broker_url or '')} (password not shown)")
        if c.broker_queue:
            lines.append(f"queue: {escape(c.broker_queue)}")
    elif site is not None:
        lines.append(f"site key: {site.site_key}")
        lines.append(f"allowed origins: {escape(', '.join(site.origins.split()))}")
    else:
        lines.append(f"url token: {c.prefix}...")
    if consumer is not None:
        behind = "unknown" if consumer.lag is None else str(consumer.lag)
        unit = "rows" if c.platform == "rasa-sql" else "messages"
        lines += [
            f"consumer: {escape(consumer.state)} (at {consumer.checked_at:%Y-%m-%d %H:%M:%S} UTC)",
            f"rasa events consumed: {consumer.consumed}"
            + (f", position: events.id {consumer.position}" if c.platform == "rasa-sql" else ""),
            f"broker lag: {behind} {unit} waiting",
        ]
    lines += [
        f"events today: {t.events_today}",
        f"events in total: {t.events_total} from {t.deliveries} deliveries",
        f"last event: {last}",
        f"lag: {lag}",
        f"quarantined deliveries: {t.quarantined}",
    ]
    if c.api_url:
        lines.append(f"api sync: {escape(c.api_url)} (token kept, never shown)")
        lines.append(f"last sync: {_synced(synced)}")
    for p in t.problems:
        kept = "quarantined" if p.body is not None else "failed" if p.status == 503 else "refused"
        lines.append(
            f"  {p.at:%Y-%m-%d %H:%M:%S} {kept} {p.status} "
            f"delivery {escape(p.delivery_id or '-')}: {escape(p.reason)}"
        )
    out.print("\n".join(lines), highlight=False)


@connections_app.command("revoke")
def revoke(
    workspace: WorkspaceArg,
    connection: Annotated[str, typer.Argument(help="Its id or name.")],
    db: DbOption = None,
    app_db: AppDbOption = None,
) -> None:
    """Revoke a connection: its next delivery is refused (403)."""
    with app_state(db, app_db) as (session, _):
        c = connections.revoke_connection(session, workspace, connection)
    out.print(f"connection {c.id} revoked")


def _synced(state: ConnectionSync | None) -> str:
    """Where the connection's API sync stands (the cursor, the last failure)."""
    if state is None or state.started_at is None:
        return "never"
    parts = [f"started {state.started_at:%Y-%m-%d %H:%M:%S} UTC"]
    if state.page is not None:
        parts.append("interrupted: the next sync continues where it stopped")
    elif state.finished_at is not None:
        parts.append(f"finished {state.finished_at:%Y-%m-%d %H:%M:%S} UTC")
    if state.high_water is not None:
        mark = dt.datetime.fromtimestamp(state.high_water, dt.UTC)
        parts.append(f"conversations updated up to {mark:%Y-%m-%d %H:%M:%S} UTC pulled")
    parts.append(f"{state.conversations} conversations, {state.events} events in all")
    if state.last_error:
        parts.append(f"last error: {escape(state.last_error)}")
    return "; ".join(parts)
