"""Import and conversation-facts benchmark.

Simulates N conversations, then times in one process:
- `chatlens import` of the JSONL and of the Parquet file (validation, dedupe, append),
  against DuckDB's own `read_json` / `read_parquet` loading the same file with no validation
  (the floor for getting bytes into the table);
- a full rebuild of the conversation facts, and an incremental refresh after a late batch
  touching 1 % of the conversations;
- importing the JSONL file again (every event a duplicate, each compared with the stored one
  for a conflict), and the control-character scan of every record on its own.

Usage: python bench/bench_import.py [--conversations 100000] [--days 90]
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import resource
import tempfile
import time
from pathlib import Path

import duckdb
import orjson

from chatlens.events.schema import reject_controls
from chatlens.ingest import import_file
from chatlens.simulate import SimConfig, write_events
from chatlens.store import open_store
from chatlens.store.facts import refresh_facts


def timed(label: str, fn):
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    print(f"{label:<48} {seconds:8.2f} s")
    return result, seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, "
        f"python {platform.python_version()}, duckdb {duckdb.__version__}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = SimConfig(
            conversations=args.conversations, days=args.days, seed=11, end=dt.date(2026, 11, 22)
        )
        jsonl, parquet = root / "events.jsonl", root / "events.parquet"
        events, _ = timed("simulate (jsonl)", lambda: write_events(config, jsonl))
        timed("simulate (parquet)", lambda: write_events(config, parquet))
        print(
            f"{args.conversations:,} conversations, {events:,} events, "
            f"{jsonl.stat().st_size / 1e6:.0f} MB JSONL"
        )

        def raw_load(kind: str, path: Path) -> None:
            con = duckdb.connect(str(root / f"raw-{kind}.duckdb"))
            reader = "read_json_auto" if kind == "jsonl" else "read_parquet"
            con.execute(f"CREATE TABLE raw AS SELECT * FROM {reader}('{path}')").fetchall()
            con.close()

        for kind, path in (("jsonl", jsonl), ("parquet", parquet)):
            _, base = timed(
                f"baseline: duckdb {kind} load, no validation",
                lambda k=kind, p=path: raw_load(k, p),
            )
            with open_store(root / f"chatlens-{kind}.duckdb") as store:
                summary, took = timed(
                    f"chatlens import {kind}", lambda s=store, p=path: import_file(s, p)
                )
                assert summary.imported == events, summary
                print(f"  {events / took:,.0f} events/s; {took / base:.1f}x the raw load")
                if kind == "parquet":
                    continue
                again, took_again = timed(
                    "chatlens import jsonl again (all duplicates)",
                    lambda s=store, p=path: import_file(s, p),
                )
                assert again.duplicates == events and again.conflicts == 0, again
                print(f"  {events / took_again:,.0f} events/s; conflict check included")
                records = [orjson.loads(line) for line in path.open("rb")]
                _, scan = timed(
                    "control-character scan of every record",
                    lambda r=records: [reject_controls(x) for x in r],
                )
                print(f"  {scan / took:.1%} of the first import's time")
                refreshed, full = timed(
                    "facts: full rebuild", lambda s=store: refresh_facts(s, full=True)
                )
                print(f"  {refreshed.conversations / full:,.0f} conversations/s")
                late = root / "late.jsonl"
                ids = [
                    r[0]
                    for r in store.con.execute(
                        "SELECT conversation_id FROM conversation_facts USING SAMPLE 1 PERCENT "
                        "(reservoir, 42)"
                    ).fetchall()
                ]
                late.write_bytes(
                    b"".join(
                        orjson.dumps(
                            {
                                "type": "rating",
                                "ts": "2026-11-22T12:00:00Z",
                                "conversation_id": c,
                                "kind": "csat",
                                "score": 4,
                            }
                        )
                        + b"\n"
                        for c in ids
                    )
                )
                timed(
                    f"import late batch ({len(ids):,} ratings)",
                    lambda s=store, p=late: import_file(s, p),
                )
                part, incr = timed("facts: incremental refresh", lambda s=store: refresh_facts(s))
                print(
                    f"  recomputed {part.conversations:,} conversations; "
                    f"{full / incr:.1f}x faster than the full rebuild"
                )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()
