"""Connections: platforms that send their webhooks to chatlens (shared by the CLI, the
Connections page and the receivers). One place for each rule: names, secrets, revocation,
and what the page shows of a connection's traffic."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from sqlalchemy import Engine, bindparam, func, select
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
    TrackerSite,
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
    "tracker": ("none", False),
}
"""Per platform: which secret it proves itself with and whether it is required. Chatwoot
signs only from the versions whose webhooks have a secret; the URL token is then the only
credential."""

SECRET_NAMES = {
    "chatwoot": "the webhook's secret (Settings > Integrations > Webhooks, Chatwoot 4.x)",
    "intercom": "the app's client secret (Developer Hub > your app > Basic information)",
    "livechat": "the webhook secret key you chose when registering the webhooks",
    "tracker": "none: give the site's origins instead (its key is public)",
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
    site: TrackerSite | None = None
    """A tracker's site key and origins (the tracker has no URL to paste: a snippet)."""

    @property
    def path(self) -> str:
        return URL_PREFIX + self.token


@dataclass
class Api:
    """A connection's REST API credentials, for API sync (connect/sync/)."""

    url: str
    token: str
    account: str | None = None
    every: int | None = None
    """Seconds between the server's syncs (None: when `serve --sync-every` says)."""


API_ACCOUNT = {
    "chatwoot": "the account id in Chatwoot's URLs (/app/accounts/N/...)",
    "livechat": "the account id shown beside the personal access token",
}
"""Platforms whose API needs an account id besides the token."""


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def every(text: str) -> int:
    """A sync interval as seconds: `900`, `900s`, `15m`, `1h`, `1d`."""
    value = text.strip().lower()
    unit = value[-1:] if value[-1:] in _UNITS else "s"
    number = value[:-1] if value[-1:] in _UNITS else value
    if not number.isdigit() or int(number) == 0:
        raise InputError(f"sync interval {text!r}: expected a duration such as 15m, 1h or 900s")
    return int(number) * _UNITS[unit]


def check_api(platform: str, api: Api) -> Api:
    """The credentials cleaned, or an InputError saying what to fix."""
    url = api.url.strip().rstrip("/")
    if not re.match(r"^https?://[^\s/]+", url):
        raise InputError(f"--api-url {url!r}: expected the platform's address, https://...")
    token = api.token.strip()
    if not 8 <= len(token) <= 512:
        raise InputError("the API token must have 8 to 512 characters")
    account = (api.account or "").strip() or None
    if platform in API_ACCOUNT and account is None:
        raise InputError(f"a {platform} API sync needs --account-id: {API_ACCOUNT[platform]}")
    if account is not None and not re.match(r"^[A-Za-z0-9_-]{1,64}$", account):
        raise InputError(f"--account-id {account!r}: expected letters, digits, '-' or '_'")
    if api.every is not None and api.every < 60:
        raise InputError("sync at most once a minute (--sync-every 1m or more)")
    return Api(url, token, account, api.every)


MAX_ORIGINS = 20


def normalize_origin(text: str) -> str:
    """`https://Shop.Example.com/` -> `https://shop.example.com`: what a browser sends as
    `Origin` (scheme, host, a port only when it is not the scheme's default)."""
    raw = text.strip()
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"origin {raw!r}: write it as https://shop.example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise InputError(f"origin {raw!r}: only the scheme and host (and port), no path")
    try:
        port = parts.port
    except ValueError:
        raise InputError(f"origin {raw!r}: the port is not a number") from None
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def snippet(base_url: str, site_key: str) -> str:
    """The tag a site pastes into its pages (docs/connections.md, Website tracker)."""
    return f'<script async src="{base_url.rstrip("/")}/t.js" data-key="{site_key}"></script>'


