"""The same catalogue on Apache Spark (`make test-spark`; needs `chatlens[spark]`).

The events go through the normal DuckDB import, are exported as Parquet (`chatlens export
events`), and Spark derives the facts and runs every metric from that file: the results must
equal DuckDB's, which tests/test_metrics_reference.py checks against an independent reference.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.ingest import import_file
from chatlens.metrics import Engine, Query
from chatlens.reports.export import export_events
from chatlens.simulate import SimConfig, write_events
from chatlens.store import open_store
from chatlens.store.facts import FACTS_TABLE, refresh_facts
from chatlens.store.settings import load_settings, make_settings

from .conftest import report
from .test_metrics_reference import QUERIES, SPLITS, load_fixture, run_queries, same

pytestmark = pytest.mark.spark


def _utc(value: Any) -> Any:
    """DuckDB's TIMESTAMPTZ values as the naive UTC values the Spark backend returns."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, list):
        return [_utc(item) for item in value]
    return value


@pytest.fixture(scope="module")
def both(tmp_path_factory, spark):
    """The reference fixture's queries run on DuckDB and on Spark."""
    from chatlens.store.spark import open_spark

    tmp = tmp_path_factory.mktemp("spark-reference")
    with open_store(tmp / "reference.duckdb") as store:
        load_fixture(store, tmp)
        duckdb = run_queries(lambda *args, **kw: report(store, *args, **kw))
        export_events(Engine(store), tmp / "events.parquet")
        stored = load_settings(store.con)
    backend = open_spark(tmp / "events.parquet", stored, spark)
    engines = {FACTS_TABLE: Engine.on(backend, stored)}

    def on_spark(
        metrics, start, end, grain=None, dimensions=(), filters=None, overrides=None, bounds=False
    ):
        table = FACTS_TABLE
        if overrides:  # facts derived again under the other settings, beside the stored ones
            table = "_facts_override"
            settings = make_settings({**stored.model_dump(), **overrides})
            backend.derive_facts(settings, table)
            engines[table] = Engine.on(backend, settings, table)
        query = Query(
            metrics=tuple(metrics),
            start=start,
            end=end,
            grain=grain,
            dimensions=tuple(dimensions),
            filters=filters or {},
            bounds=bounds,
        )
        return engines[table].run(query)

    return duckdb, run_queries(on_spark)


QUERY_NAMES = [
    *QUERIES,
    "overridden",
    *(f"by_{d}" for d in SPLITS),
    "dst_hours",
    "by_ticket_category",
    "by_ticket_urgency",
    "billing_tickets",
    "bounds_by_agent",
]


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_every_metric_on_spark_equals_duckdb(both, name):
    duckdb, spark = both
    want, got = duckdb[name].rows, spark[name].rows
    assert [list(r) for r in got] == [list(r) for r in want]  # same rows, same columns
    assert got, name
    wrong = [
        (i, column, g, row[column])
        for i, (row, other) in enumerate(zip(want, got, strict=True))
        for column, g in other.items()
        if not (g == row[column] if isinstance(g, str) else same(g, row[column]))
    ]
    assert not wrong, f"{name} (row, column, spark, duckdb): {wrong}"


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """300 simulated conversations imported into DuckDB and exported as Parquet."""
    tmp = tmp_path_factory.mktemp("spark-sim")
    cfg = SimConfig(conversations=300, days=14, seed=3, end=dt.date(2026, 11, 1))
    write_events(cfg, tmp / "events.jsonl")
    store = open_store(tmp / "sim.duckdb")
    import_file(store, tmp / "events.jsonl")
    refresh_facts(store)
    export_events(Engine(store), tmp / "events.parquet")
    yield store, tmp / "events.parquet"
    store.close()


def _duckdb_rows(store, sql: str) -> list[dict[str, Any]]:
    cur = store.con.execute(sql)
    names = [d[0] for d in cur.description]
    return [{n: _utc(v) for n, v in zip(names, row, strict=True)} for row in cur.fetchall()]


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):  # sums may add in another order
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return bool(a == b)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {
            "missed_chat_grace_seconds": 5,
            "attribution_days": 0.5,
            "fcr_followup_days": 2,
            "fallback_phrases": ["sorry"],
        },
    ],
)
def test_facts_on_spark_equal_duckdb_row_by_row(simulated, spark, overrides):
    from chatlens.store.spark import SparkBackend

    store, parquet = simulated
    settings = make_settings({**load_settings(store.con).model_dump(), **overrides})
    if overrides:
        from chatlens.store.facts import build_facts_table

        build_facts_table(store, settings, "_facts_check")
        table = "_facts_check"
    else:
        table = FACTS_TABLE
    want = _duckdb_rows(store, f"SELECT * FROM {table} ORDER BY conversation_id")
    backend = SparkBackend(spark)
    backend.load_events(parquet, settings)
    got = backend.facts_rows()
    assert len(got) == len(want) >= 300
    assert list(got[0]) == list(want[0])  # same columns, same order
    wrong = [
        (w["conversation_id"], k, g[k], w[k])
        for w, g in zip(want, got, strict=True)
        for k in w
        if not _equal(g[k], w[k])
    ]
    assert not wrong, f"(conversation, column, spark, duckdb): {wrong[:20]}"
    stints_sql = "SELECT * FROM agent_stints ORDER BY conversation_id, started_at, agent_id"
    assert backend.sql(stints_sql) == _duckdb_rows(store, stints_sql)


def test_report_on_spark_from_the_cli(simulated, spark):
    store, parquet = simulated
    args = [
        "--from",
        "2026-10-19",
        "--to",
        "2026-10-31",
        "--metrics",
        "conversations,first_response_time_p90,csat",
        "--format",
        "json",
    ]
    runner = CliRunner()
    on_spark = runner.invoke(app, ["report", *args, "--engine", "spark", "--events", str(parquet)])
    assert on_spark.exit_code == 0, on_spark.output
    want = report(
        store, ("conversations", "first_response_time_p90", "csat"), "2026-10-19", "2026-10-31"
    )
    assert orjson.loads(on_spark.stdout)["rows"] == want.rows
