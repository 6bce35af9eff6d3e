"""Consuming Rasa's Pika event broker: the JSON of each tracker event (with its
`sender_id`) on a durable RabbitMQ queue (rasa/core/brokers/pika.py; `rasa_core_events`
unless endpoints.yml names others).

Up to `PREFETCH` messages are delivered unacknowledged; a batch is folded and committed to
the app state (rasa.take), and only then acknowledged at once (`basic_ack(tag,
multiple=True)`). A crash before the acknowledgement has RabbitMQ deliver the batch again:
its events are found already folded (a redelivered message by the hash of its JSON) and
count once."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import pika
from sqlalchemy.orm import sessionmaker

from chatlens.connect.rasa import Arrival, note, take

BATCH = int(os.environ.get("CHATLENS_RASA_BATCH", "2000"))
"""Messages folded, committed and acknowledged at once ($CHATLENS_RASA_BATCH)."""
PREFETCH = 2 * BATCH
WAIT_SECONDS = 0.2
"""A batch is taken when it is full or when no message came for this long."""
LAG_SECONDS = 5.0
"""Seconds between two reads of the queue's depth (the lag shown) while messages flow; when
none comes it is read at once. A passive declare is a round trip that waits behind the
deliveries in flight: once a second it took a quarter of the consumer's time."""


def where(properties: Any) -> str:
    """A message's name for the quarantine: its message id ("": rasa.py names it by the
    hash of its body, computed only if it is quarantined)."""
    message_id = getattr(properties, "message_id", None)
    return f"message {str(message_id)[:100]}" if message_id else ""


class PikaConsumer:
    """Runs until `stop` is set; raises on any error (the caller retries with backoff)."""

    def __init__(
        self,
        sessions: sessionmaker[Any],
        connection_id: int,
        dsn: str,
        queue: str,
        batch: int = BATCH,
    ):
        self.sessions, self.connection_id, self.dsn, self.queue = (
            sessions,
            connection_id,
            dsn,
            queue,
        )
        self.batch = batch
        self.connected = False

    def run(self, stop: threading.Event) -> None:
        parameters = pika.URLParameters(self.dsn)
        parameters.connection_attempts = 1
        parameters.socket_timeout = 10
        connection = pika.BlockingConnection(parameters)
        try:
            self.connected = True
            channel = connection.channel()
            channel.queue_declare(self.queue, durable=True)  # as Rasa declares it
            channel.basic_qos(prefetch_count=PREFETCH)
            note(self.sessions, self.connection_id, state="running")
            pending: list[Arrival] = []
            last_tag = 0
            lag_at = first_at = 0.0
            for method, properties, body in channel.consume(
                self.queue, inactivity_timeout=WAIT_SECONDS
            ):
                if method is not None:
                    if not pending:
                        first_at = time.monotonic()
                    pending.append(Arrival(where(properties), body, redelivered=method.redelivered))
                    last_tag = method.delivery_tag
                due = (
                    method is None
                    or len(pending) >= self.batch
                    or time.monotonic() - first_at >= WAIT_SECONDS
                    or stop.is_set()
                )
                if pending and due:
                    take(self.sessions, self.connection_id, pending)
                    channel.basic_ack(last_tag, multiple=True)  # only once committed
                    pending = []
                if stop.is_set():
                    break
                idle = method is None and time.monotonic() - lag_at >= WAIT_SECONDS * 5
                if idle or time.monotonic() - lag_at >= LAG_SECONDS:
                    ready = channel.queue_declare(self.queue, passive=True).method.message_count
                    note(self.sessions, self.connection_id, lag=int(ready))
                    lag_at = time.monotonic()
            channel.cancel()
        finally:
            if connection.is_open:
                connection.close()
