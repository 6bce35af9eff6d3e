"""Row-level exports: seconds to write the conversations of a simulated store as CSV, XLSX
and Parquet, against DuckDB's own `COPY ... (FORMAT csv)` (what the CSV export used before
every cell went through `spreadsheet_cell`, issue 13).

    python bench/bench_export.py --conversations 100000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_store import build_store
from chatlens.metrics import Engine, Query
from chatlens.reports.export import _flatten, conversations_sql, export_conversations
from chatlens.store import open_store
from chatlens.store.sql import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--formats", default="csv,xlsx,parquet")
    args = parser.parse_args()
    path = build_store(args.conversations)
    query = Query(metrics=("conversations",), start="2020-01-01", end="2030-12-31")
    print("| format | conversations | seconds | MB |")
    print("|---|---:|---:|---:|")
    with open_store(path, read_only=True) as store, tempfile.TemporaryDirectory() as folder:
        engine = Engine(store, {})
        out = Path(folder) / "reference.csv"
        started = time.perf_counter()
        flat = _flatten(store.con, conversations_sql(engine, query), text_booleans=True)
        run(store.con, f"COPY ({flat}) TO '{out}' (FORMAT csv, HEADER true)")
        seconds = time.perf_counter() - started
        size = out.stat().st_size / 1e6
        print(
            f"| csv (DuckDB COPY, not neutralised) | {args.conversations:,} "
            f"| {seconds:.2f} | {size:.0f} |"
        )
        for fmt in args.formats.split(","):
            out = Path(folder) / f"conversations.{fmt}"
            started = time.perf_counter()
            count = export_conversations(engine, query, fmt, out)
            seconds = time.perf_counter() - started
            size = out.stat().st_size / 1e6
            print(f"| {fmt} | {count:,} | {seconds:.2f} | {size:.0f} |")


if __name__ == "__main__":
    main()
