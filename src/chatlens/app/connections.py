"""Connections: platforms that send their webhooks to chatlens (shared by the CLI, the
Connections page and the receivers). One place for each rule: names, secrets, revocation,
and what the page shows of a connection's traffic."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from chatlens.app import credentials
from chatlens.app.models import (
    BROKER_PLATFORMS,
    PLATFORMS,
    Connection,
    ConnectionBatch,
    ConnectionConsumer,
    ConnectionDelivery,
    ConnectionProblem,
    now,
)
from chatlens.app.service import get_workspace
from chatlens.errors import InputError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$")
URL_PREFIX = "/api/v1/connect/"
LAST_PROBLEMS = 10

SECRETS = {
    "chatwoot": ("signing", False),
    "intercom": ("signing", True),
    "livechat": ("payload", True),
}
"""Per platform: which secret it proves itself with and whether it is required. Chatwoot
signs only from the versions whose webhooks have a secret; the URL token is then the only
credential."""

SECRET_NAMES = {
    "chatwoot": "the webhook's secret (Settings > Integrations > Webhooks, Chatwoot 4.x)",
    "intercom": "the app's client secret (Developer Hub > your app > Basic information)",
    "livechat": "the webhook secret key you chose when registering the webhooks",
    "rasa-sql": "no secret: the Broker URL postgresql://USER:PASSWORD@HOST:PORT/DB of the "
    "SQL event broker's database (its password is kept apart, never shown)",
    "rasa-pika": "no secret: the Broker URL amqp://USER:PASSWORD@HOST:PORT/VHOST of the "
    "RabbitMQ, and the Queue (default rasa_core_events)",
}


BROKER_SCHEMES = {
    "rasa-sql": ("postgresql", "postgres"),
    "rasa-pika": ("amqp", "amqps"),
}
DEFAULT_QUEUE = "rasa_core_events"
"""The queue Rasa's PikaEventBroker publishes to when endpoints.yml names none."""
_QUEUE = re.compile(r"^[A-Za-z0-9_.:-]{1,255}$")


def split_broker_url(platform: str, url: str) -> tuple[str, str | None]:
    """A broker URL without its password, and the password (None when it has none)."""
    schemes = BROKER_SCHEMES[platform]
    parts = urlsplit(url.strip())
    if parts.scheme not in schemes or (platform == "rasa-pika" and not parts.hostname):
        raise InputError(
            f"a {platform} connection needs --url {schemes[0]}://USER:PASSWORD@HOST:PORT/..."
        )
    try:
        parts.port  # noqa: B018 (raises on a port that is no number)
    except ValueError:
        raise InputError("--url: the port is not a number") from None
    password = unquote(parts.password) if parts.password is not None else None
    netloc = parts.netloc.rpartition("@")[2]
    if parts.username is not None:
        netloc = f"{quote(unquote(parts.username), safe='')}@{netloc}"
    return urlunsplit(parts._replace(netloc=netloc)), password


def broker_dsn(record: Connection) -> str:
    """The broker URL to connect with: the stored one with its password put back."""
    parts = urlsplit(record.broker_url or "")
    if not record.signing_secret:
        return record.broker_url or ""
    user, _, host = parts.netloc.rpartition("@")
    netloc = f"{user}:{quote(record.signing_secret, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass
class NewConnection:
    token: str
    """The URL token: shown once, only its hash is stored."""
    record: Connection

    @property
    def path(self) -> str:
        return URL_PREFIX + self.token


def create_connection(
    db: DbSession,
    workspace: str,
    platform: str,
    name: str,
    secret: str | None = None,
    url: str | None = None,
    queue: str | None = None,
) -> NewConnection:
    """A new active connection of `workspace`; `secret` is the platform's (SECRETS); a Rasa
    broker's takes the broker's `url` (its password is kept apart, never shown) and, for
    rasa-pika, the `queue`."""
    if platform not in PLATFORMS:
        raise InputError(f"unknown platform {platform!r}; expected one of: {', '.join(PLATFORMS)}")
    name = name.strip()
    if not _NAME.match(name):
        raise InputError(
            f"connection name {name!r}: use 1-100 letters, digits, spaces, '.', '_' or '-'"
        )
    ws = get_workspace(db, workspace)
    taken = db.scalar(
        select(Connection).where(Connection.workspace_id == ws.id, Connection.name == name)
    )
    if taken is not None:
        raise InputError(f"workspace {workspace!r} has a connection named {name!r} already")
    if platform in BROKER_PLATFORMS:
        return _create_broker(db, ws.id, platform, name, url, queue)
    kind, required = SECRETS[platform]
    secret = (secret or "").strip() or None
    if secret is None and required:
        raise InputError(f"a {platform} connection needs --secret: {SECRET_NAMES[platform]}")
    if secret is not None and not 8 <= len(secret) <= 256:
        raise InputError("the secret must have 8 to 256 characters")
    token = credentials.new_token()
    record = Connection(
        workspace_id=ws.id,
        platform=platform,
        name=name,
        token_hash=credentials.token_hash(token),
        prefix=token[:8],
        signing_secret=secret if kind == "signing" else None,
        payload_secret_hash=credentials.token_hash(secret)
        if kind == "payload" and secret
        else None,
    )
    db.add(record)
    db.commit()
    return NewConnection(token, record)


