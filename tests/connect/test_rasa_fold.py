"""Rasa broker events folded per sender (chatlens.connect.rasa), without a broker: the
events of the Rasa importer's fixture trackers (tests/importers/data/rasa, Rasa 3's event
format) sent one at a time as Rasa's brokers publish them (the event's JSON with the
tracker's `sender_id` added: rasa/core/tracker_store.py `stream_events`), in batches,
replayed, with malformed ones among them; the connections' broker URLs; the SQL follower's
gaps; the consumers' backoff and error scrubbing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from chatlens.app import connections, service
from chatlens.app.db import open_app_db
from chatlens.app.models import ConnectionConsumer, ConnectionConversation, ConnectionProblem
from chatlens.connect import rasa_sql
from chatlens.connect.platforms import platform
from chatlens.connect.rasa import Arrival, fold_batch, take
from chatlens.connect.rasa_sql import SqlFollower
from chatlens.errors import InputError
from chatlens.importers.rasa import RasaImporter
from chatlens.server.runtime import consumers

DATA = Path(__file__).parent.parent / "importers" / "data" / "rasa"


def trackers() -> list[dict[str, Any]]:
    found = orjson.loads((DATA / "trackers.json").read_bytes())
    return [*found, orjson.loads((DATA / "tracker_5577001.json").read_bytes())]


def broker_events(items: list[dict[str, Any]]) -> list[bytes]:
    """What Rasa publishes: each tracker event with its sender_id, senders interleaved."""
    streams = [[{"sender_id": t["sender_id"], **e} for e in t["events"]] for t in items]
    out: list[bytes] = []
    for index in range(max(len(s) for s in streams)):
        out += [orjson.dumps(s[index]) for s in streams if index < len(s)]
    return out


@pytest.fixture
def app(tmp_path):
    factory = open_app_db(f"sqlite:///{tmp_path / 'app.sqlite'}")
    with factory() as db:
        service.ensure_default_workspace(db, tmp_path / "chatlens.duckdb")
        made = connections.create_connection(
            db, "default", "rasa-sql", "bot", url="postgresql://rasa:s3cr%40t@db.local:5433/rasa"
        )
    yield factory, made.record.id
    factory.kw["bind"].dispose()


def converted(factory, connection_id: int) -> list[dict[str, Any]]:
    kind = platform("rasa-sql")
    with factory() as db:
        rows = db.scalars(
            select(ConnectionConversation).where(
                ConnectionConversation.connection_id == connection_id
            )
        )
        docs = {r.conversation: orjson.loads(r.document) for r in rows}
    return [e for sender in sorted(docs) for e in kind.convert(docs[sender])]


def imported(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ordered = sorted(items, key=lambda t: t["sender_id"])
    return [e for t in ordered for e in RasaImporter().convert(t)]


def test_events_folded_one_at_a_time_convert_as_the_tracker_imports(app):
    factory, cid = app
    bodies = broker_events(trackers())
    assert len(bodies) == 34 + 28 + 11
    for start in range(0, len(bodies), 10):
        arrivals = [
            Arrival(f"events.id {n}", b, key=str(n))
            for n, b in enumerate(bodies[start : start + 10], start=start + 1)
        ]
        folded = take(factory, cid, arrivals, position=start + len(arrivals))
        assert (folded.taken, folded.replayed, folded.quarantined) == (len(arrivals), 0, 0)
    events = converted(factory, cid)
    assert events == imported(trackers())
    # A1, A2, B1 and F1 (B2 is empty after /restart): 4 conversations
    assert len({e["conversation_id"] for e in events}) == 4
    with factory() as db:
        consumer = db.get(ConnectionConsumer, cid)
        assert (consumer.position, consumer.consumed) == (73, 73)


def test_redelivered_messages_count_once_and_rasas_own_repeats_stay(app):
    factory, cid = app
    bodies = broker_events(trackers())
    take(factory, cid, [Arrival(f"m{i}", b) for i, b in enumerate(bodies[:50])])
    # a crash before the acknowledgement: RabbitMQ delivers 40-49 again, marked redelivered
    again = [Arrival(f"m{i}", b, redelivered=i < 50) for i, b in enumerate(bodies[40:], start=40)]
    folded = take(factory, cid, again)
    assert (folded.taken, folded.replayed) == (23, 10)
    # B1's two-stage fallback logs the affirmed user message twice, identically: both kept
    assert converted(factory, cid) == imported(trackers())


def test_rows_read_twice_count_once_by_their_id(app):
    factory, cid = app
    bodies = broker_events(trackers())
    rows = [Arrival(f"events.id {n}", b, key=str(n)) for n, b in enumerate(bodies, start=1)]
    assert take(factory, cid, rows[:30]).taken == 30
    folded = take(factory, cid, rows[20:])
    assert (folded.taken, folded.replayed) == (43, 10)
    assert converted(factory, cid) == imported(trackers())


def test_a_malformed_event_is_quarantined_with_its_position_and_its_neighbours_kept(app):
    factory, cid = app
    bodies = broker_events(trackers())
    broken = {
        5: b'{"sender_id": "412598763", "event": "user", "text": "cut sh',
        9: orjson.dumps({"event": "bot", "timestamp": 1793800801.0, "text": "who?"}),
        17: orjson.dumps(
            {"sender_id": "5577001", "event": "bot", "timestamp": 1793887201.0, "text": 42}
        ),
    }
    arrivals = [Arrival(f"events.id {n}", b, key=str(n)) for n, b in enumerate(bodies, start=1)]
    for at, body in broken.items():
        arrivals.insert(at, Arrival(f"events.id bad{at}", body, key=f"bad{at}"))
    with factory() as db:
        folded = fold_batch(db, cid, arrivals)
        db.commit()
    assert (folded.taken, folded.quarantined) == (73, 3)
    assert converted(factory, cid) == imported(trackers())
    with factory() as db:
        problems = {
            p.delivery_id: p.reason
            for p in db.scalars(
                select(ConnectionProblem).where(ConnectionProblem.connection_id == cid)
            )
        }
    assert problems == {
        "events.id bad5": "field 'data': not valid JSON (cut short?)",
        "events.id bad9": "field 'sender_id': missing",
        "events.id bad17": "field 'events[5].text': expected a string, got int",
    }


def test_broker_urls_keep_the_password_apart(app):
    factory, _ = app
    with factory() as db:
        record = connections.get_connection(db, "default", "bot")
        assert record.broker_url == "postgresql://rasa@db.local:5433/rasa"
        assert record.signing_secret == "s3cr@t"
        assert connections.broker_dsn(record) == "postgresql://rasa:s3cr%40t@db.local:5433/rasa"
        pika = connections.create_connection(
            db, "default", "rasa-pika", "queue", url="amqp://guest:guest@127.0.0.1:5672/%2F"
        ).record
        assert (pika.broker_url, pika.broker_queue) == (
            "amqp://guest@127.0.0.1:5672/%2F",
            "rasa_core_events",
        )
        with pytest.raises(InputError, match=r"needs --url amqp://"):
            connections.create_connection(db, "default", "rasa-pika", "q2", url="http://x")
        with pytest.raises(InputError, match=r"needs --url postgresql://"):
            connections.create_connection(db, "default", "rasa-sql", "q3")
        with pytest.raises(InputError, match=r"--queue is for rasa-pika"):
            connections.create_connection(
                db, "default", "rasa-sql", "q4", url="postgresql://a@b/c", queue="x"
            )


def test_consumer_restarts_back_off_doubling_up_to_the_cap():
    # 0.5 s doubling, capped at 60 s, each within a tenth of jitter
    for failures, expected in ((1, 0.5), (2, 1.0), (3, 2.0), (8, 60.0), (30, 60.0)):
        for _ in range(20):
            assert expected * 0.9 <= consumers.backoff(failures) <= expected * 1.1


def test_consumer_errors_lose_the_password_and_quoted_values():
    message = 'connection to "db.local" failed: password "s3cr@t" rejected for s3cr@t'
    assert (
        consumers.scrub(message, "s3cr@t")
        == "connection to '…' failed: password '…' rejected for ***"
    )


def test_a_gap_in_the_sql_ids_is_waited_for_then_passed(app):
    factory, cid = app
    follower = SqlFollower(factory, cid, "postgresql://unused")
    found = [(1, "s", "{}"), (2, "s", "{}"), (4, "s", "{}"), (5, "s", "{}")]
    # id 3 not visible yet (its transaction may still commit): stop before it
    assert [r[0] for r in follower._contiguous(0, found)] == [1, 2]
    assert [r[0] for r in follower._contiguous(2, found[2:])] == []
    # still missing after GAP_SECONDS: rolled back, never coming; the rows after it are taken
    follower._gaps[3] -= rasa_sql.GAP_SECONDS
    assert [r[0] for r in follower._contiguous(2, found[2:])] == [4, 5]
