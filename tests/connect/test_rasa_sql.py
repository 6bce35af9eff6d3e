"""Rasa's SQL event broker followed by the real server: a real PostgreSQL (tests/brokers.py)
holding the broker's `events(id serial, sender_id varchar(255), data text)` table, as
rasa/core/brokers/sql.py creates it, filled with Rasa-format events (tests/connect/
rasa_live.py); the connection created with the CLI; the figures against the import of the
same trackers and hand counts; a SIGKILL mid-stream; a broker that is not there yet; a
revoke."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from chatlens.app import connections
from chatlens.cli import app
from chatlens.store import open_store
from tests.brokers import create_database, libpq_url, postgres
from tests.conftest import report
from tests.connect.rasa_live import (
    A1,
    A2,
    B1,
    F1,
    PRIVATE,
    AppState,
    broker_events,
    imported_facts,
    serve,
    stored,
)
from tests.serverkit import provision
from tests.waiting import wait_until

pytestmark = pytest.mark.brokers
runner = CliRunner()
PASSWORD = "rasa-pw-7Q2!x"
CREATE = "CREATE TABLE events (id SERIAL PRIMARY KEY, sender_id VARCHAR(255), data TEXT)"


@pytest.fixture(scope="module")
def pg() -> Iterator[str]:
    with postgres() as url:
        yield url


def connect(url: str) -> Any:
    """A PostgreSQL connection (psycopg comes with chatlens[postgres], which `make
    test-brokers` installs: imported here so that `make test` collects this module without
    it)."""
    import psycopg

    return psycopg.connect(url, autocommit=True)


def rasa_database(pg: str, table: bool = True) -> str:
    """A database of its own with a password user, and the broker's table (libpq URL)."""
    name = f"rasa_{uuid.uuid4().hex[:8]}"
    url = libpq_url(create_database(pg, name))
    with connect(url) as db:
        db.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{PASSWORD}'")
        db.execute(f"GRANT ALL ON SCHEMA public TO {name}")
        db.execute(f"ALTER DATABASE {name} OWNER TO {name}")
    owner = url.replace("postgresql://postgres@", f"postgresql://{name}:{PASSWORD}@", 1)
    if table:
        with connect(owner) as db:
            db.execute(CREATE)
    return owner


def publish(url: str, events: list[Any]) -> None:
    """Rows as SQLEventBroker.publish writes them: one per event, in order."""
    with connect(url) as db, db.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO events (sender_id, data) VALUES (%s, %s)",
            [(e.get("sender_id") if isinstance(e, dict) else None, _text(e)) for e in events],
        )


def _text(event: Any) -> str:
    return event if isinstance(event, str) else orjson.dumps(event).decode()


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


