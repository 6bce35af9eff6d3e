"""Event lake ingest: events/s appended to the lake, batched and durable, against the DuckDB
store's append rate on the same rows in the same run.

The rows are simulated conversations validated once up front (`to_row(parse_event(...))`,
what the server's mover holds). Each target then takes them in batches of BATCH, the
server mover's unit of work, each batch durable before the next:
- store: `Store.insert` (the mover's insert) then COMMIT (DuckDB syncs its WAL);
- lake, local path: `write_events` (a file per day touched: temp file, fsync, rename, folder
  fsync);
- lake, S3: `write_events` against moto's server on a loopback port (a PUT per file; moto
  keeps objects in memory, so this measures the client side and HTTP, not a disk);
- compaction of each lake afterwards, and `read_events` of the whole lake.

Usage: python bench/bench_lake.py [--conversations 5000] [--batch 20000] [--days 30]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.lake.s3 import MotoS3, restore, use_credentials

from chatlens.events import parse_event, to_row
from chatlens.lake.compact import compact, read_events
from chatlens.lake.info import lake_info
from chatlens.lake.layout import Lake
from chatlens.lake.write import write_events
from chatlens.simulate import SimConfig
from chatlens.simulate import write_events as simulate_events
from chatlens.store import open_store
from chatlens.store.sql import run

Rows = list[dict[str, Any]]


def timed(batches: list[Rows], append: Callable[[Rows], object]) -> float:
    """Seconds to append every batch, one after another."""
    started = time.perf_counter()
    for batch in batches:
        append(batch)
    return time.perf_counter() - started


def into_store(batches: list[Rows], folder: Path) -> float:
    with open_store(folder / "bench.duckdb") as store:

        def append(rows: Rows) -> None:
            run(store.con, "BEGIN")
            store.insert(rows, check=False)
            run(store.con, "COMMIT")

        return timed(batches, append)


def into_lake(batches: list[Rows], url: str, label: str, total: int) -> float:
    lake = Lake.open(url)
    took = timed(batches, lambda rows: write_events(lake, rows))
    info = lake_info(lake)
    started = time.perf_counter()
    done = compact(lake)
    compacted = time.perf_counter() - started
    started = time.perf_counter()
    events = read_events(lake)
    read = time.perf_counter() - started
    assert events.num_rows == total, (events.num_rows, total)
    print(
        f"  {label}: {info.files} files, {info.bytes / 1e6:.1f} MB; compact {done.files_in} "
        f"files into {done.files_out} in {compacted:.2f} s; read_events {total:,} rows in "
        f"{read:.2f} s"
    )
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    load = os.getloadavg()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python "
        f"{platform.python_version()}; load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )
    before = use_credentials()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = root / "events.jsonl"
        simulate_events(SimConfig(conversations=args.conversations, days=args.days, seed=7), source)
        rows = [to_row(parse_event(orjson.loads(line))) for line in source.open("rb")]
        batches = [rows[i : i + args.batch] for i in range(0, len(rows), args.batch)]
        print(
            f"{len(rows):,} events over {args.days} days, {len(batches)} batches of "
            f"<= {args.batch:,}"
        )
        moto = MotoS3(root / "moto.log").start()
        try:
            results = {
                "DuckDB store (insert + commit)": into_store(batches, root),
                "lake, local path": into_lake(batches, str(root / "lake"), "local", len(rows)),
                "lake, S3 (moto)": into_lake(batches, moto.bucket(), "S3", len(rows)),
            }
        finally:
            moto.stop()
            restore(before)
    store_rate = len(rows) / results["DuckDB store (insert + commit)"]
    for label, seconds in results.items():
        rate = len(rows) / seconds
        print(
            f"{label:32s} {rate:12,.0f} events/s  ({seconds:.2f} s; "
            f"{rate / store_rate:.2f}x the store)"
        )


if __name__ == "__main__":
    main()
