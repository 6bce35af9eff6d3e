"""Retention over a lake (`expire_lake`), local path: a simulated history written to the
lake as the server's mover would (batches), then
- a first run with text, page URL and attrs limits at half the history and the events'
  limit at a quarter: the old quarter's partitions deleted, the next quarter's files
  rewritten;
- a second run as of the same time: nothing due, every file of the old days checked (the
  hourly job's usual cost);
each printed with the rows seen per second.

Usage: python bench/bench_lake_retention.py [--conversations 5000] [--days 40]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatlens.events import parse_event, to_row
from chatlens.lake.compact import partitions
from chatlens.lake.info import lake_info
from chatlens.lake.layout import EVENTS, Lake
from chatlens.lake.retention import expire_lake
from chatlens.lake.write import write_events
from chatlens.simulate import SimConfig
from chatlens.simulate import write_events as simulate_events
from chatlens.store.settings import Settings

BATCH = 20_000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=5000)
    parser.add_argument("--days", type=int, default=40)
    args = parser.parse_args()
    load = os.getloadavg()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python "
        f"{platform.python_version()}; load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = root / "events.jsonl"
        simulate_events(SimConfig(conversations=args.conversations, days=args.days, seed=7), source)
        rows = [to_row(parse_event(orjson.loads(line))) for line in source.open("rb")]
        lake = Lake.open(str(root / "lake"))
        for start in range(0, len(rows), BATCH):
            write_events(lake, rows[start : start + BATCH])
        files = sum(len(p.files) for p in partitions(lake, EVENTS))
        print(f"{len(rows):,} events over {args.days} days in {files} files")
        now = max(row["ts"] for row in rows) + dt.timedelta(hours=1)
        half, quarter = args.days / 2, args.days * 3 / 4
        settings = Settings(
            retention_text_days=half,
            retention_page_url_days=half,
            retention_attrs_days=half,
            retention_events_days=quarter,
        )
        for label in ("first run", "second run (nothing due)"):
            began = time.perf_counter()
            done = expire_lake(lake, settings, now)
            took = time.perf_counter() - began
            print(
                f"{label:26s} {took:6.2f} s  {len(rows) / took:10,.0f} events/s of history; "
                f"{done.text:,} texts, {done.page_url:,} page URLs, {done.attrs:,} attrs "
                f"blanked, {done.files} files rewritten, {done.partitions} partitions "
                f"({done.events:,} events) deleted"
            )
        info = lake_info(lake)
        print(f"left: {info.partitions} partitions, {info.files} files, {info.rows:,} rows")


if __name__ == "__main__":
    main()
