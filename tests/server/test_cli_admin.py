"""The app-state commands: workspaces, users, keys."""

from __future__ import annotations

from typer.testing import CliRunner

from chatlens.app import service
from chatlens.app.credentials import verify_password
from chatlens.app.db import app_db_url, open_app_db
from chatlens.cli import app

runner = CliRunner()


def cli(*args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin)


def test_workspace_user_and_key_from_the_command_line(tmp_path):
    db = str(tmp_path / "chatlens.duckdb")
    made = cli("workspaces", "create", "acme", "--agent-access", "team", "--db", db)
    assert made.exit_code == 0, made.output
    assert "chatlens.acme.duckdb" in made.output
    again = cli("workspaces", "create", "acme", "--db", db)
    assert again.exit_code == 2
    assert "workspace 'acme' already exists" in again.output
    bad = cli("workspaces", "create", "Acme Inc", "--db", db)
    assert "use 1-40 lower-case letters" in bad.output
    short = cli(
        "users",
        "create",
        "a@acme.example",
        "-w",
        "acme",
        "--role",
        "manager",
        "--password-stdin",
        "--db",
        db,
        stdin="short\n",
    )
    assert short.exit_code == 2
    assert "at least 10 characters" in short.output
    agent = cli(
        "users",
        "create",
        "Ann@Acme.example",
        "-w",
        "acme",
        "--role",
        "agent",
        "--password-stdin",
        "--db",
        db,
        stdin="a long password\n",
    )
    assert "an agent seat needs --agent-id" in agent.output
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
        stdin="a long password\n",
    )
    assert seat.exit_code == 0, seat.output
    assert "ann@acme.example: agent in acme" in seat.output
    key = cli("keys", "create", "-w", "acme", "--scope", "ingest", "--db", db)
    assert key.exit_code == 0
    printed = key.output.strip()
    assert printed.startswith("clk_")
    revoked = cli("keys", "revoke", "1", "--db", db)
    assert revoked.exit_code == 0
    assert cli("keys", "revoke", "9", "--db", db).exit_code == 2

    factory = open_app_db(app_db_url(tmp_path / "chatlens.duckdb"))
    with factory() as session:
        ws = service.get_workspace(session, "acme")
        assert ws.agent_access == "team"
        user = service.authenticate(session, "ann@acme.example", "a long password")
        assert user is not None
        assert verify_password(user.password_hash, "a long password")
        assert (user.seats[0].agent_id, user.seats[0].team) == ("ann", "sales")
        assert service.find_key(session, printed) is None  # revoked
    factory.kw["bind"].dispose()


def test_demo_loads_once_and_gives_a_sign_in(tmp_path):
    from chatlens.cli import DEMO_LOGIN
    from chatlens.store import open_store

    db = str(tmp_path / "demo.duckdb")
    first = cli("demo", "--conversations", "300", "--days", "5", "--db", db)
    assert first.exit_code == 0, first.output
    assert f"sign in as {DEMO_LOGIN[0]} with password {DEMO_LOGIN[1]}" in first.output
    with open_store(db) as store:
        events = store.max_seq()
    assert events > 300
    again = cli("demo", "--conversations", "300", "--days", "5", "--db", db)
    assert again.exit_code == 0, again.output
    with open_store(db) as store:
        assert store.max_seq() == events  # the second run loads nothing
    factory = open_app_db(app_db_url(tmp_path / "demo.duckdb"))
    with factory() as session:
        user = service.authenticate(session, *DEMO_LOGIN)
        assert user is not None
        assert user.seats[0].role == "admin"
    factory.kw["bind"].dispose()
