"""Rasa event broker benchmark: Rasa events consumed by the server from RabbitMQ (the Pika
broker) and from PostgreSQL (the SQL broker's `events` table), against the plain
`POST /api/v1/events` path carrying the same conversations' chatlens events, in the same run.

Starts a RabbitMQ node and a PostgreSQL cluster of their own (tests/brokers.py) and
`chatlens serve` on a fresh store. Each conversation is one Rasa session of 11 tracker
events (session start, two user turns each answered by the bot: 5 chatlens events), its
events interleaved with those of the conversations around it as a busy bot publishes them.
- pika: COUNT conversations' events published to a queue first, then the connection is
  created; consumed/s counts from the first batch taken to the last (the app state's
  consumer counter, polled), settled/s until the last conversation's events are journaled;
- sql: the same events as rows of the broker's table, then a rasa-sql connection;
- /api/v1/events: the same conversations converted (the Rasa importer), NDJSON requests
  of 500 events from 4 clients.

Needs the postgres extra (psycopg): `make .venv/.postgres-stamp`, as `make test-brokers` does.
Usage: python bench/bench_rasa.py [--conversations 2000] [--batch 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pika
import psycopg
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.brokers, serverkit

from tests.brokers import create_database, libpq_url, postgres, rabbitmq
from tests.serverkit import LiveServer

from bench_connect import wait_idle
from chatlens.app import connections, service
from chatlens.app.db import app_db_url, open_app_db
from chatlens.app.models import ConnectionConsumer, ConnectionConversation
from chatlens.importers.rasa import RasaImporter

START = 1794042000.0  # 2026-11-07 09:00 UTC
TABLE = "CREATE TABLE events (id SERIAL PRIMARY KEY, sender_id VARCHAR(255), data TEXT)"


def session(n: int, prefix: str) -> list[dict[str, Any]]:
    """The 11 tracker events of conversation n, as the broker carries them."""
    sender, t = f"{prefix}{n:07d}", START + n * 0.5
    meta = {"model_id": "bench", "assistant_id": "shop"}

    def action(name: str, at: float) -> dict[str, Any]:
        return {"event": "action", "timestamp": at, "metadata": meta, "name": name}

    def user(text: str, intent: str, at: float) -> dict[str, Any]:
        parse = {"intent": {"name": intent, "confidence": 0.93}, "entities": [], "text": text}
        return {
            "event": "user",
            "timestamp": at,
            "metadata": meta,
            "text": text,
            "parse_data": parse,
            "input_channel": "rest",
            "message_id": f"{sender}-{at}",
        }

    def bot(text: str, at: float) -> dict[str, Any]:
        return {"event": "bot", "timestamp": at, "metadata": meta, "text": text, "data": {}}

    events = [
        action("action_session_start", t),
        {"event": "session_started", "timestamp": t + 0.01, "metadata": meta},
        action("action_listen", t + 0.02),
        user("hi there", "greet", t + 5),
        action("utter_greet", t + 5.5),
        bot("Hello! How can I help?", t + 5.6),
        action("action_listen", t + 5.7),
        user("where is my order?", "order_status", t + 20),
        action("utter_order_status", t + 21),
        bot("It ships tomorrow.", t + 21.1),
        action("action_listen", t + 21.2),
    ]
    return [{"sender_id": sender, **e} for e in events]


def broker_events(conversations: int, prefix: str, width: int = 100) -> list[bytes]:
    """Every conversation's events, `width` conversations interleaved at a time."""
    out: list[bytes] = []
    for first in range(0, conversations, width):
        group = [session(n, prefix) for n in range(first, min(first + width, conversations))]
        for index in range(11):
            out += [orjson.dumps(events[index]) for events in group]
    return out


def chatlens_events(conversations: int, prefix: str) -> list[bytes]:
    importer = RasaImporter()
    out: list[bytes] = []
    for n in range(conversations):
        events = session(n, prefix)
        tracker = {"sender_id": events[0]["sender_id"], "events": events}
        out += [orjson.dumps(e) for e in importer.convert(tracker)]
    return out


def wait_for(condition: Callable[[], bool], timeout: float = 1800.0) -> float:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return time.perf_counter()


