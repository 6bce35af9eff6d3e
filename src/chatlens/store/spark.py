"""Apache Spark as the engine (optional: `pip install 'chatlens[spark]'`).

`open_spark(events)` reads an events Parquet file (what `chatlens export events` writes),
derives the conversation facts and agent stints on Spark (facts_sql.py rendered for Spark)
and returns a `SparkBackend` the metric engine runs on (`Engine.on(backend, settings)`).

The session runs offline in `local[2]` unless one is given: no UI, few shuffle partitions,
and the session time zone UTC, so that a TIMESTAMP value is a UTC instant as in DuckDB.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.datatypes as dtypes

from chatlens.errors import InputError
from chatlens.store.facts import FACTS_TABLE
from chatlens.store.facts_dialect import SPARK
from chatlens.store.facts_sql import facts_query, stints_sql
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
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
"""The settings of the session chatlens starts (offline, small, UTC)."""


def spark_session(master: str = "local[2]") -> SparkSession:
    """A local Spark session for chatlens (the active one is reused)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InputError(
            "the Spark engine needs pyspark: pip install 'chatlens[spark]' (or make test-spark)"
        ) from None
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers run this Python
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # offline: bind to loopback only
    builder = SparkSession.builder.master(master).appName("chatlens")
    for key, value in SPARK_CONF.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


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
        self.session.sql(stints_sql(SPARK)).localCheckpoint().createOrReplaceTempView(
            "agent_stints"
        )
        self.derive_facts(settings)

    def derive_facts(self, settings: Settings, table: str = FACTS_TABLE) -> None:
        """(Re)derive the conversation facts under `settings` into the view `table`."""
        query, params = facts_query(SPARK, settings)
        self.session.sql(query, args=params).localCheckpoint().createOrReplaceTempView(table)

    def facts_rows(self, table: str = FACTS_TABLE) -> list[dict[str, Any]]:
        """Every row of the facts, by conversation (timestamps naive UTC)."""
        return self.sql(f"SELECT * FROM {table} ORDER BY conversation_id")


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
