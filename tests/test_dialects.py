"""The Spark SQL the catalogue compiles to (no pyspark needed: ibis and sqlglot only)."""

from __future__ import annotations

import pytest

from chatlens.metrics import METRICS
from chatlens.metrics.periods import buckets, make_period
from chatlens.metrics.query import compile_source
from chatlens.metrics.sources import Context
from chatlens.store.settings import make_settings

SCHEMAS = {
    "conversation_facts": {
        "conversation_id": "string",
        "started_at": "timestamp('UTC')",
        "first_response_seconds": "float64",
        "channel": "string",
        "agents": "array<string>",
        "tags": "array<string>",
        "missed": "boolean",
        "queue_entry_at": "timestamp('UTC')",
        "first_response_at": "timestamp('UTC')",
    },
}


def _context(grain: str | None = None) -> Context:
    settings = make_settings({"timezone": "Europe/Helsinki"})
    period = make_period("2026-10-25", "2026-10-27", settings.timezone)
    import ibis

    return Context(
        period=period,
        grain=grain,
        dimensions=(),
        filters={},
        schemas={k: ibis.schema(v) for k, v in SCHEMAS.items()},
        facts_table="conversation_facts",
        calendar=buckets(period, grain),
        settings=settings,
    )


@pytest.mark.parametrize("metric", ["first_response_time_median", "first_response_time_p90"])
def test_quantiles_compile_to_the_exact_percentile_on_spark(metric):
    m = METRICS[metric]
    sql = compile_source(_context(), m.measure.source, [m], make_settings({}), "spark")
    assert sql is not None
    assert "PERCENTILE(" in sql.upper() and "APPROX" not in sql.upper(), sql


def test_local_time_compiles_per_dialect():
    m = METRICS["first_response_time"]
    settings = make_settings({})
    spark = compile_source(_context("day"), m.measure.source, [m], settings, "spark")
    duckdb = compile_source(_context("day"), m.measure.source, [m], settings, "duckdb")
    assert spark is not None and duckdb is not None
    assert "FROM_UTC_TIMESTAMP(CAST(`t1`.`started_at` AS TIMESTAMP), 'Europe/Helsinki')" in spark
    assert "TIMEZONE" not in spark.upper(), spark
    assert 'TIMEZONE(\'Europe/Helsinki\', "t1"."started_at")' in duckdb, duckdb


def test_spark_cli_options_go_together():
    from typer.testing import CliRunner

    from chatlens.cli import app

    period = ["report", "--from", "2026-11-01", "--to", "2026-11-02"]
    runner = CliRunner()
    alone = runner.invoke(app, [*period, "--events", "events.parquet"])
    assert alone.exit_code == 2 and "--events: only with --engine spark" in alone.output
    lake = runner.invoke(app, [*period, "--lake", "lake", "--master", "spark://127.0.0.1:7077"])
    assert lake.exit_code == 2 and "--lake, --master: only with --engine spark" in lake.output
    spark = [*period, "--engine", "spark"]
    neither = runner.invoke(app, [*spark, "--master", "spark://127.0.0.1:7077"])
    assert neither.exit_code == 2
    assert "reads --events FILE.parquet or --lake URL: give one" in neither.output
    both = runner.invoke(app, [*spark, "--lake", "lake", "--events", "events.parquet"])
    assert both.exit_code == 2 and "give one of them" in both.output
    two = runner.invoke(
        app, [*spark, "--lake", "l", "--master", "local[2]", "--remote", "sc://h:1"]
    )
    assert two.exit_code == 2 and "--master and --remote: give one" in two.output
    yarn = runner.invoke(app, [*spark, "--lake", "l", "--master", "yarn"])
    assert yarn.exit_code == 2 and "--master 'yarn': expected local[N] or spark://" in yarn.output
    grpc = runner.invoke(app, [*spark, "--lake", "l", "--remote", "127.0.0.1:15002"])
    assert grpc.exit_code == 2 and "expected sc://HOST:PORT" in grpc.output
    unknown = runner.invoke(app, [*period, "--engine", "flink"])
    assert unknown.exit_code == 2 and "unknown engine 'flink'" in unknown.output


def test_a_hand_written_statement_binds_its_values_as_literals_of_each_dialect():
    from chatlens.metrics.dialects import render

    sql = "SELECT * FROM events WHERE conversation_id = :id ORDER BY ts"
    assert render(sql, "duckdb", id="it's") == (
        "SELECT * FROM events WHERE conversation_id = 'it''s' ORDER BY ts"
    )
    assert render(sql, "spark", id="it's \\") == (
        "SELECT * FROM events WHERE conversation_id = 'it\\'s \\\\' ORDER BY ts NULLS LAST"
    )
