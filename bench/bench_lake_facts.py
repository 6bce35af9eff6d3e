"""Facts derived into an event lake (chatlens.lake.facts) against the DuckDB store's.

Builds (once, cached in bench/.cache/ by bench_store.build_store) a store of N simulated
conversations over 365 days, writes its events into a local lake (one file per day), then
times in one process:
- the store: a full rebuild of the facts and stints (store/facts.py, refresh_facts(full));
- the lake on DuckDB: a full derivation of every day but the last, then the last day
  arriving (an incremental run), then a full rebuild of all of it;
- with --spark, the same on Spark local[2]: a full derivation and the incremental day.
Every lake run's row count is checked against the store's.

Usage: python bench/bench_lake_facts.py [--conversations 1000000] [--spark]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from bench_store import build_store
from chatlens.lake.facts import derive
from chatlens.lake.layout import EVENT_SCHEMA, Lake
from chatlens.store import open_store
from chatlens.store.facts import refresh_facts
from chatlens.store.settings import load_settings


def write_lake(store_path: Path, root: Path, where: str) -> None:
    """The store's events (those `where` holds) into the lake, one file per day."""
    (root / "events").mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(store_path), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    columns = ", ".join(
        f"CAST({c} AS VARCHAR) AS {c}" if c == "attrs" else c for c in EVENT_SCHEMA.names
    )
    con.execute(
        f"COPY (SELECT {columns}, strftime(ts, '%Y-%m-%d') AS date FROM events WHERE {where} "
        f"ORDER BY seq) TO '{root}/events' (FORMAT parquet, PARTITION_BY (date), "
        f"FILENAME_PATTERN 'part-{time.time_ns():020d}-{{uuid}}', APPEND)"
    )
    con.close()


def timed(what: str, fn):
    started = time.perf_counter()
    result = fn()
    took = time.perf_counter() - started
    print(f"{what}: {took:.1f} s", flush=True)
    return result, took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--spark", action="store_true")
    parser.add_argument("--work", default=None, help="Where the lake goes (default: a temp dir)")
    args = parser.parse_args()
    path = build_store(args.conversations)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, duckdb {duckdb.__version__}, "
        f"python {platform.python_version()}; load average {os.getloadavg()}"
    )
    with open_store(path) as store:
        events = store.con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        last = store.con.execute("SELECT max(ts)::DATE FROM events").fetchall()[0][0]
        settings = load_settings(store.con)
        _, store_full = timed(
            "store: facts + stints full rebuild", lambda: refresh_facts(store, full=True)
        )
        conversations = store.con.execute("SELECT count(*) FROM conversation_facts").fetchall()[0][
            0
        ]
        last_day = store.con.execute(
            f"SELECT count(*) FROM conversation_facts WHERE started_at::DATE = '{last}'"
        ).fetchall()[0][0]
    print(
        f"{conversations:,} conversations, {events:,} events; "
        f"last day {last}: {last_day:,} conversations"
    )
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-lake-facts-"))
    root = work / "lake"
    shutil.rmtree(root, ignore_errors=True)
    _, _took = timed(
        "write the lake (all days but the last)",
        lambda: write_lake(path, root, f"ts::DATE < '{last}'"),
    )
    lake = Lake.open(str(root))
    _before, _duck_before = timed(
        "lake, DuckDB: full derivation without the last day", lambda: derive(lake, settings)
    )
    saved = work / "saved"
    shutil.rmtree(saved, ignore_errors=True)
    for kind in ("facts", "stints", "_state"):
        shutil.copytree(root / kind, saved / kind)
    write_lake(path, root, f"ts::DATE = '{last}'")
    inc, duck_inc = timed(
        "lake, DuckDB: incremental run, the last day arrives", lambda: derive(lake, settings)
    )
    print(f"  {inc.conversations:,} conversations derived; partitions {inc.partitions}")
    full, duck_full = timed(
        "lake, DuckDB: full rebuild, every day", lambda: derive(lake, settings, full=True)
    )
    assert full.conversations == conversations, (full.conversations, conversations)
    rows = {
        "store full": store_full,
        "lake duckdb full": duck_full,
        "lake duckdb incremental day": duck_inc,
    }
    if args.spark:
        from chatlens.store.spark import spark_session

        session, _start = timed("spark local[2] session start", spark_session)
        sfull, spark_full = timed(
            "lake, Spark: full rebuild, every day",
            lambda: derive(lake, settings, "spark", session, full=True),
        )
        assert sfull.conversations == conversations
        for kind in ("facts", "stints", "_state"):  # back to the state before the last day
            shutil.rmtree(root / kind)
            shutil.copytree(saved / kind, root / kind)
        sinc, spark_inc = timed(
            "lake, Spark: incremental run, the last day arrives",
            lambda: derive(lake, settings, "spark", session),
        )
        print(f"  {sinc.conversations:,} conversations derived")
        rows |= {"lake spark full": spark_full, "lake spark incremental day": spark_inc}
    print("\n| run | seconds | conversations/s |\n|---|---:|---:|")
    for name, seconds in rows.items():
        n = inc.conversations if "incremental" in name else conversations
        print(f"| {name} | {seconds:.1f} | {n / seconds:,.0f} |")
    print(f"load average at the end {os.getloadavg()}")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
