"""Spark reading a lake's events: its own Parquet reader against chatlens's pyarrow data
source (src/chatlens/lake/spark_source.py, what reads a lake on S3 without Hadoop's S3A
connector), on the same local lake in the same run; then the data source on the same files
in moto's S3 server on loopback (docs/benchmarks.md, "Spark reading a lake on S3").

The data: a store of N simulated conversations (bench_store.build_store, cached in
bench/.cache/), its events written as a lake: one Parquet file per day, in arrival order.
Each read is a full scan of every column and the position columns the facts use (file
name, row index): `count(*)` and `sum(hash(*))` over them, so that no reader can answer
from the files' footers; the two readers' sums must agree. Each reader runs `--runs` times
after one warm-up run; the best and the median are printed, with the load average.

Usage: python bench/bench_spark_lake_read.py [--conversations 50000] [--days 90] [--runs 3]
         [--master local[2]] [--no-s3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests/lake/s3.py starts moto

from bench_store import build_store  # noqa: E402
from chatlens.lake import spark_source  # noqa: E402
from chatlens.lake.layout import EVENT_SCHEMA, EVENTS, Lake  # noqa: E402
from chatlens.store.spark import spark_session  # noqa: E402


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def write_lake(store: Path, url: str) -> tuple[int, int]:
    """The store's events into the lake at `url`, one file per day; (events, bytes)."""
    lake = Lake.open(url)
    con = duckdb.connect(str(store), read_only=True)
    table = con.sql(
        f"SELECT {', '.join(EVENT_SCHEMA.names)} FROM events ORDER BY seq"
    ).to_arrow_table()
    con.close()
    table = table.cast(EVENT_SCHEMA)
    days = pc.strftime(table["ts"], format="%Y-%m-%d")
    size = 0
    for day in sorted(set(days.to_pylist())):
        folder = f"{lake.kind_dir(EVENTS)}/date={day}"
        lake.fs.create_dir(folder, recursive=True)
        path = f"{folder}/{lake.new_file_name()}"
        pq.write_table(table.filter(pc.equal(days, day)), path, filesystem=lake.fs)
        size += lake.fs.get_file_info(path).size or 0
    return table.num_rows, size


def scan(frame: Any) -> tuple[int, int, int]:
    """Rows; the sum of the hashes of their events columns and row index; and of their
    file names (a lake copied elsewhere has new file names)."""
    columns = ", ".join([*EVENT_SCHEMA.names, "r"])
    row = frame.selectExpr(
        "count(*) AS n", f"sum(hash({columns})) AS h", "sum(hash(f)) AS hf"
    ).collect()[0]
    return int(row["n"]), int(row["h"]), int(row["hf"])


def native(session: Any, lake: Lake) -> Any:
    return (
        session.read.schema(_struct())
        .option("basePath", lake.kind_dir(EVENTS))
        .parquet(f"{lake.kind_dir(EVENTS)}/date=*")
        .selectExpr(*EVENT_SCHEMA.names, "_metadata.file_name AS f", "_metadata.row_index AS r")
    )


def through_source(session: Any, lake: Lake) -> Any:
    files = spark_source.event_files(lake)
    return spark_source.read_files(session, lake, files, EVENT_SCHEMA, ("f", "r"))


def _struct() -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(EVENT_SCHEMA)


def measure(
    name: str, session: Any, lake: Lake, reader: Callable[[Any, Lake], Any], runs: int
) -> tuple[list[float], tuple[int, int, int]]:
    result = scan(reader(session, lake))  # warm-up: the JVM's code, Python workers
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        again = scan(reader(session, lake))
        took.append(time.perf_counter() - started)
        assert again == result, (name, again, result)
    print(
        f"{name}: best {min(took):.2f} s, median {statistics.median(took):.2f} s (load {_load()})",
        flush=True,
    )
    return took, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--no-s3", action="store_true")
    args = parser.parse_args()

    store = build_store(args.conversations, days=args.days)
    session = spark_session(args.master)
    print(f"pyspark {session.version} on {args.master}, {os.cpu_count()} cores; load {_load()}")
    with tempfile.TemporaryDirectory() as tmp:
        lake = Lake.open(f"{tmp}/lake")
        events, size = write_lake(store, lake.url)
        files = len(spark_source.event_files(lake))
        print(f"{events:,} events, {files} files, {size / 2**20:.1f} MiB (zstd Parquet)")
        results = {}
        took = {}
        for name, reader in (("spark parquet", native), ("pyarrow source", through_source)):
            took[name], results[name] = measure(name, session, lake, reader, args.runs)
        assert results["spark parquet"] == results["pyarrow source"], results
        if not args.no_s3:
            from tests.lake.s3 import MotoS3, use_credentials

            use_credentials()
            moto = MotoS3(Path(tmp) / "moto.log").start()
            try:
                s3 = Lake.open(moto.bucket())
                write_lake(store, s3.url)
                name = "pyarrow source, moto S3"
                took[name], results[name] = measure(name, session, s3, through_source, args.runs)
                assert results[name][:2] == results["spark parquet"][:2], results
            finally:
                moto.stop()
    print(f"\nload average at the end {_load()}")
    print("\n| reader | best (s) | median (s) | events/s (best) |")
    print("|---|---:|---:|---:|")
    for name, times in took.items():
        print(
            f"| {name} | {min(times):.2f} | {statistics.median(times):.2f} | "
            f"{events / min(times):,.0f} |"
        )
    print(f"\nthe readers agree: {results['spark parquet'][0]:,} rows, same sums of hashes")
    session.stop()


if __name__ == "__main__":
    main()