def at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def test_the_sql_broker_gives_the_figures_of_the_import(pg, tmp_path):
    url = rasa_database(pg)
    events: list[Any] = broker_events()
    # two rows Rasa could not have written well, among the others: quarantined alone
    events.insert(10, '{"sender_id": "412598763", "event": "user", "text": "cut sh')
    events.insert(40, {"sender_id": "5577001", "event": "bot", "text": "no time"})
    publish(url, events)
    store = tmp_path / "chatlens.duckdb"
    seats = provision(store, {"default": {"users": {"root": ("admin", None, None)}}})
    made = cli(
        "connections", "create", "-w", "default", "--platform", "rasa-sql", "--name", "bot",
        "--url", url, "--db", str(store),
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert PASSWORD not in made.output and "created" in made.output
    state = AppState(store)
    server = serve(store, batch=7)
    try:
        state.wait_taken(1, 75)
        wait_until(lambda: (c := state.consumer(1)) is not None and c.lag == 0, 30, what="lag 0")
        shown = cli("connections", "show", "-w", "default", "bot", "--db", str(store)).output
        listed = cli("connections", "list", "-w", "default", "--db", str(store)).output
        admin = server.login(seats.emails["root"])
        page = admin.get("/connections").text
        assert "consumer running: 75 Rasa events taken, 0 rows waiting" in page
        assert "postgresql://rasa_" in page and PASSWORD not in page
        other = "amqp://rabbit:other-pw-5@127.0.0.1:9/%2F"  # nothing listens there
        form = {"platform": "rasa-pika", "name": "queue", "url": other, "queue": "q1"}
        created = admin.post("/connections", data=form)
        assert created.status_code == 200 and 'id="steps-rasa-pika"' in created.text
        assert "amqp://rabbit@127.0.0.1:9/%2F queue q1" in created.text
        assert "other-pw-5" not in created.text
    finally:
        server.stop()
        state.close()
    log = server.log.read_text()
    assert PASSWORD not in log and PRIVATE not in log and "other-pw-5" not in log
    assert PASSWORD not in shown and PASSWORD not in listed
    assert "position: events.id 75" in shown and "broker lag: 0 rows waiting" in shown
    assert "rasa events consumed: 75" in shown
    assert "events.id 11: field 'data': not valid JSON (cut short?)" in shown
    assert "events.id 41: field 'timestamp': missing or not a number (Unix seconds)" in shown
    expected, expected_ids = imported_facts(tmp_path)
    got, ids = stored(store)
    assert got == expected and sorted(ids) == sorted(expected_ids)
    assert sorted(got) == sorted([A1, A2, B1, F1])
    # hand counts (tests/importers/test_rasa.py): bot messages A1 3, A2 3, B1 3, F1 2 = 11,
    # 3 fallbacks (A2 2, B1 1); only A2 is handed to a human (action_handoff)
    with open_store(store) as live:
        row = report(
            live,
            [
                *("conversations", "bot_conversations", "fallback_messages", "handoff_rate"),
                *("conversations_with_fallback", "containment_rate"),
            ],
        ).rows[0]
    assert row["conversations"] == 4 and row["bot_conversations"] == 4
    assert row["fallback_messages"] == 3 and row["conversations_with_fallback"] == 2
    assert row["handoff_rate"] == pytest.approx(1 / 4)
    assert row["containment_rate"] == pytest.approx(3 / 4)
    assert got[A2]["handoff_at"] == at(1793696430.2) and got[F1]["initiated_by"] == "business"


def test_a_kill_mid_stream_counts_every_event_once(pg, tmp_path):
    url = rasa_database(pg)
    events = broker_events()
    publish(url, events[:50])
    store = tmp_path / "chatlens.duckdb"
    provision(store, {})
    state = AppState(store)
    with state.factory() as db:
        cid = connections.create_connection(db, "default", "rasa-sql", "bot", url=url).record.id
    server = serve(store, batch=3)
    try:
        wait_until(lambda: state.consumed(cid) >= 12, 120, what="a few batches taken")
        server.kill()  # SIGKILL mid-stream: batches committed, others not read yet
        killed_at = state.consumer(cid)
        assert killed_at is not None and killed_at.position < 73
        publish(url, events[50:])  # Rasa goes on while chatlens is down
        server = serve(store, batch=3)
        state.wait_taken(cid, 73)
    finally:
        server.stop()
        state.close()
    expected, expected_ids = imported_facts(tmp_path)
    got, ids = stored(store)
    assert len(ids) == len(expected_ids) and set(ids) == expected_ids
    assert got == expected
    after = AppState(store)
    try:
        found = after.consumer(cid)
        assert found is not None and (found.position, found.consumed) == (73, 73)
    finally:
        after.close()


def test_a_broker_not_there_yet_is_retried_and_a_revoke_stops_it(pg, tmp_path):
    url = rasa_database(pg, table=False)  # Rasa has not created its table yet
    store = tmp_path / "chatlens.duckdb"
    provision(store, {})
    state = AppState(store)
    with state.factory() as db:
        cid = connections.create_connection(db, "default", "rasa-sql", "bot", url=url).record.id
    server = serve(store)
    try:
        wait_until(lambda: len(state.problems(cid)) >= 2, 120, what="two failed attempts")
        failure = state.problems(cid)[0]
        assert failure.status == 503 and failure.body is None
        assert failure.reason.startswith("consumer: UndefinedTable: relation '…' does not exist")
        with connect(url) as db:
            db.execute(CREATE)
        publish(url, broker_events()[:20])
        state.wait_taken(cid, 20)
        consumer = state.consumer(cid)
        assert consumer is not None and consumer.state == "running"
        revoked = cli("connections", "revoke", "-w", "default", "bot", "--db", str(store))
        assert revoked.exit_code == 0, revoked.output
        wait_until(
            lambda: (c := state.consumer(cid)) is not None and c.state == "stopped",
            60,
            what="the consumer stopped",
        )
        publish(url, broker_events()[20:])
        shown = cli("connections", "show", "-w", "default", "bot", "--db", str(store)).output
        assert "consumer: stopped" in shown and "position: events.id 20" in shown
    finally:
        server.stop()
        state.close()
    assert PASSWORD not in server.log.read_text()
