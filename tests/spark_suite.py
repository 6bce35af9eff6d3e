"""The equality suite over an event lake, for any Spark session: the modules that import
these tests (test_spark_cluster.py, test_spark_connect.py) each provide the fixture
`on_spark`, a session on the test cluster or through Spark Connect.

The events go through the normal DuckDB import, are written to a lake as a lake writer
would (tests/sparkcluster.py write_lake: files in arrival order, one per day, some events
written twice), and Spark reads the lake, derives the facts and runs the catalogue: every
figure must equal DuckDB's on the same events. DuckDB's figures are themselves checked
against an independent reference (test_metrics_reference.py) and by hand
(test_metrics_golden.py, whose worked examples run here against Spark's figures too).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.ingest import import_file
from chatlens.metrics import METRICS, Engine, Query, Result
from chatlens.simulate import SimConfig, write_events
from chatlens.store import Store, open_store
from chatlens.store.facts import FACTS_TABLE, refresh_facts
from chatlens.store.settings import Settings, load_settings, make_settings

from . import test_metrics_golden as golden
from .conftest import report, value
from .sparkcluster import write_lake
from .test_metrics_reference import load_fixture, run_queries, same
from .test_spark import QUERY_NAMES, _duckdb_rows, _equal

SIM_PERIOD = ("2026-10-19", "2026-10-31")

__all__ = [  # what a module on one kind of session imports (its tests and their fixtures)
    "lake_reference",
    "lake_sim",
    "lake_sim_on_spark",
    "test_a_temp_table_keeps_instants_and_wall_clock_times",
    "test_every_metric_over_the_lake_equals_duckdb",
    "test_every_metric_over_the_simulated_lake_equals_duckdb",
    "test_facts_over_the_simulated_lake_equal_duckdb_row_by_row",
    "test_hand_worked_values_over_the_lake",
]


class OnSpark:
    """Queries as conftest.report takes them, run on a Spark backend over a lake; a query
    with `overrides` runs on facts derived again under those settings (beside the others)."""

    def __init__(self, session: Any, lake: str, settings: Settings):
        from chatlens.store.spark import open_spark_lake

        self.settings = settings
        self.backend = open_spark_lake(lake, settings, session)
        self.engines = {FACTS_TABLE: Engine.on(self.backend, settings)}

    def __call__(self, metrics: Any, start: str, end: str, **kw: Any) -> Result:
        overrides = kw.pop("overrides", None)
        table = FACTS_TABLE
        if overrides:
            table = "_facts_override"
            settings = make_settings({**self.settings.model_dump(), **overrides})
            self.backend.derive_facts(settings, table)
            self.engines[table] = Engine.on(self.backend, settings, table)
        metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
        query = Query(
            metrics=metrics,
            start=start,
            end=end,
            grain=kw.pop("grain", None),
            dimensions=tuple(kw.pop("dimensions", ())),
            filters=kw.pop("filters", {}),
            compare=kw.pop("compare", False),
            bounds=kw.pop("bounds", False),
        )
        assert not kw, kw
        return self.engines[table].run(query)


def wrong_cells(want: list[dict[str, Any]], got: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """(row, column, spark, duckdb) for every cell that differs; rows and columns must be
    the same ones in the same order."""
    assert [list(r) for r in got] == [list(r) for r in want]
    return [
        (i, column, g, row[column])
        for i, (row, other) in enumerate(zip(want, got, strict=True))
        for column, g in other.items()
        if not (g == row[column] if isinstance(g, str) else same(g, row[column]))
    ]


# --------------------------------------------------------------------------------------
# the reference fixture


@pytest.fixture(scope="module")
def lake_reference(tmp_path_factory, on_spark):
    """The reference fixture's queries on DuckDB and on Spark over a lake of its events."""
    tmp = tmp_path_factory.mktemp("lake-reference")
    with open_store(tmp / "reference.duckdb") as store:
        load_fixture(store, tmp)
        duckdb = run_queries(lambda *args, **kw: report(store, *args, **kw))
        write_lake(store, str(tmp / "lake"), batch_rows=40, repeat_every=9)
        stored = load_settings(store.con)
    return duckdb, run_queries(OnSpark(on_spark, str(tmp / "lake"), stored))


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_every_metric_over_the_lake_equals_duckdb(lake_reference, name):
    duckdb, spark = lake_reference
    want, got = duckdb[name].rows, spark[name].rows
    assert got, name
    wrong = wrong_cells(want, got)
    assert not wrong, f"{name} (row, column, spark, duckdb): {wrong}"


# --------------------------------------------------------------------------------------
# the hand-worked values

GOLDEN = sorted(name for name in vars(golden) if name.startswith("test_"))
GOLDEN_PERIOD = ("2026-11-01", "2026-11-30")  # conftest.value's period


@pytest.mark.parametrize("name", GOLDEN)
def test_hand_worked_values_over_the_lake(on_spark, tmp_path, monkeypatch, name):
    """Each worked example of test_metrics_golden.py, its `value` answered by Spark over a
    lake of the example's events (after checking it equals DuckDB's): the example's own
    assertions then hold for Spark's figures."""
    lakes: dict[str, OnSpark] = {}
    checked = []

    def on_both(store: Store, metric: str, *args: Any, **kw: Any) -> Any:
        want = value(store, metric, *args, **kw)
        settings = load_settings(store.con)
        key = f"{store.max_seq()} {settings.model_dump_json()}"
        if key not in lakes:  # the events or the settings changed: a new lake
            lake = str(tmp_path / f"lake{len(lakes)}")
            write_lake(store, lake, batch_rows=300, repeat_every=7)
            lakes[key] = OnSpark(on_spark, lake, settings)
        start, end = (*args, *GOLDEN_PERIOD[len(args) :])[:2]
        rows = lakes[key](metric, start, end, **kw).rows
        assert len(rows) == 1, rows
        assert same(rows[0][metric], want), (metric, rows[0][metric], want)
        checked.append(metric)
        return rows[0][metric]

    monkeypatch.setattr(golden, "value", on_both)
    with open_store(tmp_path / "golden.duckdb") as store:
        getattr(golden, name)(store, tmp_path)
    assert checked


