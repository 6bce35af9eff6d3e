"""Apache Spark as the engine (optional: `pip install 'chatlens[spark]'`).

`open_spark(events)` reads an events Parquet file (what `chatlens export events` writes),
`open_spark_lake(url)` the events of a lake (`ROOT/events/date=*/part-*.parquet`, deduplicated
by `event_id`); both derive the conversation facts and agent stints on Spark (facts_sql.py
rendered for Spark) and return a `SparkBackend` the metric engine runs on
(`Engine.on(backend, settings)`).

The session (`spark_session`) is `local[2]` in this process unless told otherwise: a
standalone cluster (`master="spark://HOST:7077"`) or a Spark Connect server
(`remote="sc://HOST:15002"`). Either way: no UI, few shuffle partitions, and the session time
zone UTC, so that a TIMESTAMP value is a UTC instant as in DuckDB. docs/spark.md has the
set-up of each.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import ibis
import ibis.expr.datatypes as dtypes
import pyarrow.fs as pafs

from chatlens.errors import InputError
from chatlens.lake import spark_source
from chatlens.lake.layout import EVENT_SCHEMA, EVENTS, Lake
from chatlens.store.facts import FACTS_TABLE
from chatlens.store.facts_dialect import SPARK
from chatlens.store.facts_sql import facts_steps, stints_sql
from chatlens.store.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SPARK_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    # adaptive execution re-plans every stage: measured 1.5x slower on chatlens-sized data
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
    # a division by zero is NULL, as in DuckDB: with ANSI mode (Spark 4's default) CORR over
    # a group of zero variance (ces_csat_correlation of a day with one rating) fails the job
    "spark.sql.ansi.enabled": "false",
    "spark.sql.legacy.sizeOfNull": "false",  # SIZE(NULL) stays NULL with ANSI mode off
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # the unit in which sorts and aggregations take execution memory. Spark's default is the
    # pool / cores / 16 rounded up to a power of two (16 MB for a 1 GB local[2] driver): the
    # facts' joins chain some twenty sorts and aggregations in one task, each holding a page,
    # and with two tasks running the pool ran out (UNABLE_TO_ACQUIRE_MEMORY, whatever the
    # driver's memory: the page grows with it). docs/spark.md, "Memory"
    "spark.buffer.pageSize": "2m",
}
"""The settings of the session chatlens starts (offline, small, UTC)."""

LOCAL_MASTER = "local[2]"
"""The default: Spark inside this process, on two threads."""


def spark_session(master: str | None = None, remote: str | None = None) -> SparkSession:
    """A Spark session for chatlens: `local[2]` by default, a standalone cluster's master
    (`spark://HOST:PORT`, this process is the driver) or a Spark Connect server
    (`sc://HOST:PORT`, the server is the driver; this process only sends plans). A classic
    session already running in this process on the same master is reused."""
    if master and remote:
        raise InputError("--master and --remote: give one (a cluster, or a Spark Connect server)")
    if remote is not None and not remote.startswith("sc://"):
        raise InputError(f"--remote {remote!r}: expected sc://HOST:PORT (a Spark Connect server)")
    if master is not None and not master.startswith(("local", "spark://")):
        raise InputError(f"--master {master!r}: expected local[N] or spark://HOST:PORT")
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InputError(
            "the Spark engine needs pyspark: pip install 'chatlens[spark]' (or make test-spark)"
        ) from None
    if remote is not None:
        return _connect_session(remote)
    master = master or LOCAL_MASTER
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers run this Python
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # offline: bind to loopback only
    active = SparkSession.getActiveSession()
    if active is not None and active.sparkContext.master != master:
        raise InputError(
            f"a Spark session on {active.sparkContext.master} already runs in this process; "
            f"stop it before starting one on {master}"
        )
    builder = SparkSession.builder.master(master).appName("chatlens")
    for key, value in SPARK_CONF.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _connect_session(remote: str) -> SparkSession:
    """A session on a Spark Connect server. The Connect client's own builder is used, not
    `SparkSession.builder.remote()`: that one refuses while a classic session runs in this
    process and switches the whole process to Connect mode (an environment variable)."""
    try:
        from pyspark.sql.connect.session import SparkSession as ConnectSession
    except ImportError as exc:  # grpcio, grpcio-status, googleapis-common-protos
        raise InputError(
            f"Spark Connect needs its client libraries: pip install 'chatlens[spark]' ({exc})"
        ) from None
    from pyspark.sql.connect.client import DefaultChannelBuilder

    endpoint = DefaultChannelBuilder(remote).endpoint
    active = ConnectSession.getActiveSession()
    builder = getattr(getattr(active, "client", None), "_builder", None)
    if active is not None and getattr(builder, "endpoint", None) == endpoint:
        # the same server's session is reused: a second session of one process got
        # "No DataFrame with id ... is found" for its own checkpoints (pyspark 4.0.5)
        return cast("SparkSession", active)
    session = ConnectSession.builder.remote(remote).create()
    try:
        for key, value in SPARK_CONF.items():
            if key.startswith("spark.sql."):  # the server's static settings stay its own
                session.conf.set(key, value)
    except Exception as exc:  # grpc's errors: the server is not there or refused
        session.stop()
        raise InputError(f"cannot reach the Spark Connect server at {remote}: {exc}") from None
    return cast("SparkSession", session)


def _spark_type(dtype: dtypes.DataType) -> Any:
    from pyspark.sql import types as st

    if dtype.is_timestamp():
        # wall-clock values stay wall-clock (NTZ); instants are TIMESTAMP (UTC session)
        return st.TimestampType() if dtype.timezone else st.TimestampNTZType()
    raise TypeError(f"no Spark column type for {dtype} in a temp table")


class SparkBackend:
    """A Spark session holding the views `events`, `agent_stints` and `conversation_facts`."""

    dialect = "spark"

    def __init__(self, session: SparkSession):
        self.session = session
        self._kept: dict[str, Any] = {}
        zone = session.conf.get("spark.sql.session.timeZone")
        if zone != "UTC":  # TIMESTAMP values would be read and shown in another zone
            raise InputError(f"the Spark session time zone is {zone!r}; chatlens needs 'UTC'")

    def sql(self, query: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.session.sql(query).toArrow().to_pylist()
        return [{k: _naive(v) for k, v in row.items()} for row in rows]

    def sql_many(self, queries: Sequence[str]) -> list[list[dict[str, Any]]]:
        # Spark runs jobs of several threads side by side; each small query mostly waits on
        # scheduling, so four at a time took 0.6x the time of one by one (local[2], 2 cores).
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(self.sql, queries))

    def create_temp_table(
        self, name: str, schema: ibis.Schema, rows: Sequence[tuple[Any, ...]]
    ) -> None:
        from pyspark.sql import types as st

        struct = st.StructType([st.StructField(c, _spark_type(t)) for c, t in schema.items()])
        frame = self.session.createDataFrame(list(rows), schema=struct)
        frame.createOrReplaceTempView(name)

    def table_schema(self, name: str) -> ibis.Schema:
        from ibis.backends.pyspark.datatypes import PySparkType
        from pyspark.sql import types as st

        types = {}
        for field in self.session.table(name).schema.fields:
            if isinstance(field.dataType, st.TimestampType):  # an instant
                types[field.name] = dtypes.Timestamp(timezone="UTC")
            else:
                types[field.name] = PySparkType.to_ibis(field.dataType)
        if "attrs" in types:
            types["attrs"] = dtypes.JSON()
        return ibis.Schema(types)

    def load_events(self, path: str | os.PathLike[str], settings: Settings) -> None:
        """Read the events Parquet and derive the stints and the facts under `settings`."""
        source = Path(path)
        if not source.exists():
            raise InputError(
                f"no events file at {source}: write one with "
                "chatlens export events --format parquet --out FILE"
            )
        self.session.read.parquet(str(source)).createOrReplaceTempView("events")
        self._derive()
        self.derive_facts(settings)

    def load_lake(self, url: str, settings: Settings) -> None:
        """Read a lake's events and derive the stints and the facts under `settings`. A
        local lake is read by Spark's Parquet reader, an S3 one through pyarrow
        (lake/spark_source.py: no Hadoop S3A connector needed)."""
        lake = Lake.open(url)
        if spark_source.needs_source(lake):
            spark_source.check_lake(lake)
        path = lake_events_path(url)
        if spark_source.needs_source(lake):
            files = spark_source.event_files(lake)
            frame = spark_source.read_files(
                self.session, lake, files, EVENT_SCHEMA, ("_file", "_row")
            )
        else:
            frame = (
                self.session.read.schema(_spark_schema())
                .option("pathGlobFilter", "*.parquet")
                .parquet(path)
                .selectExpr(
                    *EVENT_SCHEMA.names,
                    "_metadata.file_name AS _file",
                    "_metadata.row_index AS _row",
                )
            )
        frame.createOrReplaceTempView("_lake_events")
        self._checkpoint(self.session.sql(LAKE_EVENTS_SQL), "events")
        self._derive()
        self.derive_facts(settings)

    def _derive(self) -> None:
        self._checkpoint(self.session.sql(stints_sql(SPARK)), "agent_stints")

    def derive_facts(self, settings: Settings, table: str = FACTS_TABLE) -> None:
        """(Re)derive the conversation facts under `settings` into the view `table`."""
        steps, params = facts_steps(SPARK, settings)
        for view, query in steps[:-1]:
            self._checkpoint(self.session.sql(query, args=params), view)
        self._checkpoint(self.session.sql(steps[-1][1], args=params), table)

    def _checkpoint(self, frame: Any, view: str) -> None:
        """`frame` computed once (localCheckpoint) and named `view`. The checkpointed frame is
        kept: through Spark Connect it is a relation cached on the server, released when its
        Python object is collected, and the view would then name nothing."""
        checkpointed = frame.localCheckpoint()
        checkpointed.createOrReplaceTempView(view)
        self._kept[view] = checkpointed

    def facts_rows(self, table: str = FACTS_TABLE) -> list[dict[str, Any]]:
        """Every row of the facts, by conversation (timestamps naive UTC)."""
        return self.sql(f"SELECT * FROM {table} ORDER BY conversation_id")


LAKE_EVENTS_SQL = f"""
WITH files AS (  -- a lake's file names start with their write time: their order is arrival
  SELECT _file, row_number() OVER (ORDER BY _file) AS _n
  FROM (SELECT DISTINCT _file FROM _lake_events)
),
arrived AS (
  SELECT e.*, shiftleft(CAST(f._n AS BIGINT), 32) + e._row AS seq
  FROM _lake_events e JOIN files f USING (_file)
),
firsts AS (
  SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY seq) AS _copy FROM arrived
)
SELECT {", ".join(EVENT_SCHEMA.names)}, seq FROM firsts WHERE _copy = 1
"""
"""The events of a lake as the store holds them: each `event_id` once (its first copy), and
`seq`, the arrival order the facts break ties of `ts` with, from the file's place among the
lake's files (names sort by write time) and the row's place in its file."""


def lake_events_path(url: str) -> str:
    """Where a lake's events are: the local folder, or `bucket/prefix/events` inside an
    `s3://` lake's filesystem (read through pyarrow: lake/spark_source.py). The lake must
    hold events (an `events/` folder): else an InputError says so."""
    lake = Lake.open(url)
    events = lake.kind_dir(EVENTS)
    if lake.fs.get_file_info(events).type != pafs.FileType.Directory:
        raise InputError(f"no events in the lake at {url!r} (no {EVENTS}/ folder under it)")
    if isinstance(lake.fs, pafs.LocalFileSystem):
        return events
    if isinstance(lake.fs, pafs.S3FileSystem):
        return events
    raise InputError(f"the lake at {url!r}: Spark reads local folders and s3:// lakes only")


def _spark_schema() -> Any:
    """The events' Spark columns (the lake's files are read with them, not inferred)."""
    from pyspark.sql import types as st

    kinds = {
        "string": st.StringType(),
        "double": st.DoubleType(),
        "bool": st.BooleanType(),
        "timestamp[us, tz=UTC]": st.TimestampType(),
    }
    return st.StructType([st.StructField(f.name, kinds[str(f.type)]) for f in EVENT_SCHEMA])


def _naive(value: Any) -> Any:
    """Timestamps come back as the session's wall-clock (UTC) values, without a zone, so
    local times (buckets) compare equal to DuckDB's naive TIMESTAMPs."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, list):  # lists of times (the facts' response_started_at...)
        return [_naive(item) for item in value]
    return value


def open_spark(
    events: str | os.PathLike[str], settings: Settings, session: SparkSession | None = None
) -> SparkBackend:
    """A Spark backend over an events Parquet file, its facts derived under `settings`."""
    backend = SparkBackend(session or spark_session())
    backend.load_events(events, settings)
    return backend


def open_spark_lake(
    url: str, settings: Settings, session: SparkSession | None = None
) -> SparkBackend:
    """A Spark backend over a lake's events, its facts derived under `settings`."""
    backend = SparkBackend(session or spark_session())
    backend.load_lake(url, settings)
    return backend
