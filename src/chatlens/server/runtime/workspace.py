"""What the server keeps open per workspace: its store, one writer thread that commits ingest
batches in groups, a refresher that keeps the conversation facts fresh, and a pool of query
engines (each on its own DuckDB cursor, so requests run in parallel)."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatlens import privacy, topics
from chatlens.app import audit
from chatlens.errors import ChatlensError
from chatlens.lake.ingest import LakeSink
from chatlens.lake.layout import Lake
from chatlens.lake.write import write_events
from chatlens.metrics import Caches, Engine
from chatlens.server.runtime.journal import Journal
from chatlens.server.runtime.memory import DEFAULT_MEMORY_LIMIT, memory_limit
from chatlens.server.runtime.retention import RetentionKeeper
from chatlens.server.runtime.seen import SeenIds, id_hashes
from chatlens.store import Store, open_store
from chatlens.store.facts import refresh_facts
from chatlens.store.settings import (
    Settings,
    check_changes,
    load_settings,
    redactor,
    save_setting,
)
from chatlens.store.sql import run

log = logging.getLogger("chatlens.server")

GROUP_EVENTS = 50_000
"""Most events one journal write takes from the queue (several requests' batches)."""
FLUSH_SECONDS = 0.2
MAX_PAUSE = 5.0
TOPICS_SECONDS = 10.0
"""Longest wait between facts refreshes after a slow one (a topics re-cluster can take
seconds)."""
FLUSH_EVENTS = 20_000


BACKGROUND_NICE = 10
"""CPU priority of the mover and the facts refresh, whose work runs inside DuckDB (the GIL
let go): under a flood of events, reads are answered first (Linux CFS gives a nice-0 thread
~9x the CPU of a nice-10 one); on an idle machine the nice changes nothing. The writer and
the validation of batches stay at the normal priority: they hold the GIL, and a thread
descheduled while holding it would hold the reads back instead."""
TOPICS_NICE = 19


def lower_priority(nice: int) -> None:
    """Lower the calling thread's CPU priority to `nice` unless it is lower already (Linux
    nices threads one by one; elsewhere, or without permission, nothing happens)."""
    with contextlib.suppress(OSError, AttributeError):
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, max(nice, os.getpriority(os.PRIO_PROCESS, thread)))


class Closing(ChatlensError):
    """The workspace closed under a request (an erasure closes it for its time): retry."""

    status = 503


@dataclass
class Accepted:
    accepted: int
    duplicates: int


@dataclass
class Caught:
    """Duplicates the writer turned away, by where their first copy was: counted so tests
    and the log at shutdown show which paths the retries took (never ids or contents)."""

    stored: int = 0
    pending: int = 0
    moving: int = 0
    same_group: int = 0
    refused_by_store: int = 0
    """Second copies the store itself skipped (the last line; 0 unless a check upstream
    failed)."""


