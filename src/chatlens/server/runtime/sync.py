"""The server's API sync schedule: every active connection with API credentials is synced
(chatlens.connect.sync) when its interval has passed since its last sync started: its own
`sync_every`, else the server's `--sync-every`; connections with neither are synced only by
`chatlens sync`. One thread syncs one connection at a time; a sync stops between two pages
when the server shuts down (its cursor is stored: the next one continues there)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from chatlens.app.models import Connection, ConnectionSync, now
from chatlens.connect.settle import Submit
from chatlens.connect.sync import PlatformError, Syncer
from chatlens.errors import ChatlensError

log = logging.getLogger("chatlens.server")

TICK_SECONDS = 5.0
"""How often the schedule looks for a connection due (a sync is at most this late)."""


class SyncSchedule:
    def __init__(
        self,
        sessions: sessionmaker[Any],
        folder: Path,
        submit: Submit,
        every: float | None,
        tick: float = TICK_SECONDS,
    ):
        self.sessions, self.every, self.tick = sessions, every, tick
        self._stop = threading.Event()
        self.syncer = Syncer(sessions, folder, submit, sleep=self._pause, stop=self._stop)
        self._thread = threading.Thread(target=self._loop, name="chatlens-sync", daemon=True)

    def start(self) -> SyncSchedule:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _pause(self, seconds: float) -> None:
        """A retry's wait, cut short by the shutdown (the sync then ends: it continues at
        the next start from its stored cursor)."""
        if self._stop.wait(seconds):
            raise PlatformError("the server is shutting down: the sync continues at its start")

    def due(self) -> list[int]:
        """The connections whose interval has passed since their last sync started."""
        moment = now()
        with self.sessions() as db:
            found = db.execute(
                select(Connection.id, Connection.sync_every, ConnectionSync.started_at)
                .outerjoin(ConnectionSync, ConnectionSync.connection_id == Connection.id)
                .where(
                    Connection.status == "active",
                    Connection.api_url.is_not(None),
                    Connection.api_token.is_not(None),
                )
                .order_by(Connection.id)
            ).all()
        out = []
        for conn_id, own, started in found:
            interval = own or self.every
            if interval is None:
                continue
            if started is None or started + dt.timedelta(seconds=interval) <= moment:
                out.append(conn_id)
        return out

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                for conn_id in self.due():
                    if self._stop.is_set():
                        return
                    self._sync(conn_id)
            except Exception:
                log.exception("the sync schedule failed")
            self._stop.wait(self.tick)

    def _sync(self, conn_id: int) -> None:
        try:
            done = self.syncer.run(conn_id)
        except ChatlensError as exc:  # named by connection and status: no payload, no token
            log.warning("sync of connection %d failed: %s", conn_id, exc)
            return
        except Exception:
            log.exception("sync of connection %d failed", conn_id)
            return
        # counts only: never ids or contents
        log.info(
            "sync of connection %d: %d conversations, %d new events, %d quarantined",
            conn_id,
            done.conversations,
            done.events,
            done.quarantined,
        )