# --------------------------------------------------------------------------------------
# 300 simulated conversations


@pytest.fixture(scope="module")
def lake_sim(tmp_path_factory):
    """300 simulated conversations in DuckDB and in a lake."""
    tmp = tmp_path_factory.mktemp("lake-sim")
    cfg = SimConfig(conversations=300, days=14, seed=3, end=dt.date(2026, 11, 1))
    write_events(cfg, tmp / "events.jsonl")
    store = open_store(tmp / "sim.duckdb")
    import_file(store, tmp / "events.jsonl")
    refresh_facts(store)
    write_lake(store, str(tmp / "lake"), batch_rows=700, repeat_every=13)
    yield store, str(tmp / "lake")
    store.close()


@pytest.fixture
def lake_sim_on_spark(lake_sim, on_spark):
    """A backend over the simulated lake, made for each test: a backend's views (events,
    agent_stints, conversation_facts) are names in the session, which the next backend made
    on the same session (the reference fixture, the CLI's report) replaces."""
    store, lake = lake_sim
    return OnSpark(on_spark, lake, load_settings(store.con))


def test_facts_over_the_simulated_lake_equal_duckdb_row_by_row(lake_sim, lake_sim_on_spark):
    store, _ = lake_sim
    want = _duckdb_rows(store, f"SELECT * FROM {FACTS_TABLE} ORDER BY conversation_id")
    backend = lake_sim_on_spark.backend
    got = backend.facts_rows()
    assert len(got) == len(want) >= 300
    assert list(got[0]) == list(want[0])
    wrong = [
        (w["conversation_id"], k, g[k], w[k])
        for w, g in zip(want, got, strict=True)
        for k in w
        if not _equal(g[k], w[k])
    ]
    assert not wrong, f"(conversation, column, spark, duckdb): {wrong[:20]}"
    stints = "SELECT * FROM agent_stints ORDER BY conversation_id, started_at, agent_id"
    assert backend.sql(stints) == _duckdb_rows(store, stints)
    # every event once, though the lake holds some twice
    [[stored]] = store.con.execute("SELECT count(*) FROM events").fetchall()
    assert backend.sql("SELECT count(*) AS n FROM events") == [{"n": stored}]


@pytest.mark.parametrize("grain", [None, "day"])
def test_every_metric_over_the_simulated_lake_equals_duckdb(lake_sim, lake_sim_on_spark, grain):
    store, _ = lake_sim
    want = report(store, tuple(METRICS), *SIM_PERIOD, grain=grain).rows
    got = lake_sim_on_spark(tuple(METRICS), *SIM_PERIOD, grain=grain).rows
    assert len(got) == (1 if grain is None else 13)
    wrong = wrong_cells(want, got)
    assert not wrong, f"(row, column, spark, duckdb): {wrong}"


def cli_report_matches(store: Store, lake: str, where: list[str]) -> None:
    """`chatlens report --engine spark --lake LAKE [where]` prints DuckDB's figures."""
    metrics = ("conversations", "first_response_time_p90", "csat", "handoff_rate")
    args = ["report", "--from", SIM_PERIOD[0], "--to", SIM_PERIOD[1], "--every", "week"]
    args += ["--metrics", ",".join(metrics), "--format", "json", "--engine", "spark"]
    result = CliRunner().invoke(app, [*args, "--lake", lake, *where])
    assert result.exit_code == 0, (result.output, result.exception)
    want = report(store, metrics, *SIM_PERIOD, grain="week").rows
    got = orjson.loads(result.stdout)["rows"]
    assert len(got) == len(want) == 2  # the weeks of Monday 19 and Monday 26 October
    assert not wrong_cells(orjson.loads(orjson.dumps(want)), got)


def test_a_temp_table_keeps_instants_and_wall_clock_times(on_spark):
    """createDataFrame differs between a classic and a Connect session: the calendar's temp
    tables must come back as they went in."""
    import ibis

    from chatlens.store.spark import SparkBackend

    backend = SparkBackend(on_spark)
    schema = ibis.schema({"at": "timestamp('UTC')", "local": "timestamp"})
    rows = [
        (dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC), dt.datetime(2026, 10, 25, 3, 30)),
        (dt.datetime(2026, 10, 25, 2, 30, tzinfo=dt.UTC), dt.datetime(2026, 10, 25, 3, 30)),
    ]
    backend.create_temp_table("_suite_times", schema, rows)
    got = backend.sql(
        "SELECT at, local, hour(at) AS h, hour(local) AS lh FROM _suite_times ORDER BY at"
    )
    assert got == [
        {"at": dt.datetime(2026, 10, 25, 1, 30), "local": rows[0][1], "h": 1, "lh": 3},
        {"at": dt.datetime(2026, 10, 25, 2, 30), "local": rows[1][1], "h": 2, "lh": 3},
    ]