class Writer:
    """The workspace's single writer. Requests hand over validated rows and wait until they
    are durable: every batch waiting when the writer wakes goes into one journal write and one
    disk sync (group commit). A mover thread takes the journal into the store in bulk every
    `FLUSH_SECONDS` (sooner when it holds `FLUSH_EVENTS`), so answers never wait for DuckDB.

    Idempotency under any interleaving: an acknowledged id is, at every moment the lock is
    free, in exactly one of three places: `_pending_ids` (journaled), `_moving_ids` (being
    committed by the mover) or the seen ids (committed; the mover adds them and clears
    `_moving_ids` in one locked step after its commit). The writer looks at all three under
    the lock, so an id cannot slip between them; a hash hit among the seen ids is confirmed
    against the store afterwards, which by then holds it (committed before it was added).

    With a `lake` (`serve --lake`), the mover appends each journal segment to the lake
    first, then (`store_too`) to the store, and only then deletes the segment: a crash
    before the lake write replays the segment at the next start; one after it writes the
    segment to the lake a second time, a duplicate the lake drops at compaction and reads.
    Without the store, duplicates of moved events are caught only while in flight (the lake
    removes the rest)."""

    def __init__(
        self,
        store: Store,
        mover: Store,
        journal: Path,
        lake: Lake | None = None,
        store_too: bool = True,
    ):
        self.store = store
        self.mover = mover
        self.lake = lake
        self.to_store = lake is None or store_too
        self.journal = Journal(journal)
        self.caught = Caught()
        self._lock = threading.Lock()
        self._pending: list[dict[str, Any]] = []
        self._pending_hashes: list[int] = []
        self._pending_ids: set[str] = set()
        self._moving_ids: set[str] = set()
        self._recover()
        self._seen = SeenIds(self.store)
        self._queue: queue.Queue[tuple[list[dict[str, Any]], Future[Accepted]] | None] = (
            queue.Queue()
        )
        self._stop = threading.Event()
        self._full = threading.Event()
        self._closing = False
        self._door = threading.Lock()  # no batch slips in behind the writer's last item
        self._thread = threading.Thread(target=self._loop, name="chatlens-writer", daemon=True)
        self._mover = threading.Thread(target=self._move_loop, name="chatlens-mover", daemon=True)
        self._thread.start()
        self._mover.start()

    def submit(self, rows: list[dict[str, Any]]) -> Future[Accepted]:
        future: Future[Accepted] = Future()
        with self._door:
            if self._closing:
                future.set_exception(Closing("the workspace is closing: send the batch again"))
            else:
                self._queue.put((rows, future))
        return future

    def close(self) -> None:
        with self._door:
            self._closing = True
            self._queue.put(None)
        self._thread.join()
        self._stop.set()
        self._full.set()
        self._mover.join()
        self._seen.close()
        self.journal.close()
        log.info("ingest duplicates turned away: %s", vars(self.caught))

    def _recover(self) -> None:
        rows = self.journal.replay()
        if rows and self.lake is not None:
            files = write_events(self.lake, rows)
            log.info("journal replayed: %d events to the lake in %d files", len(rows), len(files))
        if rows and self.to_store:
            run(self.store.con, "BEGIN")
            result = self.store.append(rows)
            run(self.store.con, "COMMIT")
            log.info("journal replayed: %d events moved, %d already stored", *vars(result).values())
        self.journal.forget()

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            group: list[Any] = [item]
            size = len(item[0]) if item is not None else 0
            while item is not None and size < GROUP_EVENTS:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                group.append(item)
                size += len(item[0]) if item is not None else 0
            self._accept([g for g in group if g is not None])
            if group[-1] is None:
                return

    def _already(self, ids: list[str], hashes: list[int]) -> set[str]:
        """The ids acknowledged before: in flight or stored."""
        self._seen.wait()
        with self._lock:
            pending = {i for i in ids if i in self._pending_ids}
            moving = {i for i in ids if i in self._moving_ids}
            hits = self._seen.hits(hashes)
        # a hit is confirmed outside the lock: an id that had left the in-flight ids when
        # the lock was held was committed before, so the store shows it now
        maybe = [i for i, hit in zip(ids, hits, strict=True) if hit]
        stored = self.store.known_ids(maybe) if maybe else set()
        self.caught.moving += sum(i in moving for i in ids)
        self.caught.pending += sum(i in pending for i in ids)
        self.caught.stored += sum(i in stored and i not in moving for i in ids)
        return stored | pending | moving

    def _accept(self, batches: list[tuple[list[dict[str, Any]], Future[Accepted]]]) -> None:
        """Dedupe, journal and answer a group of batches."""
        if not batches:
            return
        try:
            ids = [row["event_id"] for rows, _ in batches for row in rows]
            hashes = id_hashes(ids)
            seen = self._already(ids, hashes)
            repeats = sum(i in seen for i in ids)
            fresh: list[dict[str, Any]] = []
            fresh_hashes: list[int] = []
            counts = []
            position = 0
            for rows, _ in batches:
                before = len(fresh)
                for row in rows:
                    if row["event_id"] not in seen:
                        seen.add(row["event_id"])
                        fresh.append(row)
                        fresh_hashes.append(hashes[position])
                    position += 1
                added = len(fresh) - before
                counts.append(Accepted(added, len(rows) - added))
            self.caught.same_group += len(ids) - len(fresh) - repeats
            with self._lock:
                self.journal.append(fresh)
                self._pending.extend(fresh)
                self._pending_hashes.extend(fresh_hashes)
                self._pending_ids.update(row["event_id"] for row in fresh)
                if len(self._pending) >= FLUSH_EVENTS:
                    self._full.set()
        except BaseException as exc:
            log.exception("ingest failed")
            for _, future in batches:
                future.set_exception(exc)
            return
        for (_, future), count in zip(batches, counts, strict=True):
            future.set_result(count)

    def _to_lake(self, rows: list[dict[str, Any]]) -> bool:
        """Append rows to the lake, retrying every second until it works; False when the
        server stops first."""
        assert self.lake is not None
        while True:
            try:
                write_events(self.lake, rows)
                return True
            except Exception:
                log.exception("moving the journal into the lake failed")
                if self._stop.is_set():
                    return False
                time.sleep(1.0)

    def _move_loop(self) -> None:
        lower_priority(BACKGROUND_NICE)
        while True:
            self._full.wait(FLUSH_SECONDS)
            self._full.clear()
            stopping = self._stop.is_set()
            self._move()
            if stopping:
                return

    def _move(self) -> None:
        """Move the journal into the store (on failure the segment stays for the next try,
        and for the replay at the next start). The store skips any row whose id it holds
        already (the last line behind the writer's check): with the anti-join on every move
        when the seen ids hit one of the rows (~20 ms per million stored events), a plain
        insert otherwise."""
        self._seen.wait()
        with self._lock:
            if not self._pending:
                return
            rows, self._pending = self._pending, []
            hashes, self._pending_hashes = self._pending_hashes, []
            self._moving_ids, self._pending_ids = self._pending_ids, set()
            segment = self.journal.rotate()
            suspect = any(self._seen.hits(hashes))
        if self.lake is not None and not self._to_lake(rows):
            return  # the segment stays on disk: replayed at the next start
        if not self.to_store:
            with self._lock:
                self._moving_ids = set()
            segment.unlink()
            return
        while True:
            try:
                run(self.mover.con, "BEGIN")
                refused = self.mover.insert(rows, check=suspect)
                run(self.mover.con, "COMMIT")
                break
            except Exception:
                with contextlib.suppress(Exception):
                    run(self.mover.con, "ROLLBACK")
                log.exception("moving the journal into the store failed")
                if self._stop.is_set():
                    return  # the segment stays on disk: replayed at the next start
                time.sleep(1.0)
        if refused:
            log.warning("the store refused %d second copies of stored events", refused)
            self.caught.refused_by_store += refused
        with self._lock:
            self._seen.add(hashes)
            self._moving_ids = set()
        segment.unlink()


