"""Facts derived into the lake on Spark (local[2]; `make test-spark`): the same rows as the
DuckDB store, and an incremental Spark run equal to a full DuckDB rebuild."""

from __future__ import annotations

import pytest

from chatlens.lake.facts import derive, read_state
from chatlens.lake.layout import FACTS, STINTS, Lake
from chatlens.store.settings import load_settings

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


@pytest.mark.xfail(
    strict=False,
    reason="OPEN DEFECT (issue 17): since 2026-12-07 this incremental Spark run fails now and "
    "then with UNABLE_TO_ACQUIRE_MEMORY (local[2], 300 conversations; 3 of 5 runs, with 1, 2 "
    "and 4 GB drivers), cause not found; the full Spark derivation and the cluster equality "
    "suite pass. Recorded, not hidden: remove this mark once found",
)
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
