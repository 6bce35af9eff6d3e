"""Benchmark the simulator: conversations, events, seconds, events/s and peak RSS.

Each run is a fresh subprocess, so peak RSS belongs to that run alone.

    python bench/bench_simulate.py                      # 100k and 1M, parquet and jsonl
    python bench/bench_simulate.py --conversations 100000 --formats parquet
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_one(conversations: int, days: int, fmt: str, out_dir: Path) -> dict[str, object]:
    from chatlens.simulate import SimConfig, write_events

    cfg = SimConfig(conversations=conversations, days=days, seed=7, end=datetime.date(2026, 11, 22))
    path = out_dir / f"bench-{conversations}.{fmt}"
    start = time.perf_counter()
    events = write_events(cfg, path)
    seconds = time.perf_counter() - start
    size = path.stat().st_size
    path.unlink()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "conversations": conversations,
        "days": days,
        "format": fmt,
        "events": events,
        "seconds": round(seconds, 2),
        "events_per_s": round(events / seconds),
        "file_mb": round(size / 1e6, 1),
        "peak_rss_mb": round(peak_kib / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--formats", nargs="+", default=["parquet", "jsonl"])
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        if args.one:
            result = run_one(args.conversations[0], args.days, args.formats[0], Path(tmp))
            print(json.dumps(result))
            return
        print(
            f"{'conversations':>13} {'format':>8} {'events':>11} {'seconds':>8} "
            f"{'events/s':>10} {'file MB':>8} {'peak RSS MB':>12}"
        )
        for n in args.conversations:
            for fmt in args.formats:
                cmd = [
                    sys.executable,
                    __file__,
                    "--one",
                    "--conversations",
                    str(n),
                    "--days",
                    str(args.days),
                    "--formats",
                    fmt,
                ]
                line = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                r = json.loads(line.strip().splitlines()[-1])
                print(
                    f"{r['conversations']:>13,} {r['format']:>8} {r['events']:>11,} "
                    f"{r['seconds']:>8} {r['events_per_s']:>10,} {r['file_mb']:>8} "
                    f"{r['peak_rss_mb']:>12}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