class Refresher:
    """Keeps the conversation facts within `interval` seconds of the events.

    Its thread reads and refreshes through a cursor of its own; a refresh asked for by
    another thread (a settings change) opens another cursor, since a DuckDB cursor used by
    two threads at once can fail or hang."""

    def __init__(self, cursor: Callable[[], Store], interval: float):
        self._new_cursor = cursor
        self.store = cursor()
        self.interval = interval
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="chatlens-facts", daemon=True)
        self._thread.start()

    def refresh(self, store: Store | None = None) -> None:
        with self.lock:
            refresh_facts(store or self.store)

    def refresh_now(self) -> None:
        """Refresh from the calling thread (not the refresher's), on a cursor of its own."""
        store = self._new_cursor()
        try:
            self.refresh(store)
        finally:
            store.con.close()

    def _loop(self) -> None:
        lower_priority(BACKGROUND_NICE)
        pause = self.interval
        while not self._stop.wait(pause):
            try:
                if self.store.max_seq() > self._upto():
                    started = time.monotonic()
                    self.refresh()
                    # about half of the time refreshing at most: a long refresh spaces the
                    # next, but never beyond MAX_PAUSE (figures stay a few seconds fresh)
                    took = time.monotonic() - started
                    pause = min(max(self.interval, took), max(self.interval, MAX_PAUSE))
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


