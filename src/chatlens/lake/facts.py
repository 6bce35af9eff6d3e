"""Conversation facts and agent stints derived into the lake, incrementally (docs/lake.md).

`derive(lake, settings, engine="duckdb"|"spark")` reads the lake's events and writes
`ROOT/facts/date=YYYY-MM-DD/` (by the conversation's start) and `ROOT/stints/date=.../` (by
the stint's start) with the one facts declaration (store/facts_sql.py) rendered for the
engine. Only what changed is derived again:

- an events partition has changed when its files (names and sizes) differ from the ones the
  last run saw. A time watermark would miss a file another writer renamed into place after
  a newer one (a writer's clock, or a slow upload); compaction changes a partition's files,
  so it is derived again, to the same facts.
- the conversations a run derives are those with events in the changed partitions, closed
  under customer as in the store (store/facts.py): every conversation of their customers,
  and the missed chats queued after a new agent status. Their events in every other
  partition are read too.
- every facts and stints partition holding one of those conversations is written anew
  (its other rows kept), and `ROOT/_state/facts.json` (the manifest: which files make up the
  facts now, the settings' facts version, when they were derived) is replaced in one write:
  readers that go by the manifest (`chatlens serve --lake-facts`) see the old facts or the new,
  never a mix. Replaced files are deleted after the manifest.
- a change of the settings the facts depend on (their version key) rebuilds everything.

Events are deduplicated by `event_id` as they are read (a lake holds duplicates until
compaction): the first copy in file order wins, as the store keeps the first arrival. A
lake has no arrival sequence, so an event's `seq` (ties of equal time) is its file's rank
among the lake's files by name (names begin with the write time) and its row in the file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from chatlens.errors import InputError
from chatlens.events import COLUMNS
from chatlens.lake import spark_source
from chatlens.lake.layout import (
    EVENT_SCHEMA,
    EVENTS,
    FACTS,
    PARTITION,
    STINTS,
    Lake,
    event_partitions,
)
from chatlens.store.facts import facts_version
from chatlens.store.facts_dialect import DUCKDB, SPARK, FactsDialect
from chatlens.store.facts_sql import (
    EVENT_COLUMNS,
    FACTS_STEPS,
    TEXT_READ,
    facts_query,
    facts_steps,
    stints_sql,
)
from chatlens.store.settings import Settings, make_settings

if TYPE_CHECKING:
    import duckdb
    from pyspark.sql import SparkSession

log = logging.getLogger("chatlens.lake")
STATE_FILE = "_state/facts.json"
ENGINES = ("duckdb", "spark")
_JSON = [name for name in EVENT_COLUMNS if COLUMNS[name] == "json"]
"""Columns the facts read that the store keeps as JSON (a lake file holds their text)."""
SLICE_EVENTS = 25_000_000
"""A full DuckDB derivation of a lake of more events goes in slices of conversations of about
this many events each (docs/lake.md): 17.7M events (1M conversations) took 15 GB at once."""
_SEQ_SHIFT = 32
"""An event's seq: its file's rank shifted left by this, plus its row in the file."""


@dataclass
class FactsState:
    """What `ROOT/_state/facts.json` holds: the manifest of the derived facts."""

    version: str
    settings: dict[str, Any]
    engine: str
    derived_at: str
    latest_event_at: str | None
    events: dict[str, str] = field(default_factory=dict)
    """Each events partition's fingerprint (its files' names and sizes) when derived."""
    facts: dict[str, list[str]] = field(default_factory=dict)
    """Each facts partition's files (names inside `facts/date=DAY/`)."""
    stints: dict[str, list[str]] = field(default_factory=dict)

    def files(self, lake: Lake, kind: str) -> list[str]:
        """Full paths of the current files of `kind` (facts or stints)."""
        parts = self.facts if kind == FACTS else self.stints
        return [
            f"{lake.partition_dir(kind, dt.date.fromisoformat(day))}/{name}"
            for day, names in sorted(parts.items())
            for name in names
        ]


@dataclass
class DeriveResult:
    full: bool
    partitions: list[str]
    """The events partitions (days) whose changes were derived."""
    conversations: int
    """Conversations derived."""
    facts_partitions: list[str]
    """The facts partitions written anew."""
    seconds: float
    state: FactsState | None
    slices: int = 1
    """The slices of conversations a full DuckDB derivation went in (SLICE_EVENTS)."""