def _site(db: DbSession, record: Connection, origins: list[str]) -> TrackerSite:
    allowed = list(dict.fromkeys(normalize_origin(o) for o in origins if o.strip()))
    if not allowed:
        raise InputError(
            "a tracker connection needs its site's origins (--origin), e.g. "
            "https://shop.example.com"
        )
    if len(allowed) > MAX_ORIGINS:
        raise InputError(f"at most {MAX_ORIGINS} origins per tracker connection")
    site = TrackerSite(
        connection=record, site_key=secrets.token_urlsafe(16), origins="\n".join(allowed)
    )
    db.add(site)
    return site


def tracker_site(db: DbSession, connection_id: int) -> TrackerSite | None:
    return db.get(TrackerSite, connection_id)


def find_site(db: DbSession, site_key: str) -> TrackerSite | None:
    """The tracker site a public key names (revoked ones too: the caller tells them apart)."""
    return db.scalar(select(TrackerSite).where(TrackerSite.site_key == site_key))


def create_connection(
    db: DbSession,
    workspace: str,
    platform: str,
    name: str,
    secret: str | None = None,
    api: Api | None = None,
    origins: list[str] | None = None,
    url: str | None = None,
    queue: str | None = None,
) -> NewConnection:
    """A new active connection of `workspace`; `secret` is the platform's (SECRETS), `api`
    its REST API credentials for API sync (a connection with them needs no webhook secret:
    it may be used for sync only), a tracker's `origins` the sites allowed to send with its
    key; a Rasa broker's takes the broker's `url` (its password is kept apart, never shown)
    and, for rasa-pika, the `queue`."""
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
    api = check_api(platform, api) if api is not None else None
    if secret is None and required and api is None:
        raise InputError(f"a {platform} connection needs --secret: {SECRET_NAMES[platform]}")
    if secret is not None and kind == "none":
        raise InputError(f"a {platform} connection has no secret: {SECRET_NAMES[platform]}")
    if secret is not None and not 8 <= len(secret) <= 256:
        raise InputError("the secret must have 8 to 256 characters")
    if origins and platform != "tracker":
        raise InputError("--origin is for tracker connections only")
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
    if api is not None:
        record.api_url, record.api_token = api.url, api.token
        record.api_account, record.sync_every = api.account, api.every
    db.add(record)
    site = _site(db, record, origins or []) if platform == "tracker" else None
    db.commit()
    return NewConnection(token, record, site)


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


_BY_TOKEN = select(
    Connection.id,
    Connection.workspace_id,
    Connection.platform,
    Connection.status,
    Connection.token_hash,
    Connection.signing_secret,
    Connection.payload_secret_hash,
).where(Connection.token_hash == bindparam("token_hash"))


class ConnectionFinder:
    """The connection a webhook's URL token names (revoked ones too: the caller tells them
    apart), as a detached Connection holding what a delivery's check needs (not its
    workspace). Asked once per delivery, so on SQLite it keeps a connection of its own and
    runs the query without SQLAlchemy: through a session, with the workspace it joins, a
    lookup took ~1.9 ms of CPU, as a Core query ~0.1 ms (a fifth of a delivery), this
    ~5 µs. Every lookup reads the table, so a revocation counts at the next delivery."""

    def __init__(self, engine: Engine):
        self._engine = engine
        self._lock = threading.Lock()
        self._raw: Any = None
        if engine.dialect.name == "sqlite":
            self._raw = engine.raw_connection()
            self._sql = str(_BY_TOKEN.compile(dialect=engine.dialect))

    def find(self, token: str) -> Connection | None:
        hashed = credentials.token_hash(token)
        if self._raw is not None:
            with self._lock:
                cursor = self._raw.cursor()
                try:
                    found = cursor.execute(self._sql, (hashed,)).fetchone()
                finally:
                    cursor.close()
            record = (
                dict(zip(_BY_TOKEN.selected_columns.keys(), found, strict=True)) if found else None
            )
        else:
            with self._engine.connect() as db:
                row = db.execute(_BY_TOKEN, {"token_hash": hashed}).first()
            record = dict(row._mapping) if row is not None else None
        if record is None or not credentials.same(record["token_hash"], hashed):
            return None
        return Connection(**record)

    def close(self) -> None:
        if self._raw is not None:
            self._raw.close()


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