def _create_broker(
    db: DbSession, workspace_id: int, platform: str, name: str, url: str | None, queue: str | None
) -> NewConnection:
    if not url:
        schemes = BROKER_SCHEMES[platform]
        raise InputError(f"a {platform} connection needs --url {schemes[0]}://...")
    shown, password = split_broker_url(platform, url)
    if platform == "rasa-pika":
        queue = (queue or "").strip() or DEFAULT_QUEUE
        if not _QUEUE.match(queue):
            raise InputError(f"queue {queue!r}: use letters, digits, '_', '.', ':' or '-'")
    elif queue:
        raise InputError("--queue is for rasa-pika connections (the SQL broker has its table)")
    token = credentials.new_token()  # unused for brokers: no webhook reaches them
    record = Connection(
        workspace_id=workspace_id,
        platform=platform,
        name=name,
        token_hash=credentials.token_hash(token),
        prefix=token[:8],
        signing_secret=password,
        broker_url=shown,
        broker_queue=queue,
    )
    db.add(record)
    db.flush()
    db.add(ConnectionConsumer(connection_id=record.id))
    db.commit()
    return NewConnection(token, record)


def consumer(db: DbSession, connection_id: int) -> ConnectionConsumer | None:
    """Where a broker connection's consumer stands (None for a webhook connection)."""
    return db.get(ConnectionConsumer, connection_id)


def list_connections(db: DbSession, workspace: str) -> list[Connection]:
    ws = get_workspace(db, workspace)
    found = select(Connection).where(Connection.workspace_id == ws.id).order_by(Connection.id)
    return list(db.scalars(found))


def get_connection(db: DbSession, workspace: str, ref: str) -> Connection:
    """A connection of `workspace` by id or by name."""
    for record in list_connections(db, workspace):
        if str(record.id) == ref.strip() or record.name == ref.strip():
            return record
    raise InputError(f"workspace {workspace!r} has no connection {ref!r} (see connections list)")


def revoke_connection(db: DbSession, workspace: str, ref: str) -> Connection:
    """Stops the connection at once: its next delivery is refused."""
    record = get_connection(db, workspace, ref)
    if record.status != "revoked":
        record.status, record.revoked_at = "revoked", now()
        db.commit()
    return record


def find_connection(db: DbSession, token: str) -> Connection | None:
    """The connection a URL token names (revoked ones too: the caller tells them apart)."""
    hashed = credentials.token_hash(token)
    record = db.scalar(select(Connection).where(Connection.token_hash == hashed))
    if record is None or not credentials.same(record.token_hash, hashed):
        return None
    return record


# -- traffic ---------------------------------------------------------------------------------


@dataclass
class Traffic:
    """What the Connections page and `connections show` tell of one connection."""

    events_today: int = 0
    events_total: int = 0
    deliveries: int = 0
    last_received_at: dt.datetime | None = None
    last_event_at: dt.datetime | None = None
    lag_seconds: float | None = None
    """How long after the latest event of the last conversation stored its events were."""
    problems: list[ConnectionProblem] = field(default_factory=list)
    """The last refusals and quarantined deliveries, newest first."""
    quarantined: int = 0
    quarantine: list[ConnectionProblem] = field(default_factory=list)


def traffic(db: DbSession, connection_id: int) -> Traffic:
    mine = ConnectionBatch.connection_id == connection_id
    midnight = now().replace(hour=0, minute=0, second=0, microsecond=0)
    total = db.scalar(select(func.coalesce(func.sum(ConnectionBatch.events), 0)).where(mine))
    today = db.scalar(
        select(func.coalesce(func.sum(ConnectionBatch.events), 0)).where(
            mine, ConnectionBatch.at >= midnight
        )
    )
    deliveries = db.scalar(
        select(func.count()).where(ConnectionDelivery.connection_id == connection_id)
    )
    last_delivery = db.scalar(
        select(func.max(ConnectionDelivery.received_at)).where(
            ConnectionDelivery.connection_id == connection_id
        )
    )
    last = db.scalar(
        select(ConnectionBatch)
        .where(mine, ConnectionBatch.event_at.is_not(None))
        .order_by(ConnectionBatch.id.desc())
        .limit(1)
    )
    problems = select(ConnectionProblem).where(ConnectionProblem.connection_id == connection_id)
    held = problems.where(ConnectionProblem.body.is_not(None))
    newest = ConnectionProblem.id.desc()
    out = Traffic(
        events_today=int(today or 0),
        events_total=int(total or 0),
        deliveries=int(deliveries or 0),
        last_received_at=last_delivery,
        problems=list(db.scalars(problems.order_by(newest).limit(LAST_PROBLEMS))),
        quarantined=int(db.scalar(select(func.count()).select_from(held.subquery())) or 0),
        quarantine=list(db.scalars(held.order_by(newest).limit(LAST_PROBLEMS))),
    )
    if last is not None and last.event_at is not None:
        out.last_event_at = last.event_at
        out.lag_seconds = max(0.0, (last.at - last.event_at).total_seconds())
    return out
