"""How Spark reads a lake's events (store/spark.py `load_lake`), on the local session: each
event once (its first copy), the arrival order `seq` from file names and rows, the lake's
other files ignored, and clear errors for a lake without events."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chatlens.errors import InputError
from chatlens.lake.layout import EVENT_SCHEMA, EVENTS, Lake
from chatlens.store.settings import make_settings

pytestmark = pytest.mark.spark

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def _event(event_id: str, seconds: float, etype: str = "message", **fields: object) -> dict:
    return {
        "event_id": event_id,
        "type": etype,
        "ts": T0 + dt.timedelta(seconds=seconds),
        "conversation_id": "c1",
        **fields,
    }


def _write(lake: Lake, name: str, rows: list[dict]) -> None:
    day = rows[0]["ts"].date()
    folder = lake.partition_dir(EVENTS, day)
    lake.fs.create_dir(folder, recursive=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=EVENT_SCHEMA), f"{folder}/{name}")


def test_each_event_once_in_arrival_order(spark, tmp_path):
    from chatlens.store.spark import SparkBackend

    lake = Lake.open(str(tmp_path / "lake"))
    started = _event("e1", 0, "conversation_started", channel="chat")
    # the older file (its name sorts first): e1, e2; the newer one: e1 again (a writer's
    # retry, with another ts) and e3, at the same time as e2
    _write(lake, "part-00000000000000000001-aa.parquet", [started, _event("e2", 5, text="a")])
    _write(
        lake,
        "part-00000000000000000002-bb.parquet",
        [{**started, "ts": T0 + dt.timedelta(seconds=1)}, _event("e3", 5)],
    )
    _write(lake, "part-00000000000000000003-cc.parquet.tmp", [_event("e4", 9)])  # unfinished
    (tmp_path / "lake" / "events" / "_SUCCESS").write_text("")

    backend = SparkBackend(spark)
    backend.load_lake(str(tmp_path / "lake"), make_settings({}))
    rows = backend.sql("SELECT event_id, ts, seq FROM events ORDER BY seq")
    first, second = 1 << 32, 2 << 32  # file 1 and file 2, then the row within the file
    assert rows == [
        {"event_id": "e1", "ts": T0.replace(tzinfo=None), "seq": first},
        {"event_id": "e2", "ts": dt.datetime(2026, 11, 2, 9, 0, 5), "seq": first + 1},
        {"event_id": "e3", "ts": dt.datetime(2026, 11, 2, 9, 0, 5), "seq": second + 1},
    ]
    [fact] = backend.facts_rows()
    assert fact["conversation_id"] == "c1" and fact["channel"] == "chat"


def test_a_lake_without_events_is_a_clear_error(spark, tmp_path):
    from chatlens.store.spark import open_spark_lake

    with pytest.raises(InputError, match=r"no events in the lake at .*\(no events/ folder"):
        open_spark_lake(str(tmp_path / "empty"), make_settings({}), spark)


def test_a_division_by_zero_is_null_as_in_duckdb(spark):
    """ces_csat_correlation over a day whose ratings do not vary: DuckDB gives no value,
    Spark's ANSI mode failed the whole report (the session turns it off, and keeps
    SIZE(NULL) NULL)."""
    from chatlens.store.spark import SparkBackend

    backend = SparkBackend(spark)
    same_ces = "VALUES (2.0, 4.0), (2.0, 5.0) AS t(ces, csat)"
    assert backend.sql(f"SELECT corr(ces, csat) AS c, 1 / 0 AS d FROM {same_ces}") == [
        {"c": None, "d": None}
    ]
    assert backend.sql("SELECT size(CAST(NULL AS ARRAY<INT>)) AS n") == [{"n": None}]
