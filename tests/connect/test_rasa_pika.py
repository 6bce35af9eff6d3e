"""Rasa's Pika event broker consumed by the real server: a real RabbitMQ node
(tests/brokers.py), Rasa-format events (tests/connect/rasa_live.py) published to a durable
queue as rasa/core/brokers/pika.py publishes them (the event's JSON as the body,
persistent, `application/json`); the connection created with the CLI; the figures against
the import of the same trackers and hand counts; a SIGKILL mid-stream."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pika
import pytest
from typer.testing import CliRunner

from chatlens.app import connections
from chatlens.cli import app
from chatlens.store import open_store
from tests.brokers import rabbitmq
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
PASSWORD = "rasa-pw-3Zk9"


@pytest.fixture(scope="module")
def amqp() -> Iterator[str]:
    with rabbitmq(PASSWORD) as url:
        yield url


def publish(url: str, queue: str, events: list[Any]) -> None:
    """Messages as PikaEventBroker publishes them: one per event, persistent JSON."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.queue_declare(queue, durable=True)
        properties = pika.BasicProperties(
            content_type="application/json", delivery_mode=2, app_id="rasa"
        )
        for event in events:
            body = event.encode() if isinstance(event, str) else orjson.dumps(event)
            channel.basic_publish("", queue, body, properties)
    finally:
        connection.close()


def waiting(url: str, queue: str) -> int:
    """Messages in the queue, ready or delivered and not yet acknowledged."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return int(connection.channel().queue_declare(queue, passive=True).method.message_count)
    finally:
        connection.close()


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


def test_the_pika_broker_gives_the_figures_of_the_import(amqp, tmp_path):
    queue = f"rasa_core_events_{uuid.uuid4().hex[:6]}"
    events: list[Any] = broker_events()
    events.insert(10, '{"sender_id": "412598763", "event": "user", "text": "cut sh')
    events.insert(40, ["not", "an", "event"])
    publish(amqp, queue, events)
    store = tmp_path / "chatlens.duckdb"
    provision(store, {})
    made = cli(
        "connections", "create", "-w", "default", "--platform", "rasa-pika", "--name", "bot",
        "--url", amqp, "--queue", queue, "--db", str(store),
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert PASSWORD not in made.output and f"queue {queue}" in made.output
    state = AppState(store)
    server = serve(store, batch=7)
    try:
        state.wait_taken(1, 75)
        wait_until(lambda: (c := state.consumer(1)) is not None and c.lag == 0, 30, what="lag 0")
        assert waiting(amqp, queue) == 0  # every message acknowledged
        shown = cli("connections", "show", "-w", "default", "bot", "--db", str(store)).output
    finally:
        server.stop()
        state.close()
    log = server.log.read_text()
    assert PASSWORD not in log and PRIVATE not in log and PASSWORD not in shown
    assert "broker lag: 0 messages waiting" in shown and "rasa events consumed: 75" in shown
    assert "field 'data': not valid JSON (cut short?)" in shown
    assert "field 'data': expected a JSON object (a Rasa event)" in shown
    expected, expected_ids = imported_facts(tmp_path)
    got, ids = stored(store)
    assert got == expected and sorted(ids) == sorted(expected_ids)
    assert sorted(got) == sorted([A1, A2, B1, F1])
    with open_store(store) as live:
        row = report(live, ["conversations", "fallback_messages", "handoff_rate"]).rows[0]
    assert (row["conversations"], row["fallback_messages"]) == (4, 3)
    assert row["handoff_rate"] == pytest.approx(1 / 4)


def test_a_kill_mid_stream_counts_every_event_once(amqp, tmp_path):
    queue = f"rasa_core_events_{uuid.uuid4().hex[:6]}"
    events = broker_events()
    publish(amqp, queue, events)
    store = tmp_path / "chatlens.duckdb"
    provision(store, {})
    state = AppState(store)
    with state.factory() as db:
        made = connections.create_connection(
            db, "default", "rasa-pika", "bot", url=amqp, queue=queue
        )
        cid = made.record.id
    server = serve(store, batch=3)
    try:
        wait_until(lambda: state.consumed(cid) >= 12, 120, what="a few batches taken")
        server.kill()  # SIGKILL: up to 6 messages delivered, not acknowledged
        assert state.consumed(cid) < 73
        server = serve(store, batch=3)
        state.wait_taken(cid, 73)  # RabbitMQ delivers the unacknowledged ones again
        wait_until(lambda: waiting(amqp, queue) == 0, 30, what="the queue drained")
    finally:
        server.stop()
        state.close()
    expected, expected_ids = imported_facts(tmp_path)
    got, ids = stored(store)
    assert len(ids) == len(expected_ids) and set(ids) == expected_ids
    assert got == expected
    after = AppState(store)
    try:
        assert after.consumed(cid) == 73  # each event taken once; replays not counted
    finally:
        after.close()