def consume(factory: Any, store: Path, make: Callable[[Any], int], total: int) -> str:
    """Create the connection (the running server starts its consumer), time it."""
    with factory() as db:
        cid = make(db)

    def consumed() -> int:
        with factory() as db:
            row = db.get(ConnectionConsumer, cid)
            return int(row.consumed) if row is not None else 0

    def unsettled() -> int:
        with factory() as db:
            return int(
                db.scalar(
                    select(func.count()).where(
                        ConnectionConversation.connection_id == cid,
                        ConnectionConversation.settled.is_(False),
                    )
                )
                or 0
            )

    created = time.perf_counter()
    began = wait_for(lambda: consumed() > 0)
    first = consumed()
    ended = wait_for(lambda: consumed() >= total)
    settled = wait_for(lambda: unsettled() == 0)
    rate = (total - first) / max(ended - began, 1e-9)
    return (
        f"{rate:,.0f} Rasa events/s consumed ({total:,} in {ended - created:.1f} s from the "
        f"connection's creation; first batch after {began - created:.1f} s), "
        f"{total / (settled - created):,.0f}/s until every conversation was journaled"
    )


async def post_events(url: str, key: str, lines: list[bytes], per: int, clients: int) -> float:
    bodies = [b"\n".join(lines[i : i + per]) for i in range(0, len(lines), per)]
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    headers = {"authorization": f"Bearer {key}", "content-type": "application/x-ndjson"}

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120, headers=headers) as http:
            while not queue.empty():
                answer = await http.post("/api/v1/events", content=queue.get_nowait())
                answer.raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return len(lines) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args()
    rasa = broker_events(args.conversations, "pika")
    rows = broker_events(args.conversations, "sql")
    plain = chatlens_events(args.conversations, "plain")
    root = Path(tempfile.mkdtemp(prefix="bench-rasa-"))
    store = root / "chatlens.duckdb"
    factory = open_app_db(app_db_url(store))
    with factory() as db:
        service.ensure_default_workspace(db, store)
        ingest = service.create_key(db, "default", "ingest").key
    os.environ["CHATLENS_RASA_BATCH"] = str(args.batch)
    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}; {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; "
        f"load average {load[0]:.1f} at the start"
    )
    print(
        f"{args.conversations:,} conversations: {len(rasa):,} Rasa events, "
        f"{len(plain):,} chatlens events; consumer batch {args.batch}"
    )
    with rabbitmq() as amqp, postgres() as pg:
        server = LiveServer(store, refresh_seconds=1.0).start(timeout=300)
        assert server.process is not None
        pid = server.process.pid
        try:
            # warm up (the topics keeper's first refresh imports scikit-learn, seconds of the
            # interpreter's time), then the plain path first, each phase on an idle server
            warm = chatlens_events(200, "warm")
            asyncio.run(post_events(server.url, ingest, warm, 500, 4))
            time.sleep(12)  # the topics keeper's first tick
            wait_idle(pid)
            rate = asyncio.run(post_events(server.url, ingest, plain, 500, 4))
            print(
                f"/api/v1/events: {rate:,.0f} chatlens events/s (NDJSON, 500 a request, "
                f"4 clients) = {rate * len(rasa) / len(plain):,.0f} Rasa events/s equivalent"
            )
            wait_idle(pid)
            connection = pika.BlockingConnection(pika.URLParameters(amqp))
            channel = connection.channel()
            channel.queue_declare("rasa_core_events", durable=True)
            persistent = pika.BasicProperties(content_type="application/json", delivery_mode=2)
            for body in rasa:
                channel.basic_publish("", "rasa_core_events", body, persistent)
            connection.close()
            print(
                "pika: "
                + consume(
                    factory,
                    store,
                    lambda db: (
                        connections.create_connection(
                            db, "default", "rasa-pika", "pika", url=amqp
                        ).record.id
                    ),
                    len(rasa),
                )
            )
            wait_idle(pid)
            url = libpq_url(create_database(pg, "rasa"))
            with psycopg.connect(url, autocommit=True) as db:
                db.execute(TABLE)
                with (
                    db.cursor() as cursor,
                    cursor.copy("COPY events (sender_id, data) FROM STDIN") as copy,
                ):
                    for body in rows:
                        copy.write_row((orjson.loads(body)["sender_id"], body.decode()))
            print(
                "sql: "
                + consume(
                    factory,
                    store,
                    lambda db: (
                        connections.create_connection(
                            db, "default", "rasa-sql", "sql", url=url
                        ).record.id
                    ),
                    len(rows),
                )
            )
        finally:
            server.stop()
            factory.kw["bind"].dispose()
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
