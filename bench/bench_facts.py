"""The conversation facts, declared once: build time of the rendered SQL against an earlier
revision's hand-written SQL, on the same simulated store, in one process.

Simulates N conversations, imports them, then builds the agent stints and the conversation
facts (every conversation in scope, as a full rebuild does) with the SQL of each candidate,
alternating, and prints the median of the runs. The candidates:
- `before`: store/facts_sql.py of the revision `--before` (the hand-written DuckDB SQL that
  stood beside a Spark copy), read with `git show`;
- `declared`: the one declaration rendered for DuckDB (facts_sql.py + facts_columns.py).
Both must give the same rows (checked with EXCEPT both ways), so the figures compare equal work.
With `--spark`, the same on Spark (local[2]) over the exported events: the revision's
store/spark_facts.py (the second copy) against the declaration rendered for Spark.

Usage: python bench/bench_facts.py [--conversations 20000] [--runs 3] [--before 5ae9424] [--spark]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import tempfile
import time
import types
from pathlib import Path

import duckdb

from chatlens.ingest import import_file
from chatlens.simulate import SimConfig, write_events
from chatlens.store import open_store
from chatlens.store.facts import STINTS_SQL, refresh_facts
from chatlens.store.facts_dialect import DUCKDB
from chatlens.store.facts_sql import facts_query
from chatlens.store.settings import conversion_goals, load_settings
from chatlens.store.sql import run

ROOT = Path(__file__).resolve().parent.parent


def _module(rev: str, path: str, **names: object) -> types.ModuleType:
    """The module at `path` as it was at revision `rev`; `names` stand for its imports from
    modules that have changed since."""
    source = subprocess.run(
        ["git", "show", f"{rev}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    if names:
        source = "\n".join(
            line for line in source.splitlines() if not line.startswith("from chatlens.store.f")
        )
    old = types.ModuleType(Path(path).stem + "_before")
    old.__dict__.update(names)
    exec(compile(source, old.__name__, "exec"), old.__dict__)
    return old


def _before(rev: str, settings) -> tuple[str, str, dict]:
    """The stints SQL, facts SQL and parameters of facts_sql.py at revision `rev`."""
    old = _module(rev, "src/chatlens/store/facts_sql.py")
    if hasattr(old, "facts_query"):  # a revision with the declaration rendered per dialect
        sql, params = old.facts_query(DUCKDB, settings)
        return old.stints_sql(DUCKDB), sql, params
    match, params = old.facts_parameters(settings, marker="$", apostrophe="''''")
    goals = old.conversion_test("$", len(conversion_goals(settings)))
    sql = old.FACTS_SQL.format(fallback_match=match, conversion_match=goals)
    return old.STINTS_SQL, sql, params


def _build(
    con: duckdb.DuckDBPyConnection, name: str, stints: str, facts: str, params
) -> tuple[float, float]:
    """Seconds to build the stints, and then the facts, into temp tables."""
    started = time.perf_counter()
    run(con, f"CREATE OR REPLACE TEMP TABLE _stints_{name} AS {stints}")
    middle = time.perf_counter()
    run(con, f"CREATE OR REPLACE TEMP TABLE _facts_{name} AS {facts}", params)
    return middle - started, time.perf_counter() - middle


def _spark(rev: str, parquet: Path, settings, runs: int) -> None:
    """Stints + facts on Spark: the revision's second copy against the rendered declaration."""
    from chatlens.store.facts_dialect import SPARK
    from chatlens.store.facts_sql import stints_sql
    from chatlens.store.spark import spark_session

    sql_before = _module(rev, "src/chatlens/store/facts_sql.py")
    shared = {
        n: getattr(sql_before, n) for n in ("STATE_CTES", "conversion_test", "facts_parameters")
    }
    old = _module(rev, "src/chatlens/store/spark_facts.py", **shared)
    session = spark_session()
    session.read.parquet(str(parquet)).createOrReplaceTempView("events")
    candidates = {
        "before": (old.SPARK_STINTS_SQL, *old.spark_facts_query(settings)),
        "declared": (stints_sql(SPARK), *facts_query(SPARK, settings)),
    }
    times: dict[str, list[float]] = {name: [] for name in candidates}
    frames = {}
    for _ in range(runs + 1):  # the first round warms the JVM up and is not counted
        for name, (stints, facts, params) in candidates.items():
            started = time.perf_counter()
            session.sql(stints).localCheckpoint().createOrReplaceTempView("agent_stints")
            frames[name] = session.sql(facts, args=params).localCheckpoint()
            times[name].append(time.perf_counter() - started)
    a, b = frames["before"], frames["declared"]
    assert a.count() == b.count() and not a.exceptAll(b).count() and not b.exceptAll(a).count()
    for name, took in times.items():
        print(
            f"spark: stints + facts, {name:<9} median {statistics.median(took[1:]):6.2f} s "
            "(runs " + ", ".join(f"{t:.2f}" for t in took[1:]) + f"; cold {took[0]:.2f})"
        )
    session.stop()


def _differ(con: duckdb.DuckDBPyConnection, a: str, b: str) -> int:
    query = (
        f"SELECT count(*) FROM ((FROM {a} EXCEPT ALL FROM {b}) "
        f"UNION ALL (FROM {b} EXCEPT ALL FROM {a}))"
    )
    return int(run(con, query)[0][0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", default="5ae9424")
    parser.add_argument("--spark", action="store_true")
    args = parser.parse_args()
    print(f"duckdb {duckdb.__version__}; before = {args.before}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = SimConfig(
            conversations=args.conversations, days=args.days, seed=11, end=dt.date(2026, 11, 22)
        )
        events = write_events(config, root / "events.jsonl")
        with open_store(root / "bench.duckdb") as store:
            import_file(store, root / "events.jsonl")
            refresh_facts(store, full=True)
            con = store.con
            settings = load_settings(con)
            sql, params = facts_query(DUCKDB, settings)
            candidates = {
                "before": _before(args.before, settings),
                "declared": (STINTS_SQL, sql, params),
            }
            print(f"{args.conversations:,} conversations, {events:,} events")
            run(
                con,
                "CREATE OR REPLACE TEMP TABLE _scope AS SELECT DISTINCT conversation_id "
                "FROM events WHERE conversation_id IS NOT NULL",
            )
            times: dict[str, list[tuple[float, float]]] = {name: [] for name in candidates}
            for _ in range(args.runs):
                for name, (stints, facts, values) in candidates.items():
                    times[name].append(_build(con, name, stints, facts, values))
            for table in ("stints", "facts"):
                wrong = _differ(con, f"_{table}_before", f"_{table}_declared")
                assert not wrong, f"{table}: {wrong} rows differ"
            medians = {}
            for name, took in times.items():
                totals = [a + b for a, b in took]
                medians[name] = statistics.median(totals)
                print(
                    f"{name:<9} stints {statistics.median(a for a, _ in took):5.2f} s, "
                    f"facts {statistics.median(b for _, b in took):5.2f} s, "
                    f"both median {medians[name]:5.2f} s "
                    f"({args.conversations / medians[name]:,.0f} conversations/s; runs "
                    + ", ".join(f"{t:.2f}" for t in totals)
                    + ")"
                )
            ratio = medians["declared"] / medians["before"]
            print(f"declared / before: {ratio:.2f}x (rows identical)")
            if args.spark:
                from chatlens.metrics import Engine
                from chatlens.reports.export import export_events

                export_events(Engine(store), root / "events.parquet")
                _spark(args.before, root / "events.parquet", settings, args.runs)


if __name__ == "__main__":
    main()
