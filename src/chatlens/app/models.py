"""App state: workspaces, users and their seats, API keys, sessions (SQLAlchemy 2).

Analytics data (events, facts, workspace settings and goals) lives in each workspace's
store; this is what the server needs to know who may see it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ROLES = ("admin", "manager", "agent")
"""admin: settings, users, keys; manager: every figure; agent: their own figures (and the
aggregates the workspace's `agent_access` allows)."""
SCOPES = ("ingest", "read")
AGENT_ACCESS = ("own", "team", "workspace")
"""What an agent seat may see beyond its own figures: nothing, its team's aggregates, or the
workspace's aggregates."""


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Meta(Base):
    """Key/value pairs the server needs across restarts (the cookie signing secret)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class Workspace(Base):
    __tablename__ = "workspaces"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    store: Mapped[str] = mapped_column(String(1024))
    """The workspace's DuckDB store, relative to the app-state file's folder."""
    agent_access: Mapped[str] = mapped_column(String(16), default="own")
    created_at: Mapped[dt.datetime] = mapped_column(default=now)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[dt.datetime] = mapped_column(default=now)
    seats: Mapped[list[Seat]] = relationship(back_populates="user", lazy="selectin")


class Seat(Base):
    """A user's role in one workspace; an agent seat names the `agent_id` its events carry."""

    __tablename__ = "seats"
    __table_args__ = (UniqueConstraint("user_id", "workspace_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[str | None] = mapped_column(String(256), default=None)
    team: Mapped[str | None] = mapped_column(String(256), default=None)
    user: Mapped[User] = relationship(back_populates="seats")
    workspace: Mapped[Workspace] = relationship(lazy="joined")


class ApiKey(Base):
    """Only a hash of the key is kept; `prefix` (shown in lists) identifies it to people."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(256), default=None)
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=now)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    workspace: Mapped[Workspace] = relationship(lazy="joined")


class Session(Base):
    """A login; the cookie carries the token, the table only its hash."""

    __tablename__ = "sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=now)
    expires_at: Mapped[dt.datetime] = mapped_column()
    user: Mapped[User] = relationship(lazy="joined")


class Dashboard(Base):
    """A user's own dashboard: widgets as JSON (metric, chart, dimension, filters, size);
    `shared` makes it visible to every seat of the workspace (admins share so), `team` to
    the seats of that team (`Seat.team`; a manager shares with their own team)."""

    __tablename__ = "dashboards"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    shared: Mapped[bool] = mapped_column(default=False)
    team: Mapped[str | None] = mapped_column(String(256), default=None)
    widgets: Mapped[str] = mapped_column(Text, default="[]")
    updated_at: Mapped[dt.datetime] = mapped_column(default=now, onupdate=now)
    owner: Mapped[User] = relationship(lazy="joined")


class Invitation(Base):
    """A seat offered by a workspace admin, taken only when its invitee accepts: with the
    password of their account, or by choosing one when the email has no account yet. The
    link carries the token; the table only its hash."""

    __tablename__ = "invitations"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[str | None] = mapped_column(String(256), default=None)
    team: Mapped[str | None] = mapped_column(String(256), default=None)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=now)
    expires_at: Mapped[dt.datetime] = mapped_column()
    accepted_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    workspace: Mapped[Workspace] = relationship(lazy="joined")


WEBHOOK_PLATFORMS = ("chatwoot", "intercom", "livechat")
"""The platforms whose webhooks a connection receives."""
BROKER_PLATFORMS = ("rasa-sql", "rasa-pika")
"""Rasa's event brokers: the server consumes them (server/runtime/consumers.py)."""
PLATFORMS = (*WEBHOOK_PLATFORMS, "tracker", *BROKER_PLATFORMS)
"""Every platform a connection can receive data from: webhooks, the website tracker
(`/t.js`, a `TrackerSite`) and Rasa's brokers."""
CONNECTION_STATUSES = ("active", "revoked")


class Connection(Base):
    """A platform pointed at chatlens: its webhooks arrive at `/api/v1/connect/<token>`.

    The URL token is kept only as a hash. `signing_secret` is what the platform signs its
    deliveries with (Intercom's client secret, Chatwoot's webhook secret): it must stay
    usable to check signatures, so it is kept as given (docs/connections.md says how the
    app state is protected). LiveChat's `secret_key` comes back inside each payload, so
    only its hash is kept (`payload_secret_hash`). A Rasa broker connection (rasa-sql,
    rasa-pika) is consumed by the server: `broker_url` is the broker's URL without its
    password, which is kept as given in `signing_secret` (needed to connect), never shown."""

    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    signing_secret: Mapped[str | None] = mapped_column(String(256), default=None)
    payload_secret_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(default=now)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    api_url: Mapped[str | None] = mapped_column(String(500), default=None)
    """The platform's REST API (API sync, connect/sync/): its base URL, the token it takes
    (kept as given like `signing_secret`: a request needs it; never shown or logged) and
    the account (Chatwoot's account id, LiveChat's account id for Basic auth)."""
    api_token: Mapped[str | None] = mapped_column(String(512), default=None)
    api_account: Mapped[str | None] = mapped_column(String(64), default=None)
    sync_every: Mapped[int | None] = mapped_column(default=None)
    """Seconds between the server's syncs of this connection (None: only `chatlens sync`
    and the server's `--sync-every`)."""
    broker_url: Mapped[str | None] = mapped_column(String(500), default=None)
    broker_queue: Mapped[str | None] = mapped_column(String(255), default=None)
    workspace: Mapped[Workspace] = relationship(lazy="joined")


class ConnectionConversation(Base):
    """What the deliveries of one conversation told so far, folded into the platform's own
    export shape. `settled` turns false with each delivery; once no delivery came for a
    moment, the whole conversation is converted and its events journaled (connect/settle.py),
    so the order in which deliveries arrived changes nothing."""

    __tablename__ = "connection_conversations"
    __table_args__ = (Index("ix_connection_conversations_unsettled", "settled", "updated_at"),)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    conversation: Mapped[str] = mapped_column(String(300), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=now)
    settled: Mapped[bool] = mapped_column(default=False)
    revision: Mapped[int] = mapped_column(default=0)
    """Counts the deliveries folded in: a settle stores its result only when no delivery
    came in meanwhile."""


class ConnectionDelivery(Base):
    """One delivery taken in (a replay keeps its first row)."""

    __tablename__ = "connection_deliveries"
    __table_args__ = (UniqueConstraint("connection_id", "delivery_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    delivery_id: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[dt.datetime] = mapped_column(default=now)


class ConnectionBatch(Base):
    """Events a settled conversation stored: the counts and the lag on the page."""

    __tablename__ = "connection_batches"
    __table_args__ = (Index("ix_connection_batches_at", "connection_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(default=now)
    events: Mapped[int] = mapped_column(default=0)
    event_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    """The latest time the conversation's events carry: `at - event_at` is the lag."""


class ConnectionProblem(Base):
    """A delivery refused or quarantined: the reason names the field, never the text. A
    quarantined one keeps its payload (`body`) to be looked at and replayed."""

    __tablename__ = "connection_problems"
    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(default=now)
    delivery_id: Mapped[str | None] = mapped_column(String(128), default=None)
    status: Mapped[int] = mapped_column()
    reason: Mapped[str] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text, default=None)


class ConnectionSync(Base):
    """Where a connection's API sync stands. `high_water` is the platform's update time
    (Unix seconds) every conversation up to which was pulled; a run pulls what changed after
    it, page by page, and keeps the next page's token in `page` and the newest update time
    seen in `run_high` after each page's events are stored, so an interrupted run continues
    where it stopped; at its end `high_water` takes `run_high` and `page` is cleared."""

    __tablename__ = "connection_syncs"
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    high_water: Mapped[float | None] = mapped_column(Float, default=None)
    run_high: Mapped[float | None] = mapped_column(Float, default=None)
    page: Mapped[str | None] = mapped_column(String(2000), default=None)
    conversations: Mapped[int] = mapped_column(default=0)
    events: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)


class TrackerSite(Base):
    """A `tracker` connection's site: its public key (in the page's snippet, so kept as
    is: it is an id, not a secret) and the origins allowed to send with it."""

    __tablename__ = "tracker_sites"
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    site_key: Mapped[str] = mapped_column(String(64), unique=True)
    origins: Mapped[str] = mapped_column(Text)
    """The allowed origins (`https://shop.example.com`), one per line."""
    connection: Mapped[Connection] = relationship(lazy="joined")


AUDIT_ACTIONS = ("transcript_view", "conversation_export", "events_export")
"""What the audit trail records (docs/privacy.md "Audit trail"): a transcript shown (page or
API), conversation rows exported (CSV, XLSX, Parquet from the page, the API or the CLI), every
event exported (CLI). Figures, lists and menus are never recorded."""


class AuditRecord(Base):
    """One read of conversation data: who (`seat`: `user:ID`, `key:ID` or `cli:LOGIN`), when,
    what (`action`), which conversation or, for an export, its period and filters as JSON
    (`filters`) and how many rows it held. Never any text of the conversations."""

    __tablename__ = "audit_records"
    __table_args__ = (
        Index("ix_audit_records_workspace_at", "workspace_id", "at"),
        Index("ix_audit_records_workspace_conversation", "workspace_id", "conversation_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(default=now)
    seat: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(32))
    route: Mapped[str] = mapped_column(String(300))
    conversation_id: Mapped[str | None] = mapped_column(Text, default=None)
    filters: Mapped[str | None] = mapped_column(Text, default=None)
    rows: Mapped[int | None] = mapped_column(default=None)


class ConnectionConsumer(Base):
    """Where the server's consumer of a Rasa broker connection stands. `position` (SQL
    broker: the last `events.id` taken) is advanced in the same app-state commit as the
    conversations its events were folded into, so a crash never loses or repeats one."""

    __tablename__ = "connection_consumers"
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    consumed: Mapped[int] = mapped_column(BigInteger, default=0)
    """Rasa events taken in so far: folded or quarantined, each once (replays not counted)."""
    state: Mapped[str] = mapped_column(String(100), default="starting")
    lag: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """SQL broker: rows not yet taken (max(id) - position); Pika: messages ready in the queue."""
    checked_at: Mapped[dt.datetime] = mapped_column(default=now)
