"""What the server keeps open per workspace: its store, one writer thread that commits ingest
batches in groups, a refresher that keeps the conversation facts fresh, and a pool of query
engines (each on its own DuckDB cursor, so requests run in parallel)."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatlens.metrics import Engine
from chatlens.store import Store, open_store
from chatlens.store.facts import refresh_facts
from chatlens.store.sql import run

log = logging.getLogger("chatlens.server")

GROUP_EVENTS = 50_000
"""Most events one commit takes from the queue (several requests' batches)."""


@dataclass
class Accepted:
    accepted: int
    duplicates: int


class Writer:
    """The workspace's single writer: requests hand over validated rows and wait for the
    commit that holds them (group commit: every batch waiting when a commit starts goes into
    it, so concurrent clients share one disk sync)."""

    def __init__(self, store: Store):
        self.store = store
        self._queue: queue.Queue[tuple[list[dict[str, Any]], Future[Accepted]] | None] = (
            queue.Queue()
        )
        self._thread = threading.Thread(target=self._loop, name="chatlens-writer", daemon=True)
        self._thread.start()

    def submit(self, rows: list[dict[str, Any]]) -> Future[Accepted]:
        future: Future[Accepted] = Future()
        self._queue.put((rows, future))
        return future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            group = [item]
            size = len(item[0])
            stop = False
            while size < GROUP_EVENTS:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                group.append(more)
                size += len(more[0])
            self._commit(group)
            if stop:
                return

    def _commit(self, group: list[tuple[list[dict[str, Any]], Future[Accepted]]]) -> None:
        try:
            known = self.store.known_ids([row["event_id"] for rows, _ in group for row in rows])
            fresh: list[dict[str, Any]] = []
            counts = []
            for rows, _ in group:
                before = len(fresh)
                for row in rows:
                    if row["event_id"] not in known:
                        known.add(row["event_id"])
                        fresh.append(row)
                counts.append(Accepted(len(fresh) - before, len(rows) - (len(fresh) - before)))
            run(self.store.con, "BEGIN")
            self.store.insert(fresh)
            run(self.store.con, "COMMIT")  # DuckDB syncs its write-ahead log on commit
        except BaseException as exc:
            with contextlib.suppress(Exception):  # not in a transaction: nothing to undo
                run(self.store.con, "ROLLBACK")
            log.exception("ingest commit failed")
            for _, future in group:
                future.set_exception(exc)
            return
        for (_, future), count in zip(group, counts, strict=True):
            future.set_result(count)


class Refresher:
    """Keeps the conversation facts within `interval` seconds of the events."""

    def __init__(self, store: Store, interval: float):
        self.store = store
        self.interval = interval
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="chatlens-facts", daemon=True)
        self._thread.start()

    def refresh(self) -> None:
        with self.lock:
            refresh_facts(self.store)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if self.store.max_seq() > self._upto():
                    self.refresh()
            except Exception:
                log.exception("facts refresh failed")

    def _upto(self) -> int:
        row = run(
            self.store.con,
            "SELECT upto_seq FROM derived_state WHERE name = 'conversation_facts'",
        )
        return int(row[0][0]) if row else -1

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class Workspace:
    """One workspace's open store and the threads that serve it."""

    def __init__(self, name: str, path: Path, refresh_seconds: float):
        self.name = name
        self.store = open_store(path)
        refresh_facts(self.store)
        self.writer = Writer(self._cursor())
        self.refresher = Refresher(self._cursor(), refresh_seconds)
        self._engines: queue.LifoQueue[Engine] = queue.LifoQueue()
        self._generation = 0

    def _cursor(self) -> Store:
        return Store(self.store.con.cursor(), self.store.path)

    @contextmanager
    def engine(self) -> Iterator[Engine]:
        """A query engine for this request (reused across requests for its SQL cache)."""
        generation = self._generation
        try:
            engine = self._engines.get_nowait()
        except queue.Empty:
            engine = Engine(self._cursor())
        try:
            yield engine
        finally:
            if generation == self._generation and self._engines.qsize() < 8:
                self._engines.put(engine)

    def settings_changed(self) -> None:
        """Engines built under the old settings are dropped; facts follow at once."""
        self._generation += 1
        while not self._engines.empty():
            self._engines.get_nowait()
        self.refresher.refresh()

    def close(self) -> None:
        self.refresher.close()
        self.writer.close()
        self.store.close()


class Workspaces:
    """The workspaces opened so far, by name (opened on first use)."""

    def __init__(self, refresh_seconds: float):
        self.refresh_seconds = refresh_seconds
        self._open: dict[str, Workspace] = {}
        self._lock = threading.Lock()

    def get(self, name: str, path: Path) -> Workspace:
        with self._lock:
            if name not in self._open:
                started = time.perf_counter()
                self._open[name] = Workspace(name, path, self.refresh_seconds)
                log.info("workspace %s opened in %.2f s", name, time.perf_counter() - started)
            return self._open[name]

    def close(self) -> None:
        with self._lock:
            for workspace in self._open.values():
                workspace.close()
            self._open.clear()