def read_state(lake: Lake) -> FactsState | None:
    """The lake's facts manifest, or None before the first run."""
    path = f"{lake.root}/{STATE_FILE}"
    try:
        with lake.fs.open_input_stream(path) as stream:
            data = stream.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        if "not exist" in str(exc) or "NoSuchKey" in str(exc) or "not found" in str(exc):
            return None
        raise
    return FactsState(**orjson.loads(data))


def settings_of(lake: Lake) -> Settings | None:
    """The settings the lake's facts were derived under (None before the first run)."""
    state = read_state(lake)
    return make_settings(state.settings) if state else None


def _put(lake: Lake, path: str, data: bytes) -> None:
    """Write `data` at `path` whole or not at all: a local file is written beside and
    renamed; an object store's PUT is atomic already."""
    parent = path.rsplit("/", 1)[0]
    if isinstance(lake.fs, pafs.LocalFileSystem):
        lake.fs.create_dir(parent, recursive=True)
        temp = f"{path}.{time.time_ns()}.tmp"
        with lake.fs.open_output_stream(temp) as out:
            out.write(data)
        lake.fs.move(temp, path)
    else:
        with lake.fs.open_output_stream(path) as out:
            out.write(data)


def _write_parquet(lake: Lake, path: str, table: pa.Table) -> None:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    _put(lake, path, sink.getvalue().to_pybytes())


def _fingerprint(files: Iterable[pafs.FileInfo]) -> str:
    listed = sorted(f"{f.base_name}:{f.size}" for f in files)
    return hashlib.sha256("\n".join(listed).encode()).hexdigest()[:16]


# -- the engines ------------------------------------------------------------------------------


