"""`chatlens serve --lake-facts URL`: the dashboard and read APIs over a lake's derived facts.

A `LakeWorkspace` stands where the server otherwise opens a workspace's DuckDB store: an
in-memory DuckDB database, migrated like a store (settings, topics tables), whose `events`,
`conversation_facts` and `agent_stints` are views over the lake's Parquet (the facts and
stints the manifest `_state/facts.json` names; the events deduplicated by `event_id`).
Every engine is a cursor of it, so the metric engine, the Reader and its scopes, the pages
and the API run unchanged. The server keeps no data of its own: several can serve one lake.

A thread looks at the manifest every `refresh_seconds`; when a facts run has replaced it,
the views are made again over the new files. Figures are as fresh as the last facts run,
which `freshness` says (every page's footer, the `X-Chatlens-Facts-*` headers). Events
cannot be sent to such a server (409), nor settings changed: they are those the facts were
derived under (`chatlens lake facts --set KEY=VALUE`).
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from chatlens.errors import Conflict
from chatlens.events import COLUMNS
from chatlens.lake.facts import (
    FactsState,
    _facts_schema,
    _list,
    read_state,
    register_lake_fs,
)
from chatlens.lake.layout import EVENT_SCHEMA, FACTS, STINTS, Lake, event_partitions
from chatlens.metrics import Caches, Engine
from chatlens.store import Store
from chatlens.store.facts import FACTS_TABLE, STINTS_TABLE
from chatlens.store.migrations import migrate
from chatlens.store.settings import Settings, load_settings, redactor, save_setting

log = logging.getLogger("chatlens.server")

FRESHNESS_TEXT = "Figures as of {derived_at} UTC, events up to {latest} UTC"
"""The freshness note every page shows (one message with named fields, for translation)."""
NO_FACTS_TEXT = "No facts derived from the lake yet (run chatlens lake facts)"
READ_ONLY = "this server reads the lake {url}: send events to an ingest server that writes the lake"
SETTINGS_FROM_FACTS = (
    "this server reads the lake {url}: its settings are those the facts were derived under; "
    "change them where the facts are derived (chatlens lake facts --set KEY=VALUE)"
)


@dataclass(frozen=True)
class Freshness:
    """When the facts served were derived, and the latest event time they include."""

    derived_at: str | None
    latest_event_at: str | None

    @property
    def text(self) -> str:
        if self.derived_at is None:
            return NO_FACTS_TEXT
        return FRESHNESS_TEXT.format(
            derived_at=_minute(self.derived_at), latest=_minute(self.latest_event_at)
        )

    def headers(self) -> dict[str, str]:
        return {
            "X-Chatlens-Facts-Derived-At": self.derived_at or "none",
            "X-Chatlens-Facts-Latest-Event-At": self.latest_event_at or "none",
        }


def _minute(stamp: str | None) -> str:
    if not stamp:
        return "-"
    moment = dt.datetime.fromisoformat(stamp).astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M")


class _ReadOnlyWriter:
    """Where an ingest route hands its rows on a lake server: refused with 409."""

    def __init__(self, url: str):
        self.message = READ_ONLY.format(url=url)

    def submit(self, rows: list[dict[str, Any]]) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_exception(Conflict(self.message))
        return future


_JSON = [name for name, kind in COLUMNS.items() if kind == "json"]


class LakeWorkspace:
    """One workspace served from a lake (module docstring)."""

    def __init__(self, name: str, url: str, refresh_seconds: float, duckdb_threads: int):
        self.name = name
        self.lake = Lake.open(url)
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET enable_progress_bar = false")
        self.con.execute(f"SET threads = {int(duckdb_threads)}")
        migrate(self.con)
        for table in ("events", FACTS_TABLE, STINTS_TABLE):
            self.con.execute(f"DROP TABLE IF EXISTS {table}")
        self.prefix = register_lake_fs(self.con, self.lake)
        self.writer = _ReadOnlyWriter(url)
        self.caches = Caches()
        self._engines: queue.LifoQueue[Engine] = queue.LifoQueue()
        self._generation = 0
        self._lock = threading.Lock()
        self._made: dict[str, str] = {}
        self._seen: bytes | None = b""
        self.freshness = Freshness(None, None)
        self.settings: Settings = load_settings(self.con)
        self.redactor = redactor(self.settings)
        self.refresh()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, args=(refresh_seconds,), name="chatlens-lake", daemon=True
        )
        self._thread.start()

    # -- the views -----------------------------------------------------------------------
    def refresh(self) -> bool:
        """Make the views again if the manifest changed; whether it had."""
        state = read_state(self.lake)
        marker = None if state is None else (state.derived_at + state.version).encode()
        if marker == self._seen:
            return False
        with self._lock:
            self._build(state)
            self._seen = marker
            self._generation += 1
            while not self._engines.empty():
                self._engines.get_nowait()
        return True

    def _build(self, state: FactsState | None) -> None:
        facts_schema, stints_schema = _facts_schema()
        if state is not None:
            for key, value in state.settings.items():
                save_setting(self.con, key, value)
            self.settings = load_settings(self.con)
            self.redactor = redactor(self.settings)
        self._view(FACTS_TABLE, state.files(self.lake, FACTS) if state else [], facts_schema)
        self._view(STINTS_TABLE, state.files(self.lake, STINTS) if state else [], stints_schema)
        self._events_view(state)
        self.freshness = Freshness(
            state.derived_at if state else None, state.latest_event_at if state else None
        )

    def _drop(self, name: str) -> None:
        kind = self._made.pop(name, None)
        if kind:
            self.con.execute(f"DROP {kind} IF EXISTS {name}")

    def _view(self, name: str, paths: list[str], schema: pa.Schema) -> None:
        self._drop(name)
        if not paths:
            self.con.register("_empty", schema.empty_table())
            self.con.execute(
                f"CREATE TABLE {name} AS SELECT * REPLACE (CAST(attrs AS JSON) AS attrs) "
                "FROM _empty"
                if "attrs" in schema.names
                else f"CREATE TABLE {name} AS SELECT * FROM _empty"
            )
            self.con.unregister("_empty")
            self._made[name] = "TABLE"
            return
        files = _list([self.prefix + p for p in paths])
        cast = " REPLACE (CAST(attrs AS JSON) AS attrs)" if "attrs" in schema.names else ""
        self.con.execute(f"CREATE VIEW {name} AS SELECT *{cast} FROM read_parquet({files})")
        self._made[name] = "VIEW"

    def _events_view(self, state: FactsState | None) -> None:
        """The events the facts were derived from, each once (the first copy in file
        order), with the `seq` the derivation gave them."""
        self._drop("events")
        files = sorted(
            (f for found in event_partitions(self.lake).values() for f in found),
            key=lambda f: f.base_name,
        )
        if not files:
            self.con.register("_empty", EVENT_SCHEMA.empty_table())
            self.con.execute(
                "CREATE TABLE events AS SELECT * REPLACE (CAST(attrs AS JSON) AS attrs), "
                "0::BIGINT AS seq FROM _empty"
            )
            self.con.unregister("_empty")
            self._made["events"] = "TABLE"
            return
        ranks = ", ".join(f"('{f.base_name}', {i})" for i, f in enumerate(files))
        paths = _list([self.prefix + f.path for f in files])
        columns = ", ".join(
            f"CAST({c} AS JSON) AS {c}" if c in _JSON else c for c in EVENT_SCHEMA.names
        )
        self.con.execute(
            f"""CREATE VIEW events AS
            WITH raw AS (
              SELECT e.*, (r.rank::BIGINT << 32) + e.file_row_number AS seq
              FROM read_parquet({paths}, filename = true, file_row_number = true,
                                hive_partitioning = false) e
              JOIN (VALUES {ranks}) r(name, rank) ON r.name = parse_filename(e.filename)
            )
            SELECT {columns}, seq FROM raw
            WHERE seq IN (SELECT min(seq) FROM raw GROUP BY event_id)"""
        )
        self._made["events"] = "VIEW"

    def _loop(self, seconds: float) -> None:
        while not self._stop.wait(seconds):
            try:
                if self.refresh():
                    log.info("lake facts of %s reloaded", self.freshness.derived_at)
            except Exception:
                log.exception("reading the lake's facts failed")

    # -- what the routes use -------------------------------------------------------------
    @contextmanager
    def engine(self) -> Iterator[Engine]:
        generation = self._generation
        try:
            engine = self._engines.get_nowait()
        except queue.Empty:
            with self._lock:
                engine = Engine(Store(self.con.cursor(), None), caches=self.caches)
        try:
            yield engine
        finally:
            if generation == self._generation and self._engines.qsize() < 8:
                self._engines.put(engine)

    def change_settings(self, *args: Any, **kwargs: Any) -> Settings:
        raise Conflict(SETTINGS_FROM_FACTS.format(url=self.lake.url))

    def settings_changed(self) -> None:
        raise Conflict(SETTINGS_FROM_FACTS.format(url=self.lake.url))

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.con.close()
