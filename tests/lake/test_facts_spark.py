"""Facts derived into the lake on Spark (local[2]; `make test-spark`): the same rows as the
DuckDB store, and an incremental Spark run equal to a full DuckDB rebuild."""

from __future__ import annotations

import math

import pyarrow as pa
import pytest

from chatlens.lake.facts import derive, read_state
from chatlens.lake.layout import FACTS, STINTS, Lake
from chatlens.store.facts_dialect import SPARK
from chatlens.store.facts_sql import facts_query, facts_steps, stints_sql
from chatlens.store.settings import load_settings, make_settings

from .lakekit import store_events, store_facts, write_day_files
from .test_facts_lake import differences, lake_rows, simulated  # noqa: F401

pytestmark = pytest.mark.spark


def test_spark_facts_in_the_lake_equal_the_store(simulated, spark, tmp_path):  # noqa: F811
    lake = Lake.open(str(tmp_path / "lake"))
    write_day_files(lake, store_events(simulated))
    result = derive(lake, load_settings(simulated.con), engine="spark", session=spark)
    assert result.full and result.conversations == 300
    state = read_state(lake)
    assert state is not None and state.engine == "spark"
    assert not differences(store_facts(simulated, "conversation_facts"), lake_rows(lake, FACTS))
    assert lake_rows(lake, STINTS) == store_facts(simulated, "agent_stints")


def test_incremental_spark_run_equals_a_duckdb_rebuild(simulated, spark, tmp_path):  # noqa: F811
    settings = load_settings(simulated.con)
    lake = Lake.open(str(tmp_path / "lake"))
    write_day_files(lake, store_events(simulated, "ts::DATE < '2026-10-28'"))
    assert derive(lake, settings, engine="spark", session=spark).full
    write_day_files(lake, store_events(simulated, "ts::DATE >= '2026-10-28'"))
    later = derive(lake, settings, engine="spark", session=spark)
    assert not later.full and later.partitions[0] == "2026-10-28"
    on_spark = lake_rows(lake, FACTS), lake_rows(lake, STINTS)
    rebuilt = derive(lake, settings, engine="duckdb", full=True)
    assert rebuilt.full
    assert not differences(lake_rows(lake, FACTS), on_spark[0])
    assert lake_rows(lake, STINTS) == on_spark[1]


MEMORY_CONSUMERS = {"Sort", "HashAggregate", "SortAggregate", "ObjectHashAggregate", "Window"}
"""Spark operators that take execution memory a page at a time and hold it while the task runs."""


def most_consumers_in_a_stage(frame) -> int:
    """The most memory-consuming operators one task of `frame`'s physical plan runs at once:
    operators between two shuffles run in the same task."""
    counts = []

    def walk(node, stage: list[int]) -> None:
        if node.nodeName() in ("Exchange", "BroadcastExchange"):
            stage = [0]  # the shuffle's input is another stage, other tasks
            counts.append(stage)
        elif node.nodeName() in MEMORY_CONSUMERS:
            stage[0] += 1
        children = node.children()
        for i in range(children.size()):
            walk(children.apply(i), stage)

    top = [0]
    counts.append(top)
    walk(frame._jdf.queryExecution().executedPlan(), top)
    return max(c[0] for c in counts)


