"""`chatlens connections create` with API credentials and `chatlens sync`'s own checks:
the token is kept but never shown; what is missing or malformed is named."""

from __future__ import annotations

import subprocess
import sys

import pytest

from chatlens.app.models import Connection, ConnectionSync
from tests.connect import synckit

runner = synckit.runner
TOKEN = "cw-api-token-secret-0001"


def cli(store, *args: str, env: dict[str, str] | None = None):
    return runner.invoke(synckit.app, [*args, "--db", str(store)], env=env)


def test_a_connection_with_api_credentials_never_shows_its_token(tmp_path):
    store = tmp_path / "chatlens.duckdb"
    made = cli(
        store,
        "connections", "create", "-w", "default", "--platform", "chatwoot", "--name", "desk",
        "--api-url", "https://chat.example.com/", "--account-id", "3", "--sync-every", "15m",
        env={"CHATLENS_API_TOKEN": TOKEN},
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert TOKEN not in made.output
    shown = cli(store, "connections", "show", "-w", "default", "desk")
    assert "api sync: https://chat.example.com (token kept, never shown)" in shown.output
    assert "last sync: never" in shown.output
    assert TOKEN not in shown.output
    with synckit.sessions(store)() as db:
        conn = db.query(Connection).one()
        assert (conn.api_url, conn.api_token, conn.api_account, conn.sync_every) == (
            "https://chat.example.com",
            TOKEN,
            "3",
            900,
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--platform", "chatwoot", "--api-url", "https://x.example"],
         "a chatwoot API sync needs --account-id"),
        (["--platform", "intercom", "--api-url", "ftp://x"],
         "--api-url 'ftp://x': expected the platform's address"),
        (["--platform", "intercom", "--api-url", "https://api.intercom.io", "--sync-every", "30s"],
         "sync at most once a minute"),
        (["--platform", "intercom", "--api-url", "https://api.intercom.io", "--sync-every", "soon"],
         "sync interval 'soon': expected a duration such as 15m"),
        (["--platform", "intercom"], "API sync needs both --api-url and --api-token"),
    ],
)  # fmt: skip
def test_bad_api_settings_are_named(tmp_path, args, message):
    store = tmp_path / "chatlens.duckdb"
    result = cli(
        store, "connections", "create", "-w", "default", "--name", "desk", *args,
        env={"CHATLENS_API_TOKEN": TOKEN},
    )  # fmt: skip
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_sync_of_a_connection_without_api_credentials_says_how(tmp_path):
    store = tmp_path / "chatlens.duckdb"
    made = cli(
        store, "connections", "create", "-w", "default", "--platform", "intercom",
        "--name", "hooks", "--secret", "ic-client-secret-0001",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    result = cli(store, "sync", "hooks", "-w", "default")
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "connection 'hooks' of workspace 'default' (intercom) has no API credentials" in text
    bad = cli(store, "sync", "hooks", "-w", "default", "--since", "last week")
    assert "--since 'last week': expected a date, YYYY-MM-DD" in " ".join(bad.output.split())
    missing = cli(store, "sync", "nope", "-w", "default")
    assert "workspace 'default' has no connection 'nope'" in " ".join(missing.output.split())


def test_sync_refuses_a_store_another_process_holds_before_pulling(tmp_path):
    """A running server holds its stores (DuckDB allows one writing process): the sync says
    so before it asks the platform for anything."""
    store = tmp_path / "chatlens.duckdb"
    synckit.connect(store, "intercom", "http://127.0.0.1:9")  # nothing listens there
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb,sys; c=duckdb.connect({str(store)!r}); "
         "print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        result = cli(store, "sync", "desk", "-w", "default")
    finally:
        holder.communicate("")
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "cannot open the store" in text and "a running server holds its stores" in text
    with synckit.sessions(store)() as db:
        assert db.query(ConnectionSync).count() == 0  # nothing was pulled or started
