"""What the API sync tests share: a store with a connection pointed at a fake API
(tests/fakes/apis.py), `chatlens sync` run as the CLI, and the facts of the platform's
export file imported the ordinary way, to compare with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from chatlens.app import connections
from chatlens.app.db import app_db_url, open_app_db
from chatlens.cli.main import app
from chatlens.importers.chatwoot import ChatwootImporter
from chatlens.importers.intercom import IntercomImporter
from chatlens.importers.livechat import LiveChatImporter
from chatlens.ingest import import_file
from chatlens.store import open_store
from chatlens.store.facts import refresh_facts
from tests.conftest import facts
from tests.fakes import apis
from tests.serverkit import provision

EXPORTS = apis.EXPORTS
FILES = {
    "chatwoot": (EXPORTS / "chatwoot" / "history.jsonl", ChatwootImporter),
    "intercom": (EXPORTS / "intercom" / "conversations.json", IntercomImporter),
    "livechat": (EXPORTS / "livechat" / "list_archives.json", LiveChatImporter),
}
FAKES: dict[str, Any] = {
    "chatwoot": lambda: apis.ChatwootFake(per_page=1, messages_per_page=5),
    "intercom": apis.IntercomFake,
    "livechat": apis.LiveChatFake,
}
WEBHOOK_SECRETS = {
    "intercom": "ic-client-secret-0001",
    "livechat": "lc-webhook-secret-key-0001",
    "chatwoot": "cw-webhook-secret-0001",
}
runner = CliRunner()


def sessions(store: Path) -> Any:
    return open_app_db(app_db_url(store))


def connect(
    store: Path, platform: str, api_url: str, token: str = apis.Fake.token, name: str = "desk"
) -> str:
    """A connection of the default workspace with the fake's API credentials (and the
    webhook secret of tests/server/test_connect.py); its webhook URL path."""
    provision(store, {})
    factory = sessions(store)
    try:
        with factory() as db:
            api = connections.Api(api_url, token, apis.Fake.account)
            made = connections.create_connection(
                db, "default", platform, name, WEBHOOK_SECRETS[platform], api
            )
            return made.path
    finally:
        factory.kw["bind"].dispose()


def sync(store: Path, *args: str, name: str = "desk") -> Result:
    return runner.invoke(app, ["sync", name, "-w", "default", "--db", str(store), *args])


def exported(tmp: Path, platform: str) -> dict[str, dict[str, Any]]:
    """The facts of the platform's export file, imported by `chatlens import`'s code."""
    path, importer = FILES[platform]
    with open_store(tmp / f"export-{platform}.duckdb") as store:
        import_file(store, path, records=importer().records(path))
        refresh_facts(store)
        return facts(store)


def stored(store: Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The store's facts and its event ids (sorted)."""
    with open_store(store) as opened:
        refresh_facts(opened)
        ids = [r[0] for r in opened.con.execute("SELECT event_id FROM events").fetchall()]
        return facts(opened), sorted(ids)


def export_ids(tmp: Path, platform: str) -> list[str]:
    path, importer = FILES[platform]
    with open_store(tmp / f"ids-{platform}.duckdb") as store:
        import_file(store, path, records=importer().records(path))
        return sorted(r[0] for r in store.con.execute("SELECT event_id FROM events").fetchall())