class _Run(Protocol):
    """What one derivation asks of its engine."""

    @property
    def dialect(self) -> FactsDialect: ...

    def events_view(self, name: str, paths: list[str], ranks: pa.Table) -> None: ...
    def facts_view(self, name: str, paths: list[str]) -> None:
        """`name`: the missed-chat columns of the facts files `paths`."""
        ...

    def table(self, name: str, sql: str, params: dict[str, Any] | None = None) -> None: ...
    def arrow(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table: ...
    def close(self) -> None: ...


_SIZE = re.compile(r"\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class DuckDBLimits:
    """What a DuckDB derivation may use: `memory_limit` (DuckDB's default is 80 % of the
    RAM), where it spills beyond it (`temp_directory`; DuckDB's default is beside the
    process, `.tmp`) and how much it may spill there (`max_temp_directory_size`; by default
    90 % of the free disk). Sizes as DuckDB writes them: 8GB, 512MB, 4GiB."""

    memory_limit: str | None = None
    temp_directory: str | None = None
    max_temp_directory_size: str | None = None

    def __post_init__(self) -> None:
        for name in ("memory_limit", "max_temp_directory_size"):
            value = getattr(self, name)
            if value is not None and (not _SIZE.fullmatch(value) or not _positive(value)):
                raise InputError(
                    f"{name.replace('_', ' ')} {value!r} is not a size; give a number and "
                    "a unit, e.g. 8GB, 512MB or 4GiB"
                )

    def config(self) -> dict[str, Any]:
        """DuckDB's configuration for these limits (only those given)."""
        return {k: v.strip() for k, v in vars(self).items() if v is not None}


def _positive(size: str) -> bool:
    return float(re.sub(r"[^0-9.]", "", size)) > 0


_LAKE_VIEWS = re.compile(r"\b(_raw|_new)\b")
"""The views over the lake's events files (events_view)."""


class _DuckDBRun:
    """DuckDB reading the lake's Parquet (a local path directly, an object store through
    its pyarrow filesystem registered with DuckDB)."""

    dialect = DUCKDB

    def __init__(self, lake: Lake, limits: DuckDBLimits | None = None):
        import duckdb

        config = (limits or DuckDBLimits()).config()
        if "temp_directory" in config:
            try:
                pafs.LocalFileSystem().create_dir(config["temp_directory"], recursive=True)
            except OSError as exc:
                raise InputError(f"temp_directory: {exc}") from None
        try:
            self.con = duckdb.connect(config=config)
        except duckdb.Error as exc:
            raise InputError(f"DuckDB refused its limits: {exc}") from None
        # rows carry their order (seq): DuckDB need not keep it, and holds less in memory
        self.con.execute("SET preserve_insertion_order = false")
        self.lake = lake
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET enable_progress_bar = false")
        self.prefix = register_lake_fs(self.con, lake)

    def path(self, path: str) -> str:
        return self.prefix + path

    def events_view(self, name: str, paths: list[str], ranks: pa.Table) -> None:
        files = [self.path(p) for p in paths] or None
        columns = ", ".join(f"CAST({c} AS JSON) AS {c}" if c in _JSON else c for c in EVENT_COLUMNS)
        if files is None:  # no file: an empty relation of the events' columns
            self.con.execute(
                f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {columns}, 0::BIGINT AS seq "
                f"FROM {name}_empty"
            )
            return
        # a file's rank in the lake's age order, by its place in the list read (file_index):
        # no join of every event with the ranks by file name
        rank_of = dict(zip(ranks["name"].to_pylist(), ranks["rank"].to_pylist(), strict=True))
        file_ranks = ", ".join(str(rank_of[p.rpartition("/")[2]]) for p in paths)
        self.con.execute(  # only the columns the facts read (EVENT_COLUMNS)
            f"""CREATE OR REPLACE TEMP VIEW {name} AS
            SELECT {columns},
              (list_extract([{file_ranks}], file_index::BIGINT + 1)::BIGINT << {_SEQ_SHIFT})
                + file_row_number AS seq
            FROM read_parquet({_list(files)}, file_row_number = true, hive_partitioning = false)"""
        )

    def facts_view(self, name: str, paths: list[str]) -> None:
        source = f"read_parquet({_list([self.path(p) for p in paths])})" if paths else None
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW {name} AS "
            + (f"SELECT {', '.join(_OLD_TYPES)} FROM {source}" if source else _NO_OLD_FACTS)
        )

    def table(self, name: str, sql: str, params: dict[str, Any] | None = None) -> None:
        # DuckDB guesses a Parquet scan's rows from its first file (a lake's oldest, often
        # its smallest day: 100x too few at 10M conversations) and then builds its hash
        # tables on the lake's side of `x IN (SELECT ...)`: every event in memory, spilled
        # (28 GB in 3 minutes). Over the lake's views the joins keep the side they are
        # written with: the subquery's.
        reads_lake = _LAKE_VIEWS.search(sql) is not None
        if reads_lake:
            self.con.execute("SET disabled_optimizers = 'build_side_probe_side'")
        try:
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}", params or {})
        finally:
            if reads_lake:
                self.con.execute("RESET disabled_optimizers")

    def arrow(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
        return self.con.sql(sql, params=params or None).to_arrow_table()

    def close(self) -> None:
        self.con.close()

    def rows(self, paths: list[str]) -> int:
        """The rows of these Parquet files (from their footers), duplicates included."""
        if not paths:
            return 0
        files = _list([self.path(p) for p in paths])
        [(count,)] = self.con.execute(f"SELECT count(*) FROM read_parquet({files})").fetchall()
        return int(count)

    def out_of_memory(self, exc: Exception) -> InputError | None:
        """A clear error when DuckDB ran out of memory and spill space."""
        import duckdb

        if not isinstance(exc, duckdb.OutOfMemoryException):
            return None
        [(memory, folder, spill)] = self.con.execute(
            "SELECT current_setting('memory_limit'), current_setting('temp_directory'), "
            "current_setting('max_temp_directory_size')"
        ).fetchall()
        return InputError(
            f"DuckDB ran out of memory (memory limit {memory}, at most {spill} spilled into "
            f"{folder or 'no folder'}); the facts are as they were. Give it more with "
            "--memory-limit or --max-temp-size, or a --temp-dir on a bigger disk"
        )


class _SparkRun:
    """Spark on the session given (local[N], a standalone cluster or Spark Connect)."""

    dialect = SPARK

    def __init__(self, lake: Lake, session: SparkSession):
        from chatlens.store.spark import SparkBackend

        SparkBackend(session)  # checks the session's time zone
        self.lake = lake
        self.session = session
        self.checkpoints: list[Any] = []
        self.sizes: dict[str, int] = {}
        """Each file's size, for a lake Spark reads through pyarrow (lake/spark_source.py)."""
        if spark_source.needs_source(lake):
            for files in event_partitions(lake).values():
                self.sizes.update((f.path, f.size or 0) for f in files)

    def _read(self, paths: list[str], schema: pa.Schema, position: bool = False) -> Any:
        """The files `paths` of an object-store lake, through pyarrow (spark_source)."""
        files = [(p, self.sizes.get(p) or 0) for p in paths]
        where = ("file_name", "row_index") if position else None
        return spark_source.read_files(self.session, self.lake, files, schema, where)

    def events_view(self, name: str, paths: list[str], ranks: pa.Table) -> None:
        F = spark_source.functions(self.session)  # a classic or a Connect session's

        if not paths:
            frame = self.session.createDataFrame(EVENT_SCHEMA.empty_table().to_pandas())
            frame.withColumn("seq", F.lit(0).cast("bigint")).createOrReplaceTempView(name)
            return
        if spark_source.needs_source(self.lake):
            frame = self._read(paths, EVENT_SCHEMA, position=True)
        else:
            frame = (
                self.session.read.option("basePath", self.lake.kind_dir(EVENTS))
                .parquet(*paths)
                .select("*", "_metadata.file_name", "_metadata.row_index")
            )
        if PARTITION in frame.columns:
            frame = frame.drop(PARTITION)
        rank = self.session.createDataFrame(ranks.to_pandas())
        joined = frame.join(F.broadcast(rank), frame.file_name == rank.name)
        seq = F.shiftleft(joined["rank"].cast("bigint"), _SEQ_SHIFT) + joined["row_index"]
        joined.withColumn("seq", seq).drop(
            "file_name", "row_index", "name", "rank"
        ).createOrReplaceTempView(name)

    def facts_view(self, name: str, paths: list[str]) -> None:
        if paths and spark_source.needs_source(self.lake):
            frame = self._read(paths, pa.schema(_OLD_TYPES))
        elif paths:
            frame = self.session.read.parquet(*paths).select(*_OLD_TYPES)
        else:
            frame = self.session.sql(_NO_OLD_FACTS)
        frame.createOrReplaceTempView(name)

    def table(self, name: str, sql: str, params: dict[str, Any] | None = None) -> None:
        frame = self.session.sql(sql, args=params or None).localCheckpoint()
        frame.createOrReplaceTempView(name)
        self.checkpoints.append(frame)

    def arrow(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
        table: pa.Table = self.session.sql(sql, args=params or None).toArrow()
        return table

    def close(self) -> None:
        for name in (
            "_raw",
            "_new",
            "_old_facts",
            "_scope",
            "events",
            "agent_stints",
            *FACTS_STEPS,
        ):
            self.session.catalog.dropTempView(name)
        for frame in self.checkpoints:  # checkpointed blocks are held until let go
            frame.unpersist()


def _list(items: list[str]) -> str:
    """A SQL list of string literals."""
    return "[" + ", ".join("'" + item.replace("'", "''") + "'" for item in items) + "]"


def register_lake_fs(con: duckdb.DuckDBPyConnection, lake: Lake) -> str:
    """Let DuckDB read the lake (its S3 support is an extension this machine may not have):
    a local lake is read directly; another filesystem through fsspec's wrapper of the
    lake's pyarrow filesystem. Returns the prefix to put before a path of the lake."""
    if isinstance(lake.fs, pafs.LocalFileSystem):
        return ""
    from fsspec.implementations.arrow import ArrowFSWrapper

    class LakeFS(ArrowFSWrapper):  # type: ignore[misc]
        protocol = "chatlenslake"

        @classmethod
        def _strip_protocol(cls, path: str) -> str:  # the bucket is part of the path
            return path.removeprefix("chatlenslake://").rstrip("/")

    if not con.filesystem_is_registered("chatlenslake"):
        con.register_filesystem(LakeFS(lake.fs))
    return "chatlenslake://"


# -- the derivation ---------------------------------------------------------------------------

_SCOPE_SQL = """
WITH new AS (
  SELECT conversation_id, customer_id, type, ts FROM _new
),
convs AS (
  SELECT conversation_id FROM new WHERE conversation_id IS NOT NULL
  UNION
  -- an agent status changes the reason of the missed chats queued from its time on
  SELECT conversation_id FROM _old_facts
  WHERE missed AND queue_entry_at >= (SELECT min(ts) FROM new WHERE type = 'agent_status')
),
customers AS (
  SELECT customer_id FROM new WHERE customer_id IS NOT NULL
  UNION
  SELECT customer_id FROM _raw
  WHERE conversation_id IN (SELECT /*+ BROADCAST(convs) */ conversation_id FROM convs)
    AND customer_id IS NOT NULL
)
SELECT conversation_id FROM convs
UNION
SELECT conversation_id FROM _raw
WHERE customer_id IN (SELECT /*+ BROADCAST(customers) */ customer_id FROM customers)
  AND conversation_id IS NOT NULL
"""
"""The conversations an incremental run derives. The `BROADCAST` hints are Spark's (a
comment to DuckDB): the day's conversations and customers are small, but Spark estimates
them from the lake they are found in and otherwise sorts the whole lake's events on both
sides of a sort-merge join (at 10M: 176.7M events, 50 GB of sort spill in 20 minutes)."""

_EVENTS_SQL = """
SELECT {columns} FROM _raw
WHERE ({where}) AND seq IN (SELECT min(seq) FROM _raw WHERE {where} GROUP BY event_id)
"""
"""The events a run reads, each once: its conversations', their customers' (goals, visits,
page views) and every agent status (who was online). The first copy is found by its `seq`
alone (a semi-join): a row_number() window over whole rows took 10x as long (194 s against
20 s for 1.8 M events)."""

_COLUMNS = ", ".join(
    f"CASE WHEN {TEXT_READ} THEN text END AS text" if c == "text" else c
    for c in [*EVENT_COLUMNS, "seq"]
)
"""The events' columns a run keeps: those the facts read, `text` only where they read it."""

_RUN_EVENTS = (
    "conversation_id IN (SELECT /*+ BROADCAST(_scope) */ conversation_id FROM _scope) "
    "OR customer_id IN (SELECT /*+ BROADCAST(c) */ customer_id FROM ("
    "SELECT customer_id FROM _raw WHERE customer_id IS NOT NULL "
    "AND conversation_id IN (SELECT /*+ BROADCAST(_scope) */ conversation_id FROM _scope)) c) "
    "OR type = 'agent_status'"
)
"""The events of a run's conversations (`_scope`), their customers' and every agent status
(the hints: _SCOPE_SQL's; a full run's scope is every conversation, but a full run on Spark
reads every event without this filter)."""


def _old_columns(lake: Lake, state: FactsState | None, kind: str, columns: list[str]) -> pa.Table:
    """Some columns of the current facts (or stints) with each row's partition day."""
    tables = []
    if state is not None:
        parts = state.facts if kind == FACTS else state.stints
        for day, names in parts.items():
            for name in names:
                path = f"{lake.partition_dir(kind, dt.date.fromisoformat(day))}/{name}"
                table = pq.read_table(path, columns=columns, filesystem=lake.fs)
                tables.append(table.append_column("day", pa.array([day] * table.num_rows)))
    if not tables:
        return pa.table({c: pa.array([], _OLD_TYPES[c]) for c in columns} | {"day": []})
    return pa.concat_tables(tables)


_NO_OLD_FACTS = (
    "SELECT CAST(NULL AS STRING) AS conversation_id, CAST(NULL AS BOOLEAN) AS missed, "
    "CAST(NULL AS TIMESTAMP) AS queue_entry_at WHERE false"
)
_OLD_TYPES = {
    "conversation_id": pa.string(),
    "missed": pa.bool_(),
    "queue_entry_at": pa.timestamp("us", tz="UTC"),
}


def _facts_schema() -> tuple[pa.Schema, pa.Schema]:
    """The columns and types of the facts and stints (DuckDB's, over no events): files
    written by either engine have these."""
    global _SCHEMAS
    if _SCHEMAS is None:
        import duckdb

        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.register("_empty", EVENT_SCHEMA.empty_table())
        con.execute("CREATE TEMP TABLE events AS SELECT *, 0::BIGINT AS seq FROM _empty")
        con.execute("CREATE TEMP TABLE _scope (conversation_id VARCHAR)")
        con.execute(f"CREATE TEMP TABLE agent_stints AS {stints_sql(DUCKDB)}")
        stints = con.sql("SELECT * FROM agent_stints").to_arrow_table().schema
        sql, params = facts_query(DUCKDB, make_settings({}))
        facts = con.sql(sql, params=params).to_arrow_table().schema
        con.close()
        _SCHEMAS = (_plain(facts), _plain(stints))
    return _SCHEMAS


_SCHEMAS: tuple[pa.Schema, pa.Schema] | None = None


def _plain(schema: pa.Schema) -> pa.Schema:
    """Extension types (DuckDB's JSON) as plain strings; timestamps with zone `UTC`."""
    fields = []
    for f in schema:
        if isinstance(f.type, pa.ExtensionType):
            f = f.with_type(pa.string())
        elif pa.types.is_timestamp(f.type) and f.type.tz:
            f = f.with_type(pa.timestamp("us", tz="UTC"))
        elif pa.types.is_list(f.type) and pa.types.is_timestamp(f.type.value_type):
            f = f.with_type(pa.list_(pa.timestamp("us", tz="UTC")))
        fields.append(f)
    return pa.schema(fields)


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with the columns of `schema` in its order and types."""
    columns = []
    for f in schema:
        column = table.column(f.name)
        if isinstance(column.type, pa.ExtensionType):
            column = pa.chunked_array([c.storage for c in column.chunks], column.type.storage_type)
        columns.append(column.cast(f.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _day_of(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.strftime(column, format="%Y-%m-%d")


def _by_day(rows: pa.Table, start_column: str) -> dict[str, pa.Table]:
    """The rows by the UTC day of `start_column`, in one sort (a filter per day was a pass
    over every row per day: 365 passes over a year's facts)."""
    if not rows.num_rows:
        return {}
    days = _day_of(rows[start_column])
    order = pc.sort_indices(days)
    ordered, days = rows.take(order), days.take(order)
    found, offset = {}, 0
    for item in pc.value_counts(days):  # in order of first appearance: the sorted order
        count = item["counts"].as_py()
        found[item["values"].as_py()] = ordered.slice(offset, count)
        offset += count
    return found


def derive(
    lake: Lake,
    settings: Settings,
    engine: str = "duckdb",
    session: SparkSession | None = None,
    *,
    full: bool = False,
    limits: DuckDBLimits | None = None,
    slice_events: int | None = None,
) -> DeriveResult:
    """Derive the facts and stints of what changed in the lake since the last run (all of
    it with `full`, on the first run, or when `settings` change the facts). `limits`: what
    DuckDB may use (the DuckDB engine only). A full derivation on DuckDB goes in slices of
    conversations of about `slice_events` events each (default SLICE_EVENTS)."""
    if engine not in ENGINES:
        raise InputError(f"unknown facts engine {engine!r}; expected one of {', '.join(ENGINES)}")
    started = time.perf_counter()
    if engine == "spark" and spark_source.needs_source(lake):
        spark_source.check_lake(lake)  # credentials for the executors, the store answers
    else:
        lake.check_reachable()
    state = read_state(lake)
    version = facts_version(settings)
    partitions = event_partitions(lake)
    prints = {day: _fingerprint(files) for day, files in partitions.items()}
    gone = state is not None and bool(set(state.events) - set(prints))
    full = full or state is None or state.version != version or gone
    seen = {} if full or state is None else state.events
    touched = sorted(d for d in prints if full or seen.get(d) != prints[d])
    if not touched and not full:
        return DeriveResult(False, [], 0, [], time.perf_counter() - started, state)
    run: _Run
    if engine == "spark":
        from chatlens.store.spark import spark_session

        run = _SparkRun(lake, session or spark_session())
    else:
        run = _DuckDBRun(lake, limits)
    try:
        return _derive(
            lake,
            settings,
            run,
            state,
            version,
            partitions,
            prints,
            touched,
            full,
            started,
            slice_events or SLICE_EVENTS,
        )
    except Exception as exc:
        error = run.out_of_memory(exc) if isinstance(run, _DuckDBRun) else None
        if error is not None:
            raise error from None
        raise
    finally:
        run.close()


def _derive(
    lake: Lake,
    settings: Settings,
    run: _Run,
    state: FactsState | None,
    version: str,
    partitions: dict[str, list[pafs.FileInfo]],
    prints: dict[str, str],
    touched: list[str],
    full: bool,
    started: float,
    slice_events: int,
) -> DeriveResult:
    facts_schema, stints_schema = _facts_schema()
    everything = sorted(
        (f for files in partitions.values() for f in files), key=lambda f: f.base_name
    )
    ranks = pa.table(
        {
            "name": [f.base_name for f in everything],
            "rank": pa.array(range(len(everything)), pa.int64()),
        }
    )
    if isinstance(run, _DuckDBRun):
        run.con.register("_raw_empty", EVENT_SCHEMA.empty_table())
        run.con.register("_new_empty", EVENT_SCHEMA.empty_table())
    run.events_view("_raw", [f.path for f in everything], ranks)
    old_facts = _old_columns(lake, None if full else state, FACTS, list(_OLD_TYPES))
    old_stints = _old_columns(lake, None if full else state, STINTS, ["conversation_id"])
    slices = 1
    if full and isinstance(run, _DuckDBRun):
        slices = max(1, -(-run.rows([f.path for f in everything]) // slice_events))
    sliced: tuple[dict[str, list[str]], dict[str, list[str]]] = ({}, {})
    facts = stints = None
    if full and slices > 1:  # each slice's rows are written as it ends: memory holds one

        def write(slice_facts: pa.Table, slice_stints: pa.Table) -> None:
            _append_days(lake, FACTS, _conform(slice_facts, facts_schema), sliced[0])
            _append_days(lake, STINTS, _conform(slice_stints, stints_schema), sliced[1])

        scope = _derive_slices(run, settings, slices, write)
    else:
        if full:
            run.table(
                "_scope",
                "SELECT DISTINCT conversation_id FROM _raw WHERE conversation_id IS NOT NULL",
            )
            run.table("events", _EVENTS_SQL.format(where="true", columns=_COLUMNS))
        else:
            new_paths = [f.path for day in touched for f in partitions[day]]
            run.events_view("_new", new_paths, ranks)
            run.facts_view("_old_facts", state.files(lake, FACTS) if state else [])
            run.table("_scope", _SCOPE_SQL)
            run.table("events", _EVENTS_SQL.format(where=_RUN_EVENTS, columns=_COLUMNS))
        scope = run.arrow("SELECT conversation_id FROM _scope").column(0).combine_chunks()
        facts, stints = _facts_of(run, settings, "_scope")
        facts, stints = _conform(facts, facts_schema), _conform(stints, stints_schema)
    latest_new = run.arrow(f"SELECT max(ts) AS ts FROM {'_raw' if full else '_new'}")[0][0]
    previous = state.latest_event_at if state and not full else None
    latest_at = max(
        [
            t
            for t in (latest_new.as_py().isoformat() if latest_new.is_valid else None, previous)
            if t
        ],
        default=None,
    )
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    new_state = FactsState(
        version=version,
        settings=settings.model_dump(mode="json"),
        engine=run.dialect.name,
        derived_at=now,
        latest_event_at=latest_at,
        events=prints,
        facts={} if full else dict(state.facts) if state else {},
        stints={} if full else dict(state.stints) if state else {},
    )
    if facts is None or stints is None:  # written slice by slice
        new_state.facts, new_state.stints = sliced
        written_facts = sorted(new_state.facts)
        dropped = state.files(lake, FACTS) if state else []
        dropped_stints = state.files(lake, STINTS) if state else []
    else:
        written_facts, dropped = _rewrite(
            lake, FACTS, facts, "started_at", old_facts, scope, state, new_state, full
        )
        _, dropped_stints = _rewrite(
            lake, STINTS, stints, "started_at", old_stints, scope, state, new_state, full
        )
    _put(
        lake, f"{lake.root}/{STATE_FILE}", orjson.dumps(vars(new_state), option=orjson.OPT_INDENT_2)
    )
    for path in dropped + dropped_stints:  # after the manifest: readers have moved on
        with contextlib.suppress(OSError):
            lake.fs.delete_file(path)
    took = time.perf_counter() - started
    return DeriveResult(full, touched, len(scope), written_facts, took, new_state, slices)


def _facts_of(run: _Run, settings: Settings, keep: str) -> tuple[pa.Table, pa.Table]:
    """The facts and stints of the conversations in the temp table `keep`, from the temp
    table `events` (which holds every event they need: see _derive)."""
    run.table("agent_stints", stints_sql(run.dialect))
    sql, params = facts_query(run.dialect, settings)
    if run.dialect is SPARK:  # Spark inlines CTEs: the shared ones are computed once first
        steps, params = facts_steps(SPARK, settings)
        for name, step in steps[:-1]:
            run.table(name, step, params)
        sql = steps[-1][1]
    keep_ids = run.arrow(f"SELECT conversation_id FROM {keep}").column(0).combine_chunks()
    facts = run.arrow(sql, params)
    facts = facts.filter(pc.is_in(facts["conversation_id"], keep_ids))
    in_keep = f"conversation_id IN (SELECT conversation_id FROM {keep})"
    return facts, run.arrow(f"SELECT * FROM agent_stints WHERE {in_keep}")


_OWNERS_SQL = """
SELECT conversation_id, hash(coalesce(min(customer_id), conversation_id)) % {slices} AS part
FROM _raw WHERE conversation_id IS NOT NULL GROUP BY conversation_id
"""
"""Every conversation's slice, by a hash of its customer (the least customer_id of its
events; its own id when it has none): a customer's conversations fall in one slice, so a
slice's closure under customer (_SLICE_SCOPE_SQL) adds next to nothing. Slicing by the
conversation's own id instead made each slice derive 2.2x its conversations at 10M (2.7M
for 1.25M kept: 36M events read a slice, 19.5 GB spilled by the facts query)."""

_SLICE_SCOPE_SQL = """
WITH seed AS (SELECT conversation_id FROM _owners WHERE part = {part}),
customers AS (
  SELECT DISTINCT customer_id FROM _raw
  WHERE conversation_id IN (SELECT conversation_id FROM seed) AND customer_id IS NOT NULL
)
SELECT conversation_id FROM seed
UNION
SELECT conversation_id FROM _raw
WHERE customer_id IN (SELECT customer_id FROM customers) AND conversation_id IS NOT NULL
"""
"""A slice's conversations (its own: `_owners`) closed under customer as an incremental
run's are: every conversation of their customers, whose events their facts read
(follow-ups, goal attribution); only a conversation with two customers brings in another
slice's. Only the slice's own facts are kept."""


def _derive_slices(
    run: _Run, settings: Settings, slices: int, write: Callable[[pa.Table, pa.Table], None]
) -> pa.Array:
    """A full derivation on DuckDB in `slices` parts by a hash of the conversations'
    customer, each one as an incremental run derives and handed to `write` (its facts, its
    stints) as it ends: memory and spill grow with a slice, not the lake. Returns the
    conversations derived."""
    seeds = []
    run.table("_owners", _OWNERS_SQL.format(slices=int(slices)))
    for part in range(slices):
        began = time.perf_counter()
        run.table("_scope", _SLICE_SCOPE_SQL.format(part=int(part)))
        run.table("_seed", f"SELECT conversation_id FROM _owners WHERE part = {int(part)}")
        run.table("events", _EVENTS_SQL.format(where=_RUN_EVENTS, columns=_COLUMNS))
        write(*_facts_of(run, settings, "_seed"))
        seeds.append(run.arrow("SELECT conversation_id FROM _seed").column(0).combine_chunks())
        log.info(
            "facts slice %d of %d: %d conversations (%d with their customers' others) in %.1f s",
            part + 1,
            slices,
            len(seeds[-1]),
            run.arrow("SELECT count(*) AS n FROM _scope")[0][0].as_py(),
            time.perf_counter() - began,
        )
    return pa.concat_arrays(seeds)


def _append_days(lake: Lake, kind: str, rows: pa.Table, into: dict[str, list[str]]) -> None:
    """Write `rows` (facts or stints of one slice) as a new file in each day's partition
    they fall on, added to the days' files in `into` (a manifest's: several a day)."""
    for day, table in _by_day(rows, "started_at").items():
        name = lake.new_file_name()
        folder = lake.partition_dir(kind, dt.date.fromisoformat(day))
        table = table.sort_by([("conversation_id", "ascending"), ("started_at", "ascending")])
        _write_parquet(lake, f"{folder}/{name}", table)
        into.setdefault(day, []).append(name)


def _rewrite(
    lake: Lake,
    kind: str,
    rows: pa.Table,
    start_column: str,
    old: pa.Table,
    scope: pa.Array,
    state: FactsState | None,
    new_state: FactsState,
    full: bool,
) -> tuple[list[str], list[str]]:
    """Write the partitions of `kind` that gain or lose rows of the scope's conversations
    into `new_state`; returns the days written and the files they replace."""
    current = new_state.facts if kind == FACTS else new_state.stints
    previous = (state.facts if kind == FACTS else state.stints) if state else {}
    days = set(pc.unique(_day_of(rows[start_column])).to_pylist()) if rows.num_rows else set()
    if not full:
        losing = old.filter(pc.is_in(old["conversation_id"], scope))
        days |= set(pc.unique(losing["day"]).to_pylist())
    by_day = _by_day(rows, start_column)
    replaced: list[str] = []
    for day in sorted(days):
        folder = lake.partition_dir(kind, dt.date.fromisoformat(day))
        kept = []
        if not full:
            for name in previous.get(day, []):
                table = pq.read_table(f"{folder}/{name}", filesystem=lake.fs)
                kept.append(table.filter(pc.invert(pc.is_in(table["conversation_id"], scope))))
        fresh = by_day.get(day, rows.slice(0, 0))
        table = pa.concat_tables([*(_conform(k, rows.schema) for k in kept), fresh])
        table = table.sort_by([("conversation_id", "ascending"), (start_column, "ascending")])
        if table.num_rows:
            name = lake.new_file_name()
            _write_parquet(lake, f"{folder}/{name}", table)
            current[day] = [name]
        else:
            current.pop(day, None)
    if full:
        for day, names in previous.items():
            folder = lake.partition_dir(kind, dt.date.fromisoformat(day))
            replaced += [f"{folder}/{n}" for n in names]
    else:
        for day in days:
            folder = lake.partition_dir(kind, dt.date.fromisoformat(day))
            replaced += [f"{folder}/{n}" for n in previous.get(day, [])]
    return sorted(days), replaced
