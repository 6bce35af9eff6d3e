"""Following Rasa's SQL event broker: its `events(id serial, sender_id, data)` table in
PostgreSQL (rasa/core/brokers/sql.py: one row per tracker event, `data` the event's JSON),
read in `id` order from the stored position, a batch at a time.

The position (the last id taken) is committed with the folded events (rasa.take): a crash
repeats nothing and skips nothing. Ids come from a sequence, so a row can become visible
after a higher one (two Rasa workers committing in the other order): a gap in the ids is
waited for up to `GAP_SECONDS` before the rows after it are taken (a rolled-back insert
leaves a gap forever)."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from sqlalchemy.orm import sessionmaker

from chatlens.connect.rasa import Arrival, note, position, take
from chatlens.errors import InputError

BATCH = int(os.environ.get("CHATLENS_RASA_BATCH", "2000"))
"""Rows read and committed at once ($CHATLENS_RASA_BATCH)."""
POLL_SECONDS = 0.25
GAP_SECONDS = 5.0
LAG_SECONDS = 1.0


class SqlFollower:
    """Runs until `stop` is set; raises on any error (the caller retries with backoff)."""

    def __init__(
        self, sessions: sessionmaker[Any], connection_id: int, dsn: str, batch: int = BATCH
    ):
        self.sessions, self.connection_id, self.dsn, self.batch = (
            sessions,
            connection_id,
            dsn,
            batch,
        )
        self.connected = False
        self._gaps: dict[int, float] = {}  # first missing id -> when it was first seen

    def run(self, stop: threading.Event) -> None:
        try:
            import psycopg
        except ImportError:  # pragma: no cover - the postgres extra is not installed
            raise InputError(
                "rasa-sql needs the PostgreSQL driver: pip install 'chatlens[postgres]'"
            ) from None
        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=10) as pg:
            self.connected = True
            at = position(self.sessions, self.connection_id)
            note(self.sessions, self.connection_id, state="running")
            lag_at = 0.0
            while not stop.is_set():
                found = pg.execute(
                    "SELECT id, sender_id, data FROM events WHERE id > %s ORDER BY id LIMIT %s",
                    (at, self.batch),
                ).fetchall()
                taken = self._contiguous(at, found)
                if taken:
                    arrivals = [
                        Arrival(f"events.id {i}", data if data is not None else "", sender, str(i))
                        for i, sender, data in taken
                    ]
                    at = int(taken[-1][0])
                    take(self.sessions, self.connection_id, arrivals, position=at)
                if not taken or time.monotonic() - lag_at >= LAG_SECONDS:
                    top = pg.execute("SELECT max(id) FROM events").fetchone()
                    highest = int(top[0]) if top and top[0] is not None else at
                    note(self.sessions, self.connection_id, lag=max(0, highest - at))
                    lag_at = time.monotonic()
                if len(taken) < self.batch:
                    stop.wait(POLL_SECONDS)

    def _contiguous(self, at: int, found: list[Any]) -> list[Any]:
        """The rows up to the first gap in the ids still young enough to be filled."""
        taken: list[Any] = []
        expected = at + 1
        for row in found:
            if int(row[0]) != expected:
                first = self._gaps.setdefault(expected, time.monotonic())
                if time.monotonic() - first < GAP_SECONDS:
                    break
                self._gaps.pop(expected, None)
            taken.append(row)
            expected = int(row[0]) + 1
        return taken
