"""The app state on PostgreSQL (`--app-db postgresql+psycopg://...`), as DESIGN.md promises:
a real Postgres server started for these tests (Debian's `postgresql` package; `.ci/run`
installs it), the migrations run on it, the command-line admin and the server's sign-in,
sessions, API keys, seats and shared dashboards working against it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, inspect, text
from typer.testing import CliRunner

from chatlens.app import audit, service
from chatlens.app.audit import AuditTrail, AuditWriter
from chatlens.app.db import open_app_db
from chatlens.cli import app
from tests.brokers import create_database, postgres
from tests.builders import DAY, chat
from tests.serverkit import LiveServer, provision

pytestmark = pytest.mark.postgres
runner = CliRunner()


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    """A throwaway Postgres cluster (tests/brokers.py); the URL of a server without a
    database (tests create their own)."""
    with postgres() as url:
        yield url


new_database = create_database


def cli(*args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin)


def test_the_migrations_and_the_admin_commands_on_postgres(server_url, tmp_path):
    url = new_database(server_url, "admin")
    db = str(tmp_path / "chatlens.duckdb")
    made = cli(
        "workspaces", "create", "acme", "--agent-access", "team", "--db", db, "--app-db", url
    )
    assert made.exit_code == 0, made.output
    again = cli("workspaces", "create", "acme", "--db", db, "--app-db", url)
    assert again.exit_code == 2 and "workspace 'acme' already exists" in again.output
    seat = cli(
        "users",
        "create",
        "Ann@Acme.example",
        "-w",
        "acme",
        "--role",
        "agent",
        "--agent-id",
        "ann",
        "--team",
        "sales",
        "--password-stdin",
        "--db",
        db,
        "--app-db",
        url,
        stdin="a long password\n",
    )
    assert seat.exit_code == 0, seat.output
    key = cli("keys", "create", "-w", "acme", "--scope", "ingest", "--db", db, "--app-db", url)
    assert key.exit_code == 0, key.output
    printed = key.output.strip()
    assert cli("keys", "revoke", "1", "--db", db, "--app-db", url).exit_code == 0

    engine = create_engine(url)
    assert engine.dialect.name == "postgresql"
    tables = set(inspect(engine).get_table_names())
    assert {
        "workspaces",
        "users",
        "seats",
        "api_keys",
        "dashboards",
        "invitations",
        "connections",
        "connection_conversations",
        "connection_problems",
        "connection_syncs",
        "tracker_sites",
        "audit_records",
        "connection_consumers",
    } <= tables
    with engine.connect() as connection:  # every migration applied, the last one included
        head = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert head == "0009"
    factory = open_app_db(url)
    with factory() as session:
        assert service.get_workspace(session, "acme").agent_access == "team"
        user = service.authenticate(session, "ann@acme.example", "a long password")
        assert user is not None and (user.seats[0].agent_id, user.seats[0].team) == (
            "ann",
            "sales",
        )
        assert service.find_key(session, printed) is None  # revoked
    # the audit trail on Postgres: one record each way (alone, and group-committed)
    writer = AuditWriter(factory)
    AuditTrail(factory, "acme", "cli:pg", "r").record("transcript_view", conversation_id="c1")
    grouped = AuditTrail(factory, "acme", "key:1", "r", writer)
    grouped.record("conversation_export", filters={"format": "csv"}, rows=3)
    writer.close()
    with factory() as session:
        total, rows = audit.search(session, "acme", audit.Search())
    assert total == 2
    assert [(r["seat"], r["conversation_id"], r["rows"]) for r in rows] == [
        ("key:1", None, 3),
        ("cli:pg", "c1", None),
    ]
    factory.kw["bind"].dispose()
    engine.dispose()


@pytest.fixture(scope="module")
def live(server_url, tmp_path_factory):
    """The real server with its app state on Postgres (CHATLENS_APP_DB, read by both the
    provisioning below and the server process)."""
    url = new_database(server_url, "live")
    before = os.environ.get("CHATLENS_APP_DB")
    os.environ["CHATLENS_APP_DB"] = url
    try:
        store = tmp_path_factory.mktemp("postgres") / "chatlens.duckdb"
        seats = provision(
            store,
            {
                "acme": {
                    "users": {
                        "root": ("admin", None, None),
                        "boss": ("manager", None, "sales"),
                        "ann": ("agent", "ann", "sales"),
                        "bob": ("agent", "bob", "support"),
                    },
                    "keys": {"in": "ingest", "read": "read"},
                },
            },
        )
        server = LiveServer(store).start()
        try:
            yield server, seats
        finally:
            server.stop()
    finally:
        if before is None:
            os.environ.pop("CHATLENS_APP_DB", None)
        else:
            os.environ["CHATLENS_APP_DB"] = before


def test_sign_in_keys_and_shared_dashboards_with_the_app_state_on_postgres(live):
    server, seats = live
    wrong = server.client().post(
        "/api/v1/auth/login", json={"email": seats.emails["ann"], "password": "not it at all"}
    )
    assert wrong.status_code == 401
    people = {label: server.login(email) for label, email in seats.emails.items()}
    assert people["ann"].get("/api/v1/me").json()["agent_id"] == "ann"

    # an ingest key resolved from Postgres, then a read through a session
    events = chat("p1", DAY, agent="ann", close_after=300)
    sent = server.client(seats.keys["in"]).post("/api/v1/events", json=events)
    assert sent.status_code == 200, sent.text
    assert sent.json()["accepted"] == len(events)

    # a key made by the admin works at once and is refused once revoked (nothing cached)
    made = people["root"].post("/api/v1/keys", json={"scope": "ingest", "name": "widget"})
    assert made.status_code == 201, made.text
    fresh = server.client(made.json()["key"])
    assert fresh.post("/api/v1/events", json=chat("p2", DAY, bot=True)).status_code == 200
    assert people["root"].delete(f"/api/v1/keys/{made.json()['id']}").status_code == 200
    assert fresh.post("/api/v1/events", json=chat("p3", DAY, bot=True)).status_code == 401

    # a dashboard shared with the sales team (the last migration's column)
    widgets = [{"metric": "conversations", "chart": "tile"}]
    board = people["boss"].post(
        "/api/v1/dashboards", json={"name": "Sales", "widgets": widgets, "team": "sales"}
    )
    assert board.status_code == 201, board.text
    seen = {d["name"] for d in people["ann"].get("/api/v1/dashboards").json()["dashboards"]}
    assert "Sales" in seen
    hidden = {d["name"] for d in people["bob"].get("/api/v1/dashboards").json()["dashboards"]}
    assert "Sales" not in hidden

    # signing out ends the session kept in Postgres
    assert people["bob"].post("/api/v1/auth/logout").status_code == 200
    assert people["bob"].get("/api/v1/me").status_code == 401
