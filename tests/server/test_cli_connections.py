"""`chatlens connections create|list|show|revoke` against the app state."""

from __future__ import annotations

from typer.testing import CliRunner

from chatlens.app import connections
from chatlens.app.credentials import token_hash
from chatlens.app.db import app_db_url, open_app_db
from chatlens.app.models import ConnectionProblem
from chatlens.cli import app

runner = CliRunner()


def cli(*args: str):
    return runner.invoke(app, list(args))


def test_connections_from_the_command_line(tmp_path):
    db = str(tmp_path / "chatlens.duckdb")
    assert cli("workspaces", "create", "acme", "--db", db).exit_code == 0
    missing = cli(
        "connections",
        "create",
        "-w",
        "acme",
        "--platform",
        "intercom",
        "--name",
        "messenger",
        "--db",
        db,
    )
    assert missing.exit_code == 2
    assert "a intercom connection needs --secret" in missing.output
    unknown = cli(
        "connections", "create", "-w", "acme", "--platform", "zendesk", "--name", "x", "--db", db
    )
    assert (
        "unknown platform 'zendesk'; expected one of: "
        "chatwoot, intercom, livechat, tracker, rasa-sql, rasa-pika" in (unknown.output)
    )
    made = cli(
        "connections",
        "create",
        "-w",
        "acme",
        "--platform",
        "intercom",
        "--name",
        "messenger",
        "--secret",
        "client-secret-1",
        "--base-url",
        "https://cl.example.com/",
        "--db",
        db,
    )
    assert made.exit_code == 0, made.output
    url = made.output.strip()
    prefix = "https://cl.example.com/api/v1/connect/"
    assert url.startswith(prefix) and len(url) == len(prefix) + 43  # 256 bits, urlsafe
    token = url.removeprefix(prefix)
    factory = open_app_db(app_db_url(tmp_path / "chatlens.duckdb"))
    with factory() as session:
        record = connections.get_connection(session, "acme", "messenger")
        assert record.token_hash == token_hash(token)  # only the hash is kept
        assert token not in str(vars(record))
        session.add(
            ConnectionProblem(
                connection_id=record.id,
                delivery_id="notif_9",
                status=200,
                reason="field 'x': missing",
                body="{}",
            )
        )
        session.commit()
    factory.kw["bind"].dispose()
    again = cli(
        "connections",
        "create",
        "-w",
        "acme",
        "--platform",
        "intercom",
        "--name",
        "messenger",
        "--secret",
        "client-secret-1",
        "--db",
        db,
    )
    assert "workspace 'acme' has a connection named 'messenger' already" in again.output
    listed = cli("connections", "list", "-w", "acme", "--db", db)
    assert "messenger" in listed.output and "intercom" in listed.output
    shown = cli("connections", "show", "-w", "acme", "messenger", "--db", db)
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0] == "connection 1: messenger (intercom, active)"
    assert lines[2:7] == [
        "events today: 0",
        "events in total: 0 from 0 deliveries",
        "last event: none yet",
        "lag: -",
        "quarantined deliveries: 1",
    ]
    assert "quarantined 200 delivery notif_9: field 'x': missing" in lines[7]
    assert "client-secret-1" not in shown.output + listed.output
    revoked = cli("connections", "revoke", "-w", "acme", "1", "--db", db)
    assert revoked.output.strip() == "connection 1 revoked"
    assert "revoked" in cli("connections", "show", "-w", "acme", "1", "--db", db).output
    other = cli("connections", "show", "-w", "default", "messenger", "--db", db)
    assert other.exit_code == 2
    assert "workspace 'default' has no connection 'messenger'" in other.output