def test_no_task_of_the_derivation_can_run_out_of_execution_memory(spark):
    """The cause of UNABLE_TO_ACQUIRE_MEMORY in the incremental run (issue 17): a task takes
    execution memory a page at a time for each sort, aggregation and window it runs, and
    keeps it; with N tasks running, one is sure of 1/(2N) of the pool only. The facts as one
    query ran 53 of them in one task (Spark inlines each CTE where it is read: f5 nine
    times); at Spark's default page (the pool / cores / 16, rounded up to a power of two:
    16 MB for a 1 GB driver) that is twice the whole pool, and whether a run failed depended
    on how the two tasks overlapped. Now the facts are derived in steps (facts_steps) and a
    page is 2 MB (SPARK_CONF): every task of the stints and of each step fits its share."""
    from chatlens.store.spark import _spark_schema

    memory = spark.sparkContext._jvm.org.apache.spark.SparkEnv.get().memoryManager()
    cores = spark.sparkContext.defaultParallelism
    share = memory.maxHeapMemory() / (2 * cores)
    page = memory.pageSizeBytes()
    spark_default_page = 1 << math.ceil(math.log2(memory.maxHeapMemory() / cores / 16))
    assert (cores, page) == (2, 2 * 2**20) and spark_default_page >= 8 * page
    events = spark.createDataFrame([], _spark_schema()).selectExpr("*", "0L AS seq")
    events.createOrReplaceTempView("events")
    steps, params = facts_steps(SPARK, make_settings({}))
    try:
        stints = spark.sql(stints_sql(SPARK))
        assert most_consumers_in_a_stage(stints) == 3
        stints.localCheckpoint().createOrReplaceTempView("agent_stints")
        found = []
        for name, sql in steps:
            frame = spark.sql(sql, args=params)
            found.append(most_consumers_in_a_stage(frame))
            if name:
                frame.localCheckpoint().createOrReplaceTempView(name)
        assert found == [29, 9, 11]
        assert max(found) * page <= share
        # the facts as one query, with Spark's default page: beyond the whole pool
        one, params = facts_query(SPARK, make_settings({}))
        assert most_consumers_in_a_stage(spark.sql(one, args=params)) == 53
        assert 53 * spark_default_page > memory.maxHeapMemory()
    finally:
        for name in ("events", "agent_stints", *(name for name, _ in steps if name)):
            spark.catalog.dropTempView(name)


def test_an_incremental_run_never_sorts_the_lake_for_its_scope(simulated, spark, tmp_path):  # noqa: F811
    """The day's conversations and customers are small, but Spark sizes them from the lake
    they are found in: unhinted, it planned sort-merge joins that shuffle and sort every
    event of the history (at 10M: 50 GB of sort spill, the run stopped after 21 minutes at
    stage 24). With automatic broadcasting off, as at any size where the estimates pass
    its threshold, the plans still join the lake to the scope by broadcast."""
    from chatlens.lake import facts as lake_facts
    from chatlens.lake.layout import event_partitions

    lake = Lake.open(str(tmp_path / "lake"))
    write_day_files(lake, store_events(simulated))
    derive(lake, load_settings(simulated.con), engine="spark", session=spark)
    run = lake_facts._SparkRun(lake, spark)
    parts = event_partitions(lake)
    files = sorted((f for day in parts.values() for f in day), key=lambda f: f.base_name)
    ranks = pa.table({"name": [f.base_name for f in files], "rank": list(range(len(files)))})
    run.events_view("_raw", [f.path for f in files], ranks)
    run.events_view("_new", [f.path for f in parts[max(parts)]], ranks)
    state = read_state(lake)
    assert state is not None
    run.facts_view("_old_facts", state.files(lake, FACTS))
    threshold = spark.conf.get("spark.sql.autoBroadcastJoinThreshold")
    spark.conf.set("spark.sql.autoBroadcastJoinThreshold", "-1")
    try:
        run.table("_scope", lake_facts._SCOPE_SQL)
        events = lake_facts._EVENTS_SQL.format(
            where=lake_facts._RUN_EVENTS, columns=lake_facts._COLUMNS
        )
        for sql in (lake_facts._SCOPE_SQL, events):
            plan = spark.sql(sql)._jdf.queryExecution().executedPlan().toString()
            merges = [line for line in plan.splitlines() if "SortMergeJoin" in line]
            # what is left: the run's own events against their first copies (both small)
            assert all("min(seq)" in line for line in merges), merges
            assert "BroadcastHashJoin [customer_id" in plan
    finally:
        spark.conf.set("spark.sql.autoBroadcastJoinThreshold", threshold)
        run.close()
