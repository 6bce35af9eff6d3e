"""The server's sync schedule (server/runtime/sync.py): which connections are due, and a
shutdown that stops a sync between two pages, its cursor stored for the next start."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

from chatlens.app import connections
from chatlens.app.models import Connection, ConnectionSync, now
from chatlens.cli.sync import StoreWriter
from chatlens.connect.sync import Syncer, clients
from chatlens.server.runtime.sync import SyncSchedule
from tests.connect import synckit
from tests.fakes.apis import IntercomFake, Served
from tests.serverkit import provision


def make(store: Path, specs: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Connections by name: {"api": bool, "every": seconds, "revoked": bool, "started":
    minutes ago}; their ids."""
    provision(store, {})
    factory = synckit.sessions(store)
    ids = {}
    with factory() as db:
        for name, spec in specs.items():
            api = connections.Api("https://api.example.com", "token-0001", None, spec.get("every"))
            made = connections.create_connection(
                db,
                "default",
                "intercom",
                name,
                "ic-client-secret-0001",
                api if spec["api"] else None,
            )
            ids[name] = made.record.id
            if spec.get("revoked"):
                connections.revoke_connection(db, "default", name)
            if "started" in spec:
                at = now() - dt.timedelta(minutes=spec["started"])
                db.add(ConnectionSync(connection_id=made.record.id, started_at=at))
                db.commit()
    return ids


def test_due_connections_follow_their_own_interval_else_the_servers(tmp_path):
    store = tmp_path / "chatlens.duckdb"
    ids = make(
        store,
        {
            "never synced": {"api": True},
            "own hourly 30 min ago": {"api": True, "every": 3600, "started": 30},
            "own hourly 61 min ago": {"api": True, "every": 3600, "started": 61},
            "servers 10 min ago": {"api": True, "started": 10},
            "servers 20 min ago": {"api": True, "started": 20},
            "webhooks only": {"api": False},
            "revoked": {"api": True, "revoked": True},
        },
    )
    factory = synckit.sessions(store)
    every_15m = SyncSchedule(factory, tmp_path, lambda *a: 0, every=900)
    assert every_15m.due() == [
        ids["never synced"],
        ids["own hourly 61 min ago"],
        ids["servers 20 min ago"],
    ]
    no_server_interval = SyncSchedule(factory, tmp_path, lambda *a: 0, every=None)
    assert no_server_interval.due() == [ids["own hourly 61 min ago"]]


def test_a_shutdown_stops_a_sync_between_pages_and_the_next_continues(tmp_path, monkeypatch):
    monkeypatch.setattr(clients, "PER_PAGE", 2)  # 6 conversations: 3 pages
    store = tmp_path / "chatlens.duckdb"
    everything = synckit.export_ids(tmp_path, "intercom")
    fake = IntercomFake()
    with Served(fake) as served:
        synckit.connect(store, "intercom", served.url)
        factory = synckit.sessions(store)
        with factory() as db:
            conn_id = db.query(Connection).one().id
        stop = threading.Event()
        writer = StoreWriter()

        def stopping(workspace: str, path: Path, rows: list[dict[str, Any]]) -> int:
            stop.set()  # the shutdown comes while page 1 is being stored
            return writer.submit(workspace, path, rows)

        first = Syncer(factory, tmp_path, stopping, stop=stop).run(conn_id)
        writer.close()
        assert (first.pages, first.conversations) == (1, 2)
        with factory() as db:
            state = db.get(ConnectionSync, conn_id)
            assert state.page is not None and state.finished_at is None
        writer = StoreWriter()
        second = Syncer(factory, tmp_path, writer.submit).run(conn_id)
        writer.close()
    assert second.resumed and (second.pages, second.conversations) == (2, 4)
    assert first.events + second.events == len(everything)
    assert synckit.stored(store)[1] == everything
