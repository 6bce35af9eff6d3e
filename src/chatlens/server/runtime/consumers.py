"""The server's consumers of Rasa's event brokers: one thread per active rasa-sql or
rasa-pika connection (connect/rasa_sql.py, connect/rasa_pika.py).

A supervisor looks at the connections every `TICK_SECONDS`: it starts a consumer for a new
one and stops the consumer of one revoked. A consumer that fails (the broker down, a
network cut, the table missing) is started again after a pause that doubles after each
failure in a row, from `BACKOFF_FIRST` up to `BACKOFF_MAX` seconds (back to the first once
it connected again). A few lines of loop, no retry library: the loop also has to watch the
stop event and record each failure on the connection. Each failure is recorded as one of
the connection's errors: its type and message, with the broker's password and anything
quoted taken out; nothing of it goes to the log but its type."""

from __future__ import annotations

import logging
import os
import random
import threading
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from chatlens.app.connections import broker_dsn
from chatlens.app.models import BROKER_PLATFORMS, Connection, ConnectionProblem
from chatlens.connect.rasa import note
from chatlens.connect.receive import plain

log = logging.getLogger("chatlens.server")

TICK_SECONDS = 1.0
BACKOFF_FIRST = float(os.environ.get("CHATLENS_CONSUMER_BACKOFF_FIRST", "0.5"))
BACKOFF_MAX = float(os.environ.get("CHATLENS_CONSUMER_BACKOFF_MAX", "60"))


class Runner(Protocol):
    connected: bool

    def run(self, stop: threading.Event) -> None: ...


def backoff(failures: int) -> float:
    """Seconds to wait after `failures` failures in a row (1, 2, ...): doubling, capped,
    with a tenth of jitter so that consumers failing together do not retry together."""
    delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (failures - 1))
    return float(delay * (1 + random.uniform(-0.1, 0.1)))


def runner(sessions: sessionmaker[Any], record: Connection) -> Runner:
    """The consumer of one broker connection."""
    if record.platform == "rasa-sql":
        from chatlens.connect.rasa_sql import SqlFollower

        return SqlFollower(sessions, record.id, broker_dsn(record))
    from chatlens.connect.rasa_pika import PikaConsumer

    return PikaConsumer(sessions, record.id, broker_dsn(record), record.broker_queue or "")


def scrub(message: str, secret: str | None) -> str:
    """An error message fit to show: without the password and without quoted values."""
    if secret:
        message = message.replace(secret, "***")
    return plain(message)


class Consumer:
    """One connection's consumer thread, restarted after failures."""

    def __init__(self, sessions: sessionmaker[Any], record: Connection):
        self.sessions, self.connection_id = sessions, record.id
        self.record = record
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=self._loop, name=f"chatlens-rasa-{record.id}", daemon=True
        )

    def start(self) -> Consumer:
        self.thread.start()
        return self

    def _loop(self) -> None:
        failures = 0
        while not self.stop.is_set():
            current = runner(self.sessions, self.record)
            try:
                current.run(self.stop)
            except Exception as exc:
                failures = 1 if current.connected else failures + 1
                delay = backoff(failures)
                self._failed(exc, delay)
                self.stop.wait(delay)
        try:
            note(self.sessions, self.connection_id, state="stopped")
        except Exception:  # the app state is going away with the server
            log.warning("could not record that consumer %d stopped", self.connection_id)

    def _failed(self, exc: Exception, delay: float) -> None:
        log.warning(
            "rasa consumer of connection %d failed (%s); again in %.1f s",
            self.connection_id,
            type(exc).__name__,
            delay,
        )
        why = f"consumer: {type(exc).__name__}: {scrub(str(exc), self.record.signing_secret)}"
        try:
            with self.sessions() as db:
                db.add(
                    ConnectionProblem(
                        connection_id=self.connection_id, status=503, reason=why[:500]
                    )
                )
                db.commit()
            note(self.sessions, self.connection_id, state=f"retrying in {delay:.1f} s")
        except Exception:
            log.warning("could not record the failure of consumer %d", self.connection_id)


class Consumers:
    """The supervisor: a consumer per active broker connection, while the server runs."""

    def __init__(self, sessions: sessionmaker[Any], tick: float = TICK_SECONDS):
        self.sessions, self.tick = sessions, tick
        self.running: dict[int, Consumer] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="chatlens-consumers", daemon=True)

    def start(self) -> Consumers:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        for consumer in self.running.values():
            consumer.stop.set()
        for consumer in self.running.values():
            consumer.thread.join(timeout=30)
        self.running.clear()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.sync()
            except Exception:
                log.exception("looking for broker connections failed")
            self._stop.wait(self.tick)

    def sync(self) -> None:
        """Start the consumers of active broker connections; stop those of revoked ones."""
        with self.sessions() as db:
            active = {
                c.id: c
                for c in db.scalars(
                    select(Connection).where(
                        Connection.platform.in_(BROKER_PLATFORMS), Connection.status == "active"
                    )
                )
            }
            for record in active.values():
                db.expunge(record)
        for connection_id in list(self.running):
            if connection_id not in active:
                self.running.pop(connection_id).stop.set()  # revoked: stops within a batch
        for connection_id, record in active.items():
            if connection_id not in self.running and not self._stop.is_set():
                self.running[connection_id] = Consumer(self.sessions, record).start()
