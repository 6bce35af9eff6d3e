"""What the Rasa broker tests share: the Rasa-format events, the server started with the
consumer settings of a test, the app state's view of a consumer, and the facts of the same
trackers imported from files (`chatlens import --from rasa`).

The events are those of the Rasa importer's fixtures (tests/importers/data/rasa, Rasa 3's
tracker format, `GET /conversations/{id}/tracker?include_events=ALL`): sender b7e0... with
sessions A1 (answered by the bot alone) and A2 (an nlu_fallback, a core fallback,
action_handoff then pause), sender 412598763 with B1 (a two-stage fallback that logs the
affirmed user message twice) and an empty session after /restart, and sender 5577001 with
F1 (opened by an external intent). Rasa's brokers publish each tracker event as the
event's JSON with the tracker's `sender_id` added (rasa/core/tracker_store.py,
`TrackerStore._stream_new_events`: `body = {"sender_id": tracker.sender_id};
body.update(event.as_dict())`; the SQL broker writes that JSON into `events.data` beside a
`sender_id` column, rasa/core/brokers/sql.py; the Pika broker publishes it as the message
body, rasa/core/brokers/pika.py). The senders' events are interleaved, as a bot serving
three people at once publishes them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select

from chatlens.app.db import app_db_url, open_app_db
from chatlens.app.models import ConnectionConsumer, ConnectionConversation, ConnectionProblem
from chatlens.importers.rasa import RasaImporter
from chatlens.ingest import import_file
from chatlens.store import open_store
from chatlens.store.facts import refresh_facts
from tests.conftest import facts
from tests.serverkit import LiveServer
from tests.waiting import wait_until

DATA = Path(__file__).parent.parent / "importers" / "data" / "rasa"
TRACKER_FILES = (DATA / "trackers.json", DATA / "tracker_5577001.json")
A, B, F = "b7e0c5a2d1f34e6a", "412598763", "5577001"
A1, A2 = f"{A}:1793613600.25", f"{A}:1793696400"
B1, F1 = f"{B}:1793800800", f"{F}:1793887200"
PRIVATE = "order_status"
"""Text of a user message in the events: never in the server's log."""


def trackers() -> list[dict[str, Any]]:
    first = orjson.loads(TRACKER_FILES[0].read_bytes())
    return [*first, orjson.loads(TRACKER_FILES[1].read_bytes())]


def broker_events() -> list[dict[str, Any]]:
    """The trackers' events as Rasa's brokers publish them, senders interleaved (73)."""
    streams = [[{"sender_id": t["sender_id"], **e} for e in t["events"]] for t in trackers()]
    out: list[dict[str, Any]] = []
    for index in range(max(len(s) for s in streams)):
        out += [s[index] for s in streams if index < len(s)]
    return out


def imported_facts(tmp_path: Path) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """The facts and event ids of the same trackers imported from their files."""
    with open_store(tmp_path / "imported.duckdb") as store:
        for path in TRACKER_FILES:
            import_file(store, path, records=RasaImporter().records(path))
        refresh_facts(store)
        ids = {r[0] for r in store.con.execute("SELECT event_id FROM events").fetchall()}
        return facts(store), ids


def stored(store_path: Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The facts and the event ids (one per stored event) of a stopped server's store."""
    with open_store(store_path) as store:
        refresh_facts(store)
        ids = [r[0] for r in store.con.execute("SELECT event_id FROM events").fetchall()]
        return facts(store), ids


def serve(store: Path, batch: int = 2000, quiet: float = 0.3) -> LiveServer:
    """The real server with this consumer batch size and settling pause."""
    settings = {
        "CHATLENS_CONNECT_QUIET_SECONDS": str(quiet),
        "CHATLENS_RASA_BATCH": str(batch),
        "CHATLENS_CONSUMER_BACKOFF_FIRST": "0.2",
        "CHATLENS_CONSUMER_BACKOFF_MAX": "1",
    }
    os.environ.update(settings)
    try:
        return LiveServer(store).start(timeout=180)
    finally:
        for name in settings:
            del os.environ[name]


class AppState:
    """The app state of a store, as the tests look at it."""

    def __init__(self, store: Path):
        self.factory = open_app_db(app_db_url(store))

    def close(self) -> None:
        self.factory.kw["bind"].dispose()

    def consumer(self, connection_id: int) -> ConnectionConsumer | None:
        with self.factory() as db:
            return db.get(ConnectionConsumer, connection_id)

    def consumed(self, connection_id: int) -> int:
        found = self.consumer(connection_id)
        return int(found.consumed) if found is not None else 0

    def unsettled(self) -> int:
        with self.factory() as db:
            return int(
                db.scalar(select(func.count()).where(ConnectionConversation.settled.is_(False)))
                or 0
            )

    def problems(self, connection_id: int) -> list[ConnectionProblem]:
        with self.factory() as db:
            return list(
                db.scalars(
                    select(ConnectionProblem)
                    .where(ConnectionProblem.connection_id == connection_id)
                    .order_by(ConnectionProblem.id)
                )
            )

    def wait_taken(self, connection_id: int, count: int, timeout: float = 120.0) -> None:
        """Until the consumer took `count` events and every conversation settled."""
        wait_until(
            lambda: self.consumed(connection_id) >= count and self.unsettled() == 0,
            timeout,
            interval=0.1,
            what=f"{count} events consumed and settled",
        )