class TopicsKeeper:
    """Assigns new conversations to the existing topics every `TOPICS_SECONDS` (and builds or
    re-clusters them while they are young), in a thread of its own: a re-cluster takes
    seconds and must not hold the facts back."""

    def __init__(self, store: Store):
        self.store = store
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="chatlens-topics", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        # lowest CPU priority for this thread and the worker threads it starts (language
        # detection, k-means): answering requests comes first
        lower_priority(TOPICS_NICE)
        while not self._stop.wait(TOPICS_SECONDS):
            try:
                topics.refresh(self.store)
            except Exception:
                log.exception("topics refresh failed")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class Workspace:
    """One workspace's open store and the threads that serve it."""

    def __init__(
        self,
        name: str,
        path: Path,
        refresh_seconds: float,
        duckdb_threads: int,
        memory: str = DEFAULT_MEMORY_LIMIT,
        sessions: Any = None,
        lake: LakeSink | None = None,
    ):
        self.name = name
        self.store = open_store(path)
        run(self.store.con, f"SET threads = {int(duckdb_threads)}")
        run(self.store.con, f"SET memory_limit = '{memory_limit(memory)}'")
        refresh_facts(self.store)
        self.redactor = redactor(load_settings(self.store.con))
        workspace_lake = lake.lake_of(name) if lake else None
        self.writer = Writer(
            self._cursor(),
            self._cursor(),
            path.with_suffix(".journal"),
            workspace_lake,
            lake.store_too if lake else True,
        )
        self.refresher = Refresher(self._cursor, refresh_seconds)
        self.topics = TopicsKeeper(self._cursor())
        self.retention = RetentionKeeper(
            self._cursor(),
            self.refresher.lock,
            audit=self._audit_expiry(sessions),
            lake=workspace_lake,
        )
        self._engines: queue.LifoQueue[Engine] = queue.LifoQueue()
        self.caches = Caches()  # compiled SQL and results, shared by this workspace's engines
        self._generation = 0
        self._settings_lock = threading.Lock()

    def _cursor(self) -> Store:
        return Store(self.store.con.cursor(), self.store.path)

    def _audit_expiry(self, sessions: Any) -> Callable[[Settings], int] | None:
        """The retention job's pass over this workspace's audit records (app state)."""
        if sessions is None:
            return None

        def expire_audit(settings: Settings) -> int:
            with sessions() as db:
                return audit.expire(db, self.name, settings.retention_audit_days, None)

        return expire_audit

    def export_customer(self, customer_id: str, operator: str) -> dict[str, Any]:
        """An access request answered (and logged) on a cursor of its own."""
        store = self._cursor()
        try:
            return privacy.answer_export(store, customer_id, operator)
        finally:
            store.con.close()

    def privacy_requests(self) -> list[dict[str, Any]]:
        """The log of access and erasure requests, newest first."""
        store = self._cursor()
        try:
            return privacy.list_requests(store.con)
        finally:
            store.con.close()

    @contextmanager
    def engine(self) -> Iterator[Engine]:
        """A query engine for this request (reused across requests for its SQL cache)."""
        generation = self._generation
        try:
            engine = self._engines.get_nowait()
        except queue.Empty:
            engine = Engine(self._cursor(), caches=self.caches)
        try:
            yield engine
        finally:
            if generation == self._generation and self._engines.qsize() < 8:
                self._engines.put(engine)

    def change_settings(
        self,
        changes: dict[str, Any] | None = None,
        update: Callable[[Settings], dict[str, Any]] | None = None,
    ) -> Settings:
        """Validate every change first (all saved, or none), save, and let the facts and
        the engines follow. `update` computes the changes from the stored settings, read
        under the same lock as the save: two requests changing one setting (two goals
        saved at once) never lose each other's change."""
        with self._settings_lock:
            con = self.store.con.cursor()
            try:
                settings = load_settings(con)
                changes = {**(changes or {}), **(update(settings) if update else {})}
                changes = check_changes(settings, changes)
                for key, value in changes.items():
                    settings = save_setting(con, key, value)
            finally:
                con.close()
            self.settings_changed()
        return settings

    def settings_changed(self) -> None:
        """Engines built under the old settings are dropped; facts follow at once."""
        self._generation += 1
        con = self.store.con.cursor()
        try:
            self.redactor = redactor(load_settings(con))
        finally:
            con.close()
        self.retention.wake()
        while not self._engines.empty():
            self._engines.get_nowait()
        self.refresher.refresh_now()

    def close(self) -> None:
        self.retention.close()
        self.topics.close()
        self.refresher.close()
        self.writer.close()
        self.store.close()


class Workspaces:
    """The workspaces opened so far, by name (opened on first use)."""

    def __init__(
        self,
        refresh_seconds: float,
        duckdb_threads: int | None = None,
        memory: str = DEFAULT_MEMORY_LIMIT,
        sessions: Any = None,
        lake: LakeSink | None = None,
        lake_facts: str | None = None,
    ):
        self.refresh_seconds = refresh_seconds
        self.sessions = sessions
        """The app state, where the retention job expires each workspace's audit records."""
        self.lake = lake
        self.lake_facts = lake_facts
        """With a lake URL, every workspace is served from its lake's facts
        (chatlens.server.runtime.lake): the default one from the URL, workspace NAME from
        `URL/workspaces/NAME`."""
        self.memory = memory_limit(memory)
        # one core is left to the request handlers: DuckDB on every core (its default)
        # stretches ingest latency while the facts refresh
        self.duckdb_threads = duckdb_threads or max(1, (os.cpu_count() or 2) - 1)
        self._open: dict[str, Workspace] = {}
        self._lock = threading.Lock()

    def opened(self, name: str) -> Workspace | None:
        """The workspace if it is open already (no waiting: safe on the event loop)."""
        return self._open.get(name)

    def get(self, name: str, path: Path) -> Workspace:
        found = self._open.get(name)
        if found is not None:
            return found
        with self._lock:
            if name not in self._open:
                started = time.perf_counter()
                if privacy.pending(path):  # an erasure cut short by a crash completes first
                    log.info("workspace %s: finishing erasures %s", name, privacy.resume(path))
                self._open[name] = self._make(name, path)
                log.info("workspace %s opened in %.2f s", name, time.perf_counter() - started)
            return self._open[name]

    def _make(self, name: str, path: Path) -> Workspace:
        if self.lake_facts is None:
            return Workspace(
                name,
                path,
                self.refresh_seconds,
                self.duckdb_threads,
                self.memory,
                self.sessions,
                self.lake,
            )
        from chatlens.lake.ingest import workspace_lake_url
        from chatlens.server.runtime.lake import LakeWorkspace

        # the same surface as a Workspace for the routes (engine, writer, redactor...); each
        # workspace reads the lake its ingest servers write (`serve --lake`)
        served: Any = LakeWorkspace(
            name,
            workspace_lake_url(self.lake_facts, name),
            self.refresh_seconds,
            self.duckdb_threads,
        )
        return served  # type: ignore[no-any-return]

    def lake_workspace(self, name: str | None = None) -> Any:
        """On a lake server, the lake workspace `name` if it is open (None if not), or
        the default one when no name is given (opened on first use); None on a store
        server."""
        if self.lake_facts is None:
            return None
        if name is not None:
            return self.opened(name)
        from chatlens.app.service import DEFAULT_WORKSPACE

        return self.get(DEFAULT_WORKSPACE, Path(self.lake_facts))

    def erase(
        self, name: str, path: Path, kind: str, subject: str, operator: str
    ) -> privacy.Erasure:
        """Erase a customer or an agent of a workspace: the workspace is closed for the time
        of the erasure (its journal moved into the store, its threads stopped) and opened
        again by the next request, which waits meanwhile."""
        with self._lock:
            found = self._open.pop(name, None)
            if found is not None:
                found.close()
            lake = self.lake.lake_of(name).url if self.lake is not None else None
            return privacy.erase(path, kind, subject, operator, lake=lake)

    def close(self) -> None:
        with self._lock:
            for workspace in self._open.values():
                workspace.close()
            self._open.clear()
